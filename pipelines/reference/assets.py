"""Reference data as assets: the official units and the methodology tables."""

from __future__ import annotations

import dagster as dg

from pipelines.reference import load_admin_units, load_methodology_tables
from pipelines.reference.commune_types import (
    DEFAULT_TYPE,
    DEFAULT_TYPES,
    commune_types_path,
    load_commune_types,
    read_commune_types,
)
from pipelines.reference.units import admin_units as units_frame
from pipelines.reference.units import package_version
from pipelines.resources import MethodologyResource, SettingsResource, WarehouseResource
from pipelines.warehouse import ensure_schema

REFERENCE_GROUP = "reference"
# The reference tables do not depend on a period: they are not partitioned. A period's run (a job run for one
# partition, or one run over a range of partitions) still reloads them first, in the same run; an asset backfill
# started from the asset graph loads them in a run of their own before the periods' run.


@dg.asset(
    key=["reference", "admin_units"],
    group_name=REFERENCE_GROUP,
    kinds={"python", "duckdb"},
    description=(
        "Danh mục 34 tỉnh, thành phố và 3.321 xã, phường, đặc khu (từ 1/7/2025), lấy từ gói vietnam-provinces.\n\n"
        "The 34 provinces and 3,321 communes in force since 1 July 2025, from the vietnam-provinces package."
    ),
)
def admin_units(context, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        ensure_schema(con)
        n = load_admin_units(con)
    df = units_frame()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": n,
        "provinces": int((df["unit_level"] == "province").sum()),
        "communes": int((df["unit_level"] == "commune").sum()),
        "source": package_version(),
        "preview": dg.MetadataValue.md(df.head(10).to_markdown(index=False)),
    })


METHODOLOGY_TABLES = (
    "methodology", "sectors", "domains", "data_elements", "indicators", "indicator_terms", "tiers",
    # the child-friendly commune assessment (methodology/commune-assessment-*.yaml); empty without one
    "assessment", "assessment_criteria", "assessment_items", "assessment_terms", "assessment_bands",
    "assessment_thresholds",
    # every reporting period and its previous period (pipelines.partitions.previous_period)
    "periods",
)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["reference", table],
            group_name=REFERENCE_GROUP,
            kinds={"python", "duckdb"},
            description=(
                f"Bảng ref.{table} của phương pháp tính PCRI, đọc từ tệp methodology/*.yaml.\n\n"
                f"Table ref.{table} of the PCRI method, from the versioned methodology file."
            ),
        )
        for table in METHODOLOGY_TABLES
    ],
    name="methodology_tables",
)
def methodology_tables(context, methodology: MethodologyResource, warehouse: WarehouseResource):
    """Phương pháp tính (chỉ tiêu, chỉ số, công thức, trọng số, nhóm) / the method, as warehouse tables."""
    m = methodology.load()
    with warehouse.connect() as con:
        ensure_schema(con)
        counts = load_methodology_tables(con, m)
    for table in METHODOLOGY_TABLES:
        yield dg.MaterializeResult(
            asset_key=["reference", table],
            metadata={
                "dagster/row_count": counts[table],
                "methodology_version": m.version,
                "file": str(m.path),
                "sha256": m.sha256,
            },
        )


@dg.asset(
    key=["reference", "commune_types"],
    group_name=REFERENCE_GROUP,
    kinds={"python", "duckdb"},
    deps=[dg.AssetKey(["reference", "admin_units"])],
    description=(
        "Loại xã để xét ngưỡng công nhận xã phù hợp với trẻ em: mặc định theo loại đơn vị (phường 900 điểm; đặc "
        "khu 800; xã 850, cách hiểu của dự án), tệp CRI_HOME/reference/commune_types.csv do cán bộ vận hành cập "
        "nhật (xã đặc biệt khó khăn, miền núi, hải đảo: 800) được ưu tiên.\n\nCommune types for the child-friendly "
        "commune thresholds: by default from the division type (phường 900, đặc khu 800, xã 850: the project's "
        "reading), overridden by the operators' file CRI_HOME/reference/commune_types.csv. A missing file or bad "
        "rows never fail: those communes get the default of their division type, with a warning in the metadata."
    ),
)
def commune_types(context, settings: SettingsResource, methodology: MethodologyResource,
                  warehouse: WarehouseResource) -> dg.MaterializeResult:
    settings = settings.get()
    assessment = methodology.load().commune_assessment
    types = assessment.type_codes if assessment else DEFAULT_TYPES
    default = assessment.default_type.code if assessment else DEFAULT_TYPE
    by_division = assessment.division_defaults if assessment else None
    found = read_commune_types(commune_types_path(settings.home), units_frame(), types, default, by_division)
    with warehouse.connect() as con:
        ensure_schema(con)
        n = load_commune_types(con, found)
    for warning in found.warnings:
        context.log.warning(warning)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": n,
        "file": dg.MetadataValue.path(str(found.path)),
        "file_found": found.file_found,
        "sha256": found.sha256 or "",
        "communes_from_file": found.from_file,
        "communes_by_type": dg.MetadataValue.json(found.counts),
        "warnings": dg.MetadataValue.json(found.warnings),
        "warning_count": len(found.warnings),
    })


reference_assets = [admin_units, methodology_tables, commune_types]
