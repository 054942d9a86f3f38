"""Ingest of landing files: ``parse`` (pure parsing and checks) and ``assets`` (Dagster, DuckDB)."""
