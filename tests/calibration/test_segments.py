"""Figures per segment and region: trend and seasonality, deal size, and the sandwich variance."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from incentsim.calibration.estimate import _covariance
from incentsim.calibration.observed import Observed
from incentsim.calibration.segments import (
    DEAL_CYCLE_REASON,
    WIN_RATE_REASON,
    demand_estimates,
    demand_fit,
    partner_deal_size,
)
from incentsim.market.spec import Market


def test_demand_fit_recovers_a_trend_and_seasons_by_hand() -> None:
    seasons = np.log([0.9, 1.0, 0.95, 1.15])
    seasons -= seasons.mean()
    k = np.arange(8)
    revenue = 1000.0 * 1.2 ** (k / 4) * np.exp(seasons[k % 4])
    fit = demand_fit(revenue, 4)
    assert fit is not None
    assert math.expm1(fit[0]) == pytest.approx(0.2)
    np.testing.assert_allclose(fit[1:], seasons, atol=1e-12)
    assert demand_fit(revenue[:5], 4) is None  # fewer periods than seasons + 2
    assert demand_fit(np.r_[revenue[:7], 0.0], 4) is None


def _observed(revenue: np.ndarray, segment: np.ndarray) -> Observed:
    """Revenue ``(reps, partners, periods)`` booked in the first week of each 2-week period."""
    r, n, k = revenue.shape
    weekly = np.zeros((r, n, 2 * k))
    weekly[:, :, ::2] = revenue
    return Observed(weekly, np.zeros((r, n, k)), segment, ("a", "b"), 2)


def test_demand_estimates_move_the_prior_by_the_history_less_the_model() -> None:
    """The model's histories grow 5% a year (its own dynamics at the prior); the history grows
    25%: the estimate is the prior's 10% moved by the difference, 10% + 20% in log terms."""
    n, k = 40, 8
    years = np.arange(k) / 4
    segment = np.zeros((1, n), dtype=int)
    segment[0, n // 2 :] = 1
    history = _observed(np.broadcast_to(100.0 * 1.25**years, (1, n, k)).copy(), segment)
    rng = np.random.default_rng(1)
    noise = np.exp(rng.normal(0.0, 0.01, (30, 1, k)))
    model = _observed(
        np.broadcast_to(100.0 * 1.05**years * noise, (30, n, k)).copy(),
        np.repeat(segment, 30, axis=0),
    )
    market = Market(trend_per_year=0.10, seasonality=[1.0])
    rows = {(r["quantity"], r["group"]): r for r in demand_estimates(history, model, market, 4)}
    trend = rows[("trend_per_year", "all")]
    expected = math.expm1(math.log1p(0.10) + math.log(1.25) - math.log(1.05))
    assert trend["estimate"] == pytest.approx(expected, abs=0.01)
    assert trend["low"] < trend["estimate"] < trend["high"]
    assert trend["identified"]
    assert trend["in_scenario"]
    assert rows[("trend_per_year", "segment:a")]["identified"]
    assert not rows[("trend_per_year", "segment:a")]["in_scenario"]  # the market is shared
    season = rows[("seasonality_1", "all")]
    assert season["estimate"] == pytest.approx(1.0, abs=0.02)
    assert season["identified"]  # two years: each season seen twice


def test_one_year_does_not_identify_seasonality() -> None:
    n, k = 30, 6
    segment = np.zeros((1, n), dtype=int)
    history = _observed(np.full((1, n, k), 100.0), segment)
    model = _observed(
        np.full((10, n, k), 100.0) * np.exp(np.random.default_rng(2).normal(0, 0.01, (10, 1, k))),
        np.zeros((10, n), dtype=int),
    )
    rows = demand_estimates(history, model, Market(seasonality=[1.0, 1.0, 1.0, 1.0]), 4)
    seasons = [r for r in rows if r["quantity"].startswith("seasonality") and r["group"] == "all"]
    assert len(seasons) == 4
    assert not any(r["identified"] for r in seasons)
    assert "two years" in seasons[0]["reason"]


def test_deal_size_uses_days_with_two_deals() -> None:
    rows = pd.DataFrame(
        {
            "partner_id": ["P1", "P1", "P1", "P2"],
            "date": ["2027-01-04", "2027-01-04", "2027-01-05", "2027-01-04"],
            "amount": [100.0, 300.0, 5.0, 50.0],
            "segment": ["a"] * 4,
            "region": ["x"] * 4,
        }
    )
    sizes = partner_deal_size(rows)
    assert sizes.loc["P1", "deal_size"] == pytest.approx(200.0)  # the 5.0 day is left out
    assert math.isnan(sizes.loc["P2", "deal_size"])


def test_reasons_name_what_a_history_lacks() -> None:
    assert "opportunities lost" in WIN_RATE_REASON
    assert "opened" in DEAL_CYCLE_REASON


def test_sandwich_covariance_by_hand() -> None:
    """One constant, two moments with unit response: G = [1/2, 1/2]; the variance is
    G (S_data + S_sim / reps) G'."""
    jac = np.array([[1.0], [1.0]])
    data = np.array([[1.0, 0.0], [0.0, 1.0]])
    sim = np.array([[2.0, 0.0], [0.0, 2.0]])
    cov = _covariance(jac, data, sim, reps=4)
    assert cov[0, 0] == pytest.approx(0.25 * (1.5 + 1.5))


def test_the_calibrated_scenario_holds_what_is_identified_and_held() -> None:
    from pathlib import Path

    import incentsim
    from incentsim.calibration.estimate import with_estimates
    from incentsim.calibration.segments import _row, estimates_frame

    scenario = incentsim.load_scenario(
        Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml"
    )
    rows = [
        _row("trend_per_year", "all", estimate=0.12, identified=True, in_scenario=True),
        _row("trend_per_year", "segment:reseller", estimate=0.5, identified=True),
        *[
            _row(f"seasonality_{j + 1}", "all", estimate=v, identified=True, in_scenario=True)
            for j, v in enumerate([0.9, 1.0, 1.0, 1.1])
        ],
        _row("deal_size", "segment:reseller", estimate=9000.0, identified=True, in_scenario=True),
        _row(
            "deal_size_sigma", "segment:reseller", estimate=0.4, identified=True, in_scenario=True
        ),
        _row("deal_size", "segment:system_integrator", estimate=1.0, reason="too few"),
    ]
    held = with_estimates(scenario, estimates_frame(rows))
    assert held.market.trend_per_year == 0.12  # the pooled figure, not the segment's
    assert held.market.seasonality == [0.9, 1.0, 1.0, 1.1]
    reseller = held.population.segments["reseller"].deal_size
    assert (reseller.median, reseller.sigma) == (9000.0, 0.4)  # type: ignore[union-attr]
    before = scenario.population.segments["system_integrator"].deal_size
    assert held.population.segments["system_integrator"].deal_size == before
