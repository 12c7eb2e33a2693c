"""Category awards against the same program without them: partners near an award's cut-off
push harder (a rank-order tournament: Lazear & Rosen 1981; Casas-Arce & Martinez-Jerez 2009),
those far from it do not, and an award kept for smaller partners moves payouts towards them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from engine_scenarios import FLOOR, effect, linear, run

#: A linear 2% rebate: no threshold of its own to muddle the award's cut-off.
PLAIN = linear(0.02)

#: The best fifth of the program by quarterly revenue wins 3,000 each quarter.
TOP_FIFTH: dict[str, Any] = {
    "program": {
        "awards": {"top": {"metric": "revenue", "within": "program", "share": 0.2, "prize": 3000}}
    }
}

#: The fastest-growing fifth of the smaller half wins 1,500 each quarter.
RISING_SMALL: dict[str, Any] = {
    "program": {
        "awards": {
            "rising": {
                "metric": "growth",
                "within": "program",
                "size_band": [0.0, 0.5],
                "share": 0.2,
                "prize": 1500,
            }
        }
    }
}


def _effort_change_by_standing(reps: int = 8) -> pd.DataFrame:
    """Per replication and standing (quantile of quarterly revenue without the award), the
    relative change in mean effort the award makes."""
    off = run(PLAIN, reps=reps, panel=True).panel
    on = run(PLAIN, TOP_FIFTH, reps=reps, panel=True).panel
    assert off is not None
    assert on is not None
    both = off.merge(on, on=["rep", "partner_id", "period"], suffixes=("_off", "_on"))
    both = both[both.active_off & both.active_on & (both.revenue_off > 0)]
    both["standing"] = both.groupby(["rep", "period"]).revenue_off.rank(pct=True)
    both["band"] = pd.cut(
        both.standing,
        [0.0, 0.5, 0.72, 0.88, 0.97, 1.0],
        labels=["far below", "-", "near", "+", "far above"],
    )
    means = both.groupby(["rep", "band"], observed=True)[["effort_off", "effort_on"]].mean()
    return (means.effort_on / means.effort_off - 1.0).unstack("band")


def test_an_award_raises_effort_near_its_cut_off_and_not_far_from_it() -> None:
    change = _effort_change_by_standing()
    near = effect(change["near"].to_numpy())
    below = effect(change["far below"].to_numpy())
    above = effect(change["far above"].to_numpy())
    # A plausible push: several percent of effort for a prize of a few percent of a quarter's
    # revenue at the cut-off (tournament field studies find effects of this order, not
    # doublings).
    assert near.low > 0.005, near
    assert near.mean < 0.15, near
    assert abs(below.mean) < near.mean / 4, (below, near)
    assert abs(above.mean) < near.mean / 2, (above, near)


def test_an_award_for_smaller_partners_moves_payouts_towards_them() -> None:
    # Only a 4% tier at 40,000 a quarter: most smaller partners earn nothing without the award.
    off = run(FLOOR, reps=8).outcomes
    on = run(FLOOR, RISING_SMALL, reps=8).outcomes
    assert (on["cost_awards"] > 0).all()
    assert (off["cost_awards"] == 0).all()
    for name in (
        "payout_share_smallest_half",
        "earning_share_smallest_half",
        "payout_share_capacity_q1",
        "payout_share_capacity_q2",
        "earning_share_capacity_q1",
    ):
        gain = effect(on[name] - off[name])
        assert gain.low > 0, (name, gain)
    assert effect(on["payout_share_capacity_q4"] - off["payout_share_capacity_q4"]).high < 0
    assert np.all(on["incentive_cost"] > off["incentive_cost"])
