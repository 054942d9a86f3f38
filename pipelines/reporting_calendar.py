"""The reporting calendar, read from the one file operators edit (``methodology/reporting-calendar.yaml``).

Deadlines per reporting level (sectors to the province, the province to the ministry, communes' Month of
Action results) and period kind (``half_year``: ``YYYYH1``; ``year``: ``YYYY`` and ``YYYYH2``, sent with the
year report). The deadlines of the file's ``pipeline_level`` drive both the quality check of timeliness
(``pipelines.quality.checks.deadline``) and the schedules (``pipelines.schedules.calendar``): drafting
windows from ``drafts_from`` to the deadline, the official run ``official_days_after`` the deadline.

The file is ``$CRI_CALENDAR`` when set, else the project's ``methodology/reporting-calendar.yaml``; it is
read again whenever it changes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from pipelines.partitions import PERIOD_RE, is_period
from pipelines.yamlfile import safe_load

DEFAULT_CALENDAR = Path(__file__).resolve().parent.parent / "methodology" / "reporting-calendar.yaml"
# The periods each scheduled kind concerns: period = f"{year}{suffix}".
PERIOD_KINDS = {"half_year": ("H1",), "year": ("", "H2")}
MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")


class CalendarError(ValueError):
    """The calendar file is not valid; the message names the file, the entry and what was expected."""


@dataclass(frozen=True)
class Deadline:
    """One deadline of a level: ``due`` and (optionally) the first day of its drafting window, as (month, day)."""

    kind: str
    due: tuple[int, int]
    drafts_from: tuple[int, int] | None = None

    def due_date(self, year: int) -> date:
        return date(year, *self.due)

    def window(self, year: int) -> tuple[date, date] | None:
        return None if self.drafts_from is None else (date(year, *self.drafts_from), self.due_date(year))

    def periods(self, year: int) -> list[str]:
        return [p for p in (f"{year}{s}" for s in PERIOD_KINDS.get(self.kind, ())) if is_period(p)]


@dataclass(frozen=True)
class Level:
    code: str
    name_vi: str
    name_en: str
    source_vi: str
    deadlines: tuple[Deadline, ...]

    def deadline(self, kind: str) -> Deadline | None:
        return next((d for d in self.deadlines if d.kind == kind), None)


@dataclass(frozen=True)
class ReportingCalendar:
    path: Path
    timezone: str
    pipeline_level: str
    draft_hour: int
    official_hour: int
    official_days_after: int
    levels: tuple[Level, ...]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def level(self) -> Level:
        return next(lv for lv in self.levels if lv.code == self.pipeline_level)

    @property
    def scheduled(self) -> tuple[Deadline, ...]:
        """The pipeline level's deadlines of the period kinds it runs (half_year, year)."""
        return tuple(d for d in self.level.deadlines if d.kind in PERIOD_KINDS)

    def deadline_of(self, period: str) -> date:
        """The deadline of a period at the pipeline level (YYYYH1: half_year; YYYY and YYYYH2: year)."""
        m = PERIOD_RE.match(period or "")
        if not m or not is_period(period):
            raise ValueError(f"'{period}' is not a period: expected YYYY, YYYYH1 or YYYYH2")
        return self.level.deadline("half_year" if m["half"] == "1" else "year").due_date(int(m["year"]))

    def drafting_periods(self, day: date) -> list[str]:
        """Periods whose drafting window contains ``day``: [] outside the windows."""
        return [p for d in self.scheduled if d.window(day.year) and d.window(day.year)[0] <= day <= d.due_date(day.year)
                for p in d.periods(day.year)]

    def official_periods(self, day: date) -> list[str]:
        """Periods whose official run is ``day`` (``official_days_after`` their deadline)."""
        due = day - timedelta(days=self.official_days_after)
        return [p for d in self.scheduled if d.due_date(due.year) == due for p in d.periods(due.year)]

    def draft_crons(self) -> list[str]:
        crons = []
        for d in self.scheduled:
            if d.drafts_from is None:
                continue
            (m1, d1), (m2, d2) = d.drafts_from, d.due
            if m1 == m2:
                crons.append(f"0 {self.draft_hour} {d1}-{d2} {m1} *")
                continue
            crons.append(f"0 {self.draft_hour} {d1}-31 {m1} *")
            crons += [f"0 {self.draft_hour} * {m} *" for m in range(m1 + 1, m2)]
            crons.append(f"0 {self.draft_hour} 1-{d2} {m2} *")
        return crons

    def official_crons(self) -> list[str]:
        crons = []
        for d in self.scheduled:
            run = date(2001, *d.due) + timedelta(days=self.official_days_after)  # a year without 29 February
            crons.append(f"0 {self.official_hour} {run.day} {run.month} *")
        return crons


def calendar_path() -> Path:
    return Path(os.environ.get("CRI_CALENDAR") or DEFAULT_CALENDAR).expanduser().resolve()


_CACHE: dict[Path, tuple[tuple[float, int], ReportingCalendar]] = {}


def load_calendar(path: str | Path | None = None) -> ReportingCalendar:
    """Read the calendar (default: :func:`calendar_path`), again whenever the file changes."""
    path = calendar_path() if path is None else Path(path).resolve()
    try:
        stat = path.stat()
    except OSError:
        raise CalendarError(f"{path}: the reporting calendar file is missing (set CRI_CALENDAR or restore "
                            "methodology/reporting-calendar.yaml)") from None
    key = (stat.st_mtime, stat.st_size)
    cached = _CACHE.get(path)
    if cached and cached[0] == key:
        return cached[1]
    try:
        doc = safe_load(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CalendarError(f"{path}: not a readable UTF-8 YAML file: {exc}") from None
    calendar = parse_calendar(doc, path)
    _CACHE[path] = (key, calendar)
    return calendar


def _month_day(value: Any, where: str) -> tuple[int, int]:
    m = MONTH_DAY.match(str(value or ""))
    if m:
        try:
            date(2001, int(m[1]), int(m[2]))
            return int(m[1]), int(m[2])
        except ValueError:
            pass
    raise CalendarError(f"{where}: expected a date as \"MM-DD\" (e.g. \"05-20\"), got {value!r}")


def _hour(doc: dict, key: str, default: int, where: str) -> int:
    value = doc.get(key, default)
    if not isinstance(value, int) or not 0 <= value <= 23:
        raise CalendarError(f"{where}: {key} must be an hour from 0 to 23, got {value!r}")
    return value


def _level(raw: Any, where: str) -> Level:
    if not isinstance(raw, dict) or not raw.get("code") or not isinstance(raw.get("deadlines"), dict):
        raise CalendarError(f"{where}: a level needs a code and deadlines (period kind: {{due: \"MM-DD\"}})")
    deadlines = []
    for kind, d in raw["deadlines"].items():
        w = f"{where}.deadlines.{kind}"
        if not isinstance(d, dict) or "due" not in d:
            raise CalendarError(f"{w}: expected {{due: \"MM-DD\"}} (and drafts_from: \"MM-DD\")")
        due = _month_day(d["due"], f"{w}.due")
        start = _month_day(d["drafts_from"], f"{w}.drafts_from") if d.get("drafts_from") else None
        if start is not None and start > due:
            raise CalendarError(f"{w}: drafts_from {d['drafts_from']} is after the deadline {d['due']}")
        deadlines.append(Deadline(str(kind), due, start))
    return Level(str(raw["code"]), str(raw.get("name_vi", "")), str(raw.get("name_en", "")),
                 str(raw.get("source_vi", "")), tuple(deadlines))


def parse_calendar(doc: Any, path: Path) -> ReportingCalendar:
    where = str(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("levels"), list) or not doc["levels"]:
        raise CalendarError(f"{where}: expected a mapping with a list of `levels`")
    levels = tuple(_level(raw, f"{where}: levels[{n}]") for n, raw in enumerate(doc["levels"]))
    codes = [lv.code for lv in levels]
    if len(set(codes)) != len(codes):
        raise CalendarError(f"{where}: two levels have the same code")
    pipeline_level = str(doc.get("pipeline_level", ""))
    if pipeline_level not in codes:
        raise CalendarError(f"{where}: pipeline_level must be one of the levels ({', '.join(codes)}), "
                            f"got {pipeline_level!r}")
    level = levels[codes.index(pipeline_level)]
    for kind in PERIOD_KINDS:
        if level.deadline(kind) is None:
            raise CalendarError(f"{where}: the pipeline level '{pipeline_level}' needs a `{kind}` deadline")
    timezone = str(doc.get("timezone", "Asia/Ho_Chi_Minh"))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"{where}: unknown timezone {timezone!r}") from None
    days = doc.get("official_days_after", 1)
    if not isinstance(days, int) or not 1 <= days <= 28:
        raise CalendarError(f"{where}: official_days_after must be a whole number of days from 1 to 28")
    return ReportingCalendar(path=path, timezone=timezone, pipeline_level=pipeline_level,
                             draft_hour=_hour(doc, "draft_hour", 2, where),
                             official_hour=_hour(doc, "official_hour", 6, where), official_days_after=days,
                             levels=levels)


def calendar_lines_vi(calendar: ReportingCalendar | None = None) -> list[str]:
    """One Vietnamese line per reporting level with its deadlines (the report's method note)."""
    calendar = calendar or load_calendar()
    kinds = {"half_year": "6 tháng", "year": "năm", "month_of_action": "Tháng hành động vì trẻ em"}
    lines = []
    for lv in calendar.levels:
        dates = ", ".join(f"{kinds.get(d.kind, d.kind)}: {d.due[1]}/{d.due[0]}" for d in lv.deadlines)
        lines.append(f"{lv.name_vi or lv.code}: {dates}" + (f" ({lv.source_vi})" if lv.source_vi else ""))
    return lines


def deadline(period: str) -> str:
    """Reporting deadline of a period, from the reporting calendar (methodology/reporting-calendar.yaml)."""
    return load_calendar().deadline_of(period).isoformat()
