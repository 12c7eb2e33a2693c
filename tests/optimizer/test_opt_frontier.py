"""The trade-off frontier: the MILP re-solved over a sweep of one constraint (the budget, or a
floor on retention, fairness or revenue), reusing every simulation."""

from __future__ import annotations

import copy
import functools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from opt_synthetic import exhaustive_best, synthetic_segments
from test_opt_pipeline import _tiny

from incentsim.cli import main
from incentsim.optimizer import optimize
from incentsim.optimizer.frontier import design_figures, trace_frontier
from incentsim.optimizer.milp import DesignProblem, solve
from incentsim.optimizer.spec import FrontierSpec, OptimizationSpecError
from incentsim.report import optimization_report

PARTNERS = {"segment0": 10, "segment1": 20, "segment2": 30}

#: The problem field each floor measure sets, and floors spanning slack to infeasible.
FLOORS = {
    "retention": ("program_retention_floor", [0.80, 0.86, 0.88, 0.90, 0.92, 0.94, 0.97]),
    "fairness": ("small_partner_share", [0.05, 0.08, 0.10, 0.12, 0.15, 0.18, 0.30]),
}


def _problem(seed: int) -> DesignProblem:
    return DesignProblem(
        synthetic_segments(3, 5, 40, seed=seed),
        budget=330.0,
        reserve_max=40.0,
        carrying_cost=0.5,
        partners=dict(PARTNERS),
    )


def _floors(problem: DesignProblem, measure: str) -> tuple[str, list[float]]:
    if measure != "revenue":
        return FLOORS[measure]
    unconstrained = solve(problem)
    revenue = design_figures(problem, unconstrained.choice)["revenue"]
    return "revenue_floor", [revenue - 500.0, revenue, revenue + 100.0, revenue + 300.0, 1e6]


def test_frontier_points_are_the_milp_at_each_budget() -> None:
    problem = DesignProblem(
        synthetic_segments(3, 5, 40, seed=4), budget=300.0, reserve_max=40.0, carrying_cost=0.5
    )
    problem.partners = {g: 10 * (i + 1) for i, g in enumerate(problem.segments)}
    budgets = [50.0, 250.0, 300.0, 350.0, 500.0]
    frontier = trace_frontier(problem, "objective", budgets, functools.partial(solve))
    points = frontier.points
    assert frontier.swept == "budget"
    assert [p["budget"] for p in points] == budgets
    assert points[0]["status"] == "infeasible"
    assert math.isnan(points[0]["objective"])
    assert not points[0]["dominated"]
    feasible = [p for p in points if p["status"] == "optimal"]
    assert len(feasible) >= 3
    objectives = [p["objective"] for p in feasible]
    assert objectives == sorted(objectives)  # more budget never makes the best design worse
    at_file_budget = next(p for p in points if p["budget"] == 300.0)
    assert at_file_budget["objective"] == pytest.approx(solve(problem).objective, rel=1e-9)
    assert all(p["expected_cost"] <= p["budget"] * (1 + 1e-6) for p in feasible)
    assert problem.budget == 300.0  # the problem itself is left as it was
    assert frontier.base is None  # the synthetic candidates have no base design


@pytest.mark.parametrize("seed", [4, 5, 6])
@pytest.mark.parametrize("measure", ["retention", "fairness", "revenue"])
def test_each_floor_s_point_is_exhaustive_search_at_that_floor(measure: str, seed: int) -> None:
    problem = _problem(seed)
    field, floors = _floors(problem, measure)
    frontier = trace_frontier(problem, measure, floors, solve)
    assert frontier.swept == f"{measure}_floor"
    statuses = []
    for floor, point in zip(floors, frontier.points, strict=True):
        assert point[f"{measure}_floor"] == floor
        at = copy.copy(problem)
        setattr(at, field, floor)
        best, value = exhaustive_best(at)
        statuses.append(point["status"])
        if best is None:
            assert point["status"] == "infeasible"
            assert point["design"] == ""
            continue
        assert point["status"] == "optimal"
        assert point["objective"] == pytest.approx(value, rel=1e-9)
        assert point == {**point, **design_figures(at, best, value), "reserve": point["reserve"]}
        assert point[frontier.figure] >= floor - 1e-9  # the floor holds
    assert statuses[0] == "optimal"
    assert statuses[-1] == "infeasible"
    assert getattr(problem, field) is None  # the problem itself is left as it was


@pytest.mark.parametrize("seed", [4, 5, 6])
@pytest.mark.parametrize("measure", ["retention", "fairness", "revenue"])
def test_the_front_is_monotone_and_its_dominance_marks_are_right(measure: str, seed: int) -> None:
    problem = _problem(seed)
    _, floors = _floors(problem, measure)
    frontier = trace_frontier(problem, measure, floors, solve)
    feasible = [p for p in frontier.points if p["design"]]
    # A higher floor only removes designs, so the objective never rises; once infeasible,
    # every higher floor is too.
    objectives = [p["objective"] for p in feasible]
    assert objectives == sorted(objectives, reverse=True)
    assert frontier.points[: len(feasible)] == feasible
    figure = frontier.figure
    for p in feasible:
        beaten = [
            q
            for q in feasible
            if q["expected_cost"] <= p["expected_cost"]
            and q[figure] >= p[figure]
            and (q["expected_cost"], q[figure]) != (p["expected_cost"], p[figure])
        ]
        assert p["dominated"] == bool(beaten)
    # Along the points not dominated, more of the measure costs more.
    front = sorted({(p["expected_cost"], p[figure]) for p in feasible if not p["dominated"]})
    assert all(np.diff([m for _, m in front]) > 0)


def test_the_chosen_design_s_figures_are_carried() -> None:
    problem = _problem(4)
    solution = solve(problem)
    frontier = trace_frontier(problem, "retention", [0.8, 0.9], solve, chosen=solution.choice)
    assert frontier.chosen == design_figures(problem, solution.choice)
    assert frontier.chosen["objective"] == pytest.approx(solution.objective, rel=1e-9)
    assert json.loads(json.dumps(frontier.to_dict()))["measure"] == "retention"


def test_frontier_spec() -> None:
    assert FrontierSpec(range=(1.0, 3.0), points=3).values() == [1.0, 2.0, 3.0]
    assert FrontierSpec(budgets=[3.0, 1.0, 3.0]).values() == [1.0, 3.0]
    retention = FrontierSpec(measure="retention", range=(0.8, 0.9), points=3)
    assert retention.values() == pytest.approx([0.8, 0.85, 0.9])
    assert FrontierSpec(measure="fairness", floors=[0.1, 0.0]).values() == [0.0, 0.1]
    with pytest.raises(OptimizationSpecError, match="exactly one of 'budgets' or 'range'"):
        _tiny(frontier={"points": 4})


@pytest.mark.parametrize(
    ("frontier", "message"),
    [
        ({"measure": "retention", "range": [0.5, 1.2]}, r"0 <= low < high <= 1 \(retention"),
        ({"measure": "fairness", "floors": [0.1, 2.0]}, "a fairness floor is a share"),
        ({"measure": "retention", "budgets": [1e5, 2e5]}, "'budgets' does not go with"),
        ({"floors": [0.5]}, "'floors' does not go with measure: objective"),
        ({"measure": "revenue", "range": [0.0, 1e6]}, "range: give 0 < low < high"),
        ({"measure": "retention"}, "exactly one of 'floors' or 'range'"),
        ({"measure": "loyalty", "range": [0.5, 0.9]}, "measure"),
        ({"budgets": [1e5, 2e5], "points": 3}, "'points' goes with 'range', not with 'budgets'"),
    ],
)
def test_a_bad_frontier_names_the_field(frontier: dict, message: str) -> None:
    with pytest.raises(OptimizationSpecError, match=message) as caught:
        _tiny(frontier=frontier)
    assert "frontier" in str(caught.value)


def test_a_bad_frontier_exits_2_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _tiny()
    path = tmp_path / "opt.yaml"
    path.write_text(json.dumps({**spec.model_dump(mode="json", exclude_unset=True)}))
    code = main(
        ["optimize", str(path), "--set", "frontier={measure: retention, range: [0.5, 1.5]}"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "frontier" in err
    assert "retention floors are shares" in err
    assert "Traceback" not in err


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


def test_optimize_traces_a_retention_frontier(tmp_path: Path) -> None:
    result = optimize(
        _tiny(
            frontier={"measure": "retention", "range": [0.5, 1.0], "points": 6},
            validation_replications=0,
            stability_resamples=0,
        ),
        out_dir=tmp_path / "out",
        cache_dir=tmp_path / "cache",
        progress=False,
    )
    frontier = result.frontier
    assert frontier is not None
    assert frontier.measure == "retention"
    points = frontier.points
    assert [p["retention_floor"] for p in points] == pytest.approx([0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    assert points[0]["status"] == "optimal"  # the file's own floors are 0.5 per segment
    assert points[0]["objective"] == pytest.approx(result.solution.objective, rel=1e-9)
    assert points[-1]["status"] == "infeasible"  # nobody keeps every partner for sure
    feasible = [p for p in points if p["design"]]
    assert all(p["retention"] >= p["retention_floor"] - 1e-9 for p in feasible)
    assert 0.5 < feasible[0]["retention"] <= 1.0
    # The base design is a candidate in every segment (include_base), so it is marked.
    assert frontier.base is not None
    assert frontier.chosen is not None
    assert frontier.chosen["objective"] == pytest.approx(result.solution.objective, rel=1e-9)
    header = result.files["frontier"].read_text().splitlines()[0]
    assert header.startswith("retention_floor,status,objective,expected_cost,reserve,")
    assert "small_partner_share" in header
    assert header.endswith("dominated")
    text = result.report()
    assert "expected cost against retention" in text
    assert "base design: expected cost" in text
    page = optimization_report(result, tmp_path / "report.html", compare_base=False)
    html = page.read_text()
    assert "Expected cost against retention" in html
    assert "retention floor" in html
    assert html.count("<img") >= 2  # the frontier's chart and the candidates'
