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

from pipelines.checks.catalogue import catalogue_result, message, severity_of
from pipelines.checks.core import CheckResult
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
        out.append(catalogue_result(
            code, failures, severity=severity_of(code), asset=ASSET, title_vi=vi, unit_column=None,
            check_vi=vi, check_en=en, counts=", ".join(f"{r} {n}" for r, n in counts.items()),
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
    named = "; ".join(message(CONFLICT, "element", element=r.data_element, registry=r.registry, file=r.source_file)
                      for r in failures.head(5).itertuples())
    return catalogue_result(
        CONFLICT, failures, severity=severity_of(CONFLICT), asset=ASSET,
        title_vi="Chỉ tiêu trùng nguồn: sổ đăng ký và tệp tổng hợp", unit_column=None, named=named,
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
