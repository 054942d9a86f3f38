"""Hostile and broken inputs at the gate, the release and the operator: nothing wrong is ever published.

Each case is one small fixture and asserts the exact outcome: the check that
fails (and blocks), the plain sentence the operator reads, and that the
previous release stays byte for byte what it was. The checks run on small
hand-made warehouses or on a copy of the quality baseline's warehouse
(``tests/fixtures/quality/support.py``); no test here re-runs the pipeline.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipelines.schedules.lock import WAITING, lock_holder, warehouse_lock
from pipelines.settings import REPO_ROOT

# -- the warehouse lock names the live holder ---------------------------------------------------------

HOLD_UNTIL_TOLD = """
import sys
from pathlib import Path
from pipelines.schedules.lock import WAITING, warehouse_lock
def tell(line):
    if line.startswith(WAITING):
        print("waiting", flush=True)
with warehouse_lock(sys.argv[2], home=Path(sys.argv[1]), poll=0.05, on_wait=tell):
    print("held", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""


def _holder(home: Path, what: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", HOLD_UNTIL_TOLD, str(home), what], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT)


def _release(p: subprocess.Popen) -> None:
    p.stdin.write("go\n")
    p.stdin.flush()
    assert p.stdout.readline().strip() == "released"
    assert p.wait(10) == 0


def test_a_waiting_writer_names_the_live_holder_not_the_previous_one(tmp_path):
    first = _holder(tmp_path, "cri run 2024")
    assert first.stdout.readline().strip() == "held"
    second = _holder(tmp_path, "cri run 2025")  # waits for the first, polling fast
    assert second.stdout.readline().strip() == "waiting"
    lines: list[str] = []
    got: list[float] = []

    def third():
        with warehouse_lock("cri run 2025H1", home=tmp_path, poll=1.0, on_wait=lines.append):
            got.append(time.monotonic())

    waiter = threading.Thread(target=third)
    waiter.start()
    time.sleep(0.3)
    _release(first)  # the second writer takes the lock before the third looks again
    assert second.stdout.readline().strip() == "held"
    assert lock_holder(tmp_path / ".warehouse.lock")["what"] == "cri run 2025"
    time.sleep(1.5)
    assert not got  # still waiting, now for the second writer
    _release(second)
    waiter.join(10)
    assert got
    waits = [line for line in lines if line.startswith(WAITING)]
    assert "cri run 2024" in waits[0]
    assert "cri run 2025" in waits[-1] and "cri run 2024" not in waits[-1]
    # a released lock names nobody
    assert lock_holder(tmp_path / ".warehouse.lock") == {}


def test_a_holder_that_died_is_not_named(tmp_path):
    holder = _holder(tmp_path, "killed run")
    assert holder.stdout.readline().strip() == "held"
    assert lock_holder(tmp_path / ".warehouse.lock")["what"] == "killed run"
    holder.kill()
    holder.wait(10)
    assert (tmp_path / ".warehouse.lock").read_text(encoding="utf-8")  # its words are still in the file
    assert lock_holder(tmp_path / ".warehouse.lock") == {}
