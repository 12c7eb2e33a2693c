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

Replication ``r`` is in block ``r // block_size``. Each file is written to a temporary name in
the same folder and renamed into place, so a file that exists is complete. ``status`` in the
manifest is ``running`` until every block is written and the summary computed, then
``complete`` (or ``failed`` / ``interrupted``). A run stopped part-way can be resumed into the
same folder (``resume=True``, ``incentsim run --resume``): its finished blocks are kept and only
the others are simulated, with the same results as a run never stopped.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from incentsim import _output
from incentsim.errors import OutDirError

MANIFEST = "manifest.json"
SUMMARY = "summary.json"
SCENARIO = "scenario.json"
REPLICATIONS = "replications"
TRAJECTORIES = "trajectories"
PANEL = "panel"
EVENTS = "events"
BLOCK_FOLDERS = (REPLICATIONS, TRAJECTORIES, PANEL, EVENTS)
TOP_FILES = (MANIFEST, SUMMARY, SCENARIO)

#: The manifest keys that say which run a folder holds; equal keys mean the same results
#: (``draws``: the content hash of the calibration draws, ``None`` without; absent from
#: manifests written before it was recorded, which read as ``None``).
IDENTITY_KEYS = ("scenario_hash", "seed", "replications", "block_size", "draws")
#: What a run resumed from a folder must also share with the run that wrote it.
RESUME_KEYS = ("panel", "incentsim_version")

FORMAT_VERSION = 1


def block_file(out_dir: Path, folder: str, index: int) -> Path:
    """Where block ``index`` of ``folder`` (``replications``, ``trajectories``...) is stored."""
    suffix = ".jsonl" if folder == EVENTS else ".parquet"
    return out_dir / folder / f"block-{index:05d}{suffix}"


# --- preparing a folder ----------------------------------------------------------------------


def prepare_out_dir(
    out_dir: Path, identity: Mapping[str, Any], overwrite: bool = False, resume: bool = False
) -> list[int]:
    """Make ``out_dir`` ready for a run, removing a previous run's files where that is safe.

    A folder may be reused when it is empty, holds nothing of a run, holds the same run
    (same :data:`IDENTITY_KEYS` in its manifest, so the same results), or ``overwrite`` is set.
    Only files of a run are removed; other files in the folder are left alone, except that a
    folder holding another kind of result (an experiment, an optimisation...) is refused, and
    removed whole with ``overwrite``. Call it holding the folder's lock
    (:func:`incentsim._output.folder_lock`). With ``resume``,
    the finished blocks of the same run (every file of the block written) are kept, and the run
    must also have been made with the same ``panel`` setting and incentsim version.

    Returns
    -------
    list of int
        The finished blocks kept (always empty without ``resume``).

    Raises
    ------
    OutDirError
        The folder holds a different run (or a run's files without a readable manifest) or
        another kind of result and ``overwrite`` is not set, a run that cannot be resumed, or
        it cannot be created or cleared.
    """
    if _output.check_kind(out_dir, _output.KINDS[MANIFEST], overwrite):
        try:
            shutil.rmtree(out_dir)
        except OSError as exc:
            raise OutDirError(f"cannot remove {out_dir} to overwrite it: {exc}") from None
    kept: list[int] = []
    if out_dir.is_dir() and _holds_run(out_dir) and not overwrite:
        previous = _previous_manifest(out_dir)
        if previous is None:
            raise OutDirError(
                f"{out_dir} holds files of a run but no {MANIFEST}; choose another folder or "
                "overwrite it (--overwrite, or overwrite=True)"
            )
        keys = (*IDENTITY_KEYS, *RESUME_KEYS) if resume else IDENTITY_KEYS
        differs = [k for k in keys if previous.get(k) != identity.get(k)]
        if differs:
            shown = ", ".join(f"{k} {previous.get(k)!r}, not {identity.get(k)!r}" for k in differs)
            what = "a run that cannot be resumed here" if resume else "a different run"
            raise OutDirError(
                f"{out_dir} holds {what} (scenario '{previous.get('scenario')}', {shown}); "
                "choose another folder or overwrite it (--overwrite, or overwrite=True)"
            )
        if resume:
            kept = finished_blocks(out_dir, int(identity["blocks"]), bool(identity["panel"]))
    try:
        clear_run(out_dir, keep=kept)
        for folder in (REPLICATIONS, TRAJECTORIES, EVENTS):
            (out_dir / folder).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutDirError(f"cannot use {out_dir} as the run folder: {exc}") from None
    return kept


def finished_blocks(out_dir: Path, n_blocks: int, panel: bool) -> list[int]:
    """Blocks of ``out_dir`` whose every file is written (files appear whole, by renaming)."""
    folders = (*BLOCK_FOLDERS,) if panel else (REPLICATIONS, TRAJECTORIES, EVENTS)
    return [
        i
        for i in range(n_blocks)
        if all(block_file(out_dir, folder, i).is_file() for folder in folders)
    ]


def _previous_manifest(out_dir: Path) -> dict[str, Any] | None:
    """The manifest of the run in ``out_dir``, or ``None`` when there is none to read."""
    path = out_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        previous = read_json(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OutDirError(
            f"{path} cannot be read ({exc}); choose another folder or overwrite it "
            "(--overwrite, or overwrite=True)"
        ) from None
    return previous if isinstance(previous, dict) else {}


def clear_run(out_dir: Path, keep: Sequence[int] = ()) -> None:
    """Remove a run's files from ``out_dir`` (and its folders when they end up empty), except
    the files of the blocks in ``keep``."""
    if not out_dir.is_dir():
        return
    kept = {block_file(out_dir, folder, i).name for folder in BLOCK_FOLDERS for i in keep}
    for name in TOP_FILES:
        (out_dir / name).unlink(missing_ok=True)
    for folder in BLOCK_FOLDERS:
        path = out_dir / folder
        if not path.is_dir():
            continue
        for file in path.iterdir():
            if file.name.startswith(("block-", ".block-")) and file.name not in kept:
                file.unlink()
        if not any(path.iterdir()):
            path.rmdir()


def _holds_run(out_dir: Path) -> bool:
    return any((out_dir / name).exists() for name in (*TOP_FILES, *BLOCK_FOLDERS))


# --- writing ---------------------------------------------------------------------------------


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (unique temporary file, then rename)."""
    _output.write_text(path, json.dumps(data, indent=2, default=_json_default) + "\n")


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


def write_jsonl(path: Path, records: Sequence[Mapping[str, Any]]) -> None:
    """Write JSON lines atomically."""
    with _output.atomic_file(path) as tmp, tmp.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, default=_json_default) + "\n")


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


def run_files(out_dir: Path) -> list[str]:
    """The run's files in ``out_dir`` (relative paths, without the manifest itself)."""
    files = [name for name in (SUMMARY, SCENARIO) if (out_dir / name).is_file()]
    for folder in BLOCK_FOLDERS:
        if (out_dir / folder).is_dir():
            files += [f"{folder}/{p.name}" for p in (out_dir / folder).glob("block-*")]
    return sorted(files)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


# --- reading ---------------------------------------------------------------------------------


def read_json(path: Path) -> Any:
    """A JSON file's content."""
    return json.loads(path.read_text(encoding="utf-8"))


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
