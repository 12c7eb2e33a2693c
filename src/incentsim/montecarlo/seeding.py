"""Seed blocks: the unit of randomness of a Monte Carlo run.

A run of ``R`` replications is cut into ``ceil(R / block_size)`` blocks of ``block_size``
replications (the last block holds the remainder). Block ``i`` draws all its randomness from
the ``i``-th child of the root seed, exactly as ``numpy.random.SeedSequence(root).spawn(n)[i]``
would give it. Because the block, not the worker, owns the stream, a run's replications are the
same bit for bit whether it runs serially, on 2 or 32 processes or on a Dask cluster.

Changing ``block_size`` changes which replications share a stream, and so changes the results:
keep the default (:data:`BLOCK_SIZE`) unless you mean to.

Fresh seeds
-----------
Validation runs (re-simulating an optimised design, say) must not reuse the main run's streams.
:func:`fresh_seed` gives a root disjoint from every stream a main run touches::

    main run         SeedSequence(root)                 -> blocks spawn_key (i,)
    fresh stream k   SeedSequence(root, spawn_key=(FRESH_NAMESPACE, k))
                                                         -> blocks spawn_key (FRESH_NAMESPACE, k, i)

The main run's block keys have one element and block indices stay far below
:data:`FRESH_NAMESPACE`, so neither a block nor anything the engine spawns from a block (keys
``(i, j, ...)`` with ``i < FRESH_NAMESPACE``) can coincide with a fresh stream. Pass the result
as ``seed`` to :func:`~incentsim.montecarlo.run_montecarlo`.

>>> blocks = block_seeds(7, 60)
>>> [(b.index, b.reps) for b in blocks]
[(0, 25), (1, 25), (2, 10)]
>>> blocks[1].seed.spawn_key
(1,)
>>> fresh_seed(7, 1).spawn_key
(2147483647, 1)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Replications per block. Part of a run's identity: results depend on it.
BLOCK_SIZE = 25

#: First element of the spawn key of fresh (validation) streams; main-run block indices stay
#: below it (a scenario has at most 1,000,000 replications).
FRESH_NAMESPACE = 2**31 - 1

SeedLike = int | np.random.SeedSequence


@dataclass(frozen=True)
class Block:
    """One block of replications: its index, its own seed and how many replications it holds."""

    index: int
    seed: np.random.SeedSequence
    reps: int


def n_blocks(n_reps: int, block_size: int = BLOCK_SIZE) -> int:
    """How many blocks ``n_reps`` replications make (the last one may be smaller)."""
    _check_sizes(n_reps, block_size)
    return math.ceil(n_reps / block_size)


def root_sequence(seed: SeedLike) -> np.random.SeedSequence:
    """``seed`` as a SeedSequence (an int becomes ``SeedSequence(seed)``)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"a seed must be a non-negative integer or a SeedSequence, not {seed!r}")
    return np.random.SeedSequence(int(seed))


def block_seeds(root_seed: SeedLike, n_reps: int, block_size: int = BLOCK_SIZE) -> list[Block]:
    """The blocks of a run of ``n_reps`` replications, each with its own stream.

    Parameters
    ----------
    root_seed
        The run's root: an integer (the scenario's ``seed``) or a SeedSequence such as
        :func:`fresh_seed` returns.
    n_reps
        Replications in the run.
    block_size
        Replications per block.

    Returns
    -------
    list of Block
        ``(index, seed, reps)`` per block; ``seed`` is the ``index``-th child of the root, the
        same as ``root.spawn(n_blocks)[index]`` on an unspawned root. The root is not modified,
        so calling this twice gives the same streams.
    """
    root = root_sequence(root_seed)
    count = n_blocks(n_reps, block_size)
    return [
        Block(
            index,
            np.random.SeedSequence(
                root.entropy, spawn_key=(*root.spawn_key, index), pool_size=root.pool_size
            ),
            min(block_size, n_reps - index * block_size),
        )
        for index in range(count)
    ]


def fresh_seed(root_seed: SeedLike, stream: int = 1) -> np.random.SeedSequence:
    """A root whose streams are disjoint from the main run of ``root_seed`` (see module notes).

    Different ``stream`` numbers give mutually disjoint roots, so successive validations can
    each take their own.
    """
    if stream < 0:
        raise ValueError(f"stream must be non-negative, not {stream}")
    root = root_sequence(root_seed)
    return np.random.SeedSequence(
        root.entropy, spawn_key=(*root.spawn_key, FRESH_NAMESPACE, stream), pool_size=root.pool_size
    )


def describe_seed(seed: SeedLike) -> int | dict[str, Any]:
    """A JSON-able description of a root seed: the integer, or entropy and spawn key."""
    root = root_sequence(seed)
    if not root.spawn_key and isinstance(root.entropy, int):
        return root.entropy
    return {"entropy": root.entropy, "spawn_key": list(root.spawn_key)}


def seed_from_description(description: int | dict[str, Any]) -> np.random.SeedSequence:
    """The root seed :func:`describe_seed` described."""
    if isinstance(description, dict):
        return np.random.SeedSequence(
            description["entropy"], spawn_key=tuple(description["spawn_key"])
        )
    return root_sequence(description)


def seed_label(seed: SeedLike | int | dict[str, Any]) -> str:
    """A short human label: ``20261123`` or ``20261123 (fresh stream 1)``."""
    description = seed if isinstance(seed, int | dict) else describe_seed(seed)
    if isinstance(description, int):
        return str(description)
    key = list(description["spawn_key"])
    if len(key) >= 2 and key[-2] == FRESH_NAMESPACE:
        return f"{description['entropy']} (fresh stream {key[-1]})"
    return f"{description['entropy']} (spawn key {tuple(key)})"


def _check_sizes(n_reps: int, block_size: int) -> None:
    if n_reps < 1:
        raise ValueError(f"a run needs at least 1 replication, not {n_reps}")
    if block_size < 1:
        raise ValueError(f"block_size must be at least 1, not {block_size}")
