"""The commune tables of a release (``commune_assessment``, ``commune_ranking``), disclosure control applied.

See :mod:`pipelines.publish.release` for the rule: the points and met of a criterion fed by a suppressed
sensitive count are published empty, the commune's total too, and its reason names every hidden criterion alike
(:func:`pipelines.publish.disclosure_protect.coarsened_reason`), written once here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pipelines.publish import contract
from pipelines.publish.disclosure import DisclosureRule, apply_disclosure_control
from pipelines.publish.disclosure_protect import coarsened_reason
from pipelines.publish.sources import ReleaseError, _require_columns, _table_columns

_COMMUNE_MART_COLUMNS = {
    "marts.fct_commune_assessment": [
        "period", "commune_code", "commune_name", "province_code", "criterion_code", "criterion_name_vi",
        "criterion_ordinal", "points", "max_points", "pass_points", "met", "is_sensitive", "shortfall_vi"],
    "marts.fct_commune_ranking": [
        "period", "commune_code", "commune_name", "province_code", "index", "rank_in_province", "tier",
        "tier_name_vi", "recognised", "reason", "commune_type", "threshold_points", "total_points",
        "not_ranked_reason", "indicators_used", "indicators_total", "is_assessed", "total_shortfall_vi",
        "commune_type_source"],
}

_COMMUNE_SQL = {
    "commune_assessment": """
        select period, commune_code, commune_name, province_code, criterion_code, criterion_name_vi,
               criterion_ordinal, points, max_points, pass_points, met, is_sensitive, shortfall_vi
        from marts.fct_commune_assessment where period = ?""",
    "commune_ranking": """
        select period, commune_code, commune_name, province_code, index, rank_in_province, tier,
               tier_name_vi as tier_name, recognised, reason, commune_type, threshold_points, total_points,
               not_ranked_reason, indicators_used, indicators_total, is_assessed, total_shortfall_vi,
               commune_type_source
        from marts.fct_commune_ranking where period = ?""",
}


def _empty(name: str) -> pd.DataFrame:
    return pd.DataFrame({c.name: pd.Series(dtype="object") for c in contract.table(name).columns})


def commune_suppression(con, period: str, methodology, rule: DisclosureRule) -> pd.DataFrame:
    """Which commune counts of the assessment's sensitive inputs are suppressed by ``rule``.

    Columns: commune_code, data_element, suppressed (one row per commune with a
    reported count). The counts of each sensitive element go through
    :func:`apply_disclosure_control` as if the element were an indicator
    numerator, so an element that is one (ABUSE_CASES of P2_ABUSE_RATE) is
    suppressed in the same communes as in ``indicator_values``.
    """
    assessment = methodology.commune_assessment
    elements = methodology.elements_by_code
    sensitive = [e for e in (assessment.elements if assessment else ()) if elements[e].sensitive]
    if not sensitive or _table_columns(con, "marts.fct_data_values") is None:
        return pd.DataFrame(columns=["commune_code", "data_element", "suppressed"])
    counts = con.execute(
        f"""select period, unit_level, unit_code, province_code, data_element as indicator_code,
                   value as numerator, value, cast(null as double) as score
            from marts.fct_data_values
            where period = ? and unit_level = 'commune' and data_element in ({", ".join("?" for _ in sensitive)})""",
        [period, *sensitive]).df()
    result = apply_disclosure_control(counts, sensitive, rule).table
    return pd.DataFrame({"commune_code": result["unit_code"].astype(str),
                         "data_element": result["indicator_code"].astype(str),
                         "suppressed": result["suppressed"].astype(bool)})


def build_commune_tables(con, period: str, methodology, rule: DisclosureRule) -> dict[str, Any]:
    """``commune_assessment`` and ``commune_ranking`` of the period, disclosure control applied.

    Returns the two frames (not yet conformed), ``source_commune_assessment``
    (before disclosure control) and the manifest summary under the other keys.
    """
    present = {t: _table_columns(con, t) is not None for t in _COMMUNE_MART_COLUMNS}
    assessment = methodology.commune_assessment
    if not any(present.values()):
        return {"commune_assessment": _empty("commune_assessment"), "commune_ranking": _empty("commune_ranking"),
                "source_commune_assessment": _empty("commune_assessment"), "source_commune_ranking": None,
                "source": "the warehouse has no commune marts: commune tables published empty"}
    for table, cols in _COMMUNE_MART_COLUMNS.items():
        _require_columns(con, table, cols)
    if assessment is not None and _table_columns(con, "ref.assessment") is not None:
        row = con.execute("select file_sha256 from ref.assessment limit 1").fetchone()
        if row and row[0] != assessment.sha256:
            raise ReleaseError(
                f"the warehouse was computed with commune assessment sha256 {row[0]}, but the methodology names "
                f"{assessment.path.name} (sha256 {assessment.sha256}): rebuild the warehouse")
    frames = {name: con.execute(sql, [period]).df() for name, sql in _COMMUNE_SQL.items()}
    crit, ranking = frames["commune_assessment"], frames["commune_ranking"]
    source_ranking = ranking.assign(commune_code=ranking["commune_code"].astype(str))

    hidden = _hidden_criteria(con, period, methodology, rule)
    crit = crit.copy()
    crit["commune_code"] = crit["commune_code"].astype(str)
    crit["suppressed"] = [(c, k) in hidden for c, k in zip(crit["commune_code"], crit["criterion_code"])]
    source = crit.copy()
    crit["points"] = crit["points"].astype("Float64")
    crit["met"] = crit["met"].astype("boolean")
    crit.loc[crit["suppressed"], ["points", "met"]] = pd.NA
    assumed = {c.code: c.assumed for c in (assessment.criteria if assessment else ())}
    crit["assumed"] = crit["criterion_code"].map(assumed)
    ranking = _published_ranking(ranking, source, hidden)
    return {"commune_assessment": crit, "commune_ranking": ranking, "source_commune_assessment": source,
            "source_commune_ranking": source_ranking, **_summary(assessment, ranking, crit, hidden)}


def _hidden_criteria(con, period: str, methodology, rule: DisclosureRule) -> set[tuple[str, str]]:
    """(commune, criterion) pairs whose criterion has a sensitive input suppressed for the commune."""
    assessment = methodology.commune_assessment
    suppressed_pairs = commune_suppression(con, period, methodology, rule)
    suppressed_pairs = suppressed_pairs[suppressed_pairs["suppressed"]]
    criterion_elements = pd.DataFrame(
        [(c.code, e) for c in (assessment.criteria if assessment else ()) for e in c.elements
         if methodology.elements_by_code[e].sensitive], columns=["criterion_code", "data_element"])
    hidden = suppressed_pairs.merge(criterion_elements, on="data_element")[["commune_code", "criterion_code"]]
    return set(map(tuple, hidden.drop_duplicates().to_numpy()))


def _published_ranking(ranking: pd.DataFrame, source: pd.DataFrame, hidden: set[tuple[str, str]]) -> pd.DataFrame:
    """The ranking as published: a commune with a hidden criterion has no total and, when it is not recognised,
    the coarsened reason (every hidden criterion named alike, no total clause), the text protection writes too."""
    ranking = ranking.copy()
    ranking["commune_code"] = ranking["commune_code"].astype(str)
    hidden_by: dict[str, set[str]] = {}
    for commune, criterion in hidden:
        hidden_by.setdefault(commune, set()).add(criterion)
    rows = dict(tuple(source[source["commune_code"].isin(set(hidden_by))].groupby("commune_code")))
    reasons = []
    for r in ranking.itertuples(index=False):
        criteria = hidden_by.get(r.commune_code)
        if not criteria or r.commune_code not in rows or pd.isna(r.recognised) or bool(r.recognised):
            reasons.append(r.reason if isinstance(r.reason, str) else None)
        else:
            reasons.append(coarsened_reason(rows[r.commune_code], criteria))
    ranking["reason"] = reasons
    ranking["total_points"] = ranking["total_points"].astype("Float64")
    ranking.loc[ranking["commune_code"].isin(set(hidden_by)), "total_points"] = pd.NA
    return ranking


def _summary(assessment, ranking: pd.DataFrame, crit: pd.DataFrame, hidden: set[tuple[str, str]]) -> dict[str, Any]:
    """What the commune tables hold, for the manifest."""
    assessed = ranking["is_assessed"].fillna(False).astype(bool)
    return {
        "source": "marts.fct_commune_assessment, marts.fct_commune_ranking",
        "assessment": None if assessment is None else {
            "code": assessment.code, "version": assessment.version, "file": assessment.path.name,
            "sha256": assessment.sha256, "periods": assessment.periods,
            "criteria_assumed": [c.code for c in assessment.criteria if c.assumed],
        },
        "communes": int(len(ranking)),
        "communes_assessed": int(assessed.sum()),
        "communes_recognised": int(ranking["recognised"].eq(True).sum()),
        "communes_ranked": int(ranking["rank_in_province"].notna().sum()),
        "commune_types_from_file": int(ranking["commune_type_source"].eq("file").sum()),
        "criteria_suppressed": int(crit["suppressed"].sum()),
        "communes_with_suppressed_criteria": len({c for c, _ in hidden} & set(ranking["commune_code"])),
    }


def audit_commune_tables(source: pd.DataFrame, published: Mapping[str, pd.DataFrame]) -> list[str]:
    """Check the published commune tables against the criterion points before disclosure control.

    Suppressed criteria carry no points and no met; a commune with a suppressed
    criterion publishes no total; unsuppressed criteria are published unchanged.
    """
    out: list[str] = []
    pub = published["commune_assessment"]
    if source is None or source.empty or pub.empty:
        return out
    key = ["period", "commune_code", "criterion_code"]
    m = source[key + ["points", "met", "suppressed"]].merge(
        pub[key + ["points", "met", "suppressed"]].astype({"commune_code": str}), on=key, how="outer",
        suffixes=("_orig", "_pub"), indicator=True)
    if (m["_merge"] != "both").any():
        return [f"commune_assessment rows differ from the warehouse, e.g. {m.loc[m['_merge'] != 'both', key].iloc[0].to_dict()}"]
    sup = m["suppressed_pub"].fillna(False).astype(bool)
    if (sup != m["suppressed_orig"].astype(bool)).any():
        out.append("commune_assessment: the suppressed flags differ from the disclosure decision")
    leaked = sup & (m["points_pub"].notna() | m["met_pub"].notna())
    if leaked.any():
        out.append(f"commune_assessment: {int(leaked.sum())} suppressed criteria still publish points or met")
    a = pd.to_numeric(m["points_orig"], errors="coerce")
    b = pd.to_numeric(m["points_pub"], errors="coerce")
    changed = ~sup & ~((a == b) | (a.isna() & b.isna()))
    if changed.any():
        out.append(f"commune_assessment: points changed for {int(changed.sum())} unsuppressed criteria")
    hidden = set(m.loc[sup, "commune_code"].astype(str))
    ranking = published["commune_ranking"]
    shown = ranking["commune_code"].astype(str).isin(hidden) & ranking["total_points"].notna()
    if shown.any():
        out.append(f"commune_ranking: {int(shown.sum())} communes with a suppressed criterion publish total_points")
    return out
