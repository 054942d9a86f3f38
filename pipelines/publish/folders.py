"""The folder of a period's releases: ``publish/<period>/v<N>/``, ``latest.json``, the temporary folders of a
release being written. The lowest layer of publishing: the release writer, the history, the verifier and the
disclosure audit all list and name the folders through it."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path
from typing import Any

from pipelines.files import fsync_dir, write_text
from pipelines.publish.provenance import _dump

MANIFEST_NAME = "manifest.json"
LATEST_NAME = "latest.json"
LOCK_NAME = ".lock"
TMP_PREFIX = ".tmp-"

VERSION_RE = re.compile(r"^v([1-9]\d*)$")


def versions(period_dir: Path) -> list[int]:
    if not period_dir.is_dir():
        return []
    out = []
    for p in period_dir.iterdir():
        m = VERSION_RE.match(p.name)
        if m and p.is_dir():
            out.append(int(m.group(1)))
    return sorted(out)


def files_in(folder: Path) -> list[str]:
    """Every file under ``folder``, as sorted POSIX paths relative to it."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def write_latest(period_dir: Path, content: dict[str, Any]) -> None:
    tmp = period_dir / f"{TMP_PREFIX}latest-{secrets.token_hex(4)}.json"
    try:
        write_text(tmp, _dump(content))
        os.replace(tmp, period_dir / LATEST_NAME)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(period_dir)
