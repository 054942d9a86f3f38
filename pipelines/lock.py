"""One writer at a time: an exclusive lock on ``$CRI_HOME/.warehouse.lock``.

The warehouse is one DuckDB file, and DuckDB lets one process write it at a
time: a second process that opens it fails at once ("Could not set lock on
file"). Two guards keep runs apart:

* the Dagster run queue (``max_concurrent_runs: 1`` in the instance's
  ``dagster.yaml``) launches one queued run at a time; it counts every run in
  progress in the instance, including runs ``cri run`` executes in its own
  process;
* this lock, held for the whole run, by runs launched by the daemon or the UI
  (the warehouse resource, ``pipelines.resources.WarehouseResource``, set up
  once per run) and by ``cri run`` (``warehouse_lock()`` around the run). A second writer *waits* for the first to finish, and says so; it does
  not fail and does not retry.

The lock is an ``flock`` on a file: the operating system releases it when the
process that holds it ends, however it ends, so a crashed run never leaves a
stale lock behind. It is re-entrant within one process.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from pipelines.ops.progress import say
from pipelines.settings import get_settings

LOCK_NAME = ".warehouse.lock"
WAITING = "đang chờ lần chạy khác ghi kho dữ liệu / waiting for another run to finish writing the warehouse"

_local = threading.Lock()
_held: dict[str, list] = {}  # lock path -> [open file, depth]


class LockTimeout(TimeoutError):
    pass


def lock_path(home: Path | None = None) -> Path:
    return (home or get_settings().home) / LOCK_NAME


def lock_holder(path: Path | None = None) -> dict:
    """Who holds the lock now, as written by the holder: pid, what, since ({} when nobody is named).

    A holder clears the file before it lets go, and a holder that died without
    clearing it (its process is gone) is not named: the name is the live holder's.
    """
    path = path or lock_path()
    try:
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) and _alive(holder.get("pid")) else {}


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _describe(holder: dict) -> str:
    if not holder:
        return ""
    parts = [holder.get("what", ""), f"pid {holder['pid']}" if holder.get("pid") else "",
             f"since {holder['since']}" if holder.get("since") else ""]
    return " (" + ", ".join(p for p in parts if p) + ")"


@contextmanager
def warehouse_lock(
    what: str = "",
    *,
    home: Path | None = None,
    timeout: float | None = None,
    on_wait: Callable[[str], None] | None = None,
    poll: float = 0.5,
) -> Iterator[Path]:
    """Hold the warehouse lock for the duration of the block; wait (never fail) while another writer holds it.

    ``what`` names the holder for the waiting message of others (e.g. ``"cri run 2025"``).
    ``on_wait`` receives the waiting lines (default: the terminal, on standard error).
    ``timeout`` (seconds, default ``$CRI_LOCK_TIMEOUT`` or no limit) raises ``LockTimeout``.
    """
    path = lock_path(home)
    key = str(path)
    with _local:
        if key in _held:  # re-entrant: this process already holds it
            _held[key][1] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield path
        finally:
            with _local:
                _held[key][1] -= 1
        return

    if timeout is None and os.environ.get("CRI_LOCK_TIMEOUT"):
        timeout = float(os.environ["CRI_LOCK_TIMEOUT"])
    tell = on_wait or (lambda line: say("lock", line))
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (closed below, after the block)
    started = time.monotonic()
    waited = False
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waited = True
            named = _describe(lock_holder(path))
            tell(f"{WAITING}{named}")
            while True:  # look again every `poll` seconds; say so when another writer took the lock meanwhile
                time.sleep(poll)
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    now = _describe(lock_holder(path))
                    if now and now != named:
                        named = now
                        tell(f"{WAITING}{named}")
                    seconds = time.monotonic() - started
                    if timeout is not None and seconds >= timeout:
                        raise LockTimeout(f"{WAITING}: gave up after {seconds:.0f}s{now}") from None
        if waited:
            tell(f"kho dữ liệu đã rảnh, bắt đầu / the warehouse is free, starting ({time.monotonic() - started:.0f}s)")
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "what": what,
                             "since": datetime.now().astimezone().isoformat(timespec="seconds")}))
        fh.flush()
        with _local:
            _held[key] = [fh, 1]
        try:
            yield path
        finally:
            with _local:
                del _held[key]
            try:  # name nobody once this holder is gone, so that a waiter never names a finished run
                fh.seek(0)
                fh.truncate()
                fh.flush()
            except (OSError, ValueError):
                pass
    finally:
        fh.close()  # closing the file releases the lock


def is_locked(home: Path | None = None) -> bool:
    """Whether another process holds the lock now (for status displays and tests)."""
    path = lock_path(home)
    if str(path) in _held:
        return True
    if not path.exists():
        return False
    with open(path, "a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return False
