"""Read and validate a methodology file (``methodology/*.yaml``) into a :class:`Methodology`."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from pipelines.methodology.assessment import load_commune_assessment
from pipelines.methodology.base import (
    AGGREGATIONS,
    DIRECTIONS,
    KINDS,
    LEVELS,
    NORMALISATIONS,
    DataElement,
    Domain,
    Indicator,
    MethodologyError,
    Sector,
    _nfc,
    _nfc_tree,
    _num,
    _req,
    _terms,
)
from pipelines.methodology.model import Methodology, parse_value_bounds
from pipelines.tiers import TierError, parse_tiers
from pipelines.yamlfile import safe_load


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

    sectors = _sectors(doc, where)
    domains = _domains(doc, where)
    elements, raw_elements = _elements(doc, where, {s.code for s in sectors} | {"reference"})
    indicators = _indicators(doc, where, {d.code for d in domains}, raw_elements)
    for d in domains:
        if not any(i.domain == d.code for i in indicators):
            raise MethodologyError(f"{where}: domain '{d.code}' has no indicator")

    try:
        tiers = parse_tiers(_nfc_tree(doc["tiers"]), where)
    except TierError as exc:
        raise MethodologyError(str(exc)) from None
    rules = _consistency_rules(doc, where, raw_elements)

    assessment = None
    if doc.get("commune_assessment"):
        assessment = load_commune_assessment(doc["commune_assessment"], path, {e.code: e for e in elements})

    quality = dict(doc.get("quality") or {})
    bounds = parse_value_bounds(quality.get("value_bounds"), {e.code: e for e in elements}, where)
    return Methodology(
        value_bounds=bounds,
        commune_assessment=assessment,
        consistency_rules=tuple(rules),
        version=str(doc["version"]), name_vi=_nfc(doc.get("name_vi", "")), name_en=doc.get("name_en", ""),
        path=path, sha256=sha256, method=method, quality=dict(doc.get("quality") or {}),
        disclosure=dict(doc.get("disclosure") or {}), sectors=sectors, domains=tuple(domains),
        data_elements=tuple(elements), indicators=tuple(indicators), tiers=tuple(tiers), raw=doc,
    )


def _sectors(doc: dict[str, Any], where: str) -> tuple[Sector, ...]:
    return tuple(
        Sector(code=_req(s, "code", f"{where}: sectors[{n}]"), name_vi=_req(s, "name_vi", f"{where}: sectors[{n}]"),
               name_en=_req(s, "name_en", f"{where}: sectors[{n}]"), agency_vi=_nfc(s.get("agency_vi", "")),
               agency_en=s.get("agency_en", ""))
        for n, s in enumerate(doc["sectors"])
    )


def _domains(doc: dict[str, Any], where: str) -> list[Domain]:
    domains = []
    for n, d in enumerate(doc["domains"], start=1):
        w = f"{where}: domains[{d.get('code', n)}]"
        domains.append(Domain(code=_req(d, "code", w), name_vi=_req(d, "name_vi", w), name_en=_req(d, "name_en", w),
                              weight=_num(d.get("weight", 1), w, "weight"), ordinal=n))
    return domains


def _elements(doc: dict[str, Any], where: str, sector_codes: set[str]) -> tuple[list[DataElement], dict[str, dict]]:
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
    return elements, raw_elements


def _indicators(doc: dict[str, Any], where: str, domain_codes: set[str],
                raw_elements: dict[str, dict]) -> list[Indicator]:
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
    return indicators


def _consistency_rules(doc: dict[str, Any], where: str, raw_elements: dict[str, dict]) -> list[dict]:
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
    return rules


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
        doc = safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise MethodologyError(f"{path}: not a readable UTF-8 YAML file: {exc}") from exc
    if not isinstance(doc, dict):
        raise MethodologyError(f"{path}: expected a mapping at the top level")
    return parse_methodology(doc, path, hashlib.sha256(data).hexdigest())
