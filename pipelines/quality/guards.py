"""Checks that keep a broken or hostile period from being published at all.

* ``completeness.sector_files`` (blocking): every sector of the methodology
  sent data for the period; a sector with no file (or no row loaded) is
  named, with the folder its file belongs in;
* ``consistency.value_bounds`` (blocking): no reported value is above the
  hard bounds of the methodology (``quality.value_bounds``): the largest
  value one unit may report, and at most so many per child of the commune;
* ``output.enough_ranked`` (blocking): at least two provinces can be ranked
  (a ranking of one, or of none, is no ranking; the rank robustness step
  needs two);
(``output.previous_release``, whether the previous period has a release, is
publication's own check: ``pipelines.publish.previous``.)

Like every check of the gate, a failure is waivable in ``waivers.yaml``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from pipelines.methodology import Methodology
from pipelines.checks.catalogue import catalogue_result, message
from pipelines.checks.core import BLOCKING, CheckResult
from pipelines.checks.keys import MARTS_DATA_VALUES, MARTS_RANKING
from pipelines.warehouse import table_exists

MIN_RANKED = 2


def sector_files(con: duckdb.DuckDBPyConnection, period: str, m: Methodology) -> CheckResult:
    """Every sector with mandatory data elements sent at least one file with at least one row (or record) loaded."""
    sectors = pd.DataFrame(
        [(s.code, s.name_vi, s.name_en) for s in m.sectors
         if any(e.mandatory and e.sector == s.code for e in m.data_elements)],
        columns=["sector", "sector_name", "sector_name_en"])
    # a sector whose data comes record by record (a registry extract, raw.registry_files) sent data too
    registry_files = ("select period, sector, source_file, rows_loaded from raw.registry_files"
                      if table_exists(con, "raw.registry_files") else
                      "select null::varchar as period, null::varchar as sector, null::varchar as source_file, "
                      "0::bigint as rows_loaded where false")
    cur = con.cursor()  # its own cursor: the gate's connection may hold an unfinished result
    cur.register("_sectors", sectors)
    try:
        failures = cur.execute(
            """
            with files as (
                select sector, count(distinct source_file) as files from (
                    select sector, source_file from raw.ingest_files where period = ?
                    union all select sector, source_file from ({registry_files}) where period = ?
                ) group by all
            ),
            loaded as (
                select sector, sum(n) as values_loaded from (
                    select sector, count(*) as n from raw.data_values where period = ? group by all
                    union all select sector, sum(rows_loaded) from ({registry_files}) where period = ? group by all
                ) group by all
            )
            select s.sector, s.sector_name, coalesce(f.files, 0) as files, coalesce(l.values_loaded, 0) as values_loaded
            from _sectors s left join files f using (sector) left join loaded l using (sector)
            where coalesce(l.values_loaded, 0) = 0
            order by s.sector
            """.format(registry_files=registry_files),
            [period, period, period, period],
        ).df()
    finally:
        cur.close()
    code = "completeness.sector_files"
    names = "; ".join(
        message(code, "sector", name=r.sector_name, sector=r.sector, period=period,
                state=message(code, "no_file") if r.files == 0 else message(code, "no_row", files=r.files))
        for r in failures.itertuples(index=False))
    return catalogue_result(
        code, failures, severity=BLOCKING, asset="ingest", title_vi="Đủ số liệu của mọi ngành", unit_column=None,
        period=period, sectors=len(sectors), names=names,
    )


def bounds_table(m: Methodology) -> pd.DataFrame:
    """data_element, max_value, max_per_child: the methodology's hard bound of each data element."""
    b = m.value_bounds
    rows = [(e.code, b.max_value(e), b.max_per_child.get(e.code)) for e in m.data_elements if e.kind != "unit_count"]
    rows = [r for r in rows if r[1] is not None or r[2] is not None]
    return pd.DataFrame(rows, columns=["data_element", "max_value", "max_per_child"]).astype(
        {"max_value": "float64", "max_per_child": "float64"})


def value_bounds(con: duckdb.DuckDBPyConnection, period: str, m: Methodology) -> CheckResult:
    """Reported values above the methodology's hard bounds, one row per value, naming its file and row."""
    bounds = bounds_table(m)
    cur = con.cursor()
    cur.register("_bounds", bounds)
    try:
        failures = cur.execute(
            """
            with v as (
                select unit_code, data_element, value, source_file, row_number
                from raw.data_values where period = ? and disaggregation = ''
            ),
            children as (select unit_code, sum(value) as children from v where data_element = ? group by all)
            select v.unit_code, v.data_element, v.value, b.max_value,
                   b.max_per_child, c.children, v.source_file, v.row_number
            from v join _bounds b using (data_element) left join children c using (unit_code)
            where v.value > b.max_value
               or (b.max_per_child is not null and c.children > 0 and v.value > b.max_per_child * c.children)
            order by v.source_file, v.row_number, v.unit_code, v.data_element
            """,
            [period, m.value_bounds.per_child_of or ""],
        ).df()
    finally:
        cur.close()
    return catalogue_result(
        "consistency.value_bounds", failures, severity=BLOCKING,
        asset=MARTS_DATA_VALUES, title_vi="Giá trị báo cáo không vượt giới hạn hợp lý", elements=len(bounds),
    )


def enough_ranked(con: duckdb.DuckDBPyConnection, period: str) -> CheckResult:
    """At least two provinces of the period have a rank."""
    ranking = con.execute(
        "select province_code, province_name, rank, not_ranked_reason from marts.fct_province_ranking "
        "where period = ? order by province_code", [period]).df()
    ranked = int(ranking["rank"].notna().sum())
    failures = ranking[ranking["rank"].isna()] if ranked < MIN_RANKED else ranking.iloc[0:0]
    return catalogue_result(
        "output.enough_ranked", failures[["province_code", "province_name", "not_ranked_reason"]],
        severity=BLOCKING, asset=MARTS_RANKING, title_vi="Đủ tỉnh để xếp hạng", unit_column=None,
        ranked=ranked, needed=MIN_RANKED,
    )


__all__ = ["sector_files", "value_bounds", "bounds_table", "enough_ranked", "MIN_RANKED"]
