"""Operating the pipeline: calendar, schedules, the landing sensor, jobs, the warehouse lock, notifications.

Fast tests: no pipeline run. ``test_operate_e2e.py`` runs the daemon for real.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import pytest

from pipelines.partitions import all_periods
from pipelines.publish.assets import RELEASE_KEY
from pipelines.quality.checks import deadline as quality_deadline
from pipelines.schedules import calendar, landing, notify, run_status
from pipelines.schedules.jobs import DRAFT_JOB, OFFICIAL_JOB, period_draft, period_official
from pipelines.resources import SettingsResource, WarehouseResource
from pipelines.lock import WAITING, LockTimeout, is_locked, lock_holder, warehouse_lock
from pipelines.schedules.schedules import nightly_draft, official_after_deadline
from pipelines.settings import REPO_ROOT

TZ = calendar.TZ


def _write(path: Path, text: str, mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


# -- calendar and schedules -------------------------------------------------------------------------


@pytest.mark.parametrize("day, periods", [
    (date(2026, 4, 30), []),
    (date(2026, 5, 1), ["2026H1"]),
    (date(2026, 5, 20), ["2026H1"]),
    (date(2026, 5, 21), []),
    (date(2026, 10, 31), []),
    (date(2026, 11, 1), ["2026", "2026H2"]),
    (date(2026, 11, 15), ["2026", "2026H2"]),
    (date(2026, 11, 16), []),
])
def test_drafting_windows(day, periods):
    assert calendar.drafting_periods(day) == periods


@pytest.mark.parametrize("day, periods", [
    (date(2026, 5, 20), []),
    (date(2026, 5, 21), ["2026H1"]),
    (date(2026, 11, 15), []),
    (date(2026, 11, 16), ["2026", "2026H2"]),
    (date(2027, 1, 1), []),
])
def test_official_day_is_the_day_after_the_deadline(day, periods):
    assert calendar.official_periods(day) == periods


def test_deadlines_agree_with_the_timeliness_check():
    for period in all_periods():
        assert calendar.deadline_of(period).isoformat() == quality_deadline(period)
    with pytest.raises(ValueError):
        calendar.deadline_of("2025H3")


def test_crons_cover_the_windows_and_the_day_after():
    assert calendar.draft_crons() == ["0 2 1-20 5 *", "0 2 1-15 11 *"]
    assert calendar.official_crons() == ["0 6 21 5 *", "0 6 16 11 *"]
    assert nightly_draft.execution_timezone == official_after_deadline.execution_timezone == "Asia/Ho_Chi_Minh"
    assert nightly_draft.job_name == DRAFT_JOB and official_after_deadline.job_name == OFFICIAL_JOB
    assert nightly_draft.default_status == dg.DefaultScheduleStatus.RUNNING


def _context(when: datetime):
    from pipelines.definitions import defs

    return dg.build_schedule_context(scheduled_execution_time=when, repository_def=defs.get_repository_def())


def _evaluate(schedule, when: datetime):
    with _context(when) as context:
        return list(schedule.evaluate_tick(context).run_requests or [])


def _skip(schedule, when: datetime) -> str:
    with _context(when) as context:
        return schedule.evaluate_tick(context).skip_message or ""


def test_nightly_draft_picks_the_periods_of_the_window_that_have_files(cri_home):
    may = datetime(2026, 5, 10, 2, 0, tzinfo=TZ)
    assert "no files yet" in _skip(nightly_draft, may)
    _write(cri_home / "landing/2026H1/health/h.csv", "x")
    [request] = _evaluate(nightly_draft, may)
    assert request.partition_key == "2026H1"
    assert request.run_key == "draft:2026H1:2026-05-10"
    assert request.tags["cri/kind"] == "draft"

    nov = datetime(2026, 11, 3, 2, 0, tzinfo=TZ)
    _write(cri_home / "landing/2026/health/y.csv", "x")
    assert [r.partition_key for r in _evaluate(nightly_draft, nov)] == ["2026"]
    _write(cri_home / "landing/2026H2/police/p.csv", "x")
    assert [r.partition_key for r in _evaluate(nightly_draft, nov)] == ["2026", "2026H2"]
    assert "outside the reporting windows" in _skip(nightly_draft, datetime(2026, 7, 1, 2, 0, tzinfo=TZ))


def test_the_date_is_read_in_viet_nam_time(cri_home):
    _write(cri_home / "landing/2026H1/health/h.csv", "x")
    # 30 April 19:00 UTC is 1 May 02:00 in Viet Nam: inside the window
    [request] = _evaluate(nightly_draft, datetime(2026, 4, 30, 19, 0, tzinfo=calendar.ZoneInfo("UTC")))
    assert request.partition_key == "2026H1"


def test_official_run_after_each_deadline(cri_home):
    nov16 = datetime(2026, 11, 16, 6, 0, tzinfo=TZ)
    # the year runs even without files (the missing data then shows as failed checks)
    assert [r.partition_key for r in _evaluate(official_after_deadline, nov16)] == ["2026"]
    (cri_home / "landing/2026H2").mkdir(parents=True)
    requests = _evaluate(official_after_deadline, nov16)
    assert [r.partition_key for r in requests] == ["2026", "2026H2"]
    assert all(r.tags["cri/kind"] == "official" for r in requests)
    assert requests[0].run_key == "official:2026:2026-11-16"

    may21 = datetime(2027, 5, 21, 6, 0, tzinfo=TZ)
    assert "no landing folder" in _skip(official_after_deadline, may21)
    (cri_home / "landing/2027H1/health").mkdir(parents=True)
    assert [r.partition_key for r in _evaluate(official_after_deadline, may21)] == ["2027H1"]


# -- jobs ---------------------------------------------------------------------------------------------


def test_draft_is_everything_but_the_release_and_official_is_everything():
    from pipelines.definitions import defs

    draft, official = defs.resolve_job_def(DRAFT_JOB), defs.resolve_job_def(OFFICIAL_JOB)
    draft_keys = draft.asset_layer.selected_asset_keys
    official_keys = official.asset_layer.selected_asset_keys
    assert RELEASE_KEY not in draft_keys and RELEASE_KEY in official_keys
    assert official_keys - draft_keys == {RELEASE_KEY}
    assert {dg.AssetKey(["ingest", "health"]), dg.AssetKey(["marts", "fct_province_ranking"]),
            dg.AssetKey(["reference", "admin_units"])} <= draft_keys
    gate = dg.AssetCheckKey(dg.AssetKey(["marts", "fct_province_ranking"]), "publication_gate")
    assert gate in draft.asset_layer.asset_graph.asset_check_keys
    # the draft decides, and says, whether the period could be published
    assert {dg.AssetKey(["quality", "quality_report"]), dg.AssetKey(["quality", "publication_gate"])} <= draft_keys
    for job in (draft, official):
        assert job.partitions_def is not None and "2025H1" in job.partitions_def.get_partition_keys()
        assert job.executor_def is dg.in_process_executor  # resources set up once: the lock held for the run
        assert job.run_tags["cri/warehouse"] == "write"
    assert official.run_tags["dagster/priority"] > draft.run_tags["dagster/priority"]
    assert {s.name for s in defs.sensors} >= {"landing_sensor", "notify_on_success", "notify_on_failure"}
    assert {s.name for s in defs.schedules} == {"nightly_draft", "official_after_deadline"}
    assert period_draft.name == DRAFT_JOB and period_official.name == OFFICIAL_JOB


# -- the landing sensor -------------------------------------------------------------------------------


def _tick(cursor: str | None, settle: float = 0.0):
    result = landing.evaluate_landing(cursor, settle=settle)
    if isinstance(result, dg.SkipReason):
        return [], cursor, result.skip_message
    skip = result.skip_reason.skip_message if result.skip_reason else ""
    return list(result.run_requests or []), result.cursor, skip


def test_landing_sensor_triggers_once_per_content(cri_home):
    old = time.time() - 3600
    assert _tick(None)[0] == []
    f = _write(cri_home / "landing/2025/health/health_2025.csv", "a,b\n1,2\n", old)
    _write(cri_home / "landing/2024/police/p.csv", "x\n", old)
    requests, cursor, _ = _tick(None)
    assert [r.partition_key for r in requests] == ["2025", "2024"]  # newest first
    r2025 = requests[0]
    assert r2025.tags["cri/changes"] == "+health/health_2025.csv"
    assert r2025.tags["cri/sectors"] == "health"
    sha = landing.sha256_file(f)
    assert landing.state_digest({"2025/health/health_2025.csv": sha}) in r2025.run_key
    assert r2025.run_key.startswith("landing:2025:empty->")

    # nothing changed; then the same content written again (new mtime): no run
    assert _tick(cursor)[0] == []
    _write(f, "a,b\n1,2\n", old + 60)
    requests, cursor, why = _tick(cursor)
    assert requests == [] and "no new or changed file" in why

    # changed content: one run for that period only
    _write(f, "a,b\n1,3\n", old + 120)
    requests, cursor2, _ = _tick(cursor)
    assert [(r.partition_key, r.tags["cri/changes"]) for r in requests] == [("2025", "~health/health_2025.csv")]
    assert requests[0].run_key != r2025.run_key

    # going back to the first content is a change too (a new run key: before and after differ)
    _write(f, "a,b\n1,2\n", old + 180)
    [back], cursor3, _ = _tick(cursor2)
    assert back.run_key not in (r2025.run_key, requests[0].run_key)

    # a removed file: the period is drafted again (the warehouse mirrors the landing folder)
    f.unlink()
    [removed], cursor4, _ = _tick(cursor3)
    assert removed.tags["cri/changes"] == "-health/health_2025.csv"
    assert removed.run_key.endswith("->empty")
    assert _tick(cursor4)[0] == []


def test_landing_sensor_waits_for_files_being_written_and_ignores_other_folders(cri_home):
    f = _write(cri_home / "landing/2025/health/h.csv", "x\n")  # just written
    requests, cursor, why = _tick(None, settle=30)
    assert requests == [] and "still being written" in why
    os.utime(f, (time.time() - 60, time.time() - 60))
    assert [r.partition_key for r in _tick(cursor, settle=30)[0]] == ["2025"]

    _write(cri_home / "landing/2025/not_a_sector/x.csv", "x\n", time.time() - 60)
    _write(cri_home / "landing/archive/health/x.csv", "x\n", time.time() - 60)
    _write(cri_home / "landing/2025/health/.hidden.csv", "x\n", time.time() - 60)
    _write(cri_home / "landing/2025/health/~$open.xlsx", "x\n", time.time() - 60)
    scan = landing.scan_landing(cri_home / "landing", {"health"}, {}, settle=0)
    assert set(scan.files) == {"2025/health/h.csv"}
    assert set(scan.ignored) == {"2025/not_a_sector", "archive"}


def test_landing_sensor_rehashes_only_files_whose_size_or_time_changed(cri_home, monkeypatch):
    _write(cri_home / "landing/2025/health/h.csv", "x\n", time.time() - 60)
    _, cursor, _ = _tick(None)
    calls = []
    monkeypatch.setattr(landing, "sha256_file", lambda p: calls.append(p) or "fake")
    assert _tick(cursor)[0] == [] and calls == []


def test_an_emptied_landing_folder_is_not_a_removal(cri_home):
    _write(cri_home / "landing/2025/health/h.csv", "x\n", time.time() - 60)
    _, cursor, _ = _tick(None)
    (cri_home / "landing/2025/health/h.csv").unlink()
    requests, kept, why = _tick(cursor)
    assert requests == [] and kept == cursor and "unmounted" in why


def test_no_second_run_while_one_of_the_period_is_queued(cri_home):
    _write(cri_home / "landing/2025/health/h.csv", "x\n", time.time() - 60)
    _write(cri_home / "landing/2024/health/h.csv", "x\n", time.time() - 60)
    with dg.DagsterInstance.ephemeral() as instance:
        for job, period, status in (("period_draft", "2025", dg.DagsterRunStatus.NOT_STARTED),
                                    ("period_official", "2023", dg.DagsterRunStatus.NOT_STARTED),
                                    ("period_draft", "2024", dg.DagsterRunStatus.STARTED)):
            instance.add_run(dg.DagsterRun(job_name=job, run_id=f"{job}-{period}", status=status,
                                           tags={"dagster/partition": period}))
        assert landing.queued_periods(instance) == {"2025", "2023"}
        with dg.build_sensor_context(instance=instance, cursor=None) as context:
            result = landing.landing_sensor(context)
    # 2025 is already queued: that run will read the new file; 2024's run has started: a new one is needed
    assert [r.partition_key for r in result.run_requests] == ["2024"]
    assert "2025/health/h.csv" in json.loads(result.cursor)["files"]
    result = landing.evaluate_landing(None, waiting={"2024", "2025"})
    assert not result.run_requests and result.skip_reason.skip_message.startswith("Đã có lần chạy")


def test_landing_sensor_definition():
    assert landing.landing_sensor.job_name == DRAFT_JOB
    assert landing.landing_sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_landing_sensor_through_dagster(cri_home):
    _write(cri_home / "landing/2025/health/h.csv", "x\n", time.time() - 60)
    with dg.build_sensor_context(cursor=None) as context:
        result = landing.landing_sensor(context)
    assert [r.partition_key for r in result.run_requests] == ["2025"]
    assert json.loads(result.cursor)["files"]["2025/health/h.csv"][2] == landing.sha256_file(
        cri_home / "landing/2025/health/h.csv")


# -- the warehouse lock ---------------------------------------------------------------------------------

HOLD = """
import sys, time
from pathlib import Path
from pipelines.lock import warehouse_lock
with warehouse_lock(sys.argv[2], home=Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[3]))
print("released", flush=True)
"""


def _holder(home: Path, what: str, seconds: float) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(home), what, str(seconds)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    assert p.stdout.readline().strip() == "held"
    return p


def test_a_second_writer_waits_and_says_so(cri_home):
    first = _holder(cri_home, "cri run 2025", 2.0)
    assert is_locked(cri_home)
    assert lock_holder(cri_home / ".warehouse.lock")["what"] == "cri run 2025"
    lines = []
    started = time.monotonic()
    with warehouse_lock("test", home=cri_home, on_wait=lines.append):
        waited = time.monotonic() - started
        assert first.stdout.readline().strip() == "released"  # the first writer had finished
        with warehouse_lock("nested", home=cri_home):  # re-entrant in one process
            pass
    assert waited > 1.0
    assert lines[0].startswith(WAITING) and "cri run 2025" in lines[0]
    assert "the warehouse is free" in lines[-1]
    assert first.wait(10) == 0
    assert not is_locked(cri_home)


def test_lock_timeout_and_release_when_the_holder_dies(cri_home):
    holder = _holder(cri_home, "stuck", 60)
    with pytest.raises(LockTimeout), warehouse_lock(home=cri_home, timeout=0.5, on_wait=lambda _: None):
        pass
    holder.kill()  # the operating system releases an flock when its process ends
    holder.wait(10)
    with warehouse_lock(home=cri_home, timeout=5):
        assert is_locked(cri_home)


def _lock_handle() -> int:
    """The open lock file of this process (the same object from taking the lock to letting it go)."""
    from pipelines import lock

    return id(lock._held[str(lock.lock_path())][0])


@dg.op
def _tiny_op(context, warehouse: WarehouseResource) -> list:
    return [lock_holder().get("what", ""), _lock_handle()]


@dg.op
def _second_op(context, warehouse: WarehouseResource, first: list) -> list:
    return [first, [lock_holder().get("what", ""), _lock_handle()]]


@dg.job(executor_def=dg.in_process_executor,
        resource_defs={"warehouse": WarehouseResource(settings=SettingsResource(home=dg.EnvVar("CRI_HOME")))})
def tiny_locked_job():
    _second_op(_tiny_op())


def test_runs_launched_by_dagster_take_the_lock_and_wait(cri_home):
    """The warehouse resource of period_draft/period_official: a run waits while another writer holds the lock,
    then holds it from its first step to its last."""
    with dg.DagsterInstance.ephemeral() as instance:
        holder = _holder(cri_home, "cri run 2024", 3.0)
        started = time.monotonic()
        result = tiny_locked_job.execute_in_process(instance=instance)
        assert result.success
        assert time.monotonic() - started > 1.0
        first, second = result.output_for_node("_second_op")
        assert first[0].startswith("Dagster run ") and first[0] == second[0]
        assert first[1] == second[1]  # the same lock, held from the first step to the last, not taken per step
        messages = [e.user_message for e in instance.all_logs(result.run_id)]
    assert any(WAITING in m and "cri run 2024" in m for m in messages)
    assert holder.wait(10) == 0
    assert not is_locked(cri_home)  # let go when the run ended


# -- notifications --------------------------------------------------------------------------------------


class TinySmtpServer(threading.Thread):
    """Just enough SMTP for smtplib on 127.0.0.1: records each message."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.messages: list[dict] = []

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as rf:
                conn.sendall(b"220 localhost test SMTP\r\n")
                msg = {"rcpt": [], "data": b""}
                while line := rf.readline():
                    cmd = line.decode("ascii", "replace").strip()
                    upper = cmd.upper()
                    if upper.startswith("EHLO"):
                        conn.sendall(b"250-localhost\r\n250 AUTH PLAIN\r\n")
                    elif upper.startswith("MAIL FROM"):
                        msg["from"] = cmd[10:]
                        conn.sendall(b"250 OK\r\n")
                    elif upper.startswith("RCPT TO"):
                        msg["rcpt"].append(cmd[8:])
                        conn.sendall(b"250 OK\r\n")
                    elif upper.startswith("AUTH"):
                        msg["auth"] = cmd
                        conn.sendall(b"235 OK\r\n")
                    elif upper == "DATA":
                        conn.sendall(b"354 go\r\n")
                        data = b""
                        while (chunk := rf.readline()) not in (b".\r\n", b""):
                            data += chunk
                        msg["data"] = data
                        self.messages.append(msg)
                        msg = {"rcpt": [], "data": b""}
                        conn.sendall(b"250 queued\r\n")
                    elif upper == "QUIT":
                        conn.sendall(b"221 bye\r\n")
                        break
                    else:
                        conn.sendall(b"250 OK\r\n")

    def close(self):
        self.sock.close()


@pytest.fixture
def smtp_server():
    server = TinySmtpServer()
    server.start()
    yield server
    server.close()


def _notification(event=notify.RELEASE_PUBLISHED):
    return notify.Notification(event, "Đã công bố kỳ 2025 bản v2 / period 2025 published, release v2", "2025",
                               "abcdef1234567890", "period_official", ["189 checks"], {"release": "/x/publish/2025/v2"})


def test_log_notifier_is_the_default(cri_home, monkeypatch):
    for name in ("CRI_SMTP_HOST", "CRI_NOTIFIERS"):
        monkeypatch.delenv(name, raising=False)
    assert [type(n).__name__ for n in notify.notifiers()] == ["LogNotifier"]
    assert notify.notify(_notification()) == []
    [line] = (cri_home / "reports/notifications.log").read_text(encoding="utf-8").splitlines()
    assert " release_published period=2025 run=abcdef12 job=period_official | Đã công bố kỳ 2025" in line
    assert "release=/x/publish/2025/v2" in line


def test_smtp_notifier_sends_through_a_local_server(cri_home, monkeypatch, smtp_server):
    monkeypatch.setenv("CRI_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CRI_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("CRI_SMTP_FROM", "cri@example.org")
    monkeypatch.setenv("CRI_SMTP_TO", "ops@example.org, lead@example.org")
    monkeypatch.setenv("CRI_SMTP_USER", "cri")
    monkeypatch.setenv("CRI_SMTP_PASSWORD", "secret")
    assert [type(n).__name__ for n in notify.notifiers()] == ["LogNotifier", "SmtpNotifier"]
    assert notify.notify(_notification()) == []
    assert notify.notify(_notification(notify.DRAFT_REPORT)) == []  # drafts are not mailed by default
    [mail] = smtp_server.messages
    assert mail["rcpt"] == ["<ops@example.org>", "<lead@example.org>"]
    assert mail["auth"].startswith("AUTH PLAIN")
    import email
    from email import policy

    parsed = email.message_from_bytes(mail["data"], policy=policy.default)
    assert parsed["Subject"] == "[CRI] Đã công bố kỳ 2025 bản v2 / period 2025 published, release v2"
    assert parsed["X-CRI-Event"] == "release_published"
    assert "/x/publish/2025/v2" in parsed.get_content()
    assert len((cri_home / "reports/notifications.log").read_text(encoding="utf-8").splitlines()) == 2


def test_a_failing_notifier_does_not_lose_the_log_line(cri_home, monkeypatch):
    monkeypatch.setenv("CRI_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CRI_SMTP_PORT", "1")  # nothing listens there
    monkeypatch.setenv("CRI_SMTP_TO", "ops@example.org")
    errors = notify.notify(_notification(notify.RUN_FAILED))
    assert errors and "SmtpNotifier" in errors[0]
    lines = (cri_home / "reports/notifications.log").read_text(encoding="utf-8").splitlines()
    assert " run_failed " in lines[0] and " notify_error " in lines[1]


class _Collect:
    sent: list = []

    def send(self, n):
        _Collect.sent.append(n.event)


def collector():
    return _Collect()


def test_plugged_notifier(cri_home, monkeypatch):
    monkeypatch.setenv("CRI_NOTIFIERS", f"{__name__}:collector")
    monkeypatch.delenv("CRI_SMTP_HOST", raising=False)
    _Collect.sent.clear()
    notify.notify(_notification(notify.PUBLICATION_BLOCKED))
    assert _Collect.sent == ["publication_blocked"]


# -- what a finished run means ----------------------------------------------------------------------


def _fake_graph(gate_passes: bool, fail_transform: bool = False):
    """The assets the classification looks at, with the real keys and check name, shaped like the pipeline: the
    gate's verdict as a (non-blocking) check, the gate an asset materialized only when the period may be published,
    the release after it."""

    @dg.asset(key=["marts", "fct_province_ranking"], check_specs=[
        dg.AssetCheckSpec("publication_gate", asset=["marts", "fct_province_ranking"])])
    def ranking():
        if fail_transform:
            raise RuntimeError("dbt model marts.fct_province_ranking failed\nsecond line")
        yield dg.Output(None)
        yield dg.AssetCheckResult(passed=gate_passes, severity=dg.AssetCheckSeverity.ERROR, metadata={
            "blocking_failures": dg.MetadataValue.md("- `ingest.unknown_unit`: 3 mã xã không có / 3 unknown units")})

    @dg.asset(key=["quality", "publication_gate"], deps=[ranking], output_required=False)
    def gate():
        if gate_passes:
            yield dg.Output(None)

    @dg.asset(key=["publish", "release"], deps=[gate])
    def release():
        return dg.MaterializeResult(metadata={"version": 4, "path": dg.MetadataValue.path("/p/publish/2025/v4")})

    return [ranking, gate, release]


def _classify(assets, tags=None, selection=None):
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(assets, instance=instance, tags={"dagster/partition": "2025", **(tags or {})},
                                raise_on_error=False, selection=selection)
        run = instance.get_run_by_id(result.run_id)
        return run_status.classify_run(instance, run)


def test_classify_release_blocked_draft_and_failure(cri_home):
    n = _classify(_fake_graph(True))
    assert n.event == notify.RELEASE_PUBLISHED and "v4" in n.title and n.links["release"] == "/p/publish/2025/v4"

    n = _classify(_fake_graph(False))  # a successful run: the gate held the release back
    assert n.event == notify.PUBLICATION_BLOCKED
    assert dg.materialize(_fake_graph(False), instance=dg.DagsterInstance.ephemeral(),
                          tags={"dagster/partition": "2025"}).success
    assert any("ingest.unknown_unit" in d for d in n.details)

    n = _classify(_fake_graph(False), tags={"cri/kind": "draft"})
    assert n.event == notify.DRAFT_REPORT and "1 lỗi chặn" in n.title

    n = _classify(_fake_graph(True), selection=[dg.AssetKey(["marts", "fct_province_ranking"])])
    assert n.event == notify.DRAFT_REPORT and "ĐẠT" in n.title  # a run without the release is a draft

    n = _classify(_fake_graph(True, fail_transform=True))
    assert n.event == notify.RUN_FAILED
    # the whole cause, every line, as `cri run` prints it (never a stack trace)
    assert "RuntimeError: dbt model marts.fct_province_ranking failed\nsecond line" in n.details[0]
    assert "Traceback" not in n.details[0] and "File \"" not in n.details[0]


def test_run_status_sensors_watch_every_run_of_the_instance():
    for sensor in (run_status.notify_on_success, run_status.notify_on_failure):
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_deploy_files_are_complete():
    deploy = REPO_ROOT / "deploy"
    text = (deploy / "dagster.yaml").read_text(encoding="utf-8")
    for needle in ("PostgresRunStorage", "PostgresEventLogStorage", "PostgresScheduleStorage",
                   "max_concurrent_runs: 1", "cri/warehouse"):
        assert needle in text
    for unit in ("cri-dagster-webserver.service", "cri-dagster-daemon.service"):
        service = (deploy / unit).read_text(encoding="utf-8")
        assert "EnvironmentFile=/etc/cri/cri.env" in service and "workspace.yaml" in service
    guide = (REPO_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for needle in ("cri run --period", "waivers.yaml", "rejected_rows.csv", "dagster-daemon", "20 May",
                   "15 November", "notifications.log", "CRI_SMTP_HOST"):
        assert needle in guide
    assert "docs/operations.md" in (REPO_ROOT / "README.md").read_text(encoding="utf-8")

