"""The data dictionary of a release: ``dictionary.csv`` (UTF-8 with BOM) and ``dictionary.md``.

It describes every published column of every release table (from
:mod:`pipelines.publish.contract`, the one definition of the columns) and
every indicator of the methodology the release was computed with, Vietnamese
names first and English beside them.

``dictionary.csv`` has one row per column (``section = column``) and one row
per indicator (``section = indicator``; ``table``/``column`` then say where
the indicator code appears: ``indicator_values.indicator_code``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.publish import contract
from pipelines.publish.disclosure import DisclosureRule, sensitive_indicator_codes
from pipelines.publish.files import write_csv, write_text

CSV_NAME = "dictionary.csv"
MD_NAME = "dictionary.md"

COLUMN_FIELDS = ["table", "column", "name_vi", "name_en", "type", "description"]
INDICATOR_FIELDS = [
    "indicator_code", "domain_code", "domain_name_vi", "domain_name_en", "level",
    "numerator", "numerator_vi", "numerator_en", "denominator", "denominator_vi", "denominator_en",
    "multiplier", "direction", "unit_vi", "unit_en", "source_sectors_vi", "source_sectors_en",
    "target_2025", "target_2030", "goal_low", "goal_high", "weight", "sensitive",
]
CSV_COLUMNS = ["section"] + COLUMN_FIELDS[:2] + ["indicator_code"] + COLUMN_FIELDS[2:] + INDICATOR_FIELDS[1:]
CSV_TYPES = {
    "multiplier": "float64", "target_2025": "float64", "target_2030": "float64",
    "goal_low": "float64", "goal_high": "float64", "weight": "float64", "sensitive": "boolean",
}

_TYPE_VI = {"string": "văn bản", "int64": "số nguyên", "float64": "số thực", "boolean": "đúng/sai"}
_DIRECTION = {"higher": ("cao hơn là tốt hơn", "higher is better"), "lower": ("thấp hơn là tốt hơn", "lower is better")}
_REFERENCE_SECTOR = ("Danh mục đơn vị hành chính", "Reference administrative units")


def column_dictionary() -> pd.DataFrame:
    """One row per published column of every release table, in contract order."""
    rows = [
        {"table": t.name, "column": c.name, "name_vi": c.name_vi, "name_en": c.name_en, "type": c.type,
         "description": c.description}
        for t in contract.TABLES.values()
        for c in t.columns
    ]
    return pd.DataFrame(rows, columns=COLUMN_FIELDS)


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


def dictionary_frame(methodology) -> pd.DataFrame:
    """The rows of ``dictionary.csv``: columns first, then indicators."""
    cols = column_dictionary().assign(section="column")
    ind = indicator_dictionary(methodology).assign(
        section="indicator", table="indicator_values", column="indicator_code", type="",
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
    from pipelines.publish.files import format_number

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
        "## Định dạng tệp / File formats",
        "",
        "- Mỗi bảng có tệp `.parquet` và `.csv`. / Each table is published as `.parquet` and `.csv`.",
        "- CSV: UTF-8 có BOM (Excel hiển thị đúng tiếng Việt), dấu phẩy ngăn cách cột, dấu chấm thập phân, "
        "không có dấu phân cách hàng nghìn; ô trống là không có số liệu; đúng/sai ghi `true`/`false`. / "
        "CSV: UTF-8 with BOM (Excel shows Vietnamese correctly), comma-separated, decimal point, no thousands "
        "separator; an empty cell is no value; booleans are `true`/`false`.",
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
            L.append(f"| `{c.name}` | {_md(c.name_vi)} | {_md(c.name_en)} | {c.type} ({_TYPE_VI[c.type]}) | "
                     f"{_md(c.description)} |")
        L.append("")

    ind = indicator_dictionary(methodology)
    L += ["## Chỉ số / Indicators", "",
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

    used = {c for i in methodology.indicators for c in i.numerator + i.denominator}
    L += ["## Số liệu đầu vào / Data elements", "",
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

    desc = rule.describe()
    L += ["## Bảo mật số liệu nhạy cảm / Disclosure control of sensitive data", "",
          desc["text_vi"], "", desc["text_en"], "",
          f"Chỉ số áp dụng / indicators concerned: "
          f"{', '.join(f'`{c}`' for c in sorted(sensitive_indicator_codes(methodology))) or '-'}.", ""]
    return "\n".join(L)


def write_dictionary(folder: Path, methodology, rule: DisclosureRule | None = None) -> list[Path]:
    """Write ``dictionary.csv`` and ``dictionary.md`` into ``folder``; returns their paths."""
    folder = Path(folder)
    csv_path, md_path = folder / CSV_NAME, folder / MD_NAME
    write_csv(dictionary_frame(methodology), csv_path, CSV_TYPES)
    write_text(md_path, dictionary_markdown(methodology, rule))
    return [csv_path, md_path]
