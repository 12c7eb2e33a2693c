"""The on-disk layout of a Monte Carlo run, written block by block and read back.

::

    OUT_DIR/
      manifest.json                      what ran: scenario, hash, seed, replications, block size,
                                         versions, executor, times, status, files
      scenario.json                      the validated scenario, as simulated
      summary.json                       Summary.to_dict() (written when the run completes)
      replications/block-00007.parquet   one row per replication: replication (global index,
                                         int64), then one float64 column per outcome
      trajectories/block-00007.parquet   one row per replication: replication, then one column
                                         per trajectory ("reserve", "tier_share/gold",
                                         "weekly_revenue", ...), each a fixed-size list of float64
                                         holding its values per period (or week) from 0
      panel/block-00007.parquet          (with panel) the engine's rows per replication, partner
                                         and period, its block-local ``rep`` replaced by the global
                                         ``replication``
      events/block-00007.jsonl           calendar events, one JSON object a line, with ``block``
                                         and (where the event belongs to one) ``replication``

Replication ``r`` is in block ``r // block_size``. The folder is a
:class:`~incentsim.montecarlo.run_store.RunStore` (:data:`MONTE_CARLO`): its manifest, its
atomic block files and its rule for resuming and overwriting are every store's. ``status`` in
the manifest is ``running`` until every block is written and the summary computed, then
``complete`` (or ``failed`` / ``interrupted``). A run stopped part-way can be resumed into the
same folder (``resume=True``, ``incentsim run --resume``): its finished blocks are kept and only
the others are simulated, with the same results as a run never stopped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from incentsim import _output
from incentsim.errors import OutDirError
from incentsim.montecarlo.run_store import Layout

MANIFEST = "manifest.json"
SUMMARY = "summary.json"
SCENARIO = "scenario.json"
REPLICATIONS = "replications"
TRAJECTORIES = "trajectories"
PANEL = "panel"
EVENTS = "events"

#: The manifest keys that say which run a folder holds (its run store's ``key``); equal keys
#: mean the same results (``draws``: the content hash of the calibration draws, ``None``
#: without).
IDENTITY_KEYS = ("scenario_hash", "seed", "replications", "block_size", "draws")

#: A Monte Carlo run as a :class:`~incentsim.montecarlo.run_store.RunStore` lays it out.
MONTE_CARLO = Layout(
    kind=_output.KINDS[MANIFEST],
    noun="run",
    parts={REPLICATIONS: ".parquet", TRAJECTORIES: ".parquet", PANEL: ".parquet", EVENTS: ".jsonl"},
    files=(SUMMARY, SCENARIO),
)


def block_file(out_dir: Path, folder: str, index: int) -> Path:
    """Where block ``index`` of ``folder`` (``replications``, ``trajectories``...) is stored."""
    return MONTE_CARLO.block_file(out_dir, folder, index)


# --- writing ---------------------------------------------------------------------------------


def write_parquet(path: Path, table: pa.Table) -> None:
    """Write a Parquet file atomically (unique temporary file, then rename)."""
    with _output.atomic_file(path) as tmp:
        pq.write_table(table, tmp)


def write_table(frame: pd.DataFrame, stem: str | os.PathLike[str]) -> list[Path]:
    """Write ``frame`` as ``<stem>.csv`` and ``<stem>.parquet`` (atomically); both paths.

    A named index is written as columns; an index without a name is left out, whatever it holds.
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    keep_index = frame.index.name is not None or any(n is not None for n in frame.index.names)
    flat = frame.reset_index() if keep_index else frame.reset_index(drop=True)
    flat.columns = [str(c) for c in flat.columns]
    csv = stem.with_suffix(".csv")
    _output.write_text(csv, flat.to_csv(index=False))
    parquet = stem.with_suffix(".parquet")
    write_parquet(parquet, pa.Table.from_pandas(flat, preserve_index=False))
    return [csv, parquet]


def outcomes_table(start: int, outcomes: Mapping[str, np.ndarray]) -> pa.Table:
    """A block's outcomes: replication, then one column per outcome."""
    reps = len(next(iter(outcomes.values()))) if outcomes else 0
    columns = {"replication": np.arange(start, start + reps, dtype=np.int64)}
    return pa.table({**columns, **outcomes})


def trajectories_table(start: int, reps: int, trajectories: Mapping[str, np.ndarray]) -> pa.Table:
    """A block's trajectories: one row per replication, a fixed-size list column per trajectory
    (trajectories may differ in length: periods, weeks)."""
    columns: dict[str, pa.Array] = {
        "replication": pa.array(np.arange(start, start + reps, dtype=np.int64))
    }
    for name, matrix in trajectories.items():
        values = pa.array(np.ascontiguousarray(matrix, dtype=np.float64).reshape(-1))
        columns[name] = pa.FixedSizeListArray.from_arrays(values, matrix.shape[1])
    return pa.table(columns)


def panel_table(frame: pd.DataFrame) -> pa.Table:
    """A block's panel rows as they are stored (without the pandas index)."""
    return pa.Table.from_pandas(frame, preserve_index=False)


# --- reading ---------------------------------------------------------------------------------


def read_outcomes(out_dir: Path, n_blocks: int) -> pd.DataFrame:
    """All replications' outcomes, indexed by replication, in replication order."""
    frames = [
        pq.read_table(block_file(out_dir, REPLICATIONS, i)).to_pandas() for i in range(n_blocks)
    ]
    frame = pd.concat(frames, ignore_index=True).set_index("replication")
    return frame.sort_index()


def block_shape(out_dir: Path, index: int) -> tuple[list[str], dict[str, int]]:
    """The outcome names and each trajectory's length stored for block ``index``."""
    try:
        outcomes = pq.read_schema(block_file(out_dir, REPLICATIONS, index)).names
        trajectories = pq.read_schema(block_file(out_dir, TRAJECTORIES, index))
    except (OSError, pa.ArrowException) as exc:
        raise OutDirError(
            f"block {index} of the run in {out_dir} cannot be read ({exc}); overwrite the run "
            "(--overwrite, or overwrite=True)"
        ) from None
    return [name for name in outcomes if name != "replication"], {
        f.name: f.type.list_size for f in trajectories if f.name != "replication"
    }


def read_trajectory(out_dir: Path, n_blocks: int, name: str) -> np.ndarray:
    """One trajectory over all replications, as a (replications, periods) matrix.

    Reads only that column of each block file, so one trajectory is in memory at a time.
    """
    parts = []
    for i in range(n_blocks):
        column = pq.read_table(block_file(out_dir, TRAJECTORIES, i), columns=[name]).column(name)
        lists = column.combine_chunks()
        values = lists.flatten().to_numpy(zero_copy_only=False)
        parts.append(values.reshape(len(lists), lists.type.list_size))
    return np.concatenate(parts)


def iter_trajectories(
    out_dir: Path, n_blocks: int, names: Sequence[str]
) -> Iterator[tuple[str, np.ndarray]]:
    """``(name, matrix)`` for each trajectory, loaded one after another."""
    for name in names:
        yield name, read_trajectory(out_dir, n_blocks, name)


def read_panel(
    out_dir: Path,
    n_blocks: int,
    replications: Sequence[int] | None = None,
    columns: Sequence[str] | None = None,
    block_size: int | None = None,
) -> pd.DataFrame:
    """Panel rows, optionally only some replications (reads only their blocks) and columns."""
    indices: Sequence[int] = range(n_blocks)
    wanted = None if replications is None else sorted({int(r) for r in replications})
    if wanted is not None and block_size:
        indices = sorted({r // block_size for r in wanted if 0 <= r // block_size < n_blocks})
    if columns is not None and "replication" not in columns:
        columns = ["replication", *columns]
    frames = []
    for i in indices:
        path = block_file(out_dir, PANEL, i)
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: was the run made with panel=True?")
        table = pq.read_table(path, columns=None if columns is None else list(columns))
        frame = table.to_pandas()
        if wanted is not None:
            frame = frame[frame["replication"].isin(wanted)]
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=list(columns or ["replication"]))
    return pd.concat(frames, ignore_index=True)


def read_events(out_dir: Path, n_blocks: int) -> list[dict[str, Any]]:
    """All calendar events, block by block."""
    events: list[dict[str, Any]] = []
    for i in range(n_blocks):
        path = block_file(out_dir, EVENTS, i)
        if path.is_file():
            with path.open(encoding="utf-8") as handle:
                events.extend(json.loads(line) for line in handle if line.strip())
    return events
