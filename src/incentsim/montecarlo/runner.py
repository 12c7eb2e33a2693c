"""Blocks of replications: simulated and checked in the worker, gathered in memory or on disk.

The pieces :class:`~incentsim.montecarlo.evaluator.Evaluator` runs a scenario with
(:func:`~incentsim.montecarlo.evaluator.run_montecarlo` is the usual door).

The replications are cut into fixed-size blocks, each with its own seed
(:mod:`incentsim.montecarlo.seeding`), so the results are the same bit for bit on any executor
and any number of workers. With ``out_dir`` every block is written as soon as it finishes
(layout in :mod:`incentsim.montecarlo.store`) and dropped from memory; the summary is then
computed by reading the files back, one trajectory at a time. Without ``out_dir`` the results
are kept in memory, which suits small runs in a notebook.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from incentsim.engine.simulation import simulate_block
from incentsim.engine.stacked import simulate_stacked
from incentsim.errors import IncentsimError
from incentsim.montecarlo import store
from incentsim.montecarlo.executors import Executor
from incentsim.montecarlo.results import MonteCarloResult
from incentsim.montecarlo.run_store import RunStore, write_json, write_jsonl
from incentsim.montecarlo.seeding import BLOCK_SIZE, Block
from incentsim.montecarlo.summary import Summary, summarise
from incentsim.scenario.model import Scenario


class BlockResultLike(Protocol):
    """What a block function returns (``incentsim.engine.simulation.BlockResult``)."""

    @property
    def outcomes(self) -> Mapping[str, np.ndarray]: ...
    @property
    def trajectories(self) -> Mapping[str, np.ndarray]: ...
    @property
    def panel(self) -> pd.DataFrame | None: ...
    @property
    def events(self) -> Sequence[Mapping[str, Any]]: ...


#: ``block_fn(scenario, seed, reps, panel=...)``: simulates ``reps`` replications from ``seed``.
BlockFn = Callable[..., BlockResultLike]


class BlockError(RuntimeError):
    """A block failed in a worker; the message names the block and the worker's error.

    Attributes
    ----------
    block, first, last
        The block and its first and last replication.
    error, message
        The type name and message of the exception raised in the worker.
    worker_traceback
        The traceback in the worker (also attached as a note, so it shows when raised).
    user_error
        Whether the worker's exception was an :class:`~incentsim.errors.IncentsimError` (bad
        input rather than a bug).
    """

    def __init__(
        self,
        block: int,
        first: int,
        last: int,
        error: str,
        message: str,
        worker_traceback: str = "",
        user_error: bool = False,
    ) -> None:
        self.block, self.first, self.last = block, first, last
        self.error, self.message, self.worker_traceback = error, message, worker_traceback
        self.user_error = user_error
        super().__init__(f"block {block} (replications {first}-{last}) failed: {error}: {message}")
        if worker_traceback:
            self.add_note(f"Traceback in the worker:\n{worker_traceback.rstrip()}")

    def __reduce__(self) -> tuple[Any, ...]:
        args = (self.block, self.first, self.last, self.error, self.message)
        return (type(self), (*args, self.worker_traceback, self.user_error))


@dataclass
class BlockOutput:
    """One finished block, as sent back from a worker (indices already global)."""

    index: int
    start: int
    reps: int
    outcomes: dict[str, np.ndarray]
    trajectories: dict[str, np.ndarray]
    panel: pd.DataFrame | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def default_block_fn() -> BlockFn:
    """The engine's ``simulate_block``, which runs a block unless told otherwise."""
    return simulate_block


def run_block(
    block: Block, *, scenario: Scenario, block_fn: BlockFn, panel: bool, block_size: int
) -> BlockOutput:
    """Simulate one block and check what came back (runs in the worker).

    Raises
    ------
    BlockError
        The block function raised, or returned arrays of the wrong shape.
    """
    start = block.index * block_size
    began = time.perf_counter()
    try:
        result = block_fn(scenario, _fresh(block.seed), block.reps, panel=panel)
        output = _checked_output(block, start, result, panel)
    except Exception as exc:
        raise BlockError(
            block.index,
            start,
            start + block.reps - 1,
            type(exc).__name__,
            str(exc),
            traceback.format_exc(),
            user_error=isinstance(exc, IncentsimError),
        ) from exc
    output.seconds = time.perf_counter() - began
    return output


def run_stacked(
    scenario: Scenario, blocks: Sequence[Block], block_size: int = BLOCK_SIZE
) -> list[BlockOutput]:
    """Simulate several blocks of one scenario stacked along the replication axis
    (:func:`~incentsim.engine.stacked.simulate_stacked`: the same outcomes as block by block,
    the engine's fixed cost paid once) and check what came back, as :func:`run_block` does
    (runs in the worker). Only outcomes are kept: the outputs have no trajectories, panel or
    events.

    Raises
    ------
    BlockError
        The simulation raised (naming the first block), or returned outcomes of the wrong shape.
    """
    began = time.perf_counter()
    seeds = [_fresh(block.seed) for block in blocks]
    first = blocks[0]
    try:
        results = simulate_stacked(scenario, seeds, [block.reps for block in blocks])
        outputs = [
            BlockOutput(b.index, b.index * block_size, b.reps, _checked_outcomes(b, r), {})
            for b, r in zip(blocks, results, strict=True)
        ]
    except Exception as exc:
        start = first.index * block_size
        error = BlockError(
            first.index,
            start,
            start + first.reps - 1,
            type(exc).__name__,
            str(exc),
            traceback.format_exc(),
            user_error=isinstance(exc, IncentsimError),
        )
        if len(blocks) > 1:
            error.add_note(f"stacked with blocks {', '.join(str(b.index) for b in blocks[1:])}")
        raise error from exc
    seconds = (time.perf_counter() - began) / len(blocks)
    for output in outputs:
        output.seconds = seconds
    return outputs


def _fresh(seed: np.random.SeedSequence) -> np.random.SeedSequence:
    """A fresh copy of a block's seed: the block function may spawn from it, which counts
    children on the object; the same block must give the same streams however often it runs."""
    return np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size)


def _checked_outcomes(block: Block, outcomes: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """A block's outcomes as float arrays, each one value per replication."""
    checked = {str(k): np.asarray(v, dtype=np.float64) for k, v in outcomes.items()}
    for name, values in checked.items():
        if values.shape != (block.reps,):
            raise ValueError(f"outcome '{name}' has shape {values.shape}, expected ({block.reps},)")
    return checked


def _checked_output(block: Block, start: int, result: Any, panel: bool) -> BlockOutput:
    reps = block.reps
    outcomes = _checked_outcomes(block, result.outcomes)
    trajectories = {str(k): np.asarray(v, dtype=np.float64) for k, v in result.trajectories.items()}
    for name, matrix in trajectories.items():
        if matrix.ndim != 2 or matrix.shape[0] != reps:
            raise ValueError(
                f"trajectory '{name}' has shape {matrix.shape}, expected ({reps}, n_periods)"
            )
    frame = result.panel if panel else None
    if frame is not None:
        if "rep" in frame.columns:
            replication = frame["rep"].to_numpy(dtype=np.int64) + start
            frame = frame.drop(columns="rep")
            frame.insert(0, "replication", replication)
        elif reps == 1 and "replication" not in frame.columns:
            frame = frame.copy()
            frame.insert(0, "replication", start)
        else:
            raise ValueError("the panel has no 'rep' column")
    events = []
    for event in result.events or []:
        record = {"block": block.index, **event}
        if "rep" in record:
            record["replication"] = start + int(record.pop("rep"))
        if "reps" in record:
            record["replications"] = [start + int(r) for r in record.pop("reps")]
        events.append(record)
    return BlockOutput(block.index, start, reps, outcomes, trajectories, frame, events)


def simulate_into(
    scenario: Scenario,
    task: Callable[[Block], BlockOutput],
    todo: list[Block],
    running: Executor,
    sink: Sink,
    progress: bool | str,
) -> MonteCarloResult:
    """Run the blocks ``todo`` on ``running`` into ``sink`` and summarise every block; the
    manifest says ``complete`` only once the summary is written (``failed`` or ``interrupted``
    if anything stops the run)."""
    manifest = sink.manifest
    began = time.perf_counter()
    try:
        with progress_bar(len(todo), scenario.name, progress) as bar:
            for output in running.map_unordered(task, todo):
                sink.add(output)
                bar.update(1)
            manifest["workers"] = running.workers
        manifest["simulation_seconds"] = round(time.perf_counter() - began, 3)
        outcomes = sink.outcomes()
        summary = summarise(
            outcomes,
            sink.trajectory_pairs(),
            scenario=scenario.name,
            seed=manifest["seed"],
            block_size=manifest["block_size"],
            currency=scenario.program.currency,
        )
    except BaseException as exc:
        interrupted = isinstance(exc, KeyboardInterrupt)
        manifest["status"] = "interrupted" if interrupted else "failed"
        manifest["error"] = None if interrupted else str(exc)
        sink.write_manifest()
        raise
    manifest.update(
        outcomes=list(outcomes.columns),
        trajectories=sink.trajectory_lengths,
        finished=timestamp(),
        wall_seconds=round(time.perf_counter() - began, 3),
        status="complete",
    )
    return sink.finish(summary, outcomes, scenario)


# --- where finished blocks go ------------------------------------------------------------------


class Sink(ABC):
    """Receives finished blocks in any order; checks they all report the same things."""

    def __init__(self, manifest: dict[str, Any]) -> None:
        self.manifest = manifest
        self.outcome_names: list[str] | None = None
        #: Trajectory names and their lengths (periods, or weeks for weekly ones).
        self.trajectory_lengths: dict[str, int] = {}

    def add(self, output: BlockOutput) -> None:
        lengths = {name: matrix.shape[1] for name, matrix in output.trajectories.items()}
        self._check_shape(output.index, list(output.outcomes), lengths)

    def _check_shape(self, index: int, outcome_names: list[str], lengths: dict[str, int]) -> None:
        """Record the first block's outcomes and trajectory lengths; later ones must match."""
        if self.outcome_names is None:
            self.outcome_names, self.trajectory_lengths = outcome_names, lengths
        elif outcome_names != self.outcome_names or lengths != self.trajectory_lengths:
            raise RuntimeError(
                f"block {index} reports different outcomes or trajectories from earlier "
                f"blocks (outcomes {outcome_names}, trajectory lengths {lengths}); a scenario's "
                "results must have the same shape in every block"
            )

    @staticmethod
    def in_memory(manifest: dict[str, Any]) -> Sink:
        """A sink keeping every block in memory (no ``out_dir``)."""
        return _MemorySink(manifest)

    @staticmethod
    def on_disk(run_store: RunStore) -> Sink:
        """A sink writing each block into ``run_store`` (opened) as it arrives."""
        return _DiskSink(run_store)

    def keep(self, index: int) -> None:
        """Take block ``index`` as already stored (a resumed run)."""
        raise NotImplementedError("only a run folder holds blocks to keep")

    @abstractmethod
    def write_manifest(self) -> None:
        """Record the run's status."""

    @abstractmethod
    def outcomes(self) -> pd.DataFrame:
        """Every replication's outcomes, in replication order."""

    @abstractmethod
    def trajectory_pairs(self) -> Iterator[tuple[str, np.ndarray]]:
        """``(name, replications x periods)`` per trajectory, in replication order."""

    @abstractmethod
    def finish(
        self, summary: Summary, outcomes: pd.DataFrame, scenario: Scenario
    ) -> MonteCarloResult:
        """The result, once the summary is known."""


class _MemorySink(Sink):
    """Keeps every block in memory (no ``out_dir``)."""

    def __init__(self, manifest: dict[str, Any]) -> None:
        super().__init__(manifest)
        self.blocks: dict[int, BlockOutput] = {}

    def add(self, output: BlockOutput) -> None:
        super().add(output)
        self.blocks[output.index] = output

    def write_manifest(self) -> None:
        """Nothing to write: the manifest is returned with the result."""

    def _ordered(self) -> list[BlockOutput]:
        return [self.blocks[i] for i in sorted(self.blocks)]

    def outcomes(self) -> pd.DataFrame:
        ordered = self._ordered()
        data = {
            name: np.concatenate([b.outcomes[name] for b in ordered])
            for name in self.outcome_names or []
        }
        index = pd.Index(
            np.concatenate([np.arange(b.start, b.start + b.reps) for b in ordered]),
            name="replication",
        )
        return pd.DataFrame(data, index=index)

    @functools.cached_property
    def matrices(self) -> dict[str, np.ndarray]:
        """Each trajectory over all replications (built once every block is in)."""
        ordered = self._ordered()
        return {
            name: np.concatenate([b.trajectories[name] for b in ordered])
            for name in self.trajectory_lengths
        }

    def trajectory_pairs(self) -> Iterator[tuple[str, np.ndarray]]:
        return iter(self.matrices.items())

    def finish(
        self, summary: Summary, outcomes: pd.DataFrame, scenario: Scenario
    ) -> MonteCarloResult:
        ordered = self._ordered()
        panels = [b.panel for b in ordered if b.panel is not None]
        return MonteCarloResult(
            summary,
            manifest=self.manifest,
            outcomes=outcomes,
            trajectories=self.matrices,
            panel=pd.concat(panels, ignore_index=True) if panels else None,
            events=[event for b in ordered for event in b.events],
            scenario=scenario,
        )


class _DiskSink(Sink):
    """Writes each block as it arrives and keeps none of it."""

    def __init__(self, run_store: RunStore) -> None:
        super().__init__(run_store.manifest)
        self.run_store = run_store
        self.out_dir = run_store.folder
        self.n_blocks = run_store.manifest["blocks"]

    def add(self, output: BlockOutput) -> None:
        super().add(output)
        i = output.index
        store.write_parquet(
            store.block_file(self.out_dir, store.REPLICATIONS, i),
            store.outcomes_table(output.start, output.outcomes),
        )
        store.write_parquet(
            store.block_file(self.out_dir, store.TRAJECTORIES, i),
            store.trajectories_table(output.start, output.reps, output.trajectories),
        )
        if output.panel is not None:
            path = store.block_file(self.out_dir, store.PANEL, i)
            store.write_parquet(path, store.panel_table(output.panel))
        write_jsonl(store.block_file(self.out_dir, store.EVENTS, i), output.events)

    def keep(self, index: int) -> None:
        """Take block ``index`` as already written (a resumed run)."""
        self._check_shape(index, *store.block_shape(self.out_dir, index))

    def write_manifest(self) -> None:
        self.run_store.write_manifest()

    def outcomes(self) -> pd.DataFrame:
        return store.read_outcomes(self.out_dir, self.n_blocks)

    def trajectory_pairs(self) -> Iterator[tuple[str, np.ndarray]]:
        return store.iter_trajectories(self.out_dir, self.n_blocks, list(self.trajectory_lengths))

    def finish(
        self, summary: Summary, outcomes: pd.DataFrame, scenario: Scenario
    ) -> MonteCarloResult:
        write_json(self.out_dir / store.SUMMARY, summary.to_dict())
        self.write_manifest()
        return MonteCarloResult(
            summary,
            manifest=self.manifest,
            outcomes=outcomes,
            out_dir=self.out_dir,
            scenario=scenario,
        )


# --- progress ----------------------------------------------------------------------------------


@contextmanager
def progress_bar(
    total: int | None, name: str, progress: bool | str, unit: str = "block", initial: int = 0
) -> Iterator[Any]:
    """A tqdm bar over ``total`` units (blocks by default; ``None``: a count, the total not
    known beforehand), ``initial`` of them already done, shown on a terminal or in a notebook
    (or always, if ``progress`` is ``"always"``); its ``update(n)`` advances it and
    ``set_postfix_str(text, refresh)`` says what is being done."""
    interactive = sys.stderr.isatty() or "ipykernel" in sys.modules
    show = progress == "always" or (bool(progress) and interactive)
    if not show:
        yield _NoBar()
        return
    # loaded only when progress bars are shown
    from tqdm import tqdm

    with tqdm(
        total=total, initial=initial, desc=name, unit=unit, file=sys.stderr, dynamic_ncols=True
    ) as bar:
        yield bar


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        pass


def timestamp() -> str:
    """Now, in UTC, as ISO 8601 to the second (the manifests' times)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
