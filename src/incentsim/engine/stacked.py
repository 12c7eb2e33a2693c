"""Several seed blocks of one scenario simulated as one, each with the numbers it has alone.

A block's cost has a fixed part that does not grow with its replications (the calendar's
weekly steps and the rules engine's calls, each a few NumPy operations whatever the array
size), which dominates for a small population: a 25-replication block of a 20-partner segment
costs about twice per replication what a 100-replication one does. :func:`simulate_stacked`
pays that fixed part once for several blocks: it draws each block's population and market from
the block's own streams, lays the blocks end to end along the replication axis, and runs one
:class:`~incentsim.engine.simulation.Simulation` whose random draws come, row by row, from each
block's own partner stream (:class:`StackedGenerator`). Every replication's computation only
reads its own row, so each block's outcomes are bit for bit those of
:func:`~incentsim.engine.simulation.simulate_block` on its seed (the tests check it).

Blocks whose populations have different numbers of partner slots (a replication drew more
recruits than the slots sized from the recruitment rate) cannot share arrays: they are stacked
in groups of equal slot counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any, TypeVar

import numpy as np

from incentsim.engine.simulation import Simulation, draw_partners_and_market
from incentsim.market.demand import MarketPath
from incentsim.population.sample import Partners
from incentsim.scenario.model import Scenario

__all__ = ["StackedGenerator", "simulate_stacked"]

D = TypeVar("D", Partners, MarketPath)


class StackedGenerator:
    """Random draws for blocks laid end to end along the first axis, each block's rows drawn
    from its own generator, as that generator alone would draw them.

    Offers the :class:`numpy.random.Generator` methods the engine draws with (``spawn``,
    ``random``, ``standard_gamma``, ``beta``); any other raises ``AttributeError`` naming it.

    Parameters
    ----------
    generators
        One generator per block.
    rows
        Replications (rows) per block, in order.
    """

    def __init__(self, generators: Sequence[np.random.Generator], rows: Sequence[int]) -> None:
        if len(generators) != len(rows):
            raise ValueError(f"{len(generators)} generators for {len(rows)} blocks")
        self.generators = list(generators)
        self.rows = [int(r) for r in rows]
        self._bounds = np.cumsum([0, *self.rows])

    def spawn(self, n_children: int) -> list[StackedGenerator]:
        """``n_children`` stacked generators, child ``i`` stacking every block's child ``i``."""
        children = [g.spawn(n_children) for g in self.generators]
        return [StackedGenerator([c[i] for c in children], self.rows) for i in range(n_children)]

    def random(self, size: tuple[int, ...]) -> np.ndarray:
        """Uniform draws on [0, 1) shaped ``size`` (first axis: the stacked replications)."""
        shape = self._stacked_shape(tuple(size))
        return self._per_block(lambda g, _, r: g.random((r, *shape[1:])))

    def beta(self, a: float, b: float, size: tuple[int, ...]) -> np.ndarray:
        """Beta(a, b) draws shaped ``size`` (first axis: the stacked replications)."""
        shape = self._stacked_shape(tuple(size))
        return self._per_block(lambda g, _, r: g.beta(a, b, (r, *shape[1:])))

    def standard_gamma(self, shape: np.ndarray) -> np.ndarray:
        """Standard gamma draws with shape parameters ``shape`` (first axis: replications)."""
        shape = np.asarray(shape)
        self._stacked_shape(shape.shape)
        return self._per_block(lambda g, rows, _: g.standard_gamma(shape[rows]))

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"stacked blocks cannot draw with Generator.{name} yet: add it to "
            "incentsim.engine.stacked.StackedGenerator, drawing each block's rows from its own "
            "generator"
        )

    def _stacked_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if not shape or shape[0] != self._bounds[-1]:
            raise ValueError(
                f"a stacked draw must be shaped (replications, ...) with {self._bounds[-1]} "
                f"replications, not {shape}"
            )
        return shape

    def _per_block(
        self, draw: Callable[[np.random.Generator, slice, int], np.ndarray]
    ) -> np.ndarray:
        parts = [
            draw(g, slice(self._bounds[b], self._bounds[b + 1]), self.rows[b])
            for b, g in enumerate(self.generators)
        ]
        stacked: np.ndarray = np.concatenate(parts, axis=0)
        return stacked


def simulate_stacked(
    scenario: Scenario, seeds: Sequence[np.random.SeedSequence], reps: Sequence[int]
) -> list[dict[str, np.ndarray]]:
    """The outcomes of each seed block of ``scenario``, simulated stacked (see the module notes).

    Parameters
    ----------
    scenario
        The validated scenario.
    seeds, reps
        Each block's seed and replications, as :func:`~incentsim.engine.simulation.simulate_block`
        takes them.

    Returns
    -------
    list of dict
        Per block, in order: its outcomes (``BlockResult.outcomes``), each shaped ``(reps,)``.
    """
    if len(seeds) != len(reps):
        raise ValueError(f"{len(seeds)} seeds for {len(reps)} blocks")
    drawn = []
    for seed, count in zip(seeds, reps, strict=True):
        population_seed, market_seed, partner_seed = seed.spawn(3)
        partners, market = draw_partners_and_market(scenario, population_seed, market_seed, count)
        drawn.append((partners, market, np.random.default_rng(partner_seed), count))
    groups: dict[int, list[int]] = {}
    for index, (partners, *_) in enumerate(drawn):
        groups.setdefault(partners.segment.shape[1], []).append(index)
    outcomes: list[dict[str, np.ndarray]] = [{} for _ in drawn]
    for members in groups.values():
        rows = [drawn[i][3] for i in members]
        simulation = Simulation(
            scenario,
            _stack([drawn[i][0] for i in members]),
            _stack([drawn[i][1] for i in members]),
            StackedGenerator([drawn[i][2] for i in members], rows),  # type: ignore[arg-type]
        )
        stacked = simulation.run().outcomes
        del simulation
        bounds = np.cumsum([0, *rows])
        for k, i in enumerate(members):
            outcomes[i] = {
                name: values[bounds[k] : bounds[k + 1]].copy() for name, values in stacked.items()
            }
    return outcomes


def _stack(blocks: Sequence[D]) -> D:
    """Blocks' populations (or market paths) laid end to end along the replication axis."""
    first = blocks[0]
    if len(blocks) == 1:
        return first
    values: dict[str, Any] = {}
    for f in fields(first):
        value = getattr(first, f.name)
        per_replication = isinstance(value, np.ndarray) and f.name != "partner_id"
        values[f.name] = (
            np.concatenate([getattr(b, f.name) for b in blocks], axis=0)
            if per_replication
            else value
        )
    return type(first)(**values)
