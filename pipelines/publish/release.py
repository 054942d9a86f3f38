"""Versioned, immutable, atomic releases of a period's results.

Layout under ``Settings.publish_dir``::

    publish/<period>/v1/ ...             one folder per release, never changed after it is written
    publish/<period>/v2/ ...
    publish/<period>/latest.json         names the newest version (a file, not a symlink)

A release folder holds, for each table of :mod:`pipelines.publish.contract`,
``<table>.parquet`` and ``<table>.csv``; ``dictionary.csv`` and
``dictionary.md``; whatever the extra writers add (the Excel workbook, the
HTML report and its PDF); and ``manifest.json``, which records the provenance and the
sha256 of every other file.

Writing is all-or-nothing: the files go into ``publish/<period>/.tmp-v<N>-<random>``
on the same disk, are flushed to disk, and the folder is renamed to ``v<N>``
in one step; only then is ``latest.json`` replaced (temp file + ``os.replace``).
If anything fails, the temp folder is removed, no ``v<N>`` exists and
``latest.json`` is untouched; if replacing ``latest.json`` fails after the
rename, ``v<N>`` is taken back. A temp folder left by a crashed run is removed
by the next write. Writers of the same period are serialised by a lock file
(``publish/<period>/.lock``) where the platform offers ``fcntl``.

Whether a period may be published (the quality gate) is decided by the caller.
This module only reads the warehouse (``marts.*``, ``raw.ingest_files``,
``ref.methodology``, ``ref.assessment``) and never writes it.

Commune tables (child-friendly assessment and commune ranking)
--------------------------------------------------------------
``commune_assessment`` and ``commune_ranking`` come from
``marts.fct_commune_assessment`` and ``marts.fct_commune_ranking``. A
warehouse built before those marts existed publishes them empty (and says so
in the manifest). Disclosure control: the points of a criterion fed by a
sensitive data element (abuse cases, children in conflict with the law or
using drugs) would reveal the band of a small commune count, so for each
sensitive element the commune counts (``marts.fct_data_values``) go through
the same rule as ``indicator_values`` (primary 1-4 and complementary
suppression per province; the counts of an element that is also an indicator
numerator are suppressed exactly as in ``indicator_values``). Where the
commune's count of one of its sensitive inputs is suppressed, the criterion's
``points`` and ``met`` are published empty with ``suppressed = true``; the
commune's ``total_points`` is then empty too (it would give the hidden points
by subtraction), and ``reason`` names every hidden criterion alike, met or
not, without the total clause. The commune index leaves out indicators with a
sensitive numerator (dbt model ``int_commune_index``), so neither it nor the
rank gives a suppressed count away. ``recognised`` is the public recognition
decision and is published.

Disclosure audit: after the base rule, the tables are attacked as a reader
holding every published version of the period would
(:mod:`pipelines.publish.disclosure_audit`) and protected further where a
suppressed count could be narrowed below ``min_values`` values
(:mod:`pipelines.publish.disclosure_protect`, model ``methodology/disclosure.yaml``).
:func:`publish_period` audits the written files again in the temp folder,
before they become visible: a release that leaks is never published.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import math
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import date, datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.units.provenance import rebase_note
from pipelines.publish import contract
from pipelines.publish.dictionary import dictionary_frame, write_dictionary
from pipelines.publish.disclosure_protect import disclosure_figures, disclosure_summary
from pipelines.publish.disclosure import (
    DisclosureResult,
    DisclosureRule,
    apply_disclosure_control,
    sensitive_indicator_codes,
)
from pipelines.files import fsync_dir, fsync_file, nfc_frame, sha256_file, write_csv, write_parquet, write_text
from pipelines.publish.history import HISTORY_NAME, append_history, check_period, load_latest, repair_latest

PACKAGE_NAME = "cri-pipeline"
MANIFEST_NAME = "manifest.json"
LATEST_NAME = "latest.json"
LOCK_NAME = ".lock"
TMP_PREFIX = ".tmp-"
MANIFEST_VERSION = 1

PERIOD_RE = re.compile(r"^\d{4}(?:H[12])?$")
VERSION_RE = re.compile(r"^v([1-9]\d*)$")

ExtraWriter = Callable[[Path, Mapping[str, pd.DataFrame]], Any]
Progress = Callable[[str, str], Any]


class WrittenTables(dict):
    """The tables an extra writer gets; ``disclosure``: how the release was protected (or None)."""

    def __init__(self, tables: Mapping[str, pd.DataFrame], disclosure: pd.DataFrame | None = None) -> None:
        super().__init__(tables)
        self.disclosure = disclosure


class ReleaseError(RuntimeError):
    """A release cannot be built or written; the message says why."""


# --------------------------------------------------------------------------------------------------
# results


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


@dataclass
class ReleaseResult:
    period: str
    version: int
    path: Path
    files: list[str]
    suppressed: int
    manifest: dict[str, Any] = field(repr=False)


@dataclass
class VerifyResult:
    period: str
    version: int | None
    path: Path | None
    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.changed or self.extra or self.problems)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return self.summary()

    def summary(self) -> str:
        if self.ok:
            return f"{self.period} v{self.version}: {self.checked} files verified"
        parts = [f"{k}: {', '.join(v)}" for k, v in
                 (("missing", self.missing), ("changed", self.changed), ("extra", self.extra),
                  ("problems", self.problems)) if v]
        return f"{self.period} v{self.version}: " + "; ".join(parts)


@dataclass(frozen=True)
class ReleaseInfo:
    period: str
    version: int
    path: Path
    created_at: str | None
    methodology_version: str | None
    latest: bool

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


# --------------------------------------------------------------------------------------------------
# reading the warehouse

_MART_COLUMNS = {
    "marts.fct_province_ranking": [
        "period", "province_code", "province_name", "pcri", "rank", "tier", "tier_name_vi", "tier_name_en",
        "previous_rank", "rank_change", "indicators_used", "indicators_total", "not_ranked_reason"],
    "marts.fct_domain_scores": [
        "period", "unit_level", "province_code", "domain_code", "domain_name_vi", "domain_name_en", "score",
        "indicators_used", "indicators_total"],
    "marts.fct_indicator_values": [
        "period", "unit_level", "unit_code", "unit_name", "province_code", "indicator_code", "numerator",
        "denominator", "value", "score"],
    "marts.dim_indicator": ["indicator_code", "is_sensitive"],
}

_SQL = {
    "province_ranking": """
        select period, province_code, province_name, pcri, rank, tier, rank_change, indicators_used,
               indicators_total, not_ranked_reason, tier_name_vi as tier_name, tier_name_en, previous_rank
        from marts.fct_province_ranking where period = ?""",
    "domain_scores": """
        select period, province_code, domain_code, domain_name_vi as domain_name, score, domain_name_en,
               indicators_used, indicators_total
        from marts.fct_domain_scores where period = ? and unit_level = 'province'""",
    "indicator_values": """
        select period, unit_level, unit_code, unit_name, province_code, indicator_code, numerator, denominator,
               value, score
        from marts.fct_indicator_values where period = ?""",
}


_COMMUNE_MART_COLUMNS = {
    "marts.fct_commune_assessment": [
        "period", "commune_code", "commune_name", "province_code", "criterion_code", "criterion_name_vi",
        "criterion_ordinal", "points", "max_points", "pass_points", "met", "is_sensitive", "shortfall_vi"],
    "marts.fct_commune_ranking": [
        "period", "commune_code", "commune_name", "province_code", "index", "rank_in_province", "tier",
        "tier_name_vi", "recognised", "reason", "commune_type", "threshold_points", "total_points",
        "not_ranked_reason", "indicators_used", "indicators_total", "is_assessed", "total_shortfall_vi",
        "commune_type_source"],
}

_COMMUNE_SQL = {
    "commune_assessment": """
        select period, commune_code, commune_name, province_code, criterion_code, criterion_name_vi,
               criterion_ordinal, points, max_points, pass_points, met, is_sensitive, shortfall_vi
        from marts.fct_commune_assessment where period = ?""",
    "commune_ranking": """
        select period, commune_code, commune_name, province_code, index, rank_in_province, tier,
               tier_name_vi as tier_name, recognised, reason, commune_type, threshold_points, total_points,
               not_ranked_reason, indicators_used, indicators_total, is_assessed, total_shortfall_vi,
               commune_type_source
        from marts.fct_commune_ranking where period = ?""",
}

SUPPRESSED_CRITERION_VI = "chưa đạt hoặc 0 điểm (điểm được ẩn để bảo mật số liệu)"


def _check_period(period: str) -> str:
    if not isinstance(period, str) or not PERIOD_RE.match(period):
        raise ReleaseError(f"'{period}' is not a period: expected YYYY, YYYYH1 or YYYYH2")
    return period


def _table_columns(con, table: str) -> list[str] | None:
    schema, name = table.split(".")
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, name]).fetchall()
    return [r[0] for r in rows] or None


def _require_columns(con, table: str, wanted: Sequence[str]) -> None:
    have = _table_columns(con, table)
    if have is None:
        raise ReleaseError(f"the warehouse has no table {table} (run the dbt models first)")
    missing = [c for c in wanted if c not in have]
    if missing:
        raise ReleaseError(f"{table} has no column '{missing[0]}' (the architecture contract lists it)")


def read_input_files(con, period: str) -> list[dict[str, Any]]:
    """The landing files the period's data came from (``raw.ingest_files``; the latest load of each file)."""
    _require_columns(con, "raw.ingest_files",
                     ["period", "sector", "source_file", "file_sha256", "rows_total", "rows_loaded", "rows_rejected",
                      "loaded_at"])
    rows = con.execute("""
        select sector, source_file, file_sha256, rows_total, rows_loaded, rows_rejected
        from raw.ingest_files where period = ?
        qualify row_number() over (partition by sector, source_file order by loaded_at desc, file_sha256) = 1
        order by sector, source_file""", [period]).fetchall()
    return [
        {"source_file": r[1], "sector": r[0], "sha256": r[2], "rows": int(r[3]), "rows_loaded": int(r[4]),
         "rows_rejected": int(r[5])}
        for r in rows
    ]


def _warehouse_methodology_sha(con) -> str | None:
    cols = _table_columns(con, "ref.methodology")
    if not cols or "file_sha256" not in cols:
        return None
    row = con.execute("select file_sha256 from ref.methodology limit 1").fetchone()
    return row[0] if row else None


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


# --------------------------------------------------------------------------------------------------
# commune tables (see the module text)


def _empty(name: str) -> pd.DataFrame:
    return pd.DataFrame({c.name: pd.Series(dtype="object") for c in contract.table(name).columns})


def commune_suppression(con, period: str, methodology, rule: DisclosureRule) -> pd.DataFrame:
    """Which commune counts of the assessment's sensitive inputs are suppressed by ``rule``.

    Columns: commune_code, data_element, suppressed (one row per commune with a
    reported count). The counts of each sensitive element go through
    :func:`apply_disclosure_control` as if the element were an indicator
    numerator, so an element that is one (ABUSE_CASES of P2_ABUSE_RATE) is
    suppressed in the same communes as in ``indicator_values``.
    """
    assessment = methodology.commune_assessment
    elements = methodology.elements_by_code
    sensitive = [e for e in (assessment.elements if assessment else ()) if elements[e].sensitive]
    if not sensitive or _table_columns(con, "marts.fct_data_values") is None:
        return pd.DataFrame(columns=["commune_code", "data_element", "suppressed"])
    counts = con.execute(
        f"""select period, unit_level, unit_code, province_code, data_element as indicator_code,
                   value as numerator, value, cast(null as double) as score
            from marts.fct_data_values
            where period = ? and unit_level = 'commune' and data_element in ({", ".join("?" for _ in sensitive)})""",
        [period, *sensitive]).df()
    result = apply_disclosure_control(counts, sensitive, rule).table
    return pd.DataFrame({"commune_code": result["unit_code"].astype(str),
                         "data_element": result["indicator_code"].astype(str),
                         "suppressed": result["suppressed"].astype(bool)})


def build_commune_tables(con, period: str, methodology, rule: DisclosureRule) -> dict[str, Any]:
    """``commune_assessment`` and ``commune_ranking`` of the period, disclosure control applied.

    Returns the two frames (not yet conformed), ``source_commune_assessment``
    (before disclosure control) and the manifest summary under the other keys.
    """
    present = {t: _table_columns(con, t) is not None for t in _COMMUNE_MART_COLUMNS}
    assessment = methodology.commune_assessment
    if not any(present.values()):
        return {"commune_assessment": _empty("commune_assessment"), "commune_ranking": _empty("commune_ranking"),
                "source_commune_assessment": _empty("commune_assessment"), "source_commune_ranking": None,
                "source": "the warehouse has no commune marts: commune tables published empty"}
    for table, cols in _COMMUNE_MART_COLUMNS.items():
        _require_columns(con, table, cols)
    if assessment is not None and _table_columns(con, "ref.assessment") is not None:
        row = con.execute("select file_sha256 from ref.assessment limit 1").fetchone()
        if row and row[0] != assessment.sha256:
            raise ReleaseError(
                f"the warehouse was computed with commune assessment sha256 {row[0]}, but the methodology names "
                f"{assessment.path.name} (sha256 {assessment.sha256}): rebuild the warehouse")
    frames = {name: con.execute(sql, [period]).df() for name, sql in _COMMUNE_SQL.items()}
    crit, ranking = frames["commune_assessment"], frames["commune_ranking"]
    source_ranking = ranking.assign(commune_code=ranking["commune_code"].astype(str))

    # which criteria are suppressed: a sensitive input of the criterion is suppressed for the commune
    suppressed_pairs = commune_suppression(con, period, methodology, rule)
    suppressed_pairs = suppressed_pairs[suppressed_pairs["suppressed"]]
    criterion_elements = pd.DataFrame(
        [(c.code, e) for c in (assessment.criteria if assessment else ()) for e in c.elements
         if methodology.elements_by_code[e].sensitive], columns=["criterion_code", "data_element"])
    hidden = suppressed_pairs.merge(criterion_elements, on="data_element")[["commune_code", "criterion_code"]]
    hidden = set(map(tuple, hidden.drop_duplicates().to_numpy()))
    crit = crit.copy()
    crit["commune_code"] = crit["commune_code"].astype(str)
    crit["suppressed"] = [(c, k) in hidden for c, k in zip(crit["commune_code"], crit["criterion_code"])]
    source = crit.copy()
    crit["points"] = crit["points"].astype("Float64")
    crit["met"] = crit["met"].astype("boolean")
    crit.loc[crit["suppressed"], ["points", "met"]] = pd.NA
    assumed = {c.code: c.assumed for c in (assessment.criteria if assessment else ())}
    crit["assumed"] = crit["criterion_code"].map(assumed)

    # the published reason: criteria with suppressed points are named without points
    ranking = ranking.copy()
    ranking["commune_code"] = ranking["commune_code"].astype(str)
    with_hidden = {c for c, _ in hidden}
    parts: dict[str, list[str]] = {}
    for r in crit[crit["commune_code"].isin(with_hidden)].sort_values(
            ["commune_code", "criterion_ordinal"]).itertuples(index=False):
        if not (isinstance(r.shortfall_vi, str) and r.shortfall_vi):
            continue
        parts.setdefault(r.commune_code, []).append(
            f"{r.criterion_code} ({r.criterion_name_vi}): {SUPPRESSED_CRITERION_VI}" if r.suppressed
            else r.shortfall_vi)
    reasons = []
    for r in ranking.itertuples(index=False):
        if not _true(r.is_assessed) or _true(r.recognised) or r.commune_code not in with_hidden:
            reasons.append(r.reason if isinstance(r.reason, str) else None)
            continue
        text = list(parts.get(r.commune_code, []))
        if isinstance(r.total_shortfall_vi, str) and r.total_shortfall_vi:
            # "Tổng điểm 840 dưới ngưỡng 850 (type)" without the total
            text.append(re.sub(r"^Tổng điểm \S+ dưới", "Tổng điểm dưới", r.total_shortfall_vi))
        reasons.append("; ".join(text) or None)
    ranking["reason"] = reasons
    hidden_total = ranking["commune_code"].isin(with_hidden)
    ranking["total_points"] = ranking["total_points"].astype("Float64")
    ranking.loc[hidden_total, "total_points"] = pd.NA

    assessed = ranking["is_assessed"].fillna(False).astype(bool)
    summary = {
        "source": "marts.fct_commune_assessment, marts.fct_commune_ranking",
        "assessment": None if assessment is None else {
            "code": assessment.code, "version": assessment.version, "file": assessment.path.name,
            "sha256": assessment.sha256, "periods": assessment.periods,
            "criteria_assumed": [c.code for c in assessment.criteria if c.assumed],
        },
        "communes": int(len(ranking)),
        "communes_assessed": int(assessed.sum()),
        "communes_recognised": int(ranking["recognised"].eq(True).sum()),
        "communes_ranked": int(ranking["rank_in_province"].notna().sum()),
        "commune_types_from_file": int(ranking["commune_type_source"].eq("file").sum()),
        "criteria_suppressed": int(crit["suppressed"].sum()),
        "communes_with_suppressed_criteria": len(with_hidden & set(ranking["commune_code"])),
    }
    return {"commune_assessment": crit, "commune_ranking": ranking, "source_commune_assessment": source,
            "source_commune_ranking": source_ranking, **summary}


def _true(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and value is not pd.NA \
        and bool(value)


def audit_commune_tables(source: pd.DataFrame, published: Mapping[str, pd.DataFrame]) -> list[str]:
    """Check the published commune tables against the criterion points before disclosure control.

    Suppressed criteria carry no points and no met; a commune with a suppressed
    criterion publishes no total; unsuppressed criteria are published unchanged.
    """
    out: list[str] = []
    pub = published["commune_assessment"]
    if source is None or source.empty or pub.empty:
        return out
    key = ["period", "commune_code", "criterion_code"]
    m = source[key + ["points", "met", "suppressed"]].merge(
        pub[key + ["points", "met", "suppressed"]].astype({"commune_code": str}), on=key, how="outer",
        suffixes=("_orig", "_pub"), indicator=True)
    if (m["_merge"] != "both").any():
        return [f"commune_assessment rows differ from the warehouse, e.g. {m.loc[m['_merge'] != 'both', key].iloc[0].to_dict()}"]
    sup = m["suppressed_pub"].fillna(False).astype(bool)
    if (sup != m["suppressed_orig"].astype(bool)).any():
        out.append("commune_assessment: the suppressed flags differ from the disclosure decision")
    leaked = sup & (m["points_pub"].notna() | m["met_pub"].notna())
    if leaked.any():
        out.append(f"commune_assessment: {int(leaked.sum())} suppressed criteria still publish points or met")
    a = pd.to_numeric(m["points_orig"], errors="coerce")
    b = pd.to_numeric(m["points_pub"], errors="coerce")
    changed = ~sup & ~((a == b) | (a.isna() & b.isna()))
    if changed.any():
        out.append(f"commune_assessment: points changed for {int(changed.sum())} unsuppressed criteria")
    hidden = set(m.loc[sup, "commune_code"].astype(str))
    ranking = published["commune_ranking"]
    shown = ranking["commune_code"].astype(str).isin(hidden) & ranking["total_points"].notna()
    if shown.any():
        out.append(f"commune_ranking: {int(shown.sum())} communes with a suppressed criterion publish total_points")
    return out




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


# --------------------------------------------------------------------------------------------------
# provenance


def code_version() -> dict[str, Any]:
    """The package version and, when the code runs from a git checkout, its commit."""
    try:
        version = importlib_metadata.version(PACKAGE_NAME)
    except importlib_metadata.PackageNotFoundError:
        version = None
    commit, dirty = _git_commit()
    return {"package": PACKAGE_NAME, "version": version, "git_commit": commit, "git_dirty": dirty}


def _git(args: list[str], cwd: Path) -> str | None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_OPTIONAL_LOCKS"] = "0"  # never write the index while asking
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=15,
                              check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def _git_commit() -> tuple[str | None, bool | None]:
    from pipelines.settings import REPO_ROOT

    top = _git(["rev-parse", "--show-toplevel"], REPO_ROOT)
    # only the repository this code lives in counts, not one that happens to contain an installed copy
    if not top or Path(top).resolve() != REPO_ROOT.resolve():
        return None, None
    commit = _git(["rev-parse", "HEAD"], REPO_ROOT)
    if not commit or not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", commit):
        return None, None
    status = _git(["status", "--porcelain", "--untracked-files=no"], REPO_ROOT)
    return commit, (None if status is None else bool(status))


def quality_summary(checks: Sequence[Mapping[str, Any]], waivers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts of the checks passed in.

    A check is a dict with ``check_code`` (or ``code``), ``severity`` and
    ``passed``, and optionally ``waived``; without a ``waived`` field, a failed
    check counts as waived when a waiver names its code (``check_code`` or ``check``).
    """
    waived_codes = {w.get("check_code") or w.get("check") for w in waivers}

    def waived(c: Mapping[str, Any]) -> bool:
        if "waived" in c:
            return bool(c["waived"])
        return (c.get("check_code") or c.get("code")) in waived_codes

    failed = [c for c in checks if not c.get("passed")]
    return {
        "checks": len(checks),
        "checks_passed": sum(1 for c in checks if c.get("passed")),
        "checks_failed": len(failed),
        "failed_blocking": sum(1 for c in failed if c.get("severity") == "blocking"),
        "failed_warning": sum(1 for c in failed if c.get("severity") == "warning"),
        "failed_waived": sum(1 for c in failed if waived(c)),
    }


def _jsonable(obj: Any) -> Any:
    if obj is None or isinstance(obj, (str, bool, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(_jsonable(v) for v in obj)
    if isinstance(obj, datetime):
        if obj.tzinfo is not None:
            obj = obj.astimezone(timezone.utc).replace(tzinfo=None)
        return obj.isoformat()
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if callable(getattr(obj, "to_dict", None)):
        return _jsonable(obj.to_dict())
    if is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(asdict(obj))
    if obj is pd.NA or obj is pd.NaT:
        return None
    if hasattr(obj, "item"):  # numpy scalars
        return _jsonable(obj.item())
    return str(obj)


def _dump(obj: Any) -> str:
    return json.dumps(_jsonable(obj), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def _utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------------------------------
# the folder of a period


def _versions(period_dir: Path) -> list[int]:
    if not period_dir.is_dir():
        return []
    out = []
    for p in period_dir.iterdir():
        m = VERSION_RE.match(p.name)
        if m and p.is_dir():
            out.append(int(m.group(1)))
    return sorted(out)


def _period_dir(publish_dir: Path | str, period: str | None) -> Path:
    # (publish_dir, period), or the period's folder alone (``Settings.publish_period_dir(period)``)
    return Path(publish_dir) if period is None else Path(publish_dir) / _check_period(period)


def read_latest(publish_dir: Path | str, period: str | None = None) -> dict[str, Any] | None:
    """The content of ``publish/<period>/latest.json``, or None when there is none.

    Call with ``(publish_dir, period)`` or with the period's folder alone.
    """
    folder = _period_dir(publish_dir, period)
    latest, problem = load_latest(folder)
    if problem:
        raise ReleaseError(f"{folder / LATEST_NAME}: {problem}. 'cri run' puts it back from {HISTORY_NAME}; "
                           f"'cri releases verify {folder.name}' says what else is wrong")
    return latest


def latest_version(publish_dir: Path | str, period: str | None = None) -> int | None:
    """The version ``latest.json`` names (None: nothing published). ``(publish_dir, period)`` or the period folder."""
    latest = read_latest(publish_dir, period)
    return int(latest["version"]) if latest else None


@contextlib.contextmanager
def _period_lock(period_dir: Path):
    try:
        import fcntl
    except ImportError:  # no advisory locks here: the run queue keeps to one writer
        yield
        return
    with open(period_dir / LOCK_NAME, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _remove_stale_temps(period_dir: Path) -> list[str]:
    removed = []
    for p in period_dir.iterdir():
        if p.name.startswith(TMP_PREFIX):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    p.unlink()
            removed.append(p.name)
    return removed


def _files_in(folder: Path) -> list[str]:
    """Every file under ``folder``, as sorted POSIX paths relative to it."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def _write_latest(period_dir: Path, content: dict[str, Any]) -> None:
    tmp = period_dir / f"{TMP_PREFIX}latest-{secrets.token_hex(4)}.json"
    try:
        write_text(tmp, _dump(content))
        os.replace(tmp, period_dir / LATEST_NAME)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(period_dir)


# --------------------------------------------------------------------------------------------------
# writing


_RESERVED_MANIFEST_KEYS = {"manifest_version", "period", "release_version", "release", "created_at", "methodology",
                           "code", "contract_version", "tables", "outputs"}


def _call_writer(writer: ExtraWriter, folder: Path, tables: dict[str, pd.DataFrame], release: dict) -> None:
    """An extra writer with a ``release`` parameter also gets the version and date of the release it writes into."""
    try:
        wants_release = "release" in inspect.signature(writer).parameters
    except (TypeError, ValueError):
        wants_release = False
    if wants_release:
        writer(folder, tables, release=release)
    else:
        writer(folder, tables)


def write_release(
    publish_dir: Path | str,
    period: str,
    tables: Mapping[str, pd.DataFrame],
    methodology,
    provenance: Mapping[str, Any] | None = None,
    extra_writers: Iterable[ExtraWriter] = (),
    on_progress: Progress | None = None,
    disclosure_audit: Callable[[Path, int], Any] | None = None,
) -> ReleaseResult:
    """Write ``tables`` as the next release ``publish/<period>/v<N>/`` (atomic; see the module text).

    ``disclosure_audit(folder, version)`` attacks the files written in the temp
    folder (with the earlier versions) before they become visible: when it
    finds a suppressed count a reader can pin, nothing is published
    (:class:`ReleaseError`); its summary goes into ``manifest.json`` under
    ``disclosure.audit``.

    ``tables`` must match the contract exactly (else :class:`ContractError`
    naming the column, before anything is written). ``provenance`` goes into
    the manifest as is (inputs, checks, quality, waivers, disclosure, ...).
    ``extra_writers`` are called as ``writer(folder, tables)`` after the
    tables and the dictionary are written, and may add files (not replace
    them). ``on_progress(event, name)`` is called after each file
    (``"file"``, its relative path), after each extra writer (``"extra"``),
    and after the rename, before ``latest.json`` is replaced (``"renamed"``,
    ``v<N>``); an exception raised by it aborts the release like any failure.
    """
    _check_period(period)
    reserved = sorted(set(provenance or {}) & _RESERVED_MANIFEST_KEYS)
    if reserved:
        raise ValueError(f"provenance may not set the manifest field '{reserved[0]}'; the release writes it")
    contract.validate_all(tables)  # before anything touches the disk
    tables = {name: nfc_frame(df) for name, df in tables.items()}
    progress = on_progress or (lambda event, name: None)
    extra_writers = list(extra_writers)

    publish_dir = Path(publish_dir)
    period_dir = publish_dir / period
    period_dir.mkdir(parents=True, exist_ok=True)

    with _period_lock(period_dir):
        _remove_stale_temps(period_dir)
        repair_latest(period_dir)  # a lost or cut latest.json is put back from history.jsonl (or refused)
        latest_before = read_latest(publish_dir, period)
        existing = _versions(period_dir) + ([int(latest_before["version"])] if latest_before else [])
        version = max(existing, default=0) + 1
        final = period_dir / f"v{version}"
        tmp = period_dir / f"{TMP_PREFIX}v{version}-{secrets.token_hex(6)}"
        tmp.mkdir()
        created_at = _utc_now()
        try:
            rows: dict[str, int] = {}
            for name in contract.TABLE_NAMES:
                df = tables[name]
                write_parquet(df, tmp / f"{name}.parquet", contract.arrow_schema(name),
                              {"cri.table": name, "cri.period": period, "cri.release": f"v{version}",
                               "cri.contract_version": contract.CONTRACT_VERSION})
                rows[f"{name}.parquet"] = len(df)
                progress("file", f"{name}.parquet")
                write_csv(df, tmp / f"{name}.csv", contract.table(name).dtypes)
                rows[f"{name}.csv"] = len(df)
                progress("file", f"{name}.csv")
            rule = DisclosureRule.from_methodology(methodology)
            for path in write_dictionary(tmp, methodology, rule):
                progress("file", path.name)
            rows["dictionary.csv"] = len(dictionary_frame(methodology))

            figures = None
            if disclosure_audit is not None:  # the tables as written, before anything else is added
                audited = disclosure_audit(tmp, version)
                if not audited.ok:
                    raise ReleaseError("disclosure audit: a reader of the published files can narrow suppressed "
                                       "counts to fewer than the required values, nothing published: "
                                       + "; ".join(audited.problems()[:5]))
                provenance = {**dict(provenance or {}), "disclosure": {
                    **dict((provenance or {}).get("disclosure") or {}), "audit": audited.summary()}}
                figures = disclosure_figures(provenance["disclosure"])
                progress("audit", "disclosure")
            own = {name: sha256_file(tmp / name) for name in _files_in(tmp)}
            release_info = {"release": f"v{version}", "created_at": created_at}
            for writer in extra_writers:
                # the tables; their ``disclosure`` attribute says how the release was protected (means, cells)
                _call_writer(writer, tmp, WrittenTables({name: df.copy() for name, df in tables.items()},
                                                        disclosure=figures), release_info)
                progress("extra", getattr(writer, "__name__", type(writer).__name__))
            for name, digest in own.items():
                if not (tmp / name).is_file() or sha256_file(tmp / name) != digest:
                    raise ReleaseError(f"an extra writer replaced or removed {name}; writers may only add files")
            names = [n for n in _files_in(tmp) if n != MANIFEST_NAME]
            if MANIFEST_NAME in _files_in(tmp):
                raise ReleaseError(f"an extra writer wrote {MANIFEST_NAME}; the release writes it")

            outputs = []
            for name in names:
                path = tmp / name
                if path.is_symlink():
                    raise ReleaseError(f"{name} is a symbolic link; a release holds files only")
                fsync_file(path)
                outputs.append({"name": name, "sha256": own.get(name) or sha256_file(path), "rows": rows.get(name),
                                "bytes": path.stat().st_size})
            manifest = {
                "manifest_version": MANIFEST_VERSION,
                "period": period,
                "release_version": version,
                "release": f"v{version}",
                "created_at": created_at,
                "methodology": {
                    "version": methodology.version,
                    "name_vi": methodology.name_vi,
                    "name_en": methodology.name_en,
                    "file": methodology.path.name,
                    "sha256": methodology.sha256,
                },
                "code": code_version(),
                "contract_version": contract.CONTRACT_VERSION,
                "tables": {
                    name: {"rows": len(tables[name]),
                           "columns": [{"name": c.name, "type": c.type} for c in contract.table(name).columns]}
                    for name in contract.TABLE_NAMES
                },
                **dict(provenance or {}),
                "outputs": outputs,
            }
            write_text(tmp / MANIFEST_NAME, _dump(manifest))
            progress("file", MANIFEST_NAME)
            for d in sorted({(tmp / n).parent for n in names} | {tmp}, key=lambda p: -len(p.parts)):
                fsync_dir(d)

            if final.exists():
                raise ReleaseError(f"{final} appeared while writing; not overwriting it")
            os.rename(tmp, final)
            fsync_dir(period_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

        recorded = False
        try:
            progress("renamed", final.name)
            manifest_sha = sha256_file(final / MANIFEST_NAME)
            append_history(period_dir, version, manifest_sha)  # the hash kept outside the release
            recorded = True
            _write_latest(period_dir, {
                "period": period, "version": version, "release": final.name, "created_at": created_at,
                "manifest_sha256": manifest_sha,
            })
        except BaseException:
            # take the release back: without latest.json pointing to it, it was never published
            if recorded:
                with contextlib.suppress(OSError):
                    append_history(period_dir, version, None, event="withdrawn")
            trash = period_dir / f"{TMP_PREFIX}v{version}-{secrets.token_hex(6)}-rollback"
            with contextlib.suppress(OSError):
                os.rename(final, trash)
                shutil.rmtree(trash, ignore_errors=True)
                fsync_dir(period_dir)
            raise

    disclosure = manifest.get("disclosure") or {}
    return ReleaseResult(period=period, version=version, path=final, files=[o["name"] for o in outputs],
                         suppressed=int(disclosure.get("cells_suppressed", 0) or 0), manifest=manifest)


def publish_period(
    con,
    period: str,
    settings,
    methodology,
    checks: Sequence[Mapping[str, Any]] = (),
    waivers: Sequence[Mapping[str, Any]] = (),
    extra_writers: Iterable[ExtraWriter] = (),
    *,
    quality: Mapping[str, Any] | None = None,
    units: Mapping[str, Any] | None = None,
    on_progress: Progress | None = None,
    built: ReleaseTables | None = None,
) -> ReleaseResult:
    """Build the release of ``period`` from the warehouse and write it as the next version.

    The caller (the Dagster publish asset) has already decided that the
    period may be published; ``checks`` (rows of ``quality.check_results``)
    and ``waivers`` are recorded in the manifest, with a quality summary
    computed from them (``quality`` adds or overrides fields). ``con`` is
    only read. ``extra_writers(folder, tables)`` add files to the release
    (Excel workbook, HTML report). ``units`` is ``rebase_note(con, period)`` when the caller has it already,
    ``built`` the period's ``build_release_tables`` when the caller has them already (from the same warehouse).
    """
    from pipelines.publish.disclosure_audit import audit_release_folder, earlier_versions
    from pipelines.publish.previous import apply_previous_ranks, previous_ranks

    period_dir = Path(settings.publish_dir) / _check_period(period)
    if built is None or built.protection is None:  # the gate's tables are built for their columns, unprotected
        built = build_release_tables(con, period, methodology, earlier=earlier_versions(period_dir))
    # previous ranks as published (the previous period's latest release), not as the warehouse has them now
    previous = previous_ranks(settings.publish_dir, period)
    built.tables["province_ranking"] = apply_previous_ranks(built.tables["province_ranking"], previous)

    def disclosure_audit(folder: Path, version: int):
        # the earlier versions on disk now (the lock is held), the written files, the reader of the disclosure model
        known = built.protection.primary_counts if built.protection.model.get("reader_knows_primary") else None
        return audit_release_folder(folder, methodology, period_dir=period_dir, version=version, primary_counts=known)

    # dicts as given (objects with to_dict(), e.g. CheckResult / Waiver, are turned into dicts)
    checks, waivers = [_jsonable(c) for c in checks], [_jsonable(w) for w in waivers]
    provenance = {
        "previous_ranks": previous.manifest(),
        "warehouse_methodology_sha256": built.warehouse_methodology_sha256,
        "inputs": built.inputs,
        "checks": checks,
        "quality": {**quality_summary(checks, waivers), **dict(quality or {})},
        "waivers": waivers,
        "disclosure": disclosure_summary(built.disclosure, built.protection),
        "commune_assessment": built.commune,
        # which units the period was computed on, and how values keyed by the units before 1 July 2025 were mapped
        "units": dict(units) if units is not None else rebase_note(con, period),
    }
    return write_release(settings.publish_dir, period, built.tables, methodology, provenance,
                         extra_writers=extra_writers, on_progress=on_progress, disclosure_audit=disclosure_audit)


# --------------------------------------------------------------------------------------------------
# reading releases back


def verify_release(publish_dir: Path | str, period: str, version: int | None = None) -> VerifyResult:
    """Re-hash every file the manifest lists; report missing, changed and extra files.

    ``version`` None: the version ``latest.json`` names (or the highest when it is absent).
    """
    publish_dir = Path(publish_dir)
    period_dir = publish_dir / _check_period(period)
    latest, latest_problem = load_latest(period_dir)
    if version is None:
        version = int(latest["version"]) if latest else max(_versions(period_dir), default=None)
    result = VerifyResult(period=period, version=version, path=None)
    # every version's manifest against its hash in history.jsonl, and latest.json's presence and integrity
    result.problems += check_period(period_dir) if period_dir.is_dir() else []
    if latest_problem and latest_problem not in result.problems:
        result.problems.append(latest_problem)
    if version is None:
        result.problems.append(f"no release of period {period} under {publish_dir}")
        return result
    folder = period_dir / f"v{version}"
    result.path = folder
    if not folder.is_dir():
        result.problems.append(f"{folder} does not exist")
        return result
    if latest and int(latest.get("version", 0)) > max(_versions(period_dir), default=0):
        result.problems.append(f"{LATEST_NAME} names v{latest.get('version')}, which does not exist")
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        result.missing.append(MANIFEST_NAME)
        return result
    except (OSError, ValueError) as exc:
        result.problems.append(f"{MANIFEST_NAME} cannot be read: {exc}")
        return result
    if manifest.get("period") != period or manifest.get("release_version") != version:
        result.problems.append(f"{MANIFEST_NAME} describes {manifest.get('period')} "
                               f"v{manifest.get('release_version')}, not {period} v{version}")
    if latest and int(latest.get("version", 0)) == version and latest.get("manifest_sha256") not in (
            None, sha256_file(folder / MANIFEST_NAME)):
        result.changed.append(MANIFEST_NAME)

    listed = set()
    root = folder.resolve()
    for entry in manifest.get("outputs", []):
        name = str(entry.get("name", ""))
        listed.add(name)
        path = folder / name
        if not name or root not in path.resolve().parents:
            result.problems.append(f"{MANIFEST_NAME} lists a file outside the release: {name!r}")
            continue
        result.checked += 1
        if not path.is_file():
            result.missing.append(name)
        elif path.stat().st_size != entry.get("bytes") or sha256_file(path) != entry.get("sha256"):
            result.changed.append(name)
    result.extra = [n for n in _files_in(folder) if n != MANIFEST_NAME and n not in listed]
    return result


def list_releases(publish_dir: Path | str) -> list[ReleaseInfo]:
    """Every release under ``publish_dir``, by period then version."""
    publish_dir = Path(publish_dir)
    if not publish_dir.is_dir():
        return []
    out = []
    for period_dir in sorted(p for p in publish_dir.iterdir() if p.is_dir() and PERIOD_RE.match(p.name)):
        try:
            latest = latest_version(publish_dir, period_dir.name)
        except (OSError, ValueError, KeyError, TypeError, ReleaseError):  # a broken latest.json names no version
            latest = None
        for v in _versions(period_dir):
            folder = period_dir / f"v{v}"
            try:
                manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                manifest = {}
            out.append(ReleaseInfo(
                period=period_dir.name, version=v, path=folder, created_at=manifest.get("created_at"),
                methodology_version=(manifest.get("methodology") or {}).get("version"), latest=(v == latest)))
    return out
