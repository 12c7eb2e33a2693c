"""Predict-then-check: calibrate on a history under program A, predict program B, compare.

1. **Truth**: ``scenarios/baseline.yaml`` (recruitment off) with behaviour constants away from
   their defaults (:data:`TRUTH`) simulates one history under its own program A
   (:func:`~incentsim.montecarlo.history.simulate_history`, replication 0 of the seed).
2. **Calibrate** the baseline with its default constants to that history
   (:func:`incentsim.calibration.calibrate`).
3. **Predict** the same periods under program B (``scenarios/variant_richer_rebates.yaml``:
   every tier's rebate 1.5 times as high) and again under A, over the history's partners:
   with the calibrated model (its fitted partners; :data:`DRAWS` parameter draws, one block of
   fresh seeds each, A and B on common random numbers) and with the uncalibrated default
   model (the history's partners as a partner file, ``capacity`` from the file's
   ``mean / 13 / 0.5`` rule, default constants; as many replications).
4. **Check** against the truth under B: the true constants and the very partners and market
   of the history (the same seed: replication 0 with program B; replication 0 with program A is
   the history itself).

Prints per outcome (net revenue, incentive cost, its change from A to B, mean loyalty at the
end, retention, partners lost) the truth, each model's median prediction with its 5-95%
interval over replications and draws, the error of each, and whether the truth falls in the
calibrated interval; then the calibrated constants. The truth is one realisation: its own
noise (demand, partners' draws) is part of what the interval has to cover.

    .venv/bin/python benchmarks/predict_check.py                  # 300 partners, ~4 min of CPU
    .venv/bin/python benchmarks/predict_check.py --truth effort_elasticity=3  # unestimated
    .venv/bin/python benchmarks/predict_check.py --partners 1000 --seed 2
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

import incentsim
from incentsim.calibration import calibrate
from incentsim.engine.simulation import simulate_block
from incentsim.montecarlo.history import partner_table, simulate_history
from incentsim.montecarlo.resources import block_size_for
from incentsim.montecarlo.seeding import BLOCK_SIZE, block_seeds, fresh_seed

if TYPE_CHECKING:
    from incentsim.program.spec import Program
    from incentsim.scenario.model import Scenario

ROOT = Path(__file__).resolve().parents[1]

#: The constants the truth is simulated with (defaults: churn 0.02 a quarter, friction 0.02,
#: noise 0.25): three the calibration estimates.
TRUTH: dict[str, float] = {
    "churn_base": 0.05,
    "timing_friction": 0.01,
    "forecast_noise": 0.4,
}

#: Parameter draws of the calibrated prediction (one block of replications each).
DRAWS: int = 4

#: The compared outcomes: the engine's name, what it is called here.
OUTCOMES: dict[str, str] = {
    "revenue_net": "net revenue",
    "incentive_cost": "incentive cost",
    "loyalty_mean": "loyalty at the end",
    "retention": "retention",
    "churned": "partners lost",
}


def outcomes(scenario: Scenario, seed: np.random.SeedSequence, reps: int) -> pd.DataFrame:
    """The compared outcomes of one block, a row per replication."""
    result = simulate_block(scenario, seed, reps)
    return pd.DataFrame({name: result.outcomes[name] for name in OUTCOMES})


def under(scenario: Scenario, program: Program) -> Scenario:
    """``scenario`` with ``program`` in force."""
    return scenario.model_copy(update={"program": program})


def paired(
    scenario: Scenario, program_b: Program, seeds: list[np.random.SeedSequence], reps: int
) -> pd.DataFrame:
    """Outcomes under A (the scenario's program) and B on common random numbers: columns
    ``<outcome>`` (under B) and ``cost_change`` and ``revenue_change`` (B minus A)."""
    frames = []
    for seed in seeds:
        a = outcomes(scenario, seed, reps)
        b = outcomes(under(scenario, program_b), seed, reps)
        b["revenue_change"] = b["revenue_net"] - a["revenue_net"]
        b["cost_change"] = b["incentive_cost"] - a["incentive_cost"]
        frames.append(b)
    return pd.concat(frames, ignore_index=True)


def with_partners(scenario: Scenario, path: Path) -> Scenario:
    """``scenario`` over the partner file at ``path``."""
    population = scenario.population.model_copy(
        update={"source": str(path), "partners": len(pd.read_csv(path))}
    )
    return scenario.model_copy(update={"population": population})


def check(
    partners: int, seed: int, true_constants: dict[str, float], *, reps: int, bootstrap: int
) -> None:
    """Run the four steps and print the comparison."""
    sets = [f"population.partners={partners}", "population.recruitment.per_period=0"]
    truth_sets = sets + [f"behaviour.{k}={v}" for k, v in true_constants.items()]
    file_a = ROOT / "scenarios" / "baseline.yaml"
    file_b = ROOT / "scenarios" / "variant_richer_rebates.yaml"
    truth = incentsim.load_scenario(file_a, truth_sets)
    prior = incentsim.load_scenario(file_a, sets)
    program_b = incentsim.load_scenario(file_b, sets).program

    began = time.process_time()
    history = simulate_history(truth, seed=seed)
    block = block_seeds(seed, block_size_for(truth), block_size_for(truth))[0]
    true_a = outcomes(truth, block.seed, block.reps).iloc[0]
    true_b = outcomes(under(truth, program_b), block.seed, block.reps).iloc[0]
    actual = true_b.copy()
    actual["revenue_change"] = true_b["revenue_net"] - true_a["revenue_net"]
    actual["cost_change"] = true_b["incentive_cost"] - true_a["incentive_cost"]
    truth_seconds = time.process_time() - began

    began = time.process_time()
    fitted = calibrate(prior, history.transactions, reps=reps, bootstrap=bootstrap)
    calibrate_seconds = time.process_time() - began

    began = time.process_time()
    seeds = fresh_seed(seed, 11).spawn(DRAWS)
    with tempfile.TemporaryDirectory(prefix="predict-check-") as folder:
        calibrated_file = Path(folder) / "calibrated.csv"
        fitted.partners.to_csv(calibrated_file, index=False, na_rep="")
        base = with_partners(fitted.scenario, calibrated_file)
        rows = np.linspace(0, len(fitted.draws) - 1, DRAWS).astype(int)
        frames = []
        for row, draw_seed in zip(rows, seeds, strict=True):
            values = fitted.draws.drop(columns="draw").iloc[row].to_dict()
            drawn = base.model_copy(update={"behaviour": base.behaviour.model_copy(update=values)})
            frames.append(paired(drawn, program_b, [draw_seed], BLOCK_SIZE))
        calibrated = pd.concat(frames, ignore_index=True)
        default_file = Path(folder) / "default.csv"
        partner_table(history.transactions, truth.calendar).to_csv(
            default_file, index=False, na_rep=""
        )
        default = paired(with_partners(prior, default_file), program_b, seeds, BLOCK_SIZE)
    predict_seconds = time.process_time() - began

    names = {**OUTCOMES, "revenue_change": "revenue change A->B", "cost_change": "cost change A->B"}
    order = ["revenue_net", "revenue_change", "incentive_cost", "cost_change"]
    order += ["loyalty_mean", "retention", "churned"]
    print(
        f"{partners} partners x {truth.calendar.horizon_periods} quarters, seed {seed}; "
        f"A: {file_a.name}, B: {file_b.name}; truth {true_constants}"
    )
    print(
        f"CPU seconds: truth {truth_seconds:.0f}, calibration {calibrate_seconds:.0f} "
        f"({fitted.evaluations} simulations), predictions {predict_seconds:.0f} (shared machine)"
    )
    header = f"{'outcome (under B)':<22}{'truth':>14}  {'calibrated [5%, 95%]':<40}{'error':>8}"
    print(f"{header}  in  {'default [5%, 95%]':<40}{'error':>8}")
    hits = 0
    for name in order:
        true = float(actual[name])
        line = f"{names[name]:<22}{true:>14,.4g}  "
        errors = []
        for frame in (calibrated, default):
            values = frame[name]
            median, low, high = values.median(), values.quantile(0.05), values.quantile(0.95)
            error = (median - true) / abs(true) if true else median - true
            errors.append(error)
            cell = f"{median:,.4g} [{low:,.4g}, {high:,.4g}]"
            line += f"{cell:<40}{error:>+8.1%}"
            if frame is calibrated:
                inside = low <= true <= high
                hits += inside
                line += f"  {'yes' if inside else 'NO '} "
        print(line)
    print(f"truth inside the calibrated 90% interval: {hits} of {len(order)}")
    print("estimated constants:")
    for c in fitted.constants:
        true = true_constants.get(c.name, c.prior)
        verdict = "identified" if c.identified else f"not identified: uses the prior {c.prior:g}"
        print(
            f"  {c.name:<22} estimate {c.estimate:.4g} [{c.low:.4g}, {c.high:.4g}] {verdict} "
            f"(truth {true:g})"
        )
    for name, (value, *_) in fitted.unidentified.items():
        if name in true_constants:
            print(f"  {name:<22} {value:.4g} not estimated (truth {true_constants[name]:g})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reps", type=int, default=BLOCK_SIZE, help="calibration replications")
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument(
        "--truth",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="more true behaviour constants, or other values (e.g. effort_elasticity=3)",
    )
    args = parser.parse_args()
    true_constants = dict(TRUTH)
    for item in args.truth:
        name, _, value = item.partition("=")
        true_constants[name] = float(value)
    check(args.partners, args.seed, true_constants, reps=args.reps, bootstrap=args.bootstrap)


if __name__ == "__main__":
    main()
