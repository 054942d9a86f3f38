"""Tier groups (nhóm xếp loại) of a methodology: by share of the ranked units, by rank ranges or by score.

One basis per methodology version, the same for every group of the ``tiers`` list; each group names exactly
one bound:

``max_rank_share``  (basis ``rank_share``) a unit is in the first group whose share is at or above
                    rank / number of ranked units; the shares increase and the last is 1.0.
``ranks``           (basis ``rank``) the ranks of the group, ``[first, last]``: ranges follow each other from
                    rank 1 (5 / 8 / 8 / 6 of 27 units: [1, 5], [6, 13], [14, 21], [22]); the last group gives
                    only its first rank and takes every rank from there, so every ranked unit has a group
                    whatever the number of units (communes of a province).
``min_score``       (basis ``score``) a unit is in the first group whose minimum its index (rounded to the
                    method's ``rank_decimals``) reaches; the minima decrease and the last is 0.

Ties at a boundary go to the better group: tied units share the better rank (rank() over the rounded index),
and equal rounded indices are in the same score group.

:func:`tier_of` is the rule in Python (tests, the report); the dbt macro ``with_tiers``
(dbt_project/macros/ranking.sql) computes it in the warehouse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

TIER_BASES = {"max_rank_share": "rank_share", "ranks": "rank", "min_score": "score"}


class TierError(ValueError):
    """The tiers of a methodology file are not valid; the message says where and why."""


@dataclass(frozen=True)
class Tier:
    tier: int
    name_vi: str
    name_en: str
    max_rank_share: float | None = None
    basis: str = "rank_share"
    min_rank: int | None = None
    max_rank: int | None = None  # None: every rank from min_rank on (the last group)
    min_score: float | None = None


def _number(value: Any, where: str, key: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TierError(f"{where}: field '{key}' must be a number, got {value!r}") from None


def _ranks(value: Any, where: str, last: bool) -> tuple[int, int | None]:
    bounds = value if isinstance(value, list) else [value]
    if not bounds or len(bounds) > 2 or not all(isinstance(b, int) and b >= 1 for b in bounds):
        raise TierError(f"{where}: ranks must be [first, last] (whole ranks from 1), got {value!r}")
    if len(bounds) == 1 and not last:
        raise TierError(f"{where}: only the last group may give its first rank alone; give [first, last]")
    if len(bounds) == 2 and last:
        raise TierError(f"{where}: the last group gives only its first rank ([{bounds[0]}]): it takes every rank "
                        "from there, so that every ranked unit has a group")
    if len(bounds) == 2 and bounds[1] < bounds[0]:
        raise TierError(f"{where}: ranks [{bounds[0]}, {bounds[1]}] end before they start")
    return bounds[0], (bounds[1] if len(bounds) == 2 else None)


def parse_tiers(raw: Any, where: str) -> tuple[Tier, ...]:
    """Read and check the ``tiers`` list of a methodology file (see the module text)."""
    if not isinstance(raw, list) or not raw:
        raise TierError(f"{where}: tiers must be a list of groups")
    tiers: list[Tier] = []
    bases = set()
    for n, t in enumerate(raw):
        w = f"{where}: tiers[{n}]"
        if not isinstance(t, dict):
            raise TierError(f"{w}: a group is a mapping with tier, name_vi, name_en and one bound")
        keys = [k for k in TIER_BASES if k in t]
        if len(keys) != 1:
            raise TierError(f"{w}: give exactly one of {', '.join(TIER_BASES)}")
        bases.add(TIER_BASES[keys[0]])
        for key in ("tier", "name_vi", "name_en"):
            if t.get(key) in (None, ""):
                raise TierError(f"{w}: field '{key}' is required")
        common = {"tier": int(t["tier"]), "name_vi": str(t["name_vi"]), "name_en": str(t["name_en"]),
                  "basis": TIER_BASES[keys[0]]}
        if keys[0] == "max_rank_share":
            tiers.append(Tier(**common, max_rank_share=_number(t["max_rank_share"], w, "max_rank_share")))
        elif keys[0] == "ranks":
            first, last = _ranks(t["ranks"], w, n == len(raw) - 1)
            tiers.append(Tier(**common, min_rank=first, max_rank=last))
        else:
            tiers.append(Tier(**common, min_score=_number(t["min_score"], w, "min_score")))
    if len(bases) != 1:
        raise TierError(f"{where}: tiers mix {' and '.join(sorted(bases))}; one basis per methodology version")
    numbers = [t.tier for t in tiers]
    if numbers != sorted(set(numbers)):
        raise TierError(f"{where}: tier numbers must increase down the list (1 is the best group)")
    _check_bounds(tiers, where)
    return tuple(tiers)


def _check_bounds(tiers: list[Tier], where: str) -> None:
    basis = tiers[0].basis
    if basis == "rank_share":
        shares = [t.max_rank_share for t in tiers]
        if shares != sorted(shares) or len(set(shares)) != len(shares) or shares[-1] != 1.0 or shares[0] <= 0:
            raise TierError(f"{where}: tiers must have increasing max_rank_share ending at 1.0")
    elif basis == "rank":
        expected = 1
        for t in tiers:
            if t.min_rank != expected:
                raise TierError(f"{where}: tier {t.tier} starts at rank {t.min_rank}; the ranges follow each "
                                f"other from rank 1, so it should start at {expected}")
            expected = (t.max_rank or 0) + 1
    else:
        scores = [t.min_score for t in tiers]
        if scores != sorted(scores, reverse=True) or len(set(scores)) != len(scores) or scores[-1] != 0:
            raise TierError(f"{where}: tiers must have decreasing min_score ending at 0 (every index has a group)")


def tier_of(tiers: Sequence[Tier], rank: int | None, ranked: int, score: float | None) -> int | None:
    """The group of a ranked unit: ``rank`` (shared by ties), ``ranked`` units, ``score`` rounded as for ranking."""
    if rank is None or ranked <= 0:
        return None
    for t in tiers:
        if t.basis == "rank_share" and rank / ranked <= t.max_rank_share + 1e-9:
            return t.tier
        if t.basis == "rank" and (t.max_rank is None or rank <= t.max_rank):
            return t.tier
        if t.basis == "score" and score is not None and score >= t.min_score - 1e-9:
            return t.tier
    return None


def tier_rule_texts(tiers: Sequence[Tier], units_vi: str = "số tỉnh được xếp hạng") -> list[str]:
    """One Vietnamese line per group: its name and its bound."""
    lines, previous = [], None
    for t in tiers:
        if t.basis == "rank_share":
            share = f"{t.max_rank_share:.0%}".replace(".", ",")
            span = f"đến {share}" if previous is None else f"trên {previous} đến {share}"
            lines.append(f"{t.name_vi}: thứ hạng / {units_vi} {span}")
            previous = share
        elif t.basis == "rank":
            span = (f"thứ hạng {t.min_rank} đến {t.max_rank}" if t.max_rank is not None
                    else f"thứ hạng {t.min_rank} trở xuống")
            lines.append(f"{t.name_vi}: {span}")
        else:
            score = f"{t.min_score:g}".replace(".", ",")
            lines.append(f"{t.name_vi}: chỉ số từ {score} điểm trở lên")
    return lines + ["Các đơn vị bằng điểm ở ranh giới hai nhóm cùng thuộc nhóm tốt hơn."]
