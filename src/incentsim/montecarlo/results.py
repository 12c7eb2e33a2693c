"""The result of a Monte Carlo run: outcomes, summary, trajectories, panel, plots.

A result lives in memory (a run without ``out_dir``) or in a run folder; the two look the same.
A finished run folder can be opened again later::

    result = MonteCarloResult.open("runs/baseline-20270104-093000")
    result.summary.to_frame()
    result.trajectories("reserve")          # replications x periods
    result.plot_cost_distribution()

Plots return a matplotlib ``Figure`` (save it with ``fig.savefig(path)``) and draw into an
``ax`` when given one; matplotlib is imported only when a plot is drawn, with the Agg backend
where there is no display.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from incentsim.engine.outcomes import TIER_SHARE_PREFIX, describe
from incentsim.montecarlo import charts, store, tier_flows
from incentsim.montecarlo.run_store import read_json
from incentsim.montecarlo.summary import Summary, outcome_unit
from incentsim.scenario.model import Scenario

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


class MonteCarloResult:
    """What a Monte Carlo run produced.

    Attributes
    ----------
    summary
        The :class:`~incentsim.montecarlo.summary.Summary` (distributions and bands).
    outcomes
        One row per replication (index ``replication``), one column per outcome.
    manifest
        What ran: scenario, hash, seed, replications, block size, versions, timings.
    out_dir
        The run folder, or ``None`` when the run was kept in memory.
    """

    def __init__(
        self,
        summary: Summary,
        *,
        manifest: dict[str, Any],
        outcomes: pd.DataFrame,
        out_dir: Path | None = None,
        trajectories: dict[str, np.ndarray] | None = None,
        panel: pd.DataFrame | None = None,
        events: list[dict[str, Any]] | None = None,
        scenario: Scenario | None = None,
    ) -> None:
        self.summary = summary
        self.manifest = manifest
        self.outcomes = outcomes
        self.out_dir = out_dir
        self._trajectories = trajectories
        self._panel = panel
        self._events = events
        self._scenario = scenario

    def to_frame(self) -> pd.DataFrame:
        """One row per replication, one column per outcome (a copy of ``outcomes``)."""
        return self.outcomes.copy()

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table of the run: ``outcomes`` per replication, ``summary`` per outcome."""
        return {"outcomes": self.to_frame(), "summary": self.summary.to_frame()}

    def identity(self) -> dict[str, Any]:
        """What ran: the scenario, its content hash, seed, replications and block size."""
        return {"scenario": self.manifest.get("scenario")} | {
            key: self.manifest.get(key) for key in store.IDENTITY_KEYS
        }

    @classmethod
    def open(cls, out_dir: str | os.PathLike[str]) -> MonteCarloResult:
        """Re-open a finished run from its folder.

        Raises
        ------
        FileNotFoundError
            The folder holds no run.
        ValueError
            The run did not complete (it failed or was interrupted).
        """
        path = Path(out_dir)
        manifest_path = path / store.MANIFEST
        if not manifest_path.is_file():
            raise FileNotFoundError(f"{path} holds no Monte Carlo run (no {store.MANIFEST})")
        manifest = read_json(manifest_path)
        if manifest.get("status") != "complete":
            raise ValueError(
                f"the run in {path} did not complete (status: {manifest.get('status')}); "
                "run it again"
            )
        summary = Summary.from_dict(read_json(path / store.SUMMARY))
        outcomes = store.read_outcomes(path, manifest["blocks"])
        return cls(summary, manifest=manifest, outcomes=outcomes, out_dir=path)

    # --- data ------------------------------------------------------------------------------------

    @property
    def replications(self) -> int:
        return len(self.outcomes)

    @property
    def scenario(self) -> Scenario:
        """The scenario simulated (read from ``scenario.json`` for a re-opened run)."""
        if self._scenario is None:
            if self.out_dir is None:
                raise ValueError("this result does not hold its scenario")
            data = read_json(self.out_dir / store.SCENARIO)
            self._scenario = Scenario.model_validate(data)
        return self._scenario

    @property
    def trajectory_names(self) -> list[str]:
        """Names of the trajectories the engine recorded."""
        return list(self.summary.trajectories)

    def trajectories(self, name: str) -> pd.DataFrame:
        """One trajectory: one row per replication, one column per period (week for weekly
        trajectories), from 0."""
        if name not in self.summary.trajectories:
            known = ", ".join(self.trajectory_names) or "none"
            raise KeyError(f"no trajectory '{name}' (known: {known})")
        if self._trajectories is not None:
            matrix = self._trajectories[name]
        else:
            assert self.out_dir is not None
            matrix = store.read_trajectory(self.out_dir, self.manifest["blocks"], name)
        frame = pd.DataFrame(matrix, index=self.outcomes.index.copy())
        frame.columns.name = _axis(name)
        return frame

    def tier_flows(self, period: int | None = None, row_shares: bool = False) -> pd.DataFrame:
        """Mean partners per replication moving from each tier (rows) to each tier (columns)
        from one close to the next, over the horizon or in 0-based ``period`` (states ``out``,
        ``unqualified`` and the tiers); ``row_shares``: each row as shares of its total
        (:func:`~incentsim.montecarlo.tier_flows.flow_matrix`)."""
        return tier_flows.flow_matrix(self.summary, period, row_shares)

    def tier_moves(self) -> pd.DataFrame:
        """Per period: mean partners per replication who joined, were promoted, kept their
        tier, were demoted or left (:func:`~incentsim.montecarlo.tier_flows.tier_moves`)."""
        return tier_flows.tier_moves(self.summary, self._scenario_or_none())

    def panel(
        self, replications: Sequence[int] | None = None, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Rows per replication x partner x period (a run made with ``panel=True``).

        On disk, only the blocks holding ``replications`` and only ``columns`` are read.
        """
        if self.out_dir is None:
            if self._panel is None:
                raise ValueError("this run kept no panel: run it with panel=True")
            frame = self._panel
            if replications is not None:
                frame = frame[frame["replication"].isin(list(replications))]
            if columns is not None:
                frame = frame[["replication", *(c for c in columns if c != "replication")]]
            return frame.reset_index(drop=True)
        if not self.manifest.get("panel"):
            raise ValueError("this run kept no panel: run it with panel=True")
        return store.read_panel(
            self.out_dir,
            self.manifest["blocks"],
            replications=replications,
            columns=columns,
            block_size=self.manifest["block_size"],
        )

    def events(self) -> pd.DataFrame:
        """Calendar events (shock start/end, payout runs...), one row each."""
        if self._events is None:
            assert self.out_dir is not None
            self._events = store.read_events(self.out_dir, self.manifest["blocks"])
        return pd.DataFrame.from_records(self._events)

    def __repr__(self) -> str:
        where = f", out_dir='{self.out_dir}'" if self.out_dir else ""
        return (
            f"MonteCarloResult(scenario='{self.summary.scenario}', "
            f"replications={self.replications}{where})"
        )

    # --- plots -----------------------------------------------------------------------------------

    def plot_cost_distribution(
        self,
        budget: float | None = None,
        reserve: float | None = None,
        outcome: str = "incentive_cost",
        bins: int = 40,
        ax: Axes | None = None,
    ) -> Figure:
        """Histogram of an outcome (incentive cost over the horizon) with P50 and P90 marked.

        Parameters
        ----------
        budget
            Budget over the horizon; default the scenario's budget per period times the number
            of periods (no line when the scenario has none).
        reserve
            Reserve on top of the budget; default the scenario's initial reserve. Marked at
            budget + reserve.
        ax
            Draw into these axes (default: a new figure).
        """
        if outcome not in self.outcomes.columns:
            raise KeyError(f"no outcome '{outcome}'")
        values = self.outcomes[outcome].dropna().to_numpy()
        budget, reserve = self._budget_lines(budget, reserve)
        fig, ax, made = charts.axes(ax)
        currency = self.summary.currency
        ax.hist(values, bins=bins, color="#7a9cc6", edgecolor="white")
        p50, p90 = np.percentile(values, [50, 90]) if len(values) else (np.nan, np.nan)
        ax.axvline(p50, color="#333333", linestyle="-", label=f"P50 {_money(p50)}")
        ax.axvline(p90, color="#333333", linestyle="--", label=f"P90 {_money(p90)}")
        title = f"{describe(outcome).label}, {len(values):,} replications"
        if budget is not None:
            share = float(np.mean(values > budget)) if len(values) else np.nan
            ax.axvline(budget, color="#c0392b", label=f"budget {_money(budget)}")
            title += f"; P(over budget) = {share:.1%}"
            if reserve:
                ax.axvline(
                    budget + reserve,
                    color="#c0392b",
                    linestyle=":",
                    label=f"budget + reserve {_money(budget + reserve)}",
                )
        ax.set_title(title)
        ax.set_xlabel(charts.outcome_title(outcome, currency))
        ax.set_ylabel("replications")
        charts.format_axis(ax.xaxis, outcome_unit(outcome))
        charts.format_axis(ax.yaxis, "count")
        ax.legend(frameon=False, fontsize="small")
        return charts.finish(fig, made)

    def plot_trajectory(self, name: str, ax: Axes | None = None) -> Figure:
        """Median of a trajectory per period, with the P5-P95 band and the mean; periods are
        labelled from the calendar and shock windows shaded."""
        if name not in self.summary.trajectories:
            raise KeyError(f"no trajectory '{name}' (known: {', '.join(self.trajectory_names)})")
        band = self.summary.trajectories[name]
        periods = np.arange(band.n_periods)
        fig, ax, made = charts.axes(ax)
        scenario = self._scenario_or_none()
        weekly = _axis(name) == "week"
        ax.fill_between(periods, band.p5, band.p95, color="#7a9cc6", alpha=0.35, label="P5-P95")
        ax.plot(periods, band.p50, color="#1f4e79", label="median")
        ax.plot(periods, band.mean, color="#1f4e79", linestyle="--", linewidth=1, label="mean")
        ax.set_title(f"{self.summary.scenario}: {describe(name).label}")
        if weekly:
            ax.set_xlabel("week")
        else:
            charts.period_axis(ax, scenario.calendar if scenario else None, band.n_periods)
        charts.mark_shocks(ax, scenario, weekly=weekly)
        charts.mark_program_changes(ax, scenario, self._rule_shares(scenario), weekly=weekly)
        ax.set_ylabel(charts.outcome_title(name, self.summary.currency))
        charts.format_axis(ax.yaxis, outcome_unit(name))
        ax.legend(frameon=False, fontsize="small")
        return charts.finish(fig, made)

    def plot_tier_migration(self, ax: Axes | None = None) -> Figure:
        """Stacked area of the mean share of partners in each tier, per period."""
        names = [n for n in self.summary.trajectories if n.startswith(TIER_SHARE_PREFIX)]
        if not names:
            raise ValueError(f"the run recorded no '{TIER_SHARE_PREFIX}<tier>' trajectories")
        bands = [self.summary.trajectories[n] for n in names]
        periods = np.arange(bands[0].n_periods)
        fig, ax, made = charts.axes(ax)
        scenario = self._scenario_or_none()
        labels = [n.removeprefix(TIER_SHARE_PREFIX) for n in names]
        ax.stackplot(periods, *(b.mean for b in bands), labels=labels, alpha=0.85)
        ax.set_title(f"{self.summary.scenario}: mean share of partners by tier")
        charts.period_axis(ax, scenario.calendar if scenario else None, len(periods))
        charts.mark_shocks(ax, scenario)
        charts.mark_program_changes(ax, scenario, self._rule_shares(scenario))
        ax.set_ylabel("share of partners")
        charts.format_axis(ax.yaxis, "share")
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, reverse=True)
        return charts.finish(fig, made)

    def plot_tier_flows(self, ax: Axes | None = None) -> Figure:
        """Heat map of where each tier's partners went at the next close, over the horizon."""
        return tier_flows.plot_flow_matrix(self.summary, ax)

    def plot_tier_moves(self, ax: Axes | None = None) -> Figure:
        """Partners promoted, joining, demoted and leaving per period."""
        return tier_flows.plot_tier_moves(self.summary, self._scenario_or_none(), ax)

    def rule_shares(self) -> pd.DataFrame:
        """Per contingent rule (columns) and period (rows, 1-based), the share of
        replications with the rule in force (empty for a program without rules)."""
        scenario = self._scenario_or_none()
        shares = self._rule_shares(scenario)
        frame = pd.DataFrame(shares)
        frame.index = pd.RangeIndex(1, len(frame) + 1, name="period")
        return frame

    def _rule_shares(self, scenario: Scenario | None) -> dict[str, list[float]]:
        if scenario is None or not scenario.program.contingent:
            return {}
        events = self.events()
        records = events.to_dict("records") if len(events) else []
        cal = scenario.calendar
        return charts.rule_shares(
            records, cal.weeks_per_period, cal.horizon_periods, self.replications
        )

    def _scenario_or_none(self) -> Scenario | None:
        try:
            return self.scenario
        except (ValueError, FileNotFoundError):
            return None

    def _budget_lines(
        self, budget: float | None, reserve: float | None
    ) -> tuple[float | None, float | None]:
        if budget is not None and reserve is not None:
            return budget, reserve
        try:
            scenario = self.scenario
        except (ValueError, FileNotFoundError):
            return budget, reserve
        if budget is None:
            budget = scenario.horizon_budget
        if reserve is None and scenario.program.budget.reserve.initial > 0:
            reserve = scenario.program.budget.reserve.initial
        return budget, reserve


def _axis(trajectory: str) -> str:
    """What a trajectory's steps are: weeks for weekly ones, else periods."""
    return "week" if trajectory.startswith("weekly") else "period"


def _money(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:,.0f}"
