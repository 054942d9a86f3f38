"""The units before 1 July 2025 (63 provinces, ~700 districts, ~10,000 communes) and their former names, from
the vietnamadminunits package's data. The bottom of ``pipelines.units``: names (``names``) and the crosswalk
(``crosswalk``) both read them."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import sqlite3
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

LEGACY_UNIT_COLUMNS = [
    "unit_code", "unit_level", "unit_name", "division_type", "province_code", "province_name",
    "district_code", "district_name", "has_communes", "package_key",
]


class CrosswalkError(RuntimeError):
    """The package data cannot be turned into a consistent crosswalk."""


def package_data_dir() -> Path:
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise CrosswalkError("the vietnamadminunits package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "data"
    if not (path / "dataset.db").exists() or not (path / "converter_2025.json").exists():
        raise CrosswalkError(f"vietnamadminunits data files not found in {path}")
    return path


def package_version() -> str:
    try:
        return f"vietnamadminunits {importlib.metadata.version('vietnamadminunits')}"
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return "vietnamadminunits (unknown version)"


def _query(sql: str) -> list[dict]:
    db = package_data_dir() / "dataset.db"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql).fetchall()]
    finally:
        con.close()


def _nfc(text: Any) -> Any:
    import unicodedata

    return unicodedata.normalize("NFC", text) if isinstance(text, str) else text


# -- legacy units ----------------------------------------------------------------


@lru_cache(maxsize=1)
def _legacy_rows() -> list[dict]:
    return _query("select * from admin_units_legacy")


@lru_cache(maxsize=1)
def legacy_units() -> pd.DataFrame:
    """The units before 1 July 2025: 63 provinces, 696 districts, 10,035 communes.

    Codes are zero-padded text (2, 3, 5 digits). ``has_communes`` is False for
    the five island districts that had no communes; they stand in for a
    commune in commune-level files.
    """
    rows = _legacy_rows()
    provinces: dict[str, dict] = {}
    districts: dict[str, dict] = {}
    communes: list[dict] = []
    for r in rows:
        pcode, pname = r["provinceCode"], _nfc(r["province"])
        if pcode not in provinces:
            provinces[pcode] = {
                "unit_code": pcode, "unit_level": "province", "unit_name": pname,
                "division_type": "thành phố trung ương" if pname.startswith("Thành phố") else "tỉnh",
                "province_code": pcode, "province_name": pname, "district_code": None, "district_name": None,
                "has_communes": True, "package_key": r["provinceKey"],
            }
        dcode, dname = r["districtCode"], _nfc(r["district"])
        d = districts.setdefault(dcode, {
            "unit_code": dcode, "unit_level": "district", "unit_name": dname,
            "division_type": _nfc(r["districtType"]).lower(), "province_code": pcode, "province_name": pname,
            "district_code": dcode, "district_name": dname, "has_communes": False,
            "package_key": f"{r['provinceKey']}_{r['districtKey']}",
        })
        if r["wardCode"]:
            d["has_communes"] = True
            communes.append({
                "unit_code": r["wardCode"], "unit_level": "commune", "unit_name": _nfc(r["ward"]),
                "division_type": _nfc(r["wardType"]).lower(), "province_code": pcode, "province_name": pname,
                "district_code": dcode, "district_name": dname, "has_communes": True,
                "package_key": f"{r['provinceKey']}_{r['districtKey']}_{r['wardKey']}",
            })
    df = pd.DataFrame([*provinces.values(), *districts.values(), *communes], columns=LEGACY_UNIT_COLUMNS)
    order = {"province": 0, "district": 1, "commune": 2}
    df = df.sort_values(["unit_level", "unit_code"], key=lambda s: s.map(order) if s.name == "unit_level" else s)
    return df.reset_index(drop=True)


@lru_cache(maxsize=4)
def legacy_aliases(level: str) -> dict[str, tuple[str, ...]]:
    """Former names the package records for legacy units (key form, no type
    prefix, no diacritics), by legacy code. E.g. Phường Trúc Bạch (00004) also
    answers to 'nguyentrungtruc', a ward merged into it before the reform."""
    col = {"province": ("provinceCode", "provinceAlias"), "district": ("districtCode", "districtAlias"),
           "commune": ("wardCode", "wardAlias")}[level]
    prefixes = {"province": ("thanhpho", "tinh", "tp"), "district": ("thanhpho", "thixa", "quan", "huyen", "tp", "tx"),
                "commune": ("thitran", "phuong", "xa", "tt")}[level]
    out: dict[str, set[str]] = defaultdict(set)
    for r in _legacy_rows():
        code, raw = r[col[0]], r[col[1]]
        if not code or not raw:
            continue
        for key in json.loads(raw):
            for p in prefixes:
                if key.startswith(p) and len(key) > len(p):
                    key = key[len(p):]
                    break
            out[code].add(key)
    return {k: tuple(sorted(v)) for k, v in out.items()}
