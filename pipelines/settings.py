"""Every path and setting of the project, read from the environment in one place.

All data hangs off one root, ``CRI_HOME`` (default ``./data``)::

    $CRI_HOME/landing/<period>/<sector>/*.csv   files sent by sector agencies
    $CRI_HOME/warehouse.duckdb                  the warehouse (one writer at a time)
    $CRI_HOME/publish/<period>/v<N>/            immutable releases
    $CRI_HOME/reports/<period>/                 quality reports, rejected rows
    $CRI_HOME/dagster/                          Dagster instance (runs, events, schedules)

The code knows the repository folders (dbt project, methodology, expectations)
relative to this file, so nothing depends on the working directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
METHODOLOGY_DIR = REPO_ROOT / "methodology"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
DEFAULT_METHODOLOGY = METHODOLOGY_DIR / "pcri-2025.yaml"

DAGSTER_YAML = """\
# Written by the CRI pipeline on first use. Local, zero-configuration instance:
# runs and events in SQLite under this folder. See deploy/dagster.yaml for PostgreSQL.
telemetry:
  enabled: false
run_queue:
  # The warehouse is a single DuckDB file with one writer at a time:
  # runs that write it are queued and run one after another.
  max_concurrent_runs: 1
"""


@dataclass(frozen=True)
class Settings:
    home: Path
    methodology_path: Path

    @property
    def landing_dir(self) -> Path:
        return self.home / "landing"

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def publish_dir(self) -> Path:
        return self.home / "publish"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    def landing_period_dir(self, period: str) -> Path:
        return self.landing_dir / period

    def reports_period_dir(self, period: str) -> Path:
        return self.reports_dir / period

    def publish_period_dir(self, period: str) -> Path:
        return self.publish_dir / period

    def ensure_dirs(self) -> None:
        for d in (self.landing_dir, self.publish_dir, self.reports_dir, self.dagster_home):
            d.mkdir(parents=True, exist_ok=True)
        dagster_yaml = self.dagster_home / "dagster.yaml"
        if not dagster_yaml.exists():
            dagster_yaml.write_text(DAGSTER_YAML, encoding="utf-8")

    def export_env(self) -> None:
        """Make the paths visible to child processes (dbt, the Dagster webserver)."""
        os.environ["CRI_HOME"] = str(self.home)
        os.environ["CRI_WAREHOUSE_PATH"] = str(self.warehouse_path)
        os.environ["CRI_METHODOLOGY"] = str(self.methodology_path)
        os.environ["DAGSTER_HOME"] = str(self.dagster_home)


def get_settings() -> Settings:
    """Read the settings from the environment, every time (tests change CRI_HOME)."""
    home = Path(os.environ.get("CRI_HOME", "data")).expanduser().resolve()
    methodology = Path(os.environ.get("CRI_METHODOLOGY", DEFAULT_METHODOLOGY)).expanduser().resolve()
    return Settings(home=home, methodology_path=methodology)
