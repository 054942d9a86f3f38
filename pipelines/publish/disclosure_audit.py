"""The disclosure audit: attack a release the way a determined reader would.

For every suppressed commune count of a sensitive data element: the smallest and largest value consistent
with everything published for the period, this release and every earlier version (``publish/<period>/v*/``).
What a reader can use is declared in ``methodology/disclosure.yaml`` (``reader`` of each field); each field
becomes linear constraints on whole, non-negative counts, one problem per province (no constraint crosses
one), solved for ``min x`` and ``max x`` of each hidden cell by HiGHS (:func:`scipy.optimize.milp`):

* a published commune numerator fixes the count (an empty one not suppressed: not reported, adds nothing);
  the province numerator is the sum of its communes;
* published criterion points put the count in a band of the assessment file, ``met`` on one side of the
  pass mark, a published total gives the sum of the hidden points;
* recognised: every criterion met, none at zero, the total at the threshold; not recognised, when every
  published criterion is met: a hidden criterion fails or the total is short (binary band choices);
* a reason naming a hidden criterion without the neutral wording says "not met", one left out says "met";
  the total clause says "short";
* with ``primary_counts``, the reader also knows how many hidden cells of each province and element hold a
  count in the suppression range (the others: 0, or more than the range).

Earlier versions share the variables of the current one; where they contradict each other (a correction),
each version is audited alone. A cell is *exposed* when fewer than ``min_values`` values remain. A version of
a province that repeats another is read once, and a province audited before on exactly the same rows is taken
from the memo given (:mod:`pipelines.publish.disclosure_memo`).
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pipelines.publish.disclosure_lp import EPS, Problem as _Problem
from pipelines.publish.disclosure_memo import (AuditMemo, distinct_versions, province_fingerprints, province_key,
                                              spec_fingerprint)
from pipelines.publish.disclosure_model import DisclosureModel, load_disclosure_model

# the wording of a hidden criterion in a coarsened reason: says nothing about met or not
NEUTRAL_VI = "không công bố điểm và kết quả đạt (bảo mật số liệu)"
TOTAL_CLAUSE = re.compile(r"Tổng điểm")
DEFAULT_CAP = 100_000  # the largest count a reader must consider where no population bounds it
log = logging.getLogger(__name__)


@dataclass
class AuditResult:
    """Per hidden cell: the feasible interval a reader can compute (``high`` None: no upper bound)."""

    cells: pd.DataFrame
    min_values: int
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    solves: int = 0
    reused: int = 0  # provinces whose audit was taken from a memo (see disclosure_memo), not solved again
    # provinces whose published figures contradict themselves in every version: nothing of them can be audited,
    # so nothing is published (fail closed)
    contradictions: list[str] = field(default_factory=list)

    @property
    def exposed(self) -> pd.DataFrame:
        values = self.cells["values"]
        return self.cells[values.notna() & (values < self.min_values)]

    @property
    def ok(self) -> bool:
        return self.exposed.empty and not self.contradictions

    def smallest_width(self) -> int | None:
        v = self.cells["values"].dropna()
        return int(v.min()) if len(v) else None

    def problems(self) -> list[str]:
        return list(self.contradictions) + [
            f"{r.element} {r.commune_code} (province {r.province_code}): a reader can narrow the suppressed "
            f"count to {_interval(r.low, r.high)}" for r in self.exposed.itertuples(index=False)]

    def summary(self) -> dict[str, Any]:
        values = self.cells["values"]
        return {
            "cells_audited": int(len(self.cells)),
            "cells_exposed": int(len(self.exposed)),
            "smallest_values": self.smallest_width(),
            "cells_narrowed": int(self.cells["narrowed"].sum()) if len(self.cells) else 0,
            "cells_unbounded": int(values.isna().sum()),
            "min_values": self.min_values,
            "solves": self.solves,
            "seconds": round(self.seconds, 2),
            "notes": self.notes,
        }


def _interval(low, high) -> str:
    return f"{int(low)}" if high is not None and not pd.isna(high) and low == high else \
        f"{int(low)} to {'any' if high is None or pd.isna(high) else int(high)}"


# --------------------------------------------------------------------------------------------------
# what the methodology says about the fields


@dataclass(frozen=True)
class _Bands:
    """One assessment item as intervals of its count, given the denominator."""

    criterion: str
    pass_points: float
    elements: tuple[str, ...]
    denominator: tuple[str, ...]
    multiplier: float
    band_type: str
    bands: tuple[tuple[float, float], ...]  # (bound, points)
    if_no_denominator: float | None

    def intervals(self, den: float | None, cap: int) -> list[tuple[float, int, int]]:
        """(points, lowest count, highest count) of each band reachable with denominator ``den``."""
        if self.denominator and (den is None or not den > 0):
            return []
        scale = (den if self.denominator else 1.0) / self.multiplier
        out: list[tuple[float, int, int]] = []
        if self.band_type == "max":  # lower is better: band i is (bound_{i-1}, bound_i]
            prev = None
            for bound, pts in sorted(self.bands):
                lo = 0 if prev is None else math.floor(prev * scale + EPS) + 1
                out.append((pts, lo, min(cap, math.floor(bound * scale + EPS))))
                prev = bound
            out.append((0.0, math.floor(prev * scale + EPS) + 1, cap))
        else:  # higher is better: band i is [bound_i, bound_{i-1})
            prev = None
            for bound, pts in sorted(self.bands, reverse=True):
                hi = cap if prev is None else math.ceil(prev * scale - EPS) - 1
                out.append((pts, max(0, math.ceil(bound * scale - EPS)), min(cap, hi)))
                prev = bound
            out.append((0.0, 0, min(cap, math.ceil(prev * scale - EPS) - 1)))
        return [(p, lo, hi) for p, lo, hi in out if lo <= hi]


@dataclass(frozen=True)
class _Spec:
    indicators: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]  # sensitive indicator -> (numerator, denominator)
    criteria: dict[str, _Bands]  # criteria fed by a sensitive element
    elements: tuple[str, ...]  # every element a variable is needed for
    sensitive: frozenset[str]
    denominator_of: dict[tuple[str, ...], list[str]]  # denominator elements -> the indicators publishing them


def _spec(methodology, model: DisclosureModel) -> _Spec:
    sensitive = frozenset(model.sensitive_elements)
    indicators = {i.code: (tuple(i.numerator), tuple(i.denominator)) for i in methodology.indicators
                  if sensitive & set(i.numerator)}
    criteria: dict[str, _Bands] = {}
    assessment = methodology.commune_assessment
    for c in (assessment.criteria if assessment else ()):
        if not sensitive & set(e for i in c.items for e in i.numerator):
            continue
        if len(c.items) != 1:
            # Several items (criterion 6 of Decision 06/QĐ-TTg: children helped, and every case of sexual abuse,
            # abandonment or trafficking with an approved plan). Its sensitive item scores only whether every case
            # has a plan (planned = cases, no case counting as met): no function of the count itself. Its points
            # are hidden with the cells (disclosure rule); the audit does not model it.
            continue
        i = c.items[0]
        criteria[c.code] = _Bands(c.code, c.pass_points, tuple(i.numerator), tuple(i.denominator), i.multiplier,
                                  i.band_type, tuple((b.bound, b.points) for b in i.bands), i.if_no_denominator)
    elements = tuple(dict.fromkeys([e for n, _ in indicators.values() for e in n]
                                   + [e for b in criteria.values() for e in b.elements]))
    denominator_of = {}
    for i in methodology.indicators:
        denominator_of.setdefault(tuple(sorted(i.denominator)), []).append(i.code)
    return _Spec(indicators, criteria, elements, sensitive, denominator_of)


# --------------------------------------------------------------------------------------------------
# published tables, split by province


@dataclass
class _Version:
    """What one published version says about one province."""

    communes: pd.DataFrame  # commune rows of sensitive indicators
    provinces: pd.DataFrame  # province rows of sensitive indicators
    criteria: dict[str, dict[str, Any]]  # commune -> criterion -> row (points, met, suppressed, pass_points)
    ranking: dict[str, Any]  # commune -> row (recognised, reason, threshold_points, total_points)
    denominators: dict[tuple[str, str], float]  # (commune, indicator) -> published denominator


def _provinces(tables: Mapping[str, pd.DataFrame], spec: _Spec) -> set[str]:
    """The provinces a version speaks of to the audit (those :func:`_split` returns)."""
    iv = tables["indicator_values"]
    sens = iv[iv["indicator_code"].isin(list(spec.indicators))]
    ca = tables.get("commune_assessment", pd.DataFrame(columns=["province_code"]))
    return set(sens["province_code"].dropna().astype(str)) | set(ca["province_code"].dropna().astype(str))


def _split(tables: Mapping[str, pd.DataFrame], spec: _Spec) -> dict[str, _Version]:
    iv = tables["indicator_values"]
    sens = iv[iv["indicator_code"].isin(list(spec.indicators))]
    dens = iv[(iv["unit_level"] == "commune") & iv["denominator"].notna()]
    ca = tables.get("commune_assessment", pd.DataFrame(columns=["province_code"]))
    cr = tables.get("commune_ranking", pd.DataFrame(columns=["province_code"]))
    out: dict[str, _Version] = {}
    for prov in sorted(_provinces(tables, spec)):
        out[prov] = _Version(pd.DataFrame(), pd.DataFrame(), {}, {}, {})
    for prov, g in sens.groupby(sens["province_code"].astype(str)):
        out[prov].communes = g[g["unit_level"] == "commune"]
        out[prov].provinces = g[g["unit_level"] == "province"]
    for prov, g in dens.groupby(dens["province_code"].astype(str)):
        out[prov].denominators = {(str(u), i): d for u, i, d in
                                  zip(g["unit_code"], g["indicator_code"], g["denominator"]) if pd.notna(d)}
    if len(ca):
        for r in _records(ca):
            out[str(r["province_code"])].criteria.setdefault(str(r["commune_code"]), {})[r["criterion_code"]] = r
    if len(cr):
        for r in _records(cr):
            out[str(r["province_code"])].ranking[str(r["commune_code"])] = r
    return out


def _records(df: pd.DataFrame) -> list[dict]:
    """``df.to_dict("records")``, the same values, each column converted at once (row by row is slow on
    Arrow-backed columns: a whole release's commune tables took seconds)."""
    cols = list(df.columns)
    values = [df[c].to_numpy(dtype=object, na_value=None if df[c].dtype.na_value is pd.NA else df[c].dtype.na_value)
              .tolist() if isinstance(df[c].dtype, pd.api.extensions.ExtensionDtype) else df[c].astype(object).tolist()
              for c in cols]
    return [dict(zip(cols, row)) for row in zip(*values)]


def _na(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _targets(v: _Version, spec: _Spec) -> set[tuple[str, str]]:
    """The hidden sensitive cells of a version: suppressed numerators and suppressed criteria inputs."""
    out = set()
    published = {e for n, _ in spec.indicators.values() for e in n}  # hidden there only when the row is suppressed
    if len(v.communes):
        for u, i, s in zip(v.communes["unit_code"], v.communes["indicator_code"], v.communes["suppressed"]):
            if not _na(s) and bool(s):
                out |= {(str(u), e) for e in spec.indicators[i][0] if e in spec.sensitive}
    for commune, rows in v.criteria.items():
        for k, r in rows.items():
            if k in spec.criteria and not _na(r.get("suppressed")) and bool(r["suppressed"]):
                out |= {(commune, e) for e in spec.criteria[k].elements if e in spec.sensitive and e not in published}
    return out


# --------------------------------------------------------------------------------------------------
# constraints


def _caps(versions: Sequence[_Version], spec: _Spec) -> dict[str, int]:
    """A commune's count cannot exceed its child population (the published denominator)."""
    caps: dict[str, int] = {}
    for v in versions:
        if len(v.communes):
            for u, d in zip(v.communes["unit_code"], v.communes["denominator"]):
                if not _na(d) and d > 0:
                    caps[str(u)] = max(caps.get(str(u), 0), int(math.floor(d)))
    return caps


def _indicator_rows(p: _Problem, v: _Version, spec: _Spec, cap) -> None:
    members: dict[str, list[int]] = {}
    for r in v.communes.itertuples(index=False):
        cells = {p.cell(str(r.unit_code), e, cap(str(r.unit_code))): 1.0 for e in spec.indicators[r.indicator_code][0]}
        members.setdefault(r.indicator_code, []).extend(cells)
        if not _na(r.suppressed) and bool(r.suppressed):
            continue
        n = 0.0 if _na(r.numerator) else float(r.numerator)  # not reported: adds nothing to the province
        p.add(cells, n, n)
    for r in v.provinces.itertuples(index=False):
        if not _na(r.numerator) and members.get(r.indicator_code):
            p.add({i: 1.0 for i in members[r.indicator_code]}, float(r.numerator), float(r.numerator))


def _denominator(v: _Version, spec: _Spec, commune: str, bands: _Bands) -> float | None:
    for source in spec.denominator_of.get(tuple(sorted(bands.denominator)), ()):
        if (commune, source) in v.denominators:
            return v.denominators[(commune, source)]
    return None


def _hidden_points(p: _Problem, bands: _Bands, cells: dict[int, float], den, cap: int):
    """Binary band choice of a hidden criterion: (points expression, fail expression, pass expression)."""
    if bands.denominator and den is not None and den == 0:
        pts = bands.if_no_denominator if bands.if_no_denominator is not None else max(b[1] for b in bands.bands)
        return {}, pts, {}, {}
    ivs = bands.intervals(den, cap)
    linked = bool(ivs)
    if not linked:  # the reader does not know the denominator: any band
        ivs = [(pts, 0, cap) for pts in sorted({b[1] for b in bands.bands} | {0.0})]
    z = [p.var(0, 1) for _ in ivs]
    p.add({i: 1.0 for i in z}, 1, 1)
    if linked:
        p.add({**cells, **{i: -lo for i, (_, lo, _) in zip(z, ivs)}}, 0, np.inf)
        p.add({**cells, **{i: -hi for i, (_, _, hi) in zip(z, ivs)}}, -np.inf, 0)
    points = {i: pts for i, (pts, _, _) in zip(z, ivs) if pts}
    fail = {i: 1.0 for i, (pts, _, _) in zip(z, ivs) if pts < bands.pass_points or pts <= 0}
    good = {i: 1.0 for i in z if i not in fail}
    return points, 0.0, fail, good


def _commune_rows(p: _Problem, v: _Version, spec: _Spec, commune: str, cap: int) -> None:
    rows = v.criteria.get(commune, {})
    hidden = {}
    for k, bands in spec.criteria.items():
        r = rows.get(k)
        if r is None:
            continue
        cells = {p.cell(commune, e, cap): 1.0 for e in bands.elements}
        den = _denominator(v, spec, commune, bands)
        ivs = bands.intervals(den, cap)
        if not _na(r.get("points")):
            hit = [(lo, hi) for pts, lo, hi in ivs if abs(pts - float(r["points"])) < EPS]
        elif not _na(r.get("met")):
            hit = [(lo, hi) for pts, lo, hi in ivs if (pts >= bands.pass_points and pts > 0) == bool(r["met"])]
        else:
            if not _na(r.get("suppressed")) and bool(r["suppressed"]):
                hidden[k] = (cells, den)
            continue
        if ivs and hit:
            p.add(cells, min(h[0] for h in hit), max(h[1] for h in hit))
    rank = v.ranking.get(commune)
    if hidden and rank is not None and not _na(rank.get("recognised")):
        _recognition(p, rows, rank, hidden, spec, cap)


def _sides(bands: _Bands, den, cap: int):
    """(pass interval, fail interval, lowest passing points, highest points) of a hidden criterion's count."""
    ivs = bands.intervals(den, cap)
    good = [iv for iv in ivs if iv[0] >= bands.pass_points and iv[0] > 0]
    bad = [iv for iv in ivs if iv not in good]
    span = (lambda xs: (min(x[1] for x in xs), max(x[2] for x in xs)) if xs else None)
    top = max(b[1] for b in bands.bands)
    return span(good), span(bad), min((g[0] for g in good), default=top), top


def _recognition(p: _Problem, rows, rank, hidden, spec: _Spec, cap: int) -> None:
    """Recognition, total and reason of a commune with hidden criteria (band binaries only where they bind)."""
    visible = [r for k, r in rows.items() if k not in hidden]
    if any(_na(r.get("points")) for r in visible):
        return
    known = sum(float(r["points"]) for r in visible)
    visible_fail = any(float(r["points"]) < float(r["pass_points"]) or float(r["points"]) <= 0 for r in visible)
    room = float(rank["threshold_points"]) - known if not _na(rank.get("threshold_points")) else None
    sides = {k: _sides(spec.criteria[k], den, cap) for k, (_, den) in hidden.items()}
    lowest_pass, highest = sum(v[2] for v in sides.values()), sum(v[3] for v in sides.values())
    binaries: list = []

    def band_vars():
        if not binaries:
            points, const, by_k = {}, 0.0, {}
            for k, (cells, den) in hidden.items():
                pts, c0, f, g = _hidden_points(p, spec.criteria[k], cells, den, cap)
                points.update(pts)
                const += c0
                by_k[k] = (f, g)
            binaries.append((points, const, by_k))
        return binaries[0]

    def side(k, good: bool) -> None:
        iv = sides[k][0 if good else 1]
        if iv is not None and spec.criteria[k].denominator:
            p.add(hidden[k][0], iv[0], iv[1])

    if not _na(rank.get("total_points")):
        points, const, _ = band_vars()
        p.add(points, float(rank["total_points"]) - known - const, float(rank["total_points"]) - known - const)
    if bool(rank["recognised"]):
        for k in hidden:
            side(k, True)
        if room is not None and room > lowest_pass:
            points, const, by_k = band_vars()
            for f, _ in by_k.values():
                for i in f:
                    p.bound(i, 0, 0)
            p.add(points, room - const, np.inf)
        return
    if not visible_fail and room is not None and room <= highest:
        points, const, by_k = band_vars()
        fail = {i: 1.0 for f, _ in by_k.values() for i in f}
        big = highest + abs(room) + 1
        u = p.var(0, 1)  # 1: the total is short; 0: a hidden criterion fails
        p.add({**fail, u: 1.0}, 1, np.inf)
        p.add({**points, u: big}, -np.inf, room - const - 1e-3 + big)
    reason = rank.get("reason")
    if isinstance(reason, str) and reason:
        _reason(p, reason, hidden, side, band_vars, room, lowest_pass, highest)


def _reason(p: _Problem, reason: str, hidden, side, band_vars, room, lowest_pass, highest) -> None:
    clauses = [c.strip() for c in reason.split(";")]
    neutral = False
    for k in hidden:
        clause = next((c for c in clauses if re.match(rf"{re.escape(k)}\b", c)), None)
        if clause is None:  # every criterion not met is named: this one was met
            side(k, True)
        elif NEUTRAL_VI in clause:
            neutral = True
        else:  # named with its shortfall: not met
            side(k, False)
    if room is None:
        return
    if any(TOTAL_CLAUSE.search(c) for c in clauses):
        if room - 1e-3 < highest:
            points, const, _ = band_vars()
            p.add(points, -np.inf, room - const - 1e-3)
    elif not neutral and room > 0:  # the total clause is written whenever the total is short
        points, const, _ = band_vars()
        p.add(points, room - const, np.inf)


def _province_problem(versions: Sequence[_Version], spec: _Spec, caps: dict[str, int]) -> _Problem:
    p = _Problem()

    def cap(commune: str) -> int:
        return caps.get(commune, DEFAULT_CAP)

    for v in versions:
        _indicator_rows(p, v, spec, cap)
        for commune in sorted(set(v.criteria) | set(v.ranking)):
            _commune_rows(p, v, spec, commune, cap(commune))
    return p


def _primary_knowledge(p: _Problem, targets, caps, known: Mapping[str, int], rule) -> None:
    """The reader knows how many suppressed cells of each element are primary (a strong reader, on purpose).

    A primary cell holds a count in the range; a complementary one holds 0 or more than the range.
    """
    lo, hi = rule.suppress_min, rule.suppress_max
    for element, primary in known.items():
        cells = [(c, e) for c, e in targets if e == element]
        if not cells:
            continue
        idx = [p.cell(c, e, caps.get(c, DEFAULT_CAP)) for c, e in cells]
        if primary >= len(cells):
            for i in idx:
                p.bound(i, lo, hi)
            continue
        ys = []
        for i in idx:
            y, w = p.var(0, 1), p.var(0, 1)
            ys.append(y)
            p.add({w: 1.0, y: 1.0}, -np.inf, 1)
            p.add({i: 1.0, y: -lo, w: -(hi + 1)}, 0, np.inf)
            p.add({i: 1.0, y: -hi, w: -float(p.ub[i])}, -np.inf, 0)
        p.add({y: 1.0 for y in ys}, primary, primary)


def _audit_province(prov: str, versions: Sequence[_Version], spec: _Spec, known=None,
                    rule=None, enough: int | None = None,
                    repeated: bool = False) -> tuple[list[dict], int, str | None]:
    """The intervals of the province's hidden cells (rows), the solves, and a note. ``repeated``: ``versions``
    had repeats removed (:func:`~pipelines.publish.disclosure_memo.distinct_versions`); the audit falls back to
    each version alone as it would with them. No rows and a note: no version holds (see ``audit_tables``)."""
    targets = sorted(_targets(versions[-1], spec))
    if not targets:
        return [], 0, None
    caps = _caps(versions, spec)
    note = None
    p = _province_problem(versions, spec, caps)
    if known:
        _primary_knowledge(p, targets, caps, known, rule)
    found, solves = p.solve_all([p.cell(c, e, caps.get(c, DEFAULT_CAP)) for c, e in targets], enough)
    if found is None and (len(versions) > 1 or repeated):
        note = f"province {prov}: the versions of the period contradict each other (a correction); audited alone"
        found = {}
        for v in versions:  # each version alone, the current one last (its intervals are reported)
            q = _province_problem([v], spec, caps)
            res, n = q.solve_all([q.cell(c, e, caps.get(c, DEFAULT_CAP)) for c, e in targets], enough)
            solves += n
            for (c, e) in targets:
                if res is not None:
                    lo, hi = res[q.cells[(c, e)]]
                    old = found.get((c, e))
                    found[(c, e)] = (lo, hi) if old is None or hi - lo < old[1] - old[0] else old
        found = {p.cells[t]: found[t] for t in targets if t in found} or None  # None: no version holds alone
    if found is None:
        note = f"province {prov}: the published figures contradict each other"
        return [], solves, note
    rows = []
    for c, e in targets:
        lo, hi = found[p.cells[(c, e)]]
        bounded = caps.get(c) is not None or hi < DEFAULT_CAP
        rows.append({"province_code": prov, "commune_code": c, "element": e, "low": int(lo),
                     "high": int(hi) if bounded else None, "values": int(hi - lo + 1) if bounded else None})
    return rows, solves, note


def audit_tables(
    releases: Sequence[Mapping[str, pd.DataFrame]],
    methodology,
    model: DisclosureModel | None = None,
    provinces: Iterable[str] | None = None,
    primary_counts: Mapping[tuple[str, str], int] | None = None,
    exact: bool = False,
    memo: AuditMemo | None = None,
    distinct: bool = True,
) -> AuditResult:
    """Audit the last of ``releases`` (the others: earlier versions of the same period, oldest first).

    ``primary_counts`` ((province, element) -> primary cells): what a reader who knows the rule may
    work out, given to the audit so that it attacks as that reader (None: a reader without it).
    ``exact``: the exact interval of every cell; otherwise a cell shown to keep ``min_values`` values by the
    solutions found on the way is not solved alone (exposed cells always get their exact interval).
    ``memo``: province audits kept under a hash of everything they read, reused where it matches
    (:mod:`pipelines.publish.disclosure_memo`); the new ones are added to it.
    ``distinct``: a version of a province that repeats another (the same rows) is audited once
    (:func:`~pipelines.publish.disclosure_memo.distinct_versions`).
    """
    started = time.perf_counter()
    model = model or load_disclosure_model(methodology)
    spec = _spec(methodology, model)
    releases = list(releases) if model.earlier_versions else list(releases)[-1:]
    current = _provinces(releases[-1], spec)
    wanted = current if provinces is None else set(provinces) & current
    rows, notes, solves, reused = [], [], 0, 0
    contradictions: list[str] = []
    enough = None if exact else model.min_values
    split: dict[int, dict[str, _Version]] = {}  # a version is split when a province solved reads it
    spec_fp = spec_fingerprint(spec, model.rule)
    prints = [province_fingerprints(t, AUDITED_TABLES) for t in releases] if memo is not None or distinct else []
    for prov in sorted(wanted):
        known = {e: n for (pv, e), n in (primary_counts or {}).items() if pv == prov}
        # a version holding no row of the province says nothing of it (the audit does not read it)
        held = [i for i, f in enumerate(prints) if prov in f] if prints else list(range(len(releases)))
        several = len(held) > 1
        if distinct:
            held = distinct_versions(held, [prints[i][prov] for i in held])
        repeated = several and len(held) == 1  # read as the repeats it stands for (see _audit_province)
        key = None if memo is None else province_key(spec_fp, [prints[i][prov] for i in held], known, enough,
                                                     repeated)
        kept = None if key is None else memo.get(key)
        if kept is not None:
            found, n, note = kept
            reused += 1
        else:
            for i in held:
                split[i] = split[i] if i in split else _split(releases[i], spec)
            versions = [split[i][prov] for i in held if prov in split[i]]
            found, n, note = _audit_province(prov, versions, spec, known, model.rule, enough, repeated)
            if key is not None:
                memo.put(key, found, n, note)
        rows += found
        solves += n
        if note:
            notes.append(note)
        if note and not found:  # hidden cells, and no version holds: fail closed
            contradictions.append(f"{note}: no count of its hidden cells fits the published figures, so the "
                                  "audit cannot vouch for them; nothing is published until they agree")
    if memo is not None:
        log.info("disclosure audit: %d of %d provinces as audited before (the same rows, versions and model)",
                 reused, len(wanted))
    cells = pd.DataFrame(rows, columns=["province_code", "commune_code", "element", "low", "high", "values"])
    # narrowed: fewer possible values than the suppression range holds (4 for 1 to 4)
    cells["narrowed"] = cells["values"].notna() & (
        cells["values"].astype("float") < model.rule.suppress_max - model.rule.suppress_min + 1)
    return AuditResult(cells=cells, min_values=model.min_values, notes=notes,
                       seconds=time.perf_counter() - started, solves=solves, reused=reused,
                       contradictions=contradictions)


AUDITED_TABLES = ("indicator_values", "commune_assessment", "commune_ranking")


def read_release_folder(folder: Path | str) -> dict[str, pd.DataFrame]:
    """The audited tables of a release folder, as written (Parquet)."""
    folder = Path(folder)
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in AUDITED_TABLES
            if (folder / f"{name}.parquet").is_file()}


def earlier_versions(period_dir: Path | str, below: int | None = None) -> list[dict[str, pd.DataFrame]]:
    """The published versions of a period (``v<N>/`` folders, oldest first), below version ``below``."""
    from pipelines.publish.folders import versions as _versions  # the v<N> folders, listed one way

    period_dir = Path(period_dir)
    return [read_release_folder(period_dir / f"v{v}") for v in _versions(period_dir) if below is None or v < below]


def audit_release_folder(folder: Path | str, methodology, model: DisclosureModel | None = None,
                         period_dir: Path | str | None = None, version: int | None = None,
                         primary_counts=None, memo: AuditMemo | None = None) -> AuditResult:
    """Audit the release files in ``folder`` together with the earlier versions in ``period_dir`` (``memo``: the
    province audits already done, e.g. by protection, reused where the files say exactly what they audited)."""
    earlier = earlier_versions(period_dir, version) if period_dir is not None else []
    return audit_tables([*earlier, read_release_folder(folder)], methodology, model, primary_counts=primary_counts,
                        memo=memo)
