"""The design the engine replaces: one SimPy process per partner, plain Python arithmetic.

This is the baseline for ``benchmarks/engine.py``. Every partner is its own ``simpy`` process
holding its state in Python floats and deciding week by week with the engine's decision rules,
written per partner, the straightforward way (no NumPy in the partners' loop):

* **payout pricing**: a partner prices what the program would pay it at a hypothetical period
  revenue with :meth:`ProcessPerPartner.anticipated_payout`, a scalar transcription of
  :func:`incentsim.program.rules.anticipated_payout` for the constructs the baseline scenario
  uses (multi-metric tier requirements, cadence and grace, retroactive or marginal rebates and
  the rebate cap, accelerators and their caps, the partner cap); ``engine.py`` checks the two
  agree to 1e-9 on thousands of random cases before timing anything;
* **effort** from the smoothed marginal reward this period (three prices around the expected
  revenue) and next period, weighted for payout delay by present bias, as in the engine, with
  the forecast uncertainty scaled to the period length, and the choice of small quick deals
  near a period end;
* **timing games** in the last weeks of a period (defer all or half of the deferrable share,
  or pull in the pipeline due within a quarter, half or all of the partner's reach, at a
  discount per week moved) and **stuffing** in the last week, each option priced with the
  two-point smoothing, against next period's centred rate on moved revenue (three-point);
* **pipeline and closings** (gamma noise around the mean), deferred deals released at the next
  period start, stuffed inventory displacing later orders and coming back as returns, MDF
  campaigns adding pipeline, customer satisfaction worn by effort, and the share of its
  repeat and renewal demand a partner keeps following its satisfaction with a lag; the
  closings of each period's last week dated on its business days as
  :mod:`incentsim.engine.days` dates them, with the deals moved in any of the period's last
  weeks on its last days;
* **loyalty** after each payout run (paid rate against the competitor's offer, fairness against
  segment peers, cut payouts, payout delay), the **churn** hazard at each close, **recruits**
  joining as new processes and ramping up.

The program side is one more process: at each period close it gathers the partners' period
metrics, assesses the period with the rules engine (:func:`incentsim.program.rules.assess_period`:
the code that computes a payout is the same whatever calls it) and starts a payout-run process
that settles the ledger after the payout delay (:func:`incentsim.program.ledger.run_payout`).

Left out, and refused by :func:`check_supported` so the comparison stays like for like: SPIFFs,
co-selling bonuses and so duplicate registrations and audits of them (the baseline scenario pays
neither), tier benefits, look-back windows over one period, maintenance fractions below one and
remediation plans. Population and market are drawn with the engine's own functions
(:func:`incentsim.population.sample.build_partners`,
:func:`incentsim.market.demand.market_path`) from the same seed split as
:func:`incentsim.engine.simulation.simulate_block`. Churn and recruitment draw their uniforms
from the engine's own churn and recruitment streams (common random numbers: one array a close,
read per partner), so a paired comparison is not swamped by which large partner happened to
leave; closings and closing days come from Python's ``random`` (so those numbers agree with the
engine's in distribution, not draw for draw).
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
import simpy

from incentsim.engine.decisions import CAP_SEARCH_STEPS, FLAT_RATE, forecast_noise, per_period
from incentsim.engine.simulation import draw_partners_and_market
from incentsim.market.demand import MarketPath
from incentsim.population.sample import NEVER_ACTIVE, Partners
from incentsim.program.compiled import REQUIREMENT_TOLERANCE, CompiledProgram, compile_program
from incentsim.program.ledger import open_ledger, run_payout
from incentsim.program.rules import (
    PeriodMetrics,
    ProgramState,
    anticipated_payout,
    assess_period,
    initial_state,
)
from incentsim.scenario.model import Scenario

#: Two-point Gauss-Hermite smoothing, as in :mod:`incentsim.engine.decisions`.
NODES = (-1.0, 1.0)
#: The three-point rule for next period's rate on moved revenue, as in the engine.
FINE_NODES = (-math.sqrt(3.0), 0.0, math.sqrt(3.0))
FINE_WEIGHTS = (1.0 / 6.0, 4.0 / 6.0, 1.0 / 6.0)


@dataclass
class Result:
    """What a run produced: period totals and end-of-horizon figures of one replication."""

    partners: int
    weeks: int
    revenue_per_period: list[float]
    rebate_per_period: list[float]
    retention: float
    loyalty_mean: float
    deferred: float
    pulled_forward: float
    stuffed: float
    last_day: float
    quick_deals: float
    last_week: float
    recruited: int
    csat_mean: float
    paid: float

    @property
    def partner_weeks(self) -> int:
        """Partner-weeks simulated, counted as in ``engine.py``: initial partners x weeks."""
        return self.partners * self.weeks


def check_supported(scenario: Scenario, cp: CompiledProgram, partners: Partners) -> None:
    """Raise ``ValueError`` naming what ``scenario`` uses that this baseline leaves out."""
    program = scenario.program
    left_out = {
        "program versions or contingent rules": bool(program.versions or program.contingent),
        "category awards": bool(cp.awards.count),
        "horizon accelerators or pacers": bool(cp.horizon_accelerator_names or cp.pacer_names),
        "the annual true-up": bool(cp.true_up.any()),
        "quotas that follow prior revenue (ratchets)": bool(
            cp.quota_prior.any() and (cp.acc_quota_fraction > 0).any()
        ),
        "payout runs less often than every period": bool((cp.payout_cadence > 1).any()),
        "payout delays or shortfall policies that differ by group": bool(
            (cp.payout_delay_weeks != cp.payout_delay_weeks[0]).any()
            or (cp.defer_shortfall != cp.defer_shortfall[0]).any()
        ),
        "co-delivery requirements": bool((cp.co_delivery_share > 0).any()),
        "SPIFFs": bool(cp.spiff_names),
        "co-selling bonuses": bool((cp.co_sell_rate > 0).any()),
        "milestones": bool(cp.milestone_names),
        "look-back windows over one period": cp.window > 1,
        "maintenance fractions below 1": bool((cp.maintain_fraction < 1.0).any()),
        "remediation plans": bool(cp.remediation.any()),
        "front-end rebates": bool(cp.front_end.any()),
        "tier benefits": any(
            bool(table.any())
            for table in (
                cp.benefit_win_rate_uplift,
                cp.benefit_deal_size_uplift,
                cp.benefit_ramp_speedup,
                cp.benefit_loyalty_uplift,
                cp.benefit_cost,
            )
        ),
    }
    used = [name for name, present in left_out.items() if present]
    if used:
        raise ValueError(f"the process-per-partner baseline leaves out {', '.join(used)}")


class ProcessPerPartner:
    """One replication of ``scenario`` with one SimPy process per partner.

    Parameters
    ----------
    scenario
        The validated scenario (see :func:`check_supported`).
    seed
        Seed for the population, the market path and the partners' own draws.
    n_partners
        Simulate only the first ``n_partners`` of the initial population, with recruits in the
        same proportion (default: everyone).
    """

    def __init__(self, scenario: Scenario, seed: int, n_partners: int | None = None) -> None:
        population_seed, market_seed, partner_seed = np.random.SeedSequence(seed).spawn(3)
        partners, market = draw_partners_and_market(scenario, population_seed, market_seed, 1)
        cp = compile_program(scenario.program, partners.segment_names, partners.region_names)
        check_supported(scenario, cp, partners)
        self.scenario, self.cp, self.b = scenario, cp, scenario.behaviour
        # Churn and recruitment draw the engine's own streams (common random numbers: the same
        # partner slot leaves or joins on the same uniform draw in both), closings and closing
        # days Python's random from seeds of their own.
        streams = np.random.default_rng(partner_seed)
        self.churn_stream = streams.spawn(3)[2]
        self.recruit_stream = streams.spawn(2)[1]
        closings_seed, days_seed = (int(s.generate_state(1)[0]) for s in partner_seed.spawn(2))
        self.closings_rng, self.days_rng = random.Random(closings_seed), random.Random(days_seed)
        self.n_slots = partners.group.shape[1]
        self.noise = forecast_noise(self.b, scenario.calendar.weeks_per_period)
        share = self.b.moved_deals_last_day_share
        # Moved and released deferred deals' shares of the last business day (engine.days).
        self.moved_last, self.released_last = share, (1.0 - share) ** 4
        self.acceptance = scenario.population.recruitment.acceptance
        self.wpp = scenario.calendar.weeks_per_period
        self.periods = scenario.calendar.horizon_periods
        self.weeks = scenario.calendar.horizon_weeks
        self.slots = self._slots(partners, n_partners)
        self.n_initial = int((partners.active_from_period[0, self.slots] == 0).sum())
        self._partner_columns(partners)
        self._market_columns(market, partners)
        self._program_terms(cp)
        self.delay = int(cp.payout_delay_weeks[0])
        self.defer = bool(cp.defer_shortfall[0])
        # Per-partner state, in Python lists indexed by position.
        n = len(self.slots)
        self.joined = [start == 0 for start in self.active_from]
        self.active = list(self.joined)
        self.join_period = [0 if j else -1 for j in self.joined]
        self.trust = [1.0] * len(self.slots)
        self.loyalty_step = per_period(scenario.behaviour.loyalty_speed, self.wpp)
        self.loyalty = [
            lo if j else 0.0 for lo, j in zip(self.initial_loyalty, self.joined, strict=True)
        ]
        self.effort = [1.0] * n
        # Share of its normal repeat and renewal demand each partner keeps (satisfaction's
        # consequence, moved at each close).
        self.demand_kept = [1.0] * n
        self.demand_step = 1.0 - math.exp(-self.wpp / (13.0 * self.b.satisfaction_lag_quarters))
        self.pipeline = [
            c * self.wallet(lo) * cyc if j else 0.0
            for c, lo, cyc, j in zip(
                self.capacity, self.loyalty, self.cycle, self.joined, strict=True
            )
        ]
        self.held = [0.0] * n
        self.moved_waiting = [0.0] * n  # moved into the period, closing on its last days
        self.overhang = [0.0] * n
        self.returns = [0.0] * n
        self.returns_next = [0.0] * n
        self.mdf_boost = [0.0] * n
        self.revenue = [0.0] * n
        self.deals = [0.0] * n
        self.new_logos = [0.0] * n
        self.co_sell_revenue = [0.0] * n
        self.effort_sum = [0.0] * n
        self.period = 0
        self.totals = {
            "deferred": 0.0,
            "pulled_forward": 0.0,
            "stuffed": 0.0,
            "last_day": 0.0,
            "quick_deals": 0.0,
            "last_week": 0.0,
            "csat_sum": 0.0,
            "csat_count": 0.0,
            "paid": 0.0,
        }
        # The program's standing per partner, read by the partners' pricing between closes.
        self.group_array = np.asarray(partners.group[:, self.slots], dtype=np.int64)
        self.pstate = initial_state(cp, self.group_array)
        self.ledger = open_ledger(cp.budget, self.group_array.shape)
        self._read_standing(self.pstate)
        self.revenue_per_period: list[float] = []
        self.rebate_per_period: list[float] = []

    # ----------------------------------------------------------------------------------------
    # set-up

    @staticmethod
    def _slots(partners: Partners, n_partners: int | None) -> list[int]:
        """Partner slots simulated: the first ``n_partners`` initial partners and recruits in
        proportion."""
        start = partners.active_from_period[0]
        initial = np.flatnonzero(start == 0)
        recruits = np.flatnonzero((start > 0) & (start < NEVER_ACTIVE))
        if n_partners is None or n_partners >= len(initial):
            return [*initial.tolist(), *recruits.tolist()]
        kept = len(recruits) * n_partners // len(initial)
        return [*initial[:n_partners].tolist(), *recruits[:kept].tolist()]

    def _partner_columns(self, partners: Partners) -> None:
        def column(values: np.ndarray) -> list[float]:
            return values[0, self.slots].tolist()

        self.group = [int(g) for g in partners.group[0, self.slots]]
        self.segment = [int(s) for s in partners.segment[0, self.slots]]
        self.n_segments = len(partners.segment_names)
        self.active_from = [int(a) for a in partners.active_from_period[0, self.slots]]
        self.capacity = column(partners.capacity)
        self.deal_size = column(partners.deal_size)
        self.cycle = column(partners.deal_cycle_weeks)
        self.initial_loyalty = column(partners.initial_loyalty)
        self.responsiveness = column(partners.responsiveness)
        self.myopia = column(partners.myopia)
        self.gaming = column(partners.gaming_propensity)
        self.fairness = column(partners.fairness_sensitivity)
        self.outside_option = column(partners.outside_option)
        self.staff = column(np.asarray(partners.certified_staff, dtype=np.float64))
        self.csat0 = column(partners.csat)
        self.new_logo_share = column(partners.new_logo_share)
        self.co_sell_share = column(partners.co_sell_share)

    def _market_columns(self, market: MarketPath, partners: Partners) -> None:
        self.demand = market.demand[0].T.tolist()  # [group][week]
        self.supply = market.supply[0].T.tolist()
        self.price = market.price[0].T.tolist()
        self.offer = market.competitor_offer[0].T.tolist()
        self.extra_delay = market.payout_delay_extra_weeks[0].tolist()

    def _program_terms(self, cp: CompiledProgram) -> None:
        tol = REQUIREMENT_TOLERANCE
        self.floors = [
            list(zip(*(cp_req[g] - tol for cp_req in self._requirements(cp)), strict=True))
            for g in range(len(cp.group_names))
        ]
        self.rates = cp.rebate_rate.tolist()
        self.marginal = cp.marginal.tolist()
        self.thresholds = cp.req_revenue.tolist()
        self.rebate_cap = cp.rebate_cap.tolist()
        self.partner_cap = cp.partner_cap.tolist()
        self.grace = cp.grace.tolist()
        self.cadence = cp.cadence.tolist()
        self.acc = [
            list(
                zip(
                    cp.acc_threshold[g].tolist(),
                    cp.acc_quota_fraction[g].tolist(),
                    cp.acc_multiplier[g].tolist(),
                    cp.acc_cap[g].tolist(),
                    strict=True,
                )
            )
            for g in range(len(cp.group_names))
        ]
        self.clawback_on_returns = cp.clawback_on_returns.tolist()
        self.csat_guarded = cp.csat_guarded.tolist()
        self.mdf_lag = cp.mdf_approval_lag_weeks.tolist()
        self.mdf_reimbursement = cp.mdf_reimbursement.tolist()

    @staticmethod
    def _requirements(cp: CompiledProgram) -> tuple[np.ndarray, ...]:
        return (cp.req_revenue, cp.req_new_logos, cp.req_certified_staff, cp.req_csat)

    def _read_standing(self, state: ProgramState) -> None:
        """Copy what partners' pricing reads from the program's state into per-partner lists."""
        self.tier = state.tier[0].tolist()
        self.below_count = state.below_count[0].tolist()
        self.quota = state.quota[0].tolist()
        self.last_rate = state.last_rate[0].tolist()
        self.evaluated = [
            (state.period + 1) % cadence == 0 or state.period == 0 for cadence in self.cadence
        ]

    # ----------------------------------------------------------------------------------------
    # partner decision rules, one partner at a time

    def joins(self, i: int, draw: float) -> bool:
        """Whether recruiting candidate ``i`` joins on the uniform ``draw``: the rate the program
        would pay it at its expected revenue against the normal rate (odds scaled as the
        engine's)."""
        b = self.b
        if self.acceptance >= 1.0:
            return True
        revenue = self.capacity[i] * self.wallet(self.initial_loyalty[i]) * self.wpp
        logos = revenue / max(self.deal_size[i], 1.0) * self.new_logo_share[i]
        pay = self.anticipated_payout(i, revenue, logos, self.staff[i], self.csat0[i])
        rate = pay / revenue if revenue > 0 else 0.0
        odds = self.acceptance / (1.0 - self.acceptance)
        odds *= math.exp(b.recruit_sensitivity * (rate - b.reference_rate))
        return draw < odds / (1.0 + odds)

    def wallet(self, loyalty: float) -> float:
        """Share of its capacity a partner gives the vendor."""
        floor = self.b.share_of_wallet_min
        return floor + (1.0 - floor) * loyalty

    def anticipated_payout(
        self, i: int, revenue: float, logos: float, staff: float, csat: float
    ) -> float:
        """Rebate plus accelerators partner ``i``'s period would pay if it closed with
        ``revenue`` (grace and cadence included), as :func:`rules.anticipated_payout`."""
        g = self.group[i]
        met = 0
        for rev_floor, logos_floor, staff_floor, csat_floor in self.floors[g]:
            if (
                revenue >= rev_floor
                and logos >= logos_floor
                and staff >= staff_floor
                and csat >= csat_floor
            ):
                met += 1
            else:
                break
        earned, tier = met - 1, self.tier[i]
        if self.evaluated[g]:
            tier = earned if self.below_count[i] + 1 > self.grace[g] else max(earned, tier)
        if tier < 0:
            return 0.0
        rate = self.rates[g][tier]
        total = self.rebate_on(g, tier, rate, revenue)
        rebate = min(total, self.rebate_cap[g])
        up = down = 0.0
        for threshold, quota_fraction, multiplier, cap in self.acc[g]:
            if quota_fraction > 0:
                threshold = quota_fraction * self.quota[i]
            below = self.rebate_on(g, tier, rate, min(revenue, threshold))
            if multiplier >= 1.0:
                extra = min((multiplier - 1.0) * (total - below), cap)
                up += extra
            else:
                down += min((multiplier - 1.0) * min(below, self.rebate_cap[g]), cap)
        return min(max(rebate + down, 0.0) + up, self.partner_cap[g])

    def rebate_on(self, g: int, tier: int, rate: float, revenue: float) -> float:
        """Rebate before caps: the held tier's rate on everything (retroactive) or each slice
        at its tier's rate (marginal)."""
        if not self.marginal[g]:
            return rate * revenue
        thresholds, rates = self.thresholds[g], self.rates[g]
        total = 0.0
        for k in range(tier + 1):
            upper = thresholds[k + 1] if k < tier else math.inf
            total += rates[k] * min(max(revenue - thresholds[k], 0.0), upper - thresholds[k])
        return total

    def expected_payout(self, i: int, revenue: float, spread: float, outlook: tuple) -> float:
        """Payout expected when period revenue is ``revenue`` give or take ``spread``."""
        return sum(
            0.5 * self.anticipated_payout(i, max(revenue + node * spread, 0.0), *outlook)
            for node in NODES
        )

    def moved_revenue_rate(self, i: int, expected: float, spread: float, outlook: tuple) -> float:
        """What a unit of revenue moved into a period expected at ``expected`` give or take
        ``spread`` earns there: the centred slope of the three-point expected payout."""

        def priced(revenue: float) -> float:
            return sum(
                w * self.anticipated_payout(i, max(revenue + node * spread, 0.0), *outlook)
                for node, w in zip(FINE_NODES, FINE_WEIGHTS, strict=True)
            )

        half = 0.5 * spread
        return (priced(expected + half) - priced(expected - half)) / max(spread, 1e-9)

    def pull_options(self, pipeline: float, cycle: float, weeks_left: int) -> list[tuple]:
        """(pipeline pulled, discount) for each share of the partner's reach."""
        b = self.b
        due_after = math.exp(-weeks_left / cycle)
        options = []
        for share in (0.25, 0.5, 1.0):
            reach = share * b.pull_forward_reach * cycle
            amount = pipeline * (due_after - math.exp(-(weeks_left + reach) / cycle))
            weeks_moved = weeks_left + cycle - reach / math.expm1(reach / cycle)
            discount = min(
                b.pull_forward_discount_per_week * weeks_moved, b.pull_forward_discount_max
            )
            options.append((amount, discount))
        return options

    def payout_outlook(
        self, i: int, expected: float, spread: float, outlook: tuple
    ) -> tuple[float, float]:
        """Smoothed incentive per unit of extra revenue, and the expected payout."""
        low, mid, high = (
            self.anticipated_payout(i, max(expected + k * spread, 0.0), *outlook)
            for k in (-1.0, 1.0, 3.0)
        )
        return 0.5 * (high - low) / max(2.0 * spread, 1e-9), 0.5 * low + 0.5 * mid

    def target_effort(self, i: int, reward_rate: float) -> float:
        """Effort partner ``i`` wants when one more unit of revenue earns ``reward_rate``."""
        b = self.b
        ratio = (b.partner_margin + max(reward_rate, -b.partner_margin)) / (
            b.partner_margin + b.reference_rate
        )
        effort = max(ratio, 1e-6) ** (b.effort_elasticity * self.responsiveness[i])
        return min(max(effort, b.effort_min), b.effort_max)

    def timing_choice(
        self, i: int, expected: float, spread: float, closing_rate: float, pulls: list[tuple],
        m_moved: float, weight: float, next_weight: float, outlook: tuple, base: float,
    ) -> tuple[float, float, float, float]:  # fmt: skip
        """Pipeline pulled in, its discount, share of the week's closings deferred, payout
        expected after."""
        b = self.b
        best_gain, best, best_payout = 0.0, (0.0, 0.0, 0.0), base
        friction = b.timing_friction * (1.0 - self.gaming[i])
        options = [
            (-share * b.deferral_share * closing_rate, 0.0, (0.0, 0.0, share * b.deferral_share))
            for share in (1.0, 0.5)
        ]
        options += [(amount, discount, (amount, discount, 0.0)) for amount, discount in pulls]
        for move, discount, choice in options:
            payout = self.expected_payout(i, expected + move * (1.0 - discount), spread, outlook)
            gain = (
                weight * (payout - base)
                - next_weight * m_moved * move
                - friction * abs(move)
                - b.partner_margin * b.discount_share_partner * discount * max(move, 0.0)
            )
            if gain > best_gain:
                best_gain, best, best_payout = gain, choice, payout
        return (*best, best_payout)

    def past_cap_deferral(
        self, i: int, closings: float, moved_in: float, rest: float, m_moved: float,
        next_weight: float, outlook: tuple,
    ) -> float:  # fmt: skip
        """What partner ``i`` defers of the week's ``closings``, once it sees them, because
        booking them would take the period past a cap, as
        :func:`incentsim.engine.decisions.past_cap_deferral`: the largest share of what it can
        defer over which the payout is flat with nothing more booked, and (checked once found)
        with the ``rest`` the weeks after this one should close."""
        b = self.b
        held = self.revenue[i] + moved_in
        most = b.deferral_share * closings

        def price(booked: float, extra: float = 0.0) -> float:
            return self.anticipated_payout(i, held + extra + booked, *outlook)

        top = price(closings)

        def flat(share: float) -> bool:
            return top - price(closings - share * most) <= FLAT_RATE * share * most

        finest = 0.5**CAP_SEARCH_STEPS
        if not (flat(finest) and closings > 0):
            return 0.0
        if not next_weight * m_moved > b.timing_friction * (1.0 - self.gaming[i]):
            return 0.0
        bottom = price(closings - most)
        if top - bottom <= FLAT_RATE * most:
            low = 1.0 if bottom > price(-held) else 0.0
        else:
            low, high = finest, 1.0
            for _ in range(CAP_SEARCH_STEPS):
                middle = 0.5 * (low + high)
                if flat(middle):
                    low = middle
                else:
                    high = middle
        if rest > 0.0 and low > 0.0:
            moved = low * most
            if price(closings, rest) - price(closings - moved, rest) > FLAT_RATE * moved:
                low = 0.0
        return low * most

    def stuffing_choice(
        self, i: int, expected: float, spread: float, capacity: float, m_next: float,
        weight: float, next_weight: float, outlook: tuple, base: float,
    ) -> float:  # fmt: skip
        """Extra inventory partner ``i`` sells in at the period end."""
        b = self.b
        g = self.group[i]
        clawed = self.last_rate[i] if self.clawback_on_returns[g] else 0.0
        rr = b.stuffing_return_rate
        friction = b.timing_friction * (1.0 - self.gaming[i]) * 2.0
        best_gain = best = 0.0
        for option in (0.5, 1.0):
            stuff = option * capacity
            payout = self.expected_payout(i, expected + stuff, spread, outlook)
            gain = (
                weight * (payout - base)
                - next_weight * stuff * (rr * clawed + (1.0 - rr) * m_next)
                - friction * stuff
            )
            if gain > best_gain:
                best_gain, best = gain, stuff
        return best

    def churn_probability(self, i: int) -> float:
        """Partner ``i``'s probability of leaving this period: a quarterly hazard (13 weeks),
        the same per week whatever the period's length."""
        b = self.b
        quarterly = min(
            max(b.churn_base * math.exp(b.churn_slope * (0.5 - self.loyalty[i])), 0.0), 1.0
        )
        if self.wpp == 13:
            return quarterly
        return 1.0 - (1.0 - quarterly) ** (self.wpp / 13)

    def csat(self, i: int, weeks_done: int) -> float:
        """Partner ``i``'s customer satisfaction: effort above normal starves support."""
        effort = self.effort_sum[i] / weeks_done if weeks_done else self.effort[i]
        pressure = self.b.tunnel_vision * (0.3 if self.csat_guarded[self.group[i]] else 1.0)
        return min(max(self.csat0[i] - pressure * max(effort - 1.0, 0.0), 0.0), 5.0)

    # ----------------------------------------------------------------------------------------
    # processes

    def partner(self, env: simpy.Environment, i: int) -> Generator[simpy.Event, object, None]:
        """Partner ``i``: each week price the program, set effort, play timing games, close."""
        b, wpp = self.b, self.wpp
        g, cycle = self.group[i], self.cycle[i]
        weight = 1.0 / (1.0 + self.myopia[i] * self.delay / b.present_bias_weeks)
        next_weight = 1.0 / (1.0 + self.myopia[i] * (self.delay + wpp) / b.present_bias_weeks)
        ramp_periods = self.scenario.population.recruitment.ramp_periods
        m_next = m_moved = 0.0
        for week in range(int(env.now), self.weeks):
            if not self.active[i]:
                return
            wip = week % wpp
            weeks_left = wpp - wip
            ramp = 1.0
            if self.join_period[i] > 0:
                tenure = self.period - self.join_period[i]
                ramp = min(max((tenure + 1) / (ramp_periods + 1), 0.0), 1.0)
            wallet = self.wallet(self.loyalty[i])
            potential = self.capacity[i] * wallet * ramp * self.demand[g][week]
            potential *= self.demand_kept[i]
            price, supply = self.price[g][week], self.supply[g][week]

            # What the partner expects at the start of the week, and what more revenue is worth.
            weeks_done = max(wip, 1)
            outlook = (
                self.new_logos[i] * wpp / weeks_done,
                self.staff[i],
                self.csat(i, wip),
            )
            closing_rate = self.pipeline[i] / cycle * supply
            carried = self.held[i] if wip == 0 else 0.0
            expected = self.revenue[i] + carried + closing_rate * weeks_left
            typical = max(potential * wpp, 1.0)
            spread = max(
                self.noise * math.sqrt(weeks_left / wpp) * max(expected, typical),
                0.01 * typical,
            )
            m_this, payout_now = self.payout_outlook(i, expected, spread, outlook)
            window = weeks_left <= b.timing_weeks
            if wip == 0 or (window and weeks_left == b.timing_weeks):
                expected_next = closing_rate * wpp + self.held[i]
                spread_next = max(self.noise * max(expected_next, typical), 0.01 * typical)
                m_next = self.payout_outlook(i, expected_next, spread_next, outlook)[0]
                if window:
                    m_moved = self.moved_revenue_rate(i, expected_next, spread_next, outlook)
            share_this = 1.0 - math.exp(-weeks_left / cycle)
            reward = share_this * weight * m_this + (1.0 - share_this) * next_weight * m_next
            self.effort[i] += b.effort_adjustment * (self.target_effort(i, reward) - self.effort[i])
            # Small quick deals near a period end, where effort is worth more that way.
            normal = b.partner_margin + reward
            worth_quick = b.quick_deal_yield * (b.partner_margin + weight * m_this)
            quick_share = b.quick_deal_share if worth_quick > normal else 0.0

            pulled = discount = deferred_share = stuff = 0.0
            if window:
                pulls = self.pull_options(self.pipeline[i], cycle, weeks_left)
                pulled, discount, deferred_share, payout_after = self.timing_choice(
                    i, expected, spread, closing_rate, pulls, m_moved, weight, next_weight,
                    outlook, payout_now,
                )  # fmt: skip
                if weeks_left == 1 and b.stuffing_capacity_weeks > 0:
                    after = expected + pulled * (1.0 - discount) - deferred_share * closing_rate
                    stuff = self.stuffing_choice(
                        i, after, spread, b.stuffing_capacity_weeks * potential, m_moved, weight,
                        next_weight, outlook, payout_after,
                    )  # fmt: skip

            # New pipeline, closings around their mean, deliveries limited by supply.
            selling = potential * self.effort[i] * price
            quick = selling * quick_share * b.quick_deal_yield * supply
            self.pipeline[i] += selling * (1.0 - quick_share) + self.mdf_boost[i]
            closings = self.pipeline[i] / cycle * supply
            self.pipeline[i] -= closings
            deal_size = max(self.deal_size[i] * price, 1.0)
            shape = max(closings / deal_size, 1e-6)
            if closings > 0.0:
                closings = self.closings_rng.gammavariate(shape, closings / shape)
            else:
                closings = 0.0
            closings += quick
            shape += quick / (deal_size * b.quick_deal_size)
            natural, released = closings, 0.0
            if wip == 0:
                released = self.held[i]
                closings += self.held[i]
                self.held[i] = 0.0
            from_stock = min(self.overhang[i], closings)
            self.overhang[i] -= from_stock
            closings -= from_stock

            booked = closings
            if window:
                pulled = min(pulled, self.pipeline[i])
                deferred = deferred_share * closings
                past_cap = self.past_cap_deferral(
                    i, closings, pulled * (1.0 - discount) + stuff,
                    closing_rate * (weeks_left - 1), m_moved, next_weight, outlook,
                )  # fmt: skip
                if past_cap > 0.0:
                    deferred, deferred_share = past_cap, past_cap / closings
                self.pipeline[i] -= pulled
                self.held[i] += deferred
                booked = closings - deferred + pulled * (1.0 - discount) + stuff
                self.totals["pulled_forward"] += pulled
                self.totals["deferred"] += deferred
                if weeks_left == 1 and b.stuffing_capacity_weeks > 0:
                    self.returns_next[i] += b.stuffing_return_rate * stuff
                    self.overhang[i] += (1.0 - b.stuffing_return_rate) * stuff
                    self.totals["stuffed"] += stuff
            # Deals moved into the period close on its last days, whichever week moved them: the
            # last week's revenue includes those moved in the weeks before (engine.days).
            moved = pulled * (1.0 - discount) + stuff  # nothing outside the timing window
            if weeks_left == 1:
                self.totals["last_week"] += booked + self.moved_waiting[i]
                self.date_last_week(natural, released, closings, deferred_share, shape)
                self.totals["last_day"] += self.moved_last * (self.moved_waiting[i] + moved)
                self.moved_waiting[i] = 0.0
            else:
                self.moved_waiting[i] += moved
            deals = booked / deal_size
            deals += quick * (1.0 / (deal_size * b.quick_deal_size) - 1.0 / deal_size)
            self.totals["quick_deals"] += quick
            self.revenue[i] += booked
            self.deals[i] += deals
            self.new_logos[i] += deals * self.new_logo_share[i]
            self.co_sell_revenue[i] += booked * self.co_sell_share[i]
            self.effort_sum[i] += self.effort[i]
            yield env.timeout(1)

    def date_last_week(
        self, natural: float, released: float, closings: float, deferred_share: float, deals: float
    ) -> None:
        """Add what a period's last week closes on its last business day, of its natural
        closings and released deferred deals (the share kept), as :mod:`incentsim.engine.days`
        dates them: natural closings by a flat Dirichlet over the five days."""
        both = natural + released
        released_part = closings * released / both if both > 0.0 else 0.0
        kept = 1.0 - deferred_share
        draws = [self.days_rng.gammavariate(deals / 5.0, 1.0) for _ in range(5)]
        total = sum(draws)
        last = draws[-1] / total if total > 0.0 else 0.2
        self.totals["last_day"] += kept * (
            (closings - released_part) * last + released_part * self.released_last
        )

    def program(self, env: simpy.Environment) -> Generator[simpy.Event, object, None]:
        """Close every period: assess it with the rules engine, schedule its payout run,
        churn and recruit. Created before the partners, so a close runs before their next week.
        """
        for period in range(self.periods):
            yield env.timeout(self.wpp)
            self.close(env, period)

    def close(self, env: simpy.Environment, period: int) -> None:
        """One period close (see :meth:`program`)."""
        b, cp, wpp = self.b, self.cp, self.wpp
        n = len(self.slots)
        balance = self.pstate.mdf_funds.sum(axis=-1)[0] / 100.0
        claims = [0.0] * n
        for i in range(n):
            if self.active[i]:
                g = self.group[i]
                propensity = b.mdf_claim_rate * 0.5 ** (self.mdf_lag[g] / b.mdf_lag_weeks)
                claims[i] = propensity * balance[i] / max(self.mdf_reimbursement[g], 1e-9)
        zeros = np.zeros((1, n))
        csat = [self.csat(i, wpp) for i in range(n)]
        self.totals["csat_sum"] += sum(c for c, a in zip(csat, self.active, strict=True) if a)
        self.totals["csat_count"] += sum(self.active)
        metrics = PeriodMetrics(
            revenue=np.array([self.revenue]),
            returns=np.array([self.returns]),
            new_logos=np.array([self.new_logos]),
            certified_staff=np.array([self.staff]),
            csat=np.array([csat]),
            co_sell_revenue=np.array([self.co_sell_revenue]),
            co_delivery=np.ones((1, n)),
            spiff_revenue=np.zeros((1, n, 0)),
            spiff_deals=np.zeros((1, n, 0)),
            mdf_claims=np.array([claims]),
            audited_co_sell_revenue=zeros,
            audited_spiff_revenue=np.zeros((1, n, 0)),
            audited_spiff_deals=np.zeros((1, n, 0)),
            week_revenue=np.zeros((1, n, 0)),
        )
        self.pstate, assessment = assess_period(
            cp, self.pstate, self.group_array, metrics, self.scenario.calendar.periods_per_year
        )
        self._read_standing(self.pstate)
        joined, active = np.array([self.joined]), np.array([self.active])
        accrued = np.where(active, assessment.accrued, np.where(joined, -assessment.clawback, 0))
        front = np.where(active, assessment.front_end, 0)
        self.revenue_per_period.append(float(sum(self.revenue)))
        self.rebate_per_period.append(
            float(np.where(joined, assessment.components["rebate"], 0).sum()) / 100.0
        )
        env.process(self.payout_run(env, period, accrued, front))
        self.update_loyalty(period, accrued[0].tolist(), front[0].tolist())
        churn_draws = self.churn_stream.random(self.n_slots)
        for i in range(n):
            self.mdf_boost[i] = claims[i] * b.mdf_pipeline_return / wpp
            target = max(1.0 - b.satisfaction_demand_effect * (self.csat0[i] - csat[i]), 0.0)
            self.demand_kept[i] += self.demand_step * (target - self.demand_kept[i])
            if self.active[i] and churn_draws[self.slots[i]] < self.churn_probability(i):
                self.active[i] = False
                self.pipeline[i] = self.held[i] = 0.0
            self.revenue[i] = self.deals[i] = self.new_logos[i] = 0.0
            self.co_sell_revenue[i] = self.effort_sum[i] = 0.0
            self.returns[i], self.returns_next[i] = self.returns_next[i], 0.0
        self.period = period + 1
        recruit_draws = self.recruit_stream.random(self.n_slots)
        for i in range(n):
            if self.active_from[i] == period + 1 and self.joins(i, recruit_draws[self.slots[i]]):
                self.joined[i] = self.active[i] = True
                self.join_period[i] = period + 1
                self.loyalty[i] = self.initial_loyalty[i]
                self.trust[i] = 1.0
                self.demand_kept[i] = 1.0
                env.process(self.partner(env, i))

    def payout_run(
        self,
        env: simpy.Environment,
        period: int,
        accrued: np.ndarray,
        front: np.ndarray,
    ) -> Generator[simpy.Event, object, None]:
        """Settle the ledger after the payout delay; partners paid update their loyalty."""
        yield env.timeout(self.delay)
        self.ledger, run = run_payout(self.cp.budget, self.ledger, accrued, front, defer=self.defer)
        self.totals["paid"] += float(run.paid.sum()) / 100.0
        due_week = (period + 1) * self.wpp + self.delay
        late = self.extra_delay[min(due_week, len(self.extra_delay) - 1)]
        if late:
            yield env.timeout(late)
        self.receive(
            run.paid[0].tolist(), (run.cut + run.deferred)[0].tolist(), front[0].tolist(), late
        )

    def receive(self, paid: list[int], unpaid: list[int], front: list[int], late: int) -> None:
        """Partners paid: a cut or late payout costs trust, and loyalty at once; a payout in full
        and on time restores some trust."""
        b = self.b
        for i in range(len(self.slots)):
            if not self.active[i]:
                continue
            expected = (paid[i] - front[i] + unpaid[i]) / 100.0
            unpaid_share = unpaid[i] / 100.0 / expected if expected > 0 else 0.0
            trust = self.trust[i] * (1.0 - b.cut_sensitivity * unpaid_share)
            trust -= b.lateness_sensitivity * max(late, 0)
            if unpaid_share <= 0.0 and late <= 0:
                trust += b.trust_recovery * (1.0 - trust)
            trust = min(max(trust, 0.0), 1.0)
            lost = min(trust - self.trust[i], 0.0)
            self.loyalty[i] = min(max(self.loyalty[i] + b.procedural_weight * lost, 0.0), 1.0)
            self.trust[i] = trust

    def update_loyalty(self, period: int, accrued: list[int], front: list[int]) -> None:
        """At a period close, the loyalty of every active partner that sold in the period moves
        towards its target: what it earned, valued by its wait and its trust, against the
        competitor's offer and its peers (runs settle every period: the wait is the delay)."""
        b = self.b
        n = len(self.slots)
        week = min((period + 1) * self.wpp, self.weeks - 1)
        wait = float(self.delay)
        rate = [0.0] * n
        for i in range(n):
            if self.revenue[i] > 0:
                norm = 1.0 / (
                    1.0 + self.myopia[i] * b.payout_delay_norm_weeks / b.present_bias_weeks
                )
                waiting = 1.0 / (1.0 + self.myopia[i] * wait / b.present_bias_weeks)
                back = (accrued[i] - front[i]) / 100.0
                valued = front[i] / 100.0 + back * min(waiting / norm, 1.0) * self.trust[i]
                rate[i] = valued / self.revenue[i]
        earning = [self.active[i] and self.revenue[i] > 0 for i in range(n)]
        medians = {}
        for s in range(self.n_segments):
            rates = [rate[i] for i in range(n) if earning[i] and self.segment[i] == s]
            medians[s] = statistics.median(rates) if rates else 0.0
        for i in range(n):
            if not earning[i]:
                continue
            back = max((accrued[i] - front[i]) / 100.0, 0.0)
            owed = back + max(front[i] / 100.0, 0.0)
            owed_share = back / owed if owed > 0 else 1.0
            peer_gap = rate[i] - medians[self.segment[i]]
            offer = self.outside_option[i] + self.offer[self.group[i]][week]
            target = (
                self.initial_loyalty[i]
                + b.value_weight * (rate[i] - offer)
                + b.fairness_weight * self.fairness[i] * min(peer_gap, 0.0)
                + b.procedural_weight * (self.trust[i] - 1.0)
                - b.delay_sensitivity * max(wait * owed_share - b.payout_delay_norm_weeks, 0.0)
            )
            target = min(max(target, 0.0), 1.0)
            self.loyalty[i] += self.loyalty_step * (target - self.loyalty[i])

    def run(self) -> Result:
        """Run the calendar to the last payout."""
        env = simpy.Environment()
        env.process(self.program(env))
        for i, joined in enumerate(self.joined):
            if joined:
                env.process(self.partner(env, i))
        env.run()
        initial = [i for i, start in enumerate(self.active_from) if start == 0]
        active = [i for i, a in enumerate(self.active) if a]
        totals = dict(self.totals)
        csat_sum, csat_count = totals.pop("csat_sum"), totals.pop("csat_count")
        return Result(
            partners=self.n_initial,
            weeks=self.weeks,
            revenue_per_period=self.revenue_per_period,
            rebate_per_period=self.rebate_per_period,
            retention=sum(self.active[i] for i in initial) / max(len(initial), 1),
            loyalty_mean=sum(self.loyalty[i] for i in active) / max(len(active), 1),
            recruited=sum(self.joined) - len(initial),
            csat_mean=csat_sum / max(csat_count, 1.0),
            **totals,
        )


def simulate(scenario: Scenario, seed: int, n_partners: int | None = None) -> Result:
    """Build and run one process-per-partner replication (set-up included, as in the engine's
    ``simulate_block``)."""
    return ProcessPerPartner(scenario, seed, n_partners).run()


def pricing_mismatches(model: ProcessPerPartner, rounds: int, seed: int = 0) -> tuple[int, int]:
    """Compare :meth:`ProcessPerPartner.anticipated_payout` with the rules engine's
    :func:`~incentsim.program.rules.anticipated_payout` for every partner, in the model's
    current program state, at ``rounds`` random sets of hypothetical metrics (revenue from
    nothing to far above the top threshold, a fifth exactly at a tier threshold; 0-3 new
    logos; satisfaction 3-5; the partner's own staff).

    Returns ``(mismatches, cases)``: cases where the two differ by more than 1e-9 relative.
    """
    rng = np.random.default_rng(seed)
    group = model.group_array
    thresholds = model.cp.req_revenue[group]  # (1, N, T)
    staff = np.array([model.staff])
    mismatches = cases = 0
    for _ in range(rounds):
        revenue = np.exp(rng.uniform(np.log(1e3), np.log(6e5), group.shape))
        at_threshold = rng.random(group.shape) < 0.2
        tier = rng.integers(thresholds.shape[-1], size=group.shape)
        revenue = np.where(
            at_threshold, np.take_along_axis(thresholds, tier[..., None], -1)[..., 0], revenue
        )
        logos = rng.integers(0, 4, group.shape).astype(np.float64)
        csat = rng.uniform(3.0, 5.0, group.shape)
        expected, _ = anticipated_payout(model.cp, model.pstate, group, revenue, logos, staff, csat)
        for i in range(group.shape[1]):
            got = model.anticipated_payout(
                i, float(revenue[0, i]), float(logos[0, i]), model.staff[i], float(csat[0, i])
            )
            want = float(expected[0, i])
            mismatches += abs(got - want) > 1e-9 * max(1.0, abs(want))
            cases += 1
    return mismatches, cases
