"""Reference data: administrative units, commune types and the methodology, as warehouse tables."""

from __future__ import annotations

import duckdb

from pipelines.methodology import Methodology
from pipelines.reference.commune_types import ensure_commune_types
from pipelines.reference.units import admin_units
from pipelines.warehouse import replace_table


def load_admin_units(con: duckdb.DuckDBPyConnection) -> int:
    """Write ``ref.admin_units`` from the vietnam-provinces package.

    Also creates ``ref.commune_types`` (every commune of the default type) when
    it does not exist yet, so that the models run before the operator's commune
    type file is loaded (the ``reference/commune_types`` asset).
    """
    units = admin_units()
    n = replace_table(con, "ref.admin_units", units)
    ensure_commune_types(con, units)
    return n


def load_methodology_tables(con: duckdb.DuckDBPyConnection, methodology: Methodology) -> dict[str, int]:
    """Write the ``ref.*`` method tables (indicators, terms, domains, tiers, commune assessment, ...)."""
    return {name: replace_table(con, f"ref.{name}", df) for name, df in methodology.tables().items()}
