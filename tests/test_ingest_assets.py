"""The ingest assets: definitions, materialisation into a temporary CRI_HOME, re-runs replace."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest

from pipelines.ingest.assets import (
    INGEST_GROUP,
    build_ingest_assets,
    ingest_asset_key,
    ingest_asset_keys,
    write_parsed,
)
from pipelines.ingest.parse import parse_folder
from pipelines.methodology import load_methodology
from pipelines.partitions import period_partitions
from pipelines.reference.units import admin_units
from pipelines.resources import SettingsResource, pipeline_resources
from pipelines.warehouse import connect

RESOURCES = pipeline_resources(SettingsResource(home=dg.EnvVar("CRI_HOME")))  # and the default methodology

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


@pytest.fixture(scope="module")
def methodology():
    return load_methodology()


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A temporary CRI_HOME holding the two-file health folder of the fixtures."""
    monkeypatch.setenv("CRI_HOME", str(tmp_path))
    monkeypatch.setenv("CRI_WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    shutil.copytree(FIXTURES / "landing", tmp_path / "landing")
    return tmp_path


def asset_for(sector: str, methodology) -> dg.AssetsDefinition:
    (asset,) = [a for a in build_ingest_assets(methodology) if a.key == ingest_asset_key(sector)]
    return asset


def run(asset: dg.AssetsDefinition, period: str = "2025") -> dict:
    result = dg.materialize([asset], partition_key=period, instance=dg.DagsterInstance.ephemeral(),
                            resources=RESOURCES)
    assert result.success
    (event,) = result.get_asset_materialization_events()
    assert event.partition == period
    return {k: v.value for k, v in event.materialization.metadata.items()}


def counts(home: Path, period: str, sector: str) -> dict[str, int]:
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        return {
            t: con.execute(f"select count(*) from {t} where period = ? and sector = ?", [period, sector]).fetchone()[0]
            for t in ("raw.data_values", "raw.rejected_rows", "raw.ingest_files", "raw.ingest_file_units")
        }


def test_one_asset_per_sector(methodology):
    assets = build_ingest_assets(methodology)
    assert [a.key for a in assets] == ingest_asset_keys(methodology)
    assert [a.key.path for a in assets] == [["ingest", s.code] for s in methodology.sectors]
    for asset, sector in zip(assets, methodology.sectors, strict=True):
        spec = next(iter(asset.specs))
        assert spec.group_name == INGEST_GROUP
        assert asset.partitions_def == period_partitions
        assert {"duckdb", "csv"} <= set(spec.kinds)
        assert spec.owners == [f"team:{sector.code}"]
        assert spec.tags["sector"] == sector.code
        assert sector.name_vi in spec.description and sector.name_en in spec.description
    dg.Definitions(assets=assets)  # the set is a valid code location


def test_materialize_loads_and_rerun_replaces(methodology, home):
    asset = asset_for("health", methodology)
    meta = run(asset)
    assert meta["files"] == 2
    assert meta["rows_loaded"] == 3 and meta["dagster/row_count"] == 3
    assert meta["rows_rejected"] == 3 and meta["reject_records"] == 3
    assert meta["rejects_by_check"] == {"ingest.conflicting_duplicate": 2, "ingest.duplicate_row": 1}
    assert "ingest.conflicting_duplicate" in meta["rejects_preview"] and "| file |" in meta["rejects_preview"]
    assert "part1.csv" in meta["files_table"]
    assert meta["folder_exists"] is True
    assert counts(home, "2025", "health") == {"raw.data_values": 3, "raw.rejected_rows": 3,
                                                  "raw.ingest_files": 2, "raw.ingest_file_units": 2}
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        files = con.execute("select source_file, rows_total, rows_loaded, rows_rejected, encoding, received_at, "
                            "loaded_at from raw.ingest_files order by 1").df()
        values = con.execute("select unit_code, data_element, value, row_number, source_file from raw.data_values "
                             "order by source_file, row_number").df()
        rejects = con.execute("select row_number, check_code, raw_record from raw.rejected_rows "
                              "order by source_file, row_number").df()
    assert list(files["source_file"]) == ["2025/health/part1.csv", "2025/health/part2.csv"]
    assert (files["rows_total"] == files["rows_loaded"] + files["rows_rejected"]).all()
    assert set(files["encoding"]) == {"utf-8"} and files["received_at"].notna().all()
    assert list(values["unit_code"]) == ["00004", "01234", "01234"]
    assert rejects["raw_record"].notna().all()

    # re-run: replaces, never adds
    meta2 = run(asset)
    assert meta2["rows_loaded"] == 3
    assert meta2["replaced_rows"] == {"raw.data_values": 3, "raw.rejected_rows": 3, "raw.ingest_files": 2,
                                      "raw.ingest_file_units": 2}
    assert counts(home, "2025", "health") == {"raw.data_values": 3, "raw.rejected_rows": 3,
                                                  "raw.ingest_files": 2, "raw.ingest_file_units": 2}

    # the landing folder changes: the warehouse follows it
    (home / "landing" / "2025" / "health" / "part2.csv").unlink()
    meta3 = run(asset)
    assert meta3["rows_loaded"] == 3 and meta3["rows_rejected"] == 0 and meta3["rejects_by_check"] == {}
    assert counts(home, "2025", "health") == {"raw.data_values": 3, "raw.rejected_rows": 0,
                                                  "raw.ingest_files": 1, "raw.ingest_file_units": 1}


def test_other_sectors_and_periods_are_left_alone(methodology, home):
    edu = home / "landing" / "2025" / "education"
    edu.mkdir(parents=True)
    (edu / "truong.csv").write_text("period,unit_code,data_element,value\n2025,00004,ENROLLED_AGE5,98\n",
                                    encoding="utf-8")
    old = home / "landing" / "2024" / "health"
    old.mkdir(parents=True)
    (old / "y.csv").write_text("period,unit_code,data_element,value\n2024,00004,LIVE_BIRTHS,7\n", encoding="utf-8")
    run(asset_for("education", methodology))
    run(asset_for("health", methodology), period="2024")
    run(asset_for("health", methodology))
    run(asset_for("health", methodology))
    assert counts(home, "2025", "education")["raw.data_values"] == 1
    assert counts(home, "2024", "health")["raw.data_values"] == 1
    assert counts(home, "2025", "health")["raw.data_values"] == 3


def test_missing_folder_is_zero_rows_not_an_error(methodology, home):
    meta = run(asset_for("police", methodology))
    assert meta["folder_exists"] is False
    assert meta["files"] == 0 and meta["rows_loaded"] == 0 and meta["rows_rejected"] == 0
    assert counts(home, "2025", "police") == {"raw.data_values": 0, "raw.rejected_rows": 0,
                                                  "raw.ingest_files": 0, "raw.ingest_file_units": 0}


def test_whole_file_rejects_are_recorded(methodology, home):
    folder = home / "landing" / "2025" / "statistics"
    folder.mkdir(parents=True)
    shutil.copy(FIXTURES / "non_utf8_cp1258.csv", folder / "dan_so.csv")
    shutil.copy(FIXTURES / "empty.csv", folder / "trong.csv")
    meta = run(asset_for("statistics", methodology))
    assert meta["files"] == 2 and meta["files_rejected_whole"] == 2
    assert meta["rejects_by_check"] == {"ingest.file_empty": 1, "ingest.file_encoding": 1}
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        rej = con.execute("select check_code, row_number from raw.rejected_rows where sector = 'statistics'").df()
        files = con.execute("select encoding, rows_total, rows_rejected from raw.ingest_files "
                            "where sector = 'statistics' order by source_file").df()
    assert rej["row_number"].isna().all()
    assert list(files["encoding"]) == ["windows-1258", "utf-8"]
    assert list(files["rows_total"]) == list(files["rows_rejected"]) == [2, 0]


def test_a_failed_write_leaves_the_previous_load(methodology, home):
    run(asset_for("health", methodology))
    parsed = parse_folder(home / "landing" / "2025" / "health", "2025", "health", methodology, admin_units())
    parsed.values.loc[0, "unit_code"] = None  # violates "not null": the insert fails after the delete
    with connect(home / "warehouse.duckdb") as con, pytest.raises(Exception):  # noqa: B017
        write_parsed(con, parsed)
    assert counts(home, "2025", "health") == {"raw.data_values": 3, "raw.rejected_rows": 3,
                                                  "raw.ingest_files": 2, "raw.ingest_file_units": 2}


def test_write_parsed_types(methodology, tmp_path):
    parsed = parse_folder(FIXTURES / "landing" / "2025" / "health", "2025", "health", methodology, admin_units())
    with connect(tmp_path / "w.duckdb") as con:
        summary = write_parsed(con, parsed)
        types = dict(con.execute("select column_name, data_type from information_schema.columns "
                                 "where table_schema = 'raw' and table_name = 'rejected_rows'").fetchall())
        row = con.execute("select row_number, loaded_at from raw.rejected_rows order by 1 limit 1").fetchone()
    assert summary.rows_loaded == 3 and summary.reject_records == 3 and summary.files == 2
    assert types["row_number"] == "INTEGER"
    assert isinstance(row[0], int) and isinstance(row[1], datetime)


# -- provenance columns, the apportioning rule -------------------------------------------------------------

# raw.data_values and raw.ingest_files as first released (before the provenance columns and raw.ingest_file_units)
OLD_DDL = """
create schema if not exists raw;
create table raw.data_values (period varchar not null, sector varchar not null, unit_code varchar not null,
    data_element varchar not null, disaggregation varchar not null default '', value double not null,
    unit_name varchar, comment varchar, source_file varchar not null, file_sha256 varchar not null,
    row_number integer not null, loaded_at timestamp not null);
create table raw.ingest_files (period varchar not null, sector varchar not null, source_file varchar not null,
    file_sha256 varchar not null, encoding varchar, rows_total integer not null, rows_loaded integer not null,
    rows_rejected integer not null, received_at timestamp, loaded_at timestamp not null);
"""
BA_DINH_OLD = ("period,unit_code,unit_name,data_element,value,unit_scheme\n"
               "2024,00001,Phường Phúc Xá,INSURED_U6,300,legacy\n"
               "2024,00019,Phường Điện Biên,INSURED_U6,101,legacy\n")  # split four ways in 2025


def test_a_warehouse_made_before_the_provenance_columns_gets_them(methodology, tmp_path):
    from pipelines.ingest import match_summary
    from pipelines.warehouse import RAW_ADDED_COLUMNS

    path = tmp_path / "old.duckdb"
    with connect(path) as con:
        con.execute(OLD_DDL)  # the tables as first released
        assert match_summary(con, "2025").empty
        con.execute("insert into raw.data_values (period, sector, unit_code, data_element, value, source_file, "
                    "file_sha256, row_number, loaded_at) values ('2023', 'health', '00004', 'LIVE_BIRTHS', 5, "
                    "'2023/health/a.csv', 'x', 2, now())")
        parsed = parse_folder(FIXTURES / "landing" / "2025" / "health", "2025", "health", methodology, admin_units())
        write_parsed(con, parsed)
        old = con.execute("select match_method, source_units, rebase_complete from raw.data_values "
                          "where period = '2023'").fetchone()
        new = con.execute("select distinct match_method from raw.data_values where period = '2025'").fetchall()
        summary = match_summary(con, "2025")
        columns = {r[0] for r in con.execute("select column_name from information_schema.columns "
                                             "where table_name = 'data_values'").fetchall()}
    assert {c for c, _ in RAW_ADDED_COLUMNS["raw.data_values"]} <= columns
    assert old == ("code", None, None)  # rows loaded before keep their meaning: matched by code
    assert new == [("code",)]
    assert summary[["file_format", "rows_by_code", "rows_loaded"]].values.tolist() == [["csv", 2, 2], ["csv", 1, 1]]


def test_apportion_rule_from_run_config_or_environment(methodology, home, monkeypatch):
    from pipelines.ingest.assets import apportion_rule

    folder = home / "landing" / "2024" / "social_security"
    folder.mkdir(parents=True)
    (folder / "bhxh.csv").write_text(BA_DINH_OLD, encoding="utf-8")
    asset = asset_for("social_security", methodology)

    def load(run_config=None) -> dict[str, float]:
        result = dg.materialize([asset], partition_key="2024", instance=dg.DagsterInstance.ephemeral(),
                                run_config=run_config, resources=RESOURCES)
        assert result.success
        with connect(home / "warehouse.duckdb", read_only=True) as con:
            rule = con.execute("select apportion_rule from raw.ingest_file_units where period = '2024'").fetchone()[0]
            values = dict(con.execute("select unit_code, value from raw.data_values where period = '2024'").fetchall())
        assert sum(values.values()) == 401
        return rule, values

    monkeypatch.delenv("CRI_APPORTION_RULE", raising=False)
    area_rule, area = load()
    equal_rule, equal = load({"ops": {"ingest__social_security": {"config": {"apportion_rule": "equal"}}}})
    monkeypatch.setenv("CRI_APPORTION_RULE", "equal")
    env_rule, env = load()
    assert (area_rule, equal_rule, env_rule) == ("area", "equal", "equal")
    assert equal == env != area
    assert sorted(v for k, v in equal.items() if k != "00004" and v < 100) == [25, 25, 25]  # 101 in four equal parts
    with pytest.raises(ValueError, match="apportion_rule must be one of area, equal"):
        apportion_rule("population")


def test_metadata_counts_rows_by_how_they_found_their_unit(methodology, home):
    folder = home / "landing" / "2024" / "social_security"
    folder.mkdir(parents=True)
    (folder / "cu.csv").write_text(BA_DINH_OLD, encoding="utf-8")
    (folder / "moi.csv").write_text("period,unit_name,province,data_element,value\n"
                                    "2024,Phường Ngọc Hà,Hà Nội,INSURED_U6,7\n2024,Xã Tân Thành,,INSURED_U6,1\n",
                                    encoding="utf-8")
    meta = run(asset_for("social_security", methodology), period="2024")
    assert (meta["rows_by_code"], meta["rows_by_name"], meta["rows_crosswalk"], meta["rows_apportioned"]) == (0, 1, 1, 1)
    assert meta["rows_rejected"] == 1 and meta["rebased"] is True and meta["apportion_rule"] == "area"
    per_file = meta["match_summary"]
    assert per_file["2024/social_security/moi.csv"]["rows_by_name"] == 1
    assert per_file["2024/social_security/cu.csv"]["unit_scheme"] == "legacy"
    assert "| by code | by name | crosswalk | apportioned |" in meta["files_table"]
