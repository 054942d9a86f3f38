"""Hostile and broken inputs at the gate: nothing wrong is ever published.

Each case is one small fixture and asserts the exact outcome: the check that
fails (and blocks), the plain sentence the operator reads, and that the
previous release stays byte for byte what it was. The checks run on a copy
of the quality baseline's warehouse (``tests/fixtures/quality/support.py``)
changed by one SQL statement; one test runs the whole pipeline (three values
from one sector, through ``cri run``). The warehouse lock and the formula
guard of files for Excel are here too; releases, history.jsonl and the
operator's errors are in ``test_hostile_releases_history.py``.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipelines.lock import WAITING, lock_holder, warehouse_lock
from pipelines.settings import REPO_ROOT

# -- the warehouse lock names the live holder ---------------------------------------------------------

HOLD_UNTIL_TOLD = """
import sys
from pathlib import Path
from pipelines.lock import WAITING, warehouse_lock
def tell(line):
    if line.startswith(WAITING):
        print("waiting", flush=True)
with warehouse_lock(sys.argv[2], home=Path(sys.argv[1]), poll=0.05, on_wait=tell):
    print("held", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""


def _holder(home: Path, what: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", HOLD_UNTIL_TOLD, str(home), what], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT)


def _release(p: subprocess.Popen) -> None:
    p.stdin.write("go\n")
    p.stdin.flush()
    assert p.stdout.readline().strip() == "released"
    assert p.wait(10) == 0


def test_a_waiting_writer_names_the_live_holder_not_the_previous_one(tmp_path):
    first = _holder(tmp_path, "cri run 2024")
    assert first.stdout.readline().strip() == "held"
    second = _holder(tmp_path, "cri run 2025")  # waits for the first, polling fast
    assert second.stdout.readline().strip() == "waiting"
    lines: list[str] = []
    got: list[float] = []

    def third():
        with warehouse_lock("cri run 2025H1", home=tmp_path, poll=1.0, on_wait=lines.append):
            got.append(time.monotonic())

    waiter = threading.Thread(target=third)
    waiter.start()
    time.sleep(0.3)
    _release(first)  # the second writer takes the lock before the third looks again
    assert second.stdout.readline().strip() == "held"
    assert lock_holder(tmp_path / ".warehouse.lock")["what"] == "cri run 2025"
    time.sleep(1.5)
    assert not got  # still waiting, now for the second writer
    _release(second)
    waiter.join(10)
    assert got
    waits = [line for line in lines if line.startswith(WAITING)]
    assert "cri run 2024" in waits[0]
    assert "cri run 2025" in waits[-1] and "cri run 2024" not in waits[-1]
    # a released lock names nobody
    assert lock_holder(tmp_path / ".warehouse.lock") == {}


def test_a_holder_that_died_is_not_named(tmp_path):
    holder = _holder(tmp_path, "killed run")
    assert holder.stdout.readline().strip() == "held"
    assert lock_holder(tmp_path / ".warehouse.lock")["what"] == "killed run"
    holder.kill()
    holder.wait(10)
    assert (tmp_path / ".warehouse.lock").read_text(encoding="utf-8")  # its words are still in the file
    assert lock_holder(tmp_path / ".warehouse.lock") == {}


# -- formula injection: text for Excel never starts a formula ------------------------------------------

HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "+SUM(1,2)", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\tx", "\rx"]


def test_neutralise_formulas_guards_text_and_leaves_numbers():
    from pipelines.files import neutralise_formulas, safe_text

    assert neutralise_formulas([*HOSTILE, "Hà Nội", None, "", "-3", "+84", "2,5", "-"]) == [
        *("'" + h for h in HOSTILE), "Hà Nội", None, "", "-3", "+84", "2,5", "'-"]
    assert safe_text("=1+1") == "'=1+1" and safe_text(-3) == -3 and safe_text(None) is None
    assert safe_text("Phường Ba Đình") == "Phường Ba Đình"


def test_release_csv_neutralises_text_cells_not_numbers(tmp_path):
    import pandas as pd

    from pipelines.files import write_csv

    df = pd.DataFrame({"province_name": ["=1+1", "Cao Bằng", "-2+3"], "rank_change": [-3, 2, None],
                       "pcri": [-0.5, 61.25, 70.0]})
    df["rank_change"] = df["rank_change"].astype("Int64")
    write_csv(df, tmp_path / "t.csv", {"province_name": "string", "rank_change": "int64", "pcri": "float64"})
    text = (tmp_path / "t.csv").read_bytes().decode("utf-8-sig")
    assert text.split("\r\n")[1:4] == ["'=1+1,-3,-0.5", "Cao Bằng,2,61.25", "'-2+3,,70"]


def test_rejected_rows_csv_neutralises_the_values_as_they_arrived(tmp_path):
    import pandas as pd

    from pipelines.quality.report import write_csv_bom

    rejected = pd.DataFrame({"source_file": ["2025/health/h.csv"] * 3, "row_number": [3, 4, 5],
                             "value": ["=cmd|' /C calc'!A0", "-2", "@x"], "raw_record": ["00004,=1+1", "a", "+b"]})
    write_csv_bom(tmp_path / "rejected_rows.csv", rejected)
    back = pd.read_csv(tmp_path / "rejected_rows.csv", encoding="utf-8-sig", dtype=str)
    assert back["value"].tolist() == ["'=cmd|' /C calc'!A0", "-2", "'@x"]
    assert back["raw_record"].tolist() == ["00004,=1+1", "a", "'+b"]
    assert back["row_number"].tolist() == ["3", "4", "5"]


def test_ranking_workbook_has_no_formula_from_the_data(tmp_path):
    import pandas as pd
    from openpyxl import load_workbook

    from pipelines.methodology import load_methodology
    from pipelines.publish.excel import RANKING_SHEET, write_ranking_xlsx
    from pipelines.settings import DEFAULT_METHODOLOGY

    m = load_methodology(DEFAULT_METHODOLOGY)
    ranking = pd.DataFrame({
        "period": ["2025", "2025"], "province_code": ["01", "04"], "province_name": ["=1+1", "@evil"],
        "pcri": [70.0, 60.0], "rank": [1, 2], "tier": [1, 4], "rank_change": [-3, 1], "previous_rank": [None, 3],
        "indicators_used": [20, 20], "indicators_total": [20, 20], "not_ranked_reason": [None, None]})
    domains = pd.DataFrame({"period": ["2025"], "province_code": ["01"], "domain_code": ["D1"],
                            "domain_name": ["+D"], "score": [50.0]})
    path = write_ranking_xlsx(tmp_path / "ranking.xlsx", ranking, domains, m)
    wb = load_workbook(path)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    sheet = wb[RANKING_SHEET]
    header = [c.value for c in sheet[1]]
    first = dict(zip(header, [c.value for c in sheet[2]]))
    assert first["Tỉnh/thành phố"] == "'=1+1" and first["Thay đổi thứ hạng"] == -3


# -- the gate on a copy of the quality baseline's warehouse (small demo data, 2025, published as v1) ---------

PERIOD = "2025"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    from tests.fixtures.quality.support import build_baseline

    home, methodology, _ = build_baseline(tmp_path_factory)
    return home, methodology


@pytest.fixture
def gate_home(baseline, tmp_path):
    """A CRI_HOME of its own: the baseline's warehouse, landing files and releases, copied."""
    import shutil

    src, _ = baseline
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(src / "warehouse.duckdb", home / "warehouse.duckdb")
    shutil.copytree(src / "landing", home / "landing")
    shutil.copytree(src / "publish", home / "publish")
    return home


def _evaluate(home: Path, methodology: Path, sql: list[str], waivers: list[dict] | None = None):
    """Change the warehouse with ``sql``, then run the whole gate; (outcome, may publish, reasons)."""
    import yaml

    from pipelines.methodology import load_methodology
    from pipelines.quality.gate import evaluate_period, gate_decision
    from pipelines.settings import Settings
    from pipelines.warehouse import connect

    if waivers:
        (home / "waivers.yaml").write_text(yaml.safe_dump({"waivers": waivers}, allow_unicode=True),
                                           encoding="utf-8")
    settings = Settings(home=home, methodology_path=methodology)
    with connect(home / "warehouse.duckdb") as con:
        for statement in sql:
            con.execute(statement)
        outcome = evaluate_period(con, PERIOD, "hostile", load_methodology(methodology), settings)
        ok, reasons = gate_decision(con, "hostile", PERIOD)
    return outcome, ok, reasons


def _blocking(outcome) -> set[str]:
    return {r.code for r in outcome.results if r.blocks}


def test_clean_baseline_passes_the_new_checks(gate_home, baseline):
    outcome, ok, _ = _evaluate(gate_home, baseline[1], [])
    assert ok and outcome.passed
    by_code = {r.code: r for r in outcome.results}
    for code in ("completeness.sector_files", "consistency.value_bounds", "output.enough_ranked"):
        assert by_code[code].passed and by_code[code].severity == "blocking", code
    # 2024 was never published: previous ranks cannot be compared, which is a warning, not a failure (the gate
    # runs this check as an extra check of the Dagster definitions)
    from pipelines.publish.previous import previous_release

    previous = previous_release(gate_home / "publish", PERIOD)
    assert previous.severity == "warning" and not previous.passed and not previous.blocks
    assert "no release of 2024" in previous.message


def test_a_sector_with_no_file_blocks_and_is_named(gate_home, baseline):
    outcome, ok, reasons = _evaluate(gate_home, baseline[1], [
        "delete from raw.data_values where period = '2025' and sector = 'justice'",
        "delete from raw.ingest_files where period = '2025' and sector = 'justice'"])
    assert not ok and not outcome.passed
    assert _blocking(outcome) == {"completeness.sector_files"}
    (reason,) = [r for r in reasons if "[completeness.sector_files]" in r]
    assert "Tư pháp (justice): không có tệp / no file, landing/2025/justice/" in reason
    assert reason.startswith("Đủ số liệu của mọi ngành [completeness.sector_files]: 1 ngành không có số liệu")


def test_a_missing_sector_is_waivable_like_any_other_check(gate_home, baseline):
    waiver = {"check": "completeness.sector_files", "period": PERIOD, "reason": "Tư pháp gửi bổ sung sau",
              "approved_by": "Nguyễn Văn A", "date": "2025-11-20"}
    outcome, ok, _ = _evaluate(gate_home, baseline[1], [
        "delete from raw.data_values where period = '2025' and sector = 'justice'"], waivers=[waiver])
    assert ok and outcome.passed and outcome.summary["waived"] == 1
    (r,) = [r for r in outcome.results if r.code == "completeness.sector_files"]
    assert r.waived and "1 tệp, không dòng nào được nạp / 1 file(s), no row loaded" in r.message


def test_a_province_below_the_share_of_a_mandatory_element_blocks(gate_home, tmp_path):
    from tests.conftest import write_methodology_variant

    # 0.03: Hà Nội's 4 of 126 communes (3.2%) are enough; the provinces without data are below
    strict = write_methodology_variant(tmp_path / "m.yaml", min_commune_reporting_share=0.03)
    outcome, ok, reasons = _evaluate(gate_home, strict, [])
    assert not ok and "completeness.commune_reporting" in _blocking(outcome)
    (r,) = [r for r in outcome.results if r.code == "completeness.commune_reporting"]
    assert "01" not in r.failing_units and "04" in r.failing_units
    assert any("Đầy đủ báo cáo theo tỉnh [completeness.commune_reporting]" in x for x in reasons)


def test_three_values_from_one_sector_fail_the_gate_clearly(gate_home, baseline):
    outcome, ok, reasons = _evaluate(gate_home, baseline[1], [
        "delete from raw.data_values where period = '2025' and (sector <> 'health' or row_number > 4)",
        # what the models give for such a period: no province has enough indicators to be ranked
        "update marts.fct_province_ranking set rank = null, tier = null, "
        "not_ranked_reason = 'Chỉ có 0/20 chỉ số (cần tối thiểu 65%)' where period = '2025'"])
    assert not ok
    assert {"completeness.sector_files", "output.enough_ranked"} <= _blocking(outcome)
    (r,) = [r for r in outcome.results if r.code == "completeness.sector_files"]
    assert r.failures == 7  # every sector but health
    (ranked,) = [x for x in reasons if "[output.enough_ranked]" in x]
    assert "only 0 province(s) can be ranked, at least 2 are needed" in ranked
    assert "Chỉ có 0/20 chỉ số" in ranked


def test_one_ranked_province_is_not_a_ranking(gate_home, baseline):
    outcome, ok, _ = _evaluate(gate_home, baseline[1], [
        "update marts.fct_province_ranking set rank = null, tier = null, not_ranked_reason = 'Thiếu số liệu' "
        "where period = '2025' and rank > 1"])
    assert not ok and "output.enough_ranked" in _blocking(outcome)


def test_the_rank_robustness_step_says_why_instead_of_a_stack_trace(monkeypatch):
    import dagster as dg
    import pandas as pd

    from pipelines.robustness import assets

    values = pd.DataFrame({"province_code": ["01"], "indicator_code": ["H2_FULL_IMMUNISATION"], "value": [90.0]})
    ranking = pd.DataFrame({"province_code": ["01"], "province_name": ["Thành phố Hà Nội"], "rank": [None]})

    class Ctx:
        run_id = "r"

    class Warehouse:  # the warehouse resource: the inputs come from province_inputs below
        def connect(self, read_only=False):
            return _Null()

    monkeypatch.setattr(assets, "province_inputs", lambda con, period: (values, ranking))
    from pipelines.methodology import load_methodology
    from pipelines.settings import DEFAULT_METHODOLOGY

    with pytest.raises(dg.Failure) as failure:
        assets._analyse_period(Ctx(), PERIOD, load_methodology(DEFAULT_METHODOLOGY), None, Warehouse())
    assert "the rank robustness of 2025 cannot be analysed" in failure.value.description
    assert "output.enough_ranked" in failure.value.description


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_a_count_of_1e300_live_births_blocks_naming_file_and_row(gate_home, baseline):
    outcome, ok, reasons = _evaluate(gate_home, baseline[1], [
        "update raw.data_values set value = 1e300 where period = '2025' and unit_code = '00004' "
        "and data_element = 'LIVE_BIRTHS'"])
    assert not ok and _blocking(outcome) == {"consistency.value_bounds"}
    (r,) = [r for r in outcome.results if r.code == "consistency.value_bounds"]
    (example,) = r.examples
    assert (example["unit_code"], example["data_element"], example["value"]) == ("00004", "LIVE_BIRTHS", 1e300)
    assert example["max_value"] == 200000 and example["max_per_child"] == 1
    assert example["source_file"] == "2025/health/health_2025.csv" and example["row_number"] > 1
    (reason,) = [x for x in reasons if "[consistency.value_bounds]" in x]
    assert "Phường Ba Đình (00004), Thành phố Hà Nội (01): data_element LIVE_BIRTHS, value 1e+300" in reason


def test_more_births_than_children_blocks_below_the_absolute_bound(gate_home, baseline):
    import duckdb

    con = duckdb.connect(str(gate_home / "warehouse.duckdb"), read_only=True)
    children = con.execute("select value from raw.data_values where period = '2025' and unit_code = '00008' "
                           "and data_element = 'POP_0_15'").fetchone()[0]
    con.close()
    outcome, ok, _ = _evaluate(gate_home, baseline[1], [
        f"update raw.data_values set value = {children + 1} where period = '2025' and unit_code = '00008' "
        "and data_element = 'LIVE_BIRTHS'"])
    assert children + 1 < 200000 and not ok
    (r,) = [r for r in outcome.results if r.code == "consistency.value_bounds"]
    assert [(e["unit_code"], e["children"]) for e in r.examples] == [("00008", children)]
    # the soft warnings stay warnings
    assert {r.code: r.severity for r in outcome.results}["plausibility.commune_outliers"] == "warning"


def test_value_bounds_are_read_and_checked_from_the_methodology(tmp_path):
    import yaml

    from pipelines.methodology import MethodologyError, load_methodology
    from pipelines.settings import DEFAULT_METHODOLOGY

    m = load_methodology(DEFAULT_METHODOLOGY)
    births = m.elements_by_code["LIVE_BIRTHS"]
    assert m.value_bounds.max_value(births) == 200000 and m.value_bounds.max_per_child["LIVE_BIRTHS"] == 1
    assert m.value_bounds.max_value(m.elements_by_code["VILLAGES"]) == 2000
    assert m.value_bounds.max_value(m.elements_by_code["CHILD_BUDGET_VND"]) == 1e15
    for change, words in [
        ({"max_per_child": {"LIVE_BIRTH": 1}}, "max_per_child names unknown data element 'LIVE_BIRTH'"),
        ({"max_by_kind": {"count": {"commune": -1}}}, "field 'max_by_kind.count.commune' must be above 0"),
        ({"max_by_kind": {"counts": {"commune": 1}}}, "max_by_kind.counts: expected a kind"),
        ({"max_per_chlid": {}}, "got max_per_chlid"),
    ]:
        doc = yaml.safe_load(DEFAULT_METHODOLOGY.read_text(encoding="utf-8"))
        doc["quality"]["value_bounds"].update(change)
        path = tmp_path / "m.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
        with pytest.raises(MethodologyError, match="quality.value_bounds") as err:
            load_methodology(path)
        assert words in str(err.value)


# -- one whole run: three values from one sector, through `cri run` ---------------------------------------


@pytest.mark.slow
@pytest.mark.xdist_group("quality_gate")
def test_cri_run_with_three_values_from_one_sector_is_blocked_clearly(tmp_path_factory):
    import shutil

    from tests.fixtures.quality.support import build_baseline
    from tests.test_gate import Scenario, blocking_codes, quality_report, run_scenario

    home, methodology, outcome = build_baseline(tmp_path_factory)
    base = Scenario(home=home, methodology=methodology, outcome=outcome, publish_before={}, publish_after={},
                    report=quality_report(home))

    def three_values(home: Path) -> None:
        landing = home / "landing" / PERIOD
        shutil.rmtree(landing)
        (landing / "health").mkdir(parents=True)
        (landing / "health" / "ba_gia_tri.csv").write_text(
            "period,unit_code,unit_name,data_element,value\n"
            "2025,00004,Phường Ba Đình,LIVE_BIRTHS,1291\n"
            "2025,00004,Phường Ba Đình,DEATHS_U5,23\n"
            "2025,00008,Phường Ngọc Hà,LIVE_BIRTHS,880\n", encoding="utf-8")

    run = run_scenario(tmp_path_factory, "three_values", base, three_values, via_cli=True)
    assert run.exit_code == 1 and not run.outcome.published
    assert {"completeness.sector_files", "output.enough_ranked"} <= blocking_codes(run.report)
    out = run.stdout
    assert "Traceback" not in out and "KHÔNG CÔNG BỐ / not published" in out
    sectors = next(line for line in out.splitlines() if "[completeness.sector_files]" in line)
    assert "7 ngành không có số liệu kỳ 2025" in sectors and "Tư pháp (justice): không có tệp / no file" in sectors
    assert any("[output.enough_ranked]" in line and "at least 2 are needed" in line for line in out.splitlines())
    # the gate stopped the run: the rank robustness step and the publish step never ran
    assert any(e.startswith("quality_gate") for e in run.outcome.errors)
    assert not any(e.startswith("analysis__rank_robustness:") and "skipped" not in e for e in run.outcome.errors)
    # the previous release, byte for byte
    assert run.publish_after == run.publish_before and "2025/v1/manifest.json" in run.publish_after
