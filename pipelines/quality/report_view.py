"""What the quality report shows, as plain values for its template (``templates/quality_report.html.j2``).

The verdict, who must fix what (each failing check under the agency of the
sector its rows come from, or the operator when no sector is concerned), each
check with a few examples, the reporting rates by province and sector, and the
waivers. Numbers stay numbers: the template formats them (Babel, ``vi``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

# Column labels of the example tables (what a check found), Vietnamese first.
EXAMPLE_COLUMNS_VI = {
    "province_code": "Mã tỉnh",
    "province_name": "Tỉnh/thành phố",
    "unit_code": "Mã đơn vị",
    "unit_name": "Xã/phường (đơn vị)",
    "unit_level": "Cấp",
    "sector": "Ngành",
    "source_file": "Tệp (file)",
    "row_number": "Dòng (row)",
    "column_name": "Cột (column)",
    "value": "Giá trị (value)",
    "reason": "Lý do (reason)",
    "indicator_code": "Chỉ số",
    "data_element": "Chỉ tiêu",
    "numerator": "Tử số",
    "denominator": "Mẫu số",
    "total": "Tổng",
    "parts_sum": "Tổng các phần",
    "plausible_min": "Tối thiểu hợp lý",
    "plausible_max": "Tối đa hợp lý",
    "previous_value": "Kỳ trước",
    "change_share": "Thay đổi (tỷ lệ)",
    "modified_z": "Điểm z hiệu chỉnh",
    "received": "Số xã đã báo cáo",
    "expected": "Số xã cần báo cáo",
    "share": "Tỷ lệ",
    "pcri": "PCRI",
    "rank": "Thứ hạng",
    "expected_rank": "Thứ hạng đúng",
    "tier": "Nhóm",
    "not_ranked_reason": "Lý do không xếp hạng",
    "problem": "Vấn đề",
}

WAIVER_COLUMNS_VI = {
    "check": "Kiểm tra (check)",
    "period": "Kỳ",
    "unit": "Đơn vị",
    "reason": "Lý do",
    "approved_by": "Người phê duyệt",
    "date": "Ngày phê duyệt",
    "expires": "Hết hạn",
    "status": "Trạng thái",
    "note": "Ghi chú",
}
WAIVER_STATUS_VI = {
    "applied": "Đã áp dụng (applied)",
    "unused": "Không khớp lỗi nào (unused)",
    "expired": "Hết hạn, không áp dụng (expired)",
    "invalid": "Không hợp lệ, không áp dụng (invalid)",
}



def _sector_maps(methodology: Any, sector_names: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(sector -> agency, data element -> sector) from the methodology; names only when it is not given."""
    agencies = {code: name for code, name in sector_names.items()}
    elements: dict[str, str] = {}
    if methodology is not None:
        agencies |= {s.code: s.agency_vi or s.name_vi for s in methodology.sectors}
        elements = {e.code: e.sector for e in methodology.data_elements}
    return agencies, elements


def _sectors_of(r: Mapping[str, Any], elements: Mapping[str, str]) -> list[str]:
    found: list[str] = []
    for ex in r.get("examples") or []:
        sector = ex.get("sector") or elements.get(str(ex.get("data_element") or ""))
        if sector and sector not in found:
            found.append(str(sector))
    return found


def _files_of(r: Mapping[str, Any], sector: str | None) -> list[str]:
    files = {str(ex["source_file"]) for ex in r.get("examples") or []
             if ex.get("source_file") and (sector is None or ex.get("sector") in (None, sector))}
    return sorted(files)[:3]


def owners(doc: Mapping[str, Any], sector_names: Mapping[str, str], methodology: Any = None) -> list[dict[str, Any]]:
    """Who must fix what: one entry per agency (or the operator) with its failing checks, blocking first."""
    agencies, elements = _sector_maps(methodology, sector_names)
    by_owner: dict[str | None, dict[str, Any]] = {}
    for r in doc["results"]:
        if r["passed"] or r.get("waived"):
            continue
        for sector in _sectors_of(r, elements) or [None]:
            entry = by_owner.setdefault(sector, {
                "sector": sector_names.get(sector, sector) if sector else None,
                "agency": agencies.get(sector, sector) if sector else None, "blocking": 0, "items": []})
            entry["blocking"] += bool(r.get("blocks"))
            entry["items"].append({"code": r["code"], "title": r.get("title_vi") or r["code"],
                                   "message": r["message"], "failures": r["failures"],
                                   "blocking": bool(r.get("blocks")), "files": _files_of(r, sector)})
    return sorted(by_owner.values(), key=lambda o: (-o["blocking"], o["sector"] is None, o["agency"] or ""))


def status(r: Mapping[str, Any]) -> str:
    """pass, waived, fail (blocks publication) or warn: the template's class and label."""
    if r["passed"]:
        return "pass"
    if r.get("waived"):
        return "waived"
    return "fail" if r.get("blocks") else "warn"


def _value(v: Any) -> Any:
    """A cell: lists and mappings as text, missing as empty; numbers stay numbers for the template."""
    if isinstance(v, (list, tuple, dict)):
        return ", ".join(f"{k}: {x}" for k, x in v.items()) if isinstance(v, dict) else ", ".join(map(str, v))
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    return v


DATE_COLUMNS = ("date", "expires")  # written as dates (dd/mm/yyyy) by the template


def table_view(df: pd.DataFrame, labels: Mapping[str, str]) -> dict[str, Any]:
    cols = list(df.columns)
    return {"headers": [labels.get(c, c) for c in cols], "dates": [n for n, c in enumerate(cols) if c in DATE_COLUMNS],
            "rows": [[_value(v) for v in row] for row in df.itertuples(index=False)]}


def examples_view(r: Mapping[str, Any], sector_names: Mapping[str, str], limit: int = 5) -> dict[str, Any] | None:
    examples = pd.DataFrame(r.get("examples", [])[:limit])
    if examples.empty:
        return None
    if "sector" in examples:
        examples["sector"] = examples["sector"].map(lambda x: sector_names.get(x, x))
    view = table_view(examples.dropna(axis=1, how="all"), EXAMPLE_COLUMNS_VI)
    view["more"] = max(int(r["failures"]) - len(examples), 0)
    view["rejects"] = r["code"].startswith("ingest.")
    return view


def rates_view(rates: pd.DataFrame, sector_names: Mapping[str, str], min_share: float | None) -> dict[str, Any]:
    """Provinces down, sectors across: received / expected, the rate and on time; a class for the colour."""
    if rates.empty:
        return {"sectors": [], "rows": []}
    sectors = list(dict.fromkeys(rates["sector"]))
    rows = []
    for (code, name), group in rates.groupby(["province_code", "province_name"], sort=True):
        by_sector = {row.sector: row for row in group.itertuples(index=False)}
        cells = []
        for sector in sectors:
            row = by_sector.get(sector)
            if row is None or not row.expected:
                cells.append(None)
                continue
            share = row.received / row.expected
            css = "rate-none" if row.received == 0 else (
                "rate-low" if min_share is not None and share < min_share else "rate-ok")
            cells.append({"received": int(row.received), "expected": int(row.expected), "share": share,
                          "on_time": int(row.on_time), "on_time_share": row.on_time / row.expected, "css": css,
                          "sector": sector_names.get(sector, sector)})
        rows.append({"code": code, "name": name, "cells": cells})
    return {"sectors": [sector_names.get(x, x) for x in sectors], "rows": rows}


def quality_report_context(doc: Mapping[str, Any], rates: pd.DataFrame, sector_names: Mapping[str, str],
                           min_share: float | None, methodology: Any = None,
                           rejected: pd.DataFrame | None = None) -> dict[str, Any]:
    checks = []
    for r in doc["results"]:
        checks.append({**r, "css": status(r),
                       "detail": examples_view(r, sector_names) if not r["passed"] else None})
    waivers = pd.DataFrame(doc["waivers"])
    if not waivers.empty:
        waivers["status"] = waivers["status"].map(lambda x: WAIVER_STATUS_VI.get(x, x))
        waivers = waivers.reindex(columns=[c for c in WAIVER_COLUMNS_VI if c in waivers.columns])
    rejects_by_sector = ([{"sector": sector_names.get(s, s), "rows": int(n)}
                          for s, n in rejected["sector"].value_counts().sort_index().items()]
                         if rejected is not None and len(rejected) else [])
    return {"doc": doc, "checks": checks, "owners": owners(doc, sector_names, methodology),
            "rates": rates_view(rates, sector_names, min_share),
            "min_share": min_share, "waivers": table_view(waivers, WAIVER_COLUMNS_VI) if not waivers.empty else None,
            "rejects_by_sector": rejects_by_sector}
