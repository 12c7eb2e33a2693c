"""Choose one candidate design per segment, and the reserve, with a mixed-integer program.

The coefficients come from simulating every candidate of every segment over the same ``S``
scenarios (:mod:`incentsim.optimizer.evaluate`); scenario ``s`` is the same market for every
segment, so the program's cost in scenario ``s`` is the sum of its segments' costs.

Variables: ``x[g,c]`` binary (segment ``g`` uses candidate ``c``, exactly one per segment) and
the reserve ``R`` (``0 <= R <= reserve_max``).

Objective: maximise ``sum x[g,c] * value[g,c] - carrying_cost * R``, where ``value`` is the
expected net contribution of the candidate (plus, optionally, a value per partner still active
at the horizon).

Constraints:

- budget: expected cost ``sum x[g,c] * E[cost[g,c]] <= budget``;
- tail risk, one of

  * ``cvar``: the Rockafellar-Uryasev linearisation of the conditional value at risk of the
    cost at level ``alpha`` (the mean of the worst ``alpha`` share of scenarios):
    ``eta + 1/(alpha*S) * sum u[s] <= budget + R`` with ``u[s] >= cost[s] - eta``, ``u >= 0``.
    It bounds ``P(cost > budget + R) <= alpha`` from the safe side and keeps the problem easy.
    The excess rows are generated as needed (:func:`solve`): the first round holds the
    scenarios dearest for the average candidate; while the chosen design's worst ``alpha``
    share is not all there, those rows are added and the model solved again. Leaving rows out
    only lowers the CVaR, so each round is a relaxation and its optimum, once its CVaR is
    exact, is the full problem's;
  * ``chance``: exactly ``P(cost > budget + R) <= alpha`` over the scenarios, with a binary
    ``z[s]`` per scenario that may overrun, ``cost[s] - M[s] * z[s] <= budget + R`` and
    ``sum z[s] <= floor(alpha*S)``. The model is strengthened (:func:`chance_rows`): quantile
    big-M per scenario, scenarios that cannot overrun dropped or written without ``z`` by
    dominance, a star inequality per scenario and ``z[s] <= z[d]`` for dominating scenarios.
    When the first solve stops at its share of the time limit (:data:`CHANCE_FIRST_SHARE`),
    a second phase improves its design one candidate at a time (:func:`improved`), forces the
    overruns every better design has (:func:`forced_overruns`) and bounds what is left over
    growing subsets of the scenarios, each a relaxation (:func:`_lazy_chance`), when its
    design is close to its bound, or over all of them; status and gap stay proven. Much
    harder to solve than CVaR: on the benchmark's synthetic 8 segments x 32 candidates x 500
    scenarios the gap at 120 s is 0.4% (1.7% over every scenario), at 8 x 64 x 1,000 3.1%
    (3.3%; its first design is too far from the bound for subsets to pay), still unproven;
  * ``none``: no tail constraint (the reserve is then 0);

- floors per segment on expected retention and loyalty, and a fairness floor: the expected
  payouts reaching the smaller half of partners are at least ``small_partner_share`` of the
  expected payouts (linearised as ``sum x * (small_paid - share * paid) >= 0``);
- program-wide floors, which the trade-off frontier sweeps (:mod:`incentsim.optimizer.frontier`):
  the program's expected retention, the segments' weighted by their partners, at least
  ``program_retention_floor`` (linearised as ``sum x * partners * (retention - floor) >= 0``),
  and the program's expected net revenue at least ``revenue_floor``.

Every constraint is built from prebuilt (variable, coefficient) lists. HiGHS (through PuLP's
``highspy`` interface) is the default solver and CBC the fallback; the status and the gap are
read from the solver itself (PuLP calls a time-limited incumbent "Optimal"), so a result that
stopped at the time limit says ``time_limit`` and carries its gap.

When the problem is infeasible, :func:`diagnose` drops each constraint group in turn to find
the ones that make it so, and solves for the smallest budget at which the rest is feasible.
"""

from __future__ import annotations

import copy
import itertools
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pulp

from incentsim.risk import cvar

__all__ = [
    "ConstraintGroup",
    "DesignProblem",
    "Diagnosis",
    "SegmentCoefficients",
    "Solution",
    "assess",
    "choices",
    "design_retention",
    "design_revenue",
    "design_small_partner_share",
    "diagnose",
    "draw_means",
    "draw_objective",
    "minimum_reserve",
    "program_cost",
    "solve",
]

Risk = Literal["cvar", "chance", "none"]
Status = Literal["optimal", "time_limit", "infeasible", "not_solved"]

#: Constraint groups :func:`diagnose` can drop; retention/loyalty floors are per segment.
ConstraintGroup = str

_TOLERANCE = 1e-6


@dataclass
class SegmentCoefficients:
    """What each candidate of one segment gives, from its simulations.

    ``value`` and ``cost`` are ``(candidates, scenarios)``; the rest are expectations, one per
    candidate.
    """

    candidates: list[str]
    value: np.ndarray
    cost: np.ndarray
    retention: np.ndarray
    loyalty: np.ndarray
    small_paid: np.ndarray
    paid: np.ndarray
    #: Expected net revenue per candidate (``None``: not known, so no revenue floor).
    revenue: np.ndarray | None = None

    @property
    def n_candidates(self) -> int:
        """Rows of the arrays."""
        return len(self.candidates)


@dataclass
class DesignProblem:
    """The optimisation problem over simulated candidates (see the module notes)."""

    segments: dict[str, SegmentCoefficients]
    budget: float
    alpha: float = 0.1
    risk: Risk = "cvar"
    reserve_max: float | None = None
    carrying_cost: float = 0.0
    retention_floor: dict[str, float] = field(default_factory=dict)
    loyalty_floor: dict[str, float] = field(default_factory=dict)
    small_partner_share: float | None = None
    #: Partners per segment, the weights of the program's retention (:func:`design_retention`).
    partners: dict[str, int] = field(default_factory=dict)
    program_retention_floor: float | None = None
    revenue_floor: float | None = None
    same_design: bool = False
    #: Robust objective: the assumption draw of each scenario (``None``: one set of
    #: assumptions), and the measure over the draws' expected objectives maximised instead of
    #: the mean (:func:`draw_objective`).
    draws: np.ndarray | None = None
    draw_measure: Literal["expected", "worst_case", "cvar", "regret"] = "expected"
    draw_alpha: float = 1.0
    #: For ``regret``: the best objective reachable in each draw alone (one per draw label).
    draw_best: np.ndarray | None = None
    #: Choices the model may not return (a tail check's failures,
    #: :mod:`incentsim.optimizer.tail_check`).
    excluded: list[dict[str, int]] = field(default_factory=list)
    #: Added to the tail measure of the scenarios' cost before it is held to budget + reserve:
    #: how optimistic a tail check found the in-sample tail (0: taken as it is).
    tail_margin: float = 0.0

    @property
    def n_scenarios(self) -> int:
        """Scenarios per candidate."""
        return next(iter(self.segments.values())).cost.shape[1]

    @property
    def allowed_overruns(self) -> int:
        """Scenarios allowed to overrun budget + reserve under the chance constraint."""
        return math.floor(self.alpha * self.n_scenarios + _TOLERANCE)

    def excluding(self, choice: Mapping[str, int], tail_margin: float) -> DesignProblem:
        """A copy that may not return ``choice`` (nor any choice already excluded), with the
        tail margin ``tail_margin``."""
        other = copy.copy(self)
        other.excluded = [*self.excluded, dict(choice)]
        other.tail_margin = tail_margin
        return other

    @property
    def tail_budget(self) -> float:
        """What the tail measure is held to, less the reserve: the budget less the margin."""
        return self.budget - self.tail_margin

    def groups(self) -> list[ConstraintGroup]:
        """The constraint groups present, as :func:`diagnose` names them."""
        names = ["budget"]
        if self.risk != "none":
            names.append(f"tail_risk ({self.risk} at alpha={self.alpha:g})")
        names += [f"retention_floor[{g}]" for g in self.retention_floor]
        names += [f"loyalty_floor[{g}]" for g in self.loyalty_floor]
        if self.small_partner_share is not None:
            names.append("small_partner_share")
        if self.program_retention_floor is not None:
            names.append("program_retention_floor")
        if self.revenue_floor is not None:
            names.append("revenue_floor")
        return names

    def without(self, group: ConstraintGroup) -> DesignProblem:
        """A copy with one constraint group removed.

        Dropping ``budget`` makes it unlimited, which also lifts the tail-risk limit (measured
        from budget + reserve).
        """
        other = copy.copy(self)
        other.retention_floor = dict(self.retention_floor)
        other.loyalty_floor = dict(self.loyalty_floor)
        if group == "budget":
            other.budget = math.inf
        elif group.startswith("tail_risk"):
            other.risk = "none"
        elif group.startswith("retention_floor["):
            other.retention_floor.pop(group[len("retention_floor[") : -1])
        elif group.startswith("loyalty_floor["):
            other.loyalty_floor.pop(group[len("loyalty_floor[") : -1])
        elif group == "small_partner_share":
            other.small_partner_share = None
        elif group == "program_retention_floor":
            other.program_retention_floor = None
        elif group == "revenue_floor":
            other.revenue_floor = None
        else:
            raise ValueError(f"unknown constraint group {group!r}")
        return other


@dataclass
class Diagnosis:
    """Why a problem is infeasible.

    Attributes
    ----------
    culprits
        Constraint groups whose removal alone makes the problem feasible.
    minimum_budget
        The smallest budget at which every other constraint can be met (``None`` when no budget
        makes it feasible or the solver found none in time; when it stopped at its time limit,
        a budget that is enough but not proven the smallest, as ``message`` says).
    message
        The diagnosis in a sentence or two.
    """

    culprits: list[ConstraintGroup]
    minimum_budget: float | None
    message: str


@dataclass
class Solution:
    """The solver's answer.

    Attributes
    ----------
    status
        ``optimal`` (proven within ``mip_gap``), ``time_limit`` (stopped with an incumbent, not
        proven; see ``gap``), ``infeasible`` or ``not_solved`` (no design; ``detail`` says why).
    solver
        ``HiGHS`` or ``CBC`` (and why the fallback was used, in ``detail``).
    gap
        Relative MIP gap reported by the solver (``None`` when the solver does not report one).
    objective, bound
        Objective of the design found and the solver's best bound on any design.
    choice
        Per segment, the index of the chosen candidate.
    reserve
        The smallest reserve with which the chosen design meets the tail-risk constraint.
    build_seconds, solve_seconds
        Time to build the model and to solve it.
    diagnosis
        For an infeasible problem, which constraint makes it so.
    """

    status: Status
    solver: str
    gap: float | None = None
    objective: float | None = None
    bound: float | None = None
    choice: dict[str, int] = field(default_factory=dict)
    reserve: float | None = None
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    detail: str = ""
    diagnosis: Diagnosis | None = None
    raw_status: str = ""

    @property
    def has_design(self) -> bool:
        """Whether a design came back (optimal or an incumbent at the time limit)."""
        return bool(self.choice)

    def describe(self) -> str:
        """One line: solver, status, gap."""
        gap = "n/a" if self.gap is None else f"{self.gap:.2e}"
        text = f"{self.solver}: {self.status} (gap {gap}, solver status {self.raw_status})"
        return f"{text}; {self.detail}" if self.detail else text


# --- assessing a fixed choice ------------------------------------------------------------------


def design_retention(
    problem: DesignProblem, choice: Mapping[str, int], partners: Mapping[str, int] | None = None
) -> float:
    """Expected retention of a choice over the whole program (segments weighted by partners,
    ``problem.partners`` unless given)."""
    weights = problem.partners if partners is None else partners
    total = sum(weights[g] for g in choice)
    kept = sum(weights[g] * problem.segments[g].retention[c] for g, c in choice.items())
    return float(kept / total) if total else math.nan


def design_small_partner_share(problem: DesignProblem, choice: Mapping[str, int]) -> float:
    """Share of a choice's expected payouts reaching the smaller half of partners (as the
    ``small_partner_share`` floor measures it: summed over segments)."""
    small = sum(problem.segments[g].small_paid[c] for g, c in choice.items())
    paid = sum(problem.segments[g].paid[c] for g, c in choice.items())
    return float(small / paid) if paid > 0 else math.nan


def design_revenue(problem: DesignProblem, choice: Mapping[str, int]) -> float:
    """Expected net revenue of a choice over the whole program (``nan`` when unknown)."""
    total = 0.0
    for g, c in choice.items():
        revenue = problem.segments[g].revenue
        if revenue is None:
            return math.nan
        total += float(revenue[c])
    return total


def program_cost(problem: DesignProblem, choice: Mapping[str, int]) -> np.ndarray:
    """The program's cost per scenario for a choice (one candidate index per segment)."""
    return np.sum([coef.cost[choice[g]] for g, coef in problem.segments.items()], axis=0)


def tail_measure(problem: DesignProblem, cost: np.ndarray) -> float:
    """What the tail constraint holds to budget + reserve: the CVaR of ``cost`` (per
    scenario) at ``alpha``, or for the chance constraint its ``(k+1)``-th largest value
    (``-inf`` when every scenario may overrun); ``-inf`` without a tail constraint."""
    if problem.risk == "none":
        return -math.inf
    if problem.risk == "cvar":
        return cvar(cost, problem.alpha)
    k = problem.allowed_overruns
    return -math.inf if k >= len(cost) else float(np.sort(cost)[::-1][k])


def minimum_reserve(problem: DesignProblem, cost: np.ndarray) -> float:
    """The smallest reserve with which ``cost`` (per scenario) meets the tail constraint (its
    tail measure, plus the tail margin, at most budget + reserve)."""
    if not math.isfinite(problem.budget):
        return 0.0
    return max(0.0, tail_measure(problem, cost) - problem.tail_budget)


def assess(problem: DesignProblem, choice: Mapping[str, int]) -> dict[str, Any]:
    """The objective and constraints of one choice, on the problem's own scenarios.

    Returns a mapping with ``objective`` (expected value less the carrying cost of the
    smallest sufficient reserve), ``expected_cost``, ``reserve``, ``overrun_probability``
    (share of scenarios with cost above budget + reserve), ``feasible`` and ``violations``
    (the constraint groups it breaks); with assumption draws also ``draw_objectives`` (the
    objective per draw) and ``robust_objective`` (their measure, which the solver maximised).
    """
    segments = problem.segments
    cost = program_cost(problem, choice)
    value = float(sum(segments[g].value[c].mean() for g, c in choice.items()))
    reserve = minimum_reserve(problem, cost)
    violations: list[str] = []
    expected_cost = float(cost.mean())
    if expected_cost > problem.budget * (1 + _TOLERANCE):
        violations.append("budget")
    if problem.reserve_max is not None and reserve > problem.reserve_max * (1 + _TOLERANCE) + 1e-6:
        violations.append(f"tail_risk ({problem.risk} at alpha={problem.alpha:g})")
    for name, floors, metric in (
        ("retention_floor", problem.retention_floor, "retention"),
        ("loyalty_floor", problem.loyalty_floor, "loyalty"),
    ):
        for g, floor in floors.items():
            if getattr(segments[g], metric)[choice[g]] < floor - _TOLERANCE:
                violations.append(f"{name}[{g}]")
    if problem.small_partner_share is not None:
        small = sum(segments[g].small_paid[c] for g, c in choice.items())
        paid = sum(segments[g].paid[c] for g, c in choice.items())
        if small < problem.small_partner_share * paid - _TOLERANCE * max(paid, 1.0):
            violations.append("small_partner_share")
    least = problem.program_retention_floor
    if least is not None and design_retention(problem, choice) < least - _TOLERANCE:
        violations.append("program_retention_floor")
    least = problem.revenue_floor
    if least is not None and not design_revenue(problem, choice) >= least - _TOLERANCE * max(
        abs(least), 1.0
    ):
        violations.append("revenue_floor")
    if problem.same_design and len({segments[g].candidates[c] for g, c in choice.items()}) > 1:
        violations.append("same_design")
    if dict(choice) in problem.excluded:
        violations.append("excluded")
    return {
        "objective": value - problem.carrying_cost * reserve,
        "expected_cost": expected_cost,
        "reserve": reserve,
        "overrun_probability": float(np.mean(cost > problem.budget + reserve + 1e-9)),
        "feasible": not violations,
        "violations": violations,
        **_robust_figures(problem, choice, problem.carrying_cost * reserve),
    }


def _robust_figures(
    problem: DesignProblem, choice: Mapping[str, int], carrying: float
) -> dict[str, Any]:
    """With assumption draws: the choice's expected objective per draw and its robust
    measure (both less the reserve's carrying cost); nothing without draws."""
    if problem.draws is None:
        return {}
    value = np.sum([problem.segments[g].value[c] for g, c in choice.items()], axis=0)
    per_draw = draw_means(problem, value) - carrying
    if problem.draw_measure == "regret":
        best = np.zeros(len(per_draw)) if problem.draw_best is None else problem.draw_best
        return {
            "draw_objectives": per_draw.tolist(),
            "draw_regrets": (best - per_draw).tolist(),
            "robust_objective": float(np.min(per_draw - best)),
        }
    measure = draw_objective(per_draw, problem.draw_measure, problem.draw_alpha)
    return {"draw_objectives": per_draw.tolist(), "robust_objective": measure}


# --- the model -----------------------------------------------------------------------------------


@dataclass
class _Model:
    prob: Any
    x: dict[str, list[Any]]
    reserve: Any


def build_model(
    problem: DesignProblem,
    *,
    budget_variable: bool = False,
    tail_scenarios: np.ndarray | None = None,
    forced_overruns: np.ndarray | None = None,
) -> _Model:
    """The PuLP model of ``problem`` (see the module notes).

    With ``budget_variable`` the budget becomes a variable ``B >= 0`` and the objective is to
    minimise it (used to find the smallest feasible budget). ``tail_scenarios`` limits the
    CVaR's excess rows, or the chance constraint's scenarios (its allowed overruns kept), to
    those scenarios (a relaxation; see :func:`solve` and :func:`_lazy_chance`).
    ``forced_overruns`` are scenarios the chance constraint lets overrun
    without a row, each using one of the allowed overruns (see :func:`forced_overruns`).
    """
    sense = pulp.LpMinimize if budget_variable else pulp.LpMaximize
    prob = pulp.LpProblem("incentive_design", sense)
    names = list(problem.segments)
    x = {
        g: [
            prob.add_variable(f"x_{i}_{c}", cat=pulp.LpBinary)
            for c in range(problem.segments[g].n_candidates)
        ]
        for i, g in enumerate(names)
    }
    flat = [v for g in names for v in x[g]]
    stacked = {
        attr: np.concatenate([getattr(problem.segments[g], attr) for g in names])
        for attr in ("retention", "loyalty", "small_paid", "paid")
    }
    cost = np.concatenate([problem.segments[g].cost for g in names])  # (sum C, S)
    value = np.concatenate([problem.segments[g].value.mean(axis=1) for g in names])
    finite_budget = budget_variable or math.isfinite(problem.budget)
    use_reserve = problem.risk != "none" and finite_budget
    reserve = prob.add_variable(
        "reserve", lowBound=0.0, upBound=problem.reserve_max if use_reserve else 0.0
    )
    budget: Any = prob.add_variable("budget", lowBound=0.0) if budget_variable else problem.budget

    def add(pairs: list[tuple[Any, float]], sense: int, rhs: float, name: str) -> None:
        expr = pulp.LpAffineExpression(pairs)
        prob.addConstraint(pulp.LpConstraint(expr, sense, name=name, rhs=rhs))

    # Budget terms: with a variable budget, "... <= B" becomes "... - B <= 0".
    budget_pairs = [(budget, -1.0)] if budget_variable else []
    budget_rhs = 0.0 if budget_variable else problem.budget

    if budget_variable:
        prob.setObjective(pulp.LpAffineExpression([(budget, 1.0)]))
    elif problem.draws is not None and problem.draw_measure != "expected":
        _add_draw_objective(problem, prob, add, flat, reserve)
    else:
        prob.setObjective(
            pulp.LpAffineExpression(
                [*zip(flat, value.tolist(), strict=True), (reserve, -problem.carrying_cost)]
            )
        )
    for i, g in enumerate(names):
        add([(v, 1.0) for v in x[g]], pulp.LpConstraintEQ, 1.0, f"one_design_{i}")
    if finite_budget:
        add(
            [*zip(flat, cost.mean(axis=1).tolist(), strict=True), *budget_pairs],
            pulp.LpConstraintLE,
            budget_rhs,
            "expected_cost",
        )
    if use_reserve:
        rhs = budget_rhs - problem.tail_margin  # the tail is held to budget + reserve - margin
        tail = _Tail(flat, cost, reserve, budget_pairs, rhs, tail_scenarios, forced_overruns)
        _add_tail(problem, prob, add, tail)
    for label, floors, metric in (
        ("retention", problem.retention_floor, stacked["retention"]),
        ("loyalty", problem.loyalty_floor, stacked["loyalty"]),
    ):
        offset = 0
        for i, g in enumerate(names):
            n = problem.segments[g].n_candidates
            if g in floors:
                pairs = list(zip(x[g], metric[offset : offset + n].tolist(), strict=True))
                add(pairs, pulp.LpConstraintGE, floors[g], f"{label}_floor_{i}")
            offset += n
    if problem.small_partner_share is not None:
        coefficients = stacked["small_paid"] - problem.small_partner_share * stacked["paid"]
        add(
            list(zip(flat, coefficients.tolist(), strict=True)),
            pulp.LpConstraintGE,
            0.0,
            "small_partner_share",
        )
    if problem.program_retention_floor is not None:
        weights = np.concatenate(
            [np.full(problem.segments[g].n_candidates, float(problem.partners[g])) for g in names]
        )
        coefficients = weights * (stacked["retention"] - problem.program_retention_floor)
        add(
            list(zip(flat, coefficients.tolist(), strict=True)),
            pulp.LpConstraintGE,
            0.0,
            "program_retention_floor",
        )
    if problem.revenue_floor is not None:
        revenue = np.concatenate([_revenue(problem.segments[g]) for g in names])
        add(
            list(zip(flat, revenue.tolist(), strict=True)),
            pulp.LpConstraintGE,
            problem.revenue_floor,
            "revenue_floor",
        )
    for j, choice in enumerate(problem.excluded):  # no-good cut: not every segment's pick again
        pairs = [(x[g][c], 1.0) for g, c in choice.items()]
        add(pairs, pulp.LpConstraintLE, len(choice) - 1.0, f"excluded_{j}")
    if problem.same_design:
        first = names[0]
        for i, g in enumerate(names[1:], start=1):
            for c in range(len(x[g])):
                add(
                    [(x[g][c], 1.0), (x[first][c], -1.0)], pulp.LpConstraintEQ, 0.0, f"same_{i}_{c}"
                )
    return _Model(prob, x, reserve)


def _revenue(coef: SegmentCoefficients) -> np.ndarray:
    """The segment's expected net revenue per candidate, which a revenue floor needs."""
    if coef.revenue is None:
        raise ValueError("a revenue floor needs each candidate's expected net revenue")
    return coef.revenue


def draw_means(problem: DesignProblem, value: np.ndarray) -> np.ndarray:
    """Per assumption draw, the mean over its scenarios of ``value`` (``(..., scenarios)``)."""
    assert problem.draws is not None
    labels = np.unique(problem.draws)
    return np.stack([value[..., problem.draws == d].mean(axis=-1) for d in labels], axis=-1)


def draw_objective(values: np.ndarray, measure: str, alpha: float) -> float:
    """The robust measure of per-draw expected objectives: their mean (``expected``), the
    lowest (``worst_case``) or the mean of the lowest ``alpha`` share (``cvar``, the lower
    tail's conditional value at risk, with the boundary draw weighted in part)."""
    if measure == "expected":
        return float(np.mean(values))
    if measure == "worst_case":
        return float(np.min(values))
    return -cvar(-np.asarray(values, dtype=float), alpha)


def _add_draw_objective(
    problem: DesignProblem, prob: Any, add: Any, flat: list[Any], reserve: Any
) -> None:
    """Maximise the lower CVaR (or the minimum) over draws of the draws' expected objective:
    ``eta - 1/(alpha*D) * sum v[d]`` with ``v[d] >= eta - V[d]``, ``v >= 0``; the worst case is
    ``alpha = 1/D``, and minimax regret the worst case of ``V[d] - best[d]``."""
    names = list(problem.segments)
    per_draw = np.concatenate([draw_means(problem, problem.segments[g].value) for g in names])
    n_draws = per_draw.shape[1]
    alpha = problem.draw_alpha if problem.draw_measure == "cvar" else 1.0 / n_draws
    best = np.zeros(n_draws) if problem.draw_best is None else problem.draw_best
    eta = prob.add_variable("draw_eta")
    shortfall = [prob.add_variable(f"draw_v_{d}", lowBound=0.0) for d in range(n_draws)]
    for d in range(n_draws):
        pairs = [*zip(flat, per_draw[:, d].tolist(), strict=True), (eta, -1.0), (shortfall[d], 1.0)]
        add(pairs, pulp.LpConstraintGE, float(best[d]), f"draw_{d}")
    weight = 1.0 / (alpha * n_draws)
    prob.setObjective(
        pulp.LpAffineExpression(
            [(eta, 1.0), *((v, -weight) for v in shortfall), (reserve, -problem.carrying_cost)]
        )
    )


@dataclass
class _Tail:
    """What the tail constraint is built from."""

    flat: list[Any]
    cost: np.ndarray
    reserve: Any
    budget_pairs: list[tuple[Any, float]]
    budget_rhs: float
    scenarios: np.ndarray | None
    forced: np.ndarray | None = None


def _add_tail(problem: DesignProblem, prob: Any, add: Any, tail: _Tail) -> None:
    """The CVaR or chance constraint on the cost per scenario."""
    flat, cost, reserve = tail.flat, tail.cost, tail.reserve
    budget_pairs, budget_rhs = tail.budget_pairs, tail.budget_rhs
    n_scenarios = cost.shape[1]
    if problem.risk == "cvar":
        eta = prob.add_variable("eta")
        rows = range(n_scenarios) if tail.scenarios is None else tail.scenarios.tolist()
        u = {s: prob.add_variable(f"u_{s}", lowBound=0.0) for s in rows}
        for s in rows:
            # u[s] >= cost[s] - eta   <=>   u[s] + eta - sum cost x >= 0
            pairs = [*zip(flat, (-cost[:, s]).tolist(), strict=True), (u[s], 1.0), (eta, 1.0)]
            add(pairs, pulp.LpConstraintGE, 0.0, f"excess_{s}")
        weight = 1.0 / (problem.alpha * n_scenarios)
        pairs = [(eta, 1.0), *((v, weight) for v in u.values()), (reserve, -1.0), *budget_pairs]
        add(pairs, pulp.LpConstraintLE, budget_rhs, "cvar")
        return
    allowed = problem.allowed_overruns
    kept = np.arange(n_scenarios) if tail.scenarios is None else np.sort(tail.scenarios)
    if tail.forced is not None and len(tail.forced):
        if len(tail.forced) > allowed:
            raise ValueError("more forced overruns than the chance constraint allows")
        kept = np.setdiff1d(kept, tail.forced)
        allowed -= len(tail.forced)
    cost = cost[:, kept]
    lowest = -problem.tail_margin if budget_pairs else problem.tail_budget
    rows = chance_rows(cost, _offsets(problem), lowest, allowed)
    hard, soft = kept[rows.hard], kept[rows.soft]
    cost_of = {int(s): cost[:, i] for i, s in zip(rows.hard, hard, strict=True)}
    cost_of |= {int(s): cost[:, i] for i, s in zip(rows.soft, soft, strict=True)}
    star = {int(kept[s]): (u, [(int(kept[t]), a) for t, a in terms])
            for s, (u, terms) in rows.star.items()}  # fmt: skip
    dominance = [(int(kept[s]), int(kept[d])) for s, d in rows.dominance]
    for s in hard.tolist():  # can never overrun in a design that meets the constraint
        pairs = [*zip(flat, cost_of[s].tolist(), strict=True), (reserve, -1.0), *budget_pairs]
        add(pairs, pulp.LpConstraintLE, budget_rhs, f"overrun_{s}")
    z = {s: prob.add_variable(f"z_{s}", cat=pulp.LpBinary) for s in soft.tolist()}
    for s, big_m in zip(soft.tolist(), rows.big_m.tolist(), strict=True):
        pairs = [
            *zip(flat, cost_of[s].tolist(), strict=True),
            (z[s], -big_m),
            (reserve, -1.0),
            *budget_pairs,
        ]
        add(pairs, pulp.LpConstraintLE, budget_rhs, f"overrun_{s}")
    for s, (constant, terms) in star.items():
        pairs = [
            *zip(flat, cost_of[s].tolist(), strict=True),
            *((z[t], -coefficient) for t, coefficient in terms),
            (reserve, -1.0),
            *budget_pairs,
        ]
        add(pairs, pulp.LpConstraintLE, budget_rhs + constant, f"star_{s}")
    for s, d in dominance:  # s overruns only if d, which costs more in every design, does
        add([(z[s], 1.0), (z[d], -1.0)], pulp.LpConstraintLE, 0.0, f"dominance_{s}_{d}")
    if z:
        add([(v, 1.0) for v in z.values()], pulp.LpConstraintLE, float(allowed), "chance")


def _offsets(problem: DesignProblem) -> np.ndarray:
    """Where each segment's rows start in the stacked ``(candidates, scenarios)`` arrays."""
    return np.cumsum([0, *(c.n_candidates for c in problem.segments.values())])


def _segment_max(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Sum over segments of the largest value among each segment's candidates, per column."""
    return np.sum([values[a:b].max(axis=0) for a, b in itertools.pairwise(offsets)], axis=0)


@dataclass
class ChanceRows:
    """How the exact chance constraint is written (see :func:`chance_rows`).

    Attributes
    ----------
    hard
        Scenarios no design meeting the constraint can overrun: ``cost <= budget + R`` with no
        binary (those implied by another hard one are left out).
    soft
        Scenarios that may overrun, each with a binary ``z`` and its big-M in ``big_m``.
    star
        Per soft scenario ``s``, the constant ``u`` and terms ``(t, a)`` of its star inequality
        ``cost[s] - budget - R <= u + sum a * z[t]``.
    dominance
        Pairs ``(s, d)`` of soft scenarios where ``d`` costs at least as much as ``s`` for every
        candidate: ``z[s] <= z[d]`` (immediate dominators only; the rest follow).
    dropped
        Scenarios that need no row at all.
    allowed
        Scenarios allowed to overrun.
    """

    hard: np.ndarray
    soft: np.ndarray
    big_m: np.ndarray
    star: dict[int, tuple[float, list[tuple[int, float]]]]
    dominance: list[tuple[int, int]]
    dropped: int
    allowed: int


def chance_rows(cost: np.ndarray, offsets: np.ndarray, budget: float, allowed: int) -> ChanceRows:
    """The rows of an exact chance constraint: big-M tightened, scenarios fixed by dominance,
    and a star inequality per scenario that may overrun.

    ``cost`` is ``(candidates of every segment stacked, scenarios)``; ``offsets`` where each
    segment's rows start; ``budget`` a lower bound on the budget; ``allowed`` the ``k``
    scenarios that may overrun budget + reserve ``R``. The strengthenings (after Luedtke 2014,
    "A branch-and-cut decomposition algorithm for solving chance-constrained mathematical
    programs with finite support", and Song, Luedtke and Kucukyavuz 2014) remove no design that
    meets the constraint:

    - **Quantile big-M**: a design meeting the constraint keeps at least ``S - k`` scenarios
      ``t`` within budget + ``R``; for each of them its overrun in scenario ``s``,
      ``y[s] = cost[s] - B - R``, is at most ``cost[s] - cost[t] <= m[s, t] = sum_g max_c
      (cost[g,c,s] - cost[g,c,t])`` (one candidate per segment makes the maximum separable),
      so at most the ``(k+1)``-th smallest ``m[s, t]``. That, or the dearest program's overrun
      when smaller, is ``M[s]``. A scenario whose dearest program is within the budget needs
      no row; one whose quantile is ``<= 0`` has ``k`` others costing at least as much in
      every design, so it cannot overrun in a design meeting the constraint, but only its own
      row (hard, without ``z``) makes the design meet it.
    - **Dominance fixing**: scenario ``d`` dominates ``s`` when every candidate costs at least
      as much in ``d``; a design overrunning in ``s`` overruns in all its dominators, so a
      scenario with ``k`` or more dominators never overruns (a hard row, without ``z``), and a
      hard scenario dominated by another hard one needs no row.
    - **Star inequalities**: with ``u_1 <= u_2 <= ...`` the smallest ``m[s, t]`` in order and
      ``t_j`` their scenarios, ``y[s] <= u_j`` whenever ``t_j`` keeps within the limit, which
      ``z[t_j] = 0`` ensures; so ``y[s] <= u_1 + sum_j (u_{j+1} - u_j) z[t_j]`` over the first
      ``k`` (telescoping to the first ``t_j`` within the limit). A scenario without ``z`` ends
      the chain early, and so tightens ``M[s]``; a scenario whose ``M[s]`` falls to 0 loses
      its ``z``, which may end other chains: repeated until nothing changes.
    - **Dominance rows** ``z[s] <= z[d]``: setting ``z`` to whether a scenario overruns meets
      them, so they cut only fractional points (and symmetric choices of ``z``).
    """
    n_scenarios = cost.shape[1]
    big_m = _segment_max(cost, offsets) - budget
    live = np.flatnonzero(big_m > 0)
    if allowed >= n_scenarios:  # every scenario may overrun: nothing to constrain
        return ChanceRows(np.array([], int), np.array([], int), np.array([]), {}, [], 0, allowed)
    # The k+1 smallest m[s, t] in order, per scenario that may overrun.
    order: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for s in live.tolist():
        spread = _segment_max(cost[:, s : s + 1] - cost, offsets)
        nearest = np.argpartition(spread, allowed)[: allowed + 1]
        nearest = nearest[np.argsort(spread[nearest], kind="stable")]
        order[s] = (nearest, spread[nearest])
        big_m[s] = min(big_m[s], float(spread[nearest[-1]]))
    # k or more scenarios cost at least as much as these in every design: they keep a row.
    within_quantile = big_m[live] <= 0
    # Dominance among them (a dominator of a scenario that may overrun may overrun too).
    sub = cost[:, live]
    dominates = np.empty((len(live), len(live)), dtype=bool)  # [i, j]: scenario j dominates i
    for i in range(len(live)):
        dominates[i] = np.all(sub >= sub[:, i : i + 1], axis=0)
    dominates[np.diag_indices(len(live))] = False
    same = dominates & dominates.T  # identical columns: the later one dominates the earlier
    dominates &= ~same | np.triu(np.ones_like(same), 1)
    is_hard = (dominates.sum(axis=1) >= allowed) | within_quantile
    hard = live[is_hard & ~(dominates & is_hard[None, :]).any(axis=1)]
    has_z = np.zeros(n_scenarios, dtype=bool)
    has_z[live[~is_hard]] = True
    star: dict[int, tuple[float, list[tuple[int, float]]]] = {}
    changed = True
    while changed:  # chains end at scenarios without z; a scenario losing z ends others
        changed, star = False, {}
        for s in np.flatnonzero(has_z).tolist():
            nearest, values = order[s]
            end = allowed
            without = np.flatnonzero(~has_z[nearest[:allowed]])
            if len(without):
                end = int(without[0])
            if values[end] < big_m[s]:
                big_m[s] = float(values[end])
            if big_m[s] <= 0:
                has_z[s], changed = False, True
                continue
            steps = np.diff(values[: end + 1])
            star[s] = (
                float(values[0]),
                [(int(t), float(a)) for t, a in zip(nearest[:end], steps, strict=True) if a > 0],
            )
    soft = np.flatnonzero(has_z)
    keep = has_z[live]
    soft_dom = dominates[np.ix_(keep, keep)]
    # Immediate dominators: d dominates s with no scenario with z between them.
    through = (soft_dom.astype(np.float32) @ soft_dom.astype(np.float32)) > 0
    immediate = soft_dom & ~through
    soft_live = live[keep]
    pairs = [
        (int(soft_live[i]), int(soft_live[j])) for i, j in zip(*np.nonzero(immediate), strict=True)
    ]
    return ChanceRows(
        hard=hard,
        soft=soft,
        big_m=big_m[soft],
        star=star,
        dominance=pairs,
        dropped=n_scenarios - len(hard) - len(soft),
        allowed=allowed,
    )


def forced_overruns(
    problem: DesignProblem,
    lower: float,
    *,
    solver: Literal["highs", "cbc"] = "highs",
    time_limit: float | None = None,
) -> np.ndarray:
    """Scenarios every design better than ``lower`` overruns (chance constraint).

    If the best design that keeps scenario ``s`` alone within budget + reserve (every other
    constraint kept, no tail constraint) is worth no more than ``lower``, a better design must
    overrun ``s`` (the scenario bound of Ahmed, Luedtke, Song and Xie 2017, used to fix
    binaries). Scenarios are tried from the dearest for the average candidate down; a
    scenario's dominators are forced with it and what it dominates is skipped with it, and the
    search stops after ``2k + 10`` scenarios in a row force nothing, when the ``k`` allowed
    overruns are all forced, or at ``time_limit``. Each sub-problem's proven bound is used, so
    a sub-solve stopped early forces less but never wrongly.
    """
    began = time.perf_counter()
    free = copy.copy(problem)
    free.risk = "none"
    cost = np.concatenate([coef.cost for coef in problem.segments.values()])
    typical = np.sum([coef.cost.mean(axis=0) for coef in problem.segments.values()], axis=0)
    forced = np.zeros(problem.n_scenarios, dtype=bool)
    settled = np.zeros(problem.n_scenarios, dtype=bool)
    allowed, idle = problem.allowed_overruns, 0
    for s in np.argsort(-typical, kind="stable").tolist():
        if settled[s]:
            continue
        if forced.sum() > allowed or idle > 2 * allowed + 10:
            break
        left = None if time_limit is None else time_limit - (time.perf_counter() - began)
        if left is not None and left <= 0:
            break
        model = build_model(free)
        model.reserve.upBound = problem.reserve_max
        flat = [v for g in model.x for v in model.x[g]]
        row = pulp.LpAffineExpression(
            [*zip(flat, cost[:, s].tolist(), strict=True), (model.reserve, -1.0)]
        )
        model.prob.addConstraint(
            pulp.LpConstraint(row, pulp.LpConstraintLE, "alone", problem.tail_budget)
        )
        found = _run(model, solver, left, 1e-6, False)
        bound = found.bound
        if found.status == "infeasible":
            bound = -math.inf
        elif found.status == "optimal" and found.has_design:
            bound = model.prob.objective.value()
        column = cost[:, s : s + 1]
        if bound is not None and bound <= lower:
            forced |= np.all(cost >= column, axis=0)  # its dominators overrun with it
            settled |= forced
            idle = 0
        else:
            settled |= np.all(cost <= column, axis=0)  # keeping it within is no harder
            idle += 1
    return np.flatnonzero(forced)


# --- solving --------------------------------------------------------------------------------------


def solve(
    problem: DesignProblem,
    *,
    solver: Literal["highs", "cbc"] = "highs",
    time_limit: float | None = 60.0,
    mip_gap: float = 1e-6,
    diagnose_infeasible: bool = True,
    msg: bool = False,
) -> Solution:
    """Solve the design problem.

    Parameters
    ----------
    problem
        Coefficients and constraints.
    solver
        ``"highs"`` (HiGHS through highspy; CBC is used if HiGHS is missing or fails) or
        ``"cbc"``.
    time_limit
        Seconds the solver may take (over all CVaR rounds); at the limit the best design found
        so far comes back with status ``time_limit`` and its gap (CBC reports none), unless
        the CVaR rows were still incomplete: then no design comes back (see ``detail``). An
        infeasibility diagnosis takes further solves, each with this limit.
    mip_gap
        Relative gap at which a design counts as proven optimal.
    diagnose_infeasible
        On infeasibility, find which constraint makes it so (:func:`diagnose`).
    msg
        Show the solver's log.
    """
    began = time.perf_counter()
    scenarios = _first_tail(problem) if problem.risk == "cvar" else None
    built = solved = 0.0
    rounds = 0
    while True:
        rounds += 1
        start = time.perf_counter()
        model = build_model(problem, tail_scenarios=scenarios)
        built += time.perf_counter() - start
        left = None if time_limit is None else max(time_limit - (start - began), 0.1)
        if problem.risk == "chance" and left is not None:  # leave time to force overruns
            left *= CHANCE_FIRST_SHARE
        solution = _run(model, solver, left, mip_gap, msg)
        solved += solution.solve_seconds
        missing = _missing_tail(problem, solution, model, scenarios)
        if missing is None:
            break
        assert scenarios is not None  # only a CVaR problem has tail rows to add
        scenarios = np.union1d(scenarios, missing)
        if solution.status == "time_limit":  # an incumbent of the relaxation: not a design
            solution.choice = {}
            solution.detail = "stopped at the time limit before the CVaR rows were complete"
            break
    if problem.risk == "chance" and solution.status == "time_limit":
        assert time_limit is not None  # only a time limit stops a solve short
        left = max(time_limit - (time.perf_counter() - began), 0.1)
        solution = _force_and_resolve(problem, solution, solver, left, mip_gap, msg)
        solved = solution.solve_seconds
    solution.build_seconds, solution.solve_seconds = built, solved
    if scenarios is not None:
        note = (
            f"CVaR rows for {len(scenarios)} of {problem.n_scenarios} scenarios, "
            f"{rounds} {'round' if rounds == 1 else 'rounds'}"
        )
        solution.detail = "; ".join(part for part in (solution.detail, note) if part)
    if solution.has_design:
        cost = program_cost(problem, solution.choice)
        solution.reserve = minimum_reserve(problem, cost)
        figures = assess(problem, solution.choice)  # robust: the measure the solver maximised
        solution.objective = figures.get("robust_objective", figures["objective"])
    if solution.status == "infeasible" and diagnose_infeasible:
        solution.diagnosis = diagnose(problem, solver=solver, time_limit=time_limit)
    return solution


#: Share of the time limit the exact chance model gets before overruns are forced.
CHANCE_FIRST_SHARE = 0.25


def _force_and_resolve(
    problem: DesignProblem,
    first: Solution,
    solver: Literal["highs", "cbc"],
    time_limit: float,
    mip_gap: float,
    msg: bool,
) -> Solution:
    """The chance model's second phase, after a first solve stopped at its time limit: improve
    its incumbent, if any (:func:`improved`, like every design met), force the overruns every
    better design has (:func:`forced_overruns`, up to a quarter of ``time_limit``), then
    bound what is left over growing subsets of the scenarios (:func:`_lazy_chance`; only when
    the improved incumbent is within :data:`CHANCE_SUBSET_GAP` of the first bound) and, unless
    that proves a design optimal, solve it over every scenario in the rest of the time; keep
    the best design met.

    Every model is a relaxation of the designs better than the incumbent (minus infinity when
    one is infeasible: then no design beats the incumbent), so the bound is the smaller of the
    first solve's and the larger of the incumbent's objective and the smallest of their
    bounds, and the status and gap stay proven (without any design, a relaxation found
    infeasible proves the problem so)."""
    began = time.perf_counter()
    start = improved(problem, first.choice) if first.choice else {}
    lower = _worth(problem, start) if start else -math.inf
    forced = np.empty(0, dtype=int)
    if start:
        margin = 1e-9 * max(1.0, abs(lower))
        forced = forced_overruns(problem, lower - margin, solver=solver, time_limit=time_limit / 4)
    best, best_choice = lower, start
    upper = math.inf if first.bound is None else first.bound
    second_bound = math.inf
    outcome = f"{len(forced)} scenarios forced to overrun"
    if len(forced) <= problem.allowed_overruns:
        first_gap = _gap(upper, lower)
        if first_gap is not None and first_gap <= CHANCE_SUBSET_GAP:
            left = max(time_limit - (time.perf_counter() - began), 0.1)
            lazy = _lazy_chance(problem, forced, solver, left, mip_gap, msg)
            if lazy.choice and _worth(problem, better := improved(problem, lazy.choice)) > best:
                best, best_choice = _worth(problem, better), better
            second_bound = lazy.bound
            outcome += f", then {lazy.outcome}"
        left = time_limit - (time.perf_counter() - began)
        gap = _gap(second_bound, best)
        if second_bound > best and (gap is None or gap > mip_gap) and left > 1.0:  # unproven
            second = _run(build_model(problem, forced_overruns=forced), solver, left, mip_gap, msg)
            if (
                second.has_design
                and _worth(problem, better := improved(problem, second.choice)) > best
            ):
                best, best_choice = _worth(problem, better), better
            if second.status == "infeasible":
                second_bound = -math.inf
            elif second.status == "optimal" and second.has_design:
                second_bound = min(second_bound, _worth(problem, second.choice))
            elif second.bound is not None:
                second_bound = min(second_bound, second.bound)
            outcome += f", then {second.status} over every scenario"
    else:
        second_bound = -math.inf
        outcome += ", more than allowed: no design beats the first"
    bound = min(upper, max(best, second_bound))
    gap = _gap(bound, best)
    proven = gap is not None and gap <= mip_gap + 1e-12
    status: Status = "optimal" if proven else "time_limit"
    if not best_choice:
        status = "infeasible" if bound == -math.inf else "time_limit"
        outcome = f"no feasible design found within the time limit; {outcome}"
    return Solution(
        status,
        first.solver,
        gap=gap,
        bound=bound if math.isfinite(bound) else None,
        choice=dict(best_choice),
        solve_seconds=first.solve_seconds + time.perf_counter() - began,
        detail=f"chance constraint in two phases: {outcome}",
        raw_status="Optimal" if proven else first.raw_status,
    )


def _gap(bound: float, best: float) -> float | None:
    """The relative gap between a bound and the best objective found (``None`` when either is
    not finite)."""
    if not (math.isfinite(bound) and math.isfinite(best)):
        return None
    return max(0.0, bound - best) / max(abs(best), 1e-10)


def improved(problem: DesignProblem, choice: Mapping[str, int]) -> dict[str, int]:
    """A feasible choice improved by changing one segment's candidate at a time: each pass
    makes the single change that raises the objective most while every constraint holds
    (:func:`assess`), until none does (a local optimum; the solver's incumbent at a time limit
    often is not one)."""
    current, worth = dict(choice), _worth(problem, choice)
    while True:
        move, gain = None, 0.0
        for g, coef in problem.segments.items():
            for c in range(coef.n_candidates):
                if c == current[g]:
                    continue
                other = current | {g: c}
                figures = assess(problem, other)
                value = float(figures.get("robust_objective", figures["objective"]))
                if figures["feasible"] and value - worth > gain:
                    move, gain = other, value - worth
        if move is None:
            return current
        current, worth = move, worth + gain


def _worth(problem: DesignProblem, choice: Mapping[str, int]) -> float:
    """The objective the solver maximises (the robust one with assumption draws) of a choice,
    with its smallest sufficient reserve."""
    figures = assess(problem, choice)
    return float(figures.get("robust_objective", figures["objective"]))


#: The largest gap between the first phase's improved design and its bound at which the
#: second phase bounds over scenario subsets first: beyond it the design is what is short, and
#: the model over every scenario, which finds better ones, gets all the time.
CHANCE_SUBSET_GAP = 0.04

#: Scenarios the second phase's first subset model holds beyond the overruns still allowed.
CHANCE_SUBSET_EXTRA = 3


@dataclass
class _Lazy:
    """What :func:`_lazy_chance` found: the best design meeting the full constraint among the
    subset models' (``{}``: none), an upper bound on every design that overruns the forced
    scenarios, and how it ended."""

    choice: dict[str, int]
    bound: float
    outcome: str


def _lazy_chance(
    problem: DesignProblem,
    forced: np.ndarray,
    solver: Literal["highs", "cbc"],
    time_limit: float,
    mip_gap: float,
    msg: bool,
) -> _Lazy:
    """The chance model with ``forced`` overrunning, over a growing subset of the scenarios.

    Leaving scenarios out (the allowed overruns kept) only admits more designs, so each model
    is a relaxation and its bound holds for the full problem. The first subset holds the
    :data:`CHANCE_SUBSET_EXTRA` plus allowed overruns scenarios dearest for the average
    candidate: small subsets are far quicker to bound than all the scenarios, most of whose
    rows matter little. While a model's design needs more reserve on every scenario than the
    model gave it, its dearest scenarios missing from the subset are added and the model
    solved again; a design the model solved to optimality that needs no more is the optimum.
    The first model gets half of ``time_limit``: if it stops there, subsets are not worth
    it and the rest of the time is left to the caller.
    """
    began = time.perf_counter()
    allowed = problem.allowed_overruns - len(forced)
    typical = np.sum([coef.cost.mean(axis=0) for coef in problem.segments.values()], axis=0)
    order = np.argsort(-typical, kind="stable")
    order = order[~np.isin(order, forced)]
    scenarios = np.sort(order[: allowed + CHANCE_SUBSET_EXTRA])
    best: dict[str, int] = {}
    bound, rounds, status = math.inf, 0, "not_solved"
    while True:
        rounds += 1
        left = max(time_limit - (time.perf_counter() - began), 0.1)
        if rounds == 1:
            left /= 2
        model = build_model(problem, tail_scenarios=scenarios, forced_overruns=forced)
        found = _run(model, solver, left, mip_gap, msg)
        status = found.status
        if found.status == "infeasible":
            bound = -math.inf
            break
        if found.bound is not None:
            bound = min(bound, found.bound)
        if not found.has_design:
            break
        if assess(problem, found.choice)["feasible"] and (
            not best or _worth(problem, found.choice) > _worth(problem, best)
        ):
            best = found.choice
        missing = _missing_tail(problem, found, model, scenarios)
        if missing is None and found.status == "optimal":  # exact: the relaxation's optimum
            bound = min(bound, _worth(problem, found.choice))
            break
        if missing is not None:
            missing = np.setdiff1d(missing, forced)
        if found.status != "optimal" or missing is None or not len(missing):
            break
        scenarios = np.union1d(scenarios, missing)
    outcome = f"{status} over {len(scenarios)} scenarios ({rounds} rounds)"
    return _Lazy(best, bound, outcome)


def _first_tail(problem: DesignProblem) -> np.ndarray:
    """Scenarios whose CVaR rows the first round keeps: the dearest for the average candidate
    of each segment, four times as many as the tail holds (at least 50)."""
    typical = np.sum([coef.cost.mean(axis=0) for coef in problem.segments.values()], axis=0)
    keep = min(problem.n_scenarios, max(50, math.ceil(4 * problem.alpha * problem.n_scenarios)))
    return np.sort(np.argsort(-typical, kind="stable")[:keep])


def _missing_tail(
    problem: DesignProblem, solution: Solution, model: _Model, scenarios: np.ndarray | None
) -> np.ndarray | None:
    """Tail scenarios of the chosen design that the CVaR rows lack, if the design needs more
    reserve than the relaxation gave it; ``None`` when the design is exact.

    Leaving scenarios out can only lower the CVaR, so each round solves a relaxation. Once the
    rows hold the chosen design's worst ``alpha`` share of scenarios its relaxed CVaR is exact;
    if its reserve then fits, the relaxation's optimum is feasible and so optimal for the full
    problem. Otherwise its tail scenarios are added and the model solved again.
    """
    if scenarios is None or not solution.has_design:
        return None
    cost = program_cost(problem, solution.choice)
    granted = model.reserve.varValue or 0.0
    if minimum_reserve(problem, cost) <= granted + 1e-7 * max(1.0, abs(problem.budget)):
        return None
    tail = np.argsort(-cost, kind="stable")[: math.ceil(problem.alpha * problem.n_scenarios) + 1]
    missing = np.setdiff1d(tail, scenarios)
    if not len(missing):  # ties at the tail's edge: take every row rather than stop short
        missing = np.setdiff1d(np.arange(problem.n_scenarios), scenarios)
    return missing if len(missing) else None


def _run(
    model: _Model, solver: str, time_limit: float | None, mip_gap: float, msg: bool
) -> Solution:
    """Solve with HiGHS (falling back to CBC) and read the real status."""
    fallback = ""
    if solver == "highs":
        highs = pulp.HiGHS(msg=msg, timeLimit=time_limit, gapRel=mip_gap, gapAbs=0.0)
        if highs.available():
            try:
                began = time.perf_counter()
                model.prob.solve(highs)
                return _read_highs(model, time.perf_counter() - began)
            except (pulp.PulpSolverError, KeyError) as exc:
                fallback = f"HiGHS failed ({exc}); solved with CBC"
        else:
            fallback = "HiGHS (highspy) not available; solved with CBC"
    with warnings.catch_warnings():  # PuLP 3.3 deprecates its bundled CBC, still the fallback
        warnings.simplefilter("ignore", DeprecationWarning)
        cbc = pulp.PULP_CBC_CMD(msg=msg, timeLimit=time_limit, gapRel=mip_gap)
        began = time.perf_counter()
        model.prob.solve(cbc)
    solution = _read_cbc(model, time.perf_counter() - began)
    solution.detail = "; ".join(part for part in (fallback, solution.detail) if part)
    return solution


def _chosen(model: _Model) -> dict[str, int]:
    choice = {}
    for g, variables in model.x.items():
        values = [v.varValue or 0.0 for v in variables]
        choice[g] = int(np.argmax(values))
    return choice


def _read_highs(model: _Model, seconds: float) -> Solution:
    # loaded only once HiGHS has solved: without highspy, _run falls back to CBC
    import highspy

    h = model.prob.solverModel
    status = h.getModelStatus()
    info = h.getInfo()
    raw = h.modelStatusToString(status)
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    gap = float(info.mip_gap) if has_solution and math.isfinite(info.mip_gap) else None
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
    if bound is not None and _negated(model, h):
        bound = -bound
    kinds = highspy.HighsModelStatus
    if status == kinds.kOptimal:
        state: Status = "optimal"
    elif status in (kinds.kInfeasible, kinds.kUnboundedOrInfeasible):
        state = "infeasible"
    elif status == kinds.kTimeLimit:
        state = "time_limit"
    else:
        state = "not_solved"
    solution = Solution(state, "HiGHS", gap=gap, bound=bound, raw_status=raw)
    solution.solve_seconds = seconds
    if state in ("optimal", "time_limit") and has_solution:
        solution.choice = _chosen(model)
    elif state == "time_limit":
        solution.detail = "no feasible design found within the time limit"
    return solution


def _negated(model: _Model, highs: Any) -> bool:
    """Whether HiGHS holds the negated objective: PuLP hands it a maximisation as the
    minimisation of minus the objective, so its bound has the wrong sign for the problem."""
    # loaded only once HiGHS has solved: without highspy, _run falls back to CBC
    import highspy

    _, sense = highs.getObjectiveSense()
    return model.prob.sense == pulp.LpMaximize and sense == highspy.ObjSense.kMinimize


def _read_cbc(model: _Model, seconds: float) -> Solution:
    raw = pulp.LpStatus[model.prob.status]
    sol = model.prob.sol_status
    if sol == pulp.LpSolutionOptimal:
        state: Status = "optimal"
    elif sol == pulp.LpSolutionIntegerFeasible:
        state = "time_limit"
    elif sol == pulp.LpSolutionInfeasible or model.prob.status == pulp.LpStatusInfeasible:
        state = "infeasible"
    else:
        state = "not_solved"
    solution = Solution(state, "CBC", raw_status=f"{raw} ({pulp.LpSolution[sol]})")
    solution.solve_seconds = seconds
    if state in ("optimal", "time_limit"):
        solution.choice = _chosen(model)
    if state == "time_limit":
        solution.detail = "CBC through PuLP does not report the gap of an unproven design"
    return solution


# --- infeasibility -------------------------------------------------------------------------------


def diagnose(
    problem: DesignProblem,
    *,
    solver: Literal["highs", "cbc"] = "highs",
    time_limit: float | None = 60.0,
) -> Diagnosis:
    """Which constraint groups make ``problem`` infeasible, and the smallest feasible budget.

    Each group (:meth:`DesignProblem.groups`) is dropped in turn and the rest solved; the
    groups whose removal alone restores feasibility are the culprits. The smallest budget is
    found by solving with the budget as a variable to minimise (every other constraint kept).
    """
    culprits = []
    for group in problem.groups():
        relaxed = solve(
            problem.without(group), solver=solver, time_limit=time_limit, diagnose_infeasible=False
        )
        if relaxed.has_design:  # a design found proves the rest feasible
            culprits.append(group)
    minimum, status = _minimum_budget(problem, solver, time_limit)
    parts = []
    if culprits:
        parts.append("dropping any one of these makes it feasible: " + ", ".join(culprits))
    else:
        parts.append("no single constraint is to blame: several conflict together")
    if status == "infeasible":
        parts.append("no budget is enough: the floors or fairness constraints conflict")
    elif minimum is None:
        parts.append(f"no budget was found that meets every other constraint ({status})")
    elif status == "optimal":
        parts.append(
            f"the smallest budget at which every other constraint can be met is {minimum:,.0f} "
            f"(the budget asked is {problem.budget:,.0f})"
        )
    else:
        parts.append(
            f"every other constraint can be met with a budget of {minimum:,.0f} (the budget "
            f"asked is {problem.budget:,.0f}); the solver stopped at its time limit before "
            "proving it the smallest"
        )
    return Diagnosis(culprits, minimum, "; ".join(parts))


def _minimum_budget(
    problem: DesignProblem, solver: str, time_limit: float | None
) -> tuple[float | None, Status]:
    """The smallest budget at which the other constraints hold (``None`` when none was found)
    and the solver's status (``optimal``: proven the smallest)."""
    model = build_model(problem, budget_variable=True)
    solution = _run(model, solver, time_limit, 1e-6, False)
    budget = model.prob.variablesDict()["budget"].varValue if solution.has_design else None
    return (None if budget is None else float(budget)), solution.status


def choices(problem: DesignProblem) -> Sequence[dict[str, int]]:
    """Every combination of candidates (for exhaustive checks on small problems)."""
    names = list(problem.segments)
    ranges = [range(problem.segments[g].n_candidates) for g in names]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*ranges)]
