"""Bring landing rows (from CSV or workbooks) onto 2025 unit codes.

One entry point for ingest, the same for every file shape:

- rows of the 2025 scheme (``unit_scheme`` empty or '2025') that carry a name
  but no code get the code the name matches (``names.match_unit``), within the
  province written beside it when there is one; a name that is ambiguous or
  unknown rejects the row with suggestions;
- rows of the legacy scheme are rebased onto the 2025 units
  (``crosswalk.rebase_values``): by code length or, for names, by the data
  element's level; province and district rows go to provinces, commune rows
  to communes.

Rows with a code are left for the ingest validation to check, as before.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipelines.units.crosswalk import rebase_values
from pipelines.units.names import match_unit, resolve_code

REJECT_COLUMNS = ["input_row", "row_number", "unit_code", "unit_name", "data_element", "value", "check_code", "reason"]
LEVEL_BY_LENGTH = {2: "province", 3: "district", 5: "commune"}


@dataclass
class ResolvedRows:
    rows: pd.DataFrame  # 2025 codes; rebased rows carry apportioned/source_units/complete
    rejects: pd.DataFrame
    decisions: pd.DataFrame  # rebasing decisions (legacy rows only)


def _blank(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def _scheme(v: Any) -> str:
    return "2025" if _blank(v) else str(v).strip().lower()


def to_2025_units(rows: pd.DataFrame, element_levels: Mapping[str, str], flag_elements: Iterable[str] = (),
                  rule: str = "area") -> ResolvedRows:
    """Resolve names and rebase legacy rows. ``element_levels``: data element ->
    'province' | 'commune' (from the methodology); ``flag_elements``: yes/no elements."""
    rows = rows.reset_index(drop=True).copy()
    rows["_input_row"] = range(len(rows))
    for col in ("unit_code", "unit_name", "unit_scheme", "province", "district"):
        if col not in rows.columns:
            rows[col] = ""
    schemes = rows["unit_scheme"].map(_scheme)
    rejects: list[dict] = []

    def reject(r: dict, check: str, reason: str) -> None:
        rejects.append({"input_row": r["_input_row"], "row_number": r.get("row_number"), "unit_code": r.get("unit_code"),
                        "unit_name": r.get("unit_name"), "data_element": r.get("data_element"),
                        "value": r.get("value"), "check_code": check, "reason": reason})

    bad = ~schemes.isin(["2025", "legacy"])
    for r in rows[bad].to_dict("records"):
        reject(r, "units.bad_unit_scheme",
               f"Hệ thống đơn vị '{r['unit_scheme']}' không hợp lệ (2025 hoặc legacy) / "
               f"unit scheme '{r['unit_scheme']}' is not valid (2025 or legacy)")

    # 2025 rows named but not coded
    current = rows[schemes == "2025"].copy()
    out_parts = []
    cache: dict[tuple, Any] = {}
    codes, methods, keep = [], [], []
    for r in current.to_dict("records"):
        if not _blank(r["unit_code"]) or _blank(r["unit_name"]):
            codes.append(r["unit_code"])
            methods.append("code" if not _blank(r["unit_code"]) else "")
            keep.append(True)
            continue
        level = element_levels.get(r.get("data_element"), "commune")
        key = (r["unit_name"], level, None if _blank(r["province"]) else str(r["province"]))
        if key not in cache:
            pcode = resolve_code(r["province"], "province") if level == "commune" and key[2] else None
            cache[key] = match_unit(r["unit_name"], level, province_code=pcode)
        m = cache[key]
        if m.accepted:
            codes.append(m.unit_code)
            methods.append(m.method)
            keep.append(True)
        else:
            reject(r, "units.ambiguous_name" if m.status == "ambiguous" else "units.unknown_name", m.reason)
            codes.append(None)
            methods.append("")
            keep.append(False)
    current["unit_code"] = codes
    current["unit_match"] = methods
    out_parts.append(current[keep])

    # legacy rows
    legacy = rows[schemes == "legacy"].copy()
    decisions = []
    if len(legacy):
        def level_of(r: pd.Series) -> str:
            code = "" if _blank(r["unit_code"]) else str(r["unit_code"]).strip()
            if code.isdigit() and len(code) in LEVEL_BY_LENGTH:
                lv = LEVEL_BY_LENGTH[len(code)]
                # the five island districts without communes stand for communes
                if lv == "district" and element_levels.get(r["data_element"]) == "commune":
                    from pipelines.units.crosswalk import legacy_units

                    lu = legacy_units()
                    islands = set(lu.loc[(lu["unit_level"] == "district") & ~lu["has_communes"], "unit_code"])
                    return "commune" if code in islands else "district"
                return lv
            return element_levels.get(r["data_element"], "commune")

        legacy["_level"] = legacy.apply(level_of, axis=1)
        by = [c for c in ("period", "sector", "data_element", "disaggregation") if c in legacy.columns]
        for level, group in legacy.groupby("_level"):
            rebased, dec = rebase_values(group.drop(columns=["_level"]), level, rule=rule, flag_elements=flag_elements, by=by)
            dec["input_row"] = dec["input_row"].map(dict(enumerate(group["_input_row"])))
            decisions.append(dec)
            for r in dec[dec["status"] == "rejected"].to_dict("records"):
                src = rows.loc[r["input_row"]].to_dict()
                reject(src, r["check_code"], r["reason"])
            rebased["unit_match"] = "crosswalk"
            out_parts.append(rebased)
    result = pd.concat(out_parts, ignore_index=True) if out_parts else rows.iloc[0:0]
    result = result.drop(columns=[c for c in ("_input_row",) if c in result.columns])
    return ResolvedRows(
        rows=result.reset_index(drop=True),
        rejects=pd.DataFrame(rejects, columns=REJECT_COLUMNS),
        decisions=pd.concat(decisions, ignore_index=True) if decisions else pd.DataFrame(),
    )
