"""Synthetic optimisation problems for the optimiser's tests and benchmark-sized checks."""

from __future__ import annotations

import numpy as np

from incentsim.optimizer.milp import DesignProblem, SegmentCoefficients, assess, choices


def synthetic_segments(
    n_segments: int, n_candidates: int, n_scenarios: int, seed: int = 1
) -> dict[str, SegmentCoefficients]:
    """Segments whose more generous candidates cost more, vary more and are worth more."""
    rng = np.random.default_rng(seed)
    market = rng.normal(0.0, 1.0, n_scenarios)  # common to every segment: costs co-move
    segments = {}
    for g in range(n_segments):
        generosity = rng.uniform(0.5, 1.5, n_candidates)
        scale = rng.uniform(80.0, 120.0)
        noise = rng.normal(0.0, 1.0, (n_candidates, n_scenarios))
        cost = scale * generosity[:, None] * (1 + 0.2 * market[None, :] + 0.1 * noise)
        worth = 300 * np.log(generosity)[:, None] + rng.normal(0.0, 5.0, (n_candidates, 1))
        value = 1000 + worth - 0.5 * cost + rng.normal(0.0, 20.0, (n_candidates, n_scenarios))
        paid = cost.mean(axis=1)
        segments[f"segment{g}"] = SegmentCoefficients(
            candidates=[f"c{c}" for c in range(n_candidates)],
            value=value,
            cost=cost,
            retention=rng.uniform(0.8, 0.95, n_candidates),
            loyalty=rng.uniform(0.3, 0.6, n_candidates),
            small_paid=paid * rng.uniform(0.05, 0.2, n_candidates),
            paid=paid,
            revenue=10 * (value.mean(axis=1) + paid),  # no draw: the other figures stay put
        )
    return segments


def exhaustive_best(problem: DesignProblem) -> tuple[dict[str, int] | None, float]:
    """The best feasible choice by trying every combination, and its objective."""
    best, best_value = None, -np.inf
    for choice in choices(problem):
        figures = assess(problem, choice)
        if figures["feasible"] and figures["objective"] > best_value:
            best, best_value = choice, figures["objective"]
    return best, best_value
