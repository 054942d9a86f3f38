"""The warehouse as the release reads it: the period, the marts' columns, the input files, the methodology hash.

Only reads (``marts.*``, ``raw.ingest_files``, ``ref.methodology``); the first stop for a release that cannot be
built (:class:`ReleaseError`, with a sentence saying why).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

PERIOD_RE = re.compile(r"^\d{4}(?:H[12])?$")


class ReleaseError(RuntimeError):
    """A release cannot be built or written; the message says why."""



_MART_COLUMNS = {
    "marts.fct_province_ranking": [
        "period", "province_code", "province_name", "pcri", "rank", "tier", "tier_name_vi", "tier_name_en",
        "previous_rank", "rank_change", "indicators_used", "indicators_total", "not_ranked_reason"],
    "marts.fct_domain_scores": [
        "period", "unit_level", "province_code", "domain_code", "domain_name_vi", "domain_name_en", "score",
        "indicators_used", "indicators_total"],
    "marts.fct_indicator_values": [
        "period", "unit_level", "unit_code", "unit_name", "province_code", "indicator_code", "numerator",
        "denominator", "value", "score"],
    "marts.dim_indicator": ["indicator_code", "is_sensitive"],
}

_SQL = {
    "province_ranking": """
        select period, province_code, province_name, pcri, rank, tier, rank_change, indicators_used,
               indicators_total, not_ranked_reason, tier_name_vi as tier_name, tier_name_en, previous_rank
        from marts.fct_province_ranking where period = ?""",
    "domain_scores": """
        select period, province_code, domain_code, domain_name_vi as domain_name, score, domain_name_en,
               indicators_used, indicators_total
        from marts.fct_domain_scores where period = ? and unit_level = 'province'""",
    "indicator_values": """
        select period, unit_level, unit_code, unit_name, province_code, indicator_code, numerator, denominator,
               value, score
        from marts.fct_indicator_values where period = ?""",
}



def _check_period(period: str) -> str:
    if not isinstance(period, str) or not PERIOD_RE.match(period):
        raise ReleaseError(f"'{period}' is not a period: expected YYYY, YYYYH1 or YYYYH2")
    return period


def _table_columns(con, table: str) -> list[str] | None:
    schema, name = table.split(".")
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, name]).fetchall()
    return [r[0] for r in rows] or None


def _require_columns(con, table: str, wanted: Sequence[str]) -> None:
    have = _table_columns(con, table)
    if have is None:
        raise ReleaseError(f"the warehouse has no table {table} (run the dbt models first)")
    missing = [c for c in wanted if c not in have]
    if missing:
        raise ReleaseError(f"{table} has no column '{missing[0]}' (the architecture contract lists it)")


def read_input_files(con, period: str) -> list[dict[str, Any]]:
    """The landing files the period's data came from (``raw.ingest_files``; the latest load of each file)."""
    _require_columns(con, "raw.ingest_files",
                     ["period", "sector", "source_file", "file_sha256", "rows_total", "rows_loaded", "rows_rejected",
                      "loaded_at"])
    rows = con.execute("""
        select sector, source_file, file_sha256, rows_total, rows_loaded, rows_rejected
        from raw.ingest_files where period = ?
        qualify row_number() over (partition by sector, source_file order by loaded_at desc, file_sha256) = 1
        order by sector, source_file""", [period]).fetchall()
    return [
        {"source_file": r[1], "sector": r[0], "sha256": r[2], "rows": int(r[3]), "rows_loaded": int(r[4]),
         "rows_rejected": int(r[5])}
        for r in rows
    ]


def _warehouse_methodology_sha(con) -> str | None:
    cols = _table_columns(con, "ref.methodology")
    if not cols or "file_sha256" not in cols:
        return None
    row = con.execute("select file_sha256 from ref.methodology limit 1").fetchone()
    return row[0] if row else None
