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
from pipelines.templating import render

TEMPLATES = Path(__file__).with_name("templates")
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
    """``dictionary.md``: the words are in ``templates/dictionary.md``; this prepares what it shows."""
    rule = rule or DisclosureRule.from_methodology(methodology)
    ind = indicator_dictionary(methodology)
    used = {c for i in methodology.indicators for c in i.numerator + i.denominator}
    assessment = getattr(methodology, "commune_assessment", None)
    if assessment is not None:
        used |= set(assessment.elements)
    return render(
        TEMPLATES, "dictionary.md", m=methodology, contract_version=contract.CONTRACT_VERSION,
        tables=list(contract.TABLES.values()), series_tables=list(SERIES_TABLES.values()), decimals=decimals,
        indicators={d.code: list(ind[ind["domain_code"] == d.code].itertuples()) for d in methodology.domains},
        a=assessment, criteria=list(criteria_dictionary(methodology).itertuples(index=False)),
        elements=[e for e in methodology.data_elements if e.code in used],
        sectors={s.code: s for s in methodology.sectors}, disclosure=rule.describe(),
        sensitive=sorted(sensitive_indicator_codes(methodology)),
        md=_md, num=_num, TYPE_VI=_TYPE_VI, DIRECTION=_DIRECTION, REFERENCE_SECTOR=_REFERENCE_SECTOR,
    )


def write_dictionary(folder: Path, methodology, rule: DisclosureRule | None = None) -> list[Path]:
    """Write ``dictionary.csv`` and ``dictionary.md`` into ``folder``; returns their paths."""
    folder = Path(folder)
    csv_path, md_path = folder / CSV_NAME, folder / MD_NAME
    write_csv(dictionary_frame(methodology), csv_path, CSV_TYPES)
    write_text(md_path, dictionary_markdown(methodology, rule))
    return [csv_path, md_path]
