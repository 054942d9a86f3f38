"""The ranking report: one self-contained HTML file, in Vietnamese.

``write_report_html`` takes the release tables as plain DataFrames plus the
methodology (never the warehouse) and writes one file that opens offline and
prints: inline CSS, charts drawn here as inline SVG, no scripts, no fonts or
images from the network. Every text that comes from data is escaped.

Sections, each built by one small function below:

- header and summary (number ranked, top 3, bottom 3, largest moves);
- national ranking table (rows tinted by tier, rank change as ▲/▼);
- PCRI bar chart, with rank intervals (dots and bars) when ``uncertainty`` is given;
- heatmap of domain scores (provinces by rank x domains, with a colour legend);
- one card per province (domain scores against the national median, the three
  indicators furthest from their national target, profile, commune summary);
- national indicator values (from summed counts) against the 2025/2030 targets;
- communes ranked within each province (when ``commune_ranking`` is given);
- data quality (when ``quality`` is given);
- a method note generated from the methodology.
"""

from __future__ import annotations

import html
import math
import os
import statistics
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.methodology import Indicator, Methodology

__all__ = [
    "write_report_html",
    "national_indicator_values",
    "target_gaps",
    "target_year",
    "method_summary",
]

DASH = "–"

# Tier colours (best to worst), colour-blind friendly enough and readable in print.
TIER_COLOURS = ("#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027", "#a50026")
UNRANKED_COLOUR = "#bdbdbd"
# Sequential scale for scores 0-100 (light = low, dark = high).
SCORE_STOPS = ((0.0, "#fff7d6"), (25.0, "#c7e9b4"), (50.0, "#41b6c4"), (75.0, "#225ea8"), (100.0, "#0b2a6b"))
MISSING_FILL = "#e6e6e6"
GOOD, BAD, NEUTRAL = "#1a7f37", "#c62828", "#6b7280"


# --------------------------------------------------------------------------- values and formatting


def is_missing(value: Any) -> bool:
    """None, NaN, NaT and pd.NA are missing; strings (even empty) are not."""
    if value is None:
        return True
    if isinstance(value, (str, bytes)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def as_float(value: Any) -> float | None:
    if is_missing(value):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else f


def as_int(value: Any) -> int | None:
    f = as_float(value)
    return None if f is None else int(round(f))


def as_text(value: Any) -> str:
    return "" if is_missing(value) else str(value)


def esc(value: Any) -> str:
    """Escaped text for HTML content and attribute values."""
    return html.escape(as_text(value), quote=True)


def fmt_num(value: Any, decimals: int = 2) -> str:
    """Vietnamese number format: 1.234,56 (a dash when missing)."""
    f = as_float(value)
    if f is None:
        return DASH
    text = f"{f:,.{decimals}f}"
    return text.translate({ord(","): ".", ord("."): ","})


def fmt_value(value: Any) -> str:
    """An indicator value: whole numbers from 1,000 up, one decimal below."""
    f = as_float(value)
    if f is None:
        return DASH
    return fmt_num(f, 0 if abs(f) >= 1000 else 1)


def fmt_share(value: float) -> str:
    return f"{fmt_num(value * 100, 0 if float(value * 100).is_integer() else 1)}%"


def unit_suffix(unit: str) -> str:
    """A unit after a number: "%" sticks to it, other units follow a space."""
    if not unit:
        return ""
    return unit if unit in ("%", "‰") else f" {unit}"


def _attr(x: float) -> str:
    """A coordinate for an SVG attribute."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;(") + "…"


def wrap(text: str, width: int, max_lines: int) -> list[str]:
    """Greedy word wrap; the last line is truncated when the text does not fit."""
    lines: list[str] = []
    current = ""
    words = text.split()
    for n, word in enumerate(words):
        candidate = f"{current} {word}".strip()
        if len(candidate) <= width or not current:
            current = candidate
            continue
        lines.append(current)
        current = word
        if len(lines) == max_lines - 1:
            current = " ".join(words[n:])
            break
    if current:
        lines.append(truncate(current, width) if len(lines) == max_lines - 1 else current)
    return lines[:max_lines]


def _mix(colour: str, other: str, share: float) -> str:
    """``colour`` mixed with ``other``; share 0 keeps colour, 1 gives other."""
    a = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(other[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * share):02x}" for x, y in zip(a, b))


def _is_dark(colour: str) -> bool:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.299 * r + 0.587 * g + 0.114 * b < 140


def score_colour(score: float | None) -> str:
    """Colour of a 0-100 score on the sequential scale (grey when missing)."""
    if score is None:
        return MISSING_FILL
    s = min(100.0, max(0.0, score))
    for (x0, c0), (x1, c1) in zip(SCORE_STOPS, SCORE_STOPS[1:]):
        if s <= x1:
            return _mix(c0, c1, (s - x0) / (x1 - x0))
    return SCORE_STOPS[-1][1]


# --------------------------------------------------------------------------- SVG helpers


def svg(width: float, height: float, body: Iterable[str], label: str, css_class: str = "chart") -> str:
    """An inline SVG element (no namespace URL needed inside HTML) that scales down to fit."""
    return (
        f'<svg class="{css_class}" viewBox="0 0 {_attr(width)} {_attr(height)}" width="{_attr(width)}" '
        f'height="{_attr(height)}" role="img" aria-label="{esc(label)}">'
        f"<title>{esc(label)}</title>{''.join(body)}</svg>"
    )


def svg_rect(x: float, y: float, w: float, h: float, fill: str, title: str | None = None, extra: str = "") -> str:
    attrs = f'x="{_attr(x)}" y="{_attr(y)}" width="{_attr(max(w, 0))}" height="{_attr(h)}" fill="{fill}"{extra}'
    if title:
        return f"<rect {attrs}><title>{esc(title)}</title></rect>"
    return f"<rect {attrs}/>"


def svg_line(x1: float, y1: float, x2: float, y2: float, stroke: str = "#999", width: float = 1,
             extra: str = "") -> str:
    return (f'<line x1="{_attr(x1)}" y1="{_attr(y1)}" x2="{_attr(x2)}" y2="{_attr(y2)}" '
            f'stroke="{stroke}" stroke-width="{_attr(width)}"{extra}/>')


def svg_circle(cx: float, cy: float, r: float, fill: str, stroke: str | None = None,
               title: str | None = None) -> str:
    attrs = f'cx="{_attr(cx)}" cy="{_attr(cy)}" r="{_attr(r)}" fill="{fill}"'
    if stroke:
        attrs += f' stroke="{stroke}" stroke-width="1.5"'
    if title:
        return f"<circle {attrs}><title>{esc(title)}</title></circle>"
    return f"<circle {attrs}/>"


def svg_text(x: float, y: float, text: str, anchor: str = "start", size: float = 11, weight: str | None = None,
             fill: str = "#222", title: str | None = None) -> str:
    attrs = (f'x="{_attr(x)}" y="{_attr(y)}" font-size="{_attr(size)}" fill="{fill}" '
             f'text-anchor="{anchor}" dominant-baseline="central"')
    if weight:
        attrs += f' font-weight="{weight}"'
    inner = esc(text) + (f"<title>{esc(title)}</title>" if title else "")
    return f"<text {attrs}>{inner}</text>"


# --------------------------------------------------------------------------- the data, normalised


@dataclass(frozen=True)
class ProvinceRow:
    code: str
    name: str
    pcri: float | None
    rank: int | None
    tier: int | None
    rank_change: int | None
    previous_rank: int | None
    used: int | None
    total: int | None
    reason: str

    @property
    def ranked(self) -> bool:
        return self.rank is not None


@dataclass(frozen=True)
class TierStyle:
    tier: int | None
    name: str
    colour: str

    @property
    def tint(self) -> str:
        return _mix(self.colour, "#ffffff", 0.72)

    @property
    def ink(self) -> str:
        return "#ffffff" if _is_dark(self.colour) else "#1f2328"


@dataclass
class Interval:
    nominal: float | None
    median: float | None
    p05: float | None
    p95: float | None
    label: str


@dataclass
class ReportData:
    period: str
    previous_period: str | None
    m: Methodology
    provinces: list[ProvinceRow]
    tiers: dict[int, TierStyle]
    scores: dict[tuple[str, str], float]
    medians: dict[str, float | None]
    indicator_values: pd.DataFrame
    intervals: dict[str, Interval]
    profiles: dict[str, Any]
    communes: pd.DataFrame | None
    quality: Mapping[str, Any] | None
    units_note: str | None = None  # how the period's units were treated (re-based onto the 2025 units or not)
    disclosure: pd.DataFrame | None = None  # how the release was protected: means, label_vi, cells

    @property
    def ranked(self) -> list[ProvinceRow]:
        return [p for p in self.provinces if p.ranked]

    @property
    def pcri_decimals(self) -> int:
        return int(self.m.method.get("rank_decimals", 2))

    def tier_style(self, tier: int | None) -> TierStyle:
        if tier is None or tier not in self.tiers:
            return TierStyle(None, "Không xếp hạng", UNRANKED_COLOUR)
        return self.tiers[tier]

    def score(self, code: str, domain: str) -> float | None:
        return self.scores.get((code, domain))


def _for_period(df: pd.DataFrame | None, period: str) -> pd.DataFrame | None:
    """Rows of ``period`` when the table has a period column holding it; otherwise the table."""
    if df is None:
        return None
    if "period" in df.columns:
        mask = df["period"].astype(str) == str(period)
        if mask.any():
            return df[mask]
    return df


def tier_styles(methodology: Methodology) -> dict[int, TierStyle]:
    return {
        t.tier: TierStyle(t.tier, t.name_vi, TIER_COLOURS[min(n, len(TIER_COLOURS) - 1)])
        for n, t in enumerate(sorted(methodology.tiers, key=lambda t: t.tier))
    }


def _province_rows(ranking: pd.DataFrame) -> list[ProvinceRow]:
    rows = []
    for r in ranking.to_dict("records"):
        tier = as_int(r.get("tier"))
        rank = as_int(r.get("rank"))
        rows.append(ProvinceRow(
            code=as_text(r.get("province_code")), name=as_text(r.get("province_name")),
            pcri=as_float(r.get("pcri")), rank=rank, tier=tier if rank is not None else None,
            rank_change=as_int(r.get("rank_change")), previous_rank=as_int(r.get("previous_rank")),
            used=as_int(r.get("indicators_used")), total=as_int(r.get("indicators_total")),
            reason=as_text(r.get("not_ranked_reason")),
        ))
    inf = float("inf")
    return sorted(rows, key=lambda p: (p.rank is None, p.rank if p.rank is not None else inf,
                                       -(p.pcri if p.pcri is not None else -inf), p.name))


def _domain_score_map(domain_scores: pd.DataFrame) -> dict[tuple[str, str], float]:
    df = domain_scores
    if "unit_level" in df.columns:
        df = df[df["unit_level"].astype(str) == "province"]
    out: dict[tuple[str, str], float] = {}
    for r in df.to_dict("records"):
        score = as_float(r.get("score"))
        if score is not None:
            out[(as_text(r.get("province_code")), as_text(r.get("domain_code")))] = score
    return out


# Robustness labels of the rank intervals (pipelines/robustness), in Vietnamese.
INTERVAL_LABELS_VI = {"robust": "ổn định", "moderate": "tương đối ổn định", "sensitive": "nhạy với phương pháp"}


def _intervals(uncertainty: pd.DataFrame | None) -> dict[str, Interval]:
    if uncertainty is None or uncertainty.empty:
        return {}
    return {
        as_text(r.get("province_code")): Interval(
            nominal=as_float(r.get("nominal_rank")), median=as_float(r.get("median_rank")),
            p05=as_float(r.get("p05_rank")), p95=as_float(r.get("p95_rank")),
            label=INTERVAL_LABELS_VI.get(as_text(r.get("label")), as_text(r.get("label"))),
        )
        for r in uncertainty.to_dict("records")
    }


def _prepare(period: str, methodology: Methodology, province_ranking: pd.DataFrame, domain_scores: pd.DataFrame,
             indicator_values: pd.DataFrame, quality: Mapping[str, Any] | None, uncertainty: pd.DataFrame | None,
             profiles: Mapping[str, Any] | None, commune_ranking: pd.DataFrame | None,
             previous_period: str | None) -> ReportData:
    tiers = tier_styles(methodology)
    provinces = _province_rows(_for_period(province_ranking, period))
    scores = _domain_score_map(_for_period(domain_scores, period))
    medians = {}
    for d in methodology.domains:
        values = [s for (_, dc), s in scores.items() if dc == d.code]
        medians[d.code] = statistics.median(values) if values else None
    communes = _for_period(commune_ranking, period)
    return ReportData(
        period=str(period), previous_period=None if previous_period is None else str(previous_period),
        m=methodology, provinces=provinces, tiers=tiers, scores=scores, medians=medians,
        indicator_values=_for_period(indicator_values, period), intervals=_intervals(uncertainty),
        profiles={str(k): v for k, v in (profiles or {}).items()},
        communes=communes if communes is not None and not communes.empty else None, quality=quality,
    )


# --------------------------------------------------------------------------- targets and national figures


def target_year(period: str) -> int:
    """The target that applies to a period: 2025 up to 2025, then 2030."""
    try:
        year = int(str(period)[:4])
    except ValueError:
        return 2025
    return 2025 if year <= 2025 else 2030


def indicator_target(indicator: Indicator, year: int) -> tuple[int, float] | None:
    """(year, target) for ``year``, falling back to the other target year; None without targets."""
    order = (2025, 2030) if year <= 2025 else (2030, 2025)
    for y in order:
        value = indicator.target_2025 if y == 2025 else indicator.target_2030
        if value is not None:
            return y, value
    return None


def meets(indicator: Indicator, value: float | None, target: float | None) -> bool | None:
    if value is None or target is None:
        return None
    return value >= target if indicator.direction == "higher" else value <= target


def gap_to_target(indicator: Indicator, value: float, target: float) -> float:
    """How far the value is short of the target (positive: not met)."""
    return target - value if indicator.direction == "higher" else value - target


def _province_indicator_rows(indicator_values: pd.DataFrame) -> pd.DataFrame:
    df = indicator_values
    if "unit_level" in df.columns:
        df = df[df["unit_level"].astype(str) == "province"]
    return df


def national_indicator_values(indicator_values: pd.DataFrame, methodology: Methodology) -> pd.DataFrame:
    """National value of each indicator from the province rows' counts.

    value = sum of province numerators / sum of province denominators x multiplier,
    over the provinces that have both counts (a rate is never averaged).
    Columns: indicator_code, numerator, denominator, value, provinces.
    """
    df = _province_indicator_rows(indicator_values)
    if not {"indicator_code", "numerator", "denominator"} <= set(df.columns):
        df = pd.DataFrame(columns=["indicator_code", "numerator", "denominator"])
    codes = df["indicator_code"].astype(str)
    rows = []
    for ind in methodology.indicators:
        sub = df[codes == ind.code]
        num = pd.to_numeric(sub["numerator"], errors="coerce").astype("float64")
        den = pd.to_numeric(sub["denominator"], errors="coerce").astype("float64")
        both = num.notna() & den.notna()
        n, d = float(num[both].sum()), float(den[both].sum())
        value = n / d * ind.multiplier if both.any() and d > 0 else None
        rows.append({"indicator_code": ind.code, "numerator": n if both.any() else None,
                     "denominator": d if both.any() else None, "value": value, "provinces": int(both.sum())})
    return pd.DataFrame(rows, columns=["indicator_code", "numerator", "denominator", "value", "provinces"])


def target_gaps(indicator_values: pd.DataFrame, methodology: Methodology, period: str) -> pd.DataFrame:
    """Each province's gap to the national target of every indicator that has one.

    gap = target - value for ``higher`` indicators, value - target for ``lower``
    (positive: not met). ``relative_gap`` divides by the goalpost range so that
    indicators on different scales can be compared. Columns: province_code,
    indicator_code, value, target_year, target, gap, relative_gap.
    """
    year = target_year(period)
    by_code = {i.code: i for i in methodology.indicators}
    out = []
    for r in _province_indicator_rows(indicator_values).to_dict("records"):
        ind = by_code.get(as_text(r.get("indicator_code")))
        value = as_float(r.get("value"))
        if ind is None or value is None:
            continue
        target = indicator_target(ind, year)
        if target is None:
            continue
        gap = gap_to_target(ind, value, target[1])
        out.append({"province_code": as_text(r.get("province_code")), "indicator_code": ind.code, "value": value,
                    "target_year": target[0], "target": target[1], "gap": gap,
                    "relative_gap": gap / (ind.goal_high - ind.goal_low)})
    return pd.DataFrame(out, columns=["province_code", "indicator_code", "value", "target_year", "target", "gap",
                                      "relative_gap"])


# --------------------------------------------------------------------------- method text (shared with excel.py)

NORMALISATION_VI = {
    "goalposts": "Chuẩn hóa theo ngưỡng cố định (goalposts) của từng chỉ số: điểm = 100 × (giá trị − ngưỡng thấp) / "
                 "(ngưỡng cao − ngưỡng thấp) với chỉ số càng cao càng tốt, đảo chiều với chỉ số càng thấp càng tốt, "
                 "giới hạn trong khoảng 0–100. Ngưỡng cố định nên điểm so sánh được giữa các năm.",
    "minmax": "Chuẩn hóa min–max: như trên, với ngưỡng là giá trị nhỏ nhất và lớn nhất giữa các đơn vị cùng cấp "
              "trong kỳ; điểm chỉ so sánh được trong cùng một kỳ.",
    "zscore": "Chuẩn hóa theo điểm z giữa các đơn vị cùng cấp trong kỳ, quy đổi thành 50 + 10 × z và giới hạn "
              "trong khoảng 0–100.",
}


def aggregation_text(methodology: Methodology) -> str:
    method = methodology.method
    text = "Điểm lĩnh vực là trung bình có trọng số của điểm các chỉ số có số liệu trong lĩnh vực. "
    if method.get("aggregation") == "geometric":
        floor = fmt_num(float(method.get("geometric_floor", 1.0)), 1)
        return text + ("PCRI là trung bình nhân có trọng số của điểm các lĩnh vực (điểm lĩnh vực thấp hơn "
                       f"{floor} được tính bằng {floor}), nên điểm cao ở lĩnh vực này không bù được điểm thấp ở "
                       "lĩnh vực khác.")
    return text + "PCRI là trung bình cộng có trọng số của điểm các lĩnh vực."


def ranking_rule_text(methodology: Methodology) -> str:
    method = methodology.method
    share = float(method["min_indicator_share"])
    per_domain = int(method.get("min_indicators_per_domain", 1))
    decimals = int(method.get("rank_decimals", 2))
    return (f"Tỉnh/thành phố được xếp hạng khi có số liệu cho ít nhất {fmt_share(share)} số chỉ số và mỗi lĩnh vực "
            f"có ít nhất {per_domain} chỉ số có số liệu; nếu không, tỉnh không được xếp hạng và lý do được ghi rõ. "
            f"Thứ hạng 1 là tốt nhất; PCRI được so sánh sau khi làm tròn {decimals} chữ số thập phân, các tỉnh "
            "bằng nhau cùng nhận thứ hạng cao hơn. Thay đổi thứ hạng = thứ hạng kỳ trước − thứ hạng kỳ này "
            "(số dương: tăng hạng).")


def tier_rule_lines(methodology: Methodology) -> list[str]:
    lines = []
    previous = None
    for t in sorted(methodology.tiers, key=lambda t: t.tier):
        share = fmt_share(t.max_rank_share)
        span = f"đến {share}" if previous is None else f"trên {fmt_share(previous)} đến {share}"
        lines.append(f"{t.name_vi}: thứ hạng / số tỉnh được xếp hạng {span}")
        previous = t.max_rank_share
    return lines


def disclosure_text(methodology: Methodology) -> str:
    low = int(methodology.disclosure.get("suppress_min", 1))
    high = int(methodology.disclosure.get("suppress_max", 4))
    sensitive = [e.name_vi[:1].lower() + e.name_vi[1:] for e in methodology.data_elements if e.sensitive]
    what = "; ".join(sensitive) if sensitive else "các nội dung nhạy cảm"
    return (f"Số liệu cấp xã về các nội dung nhạy cảm ({what}) có giá trị từ {low} đến {high} được ẩn, cùng các tỷ "
            "lệ tính từ chúng, để không thể nhận diện trẻ em; không có bản ghi về từng trẻ em nào được công bố.")


COUNTS_TEXT = ("Các số liệu được tính từ số liệu do các ngành gửi (số đếm tử số và mẫu số), theo công thức trong tệp "
               "phương pháp: giá trị = tổng tử số / tổng mẫu số × hệ số; tỷ lệ của tỉnh được tính từ tổng số đếm "
               "của các xã, không lấy trung bình các tỷ lệ.")


def method_summary(methodology: Methodology) -> list[tuple[str, str]]:
    """The method in Vietnamese as (label, text) pairs; used by the report and the workbook."""
    domains = "; ".join(f"{d.code} {d.name_vi} (trọng số {fmt_num(d.weight, 1)})" for d in methodology.domains)
    return [
        ("Phương pháp", methodology.name_vi),
        ("Phiên bản phương pháp", methodology.version),
        ("Mã SHA-256 của tệp phương pháp", methodology.sha256),
        ("Nguồn số liệu", COUNTS_TEXT),
        ("Chuẩn hóa", NORMALISATION_VI.get(str(methodology.method.get("normalisation")),
                                           str(methodology.method.get("normalisation")))),
        ("Tổng hợp", aggregation_text(methodology)),
        ("Lĩnh vực và trọng số", domains),
        ("Điều kiện xếp hạng", ranking_rule_text(methodology)),
        ("Nhóm", "; ".join(tier_rule_lines(methodology))),
        ("Bảo vệ số liệu nhạy cảm", disclosure_text(methodology)),
    ]


# --------------------------------------------------------------------------- small HTML pieces


def tier_chip(style: TierStyle) -> str:
    return (f'<span class="chip" style="background:{style.colour};color:{style.ink}">'
            f"{esc(style.name)}</span>")


def rank_change_html(change: int | None) -> str:
    if change is None:
        return f'<span class="muted">{DASH}</span>'
    if change > 0:
        return f'<span class="up" title="Tăng {change} bậc">▲&#8239;{change}</span>'
    if change < 0:
        return f'<span class="down" title="Giảm {-change} bậc">▼&#8239;{-change}</span>'
    return '<span class="muted" title="Không đổi">=</span>'


def met_badge(value: bool | None) -> str:
    if value is None:
        return f'<span class="muted">{DASH}</span>'
    return '<span class="badge ok">Đạt</span>' if value else '<span class="badge bad">Chưa đạt</span>'


def interval_text(iv: Interval | None) -> str:
    if iv is None or iv.p05 is None or iv.p95 is None:
        return DASH
    return f"{fmt_num(iv.p05, 0)}–{fmt_num(iv.p95, 0)}"


def province_label(p: ProvinceRow) -> str:
    return f"{p.rank}. {p.name}" if p.ranked else f"– {p.name}"


def indicators_used_text(p: ProvinceRow) -> str:
    if p.used is None:
        return DASH
    return f"{p.used}/{p.total}" if p.total is not None else str(p.used)


def table(headers: list[str], rows: Iterable[str], css_class: str = "data", numeric: set[int] = frozenset()) -> str:
    """A table from plain-text headers (escaped here) and ready HTML rows; ``numeric``: right-aligned columns."""
    num = ' class="num"'
    head = "".join(f'<th scope="col"{num if n in numeric else ""}>{esc(h)}</th>' for n, h in enumerate(headers))
    return f'<table class="{css_class}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def section(anchor: str, title: str, body: str, intro: str = "") -> str:
    intro_html = f'<p class="intro">{intro}</p>' if intro else ""
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>{intro_html}{body}</section>'


# --------------------------------------------------------------------------- sections


def header_html(data: ReportData) -> str:
    m = data.m
    compare = f" · So sánh với kỳ {esc(data.previous_period)}" if data.previous_period else ""
    return (
        '<header class="top">'
        '<p class="kicker">Báo cáo xếp hạng các tỉnh, thành phố</p>'
        f"<h1>{esc(m.name_vi)}</h1>"
        f'<p class="meta">Kỳ báo cáo <strong>{esc(data.period)}</strong> · Phiên bản phương pháp '
        f"<strong>{esc(m.version)}</strong>{compare}</p>"
        "</header>"
    )


def nav_html(data: ReportData) -> str:
    items = [("tom-tat", "Tóm tắt"), ("xep-hang", "Bảng xếp hạng"), ("bieu-do", "Biểu đồ PCRI"),
             ("linh-vuc", "Điểm lĩnh vực"), ("tinh", "Từng tỉnh, thành phố"), ("chi-so", "Chỉ số và mục tiêu")]
    if data.communes is not None:
        items.append(("cap-xa", "Xếp hạng cấp xã"))
    if data.quality is not None:
        items.append(("chat-luong", "Chất lượng số liệu"))
    items.append(("phuong-phap", "Phương pháp"))
    links = "".join(f'<li><a href="#{a}">{esc(t)}</a></li>' for a, t in items)
    return f'<nav class="toc" aria-label="Mục lục"><ol>{links}</ol></nav>'


def _name_list(rows: list[ProvinceRow]) -> str:
    return "".join(
        f'<li><strong>{esc(p.name)}</strong> <span class="muted">(hạng {p.rank}, PCRI '
        f"{fmt_num(p.pcri, 2)})</span></li>" for p in rows
    )


def summary_html(data: ReportData) -> str:
    ranked = data.ranked
    total = len(data.provinces)
    unranked = [p for p in data.provinces if not p.ranked]
    parts = [f'<p class="lead">Có <strong>{len(ranked)}/{total}</strong> tỉnh, thành phố được xếp hạng '
             f"trong kỳ {esc(data.period)}.</p>"]
    values = [p.pcri for p in ranked if p.pcri is not None]
    if values:
        parts.append(
            f"<p>PCRI của các tỉnh được xếp hạng từ <strong>{fmt_num(min(values), data.pcri_decimals)}</strong> "
            f"đến <strong>{fmt_num(max(values), data.pcri_decimals)}</strong> (trung vị "
            f"{fmt_num(statistics.median(values), data.pcri_decimals)}) trên thang 0–100.</p>"
        )
    if ranked:
        parts.append(
            '<div class="cols">'
            f'<div><h3>Dẫn đầu</h3><ol class="plain">{_name_list(ranked[:3])}</ol></div>'
            f'<div><h3>Cuối bảng</h3><ol class="plain">{_name_list(ranked[-3:])}</ol></div>'
            f"{_movers_html(data)}"
            "</div>"
        )
    if unranked:
        items = "".join(f"<li><strong>{esc(p.name)}</strong>: {esc(p.reason) or 'không đủ số liệu'}</li>"
                        for p in unranked)
        parts.append(f'<h3>Không được xếp hạng</h3><ul class="plain">{items}</ul>')
    if data.quality is not None:
        status = quality_badge(quality_passed(data.quality))
        parts.append(f'<p>Kiểm tra chất lượng số liệu: {status} (xem <a href="#chat-luong">mục chất lượng</a>).</p>')
    return section("tom-tat", "Tóm tắt", "".join(parts))


def _movers_html(data: ReportData) -> str:
    moved = [p for p in data.ranked if p.rank_change]
    if not moved:
        return ""
    up = sorted((p for p in moved if p.rank_change > 0), key=lambda p: -p.rank_change)[:3]
    down = sorted((p for p in moved if p.rank_change < 0), key=lambda p: p.rank_change)[:3]
    since = f" so với kỳ {esc(data.previous_period)}" if data.previous_period else " so với kỳ trước"
    items = "".join(f"<li>{esc(p.name)} {rank_change_html(p.rank_change)}</li>" for p in up + down)
    return f'<div><h3>Thay đổi lớn nhất{since}</h3><ul class="plain">{items}</ul></div>'


def ranking_table_html(data: ReportData) -> str:
    has_previous = any(p.previous_rank is not None for p in data.provinces)
    has_intervals = bool(data.intervals)
    headers = ["Thứ hạng", "Tỉnh/thành phố", "Chỉ số PCRI", "Nhóm", "Thay đổi thứ hạng"]
    if has_previous:
        headers.append("Thứ hạng kỳ trước")
    if has_intervals:
        headers.append("Khoảng thứ hạng (5%–95%)")
    headers += ["Số chỉ số có dữ liệu", "Ghi chú"]
    rows = []
    for p in data.provinces:
        style = data.tier_style(p.tier)
        cells = [
            f'<td class="num strong">{p.rank if p.ranked else DASH}</td>',
            f'<td class="name"><a href="#tinh-{esc(p.code)}">{esc(p.name)}</a></td>',
            f'<td class="num">{fmt_num(p.pcri, data.pcri_decimals)}</td>',
            f"<td>{tier_chip(style)}</td>",
            f'<td class="num">{rank_change_html(p.rank_change)}</td>',
        ]
        if has_previous:
            cells.append(f'<td class="num">{p.previous_rank if p.previous_rank is not None else DASH}</td>')
        if has_intervals:
            iv = data.intervals.get(p.code)
            label = f'<br><span class="muted small">{esc(iv.label)}</span>' if iv and iv.label else ""
            cells.append(f'<td class="num">{interval_text(iv)}{label}</td>')
        cells += [f'<td class="num">{indicators_used_text(p)}</td>', f'<td class="reason">{esc(p.reason)}</td>']
        rows.append(f'<tr style="background:{style.tint}">{"".join(cells)}</tr>')
    numeric = {0, 2, 4} | ({5} if has_previous else set())
    legend = "".join(f"<li>{tier_chip(t)}</li>" for t in data.tiers.values())
    since = f"kỳ {esc(data.previous_period)}" if data.previous_period else "kỳ trước"
    intro = (f"Xếp theo thứ hạng (1 là tốt nhất). ▲ tăng hạng, ▼ giảm hạng so với {since}; "
             f"{DASH} khi không có thứ hạng để so sánh.")
    body = f'<ul class="legend">{legend}</ul>' + table(headers, rows, numeric=numeric)
    return section("xep-hang", "Bảng xếp hạng toàn quốc", body, intro)


def pcri_bar_chart(data: ReportData) -> str:
    """34 horizontal bars sorted by PCRI; a rank-interval panel beside them when intervals are given."""
    rows = sorted(data.provinces, key=lambda p: (p.pcri is None, -(p.pcri or 0), not p.ranked, p.name))
    label_w, bar_w, value_w, row_h, top, bottom = 200.0, 400.0, 52.0, 18.0, 40.0, 12.0
    intervals = data.intervals
    panel_x, panel_w = label_w + bar_w + value_w + 28, 250.0
    width = panel_x + panel_w + 16 if intervals else label_w + bar_w + value_w
    height = top + row_h * len(rows) + bottom
    out = []
    for tick in (0, 25, 50, 75, 100):
        x = label_w + bar_w * tick / 100
        out.append(svg_line(x, top - 4, x, height - bottom, "#d0d7de", 1))
        out.append(svg_text(x, top - 14, str(tick), "middle", 10, fill="#57606a"))
    n_max = max([len(data.ranked)] + [int(math.ceil(v)) for iv in intervals.values()
                                        for v in (iv.p95, iv.nominal) if v is not None])
    rank_x = lambda r: panel_x + panel_w * ((r - 1) / max(n_max - 1, 1))  # noqa: E731
    if intervals:
        out.append(svg_text(panel_x + panel_w / 2, 8, "Thứ hạng: khoảng 5%–95% và trung vị", "middle", 11,
                            "bold", "#57606a"))
        ticks = sorted({1, n_max} | {t for t in range(5, n_max, 5) if n_max - t >= 3})
        for t in ticks:
            x = rank_x(t)
            out.append(svg_line(x, top - 4, x, height - bottom, "#eaeef2", 1))
            out.append(svg_text(x, top - 14, str(t), "middle", 10, fill="#57606a"))
    for n, p in enumerate(rows):
        y = top + n * row_h
        cy = y + row_h / 2
        style = data.tier_style(p.tier)
        if n % 2 == 0:
            out.append(svg_rect(0, y, width, row_h, "#f6f8fa"))
        out.append(svg_text(label_w - 8, cy, truncate(province_label(p), 30), "end", 11, fill="#1f2328",
                            title=p.name))
        if p.pcri is not None:
            w = bar_w * min(max(p.pcri, 0), 100) / 100
            tip = f"{p.name}: PCRI {fmt_num(p.pcri, data.pcri_decimals)}" + ("" if p.ranked else " (không xếp hạng)")
            extra = "" if p.ranked else ' stroke="#8c959f" stroke-dasharray="3 2"'
            out.append(svg_rect(label_w, y + 3, w, row_h - 6, style.colour, tip, extra))
            out.append(svg_text(label_w + w + 4, cy, fmt_num(p.pcri, data.pcri_decimals), "start", 10,
                                fill="#1f2328"))
        else:
            out.append(svg_text(label_w + 4, cy, "không có PCRI", "start", 10, fill=NEUTRAL))
        iv = intervals.get(p.code)
        if iv and iv.p05 is not None and iv.p95 is not None:
            tip = (f"{p.name}: thứ hạng {p.rank if p.ranked else DASH}, trung vị {fmt_num(iv.median, 1)}, "
                   f"khoảng {interval_text(iv)}")
            out.append(svg_line(rank_x(iv.p05), cy, rank_x(iv.p95), cy, _mix(style.colour, "#000000", 0.15), 4,
                                ' stroke-linecap="round"'))
            if iv.median is not None:
                out.append(svg_circle(rank_x(iv.median), cy, 3.6, "#1f2328", title=tip))
            nominal = iv.nominal if iv.nominal is not None else p.rank
            if nominal is not None:
                out.append(svg_circle(rank_x(nominal), cy, 3.2, "#ffffff", "#1f2328"))
    out.append(svg_text(label_w + bar_w / 2, 8, "PCRI (0–100)", "middle", 11, "bold", "#57606a"))
    chart = svg(width, height, out, f"Biểu đồ PCRI của {len(rows)} tỉnh, thành phố, xếp từ cao xuống thấp")
    legend = "".join(f"<li>{tier_chip(t)}</li>" for t in data.tiers.values())
    caption = "Màu cột theo nhóm; cột viền nét đứt: không được xếp hạng."
    if intervals:
        caption += (" Bên phải: khoảng thứ hạng 5%–95% (thanh), thứ hạng trung vị (chấm đen) và thứ hạng công bố "
                    "(chấm trắng) khi thay đổi trọng số, cách chuẩn hóa và cách tổng hợp.")
    body = f'<figure>{chart}<figcaption><ul class="legend">{legend}</ul>{caption}</figcaption></figure>'
    return section("bieu-do", "Biểu đồ PCRI", body)


def domain_heatmap(data: ReportData) -> str:
    """Provinces (by rank) x domains, cells coloured by score, with a legend."""
    domains = data.m.domains
    label_w, cell_w, cell_h, head_line = 200.0, 116.0, 20.0, 12.5
    head_lines = [[d.code] + wrap(d.name_vi, 20, 4) for d in domains]
    head_h = head_line * max(len(h) for h in head_lines) + 10
    pcri_w = 64.0
    legend_h = 48.0
    width = label_w + cell_w * len(domains) + pcri_w
    height = head_h + cell_h * len(data.provinces) + legend_h
    out = []
    for n, (d, lines) in enumerate(zip(domains, head_lines)):
        x = label_w + n * cell_w + cell_w / 2
        for k, line in enumerate(lines):
            out.append(svg_text(x, 6 + k * head_line, line, "middle", 10.5 if k else 11, "bold" if k == 0 else None,
                                "#1f2328", title=d.name_vi))
    out.append(svg_text(label_w + cell_w * len(domains) + pcri_w / 2, 6, "PCRI", "middle", 11, "bold"))
    for r, p in enumerate(data.provinces):
        y = head_h + r * cell_h
        out.append(svg_text(label_w - 8, y + cell_h / 2, truncate(province_label(p), 30), "end", 11, title=p.name))
        for c, d in enumerate(domains):
            score = data.score(p.code, d.code)
            fill = score_colour(score)
            x = label_w + c * cell_w
            out.append(svg_rect(x, y, cell_w - 1, cell_h - 1, fill,
                                f"{p.name} – {d.name_vi}: {fmt_num(score, 1)}"))
            out.append(svg_text(x + cell_w / 2, y + cell_h / 2, fmt_num(score, 1), "middle", 10,
                                fill="#ffffff" if _is_dark(fill) else "#1f2328"))
        out.append(svg_text(label_w + cell_w * len(domains) + pcri_w / 2, y + cell_h / 2,
                            fmt_num(p.pcri, data.pcri_decimals), "middle", 10, "bold"))
    out.append(_score_legend(label_w, height - legend_h + 14, 300.0))
    chart = svg(width, height, out, "Biểu đồ nhiệt điểm lĩnh vực theo tỉnh, thành phố")
    caption = ("Hàng: tỉnh, thành phố theo thứ hạng; cột: năm lĩnh vực. Điểm 0–100, màu càng đậm điểm càng cao; "
               "ô xám: không có điểm.")
    return section("linh-vuc", "Điểm lĩnh vực theo tỉnh, thành phố",
                   f"<figure>{chart}<figcaption>{caption}</figcaption></figure>")


def _score_legend(x: float, y: float, width: float) -> str:
    steps = 50
    out = [svg_text(x - 8, y + 6, "Điểm", "end", 10, "bold")]
    for s in range(steps):
        out.append(svg_rect(x + width * s / steps, y, width / steps + 0.5, 12, score_colour(100 * (s + 0.5) / steps)))
    for tick in (0, 25, 50, 75, 100):
        tx = x + width * tick / 100
        out.append(svg_line(tx, y + 12, tx, y + 16, "#57606a", 1))
        out.append(svg_text(tx, y + 24, str(tick), "middle", 10, fill="#57606a"))
    out.append(svg_rect(x + width + 24, y, 18, 12, MISSING_FILL))
    out.append(svg_text(x + width + 48, y + 6, "không có điểm", "start", 10, fill="#57606a"))
    return "".join(out)


def domain_mini_chart(data: ReportData, p: ProvinceRow) -> str:
    """The province's domain scores (bars) against the national median (tick)."""
    label_w, bar_w, value_w, row_h = 172.0, 124.0, 36.0, 18.0
    domains = data.m.domains
    height = row_h * len(domains) + 16
    width = label_w + bar_w + value_w
    colour = data.tier_style(p.tier).colour
    out = []
    for n, d in enumerate(domains):
        y = n * row_h
        cy = y + row_h / 2
        score = data.score(p.code, d.code)
        median = data.medians.get(d.code)
        out.append(svg_text(label_w - 6, cy, truncate(d.name_vi, 24), "end", 11, title=d.name_vi))
        out.append(svg_rect(label_w, y + 3, bar_w, row_h - 6, "#eef1f4"))
        if score is not None:
            out.append(svg_rect(label_w, y + 3, bar_w * min(max(score, 0), 100) / 100, row_h - 6,
                                _mix(colour, "#000000", 0.1), f"{d.name_vi}: {fmt_num(score, 1)}"))
        if median is not None:
            mx = label_w + bar_w * min(max(median, 0), 100) / 100
            out.append(svg_line(mx, y + 1, mx, y + row_h - 1, "#1f2328", 2))
        out.append(svg_text(label_w + bar_w + 4, cy, fmt_num(score, 1), "start", 11))
    legend_y = height - 7
    out.append(svg_line(label_w, legend_y - 5, label_w, legend_y + 5, "#1f2328", 2))
    out.append(svg_text(label_w + 5, legend_y, "trung vị toàn quốc", "start", 10, fill="#57606a"))
    return svg(width, height, out, f"Điểm lĩnh vực của {p.name} so với trung vị toàn quốc", "chart mini")


def _gaps_html(data: ReportData, gaps: pd.DataFrame, by_code: dict[str, Indicator], p: ProvinceRow) -> str:
    own = gaps[(gaps["province_code"] == p.code) & (gaps["gap"] > 0)].sort_values("relative_gap", ascending=False)
    if gaps[gaps["province_code"] == p.code].empty:
        return '<p class="muted">Không có số liệu các chỉ số có mục tiêu quốc gia.</p>'
    if own.empty:
        return "<p>Đạt mục tiêu quốc gia ở mọi chỉ số có mục tiêu và có số liệu.</p>"
    items = []
    for r in own.head(3).to_dict("records"):
        ind = by_code[r["indicator_code"]]
        unit = unit_suffix(ind.unit_vi)
        items.append(
            f"<li>{esc(ind.name_vi)}: <strong>{fmt_value(r['value'])}{esc(unit)}</strong> "
            f'<span class="muted">(mục tiêu {r["target_year"]}: {fmt_value(r["target"])}{esc(unit)}; '
            f"còn cách {fmt_value(r['gap'])})</span></li>"
        )
    year = int(own["target_year"].iloc[0])
    return (f'<h4>Ba chỉ số còn xa mục tiêu quốc gia nhất</h4><ol class="gaps" data-year="{year}">'
            f'{"".join(items)}</ol>')


PROFILE_LABELS_VI = {
    "summary": "Tóm tắt", "text": "Nhận xét", "notes": "Ghi chú", "label": "Đánh giá",
    "strengths": "Điểm mạnh", "best": "Chỉ số tốt nhất", "top": "Chỉ số tốt nhất",
    "weaknesses": "Điểm cần cải thiện", "worst": "Chỉ số cần cải thiện", "bottom": "Chỉ số cần cải thiện",
    "drivers": "Yếu tố chính", "indicator_code": "Chỉ số", "indicator": "Chỉ số", "domain_code": "Lĩnh vực",
    "value": "Giá trị", "score": "Điểm", "rank": "Thứ hạng", "national_rank": "Thứ hạng toàn quốc",
    "gap": "Khoảng cách", "target": "Mục tiêu", "median": "Trung vị",
}


def profile_html(profile: Any, names: Mapping[str, str] | None = None, depth: int = 0) -> str:
    """A province profile of any shape: text, number, list, list of records, mapping or table.

    ``names`` maps indicator and domain codes to their Vietnamese names.
    """
    names = names or {}
    if isinstance(profile, pd.DataFrame):
        return _records_table(profile.to_dict("records"), names)
    if isinstance(profile, Mapping):
        if depth > 3:
            return esc(profile)
        parts = "".join(f"<dt>{esc(PROFILE_LABELS_VI.get(str(k), k))}</dt><dd>{profile_html(v, names, depth + 1)}</dd>"
                        for k, v in profile.items())
        return f'<dl class="profile">{parts}</dl>'
    if isinstance(profile, (list, tuple)):
        if profile and all(isinstance(v, Mapping) for v in profile):
            return _records_table(list(profile), names)
        items = "".join(f"<li>{profile_html(v, names, depth + 1)}</li>" for v in profile)
        return f'<ul class="plain">{items}</ul>'
    if is_missing(profile):
        return DASH
    return _profile_cell(profile, names)


def _records_table(records: list[Mapping[str, Any]], names: Mapping[str, str]) -> str:
    keys: list[str] = []
    for r in records:
        keys += [str(k) for k in r if str(k) not in keys]
    headers = [PROFILE_LABELS_VI.get(k, k) for k in keys]
    rows = ("<tr>" + "".join(f"<td>{_profile_cell(r.get(k), names)}</td>" for k in keys) + "</tr>" for r in records)
    return table(headers, rows, "data small")


def _profile_cell(value: Any, names: Mapping[str, str] | None = None) -> str:
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, (list, tuple, Mapping, pd.DataFrame)):
        return profile_html(value, names, 3)
    f = as_float(value) if not isinstance(value, str) else None
    if f is not None:
        return fmt_num(f, 0 if f.is_integer() else 2)
    text = as_text(value)
    if names and text in names:
        return f'{esc(names[text])} <span class="muted">({esc(text)})</span>'
    return esc(text) if text else DASH


def _commune_summary(data: ReportData, p: ProvinceRow) -> str:
    if data.communes is None:
        return ""
    own = data.communes[data.communes["province_code"].astype(str) == p.code]
    if own.empty:
        return ""
    recognised = int(own["recognised"].map(lambda v: as_text(v).lower() in ("true", "1", "1.0")).sum()) \
        if "recognised" in own.columns else 0
    return (f'<p class="small">Xã, phường được công nhận phù hợp với trẻ em: <strong>{recognised}/{len(own)}</strong>'
            f' · <a href="#xa-{esc(p.code)}">xếp hạng cấp xã</a></p>')


def province_cards(data: ReportData) -> str:
    gaps = target_gaps(data.indicator_values, data.m, data.period)
    gaps["province_code"] = gaps["province_code"].astype(str)
    by_code = {i.code: i for i in data.m.indicators}
    names = {i.code: i.name_vi for i in data.m.indicators} | {d.code: d.name_vi for d in data.m.domains}
    n_ranked = len(data.ranked)
    cards = []
    for p in data.provinces:
        style = data.tier_style(p.tier)
        rank = (f"Thứ hạng <strong>{p.rank}/{n_ranked}</strong>" if p.ranked
                else f"<strong>Không xếp hạng</strong>: {esc(p.reason) or 'không đủ số liệu'}")
        facts = [rank, f"PCRI <strong>{fmt_num(p.pcri, data.pcri_decimals)}</strong>",
                 f"Thay đổi {rank_change_html(p.rank_change)}",
                 f"Chỉ số có dữ liệu {indicators_used_text(p)}"]
        iv = data.intervals.get(p.code)
        if iv is not None:
            label = f" ({esc(iv.label)})" if iv.label else ""
            facts.append(f"Khoảng thứ hạng 5%–95%: {interval_text(iv)}{label}")
        profile = data.profiles.get(p.code, data.profiles.get(p.name))
        profile_part = (f'<div class="profile-box"><h4>Hồ sơ</h4>{profile_html(profile, names)}</div>'
                        if profile is not None else "")
        cards.append(
            f'<article class="card" id="tinh-{esc(p.code)}" style="border-top-color:{style.colour}">'
            f'<header><h3>{esc(p.name)}</h3>{tier_chip(style)}</header>'
            f'<p class="facts">{" · ".join(facts)}</p>'
            f"{domain_mini_chart(data, p)}"
            f"{_gaps_html(data, gaps, by_code, p)}"
            f"{profile_part}{_commune_summary(data, p)}"
            "</article>"
        )
    year = target_year(data.period)
    intro = ("Điểm năm lĩnh vực của từng tỉnh (thanh) so với trung vị toàn quốc (vạch đen), và ba chỉ số còn xa "
             f"mục tiêu quốc gia {year} nhất (khoảng cách tính theo tỷ lệ của khoảng ngưỡng chuẩn hóa, để so sánh "
             "được giữa các chỉ số khác đơn vị).")
    return section("tinh", "Từng tỉnh, thành phố", f'<div class="cards">{"".join(cards)}</div>', intro)


def _bullet(ind: Indicator, value: float | None, t25: float | None, t30: float | None, ok: bool | None) -> str:
    """Value (dot) against the targets (ticks) on the indicator's goalpost scale."""
    w, h, pad = 150.0, 18.0, 5.0
    lo, hi = ind.goal_low, ind.goal_high
    points = [v for v in (value, t25, t30) if v is not None]
    lo, hi = min([lo] + points), max([hi] + points)
    x = lambda v: pad + (w - 2 * pad) * (v - lo) / (hi - lo)  # noqa: E731
    out = [svg_rect(pad, 7, w - 2 * pad, 4, "#d0d7de")]
    if t30 is not None:
        out.append(svg_line(x(t30), 2, x(t30), 16, "#57606a", 1.5, ' stroke-dasharray="2 1.5"'))
    if t25 is not None:
        out.append(svg_line(x(t25), 2, x(t25), 16, "#1f2328", 2))
    if value is not None:
        colour = GOOD if ok else (BAD if ok is False else "#0969da")
        out.append(svg_circle(x(value), 9, 4.5, colour, "#ffffff"))
    return svg(w, h, out, f"{ind.name_vi}: giá trị so với mục tiêu", "chart bullet")


def indicators_vs_targets(data: ReportData) -> str:
    national = national_indicator_values(data.indicator_values, data.m).set_index("indicator_code")
    year = target_year(data.period)
    prov = _province_indicator_rows(data.indicator_values)
    n_prov = len(data.provinces)
    rows = []
    for d in data.m.domains:
        rows.append(f'<tr class="group"><th colspan="6" scope="rowgroup">{esc(d.code)}. {esc(d.name_vi)}</th></tr>')
        for ind in (i for i in data.m.indicators if i.domain == d.code):
            value = as_float(national.at[ind.code, "value"]) if ind.code in national.index else None
            contributing = int(national.at[ind.code, "provinces"]) if ind.code in national.index else 0
            target = indicator_target(ind, year)
            meeting = DASH
            if target is not None and not prov.empty and {"indicator_code", "value"} <= set(prov.columns):
                vals = [as_float(v) for v in prov.loc[prov["indicator_code"].astype(str) == ind.code, "value"]]
                vals = [v for v in vals if v is not None]
                meeting = f"{sum(bool(meets(ind, v, target[1])) for v in vals)}/{len(vals)}" if vals else DASH
            ok25, ok30 = meets(ind, value, ind.target_2025), meets(ind, value, ind.target_2030)
            arrow = "↑ càng cao càng tốt" if ind.direction == "higher" else "↓ càng thấp càng tốt"
            coverage = ("" if contributing >= n_prov
                        else f'<br><span class="muted small">{contributing}/{n_prov} tỉnh có số liệu</span>')
            rows.append(
                "<tr>"
                f'<td>{esc(ind.name_vi)}<br><span class="muted small">{esc(ind.code)} · {arrow}</span></td>'
                f'<td class="num"><strong>{fmt_value(value)}</strong><br><span class="muted small">'
                f"{esc(ind.unit_vi)}</span>{coverage}</td>"
                f'<td class="num">{_target_cell(ind.target_2025, ok25)}</td>'
                f'<td class="num">{_target_cell(ind.target_2030, ok30)}</td>'
                f'<td class="num">{meeting}</td>'
                f"<td>{_bullet(ind, value, ind.target_2025, ind.target_2030, ok25 if year == 2025 else ok30)}</td>"
                "</tr>"
            )
    headers = ["Chỉ số", "Toàn quốc", "Mục tiêu 2025", "Mục tiêu 2030", f"Số tỉnh đạt mục tiêu {year}",
               "So với mục tiêu"]
    intro = ("Giá trị toàn quốc được tính từ số đếm: tổng tử số của các tỉnh / tổng mẫu số của các tỉnh × hệ số "
             "(không lấy trung bình các tỷ lệ của tỉnh). Mục tiêu theo Chương trình hành động quốc gia vì trẻ em "
             "giai đoạn 2021–2030; chỉ số không có mục tiêu quốc gia ghi “–”. Biểu đồ: giá trị toàn quốc (chấm: "
             "xanh lá đạt, đỏ chưa đạt, xanh dương không có mục tiêu), mục tiêu 2025 (vạch liền) và 2030 (vạch đứt) "
             "trên thang ngưỡng chuẩn hóa.")
    return section("chi-so", "Chỉ số so với mục tiêu quốc gia", table(headers, rows, "data targets", {1, 2, 3, 4}),
                   intro)


def _target_cell(target: float | None, ok: bool | None) -> str:
    if target is None:
        return f'<span class="muted">{DASH}</span>'
    return f"{fmt_value(target)}<br>{met_badge(ok)}"


def commune_sections(data: ReportData) -> str:
    if data.communes is None:
        return ""
    df = data.communes.copy()
    df["province_code"] = df["province_code"].astype(str)
    parts = []
    for p in data.provinces:
        own = df[df["province_code"] == p.code]
        if own.empty:
            continue
        own = own.assign(_r=pd.to_numeric(own.get("rank_in_province"), errors="coerce"))
        own = own.sort_values(["_r", "commune_name"], na_position="last")
        rows = []
        recognised = 0
        for r in own.to_dict("records"):
            rec = r.get("recognised")
            rec_bool = None if is_missing(rec) else as_text(rec).lower() in ("true", "1", "1.0")
            recognised += bool(rec_bool)
            style = data.tier_style(as_int(r.get("tier")) if as_int(r.get("rank_in_province")) is not None else None)
            rows.append(
                "<tr>"
                f'<td class="num">{as_int(r.get("rank_in_province")) or DASH}</td>'
                f'<td class="code">{esc(r.get("commune_code"))}</td><td>{esc(r.get("commune_name"))}</td>'
                f'<td class="num">{fmt_num(r.get("index"), data.pcri_decimals)}</td>'
                f'<td><span class="swatch" style="background:{style.colour}"></span>{esc(style.name)}</td>'
                f"<td>{met_badge(rec_bool)}</td><td>{esc(r.get('reason'))}</td>"
                "</tr>"
            )
        headers = ["Thứ hạng trong tỉnh", "Mã xã", "Xã, phường, đặc khu", "Chỉ số", "Nhóm",
                   "Công nhận phù hợp với trẻ em", "Ghi chú"]
        parts.append(
            f'<div class="commune-block" id="xa-{esc(p.code)}"><h3>{esc(p.name)}</h3>'
            f'<p class="small">{len(own)} xã, phường, đặc khu; {recognised} được công nhận phù hợp với trẻ em.</p>'
            f'{table(headers, rows, "data small", {0, 3})}</div>'
        )
    intro = ("Các xã, phường, đặc khu được xếp hạng trong phạm vi tỉnh, thành phố của mình, cùng tình trạng công "
             "nhận xã, phường phù hợp với trẻ em (Quyết định 06/QĐ-TTg).")
    return section("cap-xa", "Xếp hạng cấp xã trong từng tỉnh, thành phố", "".join(parts), intro)


def _truthy(value: Any) -> bool:
    return as_text(value).strip().lower() in ("true", "1", "1.0", "yes")


def _checks(quality: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Check rows from ``quality["checks"]`` (list of mappings or DataFrame; a count gives no rows)."""
    checks = quality.get("checks")
    if isinstance(checks, pd.DataFrame):
        return checks.to_dict("records")
    if isinstance(checks, (list, tuple)):
        return [dict(c) for c in checks if isinstance(c, Mapping)]
    return []


def _check_code(check: Mapping[str, Any]) -> str:
    return as_text(check.get("code")) or as_text(check.get("check_code"))


def _is_blocking(check: Mapping[str, Any]) -> bool:
    return as_text(check.get("severity")) == "blocking"


def quality_passed(quality: Mapping[str, Any]) -> bool | None:
    """Overall result: ``passed`` when it is a boolean, else derived from the check rows or the counts.

    (A release manifest's summary carries ``passed`` as the number of checks passed.)
    """
    value = quality.get("passed")
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    checks = _checks(quality)
    if checks:
        return not any(not _truthy(c.get("passed")) and _is_blocking(c) and not _truthy(c.get("waived"))
                       for c in checks)
    if "failed_blocking" in quality:
        return (as_int(quality.get("failed_blocking")) or 0) == 0
    return None


def quality_badge(passed: bool | None) -> str:
    if passed is None:
        return '<span class="badge">Không rõ</span>'
    return '<span class="badge ok">Đạt</span>' if passed else '<span class="badge bad">Không đạt</span>'


QUALITY_LABELS_VI = {
    "checks": "Số kiểm tra", "passed": "Số kiểm tra đạt", "failed": "Số kiểm tra không đạt",
    "failed_blocking": "Không đạt, loại chặn phát hành", "failed_warning": "Không đạt, loại cảnh báo",
    "failed_waived": "Không đạt nhưng được miễn trừ", "run_id": "Mã lần chạy", "period": "Kỳ báo cáo",
    "checked_at": "Thời điểm kiểm tra", "evaluated_at": "Thời điểm kiểm tra", "waived": "Được miễn trừ",
}


def _quality_row(check: Mapping[str, Any]) -> str:
    ok = _truthy(check.get("passed"))
    waived = not ok and _truthy(check.get("waived"))
    blocking = _is_blocking(check)
    cls = "ok" if ok else ("warn" if waived or not blocking else "bad")
    result = "Đạt" if ok else ("Miễn trừ" if waived else "Không đạt")
    failures = as_int(check.get("failures"))
    return (
        f'<tr class="q-{cls}"><td class="code">{esc(_check_code(check))}</td>'
        f'<td>{"Chặn phát hành" if blocking else "Cảnh báo"}</td>'
        f'<td><span class="badge {cls}">{result}</span></td>'
        f'<td class="num">{failures if failures is not None else DASH}</td><td>{esc(check.get("message"))}</td></tr>'
    )


def quality_section(data: ReportData) -> str:
    if data.quality is None:
        return ""
    q = data.quality
    checks = _checks(q)
    passed = quality_passed(q)
    if passed is None:
        status = '<p class="status">Không có kết quả kiểm tra tổng hợp.</p>'
    elif passed:
        status = '<p class="status ok">Đạt: không có kiểm tra chặn phát hành nào thất bại.</p>'
    else:
        status = '<p class="status bad">Không đạt: có kiểm tra chặn phát hành thất bại.</p>'
    body = [status]
    if checks:
        failed = [c for c in checks if not _truthy(c.get("passed"))]
        n_blocking = sum(_is_blocking(c) for c in failed)
        body.append(f"<p>{len(checks)} kiểm tra; {n_blocking} kiểm tra chặn phát hành và "
                    f"{len(failed) - n_blocking} cảnh báo không đạt.</p>")
    scalars = [(k, v) for k, v in q.items()
               if not (k == "checks" and checks) and not (k == "passed" and isinstance(v, bool))
               and not isinstance(v, (list, tuple, Mapping, pd.DataFrame))]
    if scalars:
        body.append('<dl class="kv">' + "".join(
            f"<dt>{esc(QUALITY_LABELS_VI.get(str(k), k))}</dt><dd>{_profile_cell(v)}</dd>" for k, v in scalars
        ) + "</dl>")
    if checks:
        order = sorted(checks, key=lambda c: (_truthy(c.get("passed")), not _is_blocking(c), _check_code(c)))
        body.append(table(["Mã kiểm tra", "Mức độ", "Kết quả", "Số lỗi", "Mô tả"], map(_quality_row, order),
                          numeric={3}))
    return section("chat-luong", "Chất lượng số liệu", "".join(body))


def method_section(data: ReportData) -> str:
    m = data.m
    items = "".join(f"<dt>{esc(label)}</dt><dd>{esc(text)}</dd>" for label, text in method_summary(m)
                    if label not in ("Nhóm", "Lĩnh vực và trọng số"))
    tiers = "".join(f"<li>{tier_chip(data.tiers[t.tier])} {esc(line.split(': ', 1)[1])}</li>"
                    for t, line in zip(sorted(m.tiers, key=lambda t: t.tier), tier_rule_lines(m)))
    rows = []
    for d in m.domains:
        rows.append(f'<tr class="group"><th colspan="6" scope="rowgroup">{esc(d.code)}. {esc(d.name_vi)} '
                    f"(trọng số lĩnh vực {fmt_num(d.weight, 1)})</th></tr>")
        for ind in (i for i in m.indicators if i.domain == d.code):
            direction = "càng cao càng tốt" if ind.direction == "higher" else "càng thấp càng tốt"
            formula = f"{' + '.join(ind.numerator)} / {' + '.join(ind.denominator)}"
            if ind.multiplier != 1:
                formula += f" × {fmt_num(ind.multiplier, 0)}"
            rows.append(
                f"<tr><td>{esc(ind.name_vi)}</td><td>{esc(ind.unit_vi)}</td>"
                f'<td class="nowrap">{direction}</td>'
                f'<td class="num">{fmt_value(ind.goal_low)} – {fmt_value(ind.goal_high)}</td>'
                f'<td class="num">{fmt_num(ind.weight, 1)}</td>'
                f'<td class="small code">{esc(formula)}</td></tr>'
            )
    suppressed = _suppressed_count(data.indicator_values)
    suppressed_html = (f"<p>Trong kỳ này, {suppressed} giá trị cấp xã đã được ẩn theo quy tắc trên.</p>"
                       if suppressed else "") + _protection_html(data.disclosure)
    units_html = f"<h3>Đơn vị hành chính</h3><p>{esc(data.units_note)}</p>" if data.units_note else ""
    body = (f'<dl class="kv">{items}</dl>'
            + units_html
            + f'<h3>Nhóm</h3><ul class="plain">{tiers}</ul>'
            '<h3>Danh mục chỉ số</h3>'
            + table(["Chỉ số", "Đơn vị", "Chiều", "Ngưỡng chuẩn hóa", "Trọng số", "Công thức"], rows, "data small",
                    {3, 4})
            + suppressed_html)
    return section("phuong-phap", "Ghi chú phương pháp", body)


def _protection_html(figures: pd.DataFrame | None) -> str:
    """How the release was protected against a reader who combines every published file of the period."""
    if figures is None or not len(figures):
        return ""
    items = "".join(f"<li>{esc(r.label_vi)}: {fmt_num(float(r.cells), 0)}</li>" for r in figures.itertuples())
    return ("<p>Trước khi công bố, bản công bố được kiểm tra như một người đọc kết hợp mọi tệp đã công bố của kỳ "
            "(kể cả các phiên bản trước): không ô bị ẩn nào có thể suy ra chính xác.</p>"
            f'<ul class="plain">{items}</ul>')


def _suppressed_count(indicator_values: pd.DataFrame) -> int:
    if "suppressed" not in indicator_values.columns:
        return 0
    flags = indicator_values["suppressed"].map(lambda v: as_text(v).lower() in ("true", "1", "1.0"))
    return int(flags.sum())


def footer_html(data: ReportData) -> str:
    return (f'<footer><p>{esc(COUNTS_TEXT)}</p><p>Phương pháp phiên bản {esc(data.m.version)} · SHA-256 '
            f'<span class="code">{esc(data.m.sha256[:16])}…</span> · Kỳ báo cáo {esc(data.period)}.</p></footer>')


# --------------------------------------------------------------------------- page

CSS = """
:root { --ink:#1f2328; --muted:#57606a; --line:#d0d7de; --bg:#ffffff; --soft:#f6f8fa; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.5 "Noto Sans", "Segoe UI", Roboto, "Helvetica Neue", Arial, "DejaVu Sans", sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; }
header.top { border-bottom: 4px solid #1a9850; padding-bottom: 12px; margin-bottom: 12px; }
.kicker { margin: 0; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; font-size: 12px; }
h1 { font-size: 26px; line-height: 1.25; margin: 4px 0 6px; }
h2 { font-size: 20px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 16px 0 6px; }
h4 { font-size: 13px; margin: 10px 0 4px; }
.meta { margin: 0; color: var(--muted); }
.lead { font-size: 16px; }
.intro { color: var(--muted); margin-top: 0; }
.muted { color: var(--muted); }
.small { font-size: 12px; }
.strong { font-weight: 600; }
.code { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 12px; }
a { color: #0969da; text-decoration: none; }
nav.toc ol { display: flex; flex-wrap: wrap; gap: 4px 18px; padding: 0; margin: 8px 0; list-style: none;
  counter-reset: toc; }
nav.toc li { counter-increment: toc; }
nav.toc li::before { content: counter(toc) ". "; color: var(--muted); }
.cols { display: grid; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); gap: 8px 24px; }
ul.plain, ol.plain { padding-left: 20px; margin: 4px 0; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
table.data th, table.data td { padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top;
  text-align: left; }
table.data thead th { background: #eef1f4; font-size: 12px; position: sticky; top: 0; }
table.data td.num { text-align: right; white-space: nowrap; }
table.data th.num { text-align: right; }
table.small td, table.small th { font-size: 12px; padding: 2px 6px; }
tr.group th { background: var(--soft); font-size: 13px; text-align: left; padding: 6px 8px; }
.chip { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; white-space: nowrap; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; }
ul.legend { list-style: none; padding: 0; margin: 4px 0; display: flex; flex-wrap: wrap; gap: 6px; }
.up { color: #1a7f37; font-weight: 600; }
.down { color: #c62828; font-weight: 600; }
.badge { display: inline-block; padding: 0 7px; border-radius: 4px; font-size: 12px; font-weight: 600;
  white-space: nowrap; }
.badge.ok { background: #dafbe1; color: #1a7f37; }
.badge.bad { background: #ffebe9; color: #c62828; }
.badge.warn { background: #fff8c5; color: #7d4e00; }
.status { padding: 8px 12px; border-radius: 6px; font-weight: 600; }
.status.ok { background: #dafbe1; color: #116329; }
.status.bad { background: #ffebe9; color: #a40e26; }
tr.q-bad td { background: #fff5f5; }
tr.q-warn td { background: #fffbe6; }
figure { margin: 8px 0 16px; }
figcaption { color: var(--muted); font-size: 12px; }
svg.chart { max-width: 100%; height: auto; display: block; }
svg.bullet { display: inline-block; vertical-align: middle; max-width: none; }
td.name, .nowrap { white-space: nowrap; }
td.reason { min-width: 200px; }
table.targets td:first-child { min-width: 280px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-top: 6px solid #999; border-radius: 6px; padding: 8px 12px;
  break-inside: avoid; page-break-inside: avoid; }
.card header { display: flex; justify-content: space-between; align-items: baseline; gap: 8px; }
.card h3 { margin: 2px 0; }
.card .facts { font-size: 12px; margin: 4px 0 6px; }
.card ol.gaps { padding-left: 18px; margin: 2px 0; font-size: 12px; }
.profile-box { font-size: 12px; border-top: 1px dashed var(--line); margin-top: 6px; }
dl.kv { display: grid; grid-template-columns: minmax(140px, 220px) 1fr; gap: 4px 16px; }
dl.kv dt { font-weight: 600; }
dl.kv dd { margin: 0; }
dl.profile dt { font-weight: 600; margin-top: 4px; }
dl.profile dd { margin: 0 0 0 12px; }
.commune-block { break-inside: avoid-page; }
footer { margin-top: 32px; border-top: 1px solid var(--line); color: var(--muted); font-size: 12px; }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { font-size: 11px; }
  main { max-width: none; padding: 0; }
  nav.toc { display: none; }
  h2 { break-after: avoid; }
  section { break-before: auto; }
  #tinh, #chi-so, #cap-xa, #phuong-phap { break-before: page; }
  table.data thead th { position: static; }
  table.data th, table.data td { padding: 2px 4px; }
  td.reason { min-width: 110px; }
  .chip { font-size: 10px; padding: 0 5px; }
  tr { break-inside: avoid; }
  a { color: inherit; }
}
"""


def render_report_html(period: str, methodology: Methodology, province_ranking: pd.DataFrame,
                       domain_scores: pd.DataFrame, indicator_values: pd.DataFrame,
                       quality: Mapping[str, Any] | None = None, uncertainty: pd.DataFrame | None = None,
                       profiles: Mapping[str, Any] | None = None, commune_ranking: pd.DataFrame | None = None,
                       previous_period: str | None = None, units_note: str | None = None,
                       disclosure: pd.DataFrame | None = None) -> str:
    """The report as one HTML string (see ``write_report_html``)."""
    data = _prepare(period, methodology, province_ranking, domain_scores, indicator_values, quality, uncertainty,
                    profiles, commune_ranking, previous_period)
    data.units_note = units_note
    data.disclosure = disclosure
    title = f"Xếp hạng PCRI {data.period} – {methodology.name_vi}"
    sections = [
        summary_html(data), ranking_table_html(data), pcri_bar_chart(data), domain_heatmap(data),
        province_cards(data), indicators_vs_targets(data), commune_sections(data), quality_section(data),
        method_section(data),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="vi">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="cri-pipeline publish.report">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"{header_html(data)}\n{nav_html(data)}\n" + "\n".join(s for s in sections if s)
        + f"\n{footer_html(data)}\n</main>\n</body>\n</html>\n"
    )


def write_report_html(path: str | os.PathLike, period: str, methodology: Methodology,
                      province_ranking: pd.DataFrame, domain_scores: pd.DataFrame, indicator_values: pd.DataFrame,
                      quality: Mapping[str, Any] | None = None, uncertainty: pd.DataFrame | None = None,
                      profiles: Mapping[str, Any] | None = None, commune_ranking: pd.DataFrame | None = None,
                      previous_period: str | None = None, units_note: str | None = None,
                      disclosure: pd.DataFrame | None = None) -> Path:
    """Write the ranking report of ``period`` to ``path`` (one self-contained UTF-8 HTML file).

    Inputs are the release tables as DataFrames; ``quality``, ``uncertainty``,
    ``profiles`` and ``commune_ranking`` add their sections when given. The file
    is written to a temporary name beside ``path`` and renamed, so a reader never
    sees half a report. Returns the path.
    """
    text = render_report_html(period, methodology, province_ranking, domain_scores, indicator_values, quality,
                              uncertainty, profiles, commune_ranking, previous_period, units_note, disclosure)
    return write_bytes_atomic(Path(path), text.encode("utf-8"))


def write_bytes_atomic(path: Path, payload: bytes) -> Path:
    """Write ``payload`` to a temporary file beside ``path`` and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
