"""Program-wide levers: the shortfall policy and the reserve's contribution rule.

These act only when payouts are cut against the one program-wide budget, which a segment
simulated alone (with the budget lifted) never sees, so they cannot be part of a segment's
candidate. Once the MILP has chosen the segments' designs and the reserve, each combination of
the program-wide levers' values is applied to the chosen design and the whole program is
simulated jointly (every segment, budget and reserve on) over the optimiser's replications and
seed, so the options are compared on common random numbers. The option chosen is the one with
the highest mean objective among those whose share of replications overrunning budget +
reserve is at most ``alpha`` (the first listed, closest to the base program, on a tie); when
none is, the one overrunning least. The validation then runs
the design with that option.

The choice is made *after* the segments' designs (a sequential, not a joint, optimisation): a
design that only pays off under another shortfall policy is not found this way.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from incentsim.montecarlo.seeding import SeedLike
from incentsim.optimizer.coefficients import ProblemSettings
from incentsim.optimizer.space import canonical_json, lever_values
from incentsim.optimizer.spec import Lever, OptimizationSpec
from incentsim.optimizer.validate import joint_outcomes
from incentsim.scenario.loader import with_values
from incentsim.scenario.model import Scenario

__all__ = ["ProgramWideChoice", "choose_program_wide", "program_wide_options", "with_settings"]


@dataclass
class ProgramWideChoice:
    """The program-wide options tried on the chosen design, and the one chosen.

    Attributes
    ----------
    replications
        Joint replications each option was simulated over.
    options
        Per option: ``settings`` (``{program path: value}``) and the mean ``objective``,
        ``incentive_cost``, ``overrun_probability`` and ``retention``, and ``chosen``.
    chosen
        The chosen option's settings.
    """

    replications: int
    options: list[dict[str, Any]]
    chosen: dict[str, Any]

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per option (settings as columns), for a table or CSV."""
        return [
            {**{k.removeprefix("program."): v for k, v in o["settings"].items()},
             **{k: v for k, v in o.items() if k != "settings"}}
            for o in self.options
        ]  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"replications": self.replications, "chosen": self.chosen, "options": self.options}


def program_wide_options(spec: OptimizationSpec, base: Scenario) -> list[dict[str, Any]]:
    """Every combination of the program-wide levers' values (none without such levers), each
    lever's base value first, so that among options that score the same the base program's
    comes first and is the one chosen."""
    levers: Sequence[Lever] = [lever for lever in spec.levers if lever.program_wide]
    if not levers:
        return []
    program = base.program.model_dump(mode="json")
    domains = []
    for lever in levers:
        node: Any = program
        for part in lever.key.split("."):
            node = node[part]
        values = lever_values(lever, node)
        domains.append(sorted(values, key=lambda v: v != node))  # the base value first
    return [
        {lever.path: value for lever, value in zip(levers, combo, strict=True)}
        for combo in itertools.product(*domains)
    ]


def with_settings(design: Scenario, settings: Mapping[str, Any]) -> Scenario:
    """``design`` with program-wide ``settings`` (``{"program.<path>": value}``; the
    ``program.`` prefix may be left out) set in its program
    (:func:`~incentsim.scenario.loader.with_values`)."""
    return with_values(
        design, {f"program.{path.removeprefix('program.')}": v for path, v in settings.items()}
    )


def choose_program_wide(
    spec: OptimizationSpec,
    design: Scenario,
    choices: Sequence[Mapping[str, Any]],
    settings: ProblemSettings,
    reserve: float,
    seed: SeedLike,
    **run_options: Any,
) -> ProgramWideChoice:
    """Simulate ``design`` jointly under each of the program-wide ``choices`` and choose one
    (see the module notes).

    ``run_options`` go to :func:`~incentsim.montecarlo.run_montecarlo`.
    """
    tried: list[dict[str, Any]] = []
    for option in choices:
        outcomes = joint_outcomes(
            spec, with_settings(design, option), settings, reserve, seed, spec.replications,
            **run_options,
        )  # fmt: skip
        tried.append(
            {"settings": dict(option), **{k: float(np.mean(v)) for k, v in outcomes.items()}}
        )
    within = [o for o in tried if o["overrun_probability"] <= settings.alpha + 1e-12]
    if within:
        best = max(within, key=lambda o: o["objective"])
    else:
        best = min(tried, key=lambda o: (o["overrun_probability"], -o["objective"]))
    key = canonical_json(best["settings"])
    for o in tried:
        o["chosen"] = canonical_json(o["settings"]) == key
    return ProgramWideChoice(spec.replications, tried, dict(best["settings"]))
