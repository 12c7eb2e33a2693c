"""Partner decision rules priced by hand: what milestones are worth by the tier a period ends at,
and what a quota ratchet costs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from incentsim.engine import decisions
from incentsim.population.behaviour import Behaviour
from incentsim.program.compiled import compile_program
from incentsim.program.rules import initial_state
from incentsim.program.spec import Program

TIERS = {
    "silver": {"rebate_rate": 0.02},
    "gold": {"requirements": {"revenue": 40_000}, "rebate_rate": 0.03},
}


def test_milestone_worth_by_tier_follows_the_streak_present_bias_and_loss() -> None:
    program = Program.model_validate(
        {
            "tiers": TIERS,
            "milestones": {
                "loyal": {"tier": "gold", "consecutive_periods": 4, "reward": 1_000},
                "once": {
                    "tier": "gold",
                    "consecutive_periods": 1,
                    "reward": 50,
                    "repeatable": False,
                },
            },
        }
    )
    cp = compile_program(program)
    group = np.zeros((1, 3), dtype=np.int64)
    state = initial_state(cp, group)
    # Partner 0 is 2 quarters into the streak; partner 1 has 3 done (completes this quarter);
    # partner 2 already earned the one-off milestone.
    state = replace(
        state,
        streak=np.array([[[2, 0], [3, 0], [0, 0]]]),
        milestone_done=np.array([[[False, False], [False, False], [False, True]]]),
    )
    behaviour = Behaviour()
    myopia = np.full((1, 3), 0.5)
    values = decisions.milestone_values(behaviour, cp, state, group, myopia, 4.0, 13)
    assert values is not None
    assert values.shape == (1, 3, 3)  # no tier, silver, gold

    def weight(weeks: float) -> float:
        return 1.0 / (1.0 + 0.5 * weeks / behaviour.present_bias_weeks)

    def worth(reward: float, periods_left: int) -> float:
        return reward * weight(4.0 + 13 * periods_left) / weight(4.0)

    # Below gold both streaks reset (4 and 1 more quarters to go), and the progress made is
    # lost, weighed by loss aversion (2 and 3 quarters of 4 done); at gold they move on, the
    # one-off milestone paying now unless it was earned before.
    lost = [behaviour.streak_loss_aversion * 1_000 * done / 4 for done in (2, 3, 0)]
    below = [
        worth(1_000, 4) + worth(50, 1) - lost[0],
        worth(1_000, 4) + worth(50, 1) - lost[1],
        worth(1_000, 4),
    ]
    assert values[0, :, 0] == pytest.approx(below)
    assert values[0, :, 1] == pytest.approx(below)
    at_gold = [worth(1_000, 1) + 50, worth(1_000, 0) + 50, worth(1_000, 3)]
    assert values[0, :, 2] == pytest.approx(at_gold)
    # Reaching gold is worth more the nearer the streak is to its reward.
    gain = values[0, :2, 2] - values[0, :2, 1]
    assert gain[1] > gain[0] > 0
    assert decisions.milestone_values(
        behaviour, compile_program(Program.model_validate({"tiers": TIERS})), state, group,
        myopia, 4.0, 13,
    ) is None  # fmt: skip


def test_a_ratchet_costs_only_partners_whose_quota_follows_their_revenue() -> None:
    base = {
        "tiers": {"silver": {"rebate_rate": 0.02}},
        "accelerators": {"over": {"quota_fraction": 1.0, "multiplier": 2.0}},
    }
    group = np.zeros((1, 1), dtype=np.int64)
    outlook = decisions.Outlook(np.zeros((1, 1)), np.zeros((1, 1)), np.full((1, 1), 4.0))
    costs = {}
    for basis in ("prior", "fixed"):
        program = Program.model_validate(
            base | {"quota": {"basis": basis, "growth": 0.1, "amount": 45_000, "floor": 10_000}}
        )
        cp = compile_program(program)
        state = initial_state(cp, group)
        this, spread = np.full((1, 1), 50_000.0), np.full((1, 1), 5_000.0)
        costs[basis] = decisions.ratchet_cost(
            cp, state, group, this, spread, np.full((1, 1), 60_000.0), spread, outlook
        )
    # Next quarter at 60,000 give or take 5,000 is around a quota of 55,000 (this quarter's
    # 50,000 plus 10%): each unit booked now raises the quota 1.1 units, costing at most the
    # accelerator's extra 2% on each.
    assert costs["prior"] is not None
    assert 0.0 < costs["prior"][0, 0] <= 0.02 * 1.1 + 1e-12
    # A fixed quota does not move with revenue: nothing to price.
    assert costs["fixed"] is None


def test_the_churn_hazard_per_week_does_not_depend_on_the_period_length() -> None:
    behaviour = Behaviour()
    loyalty = np.array([0.1, 0.5, 0.9])
    quarterly = decisions.churn_probability(behaviour, loyalty)
    assert quarterly[1] == pytest.approx(behaviour.churn_base)
    assert np.all(np.diff(quarterly) < 0)  # the less loyal, the likelier to leave
    # A quarter as 13 weekly periods, or as 3 1/4 periods of 4 weeks: the same churn.
    for weeks in (1, 4):
        per_period = decisions.churn_probability(behaviour, loyalty, weeks)
        assert np.all(per_period < quarterly)
        survive = (1.0 - per_period) ** (13 / weeks)
        np.testing.assert_allclose(1.0 - survive, quarterly, rtol=1e-12)


def test_pulls_reach_further_with_longer_cycles_and_cost_more_the_further() -> None:
    """A partner pulls deals due within half its deal cycle after the period end; each costs
    1% a week moved, at most 30% (the documented defaults)."""
    b = Behaviour()
    cycles = np.array([2.0, 13.0, 78.0])
    weekly = 1_000.0  # the same closings a week for each: pipeline = weekly closings x cycle
    pulls = decisions.pull_options(b, weekly * cycles, cycles, weeks_left=1)
    amounts = np.array([pull.amount for pull in pulls])  # (reach share, cycle)
    discounts = np.array([pull.discount for pull in pulls])
    # Longer cycles: more weeks of deals within reach (about the reach itself for long cycles).
    assert (np.diff(amounts, axis=1) > 0).all()
    reach = b.pull_forward_reach * 78.0  # 39 weeks
    assert 0.6 * reach * weekly < amounts[-1, 2] < reach * weekly
    assert amounts[-1, 0] < 0.03 * amounts[-1, 2]
    # Further pulls cost more per deal: 19% for deals due within 39 weeks of a 78-week cycle.
    assert (np.diff(discounts, axis=0) > 0).all()
    assert discounts[-1, 2] == pytest.approx(0.01 * (1.0 + 78.0 - 39.0 / np.expm1(0.5)))
    # At most the cap, however far.
    steep = b.model_copy(update={"pull_forward_discount_per_week": 0.02})
    capped = decisions.pull_options(steep, weekly * cycles, cycles, weeks_left=1)
    assert capped[-1].discount[2] == pytest.approx(b.pull_forward_discount_max)
    assert (capped[-1].discount <= b.pull_forward_discount_max).all()
    # A deal due the week after a one-week cycle's period end is moved about 1.5 weeks.
    short = decisions.pull_options(b, np.array([weekly]), np.array([1.0]), weeks_left=1)
    assert short[0].discount[0] == pytest.approx(0.01 * (1.0 + 1.0 - 0.125 / np.expm1(0.125)))


def test_a_partner_seeing_its_closings_defers_what_would_pass_a_cap() -> None:
    """Burgstahler & Dichev (1997), Healy (1985; domain notes 2.2 and 2.4): results pile up at
    a cap because the revenue past it, which earns nothing this period, is held for the next.
    Four partners book this week's 10,000 of closings on 4% of revenue capped at 3,000 (reached
    at 75,000): one crossing the cap, one already past it, one far below it, and one short of a
    floor that pays nothing."""
    b = Behaviour()
    so_far = np.array([70_000.0, 80_000.0, 20_000.0, 20_000.0])
    closings = np.full(4, 10_000.0)
    floor_only = np.array([False, False, False, True])

    def price(booked: np.ndarray) -> np.ndarray:
        revenue = so_far + booked
        capped = np.minimum(0.04 * revenue, 3_000.0)
        return np.where(floor_only, np.where(revenue >= 40_000.0, 0.04 * revenue, 0.0), capped)

    rate, weight, gaming = np.full(4, 0.04), np.full(4, 0.8), np.zeros(4)
    deferred = decisions.past_cap_deferral(b, price, closings, so_far, rate, weight, gaming)
    # Crossing: the 5,000 past 75,000 are held (to the bisection's step of the 8,000 it can
    # defer); already past: all it can defer; far below, or short of a floor: nothing at all.
    step = b.deferral_share * 10_000.0 * 0.5**decisions.CAP_SEARCH_STEPS
    assert 5_000.0 - step <= deferred[0] <= 5_000.0
    assert deferred[1] == b.deferral_share * 10_000.0
    assert deferred[2] == 0.0
    assert deferred[3] == 0.0
    # Not worth the friction of moving it (next period pays next to nothing): booked.
    poor = decisions.past_cap_deferral(b, price, closings, so_far, rate * 0.01, weight, gaming)
    assert (poor == 0.0).all()

    # A payout that rises again once the rest of the period is booked is not a cap.
    def rising_later(booked: np.ndarray) -> np.ndarray:
        return price(booked) + 0.04 * np.maximum(so_far + booked + 20_000.0 - 85_000.0, 0.0)

    kept = decisions.past_cap_deferral(
        b, price, closings, so_far, rate, weight, gaming, later=rising_later
    )
    assert kept[0] == 0.0
    assert kept[1] == 0.0


def test_next_period_is_priced_at_the_quota_the_ratchet_sets() -> None:
    """Leone & Rock (2002): a strong period raises the next target. Under a ratchet, next
    period's state carries the quota this period's expected revenue sets (plus 10%, at least the
    floor); a fixed quota is left as it is."""
    base = {
        "tiers": {"silver": {"rebate_rate": 0.02}},
        "accelerators": {"over": {"quota_fraction": 1.0, "multiplier": 2.0}},
    }
    group = np.zeros((1, 2), dtype=np.int64)
    expected = np.array([[50_000.0, 5_000.0]])
    quotas = {}
    for basis in ("prior", "fixed"):
        program = Program.model_validate(
            base | {"quota": {"basis": basis, "growth": 0.1, "amount": 45_000, "floor": 10_000}}
        )
        cp = compile_program(program)
        state = initial_state(cp, group)
        quotas[basis] = decisions.ratcheted_state(cp, state, group, expected).quota
    np.testing.assert_allclose(quotas["prior"], [[55_000.0, 10_000.0]])
    np.testing.assert_array_equal(quotas["fixed"], [[45_000.0, 45_000.0]])


def test_without_reach_nothing_can_be_pulled_and_nothing_is_undefined() -> None:
    """``pull_forward_reach`` 0 (its documented range starts at 0.25, the schema allows 0): no
    pipeline within reach, and a finite discount (the limit of a window of no width)."""
    b = Behaviour(pull_forward_reach=0.0)
    cycles = np.array([2.0, 13.0])
    with np.errstate(all="raise"):
        pulls = decisions.pull_options(b, 1_000.0 * cycles, cycles, weeks_left=2)
    for pull in pulls:
        np.testing.assert_array_equal(pull.amount, 0.0)
        np.testing.assert_allclose(pull.discount, 0.01 * 2.0)
