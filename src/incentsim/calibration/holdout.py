"""The hold-out check: calibrate without the history's last periods, predict them, compare.

:func:`holdout_check` calibrates on every period but the last ``periods``, simulates the
calibrated model over the whole history (its partners and constants, one block per parameter
draw on a fresh stream) and compares, for the held-out periods, each segment's revenue, the
pooled period-end and returns shares and the program's cost with the history's: the
prediction is the median over replications and draws, the interval their 5-95% range. The
history's program cost is the payout replay of the program in force over the held-out periods
(:mod:`incentsim.calibration.backtest`: the rules a simulation runs), the prediction the
same replay of :data:`REPLAYED` simulated histories of each draw.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from incentsim.calibration.backtest import history_cost, history_statements
from incentsim.calibration.estimate import (
    VARIANCE_REPS,
    Progress,
    _run,
    calibrate,
    history_periods,
)
from incentsim.calibration.moments import moments
from incentsim.calibration.observed import Observed, observed_history
from incentsim.montecarlo.seeding import BLOCK_SIZE, fresh_seed

if TYPE_CHECKING:
    from incentsim.program.spec import Program
    from incentsim.scenario.model import Scenario

#: Parameter draws simulated for the prediction (one block each).
DRAWS: int = 4

#: Simulated histories of each draw's block replayed by the payout rules for the program
#: cost.
REPLAYED: int = 5


def holdout_check(
    scenario: Scenario,
    transactions: pd.DataFrame,
    periods: int,
    *,
    program: Program | None = None,
    reps: int = BLOCK_SIZE,
    bootstrap: int = 200,
    passes: int = 2,
    variance_reps: int = VARIANCE_REPS,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Predicted against actual over the last ``periods`` of a history.

    ``program``, ``reps``, ``bootstrap``, ``passes`` and ``variance_reps`` are those of
    :func:`~incentsim.calibration.estimate.calibrate`, whose calibration here skips the
    back-test (only its partners, constants and draws are used).

    Returns
    -------
    pandas.DataFrame
        Index: ``revenue:<segment>`` (total over the held-out periods, partners present at the
        history's start), ``period_end_share``, ``returns_share``, ``program_cost`` (total
        over the held-out periods, the same partners); columns ``actual``, ``predicted``,
        ``low``, ``high``, ``inside``.

    Raises
    ------
    ValueError
        ``periods`` leaves fewer than two periods to calibrate on.
    """
    total = history_periods(transactions, scenario.calendar)
    cut = total - periods
    if periods < 1 or cut < 2:
        raise ValueError(f"a hold-out of {periods} periods leaves {cut} of {total} to calibrate on")
    calendar = scenario.calendar
    start = pd.Timestamp(calendar.start_date)
    dates = pd.to_datetime(transactions["date"])
    early = transactions[(dates - start).dt.days < cut * 7 * calendar.weeks_per_period]
    fitted = calibrate(
        scenario,
        early,
        program=program,
        reps=reps,
        bootstrap=bootstrap,
        passes=passes,
        variance_reps=variance_reps,
        backtest_histories=0,
        progress=progress,
    )
    segments = tuple(scenario.population.segments)
    whole = calendar.model_copy(update={"horizon_periods": total})
    observed, ids = observed_history(transactions, whole, segments)
    cohort = ids.get_indexer(fitted.partners["partner_id"])
    actual = _held_out(observed.take(cohort), cut, scenario.behaviour.timing_weeks)
    members = set(fitted.partners["partner_id"])
    replay = history_statements(
        transactions[transactions["partner_id"].isin(members)],
        scenario.program if program is None else program,
        whole,
    )
    actual["program_cost"] = float(history_cost(replay, total)[cut:].sum())
    rows = np.linspace(0, len(fitted.draws) - 1, DRAWS).astype(int)
    seeds = fresh_seed(scenario.seed, 5).spawn(DRAWS)
    predicted: list[pd.Series] = []
    with tempfile.TemporaryDirectory(prefix="incentsim-holdout-") as folder:
        path = Path(folder) / "partners.csv"
        fitted.partners.to_csv(path, index=False, na_rep="")
        base = fitted.scenario.model_copy(
            update={
                "calendar": whole,
                "population": fitted.scenario.population.model_copy(update={"source": str(path)}),
            }
        )
        for row, seed in zip(rows, seeds, strict=True):
            values = fitted.draws.drop(columns="draw").iloc[row].to_dict()
            trial = base.model_copy(update={"behaviour": base.behaviour.model_copy(update=values)})
            if progress:
                progress(f"prediction {len(predicted) // reps + 1} of {DRAWS}", 1)
            sim, cost = _run(trial, seed, reps, len(fitted.partners), replayed=REPLAYED)
            for r in range(reps):
                figures = _held_out(sim.replication(r), cut, trial.behaviour.timing_weeks)
                # the replayed histories' cost (the others' is left out of its median)
                figures["program_cost"] = float(cost[r, cut:].sum()) if r < len(cost) else np.nan
                predicted.append(figures)
    spread = pd.DataFrame(predicted)
    table = pd.DataFrame(
        {
            "actual": actual,
            "predicted": spread.median(),
            "low": spread.quantile(0.05),
            "high": spread.quantile(0.95),
        }
    )
    table["inside"] = (table["actual"] >= table["low"]) & (table["actual"] <= table["high"])
    return table


def _held_out(observed: Observed, cut: int, timing_weeks: int) -> pd.Series:
    """The compared figures of the periods from ``cut`` on."""
    later = observed.periods_from(cut)
    m = moments(later, timing_weeks=timing_weeks)
    revenue = later.revenue.sum(axis=2)[0]
    out = {
        f"revenue:{name}": float(revenue[later.segment[0] == k].sum())
        for k, name in enumerate(later.segments)
    }
    out["period_end_share"] = float(m["period_end_share"])
    out["returns_share"] = float(m["returns_share"])
    return pd.Series(out)
