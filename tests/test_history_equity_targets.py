"""Series in today's units, equity gaps and the targets dashboard, on small hand-worked fixtures.

Every expected value below is worked out by hand in the comments.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pipelines.methodology import load_methodology
from pipelines.publish.equity import disclose, gap_frame
from pipelines.publish.series import release_notes, spearman
from pipelines.publish.targets import national_values, targets_table


@pytest.fixture(scope="module")
def m():
    return load_methodology()


def _series(rows):
    return pd.DataFrame(rows, columns=["period", "unit_level", "unit_code", "indicator_code", "value"])


# -- targets --------------------------------------------------------------------------------------------------


def test_status_and_trend_of_a_series_that_improves_too_slowly(m):
    # P1_CSC_HELPED: higher is better, goalposts 50-100 (bound 50), targets 90 (2025) and 95 (2030).
    # 2022: 70, 2023: 72, 2024: 74. In 2024 the share of the distance covered is (74-50)/(90-50) = 0.6:
    # below 0.7 -> major challenges (for 2030: (74-50)/(95-50) = 0.533, also major).
    # Observed: window of 3 years back from 2024 starts at 2022 (70): (74-70)/2 = 2 a year.
    # Needed by 2025: (90-74)/1 = 16 a year; 2 < 50% of 16 -> stagnating.
    # Needed by 2030: (95-74)/6 = 3.5 a year; 2 >= 1.75 (50%) but < 3.5 -> moderately improving.
    s = _series([(p, "province", "01", "P1_CSC_HELPED", v) for p, v in (("2022", 70), ("2023", 72), ("2024", 74))])
    t = targets_table("2024", s, m).set_index("target_year")
    assert t.loc[2025, "share_of_distance"] == pytest.approx(0.6)
    assert t.loc[2030, "share_of_distance"] == pytest.approx(24 / 45)
    assert list(t["status"]) == ["major_challenges", "major_challenges"]
    assert t.loc[2025, "observed_per_year"] == pytest.approx(2.0)
    assert t.loc[2025, "needed_per_year"] == pytest.approx(16.0)
    assert t.loc[2030, "needed_per_year"] == pytest.approx(3.5)
    assert t.loc[2025, "trend"] == "stagnating"
    assert t.loc[2030, "trend"] == "moderately_improving"


def test_lower_is_better_status_trend_and_an_achieved_target(m):
    # H1_U5_MORTALITY: lower is better, bound 30 (targets_dashboard.lower_bounds), targets 18.5 / 15.
    # Province 01: 2021: 21.0, 2024: 20.0. Share (20-30)/(18.5-30) = 10/11.5 = 0.8696 -> significant challenges
    # (>= 0.7, < 0.9). Observed over 2021..2024: -1/3 a year, towards better: +1/3.
    # Needed by 2025: (20-18.5)/1 = 1.5; 1/3 < 0.75 -> stagnating.
    # Province 02: 2023: 17, 2024: 18 -> 18 <= 18.5: achieved, and on track although it rose (maintaining).
    # Province 03: 2023: 22, 2024: 25: share (25-30)/(-11.5) = 0.4348 -> major; moving away -> decreasing.
    s = _series([("2021", "province", "01", "H1_U5_MORTALITY", 21.0), ("2024", "province", "01", "H1_U5_MORTALITY", 20.0),
                 ("2023", "province", "02", "H1_U5_MORTALITY", 17.0), ("2024", "province", "02", "H1_U5_MORTALITY", 18.0),
                 ("2023", "province", "03", "H1_U5_MORTALITY", 22.0), ("2024", "province", "03", "H1_U5_MORTALITY", 25.0)])
    t = targets_table("2024", s, m)
    t = t[t["target_year"] == 2025].set_index("unit_code")
    assert t.loc["01", "share_of_distance"] == pytest.approx(10 / 11.5)
    assert t.loc["01", "status"] == "significant_challenges"
    assert t.loc["01", "observed_per_year"] == pytest.approx(1 / 3)
    assert t.loc["01", "trend"] == "stagnating"
    assert (t.loc["02", "status"], t.loc["02", "trend"]) == ("achieved", "on_track")
    assert (t.loc["03", "status"], t.loc["03", "trend"]) == ("major_challenges", "decreasing")


def test_a_single_period_has_a_status_but_no_trend(m):
    t = targets_table("2025", _series([("2025", "province", "01", "P1_CSC_HELPED", 92.0)]), m)
    row = t[t["target_year"] == 2025].iloc[0]
    assert row["status"] == "achieved" and row["trend"] is None
    assert row["trend_note"] == "no earlier value within the window"


def test_national_line_sums_province_counts(m):
    # P1_CSC_HELPED x100: 01 helped 45 of 50, 02 helped 30 of 40, 03 has no value (left out of both sums):
    # national (45+30)/(50+40) x 100 = 83.333...
    iv = pd.DataFrame({
        "period": ["2025"] * 4, "unit_level": ["province"] * 3 + ["commune"], "unit_code": ["01", "02", "03", "00001"],
        "indicator_code": ["P1_CSC_HELPED"] * 4, "numerator": [45.0, 30.0, 7.0, 5.0],
        "denominator": [50.0, 40.0, 9.0, 5.0], "value": [90.0, 75.0, None, 100.0]})
    nat = national_values(iv, m)
    assert len(nat) == 1
    assert nat.iloc[0]["value"] == pytest.approx(75 / 90 * 100)
    assert nat.iloc[0]["unit_level"] == "national"


# -- equity ---------------------------------------------------------------------------------------------------


def _group_values():
    # P3_CONFLICT_LAW_RATE = CONFLICT_LAW / POP_0_15 x 100000 (sensitive), by sex.
    rows = []
    data = {  # commune: (province, F conflict, F children, M conflict, M children)
        "00001": ("01", 2, 1000, 10, 1000),
        "00002": ("01", 0, 2000, 6, 2000),
        "00003": ("01", 5, 1000, 9, 1000),
        "00004": ("02", 1, 500, 3, 500),
    }
    for unit, (_, fc, fp, mc, mp) in data.items():
        rows += [(unit, "CONFLICT_LAW", "sex", "F", fc), (unit, "POP_0_15", "sex", "F", fp),
                 (unit, "CONFLICT_LAW", "sex", "M", mc), (unit, "POP_0_15", "sex", "M", mp)]
    values = pd.DataFrame(rows, columns=["unit_code", "data_element", "dimension", "group", "value"])
    units = pd.DataFrame({"unit_code": list(data), "province_code": [v[0] for v in data.values()]})
    return values, units


def test_gap_by_sex_with_suppression(m):
    values, units = _group_values()
    raw = gap_frame(values, units, "2025", m)
    raw = raw[raw["indicator_code"] == "P3_CONFLICT_LAW_RATE"]
    out = disclose(raw.reset_index(drop=True), m).set_index(["unit_level", "unit_code"])
    # province 01, girls: (2+0+5)/(1000+2000+1000) x 1e5 = 175; boys: (10+6+9)/4000 x 1e5 = 625
    p = out.loc[("province", "01")]
    assert (p["group"], p["reference_group"]) == ("sex=F", "sex=M")
    assert p["value"] == pytest.approx(175.0)
    assert p["reference_value"] == pytest.approx(625.0)
    assert p["gap_difference"] == pytest.approx(-450.0)
    assert p["gap_ratio"] == pytest.approx(7 / 25)
    # national: girls 8/4500 x 1e5, boys 28/4500 x 1e5; ratio 8/28, beside every row
    n = out.loc[("national", "VN")]
    assert n["value"] == pytest.approx(8 / 4500 * 1e5)
    assert n["gap_difference"] == pytest.approx((8 - 28) / 4500 * 1e5)
    assert p["national_gap_ratio"] == pytest.approx(8 / 28)
    # communes: 00001 girls = 2 (1..4) -> suppressed; 00004 girls 1 and boys 3 -> suppressed.
    # Province 01 then has one suppressed commune with a count: one more is suppressed, the unsuppressed one
    # with the smallest count above 0 (the rule weighs the commune's total when neither group is in the range):
    # 00002 (0+6 = 6) before 00003 (5+9 = 14).
    suppressed = out.loc["commune", "suppressed"]
    assert dict(suppressed) == {"00001": True, "00002": True, "00003": False, "00004": True}
    assert out.loc["commune"].loc[["00001", "00002", "00004"], ["value", "reference_value", "gap_difference",
                                                                "gap_ratio"]].isna().all().all()
    c3 = out.loc[("commune", "00003")]
    assert c3["value"] == pytest.approx(500.0) and c3["reference_value"] == pytest.approx(900.0)
    # province rows are published in full, as the totals are
    assert not out.loc[("province", "02"), "suppressed"]
    assert out.loc[("province", "02"), "value"] == pytest.approx(200.0)


def test_groups_add_nothing_to_the_totals(m):
    # a non-sensitive indicator by group is not suppressed, whatever its counts
    rows = [("00001", "CSC_HELPED", "disability", "yes", 2), ("00001", "CSC_TOTAL", "disability", "yes", 4),
            ("00001", "CSC_HELPED", "disability", "no", 9), ("00001", "CSC_TOTAL", "disability", "no", 10)]
    values = pd.DataFrame(rows, columns=["unit_code", "data_element", "dimension", "group", "value"])
    units = pd.DataFrame({"unit_code": ["00001"], "province_code": ["01"]})
    out = disclose(gap_frame(values, units, "2025", m), m)
    c = out[out["unit_level"] == "commune"].iloc[0]
    # 2/4 x 100 = 50 against 9/10 x 100 = 90: -40, ratio 0.5556
    assert (c["value"], c["reference_value"], c["suppressed"]) == (50.0, 90.0, False)
    assert c["gap_ratio"] == pytest.approx(50 / 90)


# -- series in today's units ----------------------------------------------------------------------------------


def test_province_rebased_from_two_old_provinces_over_three_years(m):
    from pipelines.units.crosswalk import province_crosswalk, rebase_values

    # Tuyên Quang (08) since 2025 = old Hà Giang (02) + old Tuyên Quang (08).
    pc = province_crosswalk()
    assert set(pc.loc[pc["unit_code"] == "08", "legacy_code"]) == {"02", "08"}
    sent = {  # year: (old 02 deaths, births, old 08 deaths, births)
        "2022": (30, 1000, 20, 1500),
        "2023": (27, 1000, 19, 1500),
        "2024": (25, 1000, 15, 1500),
    }
    rows = []
    for year, (d2, b2, d8, b8) in sent.items():
        rows += [(year, "02", "DEATHS_U5", d2), (year, "02", "LIVE_BIRTHS", b2),
                 (year, "08", "DEATHS_U5", d8), (year, "08", "LIVE_BIRTHS", b8)]
    df = pd.DataFrame(rows, columns=["period", "unit_code", "data_element", "value"]).assign(disaggregation="")
    rebased, _ = rebase_values(df, "province")
    got = rebased.set_index(["period", "unit_code", "data_element"])["value"]
    # summed counts: 2022 deaths 30+20 = 50, births 2500; 2023: 46 / 2500; 2024: 40 / 2500
    assert got[("2022", "08", "DEATHS_U5")] == 50 and got[("2022", "08", "LIVE_BIRTHS")] == 2500
    assert got[("2023", "08", "DEATHS_U5")] == 46 and got[("2024", "08", "DEATHS_U5")] == 40
    # the series per 1,000 births: 20.0, 18.4, 16.0 (never the mean of the old provinces' rates:
    # 2022 would be (30 + 13.33)/2 = 21.67)
    series = (got.xs("DEATHS_U5", level="data_element") / got.xs("LIVE_BIRTHS", level="data_element") * 1000)
    series = series.xs("08", level="unit_code")
    assert list(series.round(6)) == [20.0, 18.4, 16.0]
    # and on the dashboard: 16.0 <= 18.5 in 2024, achieved; by 2030 (15): share (16-30)/(15-30) = 0.9333 ->
    # challenges remain; observed (20-16)/2 = 2 a year against (16-15)/6 needed -> on track
    s = _series([(p, "province", "08", "H1_U5_MORTALITY", v) for p, v in series.items()])
    t = targets_table("2024", s, m).set_index("target_year")
    assert t.loc[2025, "status"] == "achieved"
    assert t.loc[2030, "share_of_distance"] == pytest.approx(14 / 15)
    assert (t.loc[2030, "status"], t.loc[2030, "trend"]) == ("challenges_remain", "on_track")


def test_spearman_between_two_methods(m):
    old = pd.DataFrame({"province_code": ["01", "02", "03", "04"], "pcri": [80.0, 70.0, 60.0, 50.0]})
    new = pd.DataFrame({"province_code": ["01", "02", "03", "04"], "pcri": [75.0, 78.0, 60.0, 40.0]})
    # ranks old 1,2,3,4; new 2,1,3,4: d^2 = 1+1 = 2; rho = 1 - 6*2/(4*15) = 0.8
    rho, n = spearman(old, new)
    assert (round(rho, 9), n) == (0.8, 4)


def test_demo_history_keys_province_data_by_the_old_provinces():
    from pipelines.demo.legacy import to_legacy
    from pipelines.units.crosswalk import commune_crosswalk, rebase_values

    # new Tuyên Quang (08) sends 1,001 (a count) in 2023: as the old Hà Giang (02) and Tuyên Quang (08), in
    # proportion to their numbers of communes, whole numbers adding up to 1,001; rebased, it is 1,001 again.
    frame = pd.DataFrame({"period": ["2023"], "unit_code": ["08"], "unit_name": ["Tỉnh Tuyên Quang"],
                          "data_element": ["POP_0_15_PROVINCE"], "value": [1001]})
    out = to_legacy(frame, "statistics", flags=set()).set_index("unit_code")
    assert set(out.index) == {"02", "08"} and set(out["unit_scheme"]) == {"legacy"}
    assert out["value"].sum() == 1001
    cw = commune_crosswalk()
    n = cw.groupby("legacy_province_code")["legacy_code"].nunique()
    assert abs(out.loc["02", "value"] - 1001 * n["02"] / (n["02"] + n["08"])) < 1
    back, _ = rebase_values(out.reset_index().assign(disaggregation=""), "province")
    assert back.set_index("unit_code").loc["08", "value"] == 1001


def _release_tables(period, pcri, helped):
    """Two provinces' release tables: PCRI, ranks, one domain score each, P1_CSC_HELPED counts."""
    ranking = pd.DataFrame({"period": period, "province_code": ["01", "02"], "province_name": ["Hà Nội", "Huế"],
                            "pcri": pcri, "rank": [1 if pcri[0] >= pcri[1] else 2, 2 if pcri[0] >= pcri[1] else 1],
                            "tier": [1, 2]})
    domains = pd.DataFrame({"period": period, "province_code": ["01", "02"], "domain_code": "D3", "score": pcri})
    values = pd.DataFrame({"period": period, "unit_level": "province", "unit_code": ["01", "02"],
                           "indicator_code": "P1_CSC_HELPED", "numerator": [h for h, _ in helped],
                           "denominator": [d for _, d in helped], "value": [h / d * 100 for h, d in helped]})
    return {"province_ranking": ranking, "domain_scores": domains, "indicator_values": values}


def test_series_national_line_and_report_sections(m, tmp_path):
    from pipelines.publish.series import render_sections, report_context, trend_frames

    # an earlier release (2024) on disk, and the tables of 2025
    folder = tmp_path / "2024" / "v1"
    folder.mkdir(parents=True)
    for name, df in _release_tables("2024", [60.0, 50.0], [(80, 100), (30, 50)]).items():
        df.to_parquet(folder / f"{name}.parquet")
    now = _release_tables("2025", [58.0, 62.0], [(90, 100), (45, 50)])
    trend, long = trend_frames("2025", now, {"2024": folder}, m)
    # both periods for both provinces, ranks swapped, the domain score as a column
    assert list(trend[trend["province_code"] == "02"][["period", "rank", "D3"]].itertuples(index=False)) == \
        [("2024", 2, 50.0), ("2025", 1, 62.0)]
    # national line: 2024 (80+30)/(100+50) x 100 = 73.33; 2025 (90+45)/150 x 100 = 90
    nat = long[long["unit_level"] == "national"].set_index("period")["value"]
    assert nat["2024"] == pytest.approx(110 / 150 * 100) and nat["2025"] == pytest.approx(90.0)
    built = {"trend": trend, "trend_indicators": long, "targets": targets_table("2025", long, m)}
    # 2025: national 90 = target 90: achieved; 02 at 90 too; 01 at 90
    assert set(built["targets"].query("target_year == 2025")["status"]) == {"achieved"}
    html = render_sections({**report_context(now, built, m, "2025"), "period": "2025"})
    assert "Huế" in html and "#2e7d32" in html and 'id="equity"' in html and "polyline" in html


def test_demo_groups_add_up_to_the_totals(tmp_path):
    from pipelines.demo import write_demo_data

    write_demo_data(tmp_path / "landing", periods=("2025",), small=True, groups=True)
    frames = [pd.read_csv(p, dtype={"unit_code": str}, keep_default_na=False)
              for p in (tmp_path / "landing" / "2025").glob("*/*.csv")]
    df = pd.concat(frames, ignore_index=True)
    by = df[df["disaggregation"] != ""].assign(dimension=lambda d: d["disaggregation"].str.split("=").str[0])
    totals = df[df["disaggregation"] == ""].set_index(["unit_code", "data_element"])["value"]
    sums = by.groupby(["unit_code", "data_element", "dimension"])["value"].sum()
    # every split adds up exactly to its total, for every commune, element and dimension
    assert (sums.to_numpy() == totals.reindex(sums.index.droplevel("dimension")).to_numpy()).all()
    # at least four indicators' terms by group; never more events than trials in a group
    assert {"BIRTHS_REG_ONTIME", "DEATHS_U5", "ENROLLED_AGE5", "CSC_HELPED"} <= set(by["data_element"])
    v = by.set_index(["unit_code", "disaggregation", "data_element"])["value"].unstack()
    assert (v["BIRTHS_REG_ONTIME"].dropna() <= v["LIVE_BIRTHS"].reindex(v["BIRTHS_REG_ONTIME"].dropna().index)).all()
    assert (v["CSC_HELPED"].dropna() <= v["CSC_TOTAL"].reindex(v["CSC_HELPED"].dropna().index)).all()


# -- end to end on the small demo (two periods) ---------------------------------------------------------------


@pytest.fixture(scope="module")
def two_releases(tmp_path_factory):
    """The session's small run of 2024 and 2025 with the rows by group (``tests/fixtures/runs.py``), read only."""
    from tests.fixtures.runs import home_env, small_history_run

    home, methodology, outcomes = small_history_run(tmp_path_factory)
    with home_env(home, methodology):
        yield home, [outcomes["2024"], outcomes["2025"]]


@pytest.mark.slow
@pytest.mark.xdist_group("e2e")
def test_release_carries_series_targets_equity_and_notes(two_releases):
    home, outcomes = two_releases
    assert all(o.published for o in outcomes)
    folder = outcomes[-1].release_dir
    trend = pd.read_parquet(folder / "trend.parquet")
    ranked = pd.read_parquet(folder / "province_ranking.parquet").dropna(subset=["rank"])
    # the series holds both periods for every ranked province, with the ranks each release published
    earlier = pd.read_parquet(outcomes[0].release_dir / "province_ranking.parquet").set_index("province_code")
    for code in ranked["province_code"]:
        rows = trend[trend["province_code"] == code].set_index("period")
        assert list(rows.index) == ["2024", "2025"]
        assert rows.at["2024", "rank"] == earlier.at[code, "rank"]
    gaps = pd.read_parquet(folder / "equity_gaps.parquet")
    assert gaps["indicator_code"].nunique() >= 4
    assert set(gaps["unit_level"]) == {"national", "province", "commune"}
    sensitive = gaps[(gaps["indicator_code"] == "P3_CONFLICT_LAW_RATE") & (gaps["unit_level"] == "commune")]
    assert sensitive.loc[sensitive["suppressed"], "value"].isna().all()
    targets = pd.read_parquet(folder / "targets.parquet")
    assert "VN" in set(targets["unit_code"]) and targets["status"].notna().any()
    assert targets.loc[targets["value"].notna(), "trend"].notna().any()  # 2025 has 2024 behind it
    notes = (folder / "release_notes.md").read_text(encoding="utf-8")
    assert "2025" in notes and "first release" in notes
    # the report shows the three: the series, the targets grid and the equity gaps
    report = (folder / "report.html").read_text(encoding="utf-8")
    for anchor in ('id="trend"', 'id="targets"', 'id="equity"', 'href="#targets"'):
        assert anchor in report
    assert all(name in report for name in ranked["province_name"])


def test_demo_history_keys_communes_made_of_whole_old_communes_by_them():
    from pipelines.demo.legacy import to_legacy
    from pipelines.units.crosswalk import commune_crosswalk, rebase_values

    cw = commune_crosswalk()
    whole = cw[~cw.groupby("unit_code")["split"].transform("any")]
    sizes = whole.groupby("unit_code")["legacy_code"].nunique()
    merged = sizes[sizes >= 2].index[0]  # a new commune made of two whole old communes or more
    split = cw.loc[cw["split"], "unit_code"].iloc[0]  # a new commune that took part of a split one
    frame = pd.DataFrame({"period": "2023", "unit_code": [merged, split], "unit_name": ["a", "b"],
                          "data_element": "INSURED_U6", "value": [1001, 77]})
    out = to_legacy(frame, "social_security", flags=set())
    legacy = out[out["unit_scheme"] == "legacy"]
    # the merged commune's 1,001 over exactly its old communes, whole numbers adding up; the other kept as sent
    assert set(legacy["unit_code"]) == set(whole.loc[whole["unit_code"] == merged, "legacy_code"])
    assert legacy["value"].sum() == 1001
    assert out.loc[out["unit_scheme"] == "", ["unit_code", "value"]].values.tolist() == [[split, 77]]
    back, _ = rebase_values(legacy.assign(disaggregation=""), "commune")
    assert back.set_index("unit_code").loc[merged, "value"] == 1001


def test_release_notes_count_changed_cells_moved_ranks_and_files(m, tmp_path):
    # previous version v1 of 2025: 01 rank 1, 02 rank 2; P1 values 80 and 60 (and a manifest naming its files)
    old = tmp_path / "v1"
    old.mkdir()
    before = _release_tables("2025", [60.0, 50.0], [(80, 100), (30, 50)])
    for name, df in before.items():
        df.to_parquet(old / f"{name}.parquet")
    (old / "trend.csv").write_text("a\n", encoding="utf-8")
    import hashlib
    import json

    digest = hashlib.sha256(b"a\n").hexdigest()
    (old / "manifest.json").write_text(json.dumps({
        "methodology": {"version": "2024.9"}, "inputs": [{"sha256": "x"}],
        "outputs": [{"name": "trend.csv", "sha256": digest}, {"name": "old_only.csv", "sha256": "y"}]}),
        encoding="utf-8")
    # new version: 02's value 60 -> 90 (one cell changed), ranks swapped (two provinces moved); trend.csv rewritten,
    # dashboard.html added, old_only.csv gone; methodology 2024.9 -> the current one, same input files
    new = tmp_path / "v2"
    new.mkdir()
    (new / "trend.csv").write_text("b\n", encoding="utf-8")
    (new / "dashboard.html").write_text("x", encoding="utf-8")
    now = _release_tables("2025", [58.0, 62.0], [(80, 100), (45, 50)])
    notes = release_notes("2025", new, now, old, m, {}, inputs=["x"])
    assert "indicator cells changed: 1 (thêm / added 0, bỏ / removed 0)" in notes
    assert "provinces whose rank moved: 2" in notes
    assert "Huế (02): 2 → 1" in notes and "Hà Nội (01): 1 → 2" in notes
    assert "files added: dashboard.html" in notes and "files removed: old_only.csv" in notes
    assert "data files replaced: trend.csv" in notes
    # two provinces, in reverse order: Spearman needs three, so it is not given, and the inputs are the same
    assert f"2024.9 → {m.version}" in notes and "correlation: – (2 tỉnh / provinces; cùng dữ liệu" in notes


def test_gaps_by_age_band_against_the_other_bands_with_suppression(m):
    # P3_CONFLICT_LAW_RATE = CONFLICT_LAW / POP_0_15 x 100000 (sensitive), by age band (0_5, 6_11, 12_15): each band
    # against the two others together (reference group age≠band).
    data = {  # commune: (province, (conflict, children) for 0_5, 6_11, 12_15)
        "00001": ("01", ((0, 1000), (1, 1000), (9, 1000))),
        "00002": ("01", ((0, 2000), (0, 2000), (12, 1000))),
        "00003": ("01", ((0, 1000), (5, 1000), (30, 2000))),
        "00004": ("02", ((0, 500), (2, 500), (3, 500))),
    }
    rows = [(u, element, "age", band, v) for u, (_, bands) in data.items()
            for band, (c, p) in zip(("0_5", "6_11", "12_15"), bands)
            for element, v in (("CONFLICT_LAW", c), ("POP_0_15", p))]
    values = pd.DataFrame(rows, columns=["unit_code", "data_element", "dimension", "group", "value"])
    units = pd.DataFrame({"unit_code": list(data), "province_code": [v[0] for v in data.values()]})
    raw = gap_frame(values, units, "2025", m)
    raw = raw[raw["indicator_code"] == "P3_CONFLICT_LAW_RATE"].reset_index(drop=True)
    out = disclose(raw, m).set_index(["unit_level", "unit_code", "group"]).sort_index()
    assert set(raw["group"]) == {"age=0_5", "age=6_11", "age=12_15"}
    # province 01, 12-15: (9+12+30)/(1000+1000+2000) x 1e5 = 1275; the others: (0+1+0+0+0+5)/8000 x 1e5 = 75
    p = out.loc[("province", "01", "age=12_15")]
    assert p["reference_group"] == "age≠12_15"
    assert (p["value"], p["reference_value"]) == (pytest.approx(1275.0), pytest.approx(75.0))
    assert (p["gap_difference"], p["gap_ratio"]) == (pytest.approx(1200.0), pytest.approx(17.0))
    # 6-11: 6/4000 x 1e5 = 150 against 51/8000 x 1e5 = 637.5
    p = out.loc[("province", "01", "age=6_11")]
    assert (p["value"], p["reference_value"]) == (pytest.approx(150.0), pytest.approx(637.5))
    # national 12-15: 54/4500 x 1e5 = 1200 against 8/9000 x 1e5 = 88.89: ratio 13.5, beside every province row
    assert out.loc[("national", "VN", "age=12_15"), "gap_ratio"] == pytest.approx(13.5)
    assert out.loc[("province", "01", "age=12_15"), "national_gap_difference"] == pytest.approx(1200 - 800 / 9)
    # communes: 00001 has 1 child aged 6-11 (and so 1 outside 12-15): both its 6-11 and 12-15 cells are hidden;
    # 00004 has 2 and 3: hidden. Within province 01, one more commune hides each of those two bands: 00002
    # (its count 0+12 = 12 is the smallest above 0; 00003 weighs 35). No band 0-5 cell is in the range.
    hidden = out.loc["commune", "suppressed"]
    assert {k for k, v in hidden.items() if v} == {
        ("00001", "age=6_11"), ("00001", "age=12_15"), ("00002", "age=6_11"), ("00002", "age=12_15"),
        ("00004", "age=6_11"), ("00004", "age=12_15")}
    assert out.loc[("commune", "00001", "age=12_15"), ["value", "gap_ratio"]].isna().all()
    # published: 00003, 12-15: 30/2000 x 1e5 = 1500 against 5/2000 x 1e5 = 250
    c = out.loc[("commune", "00003", "age=12_15")]
    assert (c["value"], c["reference_value"], c["suppressed"]) == (1500.0, 250.0, False)


def test_demo_age_bands_add_up_and_follow_the_methodology(m, tmp_path):
    from pipelines.demo import write_demo_data
    from pipelines.publish.equity import equity_settings

    dims, by = equity_settings(m)
    assert set(dims["age"].groups) == {"0_5", "6_11", "12_15"} and "age" in by["P3_CONFLICT_LAW_RATE"]
    write_demo_data(tmp_path / "landing", periods=("2025",), small=True, groups=True)
    df = pd.concat([pd.read_csv(p, dtype={"unit_code": str}, keep_default_na=False)
                    for p in (tmp_path / "landing" / "2025").glob("*/*.csv")], ignore_index=True)
    age = df[df["disaggregation"].str.startswith("age=")]
    assert {"age=" + b for b in dims["age"].groups} == set(age["disaggregation"])
    assert {"CONFLICT_LAW", "POP_0_15", "CSC_HELPED", "CSC_TOTAL"} == set(age["data_element"])
    # each element's bands add up to its commune total; never more helped than in special circumstances in a band
    totals = df[df["disaggregation"] == ""].set_index(["unit_code", "data_element"])["value"]
    sums = age.groupby(["unit_code", "data_element"])["value"].sum()
    assert (sums == totals.reindex(sums.index)).all()
    v = age.set_index(["unit_code", "disaggregation", "data_element"])["value"].unstack()
    assert (v["CSC_HELPED"] <= v["CSC_TOTAL"]).all() and (v["CONFLICT_LAW"] <= v["POP_0_15"]).all()
    # no child under 6 in conflict with the law
    assert (age.loc[(age["data_element"] == "CONFLICT_LAW") & (age["disaggregation"] == "age=0_5"), "value"] == 0).all()
