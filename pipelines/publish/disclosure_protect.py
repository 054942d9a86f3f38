"""Protect a release until the disclosure audit finds nothing, minimally and automatically.

The base rule (:mod:`pipelines.publish.disclosure`) decides a first set of
hidden commune cells (commune, sensitive data element). From a set of hidden
cells the published commune fields follow (:func:`apply_hidden`):

* ``indicator_values``: the commune rows whose numerator holds a hidden cell
  publish no numerator, value or score (``suppressed`` true);
* ``commune_assessment``: the criteria fed by a hidden cell publish no points
  and no met (``suppressed`` true);
* ``commune_ranking``: a commune with a hidden criterion publishes no total, and
  its reason is *coarsened*: every hidden criterion is named alike, met or not
  (:data:`NEUTRAL_VI`), and the total clause is left out. ``recognised`` is the
  public decision and stays.

:func:`protect` then audits (:mod:`pipelines.publish.disclosure_audit`, with
the earlier versions of the period) and, while a hidden cell keeps fewer than
``min_values`` possible values, for each province and element at fault:
publishes a complementary cell that the reader pins anyway (nothing new is
learnt from it), else hides one more cell of the group: one hidden in an
earlier version first, then the smallest count above zero, then a zero (so
that hidden cells stop telling which small counts are zero); and audits the
provinces changed again. Each round handles every province and element at
fault; after ``max_rounds`` rounds with a cell still exposed, protection fails
with a sentence (the release is refused). The reader attacked is the files alone,
unless the model sets ``reader_knows_primary`` (a reader who also knows how many
hidden cells of each province and element are primary).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipelines.publish.disclosure_audit import NEUTRAL_VI, AuditResult, audit_tables
from pipelines.publish.disclosure_memo import AuditMemo
from pipelines.publish.disclosure_model import DisclosureModel, load_disclosure_model

IV_KEY = ["period", "unit_level", "unit_code", "indicator_code"]
log = logging.getLogger(__name__)


@dataclass
class Protection:
    tables: dict[str, pd.DataFrame]
    audit: AuditResult
    hidden: set[tuple[str, str]]
    counts: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    primary_counts: dict = field(default_factory=dict)  # what a reader who knows the rule works out
    model: dict = field(default_factory=dict)  # the disclosure model, as the manifest records it
    knowing: dict | None = None  # reported, not blocking: the audit by a reader who also knows the primary cells
    memo: AuditMemo | None = field(default=None, repr=False)  # the province audits done, for the audit of the files

    def summary(self) -> dict[str, Any]:
        out = {**{k: int(v) for k, v in sorted(self.counts.items())}, "audit": self.audit.summary(),
               "failures": self.failures}
        if self.knowing is not None:
            out["audit_reader_knowing_primary"] = self.knowing
        return out


def _links(methodology, model: DisclosureModel):
    sensitive = set(model.sensitive_elements)
    numerators = {i.code: tuple(i.numerator) for i in methodology.indicators if sensitive & set(i.numerator)}
    assessment = methodology.commune_assessment
    criteria = {c.code: tuple(e for it in c.items for e in it.numerator if e in sensitive)
                for c in (assessment.criteria if assessment else ())}
    return numerators, {k: v for k, v in criteria.items() if v}


def hidden_cells(tables: Mapping[str, pd.DataFrame], methodology, model: DisclosureModel) -> set[tuple[str, str]]:
    """The (commune, element) cells a release hides: suppressed numerators and suppressed criterion inputs."""
    numerators, criteria = _links(methodology, model)
    sensitive = set(model.sensitive_elements)
    iv = tables["indicator_values"]
    rows = iv[(iv["unit_level"] == "commune") & iv["indicator_code"].isin(list(numerators))
              & iv["suppressed"].fillna(False).astype(bool)]
    out = {(str(u), e) for u, i in zip(rows["unit_code"], rows["indicator_code"]) for e in numerators[i]
           if e in sensitive}
    ca = tables.get("commune_assessment")
    if ca is not None and len(ca):
        rows = ca[ca["criterion_code"].isin(list(criteria)) & ca["suppressed"].fillna(False).astype(bool)]
        in_indicators = {e for n in numerators.values() for e in n}
        out |= {(str(c), e) for c, k in zip(rows["commune_code"], rows["criterion_code"]) for e in criteria[k]
                if e not in in_indicators}
    return out


def coarsened_reason(rows: pd.DataFrame, hidden: set[str]) -> str | None:
    """The reason of a commune with hidden criteria: every hidden criterion named alike, no total clause."""
    parts = []
    for r in rows.sort_values("criterion_ordinal").itertuples(index=False):
        if r.criterion_code in hidden:
            parts.append(f"{r.criterion_code} ({r.criterion_name_vi}): {NEUTRAL_VI}")
        elif isinstance(r.shortfall_vi, str) and r.shortfall_vi:
            parts.append(r.shortfall_vi)
    return "; ".join(parts) or None


@dataclass
class Sources:
    """The commune fields before any suppression (from the warehouse)."""

    indicator_values: pd.DataFrame  # IV_KEY + numerator, value, score
    assessment: pd.DataFrame  # commune_code, criterion_code, criterion_ordinal, criterion_name_vi, points, met,
    #                           shortfall_vi
    ranking: pd.DataFrame  # commune_code, reason, total_points (as in the warehouse)


def apply_hidden(tables: Mapping[str, pd.DataFrame], hidden: set[tuple[str, str]], sources: Sources,
                 methodology, model: DisclosureModel, communes: set[str] | None = None) -> dict[str, pd.DataFrame]:
    """The release tables with exactly ``hidden`` cells hidden (only ``communes`` are rewritten when given)."""
    numerators, criteria = _links(methodology, model)
    out = dict(tables)
    iv = tables["indicator_values"].copy()
    scope = (iv["unit_level"] == "commune") & iv["indicator_code"].isin(list(numerators))
    if communes is not None:
        scope &= iv["unit_code"].astype(str).isin(communes)
    idx = iv.index[scope]
    hide = [any((str(c), e) in hidden for e in numerators[i]) for c, i in
            zip(iv.loc[idx, "unit_code"], iv.loc[idx, "indicator_code"])]
    _refill(iv, idx, hide, sources.indicator_values, IV_KEY, ("numerator", "value", "score"))
    out["indicator_values"] = iv
    ca = tables.get("commune_assessment")
    if ca is None or not len(ca):
        return out
    ca = ca.copy()
    scope = ca["criterion_code"].isin(list(criteria))
    if communes is not None:
        scope &= ca["commune_code"].astype(str).isin(communes)
    idx = ca.index[scope]
    hide = [any((str(c), e) in hidden for e in criteria[k]) for c, k in
            zip(ca.loc[idx, "commune_code"], ca.loc[idx, "criterion_code"])]
    _refill(ca, idx, hide, sources.assessment, ["commune_code", "criterion_code"], ("points", "met"), str_key=True)
    out["commune_assessment"] = ca
    out["commune_ranking"] = _ranking(tables["commune_ranking"], ca, sources, communes)
    return out


def _refill(table: pd.DataFrame, idx, hide, source: pd.DataFrame, key, columns, str_key: bool = False) -> None:
    """Rows ``idx`` of ``table``: ``suppressed`` = ``hide``; the ``columns`` from ``source`` (matched on ``key``),
    emptied where hidden."""
    if not len(idx):
        return
    keys = table.loc[idx, key]
    if str_key:
        keys = keys.assign(**{key[0]: keys[key[0]].astype(str)})
    values = source.set_index(key)[list(columns)].reindex(pd.MultiIndex.from_frame(keys))
    hidden = idx[hide]
    table.loc[idx, "suppressed"] = hide
    for col in columns:
        table.loc[idx, col] = values[col].to_numpy()
        table.loc[hidden, col] = pd.NA


def _ranking(ranking: pd.DataFrame, ca: pd.DataFrame, sources: Sources, communes: set[str] | None) -> pd.DataFrame:
    cr = ranking.copy()
    hidden_by = ca[ca["suppressed"].fillna(False).astype(bool)].groupby(ca["commune_code"].astype(str))[
        "criterion_code"].agg(set).to_dict()
    src = sources.ranking.set_index("commune_code")
    rows = cr.index if communes is None else cr.index[cr["commune_code"].astype(str).isin(communes)]
    codes = set(cr.loc[rows, "commune_code"].astype(str)) & set(hidden_by)
    assessment = sources.assessment[sources.assessment["commune_code"].isin(codes)]
    by_commune = dict(tuple(assessment.groupby("commune_code")))
    for i in rows:
        code = str(cr.at[i, "commune_code"])
        hidden = hidden_by.get(code)
        cr.at[i, "total_points"] = pd.NA if hidden else src.at[code, "total_points"]
        recognised = cr.at[i, "recognised"]
        if not hidden or pd.isna(recognised) or bool(recognised):
            cr.at[i, "reason"] = src.at[code, "reason"]
        else:
            cr.at[i, "reason"] = coarsened_reason(by_commune[code], hidden)
    return cr


def _primary_counts(hidden, truth: pd.DataFrame, rule, published=None) -> dict[tuple[str, str], int]:
    """Primary cells per province and element, for elements whose suppression the release shows."""
    hidden = {(c, e) for c, e in hidden if published is None or e in published}
    values = truth.set_index(["commune_code", "element"])["value"].to_dict()
    province = dict(zip(truth["commune_code"], truth["province_code"]))
    out: Counter = Counter()
    for c, e in hidden:
        v = values.get((c, e))
        if v is not None and not pd.isna(v) and rule.suppress_min <= v <= rule.suppress_max:
            out[(province.get(c), e)] += 1
    return dict(out)


def _candidate(group: pd.DataFrame, hidden, excluded, earlier_hidden) -> str | None:
    """The next cell of a province and element to hide (see the module text)."""
    g = group[~group["key"].isin(hidden) & ~group["key"].isin(excluded) & group["value"].notna()]
    if g.empty:
        return None
    order = pd.DataFrame({"earlier": ~g["key"].isin(earlier_hidden), "zero": g["value"] <= 0,
                          "value": g["value"], "code": g["commune_code"]}, index=g.index)
    return g.loc[order.sort_values(["earlier", "zero", "value", "code"]).index[0], "commune_code"]


def protect(tables: Mapping[str, pd.DataFrame], truth: pd.DataFrame, sources: Sources, methodology,
            model: DisclosureModel | None = None, earlier: Sequence[Mapping[str, pd.DataFrame]] = (),
            memo: AuditMemo | None = None) -> Protection:
    """Audit ``tables`` and protect more until no hidden cell keeps fewer than ``min_values`` values.

    ``truth``: province_code, commune_code, element, value (the warehouse counts of the sensitive elements).
    Every province audit is kept in ``memo`` (a new one when None), returned with the protection.
    """
    model = model or load_disclosure_model(methodology)
    memo = memo if memo is not None else AuditMemo()
    rule = model.rule
    truth = truth.assign(commune_code=truth["commune_code"].astype(str), province_code=truth["province_code"].astype(str))
    truth["key"] = list(zip(truth["commune_code"], truth["element"]))
    hidden = hidden_cells(tables, methodology, model)
    primary = {k for k, v in zip(truth["key"], truth["value"]) if rule.suppress_min <= v <= rule.suppress_max}
    earlier_hidden = set().union(*(hidden_cells(t, methodology, model) for t in earlier)) if earlier else set()
    groups = dict(tuple(truth.groupby(["province_code", "element"])))
    published = {e for n in _links(methodology, model)[0].values() for e in n}
    counts: Counter = Counter({"primary": len(hidden & primary), "complementary": len(hidden - primary)})
    current = apply_hidden(tables, hidden, sources, methodology, model)  # coarsened reasons everywhere
    counts["reasons_coarsened"] = int(_coarsened(current))
    excluded: set = set()
    failures: list[str] = []
    cells: dict[str, pd.DataFrame] = {}
    provinces = None
    for _ in range(model.max_rounds):
        counts["audit_rounds"] += 1
        known = _primary_counts(hidden, truth, rule, published) if model.reader_knows_primary else None
        result = audit_tables([*earlier, current], methodology, model, provinces=provinces, primary_counts=known,
                              memo=memo)
        for prov, g in result.cells.groupby("province_code"):
            cells[prov] = g
        for prov in set(provinces or ()) - set(result.cells["province_code"]):
            cells.pop(prov, None)
        exposed = result.exposed
        log.info("disclosure audit: %d provinces, %d cells, %d exposed, %.1f s", len(set(result.cells["province_code"])),
                 len(result.cells), len(exposed), result.seconds)
        if exposed.empty:
            break
        changed: set[str] = set()
        for (prov, element), g in exposed.groupby(["province_code", "element"]):
            keys = list(zip(g["commune_code"], g["element"]))
            released = [k for k in keys if k not in primary]
            if released:  # the reader pins them anyway: publish them, and never use them again
                hidden -= set(released)
                excluded |= set(released)
                counts["complementary_released"] += len(released)
                changed |= {c for c, _ in released}
                continue
            pick = _candidate(groups.get((prov, element), truth.iloc[:0]), hidden, excluded, earlier_hidden)
            if pick is None:
                failures.append(f"{element} in province {prov}: no cell left to hide")
                continue
            hidden.add((pick, element))
            counts["complementary_added"] += 1
            counts["zeros_hidden"] += int(truth.loc[truth["key"] == (pick, element), "value"].iloc[0] <= 0)
            changed.add(pick)
        if not changed:
            break
        current = apply_hidden(current, hidden, sources, methodology, model, communes=changed)
        provinces = set(truth.loc[truth["commune_code"].isin(changed), "province_code"])
    failures += result.contradictions  # figures that contradict themselves: nothing to vouch for
    if not result.exposed.empty and not failures:
        failures.append(f"the last audit still narrowed {len(result.exposed)} suppressed cells to fewer than "
                        f"{model.min_values} values after {counts['audit_rounds']} rounds of protection "
                        f"(protection.max_rounds in the disclosure model): raise max_rounds or coarsen more fields")
    final = pd.concat(list(cells.values()), ignore_index=True) if cells else result.cells.iloc[:0]
    audit = AuditResult(cells=final, min_values=model.min_values, notes=result.notes,
                        contradictions=result.contradictions)
    counts["reasons_coarsened"] = int(_coarsened(current))
    counts["criteria_hidden"] = int(current["commune_assessment"]["suppressed"].fillna(False).sum()) \
        if "commune_assessment" in current and len(current["commune_assessment"]) else 0
    knowing = None
    if not model.reader_knows_primary and not failures:  # the stronger reader's figures, for the record
        strong = audit_tables([*earlier, current], methodology, model,
                              primary_counts=_primary_counts(hidden, truth, rule, published), memo=memo)
        knowing = {k: strong.summary()[k] for k in ("cells_exposed", "smallest_values", "cells_narrowed", "seconds")}
    return Protection(tables=current, audit=audit, hidden=hidden, counts=counts, failures=failures, knowing=knowing,
                      primary_counts=_primary_counts(hidden, truth, rule, published), model=model.describe(),
                      memo=memo)


def _coarsened(tables: Mapping[str, pd.DataFrame]) -> int:
    cr = tables.get("commune_ranking")
    if cr is None or not len(cr):
        return 0
    return int(cr["reason"].fillna("").str.contains(NEUTRAL_VI, regex=False).sum())


def warehouse_counts(con, period: str, methodology, model: DisclosureModel, source_iv: pd.DataFrame) -> pd.DataFrame:
    """The commune counts of the sensitive elements (``marts.fct_data_values``; else the indicator numerators)."""
    elements = list(model.sensitive_elements)
    has = con.execute("select count(*) from information_schema.tables where table_schema = 'marts' "
                      "and table_name = 'fct_data_values'").fetchone()[0]
    if has:
        return con.execute(
            f"""select province_code, unit_code as commune_code, data_element as element, value
                from marts.fct_data_values where period = ? and unit_level = 'commune'
                and data_element in ({", ".join("?" for _ in elements)}) and value is not null""",
            [period, *elements]).df()
    numerators, _ = _links(methodology, model)
    rows = source_iv[(source_iv["unit_level"] == "commune") & source_iv["numerator"].notna()
                     & source_iv["indicator_code"].map(lambda i: len(numerators.get(i, ())) == 1)]
    return pd.DataFrame({"province_code": rows["province_code"], "commune_code": rows["unit_code"],
                         "element": rows["indicator_code"].map(lambda i: numerators[i][0]),
                         "value": pd.to_numeric(rows["numerator"]).astype(float)})


def protect_release(con, period: str, methodology, tables, source_iv, source_assessment, source_ranking,
                    earlier=()) -> Protection:
    """:func:`protect` on the tables :func:`~pipelines.publish.release.build_release_tables` built."""
    model = load_disclosure_model(methodology)
    truth = warehouse_counts(con, period, methodology, model, source_iv)
    empty = pd.DataFrame(columns=["commune_code", "criterion_code", "criterion_ordinal", "criterion_name_vi",
                                  "points", "met", "shortfall_vi"])
    assessment = source_assessment if source_assessment is not None and len(source_assessment) else empty
    ranking = source_ranking if source_ranking is not None else pd.DataFrame(
        columns=["commune_code", "reason", "total_points"])
    sources = Sources(indicator_values=source_iv, assessment=assessment.assign(
        commune_code=assessment["commune_code"].astype(str)), ranking=ranking)
    return protect(tables, truth, sources, methodology, model, earlier)


def disclosure_summary(base, protection: Protection | None) -> dict[str, Any]:
    """The manifest's ``disclosure``: the rule, the model, and the cells protected by each means."""
    out = base.summary()
    if protection is None:
        return out
    iv = protection.tables["indicator_values"]
    out["cells_suppressed"] = int(iv["suppressed"].fillna(False).sum())
    out["protection"] = protection.summary()
    out["model"] = protection.model
    return out


FIGURES_VI = {
    "primary": "ô bị ẩn vì số liệu từ ngưỡng dưới đến ngưỡng trên (ẩn chính)",
    "complementary": "ô bị ẩn thêm theo quy tắc bổ sung",
    "complementary_added": "ô bị ẩn thêm sau khi kiểm tra khả năng suy ngược",
    "zeros_hidden": "trong đó ô có giá trị 0 được ẩn (không để lộ xã nào bằng 0)",
    "complementary_released": "ô bổ sung được công bố lại vì người đọc đã suy ra được",
    "criteria_hidden": "điểm tiêu chuẩn bị ẩn",
    "reasons_coarsened": "lý do không công nhận được viết gộp (không nói tiêu chuẩn bị ẩn đạt hay không)",
    "smallest_values": "số giá trị khả dĩ ít nhất của một ô bị ẩn",
}


def disclosure_figures(disclosure: Mapping[str, Any]) -> pd.DataFrame:
    """How a release was protected, one row per means (for the report's method note)."""
    protection = dict(disclosure.get("protection") or {})
    audit = dict(disclosure.get("audit") or protection.get("audit") or {})
    values = {**{k: protection.get(k) for k in FIGURES_VI}, "smallest_values": audit.get("smallest_values")}
    return pd.DataFrame([{"means": k, "label_vi": FIGURES_VI[k], "cells": v} for k, v in values.items()
                         if v is not None])
