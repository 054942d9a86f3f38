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

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.ingest.assemble import _assemble, _file_infos, _finish_rejects
from pipelines.ingest.context import _Context
from pipelines.ingest.contract import _REJECT_DTYPES, DEFAULT_APPORTION_RULE, REJECT_COLUMNS, ParsedFile, ParsedFolder
from pipelines.ingest.stage import _stage_file

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
