"""Payouts over real data: validate transactions, aggregate them per period and run the same
rules a simulation uses to produce partner statements, the program ledger and findings.

>>> from incentsim.payout import read_transactions, compute_statements, write_statements
"""

from incentsim.payout.aggregate import Aggregated, Partners, aggregate, period_metrics
from incentsim.payout.intake import ColumnMapping
from incentsim.payout.statements import (
    Statements,
    compute_statements,
    render_text,
    write_excel,
    write_statements,
)
from incentsim.payout.transactions import COLUMNS, read_transactions, validate_transactions

__all__ = [
    "COLUMNS",
    "Aggregated",
    "ColumnMapping",
    "Partners",
    "Statements",
    "aggregate",
    "compute_statements",
    "period_metrics",
    "read_transactions",
    "render_text",
    "validate_transactions",
    "write_excel",
    "write_statements",
]
