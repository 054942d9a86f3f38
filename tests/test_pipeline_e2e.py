"""End to end: landing files -> cri run -> published release, checked by hand.

The small demo data (3 provinces, 4 communes each) is run through the real
command path for 2024 and 2025 (once per session, shared with the series
tests: ``tests/fixtures/runs.py``). Expected values are computed here from the
landing CSV files with plain arithmetic, independently of the pipeline. A
second release of a period through ``cri run`` is tested on the quality gate's
waiver run (``test_gate.py``: ``test_cli_run_exit_code_and_a_second_release``).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest

from pipelines.demo import SMALL_PROVINCES
from tests.fixtures.runs import home_env, small_history_run

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e")]


def landing_values(landing: Path, period: str) -> dict[tuple[str, str], float]:
    """(unit_code, data_element) -> value of the totals (not the rows by group), read straight from the CSV files."""
    values = {}
    for path in sorted((landing / period).glob("*/*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                if not row.get("disaggregation"):
                    values[(row["unit_code"], row["data_element"])] = float(row["value"])
    return values


def clip(x: float) -> float:
    return max(0.0, min(100.0, x))


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """The shared small run of 2024 and 2025, read only: every path of the pipeline points at it."""
    home, methodology, outcomes = small_history_run(tmp_path_factory)
    with home_env(home, methodology):
        yield home, outcomes


def test_both_periods_publish(small_run):
    home, outcomes = small_run
    for period, o in outcomes.items():
        assert o.success, o.errors
        assert o.published and o.release_dir == home / "publish" / period / "v1"
        assert o.quality["passed"] is True
        latest = json.loads((home / "publish" / period / "latest.json").read_text(encoding="utf-8"))
        assert latest["version"] == 1


def _release(home: Path, name: str, period: str = "2025") -> pd.DataFrame:
    return pd.read_parquet(home / "publish" / period / "v1" / f"{name}.parquet")


def test_commune_and_province_indicators_match_hand_computation(small_run):
    home, _ = small_run
    v = landing_values(home / "landing", "2025")
    iv = _release(home, "indicator_values")
    communes = sorted({u for (u, _) in v if len(u) == 5})
    lai_chau = [c for c in communes if iv.loc[iv.unit_code == c, "province_code"].iloc[0] == "12"]
    # communes that sent nothing still have rows (the built-in commune count), with no value
    assert iv.loc[(iv.province_code == "12") & (iv.unit_level == "commune"), "unit_code"].nunique() > 4
    assert len(lai_chau) == 4

    # Immunisation (higher is better; goalposts 60-100), commune level
    c = lai_chau[0]
    value = v[(c, "IMMUNISED_FULL_U1")] / v[(c, "POP_AGE_0")] * 100
    row = iv[(iv.unit_code == c) & (iv.indicator_code == "H2_FULL_IMMUNISATION")].iloc[0]
    assert row["numerator"] == v[(c, "IMMUNISED_FULL_U1")]
    assert row["value"] == pytest.approx(value)
    assert row["score"] == pytest.approx(clip(100 * (value - 60) / 40))

    # Province level: counts are summed over communes, never rates averaged
    num = sum(v[(c, "IMMUNISED_FULL_U1")] for c in lai_chau)
    den = sum(v[(c, "POP_AGE_0")] for c in lai_chau)
    row = iv[(iv.unit_code == "12") & (iv.indicator_code == "H2_FULL_IMMUNISATION")].iloc[0]
    assert (row["numerator"], row["denominator"]) == (num, den)
    assert row["value"] == pytest.approx(num / den * 100)

    # Under-5 mortality (lower is better, per 1,000; goalposts 5-60)
    num = sum(v[(c, "DEATHS_U5")] for c in lai_chau)
    den = sum(v[(c, "LIVE_BIRTHS")] for c in lai_chau)
    rate = num / den * 1000
    row = iv[(iv.unit_code == "12") & (iv.indicator_code == "H1_U5_MORTALITY")].iloc[0]
    assert row["value"] == pytest.approx(rate)
    assert row["score"] == pytest.approx(clip(100 * (60 - rate) / 55))

    # Budget per child: a province-level element over the sum of commune children
    budget = v[("12", "CHILD_BUDGET_VND")]
    children = sum(v[(c, "POP_0_15")] for c in lai_chau)
    row = iv[(iv.unit_code == "12") & (iv.indicator_code == "R1_BUDGET_PER_CHILD")].iloc[0]
    assert row["value"] == pytest.approx(budget / children)
    assert not ((iv.unit_level == "commune") & (iv.indicator_code == "R1_BUDGET_PER_CHILD")).any()


def _hand_province_scores(v: dict, communes: list[str], province: str) -> dict[str, float]:
    """Every indicator score of a province, from the methodology file's formulas."""
    from pipelines.methodology import load_methodology
    from pipelines.settings import get_settings

    m = load_methodology(get_settings().methodology_path)
    scores = {}
    for ind in m.indicators:
        def total(terms):
            out = 0.0
            for t in terms:
                el = m.elements_by_code[t]
                if el.kind == "unit_count":
                    out += len(communes)
                elif el.level == "province":
                    out += v[(province, t)]
                else:
                    out += sum(v[(c, t)] for c in communes)
            return out

        value = total(ind.numerator) / total(ind.denominator) * ind.multiplier
        span = ind.goal_high - ind.goal_low
        raw = (value - ind.goal_low) / span if ind.direction == "higher" else (ind.goal_high - value) / span
        scores[ind.code] = (ind.domain, clip(100 * raw))
    return scores


def test_domain_scores_pcri_ranks_and_tiers_match_hand_computation(small_run, monkeypatch):
    home, _ = small_run
    monkeypatch.setenv("CRI_METHODOLOGY", str(home.parent / "pcri-small.yaml"))
    v = landing_values(home / "landing", "2025")
    iv = _release(home, "indicator_values")
    ds = _release(home, "domain_scores")
    ranking = _release(home, "province_ranking")
    pcri = {}
    for province in SMALL_PROVINCES:
        in_province = set(iv.loc[(iv.province_code == province) & (iv.unit_level == "commune"), "unit_code"])
        communes = sorted(u for (u, de) in v if de == "POP_0_15" and u in in_province)
        assert len(communes) == 4
        scores = _hand_province_scores(v, communes, province)
        domains = defaultdict(list)
        for _, (domain, score) in scores.items():
            domains[domain].append(score)
        hand_domains = {d: sum(s) / len(s) for d, s in domains.items()}  # equal weights
        published = ds[ds.province_code == province].set_index("domain_code")["score"]
        for d, score in hand_domains.items():
            assert published[d] == pytest.approx(score), (province, d)
        pcri[province] = sum(hand_domains.values()) / len(hand_domains)
        assert ranking.loc[ranking.province_code == province, "pcri"].iloc[0] == pytest.approx(pcri[province])
    order = sorted(pcri, key=lambda p: -round(pcri[p], 2))
    ranked = ranking[ranking["rank"].notna()].sort_values("rank")
    assert list(ranked["province_code"]) == order
    assert list(ranked["rank"]) == [1, 2, 3]
    # 3 ranked provinces, tiers by rank share: 1/3 <= 0.5 -> 2, 2/3 <= 0.75 -> 3, 3/3 -> 4
    assert list(ranked["tier"]) == [2, 3, 4]
    # the 31 provinces that sent nothing are in the ranking, not ranked, with the reason
    unranked = ranking[ranking["rank"].isna()]
    assert len(ranking) == 34 and len(unranked) == 31
    assert unranked["not_ranked_reason"].str.len().min() > 0


def test_rank_change_against_the_previous_year(small_run):
    home, _ = small_run
    r24 = _release(home, "province_ranking", "2024").set_index("province_code")
    r25 = _release(home, "province_ranking", "2025").set_index("province_code")
    for p in SMALL_PROVINCES:
        assert r25.loc[p, "previous_rank"] == r24.loc[p, "rank"]
        assert r25.loc[p, "rank_change"] == r24.loc[p, "rank"] - r25.loc[p, "rank"]


def test_release_files_and_manifest(small_run):
    home, _ = small_run
    folder = home / "publish" / "2025" / "v1"
    for name in ("province_ranking", "domain_scores", "indicator_values"):
        raw = (folder / f"{name}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), f"{name}.csv must carry a BOM for Excel"
    header = (folder / "province_ranking.csv").read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert header[:10] == ["period", "province_code", "province_name", "pcri", "rank", "tier", "rank_change",
                           "indicators_used", "indicators_total", "not_ranked_reason"]
    assert "Thành phố Hà Nội" in (folder / "province_ranking.csv").read_text(encoding="utf-8-sig")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["period"] == "2025"
    assert manifest["methodology"]["version"]
    inputs = {i["source_file"]: i for i in manifest["inputs"]}
    for path in sorted((home / "landing" / "2025").glob("*/*.csv")):
        rel = str(path.relative_to(home / "landing"))
        assert inputs[rel]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    outputs = {o["name"]: o for o in manifest["outputs"]}
    assert outputs["province_ranking.parquet"]["rows"] == 34
    assert {"report.html", "report.pdf"} <= set(outputs)  # both reports in the manifest
    assert manifest["checks"], "the checks run must be recorded"
    for extra in ("ranking.xlsx", "report.html", "report.pdf", "rank_uncertainty.parquet", "sensitivity.json",
                  "province_profiles.json", "dictionary.csv"):
        assert (folder / extra).exists(), extra


def test_model_materializations_carry_row_counts_and_a_preview(small_run):
    import dagster as dg
    import duckdb

    home, _ = small_run
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(["marts", "fct_province_ranking"]))
    meta = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        total = con.execute("select count(*) from marts.fct_province_ranking").fetchone()[0]
        in_2025 = con.execute("select count(*) from marts.fct_province_ranking where period = '2025'").fetchone()[0]
    finally:
        con.close()
    # the partition 2025's row count is the period's rows, not every period's
    assert (meta["dagster/row_count"], meta["rows_all_periods"]) == (in_2025, total) == (34, 68)
    assert "province_code" in meta["preview"] and "2025" in meta["preview"]


@pytest.mark.xdist_group("national")
def test_national_release_ranks_34_provinces_and_all_communes(tmp_path_factory):
    from tests.fixtures.runs import national_run

    outcome = national_run(tmp_path_factory)[1]["2025"]  # shared with the disclosure audit's test
    assert outcome.ok, (outcome.errors, outcome.quality.get("blocking_failures"))
    folder = outcome.release_dir
    ranking = pd.read_parquet(folder / "province_ranking.parquet")
    assert len(ranking) == 34 and ranking["rank"].notna().all()
    assert sorted(ranking["rank"]) == list(range(1, 35))  # no ties in the demo data
    domains = pd.read_parquet(folder / "domain_scores.parquet")
    assert len(domains) == 34 * 5 and domains["score"].notna().all()
    iv = pd.read_parquet(folder / "indicator_values.parquet")
    assert iv.loc[iv.unit_level == "commune", "unit_code"].nunique() == 3321
    # the city provinces lead and the north-west mountain provinces trail (demo data drives them so)
    top = set(ranking.nsmallest(8, "rank")["province_name"])
    assert "Thành phố Hà Nội" in top
    assert ranking.loc[ranking.province_name == "Lai Châu", "rank"].iloc[0] > 25
    # every commune is assessed on the 13 criteria and ranked within its province
    communes = pd.read_parquet(folder / "commune_ranking.parquet")
    assessment = pd.read_parquet(folder / "commune_assessment.parquet")
    assert communes["commune_code"].nunique() == len(communes) == 3321
    assert communes["rank_in_province"].notna().all() and communes["recognised"].notna().all()
    assert len(assessment) == 3321 * 13 and assessment["criterion_code"].nunique() == 13
    best = communes.groupby("province_code")["rank_in_province"].min()
    assert (best == 1).all() and len(best) == 34
    # the province indicator counts the communes the assessment recognised
    r3 = iv[(iv.unit_level == "province") & (iv.indicator_code == "R3_CHILD_FRIENDLY_COMMUNES")]
    recognised = communes.groupby("province_code")["recognised"].sum()
    assert (r3.set_index("unit_code")["numerator"].sort_index() == recognised.sort_index().astype(float)).all()


def test_cli_runs_are_named_and_the_first_sensor_tick_after_them_is_quiet(small_run):
    import dagster as dg

    from pipelines.schedules import landing

    home, _ = small_run
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"cri/trigger": "cli"}))
    named = {(r.job_name, r.tags.get("cri/period"), r.tags.get("dagster/partition")) for r in runs}
    assert named == {("period_official", "2024", "2024"), ("period_official", "2025", "2025")}
    # what `make ui` sees first after `make demo`: every landing file was ingested by these runs
    result = landing.evaluate_landing(None, settle=0)
    assert isinstance(result, dg.SensorResult) and not result.run_requests
