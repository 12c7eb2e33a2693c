"""From simulated candidates to the optimisation problem's coefficients.

A candidate's *value* in scenario ``s`` is the objective outcome of its segment simulated alone
(``net_contribution`` or ``npv``) plus ``loyalty_value`` for each of the segment's initial
partners still active at the horizon; its *cost* is the incentive cost (earned less
clawbacks, before any budget cut).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

import numpy as np

from incentsim.optimizer.evaluate import SimulatedCandidates
from incentsim.optimizer.milp import DesignProblem, Risk, SegmentCoefficients
from incentsim.optimizer.spec import OptimizationSpec
from incentsim.scenario.model import Scenario

__all__ = ["ProblemSettings", "design_problem", "resolve_settings", "segment_values"]


@dataclass(frozen=True)
class ProblemSettings:
    """The budget, risk and reserve an optimisation runs with (file values, or overrides)."""

    budget: float
    alpha: float
    risk: Risk
    reserve_max: float


def resolve_settings(
    spec: OptimizationSpec,
    base: Scenario,
    budget: float | None = None,
    alpha: float | None = None,
    risk: Risk | None = None,
) -> ProblemSettings:
    """The settings to use: the arguments, else the file's, else the base program's.

    Raises
    ------
    OptimizationSpecError
        No budget anywhere, an out-of-range or unknown override, or a floor naming an unknown
        segment.
    """
    program_budget = base.program.budget
    if budget is None:
        budget = spec.budget
    if budget is None:
        budget = base.horizon_budget
    if budget is None or not budget > 0:
        raise spec.error(
            "budget",
            "give a positive budget (incentive money over the whole horizon) in the file or "
            "with --budget; the base program has no budget per period to start from",
        )
    for name in ("retention", "loyalty"):
        floor = getattr(spec.floors, name)
        for g in floor if isinstance(floor, dict) else []:
            if g not in base.population.segments:
                raise spec.error(f"floors.{name}.{g}", f"'{g}' is not a segment of the scenario")
    alpha = spec.alpha if alpha is None else alpha
    if not 0.0 < alpha < 1.0:
        raise spec.error("alpha", f"alpha must be between 0 and 1 (exclusive), not {alpha:g}")
    risk = spec.risk if risk is None else risk
    if risk not in get_args(Risk):
        raise spec.error("risk", f"risk must be one of {', '.join(get_args(Risk))}, not {risk!r}")
    reserve_max = spec.reserve.max
    if reserve_max is None:
        reserve_max = program_budget.reserve.max or 0.0
    return ProblemSettings(float(budget), float(alpha), risk, float(reserve_max))


def segment_values(spec: OptimizationSpec, sim: SimulatedCandidates, segment: str) -> np.ndarray:
    """Objective value of each candidate per scenario, ``(candidates, scenarios)``."""
    data = sim.data[segment]
    return data[spec.objective] + spec.loyalty_value * sim.partners[segment] * data["retention"]


def design_problem(
    spec: OptimizationSpec,
    sim: SimulatedCandidates,
    settings: ProblemSettings,
    columns: np.ndarray | None = None,
) -> DesignProblem:
    """The MILP's input from the simulated candidates and the file's floors.

    ``columns`` picks the scenarios (an index array, repeats allowed: a bootstrap sample); all
    of them by default.
    """
    segments = {}
    draws = sim.draws
    if draws is not None and columns is not None:
        draws = draws[columns]
    for g in sim.segments:
        data = (
            sim.data[g] if columns is None else {k: v[:, columns] for k, v in sim.data[g].items()}
        )
        values = segment_values(spec, sim, g)
        segments[g] = SegmentCoefficients(
            candidates=[c.id for c in sim.candidates[g]],
            value=values if columns is None else values[:, columns],
            cost=data["incentive_cost"],
            retention=data["retention"].mean(axis=1),
            loyalty=data["loyalty_mean"].mean(axis=1),
            small_paid=data["small_paid"].mean(axis=1),
            paid=data["incentive_paid"].mean(axis=1),
            revenue=data["revenue_net"].mean(axis=1),
        )
    return DesignProblem(
        segments=segments,
        budget=settings.budget,
        alpha=settings.alpha,
        risk=settings.risk,
        reserve_max=settings.reserve_max,
        carrying_cost=spec.reserve.carrying_cost,
        retention_floor=spec.floors.per_segment("retention", sim.segments),
        loyalty_floor=spec.floors.per_segment("loyalty", sim.segments),
        small_partner_share=spec.floors.small_partner_share,
        partners=dict(sim.partners),
        same_design=not spec.per_segment,
        draws=draws,
        draw_measure=spec.robust.measure if spec.robust and draws is not None else "expected",
        draw_alpha=spec.robust.alpha if spec.robust else 1.0,
    )
