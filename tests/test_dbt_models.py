"""The dbt project on a temporary warehouse: unit tests, an end-to-end build checked against
numbers worked out by hand, and a data test that must fail.

Each test builds its own DuckDB file under tmp_path (reference units and the methodology
loaded by the pipeline's own loaders) and runs dbt in a subprocess with its own target and
log paths, so tests do not collide and can run in parallel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines.methodology import load_methodology
from pipelines.reference import load_admin_units, load_methodology_tables
from pipelines.settings import DBT_PROJECT_DIR, DEFAULT_METHODOLOGY
from pipelines.warehouse import ensure_schema

DBT = Path(sys.executable).parent / "dbt"


# -- helpers -----------------------------------------------------------------------------


def make_warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    try:
        ensure_schema(con)
        load_admin_units(con)
        load_methodology_tables(con, load_methodology(DEFAULT_METHODOLOGY))
    finally:
        con.close()
    return path


def run_dbt(tmp_path: Path, warehouse: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    """Run dbt on the warehouse; returns the process and run_results.json (by unique_id)."""
    target = tmp_path / "dbt_target"
    env = {
        **os.environ,
        "CRI_WAREHOUSE_PATH": str(warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    cmd = [
        str(DBT), *args,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target),
        "--log-path", str(tmp_path / "dbt_logs"),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    results_file = target / "run_results.json"
    results = {}
    if results_file.exists():
        results = {r["unique_id"]: r for r in json.loads(results_file.read_text())["results"]}
    return proc, results


def query(warehouse: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchdf()
    finally:
        con.close()


def insert_values(warehouse: Path, rows: list[tuple[str, str, str, float]]) -> None:
    """rows: (period, unit_code, data_element, value), loaded as totals."""
    df = pd.DataFrame(rows, columns=["period", "unit_code", "data_element", "value"])
    df["sector"] = "test"
    df["disaggregation"] = ""
    df["source_file"] = "test.csv"
    df["file_sha256"] = "0" * 64
    df["row_number"] = range(2, len(df) + 2)
    df["loaded_at"] = pd.Timestamp("2025-11-15")
    con = duckdb.connect(str(warehouse))
    try:
        con.register("new_rows", df)
        con.execute("insert into raw.data_values by name select * from new_rows")
    finally:
        con.close()


def first_communes(warehouse: Path, province_code: str, n: int = 2) -> list[str]:
    return query(
        warehouse,
        "select unit_code from ref.admin_units where unit_level = 'commune' and province_code = ? "
        "order by unit_code limit ?",
        [province_code, n],
    )["unit_code"].tolist()


# -- hand-made data ---------------------------------------------------------------------------
# Three provinces, two communes each, one or two indicators per domain (goalposts from the
# methodology file):
#   D1 R1 budget per child = CHILD_BUDGET_VND / POP_0_15, goalposts 0-150,000 (province only)
#      R2 CP_WORKER / COMMUNES x 100, 0-100
#   D2 H1 DEATHS_U5 / LIVE_BIRTHS x 1000, lower, 5-60
#   D3 P5 BIRTHS_REG_ONTIME / LIVE_BIRTHS x 100, 70-100
#   D4 T2 CHILDREN_FORUM / COMMUNES x 100, 0-100
#   D5 V3 PLAY_AREA / COMMUNES x 100, 0-100
# Profile values per commune (c1, c2) and the province budget; the scores worked out by hand:
PROFILES = {
    # R1 960e6 / 8000 = 120,000 -> 80; R2 2/2 -> 100; D1 = 90
    # H1 (6 + 10) x 1000 / (400 + 600) = 16 -> 100 (60 - 16) / 55 = 80
    # P5 (390 + 580) / 1000 = 97% -> 100 (97 - 70) / 30 = 90
    # T2 1/2 = 50% -> 50; V3 2/2 -> 100
    # PCRI = (90 + 80 + 90 + 50 + 100) / 5 = 82
    "strong": {
        "budget": 960_000_000,
        "c1": {"POP_0_15": 3000, "CP_WORKER": 1, "LIVE_BIRTHS": 400, "DEATHS_U5": 6,
               "BIRTHS_REG_ONTIME": 390, "CHILDREN_FORUM": 1, "PLAY_AREA": 1},
        "c2": {"POP_0_15": 5000, "CP_WORKER": 1, "LIVE_BIRTHS": 600, "DEATHS_U5": 10,
               "BIRTHS_REG_ONTIME": 580, "CHILDREN_FORUM": 0, "PLAY_AREA": 1},
    },
    # R1 240e6 / 4000 = 60,000 -> 40; R2 1/2 -> 50; D1 = 45
    # H1 27 x 1000 / 1000 = 27 -> 60; P5 91% -> 70; T2 100% -> 100; V3 50% -> 50
    # PCRI = (45 + 60 + 70 + 100 + 50) / 5 = 65
    "middle": {
        "budget": 240_000_000,
        "c1": {"POP_0_15": 2000, "CP_WORKER": 1, "LIVE_BIRTHS": 500, "DEATHS_U5": 10,
               "BIRTHS_REG_ONTIME": 450, "CHILDREN_FORUM": 1, "PLAY_AREA": 0},
        "c2": {"POP_0_15": 2000, "CP_WORKER": 0, "LIVE_BIRTHS": 500, "DEATHS_U5": 17,
               "BIRTHS_REG_ONTIME": 460, "CHILDREN_FORUM": 1, "PLAY_AREA": 1},
    },
    # R1 600e6 / 4000 = 150,000 -> 100; R2 100; D1 = 100
    # H1 38 -> 40; P5 85% -> 50; T2 0% -> 0; V3 50% -> 50
    # PCRI = (100 + 40 + 50 + 0 + 50) / 5 = 48
    "weak": {
        "budget": 600_000_000,
        "c1": {"POP_0_15": 1500, "CP_WORKER": 1, "LIVE_BIRTHS": 300, "DEATHS_U5": 20,
               "BIRTHS_REG_ONTIME": 255, "CHILDREN_FORUM": 0, "PLAY_AREA": 1},
        "c2": {"POP_0_15": 2500, "CP_WORKER": 1, "LIVE_BIRTHS": 700, "DEATHS_U5": 18,
               "BIRTHS_REG_ONTIME": 595, "CHILDREN_FORUM": 0, "PLAY_AREA": 0},
    },
}
# Province A = Hà Nội (01), B = Lai Châu (12), C = Huế (46). In 2025 A is strong, B middle,
# C weak: ranks 1, 2, 3. In 2024 A and C swap profiles: ranks 3, 2, 1. Rank change in 2025:
# A +2, B 0, C -2. Three ranked: 1/3 -> tier 2, 2/3 -> tier 3, 3/3 -> tier 4.
ASSIGNMENT = {
    "2025": {"01": "strong", "12": "middle", "46": "weak"},
    "2024": {"01": "weak", "12": "middle", "46": "strong"},
}


def hand_made_rows(warehouse: Path) -> tuple[list[tuple], dict[str, list[str]]]:
    communes = {p: first_communes(warehouse, p) for p in ("01", "12", "46")}
    rows = []
    for period, provinces in ASSIGNMENT.items():
        for province, profile_name in provinces.items():
            profile = PROFILES[profile_name]
            rows.append((period, province, "CHILD_BUDGET_VND", profile["budget"]))
            for code, key in zip(communes[province], ("c1", "c2")):
                rows += [(period, code, element, value) for element, value in profile[key].items()]
    return rows, communes


# -- tests ------------------------------------------------------------------------------------


def test_unit_tests_pass(tmp_path):
    """Every formula's unit test passes.

    Unit tests read the columns of their inputs from the warehouse, so the models are built
    empty first: `dbt build --empty` builds each model with zero rows and runs its unit tests
    before it, in DAG order (the same as `dbt run --empty` then `dbt test --select
    test_type:unit`, in one invocation).
    """
    warehouse = make_warehouse(tmp_path)
    proc, results = run_dbt(tmp_path, warehouse, "build", "--empty", "--exclude", "test_type:data")
    assert proc.returncode == 0, proc.stdout[-6000:]
    unit = {k: r["status"] for k, r in results.items() if k.startswith("unit_test.")}
    assert len(unit) >= 14, unit
    assert set(unit.values()) == {"pass"}, unit


MIN_INDICATOR_SHARE = 0.3  # 6 of 20 indicators have data in the hand-made rows


def built_hand_made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict]:
    """(warehouse, communes by province, build result) of ``dbt build`` (models and data tests) over the hand-made
    rows, once per session (shared with ``tests/test_pcri_agreement.py``). Never modify the warehouse."""
    from tests.fixtures.quality.support import session_cached

    def build(folder: Path) -> dict:
        warehouse = make_warehouse(folder)
        # Only 6 of 20 indicators have data here: lower the share (read from ref.methodology, not SQL).
        with duckdb.connect(str(warehouse)) as con:
            con.execute("update ref.methodology set min_indicator_share = ?", [MIN_INDICATOR_SHARE])
        rows, communes = hand_made_rows(warehouse)
        insert_values(warehouse, rows)
        # Two communes of each province report: accept that coverage for this test.
        # (unit tests have their own test above)
        proc, results = run_dbt(
            folder, warehouse, "build", "--exclude", "test_type:unit",
            "--vars", '{"min_commune_reporting_share": 0.0}',
        )
        return {"communes": communes, "returncode": proc.returncode, "stdout": proc.stdout[-6000:],
                "statuses": {k: r["status"] for k, r in results.items()}}

    folder, result = session_cached(tmp_path_factory, "hand_made_dbt_build", build)
    return folder / "warehouse.duckdb", result["communes"], result


def test_end_to_end_against_hand_computed_numbers(tmp_path_factory):
    warehouse, communes, result = built_hand_made(tmp_path_factory)
    assert result["returncode"] == 0, result["stdout"]
    assert not [k for k, status in result["statuses"].items() if status not in ("pass", "success")]

    a1, a2 = communes["01"]
    iv = query(warehouse, "select * from marts.fct_indicator_values where period = '2025'")
    iv = iv.set_index(["unit_code", "indicator_code"])

    # commune level: H1 in A's first commune 6 x 1000 / 400 = 15 -> 100 (60 - 15) / 55
    h1 = iv.loc[(a1, "H1_U5_MORTALITY")]
    assert (h1.numerator, h1.denominator) == (6, 400)
    assert h1.value == pytest.approx(15.0)
    assert h1.score == pytest.approx(100 * 45 / 55)
    assert h1.unit_level == "commune" and h1.province_code == "01"
    # commune level: T2 in A's second commune: no forum -> 0 % -> score 0
    t2 = iv.loc[(a2, "T2_FORUM_COMMUNES")]
    assert (t2.numerator, t2.denominator, t2.value, t2.score) == (0, 1, 0, 0)
    # commune level: an indicator without data has a row with no value
    assert pd.isna(iv.loc[(a1, "P1_CSC_HELPED")].value)
    # R1 is a province-level indicator: no commune rows
    assert (a1, "R1_BUDGET_PER_CHILD") not in iv.index

    # province level, from counts
    h1p = iv.loc[("01", "H1_U5_MORTALITY")]
    assert (h1p.numerator, h1p.denominator) == (16, 1000)
    assert h1p.value == pytest.approx(16.0) and h1p.score == pytest.approx(80.0)
    p5p = iv.loc[("01", "P5_BIRTH_REG_ONTIME")]
    assert (p5p.numerator, p5p.denominator) == (970, 1000)
    assert p5p.value == pytest.approx(97.0) and p5p.score == pytest.approx(90.0)
    r1p = iv.loc[("01", "R1_BUDGET_PER_CHILD")]
    assert (r1p.numerator, r1p.denominator) == (960_000_000, 8000)
    assert r1p.value == pytest.approx(120_000) and r1p.score == pytest.approx(80.0)
    r2p = iv.loc[("12", "R2_CP_WORKER_COMMUNES")]
    assert (r2p.numerator, r2p.denominator, r2p.value) == (1, 2, 50)

    # domain score: A's D1 = mean(R1 80, R2 100) = 90 with 2 of its 4 indicators
    ds = query(
        warehouse,
        "select * from marts.fct_domain_scores where period = '2025' and unit_code = '01' and domain_code = 'D1'",
    ).iloc[0]
    assert ds.score == pytest.approx(90.0)
    assert (ds.indicators_used, ds.indicators_total) == (2, 4)
    assert ds.domain_name_vi == "Nguồn lực thực hiện quyền trẻ em"

    # data values: provinces carry their budget and the sum of their communes
    dv = query(warehouse, "select * from marts.fct_data_values where period = '2025' and unit_code = '01'")
    dv = dv.set_index("data_element").value
    assert dv["POP_0_15"] == 8000 and dv["CHILD_BUDGET_VND"] == 960_000_000
    n_communes = query(
        warehouse, "select count(*) as n from ref.admin_units where unit_level = 'commune' and province_code = '01'"
    ).n[0]
    assert dv["COMMUNES"] == n_communes

    # ranking
    ranking = query(warehouse, "select * from marts.fct_province_ranking")
    assert len(ranking) == 2 * 34
    r25 = ranking[ranking.period == "2025"].set_index("province_code")
    expected = {  # pcri, rank, tier, previous rank, change
        "01": (82.0, 1, 2, 3, 2),
        "12": (65.0, 2, 3, 2, 0),
        "46": (48.0, 3, 4, 1, -2),
    }
    for code, (pcri, rank, tier, previous, change) in expected.items():
        row = r25.loc[code]
        assert row.pcri == pytest.approx(pcri), code
        assert (row["rank"], row.tier, row.previous_rank, row.rank_change) == (rank, tier, previous, change), code
        assert (row.indicators_used, row.indicators_total) == (6, 20)
        assert pd.isna(row.not_ranked_reason)
    assert r25.loc["01"].tier_name_vi == "Nhóm 2 (khá)"
    others = r25.drop(index=list(expected))
    assert others["rank"].isna().all() and others.tier.isna().all()
    assert set(others.not_ranked_reason) == {"Không có số liệu"}

    dims = query(warehouse, "select indicator_code, is_sensitive from marts.dim_indicator").set_index("indicator_code")
    assert dims.is_sensitive["P2_ABUSE_RATE"] and not dims.is_sensitive["H1_U5_MORTALITY"]
    assert len(query(warehouse, "select * from marts.dim_admin_unit")) == 34 + 3321


def test_data_tests_catch_bad_rows(tmp_path):
    """numerator > denominator fails the percentage test (severity warn); a duplicate and a
    negative value fail unique_combination and accepted_range (severity error)."""
    warehouse = make_warehouse(tmp_path)
    (c1, c2) = first_communes(warehouse, "01")
    insert_values(warehouse, [
        # 500 births registered on time out of 400 births: P5 = 125 %
        ("2025", c1, "LIVE_BIRTHS", 400),
        ("2025", c1, "BIRTHS_REG_ONTIME", 500),
        # the same value twice
        ("2025", c2, "LIVE_BIRTHS", 300),
        ("2025", c2, "LIVE_BIRTHS", 300),
        # a negative count
        ("2025", c2, "DEATHS_U5", -1),
    ])
    proc, _ = run_dbt(tmp_path, warehouse, "run")
    assert proc.returncode == 0, proc.stdout[-4000:]
    proc, results = run_dbt(
        tmp_path, warehouse, "test",
        "--select", "test_type:data,stg_raw__data_values", "test_type:data,fct_indicator_values",
    )
    assert proc.returncode != 0  # the error-severity failures fail the command
    by_name = {k.split(".")[2]: r for k, r in results.items()}

    # numerator <= denominator is the gate's check (consistency.numerator_le_denominator), not a dbt test
    assert not any("numerator_le_denominator" in k for k in by_name)
    unique = next(r for k, r in by_name.items() if k.startswith("unique_combination_stg_raw__data_values"))
    assert unique["status"] == "fail" and unique["failures"] == 1
    value_range = next(r for k, r in by_name.items() if k.startswith("accepted_range_stg_raw__data_values_value"))
    assert value_range["status"] == "fail" and value_range["failures"] == 1
    # the same tests pass on clean rows (test_end_to_end...), so each one can pass and fail
