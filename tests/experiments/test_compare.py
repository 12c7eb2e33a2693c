"""Comparing design variants over common random numbers: paired differences and verdicts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from incentsim.experiments import Comparison, ExperimentError, compare, paired_difference
from incentsim.experiments.compare import outcome_direction, replications_needed, variant_labels
from incentsim.montecarlo import run_montecarlo
from incentsim.scenario.loader import load_scenario

SCENARIOS = Path(__file__).parents[2] / "scenarios"
SMALL = SCENARIOS / "small.yaml"
REPS = 8


def richer_rebates(folder: Path) -> Path:
    """``small`` with every tier's rebate rate doubled."""
    path = folder / "richer.yaml"
    path.write_text(
        f"extends: {SMALL}\nname: richer\nprogram:\n  tiers:\n"
        "    registered: {rebate_rate: 0.02}\n    silver: {rebate_rate: 0.04}\n"
        "    gold: {rebate_rate: 0.06}\n    platinum: {rebate_rate: 0.08}\n"
    )
    return path


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory) -> Comparison:
    richer = richer_rebates(tmp_path_factory.mktemp("variants"))
    return compare([SMALL, SMALL, richer], reps=REPS, seed=5, progress=False)


# --- the statistics -----------------------------------------------------------------------------


def test_identical_values_are_identical_not_indistinguishable() -> None:
    values = np.array([3.0, 5.0, 4.0, 8.0])
    d = paired_difference("incentive_cost", values, values.copy())
    assert (d.mean, d.sd, d.ci_low, d.ci_high) == (0.0, 0.0, 0.0, 0.0)
    assert d.verdict == "identical"
    assert not d.distinguishable
    assert d.assessment == "neutral"
    assert d.reps_needed is None
    assert d.describe() == "identical in every replication"
    noisy = paired_difference("incentive_cost", values + np.array([1.0, -1.0, 0.5, -0.5]), values)
    assert noisy.describe() == "not distinguishable at 4 replications"


def test_an_interval_stays_within_the_outcome_range() -> None:
    d = paired_difference("retention", np.array([1.0, 0.0]), np.array([0.0, 0.0]))
    assert (d.ci_low, d.ci_high) == (-1.0, 1.0)  # Student t on 2 values: about -5.9 to +6.9


def test_a_clear_shift_is_higher_and_worse_for_a_cost() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(100.0, 10.0, 30)
    d = paired_difference("incentive_cost", base + 5.0 + rng.normal(0, 1, 30), base)
    assert d.verdict == "higher"
    assert d.assessment == "worse"
    assert 4.0 < d.ci_low < d.mean < d.ci_high < 6.0
    assert d.reps_needed is not None
    assert d.reps_needed <= 5


def test_pairing_removes_the_shared_noise() -> None:
    """The same shift is invisible to unpaired noise but clear once paired."""
    rng = np.random.default_rng(2)
    base = rng.normal(100.0, 50.0, 20)
    d = paired_difference("revenue_net", base + 1.0 + rng.normal(0, 0.1, 20), base)
    assert d.verdict == "higher"
    assert d.assessment == "better"
    assert abs(d.mean - 1.0) < 0.1


def test_differences_that_cancel_out_up_to_rounding_have_no_mean() -> None:
    """Retention moves by whole partners: the differences sum to zero but their float mean
    is -1.9e-17, which once asked for 10^29 replications."""
    variant = np.array([116, 132, 126, 143, 114, 97]) / 150
    reference = np.array([142, 131, 125, 113, 115, 102]) / 150
    assert np.mean(variant - reference) != 0.0
    d = paired_difference("retention", variant, reference)
    assert d.mean == 0.0
    assert d.reps_needed is None
    assert d.verdict == "not distinguishable"
    assert replications_needed(1e-9, 1.0) is None  # beyond MAX_REPS_NEEDED


def test_missing_values_are_left_out() -> None:
    d = paired_difference("retention", np.array([1.0, np.nan, 3.0]), np.array([1.0, 2.0, 2.0]))
    assert d.n == 2
    assert (d.variant_mean, d.reference_mean, d.mean) == (2.0, 1.5, 0.5)


def test_replications_needed_and_directions() -> None:
    assert replications_needed(1.0, 2.0) == 32  # (1.96 + 0.84)^2 * 4 = 31.4
    assert replications_needed(10.0, 1.0) == 2
    assert replications_needed(0.0, 1.0) is None
    assert outcome_direction("cost_rebate") == -1
    assert outcome_direction("retention") == +1
    assert outcome_direction("gini_payouts") == 0


def test_labels_are_made_unique() -> None:
    scenario = load_scenario(SMALL)
    assert variant_labels([(scenario, SMALL), (scenario, SMALL)]) == ["small", "small#2"]
    with pytest.raises(ExperimentError, match="must differ"):
        variant_labels([(scenario, None), (scenario, None)], names=["a", "a"])


# --- whole comparisons ---------------------------------------------------------------------------


def test_a_variant_compared_with_itself_is_identical(comparison: Comparison) -> None:
    same = [d for d in comparison.differences if d.variant == "small#2"]
    assert len(same) == len(comparison.outcome_names) > 40
    for d in same:
        assert d.verdict == "identical" or (d.n == 0 and d.verdict == "not distinguishable"), d
        assert d.mean == 0.0 or np.isnan(d.mean)
        assert d.reps_needed is None


def test_richer_rebates_are_costlier_with_an_interval_excluding_zero(
    comparison: Comparison,
) -> None:
    cost = comparison.difference("richer", "incentive_cost")
    assert cost.verdict == "higher"
    assert cost.assessment == "worse"
    assert cost.ci_low > 0
    # doubling every rate roughly doubles the rebates, less what the budget and cap cut
    rebate = comparison.difference("richer", "cost_rebate")
    assert 0.5 < rebate.relative < 1.1
    assert "higher (worse)" in comparison.table()
    assert comparison.replications == REPS


def test_tables_and_identity(comparison: Comparison) -> None:
    frame = comparison.to_frame()
    assert set(frame["variant"]) == {"small#2", "richer"}
    assert len(frame) == 2 * len(comparison.outcome_names)
    means = comparison.tables()["means"]
    assert list(means.columns) == ["small", "small#2", "richer"]
    identity = comparison.identity()
    assert identity["seed"] == 5
    assert identity["replications"] == REPS
    assert (
        identity["variants"]["richer"]["scenario_hash"]
        != (identity["variants"]["small"]["scenario_hash"])
    )


def test_runs_over_different_random_numbers_are_refused() -> None:
    scenario = load_scenario(SMALL)
    runs = {
        label: run_montecarlo(scenario, reps=2, seed=seed, progress=False)
        for label, seed in (("a", 1), ("b", 2))
    }
    with pytest.raises(ExperimentError, match="common random numbers"):
        Comparison(runs)


def test_one_scenario_is_not_a_comparison() -> None:
    with pytest.raises(ExperimentError, match="at least two"):
        compare([SMALL], reps=2, progress=False)
