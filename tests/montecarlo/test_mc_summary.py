"""Summary statistics against numpy/scipy, the Wilson interval, units and the table."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from incentsim.montecarlo.seeding import fresh_seed
from incentsim.montecarlo.summary import (
    Summary,
    describe_outcome,
    format_table,
    mean_interval,
    outcome_unit,
    summarise,
    trajectory_band,
    wilson_interval,
)


@pytest.fixture
def data() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    cost = rng.lognormal(13.8, 0.2, 400)
    return pd.DataFrame(
        {
            "incentive_cost": cost,
            "cost_to_revenue": rng.uniform(0.02, 0.05, 400),
            "budget_exceeded": (cost > 1_100_000).astype(float),
            "churned": rng.poisson(12, 400).astype(float),
        }
    )


def test_outcome_statistics_match_numpy_and_scipy(data: pd.DataFrame) -> None:
    values = data["incentive_cost"].to_numpy()
    s = describe_outcome("incentive_cost", values)
    assert (s.n, s.missing, s.probability) == (400, 0, False)
    assert s.mean == pytest.approx(np.mean(values), rel=1e-12)
    assert s.sd == pytest.approx(np.std(values, ddof=1), rel=1e-12)
    assert [s.p5, s.p50, s.p95] == pytest.approx(np.percentile(values, [5, 50, 95]), rel=1e-12)
    low, high = stats.t.interval(0.95, 399, loc=np.mean(values), scale=stats.sem(values))
    assert (s.ci_low, s.ci_high) == pytest.approx((low, high), rel=1e-12)
    # the interval is on the mean: far narrower than the spread of outcomes
    assert s.ci_high - s.ci_low < (s.p95 - s.p5) / 10


def test_missing_values_are_counted_and_left_out() -> None:
    s = describe_outcome("x", np.array([1.0, np.nan, 3.0, np.nan]))
    assert (s.n, s.missing, s.mean) == (2, 2, 2.0)
    empty = describe_outcome("x", np.array([np.nan]))
    assert (empty.n, empty.missing) == (0, 1)
    assert math.isnan(empty.mean)
    single = describe_outcome("x", np.array([5.0]))
    assert single.mean == 5.0
    assert math.isnan(single.sd)
    assert math.isnan(single.ci_low)
    assert all(math.isnan(v) for v in mean_interval(np.array([1.0])))


def test_intervals_of_outcomes_that_cannot_be_negative_stop_at_zero() -> None:
    rare = np.zeros(150)
    rare[7] = 1_600_000.0  # one replication in 150 overran its budget
    t_low, t_high = mean_interval(rare)
    assert t_low < 0
    overrun = describe_outcome("budget_overrun", rare)
    assert (overrun.ci_low, overrun.ci_high) == (0.0, pytest.approx(t_high, rel=1e-12))
    # an outcome that can be negative keeps the Student-t interval
    margin = describe_outcome("net_contribution", rare)
    assert (margin.ci_low, margin.ci_high) == pytest.approx((t_low, t_high), rel=1e-12)


def test_wilson_interval_known_values() -> None:
    assert wilson_interval(3, 10) == pytest.approx((0.10779, 0.60322), abs=1e-5)
    assert wilson_interval(0, 20) == pytest.approx((0.0, 0.16113), abs=1e-5)
    assert wilson_interval(20, 20) == pytest.approx((0.83887, 1.0), abs=1e-5)
    assert wilson_interval(50, 100) == pytest.approx((0.40383, 0.59617), abs=1e-5)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_budget_exceeded_is_a_probability_with_a_wilson_interval(data: pd.DataFrame) -> None:
    values = data["budget_exceeded"].to_numpy()
    s = describe_outcome("budget_exceeded", values)
    assert s.probability
    assert s.mean == pytest.approx(values.mean())
    assert (s.ci_low, s.ci_high) == pytest.approx(wilson_interval(int(values.sum()), 400))
    # not 0/1: summarised as a plain value
    assert not describe_outcome("budget_exceeded", np.array([0.5, 1.0])).probability


def test_trajectory_bands_per_period() -> None:
    matrix = np.random.default_rng(1).normal(size=(200, 6))
    band = trajectory_band("reserve", matrix)
    assert band.n_periods == 6
    np.testing.assert_allclose(band.p5, np.percentile(matrix, 5, axis=0))
    np.testing.assert_allclose(band.p50, np.median(matrix, axis=0))
    np.testing.assert_allclose(band.p95, np.percentile(matrix, 95, axis=0))
    np.testing.assert_allclose(band.mean, matrix.mean(axis=0))
    frame = band.to_frame()
    assert list(frame.columns) == ["mean", "p5", "p50", "p95"]
    assert frame.index.name == "period"


def test_frame_and_json_round_trip(data: pd.DataFrame) -> None:
    matrix = np.random.default_rng(2).uniform(size=(400, 4))
    s = summarise(data, {"reserve": matrix}, scenario="demo", seed=7, block_size=25)
    frame = s.to_frame()
    assert list(frame.index) == list(data.columns)
    assert list(frame.columns) == [
        "n", "missing", "mean", "sd", "p5", "p50", "p95", "ci_low", "ci_high", "probability",
    ]  # fmt: skip
    text = json.dumps(s.to_dict(), allow_nan=False)
    back = Summary.from_dict(json.loads(text))
    pd.testing.assert_frame_equal(back.to_frame(), frame)
    np.testing.assert_array_equal(back.trajectories["reserve"].p95, s.trajectories["reserve"].p95)
    assert (back.scenario, back.replications, back.seed, back.block_size) == ("demo", 400, 7, 25)


def test_nan_statistics_survive_json() -> None:
    s = summarise(pd.DataFrame({"x": [1.0]}), {}, scenario="one", seed=1)
    back = Summary.from_dict(json.loads(json.dumps(s.to_dict(), allow_nan=False)))
    assert math.isnan(back.outcomes["x"].sd)


@pytest.mark.parametrize(
    ("name", "unit"),
    [
        ("incentive_cost", "money"),
        ("revenue_gross", "money"),
        ("npv", "money"),
        ("reserve_min", "money"),
        ("budget_overrun", "money"),
        ("cost_to_revenue", "share"),
        ("retention", "share"),
        ("share_earning", "share"),
        ("payout_share_smallest_half", "share"),
        ("tier_share/gold", "share"),
        ("budget_exceeded", "probability"),
        ("reserve_depleted", "probability"),
        ("gini_payouts", "index"),
        ("loyalty_mean", "index"),
        ("churned", "count"),
        ("csat_mean", "score"),
    ],
)
def test_units(name: str, unit: str) -> None:
    assert outcome_unit(name) == unit


def test_table_for_the_terminal(data: pd.DataFrame) -> None:
    s = summarise(data, {}, scenario="baseline", seed=20261123, block_size=25, currency="EUR")
    table = format_table(s)
    lines = table.splitlines()
    assert lines[0] == "baseline: 400 replications, seed 20261123, block size 25"
    header = lines[2]
    assert header.split()[:6] == ["outcome", "mean", "sd", "P5", "P50", "P95"]
    assert header.endswith("95% CI of mean")
    cost = next(line for line in lines if line.startswith("incentive_cost (EUR)"))
    mean = s.outcomes["incentive_cost"].mean
    assert f"{mean:,.0f}" in cost
    assert "," in f"{mean:,.0f}"
    share = next(line for line in lines if line.startswith("cost_to_revenue (%)"))
    assert f"{100 * s.outcomes['cost_to_revenue'].mean:.1f}%" in share
    prob = next(line for line in lines if line.startswith("budget_exceeded (prob.)"))
    low, high = s.outcomes["budget_exceeded"].ci_low, s.outcomes["budget_exceeded"].ci_high
    assert prob.endswith(f"[{100 * low:.1f}%, {100 * high:.1f}%]")
    assert "churned  " in table
    assert "confidence intervals on the mean" in lines[-1]
    assert "not the spread" in lines[-1]
    # columns line up: every row of the table ends its CI column at the same place
    rows = [line for line in lines[2:-1] if line and not line.startswith("-")]
    assert len({len(line) for line in rows}) == 1
    assert str(s) == table


def test_table_header_names_a_fresh_stream() -> None:
    from incentsim.montecarlo.seeding import describe_seed

    s = summarise(
        pd.DataFrame({"x": [1.0, 2.0]}), {}, scenario="v", seed=describe_seed(fresh_seed(9, 2))
    )
    assert format_table(s).splitlines()[0] == "v: 2 replications, seed 9 (fresh stream 2)"
