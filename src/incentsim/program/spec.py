"""The incentive program as a designer writes it in a scenario file.

Every construct a channel program designer expects (tiers, rebates, accelerators, caps, SPIFFs,
co-selling bonuses, MDF, benefits, loyalty milestones, category awards, guardrails, budget and
reserve, segment overrides, remediation) is a validated pydantic model here. Amounts are in the
program's currency per *period* (the calendar's period, a quarter by default) unless a field says
otherwise.

The models only describe; :mod:`incentsim.program.compiled` turns them into arrays and
:mod:`incentsim.program.rules` applies them.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, ValidationError, field_validator, model_validator

from incentsim._merge import deep_merge
from incentsim.quantities import Money, Rate
from incentsim.strict import Strict

#: Metrics a tier can require. Flow metrics are summed over the tier's look-back window;
#: stock metrics (certified staff, customer satisfaction) use the latest period's value.
TIER_METRICS = ("revenue", "new_logos", "certified_staff", "csat")
FLOW_METRICS = ("revenue", "new_logos")


#: Program fields that describe changes over time rather than one set of terms: a resolved
#: program (one segment and region, one version) leaves them out.
NOT_RESOLVED = {"segment_overrides", "region_overrides", "versions", "contingent"}


class Benefit(Strict):
    """A non-financial benefit a tier unlocks, its effect on the partner and its cost.

    The effects are applied by the partner model: a higher win rate (``win_rate_uplift``
    points added to the partner's win rate) or deal size, faster ramp-up of new partners, extra
    loyalty from being valued. ``cost_per_partner`` is what delivering the benefit (training
    seats, advisory days, early-access support) costs the vendor per partner holding the tier
    per period; it counts in incentive cost, outside the payout budget.
    """

    win_rate_uplift: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    deal_size_uplift: Annotated[float, Field(ge=0.0, le=2.0)] = 0.0
    ramp_speedup: Annotated[float, Field(ge=0.0, le=5.0)] = 0.0
    loyalty_uplift: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    cost_per_partner: Money = 0.0


class Requirements(Strict):
    """What a partner must reach to hold a tier (every stated metric must be met)."""

    revenue: Money = 0.0
    new_logos: Annotated[float, Field(ge=0.0, le=1e6)] = 0.0
    certified_staff: Annotated[float, Field(ge=0.0, le=1e6)] = 0.0
    csat: Annotated[float, Field(ge=0.0, le=5.0)] = 0.0


class Tier(Strict):
    """One status level: what qualifies for it and what it pays."""

    requirements: Requirements = Field(default_factory=Requirements)
    rebate_rate: Rate = 0.0
    mdf_accrual_rate: Rate | None = None
    benefits: dict[str, Benefit] = Field(default_factory=dict)


class TierEvaluation(Strict):
    """When and on what window tier status is (re)assessed."""

    cadence_periods: Annotated[int, Field(ge=1, le=12)] = 1
    lookback_periods: Annotated[int, Field(ge=1, le=12)] = 1
    grace_periods: Annotated[int, Field(ge=0, le=12)] = 1
    maintain_fraction: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0


class Rebate(Strict):
    """How tier rebate rates apply to a period's revenue.

    ``retroactive`` (a notch): the whole period's revenue is paid at the rate of the tier reached.
    ``marginal`` (brackets): each slice of revenue between two tiers' revenue thresholds is paid
    at that tier's rate, up to the tier the partner holds.
    """

    basis: Literal["retroactive", "marginal"] = "retroactive"
    timing: Literal["back_end", "front_end"] = "back_end"
    cap: Money | None = None


class Quota(Strict):
    """Each partner's revenue target for a period, used by accelerators and decelerators.

    ``fixed``: the same amount for everyone. ``prior``: last period's revenue times
    ``1 + growth`` (a ratchet: a strong period raises the next target), never below ``floor``.
    """

    basis: Literal["fixed", "prior"] = "fixed"
    amount: Money = 0.0
    growth: Annotated[float, Field(ge=-0.5, le=2.0)] = 0.0
    floor: Money = 0.0


class Accelerator(Strict):
    """A different marginal rate above (accelerator) or below (decelerator) a threshold.

    The threshold is an amount of period revenue or, with ``quota_fraction``, a fraction of the
    partner's quota. The component pays ``rebate_rate * (multiplier - 1)`` on revenue above the
    threshold for an accelerator, and ``rebate_rate * (multiplier - 1)`` (a reduction) on revenue
    below it for a decelerator, where ``rebate_rate`` is the partner's tier rate. ``cap`` limits
    what an accelerator adds, or what a decelerator takes off.

    ``horizon_periods`` above 1 assesses an accelerator on its own horizon (4 quarters: an
    annual accelerator): its threshold and cap are then over the horizon's revenue (net of
    returns) or quota, and it pays at the horizon's last close at the rate of the tier then held
    (see :mod:`incentsim.program.horizons`).
    """

    kind: Literal["accelerator", "decelerator"] = "accelerator"
    threshold: Money | None = None
    quota_fraction: Annotated[float, Field(gt=0.0, le=5.0)] | None = None
    multiplier: Annotated[float, Field(ge=0.0, le=10.0)]
    cap: Money | None = None
    horizon_periods: Annotated[int, Field(ge=1, le=52)] = 1

    @model_validator(mode="after")
    def _one_threshold(self) -> Accelerator:
        if (self.threshold is None) == (self.quota_fraction is None):
            raise ValueError("give exactly one of 'threshold' or 'quota_fraction'")
        if self.kind == "decelerator" and self.horizon_periods > 1:
            raise ValueError(
                f"horizon_periods {self.horizon_periods}: a decelerator is assessed every period "
                "(horizon_periods 1); longer horizons are for accelerators"
            )
        if self.kind == "accelerator" and self.multiplier < 1.0:
            raise ValueError("an accelerator's multiplier must be at least 1")
        if self.kind == "decelerator" and self.multiplier > 1.0:
            raise ValueError("a decelerator's multiplier must be at most 1")
        return self


class Pacer(Strict):
    """A bonus for being on pace to a target over a longer horizon (Chung, Steenburgh & Sudhir
    2014: quarterly bonuses inside an annual plan).

    The horizon is ``horizon_periods`` periods long (4 quarters: a year), counted from the
    program's start. At the close of every ``every_periods`` periods inside it, a partner whose
    revenue since the horizon began (net of returns) reaches the target's share for the
    periods gone (``target * periods gone / horizon_periods``, or ``quota_fraction`` of its
    quotas over those periods) is paid ``reward``.
    """

    horizon_periods: Annotated[int, Field(ge=1, le=52)] = 4
    every_periods: Annotated[int, Field(ge=1, le=52)] = 1
    target: Money | None = None
    quota_fraction: Annotated[float, Field(gt=0.0, le=5.0)] | None = None
    reward: Money

    @model_validator(mode="after")
    def _pace(self) -> Pacer:
        if (self.target is None) == (self.quota_fraction is None):
            raise ValueError("give exactly one of 'target' or 'quota_fraction'")
        if self.horizon_periods % self.every_periods:
            raise ValueError(
                f"every_periods {self.every_periods} must divide horizon_periods "
                f"{self.horizon_periods} (the pacing steps fill the horizon)"
            )
        return self


class Bonus(Strict):
    """A bonus assessed on windows of ``horizon_weeks`` weeks inside each period (a monthly
    bonus inside a quarterly program: ``horizon_weeks: 4`` in periods of 12 or 13 weeks).

    Each window of the period is assessed on its own: a partner whose revenue booked in the
    window (before returns) reaches ``threshold`` is paid ``reward + rate * window revenue`` for
    it, at the period's close. The windows are counted from the period's first week; weeks
    left over when ``horizon_weeks`` does not divide the period (a 13-week quarter of 4-week
    months) belong to its last window. Components on horizons longer than the period are
    :class:`Pacer` and :class:`Accelerator` ``horizon_periods`` (see
    :mod:`incentsim.program.windows`).
    """

    horizon_weeks: Annotated[int, Field(ge=1, le=52)]
    threshold: Money
    reward: Money = 0.0
    rate: Rate = 0.0

    @model_validator(mode="after")
    def _pays(self) -> Bonus:
        if self.reward <= 0 and self.rate <= 0:
            raise ValueError("give a reward or a rate above 0 (the bonus would pay nothing)")
        return self


class Spiff(Strict):
    """A short campaign paying extra on a product line or deal type inside a window of weeks."""

    product: str | None = None
    deal_type: Literal["any", "new_logo", "renewal"] = "any"
    amount_per_deal: Money = 0.0
    uplift_rate: Rate = 0.0
    start_week: Annotated[int, Field(ge=0, le=10**6)] = 0
    end_week: Annotated[int, Field(ge=1, le=10**6)] = 10**6
    cap: Money | None = None
    requires_registration: bool = True

    @model_validator(mode="after")
    def _window(self) -> Spiff:
        if self.end_week <= self.start_week:
            raise ValueError("end_week must be after start_week")
        return self


class CoSell(Strict):
    """Bonus on revenue from deals worked jointly with the vendor's sales team."""

    rate: Rate = 0.0
    min_tier: str | None = None
    requires_registration: bool = True
    cap: Money | None = None


class Mdf(Strict):
    """Market development funds: accrued as a share of revenue, reimbursed against claims."""

    accrual_rate: Rate = 0.0
    reimbursement_rate: Rate = 1.0
    approval_lag_weeks: Annotated[int, Field(ge=0, le=52)] = 4
    expiry_periods: Annotated[int, Field(ge=1, le=12)] = 2
    cap: Money | None = None


class Milestone(Strict):
    """A loyalty reward for sustained contribution: ``consecutive_periods`` at ``tier`` or above.

    A period below the tier counts as a shortfall; after more than ``tolerance_periods`` shortfall
    periods in a row the streak decays (``reset`` to zero, or ``step`` back one period per
    shortfall period). Once earned, the streak restarts and the milestone can be earned again
    when ``repeatable``.
    """

    tier: str
    consecutive_periods: Annotated[int, Field(ge=1, le=40)]
    reward: Money
    tolerance_periods: Annotated[int, Field(ge=0, le=12)] = 0
    decay: Literal["reset", "step"] = "reset"
    repeatable: bool = True


#: What a category award ranks partners on (see :class:`Award`).
AwardMetric = Literal["revenue", "growth", "improvement", "new_logos", "new_logo_rate", "csat"]


class Award(Strict):
    """A category award: a prize for the best partners of a pool on one metric, assessed at the
    close of every ``cadence_periods``-th period (counted from the program's start) on that
    window of periods, and paid from the program's budget through the payout schedule.

    ``metric``: ``revenue`` (top revenue in the window), ``growth`` (revenue over the previous
    window's, less 1), ``improvement`` (most improved: revenue gained on the previous window),
    ``new_logos`` (new customers won), ``new_logo_rate`` (new customers per 100,000 of revenue)
    or ``csat`` (satisfaction at the window's end). Growth and improvement need a previous
    window with revenue, so they are first awarded at the second window.

    Partners compete ``within`` the whole program, their segment or their region, and only
    against partners of their ``size_band``: a range of size quantiles inside that pool, where
    size is the partner's revenue in the previous window (its revenue in the window itself
    when it has none), so ``[0, 0.5]`` is the smaller half. Eligible are partners with revenue of
    at least ``min_revenue`` (and above zero) in the window. Each pool has ``winners`` winners,
    or a ``share`` of its eligible partners (rounded up); ties go to the partner listed first.
    Each winner is paid ``prize``, outside the caps and the satisfaction gate. Only the prize
    can differ by segment or region (a pool's rules are the program's).
    """

    metric: AwardMetric
    prize: Money
    winners: Annotated[int, Field(ge=1, le=10**6)] | None = None
    share: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    within: Literal["program", "segment", "region"] = "segment"
    size_band: tuple[Rate, Rate] = (0.0, 1.0)
    cadence_periods: Annotated[int, Field(ge=1, le=12)] = 1
    min_revenue: Money = 0.0

    @model_validator(mode="after")
    def _winners_and_band(self) -> Award:
        if (self.winners is None) == (self.share is None):
            raise ValueError("give exactly one of 'winners' or 'share'")
        low, high = self.size_band
        if not low < high:
            raise ValueError(
                f"size_band [{low:g}, {high:g}]: the low quantile must be below the high one"
            )
        return self


class DealRegistration(Strict):
    """Deal registration: bonuses need a registered deal; duplicates are checked at entry."""

    duplicate_check: bool = True
    detection_rate: Rate = 0.8
    protection_days: Annotated[int, Field(ge=0, le=730)] = 90


class Audit(Strict):
    """Periodic audits of paid claims, with clawback of what was paid on detected gaming."""

    rate: Rate = 0.0
    detection_probability: Rate = 0.8
    penalty_multiplier: Annotated[float, Field(ge=0.0, le=5.0)] = 0.0


GatedComponent = Literal["rebate", "accelerators", "spiffs", "co_sell", "milestones"]


def _default_gated() -> list[GatedComponent]:
    """What a satisfaction gate scales unless it says otherwise."""
    return ["accelerators", "spiffs"]


class CsatGate(Strict):
    """A customer-satisfaction gate: below ``min_score`` the gated components are scaled."""

    min_score: Annotated[float, Field(ge=0.0, le=5.0)]
    applies_to: list[GatedComponent] = Field(default_factory=_default_gated)
    payout_fraction: Rate = 0.0


class Guardrails(Strict):
    """Controls against gaming and quality erosion."""

    deal_registration: DealRegistration = Field(default_factory=DealRegistration)
    audit: Audit = Field(default_factory=Audit)
    clawback_on_returns: bool = True
    csat_gate: CsatGate | None = None
    co_delivery_share: Rate = 0.0


class ReserveContribution(Strict):
    """What flows into the reserve at each payout run."""

    unspent_share: Rate = 1.0
    fixed_per_period: Money = 0.0


class Reserve(Strict):
    """A fund that absorbs payout peaks above the period budget."""

    initial: Money = 0.0
    max: Money | None = None
    contribution: ReserveContribution = Field(default_factory=ReserveContribution)

    @model_validator(mode="after")
    def _initial_within_max(self) -> Reserve:
        if self.max is not None and self.initial > self.max:
            raise ValueError(f"initial reserve {self.initial:g} is larger than max {self.max:g}")
        return self


class PayoutSchedule(Strict):
    """When accrued incentives are paid."""

    cadence_periods: Annotated[int, Field(ge=1, le=12)] = 1
    delay_weeks: Annotated[int, Field(ge=0, le=52)] = 6


class TrueUp(Strict):
    """At the end of each program year, re-assess tier on the year's revenue and pay any shortfall
    between the rebate that annual tier earns and the rebate paid during the year."""

    enabled: bool = False


class Budget(Strict):
    """The program's money: budget per period, reserve fund, shortfall policy, payout timing."""

    per_period: Money | None = None
    reserve: Reserve = Field(default_factory=Reserve)
    shortfall_policy: Literal["pro_rata", "defer"] = "pro_rata"
    payout: PayoutSchedule = Field(default_factory=PayoutSchedule)
    true_up: TrueUp = Field(default_factory=TrueUp)


class Remediation(Strict):
    """An improvement plan instead of a cut-off for partners who fall below the entry tier.

    After ``trigger_periods`` assessments below the entry tier, the partner keeps its status for
    ``duration_periods`` while support lifts its capacity and win rate.
    """

    enabled: bool = False
    trigger_periods: Annotated[int, Field(ge=1, le=12)] = 2
    duration_periods: Annotated[int, Field(ge=1, le=12)] = 2
    capacity_uplift: Annotated[float, Field(ge=0.0, le=2.0)] = 0.1
    win_rate_uplift: Annotated[float, Field(ge=0.0, le=1.0)] = 0.02


#: What a version or a contingent rule may change: values the engine reads at every period
#: close and every anticipation (rates, thresholds, caps, milestone rewards, a window bonus's
#: threshold, reward and rate), never the program's structure or its calendar (look-back
#: windows, a bonus's window length, payout schedule, budget pool, guardrails). ``*`` stands
#: for any entry of a mapping; ``None`` for a leaf.
CHANGEABLE: dict[str, Any] = {
    "tiers": {
        "*": {
            "rebate_rate": None,
            "mdf_accrual_rate": None,
            "requirements": {"revenue": None, "new_logos": None, "certified_staff": None},
        }
    },
    "rebate": {"basis": None, "cap": None},
    "quota": {"basis": None, "amount": None, "growth": None, "floor": None},
    "accelerators": {
        "*": {
            "kind": None,
            "threshold": None,
            "quota_fraction": None,
            "multiplier": None,
            "cap": None,
        }
    },
    "milestones": {"*": {"reward": None}},
    "bonuses": {"*": {"threshold": None, "reward": None, "rate": None}},
    "mdf": {"accrual_rate": None},
    "partner_cap": None,
}


#: What a version may change: :data:`CHANGEABLE`, for the whole program or in a segment's or
#: a region's override (a refresh can set a segment's rates).
VERSION_CHANGEABLE: dict[str, Any] = {
    **CHANGEABLE,
    "segment_overrides": {"*": CHANGEABLE},
    "region_overrides": {"*": CHANGEABLE},
}


def check_changes(where: str, changes: Any, allowed: Any = None) -> None:
    """Refuse a change outside :data:`CHANGEABLE`, naming the field at ``where``."""
    allowed = CHANGEABLE if allowed is None else allowed
    if not isinstance(changes, dict):
        raise ValueError(f"{where}: expected a mapping of program fields")
    for key, value in changes.items():
        rule = allowed.get(key, allowed.get("*", False)) if isinstance(allowed, dict) else False
        if rule is False:
            keys = ", ".join(k for k in allowed if k != "*") if isinstance(allowed, dict) else ""
            raise ValueError(
                f"{where}.{key}: a version or contingent rule cannot change this"
                + (f" (it can change {keys})" if keys else "")
            )
        if rule is not None:
            check_changes(f"{where}.{key}", value, rule)


class Version(Strict):
    """A later version of the program (a refresh), in force from ``effective_period``.

    ``changes`` is a diff on the version before, in the language of ``extends`` and overrides
    (mappings merge key by key), limited to :data:`CHANGEABLE`, for the whole program or under
    ``segment_overrides`` and ``region_overrides`` (:data:`VERSION_CHANGEABLE`). Partners
    learn of it at the start of ``announced_period`` (default: when it takes effect,
    unannounced). Partners who
    joined before it keep the previous version's terms for ``grandfather_periods``; a change is
    phased in over ``phase_in_periods`` (transitional support: each period moves the numbers a
    further equal step from the old values to the new).
    """

    effective_period: Annotated[int, Field(ge=1, le=10**4)]
    announced_period: Annotated[int, Field(ge=0, le=10**4)] | None = None
    changes: dict[str, Any] = Field(default_factory=dict)
    grandfather_periods: Annotated[int, Field(ge=0, le=40)] = 0
    phase_in_periods: Annotated[int, Field(ge=1, le=40)] = 1

    @model_validator(mode="after")
    def _dates(self) -> Version:
        check_changes("changes", self.changes, VERSION_CHANGEABLE)
        if self.announced_period is not None and self.announced_period > self.effective_period:
            raise ValueError(
                f"announced_period {self.announced_period} is after effective_period "
                f"{self.effective_period}: a change is announced before it takes effect"
            )
        return self

    @property
    def announced(self) -> int:
        """The period at whose start partners learn of the change."""
        return self.effective_period if self.announced_period is None else self.announced_period


#: Steps of the indicator a rule's ``threshold_scale: indicator`` scales thresholds by.
SCALE_STEP = 0.05


class ContingentRule(Strict):
    """A rule that adjusts the program while a market indicator is past a level.

    At the start of each period the rule reads ``indicator`` (the market's demand against its
    planned trend and seasonality, its price or supply index, 1 = normal, or the competitor's
    offer as a rate) averaged over the period just closed (the first week at period 0), per
    partner group; while it is ``below`` (or ``above``) the level, the
    period's terms are the program with ``changes`` merged in and every revenue threshold
    (tier requirements, accelerator thresholds, quota amount and floor, window bonus
    thresholds) multiplied by
    ``threshold_scale``: a number, or ``indicator`` to scale them with the indicator itself
    (rounded down to a multiple of :data:`SCALE_STEP`, at least one step), so thresholds
    follow demand down in a recession.

    ``budget_scale`` multiplies the program's budget per period (``budget.per_period``) for
    every period the rule is in force, so a clause can widen the budget in a downturn rather
    than cut what partners earn (several rules in force multiply). The budget is one
    program-wide pool, so for the budget the rule reads the indicator averaged over the
    partners in the program (in a simulation, the active partners of each replication; over
    real transactions, the indicator series given for the period); a period's budget counts in
    the payout run that settles it.
    """

    indicator: Literal["demand", "price", "supply", "competitor_offer"] = "demand"
    below: Annotated[float, Field(ge=0.0, le=10.0)] | None = None
    above: Annotated[float, Field(ge=0.0, le=10.0)] | None = None
    threshold_scale: Annotated[float, Field(gt=0.0, le=10.0)] | Literal["indicator"] = 1.0
    budget_scale: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0
    changes: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_level(self) -> ContingentRule:
        if (self.below is None) == (self.above is None):
            raise ValueError("give exactly one of 'below' or 'above'")
        check_changes("changes", self.changes)
        return self

    @property
    def changes_terms(self) -> bool:
        """Whether the rule changes partners' terms (its changes or its threshold scale), not
        only the budget."""
        return bool(self.changes) or self.threshold_scale != 1.0

    def in_force(self, value: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Where the indicator's ``value`` (any shape) puts the rule in force: below
        ``below`` or above ``above``."""
        if self.below is not None:
            on: NDArray[np.bool_] = np.asarray(value) < self.below
        else:
            on = np.asarray(value) > (self.above or 0.0)
        return on


class Program(Strict):
    """A whole incentive program.

    ``tiers`` is ordered from the lowest to the highest status; a partner meeting no tier's
    requirements is *unqualified* and earns no rebate.
    """

    currency: str = "USD"
    tiers: dict[str, Tier] = Field(min_length=1)
    evaluation: TierEvaluation = Field(default_factory=TierEvaluation)
    rebate: Rebate = Field(default_factory=Rebate)
    quota: Quota = Field(default_factory=Quota)
    accelerators: dict[str, Accelerator] = Field(default_factory=dict)
    pacers: dict[str, Pacer] = Field(default_factory=dict)
    bonuses: dict[str, Bonus] = Field(default_factory=dict)
    spiffs: dict[str, Spiff] = Field(default_factory=dict)
    co_sell: CoSell = Field(default_factory=CoSell)
    mdf: Mdf = Field(default_factory=Mdf)
    milestones: dict[str, Milestone] = Field(default_factory=dict)
    awards: dict[str, Award] = Field(default_factory=dict)
    guardrails: Guardrails = Field(default_factory=Guardrails)
    partner_cap: Money | None = None
    budget: Budget = Field(default_factory=Budget)
    remediation: Remediation = Field(default_factory=Remediation)
    segment_overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)
    region_overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)
    versions: dict[str, Version] = Field(default_factory=dict)
    contingent: dict[str, ContingentRule] = Field(default_factory=dict)

    @field_validator("tiers")
    @classmethod
    def _tiers_increase(cls, tiers: dict[str, Tier]) -> dict[str, Tier]:
        names = list(tiers)
        for lower, upper in pairwise(names):
            lo, hi = tiers[lower], tiers[upper]
            if hi.requirements.revenue <= lo.requirements.revenue and not (
                hi.requirements.revenue == lo.requirements.revenue == 0.0
                and _other_requirements_rise(lo.requirements, hi.requirements)
            ):
                raise ValueError(
                    f"tier '{upper}' revenue threshold {hi.requirements.revenue:g} must be above "
                    f"tier '{lower}' threshold {lo.requirements.revenue:g} "
                    "(tiers are listed lowest first)"
                )
            for metric in TIER_METRICS[1:]:
                if getattr(hi.requirements, metric) < getattr(lo.requirements, metric):
                    raise ValueError(
                        f"tier '{upper}' requires less {metric} than tier '{lower}'; "
                        "requirements must not fall as tiers rise"
                    )
            if hi.rebate_rate < lo.rebate_rate:
                raise ValueError(
                    f"tier '{upper}' rebate_rate {hi.rebate_rate:g} is below tier '{lower}' "
                    f"rebate_rate {lo.rebate_rate:g}; rates must not fall as tiers rise"
                )
        return tiers

    @model_validator(mode="after")
    def _references(self) -> Program:
        names = set(self.tiers)
        if self.co_sell.min_tier is not None and self.co_sell.min_tier not in names:
            raise ValueError(f"co_sell.min_tier '{self.co_sell.min_tier}' is not a tier")
        for key, milestone in self.milestones.items():
            if milestone.tier not in names:
                raise ValueError(f"milestones.{key}.tier '{milestone.tier}' is not a tier")
        quota_set = self.quota.basis == "prior" or self.quota.amount > 0 or self.quota.floor > 0
        for key, acc in self.accelerators.items():
            if acc.quota_fraction is not None and not quota_set:
                raise ValueError(
                    f"accelerators.{key} uses quota_fraction but the program sets no quota "
                    "(give quota.amount, quota.floor or quota.basis: prior)"
                )
        for key, pacer in self.pacers.items():
            if pacer.quota_fraction is not None and not quota_set:
                raise ValueError(
                    f"pacers.{key} uses quota_fraction but the program sets no quota "
                    "(give quota.amount, quota.floor or quota.basis: prior)"
                )
        lengths = {key: bonus.horizon_weeks for key, bonus in self.bonuses.items()}
        if len(set(lengths.values())) > 1:
            (first, weeks), *others = lengths.items()
            other, other_weeks = next((k, w) for k, w in others if w != weeks)
            raise ValueError(
                f"bonuses.{other}.horizon_weeks {other_weeks} differs from bonuses.{first}."
                f"horizon_weeks {weeks}: the bonuses of a program share one window length"
            )
        for label, overrides in (
            ("segment_overrides", self.segment_overrides),
            ("region_overrides", self.region_overrides),
        ):
            for key, override in overrides.items():
                self._check_override(f"{label}.{key}", override)
        self._check_override_pairs()
        for key, rule in self.contingent.items():
            if rule.budget_scale != 1.0 and self.budget.per_period is None:
                raise ValueError(
                    f"contingent.{key}.budget_scale: the program has no budget per period to "
                    "scale (set budget.per_period, or leave budget_scale at 1)"
                )
        if self.versions or self.contingent:
            # circular: program.versions imports this module
            from incentsim.program.versions import check_timeline

            check_timeline(self)
        return self

    def _check_override_pairs(self) -> None:
        """A segment's and a region's overrides, each valid alone, must also be valid together
        (the partners of that segment in that region get both)."""
        base = self.model_dump(exclude=NOT_RESOLVED)
        for segment, by_segment in self.segment_overrides.items():
            for region, by_region in self.region_overrides.items():
                try:
                    Program.model_validate(deep_merge(deep_merge(base, by_segment), by_region))
                except ValidationError as exc:
                    first = exc.errors()[0]
                    loc = ".".join(str(p) for p in first["loc"])
                    raise ValueError(
                        f"segment_overrides.{segment} with region_overrides.{region}: "
                        f"{loc + ': ' if loc else ''}{first['msg']}"
                    ) from None

    def _check_override(self, where: str, override: dict[str, Any]) -> None:
        """An override may change values but not the program's structure; it must validate."""
        nested = sorted(NOT_RESOLVED & set(override))
        if nested:
            raise ValueError(
                f"{where}: overrides cannot nest {', '.join(nested)} (overrides, versions and "
                "contingent rules are set on the program)"
            )
        budget = override.get("budget") or {}
        pooled = sorted({"per_period", "reserve"} & set(budget))
        if pooled:
            raise ValueError(
                f"{where}.budget: {', '.join(pooled)} cannot differ by segment or region: the "
                "budget and the reserve are one program-wide pool (set them in program.budget; "
                "payout cadence and delay, shortfall policy and true-up can be overridden)"
            )
        base = self.model_dump(exclude=NOT_RESOLVED)
        for part in (
            "tiers",
            "accelerators",
            "pacers",
            "bonuses",
            "spiffs",
            "milestones",
            "awards",
        ):
            added = set(override.get(part) or {}) - set(base[part])
            if added:
                raise ValueError(
                    f"{where}.{part}: {sorted(added)} not in the program; an override changes "
                    "values of existing entries and cannot add new ones"
                )
        for key, award in (override.get("awards") or {}).items():
            fixed = sorted(set(award or {}) - {"prize"})
            if fixed:
                raise ValueError(
                    f"{where}.awards.{key}: {', '.join(fixed)} cannot differ by segment or region: "
                    "an award's pools are ranked by one rule (only its prize can be overridden)"
                )
        try:
            merged = Program.model_validate(deep_merge(base, override))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"{where}.{loc}: {first['msg']}") from None
        for key, acc in merged.accelerators.items():
            if (acc.horizon_periods > 1) != (self.accelerators[key].horizon_periods > 1):
                raise ValueError(
                    f"{where}.accelerators.{key}.horizon_periods: an override can change the "
                    "length of an accelerator's horizon but not make a period accelerator a "
                    "horizon one or the other way round"
                )
        for key, bonus in merged.bonuses.items():
            if bonus.horizon_weeks != self.bonuses[key].horizon_weeks:
                raise ValueError(
                    f"{where}.bonuses.{key}.horizon_weeks: a bonus's window length cannot differ "
                    "by segment or region (its threshold, reward and rate can)"
                )

    def resolved(self, segment: str | None = None, region: str | None = None) -> Program:
        """The program as it applies to one segment and region (region overrides win)."""
        data = self.model_dump(exclude=NOT_RESOLVED)
        for overrides, key in ((self.segment_overrides, segment), (self.region_overrides, region)):
            if key is not None and key in overrides:
                data = deep_merge(data, overrides[key])
        return Program.model_validate(data)

    @property
    def tier_names(self) -> list[str]:
        """Tier names, lowest first."""
        return list(self.tiers)


def _other_requirements_rise(lower: Requirements, upper: Requirements) -> bool:
    """True when a tier with the same (zero) revenue threshold asks for more of another metric."""
    return any(getattr(upper, m) > getattr(lower, m) for m in TIER_METRICS[1:])
