"""Weekly market conditions per replication and partner group: demand, supply, price, shocks.

:func:`market_path` turns a scenario's :class:`~incentsim.market.spec.Market` into arrays shaped
``(R, W, G)``: ``R`` replications, ``W`` weeks of the horizon and ``G`` segment × region groups
(segment-major, the order of :attr:`incentsim.population.sample.Partners.group`).

Demand is the product of

* a trend, compounded weekly from ``trend_per_year`` (a year is ``weeks_per_period ×
  periods_per_year`` weeks), equal to 1 in week 0;
* seasonality: one multiplier per period of the year, normalised to average 1;
* a common log-noise factor per replication, an AR(1) process with coefficient
  :data:`NOISE_PERSISTENCE` and weekly innovations of standard deviation ``demand_noise``,
  mean-corrected so its expectation is 1 in every week;
* the demand shocks (``recession`` × (1 - magnitude), ``surge`` × (1 + magnitude)).

Each shock acts in weeks ``[start_week, start_week + duration_weeks)`` (cut at the horizon).
With ``ramp_weeks = k > 0`` its intensity over the first ``k`` weeks is ``1/(k+1), 2/(k+1), ...``
and 1 afterwards. With ``probability < 1`` each replication draws whether it occurs. Multipliers
combine multiplicatively, the competitor offer and the payout delay additively.

Random streams: the noise and every shock draw from their own child of ``rng``
(``rng.spawn``), so adding a shock at the end of the list or changing one shock's probability
leaves the other draws unchanged (common random numbers across scenario variants).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from incentsim.calendar import Calendar
from incentsim.groups import Groups
from incentsim.market.spec import Market, Shock

#: AR(1) coefficient of the weekly log demand factor (0.9: a shock to demand halves in ~6.6 weeks).
NOISE_PERSISTENCE: float = 0.9


@dataclass(frozen=True, eq=False)
class MarketPath:
    """Market conditions for a block of replications, week by week and group by group.

    Attributes
    ----------
    demand : numpy.ndarray, (R, W, G)
        Multiplier on partners' demand (trend × seasonality × noise × demand shocks; 1 = base).
    supply : numpy.ndarray, (R, W, G)
        Fraction of orders that can be delivered, in [0, 1] (1 - magnitude in a supply shortage).
    price : numpy.ndarray, (R, W, G)
        Multiplier on deal size (1 - magnitude in a price war).
    competitor_offer : numpy.ndarray, (R, W, G)
        What a competitor's program pays, as a share of revenue, in [0, 1]: the market's base
        offer plus the magnitude of active competitor shocks (capped at 1).
    payout_delay_extra_weeks : numpy.ndarray of int64, (R, W)
        Weeks added to a payout scheduled in that week: the sum of the active payout outages'
        magnitudes (times their ramp intensity), rounded to the nearest week (halves up).
    shock_active : numpy.ndarray of bool, (R, W, n_shocks)
        Whether shock ``i`` (``market.shocks[i]``) occurs in the replication and is
        within its window that week (also during its ramp).
    shock_kinds : tuple of str
        Kind of each shock, in scenario order.
    group_names : tuple of str
        ``"segment/region"`` per group index.
    """

    demand: np.ndarray
    supply: np.ndarray
    price: np.ndarray
    competitor_offer: np.ndarray
    payout_delay_extra_weeks: np.ndarray
    shock_active: np.ndarray
    shock_kinds: tuple[str, ...]
    group_names: tuple[str, ...]

    def __post_init__(self) -> None:
        for array in (
            self.demand,
            self.supply,
            self.price,
            self.competitor_offer,
            self.payout_delay_extra_weeks,
            self.shock_active,
        ):
            array.flags.writeable = False


def _affected_groups(groups: Groups, shock: Shock) -> np.ndarray:
    """Boolean mask over groups that a shock's ``segments``/``regions`` select (None = all)."""
    mask = np.zeros(len(groups), dtype=bool)
    for segment in shock.segments or groups.segments:
        for region in shock.regions or groups.regions:
            mask[groups.index(segment, region)] = True
    return mask


def normal_demand(market: Market, calendar: Calendar) -> np.ndarray:
    """The demand multiplier the market is planned at, week by week ``(W,)``: trend times
    seasonality, without noise or shocks (what a contingent rule's demand index is relative to).
    """
    week = np.arange(calendar.horizon_weeks)
    weeks_per_year = calendar.weeks_per_period * calendar.periods_per_year
    trend = (1.0 + market.trend_per_year) ** (week / weeks_per_year)
    seasons = np.asarray(market.seasonality, dtype=np.float64)
    # Period of the year of each week; a single seasonality value applies to every period.
    period_of_year = (week // calendar.weeks_per_period) % calendar.periods_per_year
    season = (seasons / seasons.mean())[period_of_year % len(seasons)]
    result: np.ndarray = trend * season
    return result


def _log_noise_factor(sigma: float, rng: np.random.Generator, reps: int, weeks: int) -> np.ndarray:
    """Mean-one AR(1) log-normal factor, shape (R, W); all ones when ``sigma`` is 0."""
    if sigma == 0.0:
        return np.ones((reps, weeks))
    innovations = sigma * rng.standard_normal((reps, weeks))
    phi = NOISE_PERSISTENCE
    log_factor = np.empty_like(innovations)
    previous = np.zeros(reps)
    for week in range(weeks):  # x[t] = phi x[t-1] + sigma e[t], vectorised over replications
        previous = phi * previous + innovations[:, week]
        log_factor[:, week] = previous
    variance = sigma**2 * (1.0 - phi ** (2 * np.arange(1, weeks + 1))) / (1.0 - phi**2)
    return np.exp(log_factor - variance / 2.0)


def market_path(
    market: Market, groups: Groups, calendar: Calendar, rng: np.random.Generator, reps: int
) -> MarketPath:
    """Draw the market conditions of one block of ``reps`` replications.

    Parameters
    ----------
    market
        The scenario's market (trend, seasonality, noise, competitor offer, shocks).
    groups
        The population's segment x region groups (the group axis, and whom a shock reaches).
    calendar
        The scenario's calendar (the weeks of the horizon and of a year).
    rng
        The block's random stream; the same stream and arguments give the same path.
    reps
        Replications in the block (``R``).

    Returns
    -------
    MarketPath
    """
    weeks = calendar.horizon_weeks
    n_groups = len(groups)
    week = np.arange(weeks)
    noise_rng, *shock_rngs = rng.spawn(1 + len(market.shocks))

    noise = _log_noise_factor(market.demand_noise, noise_rng, reps, weeks)

    shape = (reps, weeks, n_groups)
    demand = np.ones(shape)
    supply = np.ones(shape)
    price = np.ones(shape)
    competitor = np.full(shape, market.competitor_offer)
    delay = np.zeros((reps, weeks))
    active = np.zeros((reps, weeks, len(market.shocks)), dtype=bool)

    for i, (shock, shock_rng) in enumerate(zip(market.shocks, shock_rngs, strict=True)):
        occurs = shock_rng.random(reps) < shock.probability
        offset = week - shock.start_week
        window = (offset >= 0) & (offset < shock.duration_weeks)
        intensity = np.where(window, np.minimum(1.0, (offset + 1) / (shock.ramp_weeks + 1)), 0.0)
        active[:, :, i] = occurs[:, None] & window
        # (R, W) intensity scaled by the magnitude, then spread over the affected groups.
        size = shock.magnitude * occurs[:, None] * intensity
        effect = size[:, :, None] * _affected_groups(groups, shock)
        match shock.kind:
            case "recession":
                demand *= 1.0 - effect
            case "surge":
                demand *= 1.0 + effect
            case "supply_shortage":
                supply *= 1.0 - effect
            case "price_war":
                price *= 1.0 - effect
            case "competitor":
                competitor += effect
            case "payout_outage":
                delay += size

    demand *= normal_demand(market, calendar)[None, :, None] * noise[:, :, None]
    return MarketPath(
        demand=demand,
        supply=supply,
        price=price,
        competitor_offer=np.minimum(competitor, 1.0),
        payout_delay_extra_weeks=np.floor(delay + 0.5).astype(np.int64),
        shock_active=active,
        shock_kinds=tuple(s.kind for s in market.shocks),
        group_names=groups.names,
    )
