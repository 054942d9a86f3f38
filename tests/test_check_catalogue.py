"""The check catalogue (pipelines/checks/catalogue.yaml): one entry per check, one implementation per entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.checks import catalogue as cat
from pipelines.checks.core import BLOCKING, WARNING, CheckResult
from pipelines.checks.dbt import dbt_test_outcomes
from pipelines.settings import DBT_PROJECT_DIR

ROOT = Path(__file__).resolve().parents[1]

ENTRY = {"code": "x.one", "severity": "blocking", "asset": "province_ranking", "family": "output",
         "title_vi": "Một", "title_en": "One", "python": "pipelines.quality.checks:data_present"}


def _doc(*entries: dict) -> dict:
    return {"families": {"output": {"title_vi": "Đầu ra", "title_en": "Output"}}, "checks": list(entries)}


@pytest.mark.parametrize(("change", "said"), [
    ({"asset": "marts/nowhere"}, "unknown asset 'marts/nowhere'"),
    ({"title_vi": ""}, "missing title_vi"),
    ({"family": "elsewhere"}, "family 'elsewhere'"),
    ({"severity": "fatal"}, "severity 'fatal'"),
    ({"dbt": "some_test"}, "exactly one implementation"),
])
def test_a_bad_entry_is_refused_naming_it(change, said):
    with pytest.raises(cat.CatalogueError, match="x.one") as err:
        cat.parse_catalogue(_doc({**ENTRY, **change}))
    assert said in str(err.value)


def test_a_code_listed_twice_is_refused():
    with pytest.raises(cat.CatalogueError, match="x.one is listed twice"):
        cat.parse_catalogue(_doc(ENTRY, {**ENTRY, "title_vi": "Hai"}))


def test_an_implementation_that_does_not_exist_is_named():
    doc = _doc({**ENTRY, "python": "pipelines.quality.checks:no_such_check"},
               {**ENTRY, "code": "gx.x", "python": None, "expectation": "province_ranking.no_such_id"})
    del doc["checks"][1]["python"]
    problems = cat.missing_implementations(cat.parse_catalogue(doc))
    assert problems == ["x.one: no function pipelines.quality.checks:no_such_check",
                        "gx.x: no expectation no_such_id in expectations/province_ranking.json"]


def test_codes_with_a_part_stand_for_the_codes_of_that_part():
    c = cat.load_catalogue()
    assert c.find("consistency.age_groups_sum").code == "consistency.<rule>"
    assert c.find("consistency.internal").code == "consistency.internal"  # its own entry wins
    assert c.find("nowhere.at_all") is None


def _manifest() -> dict:
    return json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text(encoding="utf-8"))


def test_every_entry_has_its_implementation():
    assert cat.missing_implementations(cat.load_catalogue(), _manifest()) == []


def test_every_dbt_test_is_in_the_catalogue_with_dbts_own_severity():
    c = cat.load_catalogue()
    tests = [n for n in _manifest()["nodes"].values() if n["resource_type"] == "test"]
    assert tests
    for t in tests:
        e = c.dbt_entry(t["name"], (t.get("test_metadata") or {}).get("name"))
        assert e is not None, t["name"]
        # dbt's own severity decides whether a failure stops the models downstream: it must say the same
        assert e.severity == (BLOCKING if t["config"]["severity"].lower() == "error" else WARNING), t["name"]


def test_every_expectation_and_quarantine_code_is_in_the_catalogue():
    from pipelines.ingest.codes import CHECK_CODES
    from pipelines.quality.expectations import check_code, load_suites
    from pipelines.registries.load import CHECKS

    c = cat.load_catalogue()
    gx = {check_code(s.name, i) for s in load_suites() for i in s.expectation_ids}
    assert gx == {e.code for e in c.entries.values() if e.kind == "expectation"}
    assert set(CHECK_CODES) <= {e.code for e in c.of_family("ingest")}
    assert set(CHECKS) <= {e.code for e in c.of_family("registry")}


def test_no_rule_is_implemented_twice():
    """numerator <= denominator is the gate's Python check only; denominator >= 0 the dbt test only."""
    c = cat.load_catalogue()
    implementations = [(e.kind, e.implementation) for e in c.entries.values() if e.kind != "python"]
    assert len(implementations) == len(set(implementations))
    assert c.find("consistency.numerator_le_denominator").severity == BLOCKING
    assert not [e for e in c.entries.values() if "numerator_le_denominator" in e.code and e.kind != "python"]
    assert "gx.indicator_values.denominator_not_negative" not in c.entries
    tests = {n["name"] for n in _manifest()["nodes"].values() if n["resource_type"] == "test"}
    assert any(t.startswith("accepted_range_fct_indicator_values_denominator") for t in tests)


def test_docs_list_of_checks_is_up_to_date():
    assert (ROOT / "docs" / "checks.md").read_text(encoding="utf-8") == cat.docs_markdown(), (
        "docs/checks.md is out of date: run python -m pipelines.checks.catalogue")


def test_results_take_the_catalogues_severity_and_title():
    results = [CheckResult(code="plausibility.year_on_year", severity=BLOCKING, passed=False, failures=1, message="m"),
               CheckResult(code="consistency.age_groups_sum", severity=WARNING, passed=False, failures=1,
                           message="m", title_vi="Tổng theo nhóm tuổi")]
    cat.stamp(results)
    assert [(r.severity, r.title_vi) for r in results] == [
        (WARNING, "Biến động bất thường so với kỳ trước"), (BLOCKING, "Tổng theo nhóm tuổi")]


def test_dbt_outcomes_take_the_catalogues_entry_of_their_kind():
    manifest = {"nodes": {
        "model.cri.m": {"resource_type": "model", "name": "fct_x", "fqn": ["cri", "marts", "fct_x"],
                        "original_file_path": "models/marts/fct_x.sql"},
        "test.cri.t": {"resource_type": "test", "name": "not_null_fct_x_a", "config": {"severity": "ERROR"},
                       "depends_on": {"nodes": ["model.cri.m"]}, "test_metadata": {"name": "not_null"}},
    }}
    (r,) = dbt_test_outcomes({"results": [{"unique_id": "test.cri.t", "status": "fail", "failures": 3}]}, manifest)
    assert (r.code, r.severity, r.title_vi, r.asset, r.failures, r.passed) == (
        "dbt.not_null_fct_x_a", BLOCKING, "Cột không để trống", "marts/fct_x", 3, False)


def test_a_waiver_naming_no_check_is_invalid(tmp_path):
    from pipelines.quality.waivers import load_waivers

    path = tmp_path / "waivers.yaml"
    path.write_text("waivers:\n  - {check: plausibility.year_on_yaer, reason: r, approved_by: a, "
                    "date: 2025-01-02}\n  - {check: dbt.not_null_fct_x_a, reason: r, approved_by: a, "
                    "date: 2025-01-02}\n", encoding="utf-8")
    typo, dbt = load_waivers(path)
    assert typo.status == "invalid" and "is not a check code" in typo.note and "docs/checks.md" in typo.note
    assert dbt.status == "unused"
