"""A simulated history in the ``payout`` transactions format: synthetic truth for calibration.

:func:`simulate_history` runs the block holding one replication of a scenario (the same numbers
as that replication of ``incentsim run`` with the same seed) and writes what its partners did as
the rows :func:`~incentsim.payout.transactions.read_transactions` reads:

* **sales**: each business day a partner books revenue on (the engine dates every week's
  closings on its Monday-Friday, deals moved into a period on its last days:
  :mod:`incentsim.engine.days`), it is split into ``max(1, round(deals))`` deals (the week's
  deals by the day's share of its revenue; shares drawn from a flat Dirichlet), each with
  its own ``deal_registration_id`` (the simulation's genuine deals are registered; duplicate
  registrations and audits are not written), a ``product`` drawn from the partner's product mix,
  ``co_sell`` with probability the partner's co-selling share (with the period's co-delivery
  share), and ``new_logo`` on as many of the period's deals, drawn at random, as the simulation
  counted new logos (rounded);
* **returns**: the period's returns on one row dated on a business day of the period's first
  week;
* **MDF claims**: the period's approved claims on one row dated ``approval_lag_weeks`` before the
  period's last day (so that ``payout`` approves them in the same period; never before the
  calendar starts);
* **snapshots**: certified staff and customer satisfaction on the last day of every period.

Amounts are in cents: a partner's deals in a period are rounded on their running sum, so they
add up to the simulated period revenue rounded to the cent. Totals per partner and period of
revenue, returns and MDF claims therefore match the simulation to the cent; co-selling revenue
and new logos match in expectation (whole deals are flagged), and so do SPIFF products.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from incentsim._output import atomic_file
from incentsim.engine.simulation import Simulation, draw_partners_and_market
from incentsim.montecarlo.resources import block_size_for
from incentsim.montecarlo.seeding import SeedLike, block_seeds
from incentsim.payout.transactions import COLUMNS
from incentsim.program.compiled import compile_program
from incentsim.quantities import from_cents, round_to_cents, to_cents

if TYPE_CHECKING:
    from incentsim.calendar import Calendar
    from incentsim.engine.recorder import Recorder
    from incentsim.population.sample import Partners
    from incentsim.scenario.model import Scenario

#: Columns of a written history, in the order of the transactions format (a simulation
#: audits partners, not deals: no audit flags).
HISTORY_COLUMNS = tuple(c for c in COLUMNS if c != "audit_flag")


@dataclass(frozen=True)
class SimulatedHistory:
    """A simulated history and the simulation's own figures it was written from.

    Attributes
    ----------
    transactions
        Columns :data:`HISTORY_COLUMNS`, one row per deal, return, claim or snapshot, sorted by
        partner and date; ``date`` as ``datetime.date``, amounts rounded to cents.
    revenue, returns, mdf_claims
        The simulation's figures per partner (index ``partner_id``, every partner that was
        ever active) and period (columns ``1 .. horizon_periods``), unrounded.
    """

    transactions: pd.DataFrame
    revenue: pd.DataFrame
    returns: pd.DataFrame
    mdf_claims: pd.DataFrame


def simulate_history(
    scenario: Scenario, *, seed: SeedLike | None = None, replication: int = 0
) -> SimulatedHistory:
    """Simulate one replication of ``scenario`` and return its partners' transactions.

    Parameters
    ----------
    scenario
        The validated scenario (drawn or real partners).
    seed
        Root seed (default: the scenario's).
    replication
        Which replication of a run with that seed (0-based); its block is simulated whole, so
        the numbers are those of ``incentsim run`` with at least as many full blocks (any run
        of ``B * (replication // B + 1)`` replications or more, ``B`` the block size,
        :func:`~incentsim.montecarlo.resources.block_size_for`).

    Returns
    -------
    SimulatedHistory
    """
    recorder, partners, row, rng = _simulated(scenario, seed, replication)
    return _history(scenario, recorder, partners, row, rng)


def replication_history(
    scenario: Scenario,
    recorder: Recorder,
    partners: Partners,
    replication: int,
    rng: np.random.Generator,
) -> SimulatedHistory:
    """The history of one replication of a block its caller simulated with
    ``recorder.keep_partner_history()`` (what :func:`simulate_history` writes for its own
    block); ``rng`` splits and dates the deals. The calibration's back-test replays such
    histories through the payout rules, as it replays the real one."""
    return _history(scenario, recorder, partners, replication, rng)


def write_history(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write transactions (:attr:`SimulatedHistory.transactions`) as CSV, or as Parquet for
    ``.parquet``/``.pq``.

    The file appears whole: it is written beside ``path`` and renamed into place.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise ValueError(f"{path}: unknown file type '{suffix}'; use .csv or .parquet")
    out = frame.loc[:, list(HISTORY_COLUMNS)]
    with atomic_file(path) as temporary:
        if suffix == ".csv":
            out.to_csv(temporary, index=False)
        else:
            out.to_parquet(temporary, index=False)
    return path


def partner_table(history: pd.DataFrame, calendar: Calendar) -> pd.DataFrame:
    """A history's partners as a partner file (``population.source``): ``partner_id, segment,
    region, revenue_p1 .. revenue_pK`` (revenue booked per period of ``calendar``, blank before
    a partner's first row), and its latest ``certified_staff`` and ``csat`` snapshots.

    Parameters
    ----------
    history
        Rows in the transactions format (from :func:`simulate_history` or
        :func:`~incentsim.payout.transactions.read_transactions`).
    calendar
        The calendar the history's dates follow.
    """
    period = calendar.period_of(pd.to_datetime(history["date"]).to_numpy(dtype="datetime64[D]"))
    columns = pd.RangeIndex(calendar.horizon_periods)
    rows = history.assign(period=period)
    revenue = rows.pivot_table(
        index="partner_id", columns="period", values="amount", aggfunc="sum", fill_value=0.0
    ).reindex(columns=columns, fill_value=0.0)
    first = rows.groupby("partner_id")["period"].min().reindex(revenue.index)
    revenue = revenue.where(columns.to_numpy()[None, :] >= first.to_numpy()[:, None])
    revenue.columns = [f"revenue_p{k + 1}" for k in columns]
    order = rows.sort_values("date", kind="stable").groupby("partner_id")
    table = order[["segment", "region"]].first().reindex(revenue.index)
    for name in ("certified_staff", "csat"):
        table[name] = order[name].last().reindex(revenue.index)
    table = pd.concat(
        [table[["segment", "region"]], revenue, table[["certified_staff", "csat"]]], axis=1
    )
    return table.reset_index()


def _simulated(
    scenario: Scenario, seed: SeedLike | None, replication: int
) -> tuple[Recorder, Partners, int, np.random.Generator]:
    """Run the block holding ``replication`` with the partner history kept; also the stream
    that splits and dates its deals (the block seed's fourth child: the engine uses three)."""
    if replication < 0:
        raise ValueError(f"replication must be >= 0, got {replication}")
    root = scenario.seed if seed is None else seed
    # A full block of the run's size: the numbers of any run whose blocks up to this one are
    # full.
    reps = block_size_for(scenario)
    block = block_seeds(root, (replication // reps + 1) * reps, reps)[-1]
    population_seed, market_seed, partner_seed, history_seed = block.seed.spawn(4)
    partners, market = draw_partners_and_market(scenario, population_seed, market_seed, reps)
    simulation = Simulation(scenario, partners, market, np.random.default_rng(partner_seed))
    simulation.recorder.keep_partner_history()
    simulation.run()
    rng = np.random.default_rng(history_seed)
    return simulation.recorder, partners, replication % reps, rng


def _history(
    scenario: Scenario,
    recorder: Recorder,
    partners: Partners,
    r: int,
    rng: np.random.Generator,
) -> SimulatedHistory:
    """The rows of replication ``r`` of a block run with the partner history kept."""
    assert recorder.partner_weeks is not None
    cal = scenario.calendar
    wpp = cal.weeks_per_period
    start = np.datetime64(cal.start_date, "D")
    weekly = recorder.partner_weeks["revenue"][r]
    weekly_deals = recorder.partner_weeks["deals"][r]
    periods = [{name: values[r] for name, values in p.items()} for p in recorder.partner_periods]
    ids = np.asarray(partners.partner_id, dtype=object)
    segment = np.array(partners.segment_names, dtype=object)[partners.segment[r]]
    region = np.array(partners.region_names, dtype=object)[partners.region[r]]

    assert recorder.partner_days is not None
    day_shares = recorder.partner_days[r]
    sales = _sales(weekly, weekly_deals, day_shares, periods, partners, r, wpp, start, rng)
    last_day = start + np.arange(1, len(periods) + 1) * 7 * wpp - 1
    cp = compile_program(scenario.program, partners.segment_names, partners.region_names)
    lag_days = np.rint(7 * cp.mdf_approval_lag_weeks[partners.group[r]]).astype(np.int64)
    other: list[pd.DataFrame] = []
    for k, period in enumerate(periods):
        joined = np.flatnonzero(period["joined"])
        returned = np.flatnonzero(period["returns"] > 0)
        claimed = np.flatnonzero(period["mdf_claims"] > 0)
        first_week = start + k * 7 * wpp + business_days(start)[rng.integers(0, 5, len(returned))]
        claim_day = np.maximum(last_day[k] - lag_days[claimed], start)
        other += [
            pd.DataFrame(
                {
                    "partner": returned,
                    "date": first_week,
                    "returned_amount": round_to_cents(period["returns"][returned]),
                }
            ),
            pd.DataFrame(
                {
                    "partner": claimed,
                    "date": claim_day,
                    "mdf_claim": round_to_cents(period["mdf_claims"][claimed]),
                }
            ),
            pd.DataFrame(
                {
                    "partner": joined,
                    "date": np.full(len(joined), last_day[k]),
                    "certified_staff": period["certified_staff"][joined],
                    "csat": period["csat"][joined],
                }
            ),
        ]
    rows = pd.concat([sales, *other], ignore_index=True)
    rows = rows.sort_values(["partner", "date"], kind="stable").reset_index(drop=True)
    who = rows.pop("partner").to_numpy()
    rows.insert(0, "partner_id", ids[who])
    rows["date"] = pd.to_datetime(rows["date"]).dt.date
    rows["segment"] = segment[who]
    rows["region"] = region[who]
    for name in ("product", "deal_type", "deal_registration_id"):
        rows[name] = rows[name].fillna("")
    for name in ("co_sell", "new_logo"):
        rows[name] = rows[name].astype("boolean").fillna(False).astype(bool)
    out = rows.loc[:, list(HISTORY_COLUMNS)]
    ever = np.flatnonzero(np.any([p["joined"] for p in periods], axis=0))
    simulated = {
        name: pd.DataFrame(
            np.stack([p[name][ever] for p in periods], axis=1),
            index=pd.Index(ids[ever], name="partner_id"),
            columns=pd.RangeIndex(1, len(periods) + 1, name="period"),
        )
        for name in ("revenue", "returns", "mdf_claims")
    }
    return SimulatedHistory(out, **simulated)


#: Shares of a week's revenue below which a business day gets no deal of its own (its sliver
#: of revenue goes to the week's other days).
_MIN_DAY_SHARE = 1e-3


def business_days(start: np.datetime64) -> np.ndarray:
    """Offsets (days) of the five business days (Monday-Friday) of a week starting on
    ``start``, in order, ``(5,)``."""
    offsets = np.arange(7)
    weekday = (start.astype("datetime64[D]").astype(np.int64) + 3 + offsets) % 7  # Monday 0
    return offsets[weekday < 5]


def _sales(
    weekly: np.ndarray,
    weekly_deals: np.ndarray,
    day_shares: np.ndarray,
    periods: list[dict[str, np.ndarray]],
    partners: Partners,
    r: int,
    wpp: int,
    start: np.datetime64,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One row per deal: each business day's booked revenue (``day_shares`` of its week's,
    ``(N, weeks, 5)``) split into its deals, in cents that add up to each partner's period
    revenue rounded to the cent."""
    shares = np.where(day_shares >= _MIN_DAY_SHARE, day_shares.astype(np.float64), 0.0)
    total = shares.sum(axis=-1, keepdims=True)
    shares = np.divide(shares, total, out=np.zeros_like(shares), where=total > 0)
    partner, week, weekday = np.nonzero((weekly[..., None] > 0) & (shares > 0))
    day_share = shares[partner, week, weekday]
    count = np.maximum(np.rint(weekly_deals[partner, week] * day_share), 1).astype(np.int64)
    partner, week = np.repeat(partner, count), np.repeat(week, count)
    weekday, day_share = np.repeat(weekday, count), np.repeat(day_share, count)
    weight = rng.standard_exponential(len(partner))
    first = np.cumsum(count) - count
    share = weight / np.repeat(np.add.reduceat(weight, first), count) if len(first) else weight
    raw = weekly[partner, week] * day_share * share
    day = week * 7 + business_days(start)[weekday]
    period = week // wpp
    order = np.lexsort((day, period, partner))
    partner, day, period, raw = partner[order], day[order], period[order], raw[order]
    running = pd.Series(raw).groupby([partner, period]).cumsum().to_numpy()
    total_cents = to_cents(running)
    starts = np.r_[True, (partner[1:] != partner[:-1]) | (period[1:] != period[:-1])]
    cents = np.where(starts, total_cents, total_cents - np.r_[0, total_cents[:-1]])
    keep = cents > 0
    partner, day, period, cents = partner[keep], day[keep], period[keep], cents[keep]

    n = len(partner)
    co_share = partners.co_sell_share[r][partner]
    co_sell = rng.random(n) < co_share
    co_delivery = np.stack([p["co_delivery"] for p in periods])[period, partner]
    mix = np.cumsum(partners.product_mix[r][partner], axis=1)
    product_index = np.minimum((rng.random(n)[:, None] >= mix).sum(axis=1), mix.shape[1] - 1)
    products = np.array(partners.product_names, dtype=object)[product_index]
    logos = np.rint(np.stack([p["new_logos"] for p in periods])[period, partner])
    rank = pd.Series(rng.random(n)).groupby([partner, period]).rank(method="first").to_numpy()
    new_logo = rank <= logos
    return pd.DataFrame(
        {
            "partner": partner,
            "date": start + day,
            "amount": from_cents(cents),
            "product": products,
            "deal_type": np.where(new_logo, "new_logo", "other").astype(object),
            "deal_registration_id": [f"D{k:07d}" for k in range(1, n + 1)],
            "co_sell": co_sell,
            "co_delivery": np.where(co_sell, co_delivery, np.nan),
            "new_logo": new_logo,
        }
    )
