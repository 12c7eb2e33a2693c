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

Compared whole, the test has little power: the joint run and the segments' runs share no
random numbers (the population is drawn differently), so their difference carries the noise of
both. On the bundled demo the per-replication objectives correlate at -0.02 and the
difference's 95% half-width (``noise``, reported per run) is about 2.1 million at 100
replications, 12% of the objective, while the budget's own effect on the design the MILP picks
is about 6,000 (and 30,000 on a costlier one).

So, given ``lifted`` (the same joint program with the budget lifted, on the same seed), the
discrepancy is split in two parts, each tested against its own noise and corrected when it
differs:

- the **budget's effect**: the joint run less the lifted one, replication by replication. The
  two draw the same partners and markets, so the difference is what the pool, its cuts and
  the reserve do (to the objective, the cost and retention), and its noise is small (on the
  demo a 95% half-width of about 5,500 at 100 replications);
- the **rest** (recruits and loyalty across the program): the lifted run against the promise,
  unpaired as above. At 3,000 replications on a 30-partner version of the demo it is
  +54,000 ± 124,000 in net contribution, that is, nothing detectable.

The two parts add up to the whole discrepancy, so ``a``, ``b`` and ``r`` are computed as
above from the parts that differ. The lifted run doubles the joint simulations.
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
    lifted: Callable[[Mapping[str, int], float, SeedLike], dict[str, np.ndarray]] | None = None,
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
    lifted
        ``lifted(choice, reserve, seed)``: the same joint program with the budget lifted. With
        it the discrepancy is split into the budget's own effect (``joint`` less ``lifted`` on
        the same seed, replication by replication) and the rest (``lifted`` against the
        promise), each tested against its own noise (see the module notes).

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
        realised = joint(current.choice, reserve, seed)
        alone = None if lifted is None else lifted(current.choice, reserve, seed)
        record, (a, b, r) = _discrepancy(
            problem, current.choice, reserve, realised, alone, partners
        )
        record = {
            "iteration": iteration,
            "design": {g: ids[g][c] for g, c in current.choice.items()},
            "reserve": reserve,
            **record,
            "status": current.status,
            "gap": current.gap,
        }
        path.iterations.append(record)
        if (a, b, r) == (0.0, 0.0, 0.0):
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


def _discrepancy(
    problem: DesignProblem,
    choice: Mapping[str, int],
    reserve: float,
    realised: Mapping[str, np.ndarray],
    alone: Mapping[str, np.ndarray] | None,
    partners: Mapping[str, int] | None,
) -> tuple[dict[str, Any], tuple[float, float, float]]:
    """What one joint run shows about ``choice``: the report's figures, and the correction
    ``(a, b, r)`` (all 0 when every part agrees with the promise within its noise).

    Without ``alone`` (the budget-lifted run) the joint run is compared with the promise as a
    whole. With it, the budget's effect (``realised`` less ``alone``, paired) and the rest
    (``alone`` against the promise) are tested separately, and each part that differs beyond
    its noise is corrected.
    """
    promised = assess(problem, choice)
    cost = sum(problem.segments[g].cost[c] for g, c in choice.items())
    value = sum(problem.segments[g].value[c] for g, c in choice.items())
    value = np.asarray(value) - problem.carrying_cost * reserve
    cost = np.asarray(cost)
    scale = max(float(np.mean(cost)), 1.0)
    unpaired = realised if alone is None else alone
    objective_check = compare("objective", value, unpaired["objective"])
    cost_check = compare("incentive_cost", cost, unpaired["incentive_cost"])
    objective_shift = 0.0 if objective_check.agree else objective_check.realised - value.mean()
    cost_shift = 0.0 if cost_check.agree else cost_check.realised - cost.mean()
    record: dict[str, Any] = {
        "promised_objective": float(promised["objective"]),
        "promised_cost": float(promised["expected_cost"]),
        "joint_objective": float(np.mean(realised["objective"])),
        "joint_cost": float(np.mean(realised["incentive_cost"])),
        "noise": _Z * math.sqrt(_var_of_mean(value) + _var_of_mean(unpaired["objective"])),
        "objective_agrees": objective_check.agree,
        "cost_agrees": cost_check.agree,
    }
    retention_shift = 0.0
    if partners is not None and "retention" in realised:
        promised_retention = design_retention(problem, choice, partners)
        kept = np.asarray(unpaired["retention"], dtype=float)
        spread = _Z * math.sqrt(2.0 * _var_of_mean(kept))
        difference = float(kept.mean()) - promised_retention
        retention_agrees = abs(difference) <= max(spread, 1e-9)
        retention_shift = 0.0 if retention_agrees else difference
        record |= {
            "promised_retention": promised_retention,
            "joint_retention": float(np.mean(realised["retention"])),
            "retention_agrees": retention_agrees,
        }
    if alone is not None:
        effects = {
            name: _paired_effect(realised[name], alone[name])
            for name in ("objective", "incentive_cost", "retention")
            if name in realised and (name != "retention" or "retention_agrees" in record)
        }
        shifts = {name: 0.0 if within else effect for name, (effect, _, within) in effects.items()}
        objective_shift += shifts["objective"]
        cost_shift += shifts["incentive_cost"]
        retention_shift += shifts.get("retention", 0.0)
        record |= {f"budget_{name}_effect": effect for name, (effect, _, _) in effects.items()}
        record |= {
            "budget_noise": effects["objective"][1],
            "budget_cost_noise": effects["incentive_cost"][1],
            "budget_agrees": all(within for _, _, within in effects.values()),
        }
    record |= {
        "a": objective_shift / scale,
        "b": cost_shift / scale,
        **({"r": retention_shift} if "retention_agrees" in record else {}),
    }
    return record, (objective_shift / scale, cost_shift / scale, retention_shift)


def _paired_effect(on: np.ndarray, off: np.ndarray) -> tuple[float, float, bool]:
    """The mean of ``on - off``, its 95% half-width, and whether it is within that."""
    difference = np.asarray(on, dtype=float) - np.asarray(off, dtype=float)
    half_width = _Z * math.sqrt(_var_of_mean(difference))
    effect = float(difference.mean())
    return effect, half_width, abs(effect) <= max(half_width, 1e-9 * max(1.0, abs(effect)))
