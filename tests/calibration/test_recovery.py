"""Known constants recovered from synthetic histories (``simulate_history``).

The quick test runs in the default suite on a small history; the slow one checks the issue's
targets over several seeds on 1,000 partners x 8 quarters (``benchmarks/calibration_recovery.py``
prints the same figures).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import incentsim
from incentsim.calibration import calibrate
from incentsim.montecarlo.history import simulate_history

ROOT = Path(__file__).resolve().parents[2]


def test_churn_is_recovered_and_effort_is_not_identified() -> None:
    sets = ["population.partners=300", "population.recruitment.per_period=0"]
    file = ROOT / "scenarios" / "small.yaml"
    truth = incentsim.load_scenario(file, [*sets, "behaviour.churn_base=0.05"])
    history = simulate_history(truth, seed=3).transactions
    prior = incentsim.load_scenario(file, sets)
    result = calibrate(prior, history, reps=10, bootstrap=60)
    churn = next(c for c in result.constants if c.name == "churn_base")
    assert churn.prior == 0.02
    assert churn.identified
    assert abs(churn.estimate / 0.05 - 1.0) < 0.2
    assert churn.low < churn.estimate < churn.high
    assert result.scenario.behaviour.churn_base == churn.estimate
    assert "effort_elasticity" in result.unidentified
    # weakly identified constants stay at their priors in the scenario and in every draw
    for c in result.constants:
        if not c.identified:
            assert getattr(result.scenario.behaviour, c.name) == c.prior
            assert (result.draws[c.name] == c.prior).all()
    assert result.draws["churn_base"].std() > 0


@pytest.mark.slow
def test_identified_constants_recovered_within_ten_percent_over_seeds() -> None:
    """Seeds 1-3 (``benchmarks/calibration_recovery.py``): churn_base within 10% in every seed
    (errors -9%, +7%, +0%), the identified constants pooled within 10% (median 9%); the 90%
    intervals cover 8 of 12 truths, below nominal: timing_friction and forecast_noise are off by
    15-41% in one seed in three (a shortfall of the local bootstrap, not hidden here)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from calibration_recovery import recover  # type: ignore[import-not-found]

    every = pd.concat([recover(1000, seed) for seed in (1, 2, 3)])
    churn = every[every["constant"] == "churn_base"]
    assert churn["identified"].all()
    assert (churn["rel_error"].abs() < 0.10).all()
    assert churn["covered"].all()
    shown = every[every["identified"]]
    assert shown["rel_error"].abs().median() < 0.10
    assert every["covered"].sum() >= 8
    assert np.abs(every["resim_revenue"]).median() < 0.05
