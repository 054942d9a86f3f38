"""Province profiles: what makes each province's result (province_profiles.json).

For each province: its rank, median rank and interval with the robustness
label; its score and rank in each domain; each domain's contribution to the
PCRI; its strengths and weaknesses; where it stands against the national
targets; and which uncertain choice moves its rank most.

Domain contributions (``contribution_method`` in each profile):

- arithmetic PCRI: contribution_d = w_d / sum(w) x score_d over the domains
  the province has; these add up to the PCRI exactly;
- geometric PCRI: ln PCRI = sum (w_d / sum w) ln(max(score_d, floor)), so each
  domain gets its share of ln PCRI: contribution_d = PCRI x (w_d / sum w)
  ln(max(score_d, floor)) / ln PCRI. These also add up to the PCRI, but they
  are shares of a product, not amounts that would be lost without the domain
  (when PCRI equals 1 every ln is 0 and the PCRI is split evenly).

Strengths and weaknesses: the province's own ``top_n`` best and worst
indicators by percentile rank among the provinces with a value (oriented so
that 100 = best, 0 = worst; ties count half), each with its value, score,
percentile and the national target of the period (2025 up to 2025, 2030
after) when the indicator has one.

Which choice moves the province most: the choice with the largest total Sobol
index of the province's own rank (same Saltelli design as the index-level
analysis), with the largest rank shift each choice causes alone (one at a time
from the nominal method).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipelines.robustness.config import UncertaintySettings
from pipelines.robustness.engine import Evaluation, IndexModel, competition_ranks

ARITHMETIC_NOTE = ("arithmetic mean: contribution = normalised domain weight x domain score; "
                   "the contributions add up to the PCRI exactly")
GEOMETRIC_NOTE = ("geometric mean: contribution = PCRI x normalised domain weight x ln(max(domain score, floor)) "
                  "/ ln(PCRI), each domain's share of ln(PCRI); they add up to the PCRI but are shares of a "
                  "product, not the amount lost without the domain")


def percentile_ranks(values: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """(P, I) percentile of each province among the provinces with a value: 100 best, 0 worst, ties half."""
    x = values * sign[None, :]
    out = np.full(x.shape, np.nan)
    for i in range(x.shape[1]):
        col = x[:, i]
        ok = ~np.isnan(col)
        n = ok.sum()
        if n < 2:
            out[ok, i] = 50.0
            continue
        v = col[ok]
        below = (v[None, :] < v[:, None]).sum(axis=1)
        ties = (v[None, :] == v[:, None]).sum(axis=1) - 1
        out[ok, i] = 100.0 * (below + 0.5 * ties) / (n - 1)
    return out


def target_year(period: str | None) -> str:
    if not period:
        return "2025"
    try:
        return "2025" if int(str(period)[:4]) <= 2025 else "2030"
    except ValueError:
        return "2025"


def domain_contributions(scores: np.ndarray, weights: np.ndarray, pcri: float, aggregation: str,
                         floor: float) -> np.ndarray:
    """Contribution of each domain to one province's PCRI (NaN for a domain it does not have)."""
    valid = ~np.isnan(scores)
    w = np.where(valid, weights, 0.0)
    if w.sum() <= 0 or np.isnan(pcri):
        return np.full(scores.shape, np.nan)
    share = w / w.sum()
    if aggregation == "arithmetic":
        out = share * np.where(valid, scores, 0.0)
    else:
        logs = share * np.log(np.maximum(np.where(valid, scores, floor), floor))
        total = np.log(pcri)
        out = pcri * logs / total if abs(total) > 1e-12 else pcri * share
    return np.where(valid, out, np.nan)


def _num(x: Any, digits: int | None = None) -> float | None:
    if x is None:
        return None
    x = float(x)
    if np.isnan(x):
        return None
    return round(x, digits) if digits is not None else x


def build_profiles(model: IndexModel, methodology: Any, nominal: Evaluation, rank_uncertainty: pd.DataFrame,
                   per_province_total: dict[str, dict[str, float]], largest_shift: dict[str, np.ndarray],
                   settings: UncertaintySettings, *, period: str | None = None,
                   names: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """province_code -> profile (plain JSON types)."""
    indicators = {i.code: i for i in methodology.indicators}
    domains = {d.code: d for d in methodology.domains}
    year = target_year(period)
    pcri = nominal.pcri[0]
    dscores = nominal.domain_scores[0]
    iscores = nominal.indicator_scores[0]
    dweights = model.domain_weight / model.domain_weight.sum()
    ranked_idx = np.nonzero(model.ranked)[0]
    dom_rank = np.full(dscores.shape, np.nan)
    dom_rank[ranked_idx] = competition_ranks(dscores[ranked_idx].T, model.rank_decimals).T
    pct = percentile_ranks(model.values, model.sign)
    ru = rank_uncertainty.set_index("province_code") if "province_code" in rank_uncertainty else rank_uncertainty
    ranked_pos = {code: j for j, code in enumerate(model.ranked_provinces)}
    top_n = settings.profile_top_n
    note = ARITHMETIC_NOTE if model.aggregation == "arithmetic" else GEOMETRIC_NOTE

    def indicator_entry(p: int, i: int) -> dict[str, Any]:
        ind = indicators[model.indicators[i]]
        value = model.values[p, i]
        target = getattr(ind, f"target_{year}")
        entry = {
            "indicator_code": ind.code, "domain_code": ind.domain, "name_vi": ind.name_vi, "name_en": ind.name_en,
            "unit_vi": ind.unit_vi, "value": _num(value), "score": _num(iscores[p, i], 2),
            "percentile_rank": _num(pct[p, i], 1), "target_year": year if target is not None else None,
            "target": target, "meets_target": None, "gap_to_target": None,
        }
        if target is not None and not np.isnan(value):
            better = model.sign[i] * (value - target)
            entry["meets_target"] = bool(better >= 0)
            entry["gap_to_target"] = float(better)  # > 0: better than the target, in the indicator's unit
        return entry

    profiles: dict[str, dict[str, Any]] = {}
    for p, code in enumerate(model.provinces):
        ranked = bool(model.ranked[p])
        prof: dict[str, Any] = {"province_code": code}
        if names and code in names:
            prof["province_name"] = names[code]
        prof["ranked"] = ranked
        prof["not_ranked_reason"] = model.not_ranked_reason[p]
        prof["pcri"] = _num(pcri[p])
        if ranked and code in ru.index:
            r = ru.loc[code]
            prof["rank"] = int(r["nominal_rank"])
            prof["rank_interval"] = {
                "median": _num(r["median_rank"]), "p05": int(r["p05_rank"]), "p95": int(r["p95_rank"]),
                "width": int(r["interval_width"]), "label": r["label"], "label_vi": r["label_vi"],
            }
        else:
            prof["rank"] = None
            prof["rank_interval"] = None
        prof["aggregation"] = model.aggregation
        prof["contribution_method"] = note
        contrib = domain_contributions(dscores[p], dweights, pcri[p], model.aggregation, model.geometric_floor)
        prof["domains"] = [{
            "domain_code": dom, "name_vi": domains[dom].name_vi, "name_en": domains[dom].name_en,
            "score": _num(dscores[p, d]), "rank": None if np.isnan(dom_rank[p, d]) else int(dom_rank[p, d]),
            "weight": float(dweights[d]), "contribution": _num(contrib[d]),
            "contribution_share": _num(contrib[d] / pcri[p]) if pcri[p] and not np.isnan(contrib[d]) else None,
        } for d, dom in enumerate(model.domains)]

        prof.update(_indicator_parts(p, pct, iscores, top_n, indicator_entry, model, indicators, year))
        prof["sensitivity"] = (_sensitivity(code, ranked_pos, per_province_total, largest_shift) if ranked
                               else None)
        profiles[code] = prof
    return profiles


def _indicator_parts(p: int, pct, iscores, top_n: int, indicator_entry, model: IndexModel, indicators,
                     year) -> dict[str, Any]:
    """A province's strengths and weaknesses (by percentile rank) and its indicators against the targets."""
    have = np.nonzero(~np.isnan(pct[p]))[0]
    order = sorted(have, key=lambda i: (-pct[p, i], -np.nan_to_num(iscores[p, i]), i))
    strengths = order[:top_n]
    weak_order = sorted(have, key=lambda i: (pct[p, i], np.nan_to_num(iscores[p, i]), i))
    weaknesses = [i for i in weak_order if i not in strengths][:top_n]
    with_target = [i for i in range(len(model.indicators))
                   if getattr(indicators[model.indicators[i]], f"target_{year}") is not None]
    entries = [indicator_entry(p, i) for i in with_target]
    return {
        "strengths": [indicator_entry(p, i) for i in strengths],
        "weaknesses": [indicator_entry(p, i) for i in weaknesses],
        "targets": {
            "year": year,
            "indicators_with_target": len(with_target),
            "met": sum(1 for e in entries if e["meets_target"] is True),
            "not_met": sum(1 for e in entries if e["meets_target"] is False),
            "no_value": sum(1 for e in entries if e["meets_target"] is None),
            "indicators": entries,
        },
    }


def _sensitivity(code: str, ranked_pos: dict[str, int], per_province_total: dict[str, dict[str, float]],
                 largest_shift: dict[str, np.ndarray]) -> dict[str, Any]:
    """What moves a ranked province's rank most, from the sensitivity analysis."""
    j = ranked_pos[code]
    totals = per_province_total.get(code, {})
    shifts = {c: int(v[j]) for c, v in largest_shift.items() if c in totals or v[j] > 0}
    moved = max(totals, key=totals.get) if totals and max(totals.values()) > 0 else None
    return {
        "moved_most_by": moved,
        "total_index_of_rank": {c: float(v) for c, v in totals.items()},
        "largest_rank_shift_one_at_a_time": shifts,
        "note": None if moved else "the rank is the same under every sampled choice",
    }
