"""Fiscal calendars: which real dates each program period covers, and its name in finance's words.

The simulation steps in weeks and closes a period every ``weeks_per_period`` weeks; that never
changes here. What changes is how a period is named and dated, and which period a real
transaction falls in (``incentsim payout``, partner tables from a history):

``period_pattern: weeks`` (the default)
    Periods are blocks of ``weeks_per_period`` weeks from ``start_date``.
``period_pattern: 4-4-5``, ``4-5-4`` or ``5-4-4``
    A 52-week fiscal year of four 13-week quarters whose months have 4, 4 and 5 weeks (or
    4-5-4, 5-4-4), as retailers and many finance teams close their books. Periods are quarters
    (or halves, or years) of such a year, so ``weeks_per_period x periods_per_year`` must be
    52 with 1, 2 or 4 periods a year; ``start_date`` (the first day of a fiscal quarter) must lie
    within 6 days of the first of a month that opens a fiscal quarter. The occasional 53-week
    year of these calendars is not modelled: the year stays 52 weeks.
``period_pattern: months``
    Periods are calendar months grouped by ``12 / periods_per_year`` (quarters of three months,
    halves, years, or months): ``start_date`` is the first day of a month that opens a fiscal
    period, and a transaction's period is the fiscal period of its date. The simulation
    approximates each period by whole weeks, so ``weeks_per_period`` must be the period's
    length rounded to weeks (13 for quarters, 4 for months). A simulated history
    (``run --transactions``) is still dated in those weeks from ``start_date``, so near a
    period end a row can fall a day or two into the next fiscal period (the drift grows about
    1.25 days a year for quarters).

``fiscal_year_start`` is the month (1-12) the fiscal year starts in; with it (or any pattern
but ``weeks``) periods are labelled by fiscal year: ``FY27 Q1``, ``FY27 H2``, ``FY27 M05``,
``FY27 P11`` or ``FY27``. A fiscal year is named by the calendar year it ends in (``FY27`` runs
February 2026 to January 2027), or the year it starts in with ``fiscal_year_named_by: start``.
Without either, quarters of 13 weeks are labelled ``Q1 2027`` and other periods by their first
day, as before.

>>> import datetime as dt
>>> from incentsim.calendar.model import Calendar
>>> cal = Calendar(start_date=dt.date(2027, 2, 1), fiscal_year_start=2, period_pattern="months")
>>> [cal.period_label(p) for p in range(5)]
['FY28 Q1', 'FY28 Q2', 'FY28 Q3', 'FY28 Q4', 'FY29 Q1']
>>> cal.period_bounds(1)
(datetime.date(2027, 5, 1), datetime.date(2027, 7, 31))
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from incentsim.calendar.model import Calendar

__all__ = [
    "PATTERNS",
    "PeriodPattern",
    "calendar_problems",
    "end_date",
    "horizon_text",
    "period_bounds",
    "period_label",
    "period_of",
]

PeriodPattern = Literal["weeks", "4-4-5", "4-5-4", "5-4-4", "months"]
#: The period patterns a calendar can declare.
PATTERNS: tuple[str, ...] = ("weeks", "4-4-5", "4-5-4", "5-4-4", "months")
_WEEK_PATTERNS = ("4-4-5", "4-5-4", "5-4-4")
#: How far (days) a 52-week calendar's quarter may start from the first of its month.
_DRIFT_DAYS = 6


def calendar_problems(cal: Calendar) -> list[str]:
    """What is wrong with a calendar's fiscal settings, one sentence each (empty when valid)."""
    pattern, ppy, wpp = cal.period_pattern, cal.periods_per_year, cal.weeks_per_period
    if pattern in _WEEK_PATTERNS:
        if ppy not in (1, 2, 4) or wpp * ppy != 52:
            return [
                f"calendar.period_pattern {pattern} makes 13-week quarters of a 52-week year: "
                "use periods of 13 weeks (periods_per_year 4), 26 (2) or 52 (1), not "
                f"{ppy} periods of {wpp} weeks; its months have 4 and 5 weeks, which periods "
                "of one length cannot follow (use period_pattern months for monthly periods)"
            ]
        return _start_problems(cal, tolerance=_DRIFT_DAYS)
    if pattern == "months":
        if 12 % ppy:
            return [
                f"calendar.periods_per_year {ppy} does not divide the year's 12 months "
                "(period_pattern months): use 1, 2, 3, 4, 6 or 12"
            ]
        weeks = round(365.25 / ppy / 7)
        if wpp != weeks:
            return [
                f"calendar.weeks_per_period must be {weeks} with period_pattern months and "
                f"{ppy} periods a year (the simulation steps each fiscal period of "
                f"{12 // ppy} month(s) in {weeks} weeks), not {wpp}"
            ]
        return _start_problems(cal, tolerance=0)
    if cal.fiscal_year_start is not None and 12 % ppy == 0:
        return _start_problems(cal, tolerance=_DRIFT_DAYS)
    return []


def _start_problems(cal: Calendar, tolerance: int) -> list[str]:
    """``start_date`` must open a fiscal period: the first of such a month, within
    ``tolerance`` days (0 for calendar months)."""
    month, gap = _nearest_month(cal.start_date)
    months_per_period = 12 // cal.periods_per_year
    opens = (month - _year_start(cal)) % months_per_period == 0
    if opens and abs(gap) <= tolerance:
        return []
    firsts = sorted(
        (_year_start(cal) - 1 + k * months_per_period) % 12 + 1 for k in range(cal.periods_per_year)
    )
    names = ", ".join(dt.date(2000, m, 1).strftime("%B") for m in firsts)
    near = "the first" if tolerance == 0 else f"within {tolerance} days of the first"
    return [
        f"calendar.start_date {cal.start_date} does not open a fiscal period: with the fiscal "
        f"year starting in {dt.date(2000, _year_start(cal), 1):%B} and {cal.periods_per_year} "
        f"periods a year, it must be {near} of {names}"
    ]


def _year_start(cal: Calendar) -> int:
    return cal.fiscal_year_start if cal.fiscal_year_start is not None else 1


def _nearest_month(date: dt.date) -> tuple[int, int]:
    """The month whose first day is nearest ``date``, and ``date`` minus that first day (days)."""
    this = date.replace(day=1)
    following = _add_months(this, 1)
    if (following - date).days < (date - this).days:
        return following.month, (date - following).days
    return this.month, (date - this).days


def _add_months(date: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` after ``date``'s month."""
    index = date.year * 12 + date.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def period_bounds(cal: Calendar, period: int) -> tuple[dt.date, dt.date]:
    """First and last day of 0-based ``period``."""
    if cal.period_pattern == "months":
        months = 12 // cal.periods_per_year
        first = _add_months(cal.start_date, period * months)
        return first, _add_months(first, months) - dt.timedelta(days=1)
    length = 7 * cal.weeks_per_period
    first = cal.start_date + dt.timedelta(days=period * length)
    return first, first + dt.timedelta(days=length - 1)


def end_date(cal: Calendar) -> dt.date:
    """The last day of the horizon."""
    return period_bounds(cal, cal.horizon_periods - 1)[1]


def horizon_text(cal: Calendar) -> str:
    """The horizon in words: ``8 periods of 13 weeks`` (``of 3 months`` for fiscal months),
    with the fiscal pattern when it is not plain weeks."""
    if cal.period_pattern == "months":
        months = 12 // cal.periods_per_year
        return f"{cal.horizon_periods} periods of {months} month{'s' if months > 1 else ''}"
    text = f"{cal.horizon_periods} periods of {cal.weeks_per_period} weeks"
    return text if cal.period_pattern == "weeks" else f"{text} ({cal.period_pattern})"


def period_of(cal: Calendar, dates: NDArray[np.datetime64]) -> NDArray[np.int64]:
    """The 0-based period each date falls in (negative before the start; at or past
    ``horizon_periods`` after the end)."""
    days = np.asarray(dates, dtype="datetime64[D]")
    if cal.period_pattern == "months":
        months = days.astype("datetime64[M]").astype(np.int64)
        start = np.datetime64(cal.start_date, "M").astype(np.int64)
        return (months - start) // (12 // cal.periods_per_year)
    offset = (days - np.datetime64(cal.start_date, "D")).astype(np.int64)
    return offset // (7 * cal.weeks_per_period)


def period_label(cal: Calendar, period: int) -> str:
    """A period's name: by fiscal year (``FY27 Q1``) for a fiscal calendar, else ``Q1 2027``
    for quarters of 13 weeks and the first day (``2027-02-01``) for other periods."""
    ppy = cal.periods_per_year
    if cal.fiscal_year_start is None and cal.period_pattern == "weeks":
        if ppy == 4 and cal.weeks_per_period == 13:
            quarter = (cal.start_date.month - 1) // 3 + period
            return f"Q{quarter % 4 + 1} {cal.start_date.year + quarter // 4}"
        return period_bounds(cal, period)[0].isoformat()
    month, _ = _nearest_month(cal.start_date)
    year_start = _year_start(cal)
    nominal_year = cal.start_date.year + (1 if month == 1 and cal.start_date.month == 12 else 0)
    first_year = nominal_year if month >= year_start else nominal_year - 1  # starts in
    position = ((month - year_start) % 12) // (12 // ppy) if 12 % ppy == 0 else 0
    index = position + period
    year = first_year + index // ppy
    if cal.fiscal_year_named_by == "end" and year_start != 1:
        year += 1
    name = f"FY{year % 100:02d}"
    within = index % ppy + 1
    mark = {1: "", 2: f" H{within}", 4: f" Q{within}", 12: f" M{within:02d}"}
    return name + mark.get(ppy, f" P{within:02d}")
