"""Program components assessed on windows shorter than the program's period.

The period (a quarter by default) sets when tiers, rebates and most components are assessed;
components on longer horizons are in :mod:`incentsim.program.horizons`. A **bonus**
(``bonuses.*``, :class:`~incentsim.program.spec.Bonus`) is assessed on windows of
``horizon_weeks`` weeks inside each period (a monthly bonus inside a quarterly program): for
each window whose revenue reaches the bonus's threshold it pays ``reward + rate * window
revenue``, at the period's close. Windows are counted from the period's first week; weeks left
over when the window length does not divide the period belong to its last window (so a
13-week quarter has three 4-week months, the last of 5 weeks).

The rule is the same over simulated partners and real transactions: both give the period's
revenue by week of the period (:attr:`~incentsim.program.rules.PeriodMetrics.week_revenue`),
:func:`window_revenue` sums it into windows and :func:`bonus_pay` prices one window's revenue,
for :func:`~incentsim.program.rules.assess_period` at the close and for what partners expect a
window to pay while it runs (:mod:`incentsim.engine.window_outlook`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from incentsim.program.compiled import PartnerTerms
    from incentsim.program.spec import Program

FloatArray = NDArray[np.float64]

#: Tolerance on a bonus's threshold: window revenue within it of the threshold reaches it.
THRESHOLD_TOLERANCE = 1e-9


class BonusArrays(TypedDict):
    """The bonuses' fields of :class:`~incentsim.program.compiled.GroupTerms`, ``(G, B)``."""

    bonus_threshold: NDArray[Any]
    bonus_reward: NDArray[Any]
    bonus_rate: NDArray[Any]


def bonus_terms(program: Program, resolved: Sequence[Program]) -> BonusArrays:
    """The per-group arrays of the bonuses, ``(G, B)``, for
    :class:`~incentsim.program.compiled.GroupTerms`."""
    keys = list(program.bonuses)

    def table(field: str) -> NDArray[Any]:
        return np.array(
            [[getattr(p.bonuses[k], field) for k in keys] for p in resolved], dtype=np.float64
        ).reshape(len(resolved), len(keys))

    return {
        "bonus_threshold": table("threshold"),
        "bonus_reward": table("reward"),
        "bonus_rate": table("rate"),
    }


def window_weeks(program: Program) -> int:
    """The length of the bonuses' windows in weeks (0 when the program has no bonus; the
    program's bonuses share one length)."""
    return next((b.horizon_weeks for b in program.bonuses.values()), 0)


def window_problems(program: Program, weeks_per_period: int) -> list[str]:
    """Why the bonuses' windows do not fit periods of ``weeks_per_period`` weeks (empty when
    they do), each naming the field: a window must fit in the period at least twice (a window
    as long as the period is a period component; longer horizons are pacers and horizon
    accelerators, ``horizon_periods``)."""
    problems = []
    for key, bonus in program.bonuses.items():
        if 2 * bonus.horizon_weeks > weeks_per_period:
            problems.append(
                f"program.bonuses.{key}.horizon_weeks {bonus.horizon_weeks}: a window must fit "
                f"at least twice in the period of {weeks_per_period} weeks "
                f"(calendar.weeks_per_period); for a horizon as long as the period or longer, "
                "use an accelerator or a pacer with horizon_periods"
            )
    return problems


def windows_in(weeks_per_period: int, horizon_weeks: int) -> int:
    """How many windows of ``horizon_weeks`` a period of ``weeks_per_period`` weeks holds (the
    last takes the weeks left over)."""
    return max(weeks_per_period // horizon_weeks, 1)


def window_of_week(
    week_of_period: NDArray[Any] | int, weeks_per_period: int, horizon_weeks: int
) -> Any:
    """The 0-based window of the period that week ``week_of_period`` (0-based, weeks past the
    period's last whole week count as its last) falls in."""
    last = windows_in(weeks_per_period, horizon_weeks) - 1
    return np.minimum(np.asarray(week_of_period) // horizon_weeks, last)


def window_revenue(week_revenue: FloatArray, horizon_weeks: int) -> FloatArray:
    """Revenue per window of the period, ``(..., N, K)``, from revenue per week of the period
    ``(..., N, W)``."""
    weeks = week_revenue.shape[-1]
    k = window_of_week(np.arange(weeks), weeks, horizon_weeks)
    n_windows = windows_in(weeks, horizon_weeks)
    out = np.zeros((*week_revenue.shape[:-1], n_windows))
    for window in range(n_windows):
        out[..., window] = week_revenue[..., k == window].sum(axis=-1)
    return out


def bonus_pay(t: PartnerTerms, revenue: FloatArray) -> FloatArray:
    """What the bonuses pay on one window with ``revenue`` booked in it, ``(..., N)``: for each
    bonus reached, its reward plus its rate on the window's revenue."""
    if not t.bonus_threshold.shape[-1]:
        return np.zeros(np.shape(revenue))
    r = np.asarray(revenue)[..., None]
    reached = r >= t.bonus_threshold - THRESHOLD_TOLERANCE
    pay: FloatArray = np.where(reached, t.bonus_reward + t.bonus_rate * r, 0.0).sum(axis=-1)
    return pay


def assess_bonuses(t: PartnerTerms, week_revenue: FloatArray, horizon_weeks: int) -> FloatArray:
    """What the bonuses pay for a period with revenue ``week_revenue`` by week of the period
    ``(..., N, W)``, summed over its windows, ``(..., N)``."""
    if not t.bonus_threshold.shape[-1]:
        return np.zeros(week_revenue.shape[:-1])
    if week_revenue.shape[-1] < horizon_weeks:
        raise ValueError(
            f"the period's revenue is given for {week_revenue.shape[-1]} weeks: a bonus on "
            f"windows of {horizon_weeks} weeks needs the revenue by week of the period"
        )
    by_window = window_revenue(week_revenue, horizon_weeks)
    total: FloatArray = sum(
        (bonus_pay(t, by_window[..., k]) for k in range(by_window.shape[-1])),
        start=np.zeros(week_revenue.shape[:-1]),
    )
    return total
