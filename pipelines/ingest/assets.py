"""Ingest assets: one per sector, partitioned by period.

``ingest/<sector>`` reads ``$CRI_HOME/landing/<period>/<sector>/`` (``*.csv``
and ``*.xlsx`` workbooks), parses the files (``pipelines.ingest.parse``:
names matched to codes, units before 1 July 2025 mapped onto the 2025 ones)
and, in one DuckDB transaction, replaces that period and sector's rows of
``raw.data_values``, ``raw.rejected_rows``, ``raw.ingest_files`` and
``raw.ingest_file_units`` (per file: rows matched by code, by name, through
the crosswalk, apportioned). Re-running a partition therefore replaces, never
adds; and a partition whose folder is missing or empty ends with no rows (the
warehouse mirrors the landing folder). Rejected rows never fail the asset: the
quality gate decides what blocks a release.

How a split old commune is apportioned: ``area`` (default) or ``equal``, from
the asset's run config (``apportion_rule``), else the environment variable
``CRI_APPORTION_RULE``. The rule applied is recorded per file in
``raw.ingest_file_units.apportion_rule``.
"""

# No ``from __future__ import annotations`` here: Dagster reads the ``context``
# annotation of the asset function at definition time.
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
from pydantic import Field

from pipelines.ingest.contract import (
    APPORTION_RULES,
    DEFAULT_APPORTION_RULE,
    FILE_COLUMNS,
    FILE_UNIT_COLUMNS,
    MATCH_COUNT_COLUMNS,
    REJECT_COLUMNS,
    VALUE_COLUMNS,
    ParsedFolder,
)
from pipelines.ingest.parse import list_landing_files, parse_folder
from pipelines.ops.progress import say
from pipelines.partitions import period_partitions, run_metadata, run_periods, single_run
from pipelines.resources import MethodologyResource, SettingsResource, WarehouseResource
from pipelines.warehouse import ensure_schema

INGEST_GROUP = "ingest"
INGEST_KEY_PREFIX = "ingest"
RAW_TABLES = ("raw.data_values", "raw.rejected_rows", "raw.ingest_files", "raw.ingest_file_units")
PREVIEW_ROWS = 20


def ingest_asset_key(sector: str) -> dg.AssetKey:
    """The key of the ingest asset of one sector: ``["ingest", <sector>]``."""
    return dg.AssetKey([INGEST_KEY_PREFIX, sector])


def ingest_asset_keys(methodology: Any = None) -> list[dg.AssetKey]:
    """The keys of every ingest asset, in the methodology's sector order."""
    methodology = methodology or _default_methodology()
    return [ingest_asset_key(s.code) for s in methodology.sectors]


def build_ingest_assets(methodology: Any = None) -> list[dg.AssetsDefinition]:
    """One ingest asset per sector of the methodology (default: the one named by the settings)."""
    methodology = methodology or _default_methodology()
    return [_build_sector_asset(sector, methodology) for sector in methodology.sectors]


def _default_methodology() -> Any:
    from pipelines.methodology import load_methodology

    return load_methodology()


APPORTION_ENV = "CRI_APPORTION_RULE"


class IngestConfig(dg.Config):
    """Run configuration of an ingest asset (every field optional)."""

    apportion_rule: str = Field(
        default="",
        description=("How the value of an old commune split between several new communes is shared: 'area' "
                     "(by area share, the default) or 'equal'. Empty: the CRI_APPORTION_RULE environment variable, "
                     "else 'area'."),
    )


def apportion_rule(configured: str = "") -> str:
    """The apportioning rule in force: the run config, else ``CRI_APPORTION_RULE``, else 'area'."""
    rule = (configured or os.environ.get(APPORTION_ENV, "") or DEFAULT_APPORTION_RULE).strip().lower()
    if rule not in APPORTION_RULES:
        raise ValueError(f"apportion_rule must be one of {', '.join(APPORTION_RULES)}, got {rule!r} "
                         f"(run config or {APPORTION_ENV})")
    return rule


# -- writing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WriteSummary:
    rows_loaded: int
    reject_records: int
    files: int
    replaced: dict[str, int]  # rows deleted per table (what the previous run had written)


def write_parsed(
    con: duckdb.DuckDBPyConnection, parsed: ParsedFolder, *, loaded_at: datetime | None = None
) -> WriteSummary:
    """Replace the period and sector's rows of the raw tables with ``parsed``, in one transaction."""
    ensure_schema(con)
    loaded_at = loaded_at or datetime.now(UTC).replace(tzinfo=None)
    frames = {
        "raw.data_values": (parsed.values, VALUE_COLUMNS),
        "raw.rejected_rows": (parsed.rejects, REJECT_COLUMNS),
        "raw.ingest_files": (parsed.file_table, FILE_COLUMNS),
        "raw.ingest_file_units": (parsed.file_unit_table, FILE_UNIT_COLUMNS),
    }
    replaced: dict[str, int] = {}
    registered: list[str] = []
    con.begin()
    try:
        for table in RAW_TABLES:
            replaced[table] = con.execute(
                f"delete from {table} where period = ? and sector = ?", [parsed.period, parsed.sector]
            ).fetchone()[0]
        for table, (df, columns) in frames.items():
            if not len(df):
                continue
            view = "_ingest_" + table.split(".")[1]
            con.register(view, df[columns])
            registered.append(view)
            cols = ", ".join(columns)
            con.execute(
                f"insert into {table} ({cols}, loaded_at) select {cols}, ?::timestamp from {view}", [loaded_at]
            )
        if parsed.values_parquet is not None:  # a large file, read in chunks (pipelines.ingest.stream)
            from pipelines.ingest.limits import IngestLimits

            con.execute(f"set memory_limit='{max(128, IngestLimits.from_env().memory_mb // 2)}MB'")
            cols = ", ".join(VALUE_COLUMNS)
            con.execute(f"insert into raw.data_values ({cols}, loaded_at) select {cols}, ?::timestamp "
                        f"from read_parquet(?)", [loaded_at, str(parsed.values_parquet)])
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        for view in registered:
            con.unregister(view)
        if parsed.temp_dir is not None:
            shutil.rmtree(parsed.temp_dir, ignore_errors=True)
    return WriteSummary(rows_loaded=parsed.rows_loaded, reject_records=len(parsed.rejects),
                        files=len(parsed.files), replaced=replaced)


# -- metadata --------------------------------------------------------------------------------------


def _md_cell(value: Any, limit: int = 160) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    text = str(value).replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def rejects_markdown(rejects: pd.DataFrame, limit: int = PREVIEW_ROWS) -> str:
    """A markdown table of the first rejects (file, row, column, value, check, reason)."""
    if rejects.empty:
        return "Không có dòng bị từ chối / no rejected rows."
    lines = ["| file | row | column | value | check_code | reason |", "|---|---|---|---|---|---|"]
    for r in rejects.head(limit).itertuples(index=False):
        lines.append("| " + " | ".join(_md_cell(x, 400 if n == 5 else 60) for n, x in enumerate(
            (r.source_file.rsplit("/", 1)[-1], r.row_number, r.column_name, r.value, r.check_code, r.reason))) + " |")
    if len(rejects) > limit:
        lines.append(f"\n… {len(rejects) - limit} more in raw.rejected_rows")
    return "\n".join(lines)


def files_markdown(parsed: ParsedFolder) -> str:
    """One line per file: format, scheme, rows, and how the loaded rows found their 2025 unit."""
    if not parsed.files:
        return "Không có tệp / no files."
    lines = ["| file | format | encoding | scheme | rows | loaded | by code | by name | crosswalk | apportioned "
             "| rejected |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for f in parsed.files:
        lines.append(f"| {_md_cell(f.source_file)} | {f.file_format} | {_md_cell(f.encoding)} | "
                     f"{_md_cell(f.unit_scheme)} | {f.rows_total} | {f.rows_loaded} | {f.rows_by_code} | "
                     f"{f.rows_by_name} | {f.rows_crosswalk} | {f.rows_apportioned} | {f.rows_rejected} |")
    return "\n".join(lines)


def match_metadata(parsed: ParsedFolder) -> dict[str, Any]:
    """Per file and in total: rows matched by code, by name, through the crosswalk, apportioned, rejected."""
    per_file = {f.source_file: {"file_format": f.file_format, "unit_scheme": f.unit_scheme, "rows_total": f.rows_total,
                                **f.match_counts, "apportion_rule": f.apportion_rule} for f in parsed.files}
    totals = parsed.match_counts
    return {
        **{k: v for k, v in totals.items() if k in MATCH_COUNT_COLUMNS},
        "match_summary": dg.MetadataValue.json(per_file),
        "rebased": parsed.rebased,
        "apportion_rule": parsed.apportion_rule,
    }


def ingest_metadata(parsed: ParsedFolder, folder_exists: bool, folder: str, summary: WriteSummary) -> dict[str, Any]:
    by_check = parsed.rejects["check_code"].value_counts().sort_index()
    return {
        "period": parsed.period,
        "sector": parsed.sector,
        "landing_folder": dg.MetadataValue.path(folder),
        "folder_exists": folder_exists,
        "files": len(parsed.files),
        "files_rejected_whole": sum(f.whole_file_rejected for f in parsed.files),
        "rows_total": sum(f.rows_total for f in parsed.files),
        "rows_loaded": parsed.rows_loaded,
        "rows_rejected": parsed.rows_rejected,
        "reject_records": len(parsed.rejects),
        "rejects_by_check": dg.MetadataValue.json({str(k): int(v) for k, v in by_check.items()}),
        "rejects_preview": dg.MetadataValue.md(rejects_markdown(parsed.rejects)),
        "files_table": dg.MetadataValue.md(files_markdown(parsed)),
        "replaced_rows": dg.MetadataValue.json(summary.replaced),
        "files_waiting": len(parsed.waiting),
        "files_waiting_names": dg.MetadataValue.json(parsed.waiting),
        "landing_findings": dg.MetadataValue.json([f"{f.name}: {f.check_code}" for f in parsed.findings]),
        **match_metadata(parsed),
        "dagster/row_count": parsed.rows_loaded,
    }


def landing_lines(parsed: ParsedFolder) -> list[str]:
    """Plain sentences for the files left for the next run and the names in landing that were not read."""
    out = []
    if parsed.waiting:
        out.append(f"{parsed.sector} {parsed.period}: {len(parsed.waiting)} file(s) still being copied, left for the "
                   f"next run: {'; '.join(parsed.waiting)}")
    for f in parsed.findings:
        out.append(f"{parsed.sector} {parsed.period}: not read: {f.name} ({f.check_code})")
    return out


# -- asset factory ---------------------------------------------------------------------------------


def _build_sector_asset(sector: Any, methodology: Any) -> dg.AssetsDefinition:
    code = sector.code
    elements = [e.code for e in methodology.elements_of_sector(code) if e.kind != "unit_count"]
    description = (
        f"Nạp số liệu ngành {sector.name_vi}: đọc các tệp CSV và Excel (.xlsx) trong `landing/<kỳ>/{code}/`, so khớp "
        f"tên đơn vị với mã, chuyển số liệu theo đơn vị cũ (trước 1/7/2025) sang đơn vị mới, kiểm tra từng dòng và "
        f"ghi vào raw.data_values; dòng lỗi ghi vào raw.rejected_rows kèm mã kiểm tra và lý do; mỗi tệp một dòng "
        f"trong raw.ingest_files và raw.ingest_file_units (số dòng khớp theo mã, theo tên, qua bảng chuyển đổi, được "
        f"phân bổ). Chạy lại "
        f"một kỳ sẽ thay thế số liệu của kỳ đó.\n\n"
        f"Loads the {sector.name_en} sector's data: reads the CSV files and Excel workbooks (.xlsx) in "
        f"`landing/<period>/{code}/`, matches unit names to codes, maps values keyed by the units before 1 July 2025 "
        f"onto the new ones, checks every row and writes raw.data_values; rejected rows go to raw.rejected_rows "
        f"with a check code and a reason; one row per file in raw.ingest_files and raw.ingest_file_units (the rows "
        f"matched by code, by name, through the crosswalk, apportioned). Re-running a period replaces that period's data.\n\n"
        f"Chỉ tiêu / data elements: {', '.join(elements) or '-'}"
    )

    @dg.asset(
        key=ingest_asset_key(code),
        group_name=INGEST_GROUP,
        partitions_def=period_partitions,
        backfill_policy=single_run,
        kinds={"csv", "excel", "duckdb"},
        owners=[f"team:{code}"],
        tags={"sector": code, "layer": "raw"},
        description=description,
        metadata={"sector_name_vi": sector.name_vi, "sector_name_en": sector.name_en,
                  "methodology_version": str(methodology.version)},
    )
    def _ingest(context, config: IngestConfig, settings: SettingsResource, methodology: MethodologyResource,
                warehouse: WarehouseResource) -> dg.MaterializeResult:
        from pipelines.ingest.landing import period_findings, settle_seconds
        from pipelines.reference.units import admin_units

        settings = settings.get()
        methodology = methodology.load()
        units = admin_units()
        per_period = {}
        for period in run_periods(context):  # one period, or several in a backfill run
            folder = settings.landing_dir / period / code
            folder_exists = folder.is_dir()
            if not folder_exists:
                context.log.info(f"{folder} does not exist: no files for {code} {period}; loading zero rows")
            unread = period_findings(settings.landing_dir / period, period, list(methodology.sector_codes))
            parsed = parse_folder(folder, period, code, methodology, units, relative_to=settings.landing_dir,
                                  apportion_rule=apportion_rule(config.apportion_rule), settle=settle_seconds(),
                                  findings=unread.get(code, []))
            with warehouse.connect() as con:
                summary = write_parsed(con, parsed)
            m = parsed.match_counts
            line = (f"{code} {period}: {len(parsed.files)} file(s), {parsed.rows_loaded} rows loaded "
                    f"({m['rows_by_code']} by code, {m['rows_by_name']} by name, {m['rows_crosswalk']} through the "
                    f"crosswalk, {m['rows_apportioned']} apportioned), "
                    f"{parsed.rows_rejected} rows rejected ({len(parsed.rejects)} reject records)")
            context.log.info(line)
            say("ingest", line)
            for note in landing_lines(parsed):
                context.log.warning(note)
                say("ingest", note)
            per_period[period] = ingest_metadata(parsed, folder_exists, str(folder), summary)
        return dg.MaterializeResult(metadata=run_metadata(
            per_period, totals=("files", "files_waiting", "rows_total", "rows_loaded", "rows_rejected", "reject_records",
                                "dagster/row_count"),
            rows_loaded_by_period="rows_loaded", rows_rejected_by_period="rows_rejected"))

    return _ingest


__all__: Sequence[str] = [
    "INGEST_GROUP",
    "RAW_TABLES",
    "IngestConfig",
    "WriteSummary",
    "apportion_rule",
    "build_ingest_assets",
    "ingest_asset_key",
    "ingest_asset_keys",
    "ingest_metadata",
    "landing_lines",
    "list_landing_files",
    "match_metadata",
    "rejects_markdown",
    "write_parsed",
]
