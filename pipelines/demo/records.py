"""Synthetic record-level extracts for the demo: the civil registry's births, child by child, and the
other registries (insurance cards, doses: ``pipelines.demo.registry_records``).

``write_demo_records`` reads the aggregate landing files the demo has just written and turns the births
registry's data elements into records: N births per period shared between communes in proportion to
the demo's live births, registered on time in the proportion of its on-time registrations, the others
registered late (61 days to a year after birth, when that is before the extract was taken) or not at
all. The aggregate rows of those data elements are then taken out of the landing files (an element comes
from the registry or from totals, never both). Written with numpy and pyarrow, column by column.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.registries.load import KEY_ENV, KEY_FILE, period_bounds
from pipelines.registries.spec import Registry, load_registries

EXTRACT_DELAY_DAYS = 90   # the extract is taken this long after the period ends
LATE_SHARE = 0.7          # of the births not registered on time, the share registered late (the rest: never)
MALE_SHARE = 0.512        # sex ratio at birth about 105 boys per 100 girls


@dataclass
class RecordsSummary:
    files: list[Path] = field(default_factory=list)
    records: dict[str, dict[str, int]] = field(default_factory=dict)  # registry -> period -> records
    key_file: Path | None = None

    def __str__(self) -> str:
        counts = "; ".join(f"{r} " + ", ".join(f"{p}: {n:,}" for p, n in periods.items())
                           for r, periods in self.records.items())
        return f"{len(self.files)} registry extract(s): {counts}"


def _aggregates(landing_dir: Path, period: str) -> pd.DataFrame:
    """Every aggregate landing CSV of the period, with the file it came from."""
    frames = []
    for path in sorted((landing_dir / period).glob("*/*.csv")):
        df = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
        if "data_element" in df.columns:
            frames.append(df.assign(_path=str(path)))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["_path"])


def _totals(rows: pd.DataFrame) -> pd.Series:
    """The rows that are totals (not the rows by group of ``disaggregation``)."""
    return rows.disaggregation == "" if "disaggregation" in rows.columns else pd.Series(True, index=rows.index)


def _element(rows: pd.DataFrame, code: str) -> pd.Series:
    """The communes' totals of an element."""
    sel = rows[(rows.data_element == code) & (rows.unit_code.str.len() == 5) & _totals(rows)]
    return pd.to_numeric(sel.set_index("unit_code").value, errors="coerce").fillna(0).groupby(level=0).sum()


def allocate(weights: np.ndarray, n: int) -> np.ndarray:
    """Whole counts summing to n, in proportion to weights (largest remainders)."""
    weights = np.asarray(weights, dtype=float)
    share = weights / weights.sum() * n
    counts = np.floor(share).astype(np.int64)
    left = n - int(counts.sum())
    if left:
        counts[np.argsort(-(share - counts), kind="stable")[:left]] += 1
    return counts


def birth_records(communes: np.ndarray, counts: np.ndarray, on_time: np.ndarray, period: str,
                  rng: np.random.Generator, id_base: int, today: date | None = None) -> pa.Table:
    """One row per birth: child_id, sex, birth_date, registration_date (null: not registered), commune_code."""
    start, end = period_bounds(period)
    extract = min(end + timedelta(days=EXTRACT_DELAY_DAYS), today or date.today())
    n = int(counts.sum())
    commune_index = np.repeat(np.arange(len(communes)), counts)
    epoch = np.datetime64(start, "D")
    last = min(end, extract)
    birth = epoch + rng.integers(0, (np.datetime64(last, "D") - epoch).astype(int) + 1, n).astype("timedelta64[D]")
    draw = rng.random(n)
    p = np.repeat(np.clip(on_time, 0, 1), counts)
    delay = np.where(draw < p, rng.integers(0, 61, n), rng.integers(61, 366, n))
    registered = (draw < p) | (rng.random(n) < LATE_SHARE)
    registration = birth + delay.astype("timedelta64[D]")
    registered &= registration <= np.datetime64(extract, "D")
    ids = pc.binary_join_element_wise(
        "KS", pc.utf8_lpad(pc.cast(pa.array(id_base + rng.permutation(n), pa.int64()), pa.string()), 10, "0"), "")
    return pa.table({
        "child_id": ids,
        "sex": pa.array(np.where(rng.random(n) < MALE_SHARE, "M", "F")),
        "birth_date": pa.array(birth, pa.date32()),
        "registration_date": pa.array(registration, pa.date32(), mask=~registered),
        "commune_code": pa.array(np.asarray(communes)[commune_index]),
    })


def _drop_elements(rows: pd.DataFrame, elements: tuple[str, ...], changed: set[str] = frozenset()) -> None:
    """Rewrite the aggregate files without the registry's elements, and those whose values changed
    (``changed``: their paths), with the same encoding, line ends and date."""
    for path, df in rows.groupby("_path"):
        if path not in changed and not df.data_element.isin(elements).any():
            continue
        path = Path(path)
        stat = path.stat()
        kept = df[~df.data_element.isin(elements)].drop(columns="_path")
        if kept.empty:  # every element of the file now comes from the registry
            path.unlink()
            continue
        kept.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
        os.utime(path, (stat.st_atime, stat.st_mtime))


def ensure_key(home: Path) -> Path | None:
    """A random pseudonymisation key in ``$CRI_HOME/pseudonym.key`` for the demo (unless one is set)."""
    if os.environ.get(KEY_ENV):
        return None
    path = home / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
        path.chmod(0o600)
    return path


# records a year per birth, nationally (8 million insured children, 20 million doses, 1.4 million births)
PER_BIRTH = {"health_insurance": 8 / 1.4, "immunisation": 20 / 1.4}


def _rule_element(registry: Registry, rule: str) -> str:
    return next(p.data_element for p in registry.produces if p.rule == rule)


def _scaled(values: pd.Series, scale: float | None) -> np.ndarray:
    """The demo's counts (scale None), or in proportion to them, scaled."""
    values = values.to_numpy()
    return values.astype(np.int64) if scale is None else allocate(values, round(values.sum() * scale))


def _registry_table(registry: Registry, rows: pd.DataFrame, period: str, n: int, scale: float | None,
                    rng: np.random.Generator, id_base: int) -> pa.Table | None:
    """The extract of one registry for a period, from the aggregate rows of its data elements."""
    from pipelines.demo.registry_records import dose_records, insurance_records

    if registry.code == "births":
        births = _element(rows, _rule_element(registry, "count"))
        births = births[births > 0]
        on_time = (_element(rows, _rule_element(registry, "within_days")).reindex(births.index).fillna(0)
                   / births).to_numpy()
        counts = allocate(births.to_numpy(), n) if n else births.to_numpy().astype(np.int64)
        return birth_records(births.index.to_numpy(), counts, on_time, period, rng, id_base=id_base)
    if registry.code == "health_insurance":
        insured = _element(rows, _rule_element(registry, "valid_on"))
        insured = insured[insured > 0]
        return insurance_records(insured.index.to_numpy(), _scaled(insured, scale), period, rng, id_base)
    if registry.code == "immunisation":
        rule = next(p for p in registry.produces if p.rule == "all_before_age")
        full = _element(rows, rule.data_element)
        full = full[full > 0]
        counts = _scaled(full, scale)
        doses = round((n or _element(rows, "LIVE_BIRTHS").sum()) * PER_BIRTH[registry.code])
        return dose_records(full.index.to_numpy(), counts, tuple(rule.param("codes")), period, rng, id_base, doses)
    return None


def _per_record_elements(registry: Registry, produced: set[str]) -> set[str]:
    """The aggregate elements counted per record of the registry: the numerators of the indicators whose
    denominator is the registry's count of records (``DEATHS_U5`` per ``LIVE_BIRTHS``), unless a registry
    produces them too."""
    from pipelines.methodology import load_methodology

    counted = {p.data_element for p in registry.produces if p.rule == "count"}
    if not counted:
        return set()
    return {e for i in load_methodology().indicators if i.denominator and set(i.denominator) <= counted
            for e in i.numerator} - produced


def _follow_records(rows: pd.DataFrame, registry: Registry, table: pa.Table, produced: set[str]) -> set[str]:
    """Scale, commune by commune, the aggregate elements counted per record of the registry by the
    extract's records against the aggregate count they replace (N births other than the demo's keep its
    under-5 mortality); ``rows`` is changed in place. Returns the paths of the files changed."""
    elements = _per_record_elements(registry, produced)
    if not elements:
        return set()
    before = _element(rows, _rule_element(registry, "count"))
    after = pd.Series(table.column(registry.commune).to_pandas()).value_counts()
    ratio = (after.reindex(before.index).fillna(0) / before[before > 0]).reindex(rows.unit_code).to_numpy()
    sel = (rows.data_element.isin(elements) & ~np.isnan(ratio)).to_numpy()
    totals = sel & _totals(rows).to_numpy()
    scaled = (pd.to_numeric(rows.value[totals], errors="coerce") * ratio[totals]).round()
    rows.loc[totals, "value"] = scaled.map(lambda v: "" if pd.isna(v) else str(int(v)))
    _regroup(rows, sel & ~totals)
    return set(rows._path[sel])


def _regroup(rows: pd.DataFrame, groups: np.ndarray) -> None:
    """Share each scaled total among its rows by group of one dimension (``sex=F``, ``sex=M``...) in the
    proportions they had, so that they still add up to it; ``rows`` is changed in place."""
    if not groups.any():
        return
    part = rows[groups]
    total = rows[_totals(rows)].set_index(["unit_code", "data_element"]).value
    dimension = part.disaggregation.str.split("=").str[0]
    for (unit, element, _), g in part.groupby([part.unit_code, part.data_element, dimension]):
        n = pd.to_numeric(pd.Series([total.get((unit, element), "")]), errors="coerce").iloc[0]
        weights = pd.to_numeric(g.value, errors="coerce").fillna(0).to_numpy()
        if pd.isna(n) or weights.sum() <= 0:
            continue
        rows.loc[g.index, "value"] = [str(int(v)) for v in allocate(weights, int(n))]


def check_registries(only: tuple[str, ...] | None, registries: tuple[Registry, ...] | None = None) -> None:
    """A ``ValueError`` naming each code of ``only`` that none of ``registries`` (default: those loaded) has."""
    registries = registries or load_registries().loaded
    unknown = sorted(set(only or ()) - {r.code for r in registries})
    if unknown:
        raise ValueError(f"no registry {', '.join(unknown)} among those the methodology loads "
                         f"({', '.join(r.code for r in registries)})")


def write_demo_records(landing_dir: Path, periods: tuple[str, ...], n: int, seed: int = 20251115,
                       registries: tuple[Registry, ...] | None = None,
                       only: tuple[str, ...] | None = None) -> RecordsSummary:
    """Extracts of every loaded registry for each period: n births each (0: as many as the demo's live
    births), and the other registries in proportion (``PER_BIRTH``; 0: as many as the demo's counts);
    with n births, the elements counted per birth (under-5 deaths) follow them commune by commune.
    ``only``: just these registries' extracts (the others' elements stay in the aggregate files); each is
    the same extract as when written with the others. An unknown code is a ``ValueError`` naming it."""
    registries = registries or load_registries().loaded
    check_registries(only, registries)
    landing_dir = Path(landing_dir)
    summary = RecordsSummary(key_file=ensure_key(landing_dir.parent))
    for index, period in enumerate(periods):
        rows = _aggregates(landing_dir, period)
        if rows.empty:
            continue
        births_total = _element(rows, "LIVE_BIRTHS").sum()
        scale = n / births_total if n and births_total else None
        chosen = [r for r in registries if not only or r.code in only]
        produced = {e for r in chosen for e in r.elements}
        changed: set[str] = set()
        for r_index, registry in enumerate(registries):
            if only and registry.code not in only:
                continue
            rng = np.random.default_rng([seed, index, r_index])
            id_base = ((int(period[:4]) % 100 * 10 + index) * 10 + r_index) * 10**8
            table = _registry_table(registry, rows, period, n, scale, rng, id_base)
            if table is None:
                continue
            path = landing_dir / period / registry.sector / f"{registry.files.rstrip('*')}_{period}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path, compression="zstd")
            summary.files.append(path)
            summary.records.setdefault(registry.code, {})[period] = table.num_rows
            if n:
                changed |= _follow_records(rows, registry, table, produced)
        _drop_elements(rows, tuple(produced), changed)
    return summary
