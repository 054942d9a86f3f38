"""What each part of the ranking report shows, as plain values for the templates.

``report_data`` normalises the release tables; the functions here pick and
compute what a part shows (rows, bar lengths, colours, the tile map's
positions, the facts of each province card). Numbers stay numbers: the
templates format them (Babel, ``vi``) and hold every word and the layout.
"""

from __future__ import annotations

import csv
import statistics
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.methodology import Indicator
from pipelines.publish.method_notes import stricter_share_text
from pipelines.publish.report_data import (
    BAD,
    GOOD,
    ReportData,
    _check_code,
    _checks,
    _is_blocking,
    _is_dark,
    _mix,
    _province_indicator_rows,
    _suppressed_count,
    _truthy,
    as_float,
    as_int,
    as_text,
    indicator_target,
    is_missing,
    meets,
    method_summary,
    national_indicator_values,
    quality_passed,
    score_colour,
    target_gaps,
    target_year,
    tier_rule_lines,
)

TILES_FILE = Path(__file__).with_name("province_tiles.csv")


@lru_cache(maxsize=1)
def province_tiles() -> dict[str, dict[str, Any]]:
    """province code -> {row, col, label}: the tile map's layout (reference data, one row per province)."""
    with TILES_FILE.open(encoding="utf-8", newline="") as fh:
        return {r["province_code"]: {"row": int(r["row"]), "col": int(r["col"]), "label": r["label"]}
                for r in csv.DictReader(fh)}


def tier_view(data: ReportData, tier: int | None) -> dict[str, str]:
    style = data.tier_style(tier)
    return {"name": style.name, "colour": style.colour, "ink": style.ink, "tint": style.tint}


def province_view(data: ReportData, p) -> dict[str, Any]:
    iv = data.intervals.get(p.code)
    return {
        "code": p.code, "name": p.name, "rank": p.rank, "ranked": p.ranked, "pcri": p.pcri,
        "change": p.rank_change, "previous_rank": p.previous_rank, "used": p.used, "total": p.total,
        "reason": p.reason, "tier": tier_view(data, p.tier),
        "interval": None if iv is None or iv.p05 is None or iv.p95 is None else
        {"low": iv.p05, "high": iv.p95, "median": iv.median, "label": iv.label},
    }


def summary_view(data: ReportData) -> dict[str, Any]:
    ranked = data.ranked
    values = [p.pcri for p in ranked if p.pcri is not None]
    moved = [p for p in ranked if p.rank_change]
    up = sorted((p for p in moved if p.rank_change > 0), key=lambda p: -p.rank_change)[:3]
    down = sorted((p for p in moved if p.rank_change < 0), key=lambda p: p.rank_change)[:3]
    return {
        "ranked": len(ranked), "total": len(data.provinces),
        "pcri_min": min(values) if values else None, "pcri_max": max(values) if values else None,
        "pcri_median": statistics.median(values) if values else None,
        "top": [province_view(data, p) for p in ranked[:3]],
        "bottom": [province_view(data, p) for p in ranked[-3:]] if len(ranked) > 3 else [],
        "movers": [province_view(data, p) for p in up + down],
        "unranked": [province_view(data, p) for p in data.provinces if not p.ranked],
        "quality_passed": quality_passed(data.quality) if data.quality is not None else None,
    }


def ranking_view(data: ReportData) -> dict[str, Any]:
    return {
        "rows": [province_view(data, p) for p in data.provinces],
        "has_previous": any(p.previous_rank is not None for p in data.provinces),
        "has_intervals": bool(data.intervals),
    }


def chart_view(data: ReportData) -> dict[str, Any]:
    """Geometry of the PCRI bars (0-100) and, when given, of the rank intervals beside them."""
    rows = sorted(data.provinces, key=lambda p: (p.pcri is None, -(p.pcri or 0), not p.ranked, p.name))
    g = {"label_w": 190.0, "bar_w": 360.0, "value_w": 50.0, "row_h": 18.0, "top": 40.0, "bottom": 10.0}
    g["panel_x"], g["panel_w"] = g["label_w"] + g["bar_w"] + g["value_w"] + 24, 250.0
    g["width"] = g["panel_x"] + g["panel_w"] + 16 if data.intervals else g["label_w"] + g["bar_w"] + g["value_w"]
    g["height"] = g["top"] + g["row_h"] * len(rows) + g["bottom"]
    n_max = max([len(data.ranked), 2] + [int(v) + 1 for iv in data.intervals.values() for v in (iv.p95,) if v])

    def rank_x(r: float | None) -> float | None:
        return None if r is None else g["panel_x"] + g["panel_w"] * (r - 1) / max(n_max - 1, 1)

    g["ticks"] = [{"x": g["label_w"] + g["bar_w"] * t / 100, "label": t} for t in (0, 25, 50, 75, 100)]
    g["rank_ticks"] = [{"x": rank_x(t), "label": t}
                       for t in sorted({1, n_max} | {t for t in range(5, n_max, 5) if n_max - t >= 3})]
    g["rows"] = []
    for n, p in enumerate(rows):
        style = data.tier_style(p.tier)
        iv = data.intervals.get(p.code)
        has_iv = iv is not None and iv.p05 is not None and iv.p95 is not None
        g["rows"].append({
            **province_view(data, p), "y": g["top"] + n * g["row_h"], "stripe": n % 2 == 0,
            "bar": None if p.pcri is None else g["bar_w"] * min(max(p.pcri, 0), 100) / 100,
            "iv": None if not has_iv else {
                "x1": rank_x(iv.p05), "x2": rank_x(iv.p95), "median": rank_x(iv.median),
                "nominal": rank_x(iv.nominal if iv.nominal is not None else p.rank),
                "colour": _mix(style.colour, "#000000", 0.15)},
        })
    return g


def map_view(data: ReportData, tile_w: float = 74.0, tile_h: float = 34.0, gap: float = 3.0) -> dict[str, Any]:
    """One tile per province, placed by ``province_tiles.csv``, coloured by tier."""
    layout = province_tiles()
    by_code = {p.code: p for p in data.provinces}
    tiles = []
    for code, place in layout.items():
        p = by_code.get(code)
        tier = tier_view(data, p.tier if p else None)
        tiles.append({"code": code, "label": place["label"], "name": p.name if p else place["label"],
                      "rank": p.rank if p else None, "pcri": p.pcri if p else None, "tier": tier,
                      "x": place["col"] * (tile_w + gap), "y": place["row"] * (tile_h + gap),
                      "w": tile_w, "h": tile_h})
    rows = max(t["row"] for t in layout.values()) + 1
    cols = max(t["col"] for t in layout.values()) + 1
    return {"tiles": tiles, "width": cols * (tile_w + gap), "height": rows * (tile_h + gap)}


def heatmap_view(data: ReportData) -> dict[str, Any]:
    rows = []
    for p in data.provinces:
        cells = []
        for d in data.m.domains:
            score = data.score(p.code, d.code)
            fill = score_colour(score)
            cells.append({"score": score, "fill": fill, "ink": "#ffffff" if _is_dark(fill) else "#1f2328"})
        rows.append({**province_view(data, p), "cells": cells})
    return {"domains": [{"code": d.code, "name": d.name_vi} for d in data.m.domains], "rows": rows,
            "legend": [{"score": s, "fill": score_colour(s)} for s in (0, 25, 50, 75, 100)]}


def _domain_bars(data: ReportData, p) -> list[dict[str, Any]]:
    out = []
    for d in data.m.domains:
        score, median = data.score(p.code, d.code), data.medians.get(d.code)
        out.append({"code": d.code, "name": d.name_vi, "score": score, "median": median,
                    "diff": None if score is None or median is None else score - median,
                    "width": 0 if score is None else min(max(score, 0), 100),
                    "median_at": None if median is None else min(max(median, 0), 100)})
    return out


def _indicator_mentions(entries: Any, names: dict[str, Indicator]) -> list[dict[str, Any]]:
    """Profile entries (robustness profiles: indicator_code, value, unit_vi, percentile_rank) for sentences."""
    out = []
    for e in entries or []:
        if not isinstance(e, dict):
            continue
        code = as_text(e.get("indicator_code"))
        ind = names.get(code)
        out.append({"name": as_text(e.get("name_vi")) or (ind.name_vi if ind else code),
                    "unit": as_text(e.get("unit_vi")) or (ind.unit_vi if ind else ""), "value": as_float(e.get("value")),
                    "percentile": as_float(e.get("percentile_rank")), "score": as_float(e.get("score"))})
    return out


def _gaps(data: ReportData, own: pd.DataFrame) -> dict[str, Any]:
    """The province's targets met, and the three indicators furthest from their target (relative gap)."""
    by_code = {i.code: i for i in data.m.indicators}
    short = own[own["gap"] > 0].sort_values("relative_gap", ascending=False)
    items = [{"name": by_code[r["indicator_code"]].name_vi, "value": r["value"], "target": r["target"],
              "unit": by_code[r["indicator_code"]].unit_vi, "gap": r["gap"], "target_year": r["target_year"]}
             for r in short.head(3).to_dict("records")]
    return {"with_target": len(own), "met": int((own["gap"] <= 0).sum()), "furthest": items,
            "year": target_year(data.period)}


def _commune_counts(data: ReportData, p) -> dict[str, int] | None:
    if data.communes is None:
        return None
    own = data.communes[data.communes["province_code"].astype(str) == p.code]
    if own.empty:
        return None
    recognised = int(own["recognised"].map(_truthy).sum()) if "recognised" in own.columns else 0
    return {"total": len(own), "recognised": recognised}


def cards_view(data: ReportData) -> list[dict[str, Any]]:
    """One card per province: rank and interval, domain bars, strengths and weaknesses, targets."""
    gaps = target_gaps(data.indicator_values, data.m, data.period)
    by_province = {str(code): own for code, own in gaps.groupby("province_code")}
    names = {i.code: i for i in data.m.indicators}
    cards = []
    for p in data.provinces:
        bars = _domain_bars(data, p)
        scored = [b for b in bars if b["diff"] is not None]
        best = max(scored, key=lambda b: b["diff"]) if scored else None
        worst = min(scored, key=lambda b: b["diff"]) if len(scored) > 1 else None
        profile = data.profiles.get(p.code, data.profiles.get(p.name))
        profile = profile if isinstance(profile, dict) else {}
        cards.append({
            **province_view(data, p), "n_ranked": len(data.ranked), "domains": bars,
            "best": best, "worst": worst if worst is not best else None,
            "strengths": _indicator_mentions(profile.get("strengths"), names)[:3],
            "weaknesses": _indicator_mentions(profile.get("weaknesses"), names)[:3],
            "note": as_text(profile.get("summary")) if not isinstance(profile.get("summary"), dict) else "",
            "targets": _gaps(data, by_province.get(p.code, gaps.iloc[0:0])), "communes": _commune_counts(data, p),
        })
    return cards


def _bullet(ind: Indicator, value: float | None, year: int, ok: bool | None) -> dict[str, Any]:
    """Positions (0-100 %) of the value and the targets on the indicator's goalpost scale."""
    points = [v for v in (value, ind.target_2025, ind.target_2030) if v is not None]
    lo, hi = min([ind.goal_low] + points), max([ind.goal_high] + points)

    def at(v: float | None) -> float | None:
        return None if v is None else 100 * (v - lo) / (hi - lo)

    colour = GOOD if ok else (BAD if ok is False else "#0969da")
    return {"value": at(value), "t25": at(ind.target_2025), "t30": at(ind.target_2030), "colour": colour}


def _meeting(ind: Indicator, prov: pd.DataFrame, target: tuple[int, float] | None) -> tuple[int, int] | None:
    if target is None or prov.empty or not {"indicator_code", "value"} <= set(prov.columns):
        return None
    vals = [as_float(v) for v in prov.loc[prov["indicator_code"].astype(str) == ind.code, "value"]]
    vals = [v for v in vals if v is not None]
    return (sum(bool(meets(ind, v, target[1])) for v in vals), len(vals)) if vals else None


def indicators_view(data: ReportData) -> dict[str, Any]:
    national = national_indicator_values(data.indicator_values, data.m).set_index("indicator_code")
    year = target_year(data.period)
    prov = _province_indicator_rows(data.indicator_values)
    groups = []
    for d in data.m.domains:
        rows = []
        for ind in (i for i in data.m.indicators if i.domain == d.code):
            value = as_float(national.at[ind.code, "value"]) if ind.code in national.index else None
            ok25, ok30 = meets(ind, value, ind.target_2025), meets(ind, value, ind.target_2030)
            rows.append({
                "name": ind.name_vi, "code": ind.code, "higher": ind.direction == "higher", "unit": ind.unit_vi,
                "value": value, "provinces": int(national.at[ind.code, "provinces"]) if ind.code in national.index
                else 0, "t25": ind.target_2025, "ok25": ok25, "t30": ind.target_2030, "ok30": ok30,
                "meeting": _meeting(ind, prov, indicator_target(ind, year)),
                "bullet": _bullet(ind, value, year, ok25 if year == 2025 else ok30),
            })
        groups.append({"code": d.code, "name": d.name_vi, "rows": rows})
    return {"year": year, "groups": groups, "n_provinces": len(data.provinces)}


def _commune_row(data: ReportData, r: dict[str, Any]) -> dict[str, Any]:
    rank = as_int(r.get("rank_in_province"))
    rec = r.get("recognised")
    return {"rank": rank, "code": as_text(r.get("commune_code")), "name": as_text(r.get("commune_name")),
            "index": as_float(r.get("index")), "tier": tier_view(data, as_int(r.get("tier")) if rank is not None
                                                                 else None),
            "recognised": None if is_missing(rec) else _truthy(rec), "reason": as_text(r.get("reason"))}


def communes_view(data: ReportData) -> list[dict[str, Any]]:
    """One block per province (in ranking order) with its communes by rank in the province."""
    if data.communes is None:
        return []
    df = data.communes.assign(province_code=data.communes["province_code"].astype(str),
                              _r=pd.to_numeric(data.communes.get("rank_in_province"), errors="coerce"))
    df = df.sort_values(["_r", "commune_name"], na_position="last")
    by_province: dict[str, list[dict[str, Any]]] = {}
    for r in df.to_dict("records"):
        by_province.setdefault(r["province_code"], []).append(_commune_row(data, r))
    return [{"code": p.code, "name": p.name, "rows": by_province[p.code],
             "recognised": sum(bool(r["recognised"]) for r in by_province[p.code])}
            for p in data.provinces if p.code in by_province]


QUALITY_LABELS_VI = {
    "checks": "Số kiểm tra", "passed": "Số kiểm tra đạt", "failed": "Số kiểm tra không đạt",
    "failed_blocking": "Không đạt, loại chặn phát hành", "failed_warning": "Không đạt, loại cảnh báo",
    "failed_waived": "Không đạt nhưng được miễn trừ", "run_id": "Mã lần chạy", "period": "Kỳ báo cáo",
    "checked_at": "Thời điểm kiểm tra", "evaluated_at": "Thời điểm kiểm tra", "waived": "Được miễn trừ",
    "created_at": "Thời điểm lập", "rejected_rows": "Số dòng bị từ chối",
}


def quality_view(data: ReportData) -> dict[str, Any] | None:
    if data.quality is None:
        return None
    q, checks = data.quality, _checks(data.quality)
    failed = [c for c in checks if not _truthy(c.get("passed"))]
    rows = []
    for c in sorted(checks, key=lambda c: (_truthy(c.get("passed")), not _is_blocking(c), _check_code(c))):
        ok = _truthy(c.get("passed"))
        waived = not ok and _truthy(c.get("waived"))
        rows.append({"code": _check_code(c), "blocking": _is_blocking(c), "ok": ok, "waived": waived,
                     "failures": as_int(c.get("failures")), "message": as_text(c.get("message"))})
    scalars = [{"key": str(k), "label": QUALITY_LABELS_VI.get(str(k), str(k)), "value": v} for k, v in q.items()
               if not (k == "checks" and checks) and not (k == "passed" and isinstance(v, bool))
               and not isinstance(v, (list, tuple, dict, pd.DataFrame))]
    n_blocking = sum(_is_blocking(c) for c in failed)
    return {"passed": quality_passed(q), "checks": rows, "n_checks": len(checks), "n_blocking": n_blocking,
            "n_warning": len(failed) - n_blocking, "scalars": scalars}


def method_view(data: ReportData) -> dict[str, Any]:
    m = data.m
    tiers = [{"tier": tier_view(data, t.tier), "text": line.split(": ", 1)[-1]}
             for t, line in zip(sorted(m.tiers, key=lambda t: t.tier), tier_rule_lines(m))]
    groups = [{"code": d.code, "name": d.name_vi, "weight": d.weight, "indicators": [
        {"name": i.name_vi, "unit": i.unit_vi, "higher": i.direction == "higher", "low": i.goal_low,
         "high": i.goal_high, "weight": i.weight, "numerator": " + ".join(i.numerator),
         "denominator": " + ".join(i.denominator), "multiplier": i.multiplier}
        for i in m.indicators if i.domain == d.code]} for d in m.domains]
    return {
        "pairs": [{"label": label, "text": text} for label, text in method_summary(m)
                  if label not in ("Nhóm", "Lĩnh vực và trọng số")],
        "tiers": tiers, "ties": tier_rule_lines(m)[-1], "groups": groups,
        "suppressed": _suppressed_count(data.indicator_values), "units_note": data.units_note,
        "stricter": stricter_share_text(data.provinces),
    }


def report_context(data: ReportData) -> dict[str, Any]:
    """Everything the report templates read."""
    m = data.m
    return {
        "period": data.period, "previous_period": data.previous_period, "name": m.name_vi, "version": m.version,
        "sha256": m.sha256, "release": data.release, "released_at": data.released_at,
        "pcri_decimals": data.pcri_decimals, "target_year": target_year(data.period),
        "tiers": [tier_view(data, t) for t in data.tiers], "unranked_tier": tier_view(data, None),
        "summary": summary_view(data), "ranking": ranking_view(data), "chart": chart_view(data),
        "map": map_view(data), "heatmap": heatmap_view(data), "cards": cards_view(data),
        "indicators": indicators_view(data), "communes": communes_view(data), "quality": quality_view(data),
        "method": method_view(data),
    }
