"""How partners respond to category awards: the value of effort in a rank-order tournament.

An award pays a prize to the best partners of a pool (:mod:`incentsim.program.awards`). What one
more unit of revenue is worth to a partner is the prize times the rise in its chance of winning
(Lazear & Rosen 1981): with its window's result uncertain, the chance is
``Phi((expected - needed) / sd)``, where ``needed`` is the revenue at which its score would pass
the cut-off (the best rival outside the winners' places if it holds one, else the last winner)
and ``sd`` combines its own forecast uncertainty with its uncertainty about the cut-off
(``behaviour.award_cutoff_noise``). The marginal value is the prize times the density there,
``prize * phi(z) / sd``: highest for partners near the cut-off, small for those far above it
(they win anyway) and far below it (they cannot win), as Casas-Arce & Martinez-Jerez (2009)
find in a retail tournament. The cut-off comes from the rivals' expected results, ranked by the
award's own rule and read every :data:`STANDINGS_WEEKS` weeks (a monthly leaderboard).

Only metrics that revenue moves draw effort: top revenue, growth, improvement and new logos
(won in proportion to deals). A new-logo rate or a satisfaction award rewards what selling
more does not change, so it leaves effort as it is (its prize still counts in what the
partner earns).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from incentsim.population.behaviour import Behaviour
from incentsim.program.awards import (
    AwardState,
    AwardTerms,
    banded,
    cutoffs,
    scores,
)
from incentsim.quantities import MAX_TOTAL

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Award metrics whose score rises with revenue, so effort changes the chance of winning.
EFFORT_METRICS = ("revenue", "growth", "improvement", "new_logos")


def revenue_needed(
    metric: str, cut: FloatArray, previous: FloatArray, logos_per_revenue: FloatArray
) -> FloatArray:
    """The window revenue at which a partner's score on ``metric`` equals ``cut``."""
    if metric == "revenue":
        return cut
    if metric == "growth":
        return previous * (1.0 + cut)
    if metric == "improvement":
        return previous + cut
    return np.divide(
        cut, logos_per_revenue, out=np.full_like(cut, np.inf), where=logos_per_revenue > 0
    )


#: Weeks between two readings of the standings (a monthly leaderboard): partners judge their
#: distance to a cut-off every week, against rivals' results as last published.
STANDINGS_WEEKS = 4


@dataclass(frozen=True)
class Standings:
    """Per award (``None`` for one whose chance effort cannot move, or whose window ends after
    the horizon), the score each partner must beat, ``(R, N)`` (``-inf``: nothing to beat or not
    in the running), read from every partner's expected result in the window; and the periods
    the award's window has when it ends with the current one (else ``None``)."""

    cut: tuple[FloatArray | None, ...]
    ends_now: tuple[bool, ...]


def standings(
    terms: AwardTerms,
    state: AwardState,
    group: IntArray,
    period: int,
    horizon_periods: int,
    expected: FloatArray,
    logos_per_revenue: FloatArray,
) -> Standings:
    """The awards' cut-offs as partners read them from their rivals' expected results: the
    award's own ranking rule (:func:`~incentsim.program.awards.cutoffs`) applied to every
    partner's expected window (revenue so far plus ``expected`` this period)."""
    cuts: list[FloatArray | None] = []
    ends: list[bool] = []
    for k in range(terms.count):
        metric = terms.metric[k]
        cadence = int(terms.cadence[k])
        window_end = (period // cadence + 1) * cadence
        ends.append(window_end == period + 1)
        if metric not in EFFORT_METRICS or window_end > horizon_periods:
            cuts.append(None)
            continue
        previous = state.previous[..., k]
        sold = state.window_revenue[..., k] + expected
        logos = state.window_logos[..., k] + expected * logos_per_revenue
        pool = terms.pool[k][group]
        eligible = (sold > 0) & (sold >= terms.min_revenue[k])
        size = np.where(previous > 0, previous, sold)
        value, scored = scores(metric, sold, logos, np.zeros_like(sold), previous)
        members = banded(terms, k, size, eligible, pool) & scored
        cuts.append(cutoffs(terms, k, value, members, pool))
    return Standings(tuple(cuts), tuple(ends))


def award_rate(
    behaviour: Behaviour,
    terms: AwardTerms,
    state: AwardState,
    group: IntArray,
    read: Standings,
    expected: FloatArray,
    spread: FloatArray,
    logos_per_revenue: FloatArray,
    share_this: FloatArray,
) -> FloatArray:
    """What one more unit of revenue this period is worth through the awards' prizes, per
    partner ``(R, N)``, in money of this period's payout (before present bias).

    Parameters
    ----------
    behaviour
        The partner model's constants (``award_cutoff_noise``).
    terms, state
        The program's awards and their windows so far.
    group
        Each partner's group.
    read
        The standings as last read (:func:`standings`).
    expected, spread
        Each partner's expected revenue this period and its uncertainty (sd).
    logos_per_revenue
        New logos a partner wins per unit of revenue.
    share_this
        Share of extra pipeline that closes this period: for an award whose window ends with
        this period, revenue closing later counts in the next window.
    """
    rate = np.zeros_like(expected)
    for k, cut in enumerate(read.cut):
        if cut is None:
            continue
        contested = np.isfinite(cut)
        previous = state.previous[..., k]
        sold = state.window_revenue[..., k] + expected
        # Revenue beyond any real partner's (a growth cut-off over a tiny previous window):
        # out of reach, and kept finite.
        needed = np.clip(
            revenue_needed(
                terms.metric[k], np.where(contested, cut, 0.0), previous, logos_per_revenue
            ),
            0.0,
            MAX_TOTAL,
        )
        sd = np.maximum(np.sqrt(spread**2 + (behaviour.award_cutoff_noise * needed) ** 2), 1e-9)
        z = np.where(contested, (sold - needed) / sd, np.inf)
        density = np.exp(-0.5 * np.minimum(z * z, 1e4)) / (np.sqrt(2.0 * np.pi) * sd)
        worth = np.where(contested, terms.prize[group, k] * density, 0.0)
        if read.ends_now[k]:
            worth = worth * share_this
        rate += worth
    return rate
