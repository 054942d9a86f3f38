"""The uncertain choices of the method and their ranges (``uncertainty:`` settings).

Defaults live in ``uncertainty-defaults.yaml`` beside this file. A methodology
file may carry its own ``uncertainty:`` section; every key given there overrides
the default (nested mappings are merged key by key, lists are replaced).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.yamlfile import safe_load

DEFAULTS_PATH = Path(__file__).with_name("uncertainty-defaults.yaml")

NORMALISATION_OPTIONS = ("goalposts", "minmax", "zscore")
AGGREGATION_OPTIONS = ("arithmetic", "geometric")
MISSING_OPTIONS = ("drop", "peer_median")
OUTLIER_OPTIONS = ("off", "winsorise")
MIN_RUNS = 1000


class UncertaintyConfigError(ValueError):
    """The ``uncertainty:`` settings are not valid; the message says which key and why."""


@dataclass(frozen=True)
class UncertaintySettings:
    runs: int
    seed: int
    weight_factor: tuple[float, float]
    normalisation: tuple[str, ...]
    minmax_range: tuple[float, float]
    aggregation: tuple[str, ...]
    missing: tuple[str, ...]
    outliers: tuple[str, ...]
    outlier_abs_skewness: float
    outlier_kurtosis: float
    outlier_max_points: int
    leave_one_out: bool
    percentiles: tuple[float, float]
    robust_max_span: int
    robust_median_within: float
    sensitive_min_span: int
    sobol_base_samples: int
    sobol_num_resamples: int
    sobol_conf_level: float
    significance: float
    collinear_above: float
    alpha_min: float
    profile_top_n: int
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The effective settings, as written into sensitivity.json."""
        return copy.deepcopy(self.raw)


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _options(doc: dict, key: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    value = doc.get(key)
    if isinstance(value, (str, bool)):
        value = [value]
    if key == "outliers" and isinstance(value, list):
        # YAML 1.1 reads a bare `off` as false (and `on` as true)
        value = [{False: "off", True: "winsorise"}.get(v, v) if isinstance(v, bool) else v for v in value]
    if not isinstance(value, list) or not value:
        raise UncertaintyConfigError(f"uncertainty.{key} must be a non-empty list of {allowed}")
    for v in value:
        if v not in allowed:
            raise UncertaintyConfigError(f"uncertainty.{key}: '{v}' is not one of {allowed}")
    if len(set(value)) != len(value):
        raise UncertaintyConfigError(f"uncertainty.{key} lists an option twice")
    return tuple(value)


def _pair(doc: dict, key: str) -> tuple[float, float]:
    value = doc.get(key)
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise UncertaintyConfigError(f"uncertainty.{key} must be a pair [low, high], got {value!r}") from None
    if not low <= high:
        raise UncertaintyConfigError(f"uncertainty.{key}: low ({low}) must not exceed high ({high})")
    return low, high


def _number(doc: dict, path: str) -> float:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise UncertaintyConfigError(f"uncertainty.{path} is required")
        node = node[part]
    try:
        return float(node)
    except (TypeError, ValueError):
        raise UncertaintyConfigError(f"uncertainty.{path} must be a number, got {node!r}") from None


def default_document() -> dict[str, Any]:
    return safe_load(DEFAULTS_PATH.read_text(encoding="utf-8"))["uncertainty"]


def parse_uncertainty(override: dict[str, Any] | None = None) -> UncertaintySettings:
    """Settings from the defaults, overridden by ``override`` (a methodology's ``uncertainty:``)."""
    if override is not None and not isinstance(override, dict):
        raise UncertaintyConfigError("uncertainty: expected a mapping")
    doc = _merge(default_document(), override or {})

    runs = int(_number(doc, "runs"))
    if runs < MIN_RUNS:
        raise UncertaintyConfigError(f"uncertainty.runs must be at least {MIN_RUNS}, got {runs}")
    weight_factor = _pair(doc, "weight_factor")
    if weight_factor[0] <= 0:
        raise UncertaintyConfigError("uncertainty.weight_factor must be positive")
    minmax_range = _pair(doc, "minmax_range")
    if minmax_range[0] <= 0 or minmax_range[0] >= minmax_range[1]:
        raise UncertaintyConfigError("uncertainty.minmax_range must be [low, high] with 0 < low < high")
    percentiles = _pair(doc, "percentiles")
    if not 0 <= percentiles[0] < percentiles[1] <= 100:
        raise UncertaintyConfigError("uncertainty.percentiles must be [low, high] within 0-100")
    base = int(_number(doc, "sobol.base_samples"))
    if base < 16 or base & (base - 1):
        raise UncertaintyConfigError(f"uncertainty.sobol.base_samples must be a power of 2 (>= 16), got {base}")
    conf = _number(doc, "sobol.conf_level")
    if not 0 < conf < 1:
        raise UncertaintyConfigError("uncertainty.sobol.conf_level must be in (0, 1)")
    leave_one_out = doc.get("leave_one_out")
    if not isinstance(leave_one_out, bool):
        raise UncertaintyConfigError("uncertainty.leave_one_out must be true or false")
    labels = doc.get("labels") or {}
    span = str(labels.get("span", "p95 - p05")).replace(" ", "")
    if span != "p95-p05":
        raise UncertaintyConfigError("uncertainty.labels.span: only 'p95 - p05' is supported")

    return UncertaintySettings(
        runs=runs,
        seed=int(_number(doc, "seed")),
        weight_factor=weight_factor,
        normalisation=_options(doc, "normalisation", NORMALISATION_OPTIONS),
        minmax_range=minmax_range,
        aggregation=_options(doc, "aggregation", AGGREGATION_OPTIONS),
        missing=_options(doc, "missing", MISSING_OPTIONS),
        outliers=_options(doc, "outliers", OUTLIER_OPTIONS),
        outlier_abs_skewness=_number(doc, "outlier_rule.abs_skewness_above"),
        outlier_kurtosis=_number(doc, "outlier_rule.kurtosis_above"),
        outlier_max_points=int(_number(doc, "outlier_rule.max_points")),
        leave_one_out=leave_one_out,
        percentiles=percentiles,
        robust_max_span=int(_number(doc, "labels.robust_max_span")),
        robust_median_within=_number(doc, "labels.robust_median_within"),
        sensitive_min_span=int(_number(doc, "labels.sensitive_min_span")),
        sobol_base_samples=base,
        sobol_num_resamples=int(_number(doc, "sobol.num_resamples")),
        sobol_conf_level=conf,
        significance=_number(doc, "consistency.significance"),
        collinear_above=_number(doc, "consistency.collinear_above"),
        alpha_min=_number(doc, "consistency.alpha_min"),
        profile_top_n=int(_number(doc, "profiles.top_n")),
        raw=doc,
    )


def load_uncertainty(methodology: Any = None) -> UncertaintySettings:
    """Effective settings for a methodology: its ``uncertainty:`` section over the defaults."""
    raw = getattr(methodology, "raw", None) or {}
    return parse_uncertainty(raw.get("uncertainty"))
