"""Reporting periods: years (``YYYY``) and half-years (``YYYYH1``, ``YYYYH2``)."""

from __future__ import annotations

import re

import dagster as dg

FIRST_YEAR = 2019
LAST_YEAR = 2035
PERIOD_RE = re.compile(r"^(?P<year>\d{4})(?:H(?P<half>[12]))?$")


def all_periods(first: int = FIRST_YEAR, last: int = LAST_YEAR) -> list[str]:
    return [p for y in range(first, last + 1) for p in (str(y), f"{y}H1", f"{y}H2")]


def is_period(text: str) -> bool:
    m = PERIOD_RE.match(text or "")
    return bool(m) and FIRST_YEAR <= int(m["year"]) <= LAST_YEAR


def previous_period(period: str) -> str:
    """The period a rank change is measured against: the year before, or the half-year before."""
    m = PERIOD_RE.match(period)
    if not m:
        raise ValueError(f"'{period}' is not a period: expected YYYY, YYYYH1 or YYYYH2")
    year, half = int(m["year"]), m["half"]
    if half is None:
        return str(year - 1)
    return f"{year}H1" if half == "2" else f"{year - 1}H2"


period_partitions = dg.StaticPartitionsDefinition(all_periods())
