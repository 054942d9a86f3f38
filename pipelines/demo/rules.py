"""How the demo draws each data element: one :class:`Rule` per element (``RULES``), generic ones by kind.

See :mod:`pipelines.demo.generate` for how the numbers are made.
"""

from __future__ import annotations

from dataclasses import dataclass

TOTAL = "POP_0_15"
POP_TOTAL = "POP_TOTAL"  # whole population of a commune: used by rules, never written


@dataclass(frozen=True)
class Rule:
    """How one data element is drawn.

    model:
      ``binomial``   a share of the trials (sum of ``base``), never above them;
      ``bernoulli``  yes (1) or no (0);
      ``poisson``    events, mean = rate x sum of ``base``;
      ``scaled``     rate x sum of ``base``, rounded to ``round_to``;
      ``total``      sum of ``base`` (at a province: over its communes), off by at
                     most ``rate`` as a share (a figure that must match its parts).
    ``rate`` is the national share or rate; ``dev`` moves it per sd of
    development (logit scale for shares, log scale otherwise; negative for
    "lower is better" things). ``flow``: events of the
    period, halved for a half-year period. ``noise``: sd of the unit's noise in
    each period (default NOISE_SD of the level). ``persistent``: the same random
    draw every period (structural counts such as villages). ``minimum``:
    smallest value written.
    """

    model: str
    rate: float
    base: tuple[str, ...] = ()
    dev: float = 0.0
    flow: bool = False
    noise: float | None = None
    persistent: bool = False
    minimum: int = 0
    round_to: int = 1


# The specific rules, one per data element (population and age groups: see above).
RULES: dict[str, Rule] = {
    # Statistics
    "VILLAGES": Rule("scaled", 1 / 900, (POP_TOTAL,), noise=0.3, persistent=True, minimum=1),
    # Health
    "LIVE_BIRTHS": Rule("poisson", 1.02, ("POP_AGE_0",), flow=True, noise=0.05),
    "DEATHS_U5": Rule("binomial", 0.021, ("LIVE_BIRTHS",), dev=-0.25, noise=0.1),
    "IMMUNISED_FULL_U1": Rule("binomial", 0.95, ("POP_AGE_0",), dev=0.45),
    "MEASURED_U5": Rule("binomial", 0.85, ("POP_AGE_0", "POP_AGE_1_4"), dev=0.3),
    "STUNTED_U5": Rule("binomial", 0.19, ("MEASURED_U5",), dev=-0.3),
    "UNDERWEIGHT_U5": Rule("binomial", 0.11, ("MEASURED_U5",), dev=-0.35),
    "CSC_TOTAL": Rule("poisson", 0.05, (TOTAL,), dev=-0.2, noise=0.1),
    "CSC_HELPED": Rule("binomial", 0.90, ("CSC_TOTAL",), dev=0.5),
    "ABUSE_CASES": Rule("poisson", 10e-5, (TOTAL,), dev=-0.25, flow=True),
    "INJURY_DEATHS": Rule("poisson", 16e-5, (TOTAL,), dev=-0.3, flow=True),
    "CP_WORKER": Rule("bernoulli", 0.93, dev=0.8),
    "CHILD_FRIENDLY": Rule("bernoulli", 0.60, dev=0.6),
    "VILLAGES_CP_VOLUNTEER": Rule("binomial", 0.70, ("VILLAGES",), dev=0.6),
    "CHILDREN_CONSULTED": Rule("binomial", 0.25, ("POP_AGE_7_15",), dev=0.4),
    "CHILDREN_FORUM": Rule("bernoulli", 0.55, dev=0.6),
    # Social security
    "INSURED_U6": Rule("binomial", 0.93, ("POP_AGE_0", "POP_AGE_1_4", "POP_AGE_5"), dev=0.5),
    # Education
    "ENROLLED_AGE5": Rule("binomial", 0.985, ("POP_AGE_5",), dev=0.5),
    "LSEC_COHORT": Rule("binomial", 1 / 9, ("POP_AGE_7_15",), noise=0.05),
    "LSEC_COMPLETERS": Rule("binomial", 0.90, ("LSEC_COHORT",), dev=0.5),
    # Justice
    "BIRTHS_REG_ONTIME": Rule("binomial", 0.975, ("LIVE_BIRTHS",), dev=0.4),
    # Police
    "ABUSE_OFFENCES": Rule("poisson", 8e-5, (TOTAL,), dev=-0.25, flow=True),
    "CONFLICT_LAW": Rule("poisson", 20e-5, (TOTAL,), dev=-0.25, flow=True),
    # Culture, sports and tourism
    "PLAY_AREA": Rule("bernoulli", 0.45, dev=0.7),
    "VILLAGES_CULTURE": Rule("binomial", 0.60, ("VILLAGES",), dev=0.6),
    # Finance (province level): VND per child and year
    "CHILD_BUDGET_VND": Rule("scaled", 90_000, (TOTAL,), dev=0.35, flow=True, round_to=1_000_000),
    # Inputs of the child-friendly commune assessment (health, police)
    "CP_GROUP_MEETS": Rule("bernoulli", 0.92, dev=0.8),
    "CHILD_PLAN_FUNDED": Rule("bernoulli", 0.90, dev=0.8),
    "HEALTH_CHECKED": Rule("binomial", 0.85, (TOTAL,), dev=0.5),
    "SATISFACTION_SURVEYED": Rule("scaled", 1 / 200, (POP_TOTAL,), noise=0.2, minimum=30),
    "SATISFIED": Rule("binomial", 0.84, ("SATISFACTION_SURVEYED",), dev=0.5),
    "CHILDREN_DRUGS": Rule("poisson", 6e-5, (TOTAL,), dev=-0.25, flow=True),
    # criterion 6, second item: cases of child sexual abuse, abandonment and trafficking (most communes have none),
    # and those with an intervention plan approved in time
    "SAT_CASES": Rule("poisson", 4e-5, (TOTAL,), dev=-0.25, flow=True),
    "SAT_CASES_PLANNED": Rule("binomial", 0.93, ("SAT_CASES",), dev=0.8),
}

# Generic rules by kind, for elements without a specific rule.
GENERIC_RULES: dict[str, Rule] = {
    "yes_no": Rule("bernoulli", 0.6, dev=0.5),
    "amount_vnd": Rule("scaled", 50_000, (TOTAL,), dev=0.3, flow=True, round_to=1_000_000),
    "count": Rule("poisson", 0.05, (TOTAL,)),
}
GENERIC_SCORE = 0.7  # a generic numerator aims at this share of the way to its indicator's better goalpost
GENERIC_DEV = 0.4
