"""The parts of the report's method note that name the government texts and say where the project's reading
fills a gap: sources, the province rule, the minimum share of indicators, criterion 6 and the commune types
of the child-friendly commune assessment, and the reporting calendar. Vietnamese, as the rest of the note.

``method_note_pairs`` gives (label, text) pairs for the report and the workbook; ``stricter_share_text`` lists
the provinces that would not be ranked under the SDG Index's 80% rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SDG_INDEX_SHARE = 0.80

SOURCES_VI = (
    "Quyết định 06/QĐ-TTg ngày 03/01/2019 của Thủ tướng Chính phủ (tiêu chuẩn xã, phường, thị trấn phù hợp với "
    "trẻ em); Quyết định 23/QĐ-TTg của Thủ tướng Chính phủ (Chương trình hành động quốc gia vì trẻ em giai đoạn "
    "2021-2030); Thông tư 13/2021/TT-BLĐTBXH (bộ chỉ tiêu thống kê về trẻ em); Nghị quyết 202/2025/QH15 (sắp xếp "
    "đơn vị hành chính cấp tỉnh, từ 01/7/2025); Nghị định 42/2025/NĐ-CP (Bộ Y tế phụ trách công tác trẻ em, Cục "
    "Bà mẹ và Trẻ em, từ 01/3/2025). Số liệu dân số trẻ em: Cục Thống kê (Chi cục Thống kê các tỉnh). Danh mục 20 "
    "chỉ số con, cách chuẩn hóa và trọng số chính thức của PCRI chưa được công bố: ngưỡng chuẩn hóa và trọng số "
    "trong tệp phương pháp là lựa chọn của dự án."
)


def _pct(share: float) -> str:
    value = share * 100
    return f"{value:.0f}%" if float(value).is_integer() else f"{value:.1f}%".replace(".", ",")


def province_rule_text(methodology: Any) -> str:
    share = float(methodology.quality.get("min_commune_reporting_share", 0.9))
    return (
        "Giá trị của tỉnh không phải là tổng cộng giản đơn của mọi xã: tử số và mẫu số của một chỉ số được cộng "
        "trên các xã báo cáo đủ mọi số liệu cấp xã của chỉ số đó (xã thiếu tử số thì không tính mẫu số), cùng số "
        f"liệu cấp tỉnh của chính tỉnh; nếu dưới {_pct(share)} số xã của tỉnh báo cáo đủ thì tỉnh không có giá trị "
        "cho chỉ số đó. Vì vậy, ở các chỉ số \"tỷ lệ xã ...\", xã không báo cáo không được tính vào mẫu số: tỷ lệ "
        "là tỷ lệ trong số các xã có báo cáo."
    )


def min_share_text(methodology: Any) -> str:
    share = float(methodology.method["min_indicator_share"])
    return (
        f"Ngưỡng tối thiểu {_pct(share)} số chỉ số có số liệu để được xếp hạng là lựa chọn của dự án: trong những "
        "năm đầu, số liệu của cả một ngành có thể đến muộn, và ngưỡng này vẫn cho phép xếp hạng các tỉnh thiếu vài "
        f"chỉ số thay vì loại bỏ họ. Chỉ số SDG (SDG Index) chỉ xếp hạng một quốc gia khi có ít nhất "
        f"{_pct(SDG_INDEX_SHARE)} số chỉ số; danh sách dưới đây cho biết các tỉnh sẽ không được xếp hạng theo ngưỡng đó."
    )


def stricter_share_text(provinces: Iterable[Any], share: float = SDG_INDEX_SHARE) -> str:
    """The ranked provinces with fewer than ``share`` of their indicators (ProvinceRow: name, rank, used, total)."""
    out = [p for p in provinces
           if p.rank is not None and p.total and (p.used or 0) / p.total + 1e-9 < share]
    if not out:
        return f"Với ngưỡng {_pct(share)}, không tỉnh nào đang được xếp hạng bị loại khỏi bảng xếp hạng."
    names = "; ".join(f"{p.name} (hạng {p.rank}, {p.used}/{p.total} chỉ số)" for p in sorted(out, key=lambda p: p.rank))
    return f"Với ngưỡng {_pct(share)}, {len(out)} tỉnh sẽ không được xếp hạng: {names}."


def criterion6_text(methodology: Any) -> str | None:
    assessment = getattr(methodology, "commune_assessment", None)
    criterion = next((c for c in assessment.criteria if c.code == "C06"), None) if assessment else None
    if criterion is None:
        return None
    items = "; ".join(f"{i.name_vi}: {i.max_points:g} điểm" for i in criterion.items)
    return (
        f"Tiêu chuẩn 6 ({criterion.name_vi}, tối đa {criterion.max_points:g} điểm) gồm {len(criterion.items)} chỉ "
        f"tiêu theo Quyết định 06/QĐ-TTg: {items}. Xã không có vụ việc trẻ em bị xâm hại tình dục, bị bỏ rơi, bị "
        "mua bán nào được coi là đạt chỉ tiêu về kế hoạch can thiệp, hỗ trợ (không có gì để không đạt). Số vụ việc "
        "là số liệu nhạy cảm, không được công bố theo từng xã."
    )


def commune_types_text(methodology: Any) -> str | None:
    assessment = getattr(methodology, "commune_assessment", None)
    if assessment is None:
        return None
    parts = []
    for t in assessment.commune_types:
        kinds = ", ".join(t.default_for) if t.default_for else ("các đơn vị còn lại" if t.is_default else "")
        parts.append(f"{t.name_vi}: {t.min_total_points:g} điểm" + (f" (mặc định: {kinds})" if kinds else ""))
    return (
        "Các loại xã của Quyết định 06/QĐ-TTg (phường thuộc quận, thị xã; thị trấn; xã miền núi, hải đảo; xã đặc "
        "biệt khó khăn) không còn tồn tại như vậy sau ngày 01/7/2025 và chưa có văn bản chính thức chuyển đổi sang "
        "3.321 xã, phường, đặc khu mới. Cách hiểu của dự án về ngưỡng công nhận: " + "; ".join(parts) + ". Các xã "
        "thuộc danh sách xã đặc biệt khó khăn, xã miền núi, hải đảo do cán bộ vận hành liệt kê trong tệp "
        "reference/commune_types.csv; tệp này được ưu tiên hơn cách hiểu mặc định."
    )


def calendar_text() -> str:
    from pipelines.reporting_calendar import CalendarError, calendar_lines_vi, load_calendar

    try:
        calendar = load_calendar()
    except CalendarError as exc:
        return f"Không đọc được lịch báo cáo: {exc}"
    return ("; ".join(calendar_lines_vi(calendar))
            + f". Kiểm tra đúng hạn và lịch chạy theo hạn của cấp \"{calendar.level.name_vi}\" (tệp "
            f"{calendar.path.name}); đây là hạn trong kế hoạch của một tỉnh, không phải quy định toàn quốc.")


def method_note_pairs(methodology: Any) -> list[tuple[str, str]]:
    """(label, text) pairs for the method note: texts, province rule, minimum share, commune assessment, calendar."""
    pairs = [
        ("Văn bản căn cứ", SOURCES_VI),
        ("Giá trị cấp tỉnh", province_rule_text(methodology)),
        ("Ngưỡng số chỉ số để xếp hạng", min_share_text(methodology)),
        ("Tiêu chuẩn 6 (xã phù hợp với trẻ em)", criterion6_text(methodology)),
        ("Loại xã và ngưỡng công nhận", commune_types_text(methodology)),
        ("Lịch báo cáo", calendar_text()),
    ]
    return [(label, text) for label, text in pairs if text]
