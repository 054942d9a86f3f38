"""The resources, the one way a step learns its periods, and the metadata a period's run reports."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.partitions import RANGE_END, RANGE_START, period_partitions, run_periods, single_run
from pipelines.resources import MethodologyResource, SettingsResource, WarehouseResource, pipeline_resources
from pipelines.settings import DEFAULT_METHODOLOGY


def test_the_settings_come_from_the_runs_config_not_from_the_environment(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CRI_HOME", str(tmp_path / "from_env"))
    settings = SettingsResource(home=str(tmp_path / "given"))
    assert settings.get().home == tmp_path / "given"
    assert settings.get().methodology_path == DEFAULT_METHODOLOGY.resolve()
    resources = pipeline_resources(settings)
    assert resources["warehouse"].path == tmp_path / "given" / "warehouse.duckdb"
    assert resources["methodology"].load().path == DEFAULT_METHODOLOGY.resolve()


def test_the_env_vars_are_read_when_the_run_starts(tmp_path: Path, monkeypatch):
    @dg.asset(partitions_def=period_partitions)
    def where(context, settings: SettingsResource, warehouse: WarehouseResource, methodology: MethodologyResource):
        return dg.MaterializeResult(metadata={"home": str(settings.get().home), "db": str(warehouse.path)})

    resources = pipeline_resources()  # dg.EnvVar("CRI_HOME"), dg.EnvVar("CRI_METHODOLOGY")
    for name in ("one", "two"):  # the same resources, another home for each run
        monkeypatch.setenv("CRI_HOME", str(tmp_path / name))
        monkeypatch.setenv("CRI_METHODOLOGY", str(DEFAULT_METHODOLOGY))
        result = dg.materialize([where], partition_key="2024", resources=resources)
        meta = result.asset_materializations_for_node("where")[0].metadata
        assert meta["home"].value == str(tmp_path / name)
        assert meta["db"].value == str(tmp_path / name / "warehouse.duckdb")


@dg.asset(partitions_def=period_partitions, backfill_policy=single_run)
def _periods(context) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"periods": run_periods(context)})


def test_a_step_learns_its_periods_from_the_partition_keys():
    one = dg.materialize([_periods], partition_key="2025H1")
    assert one.asset_materializations_for_node("_periods")[0].metadata["periods"].value == ["2025H1"]
    # a backfill of two partitions as one run (the single-run backfill policy)
    two = dg.materialize([_periods], tags={RANGE_START: "2024", RANGE_END: "2025"})
    events = two.asset_materializations_for_node("_periods")
    assert sorted(e.partition for e in events) == ["2024", "2025"]
    assert {tuple(e.metadata["periods"].value) for e in events} == {("2024", "2025")}


def test_a_step_without_a_period_is_refused_with_a_sentence():
    with pytest.raises(dg.Failure, match="choose a period"):
        run_periods(dg.build_asset_context())


@pytest.fixture
def warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema marts")
    con.execute("create table marts.by_period as select * from (values ('2024', 1), ('2024', 2), ('2024', 3), "
                "('2025', 4), ('2025', 5), ('2023', 6)) t(period, x)")
    con.execute("create table marts.no_period as select * from (values (1), (2)) t(x)")
    yield con
    con.close()


def test_a_models_row_count_is_the_periods(warehouse):
    from pipelines.transform.assets import table_metadata

    meta = table_metadata(warehouse, "marts.by_period", ["2024"], preview=True)
    assert meta["dagster/row_count"] == 3 and meta["rows_all_periods"] == 6
    assert "2025" not in meta["preview"].value  # the preview shows the period's rows
    meta = table_metadata(warehouse, "marts.by_period", ["2024", "2025"], preview=False)
    assert meta["dagster/row_count"] == 5 and meta["rows_by_period"].value == {"2024": 3, "2025": 2}
    meta = table_metadata(warehouse, "marts.by_period", ["2019"], preview=False)
    assert meta["dagster/row_count"] == 0
    # a table that does not depend on a period: every row
    assert table_metadata(warehouse, "marts.no_period", ["2024"], preview=False)["dagster/row_count"] == 2


def test_every_check_result_names_the_period_it_judged():
    from pipelines.quality.assets import merge_periods, with_period

    def result(passed: bool) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(asset_key=dg.AssetKey(["marts", "x"]), check_name="c", passed=passed,
                                   metadata={"failed": 0 if passed else 2})

    one = with_period(result(True), "2024")
    assert one.metadata["period"].value == "2024" and one.metadata["failed"].value == 0
    merged = merge_periods({"2024": [with_period(result(True), "2024")],
                            "2025": [with_period(result(False), "2025")]})
    (m,) = merged
    assert not m.passed and m.metadata["period"].value == "2025"  # the metadata of the period that failed
    assert m.metadata["periods_failed"].value == ["2025"] and m.metadata["periods"].value == ["2024", "2025"]
