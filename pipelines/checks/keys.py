"""The asset keys quality checks name, in one place (the catalogue and the stages refer to them by name)."""

from __future__ import annotations

INGEST = "ingest"  # the ingest assets of every sector (one Dagster check per sector)
REGISTRIES = "ingest/registries"
MARTS_DATA_VALUES = "marts/fct_data_values"
MARTS_INDICATORS = "marts/fct_indicator_values"
MARTS_RANKING = "marts/fct_province_ranking"
STAGING_DATA_VALUES = "staging/stg_raw__data_values"
# the quality step's own assets: the period's quality report, and the publication gate (pipelines/quality/gate_asset.py)
QUALITY_REPORT = "quality/quality_report"
PUBLICATION_GATE = "quality/publication_gate"

# name used in pipelines/checks/catalogue.yaml and expectations/*.json -> asset key path
ASSETS: dict[str, str] = {
    "ingest": INGEST,
    "registries": REGISTRIES,
    "data_values": MARTS_DATA_VALUES,
    "indicator_values": MARTS_INDICATORS,
    "province_ranking": MARTS_RANKING,
    "stg_data_values": STAGING_DATA_VALUES,
    "dbt_model": "",  # a dbt test guards the model it is attached to (read from dbt's manifest)
}
