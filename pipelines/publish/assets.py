"""The publish step: a release of the period, only when the gate passed.

Dagster skips this step when the ``quality/publication_gate`` asset was not
materialized in the same run (a blocking check failed: the run ends as a
success, the gate's page says why); the step also reads the gate's decision
itself before it writes anything, so no path (a partial selection in the UI,
a rerun) can publish data that did not pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from pipelines.units.provenance import rebase_note
from pipelines.methodology import Methodology
from pipelines.ops.progress import say
from pipelines.partitions import period_partitions, previous_period, run_metadata, run_periods, single_run
from pipelines.publish import contract
from pipelines.publish.series import history_writer
from pipelines.publish.history import HistoryError
from pipelines.publish.published import PUBLISHED_TABLES
from pipelines.publish.release import ReleaseError, ReleaseTables, build_release_tables, publish_period
from pipelines.publish.report import write_report_html, write_report_pdf
from pipelines.robustness.assets import ROBUSTNESS_KEY, copy_analysis, read_analysis
from pipelines.checks.catalogue import message
from pipelines.checks.core import BLOCKING, CheckResult, load_results
from pipelines.checks.keys import MARTS_RANKING, PUBLICATION_GATE
from pipelines.quality.gate import gate_decision
from pipelines.resources import MethodologyResource, SettingsResource, WarehouseResource
from pipelines.settings import Settings, get_settings

PUBLISH_GROUP = "publish"
RELEASE_KEY = dg.AssetKey(["publish", "release"])
UPSTREAM = [
    dg.AssetKey(MARTS_RANKING.split("/")),
    dg.AssetKey(["marts", "fct_domain_scores"]),
    dg.AssetKey(["marts", "fct_indicator_values"]),
    dg.AssetKey(["marts", "dim_indicator"]),
    dg.AssetKey(["marts", "fct_commune_assessment"]),
    dg.AssetKey(["marts", "fct_commune_ranking"]),
]

def _step_resources() -> tuple[dict | None, Settings]:
    """Inside a step: the run's cache (on the warehouse resource) and the run's settings; outside: none, and the
    settings of the environment."""
    try:
        resources = dg.OpExecutionContext.get().resources
    except dg.DagsterInvariantViolationError:  # outside a Dagster step: nothing to share
        return None, get_settings()
    warehouse, settings = getattr(resources, "warehouse", None), getattr(resources, "settings", None)
    return (warehouse.run_cache() if warehouse is not None else None,
            settings.get() if settings is not None else get_settings())


def _built_key(period: str, m: Methodology) -> tuple:
    """The release tables of a period as the gate's contract check built them, in the run's cache."""
    return "release_tables", period, m.sha256


def release_contract_check(con: duckdb.DuckDBPyConnection, period: str, m: Methodology) -> list[CheckResult]:
    """The release tables of the period match the published contract (names, order, types), protected."""
    cache, settings = _step_resources()
    try:
        # protected as they will be published (disclosure audit over every earlier version of the period): a
        # release that cannot be protected blocks here; the audit of the written files at publication takes each
        # province whose files say exactly what was audited here from this audit (protection.memo)
        from pipelines.publish.disclosure_audit import earlier_versions

        built = build_release_tables(con, period, m,
                                     earlier=earlier_versions(settings.publish_dir / period))
        problems = [message("output.contract", "problem", table=name, problem=p)
                    for name, df in built.tables.items() for p in contract.problems(name, df)]
    except (ReleaseError, contract.ContractError) as exc:
        problems = [str(exc)]
    if cache is not None and not problems:  # kept for the publish step of the same run: built once a run
        cache[_built_key(period, m)] = built
    return [CheckResult(
        code="output.contract", severity=BLOCKING, passed=not problems, failures=len(problems),
        message=message("output.contract", "failed" if problems else "passed", problems="; ".join(problems[:5])),
        asset=MARTS_RANKING, title_vi="Đúng cấu trúc bảng công bố",
        examples=[{"problem": p} for p in problems[:20]],
    )]


def _extra_writers(period: str, m: Methodology, quality: dict, run_id: str, units_note: str | None = None,
                   shared: dict | None = None, settings=None):
    """Files added to the release beside the tables: robustness analysis, Excel workbook, HTML and PDF report."""
    source, uncertainty, profiles = read_analysis(period, run_id, settings)

    def robustness(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
        copy_analysis(source, folder)

    def excel(folder: Path, tables: dict[str, pd.DataFrame], release: dict | None = None) -> None:
        from pipelines.publish.excel import write_ranking_xlsx  # openpyxl, imported when a release is written

        # every published table: the contract's as given, the others as the writers before this one wrote them
        every = {**{name: pd.read_parquet(path) for name in PUBLISHED_TABLES
                    if (path := folder / f"{name}.parquet").is_file()}, **tables}
        write_ranking_xlsx(folder / "ranking.xlsx", tables["province_ranking"], tables["domain_scores"], m,
                           tables=every, release=f"{period} {(release or {}).get('release', '')}".strip())

    def report(folder: Path, tables: dict[str, pd.DataFrame], release: dict | None = None) -> None:
        args = (period, m, tables["province_ranking"], tables["domain_scores"], tables["indicator_values"])
        options = dict(quality=quality, uncertainty=uncertainty, profiles=profiles,
                       commune_ranking=tables["commune_ranking"] if len(tables["commune_ranking"]) else None,
                       previous_period=previous_period(period), units_note=units_note, release=release,
                       disclosure=getattr(tables, "disclosure", None))  # how the release was protected
        write_report_html(folder / "report.html", *args, **options,
                          history_html=(shared or {}).get("history_html"))  # series, targets, equity
        write_report_pdf(folder / "report.pdf", *args, **options)  # A4, to print and annex

    return [robustness, excel, report]


@dg.asset(
    key=RELEASE_KEY,
    partitions_def=period_partitions,
    backfill_policy=single_run,
    deps=[*UPSTREAM, ROBUSTNESS_KEY, dg.AssetKey(PUBLICATION_GATE.split("/"))],
    group_name=PUBLISH_GROUP,
    kinds={"python", "parquet", "csv"},
    description=(
        "Bản công bố của kỳ báo cáo (Parquet, CSV, Excel, báo cáo HTML, từ điển dữ liệu, manifest), chỉ khi dữ liệu "
        "đạt kiểm tra chất lượng.\n\nThe period's release (Parquet, CSV, Excel, HTML report, data dictionary, "
        "manifest), written only when the data passed the quality gate; never overwritten."
    ),
)
def release(context, settings: SettingsResource, methodology: MethodologyResource,
            warehouse: WarehouseResource) -> dg.MaterializeResult:
    settings = settings.get()
    periods = run_periods(context)  # one period, or several in a backfill run
    m = methodology.load()
    # every period of the run passed the gate, or nothing is written
    blocked = []
    with warehouse.connect(read_only=True) as con:
        for period in periods:
            say("publish", f"checking the gate for {period}")
            ok, reasons = gate_decision(con, context.run_id, period)
            blocked += [] if ok else [f"{period}: {r}" if len(periods) > 1 else r for r in reasons]
    if blocked:
        raise dg.Failure(
            description="Không công bố / publication blocked:\n" + "\n".join(f"- {r}" for r in blocked),
            metadata={"blocking_failures": dg.MetadataValue.json(blocked)},
        )
    per_period = {period: _release_period(context, period, m, settings, warehouse) for period in periods}
    return dg.MaterializeResult(metadata=run_metadata(per_period, versions="version", paths="path"))


def _release_period(context, period: str, m: Methodology, settings, warehouse: WarehouseResource) -> dict:
    with warehouse.connect(read_only=True) as con:
        results = load_results(con, context.run_id, period)
        report_json = settings.reports_period_dir(period) / "quality_report.json"
        quality = json.loads(report_json.read_text(encoding="utf-8")) if report_json.exists() else {}
        checks = [r.to_dict() for r in results]
        units = rebase_note(con, period)  # into the manifest, and the report's method note
        say("publish", f"writing the release of {period}")
        shared: dict = {}  # what one writer of the release hands to a later one
        try:
            result = publish_period(
                con, period, settings, m, checks=checks, waivers=quality.get("waivers", []), units=units,
                # as the gate's contract check built them in this run
                built=warehouse.run_cache().pop(_built_key(period, m), None),
                # the series, targets, equity and notes first: the report shows their sections
                extra_writers=[history_writer(period, m, settings.publish_dir, con, shared),
                               *_extra_writers(period, m, quality, context.run_id, units["note_vi"], shared,
                                               settings)],
                quality={k: quality.get(k) for k in ("passed", "failed_blocking", "failed_warning", "waived")
                         if k in quality},
            )
        except (ReleaseError, HistoryError) as exc:  # the operator reads the sentence, in the UI as in the terminal
            raise dg.Failure(description=f"Không công bố / not published: {exc}") from None
    ranking = pd.read_parquet(result.path / "province_ranking.parquet")
    top = ranking[ranking["rank"].notna()].sort_values("rank").head(10)
    say("publish", f"release v{result.version} of {period}: {result.path}")
    return {
        "version": result.version,
        "path": dg.MetadataValue.path(str(result.path)),
        "files": dg.MetadataValue.json(result.files),
        "suppressed_cells": result.suppressed,
        "provinces_ranked": int(ranking["rank"].notna().sum()),
        "communes_assessed": int(result.manifest.get("commune_assessment", {}).get("communes_assessed", 0)),
        "communes_recognised": int(result.manifest.get("commune_assessment", {}).get("communes_recognised", 0)),
        "communes_ranked": int(result.manifest.get("commune_assessment", {}).get("communes_ranked", 0)),
        "top_10": dg.MetadataValue.md(top[["rank", "province_name", "pcri", "tier"]].to_markdown(index=False)),
    }


def build_publish_assets() -> list[dg.AssetsDefinition]:
    return [release]
