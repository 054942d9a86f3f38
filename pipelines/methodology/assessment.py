"""The child-friendly commune assessment (Decision 06/QĐ-TTg): criteria, items, point bands and thresholds by
commune type, read from the file the methodology names, and the ``ref.assessment*`` tables."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import yaml

from pipelines.methodology.base import (
    ANNUAL_PERIOD,
    ASSESSMENT_PERIODS,
    DataElement,
    MethodologyError,
    _nfc,
    _num,
    _req,
)
from pipelines.yamlfile import safe_load


@dataclass(frozen=True)
class Band:
    """One point band of an assessment item: ``bound`` is the band's ``min`` or ``max``."""

    bound: float
    points: float


@dataclass(frozen=True)
class AssessmentItem:
    """An item (chỉ tiêu) of a child-friendly commune criterion: an input and its point bands.

    ``input_kind``: ``yes_no`` (the value of one yes/no element), ``count``
    (the sum of count elements) or ``rate`` (sum(numerator) x multiplier /
    sum(denominator)). For yes_no and count the elements read are in
    ``numerator``. ``band_type``: ``min`` (higher is better: the first band
    whose min the value reaches) or ``max`` (lower is better: the first band
    whose max the value does not exceed); no band: 0 points.
    """

    code: str
    criterion: str
    name_vi: str
    name_en: str
    input_kind: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    multiplier: float
    band_type: str
    bands: tuple[Band, ...]
    if_no_denominator: float | None
    assumed: bool
    ordinal: int

    @property
    def max_points(self) -> float:
        return max(b.points for b in self.bands)

    @property
    def elements(self) -> tuple[str, ...]:
        return self.numerator + self.denominator

    def band_points(self, value: Any) -> np.ndarray:
        """Points of each value by the bands (NaN stays NaN: a missing input has no points)."""
        v = np.asarray(value, dtype="float64")
        points = np.zeros(v.shape)
        for b in self.bands:  # the best band a value satisfies wins (bands are monotonic)
            hit = v >= b.bound if self.band_type == "min" else v <= b.bound
            points = np.where(hit & (b.points > points), b.points, points)
        return np.where(np.isnan(v), np.nan, points)

    def points(self, values: Mapping[str, Any]) -> np.ndarray:
        """Points from the data element values (arrays, NaN = not reported), as the dbt models compute them."""
        num = sum(np.asarray(values[e], dtype="float64") for e in self.numerator)
        if self.input_kind != "rate":
            return self.band_points(num)
        den = sum(np.asarray(values[e], dtype="float64") for e in self.denominator)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(den != 0, num * self.multiplier / np.where(den != 0, den, 1.0), np.nan)
        no_den = self.max_points if self.if_no_denominator is None else self.if_no_denominator
        points = np.where(den == 0, no_den, self.band_points(value))
        return np.where(np.isnan(num) | np.isnan(den), np.nan, points)


@dataclass(frozen=True)
class Criterion:
    """A criterion (tiêu chuẩn): the sum of its items' points; met at ``pass_points`` or more."""

    code: str
    name_vi: str
    name_en: str
    pass_points: float
    pass_assumed: bool
    items: tuple[AssessmentItem, ...]
    ordinal: int

    @property
    def max_points(self) -> float:
        return float(sum(i.max_points for i in self.items))

    @property
    def assumed(self) -> bool:
        return self.pass_assumed or any(i.assumed for i in self.items)

    @property
    def elements(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e for i in self.items for e in i.elements))


@dataclass(frozen=True)
class CommuneType:
    code: str
    name_vi: str
    name_en: str
    min_total_points: float
    is_default: bool
    ordinal: int
    default_for: tuple[str, ...] = ()  # division types (phường, xã, đặc khu) that get this type by default
    assumed: bool = False


@dataclass(frozen=True)
class AssessmentResult:
    """What :meth:`CommuneAssessment.evaluate` found, one array entry per commune."""

    criterion_points: dict[str, np.ndarray]  # NaN when an input is missing
    met: dict[str, np.ndarray]
    total: np.ndarray
    threshold: np.ndarray
    assessed: np.ndarray
    recognised: np.ndarray  # meaningful where assessed


@dataclass(frozen=True)
class CommuneAssessment:
    """The child-friendly commune assessment (Decision 06/QĐ-TTg), as configured."""

    code: str
    version: str
    name_vi: str
    name_en: str
    source_vi: str
    source_en: str
    path: Path
    sha256: str
    periods: str
    total_points: float
    replaces_element: str | None
    exclude_sensitive_indicators: bool
    commune_types: tuple[CommuneType, ...]
    criteria: tuple[Criterion, ...]

    @property
    def items(self) -> tuple[AssessmentItem, ...]:
        return tuple(i for c in self.criteria for i in c.items)

    @property
    def elements(self) -> tuple[str, ...]:
        """Every data element the assessment reads, in the order of the criteria."""
        return tuple(dict.fromkeys(e for c in self.criteria for e in c.elements))

    @property
    def default_type(self) -> CommuneType:
        return next(t for t in self.commune_types if t.is_default)

    @property
    def division_defaults(self) -> dict[str, str]:
        """Division type of the official unit list -> the commune type it gets when the operators' file is silent."""
        return {division: t.code for t in self.commune_types for division in t.default_for}

    @property
    def type_codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.commune_types)

    def applies_to(self, period: str) -> bool:
        """Whether communes are assessed in ``period`` (``periods: annual``: years only)."""
        return self.periods == "all" or bool(ANNUAL_PERIOD.match(str(period)))

    def threshold(self, commune_type: str) -> float:
        by_code = {t.code: t for t in self.commune_types}
        return by_code.get(commune_type, self.default_type).min_total_points

    def evaluate(self, values: Mapping[str, Any], commune_types: Any) -> AssessmentResult:
        """Assess communes from their data element values (NaN = not reported) and types.

        The same rules as the dbt models (dbt_project/models/intermediate/commune/): used by
        the demo data so that the reported recognition agrees with the
        assessment, and by tests as an independent reference.
        """
        types = np.asarray(commune_types, dtype=object)
        points = {c.code: sum(i.points(values) for i in c.items) for c in self.criteria}
        stacked = np.vstack([np.asarray(points[c.code], dtype="float64") for c in self.criteria])
        assessed = ~np.isnan(stacked).any(axis=0)
        met = {c.code: np.asarray(points[c.code]) >= c.pass_points for c in self.criteria}
        all_met = np.logical_and.reduce([met[c.code] for c in self.criteria])
        none_zero = (stacked > 0).all(axis=0)
        total = stacked.sum(axis=0)
        threshold = np.array([self.threshold(t) for t in types], dtype="float64")
        recognised = assessed & all_met & none_zero & (total >= threshold)
        return AssessmentResult(points, met, total, threshold, assessed, recognised)

    def tables(self, elements: Mapping[str, DataElement]) -> dict[str, pd.DataFrame]:
        """The ``ref.assessment*`` tables (see :data:`ASSESSMENT_COLUMNS`)."""
        settings = [{
            "assessment_code": self.code, "version": self.version, "name_vi": self.name_vi,
            "name_en": self.name_en, "source_vi": self.source_vi, "source_en": self.source_en,
            "file_name": self.path.name, "file_sha256": self.sha256, "periods": self.periods,
            "total_points": self.total_points, "replaces_element": self.replaces_element,
            "exclude_sensitive_indicators": self.exclude_sensitive_indicators,
            "default_commune_type": self.default_type.code,
        }]
        criteria = [{
            "criterion_code": c.code, "ordinal": c.ordinal, "name_vi": c.name_vi, "name_en": c.name_en,
            "max_points": c.max_points, "pass_points": c.pass_points, "pass_assumed": c.pass_assumed,
            "assumed": c.assumed, "is_sensitive": any(elements[e].sensitive for e in c.elements),
        } for c in self.criteria]
        items = [{
            "item_code": i.code, "criterion_code": i.criterion, "ordinal": i.ordinal, "name_vi": i.name_vi,
            "name_en": i.name_en, "input_kind": i.input_kind, "multiplier": i.multiplier,
            "band_type": i.band_type, "max_points": i.max_points,
            "if_no_denominator": i.max_points if i.if_no_denominator is None else i.if_no_denominator,
            "assumed": i.assumed,
        } for i in self.items]
        terms = [{"item_code": i.code, "role": role, "data_element": e}
                 for i in self.items for role, es in (("numerator", i.numerator), ("denominator", i.denominator))
                 for e in es]
        bands = [{"item_code": i.code, "band_ordinal": n, "bound": b.bound, "points": b.points}
                 for i in self.items for n, b in enumerate(i.bands, start=1)]
        thresholds = [{"commune_type": t.code, "ordinal": t.ordinal, "name_vi": t.name_vi, "name_en": t.name_en,
                       "min_total_points": t.min_total_points, "is_default": t.is_default}
                      for t in self.commune_types]
        rows = {"assessment": settings, "assessment_criteria": criteria, "assessment_items": items,
                "assessment_terms": terms, "assessment_bands": bands, "assessment_thresholds": thresholds}
        return {name: _typed_frame(name, rows[name]) for name in ASSESSMENT_COLUMNS}


# Columns and types of the ref.assessment* tables (also when the methodology has no assessment: empty tables).
ASSESSMENT_COLUMNS: dict[str, dict[str, str]] = {
    "assessment": {
        "assessment_code": "string", "version": "string", "name_vi": "string", "name_en": "string",
        "source_vi": "string", "source_en": "string", "file_name": "string", "file_sha256": "string",
        "periods": "string", "total_points": "float64", "replaces_element": "string",
        "exclude_sensitive_indicators": "boolean", "default_commune_type": "string"},
    "assessment_criteria": {
        "criterion_code": "string", "ordinal": "int64", "name_vi": "string", "name_en": "string",
        "max_points": "float64", "pass_points": "float64", "pass_assumed": "boolean", "assumed": "boolean",
        "is_sensitive": "boolean"},
    "assessment_items": {
        "item_code": "string", "criterion_code": "string", "ordinal": "int64", "name_vi": "string",
        "name_en": "string", "input_kind": "string", "multiplier": "float64", "band_type": "string",
        "max_points": "float64", "if_no_denominator": "float64", "assumed": "boolean"},
    "assessment_terms": {"item_code": "string", "role": "string", "data_element": "string"},
    "assessment_bands": {"item_code": "string", "band_ordinal": "int64", "bound": "float64", "points": "float64"},
    "assessment_thresholds": {
        "commune_type": "string", "ordinal": "int64", "name_vi": "string", "name_en": "string",
        "min_total_points": "float64", "is_default": "boolean"},
}


def _typed_frame(name: str, rows: list[dict]) -> pd.DataFrame:
    cols = ASSESSMENT_COLUMNS[name]
    dtypes = {"string": "object", "int64": "int64", "float64": "float64", "boolean": "bool"}
    frame = pd.DataFrame(rows, columns=list(cols))
    if frame.empty:  # typed empty columns, so the warehouse table has the right column types
        return pd.DataFrame({c: pd.Series(dtype="string" if k == "string" else dtypes[k]) for c, k in cols.items()})
    return frame.astype({c: dtypes[k] for c, k in cols.items() if k != "string"})


def resolve_assessment_path(name: str | Path, methodology_path: Path) -> Path:
    """A relative assessment file name is looked up beside the methodology file, then in the project's
    methodology folder (so a copy of the methodology elsewhere, e.g. a test variant, still finds it)."""
    from pipelines.settings import METHODOLOGY_DIR

    name = Path(name)
    if name.is_absolute():
        candidates = [name]
    else:
        candidates = [Path(methodology_path).parent / name, METHODOLOGY_DIR / name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    raise MethodologyError(
        f"{methodology_path}: commune_assessment file '{name}' not found (looked in "
        f"{', '.join(str(c.parent) for c in candidates)})")


def load_commune_assessment(name: str | Path, methodology_path: Path,
                            elements: Mapping[str, DataElement]) -> CommuneAssessment:
    path = resolve_assessment_path(name, methodology_path)
    data = path.read_bytes()
    try:
        doc = safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise MethodologyError(f"{path}: not a readable UTF-8 YAML file: {exc}") from exc
    if not isinstance(doc, dict):
        raise MethodologyError(f"{path}: expected a mapping at the top level")
    return parse_commune_assessment(doc, path, hashlib.sha256(data).hexdigest(), elements)


def _element_list(value: Any, where: str, key: str) -> tuple[str, ...]:
    terms = (value,) if isinstance(value, str) else tuple(value or ())
    if not terms or not all(isinstance(x, str) and x for x in terms):
        raise MethodologyError(f"{where}: field '{key}' must name one or more data elements")
    return tuple(_nfc(x) for x in terms)


def _check_elements(codes: tuple[str, ...], kinds: tuple[str, ...], where: str, key: str,
                    elements: Mapping[str, DataElement]) -> None:
    for code in codes:
        el = elements.get(code)
        if el is None:
            raise MethodologyError(f"{where}: {key} names unknown data element '{code}'")
        if el.level != "commune":
            raise MethodologyError(f"{where}: {key} names '{code}', which is not a commune-level data element")
        if el.kind not in kinds:
            raise MethodologyError(f"{where}: {key} names '{code}' of kind {el.kind}; expected {' or '.join(kinds)}")


def _parse_item(i: dict, criterion: str, ordinal: int, where: str,
                elements: Mapping[str, DataElement]) -> AssessmentItem:
    code = str(_req(i, "code", where))
    w = f"{where}.items[{code}]"
    forms = [k for k in ("yes_no", "count", "numerator") if k in i]
    if len(forms) != 1:
        raise MethodologyError(f"{w}: give exactly one input: yes_no, count, or numerator with denominator")
    denominator: tuple[str, ...] = ()
    multiplier = 1.0
    if forms[0] == "yes_no":
        kind, numerator = "yes_no", _element_list(i["yes_no"], w, "yes_no")
        if len(numerator) != 1:
            raise MethodologyError(f"{w}: yes_no names one data element")
        _check_elements(numerator, ("yes_no",), w, "yes_no", elements)
    elif forms[0] == "count":
        kind, numerator = "count", _element_list(i["count"], w, "count")
        _check_elements(numerator, ("count",), w, "count", elements)
    else:
        kind = "rate"
        numerator = _element_list(i["numerator"], w, "numerator")
        denominator = _element_list(i.get("denominator"), w, "denominator")
        _check_elements(numerator, ("count", "yes_no"), w, "numerator", elements)
        _check_elements(denominator, ("count", "yes_no", "unit_count"), w, "denominator", elements)
        multiplier = _num(i.get("multiplier", 1), w, "multiplier")
        if multiplier <= 0:
            raise MethodologyError(f"{w}: multiplier must be positive")
    raw_bands = i.get("bands")
    if not isinstance(raw_bands, list) or not raw_bands:
        raise MethodologyError(f"{w}: field 'bands' must be a list of {{min|max: value, points: n}}")
    types = set()
    bands = []
    for n, b in enumerate(raw_bands):
        bw = f"{w}.bands[{n}]"
        if not isinstance(b, dict) or len([k for k in ("min", "max") if k in b]) != 1 or "points" not in b:
            raise MethodologyError(f"{bw}: a band has either min or max, and points")
        band_type = "min" if "min" in b else "max"
        types.add(band_type)
        points = _num(b["points"], bw, "points")
        if points < 0:
            raise MethodologyError(f"{bw}: points must not be negative")
        bands.append(Band(bound=_num(b[band_type], bw, band_type), points=points))
    if len(types) != 1:
        raise MethodologyError(f"{w}: bands mix min and max; use min (higher is better) or max (lower is better)")
    band_type = types.pop()
    ordered = sorted(bands, key=lambda b: -b.bound if band_type == "min" else b.bound)
    if len({b.bound for b in bands}) != len(bands) or any(
            later.points > earlier.points for earlier, later in zip(ordered, ordered[1:])):
        raise MethodologyError(
            f"{w}: bands must have distinct bounds and give fewer points as the value gets worse "
            f"({'lower min' if band_type == 'min' else 'higher max'})")
    no_den = i.get("if_no_denominator")
    if no_den is not None:
        if kind != "rate":
            raise MethodologyError(f"{w}: if_no_denominator applies to a numerator/denominator input only")
        no_den = _num(no_den, w, "if_no_denominator")
        if not 0 <= no_den <= max(b.points for b in bands):
            raise MethodologyError(f"{w}: if_no_denominator must be between 0 and the item's best band")
    return AssessmentItem(
        code=code, criterion=criterion, name_vi=_req(i, "name_vi", w), name_en=_req(i, "name_en", w),
        input_kind=kind, numerator=numerator, denominator=denominator, multiplier=multiplier,
        band_type=band_type, bands=tuple(ordered), if_no_denominator=no_den,
        assumed=bool(i.get("assumed", False)), ordinal=ordinal,
    )


def parse_commune_assessment(doc: dict[str, Any], path: Path, sha256: str,
                             elements: Mapping[str, DataElement]) -> CommuneAssessment:
    """Read and check a commune assessment file; the message names the entry and the field."""
    where = str(path)
    for key in ("code", "version", "name_vi", "name_en", "criteria", "commune_types"):
        _req(doc, key, where)
    periods = str(doc.get("periods", "annual"))
    if periods not in ASSESSMENT_PERIODS:
        raise MethodologyError(f"{where}: periods must be one of {ASSESSMENT_PERIODS}, got '{periods}'")

    types = []
    for n, ct in enumerate(doc["commune_types"], start=1):
        w = f"{where}: commune_types[{ct.get('code', n)}]"
        code = str(_req(ct, "code", w))
        if any(x.code == code for x in types):
            raise MethodologyError(f"{w}: duplicate commune type '{code}'")
        types.append(CommuneType(code=code, name_vi=_req(ct, "name_vi", w), name_en=_req(ct, "name_en", w),
                                 min_total_points=_num(ct.get("min_total_points"), w, "min_total_points"),
                                 is_default=bool(ct.get("default", False)), ordinal=n,
                                 default_for=tuple(_nfc(d) for d in ct.get("default_for") or ()),
                                 assumed=bool(ct.get("assumed", False))))
    if sum(t.is_default for t in types) != 1:
        raise MethodologyError(f"{where}: exactly one commune type must be the default (default: true)")
    divisions = [d for t in types for d in t.default_for]
    if len(divisions) != len(set(divisions)):
        raise MethodologyError(f"{where}: a division type is the default_for of two commune types")

    criteria = []
    item_codes: set[str] = set()
    for n, c in enumerate(doc["criteria"], start=1):
        w = f"{where}: criteria[{c.get('code', n)}]"
        code = str(_req(c, "code", w))
        if any(x.code == code for x in criteria):
            raise MethodologyError(f"{w}: duplicate criterion code '{code}'")
        raw_items = c.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            raise MethodologyError(f"{w}: field 'items' must list at least one item")
        items = []
        for i in raw_items:
            item = _parse_item(i, code, len(item_codes) + 1, w, elements)
            if item.code in item_codes:
                raise MethodologyError(f"{w}: duplicate item code '{item.code}'")
            item_codes.add(item.code)
            items.append(item)
        criterion = Criterion(code=code, name_vi=_req(c, "name_vi", w), name_en=_req(c, "name_en", w),
                              pass_points=_num(_req(c, "pass_points", w), w, "pass_points"),
                              pass_assumed=bool(c.get("pass_assumed", False)), items=tuple(items), ordinal=n)
        if not 0 < criterion.pass_points <= criterion.max_points:
            raise MethodologyError(f"{w}: pass_points must be above 0 and at most the criterion's maximum "
                                   f"({criterion.max_points:g})")
        criteria.append(criterion)

    maximum = float(sum(c.max_points for c in criteria))
    total = _num(doc.get("total_points", maximum), where, "total_points")
    if total != maximum:
        raise MethodologyError(f"{where}: total_points is {total:g} but the criteria maxima add up to {maximum:g}")
    for t in types:
        if not 0 < t.min_total_points <= maximum:
            raise MethodologyError(f"{where}: commune_types[{t.code}]: min_total_points must be in (0, {maximum:g}]")

    recognition = doc.get("recognition") or {}
    replaces = recognition.get("replaces_element")
    if replaces is not None:
        _check_elements((str(replaces),), ("yes_no",), f"{where}: recognition", "replaces_element", elements)
        if any(str(replaces) in c.elements for c in criteria):
            raise MethodologyError(f"{where}: recognition.replaces_element '{replaces}' is also an input of a criterion")
    ranking = doc.get("ranking") or {}
    return CommuneAssessment(
        code=str(doc["code"]), version=str(doc["version"]), name_vi=_nfc(doc["name_vi"]), name_en=doc["name_en"],
        source_vi=_nfc(doc.get("source_vi", "")), source_en=doc.get("source_en", ""), path=path, sha256=sha256,
        periods=periods, total_points=total, replaces_element=None if replaces is None else str(replaces),
        exclude_sensitive_indicators=bool(ranking.get("exclude_sensitive_indicators", True)),
        commune_types=tuple(types), criteria=tuple(criteria),
    )
