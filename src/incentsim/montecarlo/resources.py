"""What a run will ask of the machine, checked before anything starts or is written.

A block holds its replications' partner state in arrays shaped (replications, partners), so its
memory grows with both. :func:`block_memory` estimates it from figures measured on one
25-replication block (peak resident memory less the interpreter's 116 MB, divided by partners x
replications; ``benchmarks``-style runs on this project's 2-core machines):

==========  ========  =======  =====  =============================
scenario    partners  periods  panel  KB per partner x replication
==========  ========  =======  =====  =============================
baseline    2,000     8        no     2.58
baseline    8,000     8        no     2.28
baseline    20,000    8        no     2.21
baseline    8,000     24       no     2.39
baseline    1,000     80       no     5.84 (fixed costs weigh more)
constructs  8,000     8        no     2.95
baseline    2,000     8        yes    5.47
==========  ========  =======  =====  =============================

so about 2.6 KB plus 0.02 KB per period, per partner (recruits included) and replication, and
0.36 KB more per period with ``panel`` rows kept. :func:`check_block_memory` refuses a run whose
concurrent blocks would need more than 80% of the memory available, saying how much they would
need.

A block's size is the seeds' :data:`~incentsim.montecarlo.seeding.BLOCK_SIZE` (25) unless 25
replications of the population would need more than :data:`BLOCK_MEMORY_LIMIT`: then
:func:`block_size_for` takes as many replications as fit it (at least one), so 1,000,000
partners run in blocks of a few replications. The limit is a constant, not the machine's
memory, so a scenario's block size, and its numbers, are the same on every machine; every
population up to about 115,000 partners over 8 periods keeps blocks of 25.
"""

from __future__ import annotations

import os

from incentsim.errors import IncentsimError
from incentsim.montecarlo.seeding import BLOCK_SIZE
from incentsim.scenario.model import Scenario

#: Bytes per partner and replication in a block, and the extra per period of the horizon.
BYTES_PER_PARTNER_REP = 2_600
BYTES_PER_PARTNER_REP_PERIOD = 20
#: The extra bytes per partner, replication and period when a block keeps panel rows.
PANEL_BYTES_PER_PARTNER_REP_PERIOD = 360
#: Share of the available memory a run may plan to use.
USABLE_SHARE = 0.8
#: Estimated bytes one block may need before its replications are fewer than ``BLOCK_SIZE``.
BLOCK_MEMORY_LIMIT = 8 * 2**30


class ResourceError(IncentsimError):
    """A run that would need more of the machine than it has (memory, workers)."""


def block_memory(scenario: Scenario, reps: int, panel: bool = False) -> int:
    """Estimated peak bytes one block of ``reps`` replications of ``scenario`` needs."""
    population, horizon = scenario.population, scenario.calendar.horizon_periods
    partners = population.partners + population.recruitment.per_period * horizon
    per_period = BYTES_PER_PARTNER_REP_PERIOD + (PANEL_BYTES_PER_PARTNER_REP_PERIOD if panel else 0)
    return int(partners * reps * (BYTES_PER_PARTNER_REP + per_period * horizon))


def block_size_for(scenario: Scenario, panel: bool = False) -> int:
    """Replications per block for ``scenario``: :data:`~incentsim.montecarlo.seeding.BLOCK_SIZE`,
    or fewer (at least one) when that many would need more than :data:`BLOCK_MEMORY_LIMIT`
    (:func:`block_memory`, without panel rows: keeping them does not change the numbers)."""
    del panel  # the block size, and so the streams, never depend on what is kept
    if block_memory(scenario, BLOCK_SIZE) <= BLOCK_MEMORY_LIMIT:
        return BLOCK_SIZE
    return max(1, BLOCK_MEMORY_LIMIT // block_memory(scenario, 1))


def available_memory() -> int | None:
    """Bytes of memory available to a new run (``MemAvailable``), ``None`` when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_block_memory(
    scenario: Scenario,
    block_reps: int,
    concurrent: int = 1,
    panel: bool = False,
    available: int | None = None,
) -> None:
    """Refuse a run whose ``concurrent`` blocks of ``block_reps`` replications would need more
    memory than is available.

    Parameters
    ----------
    scenario
        The scenario simulated.
    block_reps
        Replications in the largest block.
    concurrent
        Blocks in memory at once (one per worker process on this machine).
    panel
        Whether panel rows are kept.
    available
        Bytes available; default :func:`available_memory` (no check when it is unknown).

    Raises
    ------
    ResourceError
        Saying how much memory the run would need and what to change.
    """
    available = available_memory() if available is None else available
    if available is None:
        return
    one = block_memory(scenario, block_reps, panel)
    need = one * max(concurrent, 1)
    if need <= USABLE_SHARE * available:
        return
    workers = f" x {concurrent} blocks at once (one per worker)" if concurrent > 1 else ""
    raise ResourceError(
        f"{scenario.name}: a block of {block_reps} replications of "
        f"{scenario.population.partners:,} partners needs about {_gb(one)} of memory{workers}, "
        f"{_gb(need)} in all, and {_gb(available)} is available; use fewer partners"
        + (" or fewer workers" if concurrent > 1 else "")
        + (" or no --panel" if panel else "")
    )


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.1f} GB" if n_bytes >= 1e8 else f"{n_bytes / 1e6:.0f} MB"
