"""The outcome catalogue: what every outcome and trajectory a simulation records means.

One :class:`Outcome` per outcome (one value per replication) and per trajectory (one value per
replication and period): its label in the designer's words, its unit, which side is better for
the designer, the bounds it cannot leave, a description, and the program constructs it depends
on. The recorder (:mod:`incentsim.engine.recorder`) fills exactly the outcomes listed here (a
test checks it); the summary, comparisons, stress tests, the optimizer, reports and notebooks
read units, directions and bounds from here instead of guessing them from names.

>>> OUTCOMES["incentive_cost"].unit, OUTCOMES["incentive_cost"].direction
('money', -1)
>>> describe("tier_share/gold").label
'Share of partners in gold'
>>> OUTCOMES["cost_spiffs"].constructs
frozenset({'spiffs'})
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from incentsim.engine.tier_flow import TIER_FLOW_PREFIX, flow_states
from incentsim.program.rules import COMPONENTS

if TYPE_CHECKING:
    from incentsim.program.spec import Program

__all__ = [
    "CONSTRUCTS",
    "KEY_OUTCOMES",
    "OUTCOMES",
    "TIER_FLOW_PREFIX",
    "TIER_SHARE_PREFIX",
    "TRAJECTORIES",
    "Outcome",
    "Unit",
    "constructs_in_use",
    "describe",
    "shown_outcomes",
]

#: How an outcome is measured and shown: an amount of money (the program's currency), a share
#: of a whole (shown as %), a probability (0/1 per replication, shown as %), a count of things
#: (deals, partners), a score on a scale (customer satisfaction 0-5), an index (loyalty 0-1,
#: Gini 0-1), or a plain number (an outcome the catalogue does not know).
Unit = Literal["money", "share", "probability", "count", "score", "index", "number"]

#: The payout component every program pays, which no construct switches on.
_BASE_COMPONENT = "rebate"

#: Program constructs an outcome can depend on: every payout component of
#: :data:`~incentsim.program.rules.COMPONENTS` but the rebate, then the constructs that shape
#: what is paid without being a component of their own. :func:`constructs_in_use` says which a
#: program switches on.
CONSTRUCTS = (
    *(c for c in COMPONENTS if c != _BASE_COMPONENT),
    "caps",
    "budget",
    "reserve",
    "audits",
    "deal_registration",
    "benefits",
)

#: Trajectories of the share of partners in each tier are named ``tier_share/<tier>``.
TIER_SHARE_PREFIX = "tier_share/"


@dataclass(frozen=True)
class Outcome:
    """What one outcome (or trajectory) is.

    Attributes
    ----------
    name
        The column name in results files (never changes).
    label
        A short name in the designer's words, for tables and charts.
    unit
        See :data:`Unit`.
    direction
        +1 if higher is better for the designer, -1 if lower is better, 0 if neither (a
        trade-off, or a quantity with no good side).
    low, high
        Bounds the outcome cannot leave by how it is defined (``-inf``/``inf`` when unbounded);
        intervals on its mean are cut at them.
    description
        One sentence on how it is measured.
    constructs
        Program constructs (:data:`CONSTRUCTS`) it depends on: with none of them in use, the
        outcome is zero (or empty) by construction and printed summaries leave it out.
    """

    name: str
    label: str
    unit: Unit
    direction: int
    low: float
    high: float
    description: str
    constructs: frozenset[str] = frozenset()

    @property
    def bounded(self) -> bool:
        """Whether either bound is finite."""
        return math.isfinite(self.low) or math.isfinite(self.high)

    def clip(self, value: float) -> float:
        """``value`` moved inside the outcome's bounds (NaN stays NaN)."""
        if math.isnan(value):
            return value
        return min(max(value, self.low), self.high)


_INF = math.inf
_BOUNDS: dict[Unit, tuple[float, float]] = {
    "money": (0.0, _INF),
    "share": (0.0, 1.0),
    "probability": (0.0, 1.0),
    "count": (0.0, _INF),
    "score": (0.0, 5.0),
    "index": (0.0, 1.0),
    "number": (-_INF, _INF),
}


def _entry(
    name: str,
    label: str,
    unit: Unit,
    direction: int,
    description: str,
    constructs: Iterable[str] = (),
    bounds: tuple[float, float] | None = None,
) -> Outcome:
    low, high = bounds if bounds is not None else _BOUNDS[unit]
    unknown = set(constructs) - set(CONSTRUCTS)
    if unknown:
        raise ValueError(f"outcome {name!r} depends on unknown constructs {sorted(unknown)}")
    return Outcome(name, label, unit, direction, low, high, description, frozenset(constructs))


_SIGNED = (-_INF, _INF)

#: Each payout component's name in tables; a component of
#: :data:`~incentsim.program.rules.COMPONENTS` without one fails here, at import.
_COMPONENT_LABELS = {
    "rebate": "Rebates",
    "accelerators": "Accelerators",
    "spiffs": "SPIFFs",
    "co_sell": "Co-sell bonuses",
    "milestones": "Loyalty milestones",
    "pacers": "Pacer bonuses",
    "bonuses": "Window bonuses",
    "true_up": "Annual true-up",
    "mdf": "MDF reimbursed",
    "awards": "Category awards",
}

_OUTCOME_LIST = (
    _entry("revenue_gross", "Gross revenue", "money", +1, "Partner revenue booked."),
    _entry("returns", "Returns", "money", -1, "Revenue returned (stuffed inventory coming back)."),
    _entry("revenue_net", "Net revenue", "money", +1, "Gross revenue less returns."),
    *(
        _entry(
            f"cost_{component}",
            f"Cost: {_COMPONENT_LABELS[component].lower()}" if component != "mdf" else "Cost: MDF",
            "money",
            -1,
            f"{_COMPONENT_LABELS[component]} earned by partners, after caps and gates.",
            () if component == _BASE_COMPONENT else (component,),
            # decelerators take back, a true-up settles the year against what was paid
            bounds=_SIGNED if component in ("accelerators", "true_up") else None,
        )
        for component in COMPONENTS
    ),
    _entry(
        "cost_benefits",
        "Cost: tier benefits",
        "money",
        -1,
        "What delivering the benefits of the tiers partners held cost the vendor (outside the "
        "payout budget).",
        ("benefits",),
    ),
    _entry("clawbacks", "Clawbacks", "money", 0, "Taken back on returns and after audits."),
    _entry("capped", "Cut by caps", "money", 0, "Earnings removed by caps.", ("caps",)),
    _entry(
        "incentive_cost",
        "Incentive cost",
        "money",
        -1,
        "What the program cost: every component earned, less clawbacks, plus the cost of the "
        "tiers' benefits.",
        bounds=_SIGNED,
    ),
    _entry(
        "incentive_paid", "Paid to partners", "money", -1, "Payout runs' money reaching partners."
    ),
    _entry(
        "incentive_cut",
        "Cut for lack of budget",
        "money",
        -1,
        "Owed to partners but cut when the budget and reserve ran short.",
        ("budget",),
    ),
    _entry(
        "incentive_owed_end",
        "Still owed at the horizon",
        "money",
        -1,
        "Accrued to partners and not yet paid at the end of the run.",
    ),
    _entry(
        "incentive_receivable_end",
        "Owed by partners at the horizon",
        "money",
        0,
        "Clawbacks partners still owe the vendor at the end of the run.",
    ),
    _entry(
        "cost_to_revenue",
        "Cost to net revenue",
        "share",
        -1,
        "Incentive cost as a share of net revenue.",
        bounds=_SIGNED,
    ),
    _entry(
        "budget_total",
        "Budget",
        "money",
        0,
        "Budget per period times periods (empty without a budget).",
        ("budget",),
    ),
    _entry(
        "budget_exceeded",
        "Over budget",
        "probability",
        -1,
        "Whether the incentive cost exceeded the budget over the horizon.",
        ("budget",),
    ),
    _entry(
        "budget_overrun",
        "Budget overrun",
        "money",
        -1,
        "Incentive cost above the budget (0 within it).",
        ("budget",),
    ),
    _entry(
        "budget_returned",
        "Budget returned",
        "money",
        0,
        "Unspent budget returned to the vendor.",
        ("budget",),
    ),
    _entry(
        "budget_overrun_funded",
        "Overrun funded by the vendor",
        "money",
        -1,
        "Extra money the vendor put in when budget and reserve fell short (deferral policy).",
        ("budget",),
    ),
    _entry(
        "reserve_end",
        "Reserve at the horizon",
        "money",
        +1,
        "The reserve fund at the end.",
        ("reserve",),
    ),
    _entry(
        "reserve_min",
        "Lowest reserve",
        "money",
        +1,
        "The reserve fund at its lowest over the run.",
        ("reserve",),
    ),
    _entry(
        "reserve_depleted",
        "Reserve ran out",
        "probability",
        -1,
        "Whether the reserve ran out and payouts were cut.",
        ("reserve",),
    ),
    _entry(
        "net_contribution",
        "Net contribution",
        "money",
        +1,
        "Gross margin on net revenue, less what was paid and is still owed.",
        bounds=_SIGNED,
    ),
    _entry(
        "npv",
        "Net present value",
        "money",
        +1,
        "Discounted margin less discounted payouts, plus the value of partnerships kept.",
        bounds=_SIGNED,
    ),
    _entry(
        "retention",
        "Retention",
        "share",
        +1,
        "Share of the partners active at the start still active at the horizon.",
    ),
    _entry("churned", "Partners lost", "count", -1, "Partners who left the program."),
    _entry("recruited", "Partners recruited", "count", +1, "Partners who joined after the start."),
    _entry(
        "loyalty_mean",
        "Loyalty",
        "index",
        +1,
        "Mean loyalty (0-1) of the partners active at the horizon.",
    ),
    _entry(
        "share_of_wallet",
        "Share of wallet",
        "share",
        +1,
        "Share of partners' capacity given to the vendor, from their loyalty at the horizon.",
    ),
    _entry(
        "pulled_forward",
        "Revenue pulled forward",
        "money",
        -1,
        "Deals pulled into a period at a discount to reach a threshold.",
    ),
    _entry(
        "deferred",
        "Revenue deferred",
        "money",
        -1,
        "Deals pushed into the next period (at a cap, or hopelessly below a floor).",
    ),
    _entry(
        "discount_cost", "Discounts given", "money", -1, "Revenue lost to period-end discounts."
    ),
    _entry("stuffed", "Inventory stuffed", "money", -1, "Inventory loaded at period ends."),
    _entry("deals", "Deals", "count", 0, "Genuine deals closed."),
    _entry(
        "quick_deals",
        "Revenue in quick deals",
        "money",
        -1,
        "Revenue partners booked in small quick deals near period ends, at a lower yield than "
        "their normal deals.",
    ),
    _entry(
        "last_day_share",
        "Share booked on period's last day",
        "share",
        -1,
        "Share of revenue booked on the last business day (Monday-Friday) of its period "
        "(uniform: one over the period's business days).",
    ),
    _entry(
        "last_week_share",
        "Share booked in period's last week",
        "share",
        -1,
        "Share of revenue booked in the last week of its period (uniform: one over the weeks "
        "per period).",
    ),
    _entry(
        "duplicates_submitted",
        "Duplicate registrations",
        "count",
        -1,
        "Duplicate deal registrations submitted by gaming partners.",
    ),
    _entry(
        "duplicates_caught_registration",
        "Duplicates caught at registration",
        "count",
        +1,
        "Duplicate registrations caught by the registration check.",
        ("deal_registration",),
    ),
    _entry(
        "duplicates_caught_audit",
        "Duplicates caught by audits",
        "count",
        +1,
        "Duplicate registrations an audit detected.",
        ("audits",),
    ),
    _entry(
        "duplicates_missed",
        "Duplicates missed",
        "count",
        -1,
        "Duplicate registrations neither the check nor an audit caught.",
    ),
    _entry(
        "gini_payouts",
        "Payout inequality (Gini)",
        "index",
        0,
        "Gini coefficient of payouts over partners.",
    ),
    _entry(
        "share_earning",
        "Partners earning",
        "share",
        +1,
        "Share of partners paid anything.",
    ),
    _entry(
        "payout_share_smallest_half",
        "Payouts to the smaller half",
        "share",
        +1,
        "Share of payouts reaching the smaller half of partners (by revenue).",
    ),
    _entry(
        "earning_share_smallest_half",
        "Smaller half earning",
        "share",
        +1,
        "Share of the smaller half of partners (by revenue) paid anything.",
    ),
    *(
        _entry(
            f"{kind}_capacity_q{q}",
            f"{label} (capacity quartile {q})",
            "share",
            +1 if q < 4 else 0,
            f"{what} partners of the {ordinal} capacity quartile (1: the smallest).",
        )
        for kind, label, what in (
            ("payout_share", "Payouts to", "Share of payouts reaching the"),
            ("earning_share", "Partners earning", "Share paid anything of the"),
        )
        for q, ordinal in ((1, "first"), (2, "second"), (3, "third"), (4, "fourth"))
    ),
    _entry(
        "csat_mean",
        "Customer satisfaction",
        "score",
        +1,
        "Mean customer satisfaction (0-5) of active partners over the periods.",
    ),
    _entry("mdf_accrued", "MDF accrued", "money", 0, "Marketing funds accrued.", ("mdf",)),
    _entry(
        "mdf_expired", "MDF expired", "money", -1, "Marketing funds that expired unused.", ("mdf",)
    ),
)

#: Every outcome the recorder reports, in the order it reports them.
OUTCOMES: Mapping[str, Outcome] = {o.name: o for o in _OUTCOME_LIST}

_TRAJECTORY_LIST = (
    _entry("revenue", "Gross revenue", "money", +1, "Revenue booked per period."),
    _entry("returns", "Returns", "money", -1, "Revenue returned per period."),
    _entry("cost", "Incentive cost", "money", -1, "Incentive accrued per period.", bounds=_SIGNED),
    _entry("loyalty_mean", "Loyalty", "index", +1, "Mean loyalty of active partners."),
    _entry(
        "active_share",
        "Partners active",
        "share",
        +1,
        "Active partners over those at start.",
        bounds=(0.0, _INF),
    ),
    _entry(
        "effort_mean", "Effort", "index", +1, "Mean effort of active partners.", bounds=(0.0, _INF)
    ),
    _entry(
        "demand_kept_mean",
        "Repeat demand kept",
        "share",
        +1,
        "Mean share of its normal repeat and renewal demand an active partner keeps after each "
        "close (it follows customer satisfaction, with a lag).",
    ),
    _entry(
        "reserve", "Reserve", "money", +1, "The reserve fund after each payout run.", ("reserve",)
    ),
    _entry("paid", "Paid to partners", "money", -1, "Money reaching partners per payout run."),
    _entry("cut", "Cut for lack of budget", "money", -1, "Cut per payout run.", ("budget",)),
    _entry("weekly_revenue", "Weekly revenue", "money", +1, "Revenue booked per week."),
    _entry("weekly_deals", "Weekly deals", "count", 0, "Genuine deals closed per week."),
)

#: Every trajectory the recorder reports other than the per-tier shares (see :func:`describe`).
TRAJECTORIES: Mapping[str, Outcome] = {o.name: o for o in _TRAJECTORY_LIST}

#: Outcomes shown first (and, in the terminal, alone unless all are asked for).
KEY_OUTCOMES: tuple[str, ...] = (
    "incentive_cost",
    "cost_to_revenue",
    "budget_exceeded",
    "budget_overrun",
    "reserve_min",
    "reserve_depleted",
    "revenue_net",
    "net_contribution",
    "npv",
    "retention",
    "loyalty_mean",
    "churned",
    "csat_mean",
    "gini_payouts",
)


def describe(name: str) -> Outcome:
    """The catalogue's entry for an outcome or trajectory.

    Outcomes first, then trajectories, then ``tier_share/<tier>`` and
    ``tier_flow/<from>-><to>``; a name the catalogue does not
    know gets a neutral, unbounded plain number labelled by its name.
    """
    if name in OUTCOMES:
        return OUTCOMES[name]
    if name in TRAJECTORIES:
        return TRAJECTORIES[name]
    if name.startswith(TIER_SHARE_PREFIX):
        tier = name.removeprefix(TIER_SHARE_PREFIX)
        return _entry(name, f"Share of partners in {tier}", "share", 0, "Per period.")
    if name.startswith(TIER_FLOW_PREFIX):
        source, target = flow_states(name)
        return _entry(
            name,
            f"Partners moving from {source} to {target}",
            "count",
            0,
            "Partners in the first state at the previous close and in the second at this one.",
        )
    return _entry(name, name.replace("_", " "), "number", 0, "Not in the catalogue.")


def constructs_in_use(program: Program) -> frozenset[str]:
    """The :data:`CONSTRUCTS` a program switches on, for any segment or region."""
    segments = [None, *program.segment_overrides]
    regions = [None, *program.region_overrides]
    used: set[str] = set()
    for segment in segments:
        for region in regions:
            plain = segment is None and region is None
            switches = _switches(program if plain else program.resolved(segment, region))
            used |= {name for name, on in switches.items() if on}
    return frozenset(used)


def _switches(program: Program) -> dict[str, bool]:
    """Whether ``program`` switches on each of :data:`CONSTRUCTS` (every one has a line)."""
    caps = (
        program.partner_cap,
        program.rebate.cap,
        program.co_sell.cap,
        program.mdf.cap,
        *(a.cap for a in program.accelerators.values()),
        *(s.cap for s in program.spiffs.values()),
    )
    budget = program.budget
    return {
        "accelerators": bool(program.accelerators),
        "spiffs": bool(program.spiffs),
        "co_sell": program.co_sell.rate > 0,
        "milestones": bool(program.milestones),
        "pacers": bool(program.pacers),
        "bonuses": bool(program.bonuses),
        "true_up": budget.true_up.enabled,
        "mdf": program.mdf.accrual_rate > 0
        or any(t.mdf_accrual_rate for t in program.tiers.values()),
        "caps": any(c is not None for c in caps),
        "budget": budget.per_period is not None,
        "reserve": budget.per_period is not None or budget.reserve.initial > 0,
        "audits": program.guardrails.audit.rate > 0,
        "deal_registration": program.guardrails.deal_registration.duplicate_check,
        "benefits": any(
            b.cost_per_partner > 0 for t in program.tiers.values() for b in t.benefits.values()
        ),
        "awards": bool(program.awards),
    }


def shown_outcomes(names: Iterable[str], constructs: Iterable[str] | None) -> list[str]:
    """``names`` without those whose constructs are all out of use (all kept for ``None``)."""
    if constructs is None:
        return list(names)
    on = frozenset(constructs)
    return [n for n in names if not describe(n).constructs or describe(n).constructs & on]
