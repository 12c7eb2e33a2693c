"""Money up to the bound never wraps: int64 cents hold every amount, sum and incentive that
:mod:`incentsim.quantities` lets through, and what goes past the bound is refused by row."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incentsim.calendar import Calendar
from incentsim.errors import DataError
from incentsim.payout import compute_statements, validate_transactions
from incentsim.program.spec import Program
from incentsim.quantities import MAX_AMOUNT

CALENDAR = Calendar(horizon_periods=4)
START = dt.date(2027, 1, 4)

#: An amount in whole cents from 0 to the bound, the bound itself often.
amounts = st.one_of(
    st.just(MAX_AMOUNT), st.integers(0, int(MAX_AMOUNT * 100)).map(lambda c: c / 100)
)


def _frame(values: list[list[float]]) -> pd.DataFrame:
    """One row per partner and period (``values[partner][period]``)."""
    rows = [
        {
            "partner_id": f"P{p}",
            "date": (START + dt.timedelta(days=91 * q + 10)).isoformat(),
            "amount": amount,
        }
        for p, per_period in enumerate(values)
        for q, amount in enumerate(per_period)
    ]
    return pd.DataFrame(rows)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.lists(amounts, min_size=4, max_size=4), min_size=1, max_size=4),
    rate=st.floats(0.0, 1.0),
)
def test_amounts_up_to_the_bound_do_not_wrap(values: list[list[float]], rate: float) -> None:
    # The richest program the schema allows on this revenue: a 100% rate with a x10 accelerator.
    program = Program.model_validate(
        {
            "tiers": {"member": {"rebate_rate": rate}},
            "accelerators": {"kicker": {"threshold": 1.0, "multiplier": 10.0}},
        }
    )
    result = compute_statements(program, CALENDAR, validate_transactions(_frame(values)))
    revenue = result.cents("revenue")
    accrued = result.cents("accrued")
    exact = sum(round(v * 100) for per_period in values for v in per_period)
    assert int(revenue.sum()) == exact
    assert (revenue >= 0).all()
    assert (accrued >= 0).all()
    assert (accrued <= 10 * revenue + 100).all()  # at most ten times the revenue, to the cent
    assert int(accrued.sum()) <= 10 * exact + 100 * len(accrued)
    assert np.isfinite(result.partners["paid"].to_numpy(dtype=float)).all()


def test_a_partner_period_past_the_bound_is_refused_at_the_row_that_passes_it() -> None:
    frame = pd.DataFrame(
        {
            "partner_id": ["P1", "P2", "P1", "P1"],
            "date": ["2027-01-10", "2027-01-11", "2027-02-10", "2027-03-10"],
            "amount": [4e11, 9e11, 5e11, 2e11],
        }
    )
    program = Program.model_validate({"tiers": {"member": {"rebate_rate": 0.01}}})
    with pytest.raises(DataError) as caught:
        compute_statements(program, CALENDAR, validate_transactions(frame, "tx.csv"))
    assert caught.value.problems == [
        (5, "partner 'P1' total amount in period 1 passes 1e+12 at this row, beyond the largest "
            "amount a program can pay")
    ]  # fmt: skip


def test_a_file_total_past_its_bound_is_refused() -> None:
    frame = pd.DataFrame(
        {
            "partner_id": [f"P{i}" for i in range(1001)],
            "date": ["2027-01-10"] * 1001,
            "amount": [1e12] * 1001,
        }
    )
    with pytest.raises(DataError, match="1002: the file's total amount passes 1e\\+15"):
        validate_transactions(frame, "tx.csv")
