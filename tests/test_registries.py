"""Record-level registries: the declaration, the ingest (checks, pseudonyms), the counts, the gate, a release.

A births extract of 12 records, made by hand, with what each one tests:

    line  child    sex  birth       registration  commune  expected
    2     KS-0001  F    2025-03-01  2025-03-01    C1       on time (0 days)
    3     KS-0002  M    2025-03-01  2025-04-30    C1       on time (60 days)
    4     KS-0003  M    2025-03-01  2025-05-01    C1       late (61 days)
    5     KS-0004  F    2025-06-15                C1       not registered
    6     KS-0002  F    2025-07-01  2025-07-02    C2       the same child again: refused (duplicate_key)
    7     KS-0006  M    2025-08-01  2025-07-01    C2       registered before birth: refused (date_order)
    8     KS-0007  F    2025-08-01  2025-08-05    99999    unknown commune: refused (unknown_unit)
    9     KS-0008  M    2024-12-31  2025-01-05    C2       born in 2024: refused (period_mismatch)
    10    KS-0009  F    1980-01-01  1980-01-02    C2       before min_date: refused (date_out_of_range)
    11    KS-0010  F    2025-09-09  2025-09-10    C2       on time (1 day)
    12             M    2025-01-01                C2       no identifier: refused (missing_value)
    13    KS-0012  X    2025-01-01                C2       sex X: refused (bad_value)

By hand: LIVE_BIRTHS C1 = 4, C2 = 1; BIRTHS_REG_ONTIME C1 = 2, C2 = 1; 7 records refused, one per reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines.methodology import load_methodology
from pipelines.reference.units import admin_units
from pipelines.registries.checks import conflict_check, rejected_checks
from pipelines.registries.load import load_registry, pseudonymise
from pipelines.registries.spec import RegistryError, load_registries, parse_registries
from pipelines.settings import DBT_PROJECT_DIR
from pipelines.warehouse import ensure_schema, replace_table

KEY = b"test-key-0123456789"
UNITS = admin_units()
C1, C2 = sorted(UNITS.loc[(UNITS.unit_level == "commune") & (UNITS.province_code == "01"), "unit_code"])[:2]
ROWS = [
    ("KS-0001", "F", "2025-03-01", "2025-03-01", C1),
    ("KS-0002", "M", "2025-03-01", "2025-04-30", C1),
    ("KS-0003", "M", "2025-03-01", "2025-05-01", C1),
    ("KS-0004", "F", "2025-06-15", "", C1),
    ("KS-0002", "F", "2025-07-01", "2025-07-02", C2),
    ("KS-0006", "M", "2025-08-01", "2025-07-01", C2),
    ("KS-0007", "F", "2025-08-01", "2025-08-05", "99999"),
    ("KS-0008", "M", "2024-12-31", "2025-01-05", C2),
    ("KS-0009", "F", "1980-01-01", "1980-01-02", C2),
    ("KS-0010", "F", "2025-09-09", "2025-09-10", C2),
    ("", "M", "2025-01-01", "", C2),
    ("KS-0012", "X", "2025-01-01", "", C2),
]
EXPECTED_REJECTS = {  # line -> (check code, column)
    6: ("registry.duplicate_key", "child_id"), 7: ("registry.date_order", "registration_date"),
    8: ("registry.unknown_unit", "commune_code"), 9: ("registry.period_mismatch", "birth_date"),
    10: ("registry.date_out_of_range", "birth_date"), 12: ("registry.missing_value", "child_id"),
    13: ("registry.bad_value", "sex"),
}


def write_extract(landing: Path, period: str = "2025", rows=ROWS, as_parquet: bool = False) -> Path:
    folder = landing / period / "justice"
    folder.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(rows, columns=["child_id", "sex", "birth_date", "registration_date", "commune_code"])
    if as_parquet:
        path = folder / f"births_{period}.parquet"
        for c in ("birth_date", "registration_date"):
            df[c] = pd.to_datetime(df[c].replace("", None)).dt.date
        df.to_parquet(path, index=False)
    else:
        path = folder / f"births_{period}.csv"
        df.to_csv(path, index=False, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def registries():
    return load_registries(methodology=load_methodology())


def _load(con, registries, landing: Path, key: bytes = KEY, period: str = "2025"):
    communes = UNITS.loc[UNITS.unit_level == "commune", "unit_code"].tolist()
    return load_registry(con, registries, registries.get("births"), period, landing / period / "justice",
                         communes, key, relative_to=landing)


@pytest.fixture
def loaded(tmp_path, registries):
    landing = tmp_path / "landing"
    write_extract(landing)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_schema(con)
    summary = _load(con, registries, landing)
    yield con, summary, landing
    con.close()


# -- the declaration -------------------------------------------------------------------------------

def test_births_registry_declares_the_elements_of_the_birth_registration_indicator(registries):
    births = registries.get("births")
    assert [c.name for c in births.columns] == ["child_id", "sex", "birth_date", "registration_date", "commune_code"]
    assert births.key == ("child_id",) and births.identifiers == ("child_id",)
    rules = {p.data_element: (p.rule, p.param("days")) for p in births.produces}
    indicator = next(i for i in load_methodology().indicators if i.code == "P5_BIRTH_REG_ONTIME")
    assert rules == {indicator.denominator[0]: ("count", None), indicator.numerator[0]: ("within_days", 60)}
    assert [r.code for r in registries.loaded] == ["births", "health_insurance", "immunisation"]


def test_a_registry_producing_an_unknown_element_is_refused_with_its_name():
    doc = {"registries": [{"code": "x", "sector": "justice", "key": ["id"], "commune": "c",
                           "columns": [{"name": "id"}, {"name": "c"}],
                           "produces": [{"data_element": "NOT_AN_ELEMENT", "rule": "count"}]}]}
    with pytest.raises(RegistryError, match="registry x.*NOT_AN_ELEMENT.*not a data element"):
        parse_registries(doc, methodology=load_methodology())
    doc["registries"][0]["produces"] = [{"data_element": "LIVE_BIRTHS", "rule": "within_days", "days": 60}]
    with pytest.raises(RegistryError, match="within_days needs from, to"):
        parse_registries(doc)


def test_a_code_listed_twice_in_a_rule_is_refused():
    import copy

    import yaml

    from pipelines.settings import REPO_ROOT

    doc = yaml.safe_load((REPO_ROOT / "methodology" / "registries.yaml").read_text(encoding="utf-8"))
    parse_registries(copy.deepcopy(doc))  # as shipped: valid
    [rule] = [p for r in doc["registries"] if r["code"] == "immunisation" for p in r["produces"]]
    rule["codes"] = [*rule["codes"], rule["codes"][0]]  # every code must be met: a repeated one never would be
    with pytest.raises(RegistryError, match=rf"codes \['{rule['codes'][0]}'\] listed more than once"):
        parse_registries(doc)


# -- ingest: checks ---------------------------------------------------------------------------------

def test_each_bad_record_is_kept_with_its_reason_and_the_good_ones_loaded(loaded):
    con, summary, _ = loaded
    assert (summary.rows_total, summary.rows_loaded, summary.rows_rejected) == (12, 5, 7)
    rejects = con.execute("select row_number, check_code, column_name, value, source_file "
                          "from raw.rejected_records order by row_number").fetchall()
    assert {r[0]: (r[1], r[2]) for r in rejects} == EXPECTED_REJECTS
    assert {r[4] for r in rejects} == {"2025/justice/births_2025.csv"}
    values = {r[0]: r[3] for r in rejects}
    assert values[7] == "2025-07-01" and values[8] == "99999" and values[13] == "X"
    assert values[6] is None  # an identifier is never kept as a refused value
    loaded_lines = [r[0] for r in con.execute("select row_number from raw.registry_births order by 1").fetchall()]
    assert loaded_lines == [2, 3, 4, 5, 11]


def test_parquet_extract_gives_the_same_records_and_rejects(tmp_path, registries):
    landing = tmp_path / "landing"
    write_extract(landing, as_parquet=True)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        ensure_schema(con)
        s = _load(con, registries, landing)
        codes = sorted(r[0] for r in con.execute("select check_code from raw.rejected_records").fetchall())
    assert (s.rows_loaded, s.rows_rejected) == (5, 7)
    assert codes == sorted(c for c, _ in EXPECTED_REJECTS.values())


def test_a_file_without_a_declared_column_is_refused_whole(tmp_path, registries):
    landing = tmp_path / "landing"
    folder = landing / "2025" / "justice"
    folder.mkdir(parents=True)
    (folder / "births_a.csv").write_text("child_id,sex,birth_date,commune_code\nKS-1,F,2025-01-01,00004\n")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        ensure_schema(con)
        s = _load(con, registries, landing)
        row = con.execute("select row_number, check_code, column_name from raw.rejected_records").fetchall()
    assert s.rows_loaded == 0 and row == [(None, "registry.missing_column", "registration_date")]


def test_of_a_child_in_two_files_the_record_of_the_first_file_is_kept(tmp_path, registries):
    """births_a.csv holds KS-1 on line 3, births_b.csv on line 2: files come first, then lines."""
    landing = tmp_path / "landing"
    folder = landing / "2025" / "justice"
    folder.mkdir(parents=True)
    header = "child_id,sex,birth_date,registration_date,commune_code\n"
    (folder / "births_a.csv").write_text(header + f"KS-2,M,2025-02-01,,{C1}\nKS-1,F,2025-01-01,,{C1}\n")
    (folder / "births_b.csv").write_text(header + f"KS-1,F,2025-01-01,,{C2}\n")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        ensure_schema(con)
        s = _load(con, registries, landing)
        kept = con.execute("select source_file, row_number, commune_code from raw.registry_births "
                           "where child_key = ?", [pseudonymise(KEY, "KS-1")]).fetchall()
        refused = con.execute("select source_file, row_number, check_code from raw.rejected_records").fetchall()
    assert (s.rows_loaded, s.rows_rejected) == (2, 1)
    assert kept == [("2025/justice/births_a.csv", 3, C1)]
    assert refused == [("2025/justice/births_b.csv", 2, "registry.duplicate_key")]


def test_reloading_a_period_replaces_it(loaded, registries):
    con, _, landing = loaded
    write_extract(landing, rows=ROWS[:2])
    s = _load(con, registries, landing)
    assert (s.rows_loaded, s.rows_rejected) == (2, 0)
    assert con.execute("select count(*) from raw.registry_births").fetchone()[0] == 2
    assert con.execute("select count(*) from raw.rejected_records").fetchone()[0] == 0


# -- pseudonyms --------------------------------------------------------------------------------------

def test_pseudonym_is_keyed_and_stable():
    assert pseudonymise(KEY, "KS-0001") == pseudonymise(KEY, "KS-0001")
    assert pseudonymise(KEY, "KS-0001") != pseudonymise(b"another key", "KS-0001")
    assert pseudonymise(KEY, "KS-0001") != pseudonymise(KEY, "KS-0002")
    assert len(pseudonymise(KEY, "KS-0001")) == 32


def test_records_carry_the_keyed_hash_and_no_raw_identifier_anywhere(loaded):
    con, _, _ = loaded
    keys = {r[0]: r[1] for r in con.execute("select row_number, child_key from raw.registry_births").fetchall()}
    assert keys[2] == pseudonymise(KEY, "KS-0001") and keys[3] == pseudonymise(KEY, "KS-0002")
    # the refused second record of KS-0002 is traceable to the first by its pseudonym, not its identifier
    assert con.execute("select record_key from raw.rejected_records where row_number = 6").fetchone()[0] == keys[3]
    columns = con.execute("select table_schema, table_name, column_name from information_schema.columns "
                          "where data_type = 'VARCHAR'").fetchall()
    for schema, table, column in columns:
        hits = con.execute(f'select count(*) from "{schema}"."{table}" where "{column}" like \'%KS-%\'').fetchone()[0]
        assert hits == 0, f"{schema}.{table}.{column} holds a raw identifier"


# -- the gate ----------------------------------------------------------------------------------------

def test_rejected_records_are_counted_by_reason_without_values(loaded):
    con, _, _ = loaded
    results = {r.code: r for r in rejected_checks(con, "2025")}
    for code, _ in EXPECTED_REJECTS.values():
        assert results[code].failures == 1 and not results[code].passed
    assert results["registry.duplicate_key"].severity == "warning"
    assert results["registry.date_order"].blocks
    sample = json.dumps([r.examples for r in results.values()])
    assert "2025-07-01" not in sample and "KS-" not in sample and "99999" not in sample
    assert results["registry.date_order"].examples[0]["row_number"] == 7


def test_an_aggregate_file_with_a_registry_element_is_a_named_conflict(loaded):
    con, _, _ = loaded
    assert conflict_check(con, "2025").passed
    con.execute("insert into raw.data_values (period, sector, unit_code, data_element, value, source_file, "
                "file_sha256, row_number, loaded_at) values ('2025', 'health', ?, 'LIVE_BIRTHS', 30, "
                "'2025/health/health_2025.csv', 'x', 2, now()), ('2024', 'health', ?, 'LIVE_BIRTHS', 30, "
                "'2024/health/health_2024.csv', 'x', 2, now())", [C1, C1])
    result = conflict_check(con, "2025")
    assert result.blocks and result.failures == 1
    assert "LIVE_BIRTHS" in result.message and "2025/health/health_2025.csv" in result.message
    assert conflict_check(con, "2024").passed  # no extract for 2024: its aggregate is the source


# -- the dbt models -------------------------------------------------------------------------------------

def test_dbt_models_count_the_records_by_rule_in_place_of_aggregates(loaded, tmp_path):
    con, _, _ = loaded
    replace_table(con, "ref.admin_units", UNITS)
    for name, df in load_methodology().tables().items():
        replace_table(con, f"ref.{name}", df)
    # an aggregate LIVE_BIRTHS (conflict) is replaced by the records; another element passes through
    con.execute("insert into raw.data_values (period, sector, unit_code, data_element, value, source_file, "
                "file_sha256, row_number, loaded_at) values ('2025', 'health', ?, 'LIVE_BIRTHS', 999, 'a.csv', "
                "'x', 2, now()), ('2025', 'health', ?, 'DEATHS_U5', 3, 'a.csv', 'x', 3, now())", [C1, C1])
    con.close()
    warehouse = tmp_path / "warehouse.duckdb"
    env_path = {"CRI_WAREHOUSE_PATH": str(warehouse)}
    dbt = Path(sys.executable).parent / "dbt"
    subprocess.run([str(dbt), "run", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                    str(DBT_PROJECT_DIR), "--select", "+int_commune_element_values", "--target-path",
                    str(tmp_path / "target")], check=True, env={**__import__("os").environ, **env_path})
    with duckdb.connect(str(warehouse), read_only=True) as ro:
        got = dict(((u, e), v) for u, e, v in ro.execute(
            "select unit_code, data_element, value from intermediate.int_commune_element_values "
            "where period = '2025' and data_element in ('LIVE_BIRTHS', 'BIRTHS_REG_ONTIME', 'DEATHS_U5') "
            "and unit_code in (?, ?)", [C1, C2]).fetchall())
        others = ro.execute("select count(*), sum(value) from intermediate.int_registry_element_values "
                            "where unit_code not in (?, ?)", [C1, C2]).fetchone()
    assert got == {(C1, "LIVE_BIRTHS"): 4, (C2, "LIVE_BIRTHS"): 1, (C1, "BIRTHS_REG_ONTIME"): 2,
                   (C2, "BIRTHS_REG_ONTIME"): 1, (C1, "DEATHS_U5"): 3}
    n_communes = int(((UNITS.unit_level == "commune") & (UNITS.province_code == "01")).sum())
    assert others == (2 * (n_communes - 2), 0)  # the other communes of the covered province: 0, not missing


# -- a whole run: the small demo with a births extract -------------------------------------------------

RECORD_COLUMNS = {"child_id", "child_key", "record_key", "birth_date", "registration_date", "registration_delay_days",
                  "sex", "card_id", "card_key", "valid_from", "valid_to", "antigen", "dose_date", "subject_key"}


@pytest.fixture(scope="module")
def records_run(tmp_path_factory):
    from pipelines.cli import run_period
    from pipelines.demo import write_demo_data
    from pipelines.demo.records import write_demo_records
    from tests.conftest import write_methodology_variant

    home = tmp_path_factory.mktemp("records") / "home"
    methodology = write_methodology_variant(home.parent / "pcri-small.yaml", min_commune_reporting_share=0.0)
    mp = pytest.MonkeyPatch()
    for k, v in {"CRI_HOME": str(home), "CRI_METHODOLOGY": str(methodology),
                 "CRI_WAREHOUSE_PATH": str(home / "warehouse.duckdb"), "DAGSTER_HOME": str(home / "dagster"),
                 "CRI_PSEUDONYM_KEY": KEY.decode()}.items():
        mp.setenv(k, v)
    write_demo_data(home / "landing", periods=("2025",), small=True)
    before = pd.read_csv(home / "landing" / "2025" / "health" / "health_2025.csv", dtype=str, encoding="utf-8-sig")
    summary = write_demo_records(home / "landing", ("2025",), 0)
    outcome = run_period("2025")
    yield home, outcome, before, summary
    mp.undo()


@pytest.mark.slow
@pytest.mark.xdist_group("records")
def test_a_run_with_a_births_extract_publishes_on_time_registration_from_records(records_run):
    home, outcome, before, summary = records_run
    assert outcome.success and outcome.published, outcome.errors
    # the demo's extract holds as many births per commune as its aggregates said, which it no longer sends
    births = pd.read_parquet(summary.files[0])
    aggregate = before[before.data_element == "LIVE_BIRTHS"].set_index("unit_code").value.astype(float)
    assert births.groupby("commune_code").size().to_dict() == aggregate[aggregate > 0].astype(int).to_dict()
    after = pd.read_csv(home / "landing" / "2025" / "health" / "health_2025.csv", encoding="utf-8-sig")
    assert "LIVE_BIRTHS" not in set(after.data_element)
    # on time, computed here from the records: registered 0 to 60 days after birth
    delay = (pd.to_datetime(births.registration_date) - pd.to_datetime(births.birth_date)).dt.days
    on_time = births[delay.between(0, 60)].groupby("commune_code").size()
    iv = pd.read_parquet(outcome.release_dir / "indicator_values.parquet")
    p5 = iv[(iv.indicator_code == "P5_BIRTH_REG_ONTIME") & (iv.unit_level == "commune") & iv.numerator.notna()]
    commune = on_time.index[0]
    row = p5[p5.unit_code == commune].iloc[0]
    assert (row.numerator, row.denominator) == (on_time[commune], (births.commune_code == commune).sum())


@pytest.mark.slow
@pytest.mark.xdist_group("records")
def test_a_release_carries_no_record_identifier_or_date(records_run):
    home, outcome, _, summary = records_run
    # the first identifier of each extract (births, insurance cards, doses) and its pseudonym
    firsts = [pd.read_parquet(f).iloc[0] for f in summary.files]
    secrets = [v for row in firsts for c in ("child_id", "card_id") if c in row
               for v in (row[c], pseudonymise(KEY, row[c]))]
    assert len(summary.files) == 3 and len(secrets) == 8
    # the release, and what the operator and the agencies read beside it: the quality report and the run's logs
    files = [p for folder in (outcome.release_dir, home / "reports" / "2025") for p in folder.rglob("*") if p.is_file()]
    assert files and any(p.name == "quality_report.json" for p in files)
    for path in files:
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
            assert not RECORD_COLUMNS & set(df.columns), path.name
            text = df.astype(str).to_csv()
        elif path.suffix in (".csv", ".json", ".jsonl", ".md", ".html", ".txt", ".log"):
            text = path.read_text(encoding="utf-8-sig")
        else:
            continue
        assert not [s for s in secrets if s in text], path.name


def test_the_warehouse_pseudonym_is_hmac_sha256():
    from pipelines.registries.load import register_pseudonym

    with duckdb.connect() as con:
        for key in (KEY, b"k" * 80):  # a key longer than a SHA-256 block is hashed first (RFC 2104)
            register_pseudonym(con, key)
            got = con.execute("select cri_pseudonym('KS-0001'), cri_pseudonym('Nguyễn-01')").fetchone()
            assert got == (pseudonymise(key, "KS-0001"), pseudonymise(key, "Nguyễn-01"))
