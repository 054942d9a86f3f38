"""The resources every step receives: settings, the methodology and the warehouse.

An asset never reads the environment: it asks for what it needs by parameter
(``settings: SettingsResource``, ``methodology: MethodologyResource``,
``warehouse: WarehouseResource``) and the code location gives the same
objects to every step of a run (``pipeline_resources()``, in
``pipelines.definitions``). The environment is read in one place, as Dagster
config: ``dg.EnvVar("CRI_HOME")`` and ``dg.EnvVar("CRI_METHODOLOGY")``, resolved
when a run starts.

The warehouse resource holds the one-writer lock (``$CRI_HOME/.warehouse.lock``,
see ``pipelines.lock``) for the whole run: the runs use the
in-process executor, which sets the resources up once, before the first step,
and tears them down after the last. A second writer waits for the first (and
says so); it never retries around DuckDB's own lock error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from pipelines.settings import DEFAULT_METHODOLOGY, Settings

HOME_ENV, METHODOLOGY_ENV = "CRI_HOME", "CRI_METHODOLOGY"
DEFAULT_HOME = "data"


class SettingsResource(dg.ConfigurableResource):
    """Where the data lives (``CRI_HOME``) and the methodology file in force (``CRI_METHODOLOGY``)."""

    home: str = DEFAULT_HOME
    methodology_path: str = str(DEFAULT_METHODOLOGY)

    def get(self) -> Settings:
        return Settings(home=Path(self.home).expanduser().resolve(),
                        methodology_path=Path(self.methodology_path).expanduser().resolve())


class MethodologyResource(dg.ConfigurableResource):
    """The versioned methodology file of the run (indicators, formulas, weights, tiers)."""

    settings: SettingsResource

    def load(self):
        from pipelines.methodology import load_methodology

        return load_methodology(self.settings.get().methodology_path)


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse: connections, and the one-writer lock held for the whole run."""

    settings: SettingsResource
    # what one step of a run hands to a later one (the release tables the gate built for publish): one resource
    # object per run (set up once by the in-process executor), so nothing outlives the run
    _run_cache: dict = PrivateAttr(default_factory=dict)

    def run_cache(self) -> dict:
        return self._run_cache

    @property
    def path(self) -> Path:
        return self.settings.get().warehouse_path

    def connect(self, read_only: bool = False) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """Open the warehouse (read-only beside a writer), and always close it."""
        from pipelines.warehouse import connect

        return connect(self.path, read_only=read_only)

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[WarehouseResource]:
        from pipelines.ops.progress import say
        from pipelines.partitions import periods_of_run
        from pipelines.lock import warehouse_lock

        run = context.dagster_run
        if run is None:  # built outside a run (e.g. `build_resources`): nothing to hold
            yield self
            return
        what = f"Dagster run {run.run_id[:8]} {run.job_name} {','.join(periods_of_run(run.tags))}".strip()

        def tell(line: str) -> None:
            context.log.info(line)
            say("lock", line)

        with warehouse_lock(what, home=self.settings.get().home, on_wait=tell):
            yield self


def settings_resource() -> SettingsResource:
    """The settings as Dagster config, from ``CRI_HOME`` and ``CRI_METHODOLOGY``, resolved when a run starts (so one
    code location serves the home the run is given). Both must be set: ``cri``, the Makefile and
    ``deploy/cri.env.example`` set them (``Settings.export_env``)."""
    return SettingsResource(home=dg.EnvVar(HOME_ENV), methodology_path=dg.EnvVar(METHODOLOGY_ENV))


def pipeline_resources(settings: SettingsResource | None = None) -> dict[str, dg.ConfigurableResource]:
    """Every resource of the pipeline but dbt, sharing one settings resource (for ``dg.materialize`` in tests too)."""
    settings = settings or settings_resource()
    return {
        "settings": settings,
        "methodology": MethodologyResource(settings=settings),
        "warehouse": WarehouseResource(settings=settings),
    }
