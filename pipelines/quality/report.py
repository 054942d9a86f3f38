"""Quality reports of a period, for operators and agencies.

``reports/<period>/quality_report.json`` and ``quality_report.html`` say
whether the period may be published and why, check by check; the
``rejected_rows.csv`` (UTF-8 with BOM, opens in Excel) tells each agency
exactly which file, row and column to fix.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from collections.abc import Collection
from datetime import datetime, timezone
from html import escape
from pathlib import Path

import pandas as pd

from pipelines.quality.core import CheckResult, plain_words
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
    "expected": "Số báo cáo cần nộp (expected)",
    "received": "Đã nhận (received)",
    "complete": "Đầy đủ chỉ tiêu (complete)",
    "on_time": "Đúng hạn (on time)",
    "reporting_rate": "Tỷ lệ báo cáo % (reporting rate)",
    "on_time_rate": "Tỷ lệ đúng hạn % (on time)",
}

# Column labels of the example tables (what a check found), Vietnamese first.
EXAMPLE_COLUMNS_VI = {
    "province_code": "Mã tỉnh",
    "province_name": "Tỉnh/thành phố",
    "unit_code": "Mã đơn vị",
    "unit_name": "Xã/phường (đơn vị)",
    "unit_level": "Cấp",
    "sector": "Ngành",
    "source_file": "Tệp (file)",
    "row_number": "Dòng (row)",
    "column_name": "Cột (column)",
    "value": "Giá trị (value)",
    "reason": "Lý do (reason)",
    "indicator_code": "Chỉ số",
    "data_element": "Chỉ tiêu",
    "numerator": "Tử số",
    "denominator": "Mẫu số",
    "total": "Tổng",
    "parts_sum": "Tổng các phần",
    "plausible_min": "Tối thiểu hợp lý",
    "plausible_max": "Tối đa hợp lý",
    "previous_value": "Kỳ trước",
    "change_share": "Thay đổi (tỷ lệ)",
    "modified_z": "Điểm z hiệu chỉnh",
    "received": "Số xã đã báo cáo",
    "expected": "Số xã cần báo cáo",
    "share": "Tỷ lệ",
    "pcri": "PCRI",
    "rank": "Thứ hạng",
    "expected_rank": "Thứ hạng đúng",
    "tier": "Nhóm",
    "not_ranked_reason": "Lý do không xếp hạng",
    "problem": "Vấn đề",
}

WAIVER_COLUMNS_VI = {
    "check": "Kiểm tra (check)",
    "period": "Kỳ",
    "unit": "Đơn vị",
    "reason": "Lý do",
    "approved_by": "Người phê duyệt",
    "date": "Ngày phê duyệt",
    "expires": "Hết hạn",
    "status": "Trạng thái",
    "note": "Ghi chú",
}
WAIVER_STATUS_VI = {
    "applied": "Đã áp dụng (applied)",
    "unused": "Không khớp lỗi nào (unused)",
    "expired": "Hết hạn, không áp dụng (expired)",
    "invalid": "Không hợp lệ, không áp dụng (invalid)",
}


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600: operators and the web server read these reports
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv_bom(path: Path, df: pd.DataFrame) -> None:
    _atomic_write(path, df.to_csv(index=False).encode("utf-8-sig"))


def summarise(results: list[CheckResult]) -> dict:
    """Overall verdict and counts; the blocking failures, warnings and waived failures in plain words."""
    blocking = [r for r in results if r.blocks]
    warnings = [r for r in results if not r.passed and not r.blocks and not r.waived]
    waived = [r for r in results if not r.passed and r.waived]
    return {
        "passed": not blocking,
        "checks": len(results),
        "failed_blocking": len(blocking),
        "failed_warning": len(warnings),
        "waived": len(waived),
        "blocking_failures": [plain_words(r) for r in sorted(blocking, key=lambda r: r.code)],
        "warning_failures": [plain_words(r) for r in sorted(warnings, key=lambda r: r.code)],
        "waived_failures": [plain_words(r) for r in sorted(waived, key=lambda r: r.code)],
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
    min_share: float | None = None,
    sensitive: Collection[str] = (),
) -> dict:
    """Write the JSON and HTML reports and the rejected rows; return the summary.

    ``min_share``: the methodology's minimum share of communes reporting; the
    HTML colours the reporting rates below it. ``sensitive``: codes of the
    sensitive indicators and data elements; their commune examples show the
    suppressed form (:func:`suppressed_examples`). ``rejected_rows.csv`` goes
    back to the agency that sent the rows and keeps their values.
    """
    results = [suppressed_examples(r, sensitive) for r in results]
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
    _atomic_write(folder / "quality_report.html", _html(doc, rates, sector_names, min_share).encode("utf-8"))
    write_csv_bom(folder / "rejected_rows.csv",
                  rejected.reindex(columns=list(REJECTED_COLUMNS_VI)).rename(columns=REJECTED_COLUMNS_VI))
    return summary


# what an example of a sensitive commune figure keeps: who and what, never how many
_EXAMPLE_KEYS_KEPT = {"period", "province_code", "province_name", "unit_code", "unit_name", "unit_level",
                      "indicator_code", "data_element", "element", "sector", "source_file", "denominator"}
COMMUNE_CODE = re.compile(r"^\d{5}$")


def suppressed_examples(r: CheckResult, sensitive: Collection[str]) -> CheckResult:
    """``r`` with the figures of its commune examples of sensitive indicators or elements withheld.

    The release hides small commune counts of sensitive data elements; the quality report, which leaves
    the warehouse too, shows none of those figures either (it cannot know yet which cells the release hides,
    so it withholds them all: the warehouse keeps them for the operator).
    """
    if not sensitive or not r.examples:
        return r
    sensitive = set(sensitive)
    out = []
    for ex in r.examples:
        about = {ex.get("indicator_code"), ex.get("data_element"), ex.get("element")} & sensitive
        commune = ex.get("unit_level") == "commune" or COMMUNE_CODE.match(str(ex.get("unit_code") or ""))
        if about and commune:
            ex = {k: (v if k in _EXAMPLE_KEYS_KEPT else None) for k, v in ex.items()}
            ex["suppressed"] = True
        out.append(ex)
    return dataclasses.replace(r, examples=out)


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
    if isinstance(v, float) and not pd.isna(v):
        return escape(_number(v))
    return "" if v is None or (isinstance(v, float) and pd.isna(v)) else escape(str(v))


def _number(v: float) -> str:
    """A number as an operator reads it: whole numbers without decimals, others to 2 decimals (4 digits if small)."""
    if v.is_integer():
        return str(int(v))
    return f"{v:.2f}" if abs(v) >= 1 else f"{v:.4g}"


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


def _examples(r: dict, sector_names: dict[str, str], limit: int = 5) -> str:
    examples = pd.DataFrame(r["examples"][:limit])
    if examples.empty:
        return ""
    if "sector" in examples:
        examples["sector"] = examples["sector"].map(lambda x: sector_names.get(x, x))
    more = (f"<div class='more'>… {r['failures'] - len(examples)} trường hợp khác (xem quality_report.json"
            f"{' và rejected_rows.csv' if r['code'].startswith('ingest.') else ''}) / more</div>"
            if r["failures"] > len(examples) else "")
    return f"<div class='scroll'>{_table(examples.dropna(axis=1, how='all'), EXAMPLE_COLUMNS_VI)}</div>{more}"


def _rates_matrix(rates: pd.DataFrame, sector_names: dict[str, str], min_share: float | None) -> str:
    """Provinces down, sectors across: received / expected, the rate, and on time; low rates in colour."""
    if rates.empty:
        return "<p><em>Không có dữ liệu / none.</em></p>"
    sectors = list(dict.fromkeys(rates["sector"]))
    head = "".join(f"<th>{escape(sector_names.get(x, x))}</th>" for x in sectors)
    body = []
    for (code, name), group in rates.groupby(["province_code", "province_name"], sort=True):
        cells = []
        by_sector = {row.sector: row for row in group.itertuples(index=False)}
        for sector in sectors:
            row = by_sector.get(sector)
            if row is None or not row.expected:
                cells.append("<td></td>")
                continue
            rate = 100.0 * row.received / row.expected
            on_time = 100.0 * row.on_time / row.expected
            css = "rate-none" if row.received == 0 else (
                "rate-low" if min_share is not None and rate < 100 * min_share else "rate-ok")
            cells.append(
                f"<td class='num {css}' title='{escape(name)} — {escape(sector_names.get(sector, sector))}'>"
                f"{row.received}/{row.expected}<br><b>{rate:.1f}%</b><br>"
                f"<small>đúng hạn {row.on_time} ({on_time:.1f}%)</small></td>"
            )
        body.append(f"<tr><td>{escape(code)}</td><td>{escape(name)}</td>{''.join(cells)}</tr>")
    return (f"<table class='rates'><thead><tr><th>Mã tỉnh</th><th>Tỉnh/thành phố</th>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _html(doc: dict, rates: pd.DataFrame, sector_names: dict[str, str], min_share: float | None = None) -> str:
    verdict = (
        '<div class="verdict pass">ĐẠT: dữ liệu kỳ này đủ điều kiện công bố / passed: the period may be published</div>'
        if doc["passed"] else
        '<div class="verdict fail">KHÔNG ĐẠT: không công bố kết quả kỳ này, bản công bố trước giữ nguyên / '
        'blocked: nothing is published, the previous release is untouched</div>'
    )
    blocking = "".join(f"<li>{escape(x)}</li>" for x in doc["blocking_failures"])
    warnings = "".join(f"<li>{escape(x)}</li>" for x in doc.get("warning_failures", []))
    waived = "".join(f"<li>{escape(x)}</li>" for x in doc.get("waived_failures", []))
    rows = []
    for r in doc["results"]:
        css, label = _status(r)
        detail = _examples(r, sector_names) if not r["passed"] else ""
        waiver = (f"<div class='note'>Miễn trừ bởi {escape(str(r['waiver']['approved_by']))} ngày "
                  f"{escape(str(r['waiver']['date']))}: {escape(str(r['waiver']['reason']))}</div>"
                  ) if r.get("waiver") else ""
        rows.append(
            f"<tr class='{css}'><td><span class='badge {css}'>{label}</span></td>"
            f"<td>{escape(r['title_vi'] or r['code'])}<br><code>{escape(r['code'])}</code></td>"
            f"<td>{'Chặn công bố' if r['severity'] == 'blocking' else 'Cảnh báo'}</td>"
            f"<td class='num'>{r['failures']}</td><td>{escape(r['message'])}{waiver}{detail}</td></tr>"
        )
    waivers = pd.DataFrame(doc["waivers"])
    if not waivers.empty:
        waivers["status"] = waivers["status"].map(lambda x: WAIVER_STATUS_VI.get(x, x))
        waivers = waivers.reindex(columns=[c for c in WAIVER_COLUMNS_VI if c in waivers.columns])
    share = (f" Ô tô đỏ: dưới {min_share:.0%} số đơn vị báo cáo (ngưỡng của phương pháp) / red: below the "
             f"methodology's minimum share.") if min_share else ""
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<title>Báo cáo chất lượng dữ liệu kỳ {escape(doc['period'])}</title>
<style>
body{{font-family:system-ui,'Segoe UI',Arial,sans-serif;margin:2rem;color:#222;max-width:1400px}}
h1{{font-size:1.5rem}} h2{{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}}
table{{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}}
th,td{{border:1px solid #ddd;padding:.3rem .5rem;vertical-align:top;text-align:left}}
th{{background:#f3f3f3}} td.num{{text-align:right}}
.verdict{{padding:1rem;font-weight:bold;font-size:1.1rem;border-radius:6px}}
.verdict.pass{{background:#e3f4e1;color:#1b5e20}} .verdict.fail{{background:#fde2e1;color:#b71c1c}}
.badge{{padding:.1rem .4rem;border-radius:4px;font-size:.8rem;white-space:nowrap}}
.badge.pass{{background:#c8e6c9}} .badge.fail{{background:#ef9a9a}} .badge.warn{{background:#ffe082}}
.badge.waived{{background:#b3e5fc}} tr.fail td{{background:#fff5f5}} tr.warn td{{background:#fffbea}}
.note{{color:#01579b;margin:.3rem 0}} .more{{color:#555;font-size:.8rem}}
td table{{font-size:.8rem}} ul.fail li{{color:#b71c1c}} ul.warn li{{color:#7a5b00}}
.scroll{{overflow-x:auto;max-width:100%}}
table.rates td{{white-space:nowrap}} .rate-ok{{background:#e3f4e1}} .rate-low{{background:#fde2e1}}
.rate-none{{background:#eeeeee;color:#777}}
</style></head><body>
<h1>Báo cáo chất lượng dữ liệu — kỳ {escape(doc['period'])}</h1>
<p>Data quality report. Lần chạy (run): <code>{escape(doc['run_id'])}</code>, lập lúc {escape(doc['created_at'])}.
{doc['checks']} kiểm tra; {doc['failed_blocking']} lỗi chặn công bố; {doc['failed_warning']} cảnh báo;
{doc['waived']} được miễn trừ; {doc['rejected_rows']} dòng bị từ chối (xem <code>rejected_rows.csv</code>).</p>
{verdict}
{f'<h2>Lỗi chặn công bố / blocking failures</h2><ul class="fail">{blocking}</ul>' if blocking else ''}
{f'<h2>Được miễn trừ / waived failures</h2><ul>{waived}</ul>' if waived else ''}
{f'<h2>Cảnh báo (không chặn công bố) / warnings</h2><ul class="warn">{warnings}</ul>' if warnings else ''}
<h2>Kết quả từng kiểm tra / checks</h2>
<table><thead><tr><th>Kết quả</th><th>Kiểm tra</th><th>Mức độ</th><th>Số lỗi</th><th>Chi tiết</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
<h2>Tình hình báo cáo theo tỉnh và ngành / reporting rates</h2>
<p>Mỗi ô: số đơn vị đã gửi báo cáo / số đơn vị cần báo cáo, tỷ lệ báo cáo, và số báo cáo đúng hạn (như DHIS2).
Each cell: reports received / expected, reporting rate, and reports on time.{share}</p>
{_rates_matrix(rates, sector_names, min_share)}
<h2>Miễn trừ / waivers</h2>
{_table(waivers, WAIVER_COLUMNS_VI)}
</body></html>
"""
