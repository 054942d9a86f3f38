"""End to end, with the real Dagster daemon, nobody at the UI.

1. Files are dropped into landing; the landing sensor asks for a draft run, the
   daemon's queue launches it: the period's quality report is written, nothing
   is published, and the operator is notified.
2. While that run writes the warehouse, a second run starts in its own process
   (the way ``cri run`` runs): the official run the schedule asks for the day
   after the deadline. It waits for the warehouse lock, then publishes. Both
   runs finish correctly, one after the other.
3. The same content dropped again triggers nothing; changed content triggers
   a new draft.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from pipelines.lock import WAITING, is_locked
from pipelines.settings import REPO_ROOT, get_settings

pytestmark = pytest.mark.slow

OFFICIAL = """
import json, sys
from datetime import datetime
import dagster as dg
from pipelines.definitions import defs
from pipelines.schedules.calendar import TZ
from pipelines.lock import warehouse_lock

# what the official schedule asks for at 06:00 the day after the year's deadline
when = datetime(2025, 11, 16, 6, 0, tzinfo=TZ)
schedule = defs.resolve_schedule_def("official_after_deadline")
with dg.build_schedule_context(scheduled_execution_time=when, repository_def=defs.get_repository_def()) as context:
    [request] = schedule.evaluate_tick(context).run_requests
job = defs.resolve_job_def("period_official")
# in its own process, like `cri run`: the whole run holds the warehouse lock
with warehouse_lock("official 2025 (test)"), dg.DagsterInstance.get() as instance:
    result = job.execute_in_process(partition_key=request.partition_key, tags=request.tags, instance=instance,
                                    raise_on_error=False,
                                    run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
print(json.dumps({"run_id": result.run_id, "success": result.success, "partition": request.partition_key}))
"""


def _runs(instance: dg.DagsterInstance, **tags) -> list[dg.DagsterRun]:
    return [r for r in instance.get_runs(filters=dg.RunsFilter(tags=tags or None))]


def _wait(what: str, predicate, timeout: float, daemon: subprocess.Popen, log: Path, every: float = 1.0):
    started = time.monotonic()
    while True:
        value = predicate()
        if value:
            return value
        if daemon.poll() is not None:
            pytest.fail(f"the daemon stopped ({daemon.returncode}) while waiting for {what}:\n{_tail(log)}")
        if time.monotonic() - started > timeout:
            pytest.fail(f"timed out after {timeout}s waiting for {what}:\n{_tail(log)}")
        time.sleep(every)


def _tail(log: Path, n: int = 4000) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    lines = [line for line in text.splitlines() if "leaked" not in line and "nanobind" not in line]
    return "\n".join(lines)[-n:]


def _finished(instance, run_id):
    run = instance.get_run_by_id(run_id)
    return run if run and run.is_finished else None


def _stop(daemon: subprocess.Popen) -> None:
    """Stop the daemon and everything it started (its code server, a run in progress)."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(daemon.pid, sig)
        except ProcessLookupError:
            break
        try:
            daemon.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    daemon.poll()


def _notifications(home: Path) -> list[str]:
    path = home / "reports" / "notifications.log"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def test_dropped_files_draft_then_the_official_run_publishes(cri_home, small_methodology):
    from pipelines.demo import write_demo_data

    settings = get_settings()
    settings.ensure_dirs()
    write_demo_data(settings.landing_dir, periods=("2025",), small=True, seed=20251115)
    with dg.DagsterInstance.get():  # create the instance's storage once, before two processes open it
        pass
    env = {**os.environ, "CRI_LANDING_SENSOR_INTERVAL": "5", "CRI_LANDING_SETTLE_SECONDS": "0",
           "CRI_NOTIFY_SENSOR_INTERVAL": "5"}
    log = cri_home / "daemon.log"
    started = time.monotonic()
    with open(log, "wb") as out:
        daemon = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(REPO_ROOT / "workspace.yaml")],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    official = None
    try:
        with dg.DagsterInstance.get() as instance:
            # 1. the sensor sees the files; the queue launches the draft run
            [draft] = _wait("the landing sensor's draft run", lambda: _runs(instance, **{"cri/trigger": "landing_sensor"}),
                            120, daemon, log)
            assert draft.job_name == "period_draft" and draft.tags["dagster/partition"] == "2025"
            assert draft.tags["cri/changes"].startswith("+")
            _wait("the draft run to hold the warehouse lock",
                  lambda: is_locked(cri_home) or _finished(instance, draft.run_id), 120, daemon, log, 0.2)
            # 2. a second writer starts meanwhile, in its own process
            official = subprocess.Popen([sys.executable, "-c", OFFICIAL], cwd=REPO_ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            draft = _wait("the draft run to finish", lambda: _finished(instance, draft.run_id), 600, daemon, log)
            out, err = official.communicate(timeout=600)
            assert official.returncode == 0, err[-3000:]
            outcome = json.loads(out.strip().splitlines()[-1])
            draft_record = instance.get_run_record_by_id(draft.run_id)
            official_record = instance.get_run_record_by_id(outcome["run_id"])

            assert draft.status == dg.DagsterRunStatus.SUCCESS, _tail(log)
            assert outcome["partition"] == "2025"
            assert outcome["success"], "the official run failed:\n" + "\n".join(
                e.user_message for e in instance.all_logs(outcome["run_id"], of_type=dg.DagsterEventType.STEP_FAILURE))
            assert WAITING in err  # the second writer waited for the first, and said so
            assert official_record.start_time >= draft_record.end_time  # one writer at a time
            assert official_record.dagster_run.tags["cri/kind"] == "official"

            # the draft wrote the quality report and published nothing; the official run published v1
            releases = sorted(p.name for p in (cri_home / "publish" / "2025").glob("v*"))
            assert releases == ["v1"]
            report = json.loads((cri_home / "reports/2025/quality_report.json").read_text(encoding="utf-8"))
            assert report["run_id"] == outcome["run_id"] and report["passed"]

            # the operator is told, without opening the UI
            lines = _wait("the notifications", lambda: (
                lambda ls: ls if any(" release_published " in x for x in ls) else None)(_notifications(cri_home)),
                60, daemon, log)
            [draft_line] = [x for x in lines if " draft_report " in x]
            assert f"run={draft.run_id[:8]}" in draft_line and "period=2025" in draft_line and "ĐẠT" in draft_line
            assert "quality_report.html" in draft_line
            [release_line] = [x for x in lines if " release_published " in x]
            assert "publish/2025/v1" in release_line and f"run={outcome['run_id'][:8]}" in release_line

            # 3. the same content again: no new run; changed content: a new draft
            health = next((cri_home / "landing/2025/health").glob("*.csv"))
            content = health.read_bytes()
            health.write_bytes(content)
            os.utime(health, (time.time() + 5, time.time() + 5))
            time.sleep(12)  # two sensor ticks
            assert len(_runs(instance, **{"cri/trigger": "landing_sensor"})) == 1
            health.write_bytes(content.replace(b"\r\n", b"\n") + b"\n" if b"\r\n" in content else content + b"\n")
            runs = _wait("a draft for the changed file",
                         lambda: (lambda rs: rs if len(rs) == 2 else None)(
                             _runs(instance, **{"cri/trigger": "landing_sensor"})), 60, daemon, log)
            assert runs[0].tags["cri/changes"].startswith("~health/")
            assert runs[0].tags["dagster/partition"] == "2025"
    finally:
        if official and official.poll() is None:
            official.kill()
        _stop(daemon)
    print(f"end to end with the daemon: {time.monotonic() - started:.0f}s")
