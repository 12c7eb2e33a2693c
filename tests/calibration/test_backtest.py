"""The back-test: the old program's cost replayed by the payout rules, against the simulation."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import incentsim
from incentsim.calibration.backtest import (
    as_validated,
    backtest_table,
    history_cost,
    history_statements,
)
from incentsim.montecarlo.history import simulate_history

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "scenarios" / "small.yaml"


@pytest.mark.parametrize("name", ["small", "baseline"])
def test_a_simulated_history_as_validated_is_what_validation_returns(name: str) -> None:
    """Returns, MDF claims, snapshots, blank deal types and registrations: the same frame,
    value for value and type for type, as reading every value back from text gives."""
    from incentsim.payout.transactions import validate_transactions

    scenario = incentsim.load_scenario(
        ROOT / "scenarios" / f"{name}.yaml", ["population.partners=60"]
    )
    history = simulate_history(scenario, seed=3).transactions
    assert (history["returned_amount"] > 0).any()
    assert (history["mdf_claim"] > 0).any()
    assert (history["deal_type"] == "").any()
    trusted = as_validated(history)
    pd.testing.assert_frame_equal(
        trusted, validate_transactions(history, calendar=scenario.calendar)
    )
    assert trusted.attrs["validated"]


def test_history_cost_is_the_payout_replay_and_matches_the_simulation() -> None:
    """A simulated history replayed by the payout rules costs about what the engine accrued
    for the same partners (one rule, two callers): within 5% in total; not to the cent, as a
    history flags whole deals as new logos, which moves some tiers (hence the back-test
    replays simulated histories too)."""
    from incentsim.montecarlo.history import _simulated

    scenario = incentsim.load_scenario(
        SMALL, ["population.partners=40", "population.recruitment.per_period=0"]
    )
    history = simulate_history(scenario, seed=5)
    statements = history_statements(history.transactions, scenario.program, scenario.calendar)
    cost = history_cost(statements, scenario.calendar.horizon_periods)
    assert Decimal(str(round(cost.sum(), 2))) == statements.summary()["accrued"]
    assert cost.shape == (scenario.calendar.horizon_periods,)
    assert (cost > 0).all()
    recorder, _, row, _ = _simulated(scenario, 5, 0)
    engine = np.asarray(recorder.per_period["cost"])[row]
    assert cost.sum() == pytest.approx(engine.sum(), rel=0.05)


def test_backtest_table_by_hand() -> None:
    sims = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    table = backtest_table(np.array([3.0, 4.0]), np.array([9.9, 5.0]), sims, sims * 2)
    assert list(table.index) == ["1", "2", "total"]
    assert table.loc["total", "revenue"] == 7.0
    assert table.loc["1", "revenue_predicted"] == 3.0
    assert table.loc["total", "revenue_predicted"] == 7.0  # median of 3, 7, 11
    assert table.loc["2", "cost_predicted"] == 8.0
    assert table.loc["1", "cost_low"] == pytest.approx(2.0 + 0.1 * 4.0)
    assert not table.loc["1", "cost_inside"]  # 9.9 is above the 95% point of 2, 6, 10 (9.6)
    assert table.loc["2", "cost_inside"]
