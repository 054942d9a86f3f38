"""The checks of each row of a landing file (vectorised): required cells, period, unit scheme, data element,
value and unit. Returns the rejects and the rows that passed every check."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipelines.ingest.context import _Context
from pipelines.ingest.contract import LEGACY, REQUIRED_COLUMNS, SCHEME
from pipelines.ingest.messages import KIND_VI, LEVEL_VI, reason, texts
from pipelines.ingest.numbers import parse_numbers
from pipelines.ingest.sheet import yes_no_as_number



def _q(s: pd.Series) -> pd.Series:
    return "'" + s.astype("str") + "'"


def _map(s: pd.Series, mapping: dict[str, Any]) -> pd.Series:
    """``s.map(mapping)`` computed on the distinct values (None where unmapped)."""
    codes, uniques = pd.factorize(s)
    looked_up = np.array([mapping.get(u) for u in uniques] + [None], dtype=object)
    return pd.Series(looked_up[codes], index=s.index, dtype=object)


def _isin(s: pd.Series, values: frozenset[str]) -> pd.Series:
    """``s.isin(values)`` computed on the distinct values (NA is never in)."""
    codes, uniques = pd.factorize(s)
    found = np.array([u in values for u in uniques] + [False], dtype=bool)
    return pd.Series(found[codes], index=s.index)


class _Checks:
    """The rows being checked (``w``: the frame with the data element's sector, kind and level), the rejects
    found so far and which rows failed a check."""

    def __init__(self, frame: pd.DataFrame, ctx: _Context) -> None:
        self.ctx = ctx
        self.out: list[pd.DataFrame] = []
        self.bad = np.zeros(len(frame), dtype=bool)
        w = frame.copy()
        w["de"] = w["data_element"].str.upper()
        w["el_sector"] = _map(w["de"], ctx.element_sector)
        w["el_kind"] = _map(w["de"], ctx.element_kind)
        w["el_level"] = _map(w["de"], ctx.element_level)
        self.w = w
        self.has_code = (w["unit_code"] != "").to_numpy()
        self.has_name = (w["unit_name"] != "").to_numpy()

    def add(self, mask: Any, column: str | None, code: str, reason: Any) -> None:
        """One reject per row of ``mask``; ``reason`` a text or a function of the rows -> their reasons."""
        m = np.asarray(pd.Series(mask).fillna(False), dtype=bool) if not isinstance(mask, np.ndarray) else mask
        if not m.any():
            return
        sub = self.w.loc[m]
        text = reason(sub) if callable(reason) else reason
        self.out.append(pd.DataFrame({
            "_rec": sub["_rec"].to_numpy(),
            "column_name": column,
            "value": sub[column].to_numpy(dtype=object) if column else None,
            "check_code": code,
            "reason": text.to_numpy(dtype=object) if isinstance(text, pd.Series) else text,
        }))
        self.bad |= m

    def add_units(self, idx: pd.Index, codes: pd.Series, reasons: pd.Series) -> None:
        """One reject per row, on the column the unit was read from (the code, else the name)."""
        w = self.w
        pos = w.index.get_indexer(idx)
        by_code = self.has_code[pos]
        self.out.append(pd.DataFrame({
            "_rec": w["_rec"].to_numpy()[pos],
            "column_name": np.where(by_code, "unit_code", "unit_name"),
            "value": np.where(by_code, w["unit_code"].to_numpy(dtype=object)[pos],
                              w["unit_name"].to_numpy(dtype=object)[pos]),
            "check_code": codes.to_numpy(dtype=object),
            "reason": reasons.to_numpy(dtype=object),
        }))
        self.bad[pos] = True


def _check_rows(frame: pd.DataFrame, ctx: _Context) -> tuple[list[pd.DataFrame], pd.DataFrame]:
    """Every row check; returns the rejects and the rows that passed them all.

    The masks are vectorised; reasons are only built for the rows they concern.
    """
    c = _Checks(frame, ctx)
    _check_required(c)
    legacy, current = _check_period_and_scheme(c)
    known, builtin = _check_data_element(c)
    values = _check_values(c)
    # units: only checkable when the level of the data element is known
    checkable = (known & ~builtin).to_numpy()
    w = c.w
    w["method"] = np.where(legacy, LEGACY, "code")
    w["legacy_level"] = None
    w["src_key"] = None
    w["name_code"] = None
    _match_names(c, current & checkable & ~c.has_code & c.has_name)
    _identify_legacy(c, legacy & checkable & (c.has_code | c.has_name))
    _check_unit_codes(c, checkable & current & c.has_code)
    return c.out, _candidates(c, values)


def _check_required(c: _Checks) -> None:
    """Required cells: an empty one is missing (a name stands for a missing code)."""
    w, ctx = c.w, c.ctx
    for col in REQUIRED_COLUMNS:
        expected = texts(f"fragment.expected.{col}", period=ctx.period, sector=ctx.sector)
        empty = w[col] == ""
        if col == "unit_code":  # a name stands for a missing code
            empty &= w["unit_name"] == ""
        c.add(empty, col, "ingest.missing_value", reason("ingest.missing_value", column=col, expected=expected))


def _check_period_and_scheme(c: _Checks) -> tuple[np.ndarray, np.ndarray]:
    """The period of the folder; the unit scheme: empty or '2025' (units since 1 July 2025), 'legacy' (units
    before, mapped through the crosswalk). Returns which rows are legacy and which 2025."""
    w, ctx = c.w, c.ctx
    c.add((w["period"] != "") & (w["period"].str.upper() != ctx.period), "period", "ingest.period_mismatch",
          lambda d: reason("ingest.period_mismatch", value=_q(d["period"]), period=ctx.period, sector=ctx.sector))
    scheme = w["unit_scheme"].str.strip().str.lower()
    legacy = (scheme == LEGACY).to_numpy()
    current = ((scheme == "") | (scheme == SCHEME)).to_numpy()
    c.add(~legacy & ~current, "unit_scheme", "ingest.unsupported_scheme",
          lambda d: reason("ingest.unsupported_scheme", value=_q(d["unit_scheme"])))
    return legacy, current


def _check_data_element(c: _Checks) -> tuple[pd.Series, pd.Series]:
    """The data element: known, reported (not built in), of this sector. Returns which rows are known and
    which built in."""
    w, ctx = c.w, c.ctx
    known = w["el_sector"].notna()
    builtin = w["el_kind"] == "unit_count"
    own = ", ".join(ctx.sector_elements)
    c.add((w["data_element"] != "") & ~known, "data_element", "ingest.unknown_data_element",
          lambda d: reason("ingest.unknown_data_element", value=_q(d["data_element"]),
                           version=ctx.methodology_version, sector=ctx.sector, codes=own))
    c.add(builtin, "data_element", "ingest.not_reportable",
          lambda d: reason("ingest.not_reportable", element=_q(d["de"]), sector=ctx.sector, codes=own))

    def wrong_sector(d: pd.DataFrame) -> pd.Series:
        sec = d["el_sector"].astype("str")
        return reason("ingest.wrong_sector", element=_q(d["de"]),
                      element_sector=(sec.map(ctx.sector_vi), sec.map(ctx.sector_en)),
                      sector_name=(ctx.sector_vi(ctx.sector), ctx.sector_en(ctx.sector)), period=ctx.period,
                      element_sector_code=sec, sector=ctx.sector)

    c.add(known & ~builtin & (w["el_sector"] != ctx.sector), "data_element", "ingest.wrong_sector", wrong_sector)
    return known, builtin


def _check_values(c: _Checks) -> pd.Series:
    """The value: one reading as a number, not negative, whole for counts and yes/no, 0 or 1 for yes/no.
    Returns the values read (NaN where none)."""
    w = c.w
    # yes/no elements: "có", "x", "không" as in workbooks (the same words, the same answer)
    values, problem = parse_numbers(yes_no_as_number(w["value"], w["el_kind"] == "yes_no"))
    w["num"] = values
    c.add((problem == "ambiguous").to_numpy(), "value", "ingest.unparseable_value", _ambiguous_reason)
    c.add((problem == "invalid").to_numpy(), "value", "ingest.unparseable_value", _invalid_reason)
    c.add((problem == "out_of_range").to_numpy(), "value", "ingest.unparseable_value", _out_of_range_reason)
    parsed = values.notna()
    negative = parsed & (values < 0)
    c.add(negative, "value", "ingest.negative_value",
          lambda d: reason("ingest.negative_value", value=_q(d["value"]), element=_q(d["de"])))
    whole_kinds = w["el_kind"].isin(["count", "yes_no"])
    fractional = parsed & ~negative & whole_kinds & (values != np.floor(values.fillna(0)))
    c.add(fractional, "value", "ingest.not_whole_number",
          lambda d: reason("ingest.not_whole_number", value=_q(d["value"]), element=_q(d["de"]),
                           kind=(d["el_kind"].map(KIND_VI).astype("str"), d["el_kind"].astype("str"))))
    c.add(parsed & ~negative & ~fractional & (w["el_kind"] == "yes_no") & ~values.isin([0.0, 1.0]), "value",
          "ingest.invalid_yes_no", lambda d: reason("ingest.invalid_yes_no", value=_q(d["value"]), element=_q(d["de"])))
    return values


def _ambiguous_reason(d: pd.DataFrame) -> pd.Series:
    v = d["value"].astype("str")
    return reason("ingest.unparseable_value.ambiguous", value=_q(v), as_int=v.str.replace(r"[.,]", "", regex=True),
                  as_dec=v.str.replace(",", ".", regex=False))


def _invalid_reason(d: pd.DataFrame) -> pd.Series:
    yn = d["el_kind"] == "yes_no"
    hint_vi, hint_en = texts("fragment.hint.yes_no")
    hint = (pd.Series("", index=d.index, dtype="str").where(~yn, hint_vi),
            pd.Series("", index=d.index, dtype="str").where(~yn, hint_en))
    return reason("ingest.unparseable_value.invalid", value=_q(d["value"]), hint=hint)


def _out_of_range_reason(d: pd.DataFrame) -> pd.Series:
    shown = d["value"].str.slice(0, 40) + np.where(d["value"].str.len() > 40, "…", "")
    return reason("ingest.unparseable_value.out_of_range", value=_q(shown),
                  length=d["value"].str.len().astype("str"))


def _match_names(c: _Checks, named: np.ndarray) -> None:
    """2025 rows with a name and no code: the name is matched to a code, never guessed."""
    if not named.any():
        return
    from pipelines.units.resolve import match_names

    w = c.w
    matched = match_names(w.loc[named, ["unit_name", "province"]].assign(data_element=w.loc[named, "de"]),
                          c.ctx.element_level)
    ok_m = matched["check_code"].isna()
    w.loc[matched.index[ok_m], "name_code"] = matched.loc[ok_m, "unit_code"]
    w.loc[matched.index[ok_m], "method"] = "name"
    if (~ok_m).any():
        c.add_units(matched.index[~ok_m], matched.loc[~ok_m, "check_code"], matched.loc[~ok_m, "reason"])


def _identify_legacy(c: _Checks, old: np.ndarray) -> None:
    """Legacy rows: the unit before 1 July 2025 they name (mapped onto the 2025 units once all rows are read)."""
    if not old.any():
        return
    from pipelines.units.resolve import identify_legacy

    w = c.w
    ident = identify_legacy(w.loc[old, ["unit_code", "unit_name", "province", "district"]]
                            .assign(data_element=w.loc[old, "de"]), c.ctx.element_level)
    ident = _province_only(ident, w)  # an unknown old commune of a named province: to that province only
    ok_i = ident["check_code"].isna()
    if (~ok_i).any():
        c.add_units(ident.index[~ok_i], ident.loc[~ok_i, "check_code"], ident.loc[~ok_i, "reason"])
    good = ident[ok_i]
    w.loc[good.index, "name_code"] = good["unit_code"]
    w.loc[good.index, "legacy_level"] = good["level"]
    # rows naming distinct former units merged into one legacy unit before the reform (aliases) are distinct
    alias = good["method"].isin(["alias", "province_only"])
    written = good["unit_name"].where(good["method"] == "province_only", w.loc[good.index, "unit_name"])
    key = good["unit_code"].astype(object).where(~alias, good["unit_code"] + "|" + written)
    w.loc[good.index, "src_key"] = key


def _province_only(ident: pd.DataFrame, w: pd.DataFrame) -> pd.DataFrame:
    """Unknown old communes whose row names its old province: identified as that province
    (``pipelines/units/unmapped.py``), keyed apart by the commune as written."""
    from pipelines.units.unmapped import province_fallback, written_unit

    fallback = province_fallback(ident, w.loc[ident.index])
    hit = fallback.notna()
    if not hit.any():
        return ident
    ident = ident.copy()
    written = [written_unit(c, n) for c, n in zip(w.loc[hit[hit].index, "unit_code"], w.loc[hit[hit].index, "unit_name"])]
    ident.loc[hit, ["unit_code", "level", "check_code", "reason"]] = [[p, "province", None, None] for p in fallback[hit]]
    ident.loc[hit, "unit_name"] = written
    ident.loc[hit, "method"] = "province_only"
    return ident


def _check_unit_codes(c: _Checks, coded: np.ndarray) -> None:
    """2025 codes (a code of the legacy scheme is checked against the legacy units above)."""
    w, ctx = c.w, c.ctx
    unit, unit_problem = _resolve_units(w["unit_code"], w["el_level"].where(coded), ctx)
    unit = unit.astype(object).where(w["name_code"].isna(), w["name_code"])
    w["unit"] = unit
    if unit_problem.notna().any():
        parts = unit_problem.fillna("").str.partition("|")
        kind = parts[0]
        w["other"] = parts[2]
        for k in ("unknown", "wrong_level", "ambiguous"):
            c.add((kind == k).to_numpy(), "unit_code", "ingest.unknown_unit",
                  lambda d, k=k: _unit_reason(d, ctx, k))


def _candidates(c: _Checks, values: pd.Series) -> pd.DataFrame:
    """The rows that passed every check, in the shape the assembly reads."""
    w, ctx = c.w, c.ctx
    ok = ~c.bad
    cand = pd.DataFrame({
        "period": ctx.period,
        "sector": ctx.sector,
        "unit_code": w["unit"][ok].to_numpy(dtype=object),
        "data_element": w["de"][ok].to_numpy(dtype=object),
        "disaggregation": _norm_disaggregation(w["disaggregation"][ok]).to_numpy(dtype=object),
        "value": values[ok].to_numpy(dtype="float64"),
        "unit_name": w["unit_name"][ok].to_numpy(dtype=object),
        "comment": w["comment"][ok].to_numpy(dtype=object),
        "value_text": w["value"][ok].to_numpy(dtype=object),
        "_rec": w["_rec"][ok].to_numpy(),
        # code | name (2025 units) | legacy (a unit before 1 July 2025, in unit_code: mapped in _assemble)
        "match_method": w["method"][ok].to_numpy(dtype=object),
        "legacy_level": w["legacy_level"][ok].to_numpy(dtype=object),
        "target_level": w["el_level"].where(w["legacy_level"] != "province", "province")[ok].to_numpy(dtype=object),
        "src_key": w["src_key"][ok].to_numpy(dtype=object),
    })
    for col in ("unit_name", "comment"):
        cand[col] = cand[col].where(cand[col] != "", None)
    return cand


def _norm_disaggregation(s: pd.Series) -> pd.Series:
    """'sex = F' -> 'sex=F' (only the rows that have spaces are touched)."""
    spaced = s.str.contains(" ", regex=False)
    if spaced.any():
        s = s.copy()
        s[spaced] = s[spaced].str.replace(r"\s*=\s*", "=", regex=True)
    return s


def _unit_reason(d: pd.DataFrame, ctx: _Context, kind: str) -> pd.Series:
    level = d["el_level"].astype("str")
    common = {"code": _q(d["unit_code"]), "element": _q(d["de"]), "scheme": SCHEME,
              "level": (level.map(LEVEL_VI).astype("str"), level),
              "width": level.map({"commune": "5", "province": "2"}).astype("str")}
    if kind == "unknown":
        # a code of the units before 1 July 2025 sent without unit_scheme = legacy: say so
        padded = d["unit_code"].astype("str").str.zfill(5).where(level == "commune",
                                                                 d["unit_code"].astype("str").str.zfill(2))
        old = _isin(padded.where(d["unit_code"].str.fullmatch("[0-9]+"), None), ctx.legacy_codes())
        hint_vi, hint_en = texts("fragment.hint.legacy_code")
        hint = (pd.Series("", index=d.index, dtype="str").where(~old, hint_vi),
                pd.Series("", index=d.index, dtype="str").where(~old, hint_en))
        return reason("ingest.unknown_unit.unknown", hint=hint, **common)
    other = d["other"].astype("str")
    other_level = other.str.len().map({2: "province", 5: "commune"}).astype("str")
    common.update(other=_q(other), other_name=other.map(lambda c: ctx.unit_names.get(c, "")).astype("str"),
                  other_level=(other_level.map(LEVEL_VI).astype("str"), other_level))
    if kind == "wrong_level":
        return reason("ingest.unknown_unit.wrong_level", **common)
    return reason("ingest.unknown_unit.ambiguous", unit=_q(d["unit"].astype("str")), **common)


def _resolve_units(code: pd.Series, level: pd.Series, ctx: _Context) -> tuple[pd.Series, pd.Series]:
    """Canonical unit code per row (or NA), and a problem 'unknown' | 'wrong_level|<code>' | 'ambiguous|<code>'."""
    digits = code.str.fullmatch("[0-9]+")
    length = code.str.len()
    lead0 = code.str.startswith("0")
    stripped = digits & ~lead0
    # readings of the code as written
    as_commune = code.str.zfill(5).where(digits & ((length == 5) | (stripped & (length < 5))))
    as_commune = as_commune.where(_isin(as_commune, ctx.communes))
    as_province = code.str.zfill(2).where(digits & ((length == 2) | (stripped & (length == 1))))
    as_province = as_province.where(_isin(as_province, ctx.provinces))
    full_commune = digits & (length == 5)
    full_province = digits & (length == 2)

    unit = pd.Series(pd.NA, index=code.index, dtype="str")
    problem = pd.Series(pd.NA, index=code.index, dtype="str")
    check = level.notna() & (code != "")
    com = check & (level == "commune")
    prov = check & (level == "province")

    # commune elements
    ok_c = com & as_commune.notna() & (full_commune | as_province.isna())
    unit[ok_c] = as_commune[ok_c]
    amb_c = com & as_commune.notna() & ~full_commune & as_province.notna()
    unit[amb_c] = as_commune[amb_c]
    problem[amb_c] = "ambiguous|" + as_province[amb_c]
    wrong_c = com & as_commune.isna() & as_province.notna()
    problem[wrong_c] = "wrong_level|" + as_province[wrong_c]
    problem[com & as_commune.isna() & as_province.isna()] = "unknown"

    # province elements
    ok_p = prov & as_province.notna() & (full_province | as_commune.isna())
    unit[ok_p] = as_province[ok_p]
    amb_p = prov & as_province.notna() & ~full_province & as_commune.notna()
    unit[amb_p] = as_province[amb_p]
    problem[amb_p] = "ambiguous|" + as_commune[amb_p]
    wrong_p = prov & as_province.isna() & as_commune.notna()
    problem[wrong_p] = "wrong_level|" + as_commune[wrong_p]
    problem[prov & as_province.isna() & as_commune.isna()] = "unknown"

    # rows whose level is unknown (data element rejected): keep the code as written
    unit = unit.where(check, code)
    unit = unit.where(problem.isna() | problem.str.startswith("ambiguous"), code)
    return unit, problem
