"""Per-partner HTML statements: one self-contained page per partner, from the statement lines.

Each page shows the partner's key figures (earned before caps, what caps, gates, clawbacks and
cuts took, what was paid and the balance), then per period its tier and why, and the lines from
what was brought forward to what is carried forward, adding up to the payment. A balance the
partner owes the vendor is said so in a box at the top. Rendered from
``templates/statement.html.j2`` with no external ``src`` or ``href``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from incentsim.payout.lines import format_amount, format_cents
from incentsim.payout.statements import (
    Statements,
    balance_words,
    mdf_words,
    paid_words,
    terms_words,
)
from incentsim.quantities import cents_of, to_cents
from incentsim.report.document import templates

__all__ = ["statement_file_name", "statement_pages"]

_TEMPLATE = "statement.html.j2"
_TAKEN = ("component cap", "partner cap", "satisfaction gate")


def statement_file_name(partner_id: Any) -> str:
    """``statement_<partner>.html``, with characters unsafe in a file name replaced by ``_``."""
    return f"statement_{re.sub(r'[^A-Za-z0-9._-]', '_', str(partner_id))}.html"


def statement_pages(result: Statements) -> dict[str, str]:
    """Every partner's HTML statement, keyed by file name (:func:`statement_file_name`; a
    partner whose safe name collides with an earlier one gets ``-2``, ``-3``...)."""
    template = templates().get_template(_TEMPLATE)
    cents = to_cents(result.lines["amount"].to_numpy(np.float64))
    lines: dict[tuple[Any, int], list[dict[str, Any]]] = {}
    for line, amount in zip(result.lines.to_dict("records"), cents.tolist(), strict=True):
        lines.setdefault((line["partner_id"], line["period"]), []).append({**line, "cents": amount})
    rows: dict[Any, list[dict[str, Any]]] = {}
    for row in result.partners.to_dict("records"):
        rows.setdefault(row["partner_id"], []).append(row)
    totals = result.partner_totals().set_index("partner_id")
    owed = dict(zip(totals.index, to_cents(totals["owed"].to_numpy()).tolist(), strict=True))
    pages: dict[str, str] = {}
    for pid, records in rows.items():
        name = statement_file_name(pid)
        n = 2
        while name in pages:
            name = statement_file_name(pid).removesuffix(".html") + f"-{n}.html"
            n += 1
        periods = [(row, lines.get((pid, row["period"]), [])) for row in records]
        pages[name] = template.render(**_page(result, pid, periods, int(owed[pid])))
    return pages


def _page(
    result: Statements,
    pid: Any,
    periods: list[tuple[dict[str, Any], list[dict[str, Any]]]],
    owed: int,
) -> dict[str, Any]:
    """The template's context for one partner: its periods as (row, lines), its balance."""
    first, last = periods[0][0], periods[-1][0]
    everything = [line for _, lines in periods for line in lines]

    def total(*kinds: str) -> int:
        return sum(line["cents"] for line in everything if line["kind"] in kinds)

    paid = sum(cents_of(row["paid"]) for row, _ in periods)
    earned = total("earned")
    figures = [
        ("earned before caps", format_cents(earned)),
        ("caps and gates", format_cents(total(*_TAKEN))),
        ("clawbacks", format_cents(total("clawback"))),
        ("pro-rata cuts", format_cents(total("pro-rata cut"))),
        ("paid", format_cents(paid)),
        ("owed to the vendor", format_cents(-owed))
        if owed < 0
        else ("owed to the partner", format_cents(owed)),
    ]
    shown = [
        {
            "heading": f"{row['fiscal_period']} (period {row['period']}): {row['period_start']} to "
            f"{row['period_end']}, revenue {format_amount(row['revenue'])}"
            + (f", returns {format_amount(row['returns'])}" if row["returns"] else ""),
            "terms": terms_words(row, result.calendar),
            "tier": f"Tier {row['tier']} (was {row['tier_before']}). {row['tier_reason']}",
            "lines": [
                {
                    "kind": line["kind"],
                    "item": line["item"],
                    "reason": line["reason"],
                    "amount": format_cents(line["cents"]),
                    "negative": line["cents"] < 0,
                }
                for line in lines
            ],
            "paid": format_amount(row["paid"]),
            "when": paid_words(row),
            "mdf": mdf_words(row),
        }
        for row, lines in periods
    ]
    currency = result.currency
    return {
        "title": f"Statement for partner {pid}",
        "subtitle": f"segment {first['segment']}, region {first['region']}; "
        f"{first['period_start']} to {last['period_end']}; amounts in {currency}; "
        f"from {result.source or 'transactions'}",
        "owes": (
            f"The partner owes the vendor {format_cents(-owed)} {currency}: clawbacks exceed "
            "what was earned. It is recovered from later payouts."
            if owed < 0
            else ""
        ),
        "figures": figures,
        "reading": (
            f"Earned {format_cents(earned)} before caps; caps and gates took "
            f"{format_cents(-total(*_TAKEN))}, clawbacks {format_cents(-total('clawback'))}, "
            f"pro-rata cuts {format_cents(-total('pro-rata cut'))}; paid {format_cents(paid)}; "
            f"{balance_words(owed, last['payment_date'])}. Each period's lines add up to what "
            "it paid."
        ),
        "currency": currency,
        "periods": shown,
        "footer": "Pay dates falling on a Saturday or Sunday are moved to the next Monday. "
        "Amounts are computed in cents by the program's rules engine, the one a simulation uses.",
    }
