"""The moments a calibration matches, computed the same way on a history and a simulation.

Per segment and pooled over the population (names ``<moment>`` pooled, ``<moment>:<segment>``
per segment):

``revenue``
    Mean revenue per active partner and period.
``period_end_share``
    Share of revenue booked in the last ``timing_weeks`` weeks of its period (a period-end
    spike: timing control, against friction).
``period_start_share``
    Share of revenue booked in the first week of its period (the dip after a spike, or the
    deals deferred into it).
``returns_share``
    Returns as a share of revenue (stuffed inventory coming back after the period end).
``mdf_claims_share``
    MDF claimed as a share of revenue (NaN when the history records no claim): how much of
    the marketing funds the program accrues partners take up.
``churn``
    Share of the partners active in a period that are never active again, per period (the last
    period, which cannot show a departure, excluded).
``bunching``
    Log of the partner-periods with revenue just above a tier's revenue threshold (up to
    ``+BAND``) over those just below it (down to ``-BAND``), pooled over thresholds (how
    revenue bunches above last year's thresholds: the response to marginal reward).
``revenue_p10``, ``revenue_p50``, ``revenue_p90``
    Quantiles of partner revenue per period among active partners (the revenue distribution;
    reported for fit, not matched).
``reaches_<tier>``
    Share of active partner-periods whose revenue reaches the tier's revenue threshold (tier
    shares on revenue; reported for fit, not matched).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from incentsim.calibration.observed import Observed

#: Half-width of the bands around a tier threshold, as a share of the threshold.
BAND: float = 0.15


def moments(
    observed: Observed, *, timing_weeks: int, thresholds: Mapping[str, float] | None = None
) -> pd.Series:
    """The moments of a history or a simulated block (averaged over its replications).

    Parameters
    ----------
    observed
        The history or simulation.
    timing_weeks
        Final weeks of a period that count as its end.
    thresholds
        Revenue threshold (per period) by tier name, for ``bunching`` and ``reaches_<tier>``.

    Returns
    -------
    pandas.Series
        Moment values by name; a moment with no data (a segment without returns...) is NaN.
    """
    values: dict[str, float] = {}
    for name, members in _groups(observed):
        values.update(
            {
                (key if name is None else f"{key}:{name}"): value
                for key, value in _moments(
                    observed, members, timing_weeks, dict(thresholds or {})
                ).items()
            }
        )
    return pd.Series(values, dtype=np.float64)


def _groups(observed: Observed) -> list[tuple[str | None, np.ndarray]]:
    """The population (``None``) and each segment, as masks over ``(reps, partners)``."""
    everyone = np.ones(observed.segment.shape, dtype=bool)
    return [(None, everyone)] + [
        (name, observed.segment == k) for k, name in enumerate(observed.segments)
    ]


def _ratio(top: float, bottom: float) -> float:
    return top / bottom if bottom > 0 else float("nan")


def _moments(
    observed: Observed, members: np.ndarray, timing_weeks: int, thresholds: dict[str, float]
) -> dict[str, float]:
    wpp = observed.weeks_per_period
    weekly = np.where(members[:, :, None], observed.weekly, 0.0)
    r, n, _ = weekly.shape
    by_week = weekly.reshape(r, n, -1, wpp)
    total = by_week.sum()
    end = by_week[..., wpp - timing_weeks :].sum() if timing_weeks else 0.0
    start = by_week[..., 0].sum()
    revenue = by_week.sum(axis=3)
    active = observed.active & members[:, :, None]
    returns = np.where(members[:, :, None], observed.returns, 0.0).sum()
    # churn: active in period k and in no later period
    later = np.flip(np.cumsum(np.flip(active, axis=2), axis=2), axis=2)
    leaves = active[:, :, :-1] & (later[:, :, 1:] == 0)
    booked = revenue[active]
    claims = (
        float("nan")
        if observed.claims is None
        else float(np.where(members[:, :, None], observed.claims, 0.0).sum())
    )
    out = {
        "revenue": _ratio(float(booked.sum()), float(active.sum())),
        "period_end_share": _ratio(end, total),
        "period_start_share": _ratio(start, total),
        "returns_share": _ratio(returns, total),
        "mdf_claims_share": _ratio(claims, total),
        "churn": _ratio(float(leaves.sum()), float(active[:, :, :-1].sum())),
        "bunching": _bunching(booked, list(thresholds.values())),
    }
    quantiles = np.quantile(booked, [0.1, 0.5, 0.9]) if booked.size else [np.nan] * 3
    out.update(
        zip(("revenue_p10", "revenue_p50", "revenue_p90"), map(float, quantiles), strict=True)
    )
    for tier, threshold in thresholds.items():
        out[f"reaches_{tier}"] = _ratio(float(np.count_nonzero(booked >= threshold)), booked.size)
    return out


def _bunching(revenue: np.ndarray, thresholds: list[float]) -> float:
    """Log of the counts just above over just below the thresholds (NaN without thresholds)."""
    above = below = 0
    for t in thresholds:
        above += int(np.count_nonzero((revenue >= t) & (revenue < t * (1 + BAND))))
        below += int(np.count_nonzero((revenue >= t * (1 - BAND)) & (revenue < t)))
    if above == 0 or below == 0:
        return float("nan")
    return float(np.log(above / below))
