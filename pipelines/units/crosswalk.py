"""Units before 1 July 2025 and the crosswalk onto the units in force since.

Built offline from the data files shipped in the ``vietnamadminunits``
package (never from its address functions, which can call a geocoder):

- ``data/dataset.db``, table ``admin_units_legacy``: the 63 provinces, 696
  districts and 10,035 communes as they stood just before the reform (GSO
  codes, names, types, and the former names of units merged in 2019-2025
  as aliases), plus five island districts that had no communes (Bạch Long
  Vĩ, Cồn Cỏ, Hoàng Sa, Lý Sơn, Côn Đảo);
- ``data/dataset.db``, table ``admin_units``: the 3,321 new communes with
  their area (km²);
- ``data/converter_2025.json``: ``DICT_PROVINCE`` (new province -> old
  provinces), ``DICT_PROVINCE_WARD_NO_DIVIDED`` (new commune -> the old
  communes it took whole) and ``DICT_PROVINCE_WARD_DIVIDED`` (old commune
  split between several new communes -> those communes, with their area).

The package is located with ``importlib.util.find_spec``, which does not
import it: none of its code runs here.

New units are identified by the project's reference codes
(``pipelines.reference.units.admin_units()``, from vietnam-provinces), not
by vietnamadminunits' own new-commune codes, which differ for 123 of the
3,321 communes in vietnamadminunits 1.0.4 (codes missing or swapped between
wards). The join is by province code and official name (exact after
normalisation, see ``pipelines.units.names``); the build fails loudly if a
single new commune cannot be joined.

Apportioning a split commune (``rule``):

- ``area`` (default): each new commune's share is its area over the summed
  area of all the new communes that received part of the old one. The
  package carries the area of whole new communes, not of the pieces of the
  old commune; the share is a proxy, and documented as such. When a
  successor has no area in the package (one case: Phường 3, Cai Lậy, whose
  successor Mỹ Phước Tây has area 0) the commune falls back to equal shares
  and the decision says so.
- ``equal``: equal shares.

Counts stay whole numbers: a split value is divided by the largest-remainder
method (each part gets the floor of its quota, the units left over go to the
largest fractional parts; ties go to the larger share, then the lower code),
so the parts add up exactly to the value and every total (commune, province,
national) is unchanged. Non-integer values are split by share, the last part
taking the exact remainder. Yes/no flags are never divided or added: a new
unit has the flag when any of its predecessors had it (a split commune's
flag goes to each of its successors), and the rows say so.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any

import pandas as pd

from pipelines.units.legacy import (
    CrosswalkError,
    _nfc,
    _query,
    legacy_units,
    package_data_dir,
    package_version,
)
from pipelines.units.names import match_unit, resolve_code
from pipelines.units.rebased import _rebased

RULES = ("area", "equal")


# -- the crosswalk ---------------------------------------------------------------


@dataclass(frozen=True)
class Crosswalk:
    provinces: pd.DataFrame  # one row per legacy province
    districts: pd.DataFrame  # one row per legacy district
    communes: pd.DataFrame  # one row per (legacy commune, new commune) edge
    summary: dict[str, Any] = field(default_factory=dict)


def _new_code_map() -> tuple[dict[tuple[str, str], dict], dict[str, str]]:
    """(province key, ward key) in the package -> the reference commune; package
    province key -> reference province code."""
    from pipelines.reference.units import admin_units

    ref = admin_units()
    ref_provinces = set(ref.loc[ref["unit_level"] == "province", "unit_code"])
    rows = _query("select provinceKey, provinceCode, province, wardKey, wardCode, ward, wardAreaKm2 from admin_units")
    wards: dict[tuple[str, str], dict] = {}
    provinces: dict[str, str] = {}
    failures = []
    for r in rows:
        if r["provinceCode"] not in ref_provinces:
            failures.append(f"province {r['provinceCode']} {r['province']}")
            continue
        provinces[r["provinceKey"]] = r["provinceCode"]
        m = match_unit(_nfc(r["ward"]), "commune", province_code=r["provinceCode"], scheme="2025")
        if m.status != "exact" or m.method != "name":
            failures.append(f"{r['provinceCode']} {r['ward']} ({m.status})")
            continue
        wards[(r["provinceKey"], r["wardKey"])] = {
            "unit_code": m.unit_code, "unit_name": m.unit_name, "province_code": m.province_code,
            "area_km2": r["wardAreaKm2"], "package_code": r["wardCode"],
        }
    if failures:
        raise CrosswalkError(f"{len(failures)} package units do not join the reference units: {failures[:10]}")
    codes = [w["unit_code"] for w in wards.values()]
    if len(set(codes)) != len(codes) or set(codes) != set(ref.loc[ref["unit_level"] == "commune", "unit_code"]):
        raise CrosswalkError("package communes do not join the reference communes one to one")
    return wards, provinces


@lru_cache(maxsize=1)
def load_crosswalk() -> Crosswalk:
    """Build the crosswalk once per process (about half a second after the
    reference and legacy units are loaded) and keep it."""
    started = time.perf_counter()
    from pipelines.reference.units import admin_units

    ref = admin_units()
    ref_names = dict(zip(ref["unit_code"], ref["unit_name"]))
    data = json.loads((package_data_dir() / "converter_2025.json").read_text(encoding="utf-8"))
    wards, new_province_of_key = _new_code_map()
    lu = legacy_units()
    provinces = _province_rows(data, new_province_of_key, lu, ref_names)
    new_of_old_province = dict(zip(provinces["legacy_code"], provinces["unit_code"]))

    # districts: a legacy district lies in one legacy province, hence in one new province
    dist = lu[lu["unit_level"] == "district"]
    districts = pd.DataFrame({
        "legacy_code": dist["unit_code"].values, "legacy_name": dist["unit_name"].values,
        "legacy_province_code": dist["province_code"].values,
        "unit_code": dist["province_code"].map(new_of_old_province).values,
        "has_communes": dist["has_communes"].values,
    })
    districts["unit_name"] = districts["unit_code"].map(ref_names)

    communes = _commune_rows(data, wards, lu)
    _check_communes(communes, lu, ref, new_of_old_province)
    summary = _summary(provinces, communes, lu, wards)
    summary["build_seconds"] = round(time.perf_counter() - started, 3)
    return Crosswalk(provinces=provinces, districts=districts, communes=communes, summary=summary)


def _province_rows(data: dict, new_province_of_key: dict[str, str], lu: pd.DataFrame,
                   ref_names: dict[str, str]) -> pd.DataFrame:
    """One row per legacy province: the new province it went into."""
    legacy_province_by_key = {r["package_key"]: r for r in lu[lu["unit_level"] == "province"].to_dict("records")}
    prov_rows = []
    for new_key, old_keys in data["DICT_PROVINCE"].items():
        code = new_province_of_key[new_key]
        for ok in old_keys:
            old = legacy_province_by_key[ok]
            prov_rows.append({
                "legacy_code": old["unit_code"], "legacy_name": old["unit_name"],
                "unit_code": code, "unit_name": ref_names[code], "merged": len(old_keys) > 1,
                "predecessors": len(old_keys),
            })
    provinces = pd.DataFrame(prov_rows).sort_values("legacy_code", ignore_index=True)
    if len(provinces) != 63 or provinces["legacy_code"].duplicated().any():
        raise CrosswalkError("DICT_PROVINCE does not cover the 63 legacy provinces exactly once")
    return provinces


def _commune_rows(data: dict, wards: dict[tuple[str, str], dict], lu: pd.DataFrame) -> pd.DataFrame:
    """One row per (legacy commune or island district, new commune) edge, with the area and equal shares."""
    legacy_by_key = {r["package_key"]: r for r in lu.to_dict("records")}
    edges = []
    for new_pkey, mapping in data["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_wkey, old_keys in mapping.items():
            new = wards[(new_pkey, new_wkey)]
            for ok in old_keys:
                edges.append((ok, new, new["area_km2"], True))
    for new_pkey, mapping in data["DICT_PROVINCE_WARD_DIVIDED"].items():
        for ok, parts in mapping.items():
            for part in parts:
                new = wards[(new_pkey, part["newWardKey"])]
                edges.append((ok, new, part["newWardAreaKm2"], bool(part["isDefaultNewWard"])))
    rows = []
    for ok, new, area, default in edges:
        old = legacy_by_key.get(ok.rstrip("_")) if ok.endswith("_") else legacy_by_key.get(ok)
        if old is None:
            raise CrosswalkError(f"converter key {ok!r} is not a legacy unit")
        rows.append({
            "legacy_code": old["unit_code"], "legacy_level": old["unit_level"], "legacy_name": old["unit_name"],
            "legacy_district_code": old["district_code"], "legacy_district_name": old["district_name"],
            "legacy_province_code": old["province_code"], "legacy_province_name": old["province_name"],
            "unit_code": new["unit_code"], "unit_name": new["unit_name"], "province_code": new["province_code"],
            "area_km2": float(area) if area else 0.0, "package_default": default,
        })
    communes = pd.DataFrame(rows)
    n = communes.groupby("legacy_code")["unit_code"].transform("size")
    communes["successors"] = n
    communes["split"] = n > 1
    area_sum = communes.groupby("legacy_code")["area_km2"].transform("sum")
    area_ok = (communes["area_km2"] > 0).groupby(communes["legacy_code"]).transform("all").astype(bool)
    communes["share_equal"] = 1.0 / n
    communes["share_area"] = (communes["area_km2"] / area_sum).where(area_ok, communes["share_equal"])
    communes["area_basis"] = area_ok.map({True: "area", False: "equal (area missing)"})
    communes.loc[~communes["split"], "area_basis"] = "whole"
    return communes.sort_values(["legacy_code", "unit_code"], ignore_index=True)


def _check_communes(communes: pd.DataFrame, lu: pd.DataFrame, ref: pd.DataFrame,
                    new_of_old_province: dict[str, str]) -> None:
    """Every legacy commune (and island district) once, every new commune reached, no split across new
    provinces, new province of each edge = that of its legacy province."""
    # checks: every legacy commune (and island district) once, every new commune reached,
    # no split across new provinces, new province of each edge = that of its legacy province
    expected = set(lu.loc[lu["unit_level"] == "commune", "unit_code"]) | set(
        lu.loc[(lu["unit_level"] == "district") & ~lu["has_communes"], "unit_code"])
    if set(communes["legacy_code"]) != expected:
        raise CrosswalkError("the converter does not cover every legacy commune")
    if set(communes["unit_code"]) != set(ref.loc[ref["unit_level"] == "commune", "unit_code"]):
        raise CrosswalkError("the converter does not reach every new commune")
    wrong = communes[communes["legacy_province_code"].map(new_of_old_province) != communes["province_code"]]
    if len(wrong):
        raise CrosswalkError(f"{len(wrong)} crosswalk edges leave their province, e.g. {wrong.head(3).to_dict('records')}")


def _summary(provinces: pd.DataFrame, communes: pd.DataFrame, lu: pd.DataFrame,
             wards: dict[tuple[str, str], dict]) -> dict[str, Any]:
    """Figures of the crosswalk."""
    split = communes[communes["split"]].drop_duplicates("legacy_code")
    package_codes = {w["unit_code"]: w["package_code"] for w in wards.values()}
    summary = {
        "source": package_version(),
        "legacy_provinces": int((lu["unit_level"] == "province").sum()),
        "legacy_districts": int((lu["unit_level"] == "district").sum()),
        "legacy_communes": int((lu["unit_level"] == "commune").sum()),
        "island_districts_without_communes": int(((lu["unit_level"] == "district") & ~lu["has_communes"]).sum()),
        "new_provinces": int(provinces["unit_code"].nunique()),
        "new_communes": int(communes["unit_code"].nunique()),
        "merged_provinces": int(provinces["merged"].sum()),
        "unmerged_provinces": int((~provinces["merged"]).sum()),
        "split_communes": int(len(split)),
        "split_successor_counts": {int(k): int(v) for k, v in split["successors"].value_counts().sort_index().items()},
        "crosswalk_edges": int(len(communes)),
        "area_fallbacks": sorted(communes.loc[communes["area_basis"] == "equal (area missing)", "legacy_code"].unique().tolist()),
        "package_commune_codes_differing_from_reference": sum(1 for c, p in package_codes.items() if c != p),
    }
    return summary


def province_crosswalk() -> pd.DataFrame:
    return load_crosswalk().provinces


def district_crosswalk() -> pd.DataFrame:
    return load_crosswalk().districts


def commune_crosswalk() -> pd.DataFrame:
    return load_crosswalk().communes


def successor_codes(legacy_codes: Iterable[str], province_code: str | None = None) -> list[str]:
    """The 2025 communes that the legacy communes (or island districts) became part of, within the province
    given, in the crosswalk's order (``names.match_unit`` offers them for a legacy name written as a 2025 one)."""
    cw = commune_crosswalk()
    edges = cw[cw["legacy_code"].isin(list(legacy_codes))]
    if province_code:
        edges = edges[edges["province_code"] == province_code]
    return list(dict.fromkeys(edges["unit_code"]))


# -- apportioning ---------------------------------------------------------------


def _is_whole(value: float) -> bool:
    return math.isfinite(value) and float(value).is_integer()


def apportion(value: float, shares: list[float], codes: list[str] | None = None) -> list[float]:
    """Split ``value`` by ``shares`` so that the parts add up to ``value`` exactly.

    Whole values: largest-remainder method on exact fractions (each part gets
    the floor of its quota; the leftover units go to the largest fractional
    parts, ties to the larger share and then the lower code). Other values:
    by share, the part with the largest share taking the exact remainder.
    """
    if not shares:
        raise ValueError("no shares")
    codes = codes or [f"{i:09d}" for i in range(len(shares))]
    total_share = sum(Fraction(s) for s in shares)
    if total_share <= 0:
        shares = [1.0] * len(shares)
        total_share = Fraction(len(shares))
    fracs = [Fraction(s) / total_share for s in shares]
    if _is_whole(value):
        v = int(value)
        quotas = [f * v for f in fracs]
        floors = [math.floor(q) for q in quotas]
        left = v - sum(floors)
        order = sorted(range(len(shares)), key=lambda i: (-(quotas[i] - floors[i]), -fracs[i], codes[i]))
        for i in order[:left]:
            floors[i] += 1
        return [float(x) for x in floors]
    parts = [float(value) * float(f) for f in fracs]
    big = max(range(len(parts)), key=lambda i: (fracs[i], codes[i]))
    parts[big] = float(value) - math.fsum(p for i, p in enumerate(parts) if i != big)
    return parts


# -- rebasing values --------------------------------------------------------------

DECISION_COLUMNS = [
    "input_row", "row_number", "source_code", "source_name", "source_level", "match_method",
    "target_code", "target_name", "share", "share_basis", "value_in", "value_out", "status",
    "check_code", "reason",
]


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip()) or v is pd.NA


def _number(v: Any) -> float | None:
    if _blank(v) or isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        x = float(str(v).strip().replace(",", "."))
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _context(row: dict, names: tuple[str, ...]) -> Any:
    for n in names:
        v = row.get(n)
        if not _blank(v):
            return v
    return None


def rebase_values(df: pd.DataFrame, level: str, rule: str = "area", flag_elements: Iterable[str] = (),
                  target_level: str | None = None, by: list[str] | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map values keyed by units before 1 July 2025 onto the 2025 units.

    ``df``: one value a row; ``unit_code`` (legacy code) and/or ``unit_name``
    (matched with scheme 'legacy' within ``province``/``province_code`` and
    ``district``/``district_code`` when those columns are there), ``value``,
    and the key columns ``by`` (default: those of period, sector,
    data_element, disaggregation present).
    ``level``: the legacy level of the rows: 'province', 'district' or
    'commune' (commune-level files may key the five island districts without
    communes by their district code).
    ``target_level``: 'province' or 'commune'; default: the same level
    (districts go to provinces: a district lies in one new province, and a
    district's value is never guessed down to communes).
    ``flag_elements``: data elements whose values are yes/no flags (not summed:
    see the module docstring).

    Returns ``(rebased, decisions)``. ``rebased``: one row per key and new
    unit, with ``value`` (summed), ``apportioned`` (some of it comes from a
    split commune), ``source_units`` (legacy codes, a split one with its share),
    ``sources_reported``/``sources_expected``/``complete`` (did every
    predecessor of the new unit report?), ``unit_scheme`` '2025', and
    ``row_number`` (the first source row, when the input has that column).
    ``decisions``: one row per input row and target (and per rejected row,
    with ``check_code`` and ``reason``). The sum of ``value`` per key over
    counts equals the sum of the accepted input values exactly.
    """
    target_level = _rebase_target(level, rule, target_level)
    flags = set(flag_elements)
    by = list(by) if by is not None else [c for c in ("period", "sector", "data_element", "disaggregation") if c in df.columns]
    from pipelines.reference.units import admin_units

    ref = admin_units()
    ref_name = dict(zip(ref["unit_code"], ref["unit_name"]))
    ref_province = dict(zip(ref["unit_code"], ref["province_code"]))
    edges, expected = _edges(load_crosswalk(), level, target_level)
    decisions: list[dict] = []
    accepted_rows = _identify_rows(_plain_records(df), level, edges, decisions)
    drop = _double_counted(accepted_rows, by)
    kept = []
    for n, item in enumerate(accepted_rows):
        i, row, code, name, method = item
        if n in drop:
            decisions.append(_rejected(
                i, row, level, code, "units.duplicate_unit",
                f"Đơn vị {name} ({code}) có nhiều dòng cho cùng chỉ tiêu và kỳ: không cộng để tránh tính trùng / "
                f"unit {name} ({code}) appears on several rows for the same data element and period: "
                "not added, to avoid double counting", method))
        else:
            kept.append(item)
    columns = {c: [d[c] for d in decisions] for c in DECISION_COLUMNS}
    parts = _spread(kept, edges, flags, rule, by, level, ref_name, columns)
    decisions_df = (pd.DataFrame(columns, columns=DECISION_COLUMNS) if columns["input_row"]
                    else pd.DataFrame([], columns=DECISION_COLUMNS))
    return _rebased(parts, by, target_level, rule, ref_name, ref_province, expected), decisions_df


def _plain_records(df: pd.DataFrame) -> list[dict]:
    """The rows as dicts, as ``DataFrame.to_dict("records")`` gives them, read column by column (much faster
    on Arrow-backed strings)."""
    cols = list(df.columns)
    lists = [df[c].to_numpy(dtype=object).tolist() for c in cols]
    return [dict(zip(cols, vals, strict=True)) for vals in zip(*lists, strict=True)]


def _rebase_target(level: str, rule: str, target_level: str | None) -> str:
    """The level the rows go to (checked against the rows' level and the rule)."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if level not in ("province", "district", "commune"):
        raise ValueError(f"level must be province, district or commune, got {level!r}")
    target_level = target_level or ("province" if level == "district" else level)
    if target_level not in ("province", "commune") or (level != "commune" and target_level == "commune"):
        raise ValueError(f"cannot rebase {level} rows onto {target_level} units")
    return target_level


def _edges(cw: Crosswalk, level: str, target_level: str
           ) -> tuple[dict[str, list[tuple[str, float, float, str]]], dict[str, set[str]]]:
    """Legacy code -> [(target, share_area, share_equal, basis)], and target -> the legacy codes it is made of."""
    edges: dict[str, list[tuple[str, float, float, str]]] = defaultdict(list)
    if level == "province":
        for r in cw.provinces.itertuples():
            edges[r.legacy_code].append((r.unit_code, 1.0, 1.0, "whole"))
    elif level == "district":
        for r in cw.districts.itertuples():
            edges[r.legacy_code].append((r.unit_code, 1.0, 1.0, "whole"))
    elif target_level == "province":
        first = cw.communes.drop_duplicates("legacy_code")
        for code, province in zip(first["legacy_code"], first["province_code"]):
            edges[code].append((province, 1.0, 1.0, "whole"))
    else:
        for r in cw.communes.itertuples():
            edges[r.legacy_code].append((r.unit_code, r.share_area, r.share_equal, r.area_basis))
    expected: dict[str, set[str]] = defaultdict(set)
    for code, targets in edges.items():
        for t, *_ in targets:
            expected[t].add(code)
    return edges, expected


def _rejected(i: int, row: dict, level: str, code: str, check: str, reason: str, method: str = "") -> dict:
    """The decision rejecting input row ``i``."""
    return {
        "input_row": i, "row_number": row.get("row_number"), "source_code": code or row.get("unit_code"),
        "source_name": row.get("unit_name"), "source_level": level, "match_method": method,
        "target_code": None, "target_name": None, "share": None, "share_basis": None,
        "value_in": row.get("value"), "value_out": None, "status": "rejected", "check_code": check,
        "reason": reason,
    }


def _identify_rows(records: list[dict], level: str, edges: dict[str, list], decisions: list[dict]
                   ) -> list[tuple[int, dict, str, str, str]]:
    """Each row's legacy unit (by code or name, within its province/district), a number, in the crosswalk:
    (input row, row, legacy code, legacy name, match method); the others rejected into ``decisions``."""
    resolved: dict[tuple, Any] = {}
    accepted_rows: list[tuple[int, dict, str, str, str]] = []
    present = set(records[0]) if records else set()  # every row has the same columns
    prov_cols = tuple(c for c in ("province_code", "province") if c in present)
    dist_cols = tuple(c for c in ("district_code", "district") if c in present)
    for i, row in enumerate(records):
        code_in, name_in = row.get("unit_code"), row.get("unit_name")
        prov = _context(row, prov_cols) if prov_cols else None
        dist = _context(row, dist_cols) if dist_cols else None
        key = (None if _blank(code_in) else str(code_in), None if _blank(name_in) else str(name_in),
               None if prov is None else str(prov), None if dist is None else str(dist))
        if key not in resolved:
            pcode = resolve_code(prov, "province", "legacy") if prov is not None else None
            dcode = resolve_code(dist, "district", "legacy", province_code=pcode) if dist is not None else None
            query = key[0] if key[0] is not None else key[1]
            if query is None:
                resolved[key] = None
            else:
                m = match_unit(code_in if key[0] is not None else name_in, level, province_code=pcode,
                               scheme="legacy", district_code=dcode if level == "commune" else None)
                resolved[key] = m
        m = resolved[key]
        if m is None:
            decisions.append(_rejected(i, row, level, "", "units.missing_unit",
                                       "Dòng không có mã hoặc tên đơn vị / the row has no unit code or name"))
            continue
        if not m.accepted:
            check = "units.ambiguous_unit" if m.status == "ambiguous" else "units.unknown_legacy_unit"
            decisions.append(_rejected(i, row, level, key[0] or "", check, m.reason, m.method))
            continue
        value = _number(row.get("value"))
        if value is None:
            decisions.append(_rejected(
                i, row, level, m.unit_code, "units.bad_value",
                f"Giá trị '{row.get('value')}' không phải là số / value '{row.get('value')}' is not a number", m.method))
            continue
        if m.unit_code not in edges:
            decisions.append(_rejected(
                i, row, level, m.unit_code, "units.not_in_crosswalk",
                f"Đơn vị {m.unit_code} không có trong bảng chuyển đổi / unit {m.unit_code} is not in the crosswalk",
                m.method))
            continue
        accepted_rows.append((i, row, m.unit_code, m.unit_name, m.method))
    return accepted_rows


def _double_counted(accepted_rows: list[tuple[int, dict, str, str, str]], by: list[str]) -> set[int]:
    """Two rows for the same legacy unit and key double count, unless they name distinct former units merged
    into it before the reform (aliases): the positions of the rows to drop."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for n, (i, row, code, _, method) in enumerate(accepted_rows):
        groups[(code, *[str(row.get(c)) for c in by])].append(n)
    drop: set[int] = set()
    for members in groups.values():
        if len(members) < 2:
            continue
        direct = [n for n in members if accepted_rows[n][4] != "alias"]
        queries = [str(accepted_rows[n][1].get("unit_name")) for n in members if accepted_rows[n][4] == "alias"]
        if len(direct) <= 1 and len(set(queries)) == len(queries):
            continue
        drop.update(members)
    return drop


def _spread(kept: list[tuple[int, dict, str, str, str]], edges: dict[str, list], flags: set[str], rule: str,
            by: list[str], level: str, ref_name: dict[str, str], decisions: dict[str, list]) -> dict[str, list]:
    """Each kept row onto its 2025 units (whole, apportioned, or a flag carried to each): the parts (column
    lists), and one decision per row and target appended to the column lists ``decisions``."""
    parts: dict[str, list] = {c: [] for c in [*by, "_target", "_source", "_share", "_apportioned", "_flag",
                                              "value", "_row_number"]}
    d = decisions
    for i, row, code, name, method in kept:
        value = _number(row["value"])
        targets = edges[code]
        is_flag = row.get("data_element") in flags
        if len(targets) == 1:
            values, shares, basis, apportioned = [value], [1.0], "whole", False
        else:
            shares = [t[1] if rule == "area" else t[2] for t in targets]
            basis = targets[0][3] if rule == "area" else "equal"
            apportioned = True
            if is_flag:
                values = [value] * len(targets)
                basis = "flag carried to each successor"
            else:
                values = apportion(value, shares, [t[0] for t in targets])
        n = len(targets)
        codes = [t[0] for t in targets]
        for c in by:
            parts[c] += [row.get(c)] * n
        parts["_target"] += codes
        parts["_source"] += [code] * n
        parts["_share"] += shares
        parts["_apportioned"] += [apportioned] * n
        parts["_flag"] += [is_flag] * n
        parts["value"] += values
        parts["_row_number"] += [row.get("row_number")] * n
        for col, v in (("input_row", i), ("row_number", row.get("row_number")), ("source_code", code),
                       ("source_name", name), ("source_level", level), ("match_method", method),
                       ("share_basis", basis), ("value_in", value),
                       ("status", "apportioned" if apportioned else "mapped"), ("check_code", None),
                       ("reason", None)):
            d[col] += [v] * n
        d["target_code"] += codes
        d["target_name"] += [ref_name.get(t) for t in codes]
        d["share"] += shares
        d["value_out"] += values
    return parts


def summary() -> dict[str, Any]:
    """Figures of the crosswalk (counts, split communes, build time)."""
    return dict(load_crosswalk().summary)
