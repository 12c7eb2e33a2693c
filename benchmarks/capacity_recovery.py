"""Re-simulate a population from its own history: how close is its revenue?

For each scenario and seed: simulate one replication's history (recruitment off), turn it into
a partner file (``partner_table``), load it as real partners and re-simulate 25 replications
on fresh seeds, then compare each partner's mean simulated revenue over the horizon with its
history. Twice: with capacity inferred as ``mean / weeks_per_period / 0.5`` (the partner file's
default) and with :func:`incentsim.montecarlo.capacity.calibrate_capacity`. Prints the median
relative error over partners (and its IQR), the median absolute error, the error of the total,
and the median per segment; CPU time of the calibration.

    .venv/bin/python benchmarks/capacity_recovery.py                 # baseline, seeds 1-3 (~1 min)
    .venv/bin/python benchmarks/capacity_recovery.py --scenario small --seeds 1
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

import incentsim
from incentsim.engine.simulation import simulate_block
from incentsim.montecarlo.capacity import calibrate_capacity
from incentsim.montecarlo.history import SimulatedHistory, partner_table, simulate_history
from incentsim.montecarlo.seeding import block_seeds
from incentsim.scenario.model import Scenario

ROOT = Path(__file__).resolve().parents[1]
REPS = 25


def errors(scenario: Scenario, history: SimulatedHistory, seed: int) -> pd.Series:
    """Relative error of each partner's mean re-simulated revenue against its history."""
    result = simulate_block(scenario, block_seeds(seed + 1000, REPS)[0].seed, REPS, panel=True)
    assert result.panel is not None
    resim = result.panel.groupby("partner_id")["revenue"].sum() / REPS
    booked = history.revenue.sum(axis=1)
    booked = booked[booked > 0]
    return resim.reindex(booked.index) / booked - 1.0


def line(label: str, rel: pd.Series, total: float, segment: pd.Series) -> str:
    by_segment = " ".join(f"{k} {v:+.3f}" for k, v in rel.groupby(segment).median().items())
    return (
        f"  {label:<22} median {rel.median():+.3f} (IQR {rel.quantile(0.25):+.3f}.."
        f"{rel.quantile(0.75):+.3f}), median |error| {rel.abs().median():.3f}, "
        f"total {total:+.3f}; by segment: {by_segment}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    scenario_file = ROOT / "scenarios" / f"{args.scenario}.yaml"
    sets = ["population.recruitment.per_period=0"]
    drawn = incentsim.load_scenario(scenario_file, sets)
    with tempfile.TemporaryDirectory() as folder:
        for seed in args.seeds:
            history = simulate_history(drawn, seed=seed)
            table = partner_table(history.transactions, drawn.calendar)
            segment = table.set_index("partner_id")["segment"]
            path = Path(folder) / f"partners-{seed}.csv"
            table.to_csv(path, index=False)
            source = [f"population.source={path}", f"population.partners={len(table)}"]
            real = incentsim.load_scenario(scenario_file, sets + source)
            print(f"{args.scenario}, seed {seed}: {len(table)} partners")
            for label in ("mean / weeks / 0.5", "calibrated"):
                if label == "calibrated":
                    began = time.process_time()
                    fitted = calibrate_capacity(real, rounds=args.rounds)
                    seconds = time.process_time() - began
                    path = Path(folder) / f"calibrated-{seed}.csv"
                    fitted.to_csv(path, index=False)
                    source[0] = f"population.source={path}"
                    real = incentsim.load_scenario(scenario_file, sets + source)
                    label = f"calibrated ({seconds:.1f} s CPU)"
                rel = errors(real, history, seed)
                booked = history.revenue.sum(axis=1)
                total = float((rel + 1.0).mul(booked.reindex(rel.index)).sum() / booked.sum() - 1)
                print(line(label, rel, total, segment.reindex(rel.index)))


if __name__ == "__main__":
    main()
