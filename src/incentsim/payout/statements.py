"""Partner statements over real transactions: the same rules a simulation uses, period by period.

:func:`compute_statements` aggregates the transactions into per-period metrics
(:mod:`incentsim.payout.aggregate`), closes each period with
:func:`~incentsim.program.rules.assess_period` and settles each payout run with
:func:`~incentsim.program.ledger.close_accounts` on the program's payout schedule, the one a
simulation uses (:class:`~incentsim.program.ledger.PayoutSchedule`: each group's cadence and
delay, front-end rebates at every close, every group settled at the horizon's last close).
Nothing here decides what a partner earns; it only explains it.

Money is computed in integer cents by the rules engine and shown in currency units with two
decimals (``cents / 100``); totals are summed in cents, so they reconcile to the cent:

* per partner and period: ``owed_before + accrued = paid + cut + owed_after``;
* per partner over the statements: ``sum(accrued) = sum(paid) + sum(cut) + final owed_after``.

``paid`` on a statement line is cash the partner receives at that period's close: its front-end
rebates, paid on invoice in their own period, and, when its group's payout run settles at that
close, everything owed (``payment_date``: the last day of the run's last period plus the group's
payout delay). Periods after the group's last run are *pending*: accrued, owed, payable at the
next run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from incentsim import _output
from incentsim._workbook import COUNT, MONEY_CENTS, Sheet, write_workbook
from incentsim.calendar import Calendar
from incentsim.errors import DataError
from incentsim.payout.aggregate import FINDING_COLUMNS, aggregate, pay_day, period_bounds
from incentsim.payout.lines import (
    LINE_COLUMNS,
    CapSteps,
    PeriodLedger,
    awards_won,
    format_amount,
    format_cents,
    period_lines,
    relaxed_programs,
)
from incentsim.payout.transactions import validate_transactions
from incentsim.payout.versions import PeriodTerms
from incentsim.program.compiled import GATEABLE, CompiledProgram
from incentsim.program.ledger import (
    Accruals,
    PayoutRun,
    PayoutSchedule,
    close_accounts,
    open_ledger,
)
from incentsim.program.rules import (
    COMPONENTS,
    UNQUALIFIED,
    Assessment,
    ProgramState,
    assess_period,
    initial_state,
    qualified_tier,
)
from incentsim.program.spec import Program
from incentsim.program.versions import INITIAL
from incentsim.quantities import amount_of, cents_decimal, cents_of, from_cents, to_cents

#: Money columns of the partner statements, in currency units with two decimals.
PARTNER_MONEY = (
    "revenue",
    "returns",
    *COMPONENTS,
    "earned",
    "capped",
    "gated",
    "clawback_returns",
    "clawback_audit",
    "accrued",
    "paid_on_invoice",
    "paid",
    "cut",
    "deferred",
    "owed_after",
    "mdf_claims",
    "mdf_accrued",
    "mdf_expired",
    "mdf_balance",
)
#: Money columns of the program ledger.
RUN_MONEY = (
    "budget",
    "contribution",
    "due",
    "paid",
    "paid_on_invoice",
    "cut",
    "deferred",
    "reserve_before",
    "reserve_drawn",
    "to_reserve",
    "returned",
    "overrun",
    "reserve_after",
)
UNQUALIFIED_NAME = "unqualified"


@dataclass(frozen=True)
class Statements:
    """Statements for every partner and period, the program ledger and the findings.

    Attributes
    ----------
    partners
        One row per partner and period: ``partner_id, segment, region, period`` (1-based),
        ``fiscal_period`` (its name: ``Q1 2027``, ``FY27 Q1``), ``period_start, period_end``,
        activity, ``tier``, ``tier_before``, ``tier_reason``,
        flags, each component of :data:`~incentsim.program.rules.COMPONENTS`, caps, gates,
        clawbacks, ``accrued, paid, cut, deferred, owed_after, payment_date, status`` and MDF.
        ``status`` is ``settled`` when the payout run covering the period is inside the
        statements, ``pending`` when it comes after their last period.
    runs
        One row per payout run: periods covered, payment date, budget, due, paid, cut, reserve
        before/drawn/after, what went to the reserve, what was returned, overrun.
    findings
        ``kind, partner_id, period, line, message``: duplicate registrations, claims outside the
        statements, missing satisfaction data, partly reimbursed MDF claims, receivables.
    lines
        The reconcilable statement (:mod:`incentsim.payout.lines`): per partner and period,
        ``line, kind, item, amount, reason`` from what was brought forward, each component
        earned before caps, each cap, gate, clawback and cut, to what is carried forward; a
        period's amounts add up to its ``paid`` to the cent.
    """

    terms: CompiledProgram
    calendar: Calendar
    partners: pd.DataFrame
    runs: pd.DataFrame
    findings: pd.DataFrame
    lines: pd.DataFrame
    source: str = ""
    pending_periods: tuple[int, ...] = field(default=())

    @property
    def currency(self) -> str:
        """The program's currency."""
        return self.terms.currency

    def cents(self, column: str, frame: str = "partners") -> np.ndarray:
        """A money column as int64 cents (exact)."""
        return to_cents(getattr(self, frame)[column].to_numpy(dtype=np.float64))

    def partner_totals(self) -> pd.DataFrame:
        """Per partner: revenue, returns, accrued, paid, cut and the final amount owed."""
        df = self.partners
        money = ["revenue", "returns", "accrued", "paid", "cut"]
        cents = pd.DataFrame({c: self.cents(c) for c in money})
        cents["partner_id"] = df["partner_id"].to_numpy()
        totals = cents.groupby("partner_id", sort=False).sum()
        last = df.groupby("partner_id", sort=False).tail(1).set_index("partner_id")
        totals["owed"] = to_cents(last.loc[totals.index, "owed_after"].to_numpy())
        totals["tier"] = last.loc[totals.index, "tier"]
        for c in [*money, "owed"]:
            totals[c] = from_cents(totals[c])
        return totals.reset_index()

    def to_frame(self) -> pd.DataFrame:
        """One row per partner and period (a copy of ``partners``, ``statements.csv``)."""
        return self.partners.copy()

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table, named as the files ``payout`` writes: ``statements``,
        ``statement_lines``, ``program_ledger`` and ``findings``."""
        return {
            "statements": self.to_frame(),
            "statement_lines": self.lines.copy(),
            "program_ledger": self.runs.copy(),
            "findings": self.findings.copy(),
        }

    def identity(self) -> dict[str, Any]:
        """What was paid: the transactions' source, the currency, the partners and periods
        covered and the periods whose payout run falls after the statements."""
        return {
            "source": self.source,
            "currency": self.currency,
            "partners": int(self.partners["partner_id"].nunique()),
            "periods": int(self.partners["period"].max()) if len(self.partners) else 0,
            "pending_periods": list(self.pending_periods),
        }

    def summary(self) -> dict[str, Any]:
        """Headline numbers; money as :class:`~decimal.Decimal` with two places.

        ``owed`` is the net balance at the end (negative when partners owe the vendor more than
        they are owed); ``owed_to_partners`` and ``owed_to_vendor`` are its two sides.
        """
        owed = self.partner_totals()["owed"].to_numpy()
        reserve = (
            self.cents("reserve_after", "runs")[-1]
            if len(self.runs)
            else cents_of(self.terms.budget.reserve_initial)
        )
        return {
            "partners": int(self.partners["partner_id"].nunique()),
            "periods": int(self.partners["period"].max()) if len(self.partners) else 0,
            "runs": len(self.runs),
            "pending_periods": len(self.pending_periods),
            "revenue": cents_decimal(self.cents("revenue").sum()),
            "accrued": cents_decimal(self.cents("accrued").sum()),
            "paid": cents_decimal(self.cents("paid").sum()),
            "cut": cents_decimal(self.cents("cut").sum()),
            "owed": cents_decimal(to_cents(owed).sum()),
            "owed_to_partners": cents_decimal(np.maximum(to_cents(owed), 0).sum()),
            "owed_to_vendor": cents_decimal(np.maximum(-to_cents(owed), 0).sum()),
            "reserve_end": cents_decimal(reserve),
            "findings": len(self.findings),
        }


def compute_statements(
    program: Program,
    calendar: Calendar,
    transactions: pd.DataFrame,
    *,
    n_periods: int | None = None,
    indicators: Mapping[str, Sequence[float] | np.ndarray] | None = None,
    indicators_source: str = "--indicators",
) -> Statements:
    """Run the program over real transactions.

    Parameters
    ----------
    program
        The validated program.
    calendar
        The program calendar (:class:`~incentsim.scenario.model.Calendar`).
    transactions
        Rows from :func:`~incentsim.payout.transactions.read_transactions` (any other frame is
        validated first, and dates are checked against ``calendar`` either way).
    n_periods
        Periods to cover (default: through the last period with a row or an approved MDF claim).
    indicators
        Each market indicator's value by 0-based period
        (:func:`~incentsim.payout.versions.read_indicators`), for the program's contingent
        rules: needed, and only read, when it has them. ``indicators_source`` names them in
        errors.

    Returns
    -------
    Statements
    """
    source = str(transactions.attrs.get("source", "<transactions>"))
    transactions = validate_transactions(transactions, source, calendar=calendar)
    if not len(transactions):
        raise DataError(source, [(None, "no transactions: nothing to compute statements for")])
    agg = aggregate(transactions, program, calendar, n_periods=n_periods)
    partners, cp = agg.partners, agg.terms
    group = partners.group
    n = len(partners.ids)
    schedule = PayoutSchedule.of(cp, calendar.horizon_periods)
    delays = [dt.timedelta(weeks=int(d)) for d in cp.payout_delay_weeks]

    state = initial_state(cp, group)
    ledger = open_ledger(cp.budget, (n,))
    accruals = Accruals.empty((n,))
    rows: list[pd.DataFrame] = []
    runs: list[dict[str, Any]] = []
    balance = ledger.owed.copy()  # owed, including accruals since the last run
    findings: list[dict[str, Any]] = []
    in_force = PeriodTerms(
        program, cp, partners, agg.metrics, source, indicators, indicators_source
    )
    explaining: dict[int, tuple[_TierExplainer, Any]] = {}
    line_rows: list[dict[str, Any]] = []
    pending = np.zeros((len(agg.metrics), n), dtype=np.bool_)

    for k, metrics in enumerate(agg.metrics):
        # The version in force (the payout schedule, budget and guardrails are the same in
        # every version: only ``cp``'s rates, thresholds and caps can change).
        now = in_force.at(k)
        cp = now.program
        if id(cp) not in explaining:
            explaining[id(cp)] = (_TierExplainer(cp, group), relaxed_programs(cp))
        explainer, relaxed = explaining[id(cp)]
        before = state
        state, a = assess_period(cp, state, group, metrics, calendar.periods_per_year)
        reasons = explainer.explain(k, before, state, a, metrics)
        steps = CapSteps.of(relaxed, before, group, metrics, calendar.periods_per_year, a)
        accrued = a.accrued
        owed_before = balance.copy()
        settles_in = schedule.settlement_period(k)
        payment_by_group = [
            pay_day(period_bounds(int(settles_in[g]), calendar)[1] + delays[g])
            for g in range(len(delays))
        ]
        payment_date = np.array(payment_by_group, dtype=object)[group]
        ledger, accruals, settlement = close_accounts(
            schedule,
            cp.budget,
            ledger,
            accruals,
            group,
            k,
            accrued,
            a.front_end,
            metrics.revenue,
            budget_scale=now.budget_scale,
        )
        settled = np.asarray(settlement.settled)
        zeros = np.zeros(n, dtype=np.int64)
        if settlement.run is None:
            paid, cut, deferred = zeros, zeros, zeros
        else:
            paid, cut, deferred = settlement.run.paid, settlement.run.cut, settlement.run.deferred
            runs.append(
                _run_row(
                    len(runs) + 1,
                    k,
                    settlement.periods,
                    cp,
                    settled,
                    group,
                    calendar,
                    settlement.run,
                    a.front_end,
                )
            )
        balance = ledger.owed + accruals.back_end
        pending[k] = ~settled
        assert np.array_equal(owed_before + accrued, paid + cut + balance)
        period_ledger = PeriodLedger(
            owed_before=owed_before,
            paid=paid,
            cut=cut,
            deferred=deferred,
            owed_after=balance,
            settled=settled,
            payment_date=payment_date,
            run=settlement.run,
            front_end=a.front_end,
        )
        line_rows += period_lines(
            k, partners.ids, cp, group, metrics, a, steps, period_ledger, before
        )
        rows.append(
            _partner_rows(
                k,
                calendar,
                partners,
                metrics,
                a,
                cp,
                reasons,
                paid=paid,
                cut=cut,
                deferred=deferred,
                owed_after=balance,
                payment_date=payment_date,
                status=np.where(settled, "settled", "pending"),
                program_version=now.version,
                grandfathered_from=now.grandfathered_from,
                grandfathered_until=now.grandfathered_until,
                contingent_rules=now.rules,
            )
        )
        # The run settled the earlier periods it covers too.
        pending[:k] &= ~settled
        findings += _period_findings(k, partners.ids, metrics, a, cp, group)
    for k in range(len(rows)):
        rows[k]["status"] = np.where(pending[k], "pending", "settled")

    frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    if len(frame):
        frame = frame.sort_values(["partner_id", "period"], kind="stable").reset_index(drop=True)
    for i in np.flatnonzero(balance < 0):
        findings.append(
            {
                "kind": "receivable",
                "partner_id": partners.ids[i],
                "period": len(agg.metrics),
                "line": None,
                "message": f"partner owes {_money(-int(balance[i]))} after clawbacks; "
                "recovered from later payouts",
            }
        )
    all_findings = pd.concat(
        [agg.findings, pd.DataFrame(findings, columns=list(FINDING_COLUMNS))], ignore_index=True
    ).astype({"period": "Int64", "line": "Int64"})
    run_frame = pd.DataFrame(runs, columns=_RUN_COLUMNS)
    return Statements(
        terms=agg.terms,
        calendar=calendar,
        partners=frame,
        runs=run_frame,
        findings=all_findings,
        lines=pd.DataFrame(line_rows, columns=list(LINE_COLUMNS)),
        source=source,
        pending_periods=tuple(int(k) + 1 for k in np.flatnonzero(pending.any(axis=1))),
    )


# --------------------------------------------------------------------------------------------
# Rows


_RUN_COLUMNS = [
    "run",
    "first_period",
    "last_period",
    "periods",
    "payment_date",
    *RUN_MONEY,
]


def _run_row(
    number: int,
    k: int,
    periods: int,
    cp: CompiledProgram,
    settled: np.ndarray,
    group: np.ndarray,
    calendar: Calendar,
    run: PayoutRun,
    front: np.ndarray,
) -> dict[str, Any]:
    """One row of the program ledger: the run at period ``k``'s close, paid first on the
    close's last day (front-end rebates) or after the shortest delay of the groups it settles."""
    close = period_bounds(k, calendar)[1]
    delays = cp.payout_delay_weeks[group[settled]]
    first_paid = pay_day(
        close if front.any() or not len(delays) else close + dt.timedelta(weeks=int(delays.min()))
    )
    row: dict[str, Any] = {
        "run": number,
        "first_period": k - periods + 2,
        "last_period": k + 1,
        "periods": periods,
        "payment_date": first_paid,
    }
    values = {
        "budget": run.budget,
        "contribution": run.contribution,
        "due": run.due,
        "paid": run.paid.sum(),
        "paid_on_invoice": front.sum(),
        "cut": run.cut.sum(),
        "deferred": run.deferred.sum(),
        "reserve_before": run.reserve_before,
        "reserve_drawn": run.reserve_drawn,
        "to_reserve": run.to_reserve,
        "returned": run.returned,
        "overrun": run.overrun,
        "reserve_after": run.reserve_after,
    }
    for name, cents in values.items():
        row[name] = amount_of(cents)
    return row


def _partner_rows(
    k: int,
    calendar: Calendar,
    partners: Any,
    metrics: Any,
    a: Assessment,
    cp: CompiledProgram,
    reasons: tuple[list[str], list[str]],
    **ledger: Any,
) -> pd.DataFrame:
    n = len(partners.ids)
    first, last = period_bounds(k, calendar)
    names = np.array([*cp.tier_names, UNQUALIFIED_NAME], dtype=object)  # index -1: unqualified
    cents: dict[str, np.ndarray] = {
        "revenue": to_cents(metrics.revenue),
        "returns": to_cents(metrics.returns),
    }
    for name in COMPONENTS:
        cents[name] = a.components[name]
    cents.update(
        earned=a.earned,
        capped=a.capped,
        gated=a.gated,
        clawback_returns=a.clawback_returns,
        clawback_audit=a.clawback_audit,
        accrued=a.accrued,
        paid_on_invoice=a.front_end,
        paid=ledger["paid"],
        cut=ledger["cut"],
        deferred=ledger["deferred"],
        owed_after=ledger["owed_after"],
        mdf_claims=to_cents(metrics.mdf_claims),
        mdf_accrued=a.mdf_accrued,
        mdf_expired=a.mdf_expired,
        mdf_balance=a.mdf_balance,
    )
    earned_ms = [
        ", ".join(m for m, hit in zip(cp.milestone_names, row, strict=True) if hit)
        for row in np.asarray(a.milestones_earned).reshape(n, len(cp.milestone_names))
    ]
    frame = pd.DataFrame(
        {
            "partner_id": partners.ids.to_numpy(dtype=object),
            "segment": partners.segment,
            "region": partners.region,
            "period": k + 1,
            "fiscal_period": calendar.period_label(k),
            "period_start": first,
            "period_end": last,
            "program_version": ledger["program_version"],
            "grandfathered_from": ledger["grandfathered_from"],
            "grandfathered_until": ledger["grandfathered_until"],
            "contingent_rules": ledger["contingent_rules"],
            "new_logos": metrics.new_logos,
            "certified_staff": metrics.certified_staff,
            "csat": metrics.csat,
            "tier": names[a.tier],
            "tier_before": names[a.previous_tier],
            "tier_reason": reasons[0],
            "evaluated": np.asarray(a.evaluated, dtype=bool),
            "in_grace": a.in_grace,
            "in_remediation": a.in_remediation,
            "milestones_earned": earned_ms,
            "awards_won": [", ".join(awards_won(cp, a, i)) for i in range(n)],
            "payment_date": ledger["payment_date"],
            "status": ledger["status"],
            "notes": reasons[1],
        }
    )
    for name in PARTNER_MONEY:
        frame[name] = from_cents(np.asarray(cents[name], dtype=np.int64))
    order = [
        "partner_id",
        "segment",
        "region",
        "period",
        "fiscal_period",
        "period_start",
        "period_end",
        "program_version",
        "grandfathered_from",
        "grandfathered_until",
        "contingent_rules",
        "revenue",
        "returns",
        "new_logos",
        "certified_staff",
        "csat",
        "tier_before",
        "tier",
        "tier_reason",
        "evaluated",
        "in_grace",
        "in_remediation",
        *COMPONENTS,
        "milestones_earned",
        "awards_won",
        "earned",
        "capped",
        "gated",
        "clawback_returns",
        "clawback_audit",
        "accrued",
        "paid_on_invoice",
        "paid",
        "cut",
        "deferred",
        "owed_after",
        "payment_date",
        "status",
        "mdf_claims",
        "mdf_accrued",
        "mdf_expired",
        "mdf_balance",
        "notes",
    ]
    return frame[order]


def _period_findings(
    k: int, ids: pd.Index, metrics: Any, a: Assessment, cp: CompiledProgram, group: np.ndarray
) -> list[dict[str, Any]]:
    """MDF claims reimbursed less than claimed (not enough funds)."""
    out = []
    due = to_cents(metrics.mdf_claims * cp.mdf_reimbursement[group])
    short = due - a.components["mdf"]
    claimed = to_cents(metrics.mdf_claims)
    paid = a.components["mdf"]
    for i in np.flatnonzero(short > 0):
        out.append(
            {
                "kind": "mdf_claim_short",
                "partner_id": ids[i],
                "period": k + 1,
                "line": None,
                "message": f"MDF claims approved {_money(int(claimed[i]))}, reimbursable "
                f"{_money(int(due[i]))}, reimbursed {_money(int(paid[i]))}: "
                f"the partner's unexpired MDF balance was {_money(int(short[i]))} short",
            }
        )
    return out


_money = format_cents
_m = format_amount


def _num(value: float) -> str:
    """A metric for a sentence: ``312,400``, ``312,400.50``, ``4.2``."""
    if abs(value - round(value)) < 0.005:
        return f"{round(value):,}"
    if abs(value) < 100:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value:,.2f}"


# --------------------------------------------------------------------------------------------
# Why a partner holds its tier


_METRIC_LABEL = {
    "revenue": "revenue",
    "new_logos": "new logos",
    "certified_staff": "certified staff",
    "csat": "csat",
}


class _TierExplainer:
    """Sentences saying why each partner holds its tier, and notes on caps, gates, clawbacks.

    The window sums are recomputed the way the rules engine computes them and checked against
    the engine's own qualification; if they ever disagree the sentence says so instead of
    guessing.
    """

    def __init__(self, cp: CompiledProgram, group: np.ndarray) -> None:
        self.cp = cp
        self.group = group
        n = len(group)
        self.revenue = np.zeros((n, cp.window))
        self.logos = np.zeros((n, cp.window))

    def explain(
        self,
        k: int,
        before: ProgramState,
        after: ProgramState,
        a: Assessment,
        metrics: Any,
    ) -> tuple[list[str], list[str]]:
        cp, group = self.cp, self.group
        self.revenue = np.concatenate([self.revenue[:, 1:], metrics.revenue[:, None]], axis=1)
        self.logos = np.concatenate([self.logos[:, 1:], metrics.new_logos[:, None]], axis=1)
        lookback = cp.lookback[group]
        seen = min(k + 1, cp.window)
        available = np.minimum(lookback, seen)
        cols = np.arange(cp.window)
        in_window = cols >= (cp.window - lookback)[:, None]
        rate = lookback / available
        rev_q = np.where(in_window, self.revenue, 0.0).sum(axis=1) * rate
        logos_q = np.where(in_window, self.logos, 0.0).sum(axis=1) * rate
        check = qualified_tier(cp, group, rev_q, logos_q, metrics.certified_staff, metrics.csat)
        reasons, notes = [], []
        for i in range(len(group)):
            values = {
                "revenue": rev_q[i],
                "new_logos": logos_q[i],
                "certified_staff": metrics.certified_staff[i],
                "csat": metrics.csat[i],
            }
            labels = self._labels(int(lookback[i]), int(available[i]))
            if bool(a.evaluated[i]) and check[i] != a.qualified_tier[i]:
                reasons.append(f"{self._name(int(a.tier[i]))}: as assessed by the rules engine")
            else:
                reasons.append(self._reason(i, after, a, values, labels))
            notes.append(self._notes(i, before, a, metrics))
        return reasons, notes

    def _name(self, tier: int) -> str:
        return UNQUALIFIED_NAME if tier == UNQUALIFIED else self.cp.tier_names[tier]

    def _labels(self, lookback: int, available: int) -> dict[str, str]:
        labels = dict(_METRIC_LABEL)
        if lookback > 1:
            window = f"over {lookback} periods"
            if available < lookback:
                window += f" (run rate of {available})"
            labels["revenue"] = f"revenue {window}"
            labels["new_logos"] = f"new logos {window}"
        return labels

    def _requirements(self, i: int, tier: int) -> list[tuple[str, float]]:
        cp, g = self.cp, self.group[i]
        reqs = [
            ("revenue", cp.req_revenue[g, tier]),
            ("new_logos", cp.req_new_logos[g, tier]),
            ("certified_staff", cp.req_certified_staff[g, tier]),
            ("csat", cp.req_csat[g, tier]),
        ]
        return [(m, float(v)) for m, v in reqs if v > 0]

    def _met(self, i: int, tier: int, values: dict[str, float], labels: dict[str, str]) -> str:
        reqs = self._requirements(i, tier)
        if not reqs:
            return "no requirements"
        return " and ".join(f"{labels[m]} {_num(values[m])} >= {_num(v)}" for m, v in reqs)

    def _unmet(
        self,
        i: int,
        tier: int,
        values: dict[str, float],
        labels: dict[str, str],
        scale: float = 1.0,
    ) -> str:
        parts = []
        for m, v in self._requirements(i, tier):
            need = v * scale if m in ("revenue", "new_logos") else v
            if values[m] < need - 1e-9:
                parts.append(f"{labels[m]} {_num(need)} (has {_num(values[m])})")
        return " and ".join(parts) or "nothing more"

    def _next(self, i: int, tier: int, values: dict[str, float], labels: dict[str, str]) -> str:
        if tier + 1 >= self.cp.n_tiers:
            return ""
        nxt = tier + 1
        return f"; {self.cp.tier_names[nxt]} needs {self._unmet(i, nxt, values, labels)}"

    def _reason(
        self,
        i: int,
        after: ProgramState,
        a: Assessment,
        values: dict[str, float],
        labels: dict[str, str],
    ) -> str:
        cp, g = self.cp, self.group[i]
        tier, prev, earned = int(a.tier[i]), int(a.previous_tier[i]), int(a.qualified_tier[i])
        name = self._name(tier)
        if not bool(a.evaluated[i]):
            return (
                f"{name}: held until the next evaluation (tiers are evaluated every "
                f"{int(cp.cadence[g])} periods)"
            )
        if tier == UNQUALIFIED:
            entry = cp.tier_names[0]
            return f"{name}: {entry} needs {self._unmet(i, 0, values, labels)}"
        if earned >= tier:
            head = f"{name}: {self._met(i, tier, values, labels)}"
            if tier < prev:
                head = f"{name} (down from {self._name(prev)} after the grace period): " + (
                    self._met(i, tier, values, labels)
                )
            return head + self._next(i, tier, values, labels)
        frac = float(cp.maintain_fraction[g])
        if bool(a.in_remediation[i]):
            return (
                f"{name} kept under a remediation plan "
                f"({int(after.remediation_left[i])} period(s) left): "
                f"{name} needs {self._unmet(i, tier, values, labels)}"
            )
        if bool(a.in_grace[i]):
            count = int(after.below_count[i])
            level = f" ({frac:.0%} of its requirements)" if frac < 1.0 else ""
            return (
                f"{name} kept in grace ({count} of {int(cp.grace[g])} periods below): "
                f"keeping {name}{level} needs {self._unmet(i, tier, values, labels, frac)}"
            )
        if frac < 1.0:
            return (
                f"{name} kept at the maintenance level ({frac:.0%} of its requirements); "
                f"full {name} needs {self._unmet(i, tier, values, labels)}"
                + self._next(i, tier, values, labels)
            )
        return f"{name}: as assessed by the rules engine"

    def _notes(self, i: int, before: ProgramState, a: Assessment, metrics: Any) -> str:
        cp, g = self.cp, self.group[i]
        notes = []
        if a.capped[i] > 0:
            notes.append(f"capped {_money(int(a.capped[i]))}")
        if a.gated[i] > 0:
            applies = [c for c, on in zip(GATEABLE, cp.csat_gate_applies[g], strict=True) if on]
            score, gate = float(metrics.csat[i]), float(cp.csat_gate[g])
            notes.append(
                f"csat {_num(score)} below the gate {_num(gate)}: "
                f"{', '.join(applies)} paid at {float(cp.csat_gate_fraction[g]):.0%} "
                f"({_money(int(a.gated[i]))} withheld)"
            )
        if a.clawback_returns[i] > 0:
            notes.append(
                f"returns {_num(float(metrics.returns[i]))} clawed back at the last rebate rate "
                f"{float(before.last_rate[i]):.2%}: {_money(int(a.clawback_returns[i]))}"
            )
        if a.clawback_audit[i] > 0:
            notes.append(
                f"audit clawback {_money(int(a.clawback_audit[i]))} "
                f"(penalty x{1 + float(cp.audit_penalty[g]):g})"
            )
        absorbed = a.components["milestones"][i] == 0 and a.capped[i] > 0
        for m, hit in zip(cp.milestone_names, np.asarray(a.milestones_earned)[i], strict=True):
            if hit:
                taken = " (taken by the partner cap)" if absorbed else ""
                notes.append(f"milestone '{m}' earned{taken}")
        if a.components["true_up"][i] > 0:
            notes.append(f"annual true-up {_money(int(a.components['true_up'][i]))}")
        if a.mdf_expired[i] > 0:
            notes.append(f"MDF expired {_money(int(a.mdf_expired[i]))}")
        return "; ".join(notes)


# --------------------------------------------------------------------------------------------
# Writing


def write_statements(
    result: Statements,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    pages: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write ``statements.csv``, ``statement_lines.csv``, ``program_ledger.csv``,
    ``findings.csv``, ``statements.txt`` and any ``pages`` (file name -> text, e.g. the
    per-partner HTML statements of :func:`incentsim.report.statement_pages`).

    The files are written into a staging folder that replaces ``out_dir`` whole once all of
    them are complete, so a failure never leaves a half-written or mixed folder
    (:func:`incentsim._output.new_folder`).

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    OutDirError
        ``out_dir`` already holds statements (or another result) and ``overwrite`` is not set,
        holds other files, or another process is writing it.
    """
    out = Path(out_dir)
    contents = {
        "statements.csv": _csv(result.partners, PARTNER_MONEY),
        "statement_lines.csv": _csv(result.lines, ("amount",)),
        "program_ledger.csv": _csv(result.runs, RUN_MONEY),
        "findings.csv": _csv(result.findings, ()),
        "statements.txt": render_text(result),
        **(pages or {}),
    }
    with _output.new_folder(out, _output.KINDS["program_ledger.csv"], overwrite=overwrite) as tmp:
        for name, text in contents.items():
            _output.write_text(tmp / name, text)
    return [out / name for name in contents]


def write_excel(result: Statements, path: str | Path) -> Path:
    """Write the statements as one Excel workbook (``.xlsx``, atomically; needs openpyxl).

    Sheets: ``summary`` (the headline numbers), ``statements`` (one row per partner and period),
    ``statement lines`` (the lines adding up to each payment), ``payout runs`` and ``findings``.
    Money is stored as numbers with two decimals, shown with thousands separators; dates as
    dates (:func:`incentsim._workbook.write_workbook`).
    """
    items = result.summary()
    summary = pd.DataFrame(
        [(k, float(v) if isinstance(v, Decimal) else v) for k, v in items.items()],
        columns=["item", "value"],
    )
    money = [
        MONEY_CENTS if isinstance(v, Decimal) else COUNT if isinstance(v, int) else "General"
        for v in items.values()
    ]
    sheets: dict[str, tuple[pd.DataFrame, dict[str, Any]]] = {
        "summary": (summary, {"value": money}),
        "statements": (result.partners, dict.fromkeys(PARTNER_MONEY, MONEY_CENTS)),
        "statement lines": (result.lines, {"amount": MONEY_CENTS}),
        "payout runs": (result.runs, dict.fromkeys(RUN_MONEY, MONEY_CENTS)),
        "findings": (result.findings, {}),
    }
    return write_workbook(
        path,
        {
            name: Sheet(frame, {c: f for c, f in formats.items() if c in frame.columns})
            for name, (frame, formats) in sheets.items()
        },
    )


def _csv(frame: pd.DataFrame, money: Sequence[str]) -> str:
    frame = frame.copy()
    for name in money:
        if name in frame.columns:
            frame[name] = _plain(to_cents(frame[name].to_numpy(dtype=np.float64)))
    return frame.to_csv(index=False, lineterminator="\n")


def _plain(cents: np.ndarray) -> np.ndarray:
    """Cents as ``1234.56`` text (no thousands separator, for CSV)."""
    absolute = np.abs(cents)
    whole = pd.Series(absolute // 100).astype(str)
    frac = pd.Series(absolute % 100).astype(str).str.zfill(2)
    sign = pd.Series(np.where(cents < 0, "-", ""))
    return (sign + whole + "." + frac).to_numpy(dtype=object)


def render_text(result: Statements) -> str:
    """Readable statements: the program's runs, then one block per partner."""
    s = result.summary()
    cur = result.currency
    lines = [
        f"Partner statements  ({result.source or 'transactions'}, {cur})",
        f"{s['partners']} partners, {s['periods']} periods, {s['runs']} payout runs"
        + (
            f", {s['pending_periods']} period(s) pending the next run"
            if s["pending_periods"]
            else ""
        ),
        f"accrued {_m(s['accrued'])} = paid {_m(s['paid'])} + cut {_m(s['cut'])} + "
        f"owed to partners {_m(s['owed_to_partners'])} - owed to the vendor "
        f"{_m(s['owed_to_vendor'])}; reserve at the end {_m(s['reserve_end'])}",
        "",
        "Payout runs",
    ]
    for run in result.runs.itertuples(index=False):
        lines.append(
            f"  run {run.run} (periods {run.first_period}-{run.last_period}, paid "
            f"{run.payment_date}): budget {_m(run.budget)}, due {_m(run.due)}, paid "
            f"{_m(run.paid)}, cut {_m(run.cut)}, deferred {_m(run.deferred)}; reserve "
            f"{_m(run.reserve_before)} -> {_m(run.reserve_after)} (drawn {_m(run.reserve_drawn)}, "
            f"added {_m(run.to_reserve)}), returned {_m(run.returned)}, overrun {_m(run.overrun)}"
        )
    if not len(result.runs):
        lines.append("  none yet")
    if len(result.findings):
        lines += ["", "Findings"]
        for f in result.findings.itertuples(index=False):
            where = f" (line {f.line})" if not pd.isna(f.line) else ""
            lines.append(f"  [{f.kind}] {f.partner_id}{where}: {f.message}")
    totals = {t["partner_id"]: t for t in result.partner_totals().to_dict("records")}
    records = result.partners.to_dict("records")
    by_period: dict[tuple[Any, int], list[dict[str, Any]]] = {}
    for line in result.lines.to_dict("records"):
        by_period.setdefault((line["partner_id"], line["period"]), []).append(line)
    for k, row in enumerate(records):
        pid = row["partner_id"]
        if k == 0 or records[k - 1]["partner_id"] != pid:
            t = totals[pid]
            last = _last_of(records, k)
            lines += [
                "",
                "=" * 100,
                f"Partner {pid}  (segment {row['segment']}, region {row['region']})",
                f"  accrued {_m(t['accrued'])} = paid {_m(t['paid'])} + cut {_m(t['cut'])} + "
                + balance_words(cents_of(t["owed"]), last["payment_date"]),
            ]
        lines += _period_lines(row, by_period.get((pid, row["period"]), []), result.calendar)
    return "\n".join(lines) + "\n"


def _last_of(records: list[dict[str, Any]], k: int) -> dict[str, Any]:
    """The last record of the partner whose block starts at ``k``."""
    end = k
    while end + 1 < len(records) and records[end + 1]["partner_id"] == records[k]["partner_id"]:
        end += 1
    return records[end]


def balance_words(owed: int, payment_date: Any) -> str:
    """A partner's balance at the end of the statements (cents), in words it reads the right
    way: owed to the partner (and when), owed to the vendor, or nothing owed."""
    if owed < 0:
        return f"owed to the vendor {_money(-owed)} (recovered from later payouts)"
    if owed > 0:
        return f"owed to the partner {_money(owed)} (payable {payment_date})"
    return "nothing owed"


def paid_words(row: Mapping[str, Any]) -> str:
    """When a statement row's ``paid`` reaches the partner."""
    if not cents_of(row["paid"]):
        return "nothing paid for this period"
    if row["status"] != "settled":
        return f"paid on invoice at the period's close; the rest payable {row['payment_date']}"
    on_invoice = row["paid_on_invoice"]
    when = f"paid {row['payment_date']}"
    if on_invoice:
        when += f", of which {_m(on_invoice)} on invoice at the period's close"
    return when


def mdf_words(row: Mapping[str, Any]) -> str:
    """The MDF fund's movements in a statement row ("" when it has none)."""
    if all(row[c] == 0 for c in ("mdf_accrued", "mdf_claims", "mdf_expired", "mdf_balance")):
        return ""
    return (
        f"MDF fund (not cash): accrued {_m(row['mdf_accrued'])}, claims approved "
        f"{_m(row['mdf_claims'])}, reimbursed {_m(row['mdf'])}, expired "
        f"{_m(row['mdf_expired'])}, balance {_m(row['mdf_balance'])}"
    )


def terms_words(row: Mapping[str, Any], calendar: Calendar) -> str:
    """Which program terms a statement period was paid under, in words: the version (when not
    the program as launched), a grandfathering and until when, the contingent rules in force
    (``""`` for the program as launched with no rule in force)."""
    parts = []
    version, shielded = row.get("program_version", INITIAL), row.get("grandfathered_from", "")
    if shielded:
        until = int(row["grandfathered_until"])
        end = calendar.period_bounds(until - 1)[1]
        parts.append(
            f"grandfathered: rates, thresholds and caps of program version {version}, not of "
            f"version {shielded}, through period {until} ({calendar.period_label(until - 1)}, "
            f"ending {end}); version {shielded} applies from period {until + 1}"
        )
    elif version != INITIAL:
        parts.append(f"paid under program version {version}")
    if rules := row.get("contingent_rules", ""):
        plural = "s" if "," in rules else ""
        parts.append(
            f"contingent rule{plural} {rules} in force (the market indicator of the period "
            "before was past its level)"
        )
    return "; ".join(parts)


def _period_lines(
    row: dict[str, Any], statement: list[dict[str, Any]], calendar: Calendar
) -> list[str]:
    """One period of a partner's statement: tier, then the lines adding up to the payment."""
    lines = [
        f"  Period {row['period']} ({row['fiscal_period']})  {row['period_start']} .. "
        f"{row['period_end']}: revenue "
        f"{_m(row['revenue'])}, returns {_m(row['returns'])}",
        f"    tier {row['tier']} (was {row['tier_before']}). {row['tier_reason']}",
    ]
    if terms := terms_words(row, calendar):
        lines.insert(1, f"    {terms}")
    for line in statement:
        label = f"{line['kind']}: {line['item']}"
        lines.append(f"    {label:<44}{_m(line['amount']):>14}  {line['reason']}")
    lines.append(f"    {'= paid':<44}{_m(row['paid']):>14}  {paid_words(row)}")
    if mdf := mdf_words(row):
        lines.append(f"    {mdf}")
    return lines
