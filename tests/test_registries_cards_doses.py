"""The health-insurance register and the immunisation information system as record-level registries.

Two hand-made extracts for 2025, two communes C1 and C2 of province 01.

Insurance cards (INSURED_U6 = children with a card valid on 31 December 2025, under 6 then):

    line  card   child  birth       valid from  valid to    commune  expected
    2     BH-01  TE-01  2022-05-01  2022-05-10  2028-04-30  C1       insured (valid to after today: allowed)
    3     BH-02  TE-02  2021-03-01  2021-03-05  2025-12-30  C1       expired on 30 December: not insured
    4     BH-03  TE-03  2020-02-01  2020-02-01  2025-12-31  C1       valid through 31 December: insured
    5     BH-04  TE-04  2019-12-31  2020-01-01              C2       6 on 31 December: not counted
    6     BH-05  TE-05  2023-01-01  2023-01-10              C1       insured, but a later card ...
    7     BH-06  TE-05  2023-01-01  2025-06-01              C2       ... puts TE-05 in C2, counted once
    8     BH-01  TE-01  2022-05-01  2022-05-10  2028-04-30  C1       the same card again: duplicate_key
    9     BH-08  TE-08  2024-01-01  2024-01-05  2024-12-31  C2       expired before 2025: period_mismatch
    10    BH-09  TE-09  2024-06-01  2024-05-01              C2       valid before birth: date_order
    11    BH-10  TE-10  2023-02-02  2023-02-03  2023-01-01  C2       ends before it starts: date_order
    12    BH-11  TE-11  2022-01-01  2022-01-01              99999    unknown_unit
    13    BH-12  TE-12  2022-01-01  2099-01-01              C2       valid from after today: date_out_of_range

By hand: INSURED_U6 C1 = 2 (TE-01, TE-03), C2 = 1 (TE-05); 12 records, 6 loaded, 6 refused.

Doses (IMMUNISED_FULL_U1 = a dose of each of the 8 antigens before the first birthday, in 2025):
TC-1 (born 2024-03-10, C1) all 8: counted in C1; TC-2 (2024-04-01, C1) 7 of 8, no measles: not counted;
TC-3 (2024-05-01, C2) 7 before and measles on the first birthday itself: not counted; TC-4 (2024-06-01)
all 8, the last one in C2: counted in C2. Refused: TC-1's BCG again (duplicate_key), TC-5 born 2023 (first
birthday in 2024: period_mismatch), TC-6 dosed before birth (date_order), antigen MMR (bad_value), commune
99999 (unknown_unit). By hand: IMMUNISED_FULL_U1 C1 = 1, C2 = 1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines.methodology import load_methodology
from pipelines.reference.units import admin_units
from pipelines.registries.checks import conflict_check, rejected_checks
from pipelines.registries.load import load_registry, pseudonymise
from pipelines.registries.spec import RegistryError, load_registries, parse_registries
from pipelines.settings import DBT_PROJECT_DIR
from pipelines.warehouse import ensure_schema, replace_table

KEY = b"test-key-cards-doses"
UNITS = admin_units()
C1, C2 = sorted(UNITS.loc[(UNITS.unit_level == "commune") & (UNITS.province_code == "01"), "unit_code"])[:2]
COMMUNES = UNITS.loc[UNITS.unit_level == "commune", "unit_code"].tolist()

CARDS = [
    ("BH-01", "TE-01", "F", "2022-05-01", "2022-05-10", "2028-04-30", C1),
    ("BH-02", "TE-02", "M", "2021-03-01", "2021-03-05", "2025-12-30", C1),
    ("BH-03", "TE-03", "M", "2020-02-01", "2020-02-01", "2025-12-31", C1),
    ("BH-04", "TE-04", "F", "2019-12-31", "2020-01-01", "", C2),
    ("BH-05", "TE-05", "F", "2023-01-01", "2023-01-10", "", C1),
    ("BH-06", "TE-05", "F", "2023-01-01", "2025-06-01", "", C2),
    ("BH-01", "TE-01", "F", "2022-05-01", "2022-05-10", "2028-04-30", C1),
    ("BH-08", "TE-08", "M", "2024-01-01", "2024-01-05", "2024-12-31", C2),
    ("BH-09", "TE-09", "M", "2024-06-01", "2024-05-01", "", C2),
    ("BH-10", "TE-10", "F", "2023-02-02", "2023-02-03", "2023-01-01", C2),
    ("BH-11", "TE-11", "F", "2022-01-01", "2022-01-01", "", "99999"),
    ("BH-12", "TE-12", "F", "2022-01-01", "2099-01-01", "", C2),
]
CARD_REJECTS = {  # line -> (check code, column)
    8: ("registry.duplicate_key", "card_id"), 9: ("registry.period_mismatch", "valid_from"),
    10: ("registry.date_order", "valid_from"), 11: ("registry.date_order", "valid_to"),
    12: ("registry.unknown_unit", "commune_code"), 13: ("registry.date_out_of_range", "valid_from"),
}
ANTIGENS = ["BCG", "HEPB", "DIPHTHERIA", "PERTUSSIS", "TETANUS", "POLIO", "HIB", "MEASLES"]


def _schedule(child: str, birth: str, commune: str, antigens=ANTIGENS, last_commune: str | None = None):
    """One dose of each antigen, a week apart from the 6th week of life (the last in ``last_commune``)."""
    b = date.fromisoformat(birth)
    rows = [(child, birth, a, (b + timedelta(days=42 + 7 * i)).isoformat(), commune) for i, a in enumerate(antigens)]
    if last_commune:
        rows[-1] = rows[-1][:4] + (last_commune,)
    return rows


DOSES = [
    *_schedule("TC-1", "2024-03-10", C1),                                   # lines 2-9
    *_schedule("TC-2", "2024-04-01", C1, ANTIGENS[:-1]),                    # lines 10-16
    *_schedule("TC-3", "2024-05-01", C2, ANTIGENS[:-1]),                    # lines 17-23
    ("TC-3", "2024-05-01", "MEASLES", "2025-05-01", C2),                    # line 24: on the birthday
    *_schedule("TC-4", "2024-06-01", C1, last_commune=C2),                  # lines 25-32
    ("TC-1", "2024-03-10", "BCG", "2024-04-21", C1),                        # line 33: duplicate_key
    ("TC-5", "2023-06-01", "BCG", "2023-06-02", C1),                        # line 34: period_mismatch
    ("TC-6", "2024-07-01", "BCG", "2024-06-30", C1),                        # line 35: date_order
    ("TC-7", "2024-07-01", "MMR", "2024-08-01", C1),                        # line 36: bad_value
    ("TC-8", "2024-07-01", "BCG", "2024-07-02", "99999"),                   # line 37: unknown_unit
]
DOSE_REJECTS = {33: ("registry.duplicate_key", "child_id"), 34: ("registry.period_mismatch", "birth_date"),
                35: ("registry.date_order", "dose_date"), 36: ("registry.bad_value", "antigen"),
                37: ("registry.unknown_unit", "commune_code")}


def _write(landing: Path, registry, rows, columns) -> None:
    folder = landing / "2025" / registry.sector
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=columns).to_csv(folder / f"{registry.files.rstrip('*')}_2025.csv", index=False)


@pytest.fixture(scope="module")
def registries():
    return load_registries(methodology=load_methodology())


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, registries):
    """Both extracts loaded into one warehouse, then dbt's registry models run once."""
    tmp = tmp_path_factory.mktemp("cards_doses")
    landing = tmp / "landing"
    insurance, immunisation = registries.get("health_insurance"), registries.get("immunisation")
    _write(landing, insurance, CARDS, [c.name for c in insurance.columns])
    _write(landing, immunisation, DOSES, [c.name for c in immunisation.columns])
    warehouse = tmp / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        ensure_schema(con)
        summaries = {r.code: load_registry(con, registries, r, "2025", landing / "2025" / r.sector, COMMUNES, KEY,
                                           relative_to=landing) for r in (insurance, immunisation)}
        replace_table(con, "ref.admin_units", UNITS)
        for name, df in load_methodology().tables().items():
            replace_table(con, f"ref.{name}", df)
    subprocess.run([str(Path(sys.executable).parent / "dbt"), "run", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
                    "--profiles-dir", str(DBT_PROJECT_DIR), "--select", "+int_registry_element_values",
                    "--target-path", str(tmp / "target")], check=True,
                   env={**os.environ, "CRI_WAREHOUSE_PATH": str(warehouse)})
    con = duckdb.connect(str(warehouse))
    yield con, summaries
    con.close()


def _counts(con, element: str) -> dict[str, float]:
    return dict(con.execute("select unit_code, value from intermediate.int_registry_element_values "
                            "where period = '2025' and data_element = ? and unit_code in (?, ?)",
                            [element, C1, C2]).fetchall())


# -- the declarations ---------------------------------------------------------------------------------

def test_cards_and_doses_produce_the_numerators_of_the_insurance_and_immunisation_indicators(registries):
    indicators = {i.code: i for i in load_methodology().indicators}
    insurance, immunisation = registries.get("health_insurance"), registries.get("immunisation")
    assert [r.code for r in registries.loaded] == ["births", "health_insurance", "immunisation"]
    assert insurance.elements == tuple(indicators["H5_INSURANCE_U6"].numerator)
    assert immunisation.elements == tuple(indicators["H2_FULL_IMMUNISATION"].numerator)
    assert insurance.identifiers == ("card_id", "child_id") and insurance.key == ("card_id",)
    assert immunisation.key == ("child_id", "antigen", "dose_date")
    rule = immunisation.produces[0]
    assert (rule.rule, rule.param("age_years"), list(rule.param("codes"))) == ("all_before_age", 1, ANTIGENS)
    assert immunisation.column("antigen").values == tuple(ANTIGENS)  # one schedule, read by both
    assert (insurance.produces[0].rule, insurance.produces[0].param("max_age_years")) == ("valid_on", 6)


def test_a_rule_code_outside_the_allowed_values_and_a_period_span_without_a_date_are_refused():
    columns = [{"name": "id"}, {"name": "c"}, {"name": "a", "values": ["X"]}, {"name": "d", "type": "date"},
               {"name": "b", "type": "date"}]
    doc = {"registries": [{"code": "x", "sector": "health", "key": ["id"], "commune": "c", "columns": columns,
                           "produces": [{"data_element": "E", "rule": "all_before_age", "key": "id", "code": "a",
                                         "date": "d", "birth": "b", "age_years": 1, "codes": ["X", "Y"]}]}]}
    with pytest.raises(RegistryError, match=r"registry x.*codes \['Y'\] are not values of column a"):
        parse_registries(doc)
    doc["registries"][0]["produces"][0]["codes"] = ["X"]
    doc["registries"][0]["period_until"] = "d"
    with pytest.raises(RegistryError, match="period_until and period_years need period_date"):
        parse_registries(doc)


# -- ingest: checks ---------------------------------------------------------------------------------------

def test_each_bad_card_and_dose_is_kept_with_its_reason(loaded):
    con, summaries = loaded
    cards, doses = summaries["health_insurance"], summaries["immunisation"]
    assert (cards.rows_total, cards.rows_loaded, cards.rows_rejected) == (12, 6, 6)
    assert (doses.rows_total, doses.rows_loaded, doses.rows_rejected) == (36, 31, 5)
    got = {(r[0], r[1]): (r[2], r[3]) for r in con.execute(
        "select registry, row_number, check_code, column_name from raw.rejected_records").fetchall()}
    assert got == {**{("health_insurance", k): v for k, v in CARD_REJECTS.items()},
                   **{("immunisation", k): v for k, v in DOSE_REJECTS.items()}}
    results = {r.code: r for r in rejected_checks(con, "2025")}
    assert results["registry.date_order"].failures == 3 and results["registry.date_order"].blocks
    assert results["registry.duplicate_key"].severity == "warning"


def test_both_identifiers_of_a_card_are_pseudonymised(loaded):
    con, _ = loaded
    card_key, child_key = con.execute("select card_key, child_key from raw.registry_health_insurance "
                                      "where row_number = 2").fetchone()
    assert (card_key, child_key) == (pseudonymise(KEY, "BH-01"), pseudonymise(KEY, "TE-01"))
    for table in ("raw.registry_health_insurance", "raw.registry_immunisation", "raw.rejected_records"):
        text = "|".join(map(str, con.execute(f"select * from {table}").fetchall()))
        assert "BH-" not in text and "TE-" not in text and "TC-" not in text, table


def test_a_child_s_doses_carry_one_pseudonym_hashed_once_and_nothing_stays_in_the_session(loaded, registries,
                                                                                            tmp_path):
    con, _ = loaded
    keys = dict(con.execute("select child_key, count(*) from raw.registry_immunisation group by all").fetchall())
    assert keys == {pseudonymise(KEY, "TC-1"): 8, pseudonymise(KEY, "TC-2"): 7, pseudonymise(KEY, "TC-3"): 8,
                    pseudonymise(KEY, "TC-4"): 8}
    immunisation = registries.get("immunisation")
    _write(tmp_path, immunisation, DOSES, [c.name for c in immunisation.columns])
    with duckdb.connect() as session:
        ensure_schema(session)
        load_registry(session, registries, immunisation, "2025", tmp_path / "2025" / "health", COMMUNES, KEY)
        assert session.execute("select count(*) from duckdb_tables() where temporary").fetchone()[0] == 0
        assert session.execute("select count(*) from duckdb_functions() where function_name = 'cri_pseudonym'"
                               ).fetchone()[0] == 0


# -- the counts ----------------------------------------------------------------------------------------------

def test_under_6_insured_are_the_children_with_a_card_valid_on_31_december(loaded):
    con, _ = loaded
    assert _counts(con, "INSURED_U6") == {C1: 2, C2: 1}


def test_fully_immunised_infants_had_all_8_antigens_before_their_first_birthday(loaded):
    con, _ = loaded
    assert _counts(con, "IMMUNISED_FULL_U1") == {C1: 1, C2: 1}
    n_communes = int(((UNITS.unit_level == "commune") & (UNITS.province_code == "01")).sum())
    others = con.execute("select count(*), sum(value) from intermediate.int_registry_element_values "
                         "where unit_code not in (?, ?)", [C1, C2]).fetchone()
    assert others == (2 * (n_communes - 2), 0)  # the rest of the covered province: 0 for each element


def test_an_aggregate_insured_count_for_the_same_period_is_a_named_conflict(loaded):
    con, _ = loaded
    con.execute("insert into raw.data_values (period, sector, unit_code, data_element, value, source_file, "
                "file_sha256, row_number, loaded_at) values ('2025', 'social_security', ?, 'INSURED_U6', 9, "
                "'2025/social_security/bhxh_2025.csv', 'x', 2, now())", [C1])
    try:
        result = conflict_check(con, "2025")
        assert result.blocks and result.failures == 1
        assert "INSURED_U6 (health_insurance / 2025/social_security/bhxh_2025.csv)" in result.message
    finally:
        con.execute("delete from raw.data_values where data_element = 'INSURED_U6'")


# -- the demo's extracts -------------------------------------------------------------------------------------

def test_demo_extracts_follow_the_aggregates_and_pass_every_check(tmp_path, registries):
    from pipelines.demo.records import write_demo_records

    landing = tmp_path / "landing"
    folder = landing / "2025"
    (folder / "health").mkdir(parents=True)
    (folder / "social_security").mkdir()
    pd.DataFrame({"unit_code": [C1, C2, C1, C2, C1, C2, C1], "value": [30, 20, 25, 15, 28, 18, 4],
                  "data_element": ["LIVE_BIRTHS", "LIVE_BIRTHS", "IMMUNISED_FULL_U1", "IMMUNISED_FULL_U1",
                                   "POP_AGE_0", "POP_AGE_0", "DEATHS_U5"]}
                 ).to_csv(folder / "health" / "health_2025.csv", index=False, encoding="utf-8-sig")
    pd.DataFrame({"unit_code": [C1, C2], "value": [120, 80], "data_element": ["INSURED_U6"] * 2}
                 ).to_csv(folder / "social_security" / "bhxh_2025.csv", index=False, encoding="utf-8-sig")
    summary = write_demo_records(landing, ("2025",), 0, registries=registries.loaded[1:])
    cards = pd.read_parquet(folder / "social_security" / "insurance_2025.parquet")
    doses = pd.read_parquet(folder / "health" / "doses_2025.parquet")
    end = pd.Timestamp("2025-12-31")
    valid = cards[(pd.to_datetime(cards.valid_from) <= end) & (pd.to_datetime(cards.valid_to) >= end)
                  & (pd.to_datetime(cards.birth_date) + pd.DateOffset(years=6) > end)]
    assert valid.groupby("commune_code").child_id.nunique().to_dict() == {C1: 120, C2: 80}
    before = doses[pd.to_datetime(doses.dose_date) < pd.to_datetime(doses.birth_date) + pd.DateOffset(years=1)]
    full = before.groupby("child_id").agg(n=("antigen", "nunique"), commune=("commune_code", "first"))
    assert full[full.n == 8].groupby("commune").size().to_dict() == {C1: 25, C2: 15}
    assert len(doses) == round(50 * 20 / 1.4)  # 20 million doses for 1.4 million births
    # the aggregates no longer carry those elements; the others stay
    health = pd.read_csv(folder / "health" / "health_2025.csv", encoding="utf-8-sig")
    assert set(health.data_element) == {"LIVE_BIRTHS", "POP_AGE_0", "DEATHS_U5"}
    assert not (folder / "social_security" / "bhxh_2025.csv").exists()
    assert set(summary.records) == {"health_insurance", "immunisation"}
    with duckdb.connect() as con:
        for r in registries.loaded[1:]:
            s = load_registry(con, registries, r, "2025", folder / r.sector, COMMUNES, KEY)
            assert s.rows_rejected == 0 and s.rows_loaded == summary.records[r.code]["2025"], (r.code, s.by_check)


def test_demo_scales_the_other_registries_with_the_births_asked():
    from pipelines.demo.registry_records import dose_records, insurance_records

    rng = np.random.default_rng(3)
    doses = dose_records(np.array([C1, C2]), np.array([700, 300]), tuple(ANTIGENS), "2025", rng, 0, doses=15_000)
    assert doses.num_rows == 15_000
    cards = insurance_records(np.array([C1]), np.array([600]), "2025", rng, 0).to_pandas()
    assert 600 < len(cards) < 800  # one expired card for about six valid ones


def test_an_outdated_registry_table_is_made_again_when_empty_and_refused_in_a_sentence_when_not():
    """A warehouse made by an earlier declaration (cards with ``card_valid_from``, no ``card_key``)."""
    from pipelines.registries.spec import RegistryError
    from pipelines.registries.tables import ensure_registry_tables

    old = ("create table raw.registry_health_insurance (period varchar not null, source_file varchar not null, "
           "file_sha256 varchar not null, row_number bigint not null, child_key varchar, card_valid_from date, "
           "commune_code varchar, loaded_at timestamp not null)")

    def columns(con) -> list[str]:
        return [r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' "
            "and table_name = 'registry_health_insurance' order by ordinal_position").fetchall()]

    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute(old)
    ensure_registry_tables(con)  # empty: made again with the declared columns, and the view reads it
    assert columns(con)[4:6] == ["card_key", "child_key"] and "valid_from" in columns(con)
    assert con.execute("select count(*) from raw.registry_rule_inputs").fetchone()[0] == 0

    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute(old)
    con.execute("insert into raw.registry_health_insurance values "
                "('2024', 'a.csv', 'x', 1, 'k', date '2024-01-01', '00004', now())")
    with pytest.raises(RegistryError, match=r"raw\.registry_health_insurance holds records .* Nothing was changed"):
        ensure_registry_tables(con)
    assert con.execute("select count(*) from raw.registry_health_insurance").fetchone()[0] == 1  # kept
