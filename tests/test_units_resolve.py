"""Landing rows of both schemes brought onto 2025 codes (pipelines.units.resolve)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.methodology import load_methodology
from pipelines.units.resolve import to_2025_units

FIXTURES = Path(__file__).parent / "fixtures" / "units"


def levels_and_flags():
    m = load_methodology()
    return {e.code: e.level for e in m.data_elements}, [e.code for e in m.data_elements if e.kind == "yes_no"]


def test_mixed_file_of_both_schemes():
    levels, flags = levels_and_flags()
    legacy = pd.read_csv(FIXTURES / "legacy_provinces_2024.csv", dtype=str, keep_default_na=False)
    current = pd.DataFrame({"period": "2024", "unit_code": ["", "00004", ""], "data_element": "LIVE_BIRTHS",
                            "unit_name": ["Phường Ngọc Hà", "Phường Ba Đình", "Hà Giang"], "value": ["5", "7", "9"],
                            "unit_scheme": ["2025", "", "2025"], "province": ["Hà Nội", "", ""]})
    island = pd.DataFrame({"period": "2024", "unit_code": ["755"], "data_element": "POP_0_15", "value": ["2100"],
                           "unit_scheme": ["legacy"]})
    odd = pd.DataFrame({"period": "2024", "unit_code": ["01"], "data_element": "POP_0_15", "value": ["1"],
                        "unit_scheme": ["1990"]})
    rows = pd.concat([legacy, current, island, odd], ignore_index=True)
    out = to_2025_units(rows, levels, flags)

    assert sorted(out.rejects["check_code"]) == ["units.bad_unit_scheme", "units.unknown_name"]
    assert "legacy" in out.rejects.loc[out.rejects["check_code"] == "units.unknown_name", "reason"].item()
    r = out.rows
    provinces = r[(r["data_element"] == "POP_0_15") & (r["unit_level"] == "province")]
    assert len(provinces) == 34 and provinces["value"].sum() == legacy["value"].astype(int).sum()
    assert r.loc[r["unit_name"] == "Phường Ngọc Hà", "unit_code"].item() == "00008"
    assert r.loc[r["unit_code"] == "00004", "unit_match"].item() == "code"
    assert r.loc[r["unit_code"] == "26732", "value"].item() == 2100  # Côn Đảo, from its old district code
    assert set(r.loc[r["unit_match"] == "crosswalk", "unit_scheme"]) == {"2025"}
