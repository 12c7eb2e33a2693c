"""The ``calibration:`` block of a calibrated scenario: what ``incentsim calibrate`` found.

It records where the scenario's constants came from (the history's file and hash, the moments
matched and how well, the estimates with their intervals, which constants the history does not
identify) and names the parameter draws that ``incentsim run --draws`` samples. ``validate``
prints its summary and reports show it; nothing in it changes a simulation by itself (the
calibrated values are in ``behaviour`` and ``population``, the draws are used on request).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from incentsim.strict import Strict


class ConstantRecord(Strict):
    """One estimated behaviour constant: prior, estimate, 90% interval, and whether the history
    identifies it (the scenario then uses the estimate, otherwise the prior)."""

    prior: float
    estimate: float
    low: float
    high: float
    identified: bool
    evidence: str = ""
    reason: str = ""


class MomentRecord(Strict):
    """A moment of the history and of the calibrated model (``None``: no data for it)."""

    observed: float | None = None
    simulated: float | None = None
    matched: bool = False


class EstimateRecord(Strict):
    """A figure estimated per segment or region (trend, seasonality, deal size, MDF take-up,
    win rate, deal cycle): its 90% interval, whether the history identifies it, whether the
    calibrated scenario holds it, and why not (``None``: no estimate)."""

    quantity: str
    group: str
    estimate: float | None = None
    low: float | None = None
    high: float | None = None
    prior: float | None = None
    identified: bool = False
    in_scenario: bool = False
    reason: str = ""


class BacktestRecord(Strict):
    """A period's (or the total's) revenue and program cost: the history's (cost replayed by the
    payout rules under the program in force) against the calibrated simulation's median and
    5-95% range."""

    revenue: float
    revenue_predicted: float
    revenue_low: float
    revenue_high: float
    cost: float
    cost_predicted: float
    cost_low: float
    cost_high: float


class HoldoutRecord(Strict):
    """A hold-out prediction: the model calibrated without the last periods predicts them."""

    actual: float
    predicted: float
    low: float
    high: float


class CalibrationRecord(Strict):
    """Where a calibrated scenario's constants came from.

    Attributes
    ----------
    history
        The transactions file calibrated to (as given on the command line).
    data_hash
        ``sha256:<hex>`` of that file's bytes.
    partners, periods
        Partners present at the history's start and periods covered.
    method
        How the constants were estimated.
    constants
        The estimated constants.
    not_identified
        Constants the history does not identify (kept at their priors): name -> reason and
        range.
    moments
        Moments of the history and of the calibrated model (pooled, and ``name:segment``).
    capacity
        Per segment: lognormal and Pareto fits of the fitted capacities, their log-likelihoods
        and the ``best`` of the two.
    draws
        The parameter-draws file (relative to this scenario file), if written.
    estimates
        Per segment and region: trend, seasonality, deal size, MDF take-up, win rate and deal
        cycle, identified or not and why.
    backtest
        Revenue and program cost per period (and ``total``), history against simulation.
    holdout
        Predicted against actual over the held-out last periods.
    """

    history: str
    data_hash: str
    partners: Annotated[int, Field(ge=0)]
    periods: Annotated[int, Field(ge=1)]
    method: str = "simulated moments"
    constants: dict[str, ConstantRecord] = Field(default_factory=dict)
    not_identified: dict[str, str] = Field(default_factory=dict)
    moments: dict[str, MomentRecord] = Field(default_factory=dict)
    capacity: dict[str, dict[str, float | str]] = Field(default_factory=dict)
    draws: str | None = None
    estimates: dict[str, EstimateRecord] = Field(default_factory=dict)
    backtest: dict[str, BacktestRecord] = Field(default_factory=dict)
    holdout: dict[str, HoldoutRecord] = Field(default_factory=dict)

    def summary(self) -> str:
        """One line: the history, its hash and the constants estimated."""
        found = ", ".join(
            f"{name} {c.estimate:.4g} [{c.low:.4g}, {c.high:.4g}]"
            for name, c in self.constants.items()
            if c.identified
        )
        weak = [name for name, c in self.constants.items() if not c.identified]
        text = (
            f"calibrated to {self.history} ({self.data_hash[:19]}..., {self.partners} partners, "
            f"{self.periods} periods): {found or 'no constant identified'}"
        )
        if weak:
            text += f"; at priors (not identified): {', '.join(weak)}"
        return text + f"; {len(self.not_identified)} other constants not identified"
