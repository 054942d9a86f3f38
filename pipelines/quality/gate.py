"""The publication gate: evaluate every check of a period, once, in one place.

``evaluate_period`` runs the ingest, consistency, completeness, plausibility,
Great Expectations and output checks, adds the dbt test outcomes recorded
earlier in the same run, applies waivers, records everything in
``quality.check_results`` and writes the reports. The period may be published
only when no blocking check failed (or every such failure is waived).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.methodology import Methodology
from pipelines.partitions import previous_period
from pipelines.sensitive import sensitive_indicator_codes
from pipelines.quality import checks, guards
from pipelines.checks.catalogue import stamp
from pipelines.checks.core import BLOCKING, CheckResult, load_results, plain_words, record_results
from pipelines.quality.expectations import run_all as run_expectations
from pipelines.quality.report import write_reports
from pipelines.quality.waivers import Waiver, apply_waivers, load_waivers
from pipelines.settings import Settings

# Extra checks other stages register (e.g. the release contract); each returns results.
ExtraCheck = Callable[[duckdb.DuckDBPyConnection, str, Methodology], list[CheckResult]]


@dataclass
class GateOutcome:
    period: str
    run_id: str
    results: list[CheckResult]
    summary: dict
    rates: pd.DataFrame
    waivers: list[Waiver] = field(default_factory=list)
    report_dir: Path | None = None
    # (sector, ingest check code) -> rejected rows or files: each sector's own share of the ingest failures
    rejects_by_sector: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.summary["passed"]

    def by_code(self, prefix: str) -> list[CheckResult]:
        return [r for r in self.results if r.code.startswith(prefix)]


def _guard(code: str, asset: str, fn: Callable[[], list[CheckResult] | CheckResult]) -> list[CheckResult]:
    """Run one check; a check that cannot run is a blocking failure that says why (never a silent pass)."""
    try:
        out = fn()
        return out if isinstance(out, list) else [out]
    except Exception as exc:  # noqa: BLE001 - any failure of a check must block, and be reported, not crash the gate
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
        return [CheckResult(
            code=code, severity=BLOCKING, passed=False, failures=1, asset=asset,
            title_vi="Không chạy được kiểm tra",
            message=f"Kiểm tra không chạy được / the check could not run: {type(exc).__name__}: {first_line}",
        )]


def run_checks(
    con: duckdb.DuckDBPyConnection, period: str, run_id: str, m: Methodology,
    extra_checks: tuple[ExtraCheck, ...] = (), landing_dir: Path | None = None,
) -> tuple[list[CheckResult], pd.DataFrame]:
    results: list[CheckResult] = []
    results += _guard("ingest.data_present", "ingest", lambda: checks.data_present(con, period))
    results += _guard("completeness.sector_files", "ingest", lambda: guards.sector_files(con, period, m))
    results += _guard("consistency.value_bounds", checks.MARTS_DATA_VALUES, lambda: guards.value_bounds(con, period, m))
    results += _guard("ingest", "ingest", lambda: checks.ingest_checks(con, period, landing_dir=landing_dir))
    results += _guard("consistency.rules", checks.MARTS_DATA_VALUES, lambda: checks.consistency_rules(con, period, m))
    results += _guard("consistency.numerator_le_denominator", checks.MARTS_INDICATORS,
                      lambda: checks.numerator_le_denominator(con, period, m))
    results += _guard("consistency.plausible_range", checks.MARTS_INDICATORS,
                      lambda: checks.plausible_ranges(con, period, m))
    rates = pd.DataFrame()
    try:
        completeness, rates = checks.completeness(con, period, m)
        results.append(completeness)
    except Exception as exc:  # noqa: BLE001
        results += _guard("completeness.commune_reporting", "ingest", lambda e=exc: _raise(e))
    results += _guard("plausibility.year_on_year", checks.MARTS_INDICATORS,
                      lambda: checks.year_on_year(con, period, previous_period(period), m))
    results += _guard("plausibility.commune_outliers", checks.MARTS_INDICATORS,
                      lambda: checks.commune_outliers(con, period, m))
    results += _guard("output.ranking", checks.MARTS_RANKING, lambda: checks.ranking_output(con, period, m))
    results += _guard("output.enough_ranked", checks.MARTS_RANKING, lambda: guards.enough_ranked(con, period))
    results += _guard("gx", "expectations", lambda: run_expectations(con, period))
    for extra in extra_checks:
        results += _guard(f"extra.{getattr(extra, '__name__', 'check')}", "publish", lambda e=extra: e(con, period, m))
    # dbt tests ran earlier in this run (the transform step recorded them); waivers are applied afresh
    for r in load_results(con, run_id, period, prefix="dbt."):
        r.waived, r.waiver = False, None
        results.append(r)
    stamp(results)  # severities (and titles a check left out) come from the check catalogue
    name_units(con, results)
    return results, rates


def _raise(exc: Exception):
    raise exc


def name_units(con: duckdb.DuckDBPyConnection, results: list[CheckResult]) -> None:
    """Put province and commune names (and codes) first in every example that names a unit (in place)."""
    try:
        rows = con.execute(
            "select unit_code, unit_level, unit_name, province_code from ref.admin_units"
        ).fetchall()
    except duckdb.Error:
        return
    units = {code: (level, name, province) for code, level, name, province in rows}
    first = ["province_code", "province_name", "unit_code", "unit_name"]
    for r in results:
        named = []
        for ex in r.examples:
            ex = dict(ex)
            unit = units.get(str(ex.get("unit_code"))) if ex.get("unit_code") is not None else None
            if unit is not None:
                ex.setdefault("unit_name", unit[1])
                if ex.get("province_code") is None:
                    ex["province_code"] = unit[2]
            province = units.get(str(ex.get("province_code"))) if ex.get("province_code") is not None else None
            if province is not None and ex.get("province_name") is None:
                ex["province_name"] = province[1]
            ex = {**{k: ex[k] for k in first if k in ex}, **{k: v for k, v in ex.items() if k not in first}}
            named.append(ex)
        r.examples = named
        located = named and any(k in named[0] for k in ("unit_code", "province_code"))
        if not r.passed and located and FIRST not in r.message:
            r.message = f"{r.message.rstrip('. ')}. {FIRST}: {describe_example(named[0])}"


FIRST = "Đầu tiên / first"


def describe_example(ex: dict) -> str:
    """'Phường Ba Đình (00004), Thành phố Hà Nội: indicator_code H2, numerator 646, ...' in plain words."""
    where = []
    if ex.get("unit_code") is not None and ex.get("unit_code") != ex.get("province_code"):
        where.append(f"{ex.get('unit_name') or ''} ({ex['unit_code']})".strip())
    if ex.get("province_code") is not None:
        where.append(f"{ex.get('province_name') or ''} ({ex['province_code']})".strip())
    rest = ", ".join(f"{k} {v}" for k, v in ex.items()
                     if k not in ("province_code", "province_name", "unit_code", "unit_name") and v is not None)
    return f"{', '.join(where)}: {rest}" if where else rest


def evaluate_period(
    con: duckdb.DuckDBPyConnection,
    period: str,
    run_id: str,
    m: Methodology,
    settings: Settings,
    extra_checks: tuple[ExtraCheck, ...] = (),
) -> GateOutcome:
    results, rates = run_checks(con, period, run_id, m, extra_checks, landing_dir=settings.landing_dir)
    waivers = load_waivers(settings.home / "waivers.yaml")
    apply_waivers(results, waivers, period)
    # every result, the dbt tests' too: a waiver applied to a dbt test must be what the publish step reads
    record_results(con, run_id, period, results)
    rejected = con.execute(
        "select sector, source_file, row_number, column_name, value, check_code, reason, raw_record "
        "from raw.rejected_rows where period = ? order by sector, source_file, row_number",
        [period],
    ).df()
    folder = settings.reports_period_dir(period)
    summary = write_reports(
        folder, period, run_id, results, rates, rejected, waivers,
        sector_names={s.code: s.name_vi for s in m.sectors},
        min_share=float(m.quality.get("min_commune_reporting_share", 0.9)), methodology=m,
        sensitive=_sensitive_codes(m),
    )
    by_sector = {(sector, code): int(n) for sector, code, n in con.execute(
        "select sector, check_code, count(*) from raw.rejected_rows where period = ? group by all", [period]
    ).fetchall()}
    return GateOutcome(period=period, run_id=run_id, results=results, summary=summary, rates=rates,
                       waivers=waivers, report_dir=folder, rejects_by_sector=by_sector)


def gate_decision(con: duckdb.DuckDBPyConnection, run_id: str, period: str) -> tuple[bool, list[str]]:
    """What the publish step reads: may this run publish this period, and if not, why."""
    results = load_results(con, run_id, period)
    if not [r for r in results if not r.code.startswith("dbt.")]:
        return False, [
            "Các kiểm tra chất lượng chưa chạy trong lần chạy này / the quality checks did not run in this run: "
            "materialize the whole period (cri run --period ...) so the checks and the release see the same data"
        ]
    blocking = [plain_words(r) for r in results if r.blocks]
    return not blocking, blocking


def _sensitive_codes(m: Methodology) -> set[str]:
    """Sensitive data elements and the indicators whose numerator holds one (their commune figures are hidden)."""
    return sensitive_indicator_codes(m) | {e.code for e in m.data_elements if e.sensitive}
