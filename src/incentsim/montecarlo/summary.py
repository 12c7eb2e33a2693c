"""Summaries of a Monte Carlo run: distributions of outcomes, bands of trajectories.

For each outcome (one value per replication): the number of replications, mean, standard
deviation, P5/P50/P95 (the *spread* of outcomes across replications) and a 95% confidence
interval on the *mean* (Student t), which narrows as replications are added and says how well
the run has pinned the expected value down, not how much outcomes vary. Probability outcomes
(0/1 per replication, such as ``budget_exceeded``) get a Wilson interval on the probability.

For each trajectory (one value per replication and period): per period mean and P5/P50/P95.

>>> import numpy as np, pandas as pd
>>> frame = pd.DataFrame({"incentive_cost": [90.0, 100.0, 110.0], "budget_exceeded": [0, 1, 0]})
>>> s = summarise(frame, {}, scenario="demo", seed=1)
>>> round(s.outcomes["incentive_cost"].mean, 6), s.outcomes["budget_exceeded"].probability
(100.0, True)
"""

from __future__ import annotations

import math
import statistics
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from incentsim.engine.outcomes import Unit, describe, shown_outcomes
from incentsim.montecarlo.seeding import seed_label

CONFIDENCE = 0.95


def is_probability_outcome(name: str) -> bool:
    """Whether an outcome is a 0/1 event summarised as a probability (its catalogue unit)."""
    return describe(name).unit == "probability"


def outcome_unit(name: str) -> Unit:
    """The unit an outcome or trajectory is shown in, from the outcome catalogue.

    >>> [outcome_unit(n) for n in ("incentive_cost", "cost_to_revenue", "tier_share/gold")]
    ['money', 'share', 'share']
    """
    return describe(name).unit


@dataclass(frozen=True)
class OutcomeStats:
    """The distribution of one outcome over replications.

    ``ci_low``/``ci_high`` bound the *mean* (for a probability outcome, the probability), not
    individual replications; ``p5``/``p95`` show the spread. ``n`` counts replications with a
    value; ``missing`` those without (NaN).
    """

    name: str
    n: int
    missing: int
    mean: float
    sd: float
    p5: float
    p50: float
    p95: float
    ci_low: float
    ci_high: float
    probability: bool = False


@dataclass(frozen=True)
class TrajectoryBand:
    """Per period (or week) mean and P5/P50/P95 of one trajectory over replications, from 0."""

    name: str
    mean: np.ndarray
    p5: np.ndarray
    p50: np.ndarray
    p95: np.ndarray

    @property
    def n_periods(self) -> int:
        """Periods (weeks for a weekly trajectory)."""
        return len(self.mean)

    def to_frame(self) -> pd.DataFrame:
        """One row per period; columns mean, p5, p50, p95."""
        frame = pd.DataFrame({"mean": self.mean, "p5": self.p5, "p50": self.p50, "p95": self.p95})
        frame.index.name = "period"
        return frame


@dataclass(frozen=True)
class Summary:
    """What a Monte Carlo run found: outcome distributions and trajectory bands."""

    scenario: str
    replications: int
    seed: int | dict[str, Any]
    outcomes: dict[str, OutcomeStats]
    trajectories: dict[str, TrajectoryBand] = field(default_factory=dict)
    block_size: int | None = None
    currency: str = "USD"
    confidence: float = CONFIDENCE

    def to_frame(self) -> pd.DataFrame:
        """One row per outcome; columns n, missing, mean, sd, p5, p50, p95, ci_low, ci_high,
        probability."""
        rows = [asdict(stats_) for stats_ in self.outcomes.values()]
        columns = [f for f in OutcomeStats.__dataclass_fields__ if f != "name"]
        frame = pd.DataFrame(rows, columns=["name", *columns]).set_index("name")
        frame.index.name = "outcome"
        return frame

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dictionary (``from_dict`` reads it back)."""
        return {
            "scenario": self.scenario,
            "replications": self.replications,
            "seed": self.seed,
            "block_size": self.block_size,
            "currency": self.currency,
            "confidence": self.confidence,
            "outcomes": {
                name: {k: _jsonable(v) for k, v in asdict(s).items() if k != "name"}
                for name, s in self.outcomes.items()
            },
            "trajectories": {
                name: {k: [_jsonable(x) for x in getattr(band, k)] for k in _BAND_FIELDS}
                for name, band in self.trajectories.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Summary:
        """The summary ``to_dict`` wrote."""
        outcomes = {
            name: OutcomeStats(name=name, **{k: _number(v) for k, v in values.items()})
            for name, values in data["outcomes"].items()
        }
        trajectories = {
            name: TrajectoryBand(
                name, **{k: np.array([_number(x) for x in values[k]]) for k in _BAND_FIELDS}
            )
            for name, values in data.get("trajectories", {}).items()
        }
        return cls(
            scenario=data["scenario"],
            replications=data["replications"],
            seed=data["seed"],
            outcomes=outcomes,
            trajectories=trajectories,
            block_size=data.get("block_size"),
            currency=data.get("currency", "USD"),
            confidence=data.get("confidence", CONFIDENCE),
        )

    def __str__(self) -> str:
        return format_table(self)


_BAND_FIELDS = ("mean", "p5", "p50", "p95")


def mean_interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Student-t confidence interval on the mean of ``values`` (NaN with fewer than 2)."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n < 2:
        return math.nan, math.nan
    # SciPy loads on first use, so reading and validating scenarios stays quick
    from scipy.special import stdtrit  # the t quantile; scipy.stats is slow to import

    mean = float(np.mean(values))
    t = float(stdtrit(n - 1, 0.5 + confidence / 2))
    half = t * float(np.std(values, ddof=1)) / math.sqrt(n)
    return mean - half, mean + half


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval on a probability from ``successes`` out of ``n``.

    >>> tuple(round(x, 4) for x in wilson_interval(0, 20))
    (0.0, 0.1611)
    """
    if n < 1:
        return math.nan, math.nan
    z = statistics.NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def describe_outcome(name: str, values: np.ndarray, confidence: float = CONFIDENCE) -> OutcomeStats:
    """The distribution of one outcome's values (NaNs are counted as missing)."""
    values = np.asarray(values, dtype=np.float64)
    present = values[~np.isnan(values)]
    n = len(present)
    if n == 0:
        nan = math.nan
        return OutcomeStats(name, 0, len(values), nan, nan, nan, nan, nan, nan, nan)
    p5, p50, p95 = (float(q) for q in np.percentile(present, [5, 50, 95]))
    mean = float(np.mean(present))
    sd = float(np.std(present, ddof=1)) if n > 1 else math.nan
    probability = is_probability_outcome(name) and bool(np.all((present == 0) | (present == 1)))
    if probability:
        low, high = wilson_interval(int(np.sum(present)), n, confidence)
    else:
        entry = describe(name)
        low, high = (entry.clip(x) for x in mean_interval(present, confidence))
    return OutcomeStats(
        name, n, len(values) - n, mean, sd, p5, p50, p95, low, high, probability=probability
    )


def trajectory_band(name: str, matrix: np.ndarray) -> TrajectoryBand:
    """Per period mean and P5/P50/P95 of a (replications, periods) matrix, ignoring NaNs."""
    matrix = np.asarray(matrix, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN periods give NaN
        p5, p50, p95 = np.nanpercentile(matrix, [5, 50, 95], axis=0)
        mean = np.nanmean(matrix, axis=0)
    return TrajectoryBand(name, mean, p5, p50, p95)


def summarise(
    outcomes: pd.DataFrame,
    trajectories: Mapping[str, np.ndarray] | Iterable[tuple[str, np.ndarray]],
    *,
    scenario: str,
    seed: int | dict[str, Any],
    block_size: int | None = None,
    currency: str = "USD",
    confidence: float = CONFIDENCE,
) -> Summary:
    """Summarise a run.

    Parameters
    ----------
    outcomes
        One row per replication, one column per outcome (sorted by replication, so the result
        does not depend on the order blocks finished in).
    trajectories
        ``name -> (replications, periods)`` matrices, or ``(name, matrix)`` pairs; pairs let the
        caller load one trajectory at a time.
    """
    pairs = trajectories.items() if isinstance(trajectories, Mapping) else trajectories
    return Summary(
        scenario=scenario,
        replications=len(outcomes),
        seed=seed,
        outcomes={
            str(name): describe_outcome(str(name), outcomes[name].to_numpy(), confidence)
            for name in outcomes.columns
        },
        trajectories={name: trajectory_band(name, matrix) for name, matrix in pairs},
        block_size=block_size,
        currency=currency,
        confidence=confidence,
    )


# --- the terminal table ----------------------------------------------------------------------


def format_table(
    summary: Summary,
    units: Mapping[str, Unit] | None = None,
    constructs: Iterable[str] | None = None,
) -> str:
    """A fixed-width table of the outcomes for the terminal.

    Money has thousands separators, shares and probabilities are shown as percentages.
    ``units`` overrides the catalogue's unit for some outcomes. With ``constructs`` (the
    program constructs in use, :func:`~incentsim.engine.outcomes.constructs_in_use`), outcomes
    of constructs the program does not use are left out and counted in a note.
    """
    units = dict(units or {})
    level = f"{summary.confidence:.0%}"
    header = ["outcome", "mean", "sd", "P5", "P50", "P95", f"{level} CI of mean"]
    rows = [header]
    shown = shown_outcomes(summary.outcomes, constructs)
    for name in shown:
        s = summary.outcomes[name]
        unit = units.get(name) or ("probability" if s.probability else outcome_unit(name))
        suffix = _unit_label(unit, summary.currency)
        label = f"{name} ({suffix})" if suffix else name
        if s.probability:
            rows.append([label, _fmt(s.mean, unit), "", "", "", "", _ci(s, unit)])
            continue
        decimals = _decimals(unit, (s.mean, s.p5, s.p95))
        cells = (s.mean, s.sd, s.p5, s.p50, s.p95)
        rows.append([label, *(_fmt(v, unit, decimals) for v in cells), _ci(s, unit, decimals)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        f"{summary.scenario}: {summary.replications:,} replications, "
        f"seed {seed_label(summary.seed)}"
        + (f", block size {summary.block_size}" if summary.block_size else ""),
        "",
    ]
    for i, row in enumerate(rows):
        padded = [cell.rjust(width) for cell, width in zip(row, widths, strict=True)]
        padded[0] = row[0].ljust(widths[0])
        lines.append("  ".join(padded).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    missing = {name: s.missing for name, s in summary.outcomes.items() if s.missing}
    if missing:
        listed = ", ".join(f"{name} ({count})" for name, count in missing.items())
        lines.append(f"Replications without a value, left out: {listed}.")
    lines.append(
        f"Intervals are {level} confidence intervals on the mean (Wilson, on the probability, for "
        "0/1 outcomes), not the spread of outcomes: P5-P95 shows the spread. They stay within "
        "each outcome's bounds (shares within 0-100%, amounts that cannot be negative at 0)."
    )
    left_out = len(summary.outcomes) - len(shown)
    if left_out:
        lines.insert(
            -1,
            f"{left_out} outcomes of constructs the program does not use are left out "
            "(all are in summary.json).",
        )
    return "\n".join(lines)


def _unit_label(unit: Unit, currency: str) -> str:
    labels = {"money": currency, "share": "%", "probability": "prob.", "index": "index"}
    return labels.get(unit, "score 0-5" if unit == "score" else "")


def _decimals(unit: Unit, values: Iterable[float]) -> int:
    largest = max((abs(v) for v in values if not math.isnan(v)), default=0.0)
    if unit == "money":
        return 0 if largest >= 100 or largest == 0 else 2
    if unit == "count":
        return 0 if largest >= 1000 or largest == 0 else 1
    if unit == "number":
        return 0 if largest >= 1000 else 3
    if unit == "score":
        return 2
    return 3


def _fmt(value: float, unit: Unit, decimals: int | None = None) -> str:
    if math.isnan(value):
        return "-"
    if unit in ("share", "probability"):
        return f"{100 * value:.1f}%"
    if decimals is None:
        decimals = _decimals(unit, (value,))
    return f"{value:,.{decimals}f}"


def _ci(s: OutcomeStats, unit: Unit, decimals: int | None = None) -> str:
    if math.isnan(s.ci_low):
        return "-"
    return f"[{_fmt(s.ci_low, unit, decimals)}, {_fmt(s.ci_high, unit, decimals)}]"


def _jsonable(value: Any) -> Any:
    """Floats as JSON can hold them: NaN and infinities become None."""
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    return value


def _number(value: Any) -> Any:
    return math.nan if value is None else value
