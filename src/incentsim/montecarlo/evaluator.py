"""The one way scenarios become simulated results: an :class:`Evaluator` over an executor.

::

    from incentsim.montecarlo import Evaluator, RunOptions, RunPlan
    plan = RunPlan(reps=200)
    with Evaluator(RunOptions(executor="processes", workers=4)) as ev:
        base = ev.run(scenario, plan)                      # a MonteCarloResult
        runs = ev.run_variants({"a": a, "b": b}, plan, out_dir="runs/cmp")
        for output in ev.map(task, chunks, name="points", total=len(chunks)):
            ...                                            # any work, same executor and bar

An evaluator holds the :class:`~incentsim.montecarlo.options.RunOptions` of an analysis and
the executor they name, started the first time something runs and closed with the context (an
:class:`~incentsim.montecarlo.executors.Executor` given ready-made is used as it is and left
open, so several analyses can share one pool or cluster); how many replications are run from
which seed is the :class:`~incentsim.montecarlo.plan.RunPlan` each run is given. Every analysis
runs through it: :func:`run_montecarlo`, comparisons and stress tests
(:meth:`Evaluator.run_variants`), sensitivity points and optimiser candidates
(:meth:`Evaluator.map`, whose tasks simulate through :meth:`Evaluator.run` with the options
:meth:`~incentsim.montecarlo.options.RunOptions.in_worker`, or through
:func:`~incentsim.montecarlo.runner.run_stacked`), so every block gets the runner's checks,
the calibration draws of ``options.draws`` and the same progress bar.
"""

from __future__ import annotations

import contextlib
import functools
import platform
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, Unpack

import numpy as np

from incentsim import _output
from incentsim.montecarlo import runner, store
from incentsim.montecarlo.draws import DrawnBehaviour
from incentsim.montecarlo.executors import Executor, open_executor
from incentsim.montecarlo.options import RunKeywords, RunOptions
from incentsim.montecarlo.plan import RunPlan
from incentsim.montecarlo.resources import check_block_memory
from incentsim.montecarlo.results import MonteCarloResult
from incentsim.montecarlo.run_store import RunStore, write_json
from incentsim.montecarlo.runner import (
    BlockFn,
    Sink,
    progress_bar,
    run_block,
    simulate_into,
    timestamp,
)
from incentsim.montecarlo.seeding import SeedLike, block_seeds, describe_seed, n_blocks
from incentsim.population.sample import load_partners_csv
from incentsim.scenario.loader import scenario_hash

if TYPE_CHECKING:
    from incentsim.scenario.model import Scenario

__all__ = [
    "Evaluator",
    "block_function",
    "evaluator_for",
    "monte_carlo_store",
    "run_montecarlo",
    "variant_folders",
]

T = TypeVar("T")
R = TypeVar("R")


class Evaluator:
    """Runs scenarios (and other tasks) with one set of run options on one executor.

    Parameters
    ----------
    options
        The run options (default: every default).
    **keywords
        Run options replacing those of ``options`` (see
        :meth:`~incentsim.montecarlo.options.RunOptions.merged`).
    """

    def __init__(
        self, options: RunOptions | None = None, /, **keywords: Unpack[RunKeywords]
    ) -> None:
        self.options = RunOptions.merged(options, **keywords)
        self._stack: contextlib.ExitStack | None = None
        self._executor: Executor | None = None
        self._parent: Evaluator | None = None

    def with_options(self, options: RunOptions) -> Evaluator:
        """An evaluator of other ``options`` on this one's executor (open while this one is;
        ``options.executor`` is not used)."""
        child = Evaluator(options)
        child._parent = self
        return child

    def __enter__(self) -> Evaluator:
        if self._parent is None:
            self._stack = contextlib.ExitStack()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack, self._executor = self._stack, None, None
        if stack is not None:
            stack.__exit__(exc_type, exc, tb)

    # --- what it runs on ---------------------------------------------------------------------

    @property
    def executor(self) -> Executor:
        """The executor, started when first asked for (so a run whose work is all stored
        starts no workers) and closed with the evaluator (an evaluator made by
        :meth:`with_options` uses its parent's)."""
        if self._parent is not None:
            return self._parent.executor
        if self._stack is None:
            raise RuntimeError("use the Evaluator as a context manager: with Evaluator(...) as ev")
        if self._executor is None:
            o = self.options
            self._executor = self._stack.enter_context(
                open_executor(o.executor, o.workers, o.address)
            )
        return self._executor

    @property
    def block_fn(self) -> BlockFn:
        """The block function of these options (:func:`block_function`)."""
        return block_function(self.options)

    def check_memory(self, scenario: Scenario, reps: int, tasks: int, panel: bool = False) -> None:
        """Refuse work whose blocks of ``scenario`` (of at most ``reps`` replications), one per
        local worker and at most ``tasks`` at once, would not fit in memory."""
        block = min(self.options.block_size_for(scenario), reps)
        check_block_memory(scenario, block, self.options.local_workers(tasks), panel)

    # --- running -----------------------------------------------------------------------------

    def map(
        self,
        fn: Callable[[T], R],
        tasks: Iterable[T],
        *,
        name: str,
        total: int,
        unit: str = "block",
        initial: int = 0,
        size: Callable[[R], int] = lambda _: 1,
    ) -> Iterator[R]:
        """``fn(task)`` for each task on the executor, yielded as each finishes, with a
        progress bar of ``total`` units (``initial`` done already) advanced by ``size(result)``
        per result; no workers start when there are no tasks."""
        todo = list(tasks)
        if not todo:
            return
        with progress_bar(total, name, self.options.progress, unit, initial) as bar:
            for result in self.executor.map_unordered(fn, todo):
                bar.update(size(result))
                yield result

    def run(
        self, scenario: Scenario, plan: RunPlan | None = None, **changes: Unpack[RunKeywords]
    ) -> MonteCarloResult:
        """Simulate ``scenario`` as Monte Carlo by ``plan`` (default: the scenario's own
        replications and seed) with these options (``changes`` replacing some for this run
        only: ``ev.run(case, plan, out_dir=folder)``) and summarise it.

        Raises
        ------
        BlockError
            A block failed; its message names the block and the error raised in the worker.
        OutDirError
            ``out_dir`` holds a different run (or another kind of result) and ``overwrite``
            is not set, a run that cannot be resumed, or another process is writing it.
        ValueError
            ``resume`` without an ``out_dir``.
        """
        o = self.options.replace(**changes) if changes else self.options
        plan = (plan or RunPlan()).resolved(scenario)
        if o.resume and o.out_dir is None:
            raise ValueError("resume=True needs the out_dir of the run to continue")
        block_size = o.block_size_for(scenario)
        reps = plan.replications_for(scenario)
        blocks = block_seeds(plan.seed_for(scenario), reps, block_size)
        if scenario.population.source is not None:  # its rows are checked before anything starts
            load_partners_csv(scenario.population.source, scenario.population)
        check_block_memory(scenario, min(block_size, reps), o.local_workers(len(blocks)), o.panel)
        task = functools.partial(
            run_block,
            scenario=scenario,
            block_fn=block_function(o),
            panel=o.panel,
            block_size=block_size,
        )
        run_store = monte_carlo_store(scenario, plan, o)
        manifest = run_store.manifest
        with contextlib.ExitStack() as stack:
            path = o.out_dir
            if path is not None:
                stack.enter_context(_output.folder_lock(path))
            # Started before the folder is touched: an unreachable scheduler leaves nothing behind.
            running = self.executor
            finished: list[int] = []
            sink: Sink
            if path is None:
                sink = Sink.in_memory(manifest)
            else:
                finished = run_store.open(resume=o.resume, overwrite=o.overwrite)
                sink = Sink.on_disk(run_store)
                for index in finished:
                    sink.keep(index)
                write_json(path / store.SCENARIO, scenario.model_dump(mode="json"))
                sink.write_manifest()
            todo = [block for block in blocks if block.index not in finished]
            return simulate_into(scenario, task, todo, running, sink, o.progress)

    def run_variants(
        self,
        scenarios: Mapping[str, Scenario],
        plan: RunPlan | None = None,
        out_dir: str | Path | None = None,
    ) -> dict[str, MonteCarloResult]:
        """Run every scenario with the same replications and root seed (common random numbers:
        the ``plan``'s, else the first scenario's); ``label -> MonteCarloResult``.

        With ``out_dir`` (default ``options.out_dir``) each run streams into
        ``out_dir/<slug of label>`` (:func:`variant_folders`), holding the lock of ``out_dir``
        (:func:`incentsim._output.folder_lock`) so that a second writer is refused.
        """
        if not scenarios:
            return {}
        folder = self.options.out_dir if out_dir is None else Path(out_dir)
        common = (plan or RunPlan()).resolved(next(iter(scenarios.values())))
        folders = variant_folders(scenarios, folder)
        results: dict[str, MonteCarloResult] = {}
        writing = contextlib.nullcontext() if folder is None else _output.folder_lock(folder)
        with writing:
            for label, scenario in scenarios.items():
                results[label] = self.run(scenario, common, out_dir=folders.get(label))
        return results


@contextlib.contextmanager
def evaluator_for(
    options: RunOptions | Evaluator | None = None, /, **keywords: Unpack[RunKeywords]
) -> Iterator[Evaluator]:
    """The evaluator to run with, as a context: an :class:`Evaluator` given is used as it is
    (its caller opened it and closes it, so several steps of an analysis share one executor);
    else one is made of ``options`` and ``keywords`` and closed with the context.

    Raises
    ------
    TypeError
        Run options given one by one beside an evaluator (give them to the evaluator).
    """
    if isinstance(options, Evaluator):
        given = sorted(k for k, v in keywords.items() if v is not None)
        if given:
            raise TypeError(f"run option '{given[0]}' given beside an Evaluator; set it on it")
        yield options
        return
    with Evaluator(options, **keywords) as ev:
        yield ev


def monte_carlo_store(scenario: Scenario, plan: RunPlan, options: RunOptions) -> RunStore:
    """The run store of ``scenario`` run by ``plan`` with ``options`` (in ``options.out_dir``;
    with none, only its manifest is used): its key is the scenario's content hash, the plan's
    seed and replications, the block size, and the calibration draws' hash; its blocks are
    reused only by a run that also keeps (or not) the same panel."""
    reps = plan.replications_for(scenario)
    block_size = options.block_size_for(scenario)
    seed = describe_seed(plan.seed_for(scenario))
    drawn = options.identity()["draws"]
    values = (scenario_hash(scenario), seed, reps, block_size, drawn)
    key = dict(zip(store.IDENTITY_KEYS, values, strict=True))
    info = {
        "scenario": scenario.name,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "executor": options.executor_name,
        "workers": None,
        "started": timestamp(),
    }
    parts = [store.REPLICATIONS, store.TRAJECTORIES, store.EVENTS]
    return RunStore(
        options.out_dir or Path(),
        store.MONTE_CARLO,
        key,
        code={"panel": options.panel},
        blocks=n_blocks(reps, block_size),
        info=info,
        parts=[*parts, store.PANEL] if options.panel else parts,
    )


def block_function(options: RunOptions) -> BlockFn:
    """The block function ``options`` run: ``options.block_fn`` (default the engine's
    ``simulate_block``), with each block's calibration draw applied when ``options.draws`` is
    set."""
    if options.draws is not None:
        return DrawnBehaviour(options.draws, options.block_fn)
    return options.block_fn or runner.default_block_fn()


def variant_folders(labels: Iterable[str], out_dir: str | Path | None) -> dict[str, Path]:
    """``label -> out_dir/<slug>`` (distinct slugs), or nothing without ``out_dir``."""
    if out_dir is None:
        return {}
    folders: dict[str, Path] = {}
    used: set[str] = set()
    for label in labels:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", str(label)).strip("-.") or "variant"
        candidate, k = slug, 2
        while candidate in used:
            candidate, k = f"{slug}-{k}", k + 1
        used.add(candidate)
        folders[str(label)] = Path(out_dir) / candidate
    return folders


def run_montecarlo(
    scenario: Scenario,
    reps: int | None = None,
    seed: SeedLike | None = None,
    *,
    options: RunOptions | Evaluator | None = None,
    **keywords: Unpack[RunKeywords],
) -> MonteCarloResult:
    """Simulate ``reps`` replications of a scenario and summarise them.

    Parameters
    ----------
    scenario
        The validated scenario.
    reps, seed
        Replications and root seed (the run plan, :class:`~incentsim.montecarlo.plan.RunPlan`;
        default: the scenario's ``replications`` and ``seed``).
    options
        The run options (:class:`~incentsim.montecarlo.options.RunOptions`: executor, workers,
        ``out_dir``, ``resume``, ``overwrite``, ``panel``, ``progress``, ``block_fn``,
        ``draws``, ``block_size``), or an :class:`Evaluator` to run on (its executor is
        shared and left open).
    **keywords
        Run options one by one (``executor="processes", workers=4, out_dir="runs/x"``),
        replacing those of ``options`` (for this run only, with an evaluator).

    Returns
    -------
    MonteCarloResult

    Raises
    ------
    BlockError
        A block failed; its message names the block and the error raised in the worker.
    OutDirError
        ``out_dir`` holds a different run (or another kind of result) and ``overwrite`` is not
        set, a run that cannot be resumed, or another process is writing it.
    ValueError
        ``resume`` without an ``out_dir``.
    """
    plan = RunPlan(reps, seed)
    if isinstance(options, Evaluator):
        given: dict[str, Any] = {k: v for k, v in keywords.items() if v is not None}
        return options.run(scenario, plan, **given)
    with Evaluator(RunOptions.merged(options, **keywords)) as ev:
        return ev.run(scenario, plan)
