"""The program calendar: how weeks make periods and periods make years, and how they are dated
and named (see :mod:`incentsim.calendar.fiscal` for fiscal years and patterns)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from incentsim.calendar import fiscal
from incentsim.strict import Strict

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["Calendar"]


class Calendar(Strict):
    """The program calendar: weeks make periods (quarters by default), periods make years.

    ``fiscal_year_start`` (a month, 1-12), ``fiscal_year_named_by`` and ``period_pattern``
    (``weeks``, ``4-4-5``, ``4-5-4``, ``5-4-4`` or ``months``) declare the fiscal calendar a
    finance team uses: how periods are dated and named, and which period a real transaction
    falls in (see :mod:`incentsim.calendar.fiscal`). They never change what is simulated.
    """

    weeks_per_period: Annotated[int, Field(ge=1, le=52)] = 13
    periods_per_year: Annotated[int, Field(ge=1, le=52)] = 4
    horizon_periods: Annotated[int, Field(ge=1, le=80)] = 8
    start_date: Annotated[dt.date, Field(ge=dt.date(1900, 1, 1), le=dt.date(2200, 12, 31))] = (
        dt.date(2027, 1, 4)
    )
    fiscal_year_start: Annotated[int, Field(ge=1, le=12)] | None = None
    fiscal_year_named_by: Literal["end", "start"] = "end"
    period_pattern: fiscal.PeriodPattern = "weeks"

    @property
    def horizon_weeks(self) -> int:
        """Weeks simulated."""
        return self.weeks_per_period * self.horizon_periods

    @property
    def end_date(self) -> dt.date:
        """The last day of the horizon."""
        return fiscal.end_date(self)

    @property
    def horizon_text(self) -> str:
        """The horizon in words (``8 periods of 13 weeks``, ``8 periods of 3 months``)."""
        return fiscal.horizon_text(self)

    def period_bounds(self, period: int) -> tuple[dt.date, dt.date]:
        """First and last day of 0-based ``period``."""
        return fiscal.period_bounds(self, period)

    def period_label(self, period: int) -> str:
        """The period's name (``FY27 Q1`` in a fiscal calendar, else ``Q1 2027`` or its first
        day)."""
        return fiscal.period_label(self, period)

    def period_of(self, dates: NDArray[np.datetime64]) -> NDArray[np.int64]:
        """The 0-based period each date falls in (outside ``0..horizon_periods - 1`` when the
        date is outside the horizon)."""
        return fiscal.period_of(self, dates)

    @model_validator(mode="after")
    def _fiscal(self) -> Calendar:
        problems = fiscal.calendar_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self
