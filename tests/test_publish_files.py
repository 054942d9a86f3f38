"""Files for machines and for Excel: CSV rounded to the dictionary's decimals, CRLF and BOM everywhere; one
workbook with every published table, codes as text, set up to print."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from pipelines.files import BOM, round_half_up, write_csv
from pipelines.methodology import load_methodology
from pipelines.publish import contract
from pipelines.publish.dictionary import column_dictionary
from pipelines.publish.excel import write_ranking_xlsx
from pipelines.publish.published import PUBLISHED_TABLES, decimals
from pipelines.settings import DEFAULT_METHODOLOGY


@pytest.fixture(scope="module")
def methodology():
    return load_methodology(DEFAULT_METHODOLOGY)


def _lines(path: Path) -> list[bytes]:
    raw = path.read_bytes()
    assert raw.startswith(BOM), path.name
    assert b"\n" not in raw.replace(b"\r\n", b""), f"{path.name} has a line end other than CRLF"
    return raw[len(BOM):].split(b"\r\n")


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_bytes()[len(BOM):].decode("utf-8"), newline="")))


def test_round_half_up_on_the_decimal_text():
    # by hand: 2.675 is 2.67499999... in binary, its decimal text 2.675 rounds up; halves go away from zero
    assert round_half_up(2.675, 2) == 2.68
    assert round_half_up(-0.125, 2) == -0.13
    assert round_half_up(72.123456789, 2) == 72.12
    assert round_half_up(2.25, 1) == 2.3


def test_csv_numbers_rounded_to_the_declared_decimals(tmp_path):
    df = pd.DataFrame({"province_code": ["01", "08"], "pcri": [72.123456789, 2.675], "rank": [1, None],
                       "note": ["=1+1", None]})
    path = tmp_path / "t.csv"
    write_csv(df, path, {"pcri": "float64", "rank": "int64"}, {"pcri": 2})
    lines = _lines(path)
    assert lines == [b"province_code,pcri,rank,note", b"01,72.12,1,'=1+1", b"08,2.68,,", b""]


def test_the_dictionary_declares_the_decimals(methodology):
    cols = column_dictionary().set_index(["table", "column"])
    assert cols.loc[("province_ranking", "pcri"), "decimals"] == "2"
    assert cols.loc[("province_ranking", "province_code"), "decimals"] == ""
    assert cols.loc[("indicator_values", "value"), "decimals"] == "2"
    # every number column of every published table has its decimals (integers are exact)
    for name, table in PUBLISHED_TABLES.items():
        floats = {c.name for c in table.columns if c.type == "float64"}
        assert floats <= set(decimals(name)), name
    assert decimals("trend", ["period", "pcri", "D1"]) == {"pcri": 2, "D1": 2}


def test_rank_uncertainty_csv_is_crlf_with_bom_and_rounded(tmp_path):
    from pipelines.robustness import RANK_UNCERTAINTY_COLUMNS, RobustnessResult

    ranks = pd.DataFrame([["01", 1, 1.25, 1, 2, 1, "robust", "ổn định"],
                          ["08", 2, 2.25, 1, 3, 2, "moderate", "=khá"]], columns=RANK_UNCERTAINTY_COLUMNS)
    RobustnessResult(ranks, {}, [], {}).write(tmp_path)
    rows = _rows(tmp_path / "rank_uncertainty.csv")
    _lines(tmp_path / "rank_uncertainty.csv")
    assert [r["median_rank"] for r in rows] == ["1.3", "2.3"]  # 1 decimal, halves up
    assert rows[0]["province_code"] == "01" and rows[1]["label_vi"] == "'=khá"


def _one_row(name: str) -> pd.DataFrame:
    """A row of every published table: codes "01", numbers with more decimals than published."""
    values = {"string": "01", "int64": 3, "float64": 2.675, "boolean": True}
    return pd.DataFrame([{c.name: values[c.type] for c in PUBLISHED_TABLES[name].columns}])


def test_the_workbook_holds_every_published_table_for_excel(tmp_path, methodology):
    tables = {name: _one_row(name) for name in PUBLISHED_TABLES}
    tables["province_ranking"] = tables["province_ranking"].assign(
        pcri=72.123456789, province_name="=HYPERLINK(\"http://x\")", rank=1, tier=1)
    tables["trend"] = tables["trend"].assign(D1=91.005)
    path = write_ranking_xlsx(tmp_path / "ranking.xlsx", tables["province_ranking"], tables["domain_scores"],
                              methodology, tables=tables, release="2025 v3")
    wb = load_workbook(path)
    assert set(PUBLISHED_TABLES) <= set(wb.sheetnames)
    ws = wb["province_ranking"]
    header = [c.value for c in ws[2]]
    assert header == contract.columns("province_ranking")
    assert ws.cell(1, 2).value == contract.table("province_ranking").column("province_code").name_vi
    row = {h: ws.cell(3, n) for n, h in enumerate(header, start=1)}
    assert row["province_code"].value == "01" and row["province_code"].data_type == "s"
    assert row["pcri"].value == 72.12 and row["pcri"].number_format == "0.00"
    assert row["rank"].value == 1
    assert row["province_name"].value == "'=HYPERLINK(\"http://x\")"  # text, never a formula
    trend = wb["trend"]
    d1 = [c.value for c in trend[2]].index("D1") + 1
    assert trend.cell(3, d1).value == 91.01  # a domain score column: 2 decimals, half up
    iv = wb["indicator_values"]
    assert iv.cell(3, [c.value for c in iv[2]].index("unit_code") + 1).value == "01"
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert int(ws.page_setup.paperSize) == 9  # A4
        assert int(ws.page_setup.fitToWidth) == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
        assert "2025 v3" in ws.oddFooter.left.text and "&P" in ws.oddFooter.right.text
    assert wb["province_ranking"].print_title_rows == "$1:$2"
    assert wb["Xếp hạng"].print_title_rows == "$1:$1"
