"""Ingest of landing files: ``parse`` (pure parsing and checks, CSV and workbooks), ``workbook`` and
``template`` (agency workbooks), ``assets`` (Dagster, DuckDB); ``pipelines.units.provenance`` says what ingest did with
the units: ``match_summary`` per file, ``rebase_note`` per period)."""

from pipelines.units.provenance import match_summary, rebase_note

__all__ = ["match_summary", "rebase_note"]
