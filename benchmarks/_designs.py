"""The engine tests' designs and statistics, for :mod:`stylized_facts` (not copied).

The paired designs of the phenomena tests live in ``tests/engine/engine_scenarios.py`` (the
small self-contained scenarios, :func:`run`, :class:`Effect`) and in the test modules that use
them (``test_engine_phenomena.py``: bunching windows, period shapes, deferral by attainment,
stair-step months, quota horizons...). They are imported from there, so the benchmark measures
exactly what the tests assert, and :func:`run_file` runs a bundled scenario file with
overrides the way ``test_engine_windows.py`` and ``test_engine_horizons.py`` do, for any seed
and number of replications.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
from _common import ROOT

sys.path.insert(0, str(ROOT / "tests" / "engine"))

import engine_scenarios as scenarios
import test_engine_phenomena as phenomena
import test_engine_selection as selection

from incentsim.engine.simulation import BlockResult, simulate_block
from incentsim.scenario.loader import load_scenario

__all__ = ["phenomena", "run_file", "scenarios", "selection"]


def run_file(
    file: str, settings: Sequence[str], seed: int, reps: int, panel: bool = False
) -> BlockResult:
    """One block of the bundled scenario ``file`` (under ``scenarios/``) with ``settings``
    (``--set`` paths); the same ``seed`` gives common random numbers."""
    scenario = load_scenario(str(ROOT / "scenarios" / file), list(settings))
    return simulate_block(scenario, np.random.SeedSequence(seed), reps, panel=panel)
