"""An award's size as an optimiser lever: a prize per segment, simulated, chosen and written
into the design like any other lever."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from incentsim.optimizer import optimize
from incentsim.optimizer.evaluate import simulate_candidates
from incentsim.optimizer.space import generate_candidates
from incentsim.optimizer.spec import spec_from_dict
from incentsim.scenario.loader import load_scenario

SCENARIOS = Path(__file__).parents[2] / "scenarios"

#: A tiny optimisation of the bundled base with a quarterly award for each segment's top fifth
#: by revenue, whose prize the optimiser chooses per segment.
SPEC = {
    "scenario": str(SCENARIOS / "optimize_base.yaml"),
    "overrides": [
        "population.partners=30",
        "calendar.horizon_periods=2",
        "program.awards.star.metric=revenue",
        "program.awards.star.share=0.2",
        "program.awards.star.prize=1000",
    ],
    "levers": [{"path": "program.awards.star.prize", "values": [0, 2000, 6000]}],
    "budget": 400_000,
    "alpha": 0.2,
    "risk": "cvar",
    "loyalty_value": 5000,
    "floors": {},
    "replications": 8,
    "validation_replications": 8,
    "seed": 5,
}


def test_the_prize_is_a_lever_per_segment(tmp_path: Path) -> None:
    spec = spec_from_dict(SPEC, SCENARIOS / "award_optimisation.yaml")
    base = load_scenario(spec.scenario_path, spec.overrides)
    space = generate_candidates(spec, base)
    assert space.n_dropped == 0
    for segment in space.segments:
        prizes = {c.settings.get("program.awards.star.prize") for c in space.candidates[segment]}
        assert {0, 2000, 6000} <= prizes
    sim = simulate_candidates(base, space, 8, 5, cache_dir=tmp_path / "cache", progress=False)
    for segment in space.segments:
        ids = [c.id for c in space.candidates[segment]]
        cost = sim.data[segment]["incentive_cost"].mean(axis=1)
        by_prize = {
            c.settings.get("program.awards.star.prize", 1000): cost[ids.index(c.id)]
            for c in space.candidates[segment]
        }
        # The same replications (common random numbers): a larger prize costs more.
        assert by_prize[0] < by_prize[1000] < by_prize[2000] < by_prize[6000]
    result = optimize(spec, out_dir=tmp_path / "opt", cache_dir=tmp_path / "cache", progress=False)
    assert result.solution.status == "optimal"
    design = load_scenario(result.files["design"])
    for segment, candidate in result.chosen.items():
        chosen = candidate.settings.get("program.awards.star.prize", 1000)
        assert design.program.resolved(segment).awards["star"].prize == pytest.approx(chosen)
    assert np.isfinite(result.validation.comparisons[0].promised)
