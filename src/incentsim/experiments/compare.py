"""Compare design variants over common random numbers: paired differences and verdicts.

Every variant is simulated with the same root seed, the same replication count and the same
seed blocks (:mod:`incentsim.montecarlo.seeding`), so replication ``i`` of each variant sees
the same partners, the same market path and the same partner draws as far as the designs let
them coincide (*common random numbers*). The difference between two variants is then taken
replication by replication, which removes most of the noise the variants share: a comparison
of a variant with itself gives differences of exactly zero.

For each outcome and each variant against the first one (the reference):

- the mean paired difference (variant minus reference), its standard deviation and a Student-t
  confidence interval (95% by default);
- a verdict: ``higher`` or ``lower`` when the interval excludes zero, ``identical`` when every
  replication gave the same value, else ``not distinguishable`` at this replication count;
  with, from the outcome catalogue's directions, whether that is better or worse for the
  designer (lower cost is better, higher revenue is better...);
- the replications that would be needed to tell the variants apart with 80% power at the 5%
  level, ``n = ((z_0.975 + z_0.8) * sd / |mean|)^2`` (``None``, "not estimable", when the mean
  difference is zero).

::

    from incentsim.experiments import compare
    result = compare(["scenarios/baseline.yaml", "scenarios/variant_richer_rebates.yaml"])
    print(result)                              # the difference table with verdicts
    result.to_frame()                          # one row per variant x outcome
    result.plot_differences()
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Unpack

import numpy as np
import pandas as pd

import incentsim
from incentsim.engine.outcomes import KEY_OUTCOMES, constructs_in_use, describe, shown_outcomes
from incentsim.errors import IncentsimError
from incentsim.montecarlo import charts
from incentsim.montecarlo.evaluator import Evaluator, evaluator_for, variant_folders
from incentsim.montecarlo.options import RunKeywords, RunOptions
from incentsim.montecarlo.plan import RunPlan
from incentsim.montecarlo.seeding import seed_label
from incentsim.montecarlo.summary import outcome_unit
from incentsim.scenario.loader import load_scenario
from incentsim.scenario.model import Scenario

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from incentsim.montecarlo import MonteCarloResult
    from incentsim.montecarlo.seeding import SeedLike

CONFIDENCE = 0.95
POWER = 0.8

#: Beyond this many replications a difference is reported as not estimable.
MAX_REPS_NEEDED = 10**12

Verdict = Literal["higher", "lower", "not distinguishable", "identical"]
Assessment = Literal["better", "worse", "neutral"]

_Z = statistics.NormalDist()

__all__ = [
    "KEY_OUTCOMES",
    "Comparison",
    "Difference",
    "ExperimentError",
    "compare",
    "format_value",
    "frame_columns",
    "load_variants",
    "outcome_direction",
    "paired_difference",
    "replications_needed",
    "run_variants",
    "setting_differences",
    "text_columns",
    "variant_folders",
    "variant_labels",
]


class ExperimentError(IncentsimError):
    """An experiment asked for in a way that cannot run (too few variants, a bad limit...)."""


def outcome_direction(name: str) -> int:
    """+1 if a higher value is better for the designer, -1 if lower is better, 0 if neither
    (from the outcome catalogue, :mod:`incentsim.engine.outcomes`)."""
    return describe(name).direction


def replications_needed(
    mean: float, sd: float, confidence: float = CONFIDENCE, power: float = POWER
) -> int | None:
    """Paired replications to detect a mean difference ``mean`` with ``power``.

    ``n = ((z_{(1+confidence)/2} + z_power) * sd / |mean|)^2``, at least 2; ``None`` when the
    difference is zero, the standard deviation unknown or ``n`` above :data:`MAX_REPS_NEEDED`
    ("not estimable": for practical purposes no difference).

    >>> replications_needed(1.0, 2.0)
    32
    >>> replications_needed(0.0, 1.0) is None
    True
    """
    if not math.isfinite(mean) or not math.isfinite(sd) or mean == 0.0:
        return None
    z = _Z.inv_cdf(0.5 + confidence / 2) + _Z.inv_cdf(power)
    needed = (z * sd / abs(mean)) ** 2
    return max(2, math.ceil(needed)) if needed <= MAX_REPS_NEEDED else None


@dataclass(frozen=True)
class Difference:
    """The paired difference of one outcome: ``variant - reference``, replication by replication.

    ``n`` counts the replications where both have a value. ``verdict`` says whether the
    interval excludes zero; ``assessment`` whether that is better or worse for the designer
    (``neutral`` for outcomes with no better side, and when not distinguishable).
    ``reps_needed`` is ``None`` when not estimable.
    """

    variant: str
    reference: str
    outcome: str
    n: int
    reference_mean: float
    variant_mean: float
    mean: float
    sd: float
    ci_low: float
    ci_high: float
    verdict: Verdict
    assessment: Assessment
    reps_needed: int | None
    confidence: float = CONFIDENCE

    @property
    def distinguishable(self) -> bool:
        return self.verdict in ("higher", "lower")

    @property
    def relative(self) -> float:
        """The mean difference as a share of the reference mean (NaN when that is 0)."""
        if not self.reference_mean or not math.isfinite(self.reference_mean):
            return math.nan
        return self.mean / abs(self.reference_mean)

    @property
    def reps_needed_text(self) -> str:
        return "not estimable" if self.reps_needed is None else f"{self.reps_needed:,}"

    def describe(self) -> str:
        """``higher (worse)``, ``lower (better)``, ``higher``, ``identical`` or ``not
        distinguishable at N replications``."""
        if self.verdict == "identical":
            return "identical in every replication"
        if not self.distinguishable:
            return f"not distinguishable at {self.n:,} replications"
        if self.assessment == "neutral":
            return self.verdict
        return f"{self.verdict} ({self.assessment})"


def paired_difference(
    outcome: str,
    variant_values: np.ndarray | pd.Series,
    reference_values: np.ndarray | pd.Series,
    *,
    variant: str = "variant",
    reference: str = "reference",
    confidence: float = CONFIDENCE,
    power: float = POWER,
) -> Difference:
    """The paired difference of one outcome between two runs over the same replications.

    Replications where either value is missing (NaN) are left out. Differences, and a mean
    difference, smaller than ``1e-12`` times the values' scale count as zero (rounding noise).
    The interval stays within the outcome's range (a share's within -100 to +100 points).
    """
    a = np.asarray(variant_values, dtype=np.float64)
    b = np.asarray(reference_values, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"outcome '{outcome}': {a.shape} values against {b.shape}")
    both = ~(np.isnan(a) | np.isnan(b))
    a, b = a[both], b[both]
    n = len(a)
    diff = a - b
    scale = max(float(np.max(np.abs(b), initial=0.0)), float(np.max(np.abs(a), initial=0.0)))
    diff[np.abs(diff) <= 1e-12 * scale] = 0.0
    nan = math.nan
    mean = float(np.mean(diff)) if n else nan
    sd = float(np.std(diff, ddof=1)) if n > 1 else nan
    if abs(mean) <= 1e-12 * scale:  # differences that cancel out, up to rounding
        mean = 0.0
    if n > 1:
        from scipy.special import stdtrit  # the t quantile; scipy.stats is slow to import

        half = float(stdtrit(n - 1, 0.5 + confidence / 2)) * sd / math.sqrt(n)
        low, high = mean - half, mean + half
    else:
        low = high = nan
    span = describe(outcome).high - describe(outcome).low
    if math.isfinite(span):  # a difference cannot exceed the outcome's range (100 pp a share)
        low, high = max(low, -span), min(high, span)
    verdict: Verdict = "not distinguishable"
    if n and not np.any(diff):
        verdict = "identical"
    elif low > 0:
        verdict = "higher"
    elif high < 0:
        verdict = "lower"
    direction = outcome_direction(outcome)
    assessment: Assessment = "neutral"
    if verdict in ("higher", "lower") and direction:
        up = verdict == "higher"
        assessment = "better" if up == (direction > 0) else "worse"
    return Difference(
        variant=variant,
        reference=reference,
        outcome=outcome,
        n=n,
        reference_mean=float(np.mean(b)) if n else nan,
        variant_mean=float(np.mean(a)) if n else nan,
        mean=mean,
        sd=sd,
        ci_low=low,
        ci_high=high,
        verdict=verdict,
        assessment=assessment,
        reps_needed=replications_needed(mean, sd, confidence, power),
        confidence=confidence,
    )


class Comparison:
    """Variants simulated over common random numbers and their paired differences.

    Attributes
    ----------
    labels
        The variants' labels, the reference (first variant) first.
    results
        ``label -> MonteCarloResult``.
    scenarios
        ``label -> Scenario``, as simulated.
    seed, replications
        The root seed (as :func:`~incentsim.montecarlo.seeding.describe_seed` gives it) and
        the replications every variant ran.
    differences
        One :class:`Difference` per variant (other than the reference) and outcome.
    notes
        Things a reader should know (variants whose own seed or replication count was replaced
        by the common ones).
    warning
        Set when the variants simulate different populations or calendars (allowed with
        ``allow_different_populations``): the table's and the report's first line.
    """

    def __init__(
        self,
        results: Mapping[str, MonteCarloResult],
        *,
        confidence: float = CONFIDENCE,
        power: float = POWER,
        notes: Sequence[str] = (),
        out_dir: Path | None = None,
        warning: str | None = None,
    ) -> None:
        if len(results) < 2:
            raise ExperimentError("a comparison needs at least two variants")
        self.results = dict(results)
        self.labels = list(self.results)
        self.reference = self.labels[0]
        first = self.results[self.reference]
        self.seed = first.manifest["seed"]
        self.replications = first.replications
        self.confidence = confidence
        self.power = power
        self.notes = list(notes)
        self.out_dir = out_dir
        self.warning = warning
        for label, result in self.results.items():
            if result.manifest.get("seed") != self.seed:
                raise ExperimentError(
                    f"variant '{label}' ran with seed {result.manifest.get('seed')}, not "
                    f"{self.seed}: paired differences need common random numbers"
                )
            if result.manifest.get("block_size") != first.manifest.get("block_size"):
                raise ExperimentError(f"variant '{label}' ran with a different block size")
            if not result.outcomes.index.equals(first.outcomes.index):
                raise ExperimentError(f"variant '{label}' ran other replications")
        self.differences = [
            paired_difference(
                name,
                result.outcomes[name].to_numpy(),
                first.outcomes[name].to_numpy(),
                variant=label,
                reference=self.reference,
                confidence=confidence,
                power=power,
            )
            for label, result in self.results.items()
            if label != self.reference
            for name in _ordered_outcomes(
                [n for n in result.outcomes.columns if n in first.outcomes.columns]
            )
        ]

    # --- data ------------------------------------------------------------------------------------

    @property
    def variants(self) -> list[str]:
        """The labels other than the reference."""
        return self.labels[1:]

    @property
    def scenarios(self) -> dict[str, Scenario]:
        return {label: result.scenario for label, result in self.results.items()}

    @property
    def outcome_names(self) -> list[str]:
        return list(dict.fromkeys(d.outcome for d in self.differences))

    def difference(self, variant: str, outcome: str) -> Difference:
        """The difference of one outcome for one variant."""
        for d in self.differences:
            if d.variant == variant and d.outcome == outcome:
                return d
        raise KeyError(f"no difference for variant '{variant}' and outcome '{outcome}'")

    def to_frame(self) -> pd.DataFrame:
        """One row per variant x outcome: means, paired difference, CI, verdict, assessment,
        replications needed (empty when not estimable)."""
        rows = []
        for d in self.differences:
            row = asdict(d)
            row["relative"] = d.relative
            row["verdict_text"] = d.describe()
            rows.append(row)
        frame = pd.DataFrame(rows)
        frame["reps_needed"] = frame["reps_needed"].astype("Int64")
        return frame.drop(columns="confidence")

    def means(self) -> pd.DataFrame:
        """Mean of every outcome (rows) for every variant (columns)."""
        return pd.DataFrame(
            {label: r.outcomes[self.outcome_names].mean() for label, r in self.results.items()}
        ).rename_axis("outcome")

    def identity(self) -> dict[str, Any]:
        """Scenario names, content hashes, seed, replications and package version."""
        return {
            "variants": {
                label: {
                    "scenario": r.manifest.get("scenario"),
                    "scenario_hash": r.manifest.get("scenario_hash"),
                }
                for label, r in self.results.items()
            },
            "reference": self.reference,
            "seed": self.seed,
            "replications": self.replications,
            "block_size": self.results[self.reference].manifest.get("block_size"),
            "incentsim_version": incentsim.__version__,
        }

    # --- text ------------------------------------------------------------------------------------

    def table(self, outcomes: Sequence[str] | None = None, all_outcomes: bool = False) -> str:
        """The terminal table: per variant, each outcome's means, difference, interval, verdict
        and replications needed. By default the :data:`KEY_OUTCOMES` the run has, without those
        of constructs no variant uses."""

        names = self._shown(outcomes, all_outcomes)
        level = f"{self.confidence:.0%}"
        lines = [] if self.warning is None else [self.warning, ""]
        lines += [
            f"Comparison of {len(self.labels)} variants over common random numbers: "
            f"{self.replications:,} replications, seed {seed_label(self.seed)}; "
            f"reference '{self.reference}'.",
        ]
        for variant in self.variants:
            frame = self.display_frame(variant, names)
            lines += ["", f"{variant} vs {self.reference}:", *frame_columns(frame, "outcome")]
        hidden = len(self.outcome_names) - len(names)
        if hidden > 0:
            lines.append(f"({hidden} more outcomes: all_outcomes=True, --all, or the CSV.)")
        lines.append(
            f"Differences are variant minus {self.reference}, paired by replication; the "
            f"interval is a {level} Student-t interval on the mean difference. 'reps needed': "
            f"replications to tell the variants apart with {self.power:.0%} power."
        )
        lines += [f"Note: {note}" for note in self.notes]
        return "\n".join(lines)

    def display_frame(
        self, variant: str, outcomes: Sequence[str] | None = None, all_outcomes: bool = False
    ) -> pd.DataFrame:
        """One variant against the reference as formatted text, one row per outcome: both
        means, the difference, its interval, the verdict and the replications needed."""
        names = outcomes if outcomes is not None else self._shown(None, all_outcomes)
        rows = {}
        for name in names:
            d = self.difference(variant, name)
            unit = outcome_unit(name)
            rows[name] = [
                format_value(d.reference_mean, unit),
                format_value(d.variant_mean, unit),
                format_value(d.mean, unit, signed=True),
                _interval(d.ci_low, d.ci_high, unit),
                d.describe(),
                d.reps_needed_text,
            ]
        columns = [
            self.reference,
            variant,
            "difference",
            f"{self.confidence:.0%} CI",
            "verdict",
            "reps needed",
        ]
        return pd.DataFrame.from_dict(rows, orient="index", columns=columns).rename_axis("outcome")

    def _shown(self, outcomes: Sequence[str] | None, all_outcomes: bool) -> list[str]:
        known = self.outcome_names
        if outcomes is not None:
            missing = [n for n in outcomes if n not in known]
            if missing:
                raise ExperimentError(
                    f"unknown outcome(s) {', '.join(missing)}; known: {', '.join(known)}"
                )
            return list(outcomes)
        if all_outcomes:
            return known
        # the key outcomes, without those of constructs no variant uses
        used = set().union(*(constructs_in_use(s.program) for s in self.scenarios.values()))
        key = shown_outcomes([n for n in KEY_OUTCOMES if n in known], used)
        return key or known

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return (
            f"Comparison(variants={self.labels!r}, replications={self.replications}, "
            f"seed={self.seed!r})"
        )

    # --- plots -----------------------------------------------------------------------------------

    def plot_distributions(
        self, outcome: str = "incentive_cost", bins: int = 40, ax: Axes | None = None
    ) -> Figure:
        """Histograms of an outcome for every variant, overlaid, with the reference's budget and
        budget + reserve marked; a variant identical to an earlier one is drawn dashed on top
        of it and says so in the legend."""

        fig, ax, made = charts.axes(ax)
        values = {
            label: r.outcomes[outcome].dropna().to_numpy() for label, r in self.results.items()
        }
        present = [v for v in values.values() if len(v)]
        if present:
            edges = np.histogram_bin_edges(np.concatenate(present), bins=bins)
            drawn: dict[str, np.ndarray] = {}
            for (label, v), colour in zip(values.items(), _colours(len(values)), strict=True):
                twin = next((k for k, w in drawn.items() if np.array_equal(v, w)), None)
                name = label if twin is None else f"{label} (identical to {twin})"
                style = "-" if twin is None else (0, (4, 3))
                ax.hist(
                    v,
                    bins=edges.tolist(),
                    histtype="step",
                    linewidth=2.4 if twin is None else 1.6,
                    linestyle=style,
                    color=colour,
                    label=name,
                )
                ax.axvline(float(np.mean(v)), color=colour, linestyle="--", linewidth=1)
                drawn[label] = v
        scenario = self.results[self.reference].scenario
        budget, reserve = scenario.horizon_budget, scenario.program.budget.reserve.initial
        if outcome == "incentive_cost" and budget is not None:
            ax.axvline(budget, color="#c0392b", linewidth=1.5, label=f"budget {budget:,.0f}")
            if reserve:
                ax.axvline(
                    budget + reserve,
                    color="#c0392b",
                    linestyle=":",
                    label=f"budget + reserve {budget + reserve:,.0f}",
                )
        currency = scenario.program.currency
        ax.set_title(
            f"{describe(outcome).label}: {self.replications:,} replications per variant "
            "(dashed vertical lines: means)"
        )
        ax.set_xlabel(charts.outcome_title(outcome, currency))
        ax.set_ylabel("replications")
        charts.format_axis(ax.xaxis, outcome_unit(outcome))
        ax.legend(frameon=False, fontsize="small")
        return charts.finish(fig, made)

    def plot_difference(self, outcome: str, ax: Axes | None = None) -> Figure:
        """One outcome's mean paired difference per variant with its interval, in the
        outcome's own unit; green better, red worse, grey neutral or not distinguishable."""

        fig, ax, made = charts.axes(ax, figsize=(4, 1.2 + 0.4 * len(self.variants)))
        colours = {"better": "#27ae60", "worse": "#c0392b", "neutral": "#7f8c8d"}
        for y, variant in enumerate(self.variants):
            d = self.difference(variant, outcome)
            if not math.isfinite(d.mean):
                continue
            low = d.ci_low if math.isfinite(d.ci_low) else d.mean
            high = d.ci_high if math.isfinite(d.ci_high) else d.mean
            err = [[max(d.mean - low, 0.0)], [max(high - d.mean, 0.0)]]
            marker = "D" if d.verdict == "identical" else "o"
            ax.errorbar(d.mean, y, xerr=err, fmt=marker, color=colours[d.assessment], capsize=3)
        ax.axvline(0.0, color="#333333", linewidth=1)
        ax.set_yticks(range(len(self.variants)), self.variants)
        ax.set_ylim(len(self.variants) - 0.5, -0.5)
        currency = self.results[self.reference].scenario.program.currency
        ax.set_title(charts.outcome_title(outcome, currency), fontsize="medium")
        charts.format_axis(ax.xaxis, outcome_unit(outcome), signed=True, bins=4)
        if all(self.difference(v, outcome).verdict == "identical" for v in self.variants):
            ax.set_xticks([0.0])  # no scale to show: every variant gave the same values
            ax.set_xlabel("identical in every replication", fontsize="small")
        ax.tick_params(axis="x", labelsize="small")
        return charts.finish(fig, made)

    def plot_differences(
        self,
        outcomes: Sequence[str] | None = None,
        all_outcomes: bool = False,
        columns: int = 3,
    ) -> Figure:
        """Small multiples: one panel per outcome (:meth:`plot_difference`), each in its own
        unit, so a large relative change in one outcome does not flatten the others."""

        names = self._shown(outcomes, all_outcomes)
        plt, _ = charts.pyplot()
        rows = math.ceil(len(names) / columns)
        height = 0.9 + 0.35 * len(self.variants)
        fig, grid = plt.subplots(
            rows, columns, figsize=(4.2 * columns, height * rows + 0.6), squeeze=False
        )
        for ax, name in zip(grid.flat, names, strict=False):
            self.plot_difference(name, ax)
        for ax in list(grid.flat)[len(names) :]:
            ax.set_visible(False)
        fig.suptitle(
            f"Difference vs {self.reference}, mean and {self.confidence:.0%} interval, in each "
            "outcome's unit (green better, red worse, grey neutral or not distinguishable)",
            fontsize="medium",
        )
        fig.tight_layout()
        plt.close(fig)
        return fig

    def plot_trajectory(self, name: str = "reserve", ax: Axes | None = None) -> Figure:
        """Mean of a trajectory per period for every variant, with the P5-P95 band; periods
        labelled from the reference's calendar, its shock windows shaded; a variant identical to
        an earlier one is drawn dashed on top of it and says so in the legend."""

        fig, ax, made = charts.axes(ax)
        scenario = self.results[self.reference].scenario
        periods = 0
        drawn: dict[str, np.ndarray] = {}
        for (label, r), colour in zip(
            self.results.items(), _colours(len(self.results)), strict=True
        ):
            band = r.summary.trajectories.get(name)
            if band is None:
                continue
            periods = max(periods, band.n_periods)
            steps = np.arange(band.n_periods)
            twin = next((k for k, m in drawn.items() if np.array_equal(band.mean, m)), None)
            if twin is None:
                ax.fill_between(steps, band.p5, band.p95, color=colour, alpha=0.15)
                ax.plot(steps, band.mean, color=colour, linewidth=2.2, label=label)
            else:  # on top of its twin, dashed, so both stay visible
                ax.plot(
                    steps,
                    band.mean,
                    color=colour,
                    linestyle=(0, (4, 3)),
                    label=f"{label} (identical to {twin})",
                )
            drawn[label] = band.mean
        ax.set_title(f"{describe(name).label}: mean and P5-P95 by variant")
        charts.period_axis(ax, scenario.calendar, periods)
        charts.mark_shocks(ax, scenario)
        ax.set_ylabel(charts.outcome_title(name, scenario.program.currency))
        charts.format_axis(ax.yaxis, outcome_unit(name))
        ax.legend(frameon=False, fontsize="small")
        return charts.finish(fig, made)

    # --- tables ----------------------------------------------------------------------------------

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables behind a report: ``differences`` (:meth:`to_frame`) and ``means``."""
        return {"differences": self.to_frame(), "means": self.means()}


def compare(
    scenarios: Sequence[Scenario | str | os.PathLike[str]],
    reps: int | None = None,
    seed: SeedLike | None = None,
    *,
    options: RunOptions | None = None,
    names: Sequence[str] | None = None,
    overrides: Sequence[str] = (),
    confidence: float = CONFIDENCE,
    power: float = POWER,
    allow_different_populations: bool = False,
    **run: Unpack[RunKeywords],
) -> Comparison:
    """Simulate every variant over the same random numbers and compare each with the first.

    Parameters
    ----------
    scenarios
        Two or more scenarios, or paths of scenario files; the first is the reference.
    reps, seed
        Replications and root seed shared by every variant (default: the reference's). A
        variant's own ``seed`` and ``replications`` are replaced by these (and
        a note says so).
    options
        The run options (:class:`~incentsim.montecarlo.RunOptions`); one executor serves every
        variant. With ``out_dir`` each variant's run streams into ``out_dir/<label>``;
        without, everything stays in memory (:func:`incentsim.report.comparison_report` writes
        the report and its tables). ``overwrite`` reuses variant folders that hold a different
        run; ``progress`` shows a bar per variant; ``draws`` gives every variant's block ``i``
        the same calibration draw.
    names
        Labels for the variants (default: the scenarios' names, made unique with the file name
        or a number).
    overrides
        ``KEY.PATH=VALUE`` overrides applied to every variant read from a file.
    confidence, power
        Interval level, and power for the replications-needed estimate.
    allow_different_populations
        Compare variants whose partner populations or calendars differ (their differences
        then mix the design with who the partners are and how long the run is); the
        comparison's first line says so.
    **run
        Run options one by one (``executor="processes", workers=4, out_dir=...``), replacing
        those of ``options``.

    Raises
    ------
    ExperimentError
        Fewer than two variants, labels that do not fit, or variants with different
        populations or calendars (without ``allow_different_populations``).
    ScenarioError
        A scenario file cannot be read or does not validate.
    """
    loaded = load_variants(scenarios, overrides)
    if len(loaded) < 2:
        raise ExperimentError("compare needs at least two scenarios (the first is the reference)")
    labels = variant_labels(loaded, names)
    reference = loaded[0][0]
    mismatches = [
        f"'{label}' differs from '{labels[0]}' in {', '.join(found)}"
        for (scenario, _), label in zip(loaded[1:], labels[1:], strict=True)
        if (found := setting_differences(reference, scenario))
    ]
    if mismatches and not allow_different_populations:
        raise ExperimentError(
            "variants must share the partner population and calendar for a paired comparison: "
            + "; ".join(mismatches)
            + " (--allow-different-populations compares them anyway)"
        )
    chosen = RunOptions.merged(options, **run)
    notes = _common_number_notes(loaded, labels, reps, seed)
    variants = dict(zip(labels, (s for s, _ in loaded), strict=True))
    results = run_variants(variants, chosen, RunPlan(reps, seed))
    return Comparison(
        results,
        confidence=confidence,
        power=power,
        notes=notes,
        out_dir=chosen.out_dir,
        warning=(
            "Warning: the variants simulate different partner populations or calendars ("
            + "; ".join(mismatches)
            + "): their differences are not the effect of the design alone."
        )
        if mismatches
        else None,
    )


def setting_differences(reference: Scenario, variant: Scenario, shown: int = 3) -> list[str]:
    """Where ``variant``'s population or calendar differs from ``reference``'s, as
    ``population.partners 150 vs 1000`` (at most ``shown``, then a count of the rest)."""
    found: list[str] = []
    for part in ("calendar", "population"):
        found += _dump_differences(
            getattr(reference, part).model_dump(mode="json"),
            getattr(variant, part).model_dump(mode="json"),
            part,
        )
    if len(found) > shown:
        return [*found[:shown], f"{len(found) - shown} more settings"]
    return found


def _dump_differences(a: Any, b: Any, path: str) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            difference
            for key in dict.fromkeys([*a, *b])
            for difference in _dump_differences(a.get(key), b.get(key), f"{path}.{key}")
        ]
    return [] if a == b else [f"{path} {_short(b)} vs {_short(a)}"]


def _short(value: Any) -> str:
    text = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def load_variants(
    scenarios: Sequence[Scenario | str | os.PathLike[str]], overrides: Sequence[str] = ()
) -> list[tuple[Scenario, Path | None]]:
    """Each scenario as ``(Scenario, file or None)``; files are loaded with ``overrides``."""

    if isinstance(scenarios, str | os.PathLike | Scenario):
        raise ExperimentError("give a list of scenarios or scenario files, not a single one")
    loaded: list[tuple[Scenario, Path | None]] = []
    for item in scenarios:
        if isinstance(item, Scenario):
            loaded.append((item, None))
        else:
            loaded.append((load_scenario(Path(item), overrides), Path(item)))
    return loaded


def variant_labels(
    loaded: Sequence[tuple[Scenario, Path | None]], names: Sequence[str] | None = None
) -> list[str]:
    """Unique labels: ``names`` as given, else scenario names, disambiguated by the file stem,
    then by a number (``baseline``, ``baseline#2``)."""
    if names is not None:
        labels = [str(n) for n in names]
        if len(labels) != len(loaded):
            raise ExperimentError(f"{len(labels)} names for {len(loaded)} variants")
        if len(set(labels)) != len(labels):
            raise ExperimentError(f"variant names must differ: {labels}")
        return labels
    labels = [s.name for s, _ in loaded]
    for i, (scenario, path) in enumerate(loaded):
        if labels.count(scenario.name) > 1 and path is not None and path.stem != scenario.name:
            labels[i] = f"{scenario.name} ({path.stem})"
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label}#{seen[label]}")
    return unique


def _common_number_notes(
    loaded: Sequence[tuple[Scenario, Path | None]],
    labels: Sequence[str],
    reps: int | None,
    seed: Any,
) -> list[str]:
    reference = loaded[0][0]
    notes = []
    for (scenario, _), label in zip(loaded[1:], labels[1:], strict=True):
        if seed is None and scenario.seed != reference.seed:
            notes.append(
                f"'{label}' declares seed {scenario.seed}; it ran with the reference's seed "
                f"{reference.seed} (common random numbers)"
            )
        if reps is None and scenario.replications != reference.replications:
            notes.append(
                f"'{label}' declares {scenario.replications} replications; it ran the "
                f"reference's {reference.replications}"
            )
    return notes


def run_variants(
    scenarios: Mapping[str, Scenario], options: RunOptions | Evaluator, plan: RunPlan
) -> dict[str, MonteCarloResult]:
    """Run every scenario with the same replications and root seed (common random numbers:
    the ``plan``'s, else the first scenario's), on one executor; ``label -> MonteCarloResult``
    (:meth:`~incentsim.montecarlo.Evaluator.run_variants`; an evaluator given is used as it
    is).
    """
    with evaluator_for(options) as ev:
        return ev.run_variants(scenarios, plan)


def _ordered_outcomes(names: Sequence[str]) -> list[str]:
    """Key outcomes first (in :data:`KEY_OUTCOMES` order), then the rest as the engine gave them."""
    key = [n for n in KEY_OUTCOMES if n in names]
    return key + [n for n in names if n not in key]


# --- formatting helpers (also used by the stress test) ---------------------------------------


def format_value(value: float, unit: str, signed: bool = False) -> str:
    """A number for the terminal: money with separators, shares and probabilities as %."""
    if value is None or not math.isfinite(value):
        return "-"
    sign = "+" if signed else ""
    if unit in ("share", "probability"):
        return f"{100 * value:{sign}.1f}%" if not signed else f"{100 * value:+.2f} pp"
    largest = abs(value)
    if unit == "money":
        return f"{value:{sign},.0f}" if largest >= 100 or value == 0 else f"{value:{sign},.2f}"
    small = 0.05 if unit == "count" else 0.01  # below what the usual decimals show
    if 0 < largest < small and unit in ("score", "index", "number", "count"):
        # a small change shown with two significant digits (at most 6 decimals), not "-0.00"
        decimals = min(6, 1 - math.floor(math.log10(largest)))
        return f"{value:{sign}.{decimals}f}"
    if unit == "count":
        return f"{value:{sign},.0f}" if largest >= 1000 or value == 0 else f"{value:{sign},.1f}"
    if unit == "number" and largest >= 1000:
        return f"{value:{sign},.0f}"
    if unit == "score":
        return f"{value:{sign}.2f}"
    return f"{value:{sign}.3f}"


def _interval(low: float, high: float, unit: str) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "-"
    return f"[{format_value(low, unit, signed=True)}, {format_value(high, unit, signed=True)}]"


def text_columns(rows: Sequence[Sequence[str]]) -> Iterator[str]:
    """Rows as aligned text columns (first column left, others right), with a rule."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        cells = [cell.rjust(width) for cell, width in zip(row, widths, strict=True)]
        cells[0] = row[0].ljust(widths[0])
        yield "  ".join(cells).rstrip()
        if i == 0:
            yield "  ".join("-" * w for w in widths)


def frame_columns(frame: pd.DataFrame, first: str) -> Iterator[str]:
    """A frame of text as :func:`text_columns`: its index first, headed ``first``."""
    rows = [[first, *frame.columns], *([str(i), *row] for i, row in frame.iterrows())]
    return text_columns(rows)


def _colours(n: int) -> list[str]:
    palette = ["#1f4e79", "#e67e22", "#27ae60", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d"]
    return [palette[i % len(palette)] for i in range(n)]
