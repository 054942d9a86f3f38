"""What loading the Dagster definitions costs, against what Dagster and dagster-dbt cost by themselves.

Fresh processes, interleaved, median of ``--reps`` (default 5), wall and CPU time (user + system):

* ``import pipelines.definitions``: the code location that workspace.yaml loads;
* ``import dagster, dagster_dbt``: the libraries alone;
* the smallest code location over the same dbt manifest: ``@dbt_assets`` (one asset key per node), in
  ``dg.Definitions``. dagster-dbt selects the manifest's nodes with dbt-core's graph selector (networkx) when
  the assets are built; every Dagster + dbt project pays it, so it is the floor of the definitions;
* which of the slow libraries of the later steps loading the definitions imports (none should).

Goal (issue 18): the definitions in under 2 s. Prints the figures; asserts nothing.

Usage: python benchmarks/bench_import.py [--reps 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LATER_STEPS = ("great_expectations", "openpyxl", "weasyprint", "scipy", "SALib", "lxml", "matplotlib")

FLOOR = """
import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from pipelines.settings import DBT_PROJECT_DIR
from pipelines.transform.project import DBT_EXECUTABLE as DBT

project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

class Keys(DagsterDbtTranslator):  # one key per node (the project's sources share a key through their meta)
    def get_asset_spec(self, manifest, unique_id, project):
        spec = super().get_asset_spec(manifest, unique_id, project)
        return spec.replace_attributes(key=dg.AssetKey(unique_id.split(".")))

@dbt_assets(manifest=project.manifest_path, project=project, dagster_dbt_translator=Keys())
def models(context, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()

defs = dg.Definitions(assets=[models], resources={"dbt": DbtCliResource(project_dir=project, dbt_executable=DBT)})
"""

CASES = {
    "import pipelines.definitions": "import pipelines.definitions",
    "import dagster, dagster_dbt": "import dagster, dagster_dbt",
    "a bare dbt_assets code location": FLOOR,
}


def timed_cpu(code: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one fresh interpreter running ``code``."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {code.strip().splitlines()[0]}")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5, help="fresh processes per case (default 5)")
    args = parser.parse_args()
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in CASES}
    for rep in range(args.reps):
        for name, code in CASES.items() if rep % 2 == 0 else reversed(CASES.items()):
            figures[name].append(timed_cpu(code))
    loaded = subprocess.run(
        [sys.executable, "-c", "import json, sys, pipelines.definitions; "
         f"print(json.dumps([m for m in {list(LATER_STEPS)!r} if m in sys.modules]))"],
        cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()

    wall = {n: statistics.median(w for w, _ in xs) for n, xs in figures.items()}
    cpu = {n: statistics.median(c for _, c in xs) for n, xs in figures.items()}
    floor = cpu["a bare dbt_assets code location"]
    print(f"\n=== Import of the Dagster definitions, median of {args.reps} fresh processes ===")
    for name in CASES:
        print(f"{name:34s} wall {wall[name]:5.2f} s   CPU {cpu[name]:5.2f} s")
    defs = cpu["import pipelines.definitions"]
    print(f"definitions above the floor (CPU)  {defs - floor:5.2f} s   ({defs / floor:.2f} x the bare code location)")
    print(f"goal: under 2 s; the floor alone is {floor:.2f} s CPU ({floor - 2:+.2f} s against the goal)")
    print(f"slow libraries of later steps imported by the definitions: {json.loads(loaded) or 'none'}")
    print(json.dumps({"wall_s": {k: round(v, 2) for k, v in wall.items()},
                      "cpu_s": {k: round(v, 2) for k, v in cpu.items()}}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
