"""Demo data by age band: the ``disaggregation`` rows ``age=0_5``, ``age=6_11``, ``age=12_15`` of a few elements.

The bands are those of the methodology's ``equity.dimensions.age``. Synthetic,
like the rest of the demo; every split adds up exactly to the commune's total:

* children 0-15 (``POP_0_15``) by the generator's own age groups: 0-5 is
  POP_AGE_0 + POP_AGE_1_4 + POP_AGE_5, 6-11 is POP_AGE_6 and five of the nine
  years of POP_AGE_7_15 (a binomial draw), 12-15 the rest;
* children in special circumstances (``CSC_TOTAL``) by a multinomial draw
  (``CSC_SHARES``);
* a numerator (``EVENTS``) allocated over the bands in turn, each band's
  chance weighted by its trials and by a relative weight, and clipped so that a
  band never has more events than trials: children in conflict with the law
  are almost all 12-15 (none under 6); the children in special circumstances
  left without help (the misses) a little more among the youngest.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BANDS = ("0_5", "6_11", "12_15")
CSC_SHARES = (0.3, 0.35, 0.35)
# numerator -> (denominator, relative weight of each band, whether the misses are allocated instead)
EVENTS = {"CONFLICT_LAW": ("POP_0_15", (0.0, 0.12, 1.0), False),
          "CSC_HELPED": ("CSC_TOTAL", (1.5, 1.0, 0.8), True)}


def _pop_bands(gen) -> list[np.ndarray]:
    young = sum(gen.column(c, "commune") for c in ("POP_AGE_0", "POP_AGE_1_4", "POP_AGE_5"))
    older = gen.column("POP_AGE_7_15", "commune")
    middle = gen.column("POP_AGE_6", "commune") + gen._rng("age-band", "POP_AGE_7_15").binomial(older, 5 / 9)
    return [young, middle, gen.column("POP_0_15", "commune") - young - middle]


def _trials(gen, element: str) -> list[np.ndarray]:
    """The element's split over the bands at every commune (cached on the generator)."""
    key = (f"{element}|age", "commune")
    if key not in gen.columns:
        if element == "POP_0_15":
            parts = _pop_bands(gen)
        else:
            total = gen.column(element, "commune")
            parts = list(gen._rng("age-band", element).multinomial(total, CSC_SHARES).T)
        gen.columns[key] = np.vstack(parts)
    return list(gen.columns[key])


def allocate(rng, events: np.ndarray, trials: list[np.ndarray], weights) -> list[np.ndarray]:
    """``events`` (never above the trials' sum) over the bands in turn; no band above its trials."""
    left, parts = events.astype(np.int64), []
    for i, t in enumerate(trials[:-1]):
        rest = sum(trials[i + 1:])
        w = weights[i] * t
        w_rest = sum(wt * tr for wt, tr in zip(weights[i + 1:], trials[i + 1:]))
        p = np.divide(w, w + w_rest, out=np.zeros(len(t)), where=(w + w_rest) > 0)
        part = np.clip(rng.binomial(left, np.clip(p, 0, 1)), np.maximum(left - rest, 0), np.minimum(t, left))
        parts.append(part)
        left = left - part
    return [*parts, left]


def age_band_rows(gen, codes: set[str], unit_codes, unit_names, mask) -> list[pd.DataFrame]:
    """The landing rows by age band of the sector's elements (``codes``) at the selected communes."""
    columns: dict[str, list[np.ndarray]] = {}
    for element, (denominator, weights, misses) in EVENTS.items():
        if element not in gen.elements or denominator not in gen.elements:
            continue
        trials = _trials(gen, denominator)
        if denominator in codes:
            columns[denominator] = trials
        if element in codes:
            events = gen.column(element, "commune")
            rng = gen._rng("age-band-events", element)
            if misses:
                lost = allocate(rng, gen.column(denominator, "commune") - events, trials, weights)
                columns[element] = [t - m for t, m in zip(trials, lost)]
            else:
                columns[element] = allocate(rng, events, trials, weights)
    codes_at, names_at = np.asarray(unit_codes)[mask], np.asarray(unit_names)[mask]
    return [pd.DataFrame({"period": gen.period, "unit_code": codes_at, "unit_name": names_at, "data_element": element,
                          "value": part[mask].astype(np.int64), "disaggregation": f"age={band}"})
            for element, parts in columns.items() for band, part in zip(BANDS, parts)]
