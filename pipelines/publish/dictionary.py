"""The data dictionary of a release: ``dictionary.csv`` (UTF-8 with BOM) and ``dictionary.md``.

It describes every published column of every release table (from
:mod:`pipelines.publish.contract`, the one definition of the columns) and
every indicator of the methodology the release was computed with, Vietnamese
names first and English beside them.

``dictionary.csv`` has one row per column (``section = column``) and one row
per indicator (``section = indicator``; ``table``/``column`` then say where
the indicator code appears: ``indicator_values.indicator_code``).

``dictionary.md`` also describes the child-friendly commune assessment when
the methodology has one: the thresholds by commune type, and every criterion
and item with its input, point bands, maximum and pass mark, marking what
the project assumed where the public decision gives no point table
(:func:`criteria_dictionary`; the release table ``commune_assessment``
carries the same flag in its ``assumed`` column).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.publish import contract
from pipelines.publish.disclosure import DisclosureRule
from pipelines.sensitive import sensitive_indicator_codes
from pipelines.publish.published import SERIES_TABLES, decimals
from pipelines.files import write_csv, write_text

CSV_NAME = "dictionary.csv"
MD_NAME = "dictionary.md"

COLUMN_FIELDS = ["table", "column", "name_vi", "name_en", "type", "description"]
# added at the end of dictionary.csv: the decimal places of a number column in the CSV files and the workbook
DECIMALS_FIELD = "decimals"
INDICATOR_FIELDS = [
    "indicator_code", "domain_code", "domain_name_vi", "domain_name_en", "level",
    "numerator", "numerator_vi", "numerator_en", "denominator", "denominator_vi", "denominator_en",
    "multiplier", "direction", "unit_vi", "unit_en", "source_sectors_vi", "source_sectors_en",
    "target_2025", "target_2030", "goal_low", "goal_high", "weight", "sensitive",
]
CSV_COLUMNS = (["section"] + COLUMN_FIELDS[:2] + ["indicator_code"] + COLUMN_FIELDS[2:] + INDICATOR_FIELDS[1:]
               + [DECIMALS_FIELD])
CSV_TYPES = {
    "multiplier": "float64", "target_2025": "float64", "target_2030": "float64",
    "goal_low": "float64", "goal_high": "float64", "weight": "float64", "sensitive": "boolean",
}

_TYPE_VI = {"string": "văn bản", "int64": "số nguyên", "float64": "số thực", "boolean": "đúng/sai"}
_DIRECTION = {"higher": ("cao hơn là tốt hơn", "higher is better"), "lower": ("thấp hơn là tốt hơn", "lower is better")}
_REFERENCE_SECTOR = ("Danh mục đơn vị hành chính", "Reference administrative units")


def column_dictionary() -> pd.DataFrame:
    """One row per published column of every release table, in contract order; ``decimals`` as text ("" when the
    column is not a rounded number)."""
    rows = [
        {"table": t.name, "column": c.name, "name_vi": c.name_vi, "name_en": c.name_en, "type": c.type,
         "description": c.description, DECIMALS_FIELD: str(decimals(t.name).get(c.name, ""))}
        for t in contract.TABLES.values()
        for c in t.columns
    ]
    return pd.DataFrame(rows, columns=COLUMN_FIELDS + [DECIMALS_FIELD])


def _sector_names(methodology, element_codes) -> tuple[str, str]:
    sectors = {s.code: s for s in methodology.sectors}
    elements = methodology.elements_by_code
    seen: list[str] = []
    for code in element_codes:
        s = elements[code].sector
        if s not in seen:
            seen.append(s)
    vi = [sectors[s].name_vi if s in sectors else _REFERENCE_SECTOR[0] for s in seen]
    en = [sectors[s].name_en if s in sectors else _REFERENCE_SECTOR[1] for s in seen]
    return "; ".join(vi), "; ".join(en)


def _terms(methodology, codes) -> tuple[str, str, str]:
    el = methodology.elements_by_code
    return (
        " + ".join(codes),
        " + ".join(f"{el[c].name_vi} [{c}]" for c in codes),
        " + ".join(f"{el[c].name_en} [{c}]" for c in codes),
    )


def indicator_dictionary(methodology) -> pd.DataFrame:
    """One row per indicator of the methodology, in its order."""
    domains = {d.code: d for d in methodology.domains}
    sensitive = sensitive_indicator_codes(methodology)
    rows = []
    for i in methodology.indicators:
        num, num_vi, num_en = _terms(methodology, i.numerator)
        den, den_vi, den_en = _terms(methodology, i.denominator)
        src_vi, src_en = _sector_names(methodology, i.numerator + i.denominator)
        rows.append({
            "indicator_code": i.code, "domain_code": i.domain,
            "domain_name_vi": domains[i.domain].name_vi, "domain_name_en": domains[i.domain].name_en,
            "name_vi": i.name_vi, "name_en": i.name_en, "level": methodology.indicator_level(i),
            "numerator": num, "numerator_vi": num_vi, "numerator_en": num_en,
            "denominator": den, "denominator_vi": den_vi, "denominator_en": den_en,
            "multiplier": i.multiplier, "direction": i.direction, "unit_vi": i.unit_vi, "unit_en": i.unit_en,
            "source_sectors_vi": src_vi, "source_sectors_en": src_en,
            "target_2025": i.target_2025, "target_2030": i.target_2030,
            "goal_low": i.goal_low, "goal_high": i.goal_high, "weight": i.weight,
            "sensitive": i.code in sensitive,
        })
    return pd.DataFrame(rows, columns=["indicator_code", "name_vi", "name_en"] + INDICATOR_FIELDS[1:])


def _band_text(item) -> str:
    sign = "≥" if item.band_type == "min" else "≤"
    text = "; ".join(f"{sign} {_num(b.bound)}: {_num(b.points)}" for b in item.bands)
    rest = "còn lại / otherwise: 0"
    if item.input_kind == "rate":
        no_den = item.max_points if item.if_no_denominator is None else item.if_no_denominator
        rest += f"; mẫu số 0 / denominator 0: {_num(no_den)}"
    return f"{text}; {rest}"


def _input_text(methodology, item) -> tuple[str, str]:
    el = methodology.elements_by_code
    num_vi = " + ".join(f"{el[c].name_vi} [{c}]" for c in item.numerator)
    num_en = " + ".join(f"{el[c].name_en} [{c}]" for c in item.numerator)
    if item.input_kind == "yes_no":
        return f"có/không: {num_vi}", f"yes/no: {num_en}"
    if item.input_kind == "count":
        return f"số đếm: {num_vi}", f"count: {num_en}"
    den_vi = " + ".join(f"{el[c].name_vi} [{c}]" for c in item.denominator)
    den_en = " + ".join(f"{el[c].name_en} [{c}]" for c in item.denominator)
    return (f"({num_vi}) / ({den_vi}) x {_num(item.multiplier)}",
            f"({num_en}) / ({den_en}) x {_num(item.multiplier)}")


def criteria_dictionary(methodology) -> pd.DataFrame:
    """One row per item of the commune assessment's criteria (empty without an assessment)."""
    assessment = getattr(methodology, "commune_assessment", None)
    columns = ["criterion_code", "criterion_name_vi", "criterion_name_en", "criterion_max_points", "pass_points",
               "pass_assumed", "item_code", "item_name_vi", "item_name_en", "input_vi", "input_en", "bands",
               "item_max_points", "assumed", "sensitive"]
    if assessment is None:
        return pd.DataFrame(columns=columns)
    el = methodology.elements_by_code
    rows = []
    for c in assessment.criteria:
        for i in c.items:
            input_vi, input_en = _input_text(methodology, i)
            rows.append({
                "criterion_code": c.code, "criterion_name_vi": c.name_vi, "criterion_name_en": c.name_en,
                "criterion_max_points": c.max_points, "pass_points": c.pass_points, "pass_assumed": c.pass_assumed,
                "item_code": i.code, "item_name_vi": i.name_vi, "item_name_en": i.name_en,
                "input_vi": input_vi, "input_en": input_en, "bands": _band_text(i), "item_max_points": i.max_points,
                "assumed": i.assumed, "sensitive": any(el[e].sensitive for e in i.elements),
            })
    return pd.DataFrame(rows, columns=columns)


def _assessment_markdown(methodology) -> list[str]:
    assessment = getattr(methodology, "commune_assessment", None)
    if assessment is None:
        return []
    a = assessment
    L = ["## Đánh giá xã phù hợp với trẻ em / Child-friendly commune assessment", "",
         f"{a.name_vi} ({a.source_vi}). {a.name_en} ({a.source_en}). Tệp / file `{a.path.name}`, phiên bản / "
         f"version **{a.version}** (sha256 `{a.sha256}`).", "",
         f"Xã được công nhận khi đạt cả {len(a.criteria)} tiêu chuẩn, không tiêu chuẩn nào 0 điểm và tổng điểm (thang "
         f"{_num(a.total_points)}) đạt ngưỡng của loại xã; xã thiếu số liệu đầu vào thì không đánh giá. / A commune is "
         f"recognised when all {len(a.criteria)} criteria are met, none scores 0 and the total (out of "
         f"{_num(a.total_points)}) reaches the threshold of its type; a commune lacking an input is not assessed.", "",
         ("Chỉ đánh giá kỳ năm. / Only annual periods are assessed." if a.periods == "annual"
          else "Mọi kỳ đều được đánh giá. / Every period is assessed."), "",
         "| loại xã / commune type | tên (vi) | name (en) | ngưỡng / threshold |", "|---|---|---|---|"]
    for ct in a.commune_types:
        default = " (mặc định / default)" if ct.is_default else ""
        if getattr(ct, "default_for", ()):
            default += f" (mặc định cho / default for: {', '.join(ct.default_for)})"
        if getattr(ct, "assumed", False):
            default += " (cách hiểu của dự án / the project's reading)"
        L.append(f"| `{ct.code}`{default} | {_md(ct.name_vi)} | {_md(ct.name_en)} | {_num(ct.min_total_points)} |")
    if any(getattr(ct, "default_for", ()) for ct in a.commune_types):
        L += ["", "Các loại xã của quyết định không còn sau ngày 01/7/2025 và chưa có văn bản chuyển đổi: mỗi xã nhận "
              "loại mặc định theo loại đơn vị (phường, xã, đặc khu); tệp `reference/commune_types.csv` của cán bộ vận "
              "hành được ưu tiên. / The decision's commune types no longer exist after 1 July 2025 and no official "
              "mapping exists: each commune gets the default type of its division type (phường, xã, đặc khu); the "
              "operators' file `reference/commune_types.csv` overrides it."]
    if a.replaces_element:
        L += ["", f"Kết quả đánh giá thay cho số liệu báo cáo `{a.replaces_element}` trong các chỉ số (R3) ở những xã "
              f"được đánh giá; khi ngành cũng báo cáo, chênh lệch giữa hai nguồn là một cảnh báo chất lượng. / Where "
              f"a commune is assessed, its result stands in for the reported `{a.replaces_element}` in the indicators "
              f"(R3); where the agency also reports it, a disagreement is a quality warning."]
    L += ["", "**Giả định / assumed**: bảng điểm hoặc mức đạt do dự án đặt vì văn bản công khai không nêu; thay bằng "
          "bảng điểm chính thức khi có (chỉ sửa tệp cấu hình). / point tables or pass marks set by the project "
          "because the public decision does not give them; replace them with the official tables when available "
          "(a change of the configuration file only).", "",
          "| tiêu chuẩn / criterion | tối đa / max | mức đạt / pass | chỉ tiêu / item | đầu vào / input "
          "| bảng điểm / bands | tối đa / max | giả định / assumed | nhạy cảm / sensitive |",
          "|---|---|---|---|---|---|---|---|---|"]
    for r in criteria_dictionary(methodology).itertuples(index=False):
        pass_text = f"{_num(r.pass_points)}{' (giả định / assumed)' if r.pass_assumed else ''}"
        L.append(
            f"| `{r.criterion_code}` {_md(r.criterion_name_vi)}<br>{_md(r.criterion_name_en)} "
            f"| {_num(r.criterion_max_points)} | {pass_text} | `{r.item_code}` {_md(r.item_name_vi)}<br>"
            f"{_md(r.item_name_en)} | {_md(r.input_vi)}<br>{_md(r.input_en)} | {_md(r.bands)} "
            f"| {_num(r.item_max_points)} | {'có / yes' if r.assumed else 'không / no'} "
            f"| {'có / yes' if r.sensitive else 'không / no'} |")
    L += ["", "Điểm của tiêu chuẩn có số liệu nhạy cảm bị ẩn ở xã có số liệu đó bị ẩn (cùng quy tắc bảo mật như bảng "
          "indicator_values; cột suppressed); khi đó tổng điểm của xã cũng để trống. Chỉ số xếp hạng cấp xã không "
          "dùng các chỉ số có tử số nhạy cảm. / Points of criteria fed by sensitive data are withheld where the "
          "commune's count is suppressed (the rule of indicator_values; column suppressed), and the commune's total "
          "is then empty. The commune index leaves out indicators with a sensitive numerator.", ""]
    return L


def dictionary_frame(methodology) -> pd.DataFrame:
    """The rows of ``dictionary.csv``: columns first, then indicators."""
    cols = column_dictionary().assign(section="column")
    ind = indicator_dictionary(methodology).assign(
        section="indicator", table="indicator_values", column="indicator_code", type="", **{DECIMALS_FIELD: ""},
    )
    ind["description"] = [
        f"({r.numerator_vi}) / ({r.denominator_vi}) x {_num(r.multiplier)}; {_DIRECTION[r.direction][0]} / "
        f"({r.numerator_en}) / ({r.denominator_en}) x {_num(r.multiplier)}; {_DIRECTION[r.direction][1]}"
        for r in ind.itertuples()
    ]
    out = pd.concat([cols, ind], ignore_index=True)
    return out.reindex(columns=CSV_COLUMNS)


def _num(x) -> str:
    if x is None or (isinstance(x, float) and pd.isna(x)):
        return ""
    from pipelines.files import format_number

    return format_number(x)


def _md(text) -> str:
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ""
    return str(text).replace("|", "\\|").replace("\n", " ")


def dictionary_markdown(methodology, rule: DisclosureRule | None = None) -> str:
    rule = rule or DisclosureRule.from_methodology(methodology)
    L: list[str] = []
    L += [
        f"# Từ điển dữ liệu / Data dictionary: {methodology.name_vi}",
        "",
        f"{methodology.name_en}. Phương pháp / methodology version **{methodology.version}** "
        f"(sha256 `{methodology.sha256}`); hợp đồng cột / column contract version {contract.CONTRACT_VERSION}.",
        "",
    ]
    L += _formats_markdown()
    L += _tables_markdown()
    L += _indicators_markdown(methodology)
    L += _assessment_markdown(methodology)
    L += _elements_markdown(methodology)

    desc = rule.describe()
    L += ["## Bảo mật số liệu nhạy cảm / Disclosure control of sensitive data", "",
          desc["text_vi"], "", desc["text_en"], "",
          f"Chỉ số áp dụng / indicators concerned: "
          f"{', '.join(f'`{c}`' for c in sorted(sensitive_indicator_codes(methodology))) or '-'}.", ""]
    return "\n".join(L)


def _formats_markdown() -> list[str]:
    return [
        "## Định dạng tệp / File formats",
        "",
        "- Mỗi bảng có tệp `.parquet` và `.csv`. / Each table is published as `.parquet` and `.csv`.",
        "- **Người dùng Excel: hãy mở tệp `ranking.xlsx`.** Tệp có mọi bảng công bố, mỗi bảng một trang tính "
        "(mã tỉnh, xã là văn bản, giữ số 0 ở đầu; số là số, làm tròn như cột `decimals`), in sẵn trên giấy A4 "
        "ngang, vừa chiều rộng trang, lặp dòng tiêu đề, chân trang ghi bản phát hành và số trang. Tệp CSV dành "
        "cho máy và phần mềm thống kê. / **Excel users: open `ranking.xlsx`.** It holds every published table, "
        "one sheet each (province and commune codes are text with their leading zeros; numbers are numbers, "
        "rounded as the `decimals` column says), set up to print on A4 landscape, fit to the page width, header "
        "rows repeated, the release and the page number in the footer. The CSV files are for machines and "
        "statistical software.",
        "- CSV: UTF-8 có BOM, dòng kết thúc bằng CRLF, dấu phẩy ngăn cách cột, dấu chấm thập phân, "
        "không có dấu phân cách hàng nghìn, số làm tròn đến số chữ số thập phân ở cột `decimals` của từ điển "
        "(tệp Parquet giữ đủ độ chính xác); ô trống là không có số liệu; đúng/sai ghi `true`/`false`. / "
        "CSV: UTF-8 with BOM, CRLF line ends, comma-separated, decimal point, no thousands separator, numbers "
        "rounded to the decimal places in the dictionary's `decimals` column (the Parquet files keep the full "
        "precision); an empty cell is no value; booleans are `true`/`false`.",
        "- Mã tỉnh, xã là văn bản có số 0 ở đầu: khi mở CSV bằng Excel, nhập các cột mã dưới dạng Text "
        "(Data > From Text/CSV). / Province and commune codes are text with leading zeros: in Excel, import "
        "the code columns as Text (Data > From Text/CSV).",
        "- Máy dùng định dạng số Việt Nam (dấu phẩy thập phân): mở CSV qua Data > From Text/CSV và chọn "
        "File Origin/Locale English, hoặc dùng tệp Excel của bản phát hành. / On a computer set to Vietnamese "
        "number format (decimal comma), open the CSV through Data > From Text/CSV with an English locale, or "
        "use the release's Excel workbook.",
        "- Văn bản theo chuẩn Unicode NFC. / Text is Unicode NFC.",
        "- Mỗi bản phát hành nằm trong `publish/<kỳ>/v<N>/` và không bao giờ bị sửa; `latest.json` chỉ bản mới "
        "nhất; `manifest.json` ghi nguồn số liệu, phương pháp, kiểm tra chất lượng và mã sha256 của mọi tệp. / "
        "Each release is in `publish/<period>/v<N>/` and is never changed; `latest.json` names the newest; "
        "`manifest.json` records the inputs, methodology, quality checks and the sha256 of every file.",
        "- Tên cột không bao giờ bị đổi; cột mới chỉ được thêm vào cuối bảng. / Column names are never renamed; "
        "new columns are only added at the end of a table.",
        "",
    ]


def _tables_markdown() -> list[str]:
    L = [
        "## Bảng / Tables",
        "",
    ]
    for t in contract.TABLES.values():
        L += [
            f"### `{t.name}`: {t.name_vi} / {t.name_en}",
            "",
            f"{t.description_vi}",
            "",
            f"{t.description_en}",
            "",
            f"Khóa / key: {', '.join(f'`{k}`' for k in t.key)}. Thứ tự dòng / row order: {t.row_order_vi} / "
            f"{t.row_order_en}.",
            "",
            "| cột / column | tên / name (vi) | name (en) | kiểu / type | mô tả / description |",
            "|---|---|---|---|---|",
        ]
        for c in t.columns:
            L.append(f"| `{c.name}` | {_md(c.name_vi)} | {_md(c.name_en)} | {_type_text(t.name, c)} | "
                     f"{_md(c.description)} |")
        L.append("")
    L += ["### Các bảng khác / Other tables", "",
          "Chuỗi thời gian, mục tiêu, chênh lệch giữa các nhóm và khoảng thứ hạng (xem `dictionary_history.csv`). "
          "/ The series, targets, gaps between groups and rank intervals (see `dictionary_history.csv`).", ""]
    for t in SERIES_TABLES.values():
        L += [f"- `{t.name}`: {t.name_vi} / {t.name_en}: "
              + ", ".join(f"`{c.name}` ({_type_text(t.name, c)})" for c in t.columns)
              + (" và một cột điểm cho mỗi lĩnh vực / and one score column per domain" if t.name == "trend" else "")]
    L.append("")
    return L


def _type_text(table: str, c) -> str:
    places = decimals(table).get(c.name)
    rounded = f", {places} chữ số thập phân / decimals" if places is not None else ""
    return f"{c.type} ({_TYPE_VI[c.type]}{rounded})"


def _indicators_markdown(methodology) -> list[str]:
    ind = indicator_dictionary(methodology)
    L = ["## Chỉ số / Indicators", "",
          "Giá trị = tổng tử số / tổng mẫu số x hệ số, tính từ số đếm ở mọi cấp (không lấy bình quân các tỷ lệ). "
          "Điểm 0-100 theo ngưỡng (goalposts). / Value = sum of numerator / sum of denominator x multiplier, from "
          "counts at every level (rates are never averaged). Score 0-100 by the goalposts.", ""]
    for d in methodology.domains:
        L += [f"### {d.code}: {d.name_vi} / {d.name_en} (trọng số / weight {_num(d.weight)})", "",
              "| mã / code | tên (vi) | name (en) | tử số / numerator | mẫu số / denominator | hệ số / multiplier "
              "| đơn vị / unit | chiều / direction | mục tiêu / target 2025 | 2030 | ngưỡng / goalposts "
              "| trọng số / weight | nguồn / source | nhạy cảm / sensitive |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in ind[ind["domain_code"] == d.code].itertuples():
            vi_dir, en_dir = _DIRECTION[r.direction]
            L.append(
                f"| `{r.indicator_code}` | {_md(r.name_vi)} | {_md(r.name_en)} | {_md(r.numerator_vi)}<br>"
                f"{_md(r.numerator_en)} | {_md(r.denominator_vi)}<br>{_md(r.denominator_en)} | {_num(r.multiplier)} "
                f"| {_md(r.unit_vi)} / {_md(r.unit_en)} | {vi_dir} / {en_dir} | {_num(r.target_2025)} "
                f"| {_num(r.target_2030)} | {_num(r.goal_low)} - {_num(r.goal_high)} | {_num(r.weight)} "
                f"| {_md(r.source_sectors_vi)}<br>{_md(r.source_sectors_en)} | {'có / yes' if r.sensitive else 'không / no'} |"
            )
        L.append("")
    return L


def _elements_markdown(methodology) -> list[str]:
    used = {c for i in methodology.indicators for c in i.numerator + i.denominator}
    if getattr(methodology, "commune_assessment", None) is not None:
        used |= set(methodology.commune_assessment.elements)
    L = ["## Số liệu đầu vào / Data elements", "",
          "| mã / code | tên (vi) | name (en) | ngành / sector | cấp / level | nhạy cảm / sensitive |",
          "|---|---|---|---|---|---|"]
    sectors = {s.code: s for s in methodology.sectors}
    for e in methodology.data_elements:
        if e.code not in used:
            continue
        s = sectors.get(e.sector)
        sector = f"{s.name_vi} / {s.name_en}" if s else " / ".join(_REFERENCE_SECTOR)
        L.append(f"| `{e.code}` | {_md(e.name_vi)} | {_md(e.name_en)} | {_md(sector)} | {e.level} | "
                 f"{'có / yes' if e.sensitive else 'không / no'} |")
    L.append("")
    return L


def write_dictionary(folder: Path, methodology, rule: DisclosureRule | None = None) -> list[Path]:
    """Write ``dictionary.csv`` and ``dictionary.md`` into ``folder``; returns their paths."""
    folder = Path(folder)
    csv_path, md_path = folder / CSV_NAME, folder / MD_NAME
    write_csv(dictionary_frame(methodology), csv_path, CSV_TYPES)
    write_text(md_path, dictionary_markdown(methodology, rule))
    return [csv_path, md_path]
