"""Record-level registries: declarations, ingest into DuckDB, checks."""
