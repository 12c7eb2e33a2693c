"""Budget coupling in the loop: the MILP's choice simulated as one program, and corrected.

The coefficients come from segments simulated alone with the budget lifted, so what couples
segments (the one budget pool and its cuts or deferrals under the shortfall policy, the reserve,
recruitment and loyalty across the program) is missing from them. :func:`couple` simulates the
chosen design jointly (every segment, the budget and the reserve on) over the optimiser's seed
and compares the joint run's mean objective and cost with what the coefficients promised for
that design (two-sided z test at 5%, as the validation does).

When they agree, the choice is consistent and the loop stops. Otherwise the discrepancy is
charged to every candidate in proportion to its incentive cost, which is how a pro-rata cut
or deferral falls: per unit of earned cost, the joint run moved the objective by
``a = (joint objective - promised objective) / promised cost`` and the cost by
``b = (joint cost - promised cost) / promised cost``, so each candidate's value becomes
``value + a * cost`` and its cost ``cost * (1 + b)`` in every scenario; the problem is re-solved
with the corrected coefficients, and the new choice simulated jointly in turn. The correction
is always measured against the uncorrected coefficients (it does not accumulate). The loop
stops when the promise agrees with the joint run, when the choice repeats (a fixed point), or
after ``coupling.iterations`` joint runs.

Retention couples segments too (recruits join the program, not a segment, and churn answers
the program's pay): given the segments' partner counts, the joint run's retention is compared
with the promised one (the segments' expected retention weighted by partners; the promise's
own noise is taken to equal the joint run's, since neither has per-scenario retention for the
other), and on a disagreement every candidate's expected retention is shifted by the
difference ``r`` (kept within 0 and 1), so retention floors are judged on the coupled figure.
Its value in the objective is already in ``a``.

The correction is one number per unit of cost for the whole program (the joint run reports
the program, not its segments), so it is exact for the design simulated and an approximation
for the others: that is why each new choice is simulated in turn.

The test has little power: the joint run and the segments' runs share no random numbers (the
population is drawn differently), so their difference carries the noise of both. On the
bundled demo the per-replication objectives correlate at -0.02 and the difference's 95%
half-width (``noise``, reported per run) is about 2.1 million at 100 replications, 12% of the
objective: only coupling larger than that is corrected. Raise ``coupling.replications`` for
more power.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from incentsim.montecarlo.seeding import SeedLike
from incentsim.optimizer.milp import DesignProblem, Solution, assess, design_retention
from incentsim.optimizer.validate import _Z, _var_of_mean, compare

__all__ = ["Coupling", "corrected_problem", "couple"]


@dataclass
class Coupling:
    """The joint runs of the coupling loop.

    Attributes
    ----------
    replications
        Joint replications per iteration.
    iterations
        Per joint run: ``iteration`` (from 1), ``design`` (candidate id per segment),
        ``reserve``, the ``promised`` objective and cost of the design on the uncorrected
        coefficients, the ``joint`` objective and cost (means) with their ``agree`` flags, the
        ``noise`` (95% half-width of the objective's difference), and
        the correction ``a`` and ``b`` per unit of cost applied to the next solve (0 when they
        agree); with partner counts also ``promised_retention``, ``joint_retention``,
        ``retention_agrees`` and the retention shift ``r``.
    consistent
        Whether the last joint run agreed with the promise (or the choice repeated).
    stopped
        Why the loop stopped.
    correction
        ``(a, b)`` of the problem the final choice was made on (``(0, 0)``: uncorrected).
    retention_shift
        ``r``, the shift of every candidate's expected retention in that problem.
    """

    replications: int
    iterations: list[dict[str, Any]] = field(default_factory=list)
    consistent: bool = False
    stopped: str = ""
    correction: tuple[float, float] = (0.0, 0.0)
    retention_shift: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "replications": self.replications,
            "consistent": self.consistent,
            "stopped": self.stopped,
            "correction": {
                "a": self.correction[0],
                "b": self.correction[1],
                "r": self.retention_shift,
            },
            "iterations": self.iterations,
        }

    def corrected(self, problem: DesignProblem) -> DesignProblem:
        """``problem`` with the final correction (itself when there is none)."""
        if self.correction == (0.0, 0.0) and self.retention_shift == 0.0:
            return problem
        return corrected_problem(problem, *self.correction, self.retention_shift)

    def corrected_promise(
        self, promised: Mapping[str, np.ndarray], budget: float, reserve: float
    ) -> dict[str, np.ndarray]:
        """Per-scenario promises (:func:`~incentsim.optimizer.validate.promised_outcomes`)
        with the final correction applied to the objective, cost, overrun and retention."""
        a, b = self.correction
        cost = np.asarray(promised["incentive_cost"]) * (1.0 + b)
        return {
            **promised,
            "objective": np.asarray(promised["objective"])
            + a * np.asarray(promised["incentive_cost"]),
            "incentive_cost": cost,
            "overrun_probability": (cost > budget + reserve).astype(float),
            **(
                {
                    "retention": np.clip(
                        np.asarray(promised["retention"]) + self.retention_shift, 0, 1
                    )
                }
                if "retention" in promised
                else {}
            ),
        }


def corrected_problem(problem: DesignProblem, a: float, b: float, r: float = 0.0) -> DesignProblem:
    """``problem`` with every candidate's value raised by ``a`` times its cost and its cost
    scaled by ``1 + b``, scenario by scenario, and its expected retention shifted by ``r``
    (within 0 and 1)."""
    segments = {
        g: dataclasses.replace(
            coef,
            value=coef.value + a * coef.cost,
            cost=coef.cost * (1.0 + b),
            retention=np.clip(coef.retention + r, 0.0, 1.0),
        )
        for g, coef in problem.segments.items()
    }
    return dataclasses.replace(problem, segments=segments)


def couple(
    problem: DesignProblem,
    solution: Solution,
    joint: Callable[[Mapping[str, int], float, SeedLike], dict[str, np.ndarray]],
    ids: Mapping[str, list[str]],
    iterations: int,
    replications: int,
    seed: SeedLike,
    solve: Callable[[DesignProblem], Solution],
    partners: Mapping[str, int] | None = None,
) -> tuple[DesignProblem, Solution, Coupling]:
    """The coupling loop from a first solution (see the module notes).

    Parameters
    ----------
    problem, solution
        The design problem on the segments' own coefficients and its solution (with a design).
    joint
        ``joint(choice, reserve, seed)``: per joint replication, ``objective`` and
        ``incentive_cost`` of the design ``choice`` (candidate index per segment) simulated as
        one program with that reserve.
    ids
        Candidate ids per segment (for the report).
    iterations, replications, seed
        At most this many joint runs, of ``replications`` each, from ``seed``.
    solve
        Solves a design problem.
    partners
        Partners per segment: with them (and ``retention`` in the joint run's outcomes) the
        joint retention is checked and corrected too.

    Returns
    -------
    problem, solution, coupling
        The problem the last choice was made on (corrected, or the original), its solution and
        the loop's path.
    """
    path = Coupling(replications)
    current_problem, current = problem, solution
    path.stopped = f"after {iterations} joint runs (the most allowed)"
    for iteration in range(1, iterations + 1):
        reserve = float(current.reserve or 0.0)
        promised = assess(problem, current.choice)
        cost = sum(problem.segments[g].cost[c] for g, c in current.choice.items())
        value = sum(problem.segments[g].value[c] for g, c in current.choice.items())
        value = np.asarray(value) - problem.carrying_cost * reserve
        realised = joint(current.choice, reserve, seed)
        objective_check = compare("objective", value, realised["objective"])
        cost_check = compare("incentive_cost", np.asarray(cost), realised["incentive_cost"])
        agree = objective_check.agree and cost_check.agree
        retention: dict[str, Any] = {}
        r = 0.0
        if partners is not None and "retention" in realised:
            joint_retention = np.asarray(realised["retention"], dtype=float)
            promised_retention = design_retention(problem, current.choice, partners)
            spread = _Z * math.sqrt(2.0 * _var_of_mean(joint_retention))
            difference = float(joint_retention.mean()) - promised_retention
            retention_agrees = abs(difference) <= max(spread, 1e-9)
            agree = agree and retention_agrees
            r = 0.0 if retention_agrees else difference
            retention = {
                "promised_retention": promised_retention,
                "joint_retention": float(joint_retention.mean()),
                "retention_agrees": retention_agrees,
            }
        noise = _Z * math.sqrt(_var_of_mean(value) + _var_of_mean(realised["objective"]))
        scale = max(float(np.mean(cost)), 1.0)
        a = 0.0 if agree else (objective_check.realised - objective_check.promised) / scale
        b = 0.0 if agree else (cost_check.realised - cost_check.promised) / scale
        r = 0.0 if agree else r
        path.iterations.append(
            {
                "iteration": iteration,
                "design": {g: ids[g][c] for g, c in current.choice.items()},
                "reserve": reserve,
                "promised_objective": float(promised["objective"]),
                "promised_cost": float(promised["expected_cost"]),
                "joint_objective": objective_check.realised,
                "joint_cost": cost_check.realised,
                "noise": noise,
                "objective_agrees": objective_check.agree,
                "cost_agrees": cost_check.agree,
                "a": a,
                "b": b,
                **retention,
                **({"r": r} if retention else {}),
                "status": current.status,
                "gap": current.gap,
            }
        )
        if agree:
            path.consistent = True
            path.stopped = f"joint run {iteration} agrees with the promise within sampling noise"
            break
        candidate_problem = corrected_problem(problem, a, b, r)
        candidate = solve(candidate_problem)
        if not candidate.has_design:
            path.stopped = (
                f"the corrected problem after joint run {iteration} has no design "
                f"({candidate.status}); the last design simulated is kept"
            )
            break
        repeated = candidate.choice == current.choice
        current_problem, current = candidate_problem, candidate
        path.correction, path.retention_shift = (a, b), r
        if repeated:
            path.consistent = True
            path.stopped = (
                f"the choice corrected by joint run {iteration} is the design simulated "
                "(a fixed point)"
            )
            break
    return current_problem, current, path
