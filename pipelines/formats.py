"""Numbers, percentages, dates and times as Vietnamese readers write them (Babel, locale ``vi``).

1.234,5 for numbers, 12,3% for percentages, 25/11/2025 for dates and times in
Asia/Ho_Chi_Minh (``06/12/2026 18:24``). A missing value is a dash. Used by the
ranking report, the quality report and the notes that name unit counts.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

LOCALE = "vi"
TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
DASH = "–"


def as_number(value: Any) -> float | None:
    """A finite float, or None for None, text, NaN, pd.NA and infinities."""
    if value is None or isinstance(value, (str, bytes)):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else f


_WIDE = Context(prec=400)


@lru_cache(maxsize=1)
def _locale():
    """Babel's Vietnamese locale, read when the first number is formatted (not when a module imports this one:
    Babel's locale data takes a moment to load, and the Dagster definitions never format a number)."""
    from babel import Locale

    return Locale.parse(LOCALE)


@lru_cache(maxsize=32)
def _pattern(text: str):
    """Babel's number pattern, parsed once (a report formats thousands of numbers)."""
    from babel.numbers import parse_pattern

    return parse_pattern(text)


def _format(value: Decimal, pattern: str) -> str:
    with localcontext(_WIDE):  # Babel rounds in the current context: wide enough for any float
        return _pattern(pattern).apply(value, _locale())


def _rounded(f: float, decimals: int) -> Decimal:
    """Half away from zero, on the shortest decimal text of ``f`` (60.125 -> 60.13, as in Excel)."""
    # precision enough for any float (1e300 is a value a hostile file can carry; the report still shows it)
    d = Decimal(repr(f)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP, context=_WIDE)
    return d if d != 0 else abs(d)  # no "-0"


def number(value: Any, decimals: int = 0) -> str:
    """``value`` with exactly ``decimals`` decimals and thousands grouped: 1.234,50 (a dash when missing)."""
    f = as_number(value)
    if f is None:
        return DASH
    return _format(_rounded(f, decimals), "#,##0" + ("." + "0" * decimals if decimals > 0 else ""))


def count(value: Any) -> str:
    """A whole number: 3.321."""
    return number(value, 0)


def compact(value: Any, max_decimals: int = 2) -> str:
    """Up to ``max_decimals`` decimals, trailing zeros dropped: 1,33 for 1.3333…, 3 for 3.0."""
    f = as_number(value)
    if f is None:
        return DASH
    return _format(_rounded(f, max_decimals), "#,##0." + "#" * max_decimals)


def percent(share: Any, decimals: int = 1) -> str:
    """A share (0.123) as a percentage: 12,3%; whole percentages lose their decimals (100%, 90%)."""
    f = as_number(share)
    if f is None:
        return DASH
    value = _rounded(f * 100, decimals)
    return (number(value, 0) if value == value.to_integral_value() else number(value, decimals)) + "%"


def percent_value(value: Any, decimals: int = 1) -> str:
    """A value already in percent (95.2) as 95,2%."""
    f = as_number(value)
    return DASH if f is None else percent(f / 100, decimals)


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str) and value.strip():
        try:
            dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt


def local_time(value: Any) -> str:
    """A timestamp (aware, naive UTC or ISO text) in Viet Nam's time: 06/12/2026 18:24 (giờ Việt Nam)."""
    from babel.dates import format_datetime

    dt = _as_datetime(value)
    if dt is None:
        return DASH if not value else str(value)
    return format_datetime(dt, "dd/MM/yyyy HH:mm", tzinfo=TIMEZONE, locale=LOCALE) + " (giờ Việt Nam)"


def local_date(value: Any) -> str:
    """A date, or the local date of a timestamp: 06/12/2026."""
    from babel.dates import format_date

    if isinstance(value, date) and not isinstance(value, datetime):
        return format_date(value, "dd/MM/yyyy", locale=LOCALE)
    dt = _as_datetime(value)
    if dt is None:
        return DASH if not value else str(value)
    return format_date(dt.astimezone(TIMEZONE).date(), "dd/MM/yyyy", locale=LOCALE)
