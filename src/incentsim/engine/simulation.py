"""The simulation engine: one SimPy environment drives the calendar over partner arrays.

Partners are agents, each with its own state and decision rule, but their state is held in
NumPy arrays shaped ``(replications in a block, partner slots)`` and every process acts on all
of them at once. The calendar is made of explicit SimPy processes:

* the weekly market tick (effort, pipeline, closings, timing games, duplicate registrations);
* the period close (audit sweep, MDF claims, the rules engine, churn, recruitment), run as a
  sub-process at the end of each period's last week;
* payout runs at the closes the payout schedule has due (front-end rebates at every close),
  each followed by a process per payout delay that waits it, then the extra weeks of any
  payout-system outage, before partners receive their money;
* one process per declared shock, marking its start and end in the event log.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy
from numpy.typing import NDArray

from incentsim.engine import allocator, days, decisions, satisfaction, tournament, window_outlook
from incentsim.engine.audit_pool import AuditPool
from incentsim.engine.horizon_outlook import HorizonOutlook, horizon_outlook
from incentsim.engine.partner_state import PartnerState, join, leave, update_trust
from incentsim.engine.recorder import BlockResult, Recorder
from incentsim.engine.tally import PeriodTally
from incentsim.engine.versions import ProgramInForce
from incentsim.market.demand import MarketPath, market_path
from incentsim.population.sample import Partners, build_partners
from incentsim.program.compiled import compile_program
from incentsim.program.in_force import ProgramPlan
from incentsim.program.ledger import (
    Accruals,
    PayoutRun,
    PayoutSchedule,
    Settlement,
    close_accounts,
    open_ledger,
)
from incentsim.program.rules import (
    Assessment,
    PeriodMetrics,
    anticipated_payout,
    anticipated_recurring,
    assess_period,
    initial_state,
    put_where,
    sum_last,
)
from incentsim.quantities import from_cents
from incentsim.scenario.model import Scenario

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class _PeriodUplifts:
    """What a partner's tier benefits, ramp-up and remediation do to its sales this period:
    multipliers ``(R, N)`` that change only at a period close."""

    win: FloatArray
    size: FloatArray
    ramp: FloatArray
    remediation: FloatArray


@dataclass(frozen=True)
class _WindowBonus:
    """What the bonus window a week is in means to partners, ``(R, N)``: the ``reward`` it adds
    to one more unit of effort, the window's expected ``pay`` and its ``price`` of revenue
    booked (:func:`decisions.timing_choice`), and what revenue moved into the next window earns
    there (``moved_rate``)."""

    reward: FloatArray
    pay: FloatArray
    price: decisions.Price
    moved_rate: FloatArray


@dataclass(frozen=True)
class _WeekView:
    """What partners see at the start of a week, ``(R, N)`` arrays unless said: the ``week``,
    its ``weeks_left`` in the period and bonus ``window``, the market's ``potential``, ``price``
    and ``supply`` per partner, the horizon ``outlook``, the pipeline's ``closing_rate``, the
    period's ``expected`` revenue and its ``spread``, the marginal rates this period
    (``m_this``), next (``m_next``) and of revenue moved into this one (``m_moved``, with the
    ratchet's cost), the expected ``payout_now``, the ``share_this`` of the week's work closing
    this period and the two ``reward_weights``, the ``reward`` for one more unit of effort, the
    bonus window's terms (``bonus``), and whether the period's timing games are played this
    week (``gaming_window``) or any timing game is (``moving``)."""

    week: int
    weeks_left: int
    window: window_outlook.WindowWeek
    potential: FloatArray
    price: FloatArray
    supply: FloatArray
    outlook: decisions.Outlook
    closing_rate: FloatArray
    expected: FloatArray
    spread: FloatArray
    m_this: FloatArray
    m_next: FloatArray
    m_moved: FloatArray
    payout_now: FloatArray
    share_this: FloatArray
    reward_weights: tuple[FloatArray, FloatArray]
    reward: FloatArray
    bonus: _WindowBonus | None
    gaming_window: bool
    moving: bool


@dataclass
class _Timing:
    """The week's timing games, ``(R, N)``: revenue ``pulled`` in, the ``discount`` on it, the
    ``deferred_share`` of closings held for later, the ``stuff`` loaded, and what moved revenue
    earns where it goes with its weight (``moved``; ``None`` when nothing moves)."""

    pulled: FloatArray
    discount: FloatArray
    deferred_share: FloatArray
    stuff: FloatArray
    moved: tuple[FloatArray, FloatArray] | None


@dataclass(frozen=True)
class _Closings:
    """The week's ``closings`` after stock and released deals, the ``natural`` closings before
    deals held at a window's end were ``released`` into them, the expected number of deals
    (``n_deals``), their ``deal_size``, and the ``quick`` deals' revenue and size (``None``
    without quick deals)."""

    closings: FloatArray
    natural: FloatArray
    released: FloatArray | None
    n_deals: FloatArray
    deal_size: FloatArray
    quick: FloatArray | None
    quick_size: FloatArray | None


def _peer_median(values: FloatArray, members: NDArray[np.bool_]) -> FloatArray:
    """Median of ``values`` over each replication's ``members`` (0 where it has none).

    The numbers of ``np.nanmedian`` (the middle value, or the sum of the two middle values from
    0 halved), from one sort of the ``(R, N)`` array rather than one median per replication.
    """
    count = members.sum(axis=1)
    ranked = np.sort(np.where(members, values, np.nan), axis=1)  # non-members (NaN) sort last
    rows = np.arange(len(count))
    low = ranked[rows, np.maximum(count - 1, 0) // 2]
    high = ranked[rows, count // 2]
    middle = np.where(count % 2 == 1, 0.0 + low, (0.0 + low + high) / 2.0)
    return np.where(count > 0, middle, 0.0)


class Simulation:
    """One block of replications of a scenario.

    Parameters
    ----------
    scenario
        The validated scenario.
    partners
        The block's partner population.
    market
        The block's market path.
    rng
        The block's random stream for partner-level draws. It is split into one stream each for
        closings, audits and churn, so that two scenarios run from the same seed draw the same
        audit and churn numbers for the same partner slot and period (common random numbers)
        even when their closings differ.
    panel
        Whether to keep per-partner per-period rows.
    """

    def __init__(
        self,
        scenario: Scenario,
        partners: Partners,
        market: MarketPath,
        rng: np.random.Generator,
        panel: bool = False,
    ) -> None:
        self.scenario = scenario
        self.behaviour = scenario.behaviour
        self.calendar = scenario.calendar
        self.partners = partners
        self.market = market
        self.closings_rng, self.audit_rng, self.churn_rng = rng.spawn(3)
        co_delivery_rng, self.recruit_rng = rng.spawn(2)
        self.day_streams = rng.spawn(self.calendar.horizon_weeks)  # closing days, a week each
        self.cp = compile_program(scenario.program, partners.segment_names, partners.region_names)
        # Versions and contingent rules: the terms in force change at period starts, and
        # partners price next period at the terms they know of (else: one program throughout).
        plan = ProgramPlan.of(scenario.program, partners.segment_names, partners.region_names)
        self.in_force = None if plan is None else ProgramInForce(plan)
        self.next_cp = self.cp
        self.schedule = PayoutSchedule.of(self.cp, self.calendar.horizon_periods)
        self.group = np.asarray(partners.group, dtype=np.int64)
        self.reps, self.n = self.group.shape
        shape = self.group.shape
        self.env = simpy.Environment()
        self.terms = self.cp.at(self.group)
        self._market_index = np.arange(self.reps)[:, None] * partners.n_groups + self.group
        self._share_this: dict[int, FloatArray] = {}
        self._reward_weight: dict[int, tuple[FloatArray, FloatArray]] = {}
        self._pull_reach: dict[int, tuple[tuple[FloatArray, FloatArray], ...]] = {}
        self._reach_key: tuple[object, object] | None = None
        self._reach_value = np.zeros(shape)
        self._nothing = np.zeros(shape)  # what no timing game moves (read-only)
        self._nothing.setflags(write=False)
        # Each partner's payout delay, by its group's payout schedule.
        self.delay = self.terms.payout_delay_weeks
        wpp = self.calendar.weeks_per_period
        self.noise = decisions.forecast_noise(self.behaviour, wpp)
        # Present bias on this period's payout and on the next period's (a period later).
        self.weight = decisions.present_bias(self.behaviour, partners.myopia, self.delay)
        self.next_weight = decisions.present_bias(self.behaviour, partners.myopia, self.delay + wpp)
        # Front-end rebates are paid at the close, without the delay: worth 1 / weight as much
        # per unit as the delayed payout (None when no group pays on invoice).
        self.front_worth = (
            np.where(self.terms.front_end, 1.0 / self.weight, 1.0)
            if self.cp.front_end.any()
            else None
        )
        # Co-delivery: the share of delivery on co-sold deals each partner does itself unless
        # the program's requirement makes doing more worth its cost (drawn from a stream of its
        # own, and only when some group requires co-delivery).
        self.natural_co_delivery = (
            decisions.natural_co_delivery(self.behaviour, co_delivery_rng, shape)
            if (self.cp.co_delivery_share > 0).any()
            else None
        )
        self.csat_pressure = satisfaction.satisfaction_pressure(
            self.behaviour, self.cp.csat_guarded[self.group]
        )
        # Duplicate registrations pay only where a deal can earn a co-sell or SPIFF bonus.
        self.bonus_per_deal = any(
            bool((table > 0).any())
            for table in (self.cp.co_sell_rate, self.cp.spiff_per_deal, self.cp.spiff_uplift)
        )
        terms = self.terms
        self.duplicate_rate = decisions.duplicate_rate(
            self.behaviour,
            partners.gaming_propensity,
            terms.audit_rate,
            terms.audit_detection,
            terms.audit_penalty,
        )
        self.n_spiffs = len(self.cp.spiff_names)
        self.product_share = self._spiff_product_shares()
        # Duplicate registrations the duplicate check can catch: within the registration's
        # protection window (a duplicate comes at a uniform time over the deal's cycle) and on
        # bonuses that require a registration.
        cycle_days = 7.0 * partners.deal_cycle_weeks
        within = np.minimum(terms.registration_protection_days / cycle_days, 1.0)
        self.registration_catch = terms.registration_detection * within

        self.state = PartnerState.opening(partners, self.behaviour)
        self.loyalty_step = decisions.per_period(
            self.behaviour.loyalty_speed, self.calendar.weeks_per_period
        )
        self.pstate = initial_state(self.cp, self.group)
        self.ledger = open_ledger(self.cp.budget, shape)
        self.accruals = Accruals.empty(shape)
        self.audit_pool = AuditPool.empty(shape, self.n_spiffs)
        self._reset_period()
        # The calendar's position and what partners carry from week to week.
        self._period = 0
        self._week_in_period = 0
        self._m_next = np.zeros(shape)
        self._window_next: tuple[FloatArray, FloatArray] | None = None
        self._m_moved = np.zeros(shape)
        self._ratchet: FloatArray | None = None
        self._standings: tournament.Standings | None = None  # the awards' cut-offs as read
        # Benefits that raise sales are worth reaching a tier for.
        self.valued_benefits = bool(
            self.cp.benefit_win_rate_uplift.any() or self.cp.benefit_deal_size_uplift.any()
        )
        self._tier_values = self._tier_values_now()
        self._uplifts = self._period_uplifts()
        self._horizons = self._horizon_outlook()
        self.recorder = Recorder(
            self.calendar,
            self.cp,
            partners,
            self.behaviour,
            scenario.market,
            self.state,
            panel=panel,
        )

    # ----------------------------------------------------------------------------------------
    # set-up helpers

    def _spiff_product_shares(self) -> FloatArray:
        """Share of each partner's revenue that qualifies for each SPIFF, ``(R, N, S)``: its
        group's SPIFF product and deal type."""
        p, cp = self.partners, self.cp
        shares = np.zeros((self.reps, self.n, self.n_spiffs))
        deal_types = (np.ones((self.reps, self.n)), p.new_logo_share, 1.0 - p.new_logo_share)
        for s in range(self.n_spiffs):
            for g in range(cp.n_groups):
                members = self.group == g
                if not members.any():
                    continue
                product_name = cp.spiff_product[g][s]
                if product_name is None:
                    product = np.ones((self.reps, self.n))
                elif product_name in p.product_names:
                    product = p.product_mix[..., p.product_names.index(product_name)]
                else:
                    product = np.zeros((self.reps, self.n))
                share = product * deal_types[int(cp.spiff_deal_type[g, s])]
                shares[..., s] = np.where(members, share, shares[..., s])
        return shares

    def _reset_period(self) -> None:
        shape = self.group.shape
        self.tally = PeriodTally.empty(
            shape, self.n_spiffs, self.calendar.weeks_per_period if self.cp.bonus_weeks else 0
        )
        self.state.returns = self.state.returns_next
        self.state.returns_next = np.zeros(shape)

    def _weekly(self, array: NDArray[Any], week: int) -> FloatArray:
        """A market array ``(R, W, G)`` at ``week``, gathered per partner ``(R, N)``."""
        return np.take(array[:, week, :], self._market_index)

    def _tier_value(self, table: FloatArray) -> FloatArray:
        """A gathered per-tier term ``(R, N, T)`` at each partner's current tier (0 if none)."""
        tier = self.pstate.tier
        return np.where(tier >= 0, self.terms.at_tier(table, tier), 0.0)

    def _period_uplifts(self) -> _PeriodUplifts:
        """Tier benefits, ramp-up and remediation as they stand for the period just opened.

        Benefits and remediation add win-rate points to the partner's win rate; the potential
        scales with the win rate it then has.
        """
        p, terms = self.partners, self.terms
        points = self._tier_value(terms.benefit_win_rate_uplift)
        if self.state.in_remediation.any():
            points = points + np.where(
                self.state.in_remediation, terms.remediation_win_rate_uplift, 0.0
            )
        win = 1.0 + points / np.maximum(p.win_rate, 0.05)
        size = 1.0 + self._tier_value(terms.benefit_deal_size_uplift)
        tenure = self._period - self.state.join_period
        ramp_periods = self.scenario.population.recruitment.ramp_periods
        speed = 1.0 + self._tier_value(terms.benefit_ramp_speedup)
        ramp = np.where(
            self.state.join_period > 0,
            np.clip((tenure + 1) * speed / (ramp_periods + 1), 0.0, 1.0),
            1.0,
        )
        remediation = np.where(
            self.state.in_remediation, 1.0 + terms.remediation_capacity_uplift, 1.0
        )
        return _PeriodUplifts(win=win, size=size, ramp=ramp, remediation=remediation)

    def _spiff_window(self, week: int) -> FloatArray:
        """1.0 for each SPIFF whose window (its partner's group's) includes ``week``, else 0.0:
        ``(S,)`` when every group has the same windows, else ``(R, N, S)``."""
        cp = self.cp
        open_now = ((cp.spiff_start_week <= week) & (week < cp.spiff_end_week)).astype(np.float64)
        window: FloatArray = (
            open_now[0] if (open_now == open_now[:1]).all() else open_now[self.group]
        )
        return window

    def _share_this_period(self, weeks_left: int) -> FloatArray:
        """Share of a partner's pipeline that can still close this period, with ``weeks_left``
        weeks to go (the same every period: computed once per value)."""
        if weeks_left not in self._share_this:
            self._share_this[weeks_left] = 1.0 - np.exp(
                -weeks_left / self.partners.deal_cycle_weeks
            )
        return self._share_this[weeks_left]

    def _reward_weights(self, weeks_left: int) -> tuple[FloatArray, FloatArray]:
        """What a unit of reward this period and next is worth this week, with ``weeks_left``
        weeks to go: the share of the pipeline closing this period times the present-bias
        weight on this period's payout, and the rest times next period's (computed once per
        value)."""
        if weeks_left not in self._reward_weight:
            share_this = self._share_this_period(weeks_left)
            self._reward_weight[weeks_left] = (
                share_this * self.weight,
                (1.0 - share_this) * self.next_weight,
            )
        return self._reward_weight[weeks_left]

    def _reach(self) -> FloatArray:
        """Each partner's weekly sales potential before the week's demand: its capacity, the
        share of it the vendor gets (loyalty), and the period's uplifts; kept while loyalty
        and the uplifts stay the same arrays (both are replaced, never changed in place)."""
        key = (self.state.loyalty, self._uplifts)
        if self._reach_key is None or any(
            a is not b for a, b in zip(key, self._reach_key, strict=True)
        ):
            u = self._uplifts
            self._reach_value = (
                self.partners.capacity
                * decisions.share_of_wallet(self.behaviour, self.state.loyalty)
                * u.win
                * u.size
                * u.ramp
                * u.remediation
            )
            self._reach_key = key
        return self._reach_value

    # ----------------------------------------------------------------------------------------
    # the weekly market tick

    def _outlook(self) -> decisions.Outlook:
        """The week's outlook, read-only: the rules engine may then recognise it by identity."""
        weeks_done = max(self._week_in_period, 1)
        wpp = self.calendar.weeks_per_period
        outlook = decisions.Outlook(
            new_logos=self.tally.new_logos * wpp / weeks_done,
            certified_staff=self.partners.certified_staff,
            csat=self._csat(),
            tier_values=self._tier_values,
            front_worth=self.front_worth,
            horizons=self._horizons,
        )
        outlook.new_logos.setflags(write=False)
        outlook.csat.setflags(write=False)
        return outlook

    def _tier_values_now(self) -> FloatArray | None:
        """What ending the period starting at each tier is worth beyond its payout: the
        milestones' worth (:func:`decisions.milestone_values`) and the benefits' (what they
        would add to next period's margin, :func:`decisions.benefit_values`); ``None`` when
        the program has neither."""
        b, p, wpp = self.behaviour, self.partners, self.calendar.weeks_per_period
        milestones = decisions.milestone_values(
            b, self.cp, self.pstate, self.group, p.myopia, self.delay, wpp
        )
        if not self.valued_benefits:
            return milestones
        revenue_next = p.capacity * decisions.share_of_wallet(b, self.state.loyalty) * wpp
        benefits = decisions.benefit_values(
            b, self.terms, p.win_rate, revenue_next, self.weight, self.next_weight
        )
        return benefits if milestones is None else milestones + benefits

    def _horizon_outlook(self) -> HorizonOutlook | None:
        """What partners expect of the periods to come for what is paid on horizons longer
        than the period (:func:`~incentsim.engine.horizon_outlook.horizon_outlook`): each
        period at the pace its capacity, share of wallet, effort and the period's uplifts
        give."""
        b, p, u, wpp = self.behaviour, self.partners, self._uplifts, self.calendar.weeks_per_period
        pace = (
            p.capacity
            * decisions.share_of_wallet(b, self.state.loyalty)
            * wpp
            * self.state.effort
            * (u.win * u.size * u.ramp * u.remediation)
            * self.state.active
        )
        return horizon_outlook(
            b,
            self.cp,
            self.pstate,
            pace,
            p.myopia,
            self.delay,
            wpp,
            self.calendar.periods_per_year,
        )

    def _csat(self, weeks_done: int | None = None) -> FloatArray:
        """Customer satisfaction: effort above normal starves support unless it is rewarded.

        Effort is averaged over the ``weeks_done`` weeks of the period summed so far (default:
        the weeks before this one; at the start of a period, the current effort).
        """
        weeks_done = self._week_in_period if weeks_done is None else weeks_done
        effort = self.tally.effort_sum / weeks_done if weeks_done else self.state.effort
        return satisfaction.worn_satisfaction(self.partners.csat, self.csat_pressure, effort)

    def _week(self, week: int) -> None:
        """One week of every partner, in the order partners act: what they expect, the effort
        they put in, the timing games they choose before the week's closings are known, the
        closings, what they book of them, and the records."""
        view = self._week_view(week)
        quick_share = self._choose_effort(view)
        timing = self._choose_timing(view)
        closed = self._close_deals(view, quick_share)
        booked = self._book(view, timing, closed)
        self._tally_week(view, timing, closed, booked)

    def _week_view(self, week: int) -> _WeekView:
        """What partners expect at the start of ``week``: the period's revenue so far, what
        their pipeline should still close (deferred deals count from the next period's first
        week), and the reward for one more unit this period and next (a new period's terms,
        versions and uplifts first, in its first week)."""
        b, p, cal = self.behaviour, self.partners, self.calendar
        wpp = cal.weeks_per_period
        self._week_in_period = week % wpp
        weeks_left = wpp - self._week_in_period
        window = window_outlook.window_week(self._week_in_period, wpp, self.cp.bonus_weeks)
        active = self.state.active
        if self._week_in_period == 0:
            if self.in_force is not None:
                self.cp, self.next_cp = self.in_force.start_period(self, week // wpp)
                self.terms = self.cp.at(self.group)
                self._tier_values = self._tier_values_now()
            self._uplifts = self._period_uplifts()
        potential = self._reach() * self._weekly(self.market.demand, week) * active
        if self.state.demand_kept is not None:
            potential = potential * self.state.demand_kept
        cycle = p.deal_cycle_weeks
        outlook = self._outlook()
        supply = self._weekly(self.market.supply, week)
        closing_rate = self.state.pipeline / cycle * supply
        # Deals deferred at a bonus window's end inside the period come back in the next window.
        carried = self.state.held if window.opening or not window.last else 0.0
        expected = self.tally.revenue + carried + closing_rate * weeks_left
        typical = np.maximum(potential * wpp, 1.0)
        spread = np.maximum(
            self.noise * np.sqrt(weeks_left / wpp) * np.maximum(expected, typical),
            0.01 * typical,
        )
        m_this, payout_now = decisions.payout_outlook(
            self.cp, self.pstate, self.group, expected, spread, outlook
        )
        period_gaming = weeks_left <= b.timing_weeks
        # With bonus windows inside the period, the period's games are played in its last window.
        gaming_window = period_gaming and window.last
        if self._week_in_period == 0 or (period_gaming and weeks_left == b.timing_weeks):
            self._m_next, self._m_moved, self._ratchet = self._next_period_rates(
                expected, spread, closing_rate, typical, outlook, gaming_window
            )
        m_next, m_moved = self._m_next, self._m_moved
        # Next period's payout comes a period later: present bias weighs it less.
        share_this = self._share_this_period(weeks_left)
        this_weight, next_share_weight = self._reward_weights(weeks_left)
        reward = this_weight * m_this + next_share_weight * m_next
        if self._ratchet is not None:
            # Revenue booked this period raises next period's quota: a cost paid next period.
            reward = reward - share_this * self.next_weight * self._ratchet
            m_moved = m_moved + self._ratchet  # what moving a unit into this period costs
        if self.cp.awards.count:
            reward = reward + self.weight * self._award_rate(expected, spread, share_this)
        bonus = None
        if self.cp.bonus_weeks:
            bonus = self._window_bonus(window, closing_rate, typical)
            reward = reward + bonus.reward
        return _WeekView(
            week=week,
            weeks_left=weeks_left,
            window=window,
            potential=potential,
            price=self._weekly(self.market.price, week),
            supply=supply,
            outlook=outlook,
            closing_rate=closing_rate,
            expected=expected,
            spread=spread,
            m_this=m_this,
            m_next=m_next,
            m_moved=m_moved,
            payout_now=payout_now,
            share_this=share_this,
            reward_weights=(this_weight, next_share_weight),
            reward=reward,
            bonus=bonus,
            gaming_window=gaming_window,
            moving=gaming_window or (not window.last and window.weeks_left <= b.timing_weeks),
        )

    def _choose_effort(self, view: _WeekView) -> FloatArray:
        """Move effort toward the target the week's reward sets
        (:func:`decisions.target_effort`), and return the share of selling put into small quick
        deals (:func:`decisions.quick_deal_choice`)."""
        b = self.behaviour
        target = decisions.target_effort(b, self.partners.responsiveness, view.reward)
        self.state.effort = self.state.effort + b.effort_adjustment * (target - self.state.effort)
        return decisions.quick_deal_choice(
            b,
            view.m_this,
            view.m_next,
            view.share_this,
            self.weight,
            self.next_weight,
            weights=view.reward_weights,
        )

    def _choose_timing(self, view: _WeekView) -> _Timing:
        """Timing games in the last weeks of the period, chosen before the week's closings are
        known: pull part of the pipeline in, defer a share of whatever closes this week, load
        stock at a closing (nothing moves outside those weeks)."""
        b, p, active = self.behaviour, self.partners, self.state.active
        timing = _Timing(self._nothing, self._nothing, self._nothing, self._nothing, None)
        if not view.moving:
            return timing
        window, cycle = view.window, p.deal_cycle_weeks
        # At the period's end, or at a bonus window's end inside it (the bonus alone prices
        # the move there: the deals stay in the period).
        move_price, base, moved_rate, moved_weight = self._timing_terms(
            view.expected,
            view.spread,
            view.m_moved,
            view.payout_now,
            view.outlook,
            view.bonus,
            view.gaming_window,
        )
        timing.moved = (moved_rate, moved_weight)
        gap = window.weeks_left
        if gap not in self._pull_reach:
            self._pull_reach[gap] = decisions.pull_reach(b, cycle, gap)
        pulls = decisions.pull_options(b, self.state.pipeline, cycle, gap, self._pull_reach[gap])
        pulled, timing.discount, deferred_share, payout_after = decisions.timing_choice(
            b,
            move_price,
            view.closing_rate,
            pulls,
            moved_rate,
            self.weight,
            moved_weight,
            p.gaming_propensity,
            base=base,
        )
        timing.pulled = pulled * active
        timing.deferred_share = deferred_share * active
        if window.closing and b.stuffing_capacity_weeks > 0:
            stuff = self._stuffing(
                view.expected,
                view.spread,
                timing.pulled * (1.0 - timing.discount) - timing.deferred_share * view.closing_rate,
                b.stuffing_capacity_weeks * view.potential,
                (moved_rate, moved_weight),
                payout_after,
                view.outlook,
                view.bonus,
                view.gaming_window,
            )
            timing.stuff = stuff * active
        return timing

    def _close_deals(self, view: _WeekView, quick_share: FloatArray) -> _Closings:
        """New pipeline, natural closings (random around their mean) limited by supply, small
        quick deals, deals held at a bonus window's end released at the next one's opening, and
        orders met from stock loaded earlier."""
        b, p, active = self.behaviour, self.partners, self.state.active
        cycle = p.deal_cycle_weeks
        sold = view.potential * self.state.effort * view.price
        self.state.pipeline += (sold + self.state.mdf_boost) * active
        quick = None
        if quick_share.any():
            # Small quick deals: selling that closes this week instead of entering the pipeline.
            selling = sold * quick_share * active
            self.state.pipeline -= selling
            quick = selling * b.quick_deal_yield * view.supply
        closings = self.state.pipeline / cycle * view.supply
        self.state.pipeline -= closings
        deal_size = np.maximum(p.deal_size * view.price * self._uplifts.size, 1.0)
        n_deals = closings / deal_size
        shape_k = np.maximum(n_deals, 1e-6)
        # Gamma(shape, scale) draws as standard gamma draws times the scale: numpy's own
        # formula, the same numbers, without broadcasting a second parameter per draw.
        draws = self.closings_rng.standard_gamma(shape_k) * (closings / shape_k)
        closings = put_where(draws, ~(closings > 0), 0.0)
        quick_size = None
        if quick is not None:
            closings += quick
            quick_size = deal_size * b.quick_deal_size
            n_deals = n_deals + quick / quick_size
        natural, released = closings, None
        if view.window.opening:
            natural, released = closings.copy(), self.state.held
            closings += self.state.held
            self.state.held = np.zeros_like(self.state.held)
        from_stock = np.minimum(self.state.overhang, closings)
        self.state.overhang -= from_stock
        closings -= from_stock
        return _Closings(closings, natural, released, n_deals, deal_size, quick, quick_size)

    def _book(self, view: _WeekView, timing: _Timing, closed: _Closings) -> FloatArray:
        """The revenue booked this week: the closings, less what is deferred (a share chosen
        before, or, at the period's end, what would pass a cap once the closings are seen),
        plus what is pulled in (net of its discount) and the stock loaded."""
        b, window, closings = self.behaviour, view.window, closed.closings
        if not view.moving:
            return closings
        timing.pulled = np.minimum(timing.pulled, self.state.pipeline)
        pulled, discount, stuff = timing.pulled, timing.discount, timing.stuff
        deferred = timing.deferred_share * closings
        if view.gaming_window:
            assert timing.moved is not None  # priced whenever anything moves
            # Seeing the week's closings, a partner holds back what would pass a cap.
            past_cap = self._past_cap_deferral(
                closings,
                pulled * (1.0 - discount) + stuff,
                view.closing_rate,
                view.weeks_left,
                timing.moved,
                view.outlook,
                view.bonus,
            )
            if past_cap is not None:
                holds = past_cap > 0  # only where closings are
                deferred = np.where(holds, past_cap, deferred)
                timing.deferred_share = np.where(
                    holds, past_cap / np.where(holds, closings, 1.0), timing.deferred_share
                )
        self.state.pipeline -= pulled
        self.state.held += deferred
        booked = closings - deferred + pulled * (1.0 - discount) + stuff
        self.recorder.timing(pulled, deferred, pulled * discount)
        if window.closing and b.stuffing_capacity_weeks > 0:
            if window.last:
                self.state.returns_next += b.stuffing_return_rate * stuff
                self.state.overhang += (1.0 - b.stuffing_return_rate) * stuff
            else:
                # Inside the period, stock loaded at a window's end comes back against
                # the next window's orders, returned or displacing them (_stuffing).
                self.state.overhang += stuff
            self.recorder.stuffing(stuff)
        return booked

    def _tally_week(
        self, view: _WeekView, timing: _Timing, closed: _Closings, booked: FloatArray
    ) -> None:
        """Add the week's booked revenue, deals, new logos, co-selling and SPIFF revenue to the
        period's tally, and record the week (moved deals on the period's last business days)."""
        p, deal_size = self.partners, closed.deal_size
        deals = booked / deal_size
        if closed.quick is not None:
            # Quick deals are smaller: the same revenue in more deals.
            assert closed.quick_size is not None
            deals = deals + closed.quick * (1.0 / closed.quick_size - 1.0 / deal_size)
            self.recorder.quick_deals(closed.quick)
        self.tally.revenue += booked
        self.tally.deals += deals
        self.tally.new_logos += deals * p.new_logo_share
        self.tally.co_sell_revenue += booked * p.co_sell_share
        self.tally.effort_sum += self.state.effort
        if self.cp.bonus_weeks:
            self.tally.week_revenue[..., self._week_in_period] = booked
        week = view.week
        in_window = self._spiff_window(week)
        spiff_revenue = booked[..., None] * self.product_share * in_window
        self.tally.spiff_revenue += spiff_revenue
        self.tally.spiff_deals += spiff_revenue / deal_size[..., None]
        self._duplicates(deals, booked, spiff_revenue, deal_size, in_window)
        week_booked, week_deals, moved = booked, deals, None
        if view.moving:
            # Deals moved into the period (or a bonus window) close on its last business days
            # (engine.days).
            moved = timing.pulled * (1.0 - timing.discount) + timing.stuff
            to_revenue, to_deals, moved = self.state.period_end.close(
                moved, moved / deal_size, view.window.closing
            )
            week_booked, week_deals = booked + to_revenue, deals + to_deals
        self.recorder.week(week, week_booked, week_deals)
        if self.recorder.dates(week):
            kept = 1.0 - timing.deferred_share if view.moving else None
            self._date_closings(
                week, closed.natural, closed.released, closed.closings, kept, moved, closed.n_deals
            )

    def _window_bonus(
        self, window: window_outlook.WindowWeek, closing_rate: FloatArray, typical: FloatArray
    ) -> _WindowBonus:
        """What the bonus window this week is in means to partners
        (:mod:`incentsim.engine.window_outlook`): the reward for one more unit of effort
        through its bonus and the next window's (by the share of this week's pipeline closing
        before the window ends), its expected pay and price, and what revenue moved into the
        next window earns there (kept from the window's first week and its first week of timing
        games, like next period's rates; the last window's next is next period's first, priced
        at the version of the program partners know of)."""
        b, wpp, hw = self.behaviour, self.calendar.weeks_per_period, self.cp.bonus_weeks
        so_far = self.tally.week_revenue[..., window.start : self._week_in_period].sum(axis=-1)
        carried = self.state.held if window.opening else 0.0
        expected = so_far + carried + closing_rate * window.weeks_left
        spread = window_outlook.window_spread(
            b, window.weeks_left, window.length, expected, typical * window.length / wpp
        )
        rate, pay = window_outlook.window_outlook(self.terms, expected, spread)
        if window.opening or window.weeks_left == b.timing_weeks or self._window_next is None:
            length = window_outlook.next_length(window, wpp, hw)
            expected_next = closing_rate * length
            spread_next = window_outlook.window_spread(
                b, length, length, expected_next, typical * length / wpp
            )
            # The last window's next is next period's first, at the terms partners know of.
            terms_next = self.next_cp.at(self.group) if window.last else self.terms
            self._window_next = (
                window_outlook.window_outlook(terms_next, expected_next, spread_next)[0],
                window_outlook.window_moved_rate(terms_next, expected_next, spread_next),
            )
        rate_next, moved_next = self._window_next
        share = 1.0 - np.exp(-window.weeks_left / self.partners.deal_cycle_weeks)
        weight_next = self.next_weight if window.last else self.weight
        return _WindowBonus(
            reward=share * self.weight * rate + (1.0 - share) * weight_next * rate_next,
            pay=pay,
            price=window_outlook.window_price(self.terms, expected, spread),
            moved_rate=moved_next,
        )

    def _timing_terms(
        self,
        expected: FloatArray,
        spread: FloatArray,
        m_moved: FloatArray,
        payout_now: FloatArray,
        outlook: decisions.Outlook,
        bonus: _WindowBonus | None,
        period_end: bool,
    ) -> tuple[decisions.Price, FloatArray, FloatArray, FloatArray]:
        """What :func:`decisions.timing_choice` prices a move with this week: the expected
        payout for revenue booked, its value with nothing moved, what the moved revenue earns
        where it goes, and the weight on that. At the ``period_end`` the period's payout (plus
        its last window's bonus) against next period's (plus its first window's); at a bonus
        window's end inside the period, the window's bonus against the next window's, paid at
        the same close."""
        cp, pstate, group = self.cp, self.pstate, self.group

        def period_price(booked: FloatArray) -> FloatArray:
            return decisions.expected_payout(cp, pstate, group, expected + booked, spread, outlook)

        if bonus is None:
            return period_price, payout_now, m_moved, self.next_weight
        if not period_end:
            return bonus.price, bonus.pay, bonus.moved_rate, self.weight
        window_price = bonus.price

        def price(booked: FloatArray) -> FloatArray:
            return period_price(booked) + window_price(booked)

        return price, payout_now + bonus.pay, m_moved + bonus.moved_rate, self.next_weight

    def _past_cap_deferral(
        self,
        closings: FloatArray,
        moved_in: FloatArray,
        closing_rate: FloatArray,
        weeks_left: int,
        moved: tuple[FloatArray, FloatArray],
        outlook: decisions.Outlook,
        bonus: _WindowBonus | None,
    ) -> FloatArray | None:
        """What partners defer of the week's ``closings``, once they see them, because booking
        them would take the period past a cap (:func:`decisions.past_cap_deferral`); ``None``
        where nobody does.

        Booked on top of the period's revenue so far and what was moved in this week
        (``moved_in``), revenue past a cap earns nothing whatever the rest of the period
        brings: the closings deferred are those over which the payout is flat both with
        nothing more booked this period and with what the weeks after this one should close
        at the week's ``closing_rate`` (so a payout that rises again further up is not taken
        for a cap). With a bonus window ending with the period, its bonus (priced as at the
        week's start, :meth:`_window_bonus`) prices the closings too. ``moved`` is what a unit
        deferred earns next period, and the weight on it.
        """
        cp, pstate, group = self.cp, self.pstate, self.group
        settled = self.tally.revenue + moved_in
        rest = closing_rate * (weeks_left - 1)

        def priced(extra: FloatArray | float) -> decisions.Price:
            def price(booked: FloatArray) -> FloatArray:
                pay = decisions.priced_payout(cp, pstate, group, settled + extra + booked, outlook)
                if bonus is not None:
                    # Against the week's expectation: this week's closings and the rest's.
                    pay = pay + bonus.price(booked + moved_in - closing_rate)
                return pay

            return price

        rate, weight = moved
        deferred = decisions.past_cap_deferral(
            self.behaviour,
            priced(0.0),
            closings,
            settled,
            rate,
            weight,
            self.partners.gaming_propensity,
            later=priced(rest) if weeks_left > 1 else None,
        )
        deferred = deferred * self.state.active
        return deferred if deferred.any() else None

    def _stuffing(
        self,
        expected: FloatArray,
        spread: FloatArray,
        moved_in: FloatArray,
        capacity: FloatArray,
        displaced: tuple[FloatArray, FloatArray],
        payout_after: FloatArray,
        outlook: decisions.Outlook,
        bonus: _WindowBonus | None,
        period_end: bool,
    ) -> FloatArray:
        """Extra inventory sold in (:func:`decisions.stuffing_choice`) in the last week of the
        period or of a bonus window inside it, after ``moved_in`` was pulled in (less what was
        deferred): the same rule at the window's own horizon, priced as the week's other timing
        games (:meth:`_timing_terms`). The orders it displaces would have earned ``displaced``
        (rate, weight) where they were due.

        At the ``period_end`` the period's payout (plus its last window's bonus) prices it: the
        stock comes back next period, returned (clawed back at the rebate rate) or displacing
        its orders. At a window's end inside the period the window's bonus alone prices it, as
        it does the window's pulls (Owan, Tsuru & Uehara 2015: dealers book stock at the end
        of every bonus month): the stock comes back against the next window's orders, all of
        it at the next window's rate, and the period's revenue does not move."""
        cp, pstate, group, b, p = self.cp, self.pstate, self.group, self.behaviour, self.partners
        rate, weight = displaced
        if not period_end:
            assert bonus is not None
            window_price = bonus.price

            def in_window(stuff: FloatArray) -> FloatArray:
                return window_price(moved_in + stuff)

            return decisions.stuffing_choice(
                b,
                in_window,
                capacity,
                rate,
                rate,
                self.weight,
                weight,
                p.gaming_propensity,
                base=payout_after,
            )
        after = expected + moved_in
        clawed = np.where(cp.clawback_on_returns[group], pstate.last_rate, 0.0)

        def in_period(stuff: FloatArray) -> FloatArray:
            return decisions.expected_payout(cp, pstate, group, after + stuff, spread, outlook)

        if bonus is None:
            price, base = in_period, payout_after
        else:
            last_window = bonus.price

            def price(stuff: FloatArray) -> FloatArray:
                return in_period(stuff) + last_window(moved_in + stuff)

            base = None
        return decisions.stuffing_choice(
            b, price, capacity, rate, clawed, self.weight, weight, p.gaming_propensity, base=base
        )

    def _date_closings(
        self,
        week: int,
        natural: FloatArray,
        released: FloatArray | None,
        closings: FloatArray,
        kept: FloatArray | None,
        moved: FloatArray | None,
        n_deals: FloatArray,
    ) -> None:
        """Date the week's booked revenue on its business days (:mod:`incentsim.engine.days`):
        of its ``closings`` (``natural`` ones and deferred deals ``released``, less what came
        from stuffed stock), the share ``kept`` this period, and the deals moved into the period
        that close this week (``moved``: in its last week, all of them)."""
        zero = np.zeros_like(closings)
        if released is None:
            released_part = zero
        else:
            both = natural + released
            released_part = closings * np.divide(released, both, out=zero.copy(), where=both > 0)
        natural_part = closings - released_part
        if kept is not None:
            natural_part, released_part = natural_part * kept, released_part * kept
        split = days.natural_split(self.day_streams[week], n_deals)
        by_day = days.booked_by_day(
            natural_part,
            split,
            released_part,
            zero if moved is None else moved,
            self.behaviour.moved_deals_last_day_share,
        )
        self.recorder.days(week, by_day)

    def _award_rate(
        self, expected: FloatArray, spread: FloatArray, share_this: FloatArray
    ) -> FloatArray:
        """What one more unit of revenue this period is worth through the category awards'
        prizes: the prize times the density of winning at the cut-off, against the standings
        read every few weeks (:mod:`incentsim.engine.tournament`)."""
        p = self.partners
        awards = self.pstate.awards
        assert awards is not None
        logos_per_revenue = p.new_logo_share / np.maximum(p.deal_size, 1.0)
        if self._week_in_period % tournament.STANDINGS_WEEKS == 0:
            self._standings = tournament.standings(
                self.cp.awards,
                awards,
                self.group,
                self._period,
                self.calendar.horizon_periods,
                expected,
                logos_per_revenue,
            )
        assert self._standings is not None
        rate: FloatArray = tournament.award_rate(
            self.behaviour,
            self.cp.awards,
            awards,
            self.group,
            self._standings,
            expected,
            spread,
            logos_per_revenue,
            share_this,
        )
        return rate

    def _next_period_rates(
        self,
        expected: FloatArray,
        spread: FloatArray,
        closing_rate: FloatArray,
        typical: FloatArray,
        outlook: decisions.Outlook,
        moving: bool,
    ) -> tuple[FloatArray, FloatArray, FloatArray | None]:
        """Incentive per unit of revenue next period: for effort (:func:`decisions.marginal_rate`)
        and, when ``moving`` deals across the period end is open, for revenue moved into it
        (:func:`decisions.moved_revenue_rate`, else the effort rate); and the quota ratchet's cost
        per unit booked this period (``None`` without a ratchet), priced by the rules engine.

        Next period's revenue is expected at the partner's current pace (this week's closing
        rate over a whole period) plus any deals already deferred into it; the program's state
        stands in for next period's, with the quota a ratchet will set from this period's
        expected revenue (:func:`decisions.ratcheted_state`), priced at the terms partners know
        will be in force then (a version announced for next period:
        :mod:`incentsim.engine.versions`), so revenue moves ahead of an announced cut and is
        held back before a rise. A partner at a cap this period, or hopelessly below a floor,
        sees a zero rate this period and, by the chance of ending next period between the two,
        a positive one on revenue moved into next period: deferral emerges at both ends.
        """
        wpp = self.calendar.weeks_per_period
        expected_next = closing_rate * wpp + self.state.held
        spread_next = np.maximum(self.noise * np.maximum(expected_next, typical), 0.01 * typical)
        state = decisions.ratcheted_state(self.cp, self.pstate, self.group, expected)
        rate = decisions.marginal_rate(
            self.next_cp, state, self.group, expected_next, spread_next, outlook
        )
        moved = (
            decisions.moved_revenue_rate(
                self.next_cp, state, self.group, expected_next, spread_next, outlook
            )
            if moving
            else rate
        )
        ratchet = decisions.ratchet_cost(
            self.cp, self.pstate, self.group, expected, spread, expected_next, spread_next, outlook
        )
        return rate, moved, ratchet

    def _duplicates(
        self,
        deals: FloatArray,
        booked: FloatArray,
        spiff_revenue: FloatArray,
        deal_size: FloatArray,
        in_window: FloatArray,
    ) -> None:
        """Duplicate registrations: claims for bonuses on deals registered twice."""
        if not self.bonus_per_deal:
            return
        t = self.terms
        per_deal_bonus = (
            sum_last(t.spiff_per_deal * in_window)
            + sum_last(t.spiff_uplift * in_window) * deal_size
            + t.co_sell_rate * deal_size
        )
        if not np.any(per_deal_bonus > 0):
            return
        rate = self.duplicate_rate * (per_deal_bonus > 0)
        submitted = deals * rate
        caught = self.registration_catch
        missed = 1.0 - caught
        share = rate * missed  # duplicate claims per genuine claim that get through
        # A bonus that needs no registration pays unregistered claims: the check never sees them.
        co_share = (
            share
            if t.co_sell_requires_registration.all()
            else rate * np.where(t.co_sell_requires_registration, missed, 1.0)
        )
        spiff_share = (
            share[..., None]
            if t.spiff_requires_registration.all()
            else rate[..., None] * np.where(t.spiff_requires_registration, missed[..., None], 1.0)
        )
        co_sell = booked * self.partners.co_sell_share * co_share
        spiff_claimed = spiff_revenue * spiff_share
        spiff_deals = spiff_revenue / deal_size[..., None] * spiff_share
        self.tally.co_sell_revenue += co_sell
        self.tally.spiff_revenue += spiff_claimed
        self.tally.spiff_deals += spiff_deals
        self.audit_pool.add(co_sell, spiff_claimed, spiff_deals, submitted * missed)
        self.recorder.duplicates(submitted, submitted * caught)

    # ----------------------------------------------------------------------------------------
    # period close

    def _audit(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Audit sweep: a share of partners audited; detected duplicate claims clawed back."""
        cp, g = self.cp, self.group
        audited = self.audit_rng.random(g.shape) < cp.audit_rate[g]
        detected = audited & (self.audit_rng.random(g.shape) < cp.audit_detection[g])
        found = self.audit_pool.sweep(audited, detected)
        self.recorder.audit(found.duplicates)
        return found.co_sell, found.spiff_revenue, found.spiff_deals

    def _co_delivery(self) -> FloatArray:
        """Share of delivery on co-sold deals each partner did itself this period (see
        :func:`decisions.co_delivery_choice`); 1 for everyone when no group requires any."""
        if self.natural_co_delivery is None:
            return np.ones(self.group.shape)
        t = self.terms
        return decisions.co_delivery_choice(
            self.behaviour,
            self.natural_co_delivery,
            t.co_delivery_share,
            np.where(self.pstate.tier >= t.co_sell_min_tier, t.co_sell_rate, 0.0) * self.weight,
        )

    def _recruits(self, period: int) -> NDArray[np.bool_]:
        """The candidates for ``period`` who join: each weighs the rate the program would pay
        it per period at its expected revenue, a new partner's first period, against the
        normal rate (:func:`decisions.join_probability`): the rebate and accelerators, the
        co-sell bonus on its co-sold share and the milestones of the tier that revenue earns
        (:func:`~incentsim.program.rules.anticipated_recurring`)."""
        candidates: NDArray[np.bool_] = self.partners.active_from_period == period
        draws = self.recruit_rng.random(self.group.shape)
        if not candidates.any():
            return candidates
        b, p = self.behaviour, self.partners
        wpp = self.calendar.weeks_per_period
        revenue = p.capacity * decisions.share_of_wallet(b, p.initial_loyalty) * wpp
        logos = revenue / np.maximum(p.deal_size, 1.0) * p.new_logo_share
        pay, tier = anticipated_payout(
            self.cp, self.pstate, self.group, revenue, logos, p.certified_staff, p.csat
        )
        co_delivery = 1.0 if self.natural_co_delivery is None else self.natural_co_delivery
        pay = pay + anticipated_recurring(
            self.cp,
            self.group,
            tier,
            revenue * p.co_sell_share,
            co_delivery,
            self.calendar.horizon_periods,
        )
        rate = np.divide(pay, revenue, out=np.zeros_like(revenue), where=revenue > 0)
        accept = self.scenario.population.recruitment.acceptance
        joins: NDArray[np.bool_] = candidates & (
            draws < decisions.join_probability(b, accept, rate)
        )
        return joins

    def _benefit_cost(self) -> FloatArray:
        """What the benefits of the tier each active partner held this period cost the vendor."""
        return np.where(self.state.active, self._tier_value(self.terms.benefit_cost), 0.0)

    def _mdf_claims(self) -> FloatArray:
        """Marketing spend partners claim: less when reimbursement is slow."""
        b, cp, g = self.behaviour, self.cp, self.group
        propensity = b.mdf_claim_rate * 0.5 ** (cp.mdf_approval_lag_weeks[g] / b.mdf_lag_weeks)
        balance = from_cents(self.pstate.mdf_funds.sum(axis=-1))
        reimbursement = np.maximum(cp.mdf_reimbursement[g], 1e-9)
        return np.where(self.state.active, propensity * balance / reimbursement, 0.0)

    def _close(self, period: int) -> Generator[simpy.Event, object, None]:
        """Close a period, in the order the vendor does: the period's metrics (audits, MDF
        claims), the rules engine, what partners carry into the next period, the accounts and
        payout run, loyalty, then churn and recruits."""
        metrics = self._period_metrics()
        self.pstate, assessment = assess_period(
            self.cp, self.pstate, self.group, metrics, self.calendar.periods_per_year
        )
        accrued, front = self._carry_forward(metrics, assessment)
        self.recorder.close(period, self.state, self.tally, metrics, assessment, accrued)
        self._settle(period, accrued, front)
        self._update_loyalty(period, accrued, front)
        self._churn(period)
        join(self.state, self._recruits(period + 1), period + 1, self.partners.initial_loyalty)
        self._period = period + 1
        self._reset_period()
        yield self.env.timeout(0)

    def _period_metrics(self) -> PeriodMetrics:
        """What the rules engine reads at the close: the period's tally, returns, the audits'
        sample of claims and the MDF claimed (the benefits held are recorded at their cost)."""
        cal = self.calendar
        co_audit, spiff_rev_audit, spiff_deals_audit = self._audit()
        if self.cp.benefit_cost.any():
            self.recorder.benefits(self._benefit_cost(), self.env.now)
        claims = self._mdf_claims()
        return PeriodMetrics(
            revenue=self.tally.revenue,
            returns=self.state.returns,
            new_logos=self.tally.new_logos,
            certified_staff=np.asarray(self.partners.certified_staff, dtype=np.float64),
            csat=self._csat(cal.weeks_per_period),
            co_sell_revenue=self.tally.co_sell_revenue,
            co_delivery=self._co_delivery(),
            spiff_revenue=self.tally.spiff_revenue,
            spiff_deals=self.tally.spiff_deals,
            mdf_claims=claims,
            audited_co_sell_revenue=co_audit,
            audited_spiff_revenue=spiff_rev_audit,
            audited_spiff_deals=spiff_deals_audit,
            week_revenue=self.tally.week_revenue,
        )

    def _carry_forward(
        self, metrics: PeriodMetrics, assessment: Assessment
    ) -> tuple[IntArray, IntArray]:
        """What the close's assessment leaves partners for the next period (the tiers' worth,
        the horizons' outlook, remediation, the MDF campaigns' pipeline, the demand kept), and
        what it accrued to each partner and paid on invoice (``front``), in cents."""
        b, cal = self.behaviour, self.calendar
        self._tier_values = self._tier_values_now()
        self._horizons = self._horizon_outlook()
        self.state.in_remediation = assessment.in_remediation & self.state.active
        # Partners who have left earn nothing more, but still owe clawbacks on what they return
        # (churn is drawn after the close: a partner leaving now still earns this period).
        accrued = np.where(
            self.state.active,
            assessment.accrued,
            np.where(self.state.joined, -assessment.clawback, 0),
        )
        front = np.where(self.state.active, assessment.front_end, 0)
        self.state.mdf_boost = metrics.mdf_claims * b.mdf_pipeline_return / cal.weeks_per_period
        if self.state.demand_kept is not None:
            self.state.demand_kept = satisfaction.demand_kept_after(
                b,
                self.state.demand_kept,
                metrics.csat,
                self.partners.csat,
                satisfaction.demand_step(b, cal.weeks_per_period),
            )
        return accrued, front

    def _settle(self, period: int, accrued: IntArray, front: IntArray) -> None:
        """Book what the period accrued in the accounts and start the payout run they have
        due (:func:`~incentsim.program.ledger.close_accounts`)."""
        self.ledger, self.accruals, settlement = close_accounts(
            self.schedule,
            self.cp.budget,
            self.ledger,
            self.accruals,
            self.group,
            period,
            accrued,
            front,
            self.tally.revenue,
            budget_scale=None if self.in_force is None else self.in_force.budget_scale,
        )
        if settlement.run is not None:
            self._pay(period, settlement.run, settlement, front)

    def _churn(self, period: int) -> None:
        """Partners leave at the close of ``period`` with the hazard their loyalty gives."""
        hazard = decisions.churn_probability(
            self.behaviour, self.state.loyalty, self.calendar.weeks_per_period
        )
        leaving = self.state.active & (self.churn_rng.random(self.group.shape) < hazard)
        leave(self.state, leaving, period)
        self.recorder.churn(leaving)

    # ----------------------------------------------------------------------------------------
    # payout runs

    def _pay(self, period: int, run: PayoutRun, settlement: Settlement, front: IntArray) -> None:
        """Record a payout run and start the processes that bring its money to partners.

        Front-end rebates are paid at the close; the partners the run settles receive the rest
        after their group's payout delay (one process per delay) and any outage.
        """
        close_week = (period + 1) * self.calendar.weeks_per_period
        settled = settlement.settled
        delays = [int(d) for d in np.unique(self.delay[settled])] if settled.any() else []
        extras = {d: self._outage_weeks(close_week + d) for d in delays}
        back_end = run.paid - front
        payments = [
            (np.where(settled & (self.delay == d), back_end, 0), close_week + d + extras[d])
            for d in delays
        ]
        payments.append((front, np.full(self.reps, close_week)))
        self.recorder.payout(period, run, payments)
        for d in delays:
            self.env.process(self._receipt(period, d, extras[d], run, settlement, front))

    def _outage_weeks(self, due_week: int) -> NDArray[np.int64]:
        """Extra weeks a payout-system outage adds to a payout due in ``due_week``, per
        replication (the market path ends with the horizon: a payout due later reads the
        horizon's last week)."""
        extra = self.market.payout_delay_extra_weeks
        return extra[:, min(due_week, extra.shape[1] - 1)]

    def _receipt(
        self,
        period: int,
        delay: int,
        extra: NDArray[np.int64],
        run: PayoutRun,
        settlement: Settlement,
        front: IntArray,
    ) -> Generator[simpy.Event, object, None]:
        """Partners whose payout delay is ``delay`` receive a run after it; outages delay some
        replications further."""
        receiving = settlement.settled & (self.delay == delay)
        yield self.env.timeout(delay)
        self.recorder.event(
            "payout_run", self.env.now, np.ones(self.reps, dtype=bool), period=period
        )
        # What the partner was paid for the periods settled: the run, plus the front-end rebates
        # of earlier periods paid at their closes.
        received = run.paid - front + settlement.front_end
        waited = 0
        for late in np.unique(extra):
            yield self.env.timeout(int(late) - waited)
            waited = int(late)
            reps = extra == late
            self._receive(
                reps[:, None] & receiving,
                received,
                run.cut + run.deferred,
                settlement.front_end,
                delay + late,
            )
            if late > 0:
                self.recorder.event("payout_late", self.env.now, reps, weeks=int(late))

    def _receive(
        self,
        receiving: NDArray[np.bool_],
        paid: NDArray[np.int64],
        unpaid: NDArray[np.int64],
        front: NDArray[np.int64],
        delay_weeks: NDArray[np.int64],
    ) -> None:
        """Partners ``receiving`` (``(R, N)``) receive a payout run: a cut or deferred share and
        a payout later than announced cost trust, and loyalty at once; a payout in full and on
        time restores some trust."""
        b = self.behaviour
        expected = from_cents(paid - front + unpaid)
        unpaid_share = np.divide(
            from_cents(unpaid), expected, out=np.zeros(expected.shape), where=expected > 0
        )
        late = np.asarray(delay_weeks - self.delay, dtype=np.float64)
        trust = decisions.trust_after_payment(b, self.state.trust, unpaid_share, late)
        update_trust(self.state, b, trust, receiving & self.state.active)

    def _update_loyalty(self, period: int, accrued: IntArray, front: IntArray) -> None:
        """Loyalty at a period close, for partners that sold in the period: what the period
        earned as the partner values it (waiting for it and trusting the vendor to pay) against
        the competitor's offer and its segment's peers, its trust, and how long it expects to
        wait beyond the norm. Paying less often or later lengthens the wait for what was
        earned, so it never raises loyalty."""
        b, p, cal = self.behaviour, self.partners, self.calendar
        revenue = self.tally.revenue
        settles = self.schedule.settlement_period(period)[self.group]
        wait = ((settles - period) * cal.weeks_per_period + self.delay).astype(np.float64)
        back, front_paid = from_cents(accrued - front), from_cents(front)
        valued = decisions.valued_earnings(b, p.myopia, front_paid, back, wait, self.state.trust)
        rate = np.divide(valued, revenue, out=np.zeros_like(revenue), where=revenue > 0)
        owed_share = np.divide(
            np.maximum(back, 0.0),
            np.maximum(back, 0.0) + np.maximum(front_paid, 0.0),
            out=np.ones_like(revenue),
            where=(back > 0) | (front > 0),
        )
        earning = self.state.active & (revenue > 0)
        peer_gap = np.zeros_like(rate)
        for s in range(len(p.segment_names)):
            members = earning & (p.segment == s)
            median = _peer_median(rate, members)
            peer_gap = np.where(members, rate - median[:, None], peer_gap)
        week = min((period + 1) * cal.weeks_per_period, cal.horizon_weeks - 1)
        offer = p.outside_option + self._weekly(self.market.competitor_offer, week)
        target = decisions.loyalty_target(
            b,
            p.initial_loyalty,
            rate,
            self._tier_value(self.terms.benefit_loyalty_uplift),
            offer,
            peer_gap,
            p.fairness_sensitivity,
            self.state.trust,
            wait * owed_share,
        )
        self.state.loyalty = np.where(
            earning,
            self.state.loyalty + self.loyalty_step * (target - self.state.loyalty),
            self.state.loyalty,
        )

    # ----------------------------------------------------------------------------------------
    # calendar processes

    def _market_process(self) -> Generator[simpy.Event, object, None]:
        wpp = self.calendar.weeks_per_period
        for week in range(self.calendar.horizon_weeks):
            self._week(week)
            yield self.env.timeout(1)
            if (week + 1) % wpp == 0:
                yield self.env.process(self._close((week + 1) // wpp - 1))

    def _shock_process(self, index: int) -> Generator[simpy.Event, object, None]:
        shock = self.scenario.market.shocks[index]
        hit = np.asarray(self.market.shock_active[:, :, index].any(axis=1), dtype=np.bool_)
        if not hit.any() or shock.start_week >= self.calendar.horizon_weeks:
            return
        yield self.env.timeout(shock.start_week)
        self.recorder.event(f"{shock.kind}_start", self.env.now, hit, shock=index)
        yield self.env.timeout(shock.duration_weeks)
        self.recorder.event(f"{shock.kind}_end", self.env.now, hit, shock=index)

    def run(self) -> BlockResult:
        """Run the calendar to the last payout and return the block's results."""
        self.env.process(self._market_process())
        for index in range(len(self.scenario.market.shocks)):
            self.env.process(self._shock_process(index))
        self.env.run()
        return self.recorder.result(self.state, self.ledger)


def draw_partners_and_market(
    scenario: Scenario,
    population_seed: np.random.SeedSequence,
    market_seed: np.random.SeedSequence,
    reps: int,
) -> tuple[Partners, MarketPath]:
    """The partners and the market path of ``reps`` replications, each from its own stream (a
    block seed's first and second children), from the scenario's population, market and
    calendar."""
    partners = build_partners(
        scenario.population, scenario.calendar, np.random.default_rng(population_seed), reps
    )
    market = market_path(
        scenario.market,
        scenario.population.groups,
        scenario.calendar,
        np.random.default_rng(market_seed),
        reps,
    )
    return partners, market


def simulate_block(
    scenario: Scenario, seed: np.random.SeedSequence, reps: int, panel: bool = False
) -> BlockResult:
    """Simulate ``reps`` replications of ``scenario`` from one seed block.

    The block's stream is split into independent streams for the population, the market and the
    partners' own draws, so the same seed always gives the same numbers.
    """
    allocator.keep_freed_memory()  # large temporaries reused, not page-faulted again
    population_seed, market_seed, partner_seed = seed.spawn(3)
    partners, market = draw_partners_and_market(scenario, population_seed, market_seed, reps)
    simulation = Simulation(
        scenario, partners, market, np.random.default_rng(partner_seed), panel=panel
    )
    return simulation.run()
