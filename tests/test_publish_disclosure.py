"""Disclosure control of sensitive commune figures (pure functions on DataFrames)."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from pipelines.methodology import load_methodology
from pipelines.publish.disclosure import DisclosureRule, apply_disclosure_control, audit
from pipelines.sensitive import sensitive_indicator_codes
from pipelines.settings import DEFAULT_METHODOLOGY

ABUSE = "P2_ABUSE_RATE"
MORTALITY = "H1_U5_MORTALITY"
SENSITIVE = {ABUSE}
RULE = DisclosureRule(1, 4)


def frame(groups: dict[tuple[str, str], list[float | None]], period: str = "2025") -> pd.DataFrame:
    """Rows of indicator_values: for each (province, indicator), its communes' numerators and the province row."""
    rows = []
    for (province, indicator), numerators in groups.items():
        for n, num in enumerate(numerators):
            den = 1000.0 + 100 * n
            value = None if num is None else num / den * 100000
            rows.append({"period": period, "unit_level": "commune", "unit_code": f"{province}{n:03d}",
                         "unit_name": f"Xã Số {n}", "province_code": province, "indicator_code": indicator,
                         "numerator": num, "denominator": den, "value": value,
                         "score": None if value is None else max(0.0, 100 - value)})
        total = sum(x for x in numerators if x is not None)
        den = sum(1000.0 + 100 * n for n in range(len(numerators)))
        rows.append({"period": period, "unit_level": "province", "unit_code": province, "unit_name": f"Tỉnh {province}",
                     "province_code": province, "indicator_code": indicator, "numerator": float(total),
                     "denominator": den, "value": total / den * 100000, "score": 50.0})
    df = pd.DataFrame(rows)
    df["numerator"] = df["numerator"].astype("Float64")
    for c in ("value", "score"):
        df[c] = df[c].astype("Float64")
    return df


def cell(df: pd.DataFrame, unit_code: str, indicator: str = ABUSE) -> pd.Series:
    return df[(df["unit_code"] == unit_code) & (df["indicator_code"] == indicator)].iloc[0]


def suppressed_codes(df: pd.DataFrame, province: str, indicator: str = ABUSE) -> list[str]:
    g = df[(df["province_code"] == province) & (df["indicator_code"] == indicator) & df["suppressed"]]
    return sorted(g["unit_code"])


def attacker_difference(original: pd.DataFrame, published: pd.DataFrame, province: str, indicator: str = ABUSE):
    """What a reader computes: the published province total minus the published communes."""
    prov = published[(published["unit_level"] == "province") & (published["unit_code"] == province)
                      & (published["indicator_code"] == indicator)]
    total = float(prov["numerator"].iloc[0])
    communes = published[(published["unit_level"] == "commune") & (published["province_code"] == province)
                         & (published["indicator_code"] == indicator)]
    return total - float(communes["numerator"].fillna(0).sum())


# --------------------------------------------------------------------------------------------------


def test_a_commune_with_three_cases_is_suppressed():
    df = frame({("01", ABUSE): [3, 0, 8, 12, 0]})
    out = apply_disclosure_control(df, SENSITIVE, RULE)
    row = cell(out.table, "01000")
    assert bool(row["suppressed"])
    assert pd.isna(row["numerator"]) and pd.isna(row["value"]) and pd.isna(row["score"])
    assert row["denominator"] == 1000.0  # the child population stays published
    assert out.primary == 1


@pytest.mark.parametrize("numerator", [1, 2, 3, 4])
def test_every_count_in_the_range_is_suppressed(numerator):
    out = apply_disclosure_control(frame({("01", ABUSE): [numerator, 9, 20]}), SENSITIVE, RULE)
    assert bool(cell(out.table, "01000")["suppressed"])


def test_zero_five_and_missing_are_published():
    df = frame({("01", ABUSE): [0, 5, None, 17]})
    out = apply_disclosure_control(df, SENSITIVE, RULE)
    assert not out.table["suppressed"].any() and out.cells_suppressed == 0
    pd.testing.assert_frame_equal(out.table.drop(columns="suppressed"), df)


def test_complementary_suppression_hides_the_smallest_nonzero_commune():
    df = frame({("01", ABUSE): [3, 0, 8, 12, 0, 6]})
    out = apply_disclosure_control(df, SENSITIVE, RULE)
    # 3 is primary; the smallest published count above zero is 6 (commune 005), not a zero
    assert suppressed_codes(out.table, "01") == ["01000", "01005"]
    assert (out.primary, out.complementary, out.cells_suppressed) == (1, 1, 2)
    difference = attacker_difference(df, out.table, "01")
    assert difference == 9  # 3 + 6: the sum of the suppressed communes, not either of them
    hidden = df.loc[df["unit_code"].isin(["01000", "01005"]) & (df["indicator_code"] == ABUSE), "numerator"]
    assert all(difference > h for h in hidden)
    assert out.residual == []


def test_ties_are_broken_by_the_lowest_commune_code():
    out = apply_disclosure_control(frame({("01", ABUSE): [7, 2, 7, 0]}), SENSITIVE, RULE)
    assert suppressed_codes(out.table, "01") == ["01000", "01001"]  # 7 at 000 and 002: the lower code
    out = apply_disclosure_control(frame({("01", ABUSE): [9, 7, 2, 7, 0]}), SENSITIVE, RULE)
    assert suppressed_codes(out.table, "01") == ["01001", "01002"]


def test_two_suppressed_counts_protect_each_other():
    out = apply_disclosure_control(frame({("01", ABUSE): [2, 1, 0, 9, 30]}), SENSITIVE, RULE)
    assert suppressed_codes(out.table, "01") == ["01000", "01001"]
    assert out.complementary == 0


def test_only_zeros_left_is_reported_as_residual():
    df = frame({("01", ABUSE): [0, 0, 1, 0]})
    out = apply_disclosure_control(df, SENSITIVE, RULE)
    # hidden among two communes (the lowest-coded zero joins it); the province total still says 1
    assert suppressed_codes(out.table, "01") == ["01000", "01002"]
    assert len(out.residual) == 1 and out.residual[0]["province_code"] == "01"
    assert out.residual[0]["suppressed_units"] == ["01000", "01002"]
    problems = audit(df, out.table, SENSITIVE, RULE)
    assert problems and all(p.startswith("residual:") for p in problems)


def test_province_figures_and_non_sensitive_indicators_are_untouched():
    df = frame({("01", ABUSE): [3, 0, 8, 12], ("01", MORTALITY): [3, 1, 2, 0],
                ("02", ABUSE): [1, 2, 4, 0], ("02", MORTALITY): [4, 4, 4, 4]})
    out = apply_disclosure_control(df, SENSITIVE, RULE)
    t = out.table
    provinces = t["unit_level"] == "province"
    pd.testing.assert_frame_equal(t[provinces].drop(columns="suppressed"), df[provinces])
    assert not t.loc[provinces, "suppressed"].any()
    other = t["indicator_code"] == MORTALITY
    pd.testing.assert_frame_equal(t[other].drop(columns="suppressed"), df[other])
    assert not t.loc[other, "suppressed"].any()
    # denominators of every row are published
    pd.testing.assert_series_equal(t["denominator"], df["denominator"])


def test_the_input_frame_is_not_modified():
    df = frame({("01", ABUSE): [3, 0, 8, 12], ("02", ABUSE): [1, 2, 4, 0]})
    before = df.copy(deep=True)
    out = apply_disclosure_control(df, SENSITIVE, RULE)
    pd.testing.assert_frame_equal(df, before)
    assert "suppressed" not in df.columns and out.table is not df
    assert list(out.table.columns) == list(df.columns) + ["suppressed"]
    assert str(out.table["suppressed"].dtype) == "boolean"


def test_periods_and_provinces_are_separate_groups():
    a = frame({("01", ABUSE): [3, 0, 8]}, period="2025H1")
    b = frame({("01", ABUSE): [0, 9, 8]}, period="2025H2")
    out = apply_disclosure_control(pd.concat([a, b], ignore_index=True), SENSITIVE, RULE)
    t = out.table
    assert sorted(t.loc[t["suppressed"], "period"] + t.loc[t["suppressed"], "unit_code"]) == [
        "2025H101000", "2025H101002"]


def test_the_rule_comes_from_the_methodology():
    m = load_methodology(DEFAULT_METHODOLOGY)
    assert DisclosureRule.from_methodology(m) == DisclosureRule(m.disclosure["suppress_min"],
                                                                m.disclosure["suppress_max"])
    assert sensitive_indicator_codes(m) == {"P2_ABUSE_RATE", "P3_CONFLICT_LAW_RATE"}
    out = apply_disclosure_control(frame({("01", ABUSE): [3, 0, 8, 12]}), SENSITIVE, DisclosureRule(1, 2))
    assert not out.table["suppressed"].any()  # 3 is outside a 1-2 range
    with pytest.raises(ValueError):
        DisclosureRule(0, 4)
    with pytest.raises(ValueError):
        DisclosureRule(5, 4)


def test_no_suppressed_count_can_be_recovered_from_the_province_total():
    """Random provinces: province total minus published communes never yields one suppressed count.

    For every province and indicator with suppressed communes: at least two
    are suppressed, and the difference a reader can compute (the sum of the
    suppressed counts) is larger than each suppressed count, so each of them
    could be any value from 0 to that difference. The only exception is the
    documented residual case (all other communes zero).
    """
    rng = random.Random(20251123)
    for trial in range(300):
        groups = {}
        for p in range(rng.randint(1, 4)):
            n = rng.randint(1, 9)
            groups[(f"{p:02d}", ABUSE)] = [
                rng.choice([None, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 11, 25]) for _ in range(n)]
            groups[(f"{p:02d}", MORTALITY)] = [rng.randint(0, 6) for _ in range(n)]
        df = frame(groups)
        out = apply_disclosure_control(df, SENSITIVE, RULE)
        t = out.table
        residual = {r["province_code"] for r in out.residual}
        for (province, indicator), numerators in groups.items():
            sup = t[(t["province_code"] == province) & (t["indicator_code"] == indicator)
                    & (t["unit_level"] == "commune") & t["suppressed"]]
            if indicator != ABUSE:
                assert sup.empty
                continue
            published = t[(t["province_code"] == province) & (t["indicator_code"] == indicator)
                          & (t["unit_level"] == "commune") & ~t["suppressed"]]
            assert not published["numerator"].between(1, 4).any(), (trial, numerators)
            if sup.empty:
                continue
            difference = attacker_difference(df, t, province)
            hidden = [numerators[int(code[2:])] for code in sup["unit_code"]]
            assert difference == sum(hidden)
            if province in residual:
                # every other commune is zero or missing: nothing could hide the count
                assert [x for x in numerators if x not in (None, 0)] == [x for x in hidden if x]
                assert len(sup) == min(2, sum(1 for x in numerators if x is not None))
                continue
            assert len(sup) >= 2, (trial, numerators)
            assert all(difference > h for h in hidden), (trial, numerators, hidden)
            # at most one complement per province: the rule hides no more than it needs
            primaries = sum(1 for x in numerators if x is not None and 1 <= x <= 4)
            assert len(sup) == max(primaries, 2) if primaries == 1 else len(sup) == primaries
        assert [p for p in audit(df, t, SENSITIVE, RULE) if not p.startswith("residual:")] == [], trial
