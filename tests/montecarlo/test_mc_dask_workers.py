"""Dask workers allocate as process-pool workers do: a freed array's memory is reused.

Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, under which glibc maps every
array above 128 KiB fresh from the kernel, so allocating and filling one page-faults each of its
pages every time. With the executor's worker plugin the memory of a freed 1 MiB array is
reused: filling fifty in turn page-faults a few times, not fifty times 256.
"""

from __future__ import annotations

import os
import platform
import resource

import numpy as np
import pytest

pytest.importorskip("distributed")

from distributed import LocalCluster

from incentsim.montecarlo.dask_workers import set_allocator_thresholds
from incentsim.montecarlo.executors import DaskExecutor

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the thresholds are glibc's")


def page_faults_filling_arrays(count: int = 50, size: int = 2**20) -> int:
    """Minor page faults of this process while it fills ``count`` arrays of ``size`` bytes,
    one after another."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(count):
        np.ones(size // 8)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@glibc
def test_the_workers_of_a_local_cluster_reuse_freed_memory() -> None:
    with DaskExecutor(workers=1) as ex:
        faults = ex._client.run(page_faults_filling_arrays)
    assert [count < 1000 for count in faults.values()] == [True]


@glibc
def test_the_workers_of_an_existing_scheduler_reuse_freed_memory() -> None:
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None)
    with cluster, DaskExecutor(address=cluster.scheduler_address) as ex:
        faults = ex._client.run(page_faults_filling_arrays)
    assert [count < 1000 for count in faults.values()] == [True]


def test_a_local_cluster_leaves_this_process_environment_as_it_found_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Dask's nanny writes MALLOC_TRIM_THRESHOLD_=65536 into the environment of the process it
    # runs in; process pools started afterwards would inherit it and run 2x slower.
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    with DaskExecutor(workers=1) as ex:
        assert ex.workers == 1
        assert "MALLOC_TRIM_THRESHOLD_" not in os.environ
    assert os.environ["OMP_NUM_THREADS"] == "3"


@glibc
def test_the_thresholds_apply_with_glibc() -> None:
    assert set_allocator_thresholds()
