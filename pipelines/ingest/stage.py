"""Staging one landing file: a CSV file or an agency workbook read into records, checked row by row."""

from __future__ import annotations

import csv
import hashlib
import io
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.ingest.context import _Context
from pipelines.ingest.contract import KNOWN_COLUMNS, LEGACY, REQUIRED_COLUMNS, SCHEME, WORKBOOK_SUFFIXES
from pipelines.ingest.csv_stream import read_records
from pipelines.ingest.decode import decode_bytes
from pipelines.ingest.limits import IngestLimits, LimitExceeded
from pipelines.ingest.messages import reason
from pipelines.ingest.rows import _check_rows



@dataclass
class _Staged:
    source_file: str
    sha256: str
    encoding: str | None
    received_at: datetime | None
    delimiter: str | None = None
    rows_total: int = 0
    blank_rows: int = 0
    whole_file: bool = False
    candidates: pd.DataFrame | None = None  # rows that passed every row check (before duplicates)
    rejects: list[pd.DataFrame] = field(default_factory=list)  # _rec, column_name, value, check_code, reason
    lines: list[str] = field(default_factory=list)  # raw lines as decoded (with their line ends)
    ends: np.ndarray | None = None  # ends[i] = last line (1-based) of record i; record 0 is the header
    file_format: str = "csv"
    schemes: frozenset[str] = frozenset()  # unit schemes the data rows state ('2025', 'legacy')
    # workbooks: per record (index = _rec; record 0 unused) the Excel row (-1: none), the record as text,
    # and the column title
    rec_rows: np.ndarray | None = None
    rec_raw: list[str | None] | None = None
    rec_columns: list[str | None] | None = None

    def row_number(self, rec: np.ndarray) -> np.ndarray:
        if self.rec_rows is not None:
            return self.rec_rows[rec]
        return self.ends[rec - 1] + 1

    def raw_record(self, rec: int) -> str | None:
        if self.rec_raw is not None:
            return self.rec_raw[rec]
        start = int(self.ends[rec - 1]) if rec > 0 else 0
        return "".join(self.lines[start : int(self.ends[rec])]).rstrip("\r\n")

    @property
    def unit_scheme(self) -> str | None:
        if not self.schemes:
            return None
        return next(iter(self.schemes)) if len(self.schemes) == 1 else "mixed"

    def reject_file(self, code: str, reason: str, *, column: str | None = None, value: str | None = None,
                    raw: str | None = None) -> None:
        self.whole_file = True
        self.rejects = [pd.DataFrame([{"_rec": pd.NA, "column_name": column, "value": value, "check_code": code,
                                       "reason": reason, "raw_record": raw}])]
        self.candidates = None


def _stage_file(path: Path, relative_name: str, ctx: _Context) -> _Staged:
    data = path.read_bytes()
    try:
        received = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).replace(tzinfo=None)
    except OSError:
        received = None
    st = _Staged(source_file=relative_name, sha256=hashlib.sha256(data).hexdigest(), encoding=None,
                 received_at=received)

    suffix = path.suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        st.file_format = "xlsx"
        return _stage_workbook(path, st, ctx)
    if suffix != ".csv":
        st.file_format = "other"
        st.reject_file("ingest.unsupported_file", reason("ingest.unsupported_file", name=path.name),
                       value=path.suffix or None)
        return st

    decoded = decode_bytes(data)
    st.encoding = decoded.encoding
    if decoded.problem is not None:
        # Count the records as best we can so that rows_total stays truthful.
        if decoded.fallback_text is not None:
            try:
                lines, recs, ends, broken = _read_records(decoded.fallback_text, ",")
                st.rows_total = sum(1 for i, r in enumerate(recs) if i and (i in broken or any(c.strip() for c in r)))
            except (csv.Error, LimitExceeded):
                st.rows_total = 0
        st.reject_file("ingest.file_encoding", decoded.problem, value=decoded.bad_bytes, raw=decoded.bad_line)
        return st

    text = decoded.text
    if not text.strip():
        st.reject_file("ingest.file_empty", _reason_empty(path.name, header_only=False))
        return st

    delimiter = _sniff_delimiter(text)
    st.delimiter = delimiter
    try:
        lines, recs, ends, broken = _read_records(text, delimiter, ctx.limits)
    except LimitExceeded as exc:
        st.reject_file("ingest.limit_exceeded", exc.reason)
        return st
    except csv.Error as exc:
        st.reject_file("ingest.file_malformed", reason("ingest.file_malformed", error=exc, delimiter=delimiter))
        return st
    st.lines, st.ends = lines, np.asarray(ends, dtype=np.int64)

    header_raw = recs[0]
    body = recs[1:]
    ncols = len(header_raw)
    b = _split_body(body, ncols, broken, rec0=1)
    st.blank_rows = int(b.blank.sum())
    st.rows_total = int((~b.blank).sum())
    seen = _header_columns(st, header_raw, st.raw_record(0) if len(ends) else None)
    if seen is None:
        return st
    if st.rows_total == 0:
        st.reject_file("ingest.file_empty", _reason_empty(path.name, header_only=True), raw=st.raw_record(0))
        return st
    rejects, candidates, schemes = _check_body(b, 1, broken, ncols, seen, delimiter, ctx)
    st.schemes = schemes
    st.rejects = rejects
    st.candidates = candidates.assign(source_file=st.source_file, file_sha256=st.sha256)
    return st


@dataclass
class _Body:
    """Records of a CSV file, or of one chunk of it: their cell counts, the cells by column, blank and broken."""

    lens: np.ndarray
    full: np.ndarray  # as many cells as the header
    columns: list[pd.Series]  # the cells of the full records, stripped, by column
    blank: np.ndarray
    is_broken: np.ndarray


def _split_body(body: list[list[str]], ncols: int, broken: dict[int, str], rec0: int) -> _Body:
    """``body[i]`` is record ``rec0 + i``; ``broken``: record number -> reason (an unclosed quote)."""
    lens = np.fromiter((len(r) for r in body), dtype=np.int64, count=len(body))
    full = lens == ncols
    # Columns of the rows that have as many cells as the header, stripped.
    full_rows = [body[i] for i in np.flatnonzero(full)] if not full.all() else body
    columns = [pd.Series(c, dtype="str").str.strip() for c in zip(*full_rows, strict=True)] if full_rows else [
        pd.Series([], dtype="str") for _ in range(ncols)]
    # Blank records: empty lines, and rows whose cells are all empty (',,,,' left by spreadsheets).
    blank = lens == 0
    if full_rows and ncols:
        all_empty = np.logical_and.reduce([(c == "").to_numpy() for c in columns])
        blank[np.flatnonzero(full)[all_empty]] = True
    for i in np.flatnonzero(~full & (lens > 0)):
        if not any(c.strip() for c in body[i]):
            blank[i] = True
    is_broken = np.zeros(len(body), dtype=bool)
    is_broken[[i - rec0 for i in broken if rec0 <= i < rec0 + len(body)]] = True
    blank &= ~is_broken
    return _Body(lens, full, columns, blank, is_broken)


def _header_columns(st: _Staged, header_raw: list[str], raw_header: str | None) -> dict[str, int] | None:
    """Position of each column of the header; None when the header rejects the file (missing or repeated)."""
    header = [_norm_name(h) for h in header_raw]
    seen: dict[str, int] = {}
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    for i, h in enumerate(header):
        seen.setdefault(h, i)
    found = ", ".join(h for h in header_raw) or "(none)"
    # a file of names without codes needs no unit_code column
    missing = [c for c in REQUIRED_COLUMNS if c not in seen and not (c == "unit_code" and "unit_name" in seen)]
    if missing:
        names = ", ".join(missing)
        st.reject_file("ingest.missing_column", reason("ingest.missing_column", names=names,
                                                        required=", ".join(REQUIRED_COLUMNS), found=found),
                       column=names, raw=raw_header)
        return None
    if dupes:
        names = ", ".join(dupes)
        st.reject_file("ingest.duplicate_column", reason("ingest.duplicate_column", names=names, found=found),
                       column=names, raw=raw_header)
        return None
    return seen


def _check_body(b: _Body, rec0: int, broken: dict[int, str], ncols: int, seen: dict[str, int], delimiter: str,
                ctx: _Context) -> tuple[list[pd.DataFrame], pd.DataFrame, frozenset[str]]:
    """The rejects of the records of ``b`` (record numbers from ``rec0``), the rows that passed every check,
    and the unit schemes the rows state."""
    lens, full, columns, blank, is_broken = b.lens, b.full, b.columns, b.blank, b.is_broken
    rec_all = np.arange(rec0, rec0 + len(lens), dtype=np.int64)
    ragged = ~blank & (lens != ncols) & ~is_broken
    rejects: list[pd.DataFrame] = []
    mine = sorted(int(r) for r in rec_all[is_broken])
    if mine:
        rejects.append(pd.DataFrame({"_rec": np.asarray(mine, dtype=np.int64), "column_name": None,
                                     "value": None, "check_code": "ingest.unclosed_quote",
                                     "reason": [broken[i] for i in mine]}))
    if ragged.any():
        r_rec = rec_all[ragged]
        r_len = lens[ragged]
        rejects.append(pd.DataFrame({
            "_rec": r_rec,
            "column_name": None,
            "value": None,
            "check_code": "ingest.malformed_row",
            "reason": [reason("ingest.malformed_row", cells=n, columns=ncols, delimiter=delimiter) for n in r_len],
        }))
    keep = ~blank[full]  # among the full rows
    frame = pd.DataFrame({"_rec": rec_all[full & ~blank]})
    for name in KNOWN_COLUMNS:
        col = columns[seen[name]][keep] if name in seen else pd.Series("", index=range(len(frame)), dtype="str")
        frame[name] = col.reset_index(drop=True)
    # the schemes the file states (rows with another scheme are rejected below)
    schemes = set(frame["unit_scheme"].str.strip().str.lower().replace("", SCHEME).unique())
    row_rejects, candidates = _check_rows(frame, ctx)
    return rejects + row_rejects, candidates, frozenset(schemes & {SCHEME, LEGACY})



# -- staging one workbook --------------------------------------------------------------------------

# Problems of the workbook reader that concern no data record: the rows under a wrong total are loaded.
_WORKBOOK_REPORT_ONLY = frozenset({"workbook.total_mismatch"})
_WORKBOOK_WHOLE_FILE = frozenset({"workbook.unreadable", "workbook.no_header", "ingest.limit_exceeded"})


def _stage_workbook(path: Path, st: _Staged, ctx: _Context) -> _Staged:
    """An agency workbook, read into landing rows (one record per value cell) and checked like a CSV file."""
    from pipelines.ingest.workbook import read_workbook

    result = read_workbook(path, ctx.sector, ctx.workbook_mapping(), period=ctx.period, limits=ctx.limits)
    rows = result.rows.reset_index(drop=True)
    wb_rejects = result.rejects.reset_index(drop=True)
    whole = wb_rejects[wb_rejects["check_code"].isin(_WORKBOOK_WHOLE_FILE)]
    if rows.empty and len(whole):
        first = whole.iloc[0]
        st.reject_file(str(first["check_code"]), str(first["reason"]))
        return st

    n = len(rows)
    k = len(wb_rejects)
    # records 1..n: the value cells; n+1..n+k: the problems the reader found (a column, a cell, a sheet)
    rec_rows = np.full(n + k + 1, -1, dtype=np.int64)
    rec_raw: list[str | None] = [None] * (n + k + 1)
    rec_columns: list[str | None] = [None] * (n + k + 1)
    if n:
        rows = rows.astype(object).where(rows.notna(), "")
        rec_rows[1 : n + 1] = pd.to_numeric(rows["row_number"]).to_numpy(dtype=np.int64)
        for i, r in enumerate(rows.itertuples(index=False), start=1):
            unit = " ".join(x for x in (str(r.unit_code), str(r.unit_name)) if x)
            rec_raw[i] = (f"[{r.sheet}] dòng/row {r.row_number}: {unit} | {r.column_name} = {r.value}"
                          + (f" | unit_scheme = {r.unit_scheme}" if r.unit_scheme and r.unit_scheme != SCHEME else ""))
            rec_columns[i] = str(r.column_name) or None
    wb_rows: list[dict[str, Any]] = []
    for j, r in enumerate(wb_rejects.itertuples(index=False), start=n + 1):
        has_row = r.row is not None and not pd.isna(r.row)
        if has_row:
            rec_rows[j] = int(r.row)
        where = f"[{r.sheet}]" if isinstance(r.sheet, str) and r.sheet else ""
        rec_raw[j] = " ".join(x for x in (where, f"dòng/row {int(r.row)}" if has_row else "",
                                          f"| {r.column}" if isinstance(r.column, str) and r.column else "") if x) or None
        column = r.column if isinstance(r.column, str) and r.column else None
        rec_columns[j] = column
        wb_rows.append({"_rec": j, "column_name": column, "value": None if pd.isna(r.value) else r.value,
                        "check_code": r.check_code, "reason": r.reason})
    st.rec_rows, st.rec_raw, st.rec_columns = rec_rows, rec_raw, rec_columns
    counted = [row for row in wb_rows if row["check_code"] not in _WORKBOOK_REPORT_ONLY]
    st.rows_total = n + len(counted)

    frame = pd.DataFrame({"_rec": np.arange(1, n + 1, dtype=np.int64)})
    for name in KNOWN_COLUMNS:
        col = rows[name] if n and name in rows.columns else pd.Series("", index=range(n), dtype=object)
        frame[name] = pd.Series([unicodedata.normalize("NFC", str(v)).strip() for v in col], dtype="str")
    schemes = set(frame["unit_scheme"].str.lower().replace("", SCHEME).unique()) if n else set()
    st.schemes = frozenset(schemes & {SCHEME, LEGACY})

    row_rejects, candidates = _check_rows(frame, ctx)
    st.rejects = ([pd.DataFrame(wb_rows)] if wb_rows else []) + row_rejects
    st.candidates = candidates.assign(source_file=st.source_file, file_sha256=st.sha256)
    return st


def _reason_empty(name: str, header_only: bool) -> str:
    if header_only:
        return reason("ingest.file_empty.header_only", name=name)
    return reason("ingest.file_empty", name=name, columns=", ".join(REQUIRED_COLUMNS))


def _norm_name(name: str) -> str:
    return unicodedata.normalize("NFC", name.replace("\ufeff", "")).strip().lower()


def _sniff_delimiter(text: str) -> str:
    first = text.split("\n", 1)[0].split("\r", 1)[0]
    best, best_hits = ",", -1
    for d in (",", ";", "\t"):
        try:
            names = {_norm_name(h) for h in next(csv.reader([first], delimiter=d), [])}
        except csv.Error:
            continue
        hits = sum(c in names for c in REQUIRED_COLUMNS)
        if hits > best_hits:
            best, best_hits = d, hits
    return best


def _read_records(text: str, delimiter: str, limits: IngestLimits | None = None
                  ) -> tuple[list[str], list[list[str]], list[int], dict[int, str]]:
    """Records of a CSV text, with for each record the number of the last line it uses, and the records
    that are a broken line (an unclosed quote: ``pipelines.ingest.csv_stream``) with the reason."""
    lines = list(io.StringIO(text, newline=""))
    source: list[str] = lines
    if not text.isascii():
        # NFC never touches line breaks, so the normalised text has the same lines.
        source = list(io.StringIO(unicodedata.normalize("NFC", text), newline=""))
        if len(source) != len(lines):
            source = [unicodedata.normalize("NFC", line) for line in lines]
    read = read_records(list(source), delimiter, None, limits=limits)
    recs, ends, broken = read.cells, read.ends, read.broken
    if not recs:
        recs, ends = [[]], [0]
    return lines, recs, ends, broken
