"""How close a run comes to its engine: `cri run` against a bare `dbt build` of the same models, side by side.

In one run, over several interleaved repetitions (whole processes, median):

* ``cri run --period 2025`` on the national demo (3,321 communes), its peak memory;
* a bare ``dbt build`` of the same models and data tests on the same warehouse (what the pipeline's dbt step
  runs, with dbt's partial parsing as a bare project keeps it): the engine's time;
* importing the Dagster definitions (``import pipelines.definitions``), and ``import dagster`` beside it.

Goals (issue 18): cri run within 2 times the bare dbt build; the definitions imported in under 2 s.
``--compare DIR`` runs another checkout of the project (e.g. the code before a change) in the same rounds,
interleaved, on its own copy of the same data. Prints the figures; asserts nothing.

Usage: python benchmarks/bench_speed.py [--reps 3] [--small] [--compare DIR] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DBT = str(Path(sys.executable).parent / "dbt")
PERIOD = "2025"


def timed(cmd: list[str], env: dict[str, str], cwd: Path = REPO) -> tuple[float, float, int]:
    """(seconds, peak MiB, exit code) of one whole process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, proc.returncode


def timed_cpu(cmd: list[str], env: dict[str, str], cwd: Path = REPO) -> tuple[float, float, int]:
    """(seconds, CPU seconds: user + system, exit code) of one whole process. On a shared machine the CPU
    time moves much less than the wall time."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


class Code:
    """A checkout of the project: its `cri`, run with this environment's packages."""

    def __init__(self, label: str, root: Path, home: Path, methodology: Path | None):
        self.label, self.root, self.home = label, root, home
        self.env = {**os.environ, "PYTHONPATH": str(root), "CRI_HOME": str(home),
                    "CRI_WAREHOUSE_PATH": str(home / "warehouse.duckdb"), "DAGSTER_HOME": str(home / "dagster")}
        self.env.pop("CRI_METHODOLOGY", None)
        if methodology:
            self.env["CRI_METHODOLOGY"] = str(methodology)
        self.figures: dict[str, list[float]] = {"run": [], "run_mib": [], "import": [], "import_cpu": []}

    def python(self, *args: str) -> list[str]:
        return [PYTHON, *args]

    def prepare(self) -> None:
        """dbt's manifest as the checkout's `make manifest` writes it, then one run (the warehouse, dbt's parse)."""
        manifest_module = self.root / "pipelines" / "transform" / "project.py"
        if manifest_module.exists():
            cmd = self.python("-m", "pipelines.transform.project")
        else:
            cmd = [DBT, "parse", "--quiet", "--project-dir", str(self.root / "dbt_project"),
                   "--profiles-dir", str(self.root / "dbt_project")]
        subprocess.run(cmd, env=self.env, cwd=self.root, check=True)
        self.run_once(record=False)

    def run_once(self, record: bool = True) -> None:
        seconds, mib, code = timed(self.python("-m", "pipelines.cli", "run", "--period", PERIOD), self.env, self.root)
        if code != 0:
            raise SystemExit(f"{self.label}: cri run --period {PERIOD} failed (exit {code}); see {self.home}/reports")
        if record:
            self.figures["run"].append(seconds)
            self.figures["run_mib"].append(mib)

    def import_once(self) -> None:
        seconds, cpu, code = timed_cpu(self.python("-c", "import pipelines.definitions"), self.env, self.root)
        if code != 0:
            raise SystemExit(f"{self.label}: importing the definitions failed")
        self.figures["import"].append(seconds)
        self.figures["import_cpu"].append(cpu)


def dbt_build_cmd(home: Path, methodology: Path | None, target: Path) -> tuple[list[str], dict[str, str]]:
    """The dbt build the pipeline's dbt step runs, bare, on ``home``'s warehouse (its own kept target folder)."""
    env = {**os.environ, "CRI_HOME": str(home), "CRI_WAREHOUSE_PATH": str(home / "warehouse.duckdb"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.pop("CRI_METHODOLOGY", None)
    if methodology:
        env["CRI_METHODOLOGY"] = str(methodology)
    vars_json = subprocess.run([PYTHON, "-c", "import json; from pipelines.transform.project import dbt_vars; "
                                "print(json.dumps(dbt_vars()))"], env=env, cwd=REPO, check=True,
                               capture_output=True, text=True).stdout.strip()
    cmd = [DBT, "build", "--quiet", "--project-dir", str(REPO / "dbt_project"), "--profiles-dir",
           str(REPO / "dbt_project"), "--target-path", str(target), "--exclude-resource-type", "unit_test",
           "--vars", vars_json]
    return cmd, env


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each measure (default 3)")
    parser.add_argument("--small", action="store_true", help="the small demo (3 provinces) instead of the national")
    parser.add_argument("--compare", help="another checkout of the project to measure in the same rounds")
    parser.add_argument("--keep", help="work in this folder and keep it (default: a temporary folder)")
    args = parser.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="cri-bench-speed-"))
    work.mkdir(parents=True, exist_ok=True)

    sys.path.insert(0, str(REPO))
    from pipelines.demo import write_demo_data

    methodology = None
    if args.small:  # every reporting commune counts, as in the tests
        from tests.conftest import write_methodology_variant

        methodology = write_methodology_variant(work / "pcri-small.yaml", min_commune_reporting_share=0.0)
    data = work / "data"  # landing files and reference files, as `cri demo-data` writes them into a CRI_HOME
    if not (data / "landing").exists():
        write_demo_data(data / "landing", periods=(PERIOD,), small=args.small)
    codes = [Code("this checkout", REPO, work / "home", methodology)]
    if args.compare:
        codes.append(Code(f"compared ({args.compare})", Path(args.compare).resolve(), work / "home-compared",
                          methodology))
    for code in codes:
        if not (code.home / "landing").exists():
            shutil.copytree(data, code.home)
        print(f"preparing {code.label}: manifest and a first run", file=sys.stderr)
        code.prepare()

    dbt_cmd, dbt_env = dbt_build_cmd(codes[0].home, methodology, work / "dbt_bare_target")
    timed(dbt_cmd, dbt_env)  # dbt's own parse, kept in its target folder, as a bare project works
    bare: list[float] = []
    dagster_import: list[float] = []
    dagster_dbt_cpu: list[float] = []  # the floor of the definitions' import: Dagster and dagster-dbt (dbt-core)
    for rep in range(args.reps):
        print(f"round {rep + 1}/{args.reps}", file=sys.stderr)
        for code in codes if rep % 2 == 0 else codes[::-1]:
            code.run_once()
        seconds, _, status = timed(dbt_cmd, dbt_env)
        if status != 0:
            raise SystemExit(f"the bare dbt build failed (exit {status})")
        bare.append(seconds)
        for code in codes:
            code.import_once()
        dagster_import.append(timed([PYTHON, "-c", "import dagster"], dbt_env)[0])
        dagster_dbt_cpu.append(timed_cpu([PYTHON, "-c", "import dagster, dagster_dbt"], dbt_env)[1])
        print(f"  bare dbt build {bare[-1]:.1f} s, import dagster {dagster_import[-1]:.2f} s; " + "; ".join(
            f"{c.label}: cri run {c.figures['run'][-1]:.1f} s, import {c.figures['import'][-1]:.2f} s" for c in codes),
            file=sys.stderr)

    engine = median(bare)
    scale = "small demo (3 provinces, 12 communes)" if args.small else "national demo (34 provinces, 3,321 communes)"
    print(f"\n=== Speed: a run against its engine, {scale}, median of {args.reps} interleaved rounds ===")
    print(f"bare dbt build (models + data tests)    {engine:6.1f} s")
    print(f"import dagster                          {median(dagster_import):6.2f} s")
    print(f"import dagster, dagster_dbt (CPU time)  {median(dagster_dbt_cpu):6.2f} s   (dagster-dbt imports dbt-core)")
    summary = {"bare_dbt_build_s": round(engine, 2), "import_dagster_s": round(median(dagster_import), 2)}
    for code in codes:
        run, imp, mib = median(code.figures["run"]), median(code.figures["import"]), max(code.figures["run_mib"])
        print(f"--- {code.label}")
        print(f"cri run --period {PERIOD}                {run:6.1f} s   {run / engine:4.1f} x the bare dbt build "
              f"(goal: at most 2.0 x)   peak {mib:.0f} MiB")
        print(f"import pipelines.definitions            {imp:6.2f} s   (goal: under 2 s; "
              f"{imp / median(dagster_import):.1f} x import dagster)")
        cpu = median(code.figures["import_cpu"])
        print(f"  CPU time of that import               {cpu:6.2f} s   "
              f"({cpu / median(dagster_dbt_cpu):.1f} x importing dagster and dagster_dbt alone)")
        summary[code.label] = {"cri_run_s": round(run, 2), "ratio_to_dbt": round(run / engine, 2),
                               "import_definitions_s": round(imp, 2),
                               "import_definitions_cpu_s": round(median(code.figures["import_cpu"]), 2), "peak_mib": round(mib)}
    print(json.dumps(summary), file=sys.stderr)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
