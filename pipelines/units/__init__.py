"""Administrative units: names matched to codes (``names``), the units before
1 July 2025 and the crosswalk onto the 34 provinces and 3,321 communes
(``crosswalk``), and one entry point for ingest (``resolve.to_2025_units``)."""

#: Every check these modules apply to a row: code -> (Vietnamese, English) meaning.
CHECK_CODES: dict[str, tuple[str, str]] = {
    "units.unknown_name": ("Tên đơn vị không khớp đơn vị nào (kèm gợi ý)", "unit name matches no unit (with suggestions)"),
    "units.ambiguous_name": ("Tên đơn vị khớp nhiều đơn vị; cần ghi mã", "unit name matches several units; give the code"),
    "units.bad_unit_scheme": ("Hệ thống đơn vị không phải 2025 hoặc legacy", "unit scheme is neither 2025 nor legacy"),
    "units.missing_unit": ("Dòng không có mã hoặc tên đơn vị", "row has no unit code or name"),
    "units.unknown_legacy_unit": ("Mã/tên đơn vị cũ không có trong danh mục trước 1/7/2025",
                                  "legacy unit code or name not in the units before 1 July 2025"),
    "units.ambiguous_unit": ("Tên đơn vị cũ khớp nhiều đơn vị; cần ghi mã", "legacy unit name matches several units"),
    "units.bad_value": ("Giá trị không phải là số, không chuyển đổi được", "value is not a number and cannot be rebased"),
    "units.not_in_crosswalk": ("Đơn vị cũ không có trong bảng chuyển đổi", "legacy unit not in the crosswalk"),
    "units.duplicate_unit": ("Một đơn vị cũ có nhiều dòng cho cùng chỉ tiêu; không cộng để tránh tính trùng",
                             "one legacy unit on several rows for the same data element; not added (double counting)"),
    "units.wrong_level": ("Đơn vị cũ cấp tỉnh/huyện cho chỉ tiêu cấp xã; không chia xuống xã",
                          "legacy province or district for a commune-level element; never split onto communes"),
    "units.scheme_overlap": ("Cùng số liệu vừa theo đơn vị mới vừa chuyển đổi từ đơn vị cũ; không nạp để tránh tính trùng",
                             "same data value given for a 2025 unit and through the crosswalk; none loaded"),
}
