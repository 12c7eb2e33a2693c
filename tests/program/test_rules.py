"""Per-construct tests of the rules engine (incentsim.program.rules) with hand-computed numbers.

Unless a test says otherwise the program is the base program of ``conftest``: per-period revenue
thresholds silver 1,000 / gold 5,000 / platinum 20,000 at 2% / 4% / 6%, retroactive, back-end,
cadence 1, look-back 1, grace 1. Money in assessments is int64 cents.
"""

from __future__ import annotations

import numpy as np
import pytest

from incentsim.program.rules import (
    COMPONENTS,
    UNQUALIFIED,
    PeriodMetrics,
    accelerator_payouts,
    anticipated_payout,
    anticipated_recurring,
    assess_period,
    initial_state,
    performance_payout,
    qualified_tier,
    rebate_on,
)
from incentsim.quantities import to_cents

from .conftest import close, compiled, component_over, run, tiers_over

GRACE0 = {"evaluation": {"grace_periods": 0}}

# --------------------------------------------------------------------------------------------
# Basics


def test_period_metrics_defaults_and_unknown_field():
    m = PeriodMetrics.of(np.array([1.0, 2.0]), n_spiffs=3, returns=[5.0, 0.0])
    assert m.csat.tolist() == [5.0, 5.0]
    assert m.co_delivery.tolist() == [1.0, 1.0]
    assert m.spiff_deals.shape == (2, 3)
    assert m.audited_spiff_revenue.shape == (2, 3)
    assert m.returns.tolist() == [5.0, 0.0]
    with pytest.raises(TypeError, match="unknown metrics"):
        PeriodMetrics.of(np.array([1.0]), revenue_typo=[1.0])


def test_components_are_int64_and_earned_is_their_sum(base_cp):
    _, a = close(base_cp, [6000.0, 0.0])
    assert tuple(a.components) == COMPONENTS
    for name in COMPONENTS:
        assert a.components[name].dtype == np.int64
    assert a.earned.tolist() == [24000, 0]
    assert a.accrued.tolist() == [24000, 0]


# --------------------------------------------------------------------------------------------
# Tiers and rebate basis

REVENUES = [999.99, 1000.0, 1000.01, 4999.99, 5000.0, 5000.01, 20000.0, 30000.0]


def test_retroactive_notch_at_below_and_above_thresholds(base_cp):
    _, a = close(base_cp, REVENUES)
    assert a.tier.tolist() == [-1, 0, 0, 0, 1, 1, 2, 2]
    assert a.components["rebate"].tolist() == [
        0,  # below silver: unqualified
        2000,  # 1,000 * 2% = 20.00
        2000,  # 1,000.01 * 2% = 20.0002
        10000,  # 4,999.99 * 2% = 99.9998
        20000,  # 5,000 * 4% = 200.00: the whole period at the new rate (a notch of 100.00)
        20000,  # 5,000.01 * 4% = 200.0004
        120000,  # 20,000 * 6% = 1,200.00
        180000,  # 30,000 * 6% = 1,800.00
    ]


def test_marginal_brackets_at_below_and_above_thresholds():
    cp = compiled({"rebate": {"basis": "marginal"}})
    _, a = close(cp, REVENUES)
    assert a.tier.tolist() == [-1, 0, 0, 0, 1, 1, 2, 2]
    assert a.components["rebate"].tolist() == [
        0,  # unqualified
        0,  # the silver slice starts at silver's threshold: nothing above it yet
        0,  # 0.01 * 2% = 0.0002
        8000,  # (4,999.99 - 1,000) * 2% = 79.9998
        8000,  # 4,000 * 2% = 80.00, no jump at gold
        8000,  # 80.00 + 0.01 * 4%
        68000,  # 80 + 15,000 * 4% = 680.00
        128000,  # 680 + 10,000 * 6% = 1,280.00
    ]


def test_rebate_on_marginal_for_a_held_tier_below_its_threshold():
    # A partner held at gold (grace) with 3,000 revenue: silver slice 2,000 * 2% = 40, gold 0;
    # retroactive pays 3,000 * 4% = 120.
    cp = compiled({"rebate": {"basis": "marginal"}})
    g = np.zeros(1, dtype=np.int64)
    assert rebate_on(cp, g, np.array([1]), np.array([3000.0])).tolist() == pytest.approx([40.0])
    retro = compiled()
    assert rebate_on(retro, g, np.array([1]), np.array([3000.0])).tolist() == pytest.approx([120])
    assert rebate_on(retro, g, np.array([UNQUALIFIED]), np.array([3000.0])).tolist() == [0.0]


def test_multi_metric_tiers_need_every_requirement():
    cp = compiled(
        {
            "tiers": {
                "gold": {"requirements": {"certified_staff": 3, "new_logos": 2}},
                "platinum": {"requirements": {"certified_staff": 5, "new_logos": 4, "csat": 4.0}},
            }
        }
    )
    revenue = [6000.0, 6000.0, 6000.0, 25000.0, 25000.0]
    staff = [2.0, 3.0, 3.0, 5.0, 5.0]
    logos = [2.0, 2.0, 1.0, 4.0, 4.0]
    csat = [5.0, 5.0, 5.0, 5.0, 3.9]
    _, a = close(cp, revenue, certified_staff=staff, new_logos=logos, csat=csat)
    # revenue met but staff short -> silver; all met -> gold; logos short -> silver;
    # everything met -> platinum; satisfaction short -> gold
    assert a.tier.tolist() == [0, 1, 0, 2, 1]
    assert a.components["rebate"].tolist() == [12000, 24000, 12000, 150000, 100000]


def test_qualified_tier_scale_applies_to_flow_metrics_only():
    staff3 = {"requirements": {"certified_staff": 3}}
    cp = compiled({"tiers": {"gold": staff3, "platinum": staff3}})
    g = np.zeros(2, dtype=np.int64)
    rev = np.array([4000.0, 4000.0])
    # At 80% gold needs 4,000 revenue, but still 3 certified staff.
    tier = qualified_tier(cp, g, rev, np.zeros(2), np.array([3.0, 2.0]), np.full(2, 5.0), 0.8)
    assert tier.tolist() == [1, 0]


def test_evaluation_cadence_changes_status_only_on_evaluation_periods():
    cp = compiled({"evaluation": {"cadence_periods": 2, "grace_periods": 0}})
    revenues = [[6000.0], [500.0], [25000.0], [25000.0], [500.0], [500.0]]
    out = run(cp, revenues)
    # The first close always evaluates (nobody holds a status yet); then every second period.
    assert [bool(a.evaluated[0]) for a in out] == [True, True, False, True, False, True]
    assert tiers_over(out) == [[1, -1, -1, 2, 2, -1]]
    # Between evaluations the held tier pays: 500 at platinum = 30.00.
    assert component_over(out, "rebate") == [[24000, 0, 0, 150000, 3000, 0]]


def test_first_period_is_evaluated_whatever_the_cadence():
    # Bug fixed: with cadence 4 everyone stayed unqualified (no rebate) for three periods.
    cp = compiled({"evaluation": {"cadence_periods": 4}})
    out = run(cp, [[6000.0]] * 5)
    assert [bool(a.evaluated[0]) for a in out] == [True, False, False, True, False]
    assert component_over(out, "rebate") == [[24000] * 5]


def test_lookback_window_with_run_rate_in_early_periods():
    # Requirements on trailing 4-period revenue: silver 4,000, gold 20,000, platinum 80,000
    # (the same per-period thresholds as the base program).
    cp = compiled(
        {
            "tiers": {
                "silver": {"requirements": {"revenue": 4000.0}},
                "gold": {"requirements": {"revenue": 20000.0}},
                "platinum": {"requirements": {"revenue": 80000.0}},
            },
            "evaluation": {"lookback_periods": 4, "grace_periods": 0},
        }
    )
    out = run(cp, [[5000.0], [1000.0], [11000.0], [1000.0], [3000.0], [5000.0]])
    # P1: 5,000 * 4/1 = 20,000 -> gold.      P2: 6,000 * 4/2 = 12,000 -> silver.
    # P3: 17,000 * 4/3 = 22,667 -> gold.     P4: 18,000 -> silver.
    # P5: 1,000+11,000+1,000+3,000 = 16,000 -> silver (5,000 dropped out of the window).
    # P6: 11,000+1,000+3,000+5,000 = 20,000 -> gold.
    assert tiers_over(out) == [[1, 0, 1, 0, 0, 1]]
    # Retroactive rebate at the held rate on the period's revenue: P3 11,000 * 4% = 440.
    assert component_over(out, "rebate") == [[20000, 2000, 44000, 2000, 6000, 20000]]


def test_grace_and_maintain_fraction_hysteresis():
    cp = compiled({"evaluation": {"grace_periods": 2, "maintain_fraction": 0.8}})
    # Gold is kept at 80% of 5,000 = 4,000.
    a = [6000.0, 4500.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0]
    b = [6000.0, 3000.0, 3000.0, 4500.0, 3000.0, 3000.0, 3000.0]
    out = run(cp, list(zip(a, b, strict=True)))
    # a: 4,500 maintains gold; then three shortfalls, demoted on the third (grace 2).
    # b: two shortfalls, a maintaining period resets the count, demoted on the third after it.
    assert tiers_over(out) == [[1, 1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1, 0]]
    grace = np.stack([o.in_grace for o in out], axis=-1).tolist()
    assert grace == [
        [False, False, True, True, False, False, False],
        [False, True, True, False, True, True, False],
    ]
    # In grace the held (gold) rate pays: 3,000 * 4% = 120; demoted: 3,000 * 2% = 60.
    assert component_over(out, "rebate")[0] == [24000, 18000, 12000, 12000, 6000, 6000, 6000]
    assert [int(o.qualified_tier[0]) for o in out] == [1, 0, 0, 0, 0, 0, 0]


def test_demotion_needs_grace_plus_one_consecutive_shortfalls():
    for grace in (0, 1, 3):
        cp = compiled({"evaluation": {"grace_periods": grace}})
        out = run(cp, [[6000.0]] + [[2000.0]] * 5)
        tiers = tiers_over(out)[0]
        assert tiers == [1] * (grace + 1) + [0] * (5 - grace)


def test_remediation_protects_status_for_its_duration_then_demotes():
    rem = {"remediation": {"enabled": True, "trigger_periods": 2, "duration_periods": 2}}
    cp = compiled(rem)
    # P1 silver; then below entry. Grace 1 would demote at P3, but the plan starts at P3
    # (second assessment below entry) and protects P3 and P4; demoted at P5.
    # The second partner recovers in P4, which ends its plan.
    out = run(
        cp,
        list(
            zip(
                [2000.0, 500.0, 500.0, 500.0, 500.0, 500.0],
                [2000.0, 500.0, 500.0, 2000.0, 500.0, 500.0],
                strict=True,
            )
        ),
    )
    assert tiers_over(out) == [[0, 0, 0, 0, -1, -1], [0, 0, 0, 0, 0, 0]]
    remediation = np.stack([o.in_remediation for o in out], axis=-1).tolist()
    assert remediation[0] == [False, False, True, True, False, False]
    assert remediation[1][:4] == [False, False, True, False]
    # Protected partners are paid at the tier held: 500 * 2% = 10.00.
    assert component_over(out, "rebate")[0] == [4000, 1000, 1000, 1000, 0, 0]
    # Without remediation the same partner is demoted at P3.
    plain = run(compiled(), [[2000.0], [500.0], [500.0], [500.0]])
    assert tiers_over(plain) == [[0, 0, -1, -1]]


# --------------------------------------------------------------------------------------------
# Accelerators, decelerators, caps


def test_accelerator_above_absolute_threshold_with_cap():
    cp = compiled({"accelerators": {"kick": {"threshold": 10000.0, "multiplier": 1.5}}})
    _, a = close(cp, [9000.0, 10000.0, 12000.0])
    # 12,000 at gold: 0.5 * 4% * (12,000 - 10,000) = 40.00
    assert a.components["accelerators"].tolist() == [0, 0, 4000]
    capped = compiled(
        {"accelerators": {"kick": {"threshold": 10000.0, "multiplier": 1.5, "cap": 30.0}}}
    )
    _, a = close(capped, [12000.0])
    assert a.components["accelerators"].tolist() == [3000]
    assert a.capped.tolist() == [1000]


def test_accelerator_on_quota_fraction_with_prior_quota_ratchet():
    cp = compiled(
        {
            "quota": {"basis": "prior", "amount": 8000.0, "growth": 0.1},
            "accelerators": {"kick": {"quota_fraction": 1.0, "multiplier": 2.0}},
        }
    )
    group = np.zeros(1, dtype=np.int64)
    state = initial_state(cp, group)
    assert state.quota.tolist() == [8000.0]
    state, a1 = close(cp, [10000.0], state)
    # P1: quota 8,000; 1.0 * 4% * (10,000 - 8,000) = 80.00; next quota 10,000 * 1.1 = 11,000.
    assert a1.components["accelerators"].tolist() == [8000]
    assert state.quota.tolist() == pytest.approx([11000.0])
    state, a2 = close(cp, [12000.0], state)
    # P2: 4% * (12,000 - 11,000) = 40.00; next quota 13,200.
    assert a2.components["accelerators"].tolist() == [4000]
    assert state.quota.tolist() == pytest.approx([13200.0])
    state, a3 = close(cp, [13000.0], state)
    assert a3.components["accelerators"].tolist() == [0]


def test_prior_quota_floor():
    cp = compiled(
        {
            "quota": {"basis": "prior", "amount": 1000.0, "growth": 0.0, "floor": 6000.0},
            "accelerators": {"kick": {"quota_fraction": 1.0, "multiplier": 2.0}},
        }
    )
    state, a = close(cp, [7000.0])
    # Initial quota is the floor 6,000: 4% * 1,000 = 40.00; next quota max(7,000, 6,000).
    assert a.components["accelerators"].tolist() == [4000]
    state, a = close(cp, [2000.0], state)
    assert state.quota.tolist() == [6000.0]


def test_decelerator_reduces_the_rate_below_its_threshold():
    cp = compiled(
        {"accelerators": {"slow": {"kind": "decelerator", "threshold": 3000.0, "multiplier": 0.5}}}
    )
    _, a = close(cp, [2000.0, 4000.0])
    # 2,000 at silver: 40 rebate, -0.5 * 40 = -20.  4,000: 80 rebate, -0.5 * 3,000 * 2% = -30.
    assert a.components["rebate"].tolist() == [4000, 8000]
    assert a.components["accelerators"].tolist() == [-2000, -3000]
    assert a.earned.tolist() == [2000, 5000]


def test_decelerators_never_make_the_partner_owe():
    # Bug fixed: two decelerators at multiplier 0 took the rebate twice, so the partner's
    # earnings went negative (a receivable created by selling).
    cp = compiled(
        {
            "accelerators": {
                "a": {"kind": "decelerator", "threshold": 3000.0, "multiplier": 0.0},
                "b": {"kind": "decelerator", "threshold": 4000.0, "multiplier": 0.0},
            }
        }
    )
    _, a = close(cp, [2000.0, 3500.0])
    assert a.earned.tolist() == [0, 0]
    assert a.accrued.tolist() == [0, 0]


def test_decelerator_applies_to_the_capped_rebate():
    # Bug fixed: the decelerator was taken off the uncapped rebate, so beyond the rebate cap more
    # revenue paid less. Cap 50: 3,000 at silver pays 50 - 0.5 * 50 = 25 (not 50 - 30 = 20).
    cp = compiled(
        {
            "rebate": {"cap": 50.0},
            "accelerators": {
                "slow": {"kind": "decelerator", "threshold": 5000.0, "multiplier": 0.5}
            },
        }
    )
    _, a = close(cp, [2000.0, 2500.0, 3000.0, 4000.0])
    assert a.earned.tolist() == [2000, 2500, 2500, 2500]


def test_rebate_cap():
    cp = compiled({"rebate": {"cap": 100.0}})
    _, a = close(cp, [4000.0, 6000.0])
    # 80.00 under the cap; 240.00 capped at 100.00 (140.00 capped).
    assert a.components["rebate"].tolist() == [8000, 10000]
    assert a.capped.tolist() == [0, 14000]


def test_partner_cap_trims_components_in_reverse_statement_order():
    cp = compiled(
        {
            "partner_cap": 300.0,
            "accelerators": {"kick": {"threshold": 5000.0, "multiplier": 2.0}},
            "spiffs": {"push": {"amount_per_deal": 50.0}},
            "co_sell": {"rate": 0.1},
            "milestones": {"first": {"tier": "silver", "consecutive_periods": 1, "reward": 30.0}},
        }
    )
    _, a = close(cp, [6000.0], spiff_deals=[[1.0]], co_sell_revenue=[200.0])
    # rebate 240 + accelerator 40 + spiff 50 + co-sell 20 + milestone 30 = 380; cap 300:
    # 80 comes off milestones (30), co-sell (20), then spiffs (30 of 50).
    c = {k: v.tolist() for k, v in a.components.items()}
    assert c == {
        "rebate": [24000],
        "accelerators": [4000],
        "spiffs": [2000],
        "co_sell": [0],
        "milestones": [0],
        "pacers": [0],
        "bonuses": [0],
        "true_up": [0],
        "mdf": [0],
        "awards": [0],
    }
    assert a.earned.tolist() == [30000]
    assert a.capped.tolist() == [8000]


def test_partner_cap_reaches_the_rebate_last():
    cp = compiled({"partner_cap": 100.0, "spiffs": {"push": {"amount_per_deal": 50.0}}})
    _, a = close(cp, [6000.0], spiff_deals=[[1.0]])
    # 240 + 50 = 290 -> 100: spiffs to 0, rebate to 100.
    assert a.components["spiffs"].tolist() == [0]
    assert a.components["rebate"].tolist() == [10000]


def test_performance_payout_and_accelerator_payouts():
    cp = compiled(
        {
            "partner_cap": 500.0,
            "accelerators": {"kick": {"threshold": 10000.0, "multiplier": 1.5, "cap": 30.0}},
        }
    )
    g = np.zeros(3, dtype=np.int64)
    tier = np.array([1, 1, 2])
    rev = np.array([6000.0, 12000.0, 20000.0])
    quota = np.zeros(3)
    acc = accelerator_payouts(cp, g, tier, rev, quota)
    # 12,000 at gold: 0.5 * 4% * 2,000 = 40 -> cap 30; 20,000 at platinum 0.5*6%*10,000 -> 30
    assert acc[:, 0].tolist() == pytest.approx([0.0, 30.0, 30.0])
    pay = performance_payout(cp, g, tier, rev, quota)
    # 240; 480 + 30; 1,200 + 30 -> partner cap 500
    assert pay.tolist() == pytest.approx([240.0, 500.0, 500.0])


# --------------------------------------------------------------------------------------------
# SPIFFs, co-selling, gates


def test_spiff_per_deal_and_uplift_with_cap():
    cp = compiled(
        {
            "spiffs": {
                "deals": {"amount_per_deal": 100.0, "cap": 250.0},
                "uplift": {"uplift_rate": 0.05},
            }
        }
    )
    _, a = close(
        cp, [0.0, 0.0], spiff_deals=[[3.0, 0.0], [2.0, 0.0]], spiff_revenue=[[0, 2000], [0, 0]]
    )
    # 3 * 100 = 300 capped at 250, plus 5% of 2,000 = 100 -> 350.  2 deals -> 200.
    # SPIFFs do not need a tier.
    assert a.components["spiffs"].tolist() == [35000, 20000]
    assert a.capped.tolist() == [5000, 0]


def test_co_sell_min_tier_and_co_delivery_share():
    cp = compiled(
        {
            "co_sell": {"rate": 0.05, "min_tier": "gold", "cap": 40.0},
            "guardrails": {"co_delivery_share": 0.3},
        }
    )
    _, a = close(
        cp,
        [6000.0, 2000.0, 6000.0, 6000.0],
        co_sell_revenue=[500.0, 500.0, 500.0, 1000.0],
        co_delivery=[0.5, 0.5, 0.2, 0.3],
    )
    # gold and delivering 50%: 5% * 500 = 25; silver: below min tier; 20% < 30% share;
    # 5% * 1,000 = 50 capped at 40.
    assert a.components["co_sell"].tolist() == [2500, 0, 0, 4000]


def test_anticipated_co_sell_follows_the_close_and_milestones_spread_over_their_streak():
    cp = compiled(
        {
            "co_sell": {"rate": 0.05, "min_tier": "gold", "cap": 40.0},
            "guardrails": {"co_delivery_share": 0.3},
            "milestones": {
                "fee": {"tier": "silver", "consecutive_periods": 1, "reward": 90.0},
                "loyal": {"tier": "gold", "consecutive_periods": 3, "reward": 600.0},
                "once": {
                    "tier": "platinum",
                    "consecutive_periods": 2,
                    "reward": 800.0,
                    "repeatable": False,
                },
            },
        }
    )
    revenue = [6000.0, 2000.0, 6000.0, 6000.0]
    co_sold = np.array([500.0, 500.0, 500.0, 1000.0])
    delivery = np.array([0.5, 0.5, 0.2, 0.3])
    state, a = close(cp, revenue, co_sell_revenue=co_sold, co_delivery=delivery)
    tier = state.tier
    expected_co_sell = a.components["co_sell"] / 100.0  # the close's own rule: 25, 0, 0, 40
    recurring = anticipated_recurring(cp, np.zeros(4, dtype=np.int64), tier, co_sold, delivery, 8)
    # gold holds the fee (90 a period) and the 3-period streak (600 / 3); platinum's one-off
    # 800 spreads over the 8-period horizon, not its 2-period streak.
    np.testing.assert_allclose(recurring - expected_co_sell, [290.0, 90.0, 290.0, 290.0])
    at_platinum = np.full(4, 2, dtype=np.int64)
    top = anticipated_recurring(cp, np.zeros(4, dtype=np.int64), at_platinum, co_sold, delivery, 8)
    np.testing.assert_allclose(top, [25.0 + 390.0, 25.0 + 390.0, 390.0, 40.0 + 390.0])
    nothing = anticipated_recurring(
        cp, np.zeros(4, dtype=np.int64), np.full(4, -1), co_sold, 1.0, 8
    )
    np.testing.assert_array_equal(nothing, np.zeros(4))


def test_csat_gate_scales_only_listed_components():
    cp = compiled(
        {
            "accelerators": {"kick": {"threshold": 5000.0, "multiplier": 2.0}},
            "spiffs": {"push": {"amount_per_deal": 100.0}},
            "co_sell": {"rate": 0.1},
            "guardrails": {
                "csat_gate": {
                    "min_score": 4.0,
                    "applies_to": ["accelerators", "spiffs"],
                    "payout_fraction": 0.5,
                }
            },
        }
    )
    _, a = close(
        cp,
        [6000.0, 6000.0],
        csat=[4.5, 3.5],
        spiff_deals=[[1.0], [1.0]],
        co_sell_revenue=[200.0, 200.0],
    )
    c = {k: v.tolist() for k, v in a.components.items()}
    # rebate 240 and co-sell 20 untouched; accelerator 40 -> 20, SPIFF 100 -> 50
    assert c["rebate"] == [24000, 24000]
    assert c["co_sell"] == [2000, 2000]
    assert c["accelerators"] == [4000, 2000]
    assert c["spiffs"] == [10000, 5000]
    assert a.gated.tolist() == [0, 7000]


def test_csat_gate_on_rebate_also_scales_decelerator():
    # Bug fixed: with the gate on accelerators (the default) a decelerator was scaled by the
    # gate, so failing the gate *raised* the payout; and with the gate on the rebate alone the
    # decelerator turned earnings negative.
    dec = {"slow": {"kind": "decelerator", "threshold": 3000.0, "multiplier": 0.5}}
    gate_acc = compiled(
        {
            "accelerators": dec,
            "guardrails": {"csat_gate": {"min_score": 4.0, "payout_fraction": 0.0}},
        }
    )
    _, a = close(gate_acc, [2000.0, 2000.0], csat=[5.0, 3.0])
    # 40 rebate - 20 decelerator either way: failing a gate must not pay more.
    assert a.earned.tolist() == [2000, 2000]
    gate_rebate = compiled(
        {
            "accelerators": dec,
            "guardrails": {
                "csat_gate": {"min_score": 4.0, "applies_to": ["rebate"], "payout_fraction": 0.5}
            },
        }
    )
    _, a = close(gate_rebate, [2000.0, 2000.0], csat=[5.0, 3.0])
    # Failing: (40 - 20) * 0.5 = 10.
    assert a.earned.tolist() == [2000, 1000]


# --------------------------------------------------------------------------------------------
# Loyalty milestones

GOLD, SILVER = 6000.0, 2000.0


def _milestone_program(**milestone):
    spec = {"tier": "gold", "consecutive_periods": 3, "reward": 500.0, **milestone}
    return compiled({**GRACE0, "milestones": {"loyal": spec}})


def _reached(cp, revenues):
    out = run(cp, [[r] for r in revenues])
    return [int(o.milestones_earned[0, 0]) for o in out], component_over(out, "milestones")[0]


def test_milestone_streak_with_tolerance():
    cp = _milestone_program(tolerance_periods=1)
    # G G S G: the silver period is tolerated; the third gold period completes the streak.
    reached, paid = _reached(cp, [GOLD, GOLD, SILVER, GOLD, GOLD])
    assert reached == [0, 0, 0, 1, 0]
    assert paid == [0, 0, 0, 50000, 0]


def test_milestone_without_tolerance_resets_on_first_shortfall():
    cp = _milestone_program()
    reached, _ = _reached(cp, [GOLD, GOLD, SILVER, GOLD, GOLD, GOLD])
    assert reached == [0, 0, 0, 0, 0, 1]


def test_milestone_reset_vs_step_decay():
    seq = [GOLD, GOLD, SILVER, SILVER, GOLD, GOLD, GOLD]
    # Tolerance 1: the second silver period lapses the streak.
    # reset: 1, 2, 2, 0, 1, 2, 3 -> earned at P7; step: 1, 2, 2, 1, 2, 3 -> earned at P6.
    reset, _ = _reached(_milestone_program(tolerance_periods=1), seq)
    step, _ = _reached(_milestone_program(tolerance_periods=1, decay="step"), seq)
    assert reset == [0, 0, 0, 0, 0, 0, 1]
    assert step == [0, 0, 0, 0, 0, 1, 0]


def test_milestone_repeatable_vs_once():
    seq = [GOLD] * 7
    again, _ = _reached(_milestone_program(), seq)
    once, _ = _reached(_milestone_program(repeatable=False), seq)
    assert again == [0, 0, 1, 0, 0, 1, 0]
    assert once == [0, 0, 1, 0, 0, 0, 0]


def test_milestone_counts_tier_at_or_above():
    cp = _milestone_program(consecutive_periods=2)
    reached, _ = _reached(cp, [GOLD, 25000.0, SILVER])
    assert reached == [0, 1, 0]


# --------------------------------------------------------------------------------------------
# MDF


def test_mdf_accrual_reimbursement_fifo_and_expiry():
    cp = compiled(
        {
            **GRACE0,
            "mdf": {"accrual_rate": 0.02, "reimbursement_rate": 0.5, "expiry_periods": 2},
            "tiers": {"gold": {"mdf_accrual_rate": 0.05}},
        }
    )
    out = run(
        cp,
        [[6000.0], [2000.0], [0.0], [0.0]],
        per_period=[
            {"mdf_claims": [0.0]},
            {"mdf_claims": [100.0]},
            {"mdf_claims": [20.0]},
            {"mdf_claims": [0.0]},
        ],
    )
    # P1 gold accrues 5% * 6,000 = 300.      funds (newest first) [300, 0]
    # P2 silver accrues 2% * 2,000 = 40; claim 100 at 50% = 50 from the oldest (300 -> 250).
    # P3 unqualified accrues 0; the 250 (two periods old) expires; claim 10 from the 40.
    # P4 the remaining 30 expires.
    assert [int(o.mdf_accrued[0]) for o in out] == [30000, 4000, 0, 0]
    assert component_over(out, "mdf") == [[0, 5000, 1000, 0]]
    assert [int(o.mdf_expired[0]) for o in out] == [0, 0, 25000, 3000]
    assert [int(o.mdf_balance[0]) for o in out] == [30000, 29000, 3000, 0]


def test_mdf_claims_beyond_funds_are_not_paid_and_cap_limits_accrual():
    cp = compiled({"mdf": {"accrual_rate": 0.05, "cap": 100.0}})
    _, a = close(cp, [6000.0], mdf_claims=[500.0])
    # accrual 300 capped at 100; claim 500 reimbursed up to the 100 available
    assert a.mdf_accrued.tolist() == [10000]
    assert a.components["mdf"].tolist() == [10000]
    assert a.mdf_balance.tolist() == [0]


def test_mdf_expiry_differs_by_segment():
    cp = compiled(
        {
            "mdf": {"accrual_rate": 0.05, "expiry_periods": 2},
            "segment_overrides": {"si": {"mdf": {"expiry_periods": 1}}},
        },
        segments=("reseller", "si"),
    )
    out = run(
        cp,
        [[2000.0, 2000.0], [0.0, 0.0]],
        group=[0, 1],
        per_period=[{"mdf_claims": [0.0, 0.0]}, {"mdf_claims": [100.0, 100.0]}],
    )
    # Both accrue 100 in P1. In P2 the reseller may still claim it; the SI's has expired.
    assert out[1].components["mdf"].tolist() == [10000, 0]
    assert out[1].mdf_expired.tolist() == [0, 10000]


# --------------------------------------------------------------------------------------------
# Clawbacks


def test_clawback_on_returns_at_previous_effective_rate():
    cp = compiled(GRACE0)
    out = run(cp, [[6000.0], [2000.0]], per_period=[{}, {"returns": [1000.0]}])
    # P1 effective rate 4%; P2 (silver, 2%: 40.00 rebate) returns 1,000 -> 40.00 clawed back
    # at P1's 4%, not at P2's 2%.
    assert out[1].components["rebate"].tolist() == [4000]
    assert out[1].clawback_returns.tolist() == [4000]
    assert out[1].accrued.tolist() == [0]
    off = compiled({**GRACE0, "guardrails": {"clawback_on_returns": False}})
    out = run(off, [[6000.0], [2000.0]], per_period=[{}, {"returns": [1000.0]}])
    assert out[1].clawback_returns.tolist() == [0]


def test_return_clawback_uses_rate_actually_paid():
    cp = compiled({"rebate": {"cap": 120.0}})
    out = run(cp, [[6000.0], [0.0], [0.0]], per_period=[{}, {}, {"returns": [1000.0]}])
    # P1 paid 120 on 6,000 = 2%; P2 had no revenue so the rate carries; 1,000 * 2% = 20.
    assert out[2].clawback_returns.tolist() == [2000]


def test_audit_clawback_of_co_sell_within_its_cap():
    # Bug fixed: audited SPIFF claims were limited by the SPIFF cap but co-sell claims were not,
    # so more could be clawed back than the capped bonus ever paid.
    cp = compiled({"co_sell": {"rate": 0.05, "cap": 40.0}})
    _, a = close(cp, [0.0], audited_co_sell_revenue=[1000.0])
    assert a.clawback_audit.tolist() == [4000]  # 5% of 1,000 = 50, capped at 40


def test_audit_clawback_with_penalty():
    cp = compiled(
        {
            "spiffs": {"push": {"amount_per_deal": 100.0}},
            "co_sell": {"rate": 0.05},
            "guardrails": {"audit": {"rate": 0.1, "penalty_multiplier": 0.5}},
        }
    )
    _, a = close(cp, [0.0], audited_spiff_deals=[[2.0]], audited_co_sell_revenue=[1000.0])
    # (2 * 100 + 5% * 1,000) * 1.5 = 375.00, owed back by a partner with no earnings.
    assert a.clawback_audit.tolist() == [37500]
    assert a.accrued.tolist() == [-37500]


# --------------------------------------------------------------------------------------------
# Annual true-up

TRUE_UP = {"budget": {"true_up": {"enabled": True}}}


def test_true_up_pays_shortfall_at_year_end_only():
    cp = compiled(TRUE_UP)
    # Annual thresholds are 4x: gold at 20,000.  a: 4 x 4,500 silver + 6,500 -> 20,000 -> gold.
    # Paid 3 * 90 + 6,500 * 4% = 530; the year at gold is 800 -> true-up 270.
    # b: 16,000 in the year stays silver: nothing.
    out = run(cp, [[4500.0, 4000.0]] * 3 + [[6500.0, 4000.0], [4500.0, 4000.0]])
    assert component_over(out, "true_up") == [[0, 0, 0, 27000, 0], [0, 0, 0, 0, 0]]


def test_true_up_disabled_pays_nothing():
    out = run(compiled(), [[4500.0]] * 3 + [[6500.0]])
    assert component_over(out, "true_up") == [[0, 0, 0, 0]]


def test_true_up_marginal_with_lookback_uses_annual_thresholds():
    # Bug fixed: the annual bracket thresholds were divided by the look-back twice.
    # Trailing-4-period requirements silver 4,000 / gold 20,000; 6,000 a quarter holds gold.
    cp = compiled(
        {
            **TRUE_UP,
            "rebate": {"basis": "marginal"},
            "evaluation": {"lookback_periods": 4},
            "tiers": {
                "silver": {"requirements": {"revenue": 4000.0}},
                "gold": {"requirements": {"revenue": 20000.0}},
                "platinum": {"requirements": {"revenue": 80000.0}},
            },
        }
    )
    out = run(cp, [[6000.0]] * 4)
    # Each quarter: (5,000 - 1,000) * 2% + 1,000 * 4% = 120; the year: 16,000 * 2% + 4,000 * 4%
    # = 480 = 4 * 120, so nothing to true up.
    assert component_over(out, "rebate") == [[12000] * 4]
    assert component_over(out, "true_up") == [[0, 0, 0, 0]]


def test_true_up_nets_returns_clawed_back():
    # Bug fixed: returns reduced the year's revenue but the rebate clawed back on them still
    # counted as paid, so the true-up was short by the clawback.
    cp = compiled(TRUE_UP)
    out = run(
        cp,
        [[4500.0]] * 3 + [[7500.0]],
        per_period=[{}, {}, {}, {"returns": [500.0]}],
    )
    # Paid 3 * 90 + 300 = 570, less 500 * 2% = 10 clawed back = 560 net.
    # Year: 13,500 + 7,500 - 500 = 20,500 -> gold, 820. True-up 260.
    assert out[3].clawback_returns.tolist() == [1000]
    assert out[3].components["true_up"].tolist() == [26000]


def test_true_up_respects_rebate_cap():
    # Bug fixed: the true-up repaid everything the per-period rebate cap had held back.
    cp = compiled({**TRUE_UP, "rebate": {"cap": 100.0}})
    out = run(cp, [[4500.0]] * 3 + [[6500.0]])
    # Paid 90, 90, 90, min(260, 100) = 100 -> 370. The year at gold (800) is capped at
    # 4 * 100 = 400 -> true-up 30.
    assert component_over(out, "rebate") == [[9000, 9000, 9000, 10000]]
    assert component_over(out, "true_up") == [[0, 0, 0, 3000]]


def test_true_up_respects_csat_gate():
    # Bug fixed: a gated rebate was repaid in full by the year-end true-up.
    cp = compiled(
        {
            **TRUE_UP,
            "guardrails": {
                "csat_gate": {"min_score": 4.0, "applies_to": ["rebate"], "payout_fraction": 0.0}
            },
        }
    )
    out = run(cp, [[6000.0]] * 4, csat=[3.0])
    assert component_over(out, "rebate") == [[0, 0, 0, 0]]
    assert component_over(out, "true_up") == [[0, 0, 0, 0]]
    half = compiled(
        {
            **TRUE_UP,
            "guardrails": {
                "csat_gate": {"min_score": 4.0, "applies_to": ["rebate"], "payout_fraction": 0.5}
            },
        }
    )
    out = run(half, [[4500.0]] * 3 + [[6500.0]], csat=[3.0])
    # Rebates 45, 45, 45, 130 (half of 90, 90, 90, 260); the year at gold is 800, 270 above the
    # ungated 530, and the gate halves that too: 135.
    assert component_over(out, "rebate") == [[4500, 4500, 4500, 13000]]
    assert component_over(out, "true_up") == [[0, 0, 0, 13500]]
    # What the gate withheld is reported: 130 of the rebate and 135 of the true-up.
    assert out[3].gated.tolist() == [13000 + 13500]


def test_true_up_year_resets():
    cp = compiled(TRUE_UP)
    out = run(cp, [[4500.0]] * 3 + [[6500.0]] + [[4000.0]] * 4, periods_per_year=4)
    # Second year: 16,000 -> silver, all paid at silver: nothing.
    assert component_over(out, "true_up") == [[0, 0, 0, 27000, 0, 0, 0, 0]]


# --------------------------------------------------------------------------------------------
# Front end, segments, batches


def test_front_end_rebate_is_flagged():
    front = compiled({"rebate": {"timing": "front_end"}})
    _, a = close(front, [6000.0, 500.0])
    assert a.front_end.tolist() == [24000, 0]
    _, b = close(compiled(), [6000.0, 500.0])
    assert b.front_end.tolist() == [0, 0]


def test_segment_and_region_overrides_in_one_vectorised_call():
    cp = compiled(
        {
            "segment_overrides": {
                "si": {"tiers": {"gold": {"rebate_rate": 0.05}, "platinum": {"rebate_rate": 0.07}}}
            },
            "region_overrides": {
                "emea": {
                    "tiers": {"silver": {"rebate_rate": 0.03}, "platinum": {"rebate_rate": 0.08}}
                }
            },
        },
        segments=("reseller", "si"),
        regions=("na", "emea"),
    )
    assert cp.group_names == ("reseller/na", "reseller/emea", "si/na", "si/emea")
    group = np.array([0, 1, 2, 3] * 3)
    revenue = np.repeat([6000.0, 2000.0, 20000.0], 4)
    _, a = close(cp, revenue, group=group)
    # gold: 4%, 4%, 5%, 5%; silver: 2%, 3%, 2%, 3%; platinum: 6%, 8%, 7%, 8% (region wins)
    assert a.components["rebate"].tolist() == [
        24000, 24000, 30000, 30000,
        4000, 6000, 4000, 6000,
        120000, 160000, 140000, 160000,
    ]  # fmt: skip


def _rich_program():
    return compiled(
        {
            "evaluation": {"lookback_periods": 2, "grace_periods": 1, "maintain_fraction": 0.9},
            "rebate": {"cap": 900.0},
            "quota": {"basis": "prior", "amount": 4000.0, "growth": 0.05},
            "accelerators": {
                "kick": {"quota_fraction": 1.2, "multiplier": 1.5, "cap": 200.0},
                "slow": {"kind": "decelerator", "threshold": 1500.0, "multiplier": 0.5},
            },
            "spiffs": {"a": {"amount_per_deal": 40.0, "cap": 100.0}, "b": {"uplift_rate": 0.02}},
            "co_sell": {"rate": 0.03, "min_tier": "gold"},
            "mdf": {"accrual_rate": 0.02, "reimbursement_rate": 0.5, "expiry_periods": 3},
            "milestones": {"m": {"tier": "silver", "consecutive_periods": 2, "reward": 50.0}},
            "guardrails": {
                "csat_gate": {"min_score": 3.5, "payout_fraction": 0.5},
                "audit": {"penalty_multiplier": 1.0},
            },
            "partner_cap": 1500.0,
            "remediation": {"enabled": True, "trigger_periods": 1},
            "budget": {"true_up": {"enabled": True}},
            "segment_overrides": {"si": {"tiers": {"gold": {"rebate_rate": 0.05}}}},
            "region_overrides": {"emea": {"evaluation": {"grace_periods": 0}}},
        },
        segments=("reseller", "si"),
        regions=("na", "emea"),
    )


def _random_metrics(rng, shape, n_spiffs):
    return PeriodMetrics.of(
        rng.lognormal(8.3, 1.0, shape),
        n_spiffs=n_spiffs,
        returns=rng.uniform(0, 300, shape) * (rng.random(shape) < 0.3),
        new_logos=rng.poisson(2, shape).astype(float),
        certified_staff=rng.integers(0, 6, shape).astype(float),
        csat=rng.uniform(2.5, 5.0, shape),
        co_sell_revenue=rng.uniform(0, 2000, shape),
        co_delivery=rng.uniform(0, 1, shape),
        spiff_revenue=rng.uniform(0, 1000, (*shape, n_spiffs)),
        spiff_deals=rng.integers(0, 4, (*shape, n_spiffs)).astype(float),
        mdf_claims=rng.uniform(0, 100, shape),
        audited_spiff_deals=(rng.random((*shape, n_spiffs)) < 0.1).astype(float),
    )


def _row(m: PeriodMetrics, r: int) -> PeriodMetrics:
    return PeriodMetrics(**{k: getattr(m, k)[r] for k in m.__dataclass_fields__})


def test_batch_axes_match_looping_over_replications():
    cp = _rich_program()
    rng = np.random.default_rng(7)
    R, N = 3, 8
    group = rng.integers(0, cp.n_groups, (R, N))
    state = initial_state(cp, group)
    rows = [initial_state(cp, group[r]) for r in range(R)]
    for _ in range(6):
        m = _random_metrics(rng, (R, N), len(cp.spiff_names))
        state, a = assess_period(cp, state, group, m)
        for r in range(R):
            rows[r], ar = assess_period(cp, rows[r], group[r], _row(m, r))
            for name in COMPONENTS:
                np.testing.assert_array_equal(a.components[name][r], ar.components[name])
            np.testing.assert_array_equal(a.tier[r], ar.tier)
            np.testing.assert_array_equal(a.accrued[r], ar.accrued)
            np.testing.assert_array_equal(a.mdf_balance[r], ar.mdf_balance)
            np.testing.assert_array_equal(a.milestones_earned[r], ar.milestones_earned)
    for r in range(R):
        np.testing.assert_array_equal(state.revenue_window[r], rows[r].revenue_window)
        np.testing.assert_array_equal(state.ytd_rebate[r], rows[r].ytd_rebate)


def test_arrays_changed_in_place_are_not_served_from_cache():
    # Bug fixed: gathered terms and stock-metric tiers were cached on the identity of the
    # arrays, so a group or satisfaction array updated in place returned stale results.
    cp = compiled(
        {
            "tiers": {
                "gold": {"requirements": {"csat": 4.0}},
                "platinum": {"requirements": {"csat": 4.0}},
            },
            "segment_overrides": {"si": {"tiers": {"gold": {"rebate_rate": 0.05}}}},
        },
        segments=("reseller", "si"),
    )
    group = np.zeros(2, dtype=np.int64)
    rev = np.array([6000.0, 6000.0])
    csat = np.array([5.0, 5.0])
    zeros = np.zeros(2)
    assert qualified_tier(cp, group, rev, zeros, zeros, csat).tolist() == [1, 1]
    csat[0] = 3.0
    assert qualified_tier(cp, group, rev, zeros, zeros, csat).tolist() == [0, 1]
    gold = np.array([1, 1])
    assert rebate_on(cp, group, gold, rev).tolist() == pytest.approx([240.0, 240.0])
    group[1] = 1
    assert rebate_on(cp, group, gold, rev).tolist() == pytest.approx([240.0, 300.0])


def test_anticipated_payout_matches_the_close():
    cp = _rich_program()
    rng = np.random.default_rng(11)
    group = rng.integers(0, cp.n_groups, 40)
    state = initial_state(cp, group)
    for _ in range(5):
        m = _random_metrics(rng, (40,), len(cp.spiff_names))
        pay, tier = anticipated_payout(
            cp, state, group, m.revenue, m.new_logos, m.certified_staff, m.csat
        )
        state, a = assess_period(cp, state, group, m)
        assert tier.tolist() == a.tier.tolist()
        # Without a failed gate or partner-cap trimming, the close pays what was anticipated.
        plain = (m.csat >= 3.5) & (a.capped == 0)
        closed = a.components["rebate"] + a.components["accelerators"]
        assert np.abs(to_cents(pay) - closed)[plain].max(initial=0) <= 1


def test_anticipated_payout_when_decelerators_exceed_the_rebate():
    # Bug fixed alongside the floor at the close: the partner model netted an accelerator
    # against decelerators beyond the rebate, anticipating less than the close pays.
    cp = compiled(
        {
            "accelerators": {
                "a": {"kind": "decelerator", "threshold": 8000.0, "multiplier": 0.0},
                "b": {"kind": "decelerator", "threshold": 8000.0, "multiplier": 0.0},
                "up": {"threshold": 5000.0, "multiplier": 2.0},
            }
        }
    )
    group = np.zeros(1, dtype=np.int64)
    state = initial_state(cp, group)
    rev = np.array([6000.0])
    ones = np.ones(1)
    pay, _ = anticipated_payout(cp, state, group, rev, ones, ones, np.full(1, 5.0))
    _, a = close(cp, rev)
    # rebate 240 - 2 x 240 floored at 0, plus the accelerator 4% x 1,000 = 40
    assert a.earned.tolist() == [4000]
    assert pay.tolist() == pytest.approx([40.0])


def test_tier_tables_read_per_group_equal_the_gathered_tables() -> None:
    """``PartnerTerms.at_tier`` reads the small per-group table: the values of the gathered
    ``(R, N, T)`` table at each partner's tier, for any groups and tiers (-1 reads tier 0)."""
    import numpy as np

    from incentsim.program.compiled import compile_program
    from incentsim.scenario import load_scenario

    scenario = load_scenario(
        __import__("pathlib").Path(__file__).resolve().parents[2] / "scenarios" / "constructs.yaml"
    )
    segments = tuple(scenario.population.segments)
    regions = tuple(scenario.population.regions) or ("all",)
    cp = compile_program(scenario.program, segments, regions)
    rng = np.random.default_rng(3)
    group = rng.integers(0, cp.n_groups, (4, 50))
    group.setflags(write=False)
    t = cp.at(group)
    tier = rng.integers(-1, cp.n_tiers, group.shape)
    for table in (t.rebate_rate, t.mdf_rate, t.req_revenue):
        want = np.take_along_axis(table, np.maximum(tier, 0)[..., None], axis=-1)[..., 0]
        assert np.array_equal(t.at_tier(table, tier), want)
    # A table not gathered with the terms is read from itself.
    other = np.asarray(t.rebate_rate) * 2.0
    want = np.take_along_axis(other, np.maximum(tier, 0)[..., None], axis=-1)[..., 0]
    assert np.array_equal(t.at_tier(other, tier), want)


def test_accelerators_that_only_add_pay_the_general_rule_to_the_bit() -> None:
    """The shortcut for programs whose accelerators all add (``acc_only_adds``) gives the same
    bits as the general rule (decelerators taking at most the rebate), at any revenue."""
    import dataclasses
    from pathlib import Path

    import numpy as np

    from incentsim.program import rules
    from incentsim.program.compiled import compile_program
    from incentsim.scenario import load_scenario

    scenario = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml")
    segments = tuple(scenario.population.segments)
    regions = tuple(scenario.population.regions)
    cp = compile_program(scenario.program, segments, regions)
    rng = np.random.default_rng(5)
    group = rng.integers(0, cp.n_groups, (3, 400))
    group.setflags(write=False)
    t = cp.at(group)
    assert t.acc_only_adds
    general = dataclasses.replace(t, acc_only_adds=False)
    tier = rng.integers(-1, cp.n_tiers, group.shape)
    revenue = np.exp(rng.uniform(0.0, np.log(2e6), group.shape))
    revenue[:, :20] = 0.0
    thresholds = rules._accelerator_thresholds(t, np.full(group.shape, 1e5))
    fast = rules._performance_parts(t, tier, revenue, thresholds)
    slow = rules._performance_parts(general, tier, revenue, thresholds)
    for a, b in zip(fast, slow, strict=True):
        assert np.array_equal(a.view(np.int64), b.view(np.int64))
