"""A run's Dagster event databases kept open while the run writes them.

Dagster's SQLite event storage opens and closes the run's database (and the
cross-run index) for every event it stores, a few hundred per run. When the
last connection to a database in WAL mode closes, SQLite checkpoints it and
removes its log, which makes each event cost a disk round trip. With one
more connection held open for the run, storing an event costs a fraction of
that (about 3 ms instead of 19 ms per connection on the development machine).
Nothing changes in what is stored; other storages (PostgreSQL) are left alone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager


@contextmanager
def event_databases_open(instance, run_id: str) -> Iterator[None]:
    """Hold the run's event database and the index open for a run executed in this process."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    storage = instance.event_log_storage
    if not isinstance(storage, SqliteEventLogStorage):
        yield
        return
    with ExitStack() as stack:
        for shard, connection in ((run_id, storage.run_connection(run_id)), ("index", storage.index_connection())):
            with connection:  # Dagster creates the database (tables, WAL mode) as it would at the first event
                pass
            keeper = stack.enter_context(closing(sqlite3.connect(storage.path_for_shard(shard))))
            keeper.execute("select count(*) from sqlite_master").fetchone()
        yield
