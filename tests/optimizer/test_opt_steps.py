"""The optimiser's optional steps: refinement rounds, the coupling loop, robust designs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from opt_synthetic import synthetic_segments
from test_opt_pipeline import TINY, _tiny

from incentsim.cli import main
from incentsim.optimizer.coupling import corrected_problem, couple
from incentsim.optimizer.milp import DesignProblem, assess, choices, draw_objective, solve
from incentsim.optimizer.refine import refinement_space
from incentsim.optimizer.robust import ASSUMPTIONS, assumption_draws
from incentsim.optimizer.space import generate_candidates
from incentsim.optimizer.spec import OptimizationSpecError
from incentsim.scenario.loader import load_scenario

RANGES = [
    {"path": "program.tiers.silver.rebate_rate", "range": [0.01, 0.03], "steps": 3},
    {"path": "program.tiers.gold.rebate_rate", "range": [0.02, 0.05], "steps": 3},
    {"path": "program.partner_cap", "values": [20000, 60000]},
]


# --- refinement ------------------------------------------------------------------------------


def test_refinement_samples_inside_a_shrinking_box_in_tier_order() -> None:
    spec = _tiny(levers=RANGES, refine={"rounds": 2, "candidates": 12, "shrink": 0.5})
    base = load_scenario(spec.scenario_path, spec.overrides)
    space = generate_candidates(spec, base)
    middle = {
        "program.tiers.silver.rebate_rate": 0.02,
        "program.tiers.gold.rebate_rate": 0.035,
        "program.partner_cap": 20000,
    }
    chosen = {
        g: next(c for c in space.candidates[g] if c.settings == middle) for g in space.segments
    }
    centre = chosen["reseller"].settings
    for round_, half in ((1, 0.005), (2, 0.0025)):
        new = refinement_space(spec, base, space, chosen, round_)
        designs = new.candidates["reseller"]
        assert len(designs) >= 6
        known = {c.key for c in space.candidates["reseller"]}
        for c in designs:
            assert c.id.startswith(f"r{round_}.")
            assert c.key not in known
            silver = c.settings["program.tiers.silver.rebate_rate"]
            gold = c.settings["program.tiers.gold.rebate_rate"]
            assert abs(silver - centre["program.tiers.silver.rebate_rate"]) <= half + 1e-9
            assert abs(gold - centre["program.tiers.gold.rebate_rate"]) <= 1.5 * half + 1e-9
            assert silver <= gold
            assert 20000 <= c.settings["program.partner_cap"] <= 60000


def test_refine_needs_a_numeric_lever() -> None:
    with pytest.raises(OptimizationSpecError, match="refine: refinement samples new values"):
        _tiny(
            levers=[{"path": "program.budget.shortfall_policy", "values": ["pro_rata", "defer"]}],
            refine={},
        )


def test_refinement_rounds_never_lower_the_objective(tmp_path: Path) -> None:
    from incentsim.optimizer import optimize

    spec = _tiny(
        levers=RANGES,
        refine={"rounds": 3, "candidates": 4, "tolerance": 0.0},
        stability_resamples=0,
        validation_replications=0,
    )
    result = optimize(spec, cache_dir=tmp_path, progress=False)
    assert result.refinement is not None
    rounds = result.refinement.rounds
    assert rounds[0]["round"] == 0
    assert len(rounds) >= 2
    objectives = [r["objective"] for r in rounds]
    assert objectives == sorted(objectives)
    assert rounds[-1]["candidates"] == result.space.n_candidates
    assert all(r["status"] == "optimal" for r in rounds)
    assert result.solution.objective == pytest.approx(objectives[-1])


# --- coupling --------------------------------------------------------------------------------


def _synthetic(n_scenarios: int = 60, **changes) -> DesignProblem:
    segments = synthetic_segments(3, 5, n_scenarios, seed=4)
    return DesignProblem(segments, budget=1e9, risk="none", **changes)


def test_corrected_problem_charges_each_candidate_per_unit_of_cost() -> None:
    problem = _synthetic()
    corrected = corrected_problem(problem, -0.5, -0.1)
    for g, coef in problem.segments.items():
        new = corrected.segments[g]
        np.testing.assert_allclose(new.value, coef.value - 0.5 * coef.cost)
        np.testing.assert_allclose(new.cost, 0.9 * coef.cost)


def test_coupling_reaches_the_design_the_joint_program_rewards() -> None:
    """A joint program in which every unit of cost loses 3 of value: the loop finds the
    choice that is best with the true coupling, and stops on agreement."""
    problem = _synthetic()
    truth = corrected_problem(problem, -3.0, 0.0)
    best = solve(truth).choice
    first = solve(problem)
    assert first.choice != best  # coupling changes the answer

    def joint(choice, reserve, seed):
        rng = np.random.default_rng(seed)
        value = sum(truth.segments[g].value[c] for g, c in choice.items())
        cost = sum(truth.segments[g].cost[c] for g, c in choice.items())
        noise = rng.normal(0.0, 1.0, len(value))
        return {"objective": value + noise, "incentive_cost": cost + noise}

    ids = {g: c.candidates for g, c in problem.segments.items()}
    _, solution, path = couple(problem, first, joint, ids, 5, 60, 1, solve)
    assert solution.choice == best
    assert path.consistent
    assert len(path.iterations) >= 2
    assert path.iterations[0]["a"] == pytest.approx(-3.0, abs=0.05)
    assert not path.iterations[0]["objective_agrees"]


def test_a_paired_budget_lifted_run_finds_a_budget_effect_hidden_in_population_noise() -> None:
    """Each unit of cost loses 2 of value when the budget is on, and every joint replication
    carries population noise 30 times that effect (the same in the run with the budget lifted,
    which draws the same partners). Compared whole, the joint run agrees with the promise
    within noise and the loop stops at the wrong design; with the lifted run the budget's
    effect is measured to within a tenth and the loop reaches the right design."""
    problem = _synthetic()
    truth = corrected_problem(problem, -2.0, 0.0)
    best = solve(truth).choice
    first = solve(problem)
    assert first.choice != best
    effect = 2.0 * float(np.mean(sum(c.cost.mean() for c in problem.segments.values())))

    def simulate(choice, seed, coefficients):
        population = np.random.default_rng(seed).normal(0.0, 30 * effect, 60)
        value = sum(coefficients.segments[g].value[c] for g, c in choice.items())
        cost = sum(coefficients.segments[g].cost[c] for g, c in choice.items())
        return {"objective": value + population, "incentive_cost": cost}

    def joint(choice, reserve, seed):
        return simulate(choice, seed, truth)

    def lifted(choice, reserve, seed):
        return simulate(choice, seed, problem)

    ids = {g: c.candidates for g, c in problem.segments.items()}
    _, whole, blind = couple(problem, first, joint, ids, 5, 60, 1, solve)
    assert whole.choice == first.choice
    assert blind.iterations[0]["objective_agrees"]
    _, solution, path = couple(problem, first, joint, ids, 5, 60, 1, solve, lifted=lifted)
    assert solution.choice == best
    assert path.consistent
    assert path.iterations[0]["a"] == pytest.approx(-2.0, rel=0.05)
    assert path.iterations[0]["budget_noise"] < 0.1 * effect


def test_the_optimiser_measures_the_budgets_effect_against_a_budget_lifted_twin(
    tmp_path: Path,
) -> None:
    """On simulated programs the paired budget-on/budget-lifted difference is far tighter than
    the unpaired comparison of joint and segment runs."""
    from incentsim.optimizer import optimize

    spec = _tiny(coupling={"iterations": 1}, validation_replications=0, stability_resamples=0)
    result = optimize(spec, cache_dir=tmp_path, progress=False)
    assert result.coupling is not None
    run = result.coupling.iterations[0]
    assert {"budget_objective_effect", "budget_incentive_cost_effect", "budget_agrees"} <= set(run)
    assert 0 < run["budget_noise"] < run["noise"] / 10


def test_coupling_corrects_retention_so_a_floor_is_judged_on_the_joint_figure() -> None:
    """A joint program keeping 2 points fewer partners than the segments alone promise (the
    recruitment and churn that couple segments): with partner counts the loop shifts every
    candidate's retention, and the floor then picks a design that meets it jointly."""
    segments = synthetic_segments(3, 5, 60, seed=4)
    partners = {"segment0": 100, "segment1": 50, "segment2": 50}
    plain = DesignProblem(segments, budget=1e9, risk="none")
    free = solve(plain).choice
    floor = float(segments["segment0"].retention[free["segment0"]]) - 0.01
    problem = dataclasses.replace(plain, retention_floor={"segment0": floor})
    first = solve(problem)
    assert first.choice == free  # the floor does not bind on the promised retention
    shift = -0.02
    truth = corrected_problem(problem, 0.0, 0.0, shift)
    assert not assess(truth, free)["feasible"]  # ...but it does on the joint one

    def joint(choice, reserve, seed):
        rng = np.random.default_rng(seed)
        value = sum(problem.segments[g].value[c] for g, c in choice.items())
        cost = sum(problem.segments[g].cost[c] for g, c in choice.items())
        kept = sum(partners[g] * truth.segments[g].retention[c] for g, c in choice.items())
        retention = kept / sum(partners.values()) + rng.normal(0.0, 0.01, len(value))
        return {"objective": value, "incentive_cost": cost, "retention": retention}

    ids = {g: c.candidates for g, c in problem.segments.items()}
    corrected, solution, path = couple(problem, first, joint, ids, 4, 60, 1, solve, partners)
    first_run = path.iterations[0]
    assert not first_run["retention_agrees"]
    assert first_run["r"] == pytest.approx(shift, abs=0.005)
    assert path.retention_shift == pytest.approx(shift, abs=0.005)
    assert solution.choice != free
    assert assess(truth, solution.choice)["feasible"]
    assert corrected.segments["segment0"].retention == pytest.approx(
        np.clip(problem.segments["segment0"].retention + path.retention_shift, 0, 1)
    )
    # Without partner counts the loop sees no retention and keeps the infeasible choice.
    _, blind, _ = couple(problem, first, joint, ids, 4, 60, 1, solve)
    assert blind.choice == free


# --- robust ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("measure", "alpha"), [("worst_case", 1.0), ("cvar", 0.5), ("expected", 1)]
)
def test_the_robust_milp_maximises_the_measure_over_draws(measure: str, alpha: float) -> None:
    draws = np.repeat(np.arange(4), 15)
    segments = synthetic_segments(3, 4, 60, seed=9)
    rng = np.random.default_rng(2)
    for coef in segments.values():  # each draw favours other candidates
        coef.value = coef.value + rng.normal(0, 40, (coef.n_candidates, 4))[:, draws]
    problem = DesignProblem(
        segments, budget=1e9, risk="none", draws=draws, draw_measure=measure, draw_alpha=alpha
    )
    solution = solve(problem)
    assert solution.status == "optimal"
    scores = {tuple(c.values()): assess(problem, c)["robust_objective"] for c in choices(problem)}
    best = max(scores.values())
    assert scores[tuple(solution.choice.values())] == pytest.approx(best, rel=1e-9)
    assert solution.objective == pytest.approx(best, rel=1e-9)


def test_minimax_regret_minimises_the_largest_shortfall_against_each_draws_best() -> None:
    from incentsim.optimizer.robust import with_draw_best

    draws = np.repeat(np.arange(3), 20)
    segments = synthetic_segments(2, 4, 60, seed=11)
    rng = np.random.default_rng(5)
    for coef in segments.values():
        coef.value = coef.value + rng.normal(0, 60, (coef.n_candidates, 3))[:, draws]
    problem = DesignProblem(segments, budget=1e9, risk="none", draws=draws, draw_measure="regret")
    problem = with_draw_best(problem, solve)
    every = list(choices(problem))
    per_draw = {tuple(c.values()): np.array(assess(problem, c)["draw_objectives"]) for c in every}
    best = np.max(np.stack(list(per_draw.values())), axis=0)
    np.testing.assert_allclose(problem.draw_best, best)
    regret = {k: float(np.max(best - v)) for k, v in per_draw.items()}
    solution = solve(problem)
    assert regret[tuple(solution.choice.values())] == pytest.approx(min(regret.values()))
    assert solution.objective == pytest.approx(-min(regret.values()))


def test_draw_objective_measures() -> None:
    values = np.array([4.0, 1.0, 3.0, 2.0])
    assert draw_objective(values, "expected", 0.5) == 2.5
    assert draw_objective(values, "worst_case", 0.5) == 1.0
    assert draw_objective(values, "cvar", 0.5) == 1.5


def test_assumption_draws_cover_the_documented_ranges() -> None:
    spec = _tiny(robust={"draws": 8, "assumptions": ["churn_slope", "value_weight"]})
    factors, values = assumption_draws(spec, 3)
    assert [f.name for f in factors] == ["churn_slope", "value_weight"]
    assert values.shape == (8, 2)
    for i, f in enumerate(factors):
        assert f.low <= values[:, i].min()
        assert values[:, i].max() <= f.high
        # a Latin hypercube: one draw in each eighth of the range
        bins = np.floor((values[:, i] - f.low) / (f.high - f.low) * 8)
        assert sorted(bins) == list(range(8))
    again = assumption_draws(spec, 3)[1]
    np.testing.assert_array_equal(values, again)


@pytest.mark.parametrize(
    ("robust", "message"),
    [
        ({"assumptions": ["churn_slop"]}, "robust.assumptions: 'churn_slop' is not an uncertain"),
        ({"measure": "median"}, "robust.measure"),
        ({"draws": 1}, "robust.draws"),
    ],
)
def test_bad_robust_settings_name_the_field(robust: dict, message: str) -> None:
    with pytest.raises(OptimizationSpecError) as caught:
        _tiny(robust=robust)
    assert message in str(caught.value)
    if "churn_slop" in message:
        assert "did you mean 'churn_slope'" in str(caught.value)


def test_coupling_and_robust_together_are_refused() -> None:
    with pytest.raises(OptimizationSpecError, match="use one of coupling or robust"):
        _tiny(coupling={}, robust={})


def test_assumptions_are_behaviour_constants_with_ranges() -> None:
    assert "churn_slope" in ASSUMPTIONS
    assert all(f.path.startswith("behaviour.") for f in ASSUMPTIONS.values())


# --- end to end --------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("step", "setting", "section", "table"),
    [
        ("refinement", "refine={rounds: 2, candidates: 3}", "Refinement rounds", "refinement.csv"),
        ("coupling", "coupling={iterations: 2}", "Budget coupling", "coupling.csv"),
        (
            "robustness",
            "robust={draws: 3, assumptions: [churn_slope], measure: regret}",
            "Robust design",
            "robust.csv",
        ),
    ],
)
def test_each_step_runs_from_the_command_line(
    step: str, setting: str, section: str, table: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    spec_file = tmp_path / "tiny.yaml"
    spec_file.write_text(yaml.safe_dump({**TINY, "levers": RANGES, "stability_resamples": 3}))
    out = tmp_path / "out"
    argv = ["optimize", str(spec_file), "--out", str(out), "--no-progress", "--set", setting]
    code = main([*argv, "--cache", str(tmp_path / "cache")])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    summary = json.loads((out / "optimization.json").read_text())
    assert summary[step] is not None
    assert (out / table).is_file()
    assert section in (out / "report.html").read_text()
    header = {"refinement": "Refinement:", "coupling": "Coupling:", "robustness": "Robust design:"}
    assert header[step] in printed.out


def test_a_bad_step_setting_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_file = tmp_path / "tiny.yaml"
    spec_file.write_text(yaml.safe_dump({**TINY, "refine": {"rounds": 0}}))
    assert main(["optimize", str(spec_file), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "tiny.yaml: refine.rounds:" in err
    assert "Traceback" not in err


def test_robust_result_compares_nominal_and_robust_designs(tmp_path: Path) -> None:
    from incentsim.optimizer import optimize

    spec = _tiny(
        levers=RANGES,
        robust={
            "draws": 3,
            "assumptions": ["value_weight", "churn_slope"],
            "measure": "worst_case",
        },
        stability_resamples=0,
        validation_replications=0,
    )
    result = optimize(spec, cache_dir=tmp_path, progress=False)
    robust = result.robustness
    assert robust is not None
    assert result.simulations.replications == 3 * spec.replications
    assert len(robust.nominal["per_draw"]) == 3
    # the robust design is at least as good as the nominal one on its own measure
    assert robust.robust["worst_case"] >= robust.nominal["worst_case"] - 1e-6
    assert set(robust.sensitivity) == {"value_weight", "churn_slope"}
    assert dataclasses.asdict(result.solution)["objective"] == pytest.approx(
        robust.robust["worst_case"] - result.spec.reserve.carrying_cost * result.solution.reserve,
        rel=1e-6,
    )


def test_under_a_robust_objective_the_nominal_design_is_refined_too(tmp_path: Path) -> None:
    from incentsim.optimizer import optimize

    spec = _tiny(
        levers=RANGES,
        refine={"rounds": 2, "candidates": 4, "tolerance": 0.0},
        robust={"draws": 2, "replications": 8, "assumptions": ["churn_slope"]},
        stability_resamples=0,
        validation_replications=0,
    )
    result = optimize(spec, cache_dir=tmp_path, progress=False)
    robustness = result.robustness
    assert robustness is not None
    nominal = robustness.nominal_refinement
    assert nominal is not None
    assert len(nominal.rounds) >= 2  # the nominal design had its own rounds
    objectives = [r["objective"] for r in nominal.rounds]
    assert objectives == sorted(objectives)
    # The compared nominal design is the refined one, and it is among the robust candidates.
    assert robustness.nominal["design"] == nominal.rounds[-1]["design"]
    ids = {g: {c.id for c in result.space.candidates[g]} for g in result.space.segments}
    assert all(c in ids[g] for g, c in robustness.nominal["design"].items())
