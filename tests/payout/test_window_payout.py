"""Bonuses on windows inside the period, paid over real transactions: hand-computed statements
on a tiny table, and the simulation's own rule: statements over a simulated history of
``scenarios/monthly_bonus.yaml`` pay each partner, in each period, the bonus the simulation's
rules engine paid it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from recorded_history import recorded_history

from incentsim.calendar import Calendar
from incentsim.payout import compute_statements, period_metrics, read_transactions
from incentsim.program.spec import Program
from incentsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]
MONTHLY_BONUS = ROOT / "scenarios" / "monthly_bonus.yaml"
CALENDAR = Calendar(horizon_periods=2)  # quarters of 13 weeks from Monday 2027-01-04
START = dt.date(2027, 1, 4)
PROGRAM = Program.model_validate(
    {
        "tiers": {"member": {"rebate_rate": 0.0}},
        "bonuses": {
            "monthly": {"horizon_weeks": 4, "threshold": 3000.0, "reward": 100.0, "rate": 0.01}
        },
    }
)


def day(week: int, weekday: int = 2) -> str:
    """A date in week ``week`` of the program (0-based; 13 weeks a quarter)."""
    return (START + dt.timedelta(days=7 * week + weekday)).isoformat()


def write(tmp_path: Path, rows: list[dict[str, Any]]) -> Path:
    path = tmp_path / "tx.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_statements_pay_each_window_that_reaches_the_threshold(tmp_path: Path) -> None:
    """Quarter 1 (weeks 0-12): A books 2,000 in weeks 1 and 3 (window 1: 4,000), 2,500 in week
    5 (window 2: short), and 1,000 in week 11 plus 2,000 on the quarter's last day, week 12
    (window 3, of 5 weeks: 3,000). Quarter 2 (weeks 13-25): A books 6,000 in week 17, the
    second window; B 2,999 in its first window, one short."""
    rows = [
        {"partner_id": "A", "date": day(1), "amount": 2000},
        {"partner_id": "A", "date": day(3), "amount": 2000},
        {"partner_id": "A", "date": day(5), "amount": 2500},
        {"partner_id": "A", "date": day(11), "amount": 1000},
        {"partner_id": "A", "date": day(12, weekday=6), "amount": 2000},
        {"partner_id": "A", "date": day(17), "amount": 6000},
        {"partner_id": "B", "date": day(13), "amount": 2999},
    ]
    path = write(tmp_path, rows)
    transactions = read_transactions(path, calendar=CALENDAR)
    metrics = period_metrics(transactions, PROGRAM, CALENDAR)
    assert metrics[0].week_revenue.shape == (2, 13)
    assert metrics[0].week_revenue[0, [1, 3, 5, 11, 12]].tolist() == [2000, 2000, 2500, 1000, 2000]
    result = compute_statements(PROGRAM, CALENDAR, transactions)
    df = result.partners.set_index(["partner_id", "period"])
    # A, Q1: (100 + 40) + 0 + (100 + 30) = 270; Q2: 100 + 60 = 160. B: nothing.
    assert df.loc[("A", 1), "bonuses"] == 270.0
    assert df.loc[("A", 2), "bonuses"] == 160.0
    assert df.loc[("B", 2), "bonuses"] == 0.0
    lines = result.lines
    bonus_lines = lines[(lines["partner_id"] == "A") & (lines["item"] == "window bonuses")]
    assert len(bonus_lines) == 2
    assert "windows of 4 weeks" in bonus_lines["reason"].iloc[0]


def test_days_past_a_fiscal_months_last_whole_week_count_in_its_last_window(
    tmp_path: Path,
) -> None:
    """Fiscal months: the first quarter is 2027-01-01..03-31, 90 days; its last days (past
    12 whole weeks and 6 days) fall in its last week and so its last window."""
    calendar = Calendar(start_date=dt.date(2027, 1, 1), period_pattern="months", horizon_periods=1)
    rows = [{"partner_id": "A", "date": "2027-03-31", "amount": 3000}]
    metrics = period_metrics(
        read_transactions(write(tmp_path, rows), calendar=calendar), PROGRAM, calendar
    )
    assert np.flatnonzero(metrics[0].week_revenue[0]).tolist() == [12]


def test_a_window_too_long_for_the_calendar_is_refused(tmp_path: Path) -> None:
    rows = [{"partner_id": "A", "date": day(1), "amount": 2000}]
    calendar = Calendar(weeks_per_period=6, horizon_periods=2)
    transactions = read_transactions(write(tmp_path, rows), calendar=calendar)
    with pytest.raises(ValueError, match=r"program.bonuses.monthly.horizon_weeks 4: a window"):
        compute_statements(PROGRAM, calendar, transactions)


#: A refresh from the third quarter: a bonus twice as rich on a higher threshold.
RICHER_BONUS = (
    "program.versions={richer: {effective_period: 2, changes: {bonuses: {monthly_bonus:"
    " {threshold: 15000, reward: 800}}}}}"
)


@pytest.mark.parametrize("overrides", [[], [RICHER_BONUS]], ids=["as launched", "refreshed"])
def test_statements_over_a_history_pay_the_simulated_bonuses(
    overrides: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also when a version changes the bonus: statements pay each period's terms in force."""
    scenario = load_scenario(MONTHLY_BONUS, ["population.partners=120", *overrides])
    recorded = recorded_history(scenario, tmp_path, monkeypatch)
    periods = scenario.calendar.horizon_periods
    ids, slots, closes, statements = (
        recorded.ids,
        recorded.slots,
        recorded.closes,
        recorded.statements,
    )
    compared = paid = 0
    for k, assessment in enumerate(closes):
        rows = statements[statements["period"] == k + 1].set_index("partner_id").loc[ids]
        at = [slots[pid] for pid in ids]
        simulated = np.asarray(assessment.components["bonuses"])[0, at] / 100.0
        got = rows["bonuses"].to_numpy(dtype=float)
        # The partner cap can take from the bonus: compare where it took nothing, over the
        # history and in the simulation (whose co-sell bonus also pays on duplicate
        # registrations that pass, which the history does not hold).
        uncapped = (rows["capped"].to_numpy(dtype=float) == 0) & (
            np.asarray(assessment.capped)[0, at] == 0
        )
        np.testing.assert_allclose(got[uncapped], simulated[uncapped], rtol=0, atol=0.011)
        compared += int(uncapped.sum())
        paid += int((got[uncapped] > 0).sum())
    assert compared > 0.8 * len(ids) * periods
    assert paid > 200
