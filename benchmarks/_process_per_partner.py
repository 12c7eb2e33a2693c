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


@dataclass
class Result:
    """What a process-per-partner run produced."""

    partners: int
    weeks: int
    revenue_per_period: list[float]
    rebate_per_period: list[float]

    @property
    def partner_weeks(self) -> int:
        """Partner-weeks simulated."""
        return self.partners * self.weeks


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
        population_seed, market_seed, partner_seed = np.random.SeedSequence(seed).spawn(3)
        partners = build_partners(scenario, np.random.default_rng(population_seed), 1)
        market = market_path(scenario, np.random.default_rng(market_seed), 1)
        self.rng = random.Random(int(partner_seed.generate_state(1)[0]))
        self.scenario = scenario
        cal, b, program = scenario.calendar, scenario.behaviour, scenario.program
        self.wpp = cal.weeks_per_period
        self.periods = cal.horizon_periods
        self.weeks = cal.horizon_weeks

        initial = np.flatnonzero(partners.active_from_period[0] == 0)
        if n_partners is not None:
            initial = initial[:n_partners]
        self.n = len(initial)

        def column(values: np.ndarray) -> list[float]:
            return values[0, initial].tolist()

        self.group = [int(g) for g in partners.group[0, initial]]
        self.capacity = column(partners.capacity)
        self.deal_size = column(partners.deal_size)
        self.cycle = column(partners.deal_cycle_weeks)
        self.loyalty = column(partners.initial_loyalty)
        self.responsiveness = column(partners.responsiveness)
        self.myopia = column(partners.myopia)
        staff = column(partners.certified_staff)
        csat = column(partners.csat)
        # Weekly demand multiplier per group (trend, seasonality, noise) times deliverable share.
        demand = (market.demand[0] * market.supply[0]).T.tolist()  # [group][week]

        cp = compile_program(program, partners.segment_names, partners.region_names)
        self.thresholds = (cp.req_revenue / cp.lookback[:, None]).tolist()  # [group][tier]
        self.rates = cp.rebate_rate.tolist()
        self.cap = [min(float(c), 1e15) for c in cp.partner_cap]
        req_staff, req_csat = cp.req_certified_staff.tolist(), cp.req_csat.tolist()
        # Tiers each partner's stock metrics allow (certified staff and satisfaction).
        self.allowed = []
        for i in range(self.n):
            g, allowed = self.group[i], 0
            for s_req, c_req in zip(req_staff[g], req_csat[g], strict=True):
                if staff[i] >= s_req - 1e-9 and csat[i] >= c_req - 1e-9:
                    allowed += 1
                else:
                    break
            self.allowed.append(allowed)
        self.demand = demand
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
            if revenue >= thresholds[k] - 1e-9:
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
