"""Benchmark the ingest of a national commune file.

Writes one file of 3,321 communes x 25 data values of the health sector
(about 83,000 rows, with a few thousand-separated numbers and Vietnamese
names) to a temporary landing folder, then times parsing it and loading it
into a fresh DuckDB warehouse the way the ingest asset does. Prints rows/s.

    .venv/bin/python benchmarks/bench_ingest.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

import numpy as np

from pipelines.ingest.assets import write_parsed
from pipelines.ingest.parse import parse_folder
from pipelines.methodology import load_methodology
from pipelines.reference.units import admin_units
from pipelines.warehouse import connect


def write_national_file(path: Path, sector: str = "health", period: str = "2025", seed: int = 1) -> int:
    """A national commune file: every commune, every element (total, plus sex=F for counts). Returns rows."""
    methodology = load_methodology()
    units = admin_units()
    communes = units.loc[units["unit_level"] == "commune", ["unit_code", "unit_name"]].itertuples(index=False)
    elements = [e for e in methodology.elements_of_sector(sector) if e.level == "commune" and e.kind != "unit_count"]
    keys = [(e.code, "", e.kind) for e in elements] + [(e.code, "sex=F", e.kind) for e in elements if e.kind == "count"]
    rng = np.random.default_rng(seed)
    rows = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["period", "unit_code", "unit_name", "data_element", "disaggregation", "value", "comment"])
        for code, name in communes:
            for de, dis, kind in keys:
                v = int(rng.integers(0, 2)) if kind == "yes_no" else int(rng.integers(0, 25_000))
                text = f"{v:,}".replace(",", ".") if v >= 1_000_000 else str(v)
                w.writerow([period, code, name, de, dis, text, ""])
                rows += 1
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    methodology = load_methodology()
    units = admin_units()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "landing" / "2025" / "health"
        n = write_national_file(folder / "national.csv")
        size = (folder / "national.csv").stat().st_size
        print(f"file: {n:,} rows, {size / 1e6:.1f} MB")
        best_parse = best_load = float("inf")
        for i in range(args.repeat):
            t0 = time.perf_counter()
            parsed = parse_folder(folder, "2025", "health", methodology, units)
            t1 = time.perf_counter()
            with connect(Path(tmp) / f"warehouse{i}.duckdb") as con:
                write_parsed(con, parsed)
            t2 = time.perf_counter()
            best_parse, best_load = min(best_parse, t1 - t0), min(best_load, t2 - t1)
            assert parsed.rows_loaded == n, (parsed.rows_loaded, parsed.rejects.head())
        print(f"parse: {best_parse:.2f} s ({n / best_parse:,.0f} rows/s)")
        print(f"load:  {best_load:.2f} s ({n / best_load:,.0f} rows/s)")
        total = best_parse + best_load
        print(f"total: {total:.2f} s ({n / total:,.0f} rows/s)")


if __name__ == "__main__":
    main()
