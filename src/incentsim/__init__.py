"""incentsim: design channel-partner incentive programs before they go live.

The doors a notebook uses::

    import incentsim
    scenario = incentsim.load_scenario("scenarios/baseline.yaml")
    result = incentsim.simulate(scenario, reps=200)
    result.summary.to_frame()
    result.plot_cost_distribution()
    incentsim.compare(["scenarios/small.yaml", "scenarios/variant_richer_rebates.yaml"])
    incentsim.stress("scenarios/small.yaml", ["recession:severe"])
    incentsim.optimize("scenarios/optimize_demo.yaml", out_dir="runs/opt")

Heavier entry points (Monte Carlo, experiments, the optimizer) are imported on first use so that
``import incentsim`` and the command line stay quick.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Public name -> module that defines it (imported on first use).
_LAZY = {
    "load_scenario": "incentsim._api",
    "simulate": "incentsim._api",
    "MonteCarloResult": "incentsim.montecarlo.results",
    "compare": "incentsim.experiments.compare",
    "stress": "incentsim.experiments.stress",
    "optimize": "incentsim.optimizer.api",
    "simulate_history": "incentsim.montecarlo.history",
}

__all__ = [
    "MonteCarloResult",
    "__version__",
    "compare",
    "load_scenario",
    "optimize",
    "simulate",
    "simulate_history",
    "stress",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'incentsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
