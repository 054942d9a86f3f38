"""The production instance (deploy/dagster.yaml) against a real PostgreSQL server.

The test setup starts a throw-away PostgreSQL cluster (Debian's ``postgresql``
package: ``initdb`` and ``pg_ctl``) on a free local port, points the
production ``dagster.yaml`` at it through the environment, runs a job and
reads it back. Skipped, with the reason, when the server binaries or the
``dagster-postgres`` package are missing.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import dagster as dg
import pytest

from pipelines.settings import REPO_ROOT

pytestmark = pytest.mark.postgres


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_user() -> str | None:
    """initdb refuses to run as root: run the server as the 'postgres' system user then."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user to run the PostgreSQL server")
    if not shutil.which("runuser"):
        pytest.skip("running as root and 'runuser' is missing: cannot start PostgreSQL as another user")
    return "postgres"


@pytest.fixture(scope="module")
def postgres_server():
    try:
        import dagster_postgres  # noqa: F401
    except ImportError:
        pytest.skip("dagster-postgres is not installed (pip install dagster-postgres==0.29.27 psycopg2-binary)")
    bindir = _pg_bin()
    if bindir is None or not (bindir / "pg_ctl").exists():
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql")
    user = _server_user()
    as_user = ["runuser", "-u", user, "--"] if user else []
    root = Path(tempfile.mkdtemp(prefix="cri-pg-"))
    if user:
        shutil.chown(root, user=user)
    data, port = root / "data", _free_port()
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    started = False
    try:
        subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "cri", "--auth=trust",
                        "-E", "UTF8"], check=True, capture_output=True, env=env)
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w",
                        "-t", "60", "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start"],
                       check=True, capture_output=True, env=env)
        started = True
        subprocess.run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "cri", "cri_dagster"],
                       check=True, capture_output=True, env=env)
        yield {"CRI_PG_HOST": "127.0.0.1", "CRI_PG_PORT": str(port), "CRI_PG_DB": "cri_dagster",
               "CRI_PG_USER": "cri", "CRI_PG_PASSWORD": ""}
    except subprocess.CalledProcessError as exc:
        log = (root / "server.log").read_text(errors="replace") if (root / "server.log").exists() else ""
        pytest.fail(f"could not start PostgreSQL: {exc.stderr!r}\n{log[-2000:]}")
    finally:
        if started:
            subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                           capture_output=True, env=env)
        shutil.rmtree(root, ignore_errors=True)


@dg.op
def _count_provinces() -> int:
    return 34


@dg.op
def _double(n: int) -> int:
    return n * 2


@dg.job
def small_job():
    _double(_count_provinces())


def test_production_instance_runs_on_postgres(postgres_server, cri_home, monkeypatch):
    for key, value in postgres_server.items():
        monkeypatch.setenv(key, value)
    dagster_home = cri_home / "dagster"
    dagster_home.mkdir()
    shutil.copy(REPO_ROOT / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert instance.run_coordinator.__class__.__name__ == "QueuedRunCoordinator"
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs == 1
        assert {"key": "cri/warehouse", "value": "write", "limit": 1} in queue.tag_concurrency_limits

        result = small_job.execute_in_process(instance=instance, tags={"cri/trigger": "test"})
        assert result.success and result.output_for_node("_double") == 68
        run_id = result.run_id

    # a new instance (another process would do the same) reads the run back from PostgreSQL
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        run = instance.get_run_by_id(run_id)
        assert run.status == dg.DagsterRunStatus.SUCCESS and run.tags["cri/trigger"] == "test"
        events = {e.dagster_event.event_type for e in instance.all_logs(run_id) if e.dagster_event}
        assert {dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.STEP_SUCCESS} <= events
        assert [r.run_id for r in instance.get_runs(filters=dg.RunsFilter(tags={"cri/trigger": "test"}))] == [run_id]
