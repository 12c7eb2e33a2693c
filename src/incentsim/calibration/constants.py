"""The behaviour constants a history can identify, the moments that carry them, and why the
others stay at their priors.

Each estimated constant is searched over its plausible range in a scale where the model's
response is roughly even (``log`` for rates and frictions, ``logit`` for shares): the
calibration works in *units* ``u`` in ``[0, 1]`` over that scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from incentsim.population.behaviour import Behaviour


@dataclass(frozen=True)
class Estimated:
    """A behaviour constant the calibration estimates.

    Attributes
    ----------
    name
        The :class:`~incentsim.population.behaviour.Behaviour` field.
    moments
        The moments that move with it (see :mod:`incentsim.calibration.moments`).
    low, high
        Its plausible range (the search range).
    scale
        ``"log"`` or ``"logit"``.
    evidence
        What in the history identifies it, in the designer's words.
    percent
        Whether it is shown as a percentage (a rate or share).
    """

    name: str
    moments: tuple[str, ...]
    low: float
    high: float
    scale: str
    evidence: str
    percent: bool = False

    def _t(self, value: float) -> float:
        if self.scale == "log":
            return math.log(value)
        return math.log(value / (1.0 - value))

    def to_units(self, value: float) -> float:
        """``value`` as a position in ``[0, 1]`` over the range (clipped)."""
        value = min(max(value, self.low), self.high)
        return (self._t(value) - self._t(self.low)) / (self._t(self.high) - self._t(self.low))

    def from_units(self, units: float) -> float:
        """The value at position ``units`` of the range."""
        units = min(max(units, 0.0), 1.0)
        t = self._t(self.low) + units * (self._t(self.high) - self._t(self.low))
        return math.exp(t) if self.scale == "log" else 1.0 / (1.0 + math.exp(-t))


#: The constants a history identifies, in the order of the parameter vector.
ESTIMATED: tuple[Estimated, ...] = (
    Estimated(
        "churn_base",
        ("churn",),
        0.002,
        0.2,
        "log",
        "partners that stop booking revenue, per period",
        percent=True,
    ),
    Estimated(
        "timing_friction",
        ("period_end_share", "period_start_share", "returns_share"),
        0.001,
        0.2,
        "log",
        "period-end spikes and start-of-period dips (timing control against friction)",
    ),
    Estimated(
        "stuffing_return_rate",
        ("returns_share",),
        0.05,
        0.99,
        "logit",
        "returns booked after period ends (stuffed inventory coming back)",
        percent=True,
    ),
    Estimated(
        "forecast_noise",
        ("bunching",),
        0.05,
        1.5,
        "log",
        "how revenue bunches just above the tier thresholds in force and thins below them",
    ),
    Estimated(
        "mdf_claim_rate",
        ("mdf_claims_share",),
        0.05,
        0.95,
        "logit",
        "MDF claimed as a share of revenue under the accrual and approval lag in force "
        "(MDF take-up)",
        percent=True,
    ),
)

#: Why some constants cannot be read from one program's history (every other constant: no
#: moment of a transactions history moves it).
NOT_IDENTIFIED_BECAUSE: dict[str, str] = {
    "effort_elasticity": (
        "one program's history shows the revenue level, which each partner's fitted capacity "
        "absorbs; it takes a history with a change in rewards"
    ),
    "reference_rate": "confounded with capacity for the same reason as effort_elasticity",
    "duplicate_rate": (
        "a transactions history shows the duplicates the check caught, not those submitted; "
        "simulated histories write none"
    ),
    "audit_deterrence": "needs a change in audit rates within the history",
    "churn_slope": "churn is matched at the partners' loyalty, not across loyalty levels",
    "deferral_share": "moves the period-start share too little to tell apart from friction",
    "pull_forward_reach": "moves the period-end share too little to tell apart from friction",
    "stuffing_capacity_weeks": "confounded with stuffing_return_rate in the returns share",
    "recruit_sensitivity": "needs variation in the rate offered to candidates",
}


def not_identified() -> dict[str, tuple[float, float, float, str]]:
    """Every other behaviour constant: ``name -> (prior, low, high, reason)`` with its schema
    range."""
    estimated = {e.name for e in ESTIMATED}
    out: dict[str, tuple[float, float, float, str]] = {}
    for name, field in Behaviour.model_fields.items():
        if name in estimated:
            continue
        low, high = -math.inf, math.inf
        for rule in field.metadata:
            for attr in ("ge", "gt"):
                if getattr(rule, attr, None) is not None:
                    low = float(getattr(rule, attr))
            for attr in ("le", "lt"):
                if getattr(rule, attr, None) is not None:
                    high = float(getattr(rule, attr))
        reason = NOT_IDENTIFIED_BECAUSE.get(name, "no moment of a transactions history moves it")
        out[name] = (float(field.default), low, high, reason)
    return out
