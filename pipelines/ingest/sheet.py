"""One worksheet of an agency workbook: its cells (merged ranges, formulas never computed), cell values as
landing text, and the header row found through the template mapping."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipelines.ingest.limits import IngestLimits
from pipelines.ingest.mapping import SectorMapping, Target, _plain_key, _words
from pipelines.ingest.messages import texts

YES_WORDS = {"co", "x", "yes", "dat", "codat"}
NO_WORDS = {"khong", "no", "chua", "khongdat", "chuadat"}
SCHEME_WORDS = {"2025": "2025", "moi": "2025", "34tinh": "2025", "sau172025": "2025", "new": "2025",
                "legacy": "legacy", "cu": "legacy", "63tinh": "legacy", "truoc172025": "legacy", "old": "legacy"}


@dataclass
class Column:
    index: int  # 0-based
    label: str
    target: Target | None
    disaggregation: str = ""
    status: str = "ok"  # ok | unknown | duplicate | empty


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return unicodedata.normalize("NFC", str(v)).strip()


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _number(v: Any) -> float | None:
    """A cell as a number when it has exactly one reading, else None.

    Numeric cells are exact. Text follows the landing-file rules
    (``pipelines.ingest.parse``): plain digits, one decimal mark, or two or
    more thousands groups ("1.234.567"); "1.234" (one group) is ambiguous."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v) if math.isfinite(float(v)) else None
    if not isinstance(v, str):
        return None
    s = v.strip().replace("\u00a0", " ").replace("\u2009", " ")
    if re.fullmatch(r"-?\d+", s):
        return float(s)
    m = re.fullmatch(r"-?\d{1,3}(?:([., ])\d{3})(?:\1\d{3})+", s)
    if m:
        return float(re.sub(r"[., ]", "", s))
    m = re.fullmatch(r"-?(\d+)[.,](\d+)", s)
    if m and not (len(m.group(2)) == 3 and m.group(1) != "0" and len(m.group(1)) <= 3):
        return float(s.replace(",", "."))
    return None


def yes_no_as_number(values: pd.Series, yes_no: pd.Series) -> pd.Series:
    """Text values of yes/no elements written as words ("Có", "x", "Không") as "1" / "0"; the rest unchanged."""
    key = values.astype("str").map(_plain_key)
    out = values.where(~(yes_no & key.isin(YES_WORDS)), "1")
    return out.where(~(yes_no & key.isin(NO_WORDS)), "0")


def _value_text(v: Any, kind: str, scale: float) -> tuple[str, float | None]:
    """(text for the landing row, number for the totals check in sheet units).

    Numeric cells become canonical text ("12", "0.5"), times the column's
    scale. Text cells are passed on as written, for the landing validation to
    accept or reject by the same rules as a CSV file -- except yes/no words
    in yes/no columns ("Có", "x" -> 1; "Không" -> 0)."""
    if kind == "yes_no" and isinstance(v, str) and _plain_key(v) in YES_WORDS | NO_WORDS:
        n = 1.0 if _plain_key(v) in YES_WORDS else 0.0
        return str(int(n)), n
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v)):
        n = float(v)
        scaled = n * scale
        return (str(int(scaled)) if scaled.is_integer() else format(scaled, ".15g")), n
    n = _number(v)
    if n is not None and scale != 1:
        scaled = n * scale
        return (str(int(scaled)) if scaled.is_integer() else format(scaled, ".15g")), n
    return _text(v), n


def _period_of(text: Any) -> str | None:
    """'2025', '2025H1', 'Năm 2025', '6 tháng đầu năm 2025' -> a period; else None."""
    t = _text(text)
    if re.fullmatch(r"\d{4}(?:[hH][12])?", t):
        return t.upper()
    words = " ".join(_words(t))
    m = re.fullmatch(r"(?:(6 thang (dau|cuoi)) )?(?:nam )?(\d{4})", words)
    if m:
        return m.group(3) + ({"dau": "H1", "cuoi": "H2"}[m.group(2)] if m.group(2) else "")
    return None


def _scheme(v: Any) -> str | None:
    return SCHEME_WORDS.get(_plain_key(v)) if not _blank(v) else None


_MERGE_RE = re.compile(r'<(?:\w+:)?mergeCell\s+ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')


def _merged_ranges(ws: Any) -> list[Any]:
    """Merged ranges of a worksheet. Read-only worksheets do not expose them:
    they are read from the sheet's XML (the <mergeCells> list)."""
    from openpyxl.worksheet.cell_range import CellRange

    if hasattr(ws, "merged_cells"):
        return list(ws.merged_cells.ranges)
    with ws.parent._archive.open(ws._worksheet_path) as src:
        xml = src.read().decode("utf-8", errors="replace")
    return [CellRange(ref) for ref in _MERGE_RE.findall(xml)]


_CELL_RE = re.compile(r'<(?:\w+:)?c\s+[^>]*?r="([A-Z]+)([0-9]+)"[^>]*?(?:/>|>(.*?)</(?:\w+:)?c>)', re.S)
_FORMULA_RE = re.compile(r"<(?:\w+:)?f\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?f>)", re.S)
_VALUE_RE = re.compile(r"<(?:\w+:)?v>[^<]+</(?:\w+:)?v>")


def _uncached_formulas(ws: Any) -> dict[tuple[int, int], str]:
    """Cells holding a formula but no computed value ((row, column) -> '=formula'): a file written by a
    program and never opened in Excel. ``data_only`` reads them as blank; they must not pass as blank."""
    from openpyxl.utils import column_index_from_string

    if not hasattr(ws, "_worksheet_path"):
        return {}
    with ws.parent._archive.open(ws._worksheet_path) as src:
        xml = src.read().decode("utf-8", errors="replace")
    if "<f" not in xml and ":f" not in xml:
        return {}
    out = {}
    for col, row, body in _CELL_RE.findall(xml):
        f = _FORMULA_RE.search(body or "")
        if f is not None and not _VALUE_RE.search(body):
            out[(int(row), column_index_from_string(col))] = "=" + (f.group(1) or "(công thức chung / shared formula)")
    return out


class _Sheet:
    def __init__(self, ws: Any, limits: IngestLimits, cells_before: int = 0) -> None:
        self.name = ws.title
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()  # do not trust the file's <dimension>
        self.grid = []
        cells = cells_before
        for r in ws.iter_rows(values_only=True):  # counted as read: a sheet of millions of cells stops early
            cells += len(r)
            limits.check_cells(cells)
            self.grid.append(list(r))
        while self.grid and all(_blank(v) for v in self.grid[-1]):
            self.grid.pop()
        self.nrows = len(self.grid)
        self.ncols = max((len(r) for r in self.grid), default=0)
        limits.check_columns(self.ncols, texts("fragment.sheet_named", sheet=self.name))
        self.ranges = _merged_ranges(ws)
        limits.check_cells(cells + sum(x.size["rows"] * x.size["columns"] for x in self.ranges))
        self.cells = cells
        self.fill: dict[tuple[int, int], tuple[int, int]] = {}
        for rng in self.ranges:
            if rng.min_row > self.nrows + 1:
                continue
            for r in range(rng.min_row, min(rng.max_row, self.nrows + 1) + 1):
                for c in range(rng.min_col, min(rng.max_col, self.ncols + 1) + 1):
                    self.fill[(r, c)] = (rng.min_row, rng.min_col)
        self.uncached = _uncached_formulas(ws)

    def raw(self, r: int, c: int) -> Any:
        """1-based row and column; the cell's own value."""
        if r < 1 or r > self.nrows or c < 1 or c > len(self.grid[r - 1]):
            return None
        return self.grid[r - 1][c - 1]

    def shown(self, r: int, c: int) -> Any:
        """The value shown in the cell: a merged range's value in every cell of it."""
        top = self.fill.get((r, c))
        return self.raw(*top) if top else self.raw(r, c)

    def merged_from(self, r: int) -> bool:
        """A merged range starts on row r (over several columns or rows)."""
        return any(x.min_row == r and (x.max_row > r or x.max_col > x.min_col) for x in self.ranges)

    def merged_down_from(self, r: int) -> bool:
        return any(x.min_row == r and x.max_row > r for x in self.ranges)


def _read_columns(sheet: _Sheet, mapping: SectorMapping, r: int, two_rows: bool) -> list[Column]:
    cols = []
    for c in range(1, sheet.ncols + 1):
        parent = _text(sheet.shown(r, c))
        if not two_rows:
            cols.append(Column(c - 1, parent, mapping.target(parent) if parent else None))
            continue
        child = _text(sheet.shown(r + 1, c))
        if not child or child == parent or (sheet.fill.get((r + 1, c)) == sheet.fill.get((r, c)) and sheet.fill.get((r, c))):
            cols.append(Column(c - 1, parent, mapping.target(parent) if parent else None))
            continue
        label = f"{parent} / {child}" if parent else child
        t = mapping.target(label) or mapping.target(f"{parent} {child}") or mapping.target(child)
        disagg = ""
        if t is None and parent:
            pt = mapping.target(parent)
            if pt is not None and pt.role == "element":
                d = mapping.disaggregation(child)
                if d:
                    t, disagg = pt, d
                elif mapping.is_total_child(child):
                    t = pt
        cols.append(Column(c - 1, label, t, disagg))
    return cols


def _score(cols: list[Column]) -> tuple[int, int, int]:
    elements = {(c.target.code, c.disaggregation) for c in cols if c.target and c.target.role == "element"}
    units = {c.target.role for c in cols if c.target and c.target.role in
             ("unit_code", "unit_name", "province_code", "province", "district_code", "district")}
    return len(elements) + len(units), len(elements), len(units)


def _find_header(sheet: _Sheet, mapping: SectorMapping, max_scan: int) -> tuple[int, bool, list[Column]] | None:
    for r in range(1, min(max_scan, sheet.nrows) + 1):
        single = _read_columns(sheet, mapping, r, False)
        total, n_el, n_unit = _score(single)
        if r < sheet.nrows and sheet.merged_from(r):
            two = _read_columns(sheet, mapping, r, True)
            t2, e2, u2 = _score(two)
            # two header rows when that reads more columns, or as many and
            # cells of this row are merged down into the next
            better = (t2, e2) > (total, n_el) or ((t2, e2) == (total, n_el) and sheet.merged_down_from(r))
            if e2 >= 1 and u2 >= 1 and t2 >= mapping.min_header_matches and better:
                return r, True, two
        if n_el >= 1 and n_unit >= 1 and total >= mapping.min_header_matches:
            return r, False, single
    return None


def _is_numbering_row(sheet: _Sheet, r: int, cols: list[Column]) -> bool:
    cells = [_text(sheet.raw(r, c.index + 1)) for c in cols]
    filled = [x for x in cells if x]
    if len(filled) < max(2, len([c for c in cols if c.label]) // 2):
        return False
    if not all(re.fullmatch(r"\(?[A-Za-z0-9]{1,3}\)?", x) for x in filled):
        return False
    nums = [int(re.sub(r"\D", "", x)) for x in filled if re.sub(r"\D", "", x)]
    return nums == sorted(nums) and len(set(nums)) == len(nums)


def _particulars(sheet: _Sheet, mapping: SectorMapping, upto: int) -> dict[str, tuple[str, int, int]]:
    """'unit_scheme' / 'period' cells above the header: role -> (value, row, col)."""
    found: dict[str, tuple[str, int, int]] = {}
    for r in range(1, upto):
        for c in range(1, sheet.ncols + 1):
            v = sheet.raw(r, c)
            if _blank(v) or not isinstance(v, str):
                continue
            role = mapping.meta_role(v)
            if role is None or role in found:
                continue
            value = v.split(":", 1)[1].strip() if ":" in v else ""
            if not value:
                for c2 in range(c + 1, sheet.ncols + 1):
                    v2 = sheet.raw(r, c2)
                    if not _blank(v2):
                        value = _text(v2)
                        break
            if value:
                found[role] = (value, r, c)
    return found


def _code_text(v: Any, width: int) -> str:
    if isinstance(v, bool) or _blank(v):
        return ""
    if isinstance(v, (int, float)) and float(v).is_integer() and v >= 0:
        return str(int(v)).zfill(width)
    s = _text(v)
    if re.fullmatch(r"\d+", s) and len(s) < width:
        return s.zfill(width)
    return s


def _cell_ref(row: int, col: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(col)}{row}"


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else format(x, ".6g")
