"""Benchmark the ingest of a national commune file keyed by the units before the 2025 reform.

Writes the national health file of ``bench_ingest`` (every 2025 commune, every element) for an old year,
then the same data as an agency sent it in the old units (``pipelines.demo.legacy.to_legacy``: old communes,
``unit_scheme`` legacy), and times ``parse_folder`` on each. Prints the median of several runs and the ratio
of the old-unit file to the 2025-unit file.

    .venv/bin/python benchmarks/bench_ingest_legacy.py [--repeat 3] [--sector health] [--period 2024]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from bench_ingest import write_national_file  # this folder is on the path when run as a script
from pipelines.demo.legacy import to_legacy
from pipelines.ingest.parse import parse_folder
from pipelines.methodology import load_methodology
from pipelines.reference.units import admin_units


def write_legacy_file(current: Path, path: Path, sector: str) -> int:
    """The 2025-unit file ``current`` rewritten in the old units. Returns rows."""
    methodology = load_methodology()
    flags = {e.code for e in methodology.elements_of_sector(sector) if e.kind == "yes_no"}
    frame = pd.read_csv(current, dtype=str, keep_default_na=False)
    frame["value"] = frame["value"].str.replace(".", "", regex=False).astype("int64")
    frame["unit_name"] = None
    out = to_legacy(frame.drop(columns="comment"), sector, flags)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
    return len(out)


def _time(folder: Path, period: str, sector: str, methodology, units, repeat: int) -> tuple[list[float], int]:
    """Seconds of each run of ``parse_folder`` on ``folder``, and the rows loaded."""
    times, loaded = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        parsed = parse_folder(folder, period, sector, methodology, units)
        times.append(time.perf_counter() - t0)
        loaded = parsed.rows_loaded
    return times, loaded


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sector", default="health")
    ap.add_argument("--period", default="2024")
    args = ap.parse_args()
    methodology = load_methodology()
    units = admin_units()
    with tempfile.TemporaryDirectory() as tmp:
        new = Path(tmp) / "new" / args.period / args.sector
        old = Path(tmp) / "old" / args.period / args.sector
        n_new = write_national_file(new / "national.csv", sector=args.sector, period=args.period)
        n_old = write_legacy_file(new / "national.csv", old / "national.csv", args.sector)
        print(f"2025 units: {n_new:,} rows; old units: {n_old:,} rows")
        t_new, loaded_new = _time(new, args.period, args.sector, methodology, units, args.repeat)
        t_old, loaded_old = _time(old, args.period, args.sector, methodology, units, args.repeat)
        m_new, m_old = statistics.median(t_new), statistics.median(t_old)
        print(f"2025 units: median {m_new:.2f} s of {args.repeat} ({', '.join(f'{t:.2f}' for t in t_new)}), "
              f"{loaded_new:,} rows loaded")
        print(f"old units:  median {m_old:.2f} s of {args.repeat} ({', '.join(f'{t:.2f}' for t in t_old)}), "
              f"{loaded_old:,} rows loaded")
        print(f"ratio old/2025 units: {m_old / m_new:.1f}x")


if __name__ == "__main__":
    main()
