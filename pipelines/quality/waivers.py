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

A waiver turns a blocking failure into a warning only when it matches: same
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

from pipelines.quality.core import CheckResult

REQUIRED = ("check", "reason", "approved_by", "date")


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
    if not path.exists():
        return []
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out = []
    for n, entry in enumerate(doc.get("waivers") or []):
        missing = [k for k in REQUIRED if not entry.get(k)]
        w = Waiver(
            check=str(entry.get("check", "")), reason=str(entry.get("reason", "")),
            approved_by=str(entry.get("approved_by", "")), date=str(entry.get("date", "")),
            period=str(entry["period"]) if entry.get("period") is not None else None,
            unit=str(entry["unit"]) if entry.get("unit") is not None else None,
            expires=str(entry["expires"]) if entry.get("expires") else None,
        )
        if missing:
            w.status, w.note = "invalid", f"{path.name} waivers[{n}]: missing {', '.join(missing)}"
        out.append(w)
    return out


def apply_waivers(results: list[CheckResult], waivers: list[Waiver], period: str, today: date | None = None) -> None:
    """Mark the failures that a valid, matching waiver covers (in place)."""
    today = today or date.today()
    for w in waivers:
        if w.status == "invalid":
            continue
        if w.expires and date.fromisoformat(w.expires[:10]) < today:
            w.status, w.note = "expired", f"expired on {w.expires}"
            continue
        if w.period and w.period != period:
            w.note = f"for period {w.period}"
            continue
        for r in results:
            if r.code != w.check or r.passed:
                continue
            if w.unit and set(r.failing_units) != {w.unit}:
                w.note = f"the failure concerns units {', '.join(r.failing_units[:10]) or '(none named)'}, not only {w.unit}"
                continue
            r.waived = True
            r.waiver = {k: v for k, v in w.to_dict().items() if k not in ("status", "note")}
            w.status, w.note = "applied", f"{r.failures} failures of {r.code} released as a warning"
        if w.status == "unused" and not w.note:
            w.note = "no matching failure in this run"
