"""The ranking report (HTML) and the ranking workbook (xlsx), from made-up release tables.

The tables cover the 34 provinces of the reference units, with scores drawn
from a seeded generator; nothing touches the warehouse.
"""

from __future__ import annotations

import importlib.util
import random
import re
import sys
from html.parser import HTMLParser

import openpyxl
import pandas as pd
import pytest

from pipelines.methodology import load_methodology
from pipelines.publish.excel import DOMAIN_SHEET, NOTES_SHEET, RANKING_SHEET, write_ranking_xlsx
from pipelines.publish.report import (
    national_indicator_values,
    render_report_html,
    target_gaps,
    target_year,
    write_report_html,
)
from pipelines.reference.units import admin_units
from pipelines.settings import DEFAULT_METHODOLOGY, REPO_ROOT

PERIOD = "2025"
NOT_RANKED = {"92": "Chỉ có số liệu cho 12/20 chỉ số (dưới 65%)", "96": "Lĩnh vực D4 không có chỉ số nào có số liệu"}
WORST_GAP = ("01", "H2_FULL_IMMUNISATION", 61.0)  # Hà Nội: immunisation far below the 97% target


@pytest.fixture(scope="module")
def methodology():
    return load_methodology(DEFAULT_METHODOLOGY)


@pytest.fixture(scope="module")
def provinces() -> pd.DataFrame:
    units = admin_units()
    return units[units["unit_level"] == "province"][["unit_code", "unit_name"]].reset_index(drop=True)


@pytest.fixture(scope="module")
def tables(methodology, provinces):
    return make_tables(methodology, provinces)


def make_tables(methodology, provinces: pd.DataFrame, seed: int = 7) -> dict[str, pd.DataFrame]:
    rng = random.Random(seed)
    domains = [d.code for d in methodology.domains]
    scores = []
    for p in provinces.itertuples():
        base = rng.uniform(35, 85)
        for d in methodology.domains:
            score = round(min(100, max(0, base + rng.gauss(0, 9))), 4)
            if p.unit_code == "96" and d.code == "D4":
                score = None
            scores.append({"period": PERIOD, "province_code": p.unit_code, "domain_code": d.code,
                           "domain_name": d.name_vi, "score": score})
    domain_scores = pd.DataFrame(scores)
    domain_scores["score"] = domain_scores["score"].astype("Float64")
    pcri = domain_scores.groupby("province_code")["score"].mean().round(4)

    ranked = [c for c in pcri.sort_values(ascending=False).index if c not in NOT_RANKED]
    n = len(ranked)
    previous = ranked[:]
    rng.shuffle(previous)
    rows = []
    for p in provinces.itertuples():
        code = p.unit_code
        rank = ranked.index(code) + 1 if code in ranked else None
        tier = next(t.tier for t in methodology.tiers if t.max_rank_share >= rank / n) if rank else None
        prev = previous.index(code) + 1 if code in previous and code != "01" else None
        rows.append({
            "period": PERIOD, "province_code": code, "province_name": p.unit_name, "pcri": float(pcri[code]),
            "rank": rank, "tier": tier, "rank_change": (prev - rank) if (prev and rank) else None,
            "indicators_used": 12 if code == "92" else 20, "indicators_total": 20,
            "not_ranked_reason": NOT_RANKED.get(code),
            "tier_name": next((t.name_vi for t in methodology.tiers if t.tier == tier), None),
            "previous_rank": prev,
        })
    ranking = pd.DataFrame(rows)
    for col in ("rank", "tier", "rank_change", "indicators_used", "indicators_total", "previous_rank"):
        ranking[col] = ranking[col].astype("Int64")

    values = []
    for p in provinces.itertuples():
        for ind in methodology.indicators:
            lo, hi = ind.goal_low, ind.goal_high
            value = rng.uniform(lo + 0.2 * (hi - lo), hi)
            if (p.unit_code, ind.code) == WORST_GAP[:2]:
                value = WORST_GAP[2]
            denominator = float(rng.randint(20_000, 400_000))
            numerator = value / ind.multiplier * denominator
            missing = p.unit_code == "92" and ind.domain == "D4"
            values.append({
                "period": PERIOD, "unit_level": "province", "unit_code": p.unit_code, "unit_name": p.unit_name,
                "province_code": p.unit_code, "indicator_code": ind.code,
                "numerator": None if missing else numerator, "denominator": denominator,
                "value": None if missing else value, "score": None if missing else rng.uniform(0, 100),
                "suppressed": False,
            })
    values += [
        {"period": PERIOD, "unit_level": "commune", "unit_code": "00004", "unit_name": "Phường Ba Đình",
         "province_code": "01", "indicator_code": "P2_ABUSE_RATE", "numerator": None, "denominator": 5210.0,
         "value": None, "score": None, "suppressed": True},
        {"period": PERIOD, "unit_level": "commune", "unit_code": "00008", "unit_name": "Phường Ngọc Hà",
         "province_code": "01", "indicator_code": "P2_ABUSE_RATE", "numerator": 0.0, "denominator": 4800.0,
         "value": 0.0, "score": 100.0, "suppressed": False},
    ]
    indicator_values = pd.DataFrame(values)

    uncertainty = pd.DataFrame([
        {"province_code": c, "nominal_rank": r, "median_rank": r + 0.5,
         "p05_rank": max(1, r - 2), "p95_rank": min(n, r + 3), "label": "robust" if r % 3 else "sensitive"}
        for r, c in enumerate(ranked, start=1)
    ])
    communes = admin_units()
    communes = communes[(communes["unit_level"] == "commune") & communes["province_code"].isin(["01", "04"])]
    commune_rows = []
    for code, group in communes.groupby("province_code"):
        for k, c in enumerate(group.head(6).itertuples(), start=1):
            commune_rows.append({"period": PERIOD, "commune_code": c.unit_code, "commune_name": c.unit_name,
                                 "province_code": code, "index": 90 - 5 * k, "rank_in_province": k,
                                 "tier": 1 + (k - 1) // 2, "recognised": k <= 3,
                                 "reason": None if k <= 3 else "Chưa đạt tiêu chí 6"})
    commune_ranking = pd.DataFrame(commune_rows)
    quality = {
        "passed": False, "run_id": "test-run",
        "checks": [
            {"code": "ingest.unknown_unit", "severity": "blocking", "passed": True, "failures": 0,
             "message": "Mọi mã đơn vị đều có trong danh mục"},
            {"code": "consistency.numerator_le_denominator", "severity": "blocking", "passed": False,
             "failures": 3, "message": "Tử số lớn hơn mẫu số ở 3 xã"},
            {"code": "plausibility.year_on_year", "severity": "warning", "passed": False, "failures": 5,
             "message": "Thay đổi trên 50% so với năm trước"},
        ],
    }
    profiles = {  # the shape of pipelines/robustness/profiles.py, raw keys included
        "01": {"summary": "Dẫn đầu về nguồn lực", "province_code": "01", "contribution_method": "arithmetic mean",
               "domains": [{"domain_code": "D1", "name_en": "Resources", "contribution_share": 0.2}],
               "strengths": [{"indicator_code": "R2_CP_WORKER_COMMUNES", "name_en": "CP workers", "score": 98.5,
                              "value": 98.5, "unit_vi": "%", "percentile_rank": 96.9, "gap_to_target": None}],
               "weaknesses": [{"indicator_code": "H2_FULL_IMMUNISATION", "score": 2.5, "value": 61.0,
                               "unit_vi": "%", "percentile_rank": 3.1, "gap_to_target": -36.0}]},
    }
    return {"province_ranking": ranking, "domain_scores": domain_scores, "indicator_values": indicator_values,
            "uncertainty": uncertainty, "commune_ranking": commune_ranking, "quality": quality,
            "profiles": profiles}


def full_report(methodology, tables) -> str:
    return render_report_html(
        PERIOD, methodology, tables["province_ranking"], tables["domain_scores"], tables["indicator_values"],
        quality=tables["quality"], uncertainty=tables["uncertainty"], profiles=tables["profiles"],
        commune_ranking=tables["commune_ranking"], previous_period="2024",
    )


def minimal_report(methodology, tables) -> str:
    return render_report_html(PERIOD, methodology, tables["province_ranking"], tables["domain_scores"],
                              tables["indicator_values"])


# --------------------------------------------------------------------------- HTML structure

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class TagChecker(HTMLParser):
    """Checks that every non-void element is closed, in order; collects resource references."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, tuple[int, int]]] = []
        self.errors: list[str] = []
        self.counts: dict[str, int] = {}
        self.references: list[tuple[str, str, str]] = []
        self.html_lang = None
        self.charset = None

    def handle_starttag(self, tag, attrs):
        self._attrs(tag, attrs)
        if tag not in VOID:
            self.stack.append((tag, self.getpos()))

    def handle_startendtag(self, tag, attrs):
        self._attrs(tag, attrs)

    def _attrs(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        d = dict(attrs)
        if tag == "html":
            self.html_lang = d.get("lang")
        if tag == "meta" and "charset" in d:
            self.charset = d["charset"]
        for key in ("src", "href", "xlink:href", "data", "poster", "srcset", "action"):
            if key in d:
                self.references.append((tag, key, d[key] or ""))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack:
            self.errors.append(f"</{tag}> at {self.getpos()} closes nothing")
            return
        top, pos = self.stack.pop()
        if top != tag:
            self.errors.append(f"</{tag}> at {self.getpos()} closes <{top}> opened at {pos}")


def check_html(text: str) -> TagChecker:
    checker = TagChecker()
    checker.feed(text)
    checker.close()
    return checker


def test_report_parses_with_balanced_tags(methodology, tables):
    for text in (full_report(methodology, tables), minimal_report(methodology, tables)):
        checker = check_html(text)
        assert checker.errors == []
        assert checker.stack == [], f"unclosed: {checker.stack[:5]}"
        assert text.startswith("<!DOCTYPE html>")
        assert checker.html_lang == "vi"
        assert checker.charset.lower() == "utf-8"
        for tag in ("html", "head", "body", "main", "section", "table", "svg"):
            assert checker.counts.get(tag, 0) >= 1, tag


def test_report_names_every_province_and_has_charts(methodology, tables, provinces):
    text = full_report(methodology, tables)
    for name in provinces["unit_name"]:
        assert name in text, name
        # one PCRI bar and one card per province
        assert re.search(rf"<title>{re.escape(name)}: PCRI \d", text), name
    for code in provinces["unit_code"]:
        assert f'id="tinh-{code}"' in text
    assert "<svg" in text
    assert text.count('class="card"') == 34
    for d in methodology.domains:
        assert d.name_vi in text
    for heading in ("Bảng xếp hạng toàn quốc", "Biểu đồ PCRI", "Điểm lĩnh vực theo tỉnh, thành phố",
                    "Chỉ số so với mục tiêu quốc gia", "Chất lượng số liệu", "Ghi chú phương pháp",
                    "Xếp hạng cấp xã trong từng tỉnh, thành phố"):
        assert f">{heading}</h2>" in text, heading
    assert "▲" in text and "▼" in text
    assert methodology.version in text


def test_report_is_self_contained(methodology, tables):
    for text in (full_report(methodology, tables), minimal_report(methodology, tables)):
        checker = check_html(text)
        network = [r for r in checker.references if not r[2].startswith("#")]
        assert network == [], network
        assert "http://" not in text and "https://" not in text
        lowered = text.lower()
        for marker in ("<script", "<link", "<img", "<iframe", "@import", "url(", "@font-face"):
            assert marker not in lowered, marker


def test_summary_top_and_bottom(methodology, tables):
    text = full_report(methodology, tables)
    ranking = tables["province_ranking"].dropna(subset=["rank"]).sort_values("rank")
    summary = text[text.index('id="tom-tat"'):text.index('id="xep-hang"')]
    assert "32/34" in summary
    for name in list(ranking["province_name"].head(3)) + list(ranking["province_name"].tail(3)):
        assert name in summary
    for reason in NOT_RANKED.values():
        assert reason in summary


def test_optional_sections_are_omitted(methodology, tables):
    text = minimal_report(methodology, tables)
    assert 'id="chat-luong"' not in text
    assert 'id="cap-xa"' not in text
    assert "Khoảng thứ hạng" not in text
    assert "Chỉ số tốt nhất so với các tỉnh" not in text
    full = full_report(methodology, tables)
    assert 'id="chat-luong"' in full and "consistency.numerator_le_denominator" in full
    assert "Khoảng thứ hạng (5%–95%)" in full
    assert "Dẫn đầu về nguồn lực" in full
    # the profile's indicators in sentences, never its raw keys
    worker = next(i.name_vi for i in methodology.indicators if i.code == "R2_CP_WORKER_COMMUNES")
    assert f"Chỉ số tốt nhất so với các tỉnh: {worker} (98,5%; tốt hơn 97% số tỉnh)." in full
    for key in ("name_en", "gap_to_target", "contribution_share", "contribution_method", "province_code"):
        assert key not in full, key
    assert "ổn định" in full  # robustness label in Vietnamese
    communes = tables["commune_ranking"]
    for name in communes["commune_name"]:
        assert name in full


def test_text_is_escaped(methodology, tables):
    ranking = tables["province_ranking"].copy()
    ranking.loc[0, "province_name"] = "Tỉnh <script>alert(1)</script> & \"Thử\""
    quality = {"passed": True, "checks": [{"code": "x<y>", "severity": "warning", "passed": True, "failures": 0,
                                            "message": "<b>không</b> in đậm"}]}
    text = render_report_html(PERIOD, methodology, ranking, tables["domain_scores"], tables["indicator_values"],
                              quality=quality)
    assert "<script>" not in text and "<b>" not in text
    assert "Tỉnh &lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;Thử&#34;" in text  # the template engine's escaping
    assert "x&lt;y&gt;" in text
    assert check_html(text).errors == []


def test_card_lists_indicators_furthest_from_target(methodology, tables):
    text = full_report(methodology, tables)
    code, indicator, _ = WORST_GAP
    card = text[text.index(f'id="tinh-{code}"'):]
    card = card[:card.index("</article>")]
    gaps = card[card.index('<ol class="gaps"'):]
    first_item = gaps[gaps.index("<li>"):gaps.index("</li>")]
    name = next(i.name_vi for i in methodology.indicators if i.code == indicator)
    assert name in first_item
    assert gaps.count("<li>") == 3


def test_national_values_are_computed_from_counts(methodology):
    rows = pd.DataFrame([
        {"unit_level": "province", "province_code": "01", "indicator_code": "H2_FULL_IMMUNISATION",
         "numerator": 1.0, "denominator": 10.0, "value": 10.0},
        {"unit_level": "province", "province_code": "04", "indicator_code": "H2_FULL_IMMUNISATION",
         "numerator": 90.0, "denominator": 90.0, "value": 100.0},
        {"unit_level": "province", "province_code": "08", "indicator_code": "H2_FULL_IMMUNISATION",
         "numerator": None, "denominator": 50.0, "value": None},
        {"unit_level": "commune", "province_code": "01", "indicator_code": "H2_FULL_IMMUNISATION",
         "numerator": 1000.0, "denominator": 1000.0, "value": 100.0},
        {"unit_level": "province", "province_code": "01", "indicator_code": "H1_U5_MORTALITY",
         "numerator": 3.0, "denominator": 200.0, "value": 15.0},
    ])
    national = national_indicator_values(rows, methodology).set_index("indicator_code")
    # (1 + 90) / (10 + 90) x 100, not the mean of the rates (55) and not counting the commune row
    assert national.at["H2_FULL_IMMUNISATION", "value"] == pytest.approx(91.0)
    assert national.at["H2_FULL_IMMUNISATION", "provinces"] == 2
    assert national.at["H1_U5_MORTALITY", "value"] == pytest.approx(15.0)
    assert pd.isna(national.at["V1_KINDERGARTEN_AGE5", "value"])
    assert len(national) == len(methodology.indicators)


def test_target_gaps_follow_the_direction(methodology):
    rows = pd.DataFrame([
        {"unit_level": "province", "province_code": "01", "indicator_code": "H2_FULL_IMMUNISATION", "value": 90.0},
        {"unit_level": "province", "province_code": "01", "indicator_code": "H1_U5_MORTALITY", "value": 25.0},
        {"unit_level": "province", "province_code": "01", "indicator_code": "H3_STUNTING_U5", "value": 10.0},
        {"unit_level": "province", "province_code": "01", "indicator_code": "R1_BUDGET_PER_CHILD", "value": 1.0},
    ])
    gaps = target_gaps(rows, methodology, "2025").set_index("indicator_code")
    assert gaps.at["H2_FULL_IMMUNISATION", "gap"] == pytest.approx(97 - 90)     # higher: target - value
    assert gaps.at["H1_U5_MORTALITY", "gap"] == pytest.approx(25 - 18.5)        # lower: value - target
    assert gaps.at["H3_STUNTING_U5", "gap"] == pytest.approx(10 - 17)           # met: negative
    assert "R1_BUDGET_PER_CHILD" not in gaps.index                              # no national target
    later = target_gaps(rows, methodology, "2027").set_index("indicator_code")
    assert later.at["H2_FULL_IMMUNISATION", "target"] == 98
    assert target_year("2025H1") == 2025 and target_year("2026") == 2030


def test_write_report_html_writes_utf8_file(tmp_path, methodology, tables):
    out = write_report_html(tmp_path / "sub" / "report.html", PERIOD, methodology, tables["province_ranking"],
                            tables["domain_scores"], tables["indicator_values"], quality=tables["quality"])
    text = out.read_text(encoding="utf-8")
    assert '<html lang="vi">' in text and "Thành phố Hồ Chí Minh" in text
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]


# --------------------------------------------------------------------------- workbook


@pytest.fixture(scope="module")
def workbook(tmp_path_factory, methodology, tables):
    path = tmp_path_factory.mktemp("xlsx") / "ranking.xlsx"
    write_ranking_xlsx(path, tables["province_ranking"], tables["domain_scores"], methodology)
    return openpyxl.load_workbook(path)


def sheet_records(ws) -> list[dict]:
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def test_workbook_sheets_headers_and_layout(workbook, methodology):
    assert workbook.sheetnames == [RANKING_SHEET, DOMAIN_SHEET, NOTES_SHEET]
    ws = workbook[RANKING_SHEET]
    headers = [c.value for c in ws[1]]
    for h in ("Mã tỉnh", "Tỉnh/thành phố", "Chỉ số PCRI", "Thứ hạng", "Nhóm", "Thay đổi thứ hạng",
              "Số chỉ số có dữ liệu", "Lý do không xếp hạng"):
        assert h in headers, h
    assert all(c.font.bold for c in ws[1])
    domain_headers = [c.value for c in workbook[DOMAIN_SHEET][1]]
    assert [d.name_vi for d in methodology.domains] == [h for h in domain_headers if h in
                                                        {d.name_vi for d in methodology.domains}]
    for name in (RANKING_SHEET, DOMAIN_SHEET, NOTES_SHEET):
        assert workbook[name].freeze_panes == "A2", name
    for name in (RANKING_SHEET, DOMAIN_SHEET):
        assert workbook[name].auto_filter.ref, name
        assert workbook[name].auto_filter.ref.startswith("A1:")
        assert all(workbook[name].column_dimensions[c].width >= 8 for c in "ABC")


def test_workbook_values_match_the_input(workbook, tables):
    ranking = tables["province_ranking"].set_index("province_code")
    ws = workbook[RANKING_SHEET]
    records = sheet_records(ws)
    assert len(records) == 34
    assert {r["Mã tỉnh"] for r in records} == set(ranking.index)
    for r in records:
        src = ranking.loc[r["Mã tỉnh"]]
        assert r["Tỉnh/thành phố"] == src["province_name"]
        assert isinstance(r["Chỉ số PCRI"], float)
        assert r["Chỉ số PCRI"] == pytest.approx(float(src["pcri"]))
        if pd.isna(src["rank"]):
            assert r["Thứ hạng"] is None and r["Nhóm"] is None
            assert r["Lý do không xếp hạng"] == src["not_ranked_reason"]
        else:
            assert r["Thứ hạng"] == int(src["rank"]) and r["Nhóm"] == int(src["tier"])
            assert r["Lý do không xếp hạng"] is None
        change = src["rank_change"]
        assert r["Thay đổi thứ hạng"] == (None if pd.isna(change) else int(change))
        assert r["Số chỉ số có dữ liệu"] == int(src["indicators_used"])
    ranks = [r["Thứ hạng"] for r in records]
    assert ranks[:32] == sorted(ranks[:32]) and ranks[32:] == [None, None]
    pcri_col = [c.value for c in ws[1]].index("Chỉ số PCRI") + 1
    assert ws.cell(row=2, column=pcri_col).number_format == "0.00"
    assert ws.cell(row=2, column=1).data_type == "s"  # province codes stay text ("01")


def test_workbook_domain_scores_match_the_input(workbook, tables, methodology):
    scores = tables["domain_scores"].set_index(["province_code", "domain_code"])["score"]
    records = sheet_records(workbook[DOMAIN_SHEET])
    assert len(records) == 34
    for r in records:
        for d in methodology.domains:
            want = scores.loc[(r["Mã tỉnh"], d.code)]
            if pd.isna(want):
                assert r[d.name_vi] is None
            else:
                assert r[d.name_vi] == pytest.approx(float(want))
    ws = workbook[DOMAIN_SHEET]
    assert ws.cell(row=2, column=4).number_format == "0.00"


def test_workbook_notes(workbook, methodology):
    notes = {r["Mục"]: r["Nội dung"] for r in sheet_records(workbook[NOTES_SHEET])}
    assert notes["Kỳ báo cáo"] == PERIOD
    assert notes["Phiên bản phương pháp"] == methodology.version
    assert "số liệu do các ngành gửi" in notes["Nguồn số liệu"]
    assert "Thứ hạng 1 là tốt nhất" in notes["Cách đọc"]
    assert notes["Số tỉnh, thành phố được xếp hạng"] == "32/34"


# --------------------------------------------------------------------------- browser


def _screenshot_module():
    path = REPO_ROOT / "scripts" / "screenshot_report.py"
    spec = importlib.util.spec_from_file_location("screenshot_report", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("screenshot_report", module)
    spec.loader.exec_module(module)
    return module


def test_png_decoder_reads_a_small_png(tmp_path):
    """The fallback decoder (used when Pillow is absent) on a PNG written by hand."""
    import struct
    import zlib

    shot = _screenshot_module()
    width, height = 3, 2
    pixels = [bytes([255, 255, 255] * 3), bytes([255, 0, 0, 0, 255, 0, 0, 0, 255])]
    raw = b"".join(bytes([f]) + row for f, row in zip((0, 2), [pixels[0], bytes(
        (b - a) & 0xFF for a, b in zip(pixels[0], pixels[1]))]))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    w, h, rows, bpp = shot.decode_png(png)
    assert (w, h, bpp) == (3, 2, 3)
    assert rows == pixels


@pytest.mark.browser
def test_report_renders_in_headless_chromium(tmp_path, methodology, tables):
    shot = _screenshot_module()
    if shot.find_chromium() is None:
        pytest.skip("headless Chromium is not installed (no chromium or chromium-browser on PATH); "
                    "install it with: apt-get install chromium")
    html_path = write_report_html(
        tmp_path / "report.html", PERIOD, methodology, tables["province_ranking"], tables["domain_scores"],
        tables["indicator_values"], quality=tables["quality"], uncertainty=tables["uncertainty"],
        profiles=tables["profiles"], commune_ranking=tables["commune_ranking"], previous_period="2024",
    )
    png = shot.screenshot(html_path, tmp_path / "report.png", width=1280, height=3000)
    stats = shot.png_stats(png)
    assert (stats.width, stats.height) == (1280, 3000)
    assert not stats.is_blank(), stats
    assert stats.distinct_colours > 50, stats


def test_report_with_nothing_ranked_and_no_values(tmp_path, methodology, tables):
    """A first period with no ranking yet and no indicator rows still gives a valid report and workbook."""
    ranking = tables["province_ranking"].copy()
    for col in ("rank", "tier", "rank_change", "previous_rank"):
        ranking[col] = pd.array([None] * len(ranking), dtype="Int64")
    ranking["pcri"] = pd.array([None] * len(ranking), dtype="Float64")
    ranking["not_ranked_reason"] = "Chưa có số liệu"
    empty_scores = tables["domain_scores"].iloc[0:0]
    empty_values = tables["indicator_values"].iloc[0:0]
    text = render_report_html(PERIOD, methodology, ranking, empty_scores, empty_values, quality={"passed": True})
    checker = check_html(text)
    assert checker.errors == [] and checker.stack == []
    assert "0/34" in text
    assert "Thành phố Hà Nội" in text
    path = write_ranking_xlsx(tmp_path / "ranking.xlsx", ranking, empty_scores, methodology)
    records = sheet_records(openpyxl.load_workbook(path)[RANKING_SHEET])
    assert len(records) == 34 and all(r["Thứ hạng"] is None for r in records)


def test_quality_in_other_shapes(methodology, tables):
    """Rows of quality.check_results (check_code, waived) and a manifest summary (counts) both render."""
    args = (PERIOD, methodology, tables["province_ranking"], tables["domain_scores"], tables["indicator_values"])
    rows = pd.DataFrame([
        {"check_code": "consistency.age_groups_sum", "severity": "blocking", "passed": False, "failures": 2,
         "message": "Nhóm tuổi không khớp", "waived": True},
        {"check_code": "ingest.unknown_unit", "severity": "blocking", "passed": True, "failures": 0,
         "message": "", "waived": False},
    ])
    text = render_report_html(*args, quality={"checks": rows})
    section = text[text.index('id="chat-luong"'):]
    assert "consistency.age_groups_sum" in section and "Miễn trừ" in section
    assert 'class="status ok"' in section  # the only blocking failure is waived
    summary = {"checks": 3, "passed": 2, "failed": 1, "failed_blocking": 1, "failed_warning": 0,
               "failed_waived": 0}
    text = render_report_html(*args, quality=summary)
    section = text[text.index('id="chat-luong"'):]
    assert 'class="status bad"' in section
    assert "Số kiểm tra đạt" in section and "Không đạt, loại chặn phát hành" in section
    assert check_html(text).errors == []
