"""Validation of the program description (incentsim.program.spec)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from incentsim._merge import deep_merge
from incentsim.program.compiled import compile_program
from incentsim.program.spec import Accelerator, Program, Reserve, Spiff

from .conftest import BASE


def build(overrides: dict[str, Any]) -> Program:
    return Program.model_validate(deep_merge(BASE, overrides))


def test_base_program_is_valid():
    p = build({})
    assert p.tier_names == ["silver", "gold", "platinum"]
    assert p.rebate.basis == "retroactive"


def test_unknown_key_is_an_error():
    with pytest.raises(ValidationError, match="rebat_rate"):
        build({"tiers": {"gold": {"rebat_rate": 0.05}}})


@pytest.mark.parametrize("gold_threshold", [1000.0, 500.0])
def test_non_increasing_thresholds(gold_threshold):
    with pytest.raises(ValidationError, match="tier 'gold' revenue threshold"):
        build({"tiers": {"gold": {"requirements": {"revenue": gold_threshold}}}})


def test_equal_zero_thresholds_allowed_when_another_requirement_rises():
    tiers = {
        "registered": {},
        "certified": {"requirements": {"certified_staff": 2}, "rebate_rate": 0.01},
    }
    assert Program.model_validate({"tiers": tiers}).tier_names == ["registered", "certified"]
    tiers["certified"]["requirements"] = {}
    with pytest.raises(ValidationError, match="revenue threshold"):
        Program.model_validate({"tiers": tiers})


def test_falling_other_requirement_rejected():
    with pytest.raises(ValidationError, match="requires less certified_staff"):
        build({"tiers": {"silver": {"requirements": {"certified_staff": 3}}}})


def test_decreasing_rates():
    with pytest.raises(ValidationError, match="rates must not fall"):
        build({"tiers": {"platinum": {"rebate_rate": 0.03}}})


def test_equal_rates_allowed():
    assert build({"tiers": {"gold": {"rebate_rate": 0.02}}}).tiers["gold"].rebate_rate == 0.02


@pytest.mark.parametrize(
    "fields",
    [
        {"multiplier": 1.5, "threshold": 100.0, "quota_fraction": 1.0},
        {"multiplier": 1.5},
    ],
)
def test_accelerator_needs_exactly_one_threshold(fields):
    with pytest.raises(ValidationError, match="exactly one of 'threshold' or 'quota_fraction'"):
        Accelerator.model_validate(fields)


def test_accelerator_and_decelerator_multipliers():
    with pytest.raises(ValidationError, match="decelerator's multiplier must be at most 1"):
        Accelerator(kind="decelerator", threshold=10.0, multiplier=1.2)
    with pytest.raises(ValidationError, match="accelerator's multiplier must be at least 1"):
        Accelerator(kind="accelerator", threshold=10.0, multiplier=0.8)
    assert Accelerator(kind="decelerator", threshold=10.0, multiplier=0.0).multiplier == 0.0


def test_quota_relative_accelerator_needs_a_quota():
    acc = {"accelerators": {"k": {"quota_fraction": 1.0, "multiplier": 2.0}}}
    with pytest.raises(ValidationError, match="uses quota_fraction but the program sets no quota"):
        build(acc)
    assert build({**acc, "quota": {"basis": "prior"}}).quota.basis == "prior"
    assert build({**acc, "quota": {"amount": 100.0}}).quota.amount == 100.0


def test_spiff_window():
    with pytest.raises(ValidationError, match="end_week must be after start_week"):
        Spiff(start_week=10, end_week=5)
    with pytest.raises(ValidationError, match="end_week must be after start_week"):
        Spiff(start_week=10, end_week=10)
    assert Spiff(start_week=10, end_week=11).end_week == 11


def test_reserve_initial_above_max():
    with pytest.raises(ValidationError, match="initial reserve 100 is larger than max 50"):
        Reserve(initial=100.0, max=50.0)
    with pytest.raises(ValidationError, match="larger than max"):
        build({"budget": {"reserve": {"initial": 100.0, "max": 50.0}}})


def test_unknown_co_sell_min_tier():
    with pytest.raises(ValidationError, match=r"co_sell\.min_tier 'diamond' is not a tier"):
        build({"co_sell": {"min_tier": "diamond"}})


def test_unknown_milestone_tier():
    with pytest.raises(ValidationError, match=r"milestones\.loyal\.tier 'diamond' is not a tier"):
        build({"milestones": {"loyal": {"tier": "diamond", "consecutive_periods": 4, "reward": 1}}})


def test_override_cannot_add_a_tier():
    with pytest.raises(ValidationError, match=r"segment_overrides\.si\.tiers: \['diamond'\]"):
        build({"segment_overrides": {"si": {"tiers": {"diamond": {"rebate_rate": 0.1}}}}})


def test_override_cannot_add_an_accelerator():
    with pytest.raises(ValidationError, match=r"region_overrides\.emea\.accelerators"):
        build(
            {
                "region_overrides": {
                    "emea": {"accelerators": {"k": {"threshold": 1, "multiplier": 2}}}
                }
            }
        )


def test_override_making_rates_decrease_names_the_segment():
    with pytest.raises(ValidationError) as info:
        build({"segment_overrides": {"reseller": {"tiers": {"gold": {"rebate_rate": 0.01}}}}})
    message = str(info.value)
    assert "segment_overrides.reseller" in message
    assert "rates must not fall" in message


def test_override_with_invalid_value_names_the_field():
    with pytest.raises(ValidationError, match=r"region_overrides\.apac\.evaluation\.grace_periods"):
        build({"region_overrides": {"apac": {"evaluation": {"grace_periods": -1}}}})


def test_override_cannot_nest_overrides():
    with pytest.raises(ValidationError, match="cannot nest"):
        build({"segment_overrides": {"si": {"region_overrides": {"na": {}}}}})


def test_resolved_merges_segment_then_region():
    p = build(
        {
            "partner_cap": 1000.0,
            "segment_overrides": {
                "si": {"tiers": {"gold": {"rebate_rate": 0.05}}, "partner_cap": 2000.0}
            },
            "region_overrides": {
                "emea": {"tiers": {"gold": {"rebate_rate": 0.045}}, "rebate": {"cap": 10.0}}
            },
        }
    )
    si_emea = p.resolved("si", "emea")
    assert si_emea.tiers["gold"].rebate_rate == 0.045  # the region wins
    assert si_emea.partner_cap == 2000.0  # the segment's value survives where region is silent
    assert si_emea.rebate.cap == 10.0
    assert si_emea.tiers["silver"].rebate_rate == 0.02  # untouched siblings kept
    assert si_emea.segment_overrides == {}
    assert si_emea.region_overrides == {}
    si = p.resolved("si", "na")
    assert (si.tiers["gold"].rebate_rate, si.partner_cap, si.rebate.cap) == (0.05, 2000.0, None)
    plain = p.resolved()
    assert (plain.tiers["gold"].rebate_rate, plain.partner_cap) == (0.04, 1000.0)
    assert p.resolved("unknown", "emea").tiers["gold"].rebate_rate == 0.045


def test_compile_orders_groups_segment_major():
    p = build(
        {
            "segment_overrides": {"si": {"rebate": {"cap": 5.0}}},
            "region_overrides": {"emea": {"evaluation": {"grace_periods": 3}}},
        }
    )
    cp = compile_program(p, ("reseller", "si"), ("na", "emea"))
    assert cp.group_names == ("reseller/na", "reseller/emea", "si/na", "si/emea")
    assert cp.rebate_cap.tolist() == [float("inf"), float("inf"), 5.0, 5.0]
    assert cp.grace.tolist() == [1, 3, 1, 3]
    assert cp.rebate_rate.shape == (4, 3)


def test_compile_tier_mdf_rate_override_and_empty_parts():
    p = build({"mdf": {"accrual_rate": 0.01}, "tiers": {"platinum": {"mdf_accrual_rate": 0.03}}})
    cp = compile_program(p)
    assert cp.mdf_rate.tolist() == [[0.01, 0.01, 0.03]]
    assert cp.acc_multiplier.shape == (1, 0)
    assert cp.spiff_cap.shape == (1, 0)
    assert cp.ms_length.shape == (1, 0)
    assert cp.co_sell_min_tier.tolist() == [0]
