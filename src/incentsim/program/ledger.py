"""The program's money: payout runs against a budget and a reserve fund, to the cent.

A payout run settles what partners are owed (earlier balances plus the periods the run covers)
against the run's budget. The reserve absorbs peaks; when budget and reserve are not enough the
shortfall policy either cuts every partner pro rata or defers the unpaid part to the next run.
Front-end rebates were paid on invoice: they are charged to the budget first and never cut, and
if they exceed budget and reserve the vendor funds the excess (an *overrun*).

Accounting identities (all int64 cents, checked by the tests):

* per partner and run: ``owed_before + accrued = paid + cut + owed_after``;
* per run: ``reserve_before + budget + contribution + overrun
  = paid + returned + reserve_after``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from incentsim.program.spec import Budget

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Ledger:
    """What is owed to each partner (``(..., N)``) and the reserve balance (``(...)``), in cents.

    A negative ``owed`` is a receivable: clawbacks beyond what the partner had earned, recovered
    from later payouts.
    """

    owed: IntArray
    reserve: IntArray


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

    @property
    def shortfall(self) -> IntArray:
        """What partners were due but not paid in this run (cut or deferred)."""
        return (self.cut + self.deferred).sum(axis=-1)


def open_ledger(budget: Budget, shape: tuple[int, ...]) -> Ledger:
    """A ledger before the first run: nothing owed, the reserve at its initial balance.

    Parameters
    ----------
    budget
        The program's budget settings.
    shape
        Shape of the per-partner arrays ``(..., N)``.
    """
    reserve = np.full(shape[:-1], round(budget.reserve.initial * 100), dtype=np.int64)
    return Ledger(owed=np.zeros(shape, dtype=np.int64), reserve=reserve)


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
    return (base + bonus).astype(np.int64)


def run_payout(
    budget: Budget,
    ledger: Ledger,
    accrued: IntArray,
    front_end: IntArray,
    periods: int = 1,
) -> tuple[Ledger, PayoutRun]:
    """Settle partners' accounts in one payout run.

    Parameters
    ----------
    budget
        The program's budget settings.
    ledger
        Balances before the run.
    accrued
        Cents accrued per partner since the last run (``(..., N)``; negative for net clawbacks).
    front_end
        The part of ``accrued`` already paid on invoice (never cut).
    periods
        Number of periods the run covers (its budget is ``periods * budget.per_period``).

    Returns
    -------
    (Ledger, PayoutRun)
    """
    reserve_before = ledger.reserve
    balance = ledger.owed + accrued - front_end
    due = np.maximum(balance, 0)
    due_total = due.sum(axis=-1) + front_end.sum(axis=-1)
    if budget.per_period is None:
        run_budget = due_total
    else:
        run_budget = np.full_like(reserve_before, round(budget.per_period * 100) * periods)
    contribution = np.full_like(
        reserve_before, round(budget.reserve.contribution.fixed_per_period * 100) * periods
    )
    cash = run_budget + contribution + reserve_before
    front_total = front_end.sum(axis=-1)
    overrun = np.maximum(front_total - cash, 0)
    for_back_end = cash + overrun - front_total
    back_paid = pro_rata(due, for_back_end)
    shortfall = due - back_paid
    if budget.shortfall_policy == "defer":
        deferred, cut = shortfall, np.zeros_like(shortfall)
    else:
        deferred, cut = np.zeros_like(shortfall), shortfall
    paid = back_paid + front_end
    paid_total = paid.sum(axis=-1)
    # Whatever of budget + contribution is unspent may go to the reserve; the rest is returned.
    spent_from_budget = np.minimum(paid_total - overrun, run_budget + contribution)
    unspent = run_budget + contribution - spent_from_budget
    drawn = np.maximum(paid_total - overrun - (run_budget + contribution), 0)
    share = budget.reserve.contribution.unspent_share
    to_reserve = np.floor(unspent * share).astype(np.int64)
    to_reserve = np.maximum(to_reserve, np.minimum(contribution, unspent))
    if budget.reserve.max is not None:
        room = np.maximum(round(budget.reserve.max * 100) - (reserve_before - drawn), 0)
        to_reserve = np.minimum(to_reserve, room)
    returned = unspent - to_reserve
    reserve_after = reserve_before - drawn + to_reserve
    owed_after = np.where(balance < 0, balance, deferred)
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
    )
    return Ledger(owed=owed_after, reserve=reserve_after), run
