"""Robust, explained ranks: rank intervals, Sobol sensitivity, consistency, profiles.

Worked expectations:

- Dominance (4 provinces, real methodology): province A has the best value of
  every indicator. Every normalisation is monotone per indicator, winsorising
  only pulls A's value level with the next one, a weighted mean of scores that
  are all >= is >=, and ties share the better rank; so A is 1st in every run
  whatever the choices: its interval is exactly [1, 1].
- Swap (4 provinces, 5 domains x 2 indicators, goalposts 0-100, so value = score):
  A = 90 everywhere, B = 50 everywhere, C = 70 in D1-D4 and 10.5 in D5,
  D = 10 everywhere.
  Arithmetic: C = (4 x 70 + 10.5) / 5 = 58.1 > B = 50 (C 2nd, B 3rd).
  Geometric: C = exp((4 ln 70 + ln 10.5) / 5) = 47.9 < B = 50 (B 2nd, C 3rd).
  Under min-max (1-100) the swap also happens (C: 60.5 vs 50.5 arithmetic,
  34.9 vs 50.5 geometric); under z-scores (4 provinces) C stays ahead either
  way. With no missing values, no outliers (|skewness| of 4 points is at most 2)
  and both indicators of D5 equal (leaving one out changes nothing), the rank
  shift is 0.5 x [geometric] x [not z-score], up to the weights: analytically
  S1(aggregation) ~ 0.5 > S1(normalisation) ~ 0.25, and total indices ~ 0.75 > ~ 0.5.
  B and C swap in about a third of the runs, so both have the interval [2, 3]
  (width 1) while A and D keep [1, 1] and [4, 4].
- Seeds: with 1,000 runs a 5th/95th percentile rank is estimated to within a
  place or two; the tolerance between two seeds is: every bound within 2
  places, every median within 1 place, bounds on average within 0.35 places
  (measured worst case over 5 data sets x 15 seed pairs: 2, 1 and 0.16).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pipelines.methodology import load_methodology, parse_methodology
from pipelines.robustness import (
    IndexModel,
    UncertaintyConfigError,
    analyse,
    label,
    load_uncertainty,
    parse_uncertainty,
)
from pipelines.robustness.config import DEFAULTS_PATH
from pipelines.robustness.consistency import critical_r
from pipelines.robustness.engine import (
    Design,
    competition_ranks,
    evaluate,
    monte_carlo,
    normalise,
    peer_median_fill,
    round_half_away,
    skew_kurt,
    winsorise,
)
from pipelines.robustness.profiles import domain_contributions
from pipelines.robustness.sensitivity import design_from_sample, problem_for
from pipelines.settings import DEFAULT_METHODOLOGY


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def methodology():
    return load_methodology(DEFAULT_METHODOLOGY)


def five_domain_methodology(per_domain: int = 2, aggregation: str = "arithmetic", uncertainty: dict | None = None):
    """5 domains x ``per_domain`` indicators I<d><k>, all 'higher', goalposts 0-100, weights 1."""
    doc = {
        "version": "test",
        "method": {"normalisation": "goalposts", "aggregation": aggregation, "geometric_floor": 1.0,
                   "min_indicator_share": 0.65, "min_indicators_per_domain": 1, "rank_decimals": 2},
        "sectors": [{"code": "health", "name_vi": "Y tế", "name_en": "Health"}],
        "domains": [{"code": f"D{d}", "name_vi": f"Lĩnh vực {d}", "name_en": f"Domain {d}", "weight": 1}
                    for d in range(1, 6)],
        "data_elements": [
            {"code": "NUM", "sector": "health", "level": "commune", "kind": "count", "name_vi": "tử", "name_en": "n"},
            {"code": "DEN", "sector": "health", "level": "commune", "kind": "count", "name_vi": "mẫu", "name_en": "d"},
        ],
        "indicators": [
            {"code": f"I{d}{k}", "domain": f"D{d}", "name_vi": f"Chỉ tiêu {d}{k}", "name_en": f"Indicator {d}{k}",
             "numerator": ["NUM"], "denominator": ["DEN"], "multiplier": 100, "direction": "higher",
             "goalposts": {"low": 0, "high": 100}, "weight": 1, **({"target": {"2025": 60}} if k == 1 else {})}
            for d in range(1, 6) for k in range(1, per_domain + 1)
        ],
        "tiers": [{"tier": 1, "name_vi": "Nhóm 1", "name_en": "Group 1", "max_rank_share": 1.0}],
    }
    if uncertainty is not None:
        doc["uncertainty"] = uncertainty
    return parse_methodology(doc, Path("test-methodology.yaml"), "0" * 64)


def synthetic_values(methodology, provinces: int = 34, seed: int = 0) -> pd.DataFrame:
    """Values around the goalposts driven by one latent factor (as benchmarks/bench_robustness.py)."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=provinces)
    cols = {}
    for ind in methodology.indicators:
        mid, half = (ind.goal_low + ind.goal_high) / 2, (ind.goal_high - ind.goal_low) / 2
        sign = 1.0 if ind.direction == "higher" else -1.0
        v = mid + half * (0.45 * sign * latent + 0.35 * rng.normal(size=provinces))
        cols[ind.code] = np.clip(v, ind.goal_low - 0.1 * half, ind.goal_high + 0.2 * half)
    return pd.DataFrame(cols, index=[f"{i:02d}" for i in range(1, provinces + 1)])


@pytest.fixture(scope="module")
def values34(methodology):
    df = synthetic_values(methodology)
    df.iloc[3, 2] = np.nan
    df.iloc[7, 10] = np.nan
    df.iloc[5, 0] = df.iloc[:, 0].max() * 4
    return df


@pytest.fixture(scope="module")
def result34(methodology, values34):
    return analyse(values34, methodology, period="2025")


def dominance_values(methodology) -> pd.DataFrame:
    """A best on every indicator; B, C, D strictly below it, in mixed orders."""
    rng = np.random.default_rng(7)
    rows = {}
    positions = {"A": np.full(len(methodology.indicators), 0.95)}
    for name in "BCD":
        positions[name] = rng.uniform(0.05, 0.85, size=len(methodology.indicators))
    for name, pos in positions.items():
        row = {}
        for k, ind in enumerate(methodology.indicators):
            q = pos[k] if ind.direction == "higher" else 1 - pos[k]
            row[ind.code] = ind.goal_low + q * (ind.goal_high - ind.goal_low)
        rows[name] = row
    return pd.DataFrame(rows).T


SWAP = {"A": [90.0] * 10, "B": [50.0] * 10, "C": [70.0] * 8 + [10.5] * 2, "D": [10.0] * 10}


@pytest.fixture(scope="module")
def swap_result():
    m = five_domain_methodology()
    values = pd.DataFrame(SWAP, index=[i.code for i in m.indicators]).T
    return analyse(values, m)


# ---------------------------------------------------------------------------
# settings
# ---------------------------------------------------------------------------
def test_defaults_file_holds_the_issue_defaults():
    doc = yaml.safe_load(DEFAULTS_PATH.read_text(encoding="utf-8"))
    assert set(doc) == {"uncertainty"}  # ready to paste into the methodology file
    s = parse_uncertainty()
    assert s.runs == 1000 and s.runs >= 1000
    assert s.weight_factor == (0.75, 1.25)
    assert set(s.normalisation) >= {"minmax", "zscore"} and s.minmax_range == (1.0, 100.0)
    assert s.aggregation == ("arithmetic", "geometric")
    assert s.missing == ("drop", "peer_median")
    assert s.outliers == ("off", "winsorise")
    assert (s.outlier_abs_skewness, s.outlier_kurtosis, s.outlier_max_points) == (2.0, 3.5, 5)
    assert s.leave_one_out is True
    assert (s.robust_max_span, s.robust_median_within, s.sensitive_min_span) == (3, 1, 7)
    assert doc["uncertainty"]["labels"]["span"] == "p95 - p05"


def test_defaults_section_pasted_into_the_methodology_file_loads(tmp_path):
    doc = yaml.safe_load(DEFAULT_METHODOLOGY.read_text(encoding="utf-8"))
    doc["uncertainty"] = yaml.safe_load(DEFAULTS_PATH.read_text(encoding="utf-8"))["uncertainty"]
    m = parse_methodology(doc, tmp_path / "pasted.yaml", "0" * 64)
    assert load_uncertainty(m) == parse_uncertainty()


def test_the_methodology_files_own_section_is_what_runs():
    section = yaml.safe_load(DEFAULT_METHODOLOGY.read_text(encoding="utf-8")).get("uncertainty")
    assert section, "the methodology file declares its uncertain choices"
    assert load_uncertainty(load_methodology(DEFAULT_METHODOLOGY)) == parse_uncertainty(section)


def test_methodology_section_overrides_defaults():
    section = yaml.safe_load("runs: 2000\nseed: 7\noutliers: [off]\nlabels: {robust_max_span: 2}\n")
    m = five_domain_methodology(uncertainty=section)
    s = load_uncertainty(m)
    assert (s.runs, s.seed, s.outliers, s.robust_max_span) == (2000, 7, ("off",), 2)
    assert s.sensitive_min_span == 7 and s.normalisation == parse_uncertainty().normalisation  # merged, not replaced


@pytest.mark.parametrize("bad", [{"runs": 999}, {"normalisation": ["rank"]}, {"weight_factor": [1.2, 0.8]},
                                 {"labels": {"span": "p90 - p10"}}, {"sobol": {"base_samples": 500}}])
def test_invalid_settings_are_refused(bad):
    with pytest.raises(UncertaintyConfigError):
        parse_uncertainty(bad)


def test_labels_follow_the_thresholds():
    s = parse_uncertainty()
    assert label(0, 1.0, 1, s) == "robust"
    assert label(3, 13.0, 12, s) == "robust"          # span 3, median within 1
    assert label(3, 13.5, 12, s) == "moderate"        # median 1.5 away
    assert label(4, 12.0, 12, s) == "moderate"
    assert label(7, 12.0, 12, s) == "moderate"        # sensitive only when the span is MORE than 7
    assert label(8, 12.0, 12, s) == "sensitive"


# ---------------------------------------------------------------------------
# nominal ranking = the pipeline's rule
# ---------------------------------------------------------------------------
def reference_pcri(values: pd.DataFrame, methodology) -> tuple[pd.Series, pd.Series]:
    """docs/architecture.md, written directly in pandas: goalposts, weighted means, arithmetic PCRI."""
    scores = pd.DataFrame(index=values.index)
    for ind in methodology.indicators:
        v = values[ind.code]
        t = (v - ind.goal_low) if ind.direction == "higher" else (ind.goal_high - v)
        scores[ind.code] = (100 * t / (ind.goal_high - ind.goal_low)).clip(0, 100)
    domain = pd.DataFrame(index=values.index)
    for d in methodology.domains:
        inds = [i for i in methodology.indicators if i.domain == d.code]
        s = scores[[i.code for i in inds]]
        w = pd.Series({i.code: i.weight for i in inds})
        domain[d.code] = (s * w).sum(axis=1, min_count=1) / s.notna().mul(w).sum(axis=1)
    dw = pd.Series({d.code: d.weight for d in methodology.domains})
    pcri = (domain * dw).sum(axis=1) / domain.notna().mul(dw).sum(axis=1)
    used = values[[i.code for i in methodology.indicators]].notna()
    ranked = (used.sum(axis=1) / used.shape[1] >= methodology.method["min_indicator_share"]) & domain.notna().all(axis=1)
    rounded = np.floor(pcri[ranked] * 100 + 0.5) / 100
    return pcri, rounded.rank(method="min", ascending=False).astype(int)


def test_nominal_ranks_follow_the_pipeline_rule(methodology, values34):
    values = values34.copy()
    values.loc["35"] = values.loc["02"]                      # identical: shares the better rank
    values.loc["36"] = values.loc["03"]
    values.loc["36", "R2_CP_WORKER_COMMUNES"] += 1e-6        # equal at 2 decimals: shares the better rank
    values.loc["37"] = values.loc["04"]
    values.loc["37", values.columns[:9]] = np.nan            # 11/20 < 65%: not ranked
    settings = parse_uncertainty()
    model = IndexModel.build(values, methodology, settings)
    ev = evaluate(model, Design.nominal(model))
    pcri, ranks = reference_pcri(values, methodology)
    assert model.ranked_provinces == tuple(ranks.index)
    np.testing.assert_allclose(ev.pcri[0], pcri.to_numpy(), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(ev.ranks[0], ranks.to_numpy())
    got = dict(zip(model.ranked_provinces, ev.ranks[0]))
    assert got["35"] == got["02"] and got["36"] == got["03"]
    assert "37" not in got and model.not_ranked_reason[model.provinces.index("37")]


# ---------------------------------------------------------------------------
# the issue's fixtures
# ---------------------------------------------------------------------------
def test_dominating_province_interval_is_exactly_1_1(methodology):
    values = dominance_values(methodology)
    result = analyse(values, methodology)
    row = result.rank_uncertainty.set_index("province_code").loc["A"]
    assert (row.nominal_rank, row.median_rank, row.p05_rank, row.p95_rank, row.interval_width) == (1, 1, 1, 1, 0)
    assert row.label == "robust"
    mc = result.monte_carlo
    assert (mc.ranks[:, mc.provinces.index("A")] == 1).all()  # first in every one of the 1,000 runs
    assert result.profiles["A"]["sensitivity"]["moved_most_by"] is None


def test_swap_between_aggregations_widens_both_and_aggregation_leads(swap_result):
    ru = swap_result.rank_uncertainty.set_index("province_code")
    assert ru.loc["C", "nominal_rank"] == 2 and ru.loc["B", "nominal_rank"] == 3
    for p in "BC":
        assert (ru.loc[p, "p05_rank"], ru.loc[p, "p95_rank"], ru.loc[p, "interval_width"]) == (2, 3, 1)
    for p, r in (("A", 1), ("D", 4)):
        assert (ru.loc[p, "p05_rank"], ru.loc[p, "p95_rank"], ru.loc[p, "interval_width"]) == (r, r, 0)
    mc = swap_result.monte_carlo
    swapped = (mc.ranks[:, mc.provinces.index("B")] < mc.ranks[:, mc.provinces.index("C")]).mean()
    assert 0.2 < swapped < 0.45  # about a third (geometric x goalposts or min-max)

    factors = {f["choice"]: f for f in swap_result.sensitivity["factors"]}
    others = [c for c in factors if c != "aggregation"]
    assert all(factors["aggregation"]["first_order"] > factors[c]["first_order"] for c in others)
    assert all(factors["aggregation"]["total"] > factors[c]["total"] for c in others)
    assert swap_result.sensitivity["largest_total_index"] == "aggregation"
    assert factors["aggregation"]["first_order"] == pytest.approx(0.5, abs=0.15)
    for c in ("missing", "outliers", "leave_one_out"):
        assert factors[c]["total"] == pytest.approx(0.0, abs=1e-9)  # they never move a rank here

    geo = next(a for a in swap_result.sensitivity["alternatives"] if a["option"] == "geometric")
    assert geo["spearman"] == pytest.approx(0.8) and geo["provinces_moved"] == 2
    assert swap_result.profiles["B"]["sensitivity"]["moved_most_by"] == "aggregation"
    assert swap_result.profiles["C"]["sensitivity"]["largest_rank_shift_one_at_a_time"]["aggregation"] == 1


def test_same_seed_same_output(methodology, values34, result34):
    again = analyse(values34, methodology, period="2025")
    pd.testing.assert_frame_equal(again.rank_uncertainty, result34.rank_uncertainty)
    assert again.sensitivity == result34.sensitivity
    assert again.profiles == result34.profiles
    assert again.consistency == result34.consistency
    np.testing.assert_array_equal(again.monte_carlo.ranks, result34.monte_carlo.ranks)


def test_different_seed_intervals_within_tolerance(methodology, values34, result34):
    settings = dataclasses.replace(load_uncertainty(methodology), seed=12345)
    other = analyse(values34, methodology, settings=settings, period="2025")
    a = result34.rank_uncertainty.set_index("province_code")
    b = other.rank_uncertainty.set_index("province_code")
    assert not np.array_equal(other.monte_carlo.ranks, result34.monte_carlo.ranks)
    bounds = np.r_[(a.p05_rank - b.p05_rank).abs().to_numpy(float), (a.p95_rank - b.p95_rank).abs().to_numpy(float)]
    assert bounds.max() <= 2
    assert bounds.mean() <= 0.35
    assert (a.median_rank - b.median_rank).abs().max() <= 1
    assert (a.nominal_rank == b.nominal_rank).all()


def test_profile_contributions_add_up_to_the_pcri(result34):
    for code, prof in result34.profiles.items():
        total = sum(d["contribution"] for d in prof["domains"] if d["contribution"] is not None)
        assert total == pytest.approx(prof["pcri"], abs=1e-9), code
        assert prof["contribution_method"].startswith("arithmetic")


def test_geometric_contributions_are_log_shares():
    scores, weights = np.array([80.0, 40.0, 0.5, 60.0, np.nan]), np.ones(5) / 5
    share = np.array([0.25] * 4)
    pcri = float(np.exp((share * np.log(np.maximum(scores[:4], 1.0))).sum()))
    c = domain_contributions(scores, weights, pcri, "geometric", 1.0)
    assert np.nansum(c) == pytest.approx(pcri)
    assert c[2] == pytest.approx(0.0) and np.isnan(c[4])  # a floored domain contributes nothing; a missing one none
    assert c[0] / c[1] == pytest.approx(np.log(80) / np.log(40))


# ---------------------------------------------------------------------------
# published tables
# ---------------------------------------------------------------------------
def test_rank_uncertainty_table_and_files(result34, tmp_path):
    ru = result34.rank_uncertainty
    assert list(ru.columns) == ["province_code", "nominal_rank", "median_rank", "p05_rank", "p95_rank",
                                "interval_width", "label", "label_vi"]
    assert len(ru) == 34
    assert (ru.p05_rank <= ru.median_rank).all() and (ru.median_rank <= ru.p95_rank).all()
    assert (ru.interval_width == ru.p95_rank - ru.p05_rank).all()
    assert set(ru.label) <= {"robust", "moderate", "sensitive"}
    paths = result34.write(tmp_path)
    assert pd.read_parquet(paths["rank_uncertainty.parquet"]).shape == ru.shape
    assert paths["rank_uncertainty.csv"].read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads the UTF-8
    sens = json.loads(paths["sensitivity.json"].read_text(encoding="utf-8"))
    assert {f["choice"] for f in sens["factors"]} == {"weights", "normalisation", "aggregation", "missing",
                                                       "outliers", "leave_one_out"}
    assert all({"first_order", "total"} <= set(f) for f in sens["factors"])
    assert {a["choice"] for a in sens["alternatives"]} == {"weights", "normalisation", "aggregation", "missing",
                                                            "outliers", "leave_one_out"}
    assert all(a["spearman"] is None or -1 <= a["spearman"] <= 1 for a in sens["alternatives"])
    assert sens["monte_carlo"]["runs"] == result34.settings.runs >= 1000
    assert sens["nominal"]["normalisation"] == "goalposts"
    profiles = json.loads(paths["province_profiles.json"].read_text(encoding="utf-8"))
    assert set(profiles) == set(ru.province_code)
    json.loads(paths["consistency.json"].read_text(encoding="utf-8"))


def test_profile_content(result34, methodology):
    prof = result34.profiles["01"]
    ru = result34.rank_uncertainty.set_index("province_code").loc["01"]
    assert prof["rank"] == ru.nominal_rank and prof["rank_interval"]["label"] == ru.label
    assert [d["domain_code"] for d in prof["domains"]] == ["D1", "D2", "D3", "D4", "D5"]
    assert all(1 <= d["rank"] <= 34 for d in prof["domains"])
    top = [s["percentile_rank"] for s in prof["strengths"]]
    bottom = [s["percentile_rank"] for s in prof["weaknesses"]]
    assert len(top) == len(bottom) == 3 and min(top) >= max(bottom)
    assert prof["targets"]["year"] == "2025"
    assert prof["targets"]["indicators_with_target"] == sum(i.target_2025 is not None for i in methodology.indicators)
    mortality = next(e for e in prof["targets"]["indicators"] if e["indicator_code"] == "H1_U5_MORTALITY")
    assert mortality["meets_target"] == (mortality["value"] <= 18.5)  # lower is better
    assert prof["sensitivity"]["moved_most_by"] in {"weights", "normalisation", "aggregation", "missing",
                                                    "outliers", "leave_one_out"}


def test_published_nominal_ranking_is_checked(methodology, values34):
    model = IndexModel.build(values34, methodology, parse_uncertainty())
    ranks = evaluate(model, Design.nominal(model)).ranks[0]
    published = pd.DataFrame({"province_code": list(model.ranked_provinces), "rank": ranks.astype(float)})
    first, second = published.index[published["rank"] == 1][0], published.index[published["rank"] == 2][0]
    published.loc[[first, second], "rank"] = [2, 1]              # the pipeline disagrees on the top two
    published.loc[published.index[-1], "rank"] = np.nan          # and did not rank the last province
    result = analyse(values34, methodology, published)
    codes = [w["code"] for w in result.consistency]
    assert "robustness.nominal_mismatch" in codes
    assert len(result.rank_uncertainty) == 33
    top = result.rank_uncertainty.set_index("province_code")
    assert top.loc[published.province_code[first], "nominal_rank"] == 2
    assert result.profiles[published.province_code.iloc[-1]]["ranked"] is False


# ---------------------------------------------------------------------------
# internal consistency
# ---------------------------------------------------------------------------
def test_consistency_flags():
    m = five_domain_methodology(per_domain=3)
    rng = np.random.default_rng(3)
    n = 34
    latent = rng.normal(size=n)
    cols = {}
    for ind in m.indicators:
        cols[ind.code] = np.clip(50 + 15 * latent + 8 * rng.normal(size=n), 0, 100)
    cols["I12"] = np.clip(50 - 15 * latent + 8 * rng.normal(size=n), 0, 100)   # runs against its domain
    cols["I22"] = cols["I21"] + 0.01 * rng.normal(size=n)                        # near-duplicate pair
    cols["I33"] = np.clip(50 + 15 * rng.normal(size=n), 0, 100)                  # unrelated noise
    values = pd.DataFrame(cols, index=[f"{i:02d}" for i in range(1, n + 1)])
    result = analyse(values, m)
    warnings = result.consistency
    assert warnings and all(w["severity"] == "warning" for w in warnings)
    by_code: dict[str, list] = {}
    for w in warnings:
        by_code.setdefault(w["code"], []).append(w)
    assert any(w["indicator_code"] == "I12" for w in by_code["robustness.negative_correlation"])
    assert any(set(w["indicator_codes"]) == {"I21", "I22"} for w in by_code["robustness.collinear_pair"])
    assert any(set(w["indicator_codes"]) == {"I11", "I12"} for w in by_code["robustness.negative_pair"])
    assert any(w["domain_code"] == "D1" for w in by_code["robustness.low_alpha"])
    # the noise indicator: its correlation with the domain score (0.37) only clears r_crit = 0.34 because
    # the score contains it; against the rest of the domain and against the PCRI it cannot be told from zero
    assert any(w["indicator_code"] == "I33" and w["target"] == "domain_rest"
               for w in by_code["robustness.weak_correlation"])
    assert any(w["indicator_code"] == "I33" and w["target"] == "pcri" and not w["distinguishable_from_zero"]
               for w in by_code["robustness.negative_correlation"])
    table = result.consistency_tables["indicator_correlations"].set_index("indicator_code")
    assert table.loc["I33", "critical_r"] == pytest.approx(critical_r(34))
    assert not table.loc["I33", "pcri_distinguishable_from_zero"]
    assert not table.loc["I33", "domain_rest_distinguishable_from_zero"]
    assert table.loc["I11", "domain_distinguishable_from_zero"]
    alpha = result.consistency_tables["cronbach_alpha"].set_index("domain_code")["cronbach_alpha"]
    assert alpha["D2"] > 0.7 and alpha["D1"] < 0.7
    assert critical_r(34) == pytest.approx(0.339, abs=0.001)


# ---------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------
def test_winsorise_rule():
    x = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 30, 100.0])
    skew, kurt = skew_kurt(x)
    s = pd.Series(x)
    assert skew == pytest.approx(s.skew()) and kurt == pytest.approx(s.kurt())   # G1, excess G2
    out, n = winsorise(x, 2.0, 3.5, 5)
    assert 1 <= n <= 5 and out.max() < 100
    s2, k2 = skew_kurt(out)
    assert n == 5 or not (abs(s2) > 2 and k2 > 3.5)
    plain = np.linspace(0, 1, 20)
    assert winsorise(plain, 2.0, 3.5, 5) == (pytest.approx(plain), 0)
    with_nan = np.r_[x, np.nan]
    treated, _ = winsorise(with_nan, 2.0, 3.5, 5)
    assert np.isnan(treated[-1])


def test_peer_median_fill_uses_peer_groups():
    x = np.array([[1.0], [3.0], [np.nan], [10.0], [20.0], [np.nan]])
    np.testing.assert_allclose(peer_median_fill(x)[:, 0], [1, 3, 6.5, 10, 20, 6.5])
    groups = np.array([0, 0, 0, 1, 1, 2])
    np.testing.assert_allclose(peer_median_fill(x, groups)[:, 0], [1, 3, 2, 10, 20, 6.5])  # group 2 has no value


def test_sobol_factor_encoding(methodology, values34):
    settings = parse_uncertainty()
    model = IndexModel.build(values34, methodology, settings)
    problem, varied, fixed = problem_for(model, settings)
    assert varied == ["weights", "normalisation", "aggregation", "missing", "outliers", "leave_one_out"]
    assert fixed == [] and problem["groups"].count("weights") == 20 + 5
    u = (np.arange(2100) + 0.5) / 2100
    x = np.tile(np.array([b[0] for b in problem["bounds"]], dtype=float), (u.size, 1))
    for name in varied[1:]:
        x[:, problem["names"].index(name)] = u
    d = design_from_sample(model, settings, problem, x)
    assert np.bincount(d.normalisation).tolist() == [700, 700, 700]
    assert np.bincount(d.aggregation).tolist() == [1050, 1050]
    assert np.bincount(d.leave_out + 1).tolist() == [100] * 21     # none + each of the 20 indicators
    assert (d.indicator_weight_factor == 0.75).all()


def test_monte_carlo_draws_every_run(methodology, values34):
    """1,000 runs at once (its time is printed by benchmarks/bench_robustness.py)."""
    settings = parse_uncertainty()
    model = IndexModel.build(values34, methodology, settings)
    model.score_table()
    mc = monte_carlo(model, settings)
    assert mc.ranks.shape == (1000, 34) and mc.choices_frame().shape[0] == 1000


def test_long_marts_shape_is_accepted(methodology, values34):
    long = (values34.rename_axis("province_code").reset_index()
            .melt(id_vars="province_code", var_name="indicator_code", value_name="value")
            .assign(unit_level="province"))
    settings = parse_uncertainty()
    wide_model = IndexModel.build(values34, methodology, settings)
    long_model = IndexModel.build(long, methodology, settings)
    assert long_model.provinces == wide_model.provinces
    np.testing.assert_array_equal(evaluate(long_model, Design.nominal(long_model)).ranks,
                                  evaluate(wide_model, Design.nominal(wide_model)).ranks)


def test_rounding_ties_and_undefined_normalisation_as_in_the_pipeline():
    # DuckDB round(x, 2) on a double: round(x * 100) / 100, half away from zero (in doubles
    # 0.125 * 100, 2.675 * 100 and 71.235 * 100 are exactly 12.5, 267.5 and 7123.5)
    np.testing.assert_array_equal(round_half_away(np.array([0.125, 2.675, 71.235, -0.125]), 2),
                                  [0.13, 2.68, 71.24, -0.13])
    assert round_half_away(np.array([0.49999999999999994]), 0)[0] == 0.0
    np.testing.assert_array_equal(competition_ranks(np.array([70.004, 70.0, 80.0, np.nan, 60.0]), 2),
                                  [2, 2, 1, 5, 4])
    x = np.array([[5.0, 1.0], [5.0, 2.0], [5.0, np.nan]])
    sign, low, high = np.array([1.0, -1.0]), np.array([0.0, 0.0]), np.array([10.0, 10.0])
    mm = normalise(x, "minmax", sign, low, high)
    assert np.isnan(mm[:, 0]).all() and mm[0, 1] == 100.0 and mm[1, 1] == 0.0 and np.isnan(mm[2, 1])
    assert np.isnan(normalise(x, "zscore", sign, low, high)[:, 0]).all()
    np.testing.assert_allclose(normalise(x, "minmax", sign, low, high, (1, 100))[:2, 1], [100, 1])
