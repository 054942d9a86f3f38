"""Reading CSV records line by line, so that one broken line never takes the lines after it.

``csv.reader`` lets a double quote that is never closed run on to the end of
the file: line 5 ``...,"12`` swallows every line after it into one record.
``read_records`` reads the same records as ``csv.reader`` but accepts a record
spread over several lines (a quoted cell holding a line break, as Excel
writes) only when it has exactly the header's number of cells and none of its
continuation lines looks like a record of its own (as many separators as the
header). Otherwise the first line alone is a broken record (``Records.broken``
says why) and the lines after it are read again on their own. A record may
span at most ``MAX_RECORD_LINES`` lines.

Lines longer than the limit, and a header with more columns than the limit,
raise ``LimitExceeded`` (the file is rejected whole), before the rest of the
file is read.
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass, field

from pipelines.ingest.limits import IngestLimits
from pipelines.ingest.messages import reason

MAX_RECORD_LINES = 50
#: What a broken record is: code -> (Vietnamese, English) meaning.
CHECK_CODES: dict[str, tuple[str, str]] = {
    "ingest.unclosed_quote": ("Dấu ngoặc kép không đóng: dòng không được nạp",
                              "a double quote is never closed: the line is not loaded"),
}


@dataclass
class Records:
    """Records read from a list of lines: ``cells[i]`` ended on line ``ends[i]`` (1-based, in the file);
    ``broken``: index -> why that line was not read as a record (then its cells are empty)."""

    cells: list[list[str]] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    broken: dict[int, str] = field(default_factory=dict)
    next_line: int = 0  # index in ``lines`` of the first line not read (the end, or where the next chunk starts)


def read_records(lines: list[str], delimiter: str, ncols: int | None, *, first_line: int = 1,
                 limits: IngestLimits | None = None, final: bool = True, out: Records | None = None) -> Records:
    """The records of ``lines`` (with their line ends; ``lines[0]`` is line ``first_line`` of the file).

    ``ncols``: the header's number of cells (None: the first record is the header, and sets it). When
    ``final`` is false the lines are a chunk of a longer file: records starting in its last
    ``MAX_RECORD_LINES`` lines are left for the next chunk (``next_line``), as they may go on in it.
    """
    limits = limits or IngestLimits()
    if lines:
        longest = max(lines, key=len)
        if len(longest) > limits.max_line_chars:
            limits.check_line(longest, first_line + lines.index(longest))
    out = out if out is not None else Records()
    stop = len(lines) if final else max(0, len(lines) - MAX_RECORD_LINES)
    i = 0  # index of the line the reader starts from
    while i < stop:
        reader = csv.reader(itertools.islice(lines, i, None), delimiter=delimiter)
        prev = 0
        restart = None
        while True:
            if i + prev >= stop:
                break
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:  # a NUL byte, a quoted cell running over the csv module's size limit
                out.broken[len(out.cells)] = _reason_bad_line(first_line + i + prev, str(exc))
                out.cells.append([])
                out.ends.append(first_line + i + prev)
                restart = i + prev + 1
                break
            span = reader.line_num - prev
            if ncols is None:
                ncols = len(cells)
                limits.check_columns(ncols)
            elif span > 1 and (len(cells) != ncols or span > MAX_RECORD_LINES or any(
                    lines[k].count(delimiter) >= max(1, ncols - 1) for k in range(i + prev + 1, i + reader.line_num))):
                if not final and i + reader.line_num >= len(lines):
                    break  # it may be a record that goes on in the next chunk
                out.broken[len(out.cells)] = _reason_unclosed(first_line + i + prev, span)
                out.cells.append([])
                out.ends.append(first_line + i + prev)
                restart = i + prev + 1  # the lines it swallowed are read again on their own
                break
            out.cells.append(cells)
            out.ends.append(first_line + i + reader.line_num - 1)
            prev = reader.line_num
        if restart is None:
            i += prev
            break
        i = restart
    out.next_line = i
    return out


def _reason_unclosed(line: int, spans: int) -> str:
    return reason("ingest.unclosed_quote", line=line, swallowed=spans - 1)


def _reason_bad_line(line: int, error: str) -> str:
    return reason("ingest.unclosed_quote.unreadable", line=line, error=error)
