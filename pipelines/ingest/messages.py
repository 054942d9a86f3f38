"""The messages of ingest, in Vietnamese and English, looked up by key.

A key is a check code (``ingest.missing_value``), a check code and a case (``ingest.unparseable_value.ambiguous``)
or a piece of text used inside messages (``fragment.*``). A template names its values in braces; the code that
finds a problem names the key and gives the values (``reason("ingest.negative_value", value=..., code=...)``).

A value is a text, a ``pandas.Series`` of texts (one message per row, built column-wise), or a pair
``(vi, en)`` when the two languages need different words. A reason as stored in the warehouse is
``"<Vietnamese> / <English>"``.
"""

from __future__ import annotations

import string
from functools import lru_cache
from typing import Any

import pandas as pd

_SAVE_AS = ("hãy mở tệp và lưu lại bằng 'CSV UTF-8 (Comma delimited) (*.csv)'",
            "open it and save it again as 'CSV UTF-8 (Comma delimited) (*.csv)'")

MESSAGES: dict[str, tuple[str, str]] = {
    # -- whole files ---------------------------------------------------------------------------------------------
    "ingest.unsupported_file": (
        "Tệp '{name}' không phải tệp .csv hoặc .xlsx nên không được đọc; hãy lưu bảng tính dưới dạng "
        "'Excel Workbook (*.xlsx)' hoặc 'CSV UTF-8 (Comma delimited) (*.csv)'",
        "file '{name}' is not a .csv or .xlsx file and was not read; expected a CSV file or an Excel workbook: "
        "save it as 'Excel Workbook (*.xlsx)' or 'CSV UTF-8 (Comma delimited) (*.csv)'"),
    "ingest.file_malformed": (
        "Không đọc được cấu trúc CSV của tệp ({error}); thường do dấu ngoặc kép không đóng",
        "the CSV structure cannot be read ({error}), usually an unclosed double quote; expected one record a line, "
        "cells separated by '{delimiter}'"),
    "ingest.file_empty": (
        "Tệp '{name}' rỗng; cần dòng tiêu đề {columns} và các dòng số liệu",
        "file '{name}' is empty; expected a header ({columns}) and data rows"),
    "ingest.file_empty.header_only": (
        "Tệp '{name}' chỉ có dòng tiêu đề, không có số liệu; cần ít nhất một dòng số liệu",
        "file '{name}' has only the header and no data rows; expected at least one data row"),
    "ingest.missing_column": (
        "Thiếu cột bắt buộc: {names}. Cần các cột {required} ở dòng 1; các cột có trong tệp: {found}",
        "missing required column(s): {names}. Expected columns {required} in line 1; columns found: {found}"),
    "ingest.duplicate_column": (
        "Cột {names} xuất hiện nhiều lần ở dòng tiêu đề; mỗi cột chỉ được có một lần",
        "column(s) {names} appear more than once in the header; expected each column once. Columns found: {found}"),
    # -- encodings -----------------------------------------------------------------------------------------------
    "ingest.file_encoding.bom": (
        "Tệp được mã hóa {label} (có BOM {bom}), không phải UTF-8; thường do lưu bằng 'Unicode Text'; "
        + _SAVE_AS[0],
        "the file is encoded in {label} (byte order mark {bom}), not UTF-8, as Excel's 'Unicode Text' writes; "
        "expected UTF-8: " + _SAVE_AS[1]),
    "ingest.file_encoding": (
        "Tệp không phải UTF-8{bom}: byte {hexed} ở dòng {line} không hợp lệ; tệp có vẻ được mã hóa {encoding}{legacy}; "
        "cần UTF-8: " + _SAVE_AS[0],
        "the file is not UTF-8{bom}: invalid byte {hexed} in line {line}; it looks like {encoding}{legacy}; "
        "expected UTF-8: " + _SAVE_AS[1]),
    "ingest.file_encoding.chunk": (
        "Tệp không phải UTF-8: byte không hợp lệ ở vị trí {position} của một đoạn tệp; cần UTF-8: " + _SAVE_AS[0],
        "the file is not UTF-8: invalid byte ({error}) in a part of the file; expected UTF-8: " + _SAVE_AS[1]),
    "ingest.limit_exceeded.legacy_in_large_folder": (
        "Tệp '{name}' có dòng theo đơn vị trước 1/7/2025 (unit_scheme = legacy) trong một thư mục có tệp lớn hơn "
        "{mb} MB; số liệu theo đơn vị cũ chỉ được chuyển đổi khi mọi tệp của thư mục nhỏ hơn {mb} MB; hãy chia tệp "
        "lớn (CRI_INGEST_STREAM_MB)",
        "file '{name}' has rows keyed by the units before 1 July 2025 (unit_scheme = legacy) in a folder holding a "
        "file over {mb} MB; legacy rows are mapped onto the 2025 units only when every file of the folder is below "
        "{mb} MB; expected the large file split into smaller ones (CRI_INGEST_STREAM_MB)"),
    "fragment.despite_bom": (" dù có BOM UTF-8", " despite its UTF-8 byte order mark"),
    "fragment.font_encodings": (" hoặc bảng mã phông cũ TCVN3 (ABC) / VNI",
                                " or a legacy Vietnamese font encoding such as TCVN3 (ABC) or VNI"),
    "fragment.mixed_encoding": ("trộn UTF-8 với một bảng mã khác, có lẽ {encoding}",
                                "a mix of UTF-8 and another encoding, probably {encoding}"),
    "fragment.encoding.windows-1258": ("windows-1258, bảng mã tiếng Việt của Windows",
                                       "windows-1258, the Windows Vietnamese code page"),
    "fragment.encoding.windows-1252": ("windows-1252 (Tây Âu)", "windows-1252 (Western European)"),
    "fragment.encoding.UTF-16 LE": ("UTF-16 LE không có BOM", "UTF-16 LE without a byte order mark"),
    "fragment.encoding.UTF-16 BE": ("UTF-16 BE không có BOM", "UTF-16 BE without a byte order mark"),
    # -- rows ----------------------------------------------------------------------------------------------------
    "ingest.malformed_row": (
        "Dòng có {cells} ô nhưng dòng tiêu đề có {columns} cột; cần đúng {columns} ô, phân cách bằng '{delimiter}' "
        "(kiểm tra dấu phân cách hoặc dấu ngoặc kép)",
        "the row has {cells} cells but the header has {columns} columns; expected exactly {columns} cells separated "
        "by '{delimiter}' (check separators and quotes)"),
    "ingest.missing_value": ("Cột '{column}' bị trống; cần {expected}", "column '{column}' is empty; expected {expected}"),
    "fragment.expected.period": ("kỳ {period}", "the period {period}"),
    "fragment.expected.unit_code": (
        "mã xã 5 chữ số hoặc mã tỉnh 2 chữ số (2025), hoặc tên đơn vị ở cột 'unit_name'",
        "a 5-digit commune or 2-digit province code of the 2025 scheme, or the unit's name in column 'unit_name'"),
    "fragment.expected.data_element": ("một mã chỉ tiêu của ngành {sector}", "a data element code of sector {sector}"),
    "fragment.expected.value": ("một số", "a number"),
    "ingest.period_mismatch": (
        "Cột 'period': kỳ {value} khác với kỳ của thư mục; cần '{period}' (landing/{period}/{sector}/)",
        "column 'period': {value} does not match the folder's period; expected '{period}' (landing/{period}/{sector}/)"),
    "ingest.unsupported_scheme": (
        "Cột 'unit_scheme': hệ đơn vị {value} không hợp lệ; cần để trống hoặc '2025' (đơn vị từ 1/7/2025), hoặc "
        "'legacy' (đơn vị trước 1/7/2025, được chuyển đổi sang đơn vị mới)",
        "column 'unit_scheme': scheme {value} is not supported; expected empty or '2025' (units since 1 July 2025), "
        "or 'legacy' (units before, mapped onto the new ones)"),
    "ingest.unknown_data_element": (
        "Cột 'data_element': mã chỉ tiêu {value} không có trong phương pháp {version}; cần một trong các mã của ngành "
        "{sector}: {codes}",
        "column 'data_element': {value} is not a data element of methodology {version}; expected one of sector "
        "{sector}'s codes: {codes}"),
    "ingest.not_reportable": (
        "Cột 'data_element': {element} do hệ thống tự tính từ danh mục đơn vị, không báo cáo; cần một mã của ngành "
        "{sector}: {codes}",
        "column 'data_element': {element} is built in (computed from the unit list) and is not reported; expected "
        "one of sector {sector}'s codes: {codes}"),
    "ingest.wrong_sector": (
        "Cột 'data_element': chỉ tiêu {element} thuộc ngành {element_sector}, không thuộc ngành {sector_name}; hãy gửi "
        "trong thư mục landing/{period}/{element_sector_code}/",
        "column 'data_element': {element} belongs to sector {element_sector}, not {sector_name}; expected a {sector} "
        "data element; send it in landing/{period}/{element_sector_code}/"),
    "ingest.unparseable_value.ambiguous": (
        "Cột 'value': {value} không rõ nghĩa: có thể là {as_int} (dấu phân cách hàng nghìn) hoặc {as_dec} (dấu thập "
        "phân); cần số viết không có dấu phân cách hàng nghìn, ví dụ 1234 hoặc 1234,5",
        "column 'value': {value} is ambiguous: it could be {as_int} (thousands separator) or {as_dec} (decimal mark); "
        "expected a number without thousands separators, e.g. 1234 or 1234.5"),
    "ingest.unparseable_value.invalid": (
        "Cột 'value': {value} không phải là số; cần một số viết không có dấu phân cách hàng nghìn, ví dụ 1234567 "
        "hoặc 12,5{hint}",
        "column 'value': {value} is not a number; expected a number written without thousands separators, e.g. "
        "1234567 or 12.5{hint}"),
    "fragment.hint.yes_no": (" (chỉ tiêu có/không: ghi 1 = có, 0 = không)", " (yes/no element: write 1 for yes, 0 for no)"),
    "ingest.unparseable_value.out_of_range": (
        "Cột 'value': {value} có {length} ký tự, vượt giới hạn số (|giá trị| < 10^16); cần một số đếm hoặc số tiền thật",
        "column 'value': {value} ({length} characters) is out of range: expected a real count or amount, below 10^16 "
        "in absolute value"),
    "ingest.negative_value": (
        "Cột 'value': giá trị âm {value} cho {element}; cần số lớn hơn hoặc bằng 0",
        "column 'value': negative value {value} for {element}; expected 0 or more"),
    "ingest.not_whole_number": (
        "Cột 'value': {value} không phải số nguyên; {element} là {kind}, cần số nguyên (0, 1, 2, ...)",
        "column 'value': {value} is not a whole number; {element} is a {kind} element, expected a whole number "
        "(0, 1, 2, ...)"),
    "ingest.invalid_yes_no": (
        "Cột 'value': {value} không hợp lệ cho chỉ tiêu có/không {element}; cần 1 (có) hoặc 0 (không)",
        "column 'value': {value} is not valid for yes/no element {element}; expected 1 (yes) or 0 (no)"),
    # -- unit codes ----------------------------------------------------------------------------------------------
    "ingest.unknown_unit.unknown": (
        "Cột 'unit_code': mã đơn vị {code} không có trong danh mục {level} ({scheme}); {element} báo cáo theo {level}, "
        "cần mã {level} {width} chữ số (hệ {scheme}){hint}",
        "column 'unit_code': unit code {code} is not a {level} code of the {scheme} scheme; {element} is reported per "
        "{level}, expected a {width}-digit {level} code of the {scheme} scheme{hint}"),
    "fragment.hint.legacy_code": (
        "; mã này là đơn vị trước ngày 1/7/2025: nếu số liệu theo đơn vị cũ, ghi unit_scheme = legacy",
        "; this is the code of a unit before 1 July 2025: for data keyed by the old units, write unit_scheme = legacy"),
    "ingest.unknown_unit.wrong_level": (
        "Cột 'unit_code': {code} là mã {other_level} {other} ({other_name}) nhưng {element} báo cáo theo {level}; cần "
        "mã {level} {width} chữ số ({scheme})",
        "column 'unit_code': {code} is the code of {other_level} {other} ({other_name}), but {element} is reported "
        "per {level}; expected a {width}-digit {level} code of the {scheme} scheme"),
    "ingest.unknown_unit.ambiguous": (
        "Cột 'unit_code': {code} không rõ: có thể là {level} {unit} (mất số 0 ở đầu) hoặc {other_level} {other} "
        "({other_name}); cần viết đủ {width} chữ số, ví dụ {unit} (định dạng cột là Text)",
        "column 'unit_code': {code} is ambiguous: it could be {level} {unit} with its leading zeros lost, or "
        "{other_level} {other} ({other_name}); expected all {width} digits, e.g. {unit} (format the column as Text)"),
    # -- duplicates and the crosswalk ----------------------------------------------------------------------------
    "ingest.conflicting_duplicate": (
        "Cột 'value': {key} có nhiều giá trị khác nhau: dòng này = {value}; {others}; không nạp dòng nào; cần đúng "
        "một dòng cho mỗi (period, unit_code, data_element, disaggregation)",
        "column 'value': {key} is given with different values: this row = {value}; {others}; none of them was "
        "loaded; expected exactly one row per (period, unit_code, data_element, disaggregation)"),
    "ingest.duplicate_row": (
        "{key} trùng hệt {kept} (cùng giá trị {value}); số liệu đã được nạp một lần từ dòng đó; cần mỗi số liệu "
        "đúng một dòng",
        "{key} repeats {kept} with the same value {value}; the value was loaded once, from that row; expected each "
        "data value once"),
    "units.scheme_overlap": (
        "{key} có số liệu theo đơn vị mới ({new}) và cả số liệu chuyển đổi từ đơn vị cũ {sources} (cộng = {total}; "
        "{old}); không nạp số liệu nào để tránh tính trùng; cần mỗi số liệu một lần, theo một hệ đơn vị",
        "{key} is given for the 2025 unit ({new}) and also through the crosswalk from legacy units {sources} (sum "
        "{total}; {old}); none of them was loaded, to avoid double counting; expected each data value once, in one "
        "unit scheme"),
    "fragment.where.row": ("dòng {row}", "row {row}"),
    "fragment.where.file_row": ("dòng {row} tệp {name}", "row {row} of {name}"),
    "fragment.legacy_unit": ("đơn vị cũ", "legacy unit"),
    # -- landing, CSV records, limits -----------------------------------------------------------------------------
    "landing.symlink": (
        "'{name}' là liên kết tượng trưng (symlink); không theo liên kết và không đọc; hãy đặt chính tệp vào thư mục "
        "landing",
        "'{name}' is a symbolic link; it was not followed and not read; expected a regular file: copy the file "
        "itself into the landing folder"),
    "landing.not_a_file": (
        "'{name}' là {kind}, không phải tệp; không đọc; hãy đặt các tệp CSV/Excel trực tiếp trong thư mục ngành",
        "'{name}' is {kind}, not a regular file; not read; expected the CSV or Excel files directly in the sector "
        "folder"),
    "fragment.sub_folder": ("thư mục con", "a sub-folder"),
    "fragment.special_file": ("tệp đặc biệt", "a special file"),
    "landing.outside_landing": (
        "'{name}' trỏ tới {target}, ngoài thư mục landing; không đọc",
        "'{name}' resolves to {target}, outside the landing folder; not read; expected files inside {root}"),
    "landing.unknown_folder": (
        "Thư mục '{name}' không phải ngành của phương pháp ({sectors}); các tệp trong đó không được đọc.{hint}",
        "folder '{name}' is not a sector of the methodology ({sectors}); its files were not read.{hint}"),
    "fragment.rename_folder": (" Có phải '{guess}'? Hãy đổi tên thư mục thành '{guess}'.",
                               " Did you mean '{guess}'? Rename the folder to '{guess}'."),
    "landing.unknown_file": (
        "Tệp '{name}' nằm ngay trong thư mục kỳ, không thuộc ngành nào; không đọc; hãy đặt vào landing/{period}/<ngành>/",
        "file '{name}' is in the period folder, outside any sector folder; not read; expected it in "
        "landing/{period}/<sector>/"),
    "ingest.unclosed_quote": (
        "Dòng {line} mở dấu ngoặc kép mà không đóng (nuốt {swallowed} dòng sau); dòng {line} không được nạp, các dòng "
        "sau được đọc riêng; cần mỗi ô có dấu ngoặc kép mở và đóng trên cùng dòng",
        "line {line} opens a double quote that is never closed (it would swallow the {swallowed} line(s) after it); "
        "line {line} was not loaded and the lines after it were read on their own; expected every quoted cell to be "
        "closed"),
    "ingest.unclosed_quote.unreadable": (
        "Không đọc được dòng {line} ({error}); dòng không được nạp",
        "line {line} cannot be read as CSV ({error}); the line was not loaded; expected text cells separated by the "
        "delimiter"),
    "ingest.limit_exceeded": (
        "Tệp vượt giới hạn {what}: {found:,} > {limit:,} ({setting}); tệp không được đọc; {fix}",
        "the file is over the limit of {what}: {found:,} > {limit:,} ({setting}); the file was not read; {fix}"),
    "fragment.limit.columns": ("số cột ở {where}", "columns in {where}"),
    "fragment.limit.columns.where": ("dòng tiêu đề", "the header"),
    "fragment.limit.columns.fix": ("cần các cột của mẫu báo cáo", "expected the columns of the landing template"),
    "fragment.limit.line": ("độ dài dòng {line}", "characters in line {line}"),
    "fragment.limit.line.fix": ("cần mỗi dòng một bản ghi", "expected one short record a line"),
    "fragment.limit.cells": ("số ô của bảng tính", "cells in the workbook"),
    "fragment.limit.cells.fix": ("hãy xóa các trang, vùng gộp ô hoặc ô thừa",
                                 "delete the extra sheets, merged ranges or cells"),
    "fragment.limit.unpacked": ("dung lượng giải nén (byte)", "unpacked size (bytes)"),
    "fragment.limit.unpacked.fix": ("hãy lưu lại tệp chỉ với trang số liệu",
                                    "save the workbook again with its data sheet only"),
    "fragment.sheet_named": ("trang '{sheet}'", "sheet '{sheet}'"),
    # -- workbooks -----------------------------------------------------------------------------------------------
    "workbook.unreadable": ("Không đọc được tệp Excel{hint}: {error}", "cannot read the workbook{hint}: {error}"),
    "fragment.hint.xls": (" (.xls: lưu lại dưới dạng .xlsx", "save it as .xlsx)"),  # one text in both languages
    "workbook.sheet_no_header": (
        "{sheet_word} '{sheet}' có số liệu nhưng không tìm thấy dòng tiêu đề (mã/tên đơn vị và chỉ tiêu ngành {sector}) "
        "trong {scan} dòng đầu; số liệu của trang không được nạp",
        "sheet '{sheet}'{sheet_word} has numbers but no header row (unit code/name and {sector} data element columns) "
        "in its first {scan} rows; its values were not loaded; expected the template's header row"),
    "fragment.sheet": ("Trang", ""),
    "fragment.hidden_sheet": ("Trang ẩn", " (hidden)"),
    "workbook.unknown_header": (
        "Cột '{label}' không có trong mẫu biểu của ngành; số liệu cột này không được nạp.{hint}",
        "column '{label}' is not in the sector's template mapping; its values are not loaded.{hint}"),
    "fragment.did_you_mean": (" Có phải: {suggestions}?", " Did you mean: {suggestions}?"),
    "workbook.unknown_header.untitled": ("Cột {number} có số liệu nhưng không có tiêu đề; không được nạp",
                                         "column {number} has values but no title; not loaded"),
    "workbook.duplicate_column": (
        "Cột '{label}' trùng với cột '{first}' (cùng chỉ tiêu); không được nạp để tránh tính trùng",
        "column '{label}' repeats column '{first}' (same data element); not loaded, to avoid double counting"),
    "workbook.bad_unit_scheme.sheet": (
        "Hệ thống đơn vị '{text}' không hợp lệ: ghi 2025 hoặc legacy; cả trang không được nạp",
        "unit scheme '{text}' is not valid: write 2025 or legacy; the sheet is not loaded"),
    "workbook.bad_unit_scheme": ("Hệ thống đơn vị '{text}' không hợp lệ: ghi 2025 hoặc legacy",
                                 "unit scheme '{text}' is not valid: write 2025 or legacy"),
    "workbook.period_mismatch": (
        "Kỳ báo cáo ghi trong biểu là {stated}, tệp được nộp cho kỳ {period}; cả trang không được nạp",
        "the sheet states period {stated} but the file is filed under {period}; the sheet is not loaded"),
    "workbook.no_period": ("Không rõ kỳ báo cáo", "the period is not known"),
    "workbook.merged_value": (
        "Ô số liệu gộp qua nhiều dòng ({cells}): không biết thuộc đơn vị nào; không được nạp",
        "a value cell merged over several rows ({cells}) belongs to no single unit; not loaded"),
    "workbook.formula_no_value": (
        "Ô {cell} ('{label}') là công thức {formula} chưa được tính (tệp chưa được mở và lưu bằng Excel); ô không "
        "được nạp; hãy mở tệp bằng Excel, lưu lại, hoặc ghi số thay cho công thức",
        "cell {cell} ('{label}') holds the formula {formula} with no computed value (the file was not opened and "
        "saved in Excel); the cell was not loaded; expected a number: open the file in Excel and save it, or write "
        "the number"),
    "workbook.missing_unit": ("Dòng có số liệu nhưng không có mã hoặc tên đơn vị",
                              "the row has values but no unit code or name"),
    "workbook.total_mismatch.not_a_number": ("Dòng tổng cột '{label}' không phải là số: '{value}'",
                                             "the totals row of column '{label}' is not a number: '{value}'"),
    "workbook.total_mismatch": (
        "Dòng tổng cột '{label}' ghi {stated} nhưng cộng các dòng được {computed} (chênh {difference})",
        "the totals row of column '{label}' says {stated} but the rows add up to {computed} (difference {difference})"),
    "workbook.hidden_sheet": (
        "Trang '{sheet}' bị ẩn; số liệu trong trang ẩn không được nạp; hãy bỏ ẩn trang nếu số liệu cần nạp, hoặc xóa "
        "trang",
        "sheet '{sheet}' is hidden; values in a hidden sheet are not loaded; expected the data in a visible sheet: "
        "unhide the sheet if its values are to be loaded, or delete it"),
    "workbook.no_header": (
        "Không tìm thấy dòng tiêu đề có mã/tên đơn vị và chỉ tiêu của ngành {sector} trong {scan} dòng đầu",
        "no header row with unit code/name and {sector} data element columns in the first {scan} rows"),
}

#: Kinds of data element and unit levels as the Vietnamese messages name them.
KIND_VI = {"count": "số đếm", "yes_no": "có/không", "amount_vnd": "số tiền (đồng)", "unit_count": "tự tính"}
LEVEL_VI = {"commune": "xã", "province": "tỉnh"}


@lru_cache(maxsize=None)
def _parts(template: str) -> tuple[tuple[str, str | None, str], ...]:
    return tuple((literal, name, spec or "") for literal, name, spec, _conv in string.Formatter().parse(template))


def _fill(template: str, values: dict[str, Any], lang: int) -> Any:
    out: Any = ""
    for literal, name, spec in _parts(template):
        if literal:
            out = out + literal
        if name is not None:
            value = values[name]
            if isinstance(value, tuple):
                value = value[lang]
            out = out + (value if isinstance(value, pd.Series) else format(value, spec) if spec else str(value))
    return out


def texts(key: str, /, **values: Any) -> tuple[Any, Any]:
    """The (Vietnamese, English) message ``key`` with its values: texts, or Series of texts."""
    vi, en = MESSAGES[key]
    return _fill(vi, values, 0), _fill(en, values, 1)


def reason(key: str, /, **values: Any) -> Any:
    """A reject's reason: ``"<Vietnamese> / <English>"``."""
    vi, en = texts(key, **values)
    return vi + " / " + en
