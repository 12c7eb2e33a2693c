"""Stylized facts of the incentive literature, checked against the simulator (issue 12).

One check per phenomenon of the domain notes' section 2 (some phenomena have several parts)
and per default figure of section 3. Each check runs the design with the cause and the same
design with the cause removed (or, for a "no effect" fact, with the contrasting cause), on the
same seed (common random numbers), measures one figure per replication, and prints its mean
with a 95% interval next to the band its source gives. A check PASSES only when the mean with
the cause lies in the band AND the mean with the cause removed does not (the phenomenon comes
from its cause, not from the design around it).

Where a source gives only a direction, the band is chosen here and the reason is stated in the
check's ``why``. The designs are the engine tests' own (``_designs``): the benchmark measures
what the tests assert, over more replications and several facts at once.

usage: python benchmarks/stylized_facts.py [--quick] [--seed S] [--only KEY[,KEY...]]
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from _designs import phenomena as ph
from _designs import run_file
from _designs import scenarios as es
from _designs import selection as sel

from incentsim.engine.simulation import BlockResult

Figures = tuple[np.ndarray, np.ndarray]
INF = float("inf")


@dataclass(frozen=True)
class Check:
    """A stylized fact: its ``key`` (domain notes section and part), what it says, its
    ``source``, the ``band`` (low, high) of the figure with the cause, ``why`` the band (when
    the source gives only a direction), what the control removes, and ``measure(seed, reps)``
    returning the figure per replication with the cause and with it removed."""

    key: str
    fact: str
    source: str
    band: tuple[float, float]
    why: str
    removed: str
    measure: Callable[[int, int], Figures]
    percent: bool = True


@dataclass(frozen=True)
class Outcome:
    """A check's figures with and without its cause, and its verdict."""

    check: Check
    with_cause: es.Effect
    without: es.Effect
    seconds: float

    @property
    def in_band(self) -> bool:
        low, high = self.check.band
        return low <= self.with_cause.mean <= high

    @property
    def control_fails(self) -> bool:
        low, high = self.check.band
        return not low <= self.without.mean <= high

    @property
    def passed(self) -> bool:
        return self.in_band and self.control_fails


# --- helpers ------------------------------------------------------------------------------


def merged_rows(a: BlockResult, b: BlockResult, columns: list[str]) -> pd.DataFrame:
    """Partner-period rows active in both of two runs of one seed, side by side (suffixes
    ``_a``, ``_b``)."""
    keys = ["rep", "partner_id", "period"]
    panels = [run.panel for run in (a, b)]
    assert all(panel is not None for panel in panels)
    left, right = (panel[[*keys, "active", *columns]] for panel in panels if panel is not None)
    rows = left.merge(right, on=keys, suffixes=("_a", "_b"))
    return rows[rows["active_a"] & rows["active_b"]]


def effort_lift(
    treated: BlockResult, reference: BlockResult, select: Callable[[pd.DataFrame], Any]
) -> np.ndarray:
    """Per replication, mean effort of the partner-periods ``select`` picks (by the
    reference run's revenue, which the treatment does not move) in ``treated`` over
    ``reference``, less one."""
    rows = merged_rows(treated, reference, ["effort", "revenue"])
    rows = rows[select(rows["revenue_b"])]
    by_rep = rows.groupby("rep")[["effort_a", "effort_b"]].mean()
    return (by_rep["effort_a"] / by_rep["effort_b"] - 1.0).to_numpy()


def share(result: BlockResult, name: str, of: str = "revenue_gross") -> np.ndarray:
    """An outcome per unit of another, per replication."""
    return np.asarray(result.outcomes[name] / result.outcomes[of])


def window_last_week_share(
    result: BlockResult, weeks: int, windows: tuple[tuple[int, int], ...]
) -> np.ndarray:
    """Per replication, the share of the given windows' revenue (first week of the period,
    length) booked in their last weeks, averaged over the windows."""
    by_period = result.trajectories["weekly_revenue"].reshape(
        len(result.outcomes["revenue_gross"]), -1, weeks
    )
    shares = [
        by_period[:, :, start + length - 1].sum(axis=1)
        / by_period[:, :, start : start + length].sum(axis=(1, 2))
        for start, length in windows
    ]
    return np.asarray(np.mean(shares, axis=0))


# --- section 2.1: effort follows the marginal reward --------------------------------------

T = es.THRESHOLD
NOTCH_OUT_OF_REACH = {
    "program": {
        "tiers": {
            "base": {"rebate_rate": 0.02},
            "top": {"requirements": {"revenue": 10 * T}, "rebate_rate": 0.04},
        }
    }
}


def near_threshold(seed: int, reps: int) -> Figures:
    reference = es.run(es.linear(0.02), seed=seed, reps=reps, panel=True)

    def near(revenue: pd.Series) -> Any:
        return (revenue >= 0.75 * T) & (revenue < T)

    notch = es.run(seed=seed, reps=reps, panel=True)
    far = es.run(NOTCH_OUT_OF_REACH, seed=seed, reps=reps, panel=True)
    return effort_lift(notch, reference, near), effort_lift(far, reference, near)


def far_below_floor(seed: int, reps: int) -> Figures:
    reference = es.run(es.linear(0.04), seed=seed, reps=reps, panel=True)

    def far(revenue: pd.Series) -> Any:
        return revenue < 0.4 * T

    floor = es.run(es.FLOOR, seed=seed, reps=reps, panel=True)
    low_floor = {
        "program": {"tiers": {"top": {"requirements": {"revenue": 0.05 * T}, "rebate_rate": 0.04}}}
    }
    reachable = es.run(es.FLOOR, low_floor, seed=seed, reps=reps, panel=True)
    return effort_lift(floor, reference, far), effort_lift(reachable, reference, far)


def past_cap(seed: int, reps: int) -> Figures:
    reference = es.run(es.linear(0.04), seed=seed, reps=reps, panel=True)

    def capped(revenue: pd.Series) -> Any:
        return revenue >= 1.3 * 75_000

    cap = es.run(es.linear(0.04), es.PARTNER_CAP, seed=seed, reps=reps, panel=True)
    loose = es.run(
        es.linear(0.04), {"program": {"partner_cap": 300_000}}, seed=seed, reps=reps, panel=True
    )
    return effort_lift(cap, reference, capped), effort_lift(loose, reference, capped)


def pacer(seed: int, reps: int) -> Figures:
    """Revenue with the pacer over without, less one; removed: the plan without it against
    itself (exactly 0: nothing else differs)."""
    settings = ["population.partners=400"]
    with_pacer = run_file("pacer.yaml", settings, seed, reps)
    without = run_file("pacer.yaml", [*settings, "program.pacers={}"], seed, reps)
    lift = with_pacer.outcomes["revenue_gross"] / without.outcomes["revenue_gross"] - 1.0
    return np.asarray(lift), np.zeros(len(lift))


# --- section 2.2: bunching -----------------------------------------------------------------


def notch_ratio(result: BlockResult) -> np.ndarray:
    below, above = ph.window_counts(result)
    return np.asarray(above / below)


def bunching_notch(seed: int, reps: int) -> Figures:
    notch = es.run(seed=seed, reps=reps, panel=True)
    accelerator = es.run(es.ACCELERATOR, seed=seed, reps=reps, panel=True)
    return notch_ratio(notch), notch_ratio(accelerator)


def smooth_accelerator(seed: int, reps: int) -> Figures:
    accelerator, notch = bunching_notch(seed, reps)[::-1]
    return accelerator, notch


def cap_pile_up(seed: int, reps: int) -> Figures:
    capped = es.run(es.linear(0.04), es.PARTNER_CAP, seed=seed, reps=reps, panel=True)
    free = es.run(es.linear(0.04), seed=seed, reps=reps, panel=True)
    return ph.cap_density_ratio(capped), ph.cap_density_ratio(free)


def benefits_only_tier(seed: int, reps: int) -> Figures:
    valuable = {"training": {"win_rate_uplift": 0.05, "deal_size_uplift": 0.05}}
    worthless = {"party": {"loyalty_uplift": 0.0}}
    with_value = es.run(ph.benefits_tier(valuable), seed=seed, reps=reps, panel=True)
    without = es.run(ph.benefits_tier(worthless), seed=seed, reps=reps, panel=True)
    return notch_ratio(with_value), notch_ratio(without)


# --- section 2.3: timing games -------------------------------------------------------------

STAIR_RATES = (0.0, 0.03, 0.06, 0.09, 0.12)


def stair_step_last_day(seed: int, reps: int) -> Figures:
    cycles, stairs = ph.deal_cycles(4, 16), ph.monthly_stairs(STAIR_RATES)
    steep = es.run(ph.MONTHS, cycles, stairs, seed=seed, reps=reps)
    flat = es.run(ph.MONTHS, cycles, es.linear(0.03), seed=seed, reps=reps)
    return np.asarray(steep.outcomes["last_day_share"]), np.asarray(flat.outcomes["last_day_share"])


def larkin_pair(seed: int, reps: int) -> tuple[BlockResult, BlockResult]:
    """The steep quarterly accelerator with 12-24-month cycles, and a linear plan costing the
    same."""
    steep = es.run(es.STEEP_ACCELERATOR, ph.LONG_CYCLES, seed=seed, reps=reps)
    rate = round(float(steep.outcomes["cost_to_revenue"].mean()), 4)
    flat = es.run(es.linear(rate), ph.LONG_CYCLES, seed=seed, reps=reps)
    return steep, flat


def larkin_discounts(seed: int, reps: int) -> Figures:
    steep, flat = larkin_pair(seed, reps)
    return ph.discount_share(steep), ph.discount_share(flat)


def quarter_end_spike(seed: int, reps: int) -> Figures:
    steep, flat = larkin_pair(seed, reps)
    return ph.last_week_share(steep), ph.last_week_share(flat)


def control_grows_with_cycles(seed: int, reps: int) -> Figures:
    short = ph.deal_cycles(1, 2)
    steep_long = es.run(es.STEEP_ACCELERATOR, ph.LONG_CYCLES, seed=seed, reps=reps)
    steep_short = es.run(es.STEEP_ACCELERATOR, short, seed=seed, reps=reps)
    flat_long = es.run(es.linear(0.02), ph.LONG_CYCLES, seed=seed, reps=reps)
    flat_short = es.run(es.linear(0.02), short, seed=seed, reps=reps)
    return (
        ph.last_week_share(steep_long) - ph.last_week_share(steep_short),
        ph.last_week_share(flat_long) - ph.last_week_share(flat_short),
    )


#: The months of a quarter that end inside it (the third takes the 13th week).
INNER_MONTHS = ((0, 4), (4, 4))


def stair_step_windows(seed: int, reps: int) -> Figures:
    """The stair-step month of :func:`stair_step_last_day` as monthly bonus windows inside a
    quarterly program: the same rule at the window's own horizon."""
    thresholds = (25_000.0, 40_000.0, 65_000.0, 100_000.0)
    steps = {
        f"step{k}": {"horizon_weeks": 4, "threshold": x * 4 / 13, "rate": 0.03}
        for k, x in enumerate(thresholds)
    }
    linear = {"flat": {"horizon_weeks": 4, "threshold": 0, "rate": 0.03}}
    cycles = ph.deal_cycles(4, 16)

    def program(bonuses: dict[str, Any]) -> dict[str, Any]:
        return {"program": {"tiers": {"base": {"rebate_rate": 0.0}}, "bonuses": bonuses}}

    stairs = es.run(ph.QUARTERS_1Y, cycles, program(steps), seed=seed, reps=reps)
    flat = es.run(ph.QUARTERS_1Y, cycles, program(linear), seed=seed, reps=reps)
    return (
        window_last_week_share(stairs, 13, INNER_MONTHS),
        window_last_week_share(flat, 13, INNER_MONTHS),
    )


def monthly_bonus_lift(seed: int, reps: int) -> Figures:
    settings = ["population.partners=400"]
    bonus = run_file("monthly_bonus.yaml", settings, seed, reps)
    none = run_file("monthly_bonus.yaml", [*settings, "program.bonuses={}"], seed, reps)
    linear = "program.bonuses={monthly: {horizon_weeks: 4, threshold: 0, rate: 0.01}}"
    flat = run_file("monthly_bonus.yaml", [*settings, linear], seed, reps)
    base = window_last_week_share(none, 13, INNER_MONTHS)
    return (
        window_last_week_share(bonus, 13, INNER_MONTHS) - base,
        window_last_week_share(flat, 13, INNER_MONTHS) - base,
    )


# --- section 2.4: deferral at both ends ----------------------------------------------------


def healy(seed: int, reps: int) -> tuple[dict[str, np.ndarray], ...]:
    both = ph.deferral_by_attainment(
        es.run(es.HEALY_FLOOR, es.HEALY_CAP, seed=seed, reps=reps, panel=True)
    )
    no_cap = ph.deferral_by_attainment(es.run(es.HEALY_FLOOR, seed=seed, reps=reps, panel=True))
    no_floor = ph.deferral_by_attainment(
        es.run(es.linear(0.04), es.PARTNER_CAP, seed=seed, reps=reps, panel=True)
    )
    return both, no_cap, no_floor


def deferral_below_floor(seed: int, reps: int) -> Figures:
    both, _, no_floor = healy(seed, reps)
    return both["below"] - both["between"], no_floor["below"] - no_floor["between"]


def deferral_at_cap(seed: int, reps: int) -> Figures:
    both, no_cap, _ = healy(seed, reps)
    # Highest at the cap: the cap's rate less the larger of the middle's and the floor's.
    return (
        both["cap"] - np.maximum(both["between"], both["below"]),
        no_cap["cap"] - np.maximum(no_cap["between"], no_cap["below"]),
    )


# --- sections 2.5-2.7 ----------------------------------------------------------------------


def stuffing(seed: int, reps: int) -> Figures:
    loose = es.run(es.STAIRS, es.NO_CLAWBACK, seed=seed, reps=reps)
    flat = es.run(es.linear(0.03), es.NO_CLAWBACK, seed=seed, reps=reps)
    # What is stuffed must come back: the figure counts only the stuffed volume that returns
    # or displaces next period's orders (returns are the measurable part).
    return share(loose, "stuffed"), share(flat, "stuffed")


def ratchet(seed: int, reps: int) -> Figures:
    six = {"calendar": {"horizon_periods": 6}}
    prior = es.run(six, es.QUOTA_ACCELERATOR, es.PRIOR_QUOTA, seed=seed, reps=reps)
    fixed = es.run(six, es.QUOTA_ACCELERATOR, es.FIXED_QUOTA, seed=seed, reps=reps)
    return share(prior, "deferred"), share(fixed, "deferred")


def tunnel_vision(seed: int, reps: int) -> Figures:
    none = es.run(es.linear(0.0), seed=seed, reps=reps).outcomes["csat_mean"]
    steep = es.run(es.linear(0.08), seed=seed, reps=reps).outcomes["csat_mean"]
    normal = es.run(es.linear(0.03), seed=seed, reps=reps).outcomes["csat_mean"]
    return np.asarray(steep - none), np.asarray(normal - none)


# --- section 2.8: linear pay, output and selection ----------------------------------------

#: One tier, no accelerators, caps or budget (the selection test's design).
LAZEAR_PLAIN = sel.PLAIN


def per_partner_period(result: BlockResult) -> np.ndarray:
    """Revenue per active partner-period, per replication."""
    assert result.panel is not None
    active = result.panel[result.panel["active"]]
    by_rep = active.groupby("rep")["revenue"]
    return (by_rep.sum() / by_rep.size()).sort_index().to_numpy()


def same_partners(linear: BlockResult, flat: BlockResult) -> np.ndarray:
    """Per replication, revenue under ``linear`` over ``flat`` less one, over the
    partner-periods active in both (the same partners, whoever joins or leaves): the part of
    the gain that is not selection (Lazear 2000's incentive effect)."""
    rows = merged_rows(linear, flat, ["revenue"])
    by_rep = rows.groupby("rep")[["revenue_a", "revenue_b"]].sum().sort_index()
    return (by_rep["revenue_a"] / by_rep["revenue_b"] - 1.0).to_numpy()


def lazear_gains(seed: int, reps: int, extra: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Output per partner-period under a 3% rebate over a flat fee costing as much, less one:
    for all partners, and over the partner-periods active under both."""
    settings = [*LAZEAR_PLAIN, *extra]
    rebate = [*settings, "program.tiers.member.rebate_rate=0.03"]
    linear = run_file("baseline.yaml", rebate, seed, reps, True)
    assert linear.panel is not None
    fee = linear.outcomes["incentive_cost"].sum() / linear.panel["active"].sum()
    flat_fee = (
        f"program.milestones={{fee: {{tier: member, consecutive_periods: 1, reward: {fee:.2f}}}}}"
    )
    flat = run_file("baseline.yaml", [*settings, flat_fee], seed, reps, True)
    total = per_partner_period(linear) / per_partner_period(flat) - 1.0
    return total, same_partners(linear, flat)


NO_RESPONSE = [
    "behaviour.effort_elasticity=0",
    "behaviour.recruit_sensitivity=0",
    "behaviour.value_weight=0",
    "behaviour.fairness_weight=0",
]


def lazear_output(seed: int, reps: int) -> Figures:
    return lazear_gains(seed, reps, [])[0], lazear_gains(seed, reps, NO_RESPONSE)[0]


def lazear_selection(seed: int, reps: int) -> Figures:
    """The share of the output gain per partner-period that is not the same partners' own
    gain (who joins, who stays)."""
    total, founding = lazear_gains(seed, reps, [])
    total_0, founding_0 = lazear_gains(seed, reps, ["behaviour.recruit_sensitivity=0"])
    return 1.0 - founding / total, 1.0 - founding_0 / total_0


# --- sections 2.9-2.12 ---------------------------------------------------------------------


def goal_gradient(seed: int, reps: int) -> Figures:
    plain = es.run(es.EIGHT_QUARTERS, seed=seed, reps=reps).trajectories["effort_mean"]
    streak = es.run(es.EIGHT_QUARTERS, es.milestone(4, 3_000), seed=seed, reps=reps)
    every = es.run(es.EIGHT_QUARTERS, es.milestone(1, 750), seed=seed, reps=reps)
    uplift = streak.trajectories["effort_mean"] - plain
    flat = every.trajectories["effort_mean"] - plain
    return uplift[:, 3] - uplift[:, 1], flat[:, 3] - flat[:, 1]


NO_DELAY_COST = {"behaviour": {"delay_sensitivity": 0.0, "lateness_sensitivity": 0.0}}


def payout_delay_retention(seed: int, reps: int) -> Figures:
    def gap(*extra: dict[str, Any]) -> np.ndarray:
        slow = es.run(es.TWO_YEARS, es.payout_delay(13), *extra, seed=seed, reps=reps).outcomes
        prompt = es.run(es.TWO_YEARS, es.payout_delay(4), *extra, seed=seed, reps=reps).outcomes
        return np.asarray(slow["retention"] - prompt["retention"])

    return gap(), gap(NO_DELAY_COST, ph.NO_MYOPIA)


def competitor_churn(seed: int, reps: int) -> Figures:
    def rise(*extra: dict[str, Any]) -> np.ndarray:
        shocked = es.run(es.COMPETITOR, *extra, seed=seed, reps=reps).outcomes["churned"]
        calm = es.run(*extra, seed=seed, reps=reps).outcomes["churned"]
        return np.asarray(shocked / np.maximum(calm, 1.0) - 1.0)

    return rise(), rise({"behaviour": {"value_weight": 0.0}})


def present_bias(seed: int, reps: int) -> Figures:
    def gain(*extra: dict[str, Any]) -> np.ndarray:
        prompt = es.run(es.linear(0.04), es.payout_delay(2), *extra, seed=seed, reps=reps)
        late = es.run(es.linear(0.04), es.payout_delay(26), *extra, seed=seed, reps=reps)
        effort = prompt.trajectories["effort_mean"] / late.trajectories["effort_mean"] - 1.0
        return np.asarray(effort.mean(axis=1))

    return gain(), gain(ph.NO_MYOPIA)


def quota_horizon(seed: int, reps: int) -> tuple[Figures, Figures]:
    """(weak, strong) partners' revenue under a monthly quota over a quarterly one, less one,
    with the quota bonus and with a linear rebate."""
    capacity = ph.selling_capacity(seed, reps)

    def ratios(monthly: dict[str, Any], quarterly: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        m = es.run(ph.MONTHS_1Y, monthly, seed=seed, reps=reps, panel=True)
        q = es.run(ph.QUARTERS_1Y, quarterly, seed=seed, reps=reps, panel=True)
        weak_m, strong_m = ph.revenue_by_performance(m, capacity)
        weak_q, strong_q = ph.revenue_by_performance(q, capacity)
        return weak_m / weak_q - 1.0, strong_m / strong_q - 1.0

    weak, strong = ratios(ph.quota_bonus(4), ph.quota_bonus(13))
    weak_0, strong_0 = ratios(es.linear(0.025), es.linear(0.025))
    return (weak, weak_0), (strong, strong_0)


@functools.lru_cache(maxsize=1)
def quota_horizon_cached(seed: int, reps: int) -> tuple[Figures, Figures]:
    """:func:`quota_horizon`, run once for both of its checks."""
    return quota_horizon(seed, reps)


def quota_part(part: int) -> Callable[[int, int], Figures]:
    """The weak (0) or strong (1) partners' figures of :func:`quota_horizon`."""

    def measure(seed: int, reps: int) -> Figures:
        return quota_horizon_cached(seed, reps)[part]

    return measure


def quick_deals(seed: int, reps: int) -> Figures:
    """Revenue in small quick deals per unit of revenue under a steep monthly stair-step (a
    deadline with a target within reach) and under a linear plan (no deadline)."""
    steep = es.run(ph.MONTHS_1Y, ph.monthly_stairs(STAIR_RATES), seed=seed, reps=reps)
    flat = es.run(ph.MONTHS_1Y, es.linear(0.03), seed=seed, reps=reps)
    return share(steep, "quick_deals"), share(flat, "quick_deals")


# --- section 3: default figures of the baseline --------------------------------------------


def baseline(
    seed: int, reps: int, settings: tuple[str, ...] | list[str] = (), panel: bool = False
) -> BlockResult:
    return run_file("baseline.yaml", list(settings), seed, reps, panel)


def top_fifth(result: BlockResult) -> np.ndarray:
    assert result.panel is not None
    totals = result.panel.groupby(["rep", "partner_id"])["revenue"].sum()
    shares = []
    for _, revenue in totals.groupby(level="rep"):
        values = np.sort(revenue.to_numpy())[::-1]
        shares.append(values[: round(0.2 * len(values))].sum() / values.sum())
    return np.asarray(shares)


EVEN_CAPACITY = ["population.segments.*.capacity.sigma=0.4"]


def concentration(seed: int, reps: int) -> Figures:
    return (
        top_fifth(baseline(seed, reps, panel=True)),
        top_fifth(baseline(seed, reps, EVEN_CAPACITY, panel=True)),
    )


NO_REBATES = ["program.tiers.*.rebate_rate=0"]
NO_INCENTIVES = [
    *NO_REBATES,
    "program.accelerators={}",
    "program.co_sell.rate=0",
    "program.mdf.accrual_rate=0",
]


def rebate_share(seed: int, reps: int) -> Figures:
    return share(baseline(seed, reps), "cost_rebate"), share(
        baseline(seed, reps, NO_REBATES), "cost_rebate"
    )


def incentive_cost(seed: int, reps: int) -> Figures:
    return (
        np.asarray(baseline(seed, reps).outcomes["cost_to_revenue"]),
        np.asarray(baseline(seed, reps, NO_INCENTIVES).outcomes["cost_to_revenue"]),
    )


def primary_tier(result: BlockResult) -> np.ndarray:
    assert result.panel is not None
    active = result.panel[result.panel["active"]]
    reached = active["tier"] != "unqualified"
    return active.assign(reached=reached).groupby("rep")["reached"].mean().to_numpy()


def primary_tier_reach(seed: int, reps: int) -> Figures:
    high = [
        "program.tiers.registered.requirements.revenue=45000",
        "program.tiers.silver.requirements.revenue=96000",
        "program.tiers.gold.requirements.revenue=210000",
        "program.tiers.platinum.requirements.revenue=450000",
    ]
    return (
        primary_tier(baseline(seed, reps, panel=True)),
        primary_tier(baseline(seed, reps, high, panel=True)),
    )


def mdf_unclaimed(seed: int, reps: int) -> Figures:
    prompt = ["program.mdf.approval_lag_weeks=0", "program.mdf.expiry_periods=4"]
    return share(baseline(seed, reps), "mdf_expired", "mdf_accrued"), share(
        baseline(seed, reps, prompt), "mdf_expired", "mdf_accrued"
    )


def payout_lag(seed: int, reps: int) -> Figures:
    """Weeks from a period's close to its payout in the baseline, against the same program
    paying at the close."""
    del seed
    from _common import SCENARIOS

    from incentsim.scenario.loader import load_scenario

    def weeks(settings: list[str]) -> np.ndarray:
        scenario = load_scenario(str(SCENARIOS / "baseline.yaml"), settings)
        return np.full(reps, float(scenario.program.budget.payout.delay_weeks))

    return weeks([]), weeks(["program.budget.payout.delay_weeks=0"])


# --- the checks ----------------------------------------------------------------------------

DIRECTION = "the source gives a direction only; "

CHECKS = (
    Check(
        "2.1a",
        "effort rises near a reachable threshold",
        "Chung, Steenburgh & Sudhir 2014; Misra & Nair 2011",
        (0.02, 0.50),
        DIRECTION + "a 2-point effort rise is the smallest a designer would notice",
        "the notch moved out of reach (10x)",
        near_threshold,
    ),
    Check(
        "2.1b",
        "partners far below a floor give up",
        "Chung, Steenburgh & Sudhir 2014; Misra & Nair 2011",
        (-0.60, -0.02),
        DIRECTION + "at least 2 points less effort than under a linear plan",
        "the floor set within reach of all (5%)",
        far_below_floor,
    ),
    Check(
        "2.1c",
        "partners past a cap ease off",
        "Chung, Steenburgh & Sudhir 2014; Misra & Nair 2011",
        (-0.60, -0.02),
        DIRECTION + "at least 2 points less effort than uncapped",
        "the cap set out of reach (4x)",
        past_cap,
    ),
    Check(
        "2.1d",
        "a quarterly pacer inside an annual plan raises revenue",
        "Chung, Steenburgh & Sudhir 2014",
        (0.005, 0.08),
        DIRECTION + "removing quarterly bonuses lowers revenue; 0.5-8% chosen",
        "no pacer",
        pacer,
    ),
    Check(
        "2.2a",
        "bunching just above a notch (density above/below)",
        "Saez 2010; Kleven & Waseem 2013",
        (1.5, INF),
        "'clearly higher': at least 1.5x just above than just below",
        "the same threshold as an accelerator",
        bunching_notch,
        percent=False,
    ),
    Check(
        "2.2b",
        "no bunching at a pure accelerator (density ~1)",
        "Saez 2010; domain notes 2.2",
        (0.8, 1.25),
        "~1: within 0.8-1.25",
        "contrast: the same threshold as a notch",
        smooth_accelerator,
        percent=False,
    ),
    Check(
        "2.2c",
        "caps pile results up at the cap",
        "Burgstahler & Dichev 1997; domain notes 2.2",
        (1.2, INF),
        DIRECTION + "density at the cap at least 1.2x its neighbours'",
        "the cap set out of reach",
        cap_pile_up,
        percent=False,
    ),
    Check(
        "2.2d",
        "a benefits-only tier with valuable benefits bunches",
        "Kivetz, Urminsky & Zheng 2006",
        (1.5, INF),
        "as a money notch: at least 1.5x",
        "benefits of no use to sales",
        benefits_only_tier,
        percent=False,
    ),
    Check(
        "2.3a",
        "last-day share of a month under stair-steps",
        "Owan, Tsuru & Uehara 2015 (23%)",
        (0.19, 0.27),
        "23% +- 4 points",
        "a linear plan",
        stair_step_last_day,
    ),
    Check(
        "2.3b",
        "revenue lost to period-end discounts, steep accelerator, 12-24m cycles",
        "Larkin 2014 (6-8% of revenue)",
        (0.06, 0.08),
        "",
        "an equal-cost linear plan",
        larkin_discounts,
    ),
    Check(
        "2.3c",
        "quarter's last-week share, steep accelerator, long cycles",
        "Oyer 1998; Larkin 2014; Owan et al. 2015",
        (0.23, 0.70),
        DIRECTION + "'most deals close at quarter end': at least 3x the uniform 7.7%",
        "an equal-cost linear plan",
        quarter_end_spike,
    ),
    Check(
        "2.3d",
        "the spike grows with control over closing dates (long - short cycles)",
        "Oyer 1998; Larkin 2014",
        (0.03, 1.0),
        DIRECTION + "at least 3 points more of the quarter in its last week",
        "a linear plan",
        control_grows_with_cycles,
    ),
    Check(
        "2.3e",
        "stair-step bonus windows inside a quarter: last-week share of each month",
        "Owan, Tsuru & Uehara 2015",
        (0.34, 0.54),
        "the same stairs as monthly periods book 44% in the last week (23% on the last day): "
        "the window, the same rule at its own horizon, within 10 points of it (34-54%)",
        "a linear window bonus",
        stair_step_windows,
    ),
    Check(
        "2.3f",
        "monthly_bonus.yaml: last-week share lift of the months inside the quarter",
        "Owan, Tsuru & Uehara 2015",
        (0.01, 0.25),
        DIRECTION + "a modest notch (400 on 12,000) in short cycles: at least +1 point on 25%",
        "a linear window bonus",
        monthly_bonus_lift,
    ),
    Check(
        "2.4a",
        "deferral below a floor: deferred share of revenue, below less between",
        "Healy 1985",
        (0.002, INF),
        DIRECTION + "U-shaped: the low end defers 0.2% of its revenue more than the middle",
        "no floor (4% on all revenue, the same cap)",
        deferral_below_floor,
    ),
    Check(
        "2.4b",
        "deferral highest at the cap: deferred share at the cap less the next zone's",
        "Healy 1985",
        (0.002, INF),
        DIRECTION + "highest at the cap: 0.2% of revenue above the next zone or more",
        "no cap",
        deferral_at_cap,
    ),
    Check(
        "2.5",
        "channel stuffing under tiers (stuffed share of revenue)",
        "SEC v. Bristol-Myers Squibb; Das, Shroff & Zhang 2011",
        (0.01, 0.10),
        DIRECTION
        + "1-10% of revenue loaded at period ends (at most 2 weeks of 13): a spike a designer "
        "sees; present bias alone loads a few tenths of a percent under any rebate",
        "a flat rate",
        stuffing,
    ),
    Check(
        "2.6",
        "a quota ratchet makes partners hold back (deferred share of revenue)",
        "Leone & Rock 2002; Bouwens & Kroos 2011",
        (0.002, 0.10),
        DIRECTION + "0.2-10% of revenue held back",
        "a fixed quota",
        ratchet,
    ),
    Check(
        "2.7",
        "tunnel vision: satisfaction points lost under an 8% volume rebate",
        "Holmstrom & Milgrom 1991; domain notes 2.7",
        (-1.0, -0.05),
        DIRECTION + "at least 0.05 points of 5",
        "a rebate at the normal rate (3%: no push beyond normal effort)",
        tunnel_vision,
        percent=False,
    ),
    Check(
        "2.8a",
        "linear rebate vs flat fee: output per partner",
        "Lazear 2000 (+44%)",
        (0.20, 0.70),
        "44% with a band for a rebate, not a wage",
        "partners that do not respond (effort, joining, loyalty: sensitivities 0)",
        lazear_output,
    ),
    Check(
        "2.8b",
        "share of that gain from selection (who joins and stays)",
        "Lazear 2000 (about half)",
        (0.30, 0.70),
        "about half: 30-70%",
        "recruits that do not weigh the program",
        lazear_selection,
    ),
    Check(
        "2.9",
        "goal gradient: effort uplift in a streak's 4th quarter - its 2nd",
        "Kivetz, Urminsky & Zheng 2006",
        (0.005, 0.10),
        DIRECTION + "at least half a point of effort",
        "a reward for every quarter (no streak)",
        goal_gradient,
    ),
    Check(
        "2.10a",
        "paying 13 weeks after the close instead of 4: retention over 2 years",
        "Kumar, Scheer & Steenkamp 1995 (no firm figure)",
        (-0.05, -0.005),
        "uncertain: 0.5-5 points fewer partners kept",
        "no delay cost, no present bias",
        payout_delay_retention,
    ),
    Check(
        "2.10b",
        "a richer competitor program raises churn (relative rise)",
        "Kumar, Scheer & Steenkamp 1995; domain notes 2.10",
        (0.20, 3.0),
        DIRECTION + "at least a fifth more partners leave",
        "partners that do not compare offers",
        competitor_churn,
    ),
    Check(
        "2.11",
        "present bias: effort, paid 2 weeks after the close vs 26",
        "Kaur, Kremer & Mullainathan 2015",
        (0.02, 0.30),
        DIRECTION + "at least 2% more effort",
        "no present bias (myopia 0)",
        present_bias,
    ),
    Check(
        "2.12a",
        "monthly vs quarterly quota: weakest quarter's revenue",
        "Chung, Narayandas & Chang 2021 (+12%, daily vs monthly)",
        (0.015, 0.15),
        "a horizon shortened 3.25x, not 30x: 1.5-15%",
        "a linear rebate",
        quota_part(0),
    ),
    Check(
        "2.12b",
        "monthly vs quarterly quota: top half's revenue",
        "Chung, Narayandas & Chang 2021 (strong performers' sales fall)",
        (-0.05, -0.001),
        DIRECTION + "a fall of 0.1-5%",
        "a linear rebate",
        quota_part(1),
    ),
    Check(
        "2.12c",
        "deadline deals: revenue in small quick deals under a monthly stair-step",
        "Chung, Narayandas & Chang 2021",
        (0.002, 0.20),
        DIRECTION + "0.2-20% of revenue, a tilt a designer would see",
        "a linear plan (no deadline)",
        quick_deals,
    ),
    Check(
        "3a",
        "top 20% of partners' share of revenue",
        "domain notes 3 (trade press)",
        (0.75, 0.90),
        "",
        "capacity sigma 0.4 in every segment",
        concentration,
    ),
    Check(
        "3b",
        "rebates as a share of partner revenue",
        "domain notes 3 (vendor surveys)",
        (0.01, 0.05),
        "",
        "no rebates",
        rebate_share,
    ),
    Check(
        "3c",
        "total incentive cost as a share of channel revenue",
        "domain notes 3",
        (0.03, 0.08),
        "",
        "no rebates, accelerators, co-sell bonus or MDF",
        incentive_cost,
    ),
    Check(
        "3d",
        "partner-periods at or above the primary (entry) tier",
        "domain notes 3",
        (0.60, 0.90),
        "",
        "every tier threshold 3x",
        primary_tier_reach,
    ),
    Check(
        "3e",
        "MDF left unclaimed (expired / accrued)",
        "domain notes 3 (vendor reports)",
        (0.20, 0.60),
        "",
        "prompt reimbursement (no approval lag, 4 periods to claim)",
        mdf_unclaimed,
    ),
    Check(
        "3f",
        "weeks from close to payout (about half take 4 or more)",
        "domain notes 3",
        (4.0, 8.0),
        "the baseline should sit with the half that take 4 weeks or more",
        "payout at the close",
        payout_lag,
        percent=False,
    ),
)


def measure(check: Check, seed: int, reps: int) -> Outcome:
    began = time.process_time()
    with_cause, without = check.measure(seed, reps)
    return Outcome(check, es.effect(with_cause), es.effect(without), time.process_time() - began)


def fmt(value: float, percent: bool) -> str:
    if not np.isfinite(value):
        return "inf"
    return f"{100 * value:.2f}%" if percent else f"{value:.3g}"


def band_text(check: Check) -> str:
    low, high = check.band
    return f"[{fmt(low, check.percent)}, {fmt(high, check.percent)}]"


def print_table(outcomes: list[Outcome]) -> None:
    print(
        f"{'key':<6} {'verdict':<8} {'with cause [95% CI]':<30} {'band':<20} "
        f"{'removed [95% CI]':<30} fact"
    )
    for o in outcomes:
        c = o.check
        w, r = o.with_cause, o.without
        verdict = "PASS" if o.passed else ("FAIL" if not o.in_band else "CONTROL")
        with_text = f"{fmt(w.mean, c.percent)} [{fmt(w.low, c.percent)}, {fmt(w.high, c.percent)}]"
        without_text = (
            f"{fmt(r.mean, c.percent)} [{fmt(r.low, c.percent)}, {fmt(r.high, c.percent)}]"
        )
        print(
            f"{c.key:<6} {verdict:<8} {with_text:<30} {band_text(c):<20} "
            f"{without_text:<30} {c.fact}"
        )
    print()
    for o in outcomes:
        c = o.check
        why = f"; band: {c.why}" if c.why else ""
        print(f"{c.key:<6} source: {c.source}{why}; removed: {c.removed} ({o.seconds:.1f} s CPU)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer replications (8 a design)")
    parser.add_argument("--reps", type=int, default=None, help="replications a design")
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--only", default="", help="comma-separated check keys")
    args = parser.parse_args()
    reps = args.reps or (8 if args.quick else 24)
    keys = {k for k in args.only.split(",") if k}
    checks = [c for c in CHECKS if not keys or c.key in keys]
    print(f"stylized facts: {len(checks)} checks, {reps} replications a design, seed {args.seed}")
    began = time.process_time()
    outcomes = []
    for check in checks:
        outcomes.append(measure(check, args.seed, reps))
        print(f"  {check.key} measured ({outcomes[-1].seconds:.1f} s CPU)", flush=True)
    print_table(outcomes)
    passed = sum(o.passed for o in outcomes)
    print(
        f"\npassed {passed} of {len(outcomes)} ({100 * passed / len(outcomes):.0f}%); "
        f"{time.process_time() - began:.0f} s CPU"
    )


if __name__ == "__main__":
    main()
