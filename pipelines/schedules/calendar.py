"""The reporting calendar: deadlines, drafting windows and which period each date concerns.

Half-year reports are due on 20 May, year reports on 15 November. The second
half-year (``YYYYH2``), for the data elements reported twice a year, is sent
with the year report and has the same deadline (the same rule as the quality
check of timeliness, ``pipelines.quality.checks.deadline``).

Drafting windows (a nightly draft run, quality report only, nothing published):

============  ==================  ====================  =======================
period        window (drafts)     deadline              official run
============  ==================  ====================  =======================
``YYYYH1``    1-20 May YYYY       20 May YYYY           21 May YYYY, 06:00
``YYYY``      1-15 November YYYY  15 November YYYY      16 November YYYY, 06:00
``YYYYH2``    1-15 November YYYY  15 November YYYY      16 November YYYY, 06:00
============  ==================  ====================  =======================

Times are Viet Nam time (``Asia/Ho_Chi_Minh``). The night of the deadline
itself has no draft: the official run the next morning reads every file
received until midnight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pipelines.partitions import PERIOD_RE, is_period

TIMEZONE = "Asia/Ho_Chi_Minh"
TZ = ZoneInfo(TIMEZONE)
DRAFT_HOUR = 2  # nightly drafts at 02:00
OFFICIAL_HOUR = 6  # official runs at 06:00 the day after the deadline


@dataclass(frozen=True)
class Deadline:
    """One reporting deadline of a year and the periods it concerns."""

    name: str
    month: int
    day: int
    window_start_day: int
    suffixes: tuple[str, ...]  # period = f"{year}{suffix}"

    def periods(self, year: int) -> list[str]:
        return [f"{year}{s}" for s in self.suffixes]

    def date(self, year: int) -> date:
        return date(year, self.month, self.day)


DEADLINES = (
    Deadline("half-year", 5, 20, 1, ("H1",)),
    Deadline("year", 11, 15, 1, ("", "H2")),
)


def deadline_of(period: str) -> date:
    """The reporting deadline of a period: 20 May for YYYYH1, 15 November for YYYY and YYYYH2."""
    m = PERIOD_RE.match(period or "")
    if not m or not is_period(period):
        raise ValueError(f"'{period}' is not a period: expected YYYY, YYYYH1 or YYYYH2")
    year, half = int(m["year"]), m["half"]
    return date(year, 5, 20) if half == "1" else date(year, 11, 15)


def drafting_periods(day: date) -> list[str]:
    """Periods whose drafting window contains ``day`` (nightly drafts): [] outside the windows."""
    return [
        p for d in DEADLINES
        if d.month == day.month and d.window_start_day <= day.day <= d.day
        for p in d.periods(day.year) if is_period(p)
    ]


def official_periods(day: date) -> list[str]:
    """Periods whose deadline was the day before ``day`` (the official run is the morning after)."""
    before = day - timedelta(days=1)
    return [p for d in DEADLINES if d.date(before.year) == before for p in d.periods(before.year) if is_period(p)]


def draft_crons() -> list[str]:
    return [f"0 {DRAFT_HOUR} {d.window_start_day}-{d.day} {d.month} *" for d in DEADLINES]


def official_crons() -> list[str]:
    crons = []
    for d in DEADLINES:
        after = date(2001, d.month, d.day) + timedelta(days=1)  # the dates of interest are in no leap month
        crons.append(f"0 {OFFICIAL_HOUR} {after.day} {after.month} *")
    return crons


def local_date(moment: datetime | None) -> date:
    """The date in Viet Nam of a (timezone-aware) moment; today when None."""
    moment = moment or datetime.now(TZ)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=TZ)
    return moment.astimezone(TZ).date()

