"""Tail risk: one conditional value at risk (CVaR) for the optimizer and the stress test.

CVaR at level ``tail`` is the mean of the worst ``tail`` share of outcomes, in the
Rockafellar-Uryasev form ``min over eta of eta + mean((x - eta)+) / tail``: when ``tail x n``
is not a whole number of replications, the last one counts for its fraction (so the value moves
smoothly with ``tail``), and a tail smaller than one replication is the worst replication. The
optimizer's MILP constrains exactly this quantity (Rockafellar & Uryasev 2000), so a design's
CVaR in the stress test is the one the optimizer bounded.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["cvar"]


def cvar(values: ArrayLike, tail: float, *, worst: Literal["high", "low"] = "high") -> float:
    """The mean of the worst ``tail`` share of ``values`` (NaN values left out).

    Parameters
    ----------
    values
        One outcome per scenario or replication.
    tail
        The share of the worst outcomes averaged, in (0, 1].
    worst
        ``"high"`` when high values are bad (a cost), ``"low"`` when low ones are (retention).

    Returns
    -------
    float
        The conditional value at risk; NaN when no value is present.

    >>> cvar([1.0, 2.0, 3.0, 10.0], 0.25)
    10.0
    >>> cvar([1.0, 2.0, 3.0, 10.0], 0.5)
    6.5
    >>> round(cvar([1.0, 2.0, 3.0, 10.0], 0.3), 4)  # 1.2 replications: 10 and a fifth of 3
    8.8333
    >>> cvar([1.0, 2.0, 3.0, 10.0], 0.5, worst="low")
    1.5
    """
    if not 0.0 < tail <= 1.0:
        raise ValueError(f"a tail is a share in (0, 1], not {tail:g}")
    present = np.asarray(values, dtype=np.float64).ravel()
    present = present[~np.isnan(present)]
    if not len(present):
        return math.nan
    if worst == "low":
        return -cvar(-present, tail)
    ordered = np.sort(present)[::-1]
    n = len(ordered)
    above = np.concatenate([[0.0], np.cumsum(ordered)[:-1]])  # sum of the values above each one
    count = np.arange(n)
    return float((ordered + (above - count * ordered) / (tail * n)).min())
