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
from pipelines.quality import checks
from pipelines.quality.core import BLOCKING, CheckResult, load_results, record_results
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

    @property
    def passed(self) -> bool:
        return self.summary["passed"]

    def by_code(self, prefix: str) -> list[CheckResult]:
        return [r for r in self.results if r.code.startswith(prefix)]


def _guard(code: str, asset: str, fn: Callable[[], list[CheckResult] | CheckResult]) -> list[CheckResult]:
    """Run one check; a check that cannot run is a blocking failure that says why."""
    try:
        out = fn()
        return out if isinstance(out, list) else [out]
    except duckdb.Error as exc:
        first_line = str(exc).splitlines()[0]
        return [CheckResult(
            code=code, severity=BLOCKING, passed=False, failures=1, asset=asset,
            title_vi="Không chạy được kiểm tra",
            message=f"Kiểm tra không chạy được / the check could not run: {first_line}",
        )]


def run_checks(
    con: duckdb.DuckDBPyConnection, period: str, run_id: str, m: Methodology,
    extra_checks: tuple[ExtraCheck, ...] = (),
) -> tuple[list[CheckResult], pd.DataFrame]:
    results: list[CheckResult] = []
    results += _guard("ingest.data_present", "ingest", lambda: checks.data_present(con, period))
    results += _guard("ingest", "ingest", lambda: checks.ingest_checks(con, period))
    results += _guard("consistency.rules", checks.MARTS_DATA_VALUES, lambda: checks.consistency_rules(con, period, m))
    results += _guard("consistency.numerator_le_denominator", checks.MARTS_INDICATORS,
                      lambda: checks.numerator_le_denominator(con, period, m))
    results += _guard("consistency.plausible_range", checks.MARTS_INDICATORS,
                      lambda: checks.plausible_ranges(con, period, m))
    rates = pd.DataFrame()
    try:
        completeness, rates = checks.completeness(con, period, m)
        results.append(completeness)
    except duckdb.Error as exc:
        results += _guard("completeness.commune_reporting", "ingest", lambda: (_ for _ in ()).throw(exc))
    results += _guard("plausibility.year_on_year", checks.MARTS_INDICATORS,
                      lambda: checks.year_on_year(con, period, previous_period(period), m))
    results += _guard("plausibility.commune_outliers", checks.MARTS_INDICATORS,
                      lambda: checks.commune_outliers(con, period, m))
    results += _guard("output.ranking", checks.MARTS_RANKING, lambda: checks.ranking_output(con, period, m))
    results += _guard("gx", "expectations", lambda: run_expectations(con, period))
    for extra in extra_checks:
        results += _guard(f"extra.{getattr(extra, '__name__', 'check')}", "publish", lambda e=extra: e(con, period, m))
    # dbt tests ran earlier in this run (the transform step recorded them)
    results += load_results(con, run_id, period, prefix="dbt.")
    return results, rates


def evaluate_period(
    con: duckdb.DuckDBPyConnection,
    period: str,
    run_id: str,
    m: Methodology,
    settings: Settings,
    extra_checks: tuple[ExtraCheck, ...] = (),
) -> GateOutcome:
    results, rates = run_checks(con, period, run_id, m, extra_checks)
    waivers = load_waivers(settings.home / "waivers.yaml")
    apply_waivers(results, waivers, period)
    record_results(con, run_id, period, [r for r in results if not r.code.startswith("dbt.")])
    rejected = con.execute(
        "select sector, source_file, row_number, column_name, value, check_code, reason, raw_record "
        "from raw.rejected_rows where period = ? order by sector, source_file, row_number",
        [period],
    ).df()
    folder = settings.reports_period_dir(period)
    summary = write_reports(
        folder, period, run_id, results, rates, rejected, waivers,
        sector_names={s.code: s.name_vi for s in m.sectors},
    )
    return GateOutcome(period=period, run_id=run_id, results=results, summary=summary, rates=rates,
                       waivers=waivers, report_dir=folder)


def gate_decision(con: duckdb.DuckDBPyConnection, run_id: str, period: str) -> tuple[bool, list[str]]:
    """What the publish step reads: may this run publish this period, and if not, why."""
    results = load_results(con, run_id, period)
    if not [r for r in results if not r.code.startswith("dbt.")]:
        return False, [
            "Các kiểm tra chất lượng chưa chạy trong lần chạy này / the quality checks did not run in this run: "
            "materialize the whole period (cri run --period ...) so the checks and the release see the same data"
        ]
    blocking = [f"{r.code}: {r.message}" for r in results if r.blocks]
    return not blocking, blocking
