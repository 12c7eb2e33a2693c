"""The design the engine replaces: one SimPy process per partner, plain Python arithmetic.

This is the baseline for ``benchmarks/engine.py``. It simulates a SIMPLIFIED version of the
engine's weekly behaviour, written the straightforward way (every partner its own ``simpy``
process, per-partner floats, no NumPy in the loop):

* each week a partner expects its period revenue (booked so far plus its pipeline closing at
  the usual rate for the weeks left), finds the tier that revenue reaches under the program's
  tier rebates (revenue thresholds, capped by the tiers its certified staff and satisfaction
  allow) and the next threshold, and takes as marginal reward the tier's rate plus, when the
  next threshold is within about two forecast spreads, the rebate gained by reaching it per
  unit of revenue still missing; nothing above the partner cap;
* effort moves towards the target the engine's effort rule gives for that reward (weighted for
  payout delay by present bias), new pipeline is capacity x share of wallet x demand x effort,
  a 1/deal-cycle share of the pipeline closes (gamma noise around it, as in the engine) and is
  booked;
* at each period close a program process pays every partner the retroactive rebate of the tier
  its period revenue reached, up to the partner cap.

Left out (the engine does them): grace before demotion, new-logo requirements, accelerators,
MDF, SPIFFs, co-selling, timing games, stuffing, duplicates and audits, loyalty, churn,
recruitment, payout delays, budget and reserve. The parameters (capacity, deal size and cycle,
loyalty, responsiveness, myopia, certified staff, satisfaction) are drawn with
:func:`incentsim.population.sample.build_partners` and demand with
:func:`incentsim.market.demand.market_path`, from the same scenario as the engine.

:func:`simulate_arrays` runs the SAME simplified behaviour the engine's way (one SimPy calendar
process acting on NumPy arrays over replications x partners), so that ``engine.py`` can also
report the like-for-like ratio of the two designs, apart from how much more the engine does.
"""

from __future__ import annotations

import math
import random
from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
import simpy

from incentsim.market.demand import market_path
from incentsim.population.sample import build_partners
from incentsim.program.compiled import compile_program
from incentsim.scenario.model import Scenario

EPS = 1e-9


@dataclass
class Result:
    """What a run of the simplified behaviour produced (period totals summed over replications)."""

    partners: int
    weeks: int
    revenue_per_period: list[float]
    rebate_per_period: list[float]

    @property
    def partner_weeks(self) -> int:
        """Partner-weeks simulated (initial partners over every replication x weeks)."""
        return self.partners * self.weeks


@dataclass
class Inputs:
    """Parameters of ``reps`` replications, arrays ``(R, N)`` over the initial partners (the
    first ``n_partners`` of each replication's initial population), drawn from the scenario."""

    group: np.ndarray
    capacity: np.ndarray
    deal_size: np.ndarray
    cycle: np.ndarray
    loyalty: np.ndarray
    responsiveness: np.ndarray
    myopia: np.ndarray
    allowed: np.ndarray  # tiers the certified staff and satisfaction allow
    demand: np.ndarray  # (R, W, G): demand multiplier times deliverable share
    thresholds: np.ndarray  # (G, T) revenue per period
    rates: np.ndarray  # (G, T)
    cap: np.ndarray  # (G,)
    partner_seed: np.random.SeedSequence

    @classmethod
    def draw(
        cls, scenario: Scenario, seed: int, reps: int, n_partners: int | None = None
    ) -> Inputs:
        population_seed, market_seed, partner_seed = np.random.SeedSequence(seed).spawn(3)
        partners = build_partners(scenario, np.random.default_rng(population_seed), reps)
        market = market_path(scenario, np.random.default_rng(market_seed), reps)
        # Initial partners hold the first slots of every replication.
        n_initial = int((partners.active_from_period == 0).sum(axis=1).min())
        n = n_initial if n_partners is None else min(n_partners, n_initial)
        assert (partners.active_from_period[:, :n] == 0).all()
        cp = compile_program(scenario.program, partners.segment_names, partners.region_names)
        group = partners.group[:, :n]
        staff = partners.certified_staff[:, :n]
        csat = partners.csat[:, :n]
        # Tiers each partner's stock metrics allow: the lowest tiers whose requirements they
        # meet (requirements rise with the tier).
        allowed = np.zeros(group.shape, dtype=np.int64)
        for k in range(cp.n_tiers):
            meets = (staff >= cp.req_certified_staff[group, k] - EPS) & (
                csat >= cp.req_csat[group, k] - EPS
            )
            allowed += meets & (allowed == k)
        return cls(
            group=group,
            capacity=partners.capacity[:, :n],
            deal_size=partners.deal_size[:, :n],
            cycle=partners.deal_cycle_weeks[:, :n],
            loyalty=partners.initial_loyalty[:, :n],
            responsiveness=partners.responsiveness[:, :n],
            myopia=partners.myopia[:, :n],
            allowed=allowed,
            demand=market.demand * market.supply,
            thresholds=cp.req_revenue / cp.lookback[:, None],
            rates=cp.rebate_rate,
            cap=np.minimum(cp.partner_cap, 1e15),
            partner_seed=partner_seed,
        )


class ProcessPerPartner:
    """One replication of ``scenario`` with one SimPy process per partner.

    Parameters
    ----------
    scenario
        The validated scenario.
    seed
        Seed for the population, the market path and the partners' closing noise.
    n_partners
        Simulate only the first ``n_partners`` of the initial population (default: all).
    """

    def __init__(self, scenario: Scenario, seed: int, n_partners: int | None = None) -> None:
        inputs = Inputs.draw(scenario, seed, 1, n_partners)
        self.rng = random.Random(int(inputs.partner_seed.generate_state(1)[0]))
        cal, b, program = scenario.calendar, scenario.behaviour, scenario.program
        self.wpp = cal.weeks_per_period
        self.periods = cal.horizon_periods
        self.weeks = cal.horizon_weeks
        self.n = inputs.group.shape[1]

        def column(values: np.ndarray) -> list[float]:
            return values[0].tolist()

        self.group = [int(g) for g in inputs.group[0]]
        self.capacity = column(inputs.capacity)
        self.deal_size = column(inputs.deal_size)
        self.cycle = column(inputs.cycle)
        self.loyalty = column(inputs.loyalty)
        self.responsiveness = column(inputs.responsiveness)
        self.myopia = column(inputs.myopia)
        self.allowed = [int(a) for a in inputs.allowed[0]]
        self.demand = inputs.demand[0].T.tolist()  # [group][week]
        self.thresholds = inputs.thresholds.tolist()  # [group][tier]
        self.rates = inputs.rates.tolist()
        self.cap = inputs.cap.tolist()
        self.b = b
        self.delay = program.budget.payout.delay_weeks
        self.revenue = [0.0] * self.n  # this period's booked revenue, per partner
        self.revenue_per_period: list[float] = []
        self.rebate_per_period: list[float] = []

    def tier_of(self, i: int, revenue: float) -> int:
        """Highest tier partner ``i`` reaches with ``revenue`` this period (-1: none)."""
        thresholds = self.thresholds[self.group[i]]
        tier = -1
        for k in range(self.allowed[i]):
            if revenue >= thresholds[k] - EPS:
                tier = k
            else:
                break
        return tier

    def partner(self, env: simpy.Environment, i: int) -> Generator[simpy.Event, object, None]:
        """Partner ``i``: each week decide effort, build pipeline, book closings."""
        b, wpp = self.b, self.wpp
        g = self.group[i]
        rates, thresholds, cap = self.rates[g], self.thresholds[g], self.cap[g]
        demand = self.demand[g]
        cycle, deal_size = self.cycle[i], self.deal_size[i]
        wallet = b.share_of_wallet_min + (1.0 - b.share_of_wallet_min) * self.loyalty[i]
        weekly = self.capacity[i] * wallet
        weight = 1.0 / (1.0 + self.myopia[i] * self.delay / b.present_bias_weeks)
        exponent = b.effort_elasticity * self.responsiveness[i]
        normal = b.partner_margin + b.reference_rate
        effort = 1.0
        pipeline = weekly * cycle
        for week in range(self.weeks):
            weeks_left = wpp - week % wpp
            potential = weekly * demand[week]
            # Marginal reward of revenue at the period revenue the partner expects.
            expected = self.revenue[i] + pipeline / cycle * weeks_left
            typical = max(potential * wpp, 1.0)
            spread = max(
                b.forecast_noise * math.sqrt(weeks_left / wpp) * max(expected, typical),
                0.01 * typical,
            )
            tier = self.tier_of(i, expected)
            rate = rates[tier] if tier >= 0 else 0.0
            marginal = rate
            if tier + 1 < self.allowed[i]:
                gap = thresholds[tier + 1] - expected
                if gap < 2.0 * spread:
                    gain = rates[tier + 1] * thresholds[tier + 1] - rate * expected
                    marginal += gain / max(gap, spread)
            if rate * expected >= cap:
                marginal = 0.0
            reward = weight * marginal
            ratio = (b.partner_margin + max(reward, -b.partner_margin)) / normal
            target = min(max(max(ratio, 1e-6) ** exponent, b.effort_min), b.effort_max)
            effort += b.effort_adjustment * (target - effort)
            # Pipeline in, closings out (gamma noise around the mean, as in the engine).
            pipeline += potential * effort
            closings = pipeline / cycle
            pipeline -= closings
            if closings > 0.0:
                shape = max(closings / deal_size, 1e-6)
                closings = self.rng.gammavariate(shape, closings / shape)
            self.revenue[i] += closings
            yield env.timeout(1)

    def program(self, env: simpy.Environment) -> Generator[simpy.Event, object, None]:
        """At each period close, pay every partner its tier's rebate on the period's revenue.

        Created before the partners, so at a period boundary it runs before their next week.
        """
        for _ in range(self.periods):
            yield env.timeout(self.wpp)
            total_revenue = total_rebate = 0.0
            for i in range(self.n):
                revenue = self.revenue[i]
                tier = self.tier_of(i, revenue)
                if tier >= 0:
                    g = self.group[i]
                    total_rebate += min(self.rates[g][tier] * revenue, self.cap[g])
                total_revenue += revenue
                self.revenue[i] = 0.0
            self.revenue_per_period.append(total_revenue)
            self.rebate_per_period.append(total_rebate)

    def run(self) -> Result:
        """Run the calendar to the horizon."""
        env = simpy.Environment()
        env.process(self.program(env))
        for i in range(self.n):
            env.process(self.partner(env, i))
        env.run()
        return Result(self.n, self.weeks, self.revenue_per_period, self.rebate_per_period)


def simulate(scenario: Scenario, seed: int, n_partners: int | None = None) -> Result:
    """Build and run one process-per-partner replication (set-up included, as in the engine's
    ``simulate_block``)."""
    return ProcessPerPartner(scenario, seed, n_partners).run()


class Arrays:
    """The same simplified behaviour over arrays ``(R, N)``: one SimPy calendar process, every
    partner of every replication at once (the engine's design). Same equations, line for line,
    as :meth:`ProcessPerPartner.partner` and :meth:`ProcessPerPartner.program`."""

    def __init__(self, scenario: Scenario, seed: int, reps: int) -> None:
        self.inputs = inputs = Inputs.draw(scenario, seed, reps)
        self.rng = np.random.default_rng(inputs.partner_seed)
        self.scenario = scenario
        b = scenario.behaviour
        g = inputs.group
        self.thresholds = inputs.thresholds[g]  # (R, N, T)
        self.rates = inputs.rates[g]
        self.cap = inputs.cap[g]
        wallet = b.share_of_wallet_min + (1.0 - b.share_of_wallet_min) * inputs.loyalty
        self.weekly = inputs.capacity * wallet
        delay = scenario.program.budget.payout.delay_weeks
        self.weight = 1.0 / (1.0 + inputs.myopia * delay / b.present_bias_weeks)
        self.exponent = b.effort_elasticity * inputs.responsiveness
        self.effort = np.ones(g.shape)
        self.pipeline = self.weekly * inputs.cycle
        self.revenue = np.zeros(g.shape)
        self.revenue_per_period: list[float] = []
        self.rebate_per_period: list[float] = []

    def tier_of(self, revenue: np.ndarray) -> np.ndarray:
        """Highest tier each partner reaches with ``revenue`` (-1: none)."""
        met = np.zeros(revenue.shape, dtype=np.int64)
        for k in range(self.thresholds.shape[-1]):
            met += revenue >= self.thresholds[..., k] - EPS
        return np.minimum(met, self.inputs.allowed) - 1

    def at_tier(self, table: np.ndarray, tier: np.ndarray) -> np.ndarray:
        """``table[..., tier]`` per partner (0 below the first tier)."""
        held = np.take_along_axis(table, np.maximum(tier, 0)[..., None], axis=-1)[..., 0]
        return np.where(tier >= 0, held, 0.0)

    def week(self, week: int) -> None:
        """Every partner's week: effort, pipeline, closings."""
        b, x = self.scenario.behaviour, self.inputs
        wpp = self.scenario.calendar.weeks_per_period
        weeks_left = wpp - week % wpp
        potential = self.weekly * np.take_along_axis(x.demand[:, week, :], x.group, axis=1)
        expected = self.revenue + self.pipeline / x.cycle * weeks_left
        typical = np.maximum(potential * wpp, 1.0)
        spread = np.maximum(
            b.forecast_noise * math.sqrt(weeks_left / wpp) * np.maximum(expected, typical),
            0.01 * typical,
        )
        tier = self.tier_of(expected)
        rate = self.at_tier(self.rates, tier)
        next_tier = np.minimum(tier + 1, self.rates.shape[-1] - 1)
        next_threshold = np.take_along_axis(self.thresholds, next_tier[..., None], axis=-1)[..., 0]
        next_rate = np.take_along_axis(self.rates, next_tier[..., None], axis=-1)[..., 0]
        gap = next_threshold - expected
        near = (tier + 1 < x.allowed) & (gap < 2.0 * spread)
        gain = (next_rate * next_threshold - rate * expected) / np.maximum(gap, spread)
        marginal = np.where(near, rate + gain, rate)
        marginal = np.where(rate * expected >= self.cap, 0.0, marginal)
        reward = self.weight * marginal
        ratio = (b.partner_margin + np.maximum(reward, -b.partner_margin)) / (
            b.partner_margin + b.reference_rate
        )
        target = np.clip(np.maximum(ratio, 1e-6) ** self.exponent, b.effort_min, b.effort_max)
        self.effort += b.effort_adjustment * (target - self.effort)
        self.pipeline += potential * self.effort
        closings = self.pipeline / x.cycle
        self.pipeline -= closings
        shape = np.maximum(closings / x.deal_size, 1e-6)
        noisy = self.rng.gamma(shape, closings / shape)
        self.revenue += np.where(closings > 0.0, noisy, closings)

    def close(self) -> None:
        """Pay every partner its tier's rebate on the period's revenue, up to the cap."""
        tier = self.tier_of(self.revenue)
        rebate = np.minimum(self.at_tier(self.rates, tier) * self.revenue, self.cap)
        self.revenue_per_period.append(float(self.revenue.sum()))
        self.rebate_per_period.append(float(rebate.sum()))
        self.revenue = np.zeros_like(self.revenue)

    def calendar(self, env: simpy.Environment) -> Generator[simpy.Event, object, None]:
        """The weekly tick, with the period close after each period's last week."""
        wpp = self.scenario.calendar.weeks_per_period
        for week in range(self.scenario.calendar.horizon_weeks):
            self.week(week)
            yield env.timeout(1)
            if (week + 1) % wpp == 0:
                self.close()

    def run(self) -> Result:
        """Run the calendar to the horizon."""
        env = simpy.Environment()
        env.process(self.calendar(env))
        env.run()
        n = int(self.inputs.group.size)
        weeks = self.scenario.calendar.horizon_weeks
        return Result(n, weeks, self.revenue_per_period, self.rebate_per_period)


def simulate_arrays(scenario: Scenario, seed: int, reps: int) -> Result:
    """Build and run ``reps`` replications of the simplified behaviour over arrays (set-up
    included, as in the engine's ``simulate_block``)."""
    return Arrays(scenario, seed, reps).run()
