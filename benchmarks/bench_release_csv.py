"""What the formula-injection guard costs the release CSV writer.

Writes a national-size ``indicator_values`` table (3,355 units x 20
indicators, about 67,000 rows; a few unit names start with ``=``) with
``pipelines.files.write_csv`` several times, with the guard and with
the guard replaced by a pass-through, and prints the median times and their
ratio. Figures vary with the machine: the script prints them, nothing is
asserted.

    .venv/bin/python benchmarks/bench_release_csv.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines import files

TYPES = {"period": "string", "unit_level": "string", "unit_code": "string", "unit_name": "string",
         "province_code": "string", "indicator_code": "string", "numerator": "float64", "denominator": "float64",
         "value": "float64", "score": "float64", "suppressed": "boolean"}


def table(units: int = 3355, indicators: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = units * indicators
    names = [f"=HYPERLINK(\"x\",\"{u}\")" if u % 500 == 0 else f"Phường Số {u}" for u in range(units)]
    den = rng.integers(100, 5000, n).astype(float)
    num = np.floor(den * rng.random(n))
    return pd.DataFrame({
        "period": "2025", "unit_level": np.where(np.arange(n) < 34 * indicators, "province", "commune"),
        "unit_code": np.repeat([f"{u:05d}" for u in range(units)], indicators),
        "unit_name": np.repeat(names, indicators), "province_code": np.repeat([f"{u % 34:02d}" for u in range(units)],
                                                                              indicators),
        "indicator_code": np.tile([f"I{i}" for i in range(indicators)], units),
        "numerator": num, "denominator": den, "value": num / den * 100, "score": rng.random(n) * 100,
        "suppressed": rng.random(n) < 0.01,
    })


def timed(df: pd.DataFrame, path: Path, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        files.write_csv(df, path, TYPES)
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    df = table()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "indicator_values.csv"
        guarded = timed(df, path, args.repeat)
        real = files.neutralise_formulas
        files.neutralise_formulas = lambda values: list(values)
        try:
            bare = timed(df, path, args.repeat)
        finally:
            files.neutralise_formulas = real
    g, b = statistics.median(guarded), statistics.median(bare)
    print(f"rows: {len(df):,}, runs: {args.repeat}")
    print(f"write_csv with the guard:    median {g:.3f} s (runs: {', '.join(f'{x:.3f}' for x in guarded)})")
    print(f"write_csv without the guard: median {b:.3f} s (runs: {', '.join(f'{x:.3f}' for x in bare)})")
    print(f"ratio with/without: {g / b:.2f}")


if __name__ == "__main__":
    main()
