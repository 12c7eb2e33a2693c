"""How a scenario describes the market: demand trend, seasonality and timed shocks."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from incentsim.strict import Strict

#: The shocks a scenario can declare. Each acts on one part of the model:
#: ``recession`` scales demand down, ``competitor`` raises partners' outside option (poaching),
#: ``supply_shortage`` caps what can be delivered, ``price_war`` cuts deal sizes and margin,
#: ``payout_outage`` delays payout runs, ``surge`` scales demand up (many partners cross
#: thresholds at once).
SHOCK_KINDS = ("recession", "competitor", "supply_shortage", "price_war", "payout_outage", "surge")


class Shock(Strict):
    """A timed market event.

    ``magnitude`` is a fraction for demand, capacity and price shocks (0.2 = 20% drop or rise), an
    absolute rise in the competitor's offer (share of revenue) for ``competitor``, and extra weeks
    of payout delay for ``payout_outage``. ``probability`` below 1 makes the shock occur in only
    that share of replications (drawn from the replication's own stream).
    """

    kind: Literal[
        "recession", "competitor", "supply_shortage", "price_war", "payout_outage", "surge"
    ]
    start_week: Annotated[int, Field(ge=0, le=10**4)]
    duration_weeks: Annotated[int, Field(ge=1, le=10**4)]
    magnitude: Annotated[float, Field(ge=0.0, le=52.0)]
    ramp_weeks: Annotated[int, Field(ge=0, le=10**4)] = 0
    probability: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    segments: list[str] | None = None
    regions: list[str] | None = None

    @model_validator(mode="after")
    def _magnitude_fits_kind(self) -> Shock:
        if self.kind in ("recession", "supply_shortage", "price_war") and self.magnitude >= 1.0:
            raise ValueError(f"a {self.kind} magnitude is a fraction below 1")
        if self.kind == "competitor" and self.magnitude > 1.0:
            raise ValueError("a competitor magnitude is a share of revenue, at most 1")
        if self.kind == "surge" and self.magnitude > 10.0:
            raise ValueError("a surge magnitude is a fractional rise, at most 10 (x11 demand)")
        if self.kind == "payout_outage" and (self.segments or self.regions):
            raise ValueError(
                "a payout_outage stops the whole payout system: it cannot be limited to "
                "segments or regions"
            )
        return self


class Market(Strict):
    """Demand around the partners: growth, a seasonal shape, noise and shocks.

    ``seasonality`` lists multipliers over the periods of a year (averaging to 1 after
    normalisation); ``demand_noise`` is the weekly log-scale volatility of a common demand factor.
    """

    trend_per_year: Annotated[float, Field(ge=-0.9, le=3.0)] = 0.05
    seasonality: list[Annotated[float, Field(gt=0.0, le=100.0)]] = Field(
        default_factory=lambda: [1.0]
    )
    demand_noise: Annotated[float, Field(ge=0.0, le=1.0)] = 0.05
    gross_margin: Annotated[float, Field(ge=0.0, le=1.0)] = 0.35
    discount_rate_per_year: Annotated[float, Field(ge=0.0, le=1.0)] = 0.08
    partnership_value_periods: Annotated[float, Field(ge=0.0, le=40.0)] = 4.0
    competitor_offer: Annotated[float, Field(ge=0.0, le=1.0)] = 0.02
    shocks: list[Shock] = Field(default_factory=list)
