"""Paying real transactions under program versions: each period at the version in force."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_statements import assert_reconciles, column, program, quarter, statements

from incentsim.errors import DataError
from incentsim.payout.statements import render_text

#: 2% on everything, cut to 1% from quarter 3 (period index 2).
RATES = {"tiers": {"member": {"rebate_rate": 0.02}}}
CUT = {"effective_period": 2, "changes": {"tiers": {"member": {"rebate_rate": 0.01}}}}


def _rows(partner: str, quarters: range) -> list[dict[str, object]]:
    return [{"partner_id": partner, "date": quarter(q), "amount": 10000} for q in quarters]


def test_each_period_is_paid_at_its_version(tmp_path: Path) -> None:
    result = statements(
        tmp_path, program({"versions": {"cut": CUT}}, RATES), _rows("A", range(1, 5))
    )
    assert column(result, "A", "rebate") == [200.0, 200.0, 100.0, 100.0]
    assert column(result, "A", "program_version") == ["initial", "initial", "cut", "cut"]
    assert_reconciles(result)
    assert render_text(result).count("paid under program version cut") == 2


def test_grandfathered_incumbents_keep_the_old_rate(tmp_path: Path) -> None:
    grandfathered = {"versions": {"cut": {**CUT, "grandfather_periods": 1}}}
    rows = _rows("A", range(1, 5)) + _rows("B", range(3, 5))  # B's first sale is in quarter 3
    result = statements(tmp_path, program(grandfathered, RATES), rows)
    assert column(result, "A", "rebate") == [200.0, 200.0, 200.0, 100.0]
    assert column(result, "A", "program_version") == ["initial", "initial", "initial", "cut"]
    assert column(result, "B", "rebate") == [0.0, 0.0, 100.0, 100.0]
    assert_reconciles(result)


def test_a_program_without_versions_is_paid_as_before(tmp_path: Path) -> None:
    result = statements(tmp_path, program(None, RATES), _rows("A", range(1, 5)))
    assert column(result, "A", "rebate") == [200.0] * 4
    assert set(column(result, "A", "program_version")) == {"initial"}


def test_contingent_rules_are_refused_with_the_reason(tmp_path: Path) -> None:
    rule = {"contingent": {"relief": {"below": 0.9, "threshold_scale": 0.8}}}
    with pytest.raises(DataError, match=r"program\.contingent: contingent rules read a market"):
        statements(tmp_path, program(rule, RATES), _rows("A", range(1, 3)))
