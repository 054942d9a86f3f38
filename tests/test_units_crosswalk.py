"""Units before 1 July 2025 rebased onto the 34 provinces and 3,321 communes (pipelines.units.crosswalk)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.units.crosswalk import (
    apportion,
    commune_crosswalk,
    legacy_units,
    load_crosswalk,
    province_crosswalk,
    rebase_values,
)

FIXTURES = Path(__file__).parent / "fixtures" / "units"
UNMERGED = {"Thành phố Hà Nội": "01", "Thành phố Huế": "46", "Tỉnh Lai Châu": "12", "Tỉnh Điện Biên": "11",
            "Tỉnh Sơn La": "14", "Tỉnh Cao Bằng": "04", "Tỉnh Lạng Sơn": "20", "Tỉnh Quảng Ninh": "22",
            "Tỉnh Thanh Hóa": "38", "Tỉnh Nghệ An": "40", "Tỉnh Hà Tĩnh": "42"}


def legacy_province_file() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "legacy_provinces_2024.csv", dtype=str, keep_default_na=False)


# -- the units and the crosswalk ------------------------------------------------------


def test_legacy_units_counts():
    lu = legacy_units()
    counts = lu["unit_level"].value_counts().to_dict()
    assert counts == {"province": 63, "district": 696, "commune": 10035}
    islands = lu[(lu["unit_level"] == "district") & ~lu["has_communes"]]
    assert set(islands["unit_name"]) == {"Huyện Bạch Long Vĩ", "Huyện Cồn Cỏ", "Huyện Hoàng Sa", "Huyện Lý Sơn",
                                         "Huyện Côn Đảo"}
    assert lu["unit_code"].is_unique or lu.groupby("unit_level")["unit_code"].apply(lambda s: s.is_unique).all()
    assert lu.loc[lu["unit_level"] == "commune", "unit_code"].str.fullmatch(r"\d{5}").all()


def test_crosswalk_figures():
    s = load_crosswalk().summary
    assert (s["legacy_provinces"], s["legacy_districts"], s["legacy_communes"]) == (63, 696, 10035)
    assert (s["new_provinces"], s["new_communes"]) == (34, 3321)
    assert (s["merged_provinces"], s["unmerged_provinces"]) == (52, 11)
    assert s["split_communes"] == 471
    assert sum(s["split_successor_counts"].values()) == 471
    assert s["area_fallbacks"] == ["28437"]  # Phường 3 (Cai Lậy): a successor has no area in the package
    assert load_crosswalk() is load_crosswalk()  # built once per process


def test_the_eleven_unmerged_provinces_and_two_mergers():
    pc = province_crosswalk()
    unmerged = pc[~pc["merged"]]
    assert dict(zip(unmerged["legacy_name"], unmerged["unit_code"])) == UNMERGED
    into = pc.groupby("unit_code")["legacy_name"].apply(set).to_dict()
    assert into["08"] == {"Tỉnh Hà Giang", "Tỉnh Tuyên Quang"}
    assert into["79"] == {"Tỉnh Bà Rịa - Vũng Tàu", "Tỉnh Bình Dương", "Thành phố Hồ Chí Minh"}
    assert len(into) == 34


def test_commune_crosswalk_shares_add_up_and_stay_in_their_province():
    cw = commune_crosswalk()
    for col in ("share_area", "share_equal"):
        assert np.allclose(cw.groupby("legacy_code")[col].sum(), 1.0)
    split = cw[cw["split"]]
    assert split["legacy_code"].nunique() == 471
    assert (split.groupby("legacy_code")["unit_code"].nunique() >= 2).all()
    # Phường Điện Biên (Ba Đình) went to four wards
    dien_bien = cw[cw["legacy_code"] == "00019"]
    assert set(dien_bien["unit_name"]) == {"Phường Ba Đình", "Phường Hoàn Kiếm", "Phường Ô Chợ Dừa",
                                           "Phường Văn Miếu - Quốc Tử Giám"}
    fallback = cw[cw["legacy_code"] == "28437"]
    assert set(fallback["area_basis"]) == {"equal (area missing)"} and np.allclose(fallback["share_area"], 0.5)


def test_nothing_of_vietnamadminunits_is_imported():
    """The package's address functions can call a geocoder: its code must not even be loaded."""
    code = (
        "import sys\n"
        "from pipelines.units.crosswalk import load_crosswalk, rebase_values\n"
        "from pipelines.units.names import match_unit\n"
        "load_crosswalk(); match_unit('Hà Giang', 'province', scheme='legacy')\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('vietnamadminunits', 'geopy', 'shapely')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)


# -- apportioning ----------------------------------------------------------------------


def test_largest_remainder_keeps_whole_numbers_and_the_total():
    assert apportion(7, [0.5, 0.25, 0.25], ["a", "b", "c"]) == [3.0, 2.0, 2.0]
    assert apportion(1, [0.6, 0.4]) == [1.0, 0.0]
    assert apportion(0, [0.3, 0.7]) == [0.0, 0.0]
    rng = np.random.default_rng(7)
    for _ in range(500):
        n = int(rng.integers(2, 6))
        shares = list(rng.random(n))
        v = int(rng.integers(0, 100000))
        parts = apportion(v, shares)
        assert sum(parts) == v and all(p == int(p) and p >= 0 for p in parts)
    parts = apportion(10.5, [1, 2])
    assert sum(parts) == 10.5


# -- a 2024 file keyed by the 63 old provinces ------------------------------------------


def test_province_file_sums_into_the_34_new_provinces():
    df = legacy_province_file()
    rebased, decisions = rebase_values(df, "province")
    assert len(rebased) == 34 and rebased["complete"].all() and not rebased["apportioned"].any()
    value = dict(zip(rebased["unit_code"], rebased["value"]))
    old = dict(zip(df["unit_code"], df["value"].astype(int)))
    assert rebased["value"].sum() == sum(old.values())
    # Hà Giang and Tuyên Quang into Tuyên Quang
    assert value["08"] == old["02"] + old["08"]
    # Bà Rịa - Vũng Tàu, Bình Dương and Hồ Chí Minh City into Hồ Chí Minh City
    assert value["79"] == old["77"] + old["74"] + old["79"]
    # the 11 unmerged provinces unchanged
    for code in UNMERGED.values():
        assert value[code] == old[code]
    # every new province equals the sum of its old ones
    pc = province_crosswalk()
    expected = pc.assign(v=pc["legacy_code"].map(old)).groupby("unit_code")["v"].sum()
    assert value == expected.astype(float).to_dict()
    assert set(decisions["status"]) == {"mapped"}
    assert rebased.loc[rebased["unit_code"] == "79", "source_units"].item() == "74;77;79"


def test_province_file_keyed_by_names_as_agencies_write_them():
    by_code, _ = rebase_values(legacy_province_file(), "province")
    by_name_df = pd.read_csv(FIXTURES / "legacy_provinces_2024_by_name.csv", dtype=str, keep_default_na=False)
    assert (by_name_df["unit_code"] == "").all()
    by_name, decisions = rebase_values(by_name_df, "province")
    assert (decisions["status"] != "rejected").all(), decisions[decisions["status"] == "rejected"]["reason"].tolist()
    pd.testing.assert_frame_equal(by_code[["unit_code", "value"]], by_name[["unit_code", "value"]])


def test_a_missing_old_province_leaves_the_new_one_incomplete():
    df = legacy_province_file()
    df = df[df["unit_name"] != "Tỉnh Bình Dương"]
    rebased, _ = rebase_values(df, "province")
    hcm = rebased.set_index("unit_code").loc["79"]
    assert (hcm["sources_reported"], hcm["sources_expected"], hcm["complete"]) == (2, 3, False)
    assert rebased.loc[rebased["unit_code"] != "79", "complete"].all()


def test_unknown_and_duplicate_old_units_are_rejected_not_summed():
    df = legacy_province_file()
    df = pd.concat([df, df[df["unit_code"] == "02"], pd.DataFrame([{**df.iloc[0].to_dict(), "unit_code": "99"}])])
    rebased, decisions = rebase_values(df, "province")
    rejected = decisions[decisions["status"] == "rejected"]
    assert sorted(rejected["check_code"]) == ["units.duplicate_unit", "units.duplicate_unit", "units.unknown_legacy_unit"]
    old = legacy_province_file()
    assert rebased["value"].sum() == old.loc[old["unit_code"] != "02", "value"].astype(int).sum()


def test_district_rows_go_to_provinces():
    df = pd.DataFrame({"period": "2024", "data_element": "POP_0_15", "unit_code": ["001", "002", "024"],
                       "value": [10, 20, 5]})  # Ba Đình, Hoàn Kiếm (Hà Nội); Thành phố Hà Giang
    rebased, _ = rebase_values(df, "district")
    assert dict(zip(rebased["unit_code"], rebased["value"])) == {"01": 30.0, "08": 5.0}
    assert not rebased["complete"].any()
    with pytest.raises(ValueError):
        rebase_values(df, "district", target_level="commune")


# -- commune files keyed by old commune codes --------------------------------------------


def all_legacy_communes(seed: int = 1) -> pd.DataFrame:
    lu = legacy_units()
    units = lu[(lu["unit_level"] == "commune") | ((lu["unit_level"] == "district") & ~lu["has_communes"])]
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"period": "2024", "data_element": "POP_0_15", "unit_code": units["unit_code"].values,
                         "value": rng.integers(0, 6000, len(units)), "province_code": units["province_code"].values})


@pytest.mark.parametrize("rule", ["area", "equal"])
def test_commune_file_rebases_with_national_and_provincial_totals_unchanged(rule):
    df = all_legacy_communes()
    rebased, decisions = rebase_values(df, "commune", rule=rule)
    assert len(rebased) == 3321 and rebased["complete"].all()
    assert rebased["value"].sum() == df["value"].sum()  # exactly: whole numbers stay whole
    assert (rebased["value"] == rebased["value"].round()).all()
    # each new province gets exactly what its old provinces' communes had
    pc = province_crosswalk()
    old_by_new = df.assign(new=df["province_code"].map(dict(zip(pc["legacy_code"], pc["unit_code"])))).groupby("new")["value"].sum()
    assert rebased.groupby("province_code")["value"].sum().astype(int).to_dict() == old_by_new.to_dict()
    # split communes are marked, parts add up per old commune
    apportioned = decisions[decisions["status"] == "apportioned"]
    assert apportioned["source_code"].nunique() == 471
    per_old = apportioned.groupby("source_code").agg(value_in=("value_in", "first"), parts=("value_out", "sum"))
    assert (per_old["value_in"] == per_old["parts"]).all()
    marked = rebased[rebased["apportioned"]]
    assert set(marked["unit_code"]) == set(apportioned["target_code"])
    assert marked["source_units"].str.contains("×").all()


def test_commune_rows_can_go_straight_to_provinces():
    df = all_legacy_communes(seed=3)
    to_provinces, decisions = rebase_values(df, "commune", target_level="province")
    to_communes, _ = rebase_values(df, "commune")
    assert len(to_provinces) == 34 and not to_provinces["apportioned"].any()
    assert to_provinces.set_index("unit_code")["value"].to_dict() == to_communes.groupby("province_code")["value"].sum().to_dict()


def test_split_commune_example_phuong_dien_bien():
    df = pd.DataFrame({"period": "2024", "data_element": "POP_0_15", "unit_code": ["00019"], "value": [1733],
                       "row_number": [9]})
    rebased, decisions = rebase_values(df, "commune")
    assert rebased["value"].sum() == 1733 and rebased["apportioned"].all()
    assert set(rebased["unit_name"]) == {"Phường Ba Đình", "Phường Hoàn Kiếm", "Phường Ô Chợ Dừa",
                                         "Phường Văn Miếu - Quốc Tử Giám"}
    assert (rebased["row_number"] == 9).all()
    equal, _ = rebase_values(df, "commune", rule="equal")
    assert sorted(equal["value"]) == [433.0, 433.0, 433.0, 434.0]


def test_yes_no_flags_are_not_summed_or_divided():
    # Phường Vĩnh Phúc and Phường Cống Vị (part) both went into Phường Ngọc Hà
    df = pd.DataFrame({"period": "2024", "data_element": "CP_WORKER", "unit_code": ["00006", "00007", "00008"],
                       "value": [1, 1, 0]})
    rebased, _ = rebase_values(df, "commune", flag_elements=["CP_WORKER"])
    assert set(rebased["value"]) <= {0.0, 1.0}
    v = dict(zip(rebased["unit_name"], rebased["value"]))
    assert v["Phường Ngọc Hà"] == 1.0 and v["Phường Giảng Võ"] == 1.0  # Cống Vị's flag goes to both successors


def test_island_district_without_communes_in_a_commune_file():
    df = pd.DataFrame({"period": "2024", "data_element": "POP_0_15", "unit_code": ["755", "318"], "value": [2100, 40]})
    rebased, _ = rebase_values(df, "commune")
    assert dict(zip(rebased["unit_name"], rebased["value"])) == {"Đặc khu Côn Đảo": 2100.0, "Đặc khu Bạch Long Vĩ": 40.0}


def test_commune_names_resolved_in_the_legacy_scheme_with_their_province_and_district():
    df = pd.DataFrame({"period": "2024", "data_element": "POP_0_15", "unit_code": "",
                       "unit_name": ["Phường Phúc Xá", "Phường 1", "Phường 1"],
                       "province": ["Hà Nội", "TP.HCM", "TP.HCM"], "district": ["Ba Đình", "Quận 3", ""],
                       "value": [100, 50, 7]})
    rebased, decisions = rebase_values(df, "commune")
    assert rebased["value"].sum() == 150
    rejected = decisions[decisions["status"] == "rejected"]
    assert list(rejected["check_code"]) == ["units.ambiguous_unit"]
    assert "Phường 1" in rejected["reason"].item()
