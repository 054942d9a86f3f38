"""Every check code of ingest: code -> (Vietnamese, English) meaning.

One public, stable place for the codes (``pipelines.quality`` reads them): the parser's own, those of
names, legacy units and the crosswalk (``pipelines.units``), workbooks, landing, CSV records and limits.
The order is the order in which a row's rejects are listed.
"""

from __future__ import annotations

from pipelines.ingest.csv_stream import CHECK_CODES as _CSV_CHECK_CODES
from pipelines.ingest.landing import CHECK_CODES as _LANDING_CHECK_CODES
from pipelines.ingest.limits import CHECK_CODES as _LIMIT_CHECK_CODES
from pipelines.units import CHECK_CODES as _UNIT_CHECK_CODES

#: Every check the parser applies: code -> (Vietnamese, English) meaning.
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

#: Every check the workbook reader applies (``pipelines.ingest.workbook``).
WORKBOOK_CHECK_CODES: dict[str, tuple[str, str]] = {
    "workbook.unreadable": ("Không đọc được tệp Excel (.xls cần lưu lại thành .xlsx)", "workbook cannot be read (whole file)"),
    "workbook.no_header": ("Không tìm thấy dòng tiêu đề có cột đơn vị và cột chỉ tiêu",
                           "no header row with unit and data element columns (whole file)"),
    "workbook.unknown_header": ("Tiêu đề cột không có trong mẫu biểu; cột không được nạp",
                                "column title not in the template mapping; column not loaded"),
    "workbook.duplicate_column": ("Hai cột cùng một chỉ tiêu; cột sau không được nạp",
                                  "two columns for one data element; the later one is not loaded"),
    "workbook.total_mismatch": ("Dòng tổng khác tổng các dòng", "totals row differs from the sum of the rows"),
    "workbook.bad_unit_scheme": ("Hệ thống đơn vị không phải 2025 hoặc legacy", "unit scheme is neither 2025 nor legacy"),
    "workbook.period_mismatch": ("Kỳ báo cáo ghi trong biểu khác kỳ của tệp", "period stated in the sheet differs"),
    "workbook.no_period": ("Không rõ kỳ báo cáo", "period unknown"),
    "workbook.missing_unit": ("Dòng có số liệu nhưng không có mã hoặc tên đơn vị", "row with values but no unit"),
    "workbook.merged_value": ("Ô số liệu gộp qua nhiều dòng", "value cell merged over several rows"),
    "workbook.formula_no_value": ("Ô công thức chưa được tính (không có giá trị lưu sẵn)",
                                  "formula cell without a computed value"),
    "workbook.hidden_sheet": ("Số liệu trong trang bị ẩn: không nạp", "values in a hidden sheet: not loaded"),
    "workbook.sheet_no_header": ("Trang có số liệu nhưng không tìm thấy dòng tiêu đề",
                                 "sheet with numbers but no header row"),
}

# Names, legacy units and the crosswalk (pipelines.units), and workbooks (pipelines.ingest.workbook).
CHECK_CODES.update(_UNIT_CHECK_CODES)
CHECK_CODES.update(WORKBOOK_CHECK_CODES)
CHECK_CODES.update(_LANDING_CHECK_CODES)
CHECK_CODES.update(_CSV_CHECK_CODES)
CHECK_CODES.update(_LIMIT_CHECK_CODES)
