"""dbt models as Dagster assets: every indicator, score, domain, index, rank and tier.

The models cover every period in the warehouse (they are small); the run's
period only scopes the checks and the release. dbt tests become asset checks,
and their outcomes are recorded for the publication gate, which applies
waivers to them like to every other check.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator, Mapping
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from pipelines.ops.progress import say
from pipelines.ops.warmup import import_in_background
from pipelines.partitions import period_partitions, run_periods, single_run
from pipelines.checks.core import record_results
from pipelines.checks.dbt import dbt_test_outcomes
from pipelines.dbt_layout import model_asset_path
from pipelines.resources import SettingsResource, WarehouseResource
from pipelines.settings import DBT_PROJECT_DIR, Settings
from pipelines.transform.project import DBT_EXECUTABLE, dbt_vars, parse_args, run_target_dir, seed_run_target

TRANSFORM_GROUP = "transform"

# The manifest is prepared the way dagster-dbt intends: at build time (`make manifest`: `dagster-dbt project
# prepare-and-package`, or `cri` before a run), and again under `dagster dev` (`prepare_if_dev`), with the variables
# of the runs so that they reuse the parse. Never parsed when the module is merely imported.
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR,
                         prepare_project_cli_args=parse_args())
dbt_project.prepare_if_dev()


class _ObservedTestsFilter(logging.Filter):
    """Staging and intermediate dbt tests are recorded as observations on purpose (see the translator)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Logging an `AssetObservation` instead of an `AssetCheckResult`")


logging.getLogger("dagster.builtin").addFilter(_ObservedTestsFilter())

class CriDbtTranslator(DagsterDbtTranslator):
    """Asset keys ``<layer>/<model>``; raw data values come from the ingest assets."""

    def __init__(self, ingest_keys: list[dg.AssetKey]):
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
        self._ingest_keys = ingest_keys

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["nodes"].get(unique_id) or manifest["sources"].get(unique_id) or {}
        if node.get("resource_type") == "source" and node.get("source_name") == "ref":
            # each ref.* table is written by a reference asset of the same name
            return spec.replace_attributes(key=dg.AssetKey(["reference", node["name"]]))
        if node.get("resource_type") != "model":
            return spec
        deps = [d for d in spec.deps if d.asset_key.path[0] != "raw"]
        if len(deps) != len(spec.deps):  # the model reads raw.* tables
            deps += [dg.AssetDep(k) for k in self._ingest_keys]
        name_vi = (node.get("config", {}).get("meta") or {}).get("name_vi") or node.get("meta", {}).get("name_vi")
        return spec.replace_attributes(
            key=dg.AssetKey(model_asset_path(node)),
            description=f"{name_vi}\n\n{spec.description or ''}".strip() if name_vi else spec.description,
            group_name=TRANSFORM_GROUP,
            deps=deps,
            kinds={"dbt", "duckdb"},
        )

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):
        # The tests of the published layer show as checks on the marts; every test (all layers)
        # feeds the publication gate through run_results.json, so staging and intermediate tests
        # do not each add events to the run.
        if asset_spec.key.path[0] != "marts":
            return None
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        # One gate decides publication (with waivers); dbt tests must not stop the run before it.
        return spec._replace(blocking=False) if spec is not None else None


def table_metadata(con, relation: str, periods: list[str], preview: bool) -> dict[str, Any]:
    """Row count of the run's periods (``dagster/row_count``: the period's rows, for a table with a period column;
    every row for the others, and ``rows_all_periods``), and for the marts a preview of the first rows."""
    total = con.execute(f"select count(*) from {relation}").fetchone()[0]
    meta: dict[str, Any] = {"dagster/row_count": total, "dagster/relation_identifier": relation}
    columns = [r[0] for r in con.execute(f"describe {relation}").fetchall()]
    if periods and "period" in columns:
        counts = dict(con.execute(f"select period, count(*) from {relation} where period in "
                                  f"({', '.join('?' for _ in periods)}) group by period", periods).fetchall())
        by_period = {p: int(counts.get(p, 0)) for p in periods}
        meta["dagster/row_count"] = sum(by_period.values())
        meta["rows_all_periods"] = total
        if len(periods) > 1:
            meta["rows_by_period"] = dg.MetadataValue.json(by_period)
    period = periods[0] if len(periods) == 1 else None
    if preview:
        where = "where period = ?" if period and "period" in columns else ""
        top = con.execute(f"select * from {relation} {where} limit 5", [period] if where else []).df()
        meta["preview"] = dg.MetadataValue.md(top.to_markdown(index=False))
    return meta


def with_table_metadata(events: list, manifest: dict, periods: list[str], warehouse: WarehouseResource) -> Iterator:
    """The dbt events, each model's materialization with the metadata of its table (read after dbt has finished)."""
    with warehouse.connect(read_only=True) as con:
        for event in events:
            unique_id = (getattr(event, "metadata", None) or {}).get("unique_id")
            node = manifest["nodes"].get(unique_id.value if hasattr(unique_id, "value") else unique_id or "", {})
            if isinstance(event, dg.AssetObservation) and node.get("resource_type") == "test":
                continue  # a staging or intermediate test: its outcome goes to the gate (run_results.json)
            if node.get("resource_type") != "model" or not isinstance(event, dg.Output | dg.AssetMaterialization):
                yield event
                continue
            relation = f'"{node["schema"]}"."{node.get("alias") or node["name"]}"'
            try:
                extra = table_metadata(con, relation, periods, preview=node["schema"] == "marts")
            except duckdb.Error:  # a model that failed has no table: dbt's own error says why
                extra = {}
            yield event.with_metadata({**event.metadata, **extra})


def keep_run_results(target: Path, periods: list[str], settings: Settings) -> None:
    """Keep dbt's run_results.json with each period's reports; drop a target folder of this invocation only.

    The runs' own folder (``$CRI_HOME/dbt_target``) is kept: it holds the parse the next run reuses.
    """
    for period in periods:
        folder = settings.reports_period_dir(period)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target / "run_results.json", folder / "dbt_run_results.json")
    if target.resolve().parent == (DBT_PROJECT_DIR / "target").resolve():  # a folder of this run only
        shutil.rmtree(target, ignore_errors=True)


def build_dbt_assets(ingest_keys: list[dg.AssetKey]) -> dg.AssetsDefinition:
    if not dbt_project.manifest_path.exists():
        raise RuntimeError(f"dbt's manifest {dbt_project.manifest_path} is missing: run `make manifest` first")
    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        dagster_dbt_translator=CriDbtTranslator(ingest_keys),
        # partitioned like every asset (see pipelines/reference/assets.py), though the models cover every period
        partitions_def=period_partitions,
        backfill_policy=single_run,
        name="dbt_models",
    )
    def dbt_models(context, dbt: DbtCliResource, settings: SettingsResource, warehouse: WarehouseResource):
        """Chạy các mô hình dbt / build the dbt models and run their tests."""
        settings = settings.get()
        periods = run_periods(context)  # one period, or several in a backfill run
        say("transform", "dbt build: models and data tests")
        import_in_background()  # this process waits for dbt meanwhile
        invocation = dbt.cli(
            # unit tests check the formulas in the test suite; a production build runs models and data tests
            ["build", "--exclude-resource-type", "unit_test", "--vars", json.dumps(dbt_vars(settings))],
            context=context, raise_on_error=False,
            # the CRI_HOME's own folder: dbt reuses the parse it kept there by the previous run
            target_path=seed_run_target(run_target_dir(settings)),
        )
        # The events wait until dbt has finished: the row counts need the warehouse, which dbt holds meanwhile.
        events = list(invocation.stream())
        run_results = invocation.get_artifact("run_results.json")
        manifest = invocation.get_artifact("manifest.json")
        yield from with_table_metadata(events, manifest, periods, warehouse)
        keep_run_results(invocation.target_path, periods, settings)
        outcomes = dbt_test_outcomes(run_results, manifest)
        if outcomes:
            with warehouse.connect() as con:
                for period in periods:  # the data tests cover every period: their outcomes hold for each
                    record_results(con, context.run_id, period, outcomes)
        failed = [o for o in outcomes if not o.passed]
        say("transform", f"dbt: {len(outcomes)} data tests, {len(failed)} not passed")
        errors = [
            f"{r['unique_id']}: {(r.get('message') or '').splitlines()[0] if r.get('message') else ''}"
            for r in run_results.get("results", [])
            if r.get("status") in ("error", "runtime error") and not r["unique_id"].startswith("test.")
        ]
        if errors:
            raise dg.Failure(
                description="Mô hình dbt bị lỗi / dbt models failed: " + "; ".join(errors),
                metadata={"errors": dg.MetadataValue.json(errors)},
            )

    return dbt_models


class CriDbtCliResource(DbtCliResource):
    """dbt in a subprocess, without what the pipeline does not use.

    dagster-dbt asks the executable its version (``dbt --version``, a process of
    its own) and sets dbt's adapter up in this process (loading every macro) for
    column metadata; the pipeline runs the dbt of its own environment and reads
    table metadata from the warehouse (``with_table_metadata``).
    """

    @property
    def _cli_version(self):
        from packaging import version

        return version.parse(package_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        return None


def dbt_resource() -> DbtCliResource:
    # dbt's debug log file (JSON, every event) is not kept: dagster-dbt reads dbt's events from its output
    return CriDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE,
                             global_config_flags=["--log-level-file", "none"])
