"""Reading CSV records line by line, so that one broken line never takes the lines after it.

``csv.reader`` lets a double quote that is never closed run on to the end of
the file: line 5 ``...,"12`` swallows every line after it into one record.
``iter_records`` reads the same records as ``csv.reader`` but accepts a record
spread over several lines (a quoted cell holding a line break, as Excel
writes) only when it has exactly the header's number of cells and none of its
continuation lines looks like a record of its own (as many separators as the
header). Otherwise the first line alone is a broken record (``Record.broken``
says why) and the lines after it are read again on their own. A record may
span at most ``MAX_RECORD_LINES`` lines.

Lines longer than the limit, and a header with more columns than the limit,
raise ``LimitExceeded`` (the file is rejected whole), before the rest of the
file is read.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipelines.ingest.limits import IngestLimits

MAX_RECORD_LINES = 50
#: What a broken record is: code -> (Vietnamese, English) meaning.
CHECK_CODES: dict[str, tuple[str, str]] = {
    "ingest.unclosed_quote": ("Dấu ngoặc kép không đóng: dòng không được nạp",
                              "a double quote is never closed: the line is not loaded"),
}


@dataclass(frozen=True)
class Record:
    first_line: int  # 1-based physical lines the record uses
    last_line: int
    cells: list[str]
    broken: str | None = None  # why the line was not read as a record (then cells is empty)


class _Lines:
    """The lines of a file as an iterator ``csv.reader`` pulls from, with lines pushed back to read again."""

    def __init__(self, lines: Iterable[str], limits: IngestLimits) -> None:
        self._it = iter(lines)
        self._back: deque[tuple[int, str]] = deque()
        self._n = 0
        self._limits = limits
        self.taken: list[tuple[int, str]] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if len(self.taken) >= MAX_RECORD_LINES:
            raise StopIteration  # ends this record only: the reader asks again for the next one
        if self._back:
            item = self._back.popleft()
        else:
            text = next(self._it)
            self._n += 1
            self._limits.check_line(text, self._n)
            item = (self._n, text)
        self.taken.append(item)
        return item[1]

    def read_again(self, items: list[tuple[int, str]]) -> None:
        self._back.extendleft(reversed(items))


def iter_records(lines: Iterable[str], delimiter: str, limits: IngestLimits | None = None) -> Iterator[Record]:
    """Records of CSV lines (with their line ends); the first is the header."""
    limits = limits or IngestLimits()
    src = _Lines(lines, limits)
    reader = csv.reader(src, delimiter=delimiter)
    ncols: int | None = None
    while True:
        src.taken = []
        try:
            cells = next(reader)
        except StopIteration:
            if not src.taken:
                return
            cells = None  # a record cut short at MAX_RECORD_LINES
        except csv.Error as exc:  # a NUL byte, a cell over the csv module's size limit
            first = src.taken[0] if src.taken else (0, "")
            src.read_again(src.taken[1:])
            yield Record(first[0], first[0], [], _reason_bad_line(first[0], str(exc)))
            continue
        taken = src.taken
        if ncols is None and cells is not None:
            ncols = len(cells)
            limits.check_columns(ncols)
        elif len(taken) > 1 and (cells is None or len(cells) != ncols or any(
                line.count(delimiter) >= max(1, ncols - 1) for _, line in taken[1:])):
            src.read_again(taken[1:])
            yield Record(taken[0][0], taken[0][0], [], _reason_unclosed(taken[0][0], len(taken)))
            continue
        yield Record(taken[0][0], taken[-1][0], cells or [])


def _reason_unclosed(line: int, spans: int) -> str:
    return (f"Dòng {line} mở dấu ngoặc kép mà không đóng (nuốt {spans - 1} dòng sau); dòng {line} không được nạp, "
            f"các dòng sau được đọc riêng; cần mỗi ô có dấu ngoặc kép mở và đóng trên cùng dòng / line {line} opens a "
            f"double quote that is never closed (it would swallow the {spans - 1} line(s) after it); line {line} "
            f"was not loaded and the lines after it were read on their own; expected every quoted cell to be "
            f"closed")


def _reason_bad_line(line: int, error: str) -> str:
    return (f"Không đọc được dòng {line} ({error}); dòng không được nạp / line {line} cannot be read as CSV "
            f"({error}); the line was not loaded; expected text cells separated by the delimiter")
