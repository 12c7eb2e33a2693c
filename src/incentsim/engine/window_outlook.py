"""What partners expect of the bonus windows inside the period (``bonuses.*``,
:mod:`incentsim.program.windows`: a monthly bonus inside a quarterly program).

Each window is assessed on its own threshold, so partners respond to it as to a period's: effort
follows the window's smoothed marginal reward, and in the last ``timing_weeks`` of every window
they pull deals into it or defer them to the next window
(:func:`~incentsim.engine.decisions.timing_choice`, priced here by the window's own rule), so
the timing games of period ends (domain notes section 2.3: Oyer 1998; Larkin 2014; Owan, Tsuru
& Uehara 2015 on monthly stair-step bonuses at car dealers) appear at each window's end. The
window's pay is priced with the same smoothing over the partner's uncertainty as the period's
(:func:`~incentsim.engine.decisions.smoothed_outlook`, :func:`~incentsim.engine.decisions.
centred_rate`), with the uncertainty of the weeks left in the window.

Deals moved across a window's end inside the period stay in the period, so only the bonus
prices them there; at the period's end the last window's bonus adds to the period's payout.
Deals pulled at a window's end are taken as due in the next window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from incentsim.engine.decisions import (
    Price,
    centred_rate,
    expected_value,
    forecast_noise,
    smoothed_outlook,
)
from incentsim.population.behaviour import Behaviour
from incentsim.program.compiled import PartnerTerms
from incentsim.program.windows import bonus_pay, window_of_week, windows_in

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class WindowWeek:
    """Where a week of the period stands in its window: the window's first week of the period
    (``start``, 0-based), its ``length`` in weeks, the weeks left in it (this one included),
    and whether it is the period's ``last`` window. Without a bonus the window is the period."""

    start: int
    length: int
    weeks_left: int
    last: bool

    @property
    def opening(self) -> bool:
        """True in the window's first week."""
        return self.weeks_left == self.length

    @property
    def closing(self) -> bool:
        """True in the window's last week."""
        return self.weeks_left == 1


def window_week(week_of_period: int, weeks_per_period: int, horizon_weeks: int) -> WindowWeek:
    """The :class:`WindowWeek` of 0-based ``week_of_period`` for windows of ``horizon_weeks``
    (0: no bonus, the window is the whole period)."""
    if not horizon_weeks:
        return WindowWeek(0, weeks_per_period, weeks_per_period - week_of_period, True)
    k = int(window_of_week(week_of_period, weeks_per_period, horizon_weeks))
    last = k == windows_in(weeks_per_period, horizon_weeks) - 1
    start = k * horizon_weeks
    end = weeks_per_period if last else start + horizon_weeks
    return WindowWeek(start, end - start, end - week_of_period, last)


def next_length(ww: WindowWeek, weeks_per_period: int, horizon_weeks: int) -> int:
    """The length of the window after ``ww`` (the next period's first when ``ww`` is last)."""
    return window_week(
        0 if ww.last else ww.start + ww.length, weeks_per_period, horizon_weeks
    ).length


def window_price(t: PartnerTerms, expected: FloatArray, spread: FloatArray) -> Price:
    """What the window is expected to pay when ``booked`` more revenue than ``expected`` (give
    or take ``spread``) is booked in it, as ``price(booked)``."""

    def price(booked: FloatArray) -> FloatArray:
        return expected_value(lambda x: bonus_pay(t, x), expected + booked, spread)

    return price


def window_outlook(
    t: PartnerTerms, expected: FloatArray, spread: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The window bonus's smoothed rate per unit of extra window revenue around ``expected``
    (give or take ``spread``), and what the window is expected to pay."""
    return smoothed_outlook(lambda x: bonus_pay(t, x), expected, spread)


def window_moved_rate(t: PartnerTerms, expected: FloatArray, spread: FloatArray) -> FloatArray:
    """What a unit of revenue moved into a window expected at ``expected`` (give or take
    ``spread``) earns there, per unit (centred, as for a period:
    :func:`~incentsim.engine.decisions.moved_revenue_rate`)."""
    return centred_rate(lambda x: bonus_pay(t, x), expected, spread)


def window_spread(
    behaviour: Behaviour, weeks_left: int, length: int, expected: FloatArray, typical: FloatArray
) -> FloatArray:
    """The sd of a window's revenue with ``weeks_left`` of its ``length`` weeks to go, as a
    period's is computed at the window's own horizon: the uncertainty of a period of
    ``length`` weeks (:func:`~incentsim.engine.decisions.forecast_noise`, weeks equally
    uncertain whatever the horizon, so a month's total is relatively more uncertain than a
    quarter's), for the weeks left, with ``typical`` the window's revenue at the partner's
    potential."""
    noise = forecast_noise(behaviour, length)
    spread: FloatArray = np.maximum(
        noise * np.sqrt(weeks_left / length) * np.maximum(expected, typical), 0.01 * typical
    )
    return spread
