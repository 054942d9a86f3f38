"""Quality reports of a period, for operators and agencies.

``reports/<period>/quality_report.json`` and ``quality_report.html`` say
whether the period may be published and why, check by check; the
``rejected_rows.csv`` (UTF-8 with BOM, opens in Excel) tells each agency
exactly which file, row and column to fix.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from html import escape
from pathlib import Path

import pandas as pd

from pipelines.quality.core import CheckResult
from pipelines.quality.waivers import Waiver

REJECTED_COLUMNS_VI = {
    "sector": "Ngành (sector)",
    "source_file": "Tệp (file)",
    "row_number": "Dòng (row)",
    "column_name": "Cột (column)",
    "value": "Giá trị (value)",
    "check_code": "Mã kiểm tra (check)",
    "reason": "Lý do (reason)",
    "raw_record": "Dòng gốc (raw record)",
}

RATE_COLUMNS_VI = {
    "province_code": "Mã tỉnh",
    "province_name": "Tỉnh/thành phố",
    "sector": "Ngành",
    "expected": "Số báo cáo cần nộp",
    "received": "Đã nhận",
    "complete": "Đầy đủ",
    "on_time": "Đúng hạn",
}


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv_bom(path: Path, df: pd.DataFrame) -> None:
    _atomic_write(path, df.to_csv(index=False).encode("utf-8-sig"))


def summarise(results: list[CheckResult]) -> dict:
    blocking = [r for r in results if r.blocks]
    return {
        "passed": not blocking,
        "checks": len(results),
        "failed_blocking": len(blocking),
        "failed_warning": sum(1 for r in results if not r.passed and not r.blocks),
        "waived": sum(1 for r in results if r.waived),
        "blocking_failures": [f"{r.code}: {r.message}" for r in blocking],
    }


def write_reports(
    folder: Path,
    period: str,
    run_id: str,
    results: list[CheckResult],
    rates: pd.DataFrame,
    rejected: pd.DataFrame,
    waivers: list[Waiver],
    sector_names: dict[str, str],
) -> dict:
    """Write the JSON and HTML reports and the rejected rows; return the summary."""
    summary = summarise(results)
    doc = {
        "period": period,
        "run_id": run_id,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **summary,
        "results": [r.to_dict() for r in sorted(results, key=_order)],
        "reporting_rates": json.loads(rates.to_json(orient="records", force_ascii=False)),
        "waivers": [w.to_dict() for w in waivers],
        "rejected_rows": len(rejected),
    }
    _atomic_write(folder / "quality_report.json",
                  json.dumps(doc, ensure_ascii=False, indent=2, default=str).encode("utf-8"))
    _atomic_write(folder / "quality_report.html", _html(doc, rates, sector_names).encode("utf-8"))
    write_csv_bom(folder / "rejected_rows.csv",
                  rejected.reindex(columns=list(REJECTED_COLUMNS_VI)).rename(columns=REJECTED_COLUMNS_VI))
    return summary


def _order(r: CheckResult) -> tuple:
    return (not r.blocks, r.passed, r.code)


def _status(r: dict) -> tuple[str, str]:
    if r["passed"]:
        return "pass", "Đạt"
    if r["waived"]:
        return "waived", "Được miễn trừ"
    if r["blocks"]:
        return "fail", "Không đạt (chặn công bố)"
    return "warn", "Cảnh báo"


def _cell(v) -> str:
    if isinstance(v, (list, tuple, dict)):
        return escape(json.dumps(v, ensure_ascii=False, default=str))
    return "" if v is None or (isinstance(v, float) and pd.isna(v)) else escape(str(v))


def _table(df: pd.DataFrame, columns: dict[str, str] | None = None) -> str:
    if df.empty:
        return "<p><em>Không có dữ liệu / none.</em></p>"
    cols = list(df.columns)
    head = "".join(f"<th>{escape(str((columns or {}).get(c, c)))}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
        for row in df.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html(doc: dict, rates: pd.DataFrame, sector_names: dict[str, str]) -> str:
    verdict = (
        '<div class="verdict pass">ĐẠT: dữ liệu kỳ này đủ điều kiện công bố / passed: the period may be published</div>'
        if doc["passed"] else
        '<div class="verdict fail">KHÔNG ĐẠT: không công bố kết quả kỳ này / blocked: nothing is published</div>'
    )
    blocking = "".join(f"<li>{escape(x)}</li>" for x in doc["blocking_failures"])
    rows = []
    for r in doc["results"]:
        css, label = _status(r)
        examples = pd.DataFrame(r["examples"][:5])
        detail = _table(examples) if not examples.empty and not r["passed"] else ""
        waiver = (f"<div class='note'>Miễn trừ bởi {escape(r['waiver']['approved_by'])} ngày "
                  f"{escape(r['waiver']['date'])}: {escape(r['waiver']['reason'])}</div>") if r.get("waiver") else ""
        rows.append(
            f"<tr class='{css}'><td><span class='badge {css}'>{label}</span></td>"
            f"<td><code>{escape(r['code'])}</code><br>{escape(r['title_vi'])}</td>"
            f"<td>{'Chặn' if r['severity'] == 'blocking' else 'Cảnh báo'}</td>"
            f"<td class='num'>{r['failures']}</td><td>{escape(r['message'])}{waiver}{detail}</td></tr>"
        )
    rates_view = rates.copy()
    if not rates_view.empty:
        rates_view["sector"] = rates_view["sector"].map(lambda s: sector_names.get(s, s))
    waivers = pd.DataFrame(doc["waivers"])
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<title>Báo cáo chất lượng dữ liệu kỳ {escape(doc['period'])}</title>
<style>
body{{font-family:system-ui,'Segoe UI',Arial,sans-serif;margin:2rem;color:#222;max-width:1200px}}
h1{{font-size:1.5rem}} h2{{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}}
table{{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}}
th,td{{border:1px solid #ddd;padding:.3rem .5rem;vertical-align:top;text-align:left}}
th{{background:#f3f3f3}} td.num{{text-align:right}}
.verdict{{padding:1rem;font-weight:bold;font-size:1.1rem;border-radius:6px}}
.verdict.pass{{background:#e3f4e1;color:#1b5e20}} .verdict.fail{{background:#fde2e1;color:#b71c1c}}
.badge{{padding:.1rem .4rem;border-radius:4px;font-size:.8rem;white-space:nowrap}}
.badge.pass{{background:#c8e6c9}} .badge.fail{{background:#ef9a9a}} .badge.warn{{background:#ffe082}}
.badge.waived{{background:#b3e5fc}} tr.fail td{{background:#fff5f5}} .note{{color:#01579b;margin:.3rem 0}}
td table{{font-size:.8rem}}
</style></head><body>
<h1>Báo cáo chất lượng dữ liệu — kỳ {escape(doc['period'])}</h1>
<p>Data quality report. Lần chạy (run): <code>{escape(doc['run_id'])}</code>, lập lúc {escape(doc['created_at'])}.
{doc['checks']} kiểm tra; {doc['failed_blocking']} lỗi chặn công bố; {doc['failed_warning']} cảnh báo;
{doc['waived']} được miễn trừ; {doc['rejected_rows']} dòng bị từ chối (xem <code>rejected_rows.csv</code>).</p>
{verdict}
{f'<h2>Lỗi chặn công bố / blocking failures</h2><ul>{blocking}</ul>' if blocking else ''}
<h2>Kết quả từng kiểm tra / checks</h2>
<table><thead><tr><th>Kết quả</th><th>Kiểm tra</th><th>Mức độ</th><th>Số lỗi</th><th>Chi tiết</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
<h2>Tình hình báo cáo theo tỉnh và ngành / reporting rates</h2>
{_table(rates_view, RATE_COLUMNS_VI)}
<h2>Miễn trừ / waivers</h2>
{_table(waivers)}
</body></html>
"""
