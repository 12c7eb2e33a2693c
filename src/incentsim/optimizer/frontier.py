"""The trade-off frontier: the design problem re-solved over a sweep of one constraint.

Every point reuses the same simulated candidates (nothing is simulated again): only one
constraint of the MILP changes. The ``measure`` traded against the expected incentive cost
says which (:class:`~incentsim.optimizer.spec.FrontierSpec`):

- ``objective``: the budget, and with it the tail-risk limit (budget + reserve);
- ``retention``: a floor on the program's expected retention (segments weighted by partners);
- ``fairness``: the floor on the share of payouts reaching the smaller half of partners
  (replacing the file's ``floors.small_partner_share``);
- ``revenue``: a floor on the program's expected net revenue.

At each value the MILP keeps its objective and every other constraint, and each point records
the same figures of the design chosen there (expected cost, objective, reserve, overrun
probability, retention, small-partner share, revenue), so any pair can be plotted. A point is
*dominated* when another point costs no more and does at least as well on the measure, and
strictly better on one of the two: the points not dominated are the Pareto front of cost
against the measure. Raising a floor can only lower the objective (the feasible designs only
shrink); the cost need not rise, since the design kept may be a cheaper one.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from incentsim.optimizer.milp import (
    DesignProblem,
    Solution,
    assess,
    design_retention,
    design_revenue,
    design_small_partner_share,
)
from incentsim.optimizer.space import BASE_ID

__all__ = ["MEASURE_FIGURES", "MEASURE_LABELS", "Frontier", "design_figures", "trace_frontier"]

Measure = Literal["objective", "retention", "fairness", "revenue"]

#: The figure of a point each measure is traded against the expected cost on.
MEASURE_FIGURES: dict[str, str] = {
    "objective": "objective",
    "retention": "retention",
    "fairness": "small_partner_share",
    "revenue": "revenue",
}

#: Each measure in the report's words.
MEASURE_LABELS: dict[str, str] = {
    "objective": "objective",
    "retention": "retention",
    "fairness": "small-partner share",
    "revenue": "net revenue",
}

#: Figures recorded for each design (``nan`` where no design was found).
FIGURES = (
    "objective",
    "expected_cost",
    "reserve",
    "overrun_probability",
    "retention",
    "small_partner_share",
    "revenue",
)


@dataclass
class Frontier:
    """The chosen design's figures at each value of the swept constraint.

    Attributes
    ----------
    measure
        What is traded against the expected cost (see the module notes).
    swept
        The key of the swept value in each point: ``budget`` or ``<measure>_floor``.
    points
        Per swept value (ascending): that value, solver ``status``, the :data:`FIGURES`,
        ``design`` (candidate id per segment, as ``segment=id`` pairs) and ``dominated``
        (whether another point has lower or equal cost and a higher or equal measure, one of
        them strictly); figures are ``nan`` and ``dominated`` false where no design was found.
    base, chosen
        The figures of the base design (``None`` when the space does not include it in every
        segment) and of the design chosen on the file's settings (``None`` without one).
    """

    measure: Measure
    swept: str
    points: list[dict[str, Any]]
    base: dict[str, float] | None = None
    chosen: dict[str, float] | None = None

    @property
    def figure(self) -> str:
        """The point's figure plotted against the expected cost."""
        return MEASURE_FIGURES[self.measure]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "measure": self.measure,
            "swept": self.swept,
            "points": [dict(p) for p in self.points],
            "base": self.base,
            "chosen": self.chosen,
        }


def design_figures(
    problem: DesignProblem, choice: Mapping[str, int], objective: float | None = None
) -> dict[str, float]:
    """The :data:`FIGURES` of one choice on the problem's scenarios; ``objective`` (the
    solver's, when given) instead of the assessed one."""
    figures = assess(problem, choice)
    return {
        "objective": float(figures["objective"] if objective is None else objective),
        "expected_cost": figures["expected_cost"],
        "reserve": float(figures["reserve"]),
        "overrun_probability": figures["overrun_probability"],
        "retention": design_retention(problem, choice),
        "small_partner_share": design_small_partner_share(problem, choice),
        "revenue": design_revenue(problem, choice),
    }


def trace_frontier(
    problem: DesignProblem,
    measure: Measure,
    values: Sequence[float],
    solve: Callable[[DesignProblem], Solution],
    chosen: Mapping[str, int] | None = None,
) -> Frontier:
    """Solve ``problem`` at each of ``values`` of the constraint ``measure`` sweeps.

    Parameters
    ----------
    problem
        The design problem on the file's settings (left as it is).
    measure
        ``objective`` sweeps the budget; ``retention``, ``fairness`` and ``revenue`` a floor.
    values
        The budgets or floors, ascending.
    solve
        Solves a design problem.
    chosen
        Candidate index per segment of the design chosen on the file's settings, whose figures
        the frontier carries (for the report's marks), as it does the base design's when every
        segment has the base candidate (:data:`~incentsim.optimizer.space.BASE_ID`).
    """
    swept = "budget" if measure == "objective" else f"{measure}_floor"
    points = []
    for value in values:
        at = _swept(problem, measure, float(value))
        solution = solve(at)
        point: dict[str, Any] = {swept: float(value), "status": solution.status}
        if solution.has_design:
            assert solution.objective is not None  # a design has its objective
            point |= design_figures(at, solution.choice, solution.objective)
            point["reserve"] = float(solution.reserve or 0.0)
            point["design"] = " ".join(
                f"{g}={at.segments[g].candidates[c]}" for g, c in solution.choice.items()
            )
        else:
            point |= dict.fromkeys(FIGURES, math.nan) | {"design": ""}
        points.append(point)
    figure = MEASURE_FIGURES[measure]
    for point in points:
        point["dominated"] = bool(point["design"]) and any(
            _dominates(other, point, figure) for other in points if other["design"]
        )
    ids = {g: coef.candidates for g, coef in problem.segments.items()}
    has_base = all(BASE_ID in c for c in ids.values())
    return Frontier(
        measure,
        swept,
        points,
        base=design_figures(problem, {g: c.index(BASE_ID) for g, c in ids.items()})
        if has_base
        else None,
        chosen=None if chosen is None else design_figures(problem, chosen),
    )


def _swept(problem: DesignProblem, measure: Measure, value: float) -> DesignProblem:
    """A copy of ``problem`` with the swept constraint at ``value``."""
    at = copy.copy(problem)
    if measure == "objective":
        at.budget = value
    elif measure == "retention":
        at.program_retention_floor = value
    elif measure == "fairness":
        at.small_partner_share = value
    else:
        at.revenue_floor = value
    return at


def _dominates(a: Mapping[str, Any], b: Mapping[str, Any], figure: str) -> bool:
    """Whether point ``a`` costs no more than ``b`` and does no worse on ``figure``, and is
    strictly better on one of the two."""
    cheaper, better = a["expected_cost"], a[figure]
    no_worse = cheaper <= b["expected_cost"] and better >= b[figure]
    return no_worse and (cheaper < b["expected_cost"] or better > b[figure])
