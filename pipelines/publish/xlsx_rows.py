"""Rows of a write-only openpyxl sheet written as openpyxl writes them, without a cell object per value.

A national release puts about 1.2 million values in ``ranking.xlsx``; openpyxl's write-only sheet makes a cell
object for each (type inference, coordinate, style lookup) and writes it element by element, which made the
workbook the slowest part of a run. :func:`append_rows` writes the same XML (same cell types, text, number
formatting and style ids) one row element at a time. A row holding anything else than None, booleans, numbers and
plain text (a formula, an error code, a date) goes through openpyxl's own path, unchanged.

It relies on how openpyxl 3.1 streams a write-only sheet (``WriteOnlyWorksheet._values_to_row`` and the
``write_row`` of its writer), the version pinned by the project; tests/test_xlsx_rows.py compares the two paths.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from contextlib import contextmanager
from typing import Any

from lxml.etree import fromstring
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.compat.numbers import NUMERIC_TYPES
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import IllegalCharacterError
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


class _Unusual(Exception):
    """A value the fast path does not write: the row goes through openpyxl."""


def _number(value: Any) -> str:
    # openpyxl.compat.safe_string
    return "" if math.isnan(value) or math.isinf(value) else "%.16g" % value


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _cell(ref: str, value: Any, style: str | None) -> str:
    """The cell's XML, as openpyxl's ``lxml_write_cell`` writes it."""
    s = f' s="{style}"' if style is not None else ""
    if value is None:  # a styled empty cell (an unstyled one is not written)
        return f'<c r="{ref}"{s} t="n"/>'
    if type(value) is bool:
        return f'<c r="{ref}"{s} t="b"><v>{1 if value else 0}</v></c>'
    if isinstance(value, str):
        text = value[:32767]
        if (len(text) > 1 and text.startswith("=")) or text in ERROR_CODES:
            raise _Unusual
        if next(ILLEGAL_CHARACTERS_RE.finditer(text), None):
            raise IllegalCharacterError(f"{text} cannot be used in worksheets.")
        if text == "":
            return f'<c r="{ref}"{s} t="inlineStr"/>'
        space = ' xml:space="preserve"' if text != text.strip() else ""
        return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{_escape(text)}</t></is></c>'
    if isinstance(value, NUMERIC_TYPES) and not isinstance(value, bool):
        return f'<c r="{ref}"{s} t="n"><v>{_number(value)}</v></c>'
    raise _Unusual


@contextmanager
def _fast_rows(ws: WriteOnlyWorksheet, cells: list[WriteOnlyCell | None]):
    """While open, ``ws.append(values)`` writes ``values`` as ``ws.append(styled_row(values, cells))`` would."""
    ws._get_writer()
    writer = ws._writer
    styles = [None if c is None or not c.has_style else f"{c.style_id}" for c in cells]
    letters = [get_column_letter(n) for n in range(1, len(cells) + 1)]
    original_write, original_values = writer.write_row, ws._values_to_row

    def write_row(xf, values, row_idx: int) -> None:
        n = f"{row_idx}"
        attrs = {"r": n}
        attrs.update(ws.row_dimensions.get(row_idx, {}))
        try:
            xml = "".join([_cell(letter + n, value, style) for letter, value, style in zip(letters, values, styles)
                           if value is not None or style is not None])
        except _Unusual:
            original_write(xf, original_values(styled_row(values, cells), row_idx), row_idx)
            return
        row = fromstring(f"<row>{xml}</row>")
        row.attrib.update(attrs)
        xf.write(row)

    writer.write_row, ws._values_to_row = write_row, lambda values, row_idx: values
    try:
        yield
    finally:
        writer.write_row, ws._values_to_row = original_write, original_values


def styled_row(values: list[Any], cells: list[WriteOnlyCell | None]) -> list[Any]:
    """A row to append: a plain value as is, a styled column's value in its cell (written when appended)."""
    out = list(values)
    for n, cell in enumerate(cells):
        if cell is not None:
            cell.value = values[n]
            out[n] = cell
    return out


def append_rows(ws: WriteOnlyWorksheet, rows: Iterable[Iterable[Any]], cells: list[WriteOnlyCell | None]) -> None:
    """Append ``rows`` to ``ws``, each value in its column's styled cell when ``cells`` has one (else plain)."""
    with _fast_rows(ws, cells):
        for values in rows:
            ws.append(list(values))
