"""The demo's registry extracts of N births: only the registries asked for, and the elements counted per
birth following the births commune by commune.

Hand-made aggregates of two communes, C1 and C2:

    element             C1    C2   file
    LIVE_BIRTHS        100    50   health
    DEATHS_U5           10     3   health
    IMMUNISED_FULL_U1   90    45   health
    BIRTHS_REG_ONTIME   90    40   justice

An extract of 210 births (births only): 140 in C1 and 70 in C2 (in proportion, 1.4 times the aggregates),
so the under-5 deaths become 10 x 1.4 = 14 and 3 x 1.4 = 4.2 -> 4; the births' own elements leave the
aggregate files (the justice file, holding nothing else, goes); the immunised infants stay as they were.
"""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.demo.records import write_demo_records
from pipelines.reference.units import admin_units

UNITS = admin_units()
C1, C2 = sorted(UNITS.loc[(UNITS.unit_level == "commune") & (UNITS.province_code == "01"), "unit_code"])[:2]
AGGREGATES = {
    "health": [("LIVE_BIRTHS", 100, 50), ("DEATHS_U5", 10, 3), ("IMMUNISED_FULL_U1", 90, 45)],
    "justice": [("BIRTHS_REG_ONTIME", 90, 40)],
}


@pytest.fixture
def landing(tmp_path, monkeypatch):
    monkeypatch.setenv("CRI_PSEUDONYM_KEY", "test-key")
    monkeypatch.delenv("CRI_METHODOLOGY", raising=False)
    landing = tmp_path / "landing"
    for sector, elements in AGGREGATES.items():
        rows = [("2025", unit, "", element, value)
                for element, *values in elements for unit, value in zip((C1, C2), values)]
        (landing / "2025" / sector).mkdir(parents=True)
        pd.DataFrame(rows, columns=["period", "unit_code", "unit_name", "data_element", "value"]).to_csv(
            landing / "2025" / sector / f"{sector}_2025.csv", index=False, encoding="utf-8-sig")
    return landing


def _health(landing) -> dict:
    df = pd.read_csv(landing / "2025" / "health" / "health_2025.csv", dtype={"unit_code": str}, encoding="utf-8-sig")
    return {(r.data_element, r.unit_code): r.value for r in df.itertuples()}


def test_n_births_of_one_registry_carry_the_deaths_per_birth_along(landing):
    summary = write_demo_records(landing, ("2025",), 210, only=("births",))
    assert set(summary.records) == {"births"}
    births = pd.read_parquet(summary.files[0])
    assert births.commune_code.value_counts().to_dict() == {C1: 140, C2: 70}
    assert _health(landing) == {("DEATHS_U5", C1): 14, ("DEATHS_U5", C2): 4,
                                ("IMMUNISED_FULL_U1", C1): 90, ("IMMUNISED_FULL_U1", C2): 45}
    assert not (landing / "2025" / "justice" / "justice_2025.csv").exists()
    assert not list(landing.glob("2025/*/doses*")) and not list(landing.glob("2025/*/insurance*"))


def test_the_demo_s_own_births_leave_the_deaths_as_they_were(landing):
    write_demo_records(landing, ("2025",), 0, only=("births",))
    assert _health(landing)[("DEATHS_U5", C1)] == 10 and _health(landing)[("DEATHS_U5", C2)] == 3


def test_an_unknown_registry_is_refused_by_name(landing):
    with pytest.raises(ValueError, match="no registry nope"):
        write_demo_records(landing, ("2025",), 0, only=("nope",))
    assert _health(landing)[("DEATHS_U5", C1)] == 10  # nothing written


def test_cri_demo_data_names_an_unknown_registry_in_a_sentence(tmp_path, monkeypatch, capsys):
    from pipelines.cli import main
    from pipelines.settings import DEFAULT_METHODOLOGY

    home = tmp_path / "home"  # the command exports these four: set here so that they are put back after
    for name, value in {"CRI_HOME": home, "CRI_WAREHOUSE_PATH": home / "warehouse.duckdb",
                        "DAGSTER_HOME": home / "dagster", "CRI_METHODOLOGY": DEFAULT_METHODOLOGY}.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.setenv("CRI_PSEUDONYM_KEY", "test-key")
    code = main(["demo-data", "--small", "--period", "2025", "--records", "0", "--registry", "births", "nope"])
    err = capsys.readouterr().err
    assert code == 2 and "no registry nope" in err and "--registry" in err and "Traceback" not in err
    assert not list((tmp_path / "home" / "landing").glob("*/*/*"))  # named before anything is written
    # --registry alone would be ignored: it says what it needs
    code = main(["demo-data", "--small", "--period", "2025", "--registry", "births"])
    err = capsys.readouterr().err
    assert code == 2 and "add --records" in err and not list((tmp_path / "home" / "landing").glob("*/*/*"))


def test_rows_by_group_count_once_and_still_add_up_to_the_scaled_total(tmp_path, monkeypatch):
    # the health file also holds rows by sex: births C1 100 (F 48, M 52), C2 50 (F 25, M 25); deaths C1 10 (F 6,
    # M 4), C2 3 (F 1, M 2). The births are counted from the totals only: 210 births give 140 and 70 again, and
    # the deaths 14 and 4, shared by sex in their proportions, largest remainders first: C1 8.4, 5.6 -> 8, 6;
    # C2 1.33, 2.67 -> 1, 3
    monkeypatch.setenv("CRI_PSEUDONYM_KEY", "test-key")
    monkeypatch.delenv("CRI_METHODOLOGY", raising=False)
    landing = tmp_path / "landing"
    (landing / "2025" / "health").mkdir(parents=True)
    rows = [("LIVE_BIRTHS", C1, "", 100), ("LIVE_BIRTHS", C1, "sex=F", 48), ("LIVE_BIRTHS", C1, "sex=M", 52),
            ("LIVE_BIRTHS", C2, "", 50), ("LIVE_BIRTHS", C2, "sex=F", 25), ("LIVE_BIRTHS", C2, "sex=M", 25),
            ("DEATHS_U5", C1, "", 10), ("DEATHS_U5", C1, "sex=F", 6), ("DEATHS_U5", C1, "sex=M", 4),
            ("DEATHS_U5", C2, "", 3), ("DEATHS_U5", C2, "sex=F", 1), ("DEATHS_U5", C2, "sex=M", 2)]
    pd.DataFrame([("2025", u, "", e, v, d) for e, u, d, v in rows],
                 columns=["period", "unit_code", "unit_name", "data_element", "value", "disaggregation"]).to_csv(
        landing / "2025" / "health" / "health_2025.csv", index=False, encoding="utf-8-sig")
    summary = write_demo_records(landing, ("2025",), 210, only=("births",))
    assert pd.read_parquet(summary.files[0]).commune_code.value_counts().to_dict() == {C1: 140, C2: 70}
    df = pd.read_csv(landing / "2025" / "health" / "health_2025.csv", dtype={"unit_code": str},
                     keep_default_na=False, encoding="utf-8-sig")
    deaths = {(r.unit_code, r.disaggregation): r.value for r in df.itertuples() if r.data_element == "DEATHS_U5"}
    assert deaths == {(C1, ""): 14, (C1, "sex=F"): 8, (C1, "sex=M"): 6, (C2, ""): 4, (C2, "sex=F"): 1, (C2, "sex=M"): 3}
