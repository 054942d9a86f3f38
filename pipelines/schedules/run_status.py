"""Run status sensors: tell the operator what a finished run means.

Every finished run of the instance (launched by a schedule, the landing
sensor, the UI, or ``cri run``) is read once, and becomes at most one
notification:

* ``release_published``: the run wrote a new release (version and folder);
* ``publication_blocked``: the run was to publish, and a blocking check failed
  (the failed checks in plain words, and the quality report). Such a run ends
  as a success: the ``quality/publication_gate`` asset was not materialized,
  so Dagster skipped the rank robustness and the release; the verdict is the
  ``publication_gate`` check on the province ranking;
* ``draft_report``: a draft run wrote the period's quality report (passed, or
  which blocking checks fail today);
* ``run_failed``: anything else went wrong (which step, the first line of the
  error).

The notifications go through ``notify.notify`` (a line in
``reports/notifications.log``, e-mail when configured).
"""

from __future__ import annotations

import json
import os
from typing import Any

import dagster as dg

from pipelines.ops.errors import error_text
from pipelines.partitions import periods_of_run
from pipelines.publish.assets import RELEASE_KEY
from pipelines.quality.assets import GATE_ASSET, GATE_CHECK
from pipelines.schedules.jobs import DRAFT, KIND_TAG
from pipelines.schedules.notify import (
    DRAFT_REPORT,
    PUBLICATION_BLOCKED,
    RELEASE_PUBLISHED,
    RUN_FAILED,
    Notification,
    notify,
)
from pipelines.settings import get_settings

CHECK_FAILED_ERROR = "DagsterAssetCheckFailedError"


def sensor_interval() -> int:
    return int(os.environ.get("CRI_NOTIFY_SENSOR_INTERVAL", "30"))


def _meta_value(value: Any) -> Any:
    return getattr(value, "value", value)


def _error_text(err) -> str:
    """Every message of an error and its causes (to recognise the gate's own refusals)."""
    parts = []
    while err is not None:
        parts.append(err.message or "")
        err = getattr(err, "cause", None)
    return "\n".join(parts)


def _quality_report(period: str | None, run_id: str) -> dict:
    if not period:
        return {}
    path = get_settings().reports_period_dir(period) / "quality_report.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if doc.get("run_id") == run_id else {}


def _publishes(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """Whether the run was meant to write a release: the release was planned, and it is not a draft."""
    if run.tags.get(KIND_TAG) == DRAFT:
        return False
    planned = _events(instance, run.run_id, dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
    return any(e.asset_key == RELEASE_KEY for e in planned)


def _events(instance: dg.DagsterInstance, run_id: str, event_type: dg.DagsterEventType) -> list:
    return [e.dagster_event for e in instance.all_logs(run_id, of_type=event_type) if e.dagster_event]


def classify_run(instance: dg.DagsterInstance, run: dg.DagsterRun) -> Notification | None:
    """The notification a finished run deserves (None for a successful run that neither drafted nor published)."""
    periods = periods_of_run(run.tags)  # one period, or several in a backfill run
    run_id, job = run.run_id, run.job_name
    period = ",".join(periods) or None  # as the message names it (one token in the log line)
    last = periods[-1] if periods else None  # whose report the links point to
    settings = get_settings()
    report_path = str(settings.reports_period_dir(last) / "quality_report.html") if last else None
    quality = _quality_report(last, run_id)

    releases = [e for e in _events(instance, run_id, dg.DagsterEventType.ASSET_MATERIALIZATION)
                if e.asset_key == RELEASE_KEY]
    gates = [e.event_specific_data for e in _events(instance, run_id, dg.DagsterEventType.ASSET_CHECK_EVALUATION)
             if e.event_specific_data.asset_key == GATE_ASSET and e.event_specific_data.check_name == GATE_CHECK]
    failures = _events(instance, run_id, dg.DagsterEventType.STEP_FAILURE)
    gate = gates[-1] if gates else None

    def failure_text(e) -> str:
        err = e.step_failure_data.error if e.step_failure_data else None
        return f"{e.step_key}: {error_text(err) if err else 'failed'}"  # the whole cause, as `cri run` says it

    # Failures that are the gate doing its job: publish refusing (and, in runs recorded before the gate became an
    # asset, the blocking check).
    gate_failures = [e for e in failures if e.step_failure_data and e.step_failure_data.error
                     and (e.step_failure_data.error.cls_name == CHECK_FAILED_ERROR
                          or "publication blocked" in _error_text(e.step_failure_data.error))]
    other_failures = [e for e in failures if e not in gate_failures]
    blocking = list(quality.get("blocking_failures") or [])
    if not blocking and gate is not None and not gate.passed:
        text = _meta_value(gate.metadata.get("blocking_failures")) or ""
        blocking = [line.lstrip("- ").replace("`", "") for line in str(text).splitlines() if line.strip()]
    summary = (f"{quality.get('checks', '?')} kiểm tra / checks, {quality.get('failed_blocking', '?')} chặn / "
               f"blocking, {quality.get('failed_warning', '?')} cảnh báo / warnings, {quality.get('waived', 0)} miễn "
               f"trừ / waived, {quality.get('rejected_rows', 0)} dòng bị từ chối / rejected rows") if quality else ""
    links = {"quality_report": report_path} if report_path and gate is not None else {}
    if quality.get("rejected_rows"):
        links["rejected_rows"] = str(settings.reports_period_dir(last) / "rejected_rows.csv")

    if other_failures or (run.status == dg.DagsterRunStatus.FAILURE and gate is None and not releases):
        details = [failure_text(e) for e in other_failures] or ["run failed before any step failed (see the UI)"]
        return Notification(RUN_FAILED, f"Lần chạy lỗi, kỳ {period or '-'} / run failed, period {period or '-'}",
                            period, run_id, job, details, links)
    if releases:
        md = releases[-1].event_specific_data.materialization.metadata
        version, path = _meta_value(md.get("version")), _meta_value(md.get("path"))
        return Notification(
            RELEASE_PUBLISHED, f"Đã công bố kỳ {period} bản v{version} / period {period} published, release v{version}",
            period, run_id, job, [d for d in (summary,) if d], {"release": str(path), **links})
    if gate is None:
        return None
    if not _publishes(instance, run):
        state = "ĐẠT / passed" if gate.passed else f"{len(blocking)} lỗi chặn / blocking failures"
        return Notification(DRAFT_REPORT, f"Báo cáo chất lượng (nháp) kỳ {period}: {state} / draft quality report",
                            period, run_id, job, [d for d in (summary, *blocking) if d], links)
    if not gate.passed or gate_failures:
        return Notification(
            PUBLICATION_BLOCKED, f"Không công bố kỳ {period}: dữ liệu chưa đạt / publication of {period} blocked",
            period, run_id, job, [d for d in (summary, *blocking) if d] or [failure_text(e) for e in gate_failures],
            links)
    return None


def _notify_run(context) -> None:
    notification = classify_run(context.instance, context.dagster_run)
    if notification is not None:
        notify(notification)
        context.log.info(notification.line())


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="notify_on_success",
    monitor_all_code_locations=True,
    minimum_interval_seconds=sensor_interval(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=("Thông báo bản công bố mới, công bố bị chặn và báo cáo nháp / notifies new releases, blocked "
                 "publications (a blocked period ends as a successful run) and draft quality reports."),
)
def notify_on_success(context: dg.RunStatusSensorContext):
    _notify_run(context)


@dg.run_failure_sensor(
    name="notify_on_failure",
    monitor_all_code_locations=True,
    minimum_interval_seconds=sensor_interval(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Thông báo lần chạy lỗi / notifies failed runs.",
)
def notify_on_failure(context: dg.RunFailureSensorContext):
    _notify_run(context)
