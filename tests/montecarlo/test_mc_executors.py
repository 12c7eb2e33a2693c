"""Executors: one interface, results as they finish, errors and interrupts handled."""

from __future__ import annotations

import math
import sys
import time

import pytest

from incentsim.errors import MissingExtraError
from incentsim.montecarlo.executors import (
    DaskExecutor,
    ProcessExecutor,
    SerialExecutor,
    make_executor,
)


def test_serial_runs_in_order() -> None:
    with SerialExecutor() as ex:
        assert list(ex.map_unordered(math.sqrt, [4, 9, 16])) == [2.0, 3.0, 4.0]
        assert ex.workers == 1


def test_make_executor_by_name() -> None:
    assert isinstance(make_executor("serial"), SerialExecutor)
    processes = make_executor("processes", workers=3)
    assert isinstance(processes, ProcessExecutor)
    assert (processes.workers, processes.context) == (3, "spawn")
    dask = make_executor("dask", workers=2, address="tcp://127.0.0.1:8786")
    assert isinstance(dask, DaskExecutor)
    assert dask.address == "tcp://127.0.0.1:8786"
    with pytest.raises(ValueError, match="unknown executor 'threads'"):
        make_executor("threads")
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        ProcessExecutor(0)


def test_process_pool_runs_everything_and_reports_workers() -> None:
    with ProcessExecutor(2) as ex:
        assert sorted(ex.map_unordered(math.factorial, range(12))) == sorted(
            math.factorial(i) for i in range(12)
        )
        assert ex.workers == 2


def test_functions_workers_cannot_import_are_refused_clearly() -> None:
    def local(x: int) -> int:
        return x

    with ProcessExecutor(1) as ex:
        with pytest.raises(TypeError, match="cannot import it"):
            list(ex.map_unordered(local, [1]))
        with pytest.raises(TypeError, match="cannot import it"):
            list(ex.map_unordered(lambda x: x, [1]))


def test_worker_errors_propagate_with_their_message() -> None:
    with ProcessExecutor(2) as ex, pytest.raises(ValueError, match="math domain error"):
        list(ex.map_unordered(math.sqrt, [1, 4, -1, 9]))


def test_interrupt_cancels_the_queue_and_stops_workers() -> None:
    """Ctrl-C while tasks run: the pool stops at once instead of finishing 60 s sleeps."""
    began = time.perf_counter()
    results: list[None] = []

    def interrupted_after_one_result() -> None:
        with ProcessExecutor(2) as ex:
            for result in ex.map_unordered(time.sleep, [0.0, 60, 60, 60, 60]):
                results.append(result)
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted_after_one_result()
    assert results == [None]
    assert time.perf_counter() - began < 20


def test_the_dask_executor_without_dask_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [n for n in sys.modules if n.split(".")[0] == "distributed"] + ["distributed"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if the extra were not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'incentsim\[dask\]'"):
        DaskExecutor(workers=1).start()
