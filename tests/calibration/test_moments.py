"""Moments computed by hand on small histories."""

from __future__ import annotations

import numpy as np
import pytest

from incentsim.calibration.moments import moments
from incentsim.calibration.observed import Observed


def _observed(weekly: np.ndarray, returns: np.ndarray, segment: list[int]) -> Observed:
    return Observed(weekly[None], returns[None], np.array([segment]), ("a", "b"), 4)


def test_period_end_and_start_shares_and_returns() -> None:
    weekly = np.array([[1.0, 1.0, 1.0, 5.0, 2.0, 2.0, 2.0, 2.0]])
    observed = _observed(weekly, np.array([[0.0, 1.6]]), [0])
    m = moments(observed, timing_weeks=1)
    assert m["period_end_share"] == pytest.approx(7.0 / 16.0)
    assert m["period_start_share"] == pytest.approx(3.0 / 16.0)
    assert m["returns_share"] == pytest.approx(0.1)
    assert m["period_end_share:a"] == m["period_end_share"]
    assert np.isnan(m["period_end_share:b"])


def test_churn_counts_partners_that_never_book_again() -> None:
    # three periods of one week... four weeks a period: partner 0 stays, 1 leaves after period 0
    weekly = np.zeros((2, 12))
    weekly[0, [0, 4, 8]] = 10.0
    weekly[1, [0]] = 10.0
    observed = _observed(weekly, np.zeros((2, 3)), [0, 1])
    m = moments(observed, timing_weeks=1)
    # active in periods 0-1 (the last excluded): partner 0 twice, partner 1 once; 1 leaves
    assert m["churn"] == pytest.approx(1.0 / 3.0)
    assert m["churn:a"] == 0.0
    assert m["churn:b"] == 1.0


def test_bunching_and_tier_reach() -> None:
    revenue = [95.0, 101.0, 105.0, 110.0, 50.0]
    weekly = np.zeros((len(revenue), 4))
    weekly[:, 0] = revenue
    observed = _observed(weekly, np.zeros((len(revenue), 1)), [0] * len(revenue))
    m = moments(observed, timing_weeks=1, thresholds={"gold": 100.0})
    assert m["bunching"] == pytest.approx(np.log(3.0 / 1.0))
    assert m["reaches_gold"] == pytest.approx(3.0 / 5.0)
