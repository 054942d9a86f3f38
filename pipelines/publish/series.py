"""The series of a release: every period in today's units, one methodology version, and what changed.

A release of period P carries, beside its own tables:

- ``trend.parquet`` / ``.csv``: for P and every earlier period published with
  the SAME methodology version (the latest release of each), per province:
  PCRI, rank, tier and each domain score (one column per domain code);
- ``trend_indicators.parquet`` / ``.csv``: the indicator values of those
  periods in long form, province rows and the national line (sums of the
  province counts; see ``targets.national_values``), as published (sensitive
  commune cells never enter: province rows only);
- ``targets.parquet`` / ``.csv``: the targets dashboard of P from that series
  (``pipelines/publish/targets.py``);
- ``equity_gaps.parquet`` / ``.csv``: indicators by group and their gaps
  (``pipelines/publish/equity.py``), when the warehouse is given;
- ``release_notes.md``: what changed against the previous version of P (cells
  changed, ranks moved, files added, removed or replaced) and, when the
  methodology version changed, Spearman's rank correlation between the old and
  the new ranking of the same provinces (and whether the inputs were the same).

The series of a year holds the years; that of a half-year, the years and the half-years up to it.
Periods published with another methodology version are left out of the series
and named in the notes: the series is always one method. A backfill
(``cri run --period 2019..2025``) recomputes them all with the current one.
The report sections read what ``report_context`` returns (plain dicts).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from pipelines.files import nfc_frame, sha256_file, write_csv, write_parquet, write_text
from pipelines.publish.published import column, decimals
from pipelines.publish.targets import NATIONAL_CODE, national_values, period_position, period_positions, targets_table

RELEASE_NOTES = "release_notes.md"
DASHBOARD = "dashboard.html"  # the report sections of this module on a page of their own (report.html has them too)
TREND_COLUMNS = ["period", "province_code", "province_name", "pcri", "rank", "tier"]
LONG_COLUMNS = ["period", "unit_level", "unit_code", "indicator_code", "numerator", "denominator", "value"]


# -- reading earlier releases ------------------------------------------------------------------------------
def _latest_folder(period_dir: Path) -> Path | None:
    from pipelines.publish.history import load_latest  # latest.json read one way (a cut file names no folder)

    latest, _ = load_latest(period_dir)
    if latest is None:
        return None
    folder = period_dir / str(latest.get("release", f"v{latest['version']}"))
    return folder if (folder / "manifest.json").is_file() else None


def _manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def earlier_releases(publish_dir: Path | str, period: str, version: str) -> tuple[dict[str, Path], dict[str, str]]:
    """Latest releases of the periods before ``period``: (same methodology version {period: folder},
    other version {period: that version})."""
    same, other = {}, {}
    root = Path(publish_dir)
    if not root.is_dir():
        return same, other
    now, yearly = period_position(period), "H" not in str(period)
    for period_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            position = period_position(period_dir.name)
        except ValueError:
            continue
        if yearly and "H" in period_dir.name:  # a yearly series holds years only; a half-year's, both
            continue
        folder = _latest_folder(period_dir) if position < now else None
        if folder is None:
            continue
        used = str(_manifest(folder).get("methodology", {}).get("version"))
        if used == version:
            same[period_dir.name] = folder
        else:
            other[period_dir.name] = used
    return same, other


# -- the series ---------------------------------------------------------------------------------------------
def trend_frames(period: str, tables: Mapping[str, pd.DataFrame], earlier: Mapping[str, Path], methodology
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(trend: one row per period and province; indicators: long form, provinces and national line)."""
    rankings, domains, values = [tables["province_ranking"]], [tables["domain_scores"]], [tables["indicator_values"]]
    for folder in earlier.values():
        rankings.append(pd.read_parquet(folder / "province_ranking.parquet"))
        domains.append(pd.read_parquet(folder / "domain_scores.parquet"))
        values.append(pd.read_parquet(folder / "indicator_values.parquet"))
    ranking = pd.concat([r[TREND_COLUMNS] for r in rankings], ignore_index=True)
    scores = pd.concat([d[["period", "province_code", "domain_code", "score"]] for d in domains], ignore_index=True)
    wide = scores.pivot_table(index=["period", "province_code"], columns="domain_code", values="score",
                              aggfunc="first", dropna=False)
    codes = [d.code for d in methodology.domains]
    wide = wide.reindex(columns=codes).reset_index()
    wide.columns.name = None
    trend = ranking.merge(wide, on=["period", "province_code"], how="left")
    trend = _by_period(trend, ["province_code"]).assign(methodology_version=methodology.version)
    long = pd.concat([v[v["unit_level"] == "province"] for v in values], ignore_index=True)
    long = long.assign(unit_code=long["unit_code"].astype(str))[LONG_COLUMNS]
    national = national_values(long, methodology)[LONG_COLUMNS]
    long = _by_period(pd.concat([national, long], ignore_index=True), ["indicator_code", "unit_level", "unit_code"])
    long["value"] = pd.to_numeric(long["value"], errors="coerce").astype("float64")
    return trend, long


def _by_period(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    order = period_positions(df["period"])
    return df.assign(_p=order).sort_values([*keys, "_p"]).drop(columns="_p").reset_index(drop=True)


# -- release notes ------------------------------------------------------------------------------------------
def _table_changes(old: Path, tables: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    """Indicator cells changed, added and removed since the release in ``old``, and the provinces whose rank moved
    (name, code, rank before, rank now; by rank now)."""
    new_values, old_values = tables["indicator_values"], pd.read_parquet(old / "indicator_values.parquet")
    key = ["unit_level", "unit_code", "indicator_code"]
    both = new_values.merge(old_values, on=key, how="outer", suffixes=("", "_old"), indicator=True)
    differs = ((both["value"] - both["value_old"]).abs() > 1e-9) | (both["value"].isna() != both["value_old"].isna())
    changed = both[(both["_merge"] == "both") & differs]
    old_rank = pd.read_parquet(old / "province_ranking.parquet")[["province_code", "rank"]]
    ranks = tables["province_ranking"][["province_code", "province_name", "rank"]].merge(
        old_rank, on="province_code", how="outer", suffixes=("", "_old"))
    moved = ranks[(ranks["rank"] != ranks["rank_old"]) & ~(ranks["rank"].isna() & ranks["rank_old"].isna())]
    return {"changed": len(changed), "added": int((both["_merge"] == "left_only").sum()),
            "removed": int((both["_merge"] == "right_only").sum()),
            "moves": [(r.province_name, r.province_code, _fmt(r.rank_old), _fmt(r.rank))
                      for r in moved.sort_values("rank").itertuples()]}


def _fmt(rank) -> str:
    return "–" if pd.isna(rank) else str(int(rank))


def _file_changes(old: Path, new: Path) -> dict[str, list[str]]:
    """The files added, removed and replaced since the release in ``old``."""
    before = {o["name"]: o["sha256"] for o in _manifest(old).get("outputs", [])}
    now = {p.relative_to(new).as_posix(): p for p in new.rglob("*") if p.is_file()}
    added = sorted(set(now) - set(before) - {RELEASE_NOTES})
    removed = sorted(set(before) - set(now) - {RELEASE_NOTES})  # written after this comparison
    # parquet files carry the release number in their metadata: their content is compared through the CSV
    replaced = sorted(n for n in set(now) & set(before)
                      if n.endswith(".csv") and sha256_file(now[n]) != before[n])
    return {"added": added, "removed": removed, "replaced": replaced}


def spearman(old: pd.DataFrame, new: pd.DataFrame) -> tuple[float | None, int]:
    """Spearman's rank correlation of the PCRI of the provinces ranked in both (value, provinces)."""
    from scipy.stats import spearmanr

    both = old[["province_code", "pcri"]].merge(new[["province_code", "pcri"]], on="province_code",
                                                suffixes=("_old", "_new")).dropna()
    if len(both) < 3:
        return None, len(both)
    return float(spearmanr(both["pcri_old"], both["pcri_new"]).statistic), len(both)


def release_notes(period: str, folder: Path, tables: Mapping[str, pd.DataFrame], previous: Path | None,
                  methodology, other_versions: Mapping[str, str], inputs: list[str] | None = None,
                  unmapped: Mapping[str, Any] | None = None) -> str:
    """The text of ``release_notes.md`` (``templates/release_notes.md``). ``inputs``: sha256 of this release's
    input files; ``unmapped``: the old communes the crosswalk cannot map (``unmapped_note``)."""
    context: dict[str, Any] = {"period": period, "methodology": methodology, "unmapped": unmapped,
                               "other_versions": sorted(other_versions.items()), "previous": None, "changed": None}
    if previous is not None:
        old_manifest = _manifest(previous)
        context.update(previous=previous.name, cells=_table_changes(previous, tables),
                       files=_file_changes(previous, folder))
        old_version = str(old_manifest.get("methodology", {}).get("version"))
        if old_version != methodology.version:
            rho, n = spearman(pd.read_parquet(previous / "province_ranking.parquet"), tables["province_ranking"])
            inputs_old = sorted(i.get("sha256") for i in old_manifest.get("inputs", []))
            same = "unknown" if inputs is None else "same" if sorted(inputs) == inputs_old else "differ"
            context["changed"] = {"old_version": old_version, "rho": rho, "n": n, "inputs": same}
    from pipelines.templating import render

    return render(TEMPLATES, "release_notes.md", **context)


# -- data dictionary ----------------------------------------------------------------------------------------
DICTIONARY_NAME = "dictionary_history.csv"


def dictionary_frame(built: Mapping[str, pd.DataFrame], methodology) -> pd.DataFrame:
    """One row per table and column of this module's tables, in Vietnamese with English beside it, and the
    decimals of its numbers in the CSV files (:mod:`pipelines.publish.published`)."""
    domains = {d.code: (d.name_vi, d.name_en) for d in methodology.domains}
    rows = []
    for name, df in built.items():
        places = decimals(name, df.columns)
        for c in df.columns:
            described = column(name, c)
            vi, en = (described.name_vi, described.name_en) if described else domains.get(c, (c, c))
            rows.append({"table": name, "column": c, "name_vi": vi, "name_en": en,
                         "decimals": str(places.get(c, ""))})
    return pd.DataFrame(rows)


# -- writing ------------------------------------------------------------------------------------------------
def _write_table(folder: Path, name: str, df: pd.DataFrame) -> None:
    df = nfc_frame(df.reset_index(drop=True))
    schema = pa.Schema.from_pandas(df, preserve_index=False)
    write_parquet(df, folder / f"{name}.parquet", schema, {"cri.table": name})
    types = {c: ("float64" if pd.api.types.is_float_dtype(df[c]) else
                 "int64" if pd.api.types.is_integer_dtype(df[c]) else None) for c in df.columns}
    write_csv(df, folder / f"{name}.csv", {k: v for k, v in types.items() if v}, decimals(name, df.columns))


def history_tables(period: str, tables: Mapping[str, pd.DataFrame], publish_dir: Path | str, methodology,
                   con=None) -> dict[str, pd.DataFrame]:
    """trend, trend_indicators, targets (and equity_gaps when ``con`` is given) for the release of ``period``."""
    earlier, _ = earlier_releases(publish_dir, period, methodology.version)
    trend, long = trend_frames(period, tables, earlier, methodology)
    out = {"trend": trend, "trend_indicators": long, "targets": targets_table(period, long, methodology)}
    if con is not None:
        from pipelines.publish.equity import equity_gaps

        out["equity_gaps"] = equity_gaps(con, period, methodology)
    return out


def history_writer(period: str, methodology, publish_dir: Path | str, con=None, shared: dict | None = None):
    """An extra writer of the release (``write_release(extra_writers=...)``): the tables of the module text.

    ``shared``: receives ``history_html``, the report's sections of the series, targets and equity.
    """
    publish_dir = Path(publish_dir)
    previous = _latest_folder(publish_dir / period)

    def history(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
        built = history_tables(period, tables, publish_dir, methodology, con)
        for name, df in built.items():
            _write_table(folder, name, df)
        write_csv(dictionary_frame(built, methodology), folder / DICTIONARY_NAME)
        context = report_context(tables, built, methodology, period)
        write_text(folder / DASHBOARD, render_sections({**context, "period": period}))
        if shared is not None:
            shared["history_html"] = render_sections({**context, "period": period}, "_history_sections.html.j2")
        _, other = earlier_releases(publish_dir, period, methodology.version)
        inputs = None
        if con is not None:
            from pipelines.publish.sources import read_input_files

            inputs = [i["sha256"] for i in read_input_files(con, period)]
        unmapped = None
        if con is not None:  # old communes the crosswalk cannot map, counted in their province only
            from pipelines.units.unmapped import unmapped_note

            unmapped = unmapped_note(con, period)
        write_text(folder / RELEASE_NOTES, release_notes(period, folder, tables, previous, methodology, other, inputs,
                                                         unmapped))

    return history


def report_context(tables: Mapping[str, pd.DataFrame], built: Mapping[str, pd.DataFrame], methodology,
                   period: str) -> dict[str, Any]:
    """What the report partials (_trend, _targets, _equity .html.j2) need, as plain dicts and lists."""
    from pipelines.publish.equity import equity_context
    from pipelines.publish.targets import TREND_NAMES, target_settings

    names = dict(zip(tables["province_ranking"]["province_code"], tables["province_ranking"]["province_name"]))
    names[NATIONAL_CODE] = "Toàn quốc / national"
    targets = built["targets"]
    year = 2025 if int(str(period)[:4]) <= 2025 else 2030
    grid = targets[targets["target_year"] == year]
    statuses = {s.code: {"name_vi": s.name_vi, "name_en": s.name_en, "colour": s.colour}
                for s in target_settings(methodology).statuses}
    cells = {(r.unit_code, r.indicator_code): {"value": _num(r.value), "status": r.status, "trend": r.trend,
                                               "arrow": TREND_NAMES.get(r.trend, ("", "", ""))[2]}
             for r in grid.itertuples()}
    indicators = [i for i in methodology.indicators if i.code in set(grid["indicator_code"])]
    units = [NATIONAL_CODE] + sorted(c for c in grid["unit_code"].unique() if c != NATIONAL_CODE)
    return {
        "trend": trend_context(built["trend"], names, methodology),
        "targets": {"target_year": year, "statuses": statuses, "trends": TREND_NAMES,
                    "indicators": [{"code": i.code, "name_vi": i.name_vi, "name_en": i.name_en} for i in indicators],
                    "rows": [{"unit_code": u, "name": names.get(u, u),
                              "cells": [cells.get((u, i.code)) for i in indicators]} for u in units]},
        "equity": equity_context(built.get("equity_gaps"), names, methodology),
    }


SPARK_W, SPARK_H = 160, 40


def trend_context(trend: pd.DataFrame, names: Mapping[str, str], methodology) -> dict[str, Any]:
    """Sparklines of each province's PCRI (0-100 on the vertical axis) and a slope chart of first and last rank."""
    periods = sorted(trend["period"].unique(), key=period_position)
    x = {p: (i * (SPARK_W - 4) / max(len(periods) - 1, 1)) + 2 for i, p in enumerate(periods)}
    provinces, slopes = [], []
    for code, g in trend.groupby("province_code", sort=True):
        g = g.set_index("period").reindex(periods)
        pts = [f"{x[p]:.1f},{SPARK_H - 2 - (SPARK_H - 4) * float(v) / 100:.1f}" for p, v in g["pcri"].items()
               if pd.notna(v)]
        pcri = g["pcri"].dropna()
        provinces.append({"code": code, "name": names.get(code, code), "points": " ".join(pts),
                          "first_pcri": f"{pcri.iloc[0]:.1f}" if len(pcri) else "–",
                          "last_pcri": f"{pcri.iloc[-1]:.1f}" if len(pcri) else "–",
                          "last_rank": None if pd.isna(g["rank"].iloc[-1]) else int(g["rank"].iloc[-1])})
        r1, r2 = g["rank"].iloc[0], g["rank"].iloc[-1]
        if pd.notna(r1) and pd.notna(r2):
            slopes.append({"name": names.get(code, code), "rank1": int(r1), "rank2": int(r2),
                           "y1": 10 + 12 * int(r1), "y2": 10 + 12 * int(r2),
                           "colour": "#2e7d32" if r2 < r1 else "#c62828" if r2 > r1 else "#777"})
    return {"periods": periods, "provinces": provinces, "slopes": slopes, "width": SPARK_W, "height": SPARK_H,
            "slope_height": 20 + 12 * (max((s["y1"] for s in slopes), default=0) // 12 + 1),
            "methodology": methodology.version}


TEMPLATES = Path(__file__).parent / "templates"


def render_sections(context: Mapping[str, Any], template: str = "dashboard.html.j2") -> str:
    """The HTML of the report sections (``_trend``, ``_targets``, ``_equity``) in a page of their own."""
    from pipelines.templating import render

    return render(TEMPLATES, template, **context)


def _num(v) -> float | None:
    return None if v is None or pd.isna(v) else float(v)
