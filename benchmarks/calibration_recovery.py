"""Recover known behaviour constants from simulated histories: how close, how often covered?

For each seed: simulate one replication's history of the baseline (recruitment off) under known
constants (``TRUTH``), calibrate the baseline with its default constants to that history
(:func:`incentsim.calibration.calibrate`), and compare. Prints per seed each estimated constant
(estimate, 90% interval, whether it covers the truth, whether the history identifies it), then
over seeds the median absolute relative error, and the coverage of the 90% intervals as a count
with its exact (Clopper-Pearson) 95% binomial interval, per constant and pooled; the median
relative error of re-simulated revenue per segment, and the CPU time (the machine is shared:
CPU, not wall, time) of each calibration.

    .venv/bin/python benchmarks/calibration_recovery.py                 # 1,000 partners, 3 seeds
    .venv/bin/python benchmarks/calibration_recovery.py --partners 2000 --seeds 1 2 3 4 5
    .venv/bin/python benchmarks/calibration_recovery.py --coverage      # 300 partners, 30 seeds

``--coverage`` is the longer study (30 histories of 300 partners, ~25 s of CPU each): enough
intervals (150) to tell a 90% coverage from the 67% of the first version (8 in 12).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

import incentsim
from incentsim.calibration import calibrate
from incentsim.montecarlo.history import simulate_history

ROOT = Path(__file__).resolve().parents[1]

#: The constants the histories are generated with.
TRUTH: dict[str, float] = {
    "churn_base": 0.03,
    "timing_friction": 0.01,
    "stuffing_return_rate": 0.6,
    "forecast_noise": 0.35,
    "mdf_claim_rate": 0.5,
}

#: Seeds and partners of the ``--coverage`` study.
COVERAGE_SEEDS: tuple[int, ...] = tuple(range(101, 131))
COVERAGE_PARTNERS: int = 300


def binomial_interval(hits: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval of a proportion ``hits / n``."""
    from scipy.stats import beta

    tail = (1.0 - level) / 2.0
    low = float(beta.ppf(tail, hits, n - hits + 1)) if hits > 0 else 0.0
    high = float(beta.ppf(1.0 - tail, hits + 1, n - hits)) if hits < n else 1.0
    return low, high


def coverage_line(covered: pd.Series) -> str:
    """``k/n covered (p%, 95% binomial interval lo-hi%)``."""
    hits, n = int(covered.sum()), len(covered)
    low, high = binomial_interval(hits, n)
    return f"{hits}/{n} covered ({hits / n:.0%}; 95% binomial interval {low:.0%}-{high:.0%})"


def recover(partners: int, seed: int, *, reps: int = 25, bootstrap: int = 200) -> pd.DataFrame:
    """One history and its calibration: a row per estimated constant (and CPU seconds)."""
    sets = [f"population.partners={partners}", "population.recruitment.per_period=0"]
    truth = [f"behaviour.{k}={v}" for k, v in TRUTH.items()]
    file = ROOT / "scenarios" / "baseline.yaml"
    history = simulate_history(incentsim.load_scenario(file, sets + truth), seed=seed)
    prior = incentsim.load_scenario(file, sets)
    began = time.process_time()
    result = calibrate(prior, history.transactions, reps=reps, bootstrap=bootstrap)
    seconds = time.process_time() - began
    revenue = result.moments.loc[[i for i in result.moments.index if i.startswith("revenue:")]]
    resim = float(np.median(revenue["simulated"] / revenue["observed"] - 1.0))
    rows = []
    for c in result.constants:
        true = TRUTH[c.name]
        rows.append(
            {
                "seed": seed,
                "constant": c.name,
                "truth": true,
                "estimate": c.estimate,
                "low": c.low,
                "high": c.high,
                "rel_error": c.estimate / true - 1.0,
                "covered": c.low <= true <= c.high,
                "identified": c.identified,
                "resim_revenue": resim,
                "cpu_seconds": seconds,
                "simulations": result.evaluations,
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=None, help="default 1,000 (300)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default 1 2 3")
    parser.add_argument("--reps", type=int, default=25)
    parser.add_argument(
        "--coverage",
        action="store_true",
        help=f"the coverage study: {len(COVERAGE_SEEDS)} seeds of {COVERAGE_PARTNERS} partners",
    )
    parser.add_argument("--csv", type=Path, help="also write every row to this CSV")
    args = parser.parse_args()
    if args.partners is None:
        args.partners = COVERAGE_PARTNERS if args.coverage else 1000
    if args.seeds is None:
        args.seeds = list(COVERAGE_SEEDS) if args.coverage else [1, 2, 3]
    frames = []
    for seed in args.seeds:
        frame = recover(args.partners, seed, reps=args.reps)
        frames.append(frame)
        if args.csv:
            pd.concat(frames).to_csv(args.csv, index=False)
        first = frame.iloc[0]
        print(
            f"seed {seed}: {args.partners} partners x 8 quarters, {first.simulations} simulations, "
            f"{first.cpu_seconds:.0f} s CPU; re-simulated revenue {first.resim_revenue:+.3f} "
            "(median over segments)"
        )
        for row in frame.itertuples():
            print(
                f"  {row.constant:<22} truth {row.truth:<6g} estimate {row.estimate:8.4g} "
                f"[{row.low:.4g}, {row.high:.4g}] error {row.rel_error:+.3f} "
                f"{'covered' if row.covered else 'MISSED '} "
                f"{'identified' if row.identified else 'not identified'}"
            )
    every = pd.concat(frames)
    print("over seeds:")
    for name, group in every.groupby("constant", sort=False):
        shown = group[group["identified"]]
        print(
            f"  {name:<22} identified in {len(shown)}/{len(group)}; median |rel error| "
            f"{group['rel_error'].abs().median():.3f} (identified only: "
            f"{shown['rel_error'].abs().median() if len(shown) else float('nan'):.3f}); "
            f"90% interval covers the truth in {group['covered'].mean():.0%}"
        )
    print(f"  CPU seconds per calibration: median {every['cpu_seconds'].median():.0f}")


if __name__ == "__main__":
    main()
