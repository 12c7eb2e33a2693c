"""Calibrate a scenario to a designer's own transactions history (``incentsim calibrate``).

Above :mod:`incentsim.montecarlo` in the layers: it simulates the model with candidate
behaviour constants and matches its moments to the history's.

* :mod:`~incentsim.calibration.observed`: a history or a simulation as the same arrays;
* :mod:`~incentsim.calibration.moments`: the moments computed from them;
* :mod:`~incentsim.calibration.constants`: which constants are estimated, which are not, why;
* :mod:`~incentsim.calibration.estimate`: :func:`calibrate` (simulated moments, sandwich
  intervals);
* :mod:`~incentsim.calibration.segments`: trend, seasonality, deal size and MDF take-up per
  segment and region, and why win rate and deal cycle are not identified;
* :mod:`~incentsim.calibration.backtest`: the old program's cost replayed by the payout rules
  against the calibrated simulation's;
* :mod:`~incentsim.calibration.holdout`: :func:`holdout_check`;
* :mod:`~incentsim.calibration.parallel`: :func:`calibrate_and_check`, the two side by side;
* :mod:`~incentsim.calibration.output`: :func:`write_calibration`;
* :mod:`~incentsim.calibration.draws`: parameter draws for ``incentsim run --draws``.
"""

from incentsim.calibration.draws import DrawnBehaviour, read_draws
from incentsim.calibration.estimate import Calibration, ConstantFit, calibrate
from incentsim.calibration.holdout import holdout_check
from incentsim.calibration.output import write_calibration
from incentsim.calibration.parallel import calibrate_and_check

__all__ = [
    "Calibration",
    "ConstantFit",
    "DrawnBehaviour",
    "calibrate",
    "calibrate_and_check",
    "holdout_check",
    "read_draws",
    "write_calibration",
]
