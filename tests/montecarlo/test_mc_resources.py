"""The memory a block needs, estimated before a run starts, and the refusal that names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from incentsim.montecarlo.resources import ResourceError, block_memory, check_block_memory
from incentsim.scenario import load_scenario

SMALL = Path(__file__).resolve().parents[2] / "scenarios" / "small.yaml"


def _scenario(partners: int, periods: int = 4):
    return load_scenario(
        SMALL, [f"population.partners={partners}", f"calendar.horizon_periods={periods}"]
    )


def test_the_estimate_grows_with_partners_replications_periods_and_panel() -> None:
    base = block_memory(_scenario(1000), 25)
    assert 50e6 < base < 100e6  # about 2.7 KB per partner and replication
    assert block_memory(_scenario(2000), 25) > 1.9 * base
    assert block_memory(_scenario(1000), 10) == pytest.approx(0.4 * base)
    assert block_memory(_scenario(1000, periods=40), 25) > base
    assert block_memory(_scenario(1000), 25, panel=True) > 1.5 * base


def test_a_block_that_does_not_fit_is_refused_with_the_memory_it_needs() -> None:
    scenario = _scenario(1_000_000)
    with pytest.raises(ResourceError, match=r"needs about 6\d\.\d GB .* 8\.0 GB is available"):
        check_block_memory(scenario, 25, available=8 * 10**9)
    check_block_memory(scenario, 25, available=200 * 10**9)  # fits


def test_blocks_side_by_side_count_once_each() -> None:
    scenario = _scenario(100_000)
    one = block_memory(scenario, 25)
    check_block_memory(scenario, 25, concurrent=1, available=int(2 * one))
    with pytest.raises(ResourceError, match=r"x 4 blocks at once .* or fewer workers"):
        check_block_memory(scenario, 25, concurrent=4, available=int(2 * one))


def test_blocks_keep_25_replications_until_a_block_would_pass_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from incentsim.montecarlo import resources
    from incentsim.montecarlo.resources import BLOCK_MEMORY_LIMIT, block_size_for
    from incentsim.montecarlo.seeding import BLOCK_SIZE

    assert block_size_for(_scenario(1000)) == BLOCK_SIZE
    assert block_size_for(_scenario(100_000, periods=8)) == BLOCK_SIZE  # numbers unchanged
    million = _scenario(1_000_000)
    size = block_size_for(million)
    assert 1 <= size < BLOCK_SIZE
    assert block_memory(million, size) <= BLOCK_MEMORY_LIMIT < block_memory(million, size + 1)
    monkeypatch.setattr(resources, "BLOCK_MEMORY_LIMIT", 1)
    assert block_size_for(million) == 1  # never fewer than one
