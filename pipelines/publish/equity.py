"""Equity: indicators by group (sex, ethnic minority, disability, age band) and the gaps between groups.

Sectors may report a data element by group through the ``disaggregation``
column of the landing files (``sex=F``, ``ethnic_minority=yes``,
``disability=yes``, ``age=0_4``...); the totals stay in the rows without one.
The methodology's ``equity`` section declares the dimensions (their groups and
which of them are compared: ``focus``) and which indicators are computed by
which dimensions.

For each indicator, dimension and focus group, at every commune, province and
nationally: the group's value (the indicator's formula over the group's counts:
numerator and denominator of that group), and the value of its complement (the
other groups of the dimension together: their counts summed), the gap as the
difference (group minus complement) and the ratio (group over complement), and
the national gap beside each row. A province sums the group counts of its
communes that report both terms for the group and its complement; a province-
level term (none of the demo's) is the province's own figure.

Disclosure (``pipelines/publish/disclosure.py``, the same rule as the totals):
a commune row of a sensitive indicator is suppressed when the group's or the
complement's numerator is from 1 to 4 (the row shows both, and the commune's
total is published), and complementary suppression then runs within each
province, indicator and group exactly as for the totals. Province and national
rows are published in full, as the totals are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipelines.methodology import MethodologyError
from pipelines.publish.disclosure import DisclosureRule, apply_disclosure_control
from pipelines.sensitive import sensitive_indicator_codes
from pipelines.publish.targets import NATIONAL_CODE

EQUITY_COLUMNS = ["period", "unit_level", "unit_code", "province_code", "indicator_code", "group", "value",
                  "reference_group", "reference_value", "gap_difference", "gap_ratio", "national_gap_difference",
                  "national_gap_ratio", "suppressed"]


@dataclass(frozen=True)
class Dimension:
    code: str
    name_vi: str
    name_en: str
    groups: dict[str, tuple[str, str]]  # group -> (name_vi, name_en)
    focus: tuple[str, ...]


def equity_settings(methodology) -> tuple[dict[str, Dimension], dict[str, tuple[str, ...]]]:
    """(dimensions by code, indicator -> dimensions) from the methodology's ``equity`` section."""
    doc = (getattr(methodology, "raw", None) or {}).get("equity") or {}
    where = f"{getattr(methodology, 'path', 'methodology')}: equity"
    dims = {}
    for code, d in (doc.get("dimensions") or {}).items():
        groups = {str(g["code"]): (str(g.get("name_vi", g["code"])), str(g.get("name_en", g["code"])))
                  for g in d.get("groups", [])}
        focus = tuple(str(f) for f in (d.get("focus") or list(groups)[:-1]))
        if len(groups) < 2 or not set(focus) <= set(groups):
            raise MethodologyError(f"{where}.dimensions.{code}: needs two groups or more, and focus groups among them")
        dims[str(code)] = Dimension(str(code), str(d.get("name_vi", code)), str(d.get("name_en", code)), groups, focus)
    codes = {i.code for i in methodology.indicators}
    by = {}
    for ind, ds in (doc.get("indicators") or {}).items():
        if ind not in codes:
            raise MethodologyError(f"{where}.indicators: {ind} is not an indicator of the methodology")
        unknown = [x for x in ds if x not in dims]
        if unknown:
            raise MethodologyError(f"{where}.indicators.{ind}: {unknown[0]} is not a dimension of equity.dimensions")
        by[str(ind)] = tuple(str(x) for x in ds)
    return dims, by


def read_group_values(con, period: str) -> pd.DataFrame:
    """Disaggregated values of the period: unit_code, data_element, dimension, group, value."""
    df = con.execute("""
        select unit_code, data_element, disaggregation, value from raw.data_values
        where period = ? and disaggregation <> ''""", [period]).df()
    parts = df["disaggregation"].str.split("=", n=1, expand=True) if len(df) else None
    return df.assign(dimension=parts[0] if parts is not None else pd.Series(dtype=object),
                     group=parts[1] if parts is not None else pd.Series(dtype=object)).drop(columns="disaggregation")


def group_counts(values: pd.DataFrame, indicator, dim: Dimension, units: pd.DataFrame) -> pd.DataFrame:
    """Per commune and group of ``dim``: the numerator and denominator of ``indicator`` (both terms reported)."""
    v = values[(values["dimension"] == dim.code) & values["group"].isin(dim.groups)]
    out = []
    for role, terms in (("numerator", indicator.numerator), ("denominator", indicator.denominator)):
        t = v[v["data_element"].isin(terms)]
        s = t.groupby(["unit_code", "group"])["value"].sum().rename(role)
        n = t.groupby(["unit_code", "group"])["data_element"].nunique()
        out.append(s[n == len(set(terms))])
    both = pd.concat(out, axis=1).dropna().reset_index()
    return both.merge(units, on="unit_code", how="inner")


def _rows(counts: pd.DataFrame, keys: list[str], dim: Dimension, multiplier: float) -> pd.DataFrame:
    """Group and complement values (and counts) per ``keys`` and focus group."""
    rows = []
    total = counts.groupby(keys)[["numerator", "denominator"]].sum()
    by_group = counts.groupby([*keys, "group"])[["numerator", "denominator"]].sum()
    for group in dim.focus:
        g = by_group.xs(group, level="group") if group in by_group.index.get_level_values("group") else None
        if g is None:
            continue
        rest = total.loc[g.index] - g
        frame = pd.DataFrame({
            "group": f"{dim.code}={group}",
            "numerator": g["numerator"], "value": g["numerator"] / g["denominator"].where(g["denominator"] > 0),
            "reference_group": _complement(dim, group),
            "reference_numerator": rest["numerator"],
            "reference_value": rest["numerator"] / rest["denominator"].where(rest["denominator"] > 0),
        }, index=g.index)
        frame[["value", "reference_value"]] *= multiplier
        rows.append(frame.reset_index())
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def _complement(dim: Dimension, group: str) -> str:
    others = [g for g in dim.groups if g != group]
    return f"{dim.code}={others[0]}" if len(others) == 1 else f"{dim.code}≠{group}"


def gap_frame(values: pd.DataFrame, units: pd.DataFrame, period: str, methodology) -> pd.DataFrame:
    """The equity rows of one period before disclosure control (with the group numerators)."""
    dims, by = equity_settings(methodology)
    inds = {i.code: i for i in methodology.indicators}
    frames = []
    for code, dim_codes in by.items():
        for d in dim_codes:
            counts = group_counts(values, inds[code], dims[d], units)
            if counts.empty:
                continue
            mult = float(inds[code].multiplier)
            commune = _rows(counts, ["unit_code", "province_code"], dims[d], mult).assign(unit_level="commune")
            province = _rows(counts.assign(unit_code=counts["province_code"]), ["unit_code", "province_code"],
                             dims[d], mult).assign(unit_level="province")
            national = _rows(counts.assign(unit_code=NATIONAL_CODE), ["unit_code"], dims[d], mult).assign(
                unit_level="national", province_code=None)
            frames += [f.assign(indicator_code=code) for f in (national, province, commune) if len(f)]
    if not frames:
        return pd.DataFrame(columns=[*EQUITY_COLUMNS, "numerator", "reference_numerator"])
    df = pd.concat(frames, ignore_index=True).assign(period=period)
    df["gap_difference"] = df["value"] - df["reference_value"]
    df["gap_ratio"] = df["value"] / df["reference_value"].where(df["reference_value"] != 0)
    nat = df[df["unit_level"] == "national"].set_index(["indicator_code", "group"])
    key = pd.MultiIndex.from_frame(df[["indicator_code", "group"]])
    df["national_gap_difference"] = nat["gap_difference"].reindex(key).to_numpy()
    df["national_gap_ratio"] = nat["gap_ratio"].reindex(key).to_numpy()
    return df


def disclose(df: pd.DataFrame, methodology, rule: DisclosureRule | None = None) -> pd.DataFrame:
    """Disclosure control on the commune rows of sensitive indicators (module text); drops the numerators."""
    rule = rule or DisclosureRule.from_methodology(methodology)
    sensitive = sensitive_indicator_codes(methodology)
    lo, hi = rule.suppress_min, rule.suppress_max
    own, ref = df["numerator"].astype("float64"), df["reference_numerator"].astype("float64")
    in_range = own.between(lo, hi) | ref.between(lo, hi)
    # the count the rule weighs: the one in the range when there is one, else the commune's total
    weight = np.where(own.between(lo, hi), own, np.where(ref.between(lo, hi), ref, own + ref))
    frame = pd.DataFrame({
        "period": df["period"], "unit_level": df["unit_level"], "unit_code": df["unit_code"],
        "province_code": df["province_code"], "indicator_code": df["indicator_code"] + "|" + df["group"],
        "numerator": weight, "value": df["value"], "score": 0.0})
    cells = {f"{c}|{g}" for c, g in zip(df["indicator_code"], df["group"]) if c in sensitive}
    result = apply_disclosure_control(frame, cells, rule)
    hidden = result.table["suppressed"].fillna(False).to_numpy(dtype=bool)
    if (in_range & (df["unit_level"] == "commune") & df["indicator_code"].isin(sensitive) & ~hidden).any():
        raise RuntimeError("equity: a group cell in the suppression range was left published")
    out = df.copy()
    cols = ["value", "reference_value", "gap_difference", "gap_ratio"]
    out[cols] = out[cols].astype("float64")
    out.loc[hidden, cols] = np.nan
    out["suppressed"] = hidden
    return out[EQUITY_COLUMNS]


def equity_gaps(con, period: str, methodology) -> pd.DataFrame:
    """``equity_gaps`` of the release of ``period``: read from the warehouse, disclosure control applied."""
    from pipelines.reference.units import admin_units

    units = admin_units()
    units = units[units["unit_level"] == "commune"][["unit_code", "province_code"]]
    df = gap_frame(read_group_values(con, period), units, period, methodology)
    if df.empty:
        return df[EQUITY_COLUMNS]
    order = df["unit_level"].map({"national": 0, "province": 1, "commune": 2})
    df = df.assign(_o=order).sort_values(["indicator_code", "group", "_o", "unit_code"]).drop(columns="_o")
    return disclose(df.reset_index(drop=True), methodology)


def equity_context(gaps: pd.DataFrame | None, names: dict[str, str], methodology, top: int = 10) -> dict[str, Any]:
    """For the report's equity section: the widest province gaps, and each province's gaps beside the national."""
    if gaps is None or gaps.empty:
        return {"widest": [], "provinces": [], "columns": []}
    dims, _ = equity_settings(methodology)
    inds = {i.code: i for i in methodology.indicators}
    prov = gaps[gaps["unit_level"] == "province"].copy()
    # the size of a gap, comparable across indicators: how far the ratio is from 1, either way
    prov["size"] = (np.log(prov["gap_ratio"].where(prov["gap_ratio"] > 0))).abs()
    label = lambda g: _group_label(g, dims)  # noqa: E731
    widest = [{"province": names.get(r.unit_code, r.unit_code), "indicator": inds[r.indicator_code].name_vi,
               "group": label(r.group), "reference": label(r.reference_group), "value": _n(r.value),
               "reference_value": _n(r.reference_value), "gap_difference": _n(r.gap_difference),
               "gap_ratio": _n(r.gap_ratio), "national_gap_difference": _n(r.national_gap_difference)}
              for r in _widest(prov, per_group=2).head(top).itertuples()]
    columns = prov[["indicator_code", "group"]].drop_duplicates().sort_values(["indicator_code", "group"])
    cols = [{"indicator": inds[c].name_vi, "group": label(g), "key": (c, g)} for c, g in columns.itertuples(index=False)]
    nat = gaps[gaps["unit_level"] == "national"].set_index(["indicator_code", "group"])["gap_difference"]
    cell = prov.set_index(["unit_code", "indicator_code", "group"])["gap_difference"]
    rows = [{"unit_code": NATIONAL_CODE, "name": "Toàn quốc / national",
             "gaps": [_n(nat.get(c["key"])) for c in cols]}]
    rows += [{"unit_code": u, "name": names.get(u, u), "gaps": [_n(cell.get((u, *c["key"]))) for c in cols]}
             for u in sorted(prov["unit_code"].unique())]
    for c in cols:
        c.pop("key")
    return {"widest": widest, "provinces": rows, "columns": cols}


def _widest(prov: pd.DataFrame, per_group: int) -> pd.DataFrame:
    """The provinces with the widest gaps of each indicator and group (so one indicator cannot fill the list)."""
    ranked = prov.sort_values("size", ascending=False)
    return ranked.groupby(["indicator_code", "group"], sort=False).head(per_group).sort_values("size", ascending=False)


def _group_label(group: str, dims: dict[str, Dimension]) -> str:
    if "≠" in group:
        d, g = group.split("≠", 1)
        return f"không phải / not {dims[d].groups[g][0]}" if d in dims and g in dims[d].groups else group
    d, _, g = group.partition("=")
    return dims[d].groups[g][0] if d in dims and g in dims[d].groups else group


def _n(v) -> float | None:
    return None if v is None or pd.isna(v) else float(v)
