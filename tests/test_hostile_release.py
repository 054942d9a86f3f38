"""Hostile and broken inputs at the gate, the release and the operator: nothing wrong is ever published.

Each case is one small fixture and asserts the exact outcome: the check that
fails (and blocks), the plain sentence the operator reads, and that the
previous release stays byte for byte what it was. The checks run on small
hand-made warehouses or on a copy of the quality baseline's warehouse
(``tests/fixtures/quality/support.py``); no test here re-runs the pipeline.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipelines.schedules.lock import WAITING, lock_holder, warehouse_lock
from pipelines.settings import REPO_ROOT

# -- the warehouse lock names the live holder ---------------------------------------------------------

HOLD_UNTIL_TOLD = """
import sys
from pathlib import Path
from pipelines.schedules.lock import WAITING, warehouse_lock
def tell(line):
    if line.startswith(WAITING):
        print("waiting", flush=True)
with warehouse_lock(sys.argv[2], home=Path(sys.argv[1]), poll=0.05, on_wait=tell):
    print("held", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""


def _holder(home: Path, what: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", HOLD_UNTIL_TOLD, str(home), what], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT)


def _release(p: subprocess.Popen) -> None:
    p.stdin.write("go\n")
    p.stdin.flush()
    assert p.stdout.readline().strip() == "released"
    assert p.wait(10) == 0


def test_a_waiting_writer_names_the_live_holder_not_the_previous_one(tmp_path):
    first = _holder(tmp_path, "cri run 2024")
    assert first.stdout.readline().strip() == "held"
    second = _holder(tmp_path, "cri run 2025")  # waits for the first, polling fast
    assert second.stdout.readline().strip() == "waiting"
    lines: list[str] = []
    got: list[float] = []

    def third():
        with warehouse_lock("cri run 2025H1", home=tmp_path, poll=1.0, on_wait=lines.append):
            got.append(time.monotonic())

    waiter = threading.Thread(target=third)
    waiter.start()
    time.sleep(0.3)
    _release(first)  # the second writer takes the lock before the third looks again
    assert second.stdout.readline().strip() == "held"
    assert lock_holder(tmp_path / ".warehouse.lock")["what"] == "cri run 2025"
    time.sleep(1.5)
    assert not got  # still waiting, now for the second writer
    _release(second)
    waiter.join(10)
    assert got
    waits = [line for line in lines if line.startswith(WAITING)]
    assert "cri run 2024" in waits[0]
    assert "cri run 2025" in waits[-1] and "cri run 2024" not in waits[-1]
    # a released lock names nobody
    assert lock_holder(tmp_path / ".warehouse.lock") == {}


def test_a_holder_that_died_is_not_named(tmp_path):
    holder = _holder(tmp_path, "killed run")
    assert holder.stdout.readline().strip() == "held"
    assert lock_holder(tmp_path / ".warehouse.lock")["what"] == "killed run"
    holder.kill()
    holder.wait(10)
    assert (tmp_path / ".warehouse.lock").read_text(encoding="utf-8")  # its words are still in the file
    assert lock_holder(tmp_path / ".warehouse.lock") == {}


# -- formula injection: text for Excel never starts a formula ------------------------------------------

HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "+SUM(1,2)", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\tx", "\rx"]


def test_neutralise_formulas_guards_text_and_leaves_numbers():
    from pipelines.publish.files import neutralise_formulas, safe_text

    assert neutralise_formulas([*HOSTILE, "Hà Nội", None, "", "-3", "+84", "2,5", "-"]) == [
        *("'" + h for h in HOSTILE), "Hà Nội", None, "", "-3", "+84", "2,5", "'-"]
    assert safe_text("=1+1") == "'=1+1" and safe_text(-3) == -3 and safe_text(None) is None
    assert safe_text("Phường Ba Đình") == "Phường Ba Đình"


def test_release_csv_neutralises_text_cells_not_numbers(tmp_path):
    import pandas as pd

    from pipelines.publish.files import write_csv

    df = pd.DataFrame({"province_name": ["=1+1", "Cao Bằng", "-2+3"], "rank_change": [-3, 2, None],
                       "pcri": [-0.5, 61.25, 70.0]})
    df["rank_change"] = df["rank_change"].astype("Int64")
    write_csv(df, tmp_path / "t.csv", {"province_name": "string", "rank_change": "int64", "pcri": "float64"})
    text = (tmp_path / "t.csv").read_bytes().decode("utf-8-sig")
    assert text.split("\r\n")[1:4] == ["'=1+1,-3,-0.5", "Cao Bằng,2,61.25", "'-2+3,,70"]


def test_rejected_rows_csv_neutralises_the_values_as_they_arrived(tmp_path):
    import pandas as pd

    from pipelines.quality.report import write_csv_bom

    rejected = pd.DataFrame({"source_file": ["2025/health/h.csv"] * 3, "row_number": [3, 4, 5],
                             "value": ["=cmd|' /C calc'!A0", "-2", "@x"], "raw_record": ["00004,=1+1", "a", "+b"]})
    write_csv_bom(tmp_path / "rejected_rows.csv", rejected)
    back = pd.read_csv(tmp_path / "rejected_rows.csv", encoding="utf-8-sig", dtype=str)
    assert back["value"].tolist() == ["'=cmd|' /C calc'!A0", "-2", "'@x"]
    assert back["raw_record"].tolist() == ["00004,=1+1", "a", "'+b"]
    assert back["row_number"].tolist() == ["3", "4", "5"]


def test_ranking_workbook_has_no_formula_from_the_data(tmp_path):
    import pandas as pd
    from openpyxl import load_workbook

    from pipelines.methodology import load_methodology
    from pipelines.publish.excel import RANKING_SHEET, write_ranking_xlsx
    from pipelines.settings import DEFAULT_METHODOLOGY

    m = load_methodology(DEFAULT_METHODOLOGY)
    ranking = pd.DataFrame({
        "period": ["2025", "2025"], "province_code": ["01", "04"], "province_name": ["=1+1", "@evil"],
        "pcri": [70.0, 60.0], "rank": [1, 2], "tier": [1, 4], "rank_change": [-3, 1], "previous_rank": [None, 3],
        "indicators_used": [20, 20], "indicators_total": [20, 20], "not_ranked_reason": [None, None]})
    domains = pd.DataFrame({"period": ["2025"], "province_code": ["01"], "domain_code": ["D1"],
                            "domain_name": ["+D"], "score": [50.0]})
    path = write_ranking_xlsx(tmp_path / "ranking.xlsx", ranking, domains, m)
    wb = load_workbook(path)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    sheet = wb[RANKING_SHEET]
    header = [c.value for c in sheet[1]]
    first = dict(zip(header, [c.value for c in sheet[2]]))
    assert first["Tỉnh/thành phố"] == "'=1+1" and first["Thay đổi thứ hạng"] == -3
