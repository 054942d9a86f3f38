"""Blank sector workbooks for agencies to fill (``cri template``).

``write_template(path, sector, period, methodology, province_code=None)``
writes an .xlsx that ``read_workbook`` reads back exactly:

- one data sheet per level the sector reports at: "Số liệu cấp xã" (one row
  per commune of the 2025 scheme, or of the province given) and/or "Số liệu
  cấp tỉnh" (one row per province, or the one given);
- a title row, then the particulars: period ("Kỳ báo cáo"), unit scheme
  ("Hệ thống đơn vị" = 2025), sector and province;
- a header row: STT, unit code, unit name (and the province on the commune
  sheet), one column per data element titled with the mapping's label, and
  "Ghi chú"; the header is frozen with the unit columns;
- unit codes written as text (leading zeros kept) and shaded as not to edit;
- cell validation: whole numbers >= 0 (yes/no elements: 0 or 1), with a
  Vietnamese message;
- a totals row "Tổng cộng" with SUM formulas (checked on reading once Excel
  has computed it);
- a "Hướng dẫn" sheet: instructions in Vietnamese and the list of columns.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pipelines.ingest.mapping import SectorMapping, load_mapping
from pipelines.files import safe_text

COMMUNE_SHEET = "Số liệu cấp xã"
PROVINCE_SHEET = "Số liệu cấp tỉnh"
INSTRUCTIONS_SHEET = "Hướng dẫn"
HEADER_ROW = 7
KIND_VI = {
    "count": "Số đếm: số nguyên không âm (0, 1, 2, ...)",
    "yes_no": "Có/không: ghi 1 nếu có, 0 nếu không",
    "amount_vnd": "Số tiền (đồng): số nguyên không âm",
}


def _units(level: str, province_code: str | None) -> list[dict]:
    from pipelines.reference.units import admin_units

    df = admin_units()
    df = df[df["unit_level"] == level]
    if province_code:
        df = df[df["province_code"] == province_code]
    return df.sort_values("unit_code").to_dict("records")


def write_template(path: str | Path, sector: str, period: str, methodology: Any = None,
                   province_code: str | None = None, mapping: SectorMapping | None = None) -> Path:
    """Write a blank workbook for ``sector`` and ``period`` (optionally one province)."""
    from openpyxl import Workbook

    if methodology is None:
        from pipelines.methodology import load_methodology

        methodology = load_methodology()
    mapping = mapping or load_mapping(sector, methodology)
    sector_vi = next(s.name_vi for s in methodology.sectors if s.code == sector)
    agency_vi = next(getattr(s, "agency_vi", "") for s in methodology.sectors if s.code == sector)
    province_name = None
    if province_code:
        province_code = f"{int(province_code):02d}" if str(province_code).isdigit() else str(province_code)
        provinces = {u["unit_code"]: u["unit_name"] for u in _units("province", None)}
        if province_code not in provinces:
            raise ValueError(f"no province with code {province_code} in the 2025 scheme")
        province_name = provinces[province_code]

    st = _styles()
    wb = Workbook()
    wb.remove(wb.active)
    ws_help = wb.create_sheet(INSTRUCTIONS_SHEET)
    sheets = []
    for level, sheet_name in (("commune", COMMUNE_SHEET), ("province", PROVINCE_SHEET)):
        elements = mapping.element_columns(level)
        if not elements:
            continue
        ws = wb.create_sheet(sheet_name)
        sheets.append((ws, level, elements))
        _data_sheet(ws, level, elements, sector, sector_vi, period, province_code, province_name, st)
    _instructions(ws_help, mapping, sector_vi, agency_vi, period, st)
    wb.active = wb.sheetnames.index(sheets[0][0].title) if sheets else 0
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _styles() -> SimpleNamespace:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="999999")
    return SimpleNamespace(
        bold=Font(bold=True), title_font=Font(bold=True, size=13),
        locked_fill=PatternFill("solid", fgColor="E7E6E6"), header_fill=PatternFill("solid", fgColor="DDEBF7"),
        border=Border(left=thin, right=thin, top=thin, bottom=thin),
        wrap=Alignment(wrap_text=True, vertical="center", horizontal="center"),
    )


def _data_sheet(ws: Any, level: str, elements: list, sector: str, sector_vi: str, period: str,
                province_code: str | None, province_name: str | None, st: SimpleNamespace) -> None:
    """One data sheet: title, particulars, header, one locked row per unit, totals, validation."""
    from openpyxl.comments import Comment
    from openpyxl.utils import get_column_letter

    unit_cols = ["STT", "Mã đơn vị", "Tên đơn vị"] + (["Tỉnh, thành phố"] if level == "commune" else [])
    headers = unit_cols + [e.label for e in elements] + ["Ghi chú"]
    last_col = len(headers)
    where = province_name or "toàn quốc"
    ws.cell(row=1, column=1, value=(
        f"BIỂU THU THẬP SỐ LIỆU THỰC HIỆN QUYỀN TRẺ EM - NGÀNH {sector_vi.upper()} - "
        f"{'CẤP XÃ' if level == 'commune' else 'CẤP TỈNH'} - {where.upper()}")).font = st.title_font
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last_col)
    particulars = [
        ("Kỳ báo cáo", str(period)),
        ("Hệ thống đơn vị", "2025"),
        ("Ngành", f"{sector_vi} ({sector})"),
        ("Tỉnh, thành phố", f"{province_name} ({province_code})" if province_name else "Toàn quốc"),
    ]
    for i, (label, value) in enumerate(particulars, start=2):
        ws.cell(row=i, column=2, value=label).font = st.bold
        c = ws.cell(row=i, column=3, value=safe_text(value))
        c.number_format = "@"
    for j, h in enumerate(headers, start=1):
        c = ws.cell(row=HEADER_ROW, column=j, value=safe_text(h))
        c.font, c.fill, c.alignment, c.border = st.bold, st.header_fill, st.wrap, st.border
    for k, e in enumerate(elements):
        ws.cell(row=HEADER_ROW, column=len(unit_cols) + 1 + k).comment = Comment(
            f"{e.code}: {e.name_vi}. {KIND_VI.get(e.kind, '')}", "CRI")
    ws.row_dimensions[HEADER_ROW].height = 75

    units = _units(level, province_code)
    first = HEADER_ROW + 1
    for n, u in enumerate(units):
        r = first + n
        ws.cell(row=r, column=1, value=n + 1)
        code = ws.cell(row=r, column=2, value=u["unit_code"])
        code.number_format = "@"
        ws.cell(row=r, column=3, value=safe_text(u["unit_name"]))
        if level == "commune":
            ws.cell(row=r, column=4, value=safe_text(u["province_name"]))
        for j in range(1, len(unit_cols) + 1):
            ws.cell(row=r, column=j).fill = st.locked_fill
    last = first + len(units) - 1
    _totals_and_validation(ws, elements, len(unit_cols), first, last, st)
    widths = [6, 11, 30] + ([22] if level == "commune" else []) + [18] * len(elements) + [24]
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = w
    ws.freeze_panes = ws.cell(row=first, column=len(unit_cols) + 1)


def _totals_and_validation(ws: Any, elements: list, n_unit_cols: int, first: int, last: int,
                           st: SimpleNamespace) -> None:
    """The totals row (=SUM formulas) and, per element column, what a cell accepts."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    total_row = last + 1
    ws.cell(row=total_row, column=3, value="Tổng cộng").font = st.bold
    for k, e in enumerate(elements):
        col = n_unit_cols + 1 + k
        letter = get_column_letter(col)
        cell = ws.cell(row=total_row, column=col, value=f"=SUM({letter}{first}:{letter}{last})")
        cell.font = st.bold
        if e.kind == "yes_no":
            dv = DataValidation(type="whole", operator="between", formula1="0", formula2="1", allow_blank=True)
            dv.error = "Chỉ nhập 1 (có) hoặc 0 (không)"
            dv.prompt = "1 = có, 0 = không; để trống nếu chưa có số liệu"
        else:
            dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True)
            dv.error = "Chỉ nhập số nguyên không âm (0, 1, 2, ...)"
            dv.prompt = "Số nguyên không âm; để trống nếu chưa có số liệu (không ghi 0 thay cho số liệu thiếu)"
        dv.errorTitle, dv.promptTitle = "Giá trị không hợp lệ", e.label[:32]
        dv.showErrorMessage = dv.showInputMessage = True
        dv.add(f"{letter}{first}:{letter}{last}")
        ws.add_data_validation(dv)


def _instructions(ws_help: Any, mapping: SectorMapping, sector_vi: str, agency_vi: str, period: str,
                  st: SimpleNamespace) -> None:
    """The instructions sheet: how to fill the workbook, and the list of element columns."""
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    lines = [
        (f"HƯỚNG DẪN ĐIỀN BIỂU SỐ LIỆU - NGÀNH {sector_vi.upper()} - KỲ {period}", st.title_font),
        ("", None),
        ("1. Mỗi dòng là một đơn vị hành chính theo danh mục áp dụng từ ngày 1/7/2025 (34 tỉnh, thành phố; "
         "3.321 xã, phường, đặc khu). Không sửa, xóa, thêm dòng; không sửa mã đơn vị, tên đơn vị và tiêu đề cột.", None),
        ("2. Ghi số liệu vào các cột chỉ tiêu. Số đếm và số tiền là số nguyên không âm, không ghi dấu chấm, dấu phẩy "
         "ngăn cách hàng nghìn, không ghi chữ. Cột có/không: ghi 1 nếu có, 0 nếu không.", None),
        ("3. Đơn vị chưa có số liệu: để trống ô (không ghi 0). Số 0 nghĩa là đã thống kê và kết quả bằng 0.", None),
        ("4. Dòng \"Tổng cộng\" tự tính bằng công thức; không ghi đè. Khi nhận biểu, hệ thống đối chiếu dòng tổng "
         "với tổng các dòng.", None),
        (f"5. Kỳ báo cáo: {period}. Hệ thống đơn vị: 2025 (đơn vị mới). Nếu số liệu theo đơn vị hành chính cũ "
         "(trước 1/7/2025), ghi \"legacy\" vào ô Hệ thống đơn vị và dùng mã, tên đơn vị cũ; hệ thống sẽ chuyển đổi "
         "sang đơn vị mới.", None),
        ("6. Có thể ghi chú ở cột \"Ghi chú\" của từng dòng (ví dụ: số liệu ước tính, lý do thiếu số liệu).", None),
        ("7. Lưu tệp dạng .xlsx (không lưu thành .xls hay .csv) và gửi về cơ quan tổng hợp chậm nhất ngày "
         f"{_due_text()}.", None),
        (f"8. Đơn vị gửi: {agency_vi}.", None) if agency_vi else ("", None),
        ("", None),
        ("Danh mục cột chỉ tiêu", st.bold),
    ]
    for r, (text, font) in enumerate(lines, start=1):
        c = ws_help.cell(row=r, column=1, value=text)
        c.alignment = Alignment(wrap_text=True, vertical="top")
        if font:
            c.font = font
    start = len(lines) + 1
    for j, h in enumerate(["Mã chỉ tiêu", "Tiêu đề cột trong biểu", "Nội dung", "Cấp", "Giá trị"], start=1):
        c = ws_help.cell(row=start, column=j, value=h)
        c.font, c.fill, c.border = st.bold, st.header_fill, st.border
    for i, e in enumerate(mapping.element_columns(), start=1):
        values = [e.code, e.label, e.name_vi, "xã" if e.level == "commune" else "tỉnh", KIND_VI.get(e.kind, e.kind)]
        for j, v in enumerate(values, start=1):
            c = ws_help.cell(row=start + i, column=j, value=safe_text(v))
            c.alignment = Alignment(wrap_text=True, vertical="top")
            c.border = st.border
    for j, w in enumerate([110, 45, 45, 8, 40], start=1):
        ws_help.column_dimensions[get_column_letter(j)].width = w if j > 1 else 24
    ws_help.column_dimensions["A"].width = 24
    for r in range(3, len(lines)):
        ws_help.merge_cells(start_row=r, start_column=1, end_row=r, end_column=5)
        ws_help.row_dimensions[r].height = 32


def _due_text() -> str:
    """The deadlines of the reporting calendar file, e.g. "20/5 (báo cáo 6 tháng) và ngày 15/11 (báo cáo năm)"."""
    from pipelines.reporting_calendar import load_calendar

    level = load_calendar().level
    half, year = level.deadline("half_year").due, level.deadline("year").due
    return f"{half[1]}/{half[0]} (báo cáo 6 tháng) và ngày {year[1]}/{year[0]} (báo cáo năm)"


def template_filename(sector: str, period: str, province_code: str | None = None) -> str:
    return f"mau-bieu_{sector}_{period}{'_' + province_code if province_code else ''}.xlsx"
