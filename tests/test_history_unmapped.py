"""Old communes the crosswalk cannot map (merged before 2025, not in the maintained packages): when the row names
its old province, the value counts in that province only, and the release says which communes and how many values.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines.ingest.parse import parse_folder
from pipelines.methodology import load_methodology
from pipelines.reference.units import admin_units
from pipelines.units.crosswalk import commune_crosswalk

HEADER = "period,unit_code,unit_name,province,data_element,value,unit_scheme"


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    # a known old commune of Hà Nội (mapped whole onto its new commune), two old communes no package knows with
    # their old province written (Hà Nội, by name; Quảng Ninh, by code), a third unknown one of Hà Nội by code,
    # and one unknown without a province
    cw = commune_crosswalk()
    known = cw[(cw["legacy_province_code"] == "01") & ~cw.groupby("unit_code")["split"].transform("any")].iloc[0]
    lines = [HEADER,
             f"2019,{known.legacy_code},,Thành phố Hà Nội,INSURED_U6,100,legacy",
             "2019,,Xã Thử Nghiệm Một,Thành phố Hà Nội,INSURED_U6,40,legacy",
             "2019,99901,,01,INSURED_U6,3,legacy",
             "2019,,Xã Thử Nghiệm Hai,Quảng Ninh,INSURED_U6,7,legacy",
             "2019,,Xã Thử Nghiệm Ba,,INSURED_U6,5,legacy"]
    folder = tmp_path_factory.mktemp("landing") / "2019" / "social_security"
    folder.mkdir(parents=True)
    (folder / "bhxh_2019.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = parse_folder(folder, "2019", "social_security", load_methodology(), admin_units())
    return result, known


def test_unmapped_old_communes_count_in_their_province_only(parsed):
    result, known = parsed
    v = result.values.set_index("unit_code")
    # the known commune: on its new commune, through the crosswalk
    assert v.loc[known.unit_code, "value"] == 100 and v.loc[known.unit_code, "match_method"] == "crosswalk"
    # Hà Nội (01): 40 + 3 = 43 from its two unknown old communes, on the province, no commune figure
    assert v.loc["01", "value"] == 43 and v.loc["01", "match_method"] == "province_only"
    assert v.loc["01", "source_units"].split(";") == ["Xã Thử Nghiệm Một", "99901"]
    # old Quảng Ninh (22) is new Quảng Ninh (22): 7
    assert v.loc["22", "value"] == 7 and v.loc["22", "source_units"] == "Xã Thử Nghiệm Hai"
    assert len(v) == 3
    # without a province the row is still rejected, with the reason
    [reject] = result.rejects.itertuples()
    assert reject.check_code == "units.unknown_legacy_unit" and reject.row_number == 6
    [f] = result.files
    assert (f.rows_total, f.rows_loaded, f.rows_rejected) == (5, 4, 1)


def test_the_release_note_names_the_communes_not_mapped(parsed):
    from pipelines.units.unmapped import unmapped_note

    result, _ = parsed
    con = duckdb.connect()
    con.execute("create schema raw")
    df = result.values.assign(loaded_at=pd.Timestamp("2026-01-01"))  # noqa: F841 - read by duckdb below
    con.execute("create table raw.data_values as select * from df")
    note = unmapped_note(con, "2019")
    # three old communes, two values (one a province), Hà Nội and Quảng Ninh
    assert note["communes"] == ["99901", "Xã Thử Nghiệm Hai", "Xã Thử Nghiệm Một"]
    assert (note["rows"], note["provinces"]) == (2, ["01", "22"])
    assert "3 old communes are not in the crosswalk" in note["note_en"] and "2 values" in note["note_en"]
    assert "3 xã cũ" in note["note_vi"]
    assert unmapped_note(con, "2020") is None
    con.close()


def test_a_period_without_unmapped_communes_has_no_note(tmp_path: Path):
    from pipelines.units.unmapped import unmapped_note

    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute("create table raw.data_values (period varchar, unit_code varchar, data_element varchar, "
                "disaggregation varchar, value double, sector varchar, match_method varchar, source_units varchar)")
    con.execute("insert into raw.data_values values ('2019', '00004', 'INSURED_U6', '', 1, 'social_security', "
                "'crosswalk', '00004')")
    assert unmapped_note(con, "2019") is None
    con.close()
