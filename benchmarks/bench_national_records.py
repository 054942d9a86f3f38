"""The national run with a large births extract, end to end: demo data, ``cri run``, the release, checked.

Writes the national demo for one period (2025, 34 provinces, 3,321 communes) with a births extract of N
records (``cri demo-data --period 2025 --records N --registry births``: the births' data elements then come
from the records only; the other registries' elements stay in the aggregate files, as a ministry that sends
only the civil registry's extract), runs ``cri run --period 2025``, each command in its own process, and
prints:

* each command's time and peak memory (the process and its children: dbt);
* each stage of the run (Dagster's steps) with its time;
* the records loaded and refused;
* whether the release was published: its version and files;
* whether the published on-time birth registration (``P5_BIRTH_REG_ONTIME``, numerator
  ``BIRTHS_REG_ONTIME`` over ``LIVE_BIRTHS``) equals the one computed straight from the extract with bare
  DuckDB, province by province and commune by commune.

Prints figures; the exit status is 1 when the run did not publish or the numbers differ.

    .venv/bin/python benchmarks/bench_national_records.py --births 10000000 [--keep DIR]
    make bench-national-records            # the same, 10 million births (about 10 GB of disk at most)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PERIOD = "2025"
INDICATOR = "P5_BIRTH_REG_ONTIME"
ON_TIME_DAYS = 60
# on-time registration from the extract alone: the commune's births and those registered 0 to 60 days after
FLOOR_SQL = f"""
    select commune_code, count(*) as denominator,
           count(*) filter (where datediff('day', birth_date, registration_date) between 0 and {ON_TIME_DAYS})
               as numerator
    from read_parquet(?) where year(birth_date) = {PERIOD} group by all"""


def timed(cmd: list[str], env: dict) -> tuple[int, float, float]:
    """(exit status, seconds, peak MB of the process and its children) of one command."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, time.perf_counter() - started, usage.ru_maxrss / 1024


def stages(home: Path) -> list[tuple[str, float]]:
    """The steps of the home's last run, in order of start: (step, seconds)."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    with dg.DagsterInstance.get() as instance:
        run = instance.get_runs(limit=1)[0]
        stats = instance.get_run_step_stats(run.run_id)
    return [(s.step_key, (s.end_time or s.start_time) - s.start_time)
            for s in sorted(stats, key=lambda s: s.start_time or 0) if s.start_time]


def release(home: Path) -> tuple[int | None, Path | None]:
    from pipelines.publish.history import latest_version

    version = latest_version(home / "publish", PERIOD)
    return version, (home / "publish" / PERIOD / f"v{version}" if version is not None else None)


def from_extract(files: str):
    """Births and on-time registrations by commune, and by province, from the extract in bare DuckDB."""
    import duckdb

    from pipelines.reference.units import admin_units

    units = admin_units()
    communes = units.loc[units.unit_level == "commune", ["unit_code", "province_code"]]
    con = duckdb.connect()
    by_commune = con.execute(FLOOR_SQL, [files]).df().set_index("commune_code")
    by_province = (by_commune.join(communes.set_index("unit_code")).groupby("province_code")
                   [["numerator", "denominator"]].sum())
    return by_commune, by_province


def compare(release_dir: Path, files: str) -> bool:
    """The release's P5 numerators, denominators and values against the extract's, at both levels."""
    import pandas as pd

    iv = pd.read_parquet(release_dir / "indicator_values.parquet")
    p5 = iv[iv.indicator_code == INDICATOR]
    ok = True
    for level, expected in zip(("commune", "province"), from_extract(files)):
        got = p5[p5.unit_level == level].set_index("unit_code")[["numerator", "denominator", "value"]]
        got = got.reindex(expected.index)
        value = expected.numerator / expected.denominator * 100
        same = ((got.numerator == expected.numerator) & (got.denominator == expected.denominator)
                & ((got.value - value).abs() < 1e-6))
        ok &= bool(same.all())
        print(f"{INDICATOR} {level}: {int(same.sum()):,} of {len(expected):,} units equal to the extract's "
              f"({int(expected.numerator.sum()):,} on time of {int(expected.denominator.sum()):,} births)"
              + ("" if same.all() else f"; differ: {', '.join(expected.index[~same][:5])}"))
    return ok


def records(home: Path) -> str:
    import duckdb

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    rows = con.execute("select registry, sum(rows_total), sum(rows_loaded) from raw.registry_files "
                       "where period = ? group by all order by 1", [PERIOD]).fetchall()
    con.close()
    return "; ".join(f"{r}: {int(t):,} records, {int(n):,} loaded, {int(t - n):,} refused" for r, t, n in rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--births", type=int, default=10_000_000, help="records of the births extract")
    ap.add_argument("--keep", type=Path, help="use this CRI_HOME and keep it (default: a temporary folder, removed)")
    args = ap.parse_args()
    home = (args.keep or Path(tempfile.mkdtemp(prefix="cri-national-records-"))).resolve()
    env = {k: v for k, v in os.environ.items()
           if k not in ("CRI_METHODOLOGY", "CRI_WAREHOUSE_PATH", "DAGSTER_HOME", "CRI_PSEUDONYM_KEY")}
    env |= {"CRI_HOME": str(home), "PYTHONPATH": str(REPO)}
    os.environ.update(env)
    cri = str(Path(sys.executable).parent / "cri")
    try:
        figures = []
        for label, cmd in (("demo data", [cri, "demo-data", "--period", PERIOD, "--records", str(args.births),
                                          "--registry", "births"]),
                           (f"cri run --period {PERIOD}", [cri, "run", "--period", PERIOD])):
            print(f"==> {label}", flush=True)
            status, seconds, peak = timed(cmd, env)
            figures.append((label, seconds, peak))
            if status and label == "demo data":
                print(f"{label} failed (exit {status})")
                return 1
        return report(home, figures, args.births)
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)


def report(home: Path, figures: list, births: int) -> int:
    files = (home / "landing" / PERIOD / "justice").as_posix() + "/births*.parquet"
    size = sum(p.stat().st_size for p in (home / "landing" / PERIOD / "justice").glob("births*.parquet")) / 1e6
    print(f"\n=== National run, {births:,} births in the extract ({size:,.0f} MB Parquet), period {PERIOD} ===")
    for label, seconds, peak in figures:
        print(f"{label:24s} {seconds:8.1f} s   peak {peak:7.0f} MB (the process and its children)")
    print("stages of the run (Dagster steps, in order of start; those of 1 s or more):")
    steps = stages(home)
    for step, seconds in steps:
        if seconds >= 1:
            print(f"  {step:40s} {seconds:8.1f} s")
    short = [s for _, s in steps if s < 1]
    print(f"  ({len(short)} other steps, {sum(short):.1f} s in all)")
    print(f"records: {records(home)}; warehouse {(home / 'warehouse.duckdb').stat().st_size / 1e6:,.0f} MB")
    version, folder = release(home)
    latest = json.loads((home / "publish" / PERIOD / "latest.json").read_text()) if version is not None else {}
    if folder is None or not folder.is_dir():
        print(f"release: NOT published (reports: {home / 'reports' / PERIOD})")
        return 1
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    quality = json.loads((home / "reports" / PERIOD / "quality_report.json").read_text(encoding="utf-8"))
    print(f"quality gate: {len(quality['results'])} checks, {quality['failed_blocking']} blocking failed, "
          f"{quality['failed_warning']} warnings")
    print(f"release: published, version {version} (created {latest.get('created_at', '?')}), {len(names)} files: "
          + ", ".join(names))
    started = time.perf_counter()
    same = compare(folder, files)
    print(f"(the extract's figures in bare DuckDB, and the comparison: {time.perf_counter() - started:.1f} s)")
    print(f"on-time registration published = computed from the extract: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
