"""The validated scenario: calendar, population, market and program in one object."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from incentsim.market.spec import Market
from incentsim.population.behaviour import Behaviour
from incentsim.population.spec import Population
from incentsim.program.spec import Program, Strict
from incentsim.scenario import fiscal
from incentsim.scenario.calibration import CalibrationRecord

if TYPE_CHECKING:
    from numpy.typing import NDArray


class Calendar(Strict):
    """The program calendar: weeks make periods (quarters by default), periods make years.

    ``fiscal_year_start`` (a month, 1-12), ``fiscal_year_named_by`` and ``period_pattern``
    (``weeks``, ``4-4-5``, ``4-5-4``, ``5-4-4`` or ``months``) declare the fiscal calendar a
    finance team uses: how periods are dated and named, and which period a real transaction
    falls in (see :mod:`incentsim.scenario.fiscal`). They never change what is simulated.
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


class Scenario(Strict):
    """Everything one simulation needs, as written by a designer (after ``extends`` is resolved).

    ``sources`` records where default figures come from, so a reader can judge them;
    ``calibration``, where a calibrated scenario's constants came from (``incentsim calibrate``).
    """

    name: str
    description: str = ""
    sources: dict[str, str] = Field(default_factory=dict)
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 20261123
    replications: Annotated[int, Field(ge=1, le=1_000_000)] = 200
    calendar: Calendar = Field(default_factory=Calendar)
    population: Population
    behaviour: Behaviour = Field(default_factory=Behaviour)
    market: Market = Field(default_factory=Market)
    program: Program
    calibration: CalibrationRecord | None = None

    @property
    def horizon_budget(self) -> float | None:
        """The incentive budget over the whole horizon (``None`` when the budget is unlimited)."""
        per_period = self.program.budget.per_period
        return None if per_period is None else per_period * self.calendar.horizon_periods

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        segments, regions = set(self.population.segments), set(self.population.regions)
        for key in self.program.segment_overrides:
            if key not in segments:
                raise ValueError(f"program.segment_overrides: '{key}' is not a population segment")
        for key in self.program.region_overrides:
            if key not in regions:
                raise ValueError(f"program.region_overrides: '{key}' is not a population region")
        for i, shock in enumerate(self.market.shocks):
            for seg in shock.segments or []:
                if seg not in segments:
                    raise ValueError(f"market.shocks.{i}.segments: '{seg}' is not a segment")
            for reg in shock.regions or []:
                if reg not in regions:
                    raise ValueError(f"market.shocks.{i}.regions: '{reg}' is not a region")
        horizon = self.calendar.horizon_weeks
        for i, shock in enumerate(self.market.shocks):
            if shock.start_week >= horizon:
                raise ValueError(
                    f"market.shocks.{i}.start_week {shock.start_week} is at or after the end of "
                    f"the horizon (week {horizon}); the shock would never happen"
                )
        for key, spiff in self.program.spiffs.items():
            if spiff.start_week >= horizon:
                raise ValueError(
                    f"program.spiffs.{key}.start_week {spiff.start_week} is at or after the end "
                    f"of the horizon (week {horizon}); the SPIFF would never pay"
                )
        periods = self.calendar.horizon_periods
        for key, version in self.program.versions.items():
            if version.effective_period >= periods:
                raise ValueError(
                    f"program.versions.{key}.effective_period {version.effective_period} is at or "
                    f"after the end of the horizon (period {periods}, counting from 0); the "
                    "version would never take effect"
                )
        if len(self.market.seasonality) not in (1, self.calendar.periods_per_year):
            raise ValueError(
                f"market.seasonality has {len(self.market.seasonality)} values; give 1 or one per "
                f"period of the year ({self.calendar.periods_per_year})"
            )
        return self
