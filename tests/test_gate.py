"""The publication gate, end to end: bad inputs are caught, quarantined, and nothing is published.

Every scenario starts from the same baseline: the small demo data (3
provinces x 4 communes), period 2025 run once and published as v1. Each
scenario copies that CRI_HOME, adds its fault and runs the period again:

* the whole bad-input corpus (``tests/fixtures/quality/landing``, one small
  file per fault) in ONE run: each fault is asserted on its own (check code,
  file/row/column in the message and the reason, the row in quarantine and in
  ``rejected_rows.csv``, the valid rows of the file loaded); then that nothing
  was published and v1 is byte-for-byte what it was;
* one ingest fault (a negative count) and one output fault (the release
  contract promises a column the marts do not have) in one run through
  ``cri run``: the exit code and the plain-words list; and, read from the same
  run's Dagster result, the run succeeds, the ``quality/publication_gate``
  asset is not materialized but observed as "Bị chặn / Blocked" with the
  reasons, who must fix what and how, and the rank robustness and publish
  steps are skipped; then the publish asset materialized alone refuses to
  publish because the checks did not run in that run;
* one consistency fault (children by age do not add up) through ``run_period``;
* that same fault with a valid waiver, through ``cri run``: it publishes v2
  (exit code 0), and the waiver is in the quality report and the manifest;
  expired and unmatched waivers do nothing (the gate evaluated again, no run).

These are the slow tests of the quality gate: four runs of the pipeline after
the baseline, and the publish asset alone (``test_hostile_release.py`` adds a
fifth run). Each run is done once per test session, whichever xdist worker
asks first, and kept on disk (``tests/fixtures/quality/support.py``); the
baseline is shared with ``test_quality_checks.py``. The second release through
``cri run`` (exit code 0, v1 unchanged, ``cri releases verify``) is the waiver's.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import yaml

from pipelines import cli
from pipelines.checks.catalogue import title_of
from pipelines.warehouse import connect
from tests.fixtures.quality.support import CORPUS, PERIOD, build_baseline, cri_env, session_cached, snapshot

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("quality_gate")]

BOM = b"\xef\xbb\xbf"
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


# -- the corpus: one file per fault, and exactly what each one must give ------------------------


@dataclass(frozen=True)
class Fault:
    file: str  # relative to the landing folder, as raw.rejected_rows names it
    check: str
    rows: tuple[int | None, ...]  # the rejected rows (None: the whole file)
    column: str | None  # the column the reject names (None: the whole row or file)
    value: str | None  # the offending value as it arrived
    reason: str  # words the reason must contain (what was expected, or the encoding)
    unit: tuple[str, str, str] | None = None  # (commune code, commune name, province name) the examples name
    loads: int | None = 2  # the valid row of the file that must load (None: the whole file is rejected)
    severity: str = "blocking"

    @property
    def id(self) -> str:
        return Path(self.file).stem.removeprefix("q_")


HA_NOI, TUYEN_QUANG, LAI_CHAU = "Thành phố Hà Nội", "Tuyên Quang", "Lai Châu"

FAULTS = [
    Fault("2025/statistics/q_missing_column.csv", "ingest.missing_column", (None,), "value", None,
          "missing required column(s): value", loads=None),
    Fault("2025/health/q_unparseable_value.csv", "ingest.unparseable_value", (3,), "value", "mười hai",
          "is not a number", unit=("00008", "Phường Ngọc Hà", HA_NOI)),
    Fault("2025/education/q_unknown_unit.csv", "ingest.unknown_unit", (3,), "unit_code", "99999",
          "is not a commune code"),
    Fault("2025/police/q_unknown_data_element.csv", "ingest.unknown_data_element", (3,), "data_element",
          "ABUSE_OFFENSES", "is not a data element", unit=("00691", "Phường Hà Giang 2", TUYEN_QUANG)),
    Fault("2025/justice/q_period_mismatch.csv", "ingest.period_mismatch", (3,), "period", "2024",
          "expected '2025'", unit=("03388", "Phường Đoàn Kết", LAI_CHAU)),
    Fault("2025/culture/q_negative_count.csv", "ingest.negative_value", (3,), "value", "-2",
          "expected 0 or more", unit=("00694", "Phường Hà Giang 1", TUYEN_QUANG)),
    Fault("2025/social_security/q_conflicting_duplicate.csv", "ingest.conflicting_duplicate", (3, 4), "value",
          "1200", "different values", unit=("00091", "Phường Phú Thượng", HA_NOI)),
    Fault("2025/health/q_not_utf8_cp1258.csv", "ingest.file_encoding", (None,), None, "FD",
          "windows-1258", loads=None),
    Fault("2025/education/q_utf16.csv", "ingest.file_encoding", (None,), None, "FF FE", "UTF-16 LE", loads=None),
    Fault("2025/finance/q_empty.csv", "ingest.file_empty", (None,), None, None, "is empty", loads=None),
    Fault("2025/police/q_header_only.csv", "ingest.file_empty", (None,), None, None, "has only the header",
          loads=None),
    Fault("2025/health/q_not_whole_number.csv", "ingest.not_whole_number", (3,), "value", "2,5",
          "is not a whole number", unit=("00025", "Phường Giảng Võ", HA_NOI)),
    Fault("2025/culture/q_invalid_yes_no.csv", "ingest.invalid_yes_no", (3,), "value", "2", "expected 1 (yes) or 0 (no)",
          unit=("03390", "Xã Bình Lư", LAI_CHAU)),
    Fault("2025/justice/q_wrong_sector.csv", "ingest.wrong_sector", (3,), "data_element", "ENROLLED_AGE5",
          "belongs to sector Education", unit=("03390", "Xã Bình Lư", LAI_CHAU)),
    Fault("2025/education/q_missing_value.csv", "ingest.missing_value", (3,), "value", "", "is empty",
          unit=("00008", "Phường Ngọc Hà", HA_NOI)),
    Fault("2025/statistics/q_malformed_row.csv", "ingest.malformed_row", (3,), None, None, "the row has 7 cells",
          unit=("00070", "Phường Hoàn Kiếm", HA_NOI)),
    Fault("2025/police/q_identical_duplicate.csv", "ingest.duplicate_row", (3,), None, "1", "loaded once",
          unit=("00694", "Phường Hà Giang 1", TUYEN_QUANG), severity="warning"),
]
FAULT_IDS = [f.id for f in FAULTS]


def test_corpus_has_one_file_per_fault():
    files = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.csv"))
    assert files == sorted(f.file for f in FAULTS)


# -- helpers ------------------------------------------------------------------------------------


def quality_report(home: Path) -> dict:
    return json.loads((home / "reports" / PERIOD / "quality_report.json").read_text(encoding="utf-8"))


def results_by_code(report: dict) -> dict[str, dict]:
    return {r["code"]: r for r in report["results"]}


def blocking_codes(report: dict) -> set[str]:
    return {r["code"] for r in report["results"] if r["blocks"]}


def latest_version(home: Path) -> int:
    return json.loads((home / "publish" / PERIOD / "latest.json").read_text(encoding="utf-8"))["version"]


@dataclass
class Scenario:
    home: Path
    methodology: Path
    outcome: cli.RunOutcome | dict
    publish_before: dict[str, str]
    publish_after: dict[str, str]
    report: dict
    stdout: str = ""
    exit_code: int | None = None
    seen: dict = dataclasses.field(default_factory=dict)  # what ``observe`` read of the run

    @property
    def results(self) -> dict[str, dict]:
        return results_by_code(self.report)


def run_scenario(tmp_path_factory, name: str, base: Scenario, prepare, via_cli: bool = False, patch=None,
                 observe=None) -> Scenario:
    """Copy ``base``'s CRI_HOME, let ``prepare(home)`` add the fault, run the period (once per session).

    ``patch(mp)`` changes the code for the run only (a ``pytest.MonkeyPatch``, undone after the run);
    ``observe(home, result)`` reads, after the run, what the tests need of its Dagster result
    (``ExecuteInProcessResult``) and of the home, as a JSON-able dict (``Scenario.seen``).
    """
    from pipelines.ops import run as run_module

    def build(folder: Path) -> dict:
        home = folder / "home"
        shutil.copytree(base.home, home, symlinks=True)
        prepare(home)
        before = snapshot(home / "publish")
        out = io.StringIO()
        captured: list[cli.RunOutcome] = []
        results: list[dg.ExecuteInProcessResult] = []
        real_run, real_errors = cli.run_period, run_module.step_errors

        def spy(period: str, verbose: bool = False) -> cli.RunOutcome:
            captured.append(real_run(period, verbose=verbose))
            return captured[-1]

        def errors_spy(result) -> list[str]:  # the run's Dagster result passes here
            results.append(result)
            return real_errors(result)

        with cri_env(home, base.methodology):
            mp = pytest.MonkeyPatch()
            mp.setattr(cli, "run_period", spy)
            mp.setattr(run_module, "step_errors", errors_spy)
            if patch:
                patch(mp)
            try:
                if via_cli:
                    with contextlib.redirect_stdout(out):
                        code = cli.main(["run", "--period", PERIOD])
                else:
                    code = None
                    cli.run_period(PERIOD)
            finally:
                mp.undo()
            after = snapshot(home / "publish")
            seen = observe(home, results[0]) if observe else {}
        return {"outcome": dataclasses.asdict(captured[0]), "publish_before": before, "publish_after": after,
                "stdout": out.getvalue(), "exit_code": code, "seen": seen}

    folder, data = session_cached(tmp_path_factory, name, build)
    fields = data["outcome"]
    outcome = cli.RunOutcome(**{**fields, "release_dir": Path(fields["release_dir"]) if fields["release_dir"] else None})
    home = folder / "home"
    return Scenario(home=home, methodology=base.methodology, outcome=outcome, publish_before=data["publish_before"],
                    publish_after=data["publish_after"], report=quality_report(home), stdout=data["stdout"],
                    exit_code=data["exit_code"], seen=data["seen"])


# -- scenarios (each runs the pipeline once per session) --------------------------------------


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Scenario:
    home, methodology, outcome = build_baseline(tmp_path_factory)
    return Scenario(home=home, methodology=methodology, outcome=outcome, publish_before={},
                    publish_after=snapshot(home / "publish"), report=quality_report(home))


@pytest.fixture(scope="module")
def corpus(baseline, tmp_path_factory) -> Scenario:
    def add_corpus(home: Path) -> None:
        shutil.copytree(CORPUS, home / "landing", dirs_exist_ok=True)

    return run_scenario(tmp_path_factory, "corpus", baseline, add_corpus)


@pytest.fixture(scope="module")
def corpus_tables(corpus) -> dict[str, pd.DataFrame]:
    with connect(corpus.home / "warehouse.duckdb", read_only=True) as con:
        return {
            "rejected": con.execute("select * from raw.rejected_rows where period = ?", [PERIOD]).df(),
            "values": con.execute("select * from raw.data_values where period = ?", [PERIOD]).df(),
            "files": con.execute("select * from raw.ingest_files where period = ?", [PERIOD]).df(),
        }


def promise_a_missing_column(mp: pytest.MonkeyPatch) -> None:
    """An output fault: the published contract promises a column the ranking mart does not have."""
    from pipelines.publish import contract

    table = contract.TABLES["province_ranking"]
    promised = dataclasses.replace(table.columns[-1], name="pcri_lower_bound")
    mp.setitem(contract.TABLES, "province_ranking", dataclasses.replace(table, columns=(*table.columns, promised)))


@pytest.fixture(scope="module")
def ingest_fault(baseline, tmp_path_factory) -> Scenario:
    """One negative count (an ingest fault) and an output fault, through ``cri run``; the same run is the one the
    Dagster tests read (``dagster_runs``)."""
    def add_fault(home: Path) -> None:
        target = home / "landing" / "2025" / "culture"
        shutil.copy(CORPUS / "2025" / "culture" / "q_negative_count.csv", target)

    return run_scenario(tmp_path_factory, "ingest_fault", baseline, add_fault, via_cli=True,
                        patch=promise_a_missing_column, observe=observe_dagster)


# Commune 00025 (Phường Giảng Võ, Hà Nội) reports 7 more children than its age groups add up to.
AGE_FAULT_UNIT = "00025"


def break_age_groups(home: Path) -> None:
    path = home / "landing" / PERIOD / "statistics" / f"statistics_{PERIOD}.csv"
    text = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = rows[0]
    unit, element, value = header.index("unit_code"), header.index("data_element"), header.index("value")
    hits = [r for r in rows[1:] if r and r[unit] == AGE_FAULT_UNIT and r[element] == "POP_0_15"]
    assert len(hits) == 1
    hits[0][value] = str(int(hits[0][value]) + 7)
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    stat = path.stat()
    path.write_bytes(BOM + buf.getvalue().encode("utf-8"))
    os.utime(path, (stat.st_atime, stat.st_mtime))  # still sent on time


@pytest.fixture(scope="module")
def consistency_fault(baseline, tmp_path_factory) -> Scenario:
    return run_scenario(tmp_path_factory, "consistency_fault", baseline, break_age_groups)


WAIVERS = {
    "waivers": [
        {"check": "consistency.age_groups_sum", "period": PERIOD, "unit": AGE_FAULT_UNIT,
         "reason": "Số liệu dân số đã được Thống kê tỉnh xác nhận", "approved_by": "Nguyễn Văn A, Sở Y tế Hà Nội",
         "date": "2025-11-20", "expires": "2099-12-31"},
        {"check": "consistency.age_groups_sum", "unit": AGE_FAULT_UNIT, "reason": "Miễn trừ năm trước",
         "approved_by": "Trần Thị B", "date": "2024-11-20", "expires": "2025-01-31"},
        {"check": "consistency.age_groups_sum", "unit": "00004", "reason": "Nhầm xã",
         "approved_by": "Lê Văn C", "date": "2025-11-20"},
    ]
}


@pytest.fixture(scope="module")
def waived(consistency_fault, tmp_path_factory) -> Scenario:
    """The consistency fault again, with a valid waiver (and an expired and an unmatched one), through ``cri run``."""
    def add_waivers(home: Path) -> None:
        (home / "waivers.yaml").write_text(yaml.safe_dump(WAIVERS, allow_unicode=True), encoding="utf-8")

    return run_scenario(tmp_path_factory, "waived", consistency_fault, add_waivers, via_cli=True)


# -- the baseline: clean demo data publishes ----------------------------------------------------


def test_clean_demo_data_passes_with_no_blocking_failure(baseline):
    assert baseline.outcome["success"] and baseline.outcome["published"]
    assert baseline.report["passed"] is True and baseline.report["failed_blocking"] == 0
    assert not blocking_codes(baseline.report)
    assert latest_version(baseline.home) == 1
    assert baseline.report["rejected_rows"] == 0
    # every family of checks ran
    codes = set(baseline.results)
    for prefix in ("ingest.", "consistency.", "completeness.", "plausibility.", "output.", "gx.", "dbt."):
        assert any(c.startswith(prefix) for c in codes), prefix


# -- the corpus: every fault, one by one --------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS, ids=FAULT_IDS)
def test_fault_fails_its_check(corpus, fault):
    result = corpus.results[fault.check]
    assert result["passed"] is False
    assert result["severity"] == fault.severity
    assert result["outcome"] == ("failed" if fault.severity == "blocking" else "warning")
    assert result["blocks"] is (fault.severity == "blocking")
    mine = [e for e in result["examples"] if e["source_file"] == fault.file]
    assert [e["row_number"] for e in mine] == list(fault.rows)
    assert all(e["column_name"] == fault.column for e in mine)


@pytest.mark.parametrize("fault", FAULTS, ids=FAULT_IDS)
def test_fault_message_names_file_row_and_column(corpus, fault):
    result = corpus.results[fault.check]
    example = next(e for e in result["examples"] if e["source_file"] == fault.file)
    # the reason says what was wrong and what was expected
    assert fault.reason in example["reason"]
    if fault.column:
        assert f"'{fault.column}'" in example["reason"] or f": {fault.column}" in example["reason"]
    # the message names the first rejected file, its row (or 'whole file') and column, in plain words
    first = result["examples"][0]
    assert f"tệp/file {first['source_file']}" in result["message"]
    where = "cả tệp/whole file" if first["row_number"] is None else f"dòng/row {first['row_number']}"
    assert where in result["message"]
    if first["column_name"]:
        assert f"cột/column '{first['column_name']}'" in result["message"]
    if result["examples"][0]["source_file"] == fault.file:
        row = "cả tệp/whole file" if fault.rows[0] is None else f"dòng/row {fault.rows[0]}"
        assert f"tệp/file {fault.file}, {row}" in result["message"]


@pytest.mark.parametrize("fault", [f for f in FAULTS if f.unit], ids=[f.id for f in FAULTS if f.unit])
def test_fault_examples_name_province_and_commune(corpus, fault):
    code, name, province = fault.unit
    example = next(e for e in corpus.results[fault.check]["examples"] if e["source_file"] == fault.file)
    assert (example["unit_code"], example["unit_name"], example["province_name"]) == (code, name, province)


def test_unknown_unit_names_no_commune(corpus):
    example = next(e for e in corpus.results["ingest.unknown_unit"]["examples"])
    assert example["unit_code"] is None and example["province_name"] is None


@pytest.mark.parametrize("fault", FAULTS, ids=FAULT_IDS)
def test_fault_row_is_in_quarantine(corpus_tables, fault):
    rej = corpus_tables["rejected"]
    mine = rej[(rej["source_file"] == fault.file) & (rej["check_code"] == fault.check)]
    rows = [None if pd.isna(r) else int(r) for r in mine["row_number"]]
    assert rows == list(fault.rows)
    for r in mine.itertuples():
        assert (None if pd.isna(r.column_name) else r.column_name) == fault.column
        if fault.value is not None:
            assert r.value in (fault.value, *(["1250"] if fault.check == "ingest.conflicting_duplicate" else []))
        assert r.reason and r.sector == fault.file.split("/")[1] and r.period == PERIOD
    # nothing else of the file was rejected
    assert set(rej.loc[rej["source_file"] == fault.file, "check_code"]) == {fault.check}


@pytest.mark.parametrize("fault", FAULTS, ids=FAULT_IDS)
def test_fault_row_is_in_rejected_rows_csv(corpus, fault):
    path = corpus.home / "reports" / PERIOD / "rejected_rows.csv"
    assert path.read_bytes().startswith(BOM)
    df = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    mine = df[(df["Tệp (file)"] == fault.file) & (df["Mã kiểm tra (check)"] == fault.check)]
    assert [int(r) if r else None for r in mine["Dòng (row)"]] == list(fault.rows)
    assert set(mine["Cột (column)"]) == {fault.column or ""}
    assert all(fault.reason in reason for reason in mine["Lý do (reason)"])


@pytest.mark.parametrize("fault", FAULTS, ids=FAULT_IDS)
def test_rest_of_the_file_loads(corpus_tables, fault):
    values, files = corpus_tables["values"], corpus_tables["files"]
    loaded = values.loc[values["source_file"] == fault.file, "row_number"].tolist()
    assert loaded == ([fault.loads] if fault.loads else [])
    info = files[files["source_file"] == fault.file].iloc[0]
    # nothing lost: every data row of the file is either loaded or rejected
    assert info.rows_total == info.rows_loaded + info.rows_rejected
    assert info.rows_loaded == len(loaded)


def test_corpus_run_publishes_nothing_and_keeps_v1_byte_for_byte(corpus, baseline):
    # blocked is not a failed run: the run succeeded, nothing was published, `cri run` exits 1 (not ok)
    assert corpus.outcome.published is False and corpus.outcome.success is True and not corpus.outcome.ok
    assert corpus.outcome.release_dir is None
    assert corpus.publish_after == corpus.publish_before == baseline.publish_after
    assert latest_version(corpus.home) == 1
    assert sorted(p.name for p in (corpus.home / "publish" / PERIOD).iterdir() if p.is_dir()) == ["v1"]


def test_corpus_run_lists_every_blocking_fault(corpus):
    expected = {f.check for f in FAULTS if f.severity == "blocking"}
    assert expected <= blocking_codes(corpus.report)
    listed = "\n".join(corpus.outcome.quality["blocking_failures"])
    for code in expected:
        assert f"[{code}]" in listed
    assert corpus.report["passed"] is False
    # the identical duplicate is only a warning: listed with the warnings, not the blocking failures
    assert "ingest.duplicate_row" not in blocking_codes(corpus.report)
    assert any("[ingest.duplicate_row]" in w for w in corpus.report["warning_failures"])


def test_corpus_demo_files_load_completely(corpus_tables):
    files = corpus_tables["files"]
    demo = files[~files["source_file"].str.contains("/q_")]
    assert len(demo) == 8 and (demo["rows_rejected"] == 0).all()
    assert (demo["rows_loaded"] == demo["rows_total"]).all()


def test_corpus_html_report_shows_failures_in_vietnamese(corpus):
    html = (corpus.home / "reports" / PERIOD / "quality_report.html").read_text(encoding="utf-8")
    assert "KHÔNG ĐẠT" in html and "Lỗi chặn công bố" in html
    assert "class='badge fail'" in html and "Tình hình báo cáo theo tỉnh và ngành" in html
    for fault in FAULTS:
        assert fault.check in html
    assert "Tỉnh/thành phố" in html and "Xã/phường (đơn vị)" in html and "Dòng (row)" in html


# -- one ingest fault, through `cri run` --------------------------------------------------------


def test_cli_run_exits_non_zero_and_lists_the_failure_in_plain_words(ingest_fault):
    assert ingest_fault.exit_code == 1
    assert ingest_fault.outcome.published is False
    assert blocking_codes(ingest_fault.report) == {"ingest.negative_value", "output.contract"}
    out = ingest_fault.stdout
    assert "KHÔNG CÔNG BỐ / not published" in out
    failure = next(line for line in out.splitlines() if "[ingest.negative_value]" in line)
    assert failure.lstrip().startswith("✗") and title_of("ingest.negative_value") in failure
    assert "tệp/file 2025/culture/q_negative_count.csv, dòng/row 3, cột/column 'value'" in failure
    assert "Phường Hà Giang 1, Tuyên Quang" in failure
    assert "rejected_rows.csv" in out and "quality_report.html" in out


def test_cli_run_blocked_keeps_the_previous_release(ingest_fault, baseline):
    assert ingest_fault.publish_after == ingest_fault.publish_before == baseline.publish_after
    assert latest_version(ingest_fault.home) == 1
    with connect(ingest_fault.home / "warehouse.duckdb", read_only=True) as con:
        rejected = con.execute("select source_file, row_number, column_name, value, check_code "
                               "from raw.rejected_rows where period = ?", [PERIOD]).fetchall()
        loaded = con.execute("select count(*) from raw.data_values where source_file like '%q_negative%'"
                             ).fetchone()[0]
    assert rejected == [("2025/culture/q_negative_count.csv", 3, "value", "-2", "ingest.negative_value")]
    assert loaded == 1


# -- one consistency fault ----------------------------------------------------------------------


def test_consistency_fault_blocks_with_the_commune_named(consistency_fault, baseline):
    o = consistency_fault.outcome
    assert o.published is False and not o.ok
    assert blocking_codes(consistency_fault.report) == {"consistency.age_groups_sum"}
    result = consistency_fault.results["consistency.age_groups_sum"]
    assert result["failures"] == 1
    (example,) = result["examples"]
    assert example["unit_code"] == AGE_FAULT_UNIT and example["unit_name"] == "Phường Giảng Võ"
    assert example["province_name"] == HA_NOI
    assert example["total"] - example["parts_sum"] == 7
    assert "Phường Giảng Võ (00025), Thành phố Hà Nội (01)" in o.quality["blocking_failures"][0]
    assert consistency_fault.publish_after == consistency_fault.publish_before == baseline.publish_after
    assert latest_version(consistency_fault.home) == 1
    # nothing was rejected at ingest: the figures are well formed, they just do not add up
    assert consistency_fault.report["rejected_rows"] == 0


def test_expired_and_unmatched_waivers_do_nothing(consistency_fault, tmp_path):
    """The gate evaluated again on the faulty warehouse, with only an expired and an unmatched waiver."""
    from pipelines.methodology import load_methodology
    from pipelines.quality.gate import evaluate_period, gate_decision
    from pipelines.settings import Settings

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(consistency_fault.home / "warehouse.duckdb", home / "warehouse.duckdb")
    (home / "waivers.yaml").write_text(
        yaml.safe_dump({"waivers": WAIVERS["waivers"][1:]}, allow_unicode=True), encoding="utf-8")
    settings = Settings(home=home, methodology_path=consistency_fault.methodology)
    with connect(home / "warehouse.duckdb") as con:
        outcome = evaluate_period(con, PERIOD, "rerun-expired", load_methodology(settings.methodology_path),
                                  settings)
        ok, reasons = gate_decision(con, "rerun-expired", PERIOD)
    assert outcome.passed is False and ok is False
    assert any("[consistency.age_groups_sum]" in r for r in reasons)
    statuses = [(w.check, w.unit, w.status) for w in outcome.waivers]
    assert statuses == [("consistency.age_groups_sum", AGE_FAULT_UNIT, "expired"),
                        ("consistency.age_groups_sum", "00004", "unused")]
    assert "00025" in outcome.waivers[1].note
    report = json.loads((home / "reports" / PERIOD / "quality_report.json").read_text(encoding="utf-8"))
    assert [w["status"] for w in report["waivers"]] == ["expired", "unused"]
    assert report["waived"] == 0


# -- the waiver: the same fault publishes v2 ----------------------------------------------------


def test_valid_waiver_publishes_v2(waived, baseline):
    o = waived.outcome
    assert o.published and o.success, (o.errors, o.quality.get("blocking_failures"))
    assert o.release_dir == waived.home / "publish" / PERIOD / "v2"
    assert latest_version(waived.home) == 2
    # v1 is untouched
    v1 = {k: v for k, v in waived.publish_after.items() if k.startswith(f"{PERIOD}/v1/")}
    assert v1 == {k: v for k, v in baseline.publish_after.items() if k.startswith(f"{PERIOD}/v1/")}


def test_cli_run_exit_code_and_a_second_release(waived, baseline):
    assert waived.exit_code == 0
    assert "v2" in waived.stdout and "published" in waived.stdout
    v1 = {k: v for k, v in waived.publish_after.items() if k.startswith(f"{PERIOD}/v1/")}
    assert v1 and v1 == {k: v for k, v in baseline.publish_after.items() if k.startswith(f"{PERIOD}/v1/")}
    with cri_env(waived.home, waived.methodology):
        assert cli.main(["releases", "verify", PERIOD]) == 0
        assert cli.main(["run", "--period", "1999"]) == 2  # not a period


def test_waiver_is_in_the_quality_report(waived):
    report = waived.report
    assert report["passed"] is True and report["waived"] == 1
    result = waived.results["consistency.age_groups_sum"]
    assert result["passed"] is False and result["waived"] is True and result["outcome"] == "waived"
    assert result["waiver"]["approved_by"] == "Nguyễn Văn A, Sở Y tế Hà Nội"
    assert result["waiver"]["unit"] == AGE_FAULT_UNIT
    assert [w["status"] for w in report["waivers"]] == ["applied", "expired", "unused"]
    assert any("[consistency.age_groups_sum]" in w for w in report["waived_failures"])
    html = (waived.home / "reports" / PERIOD / "quality_report.html").read_text(encoding="utf-8")
    assert "Miễn trừ bởi Nguyễn Văn A, Sở Y tế Hà Nội" in html and "Hết hạn, không áp dụng" in html


def test_waiver_is_in_the_manifest(waived):
    manifest = json.loads((waived.outcome.release_dir / "manifest.json").read_text(encoding="utf-8"))
    check = next(c for c in manifest["checks"] if c["code"] == "consistency.age_groups_sum")
    assert check["waived"] is True and check["waiver"]["reason"] == WAIVERS["waivers"][0]["reason"]
    assert [w["status"] for w in manifest["waivers"]] == ["applied", "expired", "unused"]
    assert manifest["quality"]["passed"] is True and manifest["quality"]["waived"] == 1
    # warnings go into the manifest too
    assert any(c["severity"] == "warning" and not c["passed"] for c in manifest["checks"])


# -- the gate in Dagster ------------------------------------------------------------------------


def observe_dagster(home: Path, full: dg.ExecuteInProcessResult) -> dict:
    """What the Dagster tests read of a blocked run, then the publish asset materialized alone in a run of its own."""
    from pipelines.definitions import defs
    from pipelines.ops.run import step_errors

    with dg.DagsterInstance.get() as instance:
        run_tags = dict(instance.get_run_by_id(full.run_id).tags)
    job = defs.resolve_implicit_global_asset_job_def()
    alone = job.execute_in_process(partition_key=PERIOD, instance=dg.DagsterInstance.ephemeral(),
                                   raise_on_error=False, run_config=QUIET,
                                   asset_selection=[dg.AssetKey(["publish", "release"])])
    return {
        "after_alone": snapshot(home / "publish"),
        "full": {
            "success": full.success,
            "gate_tag": run_tags.get("cri/gate"),
            "failed_steps": sorted(full.get_failed_step_keys()),
            "skipped_steps": sorted(e.step_key for e in full.all_events if e.is_step_skipped),
            "errors": step_errors(full),  # what `cri run` prints
            "observations": {
                e.asset_key.to_user_string(): {
                    "partition": e.event_specific_data.asset_observation.partition,
                    "metadata": {k: getattr(v, "value", v)
                                 for k, v in e.event_specific_data.asset_observation.metadata.items()}}
                for e in full.all_events if e.is_asset_observation},
            "report_metadata": [{k: getattr(v, "value", v) for k, v in m.metadata.items()}
                                for m in full.asset_materializations_for_node("quality_gate")],
            "publish_untouched": full.is_node_untouched("publish__release"),
            "publish_events": [e.event_type_value for e in full.all_events if e.step_key == "publish__release"],
            "materialized": sorted(e.asset_key.to_user_string() for e in full.get_asset_materialization_events()),
            "evaluations": {
                f"{e.asset_key.to_user_string()}|{e.check_name}": {
                    "passed": e.passed, "severity": e.severity.value,
                    "metadata": {k: getattr(v, "value", v) for k, v in e.metadata.items()},
                }
                for e in full.get_asset_check_evaluations()
            },
        },
        "alone": {
            "success": alone.success,
            "failures": [(e.step_key, e.step_failure_data.error.message) for e in alone.get_step_failure_events()],
        },
    }


@pytest.fixture(scope="module")
def dagster_runs(ingest_fault) -> dict:
    """The ingest fault's run (a negative count and an output fault) as Dagster ran it, then the publish asset
    materialized alone on that home."""
    return {**ingest_fault.seen, "home": ingest_fault.home, "before": ingest_fault.publish_before,
            "after_full": ingest_fault.publish_after}


def _evaluations(result: dict) -> dict[tuple[str, str], dict]:
    return {tuple(k.split("|")): v for k, v in result["evaluations"].items()}


def test_dagster_publication_gate_fails_on_an_output_fault(dagster_runs):
    evaluations = _evaluations(dagster_runs["full"])
    gate = evaluations[("marts/fct_province_ranking", "publication_gate")]
    assert gate["passed"] is False and gate["severity"] == dg.AssetCheckSeverity.ERROR.value
    assert "[output.contract]" in gate["metadata"]["blocking_failures"]
    assert "pcri_lower_bound" in gate["metadata"]["blocking_failures"]
    assert gate["metadata"]["report"].endswith("quality_report.html")
    output = evaluations[("marts/fct_province_ranking", "output")]
    assert output["passed"] is False and output["metadata"]["blocking_failed"] == 1
    # the same checks, with their metadata, on the assets they guard
    assert evaluations[("ingest/health", "rows_valid")]["passed"] is True
    assert evaluations[("ingest/culture", "rows_valid")]["passed"] is False  # the negative count, on its sector
    assert ("marts/fct_data_values", "consistency") in evaluations
    assert ("staging/stg_raw__data_values", "gx_raw_data_values") in evaluations


def test_dagster_publish_step_does_not_run_after_a_blocked_gate(dagster_runs):
    full = dagster_runs["full"]
    # blocked is the gate doing its job: the run succeeds, nothing fails, the steps after the gate are skipped
    assert full["success"] is True and full["failed_steps"] == [] and full["gate_tag"] == "blocked"
    assert full["skipped_steps"] == ["analysis__rank_robustness", "publish__release"]
    assert full["publish_events"] == ["STEP_SKIPPED"]
    assert not {"publish/release", "analysis/rank_robustness", "quality/publication_gate"} & set(full["materialized"])
    # the models were built and the quality report written; only what follows the gate stopped
    assert {"marts/fct_province_ranking", "quality/quality_report"} <= set(full["materialized"])
    assert dagster_runs["after_full"] == dagster_runs["before"]  # no release folder written
    assert sorted(p.name for p in (dagster_runs["home"] / "publish" / PERIOD).iterdir() if p.is_dir()) == ["v1"]


def test_dagster_blocked_gate_says_why_who_must_fix_what_and_how(dagster_runs):
    full = dagster_runs["full"]
    gate = full["observations"]["quality/publication_gate"]
    assert gate["partition"] == PERIOD
    meta = gate["metadata"]
    assert meta["decision"] == "Bị chặn / Blocked" and meta["blocking_failed"] == 2
    assert meta["summary"].startswith(f"Bị chặn / Blocked: kỳ {PERIOD} không được công bố, 2 kiểm tra chặn không đạt")
    assert "(ingest.negative_value, output.contract)" in meta["summary"]
    # the reasons, in Vietnamese first: the check's code, the file, row and column, and what was expected
    negative = next(line for line in meta["reasons"].splitlines() if "[ingest.negative_value]" in line)
    assert negative.startswith(f"- {title_of('ingest.negative_value')} [ingest.negative_value]")
    assert "tệp/file 2025/culture/q_negative_count.csv, dòng/row 3, cột/column 'value'" in negative
    assert "giá trị âm '-2'" in negative and "cần số lớn hơn hoặc bằng 0" in negative
    assert "[output.contract]" in meta["reasons"] and "pcri_lower_bound" in meta["reasons"]
    # who must fix what: the culture agency its file, the operator the contract
    who = meta["who_must_fix"].splitlines()
    assert who[0] == ("- **Sở Văn hóa, Thể thao và Du lịch (culture)**: "
                      f"{title_of('ingest.negative_value')} [ingest.negative_value] "
                      "(tệp/file 2025/culture/q_negative_count.csv)")
    assert who[1].startswith("- **Cán bộ vận hành") and "[output.contract]" in who[1] and len(who) == 2
    assert f"cri run --period {PERIOD}" in meta["how"] and "waivers.yaml" in meta["how"]
    assert meta["report"].endswith("quality_report.html")
    # the quality report's materialization carries the same decision
    (report,) = full["report_metadata"]
    assert report["decision"] == "Bị chặn / Blocked" and report["summary"] == meta["summary"]
    # what `cri run` prints for this run: the gate's sentence, then the skipped steps; no failure, no trace
    assert full["errors"] == [f"quality_gate: {meta['summary']}",
                              "analysis__rank_robustness: bỏ qua vì bước trước không đạt / skipped",
                              "publish__release: bỏ qua vì bước trước không đạt / skipped"]


def test_dagster_publish_alone_refuses_without_the_checks_of_the_run(dagster_runs):
    alone = dagster_runs["alone"]
    assert alone["success"] is False
    ((step, message),) = alone["failures"]
    assert step == "publish__release"
    assert "did not run in this run" in message and "publication blocked" in message
    assert dagster_runs["after_alone"] == dagster_runs["before"]
    assert latest_version(dagster_runs["home"]) == 1
