"""The ingest asset of the record-level registries (``ingest/registries``), partitioned by period.

For each registry the methodology loads (``methodology/registries.yaml``), reads its extract files in
``landing/<period>/<sector>/`` straight into DuckDB, checks and pseudonymises the records and replaces
the period's rows of ``raw.registry_<code>``, ``raw.rejected_records``, ``raw.registry_files`` and
``raw.registry_elements`` (``pipelines.registries.load``). Upstream of the dbt models, which turn the
records into the commune counts the indicators use. Refused records never fail the asset: the quality
gate decides (``pipelines.registries.checks``).
"""

# No ``from __future__ import annotations`` here: Dagster reads the ``context`` annotation.
import dagster as dg

from pipelines.ops.progress import say
from pipelines.partitions import period_partitions, run_metadata, run_periods, single_run
from pipelines.resources import MethodologyResource, SettingsResource, WarehouseResource

REGISTRY_ASSET_KEY = dg.AssetKey(["ingest", "registries"])


@dg.asset(
    key=REGISTRY_ASSET_KEY,
    group_name="ingest",
    partitions_def=period_partitions,
    backfill_policy=single_run,
    kinds={"parquet", "csv", "duckdb"},
    tags={"layer": "raw"},
    description=(
        "Nạp sổ đăng ký theo từng trẻ (khai sinh, thẻ bảo hiểm y tế, mũi tiêm): đọc thẳng bằng DuckDB, "
        "kiểm tra từng bản ghi, mã hóa định danh (HMAC-SHA256), ghi `raw.registry_<mã>`; bản ghi lỗi ghi vào "
        "raw.rejected_records kèm lý do.\n\n"
        "Loads the record-level registry extracts (births, insurance cards, doses) declared in "
        "methodology/registries.yaml: read straight into DuckDB, every record checked, identifiers "
        "pseudonymised with a keyed hash, accepted records in `raw.registry_<code>`, refused ones in "
        "raw.rejected_records with the reason."
    ),
)
def registry_ingest(context, settings: SettingsResource, methodology: MethodologyResource,
                    warehouse: WarehouseResource) -> dg.MaterializeResult:
    from pipelines.reference.units import admin_units
    from pipelines.registries.load import (
        PseudonymKeyMissing,
        configure,
        landing_files,
        load_registry,
        pseudonym_key,
    )
    from pipelines.registries.spec import load_registries

    settings = settings.get()
    registries = load_registries(methodology=methodology.load())
    units = admin_units()
    communes = units.loc[units.unit_level == "commune", "unit_code"].tolist()
    per_period = {}
    for period in run_periods(context):
        totals = {"files": 0, "rows_total": 0, "rows_loaded": 0, "rows_rejected": 0}
        by_check: dict[str, int] = {}
        with warehouse.connect() as con:
            configure(con, settings.home / "tmp" / "duckdb")
            for registry in registries.loaded:
                folder = settings.landing_dir / period / registry.sector
                # the key is needed only when there are records to pseudonymise
                try:
                    key = pseudonym_key(settings.home) if landing_files(folder, registry) else b""
                except PseudonymKeyMissing as exc:  # a setting to fix, not a crash
                    raise dg.Failure(description=str(exc)) from None
                s = load_registry(con, registries, registry, period, folder, communes, key,
                                  relative_to=settings.landing_dir)
                line = (f"{registry.code} {period}: {s.files} file(s), {s.rows_total:,} records, {s.rows_loaded:,} "
                        f"loaded, {s.rows_rejected:,} refused {s.by_check or ''} in {s.seconds:.1f}s")
                context.log.info(line)
                say("ingest", line)
                for k in totals:
                    totals[k] += getattr(s, k)
                for code, n in s.by_check.items():
                    by_check[code] = by_check.get(code, 0) + n
        per_period[period] = {**totals, "rejects_by_check": dg.MetadataValue.json(by_check),
                              "dagster/row_count": totals["rows_loaded"]}
    return dg.MaterializeResult(metadata=run_metadata(
        per_period, totals=("files", "rows_total", "rows_loaded", "rows_rejected", "dagster/row_count")))
