"""Official administrative units in force since 1 July 2025.

The 34 provinces and 3,321 communes come from the maintained
``vietnam-provinces`` package, never typed in by hand.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import pandas as pd

UNIT_COLUMNS = ["unit_code", "unit_level", "unit_name", "division_type", "province_code", "province_name", "codename"]


def province_code(code: int) -> str:
    return f"{int(code):02d}"


def commune_code(code: int) -> str:
    return f"{int(code):05d}"


@lru_cache(maxsize=1)
def admin_units() -> pd.DataFrame:
    """One row per province and per commune (2025 scheme), codes as zero-padded text."""
    from vietnam_provinces import Province, Ward  # imported when the units are first asked for

    nfc = lambda s: unicodedata.normalize("NFC", s)  # noqa: E731
    provinces = {province_code(p.code): nfc(p.name) for p in Province.iter_all()}
    rows = [
        {
            "unit_code": code,
            "unit_level": "province",
            "unit_name": name,
            "division_type": p.division_type.value,
            "province_code": code,
            "province_name": name,
            "codename": p.codename,
        }
        for p in Province.iter_all()
        for code, name in [(province_code(p.code), nfc(p.name))]
    ]
    rows += [
        {
            "unit_code": commune_code(w.code),
            "unit_level": "commune",
            "unit_name": nfc(w.name),
            "division_type": w.division_type.value,
            "province_code": province_code(w.province_code),
            "province_name": provinces[province_code(w.province_code)],
            "codename": w.codename,
        }
        for w in Ward.iter_all()
    ]
    df = pd.DataFrame(rows, columns=UNIT_COLUMNS)
    return df.sort_values(["unit_level", "unit_code"], ascending=[False, True], ignore_index=True)


def package_version() -> str:
    import vietnam_provinces

    return f"vietnam-provinces {vietnam_provinces.__version__} (data {vietnam_provinces.__data_version__})"
