"""During a run, the run's SQLite event databases commit without a disk flush (WAL, synchronous=NORMAL); every
other database, and the same ones after the run, keep SQLite's default (FULL)."""

from __future__ import annotations

import uuid
from pathlib import Path

import dagster as dg

from pipelines.ops.instance import event_databases_open

NORMAL, FULL = 1, 2


def _synchronous(storage, shard: str) -> int:
    with storage._connect(shard) as conn:
        return conn.exec_driver_sql("pragma synchronous").fetchone()[0]


def test_the_runs_event_databases_commit_without_a_flush_during_the_run_only(tmp_path: Path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        storage, run_id = instance.event_log_storage, str(uuid.uuid4())
        other = str(uuid.uuid4())  # another run's database, opened meanwhile
        with event_databases_open(instance, run_id):
            assert _synchronous(storage, run_id) == NORMAL
            assert _synchronous(storage, "index") == NORMAL
            assert _synchronous(storage, other) == FULL
        assert _synchronous(storage, run_id) == FULL
        assert _synchronous(storage, "index") == FULL
