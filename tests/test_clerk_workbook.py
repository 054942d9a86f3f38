"""A workbook typed the way an agency clerk types it: the titles they use, yes/no words, old ward names."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from pipelines.ingest.parse import parse_folder
from pipelines.ingest.mapping import load_mapping
from pipelines.methodology import load_methodology
from pipelines.reference.units import admin_units


@pytest.fixture(scope="module")
def methodology():
    return load_methodology()


@pytest.fixture(scope="module")
def units():
    return admin_units()


def _workbook(folder: Path, header: list[str], rows: list[list], total: list | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    ws = wb.active
    ws.title = "Biểu 01"
    ws["A1"] = "BÁO CÁO SỐ LIỆU TRẺ EM NĂM 2025"
    ws.append([])
    ws.append(header)
    for r in rows:
        ws.append(r)
    if total is not None:
        ws.append(total)
    path = folder / "bieu.xlsx"
    wb.save(path)
    return path


@pytest.mark.parametrize("title", ["Tỉnh/TP", "Tỉnh/Thành phố", "TỈNH, TP", "Tên tỉnh/TP"])
def test_province_titles_clerks_use_are_province_columns(methodology, title):
    assert load_mapping("health", methodology).target(title).role == "province"


@pytest.mark.parametrize("title, role", [("Mã xã", "unit_code"), ("Tên xã", "unit_name"), ("Xã/Phường", "unit_name"),
                                         ("Phường/Xã", "unit_name"), ("Xã/Phường/Đặc khu", "unit_name"),
                                         ("Mã tỉnh/TP", "province_code")])
def test_unit_titles_clerks_use(methodology, title, role):
    assert load_mapping("health", methodology).target(title).role == role


def test_a_ward_name_found_in_two_provinces_is_placed_by_the_province_column(tmp_path, methodology, units):
    # "Phường An Hải" is a ward of Hải Phòng (11617) and of Đà Nẵng (20275)
    folder = tmp_path / "2025" / "health"
    _workbook(folder, ["STT", "Tỉnh/TP", "Xã/Phường", "Số trẻ đẻ ra sống"],
              [[1, "TP Đà Nẵng", "Phường An Hải", 120], [2, "Hải Phòng", "P. An Hải", 95]])
    r = parse_folder(folder, "2025", "health", methodology, units)
    assert r.rejects.empty, r.rejects["reason"].tolist()
    got = {(v.unit_code, v.data_element): v.value for v in r.values.itertuples()}
    assert got == {("20275", "LIVE_BIRTHS"): 120.0, ("11617", "LIVE_BIRTHS"): 95.0}


@pytest.mark.parametrize("stated", [2, 4])  # Excel's =SUM() of the numbers only (1 + 1), or every "yes" (4)
def test_yes_no_words_load_and_the_totals_row_agrees(tmp_path, methodology, units, stated):
    folder = tmp_path / "2025" / "health"
    title = "Xã có người làm công tác bảo vệ trẻ em (có = 1, không = 0)"
    _workbook(folder, ["Mã xã", "Tên xã", title],
              [["00004", "Phường Ba Đình", "có"], ["00008", "Phường Ngọc Hà", "x"], ["00025", "Phường Giảng Võ", "không"],
               ["00070", "Phường Hoàn Kiếm", 1], ["00073", "Phường Cửa Nam", 0], ["00091", "Phường Phú Thượng", 1]],
              total=["", "Tổng cộng", stated])
    r = parse_folder(folder, "2025", "health", methodology, units)
    assert r.rejects.empty, r.rejects["reason"].tolist()
    got = {v.unit_code: v.value for v in r.values.itertuples()}
    assert got == {"00004": 1.0, "00008": 1.0, "00025": 0.0, "00070": 1.0, "00073": 0.0, "00091": 1.0}


def test_a_wrong_total_of_a_yes_no_column_is_still_named(tmp_path, methodology, units):
    folder = tmp_path / "2025" / "health"
    title = "Xã có người làm công tác bảo vệ trẻ em (có = 1, không = 0)"
    _workbook(folder, ["Mã xã", "Tên xã", title],
              [["00004", "Phường Ba Đình", "có"], ["00008", "Phường Ngọc Hà", 1]], total=["", "Tổng cộng", 5])
    r = parse_folder(folder, "2025", "health", methodology, units)
    assert r.rejects["check_code"].tolist() == ["workbook.total_mismatch"]
    assert r.rejects["column_name"].tolist() == [title]


def test_an_old_ward_name_is_answered_with_the_ward_it_became_part_of(tmp_path, methodology, units):
    # Phường Phúc Xá (Ba Đình, before 1 July 2025) is part of Phường Hồng Hà (00097) since then
    folder = tmp_path / "2025" / "health"
    _workbook(folder, ["Tỉnh/TP", "Tên xã", "Số trẻ đẻ ra sống"], [["Hà Nội", "Phường Phúc Xá", 30]])
    r = parse_folder(folder, "2025", "health", methodology, units)
    [reason] = r.rejects["reason"].tolist()
    assert "unit_scheme = legacy" in reason
    first_suggestion = reason.split("Gợi ý:")[1].split(";")[0].strip()
    assert first_suggestion == "Phường Hồng Hà (00097, Thành phố Hà Nội)"


def test_yes_no_words_read_the_same_in_a_csv_file(tmp_path, methodology, units):
    folder = tmp_path / "2025" / "health"
    folder.mkdir(parents=True)
    (folder / "yte.csv").write_text(
        "period,unit_code,data_element,value\n2025,00004,CP_WORKER,có\n2025,00008,CP_WORKER,Không\n"
        "2025,00025,CP_WORKER,x\n2025,00070,LIVE_BIRTHS,có\n2025,00073,CP_WORKER,1.234.567x\n", encoding="utf-8")
    r = parse_folder(folder, "2025", "health", methodology, units)
    got = {(v.unit_code, v.data_element): v.value for v in r.values.itertuples()}
    assert got == {("00004", "CP_WORKER"): 1.0, ("00008", "CP_WORKER"): 0.0, ("00025", "CP_WORKER"): 1.0}
    reasons = r.rejects.set_index("row_number")["reason"]
    assert list(reasons.index) == [5, 6]  # a count is never a word; neither is a garbled yes/no
    assert "không có dấu phân cách hàng nghìn" in reasons[6] and "1.234.567" not in reasons[6].replace("1.234.567x", "")


def test_one_bad_name_is_one_line_for_the_clerk(tmp_path, methodology, units):
    from pipelines.quality.report import one_per_input_cell

    folder = tmp_path / "2025" / "health"
    _workbook(folder, ["Tỉnh/TP", "Tên xã", "Số trẻ đẻ ra sống", "Số trẻ em dưới 5 tuổi tử vong",
                       "Số trẻ em có hoàn cảnh đặc biệt", "Số trẻ em có hoàn cảnh đặc biệt được trợ giúp"],
              [["Hà Nội", "Phường Không Có", 30, 1, 5, 4], ["Hà Nội", "Phường Ba Đình", 812, 3, 41, 39]])
    r = parse_folder(folder, "2025", "health", methodology, units)
    assert len(r.values) == 4 and len(r.rejects) == 4  # every value of the bad row kept, with its reason
    lines = one_per_input_cell(r.rejects.assign(sector="health"))
    assert len(lines) == 1 and lines["value"].tolist() == ["Phường Không Có"]
