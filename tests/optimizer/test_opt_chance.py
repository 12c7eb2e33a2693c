"""The exact chance constraint's strengthened rows against brute force: they remove no design
that meets the constraint, forced overruns are overrun by every better design, and the subset
models and the two-phase solve prove the exhaustive optimum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from opt_synthetic import exhaustive_best, synthetic_segments

from incentsim.optimizer.milp import (
    DesignProblem,
    Solution,
    _force_and_resolve,
    _lazy_chance,
    _offsets,
    assess,
    chance_rows,
    choices,
    forced_overruns,
    improved,
    minimum_reserve,
    program_cost,
    solve,
)


def _problem(seed: int, **kwargs: float) -> DesignProblem:
    settings_ = {"budget": 330.0, "alpha": 0.1, "reserve_max": 40.0, "carrying_cost": 0.5}
    return DesignProblem(
        synthetic_segments(3, 5, 40, seed=seed), risk="chance", **(settings_ | kwargs)
    )


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(1, 10_000), budget=st.floats(280.0, 380.0))
def test_no_design_meeting_the_constraint_breaks_a_strengthened_row(
    seed: int, budget: float
) -> None:
    problem = _problem(seed, budget=budget, reserve_max=1e9)
    cost = np.concatenate([c.cost for c in problem.segments.values()])
    offsets = _offsets(problem)
    rows = chance_rows(cost, offsets, problem.budget, problem.allowed_overruns)
    z_of = dict(zip(rows.soft.tolist(), rows.big_m.tolist(), strict=True))
    for choice in choices(problem):
        # Every design meets the constraint with its smallest reserve; z is whether it overruns.
        program = program_cost(problem, choice)
        reserve = minimum_reserve(problem, program)
        overrun = program - problem.budget - reserve
        z = overrun > 1e-9
        assert z.sum() <= problem.allowed_overruns
        assert not z[rows.hard].any()  # hard scenarios never overrun
        assert set(np.flatnonzero(z)) <= set(z_of)  # only soft scenarios have a z
        for s, big_m in z_of.items():
            assert overrun[s] <= big_m * z[s] + 1e-7
        for s, (constant, terms) in rows.star.items():
            assert overrun[s] <= constant + sum(a * z[t] for t, a in terms) + 1e-7
        for s, d in rows.dominance:
            assert z[s] <= z[d]
        # With any less reserve it breaks the constraint, and the rows see that: a hard
        # scenario overruns, or more soft ones than allowed.
        if reserve > 1e-6:
            broken = program - problem.budget - (reserve - 1e-6) > 1e-9
            assert broken[rows.hard].any() or broken[rows.soft].sum() > problem.allowed_overruns


def test_strengthening_removes_rows_on_a_market_driven_problem() -> None:
    # Costs co-move with a common market factor: most scenarios cannot overrun at all.
    problem = DesignProblem(
        synthetic_segments(8, 32, 500, seed=1), budget=800.0, alpha=0.05, risk="chance"
    )
    cost = np.concatenate([c.cost for c in problem.segments.values()])
    rows = chance_rows(cost, _offsets(problem), problem.budget, problem.allowed_overruns)
    dearest = cost.reshape(8, 32, 500).max(axis=1).sum(axis=0) - problem.budget
    assert np.sum(dearest > 0) >= 490  # the textbook model gives nearly every scenario a z
    assert len(rows.soft) < 0.6 * 500
    assert np.median(rows.big_m) < 0.3 * np.median(dearest[rows.soft])
    assert rows.dominance
    assert rows.star


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_forced_overruns_are_overrun_by_every_better_design(seed: int) -> None:
    problem = _problem(seed)
    _, best = exhaustive_best(problem)
    lower = best - 30.0
    forced = forced_overruns(problem, lower)
    for choice in choices(problem):
        figures = assess(problem, choice)
        if figures["feasible"] and figures["objective"] > lower:
            cost = program_cost(problem, choice)
            assert np.all(cost[forced] > problem.budget + figures["reserve"] - 1e-9)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(1, 10_000),
    budget=st.floats(280.0, 380.0),
    alpha=st.sampled_from([0.05, 0.1, 0.25]),
    margin=st.floats(0.0, 20.0),
)
# A scenario whose k dominators make it unable to overrun still needs its own row.
@example(seed=1510, budget=330.0, alpha=0.1, margin=1.0)
def test_the_subset_models_prove_the_exhaustive_optimum(
    seed: int, budget: float, alpha: float, margin: float
) -> None:
    # Subsets of k + 10 of the 40 scenarios: the models are relaxations, grown until exact.
    problem = _problem(seed, budget=budget, alpha=alpha)
    problem.tail_margin = margin
    best, best_value = exhaustive_best(problem)
    lazy = _lazy_chance(problem, np.array([], dtype=int), "highs", 30.0, 1e-6, False)
    if best is None:
        assert not lazy.choice
        return
    assert lazy.outcome.startswith("optimal")
    assert assess(problem, lazy.choice)["feasible"]
    assert assess(problem, lazy.choice)["objective"] == pytest.approx(best_value, abs=1e-6)
    assert lazy.bound == pytest.approx(best_value, abs=1e-6)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(1, 10_000), budget=st.floats(300.0, 380.0), margin=st.floats(0.0, 20.0))
@example(seed=1510, budget=330.0, margin=1.0)
def test_the_second_phase_proves_the_exhaustive_optimum(
    seed: int, budget: float, margin: float
) -> None:
    problem = _problem(seed, budget=budget)
    problem.tail_margin = margin
    best, best_value = exhaustive_best(problem)
    feasible = [c for c in choices(problem) if assess(problem, c)["feasible"]]
    assume(best is not None and len(feasible) > 1)
    # A first phase that stopped with the worst design and a loose bound.
    worse = min(feasible, key=lambda c: assess(problem, c)["objective"])
    first = Solution("time_limit", "HiGHS", gap=0.5, bound=best_value + 100.0, choice=worse)
    solution = _force_and_resolve(problem, first, "highs", 30.0, 1e-6, False)
    assert solution.status == "optimal"
    assert assess(problem, solution.choice)["objective"] == pytest.approx(best_value, abs=1e-6)
    assert solution.gap is not None
    assert solution.gap <= 1e-6
    assert "forced to overrun" in solution.detail


@pytest.mark.parametrize("budget", [250.0, 330.0])
def test_a_first_phase_without_a_design_still_ends_with_the_exhaustive_answer(
    budget: float,
) -> None:
    problem = _problem(2, budget=budget)
    best, best_value = exhaustive_best(problem)
    first = Solution("time_limit", "HiGHS", detail="no feasible design found")
    solution = _force_and_resolve(problem, first, "highs", 30.0, 1e-6, False)
    if best is None:
        assert solution.status == "infeasible"
        assert not solution.has_design
        return
    assert solution.status == "optimal"
    assert assess(problem, solution.choice)["objective"] == pytest.approx(best_value, abs=1e-6)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(1, 10_000), budget=st.floats(300.0, 380.0))
def test_improving_a_design_ends_at_a_local_optimum_no_worse(seed: int, budget: float) -> None:
    problem = _problem(seed, budget=budget)
    feasible = [c for c in choices(problem) if assess(problem, c)["feasible"]]
    assume(feasible)
    start = min(feasible, key=lambda c: assess(problem, c)["objective"])
    better = improved(problem, start)
    value = assess(problem, better)["objective"]
    assert assess(problem, better)["feasible"]
    assert value >= assess(problem, start)["objective"]
    for g, coef in problem.segments.items():
        for c in range(coef.n_candidates):
            figures = assess(problem, better | {g: c})
            assert not figures["feasible"] or figures["objective"] <= value + 1e-9


def test_a_short_time_limit_still_reports_time_limit_with_a_proven_gap() -> None:
    problem = DesignProblem(
        synthetic_segments(8, 24, 400, seed=5),
        budget=800.0,
        alpha=0.05,
        risk="chance",
        reserve_max=0.0,
    )
    solution = solve(problem, time_limit=1.0)
    if solution.status == "time_limit" and solution.has_design:
        assert solution.gap is not None
        assert solution.gap > 1e-6
        assert solution.bound is not None
        assert solution.bound >= solution.objective - 1e-6
    assert solution.status in ("time_limit", "optimal")
