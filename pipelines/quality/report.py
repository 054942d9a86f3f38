"""Quality reports of a period, for operators and agencies.

``reports/<period>/quality_report.json`` and ``quality_report.html`` say
whether the period may be published and why, check by check; the
``rejected_rows.csv`` (UTF-8 with BOM, opens in Excel) tells each agency
exactly which file, row and column to fix.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from collections.abc import Collection
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.files import safe_frame
from pipelines.checks.core import CheckResult, plain_words
from pipelines.quality.report_view import (  # noqa: F401 - the labels are the report's
    EXAMPLE_COLUMNS_VI,
    WAIVER_COLUMNS_VI,
    WAIVER_STATUS_VI,
    quality_report_context,
)
from pipelines.quality.waivers import Waiver
from pipelines.templating import render

TEMPLATES = Path(__file__).with_name("templates")

REJECTED_COLUMNS_VI = {
    "sector": "Ngành (sector)",
    "source_file": "Tệp (file)",
    "row_number": "Dòng (row)",
    "column_name": "Cột (column)",
    "value": "Giá trị (value)",
    "check_code": "Mã kiểm tra (check)",
    "reason": "Lý do (reason)",
    "raw_record": "Dòng gốc (raw record)",
}

RATE_COLUMNS_VI = {
    "province_code": "Mã tỉnh",
    "province_name": "Tỉnh/thành phố",
    "sector": "Ngành",
    "expected": "Số báo cáo cần nộp (expected)",
    "received": "Đã nhận (received)",
    "complete": "Đầy đủ chỉ tiêu (complete)",
    "on_time": "Đúng hạn (on time)",
    "reporting_rate": "Tỷ lệ báo cáo % (reporting rate)",
    "on_time_rate": "Tỷ lệ đúng hạn % (on time)",
}

def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600: operators and the web server read these reports
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv_bom(path: Path, df: pd.DataFrame) -> None:
    """A CSV for Excel: UTF-8 with BOM, text protected against formula injection."""
    _atomic_write(path, safe_frame(df).to_csv(index=False).encode("utf-8-sig"))


def summarise(results: list[CheckResult]) -> dict:
    """Overall verdict and counts; the blocking failures, warnings and waived failures in plain words."""
    blocking = [r for r in results if r.blocks]
    warnings = [r for r in results if not r.passed and not r.blocks and not r.waived]
    waived = [r for r in results if not r.passed and r.waived]
    return {
        "passed": not blocking,
        "checks": len(results),
        "failed_blocking": len(blocking),
        "failed_warning": len(warnings),
        "waived": len(waived),
        "blocking_failures": [plain_words(r) for r in sorted(blocking, key=lambda r: r.code)],
        "warning_failures": [plain_words(r) for r in sorted(warnings, key=lambda r: r.code)],
        "waived_failures": [plain_words(r) for r in sorted(waived, key=lambda r: r.code)],
    }


def write_reports(
    folder: Path,
    period: str,
    run_id: str,
    results: list[CheckResult],
    rates: pd.DataFrame,
    rejected: pd.DataFrame,
    waivers: list[Waiver],
    sector_names: dict[str, str],
    min_share: float | None = None,
    methodology: Any = None,
    sensitive: Collection[str] = (),
) -> dict:
    """Write the JSON and HTML reports and the rejected rows; return the summary.

    ``min_share``: the methodology's minimum share of communes reporting; the
    HTML colours the reporting rates below it. ``methodology`` (optional) names
    the agency of each sector and the sector of each data element, for the
    summary of who must fix what. ``sensitive``: codes of the sensitive indicators and data elements; their commune examples show the
    suppressed form (:func:`suppressed_examples`). ``rejected_rows.csv`` goes
    back to the agency that sent the rows and keeps their values.
    """
    results = [suppressed_examples(r, sensitive) for r in results]
    summary = summarise(results)
    doc = {
        "period": period,
        "run_id": run_id,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **summary,
        "results": [r.to_dict() for r in sorted(results, key=_order)],
        "reporting_rates": json.loads(rates.to_json(orient="records", force_ascii=False)),
        "waivers": [w.to_dict() for w in waivers],
        "rejected_rows": len(rejected),
    }
    _atomic_write(folder / "quality_report.json",
                  json.dumps(doc, ensure_ascii=False, indent=2, default=str).encode("utf-8"))
    context = quality_report_context(doc, rates, sector_names, min_share, methodology, rejected)
    html = render(TEMPLATES, "quality_report.html.j2", **context)
    _atomic_write(folder / "quality_report.html", html.encode("utf-8"))
    write_csv_bom(folder / "rejected_rows.csv",
                  one_per_input_cell(rejected).reindex(columns=list(REJECTED_COLUMNS_VI)).rename(columns=REJECTED_COLUMNS_VI))
    return summary


def one_per_input_cell(rejected: pd.DataFrame) -> pd.DataFrame:
    """The rejects as the agency typed them: a bad cell of a workbook row is one line, not one per value it carried.

    (The warehouse keeps one reject per value: nothing is lost; the clerk reads one line per thing to fix.)
    """
    keys = [c for c in ("sector", "source_file", "row_number", "column_name", "value", "check_code", "reason")
            if c in rejected.columns]
    return rejected.drop_duplicates(subset=keys, keep="first") if keys and len(rejected) else rejected


# what an example of a sensitive commune figure keeps: who and what, never how many
_EXAMPLE_KEYS_KEPT = {"period", "province_code", "province_name", "unit_code", "unit_name", "unit_level",
                      "indicator_code", "data_element", "element", "sector", "source_file", "denominator"}
COMMUNE_CODE = re.compile(r"^\d{5}$")


def suppressed_examples(r: CheckResult, sensitive: Collection[str]) -> CheckResult:
    """``r`` with the figures of its commune examples of sensitive indicators or elements withheld.

    The release hides small commune counts of sensitive data elements; the quality report, which leaves
    the warehouse too, shows none of those figures either (it cannot know yet which cells the release hides,
    so it withholds them all: the warehouse keeps them for the operator).
    """
    if not sensitive or not r.examples:
        return r
    sensitive = set(sensitive)
    out = []
    for ex in r.examples:
        about = {ex.get("indicator_code"), ex.get("data_element"), ex.get("element")} & sensitive
        commune = ex.get("unit_level") == "commune" or COMMUNE_CODE.match(str(ex.get("unit_code") or ""))
        if about and commune:
            ex = {k: (v if k in _EXAMPLE_KEYS_KEPT else None) for k, v in ex.items()}
            ex["suppressed"] = True
        out.append(ex)
    return dataclasses.replace(r, examples=out)


def _order(r: CheckResult) -> tuple:
    return (not r.blocks, r.passed, r.code)


