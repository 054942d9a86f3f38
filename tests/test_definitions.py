"""The Dagster definitions load, and the graph has every stage."""

import dagster as dg

from pipelines.definitions import defs
from pipelines.methodology import load_methodology
from pipelines.settings import DEFAULT_METHODOLOGY


def _keys() -> set[str]:
    return {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}


def test_every_stage_has_its_assets():
    keys = _keys()
    sectors = load_methodology(DEFAULT_METHODOLOGY).sector_codes
    assert {"reference/admin_units", "reference/methodology"} <= keys
    assert {f"ingest/{s}" for s in sectors} <= keys
    assert {
        "staging/stg_raw__data_values",
        "marts/fct_indicator_values",
        "marts/fct_domain_scores",
        "marts/fct_province_ranking",
        "marts/dim_admin_unit",
    } <= keys
    assert "publish/release" in keys


def test_groups_by_stage():
    graph = defs.resolve_asset_graph()
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert {"reference", "ingest", "transform", "publish"} <= groups


def test_the_publication_gate_is_an_asset_upstream_of_robustness_and_the_release_and_no_check_blocks():
    graph = defs.resolve_asset_graph()
    report, gate = dg.AssetKey(["quality", "quality_report"]), dg.AssetKey(["quality", "publication_gate"])
    # the quality report follows every asset a check judges; the gate follows the report
    assert {dg.AssetKey(["marts", "fct_province_ranking"]), dg.AssetKey(["ingest", "health"]),
            dg.AssetKey(["staging", "stg_raw__data_values"])} <= graph.get(report).parent_keys
    assert graph.get(gate).parent_keys == {report}
    # one step: a period that is blocked leaves the gate unmaterialized (an optional output), never fails the run
    step = defs.resolve_assets_def(gate)
    assert step is defs.resolve_assets_def(report) and step.node_def.name == "quality_gate"
    outputs = {step.get_output_name_for_asset_key(k): k for k in (report, gate)}
    assert {k: step.node_def.output_def_named(o).is_required for o, k in outputs.items()} == {report: True, gate: False}
    for after in (dg.AssetKey(["publish", "release"]), dg.AssetKey(["analysis", "rank_robustness"])):
        assert gate in graph.get(after).parent_keys
    # the history of the gate's verdicts stays a check on the ranking; no check stops a run
    check = dg.AssetCheckKey(dg.AssetKey(["marts", "fct_province_ranking"]), "publication_gate")
    assert check in graph.asset_check_keys
    assert not [k for k in graph.asset_check_keys if graph.get_check_spec(k).blocking]
    # the checks of each family run after the gate's step, from the outcome it left
    assert report in {d.asset_key for d in graph.get_check_spec(check).additional_deps}


def test_dbt_tests_are_checks_but_do_not_stop_the_run_before_the_gate():
    graph = defs.resolve_asset_graph()
    specs = [graph.get_check_spec(k) for k in graph.asset_check_keys]
    dbt_specs = [s for s in specs
                 if s.key.asset_key.path[0] in ("staging", "intermediate", "marts") and s.name != "publication_gate"
                 and not s.name.startswith(("consistency", "plausibility", "output", "gx_"))]
    assert dbt_specs, "dbt tests should appear as asset checks"
    assert not any(s.blocking for s in dbt_specs)


def test_every_model_is_described_in_vietnamese_then_english():
    graph = defs.resolve_asset_graph()
    models = [k for k in graph.get_all_asset_keys() if "dbt" in graph.get(k).kinds]
    assert len(models) >= 30
    for key in models:
        description = graph.get(key).description or ""
        vi, _, en = description.partition("\n\n")
        assert vi and en, f"{key.to_user_string()}: expected a Vietnamese name, a blank line, the English description"
        assert vi != vi.encode("ascii", "ignore").decode(), f"{key.to_user_string()}: the first line is not Vietnamese"


def test_what_depends_on_a_period_is_partitioned_and_the_reference_tables_are_not():
    # a run, or a backfill of several periods, carries its period to every step that depends on one
    from pipelines.partitions import period_partitions

    graph = defs.resolve_asset_graph()
    materializable = [k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable]
    assert len(materializable) > 40
    for key in materializable:
        node = graph.get(key)
        if key.path[0] == "reference":
            assert node.partitions_def is None, key.to_user_string()
            continue
        assert node.partitions_def == period_partitions, key.to_user_string()
        # a backfill of several periods runs as one run
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), key.to_user_string()
    assert {k.path[0] for k in materializable if graph.get(k).partitions_def is None} == {"reference"}


def test_every_step_but_the_dbt_cli_receives_the_pipeline_resources():
    from pipelines.resources import MethodologyResource, SettingsResource, WarehouseResource

    resources = defs.resources
    assert isinstance(resources["settings"], SettingsResource)
    assert isinstance(resources["methodology"], MethodologyResource)
    assert isinstance(resources["warehouse"], WarehouseResource)
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_materializable:
            assert "warehouse" in node.assets_def.required_resource_keys, key.to_user_string()


def _swallowed(text: str | None) -> list[str]:
    """What Markdown would take for an HTML tag and not show: ``<period>`` outside a code span."""
    import re

    plain = re.sub(r"```.*?```", "", text or "", flags=re.S)
    plain = re.sub(r"(`+)(.+?)\1", "", plain, flags=re.S)
    return re.findall(r"<[A-Za-zÀ-ỹ_][^<>\n]{0,40}>", plain)


def test_placeholders_outside_code_are_found():
    assert _swallowed("files in landing/<period>/<sector>/ and `reports/<period>/`") == ["<period>", "<sector>"]
    assert _swallowed("in `landing/<kỳ>/health/`; ```\npublish/<period>/v<N>/\n```; 1 < 2 > 0") == []


def test_descriptions_render_in_the_ui():
    # the UI renders descriptions as Markdown: a placeholder like <period> must sit in a code span
    graph = defs.resolve_asset_graph()
    texts = {k.to_user_string(): graph.get(k).description for k in graph.get_all_asset_keys()}
    texts |= {str(k): graph.get_check_spec(k).description for k in graph.asset_check_keys}
    texts |= {f"op {a.node_def.name}": a.node_def.description for a in defs.assets if hasattr(a, "node_def")}
    texts |= {f"job {j.name}": j.description for j in defs.jobs}
    texts |= {f"schedule {s.name}": s.description for s in defs.schedules}
    texts |= {f"sensor {s.name}": s.description for s in defs.sensors}
    assert len(texts) > 100
    assert {name: _swallowed(text) for name, text in texts.items() if _swallowed(text)} == {}
