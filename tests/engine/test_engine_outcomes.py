"""The outcome catalogue describes exactly what the recorder reports, with true bounds."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from incentsim.engine.outcomes import (
    CONSTRUCTS,
    OUTCOMES,
    TRAJECTORIES,
    _switches,
    constructs_in_use,
    describe,
    shown_outcomes,
)
from incentsim.engine.simulation import BlockResult, simulate_block
from incentsim.program.rules import COMPONENTS
from incentsim.scenario.loader import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BUNDLED = [
    p
    for p in sorted(SCENARIOS.glob("*.yaml"))
    if "levers" not in yaml.safe_load(p.read_text(encoding="utf-8"))
]


@pytest.fixture(scope="module")
def blocks() -> dict[str, tuple[frozenset[str], BlockResult]]:
    """Three replications of each bundled scenario, on 150 partners, and of the small scenario
    without its co-sell bonus (every bundled program pays one)."""
    cases = [(path.name, path, []) for path in BUNDLED]
    cases.append(
        ("small.yaml without co-sell", SCENARIOS / "small.yaml", ["program.co_sell.rate=0"])
    )
    runs = {}
    for name, path, changes in cases:
        scenario = load_scenario(path, ["population.partners=150", *changes])
        block = simulate_block(scenario, np.random.SeedSequence(3), 3)
        runs[name] = (constructs_in_use(scenario.program), block)
    return runs


def test_the_recorder_reports_exactly_the_catalogued_outcomes(blocks) -> None:
    for name, (_, block) in blocks.items():
        assert list(block.outcomes) == list(OUTCOMES), name
        plain = {t for t in block.trajectories if not t.startswith(("tier_share/", "tier_flow/"))}
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


def _flow(trajectories: dict[str, np.ndarray], source: str, target: str) -> np.ndarray:
    """A flow's counts (zeros for ``out->out``, which is not recorded)."""
    zeros = np.zeros_like(trajectories["active_share"])
    return trajectories.get(f"tier_flow/{source}->{target}", zeros)


def test_constructs_come_from_the_payout_components() -> None:
    """One list of components: each is an outcome and, but the rebate, a construct."""
    assert [c for c in CONSTRUCTS if c in COMPONENTS] == [c for c in COMPONENTS if c != "rebate"]
    for component in COMPONENTS:
        expected = frozenset() if component == "rebate" else frozenset({component})
        assert OUTCOMES[f"cost_{component}"].constructs == expected
    program = load_scenario(SCENARIOS / "baseline.yaml").program
    assert set(_switches(program)) == set(CONSTRUCTS)


def test_tier_flows_account_for_every_partner_in_each_tier(blocks) -> None:
    """Flows into a state at a close add up to the partners in it (the tier shares), flows out
    of a state to those in it at the previous close, and partners do change tiers."""
    for name, (_, block) in blocks.items():
        t = block.trajectories
        tiers = [n.removeprefix("tier_share/") for n in t if n.startswith("tier_share/")]
        states = ["out", *tiers]
        into = {s: sum(_flow(t, a, s) for a in states) for s in tiers}
        n_active = sum(into.values())
        for s in tiers:
            share = np.divide(into[s], n_active, out=np.zeros_like(n_active), where=n_active > 0)
            assert np.allclose(share, t[f"tier_share/{s}"]), (name, s)
            out_of = sum(_flow(t, s, b) for b in states)
            assert np.array_equal(out_of[:, 1:], into[s][:, :-1]), (name, s)
        moves = [_flow(t, a, b).sum() for a in tiers for b in tiers if a != b]
        assert sum(moves) > 0, name
