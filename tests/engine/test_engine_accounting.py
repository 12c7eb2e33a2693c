"""Simulated money adds up: the recorder's outcomes obey the ledger's identities in every
replication, under each shortfall policy and with front-end rebates the budget cannot cover."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from engine_scenarios import run, scenario

#: A budget well below what partners earn, a small capped reserve fed by a fixed contribution
#: and half of any unspent budget.
TIGHT: dict[str, Any] = {
    "program": {
        "budget": {
            "per_period": 700_000,
            "reserve": {
                "initial": 100_000,
                "max": 300_000,
                "contribution": {"fixed_per_period": 10_000, "unspent_share": 0.5},
            },
        }
    }
}
DEFER: dict[str, Any] = {"program": {"budget": {"shortfall_policy": "defer"}}}
FRONT_END: dict[str, Any] = {
    "program": {"rebate": {"timing": "front_end"}, "budget": {"per_period": 300_000}}
}
#: Enough budget for a quiet quarter only: some runs leave money over, others draw the reserve.
LOOSE: dict[str, Any] = {"program": {"budget": {"per_period": 1_000_000}}}

CASES = {
    "pro_rata": (TIGHT,),
    "defer": (TIGHT, DEFER),
    "front_end_overrun": (TIGHT, FRONT_END),
    "unspent_budget": (TIGHT, LOOSE),
}
#: What each case must exercise for its identities to mean something.
EXERCISES = {
    "pro_rata": "incentive_cut",
    "defer": "incentive_owed_end",
    "front_end_overrun": "budget_overrun_funded",
    "unspent_budget": "budget_returned",
}


@pytest.mark.parametrize("case", CASES)
def test_money_identities_hold_in_every_replication(case: str) -> None:
    overrides = CASES[case]
    result = run(*overrides, reps=8)
    o = result.outcomes
    assert o[EXERCISES[case]].max() > 0
    cents = 0.01
    # What was accrued was paid, cut or is still owed, less clawbacks partners still owe.
    settled = (
        o["incentive_paid"]
        + o["incentive_cut"]
        + o["incentive_owed_end"]
        - o["incentive_receivable_end"]
    )
    np.testing.assert_allclose(settled, o["incentive_cost"], rtol=0, atol=cents)
    # Every dollar that came into the program went to partners, back to the vendor or stayed in
    # the reserve.
    budget = scenario(*overrides).program.budget
    periods = result.trajectories["cost"].shape[1]
    came_in = (
        budget.reserve.initial
        + o["budget_total"]
        + budget.reserve.contribution.fixed_per_period * periods
        + o["budget_overrun_funded"]
    )
    went_out = o["incentive_paid"] + o["budget_returned"] + o["reserve_end"]
    np.testing.assert_allclose(came_in, went_out, rtol=0, atol=cents)
    # The per-period trajectories add up to the totals.
    np.testing.assert_allclose(
        result.trajectories["cost"].sum(axis=1), o["incentive_cost"], rtol=0, atol=cents
    )
    np.testing.assert_allclose(
        result.trajectories["paid"].sum(axis=1), o["incentive_paid"], rtol=0, atol=cents
    )
    np.testing.assert_allclose(
        result.trajectories["cut"].sum(axis=1), o["incentive_cut"], rtol=0, atol=cents
    )
    assert np.all(o["reserve_end"] <= budget.reserve.max + cents)
    assert np.all(o["reserve_min"] >= -cents)
