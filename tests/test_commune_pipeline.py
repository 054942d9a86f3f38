"""The commune assessment in the Dagster graph: the commune-types reference asset, the report of a release,
and the asset graph. (The data path, raw values -> dbt -> release files, is in test_commune_assessment.py;
the whole `cri run` path also publishes these tables in test_pipeline_e2e.py.)
"""

from __future__ import annotations

import dagster as dg
import duckdb
import pandas as pd

from pipelines.demo.generate import write_commune_types
from pipelines.reference.assets import commune_types
from pipelines.reference.commune_types import commune_types_path
from pipelines.resources import pipeline_resources


def _ref_commune_types(home) -> pd.DataFrame:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute("select * from ref.commune_types").df()
    finally:
        con.close()


def test_the_commune_types_asset_reads_the_operators_file_and_never_fails_without_it(cri_home):
    # no file yet: every commune gets the default type of its division type, and the metadata says why
    result = dg.materialize([commune_types], resources=pipeline_resources())
    assert result.success
    meta = result.asset_materializations_for_node("reference__commune_types")[0].metadata
    assert meta["file_found"].value is False and meta["warning_count"].value == 1
    assert meta["communes_by_type"].value == {
        "mountain_island_disadvantaged": 13, "other": 2621, "urban_ward_central_city": 687}
    assert set(_ref_commune_types(cri_home).type_source) == {"default"}

    # the demo's synthetic file, where operators keep theirs
    write_commune_types(commune_types_path(cri_home))
    result = dg.materialize([commune_types], resources=pipeline_resources())
    meta = result.asset_materializations_for_node("reference__commune_types")[0].metadata
    assert meta["file_found"].value is True and meta["warning_count"].value == 0
    assert meta["communes_from_file"].value == 3321
    assert meta["communes_by_type"].value == {
        "mountain_island_disadvantaged": 688, "other": 1946, "urban_ward_central_city": 687}
    types = _ref_commune_types(cri_home)
    assert len(types) == 3321 and set(types.type_source) == {"file"}


def test_the_release_report_gets_the_commune_ranking(tmp_path, monkeypatch):
    """The publish asset's report writer passes commune_ranking: a section per province."""
    from pipelines.methodology import load_methodology
    from pipelines.publish import assets
    from pipelines.settings import DEFAULT_METHODOLOGY

    m = load_methodology(DEFAULT_METHODOLOGY)
    monkeypatch.setattr(assets, "read_analysis", lambda period, run_id, settings=None: (tmp_path, None, {}))
    robustness, excel, report = assets._extra_writers("2025", m, {}, "run")
    ranking = pd.DataFrame([
        {"period": "2025", "province_code": p, "province_name": n, "pcri": s, "rank": r, "tier": r,
         "rank_change": None, "indicators_used": 20, "indicators_total": 20, "not_ranked_reason": None,
         "tier_name": None, "tier_name_en": None, "previous_rank": None}
        for p, n, s, r in (("01", "Thành phố Hà Nội", 80.0, 1), ("12", "Lai Châu", 50.0, 2))])
    domains = pd.DataFrame([{"period": "2025", "province_code": p, "domain_code": d.code, "domain_name": d.name_vi,
                             "score": 60.0} for p in ("01", "12") for d in m.domains])
    values = pd.DataFrame(columns=["period", "unit_level", "unit_code", "unit_name", "province_code",
                                   "indicator_code", "numerator", "denominator", "value", "score", "suppressed"])
    communes = pd.DataFrame([
        {"period": "2025", "commune_code": "00004", "commune_name": "Phường Ba Đình", "province_code": "01",
         "index": 91.5, "rank_in_province": 1, "tier": 1, "recognised": True, "reason": None},
        {"period": "2025", "commune_code": "03388", "commune_name": "Phường Đoàn Kết", "province_code": "12",
         "index": 71.2, "rank_in_province": 1, "tier": 1, "recognised": False,
         "reason": "Tổng điểm 845 dưới ngưỡng 850 (Xã, phường, đặc khu còn lại)"},
    ])
    report(tmp_path, {"province_ranking": ranking, "domain_scores": domains, "indicator_values": values,
                      "commune_assessment": pd.DataFrame(), "commune_ranking": communes})
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'id="cap-xa"' in html and 'id="xa-01"' in html and 'id="xa-12"' in html
    assert "Phường Đoàn Kết" in html and "Tổng điểm 845 dưới ngưỡng 850" in html


def test_the_graph_has_the_commune_assets():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"reference/commune_types", "reference/assessment_criteria", "marts/fct_commune_assessment",
            "marts/fct_commune_ranking", "intermediate/int_commune_assessment"} <= keys
    release = graph.get(dg.AssetKey(["publish", "release"]))
    assert dg.AssetKey(["marts", "fct_commune_ranking"]) in release.parent_keys
    # each ref.* table of the assessment is fed by its reference asset
    bands = graph.get(dg.AssetKey(["staging", "stg_ref__assessment_bands"]))
    assert dg.AssetKey(["reference", "assessment_bands"]) in bands.parent_keys
    types = graph.get(dg.AssetKey(["staging", "stg_ref__commune_types"]))
    assert dg.AssetKey(["reference", "commune_types"]) in types.parent_keys
    items = graph.get(dg.AssetKey(["intermediate", "int_commune_assessment_items"]))
    assert dg.AssetKey(["intermediate", "int_commune_element_values"]) in items.parent_keys
    # the disagreement with the reported recognition is a dbt test on the mart: a non-blocking check
    checks = [k for k in graph.asset_check_keys if k.name == "fct_commune_ranking_assessment_agrees_with_reported"]
    assert checks and not graph.get_check_spec(checks[0]).blocking
