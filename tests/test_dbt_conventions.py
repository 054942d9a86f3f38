"""The dbt project's conventions, read from dbt's parsed manifest (`make manifest`).

dbt packages that check a project's layout (dbt_project_evaluator) cannot be installed here, so the rules are
checked by ``convention_violations``:

- a model sits in a layer folder, then a source (staging) or a level (intermediate, marts):
  ``models/staging/<source>/stg_<source>__*``, ``models/intermediate[/province|/commune]/int_*``,
  ``models/marts[/province|/commune]/{fct,dim}_*``;
- its yml is the one of its folder, and schema and materialisation come from dbt_project.yml (the layer's);
- every model has a description; every model of the marts, and every one of its columns, has a description,
  and the model has at least one data test;
- its Dagster asset key is ``<layer>/<model>``.

Each rule is shown to fail on a small hand-made manifest broken on purpose.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any

import pytest
import yaml

from pipelines.settings import DBT_PROJECT_DIR
from pipelines.transform.project import MANIFEST_PATH, prepare_manifest

LAYERS = {"staging": "view", "intermediate": "table", "marts": "table"}  # layer -> materialisation
PREFIXES = {"staging": ("stg_",), "intermediate": ("int_",), "marts": ("fct_", "dim_")}
LEVELS = ("province", "commune")

KeyOf = Callable[[str, Mapping[str, Any]], str]


def convention_violations(manifest: Mapping[str, Any], key_of: KeyOf) -> list[str]:
    """Every breach of the conventions by the manifest's models, one sentence each (empty: none).

    ``key_of(unique_id, node)`` gives a model's Dagster asset key as ``a/b``.
    """
    nodes = manifest["nodes"]
    tested = {n.get("attached_node") for n in nodes.values() if n["resource_type"] == "test"}
    out: list[str] = []
    for uid, node in sorted(nodes.items()):
        if node["resource_type"] != "model":
            continue
        name = node["name"]
        folders = PurePosixPath(node["original_file_path"]).parts[1:-1]  # below models/
        layer = folders[0] if folders else ""
        if layer not in LAYERS:
            out.append(f"{name}: not in a layer folder (models/staging|intermediate|marts/)")
            continue
        if not name.startswith(PREFIXES[layer]):
            out.append(f"{name}: a model of {layer} is named {' or '.join(PREFIXES[layer])}...")
        if layer == "staging" and (len(folders) != 2 or not name.startswith(f"stg_{folders[1]}__")):
            out.append(f"{name}: a staging model sits in staging/<source>/ and is named stg_<source>__...")
        if layer != "staging" and (len(folders) > 2 or folders[1:] not in ((), *((lv,) for lv in LEVELS))):
            out.append(f"{name}: below {layer}/ only the level folders {', '.join(LEVELS)}")
        yml = (node.get("patch_path") or "").removeprefix("cri://")
        if not yml or PurePosixPath(yml).parent != PurePosixPath(node["original_file_path"]).parent:
            out.append(f"{name}: no yml in its own folder ({yml or 'none'})")
        config = node.get("config", {})
        if config.get("schema") != layer or config.get("materialized") != LAYERS[layer]:
            out.append(f"{name}: schema {config.get('schema')} / {config.get('materialized')}, "
                       f"expected {layer} / {LAYERS[layer]} (dbt_project.yml)")
        if not (node.get("description") or "").strip():
            out.append(f"{name}: no description")
        if layer == "marts":
            columns = node.get("columns") or {}
            if not columns:
                out.append(f"{name}: a mart without its columns in its yml")
            out += [f"{name}.{c}: no description" for c, col in columns.items()
                    if not (col.get("description") or "").strip()]
            if uid not in tested:
                out.append(f"{name}: a mart without a data test")
        key = key_of(uid, node)
        if key != f"{layer}/{name}":
            out.append(f"{name}: asset key {key}, expected {layer}/{name}")
    return out


def yml_configs_repeating_the_folder(models_dir) -> list[str]:
    """Models whose own yml sets what dbt_project.yml sets once per folder (schema, materialisation, contract)."""
    out = []
    for path in sorted(models_dir.rglob("*.yml")):
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models") or []:
            config = model.get("config") or {}
            out += [f"{model['name']}: {key} in {path.name}" for key in ("schema", "materialized", "contract")
                    if key in config or key in model]
    return out


# -- the project ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(prepare_manifest().read_text(encoding="utf-8"))


def _translator_key(manifest: Mapping[str, Any]) -> KeyOf:
    from pipelines.transform.assets import CriDbtTranslator

    translator = CriDbtTranslator([])
    return lambda uid, node: translator.get_asset_spec(manifest, uid, None).key.to_user_string()


def test_the_project_follows_the_conventions(manifest):
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert len(models) >= 40
    assert convention_violations(manifest, _translator_key(manifest)) == []


def test_each_level_has_its_folders(manifest):
    folders = {str(PurePosixPath(n["original_file_path"]).parent) for n in manifest["nodes"].values()
               if n["resource_type"] == "model"}
    assert {"models/staging/raw", "models/staging/ref", "models/intermediate/province", "models/intermediate/commune",
            "models/marts/province", "models/marts/commune"} <= folders
    # the communes' models are in their layers, not in a folder of their own
    assert not any(f.startswith("models/commune") for f in folders)


def test_no_model_repeats_the_folder_config():
    assert yml_configs_repeating_the_folder(DBT_PROJECT_DIR / "models") == []


def test_the_marts_are_contracts_and_the_manifest_is_the_projects(manifest):
    marts = [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["schema"] == "marts"]
    assert len(marts) == 8
    assert all(n["config"]["contract"]["enforced"] for n in marts)
    assert MANIFEST_PATH.exists()


# -- each rule can fail -----------------------------------------------------------------------------


def _model(path: str, description: str = "A model.", columns: dict | None = None, **config) -> tuple[str, dict]:
    p = PurePosixPath(path)
    layer = p.parts[1]
    name = p.stem
    node = {
        "resource_type": "model", "name": name, "original_file_path": path,
        "patch_path": f"cri://{p.parent}/_x__models.yml", "description": description,
        "config": {"schema": layer, "materialized": LAYERS.get(layer, "table"), **config},
        "columns": columns if columns is not None else {"unit_code": {"description": "Code."}},
        "fqn": ["cri", *p.parts[1:-1], name],
    }
    return f"model.cri.{name}", node


def _test_on(uid: str) -> tuple[str, dict]:
    return f"test.cri.not_null_{uid}", {"resource_type": "test", "attached_node": uid}


def _manifest(*models: tuple[str, dict], tested: tuple[str, ...] = ()) -> dict:
    nodes = dict(models)
    nodes.update(_test_on(uid) for uid in tested)
    return {"nodes": nodes}


def _path_key(uid, node) -> str:
    from pipelines.dbt_layout import model_asset_path

    return "/".join(model_asset_path(node))


GOOD = (
    _model("models/staging/raw/stg_raw__data_values.sql"),
    _model("models/intermediate/int_periods.sql"),
    _model("models/intermediate/commune/int_commune_index.sql"),
    _model("models/marts/province/fct_province_ranking.sql"),
)


def test_a_well_laid_out_manifest_passes():
    assert convention_violations(_manifest(*GOOD, tested=("model.cri.fct_province_ranking",)), _path_key) == []


@pytest.mark.parametrize(("broken", "expected"), [
    (_model("models/commune/int_commune_index.sql"),
     "int_commune_index: not in a layer folder (models/staging|intermediate|marts/)"),
    (_model("models/intermediate/fct_domain_scores.sql"),
     "fct_domain_scores: a model of intermediate is named int_..."),
    (_model("models/marts/int_domain_scores.sql"),
     "int_domain_scores: a model of marts is named fct_ or dim_..."),
    (_model("models/staging/stg_raw__values.sql"),
     "stg_raw__values: a staging model sits in staging/<source>/ and is named stg_<source>__..."),
    (_model("models/staging/ref/stg_raw__values.sql"),
     "stg_raw__values: a staging model sits in staging/<source>/ and is named stg_<source>__..."),
    (_model("models/intermediate/district/int_district_values.sql"),
     "int_district_values: below intermediate/ only the level folders province, commune"),
    (_model("models/intermediate/int_periods_2.sql", description=" "),
     "int_periods_2: no description"),
    (_model("models/intermediate/int_periods_3.sql", materialized="view"),
     "int_periods_3: schema intermediate / view, expected intermediate / table (dbt_project.yml)"),
])
def test_each_layout_rule_can_fail(broken, expected):
    tested = ("model.cri.fct_province_ranking", broken[0])  # a misplaced mart is tested: only its name is wrong
    assert convention_violations(_manifest(*GOOD, broken, tested=tested), _path_key) == [expected]


def test_a_yml_in_another_folder_fails():
    uid, node = _model("models/intermediate/commune/int_commune_assessment.sql")
    node["patch_path"] = "cri://models/intermediate/_int__models.yml"
    assert convention_violations(_manifest(*GOOD, (uid, node), tested=("model.cri.fct_province_ranking",)),
                                 _path_key) == [
        "int_commune_assessment: no yml in its own folder (models/intermediate/_int__models.yml)"]


def test_a_mart_without_tests_or_column_descriptions_fails():
    bare = _model("models/marts/commune/fct_commune_ranking.sql",
                  columns={"commune_code": {"description": "Code."}, "rank_in_province": {"description": ""}})
    no_columns = _model("models/marts/dim_indicator.sql", columns={})
    tested = ("model.cri.fct_province_ranking", "model.cri.dim_indicator")
    assert convention_violations(_manifest(*GOOD, bare, no_columns, tested=tested), _path_key) == [
        "dim_indicator: a mart without its columns in its yml",
        "fct_commune_ranking.rank_in_province: no description",
        "fct_commune_ranking: a mart without a data test",
    ]
    # a test on another model does not count for the mart
    assert "fct_province_ranking: a mart without a data test" in convention_violations(
        _manifest(*GOOD, tested=("model.cri.int_periods",)), _path_key)


def test_the_key_shape_of_the_second_fqn_part_fails():
    # the former rule (fqn[1]) gave a folder of models/commune/ its own key prefix
    uid, node = _model("models/intermediate/commune/int_commune_index.sql")
    node["fqn"] = ["cri", "commune", "intermediate", "int_commune_index"]
    by_fqn = lambda uid, node: f"{node['fqn'][1]}/{node['name']}"  # noqa: E731
    assert convention_violations(_manifest((uid, node)), by_fqn) == [
        "int_commune_index: asset key commune/int_commune_index, expected intermediate/int_commune_index"]
    assert convention_violations(_manifest((uid, node)), _path_key) == []


def test_the_asset_key_of_a_model_outside_the_layers_is_an_error():
    from pipelines.dbt_layout import model_asset_path

    assert model_asset_path(_model("models/marts/commune/fct_commune_ranking.sql")[1]) == [
        "marts", "fct_commune_ranking"]
    with pytest.raises(ValueError, match="int_x .*models/commune/int_x.sql.* not in a layer folder"):
        model_asset_path(_model("models/commune/int_x.sql")[1])


def test_a_yml_repeating_the_folder_config_fails(tmp_path):
    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / "_marts__models.yml").write_text(yaml.safe_dump({"version": 2, "models": [
        {"name": "fct_a", "config": {"schema": "marts", "meta": {"name_vi": "A"}}},
        {"name": "fct_b", "config": {"contract": {"enforced": True}}},
        {"name": "fct_c", "config": {"meta": {"name_vi": "C"}}},
    ]}), encoding="utf-8")
    assert yml_configs_repeating_the_folder(tmp_path) == [
        "fct_a: schema in _marts__models.yml", "fct_b: contract in _marts__models.yml"]
