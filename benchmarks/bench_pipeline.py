"""Wall time of a national run: demo data for 3,321 communes, then `cri run` for 2024 and 2025.

Prints the figures; asserts nothing. Usage: python benchmarks/bench_pipeline.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", help="use this CRI_HOME and keep it (default: a temporary folder)")
    args = parser.parse_args()
    home = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="cri-bench-"))
    os.environ["CRI_HOME"] = str(home)
    os.environ.pop("CRI_METHODOLOGY", None)

    from pipelines.cli import run_period
    from pipelines.demo import write_demo_data

    started = time.perf_counter()
    summary = write_demo_data(home / "landing", periods=("2024", "2025"))
    demo_s = time.perf_counter() - started
    rows = sum(summary.rows.values())
    print(f"demo data: {rows:,} rows in {demo_s:.1f}s", file=sys.stderr)
    figures = []
    for period in ("2024", "2025"):
        outcome = run_period(period)
        figures.append((period, outcome.seconds, outcome.published))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("\n=== National run (34 provinces, 3,321 communes) ===")
    print(f"demo data          {demo_s:6.1f} s   ({rows:,} data values)")
    for period, seconds, published in figures:
        print(f"cri run {period}       {seconds:6.1f} s   ({'published' if published else 'NOT published'})")
    print(f"peak memory        {peak_mib:6.0f} MiB (this process; dbt runs in a subprocess)")
    print(f"CRI_HOME           {home}")
    return 0 if all(p for _, _, p in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
