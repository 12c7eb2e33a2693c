"""Program versions and contingent rules in the engine, each against the program without them.

Partners know announced changes: revenue moves ahead of an announced cut and is held back
before an announced rise (the timing games priced at the next version's rates); a cut costs
trust and loyalty, less when announced ahead (procedural fairness); a recession clause that
lowers thresholds while demand is down lowers churn in a recession.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from engine_scenarios import EIGHT_QUARTERS, effect, run

from incentsim.engine.simulation import simulate_block
from incentsim.experiments.shocks import parse_shock, with_shocks
from incentsim.scenario.loader import load_scenario

#: The bundled recession clause.
RULE = "program.contingent.recession_relief"
#: Every rate halved from period 4 (the notch's tiers pay 1% and 2%).
CUT = {"tiers": {"base": {"rebate_rate": 0.01}, "top": {"rebate_rate": 0.02}}}
#: Every rate doubled from period 4.
RISE = {"tiers": {"base": {"rebate_rate": 0.04}, "top": {"rebate_rate": 0.08}}}


def version(changes: dict[str, Any], announced: int | None = 4, **more: Any) -> dict[str, Any]:
    """A version in force from period 4, announced at the start of ``announced``."""
    change = {"effective_period": 4, "announced_period": announced, "changes": changes, **more}
    return {"program": {"versions": {"change": change}}}


def _period(result: Any, name: str, period: int) -> np.ndarray:
    values: np.ndarray = result.trajectories[name][:, period]
    return values


def test_an_announced_cut_pulls_revenue_ahead_of_it() -> None:
    plain = run(EIGHT_QUARTERS)
    announced = run(EIGHT_QUARTERS, version(CUT, announced=2))
    unannounced = run(EIGHT_QUARTERS, version(CUT, announced=None))
    # The period before the cut books more (deals pulled in), the period after less.
    before = effect(_period(announced, "revenue", 3) - _period(plain, "revenue", 3))
    assert before.low > 0, before
    pulled = effect(announced.outcomes["pulled_forward"] - plain.outcomes["pulled_forward"])
    assert pulled.low > 0, pulled
    # Unannounced, nothing moves before it takes effect.
    for period in range(4):
        np.testing.assert_array_equal(
            _period(unannounced, "revenue", period), _period(plain, "revenue", period)
        )


def test_an_announced_rise_holds_revenue_back() -> None:
    plain = run(EIGHT_QUARTERS)
    announced = run(EIGHT_QUARTERS, version(RISE, announced=2))
    held = effect(announced.outcomes["deferred"] - plain.outcomes["deferred"])
    assert held.low > 0, held
    before = effect(_period(announced, "revenue", 3) - _period(plain, "revenue", 3))
    assert before.high < 0, before


def test_an_unannounced_cut_costs_more_loyalty_than_one_announced_two_periods_ahead() -> None:
    plain = run(EIGHT_QUARTERS)
    announced = run(EIGHT_QUARTERS, version(CUT, announced=2))
    unannounced = run(EIGHT_QUARTERS, version(CUT, announced=None))
    cost = effect(plain.outcomes["loyalty_mean"] - announced.outcomes["loyalty_mean"])
    assert cost.low > 0, cost  # a cut costs loyalty even when announced
    surprise = effect(announced.outcomes["loyalty_mean"] - unannounced.outcomes["loyalty_mean"])
    assert surprise.low > 0, surprise


def test_a_rise_costs_no_trust() -> None:
    plain = run(EIGHT_QUARTERS)
    rise = run(EIGHT_QUARTERS, version(RISE, announced=None))
    gain = effect(rise.outcomes["loyalty_mean"] - plain.outcomes["loyalty_mean"])
    assert gain.low > 0, gain


def test_grandfathered_partners_keep_the_old_rates() -> None:
    plain = run(EIGHT_QUARTERS)
    cut = run(EIGHT_QUARTERS, version(CUT, announced=None))
    kept = run(EIGHT_QUARTERS, version(CUT, announced=None, grandfather_periods=2))
    # Grandfathered incumbents are paid the old rates for two more quarters: more than under
    # the cut, and the cut's loyalty cost is smaller (the cut reaches them later).
    paid_kept, paid_cut = (r.trajectories["paid"][:, 4:6].sum(axis=1) for r in (kept, cut))
    more = effect(paid_kept - paid_cut)
    assert more.low > 0, more
    cost_cut = plain.outcomes["loyalty_mean"] - cut.outcomes["loyalty_mean"]
    cost_kept = plain.outcomes["loyalty_mean"] - kept.outcomes["loyalty_mean"]
    assert effect(cost_cut - cost_kept).low > 0


def test_a_phased_cut_moves_in_equal_steps() -> None:
    plain = run(EIGHT_QUARTERS)
    phased = run(EIGHT_QUARTERS, version(CUT, announced=None, phase_in_periods=2))
    cut = run(EIGHT_QUARTERS, version(CUT, announced=None))
    # Period 4 pays between the old program and the full cut; from period 5 the cut is whole.
    p4 = [r.trajectories["paid"][:, 5].mean() for r in (plain, phased, cut)]
    assert p4[0] > p4[1] > p4[2]


def test_versions_event_names_the_version() -> None:
    result = run(EIGHT_QUARTERS, version(CUT, announced=None, phase_in_periods=2))
    names = [e["version"] for e in result.events if e["event"] == "version"]
    assert names == ["change (1 of 2)", "change (2 of 2)"]


@pytest.mark.slow
def test_a_recession_clause_lowers_churn_in_a_recession_stress() -> None:
    outcomes = {}
    for label, extra in (("clause", []), ("without", ["program.contingent={}"])):
        scenario = load_scenario("scenarios/recession_clause.yaml", ["market.shocks=[]", *extra])
        scenario = with_shocks(scenario, [parse_shock("recession:severe")])
        outcomes[label] = simulate_block(scenario, np.random.SeedSequence(3), 20).outcomes
    fewer = effect(outcomes["without"]["churned"] - outcomes["clause"]["churned"])
    assert fewer.low > 0, fewer


def test_a_clause_that_widens_a_binding_budget_cuts_less_and_keeps_loyalty() -> None:
    """A severe recession with a budget that binds (4.5 million a quarter, about the program's
    cost): the clause lowering thresholds alone pays more than the budget holds and is cut;
    widening the budget by 30% while demand is down (the guides' "predefine how rewards adjust")
    pays what partners earned, and a payout not cut keeps loyalty (Kumar, Scheer & Steenkamp
    1995; domain notes, section 2.10). On 12 paired replications the cut falls from about 2.1
    to 0.3 million and mean loyalty rises about 0.05."""
    outcomes = {}
    for label, extra in (("thresholds", []), ("budget", [f"{RULE}.budget_scale=1.3"])):
        scenario = load_scenario(
            "scenarios/recession_clause.yaml",
            ["market.shocks=[]", "program.budget.per_period=4500000", *extra],
        )
        scenario = with_shocks(scenario, [parse_shock("recession:severe")])
        outcomes[label] = simulate_block(scenario, np.random.SeedSequence(3), 12).outcomes
    less_cut = effect(outcomes["thresholds"]["incentive_cut"] - outcomes["budget"]["incentive_cut"])
    assert less_cut.mean > 1_000_000, less_cut
    assert less_cut.low > 0, less_cut
    loyal = effect(outcomes["budget"]["loyalty_mean"] - outcomes["thresholds"]["loyalty_mean"])
    assert 0.02 < loyal.mean < 0.1, loyal
    assert loyal.low > 0, loyal


def test_a_budget_clause_moves_nothing_while_its_level_is_not_crossed() -> None:
    calm = [
        "market.shocks=[]",
        "market.demand_noise=0.01",
        "population.partners=150",
        "calendar.horizon_periods=4",
    ]
    plain = load_scenario("scenarios/recession_clause.yaml", calm)
    widened = load_scenario("scenarios/recession_clause.yaml", [*calm, f"{RULE}.budget_scale=3"])
    a = simulate_block(plain, np.random.SeedSequence(4), 3).outcomes
    b = simulate_block(widened, np.random.SeedSequence(4), 3).outcomes
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_a_recession_clause_changes_nothing_without_a_recession() -> None:
    calm = [
        "market.shocks=[]",
        "market.demand_noise=0.01",
        "population.partners=150",
        "calendar.horizon_periods=4",
    ]
    with_clause = load_scenario("scenarios/recession_clause.yaml", calm)
    without = load_scenario("scenarios/recession_clause.yaml", [*calm, "program.contingent={}"])
    a = simulate_block(with_clause, np.random.SeedSequence(4), 4).outcomes
    b = simulate_block(without, np.random.SeedSequence(4), 4).outcomes
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_an_announced_richer_window_bonus_holds_back_the_last_window_before_it() -> None:
    """A refresh can change a window bonus (``bonuses`` in its changes). Announced, partners
    price the first window after it at its terms when they play the last window's timing games
    before it, so deals are deferred into the refresh, as before an announced rate rise.

    Measured (30 replications of 200 partners, 3 quarters of ``monthly_bonus.yaml``, the
    monthly bonus's reward 400 -> 3,200 from the third quarter): deferred revenue +130,000
    (standard error 31,000; 8.7% of the unannounced 1.50M) against the same refresh
    unannounced, and the first quarter unchanged (nothing is known of the refresh's terms
    before the last window of the quarter before it).
    """
    refresh = (
        "program.versions={richer: {effective_period: 2, %s"
        " changes: {bonuses: {monthly_bonus: {reward: 3200}}}}}"
    )

    def block(announced: str) -> Any:
        scenario = load_scenario(
            "scenarios/monthly_bonus.yaml",
            ["population.partners=200", "calendar.horizon_periods=3", refresh % announced],
        )
        return simulate_block(scenario, np.random.SeedSequence(3), 30)

    announced, unannounced = block("announced_period: 0,"), block("")
    held = effect(announced.outcomes["deferred"] - unannounced.outcomes["deferred"])
    assert held.low > 0.03 * unannounced.outcomes["deferred"].mean(), held
    np.testing.assert_array_equal(
        _period(announced, "revenue", 0), _period(unannounced, "revenue", 0)
    )
