"""Benchmark a record-level registry extract: the pipeline against bare DuckDB and pandas, in one run.

Writes an extract of N records of one registry (``--registry``: births, health_insurance, immunisation,
or all of them one after the other) for every commune, in Parquet parts of at most 5 million rows
generated one at a time (a 100-million-row extract is never held in memory), then, each in a fresh
process so that each peak memory is its own:

* pipeline: the registry ingest (read, check, pseudonymise, write ``raw.registry_<code>``) and the dbt
  models that turn the records into commune counts (``+int_registry_element_values``), with DuckDB's
  memory limit (``CRI_DUCKDB_MEMORY_LIMIT``, default 1GB, for the ingest and dbt alike) and a spill folder;
* floor: the same commune counts in bare DuckDB straight from the same files;
* pandas: the same counts with ``pandas.read_parquet`` and ``groupby`` (and, for births, pandas doing the
  pipeline's whole work: checks, HMAC, counts).

Prints time (median of --runs) and peak memory of each, and the ratios against the goals (at 10 million
births: pipeline within 10x the floor, under 1 GB, at least 5x faster than pandas), the pseudonym's own
cost, and that the methods give the same counts.

    .venv/bin/python benchmarks/bench_records.py --rows 1000000 [--runs 3] [--skip-pandas] [--registry births]
    # a decade of doses (100 million rows), once, without pandas (make bench-records-100m):
    .venv/bin/python benchmarks/bench_records.py --rows 100000000 --registry immunisation --runs 1 --skip-pandas
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
REGISTRIES = ("births", "health_insurance", "immunisation")
ANTIGENS = "(select unnest(?::varchar[]))"
# the commune counts of each registry's elements in bare DuckDB, from the files ({files}); ? = the antigens
FLOOR_SQL = {
    "births": """
        select commune_code, count(*) as LIVE_BIRTHS,
               count(*) filter (where datediff('day', birth_date, registration_date) between 0 and 60)
                   as BIRTHS_REG_ONTIME
        from read_parquet('{files}') group by all""",
    "health_insurance": """
        select commune_code, count(*) as INSURED_U6 from (
            select child_id, arg_max(commune_code, valid_from) as commune_code
            from read_parquet('{files}')
            where valid_from <= date '{end}' and coalesce(valid_to, date '{end}') >= date '{end}'
                and birth_date + interval 6 year > date '{end}'
            group by child_id)
        group by all""",
    "immunisation": """
        select commune_code, count(*) as IMMUNISED_FULL_U1 from (
            select child_id, arg_max(commune_code, dose_date) as commune_code
            from read_parquet('{files}')
            where dose_date < birth_date + interval 1 year and antigen in {antigens}
            group by child_id
            having count(distinct antigen) = len(?::varchar[])
                and min(birth_date) + interval 1 year between date '{start}' and date '{end}')
        group by all""",
}


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM: reset by exec, unlike ru_maxrss), or its dbt child's."""
    status = Path("/proc/self/status")
    own = (int(next(line.split()[1] for line in status.read_text().splitlines() if line.startswith("VmHWM")))
           if status.exists() else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def _registry(code: str):
    from pipelines.registries.spec import load_registries

    return load_registries().get(code)


def _antigens() -> list[str]:
    return list(next(p for p in _registry("immunisation").produces if p.rule == "all_before_age").param("codes"))


def _part(code: str, communes, weights, n: int, rng, id_base: int):
    """One Parquet part of about n records of the registry (whole children: a child is in one part)."""
    import numpy as np

    from pipelines.demo.records import PER_BIRTH, allocate, birth_records
    from pipelines.demo.registry_records import PARTLY_SHARE, dose_records, insurance_records

    if code == "births":
        on_time = rng.uniform(0.85, 0.99, len(communes))
        return birth_records(communes, allocate(weights, n), on_time, PERIOD, rng, id_base=id_base)
    if code == "health_insurance":  # about one expired card for six valid ones
        return insurance_records(communes, allocate(weights, round(n * 6 / 7)), PERIOD, rng, id_base)
    children = round(n / PER_BIRTH["immunisation"] / (1 + PARTLY_SHARE))
    return dose_records(communes, allocate(weights, children).astype(np.int64), tuple(_antigens()), PERIOD,
                        rng, id_base, doses=n)


def write_extract(home: Path, rows: int, code: str = "births", seed: int = 1) -> list[Path]:
    """The extract in parts of at most PART_ROWS records, each generated, written and let go in turn."""
    import numpy as np
    import pyarrow.parquet as pq

    from pipelines.reference.units import admin_units

    registry = _registry(code)
    units = admin_units()
    communes = units.loc[units.unit_level == "commune", "unit_code"].to_numpy()
    rng = np.random.default_rng(seed)
    weights = rng.gamma(2.0, 1.0, len(communes))
    folder = home / "landing" / PERIOD / registry.sector
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for part, start in enumerate(range(0, rows, PART_ROWS)):
        table = _part(code, communes, weights, min(PART_ROWS, rows - start), rng, id_base=10**9 + start)
        path = folder / f"{registry.files.rstrip('*')}_{PERIOD}_part{part:03d}.parquet"
        pq.write_table(table, path, compression="zstd")
        files.append(path)
        del table
    return files


def _files(home: Path, code: str) -> str:
    return (home / "landing" / PERIOD / _registry(code).sector).as_posix() + "/*.parquet"


def _dbt_run(home: Path) -> None:
    """dbt's registry models, with the project's profile plus the same memory limit and spill folder."""
    import yaml

    profile = yaml.safe_load((REPO / "dbt_project" / "profiles.yml").read_text(encoding="utf-8"))
    for output in profile["cri"]["outputs"].values():
        # it spills to <warehouse>.tmp (a temp_directory set here would be set again on each cursor: refused)
        output.setdefault("settings", {})["memory_limit"] = os.environ["CRI_DUCKDB_MEMORY_LIMIT"]
    folder = home / "dbt_profile"
    folder.mkdir(exist_ok=True)
    (folder / "profiles.yml").write_text(yaml.safe_dump(profile), encoding="utf-8")
    subprocess.run([str(Path(sys.executable).parent / "dbt"), "run", "--quiet", "--project-dir",
                    str(REPO / "dbt_project"), "--profiles-dir", str(folder), "--select",
                    "+int_registry_element_values", "--target-path", str(home / "dbt_target")], check=True)


class TimedConnection:
    """A DuckDB connection that times each statement it executes (the ingest's profile)."""

    def __init__(self, con):
        self._con, self.statements = con, []

    def execute(self, sql: str, *params):
        started = time.perf_counter()
        result = self._con.execute(sql, *params)
        text = " ".join(sql.split())
        if "macro" in text.lower():  # the pseudonym's macro holds the key's pads: never printed
            text = "create macro (the pseudonym's keyed hash, not shown)"
        self.statements.append((time.perf_counter() - started, text[:110]))
        return result

    def __getattr__(self, name):
        return getattr(self._con, name)


def phase_pipeline(home: Path, code: str) -> dict:
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
    registry = registries.get(code)
    units = admin_units()
    communes = units.loc[units.unit_level == "commune", "unit_code"].tolist()
    with connect() as con:
        ensure_schema(con)
        replace_table(con, "ref.admin_units", units)
    started = time.perf_counter()
    with connect() as con:
        configure(con, home / "tmp")
        timed = TimedConnection(con)
        summary = load_registry(timed, registries, registry, PERIOD, settings.landing_dir / PERIOD / registry.sector,
                                communes, pseudonym_key(), relative_to=settings.landing_dir)
    ingest = time.perf_counter() - started
    profile = sorted(timed.statements, reverse=True)[:6]
    t = time.perf_counter()
    _dbt_run(home)
    dbt = time.perf_counter() - t
    total = time.perf_counter() - started
    compiled = next((home / "dbt_target" / "compiled").rglob("int_registry_element_values.sql")).read_text()
    identifier = registry.identifiers[0]
    with connect(read_only=True) as con:
        configure(con, home / "tmp")
        counts = dict(con.execute("select data_element, sum(value) from intermediate.int_registry_element_values "
                                  "group by all").fetchall())
        t = time.perf_counter()
        con.execute(f"select count(*) from ({compiled})").fetchone()
        models_sql = time.perf_counter() - t
        # the pseudonym's cost, on the first part (at most PART_ROWS records), scaled to the extract
        part = sorted(Path(_files(home, code)).parent.glob("*.parquet"))[0].as_posix()
        register_pseudonym(con, pseudonym_key())
        t = time.perf_counter()
        n = con.execute(f"select count(cri_pseudonym({identifier})) from read_parquet('{part}')").fetchone()[0]
        hashed = time.perf_counter() - t
        t = time.perf_counter()
        con.execute(f"select count({identifier}) from read_parquet('{part}')").fetchone()
        plain = time.perf_counter() - t
        scale = (summary.rows_total / n) if n else 0
    return {"seconds": total, "ingest": ingest, "dbt": dbt, "peak_mb": _peak_mb(), "loaded": summary.rows_loaded,
            "rejected": summary.rows_rejected, "counts": counts, "pseudonym_seconds": (hashed - plain) * scale,
            "models_sql": models_sql, "profile": profile}


def phase_floor(home: Path, code: str) -> dict:
    import duckdb

    from pipelines.registries.load import period_bounds

    start, end = period_bounds(PERIOD)
    sql = FLOOR_SQL[code].format(files=_files(home, code), start=start, end=end, antigens=ANTIGENS)
    params = [_antigens()] * 2 if code == "immunisation" else []
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"set temp_directory = '{(home / 'tmp_floor').as_posix()}'")
    df = con.execute(sql, params).df()
    return {"seconds": time.perf_counter() - started, "peak_mb": _peak_mb(),
            "counts": {c: float(df[c].sum()) for c in df.columns if c != "commune_code"}}


def phase_pandas(home: Path, code: str) -> dict:
    import pandas as pd

    from pipelines.registries.load import period_bounds

    start, end = (pd.Timestamp(d) for d in period_bounds(PERIOD))
    started = time.perf_counter()
    df = pd.read_parquet(_files(home, code).rsplit("/", 1)[0])
    if code == "births":
        delay = (pd.to_datetime(df.registration_date) - pd.to_datetime(df.birth_date)).dt.days
        counts = {"LIVE_BIRTHS": len(df), "BIRTHS_REG_ONTIME": int(delay.between(0, 60).sum())}
    elif code == "health_insurance":
        to = pd.to_datetime(df.valid_to).fillna(end)
        ok = ((pd.to_datetime(df.valid_from) <= end) & (to >= end)
              & (pd.to_datetime(df.birth_date) + pd.DateOffset(years=6) > end))
        counts = {"INSURED_U6": int(df[ok].child_id.nunique())}
    else:
        birthday = pd.to_datetime(df.birth_date) + pd.DateOffset(years=1)
        ok = df[(pd.to_datetime(df.dose_date) < birthday) & df.antigen.isin(_antigens())]
        per_child = ok.groupby("child_id").agg(n=("antigen", "nunique"), birth=("birth_date", "min"))
        first = pd.to_datetime(per_child.birth) + pd.DateOffset(years=1)
        counts = {"IMMUNISED_FULL_U1": int(((per_child.n == len(_antigens())) & first.between(start, end)).sum())}
    return {"seconds": time.perf_counter() - started, "peak_mb": _peak_mb(),
            "counts": {k: float(v) for k, v in counts.items()}}


def phase_pandas_ingest(home: Path, code: str) -> dict:
    """The pipeline's work on births in plain pandas: the same checks, the first of each child, HMAC, counts."""
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
            "counts": {"LIVE_BIRTHS": float(counts.births.sum()), "BIRTHS_REG_ONTIME": float(counts.on_time.sum())}}


PHASES = {"pipeline": phase_pipeline, "floor": phase_floor, "pandas": phase_pandas,
          "pandas_ingest": phase_pandas_ingest}


def run_phase(name: str, home: Path, code: str, env: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--phase", name, "--home", str(home), "--registry", code],
                         env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(runs: list[dict]) -> dict:
    best = dict(runs[0])
    for k in ("seconds", "ingest", "dbt", "peak_mb", "pseudonym_seconds", "models_sql"):
        if k in best:
            best[k] = statistics.median(r[k] for r in runs)
    return best


def bench_registry(code: str, rows: int, runs: int, skip_pandas: bool, env: dict) -> None:
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="bench_records_") as tmp:
        home = Path(tmp)
        t = time.perf_counter()
        files = write_extract(home, rows, code)
        size = sum(f.stat().st_size for f in files) / 1e6
        rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        print(f"{code} extract: {rows:,} records, {len(files)} Parquet file(s), {size:,.0f} MB, written in "
              f"{time.perf_counter() - t:.1f}s; DuckDB memory limit {env['CRI_DUCKDB_MEMORY_LIMIT']}", flush=True)
        results = {}
        for name in ("floor", "pandas", "pandas_ingest", "pipeline"):
            if (name.startswith("pandas") and skip_pandas) or (name == "pandas_ingest" and code != "births"):
                continue
            found = []
            for _ in range(runs):
                if name == "pipeline":
                    (home / "warehouse.duckdb").unlink(missing_ok=True)
                found.append(run_phase(name, home, code, env))
            results[name] = r = _median(found)
            counts = ", ".join(f"{e} {v:,.0f}" for e, v in sorted(r["counts"].items()))
            print(f"{name:13s} {r['seconds']:8.2f} s  peak {r['peak_mb']:7.0f} MB  {counts}", flush=True)
        report(results, rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--registry", choices=(*REGISTRIES, "all"), default="births",
                    help="which registry's extract (all: each in turn, --rows records each)")
    ap.add_argument("--skip-pandas", action="store_true", help="at 100 million rows pandas needs tens of GB")
    ap.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    ap.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(PHASES[args.phase](args.home, args.registry), default=float))
        return
    env = {**os.environ, "CRI_PSEUDONYM_KEY": secrets.token_hex(32), "PYTHONPATH": str(REPO)}
    env.setdefault("CRI_DUCKDB_MEMORY_LIMIT", "1GB")
    for code in REGISTRIES if args.registry == "all" else (args.registry,):
        bench_registry(code, args.rows, args.runs, args.skip_pandas, env)


def report(results: dict, rows: int) -> None:
    p, floor = results["pipeline"], results["floor"]
    engine = p["ingest"] + p["models_sql"]
    print(f"pipeline: ingest {p['ingest']:.2f} s (of which the HMAC pseudonym about {p['pseudonym_seconds']:.2f} s, "
          f"{p['pseudonym_seconds'] / rows * 1e6:.2f} us a record); dbt invocation {p['dbt']:.2f} s, of which the "
          f"models' SQL {p['models_sql']:.2f} s (the rest: dbt's fixed start); {p['loaded']:,} loaded, "
          f"{p['rejected']:,} refused")
    same = all({k: round(v) for k, v in r["counts"].items()} == {k: round(v) for k, v in floor["counts"].items()}
               for r in results.values())
    print("the ingest's slowest SQL statements: " + "".join(f"\n  {t:7.2f} s  {sql}" for t, sql in p["profile"]))
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
