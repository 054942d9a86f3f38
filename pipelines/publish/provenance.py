"""What a release records about where it comes from: the code's version, the quality summary, JSON text."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from datetime import date, datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import pandas as pd

PACKAGE_NAME = "cri-pipeline"


def code_version() -> dict[str, Any]:
    """The package version and, when the code runs from a git checkout, its commit."""
    try:
        version = importlib_metadata.version(PACKAGE_NAME)
    except importlib_metadata.PackageNotFoundError:
        version = None
    commit, dirty = _git_commit()
    return {"package": PACKAGE_NAME, "version": version, "git_commit": commit, "git_dirty": dirty}


def _git(args: list[str], cwd: Path) -> str | None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_OPTIONAL_LOCKS"] = "0"  # never write the index while asking
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=15,
                              check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def _git_commit() -> tuple[str | None, bool | None]:
    from pipelines.settings import REPO_ROOT

    top = _git(["rev-parse", "--show-toplevel"], REPO_ROOT)
    # only the repository this code lives in counts, not one that happens to contain an installed copy
    if not top or Path(top).resolve() != REPO_ROOT.resolve():
        return None, None
    commit = _git(["rev-parse", "HEAD"], REPO_ROOT)
    if not commit or not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", commit):
        return None, None
    status = _git(["status", "--porcelain", "--untracked-files=no"], REPO_ROOT)
    return commit, (None if status is None else bool(status))


def quality_summary(checks: Sequence[Mapping[str, Any]], waivers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts of the checks passed in.

    A check is a dict with ``check_code`` (or ``code``), ``severity`` and
    ``passed``, and optionally ``waived``; without a ``waived`` field, a failed
    check counts as waived when a waiver names its code (``check_code`` or ``check``).
    """
    waived_codes = {w.get("check_code") or w.get("check") for w in waivers}

    def waived(c: Mapping[str, Any]) -> bool:
        if "waived" in c:
            return bool(c["waived"])
        return (c.get("check_code") or c.get("code")) in waived_codes

    failed = [c for c in checks if not c.get("passed")]
    return {
        "checks": len(checks),
        "checks_passed": sum(1 for c in checks if c.get("passed")),
        "checks_failed": len(failed),
        "failed_blocking": sum(1 for c in failed if c.get("severity") == "blocking"),
        "failed_warning": sum(1 for c in failed if c.get("severity") == "warning"),
        "failed_waived": sum(1 for c in failed if waived(c)),
    }


def _jsonable(obj: Any) -> Any:
    if obj is None or isinstance(obj, (str, bool, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(_jsonable(v) for v in obj)
    if isinstance(obj, datetime):
        if obj.tzinfo is not None:
            obj = obj.astimezone(timezone.utc).replace(tzinfo=None)
        return obj.isoformat()
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if callable(getattr(obj, "to_dict", None)):
        return _jsonable(obj.to_dict())
    if is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(asdict(obj))
    if obj is pd.NA or obj is pd.NaT:
        return None
    if hasattr(obj, "item"):  # numpy scalars
        return _jsonable(obj.item())
    return str(obj)


def _dump(obj: Any) -> str:
    return json.dumps(_jsonable(obj), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def _utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
