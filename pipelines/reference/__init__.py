"""Reference data: administrative units, commune types and the methodology, as warehouse tables."""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.methodology import Methodology
from pipelines.partitions import all_periods, previous_period
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
    """Write the ``ref.*`` method tables (indicators, terms, domains, tiers, commune assessment, ...), and
    ``ref.periods``: every reporting period and the one its rank change is measured against."""
    counts = {name: replace_table(con, f"ref.{name}", df) for name, df in methodology.tables().items()}
    counts["periods"] = replace_table(con, "ref.periods", periods_table())
    return counts


def periods_table() -> pd.DataFrame:
    """period, previous_period: ``pipelines.partitions.previous_period`` (its one implementation) for every
    period, so that the dbt models compare with the same previous period as the gate and the release."""
    periods = all_periods()
    return pd.DataFrame({"period": periods, "previous_period": [previous_period(p) for p in periods]})
