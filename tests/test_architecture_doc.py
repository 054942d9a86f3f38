"""docs/architecture.md follows the code: every folder of pipelines/ and every resource is in it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "architecture.md"


def _folders() -> list[str]:
    return sorted(p.name for p in (REPO / "pipelines").iterdir()
                  if p.is_dir() and not p.name.startswith(("_", ".")) and any(p.glob("*.py")))


def test_the_folders_are_those_of_the_code():
    # the list the next test walks is the code's, not typed here
    assert {"ingest", "publish", "quality", "schedules", "transform", "units", "ops"} <= set(_folders())


def missing_folders(text: str, folders: list[str]) -> list[str]:
    """The folders without a row ``| `pipelines/<folder>/` ...`` in the table of folders."""
    rows = {line.split("`")[1] for line in text.splitlines() if line.startswith("| `pipelines/")}
    return [f for f in folders if f"pipelines/{f}/" not in rows]


@pytest.mark.parametrize("folder", _folders())
def test_every_folder_of_pipelines_is_in_the_architecture(folder: str):
    assert not missing_folders(DOC.read_text(encoding="utf-8"), [folder]), (
        f"docs/architecture.md: add a row for `pipelines/{folder}/` to the table of folders")


def test_every_resource_of_the_definitions_is_in_the_architecture():
    from pipelines.resources import pipeline_resources

    text = DOC.read_text(encoding="utf-8")
    table = set(re.findall(r"^\| `(\w+)` \| `\w+`", text, flags=re.M))
    assert set(pipeline_resources()) | {"dbt"} <= table


def test_a_folder_missing_from_the_architecture_is_found():
    text = "| folder | owns |\n|---|---|\n| `pipelines/ingest/` | ingest |\n| `pipelines/transform/` + `dbt_project/` | dbt |\n"
    assert missing_folders(text, ["ingest", "transform", "units"]) == ["units"]
