"""The publication history of a period, kept outside its releases: ``publish/<period>/history.jsonl``.

One line per published version, appended (never rewritten) when the version
is published, before ``latest.json`` names it::

    {"version": 2, "manifest_sha256": "…", "time": "2025-11-20T08:00:00Z", "event": "published"}

A version whose publication was taken back (``latest.json`` could not be
replaced) gets a second line with ``"event": "withdrawn"``.

The hash of each manifest is kept here, not in the release: editing a
manifest (and the files it lists) cannot hide the edit, and a lost or
truncated ``latest.json`` can be put back from the history. ``check_period``
lists what is wrong with a period's folder; ``repair_latest`` puts a broken
``latest.json`` back, or refuses with a sentence that says what to do.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipelines.files import fsync_dir, sha256_file
from pipelines.publish.folders import LATEST_NAME, MANIFEST_NAME
from pipelines.publish.folders import versions as _versions
from pipelines.publish.sources import ReleaseError, _check_period

HISTORY_NAME = "history.jsonl"


class HistoryError(RuntimeError):
    """The period's latest.json is broken and cannot be put back from the history; the message says why."""


def append_history(period_dir: Path, version: int, manifest_sha256: str | None, event: str = "published") -> None:
    """Append one line to the period's history and make it durable."""
    line = json.dumps({"version": version, "manifest_sha256": manifest_sha256,
                       "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "event": event})
    path = Path(period_dir) / HISTORY_NAME
    with open(path, "a", encoding="utf-8", newline="\n") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    fsync_dir(Path(period_dir))


def read_history(period_dir: Path) -> tuple[dict[int, str], list[str]]:
    """(version -> recorded manifest sha256 of every version published and not withdrawn, problems)."""
    path = Path(period_dir) / HISTORY_NAME
    recorded: dict[int, str] = {}
    problems: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return recorded, problems
    except (OSError, UnicodeDecodeError) as exc:
        return recorded, [f"{HISTORY_NAME} cannot be read: {exc}"]
    for n, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
            version, event = int(entry["version"]), entry.get("event", "published")
        except (ValueError, TypeError, KeyError):
            problems.append(f"{HISTORY_NAME} line {n} is not a history entry")
            continue
        if event == "withdrawn":
            recorded.pop(version, None)
        else:
            recorded[version] = str(entry.get("manifest_sha256"))
    return recorded, problems


def load_latest(period_dir: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(content of latest.json or None, the problem in plain words or None). A missing file is no problem here."""
    path = Path(period_dir) / LATEST_NAME
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        version = int(content["version"])
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
        return None, (f"{LATEST_NAME} cannot be read (cut short or not JSON: {type(exc).__name__}: "
                      f"{str(exc).splitlines()[0] if str(exc) else ''})")
    if version < 1:
        return None, f"{LATEST_NAME} names no version"
    return content, None


def check_period(period_dir: Path) -> list[str]:
    """What is wrong with a period's releases: each manifest against its recorded hash, and latest.json."""
    period_dir = Path(period_dir)
    recorded, problems = read_history(period_dir)
    folders = _versions(period_dir)
    for v in folders:
        manifest = period_dir / f"v{v}" / MANIFEST_NAME
        if v not in recorded:
            problems.append(f"v{v} has no recorded manifest hash in {HISTORY_NAME} (it was never published, or "
                            f"was written before the history was kept)")
        elif not manifest.is_file():
            problems.append(f"v{v}/{MANIFEST_NAME} is missing")
        elif sha256_file(manifest) != recorded[v]:
            problems.append(f"v{v}/{MANIFEST_NAME} changed since it was published (its sha256 is not the one "
                            f"recorded in {HISTORY_NAME})")
    problems += [f"v{v} is recorded in {HISTORY_NAME} but its folder is missing" for v in recorded
                 if v not in folders]
    latest, problem = load_latest(period_dir)
    if problem:
        problems.append(problem)
    elif latest is None:
        if folders or recorded:
            problems.append(f"{LATEST_NAME} is missing")
    else:
        v = int(latest["version"])
        newest = max(recorded, default=None)
        if v not in recorded and v not in folders:
            problems.append(f"{LATEST_NAME} names v{v}, which does not exist")
        elif v in recorded and latest.get("manifest_sha256") != recorded[v]:
            problems.append(f"{LATEST_NAME} records a manifest hash for v{v} that is not the one in {HISTORY_NAME}")
        elif newest is not None and v != newest:
            problems.append(f"{LATEST_NAME} names v{v}, but the newest published version is v{newest}")
    return problems


def _period_dir(publish_dir: Path | str, period: str | None) -> Path:
    # (publish_dir, period), or the period's folder alone (``Settings.publish_period_dir(period)``)
    return Path(publish_dir) if period is None else Path(publish_dir) / _check_period(period)


def read_latest(publish_dir: Path | str, period: str | None = None) -> dict[str, Any] | None:
    """The content of ``publish/<period>/latest.json``, or None when there is none.

    Call with ``(publish_dir, period)`` or with the period's folder alone.
    """
    folder = _period_dir(publish_dir, period)
    latest, problem = load_latest(folder)
    if problem:
        raise ReleaseError(f"{folder / LATEST_NAME}: {problem}. 'cri run' puts it back from {HISTORY_NAME}; "
                           f"'cri releases verify {folder.name}' says what else is wrong")
    return latest


def latest_version(publish_dir: Path | str, period: str | None = None) -> int | None:
    """The version ``latest.json`` names (None: nothing published). ``(publish_dir, period)`` or the period folder."""
    latest = read_latest(publish_dir, period)
    return int(latest["version"]) if latest else None


__all__ = ["HISTORY_NAME", "HistoryError", "append_history", "read_history", "load_latest", "check_period",
           "read_latest", "latest_version"]
