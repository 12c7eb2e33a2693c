"""Program versions and contingent rules on a run report: the timeline table and the marks on
the trajectory charts, from the engine's announcement and rule events."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from incentsim.engine.simulation import simulate_block
from incentsim.montecarlo import charts, run_montecarlo
from incentsim.report import run_report
from incentsim.scenario.loader import load_scenario

SCENARIOS = Path(__file__).parents[2] / "scenarios"
SMALL = [
    "population.partners=60",
    "calendar.horizon_periods=6",
    "program.versions={year_two: {effective_period: 4, announced_period: 2, "
    "grandfather_periods: 1, changes: {tiers: {gold: {rebate_rate: 0.025}}}}}",
    # Demand below 1.2 of plan: in force in (nearly) every period.
    "program.contingent={relief: {below: 1.2, budget_scale: 1.1}}",
]


def test_the_engine_logs_announcements_and_rules_in_force() -> None:
    scenario = load_scenario(SCENARIOS / "small.yaml", SMALL)
    events = simulate_block(scenario, np.random.SeedSequence(1), 3).events
    kinds = {(e["event"], e.get("version") or e.get("rule")) for e in events}
    assert ("announcement", "year_two") in kinds
    assert ("version", "year_two") in kinds
    rule_weeks = sorted(e["week"] for e in events if e["event"] == "rule")
    wpp = scenario.calendar.weeks_per_period
    assert rule_weeks == [k * wpp for k in range(6)]


def test_a_rule_never_in_force_logs_nothing() -> None:
    scenario = load_scenario(
        SCENARIOS / "small.yaml", [*SMALL, "program.contingent.relief.below=0.01"]
    )
    events = simulate_block(scenario, np.random.SeedSequence(1), 2).events
    assert not [e for e in events if e["event"] == "rule"]


def test_rule_shares_count_replications_per_period() -> None:
    events = [
        {"event": "rule", "week": 0, "replications": [0, 1], "rule": "r"},
        {"event": "rule", "week": 26, "replications": [3], "rule": "r"},
        {"event": "version", "week": 26, "replications": [0, 1, 2, 3], "version": "v"},
    ]
    assert charts.rule_shares(events, 13, 3, 4) == {"r": [0.5, 0.0, 0.25]}


def test_the_run_report_lists_and_marks_the_changes(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    scenario = load_scenario(SCENARIOS / "small.yaml", SMALL)
    result = run_montecarlo(scenario, 4, 2, out_dir=tmp_path / "run", progress=False)
    shares = result.rule_shares()
    assert list(shares.columns) == ["relief"]
    assert shares["relief"].between(0, 1).all()
    assert shares["relief"].iloc[0] == 1.0
    page = run_report(result, tmp_path / "run.html").read_text()
    assert "Program changes" in page
    assert "announced Q3 2027 (2 periods ahead); incumbents grandfathered through Q1 2028" in page
    assert "in force (share of replications)" in page
    assert "Q1 2027 100%" in page
    figure = result.plot_trajectory("loyalty_mean")
    ax = figure.axes[0]
    lines = [line for line in ax.get_lines() if line.get_xdata()[0] in (3.5, 1.5)]
    assert len(lines) == 2  # effective (solid) and announced (dotted)
    assert any("rule relief in force" in t.get_text() for t in ax.texts)
