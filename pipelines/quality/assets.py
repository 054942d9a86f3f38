"""The checks of a period in Dagster, on the assets they guard.

Each family of checks shows on the asset it guards (ingest assets, staging
and mart models), and ``publication_gate`` on the province ranking keeps the
history of the gate's verdicts (with the period it judged). None of them is
blocking: the checks run once, in the ``quality_gate`` step
(``pipelines.quality.gate_asset``), whose ``quality/publication_gate`` asset
is materialized only when the period may be published; the rank robustness
and the release depend on it, and the publish step checks the gate again
itself before it writes anything. This step runs after the gate's step and
shows the outcome it left.
"""

from __future__ import annotations

from collections import defaultdict

import dagster as dg
import pandas as pd

from pipelines.methodology import Methodology
from pipelines.partitions import run_periods
from pipelines.checks.catalogue import load_catalogue
from pipelines.checks.core import CheckResult, plain_words
from pipelines.checks.keys import MARTS_RANKING
from pipelines.quality.checks import quarantine_message
from pipelines.quality.gate import ExtraCheck, GateOutcome, evaluate_period
from pipelines.quality.gate_asset import QUALITY_REPORT_KEY, cached_outcome
from pipelines.resources import MethodologyResource, SettingsResource, WarehouseResource

GATE_ASSET = dg.AssetKey(MARTS_RANKING.split("/"))
GATE_CHECK = "publication_gate"

def periods_of(context) -> list[str]:
    """The run's periods: one, or several in a backfill run (``pipelines.partitions.run_periods``)."""
    return run_periods(context)


def with_period(result: dg.AssetCheckResult, period: str) -> dg.AssetCheckResult:
    """The result with the period it judges in its metadata (the check's history then names each period)."""
    return result._replace(metadata={**result.metadata, "period": dg.MetadataValue.text(period)})


def merge_periods(per_period: dict[str, list[dg.AssetCheckResult]]) -> list[dg.AssetCheckResult]:
    """One result per check for a run over several periods: passed when it passed in every period; the
    metadata of the first period where it failed (or of the last period), and a line per period."""
    if len(per_period) == 1:
        return next(iter(per_period.values()))
    by_check: dict[tuple, list[tuple[str, dg.AssetCheckResult]]] = defaultdict(list)
    for period, results in per_period.items():
        for r in results:
            by_check[(r.asset_key, r.check_name)].append((period, r))
    merged = []
    for (key, name), results in by_check.items():
        failed = [(p, r) for p, r in results if not r.passed]
        _, shown = failed[0] if failed else results[-1]
        merged.append(dg.AssetCheckResult(
            asset_key=key, check_name=name, passed=not failed,
            severity=(dg.AssetCheckSeverity.ERROR
                      if any(r.severity == dg.AssetCheckSeverity.ERROR for _, r in failed) else shown.severity),
            description="; ".join(f"{p}: {'đạt / passed' if r.passed else 'không đạt / failed'}" for p, r in results),
            metadata={**shown.metadata, "periods_failed": dg.MetadataValue.json([p for p, _ in failed]),
                      "periods": dg.MetadataValue.json([p for p, _ in results])},
        ))
    return merged


def _key(asset: str) -> dg.AssetKey:
    return dg.AssetKey(asset.split("/"))


def _family_specs() -> list[tuple[str, str, str]]:
    """(asset, family, description) of every family check, from the check catalogue."""
    return load_catalogue().dagster_families()


def _family_of(r: CheckResult) -> str:
    if r.code.startswith("gx."):
        return "gx_" + r.code.split(".")[1]
    return r.code.split(".")[0]


def _summary_result(key: dg.AssetKey, name: str, results: list[CheckResult], extra: dict | None = None):
    failed = [r for r in results if not r.passed]
    blocks = any(r.blocks for r in results)
    table = pd.DataFrame(
        [(r.code, r.severity, "đạt" if r.passed else ("miễn trừ" if r.waived else "không đạt"), r.failures,
          r.message[:200]) for r in results],
        columns=["check", "severity", "outcome", "failures", "message"],
    )
    examples = {}
    for r in [r for r in failed if r.blocks] + [r for r in failed if not r.blocks]:
        if r.examples:
            examples[f"examples: {r.code}"] = dg.MetadataValue.md(
                pd.DataFrame(r.examples[:10]).to_markdown(index=False))
        if len(examples) == 3:
            break
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=name,
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if blocks else dg.AssetCheckSeverity.WARN,
        metadata={
            "failed": len(failed),
            "blocking_failed": sum(r.blocks for r in results),
            "checks": dg.MetadataValue.md(table.to_markdown(index=False)) if len(table) else "none",
            **examples,
            **(extra or {}),
        },
    )


def build_quality_gate(
    methodology: Methodology, ingest_keys: dict[str, dg.AssetKey], extra_checks: tuple[ExtraCheck, ...] = ()
) -> dg.AssetChecksDefinition:
    """The checks of each family on the asset it guards, after the gate's step (``quality/quality_report``).
    ``extra_checks``: what the gate's step runs (only when this step must evaluate the period itself)."""
    after = [QUALITY_REPORT_KEY]
    specs = [
        dg.AssetCheckSpec(name, asset=key, description=desc, additional_deps=after)
        for sector, key in ingest_keys.items()
        for name, desc in (
            ("rows_valid", f"Các dòng dữ liệu ngành {sector} hợp lệ / every row of the {sector} files is valid"),
            ("completeness", f"Các xã báo cáo đầy đủ ngành {sector} / communes report every mandatory element"),
        )
    ]
    families = _family_specs()
    specs += [dg.AssetCheckSpec(family, asset=_key(asset), description=desc, additional_deps=after)
              for asset, family, desc in families]
    specs.append(dg.AssetCheckSpec(
        GATE_CHECK, asset=GATE_ASSET, additional_deps=after,
        description="Cổng công bố (lịch sử): mọi kiểm tra chặn đều đạt / every blocking check passed (or is waived); "
                    "the decision itself is the asset quality/publication_gate",
    ))

    @dg.multi_asset_check(specs=specs, name="quality_checks")
    def quality_checks(context, settings: SettingsResource, methodology: MethodologyResource,
                       warehouse: WarehouseResource):
        """Kiểm tra chất lượng của kỳ, trên từng tài sản / every quality check of the period, on its asset."""
        per_period = {}
        for period in periods_of(context):
            outcome = cached_outcome(warehouse, period)
            if outcome is None:  # this step alone (e.g. re-executed): the checks of the period run here
                with warehouse.connect() as con:
                    outcome = evaluate_period(con, period, context.run.run_id, methodology.load(), settings.get(),
                                              extra_checks)
            per_period[period] = [with_period(r, period)
                                  for r in results_for_specs(outcome, ingest_keys, families, min_share)]
        yield from merge_periods(per_period)

    min_share = float(methodology.quality.get("min_commune_reporting_share", 0.9))
    return quality_checks


def results_for_specs(outcome: GateOutcome, ingest_keys: dict[str, dg.AssetKey], families, min_share):
    """Map the gate's results onto the Dagster checks (every spec gets exactly one result)."""
    by_family: dict[tuple[str, str], list[CheckResult]] = defaultdict(list)
    for r in outcome.results:
        by_family[(r.asset, _family_of(r))].append(r)
    for sector, key in ingest_keys.items():
        sector_rejects = [
            _sector_view(r, sector, outcome.rejects_by_sector.get((sector, r.code), 0))
            for r in outcome.results if _is_row_check(r)
        ]
        yield _summary_result(key, "rows_valid", sector_rejects)
        rates = outcome.rates[outcome.rates["sector"] == sector] if len(outcome.rates) else outcome.rates
        yield _completeness_result(key, rates, min_share)
    for asset, family, _ in families:
        yield _summary_result(_key(asset), family, by_family.get((asset, family), []))
    blocking = [r for r in outcome.results if r.blocks]
    yield dg.AssetCheckResult(
        asset_key=GATE_ASSET,
        check_name=GATE_CHECK,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=("Đạt: có thể công bố / passed: the period may be published" if outcome.passed else
                     "Không đạt, không công bố / blocked: " + "; ".join(r.code for r in blocking)),
        metadata={
            "period": outcome.period,
            "blocking_failures": dg.MetadataValue.md(
                "\n".join(f"- {plain_words(r)}" for r in blocking) or "none"),
            "checks": len(outcome.results),
            "warnings": outcome.summary["failed_warning"],
            "waived": outcome.summary["waived"],
            "waivers": dg.MetadataValue.json([w.to_dict() for w in outcome.waivers]),
            "report": dg.MetadataValue.path(str(outcome.report_dir / "quality_report.html")),
        },
    )


def _is_row_check(r: CheckResult) -> bool:
    """A check of the rejected rows (ingest.*, and the units.* and workbook.* codes of the same quarantine)."""
    return r.asset == "ingest" and r.code != "ingest.data_present" and not r.code.startswith("completeness.")


def _sector_view(r: CheckResult, sector: str, failures: int) -> CheckResult:
    """One ingest check seen from one sector: that sector's rejects only (counted in the warehouse)."""
    examples = [e for e in r.examples if e.get("sector") == sector]
    message = r.message if failures == r.failures else (quarantine_message(r.code, "sector_failed", n=failures)
                                                        if failures else quarantine_message(r.code, "passed"))
    if failures and examples and failures != r.failures:
        first = examples[0]
        row = (quarantine_message(r.code, "whole_file") if first.get("row_number") is None
               else quarantine_message(r.code, "row", row=first["row_number"]))
        message = quarantine_message(r.code, "sector_first", message=message, file=first.get("source_file"),
                                     row=row, reason=first.get("reason"))
    return CheckResult(code=r.code, severity=r.severity, passed=failures == 0, failures=failures, message=message,
                       asset=r.asset, title_vi=r.title_vi, examples=examples, waived=r.waived)


def _completeness_result(key, rates: pd.DataFrame, min_share: float) -> dg.AssetCheckResult:
    """Reporting rate of one sector: provinces where too few communes reported (blocking, in the gate)."""
    low = rates[rates["received"] < min_share * rates["expected"]] if len(rates) else rates
    total = lambda col: int(rates[col].sum()) if len(rates) else 0  # noqa: E731
    return dg.AssetCheckResult(
        asset_key=key,
        check_name="completeness",
        passed=len(low) == 0 and len(rates) > 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "provinces_below": len(low),
            "min_share": min_share,
            "expected": total("expected"),
            "received": total("received"),
            "complete": total("complete"),
            "on_time": total("on_time"),
        },
    )
