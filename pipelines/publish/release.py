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
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.files import fsync_dir, fsync_file, nfc_frame, sha256_file, write_csv, write_parquet, write_text
from pipelines.publish import contract, published
from pipelines.publish.dictionary import dictionary_frame, write_dictionary
from pipelines.publish.disclosure import DisclosureRule
from pipelines.publish.disclosure_protect import disclosure_figures, disclosure_summary
from pipelines.publish.folders import LOCK_NAME, MANIFEST_NAME, TMP_PREFIX, write_latest
from pipelines.publish.folders import files_in as _files_in
from pipelines.publish.folders import versions as _versions
from pipelines.publish.history import append_history, read_latest
from pipelines.publish.verify import repair_latest
from pipelines.publish.provenance import _dump, _jsonable, _utc_now, code_version, quality_summary
from pipelines.publish.release_tables import ReleaseTables, build_release_tables
from pipelines.publish.sources import ReleaseError, _check_period
from pipelines.units.provenance import rebase_note

MANIFEST_VERSION = 1

ExtraWriter = Callable[[Path, Mapping[str, pd.DataFrame]], Any]
Progress = Callable[[str, str], Any]


class WrittenTables(dict):
    """The tables an extra writer gets; ``disclosure``: how the release was protected (or None)."""

    def __init__(self, tables: Mapping[str, pd.DataFrame], disclosure: pd.DataFrame | None = None) -> None:
        super().__init__(tables)
        self.disclosure = disclosure


@dataclass
class ReleaseResult:
    period: str
    version: int
    path: Path
    files: list[str]
    suppressed: int
    manifest: dict[str, Any] = field(repr=False)


# --------------------------------------------------------------------------------------------------
# the folder of a period


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
            rows = _write_tables(tmp, tables, period, version, methodology, progress)
            figures = None
            if disclosure_audit is not None:  # the tables as written, before anything else is added
                provenance, figures = _audit_written(disclosure_audit, tmp, version, provenance)
                progress("audit", "disclosure")
            own = _run_extra_writers(extra_writers, tmp, tables, figures, version, created_at, progress)
            outputs = _outputs(tmp, own, rows)
            manifest = _manifest(period, version, created_at, methodology, tables, provenance, outputs)
            write_text(tmp / MANIFEST_NAME, _dump(manifest))
            progress("file", MANIFEST_NAME)
            for d in sorted({(tmp / o["name"]).parent for o in outputs} | {tmp}, key=lambda p: -len(p.parts)):
                fsync_dir(d)

            if final.exists():
                raise ReleaseError(f"{final} appeared while writing; not overwriting it")
            os.rename(tmp, final)
            fsync_dir(period_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _make_latest(period_dir, final, period, version, created_at, progress)

    disclosure = manifest.get("disclosure") or {}
    return ReleaseResult(period=period, version=version, path=final, files=[o["name"] for o in outputs],
                         suppressed=int(disclosure.get("cells_suppressed", 0) or 0), manifest=manifest)


def _write_tables(tmp: Path, tables: Mapping[str, pd.DataFrame], period: str, version: int, methodology,
                  progress: Progress) -> dict[str, int]:
    """Every contract table as Parquet and CSV, and the dictionary; the rows of each file."""
    rows: dict[str, int] = {}
    for name in contract.TABLE_NAMES:
        df = tables[name]
        write_parquet(df, tmp / f"{name}.parquet", contract.arrow_schema(name),
                      {"cri.table": name, "cri.period": period, "cri.release": f"v{version}",
                       "cri.contract_version": contract.CONTRACT_VERSION})
        rows[f"{name}.parquet"] = len(df)
        progress("file", f"{name}.parquet")
        write_csv(df, tmp / f"{name}.csv", contract.table(name).dtypes, published.decimals(name))
        rows[f"{name}.csv"] = len(df)
        progress("file", f"{name}.csv")
    rule = DisclosureRule.from_methodology(methodology)
    for path in write_dictionary(tmp, methodology, rule):
        progress("file", path.name)
    rows["dictionary.csv"] = len(dictionary_frame(methodology))
    return rows


def _audit_written(disclosure_audit: Callable[[Path, int], Any], tmp: Path, version: int,
                   provenance: Mapping[str, Any] | None) -> tuple[dict[str, Any], Any]:
    """The disclosure audit of the written files: the provenance with its summary, and the figures for writers."""
    audited = disclosure_audit(tmp, version)
    if not audited.ok:
        raise ReleaseError("disclosure audit: a reader of the published files can narrow suppressed "
                           "counts to fewer than the required values, nothing published: "
                           + "; ".join(audited.problems()[:5]))
    provenance = {**dict(provenance or {}), "disclosure": {
        **dict((provenance or {}).get("disclosure") or {}), "audit": audited.summary()}}
    return provenance, disclosure_figures(provenance["disclosure"])


def _run_extra_writers(extra_writers: Sequence[ExtraWriter], tmp: Path, tables: Mapping[str, pd.DataFrame],
                       figures: Any, version: int, created_at: str, progress: Progress) -> dict[str, str]:
    """Call the extra writers; they may add files, never replace the release's own. Returns those files' hashes."""
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
    if MANIFEST_NAME in _files_in(tmp):
        raise ReleaseError(f"an extra writer wrote {MANIFEST_NAME}; the release writes it")
    return own


def _outputs(tmp: Path, own: Mapping[str, str], rows: Mapping[str, int]) -> list[dict[str, Any]]:
    """The manifest's list of files (flushed to disk): name, sha256, rows, bytes."""
    outputs = []
    for name in [n for n in _files_in(tmp) if n != MANIFEST_NAME]:
        path = tmp / name
        if path.is_symlink():
            raise ReleaseError(f"{name} is a symbolic link; a release holds files only")
        fsync_file(path)
        outputs.append({"name": name, "sha256": own.get(name) or sha256_file(path), "rows": rows.get(name),
                        "bytes": path.stat().st_size})
    return outputs


def _manifest(period: str, version: int, created_at: str, methodology, tables: Mapping[str, pd.DataFrame],
              provenance: Mapping[str, Any] | None, outputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
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


def _make_latest(period_dir: Path, final: Path, period: str, version: int, created_at: str,
                 progress: Progress) -> None:
    """Record the renamed release in the history and point ``latest.json`` to it, or take it back."""
    recorded = False
    try:
        progress("renamed", final.name)
        manifest_sha = sha256_file(final / MANIFEST_NAME)
        append_history(period_dir, version, manifest_sha)  # the hash kept outside the release
        recorded = True
        write_latest(period_dir, {
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
        # the earlier versions on disk now (the lock is held), the written files, the reader of the disclosure model;
        # a province whose files say exactly what protection audited (same earlier versions) is not solved again
        known = built.protection.primary_counts if built.protection.model.get("reader_knows_primary") else None
        return audit_release_folder(folder, methodology, period_dir=period_dir, version=version, primary_counts=known,
                                    memo=built.protection.memo)

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
