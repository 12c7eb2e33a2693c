"""A refresh's rates as an optimiser lever: a value a version changes, chosen per segment and
written into the version's override for that segment."""

from __future__ import annotations

from pathlib import Path

import pytest

from incentsim.optimizer import optimize
from incentsim.optimizer.evaluate import simulate_candidates
from incentsim.optimizer.space import generate_candidates, segment_program
from incentsim.optimizer.spec import OptimizationSpecError, spec_from_dict
from incentsim.program.spec import Program
from incentsim.program.versions import timeline
from incentsim.scenario.loader import load_scenario

SCENARIOS = Path(__file__).parents[2] / "scenarios"
LEVER = "program.versions.refresh.changes.tiers.platinum.rebate_rate"

#: The bundled base with a refresh from the second quarter that raises platinum's rate, whose
#: new rate the optimiser chooses per segment.
SPEC = {
    "scenario": str(SCENARIOS / "optimize_base.yaml"),
    "overrides": [
        "population.partners=30",
        "calendar.horizon_periods=3",
        "program.versions.refresh={effective_period: 1, changes: {tiers: {platinum: "
        "{rebate_rate: 0.05}}}}",
    ],
    "levers": [{"path": LEVER, "values": [0.04, 0.08]}],
    "budget": 600_000,
    "alpha": 0.2,
    "risk": "cvar",
    "loyalty_value": 5000,
    "floors": {},
    "replications": 8,
    "validation_replications": 8,
    "seed": 5,
}


def test_a_segment_design_sets_the_refresh_for_that_segment_only() -> None:
    base = load_scenario(SCENARIOS / "optimize_base.yaml", SPEC["overrides"])
    override = {
        "versions": {"refresh": {"changes": {"tiers": {"platinum": {"rebate_rate": 0.08}}}}}
    }
    data = segment_program(base.program, "reseller", override)
    program = Program.model_validate(data)
    refresh = timeline(program)[1].program
    assert refresh.resolved("reseller").tiers["platinum"].rebate_rate == 0.08
    assert refresh.resolved("system_integrator").tiers["platinum"].rebate_rate == 0.05
    assert timeline(program)[0].program.resolved("reseller").tiers["platinum"].rebate_rate == (
        base.program.tiers["platinum"].rebate_rate
    )


def test_a_segment_design_is_set_by_paths_even_for_a_segment_name_with_a_dot() -> None:
    base = load_scenario(SCENARIOS / "optimize_base.yaml", SPEC["overrides"])
    override = {
        "tiers": {"gold": {"rebate_rate": 0.038}},
        "versions": {"refresh": {"changes": {"tiers": {"platinum": {"rebate_rate": 0.08}}}}},
    }
    program = Program.model_validate(segment_program(base.program, "north.america", override))
    assert program.resolved("north.america").tiers["gold"].rebate_rate == 0.038
    assert program.resolved("reseller").tiers["gold"].rebate_rate == (
        base.program.resolved("reseller").tiers["gold"].rebate_rate
    )
    refresh = timeline(program)[1].program
    assert refresh.resolved("north.america").tiers["platinum"].rebate_rate == 0.08


def test_the_refresh_rate_is_a_lever_per_segment(tmp_path: Path) -> None:
    spec = spec_from_dict(SPEC, SCENARIOS / "refresh_optimisation.yaml")
    base = load_scenario(spec.scenario_path, spec.overrides)
    space = generate_candidates(spec, base)
    assert space.n_dropped == 0
    sim = simulate_candidates(base, space, 8, 5, cache_dir=tmp_path / "cache", progress=False)
    for segment in space.segments:
        cost = sim.data[segment]["incentive_cost"].mean(axis=1)
        by_rate = {
            c.settings.get(LEVER, 0.05): cost[i] for i, c in enumerate(space.candidates[segment])
        }
        # The same replications (common random numbers): a richer refresh costs more.
        assert by_rate[0.04] < by_rate[0.05] < by_rate[0.08], (segment, by_rate)
    result = optimize(spec, out_dir=tmp_path / "opt", cache_dir=tmp_path / "cache", progress=False)
    assert result.solution.status == "optimal"
    design = load_scenario(result.files["design"])
    refresh = timeline(design.program)[1].program
    for segment, candidate in result.chosen.items():
        chosen = candidate.settings.get(LEVER, 0.05)
        assert refresh.resolved(segment).tiers["platinum"].rebate_rate == pytest.approx(chosen)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("program.versions.refresh.effective_period", "a version's dates are the same"),
        (
            "program.versions.refresh.changes.segment_overrides.reseller.partner_cap",
            "it cannot name an override",
        ),
        ("program.contingent.relief.budget_scale", "a contingent rule is one program-wide"),
    ],
)
def test_levers_a_version_cannot_take_are_refused(path: str, message: str) -> None:
    with pytest.raises(OptimizationSpecError, match=message):
        spec_from_dict({**SPEC, "levers": [{"path": path, "values": [1, 2]}]}, "x.yaml")
