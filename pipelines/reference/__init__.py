"""Reference data: administrative units and the methodology, as warehouse tables."""

from __future__ import annotations

import duckdb

from pipelines.methodology import Methodology
from pipelines.reference.units import admin_units
from pipelines.warehouse import replace_table


def load_admin_units(con: duckdb.DuckDBPyConnection) -> int:
    """Write ``ref.admin_units`` from the vietnam-provinces package."""
    return replace_table(con, "ref.admin_units", admin_units())


def load_methodology_tables(con: duckdb.DuckDBPyConnection, methodology: Methodology) -> dict[str, int]:
    """Write the ``ref.*`` method tables (indicators, terms, domains, tiers, ...)."""
    return {name: replace_table(con, f"ref.{name}", df) for name, df in methodology.tables().items()}
