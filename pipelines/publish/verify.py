"""Reading releases back: verify a release against its manifest and the history, list every release."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipelines.files import sha256_file
from pipelines.publish.folders import LATEST_NAME, MANIFEST_NAME, write_latest
from pipelines.publish.folders import files_in as _files_in
from pipelines.publish.folders import versions as _versions
from pipelines.publish.history import HISTORY_NAME, HistoryError, check_period, latest_version, load_latest, read_history
from pipelines.publish.sources import PERIOD_RE, ReleaseError, _check_period


@dataclass
class VerifyResult:
    period: str
    version: int | None
    path: Path | None
    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.changed or self.extra or self.problems)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return self.summary()

    def summary(self) -> str:
        if self.ok:
            return f"{self.period} v{self.version}: {self.checked} files verified"
        parts = [f"{k}: {', '.join(v)}" for k, v in
                 (("missing", self.missing), ("changed", self.changed), ("extra", self.extra),
                  ("problems", self.problems)) if v]
        return f"{self.period} v{self.version}: " + "; ".join(parts)


@dataclass(frozen=True)
class ReleaseInfo:
    period: str
    version: int
    path: Path
    created_at: str | None
    methodology_version: str | None
    latest: bool

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


# --------------------------------------------------------------------------------------------------
# reading releases back


def verify_release(publish_dir: Path | str, period: str, version: int | None = None) -> VerifyResult:
    """Re-hash every file the manifest lists; report missing, changed and extra files.

    ``version`` None: the version ``latest.json`` names (or the highest when it is absent).
    """
    publish_dir = Path(publish_dir)
    period_dir = publish_dir / _check_period(period)
    latest, latest_problem = load_latest(period_dir)
    if version is None:
        version = int(latest["version"]) if latest else max(_versions(period_dir), default=None)
    result = VerifyResult(period=period, version=version, path=None)
    # every version's manifest against its hash in history.jsonl, and latest.json's presence and integrity
    result.problems += check_period(period_dir) if period_dir.is_dir() else []
    if latest_problem and latest_problem not in result.problems:
        result.problems.append(latest_problem)
    if version is None:
        result.problems.append(f"no release of period {period} under {publish_dir}")
        return result
    folder = period_dir / f"v{version}"
    result.path = folder
    if not folder.is_dir():
        result.problems.append(f"{folder} does not exist")
        return result
    if latest and int(latest.get("version", 0)) > max(_versions(period_dir), default=0):
        result.problems.append(f"{LATEST_NAME} names v{latest.get('version')}, which does not exist")
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        result.missing.append(MANIFEST_NAME)
        return result
    except (OSError, ValueError) as exc:
        result.problems.append(f"{MANIFEST_NAME} cannot be read: {exc}")
        return result
    if manifest.get("period") != period or manifest.get("release_version") != version:
        result.problems.append(f"{MANIFEST_NAME} describes {manifest.get('period')} "
                               f"v{manifest.get('release_version')}, not {period} v{version}")
    if latest and int(latest.get("version", 0)) == version and latest.get("manifest_sha256") not in (
            None, sha256_file(folder / MANIFEST_NAME)):
        result.changed.append(MANIFEST_NAME)

    listed = set()
    root = folder.resolve()
    for entry in manifest.get("outputs", []):
        name = str(entry.get("name", ""))
        listed.add(name)
        path = folder / name
        if not name or root not in path.resolve().parents:
            result.problems.append(f"{MANIFEST_NAME} lists a file outside the release: {name!r}")
            continue
        result.checked += 1
        if not path.is_file():
            result.missing.append(name)
        elif path.stat().st_size != entry.get("bytes") or sha256_file(path) != entry.get("sha256"):
            result.changed.append(name)
    result.extra = [n for n in _files_in(folder) if n != MANIFEST_NAME and n not in listed]
    return result


def list_releases(publish_dir: Path | str) -> list[ReleaseInfo]:
    """Every release under ``publish_dir``, by period then version."""
    publish_dir = Path(publish_dir)
    if not publish_dir.is_dir():
        return []
    out = []
    for period_dir in sorted(p for p in publish_dir.iterdir() if p.is_dir() and PERIOD_RE.match(p.name)):
        try:
            latest = latest_version(publish_dir, period_dir.name)
        except (OSError, ValueError, KeyError, TypeError, ReleaseError):  # a broken latest.json names no version
            latest = None
        for v in _versions(period_dir):
            folder = period_dir / f"v{v}"
            try:
                manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                manifest = {}
            out.append(ReleaseInfo(
                period=period_dir.name, version=v, path=folder, created_at=manifest.get("created_at"),
                methodology_version=(manifest.get("methodology") or {}).get("version"), latest=(v == latest)))
    return out


def repair_latest(period_dir: Path) -> str | None:
    """Put back a missing, unreadable or wrong latest.json from the history; say what was done (None: nothing).

    The newest version of the history whose manifest still has its recorded
    hash becomes latest. Raises :class:`HistoryError` with a plain sentence
    when there is no such version.
    """
    period_dir = Path(period_dir)
    latest, problem = load_latest(period_dir)
    recorded, _ = read_history(period_dir)
    if latest is not None or (problem is None and not recorded and not _versions(period_dir)):
        return None  # readable (its consistency is for 'cri releases verify'), or nothing published yet
    good = [v for v in sorted(recorded, reverse=True)
            if (period_dir / f"v{v}" / MANIFEST_NAME).is_file()
            and sha256_file(period_dir / f"v{v}" / MANIFEST_NAME) == recorded[v]]
    if not recorded:  # written before the history was kept: the newest version whose files match its manifest
        good = [v for v in sorted(_versions(period_dir), reverse=True) if _complete(period_dir, v)][:1]
    if not good:
        why = problem or f"{LATEST_NAME} is missing"
        raise HistoryError(
            f"{period_dir / LATEST_NAME}: {why}, and {HISTORY_NAME} names no complete version to put back. "
            f"Check the releases with 'cri releases verify {period_dir.name}', then restore {LATEST_NAME} from a "
            f"backup (or remove the period's folder to publish afresh)")
    v = good[0]
    manifest_path = period_dir / f"v{v}" / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    write_latest(period_dir, {"period": period_dir.name, "version": v, "release": f"v{v}",
                               "created_at": manifest.get("created_at"), "manifest_sha256": sha256_file(manifest_path)})
    source = HISTORY_NAME if recorded else "the newest complete version"
    return f"{problem or f'{LATEST_NAME} was missing'}; put back from {source}: {LATEST_NAME} now names v{v}"


def _complete(period_dir: Path, version: int) -> bool:
    result = verify_release(period_dir.parent, period_dir.name, version=version)
    return not (result.missing or result.changed or result.extra)
