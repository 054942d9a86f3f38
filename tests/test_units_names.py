"""Unit names as agencies write them, matched to official codes (pipelines.units.names)."""

from __future__ import annotations

import unicodedata

import pytest

from pipelines.reference.units import admin_units
from pipelines.units.names import match_unit, normalise_name


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# -- normalisation ---------------------------------------------------------------


@pytest.mark.parametrize("written", ["TP. Hồ Chí Minh", "Thành phố Hồ Chí Minh", "Ho Chi Minh City", "HCM", "TP.HCM",
                                     "tphcm", "  thành  phố   HỒ CHÍ MINH ", nfd("Thành phố Hồ Chí Minh")])
def test_normalise_name_forms_of_ho_chi_minh_city(written):
    assert normalise_name(written, "province") == "ho chi minh"


def test_normalise_name_keeps_diacritics_when_asked_and_unifies_tone_placement():
    assert normalise_name("Tỉnh Khánh Hoà", "province", keep_diacritics=True) == "khánh hoà"
    assert normalise_name(nfd("Xã Thuận Hòa"), "commune") == normalise_name("xa thuan hoa", "commune") == "thuan hoa"
    assert normalise_name("Phường 01", "commune") == "1"


# -- 2025 provinces ----------------------------------------------------------------


@pytest.mark.parametrize("written, code", [
    ("Thành phố Hồ Chí Minh", "79"), ("TP. Hồ Chí Minh", "79"), ("TP.HCM", "79"), ("HCM", "79"), ("Ho Chi Minh", "79"),
    ("Thừa Thiên Huế", "46"), ("Tỉnh Thừa Thiên Huế", "46"), ("Huế", "46"), ("TP Huế", "46"),
    ("Hà Nội", "01"), ("Hanoi", "01"), ("ha noi", "01"), ("Tp. Đà Nẵng", "48"),
    (nfd("Tuyên Quang"), "08"), ("Tuyen Quang", "08"), ("Tỉnh Đắk Lắk", "66"), ("Dak Lak", "66"),
    ("Khánh Hoà", "56"), ("Thanh Hoá", "38"),
])
def test_province_names_match(written, code):
    m = match_unit(written, "province")
    assert m.accepted, m.reason
    assert m.unit_code == code


def test_province_codes_including_excel_stripped_zeros():
    assert match_unit("08", "province").unit_code == "08"
    assert match_unit(8, "province").status == "code"
    assert match_unit("8", "province").unit_code == "08"
    m = match_unit("02", "province")  # Hà Giang's old code: no 2025 province has it
    assert m.status == "unmatched" and m.unit_code is None


def test_old_province_name_is_not_a_2025_unit_and_says_so():
    m = match_unit("Hà Giang", "province")
    assert m.status == "unmatched"
    assert "legacy" in m.reason_en and "legacy" in m.reason_vi
    assert match_unit("Hà Giang", "province", scheme="legacy").unit_code == "02"


# -- 2025 communes -------------------------------------------------------------------


@pytest.mark.parametrize("written, province, code", [
    ("Phường Ba Đình", "01", "00004"), (nfd("Phường Ba Đình"), None, "00004"), ("phuong ba dinh", "01", "00004"),
    ("P. Ba Đình", "01", "00004"), ("Ba Dinh", "01", "00004"), ("Phường Văn Miếu - Quốc Tử Giám", "01", "00196"),
    ("Phuong Van Mieu Quoc Tu Giam", None, "00196"),
    ("Xã Thuận Hòa", "08", "00922"),  # written 'Thuận Hoà' in the reference list
    ("Xã Văn Lang", "19", "02143"), ("Xã Văn Lăng", "19", "05665"),
    ("Đặc khu Côn Đảo", None, "26732"), ("Côn Đảo", None, "26732"), ("Phường Hà Giang 1", "08", "00694"),
])
def test_commune_names_match(written, province, code):
    m = match_unit(written, "commune", province_code=province)
    assert m.accepted, m.reason
    assert m.unit_code == code


def test_every_official_name_matches_itself_within_its_province():
    units = admin_units()
    for u in units.itertuples():
        province = u.province_code if u.unit_level == "commune" else None
        m = match_unit(u.unit_name, u.unit_level, province_code=province)
        assert (m.status, m.unit_code) == ("exact", u.unit_code), (u.unit_name, m.reason)


def test_ambiguous_name_is_rejected_with_suggestions():
    m = match_unit("Xã Tân Thành", "commune")  # seven communes bear this name
    assert m.status == "ambiguous" and m.unit_code is None and not m.accepted
    assert len(m.candidates) >= 7
    assert {c.province_name for c in m.candidates} >= {"Thái Nguyên", "Lạng Sơn", "Đồng Tháp"}
    assert m.suggestions and "Tân Thành" in m.reason_vi


def test_missing_diacritics_do_not_pick_between_names_that_differ_only_by_them():
    # Thái Nguyên has both Xã Văn Lang and Xã Văn Lăng: "Van Lang" must not choose
    m = match_unit("Van Lang", "commune", province_code="19")
    assert m.status == "ambiguous"
    assert {c.code for c in m.candidates} == {"02143", "05665"}


def test_a_prefix_must_agree_with_the_unit_type():
    m = match_unit("Phường Văn Lăng", "commune", province_code="19")
    assert m.status == "unmatched"
    assert m.suggestions[0].code == "05665"  # Xã Văn Lăng, offered, not chosen


def test_unknown_name_is_rejected_with_the_closest_suggestions():
    m = match_unit("Phường Ba Đìn", "commune", province_code="01")
    assert m.status == "unmatched" and m.unit_code is None
    assert m.suggestions[0].code == "00004"
    assert "Phường Ba Đình" in m.reason_en


def test_commune_code_outside_the_given_province_is_rejected():
    m = match_unit("00004", "commune", province_code="79")
    assert m.status == "unmatched"
    assert match_unit("00004", "commune", province_code="01").status == "code"
    assert match_unit(4, "commune").unit_code == "00004"


# -- legacy scheme ---------------------------------------------------------------------


@pytest.mark.parametrize("written, code", [
    ("Tỉnh Hà Giang", "02"), ("Ha Giang", "02"), ("Tuyên Quang", "08"), ("Bà Rịa-Vũng Tàu", "77"), ("BRVT", "77"),
    ("Bình Dương", "74"), ("TP.HCM", "79"), ("Thừa Thiên Huế", "46"), ("Tỉnh Đăk Nông", "67"), ("Hoà Bình", "17"),
])
def test_legacy_province_names_match(written, code):
    m = match_unit(written, "province", scheme="legacy")
    assert m.accepted, m.reason
    assert m.unit_code == code


def test_same_code_different_territory_in_the_two_schemes():
    # code 08 and the name Tuyên Quang exist in both schemes, for different territory
    assert match_unit("08", "province").unit_name == "Tuyên Quang"
    assert match_unit("08", "province", scheme="legacy").unit_name == "Tỉnh Tuyên Quang"
    # commune 00004: Phường Ba Đình since 2025, Phường Trúc Bạch before
    assert match_unit("00004", "commune").unit_name == "Phường Ba Đình"
    assert match_unit("00004", "commune", scheme="legacy").unit_name == "Phường Trúc Bạch"


def test_legacy_communes_and_districts():
    assert match_unit("Phường Phúc Xá", "commune", province_code="01", scheme="legacy").unit_code == "00001"
    # a ward merged into Trúc Bạch before the reform, found by its former name
    m = match_unit("Phường Nguyễn Trung Trực", "commune", province_code="01", scheme="legacy")
    assert (m.status, m.unit_code, m.method) == ("exact", "00004", "alias")
    # Hậu Giang had both Huyện Long Mỹ and Thị xã Long Mỹ
    assert match_unit("Long Mỹ", "district", province_code="93", scheme="legacy").status == "ambiguous"
    assert match_unit("Thị xã Long Mỹ", "district", province_code="93", scheme="legacy").unit_code == "937"
    # "Phường 1" exists in many districts of Hồ Chí Minh City: the district decides
    assert match_unit("Phường 1", "commune", province_code="79", scheme="legacy").status == "ambiguous"
    assert match_unit("Phường 1", "commune", province_code="79", district_code="770", scheme="legacy").accepted
    # island districts without communes stand for a commune
    assert match_unit("755", "commune", scheme="legacy").unit_name == "Huyện Côn Đảo"


def test_unaccented_prefix_that_may_be_part_of_the_name():
    # "Xa Phien" could be "Xã Phiên" or "Xà Phiên": both readings are tried
    m = match_unit("Xa Phien", "commune", scheme="legacy")
    assert m.unit_name == "Xã Xà Phiên"
