"""How a scenario describes the partner population: segments, regions and behavioural priors.

Each behavioural parameter is a distribution (:data:`Distribution`) drawn once per partner when
a population is built. Unobserved parameters of real partners loaded from a CSV are drawn from
the same priors.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from incentsim.groups import Groups
from incentsim.quantities import MAX_AMOUNT
from incentsim.strict import Strict


class Fixed(Strict):
    """Every partner gets ``value``."""

    dist: Literal["fixed"]
    value: float


class Uniform(Strict):
    """Uniform between ``low`` and ``high``."""

    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError("high must not be below low")
        return self


class Normal(Strict):
    """Normal with ``mean`` and ``sd``, clipped to [``low``, ``high``] when given."""

    dist: Literal["normal"]
    mean: float
    sd: Annotated[float, Field(ge=0.0, le=MAX_AMOUNT)]
    low: float | None = None
    high: float | None = None


class LogNormal(Strict):
    """Lognormal given its ``median`` and log-scale ``sigma`` (heavy-tailed sizes)."""

    dist: Literal["lognormal"]
    median: Annotated[float, Field(gt=0.0, le=MAX_AMOUNT)]
    sigma: Annotated[float, Field(ge=0.0, le=4.0)]


class Beta(Strict):
    """Beta on [0, 1] given its ``mean`` and ``concentration`` (alpha + beta)."""

    dist: Literal["beta"]
    mean: Annotated[float, Field(gt=0.0, lt=1.0)]
    concentration: Annotated[float, Field(gt=0.0, le=1e6)]


class Pareto(Strict):
    """Pareto (type I) with minimum ``scale`` and tail index ``shape``."""

    dist: Literal["pareto"]
    scale: Annotated[float, Field(gt=0.0, le=MAX_AMOUNT)]
    shape: Annotated[float, Field(gt=0.0, le=1e3)]


Distribution = Annotated[
    Fixed | Uniform | Normal | LogNormal | Beta | Pareto, Field(discriminator="dist")
]


def _fixed(value: float) -> Fixed:
    return Fixed(dist="fixed", value=value)


def _beta(mean: float, concentration: float) -> Beta:
    return Beta(dist="beta", mean=mean, concentration=concentration)


class Segment(Strict):
    """A partner type (reseller, system integrator, technology partner) and its priors.

    Money amounts are per week. ``capacity`` is the revenue a partner could sell in a week if it
    gave the vendor all its effort; ``share_of_wallet`` (from loyalty) and effort scale it down.
    ``outside_option`` is what a partner could earn elsewhere beyond the market's competitor
    offer (``market.competitor_offer``), as a share of revenue.
    """

    share: Annotated[float, Field(gt=0.0, le=1.0)]
    capacity: Distribution = Field(
        default_factory=lambda: LogNormal(dist="lognormal", median=8000.0, sigma=1.1)
    )
    win_rate: Distribution = Field(default_factory=lambda: _beta(0.3, 20.0))
    deal_size: Distribution = Field(
        default_factory=lambda: LogNormal(dist="lognormal", median=12000.0, sigma=0.5)
    )
    deal_cycle_weeks: Distribution = Field(
        default_factory=lambda: Uniform(dist="uniform", low=2.0, high=8.0)
    )
    responsiveness: Distribution = Field(default_factory=lambda: _beta(0.5, 6.0))
    myopia: Distribution = Field(default_factory=lambda: _beta(0.3, 6.0))
    gaming_propensity: Distribution = Field(default_factory=lambda: _beta(0.15, 8.0))
    fairness_sensitivity: Distribution = Field(default_factory=lambda: _beta(0.5, 6.0))
    initial_loyalty: Distribution = Field(default_factory=lambda: _beta(0.6, 10.0))
    outside_option: Distribution = Field(default_factory=lambda: _beta(0.005, 50.0))
    certified_staff: Distribution = Field(
        default_factory=lambda: Uniform(dist="uniform", low=0.0, high=6.0)
    )
    csat: Distribution = Field(
        default_factory=lambda: Normal(dist="normal", mean=4.0, sd=0.4, low=1.0, high=5.0)
    )
    new_logo_share: Distribution = Field(default_factory=lambda: _beta(0.25, 10.0))
    co_sell_share: Distribution = Field(default_factory=lambda: _beta(0.1, 10.0))
    product_mix: dict[str, Annotated[float, Field(ge=0.0, le=1e6)]] = Field(
        default_factory=lambda: {"core": 1.0}
    )


class Recruitment(Strict):
    """New partners joining during the horizon; they ramp up over ``ramp_periods``.

    ``per_period`` is how many join per period when the program pays what partners take as
    normal (``behaviour.reference_rate``); ``capacity_per_period`` is the most candidates the
    vendor's recruiting can sign in a period (default: twice ``per_period``). Each candidate
    joins with a probability that rises with the rate the program would pay it
    (``behaviour.recruit_sensitivity``), so a richer or more proportional program recruits more
    and better partners, bounded by the capacity.
    """

    per_period: Annotated[float, Field(ge=0.0, le=1_000_000)] = 0.0
    capacity_per_period: Annotated[float, Field(ge=0.0, le=1_000_000)] | None = None
    ramp_periods: Annotated[int, Field(ge=0, le=12)] = 2

    @model_validator(mode="after")
    def _capacity_covers_the_rate(self) -> Recruitment:
        if self.capacity_per_period is not None and self.capacity_per_period < self.per_period:
            raise ValueError(
                f"capacity_per_period {self.capacity_per_period:g} is below per_period "
                f"{self.per_period:g}: recruiting cannot sign fewer candidates than join"
            )
        return self

    @property
    def candidates_per_period(self) -> float:
        """Candidates per period: the recruiting capacity."""
        if self.capacity_per_period is not None:
            return self.capacity_per_period
        return 2.0 * self.per_period

    @property
    def acceptance(self) -> float:
        """Share of candidates who join when the program pays the normal rate."""
        candidates = self.candidates_per_period
        return self.per_period / candidates if candidates > 0 else 0.0


class Population(Strict):
    """The partner population: how many, which segments and regions, and their priors.

    ``source`` optionally names a CSV of real partners (``partner_id, segment, region`` and
    optionally ``revenue_p1, revenue_p2, ...`` per period); unobserved parameters are drawn from
    the segment priors. A relative path is read from the folder of the scenario file that names
    it (from the working directory when given with ``--set``). With a partner file, ``partners``
    is the number of partners it lists: leave it out, or write that number.
    """

    partners: Annotated[int, Field(ge=1, le=1_000_000)] = 1000
    source: str | None = None
    segments: dict[str, Segment] = Field(min_length=1)
    regions: dict[str, Annotated[float, Field(gt=0.0, le=1.0)]] = Field(
        default_factory=lambda: {"global": 1.0}
    )
    recruitment: Recruitment = Field(default_factory=Recruitment)

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> Population:
        for label, shares in (
            ("segments", {k: s.share for k, s in self.segments.items()}),
            ("regions", self.regions),
        ):
            total = sum(shares.values())
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"{label} shares must sum to 1 (they sum to {total:g})")
        return self

    @property
    def groups(self) -> Groups:
        """The segment x region groups, in the order every layer indexes them by."""
        return Groups.of(self.segments, self.regions)
