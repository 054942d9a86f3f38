"""What ingest did with the units of a period's files, read back from the warehouse.

For the quality report and the release manifest (read-only; no Dagster):

- ``match_summary(con, period)``: one row per landing file, with how its
  loaded rows found their 2025 unit (by code, by normalised name, through the
  crosswalk, apportioned) and how many were rejected;
- ``rebase_note(con, period)``: whether the period was re-based from the units
  before 1 July 2025 onto the 34 provinces and 3,321 communes, and how, in
  plain words (Vietnamese and English) and figures.

Both work on a connection opened read-only, also on a warehouse written before
the provenance columns existed (they read as empty).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipelines import formats
from pipelines.templating import render

MATCH_SUMMARY_COLUMNS = [
    "sector", "source_file", "file_format", "unit_scheme", "rows_total", "rows_loaded", "rows_by_code",
    "rows_by_name", "rows_crosswalk", "rows_apportioned", "rows_rejected", "apportion_rule",
]
_COUNTS = ["rows_total", "rows_loaded", "rows_by_code", "rows_by_name", "rows_crosswalk", "rows_apportioned",
           "rows_rejected"]
TEMPLATES = Path(__file__).with_name("templates")  # the notes' sentences


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    schema, name = table.split(".")
    return {r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        [schema, name]).fetchall()}


def match_summary(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """One row per landing file of ``period`` (``MATCH_SUMMARY_COLUMNS``), by sector and file.

    ``raw.ingest_files`` (rows total, loaded, rejected) with ``raw.ingest_file_units`` (how the loaded rows
    found their 2025 unit): ``rows_by_code + rows_by_name + rows_crosswalk + rows_apportioned ==
    rows_loaded`` and ``rows_loaded + rows_rejected == rows_total``. Empty when nothing was ingested.
    """
    empty = pd.DataFrame({c: pd.Series(dtype="int64" if c in _COUNTS else object) for c in MATCH_SUMMARY_COLUMNS})
    if not _columns(con, "raw.ingest_files"):
        return empty
    if _columns(con, "raw.ingest_file_units"):
        units = "raw.ingest_file_units"
    else:  # a warehouse written before the table existed: nothing known about how units were found
        units = ("(select null::varchar as period, null::varchar as sector, null::varchar as source_file, "
                 "null::varchar as file_sha256, null::varchar as file_format, null::varchar as unit_scheme, "
                 "0 as rows_by_code, 0 as rows_by_name, 0 as rows_crosswalk, 0 as rows_apportioned, "
                 "null::varchar as apportion_rule where false)")
    df = con.execute(
        f"""select f.sector, f.source_file, u.file_format, u.unit_scheme, f.rows_total, f.rows_loaded,
                   u.rows_by_code, u.rows_by_name, u.rows_crosswalk, u.rows_apportioned, f.rows_rejected,
                   u.apportion_rule
            from raw.ingest_files f
            left join {units} u using (period, sector, source_file, file_sha256)
            where f.period = ?
            order by f.sector, f.source_file""", [period]).df()
    for c in _COUNTS:
        df[c] = df[c].fillna(0).astype("int64")
    for c in ("file_format", "unit_scheme", "apportion_rule"):
        df[c] = df[c].astype(object).where(df[c].notna(), None)
    return df[MATCH_SUMMARY_COLUMNS]


def _before_reform(period: str) -> bool:
    """The period ends before 1 July 2025 (the year 2025 itself spans the reform)."""
    m = re.fullmatch(r"(\d{4})(H[12])?", str(period).upper())
    if not m:
        return False
    year = int(m.group(1))
    return year < 2025 or (year == 2025 and m.group(2) == "H1")


def _unit_counts(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    if _columns(con, "ref.admin_units"):
        rows = dict(con.execute("select unit_level, count(*) from ref.admin_units group by 1").fetchall())
        if rows.get("province") and rows.get("commune"):
            return int(rows["province"]), int(rows["commune"])
    return 34, 3321


def units_text_vi(provinces: int, communes: int) -> str:
    """The units in a sentence with counts in Vietnamese format: 34 tỉnh, thành phố và 3.321 xã, phường, đặc khu."""
    return f"{formats.count(provinces)} tỉnh, thành phố và {formats.count(communes)} xã, phường, đặc khu"


def rebase_note(con: duckdb.DuckDBPyConnection, period: str) -> dict[str, Any]:
    """Was ``period`` re-based onto the units in force since 1 July 2025, and how.

    ``rebased`` is true when some loaded value was mapped from the units before
    the reform (through the crosswalk, apportioned or not). The dict also gives
    the files concerned, the rows and values mapped, the apportioning rule(s),
    re-based values some of whose legacy units did not report
    (``values_incomplete``), the crosswalk's source and a sentence in each
    language for the release.
    """
    provinces, communes = _unit_counts(con)
    summary = match_summary(con, period)
    files = summary[(summary["rows_crosswalk"] > 0) | (summary["rows_apportioned"] > 0)]
    dv = _columns(con, "raw.data_values")
    values = {"rebased": 0, "apportioned": 0, "incomplete": 0}
    if {"match_method", "rebase_complete"} <= dv:
        row = con.execute(
            """select count(*) filter (where match_method in ('crosswalk', 'apportioned')),
                      count(*) filter (where match_method = 'apportioned'),
                      count(*) filter (where rebase_complete = false)
               from raw.data_values where period = ?""", [period]).fetchone()
        values = {"rebased": int(row[0]), "apportioned": int(row[1]), "incomplete": int(row[2])}
    rebased = len(files) > 0 or values["rebased"] > 0
    rules = sorted({r for r in files["apportion_rule"] if isinstance(r, str)})
    sectors = sorted(set(files["sector"]))
    rows_crosswalk = int(files["rows_crosswalk"].sum())
    rows_apportioned = int(files["rows_apportioned"].sum())
    before = _before_reform(period)
    try:
        from pipelines.units.crosswalk import package_version

        source = package_version()
    except Exception:  # noqa: BLE001 - the note is still written without the package's version
        source = "vietnamadminunits"
    note_vi, note_en = _note_texts(period, rebased, before, units_text_vi(provinces, communes),
                                  f"{provinces} provinces and {communes:,} communes", sectors, rules, source,
                                  rows_crosswalk, rows_apportioned, values["incomplete"])
    from pipelines.units.unmapped import unmapped_note  # old communes counted in their province only

    unmapped = unmapped_note(con, period)
    if unmapped:
        note_vi, note_en = f"{note_vi} {unmapped['note_vi']}", f"{note_en} {unmapped['note_en']}"
    return {
        "period": period,
        "rebased": rebased,
        "before_reform": before,
        "unit_scheme": "2025",
        "provinces": provinces,
        "communes": communes,
        "sectors": sectors,
        "files": [{"sector": r.sector, "source_file": r.source_file, "file_format": r.file_format,
                   "unit_scheme": r.unit_scheme, "rows_crosswalk": int(r.rows_crosswalk),
                   "rows_apportioned": int(r.rows_apportioned), "apportion_rule": r.apportion_rule}
                  for r in files.itertuples(index=False)],
        "rows_crosswalk": rows_crosswalk,
        "rows_apportioned": rows_apportioned,
        "values_rebased": values["rebased"],
        "values_apportioned": values["apportioned"],
        "values_incomplete": values["incomplete"],
        "apportion_rules": rules,
        "crosswalk_source": source if rebased else None,
        "unmapped": unmapped,
        "note_vi": note_vi,
        "note_en": note_en,
    }


def _note_texts(period: str, rebased: bool, before: bool, units_vi: str, units_en: str, sectors: list[str],
                rules: list[str], source: str, rows_crosswalk: int, rows_apportioned: int,
                incomplete: int) -> tuple[str, str]:
    """The sentence of :func:`rebase_note` in Vietnamese and in English (``templates/rebase_note_*.txt``)."""
    values = dict(period=period, rebased=rebased, before=before, sectors=sectors, rules=rules, source=source,
                  rows_crosswalk=rows_crosswalk, rows_apportioned=rows_apportioned, incomplete=incomplete)
    return (render(TEMPLATES, "rebase_note_vi.txt", units=units_vi, **values).strip(),
            render(TEMPLATES, "rebase_note_en.txt", units=units_en, **values).strip())
