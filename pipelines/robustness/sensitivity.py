"""Variance-based sensitivity of the ranking to each uncertain choice (SALib Sobol indices).

Output analysed: the mean absolute rank shift against the nominal ranking,
Y = mean over the ranked provinces of |rank in the run - nominal rank|.

Factor encoding (one Sobol factor per choice; SALib estimates the indices):

- ``weights``: a SALib *group* of continuous factors, one per indicator weight
  and one per domain weight, each uniform on ``weight_factor`` ([0.75, 1.25]);
  the weights are renormalised inside the model. The group gets one first-order
  and one total index (the joint effect of all weights).
- ``normalisation``, ``aggregation``, ``missing``, ``outliers``,
  ``leave_one_out``: each a factor u ~ U[0, 1) discretised to option
  ``min(floor(u * k), k - 1)`` of its k options, so every option has
  probability 1/k (``leave_one_out``: k = 1 + number of indicators, option 0 =
  no indicator left out). Y is then a step function of u, and the Sobol indices
  of u are exactly those of the discrete choice with equal option
  probabilities; the scrambled Sobol' sequence stratifies u, so the options stay
  balanced. A choice with a single option (or weights with an empty range) is
  fixed and left out of the analysis.

Design: ``SALib.sample.sobol.sample`` (Saltelli's scheme on a scrambled Sobol'
sequence, seeded), first-order and total indices only
(``calc_second_order=False``): N x (G + 2) model runs for G choices.
Estimator: ``SALib.analyze.sobol.analyze`` (Saltelli 2010 / Jansen), with
bootstrap confidence intervals (seeded). Sampling error can make an estimate
slightly negative or above 1; the raw estimates are reported.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipelines.robustness.config import UncertaintySettings
from pipelines.robustness.engine import (
    AGGREGATION_CODES,
    MISSING_CODES,
    NOMINAL,
    OUTLIER_CODES,
    Design,
    IndexModel,
    MonteCarloResult,
    evaluate,
)

CHOICES = ("weights", "normalisation", "aggregation", "missing", "outliers", "leave_one_out")

ENCODING = {
    "weights": "SALib group of continuous factors, one per indicator weight and per domain weight, "
               "each uniform on weight_factor; weights renormalised (indicator weights within the domain, "
               "domain weights over the domains)",
    "normalisation": "u ~ U[0,1) -> option floor(u*k) of the k normalisation options, each probability 1/k",
    "aggregation": "u ~ U[0,1) -> option floor(u*k) of the k aggregation options, each probability 1/k",
    "missing": "u ~ U[0,1) -> option floor(u*k) of the k missing-data options, each probability 1/k",
    "outliers": "u ~ U[0,1) -> option floor(u*k) of the k outlier options, each probability 1/k",
    "leave_one_out": "u ~ U[0,1) -> option floor(u*(1+I)): 0 = none, j = leave out indicator j; "
                     "each probability 1/(1+I)",
}


@dataclass
class SobolResult:
    choices: list[str]              # analysed choices, in order
    fixed: list[str]                # choices with one option (not analysed)
    first_order: np.ndarray
    first_order_conf: np.ndarray
    total: np.ndarray
    total_conf: np.ndarray
    per_province_total: dict[str, dict[str, float]]  # province -> choice -> total index of its own rank
    output_variance: float
    evaluations: int
    base_samples: int
    note: str | None = None


def _discrete(u: np.ndarray, k: int) -> np.ndarray:
    return np.minimum(np.floor(u * k), k - 1).astype(np.int64)


def problem_for(model: IndexModel, settings: UncertaintySettings) -> tuple[dict[str, Any], list[str], list[str]]:
    """The SALib problem (names, bounds, groups), the analysed choices and the fixed ones."""
    names: list[str] = []
    bounds: list[list[float]] = []
    groups: list[str] = []
    lo, hi = settings.weight_factor
    varied: list[str] = []
    if hi > lo:
        for code in model.indicators + model.domains:
            names.append(f"weight:{code}")
            bounds.append([lo, hi])
            groups.append("weights")
        varied.append("weights")
    n_options = {
        "normalisation": len(settings.normalisation),
        "aggregation": len(settings.aggregation),
        "missing": len(settings.missing),
        "outliers": len(settings.outliers),
        "leave_one_out": 1 + len(model.indicators) if settings.leave_one_out else 1,
    }
    for choice, k in n_options.items():
        if k > 1:
            names.append(choice)
            bounds.append([0.0, 1.0])
            groups.append(choice)
            varied.append(choice)
    fixed = [c for c in CHOICES if c not in varied]
    return {"num_vars": len(names), "names": names, "bounds": bounds, "groups": groups}, varied, fixed


def design_from_sample(model: IndexModel, settings: UncertaintySettings, problem: dict[str, Any],
                       x: np.ndarray) -> Design:
    """Map SALib's sample matrix (rows = runs, columns = problem names) onto the model's choices."""
    runs = x.shape[0]
    col = {name: j for j, name in enumerate(problem["names"])}
    n_ind = len(model.indicators)

    def option(name: str, options: tuple[str, ...], codes: dict[str, int] | None, default: int) -> np.ndarray:
        if name not in col:
            return np.full(runs, default, dtype=np.int64)
        idx = _discrete(x[:, col[name]], len(options))
        return idx if codes is None else np.array([codes[o] for o in options], dtype=np.int64)[idx]

    def first(options: tuple[str, ...], codes: dict[str, int] | None) -> int:
        return 0 if codes is None else codes[options[0]]

    if "weight:" + model.indicators[0] in col:
        ind_f = x[:, [col[f"weight:{c}"] for c in model.indicators]]
        dom_f = x[:, [col[f"weight:{c}"] for c in model.domains]]
    else:
        ind_f = np.full((runs, n_ind), settings.weight_factor[0])
        dom_f = np.full((runs, len(model.domains)), settings.weight_factor[0])
    leave = (_discrete(x[:, col["leave_one_out"]], n_ind + 1) - 1) if "leave_one_out" in col \
        else np.full(runs, -1, dtype=np.int64)
    return Design(
        normalisation=option("normalisation", settings.normalisation, None, first(settings.normalisation, None)),
        aggregation=option("aggregation", settings.aggregation, AGGREGATION_CODES,
                           first(settings.aggregation, AGGREGATION_CODES)),
        missing=option("missing", settings.missing, MISSING_CODES, first(settings.missing, MISSING_CODES)),
        outliers=option("outliers", settings.outliers, OUTLIER_CODES, first(settings.outliers, OUTLIER_CODES)),
        leave_out=leave.astype(np.int64),
        indicator_weight_factor=ind_f,
        domain_weight_factor=dom_f,
    )


def _analyze(problem: dict[str, Any], y: np.ndarray, settings: UncertaintySettings, num_resamples: int,
             n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if not np.isfinite(y).all() or np.ptp(y) == 0:
        zeros = np.zeros(n_groups)
        return zeros, zeros.copy(), zeros.copy(), zeros.copy()
    with warnings.catch_warnings():
        # a rank is a step function of the choices: some of SALib's cross-sampled subsets are
        # constant by design (its "Constant values encountered" notice), which is expected here
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        from SALib.analyze import sobol as sobol_analyze  # SALib and SciPy are imported when used

        si = sobol_analyze.analyze(problem, y, calc_second_order=False, num_resamples=num_resamples,
                                   conf_level=settings.sobol_conf_level, print_to_console=False,
                                   seed=settings.seed)
    return (np.asarray(si["S1"], float), np.asarray(si["S1_conf"], float),
            np.asarray(si["ST"], float), np.asarray(si["ST_conf"], float))


def sobol_indices(model: IndexModel, settings: UncertaintySettings, nominal_ranks: np.ndarray) -> SobolResult:
    """First-order and total Sobol indices of each choice for the mean absolute rank shift."""
    problem, varied, fixed = problem_for(model, settings)
    n = settings.sobol_base_samples
    if not varied:
        empty = np.zeros(0)
        return SobolResult([], fixed, empty, empty, empty, empty, {}, 0.0, 0, n, "no choice varies")
    from SALib.sample import sobol as sobol_sample

    x = sobol_sample.sample(problem, n, calc_second_order=False, scramble=True, seed=settings.seed)
    design = design_from_sample(model, settings, problem, x)
    ev = evaluate(model, design)
    y = np.abs(ev.ranks - nominal_ranks[None, :]).mean(axis=1)
    s1, s1c, st, stc = _analyze(problem, y, settings, settings.sobol_num_resamples, len(varied))
    note = None
    if np.ptp(y) == 0:
        note = "the ranking is the same in every run: no choice moves any rank"
    per_province: dict[str, dict[str, float]] = {}
    for j, code in enumerate(model.ranked_provinces):
        _, _, st_p, _ = _analyze(problem, ev.ranks[:, j].astype(float), settings, 10, len(varied))
        per_province[code] = {c: float(v) for c, v in zip(varied, st_p)}
    return SobolResult(varied, fixed, s1, s1c, st, stc, per_province, float(np.var(y)), int(x.shape[0]), n, note)


# ---------------------------------------------------------------------------
# Alternatives one at a time, and rank correlations
# ---------------------------------------------------------------------------
def average_ranks(competition: np.ndarray) -> np.ndarray:
    """Competition ranks (1,1,3) -> average ranks (1.5,1.5,3), row-wise."""
    c = np.asarray(competition, dtype=float)
    equal = (c[..., :, None] == c[..., None, :]).sum(axis=-1)
    return c + (equal - 1) / 2.0


def spearman_rows(nominal: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row of ``ranks`` (R, P) with ``nominal`` (P,); NaN when a row is constant."""
    a = average_ranks(nominal[None, :])[0]
    b = average_ranks(ranks)
    a = a - a.mean()
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a**2).sum() * (b**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (b @ a) / np.where(den > 0, den, 1.0), np.nan)


def _norm_is_nominal(model: IndexModel, name: str) -> bool:
    if name != model.normalisation:
        return False
    return name != "minmax" or tuple(model.minmax_range) == (0.0, 100.0)


def alternatives(model: IndexModel, settings: UncertaintySettings, nominal_ranks: np.ndarray,
                 weight_runs: int = 200) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Each alternative method, one choice changed from the nominal at a time.

    Returns the summary rows and, per choice, the largest absolute rank shift of
    each ranked province over that choice's alternatives (for the profiles).
    The ``weights`` alternative is ``weight_runs`` random weight draws with every
    other choice nominal; its row gives the median over the draws.
    """
    specs: list[tuple[str, str, Design]] = []
    base = Design.nominal(model)

    def variant(**changes: Any) -> Design:
        d = Design.nominal(model)
        for key, value in changes.items():
            getattr(d, key)[:] = value
        return d

    for n, name in enumerate(settings.normalisation):
        if not _norm_is_nominal(model, name):
            label = f"{name} ({settings.minmax_range[0]:g}-{settings.minmax_range[1]:g})" if name == "minmax" else name
            specs.append(("normalisation", label, variant(normalisation=n)))
    for name in settings.aggregation:
        if AGGREGATION_CODES[name] != base.aggregation[0]:
            specs.append(("aggregation", name, variant(aggregation=AGGREGATION_CODES[name])))
    for name in settings.missing:
        if MISSING_CODES[name] != 0:
            specs.append(("missing", name, variant(missing=MISSING_CODES[name])))
    for name in settings.outliers:
        if OUTLIER_CODES[name] != 0:
            specs.append(("outliers", name, variant(outliers=OUTLIER_CODES[name])))
    if settings.leave_one_out:
        for i, code in enumerate(model.indicators):
            specs.append(("leave_one_out", f"without {code}", variant(leave_out=i)))

    rows: list[dict[str, Any]] = []
    n_ranked = len(nominal_ranks)
    moved: dict[str, np.ndarray] = {c: np.zeros(n_ranked) for c in CHOICES}
    if specs:
        ev = evaluate(model, Design.concat([d for _, _, d in specs]))
        rho = spearman_rows(nominal_ranks, ev.ranks)
        for k, (choice, option, _) in enumerate(specs):
            shift = np.abs(ev.ranks[k] - nominal_ranks)
            moved[choice] = np.maximum(moved[choice], shift)
            rows.append({
                "choice": choice, "option": option,
                "spearman": None if np.isnan(rho[k]) else float(rho[k]),
                "kendall_tau_b": _kendall(nominal_ranks, ev.ranks[k]),
                "mean_abs_rank_shift": float(shift.mean()),
                "max_abs_rank_shift": int(shift.max()),
                "provinces_moved": int((shift > 0).sum()),
            })
    lo, hi = settings.weight_factor
    if hi > lo and weight_runs > 0:
        rng = np.random.default_rng(settings.seed + 1)
        d = Design.nominal(model, weight_runs)
        d.indicator_weight_factor = rng.uniform(lo, hi, size=d.indicator_weight_factor.shape)
        d.domain_weight_factor = rng.uniform(lo, hi, size=d.domain_weight_factor.shape)
        ev = evaluate(model, d)
        rho = spearman_rows(nominal_ranks, ev.ranks)
        shift = np.abs(ev.ranks - nominal_ranks[None, :])
        moved["weights"] = shift.max(axis=0).astype(float)
        rows.append({
            "choice": "weights",
            "option": f"{weight_runs} random draws of every weight x U[{lo:g}, {hi:g}] (median over draws)",
            "spearman": _none_if_nan(np.nanmedian(rho) if np.isfinite(rho).any() else np.nan),
            "kendall_tau_b": None,
            "mean_abs_rank_shift": float(np.median(shift.mean(axis=1))),
            "max_abs_rank_shift": int(shift.max()),
            "provinces_moved": int((shift.max(axis=0) > 0).sum()),
        })
    return rows, moved


def _kendall(a: np.ndarray, b: np.ndarray) -> float | None:
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    from scipy import stats

    return _none_if_nan(stats.kendalltau(a, b).statistic)


def _none_if_nan(x: float) -> float | None:
    x = float(x)
    return None if np.isnan(x) else x


def sensitivity_report(model: IndexModel, settings: UncertaintySettings, mc: MonteCarloResult,
                       sobol: SobolResult, alternative_rows: list[dict[str, Any]],
                       methodology_version: str | None = None) -> dict[str, Any]:
    """The content of sensitivity.json (plain JSON types)."""
    factors = []
    for j, choice in enumerate(sobol.choices):
        factors.append({
            "choice": choice,
            "encoding": ENCODING[choice],
            "first_order": float(sobol.first_order[j]),
            "first_order_conf": float(sobol.first_order_conf[j]),
            "total": float(sobol.total[j]),
            "total_conf": float(sobol.total_conf[j]),
        })
    largest = max(factors, key=lambda f: f["total"])["choice"] if factors and sobol.output_variance > 0 else None
    rho = spearman_rows(mc.nominal_ranks, mc.ranks)
    shift = mc.mean_abs_shift()
    finite = rho[np.isfinite(rho)]
    return {
        "methodology_version": methodology_version,
        "output": "mean absolute rank shift against the nominal ranking, over the ranked provinces",
        "nominal": {
            "normalisation": model.normalisation,
            "aggregation": model.aggregation,
            "missing": "drop",
            "outliers": "off",
            "leave_one_out": None,
            "weights": "as declared in the methodology",
            "note": "the nominal run is the methodology's own method; the Monte Carlo alternatives vary around it"
                    + ("" if model.normalisation != "minmax" else
                       "; the nominal minmax is 0-100, the minmax alternative uses uncertainty.minmax_range"),
        },
        "sobol": {
            "sampler": "SALib.sample.sobol.sample (Saltelli scheme, scrambled Sobol' sequence)",
            "estimator": "SALib.analyze.sobol.analyze (first-order and total indices, bootstrap confidence)",
            "calc_second_order": False,
            "base_samples": sobol.base_samples,
            "evaluations": sobol.evaluations,
            "num_resamples": settings.sobol_num_resamples,
            "conf_level": settings.sobol_conf_level,
            "seed": settings.seed,
            "output_variance": sobol.output_variance,
            "note": sobol.note,
        },
        "factors": factors,
        "fixed_choices": sobol.fixed,
        "largest_total_index": largest,
        "alternatives": alternative_rows,
        "monte_carlo": {
            "runs": int(mc.design.size),
            "seed": int(mc.seed),
            "spearman_vs_nominal": {
                "median": float(np.median(finite)) if finite.size else None,
                "p05": float(np.percentile(finite, 5)) if finite.size else None,
                "min": float(finite.min()) if finite.size else None,
            },
            "mean_abs_rank_shift": {
                "mean": float(shift.mean()),
                "median": float(np.median(shift)),
                "p95": float(np.percentile(shift, 95)),
            },
        },
        "winsorised_points": model.winsorised_points(0) if "winsorise" in settings.outliers else {},
        "settings": settings.as_dict(),
    }


__all__ = [
    "CHOICES", "ENCODING", "NOMINAL", "SobolResult", "alternatives", "average_ranks", "design_from_sample",
    "problem_for", "sensitivity_report", "sobol_indices", "spearman_rows",
]
