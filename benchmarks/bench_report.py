"""Benchmark the ranking report: report.html and report.pdf for the 34 provinces and 3,321 communes.

Made-up release tables of national size (seeded): the ranking, domain scores,
indicator values, rank intervals and every commune ranked within its province.
Times rendering the HTML (templates) and writing the PDF (WeasyPrint); prints
the median of several runs, the file sizes and the PDF's pages.

    .venv/bin/python benchmarks/bench_report.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.methodology import load_methodology
from pipelines.publish.report import render_report_pdf_html, write_report_html, write_report_pdf
from pipelines.reference.units import admin_units

PERIOD = "2025"


def national_tables(seed: int = 3) -> tuple[tuple, dict]:
    m = load_methodology()
    rng = np.random.default_rng(seed)
    units = admin_units()
    provinces = units[units["unit_level"] == "province"].reset_index(drop=True)
    communes = units[units["unit_level"] == "commune"].reset_index(drop=True)
    pcri = rng.uniform(30, 90, len(provinces))
    order = np.argsort(-pcri)
    rank = np.empty(len(provinces), dtype=int)
    rank[order] = np.arange(1, len(provinces) + 1)
    ranking = pd.DataFrame({
        "period": PERIOD, "province_code": provinces["unit_code"], "province_name": provinces["unit_name"],
        "pcri": pcri, "rank": rank, "tier": 1 + (rank - 1) * 4 // len(provinces), "rank_change": 0,
        "previous_rank": rank, "indicators_used": 20, "indicators_total": 20, "not_ranked_reason": None})
    scores = pd.DataFrame([{"period": PERIOD, "province_code": p, "domain_code": d.code, "score": rng.uniform(20, 95)}
                           for p in provinces["unit_code"] for d in m.domains])
    values = pd.DataFrame([{"period": PERIOD, "unit_level": "province", "province_code": p, "indicator_code": i.code,
                            "value": rng.uniform(i.goal_low, i.goal_high), "numerator": 1.0, "denominator": 1.0,
                            "suppressed": False} for p in provinces["unit_code"] for i in m.indicators])
    intervals = pd.DataFrame({"province_code": ranking["province_code"], "nominal_rank": rank,
                              "median_rank": rank, "p05_rank": np.maximum(rank - 2, 1),
                              "p95_rank": np.minimum(rank + 3, len(rank)), "label": "robust"})
    commune_ranking = communes.assign(
        period=PERIOD, commune_code=communes["unit_code"], commune_name=communes["unit_name"],
        index=rng.uniform(40, 95, len(communes)), tier=1, recognised=True, reason=None)
    commune_ranking["rank_in_province"] = commune_ranking.groupby("province_code")["index"].rank(ascending=False)
    options = {"uncertainty": intervals, "commune_ranking": commune_ranking, "previous_period": "2024",
               "release": {"release": "v1", "created_at": "2025-12-06T03:00:00Z"}}
    return (PERIOD, m, ranking, scores, values), options


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tables, options = national_tables()
    with tempfile.TemporaryDirectory() as tmp:
        html, pdf = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        html_s = [timed(lambda: write_report_html(html, *tables, **options)) for _ in range(args.repeat)]
        pdf_s = [timed(lambda: write_report_pdf(pdf, *tables, **options)) for _ in range(args.repeat)]
        from weasyprint import HTML

        pages = len(HTML(string=render_report_pdf_html(*tables, **options)).render().pages)
        print(f"report.html: median {statistics.median(html_s):.2f} s over {args.repeat} runs, "
              f"{html.stat().st_size / 1e6:.2f} MB (34 provinces, 3,321 communes)")
        print(f"report.pdf:  median {statistics.median(pdf_s):.2f} s over {args.repeat} runs, "
              f"{pdf.stat().st_size / 1e6:.2f} MB, {pages} A4 pages")


if __name__ == "__main__":
    main()
