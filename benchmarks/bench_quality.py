"""How much time the quality checks add to a national run.

Builds the full national demo data (34 provinces, 3,321 communes) in a
temporary CRI_HOME, runs ``run_period('2025')`` once (ingest, dbt build with
its data tests, the quality gate, robustness, publish), then measures:

* the whole run, and its quality step (``evaluate_period``) timed again alone
  on the same warehouse, family by family (ingest, consistency, completeness,
  plausibility, output, Great Expectations, the extra checks of other stages),
  and the report writing;
* the share of the dbt build spent in data tests, from dbt's
  ``run_results.json`` of that run (summed thread time, and the wall-clock
  time during which at least one test was running).

    .venv/bin/python benchmarks/bench_quality.py [--repeat 3] [--previous] [--keep]

``--previous`` also runs 2024 first, so that the year-on-year check compares
two real periods (it is cheap either way). Figures vary with the machine:
the script prints them, nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

PERIOD = "2025"


def _set_home(home: Path) -> None:
    os.environ["CRI_HOME"] = str(home)
    os.environ["CRI_WAREHOUSE_PATH"] = str(home / "warehouse.duckdb")
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    os.environ.pop("CRI_METHODOLOGY", None)


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def dbt_test_share(run_results: Path) -> dict:
    """Thread time of models and tests, and the wall-clock span during which tests ran."""
    doc = json.loads(run_results.read_text(encoding="utf-8"))
    totals = {"test": 0.0, "model": 0.0, "other": 0.0}
    counts = {"test": 0, "model": 0, "other": 0}
    intervals = []
    for r in doc.get("results", []):
        kind = r["unique_id"].split(".")[0]
        kind = kind if kind in totals else "other"
        totals[kind] += float(r.get("execution_time") or 0.0)
        counts[kind] += 1
        if kind == "test":
            times = [t for t in r.get("timing", []) if t.get("started_at") and t.get("completed_at")]
            if times:
                intervals.append((min(_parse_time(t["started_at"]) for t in times),
                                  max(_parse_time(t["completed_at"]) for t in times)))
    wall = 0.0
    for start, end in _union(intervals):
        wall += (end - start).total_seconds()
    return {"elapsed": float(doc.get("elapsed_time") or 0.0), "threads_test": totals["test"],
            "threads_model": totals["model"], "tests": counts["test"], "models": counts["model"],
            "wall_tests": wall}


def _union(intervals):
    out = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _find_run_results(period: str) -> Path | None:
    """dbt's run_results.json of the last run of the period, kept with the period's reports."""
    from pipelines.settings import get_settings

    path = get_settings().reports_period_dir(period) / "dbt_run_results.json"
    return path if path.exists() else None


def step_durations(run_id: str) -> list[tuple[str, float]]:
    """(step, seconds) of the run, from the Dagster instance: what each stage cost inside ``cri run``."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        stats = instance.get_run_step_stats(run_id)
    rows = [(s.step_key, (s.end_time or 0) - (s.start_time or 0)) for s in stats if s.start_time]
    ingest = sum(sec for key, sec in rows if key.startswith("ingest__"))
    out = [(key, sec) for key, sec in rows if not key.startswith("ingest__")]
    return sorted([("ingest (8 sectors)", ingest), *out], key=lambda kv: -kv[1])


def time_families(con, period: str, run_id: str, m, settings, extra_checks) -> dict[str, float]:
    """Seconds per family of checks, each run once more on its own."""
    from pipelines.partitions import previous_period
    from pipelines.quality import checks
    from pipelines.quality.expectations import run_all

    families = {
        "ingest (rejects, named by unit)": lambda: checks.ingest_checks(con, period, landing_dir=settings.landing_dir),
        "consistency: sums": lambda: checks.consistency_rules(con, period, m),
        "consistency: numerator <= denominator": lambda: checks.numerator_le_denominator(con, period, m),
        "consistency: plausible ranges": lambda: checks.plausible_ranges(con, period, m),
        "completeness + reporting rates": lambda: checks.completeness(con, period, m),
        "plausibility: year on year": lambda: checks.year_on_year(con, period, previous_period(period), m),
        "plausibility: commune outliers": lambda: checks.commune_outliers(con, period, m),
        "output: all provinces, ranks": lambda: checks.ranking_output(con, period, m),
        "Great Expectations suites": lambda: run_all(con, period),
    }
    for extra in extra_checks:
        families[f"extra: {extra.__name__}"] = lambda e=extra: e(con, period, m)
    out = {}
    for name, fn in families.items():
        started = time.perf_counter()
        fn()
        out[name] = time.perf_counter() - started
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="timings of evaluate_period alone (median shown)")
    ap.add_argument("--previous", action="store_true", help="run 2024 first (year-on-year against real data)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary CRI_HOME")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="cri-bench-quality-"))
    home = tmp / "home"
    _set_home(home)
    try:
        from pipelines.cli import run_period
        from pipelines.demo import write_demo_data

        started = time.perf_counter()
        periods = ("2024", PERIOD) if args.previous else (PERIOD,)
        summary = write_demo_data(home / "landing", periods=periods)
        print(f"demo data: {summary.total_rows:,} rows, {len(summary.provinces)} provinces, "
              f"{summary.communes:,} communes ({time.perf_counter() - started:.1f} s)")
        if args.previous:
            o = run_period("2024")
            print(f"run 2024: {o.seconds:.1f} s, published={o.published}")

        outcome = run_period(PERIOD)
        report = outcome.quality or json.loads(
            (home / "reports" / PERIOD / "quality_report.json").read_text(encoding="utf-8"))
        run_id = report["run_id"]
        print(f"run {PERIOD}: {outcome.seconds:.1f} s, published={outcome.published}, "
              f"{report['checks']} checks ({report['failed_blocking']} blocking failed, "
              f"{report['failed_warning']} warnings)")
        if not outcome.published:
            print("  (not published: " + "; ".join(report.get("blocking_failures", [])[:3]) + ")")

        from pipelines.methodology import load_methodology
        from pipelines.publish.assets import release_contract_check
        from pipelines.quality.gate import evaluate_period
        from pipelines.robustness.assets import internal_consistency_check
        from pipelines.settings import get_settings
        from pipelines.warehouse import connect

        steps = step_durations(run_id)
        if steps:
            print("steps of the run (Dagster):")
            for key, seconds in steps:
                print(f"  {key:<42} {seconds:7.2f} s")

        settings = get_settings()
        m = load_methodology(settings.methodology_path)
        extra = (release_contract_check, internal_consistency_check)
        gate_times = []
        with connect() as con:
            for _ in range(max(1, args.repeat)):
                t = time.perf_counter()
                evaluate_period(con, PERIOD, run_id, m, settings, extra)
                gate_times.append(time.perf_counter() - t)
            families = time_families(con, PERIOD, run_id, m, settings, extra)
        gate = statistics.median(gate_times)

        print(f"\nquality gate (evaluate_period, all checks + waivers + reports), median of {len(gate_times)}: "
              f"{gate:.2f} s  [{', '.join(f'{x:.2f}' for x in gate_times)}]")
        for name, seconds in sorted(families.items(), key=lambda kv: -kv[1]):
            print(f"  {name:<42} {seconds:7.2f} s")
        print(f"  {'(reports, waivers, recording: the rest)':<42} {max(0.0, gate - sum(families.values())):7.2f} s")

        run_results = _find_run_results(PERIOD)
        dbt = dbt_test_share(run_results) if run_results else None
        if dbt:
            print(f"\ndbt build {dbt['elapsed']:.1f} s ({dbt['models']} models, {dbt['tests']} data tests), "
                  f"from {run_results.name}:")
            print(f"  data tests running (wall clock):     {dbt['wall_tests']:7.2f} s")
            print(f"  data tests, summed over threads:     {dbt['threads_test']:7.2f} s")
            print(f"  models, summed over threads:         {dbt['threads_model']:7.2f} s")
        else:
            print("\ndbt run_results.json of the run not found")
        in_run = dict(steps).get("quality_gate")
        gate_cost = in_run if in_run is not None else gate
        tests = dbt["wall_tests"] if dbt else 0.0
        added = gate_cost + tests
        print(f"\nchecks add about {added:.1f} s to a national run of {outcome.seconds:.1f} s "
              f"({100 * added / outcome.seconds:.0f}%): the quality_gate step {gate_cost:.1f} s (warm, alone: "
              f"{gate:.1f} s; the first evaluation in a process also imports Great Expectations) + dbt data tests "
              f"{tests:.1f} s. Ingest's row checks are part of parsing and not counted.")
        return 0
    finally:
        if args.keep:
            print(f"\nCRI_HOME kept: {home}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
