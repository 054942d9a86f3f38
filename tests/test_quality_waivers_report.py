"""Waivers, the quality report and the Dagster view of the gate: pure functions, no warehouse.

Fast tests: results are made by hand.
"""

from __future__ import annotations

import json
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import yaml

from pipelines.quality import assets as qassets
from pipelines.checks.core import BLOCKING, WARNING, CheckResult, plain_words, result_from_failures
from pipelines.quality.gate import GateOutcome
from pipelines.quality.report import summarise, write_reports
from pipelines.quality.waivers import apply_waivers, load_waivers

PERIOD = "2025"
TODAY = date(2025, 11, 25)


def failure(code="consistency.age_groups_sum", units=("00025",), severity=BLOCKING, failures=1, **kw) -> CheckResult:
    return CheckResult(code=code, severity=severity, passed=False, failures=failures, message=f"{code} failed",
                       asset="marts/fct_data_values", title_vi="Tiêu đề", failing_units=list(units), **kw)


def waivers_file(tmp_path: Path, *entries: dict | str) -> Path:
    path = tmp_path / "waivers.yaml"
    if entries and isinstance(entries[0], str):
        path.write_text(entries[0], encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump({"waivers": list(entries)}, allow_unicode=True), encoding="utf-8")
    return path


VALID = {"check": "consistency.age_groups_sum", "unit": "00025", "period": PERIOD, "reason": "Đã xác nhận",
         "approved_by": "Nguyễn Văn A", "date": "2025-11-20", "expires": "2025-12-31"}


# -- waivers ------------------------------------------------------------------------------------


def test_no_waiver_file_means_no_waiver(tmp_path):
    assert load_waivers(tmp_path / "waivers.yaml") == []


def test_a_valid_matching_waiver_releases_the_failure_as_a_warning(tmp_path):
    (w,) = load_waivers(waivers_file(tmp_path, VALID))
    r = failure()
    apply_waivers([r], [w], PERIOD, today=TODAY)
    assert r.waived and not r.blocks and r.outcome == "waived"
    assert r.waiver == {k: VALID[k] for k in ("check", "reason", "approved_by", "date", "period", "unit", "expires")}
    assert w.status == "applied" and "1 failures of consistency.age_groups_sum" in w.note


def test_a_waiver_without_a_unit_covers_the_whole_check(tmp_path):
    (w,) = load_waivers(waivers_file(tmp_path, {k: v for k, v in VALID.items() if k != "unit"}))
    r = failure(units=("00025", "00004"))
    apply_waivers([r], [w], PERIOD, today=TODAY)
    assert r.waived and w.status == "applied"


@pytest.mark.parametrize(("change", "status", "note"), [
    ({"expires": "2025-11-24"}, "expired", "expired on 2025-11-24"),
    ({"unit": "00004"}, "unused", "concerns units 00025, not only 00004"),
    ({"check": "consistency.province_population"}, "unused", "no matching failure"),
    ({"period": "2024"}, "unused", "for period 2024"),
    ({"reason": ""}, "invalid", "missing reason"),
    ({"approved_by": None}, "invalid", "missing approved_by"),
    ({"date": "20/11/2025"}, "invalid", "date is not a date"),
    ({"expires": "next year"}, "invalid", "expires is not a date"),
])
def test_an_expired_unmatched_or_invalid_waiver_does_nothing(tmp_path, change, status, note):
    (w,) = load_waivers(waivers_file(tmp_path, {**VALID, **change}))
    r = failure()
    apply_waivers([r], [w], PERIOD, today=TODAY)
    assert not r.waived and r.blocks and r.waiver is None
    assert w.status == status and note in w.note


def test_a_waiver_expiring_today_still_applies(tmp_path):
    (w,) = load_waivers(waivers_file(tmp_path, {**VALID, "expires": TODAY.isoformat()}))
    r = failure()
    apply_waivers([r], [w], PERIOD, today=TODAY)
    assert r.waived


def test_a_failure_of_several_units_needs_a_waiver_per_check_not_per_unit(tmp_path):
    (w,) = load_waivers(waivers_file(tmp_path, VALID))
    r = failure(units=("00025", "00004"))
    apply_waivers([r], [w], PERIOD, today=TODAY)
    assert not r.waived and w.status == "unused"


def test_a_passed_check_is_never_waived(tmp_path):
    (w,) = load_waivers(waivers_file(tmp_path, VALID))
    r = CheckResult(code=VALID["check"], severity=BLOCKING, passed=True, failures=0, message="ok")
    apply_waivers([r], [w], PERIOD, today=TODAY)
    assert not r.waived and w.status == "unused"


def test_a_unit_code_read_as_a_number_is_explained(tmp_path):
    path = waivers_file(tmp_path, "waivers:\n  - {check: consistency.age_groups_sum, unit: 00025, reason: r, "
                                  "approved_by: a, date: 2025-11-20}\n")
    (w,) = load_waivers(path)
    # YAML 1.1 reads an unquoted 00025 as an octal number: 21
    assert w.unit == "21" and "write the unit code in quotes" in w.note
    apply_waivers([failure()], [w], PERIOD, today=TODAY)
    assert w.status == "unused" and "not only 21" in w.note and "write the unit code in quotes" in w.note


@pytest.mark.parametrize("text", ["waivers: [check: x\n", "- just\n- a list\n", "waivers:\n  - just a string\n"])
def test_an_unreadable_waiver_file_is_reported_not_fatal(tmp_path, text):
    waivers = load_waivers(waivers_file(tmp_path, text))
    assert len(waivers) == 1 and waivers[0].status == "invalid" and "waivers" in waivers[0].note
    r = failure()
    apply_waivers([r], waivers, PERIOD, today=TODAY)
    assert r.blocks


# -- results, summary and plain words -----------------------------------------------------------


def test_outcome_and_plain_words():
    r = failure()
    assert r.to_dict()["outcome"] == "failed" and r.to_dict()["blocks"] is True
    assert "failing_units" not in r.to_dict()
    assert plain_words(r) == "Tiêu đề [consistency.age_groups_sum]: consistency.age_groups_sum failed"
    w = failure(severity=WARNING)
    assert w.outcome == "warning" and not w.blocks
    ok = CheckResult(code="x.y", severity=BLOCKING, passed=True, failures=0, message="fine")
    assert ok.outcome == "passed" and plain_words(ok) == "[x.y]: fine"


def test_result_from_failures_keeps_the_first_examples_and_units():
    df = pd.DataFrame({"unit_code": [f"{i:05d}" for i in range(30)], "value": range(30)})
    r = result_from_failures("c.x", BLOCKING, df, "ok", "{n} wrong", "a", "t")
    assert r.failures == 30 and r.message == "30 wrong" and len(r.examples) == 20 and len(r.failing_units) == 30
    empty = result_from_failures("c.x", BLOCKING, df.head(0), "ok", "{n} wrong", "a", "t")
    assert empty.passed and empty.message == "ok" and empty.examples == []


def test_summary_counts_and_lists():
    waived = failure(code="a.waived")
    waived.waived = True
    results = [failure(code="b.blocking"), failure(code="c.warning", severity=WARNING), waived,
               CheckResult(code="d.ok", severity=BLOCKING, passed=True, failures=0, message="ok")]
    s = summarise(results)
    assert (s["passed"], s["checks"], s["failed_blocking"], s["failed_warning"], s["waived"]) == (False, 4, 1, 1, 1)
    assert [x.split("]")[0] for x in s["blocking_failures"]] == ["Tiêu đề [b.blocking"]
    assert "[c.warning]" in s["warning_failures"][0]
    assert "[a.waived] (được miễn trừ / waived)" in s["waived_failures"][0]
    assert summarise(results[1:])["passed"] is True


# -- the report files ---------------------------------------------------------------------------


class _Balanced(HTMLParser):
    VOID = {"meta", "br", "link", "img", "input", "hr"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()


RATES = pd.DataFrame([
    ("01", "Thành phố Hà Nội", "health", 126, 120, 118, 110, 95.2, 87.3),
    ("01", "Thành phố Hà Nội", "finance", 1, 1, 1, 1, 100.0, 100.0),
    ("04", "Cao Bằng", "health", 56, 30, 30, 2, 53.6, 3.6),
    ("04", "Cao Bằng", "finance", 1, 0, 0, 0, 0.0, 0.0),
], columns=["province_code", "province_name", "sector", "expected", "received", "complete", "on_time",
            "reporting_rate", "on_time_rate"])


def _write(tmp_path, results, rejected=None, waivers=(), min_share=0.9) -> tuple[dict, str]:
    rejected = rejected if rejected is not None else pd.DataFrame(
        columns=["sector", "source_file", "row_number", "column_name", "value", "check_code", "reason", "raw_record"])
    write_reports(tmp_path, PERIOD, "run-1", results, RATES, rejected, list(waivers),
                  sector_names={"health": "Y tế", "finance": "Tài chính"}, min_share=min_share)
    doc = json.loads((tmp_path / "quality_report.json").read_text(encoding="utf-8"))
    return doc, (tmp_path / "quality_report.html").read_text(encoding="utf-8")


def test_report_json_overall_then_each_check(tmp_path):
    r = failure(examples=[{"province_code": "01", "province_name": "Thành phố Hà Nội", "unit_code": "00025",
                           "unit_name": "Phường Giảng Võ", "total": 10, "parts_sum": 3}])
    doc, _ = _write(tmp_path, [CheckResult(code="d.ok", severity=BLOCKING, passed=True, failures=0, message="ok"), r])
    assert list(doc)[:4] == ["period", "run_id", "created_at", "passed"] and doc["passed"] is False
    # blocking failures first
    assert [x["code"] for x in doc["results"]] == ["consistency.age_groups_sum", "d.ok"]
    first = doc["results"][0]
    assert (first["severity"], first["outcome"], first["failures"]) == (BLOCKING, "failed", 1)
    assert first["examples"][0]["unit_name"] == "Phường Giảng Võ"
    hanoi = doc["reporting_rates"][0]
    assert (hanoi["province_code"], hanoi["sector"], hanoi["expected"], hanoi["received"], hanoi["on_time"],
            hanoi["reporting_rate"]) == ("01", "health", 126, 120, 110, 95.2)


def test_report_html_is_for_an_operator(tmp_path):
    r = failure(examples=[{"province_code": "01", "province_name": "Thành phố Hà Nội", "unit_code": "00025",
                           "unit_name": "Phường Giảng Võ", "sector": "health", "source_file": "2025/health/a.csv",
                           "row_number": 3, "column_name": "value", "value": "<b>-2</b>", "reason": "âm"}])
    warning = failure(code="plausibility.year_on_year", severity=WARNING)
    _, html = _write(tmp_path, [r, warning])
    parser = _Balanced()
    parser.feed(html)
    assert parser.stack == []
    assert '<html lang="vi">' in html and "KHÔNG ĐẠT" in html
    # pass and fail in colour, Vietnamese labels
    assert "class='badge fail'>Không đạt (chặn công bố)" in html and "class='badge warn'>Cảnh báo" in html
    assert ".badge.fail{background:#ef9a9a}" in html
    for label in ("Tỉnh/thành phố", "Xã/phường (đơn vị)", "Tệp (file)", "Dòng (row)", "Cột (column)", "Lý do (reason)",
                  "Cảnh báo (không chặn công bố)", "Lỗi chặn công bố"):
        assert label in html
    assert "&lt;b&gt;-2&lt;/b&gt;" in html and "<b>-2</b>" not in html  # escaped
    assert "<td>Y tế</td>" in html  # sector names, not codes, in the examples


def test_report_html_completeness_table_by_province_and_sector(tmp_path):
    _, html = _write(tmp_path, [])
    table = html[html.index("<table class='rates'>"):]
    table = table[:table.index("</table>")]
    assert "<th>Y tế</th>" in table and "<th>Tài chính</th>" in table
    rows = re.findall(r"<tr>(.*?)</tr>", table[table.index("<tbody>"):])
    assert [re.findall(r"<td>(\d\d)</td>", row) for row in rows] == [["01"], ["04"]]
    # Vietnamese formats: 120/126 = 95,2%; 110/126 = 87,3%; 1/1 = 100% (not 100.0%)
    assert "class='num rate-ok'" in rows[0] and "120/126<br><b>95,2%</b>" in rows[0]
    assert "đúng hạn 110 (87,3%)" in rows[0] and "1/1<br><b>100%</b>" in rows[0]
    assert "100.0%" not in html and "95.2%" not in html
    assert "class='num rate-low'" in rows[1] and "30/56" in rows[1]  # 53.6% < 90%
    assert "class='num rate-none'" in rows[1] and "0/1" in rows[1]  # nothing received
    assert "ĐẠT: dữ liệu kỳ này đủ điều kiện công bố" in html


def test_report_html_says_who_must_fix_what(tmp_path):
    from pipelines.methodology import load_methodology
    from pipelines.quality.report import write_reports
    from pipelines.settings import DEFAULT_METHODOLOGY

    health = failure(examples=[{"sector": "health", "source_file": "2025/health/a.csv", "row_number": 3}],
                     failures=4)
    # no sector in the examples, but a data element of the education sector
    education = failure(code="plausibility.year_on_year", severity=WARNING, failures=2,
                        examples=[{"unit_code": "00004", "data_element": "ENROLLED_AGE5", "change_share": 4 / 3}])
    ranking = failure(code="output.contract", failures=1, examples=[{"problem": "province_ranking: rank"}])
    m = load_methodology(DEFAULT_METHODOLOGY)
    write_reports(tmp_path, PERIOD, "run-1", [health, education, ranking], RATES, pd.DataFrame(
        columns=["sector", "source_file", "row_number", "column_name", "value", "check_code", "reason", "raw_record"]),
        [], sector_names={s.code: s.name_vi for s in m.sectors}, min_share=0.9, methodology=m)
    html = (tmp_path / "quality_report.html").read_text(encoding="utf-8")
    owners = html[html.index("Ai cần sửa gì"):html.index("Kết quả từng kiểm tra")]
    blocks = re.findall(r"<h3>(.*?)</h3>", owners)
    health_agency = next(s.agency_vi for s in m.sectors if s.code == "health")
    education_agency = next(s.agency_vi for s in m.sectors if s.code == "education")
    # blocking owners first (agencies before the operator), then the agency with warnings only
    assert blocks == [f"{health_agency} (ngành Y tế): 1 lỗi chặn công bố",
                      "Cán bộ vận hành hệ thống (operator): 1 lỗi chặn công bố",
                      f"{education_agency} (ngành Giáo dục và Đào tạo): chỉ có cảnh báo"]
    assert "<code>2025/health/a.csv</code>" in owners and "(4 trường hợp)" in owners
    # a ratio of 4/3 reads 1,33, never 1.3333333333333333
    assert "1,33" in html and "1.333" not in html
    # the time it was made, in Viet Nam's time, not a UTC ISO timestamp
    doc = json.loads((tmp_path / "quality_report.json").read_text(encoding="utf-8"))
    assert "(giờ Việt Nam)" in html and doc["created_at"] not in html


def test_report_html_waivers_in_vietnamese(tmp_path):
    (w,) = load_waivers(waivers_file(tmp_path, {**VALID, "expires": "2025-01-01"}))
    apply_waivers([failure()], [w], PERIOD, today=TODAY)
    _, html = _write(tmp_path, [failure()], waivers=[w])
    assert "Người phê duyệt" in html and "Hết hạn, không áp dụng (expired)" in html
    assert "<td>20/11/2025</td>" in html and "<td>01/01/2025</td>" in html  # approved, expires: Vietnamese dates


def test_rejected_rows_csv_is_utf8_with_bom_and_vietnamese_headers(tmp_path):
    rejected = pd.DataFrame([("health", "2025/health/a.csv", 3, "value", "mười", "ingest.unparseable_value",
                              "Cột 'value': không phải số", "2025,00004,x,LIVE_BIRTHS,mười")],
                            columns=["sector", "source_file", "row_number", "column_name", "value", "check_code",
                                     "reason", "raw_record"])
    _write(tmp_path, [], rejected=rejected)
    data = (tmp_path / "rejected_rows.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    df = pd.read_csv(tmp_path / "rejected_rows.csv", encoding="utf-8-sig", dtype=str)
    assert list(df.columns)[:4] == ["Ngành (sector)", "Tệp (file)", "Dòng (row)", "Cột (column)"]
    assert df.iloc[0]["Giá trị (value)"] == "mười" and df.iloc[0]["Dòng (row)"] == "3"


# -- the Dagster view ---------------------------------------------------------------------------


def _outcome(results, by_sector) -> GateOutcome:
    return GateOutcome(period=PERIOD, run_id="r", results=results, summary=summarise(results), rates=RATES,
                       report_dir=Path("/tmp/r"), rejects_by_sector=by_sector)


def test_each_sector_sees_its_own_rejects_even_beyond_the_examples():
    # 25 health rejects fill the 20 examples; the one education reject has no example: it must still fail
    examples = [{"sector": "health", "source_file": "2025/health/a.csv", "row_number": i, "reason": "x"}
                for i in range(20)]
    r = CheckResult(code="ingest.negative_value", severity=BLOCKING, passed=False, failures=26, message="26 rows",
                    asset="ingest", title_vi="Số âm", examples=examples)
    keys = {s: dg.AssetKey(["ingest", s]) for s in ("health", "education", "police")}
    out = list(qassets.results_for_specs(
        _outcome([r], {("health", "ingest.negative_value"): 25, ("education", "ingest.negative_value"): 1}),
        keys, families=[], min_share=0.9))
    rows_valid = {c.asset_key.path[1]: c for c in out if c.check_name == "rows_valid"}
    assert rows_valid["health"].passed is False and rows_valid["health"].metadata["failed"].value == 1
    assert rows_valid["education"].passed is False
    assert rows_valid["education"].severity == dg.AssetCheckSeverity.ERROR
    assert rows_valid["police"].passed is True
    view = qassets._sector_view(r, "education", 1)
    assert view.failures == 1 and view.examples == [] and view.blocks


def test_publication_gate_result_lists_the_blocking_failures_in_plain_words():
    r = failure()
    out = list(qassets.results_for_specs(_outcome([r], {}), {}, families=[], min_share=0.9))
    (gate,) = [c for c in out if c.check_name == qassets.GATE_CHECK]
    assert gate.passed is False and gate.severity == dg.AssetCheckSeverity.ERROR
    assert gate.metadata["blocking_failures"].value == f"- {plain_words(r)}"
    assert "consistency.age_groups_sum" in gate.description


def test_family_check_carries_examples_in_its_metadata():
    r = failure(examples=[{"province_code": "01", "unit_code": "00025", "total": 10}])
    result = qassets._summary_result(dg.AssetKey(["marts", "fct_data_values"]), "consistency", [r])
    assert result.passed is False and result.severity == dg.AssetCheckSeverity.ERROR
    assert "00025" in result.metadata["examples: consistency.age_groups_sum"].value
