"""Ground truth: on a design space small enough to simulate every whole program (every segment
together, the budget binding and cutting payouts), the optimiser finds the best design."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from incentsim.montecarlo.evaluator import run_montecarlo
from incentsim.optimizer import optimize
from incentsim.optimizer.coefficients import resolve_settings
from incentsim.optimizer.space import generate_candidates
from incentsim.optimizer.spec import OptimizationSpec, spec_from_dict
from incentsim.optimizer.validate import design_scenario, joint_outcomes
from incentsim.scenario.loader import load_scenario

SCENARIOS = Path(__file__).parents[2] / "scenarios"

#: 30 partners over two quarters; two segments choose a tight partner cap (8,000) or keep the
#: base one (60,000); the budget (125,000 a quarter, no reserve) binds for the costlier designs
#: and cuts payouts.
SPACE = {
    "scenario": str(SCENARIOS / "optimize_base.yaml"),
    "overrides": ["population.partners=30", "calendar.horizon_periods=2"],
    "levers": [
        {
            "path": "program.partner_cap",
            "values": [8000, 60000],
            "segments": ["reseller", "system_integrator"],
        }
    ],
    "include_base": True,  # the only candidate of the segment without the lever
    "budget": 250_000,
    "risk": "none",
    "loyalty_value": 5000,
    "reserve": {"max": 0, "carrying_cost": 0.05},
    "replications": 100,
    "validation_replications": 0,
    "stability_resamples": 0,
    "coupling": {"iterations": 2},
}
TRUTH_REPLICATIONS = 200


def _spec(seed: int) -> OptimizationSpec:
    return spec_from_dict({**SPACE, "seed": seed}, SCENARIOS / "ground_truth.yaml")


@pytest.fixture(scope="module")
def truth() -> dict[tuple[str, ...], dict[str, Any]]:
    """Every whole program simulated with the budget on, on one seed (common random numbers):
    per design (candidate id per segment) its objective per replication, cost and cut."""
    spec = _spec(0)
    base = load_scenario(spec.scenario_path, spec.overrides)
    settings = resolve_settings(spec, base)
    space = generate_candidates(spec, base)
    designs = {}
    for picked in itertools.product(*(space.candidates[g] for g in space.segments)):
        chosen = dict(zip(space.segments, picked, strict=True))
        program = design_scenario(base, chosen, settings, 0.0, "truth")
        outcomes = joint_outcomes(spec, program, settings, 0.0, 99, TRUTH_REPLICATIONS)
        cut = run_montecarlo(program, reps=TRUTH_REPLICATIONS, seed=99, progress=False)
        designs[tuple(c.id for c in picked)] = {
            "objective": outcomes["objective"],
            "feasible": outcomes["incentive_cost"].mean() <= settings.budget,
            "cut": float(cut.outcomes["incentive_cut"].mean()),
        }
    return designs


def test_the_ground_truth_is_clear_and_the_budget_binds(truth: dict) -> None:
    feasible = {k: v for k, v in truth.items() if v["feasible"]}
    assert 1 < len(feasible) < len(truth)  # the budget rules designs out
    best = max(feasible, key=lambda k: feasible[k]["objective"].mean())
    assert truth[best]["cut"] > 0  # ...and cuts the best design's payouts
    for other, figures in feasible.items():
        if other != best:
            difference = truth[best]["objective"] - figures["objective"]
            half_width = 1.96 * difference.std(ddof=1) / np.sqrt(len(difference))
            assert difference.mean() > half_width, other  # best beyond noise


@pytest.mark.parametrize("seed", [5, 7])
def test_the_optimiser_finds_the_exhaustive_optimum(truth: dict, seed: int) -> None:
    feasible = {k: v for k, v in truth.items() if v["feasible"]}
    best = max(feasible, key=lambda k: feasible[k]["objective"].mean())
    result = optimize(_spec(seed), progress=False)
    assert result.solution.status == "optimal"
    assert tuple(result.chosen[g].id for g in result.space.segments) == best
