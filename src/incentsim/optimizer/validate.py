"""The chosen design as a whole program, and its proof on simulations the optimiser never saw.

The optimiser's figures are *promises*: they come from the same scenarios the design was chosen
on (so they lean optimistic) and from segments simulated alone. :func:`validate_design`
re-simulates the chosen design jointly, every segment together under the chosen budget and
reserve, on a fresh seed (:func:`~incentsim.montecarlo.seeding.fresh_seed`), and sets each
promise against what happened, with 95% intervals on both sides. A difference larger than the
two intervals' combined noise (a two-sided z test at 5%) is flagged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from incentsim.engine.outcomes import describe
from incentsim.montecarlo.evaluator import run_montecarlo
from incentsim.montecarlo.seeding import SeedLike, describe_seed, seed_label
from incentsim.montecarlo.summary import mean_interval, wilson_interval
from incentsim.optimizer.coefficients import ProblemSettings, segment_values
from incentsim.optimizer.evaluate import SimulatedCandidates
from incentsim.optimizer.space import Candidate, add_to_segment
from incentsim.optimizer.spec import OptimizationSpec
from incentsim.scenario.loader import with_values
from incentsim.scenario.model import Scenario

__all__ = [
    "Comparison",
    "Validation",
    "design_scenario",
    "joint_outcomes",
    "promised_outcomes",
    "validate_design",
]

#: Two-sided 95% normal quantile.
_Z = 1.959963984540054


@dataclass(frozen=True)
class Comparison:
    """One figure: what the optimiser promised, what happened, and whether they agree."""

    name: str
    promised: float
    promised_low: float
    promised_high: float
    realised: float
    realised_low: float
    realised_high: float
    agree: bool
    probability: bool = False


@dataclass
class Validation:
    """Promised against realised figures of the chosen design.

    Attributes
    ----------
    replications, seed
        Fresh replications of the joint program and their root seed.
    comparisons
        Objective, incentive cost, P(cost > budget + reserve), retention.
    warnings
        Disagreements beyond noise, and a realised overrun probability above alpha.
    """

    replications: int
    seed: Any
    comparisons: list[Comparison]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "replications": self.replications,
            "seed": self.seed,
            "comparisons": [asdict(c) for c in self.comparisons],
            "warnings": list(self.warnings),
        }


def design_scenario(
    base: Scenario,
    chosen: Mapping[str, Candidate],
    settings: ProblemSettings,
    reserve: float,
    name: str,
    description: str = "",
) -> Scenario:
    """The base scenario with each segment's chosen candidate added to its overrides, the
    budget spread evenly over the horizon's periods and the reserve starting at ``reserve``
    (its maximum is the larger of ``reserve`` and the base program's, so unspent budget can
    still build it up)."""
    program = base.program.model_dump(mode="json")
    for g, candidate in chosen.items():
        add_to_segment(program, g, candidate.override)
    base_max = base.program.budget.reserve.max or 0.0
    values: dict[str, Any] = {
        "program.segment_overrides": program["segment_overrides"],
        "program.budget.per_period": settings.budget / base.calendar.horizon_periods,
        "program.budget.reserve.initial": reserve,
        "program.budget.reserve.max": max(reserve, base_max),
        "name": name,
    }
    if program["versions"]:
        values["program.versions"] = program["versions"]
    if description:
        values["description"] = description
    return with_values(base, values)


def promised_outcomes(
    spec: OptimizationSpec,
    sim: SimulatedCandidates,
    choice: Mapping[str, int],
    settings: ProblemSettings,
    reserve: float,
) -> dict[str, np.ndarray]:
    """Per optimiser scenario, the chosen design's objective, cost, overrun and retention."""
    objective = sum(segment_values(spec, sim, g)[c] for g, c in choice.items())
    cost = sum(sim.data[g]["incentive_cost"][c] for g, c in choice.items())
    partners = sum(sim.partners[g] for g in choice)
    retention = sum(sim.partners[g] * sim.data[g]["retention"][c] for g, c in choice.items())
    return {
        "objective": np.asarray(objective - spec.reserve.carrying_cost * reserve),
        "incentive_cost": np.asarray(cost),
        "overrun_probability": (np.asarray(cost) > settings.budget + reserve).astype(float),
        "retention": np.asarray(retention) / max(partners, 1),
    }


def validate_design(
    spec: OptimizationSpec,
    design: Scenario,
    promised: Mapping[str, np.ndarray],
    settings: ProblemSettings,
    reserve: float,
    seed: SeedLike,
    **options: Any,
) -> Validation:
    """Re-simulate ``design`` on ``seed`` and compare with ``promised``.

    ``options`` go to :func:`~incentsim.montecarlo.run_montecarlo` (``executor``,
    ``workers``, ``progress``...).
    """
    realised = joint_outcomes(
        spec, design, settings, reserve, seed, spec.validation_replications, **options
    )
    cost = realised["incentive_cost"]
    comparisons = [compare(name, promised[name], realised[name]) for name in realised]
    warnings = [
        f"{c.name}: promised {_amount(c.promised)} but realised {_amount(c.realised)} "
        "(differs beyond sampling noise)"
        for c in comparisons
        if not c.agree
    ]
    overrun = next(c for c in comparisons if c.name == "overrun_probability")
    if overrun.realised_low > settings.alpha:
        warnings.append(
            f"the realised probability of overrunning budget + reserve ({overrun.realised:.3f}, "
            f"95% interval {overrun.realised_low:.3f}-{overrun.realised_high:.3f}) is above "
            f"alpha = {settings.alpha:g} beyond sampling error"
        )
    label = seed_label(seed)
    return Validation(
        len(cost), {"seed": describe_seed(seed), "label": label}, comparisons, warnings
    )


def joint_outcomes(
    spec: OptimizationSpec,
    design: Scenario,
    settings: ProblemSettings,
    reserve: float,
    seed: SeedLike,
    reps: int,
    **options: Any,
) -> dict[str, np.ndarray]:
    """Simulate ``design`` as one program (every segment, budget and reserve on) for ``reps``
    replications from ``seed``; per replication the objective (as the optimiser counts it),
    incentive cost, overrun of budget + reserve (0/1) and retention.

    ``options`` go to :func:`~incentsim.montecarlo.run_montecarlo`.
    """
    outcomes = run_montecarlo(design, reps=reps, seed=seed, **options).outcomes
    partners = design.population.partners
    cost = outcomes["incentive_cost"].to_numpy(dtype=float)
    retention = outcomes["retention"].to_numpy(dtype=float)
    return {
        "objective": outcomes[spec.objective].to_numpy(dtype=float)
        + spec.loyalty_value * partners * retention
        - spec.reserve.carrying_cost * reserve,
        "incentive_cost": cost,
        "overrun_probability": (cost > settings.budget + reserve).astype(float),
        "retention": retention,
    }


def compare(name: str, promised: np.ndarray, realised: np.ndarray) -> Comparison:
    """Means (or probabilities, for 0/1 values) with 95% intervals and a z test of equality."""
    probability = name.endswith("probability")
    p_mean, r_mean = float(np.mean(promised)), float(np.mean(realised))
    if probability:
        p_low, p_high = wilson_interval(int(promised.sum()), len(promised))
        r_low, r_high = wilson_interval(int(realised.sum()), len(realised))
        pooled = (promised.sum() + realised.sum()) / (len(promised) + len(realised))
        se = math.sqrt(pooled * (1 - pooled) * (1 / len(promised) + 1 / len(realised)))
    else:
        entry = describe(name)  # intervals stay within the outcome's bounds (retention <= 1)
        p_low, p_high = (entry.clip(x) for x in mean_interval(promised))
        r_low, r_high = (entry.clip(x) for x in mean_interval(realised))
        se = math.sqrt(_var_of_mean(promised) + _var_of_mean(realised))
    difference = abs(p_mean - r_mean)
    agree = difference <= _Z * se if se > 0 else difference <= 1e-9 * max(1.0, abs(p_mean))
    return Comparison(name, p_mean, p_low, p_high, r_mean, r_low, r_high, agree, probability)


def _var_of_mean(values: np.ndarray) -> float:
    return float(np.var(values, ddof=1)) / len(values) if len(values) > 1 else 0.0


def _amount(value: float) -> str:
    """A validation figure for a warning: money with separators, shares and probabilities with
    three decimals (never scientific notation)."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3f}"
