"""Previous ranks come from what was published, not from the warehouse.

``previous_rank`` and ``rank_change`` of a release compare with the ranking
people saw: the previous period's latest release
(``publish/<previous>/latest.json`` -> its ``province_ranking.parquet``). A
rebuilt warehouse, or a previous period recomputed since, changes nothing.
When there is no such release (or it cannot be read, or its file does not
match its manifest), both columns are left empty, and the gate and the
manifest say so (``output.previous_release``, a warning).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.checks.catalogue import message, severity_of, title_of
from pipelines.checks.core import CheckResult
from pipelines.checks.keys import MARTS_RANKING
from pipelines.partitions import previous_period
from pipelines.files import sha256_file
from pipelines.publish.history import MANIFEST_NAME, load_latest

RANKING_FILE = "province_ranking.parquet"
CODE = "output.previous_release"


@dataclass
class PreviousRanks:
    period: str  # the previous period
    version: int | None  # its latest release, when there is one
    ranks: dict[str, int | None] | None  # province code -> rank (None: not ranked); None: no release
    note: str

    def manifest(self) -> dict[str, Any]:
        return {"period": self.period, "release": f"v{self.version}" if self.version else None,
                "source": f"publish/{self.period}/v{self.version}/{RANKING_FILE}" if self.ranks is not None else None,
                "note": self.note}


def _missing(period: str, why: str) -> PreviousRanks:
    return PreviousRanks(period, None, None, message(CODE, "failed", period=period, why=why))


def previous_ranks(publish_dir: Path | str, period: str) -> PreviousRanks:
    """The ranks of the previous period's latest release."""
    prev = previous_period(period)
    folder = Path(publish_dir) / prev
    latest, problem = load_latest(folder)
    if problem:
        return _missing(prev, problem)
    if latest is None:
        return _missing(prev, message(CODE, "never_published"))
    version = int(latest["version"])
    path = folder / f"v{version}" / RANKING_FILE
    try:
        manifest = json.loads((folder / f"v{version}" / MANIFEST_NAME).read_text(encoding="utf-8"))
        listed = {o.get("name"): o.get("sha256") for o in manifest.get("outputs", [])}
        if listed.get(RANKING_FILE) != sha256_file(path):
            return _missing(prev, message(CODE, "not_in_manifest", version=version, file=RANKING_FILE))
        df = pd.read_parquet(path, columns=["province_code", "rank"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return _missing(prev, message(CODE, "unreadable", version=version, error=type(exc).__name__))
    ranks = {str(c): (None if pd.isna(r) else int(r)) for c, r in zip(df["province_code"], df["rank"])}
    return PreviousRanks(prev, version, ranks, message(CODE, "passed", period=prev, version=version))


def apply_previous_ranks(ranking: pd.DataFrame, previous: PreviousRanks) -> pd.DataFrame:
    """``ranking`` with previous_rank and rank_change (previous_rank - rank) from ``previous``."""
    out = ranking.copy()
    prev = out["province_code"].astype(str).map(previous.ranks or {})
    prev = pd.array([None if pd.isna(v) else int(v) for v in prev], dtype="Int64")
    rank = pd.array(out["rank"], dtype="Int64")
    for col, values in (("previous_rank", prev), ("rank_change", prev - rank)):
        out[col] = pd.Series(values, index=out.index).astype(out[col].dtype)
    return out


def previous_release(publish_dir: Path, period: str) -> CheckResult:
    """The previous period's latest release, from which previous ranks are taken (a warning when missing)."""
    found = previous_ranks(publish_dir, period)
    return CheckResult(
        code=CODE, severity=severity_of(CODE),
        passed=found.ranks is not None, failures=0 if found.ranks is not None else 1, message=found.note,
        asset=MARTS_RANKING, title_vi=title_of(CODE),
        examples=[] if found.ranks is not None else [{"period": found.period, "problem": found.note}],
    )


def previous_release_check(con, period: str, m=None) -> list[CheckResult]:
    """``previous_release`` as an extra check of the gate (the signature the gate calls)."""
    from pipelines.settings import get_settings

    return [previous_release(get_settings().publish_dir, period)]


__all__ = ["PreviousRanks", "previous_ranks", "apply_previous_ranks", "previous_release", "previous_release_check"]
