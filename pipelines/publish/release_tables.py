"""The release tables of a period, built from the warehouse (read-only), conformed, sorted and protected."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.files import nfc_frame
from pipelines.publish import contract
from pipelines.publish.commune_tables import audit_commune_tables, build_commune_tables
from pipelines.publish.disclosure import (
    DisclosureResult,
    DisclosureRule,
    apply_disclosure_control,
)
from pipelines.sensitive import sensitive_indicator_codes
from pipelines.publish.sources import (
    _MART_COLUMNS,
    _SQL,
    ReleaseError,
    _check_period,
    _require_columns,
    _warehouse_methodology_sha,
    read_input_files,
)


@dataclass
class ReleaseTables:
    """The release tables of a period, built from the warehouse, disclosure control applied."""

    period: str
    tables: dict[str, pd.DataFrame]
    disclosure: DisclosureResult
    inputs: list[dict[str, Any]]
    warehouse_methodology_sha256: str | None = None
    source_indicator_values: pd.DataFrame | None = field(default=None, repr=False)  # before disclosure control
    commune: dict[str, Any] = field(default_factory=dict)  # what the commune tables hold (manifest)
    source_commune_assessment: pd.DataFrame | None = field(default=None, repr=False)  # before disclosure control
    protection: Any = field(default=None, repr=False)  # disclosure_protect.Protection: audit and further protection



def build_release_tables(con, period: str, methodology, earlier: Sequence[Mapping[str, pd.DataFrame]] = (),
                         protect: bool = True) -> ReleaseTables:
    """Read the period's marts (read-only) and build the release tables, disclosure control applied.

    The tables are conformed to the contract (column order and types),
    text is NFC, and rows are sorted as the contract documents. After the
    base rule, the disclosure audit attacks the tables with ``earlier``
    (the published versions of the period) and protects more where it must
    (:mod:`pipelines.publish.disclosure_protect`); ``protect=False`` skips
    that (the contract check of the gate, which looks at columns only).
    """
    _check_period(period)
    for table, cols in _MART_COLUMNS.items():
        _require_columns(con, table, cols)
    wh_sha = _warehouse_methodology_sha(con)
    if wh_sha is not None and wh_sha != methodology.sha256:
        raise ReleaseError(
            f"the warehouse was computed with methodology sha256 {wh_sha}, but the release names "
            f"{methodology.path.name} (sha256 {methodology.sha256}, version {methodology.version}): "
            f"rebuild the warehouse or publish with the methodology it was computed with")

    raw = {name: con.execute(sql, [period]).df() for name, sql in _SQL.items()}
    for name, df in raw.items():
        if df.empty:
            raise ReleaseError(f"no rows for period {period} in the source of {name}: nothing to publish")

    mart_sensitive = {
        r[0] for r in con.execute("select indicator_code from marts.dim_indicator where is_sensitive").fetchall()
    }
    sensitive = sensitive_indicator_codes(methodology) | mart_sensitive
    rule = DisclosureRule.from_methodology(methodology)
    disclosure = apply_disclosure_control(raw["indicator_values"], sensitive, rule)

    commune = build_commune_tables(con, period, methodology, rule)
    tables = {
        "province_ranking": raw["province_ranking"],
        "domain_scores": raw["domain_scores"],
        "indicator_values": disclosure.table,
        "commune_assessment": commune.pop("commune_assessment"),
        "commune_ranking": commune.pop("commune_ranking"),
    }
    source_assessment = commune.pop("source_commune_assessment")
    source_ranking = commune.pop("source_commune_ranking")
    tables = {name: nfc_frame(contract.conform(name, df)) for name, df in tables.items()}
    tables = sort_tables(tables, methodology)
    from pipelines.publish.disclosure_protect import protect_release

    protection = None
    if protect:
        protection = protect_release(con, period, methodology, tables, raw["indicator_values"], source_assessment,
                                     source_ranking, earlier)
        if protection.failures:
            raise ReleaseError(f"the release of {period} cannot be protected from a reader who recovers hidden "
                               f"counts: {'; '.join(protection.failures)}; nothing was published")
        tables = {**tables, **{name: nfc_frame(contract.conform(name, df)) for name, df in protection.tables.items()}}
    disclosure.table = tables["indicator_values"]
    return ReleaseTables(period=period, tables=tables, disclosure=disclosure, inputs=read_input_files(con, period),
                         warehouse_methodology_sha256=wh_sha, source_indicator_values=raw["indicator_values"],
                         commune=commune, source_commune_assessment=source_assessment, protection=protection)


def check_release_tables(con, period: str, methodology) -> list[str]:
    """What would stop the period's release, found before publishing (for the quality gate's output check).

    Builds the release tables from the warehouse (read-only) and returns the
    problems: marts that do not match the architecture contract, tables that
    do not match the release contract, and disclosure-rule failures. Groups
    the rule cannot protect (see :mod:`pipelines.publish.disclosure`) are
    listed with the prefix ``residual:``. Empty list: the release can be written.
    """
    from pipelines.publish.disclosure import audit

    try:
        built = build_release_tables(con, period, methodology)
    except (ReleaseError, contract.ContractError) as exc:
        return [str(exc)]
    found: list[str] = []
    for name, df in built.tables.items():
        found += contract.problems(name, df)
    found += audit(built.source_indicator_values, built.tables["indicator_values"],
                   built.disclosure.sensitive_indicators, built.disclosure.rule)
    found += audit_commune_tables(built.source_commune_assessment, built.tables)
    return found


def check_release_files(folder: Path | str) -> list[str]:
    """Check the written table files of a release folder against the contract (Parquet schema, CSV header, BOM)."""
    import csv

    import pyarrow.parquet as pq

    folder = Path(folder)
    found: list[str] = []
    for name in contract.TABLE_NAMES:
        pq_path, csv_path = folder / f"{name}.parquet", folder / f"{name}.csv"
        if not pq_path.is_file():
            found.append(f"{pq_path.name} is missing")
        else:
            found += contract.schema_problems(name, pq.read_schema(pq_path))
        if not csv_path.is_file():
            found.append(f"{csv_path.name} is missing")
            continue
        with open(csv_path, "rb") as fh:
            if not fh.read(3) == b"\xef\xbb\xbf":
                found.append(f"{csv_path.name} does not start with a UTF-8 byte-order mark")
        with open(csv_path, encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), [])
        found += contract.header_problems(name, header)
    return found


def sort_tables(tables: Mapping[str, pd.DataFrame], methodology=None) -> dict[str, pd.DataFrame]:
    """Sort the release tables in the documented, deterministic row order."""
    domain_order = {d.code: n for n, d in enumerate(methodology.domains)} if methodology else {}
    indicator_order = {i.code: n for n, i in enumerate(methodology.indicators)} if methodology else {}
    far = 10**9
    out = dict(tables)

    def _sorted(df: pd.DataFrame, keys: dict[str, pd.Series]) -> pd.DataFrame:
        helper = pd.DataFrame({k: v.reset_index(drop=True) for k, v in keys.items()})
        order = helper.sort_values(list(helper.columns), kind="mergesort", na_position="last").index
        return df.reset_index(drop=True).iloc[order].reset_index(drop=True)

    if "province_ranking" in out:
        df = out["province_ranking"]
        out["province_ranking"] = _sorted(df, {
            "r": df["rank"].astype("Float64").fillna(float(far)).astype("float64"),
            "p": df["province_code"].astype(str)})
    if "domain_scores" in out:
        df = out["domain_scores"]
        out["domain_scores"] = _sorted(df, {
            "p": df["province_code"].astype(str),
            "o": df["domain_code"].map(lambda c: domain_order.get(c, far)).astype("int64"),
            "d": df["domain_code"].astype(str)})
    if "commune_assessment" in out:
        df = out["commune_assessment"]
        criterion_order = ({c.code: n for n, c in enumerate(methodology.commune_assessment.criteria)}
                           if methodology is not None and getattr(methodology, "commune_assessment", None) else {})
        out["commune_assessment"] = _sorted(df, {
            "p": df["province_code"].astype(str),
            "u": df["commune_code"].astype(str),
            "o": df["criterion_code"].map(lambda c: criterion_order.get(c, far)).astype("int64"),
            "c": df["criterion_code"].astype(str)})
    if "commune_ranking" in out:
        df = out["commune_ranking"]
        out["commune_ranking"] = _sorted(df, {
            "p": df["province_code"].astype(str),
            "r": df["rank_in_province"].astype("Float64").fillna(float(far)).astype("float64"),
            "u": df["commune_code"].astype(str)})
    if "indicator_values" in out:
        df = out["indicator_values"]
        out["indicator_values"] = _sorted(df, {
            "l": df["unit_level"].map(lambda v: 0 if v == "province" else 1).astype("int64"),
            "p": df["province_code"].astype(str),
            "u": df["unit_code"].astype(str),
            "o": df["indicator_code"].map(lambda c: indicator_order.get(c, far)).astype("int64"),
            "i": df["indicator_code"].astype(str)})
    return out
