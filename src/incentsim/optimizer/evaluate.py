"""Simulate every candidate design of every segment over the same Monte Carlo scenarios.

A segment is simulated *alone*: the scenario's population is cut down to that segment (its
share becomes 1, the partner count is the segment's exact count in the full population, the
recruitment rate is scaled by its share), and the candidate is applied as the segment's
``program.segment_overrides`` entry. The budget is lifted (``budget.per_period: null``) so no
payout is cut: what is measured is what the design would cost, and the optimiser decides the
budget and reserve it needs. Shocks aimed at other segments keep their place (and their random
draws) with no effect, so the market of replication ``s`` is the same for every segment.

Every candidate of every segment runs on the same seed blocks (common random numbers): block
``i`` of replication ``s`` has the same market path (demand noise, the shocks drawn by the
scenario's probabilities) for all candidates and segments. Summing a replication's costs over
segments therefore gives the cost of the joint program in one coherent scenario.

Each (segment, candidate) is cached on disk as a run store
(:meth:`~incentsim.montecarlo.run_store.RunStore.by_key`: a folder named by the hash of its
key, the segment scenario with the candidate applied, the root seed and the block size, with
one block file of outcomes per seed block), so rerunning with a wider design space, more
replications or another budget simulates only what is new: a stored block is reused when it
holds as many replications as the block asks for.

A task simulates several blocks of one candidate at once, stacked along the replication axis
(:func:`~incentsim.montecarlo.runner.run_stacked`, with the runner's checks: the same numbers
as block by block), so the
engine's fixed cost per block, which dominates for a segment of a few dozen partners, is paid
once per task: up to :data:`STACK_PARTNER_REPLICATIONS` partner-replications per task.

With calibration draws (``RunOptions(draws=...)``, ``incentsim optimize --draws``) block ``i``
simulates the behaviour constants of the draw its seed picks, for every candidate of every
segment (so the common random numbers hold), and is cached in the store of the drawn scenario.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Unpack

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from incentsim._output import KINDS, atomic_file
from incentsim.errors import OutDirError, ScenarioError
from incentsim.montecarlo.draws import BehaviourDraws
from incentsim.montecarlo.evaluator import Evaluator, evaluator_for
from incentsim.montecarlo.options import RunKeywords, RunOptions
from incentsim.montecarlo.run_store import Layout, RunStore
from incentsim.montecarlo.runner import BlockError, run_stacked
from incentsim.montecarlo.seeding import BLOCK_SIZE, Block, SeedLike, block_seeds, describe_seed
from incentsim.montecarlo.store import write_parquet
from incentsim.optimizer.space import Candidate, DesignSpace, add_to_segment, short_hash
from incentsim.population.sample import load_partners_csv
from incentsim.scenario.loader import scenario_hash, with_values
from incentsim.scenario.model import Scenario

__all__ = [
    "METRICS",
    "OUTCOMES",
    "STACK_PARTNER_REPLICATIONS",
    "SegmentTask",
    "SimulatedCandidates",
    "TaskBlock",
    "TaskOutput",
    "segment_counts",
    "segment_scenario",
    "simulate_candidates",
    "simulate_task",
]

#: Outcomes kept per (segment, candidate, replication).
OUTCOMES = (
    "revenue_net",
    "incentive_cost",
    "incentive_paid",
    "net_contribution",
    "npv",
    "retention",
    "loyalty_mean",
    "payout_share_smallest_half",
)
#: Derived per replication: ``margin`` (gross margin x net revenue) and ``small_paid`` (payouts
#: reaching the smaller half of the segment's partners).
METRICS = (*OUTCOMES, "margin", "small_paid")

#: The candidate cache's stores: one block file of :data:`METRICS` per seed block; ``complete``
#: once every block a simulation asked for is written.
CANDIDATE_STORE = Layout(
    kind=KINDS["candidate.json"], noun="candidate simulation", parts={"outcomes": ".parquet"}
)

#: Most partner-replications (initial partners x replications) a task stacks: the size of one
#: block of the bundled 1,000-partner baseline, so a task never holds more memory than that
#: (and a segment that large is simulated block by block).
STACK_PARTNER_REPLICATIONS = 25_000


@dataclass(frozen=True)
class TaskBlock:
    """One seed block of a task, and where its outcomes go (``key``: segment, candidate row
    and block)."""

    block: int
    reps: int
    entropy: Any
    spawn_key: tuple[int, ...]
    key: str


@dataclass(frozen=True)
class SegmentTask:
    """Seed blocks of one candidate of one segment, simulated together."""

    segment: str
    candidate: str
    scenario: Scenario
    blocks: tuple[TaskBlock, ...]


@dataclass
class TaskOutput:
    """The outcome arrays of one block of a task (each ``(reps,)``)."""

    key: str
    outcomes: dict[str, np.ndarray]
    seconds: float = 0.0


@dataclass
class SimulatedCandidates:
    """Outcomes per segment, candidate and scenario.

    Attributes
    ----------
    segments
        Segment names.
    candidates
        Candidates per segment (the row order of the arrays).
    data
        ``data[segment][metric]``: an array ``(n_candidates, replications)``; metrics are
        :data:`METRICS`. Column ``s`` is the same scenario (seed) for every row and segment.
    partners
        Initial partners per segment when simulated alone.
    replications, seed
        Scenarios per candidate and the root seed they came from.
    simulated, cached, seconds
        Blocks (of one candidate) simulated now, blocks read from the cache, wall time.
    draws
        The assumption draw of each scenario (column), for a robust design
        (:mod:`incentsim.optimizer.robust`); ``None`` with one set of assumptions.
    """

    segments: list[str]
    candidates: dict[str, list[Candidate]]
    data: dict[str, dict[str, np.ndarray]]
    partners: dict[str, int]
    replications: int
    seed: Any = None
    simulated: int = 0
    cached: int = 0
    seconds: float = 0.0
    draws: np.ndarray | None = None


def segment_counts(scenario: Scenario) -> dict[str, int]:
    """Initial partners per segment in the full population: the partner file's rows per
    segment, else the largest remainder on the shares (as the population sampler does)."""
    names = list(scenario.population.segments)
    if scenario.population.source is not None:
        real = load_partners_csv(scenario.population.source, scenario.population)
        listed = real["segment"].value_counts()
        return {name: int(listed.get(name, 0)) for name in names}
    shares = np.array([s.share for s in scenario.population.segments.values()])
    total = scenario.population.partners
    exact = total * shares / shares.sum()
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return dict(zip(names, (int(c) for c in counts), strict=True))


def segment_scenario(
    base: Scenario,
    segment: str,
    override: Mapping[str, Any] | None = None,
    partner_folder: Path | None = None,
) -> Scenario:
    """``base`` cut down to one segment, with ``override`` added to that segment's program and
    the budget lifted (see the module notes).

    With real partners (``population.source``), the segment's rows of the partner file are
    written to ``partner_folder`` (under a name made of their content's hash, so a cache keyed
    by the scenario sees an edited file) and the segment scenario reads them.

    Raises
    ------
    ScenarioError
        The override makes an invalid program, or the segment has no partners.
    ValueError
        Real partners without a ``partner_folder``.
    """
    values: dict[str, Any] = {}
    if base.population.source is not None:
        if partner_folder is None:
            raise ValueError("a scenario with real partners needs a partner_folder")
        values["population.source"] = str(_segment_partners(base, segment, partner_folder))
    own = base.population.segments[segment]
    count = segment_counts(base)[segment]
    if count < 1:
        raise ScenarioError(
            None,
            [
                (
                    "population.partners",
                    f"segment '{segment}' gets no partner out of {base.population.partners}",
                )
            ],
        )
    values["population.segments"] = {segment: {**own.model_dump(mode="json"), "share": 1.0}}
    values["population.partners"] = count
    values["population.recruitment.per_period"] = base.population.recruitment.per_period * own.share
    for i, shock in enumerate(base.market.shocks):
        if shock.segments is None:
            continue
        if segment in shock.segments:
            values[f"market.shocks.{i}.segments"] = [segment]
        else:  # keeps its place and random draws, with no effect here
            values[f"market.shocks.{i}.segments"] = None
            values[f"market.shocks.{i}.magnitude"] = 0.0
    program = base.program.model_dump(mode="json")
    add_to_segment(program, segment, dict(override or {}))
    values["program.segment_overrides"] = {
        k: v for k, v in program["segment_overrides"].items() if k == segment
    }
    versions = program["versions"]
    for version in versions.values():  # the other segments are not simulated here
        changes = version.get("changes") or {}
        if "segment_overrides" in changes:
            changes["segment_overrides"] = {
                k: v for k, v in changes["segment_overrides"].items() if k == segment
            }
    if versions:
        values["program.versions"] = versions
    values |= lifted_budget(program)
    values["name"] = f"{base.name}/{segment}"
    return with_values(base, values)


def lifted_budget(program: Mapping[str, Any]) -> dict[str, Any]:
    """The scenario changes (for :func:`~incentsim.scenario.loader.with_values`) that lift the
    budget of ``program`` (a dumped program): no budget per period, no reserve, and contingent
    rules that no longer scale a budget."""
    values: dict[str, Any] = {}
    if program["contingent"]:  # the budget is lifted: nothing to scale
        values["program.contingent"] = {
            name: {**rule, "budget_scale": 1.0} for name, rule in program["contingent"].items()
        }
    values["program.budget.per_period"] = None
    values["program.budget.reserve.initial"] = 0.0
    values["program.budget.reserve.max"] = None
    return values


def _segment_partners(base: Scenario, segment: str, folder: Path) -> Path:
    """The rows of ``segment`` in the base's partner file, written (once) into ``folder``."""
    assert base.population.source is not None
    real = load_partners_csv(base.population.source, base.population)
    text = real[real["segment"] == segment].to_csv(index=False, na_rep="")
    path = folder / f"partners-{short_hash({'rows': text}, length=20)}.csv"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as temporary:
            temporary.write_text(text, encoding="utf-8")
    return path


def simulate_task(task: SegmentTask) -> list[TaskOutput]:
    """Simulate a task's blocks, stacked, with the runner's checks (runs in a worker); one
    output per block."""
    blocks = [
        Block(b.block, np.random.SeedSequence(b.entropy, spawn_key=b.spawn_key), b.reps)
        for b in task.blocks
    ]
    try:
        results = run_stacked(task.scenario, blocks, BLOCK_SIZE)
    except BlockError as exc:
        exc.add_note(
            f"while simulating candidate '{task.candidate}' of segment '{task.segment}', "
            f"blocks {', '.join(str(b.block) for b in task.blocks)}"
        )
        raise
    margin = task.scenario.market.gross_margin
    outputs = []
    for block, result in zip(task.blocks, results, strict=True):
        outcomes = {name: result.outcomes[name] for name in OUTCOMES}
        outcomes["margin"] = margin * outcomes["revenue_net"]
        outcomes["small_paid"] = outcomes["payout_share_smallest_half"] * outcomes["incentive_paid"]
        outputs.append(TaskOutput(block.key, outcomes, result.seconds))
    return outputs


def simulate_candidates(
    base: Scenario,
    space: DesignSpace,
    replications: int,
    seed: SeedLike,
    *,
    options: RunOptions | Evaluator | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    **run: Unpack[RunKeywords],
) -> SimulatedCandidates:
    """Simulate every candidate of every segment on the same seed blocks.

    Parameters
    ----------
    base
        The base scenario (full population).
    space
        Candidates per segment (:func:`~incentsim.optimizer.space.generate_candidates`).
    replications
        Scenarios per candidate (cut into blocks of
        :data:`~incentsim.montecarlo.seeding.BLOCK_SIZE`).
    seed
        Root seed of the blocks.
    options
        The run options (:class:`~incentsim.montecarlo.RunOptions`: ``executor``,
        ``workers``, ``address``, ``progress``, ``draws``), or an
        :class:`~incentsim.montecarlo.Evaluator` to run on. With ``draws``, block ``i`` of
        every candidate and segment simulates the calibration draw its seed picks.
    cache_dir
        Folder of cached block results (``None``: no cache): a run store per segment scenario
        simulated, so optimisations may share a cache.
    **run
        Run options one by one (``executor="processes", progress=False``).

    Raises
    ------
    OutDirError
        ``cache_dir`` is a file, or cannot be written.
    """
    with evaluator_for(options, **run) as ev:
        _check_candidate_options(ev.options)
        return _simulate_candidates(base, space, replications, seed, ev, cache_dir)


def _check_candidate_options(options: RunOptions) -> None:
    """Refuse run options candidate simulation cannot honour (it stacks the engine's blocks
    and keeps only outcomes, in its cache)."""
    if options.block_fn is not None:
        raise ValueError("candidates are simulated by the engine: a block_fn cannot be used")
    if options.block_size not in (None, BLOCK_SIZE) or options.panel:
        raise ValueError(f"candidates are simulated in blocks of {BLOCK_SIZE}, without a panel")


def _simulate_candidates(
    base: Scenario,
    space: DesignSpace,
    replications: int,
    seed: SeedLike,
    ev: Evaluator,
    cache_dir: str | os.PathLike[str] | None,
) -> SimulatedCandidates:
    """:func:`simulate_candidates` on the evaluator ``ev``."""
    began = time.perf_counter()
    blocks = block_seeds(seed, replications, BLOCK_SIZE)
    cache = None if cache_dir is None else Path(cache_dir)
    if cache is not None and cache.exists() and not cache.is_dir():
        raise OutDirError(f"the candidate cache {cache} exists and is not a folder")
    counts = segment_counts(base)
    draws = ev.options.draws
    # Real partners: each segment's rows of the partner file, beside the cache (else for the
    # call's length).
    own_folder = tempfile.TemporaryDirectory(prefix="incentsim-partners-")
    partner_folder = Path(own_folder.name) if cache is None else cache / "partners"
    data = {
        g: {m: np.full((len(space.candidates[g]), replications), np.nan) for m in METRICS}
        for g in space.segments
    }
    layout: dict[str, tuple[str, int, int, int]] = {}  # key -> segment, row, start, reps
    stores: dict[str, tuple[RunStore, int]] = {}  # key -> the cache's store, block index

    def record(output: TaskOutput) -> None:
        g, row, start, reps = layout[output.key]
        for metric in METRICS:
            data[g][metric][row, start : start + reps] = output.outcomes[metric]

    pending: list[tuple[str, str, Scenario, list[TaskBlock]]] = []
    cached = 0
    for g in space.segments:
        for row, candidate in enumerate(space.candidates[g]):
            scenario = segment_scenario(base, g, candidate.override, partner_folder)
            # Blocks that simulate the same scenario (the same draw) stack together.
            for simulated, drawn_blocks in _by_draw(scenario, blocks, draws):
                run_store = None
                found: dict[int, dict[str, np.ndarray]] = {}
                if cache is not None:
                    run_store = _candidate_store(cache, simulated, seed, len(blocks))
                    found = _read_stored(run_store, drawn_blocks)
                waiting = []
                for block in drawn_blocks:
                    key = f"{g}/{row}/{block.index}"
                    layout[key] = (g, row, block.index * BLOCK_SIZE, block.reps)
                    if block.index in found:
                        record(TaskOutput(key, found[block.index]))
                        cached += 1
                        continue
                    entropy, spawn_key = block.seed.entropy, tuple(block.seed.spawn_key)
                    waiting.append(TaskBlock(block.index, block.reps, entropy, spawn_key, key))
                    if run_store is not None:
                        stores[key] = (run_store, block.index)
                if waiting:
                    pending.append((g, candidate.id, simulated, waiting))
                elif run_store is not None:
                    run_store.write_manifest(status="complete")
    simulated_blocks = sum(len(todo) for *_, todo in pending)
    if pending:  # a full cache starts no workers
        # Stacked up to the memory bound, leaving at least two tasks per worker.
        per_worker = max(1, simulated_blocks // (2 * ev.executor.workers))
        tasks = []
        for g, candidate_id, scenario, todo_blocks in pending:
            fits = STACK_PARTNER_REPLICATIONS // (counts[g] * BLOCK_SIZE)
            stack = min(per_worker, max(1, fits))
            for first in range(0, len(todo_blocks), stack):
                chunk = tuple(todo_blocks[first : first + stack])
                tasks.append(SegmentTask(g, candidate_id, scenario, chunk))
        total = cached + simulated_blocks
        for outputs in ev.map(
            simulate_task, tasks, name="candidates", total=total, initial=cached, size=len
        ):
            for output in outputs:
                record(output)
                if output.key in stores:
                    _write_stored(*stores[output.key], output)
        for run_store in {id(r): r for r, _ in stores.values()}.values():
            run_store.write_manifest(status="complete")  # every block asked for is written
    own_folder.cleanup()
    return SimulatedCandidates(
        segments=list(space.segments),
        candidates={g: list(space.candidates[g]) for g in space.segments},
        data=data,
        partners={g: counts[g] for g in space.segments},
        replications=replications,
        seed=describe_seed(seed),
        simulated=simulated_blocks,
        cached=cached,
        seconds=time.perf_counter() - began,
    )


def _by_draw(
    scenario: Scenario, blocks: list[Block], draws: BehaviourDraws | None
) -> list[tuple[Scenario, list[Block]]]:
    """The scenario each block simulates (``scenario``, or with ``draws`` the draw its seed
    picks applied to it) with its blocks, in the order the draws are first picked."""
    if draws is None:
        return [(scenario, list(blocks))]
    by_pick: dict[int, tuple[Scenario, list[Block]]] = {}
    for block in blocks:
        pick = draws.pick(block.seed)
        if pick not in by_pick:
            by_pick[pick] = (draws.apply(scenario, pick), [])
        by_pick[pick][1].append(block)
    return list(by_pick.values())


def _candidate_store(cache: Path, scenario: Scenario, seed: SeedLike, blocks: int) -> RunStore:
    """The cache's run store of ``scenario`` (one segment with one candidate, drawn if the
    run has draws) simulated from the root ``seed``, opened: its key is the scenario's content
    hash, the seed and the block size; the outcomes it keeps are part of its code."""
    key = {
        "scenario_hash": scenario_hash(scenario),
        "seed": describe_seed(seed),
        "block_size": BLOCK_SIZE,
    }
    run_store = RunStore(
        cache,
        CANDIDATE_STORE,
        key,
        code={"metrics": list(METRICS)},
        blocks=blocks,
        info={"scenario": scenario.name},
    ).by_key()
    try:
        run_store.open(resume=True)
    except OSError as exc:
        raise OutDirError(f"cannot write the candidate cache in {cache}: {exc}") from None
    return run_store


def _read_stored(run_store: RunStore, blocks: list[Block]) -> dict[int, dict[str, np.ndarray]]:
    """The stored outcomes of ``blocks`` (``index -> metric -> values``) that hold the
    block's replications; others (missing, unreadable, of another length) are simulated
    again."""
    finished = set(run_store.finished_blocks())
    found = {}
    for block in blocks:
        if block.index not in finished:
            continue
        try:
            table = pq.read_table(run_store.block_file("outcomes", block.index))
            outcomes = {name: table.column(name).to_numpy() for name in METRICS}
        except (OSError, KeyError, pa.ArrowException):
            continue
        if all(len(values) == block.reps for values in outcomes.values()):
            found[block.index] = outcomes
    return found


def _write_stored(run_store: RunStore, index: int, output: TaskOutput) -> None:
    try:
        write_parquet(run_store.block_file("outcomes", index), pa.table(output.outcomes))
    except OSError as exc:
        raise OutDirError(
            f"cannot write the candidate cache in {run_store.folder}: {exc}"
        ) from None
