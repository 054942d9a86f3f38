"""Every check of the quality gate, one by one: a passing case and a failing case.

The checks run on a real warehouse: a copy of the baseline's (small demo data,
2025, after ingest and dbt; see ``tests/fixtures/quality/support.py``), with
one targeted SQL change per failing case. No test re-runs dbt.
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from pipelines.methodology import load_methodology
from pipelines.quality import checks, expectations
from pipelines.checks.catalogue import severity_of
from pipelines.checks.core import BLOCKING, WARNING, CheckResult, load_results, record_results
from pipelines.quality.gate import evaluate_period, gate_decision
from pipelines.settings import Settings
from tests.conftest import write_methodology_variant
from tests.fixtures.quality.support import PERIOD, build_baseline

# the quality baseline is built once per session: with the gate tests, on one worker (no worker waits for it)
pytestmark = pytest.mark.xdist_group("quality_gate")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> tuple[Path, Path]:
    home, methodology, _ = build_baseline(tmp_path_factory)
    return home, methodology


@pytest.fixture(scope="module")
def m(baseline):
    return load_methodology(baseline[1])


@pytest.fixture(scope="module")
def gx_context():
    return expectations._context()


@pytest.fixture
def home(baseline, tmp_path) -> Path:
    """A CRI_HOME of its own for one test: the baseline warehouse and landing files, copied."""
    src, _ = baseline
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(src / "warehouse.duckdb", home / "warehouse.duckdb")
    shutil.copytree(src / "landing", home / "landing")
    return home


@pytest.fixture
def con(home):
    c = duckdb.connect(str(home / "warehouse.duckdb"))
    yield c
    c.close()


def one(results: list[CheckResult], code: str) -> CheckResult:
    (r,) = [r for r in results if r.code == code]
    return r


# -- ingest -------------------------------------------------------------------------------------


def test_ingest_checks_pass_on_clean_data_one_result_per_code(con, home):
    from pipelines.ingest.codes import CHECK_CODES

    results = checks.ingest_checks(con, PERIOD, landing_dir=home / "landing")
    codes = [r.code for r in results]
    assert len(codes) == len(set(codes))
    assert set(CHECK_CODES) <= set(codes)
    assert all(r.passed and r.failures == 0 for r in results)
    assert one(results, "ingest.duplicate_row").severity == WARNING
    # severities as the check catalogue declares them
    assert all(r.severity == severity_of(r.code) for r in results)
    assert all(r.title_vi and r.title_vi != r.code for r in results)  # every code has a Vietnamese title


def _reject(con, home: Path, row: int, raw: str, code: str = "ingest.negative_value", column: str = "value",
            value: str = "-2", source: str = f"{PERIOD}/culture/culture_{PERIOD}.csv", sector: str = "culture"):
    sha = con.execute("select file_sha256 from raw.ingest_files where source_file = ?", [source]).fetchone()
    con.execute(
        "insert into raw.rejected_rows (period, sector, source_file, file_sha256, row_number, column_name, value, "
        "check_code, reason, raw_record, loaded_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
        [PERIOD, sector, source, sha[0] if sha else None, row, column, value, code,
         f"Cột '{column}': giá trị âm / column '{column}': negative value", raw],
    )


def test_ingest_check_fails_naming_file_row_column_province_and_commune(con, home):
    _reject(con, home, 5, f"{PERIOD},00008,Phường Ngọc Hà,VILLAGES_CULTURE,-2")
    r = one(checks.ingest_checks(con, PERIOD, landing_dir=home / "landing"), "ingest.negative_value")
    assert not r.passed and r.blocks and r.failures == 1
    assert (f"tệp/file {PERIOD}/culture/culture_{PERIOD}.csv, dòng/row 5, cột/column 'value' "
            f"(Phường Ngọc Hà, Thành phố Hà Nội)") in r.message
    (ex,) = r.examples
    assert list(ex)[:6] == ["province_code", "province_name", "unit_code", "unit_name", "sector", "source_file"]
    assert (ex["province_code"], ex["province_name"], ex["unit_code"], ex["unit_name"]) == (
        "01", "Thành phố Hà Nội", "00008", "Phường Ngọc Hà")
    assert (ex["row_number"], ex["column_name"], ex["value"]) == (5, "value", "-2")
    assert r.failing_units == ["00008"]


def test_ingest_check_of_an_unknown_unit_names_no_commune(con, home):
    _reject(con, home, 7, f"{PERIOD},99999,Xã Không Có,PLAY_AREA,1", code="ingest.unknown_unit",
            column="unit_code", value="99999")
    r = one(checks.ingest_checks(con, PERIOD, landing_dir=home / "landing"), "ingest.unknown_unit")
    assert r.examples[0]["unit_code"] is None and r.examples[0]["province_name"] is None
    # a waiver naming one unit can never cover a failure that names none
    assert r.failing_units == [checks.UNKNOWN_UNIT]


def test_ingest_check_of_a_whole_file(con, home):
    _reject(con, home, None, None, code="ingest.file_encoding", column=None, value="FD")
    r = one(checks.ingest_checks(con, PERIOD, landing_dir=home / "landing"), "ingest.file_encoding")
    assert not r.passed and "cả tệp/whole file" in r.message and "dòng/row" not in r.message


def test_ingest_check_code_without_a_title_blocks(con, home):
    _reject(con, home, 4, f"{PERIOD},00004,x,PLAY_AREA,1", code="ingest.brand_new_check")
    r = one(checks.ingest_checks(con, PERIOD, landing_dir=home / "landing"), "ingest.brand_new_check")
    assert r.severity == BLOCKING and r.blocks


def test_ingest_checks_of_one_sector(con, home):
    _reject(con, home, 5, f"{PERIOD},00008,Phường Ngọc Hà,VILLAGES_CULTURE,-2")
    assert one(checks.ingest_checks(con, PERIOD, sectors=["health"]), "ingest.negative_value").passed
    assert not one(checks.ingest_checks(con, PERIOD, sectors=["culture"]), "ingest.negative_value").passed


def test_locate_rejects_reads_the_unit_cell_of_the_raw_record(tmp_path):
    units = pd.DataFrame([
        ("01", "province", "Thành phố Hà Nội", "01"), ("08", "province", "Tuyên Quang", "08"),
        ("00008", "commune", "Phường Ngọc Hà", "01"), ("00691", "commune", "Phường Hà Giang 2", "08"),
    ], columns=["unit_code", "unit_level", "unit_name", "province_code"])
    folder = tmp_path / PERIOD / "health"
    folder.mkdir(parents=True)
    # semicolon-separated (regional settings), the unit code in the third column, a quoted cell with a ';'
    (folder / "a.csv").write_text("\ufeffPeriod;Data_Element;UNIT_CODE;value\n", encoding="utf-8")
    (folder / "b.csv").write_text("period,unit_code,value\n", encoding="utf-8")
    rejects = pd.DataFrame([
        (f"{PERIOD}/health/a.csv", None, 2, f'{PERIOD};"LIVE;BIRTHS";00691;-1'),  # as written
        (f"{PERIOD}/health/a.csv", None, 3, f"{PERIOD};LIVE_BIRTHS;691;-1"),  # lost zeros, one unit fits
        (f"{PERIOD}/health/a.csv", None, 4, f"{PERIOD};LIVE_BIRTHS;8;-1"),  # 00008 or province 08: ambiguous
        (f"{PERIOD}/health/a.csv", None, None, None),  # whole file
        (f"{PERIOD}/health/b.csv", "0" * 64, 2, f"{PERIOD},00008,-1"),  # the file changed since it was loaded
        (f"{PERIOD}/health/gone.csv", None, 2, f"{PERIOD},00008,-1"),  # the file is gone
    ], columns=["source_file", "file_sha256", "row_number", "raw_record"])
    located = checks.locate_rejects(rejects, units, tmp_path)
    assert located.values.tolist() == [
        ["08", "Tuyên Quang", "00691", "Phường Hà Giang 2"],
        ["08", "Tuyên Quang", "00691", "Phường Hà Giang 2"],
        [None, None, None, None], [None, None, None, None], [None, None, None, None], [None, None, None, None],
    ]
    assert checks.locate_rejects(rejects, units, None).isna().all().all()


# -- consistency: sums declared in the methodology ----------------------------------------------


def test_consistency_rules_pass_on_clean_data(con, m):
    results = checks.consistency_rules(con, PERIOD, m)
    assert [r.code for r in results] == ["consistency.age_groups_sum", "consistency.province_population"]
    assert all(r.passed and r.severity == BLOCKING for r in results)


def test_age_groups_that_do_not_add_up_fail_at_the_commune(con, m):
    con.execute("update marts.fct_data_values set value = value + 3 "
                "where period = ? and unit_code = '00004' and data_element = 'POP_AGE_5'", [PERIOD])
    r = one(checks.consistency_rules(con, PERIOD, m), "consistency.age_groups_sum")
    assert not r.passed and r.blocks and r.failures == 1 and r.failing_units == ["00004"]
    (ex,) = r.examples
    assert ex["unit_name"] == "Phường Ba Đình" and ex["parts_sum"] - ex["total"] == 3
    assert "POP_AGE_0 + POP_AGE_1_4" in r.message


@pytest.mark.parametrize(("factor", "passes"), [(1.005, True), (1.05, False)])
def test_communes_against_the_province_figure_within_the_tolerance(con, m, factor, passes):
    con.execute("update marts.fct_data_values set value = round(? * value) "
                "where period = ? and unit_code = '01' and data_element = 'POP_0_15_PROVINCE'", [factor, PERIOD])
    # the communes of Hà Nội add up to 96,620 children; the province says ~97,029 (0.4% apart, tolerance 1%)
    r = one(checks.consistency_rules(con, PERIOD, m), "consistency.province_population")
    assert r.passed is passes
    if not passes:
        assert r.failing_units == ["01"] and r.examples[0]["province_code"] == "01"


# -- consistency: numerator <= denominator ------------------------------------------------------


def test_numerator_le_denominator_covers_exactly_the_percentage_indicators(con, m):
    """The same indicators as the dbt test (dim_indicator.unit_en = '%'): coherent, one warning and one gate."""
    dbt_selection = {c for (c,) in con.execute("select indicator_code from marts.dim_indicator where unit_en = '%'"
                                               ).fetchall()}
    assert set(checks.proportion_indicators(m)) == dbt_selection
    assert "H1_U5_MORTALITY" not in dbt_selection and "P2_ABUSE_RATE" not in dbt_selection


def test_numerator_le_denominator_passes_on_clean_data(con, m):
    r = checks.numerator_le_denominator(con, PERIOD, m)
    assert r.passed and r.severity == BLOCKING and "15 percentage indicators" in r.message


@pytest.mark.parametrize("unit", ["00025", "08"])
def test_numerator_above_denominator_fails_at_commune_and_province(con, m, unit):
    con.execute("update marts.fct_indicator_values set numerator = denominator + 1 "
                "where period = ? and unit_code = ? and indicator_code = 'H2_FULL_IMMUNISATION'", [PERIOD, unit])
    r = checks.numerator_le_denominator(con, PERIOD, m)
    assert not r.passed and r.blocks and r.failures == 1 and r.failing_units == [unit]
    assert r.examples[0]["indicator_code"] == "H2_FULL_IMMUNISATION"
    assert r.examples[0]["numerator"] == r.examples[0]["denominator"] + 1


def test_a_rate_per_1000_may_exceed_its_denominator(con, m):
    # under-5 deaths are not a part of the year's live births: 3 deaths for 2 births is possible in a small commune
    con.execute("update marts.fct_indicator_values set numerator = 3, denominator = 2 "
                "where period = ? and unit_code = '00025' and indicator_code = 'H1_U5_MORTALITY'", [PERIOD])
    assert checks.numerator_le_denominator(con, PERIOD, m).passed


# -- consistency: plausible ranges --------------------------------------------------------------


@pytest.mark.parametrize(("value", "passes"), [(2000.0, True), (2000.5, False), (-0.1, False)])
def test_plausible_range_of_the_methodology(con, m, value, passes):
    con.execute("update marts.fct_indicator_values set value = ? "
                "where period = ? and unit_code = '00070' and indicator_code = 'P2_ABUSE_RATE'", [value, PERIOD])
    r = checks.plausible_ranges(con, PERIOD, m)
    assert r.passed is passes and r.severity == BLOCKING
    if not passes:
        (ex,) = r.examples
        assert (ex["unit_code"], ex["indicator_code"], ex["plausible_min"], ex["plausible_max"]) == (
            "00070", "P2_ABUSE_RATE", 0.0, 2000.0)


# -- completeness -------------------------------------------------------------------------------


def test_completeness_passes_when_every_province_reaches_its_share(con, m):
    r, rates = checks.completeness(con, PERIOD, m)  # share 0 for the small data
    assert r.passed and r.severity == BLOCKING


def test_completeness_blocks_below_the_methodology_share(con, tmp_path):
    strict = load_methodology(write_methodology_variant(tmp_path / "strict.yaml", min_commune_reporting_share=0.9))
    r, _ = checks.completeness(con, PERIOD, strict)
    assert not r.passed and r.blocks and r.severity == BLOCKING
    hanoi = [e for e in r.examples if e["province_code"] == "01"]
    assert hanoi and all(e["received"] == 4 and e["expected"] == 126 for e in hanoi if e["sector"] == "health")
    assert "01" in r.failing_units and len(r.failing_units) == 34  # the other 31 provinces sent nothing


def test_completeness_of_one_province_element_at_its_share(con, tmp_path):
    m = load_methodology(write_methodology_variant(tmp_path / "m.yaml", min_commune_reporting_share=0.03))
    r, _ = checks.completeness(con, PERIOD, m)
    # Hà Nội reports 4 of 126 communes (3.2%): above 3%; the provinces without data are below
    assert "01" not in r.failing_units and "04" in r.failing_units


def test_reporting_rates_per_province_and_sector(con, m):
    rates = checks.reporting_rates(con, PERIOD, m).set_index(["province_code", "sector"])
    assert list(rates.columns) == ["province_name", "expected", "received", "complete", "on_time",
                                   "reporting_rate", "on_time_rate"]
    assert len(rates) == 34 * len(m.sectors)
    health = rates.loc[("01", "health")]
    assert (health.expected, health.received, health.complete, health.on_time) == (126, 4, 4, 4)
    assert health.reporting_rate == pytest.approx(3.2)
    finance = rates.loc[("01", "finance")]  # a province-level sector: one report, the province's own
    assert (finance.expected, finance.received, finance.reporting_rate) == (1, 1, 100.0)
    assert rates.loc[("04", "health")].received == 0  # Cao Bằng sent nothing


def test_reporting_rates_count_a_late_file_as_received_not_on_time(con, m):
    con.execute("update raw.ingest_files set received_at = timestamp '2025-11-16 00:00:00' "
                "where period = ? and sector = 'health'", [PERIOD])
    health = checks.reporting_rates(con, PERIOD, m).set_index(["province_code", "sector"]).loc[("01", "health")]
    assert (health.received, health.on_time, health.on_time_rate) == (4, 0, 0.0)
    con.execute("update raw.ingest_files set received_at = timestamp '2025-11-15 23:59:59' "
                "where period = ? and sector = 'health'", [PERIOD])
    health = checks.reporting_rates(con, PERIOD, m).set_index(["province_code", "sector"]).loc[("01", "health")]
    assert health.on_time == 4  # the deadline day counts


# -- plausibility (warnings) --------------------------------------------------------------------


def test_year_on_year_passes_without_a_previous_period(con, m):
    r = checks.year_on_year(con, PERIOD, "2024", m)
    assert r.passed and r.severity == WARNING


@pytest.mark.parametrize(("previous_factor", "flagged"), [(0.7, False), (0.6, True)])
def test_year_on_year_change_beyond_the_threshold(con, m, previous_factor, flagged):
    # the previous year's province values: 1/0.7 = +43% (below 50%); 1/0.6 = +67% (above)
    con.execute(
        "insert into marts.fct_indicator_values by name "
        "select * replace ('2024' as period, value * ? as value) from marts.fct_indicator_values "
        "where period = ? and unit_level = 'province' and indicator_code = 'H2_FULL_IMMUNISATION'",
        [previous_factor, PERIOD])
    r = checks.year_on_year(con, PERIOD, "2024", m)
    assert r.passed is not flagged and not r.blocks
    if flagged:
        assert sorted(r.failing_units) == ["01", "08", "12"]
        assert {e["province_name"] for e in r.examples} == {"Thành phố Hà Nội", "Tuyên Quang", "Lai Châu"}
        assert all(e["change_share"] == pytest.approx(1 / 0.6 - 1, abs=1e-3) for e in r.examples)


def _smooth_communes(con):
    """Every commune value of 2025 close to its province's others: 51, 52, 53, 54 (no outlier)."""
    con.execute(
        "update marts.fct_indicator_values f set value = s.v from ("
        "  select unit_code, indicator_code,"
        "         50 + row_number() over (partition by province_code, indicator_code order by unit_code) as v"
        "  from marts.fct_indicator_values where period = ? and unit_level = 'commune' and value is not null"
        ") s where f.period = ? and f.unit_code = s.unit_code and f.indicator_code = s.indicator_code",
        [PERIOD, PERIOD])


def test_commune_outliers_pass_when_communes_are_alike(con, m):
    _smooth_communes(con)
    r = checks.commune_outliers(con, PERIOD, m)
    assert r.passed and r.severity == WARNING


def test_commune_outlier_above_the_modified_z_score(con, m):
    _smooth_communes(con)
    con.execute("update marts.fct_indicator_values set value = 99 "
                "where period = ? and unit_code = '00070' and indicator_code = 'H2_FULL_IMMUNISATION'", [PERIOD])
    r = checks.commune_outliers(con, PERIOD, m)
    assert not r.passed and not r.blocks and r.failing_units == ["00070"]
    (ex,) = r.examples
    assert ex["unit_name"] == "Phường Hoàn Kiếm" and ex["indicator_code"] == "H2_FULL_IMMUNISATION"
    assert abs(ex["modified_z"]) > 3.5


# -- output -------------------------------------------------------------------------------------


def test_ranking_output_passes_on_clean_data(con, m):
    results = checks.ranking_output(con, PERIOD, m)
    assert [(r.code, r.passed, r.severity) for r in results] == [
        ("output.all_provinces", True, BLOCKING), ("output.ranking_valid", True, BLOCKING)]


def test_a_province_missing_from_the_ranking(con, m):
    con.execute("delete from marts.fct_province_ranking where period = ? and province_code = '12'", [PERIOD])
    r = one(checks.ranking_output(con, PERIOD, m), "output.all_provinces")
    assert not r.passed and r.blocks and r.examples == [{"province_code": "12", "province_name": "Lai Châu"}]


@pytest.mark.parametrize("fault", ["rank_out_of_order", "no_tier", "no_reason"])
def test_ranks_that_are_not_a_proper_ranking(con, m, fault):
    sql = {
        "rank_out_of_order": "update marts.fct_province_ranking set rank = 2 where rank = 1",
        "no_tier": "update marts.fct_province_ranking set tier = null where rank = 1",
        "no_reason": "update marts.fct_province_ranking set not_ranked_reason = null where province_code = '04'",
    }[fault]
    con.execute(sql + " and period = ?", [PERIOD])
    r = one(checks.ranking_output(con, PERIOD, m), "output.ranking_valid")
    assert not r.passed and r.blocks and r.failures == 1


def test_equal_pcri_share_the_better_rank(con, m):
    # the third province brought to the PCRI of the second at 2 decimals: both rank 2
    (second, pcri), (third,) = (
        con.execute("select province_code, pcri from marts.fct_province_ranking where period = ? and rank = 2",
                    [PERIOD]).fetchone(),
        con.execute("select province_code from marts.fct_province_ranking where period = ? and rank = 3",
                    [PERIOD]).fetchone(),
    )
    con.execute("update marts.fct_province_ranking set pcri = ?, rank = 2 where period = ? and province_code = ?",
                [round(pcri, 2), PERIOD, third])
    assert one(checks.ranking_output(con, PERIOD, m), "output.ranking_valid").passed
    con.execute("update marts.fct_province_ranking set pcri = ? where period = ? and province_code = ?",
                [round(pcri, 2) - 0.01, PERIOD, third])
    assert not one(checks.ranking_output(con, PERIOD, m), "output.ranking_valid").passed


def test_data_present(con):
    assert checks.data_present(con, PERIOD).passed
    r = checks.data_present(con, "2030")
    assert not r.passed and r.blocks and "landing/2030/<sector>/" in r.message


def test_dbt_results_keep_their_severity():
    from pipelines.checks.dbt import dbt_result

    # a test the catalogue does not list keeps dbt's severity
    assert dbt_result("t", "marts/x", False, "error", 2, "m").severity == BLOCKING
    assert dbt_result("t", "marts/x", False, "warn", 2, "m").severity == WARNING
    assert checks.check_name("gx.raw_data_values.value_not_null") == "gx__raw_data_values__value_not_null"


# -- Great Expectations suites (expectations/*.json) --------------------------------------------


def test_suites_load_with_unique_ids():
    suites = expectations.load_suites()
    assert [s.name for s in suites] == ["indicator_values", "province_ranking", "raw_data_values"]
    for s in suites:
        assert len(set(s.expectation_ids)) == len(s.expectation_ids)
        assert all(e["meta"]["id"] for e in s.document["expectations"])  # severity and title: the catalogue


@pytest.mark.parametrize("broken", ["no_query", "no_id"])
def test_a_suite_file_without_its_metadata_is_refused(tmp_path, broken):
    doc = json.loads((expectations.EXPECTATIONS_DIR / "raw_data_values.json").read_text(encoding="utf-8"))
    if broken == "no_query":
        del doc["meta"]["cri"]["query"]
    else:
        del doc["expectations"][0]["meta"]["id"]
    (tmp_path / "x.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ValueError, match="query" if broken == "no_query" else "meta.id"):
        expectations.load_suites(tmp_path)


def test_every_suite_passes_on_clean_data(con, gx_context):
    results = [r for s in expectations.load_suites() for r in expectations.run_suite(con, s, PERIOD, gx_context)]
    assert len(results) == 13  # denominator >= 0 is the dbt test only
    assert all(r.passed for r in results), [r.message for r in results if not r.passed]


GX_FAULTS = {
    "gx.raw_data_values.value_not_negative":
        "update raw.data_values set value = -1 where unit_code = '00004' and data_element = 'LIVE_BIRTHS'",
    "gx.raw_data_values.unit_code_format":
        "update raw.data_values set unit_code = '4' where unit_code = '00004' and data_element = 'LIVE_BIRTHS'",
    "gx.raw_data_values.period_format": None,  # a period that is not YYYY never matches its own batch
    "gx.indicator_values.score_0_100":
        "update marts.fct_indicator_values set score = 100.5 where unit_code = '00004' and indicator_code = 'H2_FULL_IMMUNISATION'",
    "gx.indicator_values.value_not_negative":
        "update marts.fct_indicator_values set value = -1 where unit_code = '00004' and indicator_code = 'H2_FULL_IMMUNISATION'",
    "gx.indicator_values.unit_level":
        "update marts.fct_indicator_values set unit_level = 'district' where unit_code = '00004' and indicator_code = 'H2_FULL_IMMUNISATION'",
    "gx.indicator_values.one_value_per_unit_indicator":
        "insert into marts.fct_indicator_values select * from marts.fct_indicator_values "
        "where unit_code = '00004' and indicator_code = 'H2_FULL_IMMUNISATION'",
    "gx.province_ranking.34_provinces": "delete from marts.fct_province_ranking where province_code = '12'",
    "gx.province_ranking.province_unique":
        "update marts.fct_province_ranking set province_code = '01' where province_code = '12'",
    "gx.province_ranking.pcri_0_100": "update marts.fct_province_ranking set pcri = 101 where province_code = '12'",
    "gx.province_ranking.rank_1_34": "update marts.fct_province_ranking set rank = 35 where province_code = '12'",
    "gx.province_ranking.indicators_used":
        "update marts.fct_province_ranking set indicators_used = -1 where province_code = '12'",
    "gx.raw_data_values.value_not_null": None,  # raw.data_values.value is NOT NULL in the warehouse DDL
}


@pytest.mark.parametrize("code", [c for c, sql in GX_FAULTS.items() if sql], ids=lambda c: c[3:])
def test_each_expectation_fails_on_its_fault(con, gx_context, code):
    con.execute(GX_FAULTS[code])
    suite = next(s for s in expectations.load_suites() if s.name == code.split(".")[1])
    results = expectations.run_suite(con, suite, PERIOD, gx_context)
    failed = [r.code for r in results if not r.passed]
    assert code in failed
    r = one(results, code)
    assert r.blocks and r.failures >= 1 and r.asset == suite.asset
    assert "không đạt" in r.message.lower()
    if "unit_code" in (r.examples[0] if r.examples else {}):
        assert r.examples[0]["unit_code"] in ("00004", "4")


def test_every_expectation_has_a_failing_case():
    ids = {expectations.check_code(s.name, i) for s in expectations.load_suites() for i in s.expectation_ids}
    assert ids == set(GX_FAULTS)


def test_expectation_examples_name_the_row(con, gx_context):
    con.execute(GX_FAULTS["gx.raw_data_values.value_not_negative"])
    suite = next(s for s in expectations.load_suites() if s.name == "raw_data_values")
    r = one(expectations.run_suite(con, suite, PERIOD, gx_context), "gx.raw_data_values.value_not_negative")
    (ex,) = r.examples
    assert (ex["unit_code"], ex["source_file"], ex["row_number"]) == ("00004", f"{PERIOD}/health/health_{PERIOD}.csv", 2)
    assert r.failing_units == ["00004"] and "1 dòng không đạt / 1 rows do not meet" in r.message


def test_a_table_expectation_says_what_it_observed(con, gx_context):
    con.execute(GX_FAULTS["gx.province_ranking.34_provinces"])
    suite = next(s for s in expectations.load_suites() if s.name == "province_ranking")
    r = one(expectations.run_suite(con, suite, PERIOD, gx_context), "gx.province_ranking.34_provinces")
    assert "observed: 33" in r.message


# -- the gate: every check together, waivers, the decision --------------------------------------


def test_evaluate_period_on_clean_data_passes_and_writes_the_reports(con, home, baseline):
    settings = Settings(home=home, methodology_path=baseline[1])
    outcome = evaluate_period(con, PERIOD, "run-clean", load_methodology(baseline[1]), settings)
    assert outcome.passed and outcome.summary["failed_blocking"] == 0
    assert gate_decision(con, "run-clean", PERIOD) == (True, [])
    folder = home / "reports" / PERIOD
    for name in ("quality_report.json", "quality_report.html", "rejected_rows.csv"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o644  # readable by operators and the web server
    doc = json.loads((folder / "quality_report.json").read_text(encoding="utf-8"))
    assert list(doc)[:5] == ["period", "run_id", "created_at", "passed", "checks"]
    assert {"code", "severity", "outcome", "failures", "examples", "title_vi", "message"} <= set(doc["results"][0])
    assert doc["reporting_rates"][0].keys() >= {"province_code", "sector", "expected", "received", "on_time"}
    assert (folder / "rejected_rows.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_evaluate_period_blocks_and_names_the_unit_in_plain_words(con, home, baseline):
    con.execute("update marts.fct_indicator_values set numerator = denominator + 1 "
                "where period = ? and unit_code = '00025' and indicator_code = 'H2_FULL_IMMUNISATION'", [PERIOD])
    settings = Settings(home=home, methodology_path=baseline[1])
    outcome = evaluate_period(con, PERIOD, "run-bad", load_methodology(baseline[1]), settings)
    assert not outcome.passed
    ok, reasons = gate_decision(con, "run-bad", PERIOD)
    assert not ok and reasons == outcome.summary["blocking_failures"]
    (line,) = reasons
    assert line.startswith("Tử số không vượt quá mẫu số [consistency.numerator_le_denominator]: ")
    assert "Đầu tiên / first: Phường Giảng Võ (00025), Thành phố Hà Nội (01): " in line
    ex = one(outcome.results, "consistency.numerator_le_denominator").examples[0]
    assert list(ex)[:4] == ["province_code", "province_name", "unit_code", "unit_name"]


def test_a_check_that_cannot_run_blocks_and_says_why(con, home, baseline):
    def broken_check(con, period, m):
        raise KeyError("no such column")

    settings = Settings(home=home, methodology_path=baseline[1])
    outcome = evaluate_period(con, PERIOD, "run-x", load_methodology(baseline[1]), settings,
                              extra_checks=(broken_check,))
    r = one(outcome.results, "extra.broken_check")
    assert r.blocks and "could not run" in r.message and "KeyError" in r.message
    assert not outcome.passed


def test_gate_decision_when_the_checks_did_not_run(con):
    ok, reasons = gate_decision(con, "a-run-without-checks", PERIOD)
    assert not ok and "did not run in this run" in reasons[0]


def test_a_waived_dbt_test_does_not_block_the_publish_step(con, home, baseline):
    """dbt tests are recorded by the transform step; the gate's waiver must be what the publish step reads."""
    from pipelines.checks.dbt import dbt_result

    failing = dbt_result("not_null_fct_x", "marts/fct_x", False, "error", 2, "dbt test failed")
    record_results(con, "run-dbt", PERIOD, [failing])
    (home / "waivers.yaml").write_text(yaml.safe_dump({"waivers": [
        {"check": "dbt.not_null_fct_x", "reason": "đã kiểm tra", "approved_by": "A", "date": "2025-11-20"}]}),
        encoding="utf-8")
    settings = Settings(home=home, methodology_path=baseline[1])
    outcome = evaluate_period(con, PERIOD, "run-dbt", load_methodology(baseline[1]), settings)
    assert outcome.passed and one(outcome.results, "dbt.not_null_fct_x").waived
    assert gate_decision(con, "run-dbt", PERIOD) == (True, [])
    (home / "waivers.yaml").unlink()
    outcome = evaluate_period(con, PERIOD, "run-dbt", load_methodology(baseline[1]), settings)
    assert not outcome.passed and not gate_decision(con, "run-dbt", PERIOD)[0]


def test_results_round_trip_through_the_warehouse(con):
    r = CheckResult(code="consistency.x", severity=BLOCKING, passed=False, failures=2, message="m", asset="a",
                    title_vi="Tiêu đề", examples=[{"unit_code": "00004", "v": 1.5}], failing_units=["00004"],
                    waived=True, waiver={"check": "consistency.x"})
    record_results(con, "run-rt", PERIOD, [r])
    record_results(con, "run-rt", PERIOD, [r])  # recording again replaces, never duplicates
    (back,) = load_results(con, "run-rt", PERIOD)
    assert back == r
