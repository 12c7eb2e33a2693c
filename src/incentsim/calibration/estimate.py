"""Calibrate a scenario to a transactions history by the method of simulated moments.

:func:`calibrate` takes the history of the partners present at its start and:

1. fits each partner's weekly capacity to its own revenue (:func:`~incentsim.montecarlo.
   capacity.calibrate_capacity`), and per segment the heavy-tailed family the fitted capacities
   follow (lognormal or Pareto, by likelihood), for recruits;
2. estimates the behaviour constants of :data:`~incentsim.calibration.constants.ESTIMATED`: the
   model is simulated with candidate constants over those partners under common random numbers
   (one fixed seed), and a bounded trust-region search (:func:`_search`, allowed to
   converge) matches its pooled
   moments to the history's, each weighted by the inverse of its bootstrap variance; then the
   capacities are refitted at the constants found and the search repeated;
3. gives the uncertainty by the sandwich variance of simulated moments,
   ``G (S_data + S_sim / reps) G'`` with ``G`` the pseudo-inverse of the (scaled) moments'
   response to the constants (central differences at the estimate): ``S_data``, the
   history's own sampling covariance, by resampling its partners within segments (the
   partners carry what varies most: their capacities, fitted to this very history, and their
   unobserved traits); ``S_sim``, the covariance of one simulated history's moments at the
   estimate, measured on :data:`VARIANCE_REPS` replications on fresh seeds, so the
   simulation's noise is re-drawn rather than assumed (the ``1 + 1/reps`` of McFadden 1989
   and Gourieroux & Monfort 1996, ch. 2, when the two agree). Intervals are normal in the
   search scale, mapped back; the parameter draws come from the same distribution.

   The first version's intervals covered the truth 8 times in 12 (70% of 20 on 300-partner
   histories). Why, measured on the same histories: its trust-region search stopped at its
   limit of 12 simulations (status "too many evaluations") with the objective about 1.5 times
   the minimum a converged search finds; its forward-difference Jacobian (step 0.08) gave
   slopes up to twice the central ones, and singular near a bound, so intervals too narrow;
   its ``1 + 1/reps`` assumed the simulation's noise rather than measured it. (Sampling
   spread taken from simulated histories alone is no cure: conditional on the fitted
   capacities it is smaller than the partner bootstrap's, which matched the data's deviation
   from the model at the true constants, RMS z 0.7-1.0 against 1.0-1.7.) Over
   histories simulated from known constants (``benchmarks/calibration_recovery.py
   --coverage``) the 90% intervals cover the truth at about the nominal rate.

   Identification is judged per constant (:func:`_identify`): a constant no moment with data
   moves, or whose 90% interval would span more than :data:`IDENTIFIED_WIDTH` of its
   plausible range (on its search scale) even estimated alone, is not identified; of those
   left, the one with the widest joint interval is held while it is too wide, and the others'
   covariance recomputed without it, so one constant the history cannot tell from another
   does not take the other down with it (the first rule judged all on the joint covariance:
   with the truth's ``effort_elasticity`` at 3, ``benchmarks/predict_check.py`` kept churn,
   friction and noise at their priors, though churn's estimate was within 12% of the truth).
   A constant not identified is kept at its prior, with the reason; so is every constant no
   moment moves (:func:`~incentsim.calibration.constants.not_identified`).
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

from incentsim.calibration.backtest import (
    as_validated,
    backtest_table,
    history_cost,
    history_statements,
)
from incentsim.calibration.constants import ESTIMATED, not_identified
from incentsim.calibration.moments import moments
from incentsim.calibration.observed import Observed, observed_history, observed_simulation
from incentsim.calibration.segments import (
    deal_estimates,
    demand_estimates,
    estimates_frame,
    mdf_take_up,
)
from incentsim.engine.simulation import Simulation, draw_partners_and_market
from incentsim.montecarlo.capacity import calibrate_capacity
from incentsim.montecarlo.history import partner_table, replication_history, simulate_history
from incentsim.montecarlo.seeding import BLOCK_SIZE, fresh_seed

if TYPE_CHECKING:
    from incentsim.calendar import Calendar
    from incentsim.program.spec import Program
    from incentsim.scenario.model import Scenario

#: Widest 90% interval, as a share of a constant's plausible range on its search scale, for
#: the history to count as identifying it.
IDENTIFIED_WIDTH: float = 0.25

#: Step of the finite differences (the half-step of the central ones the variance uses), in
#: units of the plausible range. The simulated moments are step functions of the constants at
#: a small scale (partners' discrete choices under common random numbers): forward
#: differences of 0.08 at the estimate gave slopes up to twice the central ones and, near a
#: bound, singular Jacobians.
STEP: float = 0.10

#: Most evaluations of the residuals one search may make (each a simulation; the Jacobians
#: come on top). The first version allowed 12 and stopped there, short of the minimum.
SEARCH_EVALUATIONS: int = 30

#: Nominal coverage of the reported intervals.
LEVEL: float = 0.90

#: Replications simulated at the estimate to measure the sampling covariance of a history's
#: moments (each replication is one history of the calibrated model).
VARIANCE_REPS: int = 50

#: Simulated histories of the back-test, replayed by the payout rules as the history is.
BACKTEST_HISTORIES: int = 20

#: Told each stage and simulation of a calibration: a short message, and how many simulations
#: the step starts (1 for a search evaluation, the spread and the simulated history; 0 for
#: a stage that only fits), so a progress bar can count simulations.
Progress = Callable[[str, int], None]


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
        Its 90% interval (sandwich variance of simulated moments; for a constant not
        identified, the interval that judged it so).
    identified
        Whether a moment with data moves it and its interval is narrow enough
        (:data:`IDENTIFIED_WIDTH`, :func:`_identify`): the calibrated scenario uses
        ``estimate`` when it is, ``prior`` when it is not.
    evidence
        What in the history carries it.
    reason
        Why it is not identified (empty when it is).
    """

    name: str
    prior: float
    estimate: float
    low: float
    high: float
    identified: bool
    evidence: str
    reason: str = ""

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
        Draws of the behaviour constants from their estimated sampling distribution (column
        ``draw`` and one column per estimated constant; a constant not identified is at its
        prior in every draw).
    moments
        Index: moment names (pooled and ``name:segment``); columns ``observed``, ``simulated``
        (at the calibrated constants), ``sd`` (partner-bootstrap standard deviation of the
        observed: the search's weights), ``sd_model`` (standard deviation of one simulated
        history's moment at the estimate: the sampling spread the intervals use) and
        ``matched`` (whether the search matched it).
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
    estimates
        Per segment and region: trend and seasonality, deal size, MDF take-up, win rate and
        deal cycle (:mod:`incentsim.calibration.segments`), each with its interval and whether
        it is identified and held by the calibrated scenario.
    backtest
        Revenue and program cost per period: the history's (cost from the payout replay of
        the program in force) against histories simulated by the calibrated model
        (:func:`~incentsim.calibration.backtest.backtest_table`).
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
    estimates: pd.DataFrame = field(default_factory=pd.DataFrame)
    backtest: pd.DataFrame = field(default_factory=pd.DataFrame)


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
    variance_reps: int = VARIANCE_REPS,
    backtest_histories: int = BACKTEST_HISTORIES,
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
        Partner resamples (the moments' weights, the direct figures' intervals) and parameter
        draws.
    passes
        Capacity-then-constants rounds.
    variance_reps
        Histories simulated at the estimate for the sampling covariance of one history's
        moments (``S_sim``; at least 2).
    backtest_histories
        Simulated histories replayed by the payout rules for the back-test's cost (at most
        ``variance_reps``); 0 skips the back-test (an empty :attr:`Calibration.backtest`), as
        the hold-out check's calibration does.
    progress
        Called with a short message and the simulations started (:data:`Progress`) at each
        stage and simulation.

    Returns
    -------
    Calibration

    Raises
    ------
    ValueError
        The history has no partner booking revenue in its first period.
    """

    say = progress or (lambda message, simulations: None)
    if variance_reps < 2:
        raise ValueError(f"variance_reps {variance_reps}: give 2 or more")
    in_force = scenario.program if program is None else program
    periods = min(history_periods(transactions, scenario.calendar), 80)
    calendar = scenario.calendar.model_copy(update={"horizon_periods": periods})
    segments = tuple(scenario.population.segments)
    regions = tuple(scenario.population.regions)
    observed, ids = observed_history(transactions, calendar, segments, regions)
    cohort = observed.active[0, :, 0]
    if not cohort.any():
        raise ValueError("no partner books revenue in the history's first period")
    first = np.where(observed.active[0].any(axis=1), observed.active[0].argmax(axis=1), -1)
    recruits = float(np.count_nonzero(first > 0)) / max(periods - 1, 1)
    observed = observed.take(np.flatnonzero(cohort))
    members = set(ids[cohort])
    history = transactions[transactions["partner_id"].isin(members)]
    table = partner_table(history, calendar)
    thresholds = tier_thresholds(in_force)
    timing = scenario.behaviour.timing_weeks

    def measure(o: Observed) -> pd.Series:
        return moments(o, timing_weeks=timing, thresholds=thresholds)

    say("observed moments and partner bootstrap", 0)
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
    # the constants some moment with data moves; the others stay at their priors
    free = np.array([any(m in matched for m in e.moments) for e in ESTIMATED])
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

        def simulated(u: np.ndarray) -> pd.Series:
            nonlocal evaluations
            key = tuple(np.round(u, 12))
            if key not in cache:
                evaluations += 1
                say(f"simulation {evaluations}", 1)
                cache[key] = measure(_simulate(_with(base, u), seed, reps, len(table)))
            return cache[key]

        def full(v: np.ndarray) -> np.ndarray:
            u = units.copy()
            u[free] = v
            return u

        def residuals(v: np.ndarray) -> np.ndarray:
            gap = simulated(full(v))[matched].fillna(0.0).to_numpy() - data[matched].to_numpy()
            return np.asarray(gap / scale)

        def jacobian(v: np.ndarray, central: bool = False) -> np.ndarray:
            """Finite differences: forward ones for the search (its direction), central ones
            for the variance (the slope over the scale of the uncertainty)."""
            r0 = None if central else residuals(v)
            columns = []
            for j in range(len(v)):
                up, down = v.copy(), v.copy()
                up[j], down[j] = min(v[j] + STEP, 1.0), max(v[j] - STEP, 0.0)
                if r0 is None:
                    columns.append((residuals(up) - residuals(down)) / (up[j] - down[j]))
                elif up[j] > v[j]:
                    columns.append((residuals(up) - r0) / (up[j] - v[j]))
                else:
                    columns.append((r0 - residuals(down)) / (v[j] - down[j]))
            return np.stack(columns, axis=1)

        fitted = table
        for round_ in range(passes):
            say(f"pass {round_ + 1}: fitting capacity", 0)
            fitted = calibrate_capacity(
                _with(base, units), reps=reps, refit=round_ > 0, seed=fresh_seed(scenario.seed, 2)
            )
            fitted.to_csv(path, index=False, na_rep="")
            cache.clear()
            say(f"pass {round_ + 1}: matching moments", 0)
            units = full(_search(residuals, jacobian, units[free]))
        say("central differences at the estimate", 0)
        jac = np.zeros((len(matched), len(units)))
        jac[:, free] = jacobian(units[free], central=True)
        best = simulated(units)
        calibrated = _with(base, units)
        say("sampling spread of the moments", 1)
        spread, spread_cost = _run(
            calibrated,
            fresh_seed(scenario.seed, 6),
            variance_reps,
            len(table),
            replayed=backtest_histories,
        )
        per_history = pd.DataFrame(
            [measure(spread.replication(r)) for r in range(variance_reps)]
        ).reindex(columns=data.index)
        say("deal sizes, trend and seasonality; payout replay of the program in force", 1)
        deals_seed = fresh_seed(scenario.seed, 8)
        simulated_history = simulate_history(calibrated, seed=deals_seed).transactions
        rng = np.random.default_rng(fresh_seed(scenario.seed, 9))
        statements = history_statements(history, in_force, calendar)
        rows = demand_estimates(observed, spread, scenario.market, calendar.periods_per_year)
        rows += deal_estimates(
            history, simulated_history, scenario.population, bootstrap=bootstrap, rng=rng
        )
        rows += mdf_take_up(statements, bootstrap=bootstrap, rng=rng)
        estimates = estimates_frame(rows)
        backtest = (
            backtest_table(
                observed.revenue[0].sum(axis=0),
                history_cost(statements, periods),
                spread.revenue.sum(axis=1)[: len(spread_cost)],
                spread_cost,
            )
            if backtest_histories
            else pd.DataFrame()
        )
    spread_units, width, reasons = _identify(
        jac, _scaled_cov(boot[matched], scale), _scaled_cov(per_history[matched], scale), reps
    )
    rng = np.random.default_rng(fresh_seed(scenario.seed, 7))
    draws_units = _draws(units, spread_units, bootstrap, rng)
    constants = _fits(units, width, reasons, priors, jac)
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
            "sd_model": per_history.std(ddof=1),
            "matched": data.index.isin(matched),
        }
    )
    unidentified = {
        name: (float(getattr(scenario.behaviour, name)), low, high, why)
        for name, (_, low, high, why) in not_identified().items()
    }
    return Calibration(
        scenario=with_estimates(calibrated.model_copy(update={"behaviour": behaviour}), estimates),
        partners=fitted,
        constants=constants,
        draws=draws,
        moments=table_moments,
        capacity=capacity_families(fitted, segments),
        recruitment_per_period=recruits,
        periods=periods,
        evaluations=evaluations,
        unidentified=unidentified,
        estimates=estimates,
        backtest=backtest,
    )


def with_estimates(scenario: Scenario, estimates: pd.DataFrame) -> Scenario:
    """``scenario`` with the figures of ``estimates`` it holds (``in_scenario``): the market's
    trend and seasonality, each segment's lognormal deal size."""
    held = estimates[estimates["in_scenario"].astype(bool)]
    value = dict(zip(held.index, held["estimate"], strict=True))
    market = scenario.market
    update: dict[str, Any] = {}
    if "trend_per_year" in value:
        update["trend_per_year"] = float(value["trend_per_year"])
    seasons = [value.get(f"seasonality_{j + 1}") for j in range(scenario.calendar.periods_per_year)]
    if all(v is not None for v in seasons):
        update["seasonality"] = [float(v) for v in seasons if v is not None]
    segments = dict(scenario.population.segments)
    for name, segment in segments.items():
        median = value.get(f"deal_size:segment:{name}")
        sigma = value.get(f"deal_size_sigma:segment:{name}")
        if median is not None and sigma is not None and segment.deal_size.dist == "lognormal":
            deal_size = segment.deal_size.model_copy(
                update={"median": float(median), "sigma": float(sigma)}
            )
            segments[name] = segment.model_copy(update={"deal_size": deal_size})
    return scenario.model_copy(
        update={
            "market": market.model_copy(update=update),
            "population": scenario.population.model_copy(update={"segments": segments}),
        }
    )


def _with(scenario: Scenario, units: np.ndarray) -> Scenario:
    """``scenario`` with the estimated constants at ``units``."""
    values = {e.name: e.from_units(float(u)) for e, u in zip(ESTIMATED, units, strict=True)}
    return scenario.model_copy(update={"behaviour": scenario.behaviour.model_copy(update=values)})


def _simulate(scenario: Scenario, seed: Any, reps: int, partners: int) -> Observed:
    """One block of ``scenario`` from ``seed`` with its first ``partners`` partners observed."""
    return _run(scenario, seed, reps, partners)[0]


def _run(
    scenario: Scenario, seed: Any, reps: int, partners: int, *, replayed: int = 0
) -> tuple[Observed, np.ndarray]:
    """:func:`_simulate`, and the program's cost per replication and period: with
    ``replayed``, the first ``replayed`` replications written as transactions histories and
    replayed by the payout rules (:func:`~incentsim.calibration.backtest.history_cost`, as
    the real history is), ``(replayed, K)``; otherwise the engine's accrued cost,
    ``(reps, K)``."""
    population_seed, market_seed, partner_seed, history_seed = seed.spawn(4)
    drawn, market = draw_partners_and_market(scenario, population_seed, market_seed, reps)
    simulation = Simulation(scenario, drawn, market, np.random.default_rng(partner_seed))
    simulation.recorder.keep_partner_history(days=replayed > 0)
    simulation.run()
    observed = observed_simulation(simulation.recorder, drawn, scenario.calendar.weeks_per_period)
    cost = np.array(simulation.recorder.per_period["cost"], dtype=np.float64)
    if replayed:
        rng = np.random.default_rng(history_seed)
        periods = scenario.calendar.horizon_periods
        cost = np.stack(
            [
                history_cost(
                    history_statements(
                        as_validated(
                            replication_history(
                                scenario, simulation.recorder, drawn, r, rng
                            ).transactions
                        ),
                        scenario.program,
                        scenario.calendar,
                    ),
                    periods,
                )
                for r in range(min(replayed, reps))
            ]
        )
    return observed.take(np.arange(partners)), cost


def _resample(observed: Observed, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``n`` resamples of the partners, with replacement within each segment."""
    groups = [np.flatnonzero(observed.segment[0] == k) for k in range(len(observed.segments))]
    groups = [g for g in groups if len(g)]
    return [np.concatenate([rng.choice(g, len(g)) for g in groups]) for _ in range(n)]


def _search(
    residuals: Callable[[np.ndarray], np.ndarray],
    jacobian: Callable[[np.ndarray], np.ndarray],
    start: np.ndarray,
) -> np.ndarray:
    """Minimise ``|residuals(v)|^2`` over ``v`` in ``[0, 1]`` by a trust-region reflective
    search (``scipy.optimize.least_squares``; its trust region keeps each step where the
    local response holds, as the simulated moments are step functions at a small scale),
    allowed :data:`SEARCH_EVALUATIONS` simulations of the residuals to converge."""
    # SciPy loads on first use, so reading and validating scenarios stays quick
    from scipy.optimize import least_squares

    if len(start) == 0:
        return np.asarray(start, dtype=np.float64)
    result = least_squares(
        residuals,
        np.clip(start, 0.02, 0.98),
        jac=jacobian,
        bounds=(0.0, 1.0),
        max_nfev=SEARCH_EVALUATIONS,
        x_scale=1.0,
    )
    return np.asarray(result.x)


def _scaled_cov(samples: pd.DataFrame, scale: np.ndarray) -> np.ndarray:
    """Covariance of the moments in ``samples`` (rows: resamples or simulated histories), each
    divided by its ``scale`` (a sample missing a moment counts at the mean)."""
    deviations = (samples - samples.mean()).fillna(0.0).to_numpy() / scale
    return np.atleast_2d(np.cov(deviations, rowvar=False))


def _covariance(jac: np.ndarray, data: np.ndarray, simulated: np.ndarray, reps: int) -> np.ndarray:
    """The sandwich covariance of the estimate in units, ``G (S_data + S_sim / reps) G'``, with
    ``G`` the pseudo-inverse of the scaled moments' Jacobian, ``S_data`` the history's moments'
    covariance and ``S_sim`` one simulated history's (the simulated moments average ``reps``)."""
    gain = np.linalg.pinv(jac, rcond=1e-6)
    return np.asarray(gain @ (data + simulated / reps) @ gain.T)


def _draws(
    units: np.ndarray, covariance: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` draws in units from the normal sampling distribution of the estimate (clipped to
    the plausible range)."""
    moved = rng.multivariate_normal(units, covariance, size=n, method="eigh")
    return np.asarray(np.clip(moved, 0.0, 1.0))


def _moved(jac: np.ndarray) -> np.ndarray:
    """Whether some moment with data moves each constant (its column of ``jac`` not zero)."""
    return np.asarray(np.any(np.abs(jac) > 1e-9, axis=0))


def _identify(
    jac: np.ndarray, data: np.ndarray, simulated: np.ndarray, reps: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Judge each constant's identification by its own column of ``jac``, then jointly.

    A constant is not identified when no moment with data moves it (its column is zero), when
    even estimated alone (the others held) its 90% interval would span more than
    :data:`IDENTIFIED_WIDTH` of its plausible range, or when it shares its moments with others
    so that, estimated with them, its interval does. The joint judgement drops one constant at
    a time, the widest, and recomputes the others' covariance with it held, so a constant
    another one cannot be told apart from does not take that other's estimate with it.

    Returns
    -------
    covariance
        Sandwich covariance (:func:`_covariance`) of the identified constants with the others
        held (zero rows and columns for those).
    width
        Each constant's 90% interval width in units: of the covariance for an identified
        constant; when it was judged not identified otherwise.
    reasons
        Why each constant is not identified (empty when it is).
    """
    # SciPy loads on first use, so reading and validating scenarios stays quick
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + LEVEL / 2.0))
    count = jac.shape[1]
    moved = _moved(jac)
    alone = np.array(
        [
            2.0
            * z
            * math.sqrt(max(float(_covariance(jac[:, [j]], data, simulated, reps)[0, 0]), 0))
            for j in range(count)
        ]
    )
    limit = f"at most {IDENTIFIED_WIDTH:.0%} counts as identified"
    reasons = [
        "no moment with data in this history moves it"
        if not moved[j]
        else f"even estimated alone its 90% interval spans {alone[j]:.0%} of its plausible "
        f"range ({limit})"
        if alone[j] > IDENTIFIED_WIDTH
        else ""
        for j in range(count)
    ]
    width = np.where(moved, alone, 0.0)
    kept = np.array([not r for r in reasons])
    covariance = np.zeros((count, count))
    while kept.any():
        index = np.flatnonzero(kept)
        joint = _covariance(jac[:, index], data, simulated, reps)
        sd = np.sqrt(np.maximum(np.diag(joint), 0.0))
        worst = int(np.argmax(sd))
        if 2.0 * z * sd[worst] <= IDENTIFIED_WIDTH:
            covariance[np.ix_(index, index)] = joint
            width[index] = 2.0 * z * sd
            break
        j = int(index[worst])
        width[j] = 2.0 * z * sd[worst]
        reasons[j] = (
            f"estimated with the others its 90% interval spans {width[j]:.0%} of its "
            f"plausible range (alone {alone[j]:.0%}; {limit})"
        )
        if len(index) > 1:
            correlation = np.abs(joint[worst]) / np.maximum(sd[worst] * sd, 1e-300)
            correlation[worst] = -1.0
            closest = ESTIMATED[int(index[int(np.argmax(correlation))])].name
            reasons[j] += f": the history hardly tells it apart from {closest}"
        kept[j] = False
    return covariance, width, reasons


def _fits(
    units: np.ndarray, width: np.ndarray, reasons: list[str], priors: np.ndarray, jac: np.ndarray
) -> tuple[ConstantFit, ...]:
    """Estimates, 90% intervals (``units`` plus or minus half of ``width``) and the
    identification verdicts (:func:`_identify`) of each constant."""
    out = []
    for j, e in enumerate(ESTIMATED):
        moved = bool(_moved(jac)[j])
        lo, hi = max(units[j] - width[j] / 2.0, 0.0), min(units[j] + width[j] / 2.0, 1.0)
        reason = reasons[j]
        if not moved:
            reason = f"{reason} ({', '.join(e.moments)})"
        out.append(
            ConstantFit(
                name=e.name,
                prior=float(priors[j]),
                estimate=e.from_units(float(units[j])) if moved else float(priors[j]),
                low=e.from_units(float(lo)) if moved else e.low,
                high=e.from_units(float(hi)) if moved else e.high,
                identified=not reason,
                evidence=e.evidence,
                reason=reason,
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
