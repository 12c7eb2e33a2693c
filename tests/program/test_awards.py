"""Category awards: ranking inside pools and size bands, winners and shares, windows, prizes
per group, and the schema's refusals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from incentsim.program.awards import cutoffs, pool_ranks
from incentsim.program.rules import COMPONENTS

from .conftest import close, compiled, make_program


def award(**fields: Any) -> dict[str, Any]:
    """An award on revenue with one winner, changed by ``fields``."""
    return {"awards": {"star": {"metric": "revenue", "winners": 1, "prize": 500.0, **fields}}}


def test_the_best_partner_of_each_pool_wins_the_prize() -> None:
    cp = compiled(award(within="segment"), segments=("a", "b"))
    _, a = close(cp, [1000.0, 3000.0, 2000.0, 500.0], group=[0, 0, 1, 1])
    assert a.components["awards"].tolist() == [0, 50000, 50000, 0]
    assert a.award_rank is not None
    assert a.award_rank[..., 0].tolist() == [1, 0, 0, 1]
    # Across the whole program only the largest wins.
    cp = compiled(award(within="program"), segments=("a", "b"))
    _, a = close(cp, [1000.0, 3000.0, 2000.0, 500.0], group=[0, 0, 1, 1])
    assert a.components["awards"].tolist() == [0, 50000, 0, 0]


def test_a_share_of_the_pool_wins_rounded_up_and_ties_go_to_the_first_listed() -> None:
    cp = compiled(award(winners=None, share=0.3))
    _, a = close(cp, [100.0, 400.0, 400.0, 300.0, 200.0, 0.0])
    # Five partners sold: 30% of 5 is 1.5, so two win; the tie at 400 goes to both, in order.
    assert (a.components["awards"] > 0).tolist() == [False, True, True, False, False, False]
    _, a = close(cp, [100.0, 400.0, 400.0, 400.0, 200.0, 0.0])
    assert (a.components["awards"] > 0).tolist() == [False, True, True, False, False, False]


def test_the_size_band_keeps_larger_partners_out() -> None:
    # Size is the previous window's revenue: 4 partners, the smaller half by last period.
    cp = compiled(award(metric="growth", size_band=[0.0, 0.5]))
    state, first = close(cp, [100.0, 200.0, 1000.0, 2000.0])
    assert first.components["awards"].tolist() == [0, 0, 0, 0]  # growth needs a previous window
    _, a = close(cp, [150.0, 220.0, 3000.0, 2100.0], state=state)
    # The third partner grew fastest (3x) but is in the larger half; the first grew 50%.
    assert a.components["awards"].tolist() == [50000, 0, 0, 0]


def test_improvement_ranks_revenue_gained_and_new_logo_rate_ranks_logos_per_revenue() -> None:
    cp = compiled(award(metric="improvement"))
    state, _ = close(cp, [100.0, 2000.0])
    _, a = close(cp, [600.0, 2300.0], state=state)
    assert a.components["awards"].tolist() == [50000, 0]
    cp = compiled(award(metric="new_logo_rate"))
    _, a = close(cp, [1000.0, 9000.0], new_logos=[2.0, 9.0])
    assert a.components["awards"].tolist() == [50000, 0]


def test_an_award_is_assessed_on_its_window_of_periods() -> None:
    cp = compiled(award(cadence_periods=2, min_revenue=1500.0))
    state, a = close(cp, [1000.0, 900.0])
    assert a.components["awards"].tolist() == [0, 0]
    state, a = close(cp, [200.0, 600.0], state=state)
    # Over the two periods: 1,200 and 1,500; only the second reaches the minimum revenue.
    assert a.components["awards"].tolist() == [0, 50000]
    assert state.awards is not None
    assert not state.awards.window_revenue.any()


def test_the_prize_can_differ_by_segment_and_the_rules_cannot() -> None:
    program = award(within="program", winners=2)
    program["segment_overrides"] = {"b": {"awards": {"star": {"prize": 900.0}}}}
    cp = compiled(program, segments=("a", "b"))
    _, a = close(cp, [3000.0, 1000.0, 2000.0], group=[0, 0, 1])
    assert a.components["awards"].tolist() == [50000, 0, 90000]
    program["segment_overrides"] = {"b": {"awards": {"star": {"winners": 3}}}}
    with pytest.raises(ValidationError, match=r"awards\.star: winners cannot differ by segment"):
        make_program(program)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"share": 0.2}, "exactly one of 'winners' or 'share'"),
        ({"winners": None}, "exactly one of 'winners' or 'share'"),
        ({"size_band": [0.5, 0.5]}, "low quantile must be below"),
        ({"metric": "profit"}, "Input should be 'revenue'"),
        ({"prize": -1.0}, "greater than or equal to 0"),
        ({"cadence_periods": 0}, "greater than or equal to 1"),
    ],
)
def test_a_bad_award_is_refused_naming_the_field(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        make_program(award(**fields))
    assert "awards" in str(info.value)


def test_awards_are_a_component_outside_the_partner_cap() -> None:
    assert "awards" in COMPONENTS
    cp = compiled(award(prize=5000.0), partner_cap=100.0)
    _, a = close(cp, [6000.0, 2000.0])
    # The rebates are capped at 100.00; the prize is paid in full on top.
    assert a.components["rebate"].tolist() == [10000, 4000]
    assert a.components["awards"].tolist() == [500000, 0]


def test_cutoffs_are_the_best_rival_outside_or_the_last_winner() -> None:
    values = np.array([[5.0, 4.0, 3.0, 2.0, 1.0, 9.0]])
    members = np.array([[True, True, True, True, True, False]])
    pool = np.zeros_like(values, dtype=np.int64)
    rank, count = pool_ranks(values, members, pool, 1, descending=True)
    assert rank.tolist() == [[0, 1, 2, 3, 4, 6]]
    assert count.tolist() == [[5, 5, 5, 5, 5, 0]]
    two = compiled(award(winners=2)).awards
    # Winners (5, 4) must stay above 3; the others must pass 4; a non-member has nothing to beat.
    assert cutoffs(two, 0, values, members, pool).tolist() == [[3.0, 3.0, 4.0, 4.0, 4.0, -np.inf]]
    everyone = compiled(award(winners=5)).awards
    assert np.isneginf(cutoffs(everyone, 0, values, members, pool)).all()
    # Two pools ranked at once: each has its own cut-off.
    pools = np.array([[0, 1, 0, 1, 0, 1]])
    by_pool = compiled(award(winners=1, within="segment"), segments=("a", "b")).awards
    assert cutoffs(by_pool, 0, values, members, pools).tolist() == [
        [3.0, 2.0, 5.0, 4.0, 5.0, -np.inf]
    ]
