"""Closing days: each week's booked revenue dated on the week's business days (Monday-Friday).

Partners decide week by week; the deals a week closes are then spread over its five business
days, in order (index 0 the first, 4 the last):

* **natural closings** fall on a uniformly drawn day each. The week's closings are a gamma
  draw whose shape is its expected number of deals (a sum of exponential deal values); split
  over five equally likely days, each day's share is a flat Dirichlet with a fifth of that
  shape per day, so a partner closing one deal a week books it on one day, and one closing
  dozens spreads them evenly;
* **deals moved into the period** (pulled forward, stuffed) close as late as the period end
  allows, whichever of the period's last weeks the partner moved them in: they wait for its
  last week (:class:`PeriodEndClosings`) and close there, a share
  ``moved_deals_last_day_share`` of them on its last business day, that share of what is left
  on the day before, and so on, the remainder on its first day (Owan, Tsuru & Uehara 2015: 23%
  of a month's car sales on its last day under stair-steps);
* **deferred deals released** at the next period's start close on its first days, the same
  profile in reverse.

Drawing the days never touches the engine's other streams: each week has a stream of its own
(spawned once from the block's partner stream), so a run that dates only its periods' last
weeks and a simulated history that dates every week give the same days.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

#: Business days in a week.
BUSINESS_DAYS = 5


class PeriodEndClosings:
    """Deals moved into a period in its last weeks, waiting to close in its last week.

    A partner commits to a pulled deal in the week it decides to (its discount is priced from
    then: :func:`incentsim.engine.decisions.pull_options`, and the period's tally counts it
    from then), but the deal closes on the period's last business days, like the stock loaded
    in its last week: the week's booked revenue and deal count move to the last week.

    Parameters
    ----------
    shape
        The partner arrays' shape, ``(replications, partners)``.
    """

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.revenue: FloatArray = np.zeros(shape)
        self.deals: FloatArray = np.zeros(shape)

    def close(
        self, moved: FloatArray, moved_deals: FloatArray, last_week: bool
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """This week's ``moved`` revenue (in ``moved_deals`` deals), booked in the week's
        tally: what to add to the week's booked revenue and deals (minus what waits, in an
        earlier week; plus what waited, in the ``last_week``), and the moved revenue closing
        this week."""
        if not last_week:
            self.revenue = self.revenue + moved
            self.deals = self.deals + moved_deals
            return -moved, -moved_deals, np.zeros_like(moved)
        waited, waited_deals = self.revenue, self.deals
        self.revenue, self.deals = np.zeros_like(waited), np.zeros_like(waited_deals)
        return waited, waited_deals, moved + waited


def end_profile(last_day_share: float) -> FloatArray:
    """Share of a week's moved deals closed on each business day, ``(5,)``: ``last_day_share``
    on the last, that share of the rest on each earlier day, the remainder on the first."""
    left = (1.0 - last_day_share) ** np.arange(BUSINESS_DAYS)
    shares = last_day_share * left
    shares[-1] = left[-1]
    profile: FloatArray = np.array(shares[::-1], dtype=np.float64)
    return profile


def natural_split(rng: np.random.Generator, deals: FloatArray) -> FloatArray:
    """Share of each partner's natural closings on each business day, ``(..., 5)``: a flat
    Dirichlet with ``deals / 5`` per day (``deals``: the week's expected deal count)."""
    alpha = np.repeat((np.maximum(deals, 1e-6) / BUSINESS_DAYS)[..., None], BUSINESS_DAYS, -1)
    draws = rng.standard_gamma(alpha)
    total = draws.sum(axis=-1, keepdims=True)
    # A shape so small that every draw underflows (a sliver of a deal expected): its revenue,
    # next to nothing, is spread evenly.
    split: FloatArray = np.divide(
        draws, total, out=np.full_like(draws, 1.0 / BUSINESS_DAYS), where=total > 0
    )
    return split


def booked_by_day(
    natural: FloatArray,
    split: FloatArray,
    released: FloatArray,
    moved: FloatArray,
    last_day_share: float,
) -> FloatArray:
    """Revenue booked on each business day, ``(..., 5)``: ``natural`` closings by ``split``
    (:func:`natural_split`), ``released`` deferred deals on the first days and ``moved`` deals
    on the last (:func:`end_profile`)."""
    profile = end_profile(last_day_share)
    by_day: FloatArray = (
        natural[..., None] * split
        + released[..., None] * profile[::-1]
        + moved[..., None] * profile
    )
    return by_day
