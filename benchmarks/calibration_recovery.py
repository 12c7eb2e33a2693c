"""Recover known behaviour constants from simulated histories: how close, how often covered?

For each seed: simulate one replication's history of the baseline (recruitment off) under known
constants (``TRUTH``), calibrate the baseline with its default constants to that history
(:func:`incentsim.calibration.calibrate`), and compare. Prints per seed each estimated constant
(estimate, 90% interval, whether it covers the truth, whether the history identifies it), then
over seeds the median absolute relative error and the coverage of the identified constants,
the median relative error of re-simulated revenue per segment, and the CPU time (the machine
is shared: CPU, not wall, time) of each calibration.

    .venv/bin/python benchmarks/calibration_recovery.py                 # 1,000 partners, 3 seeds
    .venv/bin/python benchmarks/calibration_recovery.py --partners 2000 --seeds 1 2 3 4 5
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
}


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
    parser.add_argument("--partners", type=int, default=1000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--reps", type=int, default=25)
    args = parser.parse_args()
    frames = []
    for seed in args.seeds:
        frame = recover(args.partners, seed, reps=args.reps)
        frames.append(frame)
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
