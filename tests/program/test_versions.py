"""Program versions and contingent rules: validation, the timeline, and the terms in force."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from incentsim.program.in_force import ProgramPlan, StackedProgram
from incentsim.program.rules import assess_period, initial_state
from incentsim.program.versions import INITIAL, timeline, with_rule

from .conftest import make_program, metrics

CUT = {"tiers": {"gold": {"rebate_rate": 0.03}, "platinum": {"rebate_rate": 0.05}}}


def versioned(**version: Any) -> Any:
    return make_program(versions={"v2": {"effective_period": 2, "changes": CUT, **version}})


def test_a_version_is_a_diff_on_the_one_before() -> None:
    program = make_program(
        versions={
            "v2": {"effective_period": 2, "changes": CUT},
            "v3": {"effective_period": 3, "changes": {"tiers": {"silver": {"rebate_rate": 0.01}}}},
        }
    )
    steps = timeline(program)
    assert [(s.label, s.start) for s in steps] == [(INITIAL, 0), ("v2", 2), ("v3", 3)]
    rates = [[t.rebate_rate for t in s.program.tiers.values()] for s in steps]
    assert rates == [[0.02, 0.04, 0.06], [0.02, 0.03, 0.05], [0.01, 0.03, 0.05]]
    assert steps[0].program.model_dump() == make_program().model_dump()


def test_a_phase_in_moves_numbers_in_equal_steps() -> None:
    steps = timeline(
        versioned(phase_in_periods=2, changes={"tiers": {"gold": {"rebate_rate": 0.03}}})
    )
    assert [s.label for s in steps] == [INITIAL, "v2 (1 of 2)", "v2 (2 of 2)"]
    assert [s.program.tiers["gold"].rebate_rate for s in steps] == pytest.approx(
        [0.04, 0.035, 0.03]
    )
    assert [s.start for s in steps] == [0, 2, 3]


@pytest.mark.parametrize(
    ("versions", "message"),
    [
        (
            {"v2": {"effective_period": 2, "changes": {"guardrails": {"audit": {"rate": 0.1}}}}},
            r"versions\.v2\n.*changes\.guardrails: a version or contingent rule cannot change",
        ),
        (
            {"v2": {"effective_period": 2, "changes": {"tiers": {"gold": {"benefits": {}}}}}},
            r"changes\.tiers\.gold\.benefits: a version",
        ),
        (
            {"v2": {"effective_period": 2, "changes": {"tiers": {"gold": {"rebate_rate": 0.01}}}}},
            r"versions\.v2\.changes: tiers: .*rates must not fall",
        ),
        (
            {"v2": {"effective_period": 2, "changes": {"tiers": {"gld": {"rebate_rate": 0.05}}}}},
            r"versions\.v2\.changes\.tiers: \['gld'\] not in the program",
        ),
        (
            {"v2": {"effective_period": 2, "changes": {"bonuses": {"monthly": {"reward": 9.0}}}}},
            r"versions\.v2\.changes\.bonuses: \['monthly'\] not in the program",
        ),
        (
            {
                "v2": {
                    "effective_period": 2,
                    "changes": {"bonuses": {"monthly": {"horizon_weeks": 2}}},
                }
            },
            r"changes\.bonuses\.monthly\.horizon_weeks: a version or contingent rule cannot",
        ),
        (
            {"v2": {"effective_period": 2, "announced_period": 3, "changes": CUT}},
            "announced_period 3 is after effective_period 2",
        ),
        (
            {
                "v2": {"effective_period": 2, "grandfather_periods": 2, "changes": CUT},
                "v3": {"effective_period": 3, "changes": {}},
            },
            r"versions\.v3\.effective_period: 3 is before versions\.v2 has fully taken effect",
        ),
    ],
)
def test_bad_versions_are_refused_naming_the_field(versions: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make_program(versions=versions)


def test_a_rule_needs_one_level_and_a_valid_result() -> None:
    with pytest.raises(ValidationError, match="exactly one of 'below' or 'above'"):
        make_program(contingent={"r": {"threshold_scale": 0.8}})
    with pytest.raises(ValidationError, match=r"contingent\.r on version initial"):
        make_program(
            contingent={"r": {"below": 0.9, "changes": {"tiers": {"silver": {"rebate_rate": 0.5}}}}}
        )


def test_a_rule_scales_every_revenue_threshold() -> None:
    program = make_program(
        accelerators={"kick": {"threshold": 10000.0, "multiplier": 1.5}},
        bonuses={"monthly": {"horizon_weeks": 4, "threshold": 2000.0, "reward": 50.0}},
        quota={"amount": 3000.0, "floor": 1000.0},
        segment_overrides={"si": {"tiers": {"gold": {"requirements": {"revenue": 6000.0}}}}},
        contingent={"r": {"below": 0.9, "threshold_scale": 0.5}},
    )
    scaled = with_rule(program, program.contingent["r"])
    assert [t.requirements.revenue for t in scaled.tiers.values()] == [500.0, 2500.0, 10000.0]
    assert scaled.accelerators["kick"].threshold == 5000.0
    assert scaled.bonuses["monthly"].threshold == 1000.0
    assert (scaled.quota.amount, scaled.quota.floor) == (1500.0, 500.0)
    assert scaled.resolved("si").tiers["gold"].requirements.revenue == 3000.0


def test_a_version_changes_a_window_bonus_and_phases_it_in() -> None:
    """A refresh can change a bonus's threshold, reward and rate (not its window length), and a
    phase-in moves them in equal steps like any rate."""
    bonus = {"monthly": {"horizon_weeks": 4, "threshold": 2000.0, "reward": 50.0, "rate": 0.01}}
    changes = {"bonuses": {"monthly": {"threshold": 3000.0, "reward": 150.0}}}
    program = make_program(
        bonuses=bonus,
        versions={"v2": {"effective_period": 2, "phase_in_periods": 2, "changes": changes}},
    )
    steps = timeline(program)
    assert [s.program.bonuses["monthly"].threshold for s in steps] == [2000.0, 2500.0, 3000.0]
    assert [s.program.bonuses["monthly"].reward for s in steps] == [50.0, 100.0, 150.0]
    assert {s.program.bonuses["monthly"].horizon_weeks for s in steps} == {4}
    plan = ProgramPlan(program, ["all"], ["all"])
    assert plan.compiled(2).bonus_threshold.tolist() == [[3000.0]]


def test_grandfathered_partners_read_the_previous_version() -> None:
    plan = ProgramPlan(versioned(grandfather_periods=2), ["all"], ["all"])
    joined = np.array([0, 1, 2, 3])
    assert plan.partner_steps(1, joined).tolist() == [0, 0, 0, 0]
    assert plan.partner_steps(2, joined).tolist() == [0, 0, 1, 1]
    assert plan.partner_steps(3, joined).tolist() == [0, 0, 1, 1]
    assert plan.partner_steps(4, joined).tolist() == [1, 1, 1, 1]


def test_partners_know_only_announced_versions() -> None:
    plan = ProgramPlan(versioned(announced_period=1), ["all"], ["all"])
    joined = np.zeros(2, dtype=np.int64)
    assert plan.partner_steps(2, joined, known_at=0).tolist() == [0, 0]
    assert plan.partner_steps(2, joined, known_at=1).tolist() == [1, 1]
    unannounced = ProgramPlan(versioned(), ["all"], ["all"])
    assert unannounced.partner_steps(2, joined, known_at=1).tolist() == [0, 0]


def test_stacked_terms_assess_each_partner_at_its_variant() -> None:
    """Partners under two versions at once are assessed exactly as under each alone."""
    plan = ProgramPlan(versioned(grandfather_periods=1), ["all"], ["all"])
    group = np.zeros(4, dtype=np.int64)
    steps = np.array([0, 1, 0, 1])
    terms = plan.terms(steps).program
    assert isinstance(terms, StackedProgram)
    period = metrics([6000.0, 6000.0, 25000.0, 25000.0])
    _, mixed = assess_period(terms, initial_state(terms, group), group, period, 4)
    for step in (0, 1):
        alone = plan.compiled(step)
        _, a = assess_period(alone, initial_state(alone, group), group, period, 4)
        np.testing.assert_array_equal(mixed.accrued[steps == step], a.accrued[steps == step])
    assert mixed.accrued.tolist() == [24000, 18000, 150000, 125000]


def test_no_versions_no_plan() -> None:
    assert ProgramPlan.of(make_program(), ["all"], ["all"]) is None


def test_a_rule_can_scale_thresholds_with_its_indicator() -> None:
    program = make_program(contingent={"r": {"below": 0.9, "threshold_scale": "indicator"}})
    plan = ProgramPlan(program, ["all"], ["all"])
    demand = np.array([1.0, 0.87, 0.72, 0.01])
    codes = plan.rules_on({"demand": demand})
    assert codes is not None
    assert codes[:, 0].tolist() == [0, 17, 14, 1]  # off, then the index in steps of 0.05
    terms = plan.terms(np.zeros(4, dtype=np.int64), codes).program
    gold = terms.at(np.zeros(4, dtype=np.int64)).req_revenue[:, 1]
    assert gold.tolist() == pytest.approx([5000.0, 4250.0, 3500.0, 250.0])


def test_a_rule_on_the_budget_multiplies_it_where_in_force() -> None:
    program = make_program(
        budget={"per_period": 1000.0},
        contingent={
            "recession": {"below": 0.9, "budget_scale": 1.5},
            "deep": {"below": 0.7, "budget_scale": 2.0},
        },
    )
    plan = ProgramPlan(program, ["all"], ["all"])
    assert plan.scales_budget
    scale = plan.budget_scale({"demand": np.array([1.0, 0.85, 0.6])})
    assert scale.tolist() == [1.0, 1.5, 3.0]  # rules in force multiply
    # A rule that only scales the budget leaves partners' terms alone.
    codes = plan.rules_on({"demand": np.array([1.0, 0.6])})
    assert codes is not None
    assert not codes.any()


def test_a_budget_rule_needs_a_budget_to_scale() -> None:
    with pytest.raises(ValidationError, match=r"contingent\.r\.budget_scale: the program has no"):
        make_program(contingent={"r": {"below": 0.9, "budget_scale": 1.2}})
    with pytest.raises(ValidationError, match="budget_scale"):
        make_program(
            budget={"per_period": 1000.0}, contingent={"r": {"below": 0.9, "budget_scale": 0}}
        )


def test_a_version_can_change_a_segment_and_phases_it_from_its_own_value() -> None:
    program = make_program(
        segment_overrides={"big": {"tiers": {"gold": {"rebate_rate": 0.05}}}},
        versions={
            "v2": {
                "effective_period": 2,
                "phase_in_periods": 2,
                "changes": {
                    "segment_overrides": {
                        "big": {"tiers": {"gold": {"rebate_rate": 0.03}}},
                        "small": {"tiers": {"gold": {"rebate_rate": 0.02}}},
                    }
                },
            }
        },
    )
    steps = timeline(program)
    gold = [
        [s.program.resolved(g).tiers["gold"].rebate_rate for g in ("big", "small", None)]
        for s in steps
    ]
    # big moves from its own 5%, small from the program's 4%; the program itself stays.
    expected = [[0.05, 0.04, 0.04], [0.04, 0.03, 0.04], [0.03, 0.02, 0.04]]
    np.testing.assert_allclose(gold, expected)


def test_a_version_override_changes_only_what_versions_change() -> None:
    with pytest.raises(ValidationError, match=r"segment_overrides\.big\.guardrails: a version"):
        make_program(
            versions={
                "v2": {
                    "effective_period": 2,
                    "changes": {"segment_overrides": {"big": {"guardrails": {}}}},
                }
            }
        )
