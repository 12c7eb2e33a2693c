"""Weekly capacity of real partners, found by simulation from their revenue history.

A partner file's ``revenue_p1 .. revenue_pK`` columns set capacity, when no ``capacity`` column
is given, as ``mean period revenue / weeks_per_period / CAPACITY_SHARE_ASSUMED`` (0.5): a guess
at the share of its capacity a partner turns into the vendor's revenue. What a partner really
turns into revenue is the model's own product of share of wallet (its loyalty), effort (the
program's marginal reward), demand, churn and tier benefits, so re-simulating a population from
its own history with that guess over-predicts its revenue (median +12%, total +17% on
``baseline.yaml``, see ``benchmarks/capacity_recovery.py``).

:func:`calibrate_capacity` finds each partner's capacity by the method of simulated moments
with one moment per partner: simulate the observed periods under the scenario's program, scale
each partner's capacity by observed / simulated mean period revenue, and repeat. The model's
response to capacity is close to proportional, so a few rounds suffice.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from incentsim.engine.simulation import simulate_block
from incentsim.montecarlo.seeding import BLOCK_SIZE, SeedLike, block_seeds, fresh_seed
from incentsim.population.sample import CAPACITY_SHARE_ASSUMED, PARAMETER_BOUNDS, load_partners_csv

if TYPE_CHECKING:
    from incentsim.scenario.model import Scenario

#: The most one round scales a partner's capacity by (up or down): a partner the pilot lost
#: early (churn) would otherwise get an absurd capacity from one noisy round.
MAX_STEP: float = 2.0


def calibrate_capacity(
    scenario: Scenario,
    *,
    rounds: int = 3,
    reps: int = BLOCK_SIZE,
    seed: SeedLike | None = None,
    refit: bool = False,
) -> pd.DataFrame:
    """The scenario's partner file with a ``capacity`` column fitted to its revenue history.

    Parameters
    ----------
    scenario
        A scenario with real partners (``population.source``) whose file has revenue columns;
        the first ``K`` periods of its calendar are the ones the columns record.
    rounds
        Simulate-and-scale rounds.
    reps
        Replications per round (one block by default).
    seed
        Root seed of the rounds (default: a fresh stream of the scenario's seed, so the fit is
        not judged on the seeds it was made on).
    refit
        Fit a ``capacity`` the file gives too, starting from it (a calibration that has changed
        the behaviour constants refits the capacities it fitted before).

    Returns
    -------
    pandas.DataFrame
        The partner file's columns with ``capacity`` (weekly) set for every partner with an
        observed revenue (a capacity the file already gave is kept unless ``refit``).

    Raises
    ------
    ValueError
        The scenario has no partner file or its file no revenue columns.
    """
    population = scenario.population
    if population.source is None:
        raise ValueError("calibrate_capacity needs a scenario with population.source")
    real = load_partners_csv(population.source, population)
    columns = [c for c in real.columns if c.startswith("revenue_p")]
    if not columns:
        raise ValueError(f"{population.source}: no revenue_p1 .. columns to calibrate from")
    observed = real[columns].to_numpy(dtype=np.float64)
    seen = ~np.isnan(observed)
    observed_total = np.nansum(observed, axis=1)
    given = real["capacity"].to_numpy() if "capacity" in real else np.full(len(real), np.nan)
    wpp = scenario.calendar.weeks_per_period
    high = PARAMETER_BOUNDS["capacity"][1]
    mean = np.divide(
        observed_total, seen.sum(axis=1), out=np.zeros(len(real)), where=seen.any(axis=1)
    )
    capacity = np.where(np.isnan(given), mean / wpp / CAPACITY_SHARE_ASSUMED, given)
    fit = (refit | np.isnan(given)) & (observed_total > 0)
    calendar = scenario.calendar.model_copy(update={"horizon_periods": len(columns)})
    root = fresh_seed(scenario.seed, 2) if seed is None else seed
    blocks = block_seeds(root, reps * rounds, block_size=reps)
    with tempfile.TemporaryDirectory(prefix="incentsim-capacity-") as folder:
        for round_, block in enumerate(blocks):
            path = Path(folder) / f"partners-{round_}.csv"
            real.assign(capacity=capacity).to_csv(path, index=False, na_rep="")
            trial = scenario.model_copy(
                update={
                    "calendar": calendar,
                    "population": population.model_copy(update={"source": str(path)}),
                }
            )
            panel = simulate_block(trial, block.seed, block.reps, panel=True).panel
            assert panel is not None
            per_period = panel.pivot_table(
                index="partner_id", columns="period", values="revenue", aggfunc="sum"
            )
            per_period = per_period.reindex(index=real["partner_id"], columns=range(len(columns)))
            simulated = np.where(seen, per_period.fillna(0.0).to_numpy(), 0.0).sum(axis=1)
            simulated /= block.reps
            scale = np.divide(
                observed_total, simulated, out=np.ones(len(real)), where=simulated > 0
            )
            scale = np.clip(scale, 1.0 / MAX_STEP, MAX_STEP)
            capacity = np.where(fit, np.minimum(capacity * scale, high), capacity)
    return real.assign(capacity=capacity)
