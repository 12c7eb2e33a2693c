"""Partner decision rules, as pure functions over arrays shaped ``(replications, partners)``.

Every partner values money through the program's own rules (:func:`anticipated_payout`), so
effort, timing and gaming respond to whatever design is simulated; nothing here knows about
thresholds, notches or caps except through the payouts those rules produce.

* **Effort** follows the reward for one more unit of revenue: the partner's own margin plus the
  incentive it expects (smoothed over its uncertainty about the rest of the period, so a
  reachable threshold raises it and a cap removes it), discounted for payout delay by present
  bias, and split between this period and the next by how much of this week's pipeline can
  still close before the period ends.
* **Timing**: in the last weeks of a period a partner may pull deals forward or defer this
  week's closings, whichever raises what it expects to be paid, net of what the moved revenue
  would earn next period (averaged over next period's outcomes, so partners past a cap or out
  of a floor's reach defer), the discount it bears and a friction that falls with its gaming
  propensity. It controls the closing dates of deals due within a share of its deal cycle,
  and a pulled deal's discount grows with the weeks it is moved. Once it sees the week's
  closings it holds back those that would take the period past a cap (they earn nothing this
  period: :func:`past_cap_deferral`), so results pile up at caps.
* **Quick deals**: near a period end a partner with a threshold within reach may put part of
  its selling into small deals that close within the week, at a lower yield
  (:func:`quick_deal_choice`): deal size falls and deal count rises in the last weeks.
* **Stuffing**: at the period end (and at a bonus window's end inside it) a partner may load
  extra inventory that comes back as returns or displaces the next assessment's orders.
* **Milestones**: a loyalty reward for consecutive periods at a tier is worth more the nearer
  the streak is to completion (it is paid sooner, and present bias weighs it less the further it
  is), and missing a period that restarts the streak is felt as losing the progress made (loss
  aversion), so reaching the tier this period is worth more late in a streak (a goal gradient)
  and less once the reward is earned and the streak restarts.
* **Longer horizons**: what later closes pay for this period's revenue counts too (an annual
  accelerator's rate given the year so far, each pacer step's chance of being on pace, the
  annual true-up), weighted for being paid later
  (:func:`~incentsim.engine.horizon_outlook.horizon_value`).
* **Ratchets**: when next period's quota follows this period's revenue, revenue booked now
  raises the thresholds of next period's quota-based accelerators; partners count that cost, and
  price next period at the quota this period will set (:func:`ratcheted_state`), so they hold
  deals back at the period end where next period's quota will be within reach.
* **Co-delivery**: a partner does a share of the delivery on co-sold deals itself; below a
  program's co-delivery requirement it does more only when the co-selling bonus it keeps is
  worth the extra delivery, and otherwise forgoes the bonus.
* **Loyalty** moves towards a target set by what the program pays against the competitor's
  offer, fairness against peers, cut or deferred payouts and payout delay; it sets the share of
  wallet and the churn hazard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from scipy import special

from incentsim.engine.horizon_outlook import HorizonOutlook, horizon_value
from incentsim.population.behaviour import Behaviour
from incentsim.program.compiled import CompiledProgram, PartnerTerms
from incentsim.program.rules import (
    ProgramState,
    anticipated_payout,
    anticipated_payout_parts,
    next_quota,
    put_where,
    streak_after,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
#: What an assessment is expected to pay for its revenue (a period's, or a window's inside it).
Price = Callable[[FloatArray], FloatArray]

# Two-point Gauss-Hermite rule for a standard normal (exact for polynomials up to degree 3):
# enough to smooth a notch over the partner's uncertainty at a third of the cost of three points.
_NODES = np.array([-1.0, 1.0])
_WEIGHTS = np.array([0.5, 0.5])


@dataclass(frozen=True)
class Outlook:
    """What a partner knows mid-period about the metrics that set its tier, what ending the
    period at each tier is worth beyond the period's payout, ``(..., N, T + 1)`` (index 0: no
    tier; its milestones, :func:`milestone_values`, and its benefits, :func:`benefit_values`;
    ``None`` without either), what a unit of front-end rebate, paid at the close, is worth
    against a unit of the delayed payout (``None`` when no group pays on invoice), and what it
    expects of the periods after this one for what is paid on longer horizons (``None`` when
    nothing is)."""

    new_logos: FloatArray
    certified_staff: FloatArray
    csat: FloatArray
    tier_values: FloatArray | None = None
    front_worth: FloatArray | None = None
    horizons: HorizonOutlook | None = None


def priced_payout(
    cp: CompiledProgram,
    pstate: ProgramState,
    group: IntArray,
    revenue: FloatArray,
    outlook: Outlook,
) -> FloatArray:
    """What ending the period with ``revenue`` is worth to a partner: the rebate and accelerators
    the rules would pay (a front-end rebate, paid without the payout delay, weighted by
    ``outlook.front_worth``), plus what the tier that revenue earns is worth beyond it
    (milestones, benefits) and through what later closes pay on longer horizons
    (:func:`~incentsim.engine.horizon_outlook.horizon_value`), in money of the delayed payout."""
    if outlook.front_worth is None:
        pay, tier = anticipated_payout(
            cp, pstate, group, revenue, outlook.new_logos, outlook.certified_staff, outlook.csat
        )
    else:
        pay, front, tier = anticipated_payout_parts(
            cp, pstate, group, revenue, outlook.new_logos, outlook.certified_staff, outlook.csat
        )
        pay = pay + (outlook.front_worth - 1.0) * front
    if outlook.horizons is not None:
        pay = pay + horizon_value(cp, pstate, group, revenue, tier, outlook)
    if outlook.tier_values is None:
        return pay
    return pay + np.take_along_axis(outlook.tier_values, (tier + 1)[..., None], axis=-1)[..., 0]


def expected_payout(
    cp: CompiledProgram,
    pstate: ProgramState,
    group: IntArray,
    revenue: FloatArray,
    spread: FloatArray,
    outlook: Outlook,
) -> FloatArray:
    """Expected period payout when period revenue is ``revenue`` give or take ``spread`` (sd)."""
    return expected_value(lambda x: priced_payout(cp, pstate, group, x, outlook), revenue, spread)


def expected_value(price: Price, revenue: FloatArray, spread: FloatArray) -> FloatArray:
    """Expected ``price`` of an assessment's revenue (a period's, or a window's inside it:
    :mod:`incentsim.engine.window_outlook`) when it is ``revenue`` give or take ``spread``
    (sd), by the two-point rule."""
    total = np.zeros_like(revenue)
    for node, weight in zip(_NODES, _WEIGHTS, strict=True):
        total += weight * price(_node_revenue(revenue, node, spread))
    return total


def _node_revenue(revenue: FloatArray, node: float, spread: FloatArray) -> FloatArray:
    """``np.maximum(revenue + node * spread, 0.0)``: the same numbers (a node of +-1 scales
    ``spread`` exactly), with one temporary array."""
    if node == 1.0:
        x = np.add(revenue, spread)
    elif node == -1.0:
        x = np.subtract(revenue, spread)
    else:
        x = np.add(revenue, node * spread)
    np.maximum(x, 0.0, out=x)
    return x


def forecast_noise(behaviour: Behaviour, weeks_per_period: int) -> float:
    """A partner's uncertainty about a whole period's revenue, as a coefficient of variation,
    for periods of ``weeks_per_period`` weeks.

    ``behaviour.forecast_noise`` is stated for a quarter (:data:`CHURN_WEEKS`); weeks are
    equally uncertain whatever the period, so a shorter period's total is relatively more
    uncertain (by the square root of the ratio of lengths). A weak partner then keeps a
    chance of reaching a short period's target that a long period would leave out of reach
    (Chung, Narayandas & Chang 2021).
    """
    if weeks_per_period == CHURN_WEEKS:
        return behaviour.forecast_noise
    return behaviour.forecast_noise * float(np.sqrt(CHURN_WEEKS / weeks_per_period))


def quick_deal_choice(
    behaviour: Behaviour,
    rate_this: FloatArray,
    rate_next: FloatArray,
    share_this: FloatArray,
    weight: FloatArray,
    next_weight: FloatArray,
    weights: tuple[FloatArray, FloatArray] | None = None,
) -> FloatArray:
    """Share of this week's selling a partner puts into small quick deals (0 or
    ``quick_deal_share``).

    Normal deals enter the pipeline and close over the deal cycle: a share ``share_this`` this
    period (incentive ``rate_this`` per unit, weighted ``weight``), the rest next period
    (``rate_next``, ``next_weight``). Quick deals close within the week, so all of their
    revenue counts this period, but they bring only ``quick_deal_yield`` of the revenue the
    same effort brings on normal deals. A partner takes them where a unit of effort is worth
    more that way, its own margin included: near a period end with a threshold within reach,
    when this period's revenue is worth much more than next period's. Early in a period most
    of the pipeline closes in time anyway, and a partner out of reach of a threshold or past
    its target has no reason to (Chung, Narayandas & Chang 2021: short quota horizons tilt
    selling to low-ticket items). ``weights``, when given, are ``share_this * weight`` and
    ``(1 - share_this) * next_weight`` already computed.
    """
    margin = behaviour.partner_margin
    this_weight, next_share_weight = (
        (share_this * weight, (1.0 - share_this) * next_weight) if weights is None else weights
    )
    normal = margin + this_weight * rate_this + next_share_weight * rate_next
    quick = behaviour.quick_deal_yield * (margin + weight * rate_this)
    return np.where(quick > normal, behaviour.quick_deal_share, 0.0)


def present_bias(
    behaviour: Behaviour, myopia: FloatArray, delay_weeks: float | IntArray | FloatArray
) -> FloatArray:
    """Weight a partner puts on a payout ``delay_weeks`` away (1 for an immediate payout)."""
    return 1.0 / (1.0 + myopia * delay_weeks / behaviour.present_bias_weeks)


def target_effort(
    behaviour: Behaviour,
    responsiveness: FloatArray,
    reward_rate: FloatArray,
) -> FloatArray:
    """Effort a partner wants given what one more unit of revenue is worth to it.

    ``reward_rate`` is the incentive per unit of revenue (already weighted for delay); the
    partner's own margin is added, and effort is normal when the total equals margin plus the
    reference rate.
    """
    reward = behaviour.partner_margin + np.maximum(reward_rate, -behaviour.partner_margin)
    ratio = reward / (behaviour.partner_margin + behaviour.reference_rate)
    exponent = behaviour.effort_elasticity * responsiveness
    return np.clip(
        np.power(np.maximum(ratio, 1e-6), exponent), behaviour.effort_min, behaviour.effort_max
    )


def payout_outlook(
    cp: CompiledProgram,
    pstate: ProgramState,
    group: IntArray,
    expected_revenue: FloatArray,
    spread: FloatArray,
    outlook: Outlook,
) -> tuple[FloatArray, FloatArray]:
    """Smoothed incentive per unit of extra period revenue, and the expected period payout.

    The rate is the difference of the expected payout at ``expected_revenue`` and at
    ``expected_revenue + 2 * spread`` (both with the two-point rule), which share the middle
    point: a threshold within about two spreads of the expected revenue raises the rate, a cap
    lowers it. The expected payout at ``expected_revenue`` (the two-point rule's first two
    points) comes for free.
    """
    return smoothed_outlook(
        lambda x: priced_payout(cp, pstate, group, x, outlook), expected_revenue, spread
    )


def smoothed_outlook(
    price: Price, expected_revenue: FloatArray, spread: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """:func:`payout_outlook` for any ``price`` of an assessment's revenue (a period's, or a
    window's inside it: :mod:`incentsim.engine.window_outlook`): the smoothed rate per unit
    of extra revenue and the expected price at ``expected_revenue``."""
    points = [price(_node_revenue(expected_revenue, k, spread)) for k in (-1.0, 1.0, 3.0)]
    step = np.multiply(spread, 2.0)
    np.maximum(step, 1e-9, out=step)
    rate = np.subtract(points[2], points[0])
    np.multiply(rate, 0.5, out=rate)
    np.divide(rate, step, out=rate)
    expected = np.multiply(points[0], _WEIGHTS[0])
    expected += _WEIGHTS[1] * points[1]
    return rate, expected


def marginal_rate(
    cp: CompiledProgram,
    pstate: ProgramState,
    group: IntArray,
    expected_revenue: FloatArray,
    spread: FloatArray,
    outlook: Outlook,
) -> FloatArray:
    """Smoothed incentive per unit of extra period revenue around ``expected_revenue``
    (see :func:`payout_outlook`)."""
    return payout_outlook(cp, pstate, group, expected_revenue, spread, outlook)[0]


#: A three-point Gauss-Hermite rule (exact up to degree 5), for what is priced once a period.
_NODES_FINE = np.array([-np.sqrt(3.0), 0.0, np.sqrt(3.0)])
_WEIGHTS_FINE = np.array([1.0, 4.0, 1.0]) / 6.0


def moved_revenue_rate(
    cp: CompiledProgram,
    pstate: ProgramState,
    group: IntArray,
    expected_revenue: FloatArray,
    spread: FloatArray,
    outlook: Outlook,
) -> FloatArray:
    """What a unit of revenue moved into a period is worth there, per unit, when the period is
    expected to end at ``expected_revenue`` give or take ``spread`` (sd).

    The slope of the expected payout (three-point rule) between half a spread below and half a
    spread above the expectation: centred, so it weighs every outcome the partner deems likely
    alike. A partner expected near a cap gets its rate from the chance of ending below it, and
    one expected far below a floor from the chance of ending above it (where
    :func:`marginal_rate`, the value of ending up to two spreads higher that more effort buys,
    would see only the cap, or mostly the floor).
    """

    return centred_rate(
        lambda x: priced_payout(cp, pstate, group, x, outlook), expected_revenue, spread
    )


def centred_rate(price: Price, expected_revenue: FloatArray, spread: FloatArray) -> FloatArray:
    """:func:`moved_revenue_rate` for any ``price`` of an assessment's revenue (a period's,
    or a window's inside it: :mod:`incentsim.engine.window_outlook`)."""

    def expected(revenue: FloatArray) -> FloatArray:
        total = np.zeros_like(revenue)
        for node, w in zip(_NODES_FINE, _WEIGHTS_FINE, strict=True):
            x = np.maximum(revenue + node * spread, 0.0)
            total += w * price(x)
        return total

    half = 0.5 * spread
    step = np.maximum(spread, 1e-9)
    return (expected(expected_revenue + half) - expected(expected_revenue - half)) / step


def milestone_values(
    behaviour: Behaviour,
    cp: CompiledProgram,
    pstate: ProgramState,
    group: IntArray,
    myopia: FloatArray,
    delay_weeks: float | IntArray,
    weeks_per_period: int,
) -> FloatArray | None:
    """What the program's milestones are worth to each partner by the tier it ends this period
    at, ``(..., N, T + 1)`` (index 0: no tier), in money paid with this period's payout
    (``None`` when the program has none).

    Ending the period at a milestone's tier or above moves its streak on (the reward is paid
    with this period's payout when the streak completes); below it, a shortfall beyond the
    tolerance resets the streak or steps it back. Either way the reward is the periods the
    streak still needs away, and present bias weighs it by that wait. A streak that resets or
    steps back also loses the progress made, which the partner weighs as a loss
    (:func:`streak_loss`). A milestone already earned and not repeatable is worth nothing.
    """
    if not cp.milestone_names:
        return None
    t = cp.at(group)
    reaching = np.ones(pstate.streak.shape, dtype=np.bool_)
    streak_at, _ = streak_after(t, pstate, reaching)
    streak_below, _ = streak_after(t, pstate, ~reaching)
    loss = streak_loss(behaviour, t.ms_reward, t.ms_length, pstate.streak, streak_below)
    now = present_bias(behaviour, myopia, delay_weeks)[..., None]
    delay = np.asarray(delay_weeks)[..., None]

    def worth(streak: IntArray) -> FloatArray:
        wait = delay + np.maximum(t.ms_length - streak, 0) * weeks_per_period
        weight = present_bias(behaviour, myopia[..., None], wait)
        return np.where(pstate.milestone_done, 0.0, t.ms_reward * weight / now)

    tiers = np.arange(-1, cp.n_tiers)  # the tier the period ends at, -1 for none
    at_level = tiers >= t.ms_tier[..., None]  # (..., N, M, T + 1)
    below = worth(streak_below) - np.where(pstate.milestone_done, 0.0, loss)
    values = np.where(at_level, worth(streak_at)[..., None], below[..., None])
    by_tier: FloatArray = values.sum(axis=-2)
    return by_tier


def streak_loss(
    behaviour: Behaviour,
    reward: FloatArray,
    length: IntArray,
    streak: IntArray,
    streak_after_miss: IntArray,
) -> FloatArray:
    """What losing a milestone streak's progress costs a partner, ``(..., N, M)``, in money of
    this period's payout: the share of the streak a missed period undoes (``streak`` down to
    ``streak_after_miss``, of ``length`` periods) times the reward, weighed by
    ``streak_loss_aversion``.

    The progress made is the partner's reference point: a streak that restarts is felt as
    losing it, not as the same reward paid later (Tversky & Kahneman 1992 on loss aversion;
    Kivetz, Urminsky & Zheng 2006 on goal progress). Without it a partner with no present bias
    would be indifferent to missing a period.
    """
    undone = np.maximum(streak - streak_after_miss, 0) / np.maximum(length, 1)
    loss: FloatArray = behaviour.streak_loss_aversion * reward * undone
    return loss


def benefit_values(
    behaviour: Behaviour,
    terms: PartnerTerms,
    win_rate: FloatArray,
    revenue_next: FloatArray,
    weight: FloatArray,
    next_weight: FloatArray,
) -> FloatArray:
    """What holding each tier next period is worth to a partner through the benefits it
    unlocks, ``(..., N, T + 1)`` (index 0: no tier), in money of this period's payout.

    A tier's win-rate points and deal-size uplift raise next period's sales
    (``revenue_next`` at the partner's current pace); the partner values the extra sales at its
    own margin, paid over the next period (present bias: ``next_weight / weight`` against this
    period's payout). A benefits-only tier is then worth reaching (Kivetz, Urminsky & Zheng
    2006 on goals; domain notes section 1: benefits' effect on win rate and deal size).
    """
    win = 1.0 + terms.benefit_win_rate_uplift / np.maximum(win_rate, 0.05)[..., None]
    lift = win * (1.0 + terms.benefit_deal_size_uplift) - 1.0  # (..., N, T)
    worth = behaviour.partner_margin * revenue_next[..., None] * lift
    worth = worth * (next_weight / weight)[..., None]
    none = np.zeros((*worth.shape[:-1], 1))
    values: FloatArray = np.concatenate([none, worth], axis=-1)
    return values


def ratchet_cost(
    cp: CompiledProgram,
    pstate: ProgramState,
    group: IntArray,
    expected_revenue: FloatArray,
    spread: FloatArray,
    expected_next: FloatArray,
    spread_next: FloatArray,
    outlook: Outlook,
) -> FloatArray | None:
    """What one more unit of revenue this period costs next period through the quota ratchet,
    per unit (``None`` unless some partner's quota follows its prior revenue and some
    accelerator's threshold is a fraction of quota).

    Next period's quota is this period's revenue times ``1 + growth`` (never below the floor);
    the cost is the fall in next period's expected payout (at ``expected_next`` give or take
    ``spread_next``) when this period ends ``spread`` higher than ``expected_revenue``, per
    unit. The program's state stands in for next period's, as in the next-period rate.
    """
    t = cp.at(group)
    if not (np.any(t.quota_prior) and np.any(t.acc_quota_fraction > 0)):
        return None
    step = np.maximum(spread, 1e-9)

    def next_payout(revenue: FloatArray) -> FloatArray:
        state = ratcheted_state(cp, pstate, group, revenue)
        return expected_payout(cp, state, group, expected_next, spread_next, outlook)

    return (next_payout(expected_revenue) - next_payout(expected_revenue + step)) / step


def ratcheted_state(
    cp: CompiledProgram, pstate: ProgramState, group: IntArray, expected_revenue: FloatArray
) -> ProgramState:
    """The program's state standing in for next period's when this period ends at
    ``expected_revenue``: ``pstate`` itself, but with the quota the ratchet sets from that
    revenue where a partner's quota follows its prior revenue (``pstate`` unchanged where none
    does).

    Next period's payout is priced at the quota this period's revenue will set, the same
    quota :func:`ratchet_cost` prices the ratchet with: a partner well above its quota now
    expects next period's (its revenue plus the growth) to be out of reach, one well below
    expects an easy one (Leone & Rock 2002: a strong period raises the next target).
    """
    t = cp.at(group)
    if not np.any(t.quota_prior):
        return pstate
    return replace(pstate, quota=next_quota(t, pstate.quota, expected_revenue))


@dataclass(frozen=True)
class PullOption:
    """Deals a partner could pull into the period this week: ``amount`` of pipeline (currency)
    and the price ``discount`` (a share of their value) needed to close them now."""

    amount: FloatArray
    discount: FloatArray


#: Shares of its reach a partner may pull its pipeline in by: the nearer half, or all of it.
PULL_REACHES = (0.25, 0.5, 1.0)


def pull_options(
    behaviour: Behaviour,
    pipeline: FloatArray,
    cycle: FloatArray,
    weeks_left: int,
    reach: tuple[tuple[FloatArray, FloatArray], ...] | None = None,
) -> tuple[PullOption, ...]:
    """What a partner could pull into the period with ``weeks_left`` weeks to go (this one
    included), one option per share of its reach in :data:`PULL_REACHES`.

    A partner controls the closing dates of deals due within ``pull_forward_reach`` of its deal
    cycle (``cycle`` weeks), so control grows with the cycle. Closings come from the pipeline
    at a rate of one ``cycle``-th a week, so the pipeline due in ``(weeks_left, weeks_left +
    D]`` weeks from now is ``pipeline * (exp(-weeks_left / cycle) - exp(-(weeks_left + D) /
    cycle))``: about ``D`` weeks of closings for long cycles, much less for short ones. Pulling
    those deals in moves each forward by the weeks it was due in; their discount is
    ``pull_forward_discount_per_week`` times their mean weeks moved, at most
    ``pull_forward_discount_max``, counted from the week the partner commits to them (they
    then close on the period's last days: :class:`incentsim.engine.days.PeriodEndClosings`).
    ``reach`` is :func:`pull_reach` already computed.
    """
    if reach is None:
        reach = pull_reach(behaviour, cycle, weeks_left)
    return tuple(PullOption(pipeline * due, discount) for due, discount in reach)


def pull_reach(
    behaviour: Behaviour, cycle: FloatArray, weeks_left: int
) -> tuple[tuple[FloatArray, FloatArray], ...]:
    """For each option of :func:`pull_options`, the share of the pipeline it pulls in and its
    discount: they depend on the deal cycle and the weeks left only, so a caller may keep
    them (``pipeline * share`` is the option's amount)."""
    due_after = np.exp(-weeks_left / cycle)
    options = []
    for share in PULL_REACHES:
        reach = share * behaviour.pull_forward_reach * cycle
        due = due_after - np.exp(-(weeks_left + reach) / cycle)
        # Mean weeks away of a deal due in (weeks_left, weeks_left + reach]: an exponential
        # closing time truncated to that window (with no reach, its limit: weeks_left).
        tail = np.divide(
            reach, np.expm1(reach / cycle), out=np.array(cycle, dtype=np.float64), where=reach > 0
        )
        weeks_moved = weeks_left + cycle - tail
        discount = np.minimum(
            behaviour.pull_forward_discount_per_week * weeks_moved,
            behaviour.pull_forward_discount_max,
        )
        options.append((due, discount))
    return tuple(options)


def timing_choice(
    behaviour: Behaviour,
    price: Price,
    closings: FloatArray,
    pulls: tuple[PullOption, ...],
    next_rate: FloatArray,
    weight: FloatArray,
    next_weight: FloatArray,
    gaming: FloatArray,
    base: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Pipeline pulled into this period, its discount, and the share of this week's closings
    deferred.

    The same choice is made at the end of a bonus's window inside the period
    (:mod:`incentsim.engine.window_outlook`): ``price`` is then what the window is expected to
    pay and ``next_rate`` what the moved revenue would earn in the next window.

    The choice is made at the start of the week, before the week's closings are known: the
    partner weighs deferring a share of what it expects to close (``closings``) and each of
    its ``pulls`` (:func:`pull_options`), and keeps whichever option raises what it expects to
    be paid, net of what the moved revenue would earn next period (``next_rate``), its share of
    the discount on pulled deals (its margin on the value given away) and a friction that falls
    with its gaming propensity. At a period end, a partner whose closings would take it past a
    cap revises the deferral once it sees them (:func:`past_cap_deferral`).

    Parameters
    ----------
    price
        The payout the partner expects when ``booked`` more revenue (negative: less) is booked
        in the period than it expects without moving anything, ``price(booked)`` (smoothed
        over its uncertainty, e.g. :func:`expected_payout` at the expected revenue plus
        ``booked``).
    closings
        This week's expected natural closings (what could be deferred).
    pulls
        The pipeline that could be pulled into the period this week, and at what discount.
    next_rate
        Incentive the moved revenue would earn next period, per unit.
    weight, next_weight
        Present-bias weights on this period's payout and on the next period's (a period later).
    gaming
        Gaming propensity in [0, 1].
    base
        ``price`` of nothing moved when already known (saves two payout evaluations).

    Returns
    -------
    (pulled, discount, deferred_share, payout)
        Pipeline pulled forward (currency), the discount on it (a share of its value), the share
        of the week's closings deferred, and the payout the partner expects after its choice.
    """
    if base is None:
        base = price(np.zeros(np.shape(closings)))
    shape = np.shape(base)
    # The best option so far, updated in place (doing nothing gains 0 and is kept unless an
    # option gains more).
    best_gain = np.zeros(shape)
    pulled = np.zeros(shape)
    discount = np.zeros(shape)
    deferred_share = np.zeros(shape)
    best_payout = np.array(base, dtype=np.float64)
    friction = behaviour.timing_friction * (1.0 - gaming)
    partner_discount = behaviour.partner_margin * behaviour.discount_share_partner
    moved_worth = next_weight * next_rate  # what a unit moved would earn next period, weighted

    def consider(move: FloatArray, booked: FloatArray, cost: FloatArray | float) -> BoolArray:
        """Keep moving ``move`` (``booked`` of it this period, at a further ``cost``) where it
        gains more than the best option so far; where it does."""
        payout = price(booked)
        gain = weight * (payout - base) - moved_worth * move - friction * np.abs(move) - cost
        better = gain > best_gain
        put_where(best_gain, better, gain)
        put_where(best_payout, better, payout)
        return better

    # Defer all or half of the deferrable share of the week's closings...
    for share in (1.0, 0.5):
        deferred = -share * behaviour.deferral_share * closings
        better = consider(deferred, deferred, 0.0)
        put_where(deferred_share, better, share * behaviour.deferral_share)
    # ... or take one of the pulls.
    for pull in pulls:
        cost = partner_discount * pull.discount * pull.amount
        better = consider(pull.amount, pull.amount * (1.0 - pull.discount), cost)
        put_where(deferred_share, better, 0.0)
        put_where(pulled, better, pull.amount)
        put_where(discount, better, pull.discount)
    return pulled, discount, deferred_share, best_payout


#: Payout per unit of revenue below which booking more counts as earning nothing this period
#: (a numerical zero: payouts rising at any rate a program pays are far above it).
FLAT_RATE = 1e-6

#: Halvings of the deferrable share that :func:`past_cap_deferral` searches the cap's point
#: with: to 1/16 of it, a few tenths of a percent of a quarter's revenue (a partner holds
#: whole deals, not the exact amount; results within a few percent of a cap read as piled up
#: at it). Each halving prices the period once more for every partner.
CAP_SEARCH_STEPS = 4


def past_cap_deferral(
    behaviour: Behaviour,
    price: Price,
    closings: FloatArray,
    held: FloatArray,
    next_rate: FloatArray,
    next_weight: FloatArray,
    gaming: FloatArray,
    later: Price | None = None,
) -> FloatArray:
    """The part of this week's closings a partner defers, once it sees them, because booking it
    would take the period past the point where its payout stops rising (a cap): zero for most
    partners most of the time.

    :func:`timing_choice` decides before the week's closings are known, and prices what it
    moves over the uncertainty of the whole period's revenue (as if revenue already booked could
    still fall short of a cap); but a partner sees a deal's paperwork before booking it, and can
    hold the deals that would earn nothing this period for the next one, where they earn
    ``next_rate`` (paid with weight ``next_weight``), when that is worth the friction of moving
    them. Results then pile up at the cap (Burgstahler & Dichev 1997; domain notes 2.2; Healy
    1985 on deferral at a bonus plan's upper bound, domain notes 2.4).

    ``price(booked)`` is what the period pays with ``booked`` of the week's closings booked on
    top of the revenue it ``held`` already (``price(-held)``: no revenue at all); ``later``,
    when given, the same with the rest of the period's expected closings booked too, over
    which the closings deferred must stay flat as well (a payout that rises again further up
    is not a cap). At most ``deferral_share`` of the closings can be deferred: the largest
    share of that (to 1/2**:data:`CAP_SEARCH_STEPS`) over which the payout rises by less than
    :data:`FLAT_RATE` per unit, found by bisection (payouts never fall as revenue rises). A
    partner short of a floor also sees a flat payout, but earns nothing at all: it is left to
    :func:`timing_choice`. Nothing moves for a partner whose payout keeps rising, so a design
    without a reachable cap is unchanged.
    """
    most = behaviour.deferral_share * closings
    top = price(closings)

    def flat(share: FloatArray | float) -> BoolArray:
        """Whether booking ``share`` of ``most`` less lowers the payout by under FLAT_RATE."""
        moved = share * most
        return top - price(closings - moved) <= FLAT_RATE * moved

    finest = 0.5**CAP_SEARCH_STEPS
    capped = flat(finest) & (closings > 0)
    if not capped.any():
        return np.zeros(np.shape(closings))
    friction = behaviour.timing_friction * (1.0 - gaming)
    capped &= next_weight * next_rate > friction
    bottom = price(closings - most)
    all_flat = top - bottom <= FLAT_RATE * most
    crossing = capped & ~all_flat
    past = capped & all_flat  # all it can defer is past the cap ...
    if past.any():
        past &= bottom > price(-held)  # ... and it earns something: not short of a floor
    low = np.where(past, 1.0, np.where(crossing, finest, 0.0))  # a share the payout is flat over
    high = np.ones(np.shape(closings))  # one it is not flat over (where crossing)
    if crossing.any():
        for _ in range(CAP_SEARCH_STEPS):
            middle = 0.5 * (low + high)
            is_flat = flat(middle)
            low = np.where(crossing & is_flat, middle, low)
            high = np.where(crossing & ~is_flat, middle, high)
    if later is not None and (low > 0).any():
        later_top = later(closings)
        moved = low * most
        low = np.where(later_top - later(closings - moved) <= FLAT_RATE * moved, low, 0.0)
    deferred: FloatArray = low * most
    return deferred


def stuffing_choice(
    behaviour: Behaviour,
    price: Price,
    capacity: FloatArray,
    next_rate: FloatArray,
    return_rate_paid: FloatArray | float,
    weight: FloatArray,
    next_weight: FloatArray,
    gaming: FloatArray,
    base: FloatArray | None = None,
) -> FloatArray:
    """Extra inventory sold in at the end of an assessment (zero for most partners most of the
    time): a period's, or a bonus window's inside it (:mod:`incentsim.engine.window_outlook`),
    priced as the timing games are there.

    ``price(stuff)`` is what the assessment is expected to pay with ``stuff`` more revenue
    booked in it (``base``: with none, when already known). The returned share of the stock
    is clawed back at ``return_rate_paid`` (zero if nothing is clawed back); the rest displaces
    the next assessment's orders and what they would have earned there (``next_rate``, paid
    with weight ``next_weight``).
    """
    if base is None:
        base = price(np.zeros(np.shape(capacity)))
    # The best option so far, updated in place.
    best_gain = np.zeros(np.shape(base))
    best = np.zeros(np.shape(base))
    rr = behaviour.stuffing_return_rate
    friction = behaviour.timing_friction * (1.0 - gaming) * 2.0
    lost_per_unit = rr * return_rate_paid + (1.0 - rr) * next_rate  # clawed back or displaced
    for option in (0.5, 1.0):
        stuff = option * capacity
        payout = price(stuff)
        gain = weight * (payout - base) - next_weight * stuff * lost_per_unit - friction * stuff
        better = gain > best_gain
        put_where(best_gain, better, gain)
        put_where(best, better, stuff)
    return best


def duplicate_rate(
    behaviour: Behaviour,
    gaming: FloatArray,
    audit_rate: FloatArray,
    detection: FloatArray,
    penalty: FloatArray,
) -> FloatArray:
    """Duplicate registrations per genuine deal: gaming propensity, deterred by audits."""
    deterrence = behaviour.audit_deterrence * audit_rate * detection * (1.0 + penalty)
    return behaviour.duplicate_rate * gaming * np.exp(-deterrence)


def loyalty_target(
    behaviour: Behaviour,
    initial: FloatArray,
    valued_rate: FloatArray,
    benefit: FloatArray,
    offer: FloatArray,
    peer_gap: FloatArray,
    fairness_sensitivity: FloatArray,
    trust: FloatArray,
    expected_wait: FloatArray,
) -> FloatArray:
    """Loyalty a partner drifts towards at a period close.

    ``valued_rate`` is what the period earned per unit of revenue as the partner values it
    (:func:`valued_earnings`); it is compared with the competitor's offer and with peers. Trust
    in the vendor's process weighs on its own (procedural fairness, Kumar, Scheer & Steenkamp
    1995), and so does waiting longer than the norm for what was earned (``expected_wait``).
    """
    target = (
        initial
        + behaviour.value_weight * (valued_rate - offer)
        + benefit
        + behaviour.fairness_weight * fairness_sensitivity * np.minimum(peer_gap, 0.0)
        + behaviour.procedural_weight * (trust - 1.0)
        - behaviour.delay_sensitivity
        * np.maximum(expected_wait - behaviour.payout_delay_norm_weeks, 0.0)
    )
    return np.clip(target, 0.0, 1.0)


def valued_earnings(
    behaviour: Behaviour,
    myopia: FloatArray,
    front_end: FloatArray,
    back_end: FloatArray,
    expected_wait: FloatArray,
    trust: FloatArray,
) -> FloatArray:
    """What a period's earnings are worth to a partner at the close: front-end rebates in hand,
    plus what it is owed, worth less the longer it waits for it than the norm (present bias) and
    the less it trusts the vendor to pay it in full and on time."""
    wait_weight = present_bias(behaviour, myopia, expected_wait) / present_bias(
        behaviour, myopia, behaviour.payout_delay_norm_weeks
    )
    return front_end + back_end * np.minimum(wait_weight, 1.0) * trust


def trust_after_payment(
    behaviour: Behaviour, trust: FloatArray, unpaid_share: FloatArray, late_weeks: FloatArray
) -> FloatArray:
    """Trust after a payout: a cut or deferred share and every week later than announced cost
    trust; a payout in full and on time restores part of what was lost."""
    hit = trust * (1.0 - behaviour.cut_sensitivity * unpaid_share)
    hit = hit - behaviour.lateness_sensitivity * np.maximum(late_weeks, 0.0)
    kept = (unpaid_share <= 0.0) & (late_weeks <= 0)
    recovered = np.where(kept, hit + behaviour.trust_recovery * (1.0 - hit), hit)
    return np.clip(recovered, 0.0, 1.0)


def per_period(rate_per_quarter: float, weeks_per_period: int) -> float:
    """A share of a gap closed per quarter, as the share closed per period of
    ``weeks_per_period`` weeks (the same speed per week whatever the calendar)."""
    if weeks_per_period == CHURN_WEEKS:
        return rate_per_quarter
    return float(1.0 - (1.0 - rate_per_quarter) ** (weeks_per_period / CHURN_WEEKS))


#: The period length, in weeks, that the churn hazard's constants are stated for (a quarter).
CHURN_WEEKS = 13


def churn_probability(
    behaviour: Behaviour, loyalty: FloatArray, weeks_per_period: int = CHURN_WEEKS
) -> FloatArray:
    """Probability that a partner leaves the program during a period of ``weeks_per_period``.

    The hazard is stated per quarter (:data:`CHURN_WEEKS`); a period of another length gets
    the same hazard per week, so a monthly calendar does not triple how many partners leave a
    year.
    """
    quarterly = np.clip(
        behaviour.churn_base * np.exp(behaviour.churn_slope * (0.5 - loyalty)), 0, 1
    )
    if weeks_per_period == CHURN_WEEKS:
        return quarterly
    return 1.0 - (1.0 - quarterly) ** (weeks_per_period / CHURN_WEEKS)


def join_probability(behaviour: Behaviour, acceptance: float, rate: FloatArray) -> FloatArray:
    """Probability that a recruiting candidate joins: ``acceptance`` at the normal rate
    (``behaviour.reference_rate``), its odds scaled by ``exp(recruit_sensitivity * (rate -
    reference_rate))`` for the ``rate`` the program would pay it."""
    if acceptance <= 0.0:
        return np.zeros_like(rate)
    if acceptance >= 1.0:
        return np.ones_like(rate)
    log_odds = np.log(acceptance / (1.0 - acceptance)) + behaviour.recruit_sensitivity * (
        rate - behaviour.reference_rate
    )
    # The logistic function of the log odds: a rate far above normal (a flat fee to a tiny
    # candidate) gives a probability of 1 rather than overflowing the odds.
    probability: FloatArray = special.expit(log_odds)
    return probability


def natural_co_delivery(
    behaviour: Behaviour, rng: np.random.Generator, shape: tuple[int, ...]
) -> FloatArray:
    """Each partner's own share of the delivery on co-sold deals when nothing rewards more: a
    Beta draw with mean ``co_delivery_natural`` and concentration ``co_delivery_concentration``."""
    mean, concentration = behaviour.co_delivery_natural, behaviour.co_delivery_concentration
    return rng.beta(mean * concentration, (1.0 - mean) * concentration, size=shape)


def co_delivery_choice(
    behaviour: Behaviour,
    natural: FloatArray,
    required: FloatArray,
    bonus_rate: FloatArray,
) -> FloatArray:
    """The share of delivery on co-sold deals a partner does itself.

    A partner below the requirement raises its share to it when the co-selling bonus it keeps
    (``bonus_rate``, per unit of co-sold revenue and already weighted for delay) is worth more
    than the extra delivery costs (``co_delivery_cost`` per unit of revenue for all of it);
    otherwise it keeps its own share and forgoes the bonus.
    """
    gap = np.maximum(required - natural, 0.0)
    meets = bonus_rate > behaviour.co_delivery_cost * gap
    return np.where(meets, np.maximum(natural, required), natural)


def share_of_wallet(behaviour: Behaviour, loyalty: FloatArray) -> FloatArray:
    """Share of its capacity a partner gives the vendor."""
    floor = behaviour.share_of_wallet_min
    return floor + (1.0 - floor) * loyalty
