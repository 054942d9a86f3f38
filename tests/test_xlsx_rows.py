"""The workbook's quick row writer writes the XML openpyxl's own write-only path writes, value for value."""

from __future__ import annotations

import io
import zipfile

import pytest
from lxml import etree
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils.exceptions import IllegalCharacterError

from pipelines.publish.xlsx_rows import append_rows

ROWS = [
    ["01", 1, 0.5, True, None],
    [" padded ", -3, 1 / 3, False, 2.25],
    ["a & b < c > d\r\ne", 10**12, float("nan"), None, None],
    ["", 0, 1e-20, True, 7],
    ["=SUM(A1:A2)", 2, 2.0, None, 1.5],  # a formula and an error code go through openpyxl's path
    ["#N/A", 3, None, False, None],
]


def _sheet_xml(fast: bool) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("t")
    ws.append(["code", "n", "x", "flag", "score"])
    styled = WriteOnlyCell(ws)
    styled.number_format = "0.00"
    cells = [None, None, None, None, styled]
    if fast:
        append_rows(ws, ROWS, cells)
    else:
        for values in ROWS:
            row = list(values)
            styled.value = row[4]
            row[4] = styled
            ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    with zipfile.ZipFile(buffer) as z:
        return etree.tostring(etree.fromstring(z.read("xl/worksheets/sheet1.xml")), method="c14n")


def test_rows_are_written_as_openpyxl_writes_them():
    fast, slow = _sheet_xml(fast=True), _sheet_xml(fast=False)
    assert fast == slow
    # the cases that matter are really there: text kept with its spaces, numbers as numbers, the style of the
    # decimal column on its empty cells too, the formula and the error code as openpyxl types them
    # (row 1 is the header)
    assert b'<c r="A3" t="inlineStr"><is><t xml:space="preserve"> padded </t></is></c>' in fast
    assert b'<t>a &amp; b &lt; c &gt; d&#xD;\ne</t>' in fast
    assert b'<c r="B4" t="n"><v>1000000000000</v></c>' in fast
    assert b'<c r="D2" t="b"><v>1</v></c><c r="E2" s="1" t="n"></c>' in fast
    assert b'<c r="E3" s="1" t="n"><v>2.25</v></c>' in fast
    assert b'<c r="A6"><f>SUM(A1:A2)</f><v></v></c>' in fast
    assert b'<c r="A7" t="e"><v>#N/A</v></c>' in fast


def test_a_control_character_is_refused_as_openpyxl_refuses_it():
    ws = Workbook(write_only=True).create_sheet("t")
    with pytest.raises(IllegalCharacterError):
        append_rows(ws, [["bad\x01text"]], [None])
