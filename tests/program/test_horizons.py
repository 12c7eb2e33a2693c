"""Components on horizons of their own: what the rules pay at each close, what partners expect
them to pay, and the schema's checks (messages naming the field)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from incentsim.program.horizons import expected_horizon_pay, plan_horizons
from incentsim.program.rules import anticipated_true_up, initial_state
from incentsim.program.spec import Program

from .conftest import BASE, compiled, component_over, make_program, run

ANNUAL: dict[str, Any] = {
    "quota": {"amount": 5000.0},
    "accelerators": {
        "annual": {"quota_fraction": 1.0, "multiplier": 2.0, "horizon_periods": 4, "cap": 500.0}
    },
    "pacers": {"pace": {"horizon_periods": 4, "every_periods": 2, "target": 20000.0, "reward": 50}},
}


def test_horizon_components_pay_at_their_own_closes() -> None:
    cp = compiled(ANNUAL)
    # Partner 0 sells 6,000 a quarter; partner 1 3,000 then 8,000s; partner 2 1,500.
    revenues = [[6000.0, 3000.0, 1500.0], [6000.0, 8000.0, 1500.0]] + [[6000.0, 8000.0, 1500.0]] * 6
    closes = run(cp, revenues)
    # Pacer: steps at Q2 and Q4 of each year, on pace at 10,000 and 20,000.
    assert component_over(closes, "pacers") == [
        [0, 5000, 0, 5000, 0, 5000, 0, 5000],
        [0, 5000, 0, 5000, 0, 5000, 0, 5000],
        [0, 0, 0, 0, 0, 0, 0, 0],
    ]
    # Annual accelerator at Q4: 4% x (24,000 - 20,000) = 160 for partner 0; partner 1 year 1:
    # 4% x (27,000 - 20,000) = 280, year 2: 4% x 12,000 = 480; partner 2 below (2% tier).
    acc = np.array(component_over(closes, "accelerators"))
    assert acc[:, [0, 1, 2, 4, 5, 6]].sum() == 0
    assert acc[:, 3].tolist() == [16000, 28000, 0]
    assert acc[:, 7].tolist() == [16000, 48000, 0]


def test_a_horizon_accelerator_cap_is_over_the_horizon() -> None:
    cp = compiled(ANNUAL)
    closes = run(cp, [[30000.0]] * 4)
    # 6% x (120,000 - 20,000) = 6,000, capped at 500.
    assert component_over(closes, "accelerators") == [[0, 0, 0, 50000]]
    assert closes[3].capped.tolist() == [550000]


def test_without_horizon_components_the_state_has_none() -> None:
    cp = compiled()
    assert initial_state(cp, np.zeros(2, dtype=np.int64)).horizons is None
    assert component_over(run(cp, [[6000.0, 0.0]] * 2), "pacers") == [[0, 0], [0, 0]]


def test_expected_pay_is_exact_at_the_horizons_last_close() -> None:
    cp = compiled(ANNUAL)
    group = np.zeros(1, dtype=np.int64)
    state = initial_state(cp, group)
    t = cp.at(group)
    hz = state.horizons
    assert hz is not None
    hz = replace(
        hz,
        acc_revenue=np.array([[18000.0]]),
        acc_quota=np.array([[15000.0]]),
        pacer_revenue=np.array([[14000.0]]),
        pacer_quota=np.array([[15000.0]]),
    )

    def worth(periods: Any) -> Any:
        return np.ones(np.shape(periods))

    rate = np.array([0.04])

    def pay(period: int, revenue: float) -> float:
        plan = plan_horizons(t, hz, period, np.array([5000.0]), np.array([6000.0]), 0.3, worth)
        return float(expected_horizon_pay(t, plan, rate, np.array([revenue]))[0])

    # Last close of the year (period 3): exact, nothing is uncertain.
    # 4% x (24,000 - 20,000) = 160, plus the pacer (20,000 reached) 50.
    assert pay(3, 6000.0) == pytest.approx(210.0)
    # A quarter earlier the year's revenue is uncertain: the expected pay is smooth and rises
    # with this quarter's revenue.
    assert 0 < pay(2, 1000.0) < pay(2, 4000.0)


def test_the_true_up_is_anticipated_from_the_years_revenue() -> None:
    cp = compiled(budget={"true_up": {"enabled": True}})
    group = np.zeros(1, dtype=np.int64)
    state = initial_state(cp, group)
    state = replace(state, period=3, ytd_revenue=np.array([15000.0]), ytd_rebate=np.array([30000]))
    # The year's revenue is 15,000 + 6,000 = 21,000: gold over the year (requirements scaled
    # to the year: 20,000 for gold, 80,000 for platinum), 4% x 21,000 = 840, less the 300 paid
    # and the 240 this quarter pays at gold: 300.
    due, left = anticipated_true_up(
        cp,
        state,
        group,
        np.array([6000.0]),
        np.array([1]),
        np.array([0.0]),
        np.array([5.0]),
        np.array([6000.0]),
        0.3,
        4,
    )
    assert left == 0
    assert due.tolist() == pytest.approx([300.0])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {
                "accelerators": {
                    "a": {
                        "kind": "decelerator",
                        "threshold": 10,
                        "multiplier": 0.5,
                        "horizon_periods": 4,
                    }
                }
            },
            "horizon_periods 4: a decelerator is assessed every period",
        ),
        (
            {"pacers": {"p": {"horizon_periods": 4, "every_periods": 3, "target": 1, "reward": 1}}},
            "every_periods 3 must divide horizon_periods 4",
        ),
        ({"pacers": {"p": {"reward": 1}}}, "give exactly one of 'target' or 'quota_fraction'"),
        (
            {"pacers": {"p": {"quota_fraction": 1.0, "reward": 1}}},
            "pacers.p uses quota_fraction but the program sets no quota",
        ),
        (
            {
                "accelerators": {"a": {"threshold": 10, "multiplier": 2.0}},
                "segment_overrides": {"s": {"accelerators": {"a": {"horizon_periods": 4}}}},
            },
            "segment_overrides.s.accelerators.a.horizon_periods: an override can change",
        ),
        (
            {
                "pacers": {"p": {"target": 1, "reward": 1}},
                "region_overrides": {"r": {"pacers": {"q": {"target": 1, "reward": 1}}}},
            },
            r"region_overrides.r.pacers: \['q'\] not in the program",
        ),
    ],
)
def test_the_schema_names_the_field(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Program.model_validate({**BASE, **extra})


def test_an_override_may_change_a_horizons_length() -> None:
    program = make_program(
        ANNUAL, segment_overrides={"si": {"accelerators": {"annual": {"horizon_periods": 2}}}}
    )
    cp = compiled(program.model_dump(), segments=("si", "other"))
    assert cp.hacc_horizon.tolist() == [[2], [4]]
    assert cp.accelerator_names == ()
    assert cp.horizon_accelerator_names == ("annual",)
