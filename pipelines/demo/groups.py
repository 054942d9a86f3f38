"""Demo data by group: the ``disaggregation`` rows (sex, ethnic minority, disability, age) of a few data elements.

Synthetic, like the rest of the demo. Each commune's total of an element is
split between the groups of a dimension so that the groups add up exactly to
the total:

* a denominator (``SHARES``) by a binomial draw with the group's share: girls
  48.7% of births, ethnic-minority children more where development is lower,
  about a third of the children in special circumstances with a disability;
* its numerator (``GAPS``) by allocating the rarer side (the events, or the
  misses when the events are most of the trials, as for birth registration)
  between the groups, weighted by each group's trials and by a gap on the
  log-odds scale: a national mean plus a province effect drawn once per
  province (persistent), so gaps differ by province and stay from year to year.

The result never puts more events in a group than it has trials.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DIMENSIONS = {"sex": ("F", "M"), "ethnic_minority": ("yes", "no"), "disability": ("yes", "no")}


@dataclass(frozen=True)
class Share:
    """The first group's share of a denominator element: logit(share) - dev x development."""

    share: float
    dev: float = 0.0


@dataclass(frozen=True)
class Gap:
    """Numerator ``element`` over ``trials``: the first group's log-odds gap (national mean, province sd)."""

    trials: str
    mean: float
    sd: float


SHARES: dict[tuple[str, str], Share] = {
    ("LIVE_BIRTHS", "sex"): Share(0.487),
    ("LIVE_BIRTHS", "ethnic_minority"): Share(0.16, dev=1.0),
    ("POP_AGE_5", "sex"): Share(0.485),
    ("POP_AGE_5", "ethnic_minority"): Share(0.15, dev=1.0),
    ("POP_0_15", "sex"): Share(0.483),
    ("CSC_TOTAL", "disability"): Share(0.33),
}
GAPS: dict[tuple[str, str], Gap] = {
    ("BIRTHS_REG_ONTIME", "sex"): Gap("LIVE_BIRTHS", -0.05, 0.15),
    ("BIRTHS_REG_ONTIME", "ethnic_minority"): Gap("LIVE_BIRTHS", -0.9, 0.4),
    ("DEATHS_U5", "sex"): Gap("LIVE_BIRTHS", -0.2, 0.1),
    ("DEATHS_U5", "ethnic_minority"): Gap("LIVE_BIRTHS", 0.6, 0.3),
    ("ENROLLED_AGE5", "sex"): Gap("POP_AGE_5", 0.05, 0.1),
    ("ENROLLED_AGE5", "ethnic_minority"): Gap("POP_AGE_5", -0.8, 0.4),
    ("CSC_HELPED", "disability"): Gap("CSC_TOTAL", -0.5, 0.4),
    ("CONFLICT_LAW", "sex"): Gap("POP_0_15", -1.8, 0.3),
}


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def _split_trials(gen, element: str, dimension: str) -> np.ndarray:
    """The first group's part of ``element`` at every commune (cached on the generator)."""
    key = (f"{element}|{dimension}", "commune")
    if key not in gen.columns:
        spec = SHARES[(element, dimension)]
        total = gen.column(element, "commune")
        p = 1 / (1 + np.exp(-(_logit(spec.share) - spec.dev * gen.commune_dev)))
        gen.columns[key] = gen._rng("group", element, dimension).binomial(total, p)
    return gen.columns[key]


def _split_events(gen, element: str, dimension: str, seed: int) -> np.ndarray:
    from pipelines.demo.streams import stream as _rng

    spec = GAPS[(element, dimension)]
    events, trials = gen.column(element, "commune"), gen.column(spec.trials, "commune")
    first = _split_trials(gen, spec.trials, dimension)
    rest = trials - first
    effect = _rng(seed, "group-gap", element, dimension).normal(spec.mean, spec.sd, len(gen.province_index))
    gap = effect[gen.commune_province]
    misses = events * 2 > trials  # allocate the rarer side: the misses, turned the other way
    rare = np.where(misses, trials - events, events)
    odds = np.exp(np.where(misses, -gap, gap))
    weight = np.divide(first * odds, first * odds + rest, out=np.zeros(len(first)), where=(first * odds + rest) > 0)
    part = gen._rng("group-events", element, dimension).binomial(rare, np.clip(weight, 0, 1))
    part = np.clip(part, np.maximum(rare - rest, 0), np.minimum(first, rare))
    return np.where(misses, first - part, part)


def group_rows(gen, elements, unit_codes, unit_names, mask, seed: int) -> pd.DataFrame | None:
    """The disaggregated landing rows of ``elements`` (the sector's) at the selected communes, or None."""
    codes = {e.code for e in elements if e.level == "commune"}
    frames = []
    specs = [(e, d, "trials") for (e, d) in SHARES] + [(e, d, "events") for (e, d) in GAPS]
    for element, dimension, kind in specs:
        if element not in codes or element not in gen.elements:
            continue
        total = gen.column(element, "commune")
        first = _split_trials(gen, element, dimension) if kind == "trials" else \
            _split_events(gen, element, dimension, seed)
        a, b = DIMENSIONS[dimension]
        for group, values in ((a, first), (b, total - first)):
            frames.append(pd.DataFrame({
                "period": gen.period, "unit_code": np.asarray(unit_codes)[mask],
                "unit_name": np.asarray(unit_names)[mask], "data_element": element,
                "value": values[mask].astype(np.int64), "disaggregation": f"{dimension}={group}"}))
    from pipelines.demo.age_bands import age_band_rows

    frames += age_band_rows(gen, codes, unit_codes, unit_names, mask)  # age bands (pipelines/demo/age_bands.py)
    return pd.concat(frames, ignore_index=True) if frames else None
