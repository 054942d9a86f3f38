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

import difflib
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from pipelines.ingest.limits import IngestLimits, LimitExceeded
from pipelines.settings import METHODOLOGY_DIR
from pipelines.units.names import strip_diacritics

TEMPLATES_DIR = METHODOLOGY_DIR / "templates"
COMMON_MAPPING = "_common.yaml"  # what every sector's mapping shares (unit columns, totals rows, breakdowns)
LANDING_COLUMNS = ["period", "unit_code", "unit_name", "data_element", "value", "unit_scheme", "disaggregation", "comment"]
ROW_COLUMNS = [*LANDING_COLUMNS, "province", "district", "sheet", "row_number", "column_name"]
REJECT_COLUMNS = ["file", "sheet", "row", "column", "value", "check_code", "reason_vi", "reason_en", "reason"]
UNIT_ROLES = ("unit_code", "unit_name", "province_code", "province", "district_code", "district",
              "unit_scheme", "comment", "ignore")
INSTRUCTION_SHEETS = {"huongdan", "instructions", "danhmuc", "readme"}
DEFAULT_TOTAL_LABELS = ("Tổng", "Tổng cộng", "Cộng", "Tổng số", "Toàn tỉnh", "Toàn thành phố", "Toàn quốc",
                        "Cả nước", "Tổng toàn tỉnh", "Cộng toàn tỉnh", "Total")
DEFAULT_TOTAL_PREFIXES = ("tongcong", "toantinh", "toanthanhpho", "tongtoan", "congtoan")
NOTE_PREFIXES = ("ghichu", "luuy", "chuthich", "nguon", "nguoilap", "nguoilapbieu", "thutruong", "ngay",
                 "kyten", "xacnhan", "note")
ABBREVIATIONS = {
    "te": "tre em", "bhyt": "bao hiem y te", "thcs": "trung hoc co so", "hcdb": "hoan canh dac biet",
    "bvte": "bao ve tre em", "tntt": "tai nan thuong tich", "sdd": "suy dinh duong", "ctv": "cong tac vien",
    "dvhc": "don vi hanh chinh", "vhtt": "van hoa the thao", "dksh": "dang ky khai sinh", "tp": "thanh pho",
}
HARMLESS_SUFFIXES = {"nguoi", "tre", "treem", "em", "chau", "vu", "thon", "xa", "so", "soluong", "luot", "hocsinh",
                     "hs", "don", "donvi"}
YES_WORDS = {"co", "x", "yes", "dat", "codat"}
NO_WORDS = {"khong", "no", "chua", "khongdat", "chuadat"}
SCHEME_WORDS = {"2025": "2025", "moi": "2025", "34tinh": "2025", "sau172025": "2025", "new": "2025",
                "legacy": "legacy", "cu": "legacy", "63tinh": "legacy", "truoc172025": "legacy", "old": "legacy"}


HEADER_SCAN_ROWS = 200


class MappingError(ValueError):
    """A template mapping file is not valid; the message says where."""


# -- labels --------------------------------------------------------------------


def _words(text: Any) -> list[str]:
    if text is None:
        return []
    return re.findall(r"[a-z0-9]+", strip_diacritics(str(text)).lower())


def label_key(text: Any) -> str:
    """Comparison key of a column title: no case, spacing, punctuation or
    diacritics; abbreviations expanded; a harmless trailing note in brackets dropped."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFC", str(text)).strip()
    m = re.search(r"\(([^()]*)\)\s*$", s)
    if m:
        inner = _words(m.group(1))
        joined = "".join(inner)
        yes_no = ("co" in inner and "khong" in inner)
        if joined in HARMLESS_SUFFIXES or yes_no or re.fullmatch(r"[0-9]+|[a-z]", joined or "-"):
            s = s[: m.start()].strip()
    out: list[str] = []
    for w in _words(s):
        out.extend(ABBREVIATIONS.get(w, w).split())
    return "".join(out)


def _plain_key(text: Any) -> str:
    return "".join(_words(text))


# -- the template mapping --------------------------------------------------------


@dataclass(frozen=True)
class ElementSpec:
    code: str
    label: str  # the title written in templates
    level: str
    kind: str
    name_vi: str
    variants: tuple[tuple[str, float], ...]  # (title, factor to đồng / unit)


@dataclass(frozen=True)
class Target:
    role: str  # 'element' or one of UNIT_ROLES
    code: str | None = None
    scale: float = 1.0


@dataclass
class SectorMapping:
    sector: str
    elements: dict[str, ElementSpec]
    unit_labels: dict[str, tuple[str, ...]]
    total_labels: tuple[str, ...]
    disaggregations: dict[str, tuple[str, ...]]
    total_child_labels: tuple[str, ...]
    meta_labels: dict[str, tuple[str, ...]]
    min_header_matches: int = 2
    source: Path | None = None
    _keys: dict[str, Target] = field(default_factory=dict, repr=False)
    _disagg_keys: dict[str, str] = field(default_factory=dict, repr=False)
    _total_keys: set[str] = field(default_factory=set, repr=False)
    _total_child_keys: set[str] = field(default_factory=set, repr=False)
    _meta_keys: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        where = str(self.source or self.sector)
        owner: dict[str, str] = {}

        def add(label: str, target: Target, what: str) -> None:
            k = label_key(label)
            if not k:
                raise MappingError(f"{where}: empty label for {what}")
            if k in self._keys and self._keys[k] != target:
                raise MappingError(f"{where}: label '{label}' ({what}) is also a label of {owner[k]}")
            self._keys[k] = target
            owner[k] = what

        for e in self.elements.values():
            add(e.code, Target("element", e.code), e.code)
            for text, scale in e.variants:
                add(text, Target("element", e.code, scale), e.code)
        for role, labels in self.unit_labels.items():
            if role not in UNIT_ROLES:
                raise MappingError(f"{where}: unknown unit column role '{role}' (one of {UNIT_ROLES})")
            for text in labels:
                add(text, Target(role), role)
        for code, labels in self.disaggregations.items():
            for text in labels:
                self._disagg_keys[label_key(text)] = code
        self._total_keys = {_plain_key(t) for t in self.total_labels}
        self._total_child_keys = {label_key(t) for t in self.total_child_labels}
        for role, labels in self.meta_labels.items():
            for text in labels:
                self._meta_keys[label_key(text)] = role

    def target(self, label: Any) -> Target | None:
        return self._keys.get(label_key(label))

    def disaggregation(self, label: Any) -> str | None:
        return self._disagg_keys.get(label_key(label))

    def is_total_child(self, label: Any) -> bool:
        return label_key(label) in self._total_child_keys

    def is_total_label(self, text: Any) -> bool:
        k = _plain_key(text)
        return bool(k) and (k in self._total_keys or k.startswith(DEFAULT_TOTAL_PREFIXES))

    def meta_role(self, text: Any) -> str | None:
        k = label_key(str(text).split(":")[0]) if text is not None else ""
        return self._meta_keys.get(k)

    def suggest(self, label: Any, n: int = 3) -> list[str]:
        pool = {label_key(e.label): e.label for e in self.elements.values()}
        for e in self.elements.values():
            for text, _ in e.variants:
                pool.setdefault(label_key(text), text)
        hits = difflib.get_close_matches(label_key(label), list(pool), n=n, cutoff=0.6)
        return [pool[h] for h in hits]

    def element_columns(self, level: str | None = None) -> list[ElementSpec]:
        return [e for e in self.elements.values() if level is None or e.level == level]


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def load_mapping(sector: str, methodology: Any = None, directory: str | Path | None = None) -> SectorMapping:
    """Read ``<directory>/<sector>.yaml`` (default ``methodology/templates``) over the shared
    ``_common.yaml`` (a key of the sector's file replaces the shared one) and check it against the methodology: every element it names must be a data
    element of the sector; elements it does not name get their methodology
    name as title, so a new element is never silently unreadable."""
    if methodology is None:
        from pipelines.methodology import load_methodology

        methodology = load_methodology()
    path = Path(directory or TEMPLATES_DIR) / f"{sector}.yaml"
    if sector not in methodology.sector_codes:
        raise MappingError(f"unknown sector '{sector}' (one of {', '.join(methodology.sector_codes)})")
    if not path.exists():
        raise MappingError(f"{path}: no template mapping for sector '{sector}'")
    common = Path(directory or TEMPLATES_DIR) / COMMON_MAPPING
    if not common.exists():
        common = TEMPLATES_DIR / COMMON_MAPPING
    doc = {**(yaml.safe_load(common.read_text(encoding="utf-8")) or {}),
           **(yaml.safe_load(path.read_text(encoding="utf-8")) or {})}
    if doc.get("sector", sector) != sector:
        raise MappingError(f"{path}: declares sector '{doc.get('sector')}', expected '{sector}'")
    by_code = {e.code: e for e in methodology.elements_of_sector(sector) if e.kind != "unit_count"}
    elements: dict[str, ElementSpec] = {}
    for code, entry in (doc.get("columns") or {}).items():
        if code not in by_code:
            raise MappingError(f"{path}: columns.{code} is not a data element of sector '{sector}'")
        entry = entry or {}
        de = by_code[code]
        label = unicodedata.normalize("NFC", str(entry.get("label") or de.name_vi))
        variants: list[tuple[str, float]] = [(label, float(entry.get("scale", 1)))]
        if label_key(de.name_vi) != label_key(label):
            variants.append((de.name_vi, 1.0))
        for v in _as_list(entry.get("variants")):
            if isinstance(v, dict):
                if "label" not in v:
                    raise MappingError(f"{path}: columns.{code}.variants: an entry needs 'label'")
                variants.append((unicodedata.normalize("NFC", str(v["label"])), float(v.get("scale", 1))))
            else:
                variants.append((unicodedata.normalize("NFC", str(v)), 1.0))
        elements[code] = ElementSpec(code, label, de.level, de.kind, de.name_vi, tuple(variants))
    for code, de in by_code.items():
        if code not in elements:
            elements[code] = ElementSpec(code, de.name_vi, de.level, de.kind, de.name_vi, ((de.name_vi, 1.0),))
    units = {role: tuple(unicodedata.normalize("NFC", str(x)) for x in _as_list(v))
             for role, v in (doc.get("unit_columns") or {}).items()}
    meta = {role: tuple(_as_list(v)) for role, v in (doc.get("particulars") or {}).items()}
    meta.setdefault("unit_scheme", ("unit_scheme", "Hệ thống đơn vị"))
    meta.setdefault("period", ("period", "Kỳ báo cáo"))
    return SectorMapping(
        sector=sector, elements=elements, unit_labels=units,
        total_labels=tuple(_as_list(doc.get("total_labels"))) or DEFAULT_TOTAL_LABELS,
        disaggregations={k: tuple(_as_list(v)) for k, v in (doc.get("disaggregations") or {}).items()},
        total_child_labels=tuple(_as_list(doc.get("total_child_labels"))) or ("Tổng số", "Tổng", "Chung", "Cộng"),
        meta_labels=meta, min_header_matches=int(doc.get("min_header_matches", 2)), source=path,
    )


# -- reading ---------------------------------------------------------------------


@dataclass
class Column:
    index: int  # 0-based
    label: str
    target: Target | None
    disaggregation: str = ""
    status: str = "ok"  # ok | unknown | duplicate | empty


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
        limits.check_columns(self.ncols, f"trang '{self.name}'", f"sheet '{self.name}'")
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


def _reject(rejects: list[dict], file: str, sheet: str | None, row: int | None, column: str | None, value: Any,
            check: str, vi: str, en: str) -> None:
    rejects.append({"file": file, "sheet": sheet, "row": row, "column": column,
                    "value": None if value is None else _text(value), "check_code": check,
                    "reason_vi": vi, "reason_en": en, "reason": f"{vi} / {en}"})


def _code_text(v: Any, width: int) -> str:
    if isinstance(v, bool) or _blank(v):
        return ""
    if isinstance(v, (int, float)) and float(v).is_integer() and v >= 0:
        return str(int(v)).zfill(width)
    s = _text(v)
    if re.fullmatch(r"\d+", s) and len(s) < width:
        return s.zfill(width)
    return s


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
                f"Trang '{name}' bị ẩn; số liệu trong trang ẩn không được nạp; hãy bỏ ẩn trang nếu số liệu cần nạp, "
                f"hoặc xóa trang", f"sheet '{name}' is hidden; values in a hidden sheet are not loaded; expected the "
                f"data in a visible sheet: unhide the sheet if its values are to be loaded, or delete it")
    return kept


def _has_numbers(sheet: _Sheet) -> bool:
    return any(isinstance(v, (int, float)) and not isinstance(v, bool) for row in sheet.grid for v in row)


def _read_workbook(path: Path, sector: str, mapping: SectorMapping, period: str | None, max_header_scan: int,
                   limits: IngestLimits) -> WorkbookResult:
    import openpyxl

    file = path.name
    rows: list[dict] = []
    rejects: list[dict] = []
    notes: list[str] = []
    reports: list[SheetReport] = []
    hidden: set[str] = set()
    cells_read = 0
    try:
        wb = openpyxl.load_workbook(path, data_only=True, read_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one reject
        hint = " (.xls: lưu lại dưới dạng .xlsx / save it as .xlsx)" if path.suffix.lower() == ".xls" else ""
        _reject(rejects, file, None, None, None, None, "workbook.unreadable",
                f"Không đọc được tệp Excel{hint}: {exc}", f"cannot read the workbook{hint}: {exc}")
        return WorkbookResult(path, sector, pd.DataFrame(columns=ROW_COLUMNS), pd.DataFrame(rejects, columns=REJECT_COLUMNS), [], notes)
    formulas_wb = None
    any_header = False
    try:
        for ws in wb.worksheets:
            if _plain_key(ws.title) in INSTRUCTION_SHEETS:
                continue
            sheet = _Sheet(ws, limits, cells_read)
            cells_read = sheet.cells
            if ws.sheet_state != "visible":
                hidden.add(ws.title)
            report = SheetReport(ws.title)
            reports.append(report)
            found = _find_header(sheet, mapping, max_header_scan)
            if found is None:
                notes.append(f"{ws.title}: no header row found in the first {max_header_scan} rows; sheet skipped")
                if _has_numbers(sheet):
                    what = "Trang ẩn" if ws.sheet_state != "visible" else "Trang"
                    _reject(rejects, file, ws.title, None, None, None, "workbook.sheet_no_header",
                            f"{what} '{ws.title}' có số liệu nhưng không tìm thấy dòng tiêu đề (mã/tên đơn vị và chỉ tiêu "
                            f"ngành {sector}) trong {max_header_scan} dòng đầu; số liệu của trang không được nạp",
                            f"sheet '{ws.title}'{' (hidden)' if ws.sheet_state != 'visible' else ''} has numbers but "
                            f"no header row (unit code/name and {sector} data element columns) in its first "
                            f"{max_header_scan} rows; its values were not loaded; expected the template's header row")
                continue
            any_header = True
            hr, two_rows, cols = found
            report.header_row, report.header_rows = hr + (1 if two_rows else 0), 2 if two_rows else 1
            first_data = hr + (2 if two_rows else 1)

            # columns: unknown titles, duplicates
            seen: dict[tuple[str, str], str] = {}
            for col in cols:
                has_data = any(not _blank(sheet.raw(r, col.index + 1)) for r in range(first_data, sheet.nrows + 1))
                if col.target is None:
                    if col.label:
                        col.status = "unknown"
                        sugg = mapping.suggest(col.label)
                        hint_vi = f" Có phải: {'; '.join(sugg)}?" if sugg else ""
                        hint_en = f" Did you mean: {'; '.join(sugg)}?" if sugg else ""
                        _reject(rejects, file, ws.title, report.header_row, col.label, col.label, "workbook.unknown_header",
                                f"Cột '{col.label}' không có trong mẫu biểu của ngành; số liệu cột này không được nạp.{hint_vi}",
                                f"column '{col.label}' is not in the sector's template mapping; its values are not loaded.{hint_en}")
                    elif has_data:
                        col.status = "unknown"
                        _reject(rejects, file, ws.title, report.header_row, f"cột {col.index + 1}", None, "workbook.unknown_header",
                                f"Cột {col.index + 1} có số liệu nhưng không có tiêu đề; không được nạp",
                                f"column {col.index + 1} has values but no title; not loaded")
                    else:
                        col.status = "empty"
                    continue
                if col.target.role == "ignore":
                    continue
                key = (col.target.code or col.target.role, col.disaggregation)
                if key in seen and col.target.role != "element":
                    col.status = "duplicate"  # a second unit/comment column: the first one is used
                    notes.append(f"{ws.title}: column {col.index + 1} '{col.label}' repeats '{seen[key]}'; the first is used")
                    continue
                if key in seen:
                    col.status = "duplicate"
                    _reject(rejects, file, ws.title, report.header_row, col.label, col.label, "workbook.duplicate_column",
                            f"Cột '{col.label}' trùng với cột '{seen[key]}' (cùng chỉ tiêu); không được nạp để tránh tính trùng",
                            f"column '{col.label}' repeats column '{seen[key]}' (same data element); not loaded, to avoid double counting")
                    continue
                seen[key] = col.label
                report.columns[col.label] = col.target.code or col.target.role

            active = [c for c in cols if c.status == "ok" and c.target is not None]
            el_cols = [c for c in active if c.target.role == "element"]
            role_col = {}
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

            # particulars
            meta = _particulars(sheet, mapping, hr)
            sheet_scheme = "2025"
            if "unit_scheme" in meta:
                text, mr, mc = meta["unit_scheme"]
                s = _scheme(text)
                if s is None:
                    _reject(rejects, file, ws.title, mr, "unit_scheme", text, "workbook.bad_unit_scheme",
                            f"Hệ thống đơn vị '{text}' không hợp lệ: ghi 2025 hoặc legacy; cả trang không được nạp",
                            f"unit scheme '{text}' is not valid: write 2025 or legacy; the sheet is not loaded")
                    continue
                sheet_scheme = s
            report.unit_scheme = sheet_scheme
            sheet_period = period
            stated = _period_of(meta["period"][0]) if "period" in meta else None
            if "period" in meta and stated is None:
                notes.append(f"{ws.title}: period cell '{meta['period'][0]}' not understood; the file's period is used")
            if stated is not None:
                text, mr, mc = meta["period"]
                report.period = stated
                if period is not None and stated != str(period).upper():
                    _reject(rejects, file, ws.title, mr, "period", stated, "workbook.period_mismatch",
                            f"Kỳ báo cáo ghi trong biểu là {stated}, tệp được nộp cho kỳ {period}; cả trang không được nạp",
                            f"the sheet states period {stated} but the file is filed under {period}; the sheet is not loaded")
                    continue
                sheet_period = stated
            if sheet_period is None:
                _reject(rejects, file, ws.title, None, "period", None, "workbook.no_period",
                        "Không rõ kỳ báo cáo", "the period is not known")
                continue
            report.period = str(sheet_period)

            # value cells merged over several rows cannot be attributed to one unit
            merged_value_cells: set[tuple[int, int]] = set()
            for rng in sheet.ranges:
                if rng.max_row < first_data or rng.max_row == rng.min_row:
                    continue
                for c in el_cols:
                    if rng.min_col <= c.index + 1 <= rng.max_col:
                        for r in range(max(rng.min_row, first_data), rng.max_row + 1):
                            merged_value_cells.add((r, c.index + 1))
                        _reject(rejects, file, ws.title, rng.min_row, c.label, sheet.raw(rng.min_row, rng.min_col),
                                "workbook.merged_value",
                                f"Ô số liệu gộp qua nhiều dòng ({rng.coord}): không biết thuộc đơn vị nào; không được nạp",
                                f"a value cell merged over several rows ({rng.coord}) belongs to no single unit; not loaded")

            totals_rows: list[int] = []
            formula_rows: dict[int, tuple] = {}
            sums: dict[int, float] = {c.index: 0.0 for c in el_cols}
            excel_sums: dict[int, float] = {c.index: 0.0 for c in el_cols}  # numbers only, as Excel's SUM adds
            r = first_data
            if r <= sheet.nrows and _is_numbering_row(sheet, r, cols):
                r += 1
            for r in range(r, sheet.nrows + 1):
                cells = sheet.grid[r - 1]
                if all(_blank(v) for v in cells):
                    continue
                label_texts = [_text(sheet.shown(r, c.index + 1)) for c in label_cols]
                code_val = sheet.raw(r, code_col.index + 1) if code_col else None
                if any(mapping.is_total_label(t) for t in label_texts if t) and _blank(code_val) or (
                        isinstance(code_val, str) and mapping.is_total_label(code_val)):
                    totals_rows.append(r)
                    continue
                values = [(c, sheet.raw(r, c.index + 1)) for c in el_cols
                          if (r, c.index + 1) not in merged_value_cells and not _blank(sheet.raw(r, c.index + 1))]
                for c in el_cols:
                    formula = sheet.uncached.get((r, c.index + 1))
                    if formula is not None and _blank(sheet.raw(r, c.index + 1)):
                        _reject(rejects, file, ws.title, r, c.label, formula, "workbook.formula_no_value",
                                f"Ô {ws.title}!{_cell_ref(r, c.index + 1)} ('{c.label}') là công thức {formula} chưa "
                                f"được tính (tệp chưa được mở và lưu bằng Excel); ô không được nạp; hãy mở tệp bằng "
                                f"Excel, lưu lại, hoặc ghi số thay cho công thức",
                                f"cell {ws.title}!{_cell_ref(r, c.index + 1)} ('{c.label}') holds the formula "
                                f"{formula} with no computed value (the file was not opened and saved in Excel); the "
                                f"cell was not loaded; expected a number: open the file in Excel and save it, or "
                                f"write the number")
                first_text = next((t for t in label_texts if t), "")
                if not values:
                    continue  # headings, notes, signatures, units with nothing reported
                if _plain_key(first_text).startswith(NOTE_PREFIXES) and _blank(code_val):
                    notes.append(f"{ws.title}!{r}: note row skipped")
                    continue
                unit_code = _code_text(code_val, code_width) if code_col else ""
                unit_name = _text(sheet.shown(r, name_col.index + 1)) if name_col else ""
                if not unit_code and not unit_name:
                    if all(_number(v) is None for _, v in values):
                        notes.append(f"{ws.title}!{r}: row without unit or numbers skipped (notes, signatures)")
                        continue
                    _reject(rejects, file, ws.title, r, None, None, "workbook.missing_unit",
                            "Dòng có số liệu nhưng không có mã hoặc tên đơn vị", "the row has values but no unit code or name")
                    continue
                scheme = sheet_scheme
                if "unit_scheme" in role_col:
                    cell = sheet.raw(r, role_col["unit_scheme"].index + 1)
                    if not _blank(cell):
                        s = _scheme(cell)
                        if s is None:
                            _reject(rejects, file, ws.title, r, role_col["unit_scheme"].label, cell, "workbook.bad_unit_scheme",
                                    f"Hệ thống đơn vị '{_text(cell)}' không hợp lệ: ghi 2025 hoặc legacy",
                                    f"unit scheme '{_text(cell)}' is not valid: write 2025 or legacy")
                            continue
                        scheme = s
                province = ""
                for role in ("province_code", "province"):
                    c = role_col.get(role)
                    if c is not None and c is not code_col and c is not name_col:
                        province = _code_text(sheet.shown(r, c.index + 1), 2) if role == "province_code" else _text(sheet.shown(r, c.index + 1))
                        if province:
                            break
                district = ""
                for role in ("district_code", "district"):
                    c = role_col.get(role)
                    if c is not None and c is not code_col and c is not name_col:
                        district = _code_text(sheet.shown(r, c.index + 1), 3) if role == "district_code" else _text(sheet.shown(r, c.index + 1))
                        if district:
                            break
                comment = _text(sheet.raw(r, role_col["comment"].index + 1)) if "comment" in role_col else ""
                report.data_rows += 1
                for c, v in values:
                    spec = mapping.elements[c.target.code]
                    text, number = _value_text(v, spec.kind, c.target.scale)
                    if number is not None:
                        sums[c.index] += number
                        if not isinstance(v, str):
                            excel_sums[c.index] += number
                    rows.append({
                        "period": str(sheet_period), "unit_code": unit_code, "unit_name": unit_name,
                        "data_element": spec.code, "value": text, "unit_scheme": scheme,
                        "disaggregation": c.disaggregation, "comment": comment, "province": province,
                        "district": district, "sheet": ws.title, "row_number": r, "column_name": c.label,
                    })
                    report.values_loaded += 1

            # totals
            if totals_rows:
                tr = totals_rows[-1]
                report.totals_row = tr
                for extra in totals_rows[:-1]:
                    notes.append(f"{ws.title}!{extra}: intermediate totals row skipped (not loaded, not checked)")
                for c in el_cols:
                    cell = sheet.raw(tr, c.index + 1)
                    if _blank(cell):
                        if formulas_wb is None:
                            formulas_wb = openpyxl.load_workbook(path, data_only=False, read_only=True)
                        if tr not in formula_rows:
                            formula_rows[tr] = next(formulas_wb[ws.title].iter_rows(min_row=tr, max_row=tr, values_only=True), ())
                        row_f = formula_rows[tr]
                        f = row_f[c.index] if c.index < len(row_f) else None
                        if isinstance(f, str) and f.startswith("="):
                            notes.append(f"{ws.title}!{tr} '{c.label}': totals formula without a computed value; not checked")
                        continue
                    spec = mapping.elements[c.target.code]
                    _, stated = _value_text(cell, spec.kind, 1.0)
                    if stated is None:
                        _reject(rejects, file, ws.title, tr, c.label, cell, "workbook.total_mismatch",
                                f"Dòng tổng cột '{c.label}' không phải là số: '{_text(cell)}'",
                                f"the totals row of column '{c.label}' is not a number: '{_text(cell)}'")
                        continue
                    computed = sums[c.index]
                    if spec.kind == "yes_no" and abs(stated - excel_sums[c.index]) <= 1e-6:
                        continue  # the template's =SUM() skips "có"/"x" typed as words: the same answer, told apart
                    if abs(stated - computed) > 1e-6 * max(1.0, abs(computed)):
                        _reject(rejects, file, ws.title, tr, c.label, cell, "workbook.total_mismatch",
                                f"Dòng tổng cột '{c.label}' ghi {_fmt(stated)} nhưng cộng các dòng được {_fmt(computed)} "
                                f"(chênh {_fmt(stated - computed)})",
                                f"the totals row of column '{c.label}' says {_fmt(stated)} but the rows add up to "
                                f"{_fmt(computed)} (difference {_fmt(stated - computed)})")
    finally:
        wb.close()
        if formulas_wb is not None:
            formulas_wb.close()
    if hidden:
        rows = _reject_hidden(rows, rejects, hidden, file)
    if not any_header:
        _reject(rejects, file, None, None, None, None, "workbook.no_header",
                f"Không tìm thấy dòng tiêu đề có mã/tên đơn vị và chỉ tiêu của ngành {sector} trong {max_header_scan} dòng đầu",
                f"no header row with unit code/name and {sector} data element columns in the first {max_header_scan} rows")
    return WorkbookResult(path, sector, pd.DataFrame(rows, columns=ROW_COLUMNS),
                          pd.DataFrame(rejects, columns=REJECT_COLUMNS), reports, notes)


def _cell_ref(row: int, col: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(col)}{row}"


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else format(x, ".6g")
