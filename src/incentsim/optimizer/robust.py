"""Robust designs: candidates simulated under draws of the uncertain behaviour constants.

The partner model's constants (:class:`~incentsim.population.behaviour.Behaviour`) have
documented plausible ranges but no firm values, so a design that is best under the defaults
may be poor under a plausible alternative. With ``robust:`` in the optimisation file, the
optimiser's scenarios become draws x replications: ``robust.draws`` points of a Latin
hypercube over the chosen assumptions' ranges (:data:`ASSUMPTIONS`, the behaviour constants of
:data:`~incentsim.experiments.sensitivity.DEFAULT_FACTORS`), each simulated over the same seed
blocks (so draws differ by their assumptions only). The budget and tail-risk constraints hold
over all of them pooled, and the objective maximised is ``robust.measure`` of the per-draw
expected objective (:func:`~incentsim.optimizer.milp.draw_objective`).

:func:`compare_designs` sets the *nominal* design (the one chosen under the default constants)
against the robust one under every draw, and scores each assumption by the rank correlation
between its drawn value and the robust design's gain over the nominal one: the assumptions the
choice is sensitive to. With ``refine:``, the nominal design is refined first (rounds under the
default constants, as the robust design's are under the draws), and its candidates join the
robust optimisation's, so the comparison sets a refined design against a refined one.

The draws come from their own stream of the optimisation's seed
(:func:`~incentsim.montecarlo.seeding.fresh_seed`), so they are reproducible.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from incentsim.experiments.sensitivity import DEFAULT_FACTORS, Factor, apply_factors
from incentsim.montecarlo.seeding import SeedLike
from incentsim.optimizer.evaluate import SimulatedCandidates
from incentsim.optimizer.milp import DesignProblem, Solution, draw_means, draw_objective
from incentsim.optimizer.refine import Refinement
from incentsim.optimizer.spec import OptimizationSpec
from incentsim.scenario.model import Scenario

__all__ = [
    "ASSUMPTIONS",
    "Robustness",
    "assumption_draws",
    "compare_designs",
    "draw_scenario",
    "stack_draws",
    "with_draw_best",
]

#: Uncertain behaviour constants a robust design can be drawn over, with their documented
#: ranges (name -> factor).
ASSUMPTIONS: dict[str, Factor] = {
    f.name: f for f in DEFAULT_FACTORS if f.path is not None and f.path.startswith("behaviour.")
}


@dataclass
class Robustness:
    """The nominal and the robust design under every assumption draw.

    Attributes
    ----------
    measure, alpha
        The robust measure maximised and its level.
    assumptions
        ``{name: [value per draw]}``.
    nominal, robust
        Each design's candidate id per segment, its ``per_draw`` expected objective, and its
        ``expected``, ``worst_case`` and ``cvar`` over the draws.
    sensitivity
        Per assumption, the rank correlation between its drawn value and the robust design's
        gain over the nominal one per draw (largest magnitude first).
    nominal_refinement
        With ``refine``: the nominal design's own refinement rounds (under the default
        constants), so the nominal design compared is refined as the robust one is.
    """

    measure: str
    alpha: float
    assumptions: dict[str, list[float]]
    nominal: dict[str, Any]
    robust: dict[str, Any]
    sensitivity: dict[str, float] = field(default_factory=dict)
    nominal_refinement: Refinement | None = None

    def rows(self) -> list[dict[str, Any]]:
        """One row per draw: the assumptions' values and each design's objective."""
        n = len(self.nominal["per_draw"])
        return [
            {
                "draw": d,
                **{name: values[d] for name, values in self.assumptions.items()},
                "nominal_objective": self.nominal["per_draw"][d],
                "robust_objective": self.robust["per_draw"][d],
            }
            for d in range(n)
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "measure": self.measure,
            "alpha": self.alpha,
            "assumptions": self.assumptions,
            "nominal": self.nominal,
            "robust": self.robust,
            "sensitivity": self.sensitivity,
            "nominal_refinement": (
                None if self.nominal_refinement is None else self.nominal_refinement.to_dict()
            ),
        }


def assumption_draws(spec: OptimizationSpec, seed: SeedLike) -> tuple[list[Factor], np.ndarray]:
    """The assumptions drawn and a ``(draws, assumptions)`` Latin hypercube over their ranges."""
    # SciPy's stats take ~0.8 s CPU to load; the report package imports this module
    from scipy.stats import qmc

    assert spec.robust is not None
    names = spec.robust.assumptions or list(ASSUMPTIONS)
    factors = [ASSUMPTIONS[name] for name in names]
    unit = qmc.LatinHypercube(d=len(factors), rng=np.random.default_rng(seed)).random(
        spec.robust.draws
    )
    low = np.array([f.low for f in factors])
    high = np.array([f.high for f in factors])
    return factors, low + unit * (high - low)


def draw_scenario(base: Scenario, factors: Sequence[Factor], values: Sequence[float]) -> Scenario:
    """``base`` with each assumption set to its drawn value."""
    return apply_factors(base, factors, values)


def stack_draws(
    simulate: Callable[[Scenario], SimulatedCandidates],
    base: Scenario,
    factors: Sequence[Factor],
    values: np.ndarray,
) -> SimulatedCandidates:
    """Every candidate simulated under each draw (``simulate(scenario)``), the draws' scenarios
    side by side: columns ``d*R .. (d+1)*R - 1`` are draw ``d``, and ``draws`` says so."""
    parts = [simulate(draw_scenario(base, factors, row)) for row in values]
    first = parts[0]
    return SimulatedCandidates(
        segments=list(first.segments),
        candidates=first.candidates,
        data={
            g: {m: np.concatenate([p.data[g][m] for p in parts], axis=1) for m in first.data[g]}
            for g in first.segments
        },
        partners=first.partners,
        replications=first.replications * len(parts),
        seed=first.seed,
        simulated=sum(p.simulated for p in parts),
        cached=sum(p.cached for p in parts),
        seconds=sum(p.seconds for p in parts),
        draws=np.repeat(np.arange(len(parts)), first.replications),
    )


def with_draw_best(
    problem: DesignProblem, solve: Callable[[DesignProblem], Solution]
) -> DesignProblem:
    """For minimax regret: ``problem`` with the best objective of each draw alone (the problem
    solved on that draw's scenarios, every constraint kept); other problems unchanged. A draw
    with no feasible design counts its best as the lowest candidate objective, so it adds no
    regret."""
    if problem.draws is None or problem.draw_measure != "regret":
        return problem
    best = []
    for label in np.unique(problem.draws):
        columns = problem.draws == label
        segments = {
            g: dataclasses.replace(c, value=c.value[:, columns], cost=c.cost[:, columns])
            for g, c in problem.segments.items()
        }
        alone = dataclasses.replace(
            problem, segments=segments, draws=None, draw_measure="expected", draw_best=None
        )
        solution = solve(alone)
        lowest = sum(float(c.value.mean(axis=1).min()) for c in segments.values())
        found = solution.objective if solution.has_design else None
        best.append(lowest if found is None else float(found))
    return dataclasses.replace(problem, draw_best=np.array(best))


def compare_designs(
    problem: DesignProblem,
    nominal: Mapping[str, int],
    robust: Mapping[str, int],
    ids: Mapping[str, list[str]],
    factors: Sequence[Factor],
    values: np.ndarray,
) -> Robustness:
    """The nominal and robust choices under every draw of ``problem`` (see the module notes)."""
    # SciPy's stats take ~0.8 s CPU to load; the report package imports this module
    from scipy.stats import spearmanr

    alpha = problem.draw_alpha

    def figures(choice: Mapping[str, int]) -> dict[str, Any]:
        value = np.sum([problem.segments[g].value[c] for g, c in choice.items()], axis=0)
        per_draw = draw_means(problem, value)
        shown = {
            "design": {g: ids[g][c] for g, c in choice.items()},
            "per_draw": per_draw.tolist(),
            "expected": draw_objective(per_draw, "expected", alpha),
            "worst_case": draw_objective(per_draw, "worst_case", alpha),
            "cvar": draw_objective(per_draw, "cvar", alpha),
        }
        if problem.draw_best is not None:
            shown["max_regret"] = float(np.max(problem.draw_best - per_draw))
        return shown

    shown_nominal, shown_robust = figures(nominal), figures(robust)
    gain = np.asarray(shown_robust["per_draw"]) - np.asarray(shown_nominal["per_draw"])
    sensitivity = {}
    for i, factor in enumerate(factors):
        if np.ptp(gain) > 0:
            rho = spearmanr(values[:, i], gain).statistic
            sensitivity[factor.name] = float(rho) if np.isfinite(rho) else 0.0
        else:
            sensitivity[factor.name] = 0.0
    ordered = dict(sorted(sensitivity.items(), key=lambda item: -abs(item[1])))
    return Robustness(
        measure=problem.draw_measure,
        alpha=alpha,
        assumptions={f.name: values[:, i].tolist() for i, f in enumerate(factors)},
        nominal=shown_nominal,
        robust=shown_robust,
        sensitivity=ordered,
    )
