"""The landing sensor: a new, changed or removed file in ``landing/<period>/<sector>/`` drafts its period.

Every tick (``CRI_LANDING_SENSOR_INTERVAL`` seconds, default 60) the sensor
lists the files ingest reads (``landing/<period>/<sector>/*``, hidden and
``~$`` files excluded), and compares each file's sha256 with the one it saw
last time (the sensor's cursor). A file is hashed again only when its size or
modification time changed, so copying the same file again, or touching it,
never triggers a run: the same content never triggers twice.

When the files of a period changed, the sensor asks for one ``period_draft``
run of that period: every sector's ingest (cheap, and it keeps the warehouse a
mirror of the landing folder) and everything downstream except the release,
so the period's quality report is written again. The run key is made of the
content hashes of the period's files before and after the change: even if the
cursor were lost, the same change never runs twice.

The first tick (no cursor yet: a new Dagster instance, or the first ``make ui`` after ``cri run``) starts
from what the warehouse already ingested (``raw.ingest_files``: each file's path and sha256), so files that
a run has just processed are not drafted again; only files that differ from those are new. While a run
holds the warehouse, the first tick waits for it (the run reads the landing folder anyway).

A file still being copied (modified less than ``CRI_LANDING_SETTLE_SECONDS``,
default 30, ago) waits for the next tick. Folders that are not a period, or
not a sector of the methodology, are ignored (ingest would not read them).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.ingest.landing import is_settled
from pipelines.ingest.landing import settle_seconds as ingest_settle_seconds
from pipelines.ingest.parse import list_landing_files
from pipelines.partitions import is_period, periods_of_run
from pipelines.files import sha256_file
from pipelines.schedules.jobs import DRAFT, DRAFT_JOB, KIND_TAG, OFFICIAL_JOB, TRIGGER_TAG, period_draft
from pipelines.settings import get_settings

CURSOR_VERSION = 1
MAX_TAG = 63  # run tags stay short and readable in the UI's run list
WAITING_STATUSES = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED]


def sensor_interval() -> int:
    return int(os.environ.get("CRI_LANDING_SENSOR_INTERVAL", "60"))


def settle_seconds() -> float:
    """The sensor waits longer than ingest by default (30 s): one setting, ``CRI_LANDING_SETTLE_SECONDS``."""
    return ingest_settle_seconds(default=30.0)


@dataclass
class LandingScan:
    files: dict[str, list] = field(default_factory=dict)  # "period/sector/name" -> [size, mtime_ns, sha256]
    unsettled: list[str] = field(default_factory=list)  # still being written: next tick
    ignored: list[str] = field(default_factory=list)  # folders that are not period/sector

    def by_period(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = defaultdict(dict)
        for rel, (_, _, sha) in self.files.items():
            out[rel.split("/", 1)[0]][rel] = sha
        return out


def scan_landing(landing: Path, sectors: set[str], previous: dict[str, list], settle: float = 0.0,
                 now: float | None = None) -> LandingScan:
    """The landing files with their sha256, reusing ``previous`` hashes for files whose size and mtime are unchanged."""
    now = time.time() if now is None else now
    scan = LandingScan()
    if not landing.is_dir():
        return scan
    for period_dir in sorted(p for p in landing.iterdir() if p.is_dir()):
        if not is_period(period_dir.name):
            scan.ignored.append(period_dir.name)
            continue
        for sector_dir in sorted(p for p in period_dir.iterdir() if p.is_dir()):
            if sector_dir.name not in sectors:
                scan.ignored.append(f"{period_dir.name}/{sector_dir.name}")
                continue
            for f in list_landing_files(sector_dir):
                rel = f"{period_dir.name}/{sector_dir.name}/{f.name}"
                try:
                    st = f.stat()
                except FileNotFoundError:  # removed while we looked
                    continue
                old = previous.get(rel)
                if old and old[0] == st.st_size and old[1] == st.st_mtime_ns:
                    scan.files[rel] = old
                    continue
                if not is_settled(st, settle, now):
                    scan.unsettled.append(rel)
                    if old:  # keep what we knew; look again next tick
                        scan.files[rel] = old
                    continue
                try:
                    scan.files[rel] = [st.st_size, st.st_mtime_ns, sha256_file(f)]
                except FileNotFoundError:
                    continue
    return scan


def processed_files() -> dict[str, list] | None:
    """The files runs already ingested, as a cursor (sha256 known, size and time not): the first tick's start.

    ``None`` while a run holds the warehouse: the sensor waits for the next tick rather than open it.
    """
    from pipelines.lock import is_locked
    from pipelines.warehouse import connect, table_exists

    settings = get_settings()
    if not settings.warehouse_path.exists():
        return {}
    if is_locked(settings.home):
        return None
    try:
        with connect(settings.warehouse_path, read_only=True) as con:
            if not table_exists(con, "raw.ingest_files"):
                return {}
            rows = con.execute("select source_file, file_sha256 from raw.ingest_files").fetchall()
    except duckdb.IOException:  # a writer outside the lock (a tool): the next tick looks again
        return None
    return {rel: [None, None, sha] for rel, sha in rows}


def state_digest(files: dict[str, str]) -> str:
    """A short digest of a period's files and their contents (empty folder: 'empty')."""
    if not files:
        return "empty"
    text = "\n".join(f"{rel}\t{sha}" for rel, sha in sorted(files.items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def read_cursor(cursor: str | None) -> dict[str, list]:
    if not cursor:
        return {}
    try:
        doc = json.loads(cursor)
    except ValueError:
        return {}
    return doc.get("files", {}) if doc.get("v") == CURSOR_VERSION else {}


def write_cursor(files: dict[str, list]) -> str:
    return json.dumps({"v": CURSOR_VERSION, "files": files}, separators=(",", ":"), sort_keys=True)


def _summary(changes: list[str]) -> str:
    text = ",".join(changes)
    return text if len(text) <= MAX_TAG else text[: MAX_TAG - 1] + "…"


def landing_run_requests(previous: dict[str, list], scan: LandingScan) -> list[dg.RunRequest]:
    """One draft run request per period whose files (names or contents) changed, newest period first."""
    before = defaultdict(dict)
    for rel, (_, _, sha) in previous.items():
        before[rel.split("/", 1)[0]][rel] = sha
    after = scan.by_period()
    requests = []
    for period in sorted(set(before) | set(after), reverse=True):
        old, new = before.get(period, {}), after.get(period, {})
        if old == new:
            continue
        changes = sorted(
            [f"+{r.split('/', 1)[1]}" for r in new if r not in old]
            + [f"~{r.split('/', 1)[1]}" for r in new if r in old and old[r] != new[r]]
            + [f"-{r.split('/', 1)[1]}" for r in old if r not in new]
        )
        sectors = sorted({c[1:].split("/", 1)[0] for c in changes})
        requests.append(dg.RunRequest(
            run_key=f"landing:{period}:{state_digest(old)}->{state_digest(new)}",
            partition_key=period,
            tags={TRIGGER_TAG: "landing_sensor", KIND_TAG: DRAFT, "cri/sectors": _summary(sectors),
                  "cri/changes": _summary(changes)},
        ))
    return requests


def _sector_codes() -> set[str]:
    from pipelines.methodology import load_methodology

    return set(load_methodology(get_settings().methodology_path).sector_codes)


def queued_periods(instance: dg.DagsterInstance | None) -> set[str]:
    """Periods that already have a draft or official run waiting in the queue (it will read the new files)."""
    if instance is None:
        return set()
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=WAITING_STATUSES))
    return {period for r in runs if r.job_name in (DRAFT_JOB, OFFICIAL_JOB) for period in periods_of_run(r.tags)}


def evaluate_landing(cursor: str | None, settle: float | None = None,
                     waiting: set[str] | None = None) -> dg.SensorResult | dg.SkipReason:
    """The sensor's work, apart from Dagster's context (for tests).

    ``waiting``: periods with a run already queued; that run will read the landing folder when it
    starts, so no second run is asked for.
    """
    settings = get_settings()
    previous = read_cursor(cursor)
    if cursor is None:
        seeded = processed_files()
        if seeded is None:
            return dg.SkipReason("Kho dữ liệu đang được một lần chạy sử dụng; cảm biến bắt đầu ở lượt sau / a run "
                                 "holds the warehouse: the sensor starts from what it ingested at the next tick")
        previous = seeded
    if previous and not any(settings.landing_dir.glob("*/*/*")):
        # Every file gone at once is a folder that is not there (an unmounted share), not a decision:
        # drafting every period from nothing would empty the warehouse. Keep the cursor and wait.
        return dg.SkipReason(f"Thư mục landing trống hoặc không có / the landing folder {settings.landing_dir} is empty "
                             f"or missing (unmounted?): nothing done")
    scan = scan_landing(settings.landing_dir, _sector_codes(), previous,
                        settle=settle_seconds() if settle is None else settle)
    requests = landing_run_requests(previous, scan)
    already = [r.partition_key for r in requests if r.partition_key in (waiting or set())]
    requests = [r for r in requests if r.partition_key not in (waiting or set())]
    new_cursor = write_cursor(scan.files)
    if not requests:
        why = "Không có tệp mới hoặc thay đổi / no new or changed file in landing"
        if already:
            why = (f"Đã có lần chạy đang chờ cho kỳ {', '.join(already)} / a run of {', '.join(already)} is already "
                   f"queued and will read the new files")
        if scan.unsettled:
            why += f"; {len(scan.unsettled)} file(s) still being written: {', '.join(scan.unsettled[:5])}"
        if new_cursor != (cursor or write_cursor({})):
            return dg.SensorResult(skip_reason=dg.SkipReason(why), cursor=new_cursor)
        return dg.SkipReason(why)
    return dg.SensorResult(run_requests=requests, cursor=new_cursor)


@dg.sensor(
    name="landing_sensor",
    job=period_draft,
    minimum_interval_seconds=sensor_interval(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Theo dõi thư mục landing: tệp mới hoặc thay đổi (theo sha256) kích hoạt một lần chạy nháp cho kỳ của "
        "tệp.\n\nWatches the landing folder: a new or changed file (by sha256) starts a draft run of its period; "
        "the same content never triggers twice."
    ),
)
def landing_sensor(context: dg.SensorEvaluationContext):
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:  # a context built without an instance (tests)
        instance = None
    result = evaluate_landing(context.cursor, waiting=queued_periods(instance))
    if isinstance(result, dg.SensorResult) and result.run_requests:
        for r in result.run_requests:
            context.log.info(f"draft {r.partition_key}: {r.tags.get('cri/changes')}")
    return result
