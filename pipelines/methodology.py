"""Load and validate the versioned methodology file (``methodology/*.yaml``).

The method (data elements, indicators, formulas, directions, goalposts,
weights, domains, tiers) is data. This module reads it, refuses a file that
is inconsistent with a message naming the entry and the field, and turns it
into the ``ref.*`` tables that the dbt models read.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

LEVELS = ("commune", "province")
KINDS = ("count", "amount_vnd", "yes_no", "unit_count")
DIRECTIONS = ("higher", "lower")
NORMALISATIONS = ("goalposts", "minmax", "zscore")
AGGREGATIONS = ("arithmetic", "geometric")


class MethodologyError(ValueError):
    """The methodology file is not valid; the message says where and why."""


@dataclass(frozen=True)
class DataElement:
    code: str
    sector: str
    level: str
    kind: str
    name_vi: str
    name_en: str
    mandatory: bool = False
    sensitive: bool = False


@dataclass(frozen=True)
class Indicator:
    code: str
    domain: str
    name_vi: str
    name_en: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    multiplier: float
    direction: str
    goal_low: float
    goal_high: float
    weight: float
    unit_vi: str = ""
    unit_en: str = ""
    target_2025: float | None = None
    target_2030: float | None = None
    plausible_min: float | None = None
    plausible_max: float | None = None


@dataclass(frozen=True)
class Domain:
    code: str
    name_vi: str
    name_en: str
    weight: float
    ordinal: int


@dataclass(frozen=True)
class Tier:
    tier: int
    name_vi: str
    name_en: str
    max_rank_share: float


@dataclass(frozen=True)
class Sector:
    code: str
    name_vi: str
    name_en: str


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
            "tiers": pd.DataFrame([t.__dict__ for t in self.tiers]),
        }


def _nfc(value: Any) -> Any:
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def _req(entry: dict, key: str, where: str) -> Any:
    if key not in entry or entry[key] is None or entry[key] == "":
        raise MethodologyError(f"{where}: field '{key}' is required")
    return _nfc(entry[key])


def _num(value: Any, where: str, key: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise MethodologyError(f"{where}: field '{key}' must be a number, got {value!r}") from None


def _terms(entry: dict, key: str, where: str, elements: dict[str, dict]) -> tuple[str, ...]:
    value = _req(entry, key, where)
    terms = (value,) if isinstance(value, str) else tuple(value)
    for t in terms:
        if t not in elements:
            raise MethodologyError(f"{where}: {key} names unknown data element '{t}'")
    return terms


def parse_methodology(doc: dict[str, Any], path: Path, sha256: str) -> Methodology:
    where = str(path)
    for key in ("version", "method", "domains", "data_elements", "indicators", "tiers", "sectors"):
        _req(doc, key, where)
    method = dict(doc["method"])
    if method.get("normalisation") not in NORMALISATIONS:
        raise MethodologyError(f"{where}: method.normalisation must be one of {NORMALISATIONS}")
    if method.get("aggregation") not in AGGREGATIONS:
        raise MethodologyError(f"{where}: method.aggregation must be one of {AGGREGATIONS}")
    share = _num(method.get("min_indicator_share"), where, "method.min_indicator_share")
    if not 0 < share <= 1:
        raise MethodologyError(f"{where}: method.min_indicator_share must be in (0, 1], got {share}")

    sectors = tuple(
        Sector(code=_req(s, "code", f"{where}: sectors[{n}]"), name_vi=_req(s, "name_vi", f"{where}: sectors[{n}]"),
               name_en=_req(s, "name_en", f"{where}: sectors[{n}]"))
        for n, s in enumerate(doc["sectors"])
    )
    sector_codes = {s.code for s in sectors} | {"reference"}

    domains = []
    for n, d in enumerate(doc["domains"], start=1):
        w = f"{where}: domains[{d.get('code', n)}]"
        domains.append(Domain(code=_req(d, "code", w), name_vi=_req(d, "name_vi", w), name_en=_req(d, "name_en", w),
                              weight=_num(d.get("weight", 1), w, "weight"), ordinal=n))
    domain_codes = {d.code for d in domains}

    raw_elements: dict[str, dict] = {}
    elements = []
    for n, e in enumerate(doc["data_elements"]):
        w = f"{where}: data_elements[{e.get('code', n)}]"
        code = _req(e, "code", w)
        if code in raw_elements:
            raise MethodologyError(f"{w}: duplicate data element code '{code}'")
        el = DataElement(code=code, sector=_req(e, "sector", w), level=_req(e, "level", w), kind=_req(e, "kind", w),
                         name_vi=_req(e, "name_vi", w), name_en=_req(e, "name_en", w),
                         mandatory=bool(e.get("mandatory", False)), sensitive=bool(e.get("sensitive", False)))
        if el.sector not in sector_codes:
            raise MethodologyError(f"{w}: sector '{el.sector}' is not declared under sectors")
        if el.level not in LEVELS:
            raise MethodologyError(f"{w}: level must be one of {LEVELS}, got '{el.level}'")
        if el.kind not in KINDS:
            raise MethodologyError(f"{w}: kind must be one of {KINDS}, got '{el.kind}'")
        raw_elements[code] = e
        elements.append(el)

    indicators = []
    seen: set[str] = set()
    for n, i in enumerate(doc["indicators"]):
        w = f"{where}: indicators[{i.get('code', n)}]"
        code = _req(i, "code", w)
        if code in seen:
            raise MethodologyError(f"{w}: duplicate indicator code '{code}'")
        seen.add(code)
        domain = _req(i, "domain", w)
        if domain not in domain_codes:
            raise MethodologyError(f"{w}: domain '{domain}' is not declared under domains")
        direction = _req(i, "direction", w)
        if direction not in DIRECTIONS:
            raise MethodologyError(f"{w}: direction must be one of {DIRECTIONS}, got '{direction}'")
        goal = _req(i, "goalposts", w)
        low, high = _num(goal.get("low"), w, "goalposts.low"), _num(goal.get("high"), w, "goalposts.high")
        if not low < high:
            raise MethodologyError(f"{w}: goalposts.low ({low}) must be below goalposts.high ({high})")
        weight = _num(i.get("weight", 1), w, "weight")
        if weight < 0:
            raise MethodologyError(f"{w}: weight must not be negative")
        target = i.get("target") or {}
        plausible = i.get("plausible") or {}
        indicators.append(Indicator(
            code=code, domain=domain, name_vi=_req(i, "name_vi", w), name_en=_req(i, "name_en", w),
            numerator=_terms(i, "numerator", w, raw_elements), denominator=_terms(i, "denominator", w, raw_elements),
            multiplier=_num(i.get("multiplier", 1), w, "multiplier"), direction=direction,
            goal_low=low, goal_high=high, weight=weight,
            unit_vi=_nfc(i.get("unit_vi", "")), unit_en=i.get("unit_en", ""),
            target_2025=_num(target["2025"], w, "target.2025") if "2025" in target else None,
            target_2030=_num(target["2030"], w, "target.2030") if "2030" in target else None,
            plausible_min=_num(plausible["min"], w, "plausible.min") if "min" in plausible else None,
            plausible_max=_num(plausible["max"], w, "plausible.max") if "max" in plausible else None,
        ))
    for d in domains:
        if not any(i.domain == d.code for i in indicators):
            raise MethodologyError(f"{where}: domain '{d.code}' has no indicator")

    tiers = []
    for n, t in enumerate(doc["tiers"]):
        w = f"{where}: tiers[{n}]"
        tiers.append(Tier(tier=int(_req(t, "tier", w)), name_vi=_req(t, "name_vi", w), name_en=_req(t, "name_en", w),
                          max_rank_share=_num(t.get("max_rank_share"), w, "max_rank_share")))
    shares = [t.max_rank_share for t in tiers]
    if shares != sorted(shares) or not shares or shares[-1] != 1.0:
        raise MethodologyError(f"{where}: tiers must have increasing max_rank_share ending at 1.0")

    rules = []
    for n, r in enumerate(doc.get("consistency_rules") or []):
        w = f"{where}: consistency_rules[{r.get('code', n)}]"
        for key in ("code", "level", "total", "parts"):
            _req(r, key, w)
        if r["level"] not in LEVELS:
            raise MethodologyError(f"{w}: level must be one of {LEVELS}")
        for de in [r["total"], *r["parts"]]:
            if de not in raw_elements:
                raise MethodologyError(f"{w}: names unknown data element '{de}'")
        rules.append({**r, "tolerance_share": _num(r.get("tolerance_share", 0), w, "tolerance_share")})

    return Methodology(
        consistency_rules=tuple(rules),
        version=str(doc["version"]), name_vi=_nfc(doc.get("name_vi", "")), name_en=doc.get("name_en", ""),
        path=path, sha256=sha256, method=method, quality=dict(doc.get("quality") or {}),
        disclosure=dict(doc.get("disclosure") or {}), sectors=sectors, domains=tuple(domains),
        data_elements=tuple(elements), indicators=tuple(indicators), tiers=tuple(tiers), raw=doc,
    )


def load_methodology(path: str | Path | None = None) -> Methodology:
    """Read a methodology file (default: the one named by the settings)."""
    if path is None:
        from pipelines.settings import get_settings

        path = get_settings().methodology_path
    return _load_cached(Path(path).resolve())


@lru_cache(maxsize=8)
def _load_cached(path: Path) -> Methodology:
    data = path.read_bytes()
    try:
        doc = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise MethodologyError(f"{path}: not a readable UTF-8 YAML file: {exc}") from exc
    if not isinstance(doc, dict):
        raise MethodologyError(f"{path}: expected a mapping at the top level")
    return parse_methodology(doc, path, hashlib.sha256(data).hexdigest())
