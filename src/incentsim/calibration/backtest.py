"""Back-test: what the old program cost over the history, replayed by the payout rules, against
what the calibrated simulation says it cost.

:func:`history_cost` replays the history under the program in force with
:func:`~incentsim.payout.statements.compute_statements` (the rules and ledger a simulation
runs: each payout rule exists once) and gives the program's cost per period, the accrued
total (every component earned after caps and gates, less clawbacks). :func:`backtest_table`
sets it and the history's revenue beside the same figures of histories simulated by the
calibrated model, written as transactions and replayed by the same payout code: the median
over the simulated histories and their 5-95% range. (The engine's own accrued cost differs
from a replay of the history it writes by a few percent, 3% over four quarters of
``scenarios/small.yaml``: a history flags whole deals as new logos and co-sold, so tiers that
ask for new logos can differ; replaying both sides keeps the comparison like for like.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from incentsim.payout.statements import Statements, compute_statements
from incentsim.payout.transactions import COLUMNS, MONEY_COLUMNS

if TYPE_CHECKING:
    from incentsim.calendar import Calendar
    from incentsim.program.spec import Program


def history_statements(
    transactions: pd.DataFrame, program: Program, calendar: Calendar
) -> Statements:
    """The payout replay of a history under ``program`` over ``calendar``'s horizon."""
    return compute_statements(program, calendar, transactions, n_periods=calendar.horizon_periods)


def as_validated(history: pd.DataFrame) -> pd.DataFrame:
    """A simulated history (:attr:`~incentsim.montecarlo.history.SimulatedHistory.
    transactions`) as :func:`~incentsim.payout.transactions.validate_transactions` returns it,
    without reading every value back from text: the writer's rows are valid by construction.

    The validated form: a ``line`` column (the first row line 2), the date as
    ``datetime64[ns]``, blank money as 0, a blank ``deal_type`` as ``other``, text as objects,
    no audit flags; marked ``validated``, so a payout replay only checks its dates.
    (Validating 20 simulated histories of 300 partners took 70% of a calibration's payout
    replays; ``tests/calibration/test_backtest.py`` checks the two forms are equal.)
    """
    n = len(history)
    columns: dict[str, np.ndarray] = {"line": np.arange(2, n + 2, dtype=np.int64)}
    for name in COLUMNS:
        columns[name] = (
            history[name].to_numpy() if name in history.columns else np.zeros(n, dtype=np.bool_)
        )
    columns["date"] = pd.to_datetime(history["date"]).to_numpy(dtype="datetime64[ns]")
    for name in MONEY_COLUMNS:
        columns[name] = np.nan_to_num(history[name].to_numpy(dtype=np.float64), nan=0.0)
    columns["deal_type"] = np.where(columns["deal_type"] == "", "other", columns["deal_type"])
    frame = pd.DataFrame(columns)
    text = ("partner_id", "segment", "region", "product", "deal_type", "deal_registration_id")
    frame = frame.astype({name: "object" for name in text})
    frame.attrs["source"] = "<simulated history>"
    frame.attrs["validated"] = True
    return frame


def history_cost(statements: Statements, periods: int) -> np.ndarray:
    """Program cost (accrued, currency units) per period of a payout replay, ``(periods,)``."""
    frame = statements.partners
    cents = statements.cents("accrued")
    cost = np.zeros(periods)
    np.add.at(cost, frame["period"].to_numpy(dtype=np.int64) - 1, cents / 100.0)
    return cost


def backtest_table(
    revenue: np.ndarray,
    cost: np.ndarray,
    simulated_revenue: np.ndarray,
    simulated_cost: np.ndarray,
    *,
    first: int = 0,
) -> pd.DataFrame:
    """Revenue and program cost per period, actual against simulated.

    Parameters
    ----------
    revenue, cost
        The history's per period ``(K,)``: revenue booked and the payout replay's cost.
    simulated_revenue, simulated_cost
        The same per simulated history, ``(S, K)``.
    first
        Number of the first period shown (0-based; the table's index is 1-based periods and
        ``total``).

    Returns
    -------
    pandas.DataFrame
        Index: ``1 .. K`` and ``total``; columns ``revenue``, ``revenue_predicted``,
        ``revenue_low``, ``revenue_high``, ``cost``, ``cost_predicted``, ``cost_low``,
        ``cost_high``, ``cost_inside`` (the replayed cost within the simulated 5-95% range).
    """
    columns: dict[str, np.ndarray] = {}
    for name, actual, sim in (
        ("revenue", revenue, simulated_revenue),
        ("cost", cost, simulated_cost),
    ):
        sim = np.column_stack([sim, sim.sum(axis=1)])
        columns[name] = np.append(actual, actual.sum())
        columns[f"{name}_predicted"] = np.median(sim, axis=0)
        columns[f"{name}_low"] = np.quantile(sim, 0.05, axis=0)
        columns[f"{name}_high"] = np.quantile(sim, 0.95, axis=0)
    table = pd.DataFrame(columns)
    table.index = pd.Index(
        [str(first + k + 1) for k in range(len(revenue))] + ["total"], name="period"
    )
    table["cost_inside"] = (table["cost"] >= table["cost_low"]) & (
        table["cost"] <= table["cost_high"]
    )
    return table
