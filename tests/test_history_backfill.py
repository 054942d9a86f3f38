"""A backfill of several periods, launched as the UI launches one, and the demo's runs grouped into ranges.

The UI's "Launch backfill" on the job ``period_official`` sends the GraphQL
mutation ``launchPartitionBackfill`` with the job's partition set and the
periods chosen; the daemon (here the real ``dagster-daemon``) turns it into
runs. Every asset has ``backfill_policy=single_run``: two consecutive years are
one run, and each year gets its whole release. The backfill starts from a copy of
the session's small run of 2024 and 2025 (``tests/fixtures/runs.py``) without its
releases: the one run publishes both periods, 2024 first.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import dagster as dg
import pytest

from pipelines.ops.backfill import period_ranges
from pipelines.settings import REPO_ROOT, get_settings
from tests.fixtures.runs import copy_home, small_history_run


def test_periods_are_cut_into_ranges_of_consecutive_partitions():
    # the years come first among the partitions, then the half-years: 2019..2025 is one range, 2025H1..2025H2
    # another; a gap (2022 missing) cuts a range
    history = ["2019", "2020", "2021", "2022", "2023", "2024", "2025", "2025H1", "2025H2"]
    assert period_ranges(history) == [history[:7], ["2025H1", "2025H2"]]
    assert period_ranges(["2019", "2020", "2023", "2024H2", "2025H1", "2025"]) == [
        ["2019", "2020"], ["2023"], ["2024H2", "2025H1"], ["2025"]]
    assert period_ranges(["2024", "2024"]) == [["2024"]]


def _launch_backfill(instance, periods: list[str]) -> str:
    """The UI's mutation for a backfill of ``periods`` of the job period_official; the backfill's id."""
    from dagster_graphql.client.query import LAUNCH_PARTITION_BACKFILL_MUTATION
    from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

    with define_out_of_process_context(str(REPO_ROOT / "workspace.yaml"), None, instance) as context:
        [location] = context.code_locations
        [repository] = location.get_repositories().values()
        params = {"selector": {"partitionSetName": "period_official_partition_set",
                               "repositorySelector": {"repositoryLocationName": location.name,
                                                      "repositoryName": repository.name}},
                  "partitionNames": periods}
        result = execute_dagster_graphql(context, LAUNCH_PARTITION_BACKFILL_MUTATION, {"backfillParams": params})
    launched = result.data["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    return launched["backfillId"]


# ``dagster-daemon``, whose backfill daemon looks at the backfills every 5 s instead of every 30 s: the backfill is
# marked complete at the first look after its run has finished, so the test would otherwise idle up to 30 s.
# The backfill loop reads this constant when it starts (so does the asset daemon, only without automation sensors).
DAEMON = """
import sys
import dagster._daemon.controller as controller
controller.DEFAULT_DAEMON_INTERVAL_SECONDS = 5
from dagster._daemon.cli import main
sys.argv[0] = "dagster-daemon"
sys.exit(main())
"""


def _stop(daemon: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGINT, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(daemon.pid, sig)
            daemon.wait(wait)
            return
        except (ProcessLookupError, subprocess.TimeoutExpired):
            continue


@pytest.mark.slow
@pytest.mark.xdist_group("e2e")
def test_a_backfill_launched_as_the_ui_does_publishes_each_period_whole(tmp_path_factory, tmp_path, monkeypatch):
    import json

    from dagster._core.execution.backfill import BulkActionStatus  # the backfill's status, as the UI shows it

    from pipelines.partitions import period_partitions
    from pipelines.publish.verify import verify_release

    shared, methodology, _ = small_history_run(tmp_path_factory)
    home = copy_home(shared, tmp_path / "home")
    shutil.rmtree(home / "publish")  # the run must publish 2024 before 2025 for the series to hold both
    for name, value in {"CRI_HOME": home, "CRI_WAREHOUSE_PATH": home / "warehouse.duckdb",
                        "DAGSTER_HOME": home / "dagster", "CRI_METHODOLOGY": methodology}.items():
        monkeypatch.setenv(name, str(value))
    settings = get_settings()
    # years come first among the partitions: 2024 and 2025 are one range, as a backfill of the two asks
    assert period_partitions.get_partition_keys_in_range(dg.PartitionKeyRange("2024", "2025")) == ["2024", "2025"]
    env = {**os.environ, "CRI_LANDING_SETTLE_SECONDS": "0", "CRI_LANDING_SENSOR_INTERVAL": "3600"}
    log = home / "daemon.log"
    with dg.DagsterInstance.get() as instance:
        backfill_id = _launch_backfill(instance, ["2024", "2025"])
        with open(log, "wb") as out:
            daemon = subprocess.Popen(
                [sys.executable, "-c", DAEMON, "run", "-w", str(REPO_ROOT / "workspace.yaml")],
                cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline:
                backfill = instance.get_backfill(backfill_id)
                runs = instance.get_runs(filters=dg.RunsFilter.for_backfill(backfill_id))
                if backfill.status != BulkActionStatus.REQUESTED and runs and all(r.is_finished for r in runs):
                    break
                assert daemon.poll() is None, log.read_text(errors="replace")[-3000:]
                time.sleep(2)
            else:
                pytest.fail("the backfill did not finish:\n" + log.read_text(errors="replace")[-3000:])
        finally:
            _stop(daemon)
        checks = [e.dagster_event.event_specific_data for e in instance.all_logs(
            runs[0].run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)] if runs else []
    # one run for the two years (single_run backfill policy), of the official job, and it succeeded
    [run] = runs
    assert run.job_name == "period_official" and run.status == dg.DagsterRunStatus.SUCCESS
    assert (run.tags["dagster/asset_partition_range_start"], run.tags["dagster/asset_partition_range_end"]) == (
        "2024", "2025")
    assert backfill.status == BulkActionStatus.COMPLETED_SUCCESS
    # the gate judged both periods in the one run
    gate = [c for c in checks if c.check_name == "publication_gate"]
    assert len(gate) == 1 and gate[0].passed
    assert gate[0].metadata["periods"].value == ["2024", "2025"]
    for period in ("2024", "2025"):
        # each period published whole: v1, every file its manifest lists there and unchanged, none missing
        result = verify_release(settings.publish_dir, period)
        assert result.ok and result.version == 1, result
        # the period's quality report is this run's, and it passed
        report = json.loads((settings.reports_dir / period / "quality_report.json").read_text(encoding="utf-8"))
        assert report["run_id"] == run.run_id and report["passed"] is True
        folder = settings.publish_period_dir(period) / "v1"
        for name in ("province_ranking.parquet", "report.html", "report.pdf", "trend.parquet", "targets.parquet",
                     "release_notes.md", "manifest.json"):
            assert (folder / name).exists(), (period, name)
    # the later year's series holds the earlier one, which the same run published just before
    import pandas as pd

    trend = pd.read_parquet(settings.publish_period_dir("2025") / "v1" / "trend.parquet")
    assert sorted(trend["period"].unique()) == ["2024", "2025"]


def test_the_demo_history_waives_the_year_a_sector_sent_nothing(tmp_path):
    from pipelines.demo.legacy import MISSING_SECTORS, write_demo_waivers
    from pipelines.quality.waivers import load_waivers

    path = write_demo_waivers(tmp_path)
    waivers = load_waivers(path)
    # no file from the sector, and too few communes reporting its elements: both waived for 2020 only
    assert {(w.check, w.period) for w in waivers} == {("completeness.sector_files", "2020"),
                                                      ("completeness.commune_reporting", "2020")}
    assert "2020" in MISSING_SECTORS and all(w.status != "invalid" for w in waivers)
    # the operator's own file is never overwritten
    path.write_text("waivers: []\n", encoding="utf-8")
    assert write_demo_waivers(tmp_path) is None and path.read_text(encoding="utf-8") == "waivers: []\n"
