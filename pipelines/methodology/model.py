"""The methodology as the pipeline uses it (:class:`Methodology`) and the value bounds of the quality checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import pandas as pd

from pipelines.methodology.assessment import ASSESSMENT_COLUMNS, CommuneAssessment, _typed_frame
from pipelines.methodology.base import KINDS, LEVELS, DataElement, Domain, Indicator, MethodologyError, Sector, _num
from pipelines.tiers import Tier


@dataclass(frozen=True)
class ValueBounds:
    """Hard plausibility bounds on reported values (``quality.value_bounds``; blocking when exceeded).

    ``max_by_kind[(kind, level)]`` and ``max_by_element[code]`` (which wins): the largest value one unit
    may report; ``max_per_child[code]``: at most this many per child of the same commune, the children
    being the commune's value of ``per_child_of``.
    """

    max_by_kind: dict[tuple[str, str], float] = field(default_factory=dict)
    max_by_element: dict[str, float] = field(default_factory=dict)
    per_child_of: str | None = None
    max_per_child: dict[str, float] = field(default_factory=dict)

    def max_value(self, element: DataElement) -> float | None:
        return self.max_by_element.get(element.code, self.max_by_kind.get((element.kind, element.level)))


def parse_value_bounds(raw: Any, elements: Mapping[str, DataElement], where: str) -> ValueBounds:
    """Read ``quality.value_bounds``; a kind, level, data element or key that is not known is refused."""
    w = f"{where}: quality.value_bounds"
    raw = raw or {}
    known = {"max_by_kind", "max_by_element", "per_child_of", "max_per_child"}
    if not isinstance(raw, dict) or set(raw) - known:
        raise MethodologyError(f"{w}: expected the keys {', '.join(sorted(known))}; got "
                               f"{', '.join(sorted(set(raw) - known)) if isinstance(raw, dict) else repr(raw)}")

    def positive(value: Any, key: str) -> float:
        number = _num(value, w, key)
        if not number > 0:
            raise MethodologyError(f"{w}: field '{key}' must be above 0, got {value!r}")
        return number

    def element(code: Any, key: str) -> DataElement:
        if code not in elements:
            raise MethodologyError(f"{w}: {key} names unknown data element '{code}'")
        return elements[code]

    by_kind = {}
    for kind, levels in (raw.get("max_by_kind") or {}).items():
        if kind not in KINDS or not isinstance(levels, dict) or set(levels) - set(LEVELS):
            raise MethodologyError(f"{w}: max_by_kind.{kind}: expected a kind of {KINDS} with "
                                   f"{{commune: n, province: n}}")
        by_kind.update({(kind, level): positive(v, f"max_by_kind.{kind}.{level}") for level, v in levels.items()})
    by_element = {element(c, "max_by_element").code: positive(v, f"max_by_element.{c}")
                  for c, v in (raw.get("max_by_element") or {}).items()}
    per_child = {element(c, "max_per_child").code: positive(v, f"max_per_child.{c}")
                 for c, v in (raw.get("max_per_child") or {}).items()}
    of = raw.get("per_child_of")
    if per_child and of is None:
        raise MethodologyError(f"{w}: max_per_child needs per_child_of (the data element counting the children)")
    for code in ([of] if of is not None else []) + list(per_child):
        if element(code, "per_child_of" if code == of else "max_per_child").level != "commune":
            raise MethodologyError(f"{w}: '{code}' is not a commune-level data element")
    return ValueBounds(by_kind, by_element, of, per_child)


@dataclass(frozen=True)
class Methodology:
    version: str
    name_vi: str
    name_en: str
    path: Path
    sha256: str
    method: dict[str, Any]
    quality: dict[str, Any]
    disclosure: dict[str, Any]
    sectors: tuple[Sector, ...]
    domains: tuple[Domain, ...]
    data_elements: tuple[DataElement, ...]
    indicators: tuple[Indicator, ...]
    tiers: tuple[Tier, ...]
    consistency_rules: tuple[dict, ...] = ()
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)
    commune_assessment: CommuneAssessment | None = None
    value_bounds: ValueBounds = field(default_factory=ValueBounds)

    # -- lookups -----------------------------------------------------------
    @property
    def elements_by_code(self) -> dict[str, DataElement]:
        return {e.code: e for e in self.data_elements}

    @property
    def sector_codes(self) -> tuple[str, ...]:
        return tuple(s.code for s in self.sectors)

    def elements_of_sector(self, sector: str) -> list[DataElement]:
        return [e for e in self.data_elements if e.sector == sector]

    def indicator_level(self, indicator: Indicator) -> str:
        """'commune' when every term is reported per commune, else 'province'."""
        levels = {self.elements_by_code[c].level for c in indicator.numerator + indicator.denominator}
        return "commune" if levels == {"commune"} else "province"

    # -- warehouse tables ----------------------------------------------------
    def tables(self) -> dict[str, pd.DataFrame]:
        """The ref.* tables written to the warehouse, keyed by table name."""
        settings = {
            "version": self.version,
            "name_vi": self.name_vi,
            "name_en": self.name_en,
            "file_sha256": self.sha256,
            "normalisation": self.method["normalisation"],
            "aggregation": self.method["aggregation"],
            "geometric_floor": float(self.method.get("geometric_floor", 1.0)),
            "min_indicator_share": float(self.method["min_indicator_share"]),
            "min_indicators_per_domain": int(self.method.get("min_indicators_per_domain", 1)),
            "rank_decimals": int(self.method.get("rank_decimals", 2)),
        }
        terms = [
            {"indicator_code": i.code, "role": role, "data_element": de}
            for i in self.indicators
            for role, des in (("numerator", i.numerator), ("denominator", i.denominator))
            for de in des
        ]
        indicators = []
        for ordinal, i in enumerate(self.indicators, start=1):
            row = {k: getattr(i, k) for k in Indicator.__dataclass_fields__ if k not in ("numerator", "denominator")}
            row["indicator_code"] = row.pop("code")
            row["domain_code"] = row.pop("domain")
            row["level"] = self.indicator_level(i)
            row["ordinal"] = ordinal
            row["numerator_formula"] = " + ".join(i.numerator)
            row["denominator_formula"] = " + ".join(i.denominator)
            indicators.append(row)
        return {
            "methodology": pd.DataFrame([settings]),
            "sectors": pd.DataFrame([s.__dict__ for s in self.sectors]).rename(columns={"code": "sector_code"}),
            "domains": pd.DataFrame([d.__dict__ for d in self.domains]).rename(columns={"code": "domain_code"}),
            "data_elements": pd.DataFrame([e.__dict__ for e in self.data_elements]).rename(
                columns={"code": "data_element"}
            ),
            "indicators": pd.DataFrame(indicators),
            "indicator_terms": pd.DataFrame(terms),
            "tiers": pd.DataFrame([t.__dict__ for t in self.tiers]).astype(
                {"max_rank_share": "float64", "min_rank": "Int64", "max_rank": "Int64", "min_score": "float64"}),
            **self.assessment_tables(),
        }

    def assessment_tables(self) -> dict[str, pd.DataFrame]:
        """The ``ref.assessment*`` tables: empty (with their columns) when there is no commune assessment."""
        if self.commune_assessment is None:
            return {name: _typed_frame(name, []) for name in ASSESSMENT_COLUMNS}
        return self.commune_assessment.tables(self.elements_by_code)
