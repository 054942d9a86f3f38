"""How long the disclosure audit of a national release takes (target: under 30 s on 2 cores).

Audits the release files of a period as the publication gate does: every
suppressed commune count of the sensitive data elements, bounded by integer
programming per province over everything the release (and the earlier
versions of the period) publishes. Uses an existing national release:

    .venv/bin/python benchmarks/bench_disclosure.py --home $CRI_HOME [--period 2025] [--repeat 3]

(``cri demo`` or ``cri run --period 2025`` on the national demo data makes one). With ``--known`` the
audit also gets the number of primary cells per province and element from the warehouse, as the gate
does (a reader who knows the rule). Prints the median, the runs, and the cells audited per second;
nothing is asserted.

Then the same audit three ways, each ``--repeat`` times (median, and its ratio to the first):
``every version`` (each earlier version read in full, as before), ``distinct versions`` (a version of a
province repeating another is read once: the default) and ``reused`` (the audit of the written files after
protection audited the same tables: every province from the memo). ``--versions N`` audits the release as
the N-th version of a period that published the same figures N - 1 times before (instead of the versions on
disk).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", default=os.environ.get("CRI_HOME"), help="CRI_HOME holding publish/ and the warehouse")
    parser.add_argument("--period", default="2025")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--known", action="store_true", help="a reader who knows the primary cells per group")
    parser.add_argument("--versions", type=int, default=0, help="audit as the N-th version of the same figures")
    args = parser.parse_args()
    if not args.home:
        print("give --home (a CRI_HOME with a national release)", file=sys.stderr)
        return 2
    from pipelines.methodology import load_methodology
    from pipelines.publish.disclosure_audit import audit_release_folder
    from pipelines.publish.disclosure_model import load_disclosure_model
    from pipelines.publish.history import latest_version

    home = Path(args.home)
    period_dir = home / "publish" / args.period
    version = latest_version(period_dir)
    if version is None:
        print(f"no release of {args.period} under {home / 'publish'}", file=sys.stderr)
        return 2
    m = load_methodology()
    model = load_disclosure_model(m)
    known = _known(home, args.period, m, model, period_dir / f"v{version}") if args.known else None
    runs, result = [], None
    for n in range(args.repeat):
        started = time.perf_counter()
        result = audit_release_folder(period_dir / f"v{version}", m, model, period_dir=period_dir, version=version,
                                      primary_counts=known)
        runs.append(time.perf_counter() - started)
        print(f"run {n + 1}: {runs[-1]:.1f} s")
    s = result.summary()
    median = statistics.median(runs)
    print(f"{args.period} v{version}: {s['cells_audited']} suppressed cells, {s['solves']} solver calls, "
          f"{s['cells_exposed']} exposed, smallest interval {s['smallest_values']} values")
    print(f"median {median:.1f} s over {len(runs)} runs ({s['cells_audited'] / median:.0f} cells/s); "
          f"target 30 s: {'met' if median < 30 else 'NOT met'} ({median / 30:.2f} of it)")
    _protection(period_dir / f"v{version}")
    _ways(period_dir, version, m, model, known, args.repeat, args.versions)
    return 0


def _ways(period_dir: Path, version: int, m, model, known, repeat: int, versions: int) -> None:
    """Every version read in full, distinct versions, and the audit reused from protection's memo."""
    from pipelines.publish.disclosure_audit import audit_tables, earlier_versions, read_release_folder
    from pipelines.publish.disclosure_memo import AuditMemo

    tables = read_release_folder(period_dir / f"v{version}")
    earlier = [tables] * (versions - 1) if versions else earlier_versions(period_dir, version)
    releases = [*earlier, tables]
    memo = AuditMemo()
    audit_tables(releases, m, model, primary_counts=known, memo=memo)  # protection's audit, once
    ways = {"every version": lambda: audit_tables(releases, m, model, primary_counts=known, distinct=False),
            "distinct versions": lambda: audit_tables(releases, m, model, primary_counts=known),
            "reused": lambda: audit_tables(releases, m, model, primary_counts=known, memo=memo)}
    medians, summaries = {}, {}
    for name, run in ways.items():
        runs = []
        for _ in range(repeat):
            started = time.perf_counter()
            result = run()
            runs.append(time.perf_counter() - started)
        medians[name] = statistics.median(runs)
        summaries[name] = {k: v for k, v in result.summary().items() if k not in ("seconds", "solves")}
        print(f"{name} ({len(releases)} versions): median {medians[name]:.2f} s over {repeat} runs "
              f"({', '.join(f'{r:.2f}' for r in runs)}); {medians[name] / medians['every version']:.3f} of every "
              f"version; {result.solves} solver calls, {result.reused} provinces reused")
    # cells audited, cells exposed (exact intervals) and notes must agree; the width of a cell shown to keep
    # min_values values or more is the span of the solutions found on the way, which depends on the problem's
    # form (cells_narrowed, smallest_values above min_values): printed, not compared
    strict = ("cells_audited", "cells_exposed", "cells_unbounded", "notes")
    same = all({k: s[k] for k in strict} == {k: summaries["every version"][k] for k in strict}
               for s in summaries.values())
    print(f"cells audited, exposed and notes {'the same' if same else 'DIFFER'} in the three ways; "
          + "; ".join(f"{n}: narrowed {s['cells_narrowed']}, smallest {s['smallest_values']} values"
                      for n, s in summaries.items()))


def _protection(folder: Path) -> None:
    """How the release was protected, as its manifest records it."""
    import json

    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return
    disclosure = json.loads(manifest.read_text(encoding="utf-8")).get("disclosure") or {}
    protection = disclosure.get("protection") or {}
    audit = protection.get("audit") or {}
    if not protection:
        print("the manifest records no protection")
        return
    keys = ("primary", "complementary", "complementary_added", "zeros_hidden", "complementary_released",
            "criteria_hidden", "reasons_coarsened", "audit_rounds")
    print("protection: " + ", ".join(f"{k} {protection.get(k, 0)}" for k in keys))
    print(f"protection audit: smallest interval {audit.get('smallest_values')} values, {audit.get('cells_narrowed')} "
          f"cells narrowed below the suppression range; coarsened fields: "
          f"{', '.join((protection.get('model') or disclosure.get('model') or {}).get('coarsened_fields', []))}")


def _known(home: Path, period: str, m, model, folder: Path) -> dict:
    from pipelines.publish.disclosure_audit import read_release_folder
    from pipelines.publish.disclosure_protect import _links, _primary_counts, hidden_cells
    from pipelines.warehouse import connect

    elements = list(model.sensitive_elements)
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        truth = con.execute(
            f"select province_code, unit_code as commune_code, data_element as element, value "
            f"from marts.fct_data_values where period = ? and unit_level = 'commune' and value is not null "
            f"and data_element in ({', '.join('?' for _ in elements)})", [period, *elements]).df()
    truth["commune_code"] = truth["commune_code"].astype(str)
    published = {e for n in _links(m, model)[0].values() for e in n}
    return _primary_counts(hidden_cells(read_release_folder(folder), m, model), truth, model.rule, published)


if __name__ == "__main__":
    raise SystemExit(main())
