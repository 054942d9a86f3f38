"""Vectorised Monte Carlo of the PCRI under uncertain method choices.

Input: a province x indicator matrix of raw indicator VALUES (NaN = missing),
the indicator metadata of the methodology (domain, direction, weight,
goalposts), the domain weights and the nominal method. Output: the PCRI and the
rank of every ranked province in every run, and the choices sampled per run.

How a run is computed (the formulas of docs/architecture.md):

1. missing data: ``drop`` keeps NaN (the indicator drops out of the province's
   domain mean); ``peer_median`` fills NaN with the median of the province's
   peers (all provinces with a value, or its peer group when one is given);
2. outliers: ``winsorise`` treats each indicator by the skewness/kurtosis rule
   (see :func:`winsorise`); ``off`` leaves the values as they are;
3. normalisation to a 0-100 score oriented so that higher is better
   (``goalposts``, ``minmax``, ``zscore``; see :func:`normalise`);
4. domain score = weighted mean of the available indicator scores of the domain
   (a left-out indicator has weight 0);
5. PCRI = weighted arithmetic mean of the domain scores, or weighted geometric
   mean exp(sum w ln(max(score, floor)) / sum w); a domain with no available
   indicator in a run (possible only when an indicator is left out) drops out
   of that province's PCRI mean;
6. rank: PCRI compared at ``rank_decimals`` (rounded half away from zero), rank
   1 best, equal values share the better rank, among the ranked provinces only.

Steps 1-3 do not depend on the weights or the aggregation, so the engine
computes the (missing x outliers x normalisation) score matrices once (at most
2 x 2 x 4 data variants). Steps 4-6 run for all runs at once in numpy, in
chunks of runs to bound memory: the domain sums of all the runs that share a
data variant are one matrix product, scores (P x I) @ weights (I x runs*D),
and the PCRI and ranks are array operations over (runs x provinces). There is
no Python loop over runs.

The nominal run is the methodology's own method: its ``normalisation`` exactly
as the pipeline computes it (goalposts 0-100; a nominal ``minmax`` is 0-100 as
in the pipeline, while the ``minmax`` alternative of the Monte Carlo is
rescaled to ``minmax_range``, 1-100 by default), its ``aggregation``, missing
data dropped, no outlier treatment, no indicator left out, the declared weights.
In a :class:`Design` the normalisation code ``NOMINAL`` (-1) means that exact
nominal method; codes 0.. index the configured options.

The set of ranked provinces is fixed by the nominal eligibility rule
(``min_indicator_share`` and ``min_indicators_per_domain``, or the published
nominal ranking): an alternative method changes ranks, never who is ranked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipelines.robustness.config import UncertaintySettings

NOMINAL = -1
AGGREGATION_CODES = {"arithmetic": 0, "geometric": 1}
MISSING_CODES = {"drop": 0, "peer_median": 1}
OUTLIER_CODES = {"off": 0, "winsorise": 1}
DEFAULT_CHUNK = 1024


class RobustnessInputError(ValueError):
    """The values or the methodology cannot be analysed; the message says why."""


# ---------------------------------------------------------------------------
# Elementary operations
# ---------------------------------------------------------------------------
def round_half_away(x: np.ndarray, decimals: int) -> np.ndarray:
    """Round as DuckDB's ``round(x, decimals)`` on a double: round(x * 10^d) / 10^d, half away from zero.

    ``a - floor(a)`` is exact in floating point, so the half-way test has no
    rounding error of its own (``floor(a + 0.5)`` would round 0.49999999999999994 up).
    """
    m = 10.0 ** decimals
    a = np.abs(np.asarray(x, dtype=float) * m)
    f = np.floor(a)
    return np.sign(x) * (f + (a - f >= 0.5)) / m


def competition_ranks(scores: np.ndarray, decimals: int) -> np.ndarray:
    """Rank along the last axis, 1 = highest; equal (rounded) values share the better rank.

    ``scores`` is (..., P); NaN ranks after every number. Returns int32 (..., P).
    """
    s = round_half_away(np.asarray(scores, dtype=float), decimals)
    s = np.where(np.isnan(s), -np.inf, s)
    greater = s[..., None, :] > s[..., :, None]  # [..., i, j] = s_j > s_i
    return (1 + greater.sum(axis=-1)).astype(np.int32)


def skew_kurt(v: np.ndarray) -> tuple[float, float]:
    """Sample skewness G1 and excess kurtosis G2 (the bias-adjusted estimators, as in Excel, COINr, pandas)."""
    n = v.size
    if n < 4:
        return float("nan"), float("nan")
    d = v - v.mean()
    m2 = float(np.sum(d * d))
    if m2 <= 0:
        return 0.0, float("nan")
    g1 = np.sqrt(n) * float(np.sum(d**3)) / m2**1.5
    skew = g1 * np.sqrt(n * (n - 1)) / (n - 2)
    r = n * float(np.sum(d**4)) / m2**2
    kurt = ((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3))
    return float(skew), float(kurt)


def winsorise(x: np.ndarray, abs_skewness: float, kurtosis: float, max_points: int) -> tuple[np.ndarray, int]:
    """Winsorise one indicator while |skewness| > abs_skewness and kurtosis > kurtosis.

    Each step gives the most extreme value(s) on the side of the skew (the
    maximum when skewness >= 0, else the minimum) the next value inward; it
    stops when the rule no longer holds or when another step would treat more
    than ``max_points`` points in all (tied extremes are treated together).
    NaN stay NaN. Returns the treated copy and the number of points treated.
    """
    out = np.array(x, dtype=float, copy=True)
    ok = ~np.isnan(out)
    v = out[ok]
    treated = 0
    while True:
        skew, kurt = skew_kurt(v)
        if not (np.isfinite(skew) and np.isfinite(kurt) and abs(skew) > abs_skewness and kurt > kurtosis):
            break
        extreme = v == (v.max() if skew >= 0 else v.min())
        rest = v[~extreme]
        if rest.size == 0 or treated + int(extreme.sum()) > max_points:
            break
        v[extreme] = rest.max() if skew >= 0 else rest.min()
        treated += int(extreme.sum())
    out[ok] = v
    return out, treated


def peer_median_fill(values: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """Fill NaN with the indicator's median over the province's peers.

    Peers are the province's group when ``groups`` is given (one label per
    province) and that group has a value; otherwise all provinces with a value.
    An indicator without any value stays NaN.
    """
    out = np.array(values, dtype=float, copy=True)
    missing = np.isnan(out)
    if not missing.any():
        return out
    with np.errstate(all="ignore"):
        overall = np.array([np.nanmedian(c) if (~np.isnan(c)).any() else np.nan for c in out.T])
    for i in np.nonzero(missing.any(axis=0))[0]:
        column = values[:, i]
        for p in np.nonzero(missing[:, i])[0]:
            fill = overall[i]
            if groups is not None:
                peer = column[(groups == groups[p]) & ~np.isnan(column)]
                if peer.size:
                    fill = float(np.median(peer))
            out[p, i] = fill
    return out


def normalise(values: np.ndarray, method: str, sign: np.ndarray, low: np.ndarray, high: np.ndarray,
              minmax_range: tuple[float, float] = (0.0, 100.0)) -> np.ndarray:
    """Score matrix (P, I), higher = better, NaN kept.

    - ``goalposts``: 100 (v - low)/(high - low) (``lower``: 100 (high - v)/(high - low)), clipped to [0, 100];
    - ``minmax``: the same with low/high = min/max over the provinces, mapped onto ``minmax_range``
      (0-100 for the pipeline's own minmax; 1-100 for the Monte Carlo alternative);
    - ``zscore``: 50 + 10 z (z with the sample standard deviation, sign flipped for ``lower``),
      clipped to [0, 100].

    As in the pipeline (int_indicator_scores), an indicator without spread (minmax with
    max = min, zscore with a standard deviation of 0 or a single value) has no score: the
    normalisation is undefined and the indicator drops out like a missing value.
    """
    x = np.asarray(values, dtype=float)
    sign = np.asarray(sign, dtype=float)
    with np.errstate(all="ignore"):
        if method == "goalposts":
            t = np.where(sign > 0, (x - low) / (high - low), (high - x) / (high - low))
            return np.clip(100.0 * t, 0.0, 100.0)
        if method == "minmax":
            lo, hi = minmax_range
            has = (~np.isnan(x)).any(axis=0)
            mn = np.where(has, np.nanmin(np.where(np.isnan(x), np.inf, x), axis=0), np.nan)
            mx = np.where(has, np.nanmax(np.where(np.isnan(x), -np.inf, x), axis=0), np.nan)
            span = mx - mn
            t = np.where(sign > 0, (x - mn) / span, (mx - x) / span)
            return np.where(np.isnan(x) | ~(span > 0), np.nan, lo + (hi - lo) * t)
        if method == "zscore":
            n = (~np.isnan(x)).sum(axis=0)
            mean = np.nansum(x, axis=0) / np.maximum(n, 1)
            dev = np.where(np.isnan(x), 0.0, x - mean)
            sd = np.sqrt((dev**2).sum(axis=0) / np.maximum(n - 1, 1))
            z = (x - mean) / np.where(sd > 0, sd, 1.0) * sign
            undefined = np.isnan(x) | ~(sd > 0) | (n < 2)
            return np.where(undefined, np.nan, np.clip(50.0 + 10.0 * z, 0.0, 100.0))
    raise RobustnessInputError(f"unknown normalisation '{method}'")


# ---------------------------------------------------------------------------
# The model: data + method, with the score matrices of every data variant
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class IndexModel:
    provinces: tuple[str, ...]
    indicators: tuple[str, ...]
    domains: tuple[str, ...]
    values: np.ndarray            # (P, I) raw values, NaN = missing
    domain_of: np.ndarray         # (I,) index into domains
    sign: np.ndarray              # (I,) +1 higher is better, -1 lower is better
    goal_low: np.ndarray          # (I,)
    goal_high: np.ndarray         # (I,)
    indicator_weight: np.ndarray  # (I,) declared weights
    domain_weight: np.ndarray     # (D,) declared weights
    normalisation: str            # nominal normalisation (methodology)
    aggregation: str              # nominal aggregation (methodology)
    geometric_floor: float
    rank_decimals: int
    ranked: np.ndarray            # (P,) bool: ranked under the nominal method
    not_ranked_reason: tuple[str | None, ...]
    norm_options: tuple[str, ...]
    minmax_range: tuple[float, float]
    outlier_rule: tuple[float, float, int]
    peer_groups: np.ndarray | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # -- construction ------------------------------------------------------
    @classmethod
    def build(cls, values: pd.DataFrame, methodology: Any, settings: UncertaintySettings, *,
              peers: pd.Series | dict | None = None, ranked: pd.Series | None = None) -> "IndexModel":
        """From a wide frame (index province_code, one column per indicator_code) and the methodology."""
        wide = to_wide(values)
        codes = [i.code for i in methodology.indicators]
        absent = [c for c in codes if c not in wide.columns]
        if absent:
            raise RobustnessInputError(f"values have no column for indicator(s) {', '.join(absent)}")
        if wide.index.has_duplicates:
            raise RobustnessInputError("values have a province_code more than once")
        if len(wide.index) < 2:
            raise RobustnessInputError("at least two provinces are needed to rank")
        x = wide[codes].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        x = np.where(np.isfinite(x), x, np.nan)
        domains = tuple(d.code for d in methodology.domains)
        dom_index = {d: k for k, d in enumerate(domains)}
        method = methodology.method
        provinces = tuple(str(p) for p in wide.index)

        model_kw: dict[str, Any] = dict(
            provinces=provinces,
            indicators=tuple(codes),
            domains=domains,
            values=x,
            domain_of=np.array([dom_index[i.domain] for i in methodology.indicators], dtype=np.int64),
            sign=np.array([1.0 if i.direction == "higher" else -1.0 for i in methodology.indicators]),
            goal_low=np.array([i.goal_low for i in methodology.indicators], dtype=float),
            goal_high=np.array([i.goal_high for i in methodology.indicators], dtype=float),
            indicator_weight=np.array([i.weight for i in methodology.indicators], dtype=float),
            domain_weight=np.array([d.weight for d in methodology.domains], dtype=float),
            normalisation=str(method["normalisation"]),
            aggregation=str(method["aggregation"]),
            geometric_floor=float(method.get("geometric_floor", 1.0)),
            rank_decimals=int(method.get("rank_decimals", 2)),
            norm_options=tuple(settings.normalisation),
            minmax_range=tuple(settings.minmax_range),
            outlier_rule=(settings.outlier_abs_skewness, settings.outlier_kurtosis, settings.outlier_max_points),
        )
        # used = has a score under the nominal method (as the pipeline counts indicators_used)
        nominal_scores = normalise(x, model_kw["normalisation"], model_kw["sign"], model_kw["goal_low"],
                                   model_kw["goal_high"])
        eligible, reasons = eligibility(nominal_scores, model_kw["domain_of"], len(domains),
                                        float(method["min_indicator_share"]),
                                        int(method.get("min_indicators_per_domain", 1)))
        if ranked is not None:
            ranked = pd.Series(ranked)
            ranked.index = ranked.index.astype(str)
            flags = np.array([bool(ranked.get(p, False)) for p in provinces])
            reasons = [None if f else (r or "Không được xếp hạng trong bảng xếp hạng chính thức")
                       for r, f in zip(reasons, flags)]
            eligible = flags
        if eligible.sum() < 2:
            raise RobustnessInputError("fewer than two provinces are ranked; nothing to analyse")
        groups = None
        if peers is not None:
            peers = pd.Series(peers)
            peers.index = peers.index.astype(str)
            labels = [peers.get(p) for p in provinces]
            codes_of = {lab: k for k, lab in enumerate(pd.unique(pd.Series(labels, dtype=object)))}
            groups = np.array([codes_of[lab] for lab in labels])
        return cls(ranked=eligible, not_ranked_reason=tuple(reasons), peer_groups=groups, **model_kw)

    # -- derived -----------------------------------------------------------
    @property
    def ranked_provinces(self) -> tuple[str, ...]:
        return tuple(p for p, r in zip(self.provinces, self.ranked) if r)

    @property
    def membership(self) -> np.ndarray:
        """(I, D) 0/1 matrix: indicator i belongs to domain d."""
        m = np.zeros((len(self.indicators), len(self.domains)))
        m[np.arange(len(self.indicators)), self.domain_of] = 1.0
        return m

    def treated_values(self, missing: int, outliers: int) -> np.ndarray:
        """Raw values after the missing-data and outlier choices (codes of MISSING_CODES, OUTLIER_CODES)."""
        key = f"values-{missing}-{outliers}"
        if key not in self._cache:
            x = self.values if missing == 0 else peer_median_fill(self.values, self.peer_groups)
            if outliers == 1:
                cols, counts = [], []
                for i in range(x.shape[1]):
                    col, n = winsorise(x[:, i], *self.outlier_rule)
                    cols.append(col)
                    counts.append(n)
                x = np.column_stack(cols)
                self._cache[f"winsorised-{missing}"] = np.array(counts)
            self._cache[key] = x
        return self._cache[key]

    def winsorised_points(self, missing: int = 0) -> dict[str, int]:
        """Points treated per indicator under the ``winsorise`` option (only indicators with any)."""
        self.treated_values(missing, 1)
        counts = self._cache[f"winsorised-{missing}"]
        return {c: int(n) for c, n in zip(self.indicators, counts) if n}

    def score_table(self) -> np.ndarray:
        """(2 missing, 2 outliers, K+1 normalisations, P, I): every score matrix a run can use.

        The last normalisation slot (index -1 == NOMINAL) is the methodology's own method.
        """
        if "scores" not in self._cache:
            k = len(self.norm_options)
            table = np.empty((2, 2, k + 1, len(self.provinces), len(self.indicators)))
            for m in (0, 1):
                for o in (0, 1):
                    x = self.treated_values(m, o)
                    for n, name in enumerate(self.norm_options):
                        rng = self.minmax_range if name == "minmax" else (0.0, 100.0)
                        table[m, o, n] = normalise(x, name, self.sign, self.goal_low, self.goal_high, rng)
                    table[m, o, k] = normalise(x, self.normalisation, self.sign, self.goal_low, self.goal_high)
            self._cache["scores"] = table
        return self._cache["scores"]


def to_wide(values: pd.DataFrame) -> pd.DataFrame:
    """Accept the wide matrix (index province_code) or the long marts shape.

    Long: columns ``indicator_code`` and ``value`` plus ``province_code`` (or ``unit_code``).
    Wide: a ``province_code`` column is used as the index when present.
    """
    df = values
    if {"indicator_code", "value"} <= set(df.columns):
        key = "province_code" if "province_code" in df.columns else "unit_code"
        if key not in df.columns:
            raise RobustnessInputError("long values need a province_code or unit_code column")
        if "unit_level" in df.columns:
            df = df[df["unit_level"] == "province"]
        df = df.pivot_table(index=key, columns="indicator_code", values="value", aggfunc="first", dropna=False)
    elif "province_code" in df.columns:
        df = df.set_index("province_code")
    df = df.copy()
    df.index = df.index.astype(str)
    df.index.name = "province_code"
    return df


def eligibility(values: np.ndarray, domain_of: np.ndarray, n_domains: int, min_share: float,
                min_per_domain: int) -> tuple[np.ndarray, list[str | None]]:
    """Ranked under the methodology's rule, and the reason (Vietnamese) when not.

    ``values`` are the nominal scores: an indicator is used when it has one.
    """
    have = ~np.isnan(values)
    used = have.sum(axis=1)
    total = values.shape[1]
    per_domain = np.stack([have[:, domain_of == d].sum(axis=1) for d in range(n_domains)], axis=1)
    share_ok = used / total >= min_share - 1e-12
    domain_ok = (per_domain >= min_per_domain).all(axis=1)
    reasons: list[str | None] = []
    for p in range(values.shape[0]):
        if not share_ok[p]:
            reasons.append(f"Chỉ có {used[p]}/{total} chỉ tiêu có số liệu (cần tối thiểu {min_share:.0%})")
        elif not domain_ok[p]:
            reasons.append(f"Có lĩnh vực có ít hơn {min_per_domain} chỉ tiêu có số liệu")
        else:
            reasons.append(None)
    return share_ok & domain_ok, reasons


# ---------------------------------------------------------------------------
# Designs: the choices of every run
# ---------------------------------------------------------------------------
@dataclass
class Design:
    """The choices of R runs.

    normalisation: index into the model's ``norm_options``, or NOMINAL (-1) for the methodology's method;
    aggregation / missing / outliers: codes of AGGREGATION_CODES / MISSING_CODES / OUTLIER_CODES;
    leave_out: index of the left-out indicator, -1 for none;
    indicator_weight_factor (R, I) and domain_weight_factor (R, D): multipliers of the declared weights.
    """

    normalisation: np.ndarray
    aggregation: np.ndarray
    missing: np.ndarray
    outliers: np.ndarray
    leave_out: np.ndarray
    indicator_weight_factor: np.ndarray
    domain_weight_factor: np.ndarray

    @property
    def size(self) -> int:
        return int(self.normalisation.shape[0])

    @classmethod
    def nominal(cls, model: IndexModel, runs: int = 1) -> "Design":
        return cls(
            normalisation=np.full(runs, NOMINAL, dtype=np.int64),
            aggregation=np.full(runs, AGGREGATION_CODES[model.aggregation], dtype=np.int64),
            missing=np.zeros(runs, dtype=np.int64),
            outliers=np.zeros(runs, dtype=np.int64),
            leave_out=np.full(runs, -1, dtype=np.int64),
            indicator_weight_factor=np.ones((runs, len(model.indicators))),
            domain_weight_factor=np.ones((runs, len(model.domains))),
        )

    def take(self, rows: slice | np.ndarray) -> "Design":
        return Design(*(getattr(self, f)[rows] for f in self.__dataclass_fields__))

    @classmethod
    def concat(cls, designs: list["Design"]) -> "Design":
        return cls(*(np.concatenate([getattr(d, f) for d in designs]) for f in cls.__dataclass_fields__))

    def frame(self, model: IndexModel) -> pd.DataFrame:
        """One row per run: the choice of each uncertain step, readable."""
        norm_names = list(model.norm_options) + [f"nominal ({model.normalisation})"]
        agg = {v: k for k, v in AGGREGATION_CODES.items()}
        miss = {v: k for k, v in MISSING_CODES.items()}
        out = {v: k for k, v in OUTLIER_CODES.items()}
        df = pd.DataFrame({
            "run": np.arange(self.size),
            "normalisation": [norm_names[n] for n in self.normalisation],
            "aggregation": [agg[a] for a in self.aggregation],
            "missing": [miss[m] for m in self.missing],
            "outliers": [out[o] for o in self.outliers],
            "leave_out": [model.indicators[i] if i >= 0 else None for i in self.leave_out],
        })
        iw = pd.DataFrame(self.indicator_weight_factor, columns=[f"wf_{c}" for c in model.indicators])
        dw = pd.DataFrame(self.domain_weight_factor, columns=[f"wf_{c}" for c in model.domains])
        return pd.concat([df, iw, dw], axis=1)


def sample_design(model: IndexModel, settings: UncertaintySettings, runs: int, seed: int) -> Design:
    """Independent uniform draws of every choice (the Monte Carlo of the rank intervals)."""
    rng = np.random.default_rng(seed)
    n_ind, n_dom = len(model.indicators), len(model.domains)
    lo, hi = settings.weight_factor

    def pick(options: tuple[str, ...], codes: dict[str, int] | None) -> np.ndarray:
        idx = rng.integers(0, len(options), size=runs)
        if codes is None:
            return idx.astype(np.int64)
        return np.array([codes[o] for o in options], dtype=np.int64)[idx]

    normalisation = pick(settings.normalisation, None)
    aggregation = pick(settings.aggregation, AGGREGATION_CODES)
    missing = pick(settings.missing, MISSING_CODES)
    outliers = pick(settings.outliers, OUTLIER_CODES)
    leave_out = (rng.integers(-1, n_ind, size=runs) if settings.leave_one_out
                 else np.full(runs, -1)).astype(np.int64)
    ind_f = rng.uniform(lo, hi, size=(runs, n_ind))
    dom_f = rng.uniform(lo, hi, size=(runs, n_dom))
    return Design(normalisation, aggregation, missing, outliers, leave_out, ind_f, dom_f)


# ---------------------------------------------------------------------------
# Evaluation of a design, vectorised over runs
# ---------------------------------------------------------------------------
@dataclass
class Evaluation:
    pcri: np.ndarray                          # (R, P) PCRI of every province (NaN when none)
    ranks: np.ndarray                         # (R, Pr) ranks of the ranked provinces
    domain_scores: np.ndarray | None = None   # (R, P, D) with details=True
    indicator_scores: np.ndarray | None = None  # (R, P, I) with details=True
    indicator_weights: np.ndarray | None = None  # (R, I) renormalised within domain, with details=True
    domain_weights: np.ndarray | None = None     # (R, D) renormalised over domains, with details=True


def evaluate(model: IndexModel, design: Design, *, chunk: int = DEFAULT_CHUNK, details: bool = False) -> Evaluation:
    """PCRI and ranks of every run of ``design``."""
    table = model.score_table()
    membership = model.membership
    ranked = model.ranked
    n_p, n_i, n_d = len(model.provinces), len(model.indicators), len(model.domains)
    r_total = design.size
    pcri = np.empty((r_total, n_p))
    ranks = np.empty((r_total, int(ranked.sum())), dtype=np.int32)
    ds_all = np.empty((r_total, n_p, n_d)) if details else None
    sc_all = np.empty((r_total, n_p, n_i)) if details else None
    iw_all = np.empty((r_total, n_i)) if details else None
    dw_all = np.empty((r_total, n_d)) if details else None
    floor = model.geometric_floor

    n_norm = table.shape[2]
    flat = table.reshape(-1, n_p, n_i)                 # variant = (missing * 2 + outliers) * n_norm + norm
    avail_all = ~np.isnan(flat)
    filled_all = np.where(avail_all, flat, 0.0)
    avail_all = avail_all.astype(float)

    for start in range(0, r_total, chunk):
        d = design.take(slice(start, start + chunk))
        r = d.size
        w = model.indicator_weight[None, :] * d.indicator_weight_factor   # (r, I)
        left = d.leave_out >= 0
        w[np.nonzero(left)[0], d.leave_out[left]] = 0.0
        wm = w[:, :, None] * membership[None, :, :]                       # (r, I, D) weight of i in domain d
        variant = (d.missing * 2 + d.outliers) * n_norm + np.where(d.normalisation < 0, n_norm - 1,
                                                                     d.normalisation)
        num = np.empty((r, n_p, n_d))
        den = np.empty((r, n_p, n_d))
        # runs sharing a data variant share their score matrix: one matrix product per variant
        for v in np.unique(variant):
            sel = np.nonzero(variant == v)[0]
            stacked = wm[sel].transpose(1, 0, 2).reshape(n_i, -1)           # (I, n_sel * D)
            num[sel] = (filled_all[v] @ stacked).reshape(n_p, sel.size, n_d).transpose(1, 0, 2)
            den[sel] = (avail_all[v] @ stacked).reshape(n_p, sel.size, n_d).transpose(1, 0, 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            dscore = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        dw = model.domain_weight[None, :] * d.domain_weight_factor       # (r, D)
        valid = ~np.isnan(dscore)
        wv = np.where(valid, dw[:, None, :], 0.0)                         # (r, P, D)
        wsum = wv.sum(axis=2)
        safe = np.where(valid, dscore, 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            arith = (wv * safe).sum(axis=2) / wsum
            geo = np.exp((wv * np.log(np.maximum(safe, floor))).sum(axis=2) / wsum)
        value = np.where(d.aggregation[:, None] == 1, geo, arith)
        value = np.where(wsum > 0, value, np.nan)
        sl = slice(start, start + r)
        pcri[sl] = value
        ranks[sl] = competition_ranks(value[:, ranked], model.rank_decimals)
        if details:
            ds_all[sl] = dscore
            sc_all[sl] = flat[variant]
            wdom = w @ membership                                          # (r, D) weight total per domain
            with np.errstate(invalid="ignore", divide="ignore"):
                iw_all[sl] = np.where(wdom[:, model.domain_of] > 0, w / wdom[:, model.domain_of], 0.0)
            dw_all[sl] = dw / dw.sum(axis=1, keepdims=True)
    return Evaluation(pcri, ranks, ds_all, sc_all, iw_all, dw_all)


# ---------------------------------------------------------------------------
# Monte Carlo
# ---------------------------------------------------------------------------
@dataclass
class MonteCarloResult:
    model: IndexModel
    design: Design
    ranks: np.ndarray          # (R, Pr)
    pcri: np.ndarray           # (R, P)
    nominal_ranks: np.ndarray  # (Pr,) engine nominal
    seed: int

    @property
    def provinces(self) -> tuple[str, ...]:
        return self.model.ranked_provinces

    def ranks_frame(self) -> pd.DataFrame:
        """Runs x ranked provinces."""
        df = pd.DataFrame(self.ranks, columns=list(self.provinces))
        df.index.name = "run"
        return df

    def choices_frame(self) -> pd.DataFrame:
        return self.design.frame(self.model)

    def mean_abs_shift(self) -> np.ndarray:
        """(R,) mean absolute rank shift against the nominal ranking, per run."""
        return np.abs(self.ranks - self.nominal_ranks[None, :]).mean(axis=1)


def nominal_evaluation(model: IndexModel) -> Evaluation:
    return evaluate(model, Design.nominal(model), details=True)


def monte_carlo(model: IndexModel, settings: UncertaintySettings, *, runs: int | None = None,
                seed: int | None = None, chunk: int = DEFAULT_CHUNK) -> MonteCarloResult:
    runs = settings.runs if runs is None else int(runs)
    seed = settings.seed if seed is None else int(seed)
    design = sample_design(model, settings, runs, seed)
    ev = evaluate(model, design, chunk=chunk)
    nominal = evaluate(model, Design.nominal(model))
    return MonteCarloResult(model, design, ev.ranks, ev.pcri, nominal.ranks[0], seed)
