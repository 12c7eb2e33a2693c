"""Tier flows of a run: how partners move between tiers from one period close to the next.

Read from the ``tier_flow/<from>-><to>`` trajectories the engine records
(:mod:`incentsim.engine.tier_flow`), as means over replications:

- :func:`flow_matrix`: partners moving from each state (rows) to each state (columns), over
  the horizon or in one period; ``row_shares=True`` gives where the partners of each state went;
- :func:`tier_moves`: per period, how many partners joined, left, were promoted, demoted or
  kept their tier (states rank ``out``, ``unqualified``, then the tiers lowest first);
- :func:`plot_flow_matrix` and :func:`plot_tier_moves`: the two as charts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from incentsim.engine.tier_flow import OUT, TIER_FLOW_PREFIX, flow_states
from incentsim.montecarlo import charts

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from incentsim.montecarlo.summary import Summary
    from incentsim.scenario.model import Scenario

__all__ = ["MOVES", "flow_matrix", "plot_flow_matrix", "plot_tier_moves", "tier_moves"]

#: The kinds of move :func:`tier_moves` counts, in its column order.
MOVES: tuple[str, ...] = ("joined", "promoted", "kept", "demoted", "left")


def _flows(summary: Summary) -> dict[tuple[str, str], np.ndarray]:
    """``(from, to)`` -> mean partners per period."""
    flows = {
        flow_states(name): band.mean
        for name, band in summary.trajectories.items()
        if name.startswith(TIER_FLOW_PREFIX)
    }
    if not flows:
        raise ValueError(f"the run recorded no '{TIER_FLOW_PREFIX}<from>-><to>' trajectories")
    return flows


def _states(flows: dict[tuple[str, str], np.ndarray]) -> list[str]:
    """The states in rank order: out, unqualified, then the tiers as recorded (lowest first)."""
    seen: list[str] = []
    for source, target in flows:
        for state in (source, target):
            if state not in seen:
                seen.append(state)
    return [OUT, *(s for s in seen if s != OUT)]


def flow_matrix(
    summary: Summary, period: int | None = None, row_shares: bool = False
) -> pd.DataFrame:
    """Mean partners per replication moving from each state (rows, ``from``) to each state
    (columns, ``to``) over the horizon, or in 0-based ``period``; with ``row_shares`` each
    row divided by its total (where that state's partners went; ``out -> out`` is not counted).
    """
    flows = _flows(summary)
    states = _states(flows)
    frame = pd.DataFrame(0.0, index=pd.Index(states, name="from"), columns=states)
    frame.columns.name = "to"
    for (source, target), mean in flows.items():
        frame.loc[source, target] = float(mean.sum() if period is None else mean[period])
    if row_shares:
        totals = frame.sum(axis=1)
        frame = frame.div(totals.where(totals > 0), axis=0).fillna(0.0)
    return frame


def tier_moves(summary: Summary, scenario: Scenario | None = None) -> pd.DataFrame:
    """Per period (rows; labelled from the scenario's calendar when given): mean partners per
    replication who joined, were promoted, kept their state, were demoted or left."""
    flows = _flows(summary)
    rank = {state: i for i, state in enumerate(_states(flows))}
    periods = len(next(iter(flows.values())))
    moves = {kind: np.zeros(periods) for kind in MOVES}
    for (source, target), mean in flows.items():
        if source == OUT:
            kind = "joined"
        elif target == OUT:
            kind = "left"
        else:
            step = rank[target] - rank[source]
            kind = "promoted" if step > 0 else "demoted" if step < 0 else "kept"
        moves[kind] += mean
    frame = pd.DataFrame(moves)
    if scenario is not None:
        frame.index = pd.Index(charts.period_labels(scenario.calendar, periods), name="period")
    else:
        frame.index = pd.RangeIndex(periods, name="period")
    return frame


def plot_flow_matrix(summary: Summary, ax: Axes | None = None) -> Figure:
    """Heat map of where each state's partners went at the next close, over the horizon: each
    row's shares, annotated with the share and the mean partners per replication."""
    counts = flow_matrix(summary)
    shares = flow_matrix(summary, row_shares=True)
    n = len(counts)
    fig, ax, made = charts.axes(ax, figsize=(1.3 * n + 2.5, 0.9 * n + 1.5))
    image = ax.imshow(shares.to_numpy(), cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            if counts.iat[i, j] <= 0:
                continue
            share = shares.iat[i, j]
            ax.text(
                j,
                i,
                f"{share:.0%}\n{counts.iat[i, j]:,.1f}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if share > 0.6 else "#1a1a1a",
            )
    ax.set_xticks(range(n), list(counts.columns), rotation=30, ha="right")
    ax.set_yticks(range(n), list(counts.index))
    ax.set_xlabel("state at the next close")
    ax.set_ylabel("state at a close")
    ax.set_title(f"{summary.scenario}: where partners went, close to close")
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    charts.format_axis(bar.ax.yaxis, "share")
    return charts.finish(fig, made)


def plot_tier_moves(
    summary: Summary, scenario: Scenario | None = None, ax: Axes | None = None
) -> Figure:
    """Per period: partners promoted, joining (up) and demoted, leaving (down), means per
    replication, periods labelled from the calendar and shock windows shaded."""
    moves = tier_moves(summary)
    periods = np.arange(len(moves))
    fig, ax, made = charts.axes(ax)
    colours = {"joined": "#7fb77e", "promoted": "#1f4e79", "demoted": "#e08e45", "left": "#c0392b"}
    up = np.zeros(len(moves))
    down = np.zeros(len(moves))
    for kind in ("promoted", "joined"):
        ax.bar(periods, moves[kind], bottom=up, color=colours[kind], label=kind, width=0.7)
        up += moves[kind].to_numpy()
    for kind in ("demoted", "left"):
        ax.bar(periods, -moves[kind], bottom=-down, color=colours[kind], label=kind, width=0.7)
        down += moves[kind].to_numpy()
    ax.axhline(0, color="#333333", linewidth=0.8)
    ax.set_title(f"{summary.scenario}: partners moving between tiers per period")
    charts.period_axis(ax, scenario.calendar if scenario else None, len(moves))
    charts.mark_shocks(ax, scenario)
    ax.set_ylabel("partners per replication (down: demoted, left)")
    charts.format_axis(ax.yaxis, "count")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return charts.finish(fig, made)
