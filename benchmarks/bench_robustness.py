"""Time the robustness Monte Carlo on synthetic data: 34 provinces x 20 indicators.

    python benchmarks/bench_robustness.py [--repeat 3]

Prints, for 1,000 and 10,000 runs: the Monte Carlo alone (sampling + every
run's PCRI and ranks) and the whole ``analyse`` (Monte Carlo, Sobol design of
N x (choices + 2) runs, one-at-a-time alternatives, consistency, profiles),
best of ``--repeat``, with the peak memory traced during the call
(tracemalloc, which numpy reports its arrays to) and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.methodology import load_methodology  # noqa: E402
from pipelines.robustness import IndexModel, analyse, load_uncertainty  # noqa: E402
from pipelines.robustness.engine import monte_carlo  # noqa: E402
from pipelines.settings import DEFAULT_METHODOLOGY  # noqa: E402


def synthetic_values(methodology, provinces: int = 34, seed: int = 0) -> pd.DataFrame:
    """Values around the goalposts driven by one latent factor, a few missing, one outlier."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=provinces)
    cols = {}
    for ind in methodology.indicators:
        mid, half = (ind.goal_low + ind.goal_high) / 2, (ind.goal_high - ind.goal_low) / 2
        sign = 1.0 if ind.direction == "higher" else -1.0
        v = mid + half * (0.45 * sign * latent + 0.35 * rng.normal(size=provinces))
        cols[ind.code] = np.clip(v, ind.goal_low - 0.1 * half, ind.goal_high + 0.2 * half)
    df = pd.DataFrame(cols, index=[f"{i:02d}" for i in range(1, provinces + 1)])
    df.iloc[3, 2] = np.nan
    df.iloc[7, 10] = np.nan
    df.iloc[5, 0] = df.iloc[:, 0].max() * 4
    return df


def measure(fn, repeat: int) -> tuple[float, float]:
    """(best seconds, peak traced MiB of one call)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, peak / 2**20


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    methodology = load_methodology(DEFAULT_METHODOLOGY)
    values = synthetic_values(methodology)
    base = load_uncertainty(methodology)
    print(f"data: {values.shape[0]} provinces x {values.shape[1]} indicators; "
          f"Sobol design N = {base.sobol_base_samples}")
    print(f"{'runs':>7} {'monte carlo s':>14} {'peak MiB':>9} {'analyse s':>10} {'peak MiB':>9}")
    for runs in (1_000, 10_000):
        settings = dataclasses.replace(base, runs=runs)
        model = IndexModel.build(values, methodology, settings)
        model.score_table()  # the data variants are computed once per analysis

        mc_s, mc_mib = measure(lambda: monte_carlo(model, settings), args.repeat)
        an_s, an_mib = measure(lambda: analyse(values, methodology, settings=settings), args.repeat)
        print(f"{runs:>7,} {mc_s:>14.3f} {mc_mib:>9.1f} {an_s:>10.3f} {an_mib:>9.1f}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"process peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
