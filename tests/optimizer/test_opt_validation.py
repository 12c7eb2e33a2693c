"""Out of sample: the chance-constrained design keeps its overrun probability within alpha."""

from __future__ import annotations

import numpy as np
import pytest
from test_opt_pipeline import SCENARIOS

from incentsim.montecarlo.seeding import fresh_seed
from incentsim.optimizer.coefficients import design_problem, resolve_settings
from incentsim.optimizer.evaluate import simulate_candidates
from incentsim.optimizer.milp import program_cost, solve
from incentsim.optimizer.space import generate_candidates
from incentsim.optimizer.spec import spec_from_dict
from incentsim.optimizer.validate import design_scenario, promised_outcomes, validate_design
from incentsim.scenario.loader import load_scenario

ALPHA = 0.1


@pytest.mark.slow
def test_chance_constraint_holds_out_of_sample_where_the_unconstrained_optimum_breaches() -> None:
    spec = spec_from_dict(
        {
            "scenario": str(SCENARIOS / "optimize_base.yaml"),
            "levers": [
                {"path": "program.tiers.silver.rebate_rate", "values": [0.015, 0.03]},
                {"path": "program.partner_cap", "values": [30000, 60000]},
            ],
            "reserve": {"max": 1e9, "carrying_cost": 0.05},
            "replications": 100,
            "validation_replications": 300,
            "seed": 3,
        }
    )
    base = load_scenario(spec.scenario_path)
    sim = simulate_candidates(base, generate_candidates(spec, base), 100, 3, progress=False)

    def solved(budget: float, risk: str):
        settings = resolve_settings(spec, base, budget=budget, alpha=ALPHA, risk=risk)
        problem = design_problem(spec, sim, settings)
        solution = solve(problem)
        assert solution.status == "optimal"
        return settings, problem, solution

    # A budget at the 60th percentile of the unconstrained optimum's cost.
    _, problem, solution = solved(1e12, "none")
    budget = float(np.quantile(program_cost(problem, solution.choice), 0.6))
    free_settings, free_problem, free = solved(budget, "none")
    assert free.reserve == 0.0
    assert np.mean(program_cost(free_problem, free.choice) > budget) > 2 * ALPHA
    settings, problem, chance = solved(budget, "chance")
    assert chance.reserve > 0.0
    assert np.mean(program_cost(problem, chance.choice) > budget + chance.reserve) <= ALPHA

    realised = {}
    for name, s, solution in (("free", free_settings, free), ("chance", settings, chance)):
        chosen = {g: sim.candidates[g][c] for g, c in solution.choice.items()}
        design = design_scenario(base, chosen, s, solution.reserve, name)
        promised = promised_outcomes(spec, sim, solution.choice, s, solution.reserve)
        validation = validate_design(
            spec, design, promised, s, solution.reserve, fresh_seed(3, 9), progress=False
        )
        realised[name] = next(c for c in validation.comparisons if c.name == "overrun_probability")
    # The unconstrained optimum breaches alpha beyond sampling error; the chosen design does not.
    assert realised["free"].realised_low > ALPHA
    assert realised["chance"].realised_low <= ALPHA
    assert realised["chance"].realised <= ALPHA + 2 * np.sqrt(ALPHA * (1 - ALPHA) / 100)
