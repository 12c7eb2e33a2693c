"""The top-level doors: ``incentsim.load_scenario`` and ``incentsim.simulate``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import incentsim
from incentsim.errors import ScenarioError

SMALL = Path(__file__).resolve().parents[1] / "scenarios" / "small.yaml"


def test_simulate_from_a_path_matches_simulate_from_a_scenario() -> None:
    scenario = incentsim.load_scenario(SMALL)
    by_path = incentsim.simulate(SMALL, reps=3, seed=5, progress=False)
    by_object = incentsim.simulate(scenario, reps=3, seed=5, progress=False)
    assert by_path.replications == 3
    np.testing.assert_array_equal(by_path.outcomes.to_numpy(), by_object.outcomes.to_numpy())


def test_overrides_reach_the_simulation() -> None:
    base = incentsim.simulate(SMALL, reps=2, seed=5, progress=False)
    richer = incentsim.simulate(
        SMALL,
        reps=2,
        seed=5,
        progress=False,
        overrides=["program.tiers.registered.rebate_rate=0.019"],
    )
    assert (richer.outcomes["cost_rebate"] > base.outcomes["cost_rebate"]).all()


def test_bad_override_names_the_field() -> None:
    with pytest.raises(ScenarioError, match="calendar"):
        incentsim.simulate(SMALL, reps=1, overrides=["calendar.horizon_periods=-1"])


def test_public_api_is_listed() -> None:
    for name in incentsim.__all__:
        assert getattr(incentsim, name) is not None
    with pytest.raises(AttributeError):
        _ = incentsim.no_such_thing
