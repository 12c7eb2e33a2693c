"""Closing days (:mod:`incentsim.engine.days`): the day profile of moved deals, and deals moved
into a period in any of its last weeks closing in its last week."""

from __future__ import annotations

import numpy as np
from engine_scenarios import run
from hypothesis import given
from hypothesis import strategies as st
from test_engine_phenomena import MONTHS, deal_cycles, monthly_stairs

from incentsim.engine.days import BUSINESS_DAYS, PeriodEndClosings, end_profile

shares = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
amounts = st.lists(st.floats(min_value=0.0, max_value=1e7, allow_nan=False), min_size=2, max_size=2)


@given(shares)
def test_the_end_profile_puts_its_share_on_the_last_day_and_sums_to_one(share: float) -> None:
    profile = end_profile(share)
    assert profile.shape == (BUSINESS_DAYS,)
    assert (profile >= 0).all()
    assert abs(profile.sum() - 1.0) < 1e-12
    assert abs(profile[-1] - share) < 1e-12
    # Each earlier day gets the share of what the later days left.
    if 0.0 < share < 1.0:
        assert abs(profile[-2] - share * (1.0 - share)) < 1e-12


@given(st.lists(amounts, min_size=1, max_size=6))
def test_moved_deals_wait_for_the_last_week_and_all_close_there(weeks: list[list[float]]) -> None:
    """Whatever is moved in a period's earlier window weeks leaves those weeks' books and closes
    in its last week, with its deals; nothing is lost or counted twice."""
    queue = PeriodEndClosings((2,))
    revenue_shift = np.zeros(2)
    deals_shift = np.zeros(2)
    moved_total = np.zeros(2)
    closed = np.zeros(2)
    for k, amount in enumerate(weeks):
        moved = np.array(amount)
        last = k == len(weeks) - 1
        to_revenue, to_deals, closing = queue.close(moved, moved / 1000.0, last)
        revenue_shift += to_revenue
        deals_shift += to_deals
        moved_total += moved
        closed += closing
        if not last:
            np.testing.assert_array_equal(closing, 0.0)
            np.testing.assert_array_equal(to_revenue, -moved)
    np.testing.assert_allclose(closed, moved_total, rtol=1e-12)
    np.testing.assert_allclose(revenue_shift, 0.0, atol=1e-12 * max(1.0, moved_total.max()))
    np.testing.assert_allclose(deals_shift, 0.0, atol=1e-12 * max(1.0, moved_total.max()))
    np.testing.assert_array_equal(queue.revenue, 0.0)
    np.testing.assert_array_equal(queue.deals, 0.0)


def test_deals_moved_before_a_periods_last_week_are_booked_in_it() -> None:
    """Under a steep monthly stair-step partners pull deals in over the months' last two weeks;
    those pulled in the second-to-last week close in the last one: each month's weeks still add
    up to its revenue, the second-to-last week runs at an ordinary week's pace and the last
    week holds every deal moved in."""
    stairs = monthly_stairs((0.0, 0.03, 0.06, 0.09, 0.12))
    result = run(MONTHS, deal_cycles(4, 16), stairs, reps=2)
    weekly = result.trajectories["weekly_revenue"].reshape(2, -1, 4)
    np.testing.assert_allclose(weekly.sum(axis=2), result.trajectories["revenue"], rtol=1e-9)
    early = weekly[:, 1:, :2].mean()
    assert weekly[:, 1:, 2].mean() < 1.1 * early
    moved = result.outcomes["pulled_forward"] + result.outcomes["stuffed"]
    assert (weekly[:, :, 3].sum(axis=1) > moved).all()
    assert weekly[:, 1:, 3].mean() > 1.5 * early
