"""Experiments over the Monte Carlo: compare variants, stress-test, sensitivity, batch files.

::

    from incentsim import load_scenario
    from incentsim.experiments import compare, run_experiment, sensitivity, stress
    comparison = compare(["scenarios/baseline.yaml", "scenarios/variant_richer_rebates.yaml"])
    test = stress("scenarios/baseline.yaml", ["recession:severe", "competitor"],
                  limits=["retention<0.8"])
    ranking = sensitivity(load_scenario("scenarios/small.yaml"), method="morris")
    run_experiment("experiments/rebate_variants.yaml", "runs/rebates")

Comparisons, stress tests and experiment results carry their tables (``.tables()``) and plots,
and :mod:`incentsim.report` turns each into a self-contained HTML report (``comparison_report``,
``stress_report``, ``sensitivity_report``, ``experiment_report``); a sensitivity result has
``to_frame()``, ``plot(outcome)`` and writes its tables and plots (``write(folder)``).
"""

from incentsim.experiments.batch import (
    Experiment,
    ExperimentResult,
    load_experiment,
    run_experiment,
)
from incentsim.experiments.compare import (
    Comparison,
    Difference,
    ExperimentError,
    compare,
    paired_difference,
    replications_needed,
)
from incentsim.experiments.sensitivity import (
    DEFAULT_FACTORS,
    Factor,
    SensitivityError,
    SensitivityResult,
    parse_factors,
    sensitivity,
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
    combined_reverse_stress,
    parse_limit,
    reverse_stress,
    stress,
)

__all__ = [
    "DEFAULT_FACTORS",
    "SHOCK_LIBRARY",
    "BreakingPoint",
    "Comparison",
    "Difference",
    "Experiment",
    "ExperimentError",
    "ExperimentResult",
    "Factor",
    "Limit",
    "SensitivityError",
    "SensitivityResult",
    "ShockChoice",
    "ShockError",
    "ShockTemplate",
    "StressTest",
    "combined_reverse_stress",
    "compare",
    "load_experiment",
    "paired_difference",
    "parse_factors",
    "parse_limit",
    "parse_shock",
    "parse_shocks",
    "replications_needed",
    "reverse_stress",
    "run_experiment",
    "sensitivity",
    "stress",
    "with_shocks",
]
