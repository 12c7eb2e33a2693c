"""Figures in words for a finance reader: amounts, percentages and intervals in each outcome's unit.

>>> amount(3_504_730.0, "USD"), amount(45_250.0, "EUR"), amount(-1.6e9, "USD")
('USD 3.50 million', 'EUR 45,250', 'USD -1.60 billion')
>>> value(0.9163, "retention", "USD"), value(4.021, "csat_mean", "USD")
('91.6%', '4.02')
>>> interval(0.905, 0.927, "retention", "USD"), interval(3.0e6, 4.01e6, "incentive_cost", "USD")
('90.5% to 92.7%', 'USD 3.00 to 4.01 million')
"""

from __future__ import annotations

import math

from incentsim.engine.outcomes import describe

__all__ = ["amount", "interval", "value"]


def amount(money: float, currency: str) -> str:
    """An amount of money: ``USD 3.50 million``, ``USD 1.20 billion``, ``USD 45,250``."""
    if not math.isfinite(money):
        return "-"
    size = abs(money)
    if size >= 1e9:
        return f"{currency} {money / 1e9:,.2f} billion"
    if size >= 1e6:
        return f"{currency} {money / 1e6:,.2f} million"
    return f"{currency} {money:,.0f}"


def value(number: float, outcome: str, currency: str, signed: bool = False) -> str:
    """A value of ``outcome`` in its unit (a change when ``signed``: shares in percentage
    points, amounts with a sign)."""
    if number is None or not math.isfinite(number):
        return "-"
    unit = describe(outcome).unit
    sign = "+" if signed else ""
    if unit in ("share", "probability"):
        return f"{100 * number:+.1f} pp" if signed else f"{100 * number:.1f}%"
    if unit == "money":
        text = amount(abs(number), currency) if signed else amount(number, currency)
        return f"{'+' if number >= 0 else '-'}{text}" if signed else text
    if unit == "count":
        return f"{number:{sign},.0f}" if abs(number) >= 100 else f"{number:{sign},.1f}"
    if unit in ("score", "index"):
        return f"{number:{sign}.2f}" if unit == "score" else f"{number:{sign}.3f}"
    return f"{number:{sign},.4g}"


def interval(low: float, high: float, outcome: str, currency: str, signed: bool = False) -> str:
    """``low to high`` in the outcome's unit (amounts share one scale: ``3.00 to 4.01 million``)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "-"
    if describe(outcome).unit == "money" and not signed:
        top = max(abs(low), abs(high))
        for scale, word in ((1e9, "billion"), (1e6, "million")):
            if top >= scale:
                return f"{currency} {low / scale:,.2f} to {high / scale:,.2f} {word}"
        return f"{currency} {low:,.0f} to {high:,.0f}"
    return f"{value(low, outcome, currency, signed)} to {value(high, outcome, currency, signed)}"
