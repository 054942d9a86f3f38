"""What a run does around dbt, kept small: dbt's parse reused, no extra dbt processes, events and tables once.

Timings are in benchmarks/bench_speed.py; these tests check the behaviour that makes them.
"""

from __future__ import annotations

import subprocess
from importlib.metadata import version
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from pipelines.resources import SettingsResource, WarehouseResource, pipeline_resources
from pipelines.settings import DEFAULT_METHODOLOGY, Settings
from pipelines.transform import project


def test_a_home_without_a_parse_starts_from_the_projects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    source = tmp_path / "project_target"
    source.mkdir()
    (source / project.PARTIAL_PARSE).write_bytes(b"project parse")
    monkeypatch.setattr(project, "PROJECT_TARGET", source)
    target = tmp_path / "home" / "dbt_target"
    assert project.seed_run_target(target) == target
    assert (target / project.PARTIAL_PARSE).read_bytes() == b"project parse"
    # the home's own parse (written by its last run) is kept, never replaced by the project's
    (target / project.PARTIAL_PARSE).write_bytes(b"the home's parse")
    project.seed_run_target(target)
    assert (target / project.PARTIAL_PARSE).read_bytes() == b"the home's parse"


def test_the_runs_target_folder_is_in_the_home(cri_home: Path):
    assert project.run_target_dir() == cri_home.resolve() / "dbt_target"


def test_dbt_vars_come_from_the_methodology(cri_home: Path, small_methodology: Path):
    # and the warehouse, which profiles.yml reads from the variables (nothing is put in the environment)
    assert project.dbt_vars() == {"min_commune_reporting_share": 0.0,
                                  "warehouse_path": str(cri_home.resolve() / "warehouse.duckdb")}
    settings = Settings(home=cri_home / "other", methodology_path=DEFAULT_METHODOLOGY)
    assert project.dbt_vars(settings) == {"min_commune_reporting_share": 0.9,
                                          "warehouse_path": str(cri_home / "other" / "warehouse.duckdb")}


def test_the_dbt_resource_starts_no_extra_process(monkeypatch: pytest.MonkeyPatch):
    from pipelines.transform.assets import dbt_resource

    def no_process(*args, **kwargs):
        raise AssertionError(f"a process was started: {args}")

    monkeypatch.setattr(subprocess, "check_output", no_process)
    resource = dbt_resource()
    assert str(resource._cli_version) == version("dbt-core")
    assert resource._initialize_dbt_core_adapter(["build"]) is None
    assert resource.global_config_flags == ["--log-level-file", "none"]


def test_staging_test_observations_are_not_events(cri_home: Path):
    import duckdb

    from pipelines.transform.assets import with_table_metadata

    con = duckdb.connect(str(cri_home / "warehouse.duckdb"))
    con.execute("create schema marts; create table marts.m as select '2025' as period, 1 as x union all "
                "select '2024', 2")
    con.close()
    manifest = {"nodes": {
        "test.cri.not_null_stg": {"resource_type": "test"},
        "model.cri.m": {"resource_type": "model", "schema": "marts", "name": "m", "fqn": ["cri", "marts", "m"]},
    }}
    observation = dg.AssetObservation(asset_key=["staging", "stg"], metadata={"unique_id": "test.cri.not_null_stg"})
    materialization = dg.AssetMaterialization(asset_key=["marts", "m"], metadata={"unique_id": "model.cri.m"})
    check = dg.AssetCheckResult(asset_key=["marts", "m"], check_name="not_null", passed=True)
    warehouse = WarehouseResource(settings=SettingsResource(home=str(cri_home)))
    events = list(with_table_metadata([observation, materialization, check], manifest, ["2025"], warehouse))
    assert len(events) == 2 and events[1] is check
    meta = events[0].metadata
    # the row count of the run's period (the partition's), every period's beside it
    assert (meta["dagster/row_count"].value, meta["rows_all_periods"].value) == (1, 2)
    assert "2025" in meta["preview"].value and "2024" not in meta["preview"].value


def test_the_gate_builds_the_release_tables_once_for_publish(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Within one run the contract check's tables go to publish; outside a run nothing is kept."""
    from pipelines.methodology import load_methodology
    from pipelines.publish import assets as publish_assets
    from pipelines.publish import release
    from pipelines.settings import DEFAULT_METHODOLOGY, get_settings
    from pipelines.warehouse import connect
    from tests.test_publish import CHECKS, WAIVERS, make_warehouse, snapshot

    m = load_methodology(DEFAULT_METHODOLOGY)
    wh = make_warehouse(tmp_path / "warehouse.duckdb", m)
    monkeypatch.setenv("CRI_HOME", str(tmp_path))
    monkeypatch.delenv("CRI_METHODOLOGY", raising=False)
    builds = []
    real = release.build_release_tables

    def counted(*args, **kwargs):
        builds.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(release, "build_release_tables", counted)
    monkeypatch.setattr(publish_assets, "build_release_tables", counted)

    with connect(wh, read_only=True) as con:  # outside a Dagster step: checked, not kept
        assert publish_assets.release_contract_check(con, "2025", m)[0].passed
    assert builds == ["2025"]

    kept = {}

    @dg.asset
    def gate(warehouse: WarehouseResource, settings: SettingsResource):
        with warehouse.connect(read_only=True) as con:
            assert publish_assets.release_contract_check(con, "2025", m)[0].passed
        kept.update(warehouse.run_cache())

    @dg.asset(deps=[gate])
    def publish(warehouse: WarehouseResource):
        with warehouse.connect(read_only=True) as con:
            tables = warehouse.run_cache().pop(publish_assets._built_key("2025", m), None)
            assert tables is not None
            release.publish_period(con, "2025", get_settings(), m, CHECKS, WAIVERS, built=tables)
        assert warehouse.run_cache() == {}

    resources = pipeline_resources(SettingsResource(home=str(tmp_path)))
    result = dg.materialize([gate, publish], instance=dg.DagsterInstance.ephemeral(), resources=resources)
    assert result.success
    assert builds == ["2025", "2025"]  # once by the gate's check, not again by publish
    assert list(kept) == [publish_assets._built_key("2025", m)]
    assert resources["warehouse"].run_cache() == {}  # the run's own resource object held them, not the definitions'
    # the same tables as a release that publish builds itself
    with connect(wh, read_only=True) as con:
        again = release.publish_period(con, "2025", get_settings(), m, CHECKS, WAIVERS)
    first, second = snapshot(tmp_path / "publish" / "2025" / "v1"), snapshot(again.path)
    assert sorted(first) == sorted(second)
    for name in first:
        if name.endswith(".csv"):
            assert first[name] == second[name], name
        if name.endswith(".parquet"):  # the file's metadata names its version: compare the cells
            pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "publish" / "2025" / "v1" / name),
                                          pd.read_parquet(again.path / name))


def test_a_run_with_its_event_databases_held_open_stores_every_event(tmp_path: Path):
    import uuid

    from pipelines.ops.instance import event_databases_open

    @dg.asset
    def one():
        return 1

    @dg.asset
    def two(one):
        return one + 1

    job = dg.Definitions(assets=[one, two]).resolve_implicit_global_asset_job_def()
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        plain = job.execute_in_process(instance=instance)
        run_id = str(uuid.uuid4())
        with event_databases_open(instance, run_id):
            held = job.execute_in_process(instance=instance, run_id=run_id)
            assert (Path(instance.event_log_storage.path_for_shard(run_id))).exists()
        assert held.success and held.run_id == run_id
        kinds = [sorted(str(e.dagster_event_type) for e in instance.all_logs(r.run_id) if e.is_dagster_event)
                 for r in (plain, held)]
        assert kinds[0] == kinds[1] and "DagsterEventType.ASSET_MATERIALIZATION" in kinds[1]
        assert instance.get_latest_materialization_event(dg.AssetKey("two")).run_id == run_id
    with event_databases_open(dg.DagsterInstance.ephemeral(), "x"):  # another storage: nothing to hold
        pass
