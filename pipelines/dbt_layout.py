"""Where a dbt model sits: its layer (the first folder under ``dbt_project/models/``) and its asset key
``<layer>/<model>``. Shared by the dbt assets and by the gate's reading of dbt's test results."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

LAYERS = ("staging", "intermediate", "marts")


def model_layer(node: Mapping[str, Any]) -> str:
    """The layer of a dbt model: the first folder under ``models/`` (dbt_project/models/<layer>/...)."""
    parts = Path(node["original_file_path"]).parts
    if len(parts) < 3 or parts[1] not in LAYERS:
        raise ValueError(f"dbt model {node['name']} ({node['original_file_path']}) is not in a layer folder: "
                         f"models/{{{','.join(LAYERS)}}}/")
    return parts[1]


def model_asset_path(node: Mapping[str, Any]) -> list[str]:
    """The asset key of a dbt model: ``<layer>/<model>``."""
    return [model_layer(node), node["name"]]
