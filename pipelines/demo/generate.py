"""Synthetic demo landing data: every data element of the methodology, for every unit.

The files look like what the sector agencies send (see docs/architecture.md,
"Landing file format"): one CSV per sector and period,
``<landing_dir>/<period>/<sector>/<sector>_<period>.csv``, UTF-8 with a BOM,
columns ``period,unit_code,unit_name,data_element,value``.

How the numbers are made
------------------------
* Population: each province's 2025 population and region come from the
  ``countries-dictionary`` package, matched to the official provinces by
  ASCII-folded name. About a quarter of it are children aged 0-15; they are
  split over the province's communes (wards more populous than rural communes),
  then over the age groups so the groups add up exactly to POP_0_15.
* Development: a latent score per province (region, population density, share
  of wards, centrally-run city, a little noise), standardised to mean 0 and
  sd 1, drifting from period to period (generally improving, at a
  province-specific pace). Each commune adds its own persistent effect.
* Data elements: each one follows a rule in ``RULES`` (what it is drawn from,
  its national level and how development moves it). Shares are binomial draws
  from their denominator, so a numerator never exceeds its denominator; rare
  events are Poisson draws. An element without a rule gets a generic one from
  its kind (and, for counts, from the indicator it is the numerator of), so a
  new element in the methodology never breaks the demo.

Every draw uses a random stream keyed by (seed, period, element, level), or
(seed, element, level) for what persists from year to year: the same seed
always writes byte-identical files, a period's files do not depend on the other
periods written, and adding an element does not change the values of the others.

Child-friendly communes
-----------------------
When the methodology has a commune assessment (Decision 06/QĐ-TTg), the
reported recognition (``CHILD_FRIENDLY``, the element the assessment replaces)
is not drawn: it is the result of the assessment applied to the commune's own
generated inputs and type (``CommuneAssessment.evaluate``), as a health office
would report it, so the demo's reported and assessed recognition agree.
The commune types are written beside the landing folder, as the operators'
reference file ``<CRI_HOME>/reference/commune_types.csv`` (see
``pipelines/reference/commune_types.py``). They are SYNTHETIC, derived
deterministically from the official unit list by the project's reading of
Decision 06/QĐ-TTg's types (commune-assessment-2019.yaml): every ward
(phường) is ``urban_ward_central_city`` (900 points); rural communes (xã) of
the northern midland and mountain provinces (DEMO_MOUNTAIN_PROVINCES), standing
in for the list of mountain communes, and every special zone (đặc khu, the
islands) are ``mountain_island_disadvantaged`` (800); every other commune is
``other`` (850). The real lists of especially difficult, mountain and island
communes come from the operators.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


from pipelines.demo import legacy
from pipelines.demo.groups import group_rows
from pipelines.demo.streams import stream as _rng
from pipelines.demo.rules import GENERIC_DEV, GENERIC_RULES, GENERIC_SCORE, POP_TOTAL, RULES, TOTAL, Rule
from pipelines.methodology import DataElement, Methodology, load_methodology
from pipelines.reference.commune_types import FILE_NAME as COMMUNE_TYPES_FILE
from pipelines.reference.commune_types import REFERENCE_FOLDER
from pipelines.reference.units import admin_units
from pipelines.reporting_calendar import load_calendar
from pipelines.units.names import strip_diacritics

# Hà Nội (not merged, top of past rankings), Tuyên Quang (merged with Hà Giang in
# 2025), Lai Châu (not merged, bottom of past rankings).
SMALL_PROVINCES = ("01", "08", "12")
SMALL_COMMUNES_PER_PROVINCE = 4
DEFAULT_SEED = 20251115

LANDING_COLUMNS = ["period", "unit_code", "unit_name", "data_element", "value"]
PERIOD_PATTERN = re.compile(r"^(\d{4})(H[12])?$")
BASE_YEAR = 2024  # position 0 of the development trend
POPULATION_YEAR = 2025  # the year of the countries-dictionary population figures

# -- population model --------------------------------------------------------
COMMUNES = "COMMUNES"  # built-in unit count: 1 per commune
POPULATION_PER_COMMUNE = 30_000  # used only if countries-dictionary names no province at all
AREA_PER_COMMUNE = 100.0  # km2, likewise
CHILD_SHARE = 0.235  # children 0-15 in the population (national)
CHILD_SHARE_RANGE = (0.22, 0.25)
CHILD_SHARE_PER_DEV = -0.01  # younger populations where development is lower
POPULATION_GROWTH = 0.009  # per year
# Relative population of a commune by division type (times a persistent log-normal factor).
DIVISION_WEIGHT = {"phường": 1.8, "xã": 1.0, "đặc khu": 0.4}
COMMUNE_WEIGHT_SD = 0.5
# Age groups as shares of POP_0_15; the last group takes the rest so the sum is exact.
AGE_SHARES = {"POP_AGE_0": 0.058, "POP_AGE_1_4": 0.245, "POP_AGE_5": 0.062, "POP_AGE_6": 0.063}
AGE_REST = "POP_AGE_7_15"
AGE_SHARE_PER_DEV = -0.06  # log scale: more young children where development is lower

# -- development model -------------------------------------------------------
# Effect of the region (names as the countries-dictionary package writes them).
REGION_EFFECT = {
    "Red River Delta": 0.5,
    "Southeast": 0.5,
    "South Central": 0.0,
    "North Central": 0.0,
    "Mekong Delta": -0.2,
    "Northeast": -0.4,
    "Northwest": -0.9,
}
DENSITY_EFFECT = 0.45  # per sd of log population density
WARD_SHARE_EFFECT = 0.4  # per sd of the share of wards among the communes
CENTRAL_CITY_EFFECT = 0.7  # thành phố trung ương
PROVINCE_NOISE_SD = 0.25
TREND_PER_YEAR = 0.12  # national improvement, in sd of development
DRIFT_SD = 0.15  # province-specific pace of improvement
PERIOD_SHOCK_SD = 0.08
WARD_EFFECT = 0.3  # wards are a little better served than rural communes
COMMUNE_EFFECT_SD = 0.35
NOISE_SD = {"commune": 0.2, "province": 0.1}  # per element and period, on the logit/log scale


# Synthetic commune types (see the module text): rural communes of these northern midland and mountain
# provinces are mountain communes; special zones (đặc khu) are islands; every ward (phường) has the urban
# threshold.
DEMO_MOUNTAIN_PROVINCES = ("04", "08", "11", "12", "14", "15", "19", "20", "25")



@dataclass(frozen=True)
class DemoSummary:
    """What ``write_demo_data`` wrote."""

    landing_dir: Path
    periods: tuple[str, ...]
    files: tuple[Path, ...]
    rows: dict[tuple[str, str], int]  # (period, sector) -> data rows written
    provinces: tuple[str, ...]  # province codes covered
    communes: int  # communes covered
    population_fallback: tuple[str, ...]  # province codes not found in countries-dictionary
    seconds: float
    reference_files: tuple[Path, ...] = ()  # the synthetic commune types file

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


# -- helpers -----------------------------------------------------------------
def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def _zscore(x: pd.Series) -> pd.Series:
    sd = x.std(ddof=0)
    return (x - x.mean()) / sd if sd > 0 else x * 0.0


def fold_name(name: str) -> str:
    """ASCII key of a province name: 'Thành phố Hồ Chí Minh', 'Ho Chi Minh City' -> 'hochiminh'."""
    text = strip_diacritics(name).lower()
    text = re.sub(r"^(thanh pho|tinh)\s+|\s+(province|city)$", "", text.strip())
    return re.sub(r"[^a-z0-9]", "", text)


def parse_period(period: str) -> tuple[float, float]:
    """(position in years since BASE_YEAR, share of a year) of a period YYYY, YYYYH1 or YYYYH2."""
    match = PERIOD_PATTERN.match(period)
    if not match:
        raise ValueError(f"period must be YYYY, YYYYH1 or YYYYH2, got {period!r}")
    year, half = int(match.group(1)), match.group(2)
    offset = {None: 0.0, "H1": -0.25, "H2": 0.25}[half]
    return year - BASE_YEAR + offset, (1.0 if half is None else 0.5)


# -- provinces -----------------------------------------------------------------
def _dictionary_provinces() -> dict[str, dict]:
    """countries-dictionary's provinces by folded name (population, area, region)."""
    try:
        from countries_dictionary import VIETNAM
    except ImportError:
        return {}
    return {
        fold_name(name): info for name, info in VIETNAM.items()
        if info.get("population") and info.get("area")
    }


def demo_commune_types(units: pd.DataFrame | None = None) -> pd.DataFrame:
    """The synthetic commune types (module text): commune_code, commune_name, province_code, commune_type."""
    units = admin_units() if units is None else units
    communes = units[units.unit_level == "commune"].sort_values("unit_code")
    kind = np.select(
        [communes.division_type == "phường",
         (communes.division_type == "đặc khu")
         | ((communes.division_type == "xã") & communes.province_code.isin(DEMO_MOUNTAIN_PROVINCES))],
        ["urban_ward_central_city", "mountain_island_disadvantaged"], "other")
    return pd.DataFrame({"commune_code": communes.unit_code.to_numpy(), "commune_name": communes.unit_name.to_numpy(),
                         "province_code": communes.province_code.to_numpy(), "commune_type": kind})


def write_commune_types(path: Path) -> Path:
    """Write the synthetic commune types as the operators' reference file (UTF-8 with BOM)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    demo_commune_types().to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return path


def province_profiles(seed: int) -> pd.DataFrame:
    """One row per province: population (2025), region, area, communes, development..."""
    units = admin_units()
    provinces = units[units.unit_level == "province"].set_index("unit_code")
    communes = units[units.unit_level == "commune"]
    known = _dictionary_provinces()

    df = pd.DataFrame(index=provinces.index)
    df["province_name"] = provinces.unit_name
    df["central_city"] = (provinces.division_type == "thành phố trung ương").astype(float)
    df["communes"] = communes.groupby("province_code").size().reindex(df.index).fillna(0)
    df["ward_share"] = (communes.division_type == "phường").groupby(communes.province_code).mean().reindex(df.index)
    info = [known.get(fold_name(name)) for name in df.province_name]
    df["matched"] = [i is not None for i in info]
    df["population"] = [float(i["population"]) if i else np.nan for i in info]
    df["area"] = [float(i["area"]) if i else np.nan for i in info]
    df["region"] = [i.get("region", "") if i else "" for i in info]
    # Fallback for a province the package does not name: the median per commune of the others.
    if not df.matched.all():
        matched = df[df.matched]
        pop_per_commune, area_per_commune = POPULATION_PER_COMMUNE, AREA_PER_COMMUNE
        if len(matched):
            pop_per_commune = (matched.population / matched.communes).median()
            area_per_commune = (matched.area / matched.communes).median()
        missing = ~df.matched
        df.loc[missing, "population"] = (df.communes[missing] * pop_per_commune).round()
        df.loc[missing, "area"] = df.communes[missing] * area_per_commune

    rng = _rng(seed, "province-development")
    raw = (
        df.region.map(REGION_EFFECT).fillna(0.0)
        + DENSITY_EFFECT * _zscore(np.log(df.population / df.area))
        + WARD_SHARE_EFFECT * _zscore(df.ward_share)
        + CENTRAL_CITY_EFFECT * df.central_city
        + rng.normal(0.0, PROVINCE_NOISE_SD, len(df))
    )
    df["development"] = _zscore(raw)
    df["drift"] = _rng(seed, "province-drift").normal(0.0, DRIFT_SD, len(df))
    share = CHILD_SHARE + CHILD_SHARE_PER_DEV * df.development
    share += _rng(seed, "child-share").normal(0.0, 0.004, len(df))
    df["child_share"] = share.clip(*CHILD_SHARE_RANGE)
    return df


# -- one period ----------------------------------------------------------------
class _Period:
    """Draws every data element of one period, on demand and once each."""

    def __init__(self, methodology: Methodology, profiles: pd.DataFrame, period: str, seed: int, selected: np.ndarray):
        self.methodology = methodology
        self.elements = methodology.elements_by_code
        self.period, self.seed = period, seed
        position, self.year_share = parse_period(period)
        units = admin_units()
        self.communes = units[units.unit_level == "commune"].reset_index(drop=True)
        self.provinces = profiles
        self.selected = selected  # boolean mask over self.communes
        self.province_index = pd.Index(profiles.index)
        self.commune_province = self.province_index.get_indexer(self.communes.province_code)

        shock = self._rng("province-shock").normal(0.0, PERIOD_SHOCK_SD, len(profiles))
        self.province_dev = (profiles.development + (TREND_PER_YEAR + profiles.drift) * position + shock).to_numpy()
        is_ward = (self.communes.division_type == "phường").to_numpy()
        commune_effect = _rng(seed, "commune-effect").normal(0.0, COMMUNE_EFFECT_SD, len(self.communes))
        self.commune_dev = self.province_dev[self.commune_province] + WARD_EFFECT * is_ward + commune_effect
        self.columns: dict[tuple[str, str], np.ndarray] = {}
        self.assessment = getattr(methodology, "commune_assessment", None)
        if self.assessment is not None:
            types = demo_commune_types(units).set_index("commune_code").commune_type
            self.commune_types = types.reindex(self.communes.unit_code).fillna(self.assessment.default_type.code)
        self._population(position)

    def _rng(self, *keys: str) -> np.random.Generator:
        return _rng(self.seed, self.period, *keys)

    def _population(self, position: float) -> None:
        profiles, communes = self.provinces, self.communes
        growth = (1 + POPULATION_GROWTH) ** (position - (POPULATION_YEAR - BASE_YEAR))
        children = np.round(profiles.population * growth * profiles.child_share).astype(np.int64).to_numpy()
        weight = communes.division_type.map(DIVISION_WEIGHT).fillna(1.0).to_numpy()
        weight = weight * np.exp(_rng(self.seed, "commune-weight").normal(0.0, COMMUNE_WEIGHT_SD, len(communes)))
        weight = weight * np.exp(self._rng("commune-weight").normal(0.0, 0.02, len(communes)))
        rng = self._rng("children")
        total = np.zeros(len(communes), dtype=np.int64)
        for p in range(len(profiles)):
            rows = np.flatnonzero(self.commune_province == p)
            if len(rows):
                total[rows] = rng.multinomial(children[p], weight[rows] / weight[rows].sum())
        self.columns[(TOTAL, "commune")] = total
        share = profiles.child_share.to_numpy()[self.commune_province]
        self.columns[(POP_TOTAL, "commune")] = np.round(total / share).astype(np.int64)
        self.columns[(COMMUNES, "commune")] = np.ones(len(communes), dtype=np.int64)

        # Age groups by successive binomial draws: the last group takes the rest, so they add up exactly.
        rng = self._rng("age-groups")
        tilt = np.exp(AGE_SHARE_PER_DEV * self.commune_dev)
        left, left_share = total.copy(), np.ones(len(communes))
        for code, share in AGE_SHARES.items():
            p = np.clip(share * tilt / left_share, 0.0, 1.0)
            group = rng.binomial(left, p)
            self.columns[(code, "commune")] = group
            left, left_share = left - group, np.clip(left_share - share * tilt, 1e-9, None)
        self.columns[(AGE_REST, "commune")] = left

    # -- columns -----------------------------------------------------------
    def column(self, code: str, level: str, _busy: frozenset = frozenset()) -> np.ndarray:
        """Values of one element for every commune (level 'commune') or province ('province')."""
        key = (code, level)
        if key in self.columns:
            return self.columns[key]
        element = self.elements.get(code)
        if level == "commune" and self.assessment is not None and code == self.assessment.replaces_element:
            # the reported recognition is the assessment of the commune's own inputs (module text)
            inputs = {e: self.column(e, "commune", _busy | {code}) for e in self.assessment.elements}
            result = self.assessment.evaluate(inputs, self.commune_types.to_numpy())
            values = result.recognised.astype(np.int64)
        elif level == "province" and (element is None or element.level == "commune"):
            # A province's commune-level counts are the sum over its (selected) communes.
            values = np.bincount(
                self.commune_province[self.selected], self.column(code, "commune", _busy)[self.selected],
                minlength=len(self.province_index),
            ).astype(np.int64)
        else:
            rule = self.rule(code, _busy)
            try:
                base = [self.column(b, level, _busy | {code}) for b in rule.base]
            except _Cycle:
                rule = GENERIC_RULES["count"]
                base = [self.column(b, level, _busy | {code}) for b in rule.base]
            values = self._draw(code, level, rule, base)
        self.columns[key] = values
        return values

    def rule(self, code: str, busy: frozenset = frozenset()) -> Rule:
        if code in busy:
            raise _Cycle(code)
        if code in RULES:
            return RULES[code]
        element = self.elements.get(code)
        if element is None:
            raise KeyError(f"{code}: neither a data element of the methodology nor a built-in column")
        return generic_rule(element, self.methodology)

    def _draw(self, code: str, level: str, rule: Rule, base: list[np.ndarray]) -> np.ndarray:
        rng = _rng(self.seed, code, level) if rule.persistent else self._rng(code, level)
        dev = self.commune_dev if level == "commune" else self.province_dev
        noise = NOISE_SD[level] if rule.noise is None else rule.noise
        shift = rule.dev * dev + rng.normal(0.0, noise, len(dev))
        trials = np.sum(base, axis=0) if base else np.ones(len(dev), dtype=np.int64)
        flow = self.year_share if rule.flow else 1.0
        if rule.model in ("binomial", "bernoulli"):
            p = _expit(_logit(min(max(rule.rate, 1e-6), 1 - 1e-6)) + shift)
            values = rng.binomial(trials.astype(np.int64) if rule.model == "binomial" else 1, p)
        elif rule.model == "poisson":
            values = rng.poisson(trials * rule.rate * flow * np.exp(shift))
        elif rule.model == "scaled":
            values = np.round(trials * rule.rate * flow * np.exp(shift) / rule.round_to) * rule.round_to
        elif rule.model == "total":
            values = np.round(trials * (1 + rng.uniform(-rule.rate, rule.rate, len(dev))))
        else:
            raise ValueError(f"{code}: unknown rule model {rule.model!r}")
        return np.maximum(values, rule.minimum).astype(np.int64)


class _Cycle(Exception):
    pass


def generic_rule(element: DataElement, methodology: Methodology) -> Rule:
    """A plausible rule for an element that RULES does not name.

    The total of a consistency rule of the methodology is the sum of its parts
    (within half the rule's tolerance). A count that is the numerator of an
    indicator is drawn as a share of that indicator's denominator (so it never
    exceeds it), aimed at a fair score. Anything else: by its kind.
    """
    for check in getattr(methodology, "consistency_rules", ()):
        if check.get("total") == element.code and element.code not in check.get("parts", ()):
            return Rule("total", float(check.get("tolerance_share", 0)) / 2, tuple(check["parts"]), noise=0.0)
    if element.kind != "count":
        return GENERIC_RULES[element.kind]
    kinds = {e.code: e.kind for e in methodology.data_elements}
    for ind in methodology.indicators:
        if element.code not in ind.numerator or element.code in ind.denominator:
            continue
        if any(kinds.get(d) == "amount_vnd" for d in ind.denominator):
            continue
        span = ind.goal_high - ind.goal_low
        value = ind.goal_low + (GENERIC_SCORE if ind.direction == "higher" else 1 - GENERIC_SCORE) * span
        rate = max(value / ind.multiplier / len(ind.numerator), 1e-6)
        dev = GENERIC_DEV if ind.direction == "higher" else -GENERIC_DEV
        return Rule("binomial" if rate <= 1 else "poisson", rate, ind.denominator, dev=dev)
    return GENERIC_RULES["count"]


# -- writing -------------------------------------------------------------------
def _methodology(methodology: Methodology | str | Path | None) -> Methodology:
    if isinstance(methodology, Methodology):
        return methodology
    return load_methodology(methodology)


def _selection(small: bool) -> np.ndarray:
    units = admin_units()
    communes = units[units.unit_level == "commune"].reset_index(drop=True)
    if not small:
        return np.ones(len(communes), dtype=bool)
    first = communes[communes.province_code.isin(SMALL_PROVINCES)].sort_values("unit_code")
    first = first.groupby("province_code").head(SMALL_COMMUNES_PER_PROVINCE)
    return communes.index.isin(first.index)


def _sector_frame(gen: _Period, elements: list[DataElement], level: str, unit_codes, unit_names, mask):
    """The landing rows of one level: unit by unit, elements in methodology order (None if there are none)."""
    codes = [e.code for e in elements if e.level == level]
    if not codes or not mask.any():
        return None
    values = np.column_stack([gen.column(c, level)[mask] for c in codes])  # units x elements
    n_units = int(mask.sum())
    return pd.DataFrame({
        "period": gen.period,
        "unit_code": np.repeat(np.asarray(unit_codes)[mask], len(codes)),
        "unit_name": np.repeat(np.asarray(unit_names)[mask], len(codes)),
        "data_element": np.tile(codes, n_units),
        "value": values.ravel(),
    })


def _sector_rows(gen: _Period, elements: list[DataElement], communes: pd.DataFrame, profiles: pd.DataFrame,
                 selected: np.ndarray, province_mask: np.ndarray, groups: bool, seed: int) -> pd.DataFrame:
    """The landing rows of one sector and period: communes, provinces and (``groups``) the rows by group."""
    parts = [
        _sector_frame(gen, elements, "commune", communes.unit_code, communes.unit_name, selected),
        _sector_frame(gen, elements, "province", profiles.index, profiles.province_name, province_mask),
    ]
    if groups:
        parts.append(group_rows(gen, elements, communes.unit_code, communes.unit_name, selected, seed))
    parts = [p for p in parts if p is not None]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=LANDING_COLUMNS)
    if "disaggregation" in frame.columns:  # rows by group (pipelines/demo/groups.py); '' = the total
        frame["disaggregation"] = frame["disaggregation"].fillna("")
    return frame


def _write_landing_file(landing_dir: Path, period: str, sector: str, frame: pd.DataFrame, late: bool) -> Path:
    """Write one landing file, dated as the agency sent it: a few days before the deadline (``late``: after)."""
    path = landing_dir / period / sector / f"{sector}_{period}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    sent = datetime.combine(load_calendar().deadline_of(period) - timedelta(days=5), datetime.min.time())
    if late:
        sent += timedelta(days=5 + legacy.LATE_DAYS)
    os.utime(path, (sent.timestamp(), sent.timestamp()))
    return path


def write_demo_data(
    landing_dir: Path,
    periods: Iterable[str] = ("2024", "2025"),
    small: bool = False,
    seed: int = DEFAULT_SEED,
    methodology: Methodology | str | Path | None = None,
    reference_dir: Path | None = None,
    history: bool = False,
    groups: bool | None = None,
) -> DemoSummary:
    """Write synthetic landing files for every sector and period; return what was written.

    ``small``: only provinces SMALL_PROVINCES, with their first
    SMALL_COMMUNES_PER_PROVINCE communes by code (province-level elements for
    those provinces only, built from those communes).
    ``reference_dir``: where the synthetic commune types file goes (default:
    ``reference`` beside the landing folder, i.e. ``$CRI_HOME/reference``);
    written for every commune, also in small mode.
    ``history``: the years before 2025 as agencies sent them, a missing sector, late files and one province
    falling back (``pipelines/demo/legacy.py``).
    ``groups``: also the rows by group (``pipelines/demo/groups.py``); default: with the history.
    """
    groups = history if groups is None else groups
    started = time.perf_counter()
    landing_dir = Path(landing_dir)
    periods = tuple(str(p) for p in periods)
    for period in periods:
        parse_period(period)
    meth = _methodology(methodology)
    profiles = province_profiles(seed)
    selected = _selection(small)
    units = admin_units()
    communes = units[units.unit_level == "commune"].reset_index(drop=True)
    province_mask = profiles.index.isin(communes.province_code[selected])
    written = [e for e in meth.data_elements if e.kind != "unit_count"]
    sectors = list(dict.fromkeys([s.code for s in meth.sectors] + [e.sector for e in written]))

    files: list[Path] = []
    rows: dict[tuple[str, str], int] = {}
    reference_files = []
    if meth.commune_assessment is not None:
        folder = Path(reference_dir) if reference_dir is not None else landing_dir.parent / REFERENCE_FOLDER
        reference_files.append(write_commune_types(folder / COMMUNE_TYPES_FILE))
    for period in periods:
        gen = _Period(meth, profiles, period, seed, selected)
        if history:  # one province falls back (legacy.SETBACK)
            lost = legacy.setback(profiles.index, parse_period(period)[0], BASE_YEAR)
            gen.province_dev, gen.commune_dev = gen.province_dev - lost, gen.commune_dev - lost[gen.commune_province]
        for sector in sectors:
            elements = [e for e in written if e.sector == sector]
            if not elements or (history and sector in legacy.MISSING_SECTORS.get(period, ())):
                continue
            frame = _sector_rows(gen, elements, communes, profiles, selected, province_mask, groups, seed)
            if history and legacy.is_legacy_period(period):
                frame = legacy.to_legacy(frame, sector, {e.code for e in elements if e.kind == "yes_no"})
            files.append(_write_landing_file(landing_dir, period, sector, frame, late=history and sector in
                                             legacy.LATE_FILES.get(period, ())))
            rows[(period, sector)] = len(frame)

    return DemoSummary(
        landing_dir=landing_dir,
        periods=periods,
        files=tuple(files),
        rows=rows,
        provinces=tuple(profiles.index[province_mask]),
        communes=int(selected.sum()),
        population_fallback=tuple(profiles.index[~profiles.matched]),
        seconds=round(time.perf_counter() - started, 3),
        reference_files=tuple(reference_files),
    )


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pipelines.demo", description="Write synthetic demo landing files.")
    parser.add_argument("--landing-dir", type=Path, help="default: the landing folder of the settings")
    parser.add_argument("--periods", nargs="+", default=["2024", "2025"])
    parser.add_argument("--small", action="store_true", help=f"only provinces {', '.join(SMALL_PROVINCES)}")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    if args.landing_dir is None:
        from pipelines.settings import get_settings

        args.landing_dir = get_settings().landing_dir
    summary = write_demo_data(args.landing_dir, args.periods, small=args.small, seed=args.seed)
    print(f"{len(summary.files)} files, {summary.total_rows} rows, {len(summary.provinces)} provinces, "
          f"{summary.communes} communes in {summary.seconds} s -> {summary.landing_dir}")
    if summary.population_fallback:
        print(f"population not found in countries-dictionary for: {', '.join(summary.population_fallback)}")
