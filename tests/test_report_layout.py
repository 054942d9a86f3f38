"""The report as ministries read it: Vietnamese formats, the tile map, designed province cards, the PDF,
and both reports in a 1,366 px browser window.

Small hand-made tables (three provinces) where values are checked by hand; the
34-province tables of tests/test_report.py where the whole country matters.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from pipelines import formats
from pipelines.units.provenance import units_text_vi
from pipelines.methodology import load_methodology
from pipelines.publish.report import render_report_html, render_report_pdf_html, write_report_html
from pipelines.publish.report_data import TIER_COLOURS, UNRANKED_COLOUR
from pipelines.publish.report_views import province_tiles
from pipelines.reference.units import admin_units
from pipelines.settings import DEFAULT_METHODOLOGY
from tests.test_report import PERIOD, _screenshot_module, make_tables

# three provinces, five domains: medians D1 60, D2 60, D3 50, D4 50, D5 60
SCORES = {"01": [80, 60, 50, 40, 70], "04": [60, 70, 30, 50, 40], "08": [40, 50, 70, 60, 60]}
NAMES = {"01": "Thành phố Hà Nội", "04": "Cao Bằng", "08": "Tuyên Quang"}


@pytest.fixture(scope="module")
def methodology():
    return load_methodology(DEFAULT_METHODOLOGY)


@pytest.fixture(scope="module")
def small(methodology):
    """Hand-made tables: Hà Nội 1st (PCRI 60), Tuyên Quang 2nd (56), Cao Bằng 3rd (50)."""
    domains = [d.code for d in methodology.domains]
    scores = pd.DataFrame([{"period": PERIOD, "province_code": p, "domain_code": d, "score": float(s)}
                           for p, values in SCORES.items() for d, s in zip(domains, values)])
    ranking = pd.DataFrame([
        {"period": PERIOD, "province_code": p, "province_name": NAMES[p], "pcri": pcri, "rank": rank, "tier": tier,
         "rank_change": change, "previous_rank": None, "indicators_used": 20, "indicators_total": 20,
         "not_ranked_reason": None}
        for p, pcri, rank, tier, change in (("01", 60.0, 1, 1, 2), ("08", 56.0, 2, 2, None), ("04", 50.0, 3, 4, -1))
    ])
    # Hà Nội: immunisation 90 (target 97: 7 short, 7/40 of the goalposts), under-5 mortality 15 (target 18.5:
    # met), stunting 24 (target 17: 7 short, 7/35 of the goalposts: furthest)
    values = pd.DataFrame([
        {"period": PERIOD, "unit_level": "province", "province_code": "01", "indicator_code": code, "value": v,
         "numerator": None, "denominator": None, "suppressed": False}
        for code, v in (("H2_FULL_IMMUNISATION", 90.0), ("H1_U5_MORTALITY", 15.0), ("H3_STUNTING_U5", 24.0))
    ])
    return ranking, scores, values


def card_of(text: str, code: str) -> str:
    part = text[text.index(f'id="tinh-{code}"'):]
    return part[:part.index("</details>")]


# --------------------------------------------------------------------------- formats


def test_numbers_percentages_and_times_are_vietnamese():
    assert formats.number(1234.5, 1) == "1.234,5"
    assert formats.count(3321) == "3.321"
    assert formats.number(-0.004, 2) == "0,00"
    assert formats.compact(4 / 3) == "1,33" and formats.compact(3.0) == "3"
    assert formats.percent(0.123) == "12,3%" and formats.percent(1.0) == "100%" and formats.percent(0.9) == "90%"
    assert formats.percent_value(95.2) == "95,2%"
    assert formats.number(None) == formats.DASH and formats.number(float("nan")) == formats.DASH
    # 17:30 UTC is half past midnight the next day in Ha Noi (UTC+7)
    assert formats.local_time("2025-12-06T17:30:00+00:00") == "07/12/2025 00:30 (giờ Việt Nam)"
    assert formats.local_date("2025-12-06T17:30:00Z") == "07/12/2025"


def test_method_note_counts_units_as_numbers(methodology, small):
    text = units_text_vi(34, 3321)
    assert text == "34 tỉnh, thành phố và 3.321 xã, phường, đặc khu"
    ranking, scores, values = small
    html = render_report_html(PERIOD, methodology, ranking, scores, values, units_note=f"Kỳ {PERIOD} theo {text}.")
    note = html[html.index('id="phuong-phap"'):]
    assert "34 tỉnh, thành phố và 3.321 xã, phường, đặc khu" in note
    assert "tỉnh. thành phố" not in html and "xã. phường" not in html
    assert "ít nhất 65% số chỉ số" in note  # min_indicator_share 0.65
    # under-5 mortality: per 1,000 live births, goalposts 5 to 60
    row = note[note.index("Tỷ suất tử vong trẻ em dưới 5 tuổi"):]
    row = row[:row.index("</tr>")]
    assert "DEATHS_U5 / LIVE_BIRTHS × 1.000" in row and "5 – 60" in row


def test_report_numbers_use_the_vietnamese_decimal_comma(methodology, small):
    ranking, scores, values = small
    ranking = ranking.assign(pcri=[60.125, 56.0, 1234.5])
    html = render_report_html(PERIOD, methodology, ranking, scores, values)
    table = html[html.index('id="xep-hang"'):html.index('id="bieu-do"')]
    assert ">60,13<" in table and ">1.234,50<" in table
    assert not re.search(r">\d+\.\d+<", table)  # no English decimals


# --------------------------------------------------------------------------- map


def test_tile_layout_covers_exactly_the_34_provinces():
    units = admin_units()
    codes = set(units.loc[units["unit_level"] == "province", "unit_code"])
    tiles = province_tiles()
    assert len(codes) == 34 and set(tiles) == codes
    places = [(t["row"], t["col"]) for t in tiles.values()]
    assert len(set(places)) == 34  # no two provinces on one tile
    # north above south: Hà Nội above Huế above Thành phố Hồ Chí Minh above Cà Mau
    assert tiles["01"]["row"] < tiles["46"]["row"] < tiles["79"]["row"] < tiles["96"]["row"]


def test_map_has_34_tiles_coloured_by_tier(methodology):
    units = admin_units()
    provinces = units[units["unit_level"] == "province"][["unit_code", "unit_name"]].reset_index(drop=True)
    t = make_tables(methodology, provinces)
    html = render_report_html(PERIOD, methodology, t["province_ranking"], t["domain_scores"], t["indicator_values"])
    tiles = dict(re.findall(r'<g class="tile" data-code="(\d\d)">\s*<rect [^>]*fill="(#[0-9a-f]{6})"', html))
    assert len(tiles) == 34
    ranking = t["province_ranking"].set_index("province_code")
    for code, colour in tiles.items():
        tier = ranking.at[code, "tier"]
        assert colour == (UNRANKED_COLOUR if pd.isna(tier) else TIER_COLOURS[int(tier) - 1]), code
    assert tiles["92"] == tiles["96"] == UNRANKED_COLOUR


# --------------------------------------------------------------------------- province cards


def test_card_says_rank_strengths_weaknesses_and_targets(methodology, small):
    ranking, scores, values = small
    html = render_report_html(PERIOD, methodology, ranking, scores, values)
    card = card_of(html, "01")
    d1, d4 = methodology.domains[0].name_vi, methodology.domains[3].name_vi
    assert "Thứ hạng <strong>1/3</strong>" in card
    # D1: 80 against a median of 60; D4: 40 against 50
    assert f"Mạnh nhất ở lĩnh vực <strong>{d1}</strong>: 80,0 điểm, cao hơn trung vị toàn quốc 20,0 điểm." in card
    assert f"Cần cải thiện nhất ở lĩnh vực <strong>{d4}</strong>: 40,0 điểm, thấp hơn trung vị toàn quốc 10,0 điểm." \
        in card
    # one bar per domain, the median marked on each
    assert card.count('class="fill"') == 5 and card.count('class="median"') == 5
    assert 'style="width:80%;' in card and 'style="left:60%"' in card
    # targets: 1 of 3 met; stunting (7/35) before immunisation (7/40)
    assert "Đạt mục tiêu quốc gia 2025 ở <strong>1/3</strong> chỉ số" in card
    gaps = re.findall(r"<li>(.*?)</li>", card[card.index('<ol class="gaps"'):])
    assert len(gaps) == 2
    assert gaps[0].startswith("Tỷ lệ suy dinh dưỡng thể thấp còi") and "<strong>24%</strong>" in gaps[0]
    assert "(mục tiêu 2025: 17; còn cách 7)" in gaps[0]
    assert gaps[1].startswith("Tỷ lệ trẻ em dưới 1 tuổi được tiêm chủng")
    # no targets for the others
    assert "Không có số liệu các chỉ số có mục tiêu quốc gia." in card_of(html, "04")


def test_every_province_has_a_folded_card(methodology):
    units = admin_units()
    provinces = units[units["unit_level"] == "province"][["unit_code", "unit_name"]].reset_index(drop=True)
    t = make_tables(methodology, provinces)
    html = render_report_html(PERIOD, methodology, t["province_ranking"], t["domain_scores"], t["indicator_values"],
                              uncertainty=t["uncertainty"])
    section = html[html.index('id="tinh"'):html.index('id="chi-so"')]
    assert section.count('<details class="fold card-fold"') == 34
    for r in t["province_ranking"].itertuples():
        card = card_of(html, r.province_code)
        assert r.province_name in card
        if pd.isna(r.rank):
            assert "Không xếp hạng" in card and r.not_ranked_reason in card
        else:
            assert f"Thứ hạng <strong>{int(r.rank)}/32</strong>" in card
            assert "Khoảng thứ hạng 5%–95%" in card
    assert "<details" not in html[:html.index('id="tinh"')]  # the summary is never folded


# --------------------------------------------------------------------------- PDF


def page_texts(document) -> list[str]:
    """The text of each page WeasyPrint laid out (page boxes with their margin boxes)."""

    def texts(box) -> list[str]:
        own = [box.text] if isinstance(getattr(box, "text", None), str) else []
        return own + [t for child in getattr(box, "children", None) or [] for t in texts(child)]

    return [" ".join(texts(page._page_box)) for page in document.pages]


@pytest.fixture(scope="module")
def pdf_pages(methodology):
    weasyprint = pytest.importorskip("weasyprint")
    units = admin_units()
    provinces = units[units["unit_level"] == "province"][["unit_code", "unit_name"]].reset_index(drop=True)
    t = make_tables(methodology, provinces)
    html = render_report_pdf_html(PERIOD, methodology, t["province_ranking"], t["domain_scores"],
                                  t["indicator_values"], uncertainty=t["uncertainty"],
                                  release={"release": "v3", "created_at": "2025-12-06T17:30:00Z"})
    document = weasyprint.HTML(string=html).render()
    # A4 is 210 x 297 mm: 793.7 x 1122.5 CSS px
    assert {(round(p.width, 1), round(p.height, 1)) for p in document.pages} == {(793.7, 1122.5)}
    return page_texts(document), t


def test_pdf_first_page_is_the_whole_ranking(pdf_pages):
    pages, t = pdf_pages
    first = pages[0]
    assert "32/34 tỉnh, thành phố được xếp hạng" in first
    for name in t["province_ranking"]["province_name"]:
        assert name in first, name  # the 34 provinces on one page
    assert "Biểu đồ PCRI" not in first and "Biểu đồ PCRI" in pages[1]


def test_pdf_footer_has_release_date_and_page_numbers(pdf_pages):
    pages, _ = pdf_pages
    n = len(pages)
    assert n > 3
    for k, text in enumerate(pages, start=1):
        assert f"Trang {k}/{n}" in text
        assert "Bản công bố v3, ngày 07/12/2025" in text


def test_write_report_pdf_writes_an_a4_pdf(tmp_path, methodology, small):
    pytest.importorskip("weasyprint")
    from pipelines.publish.report import write_report_pdf

    ranking, scores, values = small
    path = write_report_pdf(tmp_path / "report.pdf", PERIOD, methodology, ranking, scores, values)
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert [p.name for p in tmp_path.iterdir()] == ["report.pdf"]


# --------------------------------------------------------------------------- in a browser


def _quality_html(tmp_path) -> "Path":  # noqa: F821
    from tests.test_quality_waivers_report import RATES, failure
    from pipelines.quality.report import write_reports

    examples = [{"sector": "health", "source_file": "2025/health/a.csv", "row_number": i, "column_name": "value",
                 "value": "x" * 40, "reason": "Giá trị không phải là số " * 3} for i in range(5)]
    write_reports(tmp_path, PERIOD, "run-1", [failure(examples=examples, failures=25)], RATES,
                  pd.DataFrame(columns=["sector", "source_file", "row_number", "column_name", "value", "check_code",
                                        "reason", "raw_record"]), [],
                  sector_names={"health": "Y tế", "finance": "Tài chính"}, min_share=0.9)
    return tmp_path / "quality_report.html"


@pytest.mark.browser
def test_both_reports_fit_a_1366_px_window(tmp_path, methodology):
    shot = _screenshot_module()
    if shot.find_chromium() is None:
        pytest.skip("headless Chromium is not installed (/usr/bin/chromium); install it with: apt-get install chromium")
    units = admin_units()
    provinces = units[units["unit_level"] == "province"][["unit_code", "unit_name"]].reset_index(drop=True)
    t = make_tables(methodology, provinces)
    report = write_report_html(
        tmp_path / "report.html", PERIOD, methodology, t["province_ranking"], t["domain_scores"],
        t["indicator_values"], quality=t["quality"], uncertainty=t["uncertainty"], profiles=t["profiles"],
        commune_ranking=t["commune_ranking"], previous_period="2024")
    page = shot.measure(report, 1366)
    assert page["viewport"] == 1366
    assert page["width"] <= 1366, page  # no horizontal scrolling
    assert page["height"] < 20_000, page
    quality = shot.measure(_quality_html(tmp_path / "q"), 1366)
    assert quality["width"] <= 1366, quality
    # one card opened on its own still fits
    card = tmp_path / "card.html"
    card.write_text(shot.fragment_page(report.read_text(encoding="utf-8"), "tinh-01"), encoding="utf-8")
    assert shot.measure(card, 1366)["width"] <= 1366


def test_any_float_formats_even_a_hostile_one():
    from pipelines.formats import compact, number

    assert number(1e300, 0).startswith("1.000.000.000") and number(1e300, 0).count(".") == 100
    assert compact(60.125) == "60,13" and number(-0.001, 2) == "0,00"
