"""Benchmark the ingest of one large CSV file of valid rows: time and peak memory.

Writes a landing file of the given size (default 1 GB) of valid health rows:
every commune and data element, repeated with a distinct disaggregation per
block (``b=1``, ``b=2``...) so that every row is a distinct data value and is
loaded. Then, in a child process (one per run, so that its peak memory is its
own), parses the folder and loads it into a fresh DuckDB warehouse the way the
ingest asset does, and prints the time, the child's peak resident memory
(``resource.getrusage``), and the ratio of both to the file size. The
memory setting of ingest is ``CRI_INGEST_MEMORY_MB`` (default 1024).

    .venv/bin/python benchmarks/bench_ingest_large.py                 # 1 GB, one run
    .venv/bin/python benchmarks/bench_ingest_large.py --size-mb 200 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = "period,unit_code,unit_name,data_element,disaggregation,value,comment\n"


def write_large_file(path: Path, size_mb: float, sector: str = "health", period: str = "2025") -> int:
    """A CSV file of about ``size_mb`` MB of valid, distinct rows; returns the number of rows."""
    from pipelines.methodology import load_methodology
    from pipelines.reference.units import admin_units

    units = admin_units()
    communes = units.loc[units["unit_level"] == "commune", "unit_code"].tolist()
    elements = [e.code for e in load_methodology().elements_of_sector(sector)
                if e.level == "commune" and e.kind == "count"]
    stems = [f"{period},{c},,{e},b=" for c in communes for e in elements]
    target = int(size_mb * 1_000_000)
    rows = written = block = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER)
        written = len(HEADER)
        while written < target:
            block += 1
            lines = [f"{s}{block},{(n * 7919 + block) % 25000},\n" for n, s in enumerate(stems)]
            text = "".join(lines)
            if written + len(text) > target:  # the last block, cut at a line end
                text = text[: text.rfind("\n", 0, target - written) + 1]
                if not text:
                    break
            f.write(text)
            written += len(text)
            rows += text.count("\n")
    return rows


def child(home: Path) -> None:
    """Run in the child process: ingest the folder, print the figures as JSON."""
    from pipelines.ingest.assets import write_parsed
    from pipelines.ingest.parse import parse_folder
    from pipelines.methodology import load_methodology
    from pipelines.reference.units import admin_units
    from pipelines.warehouse import connect

    methodology, units = load_methodology(), admin_units()
    started = time.perf_counter()
    parsed = parse_folder(home / "landing" / "2025" / "health", "2025", "health", methodology, units,
                          relative_to=home / "landing")
    parse_s = time.perf_counter() - started
    with connect(home / "warehouse.duckdb") as con:
        summary = write_parsed(con, parsed)
        stored = con.execute("select count(*) from raw.data_values").fetchone()[0]
    total_s = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"parse_s": parse_s, "total_s": total_s, "peak_mb": peak_mb, "rows_loaded": summary.rows_loaded,
                      "rows_stored": stored, "rejects": summary.reject_records}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=float, default=1000.0, help="size of the CSV file (default 1000 MB)")
    ap.add_argument("--runs", type=int, default=1, help="ingest runs (each in a fresh warehouse)")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    with tempfile.TemporaryDirectory(prefix="cri-bench-") as tmp:
        home = Path(tmp)
        path = home / "landing" / "2025" / "health" / "large.csv"
        t0 = time.perf_counter()
        rows = write_large_file(path, args.size_mb)
        size_mb = path.stat().st_size / 1e6
        print(f"file: {rows:,} rows, {size_mb:.0f} MB, written in {time.perf_counter() - t0:.0f} s; "
              f"memory setting CRI_INGEST_MEMORY_MB={os.environ.get('CRI_INGEST_MEMORY_MB', '1024')}")
        results = []
        for run in range(1, args.runs + 1):
            (home / "warehouse.duckdb").unlink(missing_ok=True)
            out = subprocess.run([sys.executable, __file__, "--child", str(home)], capture_output=True, text=True,
                                 env={**os.environ, "CRI_HOME": str(home), "CRI_LANDING_SETTLE_SECONDS": "0"})
            if out.returncode != 0:
                print(f"run {run}: failed (exit {out.returncode})\n{out.stderr[-2000:]}")
                sys.exit(1)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(r)
            print(f"run {run}: {r['total_s']:.1f} s (parse {r['parse_s']:.1f} s), peak {r['peak_mb']:.0f} MB "
                  f"= {r['peak_mb'] / size_mb:.2f} x the file, {r['rows_loaded']:,} rows loaded "
                  f"({r['rows_stored']:,} stored), {r['rejects']} rejects, "
                  f"{size_mb / r['total_s']:.1f} MB/s")
        if len(results) > 1:
            t = statistics.median(r["total_s"] for r in results)
            m = statistics.median(r["peak_mb"] for r in results)
            print(f"median of {len(results)}: {t:.1f} s, peak {m:.0f} MB = {m / size_mb:.2f} x the file")


if __name__ == "__main__":
    main()
