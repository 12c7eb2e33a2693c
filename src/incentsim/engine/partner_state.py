"""What each partner carries from week to week: membership, relationship and sales in progress.

Plain data that the simulation's steps read and replace (:class:`~incentsim.engine.simulation.
Simulation`) and its recorder reads at each close (:class:`~incentsim.engine.recorder.Recorder`).
Every array is shaped ``(replications in a block, partner slots)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from incentsim.engine import days, decisions
from incentsim.population.behaviour import Behaviour
from incentsim.population.sample import Partners

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

__all__ = ["PartnerState"]


@dataclass
class PartnerState:
    """Each partner slot's state between two weeks.

    Loyalty is replaced at each change, never changed in place: the week's sales potential is
    kept while it is the same array (:meth:`Simulation._reach`).

    Attributes
    ----------
    joined, active
        Whether the slot has ever held a partner, and whether it holds one now.
    join_period, left_period
        The period the partner joined and left (-1: not yet, or never).
    loyalty
        Loyalty to the vendor, in [0, 1]: sets its share of wallet and its churn.
    trust
        Trust in the vendor's process, 1 until a late or short payout or a cut lets it down.
    effort
        Selling effort chosen last week (1 is normal).
    pipeline
        Revenue in the pipeline, closing at the rate the deal cycle gives.
    held
        Closings deferred, released at the next period (or window) start.
    period_end
        Deals moved into the period, waiting to close on its last business days.
    overhang
        Stuffed inventory still displacing the partner's next orders.
    returns, returns_next
        Returns of stuffed stock due this period and next.
    mdf_boost
        Weekly pipeline from MDF campaigns claimed at the last close.
    demand_kept
        Share of its normal repeat and renewal demand the partner keeps (customer
        satisfaction's consequence); ``None`` while that link is off.
    in_remediation
        Whether the partner is on a remediation plan this period.
    """

    joined: BoolArray
    active: BoolArray
    join_period: IntArray
    left_period: IntArray
    loyalty: FloatArray
    trust: FloatArray
    effort: FloatArray
    pipeline: FloatArray
    held: FloatArray
    period_end: days.PeriodEndClosings
    overhang: FloatArray
    returns: FloatArray
    returns_next: FloatArray
    mdf_boost: FloatArray
    demand_kept: FloatArray | None
    in_remediation: BoolArray

    @classmethod
    def opening(cls, partners: Partners, behaviour: Behaviour) -> PartnerState:
        """The state at the horizon's start: partners active from period 0 joined, at their
        initial loyalty, normal effort and a pipeline of one deal cycle of the capacity their
        share of wallet gives; the other slots empty until recruited."""
        shape = partners.group.shape
        joined = partners.active_from_period == 0
        loyalty = np.where(joined, partners.initial_loyalty, 0.0)
        pipeline = np.where(
            joined,
            partners.capacity
            * decisions.share_of_wallet(behaviour, loyalty)
            * partners.deal_cycle_weeks,
            0.0,
        )
        return cls(
            joined=joined.copy(),
            active=joined.copy(),
            join_period=np.where(joined, 0, -1),
            left_period=np.full(shape, -1),
            loyalty=loyalty,
            trust=np.ones(shape),
            effort=np.ones(shape),
            pipeline=pipeline,
            held=np.zeros(shape),
            period_end=days.PeriodEndClosings(shape),
            overhang=np.zeros(shape),
            returns=np.zeros(shape),
            returns_next=np.zeros(shape),
            mdf_boost=np.zeros(shape),
            demand_kept=np.ones(shape) if behaviour.satisfaction_demand_effect > 0 else None,
            in_remediation=np.zeros(shape, dtype=np.bool_),
        )


def update_trust(
    state: PartnerState, behaviour: Behaviour, trust: FloatArray, who: BoolArray
) -> None:
    """Partners ``who`` now trust the vendor's process at ``trust``: trust lost costs loyalty at
    once, ``behaviour.procedural_weight`` points per point lost (procedural fairness weighs at
    least as much as the amount: Kumar, Scheer & Steenkamp 1995). Used where a payout arrives
    cut or late and where a new version cuts what partners are paid."""
    lost = np.minimum(trust - state.trust, 0.0)
    state.loyalty = np.where(
        who, np.clip(state.loyalty + behaviour.procedural_weight * lost, 0.0, 1.0), state.loyalty
    )
    state.trust = np.where(who, trust, state.trust)


def leave(state: PartnerState, leaving: BoolArray, period: int) -> None:
    """Partners ``leaving`` at the close of ``period`` stop selling; their pipeline and the
    deals they held back go with them."""
    state.active &= ~leaving
    state.left_period = np.where(leaving, period, state.left_period)
    state.pipeline = np.where(leaving, 0.0, state.pipeline)
    state.held = np.where(leaving, 0.0, state.held)


def join(
    state: PartnerState, recruits: BoolArray, period: int, initial_loyalty: FloatArray
) -> None:
    """``recruits`` join at the start of ``period`` at their ``initial_loyalty``, full trust,
    normal effort and all of their normal demand.

    A recruit starts at normal effort: the slot's effort drifted toward targets priced on no
    sales while the partner had not joined, and that drift is not the partner's.
    """
    state.joined |= recruits
    state.active |= recruits
    state.join_period = np.where(recruits, period, state.join_period)
    state.loyalty = np.where(recruits, initial_loyalty, state.loyalty)
    state.trust = np.where(recruits, 1.0, state.trust)
    state.effort = np.where(recruits, 1.0, state.effort)
    if state.demand_kept is not None:
        state.demand_kept = np.where(recruits, 1.0, state.demand_kept)
