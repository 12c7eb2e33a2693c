"""Blocks simulated stacked give each block the numbers it has alone, to the last bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import incentsim
from incentsim.engine.simulation import simulate_block
from incentsim.engine.stacked import StackedGenerator, simulate_stacked
from incentsim.population.sample import build_partners
from incentsim.scenario.model import Scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SHOCKS = (
    "market.shocks=["
    "{kind: payout_outage, start_week: 16, duration_weeks: 20, magnitude: 3, probability: 0.5},"
    "{kind: competitor, start_week: 10, duration_weeks: 20, magnitude: 0.02, probability: 0.5}]"
)


def assert_stacked_as_alone(scenario: Scenario, entropies: list[int], reps: list[int]) -> None:
    seeds = [np.random.SeedSequence(e) for e in entropies]
    stacked = simulate_stacked(scenario, seeds, reps)
    assert len(stacked) == len(reps)
    for entropy, count, outcomes in zip(entropies, reps, stacked, strict=True):
        alone = simulate_block(scenario, np.random.SeedSequence(entropy), count).outcomes
        assert sorted(outcomes) == sorted(alone)
        for name, values in alone.items():
            assert outcomes[name].shape == (count,)
            assert outcomes[name].tobytes() == values.tobytes(), name


@pytest.mark.parametrize(
    ("path", "overrides"),
    [
        ("small.yaml", ["program.co_sell.rate=0.02", SHOCKS]),
        ("constructs.yaml", ["population.partners=60"]),
    ],
)
def test_stacked_blocks_match_blocks_alone(path: str, overrides: list[str]) -> None:
    scenario = incentsim.load_scenario(SCENARIOS / path, overrides=overrides)
    assert_stacked_as_alone(scenario, [3, 4, 5], [6, 6, 2])


def test_blocks_with_more_recruitment_slots_are_stacked_apart() -> None:
    # With these settings block 871 draws one recruit more than the slots sized from the
    # rate (11 slots instead of 10), so it cannot share arrays with blocks 0 and 1.
    scenario = incentsim.load_scenario(
        SCENARIOS / "small.yaml",
        overrides=[
            "population.partners=4",
            "population.recruitment.per_period=1",
            "population.recruitment.capacity_per_period=1",
            "calendar.horizon_periods=2",
        ],
    )
    slots = [
        build_partners(
            scenario.population,
            scenario.calendar,
            np.random.default_rng(np.random.SeedSequence(e).spawn(3)[0]),
            25,
        ).segment.shape[1]
        for e in (0, 871, 1)
    ]
    assert slots == [10, 11, 10]
    assert_stacked_as_alone(scenario, [0, 871, 1], [25, 25, 25])


def test_a_stacked_generator_draws_each_blocks_rows_from_its_own_stream() -> None:
    stacked = StackedGenerator([np.random.default_rng(1), np.random.default_rng(2)], [2, 3])
    draws = stacked.random((5, 4))
    np.testing.assert_array_equal(draws[:2], np.random.default_rng(1).random((2, 4)))
    np.testing.assert_array_equal(draws[2:], np.random.default_rng(2).random((3, 4)))
    with pytest.raises(ValueError, match=r"shaped \(replications, ...\) with 5 replications"):
        stacked.random((4, 4))
    with pytest.raises(AttributeError, match=r"cannot draw with Generator\.normal"):
        stacked.normal(size=(5, 4))
