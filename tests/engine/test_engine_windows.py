"""A monthly bonus inside a quarterly program: partners play the period-end timing games at the
end of every bonus window (domain notes section 2.3).

Oyer (1998) and Larkin (2014) find deals pulled into the last weeks of incentive periods under
nonlinear schedules, at a price discount the vendor pays, and Owan, Tsuru & Uehara (2015) find
car dealers bunching sales at the end of each month under monthly stair-step bonuses; linear
schedules are immune. ``scenarios/monthly_bonus.yaml`` pays 400 plus 1% of a 4-week window's
revenue when it reaches 12,000; it is run here against the same program without the bonus, and
with a linear window bonus (threshold 0: 1% of every window's revenue), on the same random
numbers.

Measured (12 replications of 400 partners, seed 5): the share of a window's revenue booked in
its last week, for the two windows that end inside the quarter (weeks 4 and 8; uniform is 25%),
is 0.79 points higher with the bonus (standard error 0.15; 0.38 before the window took a
month's uncertainty and loaded stock at its end, ``test_engine_window_games.py``), and 0.21
points higher (standard error 0.15) with the linear bonus; pull-forward discounts cost the
vendor 5.6 times as much with the bonus. The baseline's short deal cycles leave little to
move: its quarter ends are as mild (7.8% of a quarter in its last week against a uniform
7.7%).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from incentsim.engine.simulation import BlockResult, Simulation, draw_partners_and_market
from incentsim.scenario.loader import load_scenario

REPS = 12
PARTNERS = 400
WEEKS = 13
#: The windows that end inside the quarter: (first week, length).
INNER_WINDOWS = ((0, 4), (4, 4))
LINEAR = "program.bonuses={monthly: {horizon_weeks: 4, threshold: 0, rate: 0.01}}"
RICHER = "program.bonuses={monthly: {horizon_weeks: 4, threshold: 12000, reward: 800, rate: 0.01}}"


def run(settings: Sequence[str]) -> BlockResult:
    scenario = load_scenario(
        "scenarios/monthly_bonus.yaml", [f"population.partners={PARTNERS}", *settings]
    )
    population, market, own = np.random.SeedSequence(5).spawn(3)
    partners, path = draw_partners_and_market(scenario, population, market, REPS)
    return Simulation(scenario, partners, path, np.random.default_rng(own)).run()


def last_week_share(result: BlockResult) -> np.ndarray:
    """Per replication, the share of the inner windows' revenue booked in their last weeks,
    averaged over the two windows."""
    weeks = result.trajectories["weekly_revenue"].reshape(REPS, -1, WEEKS)
    shares = [
        weeks[:, :, start + length - 1].sum(axis=1)
        / weeks[:, :, start : start + length].sum((1, 2))
        for start, length in INNER_WINDOWS
    ]
    return np.mean(shares, axis=0)


@pytest.fixture(scope="module")
def runs() -> dict[str, BlockResult]:
    return {
        "bonus": run([]),
        "none": run(["program.bonuses={}"]),
        "linear": run([LINEAR]),
        "richer": run([RICHER]),
    }


def test_deals_bunch_at_the_end_of_each_window(runs: dict[str, BlockResult]) -> None:
    """The last-week share of the windows ending inside the quarter rises by 0.2-2 points
    with the bonus (measured 0.79), against a uniform 25%."""
    without = last_week_share(runs["none"])
    assert 0.245 < without.mean() < 0.255
    lift = last_week_share(runs["bonus"]) - without
    assert 0.002 < lift.mean() < 0.02
    # Decisive: more than three standard errors over the replications.
    assert lift.mean() > 3 * lift.std(ddof=1) / np.sqrt(REPS)


def test_a_linear_window_bonus_causes_no_bunching(runs: dict[str, BlockResult]) -> None:
    """Linear schedules are immune (Oyer 1998): 1% of every window's revenue moves the
    last-week share by no more than its noise, under 0.3 points (measured 0.21, standard error
    0.15), well below the bonus's lift (0.79)."""
    without = last_week_share(runs["none"])
    linear = last_week_share(runs["linear"]) - without
    bonus = last_week_share(runs["bonus"]) - without
    noise = linear.std(ddof=1) / np.sqrt(REPS)
    assert abs(linear.mean()) < min(3 * noise, 0.003)
    assert bonus.mean() > linear.mean() + 0.0015


def test_pulled_deals_cost_the_vendor_discounts(runs: dict[str, BlockResult]) -> None:
    """Deals pulled into each window's end are paid for with discounts (Larkin 2014): 3-10
    times the discount cost without the bonus (measured 5.6)."""
    ratio = runs["bonus"].outcomes["discount_cost"].mean() / (
        runs["none"].outcomes["discount_cost"].mean()
    )
    assert 3.0 < ratio < 10.0


def test_the_bonus_moves_cost(runs: dict[str, BlockResult]) -> None:
    """The bonus is paid (and raises the rebates too, on the revenue it brings), and a richer
    reward costs more."""
    bonus, none, richer = (runs[k].outcomes for k in ("bonus", "none", "richer"))
    assert (none["cost_bonuses"] == 0).all()
    assert (bonus["cost_bonuses"] > 0).all()
    added = bonus["incentive_cost"] - none["incentive_cost"]
    assert (added > bonus["cost_bonuses"]).all()
    ratio = richer["cost_bonuses"].mean() / bonus["cost_bonuses"].mean()
    assert 1.2 < ratio < 2.0
