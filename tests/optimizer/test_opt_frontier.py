"""The trade-off frontier: the MILP re-solved over budgets, reusing every simulation."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import pytest
from opt_synthetic import synthetic_segments
from test_opt_pipeline import _tiny

from incentsim.optimizer import optimize
from incentsim.optimizer.frontier import trace_frontier
from incentsim.optimizer.milp import DesignProblem, solve
from incentsim.optimizer.spec import FrontierSpec, OptimizationSpecError


def test_frontier_points_are_the_milp_at_each_budget() -> None:
    problem = DesignProblem(
        synthetic_segments(3, 5, 40, seed=4), budget=300.0, reserve_max=40.0, carrying_cost=0.5
    )
    partners = {g: 10 * (i + 1) for i, g in enumerate(problem.segments)}
    budgets = [50.0, 250.0, 300.0, 350.0, 500.0]
    frontier = trace_frontier(problem, budgets, partners, functools.partial(solve))
    points = frontier.points
    assert [p["budget"] for p in points] == budgets
    assert points[0]["status"] == "infeasible"
    assert math.isnan(points[0]["objective"])
    feasible = [p for p in points if p["status"] == "optimal"]
    assert len(feasible) >= 3
    objectives = [p["objective"] for p in feasible]
    assert objectives == sorted(objectives)  # more budget never makes the best design worse
    at_file_budget = next(p for p in points if p["budget"] == 300.0)
    assert at_file_budget["objective"] == pytest.approx(solve(problem).objective, rel=1e-9)
    assert all(p["expected_cost"] <= p["budget"] * (1 + 1e-6) for p in feasible)
    assert problem.budget == 300.0  # the problem itself is left as it was


def test_frontier_spec() -> None:
    assert FrontierSpec(range=(1.0, 3.0), points=3).values() == [1.0, 2.0, 3.0]
    assert FrontierSpec(budgets=[3.0, 1.0, 3.0]).values() == [1.0, 3.0]
    with pytest.raises(OptimizationSpecError, match="exactly one of 'budgets' or 'range'"):
        _tiny(frontier={"points": 4})


def test_optimize_writes_the_frontier(tmp_path: Path) -> None:
    result = optimize(
        _tiny(
            frontier={"budgets": [150_000, 400_000, 600_000]},
            validation_replications=0,
            stability_resamples=0,
        ),
        out_dir=tmp_path / "out",
        cache_dir=tmp_path / "cache",
        progress=False,
    )
    frontier = result.frontier
    assert frontier is not None
    point = next(p for p in frontier.points if p["budget"] == 400_000)
    assert point["objective"] == pytest.approx(result.solution.objective, rel=1e-9)
    saved = json.loads(result.files["json"].read_text())["frontier"]["points"]
    assert [p["budget"] for p in saved] == [150_000, 400_000, 600_000]
    assert result.files["frontier"].read_text().startswith("budget,status,")
    assert "Trade-off frontier" in result.report()
