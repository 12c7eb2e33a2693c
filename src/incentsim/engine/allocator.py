"""Keep the C allocator from handing the engine's large temporaries back to the kernel.

The weekly step makes many temporary arrays of one block's shape, ``(replications, partners)``.
Past a few megabytes each (100,000 partners x 25 replications: 20 MB), glibc's ``malloc`` maps
them fresh from the kernel (above its mmap threshold) or gives the top of the heap back when
they are freed (above its trim threshold), so every temporary is page-faulted again: at 100,000
partners a fifth of the engine's CPU time went to the kernel. :func:`keep_freed_memory` raises
both thresholds (the mmap threshold to glibc's largest, 32 MB), so freed temporaries are reused
from the heap. The numbers do not change; a block's peak memory does not either (the heap keeps
what the block's peak needed, and returns it when the thresholds allow).

Only on glibc, and only when the process's environment sets neither threshold itself
(``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``, as a Dask nanny or a user may).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

#: ``mallopt`` parameters (glibc's ``malloc.h``).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: glibc's largest mmap threshold on 64-bit systems: arrays up to it come from the heap.
MMAP_THRESHOLD = 32 * 2**20
#: Free memory the heap keeps at its top before giving it back to the kernel (the largest
#: ``mallopt`` takes, 2 GB: at 100,000 partners x 25 replications the kernel took 21% of the
#: engine's CPU time with glibc's defaults, 15% with 1 GB and 11% with 2 GB, most of it the
#: first touch of the block's 6 GB).
TRIM_THRESHOLD = 2**31 - 1

_done: list[bool] = []


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds once per process; ``True`` when they are set
    (here or before), ``False`` where it does not apply (not glibc, or set by the environment)."""
    if _done:
        return _done[0]
    _done.append(_set_thresholds())
    return _done[0]


def _set_thresholds() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
