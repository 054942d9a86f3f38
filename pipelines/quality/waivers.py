"""Waivers: an operator's signed decision to release despite one named failure.

``$CRI_HOME/waivers.yaml``::

    waivers:
      - check: consistency.numerator_le_denominator   # the check code (required)
        period: "2025"                                  # optional: only this period
        unit: "00004"                                   # optional: only failures about this unit
        reason: "Số liệu đã được Sở Y tế xác nhận"       # required
        approved_by: "Nguyễn Văn A, Phó Giám đốc Sở Y tế" # required
        date: 2025-11-20                                # required: when it was approved
        expires: 2026-01-31                             # optional: after this day it does nothing

The check must be a code of the check catalogue (``docs/checks.md``); any other
code makes the waiver invalid. A waiver turns a blocking failure into a warning only when it matches: same
check, same period (when given), and, when it names a unit, the failure
concerns that unit and no other. An expired, incomplete or unmatched waiver
does nothing; every waiver appears in the quality report and the manifest
with what it did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from pipelines.checks.catalogue import load_catalogue
from pipelines.checks.core import CheckResult
from pipelines.yamlfile import safe_load

REQUIRED = ("check", "reason", "approved_by", "date")
QUOTE_UNIT = 'write the unit code in quotes (unit: "00004") so that its leading zeros are kept'


@dataclass
class Waiver:
    check: str
    reason: str
    approved_by: str
    date: str
    period: str | None = None
    unit: str | None = None
    expires: str | None = None
    status: str = "unused"  # applied | unused | expired | invalid
    note: str = ""

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def load_waivers(path: Path) -> list[Waiver]:
    """The waivers of the file; a file or entry that cannot be read gives an ``invalid`` waiver that says why."""
    if not path.exists():
        return []
    try:
        doc = safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        doc, problem = {}, f"{path.name} cannot be read: {str(exc).splitlines()[0]}"
    else:
        problem = "" if isinstance(doc, dict) and isinstance(doc.get("waivers") or [], list) else (
            f"{path.name}: expected 'waivers:' followed by a list of waivers")
    if problem:
        return [Waiver(check="", reason="", approved_by="", date="", status="invalid", note=problem)]
    out = []
    for n, entry in enumerate(doc.get("waivers") or []):
        if not isinstance(entry, dict):
            out.append(Waiver(check="", reason="", approved_by="", date="", status="invalid",
                              note=f"{path.name} waivers[{n}]: expected check, unit, reason, approved_by, date"))
            continue
        missing = [k for k in REQUIRED if not entry.get(k)]
        w = Waiver(
            check=str(entry.get("check", "")), reason=str(entry.get("reason", "")),
            approved_by=str(entry.get("approved_by", "")), date=str(entry.get("date", "")),
            period=str(entry["period"]) if entry.get("period") is not None else None,
            unit=str(entry["unit"]) if entry.get("unit") is not None else None,
            expires=str(entry["expires"]) if entry.get("expires") else None,
        )
        bad_dates = [k for k in ("date", "expires") if getattr(w, k) and _day(getattr(w, k)) is None]
        if missing:
            w.status, w.note = "invalid", f"{path.name} waivers[{n}]: missing {', '.join(missing)}"
        elif bad_dates:
            w.status, w.note = "invalid", (f"{path.name} waivers[{n}]: {', '.join(bad_dates)} is not a date "
                                           f"(expected YYYY-MM-DD)")
        elif not load_catalogue().waivable(w.check):
            w.status, w.note = "invalid", (f"{path.name} waivers[{n}]: {w.check} is not a check code "
                                           "(the codes are listed in docs/checks.md)")
        elif isinstance(entry.get("unit"), int):
            w.note = f"unit {entry['unit']} was read as a number: {QUOTE_UNIT}"
        out.append(w)
    return out


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


def apply_waivers(results: list[CheckResult], waivers: list[Waiver], period: str, today: date | None = None) -> None:
    """Mark the failures that a valid, matching waiver covers (in place)."""
    today = today or date.today()
    for w in waivers:
        if w.status == "invalid":
            continue
        if w.expires and _day(w.expires) < today:
            w.status, w.note = "expired", f"expired on {w.expires}"
            continue
        if w.period and w.period != period:
            w.note = f"for period {w.period}"
            continue
        for r in results:
            if r.code != w.check or r.passed:
                continue
            if w.unit and set(r.failing_units) != {w.unit}:
                loaded_note = f"; {w.note}" if QUOTE_UNIT in w.note else ""
                w.note = (f"the failure concerns units {', '.join(r.failing_units[:10]) or '(none named)'}, "
                          f"not only {w.unit}{loaded_note}")
                continue
            r.waived = True
            r.waiver = {k: v for k, v in w.to_dict().items() if k not in ("status", "note")}
            w.status, w.note = "applied", f"{r.failures} failures of {r.code} released as a warning"
        if w.status == "unused" and not w.note:
            w.note = "no matching failure in this run"
