"""What a simulation records, and the outcomes it reports per replication.

Outcomes (one value per replication) cover revenue, incentive cost by component, the budget and
reserve, net contribution and NPV, retention and loyalty, gaming, fairness and customer
satisfaction. Trajectories give one value per replication and period.

The money outcomes obey the ledger's identities summed over the run (checked by the tests):

* ``incentive_cost = incentive_paid + incentive_cut + incentive_owed_end
  - incentive_receivable_end`` (what was accrued was paid, cut, is still owed to partners, less
  clawbacks partners still owe the vendor);
* with a budget per period: ``reserve.initial + budget_total
  + reserve.contribution.fixed_per_period * periods + budget_overrun_funded
  = incentive_paid + budget_returned + reserve_end`` (without one, ``budget_total`` is NaN:
  each payout run's budget is what it owes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from incentsim.calendar.model import Calendar
from incentsim.engine.days import BUSINESS_DAYS
from incentsim.engine.decisions import share_of_wallet
from incentsim.engine.partner_state import PartnerState
from incentsim.engine.tally import PeriodTally
from incentsim.engine.tier_flow import TierFlows
from incentsim.market.spec import Market
from incentsim.population.behaviour import Behaviour
from incentsim.population.sample import Partners
from incentsim.program.compiled import CompiledProgram
from incentsim.program.ledger import Ledger, PayoutRun
from incentsim.program.rules import COMPONENTS, Assessment, PeriodMetrics
from incentsim.quantities import from_cents

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class BlockResult:
    """What one block of replications produced.

    Attributes
    ----------
    outcomes
        One value per replication for each outcome, arrays ``(reps,)``.
    trajectories
        One value per replication and period, arrays ``(reps, periods)``; ``weekly_revenue`` is
        ``(reps, weeks)``.
    panel
        Per replication, partner and period rows when asked for, else ``None``.
    events
        Calendar events (shock start/end, payout runs) with the replications they touched.
    """

    outcomes: dict[str, FloatArray]
    trajectories: dict[str, FloatArray]
    panel: pd.DataFrame | None
    events: list[dict[str, object]]


def gini(values: FloatArray, mask: NDArray[np.bool_]) -> FloatArray:
    """Gini coefficient of ``values`` over the partners in ``mask``, per replication."""
    x = np.where(mask, np.maximum(values, 0.0), np.nan)
    x = np.sort(x, axis=-1)  # NaNs sort last
    n = mask.sum(axis=-1)
    ranks = np.arange(1, x.shape[-1] + 1)
    filled = np.nan_to_num(x)
    total = filled.sum(axis=-1)
    weighted = (ranks * filled).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = (2.0 * weighted) / (n * total) - (n + 1.0) / n
    return np.where((n > 1) & (total > 0), g, 0.0)


def smallest_half_share(
    payouts: FloatArray, size: FloatArray, mask: NDArray[np.bool_]
) -> FloatArray:
    """Share of payouts reaching the smaller half of partners (by revenue), per replication."""
    ranked = np.where(mask, size, np.inf)
    order = np.argsort(ranked, axis=-1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(size.shape[-1])[None, :], axis=-1)
    small = mask & (ranks < (mask.sum(axis=-1, keepdims=True) / 2.0))
    total = np.where(mask, payouts, 0.0).sum(axis=-1)
    share: FloatArray = np.divide(
        np.where(small, payouts, 0.0).sum(axis=-1),
        total,
        out=np.zeros_like(total),
        where=total > 0,
    )
    return share


def quartile_shares(
    payouts: FloatArray, size: FloatArray, mask: NDArray[np.bool_]
) -> tuple[FloatArray, FloatArray]:
    """Per size quartile of the partners in ``mask`` (quartile 1 the smallest; ``size`` ranks
    them, ties by index), the share of payouts reaching it and the share of its partners paid
    anything, ``(reps, 4)`` each."""
    ranked = np.where(mask, size, np.inf)
    order = np.argsort(ranked, axis=-1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(size.shape[-1])[None, :], axis=-1)
    quartile = np.floor(4.0 * ranks / np.maximum(mask.sum(axis=-1, keepdims=True), 1))
    paid = np.where(mask, payouts, 0.0)
    total = paid.sum(axis=-1)
    payout_share = np.zeros((*total.shape, 4))
    earning_share = np.zeros((*total.shape, 4))
    for q in range(4):
        members = mask & (quartile == q)
        payout_share[..., q] = np.divide(
            np.where(members, paid, 0.0).sum(axis=-1),
            total,
            out=np.zeros_like(total),
            where=total > 0,
        )
        count = members.sum(axis=-1)
        earning_share[..., q] = ((paid > 0) & members).sum(axis=-1) / np.maximum(count, 1)
    return payout_share, earning_share


def smallest_half_earning(
    payouts: FloatArray, size: FloatArray, mask: NDArray[np.bool_]
) -> FloatArray:
    """Share of the smaller half of partners (by ``size``, as :func:`smallest_half_share`)
    paid anything, per replication."""
    ranked = np.where(mask, size, np.inf)
    order = np.argsort(ranked, axis=-1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(size.shape[-1])[None, :], axis=-1)
    small = mask & (ranks < (mask.sum(axis=-1, keepdims=True) / 2.0))
    earning: FloatArray = ((payouts > 0) & small).sum(axis=-1) / np.maximum(small.sum(axis=-1), 1)
    return earning


class Recorder:
    """Accumulates a block's history as the calendar runs, from what the simulation passes it.

    The recorder holds the block's fixed terms (calendar, program, partners, behaviour,
    market) and never the simulation, so a finished block is freed as soon as it is dropped,
    without waiting for Python's cyclic collector (memory flat in replications).

    Parameters
    ----------
    calendar, program, partners, behaviour, market
        The block's calendar, compiled program, partner population, behaviour constants and
        market terms.
    state
        The partners' state at the horizon's start.
    panel
        Whether to keep per-partner per-period rows.
    """

    def __init__(
        self,
        calendar: Calendar,
        program: CompiledProgram,
        partners: Partners,
        behaviour: Behaviour,
        market: Market,
        state: PartnerState,
        panel: bool,
    ) -> None:
        self.calendar = calendar
        self.program = program
        self.partners = partners
        self.behaviour = behaviour
        self.market = market
        reps, n = partners.group.shape
        periods = calendar.horizon_periods
        self.keep_panel = panel
        self.panel_frames: list[pd.DataFrame] = []
        self.events: list[dict[str, object]] = []
        self.weekly_revenue = np.zeros((reps, calendar.horizon_weeks))
        self.weekly_deals = np.zeros((reps, calendar.horizon_weeks))
        self.per_period = {
            name: np.zeros((reps, periods))
            for name in (
                "revenue",
                "returns",
                "cost",
                "loyalty_mean",
                "active_share",
                "effort_mean",
                "demand_kept_mean",
                "reserve",
                "paid",
                "cut",
            )
        }
        self.tier_share = np.zeros((reps, periods, program.n_tiers + 1))
        self.components = {c: np.zeros(reps) for c in COMPONENTS}
        self.totals = {
            name: np.zeros(reps)
            for name in (
                "clawback_returns",
                "clawback_audit",
                "capped",
                "gated",
                "mdf_accrued",
                "mdf_expired",
                "pulled_forward",
                "deferred",
                "discount_cost",
                "stuffed",
                "quick_deals",
                "deals",
                "duplicates_submitted",
                "duplicates_caught_registration",
                "duplicates_caught_audit",
                "paid",
                "cut",
                "overrun_funding",
                "returned_to_vendor",
                "npv_payouts",
                "csat_sum",
                "csat_count",
                "benefits",
                "npv_benefits",
            )
        }
        self.partner_paid = np.zeros((reps, n))
        self.partner_revenue = np.zeros((reps, n))
        self.partner_pulled = np.zeros((reps, n))
        self.partner_deferred = np.zeros((reps, n))
        self.partner_stuffed = np.zeros((reps, n))
        self.reserve_min = np.full(reps, np.inf)
        self.reserve_end = np.zeros(reps)
        self.last_period_revenue = np.zeros((reps, n))
        self.churned = np.zeros(reps)
        self.initial = state.joined.sum(axis=1).astype(np.float64)
        self.tier_flows = TierFlows(state.joined, program.n_tiers, periods)
        self.last_day_revenue = np.zeros(reps)  # booked on periods' last business days
        self.partner_weeks: dict[str, FloatArray] | None = None
        self.partner_days: NDArray[np.float32] | None = None
        self.partner_periods: list[dict[str, NDArray[np.float64] | NDArray[np.bool_]]] = []

    def keep_partner_history(self, *, days: bool = True) -> None:
        """Also keep each partner's booked revenue and deals per week and its period metrics
        (``partner_weeks`` and ``partner_periods``) and, with ``days``, the share of each
        week's revenue booked on each business day (``partner_days``,
        :mod:`incentsim.engine.days`), for writing a synthetic history: about
        ``36 * R * N * weeks`` bytes more. Nothing simulated changes: without ``days`` only the
        periods' last weeks are dated, as in a run (a calibration's moments need weeks, not
        days; dating every week was a quarter of its simulations' time)."""
        shape = (*self.partners.group.shape, self.calendar.horizon_weeks)
        self.partner_weeks = {"revenue": np.zeros(shape), "deals": np.zeros(shape)}
        if days:
            self.partner_days = np.zeros((*shape, BUSINESS_DAYS), dtype=np.float32)

    # -- called by the simulation ---------------------------------------------------------

    def week(self, week: int, booked: FloatArray, deals: FloatArray) -> None:
        """Record a week's booked revenue and genuine deals."""
        self.weekly_revenue[:, week] = booked.sum(axis=1)
        self.weekly_deals[:, week] = deals.sum(axis=1)
        self.totals["deals"] += deals.sum(axis=1)
        if self.partner_weeks is not None:
            self.partner_weeks["revenue"][:, :, week] = booked
            self.partner_weeks["deals"][:, :, week] = deals

    def dates(self, week: int) -> bool:
        """Whether ``week``'s closings need dating: a period's last week, or every week when
        the partner history is kept."""
        last = (week + 1) % self.calendar.weeks_per_period == 0
        return last or self.partner_days is not None

    def days(self, week: int, by_day: FloatArray) -> None:
        """Record a week's booked revenue by business day, ``(R, N, 5)``."""
        if (week + 1) % self.calendar.weeks_per_period == 0:
            self.last_day_revenue += by_day[..., -1].sum(axis=1)
        if self.partner_days is not None:
            total = by_day.sum(axis=-1, keepdims=True)
            shares = np.divide(by_day, total, out=np.zeros_like(by_day), where=total > 0)
            self.partner_days[:, :, week] = shares

    def timing(self, pulled: FloatArray, deferred: FloatArray, discount: FloatArray) -> None:
        """Record deals moved across the period end."""
        self.partner_pulled += pulled
        self.partner_deferred += deferred
        self.totals["pulled_forward"] += pulled.sum(axis=1)
        self.totals["deferred"] += deferred.sum(axis=1)
        self.totals["discount_cost"] += discount.sum(axis=1)

    def quick_deals(self, revenue: FloatArray) -> None:
        """Record revenue booked in small quick deals."""
        self.totals["quick_deals"] += revenue.sum(axis=1)

    def stuffing(self, stuffed: FloatArray) -> None:
        """Record inventory loaded at a period end."""
        self.partner_stuffed += stuffed
        self.totals["stuffed"] += stuffed.sum(axis=1)

    def duplicates(self, submitted: FloatArray, caught: FloatArray) -> None:
        """Record duplicate registrations submitted and caught at registration."""
        self.totals["duplicates_submitted"] += submitted.sum(axis=1)
        self.totals["duplicates_caught_registration"] += caught.sum(axis=1)

    def audit(self, detected: FloatArray) -> None:
        """Record duplicate registrations an audit detected."""
        self.totals["duplicates_caught_audit"] += detected.sum(axis=1)

    def close(
        self,
        period: int,
        state: PartnerState,
        tally: PeriodTally,
        metrics: PeriodMetrics,
        assessment: Assessment,
        accrued: NDArray[np.int64],
    ) -> None:
        """Record a period close: the partners' ``state`` and the period's ``tally`` as the
        close found them, its ``metrics``, the rules engine's ``assessment`` and what was
        ``accrued`` (cents)."""
        active = state.active
        n_active = np.maximum(active.sum(axis=1), 1)
        joined = state.joined
        pp = self.per_period
        pp["revenue"][:, period] = metrics.revenue.sum(axis=1)
        pp["returns"][:, period] = metrics.returns.sum(axis=1)
        pp["cost"][:, period] = from_cents(accrued.sum(axis=1, dtype=np.float64))
        pp["loyalty_mean"][:, period] = np.where(active, state.loyalty, 0).sum(axis=1) / n_active
        pp["active_share"][:, period] = active.sum(axis=1) / np.maximum(self.initial, 1)
        weeks = self.calendar.weeks_per_period
        effort = tally.effort_sum / weeks
        pp["effort_mean"][:, period] = np.where(active, effort, 0).sum(axis=1) / n_active
        kept = 1.0 if state.demand_kept is None else state.demand_kept
        pp["demand_kept_mean"][:, period] = np.where(active, kept, 0).sum(axis=1) / n_active
        tiers = np.where(active, assessment.tier + 1, -1)
        for t in range(self.program.n_tiers + 1):
            self.tier_share[:, period, t] = (tiers == t).sum(axis=1) / n_active
        self.tier_flows.record(period, active, assessment.tier, assessment.previous_tier)
        for name in COMPONENTS:
            self.components[name] += from_cents(
                np.where(active, assessment.components[name], 0).sum(1)
            )
        tot = self.totals
        tot["clawback_returns"] += from_cents(
            np.where(joined, assessment.clawback_returns, 0).sum(1)
        )
        tot["clawback_audit"] += from_cents(np.where(joined, assessment.clawback_audit, 0).sum(1))
        tot["capped"] += from_cents(np.where(joined, assessment.capped, 0).sum(1))
        tot["gated"] += from_cents(np.where(joined, assessment.gated, 0).sum(1))
        tot["mdf_accrued"] += from_cents(np.where(joined, assessment.mdf_accrued, 0).sum(1))
        tot["mdf_expired"] += from_cents(np.where(joined, assessment.mdf_expired, 0).sum(1))
        tot["csat_sum"] += np.where(active, metrics.csat, 0).sum(axis=1)
        tot["csat_count"] += active.sum(axis=1)
        self.partner_revenue += metrics.revenue
        self.last_period_revenue = np.where(active, metrics.revenue - metrics.returns, 0.0)
        if self.keep_panel:
            self._panel_rows(period, state, metrics, assessment, accrued, effort)
        if self.partner_weeks is not None:
            self.partner_periods.append(
                {
                    "joined": joined.copy(),
                    **{
                        name: np.array(getattr(metrics, name), dtype=np.float64)
                        for name in (
                            "revenue",
                            "returns",
                            "new_logos",
                            "co_sell_revenue",
                            "co_delivery",
                            "mdf_claims",
                            "certified_staff",
                            "csat",
                        )
                    },
                }
            )
        self.partner_pulled[:] = 0.0
        self.partner_deferred[:] = 0.0
        self.partner_stuffed[:] = 0.0

    def _panel_rows(
        self,
        period: int,
        state: PartnerState,
        metrics: PeriodMetrics,
        assessment: Assessment,
        accrued: NDArray[np.int64],
        effort: FloatArray,
    ) -> None:
        p = self.partners
        reps, n = p.group.shape
        rows = state.joined.ravel()
        rep = np.repeat(np.arange(reps), n)
        names = np.array(("unqualified", *self.program.tier_names))
        frame = pd.DataFrame(
            {
                "rep": rep,
                "partner_id": np.tile(p.partner_id, reps),
                "segment": np.array(p.segment_names)[p.segment.ravel()],
                "region": np.array(p.region_names)[p.region.ravel()],
                "period": period,
                "active": state.active.ravel(),
                "revenue": metrics.revenue.ravel(),
                "returns": metrics.returns.ravel(),
                "tier": names[assessment.tier.ravel() + 1],
                "qualified_tier": names[assessment.qualified_tier.ravel() + 1],
                "earned": from_cents(assessment.earned.ravel()),
                "capped": from_cents(assessment.capped.ravel()),
                "accrued": from_cents(accrued.ravel()),
                "pulled_forward": self.partner_pulled.ravel(),
                "deferred": self.partner_deferred.ravel(),
                "stuffed": self.partner_stuffed.ravel(),
                "effort": effort.ravel(),
                "loyalty": state.loyalty.ravel(),
                "csat": metrics.csat.ravel(),
            }
        )
        self.panel_frames.append(frame[rows].reset_index(drop=True))

    def churn(self, churned: NDArray[np.bool_]) -> None:
        """Record partners leaving at a period close."""
        self.churned += churned.sum(axis=1)

    def payout(
        self,
        period: int,
        run: PayoutRun,
        payments: list[tuple[NDArray[np.int64], NDArray[np.int64]]],
    ) -> None:
        """Record the payout run of period ``period``'s close and when its money reaches
        partners: ``payments`` splits what the run paid (``(R, N)`` cents) by the week it is
        received (per replication)."""
        paid = from_cents(run.paid.sum(axis=1))
        self.partner_paid += from_cents(run.paid)
        self.per_period["paid"][:, period] += paid
        self.per_period["cut"][:, period] += from_cents(run.cut.sum(axis=1))
        self.per_period["reserve"][:, period:] = from_cents(run.reserve_after[:, None])
        self.totals["paid"] += paid
        self.totals["cut"] += from_cents(run.cut.sum(axis=1))
        self.totals["overrun_funding"] += from_cents(run.overrun)
        self.totals["returned_to_vendor"] += from_cents(run.returned)
        rate = self.market.discount_rate_per_year
        for amount, week in payments:
            received = from_cents(amount.sum(axis=1))
            self.totals["npv_payouts"] += received * (1.0 + rate) ** (-week / 52.0)
        self.reserve_min = np.minimum(self.reserve_min, from_cents(run.reserve_after))
        self.reserve_end = from_cents(run.reserve_after)

    def benefits(self, cost: FloatArray, week: float) -> None:
        """Record what the benefits partners held in a period cost the vendor, at its close in
        ``week``."""
        total = cost.sum(axis=1)
        self.totals["benefits"] += total
        rate = self.market.discount_rate_per_year
        self.totals["npv_benefits"] += total * (1.0 + rate) ** (-week / 52.0)

    def event(self, kind: str, week: float, reps: NDArray[np.bool_], **details: object) -> None:
        """Log a calendar event touching replications ``reps``."""
        self.events.append(
            {"event": kind, "week": float(week), "reps": np.flatnonzero(reps).tolist(), **details}
        )

    # -- results -----------------------------------------------------------------------------

    def result(self, state: PartnerState, ledger: Ledger) -> BlockResult:
        """The block's outcomes, trajectories, panel and events, from the partners' ``state``
        and the ``ledger`` at the horizon's end."""
        market = self.market
        cal = self.calendar
        tot = self.totals
        revenue_gross = self.per_period["revenue"].sum(axis=1)
        returns = self.per_period["returns"].sum(axis=1)
        revenue_net = revenue_gross - returns
        clawbacks = tot["clawback_returns"] + tot["clawback_audit"]
        earned = sum(self.components.values())
        # The payout budget pays what partners earn; benefits are delivered outside it but
        # count in what the program costs.
        payout_cost = earned - clawbacks
        incentive_cost = payout_cost + tot["benefits"]
        owed = from_cents(np.maximum(ledger.owed, 0).sum(axis=1))
        receivable = from_cents(-np.minimum(ledger.owed, 0).sum(axis=1))
        budget = self.program.budget.per_period
        budget_total = np.full(
            len(owed), np.inf if budget is None else budget * cal.horizon_periods
        )
        weeks = np.arange(cal.horizon_weeks)
        discount = (1.0 + market.discount_rate_per_year) ** (-weeks / 52.0)
        weekly_net = self.weekly_revenue.copy()
        period_end_week = (np.arange(cal.horizon_periods) + 1) * cal.weeks_per_period - 1
        weekly_net[:, period_end_week] -= self.per_period["returns"]
        terminal = (
            market.partnership_value_periods
            * np.maximum(market.gross_margin - incentive_cost / np.maximum(revenue_net, 1.0), 0.0)
            * self.last_period_revenue.sum(axis=1)
            * (1.0 + market.discount_rate_per_year) ** (-cal.horizon_weeks / 52.0)
        )
        npv = (
            market.gross_margin * (weekly_net * discount).sum(axis=1)
            - tot["npv_payouts"]
            - tot["npv_benefits"]
        )
        ever = state.joined
        initial = self.partners.active_from_period == 0
        final_active = state.active
        loyalty_end = np.where(final_active, state.loyalty, 0).sum(1) / np.maximum(
            final_active.sum(1), 1
        )
        by_capacity = quartile_shares(self.partner_paid, self.partners.capacity, ever)
        outcomes = {
            "revenue_gross": revenue_gross,
            "returns": returns,
            "revenue_net": revenue_net,
            **{f"cost_{name}": value for name, value in self.components.items()},
            "cost_benefits": tot["benefits"],
            "clawbacks": clawbacks,
            "capped": tot["capped"],
            "incentive_cost": incentive_cost,
            "incentive_paid": tot["paid"],
            "incentive_cut": tot["cut"],
            "incentive_owed_end": owed,
            "incentive_receivable_end": receivable,
            "cost_to_revenue": incentive_cost / np.maximum(revenue_net, 1.0),
            "budget_total": np.where(np.isinf(budget_total), np.nan, budget_total),
            "budget_exceeded": (payout_cost > budget_total + 0.005).astype(np.float64),
            "budget_overrun": np.maximum(payout_cost - budget_total, 0.0),
            "budget_returned": tot["returned_to_vendor"],
            "budget_overrun_funded": tot["overrun_funding"],
            "reserve_end": self.reserve_end,
            "reserve_min": np.where(np.isinf(self.reserve_min), 0.0, self.reserve_min),
            "reserve_depleted": (
                (self.reserve_min <= 0.005) & (self.per_period["cut"].sum(1) > 0)
            ).astype(np.float64),
            "net_contribution": market.gross_margin * revenue_net
            - tot["paid"]
            - owed
            - tot["benefits"],
            "npv": npv + terminal,
            "retention": (initial & final_active).sum(1) / np.maximum(initial.sum(1), 1),
            "churned": self.churned,
            "recruited": (ever & ~initial).sum(1).astype(np.float64),
            "loyalty_mean": loyalty_end,
            "share_of_wallet": share_of_wallet(self.behaviour, loyalty_end),
            "pulled_forward": tot["pulled_forward"],
            "deferred": tot["deferred"],
            "discount_cost": tot["discount_cost"],
            "stuffed": tot["stuffed"],
            "deals": tot["deals"],
            "quick_deals": tot["quick_deals"],
            "last_day_share": self.last_day_revenue / np.maximum(revenue_gross, 1.0),
            "last_week_share": self.weekly_revenue[:, period_end_week].sum(axis=1)
            / np.maximum(revenue_gross, 1.0),
            "duplicates_submitted": tot["duplicates_submitted"],
            "duplicates_caught_registration": tot["duplicates_caught_registration"],
            "duplicates_caught_audit": tot["duplicates_caught_audit"],
            "duplicates_missed": tot["duplicates_submitted"]
            - tot["duplicates_caught_registration"]
            - tot["duplicates_caught_audit"],
            "gini_payouts": gini(self.partner_paid, ever),
            "share_earning": ((self.partner_paid > 0) & ever).sum(1) / np.maximum(ever.sum(1), 1),
            "payout_share_smallest_half": smallest_half_share(
                self.partner_paid, self.partner_revenue, ever
            ),
            "earning_share_smallest_half": smallest_half_earning(
                self.partner_paid, self.partner_revenue, ever
            ),
            **{
                f"{kind}_capacity_q{q + 1}": shares[:, q]
                for kind, shares in zip(("payout_share", "earning_share"), by_capacity, strict=True)
                for q in range(4)
            },
            "csat_mean": tot["csat_sum"] / np.maximum(tot["csat_count"], 1),
            "mdf_accrued": tot["mdf_accrued"],
            "mdf_expired": tot["mdf_expired"],
        }
        trajectories = dict(self.per_period)
        for t, name in enumerate(("unqualified", *self.program.tier_names)):
            trajectories[f"tier_share/{name}"] = self.tier_share[:, :, t]
        trajectories.update(self.tier_flows.trajectories(self.program.tier_names))
        trajectories["weekly_revenue"] = self.weekly_revenue
        trajectories["weekly_deals"] = self.weekly_deals
        panel = pd.concat(self.panel_frames, ignore_index=True) if self.keep_panel else None
        return BlockResult(
            outcomes={k: np.asarray(v, dtype=np.float64) for k, v in outcomes.items()},
            trajectories=trajectories,
            panel=panel,
            events=self.events,
        )
