"""Dask workers allocate memory as process-pool workers do.

Dask's nanny starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (its
``distributed.nanny.pre-spawn-environ`` default), which switches off glibc's adaptive mmap and
trim thresholds: every temporary array a block allocates above 128 KiB is then mapped fresh
from the kernel and page-faulted, and a block of the baseline scenario takes 3x the CPU time it
takes in a process-pool worker. :data:`WORKER_ALLOCATOR` holds the values glibc's adaptive
thresholds reach on their own (32 MiB, the most the mmap threshold adapts to, and twice that for
trimming): with them a Dask worker allocates as a process-pool worker does, and keeps at most
64 MiB of freed memory before returning it to the system.

:class:`AllocatorPlugin`, a worker plugin the Dask executor registers on every cluster it uses
(a local one it starts or an existing scheduler's), applies them in each worker's process with
``mallopt`` when the worker starts or joins, whatever its environment says. Users who would
rather start their own workers with them set ``MALLOC_MMAP_THRESHOLD_=33554432`` and
``MALLOC_TRIM_THRESHOLD_=67108864`` in the workers' environment (through
``distributed.nanny.pre-spawn-environ`` when workers run under a nanny).

Dask's nanny also writes its pre-spawn variables into the environment of the process that runs
it, which for a local cluster is this one, so that process pools started here afterwards would
inherit ``MALLOC_TRIM_THRESHOLD_=65536`` and run 2x slower: :func:`environment_kept` puts the
environment back once the local cluster's workers have started.

The plugin does nothing where the C library is not glibc (the thresholds are glibc's, and so is the
problem). This module needs ``dask[distributed]``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
from collections.abc import Iterator
from typing import Any

import dask
from distributed import WorkerPlugin

#: glibc allocator thresholds for Dask workers, bytes, by environment variable name.
WORKER_ALLOCATOR: dict[str, int] = {
    "MALLOC_MMAP_THRESHOLD_": 32 * 2**20,
    "MALLOC_TRIM_THRESHOLD_": 64 * 2**20,
}

#: glibc's ``mallopt`` parameter numbers (``malloc.h``) for the same thresholds.
_MALLOPT = {"MALLOC_MMAP_THRESHOLD_": -3, "MALLOC_TRIM_THRESHOLD_": -1}


def set_allocator_thresholds() -> bool:
    """Apply :data:`WORKER_ALLOCATOR` to this process's glibc allocator.

    Returns
    -------
    bool
        Whether they were applied (``False`` when the C library is not glibc).
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "gnu_get_libc_version"):
        return False
    return all(
        libc.mallopt(_MALLOPT[variable], value) == 1 for variable, value in WORKER_ALLOCATOR.items()
    )


class AllocatorPlugin(WorkerPlugin):
    """A worker plugin applying :data:`WORKER_ALLOCATOR` in each worker it is set up on."""

    name = "incentsim-allocator"

    def setup(self, worker: Any) -> None:
        """Apply the thresholds in the worker's process."""
        set_allocator_thresholds()


@contextlib.contextmanager
def environment_kept() -> Iterator[None]:
    """Restore, on leaving, this process's environment variables that Dask's nanny sets before
    starting a worker (``distributed.nanny.pre-spawn-environ``): as they were, or absent."""
    names = list(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
