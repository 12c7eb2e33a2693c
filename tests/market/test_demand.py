"""Tests for market paths: trend, seasonality, noise and shocks (incentsim.market.demand)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from incentsim.market import NOISE_PERSISTENCE, MarketPath, market_path
from incentsim.scenario.model import Scenario

PROGRAM = {"tiers": {"registered": {"rebate_rate": 0.01}}}
POPULATION = {
    "partners": 10,
    "segments": {"reseller": {"share": 0.6}, "si": {"share": 0.4}},
    "regions": {"emea": 0.5, "amer": 0.5},
}
QUIET = {"trend_per_year": 0.0, "demand_noise": 0.0}


def scenario(market: dict[str, Any] | None = None, **calendar: int) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "test",
            "population": POPULATION,
            "calendar": calendar,
            "market": market or {},
            "program": PROGRAM,
        }
    )


def shock(kind: str, start: int = 10, duration: int = 5, magnitude: float = 0.2, **kw: Any) -> dict:
    return {
        "kind": kind,
        "start_week": start,
        "duration_weeks": duration,
        "magnitude": magnitude,
        **kw,
    }


def drawn_path(s: Scenario, rng: np.random.Generator, reps: int) -> MarketPath:
    """The path :func:`market_path` draws from ``s``'s market, groups and calendar."""
    return market_path(s.market, s.population.groups, s.calendar, rng, reps)


def path(market: dict[str, Any] | None = None, reps: int = 3, seed: int = 5) -> MarketPath:
    return drawn_path(scenario(market), np.random.default_rng(seed), reps)


def test_shapes_and_defaults() -> None:
    m = path()
    assert m.demand.shape == (3, 104, 4)
    for name in ("supply", "price", "competitor_offer"):
        assert getattr(m, name).shape == (3, 104, 4)
    assert m.payout_delay_extra_weeks.shape == (3, 104)
    assert m.payout_delay_extra_weeks.dtype == np.int64
    assert m.shock_active.shape == (3, 104, 0)
    assert m.group_names == ("reseller/emea", "reseller/amer", "si/emea", "si/amer")
    assert np.all(m.supply == 1.0)
    assert np.all(m.price == 1.0)
    assert np.all(m.competitor_offer == 0.02)
    assert np.all(m.payout_delay_extra_weeks == 0)
    # The demand factor is common to every group.
    assert np.all(m.demand == m.demand[:, :, :1])
    with pytest.raises(ValueError, match="read-only"):
        m.demand[0, 0, 0] = 2.0


def test_same_seed_same_path() -> None:
    market = {"shocks": [shock("recession", probability=0.5)]}
    a, b, c = path(market, seed=1), path(market, seed=1), path(market, seed=2)
    np.testing.assert_array_equal(a.demand, b.demand)
    np.testing.assert_array_equal(a.shock_active, b.shock_active)
    assert not np.array_equal(a.demand, c.demand)


def test_trend_compounds_to_one_year() -> None:
    m = path({"trend_per_year": 0.10, "demand_noise": 0.0})
    d = m.demand[0, :, 0]
    assert d[0] == pytest.approx(1.0)
    assert d[52] == pytest.approx(1.10 * d[0])
    assert d[104 - 1] == pytest.approx(1.10 ** (103 / 52))
    assert np.all(np.diff(d) > 0)


def test_seasonality_normalised_to_mean_one() -> None:
    m = path({**QUIET, "seasonality": [2.0, 1.0, 1.0, 4.0]})
    d = m.demand[0, :, 0]
    np.testing.assert_allclose(d[:13], 1.0)
    np.testing.assert_allclose(d[13:26], 0.5)
    np.testing.assert_allclose(d[39:52], 2.0)
    np.testing.assert_allclose(d[52:65], 1.0)  # next year repeats
    assert d[:52].mean() == pytest.approx(1.0)


def test_single_seasonality_value_is_flat() -> None:
    m = path({**QUIET, "seasonality": [3.0]})
    np.testing.assert_allclose(m.demand, 1.0)


def test_noise_mean_one_bounded_and_persistent() -> None:
    sigma = 0.05
    m = path({"trend_per_year": 0.0, "demand_noise": sigma}, reps=4000)
    d = m.demand[:, :, 0]
    stationary_sd = sigma / math.sqrt(1 - NOISE_PERSISTENCE**2)
    # Mean-one in every week (within sampling error), log-sd at its stationary value.
    assert np.abs(d.mean(axis=0) - 1.0).max() < 5 * stationary_sd / math.sqrt(4000)
    assert np.log(d[:, -1]).std() == pytest.approx(stationary_sd, rel=0.05)
    lag1 = np.corrcoef(np.log(d[:, 60]), np.log(d[:, 61]))[0, 1]
    assert lag1 == pytest.approx(NOISE_PERSISTENCE, abs=0.03)


def test_shock_active_exactly_in_window() -> None:
    m = path({**QUIET, "shocks": [shock("recession", start=10, duration=5, magnitude=0.2)]})
    expected = np.zeros(104, dtype=bool)
    expected[10:15] = True
    for rep in range(3):
        np.testing.assert_array_equal(m.shock_active[rep, :, 0], expected)
    np.testing.assert_allclose(m.demand[:, 10:15], 0.8)
    np.testing.assert_allclose(m.demand[:, :10], 1.0)
    np.testing.assert_allclose(m.demand[:, 15:], 1.0)
    assert m.shock_kinds == ("recession",)


def test_shock_effect_is_exact_ratio_even_with_noise() -> None:
    # The noise has its own stream, so a shock leaves it unchanged (common random numbers).
    base = path({"demand_noise": 0.1})
    hit = path({"demand_noise": 0.1, "shocks": [shock("surge", magnitude=0.5)]})
    ratio = hit.demand / base.demand
    np.testing.assert_allclose(ratio[:, 10:15], 1.5)
    np.testing.assert_allclose(ratio[:, :10], 1.0)
    np.testing.assert_allclose(ratio[:, 15:], 1.0)


def test_adding_a_shock_keeps_other_shocks_draws() -> None:
    first = shock("recession", probability=0.5)
    one = path({"shocks": [first]}, reps=50)
    two = path({"shocks": [first, shock("surge", start=40, probability=0.5)]}, reps=50)
    np.testing.assert_array_equal(one.shock_active[..., 0], two.shock_active[..., 0])


def test_window_cut_at_horizon() -> None:
    m = path({**QUIET, "shocks": [shock("recession", start=100, duration=20)]})
    assert m.shock_active[0, :, 0].sum() == 4
    with pytest.raises(ValidationError, match="after the end of the horizon"):
        path({**QUIET, "shocks": [shock("recession", start=500, duration=20)]})


@settings(max_examples=50, deadline=None)
@given(
    start=st.integers(0, 120),
    duration=st.integers(1, 60),
    ramp=st.integers(0, 10),
    horizon=st.integers(1, 10),
)
def test_window_property(start: int, duration: int, ramp: int, horizon: int) -> None:
    assume(start < 13 * horizon)  # a shock starting after the horizon is a validation error
    market = {**QUIET, "shocks": [shock("price_war", start, duration, 0.3, ramp_weeks=ramp)]}
    m = drawn_path(scenario(market, horizon_periods=horizon), np.random.default_rng(0), 2)
    weeks = np.arange(13 * horizon)
    inside = (weeks >= start) & (weeks < start + duration)
    np.testing.assert_array_equal(m.shock_active[0, :, 0], inside)
    assert np.all(m.price[:, ~inside] == 1.0)
    assert np.all((m.price[:, inside] < 1.0) & (m.price[:, inside] >= 0.7 - 1e-12))
    full = inside & (weeks >= start + ramp)
    np.testing.assert_allclose(m.price[:, full], 0.7)


def test_ramp_linear_then_full() -> None:
    m = path(
        {
            **QUIET,
            "shocks": [shock("recession", start=10, duration=10, magnitude=0.4, ramp_weeks=3)],
        }
    )
    d = m.demand[0, :, 0]
    # Intensities 1/4, 2/4, 3/4 over the three ramp weeks, then 1.
    np.testing.assert_allclose(d[10:14], [0.9, 0.8, 0.7, 0.6])
    np.testing.assert_allclose(d[14:20], 0.6)
    assert d[20] == 1.0
    assert m.shock_active[0, 10:20, 0].all()


@pytest.mark.parametrize("probability", [0.0, 0.3, 0.8, 1.0])
def test_probability_share_of_replications(probability: float) -> None:
    reps = 4000
    m = path({**QUIET, "shocks": [shock("surge", probability=probability)]}, reps=reps)
    hit = m.shock_active[:, :, 0].any(axis=1)
    # All or nothing within a replication.
    np.testing.assert_array_equal(m.shock_active[:, 10:15, 0].all(axis=1), hit)
    sd = math.sqrt(probability * (1 - probability) / reps)
    assert abs(hit.mean() - probability) <= 4 * sd
    np.testing.assert_allclose(m.demand[hit][:, 10:15], 1.2)
    np.testing.assert_allclose(m.demand[~hit], 1.0)


def test_segment_and_region_filters() -> None:
    s = scenario(
        {
            **QUIET,
            "shocks": [
                shock("recession", segments=["si"]),
                shock("supply_shortage", regions=["amer"], magnitude=0.5),
                shock("competitor", segments=["reseller"], regions=["emea"], magnitude=0.1),
            ],
        }
    )
    m = drawn_path(s, np.random.default_rng(0), 2)
    groups = s.population.groups
    si = [groups.index("si", r) for r in ("emea", "amer")]
    resellers = [groups.index("reseller", r) for r in ("emea", "amer")]
    np.testing.assert_allclose(m.demand[:, 10:15][..., si], 0.8)
    np.testing.assert_allclose(m.demand[:, 10:15][..., resellers], 1.0)
    amer = [groups.index(sg, "amer") for sg in ("reseller", "si")]
    emea = [groups.index(sg, "emea") for sg in ("reseller", "si")]
    np.testing.assert_allclose(m.supply[:, 10:15][..., amer], 0.5)
    np.testing.assert_allclose(m.supply[:, 10:15][..., emea], 1.0)
    target = groups.index("reseller", "emea")
    others = [g for g in range(4) if g != target]
    np.testing.assert_allclose(m.competitor_offer[:, 10:15, target], 0.12)
    np.testing.assert_allclose(m.competitor_offer[:, 10:15][..., others], 0.02)
    np.testing.assert_allclose(m.competitor_offer[:, :10], 0.02)


def test_shocks_combine() -> None:
    market = {
        **QUIET,
        "competitor_offer": 0.05,
        "shocks": [
            shock("recession", start=10, duration=10, magnitude=0.2),
            shock("recession", start=15, duration=10, magnitude=0.5),
            shock("surge", start=18, duration=1, magnitude=1.0),
            shock("price_war", start=10, duration=5, magnitude=0.1),
            shock("price_war", start=12, duration=5, magnitude=0.5),
            shock("competitor", start=10, duration=5, magnitude=0.03),
            shock("competitor", start=12, duration=5, magnitude=0.04),
            shock("payout_outage", start=10, duration=5, magnitude=2.0),
            shock("payout_outage", start=12, duration=5, magnitude=1.5),
            shock("payout_outage", start=30, duration=1, magnitude=2.5),
        ],
    }
    m = path(market)
    d = m.demand[0, :, 0]
    np.testing.assert_allclose(d[[9, 10, 15, 18, 19, 20, 25]], [1, 0.8, 0.4, 0.8, 0.4, 0.5, 1])
    np.testing.assert_allclose(m.price[0, [10, 12, 15, 17], 0], [0.9, 0.45, 0.5, 1.0])
    np.testing.assert_allclose(m.competitor_offer[0, [10, 12, 15, 17], 0], [0.08, 0.12, 0.09, 0.05])
    # Delays add, then round to the nearest week, halves up: 2, 2 + 1.5 = 3.5 -> 4, 1.5 -> 2.
    np.testing.assert_array_equal(
        m.payout_delay_extra_weeks[0, [9, 10, 12, 15, 17, 30]], [0, 2, 4, 2, 0, 3]
    )
    assert m.shock_active[0, 12].sum() == 7


def test_competitor_offer_capped_at_one() -> None:
    m = path({**QUIET, "competitor_offer": 0.5, "shocks": [shock("competitor", magnitude=0.8)]})
    assert m.competitor_offer.max() == 1.0


def test_payout_outage_cannot_be_limited_to_a_segment() -> None:
    with pytest.raises(ValidationError, match="cannot be limited to segments"):
        path({"shocks": [shock("payout_outage", magnitude=2.0, segments=["si"])]})
