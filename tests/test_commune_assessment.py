"""Child-friendly commune assessment (Decision 06/QĐ-TTg) and commune ranking.

The configuration file and its checks, the operators' commune type file, and
a small warehouse where four communes of Hà Nội are worked out by hand against
the real configuration (commune-assessment-2019.yaml):

* R, type other (850): recognised with 870 points;
* Z, type mountain (800): 925 points but criterion C05 scores 0: not recognised;
* T, type urban ward (900): every criterion met, 855 points: below its 900 though
  above the 850 of other communes: not recognised;
* U: no satisfaction survey: not assessed, keeps the recognition its agency reported.

dbt runs once for the module (models and data tests); the release is then
built from that warehouse, disclosure control included.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from pipelines.methodology import (
    MethodologyError,
    load_methodology,
    parse_commune_assessment,
    parse_methodology,
)
from pipelines.publish import contract
from pipelines.publish.release import build_release_tables, publish_period
from pipelines.publish.release_tables import check_release_tables
from pipelines.reference import load_admin_units, load_methodology_tables
from pipelines.reference.commune_types import read_commune_types
from pipelines.reference.units import admin_units
from pipelines.settings import DBT_PROJECT_DIR, DEFAULT_METHODOLOGY, METHODOLOGY_DIR, Settings
from pipelines.warehouse import connect, ensure_schema, replace_table

DBT = Path(sys.executable).parent / "dbt"
METHODOLOGY = load_methodology(DEFAULT_METHODOLOGY)
ASSESSMENT = METHODOLOGY.commune_assessment
ASSESSMENT_FILE = METHODOLOGY_DIR / "commune-assessment-2019.yaml"


# -- the hand-worked communes -------------------------------------------------------------------
# A perfect commune scores the maximum of every item (1,000 points).
PERFECT = {
    "POP_0_15": 10000, "POP_AGE_0": 100, "POP_AGE_1_4": 400, "POP_AGE_5": 100, "POP_AGE_6": 100,
    "POP_AGE_7_15": 6000, "VILLAGES": 10,
    "CP_WORKER": 1, "VILLAGES_CP_VOLUNTEER": 10, "CP_GROUP_MEETS": 1, "CHILD_PLAN_FUNDED": 1,  # C01 100
    "LIVE_BIRTHS": 100, "BIRTHS_REG_ONTIME": 100,  # C02 100% -> 50
    "ABUSE_CASES": 0,  # C03 0 per 10,000 -> 100
    "CONFLICT_LAW": 0, "CHILDREN_DRUGS": 0,  # C04 -> 75
    "INJURY_DEATHS": 0,  # C05 -> 75
    "CSC_TOTAL": 50, "CSC_HELPED": 50,  # C06 100% helped -> 50
    "SAT_CASES": 0, "SAT_CASES_PLANNED": 0,  # C06 no case of sexual abuse, abandonment, trafficking: plan item met, 75
    "IMMUNISED_FULL_U1": 100,  # C07 100% -> 50
    "MEASURED_U5": 500, "UNDERWEIGHT_U5": 20, "STUNTED_U5": 50,  # C08 4% -> 50, 10% -> 50
    "HEALTH_CHECKED": 9000,  # C09 90% -> 50
    "ENROLLED_AGE5": 100,  # C10 100% -> 75
    "CHILDREN_FORUM": 1, "CHILDREN_CONSULTED": 1800,  # C11 25 + 30% -> 50
    "PLAY_AREA": 1, "VILLAGES_CULTURE": 8,  # C12 35 + 80% -> 40
    "SATISFACTION_SURVEYED": 100, "SATISFIED": 90,  # C13 90% -> 50
    "CHILD_FRIENDLY": 1,  # the agency's reported recognition
}
CASES = {
    # R: 1,000 - 130 = 870 >= 850 (other): recognised. Abuse 2 per 10,000 -> 85 (-15); conflict 3 + drugs 1 =
    # 4 per 10,000 -> 65 (-10); immunised 96% -> 45 (-5); health checks 70% -> 30 (-20); culture 50% -> 35 (-5);
    # satisfied 80% -> 40 (-10); consulted 20% -> 40 (-10); helped 43/50 = 86% < 95% -> 0 of 50 (-50; C06 75,
    # met); volunteers 70% -> 10 (-5).
    "R": {"ABUSE_CASES": 2, "CONFLICT_LAW": 3, "CHILDREN_DRUGS": 1, "IMMUNISED_FULL_U1": 96, "HEALTH_CHECKED": 7000,
          "VILLAGES_CULTURE": 5, "SATISFIED": 80, "CHILDREN_CONSULTED": 1200, "CSC_HELPED": 43,
          "VILLAGES_CP_VOLUNTEER": 7},
    # Z: 12 injury deaths per 10,000 children: above every band of C05 -> 0; total 925 >= 800 (mountain), every
    # other criterion met: not recognised because of the zero. Its agency reported it recognised.
    "Z": {"INJURY_DEATHS": 12},
    # T: 1,000 - 145 = 855: health checks 70% -> 30 (-20); helped 41/50 = 82% -> 0 of 50 (-50); satisfied 70% -> 30
    # (-20); consulted 20% -> 40 (-10); culture 40% -> 25 (-15); immunised 93% -> 40 (-10); registered on time
    # 95% -> 40 (-10); volunteers 50% -> 5 (-10). Every criterion met; 855 < 900 (urban ward), >= 850 (other).
    "T": {"HEALTH_CHECKED": 7000, "CSC_HELPED": 41, "SATISFIED": 70, "CHILDREN_CONSULTED": 1200,
          "VILLAGES_CULTURE": 4, "IMMUNISED_FULL_U1": 93, "BIRTHS_REG_ONTIME": 95, "VILLAGES_CP_VOLUNTEER": 5},
    # U: no satisfaction survey: not assessed; its reported recognition (1) stays in R3.
    "U": {"SATISFACTION_SURVEYED": None, "SATISFIED": None},
}
TYPES = {"R": "other", "Z": "mountain_island_disadvantaged", "T": "urban_ward_central_city", "U": "other"}
EXPECTED_POINTS = {
    "R": {"C01": 95, "C02": 50, "C03": 85, "C04": 65, "C05": 75, "C06": 75, "C07": 45, "C08": 100, "C09": 30,
          "C10": 75, "C11": 65, "C12": 70, "C13": 40},
    "Z": {"C01": 100, "C02": 50, "C03": 100, "C04": 75, "C05": 0, "C06": 125, "C07": 50, "C08": 100, "C09": 50,
          "C10": 75, "C11": 75, "C12": 75, "C13": 50},
    "T": {"C01": 90, "C02": 40, "C03": 100, "C04": 75, "C05": 75, "C06": 75, "C07": 40, "C08": 100, "C09": 30,
          "C10": 75, "C11": 65, "C12": 60, "C13": 30},
}
PROVINCE = "01"


def case_values(case: str) -> dict[str, float | None]:
    return {**PERFECT, **CASES[case]}


def shared_build(tmp_path_factory, name: str, build) -> tuple[Path, dict]:
    """(folder, result) of ``build(folder)``, run once per test session whichever xdist worker asks first.

    Under ``-n 2 --dist loadgroup`` the tests of one module can be spread over both workers, and each
    worker then sets the module fixtures up again; the slow builds here are done once and shared.
    ``build`` returns a JSON-able dict; a failed build is not kept.
    """
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder, done = root / name, root / name / "result.json"
    with open(root / f"{name}.lock", "a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            if not done.exists():
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
                done.write_text(json.dumps(build(folder), ensure_ascii=False), encoding="utf-8")
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    return folder, json.loads(done.read_text(encoding="utf-8"))


# -- configuration ------------------------------------------------------------------------------


def test_the_configuration_is_the_decision():
    a = ASSESSMENT
    assert [c.code for c in a.criteria] == [f"C{n:02d}" for n in range(1, 14)]
    assert a.total_points == 1000 == sum(c.max_points for c in a.criteria)
    assert {t.code: t.min_total_points for t in a.commune_types} == {
        "urban_ward_central_city": 900, "mountain_island_disadvantaged": 800, "other": 850}
    assert a.default_type.code == "other" and a.replaces_element == "CHILD_FRIENDLY"
    # the public point values: criterion 1 worker 50, volunteers 15, group 15; criterion 6 up to 125;
    # criterion 7: 98% or more gets the full 50
    c01 = {i.code: i for i in a.criteria[0].items}
    assert (c01["C01A"].max_points, c01["C01B"].max_points, c01["C01C"].max_points) == (50, 15, 15)
    assert not c01["C01A"].assumed and not c01["C01C"].assumed and c01["C01B"].assumed
    assert a.criteria[5].max_points == 125
    c07 = a.criteria[6].items[0]
    assert c07.bands[0].bound == 98 and c07.bands[0].points == 50
    # everything not public is marked assumed
    assert all(c.assumed for c in a.criteria)
    elements = METHODOLOGY.elements_by_code
    for e in a.elements:
        assert elements[e].level == "commune", e
    assert a.periods == "annual" and a.applies_to("2025") and not a.applies_to("2025H1")


def test_tables_for_the_warehouse():
    tables = METHODOLOGY.tables()
    assert len(tables["assessment_criteria"]) == 13 and len(tables["assessment_thresholds"]) == 3
    assert tables["assessment"].iloc[0]["file_sha256"] == ASSESSMENT.sha256
    crit = tables["assessment_criteria"].set_index("criterion_code")
    assert crit.loc["C03", "is_sensitive"] and crit.loc["C04", "is_sensitive"] and not crit.loc["C01", "is_sensitive"]
    terms = tables["assessment_terms"]
    assert set(terms[terms.item_code == "C04A"].data_element) == {"CONFLICT_LAW", "CHILDREN_DRUGS", "POP_0_15"}
    # without an assessment: the same tables, empty, with their columns
    doc = yaml.safe_load(DEFAULT_METHODOLOGY.read_text(encoding="utf-8"))
    doc.pop("commune_assessment")
    bare = parse_methodology(doc, Path("bare.yaml"), "0" * 64)
    empty = bare.tables()
    assert bare.commune_assessment is None
    assert list(empty["assessment_bands"].columns) == list(tables["assessment_bands"].columns)
    assert all(empty[n].empty for n in empty if n.startswith("assessment"))


def test_a_copy_of_the_methodology_elsewhere_still_finds_the_assessment(tmp_path):
    doc = yaml.safe_load(DEFAULT_METHODOLOGY.read_text(encoding="utf-8"))
    copy_path = tmp_path / "pcri-copy.yaml"
    copy_path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    assert load_methodology(copy_path).commune_assessment.path == ASSESSMENT_FILE.resolve()
    doc["commune_assessment"] = "no-such-file.yaml"
    with pytest.raises(MethodologyError, match="no-such-file.yaml"):
        parse_methodology(doc, tmp_path / "x.yaml", "0" * 64)


def _doc():
    return yaml.safe_load(ASSESSMENT_FILE.read_text(encoding="utf-8"))


def _parse(doc):
    return parse_commune_assessment(doc, Path("a.yaml"), "0" * 64, METHODOLOGY.elements_by_code)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["criteria"][1]["items"][0]["bands"].append({"max": 5, "points": 1}), "mix min and max"),
    (lambda d: d["criteria"][1]["items"][0]["bands"].append({"min": 70, "points": 45}), "fewer points"),
    (lambda d: d["criteria"][1]["items"][0].update(numerator=["NO_SUCH"]), "unknown data element 'NO_SUCH'"),
    (lambda d: d["criteria"][1]["items"][0].update(denominator=["CHILD_BUDGET_VND"]), "not a commune-level"),
    (lambda d: d["criteria"][0]["items"][0].update(yes_no="POP_0_15"), "of kind count; expected yes_no"),
    (lambda d: d["criteria"][0]["items"][0].update(count=["ABUSE_CASES"]), "exactly one input"),
    (lambda d: d.update(total_points=900), "criteria maxima add up to 1000"),
    (lambda d: d["criteria"][2].update(pass_points=500), "pass_points must be above 0"),
    (lambda d: d["commune_types"][0].update(default=True), "exactly one commune type must be the default"),
    (lambda d: d["recognition"].update(replaces_element="PLAY_AREA"), "also an input of a criterion"),
    (lambda d: d.update(periods="monthly"), "periods must be one of"),
    (lambda d: d["criteria"][3]["items"][0].update(code="C01A"), "duplicate item code 'C01A'"),
])
def test_inconsistent_configuration_is_refused_with_the_entry_named(change, message):
    doc = _doc()
    change(doc)
    with pytest.raises(MethodologyError, match=message):
        _parse(doc)


def test_evaluate_the_hand_worked_communes():
    """The Python reference (used by the demo data) on the four communes."""
    cases = ["R", "Z", "T", "U"]
    values = {e: np.array([np.nan if case_values(c).get(e) is None else case_values(c)[e] for c in cases], float)
              for e in ASSESSMENT.elements}
    result = ASSESSMENT.evaluate(values, [TYPES[c] for c in cases])
    for n, case in enumerate(cases[:3]):
        points = {code: result.criterion_points[code][n] for code in EXPECTED_POINTS[case]}
        assert points == EXPECTED_POINTS[case], case
    assert list(result.total[:3]) == [870, 925, 855]
    assert list(result.threshold) == [850, 800, 900, 850]
    assert list(result.assessed) == [True, True, True, False]
    assert list(result.recognised) == [True, False, False, False]


# -- commune types ------------------------------------------------------------------------------


def test_commune_types_file_missing_or_with_bad_rows_never_fails(tmp_path):
    units = admin_units()
    communes = units[units.unit_level == "commune"].unit_code.sort_values().tolist()
    division = units.set_index("unit_code").division_type
    missing = read_commune_types(tmp_path / "none.csv", units)
    # no file: the default of the division type (phường 900, đặc khu 800, xã 850), the project's reading
    assert not missing.file_found and missing.warnings
    assert missing.counts == {"other": 2621, "urban_ward_central_city": 687, "mountain_island_disadvantaged": 13}
    path = tmp_path / "commune_types.csv"
    path.write_text(
        "commune_code,commune_name,commune_type\n"
        f"{communes[0]},A,urban_ward_central_city\n"
        f"{int(communes[1])},B,Mountain_Island_Disadvantaged\n"  # leading zero lost, case differs: still read
        f"{communes[2]},C,capital\n"  # unknown type
        "99999,Z,other\n"  # unknown commune
        f"{communes[3]},D,other\n{communes[3]},D,urban_ward_central_city\n",  # two types
        encoding="utf-8-sig")
    found = read_commune_types(path, units)
    types = found.frame.set_index("commune_code")
    assert types.loc[communes[0], "commune_type"] == "urban_ward_central_city"
    assert types.loc[communes[1], "commune_type"] == "mountain_island_disadvantaged"
    for bad in communes[2:4]:  # unknown type, two types: the default of its division type
        expected = {"phường": "urban_ward_central_city", "đặc khu": "mountain_island_disadvantaged"}.get(
            division[bad], "other")
        assert types.loc[bad, "commune_type"] == expected and types.loc[bad, "type_source"] == "default"
    assert found.from_file == 2 and len(found.frame) == len(communes)
    text = " ".join(found.warnings)
    assert "unknown commune code" in text and "unknown commune type" in text and "two different types" in text
    assert "not in the file" in text


def test_demo_commune_types_are_derived_from_the_unit_list():
    from pipelines.demo.generate import demo_commune_types

    types = demo_commune_types().set_index("commune_code")
    units = admin_units().set_index("unit_code")
    assert types.commune_type.value_counts().to_dict() == {
        "other": 1946, "mountain_island_disadvantaged": 688, "urban_ward_central_city": 687}
    # a ward of Hà Nội; a rural commune of Lai Châu; a special zone (island) anywhere
    ward = units[(units.province_code == "01") & (units.division_type == "phường")].index[0]
    rural = units[(units.province_code == "12") & (units.division_type == "xã")].index[0]
    zone = units[units.division_type == "đặc khu"].index[0]
    assert types.loc[ward, "commune_type"] == "urban_ward_central_city"
    assert types.loc[rural, "commune_type"] == "mountain_island_disadvantaged"
    assert types.loc[zone, "commune_type"] == "mountain_island_disadvantaged"


# -- the small warehouse ------------------------------------------------------------------------


def _run_dbt(tmp: Path, warehouse: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    env = {**os.environ, "CRI_WAREHOUSE_PATH": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    target = tmp / "dbt_target"
    proc = subprocess.run(
        [str(DBT), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target), "--log-path", str(tmp / "dbt_logs")],
        env=env, capture_output=True, text=True, timeout=600)
    results_file = target / "run_results.json"
    results = {}
    if results_file.exists():
        results = {r["unique_id"].split(".")[2]: r for r in json.loads(results_file.read_text())["results"]}
    return proc, results


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    tmp, built = shared_build(tmp_path_factory, "commune_assessment_warehouse", _build_warehouse)
    return tmp / "warehouse.duckdb", built["codes"], built["results"], tmp


def _build_warehouse(tmp: Path) -> dict:
    path = tmp / "warehouse.duckdb"
    units = admin_units()
    communes = units[(units.unit_level == "commune") & (units.province_code == PROVINCE)].unit_code.sort_values()
    codes = dict(zip(["R", "Z", "T", "U"], communes.tolist()[:4]))
    rows = []
    for case, code in codes.items():
        for element, value in case_values(case).items():
            if value is not None:
                rows.append(("2025", code, element, float(value)))
    rows.append(("2025", PROVINCE, "CHILD_BUDGET_VND", 1e9))
    df = pd.DataFrame(rows, columns=["period", "unit_code", "data_element", "value"])
    df["sector"] = df["data_element"].map(lambda e: METHODOLOGY.elements_by_code[e].sector)
    df["disaggregation"] = ""
    df["source_file"] = "hand.csv"
    df["file_sha256"] = "0" * 64
    df["row_number"] = range(2, len(df) + 2)
    df["loaded_at"] = pd.Timestamp("2025-11-10")
    with connect(path) as con:
        ensure_schema(con)
        load_admin_units(con)
        load_methodology_tables(con, METHODOLOGY)
        types = units[units.unit_level == "commune"][["unit_code"]].rename(columns={"unit_code": "commune_code"})
        types["commune_type"] = types["commune_code"].map({c: TYPES[k] for k, c in codes.items()}).fillna("other")
        types["type_source"] = "file"
        replace_table(con, "ref.commune_types", types)
        con.register("hand", df)
        con.execute("insert into raw.data_values by name select * from hand")
        con.execute("insert into raw.ingest_files by name select '2025' as period, 'health' as sector, "
                    "'hand.csv' as source_file, ? as file_sha256, 'utf-8' as encoding, ? as rows_total, "
                    "? as rows_loaded, 0 as rows_rejected, timestamp '2025-11-10 08:00:00' as loaded_at",
                    ["0" * 64, len(df), len(df)])
    # four communes of 126 report: count them for the province figures (the gate decides otherwise)
    proc, results = _run_dbt(tmp, path, "build", "--exclude", "test_type:unit",
                             "--vars", '{"min_commune_reporting_share": 0.0}')
    assert proc.returncode == 0, proc.stdout[-6000:]
    return {"codes": codes,
            "results": {k: {"status": r["status"], "failures": r.get("failures")} for k, r in results.items()}}


def _query(path: Path, sql: str, params=None) -> pd.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


def test_points_per_criterion_match_the_hand_computation(warehouse):
    path, codes, _, _ = warehouse
    fa = _query(path, "select * from marts.fct_commune_assessment where period = '2025'")
    for case in ("R", "Z", "T"):
        got = fa[fa.commune_code == codes[case]].set_index("criterion_code")
        assert got["points"].to_dict() == EXPECTED_POINTS[case], case
        assert got["met"].all() == (case != "Z")
    z = fa[fa.commune_code == codes["Z"]].set_index("criterion_code")
    assert z.loc["C05", "is_zero"] and not z.loc["C05", "met"]
    u = fa[fa.commune_code == codes["U"]].set_index("criterion_code")
    assert pd.isna(u.loc["C13", "points"]) and pd.isna(u.loc["C13", "met"]) and not u.loc["C13", "is_complete"]
    assert u.loc["C13", "missing_elements"] == "SATISFACTION_SURVEYED, SATISFIED"
    assert u.loc["C01", "points"] == 100  # its other criteria are scored


def test_recognition_and_reasons(warehouse):
    path, codes, _, _ = warehouse
    fr = _query(path, "select * from marts.fct_commune_ranking where period = '2025'").set_index("commune_code")
    r, z, t, u = (fr.loc[codes[c]] for c in "RZTU")
    assert (r.recognised, r.total_points, r.threshold_points, r.commune_type) == (True, 870, 850, "other")
    assert pd.isna(r.reason)
    assert (z.recognised, z.total_points, z.threshold_points) == (False, 925, 800)
    assert z.reason == "C05 (Trẻ em bị tai nạn, thương tích): 0 điểm"
    assert (t.recognised, t.total_points, t.criteria_met) == (False, 855, 13)
    assert t.reason == "Tổng điểm 855 dưới ngưỡng 900 (Phường (ngưỡng của phường thuộc quận, thị xã theo Quyết định 06/QĐ-TTg))"
    assert t.total_points >= 850  # enough for an "other" commune
    assert pd.isna(u.recognised) and not u.is_assessed
    assert u.reason == "Chưa đủ số liệu để đánh giá, thiếu: SATISFACTION_SURVEYED, SATISFIED"
    # every commune of the country has a row; the 122 other communes of Hà Nội are not assessed
    assert len(fr) == 3321 and int(fr.is_assessed.sum()) == 3


def test_the_province_indicator_uses_the_assessment_and_warns_on_disagreement(warehouse):
    path, codes, results, _ = warehouse
    iv = _query(path, "select * from marts.fct_indicator_values where period = '2025' "
                      "and indicator_code = 'R3_CHILD_FRIENDLY_COMMUNES'").set_index("unit_code")
    # assessed: R recognised (1), Z and T not (0) although all three reported 1; U is not assessed: its 1 stays
    assert [iv.loc[codes[c], "numerator"] for c in "RZTU"] == [1, 0, 0, 1]
    province = iv.loc[PROVINCE]
    assert (province.numerator, province.denominator, province.value) == (2, 4, 50)
    dv = _query(path, "select value from marts.fct_data_values where period = '2025' and unit_code = ? "
                      "and data_element = 'CHILD_FRIENDLY'", [codes["Z"]])
    assert dv.value.tolist() == [1]  # the reported value is kept where it was reported
    # Z and T reported themselves recognised: a dbt warning (the gate records it as a quality warning)
    check = results["fct_commune_ranking_assessment_agrees_with_reported"]
    assert (check["status"], check["failures"]) == ("warn", 2)
    others = {k: r["status"] for k, r in results.items()
              if r["status"] not in ("pass", "success") and k != "fct_commune_ranking_assessment_agrees_with_reported"}
    assert all(s == "warn" for s in others.values()), others


def _hand_commune_index(path: Path, communes: list[str]) -> dict[str, tuple[float, bool]]:
    """Index of each commune from its data values and the methodology, in plain Python."""
    m = METHODOLOGY
    dv = _query(path, "select unit_code, data_element, value from marts.fct_data_values where period = '2025' "
                      "and unit_level = 'commune'")
    values = {(r.unit_code, r.data_element): r.value for r in dv.itertuples()}
    recognised = _query(path, "select commune_code, recognised, is_assessed from marts.fct_commune_ranking "
                              "where period = '2025'").set_index("commune_code")
    sensitive = {i.code for i in m.indicators if any(m.elements_by_code[e].sensitive for e in i.numerator)}
    out = {}
    for c in communes:
        domains: dict[str, list[float]] = {}
        used = total = 0
        for ind in m.indicators:
            if m.indicator_level(ind) != "commune" or ind.code in sensitive:
                continue
            total += 1

            def term(e):
                if e == "COMMUNES":
                    return 1.0
                if e == "CHILD_FRIENDLY" and recognised.loc[c, "is_assessed"]:
                    return float(recognised.loc[c, "recognised"])
                return values.get((c, e))

            num = [term(e) for e in ind.numerator]
            den = [term(e) for e in ind.denominator]
            if None in num or None in den or sum(den) == 0:
                continue
            v = sum(num) * ind.multiplier / sum(den)
            span = ind.goal_high - ind.goal_low
            raw = (v - ind.goal_low) / span if ind.direction == "higher" else (ind.goal_high - v) / span
            domains.setdefault(ind.domain, []).append(max(0.0, min(100.0, 100 * raw)))
            used += 1
        index = sum(sum(s) / len(s) for s in domains.values()) / len(domains)
        out[c] = (index, used / total >= m.method["min_indicator_share"] and len(domains) == len(m.domains))
    return out


def test_commune_ranking_within_the_province_by_hand(warehouse):
    path, codes, _, _ = warehouse
    communes = list(codes.values())
    hand = _hand_commune_index(path, communes)
    fr = _query(path, "select * from marts.fct_commune_ranking where period = '2025' and province_code = ?",
                [PROVINCE]).set_index("commune_code")
    for c in communes:
        assert fr.loc[c, "index"] == pytest.approx(hand[c][0]), c
        assert hand[c][1] and fr.loc[c, "indicators_total"] == 17  # 19 commune-level indicators minus P2, P3
    order = sorted(communes, key=lambda c: -round(hand[c][0], 2))
    expected_rank = {c: 1 + sum(round(hand[o][0], 2) > round(hand[c][0], 2) for o in communes) for c in communes}
    assert {c: fr.loc[c, "rank_in_province"] for c in communes} == expected_rank
    # four ranked communes: rank / 4 -> tiers 1 (0.25), 2 (0.5), 3 (0.75), 4 (1.0)
    tiers = {c: fr.loc[c, "tier"] for c in order}
    assert [tiers[c] for c in order] == [1, 2, 3, 4]
    # the 122 communes of Hà Nội without data are not ranked, with the reason
    unranked = fr[fr.rank_in_province.isna()]
    assert len(unranked) == len(fr) - 4 and set(unranked.not_ranked_reason) == {"Không có số liệu"}
    assert (fr.loc[communes, "communes_ranked"] == 4).all()


def test_release_tables_and_disclosure(warehouse, tmp_path):
    path, codes, _, _ = warehouse
    with connect(path, read_only=True) as con:
        built = build_release_tables(con, "2025", METHODOLOGY)
        # only R has abuse and conflict counts in Hà Nội: the province total gives them (a residual group,
        # reported for review like in indicator_values); nothing else is wrong
        found = check_release_tables(con, "2025", METHODOLOGY)
        assert [p for p in found if not p.startswith("residual:")] == [] and found
        result = publish_period(con, "2025", Settings(home=tmp_path, methodology_path=DEFAULT_METHODOLOGY),
                                METHODOLOGY)
    ca, cr = built.tables["commune_assessment"], built.tables["commune_ranking"]
    assert list(ca.columns[:7]) == ["period", "commune_code", "commune_name", "province_code", "criterion_code",
                                    "points", "met"]
    assert list(cr.columns[:9]) == ["period", "commune_code", "commune_name", "province_code", "index",
                                    "rank_in_province", "tier", "recognised", "reason"]
    for name in ("commune_assessment", "commune_ranking"):
        assert contract.problems(name, built.tables[name]) == []
        published = pd.read_parquet(result.path / f"{name}.parquet")
        assert list(published.columns) == contract.columns(name)
        csv = pd.read_csv(result.path / f"{name}.csv", encoding="utf-8-sig", dtype=str)
        assert list(csv.columns) == contract.columns(name) and len(csv) == len(published)
    assert len(ca) == 3321 * 13 and len(cr) == 3321
    # R has 2 abuse cases and 3 + 1 children in conflict with the law or using drugs: C03 and C04 hidden
    r = ca[ca.commune_code == codes["R"]].set_index("criterion_code")
    assert r.loc["C03", "suppressed"] and pd.isna(r.loc["C03", "points"]) and pd.isna(r.loc["C03", "met"])
    assert r.loc["C04", "suppressed"] and not r.loc["C01", "suppressed"] and r.loc["C01", "points"] == 95
    rank_r = cr.set_index("commune_code").loc[codes["R"]]
    assert pd.isna(rank_r.total_points) and bool(rank_r.recognised)  # the total would give C03 + C04 away
    # the same communes are hidden as in indicator_values (P2 abuse: R and, complementary, the lowest code)
    iv = built.tables["indicator_values"]
    p2 = iv[(iv.indicator_code == "P2_ABUSE_RATE") & (iv.unit_level == "commune") & iv.suppressed]
    c03 = ca[(ca.criterion_code == "C03") & ca.suppressed]
    assert sorted(p2.unit_code) == sorted(c03.commune_code) and codes["R"] in set(c03.commune_code)
    # Z has no abuse case but the lowest code: suppressed as a complement (R is the only commune with a count),
    # so its total is hidden too; its reason names every hidden criterion alike (met or not: C03 and C04) and
    # C05, which is not sensitive, with its points
    rank_z = cr.set_index("commune_code").loc[codes["Z"]]
    hidden = "không công bố điểm và kết quả đạt (bảo mật số liệu)"
    assert pd.isna(rank_z.total_points) and rank_z.reason == (
        f"C03 (Trẻ em bị xâm hại): {hidden}; C04 (Trẻ em vi phạm pháp luật, sử dụng ma túy): {hidden}; "
        "C05 (Trẻ em bị tai nạn, thương tích): 0 điểm")
    # T has nothing hidden: total and reason as in the warehouse
    rank_t = cr.set_index("commune_code").loc[codes["T"]]
    assert rank_t.total_points == 855 and rank_t.reason.startswith("Tổng điểm 855 dưới ngưỡng 900")
    assert ca[ca.criterion_code == "C05"].assumed.all()
    manifest = json.loads((result.path / "manifest.json").read_text(encoding="utf-8"))
    summary = manifest["commune_assessment"]
    assert (summary["communes_assessed"], summary["communes_recognised"]) == (3, 1)
    assert summary["assessment"]["sha256"] == ASSESSMENT.sha256 and summary["criteria_suppressed"] >= 3
    md = (result.path / "dictionary.md").read_text(encoding="utf-8")
    assert "Đánh giá xã phù hợp với trẻ em" in md and "`C13A`" in md and "giả định / assumed" in md


def test_a_suppressed_criterion_is_named_without_points_in_the_reason(warehouse, tmp_path):
    """A commune not recognised because of a criterion whose count is suppressed: no points in the reason."""
    path, codes, _, tmp = warehouse
    copy_path = tmp_path / "warehouse.duckdb"
    copy_path.write_bytes(path.read_bytes())
    with connect(copy_path) as con:
        # make R fail on C04 (whose count is hidden) and on its total: the published reason shows neither the
        # points of C04 nor the total
        con.execute("update marts.fct_commune_assessment set points = 20, met = false, "
                    "shortfall_vi = 'C04 (x): 20/75 điểm, chưa đạt (cần 40)' "
                    "where commune_code = ? and criterion_code = 'C04'", [codes["R"]])
        con.execute("update marts.fct_commune_ranking set recognised = false, "
                    "reason = 'C04 (x): 20/75 điểm, chưa đạt (cần 40); Tổng điểm 840 dưới ngưỡng 850 (y)', "
                    "total_shortfall_vi = 'Tổng điểm 840 dưới ngưỡng 850 (y)', total_points = 840 "
                    "where commune_code = ?", [codes["R"]])
    with connect(copy_path, read_only=True) as con:
        built = build_release_tables(con, "2025", METHODOLOGY)
    reason = built.tables["commune_ranking"].set_index("commune_code").loc[codes["R"], "reason"]
    assert "20/75" not in reason and "840" not in reason
    # every hidden criterion is named alike, met (C03) or not (C04), and the total clause is left out
    hidden = "không công bố điểm và kết quả đạt (bảo mật số liệu)"
    assert reason == (f"C03 (Trẻ em bị xâm hại): {hidden}; C04 (Trẻ em vi phạm pháp luật, sử dụng ma túy): {hidden}")
