"""Disclosure control for commune figures about sensitive data elements.

Counts of abused children or of children in conflict with the law in a
commune can identify a child. The methodology marks those data elements
``sensitive: true``; an indicator is *sensitive* when any term of its
numerator is. Its commune rows in the published ``indicator_values`` follow
this rule (the ``disclosure`` section of the methodology sets the range):

1. **Primary suppression.** A commune whose numerator is from
   ``suppress_min`` to ``suppress_max`` (1 to 4) is suppressed: its
   numerator, value and score are published empty and ``suppressed`` is true.
   Zero is not suppressed (it identifies no one).
2. **Complementary suppression.** The province figure is published in full
   and it is the sum of its communes, so "province total minus the published
   communes" equals the sum of the suppressed communes. Within each province
   and indicator, that difference must never equal the count of one
   suppressed commune: at least TWO suppressed communes must hold a non-zero
   count. While fewer do, one more commune is suppressed: the unsuppressed
   commune with the smallest numerator above zero (ties: the lowest commune
   code); if every unsuppressed commune has zero, the one with the lowest
   code, so that at least two communes are suppressed (see "residual" below).
   The check is repeated until it holds.
3. Denominators (child population and the like) are always published, and so
   are province rows and non-sensitive indicators.

What the rule guarantees. A reader who knows the province total, every
published commune and which communes are suppressed (the flag does not say
which suppression is primary) learns only the sum of the suppressed counts;
each suppressed commune could hold anything from 0 to that sum, and since at
least two suppressed communes hold a count, the sum is larger than each of
them: no suppressed count can be recovered by subtraction.

Residual case. When a province has a single commune with a count in the range
and every other commune has zero, no choice of communes can make the
difference larger than that count: the province total itself says how many
cases there are. The commune is then hidden among two suppressed communes and
the group is reported as ``residual`` (in the result and the release manifest)
so that it can be reviewed; province figures stay published as the rule says.

Everything here is a pure function of DataFrames: the warehouse is not read
or written, and the input frame is not modified.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd


GROUP = ("period", "province_code", "indicator_code")


@dataclass(frozen=True)
class DisclosureRule:
    suppress_min: int = 1
    suppress_max: int = 4
    level: str = "commune"

    def __post_init__(self) -> None:
        if not 1 <= self.suppress_min <= self.suppress_max:
            raise ValueError(
                f"disclosure: need 1 <= suppress_min <= suppress_max, got {self.suppress_min}, {self.suppress_max}"
            )

    @classmethod
    def from_methodology(cls, methodology) -> "DisclosureRule":
        d = methodology.disclosure or {}
        return cls(suppress_min=int(d.get("suppress_min", 1)), suppress_max=int(d.get("suppress_max", 4)))

    def describe(self) -> dict[str, Any]:
        """The rule as recorded in the release manifest and the data dictionary."""
        lo, hi = self.suppress_min, self.suppress_max
        return {
            "level": self.level,
            "suppress_min": lo,
            "suppress_max": hi,
            "applies_to": "commune rows of indicators whose numerator includes a sensitive data element",
            "primary": f"numerator from {lo} to {hi}: numerator, value and score withheld, suppressed = true",
            "complementary": (
                "per province and indicator, at least two suppressed communes must hold a non-zero count, so that "
                "province total minus published communes never equals one suppressed count; otherwise also "
                "suppress the unsuppressed commune with the smallest numerator > 0 (ties: lowest code), else the "
                "smallest (lowest code); repeat until it holds"
            ),
            "published_in_full": "denominators, province rows, non-sensitive indicators",
            "text_vi": (
                f"Số liệu cấp xã của chỉ số có tử số là số liệu nhạy cảm (xâm hại trẻ em, trẻ em vi phạm pháp luật) "
                f"từ {lo} đến {hi} được ẩn (tử số, giá trị, điểm để trống; suppressed = true). Trong mỗi tỉnh và "
                f"chỉ số, ít nhất hai xã bị ẩn phải có số liệu khác 0 để không thể suy ra số liệu một xã bằng cách "
                f"lấy số của tỉnh trừ các xã đã công bố; nếu chưa đủ, ẩn thêm xã có tử số nhỏ nhất lớn hơn 0 "
                f"(nếu không có, xã có tử số nhỏ nhất). Mẫu số và số liệu cấp tỉnh luôn được công bố."
            ),
            "text_en": (
                f"Commune figures of indicators whose numerator is a sensitive data element (child abuse, children "
                f"in conflict with the law) from {lo} to {hi} are suppressed (numerator, value, score empty; "
                f"suppressed = true). Within each province and indicator at least two suppressed communes must "
                f"hold a non-zero count, so no commune can be recovered as province total minus the published "
                f"communes; otherwise the commune with the smallest numerator above 0 (else the smallest) is also "
                f"suppressed. Denominators and province figures are always published."
            ),
        }


@dataclass
class DisclosureResult:
    table: pd.DataFrame
    rule: DisclosureRule
    sensitive_indicators: tuple[str, ...]
    primary: int = 0
    complementary: int = 0
    residual: list[dict[str, Any]] = field(default_factory=list)

    @property
    def cells_suppressed(self) -> int:
        return self.primary + self.complementary

    def summary(self) -> dict[str, Any]:
        return {
            "rule": self.rule.describe(),
            "sensitive_indicators": list(self.sensitive_indicators),
            "cells_suppressed": self.cells_suppressed,
            "primary": self.primary,
            "complementary": self.complementary,
            "residual_groups": self.residual,
        }


def apply_disclosure_control(
    indicator_values: pd.DataFrame,
    sensitive_indicators: Iterable[str],
    rule: DisclosureRule | None = None,
) -> DisclosureResult:
    """Return a copy of ``indicator_values`` with the disclosure rule applied.

    ``indicator_values`` needs the columns period, unit_level, unit_code,
    province_code, indicator_code, numerator, value, score. The result has
    the same rows, in the same order, and the column ``suppressed`` (added at
    the end when absent). Suppressed rows have numerator, value and score null.
    """
    rule = rule or DisclosureRule()
    sensitive = tuple(sorted(set(sensitive_indicators)))
    needed = ["period", "unit_level", "unit_code", "province_code", "indicator_code", "numerator", "value", "score"]
    missing = [c for c in needed if c not in indicator_values.columns]
    if missing:
        raise ValueError(f"disclosure: indicator_values has no column '{missing[0]}'")

    df = indicator_values.copy(deep=True)
    df["suppressed"] = pd.array([False] * len(df), dtype="boolean")
    result = DisclosureResult(table=df, rule=rule, sensitive_indicators=sensitive)

    numer = pd.to_numeric(df["numerator"], errors="coerce").astype("float64")
    scope = (df["unit_level"] == rule.level).fillna(False) & df["indicator_code"].isin(sensitive)
    if not scope.any():
        return result

    suppressed = pd.Series(False, index=df.index)
    primary = scope & numer.between(rule.suppress_min, rule.suppress_max).fillna(False)
    suppressed |= primary
    result.primary = int(primary.sum())

    for key, idx in df[scope].groupby(list(GROUP), sort=True, dropna=False).groups.items():
        idx = list(idx)
        if not primary[idx].any():
            continue
        chosen = _complements(idx, numer, df["unit_code"], primary)
        for i in chosen:
            suppressed[i] = True
        result.complementary += len(chosen)
        group_sup = [i for i in idx if primary[i] or i in chosen]
        if sum(1 for i in group_sup if numer[i] > 0) < 2:
            result.residual.append({
                "period": key[0], "province_code": key[1], "indicator_code": key[2],
                "suppressed_units": sorted(str(df.at[i, "unit_code"]) for i in group_sup),
                "reason": "every other commune has zero: the province total equals the one suppressed count",
            })

    df.loc[suppressed, ["numerator", "value", "score"]] = pd.NA
    df.loc[suppressed, "suppressed"] = True
    return result


def _complements(idx: list, numer: pd.Series, unit_code: pd.Series, primary: pd.Series) -> list:
    """The complementary cells of one province and indicator, chosen by the documented rule."""
    chosen: list = []

    def suppressed_cells() -> list:
        return [i for i in idx if primary[i]] + chosen

    while True:
        cells = suppressed_cells()
        nonzero = sum(1 for i in cells if numer[i] > 0)
        if nonzero >= 2:
            return chosen
        candidates = [i for i in idx if i not in cells and pd.notna(numer[i])]
        positive = [i for i in candidates if numer[i] > 0]
        if positive:
            chosen.append(min(positive, key=lambda i: (numer[i], str(unit_code[i]))))
            continue
        if candidates and len(cells) < 2:
            # only zeros left: hide the commune among two suppressed communes (residual case)
            chosen.append(min(candidates, key=lambda i: (numer[i], str(unit_code[i]))))
        return chosen


def audit(
    original: pd.DataFrame,
    published: pd.DataFrame,
    sensitive_indicators: Iterable[str],
    rule: DisclosureRule | None = None,
) -> list[str]:
    """Check a published ``indicator_values`` against the warehouse figures it came from.

    Returns the problems found (empty: the rule holds). Checks that no commune
    count of a sensitive indicator within the range is published, that
    suppressed rows carry no numerator, value or score, that denominators and
    province rows are unchanged, and that in every province and indicator the
    province total minus the published communes is larger than every
    suppressed count (residual groups, see the module text, are reported
    with the prefix ``residual:``).
    """
    rule = rule or DisclosureRule()
    sensitive = set(sensitive_indicators)
    key = ["period", "unit_level", "unit_code", "indicator_code"]
    figures = ["numerator", "denominator", "value", "score"]
    m = original[key + ["province_code"] + figures].merge(
        published[key + figures + ["suppressed"]], on=key, how="outer", suffixes=("_orig", "_pub"), indicator=True)
    out: list[str] = []
    if (m["_merge"] != "both").any():
        row = m.loc[m["_merge"] != "both", key].iloc[0].to_dict()
        out.append(f"rows differ between warehouse and release, e.g. {row}")
        return out
    sup = m["suppressed"].fillna(False).astype(bool)
    num_o = pd.to_numeric(m["numerator_orig"], errors="coerce").astype("float64")
    num_p = pd.to_numeric(m["numerator_pub"], errors="coerce").astype("float64")
    in_scope = (m["unit_level"] == rule.level) & m["indicator_code"].isin(sensitive)

    leaked = in_scope & ~sup & num_p.between(rule.suppress_min, rule.suppress_max)
    for _, r in m[leaked].iterrows():
        out.append(f"{r['indicator_code']} {r['unit_code']}: count {r['numerator_pub']} is published")
    for col in ("numerator", "value", "score"):
        bad = sup & m[f"{col}_pub"].notna()
        if bad.any():
            out.append(f"{int(bad.sum())} suppressed rows still publish {col}")
    if (sup & ~in_scope).any():
        out.append(f"{int((sup & ~in_scope).sum())} rows outside the rule's scope are suppressed")
    unsup_same = ~sup
    for col in ("numerator", "value", "score", "denominator"):
        a = pd.to_numeric(m[f"{col}_orig"], errors="coerce").astype("float64")
        b = pd.to_numeric(m[f"{col}_pub"], errors="coerce").astype("float64")
        rows = unsup_same if col != "denominator" else pd.Series(True, index=m.index)
        differ = rows & ~((a == b) | (a.isna() & b.isna()))
        if differ.any():
            r = m[differ].iloc[0]
            out.append(f"{col} changed for {r['unit_level']} {r['unit_code']} {r['indicator_code']}")

    communes = m[in_scope].copy()
    communes["num_o"] = num_o[in_scope]
    communes["num_p"] = num_p[in_scope]
    communes["sup"] = sup[in_scope]
    for gkey, g in communes.groupby(list(GROUP), sort=True):
        if not g["sup"].any():
            continue
        total = g["num_o"].fillna(0).sum()  # the province figure: the sum of its communes
        difference = total - g.loc[~g["sup"], "num_p"].fillna(0).sum()
        hidden = g.loc[g["sup"], "num_o"]
        if (hidden >= difference).any() or g["sup"].sum() < 2:
            unsup = g.loc[~g["sup"], "num_o"].dropna()
            residual = bool((unsup <= 0).all()) and (g["sup"].sum() >= 2 or unsup.empty)
            prefix = "residual: " if residual else ""
            out.append(f"{prefix}{gkey}: province total minus published communes ({difference:g}) "
                       f"reveals a suppressed count ({sorted(hidden.tolist())})")
    return out
