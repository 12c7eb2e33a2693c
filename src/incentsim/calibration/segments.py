"""Estimates per segment and region beside the behaviour constants: seasonality and trend, deal
size, MDF take-up, and why win rate and deal-cycle length stay at their priors.

Each figure is one row of :func:`estimates_frame`: ``quantity``, ``group`` (``all``,
``segment:<name>`` or ``region:<name>``), ``estimate`` with its 90% interval ``low``-``high``,
``prior``, ``identified``, ``in_scenario`` (whether the calibrated scenario holds it) and
``reason`` (why it is not identified or not held).

* **Trend and seasonality** (indirect inference, Gourieroux, Monfort & Renault 1993): the log
  of a group's revenue per period is fitted on season-of-year effects and a trend, on the
  history and on each history the calibrated model simulates at the input's trend and
  seasonality; the estimate moves the input's values by the history's coefficient less the
  simulations' mean, so what churn, ramp-up and timing do to revenue over time is not read as
  demand. The interval is the simulations' spread (one simulated history's coefficient,
  widened by ``1 + 1/S`` for their mean): it carries the market path a history shares.
* **Deal size**: per partner, the mean deal on days with at least two deals (a day with one
  may hold a part of a deal, as a partial shipment or the simulated history's last deal of a
  week); per segment, the median and the log spread over partners, compared with the same
  figure of a history simulated at the input's deal sizes (indirect inference again: what the
  statistic does to a lognormal deal size is the model's, not guessed). Intervals: partner
  bootstrap of the history's figure, widened by ``sqrt(2)`` for the one simulated history.
* **MDF take-up**: claims over the MDF the program in force accrued, replayed by the payout
  rules (:func:`~incentsim.payout.statements.compute_statements`); partner-bootstrap
  interval. The constant behind it (``mdf_claim_rate``) is a simulated moment
  (:mod:`incentsim.calibration.constants`).
* **Win rate and deal-cycle length** are not identified by a transactions history: it lists
  the deals won, not the opportunities lost, and one date per deal, not the date it opened.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from incentsim.calibration.observed import Observed

if TYPE_CHECKING:
    from incentsim.market.spec import Market
    from incentsim.payout.statements import Statements
    from incentsim.population.spec import Population

#: Fewest partners a group needs for a figure of its own.
MIN_PARTNERS: int = 20

#: Widest 90% interval of the trend (per year) that counts as identified.
TREND_WIDTH: float = 0.20

#: z of a two-sided 90% interval.
Z90: float = 1.6448536269514722

COLUMNS = (
    "quantity",
    "group",
    "estimate",
    "low",
    "high",
    "prior",
    "identified",
    "in_scenario",
    "reason",
)

WIN_RATE_REASON = (
    "a transactions history lists the deals won, not the opportunities lost; a win rate needs "
    "both (a CRM export of opportunities)"
)
DEAL_CYCLE_REASON = (
    "a transactions history has one date per deal, not the date the opportunity opened; the "
    "cycle needs both"
)


def estimates_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The rows as a table indexed ``quantity`` (pooled) or ``quantity:group``."""
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame.index = pd.Index(
        [
            q if g == "all" else f"{q}:{g}"
            for q, g in zip(frame["quantity"], frame["group"], strict=True)
        ],
        name="estimate",
    )
    return frame


def _row(quantity: str, group: str, **values: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "quantity": quantity,
        "group": group,
        "estimate": math.nan,
        "low": math.nan,
        "high": math.nan,
        "prior": math.nan,
        "identified": False,
        "in_scenario": False,
        "reason": "",
    }
    out.update(values)
    return out


def _groups(observed: Observed) -> Iterator[tuple[str, np.ndarray]]:
    """``all``, each segment and each region, as masks over the partners (first replication)."""
    yield "all", np.ones(observed.segment.shape[1], dtype=bool)
    for k, name in enumerate(observed.segments):
        yield f"segment:{name}", observed.segment[0] == k
    if observed.region is not None:
        for k, name in enumerate(observed.regions):
            yield f"region:{name}", observed.region[0] == k


# -- trend and seasonality ---------------------------------------------------------------------


def demand_fit(revenue: np.ndarray, periods_per_year: int) -> np.ndarray | None:
    """Least-squares fit of log revenue per period on season-of-year effects (centred: mean 0)
    and a trend per year: ``[trend, season_0 .. season_{P-1}]`` in logs, or ``None`` when a
    period has no revenue or there are too few periods."""
    k = len(revenue)
    seasons = min(periods_per_year, k)
    if k < seasons + 2 or np.any(revenue <= 0):
        return None
    t = np.arange(k) / periods_per_year
    dummies = np.eye(seasons)[np.arange(k) % seasons]
    design = np.column_stack([t, dummies])
    coef, *_ = np.linalg.lstsq(design, np.log(revenue), rcond=None)
    season = coef[1:] - coef[1:].mean()
    return np.concatenate([[coef[0]], season])


def demand_estimates(
    observed: Observed, simulated: Observed, market: Market, periods_per_year: int
) -> list[dict[str, Any]]:
    """Trend per year and seasonality per group, moved from ``market``'s by the history's fit
    less the mean fit of ``simulated``'s replications (histories of the calibrated model at
    ``market``)."""
    periods = observed.periods
    reps = simulated.weekly.shape[0]
    prior_trend = market.trend_per_year
    prior_season = np.asarray(market.seasonality, dtype=np.float64)
    if len(prior_season) == 1:
        prior_season = np.repeat(prior_season, periods_per_year)
    prior_season = prior_season / prior_season.mean()
    log_prior = np.log(prior_season) - np.log(prior_season).mean()
    seasonal = periods_per_year > 1
    two_years = periods >= 2 * periods_per_year
    rows: list[dict[str, Any]] = []
    data_revenue = observed.revenue[0]
    sim_revenue = simulated.revenue
    for group, members in _groups(observed):
        few = int(members.sum()) < MIN_PARTNERS
        data = demand_fit(data_revenue[members].sum(axis=0), periods_per_year)
        sims = [
            demand_fit(sim_revenue[r][members].sum(axis=0), periods_per_year) for r in range(reps)
        ]
        fits = np.array([f for f in sims if f is not None])
        pooled = group == "all"
        held = "" if pooled else "the scenario's market trend and seasonality are shared by every "
        held += "" if pooled else "segment and region; this group's figure is reported"
        if data is None or len(fits) < 3:
            reason = (
                f"a trend beside {periods_per_year} seasons needs at least "
                f"{periods_per_year + 2} periods with revenue in each; the history has {periods}"
            )
            rows.append(_row("trend_per_year", group, prior=prior_trend, reason=reason))
            continue
        shift = data - fits.mean(axis=0)
        spread = fits.std(axis=0, ddof=1) * math.sqrt(1.0 + 1.0 / len(fits))
        # trend
        log_trend = math.log1p(prior_trend) + shift[0]
        low, high = log_trend - Z90 * spread[0], log_trend + Z90 * spread[0]
        width = math.expm1(high) - math.expm1(low)
        if few:
            reason = f"fewer than {MIN_PARTNERS} partners"
        elif width > TREND_WIDTH:
            reason = f"its 90% interval spans {width:.0%} a year (at most {TREND_WIDTH:.0%})"
        else:
            reason = ""
        rows.append(
            _row(
                "trend_per_year",
                group,
                estimate=math.expm1(log_trend),
                low=math.expm1(low),
                high=math.expm1(high),
                prior=prior_trend,
                identified=not reason,
                in_scenario=pooled and not reason,
                reason=reason or held,
            )
        )
        # seasonality
        if not seasonal:
            continue
        logs = log_prior[: len(shift) - 1] + shift[1:]
        norm = float(np.mean(np.exp(logs)))
        for j, value in enumerate(logs):
            if few:
                reason = f"fewer than {MIN_PARTNERS} partners"
            elif not two_years:
                reason = (
                    f"{periods} periods: each season is seen once, inseparable from that "
                    "year's own shocks (two years are needed)"
                )
            else:
                reason = ""
            rows.append(
                _row(
                    f"seasonality_{j + 1}",
                    group,
                    estimate=math.exp(value) / norm,
                    low=math.exp(value - Z90 * spread[j + 1]) / norm,
                    high=math.exp(value + Z90 * spread[j + 1]) / norm,
                    prior=float(prior_season[j]),
                    identified=not reason,
                    in_scenario=pooled and not reason,
                    reason=reason or held,
                )
            )
    return rows


# -- deals ------------------------------------------------------------------------------------


def partner_deal_size(transactions: pd.DataFrame) -> pd.DataFrame:
    """Per partner (index ``partner_id``): ``segment``, ``region`` and ``deal_size``, the mean
    deal on its days with at least two deals (NaN without such a day)."""
    sales = transactions.loc[pd.to_numeric(transactions["amount"], errors="coerce") > 0]
    who = sales.groupby("partner_id")[["segment", "region"]].first()
    days = sales.groupby(["partner_id", "date"])["amount"].agg(["size", "sum"])
    busy = days[days["size"] >= 2].groupby(level="partner_id")[["size", "sum"]].sum()
    who["deal_size"] = (busy["sum"] / busy["size"]).reindex(who.index)
    return who


def _size_figures(values: np.ndarray) -> tuple[float, float]:
    """Median and log standard deviation of positive deal sizes."""
    logs = np.log(values)
    return float(np.exp(np.median(logs))), float(logs.std(ddof=1)) if len(logs) > 1 else 0.0


def deal_estimates(
    history: pd.DataFrame,
    simulated: pd.DataFrame,
    population: Population,
    *,
    bootstrap: int,
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """Deal size per segment (median and spread of the lognormal) and relative to the model per
    region; win rate and deal cycle reported as not identified, per segment.

    Parameters
    ----------
    history, simulated
        The history's transactions and a history simulated from the same partners at the
        input's deal sizes.
    population
        The input population (its segments' deal-size priors).
    bootstrap
        Partner resamples for the intervals.
    rng
        Their stream.
    """
    data = partner_deal_size(history)
    sim = partner_deal_size(simulated)
    rows: list[dict[str, Any]] = []
    groups = [("segment", name) for name in population.segments] + [
        ("region", name) for name in population.regions
    ]
    for kind, name in groups:
        group = f"{kind}:{name}"
        ours = data.loc[data[kind] == name, "deal_size"].dropna().to_numpy()
        theirs = sim.loc[sim[kind] == name, "deal_size"].dropna().to_numpy()
        ours, theirs = ours[ours > 0], theirs[theirs > 0]
        prior = population.segments[name].deal_size if kind == "segment" else None
        lognormal = prior is not None and prior.dist == "lognormal"
        prior_median = getattr(prior, "median", math.nan) if prior is not None else math.nan
        prior_sigma = getattr(prior, "sigma", math.nan) if prior is not None else math.nan
        if min(len(ours), len(theirs)) < MIN_PARTNERS:
            reason = f"fewer than {MIN_PARTNERS} partners with two deals on one day"
            quantity = "deal_size" if kind == "segment" else "deal_size_vs_model"
            rows.append(_row(quantity, group, prior=prior_median, reason=reason))
            continue
        median, spread = _size_figures(ours)
        sim_median, sim_spread = _size_figures(theirs)
        boot = np.array([_size_figures(rng.choice(ours, len(ours))) for _ in range(bootstrap)])
        se_log = float(np.log(boot[:, 0]).std(ddof=1)) * math.sqrt(2.0)
        se_spread = float(boot[:, 1].std(ddof=1)) * math.sqrt(2.0)
        ratio = median / sim_median
        if kind == "region":
            rows.append(
                _row(
                    "deal_size_vs_model",
                    group,
                    estimate=ratio,
                    low=ratio * math.exp(-Z90 * se_log),
                    high=ratio * math.exp(Z90 * se_log),
                    prior=1.0,
                    identified=True,
                    reason=(
                        "the scenario holds deal size per segment; this is the region's median "
                        "deal against the model's for the same partners"
                    ),
                )
            )
            continue
        held = "" if lognormal else "the input's deal size is not lognormal: reported only"
        rows.append(
            _row(
                "deal_size",
                group,
                estimate=prior_median * ratio,
                low=prior_median * ratio * math.exp(-Z90 * se_log),
                high=prior_median * ratio * math.exp(Z90 * se_log),
                prior=prior_median,
                identified=True,
                in_scenario=lognormal,
                reason=held,
            )
        )
        sigma2 = prior_sigma**2 + spread**2 - sim_spread**2 if lognormal else math.nan
        sigma = math.sqrt(max(sigma2, 0.0025)) if lognormal else math.nan
        rows.append(
            _row(
                "deal_size_sigma",
                group,
                estimate=sigma,
                low=max(sigma - Z90 * se_spread, 0.0),
                high=sigma + Z90 * se_spread,
                prior=prior_sigma,
                identified=lognormal,
                in_scenario=lognormal,
                reason=held,
            )
        )
    for name, segment in population.segments.items():
        for quantity, dist, reason in (
            ("win_rate", segment.win_rate, WIN_RATE_REASON),
            ("deal_cycle_weeks", segment.deal_cycle_weeks, DEAL_CYCLE_REASON),
        ):
            rows.append(_row(quantity, f"segment:{name}", prior=_centre(dist), reason=reason))
    return rows


def _centre(dist: Any) -> float:
    """A prior distribution's centre (mean, median or value), for the report."""
    for attr in ("mean", "median", "value"):
        if hasattr(dist, attr):
            return float(getattr(dist, attr))
    if hasattr(dist, "low") and hasattr(dist, "high"):
        return (float(dist.low) + float(dist.high)) / 2.0
    return math.nan


# -- MDF take-up ------------------------------------------------------------------------------


def mdf_take_up(
    statements: Statements, *, bootstrap: int, rng: np.random.Generator
) -> list[dict[str, Any]]:
    """MDF claimed over MDF accrued by the program in force, per group, with partner-bootstrap
    intervals (from the payout replay of the history)."""
    frame = statements.partners
    per = frame.groupby("partner_id").agg(
        segment=("segment", "first"),
        region=("region", "first"),
        claims=("mdf_claims", "sum"),
        accrued=("mdf_accrued", "sum"),
    )
    rows: list[dict[str, Any]] = []
    groups = [("all", per)] + [
        (f"{kind}:{name}", part)
        for kind in ("segment", "region")
        for name, part in per.groupby(kind, sort=False)
    ]
    for group, part in groups:
        claims = part["claims"].to_numpy(dtype=np.float64)
        accrued = part["accrued"].to_numpy(dtype=np.float64)
        if accrued.sum() <= 0:
            reason = "the program in force accrued no MDF"
            rows.append(_row("mdf_take_up", group, reason=reason))
            continue
        if claims.sum() <= 0:
            rows.append(_row("mdf_take_up", group, reason="the history records no MDF claim"))
            continue
        take = float(claims.sum() / accrued.sum())
        n = len(part)
        picks = [rng.integers(0, n, n) for _ in range(bootstrap)]
        boot = np.array([claims[i].sum() / max(accrued[i].sum(), 1e-9) for i in picks])
        low, high = np.quantile(boot, [0.05, 0.95])
        few = n < MIN_PARTNERS
        rows.append(
            _row(
                "mdf_take_up",
                group,
                estimate=take,
                low=float(low),
                high=float(high),
                identified=not few,
                reason=(
                    f"fewer than {MIN_PARTNERS} partners"
                    if few
                    else "an outcome of mdf_claim_rate (a behaviour constant), reported"
                ),
            )
        )
    return rows
