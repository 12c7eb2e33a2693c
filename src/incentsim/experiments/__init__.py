"""Experiments over the Monte Carlo: compare design variants, stress-test against shocks.

::

    from incentsim.experiments import compare, stress
    comparison = compare(["scenarios/baseline.yaml", "scenarios/variant_richer_rebates.yaml"])
    test = stress("scenarios/baseline.yaml", ["recession:severe", "competitor"],
                  limits=["retention<0.8"])

Results carry their tables (``.tables()``) and plots; :mod:`incentsim.report` turns them into a
self-contained HTML report.
"""

from incentsim.experiments.compare import (
    Comparison,
    Difference,
    ExperimentError,
    compare,
    paired_difference,
    replications_needed,
)
from incentsim.experiments.shocks import (
    SHOCK_LIBRARY,
    ShockChoice,
    ShockError,
    ShockTemplate,
    parse_shock,
    parse_shocks,
    with_shocks,
)
from incentsim.experiments.stress import (
    BreakingPoint,
    Limit,
    StressTest,
    parse_limit,
    reverse_stress,
    stress,
)

__all__ = [
    "SHOCK_LIBRARY",
    "BreakingPoint",
    "Comparison",
    "Difference",
    "ExperimentError",
    "Limit",
    "ShockChoice",
    "ShockError",
    "ShockTemplate",
    "StressTest",
    "compare",
    "paired_difference",
    "parse_limit",
    "parse_shock",
    "parse_shocks",
    "replications_needed",
    "reverse_stress",
    "stress",
    "with_shocks",
]
