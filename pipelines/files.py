"""File formats of a release: CSV for Excel, Parquet for tools, hashes and durable writes.

CSV: UTF-8 with a byte-order mark (Excel then reads Vietnamese correctly),
text in Unicode NFC, comma separator, CRLF line ends (RFC 4180), decimal
point and no thousands separator, numbers never in exponent form and, where
the caller gives the column's decimals (the data dictionary declares them),
rounded half away from zero to them, booleans ``true``/``false``, null as an
empty field.

Formula injection: a text cell that starts with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return would be run as a formula by a spreadsheet program;
every file written for people to open in Excel (release CSVs, the quality
reports' CSVs, workbooks, templates) passes its text through
:func:`neutralise_formulas` (or :func:`safe_text` for one value), which puts
an apostrophe in front. A number written as text ("-3", "+84") is not a
formula and is left as it is; numbers themselves are never touched.
"""

from __future__ import annotations

import csv
import decimal
import hashlib
import math
import os
import unicodedata
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

BOM = b"\xef\xbb\xbf"

# a text cell a spreadsheet would read as a formula, unless it is only a number
FORMULA_START = r"^[=+\-@\t\r]"
PLAIN_NUMBER = r"^[+-]?(?:\d[\d.,]*|[.,]\d+)(?:[eE][+-]?\d+)?$"
FORMULA_GUARD = "'"
_STARTS = frozenset("=+-@\t\r")


def neutralise_formulas(values) -> list:
    """Text cells with an apostrophe in front of a formula start (vectorised); None and numbers unchanged.

    ``values``: a list, array or Series of text (None for empty cells).
    """
    values = values if isinstance(values, list) else list(values)
    if not any(v[:1] in _STARTS for v in values if isinstance(v, str)):
        return values  # nothing to guard (the usual case): no round trip through Arrow
    arr = pa.array(values, type=pa.string(), from_pandas=True)
    risky = pc.and_(pc.match_substring_regex(arr, FORMULA_START),
                    pc.invert(pc.match_substring_regex(arr, PLAIN_NUMBER)))
    guarded = pc.binary_join_element_wise(pa.scalar(FORMULA_GUARD), arr, "")
    return pc.if_else(pc.fill_null(risky, False), guarded, arr).to_pylist()


def safe_text(value):
    """One cell: text that would start a formula gets an apostrophe in front; anything else is unchanged."""
    if not isinstance(value, str) or value[:1] not in _STARTS:
        return value
    return neutralise_formulas([value])[0]


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text columns are neutralised (numeric and boolean columns unchanged)."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if len(s) and (s.dtype == object or pd.api.types.is_string_dtype(s.dtype)):
            texts = s.map(lambda v: v if isinstance(v, str) else None)
            cleaned = pd.Series(neutralise_formulas(texts.tolist()), index=s.index, dtype=object)
            out[col] = cleaned.where(texts.notna(), s)
    return out


def nfc(value):
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def nfc_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell in Unicode NFC (composed) form."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
            out[col] = s.map(nfc, na_action="ignore").astype(s.dtype) if len(s) else s
    return out


def format_number(x) -> str:
    """Shortest exact decimal text with a decimal point: 3.0 -> '3', 0.1 -> '0.1', never '1e-05'."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"cannot write {x} to a release file")
    if x == 0:
        return "0"
    return np.format_float_positional(x, trim="-")


def round_half_up(x, decimals: int) -> float:
    """``x`` rounded to ``decimals`` places, halves away from zero, on its shortest decimal text (2.675 -> 2.68)."""
    x = float(x)
    if not math.isfinite(x):
        return x
    step = decimal.Decimal(1).scaleb(-decimals)
    return float(decimal.Decimal(repr(x)).quantize(step, rounding=decimal.ROUND_HALF_UP))


def _cell(value, kind: str | None) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if value is pd.NaT:
        return ""
    if kind == "boolean" or isinstance(value, (bool, np.bool_)):
        return "true" if bool(value) else "false"
    if kind == "int64" or isinstance(value, (int, np.integer)):
        return str(int(value))
    if kind == "float64" or isinstance(value, (float, np.floating)):
        return format_number(value)
    return nfc(str(value))


def _column(s: pd.Series, kind: str | None, decimals: int | None = None) -> list[str]:
    values = s.tolist()
    if decimals is not None:
        values = [v if _cell(v, None) == "" or isinstance(v, (bool, np.bool_, str)) else round_half_up(v, decimals)
                  for v in values]
    cells = [_cell(v, kind) for v in values]
    numeric = kind in ("int64", "float64", "boolean") or (
        kind is None and (pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)))
    return cells if numeric else neutralise_formulas(cells)


def write_csv(df: pd.DataFrame, path: Path, types: Mapping[str, str] | None = None,
              decimals: Mapping[str, int] | None = None) -> None:
    """Write ``df`` as an Excel-friendly CSV (see the module text). ``types``: column -> logical type;
    ``decimals``: column -> decimal places its numbers are rounded to."""
    types, decimals = dict(types or {}), dict(decimals or {})
    cols = [str(c) for c in df.columns]
    # each column formatted once, as text; text columns protected against formula injection
    columns = [_column(df[c], types.get(c), decimals.get(c)) for c in cols] if len(df) else []
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(cols)
        w.writerows(zip(*columns))
        fh.flush()
        os.fsync(fh.fileno())


def write_parquet(df: pd.DataFrame, path: Path, schema: pa.Schema, metadata: Mapping[str, str] | None = None) -> None:
    """Write ``df`` with exactly ``schema`` (column names, order and types)."""
    table = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    for k, v in (metadata or {}).items():
        meta[k.encode()] = str(v).encode()
    table = table.replace_schema_metadata(meta)
    pq.write_table(table, path, compression="snappy")
    fsync_file(path)


def write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in ``path`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
