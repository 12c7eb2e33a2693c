"""Excel workbooks of a Monte Carlo run, a comparison and a stress test (``--excel FILE.xlsx``).

The numbers of the HTML report, as numbers a finance team can pivot and chart: an ``about``
sheet (what ran), a ``summary`` sheet first (every outcome the program can move, with its
unit, spread and the interval of its mean), then one sheet per table. Each cell is shown in
its outcome's unit (money with thousands separators, shares and probabilities as percentages,
dates as dates) by :func:`incentsim._workbook.write_workbook`, the writer ``payout --excel``
uses too.

::

    from incentsim.report.workbook import run_workbook
    run_workbook(result, "out/run.xlsx")
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from incentsim._workbook import COUNT, MONEY, NUMBER, PERCENT, Sheet, write_workbook
from incentsim.engine.outcomes import constructs_in_use, describe, shown_outcomes
from incentsim.montecarlo.charts import unit_label
from incentsim.montecarlo.tidy import trajectory_bands
from incentsim.report.analyses import cost_components, run_identity

if TYPE_CHECKING:
    from incentsim.engine.outcomes import Unit
    from incentsim.experiments import Comparison, StressTest
    from incentsim.montecarlo import MonteCarloResult
    from incentsim.scenario.model import Scenario

__all__ = ["comparison_workbook", "run_workbook", "stress_workbook", "unit_format"]

_FORMATS: dict[str, str] = {
    "money": MONEY,
    "share": PERCENT,
    "probability": PERCENT,
    "count": "#,##0.0",
    "score": "0.00",
    "index": "0.000",
    "number": NUMBER,
}
_PARTNERS = "#,##0.0"


def unit_format(unit: Unit) -> str:
    """The Excel number format a value in ``unit`` is shown with."""
    return _FORMATS.get(unit, NUMBER)


def _outcome_formats(outcomes: Iterable[str]) -> list[str]:
    return [unit_format(describe(name).unit) for name in outcomes]


def _unit_text(name: str, currency: str) -> str:
    unit = describe(name).unit
    return unit_label(unit, currency) or unit


def _about(facts: dict[str, Any], scenario: Scenario) -> Sheet:
    """What ran, with the calendar's horizon in fiscal periods and dates."""
    cal = scenario.calendar
    rows = {
        **{k: v for k, v in facts.items() if v is not None},
        "currency": scenario.program.currency,
        "horizon": f"{cal.horizon_text}: {cal.period_label(0)} to "
        f"{cal.period_label(cal.horizon_periods - 1)}",
        "first day": cal.start_date,
        "last day": cal.end_date,
        "workbook created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    frame = pd.DataFrame({"item": list(rows), "value": [_cell(v) for v in rows.values()]})
    return Sheet(
        frame,
        {"value": ["yyyy-mm-dd" if isinstance(v, dt.date) else "General" for v in frame["value"]]},
    )


def _cell(value: Any) -> Any:
    if isinstance(value, dt.date | int | float | str):
        return value
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def _summary_sheet(result: MonteCarloResult, names: Sequence[str]) -> Sheet:
    stats = result.summary.to_frame().loc[list(names)]
    level = f"{result.summary.confidence:.0%}"
    frame = pd.DataFrame(
        {
            "outcome": [describe(n).label for n in names],
            "name": list(names),
            "unit": [_unit_text(n, result.summary.currency) for n in names],
            "mean": stats["mean"].to_numpy(),
            "sd": stats["sd"].to_numpy(),
            "P5": stats["p5"].to_numpy(),
            "P50": stats["p50"].to_numpy(),
            "P95": stats["p95"].to_numpy(),
            f"{level} CI low": stats["ci_low"].to_numpy(),
            f"{level} CI high": stats["ci_high"].to_numpy(),
            "replications": stats["n"].to_numpy(),
        }
    )
    per_row = _outcome_formats(names)
    values = ["mean", "sd", "P5", "P50", "P95", f"{level} CI low", f"{level} CI high"]
    return Sheet(frame, {**dict.fromkeys(values, per_row), "replications": COUNT})


def _shown(result: MonteCarloResult) -> list[str]:
    return shown_outcomes(result.summary.outcomes, constructs_in_use(result.scenario.program))


def run_workbook(result: MonteCarloResult, path: str | os.PathLike[str]) -> Path:
    """A Monte Carlo run as a workbook: ``about``, ``summary`` (outcomes of the constructs the
    program uses), ``cost by component``, ``trajectories`` (per period, mean and P5/P50/P95,
    fiscal period names and dates), ``tier flows`` (partners and shares), ``tier moves`` per
    period and ``replications`` (one row per replication)."""
    names = _shown(result)
    sheets = {
        "about": _about(run_identity(result), result.scenario),
        "summary": _summary_sheet(result, names),
    }
    components = cost_components(result)
    if not components.empty:
        sheets["cost by component"] = Sheet(components, {"expected": MONEY, "share": PERCENT})
    bands = trajectory_bands(result)
    per_row = [unit_format(u) for u in bands["unit"]]
    sheets["trajectories"] = Sheet(bands, dict.fromkeys(("mean", "p5", "p50", "p95"), per_row))
    try:
        flows, shares, moves = (
            result.tier_flows(),
            result.tier_flows(row_shares=True),
            result.tier_moves(),
        )
    except ValueError:
        pass
    else:
        sheets["tier flows"] = Sheet(flows, dict.fromkeys(flows.columns, _PARTNERS))
        sheets["tier flow shares"] = Sheet(shares, dict.fromkeys(shares.columns, PERCENT))
        sheets["tier moves"] = Sheet(moves, dict.fromkeys(moves.columns, _PARTNERS))
    outcomes = result.outcomes[[n for n in names if n in result.outcomes.columns]]
    sheets["replications"] = Sheet(
        outcomes, dict(zip(outcomes.columns, _outcome_formats(outcomes.columns), strict=True))
    )
    return write_workbook(path, sheets)


def comparison_workbook(comparison: Comparison, path: str | os.PathLike[str]) -> Path:
    """A comparison as a workbook: ``about``, ``differences`` (each variant against the
    reference, outcome by outcome: means, paired difference and its interval, verdict,
    replications needed) and ``means`` (each variant's mean per outcome)."""
    reference = comparison.results[comparison.reference]
    currency = reference.summary.currency
    shown = set().union(*(_shown(r) for r in comparison.results.values()))
    level = f"{comparison.confidence:.0%}"
    differences = comparison.to_frame()
    differences = differences[differences["outcome"].isin(shown)].reset_index(drop=True)
    frame = pd.DataFrame(
        {
            "variant": differences["variant"],
            "reference": differences["reference"],
            "outcome": [describe(n).label for n in differences["outcome"]],
            "name": differences["outcome"],
            "unit": [_unit_text(n, currency) for n in differences["outcome"]],
            "reference mean": differences["reference_mean"],
            "variant mean": differences["variant_mean"],
            "difference": differences["mean"],
            f"{level} CI low": differences["ci_low"],
            f"{level} CI high": differences["ci_high"],
            "verdict": differences["verdict_text"],
            "reps needed": [None if pd.isna(v) else int(v) for v in differences["reps_needed"]],
            "replications": differences["n"],
        }
    )
    per_row = _outcome_formats(differences["outcome"])
    values = ("reference mean", "variant mean", "difference", f"{level} CI low", f"{level} CI high")
    means = comparison.means()
    means = means.loc[[n for n in means.index if n in shown]]
    labelled = means.set_axis([describe(n).label for n in means.index]).rename_axis("outcome")
    labelled.insert(0, "unit", [_unit_text(n, currency) for n in means.index])
    facts = {
        "variants": ", ".join(comparison.labels),
        "reference": comparison.reference,
        "replications": comparison.replications,
        "warning": comparison.warning,
    }
    sheets = {
        "about": _about(facts, reference.scenario),
        "differences": Sheet(frame, {**dict.fromkeys(values, per_row), "reps needed": COUNT}),
        "means": Sheet(labelled, dict.fromkeys(means.columns, _outcome_formats(means.index))),
    }
    return write_workbook(path, sheets)


def _risk_heading(column: str, level: str) -> str:
    """``p_budget_exceeded_low`` -> ``P(over budget): 95% CI low``; ``reserve_min_mean`` ->
    ``Lowest reserve (mean)``."""
    if column.startswith("p_"):
        name = column.removeprefix("p_")
        for end, words in (("_low", f": {level} CI low"), ("_high", f": {level} CI high")):
            if name.endswith(end):
                return f"P({describe(name.removesuffix(end)).label.lower()}){words}"
        return f"P({describe(name).label.lower()})"
    if column.endswith("_mean"):
        return f"{describe(column.removesuffix('_mean')).label} (mean)"
    return column


def stress_workbook(test: StressTest, path: str | os.PathLike[str]) -> Path:
    """A stress test as a workbook: ``about``, ``risks`` (probability of exceeding the budget
    and of running out of reserve per case, with intervals), ``resilience`` (per outcome and
    case: mean, interval, change against the baseline, verdict, CVaR) and, with limits,
    ``breaking points`` and ``probes``."""
    base = test.results["baseline"]
    currency = base.summary.currency
    level = f"{test.confidence:.0%}"
    risks = test.risks()
    risk_formats = {
        c: PERCENT if c.startswith("p_") else MONEY if c.endswith("_mean") else COUNT
        for c in risks.columns
    }
    headings = {c: _risk_heading(c, level) for c in risks.columns}
    risks = risks.rename(columns=headings)
    risk_formats = {headings[c]: f for c, f in risk_formats.items()}
    resilience = test.resilience_frame().reset_index()
    names = resilience["outcome"].tolist()
    resilience.insert(1, "label", [describe(n).label for n in names])
    resilience.insert(2, "unit", [_unit_text(n, currency) for n in names])
    resilience = resilience.rename(
        columns={
            "ci_low": f"{level} CI low",
            "ci_high": f"{level} CI high",
            "change_low": "change: CI low",
            "change_high": "change: CI high",
            "cvar": f"CVaR (worst {test.tail:.0%})",
        }
    )
    per_row = _outcome_formats(names)
    columns = (
        "mean",
        f"{level} CI low",
        f"{level} CI high",
        "change",
        "change: CI low",
        "change: CI high",
        f"CVaR (worst {test.tail:.0%})",
    )
    facts = {
        "scenario": test.scenario_name,
        "cases": ", ".join(test.labels),
        "replications": test.replications,
        "CVaR tail": f"worst {test.tail:.0%} of replications",
    }
    sheets = {
        "about": _about(facts, base.scenario),
        "risks": Sheet(risks, risk_formats),
        "resilience": Sheet(resilience, dict.fromkeys(columns, per_row), index=False),
    }
    tables = test.tables()
    for name in ("breaking_points", "probes"):
        if name in tables:
            sheets[name.replace("_", " ")] = Sheet(tables[name])
    return write_workbook(path, sheets)
