"""Every table a release publishes, and the precision of its numbers in the files people open.

The five tables of :mod:`pipelines.publish.contract` are checked before they are written; the series of the
release (``trend``, ``trend_indicators``, ``targets``, ``equity_gaps``: :mod:`pipelines.publish.series`) and the
rank intervals (``rank_uncertainty``, written by the robustness analysis) are described here, so that the data
dictionary, the CSV files and the workbook treat every published table alike. ``trend`` also has one column per
domain code of the methodology (the domain's score), after ``tier``.

:data:`DECIMALS`: the decimal places of each number column in the CSV files and the workbook (the Parquet files
keep the full precision); the data dictionary declares them.
"""

from __future__ import annotations

from collections.abc import Iterable

from pipelines.publish.contract import TABLES, Column, Table
from pipelines.robustness import RANK_UNCERTAINTY_COLUMNS, RANK_UNCERTAINTY_DECIMALS


def _col(name: str, type_: str, name_vi: str, name_en: str) -> Column:
    return Column(name, type_, name_vi, name_en, name_vi, name_en)


_PERIOD = _col("period", "string", "Kỳ báo cáo", "Reporting period")
_LEVEL = _col("unit_level", "string", "Cấp đơn vị (national, province, commune)", "Unit level")
_UNIT = _col("unit_code", "string", "Mã đơn vị (VN: toàn quốc)", "Unit code (VN: national)")
_INDICATOR = _col("indicator_code", "string", "Mã chỉ số", "Indicator code")
_VALUE = _col("value", "float64", "Giá trị", "Value")


def _table(name: str, name_vi: str, name_en: str, columns: Iterable[Column], key: tuple[str, ...]) -> Table:
    return Table(name, name_vi, name_en, name_vi, name_en, tuple(columns), key, "", "")


SERIES_TABLES: dict[str, Table] = {t.name: t for t in (
    _table("trend", "Chuỗi PCRI, thứ hạng và điểm lĩnh vực qua các kỳ", "PCRI, rank and domain scores over periods", (
        _PERIOD, _col("province_code", "string", "Mã tỉnh", "Province code"),
        _col("province_name", "string", "Tên tỉnh", "Province name"),
        _col("pcri", "float64", "Chỉ số PCRI", "PCRI"), _col("rank", "int64", "Thứ hạng", "Rank"),
        _col("tier", "int64", "Nhóm", "Tier group"),
        _col("methodology_version", "string", "Phiên bản phương pháp", "Methodology version")),
        ("period", "province_code")),
    _table("trend_indicators", "Giá trị chỉ số qua các kỳ (tỉnh và toàn quốc)",
           "Indicator values over periods (provinces and national)", (
               _PERIOD, _LEVEL, _UNIT, _INDICATOR, _col("numerator", "float64", "Tử số", "Numerator"),
               _col("denominator", "float64", "Mẫu số", "Denominator"), _VALUE),
           ("period", "unit_level", "unit_code", "indicator_code")),
    _table("targets", "Mức đạt mục tiêu quốc gia", "Progress to the national targets", (
        _PERIOD, _LEVEL, _UNIT, _INDICATOR, _col("target_year", "int64", "Năm mục tiêu", "Target year"),
        _col("target", "float64", "Mục tiêu quốc gia", "National target"), _VALUE,
        _col("lower_bound", "float64", "Ngưỡng dưới", "Lower bound"),
        _col("share_of_distance", "float64", "Tỷ lệ quãng đường đã đi từ ngưỡng dưới đến mục tiêu",
             "Share of the distance covered"),
        _col("status", "string", "Mức đạt mục tiêu", "Status"),
        _col("needed_per_year", "float64", "Mức cải thiện cần mỗi năm", "Improvement needed a year"),
        _col("observed_per_year", "float64", "Mức cải thiện thực tế mỗi năm", "Improvement observed a year"),
        _col("trend", "string", "Xu hướng", "Trend"), _col("trend_note", "string", "Ghi chú xu hướng", "Trend note")),
        ("period", "unit_level", "unit_code", "indicator_code")),
    _table("equity_gaps", "Chênh lệch giữa các nhóm trẻ em", "Gaps between groups of children", (
        _PERIOD, _LEVEL, _UNIT, _col("province_code", "string", "Mã tỉnh", "Province code"), _INDICATOR,
        _col("group", "string", "Nhóm trẻ em", "Group"), _VALUE,
        _col("reference_group", "string", "Nhóm so sánh (phần còn lại)", "Reference group (the complement)"),
        _col("reference_value", "float64", "Giá trị của nhóm so sánh", "Value of the reference group"),
        _col("gap_difference", "float64", "Chênh lệch (nhóm trừ nhóm so sánh)", "Gap, difference"),
        _col("gap_ratio", "float64", "Tỷ số (nhóm chia nhóm so sánh)", "Gap, ratio"),
        _col("national_gap_difference", "float64", "Chênh lệch toàn quốc", "National gap, difference"),
        _col("national_gap_ratio", "float64", "Tỷ số toàn quốc", "National gap, ratio"),
        _col("suppressed", "boolean", "Ẩn để bảo mật số liệu", "Suppressed (disclosure control)")),
        ("period", "unit_level", "unit_code", "indicator_code", "group")),
    _table("rank_uncertainty", "Khoảng thứ hạng (phân tích độ tin cậy)", "Rank intervals (robustness analysis)",
           [_col(c, t, vi, en) for c, t, vi, en in zip(RANK_UNCERTAINTY_COLUMNS, (
               "string", "int64", "float64", "int64", "int64", "int64", "string", "string"), (
               "Mã tỉnh", "Thứ hạng công bố", "Thứ hạng trung vị", "Thứ hạng phân vị 5%", "Thứ hạng phân vị 95%",
               "Độ rộng khoảng thứ hạng", "Mức ổn định (mã)", "Mức ổn định"), (
               "Province code", "Published rank", "Median rank", "5th percentile rank", "95th percentile rank",
               "Width of the rank interval", "Robustness (code)", "Robustness (Vietnamese)"))],
           ("province_code",)),
)}

PUBLISHED_TABLES: dict[str, Table] = {**TABLES, **SERIES_TABLES}

SCORE_DECIMALS = 2  # PCRI, domain and indicator scores, values, points (the method ranks at 2 decimals)
RATIO_DECIMALS = 3  # shares and ratios near 1

DECIMALS: dict[str, dict[str, int]] = {
    "province_ranking": {"pcri": SCORE_DECIMALS},
    "domain_scores": {"score": SCORE_DECIMALS},
    "indicator_values": {c: SCORE_DECIMALS for c in ("numerator", "denominator", "value", "score")},
    "commune_assessment": {c: SCORE_DECIMALS for c in ("points", "max_points", "pass_points")},
    "commune_ranking": {c: SCORE_DECIMALS for c in ("index", "threshold_points", "total_points")},
    "trend": {"pcri": SCORE_DECIMALS},  # and every domain score column
    "trend_indicators": {c: SCORE_DECIMALS for c in ("numerator", "denominator", "value")},
    "targets": {"target": SCORE_DECIMALS, "value": SCORE_DECIMALS, "lower_bound": SCORE_DECIMALS,
                "share_of_distance": RATIO_DECIMALS, "needed_per_year": RATIO_DECIMALS,
                "observed_per_year": RATIO_DECIMALS},
    "equity_gaps": {"value": SCORE_DECIMALS, "reference_value": SCORE_DECIMALS, "gap_difference": SCORE_DECIMALS,
                    "gap_ratio": RATIO_DECIMALS, "national_gap_difference": SCORE_DECIMALS,
                    "national_gap_ratio": RATIO_DECIMALS},
    "rank_uncertainty": dict(RANK_UNCERTAINTY_DECIMALS),
}


def decimals(table: str, columns: Iterable[str] = ()) -> dict[str, int]:
    """Column -> decimal places of ``table``'s numbers; ``columns``: the table's columns as written (the domain
    score columns of ``trend`` get the score's decimals)."""
    out = dict(DECIMALS.get(table, {}))
    if table == "trend":
        fixed = {c.name for c in SERIES_TABLES["trend"].columns}
        out.update({c: SCORE_DECIMALS for c in columns if c not in fixed})
    return out


def column(table: str, name: str) -> Column | None:
    """The description of a published column (None: a domain score column of ``trend``)."""
    t = PUBLISHED_TABLES[table]
    return next((c for c in t.columns if c.name == name), None)
