"""The rules engine: what a program pays each partner for a period, vectorised over partners.

The same functions run inside a simulation (arrays shaped ``(replications, partners)``) and over
real transactions (``(partners,)``): every array has partners on its last axis (before any
per-tier, per-SPIFF or per-milestone axis) and any leading batch axes.

A period close is :func:`assess_period`: tier evaluation (multi-metric, cadence, grace before
demotion, remediation), each payout component, caps, customer-satisfaction gates, clawbacks,
loyalty milestones, MDF and the annual true-up. Money leaves it as integer cents so that the
ledger (:mod:`incentsim.program.ledger`) can account to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from incentsim.program.compiled import GATEABLE, CompiledProgram

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Payout components, in statement order. ``mdf`` is the reimbursement of approved claims.
COMPONENTS = ("rebate", "accelerators", "spiffs", "co_sell", "milestones", "true_up", "mdf")

UNQUALIFIED = -1


def to_cents(amount: FloatArray) -> IntArray:
    """Round money to whole cents (half to even), as int64."""
    return np.rint(np.asarray(amount, dtype=np.float64) * 100.0).astype(np.int64)


@dataclass(frozen=True)
class PeriodMetrics:
    """What each partner did in one period (arrays ``(..., N)``; per-SPIFF ``(..., N, S)``).

    Parameters
    ----------
    revenue
        Invoiced revenue in the period (before returns).
    returns
        Revenue returned in the period (from sales of this or earlier periods).
    new_logos, certified_staff, csat
        Tier metrics: new customers won, certified staff (latest), satisfaction score 0-5.
    co_sell_revenue
        Revenue of registered deals worked jointly with the vendor.
    co_delivery
        Share of delivery the partner did itself on co-sold deals (for the co-delivery rule).
    spiff_revenue, spiff_deals
        Qualifying revenue and deal counts per SPIFF (inside its window, product, deal type).
    mdf_claims
        Marketing spend submitted and approved for reimbursement in the period.
    audited_co_sell_revenue, audited_spiff_revenue, audited_spiff_deals
        Earlier claims an audit found invalid in this period (duplicates, unregistered deals):
        what they earned is clawed back with the audit penalty.
    """

    revenue: FloatArray
    returns: FloatArray
    new_logos: FloatArray
    certified_staff: FloatArray
    csat: FloatArray
    co_sell_revenue: FloatArray
    co_delivery: FloatArray
    spiff_revenue: FloatArray
    spiff_deals: FloatArray
    mdf_claims: FloatArray
    audited_co_sell_revenue: FloatArray
    audited_spiff_revenue: FloatArray
    audited_spiff_deals: FloatArray

    @classmethod
    def of(cls, revenue: FloatArray, n_spiffs: int = 0, **given: FloatArray) -> PeriodMetrics:
        """Metrics from ``revenue`` plus any other fields; the rest default to neutral values
        (zero activity, full satisfaction, full co-delivery)."""
        revenue = np.asarray(revenue, dtype=np.float64)
        shape = revenue.shape
        defaults = {
            "csat": 5.0,
            "co_delivery": 1.0,
        }
        values: dict[str, FloatArray] = {}
        for name in cls.__dataclass_fields__:
            if name == "revenue":
                continue
            per_spiff = name.endswith(("spiff_revenue", "spiff_deals"))
            full = (*shape, n_spiffs) if per_spiff else shape
            if name in given:
                values[name] = np.broadcast_to(np.asarray(given.pop(name), dtype=np.float64), full)
            else:
                values[name] = np.full(full, defaults.get(name, 0.0))
        if given:
            raise TypeError(f"unknown metrics: {sorted(given)}")
        return cls(revenue=revenue, **values)


@dataclass(frozen=True)
class ProgramState:
    """Each partner's standing in the program between period closes (arrays ``(..., N, ...)``)."""

    period: int
    tier: IntArray
    below_count: IntArray
    below_entry_count: IntArray
    remediation_left: IntArray
    revenue_window: FloatArray  # (..., N, L), most recent last
    logos_window: FloatArray  # (..., N, L)
    quota: FloatArray
    last_rate: FloatArray
    streak: IntArray  # (..., N, M)
    shortfall: IntArray  # (..., N, M)
    milestone_done: BoolArray  # (..., N, M)
    mdf_funds: IntArray  # (..., N, E) cents, index 0 the newest
    ytd_revenue: FloatArray
    ytd_rebate: IntArray  # cents: the year's rebates before gates and partner cap, net of clawbacks


def initial_state(cp: CompiledProgram, group: IntArray) -> ProgramState:
    """A program's state before its first period: everyone unqualified, nothing accrued.

    Parameters
    ----------
    cp
        The compiled program.
    group
        Each partner's group index, ``(..., N)``.
    """
    group = np.asarray(group, dtype=np.int64)
    t = cp.at(group)
    shape = group.shape
    n_ms = len(cp.milestone_names)
    return ProgramState(
        period=0,
        tier=np.full(shape, UNQUALIFIED, dtype=np.int64),
        below_count=np.zeros(shape, dtype=np.int64),
        below_entry_count=np.zeros(shape, dtype=np.int64),
        remediation_left=np.zeros(shape, dtype=np.int64),
        revenue_window=np.zeros((*shape, cp.window)),
        logos_window=np.zeros((*shape, cp.window)),
        quota=np.maximum(t.quota_amount, t.quota_floor),
        last_rate=np.zeros(shape),
        streak=np.zeros((*shape, n_ms), dtype=np.int64),
        shortfall=np.zeros((*shape, n_ms), dtype=np.int64),
        milestone_done=np.zeros((*shape, n_ms), dtype=np.bool_),
        mdf_funds=np.zeros((*shape, cp.mdf_buckets), dtype=np.int64),
        ytd_revenue=np.zeros(shape),
        ytd_rebate=np.zeros(shape, dtype=np.int64),
    )


@dataclass(frozen=True)
class Assessment:
    """The outcome of one period close, per partner (``(..., N)``; money in int64 cents).

    ``components`` maps each name in :data:`COMPONENTS` to what the partner earned after caps and
    gates. ``earned`` is their sum, ``clawback`` what was taken back (returns and audits),
    ``accrued = earned - clawback`` what the ledger owes (negative: the partner owes the vendor).
    ``front_end`` is the part of ``accrued`` paid on invoice, outside the payout run.
    """

    tier: IntArray
    previous_tier: IntArray
    qualified_tier: IntArray
    evaluated: BoolArray
    in_grace: BoolArray
    in_remediation: BoolArray
    components: dict[str, IntArray]
    capped: IntArray
    gated: IntArray
    clawback_returns: IntArray
    clawback_audit: IntArray
    milestones_earned: IntArray  # (..., N, M) 0/1
    mdf_accrued: IntArray
    mdf_expired: IntArray
    mdf_balance: IntArray
    front_end: IntArray
    extras: dict[str, FloatArray] = field(default_factory=dict)

    @property
    def earned(self) -> IntArray:
        """Sum of components after caps and gates."""
        return sum(self.components.values())  # type: ignore[return-value]

    @property
    def clawback(self) -> IntArray:
        """Everything clawed back this period."""
        return self.clawback_returns + self.clawback_audit

    @property
    def accrued(self) -> IntArray:
        """What the period adds to the partner's account: earned minus clawbacks."""
        return self.earned - self.clawback


# --------------------------------------------------------------------------------------------
# Tier qualification


def qualified_tier(
    cp: CompiledProgram,
    group: IntArray,
    revenue: FloatArray,
    new_logos: FloatArray,
    certified_staff: FloatArray,
    csat: FloatArray,
    scale: FloatArray | float = 1.0,
) -> IntArray:
    """Highest tier whose every requirement is met (``-1``: none).

    Requirements are non-decreasing across tiers, so meeting tier k implies meeting every lower
    tier and the highest tier met is the count of tiers met minus one. ``scale`` multiplies the
    requirements (the maintenance fraction, or the year's length for the true-up).
    """
    t = cp.at(group)
    eps = 1e-9
    if np.ndim(scale) == 0 and float(scale) == 1.0:
        meets = revenue[..., None] >= t.req_revenue - eps
        if t.requires["new_logos"]:
            meets &= new_logos[..., None] >= t.req_new_logos - eps
    else:
        scale = np.asarray(scale)[..., None]
        meets = revenue[..., None] >= t.req_revenue * scale - eps
        if t.requires["new_logos"]:
            meets &= new_logos[..., None] >= t.req_new_logos * scale - eps
    flow = meets.sum(axis=-1)
    if t.requires["certified_staff"] or t.requires["csat"]:
        flow = np.minimum(flow, t.stock_tiers(certified_staff, csat))
    return flow.astype(np.int64) - 1


def rebate_on(
    cp: CompiledProgram,
    group: IntArray,
    tier: IntArray,
    revenue: FloatArray,
    thresholds: FloatArray | None = None,
) -> FloatArray:
    """Rebate a partner holding ``tier`` earns on ``revenue`` (before caps).

    Retroactive basis: all revenue at the tier's rate (a notch). Marginal basis: each slice of
    revenue between consecutive tier thresholds at that slice's tier rate, and everything above
    the held tier's threshold at the held tier's rate (brackets).
    """
    t = cp.at(group)
    held = np.maximum(tier, 0)
    qualified = tier >= 0
    rates = t.rebate_rate  # (..., N, T)
    retro = np.where(qualified, t.at_tier(rates, tier) * revenue, 0.0)
    if not t.any_marginal:
        return retro
    thr = t.tier_threshold if thresholds is None else thresholds
    k = np.arange(cp.n_tiers)
    upper = np.concatenate([thr[..., 1:], np.full((*thr.shape[:-1], 1), np.inf)], axis=-1)
    upper = np.where(k == held[..., None], np.inf, upper)
    slices = np.clip(revenue[..., None] - thr, 0.0, upper - thr)
    marginal = np.where(k <= held[..., None], rates * slices, 0.0).sum(axis=-1)
    return np.where(qualified, np.where(t.marginal, marginal, retro), 0.0)


def _accelerator_extras(
    cp: CompiledProgram,
    group: IntArray,
    tier: IntArray,
    revenue: FloatArray,
    quota: FloatArray,
) -> FloatArray:
    """Each accelerator's (positive) or decelerator's (negative) payout before caps,
    ``(..., N, A)``.

    An accelerator pays ``multiplier - 1`` times the rebate earned on revenue above its threshold;
    a decelerator pays ``multiplier - 1`` (negative) times the rebate earned on revenue below it,
    after the rebate cap (a decelerator reduces what the rebate pays, so past the cap more revenue
    must not take more off). Defining both on the rebate earned keeps payout non-decreasing in
    revenue under brackets.
    """
    t = cp.at(group)
    n_acc = len(cp.accelerator_names)
    if n_acc == 0:
        return np.zeros((*revenue.shape, 0))
    thr = np.where(
        t.acc_quota_fraction > 0,
        t.acc_quota_fraction * quota[..., None],
        t.acc_threshold,
    )
    total = rebate_on(cp, group, tier, revenue)[..., None]
    below = np.stack(
        [rebate_on(cp, group, tier, np.minimum(revenue, thr[..., a])) for a in range(n_acc)],
        axis=-1,
    )
    mult = t.acc_multiplier
    below_capped = np.minimum(below, t.rebate_cap[..., None])
    return np.where(mult >= 1.0, (mult - 1.0) * (total - below), (mult - 1.0) * below_capped)


def accelerator_payouts(
    cp: CompiledProgram,
    group: IntArray,
    tier: IntArray,
    revenue: FloatArray,
    quota: FloatArray,
) -> FloatArray:
    """Each accelerator's or decelerator's payout after the accelerator caps, ``(..., N, A)``."""
    t = cp.at(group)
    return np.minimum(_accelerator_extras(cp, group, tier, revenue, quota), t.acc_cap)


def performance_payout(
    cp: CompiledProgram,
    group: IntArray,
    tier: IntArray,
    revenue: FloatArray,
    quota: FloatArray,
) -> FloatArray:
    """Rebate plus accelerators on ``revenue`` after their caps and the partner cap.

    This is what a partner can anticipate from selling more in the period, and the partner model
    evaluates it at hypothetical revenues to find the marginal reward of effort.
    """
    t = cp.at(group)
    rebate = np.minimum(rebate_on(cp, group, tier, revenue), t.rebate_cap)
    acc = accelerator_payouts(cp, group, tier, revenue, quota)
    # As at the close: decelerators take at most the rebate, accelerators add on top.
    net_rebate = np.maximum(rebate + np.minimum(acc, 0.0).sum(axis=-1), 0.0)
    return np.minimum(net_rebate + np.maximum(acc, 0.0).sum(axis=-1), t.partner_cap)


def anticipated_payout(
    cp: CompiledProgram,
    state: ProgramState,
    group: IntArray,
    revenue: FloatArray,
    new_logos: FloatArray,
    certified_staff: FloatArray,
    csat: FloatArray,
) -> tuple[FloatArray, IntArray]:
    """Rebate plus accelerators the period would pay if it closed with ``revenue``, and the tier
    that revenue would earn (grace, cadence and remediation included).

    Partners call this at hypothetical revenues to see the reward of selling more or of moving
    deals across the period end: the same rules that pay them, not an approximation.
    """
    revenue_window = np.concatenate([state.revenue_window[..., 1:], revenue[..., None]], axis=-1)
    logos_window = np.concatenate([state.logos_window[..., 1:], new_logos[..., None]], axis=-1)
    tier = evaluate_tiers(
        cp, state, group, certified_staff, csat, revenue_window, logos_window
    ).tier
    return performance_payout(cp, group, tier, revenue, state.quota), tier


# --------------------------------------------------------------------------------------------
# Period close


def _qualifying(
    cp: CompiledProgram,
    state: ProgramState,
    group: IntArray,
    certified_staff: FloatArray,
    csat: FloatArray,
    revenue_window: FloatArray,
    logos_window: FloatArray,
) -> tuple[IntArray, IntArray]:
    """Tier the window's metrics qualify for, and the tier they maintain (hysteresis)."""
    t = cp.at(group)
    lookback = t.lookback
    seen = min(state.period + 1, cp.window)
    # Sum of the last `lookback` periods, annualised to the full window while history is short.
    run_rate = lookback / np.minimum(lookback, seen)
    if t.full_window:
        rev_q = revenue_window.sum(axis=-1) * run_rate
        logos_q = logos_window.sum(axis=-1) * run_rate
    else:
        in_window = np.arange(cp.window) >= (cp.window - lookback)[..., None]
        rev_q = np.where(in_window, revenue_window, 0.0).sum(axis=-1) * run_rate
        logos_q = np.where(in_window, logos_window, 0.0).sum(axis=-1) * run_rate
    earned = qualified_tier(cp, group, rev_q, logos_q, certified_staff, csat)
    if not t.any_hysteresis:
        return earned, earned
    keeps = qualified_tier(cp, group, rev_q, logos_q, certified_staff, csat, t.maintain_fraction)
    return earned, keeps


@dataclass(frozen=True)
class TierTransition:
    """How each partner's tier moves at a period close (arrays ``(..., N)``)."""

    tier: IntArray
    qualified: IntArray
    evaluated: BoolArray
    in_grace: BoolArray
    in_remediation: BoolArray
    below_count: IntArray
    below_entry_count: IntArray
    remediation_left: IntArray


def evaluate_tiers(
    cp: CompiledProgram,
    state: ProgramState,
    group: IntArray,
    certified_staff: FloatArray,
    csat: FloatArray,
    revenue_window: FloatArray,
    logos_window: FloatArray,
) -> TierTransition:
    """Tier status after this period's evaluation, with grace and remediation.

    The windows hold each partner's revenue and new logos over the last periods, this period
    last. Promotion is immediate; a partner below its tier's (maintenance) requirements keeps
    the tier for ``grace`` evaluations, then drops to the tier it qualifies for, unless a
    remediation plan protects it. Between evaluations (``cadence``) nothing changes. The first
    close is always an evaluation: before it nobody holds a tier, and waiting ``cadence`` periods
    would leave every partner unqualified (and unpaid) until then.
    """
    t = cp.at(group)
    earned, keeps = _qualifying(
        cp, state, group, certified_staff, csat, revenue_window, logos_window
    )
    current = state.tier
    evaluated = ((state.period + 1) % t.cadence == 0) | (state.period == 0)

    promote = earned > current
    below = ~promote & (keeps < current)
    below_count = np.where(below, state.below_count + 1, 0)
    demote = below & (below_count > t.grace)

    # Remediation: partners below the entry tier get a plan instead of a cut-off.
    below_entry = earned < 0
    below_entry_count = np.where(below_entry, state.below_entry_count + 1, 0)
    if t.any_remediation:
        start_plan = (
            t.remediation
            & below_entry
            & (current >= 0)
            & (state.remediation_left == 0)
            & (below_entry_count >= t.remediation_trigger)
        )
        remediation_left = np.where(
            start_plan, t.remediation_duration, np.maximum(state.remediation_left - 1, 0)
        )
        remediation_left = np.where(below_entry, remediation_left, 0)
        protected = remediation_left > 0
        demote &= ~protected
    else:
        remediation_left = state.remediation_left
        protected = np.zeros_like(below)

    tier = np.where(evaluated, np.where(promote | demote, earned, current), current)
    if t.every_period:
        return TierTransition(
            tier=tier,
            qualified=earned,
            evaluated=evaluated,
            in_grace=below & ~demote & ~protected,
            in_remediation=protected,
            below_count=np.where(demote, 0, below_count),
            below_entry_count=below_entry_count,
            remediation_left=remediation_left,
        )
    keep = ~evaluated
    return TierTransition(
        tier=tier,
        qualified=np.where(evaluated, earned, current),
        evaluated=evaluated,
        in_grace=np.where(keep, False, below & ~demote & ~protected),
        in_remediation=np.where(keep, state.remediation_left > 0, protected),
        below_count=np.where(keep, state.below_count, np.where(demote, 0, below_count)),
        below_entry_count=np.where(keep, state.below_entry_count, below_entry_count),
        remediation_left=np.where(keep, state.remediation_left, remediation_left),
    )


def _milestones(
    cp: CompiledProgram, state: ProgramState, group: IntArray, tier: IntArray
) -> tuple[IntArray, IntArray, BoolArray, IntArray]:
    """Advance loyalty streaks; return new streak, shortfall, done flags and rewards earned."""
    t = cp.at(group)
    if not cp.milestone_names:
        zeros = np.zeros((*tier.shape, 0), dtype=np.int64)
        return zeros, zeros, zeros.astype(np.bool_), zeros
    at_level = tier[..., None] >= t.ms_tier
    shortfall = np.where(at_level, 0, state.shortfall + 1)
    lapsed = ~at_level & (shortfall > t.ms_tolerance)
    streak = np.where(at_level, state.streak + 1, state.streak)
    streak = np.where(lapsed, np.where(t.ms_step, np.maximum(streak - 1, 0), 0), streak)
    reached = (streak >= t.ms_length) & ~state.milestone_done
    done = state.milestone_done | (reached & ~t.ms_repeatable)
    streak = np.where(reached, 0, streak)
    return streak, shortfall, done, reached.astype(np.int64)


def _mdf(
    cp: CompiledProgram,
    state: ProgramState,
    group: IntArray,
    tier: IntArray,
    metrics: PeriodMetrics,
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Accrue MDF, reimburse approved claims oldest funds first, expire old funds.

    Returns the new fund buckets, the accrual, the reimbursement and what expired (all cents).
    """
    t = cp.at(group)
    rate = t.at_tier(t.mdf_rate, tier)
    accrual = to_cents(np.minimum(np.where(tier >= 0, rate * metrics.revenue, 0.0), t.mdf_cap))
    funds = state.mdf_funds.copy()
    funds[..., 1:] = state.mdf_funds[..., :-1]  # age every bucket by one period
    funds[..., 0] = accrual
    aged_out = state.mdf_funds[..., -1]
    expiry = t.mdf_expiry
    ages = np.arange(funds.shape[-1])
    expired_now = np.where(ages >= expiry[..., None], funds, 0)
    funds -= expired_now
    claim = to_cents(metrics.mdf_claims * t.mdf_reimbursement)
    # Draw the claim from the oldest bucket first.
    remaining = claim.copy()
    for age in range(funds.shape[-1] - 1, -1, -1):
        take = np.minimum(funds[..., age], remaining)
        funds[..., age] -= take
        remaining -= take
    reimbursed = claim - remaining
    return funds, accrual, reimbursed, expired_now.sum(axis=-1) + aged_out


def assess_period(
    cp: CompiledProgram,
    state: ProgramState,
    group: IntArray,
    metrics: PeriodMetrics,
    periods_per_year: int = 4,
) -> tuple[ProgramState, Assessment]:
    """Close one period: evaluate tiers and compute every payout component for every partner.

    Parameters
    ----------
    cp
        The compiled program.
    state
        Partners' standing before this period (from :func:`initial_state` or the previous call).
    group
        Each partner's group index, ``(..., N)``.
    metrics
        What partners did this period.
    periods_per_year
        For the annual true-up at the end of each program year.

    Returns
    -------
    (ProgramState, Assessment)
        The state after the close and what the period paid and why.
    """
    group = np.asarray(group, dtype=np.int64)
    t = cp.at(group)
    revenue = metrics.revenue
    revenue_window = np.concatenate([state.revenue_window[..., 1:], revenue[..., None]], axis=-1)
    logos_window = np.concatenate(
        [state.logos_window[..., 1:], metrics.new_logos[..., None]], axis=-1
    )
    move = evaluate_tiers(
        cp, state, group, metrics.certified_staff, metrics.csat, revenue_window, logos_window
    )
    tier = move.tier

    # Rebate and accelerators (front-end rebates are the same amount, paid on invoice).
    raw_rebate = rebate_on(cp, group, tier, revenue)
    rebate = np.minimum(raw_rebate, t.rebate_cap)
    raw_acc = _accelerator_extras(cp, group, tier, revenue, state.quota)
    acc_each = np.minimum(raw_acc, t.acc_cap)
    acc_up = np.maximum(acc_each, 0.0).sum(axis=-1)
    # Decelerators reduce the rebate: together they never take more than the rebate pays.
    acc_down = np.maximum(np.minimum(acc_each, 0.0).sum(axis=-1), -rebate)
    acc = acc_up + acc_down
    # SPIFFs and co-selling.
    raw_spiffs = t.spiff_per_deal * metrics.spiff_deals + t.spiff_uplift * metrics.spiff_revenue
    spiffs = np.minimum(raw_spiffs, t.spiff_cap).sum(axis=-1)
    co_sell_ok = (tier >= t.co_sell_min_tier) & (metrics.co_delivery >= t.co_delivery_share)
    raw_co_sell = np.where(co_sell_ok, t.co_sell_rate * metrics.co_sell_revenue, 0.0)
    co_sell = np.minimum(raw_co_sell, t.co_sell_cap)
    # Milestones.
    streak, shortfall, done, reached = _milestones(cp, state, group, tier)
    milestones = (reached * t.ms_reward).sum(axis=-1)

    # Customer-satisfaction gate scales the gated components.
    failing = metrics.csat < t.csat_gate
    gate = np.where(
        failing[..., None] & t.csat_gate_applies,
        t.csat_gate_fraction[..., None],
        1.0,
    )
    parts = {
        "rebate": rebate,
        "accelerators": acc,
        "spiffs": spiffs,
        "co_sell": co_sell,
        "milestones": milestones,
    }
    gated_parts = {k: v * gate[..., i] for i, (k, v) in enumerate(parts.items())}
    assert tuple(parts) == GATEABLE
    # A decelerator is part of the rebate: the rebate's gate scales it, not the accelerators'
    # (scaling a reduction by a failed gate would pay the failing partner more).
    gated_parts["accelerators"] = acc_up * gate[..., 1] + acc_down * gate[..., 0]

    # Clawbacks: returns at the rate last paid; audited claims at current rates plus penalty.
    claw_returns = np.where(t.clawback_on_returns, to_cents(metrics.returns * state.last_rate), 0)
    audited = np.minimum(
        t.spiff_per_deal * metrics.audited_spiff_deals
        + t.spiff_uplift * metrics.audited_spiff_revenue,
        t.spiff_cap,
    ).sum(axis=-1) + np.minimum(t.co_sell_rate * metrics.audited_co_sell_revenue, t.co_sell_cap)
    claw_audit = to_cents(audited * (1.0 + t.audit_penalty))

    # Annual true-up: the rebate the year's (net) revenue earns at the year's tier, within the
    # rebate cap for a year, less the year's rebates net of return clawbacks. Rebates count
    # before gates and the partner cap (``ytd_rebate``), so the true-up never repays what a gate
    # or cap withheld, and the rebate's gate this period scales it.
    year_end = (state.period + 1) % periods_per_year == 0
    ytd_revenue = state.ytd_revenue + revenue - metrics.returns
    ytd_rebate_before = state.ytd_rebate
    annual_scale = periods_per_year / t.lookback
    annual_tier = qualified_tier(
        cp,
        group,
        ytd_revenue,
        np.full_like(revenue, np.inf),
        metrics.certified_staff,
        metrics.csat,
        scale=annual_scale,
    )
    annual_tier = np.maximum(annual_tier, UNQUALIFIED)
    annual_rebate = rebate_on(
        cp,
        group,
        annual_tier,
        np.maximum(ytd_revenue, 0.0),
        thresholds=t.req_revenue * annual_scale[..., None],
    )
    annual_due = to_cents(np.minimum(annual_rebate, t.rebate_cap * periods_per_year))
    rebate_basis = to_cents(rebate)
    ytd_rebate = ytd_rebate_before + rebate_basis - claw_returns
    true_up = np.maximum(annual_due - ytd_rebate, 0)
    true_up_on = year_end & cp.program.budget.true_up.enabled

    # Round each component to cents; caps on the partner's total take the excess off the top.
    cents = {k: to_cents(v) for k, v in gated_parts.items()}
    # The rebate net of decelerators is rounded as one amount, so that rounding the two parts
    # separately cannot make a little more revenue pay a cent less.
    cents["accelerators"] = (
        to_cents(acc_up * gate[..., 1]) + to_cents((rebate + acc_down) * gate[..., 0])
    ) - cents["rebate"]
    cents["true_up"] = np.where(true_up_on, np.rint(true_up * gate[..., 0]).astype(np.int64), 0)
    true_up_gated = np.where(true_up_on, true_up, 0) - cents["true_up"]
    performance = sum(cents.values())
    cap = to_cents(np.minimum(t.partner_cap, 1e15))
    over = np.maximum(performance - cap, 0)
    # Take the partner-cap excess from components in reverse statement order.
    remaining_over = over
    for name in ("true_up", "milestones", "co_sell", "spiffs", "accelerators", "rebate"):
        take = np.clip(remaining_over, 0, np.maximum(cents[name], 0))
        cents[name] = cents[name] - take
        remaining_over = remaining_over - take
    funds, mdf_accrual, mdf_reimbursed, mdf_expired = _mdf(cp, state, group, tier, metrics)
    cents["mdf"] = mdf_reimbursed
    components = {name: cents[name] for name in COMPONENTS}

    component_capped = (
        to_cents(raw_rebate - rebate)
        + to_cents(raw_acc.sum(axis=-1) - acc_each.sum(axis=-1))
        + to_cents(raw_spiffs.sum(axis=-1) - spiffs)
        + to_cents(raw_co_sell - co_sell)
    )
    gated = sum(to_cents(v - gated_parts[k]) for k, v in parts.items()) + true_up_gated

    effective_rate = np.divide(
        components["rebate"] / 100.0, revenue, out=state.last_rate.copy(), where=revenue > 0
    )
    quota = np.where(
        t.quota_prior,
        np.maximum(revenue * (1.0 + t.quota_growth), t.quota_floor),
        state.quota,
    )
    new_state = replace(
        state,
        period=state.period + 1,
        tier=tier,
        below_count=move.below_count,
        below_entry_count=move.below_entry_count,
        remediation_left=move.remediation_left,
        revenue_window=revenue_window,
        logos_window=logos_window,
        quota=quota,
        last_rate=effective_rate,
        streak=streak,
        shortfall=shortfall,
        milestone_done=done,
        mdf_funds=funds,
        ytd_revenue=np.where(year_end, 0.0, ytd_revenue),
        ytd_rebate=np.where(year_end, 0, ytd_rebate),
    )
    assessment = Assessment(
        tier=tier,
        previous_tier=state.tier,
        qualified_tier=move.qualified,
        evaluated=np.broadcast_to(move.evaluated, tier.shape),
        in_grace=move.in_grace,
        in_remediation=move.in_remediation,
        components=components,
        capped=component_capped + over,
        gated=gated,
        clawback_returns=claw_returns,
        clawback_audit=claw_audit,
        milestones_earned=reached,
        mdf_accrued=mdf_accrual,
        mdf_expired=mdf_expired,
        mdf_balance=funds.sum(axis=-1),
        front_end=np.where(t.front_end, components["rebate"], 0),
    )
    return new_state, assessment
