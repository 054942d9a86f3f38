"""The warehouse tables of the record-level registries (written by ``pipelines.registries.load``).

``raw.registry_<code>``: the accepted records, one per key and period, identifiers replaced by their
pseudonym (``<column>`` ending ``_id`` becomes ``<stem>_key``, the first 128 bits of HMAC-SHA256 as hex);
``raw.rejected_records``: every refused record or file, with its check code and reason (never the
identifier); ``raw.registry_files``: one row per extract file; ``raw.registry_elements``: the data elements
each registry produced for a period, with the rule (what the conflict check and the dbt models read);
``raw.registry_rule_inputs``: a view of the accepted records by the data element they produce, the columns
each rule reads under the names of their roles (what the dbt models read).
"""

from __future__ import annotations

import duckdb

from pipelines.registries.spec import Column, Registries, Registry, RegistryError, load_registries

SQL_TYPES = {"varchar": "varchar", "date": "date", "integer": "bigint"}

COMMON_DDL = """
create schema if not exists raw;

create table if not exists raw.rejected_records (
    period          varchar not null,
    registry        varchar not null,   -- registry code (methodology/registries.yaml)
    sector          varchar,
    source_file     varchar not null,   -- path relative to the landing folder
    file_sha256     varchar,
    row_number      bigint,             -- record of the file (CSV: line, header = 1); null: the whole file
    column_name     varchar,
    value           varchar,            -- the refused value (never an identifier)
    check_code      varchar not null,   -- e.g. registry.duplicate_key
    reason          varchar not null,
    record_key      varchar,            -- pseudonym of the record's identifier, when it has one
    loaded_at       timestamp not null
);

create table if not exists raw.registry_files (
    period          varchar not null,
    registry        varchar not null,
    sector          varchar,
    source_file     varchar not null,
    file_sha256     varchar not null,
    file_format     varchar,
    rows_total      bigint not null,
    rows_loaded     bigint not null,
    rows_rejected   bigint not null,
    loaded_at       timestamp not null
);

create table if not exists raw.registry_elements (
    period          varchar not null,
    registry        varchar not null,
    data_element    varchar not null,
    rule            varchar not null,
    days            integer,            -- within_days
    params          varchar,            -- every parameter of the rule, JSON
    loaded_at       timestamp not null
);
"""


def stored_name(column: Column) -> str:
    """The warehouse column of a declared column: an identifier ``child_id`` is stored as ``child_key``."""
    if not column.identifier:
        return column.name
    return (column.name[:-3] if column.name.endswith("_id") else column.name) + "_key"


def record_ddl(registry: Registry) -> str:
    cols = ",\n    ".join(
        f"{stored_name(c)} {'varchar' if c.identifier else SQL_TYPES[c.type]}" for c in registry.columns)
    return (f"create table if not exists {registry.table} (\n    period varchar not null,\n"
            f"    source_file varchar not null,\n    file_sha256 varchar not null,\n    row_number bigint not null,\n"
            f"    {cols},\n    loaded_at timestamp not null\n);")


RULE_INPUTS = "raw.registry_rule_inputs"
# the roles of a rule's fields (methodology/registries.yaml) -> the view's column and its type
ROLES = {"key": ("subject_key", "varchar"), "from": ("from_date", "date"), "to": ("to_date", "date"),
         "date": ("event_date", "date"), "birth": ("birth_date", "date"), "code": ("code", "varchar")}


def rule_inputs_sql(registries: Registries) -> str:
    """``raw.registry_rule_inputs``: one row per accepted record and data element its registry produces,
    with the columns the element's rule reads under the names of their roles (``ROLES``), so that one dbt
    model (``int_registry_element_values``) applies every rule of every registry. A view: nothing copied."""
    parts = []
    for registry in registries.registries:
        by_name = {c.name: c for c in registry.columns}
        for p in registry.produces:
            cols = []
            for role, (name, kind) in ROLES.items():
                column = p.param(role)
                value = f"cast({stored_name(by_name[column])} as {kind})" if column in by_name else f"null::{kind}"
                cols.append(f"{value} as {name}")
            parts.append(f"select period, '{registry.code}' as registry_code, '{p.data_element}' as data_element, "
                         f"cast({registry.commune} as varchar) as commune_code, {', '.join(cols)} "
                         f"from {registry.table}")
    if not parts:
        cols = ", ".join(f"null::{kind} as {name}" for name, kind in ROLES.values())
        parts.append("select null::varchar as period, null::varchar as registry_code, null::varchar as data_element, "
                     f"null::varchar as commune_code, {cols} where false")
    return f"create or replace view {RULE_INPUTS} as\n" + "\nunion all\n".join(parts)


def ensure_registry_tables(con: duckdb.DuckDBPyConnection, registries: Registries | None = None) -> None:
    """Create the registry tables that do not exist yet (every declared registry, loaded or not), and the
    view of their records by rule."""
    registries = registries or load_registries()
    con.execute(COMMON_DDL)
    for registry in registries.registries:
        _drop_if_outdated(con, registry)
        con.execute(record_ddl(registry))
    con.execute(rule_inputs_sql(registries))


def _drop_if_outdated(con: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    """A registry table made for other columns than the declaration's (an earlier version of
    methodology/registries.yaml): dropped when it holds no record, so that it is made again; refused with a
    sentence when it holds records, which are never dropped silently."""
    schema, name = registry.table.split(".")
    have = [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, name]).fetchall()]
    want = ["period", "source_file", "file_sha256", "row_number", *(stored_name(c) for c in registry.columns),
            "loaded_at"]
    if not have or have == want:
        return
    if con.execute(f"select count(*) from {registry.table}").fetchone()[0] == 0:
        con.execute(f"drop view if exists {RULE_INPUTS}")
        con.execute(f"drop table {registry.table}")
        return
    raise RegistryError(
        f"{registry.table} holds records with the columns {', '.join(have)}, but methodology/registries.yaml now "
        f"declares {', '.join(want)} for the registry '{registry.code}'. Nothing was changed: export the records "
        f"if they are still needed, drop the table ({registry.table}) and load the period's extracts again.")


def registry_tables(registries: Registries) -> tuple[str, ...]:
    return ("raw.rejected_records", "raw.registry_files", "raw.registry_elements",
            *(r.table for r in registries.registries))  # and the view RULE_INPUTS over them
