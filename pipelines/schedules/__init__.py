"""Operating the pipeline: jobs, schedules, sensors, notifications and the warehouse lock.

``pipelines.definitions`` adds ``JOBS``, ``SCHEDULES`` and ``SENSORS`` from
here to the code location. See ``docs/operations.md`` for the operator's
guide.
"""

from __future__ import annotations

from pipelines.schedules.jobs import period_draft, period_official
from pipelines.schedules.landing import landing_sensor
from pipelines.schedules.run_status import notify_on_failure, notify_on_success
from pipelines.schedules.schedules import nightly_draft, official_after_deadline

JOBS = [period_draft, period_official]
SCHEDULES = [nightly_draft, official_after_deadline]
SENSORS = [landing_sensor, notify_on_success, notify_on_failure]

__all__ = ["JOBS", "SCHEDULES", "SENSORS"]
