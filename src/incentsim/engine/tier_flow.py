"""Tier flows: how many partners move from each tier to each other from one period close to the
next, recorded as trajectories ``tier_flow/<from>-><to>``.

A partner's state at a close is its tier, ``unqualified``, or ``out`` (not in the program: not
yet recruited, or gone). Period ``p``'s flow goes from the state at close ``p - 1`` to the
state at close ``p``; for the first period, from the state at the start (the partners who start
in the program, in the tier they start in). Partners out at both closes are not counted. Each
trajectory is a count of partners per replication and period; nothing simulated depends on it.

>>> flow_name("gold", "platinum")
'tier_flow/gold->platinum'
>>> flow_states("tier_flow/gold->platinum")
('gold', 'platinum')
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["OUT", "TIER_FLOW_PREFIX", "TierFlows", "flow_name", "flow_states"]

#: Trajectories of partners moving between states are named ``tier_flow/<from>-><to>``.
TIER_FLOW_PREFIX = "tier_flow/"
#: The state of a partner not in the program at a close (not yet recruited, or gone).
OUT = "out"
_ARROW = "->"


def flow_name(source: str, target: str) -> str:
    """The trajectory name of the flow from state ``source`` to state ``target``."""
    return f"{TIER_FLOW_PREFIX}{source}{_ARROW}{target}"


def flow_states(name: str) -> tuple[str, str]:
    """``(from, to)`` of a ``tier_flow/<from>-><to>`` trajectory name."""
    source, _, target = name.removeprefix(TIER_FLOW_PREFIX).partition(_ARROW)
    return source, target


class TierFlows:
    """Counts of partners moving between states at each period close, per replication.

    Parameters
    ----------
    joined
        (replications, partners): who is in the program at the start.
    n_tiers
        Tiers of the program (the states are ``out``, ``unqualified`` and the tiers).
    periods
        Period closes in the horizon.
    """

    def __init__(self, joined: NDArray[np.bool_], n_tiers: int, periods: int) -> None:
        self.started = np.array(joined, dtype=bool)
        self.n_states = n_tiers + 2
        self.counts = np.zeros((self.started.shape[0], periods, self.n_states, self.n_states))
        self.state: NDArray[np.int64] | None = None

    def record(
        self,
        period: int,
        active: NDArray[np.bool_],
        tier: NDArray[np.int64],
        previous_tier: NDArray[np.int64],
    ) -> None:
        """Count the moves into each partner's state at this close (``tier``: -1 unqualified)."""
        now = np.where(active, tier + 2, 0)
        before = (
            self.state if self.state is not None else np.where(self.started, previous_tier + 2, 0)
        )
        k = self.n_states
        reps = now.shape[0]
        cell = np.arange(reps)[:, None] * k * k + before * k + now
        counts = np.bincount(cell.ravel(), minlength=reps * k * k).reshape(reps, k, k)
        self.counts[:, period] = counts
        self.state = now

    def trajectories(self, tier_names: Sequence[str]) -> dict[str, NDArray[np.float64]]:
        """``tier_flow/<from>-><to>`` -> (replications, periods) counts, ``out->out`` left out."""
        states = (OUT, "unqualified", *tier_names)
        return {
            flow_name(source, target): self.counts[:, :, i, j]
            for i, source in enumerate(states)
            for j, target in enumerate(states)
            if i or j
        }
