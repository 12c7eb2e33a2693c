"""Constants of the partner decision model that are not drawn per partner.

Each has a default and a plausible range in its description; none is firmly established by
the literature (see ``shared/domain.md`` section 2), so sensitivity analysis should vary them.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from incentsim.strict import Strict


class Behaviour(Strict):
    """How partners decide effort, timing, gaming and loyalty.

    Attributes
    ----------
    partner_margin
        The partner's own gross margin on reselling the vendor (range 0.05-0.30): what selling
        is worth to it before any incentive.
    reference_rate
        Incentive rate at which a partner gives its normal effort (effort 1).
    effort_elasticity
        How strongly effort follows the reward per unit of revenue, scaled by each partner's
        ``responsiveness`` (range 0.5-3).
    effort_min, effort_max
        Bounds on weekly effort relative to normal.
    effort_adjustment
        Share of the gap to the target effort closed each week.
    forecast_noise
        A partner's uncertainty about the rest of its period revenue, as a coefficient of
        variation over a quarter (13 weeks; range 0.1-0.5), which smooths the value of reaching
        a threshold. Weeks are equally uncertain whatever the period length, so a shorter
        period's revenue is relatively more uncertain (a monthly period's by ``sqrt(13/4)``):
        a weak partner keeps a chance of reaching a short horizon's target that a long one
        would put out of reach (Chung, Narayandas & Chang 2021 find a daily quota lifts the
        bottom quartile's sales by about 12% against a monthly one; here a monthly quota
        lifts the bottom quartile's by about 10% against a quarterly one,
        ``tests/engine/test_engine_phenomena.py``).
    quick_deal_share
        Share of a week's selling a partner can put into small quick deals that close within
        the week (range 0-0.6; default 0.3). It does so near a period end when a threshold is
        within reach (the revenue is worth more this period), so deal size falls and deal
        count rises in the last weeks: short quota horizons tilt selling to low-ticket items
        (Chung, Narayandas & Chang 2021, who report the tilt but no share).
    quick_deal_size
        A quick deal's size relative to the partner's normal deal (range 0.2-0.7; default
        0.4): low-ticket items.
    quick_deal_yield
        Revenue a unit of effort brings on quick deals, relative to normal deals (range
        0.6-1.0; default 0.8): the product-mix cost of chasing a deadline with small deals
        (Chung, Narayandas & Chang 2021: high-ticket sales and volume fall under short
        horizons). No study gives the figure.
    present_bias_weeks
        Weeks of payout delay that halve the weight a fully myopic partner puts on a payout
        (range 4-26; Kaur, Kremer & Mullainathan 2015 find shorter lags raise effort).
    streak_loss_aversion
        How much a partner weighs the progress a missed period undoes on a loyalty milestone
        streak that restarts (or steps back), per unit of the reward that progress stands for
        (range 1-3; default 2.25, Tversky & Kahneman's 1992 loss-aversion coefficient; 0 values
        a streak only by its reward, paid later). Three quarters into a four-quarter streak
        for 3,000, missing the tier is felt as losing ``2.25 * 3/4 * 3,000``. Loss aversion
        over accumulated goal progress is documented (Kivetz, Urminsky & Zheng 2006; Tversky &
        Kahneman 1992), its size over a streak is not: an uncertain constant.
    timing_weeks
        Final weeks of a period in which partners can move deals across the period end.
    pull_forward_reach
        How far ahead, as a share of its deal cycle, a partner can pull a deal's closing date
        (range 0.25-1; default 0.5): deals due within that reach after the period end can be
        closed on the period's last days, so control over closing dates grows with the cycle
        (Oyer 1998; Larkin 2014, where 12-24-month cycles let salespeople move deals by a
        quarter or more). No study gives the share itself.
    pull_forward_discount_per_week
        Price discount per week a deal is pulled forward, as a share of its price (range
        0.005-0.02; default 0.01): a deal due 8 weeks later closes now at 8% off, all of it off
        the vendor's revenue. Not measured directly: with ``pull_forward_discount_max``,
        ``pull_forward_reach`` and ``discount_share_partner`` it is set so that a strongly
        accelerating quarterly plan with 12-24-month cycles costs the vendor about 6-8% of its
        revenue in these discounts, the mispricing Larkin (2014, Journal of Labor Economics)
        finds in enterprise software, and an equal-cost linear plan next to nothing
        (``tests/engine/test_engine_phenomena.py``).
    pull_forward_discount_max
        Most discount a pulled deal gets, as a share of its price, however far it is pulled
        (range 0.2-0.4; default 0.3; set with the above).
    discount_share_partner
        Share of a pulled deal's discount that comes out of the partner's own margin (range
        0-0.5; default 0.2: end-of-period concessions are mostly funded by the vendor's special
        pricing; no study gives a figure): the partner loses ``partner_margin`` times this share
        of the value given away.
    moved_deals_last_day_share
        Share of the deals a partner moves into a period (pulled forward or stuffed, in any of
        its last ``timing_weeks`` weeks) that close on the period's last business day; each
        earlier day of its last week gets that share of what is left, the first day the
        remainder (range 0.3-0.95; default 0.7). Moved deals close as late as possible, in the
        period's last week whichever week the partner moved them in: a pulled deal's discount
        grows with how far it is pulled, and waiting shows how much is still needed. Deferred
        deals open the next period the same way. Owan, Tsuru & Uehara (2015) find 23% of a
        month's car sales on its last day under stair-step bonuses; the default is set so that
        a steep monthly stair-step with 4-16-week cycles books about that, 22.6% [22.1, 23.1]
        on the last day (0.8 gives 25.3%), against 5% uniform and 5.0% under a linear plan
        (``tests/engine/test_engine_phenomena.py``). No study gives the share itself. Only
        closing days depend on it, never what is sold.
    deferral_share
        Share of a week's closings a partner can push into the next period.
    timing_friction
        Cost, per unit of moved revenue, that a partner with no gaming propensity perceives in
        moving deals (scaled by ``1 - gaming_propensity``).
    stuffing_capacity_weeks
        Extra sell-in a partner can load at a period end, in weeks of its normal sales (and
        at the end of each bonus window inside the period, where the window's bonus prices
        it: Owan, Tsuru & Uehara 2015 find dealers booking stock at every bonus month's end).
    stuffing_return_rate
        Share of stuffed inventory returned in the next period; the rest displaces next
        period's orders.
    duplicate_rate
        Duplicate deal registrations per genuine deal for a partner with full gaming
        propensity and no deterrence.
    audit_deterrence
        How strongly the expected penalty (audit rate x detection x (1 + penalty)) deters
        duplicate registrations: duplicates fall by exp(-audit_deterrence x expected penalty).
    tunnel_vision
        Points of customer satisfaction (0-5) lost per unit of a period's average effort above
        normal when support is not rewarded (no satisfaction gate or requirement; 30% of it
        where one is). Selling and post-sale support compete for a partner's time, so effort
        on the rewarded task comes out of the unrewarded one (Holmstrom & Milgrom 1991,
        multitasking): if support takes a quarter of a partner's normal time, effort 10% above
        normal cuts support by 30%, and a partner that gave up all its support would lose
        about one point. No study gives that figure: an uncertain constant, range 1-5, default
        3. Effort moves little (the partner's own margin dominates its reward), so this is what
        makes a steep volume-only accelerator wear satisfaction measurably: 0.07 points on
        average against a balanced linear plan, 0.2-0.3 in the tenth of partner-quarters it
        drives hardest (``tests/engine/test_engine_satisfaction.py``; at the old default, 0.6,
        the average was 0.015).
    satisfaction_demand_effect
        Share of a partner's demand lost, once the lag has run, per point of customer
        satisfaction below its normal level: dissatisfied end customers buy again and renew
        less, and more of them leave. The direction is firmly documented (Anderson & Sullivan
        1993; Bolton 1998; Mittal & Kamakura 2001; Gustafsson, Johnson & Roos 2005), the
        strength varies with switching costs (Jones & Sasser 1995) and no figure transfers to a
        channel program: an uncertain constant, range 0-0.3, default 0.15 (about 60% of a
        partner's demand is repeat and renewal business, a quarter more of which is lost per
        point). 0 switches the link off.
    satisfaction_lag_quarters
        Mean lag, in quarters, before a change in satisfaction reaches demand (renewals and
        repeat orders come up over the contract cycle; range 1-4, default 2): the demand kept
        closes ``1 - exp(-1 / lag)`` of its gap per quarter.
    loyalty_speed
        Share of the gap between a partner's loyalty and its target closed per quarter (loyalty
        moves at every period close; periods of another length move at the same speed per
        week).
    value_weight
        Loyalty response to the gap between what the program pays (rate on revenue, plus
        benefits) and the competitor's offer plus the partner's outside option.
    fairness_weight
        Loyalty response to being paid less (as a rate) than peers in the same segment.
    cut_sensitivity
        Share of its trust a partner loses per unit share of an expected payout that is cut or
        deferred (range 0.3-1.5).
    delay_sensitivity
        Loyalty lost per week a partner expects to wait for what it has earned beyond
        ``payout_delay_norm_weeks`` (paying less often or later lengthens the wait). No study
        gives a firm figure: an uncertain constant, range 0-0.008, default in the middle; on top
        of it, money that waits is worth less to a present-biased partner.
    payout_delay_norm_weeks
        The payout delay partners take as normal (about half of companies take four weeks or
        more: domain notes, section 3).
    lateness_sensitivity
        Trust lost per week a payout is later than announced (range 0.01-0.1).
    procedural_weight
        Loyalty lost per unit of trust lost: procedural fairness (clear rules, payouts in full
        and on time) weighs at least as much as the amount paid (Kumar, Scheer & Steenkamp
        1995); range 0.1-0.6.
    trust_recovery
        Share of lost trust a payout in full and on time restores (range 0.05-0.5).
    churn_base
        Churn probability per quarter (13 weeks) at loyalty 0.5; periods of another length get
        the same hazard per week.
    churn_slope
        How steeply churn rises as loyalty falls (hazard ``churn_base * exp(slope*(0.5-l))``).
    share_of_wallet_min
        Share of its capacity a partner with zero loyalty still gives the vendor.
    mdf_claim_rate
        Share of available MDF a partner claims per period when reimbursement is prompt.
    mdf_lag_weeks
        Approval lag (weeks) that halves MDF claiming.
    mdf_pipeline_return
        Revenue generated per unit of MDF spent, over the next period.
    recruit_sensitivity
        How strongly a candidate's decision to join follows the rate the program would pay it:
        its odds of joining are ``exp(recruit_sensitivity * (rate - reference_rate))`` times
        the odds at the normal rate (capped by the recruiting capacity). A rate 1 point above
        normal raises them by ``exp(0.01 * 25) - 1 = 28%`` at the default. Selection into
        incentive pay is documented (Lazear 2000: about half of Safelite's +44% output per
        worker came from who joined and stayed; Dohmen & Falk 2011) but no figure ties it to a
        channel program's rate: an uncertain constant, range 0-60.
    co_delivery_natural
        Mean share of the delivery on deals co-sold with the vendor that a partner does itself
        when nothing rewards it (each partner's share is drawn from a Beta distribution with
        this mean and ``co_delivery_concentration``). No study gives a figure; range 0.2-0.8.
    co_delivery_concentration
        Concentration (``a + b``) of that Beta distribution: higher, the more alike partners
        are (range 2-20).
    co_delivery_cost
        What doing all of a co-sold deal's delivery instead of none costs a partner, per unit of
        the deal's revenue (services delivery at thin margins; uncertain, range 0.02-0.20). A
        partner below a co-delivery requirement raises its share to it when the co-selling bonus
        it would keep is worth more than the extra delivery costs; otherwise it forgoes the bonus.
    award_cutoff_noise
        A partner's uncertainty about the revenue it needs to win a category award (the cut-off,
        set by its rivals' results), as a coefficient of variation of that revenue (range
        0.05-0.5; no study gives a figure). With its own forecast uncertainty it sets how far
        from the cut-off the chance of winning still responds to effort (rank-order
        tournaments: Lazear & Rosen 1981; Casas-Arce & Martinez-Jerez 2009).
    change_notice_weeks
        Weeks of notice that halve the trust a program change costs (range 4-26; default 13, a
        quarter). When a version cuts what a partner expects to earn, the partner loses
        ``cut_sensitivity`` times the share cut of its trust, times ``0.5 ** (notice /
        change_notice_weeks)`` where the notice runs from the announcement to when the cut
        reaches it (grandfathering lengthens it); loyalty falls by ``procedural_weight`` times
        the trust lost. Procedural fairness (advance notice, clear rules) weighs at least as
        much as the amount (Kumar, Scheer & Steenkamp 1995); no study gives the notice that
        halves the cost: an uncertain constant.
    """

    partner_margin: Annotated[float, Field(ge=0.0, le=1.0)] = 0.15
    reference_rate: Annotated[float, Field(gt=0.0, le=1.0)] = 0.03
    effort_elasticity: Annotated[float, Field(ge=0.0, le=10.0)] = 1.5
    effort_min: Annotated[float, Field(ge=0.0, le=1.0)] = 0.3
    effort_max: Annotated[float, Field(ge=1.0, le=5.0)] = 1.6
    effort_adjustment: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    forecast_noise: Annotated[float, Field(ge=0.0, le=2.0)] = 0.25
    quick_deal_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.3
    quick_deal_size: Annotated[float, Field(gt=0.0, le=1.0)] = 0.4
    quick_deal_yield: Annotated[float, Field(ge=0.0, le=1.0)] = 0.9
    present_bias_weeks: Annotated[float, Field(gt=0.0, le=104.0)] = 13.0
    streak_loss_aversion: Annotated[float, Field(ge=0.0, le=5.0)] = 2.25
    timing_weeks: Annotated[int, Field(ge=0, le=13)] = 2
    pull_forward_reach: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    pull_forward_discount_per_week: Annotated[float, Field(ge=0.0, le=0.1)] = 0.01
    pull_forward_discount_max: Annotated[float, Field(ge=0.0, le=0.5)] = 0.3
    discount_share_partner: Annotated[float, Field(ge=0.0, le=1.0)] = 0.2
    moved_deals_last_day_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.7
    deferral_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.8
    timing_friction: Annotated[float, Field(ge=0.0, le=1.0)] = 0.02
    stuffing_capacity_weeks: Annotated[float, Field(ge=0.0, le=13.0)] = 2.0
    stuffing_return_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.7
    duplicate_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.15
    audit_deterrence: Annotated[float, Field(ge=0.0, le=60.0)] = 9.0
    tunnel_vision: Annotated[float, Field(ge=0.0, le=5.0)] = 3.0
    satisfaction_demand_effect: Annotated[float, Field(ge=0.0, le=1.0)] = 0.15
    satisfaction_lag_quarters: Annotated[float, Field(gt=0.0, le=20.0)] = 2.0
    loyalty_speed: Annotated[float, Field(gt=0.0, le=1.0)] = 0.3
    value_weight: Annotated[float, Field(ge=0.0, le=100.0)] = 8.0
    fairness_weight: Annotated[float, Field(ge=0.0, le=100.0)] = 4.0
    cut_sensitivity: Annotated[float, Field(ge=0.0, le=5.0)] = 0.8
    delay_sensitivity: Annotated[float, Field(ge=0.0, le=0.2)] = 0.003
    payout_delay_norm_weeks: Annotated[float, Field(ge=0.0, le=52.0)] = 4.0
    lateness_sensitivity: Annotated[float, Field(ge=0.0, le=0.5)] = 0.04
    procedural_weight: Annotated[float, Field(ge=0.0, le=2.0)] = 0.3
    trust_recovery: Annotated[float, Field(ge=0.0, le=1.0)] = 0.2
    churn_base: Annotated[float, Field(ge=0.0, le=1.0)] = 0.02
    churn_slope: Annotated[float, Field(ge=0.0, le=20.0)] = 5.0
    share_of_wallet_min: Annotated[float, Field(ge=0.0, le=1.0)] = 0.15
    mdf_claim_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.7
    mdf_lag_weeks: Annotated[float, Field(gt=0.0, le=52.0)] = 6.0
    mdf_pipeline_return: Annotated[float, Field(ge=0.0, le=50.0)] = 3.0
    recruit_sensitivity: Annotated[float, Field(ge=0.0, le=200.0)] = 25.0
    co_delivery_natural: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.5
    co_delivery_concentration: Annotated[float, Field(gt=0.0, le=100.0)] = 6.0
    co_delivery_cost: Annotated[float, Field(ge=0.0, le=1.0)] = 0.08
    award_cutoff_noise: Annotated[float, Field(ge=0.0, le=2.0)] = 0.15
    change_notice_weeks: Annotated[float, Field(gt=0.0, le=104.0)] = 13.0
