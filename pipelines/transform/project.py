"""dbt's project as the runs use it: parsed once, and the parse kept with the warehouse from run to run.

dbt reuses its previous parse (partial parsing) only when the variables, the
profile (here the warehouse path) and the target are those of that parse. So
``make manifest`` (``python -m pipelines.transform.project``) parses with the
variables and the warehouse of the runs, and every run builds into the same
folder of its CRI_HOME (``$CRI_HOME/dbt_target``), which keeps dbt's
``partial_parse.msgpack`` for the next run. A CRI_HOME whose folder has no parse
yet starts from the project's own (``dbt_project/target``).

This module imports neither Dagster nor dbt: ``make manifest`` stays quick.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from pipelines.settings import DBT_PROJECT_DIR, Settings, get_settings

DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")
PROJECT_TARGET = DBT_PROJECT_DIR / "target"
MANIFEST_PATH = PROJECT_TARGET / "manifest.json"
PARTIAL_PARSE = "partial_parse.msgpack"


def dbt_vars(settings: Settings | None = None) -> dict[str, Any]:
    """The ``--vars`` of every dbt invocation: the warehouse (``profiles.yml`` reads ``warehouse_path``) and, from
    the methodology file, the quality settings the models use."""
    from pipelines.methodology import load_methodology

    settings = settings or get_settings()
    m = load_methodology(settings.methodology_path)
    return {"min_commune_reporting_share": float(m.quality.get("min_commune_reporting_share", 0.9)),
            "warehouse_path": str(settings.warehouse_path)}


def parse_args(settings: Settings | None = None) -> list[str]:
    """``dbt parse`` as the runs on this CRI_HOME will parse (same variables: dbt reuses the parse)."""
    return ["parse", "--quiet", "--vars", json.dumps(dbt_vars(settings))]


def run_target_dir(settings: Settings | None = None) -> Path:
    """dbt's target folder of the runs on this CRI_HOME (kept: it holds the parse the next run reuses)."""
    return (settings or get_settings()).home / "dbt_target"


def seed_run_target(target: Path) -> Path:
    """Give ``target`` the project's parse when it has none of its own yet; returns ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    source = PROJECT_TARGET / PARTIAL_PARSE
    if not (target / PARTIAL_PARSE).exists() and source.exists():
        shutil.copyfile(source, target / PARTIAL_PARSE)
    return target


def prepare_manifest(force: bool = False) -> Path:
    """Write dbt's manifest.json (``dbt parse``) when it is missing, as the runs on this CRI_HOME will parse."""
    if force or not MANIFEST_PATH.exists():
        subprocess.run(
            [DBT_EXECUTABLE, *parse_args(), "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
            check=True,
        )
    return MANIFEST_PATH


if __name__ == "__main__":
    prepare_manifest(force=True)
