"""The partner phenomena of the domain notes (section 2) emerge from the engine's rules, and
vanish without a cause: issue 3's list (bunching, period-end spike and dip, deferral when capped,
payout delay, competitor, audits) and deferral below a floor, channel stuffing, tunnel vision,
output under a linear rebate, present bias, the goal gradient at milestones and ratchets.

Each test runs two scenarios that differ only in the cause, from the same seed: the same
partners, the same market and the same audit and churn draws (common random numbers), so the
per-replication difference is a paired comparison. Each asserts a direction and a magnitude:
the cause's effect lies several standard errors from zero and beyond a floor well inside what
the scenario produces, and without the cause the phenomenon is absent or far smaller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from engine_scenarios import (
    ACCELERATOR,
    CO_SELL,
    COMPETITOR,
    CSAT_GATE,
    EIGHT_QUARTERS,
    FIXED_QUOTA,
    FLOOR,
    HEALY_CAP,
    HEALY_CAP_REVENUE,
    HEALY_FLOOR,
    NO_CLAWBACK,
    PARTNER_CAP,
    PRIOR_QUOTA,
    QUOTA_ACCELERATOR,
    STAIRS,
    STEEP_ACCELERATOR,
    THRESHOLD,
    TWO_YEARS,
    audits,
    effect,
    linear,
    milestone,
    payout_delay,
    run,
    scenario,
)

from incentsim.engine.simulation import BlockResult
from incentsim.population.sample import build_partners

#: Width of the revenue windows either side of the threshold, as a share of it.
WINDOW = 0.10


@dataclass(frozen=True)
class Design:
    """The seed of a paired comparison and how many times the default replications to run."""

    seed: int
    scale: int = 1

    def reps(self, default: int = 20) -> int:
        return default * self.scale


@pytest.fixture(
    params=[
        pytest.param(Design(2027), id="seed2027"),
        *(
            pytest.param(Design(seed, scale=3), id=f"seed{seed}x3", marks=pytest.mark.slow)
            for seed in (11, 12, 13)
        ),
    ]
)
def design(request: pytest.FixtureRequest) -> Design:
    """One fast design; under ``-m slow`` three more seeds with three times the replications."""
    return request.param


def window_counts(result: BlockResult) -> tuple[np.ndarray, np.ndarray]:
    """Per replication, partner-periods with revenue just below and just above the threshold."""
    assert result.panel is not None
    revenue = result.panel["revenue"].to_numpy()
    rep = result.panel["rep"].to_numpy()
    reps = len(result.outcomes["revenue_gross"])
    below = (revenue >= THRESHOLD * (1.0 - WINDOW)) & (revenue < THRESHOLD)
    above = (revenue >= THRESHOLD) & (revenue < THRESHOLD * (1.0 + WINDOW))
    return (
        np.bincount(rep, weights=below, minlength=reps),
        np.bincount(rep, weights=above, minlength=reps),
    )


def test_bunching_above_a_retroactive_threshold_and_none_at_an_accelerator(design: Design) -> None:
    notch = window_counts(run(seed=design.seed, reps=design.reps(), panel=True))
    accelerator = window_counts(run(ACCELERATOR, seed=design.seed, reps=design.reps(), panel=True))
    notch_ratio = notch[1] / notch[0]
    accelerator_ratio = accelerator[1] / accelerator[0]
    # A notch: more than twice as many partner-periods just above the threshold as just below.
    assert effect(notch_ratio).low > 2.0
    # The same threshold as an accelerator: no bunching there. Output is lumpier instead:
    # partners just above the kink pull deals in (their marginal rate is the higher one) and
    # those just below defer, so the zone just above is, if anything, thinned.
    assert 0.6 < effect(accelerator_ratio).low < effect(accelerator_ratio).high < 1.25
    paired = effect(notch_ratio - accelerator_ratio)
    assert paired.low > 1.0
    assert paired.z > 8
    # The zone just below is thinned (partners push past the threshold) but not emptied.
    thinned = effect(notch[0] / accelerator[0])
    assert thinned.high < 0.7
    assert notch[0].min() > 0


def period_shape(result: BlockResult, weeks_per_period: int = 13) -> tuple[np.ndarray, ...]:
    """Per replication: revenue in a period's last two weeks and in the next period's first
    three, each relative to the middle weeks (4-9) of its period, minus one."""
    weekly = result.trajectories["weekly_revenue"]
    by_period = weekly.reshape(weekly.shape[0], -1, weeks_per_period)
    middle = by_period[:, :, 4:10].mean(axis=2)
    spike = by_period[:, :, -2:].mean(axis=2) / middle - 1.0
    # The first period starts from a cold pipeline: dips are measured from the second on.
    dip = 1.0 - by_period[:, 1:, :3].mean(axis=2) / middle[:, 1:]
    return spike.mean(axis=1), dip.mean(axis=1)


def test_period_end_spike_and_start_dip_under_tiers_not_under_a_flat_rate(design: Design) -> None:
    stairs_spike, stairs_dip = period_shape(run(STAIRS, seed=design.seed, reps=design.reps(30)))
    flat_spike, flat_dip = period_shape(run(linear(0.03), seed=design.seed, reps=design.reps(30)))
    # Tiers: the last two weeks run well above the period's normal pace, the next period's
    # first weeks below it (deals pulled in and stuffed inventory came from there).
    assert effect(stairs_spike).low > 0.10
    assert effect(stairs_dip).low > 0.02
    # A flat rate: neither.
    assert abs(effect(flat_spike).mean) < 0.02
    assert abs(effect(flat_dip).mean) < 0.015
    spike = effect(stairs_spike - flat_spike)
    dip = effect(stairs_dip - flat_dip)
    assert spike.low > 0.10
    assert spike.z > 10
    assert dip.low > 0.015
    assert dip.z > 5


def deal_cycles(low: float, high: float) -> dict[str, Any]:
    """Deal cycles of ``low`` to ``high`` weeks: how much of its pipeline a partner controls."""
    cycle = {"dist": "uniform", "low": low, "high": high}
    return {"population": {"segments": {"reseller": {"deal_cycle_weeks": cycle}}}}


@pytest.mark.slow
def test_the_period_end_spike_grows_with_control_over_closing_dates() -> None:
    spikes = {}
    for name, cycles in {"short": deal_cycles(1, 3), "long": deal_cycles(8, 16)}.items():
        stairs_spike, _ = period_shape(run(STAIRS, cycles, reps=30))
        flat_spike, _ = period_shape(run(linear(0.03), cycles, reps=30))
        spikes[name] = stairs_spike - flat_spike
    # Long cycles leave more pipeline to pull in: the spike is over half as large again.
    assert effect(spikes["short"]).low > 0.10
    grows = effect(spikes["long"] - spikes["short"])
    assert grows.low > 0.5 * effect(spikes["short"]).mean
    assert grows.z > 8


def last_week_share(result: BlockResult, weeks_per_period: int = 13) -> np.ndarray:
    """Per replication, the share of all revenue booked in the last week of its period."""
    weekly = result.trajectories["weekly_revenue"]
    by_period = weekly.reshape(weekly.shape[0], -1, weeks_per_period)
    return by_period[:, :, -1].sum(axis=1) / by_period.sum(axis=(1, 2))


def discount_share(result: BlockResult) -> np.ndarray:
    """Per replication, the vendor's revenue lost to discounts on pulled deals, per unit of
    revenue."""
    return result.outcomes["discount_cost"] / result.outcomes["revenue_gross"]


#: Deal cycles of 12 to 24 months, as in Larkin's (2014) enterprise software.
LONG_CYCLES = deal_cycles(52, 104)


def test_a_steep_accelerator_with_long_cycles_costs_larkins_discounts(design: Design) -> None:
    """Larkin (2014, Journal of Labor Economics): with 12-24-month cycles and an accelerating
    quarterly plan, deals pulled to the quarter end at a discount cost the vendor about 6-8% of
    revenue, and volume piles up at the quarter end (Oyer 1998; Owan, Tsuru & Uehara 2015 find
    23% of a month's car sales on its last day under stair-steps). A linear plan costing the
    same has no reason to move deals: next to no discounts, a last week near the uniform
    1/13 (7.7%; stuffing, which present bias invites under any rebate, adds a little)."""
    reps = design.reps(10)
    steep = run(STEEP_ACCELERATOR, LONG_CYCLES, seed=design.seed, reps=reps)
    rate = round(float(steep.outcomes["cost_to_revenue"].mean()), 4)
    flat = run(linear(rate), LONG_CYCLES, seed=design.seed, reps=reps)
    # The same cost to the vendor, within a tenth.
    cost = effect(flat.outcomes["cost_to_revenue"] / steep.outcomes["cost_to_revenue"])
    assert 0.9 < cost.low < cost.high < 1.1
    discounts = effect(discount_share(steep))
    assert 0.05 < discounts.low < discounts.high < 0.09
    assert discount_share(flat).mean() < 0.005
    last_week = effect(last_week_share(steep))
    assert last_week.low > 0.22  # about three times the uniform 7.7%
    assert last_week_share(flat).mean() < 0.15
    paired = effect(last_week_share(steep) - last_week_share(flat))
    assert paired.low > 0.1
    assert paired.z > 15


def test_the_discount_cost_grows_with_control_over_closing_dates(design: Design) -> None:
    """Control over closing dates grows with the deal cycle (Oyer 1998; Larkin 2014): under
    the same accelerating plan, partners with 1-2-week cycles have few deals to pull and pull
    them a short way, so the discounts cost the vendor a small fraction of what they cost
    with 12-24-month cycles."""
    reps = design.reps(10)
    long = run(STEEP_ACCELERATOR, LONG_CYCLES, seed=design.seed, reps=reps)
    short = run(STEEP_ACCELERATOR, deal_cycles(1, 2), seed=design.seed, reps=reps)
    assert effect(discount_share(short)).high < 0.1 * effect(discount_share(long)).low
    grows = effect(last_week_share(long) - last_week_share(short))
    assert grows.low > 0.03
    assert grows.z > 8


def deferral_by_attainment(result: BlockResult) -> dict[str, np.ndarray]:
    """Per replication, the share of revenue deferred by partner-periods below the floor (half
    of it to all of it), between the floor and the cap, and at or above the cap (under
    :data:`HEALY_FLOOR` and :data:`HEALY_CAP`), by their revenue before their own timing
    games."""
    assert result.panel is not None
    panel = result.panel
    natural = panel["revenue"] + panel["deferred"] - panel["pulled_forward"]
    zones = {
        "below": (natural >= 0.5 * THRESHOLD) & (natural < THRESHOLD),
        "between": (natural >= THRESHOLD) & (natural < HEALY_CAP_REVENUE),
        "cap": natural >= HEALY_CAP_REVENUE,
    }
    reps = len(result.outcomes["revenue_gross"])
    rep = panel["rep"].to_numpy()
    rates = {}
    for name, members in zones.items():
        inside = members.to_numpy()
        deferred = np.bincount(rep, weights=panel["deferred"] * inside, minlength=reps)
        revenue = np.bincount(rep, weights=natural * inside, minlength=reps)
        rates[name] = deferred / revenue
    return rates


def test_deferral_is_u_shaped_in_attainment_and_highest_at_the_cap(design: Design) -> None:
    """Healy (1985, Journal of Accounting and Economics): under a bonus paid above a floor and
    capped, managers at the cap and those below the floor defer income to the next period,
    those between accelerate it; deferral is highest at the cap. Here nobody scripts it:
    revenue past the cap, or short of the floor, pays nothing this quarter, and moved into the
    next it pays by the chance of ending there between the two. Without the cap, partners at
    its level have no reason to defer; without the floor (4% on everything, capped at the same
    revenue), those below it have next to none."""
    reps = design.reps()
    healy = deferral_by_attainment(
        run(HEALY_FLOOR, HEALY_CAP, seed=design.seed, reps=reps, panel=True)
    )
    no_cap = deferral_by_attainment(run(HEALY_FLOOR, seed=design.seed, reps=reps, panel=True))
    # 4% on all revenue, capped at the same 75,000 of revenue.
    no_floor = deferral_by_attainment(
        run(linear(0.04), PARTNER_CAP, seed=design.seed, reps=reps, panel=True)
    )
    # A U: both ends defer several times more than the middle, the cap most.
    cap = effect(healy["cap"] - healy["between"])
    below = effect(healy["below"] - healy["between"])
    assert cap.low > 0.005
    assert cap.z > 8
    assert below.low > 0.001
    assert below.z > 4
    assert effect(healy["cap"] - 3.0 * healy["between"]).low > 0
    assert effect(healy["below"] - 1.5 * healy["between"]).low > 0
    assert effect(healy["cap"] - healy["below"]).low > 0.002
    # Each end comes from its cause.
    assert effect(healy["cap"] - no_cap["cap"]).low > 0.8 * cap.mean
    assert effect(healy["below"] - no_floor["below"]).low > 0.5 * below.mean


def density_ratio(result: BlockResult, centre: float, half: float, side: float) -> np.ndarray:
    """Per replication, partner-periods with revenue within ``half`` (a share of ``centre``)
    of ``centre`` over the mean count of the two neighbouring windows of the same width
    ``side`` away (a pile-up at ``centre`` reads above 1)."""
    assert result.panel is not None
    panel = result.panel[result.panel["active"]]
    revenue, rep = panel["revenue"].to_numpy() / centre, panel["rep"].to_numpy()
    reps = len(result.outcomes["revenue_gross"])

    def count(low: float, high: float) -> np.ndarray:
        inside = (revenue >= low) & (revenue < high)
        return np.bincount(rep, weights=inside, minlength=reps)

    middle = count(1.0 - half, 1.0 + half)
    sides = 0.5 * (
        count(1.0 - side - half, 1.0 - side + half) + count(1.0 + side - half, 1.0 + side + half)
    )
    return middle / np.maximum(sides, 1.0)


#: Revenue at which :data:`PARTNER_CAP` binds at 4%.
PARTNER_CAP_REVENUE = 75_000.0


def cap_density_ratio(result: BlockResult) -> np.ndarray:
    """:func:`density_ratio` at :data:`PARTNER_CAP_REVENUE`: within 5% of it against the
    windows 15% either side."""
    return density_ratio(result, PARTNER_CAP_REVENUE, 0.05, 0.15)


def test_results_pile_up_at_a_cap(design: Design) -> None:
    """Burgstahler & Dichev (1997) find results piling up where a reward stops rising; Healy
    (1985) finds managers at a bonus plan's upper bound deferring income (domain notes 2.2,
    2.4). Here a partner sees a week's closings before booking them and holds what would take
    the period past the cap (it earns nothing this period) for the next: at 4% capped at
    3,000, partner-periods within 5% of the cap's 75,000 are about twice as dense as those
    15% either side. Without the cap the density there is that of its neighbours."""
    reps = design.reps()
    capped = cap_density_ratio(
        run(linear(0.04), PARTNER_CAP, seed=design.seed, reps=reps, panel=True)
    )
    free = cap_density_ratio(run(linear(0.04), seed=design.seed, reps=reps, panel=True))
    assert effect(capped).low > 1.5
    assert 0.8 < effect(free).low < effect(free).high < 1.2
    assert effect(capped - free).z > 8


def test_capped_partners_defer_deals(design: Design) -> None:
    capped = run(linear(0.04), PARTNER_CAP, seed=design.seed, reps=design.reps(), panel=True)
    uncapped = run(linear(0.04), seed=design.seed, reps=design.reps())
    deferred = effect(capped.outcomes["deferred"] - uncapped.outcomes["deferred"])
    assert deferred.low > 100_000
    assert deferred.z > 8
    # Without a cap a flat rate gives (next to) no reason to move deals across the period end.
    assert uncapped.outcomes["deferred"].mean() < 0.001 * deferred.mean
    # The deferral comes from the partner-periods the cap bound: per unit of revenue, dozens of
    # times more than from those it did not.
    assert capped.panel is not None
    at_cap = capped.panel["capped"] > 0
    rate = capped.panel.groupby(at_cap)[["deferred", "revenue"]].sum()
    rate_at_cap = rate.loc[True, "deferred"] / rate.loc[True, "revenue"]
    rate_below_cap = rate.loc[False, "deferred"] / rate.loc[False, "revenue"]
    assert rate_at_cap > 0.002
    assert rate_at_cap > 20 * rate_below_cap


def test_longer_payout_delays_lower_loyalty_and_retention(design: Design) -> None:
    slow = run(TWO_YEARS, payout_delay(13), seed=design.seed, reps=design.reps()).outcomes
    prompt = run(TWO_YEARS, payout_delay(4), seed=design.seed, reps=design.reps()).outcomes
    loyalty = effect(slow["loyalty_mean"] - prompt["loyalty_mean"])
    retention = effect(slow["retention"] - prompt["retention"])
    assert loyalty.high < -0.05
    assert loyalty.z < -20
    # Over two years one to three more partners in a hundred leave.
    assert retention.high < -0.01
    assert retention.z < -5


def test_a_competitor_program_raises_churn(design: Design) -> None:
    shocked = run(COMPETITOR, seed=design.seed, reps=design.reps()).outcomes
    calm = run(seed=design.seed, reps=design.reps()).outcomes
    churned = effect(shocked["churned"] - calm["churned"])
    assert churned.z > 8
    # Churn over the year rises by more than a third.
    assert churned.low > 0.35 * calm["churned"].mean()
    assert effect(shocked["loyalty_mean"] - calm["loyalty_mean"]).high < -0.1


def test_audits_lower_duplicate_claims(design: Design) -> None:
    audited = run(CO_SELL, audits(0.3), seed=design.seed, reps=design.reps()).outcomes
    unaudited = run(CO_SELL, seed=design.seed, reps=design.reps()).outcomes
    assert unaudited["duplicates_submitted"].min() > 100
    ratio = effect(audited["duplicates_submitted"] / unaudited["duplicates_submitted"])
    # Auditing 30% of partners (80% detection) cuts duplicate registrations by more than 70%.
    assert ratio.high < 0.3
    assert effect(audited["duplicates_missed"] - unaudited["duplicates_missed"]).z < -8
    # Without a per-deal bonus there is nothing to claim twice.
    assert run(seed=design.seed).outcomes["duplicates_submitted"].max() == 0.0


def test_effort_rises_as_a_milestone_streak_nears_completion(design: Design) -> None:
    reps = design.reps()
    plain = run(EIGHT_QUARTERS, seed=design.seed, reps=reps).trajectories["effort_mean"]
    streak = run(EIGHT_QUARTERS, milestone(4, 3_000), seed=design.seed, reps=reps)
    every = run(EIGHT_QUARTERS, milestone(1, 750), seed=design.seed, reps=reps)
    uplift = streak.trajectories["effort_mean"] - plain  # (replications, quarters)
    # Four quarters at the top tier earn the reward: the pull grows as the streak nears it
    # (quarter 4 against quarter 2), falls back once it is earned and the streak restarts
    # (quarter 5), but not to nothing.
    gradient = effect(uplift[:, 3] - uplift[:, 1])
    assert gradient.low > 0.005
    assert gradient.z > 6
    reset = effect(uplift[:, 3] - uplift[:, 4])
    assert reset.low > 0.005
    assert effect(uplift[:, 4]).low > 0.0
    # A reward for every quarter at the tier (no streak) costs about as much but has no gradient.
    assert (
        every.outcomes["cost_milestones"].mean() > 0.8 * streak.outcomes["cost_milestones"].mean()
    )
    flat = every.trajectories["effort_mean"] - plain
    assert abs(effect(flat[:, 3] - flat[:, 1]).mean) < 0.3 * gradient.mean


def test_a_quota_ratchet_makes_partners_hold_back_at_the_period_end(design: Design) -> None:
    """Leone & Rock (2002) and Bouwens & Kroos (2011, domain notes 2.6): when next period's
    target is set from this period's results, revenue booked now raises it, so partners hold
    deals back at the period end, and those who hold back are far likelier to beat the next
    target (Bouwens & Kroos's second finding). Partners price next quarter at the quota this
    quarter's revenue will set: 0.2-10% of revenue held back (the sources give a direction
    only; about 0.4% here), and next to nothing under a fixed quota.

    Under this ratchet (next quota: this quarter's revenue plus 10%, no memory) and an
    accelerator paying double above quota with no cap, those who hold back are the partners
    after a weak quarter, whose next quota will be easy; a strong quarter's partner is paid
    double now and expects next quarter's quota out of reach, so it books, and pulls deals
    in. Bouwens & Kroos's strong performers holding back need a plan that pays them little
    more now and a target that stays within their reach (Leone & Rock's asymmetric ratchet):
    not this design."""
    six = {"calendar": {"horizon_periods": 6}}
    ratchet = run(
        six, QUOTA_ACCELERATOR, PRIOR_QUOTA, seed=design.seed, reps=design.reps(), panel=True
    )
    fixed = run(six, QUOTA_ACCELERATOR, FIXED_QUOTA, seed=design.seed, reps=design.reps())
    # Revenue booked now raises next quarter's quota: partners push deals past the period end.
    deferred = effect(ratchet.outcomes["deferred"] - fixed.outcomes["deferred"])
    assert deferred.low > 300_000
    assert deferred.z > 8
    assert fixed.outcomes["deferred"].mean() < 0.01 * deferred.mean
    held_share = effect(ratchet.outcomes["deferred"] / ratchet.outcomes["revenue_gross"])
    assert 0.002 < held_share.low < held_share.high < 0.10
    # Who held back (over 2% of its quarter's revenue) beat next quarter's quota about 95% of
    # the time, against about 30% for the rest.
    assert ratchet.panel is not None
    panel = ratchet.panel.sort_values(["rep", "partner_id", "period"])
    following = panel.groupby(["rep", "partner_id"])["revenue"].shift(-1)
    beat = following >= np.maximum(1.1 * panel["revenue"], 20_000.0)
    natural = panel["revenue"] + panel["deferred"] - panel["pulled_forward"]
    known = panel["active"] & following.notna()
    held = known & (panel["deferred"] > 0.02 * natural)

    def beat_rate(rows: pd.Series) -> np.ndarray:
        return (
            (beat & rows).groupby(panel["rep"]).sum() / rows.groupby(panel["rep"]).sum()
        ).to_numpy()

    held_rate, kept_rate = beat_rate(held), beat_rate(known & ~held)
    assert effect(held_rate).low > 0.85
    assert effect(held_rate - 2.0 * kept_rate).low > 0.0


def test_partners_hopelessly_below_a_floor_defer_deals(design: Design) -> None:
    floor = run(FLOOR, seed=design.seed, reps=design.reps(), panel=True)
    flat = run(linear(0.04), seed=design.seed, reps=design.reps())
    deferred = effect(floor.outcomes["deferred"] - flat.outcomes["deferred"])
    assert deferred.low > 300_000
    assert deferred.z > 10
    assert flat.outcomes["deferred"].mean() < 0.001 * deferred.mean
    # Per unit of revenue, partner-periods that end out of the floor's reach (half to nine
    # tenths of it, before their own deferral) defer several times more than those well above.
    assert floor.panel is not None
    panel = floor.panel
    natural = (panel["revenue"] + panel["deferred"] - panel["pulled_forward"]) / THRESHOLD
    zone = np.select([(natural >= 0.5) & (natural < 0.9), natural >= 1.5], ["below", "above"], "")
    rates = panel.groupby(zone)[["deferred", "revenue"]].sum()
    per_revenue = rates["deferred"] / rates["revenue"]
    assert per_revenue["below"] > 0.02
    assert per_revenue["below"] > 3 * per_revenue["above"]


def test_tiers_invite_channel_stuffing_that_comes_back_as_returns(design: Design) -> None:
    reps = design.reps()
    loose = run(STAIRS, NO_CLAWBACK, seed=design.seed, reps=reps).outcomes
    guarded = run(STAIRS, seed=design.seed, reps=reps).outcomes
    flat = run(linear(0.03), NO_CLAWBACK, seed=design.seed, reps=reps).outcomes
    stuffed = effect(loose["stuffed"] - flat["stuffed"])
    assert stuffed.z > 10
    assert flat["stuffed"].mean() < 0.05 * loose["stuffed"].mean()
    # What is stuffed comes back: returns follow the stuffed volume.
    assert effect(loose["returns"] - flat["returns"]).low > 0.3 * stuffed.mean
    # Clawing back what returned removes much of the reason to stuff.
    assert effect(guarded["stuffed"] / loose["stuffed"]).high < 0.6


def test_chasing_the_rebate_wears_customer_satisfaction_unless_it_is_gated(design: Design) -> None:
    reps = design.reps()
    steep = run(linear(0.08), seed=design.seed, reps=reps).outcomes["csat_mean"]
    none = run(linear(0.0), seed=design.seed, reps=reps).outcomes["csat_mean"]
    gated = run(linear(0.08), CSAT_GATE, seed=design.seed, reps=reps).outcomes["csat_mean"]
    worn = effect(steep - none)
    assert worn.high < -0.08
    assert worn.z < -10
    # A satisfaction gate on the rebate recovers most of it.
    assert effect(gated - steep).low > 0.5 * -worn.mean


def test_a_linear_rebate_raises_output_and_a_prompt_one_more(design: Design) -> None:
    reps = design.reps()
    none = run(linear(0.0), seed=design.seed, reps=reps).outcomes["revenue_gross"]
    rebate = run(linear(0.03), seed=design.seed, reps=reps).outcomes["revenue_gross"]
    # A 3% rebate on every sale instead of nothing: output a sixth higher or more.
    assert effect(rebate / none - 1.0).low > 0.15
    # Present bias: the same 4% paid 2 weeks after the quarter rather than 26 raises effort.
    prompt = run(linear(0.04), payout_delay(2), seed=design.seed, reps=reps)
    late = run(linear(0.04), payout_delay(26), seed=design.seed, reps=reps)
    effort = prompt.trajectories["effort_mean"] - late.trajectories["effort_mean"]
    assert effect(effort.mean(axis=1)).low > 0.02
    revenue = prompt.outcomes["revenue_gross"] / late.outcomes["revenue_gross"] - 1.0
    assert effect(revenue).low > 0.05


def benefits_tier(benefits: dict[str, Any]) -> dict[str, Any]:
    """Two tiers paying the same rate: the upper one only unlocks ``benefits``."""
    return {
        "program": {
            "tiers": {
                "base": {"rebate_rate": 0.02},
                "elite": {
                    "requirements": {"revenue": THRESHOLD},
                    "rebate_rate": 0.02,
                    "benefits": benefits,
                },
            }
        }
    }


def test_a_tier_that_only_unlocks_valuable_benefits_is_worth_reaching(design: Design) -> None:
    """Status is a goal when it is worth something: a tier paying nothing more but unlocking
    sales training (win-rate points) and early access (deal size) produces bunching just above
    its threshold, as a money notch does; the same tier with benefits of no use to sales does
    not (Kivetz, Urminsky & Zheng 2006 on goals; domain notes section 1 on benefits)."""
    valuable = {"training": {"win_rate_uplift": 0.05, "deal_size_uplift": 0.05}}
    worthless = {"party": {"loyalty_uplift": 0.0}}
    with_value = window_counts(
        run(benefits_tier(valuable), seed=design.seed, reps=design.reps(), panel=True)
    )
    without = window_counts(
        run(benefits_tier(worthless), seed=design.seed, reps=design.reps(), panel=True)
    )
    assert effect(with_value[1] / with_value[0]).low > 1.8
    assert 0.8 < effect(without[1] / without[0]).low < effect(without[1] / without[0]).high < 1.25


#: Months of four weeks over a year: 20 business days a month.
MONTHS: dict[str, Any] = {
    "calendar": {"weeks_per_period": 4, "periods_per_year": 13, "horizon_periods": 12}
}


def monthly_stairs(rates: tuple[float, ...]) -> dict[str, Any]:
    """:data:`STAIRS`' thresholds scaled to a four-week month, paying ``rates``."""
    thresholds = (0.0, 25_000.0, 40_000.0, 65_000.0, 100_000.0)
    tiers: dict[str, Any] = {}
    for k, (threshold, rate) in enumerate(zip(thresholds, rates, strict=True)):
        tiers[f"t{k + 1}"] = {"rebate_rate": rate}
        if threshold:
            tiers[f"t{k + 1}"]["requirements"] = {"revenue": threshold * 4 / 13}
    return {"program": {"tiers": tiers}}


def test_a_stair_step_month_books_its_volume_on_the_last_day(design: Design) -> None:
    """Owan, Tsuru & Uehara (2015): under stair-step bonuses, 23% of a month's car sales are
    booked on its last day. Deals pulled into the month in its last two weeks, and stock
    loaded at its end, close as late as the month allows: with a steep monthly stair-step and
    4-16-week cycles about 23% of the volume lands on the last of the month's 20 business days
    (measured 22.6% [22.1, 23.1]; uniform: 5%). A linear plan moves no deals: its last day is
    a uniform one. With moved deals spread over the last week's days (the cause of the
    concentration removed), most of the effect goes."""
    reps = design.reps(10)
    cycles = deal_cycles(4, 16)
    stairs = monthly_stairs((0.0, 0.03, 0.06, 0.09, 0.12))
    steep = run(MONTHS, cycles, stairs, seed=design.seed, reps=reps).outcomes
    flat = run(MONTHS, cycles, linear(0.03), seed=design.seed, reps=reps).outcomes
    undated = {"behaviour": {"moved_deals_last_day_share": 0.2}}
    spread = run(MONTHS, cycles, stairs, undated, seed=design.seed, reps=reps).outcomes
    last_day = effect(steep["last_day_share"])
    assert 0.19 < last_day.low < last_day.high < 0.27  # Owan et al.'s 23%
    assert 0.04 < effect(flat["last_day_share"]).low < effect(flat["last_day_share"]).high < 0.06
    paired = effect(steep["last_day_share"] - flat["last_day_share"])
    assert paired.low > 0.14
    assert paired.z > 15
    # The same moves spread over the last week's days: the last day keeps little of it.
    assert effect(steep["last_day_share"] - spread["last_day_share"]).low > 0.5 * paired.mean
    # The last week holds over two fifths of the month's volume (uniform: a quarter).
    assert effect(steep["last_week_share"] - flat["last_week_share"]).low > 0.15


#: Partners with no present bias: a reward paid later is worth as much as one paid now.
NO_MYOPIA: dict[str, Any] = {
    "population": {"segments": {"reseller": {"myopia": {"dist": "fixed", "value": 0.0}}}}
}


def test_a_streak_that_restarts_is_valued_as_the_progress_it_loses(design: Design) -> None:
    """A loyalty streak that restarts if a quarter is missed is a goal whose progress can be
    lost: partners weigh the lost progress as a loss (Tversky & Kahneman 1992: losses weigh
    about 2.25 times gains; Kivetz, Urminsky & Zheng 2006: effort speeds up as a reward
    nears). With no present bias at all, four quarters at the top tier for 3,000 raise effort
    by about 3.5 points over two years, 2.5 more in the streak's last quarter than in its
    second, nothing in its first (nothing to lose yet). Valued only as the same reward paid
    later (no loss aversion), the milestone moves effort by less than 0.2 points."""
    reps = design.reps()
    plain = run(EIGHT_QUARTERS, NO_MYOPIA, seed=design.seed, reps=reps)
    streak = run(EIGHT_QUARTERS, NO_MYOPIA, milestone(4, 3_000), seed=design.seed, reps=reps)
    indifferent = {"behaviour": {"streak_loss_aversion": 0.0}}
    plain_0 = run(EIGHT_QUARTERS, NO_MYOPIA, indifferent, seed=design.seed, reps=reps)
    streak_0 = run(
        EIGHT_QUARTERS, NO_MYOPIA, indifferent, milestone(4, 3_000), seed=design.seed, reps=reps
    )
    uplift = 100 * (streak.trajectories["effort_mean"] - plain.trajectories["effort_mean"])
    without = 100 * (streak_0.trajectories["effort_mean"] - plain_0.trajectories["effort_mean"])
    mean = effect(uplift.mean(axis=1))
    assert 2.5 < mean.low < mean.high < 5.0
    assert mean.z > 15
    assert abs(effect(uplift[:, 0]).mean) < 0.1  # no progress yet in the first quarter
    gradient = effect(uplift[:, 3] - uplift[:, 1])
    assert gradient.low > 1.0
    assert gradient.z > 8
    assert abs(effect(without.mean(axis=1)).mean) < 0.2
    assert effect(uplift.mean(axis=1) - without.mean(axis=1)).z > 15


#: A year of quarters, and the same year in four-week months.
QUARTERS_1Y: dict[str, Any] = {
    "calendar": {"weeks_per_period": 13, "periods_per_year": 4, "horizon_periods": 4}
}
MONTHS_1Y: dict[str, Any] = {
    "calendar": {"weeks_per_period": 4, "periods_per_year": 13, "horizon_periods": 13}
}


def quota_bonus(weeks: int) -> dict[str, Any]:
    """1% on everything, 4% on the whole period once it reaches 50,000 a quarter (pro rata
    for a period of ``weeks`` weeks): a quota bonus."""
    threshold = 50_000.0 * weeks / 13
    top = {"requirements": {"revenue": threshold}, "rebate_rate": 0.04}
    return {"program": {"tiers": {"base": {"rebate_rate": 0.01}, "top": top}}}


def revenue_by_performance(result: BlockResult, capacity: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per replication, the year's revenue of the bottom quarter of partners and of the top
    half, ranked by their selling ``capacity`` (``(replications, partners)``, the same partners
    in every run of a seed; ranking by revenue instead would mistake luck for weakness)."""
    assert result.panel is not None
    reps, n = capacity.shape
    rank = capacity.argsort(axis=1).argsort(axis=1) / n
    totals = result.panel.groupby(["rep", "partner_id"])["revenue"].sum()
    slot = {pid: k for k, pid in enumerate(partner_ids(result))}
    revenue = np.zeros((reps, n))
    rep = totals.index.get_level_values("rep").to_numpy()
    column = np.array([slot[pid] for pid in totals.index.get_level_values("partner_id")])
    revenue[rep, column] = totals.to_numpy()
    bottom = (revenue * (rank < 0.25)).sum(axis=1)
    top = (revenue * (rank >= 0.5)).sum(axis=1)
    return bottom, top


def partner_ids(result: BlockResult) -> list[Any]:
    """The partner ids of a run's panel, in slot order."""
    assert result.panel is not None
    return list(dict.fromkeys(result.panel["partner_id"]))


def selling_capacity(seed: int, reps: int) -> np.ndarray:
    """Each partner's selling capacity in the runs of ``seed`` (the population's own stream, as
    :func:`~incentsim.engine.simulation.simulate_block` draws it)."""
    population_seed, _, _ = np.random.SeedSequence(seed).spawn(3)
    drawn = scenario(QUARTERS_1Y)
    partners = build_partners(
        drawn.population, drawn.calendar, np.random.default_rng(population_seed), reps
    )
    return np.asarray(partners.capacity)


def test_a_short_quota_horizon_helps_weak_partners_and_not_strong_ones(design: Design) -> None:
    """Chung, Narayandas & Chang (2021, Management Science): a shorter quota horizon keeps weak
    performers from giving up (a daily quota against a monthly one lifted the bottom
    quartile's sales by about 12%) but not strong ones, whose sales fall. The same quota bonus
    a month at a time instead of a quarter (a horizon shortened 3.25 times, not 30): the
    quarter of partners with the least selling capacity sells about 4% more over the year (a
    fresh target, and a month's total is relatively more uncertain than a quarter's, so it
    stays within reach), the top half a little less: a month's target, less certain, is
    missed more often (in 20% of the strong partners' months against 6% of their quarters)
    and draws less of the late push a quarter's target within reach does. Without a quota (a
    linear rebate) the horizon changes next to nothing. (Measured 5.4% [4.2, 6.7] on the
    period-end behaviour alone; 3.9% (se 0.7%) once satisfaction wears with the extra effort
    and feeds later demand; the top half -0.87% (se 0.21%), -0.66% to -0.75% on seeds
    11-13.)"""
    reps = design.reps()
    capacity = selling_capacity(design.seed, reps)
    linear_q = run(QUARTERS_1Y, linear(0.025), seed=design.seed, reps=reps, panel=True)
    linear_m = run(MONTHS_1Y, linear(0.025), seed=design.seed, reps=reps, panel=True)
    quarterly = run(QUARTERS_1Y, quota_bonus(13), seed=design.seed, reps=reps, panel=True)
    monthly = run(MONTHS_1Y, quota_bonus(4), seed=design.seed, reps=reps, panel=True)
    weak_q, strong_q = revenue_by_performance(quarterly, capacity)
    weak_m, strong_m = revenue_by_performance(monthly, capacity)
    weak = effect(weak_m / weak_q - 1.0)
    assert 0.015 < weak.low < weak.high < 0.15
    assert weak.z > 5
    strong = effect(strong_m / strong_q - 1.0)
    assert -0.03 < strong.low < strong.high < 0.0
    assert strong.z < -3
    assert effect(weak_m / weak_q - strong_m / strong_q).low > 0.025
    # Without a quota the horizon is no cause.
    weak_lin_q, _ = revenue_by_performance(linear_q, capacity)
    weak_lin_m, _ = revenue_by_performance(linear_m, capacity)
    assert abs(effect(weak_lin_m / weak_lin_q - 1.0).mean) < 0.02


def test_partners_chase_a_deadline_with_small_quick_deals(design: Design) -> None:
    """Chung, Narayandas & Chang (2021): with a target within reach near its deadline, partners
    tilt to low-ticket items that close at once. Under a steep monthly stair-step, some
    selling in the months' last weeks goes into deals a fraction of the normal size: the last
    week's average deal is smaller than the month's earlier weeks'. A linear plan gives no
    reason to, and without quick deals (``quick_deal_share`` 0) the last week's deals are
    no smaller."""
    reps = design.reps()
    stairs = monthly_stairs((0.0, 0.03, 0.06, 0.09, 0.12))
    steep = run(MONTHS_1Y, stairs, seed=design.seed, reps=reps)
    flat = run(MONTHS_1Y, linear(0.03), seed=design.seed, reps=reps)
    none = {"behaviour": {"quick_deal_share": 0.0}}
    without = run(MONTHS_1Y, stairs, none, seed=design.seed, reps=reps)

    def last_week_deal_size(result: BlockResult) -> np.ndarray:
        revenue = result.trajectories["weekly_revenue"].reshape(reps, -1, 4)[:, 1:]
        deals = result.trajectories["weekly_deals"].reshape(reps, -1, 4)[:, 1:]
        last = revenue[:, :, -1].sum(axis=1) / deals[:, :, -1].sum(axis=1)
        early = revenue[:, :, :2].sum(axis=(1, 2)) / deals[:, :, :2].sum(axis=(1, 2))
        return last / early - 1.0

    quick = steep.outcomes["quick_deals"] / steep.outcomes["revenue_gross"]
    assert effect(quick).low > 0.002
    assert flat.outcomes["quick_deals"].max() == 0.0
    smaller = effect(last_week_deal_size(steep) - last_week_deal_size(flat))
    assert smaller.high < -0.01
    assert smaller.z < -4
    assert effect(last_week_deal_size(steep) - last_week_deal_size(without)).high < -0.01
