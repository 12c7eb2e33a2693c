"""Statement lines: what a partner earned, then every cap, gate, clawback, cut and carry, as
signed amounts that add up to the payment to the cent.

The rules engine (:func:`~incentsim.program.rules.assess_period`) reports each component after
its caps, the satisfaction gate and the partner cap, with the totals withheld. To show a
partner what each component earned *before* any cap and what each cap took from which
component, :class:`CapSteps` runs the same engine three more times over the same standing and
metrics with terms relaxed one step at a time:

1. no component cap, no gate, no partner cap: what each component **earned**;
2. component caps only: the difference from (1) is each **component cap**'s line;
3. component caps and the gate: the difference from (2) is the **satisfaction gate**'s line;
4. the real terms (the engine's own assessment): the difference from (3) is the **partner
   cap**'s line.

Every step is the engine's own rounding to cents, so the lines telescope exactly to what the
engine paid; nothing here computes a payout. The relaxed runs' states are discarded.

A period's lines, in order (zero lines are left out)::

    brought forward     owed before the period (negative: owed to the vendor)
    earned              per component, before caps
    component cap       per component, with the cap
    satisfaction gate   per component, with the score and the gate
    partner cap         per component, with the cap
    clawback            on returns, on audit
    pro-rata cut        with the run's budget, reserve and share paid
    carried forward     deferred, pending the next run, or owed to the vendor
    = paid              cash to the partner at this period's close (not a line)
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from incentsim.program.compiled import GATEABLE, CompiledProgram
from incentsim.program.ledger import PayoutRun
from incentsim.program.rules import (
    COMPONENTS,
    UNQUALIFIED,
    Assessment,
    ProgramState,
    assess_period,
)
from incentsim.quantities import amount_of, cents_of

#: Columns of the statement lines frame.
LINE_COLUMNS = ("partner_id", "period", "line", "kind", "item", "amount", "reason")

#: How each component is named on a statement.
COMPONENT_LABEL = {
    "rebate": "rebate",
    "accelerators": "accelerators",
    "spiffs": "SPIFFs",
    "co_sell": "co-selling bonus",
    "milestones": "loyalty milestones",
    "pacers": "pacer bonuses",
    "bonuses": "window bonuses",
    "true_up": "annual true-up",
    "mdf": "MDF reimbursement",
    "awards": "category awards",
}

_CAPPED = ("rebate_cap", "acc_cap", "hacc_cap", "spiff_cap", "co_sell_cap")


def _relaxed(cp: CompiledProgram, *, component_caps: bool, gate: bool) -> CompiledProgram:
    """``cp`` without the partner cap, and without component caps or the gate as asked."""
    changes: dict[str, Any] = {"partner_cap": np.full_like(cp.partner_cap, np.inf)}
    if not component_caps:
        changes.update({name: np.full_like(getattr(cp, name), np.inf) for name in _CAPPED})
    if not gate:
        changes["csat_gate_fraction"] = np.ones_like(cp.csat_gate_fraction)
    return replace(cp, **changes, _gathered=[])


@dataclass(frozen=True)
class CapSteps:
    """Per component (``(N,)`` cents): what it earned and what each cap step took from it."""

    earned: dict[str, np.ndarray]
    component_cap: dict[str, np.ndarray]
    gate: dict[str, np.ndarray]
    partner_cap: dict[str, np.ndarray]

    @classmethod
    def of(
        cls,
        relaxed: tuple[CompiledProgram, CompiledProgram, CompiledProgram],
        state: ProgramState,
        group: np.ndarray,
        metrics: Any,
        periods_per_year: int,
        assessment: Assessment,
    ) -> CapSteps:
        """Run the engine on the relaxed terms (from :func:`relaxed_programs`) over ``state``
        and ``metrics``, and difference the steps against the real ``assessment``."""
        steps = [
            assess_period(cp, state, group, metrics, periods_per_year)[1].components
            for cp in relaxed
        ]
        steps.append(assessment.components)
        diff = [
            {c: after[c] - before[c] for c in COMPONENTS}
            for before, after in itertools.pairwise(steps)
        ]
        return cls(earned=steps[0], component_cap=diff[0], gate=diff[1], partner_cap=diff[2])


def relaxed_programs(
    cp: CompiledProgram,
) -> tuple[CompiledProgram, CompiledProgram, CompiledProgram]:
    """The three relaxed programs of :class:`CapSteps` (steps 1-3), compiled once."""
    return (
        _relaxed(cp, component_caps=False, gate=False),
        _relaxed(cp, component_caps=True, gate=False),
        _relaxed(cp, component_caps=True, gate=True),
    )


@dataclass(frozen=True)
class PeriodLedger:
    """The money side of one partner's period (cents) and the run that settled it."""

    owed_before: np.ndarray
    paid: np.ndarray
    cut: np.ndarray
    deferred: np.ndarray
    owed_after: np.ndarray
    settled: np.ndarray
    payment_date: np.ndarray
    run: PayoutRun | None
    front_end: np.ndarray


def period_lines(
    k: int,
    ids: pd.Index,
    cp: CompiledProgram,
    group: np.ndarray,
    metrics: Any,
    a: Assessment,
    steps: CapSteps,
    ledger: PeriodLedger,
    before: ProgramState,
) -> list[dict[str, Any]]:
    """The statement lines of period ``k`` (0-based) for every partner, as row dicts.

    Per partner, the amounts sum to ``ledger.paid`` (checked).
    """
    rows: list[dict[str, Any]] = []
    share = _share_paid(ledger.run, ledger.front_end)
    for i, pid in enumerate(ids):
        g = int(group[i])
        lines: list[tuple[str, str, int, str]] = []
        owed = int(ledger.owed_before[i])
        if owed > 0:
            lines.append(("brought forward", "owed from earlier periods", owed, "not paid yet"))
        elif owed < 0:
            lines.append(
                (
                    "brought forward",
                    "owed to the vendor",
                    owed,
                    "clawbacks beyond earlier earnings, recovered from this period",
                )
            )
        for c in COMPONENTS:
            amount = int(steps.earned[c][i])
            if amount:
                lines.append(
                    ("earned", COMPONENT_LABEL[c], amount, _earned_reason(c, i, g, cp, metrics, a))
                )
        for kind, taken in (
            ("component cap", steps.component_cap),
            ("satisfaction gate", steps.gate),
            ("partner cap", steps.partner_cap),
        ):
            for c in COMPONENTS:
                amount = int(taken[c][i])
                if amount:
                    lines.append(
                        (kind, COMPONENT_LABEL[c], amount, _cap_reason(kind, c, i, g, cp, metrics))
                    )
        if a.clawback_returns[i]:
            lines.append(
                (
                    "clawback",
                    "returns",
                    -int(a.clawback_returns[i]),
                    f"returns of {format_amount(metrics.returns[i])} clawed back at the rebate "
                    f"rate last paid, {float(before.last_rate[i]):.2%}",
                )
            )
        if a.clawback_audit[i]:
            lines.append(
                (
                    "clawback",
                    "audit",
                    -int(a.clawback_audit[i]),
                    "claims found invalid on audit, clawed back with a penalty of "
                    f"{float(cp.audit_penalty[g]):.0%}",
                )
            )
        date = ledger.payment_date[i]
        if ledger.cut[i]:
            lines.append(
                (
                    "pro-rata cut",
                    "budget shortfall",
                    -int(ledger.cut[i]),
                    _shortfall_reason(ledger.run, share, date, "cut pro rata (not paid later)"),
                )
            )
        after = int(ledger.owed_after[i])
        if after:
            lines.append(
                (
                    "carried forward",
                    *_carry(
                        after,
                        int(ledger.deferred[i]),
                        bool(ledger.settled[i]),
                        ledger.run,
                        share,
                        date,
                    ),
                )
            )
        total = sum(amount for _, _, amount, _ in lines)
        assert total == int(ledger.paid[i]), (pid, k, total, int(ledger.paid[i]))
        rows += [
            {
                "partner_id": pid,
                "period": k + 1,
                "line": n + 1,
                "kind": kind,
                "item": item,
                "amount": amount_of(amount),
                "reason": reason,
            }
            for n, (kind, item, amount, reason) in enumerate(lines)
        ]
    return rows


def _carry(
    after: int, deferred: int, settled: bool, run: PayoutRun | None, share: float, date: dt.date
) -> tuple[str, int, str]:
    """Item, amount (negative of what is carried) and reason of a carried-forward line."""
    if after < 0:
        return (
            "owed to the vendor",
            -after,
            "clawbacks exceed what was earned; the partner owes the vendor "
            f"{format_cents(-after)}, recovered from later payouts",
        )
    if settled and deferred:
        reason = _shortfall_reason(run, share, date, "deferred to the next payout run")
        return "deferred", -after, reason
    return "pending", -after, f"accrued, payable in the payout run of {date:%Y-%m-%d}"


def _share_paid(run: PayoutRun | None, front_end: np.ndarray) -> float:
    """The share of back-end amounts due that a run paid (1.0 without a run)."""
    if run is None:
        return 1.0
    front = int(front_end.sum())
    due = int(run.due) - front
    paid = int(run.paid.sum()) - front
    return paid / due if due > 0 else 1.0


def _shortfall_reason(run: PayoutRun | None, share: float, date: dt.date, what: str) -> str:
    assert run is not None
    available = int(run.budget) + int(run.contribution) + int(run.reserve_before)
    return (
        f"the payout run of {date:%Y-%m-%d} had {format_cents(available)} (budget "
        f"{format_cents(int(run.budget))}, reserve {format_cents(int(run.reserve_before))}) for "
        f"{format_cents(int(run.due))} due: every partner due was paid {share:.2%}; "
        f"the rest is {what}"
    )


def _earned_reason(c: str, i: int, g: int, cp: CompiledProgram, metrics: Any, a: Assessment) -> str:
    tier = int(a.tier[i])
    revenue = format_amount(metrics.revenue[i])
    if c == "rebate":
        if tier == UNQUALIFIED:
            return f"on revenue {revenue}"
        rate = float(cp.rebate_rate[g, tier])
        basis = (
            "marginal tier rates"
            if bool(cp.marginal[g])
            else f"{rate:.2%} for {cp.tier_names[tier]}"
        )
        return f"{basis} on revenue {revenue}"
    if c == "accelerators":
        accelerators = (*cp.accelerator_names, *cp.horizon_accelerator_names)
        return "accelerators above their thresholds: " + ", ".join(accelerators)
    if c == "spiffs":
        return "SPIFF campaigns: " + ", ".join(cp.spiff_names)
    if c == "co_sell":
        return f"{float(cp.co_sell_rate[g]):.2%} of co-sold revenue"
    if c == "milestones":
        hit = np.asarray(a.milestones_earned)[i]
        names = [m for m, h in zip(cp.milestone_names, hit, strict=True) if h]
        return "milestone reached: " + ", ".join(names)
    if c == "pacers":
        return "on pace to a horizon's target: " + ", ".join(cp.pacer_names)
    if c == "bonuses":
        return f"windows of {cp.bonus_weeks} weeks reaching a bonus's threshold: " + ", ".join(
            cp.bonus_names
        )
    if c == "true_up":
        return "the year's rebate at the year's tier, less the rebates paid in the year"
    if c == "awards":
        return "award won: " + ", ".join(awards_won(cp, a, i))
    return f"approved MDF claims, reimbursed at {float(cp.mdf_reimbursement[g]):.0%}"


def awards_won(cp: CompiledProgram, a: Assessment, i: int) -> list[str]:
    """The awards partner ``i`` won in an assessment, each with its place and its pool's size
    ("rising_partner (2nd of 41 on growth)")."""
    terms = cp.awards
    if a.awards_won is None or not terms.count:
        return []
    won = np.asarray(a.awards_won)[i]
    rank = np.asarray(a.award_rank)[i]
    ranked = np.asarray(a.award_ranked)[i]
    return [
        f"{name} ({_ordinal(int(rank[k]) + 1)} of {int(ranked[k])} on "
        f"{terms.metric[k].replace('_', ' ')})"
        for k, name in enumerate(terms.names)
        if won[k]
    ]


def _ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ..., ``11th``, ``21st``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _cap_reason(kind: str, c: str, i: int, g: int, cp: CompiledProgram, metrics: Any) -> str:
    if kind == "component cap":
        return _component_cap_reason(c, g, cp)
    if kind == "satisfaction gate":
        return _gate_reason(i, g, cp, metrics)
    return _partner_cap_reason(g, cp)


def _component_cap_reason(c: str, g: int, cp: CompiledProgram) -> str:
    if c == "rebate":
        return f"rebate cap {format_amount(cp.rebate_cap[g])} a period"
    if c == "co_sell":
        return f"co-selling cap {format_amount(cp.co_sell_cap[g])} a period"
    names, caps = {
        "accelerators": (cp.accelerator_names, cp.acc_cap),
        "spiffs": (cp.spiff_names, cp.spiff_cap),
    }.get(c, ((), np.zeros((cp.n_groups, 0))))
    each = [
        f"{name} cap {format_amount(cap)}"
        for name, cap in zip(names, caps[g], strict=True)
        if np.isfinite(cap)
    ]
    reasons = [", ".join(each) + " a period"] if each else []
    if c == "accelerators":
        reasons += [
            f"{name} cap {format_amount(cap)} over {int(horizon)} periods"
            for name, cap, horizon in zip(
                cp.horizon_accelerator_names, cp.hacc_cap[g], cp.hacc_horizon[g], strict=True
            )
            if np.isfinite(cap)
        ]
    return ", ".join(reasons) or " a period"


def _gate_reason(i: int, g: int, cp: CompiledProgram, metrics: Any) -> str:
    fraction = float(cp.csat_gate_fraction[g])
    applies = [name for name, on in zip(GATEABLE, cp.csat_gate_applies[g], strict=True) if on]
    return (
        f"customer satisfaction {float(metrics.csat[i]):g} below the gate "
        f"{float(cp.csat_gate[g]):g}: {', '.join(COMPONENT_LABEL[a] for a in applies)} paid at "
        f"{fraction:.0%}"
    )


def _partner_cap_reason(g: int, cp: CompiledProgram) -> str:
    return (
        f"partner cap {format_amount(cp.partner_cap[g])} a period: the excess is taken"
        " from the true-up, window bonuses, pacers, milestones, co-selling, SPIFFs,"
        " accelerators, then the rebate"
    )


def format_amount(amount: Any) -> str:
    """An amount in currency units (a float) as ``1,234.56``."""
    return format_cents(cents_of(amount))


def format_cents(cents: int) -> str:
    """Cents as ``1,234.56`` (``-1,234.56`` when negative)."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    return f"{sign}{whole:,}.{frac:02d}"
