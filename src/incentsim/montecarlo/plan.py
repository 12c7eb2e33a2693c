"""What is run of a scenario: the run plan, apart from where and how its blocks run.

::

    from incentsim.montecarlo import Evaluator, RunPlan
    with Evaluator(executor="processes", workers=4) as ev:
        base = ev.run(scenario, RunPlan(reps=200, seed=7))
        runs = ev.run_variants({"a": a, "b": b}, RunPlan(reps=200))  # the seed of "a" for both

A scenario says what is simulated; a :class:`RunPlan` says how many replications of it are
run and from which root seed; the run options (:class:`~incentsim.montecarlo.options.
RunOptions`) say where the blocks run, where results are stored and whether a progress bar
shows. ``reps`` and ``seed`` left as ``None`` take the scenario's own ``replications`` and
``seed`` (:meth:`RunPlan.replications_for`, :meth:`RunPlan.seed_for`); a plan
:meth:`RunPlan.resolved` from a reference scenario gives every variant the reference's values
without editing the variants (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from incentsim.montecarlo.seeding import SeedLike

if TYPE_CHECKING:
    from incentsim.scenario.model import Scenario

__all__ = ["RunPlan"]


@dataclass(frozen=True)
class RunPlan:
    """Replications and root seed of a run (see the module notes).

    Attributes
    ----------
    reps
        Replications (``None``: the scenario's ``replications``).
    seed
        Root seed (``None``: the scenario's ``seed``); a SeedSequence from
        :func:`~incentsim.montecarlo.seeding.fresh_seed` gives streams disjoint from a main run.
    """

    reps: int | None = None
    seed: SeedLike | None = None

    def __post_init__(self) -> None:
        if self.reps is not None:
            object.__setattr__(self, "reps", int(self.reps))

    def replications_for(self, scenario: Scenario) -> int:
        """The replications to run of ``scenario``: this plan's, else its own."""
        return scenario.replications if self.reps is None else int(self.reps)

    def seed_for(self, scenario: Scenario) -> SeedLike:
        """The root seed to run ``scenario`` from: this plan's, else its own."""
        return scenario.seed if self.seed is None else self.seed

    def resolved(self, scenario: Scenario) -> RunPlan:
        """This plan with ``reps`` and ``seed`` fixed from ``scenario`` where not given, so
        that other scenarios run with it share its replications and streams."""
        return RunPlan(self.replications_for(scenario), self.seed_for(scenario))
