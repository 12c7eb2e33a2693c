"""The calibration and its hold-out check on 1 and 2 workers: the same figures.

Slow (~35 s of CPU in this process and as much in the workers, four calibrations of 30
partners); the default suite runs the 2-worker path through ``incentsim calibrate --workers 2``
(``test_calibrate_cli.py``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import incentsim
from incentsim.calibration import calibrate_and_check
from incentsim.calibration.parallel import HOLDOUT_PREFIX
from incentsim.montecarlo.history import simulate_history

SMALL = Path(__file__).resolve().parents[2] / "scenarios" / "small.yaml"


@pytest.mark.slow
def test_two_workers_give_what_one_gives_and_relay_the_progress() -> None:
    sets = ["population.partners=30", "population.recruitment.per_period=0"]
    scenario = incentsim.load_scenario(SMALL, sets)
    # three quarters: two to calibrate on, one held out
    history = simulate_history(scenario, seed=7).transactions
    fourth = pd.Timestamp(scenario.calendar.period_bounds(3)[0])
    history = history[pd.to_datetime(history["date"]) < fourth]
    runs = []
    for workers in (1, 2):
        said: list[tuple[str, int]] = []
        calibration, holdout = calibrate_and_check(
            scenario,
            history,
            1,
            reps=2,
            bootstrap=10,
            passes=1,
            variance_reps=3,
            backtest_histories=2,
            workers=workers,
            progress=lambda message, simulations, said=said: said.append((message, simulations)),
        )
        runs.append((calibration, holdout, said))
    (one, one_holdout, one_said), (two, two_holdout, two_said) = runs
    assert one.constants == two.constants
    pd.testing.assert_frame_equal(one.draws, two.draws)
    pd.testing.assert_frame_equal(one.moments, two.moments)
    pd.testing.assert_frame_equal(one.backtest, two.backtest)
    assert one_holdout is not None
    assert two_holdout is not None
    pd.testing.assert_frame_equal(one_holdout, two_holdout)
    # every message reaches the caller, the hold-out check's prefixed, on either count
    assert sorted(one_said) == sorted(two_said)
    held = [m for m, _ in two_said if m.startswith(HOLDOUT_PREFIX)]
    assert any(m.startswith(HOLDOUT_PREFIX + "prediction") for m in held)
    assert 0 < len(held) < len(two_said)
