"""The outcome catalogue describes exactly what the recorder reports, with true bounds."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from incentsim.engine.outcomes import (
    OUTCOMES,
    TRAJECTORIES,
    constructs_in_use,
    describe,
    shown_outcomes,
)
from incentsim.engine.simulation import BlockResult, simulate_block
from incentsim.scenario.loader import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BUNDLED = [
    p
    for p in sorted(SCENARIOS.glob("*.yaml"))
    if "levers" not in yaml.safe_load(p.read_text(encoding="utf-8"))
]


@pytest.fixture(scope="module")
def blocks() -> dict[str, tuple[frozenset[str], BlockResult]]:
    """Three replications of each bundled scenario, on 150 partners."""
    runs = {}
    for path in BUNDLED:
        scenario = load_scenario(path, ["population.partners=150"])
        block = simulate_block(scenario, np.random.SeedSequence(3), 3)
        runs[path.name] = (constructs_in_use(scenario.program), block)
    return runs


def test_the_recorder_reports_exactly_the_catalogued_outcomes(blocks) -> None:
    for name, (_, block) in blocks.items():
        assert list(block.outcomes) == list(OUTCOMES), name
        plain = {t for t in block.trajectories if not t.startswith("tier_share/")}
        assert plain == set(TRAJECTORIES), name


def test_outcomes_stay_within_their_bounds(blocks) -> None:
    for scenario, (_, block) in blocks.items():
        for name, values in block.outcomes.items():
            entry = OUTCOMES[name]
            present = values[~np.isnan(values)]
            assert np.all(present >= entry.low - 1e-9), (scenario, name, present.min())
            assert np.all(present <= entry.high + 1e-9), (scenario, name, present.max())
        for name, matrix in block.trajectories.items():
            entry = describe(name)
            present = matrix[~np.isnan(matrix)]
            assert np.all(present >= entry.low - 1e-9), (scenario, name)
            assert np.all(present <= entry.high + 1e-9), (scenario, name)


def test_outcomes_of_constructs_out_of_use_are_zero(blocks) -> None:
    hidden_somewhere = set()
    for scenario, (constructs, block) in blocks.items():
        hidden = set(OUTCOMES) - set(shown_outcomes(OUTCOMES, constructs))
        hidden_somewhere |= hidden
        for name in hidden:
            values = block.outcomes[name]
            assert np.all((values == 0) | np.isnan(values)), (scenario, name, values)
    assert {"cost_spiffs", "cost_co_sell", "cost_milestones"} <= hidden_somewhere


def test_every_entry_is_complete() -> None:
    for entry in [*OUTCOMES.values(), *TRAJECTORIES.values()]:
        assert entry.label, entry.name
        assert entry.description.endswith("."), entry.name
        assert entry.direction in (-1, 0, 1)
        assert entry.low < entry.high
    assert describe("tier_share/gold").unit == "share"
    assert describe("unknown_thing").unit == "number"
    assert OUTCOMES["retention"].clip(1.2) == 1.0
    assert math.isnan(OUTCOMES["retention"].clip(math.nan))
