"""Seed blocks: fixed size, children of the root, fresh streams disjoint from the main run."""

from __future__ import annotations

import numpy as np
import pytest

from incentsim.montecarlo.seeding import (
    BLOCK_SIZE,
    FRESH_NAMESPACE,
    block_seeds,
    describe_seed,
    fresh_seed,
    n_blocks,
    seed_from_description,
    seed_label,
)


def state(seq: np.random.SeedSequence) -> tuple[int, ...]:
    return tuple(seq.generate_state(8).tolist())


def test_default_block_size_and_last_block_smaller() -> None:
    assert BLOCK_SIZE == 25
    blocks = block_seeds(7, 60)
    assert [(b.index, b.reps) for b in blocks] == [(0, 25), (1, 25), (2, 10)]
    assert n_blocks(50) == 2
    assert n_blocks(51) == 3
    assert [b.reps for b in block_seeds(7, 23, block_size=5)] == [5, 5, 5, 5, 3]


def test_blocks_are_the_roots_spawned_children() -> None:
    blocks = block_seeds(20261123, 100)
    children = np.random.SeedSequence(20261123).spawn(4)
    assert [state(b.seed) for b in blocks] == [state(c) for c in children]
    third = blocks[2]
    assert (third.index, third.seed.spawn_key, third.reps) == (2, (2,), 25)


def test_blocks_do_not_change_the_root_or_each_other() -> None:
    root = np.random.SeedSequence(99)
    first = [state(b.seed) for b in block_seeds(root, 50, 10)]
    again = [state(b.seed) for b in block_seeds(root, 50, 10)]
    assert first == again
    assert root.n_children_spawned == 0
    assert len(set(first)) == len(first)


def test_more_replications_keep_the_earlier_blocks() -> None:
    short = [state(b.seed) for b in block_seeds(5, 50)]
    long = [state(b.seed) for b in block_seeds(5, 200)]
    assert long[:2] == short


def test_fresh_streams_are_disjoint_from_the_main_run() -> None:
    main = block_seeds(11, 500)
    # the engine spawns sub-streams from each block, so check those too
    main_states = {state(b.seed) for b in main}
    main_states |= {state(c) for b in main for c in b.seed.spawn(3)}
    fresh = [fresh_seed(11, k) for k in (0, 1, 2)]
    fresh_blocks = [state(b.seed) for f in fresh for b in block_seeds(f, 500)]
    assert not main_states & set(fresh_blocks)
    assert len(set(fresh_blocks)) == len(fresh_blocks)
    assert fresh[1].spawn_key == (FRESH_NAMESPACE, 1)
    assert n_blocks(1_000_000) < FRESH_NAMESPACE


def test_seed_descriptions_round_trip() -> None:
    assert describe_seed(42) == 42
    assert state(seed_from_description(describe_seed(42))) == state(np.random.SeedSequence(42))
    fresh = fresh_seed(42, 3)
    description = describe_seed(fresh)
    assert description == {"entropy": 42, "spawn_key": [FRESH_NAMESPACE, 3]}
    assert state(seed_from_description(description)) == state(fresh)
    assert seed_label(42) == "42"
    assert seed_label(fresh) == "42 (fresh stream 3)"


@pytest.mark.parametrize(
    ("seed", "reps", "size"), [(-1, 10, 5), (1.5, 10, 5), (True, 10, 5), (1, 0, 5), (1, 10, 0)]
)
def test_bad_arguments_are_refused(seed: object, reps: int, size: int) -> None:
    with pytest.raises(ValueError, match=r"seed|replication|block_size"):
        block_seeds(seed, reps, size)  # type: ignore[arg-type]
