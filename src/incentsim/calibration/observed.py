"""What a history shows, as arrays: the same shape from a transactions file and a simulation.

Moments (:mod:`incentsim.calibration.moments`) are computed from an :class:`Observed`, so the
history's moments and the model's simulated moments are the same function of the same arrays:

* ``weekly``: revenue booked per partner and week of the calendar;
* ``returns``: revenue returned per partner and period;
* ``active`` (derived): whether the partner booked revenue in a period;
* ``segment``: each partner's segment, as an index into ``segments``;
* ``claims``: MDF claimed per partner and period (``None``: the history records none);
* ``region``: each partner's region, as an index into ``regions``.

Arrays carry a leading replications axis (one replication for a history).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from incentsim.calendar import Calendar
    from incentsim.engine.recorder import Recorder
    from incentsim.population.sample import Partners


@dataclass(frozen=True)
class Observed:
    """A history's (or a simulation's) revenue, returns and presence per partner.

    Attributes
    ----------
    weekly
        Revenue, shape ``(reps, partners, weeks)``.
    returns
        Returns, shape ``(reps, partners, periods)``.
    segment
        Segment index, shape ``(reps, partners)``.
    segments
        Segment names.
    weeks_per_period
        Weeks in a period.
    claims
        MDF claimed, shape ``(reps, partners, periods)``; ``None`` when the history records
        no claim (a program without MDF, or claims kept elsewhere).
    region
        Region index, shape ``(reps, partners)`` (``None``: not recorded).
    regions
        Region names.
    """

    weekly: np.ndarray
    returns: np.ndarray
    segment: np.ndarray
    segments: tuple[str, ...]
    weeks_per_period: int
    claims: np.ndarray | None = None
    region: np.ndarray | None = None
    regions: tuple[str, ...] = ()

    @property
    def periods(self) -> int:
        """Periods observed."""
        return int(self.returns.shape[2])

    @property
    def revenue(self) -> np.ndarray:
        """Revenue per partner and period, shape ``(reps, partners, periods)``."""
        r, n, _ = self.weekly.shape
        weekly = self.weekly.reshape(r, n, self.periods, self.weeks_per_period)
        return np.asarray(weekly.sum(axis=3))

    @property
    def active(self) -> np.ndarray:
        """Whether a partner booked revenue in a period, shape ``(reps, partners, periods)``: a
        partner has left after the last period in which it booked revenue (a history's
        snapshots and claims do not show presence, and a simulation keeps writing them)."""
        return self.revenue > 0

    def take(self, partners: np.ndarray) -> Observed:
        """The same history restricted to (or resampled into) the given partner indices."""
        return Observed(
            self.weekly[:, partners],
            self.returns[:, partners],
            self.segment[:, partners],
            self.segments,
            self.weeks_per_period,
            None if self.claims is None else self.claims[:, partners],
            None if self.region is None else self.region[:, partners],
            self.regions,
        )

    def replication(self, r: int) -> Observed:
        """Replication ``r`` alone (a simulated block's ``r``-th history)."""
        return Observed(
            self.weekly[r : r + 1],
            self.returns[r : r + 1],
            self.segment[r : r + 1],
            self.segments,
            self.weeks_per_period,
            None if self.claims is None else self.claims[r : r + 1],
            None if self.region is None else self.region[r : r + 1],
            self.regions,
        )

    def periods_from(self, first: int) -> Observed:
        """The history from period ``first`` (0-based) on."""
        wpp = self.weeks_per_period
        return Observed(
            self.weekly[:, :, first * wpp :],
            self.returns[:, :, first:],
            self.segment,
            self.segments,
            wpp,
            None if self.claims is None else self.claims[:, :, first:],
            self.region,
            self.regions,
        )

    def first_periods(self, periods: int) -> Observed:
        """The history's first ``periods`` periods."""
        weeks = periods * self.weeks_per_period
        return Observed(
            self.weekly[:, :, :weeks],
            self.returns[:, :, :periods],
            self.segment,
            self.segments,
            self.weeks_per_period,
            None if self.claims is None else self.claims[:, :, :periods],
            self.region,
            self.regions,
        )


def observed_history(
    transactions: pd.DataFrame,
    calendar: Calendar,
    segments: tuple[str, ...],
    regions: tuple[str, ...] = (),
) -> tuple[Observed, pd.Index]:
    """A transactions history (the ``payout`` format) as an :class:`Observed`.

    Parameters
    ----------
    transactions
        Rows as :func:`~incentsim.payout.transactions.read_transactions` or
        :func:`~incentsim.montecarlo.history.simulate_history` gives them.
    calendar
        The calendar the dates follow; its ``horizon_periods`` are the periods observed.
    segments
        The population's segment names (every row's segment must be one of them).
    regions
        The population's region names (default: the regions are not kept).

    Returns
    -------
    (Observed, pandas.Index)
        The arrays and the partner ids, in the order of the partner axis (sorted).
    """
    dates = pd.to_datetime(transactions["date"])
    days = (dates - pd.Timestamp(calendar.start_date)).dt.days.to_numpy()
    weeks = calendar.horizon_weeks
    week = days // 7
    inside = (week >= 0) & (week < weeks)
    rows = transactions.loc[inside]
    week = week[inside]
    ids = pd.Index(sorted(rows["partner_id"].unique()), name="partner_id")
    who = ids.get_indexer(rows["partner_id"])
    n, periods = len(ids), calendar.horizon_periods
    amount = pd.to_numeric(rows["amount"], errors="coerce").fillna(0.0).to_numpy()
    returned = pd.to_numeric(rows["returned_amount"], errors="coerce").fillna(0.0).to_numpy()
    period = week // calendar.weeks_per_period
    weekly = np.zeros((n, weeks))
    np.add.at(weekly, (who, week), amount)
    returns = np.zeros((n, periods))
    np.add.at(returns, (who, period), returned)
    claims = np.zeros((n, periods))
    if "mdf_claim" in rows:
        claimed = pd.to_numeric(rows["mdf_claim"], errors="coerce").fillna(0.0).to_numpy()
        np.add.at(claims, (who, period), claimed)
    first = rows.groupby("partner_id")["segment"].first().reindex(ids)
    segment = pd.Index(segments).get_indexer(first.to_numpy())
    region = None
    if regions and "region" in rows:
        where = rows.groupby("partner_id")["region"].first().reindex(ids)
        region = pd.Index(regions).get_indexer(where.to_numpy())[None]
    observed = Observed(
        weekly[None],
        returns[None],
        segment[None],
        segments,
        calendar.weeks_per_period,
        claims[None] if claims.any() else None,
        region,
        tuple(regions) if region is not None else (),
    )
    return observed, ids


def observed_simulation(recorder: Recorder, partners: Partners, weeks_per_period: int) -> Observed:
    """A simulated block (run with ``recorder.keep_partner_history()``) as an :class:`Observed`."""
    assert recorder.partner_weeks is not None
    periods = recorder.partner_periods
    return Observed(
        np.asarray(recorder.partner_weeks["revenue"]),
        np.stack([p["returns"] for p in periods], axis=2),
        np.asarray(partners.segment),
        tuple(partners.segment_names),
        weeks_per_period,
        np.stack([p["mdf_claims"] for p in periods], axis=2),
        np.asarray(partners.region),
        tuple(partners.region_names),
    )
