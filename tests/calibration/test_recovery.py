"""Known constants recovered from synthetic histories (``simulate_history``).

The quick test runs in the default suite on a small history; the slow one checks the issue's
targets over several seeds on 300 partners x 8 quarters (``benchmarks/calibration_recovery.py
--coverage`` prints the same figures over more seeds).
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
    # no back-test, 20 histories for the moments' spread: the estimate and its interval only
    result = calibrate(
        prior, history, reps=10, bootstrap=60, variance_reps=20, backtest_histories=0
    )
    assert result.backtest.empty
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
def test_identified_constants_recovered_and_covered_over_seeds() -> None:
    """Six histories of 300 partners (seeds 101-103 and 116-118 of
    ``benchmarks/calibration_recovery.py --coverage``, ~85 s of CPU each): the 90% intervals
    cover 28 of 30 truths (93%, 95% binomial interval 78-99%; the first version: 14 of 20);
    identified constants pooled within 10% (median 6.4%); churn_base within 20% and
    mdf_claim_rate within 5% in every seed; re-simulated revenue within 5% (median 1.8%). The
    two misses are timing_friction, which the estimator puts 3-67% above the truth in every
    seed (a bias, not noise: a search started at the truth moves up too)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from calibration_recovery import recover  # type: ignore[import-not-found]

    every = pd.concat([recover(300, seed) for seed in (101, 102, 103, 116, 117, 118)])
    for name, bound in (("churn_base", 0.20), ("mdf_claim_rate", 0.05)):
        rows = every[every["constant"] == name]
        assert rows["identified"].all()
        assert (rows["rel_error"].abs() < bound).all()
    shown = every[every["identified"]]
    assert shown["rel_error"].abs().median() < 0.10
    assert every["covered"].sum() >= 26  # of 30; at 90% coverage, 26 or more in 82% of studies
    assert np.abs(every.groupby("seed")["resim_revenue"].first()).median() < 0.05
