"""The program's money: payout runs against a budget and a reserve fund, to the cent.

A payout run settles what partners are owed (earlier balances plus the periods the run covers)
against the run's budget. The reserve absorbs peaks; when budget and reserve are not enough the
shortfall policy (per partner group) either cuts the partner pro rata or defers the unpaid
part to the next run. Front-end rebates are paid on invoice: they are charged to the budget
first and never cut, and if they exceed budget and reserve the vendor funds the excess (an
*overrun*).

The budget and the reserve are one program-wide pool, but groups may be paid on different
cadences: a run settles only the partners whose group is due (:class:`PayoutSchedule`). Budget
a run does not spend, up to what partners of groups not yet due have accrued (``committed``), is
carried to the next run for them instead of flowing to the reserve or back to the vendor.

Accounting identities (all int64 cents, checked by the tests):

* per partner and run: ``owed_before + accrued = paid + cut + owed_after``;
* per run: ``reserve_before + budget + contribution + overrun
  = paid + returned + reserve_after + carried`` (``budget`` includes what the previous run
  carried).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from incentsim.errors import MoneyOverflowError
from incentsim.program.compiled import BudgetTerms, CompiledProgram
from incentsim.quantities import cents_of

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Ledger:
    """What is owed to each partner (``(..., N)``), the reserve balance and the budget carried
    to the next run (``(...)``), in cents.

    A negative ``owed`` is a receivable: clawbacks beyond what the partner had earned, recovered
    from later payouts.
    """

    owed: IntArray
    reserve: IntArray
    carried: IntArray


@dataclass(frozen=True)
class PayoutRun:
    """One payout run. Per partner ``(..., N)``: ``paid``, ``cut``, ``deferred``. Per program
    ``(...)``: the rest."""

    paid: IntArray
    cut: IntArray
    deferred: IntArray
    budget: IntArray
    due: IntArray
    reserve_before: IntArray
    reserve_drawn: IntArray
    contribution: IntArray
    to_reserve: IntArray
    returned: IntArray
    overrun: IntArray
    reserve_after: IntArray
    carried: IntArray

    @property
    def shortfall(self) -> IntArray:
        """What partners were due but not paid in this run (cut or deferred)."""
        unpaid: IntArray = (self.cut + self.deferred).sum(axis=-1)
        return unpaid


#: The largest total a payout run adds up in int64 cents (a quarter of the type's range, so
#: that the run's own sums of totals cannot wrap either).
_LARGEST_TOTAL = 2**61


def total(cents: IntArray) -> IntArray:
    """``cents.sum(axis=-1)``, refused with :class:`MoneyOverflowError` when the sum could
    leave the range int64 cents count exactly."""
    if cents.size:
        largest = int(np.abs(cents).max())
        if largest and largest > _LARGEST_TOTAL // cents.shape[-1]:
            raise MoneyOverflowError(
                f"a payout run adds up {cents.shape[-1]:,} amounts of up to "
                f"{largest / 100:,.0f}: more money than can be counted to the cent (at most "
                f"{_LARGEST_TOTAL / 100:,.0f}); the program pays amounts no real program pays"
            )
    summed: IntArray = cents.sum(axis=-1)
    return summed


def open_ledger(budget: BudgetTerms, shape: tuple[int, ...]) -> Ledger:
    """A ledger before the first run: nothing owed, the reserve at its initial balance.

    Parameters
    ----------
    budget
        The program's budget terms.
    shape
        Shape of the per-partner arrays ``(..., N)``.
    """
    reserve = np.full(shape[:-1], cents_of(budget.reserve_initial), dtype=np.int64)
    return Ledger(
        owed=np.zeros(shape, dtype=np.int64),
        reserve=reserve,
        carried=np.zeros(shape[:-1], dtype=np.int64),
    )


def pro_rata(due: IntArray, available: IntArray) -> IntArray:
    """Split ``available`` cents over positive ``due`` amounts in proportion, to the cent.

    Each partner gets the floor of its share, and the cents left over go one each to the largest
    remainders (ties to the lower index), so the payments sum to exactly ``available`` (when
    ``available`` is less than the total due) and nobody gets more than it is due.

    >>> pro_rata(np.array([100, 200, 0]), np.array(151)).tolist()
    [50, 101, 0]
    """
    due = np.maximum(due, 0)
    total = due.sum(axis=-1, keepdims=True)
    available = np.minimum(np.asarray(available)[..., None], total)
    if np.array_equal(available, total):
        return due.astype(np.int64, copy=False)  # enough for all: the split gives each its due
    safe_total = np.maximum(total, 1)
    if int(due.max(initial=0)) * int(available.max(initial=0)) >= 2**62:
        due, available, safe_total = (a.astype(object) for a in (due, available, safe_total))
    numer = due * available
    base = numer // safe_total
    remainder = numer - base * safe_total
    left = (available - base.sum(axis=-1, keepdims=True))[..., 0]
    order = np.argsort(-remainder, axis=-1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(due.shape[-1]), axis=-1)
    bonus = (ranks < left[..., None]) & (due > 0)
    shares: IntArray = (base + bonus).astype(np.int64)
    return shares


def run_payout(
    budget: BudgetTerms,
    ledger: Ledger,
    accrued: IntArray,
    front_end: IntArray,
    periods: int = 1,
    *,
    settle: BoolArray | None = None,
    defer: BoolArray | bool = False,
    committed: IntArray | int = 0,
    period_budget: IntArray | None = None,
) -> tuple[Ledger, PayoutRun]:
    """Settle partners' accounts in one payout run.

    Parameters
    ----------
    budget
        The program's budget terms.
    ledger
        Balances before the run.
    accrued
        Cents accrued per partner since the last run (``(..., N)``; negative for net clawbacks).
    front_end
        The part of ``accrued`` already paid on invoice (never cut).
    periods
        Number of periods since the last run (its budget is ``periods * budget.per_period``,
        plus what the last run carried).
    settle
        The partners whose accounts this run settles (``(..., N)``; default: everyone). The
        others keep what they are owed; only their front-end rebates are paid.
    defer
        Per partner (or for everyone), whether a shortfall is deferred to the next run rather
        than cut.
    committed
        Cents accrued by partners whose group is not due in this run (``(...)``): budget the
        run leaves unspent is carried for them, up to this amount.
    period_budget
        The budget the run's periods bring, in cents (``(...)``), when a contingent rule
        scaled it (:func:`scaled_budget`); default ``periods * budget.per_period``. What the
        last run carried is added either way.

    Returns
    -------
    (Ledger, PayoutRun)
    """
    reserve_before = ledger.reserve
    balance = ledger.owed + accrued - front_end
    due = np.maximum(balance, 0)
    if settle is not None:
        due = np.where(settle, due, 0)
    due_total = total(due) + total(front_end)
    if budget.per_period is None:
        run_budget = due_total
    else:
        brought = (
            np.full_like(reserve_before, cents_of(budget.per_period) * periods)
            if period_budget is None
            else np.broadcast_to(period_budget, reserve_before.shape).astype(np.int64)
        )
        run_budget = brought + ledger.carried
    contribution = np.full_like(reserve_before, cents_of(budget.reserve_fixed_per_period) * periods)
    cash = run_budget + contribution + reserve_before
    front_total = total(front_end)
    overrun = np.maximum(front_total - cash, 0)
    for_back_end = cash + overrun - front_total
    back_paid = pro_rata(due, for_back_end)
    shortfall = due - back_paid
    if np.ndim(defer) == 0:
        deferred = shortfall if defer else np.zeros_like(shortfall)
    else:
        deferred = np.where(defer, shortfall, 0)
    cut = shortfall - deferred
    paid = back_paid + front_end
    paid_total = total(paid)
    # Whatever of budget + contribution is unspent is carried for accruals not yet due, then
    # may go to the reserve; the rest is returned.
    spent_from_budget = np.minimum(paid_total - overrun, run_budget + contribution)
    unspent = run_budget + contribution - spent_from_budget
    carried = np.zeros_like(unspent)
    if budget.per_period is not None and np.any(committed):
        carried = np.minimum(unspent, np.maximum(committed, 0))
        unspent = unspent - carried
    drawn = np.maximum(paid_total - overrun - (run_budget + contribution), 0)
    share = budget.reserve_unspent_share
    to_reserve = np.floor(unspent * share).astype(np.int64)
    to_reserve = np.maximum(to_reserve, np.minimum(contribution, unspent))
    if budget.reserve_max is not None:
        room = np.maximum(cents_of(budget.reserve_max) - (reserve_before - drawn), 0)
        to_reserve = np.minimum(to_reserve, room)
    returned = unspent - to_reserve
    reserve_after = reserve_before - drawn + to_reserve
    owed_after = np.where(balance < 0, balance, deferred)
    if settle is not None:
        owed_after = np.where(settle, owed_after, ledger.owed)
    run = PayoutRun(
        paid=paid,
        cut=cut,
        deferred=deferred,
        budget=run_budget,
        due=due_total,
        reserve_before=reserve_before,
        reserve_drawn=drawn,
        contribution=contribution,
        to_reserve=to_reserve,
        returned=returned,
        overrun=overrun,
        reserve_after=reserve_after,
        carried=carried,
    )
    return Ledger(owed=owed_after, reserve=reserve_after, carried=carried), run


@dataclass(frozen=True)
class PayoutSchedule:
    """When each partner group's accruals are paid: the one schedule the simulation and the
    payout statements share (arrays over groups ``(G,)``).

    A group's back-end accruals are settled at the close of every ``cadence``-th period (counted
    from the program's start) and reach partners ``delay_weeks`` later. Front-end rebates are paid
    on invoice: at the close of their own period, without the delay, every period. The horizon
    rule: the close of the horizon's last period settles every group, whatever its cadence (a
    partial final run), so the program's cost over the horizon includes everything it owes and
    nothing is left pending. A payout statement over data that ends before the horizon leaves the
    periods of a run not yet due pending.
    """

    cadence: IntArray
    delay_weeks: IntArray
    front_end: BoolArray
    defer_shortfall: BoolArray
    horizon_periods: int

    @classmethod
    def of(cls, cp: CompiledProgram, horizon_periods: int) -> PayoutSchedule:
        """The schedule of a compiled program over a horizon of ``horizon_periods``."""
        return cls(
            cadence=cp.payout_cadence,
            delay_weeks=cp.payout_delay_weeks,
            front_end=cp.front_end,
            defer_shortfall=cp.defer_shortfall,
            horizon_periods=horizon_periods,
        )

    def due(self, period: int) -> BoolArray:
        """The groups whose back-end accruals the close of ``period`` (0-based) settles."""
        last = period + 1 == self.horizon_periods
        due: BoolArray = ((period + 1) % self.cadence == 0) | last
        return due

    def settlement_period(self, period: int) -> IntArray:
        """Per group, the period whose close settles what ``period`` accrues."""
        run = (period // self.cadence + 1) * self.cadence - 1
        settles: IntArray = np.minimum(run, self.horizon_periods - 1)
        return settles


def scaled_budget(budget: BudgetTerms, scale: FloatArray | float) -> IntArray:
    """One period's budget in cents times a contingent rule's ``scale`` (``(...)``), to the
    cent (an unscaled period brings exactly ``budget.per_period``)."""
    per_period = cents_of(budget.per_period or 0.0)
    cents: IntArray = np.rint(per_period * np.asarray(scale, dtype=np.float64)).astype(np.int64)
    return cents


@dataclass(frozen=True)
class Accruals:
    """What partners have accrued since their group was last settled (``(..., N)``; cents),
    their front-end rebates paid in that time and the revenue it was earned on, and the
    periods since the last payout run of any group (for the run's budget), with the budget
    those periods brought when a contingent rule scales it (``(...)``; ``None`` otherwise)."""

    back_end: IntArray
    front_end: IntArray
    revenue: FloatArray
    periods: int = 0
    budget: IntArray | None = None

    @classmethod
    def empty(cls, shape: tuple[int, ...]) -> Accruals:
        """Nothing accrued."""
        return cls(
            back_end=np.zeros(shape, dtype=np.int64),
            front_end=np.zeros(shape, dtype=np.int64),
            revenue=np.zeros(shape),
        )


@dataclass(frozen=True)
class Settlement:
    """One period close's payout run: the run, the partners it settled (``(..., N)``), what
    they had accrued since their last settlement (front-end rebates paid in that time, revenue)
    for the partner's view of the payment, and the periods since the last run (its budget's).
    ``run`` is ``None`` when nothing was due."""

    run: PayoutRun | None
    settled: BoolArray
    front_end: IntArray
    revenue: FloatArray
    periods: int


def close_accounts(
    schedule: PayoutSchedule,
    budget: BudgetTerms,
    ledger: Ledger,
    accruals: Accruals,
    group: IntArray,
    period: int,
    accrued: IntArray,
    front_end: IntArray,
    revenue: FloatArray,
    *,
    budget_scale: FloatArray | float | None = None,
) -> tuple[Ledger, Accruals, Settlement]:
    """Add a period's accruals and run the payout the schedule has due at its close.

    Parameters
    ----------
    schedule, budget
        The program's payout schedule and budget terms.
    ledger, accruals
        Balances and accruals before this close.
    group
        Each partner's group, ``(..., N)``.
    period
        The period closing (0-based).
    accrued, front_end, revenue
        What the period accrued per partner (cents; ``front_end`` the part paid on invoice) and
        the revenue it was earned on.
    budget_scale
        The period's budget multiplier from the contingent rules in force
        (:meth:`~incentsim.program.in_force.ProgramPlan.budget_scale`; ``(...)`` or one
        number); ``None``: the budget as written.

    Returns
    -------
    (Ledger, Accruals, Settlement)
        Balances and accruals after the close, and its payout run.
    """
    back_end = accruals.back_end + (accrued - front_end)
    paid_front = accruals.front_end + front_end
    pending_revenue = accruals.revenue + revenue
    periods = accruals.periods + 1
    brought = accruals.budget
    if budget_scale is not None and budget.per_period is not None:
        if brought is None:  # periods before this one since the last run were unscaled
            brought = scaled_budget(budget, np.full(ledger.reserve.shape, accruals.periods))
        brought = brought + scaled_budget(budget, np.broadcast_to(budget_scale, brought.shape))
    due = schedule.due(period)
    all_due = bool(due.all())
    settled = np.broadcast_to(due[group], group.shape)
    if not (due.any() or front_end.any()):
        after = Accruals(back_end, paid_front, pending_revenue, periods, brought)
        return ledger, after, Settlement(None, settled, paid_front, pending_revenue, periods)
    defer = schedule.defer_shortfall
    uniform = bool((defer == defer[0]).all())
    defer_by_partner: BoolArray | bool = bool(defer[0]) if uniform else defer[group]
    if all_due:
        ledger, run = run_payout(
            budget,
            ledger,
            back_end + front_end,
            front_end,
            periods,
            defer=defer_by_partner,
            period_budget=brought,
        )
        settlement = Settlement(run, settled, paid_front, pending_revenue, periods)
        return ledger, Accruals.empty(group.shape), settlement
    committed = total(np.where(settled, 0, np.maximum(back_end, 0)))
    ledger, run = run_payout(
        budget,
        ledger,
        front_end + np.where(settled, back_end, 0),
        front_end,
        periods,
        settle=settled,
        defer=defer_by_partner,
        committed=committed,
        period_budget=brought,
    )
    after = Accruals(
        back_end=np.where(settled, 0, back_end),
        front_end=np.where(settled, 0, paid_front),
        revenue=np.where(settled, 0.0, pending_revenue),
        periods=0,
    )
    settlement = Settlement(
        run,
        settled,
        np.where(settled, paid_front, 0),
        np.where(settled, pending_revenue, 0.0),
        periods,
    )
    return ledger, after, settlement
