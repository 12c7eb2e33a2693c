"""A library of named market shocks with severities, to stress-test a design.

Each entry of :data:`SHOCK_LIBRARY` is a :class:`ShockTemplate`: one shock kind of
:mod:`incentsim.market.spec`, a magnitude per severity (``mild``, ``moderate``, ``severe``), an
``extreme`` magnitude that bounds the reverse stress test's search, and a timing relative to
the scenario's horizon, so the same named shock fits a one-quarter test scenario and a two-year
baseline alike.

- ``recession`` (demand drop, fraction): 0.10 / 0.20 / 0.35, extreme 0.80
- ``competitor`` (rise in a rival program's offer, share of revenue): 0.01 / 0.02 / 0.04,
  extreme 0.15
- ``supply_shortage`` (share of orders that cannot be delivered): 0.10 / 0.25 / 0.45,
  extreme 0.90
- ``price_war`` (cut in deal size, fraction): 0.05 / 0.10 / 0.20, extreme 0.60
- ``payout_outage`` (extra weeks of payout delay): 2 / 4 / 8, extreme 26
- ``surge`` (demand rise, fraction): 0.20 / 0.40 / 0.80, extreme 3.0

The magnitudes are illustrative stress sizes, not calibrated forecasts: replace them with your own
by naming a magnitude instead of a severity (``recession:0.3``).

Timing (``W`` = weeks in the horizon): every shock but the payout outage starts at week
``round(W/4)`` and lasts ``round(W/2)`` weeks; a recession ramps in over ``min(4, duration/3)``
weeks, the others hit at once (a surge pushes many partners over tier thresholds in the same
period). A payout outage is placed on the first payout run whose period closes at or after
``W/4`` and lasts one payout cycle, so it delays exactly one run. Shocks in a combination share
their timing: the worst case is shocks arriving together.

>>> choice = parse_shock("recession:severe")
>>> (choice.name, choice.severity, choice.magnitude)
('recession', 'severe', 0.35)
>>> parse_shock("surge:0.5").label
'surge:0.5'
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from incentsim.errors import IncentsimError
from incentsim.scenario.loader import with_values

if TYPE_CHECKING:
    from incentsim.scenario.model import Scenario

__all__ = [
    "DEFAULT_SEVERITY",
    "SEVERITIES",
    "SHOCK_LIBRARY",
    "ShockChoice",
    "ShockError",
    "ShockTemplate",
    "library_table",
    "parse_shock",
    "parse_shocks",
    "template",
    "with_shocks",
]

SEVERITIES: tuple[str, ...] = ("mild", "moderate", "severe")

#: Severity used when a shock is named without one (``--shocks recession``).
DEFAULT_SEVERITY = "severe"


class ShockError(IncentsimError):
    """A shock named or sized in a way the library cannot use."""


@dataclass(frozen=True)
class ShockTemplate:
    """A named shock: its kind, sizes per severity and timing relative to the horizon."""

    name: str
    kind: str
    description: str
    unit: str
    severities: dict[str, float]
    extreme: float
    start_fraction: float = 0.25
    duration_fraction: float = 0.5
    ramp: bool = False

    def magnitude(self, severity: str) -> float:
        """The magnitude of a named severity."""
        try:
            return self.severities[severity]
        except KeyError:
            raise ShockError(
                f"unknown severity '{severity}' for shock '{self.name}' (known: "
                f"{', '.join(SEVERITIES)}, or a magnitude such as {self.name}:"
                f"{self.severities['moderate']:g})"
            ) from None

    def timing(self, scenario: Scenario) -> dict[str, int]:
        """``start_week``, ``duration_weeks`` and ``ramp_weeks`` for the scenario's calendar."""
        cal = scenario.calendar
        weeks = cal.horizon_weeks
        if self.kind == "payout_outage":
            return _payout_outage_timing(scenario)
        start = min(weeks - 1, max(0, round(weeks * self.start_fraction)))
        duration = max(1, min(weeks - start, round(weeks * self.duration_fraction)))
        ramp = min(4, duration // 3) if self.ramp else 0
        return {"start_week": start, "duration_weeks": duration, "ramp_weeks": ramp}

    def shock(self, scenario: Scenario, magnitude: float) -> dict[str, Any]:
        """The ``market.shocks`` entry of this shock at ``magnitude`` for ``scenario``."""
        return {"kind": self.kind, "magnitude": float(magnitude), **self.timing(scenario)}


def _payout_outage_timing(scenario: Scenario) -> dict[str, int]:
    """Cover the first payout run whose period closes at or after a quarter of the horizon.

    The engine adds the outage's delay to a payout run when the outage is active in the week
    its period closes (the last horizon week for the final period).
    """
    cal = scenario.calendar
    weeks, periods = cal.horizon_weeks, cal.horizon_periods
    cadence = scenario.program.budget.payout.cadence_periods
    closes = [
        min((p + 1) * cal.weeks_per_period, weeks - 1)
        for p in range(periods)
        if (p + 1) % cadence == 0 or p + 1 == periods
    ]
    start = next((c for c in closes if c >= weeks / 4), closes[-1])
    duration = max(1, min(cadence * cal.weeks_per_period, weeks - start))
    return {"start_week": start, "duration_weeks": duration, "ramp_weeks": 0}


SHOCK_LIBRARY: dict[str, ShockTemplate] = {
    t.name: t
    for t in (
        ShockTemplate(
            "recession",
            "recession",
            "demand falls across the market",
            "fractional demand drop",
            {"mild": 0.10, "moderate": 0.20, "severe": 0.35},
            extreme=0.80,
            ramp=True,
        ),
        ShockTemplate(
            "competitor",
            "competitor",
            "a rival program raises its offer to poach partners",
            "rise in the rival's offer, share of revenue",
            {"mild": 0.01, "moderate": 0.02, "severe": 0.04},
            extreme=0.15,
        ),
        ShockTemplate(
            "supply_shortage",
            "supply_shortage",
            "orders cannot all be delivered",
            "share of orders not deliverable",
            {"mild": 0.10, "moderate": 0.25, "severe": 0.45},
            extreme=0.90,
        ),
        ShockTemplate(
            "price_war",
            "price_war",
            "deal sizes and margins are cut",
            "fractional cut in deal size",
            {"mild": 0.05, "moderate": 0.10, "severe": 0.20},
            extreme=0.60,
        ),
        ShockTemplate(
            "payout_outage",
            "payout_outage",
            "the payout system fails and a payout run is late",
            "extra weeks of payout delay",
            {"mild": 2.0, "moderate": 4.0, "severe": 8.0},
            extreme=26.0,
        ),
        ShockTemplate(
            "surge",
            "surge",
            "demand jumps and many partners cross tier thresholds at once",
            "fractional demand rise",
            {"mild": 0.20, "moderate": 0.40, "severe": 0.80},
            extreme=3.0,
        ),
    )
}


@dataclass(frozen=True)
class ShockChoice:
    """A library shock at a severity (or at an explicit magnitude, ``severity`` None)."""

    name: str
    magnitude: float
    severity: str | None = None

    @property
    def template(self) -> ShockTemplate:
        return SHOCK_LIBRARY[self.name]

    @property
    def label(self) -> str:
        """``recession:severe`` or ``recession:0.3``."""
        return f"{self.name}:{self.severity or f'{self.magnitude:g}'}"

    def shock(self, scenario: Scenario) -> dict[str, Any]:
        """The ``market.shocks`` entry for ``scenario``."""
        return self.template.shock(scenario, self.magnitude)


def template(name: str) -> ShockTemplate:
    """The library shock called ``name`` (a readable error, with a suggestion, otherwise)."""
    try:
        return SHOCK_LIBRARY[name]
    except KeyError:
        close = difflib.get_close_matches(name, SHOCK_LIBRARY, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ShockError(
            f"unknown shock '{name}'{hint}; the library has: {', '.join(SHOCK_LIBRARY)}"
        ) from None


def parse_shock(text: str | ShockChoice) -> ShockChoice:
    """``NAME[:SEVERITY|:MAGNITUDE]`` as a :class:`ShockChoice` (default severity: severe)."""
    if isinstance(text, ShockChoice):
        return text
    name, _, size = str(text).strip().partition(":")
    found = template(name.strip())
    size = size.strip() or DEFAULT_SEVERITY
    if size in SEVERITIES:
        return ShockChoice(found.name, found.magnitude(size), size)
    try:
        magnitude = float(size)
    except ValueError:
        found.magnitude(size)  # raises the unknown-severity error
        raise
    if not math.isfinite(magnitude):
        raise ShockError(f"shock '{text}': a magnitude must be a finite number")
    if magnitude < 0:
        raise ShockError(f"shock '{text}': a magnitude cannot be negative")
    return ShockChoice(found.name, magnitude, None)


def parse_shocks(items: Iterable[str | ShockChoice] | str | None) -> list[ShockChoice]:
    """Shocks from a comma-separated string or a list; every library shock at the default
    severity when ``None``. Duplicates are dropped."""
    if items is None:
        return [
            ShockChoice(n, t.magnitude(DEFAULT_SEVERITY), DEFAULT_SEVERITY)
            for n, t in SHOCK_LIBRARY.items()
        ]
    if isinstance(items, str):
        items = [part for part in items.split(",") if part.strip()]
    chosen: list[ShockChoice] = []
    for item in items:
        choice = parse_shock(item)
        if choice not in chosen:
            chosen.append(choice)
    if not chosen:
        raise ShockError("no shocks given")
    return chosen


def with_shocks(
    scenario: Scenario, shocks: Sequence[ShockChoice], name: str | None = None
) -> Scenario:
    """A copy of ``scenario`` with ``shocks`` appended to ``market.shocks``.

    Appending keeps the scenario's own shocks' random streams (each shock draws from its own
    child stream, by position), so the variant runs over the same random numbers as the base.
    """
    own = [shock.model_dump(mode="json") for shock in scenario.market.shocks]
    values: dict[str, Any] = {"market.shocks": [*own, *(s.shock(scenario) for s in shocks)]}
    if name is not None:
        values["name"] = name
    return with_values(scenario, values)


def library_table() -> list[dict[str, Any]]:
    """The library as rows (name, kind, unit, mild, moderate, severe, extreme, description)."""
    return [
        {
            "name": t.name,
            "kind": t.kind,
            "unit": t.unit,
            **{s: t.severities[s] for s in SEVERITIES},
            "extreme": t.extreme,
            "description": t.description,
        }
        for t in SHOCK_LIBRARY.values()
    ]
