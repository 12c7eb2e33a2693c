"""Loyalty gives the right answer about paying late, rarely or less (domain notes, section 2,
items 10 and 11).

Loyalty moves at every period close with what the period earned, valued by how long the partner
waits for it and how much it trusts the vendor to pay; cuts and payouts later than announced cost
trust. Paying less often, later, or through a longer outage must therefore never raise loyalty
or retention, at any horizon. No study gives a firm size for these effects (Kumar, Scheer &
Steenkamp 1995 find procedural fairness weighs at least as much as the amount): the tests
assert directions, monotonicity and intervals, not magnitudes.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import pytest
from scipy import stats

from incentsim.engine.simulation import simulate_block
from incentsim.scenario.loader import load_scenario

REPS = 10


def outcomes(settings: Sequence[str], horizon: int) -> dict[str, np.ndarray]:
    scenario = load_scenario(
        "scenarios/baseline.yaml",
        ["population.partners=250", f"calendar.horizon_periods={horizon}", *settings],
    )
    return simulate_block(scenario, np.random.SeedSequence(99), REPS).outcomes


def upper(difference: np.ndarray) -> float:
    """Upper end of the 95% t-interval of a paired difference's mean."""
    half = stats.t.ppf(0.975, len(difference) - 1) * stats.sem(difference)
    return float(np.mean(difference) + half)


def assert_falls(series: list[dict[str, np.ndarray]], name: str) -> None:
    """Each step of ``series`` lowers ``name`` (paired over common random numbers)."""
    for before, after in pairwise(series):
        assert upper(after[name] - before[name]) < 0, name


@pytest.mark.parametrize("horizon", [4, 8])
def test_paying_less_often_lowers_loyalty_and_retention(horizon: int) -> None:
    series = [
        outcomes([f"program.budget.payout.cadence_periods={cadence}"], horizon)
        for cadence in (1, 2, 4)
    ]
    assert_falls(series, "loyalty_mean")
    assert upper(series[-1]["retention"] - series[0]["retention"]) < 0


@pytest.mark.parametrize("horizon", [4, 8])
def test_paying_later_lowers_loyalty_and_retention(horizon: int) -> None:
    series = [
        outcomes([f"program.budget.payout.delay_weeks={delay}"], horizon) for delay in (2, 8, 20)
    ]
    assert_falls(series, "loyalty_mean")
    assert upper(series[-1]["retention"] - series[0]["retention"]) < 0


def test_a_longer_payout_outage_lowers_loyalty_monotonically() -> None:
    def outage(weeks: int) -> list[str]:
        if weeks == 0:
            return []
        shock = f"{{kind: payout_outage, start_week: 14, duration_weeks: 13, magnitude: {weeks}}}"
        return [f"market.shocks=[{shock}]"]

    series = [outcomes(outage(weeks), 8) for weeks in (0, 4, 12)]
    assert_falls(series, "loyalty_mean")


def test_cuts_cost_trust_and_loyalty() -> None:
    ample = outcomes([], 8)
    tight = outcomes(["program.budget.per_period=1000000", "program.budget.reserve.initial=0"], 8)
    assert (tight["incentive_cut"] > 0).all()
    assert upper(tight["loyalty_mean"] - ample["loyalty_mean"]) < 0
