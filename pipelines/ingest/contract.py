"""The tables ingest writes (``raw.data_values``, ``raw.rejected_rows``, ``raw.ingest_files``,
``raw.ingest_file_units``) and the results of a parse: one file, one folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

# -- contracts -------------------------------------------------------------------------------------

VALUE_COLUMNS = [
    "period", "sector", "unit_code", "data_element", "disaggregation", "value",
    "unit_name", "comment", "source_file", "file_sha256", "row_number",
    # provenance (appended; see pipelines/warehouse.py)
    "match_method", "source_units", "rebase_complete",
]
REJECT_COLUMNS = [
    "period", "sector", "source_file", "file_sha256", "row_number", "column_name",
    "value", "check_code", "reason", "raw_record",
]
FILE_COLUMNS = [
    "period", "sector", "source_file", "file_sha256", "encoding",
    "rows_total", "rows_loaded", "rows_rejected", "received_at",
]
#: ``raw.ingest_file_units``: how each file's loaded rows found their 2025 unit.
FILE_UNIT_COLUMNS = [
    "period", "sector", "source_file", "file_sha256", "file_format", "unit_scheme",
    "rows_by_code", "rows_by_name", "rows_crosswalk", "rows_apportioned", "apportion_rule",
]
MATCH_COUNT_COLUMNS = ("rows_by_code", "rows_by_name", "rows_crosswalk", "rows_apportioned")
#: ``match_method`` of a loaded value -> the ``raw.ingest_files`` column counting its rows.
MATCH_METHODS = {"code": "rows_by_code", "name": "rows_by_name", "crosswalk": "rows_crosswalk",
                 "apportioned": "rows_apportioned"}

REQUIRED_COLUMNS = ("period", "unit_code", "data_element", "value")
OPTIONAL_COLUMNS = ("unit_name", "comment", "disaggregation", "unit_scheme", "province", "district")
KNOWN_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
DUPLICATE_KEY = ["period", "unit_code", "data_element", "disaggregation"]
SCHEME = "2025"
LEGACY = "legacy"
APPORTION_RULES = ("area", "equal")
DEFAULT_APPORTION_RULE = "area"
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")



# -- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileInfo:
    source_file: str
    file_sha256: str
    encoding: str | None
    rows_total: int
    rows_loaded: int
    rows_rejected: int
    blank_rows: int = 0
    delimiter: str | None = None
    received_at: datetime | None = None
    whole_file_rejected: bool = False
    file_format: str = "csv"  # csv | xlsx | other
    unit_scheme: str | None = None  # 2025 | legacy | mixed (None: no data row read)
    rows_by_code: int = 0
    rows_by_name: int = 0
    rows_crosswalk: int = 0
    rows_apportioned: int = 0
    apportion_rule: str | None = None  # the rule applied to the file's legacy rows

    def as_row(self, period: str, sector: str) -> dict[str, Any]:
        return {"period": period, "sector": sector, **{k: getattr(self, k) for k in FILE_COLUMNS[2:]}}

    def units_row(self, period: str, sector: str) -> dict[str, Any]:
        return {"period": period, "sector": sector, **{k: getattr(self, k) for k in FILE_UNIT_COLUMNS[2:]}}

    @property
    def match_counts(self) -> dict[str, int]:
        """Loaded rows by how they found their 2025 unit, and the rejected rows."""
        return {**{c: getattr(self, c) for c in MATCH_COUNT_COLUMNS}, "rows_rejected": self.rows_rejected}


@dataclass
class ParsedFile:
    values: pd.DataFrame
    rejects: pd.DataFrame
    info: FileInfo


@dataclass
class ParsedFolder:
    period: str
    sector: str
    values: pd.DataFrame
    rejects: pd.DataFrame
    files: list[FileInfo] = field(default_factory=list)
    apportion_rule: str = DEFAULT_APPORTION_RULE
    waiting: list[str] = field(default_factory=list)  # files still being copied: left for the next run
    findings: list[Any] = field(default_factory=list)  # names in landing not read (pipelines.ingest.landing)
    # a folder with a large CSV file (pipelines.ingest.stream): the values are in this Parquet file
    values_parquet: Path | None = None
    temp_dir: Path | None = None

    @property
    def file_table(self) -> pd.DataFrame:
        """One row per file: the columns of ``raw.ingest_files`` except ``loaded_at``."""
        rows = [f.as_row(self.period, self.sector) for f in self.files]
        df = pd.DataFrame(rows, columns=FILE_COLUMNS)
        return df.astype({c: "int64" for c in ("rows_total", "rows_loaded", "rows_rejected")})

    @property
    def file_unit_table(self) -> pd.DataFrame:
        """One row per file: the columns of ``raw.ingest_file_units`` except ``loaded_at``."""
        rows = [f.units_row(self.period, self.sector) for f in self.files]
        df = pd.DataFrame(rows, columns=FILE_UNIT_COLUMNS)
        return df.astype({c: "int64" for c in MATCH_COUNT_COLUMNS})

    @property
    def match_counts(self) -> dict[str, int]:
        """Rows of every file loaded by code, by name, through the crosswalk, apportioned; and rejected."""
        keys = (*MATCH_COUNT_COLUMNS, "rows_rejected")
        return {k: sum(f.match_counts[k] for f in self.files) for k in keys}

    @property
    def rebased(self) -> bool:
        """Some value was mapped from the units before 1 July 2025."""
        return any(f.rows_crosswalk or f.rows_apportioned for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)


_VALUE_DTYPES = {
    "period": "object", "sector": "object", "unit_code": "object", "data_element": "object",
    "disaggregation": "object", "value": "float64", "unit_name": "object", "comment": "object",
    "source_file": "object", "file_sha256": "object", "row_number": "int64",
    "match_method": "object", "source_units": "object", "rebase_complete": "boolean",
}
_REJECT_DTYPES = {
    "period": "object", "sector": "object", "source_file": "object", "file_sha256": "object",
    "row_number": "Int64", "column_name": "object", "value": "object", "check_code": "object",
    "reason": "object", "raw_record": "object",
}
