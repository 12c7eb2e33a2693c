"""What a run will ask of the machine, checked before anything starts or is written.

A block holds its replications' partner state in arrays shaped (replications, partners), so its
memory grows with both. :func:`block_memory` estimates it from figures measured on the bundled
baseline (peak resident memory of one 25-replication block less the interpreter's, CPU-bound
runs on this project's 2-core machines):

=========  =======  ==========================
partners   periods  per partner x replication
=========  =======  ==========================
2,000      8        2.58 KB
8,000      8        2.28 KB
2,000      24       2.96 KB
=========  =======  ==========================

so about 2.4 KB plus 0.025 KB per period, per partner (recruits included) and replication, and
about 3 times that with ``panel`` rows kept. :func:`check_block_memory` refuses a run whose
concurrent blocks would need more than the memory available, saying how much they would need.
"""

from __future__ import annotations

import os

from incentsim.errors import IncentsimError
from incentsim.scenario.model import Scenario

#: Bytes per partner and replication in a block, and the extra per period of the horizon.
BYTES_PER_PARTNER_REP = 2_400
BYTES_PER_PARTNER_REP_PERIOD = 25
#: How much more a block takes when it keeps panel rows.
PANEL_FACTOR = 3.0
#: Share of the available memory a run may plan to use.
USABLE_SHARE = 0.8


class ResourceError(IncentsimError):
    """A run that would need more of the machine than it has (memory, workers)."""


def block_memory(scenario: Scenario, reps: int, panel: bool = False) -> int:
    """Estimated peak bytes one block of ``reps`` replications of ``scenario`` needs."""
    population, horizon = scenario.population, scenario.calendar.horizon_periods
    partners = population.partners + population.recruitment.per_period * horizon
    per = BYTES_PER_PARTNER_REP + BYTES_PER_PARTNER_REP_PERIOD * horizon
    return int(partners * reps * per * (PANEL_FACTOR if panel else 1.0))


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
