"""The data checks of a period, computed on the warehouse.

Each function takes an open connection, the period and the methodology and
returns ``CheckResult``s. Severities and thresholds come from the methodology
file (``quality`` section); none of these functions writes anything.

Severities, and why:

* ingest (every rejected row or file), consistency (sums, numerator <=
  denominator, plausible ranges) and output (contract, proper ranks, every
  province) are **blocking**: each means a published number could be wrong;
* completeness is **blocking** (waivable like any other check): a province
  whose communes report a mandatory data element for less than
  ``min_commune_reporting_share`` of them would be published without the
  indicator (the dbt models leave it empty) or not ranked, so a period is
  published that way only when an operator signs a waiver; a sector that sent
  nothing blocks too (``pipelines.quality.guards``);
* plausibility (year-on-year change, commune outliers) is a **warning**: an
  unusual value may be true; an operator reads it in the report.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipelines.methodology import Methodology
from pipelines.reporting_calendar import deadline
from pipelines.checks.catalogue import catalogue_result, load_catalogue, message
from pipelines.checks.core import BLOCKING, WARNING, CheckResult, examples_from, result_from_failures
from pipelines.checks.keys import MARTS_DATA_VALUES, MARTS_INDICATORS, MARTS_RANKING
from pipelines.registries.checks import registry_counts

def _df(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


# Where a rejected row is: the columns an operator reads first in an example.
LOCATION_COLUMNS = ["province_code", "province_name", "unit_code", "unit_name"]
REJECT_COLUMNS = ["sector", "source_file", "row_number", "column_name", "value", "reason"]
UNKNOWN_UNIT = "?"  # a failing unit that cannot be named (a waiver naming one unit never covers it)


def _ingest_titles() -> dict[str, tuple[str, str]]:
    """Every check code of the quarantine (ingest.*, units.*, workbook.*, landing.*) -> (Vietnamese title,
    severity), from the check catalogue."""
    entries = load_catalogue().of_family("ingest")
    return {e.code: (e.title_vi, e.severity) for e in entries if e.code != "ingest.data_present"}


def _norm_header(name: str) -> str:
    return unicodedata.normalize("NFC", name.replace("\ufeff", "")).strip().lower()


def _unit_column_reader(path: Path, sha256: str | None):
    """For one landing file: a function raw record -> unit code as written (None when it cannot be read)."""
    from pipelines.ingest.decode import decode_bytes

    try:
        data = path.read_bytes()
    except OSError:
        return None
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        return None  # the file changed since it was loaded: its header may not be the one of the record
    text = decode_bytes(data).text
    if not text:
        return None
    first = text.split("\n", 1)[0].split("\r", 1)[0]
    for delimiter in (",", ";", "\t"):
        header = [_norm_header(h) for h in next(csv.reader([first], delimiter=delimiter), [])]
        if "unit_code" in header:
            at = header.index("unit_code")

            def read(raw: str, d: str = delimiter, i: int = at) -> str | None:
                try:
                    cells = next(csv.reader(io.StringIO(raw, newline=""), delimiter=d), [])
                except csv.Error:
                    return None
                return cells[i].strip() if i < len(cells) else None

            return read
    return None


def _known_unit(code: str | None, units: dict[str, tuple]) -> str | None:
    """The unit a code names as written, or once its lost leading zeros are put back (when only one unit fits)."""
    if not code:
        return None
    code = unicodedata.normalize("NFC", code).strip()
    if code in units:
        return code
    if code.isdigit() and not code.startswith("0") and len(code) < 5:
        fits = [c for c in {code.zfill(5), code.zfill(2)} if c in units]
        return fits[0] if len(fits) == 1 else None
    return None


def locate_rejects(rejects: pd.DataFrame, units: pd.DataFrame, landing_dir: Path | None) -> pd.DataFrame:
    """Province and commune of each rejected row, read from the row as it arrived (empty when unknown).

    ``raw.rejected_rows`` keeps the record as it arrived, not its parsed cells;
    the landing file's header (when the file is still the one that was loaded)
    says which cell is the unit code. Whole-file rejects concern no unit.
    """
    empty = [None] * len(rejects)
    if rejects.empty or units.empty or landing_dir is None:
        return pd.DataFrame({c: pd.Series(empty, index=rejects.index, dtype=object) for c in LOCATION_COLUMNS})
    by_code = {u.unit_code: (u.unit_level, u.unit_name, u.province_code)
               for u in units.itertuples(index=False)}
    readers: dict[str, object] = {}
    located: list[tuple] = []
    for source, sha, row, raw in zip(rejects["source_file"], rejects["file_sha256"], rejects["row_number"],
                                     rejects["raw_record"], strict=True):
        unit = None
        if not pd.isna(row) and isinstance(raw, str):
            if source not in readers:
                readers[source] = _unit_column_reader(Path(landing_dir) / source, sha if isinstance(sha, str) else None)
            reader = readers[source]
            unit = _known_unit(reader(raw) if reader else None, by_code)
        if unit is None:
            located.append((None, None, None, None))
        else:
            _level, name, province = by_code[unit]
            located.append((province, by_code.get(province, (None, None))[1], unit, name))
    return pd.DataFrame(located, index=rejects.index, columns=LOCATION_COLUMNS, dtype=object)


def _where(row: pd.Series) -> str:
    """'tệp/file X, dòng/row N, cột/column C (commune, province)' of one reject, in plain words (the words of
    the check catalogue's ``quarantine`` templates)."""
    code = row["check_code"]
    parts = [quarantine_message(code, "file", file=row["source_file"])]
    if pd.isna(row.get("row_number")):
        parts.append(quarantine_message(code, "whole_file"))
    else:
        parts.append(quarantine_message(code, "row", row=int(row["row_number"])))
    if isinstance(row.get("column_name"), str) and row["column_name"]:
        parts.append(quarantine_message(code, "column", column=row["column_name"]))
    where = ", ".join(parts)
    names = [n for n in (row.get("unit_name"), row.get("province_name")) if isinstance(n, str) and n]
    if names and row.get("unit_code") != row.get("province_code"):
        where += f" ({', '.join(names)})"
    elif names:
        where += f" ({names[-1]})"
    return where


def ingest_checks(
    con: duckdb.DuckDBPyConnection, period: str, sectors: list[str] | None = None, landing_dir: Path | None = None,
) -> list[CheckResult]:
    """One result per quarantine code: the rows (or whole files) rejected for this period.

    Every quarantine code of the check catalogue (ingest.*, and the units.* and workbook.*
    codes that reject rows into the same ``raw.rejected_rows``) and of the
    parser gets a result, passed or not; a code found in the quarantine but
    declared nowhere blocks.

    The message names the first rejected file, row and column in plain words;
    the examples name province and commune when the row gives a known unit
    code (``landing_dir``: where the landing files are, to read their header).
    """
    rejects = _df(
        con,
        "select sector, source_file, file_sha256, row_number, column_name, value, check_code, reason, raw_record "
        "from raw.rejected_rows where period = ? order by source_file, row_number nulls first",
        [period],
    )
    if sectors is not None:
        rejects = rejects[rejects["sector"].isin(sectors)]
    try:
        units = _df(con, "select unit_code, unit_level, unit_name, province_code from ref.admin_units")
    except duckdb.Error:
        units = pd.DataFrame(columns=["unit_code", "unit_level", "unit_name", "province_code"])
    rejects = pd.concat([locate_rejects(rejects, units, landing_dir), rejects], axis=1)
    titles = _ingest_titles()
    codes = list(titles) + sorted(set(rejects["check_code"]) - set(titles))
    results = []
    for code in codes:
        title, severity = titles.get(code, (code, BLOCKING))
        failures = rejects[rejects["check_code"] == code]
        result = result_from_failures(
            code, severity, failures[LOCATION_COLUMNS + REJECT_COLUMNS],
            ok_message=quarantine_message(code, "passed"),
            fail_message="",
            asset="ingest", title_vi=title, unit_column=None,
        )
        if len(failures):
            first = failures.iloc[0]
            result.message = quarantine_message(code, "failed", n=len(failures),
                                                 files=failures["source_file"].nunique(),
                                                 where=_where(first), reason=first["reason"])
            result.failing_units = sorted({u if isinstance(u, str) else UNKNOWN_UNIT for u in failures["unit_code"]})
        results.append(result)
    return results


def quarantine_message(code: str, name: str, **values) -> str:
    """A message of a quarantine code; a code the catalogue does not hold says it in the words of them all."""
    return message(code if load_catalogue().find(code) else "ingest.file_encoding", name, **values)


def consistency_rules(con: duckdb.DuckDBPyConnection, period: str, m: Methodology) -> list[CheckResult]:
    """Sums declared in the methodology (children by age, communes against province)."""
    results = []
    for rule in m.consistency_rules:
        parts = rule["parts"]
        placeholders = ", ".join("?" for _ in parts)
        failures = _df(
            con,
            f"""
            with v as (
                select unit_code, province_code, data_element, value
                from marts.fct_data_values where period = ? and unit_level = ?
            ),
            totals as (select unit_code, province_code, value as total from v where data_element = ?),
            parts as (
                select unit_code, sum(value) as parts_sum, count(*) as parts_reported
                from v where data_element in ({placeholders}) group by unit_code
            )
            select t.province_code, t.unit_code, u.unit_name, t.total, p.parts_sum
            from totals t
            join parts p using (unit_code)
            left join ref.admin_units u using (unit_code)
            where abs(p.parts_sum - t.total) > ? * greatest(t.total, 1)
            order by abs(p.parts_sum - t.total) desc
            """,
            [period, rule["level"], rule["total"], *parts, float(rule["tolerance_share"])],
        )
        results.append(catalogue_result(
            f"consistency.{rule['code']}", failures, severity=BLOCKING, asset=MARTS_DATA_VALUES,
            title_vi=rule["name_vi"], name_en=rule["name_en"], name_vi=rule["name_vi"], parts=" + ".join(parts),
            total=rule["total"], tolerance=rule["tolerance_share"],
        ))
    return results


COUNT_KINDS = frozenset({"count", "yes_no", "unit_count"})


def proportion_indicators(m: Methodology) -> list[str]:
    """Indicators whose numerator counts a part of what the denominator counts: percentages of counts.

    These are the indicators for which numerator <= denominator is a law, at
    every unit: children immunised among the children under 1, communes with a
    play area among the communes, and so on (unit ``%``, every term a count).
    Rates per 1,000 or 100,000 (under-5 deaths per live birth, cases per
    100,000 children) and amounts per child are not bounded by their
    denominator; their plausible ranges (``consistency.plausible_range``)
    bound them instead. This is the only implementation of the rule (see the
    check catalogue); it names every unit.
    """
    return [
        i.code for i in m.indicators
        if i.unit_en.strip() == "%" and all(m.elements_by_code[t].kind in COUNT_KINDS for t in i.numerator + i.denominator)
    ]


def numerator_le_denominator(con: duckdb.DuckDBPyConnection, period: str, m: Methodology) -> CheckResult:
    """For every percentage indicator, at every unit (communes and provinces), numerator <= denominator."""
    codes = proportion_indicators(m)
    placeholders = ", ".join("?" for _ in codes) or "''"
    failures = _df(
        con,
        f"""
        select v.unit_level, v.province_code, v.unit_code, v.unit_name, v.indicator_code, v.numerator, v.denominator
        from marts.fct_indicator_values v
        where v.period = ? and v.indicator_code in ({placeholders}) and v.numerator > v.denominator
        order by v.unit_level desc, v.province_code, v.unit_code, v.indicator_code
        """,
        [period, *codes],
    )
    return catalogue_result(
        "consistency.numerator_le_denominator", failures, severity=BLOCKING,
        asset=MARTS_INDICATORS, title_vi="Tử số không vượt quá mẫu số", indicators=len(codes),
    )


def plausible_ranges(con: duckdb.DuckDBPyConnection, period: str, m: Methodology) -> CheckResult:
    ranges = pd.DataFrame(
        [(i.code, i.plausible_min, i.plausible_max) for i in m.indicators
         if i.plausible_min is not None or i.plausible_max is not None],
        columns=["indicator_code", "plausible_min", "plausible_max"],
    )
    con.register("_ranges", ranges)
    try:
        failures = _df(
            con,
            """
            select v.unit_level, v.province_code, v.unit_code, v.unit_name, v.indicator_code, v.value,
                   r.plausible_min, r.plausible_max
            from marts.fct_indicator_values v join _ranges r using (indicator_code)
            where v.period = ? and v.value is not null
              and (v.value < coalesce(r.plausible_min, v.value) or v.value > coalesce(r.plausible_max, v.value))
            order by v.unit_level desc, v.province_code, v.unit_code
            """,
            [period],
        )
    finally:
        con.unregister("_ranges")
    return catalogue_result(
        "consistency.plausible_range", failures, severity=BLOCKING,
        asset=MARTS_INDICATORS, title_vi="Giá trị trong khoảng hợp lý",
    )


def reporting_rates(con: duckdb.DuckDBPyConnection, period: str, m: Methodology) -> pd.DataFrame:
    """DHIS2-style reporting rates per province and sector.

    One report = one unit (commune, or the province itself for province-level
    elements) of the sector. ``expected``: units that should report the
    sector's mandatory elements; ``received``: units with at least one of them
    loaded; ``complete``: units with all of them; ``on_time``: received by the
    end of the deadline day (file modification time); ``reporting_rate`` and
    ``on_time_rate``: received and on time as a percentage of expected.
    """
    elements = pd.DataFrame(
        [(e.code, e.sector, e.level) for e in m.data_elements if e.mandatory and e.kind != "unit_count"],
        columns=["data_element", "sector", "level"],
    )
    con.register("_elements", elements)
    try:
        return _df(
            con,
            """
            with units as (
                select unit_code, unit_level, province_code from ref.admin_units
            ),
            expected as (
                select u.province_code, e.sector, u.unit_code, count(*) as n_elements
                from units u join _elements e on e.level = u.unit_level
                group by all
            ),
            received_rows as (
                select d.unit_code, d.sector, d.data_element, max(f.received_at) as received_at
                from raw.data_values d
                left join raw.ingest_files f
                  on f.period = d.period and f.source_file = d.source_file
                where d.period = ? and d.disaggregation = ''
                group by all
            ),
            per_unit as (
                select x.province_code, x.sector, x.unit_code, x.n_elements,
                       count(r.data_element) as n_received,
                       max(r.received_at) as received_at
                from expected x
                left join received_rows r
                  on r.unit_code = x.unit_code and r.sector = x.sector
                 and r.data_element in (select data_element from _elements e where e.sector = x.sector)
                group by all
            ),
            counts as (
                select p.province_code, a.unit_name as province_name, p.sector,
                       count(*) as expected,
                       count(*) filter (where n_received > 0) as received,
                       count(*) filter (where n_received = n_elements) as complete,
                       count(*) filter (where n_received > 0 and received_at < cast(? as timestamp) + interval 1 day)
                           as on_time
                from per_unit p join ref.admin_units a on a.unit_code = p.province_code
                group by all
            )
            select *,
                   round(100.0 * received / expected, 1) as reporting_rate,
                   round(100.0 * on_time / expected, 1) as on_time_rate
            from counts
            order by province_code, sector
            """,
            [period, deadline(period)],
        )
    finally:
        con.unregister("_elements")


def completeness(con: duckdb.DuckDBPyConnection, period: str, m: Methodology) -> tuple[CheckResult, pd.DataFrame]:
    """Each province reports each mandatory data element for enough of its communes."""
    share = float(m.quality.get("min_commune_reporting_share", 0.9))
    elements = pd.DataFrame(
        [(e.code, e.sector, e.level) for e in m.data_elements if e.mandatory and e.kind != "unit_count"],
        columns=["data_element", "sector", "level"],
    )
    con.register("_elements", elements)
    try:
        failures = _df(
            con,
            f"""
            with reported as (
                select distinct unit_code, data_element from raw.data_values where period = ? and disaggregation = ''
                {registry_counts(con, period)}
            ),
            grid as (
                select u.province_code, e.sector, e.data_element,
                       count(*) as expected, count(r.unit_code) as received
                from ref.admin_units u
                join _elements e on e.level = u.unit_level
                left join reported r on r.unit_code = u.unit_code and r.data_element = e.data_element
                group by all
            )
            select g.province_code, a.unit_name as province_name, g.sector, g.data_element,
                   g.received, g.expected, round(g.received / g.expected, 3) as share
            from grid g join ref.admin_units a on a.unit_code = g.province_code
            where g.received < ? * g.expected
            order by g.province_code, g.sector, g.data_element
            """,
            [period, share],
        )
    finally:
        con.unregister("_elements")
    provinces = failures["province_code"].nunique() if len(failures) else 0
    result = catalogue_result(
        "completeness.commune_reporting", failures, severity=BLOCKING,
        asset="ingest", title_vi="Đầy đủ báo cáo theo tỉnh", unit_column="province_code",
        share=share, provinces=provinces,
    )
    return result, reporting_rates(con, period, m)


def year_on_year(con: duckdb.DuckDBPyConnection, period: str, previous: str, m: Methodology) -> CheckResult:
    limit = float(m.quality.get("max_year_on_year_change_share", 0.5))
    failures = _df(
        con,
        """
        select c.province_code, c.unit_name as province_name, c.indicator_code,
               p.value as previous_value, c.value,
               round((c.value - p.value) / abs(p.value), 3) as change_share
        from marts.fct_indicator_values c
        join marts.fct_indicator_values p
          on p.unit_level = 'province' and p.unit_code = c.unit_code
         and p.indicator_code = c.indicator_code and p.period = ?
        where c.period = ? and c.unit_level = 'province' and p.value <> 0
          and abs(c.value - p.value) / abs(p.value) > ?
        order by abs(c.value - p.value) / abs(p.value) desc, c.province_code, c.indicator_code
        """,
        [previous, period, limit],
    )
    return catalogue_result(
        "plausibility.year_on_year", failures, severity=WARNING,
        asset=MARTS_INDICATORS, title_vi="Biến động bất thường so với kỳ trước", unit_column="province_code",
        limit=limit, previous=previous,
    )


def commune_outliers(con: duckdb.DuckDBPyConnection, period: str, m: Methodology) -> CheckResult:
    """Modified z-score (Iglewicz-Hoaglin) of commune values within their province."""
    threshold = float(m.quality.get("outlier_modified_z", 3.5))
    df = _df(
        con,
        "select province_code, unit_code, unit_name, indicator_code, value from marts.fct_indicator_values "
        "where period = ? and unit_level = 'commune' and value is not null "
        "order by province_code, unit_code, indicator_code",
        [period],
    )
    if df.empty:
        flagged = df.assign(modified_z=pd.Series(dtype=float))
    else:
        grouped = df.groupby(["province_code", "indicator_code"])["value"]
        median = grouped.transform("median")
        mad = (df["value"] - median).abs().groupby([df["province_code"], df["indicator_code"]]).transform("median")
        with np.errstate(divide="ignore", invalid="ignore"):
            z = 0.6745 * (df["value"] - median) / mad
        df = df.assign(modified_z=z.round(2))
        flagged = df[(mad > 0) & (z.abs() > threshold)].sort_values(
            "modified_z", key=abs, ascending=False, kind="stable")  # ties keep the query's order: the same each run
    return catalogue_result(
        "plausibility.commune_outliers", flagged, severity=WARNING,
        asset=MARTS_INDICATORS, title_vi="Giá trị cấp xã bất thường", threshold=threshold,
    )


def ranking_output(con: duckdb.DuckDBPyConnection, period: str, m: Methodology) -> list[CheckResult]:
    """Every province is in the ranking, and the ranks form a proper ranking."""
    decimals = int(m.method.get("rank_decimals", 2))
    missing = _df(
        con,
        """
        select a.unit_code as province_code, a.unit_name as province_name
        from ref.admin_units a
        where a.unit_level = 'province'
          and a.unit_code not in (select province_code from marts.fct_province_ranking where period = ?)
        """,
        [period],
    )
    wrong = _df(
        con,
        f"""
        with r as (select * from marts.fct_province_ranking where period = ?),
        expected as (
            select province_code,
                   1 + (select count(*) from r r2
                        where r2.rank is not null and round(r2.pcri, {decimals}) > round(r.pcri, {decimals}))
                       as expected_rank
            from r where rank is not null
        )
        select r.province_code, r.province_name, r.pcri, r.rank, e.expected_rank, r.tier, r.not_ranked_reason
        from r left join expected e using (province_code)
        where (r.rank is not null and (r.rank <> e.expected_rank or r.tier is null or r.pcri is null))
           or (r.rank is null and coalesce(r.not_ranked_reason, '') = '')
        """,
        [period],
    )
    return [
        catalogue_result(
            "output.all_provinces", missing, severity=BLOCKING,
            asset=MARTS_RANKING, title_vi="Đủ 34 tỉnh trong bảng xếp hạng", unit_column="province_code",
        ),
        catalogue_result(
            "output.ranking_valid", wrong, severity=BLOCKING,
            asset=MARTS_RANKING, title_vi="Thứ hạng hợp lệ", unit_column="province_code",
        ),
    ]


def data_present(con: duckdb.DuckDBPyConnection, period: str) -> CheckResult:
    n = con.execute("select count(*) from raw.data_values where period = ?", [period]).fetchone()[0]
    failures = pd.DataFrame({"period": [period]}) if n == 0 else pd.DataFrame({"period": []})
    return catalogue_result(
        "ingest.data_present", failures, severity=BLOCKING,
        asset="ingest", title_vi="Có dữ liệu cho kỳ báo cáo", unit_column=None, values=n, period=period,
    )


_SAFE = re.compile(r"[^a-z0-9_]+")


def check_name(code: str) -> str:
    """A Dagster-safe check name for a check code (``ingest.unknown_unit`` -> ``ingest__unknown_unit``)."""
    return _SAFE.sub("_", code.lower().replace(".", "__"))


__all__ = [
    "ingest_checks", "locate_rejects", "consistency_rules", "proportion_indicators",
    "numerator_le_denominator", "plausible_ranges",
    "completeness", "reporting_rates", "year_on_year", "commune_outliers", "ranking_output", "data_present",
    "check_name", "deadline", "examples_from",
]
