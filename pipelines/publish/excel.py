"""The ranking workbook (``ranking.xlsx``) for people who open releases in Excel.

``write_ranking_xlsx`` takes the release tables as plain DataFrames plus the
methodology (never the warehouse) and writes three sheets with Vietnamese
headers:

- "Xếp hạng": one row per province, ranked first (by rank), then the provinces
  not ranked, with the reason;
- "Điểm lĩnh vực": domain scores wide, one column per domain (Vietnamese names);
- "Ghi chú": period, methodology version, where the figures come from, how to read;
- then one sheet per published table (:data:`pipelines.publish.published.PUBLISHED_TABLES`, named as the
  table): the Vietnamese column names, then the column names of the CSV, then the rows, numbers rounded to
  the decimals the data dictionary declares.

Numbers stay numbers (PCRI and scores shown with 2 decimals), codes stay text
("01"), the header rows are bold and frozen, data sheets have an autofilter.
Every sheet prints on A4 landscape, fit to the page width, its header rows
repeated on each page, the release and the page number in the footer.
Text from the data never becomes a formula (:func:`pipelines.files.safe_text`).

The workbook is written in openpyxl's write-only mode: rows stream to the file as they come, so a national
release (about 110,000 rows) takes little memory. Widths, frozen panes and row heights are therefore set before
the first row; a styled cell is one :class:`WriteOnlyCell` per column, given each row's value in turn.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet as Worksheet
from openpyxl.worksheet.worksheet import Worksheet as _Sheet

from pipelines.methodology import Methodology
from pipelines.files import neutralise_formulas, round_half_up, safe_text
from pipelines.publish.published import PUBLISHED_TABLES, decimals
from pipelines.publish.xlsx_rows import append_rows, styled_row
from pipelines.publish.report import as_float, as_int, as_text, method_summary, tier_styles, write_bytes_atomic

__all__ = ["write_ranking_xlsx", "RANKING_SHEET", "DOMAIN_SHEET", "NOTES_SHEET"]

RANKING_SHEET = "Xếp hạng"
DOMAIN_SHEET = "Điểm lĩnh vực"
NOTES_SHEET = "Ghi chú"

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="E6EAEF")
HEADER_ALIGN = Alignment(wrap_text=True, vertical="center")
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
SCORE_FORMAT = "0.00"
INT_FORMAT = "0"
CHANGE_FORMAT = "+0;-0;0"
PAPERSIZE_A4 = _Sheet.PAPERSIZE_A4

# (header, source column, kind); kind: text | score | int | change
RANKING_COLUMNS = [
    ("Mã tỉnh", "province_code", "text"),
    ("Tỉnh/thành phố", "province_name", "text"),
    ("Chỉ số PCRI", "pcri", "score"),
    ("Thứ hạng", "rank", "int"),
    ("Nhóm", "tier", "int"),
    ("Tên nhóm", "_tier_name", "text"),
    ("Thay đổi thứ hạng", "rank_change", "change"),
    ("Thứ hạng kỳ trước", "previous_rank", "int"),
    ("Số chỉ số có dữ liệu", "indicators_used", "int"),
    ("Tổng số chỉ số", "indicators_total", "int"),
    ("Lý do không xếp hạng", "not_ranked_reason", "text"),
]


def _cell_value(value: Any, kind: str) -> Any:
    if kind == "text":
        return as_text(value) or None
    if kind == "score":
        return as_float(value)
    return as_int(value)


def _number_format(kind: str) -> str | None:
    return {"score": SCORE_FORMAT, "int": INT_FORMAT, "change": CHANGE_FORMAT}.get(kind)


def _sorted_ranking(province_ranking: pd.DataFrame, methodology: Methodology) -> pd.DataFrame:
    df = province_ranking.copy()
    df["province_code"] = df["province_code"].astype(str)
    names = {t: s.name for t, s in tier_styles(methodology).items()}
    given = [c for c in ("tier_name_vi", "tier_name") if c in df.columns]
    df["_tier_name"] = [
        next((as_text(r[c]) for c in given if as_text(r[c])), None) or names.get(as_int(r["tier"]))
        for r in df.to_dict("records")
    ]
    df["_rank"] = pd.to_numeric(df["rank"], errors="coerce")
    df["_pcri"] = pd.to_numeric(df["pcri"], errors="coerce")
    df = df.sort_values(["_rank", "_pcri", "province_name"], ascending=[True, False, True], na_position="last")
    return df.drop(columns=["_rank", "_pcri"]).reset_index(drop=True)


def _header_cells(ws: Worksheet, values: list[Any], align: bool = True) -> list[WriteOnlyCell]:
    """A header row: bold on the header fill (wrapped, centred vertically when ``align``)."""
    cells = []
    for value in values:
        cell = WriteOnlyCell(ws, value=safe_text(value))
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        if align:
            cell.alignment = HEADER_ALIGN
        cells.append(cell)
    return cells


def _styled(ws: Worksheet, number_format: str | None, **style: Any) -> WriteOnlyCell | None:
    """One cell carrying a style, reused for each row of its column (None: no style, plain values)."""
    if number_format is None and not style:
        return None
    cell = WriteOnlyCell(ws)
    if number_format is not None:
        cell.number_format = number_format
    for name, value in style.items():
        setattr(cell, name, value)
    return cell


def _write_table(ws: Worksheet, headers: list[str], rows: list[list[Any]], kinds: list[str],
                 widths: dict[int, float] | None = None, special: dict[int, dict[Any, WriteOnlyCell]] | None = None,
                 header_height: float = 32) -> None:
    """``special``: column index (from 0) -> value -> the cell of that value's own style."""
    _fit_columns(ws, headers, rows, widths or {})
    ws.row_dimensions[1].height = header_height
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(len(rows) + 1, 1)}"
    ws.append(_header_cells(ws, headers))
    plain = [_styled(ws, _number_format(kind)) for kind in kinds]
    for row in rows:
        values = [safe_text(v) for v in row]  # text from the data never becomes a formula
        cells = plain
        if special:
            cells = [special.get(n, {}).get(v, c) for n, (v, c) in enumerate(zip(values, plain))]
        ws.append(styled_row(values, cells))


def _fit_columns(ws: Worksheet, headers: list[str], rows: list[list[Any]], fixed: dict[int, float]) -> None:
    """Widths from the longest value (headers wrap up to 2 lines), between 8 and 50 characters."""
    for col, header in enumerate(headers, start=1):
        if col in fixed:
            ws.column_dimensions[get_column_letter(col)].width = fixed[col]
            continue
        values = [r[col - 1] for r in rows if r[col - 1] is not None]
        longest = max((len(f"{v:.2f}") if isinstance(v, float) else len(str(v)) for v in values), default=0)
        header_need = min(len(header), max(len(header) / 2 + 1, 12))
        width = max(8.0, min(50.0, max(longest, header_need) + 2.5))
        ws.column_dimensions[get_column_letter(col)].width = width


def _ranking_sheet(ws: Worksheet, ranking: pd.DataFrame, methodology: Methodology) -> None:
    columns = [c for c in RANKING_COLUMNS if c[1] in ranking.columns]
    rows = [[_cell_value(r.get(src), kind) for _, src, kind in columns] for r in ranking.to_dict("records")]
    kinds = [k for _, _, k in columns]
    tier_col = next((n for n, c in enumerate(columns) if c[1] == "tier"), None)
    special = {}
    if tier_col is not None:  # the tier's cell takes the tier's colour
        special[tier_col] = {
            tier: _styled(ws, _number_format(kinds[tier_col]), alignment=Alignment(horizontal="center"),
                          fill=PatternFill("solid", fgColor=style.tint.lstrip("#").upper()))
            for tier, style in tier_styles(methodology).items()}
    _write_table(ws, [h for h, _, _ in columns], rows, kinds, special=special)


def _domain_sheet(ws: Worksheet, ranking: pd.DataFrame, domain_scores: pd.DataFrame,
                  methodology: Methodology) -> None:
    ds = domain_scores
    if "unit_level" in ds.columns:
        ds = ds[ds["unit_level"].astype(str) == "province"]
    scores: dict[tuple[str, str], float | None] = {
        (as_text(r["province_code"]), as_text(r["domain_code"])): as_float(r["score"]) for r in ds.to_dict("records")
    }
    domains = list(methodology.domains)
    known = {d.code for d in domains}
    # a domain in the data but not in the methodology still gets a column, with the data's name
    if "domain_name" in ds.columns:
        extra = ds[~ds["domain_code"].astype(str).isin(known)][["domain_code", "domain_name"]].drop_duplicates()
    else:
        extra = pd.DataFrame(columns=["domain_code", "domain_name"])
    columns = [(d.code, d.name_vi) for d in domains] + [
        (as_text(r["domain_code"]), as_text(r.get("domain_name")) or as_text(r["domain_code"]))
        for r in extra.to_dict("records")
    ]
    headers = ["Mã tỉnh", "Tỉnh/thành phố", "Thứ hạng"] + [name for _, name in columns] + ["Chỉ số PCRI"]
    kinds = ["text", "text", "int"] + ["score"] * len(columns) + ["score"]
    rows = []
    for r in ranking.to_dict("records"):
        code = as_text(r["province_code"])
        rows.append([code, as_text(r.get("province_name")), as_int(r.get("rank"))]
                    + [scores.get((code, dc)) for dc, _ in columns] + [as_float(r.get("pcri"))])
    widths = {3 + n: 20.0 for n in range(1, len(columns) + 1)}
    _write_table(ws, headers, rows, kinds, widths, header_height=62)


def _notes_sheet(ws: Worksheet, ranking: pd.DataFrame, methodology: Methodology) -> None:
    periods = sorted({as_text(p) for p in ranking.get("period", pd.Series(dtype=str)) if as_text(p)})
    ranked = int(pd.to_numeric(ranking["rank"], errors="coerce").notna().sum())
    how_to_read = (
        "Thứ hạng 1 là tốt nhất. Chỉ số PCRI và điểm lĩnh vực có thang điểm 0–100, càng cao càng tốt. "
        "“Thay đổi thứ hạng” = thứ hạng kỳ trước − thứ hạng kỳ này: số dương là tăng hạng, số âm là giảm hạng, "
        "ô trống khi không có thứ hạng để so sánh. “Nhóm” là nhóm xếp loại theo thứ hạng (1 là nhóm tốt nhất). "
        "Tỉnh/thành phố không đủ số liệu không được xếp hạng; lý do ghi ở cột “Lý do không xếp hạng”. "
        "Các cột có bộ lọc; số liệu là số, hiển thị 2 chữ số thập phân."
    )
    entries = [
        ("Kỳ báo cáo", ", ".join(periods) if periods else "–"),
        ("Số tỉnh, thành phố được xếp hạng", f"{ranked}/{len(ranking)}"),
        *method_summary(methodology),
        ("Cách đọc", how_to_read),
    ]
    widths = {"A": 34, "B": 110}
    for column, width in widths.items():
        ws.column_dimensions[column].width = width
    ws.freeze_panes = "A2"
    ws.append(_header_cells(ws, ["Mục", "Nội dung"], align=False))
    label_cell, text_cell = _styled(ws, None, font=HEADER_FONT, alignment=WRAP_TOP), _styled(ws, None, alignment=WRAP_TOP)
    for n, (label, text) in enumerate(entries, start=2):
        values = [safe_text(label), safe_text(text)]
        # wrapped text: set the height, since not every spreadsheet program fits it on opening
        lines = max(math.ceil(len(as_text(v)) / (widths[c] - 2)) for v, c in zip(values, widths))
        ws.row_dimensions[n].height = 15 * max(lines, 1)
        ws.append(styled_row(values, [label_cell, text_cell]))


def _table_sheet(ws: Worksheet, name: str, df: pd.DataFrame) -> None:
    """One published table: Vietnamese names, then the CSV's column names, then the rows as in the CSV."""
    described = {c.name: c for c in PUBLISHED_TABLES[name].columns}
    columns = [str(c) for c in df.columns]
    places = decimals(name, columns)
    for n, c in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(n)].width = max(10.0, min(40.0, len(c) + 2.0))
    ws.freeze_panes = "A3"
    ws.auto_filter.ref = f"A2:{get_column_letter(max(len(columns), 1))}{len(df) + 2}"
    ws.append(_header_cells(ws, [described[c].name_vi if c in described else c for c in columns]))
    ws.append(_header_cells(ws, columns))
    kinds = [described[c].type if c in described else "float64" for c in columns]
    # text is text, whole numbers show as such: only decimals need a format
    cells = [_styled(ws, "0." + "0" * places[c] if places.get(c) else None) for c in columns]
    values = [_sheet_values(df.iloc[:, n], kind, places.get(c)) for n, (kind, c) in enumerate(zip(kinds, columns))]
    append_rows(ws, zip(*values), cells)


def _sheet_values(series: pd.Series, kind: str, places: int | None) -> list[Any]:
    """A column's cells: text guarded at once for the whole column, other values one by one."""
    if kind != "string":
        return [_sheet_value(v, kind, places) for v in series]
    return neutralise_formulas([None if _missing(v) else str(v) for v in series])


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _sheet_value(value: Any, kind: str, places: int | None) -> Any:
    if _missing(value):
        return None
    if kind == "string":
        return safe_text(str(value))  # codes stay text ("01"); text never becomes a formula
    if kind == "boolean" or isinstance(value, bool):
        return bool(value)
    if kind == "int64":
        return int(value)
    return round_half_up(value, places) if places is not None else float(value)


def _print_setup(ws: Worksheet, header_rows: int, footer: str) -> None:
    """A4 landscape, fit to the page width, the header rows on every page, the release and page in the footer
    (before the sheet's first row: the sheet's properties are written with it)."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as needed
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"1:{header_rows}"
    ws.oddFooter.left.text = footer
    ws.oddFooter.right.text = "Trang / page &P / &N"


def write_ranking_xlsx(path: str | os.PathLike, province_ranking: pd.DataFrame, domain_scores: pd.DataFrame,
                       methodology: Methodology, tables: dict[str, pd.DataFrame] | None = None,
                       release: str | None = None) -> Path:
    """Write the workbook to ``path``: sheets "Xếp hạng", "Điểm lĩnh vực", "Ghi chú", then one sheet per table of
    ``tables`` (published table name -> frame, in the order of ``PUBLISHED_TABLES``); returns the path.
    ``release``: the release's name for the footer (e.g. "2025 v1")."""
    ranking = _sorted_ranking(province_ranking, methodology)
    wb = Workbook(write_only=True)
    footer = safe_text(f"{methodology.name_vi} – {release or ''}".strip(" –"))

    def sheet(title: str, header_rows: int) -> Worksheet:
        ws = wb.create_sheet(title)
        _print_setup(ws, header_rows, footer)
        return ws

    _ranking_sheet(sheet(RANKING_SHEET, 1), ranking, methodology)
    _domain_sheet(sheet(DOMAIN_SHEET, 1), ranking, domain_scores, methodology)
    _notes_sheet(sheet(NOTES_SHEET, 1), ranking, methodology)
    for name in [n for n in PUBLISHED_TABLES if n in (tables or {})]:
        _table_sheet(sheet(name, 2), name, tables[name])
    wb.properties.title = f"{methodology.name_vi} – xếp hạng"
    wb.properties.creator = "cri-pipeline"
    buffer = io.BytesIO()
    wb.save(buffer)
    return write_bytes_atomic(Path(path), buffer.getvalue())
