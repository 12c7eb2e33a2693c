"""The one conditional value at risk, shared by the optimizer and the stress test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from incentsim.risk import cvar


def test_whole_tails_are_the_mean_of_the_worst_replications() -> None:
    values = np.arange(1.0, 21.0)
    assert cvar(values, 0.1) == pytest.approx(19.5)
    assert cvar(values, 0.1, worst="low") == pytest.approx(1.5)
    assert cvar(values, 0.01, worst="low") == 1.0  # less than one replication: the worst one


def test_a_fractional_tail_counts_the_last_replication_for_its_fraction() -> None:
    # The example: 30% of four values is 1.2 replications, 10 and a fifth of 3.
    assert cvar([1.0, 2.0, 3.0, 10.0], 0.3) == pytest.approx((10.0 + 0.2 * 3.0) / 1.2)


def test_missing_values_are_left_out_and_none_gives_nan() -> None:
    assert cvar([np.nan, 1.0, 3.0], 0.5) == 3.0
    assert math.isnan(cvar([np.nan], 0.5))
    with pytest.raises(ValueError, match="tail"):
        cvar([1.0], 0.0)


@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60),
    st.floats(0.01, 1.0),
)
def test_cvar_lies_between_the_mean_and_the_worst_value(values: list[float], tail: float) -> None:
    x = np.array(values)
    high = cvar(x, tail)
    assert x.mean() - 1e-6 * (1 + abs(x).max()) <= high <= x.max() + 1e-6 * (1 + abs(x).max())
    assert cvar(x, tail, worst="low") == pytest.approx(-cvar(-x, tail))
    assert cvar(x, 1.0) == pytest.approx(x.mean(), abs=1e-6 * (1 + abs(x).max()))
