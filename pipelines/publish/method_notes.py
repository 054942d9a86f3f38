"""The parts of the report's method note that name the government texts and say where the project's reading
fills a gap: sources, the province rule, the minimum share of indicators, criterion 6 and the commune types
of the child-friendly commune assessment, and the reporting calendar. Vietnamese, as the rest of the note.

``method_note_pairs`` gives (label, text) pairs for the report and the workbook; ``stricter_share_text`` lists
the provinces that would not be ranked under the SDG Index's 80% rule. The words are in
``templates/method_notes.txt`` (a macro per paragraph); this module prepares the values.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

SDG_INDEX_SHARE = 0.80

TEMPLATES = Path(__file__).with_name("templates")


def method_text(macro: str, /, **values) -> str:
    """The paragraph ``macro`` of ``templates/method_notes.txt`` with its values."""
    from pipelines.templating import render_macro  # Jinja2 and Babel, loaded when a text is first needed

    return render_macro(TEMPLATES, "method_notes.txt", macro, **values)


def _pct(share: float) -> str:
    value = share * 100
    return f"{value:.0f}%" if float(value).is_integer() else f"{value:.1f}%".replace(".", ",")


def province_rule_text(methodology: Any) -> str:
    return method_text("province_rule", share=_pct(float(methodology.quality.get("min_commune_reporting_share", 0.9))))


def min_share_text(methodology: Any) -> str:
    return method_text("min_share", share=_pct(float(methodology.method["min_indicator_share"])),
                 sdg_share=_pct(SDG_INDEX_SHARE))


def stricter_share_text(provinces: Iterable[Any], share: float = SDG_INDEX_SHARE) -> str:
    """The ranked provinces with fewer than ``share`` of their indicators (ProvinceRow: name, rank, used, total)."""
    out = [p for p in provinces
           if p.rank is not None and p.total and (p.used or 0) / p.total + 1e-9 < share]
    return method_text("stricter_share", share=_pct(share), provinces=sorted(out, key=lambda p: p.rank))


def criterion6_text(methodology: Any) -> str | None:
    assessment = getattr(methodology, "commune_assessment", None)
    criterion = next((c for c in assessment.criteria if c.code == "C06"), None) if assessment else None
    if criterion is None:
        return None
    return method_text("criterion6", name=criterion.name_vi, max_points=f"{criterion.max_points:g}",
                 items=[(i.name_vi, f"{i.max_points:g}") for i in criterion.items])


def commune_types_text(methodology: Any) -> str | None:
    assessment = getattr(methodology, "commune_assessment", None)
    if assessment is None:
        return None
    return method_text("commune_types", types=[(t.name_vi, f"{t.min_total_points:g}", t.default_for, t.is_default)
                                         for t in assessment.commune_types])


def calendar_text() -> str:
    from pipelines.reporting_calendar import CalendarError, calendar_lines_vi, load_calendar

    try:
        calendar = load_calendar()
    except CalendarError as exc:
        return method_text("calendar_unreadable", error=exc)
    return method_text("calendar", lines=calendar_lines_vi(calendar), level=calendar.level.name_vi,
                 file=calendar.path.name)


def method_note_pairs(methodology: Any) -> list[tuple[str, str]]:
    """(label, text) pairs for the method note: texts, province rule, minimum share, commune assessment, calendar."""
    pairs = [
        ("Văn bản căn cứ", method_text("sources")),
        ("Giá trị cấp tỉnh", province_rule_text(methodology)),
        ("Ngưỡng số chỉ số để xếp hạng", min_share_text(methodology)),
        ("Tiêu chuẩn 6 (xã phù hợp với trẻ em)", criterion6_text(methodology)),
        ("Loại xã và ngưỡng công nhận", commune_types_text(methodology)),
        ("Lịch báo cáo", calendar_text()),
    ]
    return [(label, text) for label, text in pairs if text]
