"""The bad-input corpus of ingest: files a careless agency, a hostile one or a bad day would send.

One small file per case, written by the test. Each asserts the exact outcome: the rows loaded, the file,
row and column named, the row quarantined with its check and reason, and nothing silently lost.
"""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

import dagster as dg
import openpyxl
import pandas as pd
import pytest

from pipelines.ingest import landing
from pipelines.ingest.assets import build_ingest_assets, ingest_asset_key
from pipelines.ingest.parse import parse_file, parse_folder
from pipelines.ingest.workbook import read_workbook
from pipelines.methodology import load_methodology
from pipelines.reference.units import admin_units
from pipelines.resources import SettingsResource, pipeline_resources
from pipelines.warehouse import connect

HEADER = "period,unit_code,unit_name,data_element,disaggregation,value,comment\n"
# communes of the 2025 scheme (Hà Nội)
CODES = ["00004", "00008", "00025", "00070", "00073", "00091", "00097", "00103", "00127", "00130", "00136", "00148"]
OLD = time.time() - 3600  # a file modified an hour ago has settled


@pytest.fixture(scope="module")
def methodology():
    return load_methodology()


@pytest.fixture(scope="module")
def units():
    return admin_units()


def line(code: str, value: str = "10", element: str = "LIVE_BIRTHS", comment: str = "") -> str:
    return f"2025,{code},,{element},,{value},{comment}\n"


def write(path: Path, text: str, *, settled: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if settled:
        os.utime(path, (OLD, OLD))
    return path


def parse_one(path: Path, methodology, units):
    return parse_file(path, period="2025", sector="health", methodology=methodology, units=units,
                      relative_name=f"2025/health/{path.name}")


def folder(tmp_path: Path) -> Path:
    return tmp_path / "landing" / "2025" / "health"


def parse_health(tmp_path: Path, methodology, units, **kw):
    return parse_folder(folder(tmp_path), "2025", "health", methodology, units,
                        relative_to=tmp_path / "landing", **kw)


# -- 1. an unbalanced quote takes only its own line --------------------------------------------------


@pytest.mark.parametrize("broken", [
    '2025,00073,,LIVE_BIRTHS,,"12,\n',  # the quote opens in the value
    '2025,00073,,LIVE_BIRTHS,,12,"ước tính\n',  # in the last column: the swallowed lines would fit the header
])
def test_unclosed_quote_on_line_5_rejects_that_line_alone(tmp_path, methodology, units, broken):
    rows = [line(c, str(n + 1)) for n, c in enumerate(CODES[:3])] + [broken] + [
        line(c, str(n + 100)) for n, c in enumerate(CODES[4:12])]
    r = parse_one(write(tmp_path / "quote.csv", HEADER + "".join(rows)), methodology, units)
    assert r.info.rows_total == 12 and r.info.rows_loaded == 11 and r.info.rows_rejected == 1
    # lines 2-4 and the eight lines 6-13 after the broken one are loaded with their own values
    assert list(r.values["row_number"]) == [2, 3, 4, *range(6, 14)]
    assert list(r.values["value"]) == [1.0, 2.0, 3.0, *[float(100 + n) for n in range(8)]]
    (rej,) = r.rejects.itertuples()
    assert (rej.row_number, rej.check_code, rej.source_file) == (5, "ingest.unclosed_quote", "2025/health/quote.csv")
    assert rej.raw_record == broken.rstrip("\n")
    assert "line 5 opens a double quote that is never closed" in rej.reason


def test_a_quoted_cell_over_two_lines_is_still_one_record(tmp_path, methodology, units):
    text = HEADER + line("00004") + '2025,00008,,LIVE_BIRTHS,,7,"ước tính,\ntheo tháng 11"\n' + line("00025")
    r = parse_one(write(tmp_path / "multiline.csv", text), methodology, units)
    assert r.rejects.empty
    assert list(r.values["row_number"]) == [2, 3, 5]
    assert r.values.loc[1, "comment"] == "ước tính,\ntheo tháng 11"


# -- 2. a file still being copied waits for the next run -------------------------------------------


def test_a_young_file_is_left_for_the_next_run_and_named(tmp_path, methodology, units):
    write(folder(tmp_path) / "a_done.csv", HEADER + line("00004"))
    write(folder(tmp_path) / "b_copying.csv", HEADER + line("00008", "58"), settled=False)
    parsed = parse_health(tmp_path, methodology, units, settle=30)
    assert [f.source_file for f in parsed.files] == ["2025/health/a_done.csv"]
    assert list(parsed.values["unit_code"]) == ["00004"]
    assert parsed.rejects.empty  # neither loaded nor rejected
    assert len(parsed.waiting) == 1 and parsed.waiting[0].startswith("b_copying.csv (modified less than 30 s ago")
    # once settled, it is read
    os.utime(folder(tmp_path) / "b_copying.csv", (OLD, OLD))
    assert parse_health(tmp_path, methodology, units, settle=30).rows_loaded == 2


def test_a_file_growing_while_it_is_read_is_not_loaded(tmp_path, methodology, units, monkeypatch):
    from pipelines.ingest import parse

    path = write(folder(tmp_path) / "growing.csv", HEADER + "2025,00004,,LIVE_BIRTHS,,58")
    stage = parse._stage_file

    def copier_still_writing(p, rel, ctx):
        st = stage(p, rel, ctx)
        with open(p, "a", encoding="utf-8") as f:  # the copy goes on: '58' was '585'
            f.write("5\n")
        return st

    monkeypatch.setattr(parse, "_stage_file", copier_still_writing)
    parsed = parse_health(tmp_path, methodology, units, settle=1)
    assert parsed.values.empty and parsed.rejects.empty and parsed.files == []
    assert parsed.waiting == ["growing.csv (changed while it was read)"]
    assert path.read_text(encoding="utf-8").endswith(",585\n")


def test_ingest_asset_reports_waiting_files_and_unknown_folders(tmp_path, monkeypatch, methodology):
    monkeypatch.setenv("CRI_HOME", str(tmp_path))
    monkeypatch.setenv("CRI_WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("CRI_LANDING_SETTLE_SECONDS", "600")
    write(folder(tmp_path) / "done.csv", HEADER + line("00004"))
    write(folder(tmp_path) / "copying.csv", HEADER + line("00008"), settled=False)
    write(tmp_path / "landing" / "2025" / "Justice" / "tu_phap.csv", HEADER)  # the sector spelt another way
    assets = [a for a in build_ingest_assets(methodology)
              if a.key in (ingest_asset_key("health"), ingest_asset_key("justice"))]
    result = dg.materialize(assets, partition_key="2025", instance=dg.DagsterInstance.ephemeral(),
                            resources=pipeline_resources(SettingsResource(home=str(tmp_path))))
    assert result.success
    meta = {e.asset_key.path[-1]: {k: v.value for k, v in e.materialization.metadata.items()}
            for e in result.get_asset_materialization_events()}
    assert meta["health"]["files_waiting"] == 1
    assert meta["health"]["files_waiting_names"] == ["copying.csv (modified less than 600 s ago)"]
    assert meta["health"]["rows_loaded"] == 1
    assert meta["justice"]["landing_findings"] == ["2025/Justice: landing.unknown_folder"]
    with connect(tmp_path / "warehouse.duckdb", read_only=True) as con:
        rej = con.execute("select sector, source_file, row_number, check_code, reason from raw.rejected_rows").fetchall()
    assert len(rej) == 1
    sector, source, row, code, reason = rej[0]
    assert (sector, source, row, code) == ("justice", "2025/Justice", None, "landing.unknown_folder")
    assert "Did you mean 'justice'?" in reason


# -- 3. workbooks: nothing neither loaded nor rejected ---------------------------------------------


def workbook(path: Path, header_row: int = 3, rows=(("00004", 812), ("00008", 655))) -> tuple[Path, openpyxl.Workbook]:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Biểu 01"
    ws["A1"] = "BÁO CÁO SỐ LIỆU TRẺ EM NĂM 2025"
    for col, text in zip("ABC", ("Mã xã", "Tên xã, phường", "Số trẻ đẻ ra sống (người)"), strict=True):
        ws[f"{col}{header_row}"] = text
    for n, (code, value) in enumerate(rows, start=header_row + 1):
        ws[f"A{n}"], ws[f"C{n}"] = code, value
    return path, wb


def test_formula_without_a_computed_value_is_rejected_naming_the_cell(tmp_path, methodology, units):
    path, wb = workbook(tmp_path / "formula.xlsx", rows=(("00004", 812), ("00008", "=C4*2"), ("00025", 590)))
    wb.save(path)  # openpyxl stores formulas without computing them, as programs that write xlsx do
    r = parse_one(path, methodology, units)
    assert list(r.values["unit_code"]) == ["00004", "00025"]
    (rej,) = r.rejects.itertuples()
    assert (rej.row_number, rej.column_name, rej.value, rej.check_code) == (
        5, "Số trẻ đẻ ra sống (người)", "=C4*2", "workbook.formula_no_value")
    assert "cell Biểu 01!C5" in rej.reason and "no computed value" in rej.reason
    assert r.info.rows_total == 3 and r.info.rows_rejected == 1


def test_values_in_a_hidden_sheet_are_rejected_one_by_one(tmp_path, methodology, units):
    path, wb = workbook(tmp_path / "hidden.xlsx")
    hidden = wb.copy_worksheet(wb.active)
    hidden.title = "Cũ"
    hidden["C4"] = 999
    hidden.sheet_state = "hidden"
    wb.save(path)
    r = parse_one(path, methodology, units)
    assert list(r.values["value"]) == [812.0, 655.0]
    assert list(r.rejects["check_code"]) == ["workbook.hidden_sheet"] * 2
    assert list(r.rejects["row_number"]) == [4, 5] and set(r.rejects["value"]) == {"999", "655"}
    assert r.rejects["reason"].str.contains("sheet 'Cũ' is hidden").all()
    assert r.info.rows_total == 4 and r.info.rows_rejected == 2


def test_a_header_below_row_30_is_found(tmp_path, methodology, units):
    path, wb = workbook(tmp_path / "low.xlsx", header_row=41)
    wb.save(path)
    r = parse_one(path, methodology, units)
    assert r.rejects.empty and list(r.values["row_number"]) == [42, 43]


def test_a_sheet_with_numbers_and_no_header_is_rejected_with_a_reason(tmp_path, methodology, units):
    path, wb = workbook(tmp_path / "noheader.xlsx", header_row=250)
    wb.save(path)
    r = parse_one(path, methodology, units)
    assert r.info.whole_file_rejected and r.values.empty
    assert r.rejects.iloc[0]["check_code"] == "workbook.no_header"
    res = read_workbook(path, "health", period="2025")
    assert "sheet 'Biểu 01' has numbers but no header row" in res.rejects.iloc[0]["reason"]


# -- 4. landing is not a file system to trust --------------------------------------------------------


def test_a_symlink_is_reported_by_name_and_never_read(tmp_path, methodology, units):
    secret = write(tmp_path / "outside" / "passwd.csv", "root:x:0:0:root:/root:/bin/bash\n")
    write(folder(tmp_path) / "ok.csv", HEADER + line("00004"))
    (folder(tmp_path) / "link.csv").symlink_to(secret)
    parsed = parse_health(tmp_path, methodology, units)
    assert [f.source_file for f in parsed.files] == ["2025/health/ok.csv"]
    (rej,) = parsed.rejects.itertuples()
    assert (rej.source_file, rej.check_code, rej.raw_record, rej.value) == (
        "2025/health/link.csv", "landing.symlink", None, None)
    assert pd.isna(rej.row_number)
    assert "root:x" not in parsed.rejects.to_csv() + parsed.values.to_csv()


def test_a_sector_folder_linked_outside_landing_is_not_read(tmp_path, methodology, units):
    write(tmp_path / "elsewhere" / "x.csv", HEADER + line("00004"))
    (tmp_path / "landing" / "2025").mkdir(parents=True)
    folder(tmp_path).symlink_to(tmp_path / "elsewhere")
    parsed = parse_health(tmp_path, methodology, units)
    assert parsed.values.empty and parsed.files == []
    assert list(parsed.rejects["check_code"]) == ["landing.outside_landing"]
    assert list(parsed.rejects["source_file"]) == ["2025/health/x.csv"]


def test_a_file_name_that_is_not_utf8_is_read_and_named(tmp_path, methodology, units):
    folder(tmp_path).mkdir(parents=True)
    raw = os.path.join(os.fsencode(folder(tmp_path)), b"b\xe1o_c\xe1o.csv")  # windows-1258 bytes
    with open(raw, "w", encoding="utf-8") as f:
        f.write(HEADER + line("00004"))
    parsed = parse_health(tmp_path, methodology, units)
    assert [f.source_file for f in parsed.files] == ["2025/health/b\\xe1o_c\\xe1o.csv"]
    assert parsed.rows_loaded == 1 and parsed.rejects.empty


def test_unknown_folders_and_files_of_a_period_are_reported_with_a_suggestion(tmp_path):
    period = tmp_path / "2025"
    for name in ("Justice", "helth", "zzz", "health"):
        (period / name).mkdir(parents=True)
    write(period / "stray.csv", HEADER)
    found = landing.period_findings(period, "2025", ["health", "justice", "police"])
    assert {k: [(f.name, f.check_code) for f in v] for k, v in found.items()} == {
        "justice": [("2025/Justice", "landing.unknown_folder")],
        "health": [("2025/helth", "landing.unknown_folder"), ("2025/stray.csv", "landing.unknown_file"),
                   ("2025/zzz", "landing.unknown_folder")],
    }
    assert "Did you mean 'justice'?" in found["justice"][0].reason
    assert "Did you mean 'health'?" in found["health"][0].reason
    assert "Did you mean" not in found["health"][2].reason


# -- 5. values beyond what a number can be ----------------------------------------------------------


def test_huge_and_non_finite_numbers_are_rejected_with_row_and_column(tmp_path, methodology, units):
    bad = ["1" * 400, "inf", "nan", "1e400", "-" + "9" * 30]
    rows = [line("00004", "5")] + [line(c, v) for c, v in zip(CODES[1:], bad, strict=False)]
    r = parse_one(write(tmp_path / "huge.csv", HEADER + "".join(rows)), methodology, units)
    assert list(r.values["value"]) == [5.0]
    assert list(r.rejects["row_number"]) == [3, 4, 5, 6, 7]
    assert set(r.rejects["column_name"]) == {"value"} and set(r.rejects["check_code"]) == {"ingest.unparseable_value"}
    assert r.rejects.iloc[0]["value"] == "1" * 400
    assert "(400 characters) is out of range" in r.rejects.iloc[0]["reason"]
    assert "is not a number" in r.rejects.iloc[1]["reason"]


def test_a_huge_number_in_a_workbook_cell_is_rejected(tmp_path, methodology, units):
    path, wb = workbook(tmp_path / "huge.xlsx", rows=(("00004", 812), ("00008", 1e300)))
    wb.save(path)
    r = parse_one(path, methodology, units)
    assert list(r.values["value"]) == [812.0]
    (rej,) = r.rejects.itertuples()
    assert (rej.row_number, rej.column_name, rej.check_code) == (5, "Số trẻ đẻ ra sống (người)",
                                                                 "ingest.unparseable_value")
    assert "out of range" in rej.reason


# -- 6. resource limits: the file is rejected, the run goes on -------------------------------------


def test_a_million_columns_rejects_the_file_at_once(tmp_path, methodology, units):
    header = ",".join(f"c{i}" for i in range(200_000)) + "\n"
    started = time.monotonic()
    r = parse_one(write(tmp_path / "wide.csv", header + "1\n"), methodology, units)
    assert time.monotonic() - started < 20
    (rej,) = r.rejects.itertuples()
    assert rej.check_code == "ingest.limit_exceeded" and pd.isna(rej.row_number)
    assert "line 1" in rej.reason and "CRI_INGEST_MAX_LINE_CHARS" in rej.reason


def test_too_many_columns_and_too_long_lines_reject_the_file(tmp_path, methodology, units, monkeypatch):
    monkeypatch.setenv("CRI_INGEST_MAX_COLUMNS", "10")
    wide = HEADER.rstrip("\n") + "".join(f",x{i}" for i in range(5)) + "\n"
    r = parse_one(write(tmp_path / "cols.csv", wide + line("00004")), methodology, units)
    assert list(r.rejects["check_code"]) == ["ingest.limit_exceeded"]
    assert "12 > 10 (CRI_INGEST_MAX_COLUMNS)" in r.rejects.iloc[0]["reason"]
    monkeypatch.setenv("CRI_INGEST_MAX_LINE_CHARS", "200")
    r = parse_one(write(tmp_path / "long.csv", HEADER + line("00004") + line("00008", comment="x" * 300)),
                  methodology, units)
    assert list(r.rejects["check_code"]) == ["ingest.limit_exceeded"] and r.values.empty
    assert "characters in line 3: 329 > 200" in r.rejects.iloc[0]["reason"]


def with_merged_range(path: Path, ref: str) -> None:
    """Add a merged range to the first sheet's XML (openpyxl would build every cell of it in memory)."""
    with zipfile.ZipFile(path) as zf:
        parts = {i.filename: zf.read(i.filename) for i in zf.infolist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(
        b"</sheetData>", f'</sheetData><mergeCells count="1"><mergeCell ref="{ref}"/></mergeCells>'.encode(), 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


def test_a_huge_merged_range_rejects_the_workbook_quickly(tmp_path, methodology, units):
    path, wb = workbook(tmp_path / "merged.xlsx")
    wb.save(path)
    with_merged_range(path, "G1:XFD20000")  # 327 million cells under one range, in a file of a few KB
    assert path.stat().st_size < 20_000
    started = time.monotonic()
    r = parse_one(path, methodology, units)
    assert time.monotonic() - started < 20
    assert r.info.whole_file_rejected and list(r.rejects["check_code"]) == ["ingest.limit_exceeded"]
    assert "CRI_INGEST_MAX_CELLS" in r.rejects.iloc[0]["reason"]


def test_too_many_cells_or_unpacked_bytes_reject_the_workbook(tmp_path, methodology, units, monkeypatch):
    path, wb = workbook(tmp_path / "big.xlsx", rows=[(c, n) for n, c in enumerate(CODES)])
    for r in range(20, 400):
        for c in range(1, 8):
            wb.active.cell(r, c + 10, f"ghi chú {r}-{c}")
    wb.save(path)
    monkeypatch.setenv("CRI_INGEST_MAX_CELLS", "1000")
    r = parse_one(path, methodology, units)
    assert list(r.rejects["check_code"]) == ["ingest.limit_exceeded"] and r.values.empty
    assert "cells in the workbook" in r.rejects.iloc[0]["reason"]
    monkeypatch.delenv("CRI_INGEST_MAX_CELLS")
    monkeypatch.setenv("CRI_INGEST_MAX_UNPACKED_MB", "0")
    r = parse_one(path, methodology, units)
    assert "unpacked size" in r.rejects.iloc[0]["reason"] and r.values.empty


# -- large files are read a chunk at a time, with the same outcome ---------------------------------


def test_a_large_file_read_in_chunks_gives_what_a_small_one_gives(tmp_path, methodology, units, monkeypatch):
    elements = ["LIVE_BIRTHS", "DEATHS_U5", "MEASURED_U5", "STUNTED_U5", "CSC_TOTAL", "CSC_HELPED",
                "ABUSE_CASES", "INJURY_DEATHS"]
    communes = units.loc[units["unit_level"] == "commune", "unit_code"].tolist()
    keys = [(c, e) for c in communes for e in elements]  # 26,568 distinct data values
    rows = [line(c, str(n % 97), e) for n, (c, e) in enumerate(keys)]
    rows[100] = '2025,00004,,LIVE_BIRTHS,,"12,\n'  # an unclosed quote
    rows[15_000] = rows[15_001]  # an identical duplicate, in the second chunk
    rows[20_000] = line(*keys[3][:1], "999", keys[3][1])  # a conflicting duplicate of a row of the first chunk
    rows[22_000] = line("00008", "1" * 400)  # out of range
    rows.insert(12_000, '2025,00025,,DEATHS_U5,,7,"ghi chú\nhai dòng"\n')  # one record over two lines
    write(folder(tmp_path) / "large.csv", HEADER + "".join(rows))
    write(folder(tmp_path) / "small.csv", HEADER + rows[5] + line("00004", "1", "CSC_TOTAL"))

    def run(stream_mb: str):
        monkeypatch.setenv("CRI_INGEST_STREAM_MB", stream_mb)
        monkeypatch.setenv("CRI_INGEST_MEMORY_MB", "100")  # chunks of 10,000 records
        parsed = parse_health(tmp_path, methodology, units)
        values = pd.read_parquet(parsed.values_parquet) if parsed.values_parquet else parsed.values
        values = values.drop(columns=["source_units", "rebase_complete"]).reset_index(drop=True).astype(object)
        return parsed, values.where(values.notna(), None)

    small, small_values = run("1000")
    large, large_values = run("0")
    assert large.values_parquet is not None and small.values_parquet is None
    assert len(large_values) == len(small_values) == small.rows_loaded == large.rows_loaded
    pd.testing.assert_frame_equal(large_values, small_values, check_dtype=False)
    key = ["source_file", "row_number", "check_code", "reason", "raw_record"]
    pd.testing.assert_frame_equal(large.rejects[key].sort_values(key).reset_index(drop=True),
                                  small.rejects[key].sort_values(key).reset_index(drop=True))
    assert [(f.rows_total, f.rows_loaded, f.rows_rejected) for f in large.files] == [
        (f.rows_total, f.rows_loaded, f.rows_rejected) for f in small.files]
    codes = large.rejects["check_code"].value_counts().to_dict()
    assert codes["ingest.unclosed_quote"] == 1 and codes["ingest.unparseable_value"] == 1
    assert codes["ingest.duplicate_row"] >= 2  # the copy in small.csv and the one in large.csv


def test_a_folder_read_in_chunks_loads_into_the_warehouse(tmp_path, methodology, units, monkeypatch):
    from pipelines.ingest.assets import write_parsed

    monkeypatch.setenv("CRI_INGEST_STREAM_MB", "0")
    write(folder(tmp_path) / "a.csv", HEADER + line("00004", "3") + line("00008", "x") + line("00025", "5"))
    write(folder(tmp_path) / "b.csv", HEADER + line("00004", "3") + line("00070", "1", "CP_WORKER"))
    parsed = parse_health(tmp_path, methodology, units)
    assert parsed.values_parquet is not None and parsed.values.empty and parsed.rows_loaded == 3
    with connect(tmp_path / "warehouse.duckdb") as con:
        summary = write_parsed(con, parsed)
        stored = con.execute("select source_file, row_number, unit_code, data_element, value from raw.data_values "
                             "order by source_file, row_number").fetchall()
        rejected = con.execute("select source_file, row_number, check_code from raw.rejected_rows "
                               "order by source_file, row_number").fetchall()
    assert summary.rows_loaded == 3
    assert stored == [("2025/health/a.csv", 2, "00004", "LIVE_BIRTHS", 3.0), ("2025/health/a.csv", 4, "00025",
                      "LIVE_BIRTHS", 5.0), ("2025/health/b.csv", 3, "00070", "CP_WORKER", 1.0)]
    assert rejected == [("2025/health/a.csv", 3, "ingest.unparseable_value"),
                        ("2025/health/b.csv", 2, "ingest.duplicate_row")]
    assert not parsed.temp_dir.exists()  # the staging folder is gone once loaded


def test_a_large_file_growing_while_it_is_read_waits_and_the_others_load(tmp_path, methodology, units, monkeypatch):
    from pipelines.ingest import stream

    monkeypatch.setenv("CRI_INGEST_STREAM_MB", "0")
    grows = write(folder(tmp_path) / "b_growing.csv", HEADER + "2025,00008,,LIVE_BIRTHS,,58")
    write(folder(tmp_path) / "a_done.csv", HEADER + line("00004"))
    read = stream.parse_folder_streaming

    def copier_still_writing(paths, names, ctx):
        parsed = read(paths, names, ctx)
        if grows in paths:
            with open(grows, "a", encoding="utf-8") as f:
                f.write("5\n")
            os.utime(grows, (OLD + 1, OLD + 1))
        return parsed

    monkeypatch.setattr(stream, "parse_folder_streaming", copier_still_writing)
    parsed = parse_health(tmp_path, methodology, units, settle=1)
    assert [f.source_file for f in parsed.files] == ["2025/health/a_done.csv"] and parsed.rows_loaded == 1
    assert parsed.waiting == ["b_growing.csv (changed while it was read)"] and parsed.rejects.empty
