"""One period run in this process, as ``cri run`` does it: the environment, dbt's manifest, the refusal when the
method or the releases cannot be read, the run of the official job under the warehouse lock, and its outcome."""

from __future__ import annotations

import contextlib
import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.settings import get_settings

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


@dataclass
class RunOutcome:
    period: str
    success: bool
    published: bool
    release_dir: Path | None
    quality: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.success and self.published


def _prepare_environment():
    settings = get_settings()
    settings.ensure_dirs()
    settings.export_env()
    return settings


def _prepare_manifest() -> None:
    """dbt's manifest, which the definitions read, parsed once (as `make manifest` does) if it is missing."""
    from pipelines.transform.project import prepare_manifest

    prepare_manifest()


def run_period(period: str, verbose: bool = False) -> RunOutcome:
    """Materialize the whole graph for one period, in this process, and say how it went.

    Holds the warehouse lock for the whole run: a run the daemon or the UI started first
    is waited for, never interrupted.
    """
    from pipelines.lock import warehouse_lock

    settings = _prepare_environment()
    with warehouse_lock(f"cri run {period}"):
        return _run_period(settings, period, verbose)


def _refusal(settings, period: str) -> tuple[RunOutcome | None, list[str]]:
    """Before a run: the methodology reads, and the period's latest.json is sound (put back from history.jsonl
    when lost or cut). (an outcome that says why the run cannot start, or None; notes for the summary)."""
    from pipelines.methodology import MethodologyError, load_methodology
    from pipelines.publish.history import HistoryError
    from pipelines.publish.verify import repair_latest

    try:
        load_methodology(settings.methodology_path)
        repaired = repair_latest(settings.publish_period_dir(period))
    except (MethodologyError, HistoryError, OSError) as exc:
        return RunOutcome(period=period, success=False, published=False, release_dir=None, errors=[str(exc)]), []
    return None, [repaired] if repaired else []


def _run_period(settings, period: str, verbose: bool) -> RunOutcome:
    import dagster as dg

    from pipelines.ops.instance import event_databases_open
    from pipelines.publish.history import latest_version
    from pipelines.schedules.jobs import OFFICIAL_JOB, TRIGGER_TAG

    refused, notes = _refusal(settings, period)
    if refused is not None:
        return refused
    _prepare_manifest()
    from pipelines.definitions import defs

    before = latest_version(settings.publish_dir, period)
    started = time.monotonic()
    job = defs.get_job_def(OFFICIAL_JOB)  # named in the UI's run list, like the runs the schedules start
    log_path = settings.reports_period_dir(period) / "run.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    run_id = str(uuid.uuid4())
    with dg.DagsterInstance.get() as instance, open(log_path, "w", encoding="utf-8") as log:
        # dbt's own log goes to reports/<period>/run.log; the terminal shows one line per stage
        with contextlib.redirect_stdout(sys.stdout if verbose else log), event_databases_open(instance, run_id):
            result = job.execute_in_process(
                partition_key=period, instance=instance, raise_on_error=False, run_id=run_id,
                run_config=None if verbose else QUIET, tags={TRIGGER_TAG: "cli", "cri/period": period},
            )
    return period_outcome(settings, period, result, before, step_errors(result), time.monotonic() - started, notes)


def step_errors(result) -> list[str]:
    """The failed and skipped steps of a run, and the periods the gate blocked: the whole cause, every line, no
    stack trace."""
    from pipelines.ops.errors import error_text
    from pipelines.quality.gate_asset import blocked_lines

    errors = [f"{e.step_key}: {error_text(e.step_failure_data.error) if e.step_failure_data.error else ''}"
              for e in result.all_events if e.is_step_failure]
    errors += blocked_lines(result.all_events)  # a blocked period: the run succeeds, the gate says why
    errors += [f"{e.step_key}: bỏ qua vì bước trước không đạt / skipped" for e in result.all_events if e.is_step_skipped]
    return errors


def period_outcome(settings, period: str, result, before: int | None, errors: list[str], seconds: float,
                   notes: list[str]) -> RunOutcome:
    """How a run went for one of its periods: published when ``latest.json`` names a version other than
    ``before``; the quality report only when this run wrote it."""
    from pipelines.publish.history import latest_version

    report = settings.reports_period_dir(period) / "quality_report.json"
    quality = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
    after = latest_version(settings.publish_dir, period)
    published = after is not None and after != before
    return RunOutcome(
        period=period, success=result.success, published=published,
        release_dir=settings.publish_period_dir(period) / f"v{after}" if published else None,
        quality=quality if quality.get("run_id") == result.run_id else {}, errors=errors, seconds=seconds,
        notes=notes,
    )
