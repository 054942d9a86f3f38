"""Ingest of a registry extract: landing files straight into DuckDB, checked, pseudonymised.

``landing/<period>/<sector>/<files>.parquet`` (or ``.csv``) are read by DuckDB (``read_parquet`` /
``read_csv``), never row by row in Python. Every record is checked against the declaration (first failing
check wins): a required value missing, a value of the wrong type or not among the allowed ones, a date
out of range (before ``min_date`` or after the day of loading), dates in the wrong order, a record outside
the period, an unknown commune, the same key twice (the first record by file and row is kept). Accepted
records go to ``raw.registry_<code>`` with their identifiers replaced by a keyed pseudonym; refused ones
to ``raw.rejected_records`` with the check code and the reason. The period's rows of the registry are
replaced in one transaction.

The pseudonym is HMAC-SHA256 of the identifier with the key in ``CRI_PSEUDONYM_KEY`` (else the file
``$CRI_HOME/pseudonym.key``, outside the repository), truncated to 128 bits (32 hex characters). DuckDB has
no HMAC function: it is spelt from its ``sha256`` over blobs (``register_pseudonym``), checked against
Python's ``hmac``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from pipelines.registries.spec import Registries, Registry
from pipelines.registries.tables import ensure_registry_tables, stored_name

KEY_ENV = "CRI_PSEUDONYM_KEY"
KEY_FILE = "pseudonym.key"
PSEUDONYM_FUNCTION = "cri_pseudonym"
PSEUDONYM_HEX = 32  # 128 bits of HMAC-SHA256
MEMORY_ENV = "CRI_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "1GB"

# check code -> (Vietnamese, English) reason; the column is named after it
CHECKS: dict[str, tuple[str, str]] = {
    "registry.missing_column": ("Tệp thiếu cột bắt buộc", "the file lacks a declared column"),
    "registry.unreadable_file": ("Không đọc được tệp", "the file cannot be read"),
    "registry.missing_value": ("Ô bắt buộc bị trống", "a required value is empty"),
    "registry.bad_value": ("Giá trị sai kiểu hoặc không thuộc danh mục", "a value of the wrong type or not allowed"),
    "registry.date_out_of_range": ("Ngày nằm ngoài khoảng cho phép", "a date before the earliest date or in the future"),
    "registry.date_order": ("Ngày trước ngày mà nó phải sau", "a date earlier than the date it must follow"),
    "registry.period_mismatch": ("Bản ghi không thuộc kỳ báo cáo", "the record's date is outside the period"),
    "registry.unknown_unit": ("Mã xã không có trong danh mục", "the commune code is not a 2025 commune"),
    "registry.duplicate_key": ("Trùng bản ghi (đã giữ bản ghi đầu tiên)", "the same key again (the first is kept)"),
}


class PseudonymKeyMissing(RuntimeError):
    """No pseudonymisation key is configured."""


def pseudonym_key(home: Path | None = None) -> bytes:
    """The HMAC key: ``CRI_PSEUDONYM_KEY``, else ``$CRI_HOME/pseudonym.key``; never in the repository."""
    value = os.environ.get(KEY_ENV, "").strip()
    if not value and home is not None and (Path(home) / KEY_FILE).is_file():
        value = (Path(home) / KEY_FILE).read_text(encoding="utf-8").strip()
    if not value:
        raise PseudonymKeyMissing(
            f"Chưa có khóa mã hóa định danh / no pseudonymisation key: set {KEY_ENV} (or write it to "
            f"$CRI_HOME/{KEY_FILE}) before loading record-level extracts; `cri demo-data --records N` makes one")
    return value.encode("utf-8")


def pseudonymise(key: bytes, value: str) -> str:
    """The pseudonym of one identifier (what the warehouse function computes, for tests and operators)."""
    return hmac.digest(key, value.encode("utf-8"), "sha256").hex()[:PSEUDONYM_HEX]


def _pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer padded keys (RFC 2104; SHA-256 blocks are 64 bytes)."""
    key = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def register_pseudonym(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """``cri_pseudonym(varchar) -> varchar`` in ``con`` (a temporary macro, gone with the connection).

    HMAC-SHA256 spelt with DuckDB's own ``sha256`` over blobs: sha256(outer || sha256(inner || id)), the
    padded keys as constants; vectorised and parallel in the engine (a Python function over Arrow batches
    measured 3-4 times slower here, on one core).
    """
    inner, outer = _pads(key)
    con.execute(f"create or replace temp macro {PSEUDONYM_FUNCTION}(x) as "
                f"left(sha256(unhex('{outer.hex()}') || unhex(sha256(unhex('{inner.hex()}') || encode(x)))), "
                f"{PSEUDONYM_HEX})")


def configure(con: duckdb.DuckDBPyConnection, temp_dir: Path) -> None:
    """Bound the memory DuckDB uses; beyond it, it spills to ``temp_dir``."""
    temp_dir.mkdir(parents=True, exist_ok=True)
    con.execute(f"set memory_limit = '{os.environ.get(MEMORY_ENV) or DEFAULT_MEMORY_LIMIT}'")
    con.execute(f"set temp_directory = '{temp_dir.as_posix()}'")
    con.execute("set preserve_insertion_order = false")


def period_bounds(period: str) -> tuple[date, date]:
    year = int(period[:4])
    if period.endswith("H1"):
        return date(year, 1, 1), date(year, 6, 30)
    if period.endswith("H2"):
        return date(year, 7, 1), date(year, 12, 31)
    return date(year, 1, 1), date(year, 12, 31)


def landing_files(folder: Path, registry: Registry) -> list[Path]:
    """The registry's extract files in a sector folder: ``<files>.parquet`` and ``<files>.csv``, sorted."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(registry.files)
                  if p.is_file() and not p.is_symlink() and p.suffix.lower() in (".parquet", ".csv"))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class LoadSummary:
    registry: str
    period: str
    files: int = 0
    rows_total: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    by_check: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _reader(path: Path) -> str:
    p = _lit(path.as_posix())
    if path.suffix.lower() == ".parquet":
        return f"(select *, file_row_number + 1 as _row from read_parquet({p}, file_row_number = true))"
    # a CSV line number: the header is line 1 (read in file order)
    return (f"(select *, row_number() over () + 1 as _row from read_csv({p}, header = true, all_varchar = true, "
            f"auto_detect = true))")


def _typed(registry: Registry, types: dict[str, str]) -> tuple[list[str], list[str]]:
    """Per declared column: the text as read (empty = null) and the typed value."""
    raw, typed = [], []
    for c in registry.columns:
        col = _q(c.name)
        native = types.get(c.name, "").upper()
        text = col if native == "VARCHAR" else f"cast({col} as varchar)"
        if c.type == "date" and native == "DATE":  # typed already: only whether it is empty (no text to cast)
            raw.append(f"if({col} is null, null, '') as {_q('_raw_' + c.name)}")
        else:
            raw.append(f"nullif(trim({text}), '') as {_q('_raw_' + c.name)}")
        if c.type == "date":
            value = col if native == "DATE" else f"try_cast(nullif(trim({text}), '') as date)"
        elif c.type == "integer":
            value = f"try_cast(nullif(trim({text}), '') as bigint)"
        else:
            value = f"nullif(trim({text}), '')"
        typed.append(f"{value} as {_q(c.name)}")
    return raw, typed


def _conditions(registry: Registry, period: str, min_date: str) -> list[tuple[str, str, str]]:
    """(condition, check code, column), in the order they are tried."""
    out = []
    for c in registry.columns:
        if c.required:
            out.append((f"{_q('_raw_' + c.name)} is null", "registry.missing_value", c.name))
    for c in registry.columns:
        out.append((f"{_q('_raw_' + c.name)} is not null and {_q(c.name)} is null", "registry.bad_value", c.name))
        if c.values:
            allowed = ", ".join(_lit(v) for v in c.values)
            out.append((f"{_q(c.name)} not in ({allowed})", "registry.bad_value", c.name))
    today = datetime.now(UTC).date().isoformat()
    for c in registry.columns:
        if c.type == "date":
            late = "" if c.future else f" or {_q(c.name)} > date {_lit(today)}"
            out.append((f"{_q(c.name)} < date {_lit(min_date)}{late}", "registry.date_out_of_range", c.name))
    for c in registry.columns:
        if c.not_before:
            out.append((f"{_q(c.name)} < {_q(c.not_before)}", "registry.date_order", c.name))
    if registry.period_date:
        out.append((_period_mismatch(registry, period), "registry.period_mismatch", registry.period_date))
    out.append((f"{_q(registry.commune)} not in (select unit_code from _registry_communes)",
                "registry.unknown_unit", registry.commune))
    return out


def _period_mismatch(registry: Registry, period: str) -> str:
    """The condition of a record outside the period: its date (plus ``period_years``) not in the period,
    or, with ``period_until``, its span from ``period_date`` to ``period_until`` (empty: open) not meeting it."""
    start, end = period_bounds(period)
    day = _q(registry.period_date)
    if registry.period_until:
        return f"{day} > date '{end}' or coalesce({_q(registry.period_until)}, date '{end}') < date '{start}'"
    if registry.period_years:
        day = f"cast({day} + interval {int(registry.period_years)} year as date)"
    return f"{day} not between date '{start}' and date '{end}'"


def _file_problem(con, path: Path, registry: Registry) -> tuple[str | None, str | None, dict[str, str]]:
    """(check code, column) refusing the whole file, or (None, None, the column types)."""
    try:
        described = con.execute(f"describe select * from {_reader(path)}").fetchall()
    except duckdb.Error:
        return "registry.unreadable_file", None, {}
    types = {r[0]: str(r[1]) for r in described}
    missing = [c.name for c in registry.columns if c.name not in types]
    if missing:
        return "registry.missing_column", ", ".join(missing), {}
    return None, None, types


# a record's place in the extract, in file then row order, as one number (rows of a file < 2^40)
_PLACE = "(({t}_file::bigint << 40) + {t}_row)"


def _checked_view(con, registry: Registry, period: str, min_date: str,
                  files: list[tuple[Path, str, str, dict[str, str]]]) -> None:
    """``_registry_checked``: every record with its first failing check (``_code``/``_column``, null: none)."""
    parts = []
    for index, (path, relative, sha, types) in enumerate(files):
        raw, typed = _typed(registry, types)
        parts.append(f"select {index} as _file, {_lit(relative)} as _source_file, {_lit(sha)} as _sha, _row, "
                     f"{', '.join(raw)}, {', '.join(typed)} from {_reader(path)}")
    con.execute("create or replace temp view _registry_typed as " + "\nunion all\n".join(parts))
    conditions = _conditions(registry, period, min_date)
    code = " ".join(f"when {cond} then {_lit(check)}" for cond, check, _ in conditions)
    column = " ".join(f"when {cond} then {_lit(col)}" for cond, _, col in conditions)
    con.execute(f"create or replace temp view _registry_first_check as select *, case {code} end as _code0, "
                f"case {column} end as _column0 from _registry_typed")
    keys = ", ".join(_q(k) for k in registry.key)
    # the first record of each key that appears more than once among records passing every other check; a
    # record's place (file, row) as one bigint: the state of a (file, row) struct per key made this search
    # 2.2 times slower at 10 million keys under a 1 GB memory limit
    con.execute(f"create or replace temp table _registry_dups as select {keys}, min({_PLACE.format(t='')}) as _first "
                f"from _registry_first_check where _code0 is null group by {keys} having count(*) > 1")
    on = " and ".join(f"d.{_q(k)} = c.{_q(k)}" for k in registry.key)
    later = f"d._first is not null and {_PLACE.format(t='c.')} <> d._first"
    con.execute(
        f"create or replace temp view _registry_checked as select c.*, "
        f"coalesce(c._code0, case when {later} then 'registry.duplicate_key' end) as _code, "
        f"coalesce(c._column0, case when {later} then {_lit(registry.key[0])} end) as _column "
        f"from _registry_first_check c left join _registry_dups d on {on}")


def _reason_sql() -> str:
    whens = " ".join(f"when {_lit(code)} then {_lit(vi + ' / ' + en)}" for code, (vi, en) in CHECKS.items())
    return f"case _code {whens} end || ' (' || _column || ')'"


PSEUDONYM_TABLE = "_registry_pseudonyms_"  # + the identifier's position: its distinct values and pseudonyms


def _pseudonym_tables(con, registry: Registry) -> dict[str, str]:
    """For each identifier that is part of the registry's key but not all of it (a child's doses: the key
    is child, antigen and date), whose values repeat by design, a temporary table of its distinct values with
    their pseudonym, so that each is hashed once and joined (a child of 14 doses: one HMAC, not 14; at 1
    million doses the load took 2.3 s instead of 3.1). An identifier that is the whole key (births) or not in
    it (a card's child: one or two cards) is hashed record by record: the join would cost more. {column: table}."""
    tables = {}
    for index, name in enumerate(registry.identifiers):
        if name in registry.key and list(registry.key) != [name]:
            tables[name] = table = f"{PSEUDONYM_TABLE}{index}"
            con.execute(f"create or replace temp table {table} as select id, {PSEUDONYM_FUNCTION}(id) as pseudonym "
                        f"from (select distinct {_q(name)} as id from _registry_typed where {_q(name)} is not null)")
    return tables


def _write(con, registry: Registry, period: str, loaded_at: datetime) -> None:
    identifiers = set(registry.identifiers)
    first_id = registry.identifiers[0] if registry.identifiers else None
    joined = _pseudonym_tables(con, registry)
    cols = ", ".join(
        f"{table}.pseudonym as {stored_name(c)}" if (table := joined.get(c.name))
        else f"{PSEUDONYM_FUNCTION}(c.{_q(c.name)}) as {stored_name(c)}" if c.name in identifiers
        else f"c.{_q(c.name)}" for c in registry.columns)
    joins = "".join(f" left join {table} on c.{_q(name)} = {table}.id" for name, table in joined.items())
    names = ", ".join(stored_name(c) for c in registry.columns)
    con.execute(f"insert into {registry.table} (period, source_file, file_sha256, row_number, {names}, loaded_at) "
                f"select {_lit(period)}, c._source_file, c._sha, c._row, {cols}, ?::timestamp "
                f"from _registry_checked c{joins} where c._code is null", [loaded_at])

    def refused_value(c) -> str:  # the value as it arrived (typed when it could be read); never an identifier
        return "null" if c.name in identifiers else f"coalesce(cast({_q(c.name)} as varchar), {_q('_raw_' + c.name)})"

    value = "case _column " + " ".join(f"when {_lit(c.name)} then {refused_value(c)}" for c in registry.columns) + " end"
    record_key = f"{PSEUDONYM_FUNCTION}({_q('_raw_' + first_id)})" if first_id else "null"
    con.execute(
        "insert into raw.rejected_records select ?, ?, ?, _source_file, _sha, _row, _column, "
        f"{value}, _code, {_reason_sql()}, {record_key}, ?::timestamp "
        "from _registry_checked where _code is not null",
        [period, registry.code, registry.sector, loaded_at])


def _record_files(con, registry: Registry, period: str, readable: list, loaded_at: datetime) -> None:
    """One row per readable file: its records, loaded and refused (counted in the tables just written)."""
    loaded = dict(con.execute(f"select source_file, count(*) from {registry.table} where period = ? group by all",
                              [period]).fetchall())
    refused = dict(con.execute("select source_file, count(*) from raw.rejected_records where period = ? and "
                               "registry = ? group by all", [period, registry.code]).fetchall())
    for path, relative, sha, _types in readable:
        ok, bad = loaded.get(relative, 0), refused.get(relative, 0)
        con.execute("insert into raw.registry_files values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [period, registry.code, registry.sector, relative, sha, path.suffix[1:].lower(), ok + bad, ok,
                     bad, loaded_at])


def _delete_period(con, registry: Registry, period: str) -> None:
    con.execute(f"delete from {registry.table} where period = ?", [period])
    for table in ("raw.rejected_records", "raw.registry_files", "raw.registry_elements"):
        con.execute(f"delete from {table} where period = ? and registry = ?", [period, registry.code])


def _record_elements(con, registry: Registry, period: str, loaded_at: datetime) -> None:
    for p in registry.produces:
        con.execute("insert into raw.registry_elements values (?, ?, ?, ?, ?, ?, ?)",
                    [period, registry.code, p.data_element, p.rule, p.param("days"),
                     json.dumps(dict(p.params), ensure_ascii=False, default=list), loaded_at])


def load_registry(
    con: duckdb.DuckDBPyConnection, registries: Registries, registry: Registry, period: str, folder: Path,
    communes: list[str], key: bytes, relative_to: Path | None = None, loaded_at: datetime | None = None,
) -> LoadSummary:
    """Replace the period's records of one registry with the extract files in ``folder``."""
    started = datetime.now(UTC)
    loaded_at = loaded_at or started.replace(tzinfo=None)
    ensure_registry_tables(con, registries)
    register_pseudonym(con, key)
    summary = LoadSummary(registry=registry.code, period=period)
    paths = landing_files(folder, registry)
    con.execute("create or replace temp table _registry_communes as select unnest(?::varchar[]) as unit_code",
                [list(communes)])
    con.begin()
    try:
        _delete_period(con, registry, period)
        readable = []
        for path in paths:
            relative = path.relative_to(relative_to).as_posix() if relative_to else path.name
            sha = _sha256(path)
            problem, column, types = _file_problem(con, path, registry)
            if problem:
                con.execute("insert into raw.rejected_records values (?, ?, ?, ?, ?, null, ?, null, ?, ?, null, ?)",
                            [period, registry.code, registry.sector, relative, sha, column, problem,
                             " / ".join(CHECKS[problem]) + (f" ({column})" if column else ""), loaded_at])
                con.execute("insert into raw.registry_files values (?, ?, ?, ?, ?, ?, 0, 0, 0, ?)",
                            [period, registry.code, registry.sector, relative, sha, path.suffix[1:].lower(),
                             loaded_at])
                continue
            readable.append((path, relative, sha, types))
        if readable:
            _checked_view(con, registry, period, registries.min_date, readable)
            _write(con, registry, period, loaded_at)
            _record_files(con, registry, period, readable, loaded_at)
        if paths:
            _record_elements(con, registry, period, loaded_at)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        _drop_temp(con)
    _summarise(con, summary, registry, period, len(paths))
    summary.seconds = round((datetime.now(UTC) - started).total_seconds(), 3)
    return summary


def _drop_temp(con) -> None:
    """Nothing of the raw records stays in the session (the views read the landing files)."""
    for view in ("_registry_checked", "_registry_first_check", "_registry_typed"):
        con.execute(f"drop view if exists {view}")
    pseudonyms = [r[0] for r in con.execute(
        "select table_name from duckdb_tables() where temporary and starts_with(table_name, ?)",
        [PSEUDONYM_TABLE]).fetchall()]
    for table in ("_registry_dups", "_registry_communes", *pseudonyms):
        con.execute(f"drop table if exists {table}")
    con.execute(f"drop macro if exists {PSEUDONYM_FUNCTION}")  # holds the padded key


def _summarise(con, summary: LoadSummary, registry: Registry, period: str, files: int) -> None:
    summary.files = files
    total, loaded = con.execute(
        "select coalesce(sum(rows_total), 0), coalesce(sum(rows_loaded), 0) from raw.registry_files "
        "where period = ? and registry = ?", [period, registry.code]).fetchone()
    summary.rows_total, summary.rows_loaded = int(total), int(loaded)
    summary.by_check = {code: int(n) for code, n in con.execute(
        "select check_code, count(*) from raw.rejected_records where period = ? and registry = ? group by all "
        "order by 1", [period, registry.code]).fetchall()}
    summary.rows_rejected = int(summary.rows_total - summary.rows_loaded)
