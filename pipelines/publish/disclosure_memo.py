"""The disclosure audit of a province, kept and reused while everything it reads is unchanged.

The audit of one province (:func:`pipelines.publish.disclosure_audit._audit_province`) is a pure function of
what each published version of the period says about that province, the methodology and the disclosure model
(the audit's spec and rule), what the reader knows of the primary cells, and the precision asked. An
:class:`AuditMemo` keeps each province's result under a content hash of all of these
(:func:`province_key`); an audit given the memo solves a province only when its hash is new.

Protection (:func:`pipelines.publish.disclosure_protect.protect`) audits with a memo and the release gives
the same memo to the audit of the files as written (read back from Parquet): a province whose read-back rows
are exactly those audited, with the same earlier versions, model and primary counts, is not solved again;
one value that differs (a file changed after protection, a version published meanwhile) gives another hash,
and that province is audited in full. Provinces are separate problems (no constraint crosses one), so the
result is the audit of the files as written, whichever provinces were solved again.

The hash (:func:`province_fingerprints`) reads the province's rows of the audited tables, every column, in
order, each value as the audit reads it, whatever the column's dtype (floats hash alike as float64, Float64,
Arrow or object): ``3``, ``3.0`` and ``True`` differ, text is compared exactly, an empty value (None, NA,
NaN) is one value (the audit treats them alike). So two inputs that the audit could treat differently never
share a hash; the same values read back from Parquet, in other dtypes, do.

:func:`distinct_versions`: a version of a province that repeats another one (the same hash) adds the same
constraints again, on the same counts (its own band choices are copies of the other's), so the counts a
reader can reach are the same; the audit reads it once. A period published again with the same figures
then costs what its first version cost.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


def _value(v: Any) -> Any:
    """One value as the audit reads it (see the module text)."""
    if isinstance(v, np.generic) and not isinstance(v, float):
        if isinstance(v, np.floating) and np.isnan(v):
            return ("nan", type(v).__name__)  # not read as empty by the audit: kept apart
        v = v.item()
    if v is None or v is pd.NA:
        return None
    if isinstance(v, float):  # float and numpy's float64
        return None if math.isnan(v) else float(v)
    if isinstance(v, (bool, int, str)):
        return v
    return (type(v).__module__, type(v).__qualname__, repr(v))


@dataclass
class _Column:
    """A column in one form whatever its dtype: kind (b, i, f, s, none or mixed), empty mask and values."""

    kind: str
    empty: np.ndarray
    values: np.ndarray  # of the kind's type (b, i, f), else of Python objects

    def part(self, idx: np.ndarray) -> bytes:
        if self.kind in ("b", "i", "f"):
            return self.kind.encode() + self.empty[idx].tobytes() + np.ascontiguousarray(self.values[idx]).tobytes()
        return self.kind.encode() + repr(self.values[idx].tolist()).encode("utf-8")


def _objects(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _typed(kind: str, values: list) -> _Column:
    empty = np.array([v is None for v in values], dtype=bool)
    if kind == "s" or kind == "mixed":
        return _Column(kind, empty, _objects(values))
    fill = {"b": False, "i": 0, "f": 0.0}[kind]
    arr = np.array([fill if v is None else v for v in values], dtype={"b": bool, "i": np.int64, "f": np.float64}[kind])
    return _Column(kind, empty, arr)


def _column(s: pd.Series) -> _Column:
    """Typed columns converted at once; an object column value by value (:func:`_value`), then typed alike."""
    dtype, n = s.dtype, len(s)
    empty = s.isna().to_numpy(dtype=bool)
    if empty.all():
        return _Column("none", empty, np.zeros(n, dtype=bool))
    if pd.api.types.is_bool_dtype(dtype):
        return _Column("b", empty, s.to_numpy(dtype=bool, na_value=False))
    if pd.api.types.is_signed_integer_dtype(dtype):
        return _Column("i", empty, s.to_numpy(dtype=np.int64, na_value=0))
    if pd.api.types.is_float_dtype(dtype) and dtype.itemsize == 8:
        values = s.to_numpy(dtype=np.float64, na_value=np.nan)
        empty = np.isnan(values)  # NaN and NA are both empty to the audit
        return _Column("f", empty, np.where(empty, 0.0, values))
    if isinstance(dtype, pd.StringDtype):
        return _Column("s", empty, _objects(s.to_numpy(dtype=object, na_value=None).tolist()))
    values = [_value(v) for v in s.to_numpy(dtype=object).tolist()]
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return _Column("none", np.ones(n, dtype=bool), np.zeros(n, dtype=bool))
    kind = {bool: "b", int: "i", float: "f", str: "s"}.get(next(iter(kinds))) if len(kinds) == 1 else None
    if kind == "i" and any(not -2**63 <= v < 2**63 for v in values if v is not None):
        kind = None
    return _typed(kind or "mixed", values)


def province_fingerprints(tables: Mapping[str, pd.DataFrame], names: Sequence[str]) -> dict[str, str]:
    """Province code (text, as the audit groups rows) -> the content hash of every row of the tables ``names``
    that the province holds: each table's columns, then every value of its rows, in order."""
    seen = {}
    for name in names:
        df = tables.get(name)
        if df is not None and "province_code" in df:
            seen[name] = (df, [_column(df[c]) for c in df.columns],
                          df.groupby(df["province_code"].astype(str), sort=True).indices)
    provinces = sorted({p for _, _, groups in seen.values() for p in groups})
    none = np.zeros(0, dtype=np.intp)
    out = {}
    for prov in provinces:
        h = hashlib.sha256()
        for name in names:
            chunks = [repr((name, tables.get(name) is None)).encode()]
            if name in seen:
                df, columns, groups = seen[name]
                idx = groups.get(prov, none)
                chunks += [repr((list(df.columns), len(idx))).encode("utf-8"), *(c.part(idx) for c in columns)]
            for chunk in chunks:  # each with its length: no two sequences of chunks read alike
                h.update(len(chunk).to_bytes(8, "little"))
                h.update(chunk)
        out[prov] = h.hexdigest()
    return out


def spec_fingerprint(spec, rule) -> str:
    """The content hash of what the methodology and the disclosure model tell the audit."""
    content = (spec.indicators, spec.criteria, spec.elements, sorted(spec.sensitive), spec.denominator_of, rule)
    return hashlib.sha256(repr(content).encode("utf-8")).hexdigest()


def distinct_versions(versions: Sequence, fingerprints: Sequence[str]) -> list:
    """``versions`` without those that repeat another (same fingerprint), in order; the last one (the release
    audited) is always kept, last."""
    keep, seen = [], {fingerprints[-1]}
    for v, fp in zip(versions[:-1], fingerprints[:-1]):
        if fp not in seen:
            seen.add(fp)
            keep.append(v)
    return [*keep, versions[-1]]


def province_key(spec_fp: str, fingerprints: Sequence[str], known: Mapping[str, int] | None,
                 enough: int | None, repeated: bool = False) -> str:
    """The memo's key of one province's audit: everything :func:`_audit_province` reads (``repeated``: the one
    version left stands for several equal ones)."""
    content = (spec_fp, tuple(fingerprints), tuple(sorted((known or {}).items())), enough, repeated)
    return hashlib.sha256(repr(content).encode("utf-8")).hexdigest()


@dataclass
class AuditMemo:
    """Province audits by :func:`province_key`: (cells, solves, note). ``hits``/``misses``: how often it served."""

    results: dict[str, tuple[list[dict], int, str | None]] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0

    def get(self, key: str):
        found = self.results.get(key)
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        rows, solves, note = found
        return [dict(r) for r in rows], solves, note

    def put(self, key: str, rows: list[dict], solves: int, note: str | None) -> None:
        self.results[key] = ([dict(r) for r in rows], solves, note)
