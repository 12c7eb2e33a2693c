"""Diagnostic for ``predict_check.py``: does the calibrated population's lack of the truth's
per-partner loyalty (or other hidden traits) move the prediction?

A transactions history shows no loyalty, so ``partner_table`` cannot carry it and a calibrated
population draws it from the prior. This script calibrates as ``predict_check.py`` does (the
calibration is cached in ``/tmp``), then predicts program B three ways: as the calibration
leaves it (fresh draws), with the truth's own initial loyalty per partner, and with all the
truth's hidden traits; the oracle cases refit capacity with those traits in place. Replacing
the traits patches ``build_partners`` in the engine: a diagnostic, not a feature.

    .venv/bin/python benchmarks/_oracle_traits.py [PARTNERS]
"""

from __future__ import annotations

import dataclasses
import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import predict_check as check

import incentsim
import incentsim.engine.simulation as engine
from incentsim.calibration import calibrate
from incentsim.montecarlo.capacity import calibrate_capacity
from incentsim.montecarlo.history import _history, _simulated
from incentsim.montecarlo.resources import block_size_for
from incentsim.montecarlo.seeding import BLOCK_SIZE, block_seeds, fresh_seed
from incentsim.population import sample

SEED = 1
HIDDEN = (
    "initial_loyalty",
    "responsiveness",
    "myopia",
    "gaming_propensity",
    "fairness_sensitivity",
    "outside_option",
    "win_rate",
    "deal_size",
    "deal_cycle_weeks",
    "new_logo_share",
    "co_sell_share",
)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    sets = [f"population.partners={n}", "population.recruitment.per_period=0"]
    truth_sets = sets + [f"behaviour.{k}={v}" for k, v in check.TRUTH.items()]
    truth = incentsim.load_scenario(check.ROOT / "scenarios" / "baseline.yaml", truth_sets)
    prior = incentsim.load_scenario(check.ROOT / "scenarios" / "baseline.yaml", sets)
    file_b = check.ROOT / "scenarios" / "variant_richer_rebates.yaml"
    program_b = incentsim.load_scenario(file_b, sets).program
    recorder, partners, r, rng = _simulated(truth, SEED, 0)
    history = _history(truth, recorder, partners, r, rng)
    block = block_seeds(SEED, block_size_for(truth), block_size_for(truth))[0]
    true_a = check.outcomes(truth, block.seed, block.reps).iloc[0]
    actual = check.outcomes(check.under(truth, program_b), block.seed, block.reps).iloc[0]
    actual["revenue_change"] = actual["revenue_net"] - true_a["revenue_net"]
    actual["cost_change"] = actual["incentive_cost"] - true_a["incentive_cost"]
    cache = Path(tempfile.gettempdir()) / f"predict-check-fitted-{n}.pkl"
    if cache.exists():
        fitted = pickle.loads(cache.read_bytes())
    else:
        fitted = calibrate(prior, history.transactions, reps=BLOCK_SIZE, bootstrap=200)
        cache.write_bytes(pickle.dumps(fitted))
    ids = pd.Index(partners.partner_id)
    original = sample.build_partners

    def with_traits(traits: tuple[str, ...]):  # type: ignore[no-untyped-def]
        def build(population, calendar, rng, reps, source_path=None):  # type: ignore[no-untyped-def]
            drawn = original(population, calendar, rng, reps, source_path)
            if population.source is None:
                return drawn
            rows = ids.get_indexer(pd.read_csv(population.source)["partner_id"])
            update = {}
            for name in traits:
                values = getattr(drawn, name).copy()
                values[:, : len(rows)] = getattr(partners, name)[0][rows]
                update[name] = values
            return dataclasses.replace(drawn, **update)

        return build

    for label, traits in (
        ("fresh draws (as calibrated)", ()),
        ("the truth's initial loyalty", ("initial_loyalty",)),
        ("all the truth's hidden traits", HIDDEN),
    ):
        engine.build_partners = with_traits(traits) if traits else original
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "partners.csv"
            fitted.partners.to_csv(path, index=False, na_rep="")
            base = check.with_partners(fitted.scenario, path)
            if traits:
                fitted.partners.drop(columns="capacity").to_csv(path, index=False, na_rep="")
                refit = calibrate_capacity(base, reps=BLOCK_SIZE, seed=fresh_seed(SEED, 2))
                refit.to_csv(path, index=False, na_rep="")
            seeds = fresh_seed(SEED, 11).spawn(check.DRAWS)
            rows = np.linspace(0, len(fitted.draws) - 1, check.DRAWS).astype(int)
            frames = []
            for row, seed in zip(rows, seeds, strict=True):
                values = fitted.draws.drop(columns="draw").iloc[row].to_dict()
                behaviour = base.behaviour.model_copy(update=values)
                drawn = base.model_copy(update={"behaviour": behaviour})
                frames.append(check.paired(drawn, program_b, [seed], BLOCK_SIZE))
        engine.build_partners = original
        predicted = pd.concat(frames, ignore_index=True)
        print(f"== {label}")
        for name in actual.index:
            v, true = predicted[name], float(actual[name])
            median = v.median()
            print(
                f"  {name:<16} truth {true:>12.4g} predicted {median:>12.4g} "
                f"[{v.quantile(0.05):.4g}, {v.quantile(0.95):.4g}] "
                f"error {(median - true) / abs(true):+.1%}"
            )


if __name__ == "__main__":
    main()
