"""Parsing of landing files: one fixture per fault (tests/fixtures/ingest/), and the invariant.

For every file: rows_total == rows_loaded + rows_rejected, where rows_rejected
counts the distinct data rows that were not loaded.
"""

from __future__ import annotations

import importlib.util
import shutil
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from pipelines.ingest.codes import CHECK_CODES
from pipelines.ingest.contract import REJECT_COLUMNS, VALUE_COLUMNS, ParsedFile
from pipelines.ingest.decode import decode_bytes
from pipelines.ingest.numbers import parse_number
from pipelines.ingest.parse import parse_file, parse_folder
from pipelines.methodology import load_methodology
from pipelines.reference.units import admin_units

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def methodology():
    return load_methodology()


@pytest.fixture(scope="module")
def units():
    return admin_units()


def parse(name: str, methodology, units, *, sector: str = "health", period: str = "2025",
          folder: Path = FIXTURES) -> ParsedFile:
    result = parse_file(folder / name, period=period, sector=sector, methodology=methodology, units=units,
                        relative_name=f"{period}/{sector}/{name}")
    assert_invariant(result, folder / name)
    return result


def data_lines(path: Path) -> list[int]:
    """Line numbers of the non-blank data lines of a one-line-per-record UTF-8 file."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    return [n for n, line in enumerate(lines, start=1) if n > 1 and line.replace(",", "").strip()]


def assert_invariant(result: ParsedFile, path: Path | None = None) -> None:
    info = result.info
    assert list(result.values.columns) == VALUE_COLUMNS
    assert list(result.rejects.columns) == REJECT_COLUMNS
    assert info.rows_total == info.rows_loaded + info.rows_rejected
    assert info.rows_loaded == len(result.values)
    assert set(result.rejects["check_code"]) <= set(CHECK_CODES)
    assert result.rejects["reason"].str.contains(" / ").all(), "every reason is Vietnamese / English"
    row_rejects = result.rejects.dropna(subset=["row_number"])
    if info.whole_file_rejected:
        assert len(result.rejects) == 1 and result.rejects["row_number"].isna().all()
        assert info.rows_loaded == 0
    else:
        rejected_rows = set(row_rejects["row_number"].astype(int))
        loaded_rows = set(result.values["row_number"].astype(int))
        assert len(rejected_rows) == info.rows_rejected
        assert not rejected_rows & loaded_rows, "a row is either loaded or rejected"
        if path is not None and decode_bytes(path.read_bytes()).text is not None:
            assert rejected_rows | loaded_rows == set(data_lines(path)), "every data row is accounted for"
        assert row_rejects["raw_record"].notna().all()


def only_reject(result: ParsedFile) -> pd.Series:
    assert len(result.rejects) == 1, result.rejects[["row_number", "check_code", "reason"]].to_string()
    return result.rejects.iloc[0]


# -- the clean file ---------------------------------------------------------------------------------


def test_clean_file_loads_everything(methodology, units):
    r = parse("clean.csv", methodology, units)
    assert r.info.rows_total == 5 and r.info.rows_loaded == 5 and r.info.rows_rejected == 0
    assert r.rejects.empty
    assert r.info.encoding == "utf-8"
    v = r.values
    assert list(v["row_number"]) == [2, 3, 4, 5, 6]
    assert list(v["unit_code"]) == ["00004", "00004", "00004", "00070", "01234"]
    assert list(v["value"]) == [1234.0, 601.0, 1.0, 0.0, 87.0]
    assert list(v["disaggregation"]) == ["", "sex=F", "", "", ""]
    assert v.loc[0, "unit_name"] == "Phường Ba Đình"
    assert v.loc[2, "comment"] == "Có cán bộ chuyên trách, từ tháng 3/2025"
    assert v.loc[0, "comment"] is None
    assert set(v["period"]) == {"2025"} and set(v["sector"]) == {"health"}
    assert set(v["source_file"]) == {"2025/health/clean.csv"}
    assert len(r.info.file_sha256) == 64 and set(v["file_sha256"]) == {r.info.file_sha256}


def test_utf8_bom_and_semicolon_are_read(methodology, units):
    bom = parse("utf8_bom.csv", methodology, units)
    assert bom.info.encoding == "utf-8-sig" and bom.info.rows_loaded == 2
    semi = parse("semicolon.csv", methodology, units)
    assert semi.info.delimiter == ";" and semi.info.rows_loaded == 2


# -- one fault per file -----------------------------------------------------------------------------

ROW_FAULTS = [
    # file, check_code, column, row_number, bad value, reason must name, rows loaded
    ("unparseable_value.csv", "ingest.unparseable_value", "value", 3, "mười hai",
     ["column 'value'", "'mười hai'", "expected a number", "Cột 'value'"], 2),
    ("ambiguous_value.csv", "ingest.unparseable_value", "value", 2, "1.234",
     ["column 'value'", "ambiguous", "1234", "expected a number without thousands separators"], 1),
    ("negative_count.csv", "ingest.negative_value", "value", 3, "-3",
     ["column 'value'", "'-3'", "'DEATHS_U5'", "expected 0 or more"], 1),
    ("fractional_count.csv", "ingest.not_whole_number", "value", 3, "12,5",
     ["column 'value'", "'12,5'", "count", "expected a whole number"], 1),
    ("yes_no_2.csv", "ingest.invalid_yes_no", "value", 2, "2",
     ["column 'value'", "'CP_WORKER'", "expected 1 (yes) or 0 (no)", "cần 1 (có) hoặc 0 (không)"], 1),
    ("unknown_unit.csv", "ingest.unknown_unit", "unit_code", 3, "12345",
     ["column 'unit_code'", "unit code '12345' is not a commune code of the 2025 scheme",
      "Mã đơn vị '12345' không có trong danh mục xã (2025)".lower(), "expected a 5-digit commune code"], 1),
    ("wrong_level_unit.csv", "ingest.unknown_unit", "unit_code", 3, "01",
     ["column 'unit_code'", "province '01'", "Thành phố Hà Nội", "expected a 5-digit commune code"], 1),
    ("leading_zeros.csv", "ingest.unknown_unit", "unit_code", 4, "4",
     ["column 'unit_code'", "ambiguous", "'00004'", "province '04' (Cao Bằng)", "expected all 5 digits"], 2),
    ("unknown_data_element.csv", "ingest.unknown_data_element", "data_element", 3, "LIVE_BIRTH",
     ["column 'data_element'", "'LIVE_BIRTH'", "expected one of sector health's codes", "LIVE_BIRTHS"], 1),
    ("wrong_sector.csv", "ingest.wrong_sector", "data_element", 3, "ENROLLED_AGE5",
     ["column 'data_element'", "belongs to sector Education and Training (education)", "not Health (health)",
      "landing/2025/education/", "Giáo dục và Đào tạo"], 1),
    ("builtin_element.csv", "ingest.not_reportable", "data_element", 3, "COMMUNES",
     ["column 'data_element'", "'COMMUNES'", "built in", "expected one of sector health's codes"], 1),
    ("period_mismatch.csv", "ingest.period_mismatch", "period", 3, "2024",
     ["column 'period'", "'2024'", "expected '2025'"], 1),
    ("unknown_scheme.csv", "ingest.unsupported_scheme", "unit_scheme", 3, "2019",
     ["column 'unit_scheme'", "'2019'", "expected empty or '2025'", "or 'legacy'"], 1),
    ("missing_value.csv", "ingest.missing_value", "value", 3, "",
     ["column 'value' is empty", "expected a number"], 1),
    ("malformed_row.csv", "ingest.malformed_row", None, 3, None,
     ["8 cells", "7 columns", "expected exactly 7 cells"], 1),
]


@pytest.mark.parametrize(("name", "code", "column", "row", "value", "names", "loaded"), ROW_FAULTS,
                         ids=[f[0] for f in ROW_FAULTS])
def test_row_fault(methodology, units, name, code, column, row, value, names, loaded):
    r = parse(name, methodology, units)
    rej = only_reject(r)
    assert rej["check_code"] == code
    assert rej["column_name"] == column
    assert rej["row_number"] == row
    assert rej["value"] == value
    reason = rej["reason"]
    for text in names:
        assert text.lower() in reason.lower(), f"{text!r} not in {reason!r}"
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    assert rej["raw_record"] == lines[row - 1], "the raw record is the line as it arrived"
    assert rej["period"] == "2025" and rej["sector"] == "health"
    assert rej["source_file"] == f"2025/health/{name}" and rej["file_sha256"] == r.info.file_sha256
    # the other rows of the file loaded
    assert r.info.rows_loaded == loaded == r.info.rows_total - 1
    assert row not in set(r.values["row_number"])


def test_leading_zeros_are_restored_when_unambiguous(methodology, units):
    r = parse("leading_zeros.csv", methodology, units)
    assert dict(zip(r.values["row_number"], r.values["unit_code"], strict=True)) == {2: "00070", 3: "01234"}


def test_province_level_codes(methodology, units):
    r = parse("finance_province.csv", methodology, units, sector="finance")
    assert dict(zip(r.values["unit_code"], r.values["value"], strict=True)) == {
        "79": 12_500_000_000.0,
        "01": 9_750_000_000.5,  # '1' lost its zero; amounts may have decimals
    }
    rej = r.rejects.set_index("row_number")
    assert set(rej["check_code"]) == {"ingest.unknown_unit"}
    assert "ambiguous" in rej.loc[3, "reason"] and "'04'" in rej.loc[3, "reason"]
    assert "commune '00004' (Phường Ba Đình)" in rej.loc[4, "reason"]
    assert "expected a 2-digit province code" in rej.loc[4, "reason"]


def test_several_faults_in_one_row_are_all_reported(methodology, units, tmp_path):
    (tmp_path / "f.csv").write_text(
        "period,unit_code,data_element,value\n2024,99999,LIVE_BIRTHS,-1\n2025,00004,LIVE_BIRTHS,3\n", encoding="utf-8")
    r = parse("f.csv", methodology, units, folder=tmp_path)
    assert set(r.rejects["check_code"]) == {"ingest.period_mismatch", "ingest.unknown_unit", "ingest.negative_value"}
    assert set(r.rejects["row_number"]) == {2}
    assert r.info.rows_rejected == 1 and r.info.rows_loaded == 1


# -- whole-file faults ------------------------------------------------------------------------------


def test_empty_file(methodology, units):
    r = parse("empty.csv", methodology, units)
    rej = only_reject(r)
    assert rej["check_code"] == "ingest.file_empty" and pd.isna(rej["row_number"])
    assert r.info.rows_total == r.info.rows_loaded == r.info.rows_rejected == 0
    assert "expected a header" in rej["reason"]


def test_header_only_file(methodology, units):
    r = parse("header_only.csv", methodology, units)
    rej = only_reject(r)
    assert rej["check_code"] == "ingest.file_empty" and pd.isna(rej["row_number"])
    assert "only the header" in rej["reason"] and "expected at least one data row" in rej["reason"]
    assert rej["raw_record"].startswith("period,unit_code")


def test_missing_column_rejects_the_file(methodology, units):
    r = parse("missing_column.csv", methodology, units)
    rej = only_reject(r)
    assert rej["check_code"] == "ingest.missing_column"
    assert rej["column_name"] == "value" and pd.isna(rej["row_number"])
    assert "missing required column(s): value" in rej["reason"]
    assert "columns found: period, unit_code, data_element, gia_tri" in rej["reason"]
    assert r.info.rows_total == 2 and r.info.rows_rejected == 2 and r.info.rows_loaded == 0


def test_cp1258_file_is_rejected_and_named(methodology, units):
    r = parse("non_utf8_cp1258.csv", methodology, units)
    rej = only_reject(r)
    assert rej["check_code"] == "ingest.file_encoding" and pd.isna(rej["row_number"])
    assert "windows-1258" in rej["reason"] and "expected UTF-8" in rej["reason"]
    assert "line 2" in rej["reason"]
    assert r.info.encoding == "windows-1258"
    # the offending line, decoded with the encoding it looks like (windows-1258 writes combining tone marks)
    assert unicodedata.normalize("NFC", rej["raw_record"]) == "2025,00004,Phường Ba Đình,LIVE_BIRTHS,,120,"
    assert r.info.rows_total == 2 and r.info.rows_rejected == 2


def test_utf16_file_is_rejected(methodology, units):
    r = parse("utf16_bom.csv", methodology, units)
    rej = only_reject(r)
    assert rej["check_code"] == "ingest.file_encoding"
    assert "UTF-16 LE" in rej["reason"] and rej["value"] == "FF FE"
    assert r.info.rows_total == 2


@pytest.mark.parametrize(("data", "label"), [
    ("period,unit_code,unit_name,data_element,value\n2025,00004,Café Crème,LIVE_BIRTHS,1\n".encode("cp1252"),
     "windows-1252"),
    ("2025,Phường".encode() + "Phường".encode("utf-16-le"), "UTF-16"),
    ("a,Phường Ba Đình\n".encode() + b"b,Ph\xfd\xf5\xccng\n", "mix of UTF-8"),
])
def test_encoding_guesses(data, label):
    decoded = decode_bytes(data)
    assert decoded.text is None and label in decoded.problem


def test_other_files_in_folder_are_reported(methodology, units, tmp_path):
    folder = tmp_path / "2025" / "health"
    folder.mkdir(parents=True)
    shutil.copy(FIXTURES / "clean.csv", folder / "clean.csv")
    (folder / "bao_cao.xls").write_bytes(b"\xd0\xcf\x11\xe0 an old Excel file")
    (folder / "bieu.xlsx").write_bytes(b"PK\x03\x04 not really")
    (folder / "~$bieu.xlsx").write_bytes(b"lock")
    (folder / ".DS_Store").write_bytes(b"")
    r = parse_folder(folder, "2025", "health", methodology, units)
    assert [f.source_file for f in r.files] == ["2025/health/bao_cao.xls", "2025/health/bieu.xlsx",
                                                "2025/health/clean.csv"]
    assert [f.file_format for f in r.files] == ["other", "xlsx", "csv"]
    rej = r.rejects.set_index("source_file")
    assert rej.loc["2025/health/bao_cao.xls", "check_code"] == "ingest.unsupported_file"
    assert "expected a CSV file or an Excel workbook" in rej.loc["2025/health/bao_cao.xls", "reason"]
    assert rej.loc["2025/health/bieu.xlsx", "check_code"] == "workbook.unreadable"
    assert rej["row_number"].isna().all() and len(rej) == 2
    assert r.rows_loaded == 5


# -- duplicates -------------------------------------------------------------------------------------


def test_conflicting_duplicate_rejects_all_copies(methodology, units):
    r = parse("conflicting_duplicate.csv", methodology, units)
    rej = r.rejects.set_index("row_number")
    assert list(rej.index) == [2, 4]
    assert set(rej["check_code"]) == {"ingest.conflicting_duplicate"}
    assert rej["column_name"].eq("value").all()
    assert "this row = 120; row 4 = 125" in rej.loc[2, "reason"]
    assert "this row = 125; row 2 = 120" in rej.loc[4, "reason"]
    assert list(r.values["row_number"]) == [3]


def test_identical_duplicate_is_loaded_once(methodology, units):
    r = parse("identical_duplicate.csv", methodology, units)
    rej = only_reject(r)
    assert rej["check_code"] == "ingest.duplicate_row" and rej["row_number"] == 4
    assert "repeats row 2" in rej["reason"]
    assert list(r.values["row_number"]) == [2, 3]
    assert (r.values["unit_code"] == "00004").sum() == 1


def test_duplicates_are_found_across_files(methodology, units):
    folder = FIXTURES / "landing" / "2025" / "health"
    r = parse_folder(folder, "2025", "health", methodology, units)
    files = {f.source_file: f for f in r.files}
    assert set(files) == {"2025/health/part1.csv", "2025/health/part2.csv"}
    for f in r.files:
        assert f.rows_total == f.rows_loaded + f.rows_rejected
    assert (files["2025/health/part1.csv"].rows_loaded, files["2025/health/part1.csv"].rows_rejected) == (2, 1)
    assert (files["2025/health/part2.csv"].rows_loaded, files["2025/health/part2.csv"].rows_rejected) == (1, 2)
    rej = r.rejects.set_index(["source_file", "row_number"])
    dup = rej.loc[("2025/health/part2.csv", 2)]
    assert dup["check_code"] == "ingest.duplicate_row" and "row 2 of part1.csv" in dup["reason"]
    c1, c2 = rej.loc[("2025/health/part1.csv", 3)], rej.loc[("2025/health/part2.csv", 3)]
    assert c1["check_code"] == c2["check_code"] == "ingest.conflicting_duplicate"
    assert "row 3 of part2.csv = 81" in c1["reason"] and "row 3 of part1.csv = 80" in c2["reason"]
    loaded = r.values.set_index(["unit_code", "data_element"])["value"].to_dict()
    assert loaded == {("00004", "LIVE_BIRTHS"): 120.0, ("01234", "LIVE_BIRTHS"): 95.0, ("01234", "DEATHS_U5"): 1.0}
    assert r.file_table["rows_total"].sum() == r.rows_loaded + r.rows_rejected


def test_disaggregations_are_distinct_values(methodology, units, tmp_path):
    (tmp_path / "d.csv").write_text(
        "period,unit_code,data_element,disaggregation,value\n"
        "2025,00004,LIVE_BIRTHS,,10\n2025,00004,LIVE_BIRTHS,sex=F,4\n2025,00004,LIVE_BIRTHS,sex = F,4\n",
        encoding="utf-8")
    r = parse("d.csv", methodology, units, folder=tmp_path)
    assert list(r.values["disaggregation"]) == ["", "sex=F"]
    assert only_reject(r)["check_code"] == "ingest.duplicate_row"


# -- text handling ----------------------------------------------------------------------------------


def test_nfc_and_raw_record(methodology, units, tmp_path):
    decomposed = unicodedata.normalize("NFD", "Phường Ba Đình")
    text = ("period,unit_code,unit_name,data_element,value\n"
            f"2025,00004,{decomposed},LIVE_BIRTHS,1\n"
            f"2025, 00070 ,{decomposed},LIVE_BIRTHS,x\n")
    (tmp_path / "n.csv").write_text(text, encoding="utf-8")
    r = parse("n.csv", methodology, units, folder=tmp_path)
    assert r.values.loc[0, "unit_name"] == "Phường Ba Đình"  # NFC
    rej = only_reject(r)
    assert rej["raw_record"] == f"2025, 00070 ,{decomposed},LIVE_BIRTHS,x"  # as it arrived


def test_row_numbers_follow_lines_with_multiline_cells_and_blank_lines(methodology, units, tmp_path):
    text = ("period,unit_code,data_element,value,comment\r\n"
            '2025,00004,LIVE_BIRTHS,1,"dòng một\r\ndòng hai"\r\n'
            "\r\n"
            ",,,,\r\n"
            "2025,00070,LIVE_BIRTHS,-1,\r\n")
    (tmp_path / "m.csv").write_text(text, encoding="utf-8", newline="")
    r = parse_file(tmp_path / "m.csv", period="2025", sector="health", methodology=methodology, units=units)
    assert r.info.rows_total == 2 and r.info.blank_rows == 2
    assert r.values.loc[0, "comment"] == "dòng một\r\ndòng hai"
    assert only_reject(r)["row_number"] == 6
    assert r.info.rows_total == r.info.rows_loaded + r.info.rows_rejected


def test_every_fixture_keeps_the_invariant(methodology, units):
    for path in sorted(FIXTURES.glob("*.csv")):
        sector = "finance" if "finance" in path.name else "health"
        parse(path.name, methodology, units, sector=sector)


# -- numbers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("1234", 1234.0), ("0", 0.0), ("007", 7.0), ("-5", -5.0), ("\u22125", -5.0),
    ("1 234", 1234.0), ("1\u00a0234\u00a0567", 1234567.0), ("1 234,5", 1234.5), ("1 234.5", 1234.5),
    ("1.234.567", 1234567.0), ("1,234,567", 1234567.0), ("1.234,5", 1234.5), ("1,234.5", 1234.5),
    ("12,5", 12.5), ("12.5", 12.5), ("0,125", 0.125), ("0.125", 0.125), ("1234.567", 1234.567),
    ("1,50", 1.5), ("12.500.000.000", 12_500_000_000.0),
    # ambiguous or not numbers
    ("1.234", None), ("1,234", None), ("-1.234", None), ("999,999", None),
    ("1.234.5", None), ("1,2,3", None), ("12 34", None), ("1e3", None), ("50%", None), ("1.000đ", None),
    ("nan", None), ("inf", None), ("+5", None), ("(5)", None), ("có", None), ("", None), ("1.234,567.8", None),
    ("١٢", None), ("１２", None),
])
def test_number_rule(text, expected):
    assert parse_number(text) == expected


# -- performance ------------------------------------------------------------------------------------


def test_national_commune_file_parses_whole(methodology, units, tmp_path):
    """Every row of the national benchmark file loads (its time is printed by benchmarks/bench_ingest.py)."""
    spec = importlib.util.spec_from_file_location("bench_ingest", REPO / "benchmarks" / "bench_ingest.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    folder = tmp_path / "landing" / "2025" / "health"
    n = bench.write_national_file(folder / "national.csv")
    assert n > 80_000
    r = parse_folder(folder, "2025", "health", methodology, units)
    assert r.rows_loaded == n and r.rejects.empty
