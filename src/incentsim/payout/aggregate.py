"""Turn validated transactions into the per-period metrics the rules engine assesses.

Nothing here computes a payout: it only decides, from the rows, what each partner did in each
period (revenue, returns, new logos, the latest certified-staff and satisfaction snapshots,
qualifying SPIFF and co-selling revenue, approved MDF claims, audited claims) as
:class:`~incentsim.program.rules.PeriodMetrics`, exactly the input a simulation gives the same
rules.

Conventions (where real data needs a rule the program file does not state):

* A row's period is the calendar's period containing its date (``calendar.period_of``: blocks
  of ``weeks_per_period`` weeks from ``start_date``, or fiscal months grouped into periods, see
  :mod:`incentsim.calendar.fiscal`) and its week ``(date - start_date).days // 7``; a
  SPIFF's window is the half-open range of weeks ``[start_week, end_week)`` counted from the
  program's start.
* A bonus's windows (``bonuses.*.horizon_weeks``, :mod:`incentsim.program.windows`) are
  counted in weeks from the first day of the row's period, ``(date - period start).days //
  7``; days past the period's last whole week of ``weeks_per_period`` (a fiscal month's quarter
  of 13 weeks and a day or two) count in its last week, and so in its last window.
* A *deal* is a registration: all rows of one partner with the same ``deal_registration_id``
  are one deal (counted once for a SPIFF's per-deal amount and for new logos, in the period of
  its first qualifying row). An unregistered row is a deal of its own.
* Duplicate registrations: the first partner to register an id (earliest date, then earliest
  line) owns it. When the partner's program has ``guardrails.deal_registration.duplicate_check``,
  a later registration of the same id by another partner inside the owner's protection window
  (``protection_days`` from the owner's first date) is rejected: its rows count as revenue and
  towards tiers, but as unregistered sales, so they earn no SPIFF or co-selling bonus that
  requires registration (the program default). Each duplicate is a finding.
  ``detection_rate`` is a simulation parameter: over real data the check is exact.
* An audit row (``audit_flag``) claws back what the named deal earned in SPIFFs and co-selling on
  rows dated up to the audit; later rows of that deal earn no bonus.
* MDF: a claim dated ``d`` is approved at ``d + approval_lag_weeks`` and counts in the period
  containing that date; claims approved after the calendar's last day are findings.
* Snapshots (``certified_staff``, ``csat``): the latest in a period wins (later line on the
  same date), and carries forward. Before any snapshot, certified staff is 0 and satisfaction is
  treated as 5.0 (meets every gate); when the program uses satisfaction, that is a finding.
* ``co_delivery``: the revenue-weighted mean over the period's co-sold rows (blank counts as 1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from incentsim.errors import DataError
from incentsim.groups import Groups
from incentsim.payout.transactions import validate_transactions
from incentsim.program.compiled import DEAL_TYPES, CompiledProgram, compile_program
from incentsim.program.rules import PeriodMetrics
from incentsim.program.spec import Program
from incentsim.program.windows import window_problems
from incentsim.quantities import MAX_AMOUNT

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

FINDING_COLUMNS = ("kind", "partner_id", "period", "line", "message")


@dataclass(frozen=True)
class Partners:
    """The partners of a transactions file and their program group (segment x region).

    ``group[i] = segments.index(segment) * len(regions) + regions.index(region)``, the order
    of :class:`~incentsim.groups.Groups` that
    :func:`~incentsim.program.compiled.compile_program` uses.
    """

    ids: pd.Index
    segment: NDArray[np.object_]
    region: NDArray[np.object_]
    segments: tuple[str, ...]
    regions: tuple[str, ...]
    group: IntArray


@dataclass(frozen=True)
class Aggregated:
    """What :func:`aggregate` found: one :class:`PeriodMetrics` per period and the findings."""

    partners: Partners
    terms: CompiledProgram
    metrics: list[PeriodMetrics]
    findings: pd.DataFrame

    @property
    def n_periods(self) -> int:
        """Periods covered."""
        return len(self.metrics)


def partners_of(transactions: pd.DataFrame) -> Partners:
    """Partners in id order, with their segment and region from the (validated) rows."""
    first = transactions.drop_duplicates("partner_id").set_index("partner_id")
    ids = pd.Index(sorted(first.index), dtype=object, name="partner_id")
    segment = first.loc[ids, "segment"].to_numpy(dtype=object)
    region = first.loc[ids, "region"].to_numpy(dtype=object)
    segments = tuple(sorted(set(segment))) or ("all",)
    regions = tuple(sorted(set(region))) or ("all",)
    return _grouped(ids, segment, region, segments, regions)


def _grouped(
    ids: pd.Index,
    segment: NDArray[np.object_],
    region: NDArray[np.object_],
    segments: tuple[str, ...],
    regions: tuple[str, ...],
) -> Partners:
    """The partners with their group index (see :class:`Partners`)."""
    group = Groups(segments, regions).code_names(segment, region)
    return Partners(ids, segment, region, segments, regions, group)


def _days(dates: Any, calendar: Any) -> IntArray:
    days = np.asarray(dates, dtype="datetime64[D]") - np.datetime64(calendar.start_date, "D")
    return days.astype(np.int64)


def period_bounds(period: int, calendar: Any) -> tuple[dt.date, dt.date]:
    """First and last day of a 0-based period (of the calendar's fiscal pattern)."""
    bounds: tuple[dt.date, dt.date] = calendar.period_bounds(period)
    return bounds


def pay_day(date: dt.date) -> dt.date:
    """The business day a payment due on ``date`` is made: a Saturday or Sunday rolls to the
    next Monday (public holidays are not known and are not skipped).

    >>> pay_day(dt.date(2027, 5, 16))  # a Sunday
    datetime.date(2027, 5, 17)
    """
    weekday = date.weekday()  # Monday 0 .. Sunday 6
    return date + dt.timedelta(days=7 - weekday if weekday >= 5 else 0)


def period_metrics(
    transactions: pd.DataFrame,
    program: Program,
    calendar: Any,
    partners_index: Sequence[str] | pd.Index | None = None,
    n_periods: int | None = None,
) -> list[PeriodMetrics]:
    """Per-period metrics, arrays ``(N,)`` (per-SPIFF ``(N, S)``) over ``partners_index``.

    Parameters
    ----------
    transactions
        Rows from :func:`~incentsim.payout.transactions.read_transactions` (other frames are
        validated first).
    program
        The program (SPIFF, co-selling, MDF and registration rules per partner group).
    calendar
        The program calendar.
    partners_index
        Partner ids in the order wanted (default: sorted ids of the file). Every partner in the
        file must be in it; ids without rows get zero activity.
    n_periods
        Periods to produce (default: through the last period with a row or an approved claim).
    """
    return aggregate(transactions, program, calendar, partners_index, n_periods).metrics


def aggregate(
    transactions: pd.DataFrame,
    program: Program,
    calendar: Any,
    partners_index: Sequence[str] | pd.Index | None = None,
    n_periods: int | None = None,
) -> Aggregated:
    """Like :func:`period_metrics`, also returning the partners and the findings."""
    # A validated frame is only checked against the calendar; any other is validated first.
    source = transactions.attrs.get("source", "<transactions>")
    df = validate_transactions(transactions, source, calendar=calendar).reset_index(drop=True)
    partners = _partners_in(df, partners_index)
    n = len(partners.ids)
    row_partner = partners.ids.get_indexer(df["partner_id"])
    if (row_partner < 0).any():
        missing = sorted(set(df["partner_id"][row_partner < 0]))[:5]
        raise ValueError(f"partners {missing} are in the transactions but not in partners_index")
    problems = window_problems(program, calendar.weeks_per_period)
    if problems:
        raise ValueError(problems[0])
    cp = compile_program(program, partners.segments, partners.regions)
    g = partners.group[row_partner]

    days = _days(df["date"], calendar)
    period = calendar.period_of(df["date"].to_numpy(dtype="datetime64[D]"))
    if n_periods is not None and len(df) and int(period.max()) >= n_periods:
        raise ValueError(f"transactions run to period {int(period.max()) + 1}, past n_periods")
    week = days // 7
    horizon = calendar.horizon_periods
    lag_days = 7 * cp.mdf_approval_lag_weeks.astype(np.int64)[g]
    approval_day = days + lag_days
    approval_period = calendar.period_of(
        np.datetime64(calendar.start_date, "D") + approval_day.astype("timedelta64[D]")
    )
    claims = df["mdf_claim"].to_numpy() > 0
    if n_periods is None:
        last = int(period.max(initial=-1))
        in_horizon = claims & (approval_period < horizon)
        last = max(last, int(approval_period[in_horizon].max(initial=-1)))
        n_periods = max(last + 1, 1)

    findings: list[dict[str, Any]] = []
    pid = df["partner_id"].to_numpy(dtype=object)
    line = df["line"].to_numpy(dtype=np.int64)
    amount = df["amount"].to_numpy(dtype=np.float64)
    reg = df["deal_registration_id"].to_numpy(dtype=object)
    audit = df["audit_flag"].to_numpy(dtype=np.bool_)
    dates = df["date"].to_numpy(dtype="datetime64[D]")

    # Rows by date, then line; each row's deal (partner and registration id) as a number.
    order = _order(df)
    deal = _deal_codes(row_partner, reg)

    # Registrations: who owns an id, and which later registrations the duplicate check rejects.
    registered = (reg != "") & ~audit
    owner = _registration_owners(order, reg, registered)
    duplicate = registered & (pid[np.maximum(owner, 0)] != pid)
    within = (dates - dates[np.maximum(owner, 0)]).astype(
        np.int64
    ) <= cp.registration_protection_days[g]
    rejected = duplicate & cp.registration_check[g].astype(np.bool_) & within
    _duplicate_findings(findings, df, order, duplicate, deal, rejected, owner, period)

    # Audits: the deal's rows up to the audit are clawed back; its later rows earn nothing.
    audit_of_deal = np.full(int(deal.max(initial=-1)) + 1, -1, dtype=np.int64)
    for p in np.flatnonzero(audit):  # few rows; a deal's last audit row counts
        audit_of_deal[deal[p]] = p
    at_row = np.where(registered, audit_of_deal[deal], -1)
    audited = at_row >= 0
    before = audited & (dates <= dates[np.maximum(at_row, 0)])
    audited_by = np.where(before, at_row, -1)
    invalid_later = audited & ~before
    for pos in np.flatnonzero(invalid_later):
        at = at_row[pos]
        findings.append(
            _finding(
                "audited_deal_later_sale",
                pid[pos],
                period[pos],
                line[pos],
                f"sale of registration '{reg[pos]}' dated after its audit (line {line[at]}) "
                "earns no SPIFF or co-selling bonus",
            )
        )
    valid_registration = registered & ~rejected & ~invalid_later
    sale = (amount > 0) & ~audit

    # Deals: the first sale of each (partner, registration), or each unregistered sale.
    first_of_deal = _first_rows(order, deal, registered, sale)

    shape = (n_periods, n)
    flat = period * n + row_partner

    def per_period(values: FloatArray, mask: NDArray[np.bool_] | None = None) -> FloatArray:
        keep = np.ones(len(df), dtype=np.bool_) if mask is None else mask
        return _add(flat, values, keep, shape)

    returned = df["returned_amount"].to_numpy(dtype=np.float64)
    revenue = per_period(amount)
    returns = per_period(returned)
    everything = np.ones(len(df), dtype=np.bool_)
    for name, values, sums in (("amount", amount, revenue), ("returned_amount", returned, returns)):
        _refuse_beyond_bound(source, name, sums, flat, values, everything, df)
    week_revenue = _week_revenue(calendar, cp, period, days, row_partner, amount, shape)
    logo_rows = df["new_logo"].to_numpy(dtype=np.bool_) & first_of_deal
    new_logos = per_period(np.ones(len(df)), logo_rows)

    # SPIFFs: per SPIFF, the qualifying rows of each partner's own (resolved) program.
    names = cp.spiff_names
    spiff_revenue = np.zeros((*shape, len(names)))
    spiff_deals = np.zeros((*shape, len(names)))
    audited_spiff_revenue = np.zeros((*shape, len(names)))
    audited_spiff_deals = np.zeros((*shape, len(names)))
    audit_flat = np.where(audited_by >= 0, period[np.maximum(audited_by, 0)] * n, 0) + row_partner
    product = df["product"].to_numpy(dtype=object)
    deal_type = df["deal_type"].to_numpy(dtype=object)
    for s in range(len(names)):
        want_product = np.array([products[s] or "" for products in cp.spiff_product])[g]
        want_type = np.array(DEAL_TYPES)[cp.spiff_deal_type[:, s]][g]
        start = cp.spiff_start_week[:, s][g]
        end = cp.spiff_end_week[:, s][g]
        needs_reg = cp.spiff_requires_registration[:, s][g]
        qualifies = (
            sale
            & ((want_product == "") | (product == want_product))
            & ((want_type == "any") | (deal_type == want_type))
            & (week >= start)
            & (week < end)
            & (valid_registration | (~needs_reg.astype(np.bool_) & ~invalid_later))
        )
        # 1 on the row that brings a new qualifying deal.
        counts = _first_rows(order, deal, registered, qualifies).astype(np.float64)
        spiff_revenue[..., s] = per_period(amount, qualifies)
        spiff_deals[..., s] = per_period(counts)
        hit = qualifies & (audited_by >= 0)
        audited_spiff_revenue[..., s] = _add(audit_flat, amount, hit, shape)
        audited_spiff_deals[..., s] = _add(audit_flat, counts, hit, shape)

    # Co-selling.
    co = df["co_sell"].to_numpy(dtype=np.bool_)
    co_needs_reg = cp.co_sell_requires_registration[g]
    co_ok = sale & co & (valid_registration | (~co_needs_reg & ~invalid_later))
    co_sell_revenue = per_period(amount, co_ok)
    share = np.nan_to_num(df["co_delivery"].to_numpy(dtype=np.float64), nan=1.0)
    co_weighted = per_period(amount * share, co_ok)
    co_delivery = np.divide(
        co_weighted, co_sell_revenue, out=np.ones(shape), where=co_sell_revenue > 0
    )
    audited_co_sell = _add(audit_flat, amount, co_ok & (audited_by >= 0), shape)

    # MDF claims count in the period of their approval.
    claim = df["mdf_claim"].to_numpy(dtype=np.float64)
    approved_in = claims & (approval_period < n_periods)
    mdf_claims = _add(approval_period * n + row_partner, claim, approved_in, shape)
    _refuse_beyond_bound(
        source, "mdf_claim", mdf_claims, approval_period * n + row_partner, claim, approved_in, df
    )
    for pos in np.flatnonzero(claims & (approval_period >= n_periods)):
        approved = calendar.start_date + dt.timedelta(days=int(approval_day[pos]))
        findings.append(
            _finding(
                "mdf_claim_not_approved",
                pid[pos],
                None,
                line[pos],
                f"MDF claim {claim[pos]:,.2f} is approved on {approved}, after the last period "
                "of these statements; it is not included",
            )
        )

    # Snapshots: latest in the period wins, carried forward.
    certified_staff = _snapshots(df, order, "certified_staff", period, row_partner, shape, 0.0)
    csat, csat_missing = _snapshots(
        df, order, "csat", period, row_partner, shape, 5.0, missing=True
    )
    if cp.uses_csat:
        for i in np.flatnonzero(csat_missing.any(axis=0)):
            last_missing = int(np.flatnonzero(csat_missing[:, i]).max())
            findings.append(
                _finding(
                    "csat_missing",
                    partners.ids[i],
                    last_missing,
                    None,
                    "no customer-satisfaction snapshot through period "
                    f"{last_missing + 1}: treated as 5.0 (meets every gate)",
                )
            )

    metrics = [
        PeriodMetrics.of(
            revenue[k],
            len(names),
            returns=returns[k],
            new_logos=new_logos[k],
            certified_staff=certified_staff[k],
            csat=csat[k],
            co_sell_revenue=co_sell_revenue[k],
            co_delivery=co_delivery[k],
            spiff_revenue=spiff_revenue[k],
            spiff_deals=spiff_deals[k],
            mdf_claims=mdf_claims[k],
            audited_co_sell_revenue=audited_co_sell[k],
            audited_spiff_revenue=audited_spiff_revenue[k],
            audited_spiff_deals=audited_spiff_deals[k],
            week_revenue=week_revenue[k],
        )
        for k in range(n_periods)
    ]
    frame = pd.DataFrame(findings, columns=list(FINDING_COLUMNS))
    frame = frame.astype({"period": "Int64", "line": "Int64"})
    return Aggregated(partners, cp, metrics, frame)


# --------------------------------------------------------------------------------------------
# Helpers


def _partners_in(df: pd.DataFrame, index: Sequence[str] | pd.Index | None) -> Partners:
    found = partners_of(df)
    if index is None:
        return found
    ids = pd.Index(list(index), dtype=object, name="partner_id")
    pos = found.ids.get_indexer(ids)
    seg = np.array([found.segment[p] if p >= 0 else "all" for p in pos], dtype=object)
    reg = np.array([found.region[p] if p >= 0 else "all" for p in pos], dtype=object)
    segments = tuple(sorted(set(found.segments) | set(seg)))
    regions = tuple(sorted(set(found.regions) | set(reg)))
    return _grouped(ids, seg, reg, segments, regions)


def _order(df: pd.DataFrame) -> NDArray[np.int64]:
    """Row positions by date, then line."""
    return np.lexsort((df["line"].to_numpy(), df["date"].to_numpy()))


def _deal_codes(row_partner: IntArray, reg: NDArray[np.object_]) -> IntArray:
    """Each row's (partner, registration id) pair as a number from 0, the same for the same
    pair."""
    codes, uniques = pd.factorize(reg, use_na_sentinel=False)
    pairs = np.asarray(row_partner, dtype=np.int64) * max(len(uniques), 1) + codes
    return np.asarray(pd.factorize(pairs)[0], dtype=np.int64)


def _first_in_order(order: IntArray, key: IntArray) -> IntArray:
    """Of the row positions ``order``, the first with each value of ``key``, as they come in
    ``order``."""
    _, first = np.unique(key[order], return_index=True)
    return np.asarray(order[np.sort(first)], dtype=np.int64)


def _registration_owners(
    order: IntArray, reg: NDArray[np.object_], registered: NDArray[np.bool_]
) -> IntArray:
    """Each registered row's owner: the row position of its registration id's first row
    (earliest date, then line); -1 for a row not registered."""
    rows = order[registered[order]]
    codes, _ = pd.factorize(reg, use_na_sentinel=False)
    first = _first_in_order(rows, codes)
    owner_of_code = np.full(int(codes.max(initial=-1)) + 1, -1, dtype=np.int64)
    owner_of_code[codes[first]] = first
    return np.where(registered, owner_of_code[codes], -1)


def _first_rows(
    order: IntArray, deal: IntArray, registered: NDArray[np.bool_], among: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """Among the ``among`` rows: each unregistered one and the first (in ``order``) of each
    deal (:func:`_deal_codes`: partner and registration)."""
    first = among & ~registered
    first[_first_in_order(order[(among & registered)[order]], deal)] = True
    return first


def _refuse_beyond_bound(
    source: str,
    name: str,
    sums: FloatArray,
    flat: IntArray,
    values: FloatArray,
    mask: NDArray[np.bool_],
    df: pd.DataFrame,
) -> None:
    """Refuse a partner's period total of a money column beyond
    :data:`~incentsim.quantities.MAX_AMOUNT` (it could wrap the rules engine's int64 cents),
    naming the row where the running total passes it.

    Raises
    ------
    DataError
        One problem per partner and period over the bound, at the row that takes it over.
    """
    over = np.flatnonzero(sums.ravel() > MAX_AMOUNT)
    if not over.size:
        return
    n = sums.shape[1]
    line = df["line"].to_numpy(dtype=np.int64)
    pid = df["partner_id"].to_numpy(dtype=object)
    problems: list[tuple[int | None, str]] = []
    for cell in over:
        rows = np.flatnonzero(mask & (flat == cell))
        at = rows[int(np.argmax(np.cumsum(values[rows]) > MAX_AMOUNT))]
        problems.append(
            (
                int(line[at]),
                f"partner '{pid[at]}' total {name} in period {cell // n + 1} passes "
                f"{MAX_AMOUNT:g} at this row, beyond the largest amount a program can pay",
            )
        )
    raise DataError(source, sorted(problems, key=lambda p: p[0] or 0))


def _week_revenue(
    calendar: Any,
    cp: CompiledProgram,
    period: IntArray,
    days: IntArray,
    row_partner: IntArray,
    amount: FloatArray,
    shape: tuple[int, int],
) -> FloatArray:
    """Revenue by week of the period, ``(periods, N, W)``, for the bonuses on windows inside
    the period (``W`` is 0 when the program has none; a row past the period's last whole week
    counts in its last week)."""
    if not cp.bonus_weeks:
        return np.zeros((*shape, 0))
    weeks = calendar.weeks_per_period
    first_day = _days(
        np.array([calendar.period_bounds(k)[0] for k in range(shape[0])], dtype="datetime64[D]"),
        calendar,
    )
    week = np.minimum((days - first_day[period]) // 7, weeks - 1)
    flat = (period * shape[1] + row_partner) * weeks + week
    out = np.zeros(shape[0] * shape[1] * weeks)
    np.add.at(out, flat, amount)
    return out.reshape(*shape, weeks)


def _add(
    flat: IntArray, values: FloatArray, mask: NDArray[np.bool_], shape: tuple[int, int]
) -> FloatArray:
    """Sum ``values[mask]`` into a ``shape`` array at the flat positions ``flat[mask]``."""
    out = np.zeros(shape[0] * shape[1])
    np.add.at(out, flat[mask], values[mask])
    return out.reshape(shape)


def _snapshots(
    df: pd.DataFrame,
    order: IntArray,
    column: str,
    period: IntArray,
    partner: IntArray,
    shape: tuple[int, int],
    initial: float,
    missing: bool = False,
) -> Any:
    """Latest value (in ``order``) per (period, partner), carried forward; ``initial`` before
    the first."""
    values = df[column].to_numpy(dtype=np.float64)
    rows = order[~np.isnan(values[order]) & (period[order] < shape[0])][::-1]
    latest = _first_in_order(rows, period * shape[1] + partner)
    out = np.full(shape, np.nan)
    out[period[latest], partner[latest]] = values[latest]
    filled = pd.DataFrame(out).ffill().to_numpy()
    absent = np.isnan(filled)
    filled = np.where(absent, initial, filled)
    return (filled, absent) if missing else filled


def _duplicate_findings(
    findings: list[dict[str, Any]],
    df: pd.DataFrame,
    order: IntArray,
    duplicate: NDArray[np.bool_],
    deal: IntArray,
    rejected: NDArray[np.bool_],
    owner: IntArray,
    period: IntArray,
) -> None:
    """One finding per (registration id, later partner): at the first (in ``order``) of the
    ``duplicate`` rows (registered by a partner other than the id's owner) of each deal."""
    pid = df["partner_id"].to_numpy(dtype=object)
    reg = df["deal_registration_id"].to_numpy(dtype=object)
    line = df["line"].to_numpy(dtype=np.int64)
    dates = df["date"].to_numpy(dtype="datetime64[D]")
    for pos in _first_in_order(order[duplicate[order]], deal):
        first = owner[pos]
        what = (
            "rejected by the duplicate check: no SPIFF or co-selling bonus"
            if rejected[pos]
            else "accepted (duplicate check off, or the first registration's protection had lapsed)"
        )
        findings.append(
            _finding(
                "duplicate_registration",
                pid[pos],
                period[pos],
                line[pos],
                f"registration '{reg[pos]}' on {dates[pos]} duplicates partner "
                f"'{pid[first]}' (line {line[first]}, {dates[first]}): {what}",
            )
        )


def _finding(kind: str, partner: str, period: Any, line: Any, message: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "partner_id": partner,
        "period": None if period is None else int(period) + 1,
        "line": None if line is None else int(line),
        "message": message,
    }
