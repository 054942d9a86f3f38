"""Targets dashboard: each unit's distance to the national targets of 2025 and 2030, SDG-dashboard style.

For every indicator with a ``target`` in the methodology, every target year
and every unit (provinces and the national line):

Status. Where the value stands between a lower bound and the target, as the
share of that distance covered: ``(value - bound) / (target - bound)`` (the
same formula holds for "lower is better" indicators, whose bound lies above
the target). The bound is the indicator's worst goalpost unless
``targets_dashboard.lower_bounds`` names another. A share of 1 or more is
``achieved``; then, in the order of ``targets_dashboard.status``, the first
status whose ``min_share`` the share reaches.

Trend arrow. The annual change needed to reach the target by its year,
``(target - value) / max(target_year - year, 1)`` (when the year is reached
or past, the whole gap within one year), against the annual change observed
over the last ``window_years`` years of the series (the value now against the
earliest value of the window, per year between them). Both are turned the
way "better" goes. Then, as the SDG dashboards do:

- ``on_track``: achieved (maintaining the achievement), or improving at
  least at the needed pace;
- ``moderately_improving``: improving at ``moderate_share`` (50%) or more of
  the needed pace;
- ``stagnating``: improving more slowly, or not changing;
- ``decreasing``: moving away from the target.

Fewer than two values in the window: no trend (empty), said so in
``trend_note``. The thresholds are data in the methodology, not code.
Everything here is a pure function of DataFrames.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.methodology import MethodologyError

PERIOD_RE = re.compile(r"^(\d{4})(H[12])?$")
NATIONAL_CODE = "VN"
TARGET_COLUMNS = ["period", "unit_level", "unit_code", "indicator_code", "target_year", "target", "value",
                  "lower_bound", "share_of_distance", "status", "needed_per_year", "observed_per_year", "trend",
                  "trend_note"]
TRENDS = ("on_track", "moderately_improving", "stagnating", "decreasing")
TREND_NAMES = {
    "on_track": ("Đúng lộ trình", "On track", "↑"),
    "moderately_improving": ("Cải thiện vừa phải", "Moderately improving", "↗"),
    "stagnating": ("Giậm chân tại chỗ", "Stagnating", "→"),
    "decreasing": ("Đi xuống", "Decreasing", "↓"),
}


@dataclass(frozen=True)
class Status:
    code: str
    name_vi: str
    name_en: str
    min_share: float
    colour: str


@dataclass(frozen=True)
class TargetSettings:
    statuses: tuple[Status, ...]  # best first; the first is "achieved" (min_share 1)
    lower_bounds: dict[str, float]
    window_years: float
    moderate_share: float


DEFAULT_STATUSES = (
    Status("achieved", "Đã đạt mục tiêu", "Achieved", 1.0, "#2e7d32"),
    Status("challenges_remain", "Còn thách thức", "Challenges remain", 0.9, "#f9a825"),
    Status("significant_challenges", "Thách thức đáng kể", "Significant challenges", 0.7, "#ef6c00"),
    Status("major_challenges", "Thách thức lớn", "Major challenges", float("-inf"), "#c62828"),
)


def target_settings(methodology) -> TargetSettings:
    """The ``targets_dashboard`` section of the methodology (defaults when absent); clear error when wrong."""
    doc = (getattr(methodology, "raw", None) or {}).get("targets_dashboard") or {}
    where = f"{getattr(methodology, 'path', 'methodology')}: targets_dashboard"
    statuses = DEFAULT_STATUSES
    if doc.get("status"):
        statuses = tuple(
            Status(str(s["code"]), str(s.get("name_vi", s["code"])), str(s.get("name_en", s["code"])),
                   float("-inf") if s.get("min_share") is None else float(s["min_share"]),
                   str(s.get("colour", "#999999")))
            for s in doc["status"])
        shares = [s.min_share for s in statuses]
        if shares[0] != 1.0 or shares != sorted(shares, reverse=True) or shares[-1] != float("-inf"):
            raise MethodologyError(f"{where}.status: min_share must start at 1 (achieved), decrease, and the last "
                                   f"status must have none (it takes every value below)")
    codes = {i.code for i in methodology.indicators}
    bounds = {str(k): float(v) for k, v in (doc.get("lower_bounds") or {}).items()}
    unknown = sorted(set(bounds) - codes)
    if unknown:
        raise MethodologyError(f"{where}.lower_bounds: {unknown[0]} is not an indicator of the methodology")
    trend = doc.get("trend") or {}
    window, moderate = float(trend.get("window_years", 3)), float(trend.get("moderate_share", 0.5))
    if window <= 0 or not 0 < moderate < 1:
        raise MethodologyError(f"{where}.trend: window_years must be > 0 and moderate_share between 0 and 1")
    return TargetSettings(statuses, bounds, window, moderate)


def period_position(period: str) -> float:
    """A period on the time axis in years: 2024 -> 2024.0, 2025H1 -> 2024.75, 2025H2 -> 2025.25."""
    m = PERIOD_RE.match(str(period))
    if not m:
        raise ValueError(f"'{period}' is not a period: expected YYYY, YYYYH1 or YYYYH2")
    return int(m.group(1)) + {None: 0.0, "H1": -0.25, "H2": 0.25}[m.group(2)]


def period_positions(periods: pd.Series) -> pd.Series:
    """``period_position`` of every row of ``periods``, computed once per distinct period (a series has a few
    periods and many rows); the same values and dtype as mapping the function row by row."""
    return periods.map({p: period_position(p) for p in periods.unique()})


def indicator_targets(methodology) -> list[tuple]:
    """(indicator, target year, target) for every national target of the methodology."""
    out = []
    for ind in methodology.indicators:
        for year, target in ((2025, ind.target_2025), (2030, ind.target_2030)):
            if target is not None:
                out.append((ind, year, float(target)))
    return out


def lower_bound(indicator, settings: TargetSettings) -> float:
    if indicator.code in settings.lower_bounds:
        return settings.lower_bounds[indicator.code]
    return indicator.goal_low if indicator.direction == "higher" else indicator.goal_high


def share_of_distance(value: float, target: float, bound: float) -> float:
    """How much of the way from the bound to the target the value has covered (1 = target reached)."""
    if target == bound:
        return 1.0 if value == target else 0.0
    return (value - bound) / (target - bound)


def status_of(share: float, settings: TargetSettings) -> str | None:
    if share is None or not np.isfinite(share):
        return None
    for status in settings.statuses:
        if share >= status.min_share - 1e-12:
            return status.code
    return settings.statuses[-1].code


def trend_of(needed: float, observed: float | None, achieved: bool, settings: TargetSettings) -> str | None:
    """The arrow (module text). ``needed`` and ``observed``: annual changes, positive = towards better."""
    if observed is None or not np.isfinite(observed):
        return None
    if achieved:
        return "on_track"
    if observed < 0:
        return "decreasing"
    if observed >= needed:
        return "on_track"
    if observed >= settings.moderate_share * needed and observed > 0:
        return "moderately_improving"
    return "stagnating"


def observed_change(series: pd.Series, now: float, window: float) -> tuple[float | None, str]:
    """Annual change from the earliest value of the window to the value at ``now``.

    ``series``: values indexed by period position. Returns (change per year, note).
    """
    s = series.dropna()
    if now not in s.index:
        return None, "no value this period"
    start = s[(s.index >= now - window - 1e-9) & (s.index < now)]
    if start.empty:
        return None, "no earlier value within the window"
    first = float(start.index.min())
    return (float(s[now]) - float(s[first])) / (now - first), f"since {first:g}"


def targets_table(period: str, series: pd.DataFrame, methodology) -> pd.DataFrame:
    """The targets dashboard of ``period`` (columns TARGET_COLUMNS).

    ``series``: indicator values over the periods of the series (one
    methodology version), columns period, unit_level, unit_code,
    indicator_code, value; ``period`` among them.
    """
    settings = target_settings(methodology)
    now = period_position(period)
    year = int(str(period)[:4])
    df = series.assign(position=period_positions(series["period"]))
    rows = []
    for ind, target_year, target in indicator_targets(methodology):
        bound = lower_bound(ind, settings)
        sign = 1.0 if ind.direction == "higher" else -1.0
        this = df[df["indicator_code"] == ind.code]
        units = this.loc[this["period"] == period, ["unit_level", "unit_code"]].drop_duplicates()
        by_unit = dict(list(this.groupby(["unit_level", "unit_code"], sort=False)))  # one pass, not one per unit
        for unit_level, unit_code in units.itertuples(index=False):
            unit_series = by_unit.get((unit_level, unit_code), this.iloc[:0])
            values = pd.to_numeric(unit_series.set_index("position")["value"], errors="coerce")
            value = values.get(now)
            row = {"period": period, "unit_level": unit_level, "unit_code": unit_code, "indicator_code": ind.code,
                   "target_year": target_year, "target": target, "value": value, "lower_bound": bound}
            if value is None or pd.isna(value):
                rows.append({**row, "value": None, "trend_note": "no value this period"})
                continue
            share = share_of_distance(float(value), target, bound)
            needed = sign * (target - float(value)) / max(target_year - year, 1)
            observed, note = observed_change(values, now, settings.window_years)
            observed = None if observed is None else sign * observed
            rows.append({**row, "share_of_distance": share, "status": status_of(share, settings),
                         "needed_per_year": max(needed, 0.0), "observed_per_year": observed,
                         "trend": trend_of(max(needed, 0.0), observed, share >= 1.0, settings), "trend_note": note})
    out = pd.DataFrame(rows, columns=TARGET_COLUMNS)
    for col in ("target", "value", "lower_bound", "share_of_distance", "needed_per_year", "observed_per_year"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    out["target_year"] = out["target_year"].astype("int64")
    for col in ("status", "trend", "trend_note"):
        out[col] = out[col].astype("object").where(out[col].notna(), None)
    level_order = out["unit_level"].map({"national": 0, "province": 1}).fillna(2)
    return (out.assign(_l=level_order).sort_values(["indicator_code", "target_year", "_l", "unit_code"])
            .drop(columns="_l").reset_index(drop=True))


def national_values(indicator_values: pd.DataFrame, methodology) -> pd.DataFrame:
    """The national line: per period and indicator, summed province numerators over summed denominators.

    Only provinces with a value count (a province without one drops out of
    both sums, as a commune does from its province). Columns period,
    unit_level ('national'), unit_code (NATIONAL_CODE), indicator_code,
    numerator, denominator, value.
    """
    mult = {i.code: float(i.multiplier) for i in methodology.indicators}
    prov = indicator_values[(indicator_values["unit_level"] == "province") & indicator_values["value"].notna()]
    prov = prov.assign(numerator=pd.to_numeric(prov["numerator"], errors="coerce"),
                       denominator=pd.to_numeric(prov["denominator"], errors="coerce"))
    sums = prov.groupby(["period", "indicator_code"], as_index=False)[["numerator", "denominator"]].sum(min_count=1)
    den = sums["denominator"].where(sums["denominator"] > 0)
    sums["value"] = sums["numerator"] / den * sums["indicator_code"].map(mult)
    sums.insert(1, "unit_level", "national")
    sums.insert(2, "unit_code", NATIONAL_CODE)
    return sums
