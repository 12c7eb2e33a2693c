"""Property-based tests of the rules engine and ledger over random programs and random metrics.

``programs()`` builds valid program dictionaries: 1-4 tiers with increasing thresholds and
non-decreasing rates and either rebate basis, with optional accelerators and decelerators, caps,
SPIFFs, co-selling, milestones, MDF, a satisfaction gate, a partner cap, remediation, a budget
with a reserve and either shortfall policy, a true-up and segment overrides. Metrics are drawn
with NumPy from a seed hypothesis chooses, so examples stay cheap.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from incentsim.program.compiled import CompiledProgram, budget_terms, compile_program
from incentsim.program.ledger import (
    Accruals,
    PayoutSchedule,
    close_accounts,
    open_ledger,
    pro_rata,
    run_payout,
)
from incentsim.program.rules import (
    COMPONENTS,
    PeriodMetrics,
    anticipated_payout,
    assess_period,
    initial_state,
    performance_payout,
    to_cents,
)
from incentsim.program.spec import Program

SEGMENTS = ("reseller", "si")
PERFORMANCE = ("rebate", "accelerators", "spiffs", "co_sell", "milestones", "true_up")
FEW = settings(max_examples=40, deadline=None)

money = st.sampled_from([10.0, 50.0, 120.0, 400.0, 1500.0])
maybe_cap = st.one_of(st.none(), money)


@st.composite
def tier_dicts(draw: st.DrawFn, revenue_only: bool = False) -> dict[str, Any]:
    n = draw(st.integers(1, 4))
    threshold = draw(st.sampled_from([0.0, 300.0, 1000.0, 2500.0]))
    rate = draw(st.sampled_from([0.0, 0.01, 0.02, 0.03]))
    mdf_rate = draw(st.sampled_from([0.0, 0.01]))
    tier_mdf = not revenue_only and draw(st.booleans())  # all tiers override the MDF rate, or none
    staff = 0.0
    tiers = {}
    for k in range(n):
        if k:
            threshold += 500.0 * draw(st.integers(1, 20))
            rate += draw(st.sampled_from([0.0, 0.005, 0.01, 0.02]))
            mdf_rate += draw(st.sampled_from([0.0, 0.01]))
            if not revenue_only:
                staff += draw(st.sampled_from([0.0, 1.0]))
        tier: dict[str, Any] = {
            "requirements": {"revenue": threshold, "certified_staff": staff},
            "rebate_rate": min(rate, 1.0),
        }
        if tier_mdf:
            tier["mdf_accrual_rate"] = mdf_rate
        tiers[f"t{k}"] = tier
    return tiers


@st.composite
def accelerator_dicts(draw: st.DrawFn) -> dict[str, Any]:
    out = {}
    for a in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["accelerator", "decelerator"]))
        acc: dict[str, Any] = {"kind": kind}
        if draw(st.booleans()):
            acc["threshold"] = draw(st.sampled_from([500.0, 2000.0, 6000.0, 15000.0]))
        else:
            acc["quota_fraction"] = draw(st.sampled_from([0.5, 1.0, 1.5]))
        if kind == "accelerator":
            acc["multiplier"] = draw(st.sampled_from([1.0, 1.25, 2.0, 3.0]))
            acc["cap"] = draw(maybe_cap)
        else:
            acc["multiplier"] = draw(st.sampled_from([0.0, 0.5, 0.9, 1.0]))
        out[f"a{a}"] = acc
    return out


@st.composite
def programs(
    draw: st.DrawFn, basis: str | None = None, budget: bool = True, overrides: bool = True
) -> dict[str, Any]:
    """A random valid program as a dictionary."""
    tiers = draw(tier_dicts())
    names = list(tiers)
    p: dict[str, Any] = {
        "tiers": tiers,
        "evaluation": {
            "cadence_periods": draw(st.integers(1, 3)),
            "lookback_periods": draw(st.integers(1, 3)),
            "grace_periods": draw(st.integers(0, 2)),
            "maintain_fraction": draw(st.sampled_from([0.5, 0.8, 1.0])),
        },
        "rebate": {
            "basis": basis or draw(st.sampled_from(["retroactive", "marginal"])),
            "timing": draw(st.sampled_from(["back_end", "front_end"])),
            "cap": draw(maybe_cap),
        },
        "quota": {
            "basis": draw(st.sampled_from(["fixed", "prior"])),
            "amount": draw(st.sampled_from([0.0, 3000.0, 8000.0])),
            "growth": draw(st.sampled_from([-0.1, 0.0, 0.1])),
            "floor": draw(st.sampled_from([0.0, 1000.0])),
        },
        "accelerators": draw(accelerator_dicts()),
        "spiffs": {
            f"s{s}": {
                "amount_per_deal": draw(st.sampled_from([0.0, 25.0, 100.0])),
                "uplift_rate": draw(st.sampled_from([0.0, 0.02])),
                "cap": draw(maybe_cap),
            }
            for s in range(draw(st.integers(0, 2)))
        },
        "co_sell": {
            "rate": draw(st.sampled_from([0.0, 0.02, 0.05])),
            "min_tier": draw(st.one_of(st.none(), st.sampled_from(names))),
            "cap": draw(maybe_cap),
        },
        "mdf": {
            "accrual_rate": draw(st.sampled_from([0.0, 0.01, 0.03])),
            "reimbursement_rate": draw(st.sampled_from([0.5, 1.0])),
            "expiry_periods": draw(st.integers(1, 3)),
            "cap": draw(maybe_cap),
        },
        "milestones": {
            f"m{m}": {
                "tier": draw(st.sampled_from(names)),
                "consecutive_periods": draw(st.integers(1, 3)),
                "reward": draw(money),
                "tolerance_periods": draw(st.integers(0, 1)),
                "decay": draw(st.sampled_from(["reset", "step"])),
                "repeatable": draw(st.booleans()),
            }
            for m in range(draw(st.integers(0, 2)))
        },
        "guardrails": {
            "clawback_on_returns": draw(st.booleans()),
            "co_delivery_share": draw(st.sampled_from([0.0, 0.3])),
            "audit": {"penalty_multiplier": draw(st.sampled_from([0.0, 1.0]))},
        },
        "partner_cap": draw(st.one_of(st.none(), st.sampled_from([100.0, 500.0, 3000.0]))),
        "remediation": {
            "enabled": draw(st.booleans()),
            "trigger_periods": draw(st.integers(1, 2)),
            "duration_periods": draw(st.integers(1, 2)),
        },
    }
    quota = p["quota"]
    quota_set = quota["basis"] == "prior" or quota["amount"] > 0 or quota["floor"] > 0
    if not quota_set and any("quota_fraction" in a for a in p["accelerators"].values()):
        quota["amount"] = 3000.0  # quota-relative accelerators need a quota
    if draw(st.booleans()):
        p["guardrails"]["csat_gate"] = {
            "min_score": draw(st.sampled_from([3.0, 4.0])),
            "applies_to": draw(
                st.lists(
                    st.sampled_from(["rebate", "accelerators", "spiffs", "co_sell", "milestones"]),
                    unique=True,
                )
            ),
            "payout_fraction": draw(st.sampled_from([0.0, 0.5])),
        }
    if budget:
        initial = draw(st.sampled_from([0.0, 100.0, 1000.0]))
        p["budget"] = {
            "per_period": draw(st.one_of(st.none(), st.sampled_from([50.0, 500.0, 5000.0]))),
            "reserve": {
                "initial": initial,
                "max": draw(st.one_of(st.none(), st.sampled_from([initial, initial + 500.0]))),
                "contribution": {
                    "unspent_share": draw(st.sampled_from([0.0, 0.37, 1.0])),
                    "fixed_per_period": draw(st.sampled_from([0.0, 25.5])),
                },
            },
            "shortfall_policy": draw(st.sampled_from(["pro_rata", "defer"])),
            "payout": {"cadence_periods": draw(st.integers(1, 2))},
            "true_up": {"enabled": draw(st.booleans())},
        }
    if overrides and draw(st.booleans()):
        # Raise every rate by the same step for one segment: rates stay non-decreasing.
        step = draw(st.sampled_from([0.005, 0.01]))
        p["segment_overrides"] = {
            "si": {
                "tiers": {
                    n: {"rebate_rate": min(t["rebate_rate"] + step, 1.0)} for n, t in tiers.items()
                },
                "evaluation": {"grace_periods": draw(st.integers(0, 2))},
            }
        }
        if budget and draw(st.booleans()):
            # Its own payout rhythm and shortfall policy.
            p["segment_overrides"]["si"]["budget"] = {
                "payout": {"cadence_periods": draw(st.integers(1, 3))},
                "shortfall_policy": draw(st.sampled_from(["pro_rata", "defer"])),
            }
    return p


def compile_dict(p: dict[str, Any]) -> CompiledProgram:
    return compile_program(Program.model_validate(p), SEGMENTS)


def random_metrics(
    rng: np.random.Generator, shape: tuple[int, ...], n_spiffs: int
) -> PeriodMetrics:
    """Heavy-tailed revenue with the occasional zero, returns, audits and claims."""
    revenue = rng.lognormal(8.0, 1.2, shape) * (rng.random(shape) > 0.1)
    return PeriodMetrics.of(
        np.round(revenue, 2),
        n_spiffs=n_spiffs,
        returns=np.round(rng.uniform(0, 0.3, shape) * revenue * (rng.random(shape) < 0.3), 2),
        new_logos=rng.poisson(1.5, shape).astype(float),
        certified_staff=rng.integers(0, 4, shape).astype(float),
        csat=rng.uniform(2.0, 5.0, shape),
        co_sell_revenue=rng.uniform(0, 3000, shape),
        co_delivery=rng.uniform(0, 1, shape),
        spiff_revenue=rng.uniform(0, 2000, (*shape, n_spiffs)),
        spiff_deals=rng.integers(0, 4, (*shape, n_spiffs)).astype(float),
        mdf_claims=rng.uniform(0, 300, shape),
        audited_spiff_deals=(rng.random((*shape, n_spiffs)) < 0.1).astype(float),
        audited_co_sell_revenue=rng.uniform(0, 500, shape) * (rng.random(shape) < 0.1),
    )


def with_revenue(m: PeriodMetrics, revenue: np.ndarray) -> PeriodMetrics:
    fields = {k: getattr(m, k) for k in m.__dataclass_fields__}
    fields["revenue"] = revenue
    return PeriodMetrics(**fields)


def row(m: PeriodMetrics, r: int) -> PeriodMetrics:
    return PeriodMetrics(**{k: getattr(m, k)[r] for k in m.__dataclass_fields__})


def cap_cents(value: float | None) -> int | None:
    return None if value is None else int(to_cents(np.array(value)))


# --------------------------------------------------------------------------------------------
# Money is never lost


@FEW
@given(
    p=programs(),
    seed=st.integers(0, 2**32 - 1),
    periods=st.integers(2, 9),
    scaled=st.booleans(),
)
def test_money_is_never_lost(p, seed, periods, scaled):
    """The identities hold for any program, schedule and, with ``scaled``, a contingent
    rule's budget multiplier drawn per period and replication."""
    prog = Program.model_validate(p)
    cp = compile_program(prog, SEGMENTS)
    rng = np.random.default_rng(seed)
    R, N = 2, 5
    group = rng.integers(0, cp.n_groups, (R, N))
    state = initial_state(cp, group)
    schedule = PayoutSchedule.of(cp, periods)
    ledger = open_ledger(cp.budget, (R, N))
    accruals = Accruals.empty((R, N))
    total_accrued = np.zeros((R, N), dtype=np.int64)
    total_paid = np.zeros((R, N), dtype=np.int64)
    total_cut = np.zeros((R, N), dtype=np.int64)
    reserve_max = cap_cents(prog.budget.reserve.max)
    resolved = [prog.resolved(name.split("/")[0]) for name in cp.group_names]
    defer = cp.defer_shortfall[group]
    brought = np.zeros(R, dtype=np.int64)  # the budget of the periods since the last run

    for k in range(periods):
        m = random_metrics(rng, (R, N), len(cp.spiff_names))
        state, a = assess_period(cp, state, group, m)
        check_caps(resolved, group, a)
        total_accrued += a.accrued
        before = ledger
        pending = accruals.back_end + a.accrued - a.front_end
        scale = rng.choice([0.5, 1.0, 1.25, 3.0], R) if scaled else None
        if cp.budget.per_period is not None:
            per_period = round(cp.budget.per_period * 100)
            brought += np.rint(per_period * (1.0 if scale is None else scale)).astype(np.int64)
        ledger, accruals, settlement = close_accounts(
            schedule,
            cp.budget,
            ledger,
            accruals,
            group,
            k,
            a.accrued,
            a.front_end,
            m.revenue,
            budget_scale=scale,
        )
        settled = settlement.settled
        assert (settled == schedule.due(k)[group]).all()
        run = settlement.run
        if run is None:
            assert not a.front_end.any()
            assert not settled.any()
            continue
        if cp.budget.per_period is not None:
            assert (run.budget == brought + before.carried).all()
        brought[:] = 0
        paid_now = a.front_end + np.where(settled, pending, 0)
        assert (before.owed + paid_now == run.paid + run.cut + ledger.owed).all()
        lhs = run.reserve_before + run.budget + run.contribution + run.overrun
        rhs = run.paid.sum(axis=-1) + run.returned + run.reserve_after + run.carried
        assert (lhs == rhs).all()
        assert (run.reserve_after == ledger.reserve).all()
        assert (run.reserve_after >= 0).all()
        if reserve_max is not None:
            assert (run.reserve_after <= reserve_max).all()
        assert (run.paid >= 0).all()
        assert (run.cut >= 0).all()
        assert (run.deferred >= 0).all()
        assert (run.returned >= 0).all()
        assert (run.overrun >= 0).all()
        assert (run.paid >= a.front_end).all()  # front-end never cut
        assert (run.cut[defer] == 0).all()
        assert (run.deferred[~defer] == 0).all()
        assert (np.where(settled, 0, run.paid - a.front_end) == 0).all()  # others not settled
        for arr in (run.paid, run.cut, run.reserve_after, run.returned):
            assert arr.dtype == np.int64
        total_paid += run.paid
        total_cut += run.cut
    # The horizon's last close settles every group: nothing is left pending.
    assert (accruals.back_end == 0).all()
    assert (total_accrued == total_paid + total_cut + ledger.owed).all()


def check_caps(resolved: list[Program], group: np.ndarray, a) -> None:
    """Every component within its cap, for each partner's own (segment-resolved) program."""
    c = a.components
    for name in COMPONENTS:
        assert c[name].dtype == np.int64
    for name in ("rebate", "spiffs", "co_sell", "milestones", "true_up", "mdf"):
        assert (c[name] >= 0).all(), name
    performance = sum(c[k] for k in PERFORMANCE)
    assert (performance >= 0).all()
    assert (a.clawback_returns >= 0).all()
    assert (a.clawback_audit >= 0).all()
    assert (a.front_end <= c["rebate"]).all()
    assert (a.front_end >= 0).all()
    for g, p in enumerate(resolved):
        mine = group == g
        if p.rebate.cap is not None:
            assert (c["rebate"][mine] <= cap_cents(p.rebate.cap)).all()
        if p.co_sell.cap is not None:
            assert (c["co_sell"][mine] <= cap_cents(p.co_sell.cap)).all()
        if p.spiffs and all(s.cap is not None for s in p.spiffs.values()):
            limit = cap_cents(sum(s.cap for s in p.spiffs.values()))
            assert (c["spiffs"][mine] <= limit).all()
        if p.accelerators and all(
            x.cap is not None or x.kind == "decelerator" for x in p.accelerators.values()
        ):
            limit = cap_cents(sum(x.cap or 0.0 for x in p.accelerators.values()))
            assert (c["accelerators"][mine] <= limit).all()
        if p.partner_cap is not None:
            assert (performance[mine] <= cap_cents(p.partner_cap)).all()
        if p.mdf.cap is not None:
            assert (a.mdf_accrued[mine] <= cap_cents(p.mdf.cap)).all()
    assert (a.mdf_balance >= 0).all()


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(-(10**6), 10**7), min_size=1, max_size=6).flatmap(
        lambda acc: st.tuples(
            st.just(acc),
            st.lists(st.integers(0, 10**6), min_size=len(acc), max_size=len(acc)),
        )
    ),
    st.one_of(st.none(), st.integers(0, 10**5)),
    st.integers(0, 10**5),
    st.one_of(st.none(), st.integers(0, 2 * 10**5)),
    st.sampled_from([0.0, 0.5, 1.0]),
    st.integers(0, 10**4),
    st.sampled_from(["pro_rata", "defer"]),
)
def test_ledger_identities_for_random_runs(
    acc_front, per_period, initial, extra_max, share, fixed, policy
):
    accrued, front = acc_front
    accrued = np.array(accrued, dtype=np.int64)
    front = np.minimum(np.array(front, dtype=np.int64), np.maximum(accrued, 0))
    b = {
        "per_period": None if per_period is None else per_period / 100,
        "reserve": {
            "initial": initial / 100,
            "max": None if extra_max is None else (initial + extra_max) / 100,
            "contribution": {"unspent_share": share, "fixed_per_period": fixed / 100},
        },
        "shortfall_policy": policy,
    }
    budget = budget_terms(Program.model_validate({"tiers": {"t": {}}, "budget": b}).budget)
    ledger = open_ledger(budget, accrued.shape)
    for _ in range(3):
        before = ledger
        ledger, run = run_payout(budget, ledger, accrued, front, 1, defer=policy == "defer")
        assert (before.owed + accrued == run.paid + run.cut + ledger.owed).all()
        lhs = run.reserve_before + run.budget + run.contribution + run.overrun
        assert lhs == run.paid.sum() + run.returned + run.reserve_after
        assert run.reserve_after >= 0
        if extra_max is not None:
            assert run.reserve_after <= initial + extra_max
        assert (run.paid >= front).all()
        assert (run.cut >= 0).all()
        assert run.returned >= 0
        # Nobody is paid beyond what they are owed.
        assert (run.paid <= np.maximum(before.owed + accrued, front)).all()
        if per_period is None:
            assert (run.cut == 0).all()
            assert (run.deferred == 0).all()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(-5, 10**12), min_size=1, max_size=8),
    st.integers(0, 10**13),
)
def test_pro_rata_exact(due, available):
    d = np.array(due, dtype=np.int64)
    got = pro_rata(d, np.array(available, dtype=np.int64))
    positive = np.maximum(d, 0)
    total = int(positive.sum())
    assert int(got.sum()) == min(available, total)
    assert (got >= 0).all()
    assert (got <= positive).all()
    if total:
        # Within one cent of the exact share.
        for paid, owed in zip(got.tolist(), positive.tolist(), strict=True):
            exact = owed * min(available, total)
            assert paid * total <= exact + total
            assert paid * total >= exact - total


# --------------------------------------------------------------------------------------------
# Shape of the payout curve


@FEW
@given(p=programs(basis="marginal", budget=False), seed=st.integers(0, 2**32 - 1))
def test_marginal_earned_non_decreasing_in_revenue(p, seed):
    cp = compile_dict(p)
    rng = np.random.default_rng(seed)
    N = 6
    group = rng.integers(0, cp.n_groups, N)
    m = random_metrics(rng, (N,), len(cp.spiff_names))
    state = initial_state(cp, group)
    base = rng.uniform(0, 40000, N)
    levels = np.sort(np.concatenate([base[:, None], rng.uniform(0, 60000, (N, 8))], axis=1))
    earned = []
    accrued = []
    for j in range(levels.shape[1]):
        _, a = assess_period(cp, state, group, with_revenue(m, levels[:, j]))
        earned.append(a.earned)
        accrued.append(a.accrued)
        assert a.components["rebate"].min() >= 0
    earned = np.stack(earned, axis=1)
    accrued = np.stack(accrued, axis=1)
    assert (np.diff(earned, axis=1) >= 0).all(), (levels, earned)
    assert (np.diff(accrued, axis=1) >= 0).all()
    # The partner model's view of the same payout is non-decreasing too.
    tier = np.full(N, cp.n_tiers - 1)
    pay = np.stack(
        [performance_payout(cp, group, tier, levels[:, j], state.quota) for j in range(9)], axis=1
    )
    assert (np.diff(pay, axis=1) >= -1e-9).all()


@FEW
@given(tiers=tier_dicts(revenue_only=True), lookback=st.integers(1, 3), seed=st.integers(0, 999))
def test_retroactive_tiers_are_notches(tiers, lookback, seed):
    p = {"tiers": tiers, "evaluation": {"lookback_periods": lookback}}
    cp = compile_dict(p)
    rates = [t["rebate_rate"] for t in tiers.values()]
    thresholds = [t["requirements"]["revenue"] / lookback for t in tiers.values()]
    rng = np.random.default_rng(seed)
    revenue, expected_jump = [], []
    for k in range(1, len(tiers)):
        revenue += [thresholds[k] - 0.01, thresholds[k]]
        expected_jump.append((rates[k] - rates[k - 1]) * thresholds[k] * 100)
    # Pairs inside each tier's band, for linearity.
    bands = [*thresholds, thresholds[-1] + 50000.0]
    pairs = []
    for k in range(len(tiers)):
        lo, hi = bands[k], bands[k + 1] - 0.02
        r1, r2 = np.sort(rng.uniform(lo, hi, 2))
        pairs.append((k, r1, r2))
        revenue += [r1, r2]
    group = np.zeros(len(revenue), dtype=np.int64)
    _, a = assess_period(cp, initial_state(cp, group), group, PeriodMetrics.of(np.array(revenue)))
    earned = a.earned.tolist()
    for k in range(1, len(tiers)):
        below, at = earned[2 * (k - 1)], earned[2 * (k - 1) + 1]
        assert a.tier[2 * (k - 1) + 1] == k
        assert a.tier[2 * (k - 1)] == k - 1
        assert at - below >= expected_jump[k - 1] - 1
    offset = 2 * (len(tiers) - 1)
    for i, (k, r1, r2) in enumerate(pairs):
        e1, e2 = earned[offset + 2 * i], earned[offset + 2 * i + 1]
        assert a.tier[offset + 2 * i] == k
        assert abs((e2 - e1) - rates[k] * (r2 - r1) * 100) <= 1.0
        assert abs(e1 - rates[k] * r1 * 100) <= 0.5 + 1e-6


# --------------------------------------------------------------------------------------------
# Determinism and batch equivalence


@FEW
@given(p=programs(), seed=st.integers(0, 2**32 - 1), periods=st.integers(1, 6))
def test_batch_equals_rows_and_is_deterministic(p, seed, periods):
    cp = compile_dict(p)
    rng = np.random.default_rng(seed)
    R, N = 3, 4
    group = rng.integers(0, cp.n_groups, (R, N))
    batch = initial_state(cp, group)
    again = initial_state(cp, group)
    rows = [initial_state(cp, group[r]) for r in range(R)]
    for _ in range(periods):
        m = random_metrics(rng, (R, N), len(cp.spiff_names))
        pay, tier = anticipated_payout(
            cp, batch, group, m.revenue, m.new_logos, m.certified_staff, m.csat
        )
        batch, a = assess_period(cp, batch, group, m)
        # The partner model prices revenue with the same rules the close applies.
        np.testing.assert_array_equal(tier, a.tier)
        plain = (m.csat >= cp.csat_gate[group]) & (a.capped == 0)
        closed = a.components["rebate"] + a.components["accelerators"]
        assert np.abs(to_cents(pay) - closed)[plain].max(initial=0) <= 1
        again, b = assess_period(cp, again, group.copy(), m)
        for name in COMPONENTS:
            np.testing.assert_array_equal(a.components[name], b.components[name])
        for r in range(R):
            rows[r], ar = assess_period(cp, rows[r], group[r], row(m, r))
            for name in COMPONENTS:
                np.testing.assert_array_equal(a.components[name][r], ar.components[name])
            for field in ("tier", "accrued", "clawback", "mdf_balance", "front_end", "capped"):
                np.testing.assert_array_equal(getattr(a, field)[r], getattr(ar, field))
    for r in range(R):
        for field in ("tier", "quota", "last_rate", "streak", "mdf_funds", "ytd_rebate"):
            np.testing.assert_array_equal(getattr(batch, field)[r], getattr(rows[r], field))
