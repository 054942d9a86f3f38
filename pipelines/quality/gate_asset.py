"""The publication gate as an asset: the period's checks run once, their verdict decides what runs next.

``quality_gate`` is one step with two assets:

* ``quality/quality_report``: every check of the period (``evaluate_period``): the results in
  ``quality.check_results``, ``reports/<period>/quality_report.{json,html}`` and ``rejected_rows.csv``.
  Always materialized; its metadata carries the decision.
* ``quality/publication_gate``: the period may be published. Materialized only when no blocking check
  failed (or every failure is waived), with "Được công bố / Publishable". When a check blocks, the asset is
  not materialized: it is *observed* with "Bị chặn / Blocked", the reasons in Vietnamese, who must fix what
  and how. The rank robustness and the release depend on it, so Dagster skips them, and the run ends as a
  success: a blocked draft is the gate doing its job, not a failure of the pipeline.

The checks of each family show on the assets they guard (``pipelines.quality.assets``, a step that runs
after this one and reads the outcome it left in the run's cache). The publish step reads the gate's
decision again itself before it writes anything.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines.checks.catalogue import load_catalogue
from pipelines.checks.core import plain_words
from pipelines.checks.keys import PUBLICATION_GATE, QUALITY_REPORT
from pipelines.ops.progress import say
from pipelines.partitions import period_partitions, run_metadata, run_periods, single_run
from pipelines.quality.gate import ExtraCheck, GateOutcome, evaluate_period
from pipelines.quality.report_view import owners
from pipelines.resources import MethodologyResource, SettingsResource, WarehouseResource

QUALITY_REPORT_KEY = dg.AssetKey(QUALITY_REPORT.split("/"))
PUBLICATION_GATE_KEY = dg.AssetKey(PUBLICATION_GATE.split("/"))
GATE_STEP = "quality_gate"
GATE_TAG = "cri/gate"  # on the run, once the gate decided: "publishable" or "blocked" (the UI's run list shows it)
PUBLISHABLE = "Được công bố / Publishable"
BLOCKED = "Bị chặn / Blocked"
TEMPLATES = Path(__file__).with_name("templates")
OPERATOR = "Cán bộ vận hành, bộ phận kỹ thuật / the operator, the technical team"


def checked_keys(ingest_keys: dict[str, dg.AssetKey]) -> list[dg.AssetKey]:
    """Every asset a check of the period judges: the ingest assets and those the catalogue's families guard."""
    keys = list(ingest_keys.values())
    for asset, _, _ in load_catalogue().dagster_families():
        key = dg.AssetKey(asset.split("/"))
        if key not in keys:
            keys.append(key)
    return keys


def cached_outcome(warehouse: WarehouseResource, period: str) -> GateOutcome | None:
    """The period's outcome the gate step of this run left for the checks step (the in-process executor sets the
    warehouse resource up once a run)."""
    return warehouse.run_cache().get(("gate_outcome", period))


def _text(macro: str, /, **values) -> str:
    """The sentence ``macro`` of ``templates/gate_decision.txt`` with its values."""
    from pipelines.templating import render_macro  # Jinja2 and Babel, loaded when a text is first needed

    return render_macro(TEMPLATES, "gate_decision.txt", macro, **values)


def _how(period: str) -> str:
    return _text("how", period=period)


def who_must_fix(outcome: GateOutcome, methodology) -> str:
    """The blocking failures under the agency that must fix them (or the operator), as Markdown."""
    doc = {"results": [r.to_dict() for r in outcome.results if r.blocks]}
    return "\n".join(_text("owner", who=f"{owner['agency']} ({owner['sector']})" if owner["agency"] else OPERATOR,
                            items=owner["items"])
                     for owner in owners(doc, {}, methodology))  # the agency by name, its sector by code


def summary_line(outcome: GateOutcome) -> str:
    """One line: the decision, and for a blocked period the codes of its blocking failures and where to read more."""
    if outcome.passed:
        return _text("publishable", period=outcome.period)
    where = outcome.report_dir / "quality_report.html" if outcome.report_dir else "quality_report.html"
    return _text("blocked", period=outcome.period, codes=sorted({r.code for r in outcome.results if r.blocks}),
                 where=where)


def decision_metadata(outcome: GateOutcome, methodology) -> dict:
    """The gate's decision on one period, as the UI shows it (materialization or observation metadata)."""
    s = outcome.summary
    meta = {
        "decision": dg.MetadataValue.text(PUBLISHABLE if outcome.passed else BLOCKED),
        "summary": dg.MetadataValue.text(summary_line(outcome)),
        "period": dg.MetadataValue.text(outcome.period),
        "checks": s["checks"], "blocking_failed": s["failed_blocking"], "warnings": s["failed_warning"],
        "waived": s["waived"],
    }
    if not outcome.passed:
        meta["reasons"] = dg.MetadataValue.md("\n".join(f"- {plain_words(r)}" for r in outcome.results if r.blocks))
        meta["who_must_fix"] = dg.MetadataValue.md(who_must_fix(outcome, methodology))
        meta["how"] = dg.MetadataValue.text(_how(outcome.period))
    if outcome.report_dir is not None:
        meta["report"] = dg.MetadataValue.path(str(outcome.report_dir / "quality_report.html"))
    return meta


def build_gate_asset(ingest_keys: dict[str, dg.AssetKey],
                     extra_checks: tuple[ExtraCheck, ...] = ()) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name=GATE_STEP,
        specs=[
            dg.AssetSpec(QUALITY_REPORT_KEY, deps=checked_keys(ingest_keys), group_name="quality",
                         kinds={"python", "html"}, description=(
                             "Báo cáo chất lượng của kỳ: mọi kiểm tra, dòng bị từ chối, quyết định công bố.\n\n"
                             "The period's quality report: every check, the rejected rows, the publication decision.")),
            dg.AssetSpec(PUBLICATION_GATE_KEY, deps=[QUALITY_REPORT_KEY], group_name="quality", skippable=True,
                         kinds={"python"}, description=(
                             "Cổng công bố: chỉ có khi mọi kiểm tra chặn đều đạt; nếu bị chặn, ghi lý do, ai cần sửa "
                             "gì và cách sửa.\n\nThe publication gate: materialized only when every blocking check "
                             "passed (or is waived); when blocked, observed with the reasons, who must fix what and "
                             "how. The rank robustness and the release run only after it.")),
        ],
        partitions_def=period_partitions,
        backfill_policy=single_run,
    )
    def quality_gate(context, settings: SettingsResource, methodology: MethodologyResource,
                     warehouse: WarehouseResource):
        """Kiểm tra chất lượng của kỳ và quyết định công bố / every check of the period, and the decision."""
        settings, method = settings.get(), methodology.load()  # the method in force for this run
        decisions, blocked = {}, []
        for period in run_periods(context):
            say("quality", f"running the checks of {period}")
            with warehouse.connect() as con:
                outcome = evaluate_period(con, period, context.run.run_id, method, settings, extra_checks)
            warehouse.run_cache()[("gate_outcome", period)] = outcome
            s = outcome.summary
            say("quality", f"{s['checks']} checks: {s['failed_blocking']} blocking failed, {s['failed_warning']} "
                           f"warnings, {s['waived']} waived -> {'PASSED' if s['passed'] else 'BLOCKED'}")
            decisions[period] = decision_metadata(outcome, method)
            if not outcome.passed:
                blocked.append(period)
        context.instance.add_run_tags(context.run_id, {GATE_TAG: "blocked" if blocked else "publishable"})
        yield dg.MaterializeResult(asset_key=QUALITY_REPORT_KEY, metadata=run_metadata(
            decisions, ("checks", "blocking_failed"), decisions="decision"))
        for period in blocked:  # not materialized: what Dagster skips downstream, and why, on the gate's page
            context.log.warning(decisions[period]["summary"].value)
            yield dg.AssetObservation(asset_key=PUBLICATION_GATE_KEY, partition=period, metadata=decisions[period])
        if not blocked:
            yield dg.MaterializeResult(asset_key=PUBLICATION_GATE_KEY, metadata=run_metadata(
                decisions, decisions="decision"))

    return quality_gate


def blocked_lines(events) -> list[str]:
    """The gate's blocked decisions in a run's events, one line a period: ``quality_gate: Bị chặn / Blocked: ...``."""
    lines = []
    for e in events:
        if e.is_asset_observation and e.asset_key == PUBLICATION_GATE_KEY:
            summary = e.event_specific_data.asset_observation.metadata.get("summary")
            lines.append(f"{e.step_key}: {getattr(summary, 'value', summary) or BLOCKED}")
    return lines
