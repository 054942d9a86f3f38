"""The ``cri`` command: demo data, runs, releases, templates and the UI."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from pipelines.ops.run import RunOutcome, _prepare_environment, _prepare_manifest, run_period  # noqa: F401 - the command line runs them
from pipelines.partitions import is_period
from pipelines.settings import REPO_ROOT, get_settings

def print_outcome(o: RunOutcome) -> None:
    settings = get_settings()
    print(f"\n=== Kỳ {o.period} / period {o.period}: {'ĐÃ CÔNG BỐ / published' if o.published else 'KHÔNG CÔNG BỐ / not published'}"
          f" ({o.seconds:.0f}s)")
    q = o.quality
    if q:
        print(f"  Quality: {q['checks']} checks, {q['failed_blocking']} blocking failed, "
              f"{q['failed_warning']} warnings, {q['waived']} waived, {q['rejected_rows']} rows rejected")
        for line in q.get("blocking_failures", []):
            print(f"  ✗ {line}")
        print(f"  Quality report: {settings.reports_period_dir(o.period) / 'quality_report.html'}")
        if q.get("rejected_rows"):
            print(f"  Rejected rows:  {settings.reports_period_dir(o.period) / 'rejected_rows.csv'}")
    from pipelines.ops.errors import indented

    for note in o.notes:
        print(f"  ! {note}")
    for e in o.errors:
        print(indented(e))
    if o.release_dir:
        print(f"  Release: {o.release_dir}")


def expand_periods(items: list[str]) -> list[str]:
    """Periods as given, a range of years 'YYYY..YYYY' expanded (years in order)."""
    out = []
    for item in items:
        first, sep, last = item.partition("..")
        if sep and first.isdigit() and last.isdigit() and int(first) <= int(last):
            out += [str(y) for y in range(int(first), int(last) + 1)]
        else:
            out.append(item)
    return out


def cmd_run(args) -> int:
    outcomes = []
    for period in expand_periods(args.period):
        if not is_period(period):
            print(f"'{period}' is not a period: expected YYYY, YYYYH1 or YYYYH2", file=sys.stderr)
            return 2
    if getattr(args, "backfill", False):  # consecutive periods as one run each (pipelines/ops/backfill.py)
        from pipelines.ops.backfill import run_periods

        outcomes = run_periods(expand_periods(args.period), verbose=args.verbose, announce=lambda g: print(
            f"==> Chạy kỳ {g[0]}..{g[-1]} / running {g[0]}..{g[-1]} as one run", file=sys.stderr))
        for outcome in outcomes:
            print_outcome(outcome)
        return 0 if all(o.ok for o in outcomes) else 1
    for period in expand_periods(args.period):
        print(f"==> Chạy kỳ {period} / running period {period} (CRI_HOME={get_settings().home})", file=sys.stderr)
        outcome = run_period(period, verbose=args.verbose)
        print_outcome(outcome)
        outcomes.append(outcome)
    return 0 if all(o.ok for o in outcomes) else 1


def cmd_demo_data(args) -> int:
    from pipelines.demo import write_demo_data

    settings = _prepare_environment()
    started = time.monotonic()
    from pipelines.demo.legacy import HISTORY_PERIODS

    history = getattr(args, "history", False)
    periods = HISTORY_PERIODS if history else tuple(expand_periods(args.period))
    only = tuple(getattr(args, "registry", None) or ())
    if only:  # an unknown --registry code is named before anything is written
        from pipelines.demo.records import check_registries

        try:
            check_registries(only)
        except ValueError as exc:
            print(f"Không có sổ đăng ký này / {exc}: fix --registry", file=sys.stderr)
            return 2
        if getattr(args, "records", None) is None:
            print("--registry chọn sổ cho --records / --registry picks the registries of --records N: add --records",
                  file=sys.stderr)
            return 2
    summary = write_demo_data(settings.landing_dir, periods=periods, small=args.small, seed=args.seed, history=history)
    print(f"Demo data (synthetic) written to {settings.landing_dir} in {time.monotonic() - started:.1f}s: "
          f"{len(summary.files)} files, {sum(summary.rows.values()):,} rows, {len(summary.provinces)} provinces, "
          f"{summary.communes:,} communes, periods {', '.join(summary.periods)}")
    if getattr(args, "records", None) is not None:  # record-level extracts (pipelines/demo/records.py)
        from pipelines.demo.records import write_demo_records

        records = write_demo_records(settings.landing_dir, periods, args.records, args.seed, only=only)
        print(f"Registry extracts: {records}")
    return 0


def print_ranking(release_dir: Path, n: int = 5) -> None:
    import pandas as pd

    df = pd.read_parquet(release_dir / "province_ranking.parquet")
    ranked = df[df["rank"].notna()].sort_values(["rank", "province_code"])
    fmt = lambda r: f"  {int(r['rank']):>2}. {r['province_name']:<28} PCRI {r['pcri']:6.2f}  nhóm {int(r['tier'])}"  # noqa: E731
    print(f"\nTop {n} / đứng đầu:")
    for _, r in ranked.head(n).iterrows():
        print(fmt(r))
    print(f"Bottom {n} / cuối bảng:")
    for _, r in ranked.tail(n).iterrows():
        print(fmt(r))
    unranked = df[df["rank"].isna()]
    if len(unranked):
        print(f"Not ranked / không xếp hạng: {len(unranked)} ({unranked['not_ranked_reason'].iloc[0]})")


def cmd_demo(args) -> int:
    """Demo data, then every period: the history (2019-2025 and the 2025 half-years) unless --quick."""
    settings = _prepare_environment()
    from pipelines.demo.legacy import HISTORY_PERIODS
    from pipelines.ops.backfill import period_ranges, run_periods

    history = not getattr(args, "quick", False)
    periods = list(HISTORY_PERIODS) if history else ["2024", "2025"]
    steps = 1 + len(period_ranges(periods))
    print(f"==> 1/{steps} Tạo dữ liệu mẫu / writing synthetic demo data", file=sys.stderr)
    cmd_demo_data(argparse.Namespace(period=periods, small=args.small, seed=args.seed, history=history))
    if history:  # the year a sector sent nothing is released with a waiver, as an operator would
        from pipelines.demo.legacy import write_demo_waivers

        if (waivers := write_demo_waivers(settings.home)) is not None:
            print(f"Waiver for the sector missing in the demo history: {waivers}")
    os.environ.setdefault("CRI_LANDING_SETTLE_SECONDS", "0")  # written just now, whole: no need to wait
    started, step = time.monotonic(), iter(range(2, steps + 1))

    def announce(group: list[str]) -> None:
        label = group[0] if len(group) == 1 else f"{group[0]}..{group[-1]} ({len(group)} kỳ / periods, one run)"
        print(f"==> {next(step)}/{steps} Chạy kỳ {label} / running {label}", file=sys.stderr)

    outcomes = run_periods(periods, announce=announce)
    for o in outcomes:
        print_outcome(o)
    last = next((o for o in outcomes if o.period == "2025"), outcomes[-1])
    print("\n=== Demo summary ===")
    for o in outcomes:
        print(f"  {o.period}: {'published' if o.published else 'NOT published'}"
              f"{f' ({o.release_dir})' if o.release_dir else ''}")
    print(f"  {len(outcomes)} periods in {time.monotonic() - started:.0f}s")
    if last.release_dir:
        print_ranking(last.release_dir)
        print(f"\nRelease {last.period}: {last.release_dir}")
        print(f"Report:        {last.release_dir / 'report.html'}")
        print(f"Quality:       {settings.reports_period_dir(last.period) / 'quality_report.html'}")
        print(f"Warehouse:     {settings.warehouse_path}")
        print("Dagster UI:    make ui  (http://127.0.0.1:3000)")
    return 0 if all(o.ok for o in outcomes) else 1


def cmd_ui(args) -> int:
    settings = _prepare_environment()
    _prepare_manifest()
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    dagster = Path(sys.executable).parent / "dagster"
    cmd = [str(dagster), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-h", args.host, "-p", str(args.port)]
    print(f"Dagster UI on http://{args.host}:{args.port} (DAGSTER_HOME={settings.dagster_home}); Ctrl+C to stop")
    return subprocess.call(cmd, env=env, cwd=REPO_ROOT)


def cmd_releases(args) -> int:
    from pipelines.publish.verify import list_releases, verify_release

    settings = get_settings()
    if args.action == "list":
        rows = list_releases(settings.publish_dir)
        if not rows:
            print(f"No release under {settings.publish_dir}")
        print(f"{'Kỳ/period':<10} {'bản':<5} {'tạo lúc/created':<22} {'phương pháp':<12} {'mới nhất':<9} thư mục/path")
        for r in rows:
            print(f"{r.period:<10} v{r.version:<4} {r.created_at or '':<22} {r.methodology_version or '':<12} "
                  f"{'*' if r.latest else '':<9} {r.path}")
        return 0
    if not args.period:
        print("cri releases verify PERIOD [--version N]", file=sys.stderr)
        return 2
    result = verify_release(settings.publish_dir, args.period, version=args.version)
    print(result)
    return 0 if getattr(result, "ok", False) else 1


def cmd_template(args) -> int:
    from pipelines.ingest.template import write_template
    from pipelines.methodology import load_methodology

    settings = get_settings()
    m = load_methodology(settings.methodology_path)
    out = Path(args.out or f"{args.sector}_{args.period}{'_' + args.province if args.province else ''}.xlsx")
    write_template(out, args.sector, args.period, m, province_code=args.province)
    print(f"Template written: {out.resolve()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cri", description="Child-rights indicators: ingest, rank, publish.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo-data", help="write synthetic landing files")
    p.add_argument("--small", action="store_true", help="3 provinces, 4 communes each (for tests)")
    p.add_argument("--period", nargs="+", default=["2024", "2025"])
    p.add_argument("--seed", type=int, default=20251115)
    p.add_argument("--history", action="store_true", help="2019-2025 and the half-years of 2025, years before "
                   "2025 partly keyed by the units of the time")
    p.add_argument("--records", type=int, metavar="N", help="also registry extracts: N births a period (0: the demo's), "
                   "insurance cards and doses in proportion")
    p.add_argument("--registry", nargs="+", metavar="CODE", help="with --records: only these registries' extracts "
                   "(e.g. births; default: every registry the methodology loads)")
    p.set_defaults(func=cmd_demo_data)

    p = sub.add_parser("run", help="materialize the whole graph for a period")
    p.add_argument("--period", nargs="+", required=True, help="periods, or a range of years: 2019..2025")
    p.add_argument("--verbose", action="store_true", help="show Dagster's full log")
    p.add_argument("--backfill", action="store_true", help="consecutive periods as one run (a backfill, as the UI runs it)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="demo data, then the history: 2019-2025 and 2025H1/H2 (--quick: 2024 and 2025)")
    p.add_argument("--small", action="store_true")
    p.add_argument("--quick", action="store_true", help="only 2024 and 2025, without the history")
    p.add_argument("--history", action="store_true", help="the default (kept for older scripts)")
    p.add_argument("--seed", type=int, default=20251115)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("ui", help="start the Dagster UI")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser("releases", help="list or verify releases")
    p.add_argument("action", choices=["list", "verify"])
    p.add_argument("period", nargs="?")
    p.add_argument("--version", type=int)
    p.set_defaults(func=cmd_releases)

    p = sub.add_parser("template", help="write a blank workbook for an agency")
    p.add_argument("sector")
    p.add_argument("--period", required=True)
    p.add_argument("--province")
    p.add_argument("--out")
    p.set_defaults(func=cmd_template)

    args = parser.parse_args(argv)
    from pipelines.methodology import MethodologyError
    from pipelines.publish.history import HistoryError
    from pipelines.publish.release import ReleaseError

    try:
        return args.func(args)
    except (MethodologyError, HistoryError, ReleaseError, TimeoutError) as exc:  # a sentence, not a traceback
        print(f"✗ {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
