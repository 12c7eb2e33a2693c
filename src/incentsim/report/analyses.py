"""Reports of the analyses: a Monte Carlo run, a comparison of variants, a stress test.

Each function builds a :class:`~incentsim.report.document.Report` from a result object, writes
the HTML page and its tables (CSV and Parquet, in ``<page stem>_tables/``), and returns the
page's path. The plots are the result objects' own (``plot_cost_distribution``,
``plot_tier_migration``, ``plot_differences``, ``plot_heatmap``...).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from incentsim.report.document import Report

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from incentsim.experiments import Comparison, StressTest
    from incentsim.montecarlo import MonteCarloResult, Summary

__all__ = ["comparison_report", "run_report", "stress_report"]

#: Trajectories shown as bands in every report that has them: loyalty, retention (the active
#: share of partners) and the reserve.
BANDS: tuple[str, ...] = ("loyalty_mean", "active_share", "reserve")


def run_identity(result: MonteCarloResult) -> dict[str, Any]:
    """Scenario, content hash, seed, replications and versions of one Monte Carlo run."""
    from incentsim.montecarlo.seeding import seed_label

    manifest = result.manifest
    return {
        "scenario": manifest.get("scenario"),
        "scenario hash": manifest.get("scenario_hash"),
        "seed": seed_label(manifest.get("seed")),
        "replications": f"{result.replications:,} (blocks of {manifest.get('block_size')})",
        "incentsim": manifest.get("incentsim_version"),
        "run folder": str(result.out_dir) if result.out_dir else "in memory",
    }


def run_report(result: MonteCarloResult, path: str | os.PathLike[str]) -> Path:
    """A Monte Carlo run: summary table, cost distribution against budget and reserve, tier
    migration, loyalty, retention and reserve bands."""
    report = Report(f"Monte Carlo: {result.summary.scenario}", identity=run_identity(result))
    report.add_heading("Outcomes")
    report.add_text(
        "Mean, spread (P5-P95) across replications and the confidence interval of the mean "
        "(Wilson interval for probabilities).",
        note=True,
    )
    report.attach_table("summary", result.summary.to_frame())
    report.add_table(summary_display(result.summary), caption="Summary per outcome")
    _add_run_plots(report, result)
    return report.write(path)


def summary_display(summary: Summary) -> pd.DataFrame:
    """A run's summary as text in each outcome's unit: mean, spread and interval of the mean."""
    from incentsim.experiments.compare import format_value
    from incentsim.montecarlo.summary import outcome_unit

    level = f"{summary.confidence:.0%}"
    rows = {}
    for name, stats in summary.outcomes.items():
        unit = outcome_unit(name)
        cells = [format_value(getattr(stats, f), unit) for f in ("mean", "sd", "p5", "p50", "p95")]
        interval = f"[{format_value(stats.ci_low, unit)}, {format_value(stats.ci_high, unit)}]"
        rows[name] = [f"{stats.n:,}", *cells, interval]
    columns = ["n", "mean", "sd", "P5", "P50", "P95", f"{level} CI of the mean"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).rename_axis("outcome")


def _add_run_plots(report: Report, result: MonteCarloResult, label: str = "") -> None:
    """Cost distribution, tier migration and the :data:`BANDS` of one run."""
    suffix = f" ({label})" if label else ""
    report.add_heading(f"Cost against budget and reserve{suffix}")
    report.add_figure(result.plot_cost_distribution(), caption="Incentive cost over the horizon")
    report.add_heading(f"Tier migration{suffix}")
    _try_figure(report, result.plot_tier_migration, "Mean share of partners by tier")
    report.add_heading(f"Loyalty, retention and reserve{suffix}")
    for name in BANDS:
        if name in result.trajectory_names:
            report.add_figure(result.plot_trajectory(name), caption=f"{name}: median and P5-P95")


def _try_figure(report: Report, plot: Callable[[], Figure], caption: str) -> None:
    """Add ``plot()``, or a note when the run did not record what it needs."""
    try:
        report.add_figure(plot(), caption=caption)
    except (KeyError, ValueError) as exc:
        report.add_text(f"Not available: {exc}", note=True)


def _unit_formatters(outcome: str) -> dict[str, Callable[[float], str]]:
    """Formatters for a resilience table's columns in the outcome's unit (changes signed)."""
    from incentsim.experiments.compare import format_value
    from incentsim.montecarlo.summary import outcome_unit

    unit = outcome_unit(outcome)
    plain = ("mean", "ci_low", "ci_high", "cvar")
    signed = ("change", "change_low", "change_high")
    return {
        **{c: lambda v: format_value(v, unit) for c in plain},
        **{c: lambda v: format_value(v, unit, signed=True) for c in signed},
    }


def comparison_report(comparison: Comparison, path: str | os.PathLike[str]) -> Path:
    """A comparison of variants: paired differences with verdicts (table and chart), cost
    distributions with budget and reserve, reserve and loyalty by variant, tier migration."""
    from incentsim.montecarlo.seeding import seed_label

    identity: dict[str, Any] = {
        f"variant '{label}'": (
            f"{r.manifest.get('scenario')} (hash {r.manifest.get('scenario_hash')})"
        )
        for label, r in comparison.results.items()
    }
    identity.update(
        reference=comparison.reference,
        seed=seed_label(comparison.seed),
        replications=f"{comparison.replications:,} per variant, common random numbers",
        incentsim=comparison.identity()["incentsim_version"],
    )
    report = Report(f"Comparison: {', '.join(comparison.labels)}", identity=identity)
    if comparison.warning:
        report.add_warning(comparison.warning)
    level = f"{comparison.confidence:.0%}"
    report.add_text(
        f"Every variant ran the same {comparison.replications:,} replications with the same "
        f"seed. Differences are variant minus '{comparison.reference}', paired replication by "
        f"replication, with {level} Student-t intervals; 'reps needed' is the replication "
        f"count that would tell the variants apart with {comparison.power:.0%} power."
    )
    for note in comparison.notes:
        report.add_text(f"Note: {note}", note=True)
    report.add_heading("Paired differences")
    report.add_figure(comparison.plot_differences(), caption="Mean paired difference and interval")
    for variant in comparison.variants:
        report.add_table(
            comparison.display_frame(variant),
            caption=f"{variant} vs {comparison.reference}",
        )
    for name, frame in comparison.tables().items():
        report.attach_table(name, frame)
    report.add_text(
        "All outcomes are in the tables 'differences' and 'means' (CSV and Parquet).", note=True
    )
    report.add_heading("Cost against budget and reserve")
    report.add_figure(comparison.plot_distributions("incentive_cost"), caption="Incentive cost")
    report.add_heading("Reserve, loyalty and retention")
    for name in BANDS:
        report.add_figure(comparison.plot_trajectory(name), caption=f"{name} by variant")
    report.add_heading("Tier migration")
    for label, result in comparison.results.items():
        _try_figure(report, result.plot_tier_migration, f"Tier shares: {label}")
    return report.write(path)


def stress_report(test: StressTest, path: str | os.PathLike[str]) -> Path:
    """A stress test: budget and reserve risks, the resilience heatmap and tables per outcome,
    breaking points of the reverse stress test, cost distributions by case."""
    from incentsim.montecarlo.seeding import seed_label

    base = test.results["baseline"]
    identity = run_identity(base)
    identity.update(
        seed=seed_label(test.seed),
        replications=f"{test.replications:,} per case, common random numbers",
        cases=", ".join(test.labels),
        **{"CVaR tail": f"worst {test.tail:.0%} of replications"},
    )
    identity.pop("run folder")
    report = Report(f"Stress test: {test.scenario_name}", identity=identity)
    level = f"{test.confidence:.0%}"
    report.add_heading("Budget and reserve")
    report.add_table(
        test.display_risks(),
        caption=f"Probability of exceeding the budget and of running out of reserve ({level} "
        "Wilson intervals)",
    )
    report.add_heading("Resilience")
    report.add_figure(test.plot_heatmap(), caption="Change against the baseline per case")
    matrix = test.display_matrix()
    report.add_table(
        matrix,
        caption=f"Mean per case ('*': changed from the baseline, distinguishable at {level}); "
        f"worst CVaR: mean of the worst {test.tail:.0%} of replications",
    )
    if test.breaking_points:
        report.add_heading("Reverse stress test")
        for point in test.breaking_points:
            report.add_text(point.describe())
    report.add_heading("Resilience per outcome")
    for name in matrix.columns:
        report.add_table(test.resilience(name), caption=name, formatters=_unit_formatters(name))
    for name, frame in test.tables().items():
        report.attach_table(name, frame)
    report.add_heading("Cost against budget and reserve")
    comparison = test.comparison()
    report.add_figure(comparison.plot_distributions("incentive_cost"), caption="Incentive cost")
    report.add_heading("Reserve and loyalty by case")
    for name in BANDS:
        report.add_figure(comparison.plot_trajectory(name), caption=f"{name} by case")
    return report.write(path)
