"""The quality gate's checks of the record-level registries (an extra check of the gate).

* ``registry.<check>``: the records refused at ingest, one result per check code, with the count and a
  sample naming file, record and column (never the value, the identifier or a date: check results are
  copied into the release manifest; the refused values stay in ``raw.rejected_records``). A record
  refused means a count short by one: blocking, except a repeated key (the first record is kept): warning.
* ``registry.aggregate_conflict``: a data element loaded from a registry for the period is also in an
  aggregate landing file of the same period; blocking, naming the element, the registry and the file.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.checks.catalogue import severity_of
from pipelines.checks.core import CheckResult, result_from_failures
from pipelines.checks.keys import REGISTRIES
from pipelines.registries.load import CHECKS

ASSET = REGISTRIES
CONFLICT = "registry.aggregate_conflict"


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? "
                            "and table_name = ?", [schema, name]).fetchone()[0])


def rejected_checks(con: duckdb.DuckDBPyConnection, period: str) -> list[CheckResult]:
    """One result per check code, when a registry extract was loaded for the period."""
    if not _exists(con, "raw.registry_files") or not con.execute(
            "select count(*) from raw.registry_files where period = ?", [period]).fetchone()[0]:
        return []
    rejects = con.execute(
        "select registry, source_file, row_number, column_name, check_code, reason from raw.rejected_records "
        "where period = ? order by registry, source_file, row_number nulls first", [period]).df()
    out = []
    for code, (vi, en) in CHECKS.items():
        failures = rejects[rejects.check_code == code]
        counts = failures.groupby("registry").size().to_dict()
        out.append(result_from_failures(
            code, severity_of(code), failures,
            ok_message=f"No record refused: {en}",
            fail_message=(f"{{n}} bản ghi bị từ chối: {vi} / {{n}} records refused: {en} ("
                          + ", ".join(f"{r} {n}" for r, n in counts.items()) + "); see raw.rejected_records"),
            asset=ASSET, title_vi=vi, unit_column=None,
        ))
    return out


def aggregate_conflicts(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """(data_element, registry, source_file, rows): aggregate rows of elements the registries produced."""
    if not _exists(con, "raw.registry_elements"):
        return pd.DataFrame(columns=["data_element", "registry", "source_file", "rows"])
    return con.execute(
        """
        select d.data_element, e.registry, d.source_file, count(*) as rows
        from raw.data_values d
        join raw.registry_elements e on e.period = d.period and e.data_element = d.data_element
        where d.period = ?
        group by all
        order by d.data_element, d.source_file
        """, [period]).df()


def conflict_check(con: duckdb.DuckDBPyConnection, period: str) -> CheckResult:
    failures = aggregate_conflicts(con, period)
    named = "; ".join(f"{r.data_element} ({r.registry} / {r.source_file})" for r in failures.head(5).itertuples())
    return result_from_failures(
        CONFLICT, severity_of(CONFLICT), failures,
        ok_message="No data element comes both from a registry extract and from an aggregate file",
        fail_message=("{n} chỉ tiêu vừa có từ sổ đăng ký vừa có trong tệp tổng hợp / {n} data elements come both "
                      f"from a registry extract and an aggregate file: {named}. Remove the element from the "
                      "aggregate file, or the registry extract from the landing folder"),
        asset=ASSET, title_vi="Chỉ tiêu trùng nguồn: sổ đăng ký và tệp tổng hợp", unit_column=None,
    )


def registry_checks(con: duckdb.DuckDBPyConnection, period: str, m=None) -> list[CheckResult]:
    """Every registry check of the period (the signature of the gate's extra checks)."""
    return [*rejected_checks(con, period), conflict_check(con, period)]


REGISTRY_COUNTS = "intermediate.int_registry_element_values"


def registry_counts(con: duckdb.DuckDBPyConnection, period: str) -> str:
    """SQL to add to a ``select unit_code, data_element`` of reported values: the registries' commune counts
    of the period (a commune a registry extract covers has reported its elements). Empty before dbt ran."""
    if not _exists(con, REGISTRY_COUNTS):
        return ""
    return f"union select unit_code, data_element from {REGISTRY_COUNTS} where period = '{period.replace(chr(39), '')}'"
