"""The run options, the run plan and the evaluator: one bundle, one executor, calibration draws
applied."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import incentsim
from incentsim.errors import OutDirError
from incentsim.montecarlo import (
    BehaviourDraws,
    DrawnBehaviour,
    Evaluator,
    RunOptions,
    RunPlan,
    SerialExecutor,
    run_montecarlo,
)
from incentsim.montecarlo.seeding import block_seeds

SMALL = Path(__file__).resolve().parents[2] / "scenarios" / "small.yaml"


@pytest.fixture(scope="module")
def scenario() -> incentsim.Scenario:
    return incentsim.load_scenario(SMALL, ["population.partners=30", "calendar.horizon_periods=2"])


def test_keywords_replace_the_options_and_none_keeps_them() -> None:
    options = RunOptions(workers=2, block_size=5)
    merged = RunOptions.merged(options, workers=None, block_size=9, progress=False)
    assert (merged.workers, merged.block_size, merged.progress) == (2, 9, False)
    assert RunOptions.merged(options) is options
    with pytest.raises(TypeError, match="unknown run option 'worker'"):
        RunOptions.merged(options, worker=3)


def test_replications_and_seed_are_the_plans_not_the_options() -> None:
    with pytest.raises(TypeError, match="unknown run option 'reps'"):
        RunOptions.merged(reps=3)
    with pytest.raises(TypeError, match="unknown run option 'seed'"):
        Evaluator(seed=3)  # type: ignore[call-arg]


def test_reps_and_seed_default_to_the_scenario(scenario: incentsim.Scenario) -> None:
    assert RunPlan().replications_for(scenario) == scenario.replications
    assert RunPlan().seed_for(scenario) == scenario.seed
    assert RunPlan(seed=11).resolved(scenario) == RunPlan(scenario.replications, 11)
    assert RunPlan(reps=4).resolved(scenario) == RunPlan(4, scenario.seed)


def test_an_evaluator_runs_what_run_montecarlo_runs_on_one_executor(
    scenario: incentsim.Scenario,
) -> None:
    alone = run_montecarlo(scenario, reps=30, seed=4, progress=False)
    serial = SerialExecutor()
    with Evaluator(RunOptions(executor=serial, progress=False)) as ev:
        first = ev.run(scenario, RunPlan(30, 4))
        again = ev.run(scenario, RunPlan(30, 5))
        assert ev.executor is serial
    pd.testing.assert_frame_equal(first.outcomes, alone.outcomes)
    assert not first.outcomes.equals(again.outcomes)
    with pytest.raises(RuntimeError, match="context manager"):
        _ = Evaluator().executor


def test_variants_share_the_first_scenarios_replications_and_seed(
    scenario: incentsim.Scenario,
) -> None:
    other = scenario.model_copy(update={"seed": scenario.seed + 1, "replications": 7})
    with Evaluator(progress=False) as ev:
        runs = ev.run_variants({"a": scenario, "b": other})
        planned = ev.run_variants({"a": scenario, "b": other}, RunPlan(reps=3))
    assert runs["a"].manifest["seed"] == runs["b"].manifest["seed"] == scenario.seed
    assert len(runs["b"].outcomes) == scenario.replications
    assert planned["b"].manifest["seed"] == scenario.seed
    assert len(planned["b"].outcomes) == 3


def test_draws_in_the_options_are_the_drawn_block_function(scenario: incentsim.Scenario) -> None:
    rows = ({"churn_base": 0.01}, {"churn_base": 0.3})
    by_options = run_montecarlo(
        scenario, reps=75, seed=2, progress=False, draws=BehaviourDraws(rows)
    )
    by_block_fn = run_montecarlo(
        scenario, reps=75, seed=2, progress=False, block_fn=DrawnBehaviour(rows)
    )
    plain = run_montecarlo(scenario, reps=75, seed=2, progress=False)
    pd.testing.assert_frame_equal(by_options.outcomes, by_block_fn.outcomes)
    assert not np.allclose(by_options.outcomes["retention"], plain.outcomes["retention"])
    picks = {BehaviourDraws(rows).pick(b.seed) for b in block_seeds(2, 75)}
    assert picks == {0, 1}  # both rows are used across the three blocks


def test_a_run_folder_records_its_draws_and_refuses_other_draws(
    scenario: incentsim.Scenario, tmp_path: Path
) -> None:
    draws = BehaviourDraws(({"churn_base": 0.2},))
    out = tmp_path / "run"
    first = run_montecarlo(scenario, reps=25, out_dir=out, progress=False, draws=draws)
    assert first.manifest["draws"] == draws.digest()
    resumed = run_montecarlo(
        scenario, reps=25, out_dir=out, progress=False, draws=draws, resume=True
    )
    assert resumed.manifest["resumed_blocks"] == 1
    pd.testing.assert_frame_equal(resumed.outcomes, first.outcomes)
    with pytest.raises(OutDirError, match="draws"):
        run_montecarlo(scenario, reps=25, out_dir=out, progress=False, resume=True)
