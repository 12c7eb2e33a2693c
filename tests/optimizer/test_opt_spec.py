"""Optimisation files: every mistake is an error naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from incentsim.optimizer.coefficients import resolve_settings
from incentsim.optimizer.space import generate_candidates
from incentsim.optimizer.spec import OptimizationSpecError, load_spec, spec_from_dict
from incentsim.scenario.loader import load_scenario

SCENARIOS = Path(__file__).parents[2] / "scenarios"


def _spec(**keys):
    return spec_from_dict({"scenario": str(SCENARIOS / "optimize_base.yaml"), **keys}, "opt.yaml")


def _problems(**keys) -> str:
    with pytest.raises(OptimizationSpecError) as caught:
        _spec(**keys)
    return str(caught.value)


def test_bundled_optimisation_file_validates() -> None:
    spec = load_spec(SCENARIOS / "optimize_demo.yaml")
    base = load_scenario(spec.scenario_path, spec.overrides)
    space = generate_candidates(spec, base)
    assert set(space.candidates) == {"reseller", "system_integrator", "technology_partner"}
    assert all(len(c) >= 8 for c in space.candidates.values())
    settings = resolve_settings(spec, base)
    assert settings.budget == 1_400_000
    assert settings.risk == "cvar"


def test_unknown_key_is_named_with_a_suggestion() -> None:
    message = _problems(budgett=5)
    assert "opt.yaml: budgett: unknown key (did you mean 'budget'?)" in message


def test_lever_outside_the_program_or_on_the_budget_is_refused() -> None:
    assert "levers.0.path" in _problems(levers=[{"path": "market.trend", "values": [1]}])
    message = _problems(levers=[{"path": "program.budget.per_period", "values": [1.0]}])
    assert "cannot be a lever" in message


def test_lever_needs_values_or_range_and_grid_needs_steps() -> None:
    assert "exactly one of 'values' or 'range'" in _problems(
        levers=[{"path": "program.partner_cap"}]
    )
    message = _problems(levers=[{"path": "program.partner_cap", "range": [1, 2]}])
    assert "levers.0: the grid sampler needs 'steps'" in message


def test_out_of_range_alpha_and_risk() -> None:
    assert "opt.yaml: alpha:" in _problems(alpha=1.5)
    assert "opt.yaml: risk:" in _problems(risk="var")


def test_an_unknown_risk_override_is_refused() -> None:
    spec = _spec()
    base = load_scenario(spec.scenario_path)
    with pytest.raises(OptimizationSpecError, match=r"risk: risk must be one of cvar, chance"):
        resolve_settings(spec, base, budget=1e6, risk="var")


def test_hand_listed_candidate_segments_must_be_names() -> None:
    message = _problems(candidates=[{"name": "a", "segments": 5, "program.partner_cap": 1e4}])
    assert "opt.yaml: candidates.0: 'segments' must be a segment name" in message


@pytest.mark.parametrize(
    ("names", "problem"),
    [
        (["a", "a"], r"candidates\.1\.name: 'a' names two candidates"),
        (["base"], r"candidates\.0\.name: 'base' is reserved"),
        (["c001"], r"candidates\.0\.name: 'c001' is reserved .*generated designs"),
    ],
)
def test_hand_listed_candidate_names_are_unique_and_not_reserved(
    names: list[str], problem: str
) -> None:
    spec = _spec(
        levers=[{"path": "program.partner_cap", "values": [1e4, 2e4]}],
        candidates=[{"name": name, "program.partner_cap": 3e4} for name in names],
    )
    with pytest.raises(OptimizationSpecError, match=problem):
        generate_candidates(spec, load_scenario(spec.scenario_path))


def test_latin_hypercube_follows_the_optimisation_seed_else_the_scenario_seed() -> None:
    def sample(base_seed: int, **keys: object) -> list[object]:
        spec = _spec(
            sampler="lhs",
            max_candidates=4,
            levers=[{"path": "program.partner_cap", "range": [1e4, 9e4]}],
            **keys,
        )
        base = load_scenario(spec.scenario_path).model_copy(update={"seed": base_seed})
        space = generate_candidates(spec, base)
        return [c.settings for c in next(iter(space.candidates.values())) if c.id != "base"]

    assert sample(1) == sample(1)
    assert sample(1) != sample(2)
    assert sample(1, seed=5) == sample(2, seed=5) != sample(1)


def test_lever_missing_in_the_base_program() -> None:
    spec = _spec(levers=[{"path": "program.tiers.diamond.rebate_rate", "values": [0.1]}])
    base = load_scenario(spec.scenario_path)
    with pytest.raises(OptimizationSpecError, match=r"levers\.0\.path.*does not exist"):
        generate_candidates(spec, base)


def test_floor_naming_an_unknown_segment() -> None:
    spec = _spec(floors={"retention": {"resellers": 0.8}})
    base = load_scenario(spec.scenario_path)
    with pytest.raises(OptimizationSpecError, match=r"floors\.retention\.resellers"):
        resolve_settings(spec, base)


def test_grid_larger_than_max_candidates() -> None:
    spec = _spec(
        max_candidates=3,
        levers=[{"path": "program.partner_cap", "values": [1e4, 2e4, 3e4, 4e4]}],
    )
    with pytest.raises(OptimizationSpecError, match="max_candidates"):
        generate_candidates(spec, load_scenario(spec.scenario_path))


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(OptimizationSpecError, match="cannot read the file"):
        load_spec(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenario: [unclosed\n")
    with pytest.raises(OptimizationSpecError, match="invalid YAML at line"):
        load_spec(bad)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("program.budget.per_period", "sizes the budget itself"),
        ("program.budget.reserve.max", "sizes the reserve itself"),
        ("program.budget.reserve.initial", "sizes the reserve itself"),
        ("program.budget.currency_rate", "payout schedule"),
        ("program.region_overrides.emea.partner_cap", "tied across the segments"),
    ],
)
def test_budget_and_region_levers_that_cannot_be_chosen_say_why(path: str, reason: str) -> None:
    message = _problems(levers=[{"path": path, "values": [1]}])
    assert "cannot be a lever" in message
    assert reason in message


@pytest.mark.parametrize(
    "path",
    ["program.budget.payout.cadence_periods", "program.budget.payout.delay_weeks"],
)
def test_payout_schedule_levers_are_accepted(path: str) -> None:
    spec = _spec(levers=[{"path": path, "values": [1, 2]}])
    assert [lever.path for lever in spec.levers] == [path]


def test_a_payout_delay_lever_moves_only_its_segments_payout_schedule() -> None:
    from incentsim.optimizer.space import segment_program
    from incentsim.program.spec import Program

    spec = _spec(
        levers=[
            {
                "path": "program.budget.payout.delay_weeks",
                "values": [2, 10],
                "segments": ["reseller"],
            }
        ]
    )
    base = load_scenario(spec.scenario_path)
    space = generate_candidates(spec, base)
    delays = set()
    for candidate in space.candidates["reseller"]:
        program = Program.model_validate(
            segment_program(base.program, "reseller", candidate.override)
        )
        delays.add(program.resolved("reseller").budget.payout.delay_weeks)
        assert program.resolved("system_integrator").budget.payout == base.program.budget.payout
    assert delays == {base.program.budget.payout.delay_weeks, 2, 10}
    assert [c.id for c in space.candidates["system_integrator"]] == ["base"]


def test_grid_skips_gold_below_silver_before_simulation_and_says_why() -> None:
    spec = load_spec(SCENARIOS / "optimize_demo.yaml")
    space = generate_candidates(spec, load_scenario(spec.scenario_path, spec.overrides))
    assert space.n_dropped == 2  # silver 0.03 with gold 0.025, at both caps
    reasons = space.skipped_reasons()
    assert list(reasons.values()) == [2]
    (reason,) = reasons
    assert reason.startswith("tiers: tier 'gold' rebate_rate 0.025 is below tier 'silver'")
    for g in space.segments:
        for candidate in space.candidates[g]:
            silver = candidate.settings.get("program.tiers.silver.rebate_rate", 0.0)
            assert candidate.settings.get("program.tiers.gold.rebate_rate", 1.0) >= silver


def test_latin_hypercube_puts_tier_rates_in_order_instead_of_losing_points() -> None:
    levers = [
        {"path": f"program.tiers.{tier}.rebate_rate", "range": [0.01, 0.04]}  # within its
        for tier in ("silver", "gold")  # neighbours' base rates (registered 0.01, platinum 0.04)
    ]
    spec = _spec(sampler="lhs", max_candidates=16, include_base=False, levers=levers)
    space = generate_candidates(spec, load_scenario(spec.scenario_path))
    assert space.repaired > 0
    assert space.n_dropped == 0
    for candidates in space.candidates.values():
        assert len(candidates) == 16
        for c in candidates:
            rates = c.settings
            assert (
                rates["program.tiers.silver.rebate_rate"] <= rates["program.tiers.gold.rebate_rate"]
            )
    # Ranges that sorting would leave: the point keeps its values and is skipped, with a reason.
    apart = [
        {"path": "program.tiers.silver.rebate_rate", "range": [0.03, 0.05]},
        {"path": "program.tiers.gold.rebate_rate", "range": [0.01, 0.04]},
    ]
    spec = _spec(sampler="lhs", max_candidates=16, include_base=False, levers=apart)
    space = generate_candidates(spec, load_scenario(spec.scenario_path))
    assert space.n_dropped > 0
    assert all("rates must not fall" in r for r in space.skipped_reasons())


def test_program_wide_levers_stay_out_of_segment_candidates() -> None:
    from incentsim.optimizer.program_wide import program_wide_options

    spec = _spec(
        levers=[
            {"path": "program.partner_cap", "values": [1e4, 2e4]},
            {"path": "program.budget.shortfall_policy", "values": ["pro_rata", "defer"]},
            {
                "path": "program.budget.reserve.contribution.unspent_share",
                "range": [0.5, 1.0],
                "steps": 2,
            },
        ]
    )
    assert [lever.program_wide for lever in spec.levers] == [False, True, True]
    base = load_scenario(spec.scenario_path)
    space = generate_candidates(spec, base)
    for candidates in space.candidates.values():
        assert all(set(c.settings) <= {"program.partner_cap"} for c in candidates)
    options = program_wide_options(spec, base)
    assert len(options) == 4
    assert {o["program.budget.shortfall_policy"] for o in options} == {"pro_rata", "defer"}


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        (
            {
                "levers": [
                    {
                        "path": "program.budget.shortfall_policy",
                        "values": ["defer"],
                        "segments": ["reseller"],
                    }
                ]
            },
            "cannot be limited to some segments",
        ),
        (
            {
                "levers": [
                    {
                        "path": "program.budget.reserve.contribution.unspent_share",
                        "range": [0.5, 1.0],
                    }
                ],
                "sampler": "lhs",
            },
            "give 'values', or 'steps' with the range",
        ),
        (
            {"candidates": [{"name": "d", "program.budget.shortfall_policy": "defer"}]},
            "one choice for the whole program",
        ),
    ],
)
def test_program_wide_levers_are_whole_program_choices(keys: dict, problem: str) -> None:
    assert problem in _problems(**keys)
