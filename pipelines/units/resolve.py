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

The ingest (``pipelines.ingest.parse``) uses the same building blocks one step
at a time, so that its duplicate rule and its per-row provenance apply between
them: ``match_names`` (2025 rows named, not coded), ``identify_legacy`` (the
legacy unit of each legacy row), then ``crosswalk.rebase_values`` on the legacy
rows that passed every check.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd

from pipelines.units.crosswalk import rebase_values, successor_codes
from pipelines.units.names import match_unit, resolve_code

REJECT_COLUMNS = ["input_row", "row_number", "unit_code", "unit_name", "data_element", "value", "check_code", "reason"]
LEVEL_BY_LENGTH = {2: "province", 3: "district", 5: "commune"}
#: Columns of ``match_names`` and ``identify_legacy`` (one row per input row, same index).
MATCH_COLUMNS = ["unit_code", "unit_name", "method", "level", "check_code", "reason"]


@dataclass
class ResolvedRows:
    rows: pd.DataFrame  # 2025 codes; rebased rows carry apportioned/source_units/complete
    rejects: pd.DataFrame
    decisions: pd.DataFrame  # rebasing decisions (legacy rows only)


def _blank(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def _scheme(v: Any) -> str:
    return "2025" if _blank(v) else str(v).strip().lower()


def _text(v: Any) -> str:
    return "" if _blank(v) else str(v).strip()


@lru_cache(maxsize=1)
def island_districts() -> frozenset[str]:
    """The five legacy island districts that had no communes (they stand for a commune)."""
    from pipelines.units.legacy import legacy_units

    lu = legacy_units()
    return frozenset(lu.loc[(lu["unit_level"] == "district") & ~lu["has_communes"], "unit_code"])


def legacy_level(code: Any, element_level: str | None) -> str:
    """The legacy level a row is keyed at: by the width of its code (2 province, 3 district,
    5 commune; an island district without communes counts as a commune for commune-level
    elements), else, for names, the data element's level."""
    text = _text(code)
    if text.isdigit() and len(text) in LEVEL_BY_LENGTH:
        level = LEVEL_BY_LENGTH[len(text)]
        if level == "district" and element_level == "commune" and text in island_districts():
            return "commune"
        return level
    return element_level or "commune"


@lru_cache(maxsize=1)
def _legacy_codes() -> dict[str, frozenset[str]]:
    from pipelines.units.legacy import legacy_units

    lu = legacy_units()
    return {lv: frozenset(lu.loc[lu["unit_level"] == lv, "unit_code"]) for lv in ("province", "district", "commune")}


CODE_WIDTH = {"province": 2, "district": 3, "commune": 5}


def legacy_code_reading(text: str, element_level: str) -> tuple[str, str, str | None, str | None]:
    """How a legacy code of digits is read: (level, code, problem, other reading).

    The rule of the 2025 codes (``pipelines.ingest.parse``), for spreadsheets that drop leading zeros: a code
    at the full width of the element's level (5 digits for commune elements, 2 for province elements) is
    used as written; a wider one is read at its own width (a district or commune of a province element, summed
    into the province); a shorter one that does not start with 0 is taken to have lost its zeros and is padded
    -- unless the code as written is also a legacy province or district, which makes it ambiguous ('13' is
    commune 00013 Phường Quán Thánh; '27' could be commune 00027 or province 27 Bắc Ninh). A shorter code
    starting with 0 is read at its own width (``legacy_level``). ``problem``: None or 'ambiguous'.
    """
    sets = _legacy_codes()
    width = CODE_WIDTH.get(element_level, 5)
    n = len(text)
    if n >= width or text.startswith("0"):
        return legacy_level(text, element_level), text, None, None
    padded = text.zfill(width)
    own = legacy_level(text, element_level) if n in LEVEL_BY_LENGTH else None
    as_written = (own if own in ("province", "district") and text in sets[own]
                  and not (own == "district" and text in island_districts()) else None)
    if element_level == "commune" and n == 3 and text in island_districts():
        return "commune", text, None, None  # an island district without communes: a commune-level unit
    if padded in sets[element_level]:
        if as_written:
            return element_level, padded, "ambiguous", f"{as_written} {text}"
        return element_level, padded, None, None
    if as_written:
        return as_written, text, None, None
    return element_level, padded, None, None


def _distinct(rows: pd.DataFrame, element_levels: Mapping[str, str], context: tuple[str, ...]) -> tuple[pd.DataFrame, pd.Series]:
    """The text columns a match depends on, and for each row the number of its distinct combination."""
    def col(*names: str) -> pd.Series:
        """The first of ``names`` that is not blank, per row."""
        out = pd.Series("", index=rows.index, dtype=object)
        for n in reversed(names):
            if n in rows.columns:
                v = rows[n].map(_text)
                out = v.where(v != "", out)
        return out

    df = pd.DataFrame({
        "code": col("unit_code"), "name": col("unit_name"),
        "element": rows["data_element"].astype(object) if "data_element" in rows.columns else None,
    }, index=rows.index)
    df["element_level"] = df["element"].map(lambda e: element_levels.get(e, "commune"))
    df["province"] = col("province_code", "province") if "province" in context else ""
    df["district"] = col("district_code", "district") if "district" in context else ""
    keys = ["code", "name", "element_level", "province", "district"]
    group = df.groupby(keys, sort=False, dropna=False).ngroup()
    return df, group


def match_names(rows: pd.DataFrame, element_levels: Mapping[str, str]) -> pd.DataFrame:
    """Rows of the 2025 scheme named but not coded: the code each name matches, or why not.

    ``rows``: ``unit_name``, ``data_element`` and optionally ``province`` /
    ``province_code`` (a commune is looked for within it). Returns
    ``MATCH_COLUMNS`` on the same index: ``method`` 'name' (with or without
    diacritics, or a known alias), or ``check_code`` units.ambiguous_name /
    units.unknown_name with the closest suggestions in ``reason``. Never guesses.
    Each distinct (name, level, province) is matched once.
    """
    df, group = _distinct(rows, element_levels, ("province",))
    first = df.groupby(group.to_numpy(), sort=True).head(1)
    results = {}
    for g, r in zip(group[first.index], first.to_dict("records"), strict=True):
        level = r["element_level"]
        prov = r["province"] if level == "commune" else ""
        pcode = resolve_code(prov, "province") if prov else None
        m = match_unit(r["name"], level, province_code=pcode, successors=successor_codes)
        if m.accepted:
            results[g] = (m.unit_code, m.unit_name, "name", level, None, None)
        else:
            check = "units.ambiguous_name" if m.status == "ambiguous" else "units.unknown_name"
            results[g] = (None, None, "", level, check, m.reason)
    return pd.DataFrame([results[g] for g in group], columns=MATCH_COLUMNS, index=rows.index)


def identify_legacy(rows: pd.DataFrame, element_levels: Mapping[str, str]) -> pd.DataFrame:
    """Rows of the legacy scheme: the unit before 1 July 2025 each one names, or why not.

    ``rows``: ``unit_code`` and/or ``unit_name``, ``data_element``, and
    optionally ``province``/``province_code`` and ``district``/``district_code``
    (legacy names or codes narrowing the search), as ``crosswalk.rebase_values``
    reads them. Returns ``MATCH_COLUMNS`` on the same index: the legacy
    ``unit_code`` and ``unit_name``, ``level`` (legacy level, see
    ``legacy_level``), ``method`` (code | name | name_without_diacritics |
    alias), or ``check_code`` and ``reason``: units.missing_unit,
    units.unknown_legacy_unit, units.ambiguous_unit, and units.wrong_level for
    a province or district row of a commune-level element (a larger unit's
    value is never split down onto communes). Each distinct unit is identified once.
    """
    df, group = _distinct(rows, element_levels, ("province", "district"))
    first = df.groupby(group.to_numpy(), sort=True).head(1)
    results: dict[int, tuple] = {}
    for g, r in zip(group[first.index], first.to_dict("records"), strict=True):
        element_level, code, name = r["element_level"], r["code"], r["name"]
        level = legacy_level(code, element_level)
        if code.isdigit():
            level, code, problem, other = legacy_code_reading(code, element_level)
            if problem == "ambiguous":
                lv_vi = {"province": "tỉnh", "commune": "xã"}.get(element_level, element_level)
                o_level, o_code = other.split(" ")
                o_vi = {"province": "tỉnh", "district": "huyện"}[o_level]
                results[g] = (None, None, "", level, "units.ambiguous_unit",
                              f"Mã '{r['code']}' không rõ: có thể là {lv_vi} cũ {code} (mất số 0 ở đầu) hoặc {o_vi} cũ "
                              f"{o_code}; cần viết đủ {CODE_WIDTH[element_level]} chữ số (định dạng cột là Text) / "
                              f"code '{r['code']}' is ambiguous: it could be legacy {element_level} {code} with its "
                              f"leading zeros lost, or legacy {o_level} {o_code}; expected all "
                              f"{CODE_WIDTH[element_level]} digits (format the column as Text)")
                continue
        if not code and not name:
            results[g] = (None, None, "", level, "units.missing_unit",
                          "Dòng không có mã hoặc tên đơn vị / the row has no unit code or name")
            continue
        prov, dist = r["province"], r["district"]
        pcode = resolve_code(prov, "province", "legacy") if prov else None
        dcode = resolve_code(dist, "district", "legacy", province_code=pcode) if dist else None
        m = match_unit(code or name, level, province_code=pcode, scheme="legacy",
                       district_code=dcode if level == "commune" else None)
        if not m.accepted:
            check = "units.ambiguous_unit" if m.status == "ambiguous" else "units.unknown_legacy_unit"
            results[g] = (None, None, m.method, level, check, m.reason)
        elif element_level == "commune" and level != "commune":
            results[g] = (m.unit_code, m.unit_name, m.method, level, "units.wrong_level", None)
        else:
            results[g] = (m.unit_code, m.unit_name, m.method, level, None, None)
    out = pd.DataFrame([results[g] for g in group], columns=MATCH_COLUMNS, index=rows.index)
    wrong = out["check_code"] == "units.wrong_level"
    if wrong.any():
        out.loc[wrong, "reason"] = [_wrong_level_reason(c, n, lv, e) for c, n, lv, e in zip(
            out.loc[wrong, "unit_code"], out.loc[wrong, "unit_name"], out.loc[wrong, "level"],
            df.loc[wrong, "element"], strict=True)]
    return out


def _wrong_level_reason(code: str, name: str, level: str, element: Any) -> str:
    lv_vi = {"province": "tỉnh", "district": "huyện"}.get(level, level)
    return (f"{name} ({code}) là đơn vị cấp {lv_vi} cũ, nhưng chỉ tiêu {element} báo cáo theo xã; số liệu cấp "
            f"{lv_vi} không được chia xuống các xã; cần mã hoặc tên xã cũ (5 chữ số) / {name} ({code}) is a legacy "
            f"{level}, but {element} is reported per commune; a {level}'s value is never split onto communes; "
            f"expected a legacy commune code (5 digits) or name")


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
            cache[key] = match_unit(r["unit_name"], level, province_code=pcode, successors=successor_codes)
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
        legacy["_level"] = [legacy_level(c, element_levels.get(e, "commune"))
                             for c, e in zip(legacy["unit_code"], legacy["data_element"], strict=True)]
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
