"""The design optimiser: choose thresholds, rates and caps per segment, and the reserve.

::

    from incentsim.optimizer import optimize
    result = optimize("scenarios/optimize_demo.yaml", out_dir="runs/opt")
    print(result.report())

See :mod:`incentsim.optimizer.api` for the steps and :mod:`incentsim.optimizer.spec` for the
optimisation file. ``incentsim.optimize(...)`` is the same function.
"""

from __future__ import annotations

from incentsim.optimizer.api import OptimizationResult, optimize
from incentsim.optimizer.milp import DesignProblem, SegmentCoefficients, Solution, solve
from incentsim.optimizer.spec import OptimizationSpec, OptimizationSpecError, load_spec

__all__ = [
    "DesignProblem",
    "OptimizationResult",
    "OptimizationSpec",
    "OptimizationSpecError",
    "SegmentCoefficients",
    "Solution",
    "load_spec",
    "optimize",
    "solve",
]
