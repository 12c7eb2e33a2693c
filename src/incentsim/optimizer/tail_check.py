"""A fresh look at the chosen design's tail before it is kept.

The MILP sizes the reserve from the tail of the very scenarios it chose the design on. With
few replications that tail is a handful of scenarios, and the choice leans on the designs
whose handful happened to be mild: on ``scenarios/optimize_levers.yaml`` at 50 replications
the chosen design's CVaR of cost was 1.76 million in sample and 2.18 million on 400 fresh
replications, so it overran budget + reserve in 17% of them against ``alpha = 0.1`` (a
one-sided bootstrap 95% bound on the in-sample CVaR, 1.89 million, would not have caught it:
the error is selection, not only sampling).

:func:`check_tail` therefore simulates the chosen design as one program on a fresh seed
stream (neither the optimiser's nor the validation's) and measures the reserve its tail
limit needs there. If that fits under the reserve maximum, the reserve becomes the larger of
the MILP's and the fresh one. If not, the design is excluded, and the in-sample tail of every
design is from then on held to budget + reserve with a margin: the largest excess of a checked
design's fresh tail measure over its in-sample one (the optimism the check has seen, which
selection spreads over the designs near the choice, so excluding one design alone would only
move to its neighbour); the problem is re-solved, up to ``attempts`` designs. When none passes,
the result says so: the design kept is the one that needed the least reserve, with the
largest reserve allowed, and :attr:`TailCheck.passed` is false.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from incentsim.optimizer.milp import DesignProblem, Solution, program_cost, tail_measure

__all__ = ["TailCheck", "check_tail", "tail_check_replications"]

#: Fresh-seed stream of the tail check's joint runs (see :mod:`incentsim.optimizer.api`).
TAIL_CHECK_STREAM = 4

_TOLERANCE = 1e-6

#: Scenarios the fresh run's tail holds at least, by default.
TAIL_SCENARIOS = 20


def tail_check_replications(replications: int, alpha: float) -> int:
    """Default fresh replications of a tail check: the optimiser's, but at least enough for
    :data:`TAIL_SCENARIOS` scenarios in the ``alpha`` tail (200 at ``alpha = 0.1``); a tail of
    five scenarios, as 50 replications give, passed a design whose CVaR on 400 fresh
    replications was 0.3 million above its limit (``scenarios/optimize_levers.yaml``)."""
    return max(replications, math.ceil(TAIL_SCENARIOS / alpha - 1e-9))


@dataclass
class TailCheck:
    """The fresh tail checks of the designs tried.

    Attributes
    ----------
    replications
        Fresh replications of each joint run.
    tries
        Per design tried, in order: its candidate ids, the MILP's reserve, the reserve the
        fresh run needs, and whether it was kept.
    passed
        Whether the design kept meets the tail limit on its fresh run within the reserve
        maximum.
    """

    replications: int
    tries: list[dict[str, Any]] = field(default_factory=list)
    passed: bool = False

    @property
    def message(self) -> str:
        """One sentence on the outcome."""
        n = len(self.tries)
        tried = (
            f"{n} design{'' if n == 1 else 's'} checked on {self.replications} fresh replications"
        )
        if self.passed:
            kept = self.tries[-1]
            return (
                f"tail check passed ({tried}): the kept design needs a reserve of "
                f"{kept['fresh_reserve']:,.0f} there, the MILP gave {kept['milp_reserve']:,.0f}"
            )
        return (
            f"tail check FAILED ({tried}): none meets the tail limit on fresh replications "
            "within the reserve maximum; the design kept is the one that came closest, with the "
            "largest reserve allowed"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "replications": self.replications,
            "tries": [dict(t) for t in self.tries],
            "passed": self.passed,
            "message": self.message,
        }


def check_tail(
    problem: DesignProblem,
    solution: Solution,
    joint_cost: Callable[[Mapping[str, int], float], np.ndarray],
    ids: Mapping[str, list[str]],
    attempts: int,
    replications: int,
    resolve: Callable[[DesignProblem], Solution],
) -> tuple[DesignProblem, Solution, TailCheck]:
    """Keep the first design whose fresh joint run meets the tail limit (see the module notes).

    Parameters
    ----------
    problem, solution
        The design problem and the solver's design (which must have one).
    joint_cost
        The program's incentive cost per fresh replication of a choice with a reserve.
    ids
        Candidate ids per segment (for the record).
    attempts
        Designs tried at most.
    replications
        Fresh replications per joint run (for the record).
    resolve
        Solves a problem (the excluded designs added).

    Returns
    -------
    The problem with the failed designs excluded, the solution kept (its reserve raised to
    what the fresh run needs) and the record.
    """
    record = TailCheck(replications)
    limit = np.inf if problem.reserve_max is None else problem.reserve_max
    tried: list[tuple[Solution, float]] = []
    current = solution
    while current.has_design and len(tried) < attempts:
        milp_reserve = float(current.reserve or 0.0)
        in_sample = tail_measure(problem, program_cost(problem, current.choice))
        fresh_tail = tail_measure(problem, joint_cost(current.choice, milp_reserve))
        fresh = max(0.0, fresh_tail - problem.budget)
        fits = fresh <= limit * (1 + _TOLERANCE) + _TOLERANCE
        record.tries.append(
            {
                "choice": {g: ids[g][c] for g, c in current.choice.items()},
                "tail_margin": problem.tail_margin,
                "milp_reserve": milp_reserve,
                "fresh_reserve": fresh,
                "kept": fits,
            }
        )
        if fits:
            record.passed = True
            return problem, _with_reserve(problem, current, max(milp_reserve, fresh)), record
        tried.append((current, fresh))
        # The next design is held to its in-sample tail plus the largest optimism seen so far.
        margin = max(problem.tail_margin, fresh_tail - in_sample)
        problem = problem.excluding(current.choice, margin)
        current = resolve(problem)
    closest, _ = min(tried, key=lambda pair: pair[1])
    for entry in record.tries:
        if entry["choice"] == {g: ids[g][c] for g, c in closest.choice.items()}:
            entry["kept"] = True
    return problem, _with_reserve(problem, closest, float(limit)), record


def _with_reserve(problem: DesignProblem, solution: Solution, reserve: float) -> Solution:
    """The solution with its reserve raised to ``reserve`` and the objective charged for it."""
    extra = max(0.0, reserve - float(solution.reserve or 0.0))
    kept = Solution(**{**solution.__dict__})
    kept.reserve = float(solution.reserve or 0.0) + extra
    if kept.objective is not None:
        kept.objective -= problem.carrying_cost * extra
    return kept
