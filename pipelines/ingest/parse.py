"""Parse landing files (CSV and Excel workbooks) into data values and rejected rows. Nothing is lost.

Pure functions: no Dagster, no DuckDB. ``parse_file`` reads one file,
``parse_folder`` reads every file of one sector and period and applies the
duplicate rule across them. Every data row of every file ends up either in
``values`` (the columns of ``raw.data_values`` except ``loaded_at``) or in
``rejects`` (the columns of ``raw.rejected_rows`` except ``loaded_at``), one
reject per problem found, with a stable ``check_code`` and a reason in
Vietnamese and English that says what was expected. For every file::

    rows_total == rows_loaded + rows_rejected
    rows_loaded == rows_by_code + rows_by_name + rows_crosswalk + rows_apportioned

where ``rows_total`` counts the data records of the file (blank lines are
counted apart, in ``blank_rows``) and ``rows_rejected`` counts the distinct
records that were not loaded. When a whole file is rejected (encoding, empty,
missing column, ...) there is one reject with ``row_number`` null and every
record of the file counts as rejected.

Files. ``*.csv`` is the landing format below. ``*.xlsx`` (and ``*.xlsm``) is
an agency workbook in the wide shape (``pipelines.ingest.workbook``: title
rows, merged two-row headers, a totals row checked against the rows and never
loaded, notes), read through the sector's template mapping
(``methodology/templates/<sector>.yaml``) into the same long rows, which then
go through exactly the same checks as a CSV file. In a workbook a record is
one data value (one cell): ``row_number`` is the Excel row and, for value
problems, ``column_name`` the column's title. A problem the workbook reader
finds (``workbook.*``: an unknown column, a merged value cell, a sheet of
another period...) is one rejected record; a totals row that differs from the
sum of its rows is reported (``workbook.total_mismatch``) but is not a record:
the rows under it are loaded. Other files are rejected whole.

Hostile and broken files. Landing is a drop box (``pipelines.ingest.landing``:
links, sub-folders and paths outside landing are reported and not read; files
still being copied wait for the next run). A double quote never closed rejects
its own line only (``ingest.unclosed_quote``, ``pipelines.ingest.csv_stream``).
A file over a limit of columns, line length, cells or unpacked size is
rejected whole (``ingest.limit_exceeded``, ``pipelines.ingest.limits``). A CSV
file over ``CRI_INGEST_STREAM_MB`` is read a chunk at a time with the same
checks (``pipelines.ingest.stream``).

Units. A row names its unit by ``unit_code`` or, without a code, by
``unit_name`` (optionally within the ``province`` written beside it). Rows
state their unit scheme in ``unit_scheme`` (a workbook in its "Hệ thống đơn
vị" cell): empty or ``2025`` for the units in force since 1 July 2025,
``legacy`` for the 63 provinces, ~700 districts and ~10,000 communes before.

* 2025, with a code: checked as below (``match_method`` 'code').
* 2025, name only: matched after normalisation (NFC, case, spacing,
  diacritics, unit-type prefixes and abbreviations; ``pipelines.units.names``).
  Exactly one unit -> its code (``match_method`` 'name'); ambiguous or
  unknown -> rejected (``units.ambiguous_name`` / ``units.unknown_name``) with
  the closest suggestions. Never guessed.
* legacy (code or name): the legacy unit is identified
  (``pipelines.units.resolve.identify_legacy``; lost leading zeros are put
  back by the rule of the 2025 codes below, ``legacy_code_reading``), the duplicate rule below is
  applied per legacy unit, and the rows that passed every check are summed
  onto the 2025 units through the crosswalk (``crosswalk.rebase_values``): a
  province-level element goes to the new province (from old provinces, or
  summed from old districts or communes), a commune-level one to the new
  commune (from old communes, or the five island districts that had none; an
  old province or district is never split onto communes: ``units.wrong_level``);
  an old commune split between several new ones is apportioned
  (``apportion_rule`` 'area', the default: by area share; 'equal': equal
  shares; whole counts stay whole and add up exactly). One data value is
  written per new unit: ``match_method`` 'crosswalk', or 'apportioned' when
  part of it comes from a split commune; ``source_units`` lists the legacy
  units (a split one with its share); ``rebase_complete`` says whether every
  legacy unit the new one was made of reported. ``source_file`` and
  ``row_number`` are those of the first row summed; ``unit_name`` the names as
  written. A value given both for a 2025 unit and through the crosswalk is
  never added twice: every copy is rejected (``units.scheme_overlap``).

Rules decided here (see ``CHECK_CODES`` for the codes):

Numbers (``value``). Vietnamese writes ``1.234.567,5``; English/Excel writes
``1,234,567.5``. A value is accepted when it has exactly one reading:

* plain digits, optionally with a leading minus: ``1234``, ``-3``;
* one decimal mark followed by other than three digits, or after an integer
  part that cannot be a thousands group (0, or four digits or more):
  ``12,5`` = ``12.5`` = 12.5; ``0,125`` = 0.125; ``1234,567`` = 1234.567;
* two or more thousands groups with one kind of separator: ``1.234.567`` and
  ``1,234,567`` are 1234567;
* thousands groups and a decimal mark of the other kind: ``1.234,5`` and
  ``1,234.5`` are 1234.5;
* spaces (also no-break or thin spaces) as thousands separator: ``1 234``,
  ``1 234,5``.

``1.234`` and ``1,234`` (one separator followed by exactly three digits) could
be 1234 or 1.234 and are rejected as ambiguous, as are scientific notation,
percentages, currency signs, ``nan``/``inf`` and text such as ``có``/``không``.

Unit codes (``unit_code``). Spreadsheets drop leading zeros. A code written at
the full width of the data element's level (5 digits for commune elements, 2 for
province elements) is used as written. A shorter code of digits that does not
start with 0 is taken to have lost its leading zeros and is padded (``1234`` ->
``01234``; ``1`` -> ``01``) -- unless the code as written is also a unit of the
other level, which makes it ambiguous and it is rejected: for a commune element
``4`` could be commune ``00004`` or province ``04``; for a province element
``8`` could be province ``08`` or commune ``00008``. A code of the other level
(``04`` for a commune element) is rejected as the wrong level.

Values: counts and yes/no must be whole; yes/no is 0 or 1; nothing may be
negative; amounts (``amount_vnd``) may have decimals. An empty required cell is
``ingest.missing_value`` (an empty value is not a zero). A row may fail several
checks: each gives one reject, and the row counts once in ``rows_rejected``.

Duplicates: rows that passed every other check and share (period, unit_code,
data_element, disaggregation) -- within a file or across the files of the
folder. Different values: every copy is rejected (``ingest.conflicting_duplicate``,
naming the others). Same value: the first copy (file name order, then line) is
loaded, the others are rejected as ``ingest.duplicate_row`` naming it.

Other normalisation: column names are matched case-insensitively with spaces
stripped; cells are stripped and NFC-normalised; data element codes are matched
case-insensitively; the period is compared case-insensitively (``2025h1``);
spaces around ``=`` in ``disaggregation`` are removed. The delimiter is the
comma of the contract; a header that only splits into the required columns on
``;`` or a tab is read with that delimiter (Excel writes ``;`` when the list
separator of the computer's regional settings is ``;``).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.ingest.csv_stream import CHECK_CODES as _CSV_CHECK_CODES
from pipelines.ingest.csv_stream import read_records
from pipelines.ingest.landing import CHECK_CODES as _LANDING_CHECK_CODES
from pipelines.ingest.limits import CHECK_CODES as _LIMIT_CHECK_CODES
from pipelines.ingest.limits import IngestLimits, LimitExceeded
from pipelines.ingest.workbook import CHECK_CODES as _WORKBOOK_CHECK_CODES
from pipelines.ingest.workbook import yes_no_as_number
from pipelines.units import CHECK_CODES as _UNIT_CHECK_CODES


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
# The shape of a period (pipelines.partitions.PERIOD_RE; not imported so that this module stays free of Dagster).
_PERIOD_RE = re.compile(r"^\d{4}(?:H[12])?$")

#: Every check this module applies: code -> (Vietnamese, English) meaning.
CHECK_CODES: dict[str, tuple[str, str]] = {
    "ingest.unsupported_file": ("Tệp không phải CSV hoặc Excel .xlsx", "not a .csv or .xlsx file (whole file)"),
    "ingest.file_encoding": ("Tệp không mã hóa UTF-8", "file is not UTF-8 (whole file)"),
    "ingest.file_empty": ("Tệp rỗng hoặc chỉ có dòng tiêu đề", "file is empty or has only the header"),
    "ingest.file_malformed": ("Không đọc được cấu trúc CSV", "CSV structure cannot be read (whole file)"),
    "ingest.missing_column": ("Thiếu cột bắt buộc", "a required column is missing (whole file)"),
    "ingest.duplicate_column": ("Một cột xuất hiện hai lần", "a column appears twice in the header (whole file)"),
    "ingest.malformed_row": ("Dòng có số ô khác dòng tiêu đề", "row has a different number of cells than the header"),
    "ingest.missing_value": ("Ô bắt buộc bị trống", "a required cell is empty"),
    "ingest.unparseable_value": ("Giá trị không phải số rõ ràng", "value is not an unambiguous number"),
    "ingest.not_whole_number": ("Số đếm / có-không phải là số nguyên", "counts and yes/no must be whole numbers"),
    "ingest.invalid_yes_no": ("Chỉ tiêu có/không phải là 0 hoặc 1", "yes/no must be 0 or 1"),
    "ingest.negative_value": ("Giá trị âm", "value is negative"),
    "ingest.unknown_data_element": ("Mã chỉ tiêu không có trong phương pháp", "data element not in the methodology"),
    "ingest.wrong_sector": ("Chỉ tiêu thuộc ngành khác", "data element belongs to another sector"),
    "ingest.not_reportable": ("Chỉ tiêu do hệ thống tự tính", "built-in data element, computed, not reported"),
    "ingest.unknown_unit": ("Mã đơn vị không có, sai cấp hoặc không rõ", "unit code unknown, wrong level or ambiguous"),
    "ingest.period_mismatch": ("Kỳ báo cáo khác thư mục", "period differs from the period folder"),
    "ingest.unsupported_scheme": ("Hệ mã đơn vị không hợp lệ", "unit scheme is neither 2025 nor legacy"),
    "ingest.conflicting_duplicate": ("Cùng một số liệu với giá trị khác nhau", "same data value given twice, differently"),
    "ingest.duplicate_row": ("Dòng trùng lặp (đã nạp một lần)", "identical duplicate (one copy loaded)"),
}
# Names, legacy units and the crosswalk (pipelines.units), and workbooks (pipelines.ingest.workbook).
CHECK_CODES.update(_UNIT_CHECK_CODES)
CHECK_CODES.update(_WORKBOOK_CHECK_CODES)
CHECK_CODES.update(_LANDING_CHECK_CODES)
CHECK_CODES.update(_CSV_CHECK_CODES)
CHECK_CODES.update(_LIMIT_CHECK_CODES)

_KIND_VI = {"count": "số đếm", "yes_no": "có/không", "amount_vnd": "số tiền (đồng)", "unit_count": "tự tính"}
_LEVEL_VI = {"commune": "xã", "province": "tỉnh"}


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


# -- public entry points ---------------------------------------------------------------------------


def parse_file(
    path: Path,
    *,
    period: str,
    sector: str,
    methodology: Any,
    units: pd.DataFrame,
    relative_name: str | None = None,
    apportion_rule: str = DEFAULT_APPORTION_RULE,
) -> ParsedFile:
    """Parse one landing file; the duplicate rule is applied within the file."""
    ctx = _Context.build(period, sector, methodology, units, apportion_rule)
    staged = _stage_file(Path(path), relative_name or Path(path).name, ctx)
    values, assembly_rejects, loaded = _assemble([staged], ctx)
    rejects = _finish_rejects([staged], assembly_rejects, ctx)
    return ParsedFile(values=values, rejects=rejects, info=_file_infos([staged], loaded, ctx)[0])


def parse_folder(
    folder: Path,
    period: str,
    sector: str,
    methodology: Any,
    units: pd.DataFrame,
    *,
    relative_to: Path | None = None,
    apportion_rule: str = DEFAULT_APPORTION_RULE,
    settle: float = 0.0,
    findings: Iterable[Any] = (),
) -> ParsedFolder:
    """Parse every file of ``landing/<period>/<sector>/``; duplicates are found across files.

    Landing is a drop box (``pipelines.ingest.landing``): symbolic links, sub-folders and files outside the
    landing folder are not read and are reported as whole-file rejects (``landing.*``), as are the
    ``findings`` passed in (folders of the period that are no sector); files modified less than ``settle``
    seconds ago or changing while read are left for the next run, named in ``waiting``.

    ``.csv`` and ``.xlsx`` files (any case) are parsed; other files (``.xls``,
    ``.pdf``, ...) are rejected whole as ``ingest.unsupported_file`` so that
    they are reported, not ignored. Hidden files and Office lock files
    (``~$...``) and sub-folders are skipped. Source names are relative to
    ``relative_to`` (default: the landing folder, i.e.
    ``<period>/<sector>/<file>``). Legacy rows of every file of the folder are
    summed together onto the 2025 units (``apportion_rule``: 'area' or 'equal').
    """
    from pipelines.ingest import landing

    ctx = _Context.build(period, sector, methodology, units, apportion_rule)
    folder = Path(folder)
    base = Path(relative_to) if relative_to is not None else folder.parent.parent
    entries = landing.sector_entries(folder, relative_to, f"{period}/{sector}", settle=settle)
    from pipelines.registries.spec import registry_files  # record-level extracts: the registry ingest's

    extracts = registry_files(folder, sector)
    entries.files = [path for path in entries.files if path not in extracts]
    rels = {}
    for path in entries.files:
        try:
            rels[path] = path.parent.relative_to(base).as_posix() + "/" + entries.names[path]
        except ValueError:
            rels[path] = f"{period}/{sector}/{entries.names[path]}"
    from pipelines.ingest import stream

    if any(stream.is_large(path, ctx.limits) for path in entries.files):
        files = list(entries.files)
        while True:  # a file that changed while it was read waits for the next run; the others are read again
            before = {path: path.stat(follow_symlinks=False) for path in files}
            parsed = stream.parse_folder_streaming(files, [rels[p] for p in files], ctx)
            grew = [path for path in files if settle > 0 and landing.changed_while_read(path, before[path])]
            if not grew:
                break
            stream.cleanup(parsed)
            for path in grew:
                entries.wait(path, "changed while it was read")
            files = [path for path in files if path not in grew]
        parsed.rejects = _with_findings(parsed.rejects, [*entries.findings, *findings], ctx)
        parsed.waiting, parsed.findings = entries.waiting, [*entries.findings, *findings]
        return parsed
    staged = []
    for path in entries.files:
        rel = rels[path]
        before = path.stat(follow_symlinks=False)
        st = _stage_file(path, rel, ctx)
        if settle > 0 and landing.changed_while_read(path, before):
            entries.wait(path, "changed while it was read")
            continue
        staged.append(st)
    values, assembly_rejects, loaded = _assemble(staged, ctx)
    rejects = _finish_rejects(staged, assembly_rejects, ctx)
    rejects = _with_findings(rejects, [*entries.findings, *findings], ctx)
    return ParsedFolder(period=period, sector=sector, values=values, rejects=rejects,
                        files=_file_infos(staged, loaded, ctx), apportion_rule=ctx.apportion_rule,
                        waiting=entries.waiting, findings=[*entries.findings, *findings])


def _with_findings(rejects: pd.DataFrame, findings: list[Any], ctx: _Context) -> pd.DataFrame:
    """Names in landing that were not read (``pipelines.ingest.landing``), as whole-file rejects."""
    if not findings:
        return rejects
    rows = pd.DataFrame([{"period": ctx.period, "sector": ctx.sector, "source_file": f.name, "file_sha256": None,
                          "row_number": pd.NA, "column_name": None, "value": None, "check_code": f.check_code,
                          "reason": f.reason, "raw_record": None} for f in findings], columns=REJECT_COLUMNS)
    out = pd.concat([rejects, rows.astype(_REJECT_DTYPES)], ignore_index=True)
    for col in ("file_sha256", "column_name", "value", "raw_record"):
        out[col] = out[col].where(out[col].notna(), None)
    return out


def list_landing_files(folder: Path) -> list[Path]:
    """The files of a landing folder that ingest looks at, in a stable order."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(
        (p for p in folder.iterdir()
         if not p.is_symlink() and p.is_file() and not p.name.startswith((".", "~$"))),
        key=lambda p: p.name,
    )


def parse_number(text: str) -> float | None:
    """The value of one cell under the number rule of this module, or None."""
    value, problem = parse_numbers(pd.Series([text], dtype="str"))
    return None if problem.iloc[0] is not None and not pd.isna(problem.iloc[0]) else float(value.iloc[0])


# -- context ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    period: str
    sector: str
    methodology_version: str
    sector_names: dict[str, tuple[str, str]]
    element_sector: dict[str, str]
    element_level: dict[str, str]
    element_kind: dict[str, str]
    sector_elements: tuple[str, ...]
    communes: frozenset[str]
    provinces: frozenset[str]
    unit_names: dict[str, str]
    methodology: Any = field(default=None, compare=False, repr=False)
    apportion_rule: str = DEFAULT_APPORTION_RULE
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    limits: IngestLimits = field(default_factory=IngestLimits.from_env, compare=False, repr=False)

    @classmethod
    def build(cls, period: str, sector: str, methodology: Any, units: pd.DataFrame,
              apportion_rule: str = DEFAULT_APPORTION_RULE) -> _Context:
        if not _PERIOD_RE.match(period or ""):
            raise ValueError(f"'{period}' is not a period: expected YYYY, YYYYH1 or YYYYH2")
        if apportion_rule not in APPORTION_RULES:
            raise ValueError(f"apportion_rule must be one of {APPORTION_RULES}, got {apportion_rule!r}")
        sectors = {s.code: (s.name_vi, s.name_en) for s in methodology.sectors}
        if sector not in sectors:
            raise ValueError(f"'{sector}' is not a sector of the methodology: {sorted(sectors)}")
        sectors.setdefault("reference", ("Danh mục (tự tính)", "reference (computed)"))
        elements = methodology.data_elements
        level = units["unit_level"].astype(str)
        return cls(
            period=period,
            sector=sector,
            methodology_version=str(methodology.version),
            sector_names=sectors,
            element_sector={e.code: e.sector for e in elements},
            element_level={e.code: e.level for e in elements},
            element_kind={e.code: e.kind for e in elements},
            sector_elements=tuple(e.code for e in elements if e.sector == sector and e.kind != "unit_count"),
            communes=frozenset(units.loc[level == "commune", "unit_code"].astype(str)),
            provinces=frozenset(units.loc[level == "province", "unit_code"].astype(str)),
            unit_names=dict(zip(units["unit_code"].astype(str), units["unit_name"].astype(str), strict=True)),
            methodology=methodology,
            apportion_rule=apportion_rule,
        )

    @property
    def flag_elements(self) -> frozenset[str]:
        return frozenset(e for e, k in self.element_kind.items() if k == "yes_no")

    def legacy_codes(self) -> frozenset[str]:
        """Codes of the provinces and communes before 1 July 2025 (read once per parse, when needed)."""
        if "legacy_codes" not in self.cache:
            from pipelines.units.crosswalk import legacy_units

            lu = legacy_units()
            self.cache["legacy_codes"] = frozenset(lu.loc[lu["unit_level"] != "district", "unit_code"])
        return self.cache["legacy_codes"]

    def workbook_mapping(self) -> Any:
        """The sector's template mapping (read once per parse)."""
        if "mapping" not in self.cache:
            from pipelines.ingest.workbook import load_mapping

            self.cache["mapping"] = load_mapping(self.sector, self.methodology)
        return self.cache["mapping"]

    def sector_vi(self, code: str) -> str:
        return f"{self.sector_names.get(code, (code, code))[0]} ({code})"

    def sector_en(self, code: str) -> str:
        return f"{self.sector_names.get(code, (code, code))[1]} ({code})"


# -- staging one file ------------------------------------------------------------------------------


@dataclass
class _Staged:
    source_file: str
    sha256: str
    encoding: str | None
    received_at: datetime | None
    delimiter: str | None = None
    rows_total: int = 0
    blank_rows: int = 0
    whole_file: bool = False
    candidates: pd.DataFrame | None = None  # rows that passed every row check (before duplicates)
    rejects: list[pd.DataFrame] = field(default_factory=list)  # _rec, column_name, value, check_code, reason
    lines: list[str] = field(default_factory=list)  # raw lines as decoded (with their line ends)
    ends: np.ndarray | None = None  # ends[i] = last line (1-based) of record i; record 0 is the header
    file_format: str = "csv"
    schemes: frozenset[str] = frozenset()  # unit schemes the data rows state ('2025', 'legacy')
    # workbooks: per record (index = _rec; record 0 unused) the Excel row (-1: none), the record as text,
    # and the column title
    rec_rows: np.ndarray | None = None
    rec_raw: list[str | None] | None = None
    rec_columns: list[str | None] | None = None

    def row_number(self, rec: np.ndarray) -> np.ndarray:
        if self.rec_rows is not None:
            return self.rec_rows[rec]
        return self.ends[rec - 1] + 1

    def raw_record(self, rec: int) -> str | None:
        if self.rec_raw is not None:
            return self.rec_raw[rec]
        start = int(self.ends[rec - 1]) if rec > 0 else 0
        return "".join(self.lines[start : int(self.ends[rec])]).rstrip("\r\n")

    @property
    def unit_scheme(self) -> str | None:
        if not self.schemes:
            return None
        return next(iter(self.schemes)) if len(self.schemes) == 1 else "mixed"

    def reject_file(self, code: str, reason: str, *, column: str | None = None, value: str | None = None,
                    raw: str | None = None) -> None:
        self.whole_file = True
        self.rejects = [pd.DataFrame([{"_rec": pd.NA, "column_name": column, "value": value, "check_code": code,
                                       "reason": reason, "raw_record": raw}])]
        self.candidates = None


def _stage_file(path: Path, relative_name: str, ctx: _Context) -> _Staged:
    data = path.read_bytes()
    try:
        received = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).replace(tzinfo=None)
    except OSError:
        received = None
    st = _Staged(source_file=relative_name, sha256=hashlib.sha256(data).hexdigest(), encoding=None,
                 received_at=received)

    suffix = path.suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        st.file_format = "xlsx"
        return _stage_workbook(path, st, ctx)
    if suffix != ".csv":
        st.file_format = "other"
        st.reject_file(
            "ingest.unsupported_file",
            f"Tệp '{path.name}' không phải tệp .csv hoặc .xlsx nên không được đọc; hãy lưu bảng tính dưới dạng "
            f"'Excel Workbook (*.xlsx)' hoặc 'CSV UTF-8 (Comma delimited) (*.csv)' / file '{path.name}' is not a "
            f".csv or .xlsx file and was not read; expected a CSV file or an Excel workbook: save it as "
            f"'Excel Workbook (*.xlsx)' or 'CSV UTF-8 (Comma delimited) (*.csv)'",
            value=path.suffix or None,
        )
        return st

    decoded = decode_bytes(data)
    st.encoding = decoded.encoding
    if decoded.problem is not None:
        # Count the records as best we can so that rows_total stays truthful.
        if decoded.fallback_text is not None:
            try:
                lines, recs, ends, broken = _read_records(decoded.fallback_text, ",")
                st.rows_total = sum(1 for i, r in enumerate(recs) if i and (i in broken or any(c.strip() for c in r)))
            except (csv.Error, LimitExceeded):
                st.rows_total = 0
        st.reject_file("ingest.file_encoding", decoded.problem, value=decoded.bad_bytes, raw=decoded.bad_line)
        return st

    text = decoded.text
    if not text.strip():
        st.reject_file("ingest.file_empty", _reason_empty(path.name, header_only=False))
        return st

    delimiter = _sniff_delimiter(text)
    st.delimiter = delimiter
    try:
        lines, recs, ends, broken = _read_records(text, delimiter, ctx.limits)
    except LimitExceeded as exc:
        st.reject_file("ingest.limit_exceeded", exc.reason)
        return st
    except csv.Error as exc:
        st.reject_file(
            "ingest.file_malformed",
            f"Không đọc được cấu trúc CSV của tệp ({exc}); thường do dấu ngoặc kép không đóng / the CSV structure "
            f"cannot be read ({exc}), usually an unclosed double quote; expected one record a line, "
            f"cells separated by '{delimiter}'",
        )
        return st
    st.lines, st.ends = lines, np.asarray(ends, dtype=np.int64)

    header_raw = recs[0]
    body = recs[1:]
    ncols = len(header_raw)
    b = _split_body(body, ncols, broken, rec0=1)
    st.blank_rows = int(b.blank.sum())
    st.rows_total = int((~b.blank).sum())
    seen = _header_columns(st, header_raw, st.raw_record(0) if len(ends) else None)
    if seen is None:
        return st
    if st.rows_total == 0:
        st.reject_file("ingest.file_empty", _reason_empty(path.name, header_only=True), raw=st.raw_record(0))
        return st
    rejects, candidates, schemes = _check_body(b, 1, broken, ncols, seen, delimiter, ctx)
    st.schemes = schemes
    st.rejects = rejects
    st.candidates = candidates.assign(source_file=st.source_file, file_sha256=st.sha256)
    return st


@dataclass
class _Body:
    """Records of a CSV file, or of one chunk of it: their cell counts, the cells by column, blank and broken."""

    lens: np.ndarray
    full: np.ndarray  # as many cells as the header
    columns: list[pd.Series]  # the cells of the full records, stripped, by column
    blank: np.ndarray
    is_broken: np.ndarray


def _split_body(body: list[list[str]], ncols: int, broken: dict[int, str], rec0: int) -> _Body:
    """``body[i]`` is record ``rec0 + i``; ``broken``: record number -> reason (an unclosed quote)."""
    lens = np.fromiter((len(r) for r in body), dtype=np.int64, count=len(body))
    full = lens == ncols
    # Columns of the rows that have as many cells as the header, stripped.
    full_rows = [body[i] for i in np.flatnonzero(full)] if not full.all() else body
    columns = [pd.Series(c, dtype="str").str.strip() for c in zip(*full_rows, strict=True)] if full_rows else [
        pd.Series([], dtype="str") for _ in range(ncols)]
    # Blank records: empty lines, and rows whose cells are all empty (',,,,' left by spreadsheets).
    blank = lens == 0
    if full_rows and ncols:
        all_empty = np.logical_and.reduce([(c == "").to_numpy() for c in columns])
        blank[np.flatnonzero(full)[all_empty]] = True
    for i in np.flatnonzero(~full & (lens > 0)):
        if not any(c.strip() for c in body[i]):
            blank[i] = True
    is_broken = np.zeros(len(body), dtype=bool)
    is_broken[[i - rec0 for i in broken if rec0 <= i < rec0 + len(body)]] = True
    blank &= ~is_broken
    return _Body(lens, full, columns, blank, is_broken)


def _header_columns(st: _Staged, header_raw: list[str], raw_header: str | None) -> dict[str, int] | None:
    """Position of each column of the header; None when the header rejects the file (missing or repeated)."""
    header = [_norm_name(h) for h in header_raw]
    seen: dict[str, int] = {}
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    for i, h in enumerate(header):
        seen.setdefault(h, i)
    found = ", ".join(h for h in header_raw) or "(none)"
    # a file of names without codes needs no unit_code column
    missing = [c for c in REQUIRED_COLUMNS if c not in seen and not (c == "unit_code" and "unit_name" in seen)]
    if missing:
        names = ", ".join(missing)
        st.reject_file(
            "ingest.missing_column",
            f"Thiếu cột bắt buộc: {names}. Cần các cột {', '.join(REQUIRED_COLUMNS)} ở dòng 1; các cột có trong tệp: "
            f"{found} / missing required column(s): {names}. Expected columns {', '.join(REQUIRED_COLUMNS)} "
            f"in line 1; columns found: {found}",
            column=names, raw=raw_header,
        )
        return None
    if dupes:
        names = ", ".join(dupes)
        st.reject_file(
            "ingest.duplicate_column",
            f"Cột {names} xuất hiện nhiều lần ở dòng tiêu đề; mỗi cột chỉ được có một lần / column(s) {names} "
            f"appear more than once in the header; expected each column once. Columns found: {found}",
            column=names, raw=raw_header,
        )
        return None
    return seen


def _check_body(b: _Body, rec0: int, broken: dict[int, str], ncols: int, seen: dict[str, int], delimiter: str,
                ctx: _Context) -> tuple[list[pd.DataFrame], pd.DataFrame, frozenset[str]]:
    """The rejects of the records of ``b`` (record numbers from ``rec0``), the rows that passed every check,
    and the unit schemes the rows state."""
    lens, full, columns, blank, is_broken = b.lens, b.full, b.columns, b.blank, b.is_broken
    rec_all = np.arange(rec0, rec0 + len(lens), dtype=np.int64)
    ragged = ~blank & (lens != ncols) & ~is_broken
    rejects: list[pd.DataFrame] = []
    mine = sorted(int(r) for r in rec_all[is_broken])
    if mine:
        rejects.append(pd.DataFrame({"_rec": np.asarray(mine, dtype=np.int64), "column_name": None,
                                     "value": None, "check_code": "ingest.unclosed_quote",
                                     "reason": [broken[i] for i in mine]}))
    if ragged.any():
        r_rec = rec_all[ragged]
        r_len = lens[ragged]
        rejects.append(pd.DataFrame({
            "_rec": r_rec,
            "column_name": None,
            "value": None,
            "check_code": "ingest.malformed_row",
            "reason": [
                f"Dòng có {n} ô nhưng dòng tiêu đề có {ncols} cột; cần đúng {ncols} ô, phân cách bằng '{delimiter}' "
                f"(kiểm tra dấu phân cách hoặc dấu ngoặc kép) / the row has {n} cells but the header has {ncols} "
                f"columns; expected exactly {ncols} cells separated by '{delimiter}' (check separators and quotes)"
                for n in r_len
            ],
        }))
    keep = ~blank[full]  # among the full rows
    frame = pd.DataFrame({"_rec": rec_all[full & ~blank]})
    for name in KNOWN_COLUMNS:
        col = columns[seen[name]][keep] if name in seen else pd.Series("", index=range(len(frame)), dtype="str")
        frame[name] = col.reset_index(drop=True)
    # the schemes the file states (rows with another scheme are rejected below)
    schemes = set(frame["unit_scheme"].str.strip().str.lower().replace("", SCHEME).unique())
    row_rejects, candidates = _check_rows(frame, ctx)
    return rejects + row_rejects, candidates, frozenset(schemes & {SCHEME, LEGACY})



# -- staging one workbook --------------------------------------------------------------------------

# Problems of the workbook reader that concern no data record: the rows under a wrong total are loaded.
_WORKBOOK_REPORT_ONLY = frozenset({"workbook.total_mismatch"})
_WORKBOOK_WHOLE_FILE = frozenset({"workbook.unreadable", "workbook.no_header", "ingest.limit_exceeded"})


def _stage_workbook(path: Path, st: _Staged, ctx: _Context) -> _Staged:
    """An agency workbook, read into landing rows (one record per value cell) and checked like a CSV file."""
    from pipelines.ingest.workbook import read_workbook

    result = read_workbook(path, ctx.sector, ctx.workbook_mapping(), period=ctx.period, limits=ctx.limits)
    rows = result.rows.reset_index(drop=True)
    wb_rejects = result.rejects.reset_index(drop=True)
    whole = wb_rejects[wb_rejects["check_code"].isin(_WORKBOOK_WHOLE_FILE)]
    if rows.empty and len(whole):
        first = whole.iloc[0]
        st.reject_file(str(first["check_code"]), str(first["reason"]))
        return st

    n = len(rows)
    k = len(wb_rejects)
    # records 1..n: the value cells; n+1..n+k: the problems the reader found (a column, a cell, a sheet)
    rec_rows = np.full(n + k + 1, -1, dtype=np.int64)
    rec_raw: list[str | None] = [None] * (n + k + 1)
    rec_columns: list[str | None] = [None] * (n + k + 1)
    if n:
        rows = rows.astype(object).where(rows.notna(), "")
        rec_rows[1 : n + 1] = pd.to_numeric(rows["row_number"]).to_numpy(dtype=np.int64)
        for i, r in enumerate(rows.itertuples(index=False), start=1):
            unit = " ".join(x for x in (str(r.unit_code), str(r.unit_name)) if x)
            rec_raw[i] = (f"[{r.sheet}] dòng/row {r.row_number}: {unit} | {r.column_name} = {r.value}"
                          + (f" | unit_scheme = {r.unit_scheme}" if r.unit_scheme and r.unit_scheme != SCHEME else ""))
            rec_columns[i] = str(r.column_name) or None
    wb_rows: list[dict[str, Any]] = []
    for j, r in enumerate(wb_rejects.itertuples(index=False), start=n + 1):
        has_row = r.row is not None and not pd.isna(r.row)
        if has_row:
            rec_rows[j] = int(r.row)
        where = f"[{r.sheet}]" if isinstance(r.sheet, str) and r.sheet else ""
        rec_raw[j] = " ".join(x for x in (where, f"dòng/row {int(r.row)}" if has_row else "",
                                          f"| {r.column}" if isinstance(r.column, str) and r.column else "") if x) or None
        column = r.column if isinstance(r.column, str) and r.column else None
        rec_columns[j] = column
        wb_rows.append({"_rec": j, "column_name": column, "value": None if pd.isna(r.value) else r.value,
                        "check_code": r.check_code, "reason": r.reason})
    st.rec_rows, st.rec_raw, st.rec_columns = rec_rows, rec_raw, rec_columns
    counted = [row for row in wb_rows if row["check_code"] not in _WORKBOOK_REPORT_ONLY]
    st.rows_total = n + len(counted)

    frame = pd.DataFrame({"_rec": np.arange(1, n + 1, dtype=np.int64)})
    for name in KNOWN_COLUMNS:
        col = rows[name] if n and name in rows.columns else pd.Series("", index=range(n), dtype=object)
        frame[name] = pd.Series([unicodedata.normalize("NFC", str(v)).strip() for v in col], dtype="str")
    schemes = set(frame["unit_scheme"].str.lower().replace("", SCHEME).unique()) if n else set()
    st.schemes = frozenset(schemes & {SCHEME, LEGACY})

    row_rejects, candidates = _check_rows(frame, ctx)
    st.rejects = ([pd.DataFrame(wb_rows)] if wb_rows else []) + row_rejects
    st.candidates = candidates.assign(source_file=st.source_file, file_sha256=st.sha256)
    return st


def _reason_empty(name: str, header_only: bool) -> str:
    if header_only:
        return (f"Tệp '{name}' chỉ có dòng tiêu đề, không có số liệu; cần ít nhất một dòng số liệu / file '{name}' "
                f"has only the header and no data rows; expected at least one data row")
    return (f"Tệp '{name}' rỗng; cần dòng tiêu đề {', '.join(REQUIRED_COLUMNS)} và các dòng số liệu / file '{name}' "
            f"is empty; expected a header ({', '.join(REQUIRED_COLUMNS)}) and data rows")


def _norm_name(name: str) -> str:
    return unicodedata.normalize("NFC", name.replace("\ufeff", "")).strip().lower()


def _sniff_delimiter(text: str) -> str:
    first = text.split("\n", 1)[0].split("\r", 1)[0]
    best, best_hits = ",", -1
    for d in (",", ";", "\t"):
        try:
            names = {_norm_name(h) for h in next(csv.reader([first], delimiter=d), [])}
        except csv.Error:
            continue
        hits = sum(c in names for c in REQUIRED_COLUMNS)
        if hits > best_hits:
            best, best_hits = d, hits
    return best


def _read_records(text: str, delimiter: str, limits: IngestLimits | None = None
                  ) -> tuple[list[str], list[list[str]], list[int], dict[int, str]]:
    """Records of a CSV text, with for each record the number of the last line it uses, and the records
    that are a broken line (an unclosed quote: ``pipelines.ingest.csv_stream``) with the reason."""
    lines = list(io.StringIO(text, newline=""))
    source: list[str] = lines
    if not text.isascii():
        # NFC never touches line breaks, so the normalised text has the same lines.
        source = list(io.StringIO(unicodedata.normalize("NFC", text), newline=""))
        if len(source) != len(lines):
            source = [unicodedata.normalize("NFC", line) for line in lines]
    read = read_records(list(source), delimiter, None, limits=limits)
    recs, ends, broken = read.cells, read.ends, read.broken
    if not recs:
        recs, ends = [[]], [0]
    return lines, recs, ends, broken


# -- encodings -------------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32 LE", "utf-32"),
    (codecs.BOM_UTF32_BE, "UTF-32 BE", "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "UTF-16 LE", "utf-16"),
    (codecs.BOM_UTF16_BE, "UTF-16 BE", "utf-16"),
)
_VIET_LETTERS = frozenset(
    "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬĐÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
)
# Bytes that only windows-1258 gives Vietnamese meaning to (ă â đ ơ ư and the combining tone marks).
_CP1258_MARKERS = frozenset(b"\xc3\xe3\xd0\xf0\xd5\xf5\xdd\xfd\xcc\xec\xd2\xf2\xde")
_SAVE_AS = "hãy mở tệp và lưu lại bằng 'CSV UTF-8 (Comma delimited) (*.csv)'"
_SAVE_AS_EN = "open it and save it again as 'CSV UTF-8 (Comma delimited) (*.csv)'"


@dataclass(frozen=True)
class Decoded:
    text: str | None
    encoding: str | None  # the encoding read, or the one the file looks like when rejected
    problem: str | None = None  # bilingual reason when the file is not UTF-8
    bad_bytes: str | None = None
    bad_line: str | None = None
    fallback_text: str | None = None  # decoded with the guessed encoding, to count rows


def decode_bytes(data: bytes) -> Decoded:
    """Decode a landing file: UTF-8 (with or without BOM) or a precise reason why not."""
    for bom, label, codec in _BOMS:
        if data.startswith(bom):
            if codec == "utf-8-sig":
                try:
                    return Decoded(data[len(bom):].decode("utf-8"), "utf-8-sig")
                except UnicodeDecodeError as exc:
                    return _not_utf8(data, exc, offset=len(bom), has_bom=True)
            fallback = data.decode(codec, errors="replace")
            return Decoded(
                None, label,
                problem=(f"Tệp được mã hóa {label} (có BOM {bom.hex(' ').upper()}), không phải UTF-8; thường do lưu "
                         f"bằng 'Unicode Text'; {_SAVE_AS} / the file is encoded in {label} (byte order mark "
                         f"{bom.hex(' ').upper()}), not UTF-8, as Excel's 'Unicode Text' writes; expected UTF-8: "
                         f"{_SAVE_AS_EN}"),
                bad_bytes=bom.hex(" ").upper(), bad_line=_first_line(fallback), fallback_text=fallback,
            )
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as exc:
        return _not_utf8(data, exc, offset=0, has_bom=False)


def _first_line(text: str) -> str:
    return text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""


def _not_utf8(data: bytes, exc: UnicodeDecodeError, *, offset: int, has_bom: bool) -> Decoded:
    start = offset + exc.start
    bad = data[start : offset + exc.end]
    line_no = data[:start].count(b"\n") + 1
    line_start = data.rfind(b"\n", 0, start) + 1
    line_end = data.find(b"\n", start)
    line_bytes = data[line_start : line_end if line_end >= 0 else len(data)].rstrip(b"\r")
    label, codec = _guess_8bit(data[offset:])
    fallback = data[offset:].decode(codec, errors="replace")
    mixed = _has_valid_utf8_multibyte(data[offset:])
    desc_vi = {"windows-1258": "windows-1258, bảng mã tiếng Việt của Windows",
               "windows-1252": "windows-1252 (Tây Âu)",
               "UTF-16 LE": "UTF-16 LE không có BOM", "UTF-16 BE": "UTF-16 BE không có BOM"}.get(label, label)
    desc_en = {"windows-1258": "windows-1258, the Windows Vietnamese code page",
               "windows-1252": "windows-1252 (Western European)",
               "UTF-16 LE": "UTF-16 LE without a byte order mark",
               "UTF-16 BE": "UTF-16 BE without a byte order mark"}.get(label, label)
    if mixed:
        desc_vi = f"trộn UTF-8 với một bảng mã khác, có lẽ {desc_vi}"
        desc_en = f"a mix of UTF-8 and another encoding, probably {desc_en}"
    legacy_vi = legacy_en = ""
    if label in ("windows-1252", "latin-1") and not mixed:
        legacy_vi = " hoặc bảng mã phông cũ TCVN3 (ABC) / VNI"
        legacy_en = " or a legacy Vietnamese font encoding such as TCVN3 (ABC) or VNI"
    bom_vi = " dù có BOM UTF-8" if has_bom else ""
    bom_en = " despite its UTF-8 byte order mark" if has_bom else ""
    hexed = bad.hex(" ").upper()
    problem = (
        f"Tệp không phải UTF-8{bom_vi}: byte {hexed} ở dòng {line_no} không hợp lệ; tệp có vẻ được mã hóa "
        f"{desc_vi}{legacy_vi}; cần UTF-8: {_SAVE_AS} / the file is not UTF-8{bom_en}: invalid byte {hexed} "
        f"in line {line_no}; it looks like {desc_en}{legacy_en}; expected UTF-8: {_SAVE_AS_EN}"
    )
    return Decoded(None, label, problem=problem, bad_bytes=hexed,
                   bad_line=line_bytes.decode(codec, errors="replace"), fallback_text=fallback)


def _has_valid_utf8_multibyte(data: bytes) -> bool:
    text = data[: 1 << 20].decode("utf-8", errors="replace")
    return any(ord(c) > 127 and c != "\ufffd" for c in text)


def _guess_8bit(data: bytes) -> tuple[str, str]:
    """The encoding a non-UTF-8 file most likely uses: (label, Python codec)."""
    sample = data[: 1 << 20]
    if sample:
        even_nul = sample[0::2].count(0) / max(1, len(sample[0::2]))
        odd_nul = sample[1::2].count(0) / max(1, len(sample[1::2]))
        if odd_nul > 0.3 and even_nul < 0.05:
            return "UTF-16 LE", "utf-16-le"
        if even_nul > 0.3 and odd_nul < 0.05:
            return "UTF-16 BE", "utf-16-be"
    high = [b for b in sample if b >= 0x80]
    if not high:
        return "latin-1", "latin-1"
    try:
        as1258 = unicodedata.normalize("NFC", sample.decode("cp1258"))
    except UnicodeDecodeError:
        as1258 = None
    if as1258 is not None and any(b in _CP1258_MARKERS for b in high):
        non_ascii = [c for c in as1258 if ord(c) > 127]
        viet = sum(c in _VIET_LETTERS for c in non_ascii)
        if non_ascii and viet / len(non_ascii) >= 0.6:
            return "windows-1258", "cp1258"
    try:
        sample.decode("cp1252")
        return "windows-1252", "cp1252"
    except UnicodeDecodeError:
        return "latin-1", "latin-1"


# -- numbers ---------------------------------------------------------------------------------------

_D = "[0-9]"
_G = f"[1-9]{_D}{{0,2}}"  # a leading thousands group: 1 to 3 digits, no leading zero
_NUMBER_FORMS: list[tuple[str, str, str]] = [
    # (pattern on the unsigned text, characters removed, decimal mark to turn into '.')
    (f"{_D}+", "", ""),
    (f"{_G}(?:\\.{_D}{{3}}){{2,}}", ".", ""),  # 1.234.567
    (f"{_G}(?:,{_D}{{3}}){{2,}}", ",", ""),  # 1,234,567
    (f"{_G}(?:\\.{_D}{{3}})+,{_D}+", ".", ","),  # 1.234,5
    (f"{_G}(?:,{_D}{{3}})+\\.{_D}+", ",", ""),  # 1,234.5
    (f"{_G}(?: {_D}{{3}})+(?:[.,]{_D}+)?", " ", ","),  # 1 234 / 1 234,5 / 1 234.5
]
_AMBIGUOUS = f"{_G}[.,]{_D}{{3}}"  # 1.234 / 1,234
_DECIMAL_FORMS: list[tuple[str, str]] = [(f"{_D}+\\.{_D}+", ""), (f"{_D}+,{_D}+", ",")]
_SPACES = re.compile("[\u00a0\u2007\u2009\u202f]")
#: Numbers from this size on are rejected (``out_of_range``): a double holds every whole number below 2**53 only.
MAX_ABS_VALUE = 1e16


def parse_numbers(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised number rule: (values as float, problem) with problem None, 'empty', 'ambiguous' or 'invalid'."""
    s = text.astype("str").str.strip()
    if not s.str.isascii().all():
        s = s.str.replace(_SPACES.pattern, " ", regex=True).str.replace("\u2212", "-", regex=False)
    negative = s.str.startswith("-")
    body = s.where(~negative, s.str.slice(1))
    canon = pd.Series(pd.NA, index=s.index, dtype="str")
    todo = pd.Series(True, index=s.index)
    for pattern, remove, decimal in _NUMBER_FORMS:
        if not todo.any():
            break
        sub = body[todo]
        hit = sub.str.fullmatch(pattern)
        if hit.any():
            idx = hit[hit].index
            val = sub[idx]
            if remove:
                val = val.str.replace(remove, "", regex=False)
            if decimal:
                val = val.str.replace(decimal, ".", regex=False)
            canon[idx] = val
            todo[idx] = False
    ambiguous = pd.Series(False, index=s.index)
    if todo.any():
        sub = body[todo]
        amb = sub.str.fullmatch(_AMBIGUOUS)
        ambiguous[amb[amb].index] = True
        todo[amb[amb].index] = False
    for pattern, decimal in _DECIMAL_FORMS:
        if not todo.any():
            break
        sub = body[todo]
        hit = sub.str.fullmatch(pattern)
        if hit.any():
            idx = hit[hit].index
            val = sub[idx]
            canon[idx] = val.str.replace(",", ".", regex=False) if decimal else val
            todo[idx] = False
    values = pd.to_numeric(canon, errors="coerce").astype("float64")
    values = values.where(~negative, -values)
    values = values.where(values != 0, 0.0)  # no -0.0
    # beyond 2**53 a double no longer holds every whole number; 400 digits would be inf
    huge = (values.abs() >= MAX_ABS_VALUE).to_numpy()
    values[huge] = np.nan
    problem = pd.Series(None, index=s.index, dtype="object")
    problem[s == ""] = "empty"
    problem[ambiguous] = "ambiguous"
    problem[values.isna() & (s != "") & ~ambiguous & ~huge] = "invalid"
    problem[huge] = "out_of_range"
    return values, problem


# -- row checks ------------------------------------------------------------------------------------


def _q(s: pd.Series) -> pd.Series:
    return "'" + s.astype("str") + "'"


def _map(s: pd.Series, mapping: dict[str, Any]) -> pd.Series:
    """``s.map(mapping)`` computed on the distinct values (None where unmapped)."""
    codes, uniques = pd.factorize(s)
    looked_up = np.array([mapping.get(u) for u in uniques] + [None], dtype=object)
    return pd.Series(looked_up[codes], index=s.index, dtype=object)


def _isin(s: pd.Series, values: frozenset[str]) -> pd.Series:
    """``s.isin(values)`` computed on the distinct values (NA is never in)."""
    codes, uniques = pd.factorize(s)
    found = np.array([u in values for u in uniques] + [False], dtype=bool)
    return pd.Series(found[codes], index=s.index)


def _check_rows(frame: pd.DataFrame, ctx: _Context) -> tuple[list[pd.DataFrame], pd.DataFrame]:
    """Every row check; returns the rejects and the rows that passed them all.

    The masks are vectorised; reasons are only built for the rows they concern.
    """
    out: list[pd.DataFrame] = []
    bad = np.zeros(len(frame), dtype=bool)
    w = frame.copy()
    w["de"] = w["data_element"].str.upper()
    w["el_sector"] = _map(w["de"], ctx.element_sector)
    w["el_kind"] = _map(w["de"], ctx.element_kind)
    w["el_level"] = _map(w["de"], ctx.element_level)

    def add(mask: Any, column: str | None, code: str, reason: Any) -> None:
        nonlocal bad
        m = np.asarray(pd.Series(mask).fillna(False), dtype=bool) if not isinstance(mask, np.ndarray) else mask
        if not m.any():
            return
        sub = w.loc[m]
        text = reason(sub) if callable(reason) else reason
        out.append(pd.DataFrame({
            "_rec": sub["_rec"].to_numpy(),
            "column_name": column,
            "value": sub[column].to_numpy(dtype=object) if column else None,
            "check_code": code,
            "reason": text.to_numpy(dtype=object) if isinstance(text, pd.Series) else text,
        }))
        bad |= m

    # required cells
    expected = {
        "period": (f"kỳ {ctx.period}", f"the period {ctx.period}"),
        "unit_code": ("mã xã 5 chữ số hoặc mã tỉnh 2 chữ số (2025), hoặc tên đơn vị ở cột 'unit_name'",
                      "a 5-digit commune or 2-digit province code of the 2025 scheme, or the unit's name in column "
                      "'unit_name'"),
        "data_element": (f"một mã chỉ tiêu của ngành {ctx.sector}", f"a data element code of sector {ctx.sector}"),
        "value": ("một số", "a number"),
    }
    for col in REQUIRED_COLUMNS:
        vi, en = expected[col]
        empty = w[col] == ""
        if col == "unit_code":  # a name stands for a missing code
            empty &= w["unit_name"] == ""
        add(empty, col, "ingest.missing_value",
            f"Cột '{col}' bị trống; cần {vi} / column '{col}' is empty; expected {en}")

    # period
    add((w["period"] != "") & (w["period"].str.upper() != ctx.period), "period", "ingest.period_mismatch",
        lambda d: "Cột 'period': kỳ " + _q(d["period"]) + f" khác với kỳ của thư mục; cần '{ctx.period}' "
        f"(landing/{ctx.period}/{ctx.sector}/) / column 'period': " + _q(d["period"])
        + f" does not match the folder's period; expected '{ctx.period}' (landing/{ctx.period}/{ctx.sector}/)")

    # unit scheme: empty or '2025' (units since 1 July 2025), 'legacy' (units before, mapped through the crosswalk)
    scheme = w["unit_scheme"].str.strip().str.lower()
    legacy = (scheme == LEGACY).to_numpy()
    current = ((scheme == "") | (scheme == SCHEME)).to_numpy()
    add(~legacy & ~current, "unit_scheme", "ingest.unsupported_scheme",
        lambda d: "Cột 'unit_scheme': hệ đơn vị " + _q(d["unit_scheme"]) + " không hợp lệ; cần để trống hoặc '2025' "
        "(đơn vị từ 1/7/2025), hoặc 'legacy' (đơn vị trước 1/7/2025, được chuyển đổi sang đơn vị mới) / "
        "column 'unit_scheme': scheme " + _q(d["unit_scheme"]) + " is not supported; expected empty or '2025' "
        "(units since 1 July 2025), or 'legacy' (units before, mapped onto the new ones)")

    # data element
    known = w["el_sector"].notna()
    builtin = w["el_kind"] == "unit_count"
    own = ", ".join(ctx.sector_elements)
    add((w["data_element"] != "") & ~known, "data_element", "ingest.unknown_data_element",
        lambda d: "Cột 'data_element': mã chỉ tiêu " + _q(d["data_element"])
        + f" không có trong phương pháp {ctx.methodology_version}; cần một trong các mã của ngành {ctx.sector}: "
        f"{own} / column 'data_element': " + _q(d["data_element"])
        + f" is not a data element of methodology {ctx.methodology_version}; expected one of sector "
        f"{ctx.sector}'s codes: {own}")
    add(builtin, "data_element", "ingest.not_reportable",
        lambda d: "Cột 'data_element': " + _q(d["de"]) + " do hệ thống tự tính từ danh mục đơn vị, không báo cáo; "
        f"cần một mã của ngành {ctx.sector}: {own} / column 'data_element': " + _q(d["de"]) + " is built in "
        f"(computed from the unit list) and is not reported; expected one of sector {ctx.sector}'s codes: {own}")

    def wrong_sector(d: pd.DataFrame) -> pd.Series:
        sec = d["el_sector"].astype("str")
        return ("Cột 'data_element': chỉ tiêu " + _q(d["de"]) + " thuộc ngành " + sec.map(ctx.sector_vi)
                + f", không thuộc ngành {ctx.sector_vi(ctx.sector)}; hãy gửi trong thư mục landing/{ctx.period}/"
                + sec + "/ / column 'data_element': " + _q(d["de"]) + " belongs to sector " + sec.map(ctx.sector_en)
                + f", not {ctx.sector_en(ctx.sector)}; expected a {ctx.sector} data element; send it in "
                f"landing/{ctx.period}/" + sec + "/")

    add(known & ~builtin & (w["el_sector"] != ctx.sector), "data_element", "ingest.wrong_sector", wrong_sector)

    # value
    # yes/no elements: "có", "x", "không" as in workbooks (the same words, the same answer)
    values, problem = parse_numbers(yes_no_as_number(w["value"], w["el_kind"] == "yes_no"))
    w["num"] = values

    def ambiguous(d: pd.DataFrame) -> pd.Series:
        v = d["value"].astype("str")
        as_int = v.str.replace(r"[.,]", "", regex=True)
        as_dec = v.str.replace(",", ".", regex=False)
        return ("Cột 'value': " + _q(v) + " không rõ nghĩa: có thể là " + as_int + " (dấu phân cách hàng nghìn) hoặc "
                + as_dec + " (dấu thập phân); cần số viết không có dấu phân cách hàng nghìn, ví dụ 1234 hoặc 1234,5 / "
                "column 'value': " + _q(v) + " is ambiguous: it could be " + as_int + " (thousands separator) or "
                + as_dec + " (decimal mark); expected a number without thousands separators, e.g. 1234 or 1234.5")

    def invalid(d: pd.DataFrame) -> pd.Series:
        yn = d["el_kind"] == "yes_no"
        hint_vi = pd.Series("", index=d.index, dtype="str").where(~yn, " (chỉ tiêu có/không: ghi 1 = có, 0 = không)")
        hint_en = pd.Series("", index=d.index, dtype="str").where(~yn, " (yes/no element: write 1 for yes, 0 for no)")
        return ("Cột 'value': " + _q(d["value"]) + " không phải là số; cần một số viết không có dấu phân cách hàng "
                "nghìn, ví dụ 1234567 hoặc 12,5" + hint_vi + " / column 'value': " + _q(d["value"]) + " is not a "
                "number; expected a number written without thousands separators, e.g. 1234567 or 12.5" + hint_en)

    add((problem == "ambiguous").to_numpy(), "value", "ingest.unparseable_value", ambiguous)
    add((problem == "invalid").to_numpy(), "value", "ingest.unparseable_value", invalid)
    add((problem == "out_of_range").to_numpy(), "value", "ingest.unparseable_value",
        lambda d: "Cột 'value': " + _q(d["value"].str.slice(0, 40) + np.where(d["value"].str.len() > 40, "…", ""))
        + " có " + d["value"].str.len().astype("str") + " ký tự, vượt giới hạn số (|giá trị| < 10^16); cần một số "
        "đếm hoặc số tiền thật / column 'value': " + _q(d["value"].str.slice(0, 40) + np.where(
            d["value"].str.len() > 40, "…", "")) + " (" + d["value"].str.len().astype("str") + " characters) is out "
        "of range: expected a real count or amount, below 10^16 in absolute value")
    parsed = values.notna()
    negative = parsed & (values < 0)
    add(negative, "value", "ingest.negative_value",
        lambda d: "Cột 'value': giá trị âm " + _q(d["value"]) + " cho " + _q(d["de"]) + "; cần số lớn hơn hoặc bằng 0 "
        "/ column 'value': negative value " + _q(d["value"]) + " for " + _q(d["de"]) + "; expected 0 or more")
    whole_kinds = w["el_kind"].isin(["count", "yes_no"])
    fractional = parsed & ~negative & whole_kinds & (values != np.floor(values.fillna(0)))
    add(fractional, "value", "ingest.not_whole_number",
        lambda d: "Cột 'value': " + _q(d["value"]) + " không phải số nguyên; " + _q(d["de"]) + " là "
        + d["el_kind"].map(_KIND_VI).astype("str") + ", cần số nguyên (0, 1, 2, ...) / column 'value': "
        + _q(d["value"]) + " is not a whole number; " + _q(d["de"]) + " is a " + d["el_kind"].astype("str")
        + " element, expected a whole number (0, 1, 2, ...)")
    add(parsed & ~negative & ~fractional & (w["el_kind"] == "yes_no") & ~values.isin([0.0, 1.0]), "value",
        "ingest.invalid_yes_no",
        lambda d: "Cột 'value': " + _q(d["value"]) + " không hợp lệ cho chỉ tiêu có/không " + _q(d["de"])
        + "; cần 1 (có) hoặc 0 (không) / column 'value': " + _q(d["value"]) + " is not valid for yes/no element "
        + _q(d["de"]) + "; expected 1 (yes) or 0 (no)")

    # units: only checkable when the level of the data element is known
    checkable = (known & ~builtin).to_numpy()
    has_code = (w["unit_code"] != "").to_numpy()
    has_name = (w["unit_name"] != "").to_numpy()
    w["method"] = np.where(legacy, LEGACY, "code")
    w["legacy_level"] = None
    w["src_key"] = None

    def add_unit_rejects(idx: pd.Index, codes: pd.Series, reasons: pd.Series) -> None:
        """One reject per row, on the column the unit was read from (the code, else the name)."""
        nonlocal bad
        pos = w.index.get_indexer(idx)
        by_code = has_code[pos]
        out.append(pd.DataFrame({
            "_rec": w["_rec"].to_numpy()[pos],
            "column_name": np.where(by_code, "unit_code", "unit_name"),
            "value": np.where(by_code, w["unit_code"].to_numpy(dtype=object)[pos],
                              w["unit_name"].to_numpy(dtype=object)[pos]),
            "check_code": codes.to_numpy(dtype=object),
            "reason": reasons.to_numpy(dtype=object),
        }))
        bad[pos] = True

    # 2025 rows with a name and no code: the name is matched to a code, never guessed
    named = current & checkable & ~has_code & has_name
    w["name_code"] = None
    if named.any():
        from pipelines.units.resolve import match_names

        matched = match_names(w.loc[named, ["unit_name", "province"]].assign(data_element=w.loc[named, "de"]),
                              ctx.element_level)
        ok_m = matched["check_code"].isna()
        w.loc[matched.index[ok_m], "name_code"] = matched.loc[ok_m, "unit_code"]
        w.loc[matched.index[ok_m], "method"] = "name"
        if (~ok_m).any():
            add_unit_rejects(matched.index[~ok_m], matched.loc[~ok_m, "check_code"], matched.loc[~ok_m, "reason"])

    # legacy rows: the unit before 1 July 2025 they name (mapped onto the 2025 units once all rows are read)
    old = legacy & checkable & (has_code | has_name)
    if old.any():
        from pipelines.units.resolve import identify_legacy

        ident = identify_legacy(w.loc[old, ["unit_code", "unit_name", "province", "district"]]
                                .assign(data_element=w.loc[old, "de"]), ctx.element_level)
        ident = _province_only(ident, w)  # an unknown old commune of a named province: to that province only
        ok_i = ident["check_code"].isna()
        if (~ok_i).any():
            add_unit_rejects(ident.index[~ok_i], ident.loc[~ok_i, "check_code"], ident.loc[~ok_i, "reason"])
        good = ident[ok_i]
        w.loc[good.index, "name_code"] = good["unit_code"]
        w.loc[good.index, "legacy_level"] = good["level"]
        # rows naming distinct former units merged into one legacy unit before the reform (aliases) are distinct
        alias = good["method"].isin(["alias", "province_only"])
        written = good["unit_name"].where(good["method"] == "province_only", w.loc[good.index, "unit_name"])
        key = good["unit_code"].astype(object).where(~alias, good["unit_code"] + "|" + written)
        w.loc[good.index, "src_key"] = key

    # 2025 codes (a code of the legacy scheme is checked against the legacy units above)
    unit, unit_problem = _resolve_units(w["unit_code"], w["el_level"].where(checkable & current & has_code), ctx)
    unit = unit.astype(object).where(w["name_code"].isna(), w["name_code"])
    w["unit"] = unit
    if unit_problem.notna().any():
        parts = unit_problem.fillna("").str.partition("|")
        kind = parts[0]
        w["other"] = parts[2]
        add((kind == "unknown").to_numpy(), "unit_code", "ingest.unknown_unit", lambda d: _unit_reason(d, ctx, "unknown"))
        add((kind == "wrong_level").to_numpy(), "unit_code", "ingest.unknown_unit",
            lambda d: _unit_reason(d, ctx, "wrong_level"))
        add((kind == "ambiguous").to_numpy(), "unit_code", "ingest.unknown_unit",
            lambda d: _unit_reason(d, ctx, "ambiguous"))

    ok = ~bad
    cand = pd.DataFrame({
        "period": ctx.period,
        "sector": ctx.sector,
        "unit_code": w["unit"][ok].to_numpy(dtype=object),
        "data_element": w["de"][ok].to_numpy(dtype=object),
        "disaggregation": _norm_disaggregation(w["disaggregation"][ok]).to_numpy(dtype=object),
        "value": values[ok].to_numpy(dtype="float64"),
        "unit_name": w["unit_name"][ok].to_numpy(dtype=object),
        "comment": w["comment"][ok].to_numpy(dtype=object),
        "value_text": w["value"][ok].to_numpy(dtype=object),
        "_rec": w["_rec"][ok].to_numpy(),
        # code | name (2025 units) | legacy (a unit before 1 July 2025, in unit_code: mapped in _assemble)
        "match_method": w["method"][ok].to_numpy(dtype=object),
        "legacy_level": w["legacy_level"][ok].to_numpy(dtype=object),
        "target_level": w["el_level"].where(w["legacy_level"] != "province", "province")[ok].to_numpy(dtype=object),
        "src_key": w["src_key"][ok].to_numpy(dtype=object),
    })
    for col in ("unit_name", "comment"):
        cand[col] = cand[col].where(cand[col] != "", None)
    return out, cand


def _province_only(ident: pd.DataFrame, w: pd.DataFrame) -> pd.DataFrame:
    """Unknown old communes whose row names its old province: identified as that province
    (``pipelines/units/unmapped.py``), keyed apart by the commune as written."""
    from pipelines.units.unmapped import province_fallback, written_unit

    fallback = province_fallback(ident, w.loc[ident.index])
    hit = fallback.notna()
    if not hit.any():
        return ident
    ident = ident.copy()
    written = [written_unit(c, n) for c, n in zip(w.loc[hit[hit].index, "unit_code"], w.loc[hit[hit].index, "unit_name"])]
    ident.loc[hit, ["unit_code", "level", "check_code", "reason"]] = [[p, "province", None, None] for p in fallback[hit]]
    ident.loc[hit, "unit_name"] = written
    ident.loc[hit, "method"] = "province_only"
    return ident


def _norm_disaggregation(s: pd.Series) -> pd.Series:
    """'sex = F' -> 'sex=F' (only the rows that have spaces are touched)."""
    spaced = s.str.contains(" ", regex=False)
    if spaced.any():
        s = s.copy()
        s[spaced] = s[spaced].str.replace(r"\s*=\s*", "=", regex=True)
    return s


def _unit_reason(d: pd.DataFrame, ctx: _Context, kind: str) -> pd.Series:
    code = _q(d["unit_code"])
    de = _q(d["de"])
    level = d["el_level"].astype("str")
    level_vi = level.map(_LEVEL_VI).astype("str")
    width = level.map({"commune": "5", "province": "2"}).astype("str")
    if kind == "unknown":
        # a code of the units before 1 July 2025 sent without unit_scheme = legacy: say so
        padded = d["unit_code"].astype("str").str.zfill(5).where(level == "commune",
                                                                 d["unit_code"].astype("str").str.zfill(2))
        old = _isin(padded.where(d["unit_code"].str.fullmatch("[0-9]+"), None), ctx.legacy_codes())
        hint_vi = pd.Series("", index=d.index, dtype="str").where(
            ~old, "; mã này là đơn vị trước ngày 1/7/2025: nếu số liệu theo đơn vị cũ, ghi unit_scheme = legacy")
        hint_en = pd.Series("", index=d.index, dtype="str").where(
            ~old, "; this is the code of a unit before 1 July 2025: for data keyed by the old units, write "
                  "unit_scheme = legacy")
        return ("Cột 'unit_code': mã đơn vị " + code + " không có trong danh mục " + level_vi + f" ({SCHEME}); "
                + de + " báo cáo theo " + level_vi + ", cần mã " + level_vi + " " + width + f" chữ số (hệ {SCHEME})"
                + hint_vi + " / column 'unit_code': unit code " + code + " is not a " + level
                + f" code of the {SCHEME} scheme; " + de + " is reported per " + level + ", expected a " + width
                + "-digit " + level + f" code of the {SCHEME} scheme" + hint_en)
    other = d["other"].astype("str")
    other_q = _q(other)
    other_name = other.map(lambda c: ctx.unit_names.get(c, "")).astype("str")
    other_level = other.str.len().map({2: "province", 5: "commune"}).astype("str")
    other_level_vi = other_level.map(_LEVEL_VI).astype("str")
    if kind == "wrong_level":
        return ("Cột 'unit_code': " + code + " là mã " + other_level_vi + " " + other_q + " (" + other_name + ") nhưng "
                + de + " báo cáo theo " + level_vi + "; cần mã " + level_vi + " " + width + f" chữ số ({SCHEME}) / "
                "column 'unit_code': " + code + " is the code of " + other_level + " " + other_q + " (" + other_name
                + "), but " + de + " is reported per " + level + "; expected a " + width + "-digit " + level
                + f" code of the {SCHEME} scheme")
    unit = _q(d["unit"].astype("str"))
    return ("Cột 'unit_code': " + code + " không rõ: có thể là " + level_vi + " " + unit + " (mất số 0 ở đầu) hoặc "
            + other_level_vi + " " + other_q + " (" + other_name + "); cần viết đủ " + width + " chữ số, ví dụ " + unit
            + " (định dạng cột là Text) / column 'unit_code': " + code + " is ambiguous: it could be " + level + " "
            + unit + " with its leading zeros lost, or " + other_level + " " + other_q + " (" + other_name
            + "); expected all " + width + " digits, e.g. " + unit + " (format the column as Text)")


def _fmt_number(v: float) -> str:
    if pd.isna(v):
        return ""
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))


def _resolve_units(code: pd.Series, level: pd.Series, ctx: _Context) -> tuple[pd.Series, pd.Series]:
    """Canonical unit code per row (or NA), and a problem 'unknown' | 'wrong_level|<code>' | 'ambiguous|<code>'."""
    digits = code.str.fullmatch("[0-9]+")
    length = code.str.len()
    lead0 = code.str.startswith("0")
    stripped = digits & ~lead0
    # readings of the code as written
    as_commune = code.str.zfill(5).where(digits & ((length == 5) | (stripped & (length < 5))))
    as_commune = as_commune.where(_isin(as_commune, ctx.communes))
    as_province = code.str.zfill(2).where(digits & ((length == 2) | (stripped & (length == 1))))
    as_province = as_province.where(_isin(as_province, ctx.provinces))
    full_commune = digits & (length == 5)
    full_province = digits & (length == 2)

    unit = pd.Series(pd.NA, index=code.index, dtype="str")
    problem = pd.Series(pd.NA, index=code.index, dtype="str")
    check = level.notna() & (code != "")
    com = check & (level == "commune")
    prov = check & (level == "province")

    # commune elements
    ok_c = com & as_commune.notna() & (full_commune | as_province.isna())
    unit[ok_c] = as_commune[ok_c]
    amb_c = com & as_commune.notna() & ~full_commune & as_province.notna()
    unit[amb_c] = as_commune[amb_c]
    problem[amb_c] = "ambiguous|" + as_province[amb_c]
    wrong_c = com & as_commune.isna() & as_province.notna()
    problem[wrong_c] = "wrong_level|" + as_province[wrong_c]
    problem[com & as_commune.isna() & as_province.isna()] = "unknown"

    # province elements
    ok_p = prov & as_province.notna() & (full_province | as_commune.isna())
    unit[ok_p] = as_province[ok_p]
    amb_p = prov & as_province.notna() & ~full_province & as_commune.notna()
    unit[amb_p] = as_province[amb_p]
    problem[amb_p] = "ambiguous|" + as_commune[amb_p]
    wrong_p = prov & as_province.isna() & as_commune.notna()
    problem[wrong_p] = "wrong_level|" + as_commune[wrong_p]
    problem[prov & as_province.isna() & as_commune.isna()] = "unknown"

    # rows whose level is unknown (data element rejected): keep the code as written
    unit = unit.where(check, code)
    unit = unit.where(problem.isna() | problem.str.startswith("ambiguous"), code)
    return unit, problem


# -- duplicates, rebasing and assembly ------------------------------------------------------------

_ASSEMBLY_REJECT_COLUMNS = ["_file", "_rec", "column_name", "value", "check_code", "reason"]
#: The duplicate key of legacy rows: one legacy unit (or a distinct former unit merged into it before 2025).
LEGACY_KEY = ["period", "src_key", "data_element", "disaggregation"]
_REBASE_BY = ["period", "data_element", "disaggregation"]
_LEGACY_LABEL = " (đơn vị cũ / legacy unit)"


def _assemble(staged: list[_Staged], ctx: _Context) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Values to load, the rejects found across rows (``_file``, ``_rec``, ...) and the loaded records.

    1. legacy rows: the duplicate rule, per legacy unit (one old unit is never added twice);
    2. the legacy rows left are summed onto the 2025 units through the crosswalk, all files together;
    3. a value given both for a 2025 unit and through the crosswalk: every copy is rejected
       (``units.scheme_overlap``), and the crosswalk is applied again without the legacy rows rejected,
       so that no row is half loaded (a split commune's other parts are taken out too);
    4. 2025 rows: the duplicate rule.

    The loaded records (``_file``, ``_rec``, ``match_method``) count each input record once.
    """
    parts = [st.candidates.assign(_file=i) for i, st in enumerate(staged)
             if st.candidates is not None and len(st.candidates)]
    empty_vals = pd.DataFrame({c: pd.Series(dtype=_VALUE_DTYPES[c]) for c in VALUE_COLUMNS})
    empty_rej = pd.DataFrame(columns=_ASSEMBLY_REJECT_COLUMNS)
    empty_loaded = pd.DataFrame({"_file": pd.Series(dtype="int64"), "_rec": pd.Series(dtype="int64"),
                                 "match_method": pd.Series(dtype=object)})
    if not parts:
        return empty_vals, empty_rej, empty_loaded
    cand = pd.concat(parts, ignore_index=True).sort_values(["_file", "_rec"], ignore_index=True)
    cand["row_number"] = np.concatenate([staged[f].row_number(g["_rec"].to_numpy())
                                         for f, g in cand.groupby("_file", sort=True)])
    multi_file = len(parts) > 1
    rejects: list[pd.DataFrame] = [empty_rej]
    is_legacy = (cand["match_method"] == LEGACY).to_numpy()
    cur = cand.loc[~is_legacy].reset_index(drop=True)
    leg = cand.loc[is_legacy].reset_index(drop=True)

    aggregates = empty_vals.assign(_file=pd.Series(dtype="int64"), _rec=pd.Series(dtype="int64"))
    leg_loaded = empty_loaded
    if len(leg):
        # 1. two rows for one legacy unit: the same rule as for 2025 rows, on the legacy unit
        leg["_label"] = leg["unit_code"] + _LEGACY_LABEL
        drop, rej = _duplicate_rule(leg, LEGACY_KEY, staged, multi_file)
        rejects.append(rej)
        leg = leg.loc[~drop].reset_index(drop=True)
        # 2-3. onto the 2025 units; overlaps with 2025 rows rejected whole, then the crosswalk again
        alive = np.ones(len(leg), dtype=bool)
        cur_out = np.zeros(len(cur), dtype=bool)
        while True:
            aggregates, leg_loaded, rebase_rejects = _rebase(leg.loc[alive], ctx)
            overlap, cur_hit, leg_hit = _overlaps(cur.loc[~cur_out], leg, aggregates, staged, multi_file)
            if overlap.empty:
                break
            rejects.append(overlap)
            cur_out[cur_hit] = True
            alive[leg_hit] = False
        rejects.append(rebase_rejects)
        cur = cur.loc[~cur_out].reset_index(drop=True)

    # 4. 2025 rows
    cur["_label"] = cur["unit_code"]
    drop, rej = _duplicate_rule(cur, DUPLICATE_KEY, staged, multi_file)
    rejects.append(rej)
    cur = cur.loc[~drop]
    cur_vals = cur.assign(source_units=None, rebase_complete=pd.NA)
    cur_vals = cur_vals.assign(source_file=[staged[f].source_file for f in cur_vals["_file"]]) if len(cur_vals) else cur_vals
    frames = [f[[*VALUE_COLUMNS, "_file", "_rec"]] for f in (cur_vals, aggregates) if len(f)]
    if frames:
        vals = pd.concat(frames, ignore_index=True).sort_values(["_file", "_rec", "unit_code"], kind="stable")
        vals = vals[VALUE_COLUMNS].reset_index(drop=True).astype(_VALUE_DTYPES)
        for col in ("unit_name", "comment", "source_units"):
            vals[col] = vals[col].where(vals[col].notna(), None)
    else:
        vals = empty_vals
    loaded = pd.concat([cur[["_file", "_rec", "match_method"]], leg_loaded], ignore_index=True)
    rej_frames = [r for r in rejects if len(r)]
    return vals, (pd.concat(rej_frames, ignore_index=True) if rej_frames else empty_rej), loaded


def _duplicate_rule(cand: pd.DataFrame, key: list[str], staged: list[_Staged],
                    multi_file: bool) -> tuple[np.ndarray, pd.DataFrame]:
    """Rows to drop (by position) and their rejects, for rows sharing ``key``.

    Different values: every copy is rejected (``ingest.conflicting_duplicate``, naming the others).
    Same value: the first copy (file order, then row) is kept, the others are ``ingest.duplicate_row``.
    ``cand`` has a RangeIndex, ``_file``, ``_rec``, ``row_number``, ``value``, ``value_text``, the key
    columns and ``_label`` (the unit as shown in the reasons).
    """
    empty_rej = pd.DataFrame(columns=_ASSEMBLY_REJECT_COLUMNS)
    drop = np.zeros(len(cand), dtype=bool)
    if cand.empty:
        return drop, empty_rej
    dup = cand.duplicated(key, keep=False)
    if not dup.any():
        return drop, empty_rej
    d = cand.loc[dup]
    group_id = d.groupby(key, sort=False, dropna=False).ngroup()
    nvals = d.groupby(group_id)["value"].transform("nunique")
    conflict_idx = nvals[nvals > 1].index
    identical_idx = nvals[nvals == 1].index
    rows: list[dict[str, Any]] = []
    # Conflicts: every copy is rejected and names the others. Plain loops over arrays: a whole file sent
    # twice with other numbers gives one group per row.
    c = d.loc[conflict_idx].assign(_g=group_id[conflict_idx]).sort_values(["_g", "_file", "_rec"])
    if len(c):
        recs = _records(c, key)
        gid = c["_g"].to_numpy()
        starts = np.flatnonzero(np.r_[True, gid[1:] != gid[:-1]])
        for a, b in zip(starts.tolist(), np.r_[starts[1:], len(c)].tolist(), strict=True):
            group = recs[a:b]
            where = [_where(staged[r["_file"]].source_file, r["row_number"], multi_file) for r in group]
            key_text = _key_text(group[0])
            for n, r in enumerate(group):
                oth = [o for o in range(len(group)) if o != n]
                others_vi = "; ".join(f"{where[o][0]} = {group[o]['value_text']}" for o in oth)
                others_en = "; ".join(f"{where[o][1]} = {group[o]['value_text']}" for o in oth)
                v = r["value_text"]
                rows.append({
                    "_file": r["_file"], "_rec": r["_rec"], "column_name": "value", "value": v,
                    "check_code": "ingest.conflicting_duplicate",
                    "reason": (f"Cột 'value': {key_text} có nhiều giá trị khác nhau: dòng này = {v}; {others_vi}; "
                               f"không nạp dòng nào; cần đúng một dòng cho mỗi (period, unit_code, data_element, "
                               f"disaggregation) / column 'value': {key_text} is given with different values: this "
                               f"row = {v}; {others_en}; none of them was loaded; expected exactly one row per "
                               f"(period, unit_code, data_element, disaggregation)"),
                })
        drop[c.index.to_numpy()] = True
    if len(identical_idx):
        ident = d.loc[identical_idx]
        first = ~ident.duplicated(key, keep="first")
        keep_where = {
            tuple(r[k] for k in key): _where(staged[r["_file"]].source_file, r["row_number"], multi_file)
            for r in _records(ident.loc[first], key)
        }
        repeats = ident.loc[~first]
        for r in _records(repeats, key):
            (kept_vi, kept_en), key_text = keep_where[tuple(r[k] for k in key)], _key_text(r)
            v = _fmt_number(r["value"])
            rows.append({
                "_file": r["_file"], "_rec": r["_rec"], "column_name": None, "value": r["value_text"],
                "check_code": "ingest.duplicate_row",
                "reason": (f"{key_text} trùng hệt {kept_vi} (cùng giá trị {v}); số liệu đã được nạp một lần từ dòng "
                           f"đó; cần mỗi số liệu đúng một dòng / {key_text} repeats {kept_en} with the same value {v}; "
                           f"the value was loaded once, from that row; expected each data value once"),
            })
        drop[repeats.index.to_numpy()] = True
    return drop, pd.DataFrame(rows, columns=_ASSEMBLY_REJECT_COLUMNS)


def _rebase(leg: pd.DataFrame, ctx: _Context) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Legacy rows summed onto the 2025 units: (values with ``_file``/``_rec`` of the first row summed and
    ``_members``, the records loaded with their match method, rejects of the crosswalk)."""
    from pipelines.units.crosswalk import rebase_values

    agg_rows: list[dict[str, Any]] = []
    loaded: list[tuple[int, int, str]] = []
    rejects: list[dict[str, Any]] = []
    flags = ctx.flag_elements
    files = leg["_file"].to_numpy()
    recs = leg["_rec"].to_numpy()
    rows = leg["row_number"].to_numpy()
    names = leg["unit_name"].to_numpy(dtype=object)
    comments = leg["comment"].to_numpy(dtype=object)
    texts = leg["value_text"].to_numpy(dtype=object)
    codes = leg["unit_code"].to_numpy(dtype=object)
    sources = leg["source_file"].to_numpy(dtype=object)
    shas = leg["file_sha256"].to_numpy(dtype=object)
    src_keys = leg["src_key"].to_numpy(dtype=object)
    positions = pd.Series(np.arange(len(leg)), index=leg.index)
    for (level, target), g in leg.groupby(["legacy_level", "target_level"], sort=True):
        # rows of one legacy unit and key are distinct former units merged into it (aliases): added first
        grouped = g.groupby([*_REBASE_BY, "unit_code"], sort=True)
        pre = grouped.agg(value_sum=("value", "sum"), value_max=("value", "max")).reset_index()
        gid = grouped.ngroup().to_numpy()
        order = np.argsort(gid, kind="stable")
        pos = positions[g.index].to_numpy()[order]
        cuts = np.flatnonzero(np.diff(gid[order])) + 1
        pre["members"] = [m.tolist() for m in np.split(pos, cuts)]
        pre["value"] = pre["value_max"].where(pre["data_element"].isin(flags), pre["value_sum"])
        pre["row_number"] = np.arange(len(pre))  # passed through to the decisions
        out, dec = rebase_values(pre[[*_REBASE_BY, "unit_code", "value", "row_number"]], level,
                                 rule=ctx.apportion_rule, flag_elements=flags, target_level=target, by=_REBASE_BY)
        members = pre["members"].tolist()
        for r in dec[dec["status"] == "rejected"].itertuples(index=False):
            for i in members[int(r.row_number)]:
                rejects.append({"_file": int(files[i]), "_rec": int(recs[i]), "column_name": "unit_code",
                                "value": codes[i], "check_code": r.check_code, "reason": r.reason})
        ok = dec[dec["status"] != "rejected"]
        pre_id = ok["row_number"].astype(int).to_numpy()
        split = (ok["status"] == "apportioned").to_numpy()
        apportioned_pre = set(pre_id[split].tolist())
        for p in sorted(set(pre_id.tolist())):
            method = "apportioned" if p in apportioned_pre else "crosswalk"
            loaded.extend((int(files[i]), int(recs[i]), method) for i in members[p])
        keys = pre.loc[pre_id, _REBASE_BY].astype(object).fillna("")
        contributors: dict[tuple, list[int]] = {}
        for k, t, p in zip(map(tuple, keys.to_numpy().tolist()), ok["target_code"].tolist(), pre_id.tolist(), strict=True):
            contributors.setdefault((*k, t), []).extend(members[p])
        for o in out.to_dict("records"):
            mem = sorted(set(contributors[(*(o[c] for c in _REBASE_BY), o["unit_code"])]),
                         key=lambda i: (files[i], rows[i]))
            first = mem[0]
            written = list(dict.fromkeys(n for n in names[mem] if isinstance(n, str) and n))
            notes = list(dict.fromkeys(n for n in comments[mem] if isinstance(n, str) and n))
            agg_rows.append({
                "period": o["period"], "sector": ctx.sector, "unit_code": o["unit_code"],
                "data_element": o["data_element"], "disaggregation": o["disaggregation"], "value": float(o["value"]),
                "unit_name": "; ".join(written) or None, "comment": "; ".join(notes) or None,
                "source_file": sources[first], "file_sha256": shas[first], "row_number": int(rows[first]),
                "match_method": "apportioned" if o["apportioned"] else "crosswalk",
                "source_units": o["source_units"], "rebase_complete": bool(o["complete"]),
                **_province_only_source(level, o["data_element"], ctx, src_keys[mem]),
                "_file": int(files[first]), "_rec": int(recs[first]), "_members": [leg.index[i] for i in mem],
                "value_text": _fmt_number(float(o["value"])),
            })
    agg = pd.DataFrame(agg_rows, columns=[*VALUE_COLUMNS, "_file", "_rec", "_members", "value_text"])
    loaded_df = pd.DataFrame(loaded, columns=["_file", "_rec", "match_method"]).drop_duplicates(["_file", "_rec"])
    return agg, loaded_df, pd.DataFrame(rejects, columns=_ASSEMBLY_REJECT_COLUMNS)


def _province_only_source(level: str, element: str, ctx: _Context, keys) -> dict[str, Any]:
    """A commune element loaded onto a province: old communes the crosswalk does not know
    (``pipelines/units/unmapped.py``): its match method, and those communes as written."""
    from pipelines.units.unmapped import METHOD

    if level != "province" or ctx.element_level.get(element) != "commune":
        return {}
    written = dict.fromkeys(str(k).partition("|")[2] for k in keys if isinstance(k, str))
    return {"match_method": METHOD, "source_units": ";".join(w for w in written if w)}


def _overlaps(cur: pd.DataFrame, leg: pd.DataFrame, agg: pd.DataFrame, staged: list[_Staged],
              multi_file: bool) -> tuple[pd.DataFrame, list[Any], list[Any]]:
    """Values given both for a 2025 unit and through the crosswalk: rejects for every copy (the 2025
    rows and every legacy row summed into the value), and the labels of the 2025 and legacy rows hit."""
    empty = pd.DataFrame(columns=_ASSEMBLY_REJECT_COLUMNS)
    if cur.empty or agg.empty:
        return empty, [], []
    agg_at = {tuple(k): i for i, k in enumerate(agg[DUPLICATE_KEY].astype(object).to_numpy().tolist())}
    cur_keys = [tuple(k) for k in cur[DUPLICATE_KEY].astype(object).to_numpy().tolist()]
    hits: dict[int, list[Any]] = {}
    for label, k in zip(cur.index, cur_keys, strict=True):
        if k in agg_at:
            hits.setdefault(agg_at[k], []).append(label)
    if not hits:
        return empty, [], []
    rows: list[dict[str, Any]] = []
    cur_hit: list[Any] = []
    leg_hit: list[Any] = []
    for a, labels in hits.items():
        g = agg.iloc[a]
        dis = g["disaggregation"]
        key_text = f"({g['period']}, {g['unit_code']}, {g['data_element']}{', ' + dis if dis else ''})"
        here = [_where(staged[int(cur.at[i, '_file'])].source_file, int(cur.at[i, "row_number"]), multi_file)
                for i in labels]
        new_vi = "; ".join(f"{w[0]} = {cur.at[i, 'value_text']}" for w, i in zip(here, labels, strict=True))
        new_en = "; ".join(f"{w[1]} = {cur.at[i, 'value_text']}" for w, i in zip(here, labels, strict=True))
        members = list(g["_members"])
        old = [_where(staged[int(leg.at[i, '_file'])].source_file, int(leg.at[i, "row_number"]), multi_file)
               for i in members[:5]]
        more = f", … (+{len(members) - 5})" if len(members) > 5 else ""
        old_vi = ", ".join(w[0] for w in old) + more
        old_en = ", ".join(w[1] for w in old) + more
        reason = (f"{key_text} có số liệu theo đơn vị mới ({new_vi}) và cả số liệu chuyển đổi từ đơn vị cũ "
                  f"{g['source_units']} (cộng = {g['value_text']}; {old_vi}); không nạp số liệu nào để tránh tính "
                  f"trùng; cần mỗi số liệu một lần, theo một hệ đơn vị / {key_text} is given for the 2025 unit "
                  f"({new_en}) and also through the crosswalk from legacy units {g['source_units']} (sum "
                  f"{g['value_text']}; {old_en}); none of them was loaded, to avoid double counting; expected each "
                  f"data value once, in one unit scheme")
        for i in labels:
            rows.append({"_file": int(cur.at[i, "_file"]), "_rec": int(cur.at[i, "_rec"]), "column_name": "unit_code",
                         "value": cur.at[i, "unit_code"], "check_code": "units.scheme_overlap", "reason": reason})
        for i in members:
            rows.append({"_file": int(leg.at[i, "_file"]), "_rec": int(leg.at[i, "_rec"]), "column_name": "unit_code",
                         "value": leg.at[i, "unit_code"], "check_code": "units.scheme_overlap", "reason": reason})
        cur_hit.extend(labels)
        leg_hit.extend(members)
    return pd.DataFrame(rows, columns=_ASSEMBLY_REJECT_COLUMNS), cur_hit, leg_hit


def _records(df: pd.DataFrame, key: list[str]) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values (much faster than ``DataFrame.to_dict``)."""
    cols = list(dict.fromkeys(["_file", "_rec", "row_number", "value", "value_text", "_label", "period",
                               "data_element", "disaggregation", *key]))
    lists = [df[c].tolist() for c in cols]
    return [dict(zip(cols, vals, strict=True)) for vals in zip(*lists, strict=True)]


def _where(source: str, row: int, multi_file: bool) -> tuple[str, str]:
    name = source.rsplit("/", 1)[-1]
    if multi_file:
        return f"dòng {row} tệp {name}", f"row {row} of {name}"
    return f"dòng {row}", f"row {row}"


def _key_text(r: dict[str, Any]) -> str:
    dis = r["disaggregation"]
    return f"({r['period']}, {r['_label']}, {r['data_element']}{', ' + dis if dis else ''})"


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


def _finish_rejects(staged: list[_Staged], assembly_rejects: pd.DataFrame, ctx: _Context) -> pd.DataFrame:
    frames = []
    for i, st in enumerate(staged):
        parts = [r for r in st.rejects if len(r)]
        more = assembly_rejects.loc[assembly_rejects["_file"] == i].drop(columns="_file")
        if len(more):
            parts.append(more)
        if not parts:
            continue
        rej = pd.concat(parts, ignore_index=True)
        if st.whole_file:
            rej["row_number"] = pd.array([pd.NA] * len(rej), dtype="Int64")
        else:
            recs = rej["_rec"].to_numpy(dtype=np.int64)
            rows = st.row_number(recs)
            if st.rec_rows is not None:  # a workbook: problems of a sheet or column have no row
                rej["row_number"] = pd.array([None if r < 0 else int(r) for r in rows], dtype="Int64")
                # a value problem names the workbook column's title
                titles = [st.rec_columns[r] for r in recs]
                rej["column_name"] = [t if c == "value" and t else c
                                      for c, t in zip(rej["column_name"].tolist(), titles, strict=True)]
            else:
                rej["row_number"] = pd.array(rows, dtype="Int64")
            rej["raw_record"] = [st.raw_record(int(r)) for r in recs]
        rej["source_file"] = st.source_file
        rej["file_sha256"] = st.sha256
        rej["period"] = ctx.period
        rej["sector"] = ctx.sector
        rej["_order"] = rej["check_code"].map({c: n for n, c in enumerate(CHECK_CODES)})
        frames.append(rej)
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _REJECT_DTYPES.items()})
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values(["source_file", "row_number", "_order"], na_position="first", kind="stable")
    out = out[REJECT_COLUMNS].reset_index(drop=True).astype(_REJECT_DTYPES)
    for col in ("column_name", "value", "raw_record"):
        out[col] = out[col].where(out[col].notna(), None)
    return out


def _file_infos(staged: list[_Staged], loaded: pd.DataFrame, ctx: _Context) -> list[FileInfo]:
    counts = loaded.groupby(["_file", "match_method"]).size().to_dict() if len(loaded) else {}
    infos = []
    for i, st in enumerate(staged):
        by_method = {col: int(counts.get((i, m), 0)) for m, col in MATCH_METHODS.items()}
        n_loaded = sum(by_method.values())
        infos.append(FileInfo(
            source_file=st.source_file, file_sha256=st.sha256, encoding=st.encoding, rows_total=st.rows_total,
            rows_loaded=n_loaded, rows_rejected=st.rows_total - n_loaded, blank_rows=st.blank_rows,
            delimiter=st.delimiter, received_at=st.received_at, whole_file_rejected=st.whole_file,
            file_format=st.file_format, unit_scheme=st.unit_scheme, **by_method,
            apportion_rule=ctx.apportion_rule if LEGACY in st.schemes else None,
        ))
    return infos
