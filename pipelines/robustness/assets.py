"""Rank robustness as a Dagster asset: after the scores and the publication gate, before publish.

The analysis of a period (Monte Carlo rank intervals, Sobol indices, internal
consistency, province profiles) is written to ``reports/<period>/robustness/``
with the run that produced it; the publish step of the same run copies it into
the release. The internal-consistency warnings are also computed by the
quality gate (``internal_consistency_check``) so they appear in the quality
report.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from pipelines.methodology import Methodology
from pipelines.ops.progress import say
from pipelines.partitions import period_partitions, run_metadata, run_periods, single_run
from pipelines.checks.catalogue import message
from pipelines.checks.core import WARNING, CheckResult
from pipelines.checks.keys import PUBLICATION_GATE
from pipelines.robustness import RobustnessInputError, analyse, load_uncertainty
from pipelines.robustness.consistency import consistency_checks
from pipelines.robustness.engine import IndexModel, nominal_evaluation
from pipelines.resources import MethodologyResource, SettingsResource, WarehouseResource
from pipelines.settings import Settings, get_settings

ROBUSTNESS_KEY = dg.AssetKey(["analysis", "rank_robustness"])
RUN_MARKER = "run.json"
RELEASE_FILES = ("rank_uncertainty.parquet", "rank_uncertainty.csv", "sensitivity.json", "consistency.json",
                 "province_profiles.json")


def province_inputs(con: duckdb.DuckDBPyConnection, period: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Province indicator values (long) and the published ranking of the period."""
    values = con.execute(
        "select unit_code as province_code, indicator_code, value from marts.fct_indicator_values "
        "where period = ? and unit_level = 'province'",
        [period],
    ).df()
    ranking = con.execute(
        "select province_code, province_name, rank from marts.fct_province_ranking where period = ?", [period]
    ).df()
    return values, ranking


def internal_consistency_check(con: duckdb.DuckDBPyConnection, period: str, m: Methodology) -> list[CheckResult]:
    """Correlations and Cronbach's alpha per domain, as quality warnings."""
    values, ranking = province_inputs(con, period)
    ranked = ranking.set_index("province_code")["rank"].notna()
    if ranked.sum() < 3:
        return [CheckResult(code="consistency.internal", severity=WARNING, passed=True, failures=0,
                            message=message("consistency.internal", "too_few", minimum=3),
                            asset="marts/fct_indicator_values", title_vi="Tính nhất quán nội tại của chỉ số")]
    settings = load_uncertainty(m)
    model = IndexModel.build(values, m, settings, ranked=ranked)
    warnings, _ = consistency_checks(model, nominal_evaluation(model), settings)
    if not warnings:
        return [CheckResult(code="consistency.internal", severity=WARNING, passed=True, failures=0,
                            message=message("consistency.internal", "passed"),
                            asset="marts/fct_indicator_values", title_vi="Tính nhất quán nội tại của chỉ số")]
    by_code: dict[str, list[dict]] = {}
    for w in warnings:
        by_code.setdefault(w["code"], []).append(w)
    codes = {code: code if code.startswith("consistency.") else f"consistency.{code.split('.')[-1]}"
             for code in by_code}
    return [
        CheckResult(
            code=codes[code], severity=WARNING, passed=False, failures=len(items),
            message=message(codes[code], "failed", n=len(items), warnings="; ".join(w["message"] for w in items[:3])),
            asset="marts/fct_indicator_values", title_vi=items[0].get("message_vi", "Tính nhất quán nội tại")[:120],
            examples=[{k: v for k, v in w.items() if k not in ("severity",)} for w in items[:20]],
        )
        for code, items in sorted(by_code.items())
    ]


def analysis_dir(period: str, settings: Settings | None = None) -> Path:
    return (settings or get_settings()).reports_period_dir(period) / "robustness"


def read_analysis(period: str, run_id: str, settings: Settings | None = None) -> tuple[Path, pd.DataFrame, dict]:
    """The analysis written by this run: folder, rank intervals and profiles."""
    folder = analysis_dir(period, settings)
    marker = folder / RUN_MARKER
    if not marker.exists() or json.loads(marker.read_text(encoding="utf-8")).get("run_id") != run_id:
        raise dg.Failure(description=(
            "Phân tích độ vững của thứ hạng chưa chạy trong lần chạy này / the rank robustness analysis did not "
            "run in this run: materialize the whole period"))
    uncertainty = pd.read_parquet(folder / "rank_uncertainty.parquet")
    profiles = json.loads((folder / "province_profiles.json").read_text(encoding="utf-8"))
    return folder, uncertainty, profiles


def copy_analysis(source: Path, folder: Path) -> None:
    for name in RELEASE_FILES:
        shutil.copyfile(source / name, folder / name)


@dg.asset(
    key=ROBUSTNESS_KEY,
    partitions_def=period_partitions,
    backfill_policy=single_run,
    # after the publication gate: a period blocked by its data is not analysed (Dagster skips this step)
    deps=[dg.AssetKey(["marts", "fct_indicator_values"]), dg.AssetKey(["marts", "fct_province_ranking"]),
          dg.AssetKey(PUBLICATION_GATE.split("/"))],
    group_name="analysis",
    kinds={"python", "numpy"},
    description=(
        "Độ vững của thứ hạng: khoảng thứ hạng (Monte Carlo), chỉ số độ nhạy Sobol, tính nhất quán nội tại và hồ sơ "
        "từng tỉnh.\n\nRank robustness: Monte Carlo rank intervals, Sobol sensitivity indices, internal consistency "
        "and a profile of each province, for the release."
    ),
)
def rank_robustness(context, settings: SettingsResource, methodology: MethodologyResource,
                    warehouse: WarehouseResource) -> dg.MaterializeResult:
    settings = settings.get()
    m = methodology.load()
    per_period = {period: _analyse_period(context, period, m, settings, warehouse) for period in run_periods(context)}
    return dg.MaterializeResult(metadata=run_metadata(per_period, labels_by_period="labels", folders="folder"))


def _analyse_period(context, period: str, m, settings, warehouse: WarehouseResource) -> dict:
    with warehouse.connect(read_only=True) as con:
        values, ranking = province_inputs(con, period)
    started = time.monotonic()
    say("analysis", f"rank intervals and sensitivity for {period}")
    try:
        result = analyse(values, m, ranking[["province_code", "rank"]], period=period)
    except RobustnessInputError as exc:  # a data problem (e.g. fewer than two provinces ranked): a sentence
        raise dg.Failure(description=(
            f"Không phân tích được độ vững của thứ hạng kỳ {period} / the rank robustness of {period} cannot be "
            f"analysed: {exc}. The quality gate names the cause (output.enough_ranked)")) from None
    folder = analysis_dir(period, settings)
    if folder.exists():
        shutil.rmtree(folder)
    result.write(folder)
    (folder / RUN_MARKER).write_text(json.dumps({"run_id": context.run_id, "period": period}), encoding="utf-8")
    seconds = time.monotonic() - started
    labels = result.rank_uncertainty["label"].value_counts().to_dict()
    say("analysis", f"{result.settings.runs} runs in {seconds:.1f}s: {labels}")
    table = result.rank_uncertainty.merge(ranking[["province_code", "province_name"]], on="province_code")
    return {
        "runs": result.settings.runs,
        "seconds": round(seconds, 2),
        "labels": dg.MetadataValue.json({k: int(v) for k, v in labels.items()}),
        "consistency_warnings": len(result.consistency),
        "folder": dg.MetadataValue.path(str(folder)),
        "preview": dg.MetadataValue.md(table.sort_values("nominal_rank").head(10).to_markdown(index=False)),
    }
