"""Adaptive refinement: new candidates around the chosen design, simulated and re-solved.

The first candidates are a grid or a Latin hypercube over the levers' whole domains, so the
first answer is a pick among coarse points. Each refinement round samples ``refine.candidates``
new designs per segment by Latin hypercube in a box around the segment's chosen design: for
every numeric lever, the chosen value plus or minus ``shrink ** round`` times half the lever's
domain (its range, or from its lowest to its highest value), cut to the domain; a lever that is
not numeric, and any setting of a hand-listed chosen design outside the levers, keeps the
chosen value. The new designs go through the same checks as the first ones (tier order repair,
invalid programs skipped, see :mod:`incentsim.optimizer.space`), designs already simulated are
not simulated again, and the new ones run on the same seed blocks (common random numbers, and
the candidate cache when there is one). The problem is then re-solved over every candidate so
far.

The candidates only grow, so the objective on the optimiser's scenarios never falls; rounds
stop when one raises it by less than ``refine.tolerance`` (relative), when a round finds no new
design, or after ``refine.rounds``. More candidates on the same scenarios also means more room
for a design that is lucky on them: the validation on fresh seeds is the check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from incentsim.optimizer.evaluate import SimulatedCandidates
from incentsim.optimizer.milp import DesignProblem, Solution
from incentsim.optimizer.space import (
    Candidate,
    DesignSpace,
    generate_candidates,
    lever_values,
    short_hash,
)
from incentsim.optimizer.spec import Lever, OptimizationSpec
from incentsim.scenario.model import Scenario

__all__ = ["Refinement", "merge_simulations", "merge_spaces", "refine", "refinement_space"]


@dataclass
class Refinement:
    """The path of the refinement rounds.

    Attributes
    ----------
    rounds
        Per round (round 0 is the first solve): ``round``, ``new_candidates`` (over all
        segments), ``candidates`` (so far), ``simulations`` (candidate-scenarios the round
        added, simulated or read from the cache), ``objective``, ``improvement`` (relative to
        the round before), ``status``, ``gap`` and ``design`` (candidate id per segment).
    stopped
        Why the rounds stopped.
    """

    rounds: list[dict[str, Any]] = field(default_factory=list)
    stopped: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"rounds": self.rounds, "stopped": self.stopped}


def refinement_space(
    spec: OptimizationSpec,
    base: Scenario,
    space: DesignSpace,
    chosen: Mapping[str, Candidate],
    round_: int,
) -> DesignSpace:
    """The new designs of refinement round ``round_`` (from 1) around ``chosen``, without those
    ``space`` already holds (see the module notes)."""
    assert spec.refine is not None
    program = base.program.model_dump(mode="json")
    width = spec.refine.shrink**round_
    levers: list[Lever] = []
    for g, candidate in chosen.items():
        only = [g] if spec.per_segment else None
        active = [
            lever
            for lever in spec.levers
            if not lever.program_wide and (lever.segments is None or g in lever.segments)
        ]
        for lever in active:
            value = candidate.settings.get(lever.path, _base_value(program, lever.path))
            levers.append(_box(lever, value, width, only))
        for path, value in candidate.settings.items():
            if all(lever.path != path for lever in active):
                levers.append(Lever(path=path, values=[value], segments=only))
        if not spec.per_segment:
            break  # one design for every segment: one box
    seed = base.seed if spec.seed is None else spec.seed
    around = spec.model_copy(
        update={
            "levers": levers,
            "sampler": "lhs",
            "max_candidates": spec.refine.candidates,
            "candidates": [],
            "include_base": True,  # keeps a segment without numeric levers from being empty
            "seed": int(short_hash([seed, round_], length=15), 16),
        }
    )
    found = generate_candidates(around, base)
    new = DesignSpace(list(space.segments), {}, repaired=found.repaired)
    for g in space.segments:
        known = {c.key for c in space.candidates[g]}
        new.candidates[g] = [
            Candidate(f"r{round_}.{c.id}", c.settings, "refine")
            for c in found.candidates[g]
            if c.settings and c.key not in known
        ]
        new.dropped[g] = found.dropped.get(g, [])
        new.duplicates[g] = found.duplicates.get(g, 0)
    return new


def _box(lever: Lever, value: Any, width: float, only: list[str] | None) -> Lever:
    """The lever limited to ``value`` plus or minus ``width`` times half its domain (a fixed
    value when it is not numeric or ``value`` is not a number)."""
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if not (lever.numeric and numeric):
        return Lever(path=lever.path, values=[value], segments=only)
    domain = lever.range if lever.range is not None else _span(lever_values(lever, value))
    low, high = domain
    half = width * (high - low) / 2
    box = (max(low, value - half), min(high, value + half))
    if not box[1] > box[0]:
        return Lever(path=lever.path, values=[value], segments=only)
    return Lever(path=lever.path, range=box, segments=only)


def _span(values: list[Any]) -> tuple[float, float]:
    numbers = [float(v) for v in values]
    return min(numbers), max(numbers)


def _base_value(program: Mapping[str, Any], path: str) -> Any:
    node: Any = program
    for part in path.removeprefix("program.").split("."):
        node = node[part]
    return node


def merge_simulations(sim: SimulatedCandidates, more: SimulatedCandidates) -> SimulatedCandidates:
    """``sim`` with ``more``'s candidates appended (the same segments, scenarios and seed)."""
    return SimulatedCandidates(
        segments=list(sim.segments),
        candidates={g: [*sim.candidates[g], *more.candidates[g]] for g in sim.segments},
        data={
            g: {m: np.concatenate([a, more.data[g][m]]) for m, a in sim.data[g].items()}
            for g in sim.segments
        },
        partners=dict(sim.partners),
        replications=sim.replications,
        seed=sim.seed,
        simulated=sim.simulated + more.simulated,
        cached=sim.cached + more.cached,
        seconds=sim.seconds + more.seconds,
        draws=sim.draws,
    )


def merge_spaces(space: DesignSpace, more: DesignSpace) -> DesignSpace:
    """``space`` with ``more``'s candidates, skipped designs and duplicates added."""
    return DesignSpace(
        list(space.segments),
        {g: [*space.candidates[g], *more.candidates[g]] for g in space.segments},
        {g: [*space.dropped.get(g, []), *more.dropped.get(g, [])] for g in space.segments},
        {g: space.duplicates.get(g, 0) + more.duplicates.get(g, 0) for g in space.segments},
        space.repaired + more.repaired,
    )


def refine(
    spec: OptimizationSpec,
    base: Scenario,
    space: DesignSpace,
    sim: SimulatedCandidates,
    solution: Solution,
    simulate: Callable[[DesignSpace], SimulatedCandidates],
    problem_for: Callable[[SimulatedCandidates], DesignProblem],
    solve: Callable[[DesignProblem], Solution],
) -> tuple[DesignSpace, SimulatedCandidates, DesignProblem, Solution, Refinement]:
    """Refinement rounds from a first solution (see the module notes).

    Parameters
    ----------
    spec, base
        The optimisation (with ``refine``) and its base scenario.
    space, sim, solution
        The first candidates, their simulations and the first solution (with a design).
    simulate
        Simulates new candidates on the optimiser's seed blocks.
    problem_for
        The design problem over simulated candidates.
    solve
        Solves a design problem.

    Returns
    -------
    space, sim, problem, solution, refinement
        Every candidate, their simulations, the last problem and its solution, and the path.
    """
    assert spec.refine is not None
    path = Refinement()
    problem = problem_for(sim)
    path.rounds.append(_round(0, sim, space, space.n_candidates, solution, None))
    path.stopped = f"after {spec.refine.rounds} rounds (the most allowed)"
    for round_ in range(1, spec.refine.rounds + 1):
        chosen = {g: space.candidates[g][c] for g, c in solution.choice.items()}
        new = refinement_space(spec, base, space, chosen, round_)
        if new.n_candidates == 0:
            path.stopped = f"round {round_} found no design not already simulated"
            break
        more = simulate(new)
        candidate_sim = merge_simulations(sim, more)
        candidate_problem = problem_for(candidate_sim)
        candidate_solution = solve(candidate_problem)
        if not candidate_solution.has_design:
            path.stopped = f"round {round_} found no design ({candidate_solution.status})"
            break
        previous = float(solution.objective or 0.0)
        gain = (float(candidate_solution.objective or 0.0) - previous) / max(abs(previous), 1.0)
        space, sim = merge_spaces(space, new), candidate_sim
        problem, solution = candidate_problem, candidate_solution
        path.rounds.append(_round(round_, sim, space, new.n_candidates, solution, gain))
        if gain < spec.refine.tolerance:
            path.stopped = (
                f"round {round_} raised the objective by {gain:.3%}, less than the tolerance "
                f"{spec.refine.tolerance:.3%}"
            )
            break
    return space, sim, problem, solution, path


def _round(
    round_: int,
    sim: SimulatedCandidates,
    space: DesignSpace,
    new: int,
    solution: Solution,
    gain: float | None,
) -> dict[str, Any]:
    return {
        "round": round_,
        "new_candidates": new,
        "candidates": space.n_candidates,
        "simulations": new * sim.replications,
        "objective": solution.objective,
        "improvement": gain,
        "status": solution.status,
        "gap": solution.gap,
        "design": {g: sim.candidates[g][c].id for g, c in solution.choice.items()},
    }
