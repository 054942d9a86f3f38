"""Several periods in one run: a backfill over a range of partitions, as the UI launches one.

Every asset of the graph has ``backfill_policy=single_run``: a run over a range
of periods (the tags ``dagster/asset_partition_range_start`` / ``_end``) runs
each step once for all of them. dbt builds its models once for the whole range
instead of once a period, and the release writes each period's release in
order, so that a later period's series finds the earlier periods published.

``period_ranges`` groups periods into the ranges of partitions they form (the
years come first among the partitions, then the half-years: 2019..2025 is one
range, 2025H1..2025H2 another); ``run_range`` runs one range in this process
and says, period by period, what was published.
"""

from __future__ import annotations

import contextlib
import sys
import time
import uuid

from pipelines.partitions import RANGE_END, RANGE_START, period_partitions


def period_ranges(periods: list[str]) -> list[list[str]]:
    """The periods (in the order given, repeats dropped) cut into runs of consecutive partitions."""
    order = {p: i for i, p in enumerate(period_partitions.get_partition_keys())}
    ranges: list[list[str]] = []
    for period in dict.fromkeys(periods):
        if ranges and order[period] == order[ranges[-1][-1]] + 1:
            ranges[-1].append(period)
        else:
            ranges.append([period])
    return ranges


def run_range(periods: list[str], verbose: bool = False) -> list:
    """Run consecutive periods as one run (one period: ``cli.run_period``); one ``RunOutcome`` a period.

    Holds the warehouse lock for the whole run, like ``cri run``.
    """
    from pipelines.ops.run import _prepare_environment, run_period
    from pipelines.lock import warehouse_lock

    if len(periods) == 1:
        return [run_period(periods[0], verbose=verbose)]
    settings = _prepare_environment()
    with warehouse_lock(f"cri run {periods[0]}..{periods[-1]}"):
        return _run_range(settings, periods, verbose)


def _run_range(settings, periods: list[str], verbose: bool) -> list:
    import dagster as dg

    from pipelines.ops.run import QUIET, _prepare_manifest, _refusal, period_outcome, step_errors
    from pipelines.ops.instance import event_databases_open
    from pipelines.publish.history import latest_version
    from pipelines.schedules.jobs import OFFICIAL_JOB, TRIGGER_TAG

    notes: dict[str, list[str]] = {}
    for period in periods:
        refused, notes[period] = _refusal(settings, period)
        if refused is not None:
            return [refused]
    _prepare_manifest()
    from pipelines.definitions import defs

    before = {p: latest_version(settings.publish_dir, p) for p in periods}
    started = time.monotonic()
    job = defs.resolve_job_def(OFFICIAL_JOB)
    first, last = periods[0], periods[-1]
    log_path = settings.reports_period_dir(last) / "run.log"  # the range's dbt log, beside its last period
    log_path.parent.mkdir(parents=True, exist_ok=True)
    run_id = str(uuid.uuid4())
    tags = {RANGE_START: first, RANGE_END: last, TRIGGER_TAG: "cli", "cri/period": f"{first}..{last}"}
    with dg.DagsterInstance.get() as instance, open(log_path, "w", encoding="utf-8") as log:
        with contextlib.redirect_stdout(sys.stdout if verbose else log), event_databases_open(instance, run_id):
            result = job.execute_in_process(instance=instance, raise_on_error=False, run_id=run_id, tags=tags,
                                            run_config=None if verbose else QUIET)
    errors, seconds = step_errors(result), time.monotonic() - started
    return [period_outcome(settings, period, result, before[period], errors if period == last else [],
                           seconds / len(periods), notes[period]) for period in periods]


def run_periods(periods: list[str], verbose: bool = False, announce=None) -> list:
    """Every period, each range of consecutive periods as one run; ``announce(range)`` before each run."""
    outcomes = []
    for group in period_ranges(periods):
        if announce is not None:
            announce(group)
        outcomes += run_range(group, verbose=verbose)
    return outcomes
