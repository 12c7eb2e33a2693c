"""Calibrate a scenario to a transactions history by the method of simulated moments.

:func:`calibrate` takes the history of the partners present at its start and:

1. fits each partner's weekly capacity to its own revenue (:func:`~incentsim.montecarlo.
   capacity.calibrate_capacity`), and per segment the heavy-tailed family the fitted capacities
   follow (lognormal or Pareto, by likelihood), for recruits;
2. estimates the behaviour constants of :data:`~incentsim.calibration.constants.ESTIMATED`: the
   model is simulated with candidate constants over those partners under common random numbers
   (one fixed seed), and a bounded Gauss-Newton search (``scipy.optimize.least_squares``)
   matches its pooled moments to the history's, each weighted by the inverse of its bootstrap
   variance; then the capacities are refitted at the constants found and the search repeated;
3. gives the uncertainty by bootstrap: partners are resampled within segments, the history's
   moments recomputed, and each resample moved through the fitted local response of the
   moments to the constants (the Jacobian at the estimate; simulation noise adds ``1 / reps``
   of the sampling variance). A constant whose 90% interval spans more than
   :data:`IDENTIFIED_WIDTH` of its plausible range (on its search scale) is reported as not
   identified by this history and kept at its prior; so is every constant no moment moves
   (:func:`~incentsim.calibration.constants.not_identified`).
"""

from __future__ import annotations

import hashlib
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from incentsim.calibration.constants import ESTIMATED, not_identified
from incentsim.calibration.moments import moments
from incentsim.calibration.observed import Observed, observed_history, observed_simulation
from incentsim.engine.simulation import Simulation, draw_partners_and_market
from incentsim.montecarlo.capacity import calibrate_capacity
from incentsim.montecarlo.history import partner_table
from incentsim.montecarlo.seeding import BLOCK_SIZE, fresh_seed

if TYPE_CHECKING:
    from incentsim.calendar import Calendar
    from incentsim.program.spec import Program
    from incentsim.scenario.model import Scenario

#: Widest 90% interval, as a share of a constant's plausible range on its search scale, for
#: the history to count as identifying it.
IDENTIFIED_WIDTH: float = 0.25

#: Step of the finite differences, in units of the plausible range.
STEP: float = 0.08

#: Nominal coverage of the reported intervals.
LEVEL: float = 0.90

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ConstantFit:
    """One behaviour constant after calibration.

    Attributes
    ----------
    name
        The behaviour field.
    prior
        Its value in the input scenario.
    estimate
        The simulated-moments estimate.
    low, high
        Its 90% bootstrap interval.
    identified
        Whether the interval is narrow enough (:data:`IDENTIFIED_WIDTH`): the calibrated
        scenario uses ``estimate`` when it is, ``prior`` when it is not.
    evidence
        What in the history carries it.
    """

    name: str
    prior: float
    estimate: float
    low: float
    high: float
    identified: bool
    evidence: str

    @property
    def value(self) -> float:
        """The value the calibrated scenario uses."""
        return self.estimate if self.identified else self.prior


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` found.

    Attributes
    ----------
    scenario
        The input scenario with the calibrated constants, the real partners (``population.
        source`` a temporary file until :func:`~incentsim.calibration.output.write_calibration`
        writes ``partners``) and the history's calendar.
    partners
        The partner file of the history's partners with their fitted ``capacity``.
    constants
        The estimated constants.
    draws
        Bootstrap draws of the behaviour constants (column ``draw`` and one column per
        estimated constant; a constant not identified is at its prior in every draw).
    moments
        Index: moment names (pooled and ``name:segment``); columns ``observed``, ``simulated``
        (at the calibrated constants), ``sd`` (bootstrap standard deviation of the observed)
        and ``matched`` (whether the search matched it).
    capacity
        Per segment: the lognormal and Pareto fits of the fitted capacities (see
        :func:`capacity_families`).
    recruitment_per_period
        Partners that started booking revenue after the first period, per period.
    periods
        Periods of the history.
    evaluations
        Simulations the search ran.
    unidentified
        The constants no moment moves: ``name -> (prior, low, high, reason)``.
    """

    scenario: Scenario
    partners: pd.DataFrame
    constants: tuple[ConstantFit, ...]
    draws: pd.DataFrame
    moments: pd.DataFrame
    capacity: dict[str, dict[str, Any]]
    recruitment_per_period: float
    periods: int
    evaluations: int
    unidentified: dict[str, tuple[float, float, float, str]] = field(default_factory=dict)


def history_hash(path: str | Path) -> str:
    """``sha256:<hex>`` of a file's bytes (recorded with a calibration)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def history_periods(transactions: pd.DataFrame, calendar: Calendar) -> int:
    """Periods of ``calendar`` the history covers (through its last dated row)."""
    days = (pd.to_datetime(transactions["date"]).max() - pd.Timestamp(calendar.start_date)).days
    return int(days // (7 * calendar.weeks_per_period)) + 1


def tier_thresholds(program: Program) -> dict[str, float]:
    """The revenue threshold (per period) of each of the program's tiers that has one."""
    return {
        name: float(t.requirements.revenue)
        for name, t in program.tiers.items()
        if t.requirements.revenue
    }


def calibrate(
    scenario: Scenario,
    transactions: pd.DataFrame,
    *,
    program: Program | None = None,
    reps: int = BLOCK_SIZE,
    bootstrap: int = 200,
    passes: int = 2,
    progress: Progress | None = None,
) -> Calibration:
    """Calibrate ``scenario`` to a transactions history.

    Parameters
    ----------
    scenario
        The scenario whose population, behaviour and market are to be calibrated.
    transactions
        The history, as :func:`~incentsim.payout.transactions.read_transactions` gives it
        (or :attr:`~incentsim.montecarlo.history.SimulatedHistory.transactions`); its dates
        follow the scenario's calendar from ``start_date``.
    program
        The program in force over the history (default: the scenario's).
    reps
        Replications of each simulation (common random numbers: the same seed every time).
    bootstrap
        Partner resamples for the intervals and the draws.
    passes
        Capacity-then-constants rounds.
    progress
        Called with a short message at each stage and simulation.

    Returns
    -------
    Calibration

    Raises
    ------
    ValueError
        The history has no partner booking revenue in its first period.
    """
    # SciPy loads on first use, so reading and validating scenarios stays quick
    from scipy.optimize import least_squares

    say = progress or (lambda message: None)
    in_force = scenario.program if program is None else program
    periods = min(history_periods(transactions, scenario.calendar), 80)
    calendar = scenario.calendar.model_copy(update={"horizon_periods": periods})
    segments = tuple(scenario.population.segments)
    observed, ids = observed_history(transactions, calendar, segments)
    cohort = observed.active[0, :, 0]
    if not cohort.any():
        raise ValueError("no partner books revenue in the history's first period")
    first = np.where(observed.active[0].any(axis=1), observed.active[0].argmax(axis=1), -1)
    recruits = float(np.count_nonzero(first > 0)) / max(periods - 1, 1)
    observed = observed.take(np.flatnonzero(cohort))
    members = set(ids[cohort])
    table = partner_table(transactions[transactions["partner_id"].isin(members)], calendar)
    thresholds = tier_thresholds(in_force)
    timing = scenario.behaviour.timing_weeks

    def measure(o: Observed) -> pd.Series:
        return moments(o, timing_weeks=timing, thresholds=thresholds)

    data = measure(observed)
    resamples = _resample(observed, bootstrap, np.random.default_rng(fresh_seed(scenario.seed, 4)))
    boot = pd.DataFrame([measure(observed.take(idx)) for idx in resamples])
    sd = boot.std(ddof=1)
    matched = [
        m for m in dict.fromkeys(k for e in ESTIMATED for k in e.moments) if np.isfinite(data[m])
    ]
    scale = np.maximum(
        sd[matched].fillna(0.0).to_numpy(), 1e-6 + 1e-3 * data[matched].abs().to_numpy()
    )

    priors = np.array([getattr(scenario.behaviour, e.name) for e in ESTIMATED])
    units = np.array([e.to_units(v) for e, v in zip(ESTIMATED, priors, strict=True)])
    seed = fresh_seed(scenario.seed, 3)
    evaluations = 0
    with tempfile.TemporaryDirectory(prefix="incentsim-calibrate-") as folder:
        path = Path(folder) / "partners.csv"
        table.to_csv(path, index=False)
        base = scenario.model_copy(
            update={
                "calendar": calendar,
                "program": in_force,
                "population": scenario.population.model_copy(
                    update={
                        "source": str(path),
                        "partners": len(table),
                        "recruitment": scenario.population.recruitment.model_copy(
                            update={"per_period": 0.0}
                        ),
                    }
                ),
            }
        )
        cache: dict[tuple[float, ...], pd.Series] = {}
        trial = base

        def simulated(u: np.ndarray) -> pd.Series:
            nonlocal evaluations
            key = tuple(np.round(u, 12))
            if key not in cache:
                evaluations += 1
                say(f"simulation {evaluations}")
                cache[key] = measure(_simulate(_with(trial, u), seed, reps, len(table)))
            return cache[key]

        def residuals(u: np.ndarray) -> np.ndarray:
            gap = simulated(u)[matched].fillna(0.0).to_numpy() - data[matched].to_numpy()
            return np.asarray(gap / scale)

        def jacobian(u: np.ndarray) -> np.ndarray:
            r0 = residuals(u)
            columns = []
            for j in range(len(u)):
                step = STEP if u[j] + STEP <= 1.0 else -STEP
                shifted = u.copy()
                shifted[j] += step
                columns.append((residuals(shifted) - r0) / step)
            return np.stack(columns, axis=1)

        fitted = table
        result = None
        for round_ in range(passes):
            say(f"pass {round_ + 1}: fitting capacity")
            fitted = calibrate_capacity(
                _with(base, units), reps=reps, refit=round_ > 0, seed=fresh_seed(scenario.seed, 2)
            )
            fitted.to_csv(path, index=False, na_rep="")
            cache.clear()
            trial = base
            say(f"pass {round_ + 1}: matching moments")
            result = least_squares(
                residuals,
                np.clip(units, 0.02, 0.98),
                jac=jacobian,
                bounds=(0.0, 1.0),
                max_nfev=12,
                x_scale=1.0,
            )
            units = result.x
        assert result is not None
        jac = jacobian(units)
        best = simulated(units)
        calibrated = _with(base, units)
    draws_units = _draws(units, jac, boot[matched], data[matched], scale, reps)
    constants = _fits(draws_units, units, priors)
    draw_values = {
        c.name: (
            [e.from_units(v) for v in draws_units[:, j]]
            if c.identified
            else [c.prior] * len(draws_units)
        )
        for j, (c, e) in enumerate(zip(constants, ESTIMATED, strict=True))
    }
    draws = pd.DataFrame({"draw": np.arange(len(draws_units)), **draw_values})
    behaviour = scenario.behaviour.model_copy(update={c.name: c.value for c in constants})
    table_moments = pd.DataFrame(
        {
            "observed": data,
            "simulated": best.reindex(data.index),
            "sd": sd.reindex(data.index),
            "matched": data.index.isin(matched),
        }
    )
    unidentified = {
        name: (float(getattr(scenario.behaviour, name)), low, high, why)
        for name, (_, low, high, why) in not_identified().items()
    }
    return Calibration(
        scenario=calibrated.model_copy(update={"behaviour": behaviour}),
        partners=fitted,
        constants=constants,
        draws=draws,
        moments=table_moments,
        capacity=capacity_families(fitted, segments),
        recruitment_per_period=recruits,
        periods=periods,
        evaluations=evaluations,
        unidentified=unidentified,
    )


def _with(scenario: Scenario, units: np.ndarray) -> Scenario:
    """``scenario`` with the estimated constants at ``units``."""
    values = {e.name: e.from_units(float(u)) for e, u in zip(ESTIMATED, units, strict=True)}
    return scenario.model_copy(update={"behaviour": scenario.behaviour.model_copy(update=values)})


def _simulate(scenario: Scenario, seed: Any, reps: int, partners: int) -> Observed:
    """One block of ``scenario`` from ``seed`` with its first ``partners`` partners observed."""
    population_seed, market_seed, partner_seed = seed.spawn(3)
    drawn, market = draw_partners_and_market(scenario, population_seed, market_seed, reps)
    simulation = Simulation(scenario, drawn, market, np.random.default_rng(partner_seed))
    simulation.recorder.keep_partner_history()
    simulation.run()
    observed = observed_simulation(simulation.recorder, drawn, scenario.calendar.weeks_per_period)
    return observed.take(np.arange(partners))


def _resample(observed: Observed, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``n`` resamples of the partners, with replacement within each segment."""
    groups = [np.flatnonzero(observed.segment[0] == k) for k in range(len(observed.segments))]
    groups = [g for g in groups if len(g)]
    return [np.concatenate([rng.choice(g, len(g)) for g in groups]) for _ in range(n)]


def _draws(
    units: np.ndarray,
    jac: np.ndarray,
    boot: pd.DataFrame,
    data: pd.Series,
    scale: np.ndarray,
    reps: int,
) -> np.ndarray:
    """Bootstrap draws in units: each resample's moments moved through the local response."""
    deviations = (boot.fillna(data).to_numpy() - data.to_numpy()) / scale
    gain = np.linalg.pinv(jac, rcond=1e-6)
    moved = units[None, :] + math.sqrt(1.0 + 1.0 / reps) * deviations @ gain.T
    return np.asarray(np.clip(moved, 0.0, 1.0))


def _fits(draws: np.ndarray, units: np.ndarray, priors: np.ndarray) -> tuple[ConstantFit, ...]:
    """Estimates, intervals and the identification verdict of each constant."""
    tail = (1.0 - LEVEL) / 2.0
    out = []
    for j, e in enumerate(ESTIMATED):
        lo, hi = np.quantile(draws[:, j], [tail, 1.0 - tail])
        out.append(
            ConstantFit(
                name=e.name,
                prior=float(priors[j]),
                estimate=e.from_units(float(units[j])),
                low=e.from_units(float(lo)),
                high=e.from_units(float(hi)),
                identified=bool(hi - lo <= IDENTIFIED_WIDTH),
                evidence=e.evidence,
            )
        )
    return tuple(out)


def capacity_families(partners: pd.DataFrame, segments: tuple[str, ...]) -> dict[str, Any]:
    """Per segment, the maximum-likelihood lognormal and Pareto fits of the partners' fitted
    capacities, their log-likelihoods and the ``best`` of the two heavy-tailed families."""
    out: dict[str, Any] = {}
    for name in segments:
        x = partners.loc[partners["segment"] == name, "capacity"].to_numpy(dtype=np.float64)
        x = x[np.isfinite(x) & (x > 0)]
        if len(x) < 3:
            continue
        logs = np.log(x)
        mu, sigma = float(logs.mean()), float(max(logs.std(), 1e-6))
        ll_lognormal = float(
            np.sum(
                -logs - math.log(sigma * math.sqrt(2 * math.pi)) - (logs - mu) ** 2 / (2 * sigma**2)
            )
        )
        low = float(x.min())
        shape = len(x) / max(float(np.sum(np.log(x / low))), 1e-12)
        ll_pareto = float(np.sum(math.log(shape) + shape * math.log(low) - (shape + 1) * logs))
        out[name] = {
            "best": "pareto" if ll_pareto > ll_lognormal else "lognormal",
            "partners": len(x),
            "lognormal_median": math.exp(mu),
            "lognormal_sigma": sigma,
            "lognormal_loglik": ll_lognormal,
            "pareto_scale": low,
            "pareto_shape": shape,
            "pareto_loglik": ll_pareto,
        }
    return out
