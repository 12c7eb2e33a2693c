"""The rules engine: what a program pays each partner for a period, vectorised over partners.

The same functions run inside a simulation (arrays shaped ``(replications, partners)``) and over
real transactions (``(partners,)``): every array has partners on its last axis (before any
per-tier, per-SPIFF or per-milestone axis) and any leading batch axes.

A period close is :func:`assess_period`: tier evaluation (multi-metric, cadence, grace before
demotion, remediation), each payout component, caps, customer-satisfaction gates, clawbacks,
loyalty milestones, category awards (:mod:`incentsim.program.awards`), MDF, the annual true-up
and the components on horizons of their own (:mod:`incentsim.program.horizons`). Money leaves it
as integer cents so that the ledger (:mod:`incentsim.program.ledger`) can account to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from incentsim.program.awards import AwardState, assess_awards, initial_awards
from incentsim.program.compiled import (
    GATEABLE,
    REQUIREMENT_TOLERANCE,
    CompiledProgram,
    PartnerTerms,
)
from incentsim.program.horizons import (
    HorizonPay,
    HorizonState,
    assess_horizons,
    initial_horizons,
)
from incentsim.program.windows import assess_bonuses
from incentsim.quantities import from_cents, to_cents

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Payout components, in statement order. ``mdf`` is the reimbursement of approved claims.
COMPONENTS = (
    "rebate",
    "accelerators",
    "spiffs",
    "co_sell",
    "milestones",
    "pacers",
    "bonuses",
    "true_up",
    "mdf",
    "awards",
)

UNQUALIFIED = -1


def put_where(target: NDArray[Any], mask: BoolArray, values: NDArray[Any] | float) -> NDArray[Any]:
    """``np.where(mask, values, target)`` written into ``target``, an array of the result's
    shape and dtype that the caller owns.

    The same numbers, without a new array, and several times faster than :func:`numpy.where`
    when ``mask`` is irregular (as which partners qualify, or gain from an option, is).
    """
    same_shape = np.shape(mask) == target.shape
    if same_shape and (np.ndim(values) == 0 or np.shape(values) == target.shape):
        np.putmask(target, mask, values)
    else:
        np.copyto(target, values, where=mask)
    return target


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
    week_revenue
        Invoiced revenue by week of the period ``(..., N, W)``, for the bonuses on windows
        shorter than the period (:mod:`incentsim.program.windows`); ``W`` is 0 when the program
        has no bonus.
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
    week_revenue: FloatArray

    @classmethod
    def of(cls, revenue: FloatArray, n_spiffs: int = 0, **given: FloatArray) -> PeriodMetrics:
        """Metrics from ``revenue`` plus any other fields; the rest default to neutral values
        (zero activity, full satisfaction, full co-delivery; no revenue by week)."""
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
            if name == "week_revenue":
                full = (*shape, np.shape(given.get(name, np.zeros((*shape, 0))))[-1])
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
    horizons: HorizonState | None = (
        None  # progress on horizon components (None: the program has none)
    )
    awards: AwardState | None = None  # the category awards' windows (None without awards)


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
        horizons=initial_horizons(cp, shape),
        awards=initial_awards(cp.awards, shape),
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
    #: Per partner and award ``(..., N, K)``: won, rank in its pool (0 first, -1 unranked) and
    #: the partners ranked there (see :class:`~incentsim.program.awards.AwardResult`).
    awards_won: BoolArray | None = None
    award_rank: IntArray | None = None
    award_ranked: IntArray | None = None

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
    return _qualified_tier(cp.at(group), revenue, new_logos, certified_staff, csat, scale)


def _qualified_tier(
    t: PartnerTerms,
    revenue: FloatArray,
    new_logos: FloatArray,
    certified_staff: FloatArray,
    csat: FloatArray,
    scale: FloatArray | float = 1.0,
) -> IntArray:
    """:func:`qualified_tier` with the terms already gathered.

    Every metric's requirements rise with the tier, so the tiers met on all metrics are as
    many as the fewest met on any one (:meth:`PartnerTerms.tiers_met`); the metrics other than
    revenue are counted once for the hypothetical revenues a partner weighs in a week.
    """
    if np.ndim(scale) == 0 and float(scale) == 1.0:
        flow = t.tiers_met("revenue", revenue)
        allowed = t.tiers_allowed(new_logos, certified_staff, csat)
    else:
        flow = t.tiers_met("revenue", revenue, scale)
        if t.requires["new_logos"]:
            flow = np.minimum(flow, _logos_met(t, new_logos, scale))
        allowed = t.tiers_allowed(None, certified_staff, csat)
    if allowed is not None:
        flow = np.minimum(flow, allowed)
    return flow - 1


def _logos_met(t: PartnerTerms, new_logos: FloatArray, scale: FloatArray | float) -> IntArray:
    """Tiers met on new logos with requirements scaled, remembered for the same arrays."""
    if isinstance(scale, np.ndarray):
        return t.tiers_met_seen("new_logos", new_logos, scale)
    return t.tiers_met("new_logos", new_logos, scale)


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
    rate = t.at_tier(t.rebate_rate, tier)
    return _rebate_on(t, tier, _holds_tier(tier), revenue, rate, thresholds)


def _holds_tier(tier: IntArray) -> IntArray:
    """Per partner, all 64 bits set if it holds a tier and none if not (``tier < 0``): a mask
    for :func:`_zero_unqualified`."""
    return ~(np.asarray(tier, dtype=np.int64) >> 63)


def _zero_unqualified(values: FloatArray, holds: IntArray) -> FloatArray:
    """``np.where(tier >= 0, values, 0.0)`` written into ``values`` (a float64 array the caller
    owns), by clearing every bit where ``holds`` (:func:`_holds_tier`) has none.

    The same numbers, several times faster when who holds a tier is irregular.
    """
    bits = values.view(np.int64)
    np.bitwise_and(bits, holds, out=bits)
    return values


def sum_last(values: FloatArray) -> FloatArray:
    """``values.sum(axis=-1)`` for float64 ``values``, faster when the last axis is short (a
    few accelerators or SPIFFs): numpy adds fewer than 8 numbers one after another from 0.0
    (pairwise summation only splits longer runs), as here, so the numbers are the same."""
    n = values.shape[-1]
    if values.dtype != np.float64 or not 0 < n < 8:
        summed: FloatArray = values.sum(axis=-1)
        return summed
    total = 0.0 + values[..., 0]
    for k in range(1, n):
        total += values[..., k]
    return total


def _rebate_on(
    t: PartnerTerms,
    tier: IntArray,
    holds: IntArray,
    revenue: FloatArray,
    rate: FloatArray,
    thresholds: FloatArray | None = None,
) -> FloatArray:
    """:func:`rebate_on` with the terms gathered, whether each partner holds a tier
    (``holds``, see :func:`_holds_tier`) and the held tier's ``rate`` already read."""
    retro = _zero_unqualified(rate * revenue, holds)
    if not t.any_marginal:
        return retro
    rates = t.rebate_rate  # (..., N, T)
    held = np.maximum(tier, 0)
    thr = t.tier_threshold if thresholds is None else thresholds
    k = np.arange(rates.shape[-1])
    upper = np.concatenate([thr[..., 1:], np.full((*thr.shape[:-1], 1), np.inf)], axis=-1)
    upper = np.where(k == held[..., None], np.inf, upper)
    slices = np.clip(revenue[..., None] - thr, 0.0, upper - thr)
    marginal = np.where(k <= held[..., None], rates * slices, 0.0).sum(axis=-1)
    return _zero_unqualified(np.where(t.marginal, marginal, retro), holds)


def _accelerator_thresholds(t: PartnerTerms, quota: FloatArray) -> FloatArray:
    """Each accelerator's revenue threshold, ``(..., N, A)``: fixed, or a fraction of quota."""
    return np.where(
        t.acc_quota_fraction > 0,
        t.acc_quota_fraction * quota[..., None],
        t.acc_threshold,
    )


def _rebate_and_extras(
    t: PartnerTerms, tier: IntArray, revenue: FloatArray, thresholds: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The rebate before caps, and each accelerator's (positive) or decelerator's (negative)
    payout before the accelerator caps, ``(..., N, A)``.

    An accelerator pays ``multiplier - 1`` times the rebate earned on revenue above its threshold;
    a decelerator pays ``multiplier - 1`` (negative) times the rebate earned on revenue below it,
    after the rebate cap (a decelerator reduces what the rebate pays, so past the cap more revenue
    must not take more off). Defining both on the rebate earned keeps payout non-decreasing in
    revenue under brackets.
    """
    rate = t.at_tier(t.rebate_rate, tier)
    holds = _holds_tier(tier)
    total = _rebate_on(t, tier, holds, revenue, rate)
    n_acc = thresholds.shape[-1]
    if n_acc == 0:
        return total, np.zeros((*total.shape, 0))
    # One accelerator at a time: ``(..., N)`` arrays rather than a short last axis to broadcast.
    extras = [
        _extra(
            t, a, total, _rebate_on(t, tier, holds, np.minimum(revenue, thresholds[..., a]), rate)
        )
        for a in range(n_acc)
    ]
    return total, extras[0][..., None] if n_acc == 1 else np.stack(extras, axis=-1)


def _extra(t: PartnerTerms, a: int, total: FloatArray, below: FloatArray) -> FloatArray:
    """Accelerator ``a``'s payout before its cap (see :func:`_rebate_and_extras`), from the
    rebate before caps (``total``) and the rebate on revenue up to its threshold (``below``)."""
    excess = t.acc_excess[..., a]
    if t.acc_all_up[a]:
        return excess * (total - below)
    below_capped = below if t.rebate_uncapped else np.minimum(below, t.rebate_cap)
    if t.acc_all_down[a]:
        return excess * below_capped
    return np.where(t.acc_up[..., a], excess * (total - below), excess * below_capped)


def _capped_accelerators(t: PartnerTerms, payouts: FloatArray) -> FloatArray:
    """Each accelerator's payout within its cap, and each decelerator's reduction within its
    cap (the most it can take off), ``(..., N, A)``."""
    capped = np.minimum(payouts, t.acc_cap)
    if all(t.acc_all_up) or t.acc_uncapped:
        return capped
    return np.where(t.acc_up, capped, np.maximum(payouts, -t.acc_cap))


def accelerator_payouts(
    cp: CompiledProgram,
    group: IntArray,
    tier: IntArray,
    revenue: FloatArray,
    quota: FloatArray,
) -> FloatArray:
    """Each accelerator's or decelerator's payout after the accelerator caps, ``(..., N, A)``."""
    t = cp.at(group)
    _, extras = _rebate_and_extras(t, tier, revenue, _accelerator_thresholds(t, quota))
    return _capped_accelerators(t, extras)


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
    return _performance_payout(t, tier, revenue, _accelerator_thresholds(t, quota))


def _performance_payout(
    t: PartnerTerms, tier: IntArray, revenue: FloatArray, thresholds: FloatArray
) -> FloatArray:
    """:func:`performance_payout` with the terms gathered and the accelerator thresholds set."""
    return _performance_parts(t, tier, revenue, thresholds)[0]


def _performance_parts(
    t: PartnerTerms, tier: IntArray, revenue: FloatArray, thresholds: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """:func:`_performance_payout`, and the rebate after its cap within it (the partner cap
    takes the other components first)."""
    # In place on the fresh arrays each step makes: partners weighing hypothetical revenues
    # call this often, and fewer temporaries stay in cache.
    rebate, acc = _rebate_and_extras(t, tier, revenue, thresholds)
    if not t.rebate_uncapped:
        np.minimum(rebate, t.rebate_cap, out=rebate)
    if not t.acc_uncapped:
        acc = _capped_accelerators(t, acc)
    if t.acc_only_adds:
        # Accelerators only (multipliers, caps and rates never negative): every extra is at
        # least +0.0 and nothing takes off the rebate, so the steps below give these numbers.
        payout = sum_last(acc)
        np.add(np.maximum(rebate, 0.0), payout, out=payout)
        np.minimum(payout, t.partner_cap, out=payout)
        return payout, rebate
    # As at the close: decelerators take at most the rebate, accelerators add on top.
    payout = sum_last(np.minimum(acc, 0.0))
    np.add(rebate, payout, out=payout)
    np.maximum(payout, 0.0, out=payout)
    np.add(payout, sum_last(np.maximum(acc, 0.0, out=acc)), out=payout)
    np.minimum(payout, t.partner_cap, out=payout)
    return payout, rebate


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
    deals across the period end: the same rules that pay them, not an approximation. What the
    rules take from ``state`` alone is derived once per state (:func:`_standing`).
    """
    t = cp.at(group)
    tier, standing = _anticipated_tier(t, state, revenue, new_logos, certified_staff, csat)
    return _performance_payout(t, tier, revenue, standing.acc_thresholds), tier


def anticipated_recurring(
    cp: CompiledProgram,
    group: IntArray,
    tier: IntArray,
    co_sell_revenue: FloatArray,
    co_delivery: FloatArray | float,
    horizon_periods: int,
) -> FloatArray:
    """What a partner holding ``tier`` period after period expects each period beyond its
    performance payout (:func:`anticipated_payout`): the co-sell bonus on ``co_sell_revenue``
    delivered at ``co_delivery`` (the same rule as the close, capped), and the milestones at or
    below ``tier`` spread over the periods they take (a repeatable milestone's reward over its
    streak; a one-off reward over the longer of its streak and the ``horizon_periods``).

    A candidate weighing whether to join values the program at what it would pay per period
    (:func:`incentsim.engine.decisions.join_probability`): a flat fee written as a one-period
    milestone then counts, as it does in Lazear's (2000) comparison of piece rates with a wage.
    """
    t = cp.at(group)
    co_sell = np.minimum(_co_sell_earned(t, tier, co_sell_revenue, co_delivery), t.co_sell_cap)
    if not cp.milestone_names:
        return co_sell
    length = np.maximum(t.ms_length, 1)
    spread = np.where(t.ms_repeatable, length, np.maximum(length, horizon_periods))
    reached = tier[..., None] >= t.ms_tier
    milestones: FloatArray = (np.where(reached, t.ms_reward / spread, 0.0)).sum(axis=-1)
    return co_sell + milestones


def _co_sell_earned(
    t: PartnerTerms,
    tier: IntArray,
    co_sell_revenue: FloatArray,
    co_delivery: FloatArray | float,
) -> FloatArray:
    """The co-sell bonus before its cap: the rate on co-sold revenue where the partner holds the
    bonus's tier and does its share of the delivery."""
    earns = (tier >= t.co_sell_min_tier) & (co_delivery >= t.co_delivery_share)
    earned: FloatArray = np.where(earns, t.co_sell_rate * co_sell_revenue, 0.0)
    return earned


def anticipated_payout_parts(
    cp: CompiledProgram,
    state: ProgramState,
    group: IntArray,
    revenue: FloatArray,
    new_logos: FloatArray,
    certified_staff: FloatArray,
    csat: FloatArray,
) -> tuple[FloatArray, FloatArray, IntArray]:
    """:func:`anticipated_payout` with the part of the payout that is the rebate (paid on
    invoice where the rebate is front-end): ``(payout, rebate part, tier)``."""
    t = cp.at(group)
    tier, standing = _anticipated_tier(t, state, revenue, new_logos, certified_staff, csat)
    payout, rebate = _performance_parts(t, tier, revenue, standing.acc_thresholds)
    return payout, np.minimum(rebate, payout), tier


def anticipated_true_up(
    cp: CompiledProgram,
    state: ProgramState,
    group: IntArray,
    revenue: FloatArray,
    tier: IntArray,
    certified_staff: FloatArray,
    csat: FloatArray,
    pace: FloatArray,
    noise: float,
    periods_per_year: int,
) -> tuple[FloatArray, int]:
    """The annual true-up a partner expects at its year's end when this period ends with
    ``revenue`` at ``tier`` and each period left in the year brings ``pace`` (give or take
    ``noise * pace``, two-point rule over the rest of the year), and the periods from this close
    to the year's last (0: this close settles the year).

    The same rules as the close (:func:`annual_rebate_due`, less the year's rebates): the
    periods left are assumed to pay the rebate of ``tier`` on ``pace``; zero where the group
    has no true-up.
    """
    t = cp.at(group)
    left = periods_per_year - 1 - state.period % periods_per_year
    rate = t.at_tier(t.rebate_rate, tier)
    holds = _holds_tier(tier)
    rebate_now = np.minimum(_rebate_on(t, tier, holds, revenue, rate), t.rebate_cap)
    paid = from_cents(state.ytd_rebate) + rebate_now
    if left:
        rebate_rest = np.minimum(_rebate_on(t, tier, holds, pace, rate), t.rebate_cap)
        paid = paid + left * rebate_rest
    mean = state.ytd_revenue + revenue + pace * left
    sd = noise * pace * np.sqrt(left)
    expected = np.zeros(np.shape(revenue))
    for node in (-1.0, 1.0) if left else (0.0,):
        year = np.maximum(mean + node * sd, 0.0)
        due = annual_rebate_due(t, year, certified_staff, csat, periods_per_year)
        expected += (0.5 if left else 1.0) * np.maximum(due - paid, 0.0)
    return np.where(t.true_up, expected, 0.0), left


def _anticipated_tier(
    t: PartnerTerms,
    state: ProgramState,
    revenue: FloatArray,
    new_logos: FloatArray,
    certified_staff: FloatArray,
    csat: FloatArray,
) -> tuple[IntArray, _Standing]:
    """The tier a period closing with these metrics would end at, and the state's standing."""
    standing = _standing(t, state)
    if state.revenue_window.shape[-1] == 1:
        revenue_total, logos_total = revenue, new_logos
    else:
        revenue_total, logos_total = _window_totals(
            t,
            np.concatenate([state.revenue_window[..., 1:], revenue[..., None]], axis=-1),
            np.concatenate([state.logos_window[..., 1:], new_logos[..., None]], axis=-1),
        )
    earned, keeps = _qualifying(t, standing, revenue_total, logos_total, certified_staff, csat)
    return _new_tier(standing, state, earned, keeps), standing


# --------------------------------------------------------------------------------------------
# Period close


@dataclass(frozen=True)
class _Standing:
    """What tier evaluation and the performance payout take from a program state whatever the
    period's metrics (read-only arrays ``(..., N)``), derived once per state.

    ``run_rate`` annualises a history shorter than the look-back window (``None`` when it is 1
    for everyone); ``over_grace`` marks partners whose grace runs out if they fall below their
    tier this period; ``kept`` is the lowest tier a partner can end an evaluation with when
    neither hysteresis nor remediation applies: its current tier, or below any tier once its
    grace is used up; ``plan_left`` is the remediation a partner below the entry tier this period
    would be under (``None`` when no group has remediation); ``acc_thresholds`` is
    ``(..., N, A)``.
    """

    run_rate: FloatArray | None
    evaluated: BoolArray
    evaluated_all: bool
    over_grace: BoolArray
    kept: IntArray
    plan_left: IntArray | None
    acc_thresholds: FloatArray


def _standing(t: PartnerTerms, state: ProgramState) -> _Standing:
    """The :class:`_Standing` of ``state``, remembered while partners weigh their options
    between two closes (the state's arrays are never changed in place)."""

    def derive() -> _Standing:
        seen = min(state.period + 1, state.revenue_window.shape[-1])
        run_rate = t.lookback / np.minimum(t.lookback, seen)
        plan_left = None
        if t.any_remediation:
            starts = (
                t.remediation
                & (state.tier >= 0)
                & (state.remediation_left == 0)
                & (state.below_entry_count + 1 >= t.remediation_trigger)
            )
            plan_left = np.where(
                starts, t.remediation_duration, np.maximum(state.remediation_left - 1, 0)
            )
        evaluated = ((state.period + 1) % t.cadence == 0) | (state.period == 0)
        over_grace = state.below_count + 1 > t.grace
        standing = _Standing(
            run_rate=None if bool(np.all(run_rate == 1.0)) else run_rate,
            evaluated=evaluated,
            evaluated_all=bool(evaluated.all()),
            over_grace=over_grace,
            kept=np.where(over_grace, np.iinfo(np.int64).min, state.tier),
            plan_left=plan_left,
            acc_thresholds=_accelerator_thresholds(t, state.quota),
        )
        for value in vars(standing).values():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
        return standing

    return t.memo("standing", state, derive)


def _window_totals(
    t: PartnerTerms, revenue_window: FloatArray, logos_window: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Revenue and new logos over each partner's look-back window (windows ``(..., N, L)``)."""
    window = revenue_window.shape[-1]
    if window == 1:
        return revenue_window[..., 0], logos_window[..., 0]
    if t.full_window:
        return revenue_window.sum(axis=-1), logos_window.sum(axis=-1)
    in_window = np.arange(window) >= (window - t.lookback)[..., None]
    return (
        np.where(in_window, revenue_window, 0.0).sum(axis=-1),
        np.where(in_window, logos_window, 0.0).sum(axis=-1),
    )


def _qualifying(
    t: PartnerTerms,
    standing: _Standing,
    revenue_total: FloatArray,
    logos_total: FloatArray,
    certified_staff: FloatArray,
    csat: FloatArray,
) -> tuple[IntArray, IntArray]:
    """Tier the window's metrics qualify for, and the tier they maintain (hysteresis)."""
    # Sum of the last `lookback` periods, annualised to the full window while history is short.
    if standing.run_rate is None:
        rev_q, logos_q = revenue_total, logos_total
    else:
        rev_q, logos_q = revenue_total * standing.run_rate, logos_total * standing.run_rate
    earned = _qualified_tier(t, rev_q, logos_q, certified_staff, csat)
    if not t.any_hysteresis:
        return earned, earned
    keeps = _qualified_tier(t, rev_q, logos_q, certified_staff, csat, t.maintain_fraction)
    return earned, keeps


def _moves(
    standing: _Standing, state: ProgramState, earned: IntArray, keeps: IntArray
) -> tuple[BoolArray, BoolArray, BoolArray, BoolArray, IntArray]:
    """Why tiers move at this evaluation, from the tiers earned and kept.

    Returns ``(promote, below, demote, protected, remediation_left)``: promoted, below the held
    tier's (maintenance) requirements, demoted, protected by a remediation plan, and the plan's
    periods left.
    """
    current = state.tier
    promote = earned > current
    below = ~promote & (keeps < current)
    demote = below & standing.over_grace
    if standing.plan_left is None:
        remediation_left = state.remediation_left
        protected = np.zeros_like(below)
    else:
        # Remediation: partners below the entry tier get a plan instead of a cut-off.
        # The plan where nothing is earned (``earned >> 63``: all bits set where negative).
        remediation_left = np.bitwise_and(standing.plan_left, earned >> 63)
        protected = remediation_left > 0
        demote &= ~protected
    return promote, below, demote, protected, remediation_left


def _settle(
    standing: _Standing,
    state: ProgramState,
    earned: IntArray,
    promote: BoolArray,
    demote: BoolArray,
) -> IntArray:
    """The tier held after this evaluation: the one earned on promotion or demotion, else the
    current one (also between evaluations)."""
    current = state.tier
    moved = np.where(promote | demote, earned, current)
    return moved if standing.evaluated_all else np.where(standing.evaluated, moved, current)


def _new_tier(
    standing: _Standing, state: ProgramState, earned: IntArray, keeps: IntArray
) -> IntArray:
    """The tier after this period's evaluation (what :func:`evaluate_tiers` decides), in fewer
    steps where the program allows: partners weighing hypothetical revenues call this often."""
    if keeps is not earned or standing.plan_left is not None:
        promote, _, demote, _, _ = _moves(standing, state, earned, keeps)
        return _settle(standing, state, earned, promote, demote)
    # Without hysteresis or remediation a partner below its tier is demoted exactly when its
    # grace is used up: it moves to the tier earned if that is higher, or if its grace is used.
    moved = np.maximum(earned, standing.kept)
    return moved if standing.evaluated_all else np.where(standing.evaluated, moved, state.tier)


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
    standing = _standing(t, state)
    revenue_total, logos_total = _window_totals(t, revenue_window, logos_window)
    earned, keeps = _qualifying(t, standing, revenue_total, logos_total, certified_staff, csat)
    promote, below, demote, protected, remediation_left = _moves(standing, state, earned, keeps)
    tier = _settle(standing, state, earned, promote, demote)
    evaluated = standing.evaluated
    below_count = np.where(below, state.below_count + 1, 0)
    below_entry_count = np.where(earned < 0, state.below_entry_count + 1, 0)
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
        qualified=np.where(evaluated, earned, state.tier),
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
    streak, shortfall = streak_after(t, state, tier[..., None] >= t.ms_tier)
    reached = (streak >= t.ms_length) & ~state.milestone_done
    done = state.milestone_done | (reached & ~t.ms_repeatable)
    streak = np.where(reached, 0, streak)
    return streak, shortfall, done, reached.astype(np.int64)


def streak_after(
    t: PartnerTerms, state: ProgramState, at_level: BoolArray
) -> tuple[IntArray, IntArray]:
    """Each milestone's streak and shortfall run after a period that ends at its tier or above
    (``at_level``, ``(..., N, M)``) or below it, before a completed streak restarts.

    At the tier the streak grows by one; below it the shortfall run grows, and once it exceeds
    the tolerance the streak decays (back to zero, or one period per shortfall period).
    """
    shortfall = np.where(at_level, 0, state.shortfall + 1)
    lapsed = ~at_level & (shortfall > t.ms_tolerance)
    streak = np.where(at_level, state.streak + 1, state.streak)
    streak = np.where(lapsed, np.where(t.ms_step, np.maximum(streak - 1, 0), 0), streak)
    return streak, shortfall


def next_quota(t: PartnerTerms, quota: FloatArray, revenue: FloatArray) -> FloatArray:
    """Next period's quota after a period with ``revenue``: a ratchet (``revenue * (1 +
    growth)``, never below the floor) where the quota follows prior revenue, else unchanged."""
    return np.where(
        t.quota_prior, np.maximum(revenue * (1.0 + t.quota_growth), t.quota_floor), quota
    )


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


def annual_rebate_due(
    t: PartnerTerms,
    ytd_revenue: FloatArray,
    certified_staff: FloatArray,
    csat: FloatArray,
    periods_per_year: int,
) -> FloatArray:
    """The rebate a year's (net) revenue ``ytd_revenue`` earns at the tier it qualifies for over
    the year (tier requirements scaled from the look-back window to the year; new logos are not
    asked), within the rebate cap for a year: what the annual true-up settles against."""
    floors, thresholds = t.memo(
        f"annual requirements {periods_per_year}",
        t.source,
        lambda: _annual_requirements(t, periods_per_year),
    )
    met = (ytd_revenue >= floors[0]).astype(np.int64)
    for floor in floors[1:]:
        met += ytd_revenue >= floor
    allowed = t.tiers_allowed(None, certified_staff, csat)
    if allowed is not None:
        met = np.minimum(met, allowed)
    annual_tier = np.maximum(met - 1, UNQUALIFIED)
    annual_rebate = _rebate_on(
        t,
        annual_tier,
        _holds_tier(annual_tier),
        np.maximum(ytd_revenue, 0.0),
        t.at_tier(t.rebate_rate, annual_tier),
        thresholds=thresholds,
    )
    return np.minimum(annual_rebate, t.rebate_cap * periods_per_year)


def _annual_requirements(
    t: PartnerTerms, periods_per_year: int
) -> tuple[tuple[FloatArray, ...], FloatArray]:
    """Each tier's revenue requirement scaled from the look-back window to a year: the floors a
    year's revenue is compared with (one ``(..., N)`` array per tier, as
    :meth:`~incentsim.program.compiled.PartnerTerms.tiers_met` makes them) and the thresholds
    ``(..., N, T)`` of the year's brackets."""
    scale = periods_per_year / t.lookback
    floors = tuple(req * scale - REQUIREMENT_TOLERANCE for req in t.tier_columns("req_revenue"))
    return floors, t.req_revenue * scale[..., None]


def _horizon_pay(
    t: PartnerTerms, state: ProgramState, tier: IntArray, net_revenue: FloatArray
) -> HorizonPay | None:
    """What the horizon components pay at this close (``None``: the program has none)."""
    if state.horizons is None:
        return None
    rate = np.where(tier >= 0, t.at_tier(t.rebate_rate, tier), 0.0)
    return assess_horizons(t, state.horizons, state.period, rate, net_revenue, state.quota)


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
    raw_rebate, raw_acc = _rebate_and_extras(t, tier, revenue, _standing(t, state).acc_thresholds)
    rebate = np.minimum(raw_rebate, t.rebate_cap)
    acc_each = _capped_accelerators(t, raw_acc)
    acc_up = np.maximum(acc_each, 0.0).sum(axis=-1)
    # Decelerators reduce the rebate: together they never take more than the rebate pays.
    acc_down = np.maximum(np.minimum(acc_each, 0.0).sum(axis=-1), -rebate)
    acc = acc_up + acc_down
    # SPIFFs and co-selling.
    raw_spiffs = t.spiff_per_deal * metrics.spiff_deals + t.spiff_uplift * metrics.spiff_revenue
    spiffs = np.minimum(raw_spiffs, t.spiff_cap).sum(axis=-1)
    raw_co_sell = _co_sell_earned(t, tier, metrics.co_sell_revenue, metrics.co_delivery)
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
    annual_due = to_cents(
        annual_rebate_due(t, ytd_revenue, metrics.certified_staff, metrics.csat, periods_per_year)
    )
    rebate_basis = to_cents(rebate)
    ytd_rebate = ytd_rebate_before + rebate_basis - claw_returns
    true_up = np.maximum(annual_due - ytd_rebate, 0)
    true_up_on = year_end & t.true_up

    # Round each component to cents; caps on the partner's total take the excess off the top.
    cents = {k: to_cents(v) for k, v in gated_parts.items()}
    # The rebate net of decelerators is rounded as one amount, so that rounding the two parts
    # separately cannot make a little more revenue pay a cent less.
    cents["accelerators"] = (
        to_cents(acc_up * gate[..., 1]) + to_cents((rebate + acc_down) * gate[..., 0])
    ) - cents["rebate"]
    # Components on horizons of their own (paid at their horizon's closes): horizon
    # accelerators are accelerators (gated and capped as they are), pacers their own component.
    horizons = _horizon_pay(t, state, tier, revenue - metrics.returns)
    if horizons is not None:
        cents["accelerators"] = cents["accelerators"] + to_cents(
            horizons.accelerators * gate[..., 1]
        )
    cents["pacers"] = (
        np.zeros(tier.shape, dtype=np.int64) if horizons is None else to_cents(horizons.pacers)
    )
    # Bonuses on windows shorter than the period, paid at its close.
    cents["bonuses"] = to_cents(assess_bonuses(t, metrics.week_revenue, cp.bonus_weeks))
    cents["true_up"] = np.where(true_up_on, np.rint(true_up * gate[..., 0]).astype(np.int64), 0)
    true_up_gated = np.where(true_up_on, true_up, 0) - cents["true_up"]
    performance = sum(cents.values())
    cap = to_cents(np.minimum(t.partner_cap, 1e15))
    over = np.maximum(performance - cap, 0)
    # Take the partner-cap excess from components in reverse statement order.
    remaining_over = over
    for name in (
        "true_up",
        "bonuses",
        "pacers",
        "milestones",
        "co_sell",
        "spiffs",
        "accelerators",
        "rebate",
    ):
        take = np.clip(remaining_over, 0, np.maximum(cents[name], 0))
        cents[name] = cents[name] - take
        remaining_over = remaining_over - take
    funds, mdf_accrual, mdf_reimbursed, mdf_expired = _mdf(cp, state, group, tier, metrics)
    cents["mdf"] = mdf_reimbursed
    # Category awards: ranked in their pools, outside the caps and the gate.
    awards = assess_awards(
        cp.awards, state.awards, group, state.period, revenue, metrics.new_logos, metrics.csat
    )
    cents["awards"] = awards.cents
    components = {name: cents[name] for name in COMPONENTS}

    # What caps withheld: a decelerator's cap gives back, it withholds nothing.
    withheld_acc = (
        raw_acc if all(t.acc_all_up) or t.acc_uncapped else np.where(t.acc_up, raw_acc, acc_each)
    )
    component_capped = (
        to_cents(raw_rebate - rebate)
        + to_cents(withheld_acc.sum(axis=-1) - acc_each.sum(axis=-1))
        + to_cents(raw_spiffs.sum(axis=-1) - spiffs)
        + to_cents(raw_co_sell - co_sell)
    )
    gated = sum(to_cents(v - gated_parts[k]) for k, v in parts.items()) + true_up_gated
    if horizons is not None:
        component_capped = component_capped + to_cents(horizons.capped)
        gated = (
            gated + to_cents(horizons.accelerators) - to_cents(horizons.accelerators * gate[..., 1])
        )

    effective_rate = np.divide(
        from_cents(components["rebate"]), revenue, out=state.last_rate.copy(), where=revenue > 0
    )
    quota = next_quota(t, state.quota, revenue)
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
        horizons=None if horizons is None else horizons.state,
        awards=awards.state,
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
        awards_won=awards.won,
        award_rank=awards.rank,
        award_ranked=awards.ranked,
    )
    return new_state, assessment
