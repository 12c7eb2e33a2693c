"""The trade-off frontier: the design problem re-solved over a range of budgets.

Every budget reuses the same simulated candidates (nothing is simulated again): only the MILP's
budget, and with it the tail-risk limit (budget + reserve), changes. Each point gives the
expected incentive cost, the objective, the reserve, the overrun probability and the expected
retention of the design chosen at that budget, so a designer sees what each extra unit of
budget buys, and where it stops buying anything.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from incentsim.optimizer.milp import DesignProblem, Solution, assess

__all__ = ["Frontier", "design_retention", "trace_frontier"]


@dataclass
class Frontier:
    """The chosen design's figures at each budget.

    Attributes
    ----------
    points
        Per budget (ascending): ``budget``, solver ``status``, ``objective``,
        ``expected_cost``, ``reserve``, ``overrun_probability``, ``retention`` (expected share
        of the initial partners still active) and ``design`` (candidate id per segment, as
        ``segment=id`` pairs); figures are ``nan`` where no design was found.
    """

    points: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"points": [dict(p) for p in self.points]}


def design_retention(
    problem: DesignProblem, choice: Mapping[str, int], partners: Mapping[str, int]
) -> float:
    """Expected retention of a choice over the whole program (segments weighted by partners)."""
    total = sum(partners[g] for g in choice)
    kept = sum(partners[g] * problem.segments[g].retention[c] for g, c in choice.items())
    return float(kept / total) if total else math.nan


def trace_frontier(
    problem: DesignProblem,
    budgets: Sequence[float],
    partners: Mapping[str, int],
    solve: Callable[[DesignProblem], Solution],
) -> Frontier:
    """Solve ``problem`` at each budget and collect the chosen designs' figures."""
    points = []
    for budget in budgets:
        at = copy.copy(problem)
        at.budget = float(budget)
        solution = solve(at)
        point: dict[str, Any] = {"budget": float(budget), "status": solution.status}
        if solution.has_design:
            assert solution.objective is not None  # a design has its objective
            figures = assess(at, solution.choice)
            point |= {
                "objective": float(solution.objective),
                "expected_cost": figures["expected_cost"],
                "reserve": float(solution.reserve or 0.0),
                "overrun_probability": figures["overrun_probability"],
                "retention": design_retention(at, solution.choice, partners),
                "design": " ".join(
                    f"{g}={at.segments[g].candidates[c]}" for g, c in solution.choice.items()
                ),
            }
        else:
            point |= dict.fromkeys(
                ("objective", "expected_cost", "reserve", "overrun_probability", "retention"),
                math.nan,
            ) | {"design": ""}
        points.append(point)
    return Frontier(points)
