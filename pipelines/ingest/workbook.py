"""Read sector workbooks (.xlsx) in the wide shape agencies use.

One row per commune (or province), one column per data element, Vietnamese
column titles, possibly a title row and a few lines of particulars above the
header, two-row headers with merged parent cells, a column-numbering row
("(1) (2) (3)"), a totals row, notes and signatures below. The result is the
long shape of the CSV landing format, one data value a row, so that the same
validation, name matching and rebasing apply to both.

What is read and how:

- Column titles are matched to data elements through the sector's template
  mapping (``methodology/templates/<sector>.yaml``) without regard to case,
  spacing, punctuation or diacritics; common abbreviations (TE, BHYT, THCS,
  HCĐB, BVTE, TNTT, SDD, CTV, ĐVHC) are expanded, and a trailing "(người)",
  "(trẻ)", "(vụ)", "(có = 1, không = 0)" and the like is ignored. Money
  columns must say their unit: "(đồng)", "(nghìn đồng)", "(triệu đồng)";
  the mapping gives the factor.
- The header is the first row (of the first 30) where the titles name at least
  ``min_header_matches`` known columns, among them a unit column and a data
  element. A row with a merged cell over the row below makes a two-row
  header: a child is read as "parent / child", or on its own, or as a
  breakdown of the parent ("Nữ" -> ``disaggregation`` sex=F; "Tổng số" -> the
  parent's total).
- Particulars above the header: a cell "Hệ thống đơn vị" / "unit_scheme"
  (value ``2025`` or ``legacy``, or "cũ"/"mới") and "Kỳ báo cáo" / "period".
  A ``unit_scheme`` column overrides it per row. Without either, 2025.
- A row whose unit cells say "Tổng", "Tổng cộng", "Cộng", "Tổng số", "Toàn
  tỉnh", "Toàn quốc", "Cả nước"... is a totals row: never loaded as a unit;
  the last one is checked against the sum of the rows, column by column.
  A totals cell holding a formula that was never computed (a file written by a
  program and not opened in Excel) cannot be checked, and the notes say so.
- Rows without any value (headings, notes, signatures) load nothing. Blank
  cells are missing data, not zeros. A value cell merged over several rows is
  rejected, never copied to each row.
- Values keep the text form of the CSV landing format: numeric cells become
  "12", "0.5" (times the column's scale); text cells pass through as written,
  so that the landing validation accepts or rejects them by the same rules as
  a CSV file; in yes/no columns "Có"/"x" -> 1 and "Không" -> 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.ingest.limits import IngestLimits, LimitExceeded
from pipelines.ingest.mapping import SectorMapping, _plain_key, load_mapping
from pipelines.ingest.messages import reason, texts
from pipelines.ingest.sheet import (
    Column,
    _blank,
    _cell_ref,
    _code_text,
    _find_header,
    _fmt,
    _is_numbering_row,
    _number,
    _particulars,
    _period_of,
    _scheme,
    _Sheet,
    _text,
    _value_text,
)

LANDING_COLUMNS = ["period", "unit_code", "unit_name", "data_element", "value", "unit_scheme", "disaggregation", "comment"]
ROW_COLUMNS = [*LANDING_COLUMNS, "province", "district", "sheet", "row_number", "column_name"]
REJECT_COLUMNS = ["file", "sheet", "row", "column", "value", "check_code", "reason_vi", "reason_en", "reason"]
INSTRUCTION_SHEETS = {"huongdan", "instructions", "danhmuc", "readme"}
NOTE_PREFIXES = ("ghichu", "luuy", "chuthich", "nguon", "nguoilap", "nguoilapbieu", "thutruong", "ngay",
                 "kyten", "xacnhan", "note")
HEADER_SCAN_ROWS = 200


@dataclass
class SheetReport:
    name: str
    header_row: int | None = None  # Excel row of the (last) header row
    header_rows: int = 0
    data_rows: int = 0
    values_loaded: int = 0
    totals_row: int | None = None
    unit_scheme: str = "2025"
    period: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # title -> element code (or role)


@dataclass
class WorkbookResult:
    path: Path
    sector: str
    rows: pd.DataFrame
    rejects: pd.DataFrame
    sheets: list[SheetReport]
    notes: list[str]

    @property
    def ok(self) -> bool:
        return self.rejects.empty


def _reject(rejects: list[dict], file: str, sheet: str | None, row: int | None, column: str | None, value: Any,
            check: str, vi: str, en: str) -> None:
    rejects.append({"file": file, "sheet": sheet, "row": row, "column": column,
                    "value": None if value is None else _text(value), "check_code": check,
                    "reason_vi": vi, "reason_en": en, "reason": f"{vi} / {en}"})


def read_workbook(path: str | Path, sector: str, mapping: SectorMapping | None = None, period: str | None = None,
                  *, methodology: Any = None, max_header_scan: int = HEADER_SCAN_ROWS,
                  limits: IngestLimits | None = None) -> WorkbookResult:
    """Read every data sheet of an agency workbook into landing rows.

    ``period``: the period the file is filed under; a "Kỳ báo cáo" cell that
    says otherwise rejects the sheet (``workbook.period_mismatch``). Returns a
    ``WorkbookResult``: ``rows`` (``ROW_COLUMNS``: the landing columns plus
    ``province``/``district`` as written, ``sheet``, ``row_number`` = Excel
    row, ``column_name`` = the title), ``rejects`` (``REJECT_COLUMNS``),
    one ``SheetReport`` per sheet, and notes.

    A workbook over a limit (``limits``: unpacked size, cells, columns) is one ``ingest.limit_exceeded``
    reject and no rows. Values in a hidden sheet are rejected (``workbook.hidden_sheet``), a value cell
    holding a formula never computed is rejected (``workbook.formula_no_value``), and a visible sheet with
    numbers but no header in its first ``max_header_scan`` rows is rejected (``workbook.sheet_no_header``).
    """
    path = Path(path)
    mapping = mapping or load_mapping(sector, methodology)
    limits = limits or IngestLimits.from_env()
    try:
        limits.check_workbook(path)
        return _read_workbook(path, sector, mapping, period, max_header_scan, limits)
    except LimitExceeded as exc:
        rejects: list[dict] = []
        _reject(rejects, path.name, None, None, None, None, "ingest.limit_exceeded", *exc.reason.split(" / ", 1))
        return WorkbookResult(path, sector, pd.DataFrame(columns=ROW_COLUMNS),
                              pd.DataFrame(rejects, columns=REJECT_COLUMNS), [], [])


def _reject_hidden(rows: list[dict], rejects: list[dict], hidden: set[str], file: str) -> list[dict]:
    """The values read from hidden sheets, each rejected; the rows of the visible sheets returned."""
    kept = []
    for r in rows:
        if r["sheet"] not in hidden:
            kept.append(r)
            continue
        name = r["sheet"]
        _reject(rejects, file, name, r["row_number"], r["column_name"], r["value"], "workbook.hidden_sheet",
                *texts("workbook.hidden_sheet", sheet=name))
    return kept


def _has_numbers(sheet: _Sheet) -> bool:
    return any(isinstance(v, (int, float)) and not isinstance(v, bool) for row in sheet.grid for v in row)


# -- reading, step by step -------------------------------------------------------


@dataclass
class _Book:
    """What reading one workbook collects: rows, rejects, notes and a report per sheet."""

    path: Path
    sector: str
    mapping: SectorMapping
    period: str | None
    max_header_scan: int
    rows: list[dict] = field(default_factory=list)
    rejects: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reports: list[SheetReport] = field(default_factory=list)
    hidden: set[str] = field(default_factory=set)
    formulas_wb: Any = None  # the workbook read again with its formulas (totals without a computed value)
    any_header: bool = False

    @property
    def file(self) -> str:
        return self.path.name

    def reject(self, sheet: str | None, row: int | None, column: str | None, value: Any, key: str, /,
               **values: Any) -> None:
        """A reject with the message ``key`` of the catalogue (its check code: the key's first two parts)."""
        check = ".".join(key.split(".")[:2])
        _reject(self.rejects, self.file, sheet, row, column, value, check, *texts(key, **values))

    def result(self) -> WorkbookResult:
        return WorkbookResult(self.path, self.sector, pd.DataFrame(self.rows, columns=ROW_COLUMNS),
                              pd.DataFrame(self.rejects, columns=REJECT_COLUMNS), self.reports, self.notes)


@dataclass
class _Layout:
    """The columns of one sheet under its header, and the sheet's unit scheme and period."""

    title: str
    header_row: int  # the (first) header row
    first_data: int
    cols: list[Column]
    el_cols: list[Column]
    role_col: dict[str, Column]
    code_col: Column | None
    name_col: Column | None
    code_width: int
    label_cols: list[Column]
    scheme: str = "2025"
    period: str | None = None


def _read_workbook(path: Path, sector: str, mapping: SectorMapping, period: str | None, max_header_scan: int,
                   limits: IngestLimits) -> WorkbookResult:
    import openpyxl

    book = _Book(path, sector, mapping, period, max_header_scan)
    try:
        wb = openpyxl.load_workbook(path, data_only=True, read_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one reject
        hint = reason("fragment.hint.xls") if path.suffix.lower() == ".xls" else ""
        book.reject(None, None, None, None, "workbook.unreadable", hint=hint, error=exc)
        return book.result()
    cells_read = 0
    try:
        for ws in wb.worksheets:
            if _plain_key(ws.title) in INSTRUCTION_SHEETS:
                continue
            sheet = _Sheet(ws, limits, cells_read)
            cells_read = sheet.cells
            _read_sheet(book, ws, sheet)
    finally:
        wb.close()
        if book.formulas_wb is not None:
            book.formulas_wb.close()
    if book.hidden:
        book.rows = _reject_hidden(book.rows, book.rejects, book.hidden, book.file)
    if not book.any_header:
        book.reject(None, None, None, None, "workbook.no_header", sector=sector, scan=max_header_scan)
    return book.result()


def _read_sheet(book: _Book, ws: Any, sheet: _Sheet) -> None:
    """One data sheet: header, columns, particulars, merged value cells, rows, totals."""
    if ws.sheet_state != "visible":
        book.hidden.add(ws.title)
    report = SheetReport(ws.title)
    book.reports.append(report)
    found = _find_header(sheet, book.mapping, book.max_header_scan)
    if found is None:
        book.notes.append(f"{ws.title}: no header row found in the first {book.max_header_scan} rows; sheet skipped")
        if _has_numbers(sheet):
            word = texts("fragment.hidden_sheet") if ws.sheet_state != "visible" else texts("fragment.sheet")
            book.reject(ws.title, None, None, None, "workbook.sheet_no_header", sheet_word=word, sheet=ws.title,
                        sector=book.sector, scan=book.max_header_scan)
        return
    book.any_header = True
    hr, two_rows, cols = found
    report.header_row, report.header_rows = hr + (1 if two_rows else 0), 2 if two_rows else 1
    first_data = hr + (2 if two_rows else 1)
    _check_columns(book, ws.title, sheet, report, cols, first_data)
    lay = _layout(book.mapping, ws.title, hr, first_data, cols)
    if not _sheet_particulars(book, sheet, report, lay):
        return
    merged = _merged_value_cells(book, sheet, lay)
    totals_rows, sums, excel_sums = _read_rows(book, sheet, report, lay, merged)
    if totals_rows:
        _check_totals(book, sheet, report, lay, totals_rows, sums, excel_sums)


def _check_columns(book: _Book, title: str, sheet: _Sheet, report: SheetReport, cols: list[Column],
                   first_data: int) -> None:
    """Columns: unknown titles, duplicates (a column's ``status`` says how it is read)."""
    seen: dict[tuple[str, str], str] = {}
    for col in cols:
        has_data = any(not _blank(sheet.raw(r, col.index + 1)) for r in range(first_data, sheet.nrows + 1))
        if col.target is None:
            if col.label:
                col.status = "unknown"
                sugg = book.mapping.suggest(col.label)
                hint = texts("fragment.did_you_mean", suggestions="; ".join(sugg)) if sugg else ""
                book.reject(title, report.header_row, col.label, col.label, "workbook.unknown_header",
                            label=col.label, hint=hint)
            elif has_data:
                col.status = "unknown"
                book.reject(title, report.header_row, f"cột {col.index + 1}", None,
                            "workbook.unknown_header.untitled", number=col.index + 1)
            else:
                col.status = "empty"
            continue
        if col.target.role == "ignore":
            continue
        key = (col.target.code or col.target.role, col.disaggregation)
        if key in seen and col.target.role != "element":
            col.status = "duplicate"  # a second unit/comment column: the first one is used
            book.notes.append(f"{title}: column {col.index + 1} '{col.label}' repeats '{seen[key]}'; the first is used")
            continue
        if key in seen:
            col.status = "duplicate"
            book.reject(title, report.header_row, col.label, col.label, "workbook.duplicate_column",
                        label=col.label, first=seen[key])
            continue
        seen[key] = col.label
        report.columns[col.label] = col.target.code or col.target.role


def _layout(mapping: SectorMapping, title: str, hr: int, first_data: int, cols: list[Column]) -> _Layout:
    """Which columns are read: the data elements, one column per unit role, the unit code's width."""
    active = [c for c in cols if c.status == "ok" and c.target is not None]
    el_cols = [c for c in active if c.target.role == "element"]
    role_col: dict[str, Column] = {}
    for c in active:
        if c.target.role != "element":
            role_col.setdefault(c.target.role, c)
    levels = {mapping.elements[c.target.code].level for c in el_cols}
    sheet_level = "province" if levels == {"province"} else "commune"
    code_col = role_col.get("unit_code") or role_col.get("district_code") or role_col.get("province_code")
    name_col = role_col.get("unit_name") or role_col.get("district") or role_col.get("province")
    width = {"unit_code": 5 if sheet_level == "commune" else 2, "district_code": 3, "province_code": 2}
    code_width = width[code_col.target.role] if code_col else 5
    label_cols = [c for c in cols if c.target is None or c.target.role != "element"]
    return _Layout(title, hr, first_data, cols, el_cols, role_col, code_col, name_col, code_width, label_cols)


def _sheet_particulars(book: _Book, sheet: _Sheet, report: SheetReport, lay: _Layout) -> bool:
    """The unit scheme and period stated above the header; False when they reject the whole sheet."""
    title, period = lay.title, book.period
    meta = _particulars(sheet, book.mapping, lay.header_row)
    if "unit_scheme" in meta:
        text, mr, mc = meta["unit_scheme"]
        s = _scheme(text)
        if s is None:
            book.reject(title, mr, "unit_scheme", text, "workbook.bad_unit_scheme.sheet", text=text)
            return False
        lay.scheme = s
    report.unit_scheme = lay.scheme
    sheet_period = period
    stated = _period_of(meta["period"][0]) if "period" in meta else None
    if "period" in meta and stated is None:
        book.notes.append(f"{title}: period cell '{meta['period'][0]}' not understood; the file's period is used")
    if stated is not None:
        text, mr, mc = meta["period"]
        report.period = stated
        if period is not None and stated != str(period).upper():
            book.reject(title, mr, "period", stated, "workbook.period_mismatch", stated=stated, period=period)
            return False
        sheet_period = stated
    if sheet_period is None:
        book.reject(title, None, "period", None, "workbook.no_period")
        return False
    report.period = lay.period = str(sheet_period)
    return True


def _merged_value_cells(book: _Book, sheet: _Sheet, lay: _Layout) -> set[tuple[int, int]]:
    """Value cells merged over several rows cannot be attributed to one unit: rejected, never copied."""
    merged: set[tuple[int, int]] = set()
    for rng in sheet.ranges:
        if rng.max_row < lay.first_data or rng.max_row == rng.min_row:
            continue
        for c in lay.el_cols:
            if rng.min_col <= c.index + 1 <= rng.max_col:
                for r in range(max(rng.min_row, lay.first_data), rng.max_row + 1):
                    merged.add((r, c.index + 1))
                book.reject(lay.title, rng.min_row, c.label, sheet.raw(rng.min_row, rng.min_col),
                            "workbook.merged_value", cells=rng.coord)
    return merged


def _read_rows(book: _Book, sheet: _Sheet, report: SheetReport, lay: _Layout, merged: set[tuple[int, int]]
               ) -> tuple[list[int], dict[int, float], dict[int, float]]:
    """The rows under the header: totals rows apart, headings and notes skipped, values read. Returns the totals
    rows and, per element column, the sum of the rows and the sum Excel's SUM() makes (numbers only)."""
    totals_rows: list[int] = []
    sums: dict[int, float] = {c.index: 0.0 for c in lay.el_cols}
    excel_sums: dict[int, float] = {c.index: 0.0 for c in lay.el_cols}  # numbers only, as Excel's SUM adds
    mapping, title, code_col = book.mapping, lay.title, lay.code_col
    r = lay.first_data
    if r <= sheet.nrows and _is_numbering_row(sheet, r, lay.cols):
        r += 1
    for r in range(r, sheet.nrows + 1):
        cells = sheet.grid[r - 1]
        if all(_blank(v) for v in cells):
            continue
        label_texts = [_text(sheet.shown(r, c.index + 1)) for c in lay.label_cols]
        code_val = sheet.raw(r, code_col.index + 1) if code_col else None
        if any(mapping.is_total_label(t) for t in label_texts if t) and _blank(code_val) or (
                isinstance(code_val, str) and mapping.is_total_label(code_val)):
            totals_rows.append(r)
            continue
        values = [(c, sheet.raw(r, c.index + 1)) for c in lay.el_cols
                  if (r, c.index + 1) not in merged and not _blank(sheet.raw(r, c.index + 1))]
        for c in lay.el_cols:
            formula = sheet.uncached.get((r, c.index + 1))
            if formula is not None and _blank(sheet.raw(r, c.index + 1)):
                book.reject(title, r, c.label, formula, "workbook.formula_no_value",
                            cell=f"{title}!{_cell_ref(r, c.index + 1)}", label=c.label, formula=formula)
        first_text = next((t for t in label_texts if t), "")
        if not values:
            continue  # headings, notes, signatures, units with nothing reported
        if _plain_key(first_text).startswith(NOTE_PREFIXES) and _blank(code_val):
            book.notes.append(f"{title}!{r}: note row skipped")
            continue
        _read_row(book, sheet, report, lay, r, code_val, values, sums, excel_sums)
    return totals_rows, sums, excel_sums


def _read_row(book: _Book, sheet: _Sheet, report: SheetReport, lay: _Layout, r: int, code_val: Any,
              values: list[tuple[Column, Any]], sums: dict[int, float], excel_sums: dict[int, float]) -> None:
    """One unit's row: its unit, scheme and place, and one landing row per value cell."""
    title, role_col = lay.title, lay.role_col
    unit_code = _code_text(code_val, lay.code_width) if lay.code_col else ""
    unit_name = _text(sheet.shown(r, lay.name_col.index + 1)) if lay.name_col else ""
    if not unit_code and not unit_name:
        if all(_number(v) is None for _, v in values):
            book.notes.append(f"{title}!{r}: row without unit or numbers skipped (notes, signatures)")
            return
        book.reject(title, r, None, None, "workbook.missing_unit")
        return
    scheme = lay.scheme
    if "unit_scheme" in role_col:
        cell = sheet.raw(r, role_col["unit_scheme"].index + 1)
        if not _blank(cell):
            s = _scheme(cell)
            if s is None:
                book.reject(title, r, role_col["unit_scheme"].label, cell, "workbook.bad_unit_scheme", text=_text(cell))
                return
            scheme = s
    province = _place(sheet, lay, r, ("province_code", "province"), 2)
    district = _place(sheet, lay, r, ("district_code", "district"), 3)
    comment = _text(sheet.raw(r, role_col["comment"].index + 1)) if "comment" in role_col else ""
    report.data_rows += 1
    for c, v in values:
        spec = book.mapping.elements[c.target.code]
        text, number = _value_text(v, spec.kind, c.target.scale)
        if number is not None:
            sums[c.index] += number
            if not isinstance(v, str):
                excel_sums[c.index] += number
        book.rows.append({
            "period": str(lay.period), "unit_code": unit_code, "unit_name": unit_name,
            "data_element": spec.code, "value": text, "unit_scheme": scheme,
            "disaggregation": c.disaggregation, "comment": comment, "province": province,
            "district": district, "sheet": title, "row_number": r, "column_name": c.label,
        })
        report.values_loaded += 1


def _place(sheet: _Sheet, lay: _Layout, r: int, roles: tuple[str, str], width: int) -> str:
    """The province (or district) written beside the unit: its code (``roles[0]``) or its name."""
    for role in roles:
        c = lay.role_col.get(role)
        if c is not None and c is not lay.code_col and c is not lay.name_col:
            place = _code_text(sheet.shown(r, c.index + 1), width) if role == roles[0] else _text(
                sheet.shown(r, c.index + 1))
            if place:
                return place
    return ""


def _check_totals(book: _Book, sheet: _Sheet, report: SheetReport, lay: _Layout, totals_rows: list[int],
                  sums: dict[int, float], excel_sums: dict[int, float]) -> None:
    """The last totals row, column by column, against the sum of the rows."""
    title = lay.title
    tr = totals_rows[-1]
    report.totals_row = tr
    for extra in totals_rows[:-1]:
        book.notes.append(f"{title}!{extra}: intermediate totals row skipped (not loaded, not checked)")
    formula_row: tuple | None = None
    for c in lay.el_cols:
        cell = sheet.raw(tr, c.index + 1)
        if _blank(cell):
            if formula_row is None:
                formula_row = _formula_row(book, title, tr)
            f = formula_row[c.index] if c.index < len(formula_row) else None
            if isinstance(f, str) and f.startswith("="):
                book.notes.append(f"{title}!{tr} '{c.label}': totals formula without a computed value; not checked")
            continue
        spec = book.mapping.elements[c.target.code]
        _, stated = _value_text(cell, spec.kind, 1.0)
        if stated is None:
            book.reject(title, tr, c.label, cell, "workbook.total_mismatch.not_a_number", label=c.label,
                        value=_text(cell))
            continue
        computed = sums[c.index]
        if spec.kind == "yes_no" and abs(stated - excel_sums[c.index]) <= 1e-6:
            continue  # the template's =SUM() skips "có"/"x" typed as words: the same answer, told apart
        if abs(stated - computed) > 1e-6 * max(1.0, abs(computed)):
            book.reject(title, tr, c.label, cell, "workbook.total_mismatch", label=c.label, stated=_fmt(stated),
                        computed=_fmt(computed), difference=_fmt(stated - computed))


def _formula_row(book: _Book, title: str, tr: int) -> tuple:
    """The totals row as formulas (the workbook read again, once)."""
    import openpyxl

    if book.formulas_wb is None:
        book.formulas_wb = openpyxl.load_workbook(book.path, data_only=False, read_only=True)
    return next(book.formulas_wb[title].iter_rows(min_row=tr, max_row=tr, values_only=True), ())
