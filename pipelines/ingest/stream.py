"""Large CSV files, read a chunk at a time: ingest memory stays bounded whatever the file size.

A CSV file larger than ``CRI_INGEST_STREAM_MB`` (default 32 MB; a national
commune file is about 4 MB) makes ``parse_folder`` read its folder this way:

* the large file is decoded and read ``IngestLimits.chunk_rows`` records at a
  time, each chunk checked by exactly the code that checks a small file
  (``parse._split_body``, ``parse._check_body``); its rejects are finished at
  once (row number and record as it arrived), and the rows that passed every
  check go to a staging DuckDB database in a temporary folder, which spills to
  disk under its own memory limit (a quarter of ``CRI_INGEST_MEMORY_MB``);
* the other files of the folder are read as usual and staged the same way;
* the duplicate rule (``parse._duplicate_rule``, same reasons) runs on the
  rows whose key appears more than once, found in SQL and taken a batch at a
  time; the values left are written to a Parquet file that ``write_parsed``
  inserts into ``raw.data_values`` inside its transaction.

Rows keyed by the units before 1 July 2025 (``unit_scheme = legacy``) are
summed through the crosswalk all together, in memory; in a folder read this
way a file holding them is rejected whole with a reason that says to send them
in files below the size (``ingest.limit_exceeded``): nothing is half loaded.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import itertools
import shutil
import tempfile
import unicodedata
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from pipelines.ingest.assemble import (
    _ASSEMBLY_REJECT_COLUMNS,
    _duplicate_rule,
    _finish_rejects,
)
from pipelines.ingest.contract import (
    FileInfo,
    ParsedFolder,
    _REJECT_DTYPES,
    _VALUE_DTYPES,
    DUPLICATE_KEY,
    LEGACY,
    MATCH_METHODS,
    REJECT_COLUMNS,
    VALUE_COLUMNS,
)
from pipelines.ingest.decode import decode_bytes
from pipelines.ingest.messages import reason
from pipelines.ingest.stage import (
    _Staged,
    _check_body,
    _header_columns,
    _reason_empty,
    _sniff_delimiter,
    _split_body,
    _stage_file,
)
from pipelines.ingest.csv_stream import read_records
from pipelines.ingest.limits import LimitExceeded

_CAND_COLUMNS = ["_file", "_rec", "row_number", "unit_code", "data_element", "disaggregation", "value", "value_text",
                 "unit_name", "comment", "match_method", "raw_record"]
_CAND_DDL = """create table cand (_file integer, _rec bigint, row_number bigint, unit_code varchar,
  data_element varchar, disaggregation varchar, value double, value_text varchar, unit_name varchar,
  comment varchar, match_method varchar, raw_record varchar)"""


def is_large(path: Path, limits: Any) -> bool:
    """A CSV file read in chunks (over ``CRI_INGEST_STREAM_MB``)."""
    try:
        return path.suffix.lower() == ".csv" and path.stat().st_size > limits.stream_mb * 1_000_000
    except OSError:
        return False


@dataclass
class _Stage:
    """The staging database of one folder, in its own temporary folder."""

    ctx: Any
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cri-ingest-")))
    con: Any = None
    done_rejects: list[pd.DataFrame] = field(default_factory=list)  # finished rejects of the large files

    def __post_init__(self) -> None:
        self.con = duckdb.connect(str(self.tmp / "stage.duckdb"))
        mb = max(64, self.ctx.limits.memory_mb // 4)
        self.con.execute(f"set memory_limit='{mb}MB'; set temp_directory='{self.tmp / 'spill'}'; "
                         f"set preserve_insertion_order=false; set threads=2").fetchall()
        self.con.execute(_CAND_DDL).fetchall()

    def add(self, frame: pd.DataFrame) -> None:
        if len(frame):
            self.con.register("_chunk", frame[_CAND_COLUMNS])
            self.con.execute("insert into cand select * from _chunk").fetchall()
            self.con.unregister("_chunk")


def parse_folder_streaming(paths: list[Path], names: list[str], ctx: Any) -> ParsedFolder:
    """``parse_folder`` for a folder holding a large CSV file (``paths`` in name order, ``names`` their
    source names). The result's values are in ``values_parquet``; ``cleanup`` removes the temporary folder."""
    stage = _Stage(ctx)
    try:
        return _parse_staged(paths, names, ctx, stage)
    except BaseException:
        stage.con.close()
        shutil.rmtree(stage.tmp, ignore_errors=True)
        raise


def _parse_staged(paths: list[Path], names: list[str], ctx: Any, stage: _Stage) -> ParsedFolder:
    staged: list[_Staged] = []
    for i, (path, name) in enumerate(zip(paths, names, strict=True)):
        st = _stage_large(path, name, ctx, stage, i) if is_large(path, ctx.limits) else _stage_small(
            path, name, ctx, stage, i)
        staged.append(st)
    dup_rejects = _duplicates(stage, staged, ctx)
    rejects = _finish_rejects(staged, pd.DataFrame(columns=_ASSEMBLY_REJECT_COLUMNS), ctx)
    rejects = pd.concat([rejects, *stage.done_rejects, dup_rejects], ignore_index=True)
    rejects = rejects.sort_values(["source_file", "row_number"], na_position="first", kind="stable")
    rejects = rejects[REJECT_COLUMNS].reset_index(drop=True).astype(_REJECT_DTYPES)
    for col in ("file_sha256", "column_name", "value", "raw_record"):
        rejects[col] = rejects[col].where(rejects[col].notna(), None)
    files = _files_table(staged)
    stage.con.register("_files", files)
    parquet = stage.tmp / "values.parquet"
    stage.con.execute(f"""copy (select ? as period, ? as sector, c.unit_code, c.data_element, c.disaggregation,
        c.value, c.unit_name, c.comment, f.source_file, f.file_sha256, c.row_number::integer as row_number,
        c.match_method, null::varchar as source_units, null::boolean as rebase_complete
        from cand c join _files f using (_file) anti join dropped d using (_file, _rec)
        order by c._file, c._rec) to '{parquet}' (format parquet)""", [ctx.period, ctx.sector]).fetchall()
    counts = stage.con.execute("select _file, match_method, count(*) from cand anti join dropped using (_file, _rec) "
                               "group by all").fetchall()
    stage.con.close()
    empty = pd.DataFrame({c: pd.Series(dtype=_VALUE_DTYPES[c]) for c in VALUE_COLUMNS})
    parsed = ParsedFolder(period=ctx.period, sector=ctx.sector, values=empty, rejects=rejects,
                            files=_infos(staged, counts, ctx), apportion_rule=ctx.apportion_rule,
                            values_parquet=parquet, temp_dir=stage.tmp)
    weakref.finalize(parsed, shutil.rmtree, stage.tmp, True)  # gone with the result, even if never written
    return parsed


def cleanup(parsed: ParsedFolder) -> None:
    if parsed.temp_dir is not None:
        shutil.rmtree(parsed.temp_dir, ignore_errors=True)


# -- staging ---------------------------------------------------------------------------------------


def _legacy_reason(name: str, ctx: Any) -> str:
    return reason("ingest.limit_exceeded.legacy_in_large_folder", name=name, mb=ctx.limits.stream_mb)


def _stage_small(path: Path, name: str, ctx: Any, stage: _Stage, i: int) -> _Staged:
    st = _stage_file(path, name, ctx)
    cand = st.candidates
    if cand is None or not len(cand):
        return st
    if (cand["match_method"] == LEGACY).any():
        st.reject_file("ingest.limit_exceeded", _legacy_reason(path.name, ctx))
        return st
    recs = cand["_rec"].to_numpy()
    stage.add(cand.assign(_file=i, row_number=st.row_number(recs), raw_record=[st.raw_record(int(r)) for r in recs]))
    return st


def _stage_large(path: Path, name: str, ctx: Any, stage: _Stage, i: int) -> _Staged:
    st = _Staged(source_file=name, sha256=_sha256(path), encoding="utf-8", received_at=_mtime(path))
    with path.open("rb") as raw:
        head = raw.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            decoded = decode_bytes(head + raw.read(1 << 16))
            st.encoding = decoded.encoding
            st.reject_file("ingest.file_encoding", decoded.problem or "not UTF-8", value=decoded.bad_bytes)
            return st
        st.encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        _read_chunks(path, st, ctx, stage, i)
    except LimitExceeded as exc:
        _abandon(st, stage, i, "ingest.limit_exceeded", exc.reason)
    except UnicodeDecodeError as exc:
        _abandon(st, stage, i, "ingest.file_encoding",
                 reason("ingest.file_encoding.chunk", position=f"{exc.start:,}", error=exc.reason))
    except _Legacy:
        _abandon(st, stage, i, "ingest.limit_exceeded", _legacy_reason(path.name, ctx))
    return st


class _Legacy(Exception):
    pass


def _abandon(st: _Staged, stage: _Stage, i: int, code: str, reason: str) -> None:
    stage.con.execute("delete from cand where _file = ?", [i]).fetchall()
    stage.done_rejects = [r for r in stage.done_rejects if not (r["source_file"] == st.source_file).all()]
    st.reject_file(code, reason)


def _read_chunks(path: Path, st: _Staged, ctx: Any, stage: _Stage, i: int) -> None:
    limits = ctx.limits
    with io.TextIOWrapper(path.open("rb"), encoding=st.encoding, newline="") as text:
        lines = _nfc(list(itertools.islice(text, limits.chunk_rows)))
        if not lines or not "".join(lines[:5]).strip():
            st.reject_file("ingest.file_empty", _reason_empty(path.name, header_only=False))
            return
        delimiter = _sniff_delimiter(lines[0])
        st.delimiter = delimiter
        first = read_records(lines[:1], delimiter, None, limits=limits)
        header_raw = first.cells[0]
        ncols = len(header_raw)
        seen = _header_columns(st, header_raw, lines[0].rstrip("\r\n"))
        if seen is None:
            return
        lines, first_line, rec0, prev_end = lines[1:], 2, 1, 1
        schemes: set[str] = set()
        while True:
            need = limits.chunk_rows - len(lines)
            more = _nfc(list(itertools.islice(text, need))) if need > 0 else []
            final = len(more) < need
            lines += more
            read = read_records(lines, delimiter, ncols, first_line=first_line, limits=limits, final=final)
            _check_chunk(read, lines, first_line, rec0, prev_end, ncols, seen, st, ctx, stage, i, schemes)
            rec0 += len(read.cells)
            prev_end = read.ends[-1] if read.ends else prev_end
            first_line += read.next_line
            lines = lines[read.next_line:]
            if final:
                break
    st.schemes = frozenset(schemes)
    if st.rows_total == 0:
        st.reject_file("ingest.file_empty", _reason_empty(path.name, header_only=True))


def _check_chunk(read: Any, lines: list[str], first_line: int, rec0: int, prev_end: int, ncols: int,
                 seen: dict[str, int], st: _Staged, ctx: Any, stage: _Stage, i: int, schemes: set[str]) -> None:
    if not read.cells:
        return
    broken = {rec0 + k: why for k, why in read.broken.items()}
    body = _split_body(read.cells, ncols, broken, rec0)
    st.blank_rows += int(body.blank.sum())
    st.rows_total += int((~body.blank).sum())
    rejects, cand, found = _check_body(body, rec0, broken, ncols, seen, st.delimiter, ctx)
    schemes |= found
    if (cand["match_method"] == LEGACY).any():
        raise _Legacy
    starts = np.asarray([prev_end, *read.ends[:-1]], dtype=np.int64) + 1  # first line of each record

    def rows_of(recs: np.ndarray) -> tuple[np.ndarray, list[str]]:
        k = recs - rec0
        raw = ["".join(lines[s - first_line: e - first_line + 1]).rstrip("\r\n")
               for s, e in zip(starts[k].tolist(), np.asarray(read.ends)[k].tolist(), strict=True)]
        return starts[k], raw

    if rejects:
        rej = pd.concat([r for r in rejects if len(r)], ignore_index=True)
        rows, raw = rows_of(rej["_rec"].to_numpy(dtype=np.int64))
        stage.done_rejects.append(rej.drop(columns="_rec").assign(
            period=ctx.period, sector=ctx.sector, source_file=st.source_file, file_sha256=st.sha256,
            row_number=rows, raw_record=raw))
    if len(cand):
        rows, raw = rows_of(cand["_rec"].to_numpy(dtype=np.int64))
        stage.add(cand.assign(_file=i, row_number=rows, raw_record=raw))


def _nfc(lines: list[str]) -> list[str]:
    return [ln if ln.isascii() else unicodedata.normalize("NFC", ln) for ln in lines]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _mtime(path: Path) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).replace(tzinfo=None)


# -- assembly --------------------------------------------------------------------------------------


def _duplicates(stage: _Stage, staged: list[_Staged], ctx: Any) -> pd.DataFrame:
    """The duplicate rule on the rows whose key appears more than once, a batch of keys at a time."""
    con = stage.con
    con.execute("create table dropped (_file integer, _rec bigint)").fetchall()
    con.execute("""create table dupkeys as select unit_code, data_element, disaggregation, count(*) as n,
                   hash(unit_code, data_element, disaggregation) as h
                   from cand group by all having count(*) > 1""").fetchall()
    n = con.execute("select coalesce(sum(n), 0) from dupkeys").fetchall()[0][0]
    if not n:
        return pd.DataFrame(columns=REJECT_COLUMNS)
    batches = max(1, -(-int(n) // ctx.limits.chunk_rows))
    names = [SimpleNamespace(source_file=st.source_file) for st in staged]
    out = []
    for b in range(batches):
        d = con.execute("""select c.* from cand c semi join (select * from dupkeys where h % ? = ?) k
                           using (unit_code, data_element, disaggregation) order by _file, _rec""",
                        [batches, b]).df()
        d = d.assign(period=ctx.period, _label=d["unit_code"])
        drop, rej = _duplicate_rule(d, DUPLICATE_KEY, names, len(staged) > 1)
        con.register("_drop", d.loc[drop, ["_file", "_rec"]])
        con.execute("insert into dropped select * from _drop").fetchall()
        con.unregister("_drop")
        if len(rej):
            where = d.set_index(["_file", "_rec"])[["row_number", "raw_record"]]
            at = where.loc[list(zip(rej["_file"], rej["_rec"], strict=True))]
            out.append(rej.drop(columns=["_rec"]).assign(
                period=ctx.period, sector=ctx.sector, row_number=at["row_number"].to_numpy(),
                raw_record=at["raw_record"].to_numpy(), source_file=[staged[f].source_file for f in rej["_file"]],
                file_sha256=[staged[f].sha256 for f in rej["_file"]]).drop(columns=["_file"]))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=REJECT_COLUMNS)


def _files_table(staged: list[_Staged]) -> pd.DataFrame:
    return pd.DataFrame({"_file": np.arange(len(staged), dtype=np.int32),
                         "source_file": [st.source_file for st in staged],
                         "file_sha256": [st.sha256 for st in staged]})


def _infos(staged: list[_Staged], counts: list[tuple], ctx: Any) -> list[FileInfo]:
    by = {(int(f), m): int(n) for f, m, n in counts}
    infos = []
    for i, st in enumerate(staged):
        by_method = {col: by.get((i, m), 0) for m, col in MATCH_METHODS.items()}
        n_loaded = sum(by_method.values())
        infos.append(FileInfo(
            source_file=st.source_file, file_sha256=st.sha256, encoding=st.encoding, rows_total=st.rows_total,
            rows_loaded=n_loaded, rows_rejected=st.rows_total - n_loaded, blank_rows=st.blank_rows,
            delimiter=st.delimiter, received_at=st.received_at, whole_file_rejected=st.whole_file,
            file_format=st.file_format, unit_scheme=st.unit_scheme, **by_method, apportion_rule=None))
    return infos
