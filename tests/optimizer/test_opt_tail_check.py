"""The fresh tail check: a design whose tail is worse on fresh runs is replaced, or the result
says none passed; the tail margin and the excluded designs it leaves are exact (brute force)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from opt_synthetic import exhaustive_best, synthetic_segments
from test_opt_pipeline import _tiny

from incentsim.optimizer.milp import (
    DesignProblem,
    assess,
    choices,
    program_cost,
    solve,
    tail_measure,
)
from incentsim.optimizer.spec import OptimizationSpecError
from incentsim.optimizer.tail_check import check_tail, tail_check_replications


def _problem(seed: int = 1, risk: str = "cvar", **changes: float) -> DesignProblem:
    figures = {"budget": 330.0, "alpha": 0.1, "reserve_max": 40.0, "carrying_cost": 0.5}
    return DesignProblem(
        synthetic_segments(3, 5, 40, seed=seed),
        risk=risk,
        **(figures | changes),  # type: ignore[arg-type]
    )


def _ids(problem: DesignProblem) -> dict[str, list[str]]:
    return {g: coef.candidates for g, coef in problem.segments.items()}


def _resolve(problem: DesignProblem):
    return solve(problem, time_limit=30.0, diagnose_infeasible=False)


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(1, 10_000),
    risk=st.sampled_from(["cvar", "chance"]),
    margin=st.floats(0.0, 30.0),
    excluded=st.integers(0, 3),
)
# A scenario whose k dominators make it unable to overrun still needs its own row.
@example(seed=1510, risk="chance", margin=1.0, excluded=0)
def test_margin_and_exclusions_give_the_exhaustive_optimum(
    seed: int, risk: str, margin: float, excluded: int
) -> None:
    problem = _problem(seed, risk)
    problem.tail_margin = margin
    ranked = sorted(choices(problem), key=lambda c: -assess(problem, c)["objective"])
    problem.excluded = [dict(c) for c in ranked[:excluded]]
    best, best_value = exhaustive_best(problem)
    solution = _resolve(problem)
    if best is None:
        assert not solution.has_design
        return
    assert solution.status == "optimal"
    assert solution.choice not in problem.excluded
    assert solution.objective == pytest.approx(best_value, rel=1e-6, abs=1e-6)
    # The reserve covers the in-sample tail plus the margin.
    tail = tail_measure(problem, program_cost(problem, solution.choice))
    assert solution.reserve == pytest.approx(max(0.0, tail + margin - problem.budget), abs=1e-6)


def test_a_design_whose_fresh_tail_agrees_is_kept_with_its_reserve() -> None:
    problem = _problem()
    first = _resolve(problem)

    def same(choice: Mapping[str, int], reserve: float) -> np.ndarray:
        return program_cost(problem, choice)

    _, kept, record = check_tail(problem, first, same, _ids(problem), 5, 40, _resolve)
    assert record.passed
    assert len(record.tries) == 1
    assert kept.choice == first.choice
    assert kept.reserve == pytest.approx(first.reserve)
    assert "passed" in record.message


def test_an_optimistic_tail_moves_to_a_design_held_to_the_margin_seen() -> None:
    problem = _problem(reserve_max=40.0)
    first = _resolve(problem)
    worse = 60.0  # the first choice's fresh tail: more than the reserve maximum allows

    def fresh(choice: Mapping[str, int], reserve: float) -> np.ndarray:
        cost = program_cost(problem, choice)
        return cost + worse if dict(choice) == first.choice else cost + 5.0

    checked, kept, record = check_tail(problem, first, fresh, _ids(problem), 5, 40, _resolve)
    assert [t["kept"] for t in record.tries] == [False, True]
    assert record.passed
    assert kept.choice != first.choice
    assert checked.excluded == [first.choice]
    assert checked.tail_margin == pytest.approx(worse)  # the optimism seen on the first
    # The kept design meets its fresh tail with the reserve it is given.
    fresh_tail = tail_measure(problem, program_cost(problem, kept.choice) + 5.0)
    assert kept.reserve >= fresh_tail - problem.budget - 1e-9
    assert kept.reserve <= problem.reserve_max + 1e-9
    # The objective is charged for the reserve actually held.
    value = sum(problem.segments[g].value[c].mean() for g, c in kept.choice.items())
    assert kept.objective == pytest.approx(value - problem.carrying_cost * kept.reserve)


def test_when_no_design_passes_the_result_says_so() -> None:
    problem = _problem()
    first = _resolve(problem)
    extra = {}

    def hopeless(choice: Mapping[str, int], reserve: float) -> np.ndarray:
        key = tuple(choice.values())
        extra.setdefault(key, 100.0 + 10.0 * len(extra))  # each later design worse
        return program_cost(problem, choice) + extra[key]

    _, kept, record = check_tail(problem, first, hopeless, _ids(problem), 3, 40, _resolve)
    assert not record.passed
    assert 1 <= len(record.tries) <= 3  # the margin may leave no design to try
    assert "FAILED" in record.message
    assert kept.choice == first.choice  # the one that came closest
    assert kept.reserve == pytest.approx(problem.reserve_max)
    assert [t["kept"] for t in record.tries] == [True] + [False] * (len(record.tries) - 1)


def test_default_replications_hold_twenty_tail_scenarios() -> None:
    assert tail_check_replications(50, 0.1) == 200
    assert tail_check_replications(500, 0.1) == 500
    assert tail_check_replications(50, 0.05) == 400


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"risk": "none"}, "no tail limit to check"),
        ({"robust": {}}, "use one of tail_check or robust"),
        ({"tail_check": {"attempts": 0}}, "tail_check.attempts"),
    ],
)
def test_bad_tail_check_settings_name_the_field(changes: dict, message: str) -> None:
    with pytest.raises(OptimizationSpecError, match=message):
        _tiny(**({"tail_check": {}} | changes))


def test_the_optimiser_checks_its_choice_on_fresh_joint_runs(tmp_path: Path) -> None:
    from incentsim.optimizer import optimize

    spec = _tiny(
        tail_check={"attempts": 2, "replications": 30},
        validation_replications=0,
        stability_resamples=0,
    )
    result = optimize(spec, cache_dir=tmp_path, progress=False)
    record = result.tail_check
    assert record is not None
    assert record.replications == 30
    assert 1 <= len(record.tries) <= 2
    assert result.solution.reserve is not None
    if record.passed:
        assert result.solution.reserve >= record.tries[-1]["fresh_reserve"] - 1e-6
    assert "Tail check:" in result.report()
    assert result.to_dict()["tail_check"]["replications"] == 30
