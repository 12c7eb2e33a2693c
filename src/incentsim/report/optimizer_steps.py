"""Sections of the optimisation report for the optimiser's optional steps: refinement rounds,
the coupling loop and the robust design (see :mod:`incentsim.report.optimization`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from incentsim.experiments.compare import format_value
from incentsim.montecarlo.charts import format_axis, pyplot
from incentsim.optimizer.report import base_assessment
from incentsim.report.document import Report

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from incentsim.optimizer.api import OptimizationResult

__all__ = ["add_base_note", "add_coupling", "add_refinement", "add_robust", "add_tail_check"]


def _money(value: Any) -> str:
    return format_value(value, "money")


def _design(design: dict[str, str]) -> str:
    return ", ".join(f"{g}: {c}" for g, c in design.items())


def add_base_note(report: Report, result: OptimizationResult, currency: str) -> None:
    """Say so when the base design breaks a constraint on the optimiser's scenarios: then
    what the chosen design gives up against the base is the price of the constraints."""
    base = base_assessment(result)
    if base is None or base["feasible"]:
        return
    reserve = ""
    if base["reserve"] > 0:
        reserve = (
            f"; to meet the tail-risk limit it would need a reserve of {currency} "
            f"{_money(base['reserve'])}, against {currency} "
            f"{_money(result.settings.reserve_max)} allowed"
        )
    report.add_text(
        f"The base design breaks {', '.join(_constraint(v) for v in base['violations'])} on "
        "the optimiser's scenarios "
        f"(objective {currency} {_money(base['objective'])}, expected cost {currency} "
        f"{_money(base['expected_cost'])}{reserve}). It cannot be chosen, so what the chosen "
        "design gives up against it is the price of the constraints, not a failure of the "
        "search."
    )


def _constraint(group: str) -> str:
    """A constraint group as :func:`~incentsim.optimizer.milp.assess` names it, in words."""
    if group.startswith("tail_risk"):
        return "the tail-risk limit " + group.removeprefix("tail_risk ").replace("cvar", "CVaR")
    if group == "budget":
        return "the budget (expected cost above it)"
    return group.replace("_", " ")


def add_refinement(report: Report, result: OptimizationResult, currency: str) -> None:
    """The refinement rounds: objective per round (a plot) and a table."""
    refinement = result.refinement
    assert refinement is not None
    report.add_heading("Refinement rounds")
    report.add_text(
        "After the first solve, new candidates were sampled around the chosen design's lever "
        "values in a shrinking box, simulated on the same scenarios and the problem re-solved "
        f"over every candidate so far. Stopped {refinement.stopped}.",
        note=True,
    )
    rounds = refinement.rounds
    report.add_figure(_plot_rounds(rounds, currency), caption="Objective per round")
    rows = [
        {
            "round": r["round"],
            "new candidates": r["new_candidates"],
            "candidates": r["candidates"],
            "simulations": f"{r['simulations']:,}",
            f"objective ({currency})": _money(r["objective"]),
            "gain": "" if r["improvement"] is None else f"{r['improvement']:+.3%}",
            "solver": r["status"] + ("" if r["gap"] is None else f" (gap {r['gap']:.2%})"),
            "design": _design(r["design"]),
        }
        for r in rounds
    ]
    report.attach_table("refinement", pd.DataFrame(rounds))
    report.add_table(pd.DataFrame(rows), index=False)


def _plot_rounds(rounds: list[dict[str, Any]], currency: str) -> Figure:
    """The objective per round as a gain over the first round's, in per cent (the gains are
    small against the objective, so money ticks would all read the same)."""
    plt, _ = pyplot()
    first = rounds[0]["objective"]
    gains = [100.0 * (r["objective"] - first) / max(abs(first), 1.0) for r in rounds]
    fig, ax = plt.subplots(figsize=(5.6, 3.0))
    ax.plot([r["round"] for r in rounds], gains, marker="o", color="#1f4e79")
    last = rounds[-1]["round"]
    for r, gain in zip(rounds, gains, strict=True):
        right = r["round"] == last and last > 0  # keep the last label inside the axes
        ax.annotate(
            f"{currency} {_money(r['objective'])}",
            (r["round"], gain),
            fontsize=7,
            xytext=(-6, 6) if right else (4, 6),
            textcoords="offset points",
            ha="right" if right else "left",
        )
    ax.set_xticks([r["round"] for r in rounds])
    ax.set_xlabel("round (0: the first candidates)")
    ax.set_ylabel("objective vs round 0 (%)")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:+.3f}%")
    ax.margins(x=0.15, y=0.2)
    fig.tight_layout()
    plt.close(fig)
    return fig


def add_tail_check(report: Report, result: OptimizationResult, currency: str) -> None:
    """The fresh tail checks: per design tried, the reserve the MILP gave it and the reserve
    its tail limit needs on fresh joint runs."""
    check = result.tail_check
    assert check is not None
    report.add_heading("Tail check on fresh runs")
    report.add_text(
        "The MILP sizes the reserve from the tail of the scenarios it chose the design on, "
        "which leans optimistic with few replications. Each design below was simulated as one "
        f"program on {check.replications:,} fresh replications; one needing more reserve than "
        "the maximum was excluded, and the next held to its in-sample tail plus the optimism "
        f"seen (the margin). {check.message[0].upper()}{check.message[1:]}.",
        note=check.passed,
    )
    rows = [
        {
            "design": _design(t["choice"]),
            f"margin ({currency})": _money(t["tail_margin"]),
            f"MILP reserve ({currency})": _money(t["milp_reserve"]),
            f"fresh runs need ({currency})": _money(t["fresh_reserve"]),
            "kept": "yes" if t["kept"] else "no",
        }
        for t in check.tries
    ]
    report.add_table(pd.DataFrame(rows), index=False)


def add_coupling(report: Report, result: OptimizationResult, currency: str) -> None:
    """The coupling loop: promised against joint per run."""
    coupling = result.coupling
    assert coupling is not None
    report.add_heading("Budget coupling")
    report.add_text(
        "The choice was simulated as one program (every segment, the budget and the reserve on) "
        f"over {coupling.replications:,} replications and compared with what the segments "
        "simulated alone promised; where they differed beyond noise, every candidate's value "
        "and cost were corrected per unit of its cost (a, b) and the problem re-solved. "
        f"{'Consistent' if coupling.consistent else 'Not consistent'}: stopped as "
        f"{coupling.stopped}. The joint and the segments' runs share no random numbers, so "
        f"a difference in objective below about {currency} "
        f"{_money(max(i['noise'] for i in coupling.iterations))} cannot be told from noise "
        "(more coupling.replications narrow it).",
        note=True,
    )
    rows = [
        {
            "run": i["iteration"],
            f"promised objective ({currency})": _money(i["promised_objective"]),
            f"joint objective ({currency})": _money(i["joint_objective"]),
            f"promised cost ({currency})": _money(i["promised_cost"]),
            f"joint cost ({currency})": _money(i["joint_cost"]),
            "agree": "yes" if i["objective_agrees"] and i["cost_agrees"] else "no",
            **(
                {
                    f"budget's effect on objective ({currency})": (
                        f"{i['budget_objective_effect']:+,.0f} ± "
                        f"{_money(i['budget_noise'])}"
                        + ("" if i["budget_agrees"] else " (corrected)")
                    )
                }
                if "budget_noise" in i
                else {}
            ),
            "a, b": f"{i['a']:+.3f}, {i['b']:+.3f}",
            "design": _design(i["design"]),
        }
        for i in coupling.iterations
    ]
    if any("budget_noise" in i for i in coupling.iterations):
        report.add_text(
            "Each run was repeated with the budget lifted on the same seed: the two draw the "
            "same partners and markets, so their difference (the budget's effect, with its 95% "
            "half-width) is what the pool, its cuts and the reserve do, measured far more "
            "precisely than the comparison with the segments; it is corrected when it is "
            "beyond its noise.",
            note=True,
        )
    report.attach_table("coupling", pd.DataFrame(coupling.iterations))
    report.add_table(pd.DataFrame(rows), index=False)


def add_robust(report: Report, result: OptimizationResult, currency: str) -> None:
    """The nominal against the robust design under every assumption draw."""
    robust = result.robustness
    assert robust is not None
    draws = len(robust.nominal["per_draw"])
    report.add_heading("Robust design")
    report.add_text(
        f"Every candidate was simulated under {draws} draws of the uncertain behaviour "
        f"constants ({', '.join(robust.assumptions)}) over their documented ranges. The nominal "
        "design is the one chosen under the default constants; the robust one maximises the "
        + {
            "cvar": f"mean of the worst {robust.alpha:.0%} of draws",
            "worst_case": "worst draw",
            "regret": "worst shortfall against each draw's best design (minimax regret)",
        }.get(robust.measure, "mean over draws")
        + " of the expected objective.",
        note=True,
    )
    report.add_figure(_plot_draws(robust.rows(), currency), caption="Objective per draw")
    summary = pd.DataFrame(
        [
            {
                "design": label,
                "candidates": _design(shown["design"]),
                f"expected ({currency})": _money(shown["expected"]),
                f"cvar ({currency})": _money(shown["cvar"]),
                f"worst case ({currency})": _money(shown["worst_case"]),
                **(
                    {f"largest regret ({currency})": _money(shown["max_regret"])}
                    if "max_regret" in shown
                    else {}
                ),
            }
            for label, shown in (("nominal", robust.nominal), ("robust", robust.robust))
        ]
    ).set_index("design")
    report.add_table(summary, caption="Over the draws")
    sensitivity = pd.DataFrame(
        [{"assumption": n, "rank correlation with the robust design's gain": f"{rho:+.2f}"}
         for n, rho in robust.sensitivity.items()]
    ).set_index("assumption")  # fmt: skip
    report.attach_table("robust", pd.DataFrame(robust.rows()))
    report.add_table(sensitivity, caption="Which assumptions the choice is sensitive to")


def _plot_draws(rows: list[dict[str, Any]], currency: str) -> Figure:
    """Left, each design's expected objective per draw; right, the robust design's gain over
    the nominal one per draw (small against the spread between draws)."""
    plt, _ = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 3.2))
    order = sorted(rows, key=lambda r: r["nominal_objective"])
    x = list(range(len(order)))
    labels = [str(r["draw"]) for r in order]
    left.plot(x, [r["nominal_objective"] for r in order], marker="o", label="nominal design")
    left.plot(x, [r["robust_objective"] for r in order], marker="s", label="robust design")
    left.set_ylabel(f"expected objective ({currency})")
    left.legend(frameon=False, fontsize="small")
    gains = [r["robust_objective"] - r["nominal_objective"] for r in order]
    right.bar(x, gains, color=["#2e7d32" if g >= 0 else "#c0392b" for g in gains])
    right.axhline(0.0, color="#333333", linewidth=0.8)
    right.set_ylabel(f"robust minus nominal ({currency})")
    for ax in (left, right):
        ax.set_xlabel("assumption draw (by the nominal design's objective)")
        ax.set_xticks(x, labels)
        format_axis(ax.yaxis, "money", bins=4)
    fig.tight_layout()
    plt.close(fig)
    return fig
