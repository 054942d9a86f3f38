"""The disclosure audit attacks small releases whose answers are worked by hand; protection closes each leak."""

from __future__ import annotations

import dataclasses
import pandas as pd
import pytest

from pipelines.methodology import load_methodology
from pipelines.publish.disclosure_audit import NEUTRAL_VI, audit_tables
from pipelines.publish.disclosure_model import DisclosureModelError, load_disclosure_model, parse_disclosure_model
from pipelines.publish.disclosure_protect import Sources, apply_hidden, protect

M = load_methodology()
MODEL = load_disclosure_model(M)
KNOWING = dataclasses.replace(MODEL, reader_knows_primary=True)  # protection against a reader who knows the rule
P2 = "P2_ABUSE_RATE"


def release(communes: dict[str, tuple[int, float, bool]], recognised=None, reasons=None, extra_iv=None):
    """Tables of province 01: commune -> (abuse count, child population, suppressed); C03 hidden where suppressed.

    Every commune also publishes C01 = 95 points (pass 40), 30 where a reason is given; thresholds are 80 points.
    """
    recognised, reasons = recognised or {}, reasons or {}
    rows = []
    for code, (n, pop, sup) in communes.items():
        rows.append({"period": "2025", "unit_level": "commune", "unit_code": code, "unit_name": code,
                     "province_code": "01", "indicator_code": P2, "numerator": None if sup else float(n),
                     "denominator": pop, "value": None if sup else n / pop * 1e5, "score": None, "suppressed": sup})
    total = sum(n for n, _, _ in communes.values())
    rows.append({"period": "2025", "unit_level": "province", "unit_code": "01", "unit_name": "01",
                 "province_code": "01", "indicator_code": P2, "numerator": float(total),
                 "denominator": sum(p for _, p, _ in communes.values()), "value": None, "score": None,
                 "suppressed": False})
    iv = pd.DataFrame(rows + (extra_iv or []))
    ca, cr = [], []
    for code, (n, pop, sup) in communes.items():
        c03 = M.commune_assessment.criteria[2]
        points = float(c03.items[0].points({"ABUSE_CASES": [n], "POP_0_15": [pop]})[0])
        ca.append({"period": "2025", "commune_code": code, "province_code": "01", "criterion_code": "C01",
                   "points": 30.0 if code in reasons else 95.0, "met": code not in reasons, "suppressed": False,
                   "pass_points": 40.0})
        ca.append({"period": "2025", "commune_code": code, "province_code": "01", "criterion_code": "C03",
                   "points": None if sup else points, "met": None if sup else points >= 50, "suppressed": sup,
                   "pass_points": 50.0})
        cr.append({"period": "2025", "commune_code": code, "province_code": "01", "recognised": recognised.get(code),
                   "reason": reasons.get(code), "threshold_points": 80.0, "total_points": None})
    return {"indicator_values": iv, "commune_assessment": pd.DataFrame(ca), "commune_ranking": pd.DataFrame(cr)}


def truth_of(communes):
    return pd.DataFrame([{"province_code": "01", "commune_code": c, "element": "ABUSE_CASES", "value": float(n)}
                         for c, (n, _, _) in communes.items()])


def sources_of(communes, reasons=None):
    t = release({c: (n, p, False) for c, (n, p, _) in communes.items()}, reasons=reasons)
    ca = t["commune_assessment"].assign(criterion_ordinal=lambda d: d["criterion_code"].str[1:].astype(int),
                                        criterion_name_vi=lambda d: "Tên " + d["criterion_code"],
                                        shortfall_vi=None)
    return Sources(indicator_values=t["indicator_values"], assessment=ca,
                   ranking=t["commune_ranking"][["commune_code", "reason", "total_points"]])


def interval(result, commune):
    row = result.cells.set_index("commune_code").loc[commune]
    return int(row["low"]), None if pd.isna(row["high"]) else int(row["high"])


# --------------------------------------------------------------------------------------------------


def test_a_recognised_commune_whose_population_bounds_its_hidden_count():
    # A: 1 case among 2,000 children, recognised: C03 met means at most 6 per 10,000, so at most 1 case; a reader
    # who knows the rule knows A and B are the two primary cells (1 to 4): A = 1, and B = 17 - 6 - 7 - 0 - 1 = 3
    communes = {"A": (1, 2000, True), "B": (3, 5000, True), "C": (6, 5000, False), "D": (7, 5000, False),
                "E": (0, 5000, False)}
    tables = release(communes, recognised={"A": True})
    leak = audit_tables([tables], M, MODEL, primary_counts={("01", "ABUSE_CASES"): 2})
    assert interval(leak, "A") == (1, 1) and interval(leak, "B") == (3, 3) and not leak.ok
    done = protect(tables, truth_of(communes), sources_of(communes), M, KNOWING)
    # C (6) alone is not enough: A could only be a complement holding 0 if B and C were both 1 to 4 (sum 10);
    # with D (7) hidden too, A may be 0 (B, C, D: two of them 1 to 4, one 0 or 5 and more): {0, 1}
    assert done.hidden == {("A", "ABUSE_CASES"), ("B", "ABUSE_CASES"), ("C", "ABUSE_CASES"), ("D", "ABUSE_CASES")}
    assert done.counts["complementary_added"] == 2 and done.audit.ok
    assert interval(done.audit, "A") == (0, 1)
    assert bool(done.tables["commune_ranking"].set_index("commune_code").loc["A", "recognised"])  # kept


def test_a_reason_that_does_not_name_a_hidden_criterion_says_it_was_met():
    # X: 1 case among 2,000 children, not recognised; its reason names only C01 (an invented shortfall), so C03
    # was met: at most 1 case; the reader knows X, Y are primary (1 to 4): X = 1
    communes = {"X": (1, 2000, True), "Y": (2, 5000, True), "Z": (9, 5000, False)}
    reasons = {"X": "C01 (Tên C01): 30/100 điểm, chưa đạt (cần 40)"}
    tables = release(communes, recognised={"X": False}, reasons=reasons)
    leak = audit_tables([tables], M, MODEL, primary_counts={("01", "ABUSE_CASES"): 2})
    assert interval(leak, "X") == (1, 1) and not leak.ok
    coarse = apply_hidden(tables, {("X", "ABUSE_CASES"), ("Y", "ABUSE_CASES")}, sources_of(communes, reasons), M,
                          MODEL)
    assert coarse["commune_ranking"].set_index("commune_code").loc["X", "reason"] == f"C03 (Tên C03): {NEUTRAL_VI}"
    after = audit_tables([coarse], M, MODEL, primary_counts={("01", "ABUSE_CASES"): 2})
    assert after.ok and interval(after, "X") == (1, 2)  # X + Y = 3, both 1 to 4
    done = protect(tables, truth_of(communes), sources_of(communes, reasons), M, KNOWING)
    assert done.audit.ok and done.counts["reasons_coarsened"] == 1 and done.counts["complementary_added"] == 0


def test_province_total_minus_one_hidden_commune():
    # only P is hidden: 12 - 6 - 5 = 1; a reader finds it by subtraction, knowing nothing of the rule
    communes = {"P": (1, 5000, True), "Q": (6, 5000, False), "R": (5, 5000, False)}
    tables = release(communes)
    leak = audit_tables([tables], M, MODEL)
    assert interval(leak, "P") == (1, 1) and len(leak.exposed) == 1
    done = protect(tables, truth_of(communes), sources_of(communes), M, MODEL)
    # R (5, the smallest count above zero) is hidden with P: the files say P + R = 6, so each is 0 to 6
    assert done.hidden == {("P", "ABUSE_CASES"), ("R", "ABUSE_CASES")} and done.audit.ok
    assert interval(done.audit, "P") == (0, 6) and interval(done.audit, "R") == (0, 6)
    # reported beside it, not blocking: a reader who knows one is primary keeps 1 to 5, five values
    assert done.summary()["audit_reader_knowing_primary"]["smallest_values"] == 5
    # a reader who also knows that one of them is primary (1 to 4) and the other a complement (0, or 5 and more):
    # P = 1 and R = 5, or P = 5 and R = 1
    knowing = protect(tables, truth_of(communes), sources_of(communes), M, KNOWING)
    assert knowing.hidden == done.hidden and interval(knowing.audit, "P") == (1, 5)
    published = done.tables["indicator_values"].set_index("unit_code")
    assert pd.isna(published.loc["R", "numerator"]) and bool(published.loc["R", "suppressed"])
    assert published.loc["Q", "numerator"] == 6


def test_a_residual_group_of_two():
    # A holds the province's 2 cases, every other commune 0; B (0) was hidden as a complement: A + B = 2, one
    # primary (1 to 4) and one complement (0, or 5 and more). But B is recognised with 1,000 children: C03 met
    # means at most 0.6 cases, so B = 0 and A = 2
    communes = {"A": (2, 5000, True), "B": (0, 1000, True), "C": (0, 5000, False), "D": (0, 5000, False)}
    tables = release(communes, recognised={"B": True})
    leak = audit_tables([tables], M, MODEL, primary_counts={("01", "ABUSE_CASES"): 1})
    assert interval(leak, "A") == (2, 2) and interval(leak, "B") == (0, 0)
    done = protect(tables, truth_of(communes), sources_of(communes), M, KNOWING)
    # B is pinned by its own recognition: it is published (0, nothing new), and C, the lowest code among the
    # zeros, is hidden instead: A + C = 2, A = 0 or 2; hidden cells no longer tell which small counts are zero
    assert done.hidden == {("A", "ABUSE_CASES"), ("C", "ABUSE_CASES")} and done.audit.ok
    assert interval(done.audit, "A") == (0, 2)
    assert done.counts["complementary_released"] == 1 and done.counts["zeros_hidden"] == 1


def test_two_versions_of_a_period_that_differ_in_one_cell():
    # v1 hides A and B (A + B = 3, C = 5 published); v2 hides A and C, publishing B = 2: together A = 1
    communes = {"A": (1, 5000, True), "B": (2, 5000, True), "C": (5, 5000, False)}
    v1 = release(communes)
    v2 = release({"A": (1, 5000, True), "B": (2, 5000, False), "C": (5, 5000, True)})
    assert audit_tables([v1], M, MODEL).ok and audit_tables([v2], M, MODEL).ok  # each alone: 0..3 and 0..6
    both = audit_tables([v1, v2], M, MODEL)
    assert interval(both, "A") == (1, 1) and not both.ok
    done = protect(v2, truth_of(communes), sources_of(communes), M, MODEL, earlier=[v1])
    # C = 5 is published in v1, so hiding it in v2 protects nothing: it is published again; B, hidden in v1, is
    # hidden again (before any other cell): v2 hides what v1 did, A + B = 3: A = 0 to 3 (1 or 2 to a reader who
    # also knows that both are primary, 1 to 4)
    assert done.hidden == {("A", "ABUSE_CASES"), ("B", "ABUSE_CASES")} and done.audit.ok
    assert interval(done.audit, "A") == (0, 3)
    assert done.counts["complementary_added"] == 1 and done.counts["complementary_released"] == 1
    published = done.tables["indicator_values"].set_index("unit_code")
    assert published.loc["C", "numerator"] == 5 and not bool(published.loc["C", "suppressed"])


def test_the_model_must_declare_every_published_column():
    import yaml

    doc = yaml.safe_load(MODEL.path.read_text(encoding="utf-8"))
    del doc["fields"]["commune_ranking"]["reason"]
    with pytest.raises(DisclosureModelError, match="commune_ranking.reason is published but not declared"):
        parse_disclosure_model(doc, M)
    assert set(MODEL.sensitive_elements) == {e.code for e in M.data_elements if e.sensitive}


def test_the_quality_report_shows_no_sensitive_commune_figure():
    from pipelines.checks.core import CheckResult
    from pipelines.quality.report import suppressed_examples

    r = CheckResult(code="plausibility.commune_outliers", severity="warning", passed=False, failures=2,
                    message="2 outliers", asset="marts", title_vi="x", examples=[
                        {"province_code": "01", "unit_code": "00004", "indicator_code": P2, "value": 150.0,
                         "modified_z": 5.1},
                        {"province_code": "01", "unit_code": "00004", "indicator_code": "H1_U5_MORTALITY",
                         "value": 30.0, "modified_z": 4.0}])
    # 150 per 100,000 among 2,000 children would be 3 cases: withheld; a non-sensitive figure stays
    out = suppressed_examples(r, {P2, "ABUSE_CASES"}).examples
    assert out[0] == {"province_code": "01", "unit_code": "00004", "indicator_code": P2, "value": None,
                      "modified_z": None, "suppressed": True}
    assert out[1]["value"] == 30.0 and "suppressed" not in out[1]


@pytest.mark.slow
@pytest.mark.xdist_group("national")
def test_the_national_demo_releases_pass_the_audit(tmp_path_factory):
    """The national demo data (3,321 communes) of 2025, through the real command path."""
    import json

    from pipelines.publish.disclosure_audit import audit_release_folder
    from tests.fixtures.runs import NATIONAL_PERIODS, national_run

    home, outcomes = national_run(tmp_path_factory)  # run once, shared with test_pipeline_e2e's national test
    for period in NATIONAL_PERIODS:
        outcome = outcomes[period]
        assert outcome.success and outcome.published, outcome.errors
        folder = home / "publish" / period / "v1"
        disclosure = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["disclosure"]
        audit, protection = disclosure["audit"], disclosure["protection"]
        print(period, {k: v for k, v in protection.items() if k not in ("audit", "failures")},
              "smallest number of values:", audit["smallest_values"], "seconds:", audit["seconds"])
        assert audit["cells_exposed"] == 0 and audit["smallest_values"] >= 2 and not protection["failures"]
        # a reader who does not know which cells are primary learns even less: the files alone pass too
        assert audit_release_folder(folder, M, MODEL).ok
        # the quality report shows no figure of a sensitive commune example
        quality = json.loads((home / "reports" / period / "quality_report.json").read_text(encoding="utf-8"))
        for r in quality["results"]:
            for ex in r.get("examples", []):
                if ex.get("indicator_code") in (P2, "P3_CONFLICT_LAW_RATE") and len(str(ex.get("unit_code"))) == 5:
                    assert ex.get("value") is None and ex.get("suppressed") is True


def test_protection_stops_at_max_rounds_with_a_sentence():
    # P alone is hidden (12 - 6 - 5 = 1): one round audits and hides R, but no round is left to audit again
    communes = {"P": (1, 5000, True), "Q": (6, 5000, False), "R": (5, 5000, False)}
    one = dataclasses.replace(MODEL, max_rounds=1)
    done = protect(release(communes), truth_of(communes), sources_of(communes), M, one)
    assert done.counts["audit_rounds"] == 1 and len(done.failures) == 1
    assert "after 1 rounds" in done.failures[0] and "max_rounds" in done.failures[0]


def test_figures_that_contradict_themselves_in_every_version_are_refused():
    # each version publishes a province total (3, then 4) below its published communes' 6 + 5: no count of P
    # fits either one, alone or together; the audit cannot vouch for them, so it refuses (and does not crash)
    communes = {"P": (1, 5000, True), "Q": (6, 5000, False), "R": (5, 5000, False)}
    versions = []
    for total in (3.0, 4.0):
        tables = release(communes)
        iv = tables["indicator_values"]
        iv.loc[iv["unit_level"] == "province", "numerator"] = total
        versions.append(tables)
    for audited in (versions[:1], versions):
        result = audit_tables(audited, M, MODEL)
        assert result.cells.empty and not result.ok
        assert result.notes == ["province 01: the published figures contradict each other"]
        assert len(result.problems()) == 1 and "nothing is published" in result.problems()[0]


def test_an_assessment_that_contradicts_its_count_is_refused():
    # P = 12 - 6 - 5 = 1 by subtraction; Q's C03 says 100 points (no case) while its numerator says 6: the tables
    # contradict each other, and a reader who drops that row still finds P = 1; the audit refuses, once or repeated
    communes = {"P": (1, 5000, True), "Q": (6, 5000, False), "R": (5, 5000, False)}
    tables = release(communes)
    ca = tables["commune_assessment"]
    ca.loc[(ca["commune_code"] == "Q") & (ca["criterion_code"] == "C03"), ["points", "met"]] = [100.0, True]
    for audited in ([tables], [tables, tables]):
        for distinct in (True, False):
            assert not audit_tables(audited, M, MODEL, distinct=distinct).ok


def test_a_repeated_version_is_audited_as_its_repeats_are():
    # P = 1 by subtraction; a reader's primary count (0) contradicts the tables: with two equal versions the audit
    # falls back to each version alone, where P = 1 is exposed; reading the repeats once must decide the same
    tables = release({"P": (1, 5000, True), "Q": (6, 5000, False), "R": (5, 5000, False)})
    known = {("01", "ABUSE_CASES"): 0}
    every = audit_tables([tables, tables], M, MODEL, primary_counts=known, distinct=False)
    once = audit_tables([tables, tables], M, MODEL, primary_counts=known, distinct=True)
    assert interval(every, "P") == (1, 1) and not every.ok
    assert interval(once, "P") == (1, 1) and not once.ok and once.notes == every.notes
