"""Paying real transactions under program versions and contingent rules: each period at the
terms in force."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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


#: A recession clause: while demand (of the quarter just closed) is below 0.9, 3% instead of 2%
#: and the budget doubled.
CLAUSE = {
    "contingent": {
        "relief": {
            "below": 0.9,
            "budget_scale": 2.0,
            "changes": {"tiers": {"member": {"rebate_rate": 0.03}}},
        }
    },
    "budget": {"per_period": 150.0},
}


def test_contingent_rules_read_the_indicator_of_the_period_just_closed(tmp_path: Path) -> None:
    # Demand falls below 0.9 in quarter 2: the rule is in force in quarter 3 (it reads quarter
    # 2) and, demand recovering in quarter 3, off again in quarter 4.
    demand = {"demand": [1.0, 0.8, 1.0, 1.0]}
    result = statements(
        tmp_path, program(CLAUSE, RATES), _rows("A", range(1, 5)), indicators=demand
    )
    assert column(result, "A", "rebate") == [200.0, 200.0, 300.0, 200.0]
    assert column(result, "A", "contingent_rules") == ["", "", "relief", ""]
    # The budget is doubled in the period the rule is in force: 150 -> 300, nothing cut there.
    assert result.runs["budget"].tolist() == [150.0, 150.0, 300.0, 150.0]
    assert column(result, "A", "cut") == [50.0, 50.0, 0.0, 50.0]
    assert_reconciles(result)
    assert "contingent rule relief in force" in render_text(result)


def test_payout_rules_are_the_simulation_rules(tmp_path: Path) -> None:
    """The terms a payout applies are the plan's: the same ProgramPlan a simulation compiles."""
    from incentsim.program.in_force import ProgramPlan

    prog = program(CLAUSE, RATES)
    plan = ProgramPlan(prog, ["all"], ["all"])
    codes = plan.rules_on({"demand": np.array([0.8])})
    assert codes is not None
    expected = plan.terms(np.zeros(1, dtype=np.int64), codes).program
    result = statements(tmp_path, prog, _rows("A", range(1, 3)), indicators={"demand": [0.8, 0.8]})
    rate = expected.at(np.zeros(1, dtype=np.int64)).rebate_rate[0, 0]
    assert column(result, "A", "rebate")[1] == pytest.approx(10000 * rate)
    assert plan.budget_scale({"demand": np.array(0.8)}) == 2.0


def test_a_missing_indicator_is_refused_naming_the_rule(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"program\.contingent\.relief reads the market's demand"):
        statements(tmp_path, program(CLAUSE, RATES), _rows("A", range(1, 3)))
    with pytest.raises(DataError, match=r"demand: no value for period\(s\) \[2\]"):
        statements(
            tmp_path, program(CLAUSE, RATES), _rows("A", range(1, 4)), indicators={"demand": [1.0]}
        )


def test_a_grandfathered_statement_says_whose_terms_and_until_when(tmp_path: Path) -> None:
    grandfathered = {"versions": {"cut": {**CUT, "grandfather_periods": 1}}}
    rows = _rows("A", range(1, 5)) + _rows("B", range(3, 5))
    result = statements(tmp_path, program(grandfathered, RATES), rows)
    assert column(result, "A", "grandfathered_from") == ["", "", "cut", ""]
    assert column(result, "A", "grandfathered_until") == [0, 0, 3, 0]
    assert column(result, "B", "grandfathered_from") == ["", "", "", ""]
    text = render_text(result)
    assert (
        "grandfathered: rates, thresholds and caps of program version initial, not of version "
        "cut, through period 3" in text
    )
    assert "version cut applies from period 4" in text
    from incentsim.report.statements import statement_pages

    pages = statement_pages(result)
    page_a = next(page for name, page in pages.items() if "A" in name)
    assert '<p class="terms">grandfathered: rates, thresholds and caps of program version' in page_a
    assert "through period 3 (Q3 2027, ending 2027-10-03)" in page_a
