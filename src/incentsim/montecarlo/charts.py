"""Chart helpers shared by every plot: axes in an outcome's unit, periods as quarters or dates
from the calendar, shock windows and program changes marked.

Every plot in incentsim takes an optional matplotlib ``ax`` (drawing into it, for small
multiples or a designer's own figure) and makes its own figure without one.

>>> compact_money(40_250_000), compact_money(45_000), compact_money(-1_600_000_000)
('40.25M', '45k', '-1.6bn')
>>> import datetime as dt
>>> from incentsim.calendar import Calendar
>>> period_labels(Calendar(start_date=dt.date(2027, 1, 4)), 5)
['Q1 2027', 'Q2 2027', 'Q3 2027', 'Q4 2027', 'Q1 2028']
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from incentsim.engine.outcomes import Unit, describe

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from incentsim.calendar import Calendar
    from incentsim.scenario.model import Scenario

__all__ = [
    "axes",
    "compact_money",
    "finish",
    "format_axis",
    "mark_program_changes",
    "mark_shocks",
    "outcome_title",
    "period_axis",
    "period_labels",
    "pyplot",
    "rule_shares",
    "unit_label",
]


def pyplot() -> tuple[Any, Any]:
    """pyplot and ticker, with the Agg backend when nothing can show a window."""
    # matplotlib loads only when a chart is drawn
    import matplotlib

    headless = (
        sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    )
    if headless and "matplotlib.pyplot" not in sys.modules and "ipykernel" not in sys.modules:
        matplotlib.use("Agg")
    # matplotlib loads only when a chart is drawn
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    return plt, ticker


def axes(ax: Axes | None, figsize: tuple[float, float] = (8, 4.5)) -> tuple[Figure, Axes, bool]:
    """``(figure, ax, made)``: the given ``ax`` and its figure, or a new figure and axes
    (``made`` True: the caller lays it out and closes it)."""
    if ax is not None:
        figure = ax.get_figure(root=True)
        assert figure is not None  # an axes always belongs to a figure
        return figure, ax, False
    plt, _ = pyplot()
    fig, new = plt.subplots(figsize=figsize)
    return fig, new, True


def finish(fig: Figure, made: bool) -> Figure:
    """Lay out and close (for pyplot) a figure :func:`axes` made; leave a caller's alone."""
    if made:
        plt, _ = pyplot()
        fig.tight_layout()
        plt.close(fig)
    return fig


def compact_money(value: float) -> str:
    """An amount for an axis tick: ``40.2M``, ``45k``, ``1.6bn``, ``950``."""
    if not math.isfinite(value):
        return ""
    size = abs(value)
    for scale, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if size >= scale:
            text = f"{value / scale:.2f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return f"{value:,.0f}" if size >= 1 or size == 0 else f"{value:.2f}"


def unit_label(unit: Unit, currency: str) -> str:
    """What an axis in ``unit`` is measured in: the currency, %, a 0-5 score..."""
    return {
        "money": currency,
        "share": "%",
        "probability": "%",
        "score": "score 0-5",
        "index": "index 0-1",
    }.get(unit, "")


def format_axis(axis: Any, unit: Unit, signed: bool = False, bins: int = 5) -> None:
    """Ticks of a matplotlib axis (``ax.xaxis`` or ``ax.yaxis``) in ``unit``: compact money,
    percentages (percentage points when ``signed``: a change), counts as whole numbers with
    separators; at most ``bins`` intervals so labels do not run together."""
    _, ticker = pyplot()
    axis.set_major_locator(ticker.MaxNLocator(nbins=bins, integer=unit == "count"))
    sign = "+" if signed else ""

    def tick(value: float, _position: float) -> str:
        if unit in ("share", "probability"):
            text = f"{100 * value:{sign}.3g}"
            return f"{text} pp" if signed else f"{text}%"
        if unit == "money":
            text = compact_money(value)
            return f"+{text}" if signed and value > 0 else text
        if abs(value) >= 1000:
            return f"{value:{sign},.0f}"
        return f"{value:{sign}.3g}"

    axis.set_major_formatter(ticker.FuncFormatter(tick))


def period_labels(calendar: Calendar, periods: int) -> list[str]:
    """A label per period (:meth:`~incentsim.scenario.model.Calendar.period_label`): ``FY27 Q1``
    in a fiscal calendar, ``Q1 2027`` for quarters of 13 weeks, else the period's first day
    (``2027-02-01``)."""
    return [calendar.period_label(p) for p in range(periods)]


def period_axis(ax: Axes, calendar: Calendar | None, periods: int) -> None:
    """Label an axis of period indices with :func:`period_labels` (every other one, or fewer,
    when there are many), or ``period`` numbers without a calendar."""
    _, ticker = pyplot()
    if calendar is None:
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        ax.set_xlabel("period")
        return
    labels = period_labels(calendar, periods)
    step = max(1, math.ceil(periods / 8))
    ticks = list(range(0, periods, step))
    ax.set_xticks(ticks, [labels[t] for t in ticks], rotation=30 if periods > 4 else 0)
    ax.set_xlabel("period (value at its close)")


def mark_shocks(ax: Axes, scenario: Scenario | None, weekly: bool = False) -> None:
    """Shade each of the scenario's shock windows (in periods, or weeks when ``weekly``) and
    name it; nothing without a scenario or shocks."""
    if scenario is None:
        return
    per = 1 if weekly else scenario.calendar.weeks_per_period
    for i, shock in enumerate(scenario.market.shocks):
        # period p's value is at its close: a window of weeks [s, e) spans periods s/per .. e/per
        start = shock.start_week / per - (0 if weekly else 0.5)
        end = (shock.start_week + shock.duration_weeks) / per - (0 if weekly else 0.5)
        ax.axvspan(start, end, color="#e74c3c", alpha=0.08, linewidth=0)
        ax.annotate(
            shock.kind.replace("_", " "),
            xy=(start, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(2, -2 - 9 * i),  # one line each, so overlapping windows stay legible
            textcoords="offset points",
            va="top",
            fontsize=7,
            color="#a93226",
        )


def rule_shares(
    events: Iterable[Mapping[str, Any]], weeks_per_period: int, periods: int, replications: int
) -> dict[str, list[float]]:
    """Per contingent rule, the share of replications with it in force in each period, from
    the run's ``rule`` events (a rule in force for some partner's terms or for the budget)."""
    shares: dict[str, list[float]] = {}
    for event in events:
        if event.get("event") != "rule":
            continue
        period = int(event["week"]) // weeks_per_period
        row = shares.setdefault(str(event["rule"]), [0.0] * periods)
        if 0 <= period < periods:
            row[period] += len(event.get("replications", event.get("reps", []))) / replications
    return shares


def mark_program_changes(
    ax: Axes,
    scenario: Scenario | None,
    rules: Mapping[str, list[float]] | None = None,
    weekly: bool = False,
) -> None:
    """Mark the program's versions (a solid line where each takes effect, dotted where it is
    announced, hatched while incumbents are grandfathered) and, from :func:`rule_shares`,
    the periods each contingent rule was in force (a strip along the bottom, darker the more
    replications it was in force in); nothing without a scenario or changes."""
    if scenario is None:
        return
    # matplotlib loads only when a chart is drawn (pyplot); ~0.25 s CPU for transforms alone
    from matplotlib import transforms

    per = scenario.calendar.weeks_per_period
    scale = per if weekly else 1
    offset = 0.0 if weekly else 0.5  # period p's value is at its close: changes at p - 0.5
    top = transforms.blended_transform_factory(ax.transData, ax.transAxes)
    for name, version in scenario.program.versions.items():
        effective = version.effective_period * scale - offset
        ax.axvline(effective, color="#6c3483", linewidth=1.2)
        ax.text(
            effective,
            0.5,
            f" {name}",
            transform=top,
            rotation=90,
            va="center",
            fontsize=7,
            color="#6c3483",
        )
        if version.announced < version.effective_period:
            announced = version.announced * scale - offset
            ax.axvline(announced, color="#6c3483", linewidth=1, linestyle=":")
            ax.text(
                announced,
                0.5,
                f" {name} announced",
                transform=top,
                rotation=90,
                va="center",
                fontsize=7,
                color="#6c3483",
            )
        if version.grandfather_periods:
            ax.axvspan(
                effective,
                effective + version.grandfather_periods * scale,
                facecolor="none",
                edgecolor="#6c3483",
                hatch="//",
                alpha=0.25,
                linewidth=0,
            )
    for i, (name, shares) in enumerate((rules or {}).items()):
        low = 0.005 + 0.045 * i
        for period, share in enumerate(shares):
            if share > 0:
                start = period * scale - offset  # weeks [p * per, (p + 1) * per), or p +- 0.5
                ax.axvspan(
                    start,
                    start + scale,
                    ymin=low,
                    ymax=low + 0.035,
                    color="#117a65",
                    alpha=0.15 + 0.75 * min(share, 1.0),
                    linewidth=0,
                )
        ax.text(
            0.005,
            low + 0.0175,
            f"rule {name} in force",
            transform=ax.transAxes,
            fontsize=7,
            color="#0e6251",
            va="center",
        )


def outcome_title(name: str, currency: str) -> str:
    """An outcome's label with its unit, for a chart title: ``Incentive cost (USD)``."""
    entry = describe(name)
    unit = unit_label(entry.unit, currency)
    return f"{entry.label} ({unit})" if unit else entry.label
