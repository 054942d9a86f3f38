"""Ingest of what agencies really send (pipelines.ingest.parse): names without codes, the units before
1 July 2025, and Excel workbooks, through the same checks, duplicate rule and nothing-lost invariant as CSV.

Real units: the 63 old provinces onto the 34 new ones (Hà Giang + Tuyên Quang -> Tuyên Quang 08; Bà Rịa - Vũng
Tàu + Bình Dương + Hồ Chí Minh City -> Hồ Chí Minh City 79; 11 provinces unmerged), the wards of old Quận Ba
Đình (Hà Nội), some of them split between several new wards.
"""

from __future__ import annotations

import importlib.util
import shutil
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from pipelines.ingest.codes import CHECK_CODES
from pipelines.ingest.contract import MATCH_COUNT_COLUMNS, REJECT_COLUMNS, VALUE_COLUMNS, ParsedFolder
from pipelines.ingest.parse import parse_folder
from pipelines.methodology import load_methodology
from pipelines.reference.units import admin_units
from pipelines.units.crosswalk import commune_crosswalk, province_crosswalk

_spec = importlib.util.spec_from_file_location("agency", Path(__file__).parent / "fixtures" / "workbooks" / "agency.py")
agency = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(agency)

UNMERGED = {"01", "04", "11", "12", "14", "20", "22", "38", "40", "42", "46"}
HEADER = "period,unit_code,unit_name,province,data_element,value,unit_scheme"


@pytest.fixture(scope="module")
def methodology():
    return load_methodology()


@pytest.fixture(scope="module")
def units():
    return admin_units()


def landing(tmp_path: Path, files: dict[str, str], period: str, sector: str) -> Path:
    folder = tmp_path / period / sector
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def parse(folder: Path, methodology, units, **kw) -> ParsedFolder:
    period, sector = folder.parent.name, folder.name
    r = parse_folder(folder, period, sector, methodology, units, **kw)
    assert_invariant(r)
    return r


def assert_invariant(r: ParsedFolder) -> None:
    """Every record is loaded or rejected, once; loaded records are counted by how they found their unit."""
    assert list(r.values.columns) == VALUE_COLUMNS and list(r.rejects.columns) == REJECT_COLUMNS
    assert set(r.rejects["check_code"]) <= set(CHECK_CODES)
    assert r.rejects["reason"].str.contains(" / ").all()
    for f in r.files:
        assert f.rows_total == f.rows_loaded + f.rows_rejected
        assert f.rows_loaded == sum(getattr(f, c) for c in MATCH_COUNT_COLUMNS)
        if f.file_format == "csv" and not f.whole_file_rejected:  # one record a line
            rejected = r.rejects.loc[r.rejects["source_file"] == f.source_file, "row_number"].dropna()
            assert rejected.nunique() == f.rows_rejected
    assert set(r.values["match_method"]) <= {"code", "name", "crosswalk", "apportioned"}
    rebased = r.values["match_method"].isin(["crosswalk", "apportioned"])
    assert r.values.loc[rebased, "source_units"].notna().all() and r.values.loc[rebased, "rebase_complete"].notna().all()
    assert r.values.loc[~rebased, "source_units"].isna().all() and r.values.loc[~rebased, "rebase_complete"].isna().all()
    assert not r.values.duplicated(["period", "unit_code", "data_element", "disaggregation"]).any()


# -- the 63 old provinces ---------------------------------------------------------------------------


def legacy_province_rows() -> list[tuple[str, str, str, float]]:
    """(code as written, name as written, new province, budget) for the 63 provinces before the reform:
    every other one by name only, in the many ways names arrive."""
    forms = {
        "02": "Hà Giang", "08": "tinh Tuyen Quang", "77": "Bà Rịa - Vũng Tàu", "74": "BÌNH DƯƠNG",
        "79": unicodedata.normalize("NFD", "TP. Hồ Chí Minh"), "46": "Thừa Thiên Huế", "17": "Hoà Bình",
    }
    rows = []
    for n, r in enumerate(province_crosswalk().itertuples()):
        budget = 1_000_000_000 + 7_919_000 * n  # whole đồng, all different
        if r.legacy_code in forms:
            rows.append(("", forms[r.legacy_code], r.unit_code, budget))
        elif n % 2:
            rows.append(("", r.legacy_name, r.unit_code, budget))
        else:
            rows.append((r.legacy_code, r.legacy_name, r.unit_code, budget))
    return rows


def test_63_old_provinces_sum_into_the_34_new_ones(tmp_path, methodology, units):
    rows = legacy_province_rows()
    text = HEADER + "\n" + "\n".join(f"2024,{c},{n},,CHILD_BUDGET_VND,{v:.0f},legacy" for c, n, _, v in rows) + "\n"
    r = parse(landing(tmp_path, {"tai_chinh_2024.csv": text}, "2024", "finance"), methodology, units)

    assert r.rejects.empty, r.rejects[["row_number", "check_code", "reason"]].to_string()
    v = r.values.set_index("unit_code")
    assert len(v) == 34 and set(v.index) == set(units.loc[units.unit_level == "province", "unit_code"])
    assert v["value"].sum() == sum(x for *_, x in rows)  # the national total, to the đồng
    by_old = {old: x for (c, n, _, x), old in zip(rows, province_crosswalk()["legacy_code"], strict=True)}
    assert v.at["08", "value"] == by_old["02"] + by_old["08"]  # Hà Giang + Tuyên Quang
    assert v.at["79", "value"] == by_old["77"] + by_old["74"] + by_old["79"]  # BR-VT + Bình Dương + HCM City
    for code in UNMERGED:
        assert v.at[code, "value"] == by_old[code], code
    assert v.at["08", "source_units"] == "02;08" and v.at["79", "source_units"] == "74;77;79"
    assert set(v["match_method"]) == {"crosswalk"} and v["rebase_complete"].all()
    assert v.at["08", "unit_name"] == "Hà Giang; tinh Tuyen Quang"  # as written
    (f,) = r.files
    assert (f.unit_scheme, f.rows_total, f.rows_crosswalk, f.rows_by_code, f.apportion_rule) == ("legacy", 63, 63, 0, "area")
    assert r.rebased


def test_a_missing_old_province_is_flagged_incomplete(tmp_path, methodology, units):
    text = HEADER + "\n2024,08,Tuyên Quang,,CHILD_BUDGET_VND,500,legacy\n2024,01,Hà Nội,,CHILD_BUDGET_VND,900,legacy\n"
    r = parse(landing(tmp_path, {"a.csv": text}, "2024", "finance"), methodology, units)
    v = r.values.set_index("unit_code")
    assert v.at["08", "value"] == 500 and not v.at["08", "rebase_complete"]  # Hà Giang did not report
    assert v.at["01", "rebase_complete"]


# -- old communes ---------------------------------------------------------------------------------------


def ba_dinh_rows() -> pd.DataFrame:
    """The wards of old Quận Ba Đình (district 001), with counts; several were split in 2025."""
    cw = commune_crosswalk()
    old = cw[cw["legacy_district_code"] == "001"].drop_duplicates("legacy_code").reset_index(drop=True)
    old["value"] = [97 + 13 * i for i in range(len(old))]
    return old


def test_old_commune_codes_rebase_with_the_total_unchanged(tmp_path, methodology, units):
    old = ba_dinh_rows()
    assert old["split"].any() and (~old["split"]).any()
    text = HEADER + "\n" + "\n".join(f"2024,{r.legacy_code},{r.legacy_name},,INSURED_U6,{r.value},legacy"
                                     for r in old.itertuples()) + "\n"
    folder = landing(tmp_path, {"bhxh.csv": text}, "2024", "social_security")
    area = parse(folder, methodology, units)
    equal = parse(folder, methodology, units, apportion_rule="equal")
    for r in (area, equal):
        assert r.rejects.empty
        assert r.values["value"].sum() == old["value"].sum()  # nothing lost, nothing counted twice
        assert (r.values["value"] % 1 == 0).all()  # counts stay whole
        (f,) = r.files
        assert f.rows_apportioned == old["split"].sum() and f.rows_crosswalk == (~old["split"]).sum()
    a = area.values.set_index("unit_code")
    e = equal.values.set_index("unit_code")
    # Phúc Xá (00001) went whole to Phường Hồng Hà: never apportioned
    hong_ha = commune_crosswalk().query("legacy_code == '00001'")["unit_code"].item()
    assert a.at[hong_ha, "match_method"] in ("crosswalk", "apportioned")
    # Điện Biên (00019) was split four ways: its successors are marked apportioned, with the share
    split_to = set(commune_crosswalk().query("legacy_code == '00019'")["unit_code"])
    assert len(split_to) == 4
    for code in split_to:
        assert a.at[code, "match_method"] == "apportioned" and "00019×" in a.at[code, "source_units"]
    assert a.loc[list(split_to), "value"].tolist() != e.loc[list(split_to), "value"].tolist()  # the rule matters
    assert (a["match_method"] == "apportioned").any() and not a.loc[a["match_method"] == "apportioned",
                                                                      "rebase_complete"].isna().any()
    assert area.files[0].apportion_rule == "area" and equal.files[0].apportion_rule == "equal"


def test_legacy_rows_follow_the_duplicate_rule_per_old_unit(tmp_path, methodology, units):
    text = (HEADER + "\n"
            "2024,00004,Phường Trúc Bạch,,INSURED_U6,40,legacy\n"
            "2024,,Phường Trúc Bạch,Hà Nội,INSURED_U6,40,legacy\n"  # same old unit, same value: loaded once
            "2024,00013,Phường Quán Thánh,,INSURED_U6,10,legacy\n"
            "2024,13,Phường Quán Thánh,,INSURED_U6,12,legacy\n"  # 00013 with its zeros lost, another value
            "2024,4,Phường Trúc Bạch,,INSURED_U6,40,legacy\n"  # 00004 again, zeros lost, same value
            "2024,124,,,INSURED_U6,5,legacy\n")  # commune 00124, or the old district 124?
    r = parse(landing(tmp_path, {"a.csv": text}, "2024", "social_security"), methodology, units)
    rej = r.rejects.set_index("row_number")
    assert rej.at[3, "check_code"] == "ingest.duplicate_row" and "repeats row 2" in rej.at[3, "reason"]
    assert "legacy unit" in rej.at[3, "reason"] and rej.at[6, "check_code"] == "ingest.duplicate_row"
    assert rej.at[4, "check_code"] == rej.at[5, "check_code"] == "ingest.conflicting_duplicate"
    assert rej.at[7, "check_code"] == "units.ambiguous_unit" and "district 124" in rej.at[7, "reason"]
    v = r.values.set_index("unit_code")
    assert list(v.index) == ["00004"] and v.at["00004", "value"] == 40  # Trúc Bạch, once; Quán Thánh not at all


def test_legacy_conflicting_values_are_all_rejected(tmp_path, methodology, units):
    text = (HEADER + "\n2024,00004,Phường Trúc Bạch,,INSURED_U6,40,legacy\n"
            "2024,,Truc Bach,Thành phố Hà Nội,INSURED_U6,41,legacy\n")
    r = parse(landing(tmp_path, {"a.csv": text}, "2024", "social_security"), methodology, units)
    assert set(r.rejects["check_code"]) == {"ingest.conflicting_duplicate"} and r.values.empty


def test_a_value_given_in_both_schemes_is_never_added_twice(tmp_path, methodology, units):
    # Điện Biên (00019, split four ways) and Cửa Nam (00073, split four ways) both reach Phường Ba Đình (00004)
    # and Phường Hoàn Kiếm (00070); Ba Đình is also sent on the 2025 units.
    files = {
        "cu.csv": HEADER + "\n2024,00019,Phường Điện Biên,,INSURED_U6,400,legacy\n"
                           "2024,00043,Phường Hàng Mã,,INSURED_U6,50,legacy\n",
        "moi.csv": HEADER + "\n2024,00004,Phường Ba Đình,,INSURED_U6,900,2025\n",
    }
    r = parse(landing(tmp_path, files, "2024", "social_security"), methodology, units)
    overlap = r.rejects[r.rejects["check_code"] == "units.scheme_overlap"]
    assert set(overlap["source_file"]) == {"2024/social_security/cu.csv", "2024/social_security/moi.csv"}
    assert "none of them was loaded" in overlap["reason"].iloc[0]
    # Điện Biên is rejected whole: none of its four parts is loaded; Hàng Mã (whole to Hoàn Kiếm) is
    v = r.values.set_index("unit_code")
    assert "00004" not in v.index and v.at["00070", "value"] == 50 and v.at["00070", "source_units"] == "00043"
    assert v["value"].sum() == 50
    assert {f.source_file.rsplit("/", 1)[1]: (f.rows_loaded, f.rows_rejected) for f in r.files} == {
        "cu.csv": (1, 1), "moi.csv": (0, 1)}


def test_a_district_is_never_split_onto_communes(tmp_path, methodology, units):
    text = (HEADER + "\n2024,001,Quận Ba Đình,,INSURED_U6,4000,legacy\n"
            "2024,001,Quận Ba Đình,,CHILD_BUDGET_VND,1,legacy\n")
    r = parse(landing(tmp_path, {"a.csv": text}, "2024", "social_security"), methodology, units)
    rej = r.rejects.set_index("row_number")
    assert rej.at[2, "check_code"] == "units.wrong_level" and "never split onto communes" in rej.at[2, "reason"]
    assert rej.at[3, "check_code"] == "ingest.wrong_sector"


# -- names without codes ---------------------------------------------------------------------------------


def test_names_match_after_normalisation_and_ambiguous_names_are_rejected(tmp_path, methodology, units):
    text = (HEADER + "\n"
            f"2025,,{unicodedata.normalize('NFD', 'Phường Ba Đình')},Hà Nội,LIVE_BIRTHS,812,\n"  # decomposed
            "2025,,Phuong Ngoc Ha,,LIVE_BIRTHS,655,\n"  # no diacritics
            "2025,,P. Giảng Võ,TP. Hà Nội,LIVE_BIRTHS,590,2025\n"  # abbreviated prefixes
            "2025,,  phường   HOÀN KIẾM ,,LIVE_BIRTHS,402,\n"  # case and spacing
            "2025,,Xã Tân Thành,,LIVE_BIRTHS,77,\n"  # seven communes of this name
            "2025,,Phường Phúc Xá,,LIVE_BIRTHS,30,\n"  # a ward before 2025, in a 2025 row
            "2025,00073,Phường Cửa Nam,,LIVE_BIRTHS,377,\n")  # a code: the code is the key
    r = parse(landing(tmp_path, {"ten.csv": text}, "2025", "health"), methodology, units)
    v = r.values.set_index("row_number")
    assert v["unit_code"].to_dict() == {2: "00004", 3: "00008", 4: "00025", 5: "00070", 8: "00073"}
    assert v["match_method"].to_dict() == {2: "name", 3: "name", 4: "name", 5: "name", 8: "code"}
    assert v.at[3, "unit_name"] == "Phuong Ngoc Ha"  # kept as written
    rej = r.rejects.set_index("row_number")
    assert rej.at[6, "check_code"] == "units.ambiguous_name" and rej.at[6, "column_name"] == "unit_name"
    assert "Xã Tân Thành (05923, Thái Nguyên)" in rej.at[6, "reason"] and "Give the unit code" in rej.at[6, "reason"]
    assert rej.at[7, "check_code"] == "units.unknown_name" and "unit_scheme = legacy" in rej.at[7, "reason"]
    assert "Suggestions:" in rej.at[7, "reason"]
    (f,) = r.files
    assert (f.rows_by_name, f.rows_by_code, f.rows_rejected) == (4, 1, 2)


def test_a_file_of_names_needs_no_code_column(tmp_path, methodology, units):
    text = "period,unit_name,data_element,value\n2025,Lai Châu,CHILD_BUDGET_VND,571000000\n2025,,CHILD_BUDGET_VND,5\n"
    r = parse(landing(tmp_path, {"a.csv": text}, "2025", "finance"), methodology, units)
    assert r.values["unit_code"].tolist() == ["12"]
    rej = r.rejects.iloc[0]
    assert (rej["check_code"], rej["column_name"], rej["row_number"]) == ("ingest.missing_value", "unit_code", 3)


# -- workbooks in the landing folder ------------------------------------------------------------------


def test_an_agency_workbook_loads_like_a_csv_file(tmp_path, methodology, units):
    folder = tmp_path / "2025" / "health"
    folder.mkdir(parents=True)
    agency.health_workbook(folder / "yte_hanoi.xlsx")
    r = parse(folder, methodology, units)
    assert r.rejects.empty
    loaded = {(x.unit_code, x.data_element, x.disaggregation): x.value for x in r.values.itertuples()}
    assert loaded == agency.expected_values()
    assert set(r.values["row_number"]) == set(range(8, 14))  # Excel rows
    (f,) = r.files
    assert (f.file_format, f.encoding, f.unit_scheme) == ("xlsx", None, "2025")
    assert f.rows_total == f.rows_by_code == len(agency.expected_values())


def test_a_wrong_total_is_reported_and_the_rows_still_load(tmp_path, methodology, units):
    folder = tmp_path / "2025" / "health"
    folder.mkdir(parents=True)
    agency.health_workbook(folder / "yte_hanoi.xlsx", wrong_total=True, extra_header="Số hộ nghèo")
    r = parse(folder, methodology, units)
    rej = r.rejects.set_index("check_code")
    assert set(rej.index) == {"workbook.total_mismatch", "workbook.unknown_header"}
    total = rej.loc["workbook.total_mismatch"]
    assert total["row_number"] == 14 and total["column_name"] == "Số trẻ em dưới 5 tuổi tử vong / Tổng số"
    assert "says 11 but the rows add up to 10" in total["reason"] and "Biểu 01-YT" in total["raw_record"]
    assert len(r.values) == len(agency.expected_values())
    (f,) = r.files
    # the unknown column is one record not loaded; the totals row is not a record
    assert (f.rows_total, f.rows_loaded, f.rows_rejected) == (len(agency.expected_values()) + 1,
                                                              len(agency.expected_values()), 1)


def test_workbook_values_get_the_same_checks_as_csv(tmp_path, methodology, units):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Mã xã", "Tên xã", "Số trẻ đẻ ra sống", "Xã có người làm công tác BVTE (có = 1, không = 0)"])
    ws.append(["00004", "Phường Ba Đình", "1.234", 1])  # ambiguous number: rejected, as in a CSV file
    ws.append([None, "Xã Tân Thành", 12, 0])  # ambiguous name
    ws.append([None, "Phường Ngọc Hà", -3, 2])  # negative count; yes/no must be 0 or 1
    ws.append(["00025", "Phường Giảng Võ", 590, 1])
    folder = tmp_path / "2025" / "health"
    folder.mkdir(parents=True)
    wb.save(folder / "bieu.xlsx")
    r = parse(folder, methodology, units)
    got = sorted(zip(r.rejects["row_number"], r.rejects["column_name"], r.rejects["check_code"], strict=True))
    assert got == [
        (2, "Số trẻ đẻ ra sống", "ingest.unparseable_value"),
        (3, "unit_name", "units.ambiguous_name"),
        (3, "unit_name", "units.ambiguous_name"),
        (4, "Số trẻ đẻ ra sống", "ingest.negative_value"),
        (4, "Xã có người làm công tác BVTE (có = 1, không = 0)", "ingest.invalid_yes_no"),
    ]
    loaded = {(x.unit_code, x.data_element): (x.value, x.match_method) for x in r.values.itertuples()}
    assert loaded == {("00004", "CP_WORKER"): (1, "code"), ("00025", "LIVE_BIRTHS"): (590, "code"),
                      ("00025", "CP_WORKER"): (1, "code")}
    (f,) = r.files
    assert (f.rows_total, f.rows_loaded, f.rows_rejected) == (8, 3, 5)


def test_a_legacy_workbook_rebases(tmp_path, methodology, units):
    folder = tmp_path / "2024" / "statistics"
    folder.mkdir(parents=True)
    agency.legacy_statistics_workbook(folder / "dan_so_ba_dinh.xlsx")
    r = parse(folder, methodology, units)
    assert r.rejects.empty
    assert r.values["value"].sum() == 3120 + 1480 + 4210 + 3890 + 1733  # the totals row is never a unit
    assert set(r.values["match_method"]) == {"crosswalk", "apportioned"}
    (f,) = r.files
    assert (f.unit_scheme, f.rows_crosswalk, f.rows_apportioned) == ("legacy", 3, 2)  # Cống Vị, Điện Biên split


def test_csv_and_workbook_duplicates_are_found_across_files(tmp_path, methodology, units):
    folder = tmp_path / "2025" / "health"
    folder.mkdir(parents=True)
    agency.health_workbook(folder / "b_yte.xlsx")
    (folder / "a_yte.csv").write_text("period,unit_code,data_element,value\n2025,00004,LIVE_BIRTHS,812\n"
                                      "2025,00008,LIVE_BIRTHS,656\n", encoding="utf-8")
    r = parse(folder, methodology, units)
    rej = r.rejects.set_index(["source_file", "check_code"])
    assert ("2025/health/b_yte.xlsx", "ingest.duplicate_row") in rej.index  # 812 twice: loaded once, from the CSV
    conflicts = r.rejects[r.rejects["check_code"] == "ingest.conflicting_duplicate"]
    assert len(conflicts) == 2 and "row 9 of b_yte.xlsx = 655" in conflicts.iloc[0]["reason"]


def test_template_mapping_is_required_for_workbooks(tmp_path, methodology, units, monkeypatch):
    from pipelines.ingest import mapping

    folder = tmp_path / "2025" / "health"
    folder.mkdir(parents=True)
    agency.health_workbook(folder / "yte.xlsx")
    empty = tmp_path / "no_templates"
    empty.mkdir()
    monkeypatch.setattr(mapping, "TEMPLATES_DIR", empty)
    with pytest.raises(mapping.MappingError, match="no template mapping"):
        parse_folder(folder, "2025", "health", methodology, units)
    shutil.rmtree(empty)


def test_an_old_code_without_the_legacy_scheme_is_rejected_with_a_hint(tmp_path, methodology, units):
    text = "period,unit_code,data_element,value\n2025,00001,LIVE_BIRTHS,3\n2025,99999,LIVE_BIRTHS,3\n"
    r = parse(landing(tmp_path, {"a.csv": text}, "2025", "health"), methodology, units)
    reasons = r.rejects.set_index("row_number")["reason"]
    assert set(r.rejects["check_code"]) == {"ingest.unknown_unit"}
    assert "write unit_scheme = legacy" in reasons[2]  # Phường Phúc Xá before 2025
    assert "unit_scheme = legacy" not in reasons[3]
