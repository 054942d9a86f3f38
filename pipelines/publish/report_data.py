"""The ranking report's data: the release tables normalised, targets, national figures and the method text.

No HTML here: ``pipelines/publish/report_views.py`` turns this data into what
the templates (``pipelines/publish/templates``) show, and
``pipelines/publish/report.py`` renders them. ``method_summary`` is shared with
the workbook (``excel.py``).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipelines import formats
from pipelines.methodology import Indicator, Methodology
from pipelines.publish.method_notes import method_note_pairs, method_text
from pipelines.tiers import tier_rule_texts

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
    return None if is_missing(value) else formats.as_number(value)


def as_int(value: Any) -> int | None:
    f = as_float(value)
    return None if f is None else int(round(f))


def as_text(value: Any) -> str:
    return "" if is_missing(value) else str(value)


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
    release: str | None = None  # "v3" when the report is written into a release
    released_at: str | None = None  # the release's creation time (UTC ISO)

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


def prepare(period: str, methodology: Methodology, province_ranking: pd.DataFrame, domain_scores: pd.DataFrame,
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


# ---------------------------------------------- method text (shared with excel.py); the words: templates/method_notes.txt

def aggregation_text(methodology: Methodology) -> str:
    method = methodology.method
    geometric = method.get("aggregation") == "geometric"
    floor = formats.number(float(method.get("geometric_floor", 1.0)), 1) if geometric else ""
    return method_text("aggregation", geometric=geometric, floor=floor)


def ranking_rule_text(methodology: Methodology) -> str:
    method = methodology.method
    return method_text("ranking_rule", share=formats.percent(float(method["min_indicator_share"])),
                       per_domain=int(method.get("min_indicators_per_domain", 1)),
                       decimals=int(method.get("rank_decimals", 2)))


def tier_rule_lines(methodology: Methodology) -> list[str]:
    """One line per tier (by share, rank range or score; pipelines/tiers.py), then the rule for ties."""
    return tier_rule_texts(sorted(methodology.tiers, key=lambda t: t.tier))


def disclosure_text(methodology: Methodology) -> str:
    sensitive = [e.name_vi[:1].lower() + e.name_vi[1:] for e in methodology.data_elements if e.sensitive]
    return method_text("disclosure", sensitive=sensitive, low=int(methodology.disclosure.get("suppress_min", 1)),
                       high=int(methodology.disclosure.get("suppress_max", 4)))


def normalisation_text(methodology: Methodology) -> str:
    return method_text("normalisation", kind=str(methodology.method.get("normalisation")))


def method_summary(methodology: Methodology) -> list[tuple[str, str]]:
    """The method in Vietnamese as (label, text) pairs; used by the report and the workbook."""
    domains = "; ".join(f"{d.code} {d.name_vi} (trọng số {formats.number(d.weight, 1)})" for d in methodology.domains)
    return [
        ("Phương pháp", methodology.name_vi),
        ("Phiên bản phương pháp", methodology.version),
        ("Mã SHA-256 của tệp phương pháp", methodology.sha256),
        ("Nguồn số liệu", method_text("counts")),
        ("Chuẩn hóa", normalisation_text(methodology)),
        ("Tổng hợp", aggregation_text(methodology)),
        ("Lĩnh vực và trọng số", domains),
        ("Điều kiện xếp hạng", ranking_rule_text(methodology)),
        ("Nhóm", "; ".join(tier_rule_lines(methodology))),
        ("Bảo vệ số liệu nhạy cảm", disclosure_text(methodology)),
        *method_note_pairs(methodology),
    ]


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


def _suppressed_count(indicator_values: pd.DataFrame) -> int:
    if "suppressed" not in indicator_values.columns:
        return 0
    flags = indicator_values["suppressed"].map(lambda v: as_text(v).lower() in ("true", "1", "1.0"))
    return int(flags.sum())


