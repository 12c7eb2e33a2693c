"""Settings that the simulation once ignored now move it, in the direction a designer expects.

Each test runs ``scenarios/constructs.yaml`` twice over the same random numbers (common random
numbers) and checks the paired difference per replication, with a 95% interval that excludes
zero where the effect is statistical.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from incentsim.engine.simulation import (
    BlockResult,
    Simulation,
    draw_partners_and_market,
    simulate_block,
)
from incentsim.scenario.loader import load_scenario

SCENARIO = "scenarios/constructs.yaml"
REPS = 6


def run(settings: Sequence[str], panel: bool = False, partners: int = 150) -> BlockResult:
    scenario = load_scenario(SCENARIO, [f"population.partners={partners}", *settings])
    return simulate_block(scenario, np.random.SeedSequence(2027), REPS, panel=panel)


def interval(difference: np.ndarray) -> tuple[float, float]:
    """95% t-interval of the mean of a paired difference."""
    mean = float(np.mean(difference))
    half = float(stats.t.ppf(0.975, len(difference) - 1) * stats.sem(difference))
    return mean - half, mean + half


def region_loyalty(result: BlockResult, region: str) -> np.ndarray:
    """Mean loyalty of the region's active partners at the last period, per replication."""
    panel = result.panel
    assert panel is not None
    last = panel[(panel["period"] == panel["period"].max()) & panel["active"]]
    by_rep = last[last["region"] == region].groupby("rep")["loyalty"].mean()
    return by_rep.sort_index().to_numpy()


def test_a_longer_payout_delay_for_one_region_lowers_that_regions_loyalty() -> None:
    base = run([], panel=True)
    late = run(["program.region_overrides.emea.budget.payout.delay_weeks=20"], panel=True)
    low, high = interval(region_loyalty(late, "emea") - region_loyalty(base, "emea"))
    assert high < 0, (low, high)
    # Another region's payouts keep their rhythm: its loyalty moves far less.
    other = region_loyalty(late, "apac") - region_loyalty(base, "apac")
    emea = region_loyalty(late, "emea") - region_loyalty(base, "emea")
    assert abs(other.mean()) < abs(emea.mean()) / 3


def test_a_region_can_be_paid_on_its_own_cadence() -> None:
    base = run([])
    yearly = run(["program.region_overrides.emea.budget.payout.cadence_periods=4"])
    # Paid less often, emea's partners are paid later: less is paid in the first periods.
    first = slice(0, 3)
    assert (
        yearly.trajectories["paid"][:, first].sum(axis=1)
        < base.trajectories["paid"][:, first].sum(axis=1)
    ).all()


def test_a_co_delivery_requirement_lowers_co_selling_payouts() -> None:
    none = run(["program.guardrails.co_delivery_share=0"])
    strict = run(["program.guardrails.co_delivery_share=0.8"])
    low, high = interval(strict.outcomes["cost_co_sell"] - none.outcomes["cost_co_sell"])
    assert high < 0, (low, high)
    # Partners weigh the bonus against the delivery: the dearer delivery is, the more skip it.
    dear = run(["program.guardrails.co_delivery_share=0.8", "behaviour.co_delivery_cost=0.5"])
    assert (dear.outcomes["cost_co_sell"] <= strict.outcomes["cost_co_sell"]).all()
    assert dear.outcomes["cost_co_sell"].sum() < strict.outcomes["cost_co_sell"].sum()


def test_a_benefits_cost_raises_incentive_cost_by_what_it_costs() -> None:
    no_cost = [
        f"program.tiers.{benefit}.cost_per_partner=0"
        for benefit in (
            "gold.benefits.sales_training",
            "platinum.benefits.sales_training",
            "platinum.benefits.advisory_days",
        )
    ]
    free = run(no_cost)
    priced = run([*no_cost, "program.tiers.gold.benefits.sales_training.cost_per_partner=1500"])
    assert (priced.outcomes["cost_benefits"] > 0).all()
    assert (free.outcomes["cost_benefits"] == 0).all()
    np.testing.assert_allclose(
        priced.outcomes["incentive_cost"] - free.outcomes["incentive_cost"],
        priced.outcomes["cost_benefits"],
        rtol=1e-9,
    )
    # Benefits are delivered outside the payout budget: payouts are the same.
    np.testing.assert_array_equal(
        priced.outcomes["incentive_paid"], free.outcomes["incentive_paid"]
    )


def test_front_end_rebates_are_paid_without_the_delay_and_raise_effort() -> None:
    settings = ["program.budget.payout.cadence_periods=2", "program.budget.payout.delay_weeks=10"]
    back = run(settings)
    front = run([*settings, "program.rebate.timing=front_end"])
    # The budget sees them at the first close; a back-end rebate waits for the run.
    assert (front.trajectories["paid"][:, 0] > 0).all()
    assert (back.trajectories["paid"][:, 0] == 0).all()
    # Paid sooner, a rebate weighs more with present-biased partners (Kaur et al. 2015).
    effort = front.trajectories["effort_mean"] - back.trajectories["effort_mean"]
    low, high = interval(effort.mean(axis=1))
    assert low > 0.004, (low, high)


def test_a_short_registration_protection_window_catches_fewer_duplicates() -> None:
    short = run(["program.guardrails.deal_registration.protection_days=7"])
    long = run(["program.guardrails.deal_registration.protection_days=365"])
    assert (
        short.outcomes["duplicates_caught_registration"]
        < long.outcomes["duplicates_caught_registration"]
    ).all()


def test_remediation_support_is_per_group_and_lifts_win_rate() -> None:
    scenario = load_scenario(
        SCENARIO,
        [
            "population.partners=120",
            "program.remediation.win_rate_uplift=0.05",
            "program.segment_overrides.reseller.remediation.capacity_uplift=0.6",
            "program.segment_overrides.reseller.remediation.win_rate_uplift=0.1",
        ],
    )
    seed = np.random.SeedSequence(5)
    population_seed, market_seed, partner_seed = seed.spawn(3)
    partners, market = draw_partners_and_market(scenario, population_seed, market_seed, 2)
    sim = Simulation(scenario, partners, market, np.random.default_rng(partner_seed))
    sim._period = 0
    sim.state.in_remediation = np.ones(sim.group.shape, dtype=np.bool_)
    uplifts = sim._period_uplifts()
    reseller = partners.segment == partners.segment_names.index("reseller")
    np.testing.assert_allclose(uplifts.remediation, np.where(reseller, 1.6, 1.1))
    win_points = np.where(reseller, 0.1, 0.05)
    np.testing.assert_allclose(uplifts.win, 1.0 + win_points / np.maximum(partners.win_rate, 0.05))
    sim.state.in_remediation = np.zeros(sim.group.shape, dtype=np.bool_)
    assert (sim._period_uplifts().remediation == 1.0).all()


def test_partners_who_have_left_are_paid_nothing() -> None:
    # A flat fee: 1,000 a quarter to every registered partner, whatever it sells.
    scenario = load_scenario(
        "scenarios/small.yaml",
        [
            "program.tiers.registered.requirements.revenue=0",
            "program.tiers.registered.requirements.certified_staff=0",
            "program.milestones.fee.tier=registered",
            "program.milestones.fee.consecutive_periods=1",
            "program.milestones.fee.reward=1000",
            "behaviour.churn_base=0.3",
        ],
    )
    result = simulate_block(scenario, np.random.SeedSequence(3), 3, panel=True)
    panel = result.panel
    assert panel is not None
    churned = result.outcomes["churned"]
    assert (churned > 0).all()
    # Every fee went to a partner active in its period: none to a partner who had left.
    active_periods = panel[panel["active"]].groupby("rep").size().sort_index().to_numpy()
    assert (result.outcomes["cost_milestones"] <= 1000.0 * active_periods + 1e-6).all()
    assert (result.outcomes["cost_milestones"] > 0).all()
