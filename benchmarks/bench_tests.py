"""How long the whole test suite takes, as `make test` runs it (2 workers, xdist groups), and where the time goes.

Runs ``pytest -n 2 --dist loadgroup --no-loadscope-reorder`` (``--runs`` times, median) and prints the wall time
against the goal of
issue 18 (under 5 minutes on 2 cores, every test kept), the CPU time (which moves much less than the wall time
on a shared machine), and the slowest setups and calls of the last run (a setup of a few minutes is a whole
pipeline run of a shared fixture). Prints the figures; asserts nothing.

Usage: python benchmarks/bench_tests.py [--runs 1] [--top 15] [pytest arguments, e.g. -m "not slow"]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 5 * 60


def run_suite(extra: list[str], top: int) -> tuple[float, float, int, list[str]]:
    """(wall seconds, CPU seconds of pytest and its workers, exit code, the --durations lines) of one run."""
    cmd = [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "--no-loadscope-reorder", "-q",
           f"--durations={top}", *extra]
    before, started = os.times(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall, after, output = time.perf_counter() - started, os.times(), proc.stdout
    # every descendant waited for: the workers, and the dbt processes they ran
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    slowest = [line for line in output.splitlines() if re.match(r"^\d+\.\d+s (setup|call|teardown) ", line)]
    tail = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    print(tail[-1] if tail else output[-2000:], file=sys.stderr)
    return wall, cpu, proc.returncode, slowest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1, help="whole runs of the suite (default 1)")
    parser.add_argument("--top", type=int, default=15, help="slowest setups and calls to print (default 15)")
    args, extra = parser.parse_known_args()
    walls, cpus, slowest, codes = [], [], [], []
    for n in range(args.runs):
        print(f"run {n + 1}/{args.runs} of the test suite", file=sys.stderr)
        wall, cpu, code, slowest = run_suite(extra, args.top)
        walls.append(wall)
        cpus.append(cpu)
        codes.append(code)
    wall = statistics.median(walls)
    print(f"\n=== The test suite, pytest -n 2 --dist loadgroup, median of {args.runs} run(s) ===")
    print(f"wall time       {wall:7.1f} s   {wall / GOAL_SECONDS:4.2f} x the goal of 5 minutes"
          f"   (exit codes {codes})")
    print(f"CPU time        {statistics.median(cpus):7.1f} s   (pytest and its workers, with dbt's processes)")
    print(f"--- slowest {args.top} setups and calls of the last run (a setup includes the fixtures it builds)")
    for line in slowest:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
