"""From an optimisation file to a validated design, on a tiny real simulation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from opt_synthetic import exhaustive_best

from incentsim.optimizer import optimize
from incentsim.optimizer.coefficients import design_problem, resolve_settings
from incentsim.optimizer.evaluate import simulate_candidates
from incentsim.optimizer.milp import solve
from incentsim.optimizer.space import generate_candidates
from incentsim.optimizer.spec import OptimizationSpecError, spec_from_dict
from incentsim.optimizer.validate import compare
from incentsim.scenario.loader import load_scenario

SCENARIOS = Path(__file__).parents[2] / "scenarios"

#: A tiny version of the bundled optimisation: 30 partners, two quarters, 10 scenarios.
TINY = {
    "scenario": str(SCENARIOS / "optimize_base.yaml"),
    "overrides": ["population.partners=30", "calendar.horizon_periods=2"],
    "levers": [
        {"path": "program.tiers.silver.rebate_rate", "values": [0.015, 0.03]},
        {"path": "program.partner_cap", "values": [20000, 60000]},
    ],
    "budget": 400_000,
    "alpha": 0.2,
    "risk": "cvar",
    "loyalty_value": 5000,
    "reserve": {"max": 300_000, "carrying_cost": 0.05},
    "floors": {"retention": 0.5},
    "replications": 10,
    "validation_replications": 10,
    "seed": 5,
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("optimize-cache")


def _tiny(**changes):
    return spec_from_dict({**TINY, **changes}, SCENARIOS / "tiny_optimisation.yaml")


def test_milp_choice_equals_exhaustive_search_on_simulated_candidates(cache: Path) -> None:
    spec = _tiny()
    base = load_scenario(spec.scenario_path, spec.overrides)
    space = generate_candidates(spec, base)
    sim = simulate_candidates(
        base, space, spec.replications, spec.seed, cache_dir=cache, progress=False
    )
    for risk, budget in (("cvar", 400_000.0), ("chance", 300_000.0), ("none", 250_000.0)):
        settings = resolve_settings(spec, base, budget=budget, risk=risk)
        problem = design_problem(spec, sim, settings)
        best, value = exhaustive_best(problem)
        assert best is not None
        solution = solve(problem)
        assert solution.status == "optimal"
        assert solution.choice == best
        assert solution.objective == pytest.approx(value, rel=1e-9)


def test_common_random_numbers_and_the_cache(cache: Path) -> None:
    spec = _tiny()
    base = load_scenario(spec.scenario_path, spec.overrides)
    space = generate_candidates(spec, base)
    first = simulate_candidates(base, space, 10, 5, cache_dir=cache, progress=False)
    again = simulate_candidates(base, space, 10, 5, progress=False)  # no cache: simulates anew
    assert again.simulated == space.n_candidates
    for g in space.segments:
        np.testing.assert_array_equal(
            first.data[g]["incentive_cost"], again.data[g]["incentive_cost"]
        )
    wider = _tiny(
        levers=[*TINY["levers"], {"path": "program.tiers.gold.rebate_rate", "values": [0.03, 0.04]}]
    )
    wider_space = generate_candidates(wider, base)
    rerun = simulate_candidates(base, wider_space, 10, 5, cache_dir=cache, progress=False)
    assert rerun.cached > 0
    assert rerun.simulated > 0
    assert rerun.simulated == wider_space.n_candidates - rerun.cached
    # Common random numbers: a candidate's revenue moves with the market of each scenario, so
    # two designs' costs are strongly correlated across scenarios.
    data = first.data["reseller"]["revenue_net"]
    assert np.corrcoef(data[0], data[-1])[0, 1] > 0.9


def test_optimize_writes_a_design_that_loads_and_is_validated(cache: Path, tmp_path: Path) -> None:
    result = optimize(_tiny(), out_dir=tmp_path, cache_dir=cache, progress=False)
    assert result.solution.status == "optimal"
    assert result.solution.solver == "HiGHS"
    design = load_scenario(result.files["design"])
    reserve = result.solution.reserve
    assert design.program.budget.per_period == pytest.approx(400_000 / 2)
    assert design.program.budget.reserve.initial == pytest.approx(reserve)
    for g, candidate in result.chosen.items():
        program = design.program.resolved(g)
        expected = candidate.settings.get("program.partner_cap", result.base.program.partner_cap)
        assert program.partner_cap == expected
    validation = result.validation
    assert validation is not None
    assert validation.replications == 10
    names = [c.name for c in validation.comparisons]
    assert names == ["objective", "incentive_cost", "overrun_probability", "retention"]
    assert validation.seed["seed"]["spawn_key"][0] == 2**31 - 1  # a fresh stream
    for name in ("report", "json", "candidates", "validation"):
        assert result.files[name].is_file()
    text = result.files["report"].read_text()
    assert "HiGHS: optimal" in text
    assert "promised" in text
    assert "realised" in text


def test_infeasible_optimisation_names_the_budget(cache: Path, tmp_path: Path) -> None:
    invalid = {"name": "falling_rates", "program.tiers.silver.rebate_rate": 0.5}
    result = optimize(
        _tiny(budget=1000, candidates=[invalid]), out_dir=tmp_path, cache_dir=cache, progress=False
    )
    assert result.solution.status == "infeasible"
    assert result.design is None
    assert "design" not in result.files
    diagnosis = result.solution.diagnosis
    assert diagnosis is not None
    assert "budget" in diagnosis.culprits
    assert diagnosis.minimum_budget is not None
    assert diagnosis.minimum_budget > 1000
    assert "smallest budget" in result.report()
    assert "1 candidate design skipped before simulation as invalid programs" in result.report()
    fixed = optimize(
        _tiny(budget=diagnosis.minimum_budget * 1.01, validation_replications=0),
        cache_dir=cache,
        progress=False,
    )
    assert fixed.solution.status == "optimal"


def test_compare_flags_a_promise_beyond_noise() -> None:
    rng = np.random.default_rng(0)
    realised = rng.normal(100.0, 10.0, 200)
    assert compare("objective", rng.normal(100.0, 10.0, 200), realised).agree
    assert not compare("objective", rng.normal(110.0, 10.0, 200), realised).agree
    overrun = compare("overrun_probability", np.zeros(100), (rng.random(200) < 0.3).astype(float))
    assert overrun.probability
    assert not overrun.agree
    assert 0.2 < overrun.realised_low < overrun.realised < overrun.realised_high < 0.4


def test_top_level_optimize_is_the_function_even_after_the_package_is_imported(
    tmp_path: Path,
) -> None:
    import incentsim
    import incentsim.optimizer

    assert incentsim.optimize is incentsim.optimizer.optimize
    with pytest.raises(OptimizationSpecError, match="cannot read the file"):
        incentsim.optimize(tmp_path / "missing.yaml")


#: One tier's benefit as a hand-listed choice: none, or a sales-training package that lifts
#: win rates and costs the vendor per partner and period.
TRAINING = "program.tiers.silver.benefits.training"


def _benefit_choice(cost: float) -> dict:
    return {
        **TINY,
        "overrides": [*TINY["overrides"], f"{TRAINING}.win_rate_uplift=0"],
        "levers": [],
        "include_base": False,
        "candidates": [
            {"name": "none", f"{TRAINING}.win_rate_uplift": 0.0},
            {
                "name": "training",
                f"{TRAINING}.win_rate_uplift": 0.03,
                f"{TRAINING}.cost_per_partner": cost,
            },
        ],
        "budget": 2_000_000,
        "floors": {},
    }


def _chosen(cost: float, out: Path, cache: Path) -> set[str]:
    spec = spec_from_dict(_benefit_choice(cost), SCENARIOS / "benefit_choice.yaml")
    result = optimize(spec, out_dir=out, cache_dir=cache, progress=False)
    assert result.solution.status == "optimal"
    segments = result.problem.segments
    return {segments[g].candidates[c] for g, c in result.solution.choice.items()}


def test_a_priced_benefit_is_chosen_only_when_worth_its_cost(tmp_path: Path, cache: Path) -> None:
    # Free, the benefit only helps: some segment takes it.
    assert "training" in _chosen(0.0, tmp_path / "free", cache)
    # At 50,000 per partner and quarter it costs far more than it brings: nobody does.
    assert _chosen(50_000.0, tmp_path / "priced", cache) == {"none"}


def test_optimises_over_real_partners(tmp_path: Path) -> None:
    """A partner file: each segment is simulated on its own rows of the file."""
    from incentsim.montecarlo.history import partner_table, simulate_history
    from incentsim.optimizer.evaluate import segment_counts, segment_scenario

    drawn = load_scenario(SCENARIOS / "optimize_base.yaml", [*TINY["overrides"]])
    table = partner_table(simulate_history(drawn).transactions, drawn.calendar)
    table = table[~table["partner_id"].str.startswith("recruit-")]
    table.to_csv(tmp_path / "partners.csv", index=False)
    overrides = [*TINY["overrides"], f"population.source={tmp_path / 'partners.csv'}"]
    overrides[0] = f"population.partners={len(table)}"
    spec = _tiny(overrides=overrides, replications=5, validation_replications=5)
    base = load_scenario(spec.scenario_path, spec.overrides)
    counts = segment_counts(base)
    assert counts == table["segment"].value_counts().to_dict()
    alone = segment_scenario(base, "reseller", None, tmp_path / "cut")
    assert alone.population.partners == counts["reseller"]
    assert Path(alone.population.source).parent == tmp_path / "cut"
    result = optimize(spec, out_dir=tmp_path / "opt", cache_dir=tmp_path / "cache", progress=False)
    assert result.feasible
    assert list((tmp_path / "cache" / "partners").glob("partners-*.csv"))
