"""The functions a notebook reaches first: ``incentsim.load_scenario`` and ``incentsim.simulate``.

They are thin doors onto the layers below (:mod:`incentsim.scenario`, :mod:`incentsim.montecarlo`)
so a designer can start with a path and a replication count, and reach for the full APIs later.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from incentsim.scenario.loader import load_scenario
from incentsim.scenario.model import Scenario

if TYPE_CHECKING:
    from incentsim.montecarlo.results import MonteCarloResult

__all__ = ["as_scenario", "load_scenario", "simulate"]


def as_scenario(
    scenario: Scenario | str | os.PathLike[str], overrides: Sequence[str] = ()
) -> Scenario:
    """A validated scenario from a scenario object or a YAML path.

    ``overrides`` are ``KEY.PATH=VALUE`` strings, as on the command line's ``--set``; they
    apply to a path only (an object is already validated: use ``model_copy`` to change it).
    """
    if isinstance(scenario, Scenario):
        if overrides:
            raise TypeError("overrides apply to a scenario file; pass a path, not a Scenario")
        return scenario
    return load_scenario(os.fspath(scenario), overrides)


def simulate(
    scenario: Scenario | str | os.PathLike[str],
    reps: int | None = None,
    seed: int | None = None,
    *,
    overrides: Sequence[str] = (),
    **options: Any,
) -> MonteCarloResult:
    """Simulate a scenario as Monte Carlo and return its result.

    Parameters
    ----------
    scenario
        A :class:`~incentsim.scenario.model.Scenario` or the path of a scenario YAML file.
    reps, seed
        Replications and root seed (default: the scenario's).
    overrides
        ``KEY.PATH=VALUE`` changes to a scenario file, e.g.
        ``["program.tiers.gold.rebate_rate=0.04"]``.
    **options
        Passed to :func:`~incentsim.montecarlo.runner.run_montecarlo`: ``executor``,
        ``workers``, ``out_dir``, ``panel``, ``progress``...

    Returns
    -------
    MonteCarloResult
        ``result.summary`` (mean, sd, P5/P50/P95, 95% interval of the mean, probability of
        exceeding the budget), ``result.outcomes`` (a DataFrame, one row per replication),
        ``result.trajectories(name)`` and the ``plot_*`` methods.

    Examples
    --------
    >>> import incentsim                                            # doctest: +SKIP
    >>> result = incentsim.simulate("scenarios/small.yaml", reps=50)  # doctest: +SKIP
    >>> result.summary.to_frame().loc["cost_to_revenue"]            # doctest: +SKIP
    """
    # load_scenario, the other door here, does not load the Monte Carlo layer (+0.8 s CPU)
    from incentsim.montecarlo.evaluator import run_montecarlo

    return run_montecarlo(as_scenario(scenario, overrides), reps, seed, **options)
