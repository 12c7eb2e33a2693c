"""A simulated history with what the simulation's rules engine paid, for checking statements
computed over that history against the simulation (shared by the payout tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from incentsim.engine import simulation
from incentsim.montecarlo.history import simulate_history, write_history
from incentsim.payout.statements import compute_statements
from incentsim.payout.transactions import read_transactions
from incentsim.program import rules
from incentsim.scenario.model import Scenario


@dataclass
class RecordedHistory:
    """Replication 0 of a simulated history: its revenue per partner and period, the partner
    ids, each id's slot in the simulation's arrays, the rules engine's assessment at every
    period close, and the statements computed over the history's transactions."""

    revenue: pd.DataFrame
    ids: list[Any]
    slots: dict[Any, int]
    closes: list[Any]
    statements: pd.DataFrame


def recorded_history(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> RecordedHistory:
    """Simulate ``scenario``'s history while recording each period close, then compute the
    statements over its transactions."""
    closes: list[Any] = []
    built: list[Any] = []

    def recording(*args: Any, **kwargs: Any) -> Any:
        state, assessment = rules.assess_period(*args, **kwargs)
        closes.append(assessment)
        return state, assessment

    build = simulation.build_partners

    def building(*args: Any, **kwargs: Any) -> Any:
        built.append(build(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(simulation, "assess_period", recording)
    monkeypatch.setattr(simulation, "build_partners", building)
    history = simulate_history(scenario)
    monkeypatch.undo()
    path = write_history(history.transactions, tmp_path / "history.csv")
    transactions = read_transactions(path, calendar=scenario.calendar)
    statements = compute_statements(
        scenario.program, scenario.calendar, transactions,
        n_periods=scenario.calendar.horizon_periods,
    ).partners  # fmt: skip
    assert len(closes) == scenario.calendar.horizon_periods
    ids = list(history.revenue.index)
    slots = {pid: i for i, pid in enumerate(built[0].partner_id)}
    return RecordedHistory(history.revenue, ids, slots, closes, statements)
