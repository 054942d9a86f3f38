"""Schedules: nightly drafts during each reporting window, the official run after each deadline.

The dates come from the reporting calendar file (``methodology/reporting-calendar.yaml``, see
``calendar.py``); the texts below are those of the file as shipped. Both schedules are on by default (they run
as soon as ``dagster-daemon`` runs); they can be stopped in the UI
(Automation page).

* ``nightly_draft`` (02:00, 1-20 May and 1-15 November): a ``period_draft``
  run for each period of the window that has files in landing; the quality
  report of the period is written again, nothing is published.
* ``official_after_deadline`` (06:00 on 21 May and 16 November): a
  ``period_official`` run for each period due the day before: the year
  always (missing files then show as failed checks, and the operator is
  told), a half-year only when its landing folder exists (not every year has
  half-year data).
"""

from __future__ import annotations

from datetime import date

import dagster as dg

from pipelines.ingest.parse import list_landing_files
from pipelines.schedules import calendar
from pipelines.schedules.jobs import DRAFT, KIND_TAG, OFFICIAL, TRIGGER_TAG, period_draft, period_official
from pipelines.settings import get_settings


def landing_files(period: str) -> int:
    folder = get_settings().landing_period_dir(period)
    if not folder.is_dir():
        return 0
    return sum(len(list_landing_files(d)) for d in folder.iterdir() if d.is_dir())


def draft_requests(day: date) -> list[dg.RunRequest] | dg.SkipReason:
    periods = calendar.drafting_periods(day)
    if not periods:
        return dg.SkipReason(f"{day}: ngoài kỳ lập báo cáo / outside the reporting windows")
    requests = [
        dg.RunRequest(run_key=f"draft:{p}:{day.isoformat()}", partition_key=p,
                      tags={TRIGGER_TAG: "nightly_draft", KIND_TAG: DRAFT})
        for p in periods if landing_files(p)
    ]
    if not requests:
        return dg.SkipReason(f"{day}: chưa có tệp nào cho kỳ {', '.join(periods)} / no files yet in landing for "
                             f"{', '.join(periods)}")
    return requests


def official_requests(day: date) -> list[dg.RunRequest] | dg.SkipReason:
    periods = calendar.official_periods(day)
    if not periods:
        return dg.SkipReason(f"{day}: không phải ngày sau hạn nộp / not the day after a deadline")
    settings = get_settings()
    chosen = [p for p in periods if "H" not in p or settings.landing_period_dir(p).is_dir()]
    if not chosen:
        return dg.SkipReason(f"{day}: không có thư mục landing cho {', '.join(periods)} / no landing folder for "
                             f"{', '.join(periods)}")
    return [
        dg.RunRequest(run_key=f"official:{p}:{day.isoformat()}", partition_key=p,
                      tags={TRIGGER_TAG: "official_after_deadline", KIND_TAG: OFFICIAL})
        for p in chosen
    ]


def _description(kind: str) -> str:
    """The schedule's text, with the dates of the reporting calendar file."""
    cal = calendar.load_calendar()
    names = {"half_year": ("6 tháng đầu năm", "first half-year"), "year": ("năm và 6 tháng cuối năm",
                                                                        "year and second half-year")}
    parts_vi, parts_en = [], []
    for d in cal.scheduled:
        vi, en = names[d.kind]
        if kind == "draft" and d.drafts_from:
            parts_vi.append(f"{d.drafts_from[1]}/{d.drafts_from[0]}-{d.due[1]}/{d.due[0]} ({vi})")
            parts_en.append(f"{d.drafts_from[1]}/{d.drafts_from[0]}-{d.due[1]}/{d.due[0]} ({en})")
        elif kind == "official":
            parts_vi.append(f"{d.due[1]}/{d.due[0]} ({vi})")
            parts_en.append(f"deadline {d.due[1]}/{d.due[0]} ({en})")
    if kind == "draft":
        return (f"Bản nháp hằng đêm ({cal.draft_hour} giờ sáng) trong thời gian lập báo cáo: {', '.join(parts_vi)}."
                f"\n\nNightly draft ({cal.draft_hour:02d}:00) during each reporting window (day/month): "
                f"{', '.join(parts_en)}. Quality report only; nothing is published. Dates: {cal.path.name}.")
    return (f"Lần chạy chính thức lúc {cal.official_hour} giờ sáng, {cal.official_days_after} ngày sau hạn nộp "
            f"{', '.join(parts_vi)}.\n\nOfficial run at {cal.official_hour:02d}:00, {cal.official_days_after} "
            f"day(s) after each {', '.join(parts_en)}; YYYYH2 when it has a landing folder. Publishes when every "
            f"blocking check passed. Dates: {cal.path.name}.")


@dg.schedule(
    name="nightly_draft",
    cron_schedule=calendar.draft_crons(),
    execution_timezone=calendar.TIMEZONE,
    job=period_draft,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=_description("draft"),
)
def nightly_draft(context: dg.ScheduleEvaluationContext):
    return draft_requests(calendar.local_date(context.scheduled_execution_time))


@dg.schedule(
    name="official_after_deadline",
    cron_schedule=calendar.official_crons(),
    execution_timezone=calendar.TIMEZONE,
    job=period_official,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=_description("official"),
)
def official_after_deadline(context: dg.ScheduleEvaluationContext):
    return official_requests(calendar.local_date(context.scheduled_execution_time))
