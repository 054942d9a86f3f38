"""The reporting calendar of the schedules: deadlines, drafting windows and which period each date concerns.

Every date comes from the one calendar file operators edit (``methodology/reporting-calendar.yaml``, or
``$CRI_CALENDAR``; read by :mod:`pipelines.reporting_calendar`), the same deadlines as the quality check of
timeliness (``pipelines.quality.checks.deadline``). With the file as shipped:

============  ==================  ====================  =======================
period        window (drafts)     deadline              official run
============  ==================  ====================  =======================
``YYYYH1``    1-20 May YYYY       20 May YYYY           21 May YYYY, 06:00
``YYYY``      1-15 November YYYY  15 November YYYY      16 November YYYY, 06:00
``YYYYH2``    1-15 November YYYY  15 November YYYY      16 November YYYY, 06:00
============  ==================  ====================  =======================

Times are Viet Nam time (the file's ``timezone``). The night of the deadline itself has no draft: the
official run the next morning reads every file received until midnight. The functions below read the file
at each call (the cron strings and the timezone when Dagster loads the code).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo  # noqa: F401  (kept for callers that build moments in another zone)

from pipelines.reporting_calendar import ReportingCalendar, load_calendar

TIMEZONE = load_calendar().timezone
TZ = load_calendar().tz


def deadline_of(period: str, calendar: ReportingCalendar | None = None) -> date:
    """The reporting deadline of a period (20 May for YYYYH1, 15 November for YYYY and YYYYH2, as shipped)."""
    return (calendar or load_calendar()).deadline_of(period)


def drafting_periods(day: date, calendar: ReportingCalendar | None = None) -> list[str]:
    """Periods whose drafting window contains ``day`` (nightly drafts): [] outside the windows."""
    return (calendar or load_calendar()).drafting_periods(day)


def official_periods(day: date, calendar: ReportingCalendar | None = None) -> list[str]:
    """Periods whose official run is ``day`` (the morning after their deadline, as shipped)."""
    return (calendar or load_calendar()).official_periods(day)


def draft_crons(calendar: ReportingCalendar | None = None) -> list[str]:
    return (calendar or load_calendar()).draft_crons()


def official_crons(calendar: ReportingCalendar | None = None) -> list[str]:
    return (calendar or load_calendar()).official_crons()


def local_date(moment: datetime | None) -> date:
    """The date in Viet Nam of a (timezone-aware) moment; today when None."""
    moment = moment or datetime.now(TZ)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=TZ)
    return moment.astimezone(TZ).date()
