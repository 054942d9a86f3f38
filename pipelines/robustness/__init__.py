"""Robust, explained ranks: rank intervals, sensitivity, internal consistency, profiles.

One entry point::

    from pipelines.robustness import analyse
    result = analyse(values, methodology, nominal_ranking)
    result.write(release_dir)   # rank_uncertainty.parquet/.csv, sensitivity.json,
                                # consistency.json, province_profiles.json

``values``: raw indicator values, province x indicator (index or column
``province_code``, one column per indicator code of the methodology; NaN =
missing), or the long marts shape (``province_code``/``unit_code``,
``indicator_code``, ``value``). ``nominal_ranking``: the pipeline's ranking
(``province_code``, ``rank``; null rank = not ranked), optional: when given it
fixes who is ranked and the published nominal rank, and the engine's own
nominal ranking is checked against it (``robustness.nominal_mismatch``).

The uncertain choices come from the methodology's ``uncertainty:`` section over
the defaults in ``uncertainty-defaults.yaml`` (see :mod:`.config`). The nominal
run is the methodology's own method (normalisation, aggregation, missing data
dropped, no outlier treatment, all indicators, declared weights); the Monte
Carlo alternatives vary around it (see :mod:`.engine`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.files import write_csv
from pipelines.templating import render
from pipelines.robustness.config import (
    UncertaintyConfigError,
    UncertaintySettings,
    load_uncertainty,
    parse_uncertainty,
)
from pipelines.robustness.consistency import consistency_checks
from pipelines.robustness.engine import (
    Design,
    IndexModel,
    MonteCarloResult,
    RobustnessInputError,
    evaluate,
    monte_carlo,
    nominal_evaluation,
)
from pipelines.robustness.profiles import build_profiles
from pipelines.robustness.sensitivity import alternatives, sensitivity_report, sobol_indices

TEMPLATES = Path(__file__).with_name("templates")  # the sentences of the warnings

# the same words as the ranking report (pipelines/publish/report_data.py INTERVAL_LABELS_VI)
LABELS_VI = {
    "robust": "ổn định",
    "moderate": "tương đối ổn định",
    "sensitive": "nhạy với phương pháp",
}
RANK_UNCERTAINTY_COLUMNS = ["province_code", "nominal_rank", "median_rank", "p05_rank", "p95_rank",
                            "interval_width", "label", "label_vi"]
RANK_UNCERTAINTY_DECIMALS = {"median_rank": 1}  # in the CSV (the Parquet file keeps the full precision)


@dataclass
class RobustnessResult:
    rank_uncertainty: pd.DataFrame
    sensitivity: dict[str, Any]
    consistency: list[dict[str, Any]]
    profiles: dict[str, dict[str, Any]]
    consistency_tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    monte_carlo: MonteCarloResult | None = field(default=None, repr=False)
    settings: UncertaintySettings | None = field(default=None, repr=False)

    def write(self, directory: str | Path) -> dict[str, Path]:
        """Write the release files into ``directory``; returns name -> path."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "rank_uncertainty.parquet": out / "rank_uncertainty.parquet",
            "rank_uncertainty.csv": out / "rank_uncertainty.csv",
            "sensitivity.json": out / "sensitivity.json",
            "consistency.json": out / "consistency.json",
            "province_profiles.json": out / "province_profiles.json",
        }
        self.rank_uncertainty.to_parquet(paths["rank_uncertainty.parquet"], index=False)
        # UTF-8 with BOM, CRLF, text guarded against formulas, like every CSV of a release
        write_csv(self.rank_uncertainty, paths["rank_uncertainty.csv"], decimals=RANK_UNCERTAINTY_DECIMALS)
        _dump(self.sensitivity, paths["sensitivity.json"])
        _dump({"warnings": self.consistency,
               "tables": {k: v.to_dict(orient="records") for k, v in self.consistency_tables.items()}},
              paths["consistency.json"])
        _dump(self.profiles, paths["province_profiles.json"])
        return paths


def _plain(obj: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN/inf to null."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_plain(v) for v in obj.tolist()]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        x = float(obj)
        return None if math.isnan(x) or math.isinf(x) else x
    if isinstance(obj, np.bool_):
        return bool(obj)
    if obj is pd.NA:
        return None
    return obj


def _dump(obj: Any, path: Path) -> None:
    path.write_text(json.dumps(_plain(obj), ensure_ascii=False, indent=2, allow_nan=False) + "\n",
                    encoding="utf-8")


def label(width: int, median: float, nominal: float, settings: UncertaintySettings) -> str:
    """robust | moderate | sensitive, from the interval width (p95 - p05) and the median's distance to nominal."""
    if width > settings.sensitive_min_span:
        return "sensitive"
    if width <= settings.robust_max_span and abs(median - nominal) <= settings.robust_median_within:
        return "robust"
    return "moderate"


def rank_uncertainty_table(mc: MonteCarloResult, nominal_ranks: np.ndarray,
                           settings: UncertaintySettings) -> pd.DataFrame:
    """Per ranked province: nominal, median, p05, p95 rank, width = p95 - p05, label.

    p05 and p95 are ranks observed in the runs (``inverted_cdf`` percentiles);
    the median is the ordinary median (may end in .5).
    """
    lo, hi = settings.percentiles
    ranks = mc.ranks
    p05 = np.percentile(ranks, lo, axis=0, method="inverted_cdf").astype(int)
    p95 = np.percentile(ranks, hi, axis=0, method="inverted_cdf").astype(int)
    median = np.median(ranks, axis=0)
    width = p95 - p05
    labels = [label(int(w), float(m), float(n), settings) for w, m, n in zip(width, median, nominal_ranks)]
    return pd.DataFrame({
        "province_code": list(mc.provinces),
        "nominal_rank": pd.array(nominal_ranks.astype(int), dtype="Int64"),
        "median_rank": median.astype(float),
        "p05_rank": pd.array(p05, dtype="Int64"),
        "p95_rank": pd.array(p95, dtype="Int64"),
        "interval_width": pd.array(width, dtype="Int64"),
        "label": labels,
        "label_vi": [LABELS_VI[x] for x in labels],
    }, columns=RANK_UNCERTAINTY_COLUMNS)


def _published(nominal_ranking: pd.DataFrame | None) -> tuple[pd.Series | None, dict[str, str] | None]:
    if nominal_ranking is None:
        return None, None
    df = nominal_ranking
    if "province_code" not in df.columns:
        df = df.reset_index()
    if "province_code" not in df.columns or "rank" not in df.columns:
        raise RobustnessInputError("nominal_ranking needs the columns province_code and rank")
    df = df.assign(province_code=df["province_code"].astype(str))
    ranks = pd.to_numeric(df.set_index("province_code")["rank"], errors="coerce")
    names = None
    if "province_name" in df.columns:
        names = dict(zip(df["province_code"], df["province_name"].astype(str)))
    return ranks, names


def analyse(values: pd.DataFrame, methodology: Any, nominal_ranking: pd.DataFrame | None = None, *,
            settings: UncertaintySettings | None = None, peers: pd.Series | dict | None = None,
            period: str | None = None) -> RobustnessResult:
    """Rank intervals, Sobol sensitivity, internal consistency and profiles for one period.

    ``settings`` overrides the methodology's ``uncertainty:`` section (tests, benchmarks);
    ``peers`` (province_code -> group) defines the peers of the ``peer_median`` fill
    (default: all provinces); ``period`` picks the national target year of the profiles.
    """
    settings = settings or load_uncertainty(methodology)
    published, names = _published(nominal_ranking)
    model = IndexModel.build(values, methodology, settings, peers=peers,
                             ranked=None if published is None else published.notna())
    nominal = nominal_evaluation(model)
    engine_nominal = nominal.ranks[0]
    mc = monte_carlo(model, settings)

    warnings: list[dict[str, Any]] = []
    nominal_ranks = engine_nominal
    if published is not None:
        pub = np.array([published.get(p) for p in model.ranked_provinces], dtype=float)
        differ = [(p, int(a), int(b)) for p, a, b in zip(model.ranked_provinces, pub, engine_nominal) if a != b]
        if differ:
            warnings.append({
                "code": "robustness.nominal_mismatch", "severity": "warning",
                "message": render(TEMPLATES, "nominal_mismatch_en.txt", differ=differ).strip(),
                "message_vi": render(TEMPLATES, "nominal_mismatch_vi.txt", differ=differ).strip(),
                "provinces": [p for p, _, _ in differ],
            })
        nominal_ranks = pub.astype(int)

    rank_table = rank_uncertainty_table(mc, nominal_ranks, settings)
    sobol = sobol_indices(model, settings, engine_nominal)
    alt_rows, largest_shift = alternatives(model, settings, engine_nominal)
    version = getattr(methodology, "version", None)
    sens = sensitivity_report(model, settings, mc, sobol, alt_rows, methodology_version=version)
    consistency, tables = consistency_checks(model, nominal, settings)
    profiles = build_profiles(model, methodology, nominal, rank_table, sobol.per_province_total, largest_shift,
                              settings, period=period, names=names)
    return RobustnessResult(
        rank_uncertainty=rank_table,
        sensitivity=_plain(sens),
        consistency=_plain(warnings + consistency),
        profiles=_plain(profiles),
        consistency_tables=tables,
        monte_carlo=mc,
        settings=settings,
    )


__all__ = [
    "Design", "IndexModel", "LABELS_VI", "MonteCarloResult", "RobustnessInputError", "RobustnessResult",
    "UncertaintyConfigError", "UncertaintySettings", "analyse", "evaluate", "label", "load_uncertainty",
    "monte_carlo", "parse_uncertainty", "rank_uncertainty_table",
]
