"""Synthetic extracts of the health-insurance register and the immunisation information system.

Both follow the demo's aggregates, commune by commune (``pipelines.demo.records`` calls them):

* ``insurance_records``: for each commune, one valid card for each child of its insured count (a card
  from a few weeks after birth to the day before the sixth birthday, as the law gives children under 6),
  and one expired card for about one child in six of those who turned 6 during the period (valid until
  the day before their birthday: in the extract, not counted).
* ``dose_records``: for each commune, its fully immunised infants (a dose of every antigen of the
  national schedule between birth and the first birthday), and partly immunised ones (some antigens
  before the first birthday, sometimes one more after it), born the year before the period so that
  their first birthday falls in it; then the further doses of the multi-dose antigens (second and third
  doses, four weeks apart) until the extract holds the number of doses asked.

Written with numpy and pyarrow, column by column; dates never after the day the extract is taken.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.registries.load import period_bounds

EXTRACT_DELAY_DAYS = 90      # the extract is taken this long after the period ends (as for births)
MALE_SHARE = 0.512
CARD_DELAY_DAYS = 45         # a card is issued up to this many days after birth
PARTLY_SHARE = 0.08          # partly immunised infants, per fully immunised one
LATE_DOSE_SHARE = 0.5        # of the partly immunised, those given one missing antigen after their birthday
REPEAT_GAP_DAYS = 28         # between the doses of a multi-dose antigen
SINGLE_DOSE = ("BCG", "MEASLES")  # the antigens of the schedule given once


def _ids(prefix: str, base: int, n: int, rng: np.random.Generator) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(base + rng.permutation(n), pa.int64()), pa.string()), 10, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _days(start: np.datetime64, span: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A date from ``start`` to ``start + span`` days (span >= 0), uniformly."""
    return start + (rng.random(len(span)) * (span + 1)).astype("timedelta64[D]")


def _plus_years(days: np.ndarray, years: int) -> np.ndarray:
    """The same day so many years later (29 February: the 28th), as the warehouse's ``+ interval`` gives it."""
    return (pd.DatetimeIndex(days) + pd.DateOffset(years=years)).to_numpy().astype("datetime64[D]")


def extract_day(period: str, today: date | None = None) -> date:
    return min(period_bounds(period)[1] + timedelta(days=EXTRACT_DELAY_DAYS), today or date.today())


def insurance_records(communes: np.ndarray, insured: np.ndarray, period: str, rng: np.random.Generator,
                      id_base: int, today: date | None = None) -> pa.Table:
    """card_id, child_id, sex, birth_date, valid_from, valid_to, commune_code: ``insured[i]`` children of
    ``communes[i]`` with a card valid on the period's last day, and the expired cards of those turned 6."""
    start, end = period_bounds(period)
    last = np.datetime64(min(end, extract_day(period, today)), "D")
    expired = np.floor(np.asarray(insured) / 6 + rng.random(len(insured))).astype(np.int64)
    n_valid, n = int(insured.sum()), int(insured.sum() + expired.sum())
    commune = np.concatenate([np.repeat(np.arange(len(communes)), insured),
                              np.repeat(np.arange(len(communes)), expired)])
    six = np.datetime64(date(end.year - 6, end.month, end.day), "D")  # born after this: under 6 on the last day
    birth = np.empty(n, "datetime64[D]")
    birth[:n_valid] = _days(six + 1, np.full(n_valid, (last - six - 1).astype(int)), rng)
    # turned 6 during the period, after its first day (born within the year before `six`)
    first = np.datetime64(date(start.year - 6, start.month, start.day), "D")
    birth[n_valid:] = _days(first + 1, np.full(n - n_valid, max((six - first).astype(int) - 1, 0)), rng)
    valid_from = np.minimum(birth + rng.integers(0, CARD_DELAY_DAYS + 1, n).astype("timedelta64[D]"), last)
    valid_to = _plus_years(birth, 6) - np.timedelta64(1, "D")
    return pa.table({
        "card_id": _ids("GD4", id_base, n, rng),
        "child_id": _ids("TE", id_base, n, rng),
        "sex": pa.array(np.where(rng.random(n) < MALE_SHARE, "M", "F")),
        "birth_date": pa.array(birth, pa.date32()),
        "valid_from": pa.array(valid_from, pa.date32()),
        "valid_to": pa.array(valid_to, pa.date32()),
        "commune_code": pa.array(np.asarray(communes)[commune]),
    })


def dose_records(communes: np.ndarray, full: np.ndarray, antigens: tuple[str, ...], period: str,
                 rng: np.random.Generator, id_base: int, doses: int = 0, today: date | None = None) -> pa.Table:
    """child_id, birth_date, antigen, dose_date, commune_code: ``full[i]`` fully immunised infants of
    ``communes[i]`` (whose first birthday falls in the period), partly immunised ones, then further doses
    of the multi-dose antigens up to ``doses`` records in all (0: none)."""
    start, end = period_bounds(period)
    extract = np.datetime64(extract_day(period, today), "D")
    partly = np.floor(np.asarray(full) * PARTLY_SHARE + rng.random(len(full))).astype(np.int64)
    counts = np.asarray(full) + partly
    n, k = int(counts.sum()), len(antigens)
    commune = np.repeat(np.arange(len(communes)), counts)
    is_full = np.concatenate([np.r_[np.ones(f, bool), np.zeros(p, bool)] for f, p in zip(full, partly)]) \
        if n else np.zeros(0, bool)
    b0 = np.datetime64(date(start.year - 1, start.month, start.day), "D")
    b1 = np.datetime64(date(end.year - 1, end.month, end.day), "D")
    birth = _days(b0, np.full(n, (b1 - b0).astype(int)), rng)
    birthday = _plus_years(birth, 1)
    # which antigens each child had before the first birthday: all, or 1 to k-1 of them at random
    given = rng.random((n, k)).argsort(axis=1) < np.where(is_full, k, rng.integers(1, k, n))[:, None]
    late = ~is_full & (rng.random(n) < LATE_DOSE_SHARE)  # one missing antigen after the birthday
    late_antigen = np.argmin(given, axis=1)
    child, antigen = np.nonzero(given)
    before = np.minimum(birthday[child] - 1, extract) - birth[child]
    dose = _days(birth[child], np.maximum(before.astype(int), 0), rng)
    late_child = np.nonzero(late & (birthday <= extract))[0]
    late_date = _days(birthday[late_child], (extract - birthday[late_child]).astype(int), rng)
    child = np.concatenate([child, late_child])
    antigen = np.concatenate([antigen, late_antigen[late_child]])
    dose = np.concatenate([dose, late_date])
    child, antigen, dose = _repeat_doses(child, antigen, dose, antigens, max(doses - len(child), 0), extract, rng)
    return pa.table({
        "child_id": pa.array(_ids("TC", id_base, n, rng).take(pa.array(child))),
        "birth_date": pa.array(birth[child], pa.date32()),
        "antigen": pa.array(np.asarray(antigens)[antigen]),
        "dose_date": pa.array(dose, pa.date32()),
        "commune_code": pa.array(np.asarray(communes)[commune[child]]),
    })


def _repeat_doses(child, antigen, dose, antigens, extra, extract, rng):
    """Second and third doses of the multi-dose antigens given before, REPEAT_GAP_DAYS apart, at most
    ``extra``, chosen at random among the first doses whose third would not fall after ``extract``."""
    multi = ~np.isin(np.asarray(antigens)[antigen], SINGLE_DOSE) & (
        dose + np.timedelta64(2 * REPEAT_GAP_DAYS, "D") <= extract)
    slots = np.nonzero(multi)[0]  # each first dose of a multi-dose antigen has two further slots
    if not extra or not len(slots):
        return child, antigen, dose
    pick = rng.choice(2 * len(slots), size=min(extra, 2 * len(slots)), replace=False)
    first, number = slots[pick % len(slots)], pick // len(slots) + 1
    when = dose[first] + (number * REPEAT_GAP_DAYS).astype("timedelta64[D]")
    return (np.concatenate([child, child[first]]), np.concatenate([antigen, antigen[first]]),
            np.concatenate([dose, when]))
