"""Money moves to cents and back one way (incentsim.quantities)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from incentsim.quantities import (
    MAX_AMOUNT,
    amount_of,
    cents_decimal,
    cents_of,
    from_cents,
    round_to_cents,
    to_cents,
)

AMOUNTS = st.floats(-MAX_AMOUNT, MAX_AMOUNT, allow_nan=False)


def test_to_cents_rounds_half_to_even_and_returns_int64() -> None:
    cents = to_cents(np.array([0.004, 0.005, 0.015, 0.025, 1.239999999, -0.015]))
    assert cents.dtype == np.int64
    # 0.4 -> 0, 0.5 -> 0 (even), 1.5 -> 2, 2.5 -> 2 (even), 123.9999999 -> 124, -1.5 -> -2
    assert cents.tolist() == [0, 0, 2, 2, 124, -2]
    assert to_cents(2.675).shape == ()


@given(st.lists(AMOUNTS, max_size=5))
def test_one_amount_and_an_array_round_alike(amounts: list[float]) -> None:
    cents = to_cents(np.array(amounts, dtype=np.float64))
    assert cents.tolist() == [cents_of(a) for a in amounts]
    np.testing.assert_array_equal(from_cents(cents), round_to_cents(amounts))
    assert [amount_of(c) for c in cents.tolist()] == from_cents(cents).tolist()


@given(st.integers(-(10**14), 10**14))
def test_cents_make_the_trip_back_exactly(cents: int) -> None:
    assert cents_of(amount_of(cents)) == cents
    assert to_cents(from_cents([cents])).tolist() == [cents]
    assert cents_decimal(cents) == Decimal(cents) / 100
    assert len(str(cents_decimal(cents)).split(".")[1]) == 2
