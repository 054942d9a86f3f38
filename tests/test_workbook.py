"""Agency workbooks (pipelines.ingest.workbook) and blank templates (pipelines.ingest.template)."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from pipelines.ingest.template import COMMUNE_SHEET, INSTRUCTIONS_SHEET, PROVINCE_SHEET, write_template
from pipelines.ingest.mapping import TEMPLATES_DIR, MappingError, label_key, load_mapping
from pipelines.ingest.workbook import LANDING_COLUMNS, read_workbook
from pipelines.methodology import load_methodology
from pipelines.reference.units import admin_units
from pipelines.units.resolve import to_2025_units

_spec = importlib.util.spec_from_file_location("agency", Path(__file__).parent / "fixtures" / "workbooks" / "agency.py")
agency = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(agency)


@pytest.fixture(scope="module")
def methodology():
    return load_methodology()


def values_of(rows: pd.DataFrame) -> dict[tuple[str, str, str], float]:
    return {(r.unit_code, r.data_element, r.disaggregation): float(r.value) for r in rows.itertuples()}


# -- template mappings ---------------------------------------------------------------


def test_every_sector_has_a_mapping_naming_each_of_its_data_elements(methodology):
    for sector in methodology.sector_codes:
        doc = yaml.safe_load((TEMPLATES_DIR / f"{sector}.yaml").read_text(encoding="utf-8"))
        reportable = {e.code for e in methodology.elements_of_sector(sector) if e.kind != "unit_count"}
        assert set(doc["columns"]) == reportable, sector
        mapping = load_mapping(sector, methodology)  # no label maps to two things
        for e in mapping.elements.values():
            assert mapping.target(e.label).code == e.code
            assert mapping.target(e.name_vi).code == e.code
            assert mapping.target(e.code).code == e.code


def test_labels_match_without_case_spacing_or_diacritics(methodology):
    m = load_mapping("health", methodology)
    for written in ("SỐ TRẺ ĐẺ RA SỐNG", "so tre de ra song", "Số  trẻ   đẻ ra sống (người)", "Số trẻ đẻ ra sống\n"):
        assert m.target(written).code == "LIVE_BIRTHS", written
    assert m.target("Số TE có HCĐB").code == "CSC_TOTAL"
    assert m.target("Xã có người làm công tác BVTE (có = 1, không = 0)").code == "CP_WORKER"
    assert m.target("Số hộ nghèo") is None
    assert label_key("Kinh phí (triệu đồng)") != label_key("Kinh phí")  # a money unit is never dropped


def test_a_label_claimed_by_two_elements_is_refused(tmp_path, methodology):
    doc = yaml.safe_load((TEMPLATES_DIR / "police.yaml").read_text(encoding="utf-8"))
    doc["columns"]["CONFLICT_LAW"]["variants"].append("Số vụ phạm tội xâm hại trẻ em")
    (tmp_path / "police.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(MappingError, match="also a label"):
        load_mapping("police", methodology, directory=tmp_path)


# -- an agency workbook ------------------------------------------------------------------


def test_agency_workbook_with_title_merged_headers_totals_and_notes_parses(tmp_path):
    result = read_workbook(agency.health_workbook(tmp_path / "yte.xlsx"), "health", period="2025")
    assert result.ok, result.rejects["reason"].tolist()
    assert values_of(result.rows) == agency.expected_values()
    sheet = result.sheets[0]
    assert (sheet.header_row, sheet.header_rows, sheet.totals_row, sheet.data_rows) == (6, 2, 14, 6)
    rows = result.rows
    assert list(rows.columns[: len(LANDING_COLUMNS)]) == LANDING_COLUMNS
    assert set(rows["unit_code"]) == {"00004", "00008", "00025", "00070", "00073", "00091"}  # zeros restored
    assert "Tổng cộng" not in set(rows["unit_name"])  # the totals row is never a unit
    assert set(rows["row_number"]) == set(range(8, 14))
    girls = rows[(rows["disaggregation"] == "sex=F")]
    assert set(girls["column_name"]) == {"Số trẻ em dưới 5 tuổi tử vong / Nữ"}
    assert set(rows["unit_scheme"]) == {"2025"} and set(rows["period"]) == {"2025"}
    # a blank cell is missing data, not a zero
    assert ("00073", "DEATHS_U5", "") not in values_of(rows)
    assert rows.loc[rows["unit_code"] == "00091", "comment"].iloc[0] == "Số liệu tháng 12 ước tính"


def test_wrong_total_is_reported_with_row_and_column(tmp_path):
    result = read_workbook(agency.health_workbook(tmp_path / "yte.xlsx", wrong_total=True), "health", period="2025")
    bad = result.rejects[result.rejects["check_code"] == "workbook.total_mismatch"]
    assert len(bad) == 1
    r = bad.iloc[0]
    assert (r["row"], r["column"], r["value"]) == (14, "Số trẻ em dưới 5 tuổi tử vong / Tổng số", "11")
    assert "10" in r["reason_vi"] and "11" in r["reason_en"]
    assert values_of(result.rows) == agency.expected_values()  # the rows themselves still load


def test_unknown_column_is_reported_and_not_loaded(tmp_path):
    path = agency.health_workbook(tmp_path / "yte.xlsx", extra_header="Số hộ nghèo")
    result = read_workbook(path, "health", period="2025")
    unknown = result.rejects[result.rejects["check_code"] == "workbook.unknown_header"]
    assert list(unknown["column"]) == ["Số hộ nghèo"]
    assert values_of(result.rows) == agency.expected_values()


def test_scheme_and_period_stated_in_the_sheet(tmp_path):
    legacy = read_workbook(agency.health_workbook(tmp_path / "a.xlsx", scheme_cell="Hệ thống đơn vị: legacy"),
                           "health", period="2025")
    assert set(legacy.rows["unit_scheme"]) == {"legacy"}
    wrong = read_workbook(agency.health_workbook(tmp_path / "b.xlsx", scheme_cell="Hệ thống đơn vị: 2019"),
                          "health", period="2025")
    assert list(wrong.rejects["check_code"]) == ["workbook.bad_unit_scheme"] and wrong.rows.empty
    other_period = read_workbook(agency.health_workbook(tmp_path / "c.xlsx", period="2024"), "health", period="2025")
    assert list(other_period.rejects["check_code"]) == ["workbook.period_mismatch"] and other_period.rows.empty
    stated_in_words = read_workbook(agency.health_workbook(tmp_path / "e.xlsx", period="Năm 2025"), "health", period="2025")
    assert stated_in_words.ok and set(stated_in_words.rows["period"]) == {"2025"}
    half = read_workbook(agency.health_workbook(tmp_path / "f.xlsx", period="6 tháng đầu năm 2025"), "health", period="2025")
    assert list(half.rejects["check_code"]) == ["workbook.period_mismatch"]
    no_scheme = read_workbook(agency.health_workbook(tmp_path / "d.xlsx", scheme_cell="Sở Y tế"), "health", period="2025")
    assert set(no_scheme.rows["unit_scheme"]) == {"2025"}


def test_sheet_without_a_header_and_unreadable_files(tmp_path):
    wb = openpyxl.Workbook()
    wb.active["A1"] = "Danh sách cán bộ"
    wb.active["A2"], wb.active["B2"] = "Họ tên", "Chức vụ"
    wb.save(tmp_path / "x.xlsx")
    result = read_workbook(tmp_path / "x.xlsx", "health", period="2025")
    assert list(result.rejects["check_code"]) == ["workbook.no_header"]
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0 not a zip")
    result = read_workbook(tmp_path / "old.xls", "health", period="2025")
    assert list(result.rejects["check_code"]) == ["workbook.unreadable"] and ".xlsx" in result.rejects["reason"].item()


def test_merged_value_cells_duplicate_columns_yes_no_words_and_money_units(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Mã tỉnh", "Tên tỉnh", "Kinh phí chi cho các chương trình trẻ em (triệu đồng)"])
    ws.append(["01", "Hà Nội", 1250.5])
    ws.append(["08", "Tuyên Quang", "1.234.567"])
    ws.append(["79", "TP. Hồ Chí Minh", "1.234"])  # one thousands group: ambiguous, passed on as written
    wb.save(tmp_path / "tc.xlsx")
    rows = read_workbook(tmp_path / "tc.xlsx", "finance", period="2025").rows
    assert dict(zip(rows["unit_code"], rows["value"])) == {"01": "1250500000", "08": "1234567000000", "79": "1.234"}

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Mã xã", "Tên xã", "Có điểm vui chơi cho trẻ em", "Số thôn có thiết chế văn hóa, thể thao cho trẻ em",
               "Thôn có thiết chế văn hóa, thể thao cho trẻ em"])
    ws.append(["00004", "Phường Ba Đình", "Có", 3, 9])
    ws.append(["00008", "Phường Ngọc Hà", "không", 4, 9])
    ws.append(["00025", "Phường Giảng Võ", "x", None, 9])
    ws["D3"] = 4
    ws.merge_cells("D3:D4")
    wb.save(tmp_path / "vh.xlsx")
    result = read_workbook(tmp_path / "vh.xlsx", "culture", period="2025")
    assert sorted(result.rejects["check_code"]) == ["workbook.duplicate_column", "workbook.merged_value"]
    v = values_of(result.rows)
    assert v[("00004", "PLAY_AREA", "")] == 1 and v[("00008", "PLAY_AREA", "")] == 0 and v[("00025", "PLAY_AREA", "")] == 1
    assert ("00008", "VILLAGES_CULTURE", "") not in v and ("00025", "VILLAGES_CULTURE", "") not in v
    assert v[("00004", "VILLAGES_CULTURE", "")] == 3


def test_legacy_workbook_rebases_onto_2025_units(tmp_path, methodology):
    result = read_workbook(agency.legacy_statistics_workbook(tmp_path / "tk.xlsx"), "statistics", period="2024")
    assert result.ok and set(result.rows["unit_scheme"]) == {"legacy"}
    assert set(result.rows["district"]) == {"Quận Ba Đình"}  # merged down its rows
    levels = {e.code: e.level for e in methodology.data_elements}
    resolved = to_2025_units(result.rows, levels)
    assert resolved.rejects.empty
    out = resolved.rows
    assert out["value"].astype(float).sum() == result.rows["value"].astype(float).sum()
    assert set(out["unit_scheme"]) == {"2025"}
    assert out.loc[out["unit_name"] == "Phường Hồng Hà", "value"].item() == 3120  # Phúc Xá, whole
    assert out.loc[out["unit_name"] == "Phường Hoàn Kiếm", "apportioned"].item()  # part of Điện Biên


def test_names_without_codes_resolve_to_2025_codes(tmp_path, methodology):
    result = read_workbook(agency.health_workbook(tmp_path / "yte.xlsx"), "health", period="2025")
    rows = result.rows.copy()
    rows["unit_code"] = ""
    rows["province"] = "TP. Hà Nội"
    rows.loc[rows["row_number"] == 9, "unit_name"] = "Ngọc Hà"
    rows.loc[rows["row_number"] == 10, "unit_name"] = "Xã Tân Thành"  # not in Hà Nội
    levels = {e.code: e.level for e in methodology.data_elements}
    resolved = to_2025_units(rows, levels)
    assert set(resolved.rejects["check_code"]) == {"units.unknown_name"}
    assert set(resolved.rejects["row_number"]) == {10}
    assert set(resolved.rows["unit_code"]) == {"00004", "00008", "00070", "00073", "00091"}


# -- blank templates -------------------------------------------------------------------


def fill(path: Path, seed: int = 1, blank_share: float = 0.1) -> dict[tuple[str, str, str], float]:
    """Fill a template as an agency would; returns what was written."""
    rng = random.Random(seed)
    mapping_by_label: dict[str, tuple[str, str]] = {}
    wb = openpyxl.load_workbook(path)
    written = {}
    for name in (COMMUNE_SHEET, PROVINCE_SHEET):
        if name not in wb.sheetnames:
            continue
        ws = wb[name]
        header = [c.value for c in ws[7]]
        for r in range(8, ws.max_row):
            code = ws.cell(row=r, column=2).value
            for j, label in enumerate(header, start=1):
                comment = ws.cell(row=7, column=j).comment
                if comment is None:
                    continue
                element = comment.text.split(":")[0]
                mapping_by_label[label] = (element, name)
                if rng.random() < blank_share:
                    continue
                yes_no = "có = 1" in label
                v = rng.randint(0, 1) if yes_no else rng.randint(0, 9000)
                ws.cell(row=r, column=j, value=v)
                written[(code, element, "")] = float(v)
    wb.save(path)
    return written


@pytest.mark.parametrize("sector", ["health", "statistics", "social_security", "education", "justice", "police",
                                    "culture", "finance"])
def test_template_filled_in_loads_cleanly(tmp_path, methodology, sector):
    path = write_template(tmp_path / f"{sector}.xlsx", sector, "2025", methodology, province_code="08")
    written = fill(path)
    result = read_workbook(path, sector, period="2025")
    assert result.ok, result.rejects["reason"].tolist()
    assert values_of(result.rows) == written
    assert set(result.rows["unit_scheme"]) == {"2025"}
    units = admin_units()
    known = set(units["unit_code"])
    assert set(result.rows["unit_code"]) <= known


def test_template_layout(tmp_path, methodology):
    path = write_template(tmp_path / "tk.xlsx", "statistics", "2025H1", methodology, province_code="01")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [INSTRUCTIONS_SHEET, COMMUNE_SHEET, PROVINCE_SHEET]
    ws = wb[COMMUNE_SHEET]
    communes = admin_units().query("unit_level == 'commune' and province_code == '01'")
    assert ws.max_row == 7 + len(communes) + 1  # header, one row per commune, totals
    assert ws.cell(row=8, column=2).value == communes["unit_code"].min() and ws.cell(row=8, column=2).number_format == "@"
    assert ws.freeze_panes == "E8"
    assert ws.cell(row=ws.max_row, column=3).value == "Tổng cộng"
    rules = {(dv.type, dv.operator, dv.formula1, dv.formula2) for dv in ws.data_validations.dataValidation}
    assert rules == {("whole", "greaterThanOrEqual", "0", None)}
    assert [c.value for c in wb[PROVINCE_SHEET]["C"][7:8]] == ["Thành phố Hà Nội"]
    help_text = " ".join(str(c.value) for row in wb[INSTRUCTIONS_SHEET].iter_rows() for c in row if c.value)
    assert "Hướng dẫn".upper() in help_text.upper() and "để trống" in help_text and "POP_0_15" in help_text
    yes_no = write_template(tmp_path / "yt.xlsx", "health", "2025", methodology, province_code="01")
    rules = {(dv.type, dv.operator, dv.formula1, dv.formula2)
             for dv in openpyxl.load_workbook(yes_no)[COMMUNE_SHEET].data_validations.dataValidation}
    assert ("whole", "between", "0", "1") in rules


def test_national_template_round_trip(tmp_path, methodology):
    path = write_template(tmp_path / "bhxh.xlsx", "social_security", "2025", methodology)
    written = fill(path, blank_share=0.0)
    result = read_workbook(path, "social_security", period="2025")
    assert result.ok
    assert len(result.rows) == 3321 and values_of(result.rows) == written
