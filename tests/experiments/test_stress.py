"""Stress tests: cases over common random numbers, resilience tables, reverse stress test."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from incentsim.experiments import ExperimentError, Limit, StressTest, parse_limit, stress
from incentsim.experiments.shocks import parse_shocks
from incentsim.experiments.stress import BASELINE, reverse_stress, stress_cases
from incentsim.scenario.loader import load_scenario
from incentsim.scenario.model import Scenario

SMALL = Path(__file__).parents[2] / "scenarios" / "small.yaml"
REPS = 8
SEED = 3
RECESSION = "recession:severe"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(SMALL)


@pytest.fixture(scope="module")
def test(scenario: Scenario) -> StressTest:
    return stress(scenario, [RECESSION, "surge:severe"], reps=REPS, seed=SEED, progress=False)


def test_a_severe_recession_lowers_revenue_against_the_baseline(test: StressTest) -> None:
    table = test.resilience("revenue_net")
    base = table.loc[BASELINE, "mean"]
    change = table.loc[RECESSION, "change"]
    assert table.loc[RECESSION, "change_high"] < 0
    # 35% less demand at the trough for half the horizon: roughly 10-20% less revenue
    assert -0.30 < change / base < -0.05
    assert table.loc[RECESSION, "verdict"] == "lower (worse)"
    assert table.loc["worst case", "verdict"] == f"worst case: {RECESSION}"
    assert table.loc[BASELINE, "change"] == 0.0
    # the CVaR of a higher-is-better outcome lies below the mean, in every case
    cases = table.loc[test.labels]
    assert (cases["cvar"] < cases["mean"]).all()


def test_a_surge_raises_cost_and_the_overrun_risk(test: StressTest) -> None:
    cost = test.resilience("incentive_cost")
    assert cost.loc["surge:severe", "change_low"] > 0
    assert cost.loc["worst case", "verdict"] == "worst case: surge:severe"
    risks = test.risks()
    assert list(risks.index) == test.labels
    assert risks.loc["surge:severe", "p_budget_exceeded"] > risks.loc[BASELINE, "p_budget_exceeded"]
    for name in ("budget_exceeded", "reserve_depleted"):
        p, low, high = (risks[f"p_{name}{s}"] for s in ("", "_low", "_high"))
        assert ((low <= p) & (p <= high) & (high <= 1)).all()
    assert (risks["replications"] == REPS).all()


def test_the_terminal_table_puts_budget_and_reserve_first(test: StressTest) -> None:
    text = test.table()
    assert text.index("P(over budget)") < text.index("Resilience")
    assert "P(reserve ran out)" in text
    assert "worst CVaR" in text
    matrix = test.matrix()
    assert list(matrix.index) == [*test.labels, "worst case", "worst CVaR"]
    assert set(test.tables()) == {"risks", "resilience"}


def test_combinations() -> None:
    shocks = parse_shocks("recession,competitor,surge")
    assert len(stress_cases(shocks)) == 4
    labels = [c.label for c in stress_cases(shocks, combine=True)]
    assert len(labels) == 1 + 3 + 3 + 1
    assert labels[-1] == "recession:severe + competitor:severe + surge:severe"
    assert len(stress_cases(shocks[:2], combine=True)) == 4  # the pair is all of them


def test_limits() -> None:
    assert parse_limit("reserve_depleted > 0.1") == Limit("reserve_depleted", ">", 0.1)
    limit = parse_limit("retention<=0.7")
    assert limit.broken(0.7)
    assert not limit.broken(0.71)
    assert not limit.broken(float("nan"))
    with pytest.raises(ExperimentError, match="OUTCOME<VALUE"):
        parse_limit("retention=0.7")


def test_reverse_stress_finds_the_breaking_magnitude(scenario: Scenario, test: StressTest) -> None:
    floor = 0.9 * test.resilience("revenue_net").loc[BASELINE, "mean"]
    point = reverse_stress(
        scenario,
        ["recession"],
        Limit("revenue_net", "<", floor),
        reps=REPS,
        seed=SEED,
        steps=4,
        baseline=test.results[BASELINE],
    )
    assert point.status == "broken"
    assert point.high - point.low == pytest.approx(1 / 16)
    assert 0 < point.low <= point.estimate <= point.high < 1
    probes = {p.scale: p for p in point.probes}
    assert not probes[point.low].broken
    assert probes[point.high].broken
    assert probes[point.low].value >= floor > probes[point.high].value
    # a 10% revenue loss needs a recession of roughly 0.15-0.5 (severe is 0.35)
    magnitude = point.summary()["magnitude"]
    assert 0.1 < magnitude < 0.5
    assert point.mc_low <= point.estimate <= point.mc_high
    assert "breaks 'revenue_net<" in point.describe()


def test_reverse_stress_reports_limits_it_cannot_bracket(
    scenario: Scenario, test: StressTest
) -> None:
    baseline = test.results[BASELINE]
    never = reverse_stress(
        scenario, ["recession"], "revenue_net<0", reps=REPS, seed=SEED, baseline=baseline
    )
    assert never.status == "not broken"
    assert len(never.probes) == 2
    assert "even at its extreme (magnitude 0.8" in never.describe()
    always = reverse_stress(
        scenario, ["surge"], "revenue_net>0", reps=REPS, seed=SEED, baseline=baseline
    )
    assert always.status == "already broken"
    assert len(always.probes) == 1
    with pytest.raises(ExperimentError, match="unknown outcome 'loyalty'"):
        reverse_stress(scenario, ["surge"], "loyalty<0.5", reps=REPS, seed=SEED, baseline=baseline)


def test_stress_runs_the_reverse_test_for_each_limit_and_shock(scenario: Scenario) -> None:
    result = stress(
        scenario,
        "recession:mild,competitor:mild",
        combine=True,
        limits=["revenue_net<1"],
        reps=2,
        seed=SEED,
        steps=1,
        progress=False,
    )
    assert result.labels[-1] == "recession:mild + competitor:mild"
    assert [b.label for b in result.breaking_points] == [
        "recession",
        "competitor",
        "recession + competitor",
    ]
    assert set(result.tables()) == {"risks", "resilience", "breaking_points", "probes"}


def test_a_limit_on_an_unknown_outcome_fails_before_the_shocks_run(scenario: Scenario) -> None:
    with pytest.raises(ExperimentError, match="unknown outcome 'loyalty'"):
        stress(scenario, "recession", limits=["loyalty<0.5"], reps=2, progress=False)
    with pytest.raises(ExperimentError, match="CVaR tail"):
        stress(scenario, "recession", tail=0.9, reps=2, progress=False)
    with pytest.raises(ExperimentError, match="at least one step"):
        stress(scenario, "recession", limits=["retention<0.5"], steps=0, reps=2, progress=False)
    with pytest.raises(ExperimentError, match=r"'recession:5' does not fit 'small': market\."):
        stress(scenario, "recession:5", reps=2, progress=False)


@pytest.mark.slow
def test_a_stricter_limit_breaks_at_a_milder_shock(scenario: Scenario) -> None:
    baseline = stress(scenario, "competitor", reps=40, seed=SEED, progress=False)
    revenue = baseline.resilience("revenue_net").loc[BASELINE, "mean"]
    magnitudes = [
        reverse_stress(
            scenario,
            ["recession"],
            Limit("revenue_net", "<", share * revenue),
            reps=40,
            seed=SEED,
            steps=6,
            baseline=baseline.results[BASELINE],
        ).summary()["magnitude"]
        for share in (0.95, 0.9, 0.85)
    ]
    assert magnitudes == sorted(magnitudes)
    assert magnitudes[0] < magnitudes[-1] - 0.05


@dataclass(frozen=True)
class _Retention:
    """What :func:`shock_response` returns: outcomes and trajectories only."""

    outcomes: dict[str, np.ndarray]
    trajectories: dict[str, np.ndarray]
    panel: None = None
    events: None = None


#: Retention lost per unit of each shock's magnitude in :func:`shock_response` (a surge gains it).
RETENTION_PER_UNIT = {"competitor": -0.5, "recession": -0.05, "surge": 1 / 60}


def shock_response(
    scenario: Scenario, seed: np.random.SeedSequence, reps: int, panel: bool = False
) -> _Retention:
    """A stand-in for the engine: retention 0.9 plus each shock's magnitude times its
    :data:`RETENTION_PER_UNIT`, the same in every replication."""
    retention = 0.9 + sum(RETENTION_PER_UNIT[s.kind] * s.magnitude for s in scenario.market.shocks)
    return _Retention({"retention": np.full(reps, retention)}, {"retention": np.ones((reps, 1))})


def breaking_points(shocks: str, limit: str) -> dict[str, Any]:
    """The reverse stress tests of ``limit`` for ``shocks``, alone and combined, by label."""
    test = stress(
        load_scenario(SMALL),
        shocks,
        combine=True,
        limits=[limit],
        reps=4,
        seed=SEED,
        steps=6,
        progress=False,
        block_fn=shock_response,
    )
    return {point.label: point for point in test.breaking_points}


def test_the_combined_search_leaves_out_a_shock_that_softens_a_break() -> None:
    # A competitor at 0.1 (two thirds of its extreme, 0.15) breaks retention<0.85 alone; a surge
    # at its extreme (3.0) adds 0.05, so the two at their extremes give 0.875: scaled together,
    # they never break it.
    points = breaking_points("competitor,surge", "retention<0.85")
    alone = points["competitor"]
    assert alone.status == "broken"
    assert alone.estimate == pytest.approx(2 / 3, abs=1 / 64)
    assert points["surge"].status == "not broken"
    combined = points["competitor + surge"]
    assert combined.status == "broken"
    assert combined.shocks == ("competitor",)
    assert combined.left_out == ("surge",)
    # No milder than either shock alone: at the extremes, its retention is the lowest.
    extreme = {
        label: next(p.value for p in b.probes if p.scale == 1.0) for label, b in points.items()
    }
    assert extreme["competitor + surge"] <= min(extreme["competitor"], extreme["surge"])
    assert combined.estimate <= alone.estimate
    assert "leaves out surge, which softens the others" in combined.describe()
    assert combined.summary()["left_out"] == "surge"


def test_the_combined_search_keeps_every_shock_that_adds_to_the_break() -> None:
    # A recession (extreme 0.8: -0.04) adds to the competitor's loss: together they break the
    # limit at a smaller share of their extremes than the competitor alone (0.05 / 0.115).
    points = breaking_points("competitor,recession", "retention<0.85")
    combined = points["competitor + recession"]
    assert combined.shocks == ("competitor", "recession")
    assert combined.left_out == ()
    assert combined.estimate == pytest.approx(0.05 / 0.115, abs=1 / 64)
    assert combined.estimate < points["competitor"].estimate


@pytest.mark.slow
def test_a_surge_does_not_hide_the_break_a_competitor_makes_in_the_engine() -> None:
    # The baseline cut to 300 partners over 4 quarters (8 replications, seed 3): a competitor at
    # its extreme alone takes retention to 0.825, both shocks at their extremes to 0.836 (the
    # surge softens it), so 'retention<0.83' breaks alone and not along the common scale.
    scenario = load_scenario(
        SMALL.parent / "baseline.yaml", ["population.partners=300", "calendar.horizon_periods=4"]
    )
    test = stress(
        scenario,
        "competitor,surge",
        combine=True,
        limits=["retention<0.83"],
        reps=8,
        seed=SEED,
        steps=3,
        progress=False,
    )
    alone, _, combined = test.breaking_points
    assert alone.status == combined.status == "broken"
    assert combined.left_out == ("surge",)
    assert combined.estimate <= alone.estimate
