"""Sensitivity analysis: which uncertain assumptions move cost, loyalty and other outcomes most.

A *factor* is an uncertain assumption: a dotted path into the scenario (``behaviour.churn_slope``,
``population.segments.*.gaming_propensity.mean``, ``market.trend_per_year``) with a range. A
``*`` matches every key of a mapping (every segment, every tier); a factor with ``scale`` set
multiplies the scenario's own values by a number in its range instead of replacing them (so
``population.segments.*.capacity.median`` from 0.8 to 1.2 moves the demand level of every
segment by -20% to +20% and keeps their differences).

Two methods, both sampled and analysed with SALib:

- **Morris** (elementary effects) screens many factors cheaply: ``mu*`` ranks how much a factor
  moves the outcome, ``sigma`` how much that depends on the other factors (interactions,
  non-linearity). ``trajectories x (factors + 1)`` points.
- **Sobol** apportions the outcome's variance: ``S1`` the share a factor explains alone, ``ST``
  the share including its interactions. ``samples x (factors + 2)`` points (first order and
  total only); ``samples`` must be a power of two.

The model is stochastic, so every sample point is simulated with ``reps`` replications under
common random numbers (the same root seed and seed blocks at every point, through
:func:`~incentsim.montecarlo.run_montecarlo`) and the indices are computed on the replication
mean. Two kinds of uncertainty are reported, because they answer different questions:

- SALib's bootstrap interval over the sample (``mu_star_conf``, ``S1_conf``, ``ST_conf``): would
  another sample of points rank the factors differently?
- a replication bootstrap (``*_rep_low`` / ``*_rep_high``): the replications are resampled, the
  same way at every point so the common random numbers stay paired, and the index recomputed:
  how much of it is simulation noise? When the leading factors' replication intervals overlap,
  their order is not settled: raise ``reps``. Per outcome, the noise table also gives the
  between-replication sd and ``noise_share``, the share of the variance of the point means
  across the sample that the standard error of a point mean accounts for (what the noise would
  be without common random numbers; the paired differences Morris and Sobol take are quieter).

Under common random numbers a *dummy* factor (one that enters nothing) scores exactly zero, so it
checks the estimator rather than the noise; the replication bootstrap is the noise floor.

Points are evaluated in chunks on an executor (``--workers``) and the results do not depend on
the executor. With ``out_dir`` the folder is a run store
(:mod:`incentsim.montecarlo.run_store`): each finished chunk of points is written at once as a
block, so an interrupted analysis continues where it stopped when run again into the same
folder with ``resume`` (``incentsim sensitivity --resume``).

>>> from incentsim.experiments.sensitivity import parse_factors, sensitivity  # doctest: +SKIP
>>> factors = parse_factors("behaviour.churn_slope=2:8,market.trend_per_year=-0.05:0.15")
>>> result = sensitivity(scenario, factors, method="morris", size=10, reps=8)
>>> print(result)                  # the ranked table per outcome
>>> result.plot("incentive_cost")  # mu* bars and the mu*-sigma plane
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, Unpack

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from incentsim._output import KINDS, atomic_file, folder_lock
from incentsim.errors import IncentsimError, ScenarioError, optional_module
from incentsim.experiments.compare import text_columns
from incentsim.montecarlo import store
from incentsim.montecarlo.charts import pyplot as _pyplot
from incentsim.montecarlo.evaluator import Evaluator, evaluator_for
from incentsim.montecarlo.options import RunKeywords, RunOptions
from incentsim.montecarlo.plan import RunPlan
from incentsim.montecarlo.run_store import Layout, RunStore, write_json
from incentsim.scenario.loader import read_document, scenario_hash, with_values
from incentsim.scenario.paths import Change, PathError
from incentsim.scenario.reader import is_file

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from incentsim.scenario.model import Scenario

__all__ = [
    "DEFAULT_FACTORS",
    "DEFAULT_OUTCOMES",
    "METHODS",
    "RANK_BY",
    "Factor",
    "SensitivityError",
    "SensitivityResult",
    "apply_factors",
    "check_factors",
    "evaluate_points",
    "factors_from_mapping",
    "parse_factors",
    "sensitivity",
]

Method = Literal["morris", "sobol"]
METHODS: tuple[str, ...] = ("morris", "sobol")
#: Limits on a design's size, so that a typo cannot start a run of years: Morris trajectories,
#: Sobol base samples, replications a point, factors, and simulated replications in all.
MAX_TRAJECTORIES = 1_000
MAX_SAMPLES = 2**16
MAX_POINT_REPS = 10_000
#: Replications per sample point unless the call or its run options say otherwise.
POINT_REPS = 8
MAX_FACTORS = 200
MAX_SIMULATIONS = 10_000_000

DEFAULT_OUTCOMES: tuple[str, ...] = ("incentive_cost", "loyalty_mean", "retention", "revenue_net")

#: Morris grid levels (SALib's default).
MORRIS_LEVELS = 4
#: Bootstrap resamples: SALib's interval over the sample, and the replication bootstrap.
SAMPLE_RESAMPLES = 500
REPLICATION_RESAMPLES = 100
CONFIDENCE = 0.95
#: Sample points simulated per task (and per file when streaming to a folder).
CHUNK_POINTS = 8
#: Leading ranks whose order is checked against the replication noise.
SETTLED_RANKS = 3

POINTS_FOLDER = "points"
MANIFEST = "sensitivity.json"
#: A sensitivity analysis' folder as a run store: its blocks are chunks of points; its other
#: files are those :meth:`SensitivityResult.write` and the report write.
SENSITIVITY_STORE = Layout(
    kind=KINDS[MANIFEST],
    noun="sensitivity analysis",
    parts={POINTS_FOLDER: ".parquet"},
    files=(
        "indices.*",
        "noise.*",
        "points.*",
        "*.png",
        "result.json",
        "sensitivity.html",
        "sensitivity_tables",
    ),
)


class SensitivityError(IncentsimError):
    """Factors, outcomes or sample sizes a sensitivity analysis cannot use."""


@dataclass(frozen=True)
class Factor:
    """An uncertain assumption and its range.

    Attributes
    ----------
    name
        The label in tables and plots.
    path
        Dotted path into the scenario; ``*`` matches every key of a mapping. ``None`` makes a
        dummy factor that enters nothing.
    low, high
        The range: values set at ``path``, or multipliers of the scenario's values (``scale``).
    scale
        Multiply the scenario's values instead of replacing them.
    description
        Why the factor is uncertain (shown in reports).
    """

    name: str
    path: str | None
    low: float
    high: float
    scale: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.high <= self.low:
            raise SensitivityError(
                f"factor '{self.name}': the range must have low < high, not {self.low:g} to "
                f"{self.high:g}"
            )

    @property
    def is_dummy(self) -> bool:
        return self.path is None

    @property
    def range_text(self) -> str:
        prefix = "x" if self.scale else ""
        return f"{prefix}{self.low:g} to {prefix}{self.high:g}"


def _behaviour(name: str, low: float, high: float, why: str) -> Factor:
    return Factor(name, f"behaviour.{name}", low, high, description=why)


#: Uncertain assumptions of the partner model and the market with plausible ranges (the
#: behaviour constants' documented ranges where they have one, else around their defaults).
DEFAULT_FACTORS: tuple[Factor, ...] = (
    Factor(
        "responsiveness",
        "population.segments.*.responsiveness.mean",
        0.3,
        0.7,
        description="mean partner responsiveness to incentives, every segment",
    ),
    _behaviour("effort_elasticity", 0.5, 3.0, "how strongly effort follows the reward"),
    _behaviour("present_bias_weeks", 4.0, 26.0, "payout delay that halves a payout's weight"),
    _behaviour("partner_margin", 0.05, 0.30, "the partner's own margin on reselling"),
    _behaviour("value_weight", 4.0, 12.0, "loyalty response to the program's value"),
    _behaviour(
        "delay_sensitivity", 0.0, 0.008, "loyalty lost per week of expected wait beyond the norm"
    ),
    _behaviour("procedural_weight", 0.1, 0.6, "loyalty lost per unit of trust lost"),
    _behaviour("cut_sensitivity", 0.3, 1.5, "trust lost per share of a payout cut or deferred"),
    _behaviour("lateness_sensitivity", 0.01, 0.1, "trust lost per week a payout is late"),
    _behaviour("trust_recovery", 0.05, 0.5, "share of lost trust a full, on-time payout restores"),
    _behaviour("change_notice_weeks", 4.0, 26.0, "notice that halves a program cut's trust cost"),
    _behaviour("recruit_sensitivity", 0.0, 60.0, "how strongly joining follows the rate paid"),
    _behaviour("award_cutoff_noise", 0.05, 0.5, "uncertainty about an award's cut-off"),
    _behaviour("forecast_noise", 0.1, 0.5, "uncertainty about a quarter's revenue (shorter: more)"),
    _behaviour("quick_deal_share", 0.0, 0.6, "selling that can go into quick deals at a deadline"),
    _behaviour("quick_deal_yield", 0.6, 1.0, "revenue per effort of quick deals against normal"),
    _behaviour("streak_loss_aversion", 1.0, 3.0, "weight on a milestone streak's lost progress"),
    _behaviour(
        "moved_deals_last_day_share",
        0.3,
        0.95,
        "share of moved deals closed on a period's last day",
    ),
    _behaviour("churn_base", 0.01, 0.04, "churn per period at middling loyalty"),
    _behaviour("churn_slope", 2.0, 8.0, "how steeply churn rises as loyalty falls"),
    _behaviour("tunnel_vision", 1.0, 5.0, "satisfaction lost per unit of effort above normal"),
    _behaviour(
        "satisfaction_demand_effect", 0.0, 0.3, "demand lost per point of satisfaction lost"
    ),
    _behaviour(
        "satisfaction_lag_quarters", 1.0, 4.0, "quarters before satisfaction reaches demand"
    ),
    Factor(
        "gaming_propensity",
        "population.segments.*.gaming_propensity.mean",
        0.05,
        0.35,
        description="mean propensity to game timing and registrations, every segment",
    ),
    Factor("demand_trend", "market.trend_per_year", -0.05, 0.15, description="demand growth"),
    Factor(
        "demand_level",
        "population.segments.*.capacity.median",
        0.8,
        1.2,
        scale=True,
        description="partner selling capacity, every segment (multiplier)",
    ),
)


# --- reading factors ---------------------------------------------------------------------------


def parse_factors(text: str | os.PathLike[str]) -> list[Factor]:
    """Factors from a YAML file (a ``factors:`` mapping) or inline text.

    Inline, factors are separated by commas: ``PATH=LOW:HIGH`` sets the value,
    ``PATH=xLOW:HIGH`` scales it, and ``dummy`` adds a dummy factor::

        behaviour.churn_slope=2:8,population.segments.*.capacity.median=x0.8:1.2,dummy

    In a file, each factor is ``NAME: {path: ..., low: ..., high: ..., scale: false,
    description: ...}`` under ``factors:`` (``{dummy: true}`` for a dummy); an experiment file
    holds the same mapping under ``sensitivity.factors``, and is read as a factor file too. A
    SALib problem (``num_vars``, ``names``, ``bounds``; YAML or JSON) is read as well, each
    name a scenario path set across its bounds (:func:`factors_from_salib`).

    Raises
    ------
    SensitivityError
        Malformed inline text.
    ScenarioError
        A file that cannot be read or whose factors are malformed (names the file and field).
    """

    path = Path(text)
    looks_like_file = str(text).endswith((".yaml", ".yml", ".json")) or is_file(path)
    if looks_like_file:
        data = read_document(path)
        if "names" in data and "bounds" in data:
            return factors_from_salib(data, file=str(path))
        nested = data.get("sensitivity")
        if "factors" not in data and isinstance(nested, Mapping) and "factors" in nested:
            where, found = "sensitivity.factors", nested["factors"]
        elif "factors" in data:
            where, found = "factors", data["factors"]
        else:
            raise ScenarioError(str(path), [("factors", "missing required key")])
        return factors_from_mapping(found, file=str(path), where=where)
    return [_inline_factor(item.strip()) for item in str(text).split(",") if item.strip()]


def _inline_factor(item: str) -> Factor:
    if item == "dummy":
        return Factor("dummy", None, 0.0, 1.0, description="enters nothing")
    path, sep, bounds = item.partition("=")
    scale = bounds.startswith("x")
    low, colon, high = bounds.removeprefix("x").partition(":")
    try:
        if not (sep and colon and path.strip()):
            raise ValueError
        return Factor(path.strip(), path.strip(), float(low), float(high), scale=scale)
    except ValueError:
        raise SensitivityError(
            f"bad factor '{item}': expected PATH=LOW:HIGH (set), PATH=xLOW:HIGH (scale) or dummy"
        ) from None


def factors_from_mapping(data: Any, *, file: str | None, where: str) -> list[Factor]:
    """Factors from ``{name: {path, low, high, scale, description} or {dummy: true}}``.

    ``where`` is the mapping's dotted location in ``file``, named in errors.
    """
    if not isinstance(data, Mapping) or not data:
        raise ScenarioError(file, [(where, "must be a non-empty mapping of factor names")])
    factors, problems = [], []
    for name, spec in data.items():
        field = f"{where}.{name}"
        if not isinstance(spec, Mapping):
            problems.append((field, "must be a mapping with path, low and high"))
            continue
        unknown = set(spec) - {"path", "low", "high", "scale", "description", "dummy"}
        if unknown:
            problems.append((f"{field}.{sorted(unknown)[0]}", "unknown key"))
            continue
        if spec.get("dummy"):
            factors.append(Factor(str(name), None, 0.0, 1.0, description="enters nothing"))
            continue
        missing = [key for key in ("path", "low", "high") if key not in spec]
        if missing:
            problems.append((f"{field}.{missing[0]}", "missing required key"))
            continue
        if not isinstance(spec["path"], str) or not spec["path"]:
            problems.append(
                (f"{field}.path", "must be a dotted path such as behaviour.churn_slope")
            )
            continue
        try:
            low, high = _number(spec["low"]), _number(spec["high"])
            factors.append(
                Factor(
                    str(name),
                    spec["path"],
                    low,
                    high,
                    scale=bool(spec.get("scale", False)),
                    description=str(spec.get("description", "")),
                )
            )
        except (TypeError, ValueError):
            problems.append((field, "low and high must be finite numbers"))
        except SensitivityError:
            problems.append((field, f"low must be below high (got {spec['low']}, {spec['high']})"))
    if problems:
        raise ScenarioError(file, problems)
    return factors


def factors_from_salib(data: Mapping[str, Any], *, file: str | None) -> list[Factor]:
    """Factors from a SALib problem: ``{num_vars, names, bounds}``, as SALib's own examples
    write it (``dists`` may say ``unif`` for every factor).

    Each name is a dotted scenario path (``*`` matches every key) whose value is set across its
    bounds, or ``dummy``. SALib's other keys change what SALib does in ways this analysis does
    not follow, so they are refused rather than ignored: ``groups`` (factors moved together),
    ``dists`` other than uniform, ``outputs`` (give the outcomes with ``--outcomes``).

    Raises
    ------
    ScenarioError
        A malformed problem, naming the file and the key.
    """
    problems: list[tuple[str, str]] = []
    for key in sorted(set(data) - {"num_vars", "names", "bounds", "dists"}):
        reason = {
            "groups": "factor groups are not supported: list each factor on its own",
            "outputs": "give the outcomes with --outcomes",
        }.get(key, "unknown key of a SALib problem (num_vars, names, bounds, dists)")
        problems.append((key, reason))
    names, bounds = data["names"], data["bounds"]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        problems.append(("names", "must be a non-empty list of scenario paths"))
    elif not isinstance(bounds, list) or len(bounds) != len(names):
        problems.append(("bounds", f"must be a list of {len(names)} [low, high] pairs"))
    if "num_vars" in data and isinstance(names, list) and data["num_vars"] != len(names):
        problems.append(("num_vars", f"is {data['num_vars']} but {len(names)} names are given"))
    dists = data.get("dists")
    if dists is not None and (not isinstance(dists, list) or set(dists) != {"unif"}):
        problems.append(("dists", "only uniform ranges ('unif') are sampled"))
    if problems:
        raise ScenarioError(file, problems)
    mapping: dict[str, Any] = {}
    for i, (name, pair) in enumerate(zip(names, bounds, strict=True)):
        if name in mapping:
            raise ScenarioError(file, [(f"names.{i}", f"'{name}' is given twice")])
        if name == "dummy":
            mapping[name] = {"dummy": True}
        elif not isinstance(pair, list) or len(pair) != 2:
            raise ScenarioError(file, [(f"bounds.{i}", "must be a [low, high] pair")])
        else:
            mapping[name] = {"path": name, "low": pair[0], "high": pair[1]}
    return factors_from_mapping(mapping, file=file, where="names")


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    if not math.isfinite(value):
        raise ValueError(value)
    return float(value)


# --- applying factors to a scenario ------------------------------------------------------------


def apply_factors(
    scenario: Scenario, factors: Sequence[Factor], values: Sequence[float]
) -> Scenario:
    """``scenario`` with each factor set (or scaled) to its value, in order
    (:func:`~incentsim.scenario.loader.with_values`).

    Integer fields get rounded values.

    Raises
    ------
    SensitivityError
        A path that does not lead to numbers in the scenario.
    ScenarioError
        The changed scenario is invalid.
    """
    changes = [
        (factor.path, Change(functools.partial(_factor_value, factor, float(value))))
        for factor, value in zip(factors, values, strict=True)
        if factor.path is not None
    ]
    try:
        return with_values(scenario, changes)
    except PathError as exc:
        name = next(f.name for f in factors if f.path == exc.path)
        raise SensitivityError(f"factor '{name}': {exc}") from None


def _factor_value(factor: Factor, value: float, current: Any, where: str) -> float:
    """The value ``factor`` at ``value`` puts where ``current`` was."""
    if isinstance(current, bool) or not isinstance(current, int | float):
        raise SensitivityError(f"factor '{factor.name}': '{where}' holds {current!r}, not a number")
    new = current * value if factor.scale else value
    return round(new) if isinstance(current, int) else new


def check_factors(scenario: Scenario, factors: Sequence[Factor]) -> None:
    """Check every factor reaches numbers in ``scenario`` and each end of its range validates.

    Raises
    ------
    SensitivityError
        Names the factor, the value and the scenario's complaint.
    """
    if not factors:
        raise SensitivityError("no factors given")
    names = [f.name for f in factors]
    if len(set(names)) != len(names):
        raise SensitivityError(f"factor names must differ: {names}")
    middle = [(f.low + f.high) / 2 for f in factors]
    for i, factor in enumerate(factors):
        for end in (factor.low, factor.high):
            values = [*middle[:i], end, *middle[i + 1 :]]
            try:
                apply_factors(scenario, factors, values)
            except ScenarioError as exc:
                problems = "; ".join(
                    f"{path}: {msg}" if path else msg for path, msg in exc.problems
                )
                raise SensitivityError(
                    f"factor '{factor.name}' at {end:g} makes an invalid scenario: {problems}"
                ) from None


def _check_drawn(factors: Sequence[Factor], drawn: Sequence[str]) -> None:
    """Refuse factors on behaviour constants that calibration draws set (each block's draw
    would replace the factor's value, so the factor would seem to move nothing)."""
    clash = [f.name for f in factors if f.path is not None and f.path in _drawn_paths(drawn)]
    if clash:
        raise SensitivityError(
            f"factor '{clash[0]}' varies a behaviour constant the calibration draws set "
            f"({', '.join(drawn)}): leave it out of the factors, or run without --draws"
        )


def _drawn_paths(drawn: Sequence[str]) -> set[str]:
    return {f"behaviour.{name}" for name in drawn}


# --- simulating the sample points --------------------------------------------------------------


@dataclass(frozen=True)
class _Chunk:
    """Sample points ``start .. start + len(values) - 1`` to simulate."""

    index: int
    start: int
    values: np.ndarray


def _simulate_chunk(
    chunk: _Chunk,
    *,
    base: Scenario,
    factors: tuple[Factor, ...],
    outcomes: tuple[str, ...],
    plan: RunPlan,
    options: RunOptions,
) -> tuple[int, np.ndarray]:
    """Simulate each point of a chunk (runs in a worker, serially, in memory, by ``plan``
    with ``options``' block function, draws and block size): ``(index, points x reps x
    outcomes)``."""
    assert plan.reps is not None
    values = np.empty((len(chunk.values), plan.reps, len(outcomes)))
    with Evaluator(options) as ev:
        for i, row in enumerate(chunk.values):
            result = ev.run(apply_factors(base, factors, row), plan)
            values[i] = result.outcomes[list(outcomes)].to_numpy(dtype=np.float64)
    return chunk.index, values


def _chunk_table(chunk: _Chunk, values: np.ndarray, outcomes: Sequence[str]) -> Any:
    """A chunk's block file: ``point``, ``replication``, then one column per outcome."""
    n, reps, _ = values.shape
    columns = {
        "point": np.repeat(np.arange(chunk.start, chunk.start + n, dtype=np.int64), reps),
        "replication": np.tile(np.arange(reps, dtype=np.int64), n),
    }
    columns.update({name: values[:, :, k].reshape(-1) for k, name in enumerate(outcomes)})
    return pa.table(columns)


def _read_chunk(path: Path, chunk: _Chunk, reps: int, outcomes: Sequence[str]) -> np.ndarray:
    frame = pq.read_table(path).to_pandas()
    matrix = frame[list(outcomes)].to_numpy(dtype=np.float64)
    return matrix.reshape(len(chunk.values), reps, len(outcomes))


def evaluate_points(
    scenario: Scenario,
    factors: Sequence[Factor],
    sample: np.ndarray,
    outcomes: Sequence[str],
    options: RunOptions | Evaluator,
    plan: RunPlan,
    *,
    run_store: RunStore | None = None,
) -> np.ndarray:
    """Simulate every sample point with the plan's replications from the same seed (both
    default to the scenario's), with a progress bar over points if asked.

    Returns
    -------
    numpy.ndarray
        ``points x reps x outcomes``. With a ``run_store`` (opened: :func:`points_store`),
        its finished blocks of points are read back instead of simulated, and new ones are
        written as they finish.
    """
    plan = plan.resolved(scenario)
    reps = plan.replications_for(scenario)
    with evaluator_for(options) as ev:
        chunks = [
            _Chunk(i, start, sample[start : start + CHUNK_POINTS])
            for i, start in enumerate(range(0, len(sample), CHUNK_POINTS))
        ]
        values = np.empty((len(sample), reps, len(outcomes)))
        kept = [] if run_store is None else run_store.finished_blocks()
        for index in kept:
            chunk = chunks[index]
            path = run_store.block_file(POINTS_FOLDER, index)  # type: ignore[union-attr]
            stop = chunk.start + len(chunk.values)
            values[chunk.start : stop] = _read_chunk(path, chunk, reps, outcomes)
        todo = [chunk for chunk in chunks if chunk.index not in kept]
        task = functools.partial(
            _simulate_chunk,
            base=scenario,
            factors=tuple(factors),
            outcomes=tuple(outcomes),
            plan=plan,
            options=ev.options.resolved(scenario).in_worker(),
        )
        for index, chunk_values in ev.map(
            task,
            todo,
            name=f"{scenario.name} sensitivity",
            total=sum(len(c.values) for c in todo),
            unit="point",
            size=lambda done: len(chunks[done[0]].values),
        ):
            chunk = chunks[index]
            values[chunk.start : chunk.start + len(chunk.values)] = chunk_values
            if run_store is not None:
                path = run_store.block_file(POINTS_FOLDER, index)
                store.write_parquet(path, _chunk_table(chunk, chunk_values, outcomes))
    return values


# --- analysis ----------------------------------------------------------------------------------


def _problem(factors: Sequence[Factor]) -> dict[str, Any]:
    return {
        "num_vars": len(factors),
        "names": [f.name for f in factors],
        "bounds": [[f.low, f.high] for f in factors],
    }


def _salib(module: str) -> ModuleType:
    """A SALib module, loaded when an analysis needs it (SALib is the optional extra
    ``incentsim[sensitivity]``; a clear error says how to install it when it is missing)."""
    return optional_module(f"SALib.{module}", "sensitivity analysis", "sensitivity")


def _sample(method: str, factors: Sequence[Factor], size: int, seed: int) -> np.ndarray:
    problem = _problem(factors)
    if method == "morris":
        morris = _salib("sample.morris")  # ~0.2 s CPU to load
        return morris.sample(problem, size, num_levels=MORRIS_LEVELS, seed=seed)
    sobol = _salib("sample.sobol")  # ~1.1 s CPU to load
    return sobol.sample(problem, size, calc_second_order=False, seed=seed)


def _indices(
    method: str,
    problem: dict[str, Any],
    sample: np.ndarray,
    y: np.ndarray,
    seed: int,
    resamples: int,
) -> dict[str, np.ndarray]:
    """SALib's indices for one outcome (``mu_star``... or ``S1``, ``ST``... with intervals)."""
    if method == "morris":
        morris = _salib("analyze.morris")  # ~1.2 s CPU to load
        found = morris.analyze(
            problem,
            sample,
            y,
            num_resamples=resamples,
            conf_level=CONFIDENCE,
            num_levels=MORRIS_LEVELS,
            seed=seed,
        )
        keys = ("mu", "mu_star", "sigma", "mu_star_conf")
    else:
        sobol = _salib("analyze.sobol")  # ~1.1 s CPU to load
        found = sobol.analyze(
            problem,
            y,
            calc_second_order=False,
            num_resamples=resamples,
            conf_level=CONFIDENCE,
            seed=seed,
        )
        keys = ("S1", "S1_conf", "ST", "ST_conf")
    return {key: np.asarray(found[key], dtype=np.float64) for key in keys}


#: The index each method ranks factors by, and the indices given a replication interval.
RANK_BY = {"morris": "mu_star", "sobol": "ST"}
REPLICATION_INDICES = {"morris": ("mu_star",), "sobol": ("S1", "ST")}


def _replication_intervals(
    method: str, problem: dict[str, Any], sample: np.ndarray, values: np.ndarray, seed: int
) -> dict[str, np.ndarray]:
    """Percentile intervals of the indices when the replications are resampled (the same
    resample at every point, keeping the common random numbers paired)."""
    rng = np.random.default_rng(seed)
    reps = values.shape[1]
    draws: dict[str, list[np.ndarray]] = {k: [] for k in REPLICATION_INDICES[method]}
    with np.errstate(all="ignore"):
        for _ in range(REPLICATION_RESAMPLES):
            pick = rng.integers(0, reps, reps)
            found = _indices(method, problem, sample, values[:, pick].mean(axis=1), seed, 2)
            for key in draws:
                draws[key].append(found[key])
    tail = (1 - CONFIDENCE) / 2 * 100
    out = {}
    for key, rows in draws.items():
        stacked = np.vstack(rows)
        out[f"{key}_rep_low"] = np.nanpercentile(stacked, tail, axis=0)
        out[f"{key}_rep_high"] = np.nanpercentile(stacked, 100 - tail, axis=0)
    return out


def _noise(values: np.ndarray) -> dict[str, float]:
    """Replication noise of one outcome (``values``: points x reps)."""
    reps = values.shape[1]
    within = float(np.mean(np.var(values, axis=1, ddof=1)))
    between = float(np.var(values.mean(axis=1), ddof=1))
    share = within / reps / between if between > 0 else (0.0 if within == 0 else math.inf)
    return {
        "replication_sd": math.sqrt(within),
        "point_mean_se": math.sqrt(within / reps),
        "point_mean_sd": math.sqrt(between),
        "noise_share": share,
    }


class SensitivityResult:
    """A finished sensitivity analysis.

    Attributes
    ----------
    method
        ``"morris"`` or ``"sobol"``.
    factors, outcomes
        What was varied and what was measured.
    sample
        The sample points (points x factors).
    values
        Simulated outcomes, points x replications x outcomes.
    reps, seed, size
        Replications per point, the common root seed, and trajectories (Morris) or base samples
        (Sobol).
    scenario_name, scenario_hash
        The scenario the factors were applied to.
    """

    def __init__(
        self,
        *,
        method: str,
        factors: Sequence[Factor],
        outcomes: Sequence[str],
        sample: np.ndarray,
        values: np.ndarray,
        reps: int,
        seed: int,
        size: int,
        scenario_name: str,
        scenario_hash: str,
        draws: str | None = None,
    ) -> None:
        self.method = method
        #: The content hash of the calibration draws the points ran under (``None``: none).
        self.draws = draws
        self.factors = list(factors)
        self.outcomes = list(outcomes)
        self.sample = sample
        self.values = values
        self.reps, self.seed, self.size = reps, seed, size
        self.scenario_name, self.scenario_hash = scenario_name, scenario_hash
        self._table = self._analyse()

    def _analyse(self) -> pd.DataFrame:
        problem = _problem(self.factors)
        rows = []
        for k, outcome in enumerate(self.outcomes):
            per_point = self.values[:, :, k]
            with np.errstate(all="ignore"):
                found = _indices(
                    self.method,
                    problem,
                    self.sample,
                    per_point.mean(axis=1),
                    self.seed,
                    SAMPLE_RESAMPLES,
                )
            found.update(
                _replication_intervals(self.method, problem, self.sample, per_point, self.seed)
            )
            ranked = np.argsort(
                -np.nan_to_num(found[RANK_BY[self.method]], nan=-np.inf), kind="stable"
            )
            for rank, j in enumerate(ranked, start=1):
                factor = self.factors[j]
                rows.append(
                    {
                        "outcome": outcome,
                        "rank": rank,
                        "factor": factor.name,
                        "path": factor.path or "(dummy)",
                        "range": factor.range_text,
                        **{key: float(column[j]) for key, column in found.items()},
                    }
                )
        return pd.DataFrame(rows)

    # --- tables ----------------------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """One row per outcome x factor, ranked within each outcome (rank 1 moves it most)."""
        return self._table.copy()

    def ranking(self, outcome: str) -> list[str]:
        """Factor names for ``outcome``, most influential first."""
        rows = self._table[self._table["outcome"] == outcome]
        if rows.empty:
            raise KeyError(f"no outcome '{outcome}' (analysed: {', '.join(self.outcomes)})")
        return list(rows.sort_values("rank")["factor"])

    def noise_frame(self) -> pd.DataFrame:
        """Per outcome: the between-replication sd, the standard error of a point's mean, the
        sd of the point means across the sample, and the share of their variance that is noise."""
        rows = [
            {"outcome": name, "reps": self.reps, **_noise(self.values[:, :, k])}
            for k, name in enumerate(self.outcomes)
        ]
        return pd.DataFrame(rows)

    def warnings(self) -> list[str]:
        """Leading factors whose order the replication noise does not settle: among the top
        :data:`SETTLED_RANKS`, a factor whose replication interval overlaps the next one's."""
        lead = RANK_BY[self.method]
        found = []
        for outcome in self.outcomes:
            rows = self._table[self._table["outcome"] == outcome].sort_values("rank")
            ranked = list(rows.itertuples())[: SETTLED_RANKS + 1]
            for upper, lower in itertools.pairwise(ranked):
                if getattr(upper, lead) > 0 and (
                    getattr(upper, f"{lead}_rep_low") < getattr(lower, f"{lead}_rep_high")
                ):
                    found.append(
                        f"{outcome}: '{upper.factor}' (rank {upper.rank}) and '{lower.factor}' "
                        f"are not told apart by {self.reps} replications a point (their "
                        "replication intervals overlap); raise --reps to settle their order"
                    )
        return found

    def identity(self) -> dict[str, Any]:
        """What produced the result: scenario, method, sample size, replications, seed, factors."""
        return _identity(
            self.scenario_name,
            self.scenario_hash,
            self.method,
            self.factors,
            self.outcomes,
            self.size,
            self.reps,
            self.seed,
            self.draws,
        )

    def __str__(self) -> str:

        lead = RANK_BY[self.method]
        header = (
            f"{self.method.capitalize()} sensitivity of '{self.scenario_name}': "
            f"{len(self.sample):,} points x {self.reps} replications (common random numbers, "
            f"seed {self.seed}); {len(self.factors)} factors ranked by {lead}"
        )
        if self.draws is not None:
            header += "; behaviour constants drawn per block from a calibration"
        lines = [header]
        noise = self.noise_frame().set_index("outcome")
        for outcome in self.outcomes:
            rows = self._table[self._table["outcome"] == outcome].sort_values("rank")
            sd = noise.loc[outcome, "replication_sd"]
            spread = noise.loc[outcome, "point_mean_sd"]
            lines += [
                "",
                f"{outcome}: sd between replications {_g(sd)}, sd of the point means across "
                f"the sample {_g(spread)}",
            ]
            if self.method == "morris":
                cells = [
                    [
                        "rank",
                        "factor",
                        "range",
                        "mu*",
                        "95% CI (sample)",
                        "95% CI (replications)",
                        "sigma",
                    ]
                ]
                for r in rows.itertuples():
                    cells.append(
                        [
                            str(r.rank),
                            r.factor,
                            r.range,
                            _g(r.mu_star),
                            f"± {_g(r.mu_star_conf)}",
                            f"[{_g(r.mu_star_rep_low)}, {_g(r.mu_star_rep_high)}]",
                            _g(r.sigma),
                        ]
                    )
            else:
                cells = [
                    [
                        "rank",
                        "factor",
                        "range",
                        "S1",
                        "± (sample)",
                        "ST",
                        "± (sample)",
                        "ST 95% CI (replications)",
                    ]
                ]
                for r in rows.itertuples():
                    cells.append(
                        [
                            str(r.rank),
                            r.factor,
                            r.range,
                            f"{r.S1:.3f}",
                            f"{r.S1_conf:.3f}",
                            f"{r.ST:.3f}",
                            f"{r.ST_conf:.3f}",
                            f"[{r.ST_rep_low:.3f}, {r.ST_rep_high:.3f}]",
                        ]
                    )
            lines += list(text_columns(cells))
        warnings = self.warnings()
        if warnings:
            lines += ["", *(f"warning: {w}" for w in warnings)]
        return "\n".join(lines)

    # --- plots -----------------------------------------------------------------------------------

    def plot(self, outcome: str) -> Figure:
        """Morris: mu* bars (tornado) with both intervals, and the mu*-sigma plane. Sobol: S1 and
        ST bars with their intervals."""

        plt, ticker = _pyplot()
        rows = self._table[self._table["outcome"] == outcome].sort_values("rank")
        if rows.empty:
            raise KeyError(f"no outcome '{outcome}' (analysed: {', '.join(self.outcomes)})")
        y = np.arange(len(rows))
        height = max(3.0, 1.0 + 0.4 * len(rows))
        title = f"{outcome}: {self.reps} replications a point, {len(self.sample):,} points"
        if self.method == "morris":
            fig, (bars, plane) = plt.subplots(1, 2, figsize=(12, height))
            bars.barh(
                y,
                rows["mu_star"],
                xerr=rows["mu_star_conf"],
                color="#1f4e79",
                alpha=0.8,
                capsize=3,
                label="mu* (± sample 95% CI)",
            )
            bars.errorbar(
                rows["mu_star"],
                y + 0.25,
                xerr=[
                    (rows["mu_star"] - rows["mu_star_rep_low"]).clip(lower=0),
                    (rows["mu_star_rep_high"] - rows["mu_star"]).clip(lower=0),
                ],
                fmt="none",
                ecolor="#e67e22",
                capsize=2,
                label="replication-noise 95% CI",
            )
            bars.set_yticks(y, rows["factor"])
            bars.invert_yaxis()
            bars.set_xlabel(f"mu* (mean |elementary effect| on {outcome})")
            bars.legend(frameon=False, fontsize="small")
            plane.scatter(rows["mu_star"], rows["sigma"], color="#1f4e79")
            for r in rows.itertuples():
                plane.annotate(
                    r.factor,
                    (r.mu_star, r.sigma),
                    fontsize="small",
                    xytext=(3, 3),
                    textcoords="offset points",
                )
            top = float(max(rows["mu_star"].max(), rows["sigma"].max(), 0.0)) or 1.0
            plane.plot([0, top], [0, top], color="#7f8c8d", linestyle=":", linewidth=1)
            for axis in (bars.xaxis, plane.xaxis, plane.yaxis):
                axis.set_major_locator(ticker.MaxNLocator(5))
                axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: _g(v)))
            plane.set_xlabel("mu* (influence)")
            plane.set_ylabel("sigma (interactions, non-linearity)")
            plane.set_title("above the diagonal: effect depends on other factors", fontsize="small")
        else:
            fig, bars = plt.subplots(figsize=(8, height))
            bars.barh(
                y - 0.2,
                rows["S1"],
                height=0.4,
                xerr=rows["S1_conf"],
                color="#1f4e79",
                capsize=3,
                label="S1 (alone)",
            )
            bars.barh(
                y + 0.2,
                rows["ST"],
                height=0.4,
                xerr=rows["ST_conf"],
                color="#e67e22",
                capsize=3,
                label="ST (with interactions)",
            )
            bars.set_yticks(y, rows["factor"])
            bars.invert_yaxis()
            bars.set_xlabel(f"share of the variance of {outcome} (± sample 95% CI)")
            bars.legend(frameon=False, fontsize="small")
        fig.suptitle(title)
        fig.tight_layout()
        plt.close(fig)
        return fig

    # --- files -----------------------------------------------------------------------------------

    def points_frame(self) -> pd.DataFrame:
        """One row per sample point: the factors' values and the outcomes' replication means."""
        sample = pd.DataFrame(self.sample, columns=[f.name for f in self.factors])
        means = pd.DataFrame(self.values.mean(axis=1), columns=self.outcomes)
        return pd.concat([sample, means], axis=1).rename_axis("point")

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table: ranked ``indices``, replication ``noise`` and the sample ``points``."""
        return {
            "indices": self.to_frame(),
            "noise": self.noise_frame(),
            "points": self.points_frame(),
        }

    def write(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Write the ranked indices, the noise table and the points (CSV and Parquet each), one
        PNG per outcome and ``result.json``; returns the files written. The HTML report is
        :func:`incentsim.report.sensitivity_report`."""

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = [
            path
            for name, frame in self.tables().items()
            for path in store.write_table(frame, folder / name)
        ]
        for outcome in self.outcomes:
            path = folder / f"{self.method}_{outcome}.png"
            with atomic_file(path) as tmp:
                self.plot(outcome).savefig(tmp, dpi=110)
            written.append(path)
        result = {
            **self.identity(),
            "warnings": self.warnings(),
            "factors": [asdict(f) for f in self.factors],
        }
        write_json(folder / "result.json", result)
        return [*written, folder / "result.json"]


def _g(value: float) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.4g}"


def _identity(
    name: str,
    scenario_hash: str,
    method: str,
    factors: Sequence[Factor],
    outcomes: Sequence[str],
    size: int,
    reps: int,
    seed: int,
    draws: str | None = None,
) -> dict[str, Any]:
    factor_rows = [asdict(f) for f in factors]
    digest = hashlib.sha256(json.dumps(factor_rows, sort_keys=True).encode()).hexdigest()
    drawn = {} if draws is None else {"draws": draws}  # absent without, as result.json shows
    return {
        "scenario": name,
        "scenario_hash": scenario_hash,
        "method": method,
        "size": size,
        "reps": reps,
        "seed": seed,
        "outcomes": list(outcomes),
        "factors_hash": digest,
        "chunk_points": CHUNK_POINTS,
        **drawn,
    }


# --- the analysis ------------------------------------------------------------------------------


def sensitivity(
    scenario: Scenario,
    factors: Sequence[Factor] | str | None = None,
    *,
    method: Method | str = "morris",
    size: int | None = None,
    reps: int | None = None,
    outcomes: Sequence[str] = DEFAULT_OUTCOMES,
    seed: int | None = None,
    options: RunOptions | Evaluator | None = None,
    **run: Unpack[RunKeywords],
) -> SensitivityResult:
    """Rank uncertain assumptions by how much they move the outcomes.

    Parameters
    ----------
    scenario
        The scenario the factors are applied to.
    factors
        :class:`Factor` list, or text for :func:`parse_factors`; default :data:`DEFAULT_FACTORS`.
    method
        ``"morris"`` (screening) or ``"sobol"`` (variance shares).
    size
        Morris trajectories (default 10) or Sobol base samples, a power of two (default 64).
    reps
        Replications per sample point (at least 2, for the replication noise; default
        :data:`POINT_REPS`).
    outcomes
        Outcomes to analyse (the engine's outcome names).
    seed
        Common root seed of every point, and the sampling seed (default: the scenario's).
    options
        The run options (:class:`~incentsim.montecarlo.RunOptions`), or an
        :class:`~incentsim.montecarlo.Evaluator` to run on: where chunks of points run;
        ``out_dir`` streams finished chunks into that folder and writes the tables and plots
        there (an analysis interrupted there continues when run again with the same
        arguments); ``progress`` shows a bar over sample points; ``draws`` simulates each block
        of every point with the calibration draw its seed picks (the same at every point, so
        the common random numbers stay paired).
    **run
        Run options one by one (``executor="processes", workers=2, out_dir=...``), replacing
        those of ``options``.

    Raises
    ------
    SensitivityError
        Unknown method or outcome, a bad sample size, factors that do not fit the scenario,
        or factors that the calibration draws would override.
    """
    point_reps = POINT_REPS if reps is None else reps
    root = scenario.seed if seed is None else int(seed)
    with evaluator_for(options, **run) as ev:
        return _sensitivity(scenario, factors, method, size, point_reps, outcomes, root, ev)


def _sensitivity(
    scenario: Scenario,
    factors: Sequence[Factor] | str | None,
    method: str,
    size: int | None,
    reps: int,
    outcomes: Sequence[str],
    root: int,
    ev: Evaluator,
) -> SensitivityResult:
    """The analysis of :func:`sensitivity` once its run options are known."""

    if method not in METHODS:
        raise SensitivityError(f"unknown method '{method}'; choose morris or sobol")
    chosen = (
        list(DEFAULT_FACTORS)
        if factors is None
        else (parse_factors(factors) if isinstance(factors, str) else list(factors))
    )
    n = size if size is not None else (10 if method == "morris" else 64)
    if method == "morris" and not 2 <= n <= MAX_TRAJECTORIES:
        raise SensitivityError(f"Morris needs 2 to {MAX_TRAJECTORIES:,} trajectories, not {n:,}")
    if method == "sobol" and (not 2 <= n <= MAX_SAMPLES or n & (n - 1)):
        raise SensitivityError(
            f"Sobol samples must be a power of two from 2 to {MAX_SAMPLES:,} (e.g. 64), not {n:,}"
        )
    if not 2 <= reps <= MAX_POINT_REPS:
        raise SensitivityError(
            f"at least 2 replications a point are needed to measure noise, and at most "
            f"{MAX_POINT_REPS:,}; not {reps:,}"
        )
    if len(chosen) > MAX_FACTORS:
        raise SensitivityError(f"at most {MAX_FACTORS} factors, not {len(chosen)}")
    points = n * (len(chosen) + (1 if method == "morris" else 2))
    if points * reps > MAX_SIMULATIONS:
        raise SensitivityError(
            f"{points:,} points x {reps:,} replications is {points * reps:,} simulations, more "
            f"than {MAX_SIMULATIONS:,}: use fewer trajectories, samples, factors or replications"
        )
    outcomes = list(dict.fromkeys(outcomes))
    if not outcomes:
        raise SensitivityError("no outcomes given")
    check_factors(scenario, chosen)
    draws = ev.options.draws
    if draws is not None:
        _check_drawn(chosen, draws.constants)
    ev.check_memory(scenario, reps, points)
    plan = RunPlan(reps, root)
    with Evaluator(ev.options.in_worker()) as reference_run:
        reference = reference_run.run(scenario, RunPlan(2, root))
    unknown = [o for o in outcomes if o not in reference.outcomes.columns]
    if unknown:
        raise SensitivityError(
            f"unknown outcome '{unknown[0]}'; the engine reports: "
            f"{', '.join(reference.outcomes.columns)}"
        )
    sample = _sample(method, chosen, n, root)
    digest = scenario_hash(scenario)
    drawn = None if draws is None else draws.digest()
    out_dir = ev.options.out_dir
    identity = _identity(scenario.name, digest, method, chosen, outcomes, n, reps, root, drawn)
    run_store = None
    writing = contextlib.nullcontext() if out_dir is None else folder_lock(out_dir)
    with writing:
        if out_dir is not None:
            run_store = points_store(out_dir, identity, len(sample))
            run_store.open(resume=ev.options.resume, overwrite=ev.options.overwrite)
        values = evaluate_points(scenario, chosen, sample, outcomes, ev, plan, run_store=run_store)
        result = SensitivityResult(
            method=method,
            factors=chosen,
            outcomes=outcomes,
            sample=sample,
            values=values,
            reps=reps,
            seed=root,
            size=n,
            scenario_name=scenario.name,
            scenario_hash=digest,
            draws=drawn,
        )
        if run_store is not None:
            result.write(run_store.folder)
            run_store.write_manifest(status="complete")  # last: once every file is written
    return result


def points_store(folder: Path, identity: Mapping[str, Any], points: int) -> RunStore:
    """The run store of a sensitivity analysis in ``folder``: its key is the analysis'
    ``identity`` (:meth:`SensitivityResult.identity`), its blocks the chunks of
    :data:`CHUNK_POINTS` sample points."""
    return RunStore(folder, SENSITIVITY_STORE, identity, blocks=math.ceil(points / CHUNK_POINTS))
