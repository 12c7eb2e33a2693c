"""Behaviour constants drawn per block of replications (a calibration's parameter draws).

``RunOptions(draws=BehaviourDraws(rows))`` (``--draws draws.csv`` on the command line) simulates
each block of replications with one row of behaviour constants, so a run's spread includes what
a calibration leaves uncertain (the rows are read by
:func:`incentsim.calibration.draws.read_draws`). The row is chosen from the block's own seed (a
stream no simulation draws from), so a run is reproducible from its seed whatever the number of
workers or the executor, and every variant of a comparison, every sample point of a
sensitivity analysis and every candidate of an optimisation gives block ``i`` the same row
(common random numbers). A block's replications share its row: the constants vary between
blocks (of :data:`~incentsim.montecarlo.seeding.BLOCK_SIZE` replications), which needs runs of
several blocks to show.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from incentsim.engine.simulation import simulate_block

if TYPE_CHECKING:
    from incentsim.scenario.model import Scenario

__all__ = ["DRAW_STREAM", "BehaviourDraws", "DrawnBehaviour"]

#: Spawn-key element of the stream that picks a block's draw (the engine spawns 0, 1, 2...).
DRAW_STREAM: int = 2**31 - 2


@dataclass(frozen=True)
class BehaviourDraws:
    """Rows of behaviour constants (``name -> value``), one picked per block."""

    rows: tuple[dict[str, float], ...]

    def __post_init__(self) -> None:
        if not self.rows:
            raise ValueError("behaviour draws need at least one row")

    @property
    def constants(self) -> list[str]:
        """The behaviour constants the rows set."""
        return list(dict.fromkeys(name for row in self.rows for name in row))

    def pick(self, seed: np.random.SeedSequence) -> int:
        """The row a block with this seed uses."""
        stream = np.random.SeedSequence(
            seed.entropy, spawn_key=(*seed.spawn_key, DRAW_STREAM), pool_size=seed.pool_size
        )
        return int(np.random.default_rng(stream).integers(len(self.rows)))

    def apply(self, scenario: Scenario, row: int) -> Scenario:
        """``scenario`` with row ``row``'s behaviour constants."""
        behaviour = scenario.behaviour.model_copy(update=self.rows[row])
        return scenario.model_copy(update={"behaviour": behaviour})

    def for_block(self, scenario: Scenario, seed: np.random.SeedSequence) -> Scenario:
        """``scenario`` as the block with this seed simulates it."""
        return self.apply(scenario, self.pick(seed))

    def digest(self) -> str:
        """A content hash of the rows (for manifests and cache keys)."""
        text = json.dumps(list(self.rows), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class DrawnBehaviour:
    """A block function (``RunOptions(block_fn=...)``) that simulates each block with one
    row of ``draws`` picked from the block's seed, by ``inner`` (default the engine's
    ``simulate_block``)."""

    draws: tuple[dict[str, float], ...] | BehaviourDraws
    inner: Callable[..., Any] | None = None

    @property
    def rows(self) -> BehaviourDraws:
        """The draws as :class:`BehaviourDraws`."""
        draws = self.draws
        return draws if isinstance(draws, BehaviourDraws) else BehaviourDraws(tuple(draws))

    def pick(self, seed: np.random.SeedSequence) -> int:
        """The row a block with this seed uses."""
        return self.rows.pick(seed)

    def __call__(
        self, scenario: Scenario, seed: np.random.SeedSequence, reps: int, panel: bool = False
    ) -> Any:
        inner = self.inner
        if inner is None:
            inner = simulate_block
        return inner(self.rows.for_block(scenario, seed), seed, reps, panel=panel)
