"""Reporting periods: years (``YYYY``) and half-years (``YYYYH1``, ``YYYYH2``)."""

from __future__ import annotations

import re
import warnings

import dagster as dg

# backfill_policy is marked beta; it is the documented way to run a backfill as one run
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=dg.BetaWarning)

FIRST_YEAR = 2019
LAST_YEAR = 2035
PERIOD_RE = re.compile(r"^(?P<year>\d{4})(?:H(?P<half>[12]))?$")


def all_periods(first: int = FIRST_YEAR, last: int = LAST_YEAR) -> list[str]:
    """The years first, then the half-years: so that several years (or several half-years) in a row form one
    range of partitions, which a backfill runs as one run."""
    years = range(first, last + 1)
    return [str(y) for y in years] + [f"{y}H{h}" for y in years for h in (1, 2)]


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

# A backfill of several periods runs as one run (one range of partitions): each step handles every period
# of the run in turn.
single_run = dg.BackfillPolicy.single_run()

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def run_periods(context) -> list[str]:
    """The periods a step works on: one partition, or several in a backfill run (a range of partitions).

    The one way a step learns its period (``context.partition_keys``); a run without a period is refused with a
    sentence."""
    partitioned = context.has_partition_key or context.has_partition_key_range
    keys = list(context.partition_keys) if partitioned else []
    if not keys:
        raise dg.Failure(
            description="Chọn kỳ báo cáo (partition) trước khi chạy / choose a period (partition) for this run")
    return keys


def periods_of_run(tags: dict[str, str]) -> list[str]:
    """The periods of a run seen from outside its steps (sensors, notifications, the lock's name), from its tags:
    one partition, or a range of them (a backfill). A step uses ``run_periods(context)``."""
    if tags.get("dagster/partition"):
        return [tags["dagster/partition"]]
    if tags.get(RANGE_START) and tags.get(RANGE_END):
        return list(period_partitions.get_partition_keys_in_range(
            dg.PartitionKeyRange(tags[RANGE_START], tags[RANGE_END])))
    return []


def run_metadata(per_period: dict[str, dict], totals: tuple[str, ...] = (), **by_period: str) -> dict:
    """The metadata of a step that handled the run's periods, from each period's metadata: a single period's as
    it is; for several, their list, the sum of each key in ``totals``, and for each ``name=key`` the key's value
    per period."""
    if len(per_period) == 1:
        return next(iter(per_period.values()))

    def plain(value):
        return value.value if isinstance(value, dg.MetadataValue) else value

    return {
        "periods": dg.MetadataValue.json(list(per_period)),
        **{key: sum(plain(m[key]) for m in per_period.values()) for key in totals},
        **{name: dg.MetadataValue.json({p: plain(m[key]) for p, m in per_period.items()})
           for name, key in by_period.items()},
    }
