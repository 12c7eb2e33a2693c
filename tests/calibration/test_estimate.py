"""The identification verdicts of :mod:`incentsim.calibration.estimate`, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from incentsim.calibration.constants import ESTIMATED
from incentsim.calibration.estimate import IDENTIFIED_WIDTH, _covariance, _fits, _identify

NAMES = [e.name for e in ESTIMATED]


def jacobian() -> np.ndarray:
    """Six moments (unit sampling variance) and the five constants: churn moves its own
    moment strongly; friction and noise move the same two moments almost alike; stuffing moves
    one moment a little; the MDF claim rate and the last two moments move nothing."""
    jac = np.zeros((6, len(NAMES)))
    jac[0, NAMES.index("churn_base")] = 40.0
    jac[1:3, NAMES.index("timing_friction")] = [30.0, 20.0]
    jac[1:3, NAMES.index("forecast_noise")] = [30.0, 20.3]
    jac[3, NAMES.index("stuffing_return_rate")] = 2.0
    return jac


def test_one_constant_not_told_apart_leaves_the_others_estimated() -> None:
    jac = jacobian()
    data, simulated = np.eye(6), np.eye(6)
    covariance, width, reasons = _identify(jac, data, simulated, reps=25)
    why = dict(zip(NAMES, reasons, strict=True))
    # churn, on its own moment, keeps the width it has alone: 2 z / 40 * sqrt(1 + 1/25)
    assert why["churn_base"] == ""
    assert width[NAMES.index("churn_base")] == pytest.approx(2 * 1.6449 / 40 * 1.04**0.5, 1e-3)
    # of the two the history hardly tells apart, one is held at its prior, the other estimated
    pair = ("timing_friction", "forecast_noise")
    assert sorted(bool(why[n]) for n in pair) == [False, True]
    dropped = next(n for n in pair if why[n])
    kept = next(n for n in pair if not why[n])
    assert f"tells it apart from {kept}" in why[dropped]
    assert width[NAMES.index(kept)] <= IDENTIFIED_WIDTH
    assert "even estimated alone" in why["stuffing_return_rate"]
    assert why["mdf_claim_rate"].startswith("no moment")
    # the covariance the draws use: the identified constants', the others held
    held = [NAMES.index(n) for n in (dropped, "stuffing_return_rate", "mdf_claim_rate")]
    assert not covariance[held].any()
    assert not covariance[:, held].any()
    joint = _covariance(jac, data, simulated, 25)
    # estimated all together, the pair's intervals would both be far too wide
    assert 2 * 1.6449 * np.sqrt(joint[NAMES.index(kept), NAMES.index(kept)]) > IDENTIFIED_WIDTH


def test_fits_keep_identified_estimates_and_say_why_others_are_at_priors() -> None:
    jac = jacobian()
    _, width, reasons = _identify(jac, np.eye(6), np.eye(6), reps=25)
    units = np.full(len(NAMES), 0.5)
    priors = np.array([e.from_units(0.2) for e in ESTIMATED])
    fits = {f.name: f for f in _fits(units, width, reasons, priors, jac)}
    churn = fits["churn_base"]
    assert churn.identified
    assert churn.value == churn.estimate == ESTIMATED[0].from_units(0.5)
    assert churn.low < churn.estimate < churn.high
    assert sum(not f.identified for f in fits.values()) == 3
    for f in fits.values():
        if not f.identified:
            assert f.value == f.prior
            assert f.reason
    mdf = fits["mdf_claim_rate"]
    assert "mdf_claims_share" in mdf.reason
    assert mdf.estimate == mdf.prior
