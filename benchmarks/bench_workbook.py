"""Time and memory of the release workbook (``ranking.xlsx``) on national-size tables.

Made-up release tables (seeded) of the national size: 34 provinces, 3,321 communes, about 67,000 indicator
rows and 43,000 commune assessment rows, every published table, a few names that look like formulas, some
empty cells. Each run writes the workbook in a process of its own and reports the time of the write and the
peak memory of the process (its resident set; the tables alone take a known part, printed apart). With
``--old REF`` the writer of that commit (``git show REF:pipelines/publish/excel.py``) runs too, on the same
tables, and the ratios are printed. Figures vary with the machine: the script prints them, nothing is asserted.

    .venv/bin/python benchmarks/bench_workbook.py [--repeat 3] [--old f039001]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.methodology import load_methodology
from pipelines.publish.contract import PANDAS_DTYPES
from pipelines.publish.published import PUBLISHED_TABLES

ROOT = Path(__file__).resolve().parents[1]
PROVINCES, COMMUNES = 34, 3321
ROWS = {"province_ranking": PROVINCES, "indicator_values": (PROVINCES + COMMUNES + 1) * 20,
        "commune_assessment": COMMUNES * 13, "commune_ranking": COMMUNES, "trend": PROVINCES * 7,
        "trend_indicators": (PROVINCES + 1) * 20 * 7, "targets": (PROVINCES + 1) * 20,
        "equity_gaps": (PROVINCES + 1) * 10 * 3, "rank_uncertainty": PROVINCES}


def _text(name: str, n: int, rng: np.random.Generator) -> list[str | None]:
    if name == "period":
        return ["2025"] * n
    if name.endswith("_code"):
        return [f"{i % COMMUNES:05d}" if i % 3 else f"{i % PROVINCES + 1:02d}" for i in range(n)]
    words = ["Phường Số", "Xã Đông Hòa", "ổn định", "=HYPERLINK(\"x\")", "+84 90", "@x", None, "-2"]
    return [None if (w := words[i % 7 if i % 500 else 3 + i % 3]) is None else f"{w} {i}" for i in range(n)]


def _column(name: str, kind: str, n: int, rng: np.random.Generator) -> pd.Series:
    empty = rng.random(n) < 0.05
    if kind == "string":
        return pd.Series(_text(name, n, rng), dtype=PANDAS_DTYPES["string"])
    if kind == "int64":
        return pd.Series(rng.integers(-40, 4000, n), dtype=PANDAS_DTYPES["int64"]).mask(empty)
    if kind == "boolean":
        return pd.Series(rng.random(n) < 0.3, dtype=PANDAS_DTYPES["boolean"]).mask(empty)
    return pd.Series(rng.random(n) * 10 ** rng.integers(0, 4, n), dtype=PANDAS_DTYPES["float64"]).mask(empty)


def _ranking(m, rng: np.random.Generator) -> pd.DataFrame:
    pcri = rng.uniform(30, 90, PROVINCES)
    rank = np.empty(PROVINCES, dtype=int)
    rank[np.argsort(-pcri)] = np.arange(1, PROVINCES + 1)
    ranked = rank <= PROVINCES - 2  # the last two are not ranked, with the reason
    return pd.DataFrame({
        "period": "2025", "province_code": [f"{p:02d}" for p in range(1, PROVINCES + 1)],
        "province_name": [f"=Tỉnh {p}" if p == 7 else f"Tỉnh Số {p}" for p in range(1, PROVINCES + 1)],
        "pcri": np.where(ranked, pcri, np.nan), "rank": pd.Series(rank, dtype="Int64").where(ranked),
        "tier": pd.Series(1 + (rank - 1) * len(m.tiers) // PROVINCES, dtype="Int64").where(ranked),
        "rank_change": pd.array(rng.integers(-5, 6, PROVINCES), dtype="Int64"),
        "indicators_used": 20, "indicators_total": 20,
        "not_ranked_reason": np.where(ranked, None, "Thiếu số liệu"), "tier_name": None, "tier_name_en": None,
        "previous_rank": pd.array(rng.permutation(PROVINCES) + 1, dtype="Int64")})


def national_tables(seed: int = 11) -> tuple[object, dict[str, pd.DataFrame]]:
    """The methodology and every published table, national size (seeded)."""
    m = load_methodology()
    rng = np.random.default_rng(seed)
    tables = {}
    for name, table in PUBLISHED_TABLES.items():
        n = ROWS.get(name, PROVINCES * len(m.domains))
        tables[name] = pd.DataFrame({c.name: _column(c.name, c.type, n, rng) for c in table.columns})
    tables["province_ranking"] = _ranking(m, rng)
    ds = tables["domain_scores"]
    ds["province_code"] = np.repeat(tables["province_ranking"]["province_code"].to_numpy(), len(m.domains))
    ds["domain_code"] = [d.code for d in m.domains] * PROVINCES
    for d in m.domains:  # trend: a score column per domain
        tables["trend"][d.code] = _column(d.code, "float64", ROWS["trend"], rng)
    return m, tables


def _writer(old: str | None):
    if old is None:
        from pipelines.publish.excel import write_ranking_xlsx
        return write_ranking_xlsx
    source = subprocess.run(["git", "show", f"{old}:pipelines/publish/excel.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "excel_old.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("excel_old", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_ranking_xlsx


def _rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 2**20


def one_run(old: str | None, out: Path) -> dict[str, float]:
    """Write the workbook once in this process: seconds, the process's peak and the tables' memory (MB)."""
    m, tables = national_tables()
    write = _writer(old)
    before = _rss_mb()
    started = time.perf_counter()
    write(out, tables["province_ranking"], tables["domain_scores"], m, tables=tables, release="2025 v1")
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_mb": peak, "before_mb": before, "size_kb": out.stat().st_size / 1024}


def _runs(old: str | None, repeat: int) -> list[dict[str, float]]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            cmd = [sys.executable, __file__, "--one", str(Path(tmp) / "ranking.xlsx")] + (["--old", old] if old else [])
            result = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
            out.append(json.loads(result.stdout.strip().splitlines()[-1]))
    return out


def _report(label: str, runs: list[dict[str, float]]) -> dict[str, float]:
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    each = ", ".join(f"{r['seconds']:.2f}" for r in runs)
    print(f"{label}: write median {med['seconds']:.2f} s (runs: {each}), "
          f"peak memory median {med['peak_mb']:.0f} MB (tables alone {med['before_mb']:.0f} MB, "
          f"so the write {med['peak_mb'] - med['before_mb']:.0f} MB), file {med['size_kb']:.0f} KB")
    return med


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--old", help="a commit whose workbook writer to compare with (e.g. f039001)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # one run in this process, to this path
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(args.old, Path(args.one))))
        return
    _, tables = national_tables()
    print("rows: " + ", ".join(f"{name} {len(df):,}" for name, df in tables.items()) + f"; runs: {args.repeat}")
    new = _report("this writer", _runs(None, args.repeat))
    if args.old:
        old = _report(f"writer of {args.old}", _runs(args.old, args.repeat))
        grown = (new["peak_mb"] - new["before_mb"]) / max(old["peak_mb"] - old["before_mb"], 1)
        print(f"ratio this/old: time {new['seconds'] / old['seconds']:.2f}, memory of the write {grown:.2f}")


if __name__ == "__main__":
    main()
