"""Category awards and rankings: prizes for the best partners of a pool on one metric.

An award (:class:`~incentsim.program.spec.Award`) is assessed at the close of every
``cadence``-th period on that window of periods: the partners of each pool (the program, a
segment or a region) whose size falls in the award's size band and who sold at least its
minimum revenue are ranked on the award's metric, and the best ``winners`` (or the best
``share`` of them, rounded up) are each paid the prize. The prize is one more payout component
(``awards``), outside the caps and the satisfaction gate, settled through the same payout
schedule and budget pool as every other component (:mod:`incentsim.program.ledger`).

:func:`compile_awards` turns a program's awards into :class:`AwardTerms`; :func:`assess_awards`
is the rule the rules engine applies at every close, over simulated partners and over real
transactions alike; :func:`pool_ranks` and :func:`cutoffs` rank partners
inside their pools, for the close and for the partners' anticipation of it
(:mod:`incentsim.engine.tournament`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from incentsim.program.spec import Program
from incentsim.quantities import to_cents

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Revenue per which ``new_logo_rate`` counts new customers.
LOGO_RATE_PER = 100_000.0

#: Metrics that compare a window with the previous one (awarded from the second window).
NEEDS_PREVIOUS = ("growth", "improvement")

#: Revenue a previous window needs for growth and improvement to be scored on it (a cent).
MIN_PREVIOUS = 0.01


@dataclass(frozen=True)
class AwardTerms:
    """A program's awards, ``K`` of them, compiled: per award ``(K,)`` unless said otherwise.

    ``prize`` is per group and award ``(G, K)`` (the only term an override can change);
    ``pool`` gives each group's pool per award ``(K, G)`` (all 0 for a program-wide award, the
    segment's or the region's index otherwise) and ``n_pools`` how many pools each award has.
    ``winners`` is 0 where an award names a ``share`` instead (and ``share`` 0 where it names a
    number of winners).
    """

    names: tuple[str, ...]
    metric: tuple[str, ...]
    prize: FloatArray
    winners: IntArray
    share: FloatArray
    pool: IntArray
    n_pools: IntArray
    band_low: FloatArray
    band_high: FloatArray
    cadence: IntArray
    min_revenue: FloatArray

    @classmethod
    def none(cls, n_groups: int = 1) -> AwardTerms:
        """No awards (for a program of ``n_groups`` groups)."""
        ints, floats = np.zeros(0, dtype=np.int64), np.zeros(0)
        return cls(
            names=(),
            metric=(),
            prize=np.zeros((n_groups, 0)),
            winners=ints,
            share=floats,
            pool=np.zeros((0, n_groups), dtype=np.int64),
            n_pools=ints,
            band_low=floats,
            band_high=floats,
            cadence=ints,
            min_revenue=floats,
        )

    @property
    def count(self) -> int:
        """Number of awards."""
        return len(self.names)

    def assessed(self, period: int) -> BoolArray:
        """Per award, whether the close of ``period`` (0-based) ends one of its windows."""
        ends: BoolArray = (period + 1) % self.cadence == 0
        return ends


def compile_awards(
    program: Program,
    resolved: Sequence[Program],
    segments: Sequence[str],
    regions: Sequence[str],
) -> AwardTerms:
    """The :class:`AwardTerms` of ``program``, whose groups (``resolved``, segment-major over
    ``segments`` x ``regions``) each resolve its overrides."""
    awards = list(program.awards.values())
    if not awards:
        return AwardTerms.none(len(resolved))
    n_regions = len(regions)
    groups = np.arange(len(resolved))
    by_within = {
        "program": (np.zeros_like(groups), 1),
        "segment": (groups // n_regions, len(segments)),
        "region": (groups % n_regions, n_regions),
    }
    return AwardTerms(
        names=tuple(program.awards),
        metric=tuple(a.metric for a in awards),
        prize=np.array([[p.awards[k].prize for k in program.awards] for p in resolved]),
        winners=np.array([a.winners or 0 for a in awards], dtype=np.int64),
        share=np.array([a.share or 0.0 for a in awards]),
        pool=np.array([by_within[a.within][0] for a in awards], dtype=np.int64),
        n_pools=np.array([by_within[a.within][1] for a in awards], dtype=np.int64),
        band_low=np.array([a.size_band[0] for a in awards]),
        band_high=np.array([a.size_band[1] for a in awards]),
        cadence=np.array([a.cadence_periods for a in awards], dtype=np.int64),
        min_revenue=np.array([a.min_revenue for a in awards]),
    )


@dataclass(frozen=True)
class AwardState:
    """Each partner's standing in the awards' current windows, ``(..., N, K)``: revenue and new
    logos so far in the window, and revenue in the previous window."""

    window_revenue: FloatArray
    window_logos: FloatArray
    previous: FloatArray


def initial_awards(terms: AwardTerms, shape: tuple[int, ...]) -> AwardState | None:
    """The awards' state before the first period (``None`` for a program without awards)."""
    if not terms.count:
        return None
    empty = np.zeros((*shape, terms.count))
    return AwardState(window_revenue=empty, window_logos=empty.copy(), previous=empty.copy())


def scores(
    metric: str, revenue: FloatArray, logos: FloatArray, csat: FloatArray, previous: FloatArray
) -> tuple[FloatArray, BoolArray]:
    """A window's score on ``metric`` per partner, and whether the metric can be scored (a
    previous window with revenue, for growth and improvement)."""
    scored = (
        previous >= MIN_PREVIOUS
        if metric in NEEDS_PREVIOUS
        else np.ones(revenue.shape, dtype=np.bool_)
    )
    if metric == "revenue":
        value = revenue
    elif metric == "growth":
        value = np.divide(revenue, previous, out=np.zeros_like(revenue), where=scored) - 1.0
    elif metric == "improvement":
        value = revenue - previous
    elif metric == "new_logos":
        value = logos
    elif metric == "new_logo_rate":
        value = np.divide(
            logos * LOGO_RATE_PER, revenue, out=np.zeros_like(revenue), where=revenue > 0
        )
    else:
        value = np.broadcast_to(csat, revenue.shape).astype(np.float64)
    return value, scored


@dataclass(frozen=True)
class _PoolOrder:
    """Partners sorted by pool, then by value inside it (non-members last), ``(..., N)``: the
    sorted ``order`` of partner indices, and per partner its ``rank`` in its pool (0 first,
    ``N`` for non-members), where its pool starts in ``order`` and how many members it has
    (0 for non-members)."""

    order: IntArray
    rank: IntArray
    start: IntArray
    count: IntArray


def _pool_order(
    values: FloatArray, members: BoolArray, pool: IntArray, n_pools: int, descending: bool
) -> _PoolOrder:
    """Every pool sorted at once (ties go to the lower index): a stable sort on the values,
    then a stable sort on the pools (a radix sort: pool numbers are small integers)."""
    n = values.shape[-1]
    pool_key = np.where(members, pool, n_pools)
    by_value = np.argsort(-values if descending else values, axis=-1, kind="stable")
    pools = np.take_along_axis(pool_key, by_value, axis=-1).astype(np.uint16)
    order = np.take_along_axis(by_value, np.argsort(pools, axis=-1, kind="stable"), axis=-1)
    position = np.empty_like(order)
    np.put_along_axis(position, order, np.broadcast_to(np.arange(n), order.shape), axis=-1)
    counts = np.stack([(pool_key == p).sum(axis=-1) for p in range(n_pools)], axis=-1)
    starts = np.cumsum(counts, axis=-1) - counts
    own = np.where(members, pool, 0)
    start = np.take_along_axis(starts, own, axis=-1)
    count = np.where(members, np.take_along_axis(counts, own, axis=-1), 0)
    return _PoolOrder(order, np.where(members, position - start, n), start, count)


def pool_ranks(
    values: FloatArray, members: BoolArray, pool: IntArray, n_pools: int, descending: bool
) -> tuple[IntArray, IntArray]:
    """Each member's rank (0 first) on ``values`` inside its pool, and its pool's member count
    (arrays ``(..., N)``; ties go to the lower index; non-members get rank ``N`` and count 0).

    ``pool`` gives each partner's pool, ``(..., N)``.
    """
    ordered = _pool_order(values, members, pool, n_pools, descending)
    return ordered.rank, ordered.count


def banded(
    terms: AwardTerms, k: int, size: FloatArray, eligible: BoolArray, pool: IntArray
) -> BoolArray:
    """The ``eligible`` partners whose ``size`` falls in award ``k``'s size band inside their
    pool (by mid-rank quantile: of 4 partners, the smaller two are the band ``[0, 0.5]``)."""
    low, high = float(terms.band_low[k]), float(terms.band_high[k])
    if low == 0.0 and high == 1.0:
        return eligible
    rank, count = pool_ranks(size, eligible, pool, int(terms.n_pools[k]), descending=False)
    quantile = (rank + 0.5) / np.maximum(count, 1)
    inside: BoolArray = eligible & (quantile >= low) & ((quantile < high) | (high >= 1.0))
    return inside


def winner_counts(terms: AwardTerms, k: int, members: IntArray) -> IntArray:
    """How many of a pool's ``members`` (counts) award ``k`` names winners."""
    counts: IntArray = (
        np.minimum(terms.winners[k], members)
        if terms.winners[k] > 0
        else np.ceil(terms.share[k] * members - 1e-9).astype(np.int64)
    )
    return counts


def cutoffs(
    terms: AwardTerms, k: int, values: FloatArray, members: BoolArray, pool: IntArray
) -> FloatArray:
    """What each member must beat to win award ``k``, ``(..., N)``: the best value among the
    other members of its pool outside the winners' places if it holds one, else the last
    winner's (``-inf`` when its pool has places for all).
    """
    n = values.shape[-1]
    ordered = _pool_order(values, members, pool, int(terms.n_pools[k]), descending=True)
    places = winner_counts(terms, k, ordered.count)
    ranked = np.take_along_axis(values, ordered.order, axis=-1)
    last_winner = np.take_along_axis(ranked, np.clip(ordered.start + places - 1, 0, n - 1), -1)
    first_out = np.take_along_axis(ranked, np.clip(ordered.start + places, 0, n - 1), -1)
    first_out = np.where(places < ordered.count, first_out, -np.inf)
    cut = np.where(ordered.rank < places, first_out, last_winner)
    inside: FloatArray = np.where(members, cut, -np.inf)
    return inside


@dataclass(frozen=True)
class AwardResult:
    """One close's awards: the state after it, what each partner won in cents ``(..., N)``, and
    per partner and award ``(..., N, K)`` whether it won, its rank (0 first; -1 outside the
    ranking) and the number ranked in its pool (0 when the award was not assessed)."""

    state: AwardState | None
    cents: IntArray
    won: BoolArray
    rank: IntArray
    ranked: IntArray


def assess_awards(
    terms: AwardTerms,
    state: AwardState | None,
    group: IntArray,
    period: int,
    revenue: FloatArray,
    new_logos: FloatArray,
    csat: FloatArray,
) -> AwardResult:
    """Add a period to the awards' windows and pay the awards whose window it ends.

    Parameters
    ----------
    terms
        The program's compiled awards.
    state
        The awards' state before the period (``None`` without awards).
    group
        Each partner's group, ``(..., N)``.
    period
        The period closing (0-based).
    revenue, new_logos, csat
        The period's revenue, new logos and satisfaction per partner.
    """
    shape = group.shape
    if state is None:
        none = np.zeros((*shape, 0), dtype=np.int64)
        return AwardResult(None, np.zeros(shape, dtype=np.int64), none.astype(np.bool_), none, none)
    window_revenue = state.window_revenue + revenue[..., None]
    window_logos = state.window_logos + new_logos[..., None]
    won = np.zeros((*shape, terms.count), dtype=np.bool_)
    rank = np.full((*shape, terms.count), -1, dtype=np.int64)
    ranked = np.zeros((*shape, terms.count), dtype=np.int64)
    cents = np.zeros(shape, dtype=np.int64)
    ends = terms.assessed(period)
    for k in (int(k) for k in np.flatnonzero(ends)):
        sold = window_revenue[..., k]
        pool = terms.pool[k][group]
        eligible = (sold > 0) & (sold >= terms.min_revenue[k])
        size = np.where(state.previous[..., k] > 0, state.previous[..., k], sold)
        members = banded(terms, k, size, eligible, pool)
        value, scored = scores(
            terms.metric[k], sold, window_logos[..., k], csat, state.previous[..., k]
        )
        members = members & scored
        order, count = pool_ranks(value, members, pool, int(terms.n_pools[k]), descending=True)
        won[..., k] = members & (order < winner_counts(terms, k, count))
        rank[..., k] = np.where(members, order, -1)
        ranked[..., k] = count
        cents += np.where(won[..., k], to_cents(terms.prize[group, k]), 0)
    after = AwardState(
        window_revenue=np.where(ends, 0.0, window_revenue),
        window_logos=np.where(ends, 0.0, window_logos),
        previous=np.where(ends, window_revenue, state.previous),
    )
    return AwardResult(after, cents, won, rank, ranked)
