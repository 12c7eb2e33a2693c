"""The real engine gives the same numbers, to the last bit, from the same seed on every executor.

The scenario is the bundled small one with a co-selling bonus (so duplicate claims and audits
draw random numbers) and two shocks that each hit about half the replications (so the shock
draws, the outage's late payout runs and the event log are exercised); two blocks of five.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import incentsim
from incentsim.montecarlo import MonteCarloResult, run_montecarlo
from incentsim.scenario.model import Scenario

SMALL = Path(__file__).resolve().parents[2] / "scenarios" / "small.yaml"
SHOCKS = (
    "market.shocks=["
    "{kind: payout_outage, start_week: 16, duration_weeks: 20, magnitude: 3, probability: 0.5},"
    "{kind: competitor, start_week: 10, duration_weeks: 20, magnitude: 0.02, probability: 0.5}]"
)


def scenario() -> Scenario:
    return incentsim.load_scenario(SMALL, overrides=["program.co_sell.rate=0.02", SHOCKS])


def simulate(executor: str = "serial", workers: int | None = None) -> MonteCarloResult:
    return run_montecarlo(
        scenario(),
        reps=10,
        seed=20270104,
        block_size=5,
        executor=executor,
        workers=workers,
        panel=True,
        progress=False,
    )


def assert_identical(a: MonteCarloResult, b: MonteCarloResult) -> None:
    pd.testing.assert_frame_equal(a.outcomes, b.outcomes, check_exact=True)
    assert a.trajectory_names == b.trajectory_names
    for name in a.trajectory_names:
        pd.testing.assert_frame_equal(a.trajectories(name), b.trajectories(name), check_exact=True)
    pd.testing.assert_frame_equal(a.panel(), b.panel(), check_exact=True)
    order = ["block", "week", "event"]
    events_a = a.events().sort_values(order, kind="stable").reset_index(drop=True)
    events_b = b.events().sort_values(order, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(events_a, events_b, check_exact=True)
    assert json.dumps(a.summary.to_dict()) == json.dumps(b.summary.to_dict())


@pytest.fixture(scope="module")
def serial() -> MonteCarloResult:
    result = simulate()
    # The run exercises what it claims to: outages, duplicates, audits, a panel.
    assert (result.events()["event"] == "payout_late").any()
    assert result.outcomes["duplicates_submitted"].min() > 0
    assert len(result.panel()) > 10 * 150
    return result


def test_same_seed_same_numbers_when_run_again(serial: MonteCarloResult) -> None:
    assert_identical(serial, simulate())


@pytest.mark.parametrize("workers", [1, 2])
def test_identical_on_worker_processes(serial: MonteCarloResult, workers: int) -> None:
    result = simulate("processes", workers)
    assert result.manifest["workers"] == workers
    assert_identical(serial, result)


def test_identical_on_a_local_dask_cluster(serial: MonteCarloResult) -> None:
    pytest.importorskip("distributed")
    assert_identical(serial, simulate("dask", 2))


def test_another_seed_gives_other_numbers(serial: MonteCarloResult) -> None:
    other = run_montecarlo(scenario(), reps=10, seed=1, block_size=5, progress=False)
    assert not other.outcomes["incentive_cost"].equals(serial.outcomes["incentive_cost"])
