"""How a run is carried out: the one bundle of run options every analysis takes.

::

    from incentsim.montecarlo import RunOptions, run_montecarlo
    options = RunOptions(executor="processes", workers=4)
    result = run_montecarlo(scenario, reps=200, seed=7, options=options)
    compare(["a.yaml", "b.yaml"], reps=200, options=options)   # the same options, every variant

A scenario says what is simulated and the run plan (:class:`~incentsim.montecarlo.plan.
RunPlan`) how many replications from which root seed; :class:`RunOptions` says where the blocks
run, where results are stored, whether a progress bar shows, and what else shapes the blocks
(their size, calibration draws, a block function of your own).

The notebook-facing functions (:func:`~incentsim.montecarlo.run_montecarlo`,
:func:`~incentsim.experiments.compare`, :func:`~incentsim.experiments.stress`,
:func:`~incentsim.experiments.sensitivity`, :func:`~incentsim.optimizer.optimize`) also take
the options one by one as keywords (``executor="processes", workers=4``): those given replace
the ``options``' values (:meth:`RunOptions.merged`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from incentsim.montecarlo.executors import Executor, ExecutorKind
from incentsim.montecarlo.resources import block_size_for
from incentsim.montecarlo.runner import BlockFn

if TYPE_CHECKING:
    from incentsim.montecarlo.draws import BehaviourDraws
    from incentsim.scenario.model import Scenario

__all__ = ["RunKeywords", "RunOptions"]


class RunKeywords(TypedDict, total=False):
    """The run options as keywords (``**keywords: Unpack[RunKeywords]``), each a field of
    :class:`RunOptions`."""

    executor: ExecutorKind | str | Executor
    workers: int | None
    address: str | None
    out_dir: str | os.PathLike[str] | None
    overwrite: bool
    resume: bool
    progress: bool | Literal["always"] | str
    block_fn: BlockFn | None
    draws: BehaviourDraws | None
    block_size: int | None
    panel: bool


@dataclass(frozen=True)
class RunOptions:
    """Executor, storage, progress and block shape of a run (see the module notes).

    Attributes
    ----------
    executor
        ``"serial"``, ``"processes"``, ``"dask"``, or an :class:`Executor` you manage (used as
        is and not closed).
    workers, address
        For an executor given by name: worker processes, Dask scheduler address.
    out_dir
        Folder to stream results into; ``None`` keeps them in memory.
    overwrite
        Reuse an ``out_dir`` that holds a different run.
    resume
        Continue the run stored in ``out_dir``, simulating only what is missing.
    progress
        A progress bar on a terminal or in a notebook; ``"always"`` anywhere, ``False`` never.
    block_fn
        ``block_fn(scenario, seed, reps, panel=...)``; default the engine's ``simulate_block``.
        It must be importable from a module for the process executor.
    draws
        Behaviour constants drawn from a calibration (:class:`~incentsim.montecarlo.draws.
        BehaviourDraws`): each block of replications uses the row its seed picks.
    block_size
        Replications per block; changing it changes the streams and so the results. Default
        :func:`~incentsim.montecarlo.resources.block_size_for` the scenario: ``BLOCK_SIZE``
        (25), fewer for populations so large that 25 replications would not fit a block's
        memory limit.
    panel
        Also keep per replication x partner x period rows (large).
    """

    executor: ExecutorKind | str | Executor = "serial"
    workers: int | None = None
    address: str | None = None
    out_dir: Path | None = None
    overwrite: bool = False
    resume: bool = False
    progress: bool | Literal["always"] | str = True
    block_fn: BlockFn | None = None
    draws: BehaviourDraws | None = None
    block_size: int | None = None
    panel: bool = False

    def __post_init__(self) -> None:
        if self.out_dir is not None and not isinstance(self.out_dir, Path):
            object.__setattr__(self, "out_dir", Path(self.out_dir))

    @classmethod
    def merged(cls, options: RunOptions | None = None, /, **keywords: Any) -> RunOptions:
        """``options`` (default: every default) with the ``keywords`` given replacing its
        values; a keyword given as ``None`` leaves the options' value as it is.

        Raises
        ------
        TypeError
            A keyword that is not a run option.
        """
        unknown = sorted(set(keywords) - _FIELDS)
        if unknown:
            raise TypeError(
                f"unknown run option '{unknown[0]}'; the options are {', '.join(sorted(_FIELDS))}"
            )
        base = cls() if options is None else options
        given = {k: v for k, v in keywords.items() if v is not None}
        return dataclasses.replace(base, **given) if given else base

    def replace(self, **changes: Any) -> RunOptions:
        """A copy with ``changes`` (``None`` included: ``replace(out_dir=None)`` keeps the
        copy in memory)."""
        return dataclasses.replace(self, **changes)

    def block_size_for(self, scenario: Scenario) -> int:
        """Replications per block of ``scenario``: these options', else
        :func:`~incentsim.montecarlo.resources.block_size_for` it."""
        return block_size_for(scenario) if self.block_size is None else int(self.block_size)

    def resolved(self, scenario: Scenario) -> RunOptions:
        """These options with ``block_size`` fixed from ``scenario`` where not given, so that
        other scenarios run with them share its blocks."""
        return self.replace(block_size=self.block_size_for(scenario))

    def in_worker(self) -> RunOptions:
        """What a task simulating in a worker gets of these options: the block function, the
        calibration draws and the block size (it runs serially, in memory, without a progress
        bar)."""
        return RunOptions(
            block_fn=self.block_fn,
            draws=self.draws,
            block_size=self.block_size,
            progress=False,
        )

    @property
    def executor_name(self) -> str:
        """``"serial"``, ``"processes"`` or ``"dask"``, for a manifest."""
        return self.executor if isinstance(self.executor, str) else self.executor.kind

    def local_workers(self, tasks: int | None = None) -> int:
        """How many tasks this machine holds in memory at once: one per local worker process
        (one for the serial executor, a remote Dask scheduler's workers have their own
        memory), at most ``tasks``."""
        executor = self.executor
        if isinstance(executor, str):
            if executor == "serial" or (executor == "dask" and self.address is not None):
                local = 1
            else:
                local = self.workers if self.workers is not None else os.cpu_count() or 1
        else:
            local = executor.workers if executor.kind == "processes" else 1
        return max(1, local if tasks is None else min(local, tasks))

    def identity(self) -> Mapping[str, Any]:
        """What of these options changes the numbers (beyond the run plan): block size and
        the calibration draws, as JSON-able data for a manifest."""
        return {
            "block_size": self.block_size,
            "draws": None if self.draws is None else self.draws.digest(),
        }


_FIELDS = frozenset(f.name for f in dataclasses.fields(RunOptions))
