"""Bonuses on windows shorter than the period: what the rules pay at the close, from revenue by
week of the period, and the schema's checks (messages naming the field)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from incentsim.errors import ScenarioError
from incentsim.program.spec import Program
from incentsim.program.windows import (
    assess_bonuses,
    bonus_pay,
    window_of_week,
    window_problems,
    window_revenue,
)
from incentsim.scenario.loader import load_scenario

from .conftest import BASE, close, compiled, component_over, make_program, run

MONTHLY: dict[str, Any] = {
    "bonuses": {"monthly": {"horizon_weeks": 4, "threshold": 3000.0, "reward": 100.0, "rate": 0.01}}
}


def weekly(*weeks: float) -> np.ndarray:
    """One partner's revenue by week of a 13-week period."""
    row = np.zeros(13)
    row[: len(weeks)] = weeks
    return row


def test_a_13_week_period_has_three_windows_the_last_of_five_weeks() -> None:
    assert window_of_week(np.arange(13), 13, 4).tolist() == [0] * 4 + [1] * 4 + [2] * 5
    revenue = window_revenue(np.arange(13.0)[None, :], 4)
    assert revenue.tolist() == [[0 + 1 + 2 + 3, 4 + 5 + 6 + 7, 8 + 9 + 10 + 11 + 12]]


def test_each_window_reaching_the_threshold_pays_reward_plus_rate() -> None:
    cp = compiled(MONTHLY)
    # Partner 0: windows of 4,000, 2,999 and 3,000 (the 13th week counts in the last window);
    # partner 1: 12,000 in one week of the second window; partner 2: 1,000 a week.
    weeks = np.array(
        [
            weekly(1000, 1000, 1000, 1000, 2999, 0, 0, 0, 0, 0, 0, 1000, 2000),
            weekly(0, 0, 0, 0, 0, 12000),
            weekly(*[1000.0] * 13),
        ]
    )
    _, a = close(cp, weeks.sum(axis=1), week_revenue=weeks)
    # 0: 100 + 40 (first) + 0 + 100 + 30 (last) = 270; 1: 100 + 120 = 220;
    # 2: windows of 4,000, 4,000 and 5,000: 140 + 140 + 150 = 430.
    assert a.components["bonuses"].tolist() == [27000, 22000, 43000]
    # Paid on top of the rebate (partner 2: 13,000 at gold, 4%: 520.00).
    assert a.components["rebate"].tolist()[2] == 52000


def test_the_bonus_is_paid_at_every_close() -> None:
    cp = compiled(MONTHLY)
    levels = (1000.0, 500.0, 1000.0)
    weeks = [np.full((1, 13), level) for level in levels]
    closes = run(
        cp,
        [w.sum(axis=1) for w in weeks],
        per_period=[{"week_revenue": w} for w in weeks],
    )
    # 1,000 a week: 140 + 140 + 150; 500 a week: no window reaches 3,000.
    assert component_over(closes, "bonuses") == [[43000, 0, 43000]]


def test_bonus_pay_sums_the_bonuses_reached() -> None:
    cp = compiled(
        {
            "bonuses": {
                "low": {"horizon_weeks": 4, "threshold": 1000.0, "reward": 10.0},
                "high": {"horizon_weeks": 4, "threshold": 5000.0, "rate": 0.02},
            }
        }
    )
    t = cp.at(np.zeros(3, dtype=np.int64))
    assert bonus_pay(t, np.array([999.0, 1000.0, 5000.0])).tolist() == [0.0, 10.0, 110.0]


def test_without_bonuses_nothing_is_paid_and_no_weeks_are_needed() -> None:
    cp = compiled()
    t = cp.at(np.zeros(2, dtype=np.int64))
    assert assess_bonuses(t, np.zeros((2, 0)), cp.bonus_weeks).tolist() == [0.0, 0.0]
    assert cp.bonus_weeks == 0


def test_metrics_without_weeks_are_refused_when_a_bonus_needs_them() -> None:
    cp = compiled(MONTHLY)
    t = cp.at(np.zeros(1, dtype=np.int64))
    with pytest.raises(ValueError, match="needs the revenue by week of the period"):
        assess_bonuses(t, np.zeros((1, 0)), cp.bonus_weeks)


def test_an_override_changes_a_bonus_by_segment() -> None:
    program = make_program(
        MONTHLY, segment_overrides={"si": {"bonuses": {"monthly": {"reward": 0}}}}
    )
    cp = compiled(program.model_dump(), segments=("si", "other"))
    assert cp.bonus_reward.tolist() == [[0.0], [100.0]]
    assert cp.bonus_weeks == 4


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"bonuses": {"b": {"horizon_weeks": 4, "threshold": 100.0}}},
            "give a reward or a rate above 0",
        ),
        (
            {
                "bonuses": {
                    "a": {"horizon_weeks": 4, "threshold": 1.0, "reward": 1.0},
                    "b": {"horizon_weeks": 2, "threshold": 1.0, "reward": 1.0},
                }
            },
            "bonuses.b.horizon_weeks 2 differs from bonuses.a.horizon_weeks 4",
        ),
        (
            {
                **MONTHLY,
                "segment_overrides": {"s": {"bonuses": {"monthly": {"horizon_weeks": 2}}}},
            },
            "segment_overrides.s.bonuses.monthly.horizon_weeks: a bonus's window length cannot",
        ),
        (
            {
                **MONTHLY,
                "region_overrides": {
                    "r": {"bonuses": {"other": {"horizon_weeks": 4, "threshold": 1, "reward": 1}}}
                },
            },
            r"region_overrides.r.bonuses: \['other'\] not in the program",
        ),
        (
            {"bonuses": {"b": {"horizon_weeks": 0, "threshold": 1.0, "reward": 1.0}}},
            "horizon_weeks",
        ),
    ],
)
def test_the_schema_names_the_field(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Program.model_validate({**BASE, **extra})


def test_a_window_must_fit_twice_in_the_period() -> None:
    program = make_program({"bonuses": {"b": {"horizon_weeks": 7, "threshold": 1, "reward": 1}}})
    assert window_problems(program, 14) == []
    (problem,) = window_problems(program, 13)
    assert problem.startswith("program.bonuses.b.horizon_weeks 7: a window must fit at least twice")
    assert "calendar.weeks_per_period" in problem
    with pytest.raises(ScenarioError, match=r"program.bonuses.b.horizon_weeks 7: a window"):
        load_scenario(
            "scenarios/baseline.yaml",
            ["program.bonuses={b: {horizon_weeks: 7, threshold: 1, reward: 1}}"],
        )
