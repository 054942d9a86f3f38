"""The published release tables: the one definition of their columns.

Ministries, provinces and researchers open the release files in Excel and in
their own tools, so the column names below are a published contract:

* a column, once published, is never renamed, retyped or removed;
* a new column is added at the END of its table (and to the data dictionary);
* :data:`CONTRACT_VERSION` goes up by one whenever a column is added.

Every stage that writes or checks a release table uses this module: the
release writer validates before writing, the quality gate checks the written
files, the data dictionary describes every column from here, and the tests
compare against it. Nothing else spells out the columns.

Logical types and what they become::

    type      pandas (in memory)   Parquet (Arrow)   CSV
    string    string (NA = null)   string            text, NFC
    int64     Int64                int64             digits, no separator
    float64   Float64              double            decimal point, never exponent
    boolean   boolean              bool              true / false

A null is an empty CSV field and a Parquet null.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

CONTRACT_VERSION = 2  # 2: tables commune_assessment and commune_ranking

TYPES = ("string", "int64", "float64", "boolean")

PANDAS_DTYPES: dict[str, object] = {
    "string": pd.StringDtype("python"),
    "int64": pd.Int64Dtype(),
    "float64": pd.Float64Dtype(),
    "boolean": pd.BooleanDtype(),
}

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "boolean": pa.bool_(),
}


class ContractError(ValueError):
    """A release table does not match the published contract; the message names the table and column."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    name_vi: str
    name_en: str
    description_vi: str
    description_en: str
    nullable: bool = True
    values: tuple[str, ...] | None = None  # allowed values, when the column is a code list

    @property
    def description(self) -> str:
        return f"{self.description_vi} / {self.description_en}"


@dataclass(frozen=True)
class Table:
    name: str
    name_vi: str
    name_en: str
    description_vi: str
    description_en: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    row_order_vi: str
    row_order_en: str

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def dtypes(self) -> dict[str, str]:
        return {c.name: c.type for c in self.columns}

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column '{name}'")


def _c(name, type_, name_vi, name_en, desc_vi, desc_en, nullable=True, values=None) -> Column:
    assert type_ in TYPES, type_
    return Column(name, type_, name_vi, name_en, desc_vi, desc_en, nullable, values)


_PERIOD = _c("period", "string", "Kỳ báo cáo", "Reporting period",
             "Năm (YYYY) hoặc 6 tháng (YYYYH1, YYYYH2)", "Year (YYYY) or half-year (YYYYH1, YYYYH2)",
             nullable=False)
_PROVINCE_CODE = _c("province_code", "string", "Mã tỉnh, thành phố", "Province code",
                    "Mã 2 chữ số theo danh mục đơn vị hành chính từ 1/7/2025; là văn bản, giữ số 0 ở đầu",
                    "2-digit code of the administrative units in force since 1 July 2025; text, keep the "
                    "leading zero", nullable=False)

PROVINCE_RANKING = Table(
    name="province_ranking",
    name_vi="Xếp hạng tỉnh, thành phố theo chỉ số PCRI",
    name_en="Province ranking by the PCRI index",
    description_vi="Một dòng cho mỗi tỉnh, thành phố trong kỳ: chỉ số PCRI, thứ hạng, nhóm và thay đổi so với kỳ trước.",
    description_en="One row per province and period: PCRI, rank, tier group and change against the previous period.",
    columns=(
        _PERIOD,
        _PROVINCE_CODE,
        _c("province_name", "string", "Tên tỉnh, thành phố", "Province name",
           "Tên chính thức (Unicode NFC)", "Official name (Unicode NFC)"),
        _c("pcri", "float64", "Chỉ số PCRI", "PCRI index",
           "Chỉ số tổng hợp thực hiện quyền trẻ em, thang 0-100 (bình quân có trọng số của điểm các lĩnh vực)",
           "Provincial child-rights implementation index, 0-100 (weighted mean of the domain scores)"),
        _c("rank", "int64", "Thứ hạng", "Rank",
           "1 là tốt nhất; các tỉnh bằng điểm (làm tròn theo phương pháp) cùng hạng cao hơn; trống khi không xếp hạng",
           "1 is best; equal PCRI (at the method's rounding) share the better rank; empty when not ranked"),
        _c("tier", "int64", "Nhóm", "Tier group",
           "Nhóm theo thứ hạng, 1 là nhóm tốt nhất; trống khi không xếp hạng",
           "Group by rank, 1 is the strongest; empty when not ranked"),
        _c("rank_change", "int64", "Thay đổi thứ hạng", "Rank change",
           "Thứ hạng kỳ trước trừ thứ hạng kỳ này; số dương là tăng hạng; trống khi không so sánh được",
           "Previous rank minus this rank; positive means moved up; empty when not comparable"),
        _c("indicators_used", "int64", "Số chỉ số có dữ liệu", "Indicators with a value",
           "Số chỉ số con có giá trị được dùng để tính PCRI", "Number of indicators with a value used in the PCRI"),
        _c("indicators_total", "int64", "Tổng số chỉ số", "Indicators in the method",
           "Tổng số chỉ số con theo phương pháp", "Number of indicators in the methodology"),
        _c("not_ranked_reason", "string", "Lý do không xếp hạng", "Reason not ranked",
           "Trống khi được xếp hạng", "Empty when ranked (text in Vietnamese)"),
        # -- added after the first contract columns (additions only go at the end) --
        _c("tier_name", "string", "Tên nhóm", "Tier name (Vietnamese)",
           "Tên nhóm bằng tiếng Việt", "Name of the tier group in Vietnamese"),
        _c("tier_name_en", "string", "Tên nhóm (tiếng Anh)", "Tier name (English)",
           "Tên nhóm bằng tiếng Anh", "Name of the tier group in English"),
        _c("previous_rank", "int64", "Thứ hạng kỳ trước", "Previous rank",
           "Thứ hạng trong kỳ trước; trống khi kỳ trước không xếp hạng",
           "Rank in the previous period; empty when not ranked then"),
    ),
    key=("period", "province_code"),
    row_order_vi="theo thứ hạng (tỉnh không xếp hạng ở cuối), rồi mã tỉnh",
    row_order_en="by rank (not ranked last), then province code",
)

DOMAIN_SCORES = Table(
    name="domain_scores",
    name_vi="Điểm các lĩnh vực (chỉ số trung gian) của tỉnh, thành phố",
    name_en="Domain (intermediate index) scores of provinces",
    description_vi="Một dòng cho mỗi tỉnh và lĩnh vực: điểm 0-100 là bình quân có trọng số của điểm các chỉ số con có dữ liệu.",
    description_en="One row per province and domain: 0-100 score, weighted mean of the domain's indicator scores with a value.",
    columns=(
        _PERIOD,
        _PROVINCE_CODE,
        _c("domain_code", "string", "Mã lĩnh vực", "Domain code",
           "Mã lĩnh vực (chỉ số trung gian) theo phương pháp", "Domain (intermediate index) code of the methodology",
           nullable=False),
        _c("domain_name", "string", "Tên lĩnh vực", "Domain name (Vietnamese)",
           "Tên lĩnh vực bằng tiếng Việt", "Name of the domain in Vietnamese"),
        _c("score", "float64", "Điểm lĩnh vực", "Domain score",
           "Thang 0-100; trống khi lĩnh vực không có chỉ số nào có dữ liệu",
           "0-100; empty when no indicator of the domain has a value"),
        # -- added columns --
        _c("domain_name_en", "string", "Tên lĩnh vực (tiếng Anh)", "Domain name (English)",
           "Tên lĩnh vực bằng tiếng Anh", "Name of the domain in English"),
        _c("indicators_used", "int64", "Số chỉ số có dữ liệu", "Indicators with a value",
           "Số chỉ số con của lĩnh vực có giá trị", "Number of the domain's indicators with a value"),
        _c("indicators_total", "int64", "Tổng số chỉ số của lĩnh vực", "Indicators in the domain",
           "Số chỉ số con của lĩnh vực theo phương pháp", "Number of the domain's indicators in the methodology"),
    ),
    key=("period", "province_code", "domain_code"),
    row_order_vi="theo mã tỉnh, rồi thứ tự lĩnh vực trong phương pháp",
    row_order_en="by province code, then the domain's order in the methodology",
)

INDICATOR_VALUES = Table(
    name="indicator_values",
    name_vi="Giá trị và điểm các chỉ số con của tỉnh và xã",
    name_en="Indicator values and scores of provinces and communes",
    description_vi=("Một dòng cho mỗi đơn vị (tỉnh, xã) và chỉ số con: tử số, mẫu số, giá trị = tử số / mẫu số x hệ số, "
                    "điểm 0-100. Số liệu nhạy cảm cấp xã được ẩn theo quy tắc bảo mật (cột suppressed)."),
    description_en=("One row per unit (province, commune) and indicator: numerator, denominator, value = numerator / "
                    "denominator x multiplier, 0-100 score. Sensitive commune figures are suppressed by the "
                    "disclosure rule (column suppressed)."),
    columns=(
        _PERIOD,
        _c("unit_level", "string", "Cấp đơn vị", "Unit level",
           "province = cấp tỉnh; commune = cấp xã (xã, phường, đặc khu)",
           "province; commune (commune, ward or special zone)", nullable=False, values=("province", "commune")),
        _c("unit_code", "string", "Mã đơn vị hành chính", "Unit code",
           "Mã tỉnh 2 chữ số hoặc mã xã 5 chữ số (danh mục từ 1/7/2025); là văn bản, giữ số 0 ở đầu",
           "2-digit province or 5-digit commune code (units since 1 July 2025); text, keep the leading zero",
           nullable=False),
        _c("unit_name", "string", "Tên đơn vị hành chính", "Unit name", "Tên chính thức (Unicode NFC)",
           "Official name (Unicode NFC)"),
        _PROVINCE_CODE,
        _c("indicator_code", "string", "Mã chỉ số", "Indicator code",
           "Mã chỉ số con theo phương pháp (xem phần chỉ số của từ điển)",
           "Indicator code of the methodology (see the indicators in this dictionary)", nullable=False),
        _c("numerator", "float64", "Tử số", "Numerator",
           "Tổng các số liệu ở tử số; trống khi thiếu số liệu hoặc bị ẩn",
           "Sum of the numerator data elements; empty when missing or suppressed"),
        _c("denominator", "float64", "Mẫu số", "Denominator",
           "Tổng các số liệu ở mẫu số (không bao giờ bị ẩn)",
           "Sum of the denominator data elements (never suppressed)"),
        _c("value", "float64", "Giá trị chỉ số", "Indicator value",
           "Tử số / mẫu số x hệ số; trống khi thiếu số liệu, mẫu số bằng 0 hoặc bị ẩn",
           "Numerator / denominator x multiplier; empty when a term is missing, the denominator is 0, or suppressed"),
        _c("score", "float64", "Điểm chỉ số", "Indicator score",
           "Thang 0-100 theo ngưỡng của phương pháp; trống khi không có giá trị hoặc bị ẩn",
           "0-100 by the methodology's goalposts; empty when there is no value or it is suppressed"),
        _c("suppressed", "boolean", "Bị ẩn để bảo mật", "Suppressed for confidentiality",
           "true khi tử số, giá trị và điểm bị ẩn theo quy tắc bảo mật số liệu nhạy cảm",
           "true when numerator, value and score are withheld by the sensitive-data disclosure rule",
           nullable=False),
    ),
    key=("period", "unit_level", "unit_code", "indicator_code"),
    row_order_vi="tỉnh trước xã; theo mã tỉnh, mã đơn vị, rồi thứ tự chỉ số trong phương pháp",
    row_order_en="provinces before communes; by province code, unit code, then the indicator's order in the methodology",
)

_COMMUNE_CODE = _c("commune_code", "string", "Mã xã, phường, đặc khu", "Commune code",
                   "Mã 5 chữ số theo danh mục đơn vị hành chính từ 1/7/2025; là văn bản, giữ số 0 ở đầu",
                   "5-digit code of the administrative units in force since 1 July 2025; text, keep the leading zero",
                   nullable=False)
_COMMUNE_NAME = _c("commune_name", "string", "Tên xã, phường, đặc khu", "Commune name",
                   "Tên chính thức (Unicode NFC)", "Official name (Unicode NFC)")

COMMUNE_ASSESSMENT = Table(
    name="commune_assessment",
    name_vi="Đánh giá xã, phường, đặc khu phù hợp với trẻ em theo từng tiêu chuẩn",
    name_en="Child-friendly commune assessment by criterion",
    description_vi=("Một dòng cho mỗi xã và tiêu chuẩn (Quyết định 06/QĐ-TTg): điểm và đạt/không đạt. Chỉ có "
                    "trong kỳ được đánh giá (kỳ năm). Điểm trống khi thiếu số liệu đầu vào. Điểm của tiêu chuẩn có "
                    "số liệu nhạy cảm (xâm hại trẻ em, trẻ em vi phạm pháp luật) được ẩn theo quy tắc bảo mật (cột "
                    "suppressed). Bảng điểm do dự án giả định được đánh dấu ở cột assumed và trong từ điển dữ liệu."),
    description_en=("One row per commune and criterion (Decision 06/QĐ-TTg): points and met. Only in assessed "
                    "periods (years). Points are empty when an input is missing. Points of criteria fed by "
                    "sensitive data (child abuse, children in conflict with the law) are suppressed by the "
                    "disclosure rule (column suppressed). Point tables assumed by the project are flagged in "
                    "column assumed and in the data dictionary."),
    columns=(
        _PERIOD,
        _COMMUNE_CODE,
        _COMMUNE_NAME,
        _PROVINCE_CODE,
        _c("criterion_code", "string", "Mã tiêu chuẩn", "Criterion code",
           "Mã tiêu chuẩn C01-C13 (xem phần tiêu chuẩn của từ điển dữ liệu)",
           "Criterion code C01-C13 (see the criteria in the data dictionary)", nullable=False),
        _c("points", "float64", "Điểm", "Points",
           "Điểm của tiêu chuẩn (tổng điểm các chỉ tiêu); trống khi thiếu số liệu hoặc bị ẩn",
           "Points of the criterion (sum of its items); empty when an input is missing or suppressed"),
        _c("met", "boolean", "Đạt", "Met",
           "true khi điểm đạt mức yêu cầu của tiêu chuẩn; trống khi thiếu số liệu hoặc bị ẩn",
           "true when the points reach the criterion's pass mark; empty when an input is missing or suppressed"),
        # -- added after the columns (additions only go at the end) --
        _c("suppressed", "boolean", "Bị ẩn để bảo mật", "Suppressed for confidentiality",
           "true khi điểm và đạt/không đạt bị ẩn vì số liệu nhạy cảm của xã bị ẩn theo quy tắc bảo mật",
           "true when points and met are withheld because the commune's sensitive count is suppressed",
           nullable=False),
        _c("max_points", "float64", "Điểm tối đa", "Maximum points",
           "Điểm tối đa của tiêu chuẩn", "Maximum points of the criterion"),
        _c("pass_points", "float64", "Điểm đạt", "Pass mark",
           "Số điểm tối thiểu để tiêu chuẩn đạt", "Points at which the criterion is met"),
        _c("assumed", "boolean", "Bảng điểm giả định", "Assumed point table",
           "true khi bảng điểm hoặc mức đạt của tiêu chuẩn do dự án giả định (văn bản công khai không nêu)",
           "true when the criterion's point table or pass mark is the project's assumption (not in the public "
           "decision)"),
    ),
    key=("period", "commune_code", "criterion_code"),
    row_order_vi="theo mã tỉnh, mã xã, rồi thứ tự tiêu chuẩn",
    row_order_en="by province code, commune code, then the criterion's order",
)

COMMUNE_RANKING = Table(
    name="commune_ranking",
    name_vi="Xếp hạng xã, phường, đặc khu trong tỉnh và công nhận phù hợp với trẻ em",
    name_en="Communes ranked within their province, and child-friendly recognition",
    description_vi=("Một dòng cho mỗi xã trong kỳ: chỉ số cấp xã (cùng phương pháp PCRI, trên các chỉ số cấp xã, "
                    "không gồm chỉ số có tử số nhạy cảm), thứ hạng và nhóm trong tỉnh, công nhận xã phù hợp với "
                    "trẻ em và lý do khi không được công nhận."),
    description_en=("One row per commune and period: commune index (the PCRI method over the commune-level "
                    "indicators, leaving out those with a sensitive numerator), rank and tier within the province, "
                    "child-friendly recognition and the reason when not recognised."),
    columns=(
        _PERIOD,
        _COMMUNE_CODE,
        _COMMUNE_NAME,
        _PROVINCE_CODE,
        _c("index", "float64", "Chỉ số cấp xã", "Commune index",
           "Thang 0-100, bình quân có trọng số của điểm các lĩnh vực của xã",
           "0-100, weighted mean of the commune's domain scores"),
        _c("rank_in_province", "int64", "Thứ hạng trong tỉnh", "Rank in province",
           "1 là tốt nhất trong tỉnh; bằng điểm cùng hạng cao hơn; trống khi không xếp hạng",
           "1 is best within the province; equal indices share the better rank; empty when not ranked"),
        _c("tier", "int64", "Nhóm", "Tier group",
           "Nhóm theo thứ hạng trong tỉnh, 1 là nhóm tốt nhất; trống khi không xếp hạng",
           "Group by rank within the province, 1 is the strongest; empty when not ranked"),
        _c("recognised", "boolean", "Được công nhận phù hợp với trẻ em", "Recognised as child-friendly",
           "true khi đạt cả 13 tiêu chuẩn, không tiêu chuẩn nào 0 điểm và tổng điểm đạt ngưỡng của loại xã; "
           "trống khi không đánh giá (thiếu số liệu, kỳ 6 tháng)",
           "true when all 13 criteria are met, none scores 0 and the total reaches the threshold of the commune "
           "type; empty when not assessed (missing data, half-year period)"),
        _c("reason", "string", "Lý do", "Reason",
           "Lý do không được công nhận hoặc không đánh giá; tiêu chuẩn có số liệu bị ẩn không ghi điểm; trống khi "
           "được công nhận",
           "Why not recognised or not assessed (text in Vietnamese); criteria with suppressed data are named "
           "without points; empty when recognised"),
        # -- added after the columns (additions only go at the end) --
        _c("commune_type", "string", "Loại xã", "Commune type",
           "urban_ward_central_city (phường), mountain_island_disadvantaged (đặc khu, xã đặc biệt khó khăn, miền "
           "núi, hải đảo) hoặc other: mặc định theo loại đơn vị, tệp loại xã của cán bộ vận hành được ưu tiên",
           "urban_ward_central_city (phường), mountain_island_disadvantaged (đặc khu; especially difficult, "
           "mountain or island xã) or other: by default from the division type, the operators' file overrides"),
        _c("threshold_points", "float64", "Ngưỡng công nhận", "Recognition threshold",
           "Tổng điểm cần đạt theo loại xã (900, 800 hoặc 850)", "Total points needed for the commune type"),
        _c("total_points", "float64", "Tổng điểm", "Total points",
           "Tổng điểm 13 tiêu chuẩn (thang 1.000); trống khi không đánh giá hoặc khi điểm một tiêu chuẩn bị ẩn",
           "Total of the 13 criteria (out of 1,000); empty when not assessed or when a criterion's points are "
           "suppressed"),
        _c("tier_name", "string", "Tên nhóm", "Tier name (Vietnamese)",
           "Tên nhóm bằng tiếng Việt", "Name of the tier group in Vietnamese"),
        _c("not_ranked_reason", "string", "Lý do không xếp hạng", "Reason not ranked",
           "Trống khi được xếp hạng", "Empty when ranked (text in Vietnamese)"),
        _c("indicators_used", "int64", "Số chỉ số có dữ liệu", "Indicators with a value",
           "Số chỉ số cấp xã có giá trị được dùng", "Number of commune-level indicators with a value used"),
        _c("indicators_total", "int64", "Tổng số chỉ số", "Indicators of the index",
           "Số chỉ số cấp xã của chỉ số xếp hạng", "Number of commune-level indicators of the index"),
    ),
    key=("period", "commune_code"),
    row_order_vi="theo mã tỉnh, thứ hạng trong tỉnh (xã không xếp hạng ở cuối), rồi mã xã",
    row_order_en="by province code, rank in province (not ranked last), then commune code",
)

TABLES: dict[str, Table] = {
    t.name: t for t in (PROVINCE_RANKING, DOMAIN_SCORES, INDICATOR_VALUES, COMMUNE_ASSESSMENT, COMMUNE_RANKING)
}
TABLE_NAMES: tuple[str, ...] = tuple(TABLES)


def table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise ContractError(f"'{name}' is not a release table; the release tables are {list(TABLES)}") from None


def columns(name: str) -> list[str]:
    """The ordered column names of a release table."""
    return table(name).column_names


def arrow_schema(name: str) -> pa.Schema:
    """The exact Arrow / Parquet schema of a release table."""
    t = table(name)
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type], nullable=c.nullable) for c in t.columns])


# --------------------------------------------------------------------------------------------------
# conforming and checking


def _is_kind(dtype, kind: str) -> bool:
    if kind == "string":
        return pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype)
    if kind == "int64":
        return pd.api.types.is_integer_dtype(dtype)
    if kind == "float64":
        return pd.api.types.is_float_dtype(dtype)
    if kind == "boolean":
        return pd.api.types.is_bool_dtype(dtype)
    raise AssertionError(kind)


def conform(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Select the contract's columns in order and cast them to the contract's dtypes.

    Raises :class:`ContractError` naming the column when one is missing or a
    value cannot take the column's type (e.g. text in a number column, a
    fractional rank). NaN in a number column becomes null.
    """
    t = table(name)
    missing = [c for c in t.column_names if c not in df.columns]
    if missing:
        raise ContractError(f"{name}: column '{missing[0]}' is missing (contract columns: {t.column_names})")
    out = {}
    for col in t.columns:
        s = df[col.name]
        try:
            out[col.name] = _cast(s, col.type)
        except (TypeError, ValueError) as exc:
            raise ContractError(f"{name}: column '{col.name}' cannot be read as {col.type}: {exc}") from None
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


def _cast(s: pd.Series, kind: str) -> pd.Series:
    s = s.reset_index(drop=True)
    if kind == "string":
        values = [None if _isnull(v) else v for v in s.tolist()]
        bad = [v for v in values if v is not None and not isinstance(v, str)]
        if bad:
            raise TypeError(f"not text: {bad[0]!r}")
        return pd.Series(values, dtype=PANDAS_DTYPES["string"])
    if kind == "boolean":
        values = [None if _isnull(v) else v for v in s.tolist()]
        bad = [v for v in values if v is not None and not isinstance(v, bool) and v not in (0, 1)]
        if bad:
            raise TypeError(f"not true/false: {bad[0]!r}")
        return pd.Series([None if v is None else bool(v) for v in values], dtype=PANDAS_DTYPES["boolean"])
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
        values = [None if _isnull(v) else v for v in s.tolist()]
        bad = [v for v in values if v is not None and (isinstance(v, (bool, str)) or not isinstance(v, (int, float)))]
        if bad:
            raise TypeError(f"not a number: {bad[0]!r}")
        s = pd.Series([pd.NA if v is None else float(v) for v in values], dtype=PANDAS_DTYPES["float64"])
    if kind == "float64":
        s = s.astype(PANDAS_DTYPES["float64"])
        return s.mask(s.isna(), pd.NA)  # NaN -> null
    # int64: only whole numbers
    f = s.astype(PANDAS_DTYPES["float64"])
    frac = f.dropna()
    bad = frac[(frac % 1) != 0]
    if len(bad):
        raise ValueError(f"not a whole number: {bad.iloc[0]!r}")
    return f.astype(PANDAS_DTYPES["int64"])


def _isnull(v) -> bool:
    if v is None or v is pd.NA:
        return True
    return isinstance(v, float) and math.isnan(v)


def problems(name: str, df: pd.DataFrame) -> list[str]:
    """Every way ``df`` departs from the contract of table ``name`` (empty list: it conforms).

    Checks: the exact column names in order, each column's type, nulls in
    columns that must not be empty, allowed code values, finite numbers, and
    that the table key is unique.
    """
    t = table(name)
    out: list[str] = []
    got = [str(c) for c in df.columns]
    for c in t.column_names:
        if c not in got:
            out.append(f"{name}: column '{c}' is missing")
    for c in got:
        if c not in t.column_names:
            out.append(f"{name}: column '{c}' is not in the contract (add it to pipelines/publish/contract.py first)")
    if len(set(got)) != len(got):
        dup = sorted({c for c in got if got.count(c) > 1})
        out.append(f"{name}: column '{dup[0]}' appears more than once")
    if not out and got != t.column_names:
        first = next(i for i, (a, b) in enumerate(zip(got, t.column_names)) if a != b)
        out.append(f"{name}: column '{got[first]}' is at position {first + 1}, the contract has "
                   f"'{t.column_names[first]}' there (order: {t.column_names})")
    for col in t.columns:
        if col.name not in got or got.count(col.name) > 1:
            continue
        s = df[col.name]
        if not _is_kind(s.dtype, col.type):
            out.append(f"{name}: column '{col.name}' has type {s.dtype}, the contract says {col.type}")
            continue
        if not col.nullable and s.isna().any():
            out.append(f"{name}: column '{col.name}' has {int(s.isna().sum())} empty values, it must not be empty")
        if col.values is not None:
            bad = sorted(set(s.dropna().tolist()) - set(col.values))
            if bad:
                out.append(f"{name}: column '{col.name}' has value {bad[0]!r}, allowed: {list(col.values)}")
        if col.type == "float64":
            vals = s.dropna().astype("float64")
            if len(vals) and not vals.map(math.isfinite).all():
                out.append(f"{name}: column '{col.name}' has an infinite value")
    if not out:
        dups = df.duplicated(subset=list(t.key), keep=False)
        if dups.any():
            example = df.loc[dups, list(t.key)].iloc[0].to_dict()
            out.append(f"{name}: key {list(t.key)} is not unique, e.g. {example}")
    return out


def validate(name: str, df: pd.DataFrame) -> None:
    """Raise :class:`ContractError` (naming the column) when ``df`` does not match the contract."""
    found = problems(name, df)
    if found:
        raise ContractError("; ".join(found))


def validate_all(tables: Mapping[str, pd.DataFrame]) -> None:
    """Validate a full set of release tables: exactly the contract's tables, each conforming."""
    missing = [n for n in TABLES if n not in tables]
    extra = [n for n in tables if n not in TABLES]
    if missing:
        raise ContractError(f"release table '{missing[0]}' is missing")
    if extra:
        raise ContractError(f"'{extra[0]}' is not a release table of the contract")
    for n in TABLES:
        validate(n, tables[n])


def schema_problems(name: str, schema: pa.Schema) -> list[str]:
    """Compare a written Parquet/Arrow schema with the contract (for checks of published files)."""
    want = arrow_schema(name)
    out = []
    got_names = list(schema.names)
    if got_names != want.names:
        for c in want.names:
            if c not in got_names:
                out.append(f"{name}: column '{c}' is missing")
        for c in got_names:
            if c not in want.names:
                out.append(f"{name}: column '{c}' is not in the contract")
        if not out:
            out.append(f"{name}: columns are out of order: {got_names}, contract: {want.names}")
        return out
    for f in want:
        got = schema.field(f.name).type
        if got != f.type:
            out.append(f"{name}: column '{f.name}' has type {got}, the contract says {f.type}")
    return out


def header_problems(name: str, header: Iterable[str]) -> list[str]:
    """Compare the header row of a written CSV with the contract."""
    got = list(header)
    want = columns(name)
    if got == want:
        return []
    missing = [c for c in want if c not in got]
    extra = [c for c in got if c not in want]
    if missing:
        return [f"{name}: CSV column '{missing[0]}' is missing"]
    if extra:
        return [f"{name}: CSV column '{extra[0]}' is not in the contract"]
    return [f"{name}: CSV columns are out of order: {got}, contract: {want}"]
