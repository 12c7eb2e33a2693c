"""MonteCarloResult plots, and the real engine through the runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mc_fakes import TIERS, fake_block, tiny_scenario

from incentsim.montecarlo import MonteCarloResult, ProcessExecutor, run_montecarlo
from incentsim.scenario.loader import load_scenario
from incentsim.scenario.model import Scenario

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def result() -> MonteCarloResult:
    return run_montecarlo(
        tiny_scenario(replications=40), block_fn=fake_block, block_size=10, progress=False
    )


def test_cost_distribution_marks_budget_reserve_and_percentiles(result: MonteCarloResult) -> None:
    fig = result.plot_cost_distribution()
    (ax,) = fig.axes
    labels = [line.get_label() for line in ax.get_lines()]
    p50, p90 = np.percentile(result.outcomes["incentive_cost"], [50, 90])
    assert labels == [
        f"P50 {p50:,.0f}",
        f"P90 {p90:,.0f}",
        "budget 1,000,000",  # 250,000 per period over 4 periods
        "budget + reserve 1,050,000",
    ]
    share = np.mean(result.outcomes["incentive_cost"] > 1_000_000)
    assert f"P(over budget) = {share:.1%}" in ax.get_title()
    assert sum(p.get_height() for p in ax.patches) == 40
    custom = result.plot_cost_distribution(budget=900_000.0, reserve=0.0)
    assert [line.get_label() for line in custom.axes[0].get_lines()][2:] == ["budget 900,000"]


def test_trajectory_plot_shows_median_band_and_mean(result: MonteCarloResult) -> None:
    fig = result.plot_trajectory("reserve")
    ax = fig.axes[0]
    median, mean = ax.get_lines()
    band = result.summary.trajectories["reserve"]
    np.testing.assert_allclose(median.get_ydata(), band.p50)
    np.testing.assert_allclose(mean.get_ydata(), band.mean)
    assert len(ax.collections) == 1  # the P5-P95 band
    assert ax.get_xlabel() == "period (value at its close)"
    assert [t.get_text() for t in ax.get_xticklabels()][:2] == ["Q1 2027", "Q2 2027"]
    with pytest.raises(KeyError, match="no trajectory 'nope'"):
        result.plot_trajectory("nope")


def test_plots_draw_into_a_given_ax(result: MonteCarloResult) -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert result.plot_trajectory("reserve", ax=left) is fig
    assert result.plot_cost_distribution(ax=right) is fig
    assert left.get_lines()
    assert right.patches


def test_tier_migration_stacks_mean_tier_shares(result: MonteCarloResult) -> None:
    fig = result.plot_tier_migration()
    ax = fig.axes[0]
    assert len(ax.collections) == len(TIERS)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(legend) == sorted(TIERS)
    top = ax.collections[-1].get_paths()[0].vertices[:, 1].max()
    assert top == pytest.approx(1.0)  # the shares add up to all partners


def test_trajectories_frame(result: MonteCarloResult) -> None:
    frame = result.trajectories("loyalty_mean")
    assert frame.shape == (40, 4)
    assert frame.index.name == "replication"
    assert isinstance(frame, pd.DataFrame)
    with pytest.raises(KeyError, match="known: reserve"):
        result.trajectories("nope")


# --- the real engine ---------------------------------------------------------------------------


def small_real_scenario() -> Scenario:
    return load_scenario(ROOT / "scenarios" / "small.yaml", ["population.partners=30"])


def test_real_engine_streams_and_reopens(tmp_path: Path) -> None:
    scenario = small_real_scenario()
    result = run_montecarlo(scenario, reps=4, block_size=2, progress=False, out_dir=tmp_path)
    opened = MonteCarloResult.open(tmp_path)
    pd.testing.assert_frame_equal(result.outcomes, opened.outcomes, check_exact=True)
    assert opened.summary.outcomes["budget_exceeded"].probability
    assert opened.trajectories("weekly_revenue").shape == (4, scenario.calendar.horizon_weeks)
    assert opened.events()["block"].tolist()[0] == 0
    assert opened.plot_tier_migration().axes


@pytest.mark.slow
def test_real_engine_identical_serial_and_processes() -> None:
    """Slow: each worker process imports the engine (several seconds)."""
    scenario = small_real_scenario()
    options = {"reps": 6, "block_size": 2, "progress": False}
    serial = run_montecarlo(scenario, **options)  # type: ignore[arg-type]
    with ProcessExecutor(2) as pool:
        parallel = run_montecarlo(scenario, executor=pool, **options)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(serial.outcomes, parallel.outcomes, check_exact=True)
    for name in serial.trajectory_names:
        pd.testing.assert_frame_equal(
            serial.trajectories(name), parallel.trajectories(name), check_exact=True
        )


def test_real_engine_tier_flows_and_moves() -> None:
    scenario = small_real_scenario()
    result = run_montecarlo(scenario, reps=4, block_size=2, progress=False)
    flows = result.tier_flows()
    states = ["out", "unqualified", *scenario.program.tier_names]
    assert list(flows.index) == states
    assert list(flows.columns) == states
    by_period = sum(result.tier_flows(period=p) for p in range(scenario.calendar.horizon_periods))
    pd.testing.assert_frame_equal(by_period, flows)
    shares = result.tier_flows(row_shares=True)
    assert np.allclose(shares.sum(axis=1)[flows.sum(axis=1) > 0], 1.0)
    moves = result.tier_moves()
    assert list(moves.columns) == ["joined", "promoted", "kept", "demoted", "left"]
    assert moves.index[0] == "Q1 2027"
    assert moves.to_numpy().sum() == pytest.approx(flows.to_numpy().sum())
    # everyone in the program at the start is counted in the first period's moves
    assert moves.iloc[0].drop("joined").sum() == pytest.approx(scenario.population.partners)
    assert result.plot_tier_flows().axes
    assert result.plot_tier_moves().axes
