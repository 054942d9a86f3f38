"""Reference data as assets: the official units and the methodology tables."""

from __future__ import annotations

import dagster as dg

from pipelines.methodology import load_methodology
from pipelines.reference import load_admin_units, load_methodology_tables
from pipelines.reference.units import admin_units as units_frame
from pipelines.reference.units import package_version
from pipelines.settings import get_settings
from pipelines.warehouse import connect, ensure_schema

REFERENCE_GROUP = "reference"


@dg.asset(
    key=["reference", "admin_units"],
    group_name=REFERENCE_GROUP,
    kinds={"python", "duckdb"},
    description=(
        "Danh mục 34 tỉnh, thành phố và 3.321 xã, phường, đặc khu (từ 1/7/2025), lấy từ gói vietnam-provinces.\n\n"
        "The 34 provinces and 3,321 communes in force since 1 July 2025, from the vietnam-provinces package."
    ),
)
def admin_units(context) -> dg.MaterializeResult:
    with connect() as con:
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


METHODOLOGY_TABLES = ("methodology", "sectors", "domains", "data_elements", "indicators", "indicator_terms", "tiers")


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
def methodology_tables(context):
    """Phương pháp tính (chỉ tiêu, chỉ số, công thức, trọng số, nhóm) / the method, as warehouse tables."""
    settings = get_settings()
    m = load_methodology(settings.methodology_path)
    with connect() as con:
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


reference_assets = [admin_units, methodology_tables]
