"""The MILP against brute force, its status and gap, and infeasibility diagnosis."""

from __future__ import annotations

import math

import numpy as np
import pytest
from opt_synthetic import exhaustive_best, synthetic_segments

from incentsim.optimizer.milp import (
    DesignProblem,
    assess,
    choices,
    minimum_reserve,
    program_cost,
    solve,
)
from incentsim.risk import cvar


def _problem(seed: int, risk: str, **kwargs) -> DesignProblem:
    settings = {
        "budget": 300.0,
        "alpha": 0.1,
        "reserve_max": 40.0,
        "carrying_cost": 0.5,
        **kwargs,
    }
    return DesignProblem(synthetic_segments(3, 5, 40, seed=seed), risk=risk, **settings)


@pytest.mark.parametrize("risk", ["cvar", "chance", "none"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_milp_choice_equals_exhaustive_search(risk: str, seed: int) -> None:
    problem = _problem(
        seed, risk, budget=360.0, retention_floor={"segment0": 0.85}, small_partner_share=0.1
    )
    best, best_value = exhaustive_best(problem)
    assert best is not None  # a feasible instance, so the comparison means something
    solution = solve(problem)
    assert solution.status == "optimal"
    assert solution.solver == "HiGHS"
    assert solution.gap is not None
    assert solution.gap <= 1e-6
    assert solution.objective == pytest.approx(best_value, rel=1e-9)
    assert assess(problem, solution.choice)["feasible"]
    assert solution.choice == best


@pytest.mark.parametrize("risk", ["cvar", "none"])
def test_the_bound_of_a_maximisation_has_the_objective_s_sign(risk: str) -> None:
    # PuLP gives HiGHS the maximisation as a minimisation of minus the objective; the bound
    # reported (optimization.json) must be on the problem's own scale, at or above the objective.
    problem = _problem(1, risk, budget=360.0)
    solution = solve(problem)
    assert solution.status == "optimal"
    assert solution.objective is not None
    assert solution.objective > 0
    assert solution.bound is not None
    assert solution.bound >= solution.objective - 1e-6 * abs(solution.objective)
    assert solution.bound == pytest.approx(solution.objective, rel=1e-5)


def test_the_tail_constraint_changes_the_choice_and_holds_in_sample() -> None:
    free = _problem(4, "none", budget=330.0, reserve_max=0.0)
    free_choice = solve(free).choice
    free_cost = program_cost(free, free_choice)
    assert np.mean(free_cost > 330.0) > 0.1  # the unconstrained optimum overruns too often

    for risk in ("chance", "cvar"):
        bound = _problem(4, risk, budget=330.0, reserve_max=0.0)
        solution = solve(bound)
        assert solution.status == "optimal"
        assert solution.choice != free_choice
        cost = program_cost(bound, solution.choice)
        assert np.mean(cost > 330.0) <= 0.1
        if risk == "cvar":
            assert cvar(cost, 0.1) <= 330.0 + 1e-6


def test_cvar_is_the_mean_of_the_worst_alpha_share() -> None:
    cost = np.random.default_rng(0).lognormal(0.0, 1.0, 1000)
    worst = np.sort(cost)[-100:]
    assert cvar(cost, 0.1) == pytest.approx(worst.mean())
    assert cvar(cost, 0.1) > np.quantile(cost, 0.9)


def test_minimum_reserve_is_the_smallest_that_meets_the_chance_constraint() -> None:
    problem = _problem(1, "chance", budget=250.0)
    cost = np.arange(1.0, 41.0) * 10.0  # 10, 20, ..., 400; 4 may overrun at alpha 0.1
    reserve = minimum_reserve(problem, cost)
    assert reserve == pytest.approx(360.0 - 250.0)
    assert np.sum(cost > 250.0 + reserve) == 4
    assert np.sum(cost > 250.0 + reserve - 1.0) == 5


def test_cbc_fallback_agrees_with_highs() -> None:
    problem = _problem(2, "cvar", budget=400.0)
    highs, cbc = solve(problem), solve(problem, solver="cbc")
    assert highs.status == "optimal"
    assert cbc.solver == "CBC"
    assert cbc.status == "optimal"
    assert cbc.objective == pytest.approx(highs.objective, rel=1e-6)


def test_cbc_is_used_when_highs_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import pulp

    monkeypatch.setattr(pulp.HiGHS, "available", lambda self: False)
    problem = _problem(2, "cvar", budget=400.0)
    solution = solve(problem)
    assert solution.solver == "CBC"
    assert solution.status == "optimal"
    assert "HiGHS (highspy) not available" in solution.detail
    assert solution.choice == exhaustive_best(problem)[0]


def test_time_limit_is_never_reported_optimal() -> None:
    problem = DesignProblem(
        synthetic_segments(8, 24, 400, seed=5),
        budget=800.0,
        alpha=0.05,
        risk="chance",
        reserve_max=0.0,
    )
    solution = solve(problem, time_limit=0.5)
    assert solution.status == "time_limit"
    assert solution.raw_status == "Time limit reached"
    if solution.has_design:
        assert solution.gap is not None
        assert solution.gap > 1e-6
        assert assess(problem, solution.choice)["feasible"]
    assert "time_limit" in solution.describe()


def test_budget_infeasibility_names_the_budget_and_the_smallest_budget() -> None:
    problem = _problem(1, "cvar", budget=100.0, retention_floor={"segment1": 0.85})
    solution = solve(problem)
    assert solution.status == "infeasible"
    assert not solution.has_design
    diagnosis = solution.diagnosis
    assert diagnosis is not None
    assert "budget" in diagnosis.culprits
    # Brute force: a choice needs budget >= expected cost and budget + reserve_max >= CVaR.
    needed = math.inf
    for choice in choices(problem):
        if problem.segments["segment1"].retention[choice["segment1"]] < 0.85:
            continue
        cost = program_cost(problem, choice)
        needed = min(needed, max(cost.mean(), cvar(cost, 0.1) - 40.0))
    assert diagnosis.minimum_budget == pytest.approx(needed, rel=1e-6)
    assert f"{needed:,.0f}" in diagnosis.message
    assert solve(_problem(1, "cvar", budget=needed * 1.001)).has_design


def test_an_unreachable_floor_is_named_and_no_budget_helps() -> None:
    problem = _problem(1, "cvar", budget=1e6, loyalty_floor={"segment2": 0.99})
    solution = solve(problem)
    assert solution.status == "infeasible"
    assert solution.diagnosis is not None
    assert solution.diagnosis.culprits == ["loyalty_floor[segment2]"]
    assert solution.diagnosis.minimum_budget is None


def test_same_design_for_every_segment() -> None:
    problem = _problem(3, "cvar", budget=500.0, same_design=True)
    solution = solve(problem)
    assert len(set(solution.choice.values())) == 1
    _best, value = exhaustive_best(problem)
    assert solution.objective == pytest.approx(value)


def test_cvar_rows_added_round_by_round_reach_the_exact_optimum() -> None:
    rounds = []
    for seed in range(1, 7):
        segments = synthetic_segments(3, 4, 600, seed=seed)
        rng = np.random.default_rng(seed)
        for coef in segments.values():  # independent tails: the first rows guess them badly
            coef.cost = coef.cost * rng.lognormal(0.0, 0.3, coef.cost.shape)
        problem = DesignProblem(
            segments, budget=330.0, alpha=0.05, risk="cvar", reserve_max=60.0, carrying_cost=2.0
        )
        best, value = exhaustive_best(problem)
        solution = solve(problem)
        if best is None:
            assert solution.status == "infeasible"
            continue
        assert solution.status == "optimal"
        assert solution.objective == pytest.approx(value, rel=1e-9)
        assert assess(problem, solution.choice)["feasible"]
        rounds.append(int(solution.detail.split(", ")[-1].split()[0]))
    assert len(rounds) >= 3
    assert max(rounds) > 1  # the first round's rows were not enough somewhere
