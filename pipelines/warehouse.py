"""The DuckDB warehouse: one file, one writer at a time.

Every step opens a connection, does its work and closes it before the next
step starts (runs use the in-process executor, and the run queue lets one run
at a time write). Readers that may run beside a writer open read-only.
dbt runs in a subprocess: no connection may be open in this process then.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

# Tables the Python assets write. dbt reads them as sources (dbt_project/models/staging/*/_*__sources.yml).
RAW_DDL = """
create schema if not exists raw;
create schema if not exists ref;
create schema if not exists quality;

create table if not exists raw.data_values (
    period          varchar not null,   -- 'YYYY', later 'YYYYH1' / 'YYYYH2'
    sector          varchar not null,   -- landing folder: health, education, ...
    unit_code       varchar not null,   -- 5-digit commune or 2-digit province code (2025 scheme)
    data_element    varchar not null,   -- code from the methodology file
    disaggregation  varchar not null default '',  -- '' = total; e.g. 'sex=F'
    value           double  not null,
    unit_name       varchar,            -- as written in the file
    comment         varchar,
    source_file     varchar not null,   -- path relative to the landing folder
    file_sha256     varchar not null,
    row_number      integer not null,   -- line in the source file (header = 1)
    loaded_at       timestamp not null
);

create table if not exists raw.rejected_rows (
    period          varchar,
    sector          varchar,
    source_file     varchar not null,
    file_sha256     varchar,
    row_number      integer,            -- null when the whole file is rejected
    column_name     varchar,            -- null when the whole row or file is concerned
    value           varchar,
    check_code      varchar not null,   -- e.g. ingest.unknown_unit
    reason          varchar not null,   -- plain words, Vietnamese / English
    raw_record      varchar,            -- the row as it arrived
    loaded_at       timestamp not null
);

create table if not exists raw.ingest_files (
    period          varchar not null,
    sector          varchar not null,
    source_file     varchar not null,
    file_sha256     varchar not null,
    encoding        varchar,
    rows_total      integer not null,
    rows_loaded     integer not null,
    rows_rejected   integer not null,
    received_at     timestamp,          -- file modification time
    loaded_at       timestamp not null
);

-- How the rows of each landing file found their 2025 unit (one row per raw.ingest_files row; a table of its own
-- so that raw.ingest_files keeps its columns). rows_by_code + rows_by_name + rows_crosswalk + rows_apportioned
-- = raw.ingest_files.rows_loaded.
create table if not exists raw.ingest_file_units (
    period          varchar not null,
    sector          varchar not null,
    source_file     varchar not null,
    file_sha256     varchar not null,
    file_format     varchar,            -- csv | xlsx | other
    unit_scheme     varchar,            -- 2025 | legacy | mixed (null: no data row read)
    rows_by_code    integer not null,   -- 2025 unit code
    rows_by_name    integer not null,   -- 2025 unit name, matched after normalisation
    rows_crosswalk  integer not null,   -- a unit before 1 July 2025, mapped whole
    rows_apportioned integer not null,  -- an old commune split between several new ones
    apportion_rule  varchar,            -- area | equal (files with legacy rows)
    loaded_at       timestamp not null
);

create table if not exists quality.check_results (
    run_id          varchar not null,
    period          varchar not null,
    check_code      varchar not null,
    asset           varchar,
    severity        varchar not null,   -- blocking | warning
    passed          boolean not null,
    failures        integer not null,
    message         varchar,
    examples        varchar,            -- JSON list of dicts
    evaluated_at    timestamp not null
);
"""


# Columns appended after the first release of the tables (``create table if not exists`` leaves a warehouse
# made before them as it was): added when missing, with defaults, so existing columns keep their meaning.
# (Write these tables by column name: ``insert into raw.data_values by name ...``.)
RAW_ADDED_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "raw.data_values": [
        # how the row found its 2025 unit: code | name | crosswalk | apportioned (part of a split old commune)
        ("match_method", "varchar default 'code'"),
        # legacy units summed into the value, ';'-separated; a split commune with its share ('00019×0.3441')
        ("source_units", "varchar"),
        # rebased values: did every legacy unit the new unit was made of report? (null: not rebased)
        ("rebase_complete", "boolean"),
    ],
}


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(RAW_DDL)
    for table, columns in RAW_ADDED_COLUMNS.items():
        schema, name = table.split(".")
        have = {r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, name]).fetchall()}
        for column, spec in columns:
            if column not in have:
                con.execute(f"alter table {table} add column {column} {spec}")
    from pipelines.registries.tables import ensure_registry_tables  # raw.registry_* (methodology/registries.yaml)

    ensure_registry_tables(con)


@contextmanager
def connect(path: Path | str | None = None, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse, and always close it."""
    if path is None:
        from pipelines.settings import get_settings

        path = get_settings().warehouse_path
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def replace_table(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> int:
    """Replace ``schema.table`` with the rows of ``df``; returns the row count."""
    schema = table.split(".")[0]
    con.execute(f"create schema if not exists {schema}")
    con.register("_replace_df", df)
    try:
        con.execute(f"create or replace table {table} as select * from _replace_df")
    finally:
        con.unregister("_replace_df")
    return len(df)


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )
