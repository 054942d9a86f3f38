"""The number rule of landing values (see ``pipelines.ingest.parse``): a value is read when it has exactly
one reading."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

_D = "[0-9]"
_G = f"[1-9]{_D}{{0,2}}"  # a leading thousands group: 1 to 3 digits, no leading zero
_NUMBER_FORMS: list[tuple[str, str, str]] = [
    # (pattern on the unsigned text, characters removed, decimal mark to turn into '.')
    (f"{_D}+", "", ""),
    (f"{_G}(?:\\.{_D}{{3}}){{2,}}", ".", ""),  # 1.234.567
    (f"{_G}(?:,{_D}{{3}}){{2,}}", ",", ""),  # 1,234,567
    (f"{_G}(?:\\.{_D}{{3}})+,{_D}+", ".", ","),  # 1.234,5
    (f"{_G}(?:,{_D}{{3}})+\\.{_D}+", ",", ""),  # 1,234.5
    (f"{_G}(?: {_D}{{3}})+(?:[.,]{_D}+)?", " ", ","),  # 1 234 / 1 234,5 / 1 234.5
]
_AMBIGUOUS = f"{_G}[.,]{_D}{{3}}"  # 1.234 / 1,234
_DECIMAL_FORMS: list[tuple[str, str]] = [(f"{_D}+\\.{_D}+", ""), (f"{_D}+,{_D}+", ",")]
_SPACES = re.compile("[\u00a0\u2007\u2009\u202f]")
#: Numbers from this size on are rejected (``out_of_range``): a double holds every whole number below 2**53 only.
MAX_ABS_VALUE = 1e16


def parse_numbers(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised number rule: (values as float, problem) with problem None, 'empty', 'ambiguous' or 'invalid'."""
    s = text.astype("str").str.strip()
    if not s.str.isascii().all():
        s = s.str.replace(_SPACES.pattern, " ", regex=True).str.replace("\u2212", "-", regex=False)
    negative = s.str.startswith("-")
    body = s.where(~negative, s.str.slice(1))
    canon = pd.Series(pd.NA, index=s.index, dtype="str")
    todo = pd.Series(True, index=s.index)
    for pattern, remove, decimal in _NUMBER_FORMS:
        if not todo.any():
            break
        sub = body[todo]
        hit = sub.str.fullmatch(pattern)
        if hit.any():
            idx = hit[hit].index
            val = sub[idx]
            if remove:
                val = val.str.replace(remove, "", regex=False)
            if decimal:
                val = val.str.replace(decimal, ".", regex=False)
            canon[idx] = val
            todo[idx] = False
    ambiguous = pd.Series(False, index=s.index)
    if todo.any():
        sub = body[todo]
        amb = sub.str.fullmatch(_AMBIGUOUS)
        ambiguous[amb[amb].index] = True
        todo[amb[amb].index] = False
    for pattern, decimal in _DECIMAL_FORMS:
        if not todo.any():
            break
        sub = body[todo]
        hit = sub.str.fullmatch(pattern)
        if hit.any():
            idx = hit[hit].index
            val = sub[idx]
            canon[idx] = val.str.replace(",", ".", regex=False) if decimal else val
            todo[idx] = False
    values = pd.to_numeric(canon, errors="coerce").astype("float64")
    values = values.where(~negative, -values)
    values = values.where(values != 0, 0.0)  # no -0.0
    # beyond 2**53 a double no longer holds every whole number; 400 digits would be inf
    huge = (values.abs() >= MAX_ABS_VALUE).to_numpy()
    values[huge] = np.nan
    problem = pd.Series(None, index=s.index, dtype="object")
    problem[s == ""] = "empty"
    problem[ambiguous] = "ambiguous"
    problem[values.isna() & (s != "") & ~ambiguous & ~huge] = "invalid"
    problem[huge] = "out_of_range"
    return values, problem


def parse_number(text: str) -> float | None:
    """The value of one cell under the number rule of this module, or None."""
    value, problem = parse_numbers(pd.Series([text], dtype="str"))
    return None if problem.iloc[0] is not None and not pd.isna(problem.iloc[0]) else float(value.iloc[0])
