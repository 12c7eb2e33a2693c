"""A simulated program paying the largest amounts the schema allows keeps its money right: no
int64 cents wrap into a negative cost."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import incentsim
from incentsim.quantities import MAX_AMOUNT
from incentsim.scenario import load_scenario

SMALL = Path(__file__).resolve().parents[2] / "scenarios" / "small.yaml"


def test_rewards_at_the_bound_give_a_positive_finite_cost() -> None:
    scenario = load_scenario(
        SMALL,
        [
            "population.partners=30",
            "program.budget.per_period=null",
            "program.partner_cap=null",
            "program.milestones={every: {tier: registered, consecutive_periods: 1, "
            f"reward: {MAX_AMOUNT:.0f}}}}}",
        ],
    )
    result = incentsim.simulate(scenario, reps=2, progress=False)
    cost = result.outcomes["incentive_cost"].to_numpy()
    assert np.isfinite(cost).all()
    assert (cost > MAX_AMOUNT).all()  # some partner earned the reward, and nothing wrapped
