"""The Dagster code location: assembles what the area modules define."""

from __future__ import annotations

import dagster as dg

from pipelines.ingest.assets import build_ingest_assets, ingest_asset_key
from pipelines.ingest.registries import REGISTRY_ASSET_KEY, registry_ingest
from pipelines.methodology import load_methodology
from pipelines.publish.assets import build_publish_assets, release_contract_check
from pipelines.publish.previous import previous_release_check
from pipelines.quality.assets import build_quality_gate
from pipelines.quality.gate_asset import build_gate_asset
from pipelines.registries.checks import registry_checks
from pipelines.reference.assets import reference_assets
from pipelines.robustness.assets import internal_consistency_check, rank_robustness
from pipelines.schedules import JOBS, SCHEDULES, SENSORS
from pipelines.resources import pipeline_resources
from pipelines.settings import get_settings
from pipelines.transform.assets import build_dbt_assets, dbt_resource


def build_definitions() -> dg.Definitions:
    # the graph's shape (one ingest asset per sector, the checks' specs) follows the methodology file named now;
    # what a run reads (home, methodology, warehouse) comes from the resources, resolved when the run starts
    methodology = load_methodology(get_settings().methodology_path)
    ingest_assets = build_ingest_assets(methodology)
    ingest_keys = {s: ingest_asset_key(s) for s in methodology.sector_codes}
    extra_checks = (previous_release_check, release_contract_check, internal_consistency_check, registry_checks)
    return dg.Definitions(
        assets=[
            *reference_assets,
            *ingest_assets,
            registry_ingest,
            build_dbt_assets([*ingest_keys.values(), REGISTRY_ASSET_KEY]),
            build_gate_asset(ingest_keys, extra_checks),  # the period's checks; publishable or blocked
            rank_robustness,
            *build_publish_assets(),
        ],
        asset_checks=[build_quality_gate(methodology, ingest_keys, extra_checks)],
        resources={**pipeline_resources(), "dbt": dbt_resource()},
        # Operating the pipeline: period_draft / period_official jobs, schedules, landing and run status sensors.
        jobs=JOBS,
        schedules=SCHEDULES,
        sensors=SENSORS,
        # One writer at a time: every step of a run executes in one process, one after another; the warehouse
        # resource, set up once per run, holds the lock ($CRI_HOME/.warehouse.lock) for the whole run.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
