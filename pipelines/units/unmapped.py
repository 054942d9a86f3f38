"""Old communes the crosswalk cannot map: counted in their province only, and said so.

A file of a year before the reform may name a commune merged before 2025 that
the maintained packages do not cover (neither its code nor its name is among
the units of 2024 or their recorded former names): it cannot be put in a 2025
commune. When the row also names its old province (the ``province`` column,
a legacy province code or name), the value still belongs to that province:

* the row is loaded onto the old province, and through the crosswalk onto the
  2025 province (``raw.data_values`` with ``match_method = 'province_only'``
  and the old commune as written in ``source_units``), so the province figure
  stands (the dbt model of province values adds it to the sum of the
  communes); no commune figure is made for it;
* the release says which old communes were not mapped and how many rows
  (``unmapped_note``: the manifest's units note, the report's method note and
  the release notes).

Without a known province the row stays rejected (``units.unknown_legacy_unit``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.templating import render

METHOD = "province_only"
TEMPLATES = Path(__file__).with_name("templates")  # the notes' sentences
UNKNOWN = "units.unknown_legacy_unit"


def _text(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and v != v) else str(v).strip()


def province_fallback(ident: pd.DataFrame, rows: pd.DataFrame) -> pd.Series:
    """For each legacy row (``ident``: ``resolve.identify_legacy``'s answer, same index as ``rows``): the old
    province code of an unknown old commune whose row names its province, else None."""
    from pipelines.units.names import resolve_code

    out = pd.Series(None, index=ident.index, dtype=object)
    unknown = (ident["check_code"] == UNKNOWN) & (ident["level"] == "commune")
    if not unknown.any() or "province" not in rows.columns:
        return out
    cache: dict[str, str | None] = {}
    for i in ident.index[unknown]:
        prov = _text(rows.at[i, "province"])
        if prov and prov not in cache:
            cache[prov] = resolve_code(prov, "province", "legacy")
        out.at[i] = cache.get(prov) if prov else None
    return out


def written_unit(code: Any, name: Any) -> str:
    """The old commune as the row wrote it: 'code name', either alone when the other is blank."""
    return " ".join(t for t in (_text(code), _text(name)) if t)


def unmapped_rows(con, period: str) -> pd.DataFrame:
    """The values of ``period`` counted in their province only: province_code, data_element, source_units, value."""
    have = {r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = 'raw' and table_name = 'data_values'"
    ).fetchall()}
    if "match_method" not in have:
        return pd.DataFrame(columns=["province_code", "sector", "data_element", "source_units", "value"])
    return con.execute(
        """select unit_code as province_code, sector, data_element, source_units, value from raw.data_values
           where period = ? and match_method = ? and disaggregation = ''
           order by unit_code, data_element""", [period, METHOD]).df()


def unmapped_note(con, period: str) -> dict[str, Any] | None:
    """Which old communes of ``period`` were not mapped and how many rows, in a sentence in each language;
    None when every commune was mapped."""
    df = unmapped_rows(con, period)
    if df.empty:
        return None
    units = sorted({u.strip() for s in df["source_units"].dropna() for u in str(s).split(";") if u.strip()})
    provinces = sorted(df["province_code"].unique())
    values = {"rows": int(len(df)), "communes": units, "provinces": provinces}
    return {**values, **{f"note_{lang}": render(TEMPLATES, f"unmapped_note_{lang}.txt", **values).strip()
                         for lang in ("vi", "en")}}
