"""Reports of the analyses: a Monte Carlo run, a comparison of variants, a stress test.

Each function builds a :class:`~incentsim.report.document.Report` from a result object, writes
the HTML page and its tables (CSV and Parquet, in ``<page stem>_tables/``), and returns the
page's path. The plots are the result objects' own (``plot_cost_distribution``,
``plot_tier_migration``, ``plot_differences``, ``plot_heatmap``...).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from incentsim.engine.outcomes import (
    KEY_OUTCOMES,
    OUTCOMES,
    constructs_in_use,
    describe,
    shown_outcomes,
)
from incentsim.experiments.batch import RESULTS, SENSITIVITY
from incentsim.experiments.compare import format_value
from incentsim.experiments.sensitivity import RANK_BY
from incentsim.montecarlo.charts import axes, finish, format_axis, period_labels, unit_label
from incentsim.montecarlo.seeding import seed_label
from incentsim.montecarlo.summary import outcome_unit
from incentsim.report import words
from incentsim.report.document import ExecutiveSummary, KeyFigure, Report

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from incentsim.experiments import Comparison, ExperimentResult, SensitivityResult, StressTest
    from incentsim.montecarlo import MonteCarloResult, Summary
    from incentsim.scenario.model import Scenario

__all__ = ["comparison_report", "run_report", "stress_report"]

#: Trajectories shown as bands in every report that has them: loyalty, retention (the active
#: share of partners) and the reserve.
BANDS: tuple[str, ...] = ("loyalty_mean", "active_share", "reserve")


def run_identity(result: MonteCarloResult) -> dict[str, Any]:
    """Scenario, content hash, seed, replications and versions of one Monte Carlo run (and the
    calibration its scenario records, if any)."""
    manifest = result.manifest
    try:
        calibration = result.scenario.calibration
    except ValueError:  # a result that does not hold its scenario
        calibration = None
    return {
        "scenario": manifest.get("scenario"),
        "scenario hash": manifest.get("scenario_hash"),
        "seed": seed_label(manifest["seed"]),
        "replications": f"{result.replications:,} (blocks of {manifest.get('block_size')})",
        "incentsim": manifest.get("incentsim_version"),
        "run folder": str(result.out_dir) if result.out_dir else "in memory",
        **({} if calibration is None else {"calibration": calibration.summary()}),
    }


def run_report(result: MonteCarloResult, path: str | os.PathLike[str]) -> Path:
    """A Monte Carlo run: an executive summary (cost, P(over budget), revenue, retention with
    intervals), the outcomes in their units (those of constructs the program does not use left
    out), cost by component, per-segment and per-region tables (a run with a panel), the cost
    distribution against budget and reserve, tier migration, tier flows (the transition table
    between tiers and the moves per period) and trajectory bands with the calendar's periods and
    shock windows."""
    summary = result.summary
    report = Report(f"Monte Carlo: {summary.scenario}", identity=run_identity(result))
    scenario = result.scenario
    report.set_summary(run_summary(summary, scenario))
    report.add_heading("Outcomes")
    report.add_text(
        "Mean, spread (P5-P95) across replications and the confidence interval of the mean "
        "(Wilson interval for probabilities); intervals stay within each outcome's bounds.",
        note=True,
    )
    report.attach_table("summary", summary.to_frame())
    shown = summary_display(summary, constructs_in_use(scenario.program))
    report.add_table(shown, caption="Summary per outcome")
    left_out = len(summary.outcomes) - len(shown)
    if left_out:
        report.add_text(
            f"{left_out} outcomes of constructs this program does not use are left out (they "
            "are in the 'summary' table).",
            note=True,
        )
    _add_cost_components(report, result)
    _add_groups(report, result)
    _add_program_changes(report, result)
    _add_run_plots(report, result)
    return report.write(path)


def _add_program_changes(report: Report, result: MonteCarloResult) -> None:
    """The program's timeline: each version's announcement, effective period, grandfathering
    and phase-in, and each contingent rule's periods in force (share of replications); the
    charts mark the same."""
    scenario = result.scenario
    program, calendar = scenario.program, scenario.calendar
    if not (program.versions or program.contingent):
        return
    labels = period_labels(calendar, calendar.horizon_periods)

    def at(period: int) -> str:
        return labels[period] if 0 <= period < len(labels) else f"period {period + 1}"

    rows = []
    for name, version in program.versions.items():
        notice = version.effective_period - version.announced
        details = [
            f"announced {at(version.announced)}"
            + (f" ({notice} periods ahead)" if notice else " (unannounced)")
        ]
        if version.grandfather_periods:
            last = version.effective_period + version.grandfather_periods - 1
            details.append(f"incumbents grandfathered through {at(last)}")
        if version.phase_in_periods > 1:
            details.append(f"phased in over {version.phase_in_periods} periods")
        rows.append((f"version {name}", f"from {at(version.effective_period)}", "; ".join(details)))
    shares = result.rule_shares()
    for name in program.contingent:
        column = shares.get(name)
        on = [] if column is None else [(k, v) for k, v in enumerate(column.tolist()) if v > 0]
        when = ", ".join(f"{at(k)} {v:.0%}" for k, v in on) or "never"
        rows.append((f"rule {name}", "in force (share of replications)", when))
    report.add_heading("Program changes")
    frame = pd.DataFrame(rows, columns=["change", "when", "details"]).set_index("change")
    report.add_table(
        frame,
        caption="Versions and contingent rules over the horizon; the charts below mark them "
        "(solid line: a version takes effect, dotted: announced, hatched: grandfathering; "
        "green strip: a rule in force, darker in more replications)",
    )
    if len(shares.columns):
        report.attach_table("rule_shares", shares)


def run_summary(summary: Summary, scenario: Scenario) -> ExecutiveSummary:
    """The executive summary of a run: cost, P(over budget), net revenue and retention, in
    words and as key figures with intervals."""
    currency, level = summary.currency, f"{summary.confidence:.0%}"
    out = summary.outcomes
    periods = period_labels(scenario.calendar, scenario.calendar.horizon_periods)
    calendar = scenario.calendar
    horizon = (
        f"{len(periods)} periods ({periods[0]} to {periods[-1]}, {calendar.start_date:%Y-%m-%d} "
        f"to {calendar.end_date:%Y-%m-%d})"
    )
    paragraphs, figures = [], []
    cost = out.get("incentive_cost")
    if cost is not None:
        share = out.get("cost_to_revenue")
        revenue = out.get("revenue_net")
        text = (
            f"Over {horizon}, {summary.replications:,} simulated replications put the expected "
            f"incentive cost at {words.amount(cost.mean, currency)} ({level} interval of the "
            f"mean {words.interval(cost.ci_low, cost.ci_high, 'incentive_cost', currency)}; "
            f"from {words.interval(cost.p5, cost.p95, 'incentive_cost', currency)} across "
            "replications, P5 to P95)"
        )
        if share is not None and revenue is not None:
            text += (
                f", {words.value(share.mean, 'cost_to_revenue', currency)} of the expected net "
                f"revenue of {words.amount(revenue.mean, currency)}"
            )
        paragraphs.append(text + ".")
        figures.append(
            KeyFigure(
                "Incentive cost (expected)",
                words.amount(cost.mean, currency),
                f"{level} CI "
                + words.interval(cost.ci_low, cost.ci_high, "incentive_cost", currency),
            )
        )
    exceeded = out.get("budget_exceeded")
    budget = scenario.horizon_budget
    if exceeded is not None and budget is not None and exceeded.n:
        hits = round(exceeded.mean * exceeded.n)
        probability = words.value(exceeded.mean, "budget_exceeded", currency)
        bounds = words.interval(exceeded.ci_low, exceeded.ci_high, "budget_exceeded", currency)
        paragraphs.append(
            f"The cost exceeded the budget of {words.amount(budget, currency)} in {hits:,} of "
            f"{exceeded.n:,} replications: a probability of {probability} ({level} interval "
            f"{bounds})."
        )
        figures.append(KeyFigure("P(over budget)", probability, f"{level} CI {bounds}"))
    elif budget is None:
        paragraphs.append("The program sets no budget, so it cannot run over one.")
    revenue = out.get("revenue_net")
    if revenue is not None:
        figures.append(
            KeyFigure(
                "Net revenue (expected)",
                words.amount(revenue.mean, currency),
                f"{level} CI "
                + words.interval(revenue.ci_low, revenue.ci_high, "revenue_net", currency),
            )
        )
    retention = out.get("retention")
    if retention is not None:
        bounds = words.interval(retention.ci_low, retention.ci_high, "retention", currency)
        paragraphs.append(
            f"{words.value(retention.mean, 'retention', currency)} of the partners active at the "
            f"start are still active at the end ({level} interval {bounds})."
        )
        figures.append(
            KeyFigure(
                "Retention",
                words.value(retention.mean, "retention", currency),
                f"{level} CI {bounds}",
            )
        )
    return ExecutiveSummary(paragraphs, figures)


def summary_display(summary: Summary, constructs: Iterable[str] | None = None) -> pd.DataFrame:
    """A run's summary as text in each outcome's unit, labelled from the outcome catalogue:
    mean, spread and interval of the mean; with ``constructs`` (those in use), outcomes of
    others left out."""
    level = f"{summary.confidence:.0%}"
    currency = summary.currency
    rows = {}
    for name in shown_outcomes(summary.outcomes, constructs):
        stats = summary.outcomes[name]
        fields = ("mean",) if stats.probability else ("mean", "sd", "p5", "p50", "p95")
        cells = [_short(getattr(stats, f), name) for f in fields]
        cells += [""] * (5 - len(cells))
        interval = f"{_short(stats.ci_low, name)} to {_short(stats.ci_high, name)}"
        rows[describe(name).label] = [_unit_name(name, currency), *cells, interval]
    columns = ["unit", "mean", "sd", "P5", "P50", "P95", f"{level} CI of the mean"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).rename_axis("outcome")


def _short(number: float, outcome: str) -> str:
    """A table cell in the outcome's unit; money with separators and without the currency
    (the unit column or the caption says it)."""
    return format_value(number, outcome_unit(outcome))


def _unit_name(outcome: str, currency: str) -> str:
    unit = describe(outcome).unit
    return unit_label(unit, currency) or ("probability" if unit == "probability" else unit)


def cost_components(result: MonteCarloResult) -> pd.DataFrame:
    """Expected cost over the horizon by component (those the program uses), then less
    clawbacks and the incentive cost: columns ``expected`` (money) and ``share`` of the cost
    (NaN when the cost is 0); empty without cost components."""
    names = shown_outcomes(
        [n for n in OUTCOMES if n.startswith("cost_") and n != "cost_to_revenue"],
        constructs_in_use(result.scenario.program),
    )
    names = [n for n in names if n in result.outcomes.columns]
    if not names:
        return pd.DataFrame(columns=["expected", "share"]).rename_axis("component")
    means = result.outcomes[[*names, "clawbacks"]].mean()
    expected = [*(float(means[n]) for n in names), -float(means["clawbacks"])]
    expected.append(sum(expected))
    total = expected[-1]
    return pd.DataFrame(
        {"expected": expected, "share": [v / total if total else float("nan") for v in expected]},
        index=[OUTCOMES[n].label.removeprefix("Cost: ") for n in names]
        + ["less clawbacks", "incentive cost"],
    ).rename_axis("component")


def _add_cost_components(report: Report, result: MonteCarloResult) -> None:
    """Expected cost by component (those the program uses), with each one's share, as a table
    and a bar chart."""
    currency = result.summary.currency
    components = cost_components(result)
    if components.empty:
        return
    frame = pd.DataFrame(
        {
            "expected": [_short(v, "incentive_cost") for v in components["expected"]],
            "share of cost": ["-" if pd.isna(v) else f"{v:.1%}" for v in components["share"]],
        },
        index=components.index,
    )
    parts = components.iloc[:-2]
    report.add_heading("Cost by component")
    report.add_table(frame, caption=f"Expected cost over the horizon ({currency})")
    fig, ax, made = axes(None, figsize=(8, 0.6 + 0.45 * len(parts)))
    ax.barh(list(parts.index), parts["expected"], color="#1f4e79")
    ax.invert_yaxis()
    format_axis(ax.xaxis, "money")
    ax.set_xlabel(f"expected cost ({currency})")
    ax.set_title("Expected incentive cost by component")
    report.add_figure(finish(fig, made), caption="Expected cost by component")


def _add_groups(report: Report, result: MonteCarloResult) -> None:
    """Per-segment and per-region tables from the run's panel (a note without one)."""
    try:
        panel = result.panel(
            columns=["segment", "region", "partner_id", "period", "active", "revenue", "accrued"]
        )
    except ValueError:
        report.add_heading("Segments and regions")
        report.add_text(
            "Per-segment and per-region tables need the partner panel: run with --panel "
            "(panel=True).",
            note=True,
        )
        return
    currency = result.summary.currency
    reps = result.replications
    last = panel["period"].max()
    report.add_heading("Segments and regions")
    for group in ("segment", "region"):
        rows = {}
        for key, part in panel.groupby(group, sort=True):
            revenue = part["revenue"].sum() / reps
            cost = part["accrued"].sum() / reps
            partners = part.groupby("replication")["partner_id"].nunique().mean()
            end = part[part["period"] == last]
            active = end["active"].mean() if len(end) else float("nan")
            rows[str(key)] = [
                f"{partners:,.0f}",
                _short(revenue, "revenue_net"),
                _short(cost, "incentive_cost"),
                f"{cost / revenue:.1%}" if revenue else "-",
                f"{active:.1%}",
            ]
        frame = pd.DataFrame.from_dict(
            rows,
            orient="index",
            columns=[
                "partners (ever joined)",
                f"revenue ({currency})",
                f"cost ({currency})",
                "cost to revenue",
                "active at the end",
            ],
        ).rename_axis(group)
        report.add_table(frame, caption=f"Expected per {group}, over the horizon")


def _add_run_plots(report: Report, result: MonteCarloResult, label: str = "") -> None:
    """Cost distribution, tier migration and the :data:`BANDS` of one run."""
    suffix = f" ({label})" if label else ""
    report.add_heading(f"Cost against budget and reserve{suffix}")
    report.add_figure(result.plot_cost_distribution(), caption="Incentive cost over the horizon")
    report.add_heading(f"Tier migration{suffix}")
    _try_figure(report, result.plot_tier_migration, "Mean share of partners by tier")
    _add_tier_flows(report, result)
    report.add_heading(f"Loyalty, retention and reserve{suffix}")
    for name in BANDS:
        if name in result.trajectory_names:
            report.add_figure(
                result.plot_trajectory(name),
                caption=f"{describe(name).label}: median and P5-P95 (shaded: shock windows"
                + ("; lines and strips: program changes)" if _changes(result) else ")"),
            )


def _changes(result: MonteCarloResult) -> bool:
    program = result.scenario.program
    return bool(program.versions or program.contingent)


def _add_tier_flows(report: Report, result: MonteCarloResult) -> None:
    """The transition table between tiers (counts and shares), the moves per period and their
    charts; a note when the run recorded no tier flows."""
    try:
        counts = result.tier_flows()
        shares = result.tier_flows(row_shares=True)
        moves = result.tier_moves()
    except ValueError as exc:
        report.add_text(f"Tier flows not available: {exc}", note=True)
        return
    report.attach_table("tier_flows", counts)
    report.attach_table("tier_moves", moves)
    shown = pd.DataFrame(
        {
            target: [
                f"{shares.at[source, target]:.1%} ({counts.at[source, target]:,.1f})"
                if counts.at[source, target] > 0
                else "-"
                for source in counts.index
            ]
            for target in counts.columns
        },
        index=counts.index,
    ).rename_axis("from \\ to")
    report.add_table(
        shown,
        caption="Where partners went from one close to the next, over the horizon: share of "
        "the row's partners (mean partners per replication); 'out': not in the program",
    )
    _try_figure(report, result.plot_tier_flows, "Tier transitions, close to close")
    report.add_table(
        moves.map(lambda v: f"{v:,.1f}"),
        caption="Partners per period (mean per replication): joined, promoted, kept their "
        "tier, demoted, left",
    )
    _try_figure(report, result.plot_tier_moves, "Moves between tiers per period")


def _try_figure(report: Report, plot: Callable[[], Figure], caption: str) -> None:
    """Add ``plot()``, or a note when the run did not record what it needs."""
    try:
        report.add_figure(plot(), caption=caption)
    except (KeyError, ValueError) as exc:
        report.add_text(f"Not available: {exc}", note=True)


def _unit_formatters(outcome: str) -> dict[str, Callable[[float], str]]:
    """Formatters for a resilience table's columns in the outcome's unit (changes signed)."""
    unit = outcome_unit(outcome)
    plain = ("mean", "ci_low", "ci_high", "cvar")
    signed = ("change", "change_low", "change_high")
    return {
        **{c: lambda v: format_value(v, unit) for c in plain},
        **{c: lambda v: format_value(v, unit, signed=True) for c in signed},
    }


def comparison_report(comparison: Comparison, path: str | os.PathLike[str]) -> Path:
    """A comparison of variants: a summary of what each variant changes, paired differences
    with verdicts (one chart per outcome in its own unit, and tables), cost distributions with
    budget and reserve, reserve and loyalty by variant, tier migration and tier transitions."""
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
    report.set_summary(comparison_summary(comparison))
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
    report.add_figure(
        comparison.plot_differences(), caption="Mean paired difference and interval, per outcome"
    )
    for variant in comparison.variants:
        report.add_table(
            _labelled(comparison.display_frame(variant)),
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
        report.add_figure(comparison.plot_trajectory(name), caption=f"{_label(name)} by variant")
    report.add_heading("Tier migration and flows")
    for label, result in comparison.results.items():
        _try_figure(report, result.plot_tier_migration, f"Tier shares: {label}")
        _try_figure(report, result.plot_tier_flows, f"Tier transitions, close to close: {label}")
    return report.write(path)


#: The outcomes a comparison's or stress test's summary speaks of, in this order.
HEADLINE: tuple[str, ...] = ("incentive_cost", "budget_exceeded", "revenue_net", "retention")


def comparison_summary(comparison: Comparison) -> ExecutiveSummary:
    """What each variant changes in cost, P(over budget), net revenue and retention, in words
    (distinguishable or not) and as key figures with intervals."""
    currency = comparison.results[comparison.reference].scenario.program.currency
    level = f"{comparison.confidence:.0%}"
    paragraphs, figures = [], []
    for variant in comparison.variants:
        phrases = []
        for name in HEADLINE:
            if name not in comparison.outcome_names:
                continue
            d = comparison.difference(variant, name)
            change = words.value(d.mean, name, currency, signed=True)
            bounds = words.interval(d.ci_low, d.ci_high, name, currency, signed=True)
            label = _label(name).lower()
            if d.verdict == "identical":
                phrases.append(f"{label}: identical in every replication")
            elif d.distinguishable:
                phrases.append(f"{label}: {change} ({level} interval {bounds}, {d.assessment})")
            else:
                phrases.append(
                    f"{label}: not distinguishable at {d.n:,} replications ({change}, "
                    f"interval {bounds})"
                )
            if len(comparison.variants) == 1:
                figures.append(
                    KeyFigure(
                        f"{_label(name)}: change", change, f"{level} CI {bounds}; {d.describe()}"
                    )
                )
        paragraphs.append(
            f"'{variant}' against '{comparison.reference}': " + "; ".join(phrases) + "."
        )
    return ExecutiveSummary(paragraphs, figures)


def _label(name: str) -> str:
    return describe(name).label


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame indexed by outcome names, indexed by their catalogue labels instead."""
    return frame.set_axis([_label(n) for n in frame.index]).rename_axis(frame.index.name)


def stress_report(test: StressTest, path: str | os.PathLike[str]) -> Path:
    """A stress test: a summary of the worst cases, budget and reserve risks, each case's
    change against the baseline (one chart per outcome in its own unit), the resilience table
    (worst cases named), breaking points of the reverse stress test, tables per outcome, cost
    distributions by case."""
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
    comparison = test.comparison()
    report.set_summary(comparison_summary(comparison))
    level = f"{test.confidence:.0%}"
    report.add_heading("Budget and reserve")
    report.add_table(
        test.display_risks(),
        caption=f"Probability of exceeding the budget and of running out of reserve ({level} "
        "Wilson intervals)",
    )
    report.add_heading("Resilience")
    report.add_figure(
        test.plot_changes(), caption="Change against the baseline per case, in each outcome's unit"
    )
    matrix = test.display_matrix()
    report.add_table(
        matrix.set_axis([_label(n) for n in matrix.columns], axis=1),
        caption=f"Mean per case ('*': changed from the baseline, distinguishable at {level}); "
        "worst case: the worst case's mean for each outcome, that case in brackets; worst "
        f"CVaR: mean of the worst {test.tail:.0%} of replications, in the case where it is worst",
    )
    if test.breaking_points:
        report.add_heading("Reverse stress test")
        for point in test.breaking_points:
            report.add_text(point.describe())
    report.add_heading("Resilience per outcome")
    headings = {
        "ci_low": f"{level} CI low",
        "ci_high": f"{level} CI high",
        "change_low": "change: CI low",
        "change_high": "change: CI high",
        "cvar": f"CVaR (worst {test.tail:.0%})",
    }
    for name in matrix.columns:
        report.add_table(
            test.resilience(name),
            caption=_label(name),
            formatters=_unit_formatters(name),
            headings=headings,
        )
    for name, frame in test.tables().items():
        report.attach_table(name, frame)
    report.add_heading("Cost against budget and reserve")
    report.add_figure(comparison.plot_distributions("incentive_cost"), caption="Incentive cost")
    report.add_heading("Reserve and loyalty by case")
    for name in BANDS:
        report.add_figure(comparison.plot_trajectory(name), caption=f"{_label(name)} by case")
    return report.write(path)


#: The index columns a sensitivity report shows per method, beside rank, factor and range.
_INDEX_COLUMNS = {
    "morris": ("mu_star", "mu_star_conf", "mu_star_rep_low", "mu_star_rep_high", "sigma", "mu"),
    "sobol": ("S1", "S1_conf", "ST", "ST_conf", "ST_rep_low", "ST_rep_high"),
}


def sensitivity_report(result: SensitivityResult, path: str | os.PathLike[str]) -> Path:
    """A self-contained HTML report of a sensitivity analysis: ranked tables, plots, noise,
    warnings and identity."""
    report = Report(
        f"{result.method.capitalize()} sensitivity of '{result.scenario_name}'",
        identity=result.identity(),
    )
    report.add_text(
        f"{len(result.sample):,} sample points, each simulated with {result.reps} replications "
        f"over the same random numbers (seed {result.seed}); factors ranked by "
        f"{RANK_BY[result.method]}. 'sample' intervals are SALib's bootstrap over the sample "
        "points; 'replication' intervals resample the replications and show how much of an "
        "index is simulation noise."
    )
    for warning in result.warnings():
        report.add_text(f"Warning: {warning}", note=True)
    report.add_heading("Factors")
    factors = pd.DataFrame([asdict(f) for f in result.factors]).fillna("(dummy)")
    report.add_table(factors, index=False)
    columns = ["rank", "factor", "range", *_INDEX_COLUMNS[result.method]]
    table = result.to_frame()
    for outcome in result.outcomes:
        report.add_heading(outcome)
        report.add_table(table[table["outcome"] == outcome][columns], index=False)
        report.add_figure(result.plot(outcome), caption=f"{result.method}: {outcome}")
    report.add_heading("Replication noise")
    report.add_table(result.noise_frame(), index=False)
    return report.write(path)


def experiment_report(result: ExperimentResult, path: str | os.PathLike[str]) -> Path:
    """A self-contained HTML report of a batch experiment's analyses."""
    plan = result.plan
    identity = {
        key.replace("_", " "): ", ".join(map(str, value)) if isinstance(value, list) else value
        for key, value in result.identity().items()
    }
    report = Report(f"Experiment '{plan.experiment.name}'", identity=identity)
    if plan.experiment.description:
        report.add_text(plan.experiment.description)
    first = plan.seeds[0]
    report.add_heading("Outcomes per variant and case")
    report.add_table(
        result.overview(),
        caption="Mean over every seed's replications, in each outcome's unit (every "
        f"outcome, per run and seed, with intervals: {RESULTS}/summary.csv)",
    )
    if len(plan.seeds) > 1:
        report.add_text(
            f"Plots are drawn for seed {first}; the tables in {RESULTS}/ cover every seed.",
            note=True,
        )
    if "compare" in result.analyses:
        report.add_heading("Variants compared (paired, common random numbers)")
        for (case, seed), comparison in result.comparisons().items():
            report.add_heading(f"{case}, seed {seed}", level=3)
            names = [n for n in KEY_OUTCOMES if n in comparison.outcome_names]
            for variant in comparison.variants:
                frame = comparison.display_frame(variant, names)
                frame.index = [describe(n).label for n in frame.index]
                report.add_table(
                    frame.rename_axis("outcome"),
                    caption=f"{variant} vs {comparison.reference}",
                )
            if seed == first:
                report.add_figure(comparison.plot_differences(), caption=f"{case}, seed {seed}")
    if "stress" in result.analyses:
        report.add_heading("Stress: budget, reserve and resilience")
        for (variant, seed), test in result.stress_tests().items():
            report.add_heading(f"{variant}, seed {seed}", level=3)
            report.add_table(test.display_risks())
            if seed == first:
                report.add_figure(test.plot_changes(), caption=f"{variant}, seed {seed}")
    if result.sensitivity is not None:
        report.add_heading("Sensitivity")
        report.add_text(
            f"{result.sensitivity.method.capitalize()} analysis of "
            f"'{result.sensitivity.scenario_name}' (ranked indices, plots and noise in "
            f"{SENSITIVITY}/sensitivity.html)."
        )
        columns = ["outcome", "rank", "factor", "range", RANK_BY[result.sensitivity.method]]
        report.add_table(result.sensitivity.to_frame()[columns], index=False)
    if result.plan.optimizations:
        report.add_heading("Optimisations")
        report.add_text(
            "Each optimisation's design (design.yaml), report and tables are in its folder "
            "under optimize/; the objective is the one promised on the optimiser's scenarios, "
            "and validation says whether fresh seeds agreed with it."
        )
        frame = result.optimizations().drop(columns=["folder"])
        frame["gap"] = frame["gap"].map(lambda g: "n/a" if pd.isna(g) else f"{g:.1e}")
        frame["objective"] = frame["objective"].map(
            lambda v: "no design" if pd.isna(v) else f"{v:,.0f}"
        )
        frame["reserve"] = frame["reserve"].map(lambda v: "-" if pd.isna(v) else f"{v:,.0f}")
        frame["validation_agrees"] = frame["validation_agrees"].map(
            lambda v: "not validated" if pd.isna(v) else ("agrees" if v else "differs")
        )
        labels = {
            "optimisation": "Optimisation",
            "description": "What it asks",
            "status": "Solver status",
            "gap": "Gap",
            "objective": "Objective (promised)",
            "reserve": "Reserve",
            "design": "Design (candidate per segment)",
            "validation_agrees": "Fresh seeds",
        }
        report.add_table(frame.rename(columns=labels), index=False)
    return report.write(path)
