"""Executors: where blocks of replications run.

Every executor is a context manager with one method, :meth:`Executor.map_unordered`, that
applies a function to tasks and yields results as they finish. Results never depend on the
executor (blocks own their random streams, see :mod:`incentsim.montecarlo.seeding`); only the
wall time does.

- :class:`SerialExecutor`: in this process, one task after another. Easiest to debug.
- :class:`ProcessExecutor`: a pool of worker processes started with ``spawn`` (or
  ``forkserver``), never ``fork``, so it does not hang in notebooks or in programs with threads.
- :class:`DaskExecutor`: a Dask cluster, local (started and stopped with the executor) or an
  existing scheduler. Needs ``incentsim[dask]``. It sets its workers' memory allocator as the
  process pool's workers have it (:mod:`incentsim.montecarlo.dask_workers`).

At most a few tasks per worker are in flight at a time, so finished results do not pile up in
memory and an interrupt has little queued work to cancel.

With ``spawn`` or ``forkserver``, the function and the tasks are pickled by reference: they must
be importable from a module. A function defined in a notebook cell cannot run on a
:class:`ProcessExecutor` (a clear ``TypeError`` says so); use the serial or Dask executor, or
move it into a ``.py`` file. A script that starts a process pool needs the usual
``if __name__ == "__main__":`` guard.

>>> with SerialExecutor() as ex:
...     sorted(ex.map_unordered(abs, [-2, 1, -3]))
[1, 2, 3]
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import multiprocessing
import os
import signal
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Literal, TypeVar

from incentsim.errors import optional_module

T = TypeVar("T")
R = TypeVar("R")

ExecutorKind = Literal["serial", "processes", "dask"]
EXECUTOR_KINDS: tuple[str, ...] = ("serial", "processes", "dask")

#: Tasks in flight per worker.
IN_FLIGHT_PER_WORKER = 2


class Executor(ABC):
    """Runs a function over tasks. Use as a context manager; results come back unordered."""

    #: ``"serial"``, ``"processes"`` or ``"dask"``.
    kind: str = ""

    @property
    @abstractmethod
    def workers(self) -> int:
        """Number of workers (informational)."""

    @abstractmethod
    def map_unordered(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """``fn(task)`` for each task, yielded as each finishes.

        An exception raised by ``fn`` is raised here, with its message, and the tasks not yet
        started are cancelled. Stopping the iteration early (or an interrupt) cancels them too.
        """

    def start(self) -> Executor:
        """Start the workers (called by ``__enter__``)."""
        return self

    def close(self) -> None:  # noqa: B027 - an optional hook; the serial executor has nothing to stop
        """Stop the workers (called by ``__exit__``); safe to call twice."""

    def __enter__(self) -> Executor:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workers={self.workers})"


class SerialExecutor(Executor):
    """Runs tasks one after another in this process."""

    kind = "serial"

    @property
    def workers(self) -> int:
        return 1

    def map_unordered(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        for task in tasks:
            yield fn(task)


class ProcessExecutor(Executor):
    """Runs tasks on a pool of worker processes on this machine.

    Parameters
    ----------
    workers
        Worker processes; defaults to the number of CPUs.
    context
        ``"spawn"`` (default, everywhere) or ``"forkserver"`` (POSIX; faster start).
    """

    kind = "processes"

    def __init__(
        self, workers: int | None = None, context: Literal["spawn", "forkserver"] = "spawn"
    ) -> None:
        if context not in ("spawn", "forkserver"):
            raise ValueError(f"context must be 'spawn' or 'forkserver', not {context!r}")
        self._workers = _positive_workers(workers) if workers is not None else os.cpu_count() or 1
        self.context = context
        self._pool: cf.ProcessPoolExecutor | None = None

    @property
    def workers(self) -> int:
        return self._workers

    def start(self) -> ProcessExecutor:
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=multiprocessing.get_context(self.context),
                # Workers leave Ctrl-C to the parent, which cancels the queue and stops them.
                # (A stdlib callable, so starting a worker imports nothing of incentsim.)
                initializer=functools.partial(signal.signal, signal.SIGINT, signal.SIG_IGN),
            )
        return self

    def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.shutdown(wait=True, cancel_futures=True)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            self._terminate()
        self.close()

    def _terminate(self) -> None:
        """Stop the workers now, mid-task (after an interrupt)."""
        if self._pool is None:
            return
        # ProcessPoolExecutor has no public way to stop running tasks before Python 3.14.
        for process in list(getattr(self._pool, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                process.terminate()

    def map_unordered(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        _require_importable(fn)
        pool = self.start()._pool
        assert pool is not None
        return _windowed(pool.submit, fn, tasks, self._workers * IN_FLIGHT_PER_WORKER)


class DaskExecutor(Executor):
    """Runs tasks on a Dask cluster.

    The workers' glibc allocator is set as a process pool's workers have it, by a worker plugin
    applied in each worker, present and future (:mod:`incentsim.montecarlo.dask_workers`); on an
    existing scheduler it stays registered after the executor closes. A local cluster's nanny
    leaves this process's environment as it found it, so process pools started later do not
    inherit Dask's allocator setting.

    Parameters
    ----------
    address
        A running scheduler's address (``tcp://host:8786``). When ``None``, a local cluster of
        ``workers`` single-threaded processes is started and stopped with the executor.
    workers
        Worker processes of the local cluster (default: the number of CPUs). Ignored with an
        address.
    """

    kind = "dask"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        self.address = address
        self._requested = _positive_workers(workers) if workers is not None else None
        self._client: Any = None
        self._cluster: Any = None

    @property
    def workers(self) -> int:
        if self._client is not None:
            return len(self._client.scheduler_info().get("workers", {})) or 1
        return self._requested or os.cpu_count() or 1

    def start(self) -> DaskExecutor:
        if self._client is not None:
            return self
        # optional (incentsim[dask]): loaded only for the Dask executor
        distributed = optional_module("distributed", "the Dask executor", "dask")
        Client, LocalCluster = distributed.Client, distributed.LocalCluster
        # imports dask itself: only once distributed is known to be installed
        from incentsim.montecarlo.dask_workers import AllocatorPlugin, environment_kept

        if self.address is None:
            with environment_kept():
                self._cluster = LocalCluster(
                    n_workers=self._requested or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                )
            self._client = Client(self._cluster)
        else:
            # optional (incentsim[dask]): loaded only for the Dask executor
            from incentsim.montecarlo.scheduler import connect

            self._client = connect(self.address)
        self._client.register_plugin(AllocatorPlugin())
        return self

    def close(self) -> None:
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def map_unordered(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        client = self.start()._client
        submit = functools.partial(client.submit, pure=False)
        return _windowed(submit, fn, tasks, self.workers * IN_FLIGHT_PER_WORKER, dask_client=client)


def make_executor(
    kind: ExecutorKind | str = "serial", workers: int | None = None, address: str | None = None
) -> Executor:
    """An executor by name.

    Parameters
    ----------
    kind
        ``"serial"``, ``"processes"`` or ``"dask"``.
    workers
        Worker processes for ``"processes"`` and a local ``"dask"`` cluster.
    address
        A Dask scheduler's address (``"dask"`` only).
    """
    if kind == "serial":
        return SerialExecutor()
    if kind == "processes":
        return ProcessExecutor(workers)
    if kind == "dask":
        return DaskExecutor(address=address, workers=workers)
    raise ValueError(f"unknown executor {kind!r}; choose one of {', '.join(EXECUTOR_KINDS)}")


def open_executor(
    executor: ExecutorKind | str | Executor, workers: int | None = None, address: str | None = None
) -> contextlib.AbstractContextManager[Executor]:
    """The executor to run on, as a context: one named here is made, started and closed by the
    context; one given is used as it is (whoever made it starts and closes it), so several
    analyses can share one pool or cluster."""
    if isinstance(executor, str):
        return make_executor(executor, workers, address)
    return contextlib.nullcontext(executor)


def _windowed(
    submit: Callable[..., Any],
    fn: Callable[[T], R],
    tasks: Iterable[T],
    window: int,
    dask_client: Any = None,
) -> Iterator[R]:
    """Submit at most ``window`` tasks at a time; yield results as they finish.

    Works with concurrent.futures and Dask futures alike (both have ``result`` and ``cancel``).
    """
    remaining = iter(tasks)
    pending: set[Any] = set()

    def fill() -> None:
        while len(pending) < window:
            task = next(remaining, _DONE)
            if task is _DONE:
                return
            pending.add(submit(fn, task))

    try:
        fill()
        while pending:
            done = _wait_first(pending, dask_client)
            for future in done:
                pending.discard(future)
                result = future.result()
                if dask_client is not None:
                    future.release()
                del future
                yield result
            fill()
    finally:
        for future in pending:
            future.cancel()


_DONE = object()


def _wait_first(pending: set[Any], dask_client: Any) -> set[Any]:
    """The futures among ``pending`` that have finished, waiting for at least one."""
    if dask_client is None:
        done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
        return done
    # optional (incentsim[dask]): loaded only for the Dask executor
    from distributed import wait

    done, _ = wait(list(pending), return_when="FIRST_COMPLETED")
    return set(done)


def _positive_workers(workers: int) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, not {workers!r}")
    return workers


def _require_importable(fn: Callable[..., Any]) -> None:
    """Fail early, and clearly, when a function cannot reach a spawned worker process."""
    for obj in _callables(fn):
        module = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", "")
        interactive = module == "__main__" and not hasattr(sys.modules.get("__main__"), "__file__")
        if interactive or "<locals>" in qualname or "<lambda>" in qualname:
            name = getattr(obj, "__name__", repr(obj))
            raise TypeError(
                f"{name} is defined in a notebook cell, an interactive session or inside another "
                "function, so worker processes cannot import it: move it into a .py module, or "
                "use the serial or Dask executor"
            )


def _callables(fn: Any) -> Iterator[Any]:
    """``fn`` and the callables bound into it by ``functools.partial``."""
    if isinstance(fn, functools.partial):
        yield from _callables(fn.func)
        for value in (*fn.args, *fn.keywords.values()):
            if callable(value):
                yield from _callables(value)
    else:
        yield fn
