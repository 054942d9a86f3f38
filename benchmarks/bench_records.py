"""Benchmark a record-level births extract: the pipeline against bare DuckDB and pandas, in one run.

Writes a births extract of N records (Parquet, parts of at most 5 million rows) for every commune, then,
each in a fresh process so that each peak memory is its own:

* pipeline: the registry ingest (read, check, pseudonymise, write ``raw.registry_births``) and the dbt
  models that turn the records into commune counts (``+int_registry_element_values``), with DuckDB's
  memory limit (``CRI_DUCKDB_MEMORY_LIMIT``, default 1GB) and a spill folder;
* floor: the same commune counts in bare DuckDB straight from the same files;
* pandas: the same counts with ``pandas.read_parquet`` and ``groupby``.

Prints time (median of --runs) and peak memory of each, and the ratios against the goals (at 10 million
births: pipeline within 10x the floor, under 1 GB, at least 5x faster than pandas), the pseudonym's own
cost, and that the three give the same counts.

    .venv/bin/python benchmarks/bench_records.py --rows 1000000 [--runs 3] [--skip-pandas]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PART_ROWS = 5_000_000
PERIOD = "2025"
FLOOR_SQL = """
select commune_code, count(*) as births,
       count(*) filter (where datediff('day', birth_date, registration_date) between 0 and 60) as on_time
from read_parquet('{files}') group by all
"""


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM: reset by exec, unlike ru_maxrss), or its dbt child's."""
    status = Path("/proc/self/status")
    own = (int(next(line.split()[1] for line in status.read_text().splitlines() if line.startswith("VmHWM")))
           if status.exists() else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def write_extract(home: Path, rows: int, seed: int = 1) -> list[Path]:
    import numpy as np
    import pyarrow.parquet as pq

    from pipelines.demo.records import allocate, birth_records
    from pipelines.reference.units import admin_units

    units = admin_units()
    communes = units.loc[units.unit_level == "commune", "unit_code"].to_numpy()
    rng = np.random.default_rng(seed)
    weights = rng.gamma(2.0, 1.0, len(communes))
    on_time = rng.uniform(0.85, 0.99, len(communes))
    folder = home / "landing" / PERIOD / "justice"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for part, start in enumerate(range(0, rows, PART_ROWS)):
        n = min(PART_ROWS, rows - start)
        table = birth_records(communes, allocate(weights, n), on_time, PERIOD, rng, id_base=10**9 + start)
        path = folder / f"births_{PERIOD}_part{part:03d}.parquet"
        pq.write_table(table, path, compression="zstd")
        files.append(path)
    return files


def phase_pipeline(home: Path) -> dict:
    """Registry ingest, then dbt's models to commune counts; returns times, peak and the counts."""
    os.environ["CRI_HOME"] = str(home)
    from pipelines.methodology import load_methodology
    from pipelines.reference.units import admin_units
    from pipelines.registries.load import configure, load_registry, pseudonym_key, register_pseudonym
    from pipelines.registries.spec import load_registries
    from pipelines.settings import get_settings
    from pipelines.warehouse import connect, ensure_schema, replace_table

    settings = get_settings()
    settings.export_env()
    registries = load_registries(methodology=load_methodology())
    births = registries.get("births")
    units = admin_units()
    communes = units.loc[units.unit_level == "commune", "unit_code"].tolist()
    with connect() as con:
        ensure_schema(con)
        replace_table(con, "ref.admin_units", units)
    started = time.perf_counter()
    with connect() as con:
        configure(con, home / "tmp")
        summary = load_registry(con, registries, births, PERIOD, settings.landing_dir / PERIOD / "justice",
                                communes, pseudonym_key(), relative_to=settings.landing_dir)
    ingest = time.perf_counter() - started
    t = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "dbt"), "run", "--quiet", "--project-dir", str(REPO / "dbt_project"),
                    "--profiles-dir", str(REPO / "dbt_project"), "--select", "+int_registry_element_values",
                    "--target-path", str(home / "dbt_target")], check=True)
    dbt = time.perf_counter() - t
    total = time.perf_counter() - started
    compiled = next((home / "dbt_target" / "compiled").rglob("int_registry_element_values.sql")).read_text()
    files = (settings.landing_dir / PERIOD / "justice").as_posix() + "/*.parquet"
    with connect(read_only=True) as con:
        counts = con.execute("select sum(value) filter (where data_element = 'LIVE_BIRTHS'), "
                             "sum(value) filter (where data_element = 'BIRTHS_REG_ONTIME') "
                             "from intermediate.int_registry_element_values").fetchone()
        t = time.perf_counter()
        con.execute(f"select count(*) from ({compiled})").fetchone()
        models_sql = time.perf_counter() - t
        register_pseudonym(con, pseudonym_key())
        t = time.perf_counter()
        con.execute(f"select count(cri_pseudonym(child_id)) from read_parquet('{files}')").fetchone()
        hashed = time.perf_counter() - t
        t = time.perf_counter()
        con.execute(f"select count(child_id) from read_parquet('{files}')").fetchone()
        plain = time.perf_counter() - t
    return {"seconds": total, "ingest": ingest, "dbt": dbt, "peak_mb": _peak_mb(), "loaded": summary.rows_loaded,
            "rejected": summary.rows_rejected, "births": counts[0], "on_time": counts[1],
            "pseudonym_seconds": hashed - plain, "models_sql": models_sql}


def phase_floor(home: Path) -> dict:
    import duckdb

    files = (home / "landing" / PERIOD / "justice").as_posix() + "/*.parquet"
    started = time.perf_counter()
    con = duckdb.connect()
    rows = con.execute(FLOOR_SQL.format(files=files)).fetchall()
    return {"seconds": time.perf_counter() - started, "peak_mb": _peak_mb(),
            "births": sum(r[1] for r in rows), "on_time": sum(r[2] for r in rows)}


def phase_pandas(home: Path) -> dict:
    import pandas as pd

    started = time.perf_counter()
    df = pd.read_parquet(home / "landing" / PERIOD / "justice", columns=["commune_code", "birth_date",
                                                                        "registration_date"])
    delay = (pd.to_datetime(df.registration_date) - pd.to_datetime(df.birth_date)).dt.days
    df["on_time"] = delay.between(0, 60)
    counts = df.groupby("commune_code").agg(births=("on_time", "size"), on_time=("on_time", "sum"))
    return {"seconds": time.perf_counter() - started, "peak_mb": _peak_mb(),
            "births": int(counts.births.sum()), "on_time": int(counts.on_time.sum())}


def phase_pandas_ingest(home: Path) -> dict:
    """The pipeline's work in plain pandas: the same checks, the first of each child, HMAC, then the counts."""
    import hmac

    import pandas as pd

    from pipelines.reference.units import admin_units

    units = admin_units()
    communes = set(units.loc[units.unit_level == "commune", "unit_code"])
    key = os.environ["CRI_PSEUDONYM_KEY"].encode()
    started = time.perf_counter()
    df = pd.read_parquet(home / "landing" / PERIOD / "justice")
    birth, registration = pd.to_datetime(df.birth_date), pd.to_datetime(df.registration_date)
    ok = (df.child_id.notna() & df.sex.isin(["M", "F"]) & birth.notna() & df.commune_code.isin(communes)
          & (birth >= "1990-01-01") & (birth <= pd.Timestamp.today()) & ~(registration < birth)
          & (birth.dt.year == int(PERIOD)))
    ok &= ~(ok & df.child_id.duplicated(keep="first"))
    df = df[ok].assign(delay=(registration[ok] - birth[ok]).dt.days)
    df["child_key"] = [hmac.digest(key, v.encode(), "sha256").hex()[:32] for v in df.child_id]
    counts = df.groupby("commune_code").agg(births=("delay", "size"), on_time=("delay", lambda d: d.between(0, 60).sum()))
    return {"seconds": time.perf_counter() - started, "peak_mb": _peak_mb(),
            "births": int(counts.births.sum()), "on_time": int(counts.on_time.sum())}


PHASES = {"pipeline": phase_pipeline, "floor": phase_floor, "pandas": phase_pandas,
          "pandas_ingest": phase_pandas_ingest}


def run_phase(name: str, home: Path, env: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--phase", name, "--home", str(home)], env=env,
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(runs: list[dict]) -> dict:
    best = dict(runs[0])
    for k in ("seconds", "ingest", "dbt", "peak_mb", "pseudonym_seconds", "models_sql"):
        if k in best:
            best[k] = statistics.median(r[k] for r in runs)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-pandas", action="store_true", help="at 100 million rows pandas needs tens of GB")
    ap.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    ap.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(PHASES[args.phase](args.home), default=float))
        return
    env = {**os.environ, "CRI_PSEUDONYM_KEY": secrets.token_hex(32), "PYTHONPATH": str(REPO)}
    env.setdefault("CRI_DUCKDB_MEMORY_LIMIT", "1GB")
    with tempfile.TemporaryDirectory(prefix="bench_records_") as tmp:
        home = Path(tmp)
        t = time.perf_counter()
        files = write_extract(home, args.rows)
        size = sum(f.stat().st_size for f in files) / 1e6
        print(f"births extract: {args.rows:,} records, {len(files)} Parquet file(s), {size:,.0f} MB, "
              f"written in {time.perf_counter() - t:.1f}s; DuckDB memory limit {env['CRI_DUCKDB_MEMORY_LIMIT']}")
        results = {}
        for name in ("floor", "pandas", "pandas_ingest", "pipeline"):
            if name.startswith("pandas") and args.skip_pandas:
                continue
            runs = []
            for _ in range(args.runs):
                if name == "pipeline":
                    (home / "warehouse.duckdb").unlink(missing_ok=True)
                runs.append(run_phase(name, home, env))
            results[name] = _median(runs)
            r = results[name]
            print(f"{name:13s} {r['seconds']:8.2f} s  peak {r['peak_mb']:7.0f} MB  births {r['births']:,.0f}  "
                  f"on time {r['on_time']:,.0f}")
        report(results, args.rows)


def report(results: dict, rows: int) -> None:
    p, floor = results["pipeline"], results["floor"]
    engine = p["ingest"] + p["models_sql"]
    print(f"pipeline: ingest {p['ingest']:.2f} s (of which the HMAC pseudonym about {p['pseudonym_seconds']:.2f} s, "
          f"{p['pseudonym_seconds'] / rows * 1e6:.2f} us a record); dbt invocation {p['dbt']:.2f} s, of which the "
          f"models' SQL {p['models_sql']:.2f} s (the rest: dbt's fixed start); {p['loaded']:,} loaded, "
          f"{p['rejected']:,} refused")
    same = all(round(r["births"]) == round(floor["births"]) and round(r["on_time"]) == round(floor["on_time"])
               for r in results.values())
    print(f"same counts in every method: {'yes' if same else 'NO'}")
    for label, seconds in (("with dbt's start", p["seconds"]), ("ingest + models' SQL", engine)):
        ratio = seconds / floor["seconds"]
        print(f"pipeline ({label}) / floor: {ratio:.1f}x (goal at 10M: <= 10x) - {'met' if ratio <= 10 else 'missed'}")
    print(f"pipeline peak: {p['peak_mb']:.0f} MB (goal at 10M: < 1024 MB) - {'met' if p['peak_mb'] < 1024 else 'missed'}")
    for name, label in (("pandas", "counts only"), ("pandas_ingest", "the same checks, HMAC and counts")):
        if name in results:
            speed = results[name]["seconds"] / engine
            print(f"pandas ({label}) / pipeline (ingest + models' SQL): {speed:.2f}x (goal at 10M: >= 5x) - "
                  f"{'met' if speed >= 5 else 'missed'}; pandas peak {results[name]['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
