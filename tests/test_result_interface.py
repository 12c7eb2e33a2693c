"""Every result type answers the same three questions: its main table, all its tables, and what
produced it (``incentsim.result.Result``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from incentsim.experiments import compare, stress
from incentsim.experiments.batch import run_experiment
from incentsim.experiments.sensitivity import sensitivity
from incentsim.experiments.stress import Limit, reverse_stress
from incentsim.montecarlo import run_montecarlo
from incentsim.optimizer import optimize
from incentsim.payout import compute_statements, read_transactions
from incentsim.result import Result
from incentsim.scenario.loader import load_scenario

SCENARIOS = Path(__file__).parents[1] / "scenarios"
SMALL = SCENARIOS / "small.yaml"
TINY = ["population.partners=40"]
EXPERIMENT = f"""\
name: interface
base: {SMALL}
set: {{population.partners: 30}}
variants: {{current: {{}}, richer: {{set: {{program.tiers.gold.rebate_rate: 0.04}}}}}}
shocks: [recession:moderate]
replications: 2
analyses: [simulate, compare, stress]
"""


def _run() -> Any:
    return run_montecarlo(load_scenario(SMALL, TINY), reps=2, seed=3, progress=False)


def _comparison() -> Any:
    return compare([SMALL, SMALL], reps=2, seed=3, overrides=TINY, progress=False)


def _stress() -> Any:
    return stress(load_scenario(SMALL, TINY), ["recession:severe"], reps=2, seed=3, progress=False)


def _breaking_point() -> Any:
    limit = Limit("retention", "<", 0.99)
    return reverse_stress(load_scenario(SMALL, TINY), ["recession"], limit, reps=2, seed=3, steps=1)


def _sensitivity() -> Any:
    factors = "program.tiers.*.rebate_rate=x0.5:2,dummy"
    scenario = load_scenario(SMALL, TINY)
    outcomes = ["incentive_cost"]
    return sensitivity(scenario, factors, size=2, reps=2, outcomes=outcomes, progress=False)


def _experiment(folder: Path) -> Any:
    (folder / "interface.yaml").write_text(EXPERIMENT)
    return run_experiment(folder / "interface.yaml", folder / "out", log=False)


def _optimisation() -> Any:
    overrides = ["replications=6", "validation_replications=6", "floors.retention=0.5"]
    return optimize(SCENARIOS / "optimize_demo.yaml", overrides=overrides, progress=False)


def _statements() -> Any:
    scenario = load_scenario(SCENARIOS / "payout_demo.yaml")
    transactions = read_transactions(
        SCENARIOS / "sample_transactions.csv", calendar=scenario.calendar
    )
    return compute_statements(scenario.program, scenario.calendar, transactions)


MAKERS: dict[str, Callable[..., Any]] = {
    "MonteCarloResult": _run,
    "Comparison": _comparison,
    "StressTest": _stress,
    "BreakingPoint": _breaking_point,
    "SensitivityResult": _sensitivity,
    "ExperimentResult": _experiment,
    "OptimizationResult": _optimisation,
    "Statements": _statements,
}


@pytest.mark.parametrize("kind", MAKERS)
def test_every_result_has_its_tables_and_identity(
    kind: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    maker = MAKERS[kind]
    result = maker(tmp_path_factory.mktemp(kind)) if kind == "ExperimentResult" else maker()
    assert type(result).__name__ == kind
    assert isinstance(result, Result)
    main = result.to_frame()
    assert isinstance(main, pd.DataFrame)
    assert len(main) > 0
    tables = result.tables()
    assert tables, "no tables"
    assert all(isinstance(n, str) and isinstance(t, pd.DataFrame) for n, t in tables.items())
    # The main table is one of the tables, as it would be written.
    assert any(t.shape == main.shape and t.equals(main) for t in tables.values())
    identity = result.identity()
    assert identity, "an empty identity traces nothing back"
    json.dumps(identity)  # plain data: it goes into manifests and reports as it is
