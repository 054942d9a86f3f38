"""End to end through ``cri run`` (``run_period``): what agencies really send, loaded onto the 2025 units.

Two runs in one temporary CRI_HOME, on the small demo data (provinces 01 Hà Nội, 08 Tuyên Quang, 12 Lai
Châu; four communes each), with some sectors' files replaced by what agencies send:

* 2024 (published): finance sends the child-programme budget keyed by the 63 provinces before the reform
  (codes and names, ``unit_scheme = legacy``); social security sends insurance cards keyed by the old
  communes (codes, some split in 2025); police for Lai Châu comes as a ``cri template`` workbook filled in.
* 2025 (blocked): culture comes as a workbook with a title, a merged two-row header, a notes row and a
  totals row that does not add up.

Expected values are computed here from the files written, with plain arithmetic and the crosswalk table.
"""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path

import dagster as dg
import duckdb
import openpyxl
import pandas as pd
import pytest

from pipelines.cli import main, run_period
from pipelines.demo import write_demo_data
from pipelines.ingest import match_summary, rebase_note
from pipelines.units.crosswalk import commune_crosswalk, province_crosswalk
from tests.conftest import write_methodology_variant

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("legacy_e2e")]

UNMERGED = ["01", "04", "11", "12", "14", "20", "22", "38", "40", "42", "46"]
NAME_FORMS = {"02": "Hà Giang", "77": "Bà Rịa - Vũng Tàu", "74": "tinh Binh Duong", "79": "TP. Hồ Chí Minh"}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


# -- what the agencies send ------------------------------------------------------------------------------


def legacy_finance(folder: Path) -> dict[str, int]:
    """The demo budget of provinces 01, 08 and 12 split over their predecessors, and a budget for every other
    old province; every fourth province by name only. Returns the old province -> budget sent."""
    demo = {r["unit_code"]: int(r["value"]) for f in folder.glob("*.csv") for r in read_csv(f)}
    for f in folder.glob("*.csv"):
        f.unlink()
    sent = {}
    for n, r in enumerate(province_crosswalk().itertuples()):
        if r.legacy_code == "02":
            sent["02"] = demo["08"] * 2 // 5  # Hà Giang's share of today's Tuyên Quang
        elif r.legacy_code == "08":
            sent["08"] = demo["08"] - demo["08"] * 2 // 5
        elif r.legacy_code in ("01", "12"):
            sent[r.legacy_code] = demo[r.legacy_code]
        else:
            sent[r.legacy_code] = 2_000_000_000 + 37_000_000 * n
    rows = []
    for n, (code, value) in enumerate(sent.items()):
        name = NAME_FORMS.get(code) or province_crosswalk().set_index("legacy_code").at[code, "legacy_name"]
        by_name = code in NAME_FORMS or n % 4 == 3
        rows.append(["2024", "" if by_name else code, name, "CHILD_BUDGET_VND", value, "legacy"])
    write_csv(folder / "ngan_sach_tre_em_2024_63_tinh.csv",
              ["period", "unit_code", "unit_name", "data_element", "value", "unit_scheme"], rows)
    return sent


def legacy_insurance(folder: Path) -> pd.DataFrame:
    """Insurance cards keyed by the old communes that make up the demo's twelve new communes (small counts)."""
    demo = {r["unit_code"] for f in folder.glob("*.csv") for r in read_csv(f)}
    for f in folder.glob("*.csv"):
        f.unlink()
    cw = commune_crosswalk()
    old = cw[cw["legacy_code"].isin(cw.loc[cw["unit_code"].isin(demo), "legacy_code"])]
    old = old.drop_duplicates("legacy_code").sort_values("legacy_code").reset_index(drop=True)
    old["value"] = [3 + (i * 7) % 17 for i in range(len(old))]
    write_csv(folder / "the_bhyt_2024_xa_cu.csv", ["period", "unit_code", "unit_name", "data_element", "value",
                                                   "unit_scheme"],
              [["2024", r.legacy_code, r.legacy_name, "INSURED_U6", r.value, "legacy"] for r in old.itertuples()])
    return old


def police_template(folder: Path, province: str = "12") -> dict[tuple[str, str], float]:
    """Lai Châu's police figures sent in the blank workbook of ``cri template``, filled in; the CSV keeps the
    other provinces. Returns what was written."""
    (csv_path,) = folder.glob("*.csv")
    rows = read_csv(csv_path)
    communes = set(commune_crosswalk().query("province_code == @province")["unit_code"])
    mine = {(r["unit_code"], r["data_element"]): float(r["value"]) for r in rows if r["unit_code"] in communes}
    write_csv(csv_path, list(rows[0]), [list(r.values()) for r in rows if r["unit_code"] not in communes])
    path = folder / f"mau_bieu_cong_an_2024_{province}.xlsx"
    assert main(["template", "police", "--period", "2024", "--province", province, "--out", str(path)]) == 0
    wb = openpyxl.load_workbook(path)
    ws = wb["Số liệu cấp xã"]
    element_col = {ws.cell(row=7, column=j).comment.text.split(":")[0]: j
                   for j in range(1, ws.max_column + 1) if ws.cell(row=7, column=j).comment}
    for r in range(8, ws.max_row):
        code = ws.cell(row=r, column=2).value
        for element, j in element_col.items():
            if (code, element) in mine:
                ws.cell(row=r, column=j, value=int(mine[(code, element)]))
    wb.save(path)
    return mine


def culture_workbook(folder: Path, wrong_by: int = 1) -> dict[tuple[str, str], float]:
    """The culture figures as a department of culture lays them out, with a totals row that is off."""
    (csv_path,) = folder.glob("*.csv")
    rows = read_csv(csv_path)
    csv_path.unlink()
    values = {(r["unit_code"], r["data_element"]): float(r["value"]) for r in rows}
    names = {r["unit_code"]: r["unit_name"] for r in rows}
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Biểu 05-VH"
    ws["A1"] = "BÁO CÁO THIẾT CHẾ VĂN HÓA, VUI CHƠI CHO TRẺ EM NĂM 2025"
    ws.merge_cells("A1:F1")
    ws["A2"], ws["C2"] = "Kỳ báo cáo:", "2025"
    ws["A3"] = "Hệ thống đơn vị: 2025"
    for col, text in (("A", "STT"), ("B", "Mã xã"), ("C", "Tên xã, phường"), ("F", "Ghi chú")):
        ws[f"{col}5"] = text
        ws.merge_cells(f"{col}5:{col}6")
    ws["D5"] = "Cơ sở vui chơi, văn hóa cho trẻ em"
    ws.merge_cells("D5:E5")
    ws["D6"], ws["E6"] = "Điểm vui chơi cho trẻ em", "Số thôn có thiết chế văn hóa, thể thao cho trẻ em"
    codes = sorted(names)
    for n, code in enumerate(codes):
        r = 7 + n
        ws[f"A{r}"], ws[f"B{r}"], ws[f"C{r}"] = n + 1, int(code), names[code]  # leading zeros lost, as in Excel
        ws[f"D{r}"] = "Có" if values[(code, "PLAY_AREA")] else "Không"
        ws[f"E{r}"] = values[(code, "VILLAGES_CULTURE")]
    total = 7 + len(codes)
    ws[f"A{total}"] = "Tổng cộng"
    ws.merge_cells(f"A{total}:C{total}")
    ws[f"D{total}"] = sum(values[(c, "PLAY_AREA")] for c in codes)
    ws[f"E{total}"] = sum(values[(c, "VILLAGES_CULTURE")] for c in codes) + wrong_by
    ws[f"A{total + 1}"] = "Ghi chú: số liệu do phòng văn hóa các xã báo cáo."
    ws.merge_cells(f"A{total + 1}:F{total + 1}")
    ws[f"E{total + 3}"] = "GIÁM ĐỐC"
    wb.save(folder / "van_hoa_2025.xlsx")
    return values


# -- the runs --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("legacy") / "home"
    methodology = write_methodology_variant(home.parent / "pcri-small.yaml", min_commune_reporting_share=0.0)
    mp = pytest.MonkeyPatch()
    for k, v in {"CRI_HOME": str(home), "CRI_METHODOLOGY": str(methodology),
                 "CRI_WAREHOUSE_PATH": str(home / "warehouse.duckdb"), "DAGSTER_HOME": str(home / "dagster")}.items():
        mp.setenv(k, v)
    mp.delenv("CRI_APPORTION_RULE", raising=False)
    write_demo_data(home / "landing", periods=("2024", "2025"), small=True)
    yield home
    mp.undo()


@pytest.fixture(scope="module")
def run_2024(home):
    landing = home / "landing" / "2024"
    sent = {
        "finance": legacy_finance(landing / "finance"),
        "insurance": legacy_insurance(landing / "social_security"),
        "police": police_template(landing / "police"),
    }
    return sent, run_period("2024")


@pytest.fixture(scope="module")
def run_2025(home, run_2024):
    sent = culture_workbook(home / "landing" / "2025" / "culture")
    return sent, run_period("2025")


def query(home: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, params or []).df()


def latest_metadata(home: Path, sector: str) -> dict:
    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(["ingest", sector]))
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


# -- (a) the 63 old provinces ---------------------------------------------------------------------------


def test_2024_on_legacy_units_is_published(run_2024):
    _, outcome = run_2024
    assert outcome.success, outcome.errors
    assert outcome.published, outcome.quality.get("blocking_failures")
    assert outcome.quality["rejected_rows"] == 0
    # the release says the period was re-based, and how: in the manifest and in the report
    manifest = json.loads((outcome.release_dir / "manifest.json").read_text(encoding="utf-8"))
    units = manifest["units"]
    assert units["rebased"] and units["before_reform"] and units["apportion_rules"] == ["area"]
    report = (outcome.release_dir / "report.html").read_text(encoding="utf-8")
    assert "Kỳ 2024 được tính lại trên 34 tỉnh" in report and html.escape(units["note_vi"]) in report


def test_old_provinces_sum_into_the_new_ones_in_the_marts(home, run_2024):
    sent = run_2024[0]["finance"]
    marts = query(home, "select unit_code, value from marts.fct_data_values where period = '2024' "
                        "and unit_level = 'province' and data_element = 'CHILD_BUDGET_VND'")
    got = dict(zip(marts["unit_code"], marts["value"], strict=True))
    assert len(got) == 34
    assert got["08"] == sent["02"] + sent["08"]  # Hà Giang + Tuyên Quang -> Tuyên Quang
    assert got["79"] == sent["77"] + sent["74"] + sent["79"]  # BR-VT + Bình Dương + HCM City -> HCM City
    for code in UNMERGED:
        assert got[code] == sent[code], code
    assert sum(got.values()) == sum(sent.values())  # the national total, to the đồng
    # every new province equals the sum of its predecessors
    by_new = province_crosswalk().groupby("unit_code")["legacy_code"].agg(list)
    assert got == {new: sum(sent[o] for o in olds) for new, olds in by_new.items()}


def test_budget_per_child_uses_the_rebased_budget(home, run_2024):
    iv = query(home, "select unit_code, numerator from marts.fct_indicator_values where period = '2024' "
                     "and indicator_code = 'R1_BUDGET_PER_CHILD' and unit_code in ('08', '79')")
    sent = run_2024[0]["finance"]
    assert dict(zip(iv["unit_code"], iv["numerator"], strict=True))["08"] == sent["02"] + sent["08"]


# -- (b) old communes -----------------------------------------------------------------------------------


def test_old_communes_rebase_with_the_national_total_unchanged(home, run_2024):
    old = run_2024[0]["insurance"]
    raw = query(home, "select unit_code, value, match_method, source_units, rebase_complete, row_number "
                      "from raw.data_values where period = '2024' and data_element = 'INSURED_U6'")
    marts = query(home, "select unit_level, sum(value) as total from marts.fct_data_values where period = '2024' "
                        "and data_element = 'INSURED_U6' group by 1")
    total = old["value"].sum()
    assert raw["value"].sum() == total
    assert dict(zip(marts["unit_level"], marts["total"], strict=True)) == {"commune": total, "province": total}
    assert (raw["value"] % 1 == 0).all()
    # apportioned rows are marked, with the old commune and its share
    split = old[old["split"]]
    apportioned = raw[raw["match_method"] == "apportioned"]
    assert len(split) and len(apportioned)
    for code in split["legacy_code"]:
        successors = set(commune_crosswalk().query("legacy_code == @code")["unit_code"])
        marked = apportioned[apportioned["source_units"].str.contains(f"{code}×", regex=False)]
        assert set(marked["unit_code"]) == successors, code
    assert set(raw["match_method"]) == {"crosswalk", "apportioned"}
    assert raw["source_units"].notna().all()


def test_match_statistics_per_file(home, run_2024):
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        summary = match_summary(con, "2024")
    s = summary.set_index("source_file")
    old = run_2024[0]["insurance"]
    ins = s.loc["2024/social_security/the_bhyt_2024_xa_cu.csv"]
    assert (ins["unit_scheme"], ins["rows_apportioned"], ins["rows_crosswalk"], ins["rows_rejected"]) == (
        "legacy", old["split"].sum(), (~old["split"]).sum(), 0)
    fin = s.loc["2024/finance/ngan_sach_tre_em_2024_63_tinh.csv"]
    assert (fin["rows_total"], fin["rows_crosswalk"], fin["apportion_rule"]) == (63, 63, "area")
    assert (s["rows_by_code"] + s["rows_by_name"] + s["rows_crosswalk"] + s["rows_apportioned"]
            == s["rows_loaded"]).all()
    assert (s.loc[s["unit_scheme"] == "2025", "rows_by_code"] == s.loc[s["unit_scheme"] == "2025", "rows_total"]).all()
    # the same figures in the Dagster asset metadata of the run
    meta = latest_metadata(home, "social_security")
    assert meta["rows_apportioned"] == old["split"].sum() and meta["rebased"] is True
    assert meta["match_summary"]["2024/social_security/the_bhyt_2024_xa_cu.csv"]["rows_crosswalk"] == (~old["split"]).sum()
    assert "apportioned" in meta["files_table"]


def test_the_release_can_say_the_period_was_rebased(home, run_2024):
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        note = rebase_note(con, "2024")
    assert note["rebased"] and note["before_reform"]
    assert note["sectors"] == ["finance", "social_security"]
    assert note["rows_crosswalk"] == 63 + (~run_2024[0]["insurance"]["split"]).sum()
    assert note["apportion_rules"] == ["area"] and note["crosswalk_source"].startswith("vietnamadminunits")
    assert "34 provinces and 3,321 communes" in note["note_en"] and "3.321 xã" in note["note_vi"]
    json.dumps(note)  # goes into the manifest as is


# -- (c) a cri template workbook ------------------------------------------------------------------------


def test_filled_template_loads_cleanly(home, run_2024):
    written = run_2024[0]["police"]
    source = "2024/police/mau_bieu_cong_an_2024_12.xlsx"
    files = query(home, "select * from raw.ingest_files join raw.ingest_file_units using (period, sector, "
                        "source_file, file_sha256) where source_file = ?", [source])
    assert files[["file_format", "rows_total", "rows_loaded", "rows_rejected", "rows_by_code"]].iloc[0].tolist() == [
        "xlsx", len(written), len(written), 0, len(written)]
    assert query(home, "select count(*) as n from raw.rejected_rows where source_file = ?", [source])["n"].item() == 0
    marts = query(home, "select unit_code, data_element, value from marts.fct_data_values where period = '2024' "
                        "and unit_level = 'commune' and province_code = '12' and data_element in "
                        "('ABUSE_OFFENCES', 'CONFLICT_LAW', 'CHILDREN_DRUGS')")
    assert {(r.unit_code, r.data_element): r.value for r in marts.itertuples()} == written


# -- (d) a wrong total ----------------------------------------------------------------------------------


def test_wrong_total_is_reported_and_blocks(home, run_2025):
    sent, outcome = run_2025
    assert not outcome.published and any(e.startswith("quality_gate") for e in outcome.errors), outcome.errors
    rejected = query(home, "select source_file, row_number, column_name, check_code, reason from raw.rejected_rows "
                           "where period = '2025'")
    assert rejected[["source_file", "row_number", "column_name", "check_code"]].values.tolist() == [
        ["2025/culture/van_hoa_2025.xlsx", 19, "Cơ sở vui chơi, văn hóa cho trẻ em / Số thôn có thiết chế văn hóa, "
         "thể thao cho trẻ em", "workbook.total_mismatch"]]
    report = json.loads((home / "reports" / "2025" / "quality_report.json").read_text(encoding="utf-8"))
    result = next(r for r in report["results"] if r["code"] == "workbook.total_mismatch")
    assert result["blocks"] and result["severity"] == "blocking"
    assert any("workbook.total_mismatch" in line for line in outcome.quality["blocking_failures"])
    assert "workbook.total_mismatch" in (home / "reports" / "2025" / "quality_report.html").read_text(encoding="utf-8")
    # the rows under the totals row are loaded: the workbook's values reach the marts unchanged
    marts = query(home, "select unit_code, data_element, value from marts.fct_data_values where period = '2025' "
                        "and unit_level = 'commune' and data_element in ('PLAY_AREA', 'VILLAGES_CULTURE')")
    assert {(r.unit_code, r.data_element): r.value for r in marts.itertuples()} == sent
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert not rebase_note(con, "2025")["rebased"]
