"""A finished block frees its memory as soon as it is dropped, without the cyclic collector.

The simulation owns its recorder; were the recorder to hold the simulation, the pair would form
a reference cycle and every finished block's arrays would stay alive until Python's cyclic
garbage collector ran, so that a long Monte Carlo run's memory grew with replications. The
recorder is handed what it records (the partner state, the tally, the ledger) instead.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import incentsim
from incentsim.engine.simulation import Simulation, draw_partners_and_market

SMALL = Path(__file__).resolve().parents[2] / "scenarios" / "small.yaml"


@pytest.fixture
def no_cyclic_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_a_finished_simulation_is_freed_without_the_cyclic_collector(
    no_cyclic_collector: None,
) -> None:
    scenario = incentsim.load_scenario(SMALL, overrides=["population.partners=30"])
    population, market, partner = np.random.SeedSequence(5).spawn(3)
    partners, path = draw_partners_and_market(scenario, population, market, 3)
    simulation = Simulation(scenario, partners, path, np.random.default_rng(partner))
    result = simulation.run()
    alive = weakref.ref(simulation)
    del simulation
    assert alive() is None
    assert result.outcomes["revenue_gross"].shape == (3,)
    assert (result.outcomes["revenue_gross"] > 0).all()
