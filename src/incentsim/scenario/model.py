"""The validated scenario: calendar, population, market and program in one object."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from incentsim.calendar import Calendar
from incentsim.market.spec import Market
from incentsim.population.behaviour import Behaviour
from incentsim.population.spec import Population
from incentsim.program.spec import Program
from incentsim.program.windows import window_problems
from incentsim.scenario.calibration import CalibrationRecord
from incentsim.strict import Strict


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
        for name, version in self.program.versions.items():
            for part, known, kind in (
                ("segment_overrides", segments, "segment"),
                ("region_overrides", regions, "region"),
            ):
                for key in version.changes.get(part) or {}:
                    if key not in known:
                        raise ValueError(
                            f"program.versions.{name}.changes.{part}: '{key}' is not a "
                            f"population {kind}"
                        )
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
        problems = window_problems(self.program, self.calendar.weeks_per_period)
        if problems:
            raise ValueError(problems[0])
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
