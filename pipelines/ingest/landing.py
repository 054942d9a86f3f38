"""The landing folder is a drop box, not a file system to trust.

Ingest reads ``landing/<period>/<sector>/`` through ``sector_entries``, which
decides for every name in the folder whether it is read, left for the next
run, or reported and not read:

* regular files only: a symbolic link is never followed (``landing.symlink``),
  a sub-folder, pipe or device is not read (``landing.not_a_file``), and a
  file whose real path is not inside the landing folder (the sector folder
  itself a link to elsewhere) is not read (``landing.outside_landing``);
* a file modified less than ``CRI_LANDING_SETTLE_SECONDS`` (default 5) ago,
  or that changes size while it is read, is still being copied: it is left
  for the next run and named in the run's metadata -- neither loaded nor
  rejected;
* a file name that is not valid UTF-8 is read, and named with its undecodable
  bytes written as ``\\xNN`` (``safe_name``), never a crash;
* hidden files and Office lock files (``~$...``) are skipped, as before.

``period_findings`` reports what no sector reads: a folder of
``landing/<period>/`` that is not a sector of the methodology (``Justice`` for
``justice``, a typo) with the closest sector as a suggestion
(``landing.unknown_folder``), and files put directly in the period folder
(``landing.unknown_file``). Findings are whole-file rejects of
``raw.rejected_rows`` (no row number), so the quality report and the gate see
them like any other rejected file; nothing in them was read.

The landing sensor (``pipelines.schedules.landing``) uses the same settle rule.
"""

from __future__ import annotations

import difflib
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.ingest.messages import reason, texts

SETTLE_ENV = "CRI_LANDING_SETTLE_SECONDS"
DEFAULT_SETTLE_SECONDS = 5.0

#: Every finding this module reports: code -> (Vietnamese, English) meaning.
CHECK_CODES: dict[str, tuple[str, str]] = {
    "landing.symlink": ("Liên kết tượng trưng trong thư mục landing: không đọc",
                        "symbolic link in landing: not followed, not read"),
    "landing.not_a_file": ("Không phải tệp thông thường (thư mục con, thiết bị): không đọc",
                           "not a regular file (sub-folder, pipe, device): not read"),
    "landing.outside_landing": ("Tệp nằm ngoài thư mục landing: không đọc", "file outside the landing folder: not read"),
    "landing.unknown_folder": ("Thư mục không phải ngành của phương pháp: không đọc",
                               "folder is not a sector of the methodology: not read"),
    "landing.unknown_file": ("Tệp đặt ngoài thư mục ngành: không đọc", "file outside any sector folder: not read"),
}


def settle_seconds(default: float = DEFAULT_SETTLE_SECONDS) -> float:
    """How long a landing file must stay unchanged before it is read (``CRI_LANDING_SETTLE_SECONDS``)."""
    return float(os.environ.get(SETTLE_ENV, default))


def is_settled(st: os.stat_result, settle: float, now: float | None = None) -> bool:
    """The file was last modified at least ``settle`` seconds ago."""
    return (time.time() if now is None else now) - st.st_mtime >= settle


def safe_name(name: str) -> str:
    """A file name as text that can always be printed and stored: bytes that are not UTF-8 become ``\\xNN``."""
    return os.fsencode(name).decode("utf-8", errors="backslashreplace")


def skipped_name(name: str) -> bool:
    """Hidden files and Office lock files: never read, never reported."""
    return name.startswith((".", "~$"))


@dataclass(frozen=True)
class Finding:
    """A name in landing that was not read: ``name`` relative to the landing folder."""

    name: str
    check_code: str
    reason: str


@dataclass
class SectorEntries:
    files: list[Path] = field(default_factory=list)  # to read, in name order
    names: dict[Path, str] = field(default_factory=dict)  # safe display name of each file
    findings: list[Finding] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # still being copied: left for the next run

    def wait(self, path: Path, why: str) -> None:
        self.waiting.append(f"{self.names.get(path, safe_name(path.name))} ({why})")


def sector_entries(folder: Path, landing: Path | None, rel_prefix: str, settle: float = 0.0,
                   now: float | None = None) -> SectorEntries:
    """What to read in one sector folder; ``rel_prefix`` ('2025/health') names the findings."""
    out = SectorEntries()
    folder = Path(folder)
    if not folder.is_dir():
        return out
    root = Path(landing).resolve() if landing is not None else None
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if skipped_name(entry.name):
            continue
        name = safe_name(entry.name)
        rel = f"{rel_prefix}/{name}"
        path = Path(entry.path)
        finding = _not_readable(entry, path, rel, root)
        if finding is not None:
            out.findings.append(finding)
            continue
        out.names[path] = name
        if settle > 0 and not is_settled(entry.stat(follow_symlinks=False), settle, now):
            out.wait(path, f"modified less than {settle:g} s ago")
            continue
        out.files.append(path)
    return out


def _not_readable(entry: os.DirEntry, path: Path, rel: str, root: Path | None) -> Finding | None:
    if entry.is_symlink():
        return Finding(rel, "landing.symlink", reason("landing.symlink", name=rel))
    mode = entry.stat(follow_symlinks=False).st_mode
    if not stat.S_ISREG(mode):
        kind = texts("fragment.sub_folder") if stat.S_ISDIR(mode) else texts("fragment.special_file")
        return Finding(rel, "landing.not_a_file", reason("landing.not_a_file", name=rel, kind=kind))
    if root is not None and not path.resolve().is_relative_to(root):
        return Finding(rel, "landing.outside_landing", reason(
            "landing.outside_landing", name=rel, target=safe_name(str(path.resolve())), root=root))
    return None


def changed_while_read(path: Path, before: os.stat_result) -> bool:
    """The file grew, shrank or was rewritten while it was read (still being copied)."""
    try:
        after = path.stat(follow_symlinks=False)
    except OSError:
        return True
    return (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns)


def suggest_sector(name: str, sectors: list[str]) -> str | None:
    """The sector a misspelt folder most likely means ('Justice' -> 'justice'), or None."""
    lowered = {s.lower(): s for s in sectors}
    key = name.strip().lower()
    if key in lowered:
        return lowered[key]
    close = difflib.get_close_matches(key, list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def period_findings(period_dir: Path, period: str, sectors: list[str]) -> dict[str, list[Finding]]:
    """Folders and files of ``landing/<period>/`` that no sector reads, by the sector that reports them:
    the suggested sector, else the methodology's first sector (each finding is reported once)."""
    out: dict[str, list[Finding]] = {}
    period_dir = Path(period_dir)
    if not period_dir.is_dir() or not sectors:
        return out
    for entry in sorted(os.scandir(period_dir), key=lambda e: e.name):
        if skipped_name(entry.name) or (entry.name in sectors and entry.is_dir(follow_symlinks=False)):
            continue
        name = safe_name(entry.name)
        rel = f"{period}/{name}"
        if entry.is_symlink():
            out.setdefault(suggest_sector(entry.name, sectors) or sectors[0], []).append(
                _not_readable(entry, Path(entry.path), rel, None))
        elif entry.is_dir(follow_symlinks=False):
            guess = suggest_sector(entry.name, sectors)
            hint = texts("fragment.rename_folder", guess=guess) if guess else ""
            out.setdefault(guess or sectors[0], []).append(Finding(rel, "landing.unknown_folder", reason(
                "landing.unknown_folder", name=rel, sectors=", ".join(sectors), hint=hint)))
        else:
            out.setdefault(sectors[0], []).append(Finding(rel, "landing.unknown_file", reason(
                "landing.unknown_file", name=rel, period=period)))
    return out
