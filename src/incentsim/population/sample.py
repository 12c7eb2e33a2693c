"""Draw a heterogeneous partner population as arrays shaped (replications, partner slots).

Every partner is an agent with its own parameters, held column-wise: one array per parameter,
shaped ``(R, N)`` for ``R`` replications in a block and ``N`` partner slots. Slots cover the
initial population and every partner that may be recruited during the horizon; a slot whose
partner never joins is marked with :data:`NEVER_ACTIVE` in ``active_from_period``.

Assumptions the code makes (each documented where it is applied):

* The initial population's segment counts are exact (largest remainder on the declared shares)
  and identical in every replication; slot ``i`` is the same partner (same segment and region)
  in every replication, while its behavioural parameters are drawn per replication.
* Recruits join at the start of periods ``1 .. horizon_periods - 1``, ``Poisson(per_period)`` of
  them per period and replication; their segment and region are drawn from the declared shares.
* A drawn parameter is clipped to the range that makes sense for it (:data:`PARAMETER_BOUNDS`),
  so a normal prior without bounds cannot give a negative capacity or a win rate above 1.
* Real partners with a revenue history get a weekly capacity of
  ``mean period revenue / weeks_per_period / CAPACITY_SHARE_ASSUMED``: about half of a partner's
  capacity is assumed to go to the vendor.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from incentsim.calendar import Calendar
from incentsim.errors import DataError, ScenarioError
from incentsim.groups import Groups
from incentsim.population.spec import Beta, Fixed, LogNormal, Normal, Pareto, Population, Uniform
from incentsim.quantities import MAX_AMOUNT

#: ``active_from_period`` of a slot whose partner never joins (larger than any period).
NEVER_ACTIVE: int = int(np.iinfo(np.int32).max)

#: Share of its capacity a real partner is assumed to sell for the vendor when its capacity is
#: calibrated from observed revenue (an assumption, not a measured figure).
CAPACITY_SHARE_ASSUMED: float = 0.5

#: Quantile of the total number of recruits over the horizon that sizes the recruitment slots.
#: A replication that draws more recruits than that still gets them all: the block grows.
RECRUIT_SLOT_QUANTILE: float = 0.9999

#: Valid range of each per-partner parameter (units in :class:`Partners`); draws are clipped to it.
PARAMETER_BOUNDS: dict[str, tuple[float, float]] = {
    "capacity": (0.0, 1e9),
    "win_rate": (0.0, 1.0),
    "deal_size": (0.0, 1e9),
    "deal_cycle_weeks": (1.0, 520.0),
    "responsiveness": (0.0, 1.0),
    "myopia": (0.0, 1.0),
    "gaming_propensity": (0.0, 1.0),
    "fairness_sensitivity": (0.0, 1.0),
    "initial_loyalty": (0.0, 1.0),
    "outside_option": (0.0, 1.0),
    "certified_staff": (0.0, 1e6),
    "csat": (0.0, 5.0),
    "new_logo_share": (0.0, 1.0),
    "co_sell_share": (0.0, 1.0),
}

#: Columns a partner CSV may carry besides ``revenue_p1 .. revenue_pK``.
REQUIRED_COLUMNS = ("partner_id", "segment", "region")
OBSERVED_COLUMNS = ("capacity", "certified_staff", "csat")
_REVENUE_COLUMN = re.compile(r"^revenue_p(\d+)$")


def draw(
    dist: Fixed | Uniform | Normal | LogNormal | Beta | Pareto,
    rng: np.random.Generator,
    size: int | tuple[int, ...],
) -> np.ndarray:
    """Draw ``size`` values from a prior declared in a scenario.

    Parameters
    ----------
    dist
        The distribution model: ``fixed`` (constant), ``uniform`` (low, high), ``normal`` (mean,
        sd, clipped to low/high when given), ``lognormal`` (median, log-scale sigma), ``beta``
        (mean, concentration: ``a = mean * c``, ``b = (1 - mean) * c``) or ``pareto`` (type I:
        ``scale * (1 + Lomax(shape))``, so ``scale`` is the minimum).
    rng
        The random stream.
    size
        Output shape.

    Returns
    -------
    numpy.ndarray
        float64 values of shape ``size``.

    Examples
    --------
    >>> from incentsim.population.spec import LogNormal
    >>> x = draw(LogNormal(dist="lognormal", median=100.0, sigma=0.5), np.random.default_rng(0), 3)
    >>> x.shape, x.dtype
    ((3,), dtype('float64'))
    """
    match dist:
        case Fixed():
            return np.full(size, dist.value, dtype=np.float64)
        case Uniform():
            return rng.uniform(dist.low, dist.high, size)
        case Normal():
            values = rng.normal(dist.mean, dist.sd, size)
            if dist.low is None and dist.high is None:
                return values
            return np.clip(values, dist.low, dist.high)
        case LogNormal():
            return rng.lognormal(math.log(dist.median), dist.sigma, size)
        case Beta():
            c = dist.concentration
            return rng.beta(dist.mean * c, (1.0 - dist.mean) * c, size)
        case Pareto():
            return dist.scale * (1.0 + rng.pareto(dist.shape, size))
    raise TypeError(f"unknown distribution model {dist!r}")


@dataclass(frozen=True, eq=False)
class Partners:
    """The partner population of one block of replications, as read-only arrays.

    Every per-partner array is shaped ``(R, N)``: ``R`` replications, ``N`` partner slots (the
    initial population first, then recruitment slots). Money is in the scenario's currency.

    Attributes
    ----------
    segment, region : numpy.ndarray of int64, (R, N)
        Indices into ``segment_names`` and ``region_names``.
    group : numpy.ndarray of int64, (R, N)
        ``segment * n_regions + region`` (:class:`~incentsim.groups.Groups`): index into
        :attr:`group_names`.
    capacity : numpy.ndarray, (R, N)
        Revenue the partner could sell per week with all its effort on the vendor.
    win_rate : numpy.ndarray, (R, N)
        Share of worked opportunities won, in [0, 1].
    deal_size : numpy.ndarray, (R, N)
        Typical deal, currency.
    deal_cycle_weeks : numpy.ndarray, (R, N)
        Weeks from opportunity to close (at least 1); longer cycles give more control over timing.
    responsiveness, myopia, gaming_propensity, fairness_sensitivity : numpy.ndarray, (R, N)
        Behavioural traits in [0, 1]: how strongly effort follows the marginal reward, how much
        future payouts are discounted, the propensity to move timing or reporting, and the weight
        put on procedural fairness.
    initial_loyalty : numpy.ndarray, (R, N)
        Starting loyalty (share of wallet given to the vendor), in [0, 1].
    outside_option : numpy.ndarray, (R, N)
        What the partner can get elsewhere, as a share of revenue, in [0, 1].
    certified_staff : numpy.ndarray, (R, N)
        Certified staff (a count; prior draws may be fractional).
    csat : numpy.ndarray, (R, N)
        Customer satisfaction score, in [0, 5].
    new_logo_share, co_sell_share : numpy.ndarray, (R, N)
        Shares of revenue from new customers and from deals worked with the vendor, in [0, 1].
    product_mix : numpy.ndarray, (R, N, n_products)
        Share of revenue per product (rows sum to 1), in the order of ``product_names``.
    active_from_period : numpy.ndarray of int64, (R, N)
        Period from whose start the partner exists: 0 for the initial population, ``k`` for a
        recruit joining at the start of period ``k``, :data:`NEVER_ACTIVE` for an unused slot.
    observed_revenue : numpy.ndarray, (R, N, H_obs) or None
        Real partners' revenue per past period (oldest first; NaN where the CSV cell was blank
        and for recruits), identical across replications; ``None`` without a revenue history.
    segment_names, region_names, product_names : tuple of str
        Names in index order.
    partner_id : numpy.ndarray of str, (N,)
        One id per slot: the CSV's ids for real partners, ``P0001 ...`` for a drawn population,
        ``recruit-0001 ...`` for recruitment slots.
    """

    segment: np.ndarray
    region: np.ndarray
    group: np.ndarray
    capacity: np.ndarray
    win_rate: np.ndarray
    deal_size: np.ndarray
    deal_cycle_weeks: np.ndarray
    responsiveness: np.ndarray
    myopia: np.ndarray
    gaming_propensity: np.ndarray
    fairness_sensitivity: np.ndarray
    initial_loyalty: np.ndarray
    outside_option: np.ndarray
    certified_staff: np.ndarray
    csat: np.ndarray
    new_logo_share: np.ndarray
    co_sell_share: np.ndarray
    product_mix: np.ndarray
    active_from_period: np.ndarray
    observed_revenue: np.ndarray | None
    segment_names: tuple[str, ...]
    region_names: tuple[str, ...]
    product_names: tuple[str, ...]
    partner_id: np.ndarray

    def __post_init__(self) -> None:
        shape = self.segment.shape
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, np.ndarray):
                continue
            expected = shape[1:] if f.name == "partner_id" else shape
            if value.shape[: len(expected)] != expected:
                raise ValueError(f"Partners.{f.name} has shape {value.shape}, expected {expected}")
            value.flags.writeable = False

    @property
    def groups(self) -> Groups:
        """The segment × region groups :attr:`group` indexes."""
        return Groups(self.segment_names, self.region_names)

    @property
    def n_groups(self) -> int:
        """Number of segment × region groups."""
        return len(self.groups)

    @property
    def group_names(self) -> tuple[str, ...]:
        """``"segment/region"`` per group index (segment-major)."""
        return self.groups.names


def top_share(values: np.ndarray, fraction: float = 0.2, axis: int = -1) -> np.ndarray | float:
    """Share of the total held by the largest ``fraction`` of the values.

    NaN values are left out (pass ``np.where(active, revenue, np.nan)`` to measure active
    partners only); the top group is the ``ceil(fraction * n)`` largest of the ``n`` others.

    Parameters
    ----------
    values
        Non-negative values, e.g. capacity or revenue per partner.
    fraction
        Size of the top group, in (0, 1].
    axis
        Axis holding the partners; the others are kept (one share per replication).

    Returns
    -------
    float or numpy.ndarray
        The share in [0, 1] (NaN where nothing is held).

    Examples
    --------
    >>> top_share(np.array([1.0, 1.0, 1.0, 7.0, np.nan]), fraction=0.25)
    0.7
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    ordered = np.moveaxis(np.sort(np.asarray(values, dtype=np.float64), axis=axis), axis, -1)
    n = np.sum(~np.isnan(ordered), axis=-1, keepdims=True)
    top = np.maximum(np.ceil(fraction * n), 1).astype(np.int64)
    cumulative = np.concatenate(
        [np.zeros((*ordered.shape[:-1], 1)), np.cumsum(np.nan_to_num(ordered), axis=-1)], axis=-1
    )
    total = np.take_along_axis(cumulative, n, axis=-1)
    below = np.take_along_axis(cumulative, np.maximum(n - top, 0), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = ((total - below) / total)[..., 0]
    return float(share) if share.ndim == 0 else share


def _largest_remainder(total: int, shares: np.ndarray) -> np.ndarray:
    """Integer counts summing to ``total``, proportional to ``shares`` (Hamilton's method)."""
    exact = total * shares / shares.sum()
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(counts - exact, kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def _segment_region_shares(population: Population) -> tuple[np.ndarray, np.ndarray]:
    seg = np.array([s.share for s in population.segments.values()])
    reg = np.array(list(population.regions.values()))
    return seg / seg.sum(), reg / reg.sum()


def _initial_assignment(
    population: Population, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Segment and region per initial partner, exact counts in a shuffled order, shape (N0,)."""
    seg_shares, reg_shares = _segment_region_shares(population)
    seg_counts = _largest_remainder(population.partners, seg_shares)
    segment = np.repeat(np.arange(len(seg_shares)), seg_counts)
    region = np.concatenate(
        [
            np.repeat(np.arange(len(reg_shares)), _largest_remainder(int(n), reg_shares))
            for n in seg_counts
        ]
    )
    order = rng.permutation(population.partners)
    return segment[order], region[order]


def _poisson_quantile(q: float, mean: float) -> int:
    """The ``q`` quantile of a Poisson distribution (as ``scipy.stats.poisson.ppf``).

    Uses :mod:`scipy.special`, which imports far faster than :mod:`scipy.stats` (worker
    processes import this module).
    """
    # SciPy loads on first use, so reading and validating scenarios stays quick
    from scipy.special import pdtr, pdtrik

    upper = int(np.ceil(pdtrik(q, mean)))
    lower = max(upper - 1, 0)
    return lower if pdtr(lower, mean) >= q else upper


def _recruit_slots(
    population: Population, horizon: int, rng: np.random.Generator, reps: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segment, region and joining period of the recruitment slots over ``horizon`` periods,
    each shaped (R, S)."""
    rate = population.recruitment.candidates_per_period
    if rate == 0.0 or horizon < 2:
        empty = np.zeros((reps, 0), dtype=np.int64)
        return empty, empty, empty
    counts = rng.poisson(rate, size=(reps, horizon - 1))
    totals = counts.sum(axis=1)
    slots = max(
        int(_poisson_quantile(RECRUIT_SLOT_QUANTILE, rate * (horizon - 1))), int(totals.max())
    )
    # Period of slot j in replication r: 1 + number of periods whose cumulative recruit count
    # is <= j. One searchsorted over the rows laid end to end (row r shifted by r * (slots + 1)).
    shift = np.arange(reps)[:, None] * (slots + 1)
    cumulative = (np.cumsum(counts, axis=1) + shift).ravel()
    queries = np.arange(slots)[None, :] + shift
    before = np.searchsorted(cumulative, queries, side="right") - np.arange(reps)[:, None] * (
        horizon - 1
    )
    period = np.where(before < horizon - 1, before + 1, NEVER_ACTIVE).astype(np.int64)
    seg_shares, reg_shares = _segment_region_shares(population)
    segment = rng.choice(len(seg_shares), size=(reps, slots), p=seg_shares)
    region = rng.choice(len(reg_shares), size=(reps, slots), p=reg_shares)
    return segment.astype(np.int64), region.astype(np.int64), period


def _product_mix(population: Population) -> tuple[tuple[str, ...], np.ndarray]:
    """Product names (first-appearance order) and a (n_segments, n_products) mix table."""
    names = tuple(dict.fromkeys(p for s in population.segments.values() for p in s.product_mix))
    table = np.zeros((len(population.segments), len(names)))
    for i, (seg_name, seg) in enumerate(population.segments.items()):
        total = sum(seg.product_mix.values())
        if total <= 0.0:
            raise ScenarioError(
                None,
                [(f"population.segments.{seg_name}.product_mix", "weights must not all be zero")],
            )
        for product, weight in seg.product_mix.items():
            table[i, names.index(product)] = weight / total
    return names, table


def _draw_parameters(
    population: Population, segment: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Every behavioural parameter, drawn from each partner's segment prior and clipped."""
    out = {name: np.empty(segment.shape) for name in PARAMETER_BOUNDS}
    for s, prior in enumerate(population.segments.values()):
        mask = segment == s
        n = int(mask.sum())
        for name, (low, high) in PARAMETER_BOUNDS.items():
            out[name][mask] = np.clip(draw(getattr(prior, name), rng, n), low, high)
    return out


def _ids(prefix: str, n: int) -> np.ndarray:
    """``prefix0001 .. prefixNNNN`` as a (n,) str array (zero-padded to at least 4 digits)."""
    if n == 0:
        return np.array([], dtype=str)
    width = max(4, len(str(n)))
    return np.strings.add(prefix, np.strings.zfill(np.arange(1, n + 1).astype(str), width))


def build_partners(
    population: Population,
    calendar: Calendar,
    rng: np.random.Generator,
    reps: int,
    source_path: str | Path | None = None,
) -> Partners:
    """Draw the partners of one block of ``reps`` replications.

    Without a partner file, ``population.partners`` partners are drawn: segment and region counts
    follow the declared shares exactly (largest remainder) and are the same in every replication.
    With one (``source_path``, or else ``population.source``, which the scenario loader makes
    relative to the file that names it), its rows are the initial partners: observed ``capacity``,
    ``certified_staff`` and ``csat`` cells are kept, blank or absent ones are drawn from the
    segment priors, and a revenue history calibrates capacity (see
    :data:`CAPACITY_SHARE_ASSUMED`) unless capacity is observed. Recruitment slots follow in both
    cases.

    Parameters
    ----------
    population
        The scenario's population (segment priors, regions, recruitment, partner file).
    calendar
        The scenario's calendar: recruits join over its periods, and a revenue history per
        period calibrates weekly capacity.
    rng
        The block's random stream; the same stream and arguments give the same partners.
    reps
        Replications in the block (``R``).
    source_path
        The partner CSV, instead of ``population.source``.

    Returns
    -------
    Partners

    Raises
    ------
    DataError
        When the partner file is invalid (see :func:`load_partners_csv`).
    ScenarioError
        When a segment's product mix has no positive weight.
    """
    if source_path is None and population.source is not None:
        source_path = Path(population.source)
    real = None if source_path is None else load_partners_csv(source_path, population)

    if real is None:
        seg0, reg0 = _initial_assignment(population, rng)
        ids0 = _ids("P", population.partners)
    else:
        seg0 = pd.Categorical(real["segment"], categories=list(population.segments)).codes
        reg0 = pd.Categorical(real["region"], categories=list(population.regions)).codes
        ids0 = real["partner_id"].to_numpy(dtype=str)
    n0 = len(seg0)
    seg_new, reg_new, period_new = _recruit_slots(population, calendar.horizon_periods, rng, reps)
    ids_new = _ids("recruit-", seg_new.shape[1])
    clash = np.intersect1d(ids0, ids_new)
    if clash.size:
        raise DataError(
            str(source_path),
            [(None, f"partner_id '{clash[0]}' clashes with the ids given to recruits; rename it")],
        )

    segment = np.concatenate([np.broadcast_to(seg0, (reps, n0)), seg_new], axis=1).astype(np.int64)
    region = np.concatenate([np.broadcast_to(reg0, (reps, n0)), reg_new], axis=1).astype(np.int64)
    active_from = np.concatenate([np.zeros((reps, n0), dtype=np.int64), period_new], axis=1)
    params = _draw_parameters(population, segment, rng)
    product_names, mix_table = _product_mix(population)

    observed_revenue = None
    if real is not None:
        for column in OBSERVED_COLUMNS:
            if column in real:
                seen = real[column].to_numpy(dtype=np.float64)
                params[column][:, :n0] = np.where(np.isnan(seen), params[column][:, :n0], seen)
        revenue_columns = [c for c in real.columns if _REVENUE_COLUMN.match(c)]
        if revenue_columns:
            history = real[revenue_columns].to_numpy(dtype=np.float64)
            observed = ~np.isnan(history)
            mean = np.divide(
                np.nansum(history, axis=1),
                observed.sum(axis=1),
                out=np.full(n0, np.nan),
                where=observed.any(axis=1),
            )
            calibrated = mean / calendar.weeks_per_period / CAPACITY_SHARE_ASSUMED
            if "capacity" in real:
                calibrated[~np.isnan(real["capacity"].to_numpy(dtype=np.float64))] = np.nan
            params["capacity"][:, :n0] = np.where(
                np.isnan(calibrated), params["capacity"][:, :n0], calibrated
            )
            padded = np.full((segment.shape[1], len(revenue_columns)), np.nan)
            padded[:n0] = history
            observed_revenue = np.broadcast_to(padded, (reps, *padded.shape))

    return Partners(
        segment=segment,
        region=region,
        group=population.groups.code(segment, region),
        **params,
        product_mix=mix_table[segment],
        active_from_period=active_from,
        observed_revenue=observed_revenue,
        segment_names=tuple(population.segments),
        region_names=tuple(population.regions),
        product_names=product_names,
        partner_id=np.concatenate([ids0, ids_new]),
    )


def _numeric_problems(
    frame: pd.DataFrame, column: str, high: float = math.inf
) -> tuple[pd.Series, list[tuple[int, str]]]:
    """Parse a numeric column: blank -> NaN; non-numeric, negative or > ``high`` -> problem."""
    text = frame[column]
    values = pd.to_numeric(text.where(text != ""), errors="coerce").astype(np.float64)
    bad_number = (text != "") & ~np.isfinite(values)
    out_of_range = np.isfinite(values) & ((values < 0.0) | (values > high))
    problems = [
        (i + 2, f"{column} '{text.iat[i]}' is not a number")
        for i in np.flatnonzero(bad_number).tolist()
    ]
    for i in np.flatnonzero(out_of_range).tolist():
        if high <= 5.0:  # a score
            bound = f"between 0 and {high:g}"
        else:
            bound = "non-negative" if values.iat[i] < 0 else f"at most {high:g}"
        problems.append((i + 2, f"{column} {text.iat[i]} must be {bound}"))
    return values.where(~(bad_number | out_of_range)), problems


def load_partners_csv(path: str | Path, population: Population) -> pd.DataFrame:
    """Read and validate a CSV of real partners.

    Columns: ``partner_id, segment, region`` (required), optionally ``revenue_p1 ..
    revenue_pK`` (revenue per past period, oldest first, without gaps) and the observed
    ``capacity`` (weekly), ``certified_staff`` and ``csat`` (0-5). A blank numeric cell means
    "not observed". Every problem is reported with its line number (the header is line 1); no
    row is dropped silently.

    Parameters
    ----------
    path
        The CSV file.
    population
        The scenario's population: segment and region names must be among its own.

    Returns
    -------
    pandas.DataFrame
        One row per partner in file order: ``partner_id``, ``segment``, ``region`` as strings,
        numeric columns as float64 with NaN for blanks.

    Raises
    ------
    DataError
        Missing or unknown columns, blank or duplicate ids, unknown segment or region names,
        non-numeric, negative or out-of-range numbers, an empty or unreadable file.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, [(None, "not a file" if path.exists() else "file not found")])
    if path.suffix.lower() != ".csv":
        problem = f"unknown file type '{path.suffix}'; a partner file is a .csv"
        raise DataError(path, [(None, problem)])
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except OSError as exc:
        raise DataError(path, [(None, f"cannot read the file: {exc.strerror or exc}")]) from None
    except pd.errors.EmptyDataError:
        raise DataError(path, [(None, "the file is empty")]) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(path, [(None, f"cannot be read as CSV: {exc}")]) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.apply(lambda col: col.str.strip())

    problems: list[tuple[int | None, str]] = []
    revenue = sorted((int(m.group(1)), c) for c in frame.columns if (m := _REVENUE_COLUMN.match(c)))
    for column in REQUIRED_COLUMNS:
        if column not in frame.columns:
            problems.append((1, f"missing column '{column}'"))
    known = {*REQUIRED_COLUMNS, *OBSERVED_COLUMNS, *(c for _, c in revenue)}
    expected = ", ".join(REQUIRED_COLUMNS + OBSERVED_COLUMNS)
    problems += [
        (1, f"unknown column '{c}' (expected {expected} or revenue_p1, revenue_p2, ...)")
        for c in frame.columns
        if c not in known
    ]
    if [k for k, _ in revenue] != list(range(1, len(revenue) + 1)):
        problems.append((1, "revenue columns must run revenue_p1, revenue_p2, ... without gaps"))
    if problems:
        raise DataError(path, problems)
    if frame.empty:
        raise DataError(path, [(None, "no partners listed")])

    ids = frame["partner_id"]
    problems += [(i + 2, "partner_id is blank") for i in np.flatnonzero(ids == "").tolist()]
    first_line = (ids.groupby(ids).cumcount() == 0).to_numpy()
    first_of = dict(zip(ids[first_line], np.flatnonzero(first_line) + 2, strict=True))
    problems += [
        (i + 2, f"duplicate partner_id '{ids.iat[i]}' (first on line {first_of[ids.iat[i]]})")
        for i in np.flatnonzero(~first_line & (ids != "").to_numpy()).tolist()
    ]
    for column, names in (("segment", population.segments), ("region", population.regions)):
        unknown = ~frame[column].isin(list(names))
        problems += [
            (
                i + 2,
                f"unknown {column} '{frame[column].iat[i]}' (expected one of: {', '.join(names)})",
            )
            for i in np.flatnonzero(unknown).tolist()
        ]
    for column in [c for _, c in revenue] + [c for c in OBSERVED_COLUMNS if c in frame]:
        high = PARAMETER_BOUNDS[column][1] if column in PARAMETER_BOUNDS else MAX_AMOUNT
        values, bad = _numeric_problems(frame, column, high)
        frame[column] = values
        problems += bad
    if problems:
        raise DataError(path, sorted(problems, key=lambda p: p[0] or 0))
    order = list(REQUIRED_COLUMNS) + [c for _, c in revenue]
    order += [c for c in OBSERVED_COLUMNS if c in frame]
    return frame[order].reset_index(drop=True)
