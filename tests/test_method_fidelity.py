"""The method as the government texts write it: criterion 6 of Decision 06/QĐ-TTg, commune types after the
2025 reform, tiers by share / rank ranges / score, the minimum share of indicators, and the reporting calendar
read from the one file operators edit. Expected values are worked out by hand in the comments."""

from __future__ import annotations

import subprocess
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from pipelines.methodology import MethodologyError, load_methodology, parse_methodology
from pipelines.publish.method_notes import method_note_pairs, stricter_share_text
from pipelines.publish.report import ProvinceRow
from pipelines.reference.commune_types import default_commune_types, read_commune_types
from pipelines.reporting_calendar import CalendarError, load_calendar
from pipelines.settings import DEFAULT_METHODOLOGY, REPO_ROOT
from pipelines.tiers import TierError, parse_tiers, tier_of

METHODOLOGY = load_methodology(DEFAULT_METHODOLOGY)
ASSESSMENT = METHODOLOGY.commune_assessment
CALENDAR_FILE = REPO_ROOT / "methodology" / "reporting-calendar.yaml"


# -- Decision 06/QĐ-TTg -------------------------------------------------------------------------


def test_the_decision_is_cited_by_its_official_symbol():
    files = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    wrong = [f for f in files.stdout.split() if f != "tests/test_method_fidelity.py" and Path(REPO_ROOT, f).is_file()
             and "06/2019/QĐ" in Path(REPO_ROOT, f).read_text(encoding="utf-8", errors="ignore")]
    assert wrong == []
    assert ASSESSMENT.source_vi.startswith("Quyết định 06/QĐ-TTg ngày 03/01/2019")


def _criterion6(helped: int, total: int, cases: int, planned: int) -> float:
    c6 = next(c for c in ASSESSMENT.criteria if c.code == "C06")
    values = {"CSC_HELPED": np.array([helped]), "CSC_TOTAL": np.array([total]),
              "SAT_CASES": np.array([cases]), "SAT_CASES_PLANNED": np.array([planned])}
    return float(sum(i.points(values) for i in c6.items)[0])


@pytest.mark.parametrize("helped, cases, planned, points", [
    (95, 3, 3, 125),  # 95% helped: 50; every case with a plan: 75
    (94, 3, 3, 75),   # 94% < 95%: 0; every case with a plan: 75
    (95, 3, 2, 50),   # 95%: 50; one case of three without a plan: 0
    (95, 0, 0, 125),  # no case at all: the plan item is met, 75
    (94, 0, 0, 75),
])
def test_criterion_6_has_the_decisions_two_items(helped, cases, planned, points):
    assert _criterion6(helped, 100, cases, planned) == points


def test_criterion_6_configuration_and_its_sensitive_elements():
    c6 = next(c for c in ASSESSMENT.criteria if c.code == "C06")
    assert c6.max_points == 125 and [i.max_points for i in c6.items] == [50, 75]
    assert [(i.bands[0].bound, i.bands[0].points) for i in c6.items] == [(95, 50), (100, 75)]
    elements = METHODOLOGY.elements_by_code
    assert elements["SAT_CASES"].sensitive and elements["SAT_CASES_PLANNED"].sensitive
    crit = METHODOLOGY.tables()["assessment_criteria"].set_index("criterion_code")
    assert crit.loc["C06", "is_sensitive"]  # its points are withheld like C03 and C04


# -- commune types after the 2025 reform ---------------------------------------------------------


UNITS = pd.DataFrame({
    "unit_code": ["01", "00001", "00002", "00003", "00004"],
    "unit_level": ["province", "commune", "commune", "commune", "commune"],
    "division_type": ["thành phố trung ương", "phường", "xã", "đặc khu", "xã"],
    "province_code": ["01"] * 5,
})


def test_commune_types_default_from_the_division_type_and_the_operators_file_overrides(tmp_path):
    defaults = ASSESSMENT.division_defaults
    assert defaults == {"phường": "urban_ward_central_city", "đặc khu": "mountain_island_disadvantaged"}
    assert all(t.assumed for t in ASSESSMENT.commune_types)  # the project's reading, said so
    frame = default_commune_types(UNITS, ASSESSMENT.default_type.code, defaults).set_index("commune_code")
    # phường 900, xã 850, đặc khu 800
    assert [ASSESSMENT.threshold(t) for t in frame.commune_type] == [900, 850, 800, 850]
    # the operators list 00004 (a xã on the list of especially difficult communes): 800
    path = tmp_path / "commune_types.csv"
    path.write_text("commune_code,commune_type\n00004,mountain_island_disadvantaged\n", encoding="utf-8-sig")
    found = read_commune_types(path, UNITS, ASSESSMENT.type_codes, ASSESSMENT.default_type.code, defaults)
    types = found.frame.set_index("commune_code")
    assert types.loc["00004", "commune_type"] == "mountain_island_disadvantaged"
    assert types.loc["00004", "type_source"] == "file" and types.loc["00001", "type_source"] == "default"
    assert ASSESSMENT.threshold(types.loc["00001", "commune_type"]) == 900


# -- tiers ---------------------------------------------------------------------------------------


def _groups(raw: list[dict], ranks: list[int], scores: list[float] | None = None) -> list[int | None]:
    tiers = parse_tiers(raw, "test")
    scores = scores or [None] * len(ranks)
    return [tier_of(tiers, r, len(ranks), s) for r, s in zip(ranks, scores)]


def _named(n: int, **bound) -> dict:
    return {"tier": n, "name_vi": f"Nhóm {n}", "name_en": f"Group {n}", **bound}


def test_tiers_by_rank_ranges_5_8_8_6_on_27_units():
    raw = [_named(1, ranks=[1, 5]), _named(2, ranks=[6, 13]), _named(3, ranks=[14, 21]), _named(4, ranks=[22])]
    groups = _groups(raw, list(range(1, 28)))
    assert [groups.count(t) for t in (1, 2, 3, 4)] == [5, 8, 8, 6]
    assert groups[4] == 1 and groups[5] == 2 and groups[21] == 4
    # units 5 and 6 tied: both rank 5, both in the better group; unit 7 keeps rank 7 (group 2)
    tied = [1, 2, 3, 4, 5, 5] + list(range(7, 28))
    assert _groups(raw, tied)[:7] == [1, 1, 1, 1, 1, 1, 2]


def test_tiers_by_share():
    raw = [_named(1, max_rank_share=0.25), _named(2, max_rank_share=0.5), _named(3, max_rank_share=0.75),
           _named(4, max_rank_share=1.0)]
    # 8 units: rank/8 = 0.125, 0.25 | 0.375, 0.5 | 0.625, 0.75 | 0.875, 1
    assert _groups(raw, [1, 2, 3, 4, 5, 6, 7, 8]) == [1, 1, 2, 2, 3, 3, 4, 4]
    # ranks 2 and 3 tied at rank 2: 2/8 = 0.25 -> both in group 1
    assert _groups(raw, [1, 2, 2, 4, 5, 6, 7, 8]) == [1, 1, 1, 2, 3, 3, 4, 4]


def test_tiers_by_score_thresholds():
    raw = [_named(1, min_score=80), _named(2, min_score=60), _named(3, min_score=0)]
    # 80.00 (two units tied on the boundary) -> group 1; 79.99 -> 2; 60 -> 2; 59.99 -> 3
    scores = [91.5, 80.0, 80.0, 79.99, 60.0, 59.99]
    assert _groups(raw, [1, 2, 2, 4, 5, 6], scores) == [1, 1, 1, 2, 2, 3]
    assert tier_of(parse_tiers(raw, "t"), None, 6, 95.0) is None  # not ranked: no group


@pytest.mark.parametrize("raw, message", [
    ([_named(1, max_rank_share=0.5), _named(2, ranks=[2])], "one basis per methodology version"),
    ([_named(1, ranks=[1, 5]), _named(2, ranks=[7])], "should start at 6"),
    ([_named(1, ranks=[1, 5]), _named(2, ranks=[6, 27])], "gives only its first rank"),
    ([_named(1, min_score=60), _named(2, min_score=80), _named(3, min_score=0)], "decreasing min_score"),
    ([_named(1, min_score=80), _named(2, min_score=10)], "ending at 0"),
    ([_named(1, max_rank_share=0.5), _named(2, max_rank_share=0.9)], "ending at 1.0"),
    ([_named(1, max_rank_share=0.5, min_score=3)], "exactly one of"),
])
def test_the_loader_refuses_bad_tiers(raw, message):
    with pytest.raises(TierError, match=message):
        parse_tiers(raw, "test")


def test_a_methodology_with_rank_range_tiers_loads_into_the_tiers_table():
    doc = yaml.safe_load(DEFAULT_METHODOLOGY.read_text(encoding="utf-8"))
    doc["tiers"] = [_named(1, ranks=[1, 5]), _named(2, ranks=[6, 13]), _named(3, ranks=[14, 21]),
                    _named(4, ranks=[22])]
    m = parse_methodology(doc, DEFAULT_METHODOLOGY, "0" * 64)
    table = m.tables()["tiers"]
    assert list(table.basis) == ["rank"] * 4
    assert list(table.min_rank) == [1, 6, 14, 22] and pd.isna(table.max_rank.iloc[3])
    doc["tiers"][1] = _named(2, min_score=50)
    with pytest.raises(MethodologyError, match="one basis"):
        parse_methodology(doc, DEFAULT_METHODOLOGY, "0" * 64)


# -- the minimum share of indicators --------------------------------------------------------------


def _province(code: str, rank: int | None, used: int, total: int = 20) -> ProvinceRow:
    return ProvinceRow(code, f"Tỉnh {code}", 50.0, rank, None, None, None, used, total, "")


def test_the_report_lists_the_provinces_that_would_drop_out_at_80_percent():
    # 16/20 = 80%: stays; 15/20 = 75% and 13/20 = 65%: ranked at 65%, out at 80%; unranked ones are not listed
    rows = [_province("01", 1, 20), _province("02", 2, 16), _province("03", 3, 15), _province("04", 4, 13),
            _province("05", None, 9)]
    text = stricter_share_text(rows)
    assert "2 tỉnh" in text and "Tỉnh 03 (hạng 3, 15/20" in text and "Tỉnh 04 (hạng 4, 13/20" in text
    assert "Tỉnh 02" not in text and "Tỉnh 05" not in text
    assert "không tỉnh nào" in stricter_share_text(rows[:2])
    notes = dict(method_note_pairs(METHODOLOGY))
    assert "65%" in notes["Ngưỡng số chỉ số để xếp hạng"] and "80%" in notes["Ngưỡng số chỉ số để xếp hạng"]
    assert "không được tính vào mẫu số" in notes["Giá trị cấp tỉnh"]
    assert "đạt chỉ tiêu" in notes["Tiêu chuẩn 6 (xã phù hợp với trẻ em)"]
    assert "Quyết định 06/QĐ-TTg ngày 03/01/2019" in notes["Văn bản căn cứ"]


# -- the reporting calendar -------------------------------------------------------------------------


def _calendar_with(tmp_path: Path, monkeypatch, half_year_due: str) -> Path:
    doc = yaml.safe_load(CALENDAR_FILE.read_text(encoding="utf-8"))
    doc["levels"][0]["deadlines"]["half_year"]["due"] = half_year_due
    path = tmp_path / "calendar.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("CRI_CALENDAR", str(path))
    return path


def _on_time(received_at: datetime) -> int:
    """reporting_rates on one commune whose health file arrived at ``received_at`` (period 2026H1)."""
    from pipelines.quality.checks import reporting_rates

    con = duckdb.connect()
    con.execute("create schema ref; create schema raw")
    con.execute("create table ref.admin_units as select * from (values ('01', 'province', '01', 'Tỉnh A'), "
                "('00001', 'commune', '01', 'Xã B')) t(unit_code, unit_level, province_code, unit_name)")
    con.execute("create table raw.data_values as select '2026H1' as period, '00001' as unit_code, 'health' as sector, "
                "'E1' as data_element, '' as disaggregation, 'h.csv' as source_file")
    con.execute("create table raw.ingest_files as select '2026H1' as period, 'h.csv' as source_file, "
                "cast(? as timestamp) as received_at", [received_at])
    m = SimpleNamespace(data_elements=[SimpleNamespace(code="E1", sector="health", level="commune", mandatory=True,
                                                       kind="count")])
    return int(reporting_rates(con, "2026H1", m).on_time.iloc[0])


def test_the_calendar_file_drives_the_timeliness_check_and_the_schedules(tmp_path, monkeypatch):
    from pipelines.quality.checks import deadline
    from pipelines.schedules import calendar

    monkeypatch.delenv("CRI_CALENDAR", raising=False)
    # as shipped: 20 May; a file received on 21 May is late
    assert deadline("2026H1") == "2026-05-20" and calendar.draft_crons()[0] == "0 2 1-20 5 *"
    assert _on_time(datetime(2026, 5, 21, 10)) == 0
    # one changed date (22 May) moves the check, the windows, the official run and the crons
    _calendar_with(tmp_path, monkeypatch, "05-22")
    assert deadline("2026H1") == "2026-05-22" and deadline("2026") == "2026-11-15"
    assert _on_time(datetime(2026, 5, 21, 10)) == 1 and _on_time(datetime(2026, 5, 23, 1)) == 0
    assert calendar.drafting_periods(date(2026, 5, 22)) == ["2026H1"]
    assert calendar.official_periods(date(2026, 5, 21)) == [] and calendar.official_periods(date(2026, 5, 23)) == [
        "2026H1"]
    assert calendar.draft_crons() == ["0 2 1-22 5 *", "0 2 1-15 11 *"]
    assert calendar.official_crons() == ["0 6 23 5 *", "0 6 16 11 *"]
    assert calendar.deadline_of("2026H2") == date(2026, 11, 15)  # the second half-year goes with the year


def test_the_calendar_records_every_reporting_level():
    cal = load_calendar(CALENDAR_FILE)
    due = {lv.code: {d.kind: d.due for d in lv.deadlines} for lv in cal.levels}
    assert due == {"sector_to_province": {"half_year": (5, 20), "year": (11, 15)},
                   "province_to_ministry": {"half_year": (5, 25), "year": (11, 20)},
                   "commune_month_of_action": {"month_of_action": (7, 20)}}
    assert cal.pipeline_level == "sector_to_province"


@pytest.mark.parametrize("due, message", [("5-20", "MM-DD"), ("02-30", "MM-DD"), ("04-20", "after the deadline")])
def test_a_bad_calendar_is_refused_with_the_file_and_the_field(tmp_path, monkeypatch, due, message):
    path = _calendar_with(tmp_path, monkeypatch, due)
    with pytest.raises(CalendarError, match=message) as err:
        load_calendar(path)
    assert str(path) in str(err.value) and "half_year" in str(err.value)
