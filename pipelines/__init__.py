"""Child-rights indicator pipeline for Viet Nam (Dagster code location)."""
