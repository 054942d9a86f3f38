"""Shared fixtures: a temporary CRI_HOME, a small demo methodology, dbt's manifest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from pipelines.settings import DEFAULT_METHODOLOGY

# Tests write landing files and ingest them at once; the tests of the settle time set it themselves.
os.environ.setdefault("CRI_LANDING_SETTLE_SECONDS", "0")


@pytest.fixture
def cri_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty CRI_HOME for one test; every path of the pipeline hangs off it."""
    home = tmp_path / "cri_home"
    home.mkdir()
    monkeypatch.setenv("CRI_HOME", str(home))
    monkeypatch.setenv("CRI_WAREHOUSE_PATH", str(home / "warehouse.duckdb"))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    monkeypatch.setenv("CRI_METHODOLOGY", str(DEFAULT_METHODOLOGY))  # the runs' settings resource reads both
    return home


def write_methodology_variant(path: Path, **quality) -> Path:
    """The project's methodology with some quality settings changed (kept in sync with the real file)."""
    doc = yaml.safe_load(DEFAULT_METHODOLOGY.read_text(encoding="utf-8"))
    doc["quality"].update(quality)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def small_methodology(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """For --small demo data (4 communes a province): every reporting commune counts."""
    path = write_methodology_variant(tmp_path / "pcri-small.yaml", min_commune_reporting_share=0.0)
    monkeypatch.setenv("CRI_METHODOLOGY", str(path))
    return path


# The longest units of work first (an xdist group, else a test of one of these modules), longest first: with
# `--dist loadgroup --no-loadscope-reorder` (make test) the workers take them in this order, and the many short
# tests fill in at the end, so that neither worker is left alone with a long run at the end of the suite. Only
# under xdist: a run in one process keeps the modules whole (their module fixtures are set up once).
LONGEST_FIRST = ("quality_gate", "e2e", "national", "test_operate_e2e.py", "legacy_e2e", "test_dbt_models.py",
                 "records", "test_commune_assessment.py", "test_registries_cards_doses.py", "test_publish.py")


def _unit_rank(item) -> int:
    marker = item.get_closest_marker("xdist_group")
    unit = (marker.args[0] if marker.args else marker.kwargs.get("name")) if marker else item.path.name
    return LONGEST_FIRST.index(unit) if unit in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_collection_modifyitems(config, items):
    if not hasattr(config, "workerinput"):  # the order a worker collects is the order xdist hands out
        return
    items.sort(key=_unit_rank)  # stable: the order within a unit, and of the other tests, is kept
