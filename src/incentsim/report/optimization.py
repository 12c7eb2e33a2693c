"""The optimisation report: the chosen design against the base, the candidates, the validation.

::

    from incentsim.optimizer import optimize
    from incentsim.report import optimization_report
    result = optimize("scenarios/optimize_demo.yaml", out_dir="runs/opt")
    optimization_report(result, "runs/opt/report.html")
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from incentsim.engine.outcomes import describe
from incentsim.experiments import compare
from incentsim.experiments.compare import format_value
from incentsim.montecarlo.charts import format_axis, outcome_title, pyplot
from incentsim.montecarlo.summary import outcome_unit
from incentsim.optimizer.frontier import MEASURE_LABELS
from incentsim.optimizer.report import candidate_rows, result_dict
from incentsim.report import optimizer_steps as steps
from incentsim.report import words
from incentsim.report.analyses import _labelled
from incentsim.report.document import ExecutiveSummary, KeyFigure, Report

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from incentsim.experiments import Comparison
    from incentsim.optimizer.api import OptimizationResult
    from incentsim.optimizer.validate import Validation

__all__ = ["optimization_report"]

#: The base against the chosen design: these outcomes, in this order.
BASE_OUTCOMES: tuple[str, ...] = (
    "incentive_cost",
    "budget_exceeded",
    "net_contribution",
    "revenue_net",
    "retention",
    "loyalty_mean",
)

#: Validation figures: what each is, in the outcome catalogue's terms (unit and label).
_FIGURES: dict[str, tuple[str, str]] = {
    "objective": ("net_contribution", "Objective (net contribution and partnership value)"),
    "incentive_cost": ("incentive_cost", "Incentive cost"),
    "overrun_probability": ("budget_exceeded", "P(cost over budget + reserve)"),
    "retention": ("retention", "Retention"),
}


def optimization_report(
    result: OptimizationResult, path: str | os.PathLike[str], compare_base: bool = True
) -> Path:
    """Write the optimisation report; the page's path.

    Parameters
    ----------
    result
        What :func:`~incentsim.optimizer.optimize` returned.
    path
        The HTML page (tables in ``<stem>_tables/``).
    compare_base
        Simulate the base scenario and the chosen design over the same replications (common
        random numbers, the validation's replication count) and show what the design changes.
    """
    data = result_dict(result)
    currency = result.base.program.currency
    report = Report(
        f"Optimisation: {result.base.name}",
        identity={
            "optimisation file": data["optimisation_file"],
            "seed": data["simulation"]["seed"],
            "replications per candidate": data["simulation"]["replications"],
            "solver": result.solution.describe(),
            **data["settings"],
        },
    )
    comparison = _base_comparison(result) if compare_base and result.design else None
    report.set_summary(_summary(result, comparison, currency))
    report.add_heading("Chosen design")
    if not result.chosen:
        diagnosis = result.solution.diagnosis
        report.add_text(
            f"No design: {data['solver']['status']}. {diagnosis.message if diagnosis else ''}"
        )
    else:
        if data["solver"]["status"] != "optimal":
            report.add_text("Not proven optimal: the solver stopped at its time limit.")
        choice = pd.DataFrame(
            [
                {"segment": g, "candidate": c.id, "design": c.label()}
                for g, c in result.chosen.items()
            ]
        ).set_index("segment")
        report.add_table(
            choice,
            caption="Per segment; reserve "
            + words.amount(result.solution.reserve or 0.0, currency),
        )
        steps.add_base_note(report, result, currency)
    if result.refinement is not None:
        steps.add_refinement(report, result, currency)
    if result.coupling is not None:
        steps.add_coupling(report, result, currency)
    if result.tail_check is not None:
        steps.add_tail_check(report, result, currency)
    if result.robustness is not None:
        steps.add_robust(report, result, currency)
    if result.program_wide is not None:
        _add_program_wide(report, result, currency)
    if result.frontier is not None:
        _add_frontier(report, result, currency)
    if result.stability is not None:
        _add_stability(report, result)
    if comparison is not None:
        report.add_heading("The base against the chosen design")
        report.add_text(
            f"Both simulated over the same {comparison.replications:,} replications (common "
            "random numbers); differences are the design minus the base.",
            note=True,
        )
        names = [n for n in BASE_OUTCOMES if n in comparison.outcome_names]
        report.add_figure(comparison.plot_differences(names), caption="Design minus base")

        report.add_table(
            _labelled(comparison.display_frame(comparison.variants[0], names)),
            caption="Base and chosen design",
        )
    if result.validation is not None:
        report.add_heading("Promised against realised on fresh simulations")
        report.add_text(
            "The optimiser's promises come from the scenarios it chose on; the design was then "
            f"simulated as one program on {result.validation.replications:,} fresh replications.",
            note=True,
        )
        report.add_figure(_plot_validation(result.validation, currency), caption="Validation")
        report.attach_table("validation", pd.DataFrame(data["validation"]["comparisons"]))
        report.add_table(_validation_frame(result.validation, currency), caption="95% intervals")
        for warning in result.validation.warnings:
            report.add_text(f"Warning: {warning}")
    rows = pd.DataFrame(candidate_rows(result))
    report.attach_table("candidates", rows)
    report.add_heading("Candidates (expected outcomes on the optimiser's scenarios)")
    if len(rows):
        report.add_figure(_plot_candidates(rows, currency), caption="Candidates per segment")
        report.add_table(_candidate_frame(rows, currency), index=False)
    return report.write(path)


def _add_frontier(report: Report, result: OptimizationResult, currency: str) -> None:
    """The design re-chosen over the frontier's sweep: cost against the measure, and a table."""
    frontier = result.frontier
    assert frontier is not None
    label = MEASURE_LABELS[frontier.measure]
    report.add_heading("Trade-off frontier")
    if frontier.measure == "objective":
        sweep = (
            "The design re-chosen at each budget on the same simulations (nothing "
            "re-simulated): what more budget buys in objective and retention, and where it "
            "stops buying anything."
        )
    else:
        sweep = (
            f"The design re-chosen at each floor on the program's {label}, on the same "
            "simulations (nothing re-simulated), keeping the objective, the budget and every "
            f"other rule: what each step of {label} costs, and where no design reaches it."
        )
    base = (
        ""
        if frontier.base is not None
        else " The base design is not among the candidates of every segment "
        "(include_base: false), so it is not marked."
    )
    missing = [
        _swept_text(p[frontier.swept], frontier.measure) for p in frontier.points if not p["design"]
    ]
    none = f" No design meets every rule at: {', '.join(missing)}." if missing else ""
    report.add_text(
        f"{sweep} Hollow grey points are dominated: another point costs no more and does no "
        f"worse on {label}"
        + ("" if frontier.measure == "objective" else " (it was chosen for its higher objective)")
        + f".{none}{base}",
        note=True,
    )
    report.add_figure(_plot_frontier(result, currency), caption=f"Expected cost against {label}")
    unit = _frontier_unit(frontier.measure)
    swept = f"budget ({currency})" if frontier.measure == "objective" else f"{label} floor"
    if unit == "money" and frontier.measure != "objective":
        swept += f" ({currency})"
    rows = [
        {
            swept: format_value(p[frontier.swept], unit),
            "status": p["status"],
            f"expected cost ({currency})": format_value(p["expected_cost"], "money"),
            f"objective ({currency})": format_value(p["objective"], "money"),
            f"reserve ({currency})": format_value(p["reserve"], "money"),
            "P(cost over budget + reserve)": format_value(p["overrun_probability"], "share"),
            "retention": format_value(p["retention"], "share"),
            "small-partner share": format_value(p["small_partner_share"], "share"),
            f"net revenue ({currency})": format_value(p["revenue"], "money"),
            "dominated": "yes" if p["dominated"] else "",
            "design": p["design"] or "none",
        }
        for p in frontier.points
    ]
    report.attach_table("frontier", pd.DataFrame(frontier.points))
    report.add_table(pd.DataFrame(rows), index=False)


def _frontier_unit(measure: str) -> Literal["share", "money"]:
    """The unit of a frontier measure's swept value and figure."""
    return "share" if measure in ("retention", "fairness") else "money"


def _plot_frontier(result: OptimizationResult, currency: str) -> Figure:
    """Expected cost against the frontier's measure per swept value: the points not dominated
    joined, the dominated hollow; the base design a black square, the design chosen on the
    file's settings ringed."""
    plt, _ = pyplot()
    frontier = result.frontier
    assert frontier is not None
    figure, unit = frontier.figure, _frontier_unit(frontier.measure)
    points = [p for p in frontier.points if p["design"]]
    front = sorted((p for p in points if not p["dominated"]), key=lambda p: p["expected_cost"])
    dominated = [p for p in points if p["dominated"]]
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    what = "budget" if frontier.measure == "objective" else "floor"
    ax.plot(
        [p["expected_cost"] for p in front],
        [p[figure] for p in front],
        marker="o",
        color="#7a9cc6",
        label=f"design chosen at each {what}",
    )
    if dominated:
        ax.scatter(
            [p["expected_cost"] for p in dominated], [p[figure] for p in dominated],
            facecolors="none", edgecolors="#999999", label="dominated", zorder=2,
        )  # fmt: skip
    labels: dict[tuple[float, float], list[str]] = {}  # values choosing one design share a label
    for p in points:
        key = (round(p["expected_cost"], 6), round(p[figure], 9))
        labels.setdefault(key, []).append(_swept_text(p[frontier.swept], frontier.measure))
    for key, texts in labels.items():
        ax.annotate(
            f"{what} " + ", ".join(texts),
            key,
            fontsize=7,
            xytext=(5, -10),
            textcoords="offset points",
        )
    if frontier.base is not None:
        ax.scatter(
            [frontier.base["expected_cost"]], [frontier.base[figure]], marker="s",
            color="#333333", label="base design", zorder=3,
        )  # fmt: skip
    if frontier.chosen is not None:
        ax.scatter(
            [frontier.chosen["expected_cost"]], [frontier.chosen[figure]], s=160,
            facecolors="none", edgecolors="#c0392b", linewidths=2,
            label=f"chosen (budget {_short_money(result.settings.budget)})", zorder=4,
        )  # fmt: skip
    ax.margins(0.1)
    ax.set_xlabel(f"expected incentive cost ({currency})")
    label = MEASURE_LABELS[frontier.measure]
    ax.set_ylabel(f"{label} ({currency})" if unit == "money" else label)
    format_axis(ax.xaxis, "money", bins=5)
    format_axis(ax.yaxis, unit, bins=5)
    ax.legend(frameon=False, fontsize="small")
    fig.tight_layout()
    plt.close(fig)
    return fig


def _swept_text(value: float, measure: str) -> str:
    """A swept budget or floor in a few characters (1.2M, 850k, 90%)."""
    return f"{100 * value:.3g}%" if _frontier_unit(measure) == "share" else _short_money(value)


def _short_money(value: float) -> str:
    """A budget in a few characters (1.2M, 850k)."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:.3g}M"
    return f"{value / 1e3:.3g}k"


def _add_program_wide(report: Report, result: OptimizationResult, currency: str) -> None:
    """The program-wide levers' options, each simulated jointly with the chosen design."""
    choice = result.program_wide
    assert choice is not None
    report.add_heading("Program-wide choices")
    report.add_text(
        "The shortfall policy and the reserve's contribution rule act only when the one budget "
        "binds, so each option was simulated with the chosen segment designs as one program "
        f"(budget and reserve on) over the optimiser's {choice.replications:,} replications. "
        "The option chosen has the highest objective among those overrunning budget + reserve "
        "in at most alpha of the replications.",
        note=True,
    )
    rows = [
        {
            "option": ", ".join(
                f"{p.removeprefix('program.')}={v}" for p, v in o["settings"].items()
            )
            + (" (chosen)" if o["chosen"] else ""),
            f"objective ({currency})": format_value(o["objective"], "money"),
            f"incentive cost ({currency})": format_value(o["incentive_cost"], "money"),
            "P(cost over budget + reserve)": format_value(o["overrun_probability"], "share"),
            "retention": format_value(o["retention"], "share"),
        }
        for o in choice.options
    ]
    report.attach_table("program_wide", pd.DataFrame(choice.rows()))
    report.add_table(pd.DataFrame(rows).set_index("option"), caption="Means per option")


def _add_stability(report: Report, result: OptimizationResult) -> None:
    """How often each segment's choice comes back on bootstrap resamples of the scenarios."""
    stability = result.stability
    assert stability is not None
    report.add_heading("How stable the choice is")
    report.add_text(
        f"The choice re-made on {stability.resamples:,} bootstrap resamples of the optimiser's "
        f"{result.simulations.replications:,} scenarios (drawn with replacement, the same for "
        "every candidate). A segment whose choice seldom comes back is choosing between "
        "designs its scenarios cannot tell apart.",
        note=True,
    )
    rows = []
    for g, chosen in stability.chosen.items():
        others = [f"{c} ({n / stability.resamples:.0%})" for c, n in stability.picks[g].items()]
        others = [o for o in others if not o.startswith(f"{chosen} (")]
        rows.append(
            {
                "segment": g,
                "chosen": chosen,
                "kept in": f"{stability.share(g):.0%}",
                "picked instead": ", ".join(others) or "none",
            }
        )
    rows.append(
        {
            "segment": "whole design",
            "chosen": ", ".join(stability.chosen.values()),
            "kept in": f"{stability.same_design_share:.0%}",
            "picked instead": (
                f"no design in {stability.no_design} resamples" if stability.no_design else ""
            ),
        }
    )
    report.attach_table("stability", pd.DataFrame(stability.rows()))
    report.add_table(pd.DataFrame(rows).set_index("segment"), caption="Share of resamples")
    if stability.losses:
        loss = stability.loss_summary()
        report.add_text(
            "What the flips cost: the designs picked on the resamples, assessed on all the "
            f"optimiser's scenarios, give up a median {loss['median_share']:.2%} of the "
            f"chosen design's objective (90th percentile {loss['p90_share']:.2%}); "
            f"{stability.feasible_on_all} of {len(stability.losses)} meet every constraint "
            "there (a negative loss is a design that does better by breaking one). Small "
            "losses mean the choice is among near-equal designs, not a fragile one."
        )


def _base_comparison(result: OptimizationResult) -> Comparison:
    assert result.design is not None  # compared only when a design was found
    reps = result.validation.replications if result.validation else result.spec.replications
    return compare(
        [result.base, result.design],
        reps=reps,
        seed=result.spec.seed,
        names=["base", "chosen design"],
        progress=False,
    )


def _summary(
    result: OptimizationResult, comparison: Comparison | None, currency: str
) -> ExecutiveSummary:
    paragraphs: list[str] = []
    figures: list[KeyFigure] = []
    if not result.chosen:
        paragraphs.append(f"No design was found: {result.solution.status}.")
        return ExecutiveSummary(paragraphs, figures)
    designs = "; ".join(f"{g}: {c.label()}" for g, c in result.chosen.items())
    program_wide = ""
    if result.program_wide is not None:
        program_wide = " and, for the whole program, " + ", ".join(
            f"{p.removeprefix('program.')}={v}" for p, v in result.program_wide.chosen.items()
        )
    paragraphs.append(
        f"The optimiser chose, per segment, {designs}, with a reserve of "
        f"{words.amount(result.solution.reserve or 0.0, currency)}{program_wide} "
        f"(solver: {result.solution.status})."
    )
    if comparison is not None:
        variant = comparison.variants[0]
        phrases = []
        for name in ("incentive_cost", "net_contribution", "retention"):
            d = comparison.difference(variant, name)
            change = words.value(d.mean, name, currency, signed=True)
            phrases.append(f"{_label(name).lower()} {change}, {d.describe()}")
            figures.append(
                KeyFigure(
                    f"{_label(name)}: design vs base",
                    change,
                    "95% CI " + words.interval(d.ci_low, d.ci_high, name, currency, signed=True),
                )
            )
        paragraphs.append(
            "Against the base program, the design changes " + "; ".join(phrases) + "."
        )
    if result.stability is not None:
        paragraphs.append(
            f"On {result.stability.resamples:,} bootstrap resamples of the scenarios the whole "
            f"design came back in {result.stability.same_design_share:.0%} of them; per segment: "
            + ", ".join(f"{g} {result.stability.share(g):.0%}" for g in result.stability.chosen)
            + (
                f"; the designs picked instead give up a median "
                f"{result.stability.loss_summary()['median_share']:.2%} of the objective."
                if result.stability.losses
                else "."
            )
        )
    if result.validation is not None:
        agree = not result.validation.warnings
        paragraphs.append(
            "On fresh simulations the promises "
            + ("held within sampling noise." if agree else "did not all hold: see the warnings.")
        )
    return ExecutiveSummary(paragraphs, figures)


def _label(name: str) -> str:
    return describe(name).label


def _validation_frame(validation: Validation, currency: str) -> pd.DataFrame:
    rows = {}
    for c in validation.comparisons:
        outcome, label = _FIGURES.get(c.name, (c.name, c.name))
        rows[label] = [
            words.value(c.promised, outcome, currency),
            words.interval(c.promised_low, c.promised_high, outcome, currency),
            words.value(c.realised, outcome, currency),
            words.interval(c.realised_low, c.realised_high, outcome, currency),
            "yes" if c.agree else "no: beyond sampling noise",
        ]
    columns = ["promised", "promised 95% CI", "realised", "realised 95% CI", "agree"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).rename_axis("figure")


def _plot_validation(validation: Validation, currency: str) -> Figure:
    """One panel per figure: promised and realised with their intervals, in the figure's unit."""
    plt, _ = pyplot()
    n = len(validation.comparisons)
    fig, grid = plt.subplots(1, n, figsize=(3.2 * n, 2.2), squeeze=False)
    for ax, c in zip(grid.flat, validation.comparisons, strict=True):
        outcome, label = _FIGURES.get(c.name, (c.name, c.name))
        for y, (centre, low, high, colour) in enumerate(
            [
                (c.promised, c.promised_low, c.promised_high, "#7f8c8d"),
                (c.realised, c.realised_low, c.realised_high, "#1f4e79"),
            ]
        ):
            if math.isfinite(centre):
                err = [[max(centre - low, 0.0)], [max(high - centre, 0.0)]]
                ax.errorbar(centre, y, xerr=err, fmt="o", color=colour, capsize=3)
        ax.set_yticks([0, 1], ["promised", "realised"])
        ax.set_ylim(1.6, -0.6)
        title = outcome_title(outcome, currency) if c.name != "objective" else f"{label}"
        ax.set_title(title, fontsize="small", wrap=True)
        format_axis(ax.xaxis, "probability" if c.probability else outcome_unit(outcome), bins=3)
        ax.tick_params(axis="x", labelsize="small")
    fig.tight_layout()
    plt.close(fig)
    return fig


def _plot_candidates(rows: pd.DataFrame, currency: str) -> Figure:
    """Per segment, each candidate's expected cost against its value; the base design a black
    square, the chosen one ringed."""
    plt, _ = pyplot()
    segments = list(dict.fromkeys(rows["segment"]))
    fig, grid = plt.subplots(1, len(segments), figsize=(4.2 * len(segments), 3.4), squeeze=False)
    for ax, segment in zip(grid.flat, segments, strict=True):
        part = rows[rows["segment"] == segment]
        ax.scatter(part["incentive_cost"], part["value"], color="#7a9cc6", label="candidate")
        base = part[part["candidate"] == "base"]
        ax.scatter(
            base["incentive_cost"], base["value"], marker="s", color="#333333", label="base design"
        )
        chosen = part[part["chosen"]]
        ax.scatter(
            chosen["incentive_cost"],
            chosen["value"],
            s=140,
            facecolors="none",
            edgecolors="#c0392b",
            linewidths=2,
            label="chosen",
        )
        for _, row in chosen.iterrows():
            ax.annotate(
                row["candidate"],
                (row["incentive_cost"], row["value"]),
                fontsize=8,
                xytext=(6, 4),
                textcoords="offset points",
            )
        ax.set_title(segment, fontsize="medium")
        ax.set_xlabel(f"expected incentive cost ({currency})")
        ax.set_ylabel(f"expected value ({currency})")
        format_axis(ax.xaxis, "money", bins=4)
        format_axis(ax.yaxis, "money", bins=4)
        ax.legend(frameon=False, fontsize="small")
    fig.tight_layout()
    plt.close(fig)
    return fig


def _candidate_frame(rows: pd.DataFrame, currency: str) -> pd.DataFrame:
    """The candidates as text: the chosen one marked, money and shares in their units."""

    def money(v: Any) -> str:
        return format_value(v, "money")

    def share(v: Any) -> str:
        return format_value(v, "share")

    return pd.DataFrame(
        {
            "segment": rows["segment"],
            "candidate": rows["candidate"] + rows["chosen"].map({True: " (chosen)", False: ""}),
            "design": rows["design"],
            f"value ({currency})": rows["value"].map(money),
            f"incentive cost ({currency})": rows["incentive_cost"].map(money),
            "retention": rows["retention"].map(share),
            "loyalty": rows["loyalty"].map(lambda v: format_value(v, "index")),
            f"paid to smaller partners ({currency})": rows["small_partner_paid"].map(money),
            f"paid ({currency})": rows["paid"].map(money),
        }
    )
