"""The parts of the methodology every other part uses: the allowed values, the error, the plain entries
(data elements, indicators, domains, sectors) and the small readers of YAML fields."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

LEVELS = ("commune", "province")
KINDS = ("count", "amount_vnd", "yes_no", "unit_count")
DIRECTIONS = ("higher", "lower")
NORMALISATIONS = ("goalposts", "minmax", "zscore")
AGGREGATIONS = ("arithmetic", "geometric")
ASSESSMENT_INPUTS = ("yes_no", "count", "rate")
ASSESSMENT_PERIODS = ("annual", "all")
ANNUAL_PERIOD = re.compile(r"^\d{4}$")


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
class Sector:
    code: str
    name_vi: str
    name_en: str
    agency_vi: str = ""  # the provincial agency that sends the sector's file
    agency_en: str = ""


def _nfc(value: Any) -> Any:
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def _nfc_tree(value: Any) -> Any:
    if isinstance(value, list):
        return [_nfc_tree(v) for v in value]
    if isinstance(value, dict):
        return {k: _nfc_tree(v) for k, v in value.items()}
    return _nfc(value)


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
