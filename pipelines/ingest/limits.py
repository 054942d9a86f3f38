"""Resource limits of ingest: a hostile or broken file is rejected whole, with a reason, never a stuck run.

Every limit is a setting (environment variable), read each time ingest starts:

============================== ========= ==================================================================
``CRI_INGEST_MEMORY_MB``       1024      memory ingest may use; CSV files are read in chunks sized from it
``CRI_INGEST_MAX_COLUMNS``     1000      columns of a CSV header or of a worksheet
``CRI_INGEST_MAX_LINE_CHARS``  100000    characters in one line of a CSV file
``CRI_INGEST_MAX_CELLS``       2000000   cells of a workbook (every sheet, and the cells merged ranges cover)
``CRI_INGEST_MAX_UNPACKED_MB`` 256       size of a workbook once unzipped (a zip bomb is refused unopened)
``CRI_INGEST_STREAM_MB``       32        CSV files larger than this are read a chunk at a time (``stream``)
============================== ========= ==================================================================

A file over a limit is one whole-file reject ``ingest.limit_exceeded`` whose
reason names the limit, the value found, the setting and what to do.
Numbers beyond what a float holds (a 400-digit count, ``1e400``) are a
value problem, not a limit: ``ingest.unparseable_value`` on the row.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.ingest.messages import reason, texts

CHECK_CODES: dict[str, tuple[str, str]] = {
    "ingest.limit_exceeded": ("Tệp vượt giới hạn an toàn (số cột, độ dài dòng, số ô, dung lượng giải nén)",
                              "file over a safety limit (columns, line length, cells, unpacked size; whole file)"),
}


class LimitExceeded(Exception):
    """A file over one of the limits; ``reason`` is the bilingual sentence for the reject."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class IngestLimits:
    memory_mb: int = 1024
    max_columns: int = 1000
    max_line_chars: int = 100_000
    max_cells: int = 2_000_000
    max_unpacked_mb: int = 256
    stream_mb: int = 32

    @classmethod
    def from_env(cls) -> IngestLimits:
        def num(name: str, default: int) -> int:
            text = os.environ.get(name, "").strip()
            return int(text) if text else default

        d = cls()
        return cls(memory_mb=num("CRI_INGEST_MEMORY_MB", d.memory_mb),
                   max_columns=num("CRI_INGEST_MAX_COLUMNS", d.max_columns),
                   max_line_chars=num("CRI_INGEST_MAX_LINE_CHARS", d.max_line_chars),
                   max_cells=num("CRI_INGEST_MAX_CELLS", d.max_cells),
                   max_unpacked_mb=num("CRI_INGEST_MAX_UNPACKED_MB", d.max_unpacked_mb),
                   stream_mb=num("CRI_INGEST_STREAM_MB", d.stream_mb))

    @property
    def chunk_rows(self) -> int:
        """CSV records checked at a time: a few KB of working memory each, a fraction of the budget."""
        return max(10_000, min(500_000, self.memory_mb * 100))

    def over(self, limit_key: str, found: int, limit: int, setting: str, /, **values: Any) -> LimitExceeded:
        """The reject of a file over a limit: ``fragment.limit.<limit_key>`` names it and says what to do."""
        what = texts(f"fragment.limit.{limit_key}", **values)
        fix = texts(f"fragment.limit.{limit_key}.fix")
        return LimitExceeded(reason("ingest.limit_exceeded", what=what, found=found, limit=limit, setting=setting,
                                    fix=fix))

    def check_columns(self, n: int, where: tuple[str, str] | None = None) -> None:
        """``where``: (vi, en) of the row or sheet counted; default the header."""
        if n > self.max_columns:
            raise self.over("columns", n, self.max_columns, "CRI_INGEST_MAX_COLUMNS",
                            where=where or texts("fragment.limit.columns.where"))

    def check_line(self, line: str, line_no: int) -> None:
        if len(line) > self.max_line_chars:
            raise self.over("line", len(line), self.max_line_chars, "CRI_INGEST_MAX_LINE_CHARS", line=line_no)

    def check_cells(self, n: int) -> None:
        if n > self.max_cells:
            raise self.over("cells", n, self.max_cells, "CRI_INGEST_MAX_CELLS")

    def check_workbook(self, path: Path) -> None:
        """Refuse a workbook whose parts unzip to more than the limit, before anything is unpacked."""
        try:
            with zipfile.ZipFile(path) as zf:
                size = sum(i.file_size for i in zf.infolist())
        except (zipfile.BadZipFile, OSError):
            return  # not a zip: the workbook reader says it cannot read it
        limit = self.max_unpacked_mb * 1024 * 1024
        if size > limit:
            raise self.over("unpacked", size, limit, "CRI_INGEST_MAX_UNPACKED_MB")
