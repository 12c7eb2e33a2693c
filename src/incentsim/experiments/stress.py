"""Stress tests: named shocks, alone and combined, over common random numbers; reverse stress.

:func:`stress` simulates the scenario as it is (the *baseline* case) and with each shock of
:mod:`incentsim.experiments.shocks` (and, with ``combine``, every pair of them and all of them
together), every case over the same replications and seed blocks, so the change a shock makes
is measured replication by replication. It reports:

- **budget and reserve first**: per case, the probability the incentive cost exceeds the
  budget (``budget_exceeded``) and that the reserve runs out (``reserve_depleted``), each with
  a Wilson interval, and the mean lowest reserve;
- **a resilience table per outcome**: per case the mean with its interval, the paired change
  against the baseline with its interval, and the CVaR (the mean of the worst ``tail`` share
  of replications, on the side that is bad for the designer); then the worst case (the case
  with the worst mean) and the worst CVaR over the cases.

**Reverse stress test** (:func:`reverse_stress`, or ``limits`` in :func:`stress`): given a
limit such as ``retention<0.7`` (*broken when mean retention falls below 0.7*) or
``reserve_depleted>0.1`` (*broken when the probability the reserve runs out exceeds 10%*), find
the mildest shock that breaks it. The shock's magnitude is searched by bisection between none
and the library's ``extreme`` magnitude (several shocks together are scaled by one common
fraction of their extremes). Every probe runs over the same random numbers. Combined, the
shocks searched together are the worst combination at their extremes
(:func:`combined_reverse_stress`): a shock that softens the others (a demand surge against a
competitor's offer) is left out, so the combination is never milder than any shock alone.
The answer carries two uncertainties: the bisection bracket, and the Monte Carlo one -- the
range between the largest probed magnitude whose interval lies wholly on the safe side and the
smallest whose interval lies wholly on the broken side.

::

    from incentsim.experiments import stress
    test = stress("scenarios/small.yaml", ["recession:severe", "competitor"], reps=40,
                  limits=["retention<0.8"])
    print(test)                       # budget and reserve, resilience, breaking points
    test.resilience("incentive_cost")
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Unpack

import numpy as np
import pandas as pd

from incentsim.engine.outcomes import describe
from incentsim.errors import ScenarioError
from incentsim.experiments.compare import (
    CONFIDENCE,
    Comparison,
    ExperimentError,
    format_value,
    frame_columns,
    load_variants,
    outcome_direction,
    paired_difference,
)
from incentsim.experiments.shocks import SHOCK_LIBRARY, ShockChoice, parse_shocks, with_shocks
from incentsim.montecarlo.charts import outcome_title, unit_label
from incentsim.montecarlo.charts import pyplot as _pyplot
from incentsim.montecarlo.evaluator import Evaluator, evaluator_for
from incentsim.montecarlo.options import RunKeywords, RunOptions
from incentsim.montecarlo.plan import RunPlan
from incentsim.montecarlo.seeding import SeedLike, seed_label
from incentsim.montecarlo.summary import describe_outcome, outcome_unit
from incentsim.risk import cvar

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from incentsim.montecarlo import MonteCarloResult
    from incentsim.montecarlo.summary import OutcomeStats
    from incentsim.scenario.model import Scenario

__all__ = [
    "BASELINE",
    "STRESS_OUTCOMES",
    "BreakingPoint",
    "Limit",
    "Probe",
    "StressCase",
    "StressTest",
    "check_limit",
    "combined_reverse_stress",
    "cvar",
    "parse_limit",
    "reverse_stress",
    "stress",
    "stress_cases",
]

BASELINE = "baseline"

#: Share of replications in the CVaR tail (the worst 10%).
TAIL = 0.10

#: Bisection steps of the reverse stress test: the bracket ends 1/2^steps of the range wide.
STEPS = 6

#: Outcomes in the terminal resilience table and the heatmap (those the run has).
STRESS_OUTCOMES: tuple[str, ...] = (
    "incentive_cost",
    "budget_overrun",
    "reserve_min",
    "revenue_net",
    "net_contribution",
    "retention",
    "loyalty_mean",
    "csat_mean",
)

_RISKS = ("budget_exceeded", "reserve_depleted")


# --- cases --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StressCase:
    """The baseline (no shock) or shocks applied together."""

    shocks: tuple[ShockChoice, ...] = ()

    @property
    def label(self) -> str:
        """``baseline``, ``recession:severe`` or ``recession:severe + competitor:severe``."""
        return " + ".join(s.label for s in self.shocks) or BASELINE

    def scenario(self, base: Scenario) -> Scenario:
        """``base`` with this case's shocks added."""
        if not self.shocks:
            return base
        return with_shocks(base, self.shocks, name=f"{base.name} + {self.label}")


def stress_cases(shocks: Sequence[ShockChoice], combine: bool = False) -> list[StressCase]:
    """The baseline, each shock alone and, with ``combine``, every pair and all together."""
    cases = [StressCase(), *(StressCase((s,)) for s in shocks)]
    if combine:
        cases += [StressCase(pair) for pair in itertools.combinations(shocks, 2)]
        if len(shocks) > 2:
            cases.append(StressCase(tuple(shocks)))
    return cases


# --- limits -------------------------------------------------------------------------------------

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}


@dataclass(frozen=True)
class Limit:
    """A limit stated as the condition that breaks it: ``outcome op threshold`` on the mean.

    For a probability outcome (``reserve_depleted``, ``budget_exceeded``) the mean is the
    probability.
    """

    outcome: str
    op: Literal["<", ">", "<=", ">="]
    threshold: float

    @property
    def label(self) -> str:
        return f"{self.outcome}{self.op}{self.threshold:g}"

    def broken(self, value: float) -> bool:
        """Whether ``value`` breaks the limit (NaN never does)."""
        return math.isfinite(value) and _OPERATORS[self.op](value, self.threshold)


def check_limit(limit: Limit, result: MonteCarloResult) -> None:
    """Raise :class:`ExperimentError` unless the run has the limit's outcome."""
    if limit.outcome not in result.outcomes.columns:
        raise ExperimentError(
            f"limit '{limit.label}': unknown outcome '{limit.outcome}'; known: "
            f"{', '.join(result.outcomes.columns)}"
        )


def parse_limit(text: str | Limit) -> Limit:
    """``OUTCOME<X``, ``OUTCOME>X`` (or ``<=``, ``>=``), the condition that breaks the limit.

    >>> parse_limit("retention<0.7")
    Limit(outcome='retention', op='<', threshold=0.7)
    """
    if isinstance(text, Limit):
        return text
    match = re.fullmatch(r"\s*([A-Za-z_][\w/]*)\s*(<=|>=|<|>)\s*([-+0-9.eE_]+)\s*", str(text))
    if match is None:
        raise ExperimentError(
            f"limit '{text}': expected OUTCOME<VALUE or OUTCOME>VALUE, the condition that breaks "
            "it (for example retention<0.7 or reserve_depleted>0.1)"
        )
    name, op, number = match.groups()
    try:
        threshold = float(number)
    except ValueError:
        raise ExperimentError(f"limit '{text}': '{number}' is not a number") from None
    return Limit(name, op, threshold)  # type: ignore[arg-type]


# --- the stress test ----------------------------------------------------------------------------


class StressTest:
    """Stress cases simulated over common random numbers, and any breaking points found.

    Attributes
    ----------
    cases
        The cases, the baseline first.
    results
        ``case label -> MonteCarloResult``.
    breaking_points
        One :class:`BreakingPoint` per limit and searched shock (empty without limits).
    seed, replications
        As every case ran them.
    """

    def __init__(
        self,
        cases: Sequence[StressCase],
        results: Mapping[str, MonteCarloResult],
        *,
        breaking_points: Sequence[BreakingPoint] = (),
        tail: float = TAIL,
        confidence: float = CONFIDENCE,
    ) -> None:
        if not cases or cases[0].shocks:
            raise ExperimentError("a stress test starts with the baseline case")
        _check_tail(tail)
        self.cases = list(cases)
        self.results = dict(results)
        self.breaking_points = list(breaking_points)
        self.tail = tail
        self.confidence = confidence
        base = self.results[BASELINE]
        self.seed = base.manifest["seed"]
        self.replications = base.replications
        self.scenario_name = base.summary.scenario
        self._resilience: dict[str, pd.DataFrame] = {}

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.cases]

    @property
    def outcome_names(self) -> list[str]:
        return list(self.results[BASELINE].outcomes.columns)

    def _values(self, label: str, outcome: str) -> np.ndarray:
        return self.results[label].outcomes[outcome].to_numpy(dtype=np.float64)

    # --- tables ----------------------------------------------------------------------------------

    def risks(self) -> pd.DataFrame:
        """Per case: P(budget exceeded) and P(reserve depleted) with Wilson intervals, the mean
        lowest reserve and the mean budget overrun."""

        rows = []
        for label in self.labels:
            row: dict[str, Any] = {"case": label}
            for name in _RISKS:
                if name in self.outcome_names:
                    stats = describe_outcome(name, self._values(label, name), self.confidence)
                    row[f"p_{name}"] = stats.mean
                    row[f"p_{name}_low"] = stats.ci_low
                    row[f"p_{name}_high"] = stats.ci_high
            for name in ("reserve_min", "budget_overrun"):
                if name in self.outcome_names:
                    row[f"{name}_mean"] = float(np.nanmean(self._values(label, name)))
            row["replications"] = self.results[label].replications
            rows.append(row)
        return pd.DataFrame(rows).set_index("case")

    def resilience(self, outcome: str) -> pd.DataFrame:
        """One outcome's resilience table: a row per case (mean and interval, paired change
        against the baseline and its interval, verdict, CVaR), then ``worst case`` (the case
        with the worst mean) and ``worst CVaR``."""
        if outcome not in self._resilience:
            self._resilience[outcome] = self._resilience_table(outcome)
        return self._resilience[outcome].copy()

    def _resilience_table(self, outcome: str) -> pd.DataFrame:

        if outcome not in self.outcome_names:
            raise ExperimentError(
                f"unknown outcome '{outcome}'; known: {', '.join(self.outcome_names)}"
            )
        direction = outcome_direction(outcome)
        base = self._values(BASELINE, outcome)
        rows = []
        for label in self.labels:
            values = self._values(label, outcome)
            stats = describe_outcome(outcome, values, self.confidence)
            change = paired_difference(
                outcome, values, base, variant=label, reference=BASELINE, confidence=self.confidence
            )
            rows.append(
                {
                    "case": label,
                    "mean": stats.mean,
                    "ci_low": stats.ci_low,
                    "ci_high": stats.ci_high,
                    "change": change.mean,
                    "change_low": change.ci_low,
                    "change_high": change.ci_high,
                    "verdict": change.describe() if label != BASELINE else "",
                    "cvar": np.nan
                    if stats.probability or not direction
                    else cvar(values, self.tail, worst="high" if direction < 0 else "low"),
                }
            )
        frame = pd.DataFrame(rows).set_index("case")
        if direction:
            worst = frame["mean"].idxmax() if direction < 0 else frame["mean"].idxmin()
            worst_row = frame.loc[worst].copy()
            worst_row["verdict"] = f"worst case: {worst}"
            frame.loc["worst case"] = worst_row
            tails = frame["cvar"].iloc[: len(self.labels)].dropna()
            if len(tails):
                pick = tails.idxmax() if direction < 0 else tails.idxmin()
                frame.loc["worst CVaR"] = {
                    "cvar": tails[pick],
                    "verdict": f"worst CVaR: {pick}",
                }
        return frame

    def resilience_frame(self) -> pd.DataFrame:
        """Every outcome's resilience table, stacked: one row per outcome x case."""
        frames = [self.resilience(name).assign(outcome=name) for name in self.outcome_names]
        return pd.concat(frames).reset_index().set_index(["outcome", "case"])

    def matrix(self, outcomes: Sequence[str] | None = None) -> pd.DataFrame:
        """Means per case (rows) and outcome (columns), then ``worst case`` and ``worst CVaR``
        rows."""
        names = self._shown(outcomes)
        columns = {}
        for name in names:
            table = self.resilience(name)
            column = table["mean"].reindex([*self.labels, "worst case"])
            column["worst CVaR"] = table["cvar"].get("worst CVaR", np.nan)
            columns[name] = column
        return pd.DataFrame(columns).rename_axis("case")

    def breaking_frame(self) -> pd.DataFrame:
        """One row per breaking point (see :meth:`BreakingPoint.summary`)."""
        return pd.DataFrame([b.summary() for b in self.breaking_points])

    def to_frame(self) -> pd.DataFrame:
        """One row per case x outcome: mean with its interval, paired change against the
        baseline with its interval, verdict and CVaR (the ``resilience`` table)."""
        return self.resilience_frame()

    def identity(self) -> dict[str, Any]:
        """What ran: scenario, cases, seed, replications, tail share and confidence."""
        return {
            "scenario": self.scenario_name,
            "scenario_hash": self.results[BASELINE].manifest.get("scenario_hash"),
            "cases": self.labels,
            "seed": self.seed,
            "replications": self.replications,
            "tail": self.tail,
            "confidence": self.confidence,
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables behind a report: ``risks``, ``resilience`` and, with limits,
        ``breaking_points`` and ``probes``."""
        tables = {"risks": self.risks(), "resilience": self.resilience_frame()}
        if self.breaking_points:
            tables["breaking_points"] = self.breaking_frame()
            tables["probes"] = pd.concat([b.to_frame() for b in self.breaking_points])
        return tables

    def _shown(self, outcomes: Sequence[str] | None) -> list[str]:
        if outcomes is not None:
            for name in outcomes:
                if name not in self.outcome_names:
                    raise ExperimentError(f"unknown outcome '{name}'")
            return list(outcomes)
        return [n for n in STRESS_OUTCOMES if n in self.outcome_names]

    # --- text ------------------------------------------------------------------------------------

    @property
    def currency(self) -> str:
        """The currency the baseline's program pays in (amounts are shown in it)."""
        return self.results[self.labels[0]].scenario.program.currency

    def display_risks(self) -> pd.DataFrame:
        """:meth:`risks` as formatted text: probabilities with their intervals, money."""
        risks = self.risks()
        level = f"{self.confidence:.0%}"
        shown = pd.DataFrame(index=risks.index)
        for name in _RISKS:
            if f"p_{name}" in risks:
                words, unit = describe(name).label.lower(), outcome_unit(name)
                shown[f"P({words})"] = risks[f"p_{name}"].map(
                    functools.partial(format_value, unit=unit)
                )
                shown[f"{level} CI ({words})"] = [
                    f"[{format_value(low, unit)}, {format_value(high, unit)}]"
                    for low, high in zip(
                        risks[f"p_{name}_low"], risks[f"p_{name}_high"], strict=True
                    )
                ]
        currency = self.currency
        for column in (c for c in risks if c.endswith("_mean")):
            name = column.removesuffix("_mean")
            shown[f"{describe(name).label} (mean, {unit_label(outcome_unit(name), currency)})"] = (
                risks[column].map(functools.partial(format_value, unit=outcome_unit(name)))
            )
        return shown

    def display_matrix(self, outcomes: Sequence[str] | None = None) -> pd.DataFrame:
        """:meth:`matrix` as formatted text; ``*`` marks a change from the baseline that is
        distinguishable at the confidence level."""
        matrix = self.matrix(outcomes)
        shown = pd.DataFrame(index=matrix.index)
        for name in matrix.columns:
            verdicts = self.resilience(name)["verdict"]
            marks = [
                "*"
                if label in self.labels[1:]
                and verdicts.get(label, "").startswith(("higher", "lower"))
                else ""
                for label in matrix.index
            ]
            values = [format_value(v, outcome_unit(name)) for v in matrix[name]]
            cases = [_worst_case_of(verdicts.get(label, "")) for label in matrix.index]
            shown[name] = [
                v + m + (f" ({case})" if case and v != "-" else "")
                for v, m, case in zip(values, marks, cases, strict=True)
            ]
        return shown

    def table(self, outcomes: Sequence[str] | None = None) -> str:
        """The terminal report: budget and reserve, the resilience matrix, breaking points."""

        level = f"{self.confidence:.0%}"
        lines = [
            f"Stress test of '{self.scenario_name}': {len(self.cases)} cases over common random "
            f"numbers, {self.replications:,} replications each, seed {seed_label(self.seed)}.",
            "",
            f"Budget and reserve (probabilities with {level} Wilson intervals):",
            *frame_columns(self.display_risks(), "case"),
            "",
            f"Resilience: mean per case ('*': changed from the baseline, distinguishable at "
            f"{level}); worst CVaR: mean of the worst {self.tail:.0%} of replications, in the "
            "case where it is worst:",
            *frame_columns(
                self.display_matrix(outcomes).rename(
                    columns=lambda name: outcome_title(name, self.currency)
                ),
                "case",
            ),
        ]
        if self.breaking_points:
            lines += ["", "Reverse stress test (the mildest shock that breaks each limit):"]
            lines += [f"- {b.describe()}" for b in self.breaking_points]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return (
            f"StressTest(scenario='{self.scenario_name}', cases={len(self.cases)}, "
            f"replications={self.replications})"
        )

    def comparison(self) -> Comparison:
        """The cases as a :class:`~incentsim.experiments.compare.Comparison` against the
        baseline (paired differences of every outcome, distribution and trajectory plots)."""
        return Comparison(self.results, confidence=self.confidence)

    # --- plots -----------------------------------------------------------------------------------

    def plot_changes(self, outcomes: Sequence[str] | None = None) -> Figure:
        """Small multiples: per outcome, each case's paired change against the baseline with
        its interval, in the outcome's own unit (see
        :meth:`~incentsim.experiments.compare.Comparison.plot_differences`)."""
        return self.comparison().plot_differences(self._shown(outcomes))

    def plot_heatmap(self, outcomes: Sequence[str] | None = None) -> Figure:
        """The resilience table as a heatmap: change against the baseline per case and outcome,
        green better and red worse for the designer (relative change; percentage points for
        probabilities), annotated."""

        names = self._shown(outcomes)
        labels = self.labels[1:]
        score = np.full((len(labels), len(names)), np.nan)
        text = [["" for _ in names] for _ in labels]
        for j, name in enumerate(names):
            table = self.resilience(name)
            base = table.loc[BASELINE, "mean"]
            probability = outcome_unit(name) == "probability"
            for i, label in enumerate(labels):
                change = table.loc[label, "change"]
                relative = change if probability or not base else change / abs(base)
                direction = outcome_direction(name) or 1
                score[i, j] = direction * relative
                text[i][j] = f"{100 * relative:+.1f}{' pp' if probability else '%'}"
        plt, _ = _pyplot()
        fig, ax = plt.subplots(
            figsize=(1.3 * len(names) + 3, 0.5 * len(labels) + 1.8), squeeze=True
        )
        bound = max(0.05, float(np.nanmax(np.abs(score), initial=0.0)))
        image = ax.imshow(score, cmap="RdYlGn", vmin=-bound, vmax=bound, aspect="auto")
        for i, j in itertools.product(range(len(labels)), range(len(names))):
            ax.text(j, i, text[i][j], ha="center", va="center", fontsize=8)
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        ax.set_title(
            f"{self.scenario_name}: change vs baseline ({self.replications:,} replications; "
            "green better, red worse)"
        )
        fig.colorbar(image, ax=ax, label="change, signed so that + is better")
        fig.tight_layout()
        plt.close(fig)
        return fig


def _worst_case_of(verdict: str) -> str:
    """The case a ``worst case: X`` or ``worst CVaR: X`` row comes from ('' for other rows)."""
    for prefix in ("worst case: ", "worst CVaR: "):
        if verdict.startswith(prefix):
            return verdict.removeprefix(prefix)
    return ""


def _shocked_scenarios(base: Scenario, cases: Sequence[StressCase]) -> dict[str, Scenario]:
    """``case label -> base with the case's shocks``; a magnitude the scenario rejects is named
    with its shock."""

    shocked = {}
    for case in cases:
        try:
            shocked[case.label] = case.scenario(base)
        except ScenarioError as exc:
            problems = "; ".join(f"{where}: {msg}" if where else msg for where, msg in exc.problems)
            message = f"shock '{case.label}' does not fit '{base.name}': {problems}"
            raise ExperimentError(message) from None
    return shocked


def _check_tail(tail: float) -> None:
    if not 0 < tail <= 0.5:
        raise ExperimentError(f"the CVaR tail is a share of replications in (0, 0.5], not {tail}")


def _check_steps(steps: int) -> None:
    if steps < 1:
        raise ExperimentError(f"the reverse stress test needs at least one step, not {steps}")


# --- reverse stress test -----------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One simulated point of the search: the shocks at ``scale`` times their extremes."""

    scale: float
    magnitudes: dict[str, float]
    value: float
    ci_low: float
    ci_high: float
    broken: bool
    certain: bool


@dataclass
class BreakingPoint:
    """The mildest magnitude of a shock (or of shocks scaled together) that breaks a limit.

    ``status`` is ``broken`` (found between ``low`` and ``high``, as fractions of the
    extremes), ``already broken`` (the baseline breaks it) or ``not broken`` (even the extreme
    does not). ``estimate`` interpolates the outcome linearly inside the final bracket;
    ``mc_low``/``mc_high`` bound it by Monte Carlo uncertainty (see the module docstring).
    ``shocks`` are the shocks scaled; ``combination``, when set, the shocks a combined search
    was asked for (:func:`combined_reverse_stress`), of which those not in ``shocks`` soften
    the others and were left out.
    """

    shocks: tuple[str, ...]
    extremes: dict[str, float]
    limit: Limit
    replications: int
    probes: list[Probe] = field(default_factory=list)
    combination: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        by_scale = {p.scale: p for p in self.probes}
        if by_scale[0.0].broken:
            return "already broken"
        if not by_scale[1.0].broken:
            return "not broken"
        return "broken"

    @property
    def low(self) -> float:
        """Largest probed scale that does not break the limit, below the breaking one."""
        return max(
            (p.scale for p in self.probes if not p.broken and p.scale < self.high), default=0.0
        )

    @property
    def high(self) -> float:
        """Smallest probed scale that breaks the limit (1.0 when none does)."""
        return min((p.scale for p in self.probes if p.broken), default=1.0)

    @property
    def estimate(self) -> float:
        """The crossing, interpolated linearly between the bracket's two probes."""
        if self.status != "broken":
            return math.nan
        by_scale = {p.scale: p for p in self.probes}
        a, b = by_scale[self.low], by_scale[self.high]
        if not (math.isfinite(a.value) and math.isfinite(b.value)) or a.value == b.value:
            return (self.low + self.high) / 2
        t = (self.limit.threshold - a.value) / (b.value - a.value)
        return self.low + min(1.0, max(0.0, t)) * (self.high - self.low)

    @property
    def mc_low(self) -> float:
        """Largest probed scale whose interval lies wholly on the safe side."""
        safe = [p.scale for p in self.probes if p.certain and not p.broken]
        return max((s for s in safe if s <= self.high), default=0.0)

    @property
    def mc_high(self) -> float:
        """Smallest probed scale whose interval lies wholly on the broken side."""
        return min((p.scale for p in self.probes if p.certain and p.broken), default=1.0)

    @property
    def label(self) -> str:
        """The shocks searched, as asked for (``recession + competitor``)."""
        return " + ".join(self.combination or self.shocks)

    @property
    def left_out(self) -> tuple[str, ...]:
        """Shocks of the combination left out of the search because they soften the others."""
        return tuple(name for name in self.combination if name not in self.shocks)

    def magnitude(self, scale: float) -> dict[str, float]:
        return {name: scale * self.extremes[name] for name in self.shocks}

    def _at(self, scale: float) -> str:
        """A scale as the single shock's magnitude, or as a share of the extremes."""
        if math.isnan(scale):
            return "-"
        if len(self.shocks) == 1:
            return f"{self.magnitude(scale)[self.shocks[0]]:.3g}"
        return f"{scale:.0%}"

    def describe(self) -> str:
        """One sentence: where the limit breaks, with the bracket and the Monte Carlo range."""
        limit = f"'{self.limit.label}'"
        single = len(self.shocks) == 1
        what = "magnitude" if single else "a share of each shock's extreme of"
        runs = f"{len(self.probes)} probes x {self.replications:,} replications"
        if self.status == "already broken":
            return f"{limit} is already broken without a shock ({runs})"
        scaled = " + ".join(self.shocks)
        if self.left_out:
            left = " and ".join(self.left_out)
            scaled = (
                f"{self.label}: the worst combination at the extremes leaves out {left}, "
                f"which softens the others; {scaled}"
            )
        if self.status == "not broken":
            return (
                f"{scaled} does not break {limit} even at its extreme "
                f"({what} {self._at(1.0)}; {runs})"
            )
        text = (
            f"{scaled} breaks {limit} at {what} about {self._at(self.estimate)} "
            f"(bisection bracket {self._at(self.low)}-{self._at(self.high)}, Monte Carlo range "
            f"{self._at(self.mc_low)}-{self._at(self.mc_high)}"
        )
        if single:
            severe = SHOCK_LIBRARY[self.shocks[0]].severities["severe"]
            text += f"; 'severe' is {severe:g}"
        return f"{text}; {runs})"

    def summary(self) -> dict[str, Any]:
        """One row: shock(s), limit, status, scale estimate, bracket, Monte Carlo range, and
        magnitudes for a single shock."""
        row: dict[str, Any] = {
            "shocks": self.label,
            "left_out": " + ".join(self.left_out),
            "limit": self.limit.label,
            "status": self.status,
            "scale": self.estimate,
            "scale_low": self.low,
            "scale_high": self.high,
            "scale_mc_low": self.mc_low,
            "scale_mc_high": self.mc_high,
            "probes": len(self.probes),
            "replications": self.replications,
        }
        if len(self.shocks) == 1:
            extreme = self.extremes[self.shocks[0]]
            for key in ("scale", "scale_low", "scale_high", "scale_mc_low", "scale_mc_high"):
                row[key.replace("scale", "magnitude")] = row[key] * extreme
        return row

    def tables(self) -> dict[str, pd.DataFrame]:
        """The one table of a search: ``probes``."""
        return {"probes": self.to_frame()}

    def identity(self) -> dict[str, Any]:
        """What was searched: the shocks, their extremes, the limit and the replications."""
        return {
            "shocks": list(self.shocks),
            "extremes": dict(self.extremes),
            "limit": self.limit.label,
            "replications": self.replications,
        }

    def to_frame(self) -> pd.DataFrame:
        """The probes, by scale."""
        rows = [
            {
                "shocks": self.label,
                "limit": self.limit.label,
                "scale": p.scale,
                **{f"magnitude_{k}": v for k, v in p.magnitudes.items()},
                "value": p.value,
                "ci_low": p.ci_low,
                "ci_high": p.ci_high,
                "broken": p.broken,
                "certain": p.certain,
            }
            for p in sorted(self.probes, key=lambda p: p.scale)
        ]
        return pd.DataFrame(rows)


def reverse_stress(
    scenario: Scenario,
    shocks: Sequence[str | ShockChoice],
    limit: str | Limit,
    *,
    reps: int | None = None,
    seed: SeedLike | None = None,
    options: RunOptions | Evaluator | None = None,
    steps: int = STEPS,
    baseline: MonteCarloResult | None = None,
    confidence: float = CONFIDENCE,
    extreme: MonteCarloResult | None = None,
    **run: Unpack[RunKeywords],
) -> BreakingPoint:
    """Search the mildest magnitude of ``shocks`` (scaled together) that breaks ``limit``.

    Probes the baseline (scale 0) and the extreme (scale 1), then bisects ``steps`` times.
    Every probe uses the same replications and seed (common random numbers).

    Parameters
    ----------
    scenario
        The validated scenario.
    shocks
        Library shock names (a severity or magnitude given is ignored: the search sets it).
    limit
        The condition that breaks the limit, e.g. ``retention<0.7``.
    reps, seed
        Replications and root seed of every probe (default: the scenario's).
    options
        The run options, or an :class:`~incentsim.montecarlo.Evaluator` to run on; probes
        stay in memory.
    baseline
        A finished run of ``scenario`` with the same replications and seed, reused for scale 0.
    extreme
        The same for the shocks at their extremes, reused for scale 1.
    **run
        Run options one by one (``executor="processes"``), replacing those of ``options``.

    Raises
    ------
    ExperimentError
        An unknown outcome in the limit, or ``steps`` below 1.
    """
    limit = parse_limit(limit)
    _check_steps(steps)
    extremes = {c.name: c.template.extreme for c in parse_shocks(list(shocks))}
    plan = RunPlan(reps, seed).resolved(scenario)
    with evaluator_for(options, **run) as ev:
        point = BreakingPoint(tuple(extremes), extremes, limit, plan.replications_for(scenario))
        known = {0.0: baseline, 1.0: extreme}

        def probe(scale: float) -> Probe:
            return _probe(ev, plan, scenario, point, scale, known.get(scale), confidence)

        if probe(0.0).broken or not probe(1.0).broken:
            return point
        low, high = 0.0, 1.0
        for _ in range(steps):
            middle = (low + high) / 2
            if probe(middle).broken:
                high = middle
            else:
                low = middle
    return point


def _probe(
    ev: Evaluator,
    plan: RunPlan,
    scenario: Scenario,
    point: BreakingPoint,
    scale: float,
    result: MonteCarloResult | None,
    confidence: float,
) -> Probe:
    """Probe ``point``'s shocks at ``scale`` (reusing ``result`` when given), in memory, and
    record the probe in ``point``."""
    limit = point.limit
    magnitudes = point.magnitude(scale)
    if result is None:
        chosen = [ShockChoice(n, m) for n, m in magnitudes.items() if scale > 0]
        case = StressCase(tuple(chosen)).scenario(scenario)
        result = ev.run(case, plan, out_dir=None)
    stats = _limit_stats(limit, result, confidence)
    broken = limit.broken(stats.mean)
    certain = limit.broken(stats.ci_low) == limit.broken(stats.ci_high) == broken
    found = Probe(scale, magnitudes, stats.mean, stats.ci_low, stats.ci_high, broken, certain)
    point.probes.append(found)
    return found


def _limit_stats(limit: Limit, result: MonteCarloResult, confidence: float) -> OutcomeStats:
    """The limit's outcome in ``result``: its mean and interval (an unknown outcome raises)."""

    check_limit(limit, result)
    return describe_outcome(limit.outcome, result.outcomes[limit.outcome].to_numpy(), confidence)


def _badness(limit: Limit, value: float) -> float:
    """How far ``value`` lies towards breaking ``limit`` (higher: worse; NaN: least bad)."""
    if not math.isfinite(value):
        return -math.inf
    return value if limit.op in (">", ">=") else -value


def combined_reverse_stress(
    scenario: Scenario,
    singles: Sequence[BreakingPoint],
    limit: str | Limit,
    *,
    reps: int | None = None,
    seed: SeedLike | None = None,
    options: RunOptions | Evaluator | None = None,
    steps: int = STEPS,
    baseline: MonteCarloResult | None = None,
    confidence: float = CONFIDENCE,
    **run: Unpack[RunKeywords],
) -> BreakingPoint:
    """Search the mildest breaking magnitude of the worst combination of the shocks searched
    alone in ``singles`` (:func:`reverse_stress` results for the same limit, replications and
    seed).

    Scaling every shock together misses a break one shock alone makes when another softens
    it (a demand surge raising the retention a competitor's offer lowers). So the combination
    starts from the shock whose extreme alone is worst for the limit and adds each other shock,
    the worst first, only when adding it at its extreme makes the outcome worse still; then its
    magnitude is bisected as in :func:`reverse_stress` (when it is one shock alone, that shock's
    own search is the answer). Its extreme is thus no milder than any single shock's: if one
    shock alone breaks the limit, the combination breaks it too. The shocks left out are named
    in the result (:attr:`BreakingPoint.left_out`).
    """
    limit = parse_limit(limit)
    names = tuple(point.shocks[0] for point in singles)
    at_extreme = {
        point.shocks[0]: probe.value
        for point in singles
        for probe in point.probes
        if probe.scale == 1.0
    }
    plan = RunPlan(reps, seed).resolved(scenario)
    with evaluator_for(options, **run) as ev:
        search = functools.partial(
            reverse_stress,
            scenario,
            limit=limit,
            reps=plan.reps,
            seed=plan.seed,
            options=ev,
            steps=steps,
            baseline=baseline,
            confidence=confidence,
        )
        if len(at_extreme) < len(names):  # the baseline itself breaks the limit
            point = search(names)
        else:
            order = sorted(names, key=lambda n: _badness(limit, at_extreme[n]), reverse=True)
            chosen, worst, worst_run = [order[0]], at_extreme[order[0]], None
            for name in order[1:]:
                trial = [*chosen, name]
                case = StressCase(
                    tuple(ShockChoice(n, SHOCK_LIBRARY[n].extreme) for n in trial)
                ).scenario(scenario)
                result = ev.run(case, plan, out_dir=None)
                value = _limit_stats(limit, result, confidence).mean
                if _badness(limit, value) > _badness(limit, worst):
                    chosen, worst, worst_run = trial, value, result
            if len(chosen) == 1:  # the worst shock alone: its own search is the answer
                single = next(p for p in singles if p.shocks == (chosen[0],))
                point = replace(single, probes=list(single.probes))
            else:
                point = search(tuple(chosen), extreme=worst_run)
    point.combination = names
    return point


def _breaking_points(
    base: Scenario,
    shocks: Sequence[ShockChoice],
    combine: bool,
    limit: Limit,
    **search: Any,
) -> list[BreakingPoint]:
    """The reverse stress tests of ``limit``: each shock alone and, with ``combine`` and
    several shocks, their worst combination (:func:`combined_reverse_stress`)."""
    names = list(dict.fromkeys(s.name for s in shocks))
    singles = [reverse_stress(base, [name], limit, **search) for name in names]
    if not (combine and len(names) > 1):
        return singles
    return [*singles, combined_reverse_stress(base, singles, limit, **search)]


def stress(
    scenario: Scenario | str | os.PathLike[str],
    shocks: Sequence[str | ShockChoice] | str | None = None,
    *,
    combine: bool = False,
    limits: Sequence[str | Limit] = (),
    reps: int | None = None,
    seed: SeedLike | None = None,
    options: RunOptions | None = None,
    overrides: Sequence[str] = (),
    tail: float = TAIL,
    steps: int = STEPS,
    confidence: float = CONFIDENCE,
    **run: Unpack[RunKeywords],
) -> StressTest:
    """Stress a scenario with library shocks, alone and combined, and search breaking points.

    Parameters
    ----------
    scenario
        A scenario or a scenario file (loaded with ``overrides``).
    shocks
        ``NAME[:SEVERITY|:MAGNITUDE]`` items (or one comma-separated string); default every
        library shock at its severe magnitude.
    combine
        Also every pair of shocks and all of them together.
    limits
        Conditions that break a limit (``retention<0.7``); for each, a reverse stress test of
        each shock (and, with ``combine``, of their worst combination, scaled together:
        :func:`combined_reverse_stress`).
    reps, seed
        Replications and root seed of every case (default: the scenario's).
    options
        The run options (:class:`~incentsim.montecarlo.RunOptions`): one executor serves
        every case; with ``out_dir`` each case's run streams into ``out_dir/<case>``
        (reverse-stress probes stay in memory).
    tail
        The CVaR tail, a share of replications.
    steps
        Bisection steps per reverse stress search.
    **run
        Run options one by one (``executor="processes", workers=4``), replacing those of
        ``options``.
    """
    _check_tail(tail)
    base = load_variants([scenario], overrides)[0][0]
    chosen = parse_shocks(shocks)
    parsed_limits = [parse_limit(text) for text in limits]
    if parsed_limits:  # before any case runs
        _check_steps(steps)
    cases = stress_cases(chosen, combine)
    shocked = _shocked_scenarios(base, cases[1:])  # before anything runs
    plan = RunPlan(reps, seed).resolved(base)
    with Evaluator(RunOptions.merged(options, **run).resolved(base)) as ev:
        # the baseline first, so that a limit on an unknown outcome fails before the shocks run
        results = ev.run_variants({BASELINE: base}, plan)
        for limit in parsed_limits:
            check_limit(limit, results[BASELINE])
        results.update(ev.run_variants(shocked, plan))
        points = [
            point
            for limit in parsed_limits
            for point in _breaking_points(
                base,
                chosen,
                combine,
                limit,
                reps=plan.reps,
                seed=plan.seed,
                options=ev,
                steps=steps,
                baseline=results[BASELINE],
                confidence=confidence,
            )
        ]
    return StressTest(cases, results, breaking_points=points, tail=tail, confidence=confidence)
