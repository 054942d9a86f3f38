"""Internal consistency of the framework: do the indicators of a domain belong together?

Computed on the nominal scores (normalised, oriented so that higher is better)
of the ranked provinces, pairwise complete:

- each indicator against its domain score and against the PCRI, Pearson and
  Spearman, with the two-sided p-value of a test against zero; with n
  provinces, |r| below the critical value r_crit(n) (0.339 for n = 34 at the
  5% level) cannot be told from zero. The correlation with the domain score is
  inflated by the indicator being part of it, so the correlation with the rest
  of the domain (the weighted mean of the domain's other indicators) is given
  too;
- every pair of indicators of a domain;
- Cronbach's alpha of each domain (provinces with every indicator of the domain).

Warnings (severity ``warning``, never blocking):

- ``robustness.negative_correlation``: an indicator correlates negatively with
  its domain score or with the PCRI (either coefficient);
- ``robustness.negative_pair``: two indicators of a domain correlate negatively
  and distinguishably from zero (a trade-off inside the domain);
- ``robustness.collinear_pair``: two indicators of a domain correlate above
  ``collinear_above`` (0.9; either coefficient): one may be redundant;
- ``robustness.weak_correlation``: an indicator's positive correlation with its
  domain score or with the PCRI is too weak to tell from zero; or (domains of
  3+ indicators) its correlation with the rest of its domain is (a pair in a
  2-indicator domain is covered by the pair checks);
- ``robustness.low_alpha``: Cronbach's alpha of a domain below ``alpha_min``;
- ``robustness.no_variation``: an indicator has the same score in every ranked
  province, so no correlation is defined.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from pipelines.checks.catalogue import message, messages
from pipelines.robustness.config import UncertaintySettings
from pipelines.robustness.engine import Evaluation, IndexModel

SEVERITY = "warning"


def critical_r(n: int, alpha: float = 0.05) -> float:
    """Smallest |r| that differs from zero at level ``alpha`` (two-sided t test) with n pairs."""
    if n < 3:
        return float("nan")
    from scipy import stats  # imported when used: SciPy is slow to import

    t = stats.t.ppf(1 - alpha / 2, n - 2)
    return float(t / np.sqrt(n - 2 + t * t))


def _corr(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    ok = ~np.isnan(x) & ~np.isnan(y)
    n = int(ok.sum())
    out = {"n": n, "pearson": np.nan, "pearson_p": np.nan, "spearman": np.nan, "spearman_p": np.nan}
    if n < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return out
    from scipy import stats

    pr = stats.pearsonr(x[ok], y[ok])
    sr = stats.spearmanr(x[ok], y[ok])
    out.update(pearson=float(pr.statistic), pearson_p=float(pr.pvalue),
               spearman=float(sr.statistic), spearman_p=float(sr.pvalue))
    return out


def cronbach_alpha(items: np.ndarray) -> tuple[float, int]:
    """Cronbach's alpha of the columns of ``items`` over complete rows; (alpha, rows used)."""
    complete = items[~np.isnan(items).any(axis=1)]
    n, k = complete.shape
    if k < 2 or n < 3:
        return float("nan"), n
    total_var = complete.sum(axis=1).var(ddof=1)
    if total_var <= 0:
        return float("nan"), n
    return float(k / (k - 1) * (1 - complete.var(axis=0, ddof=1).sum() / total_var)), n


def _fmt(x: float) -> str:
    return "n/a" if x is None or np.isnan(x) else f"{x:+.2f}"


def consistency_checks(model: IndexModel, nominal: Evaluation, settings: UncertaintySettings
                       ) -> tuple[list[dict[str, Any]], dict[str, pd.DataFrame]]:
    """Warnings and tables of the internal-consistency analysis."""
    rows = model.ranked
    scores = nominal.indicator_scores[0][rows]     # (Pr, I)
    domains = nominal.domain_scores[0][rows]       # (Pr, D)
    pcri = nominal.pcri[0][rows]                   # (Pr,)
    warnings: list[dict[str, Any]] = []
    ind_rows, pair_rows, alpha_rows = [], [], []

    def warn(code: str, text: tuple[str, str], **detail: Any) -> None:
        """A warning: its code, its (English, Vietnamese) message and its figures."""
        warnings.append({"code": code, "severity": SEVERITY, "message": text[0], "message_vi": text[1], **detail})

    for d, dom in enumerate(model.domains):
        members = np.nonzero(model.domain_of == d)[0]
        for i in members:
            ind_rows.append(_indicator(model, scores, domains[:, d], pcri, dom, i, members, settings, warn))
        for i, j in combinations(members, 2):
            pair_rows.append(_pair(model, scores, dom, i, j, settings, warn))
        alpha_rows.append(_alpha(scores, members, dom, settings, warn))

    tables = {
        "indicator_correlations": pd.DataFrame(ind_rows),
        "pair_correlations": pd.DataFrame(pair_rows, columns=[
            "domain_code", "indicator_a", "indicator_b", "n", "pearson", "pearson_p", "spearman", "spearman_p",
            "critical_r", "distinguishable_from_zero", "collinear", "negative"]),
        "cronbach_alpha": pd.DataFrame(alpha_rows),
    }
    return warnings, tables


def _indicator(model: IndexModel, scores, domain, pcri, dom: str, i: int, members, settings: UncertaintySettings,
               warn) -> dict[str, Any]:
    """The correlations of indicator ``i`` with its domain, the rest of the domain and the PCRI (and warnings)."""
    alpha_level = settings.significance
    code = model.indicators[i]
    x = scores[:, i]
    others = [j for j in members if j != i]
    rest = np.full(x.shape, np.nan)
    if others:
        sub = scores[:, others]
        w = model.indicator_weight[others]
        have = ~np.isnan(sub)
        den = (have * w).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            rest = np.where(den > 0, (np.where(have, sub, 0) * w).sum(axis=1) / den, np.nan)
    to_dom, to_pcri, to_rest = _corr(x, domain), _corr(x, pcri), _corr(x, rest)
    n = to_dom["n"]
    rc = critical_r(n, alpha_level)
    row = {
        "domain_code": dom, "indicator_code": code, "n": n, "critical_r": rc,
        "pearson_domain": to_dom["pearson"], "pearson_domain_p": to_dom["pearson_p"],
        "spearman_domain": to_dom["spearman"], "spearman_domain_p": to_dom["spearman_p"],
        "pearson_domain_rest": to_rest["pearson"], "spearman_domain_rest": to_rest["spearman"],
        "pearson_pcri": to_pcri["pearson"], "pearson_pcri_p": to_pcri["pearson_p"],
        "spearman_pcri": to_pcri["spearman"], "spearman_pcri_p": to_pcri["spearman_p"],
    }
    row["domain_distinguishable_from_zero"] = bool(
        np.nan_to_num(to_dom["pearson_p"], nan=1) < alpha_level
        or np.nan_to_num(to_dom["spearman_p"], nan=1) < alpha_level)
    row["domain_rest_distinguishable_from_zero"] = bool(
        np.nan_to_num(to_rest["pearson_p"], nan=1) < alpha_level
        or np.nan_to_num(to_rest["spearman_p"], nan=1) < alpha_level)
    row["pcri_distinguishable_from_zero"] = bool(
        np.nan_to_num(to_pcri["pearson_p"], nan=1) < alpha_level
        or np.nan_to_num(to_pcri["spearman_p"], nan=1) < alpha_level)
    _indicator_warnings(code, dom, x, row, to_dom, to_pcri, to_rest, len(others), alpha_level, warn)
    return row


def _indicator_warnings(code: str, dom: str, x, row: dict[str, Any], to_dom, to_pcri, to_rest, others: int,
                        alpha_level: float, warn) -> None:
    n, rc = row["n"], row["critical_r"]
    if n >= 3 and np.ptp(x[~np.isnan(x)]) == 0:
        warn("robustness.no_variation", messages("consistency.no_variation", ("en", "vi"), code=code, dom=dom),
             domain_code=dom, indicator_code=code)
        return
    for target, res in (("domain", to_dom), ("pcri", to_pcri)):
        neg = [res[k] for k in ("pearson", "spearman") if not np.isnan(res[k]) and res[k] < 0]
        if neg:
            sig = min(res["pearson_p"], res["spearman_p"]) < alpha_level
            kind = "consistency.negative_correlation"
            warn("robustness.negative_correlation",
                 (message(kind, "en", code=code, target=message(kind, f"en_{target}", dom=dom),
                          pearson=_fmt(res["pearson"]), spearman=_fmt(res["spearman"]), n=n,
                          significance=message(kind, "distinguishable") if sig else
                          message(kind, "indistinguishable", critical_r=rc)),
                  message(kind, "vi", code=code, target=message(kind, f"vi_{target}", dom=dom),
                          pearson=_fmt(res["pearson"]), spearman=_fmt(res["spearman"]), n=n)),
                 domain_code=dom, indicator_code=code, target=target, pearson=res["pearson"],
                 spearman=res["spearman"], n=n, distinguishable_from_zero=bool(sig))
        elif not row[f"{target}_distinguishable_from_zero"] and not np.isnan(res["pearson"]):
            kind = "consistency.weak_correlation"
            warn("robustness.weak_correlation",
                 (message(kind, "en", code=code, target=message(kind, f"en_{target}", dom=dom),
                          pearson=_fmt(res["pearson"]), spearman=_fmt(res["spearman"]), n=n, critical_r=rc,
                          significance=alpha_level),
                  message(kind, "vi", code=code, target=message(kind, f"vi_{target}", dom=dom), n=n,
                          critical_r=rc)),
                 domain_code=dom, indicator_code=code, target=target, pearson=res["pearson"],
                 spearman=res["spearman"], n=n, critical_r=rc)
    # the domain score contains the indicator itself; against the rest of the domain the
    # correlation is not inflated by that, and a weak one says the indicator stands apart
    if (others >= 2 and not np.isnan(to_rest["pearson"]) and to_dom["pearson"] >= 0
            and not row["domain_rest_distinguishable_from_zero"]):
        warn("robustness.weak_correlation",
             messages("consistency.weak_correlation", ("rest_en", "rest_vi"), code=code, dom=dom,
                      pearson=_fmt(to_rest["pearson"]), spearman=_fmt(to_rest["spearman"]), n=n, critical_r=rc,
                      domain_pearson=_fmt(to_dom["pearson"])),
             domain_code=dom, indicator_code=code, target="domain_rest", pearson=to_rest["pearson"],
             spearman=to_rest["spearman"], n=n, critical_r=rc)


def _pair(model: IndexModel, scores, dom: str, i: int, j: int, settings: UncertaintySettings,
          warn) -> dict[str, Any]:
    """The correlation of two indicators of a domain (and warnings when collinear or a trade-off)."""
    alpha_level = settings.significance
    a, b = model.indicators[i], model.indicators[j]
    res = _corr(scores[:, i], scores[:, j])
    rc = critical_r(res["n"], alpha_level)
    sig = min(np.nan_to_num(res["pearson_p"], nan=1), np.nan_to_num(res["spearman_p"], nan=1)) < alpha_level
    high = max(np.nan_to_num(res["pearson"], nan=-2), np.nan_to_num(res["spearman"], nan=-2))
    low = min(np.nan_to_num(res["pearson"], nan=2), np.nan_to_num(res["spearman"], nan=2))
    row = {"domain_code": dom, "indicator_a": a, "indicator_b": b, "n": res["n"],
           "pearson": res["pearson"], "pearson_p": res["pearson_p"],
           "spearman": res["spearman"], "spearman_p": res["spearman_p"], "critical_r": rc,
           "distinguishable_from_zero": bool(sig),
           "collinear": bool(high > settings.collinear_above),
           "negative": bool(low < 0)}
    if high > settings.collinear_above:
        warn("robustness.collinear_pair",
             messages("consistency.collinear_pair", ("en", "vi"), a=a, b=b, dom=dom,
                      limit=settings.collinear_above, pearson=_fmt(res["pearson"]), spearman=_fmt(res["spearman"]),
                      n=res["n"]),
             domain_code=dom, indicator_codes=[a, b], pearson=res["pearson"], spearman=res["spearman"],
             n=res["n"])
    if low < 0 and sig:
        warn("robustness.negative_pair",
             messages("consistency.negative_pair", ("en", "vi"), a=a, b=b, dom=dom,
                      pearson=_fmt(res["pearson"]), spearman=_fmt(res["spearman"]), n=res["n"]),
             domain_code=dom, indicator_codes=[a, b], pearson=res["pearson"], spearman=res["spearman"],
             n=res["n"])
    return row


def _alpha(scores, members, dom: str, settings: UncertaintySettings, warn) -> dict[str, Any]:
    """Cronbach's alpha of a domain (and a warning when it is low)."""
    alpha, n_complete = cronbach_alpha(scores[:, members])
    row = {"domain_code": dom, "indicators": len(members), "provinces_complete": n_complete,
           "cronbach_alpha": alpha}
    if len(members) >= 2 and not np.isnan(alpha) and alpha < settings.alpha_min:
        warn("robustness.low_alpha",
             messages("consistency.low_alpha", ("en", "vi"), dom=dom, alpha=alpha,
                      alpha_min=settings.alpha_min, provinces=n_complete, indicators=len(members)),
             domain_code=dom, cronbach_alpha=alpha, provinces_complete=n_complete)
    return row
