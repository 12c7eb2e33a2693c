"""The one resumable run store: a folder holding what was run (its manifest) and its blocks.

Every resumable result is stored this way: a Monte Carlo run (:mod:`incentsim.montecarlo.store`
lays out its parts), a sensitivity analysis (its blocks are chunks of sample points), the
optimiser's candidate cache (one store per segment scenario simulated) and an experiment (its
blocks are the runs, each a Monte Carlo store of its own)::

    FOLDER/
      manifest.json                  the manifest (its name says the kind: manifest.json,
                                     sensitivity.json, experiment.json, candidate.json)
      <part>/block-00007.<suffix>    block 7's file of each part (replications, points...)
      ...                            the other files the owner writes (:attr:`Layout.files`)

The manifest has one format for every kind of store: ``format`` (:data:`STORE_FORMAT`),
``kind``, ``status`` (``running``, then ``complete``, or ``failed`` / ``interrupted``),
``blocks`` (how many), ``key`` (the names of the fields that say what was run: for a Monte
Carlo run its scenario's content hash, seed, replications, block size and calibration draws'
hash) and ``code`` (the names of the fields that say what wrote the blocks: the store format,
the incentsim version, and for a run whether it kept a panel), each of those fields beside
them, then whatever the owner records (times, executor, files...).

Every file is written under a temporary name and renamed into place
(:func:`incentsim._output.atomic_file`), so a block file that exists is complete, and block
``i`` is finished once every part's file of it exists.

**The rule, for every store** (:meth:`RunStore.open`):

- an empty or new folder starts the run;
- a folder holding another kind of result is refused, and removed whole with ``overwrite``;
- a folder holding a run of this kind with other ``key`` fields (another scenario, seed,
  plan...) is refused with a message naming the folder and the fields that differ, unless
  ``overwrite``; with ``resume`` the ``code`` fields must match too;
- the same run is continued with ``resume`` (its finished blocks are kept, exactly those, and
  only the others are computed), and otherwise computed afresh;
- ``overwrite`` removes the previous run's files, never files the store did not write;
  ``resume`` and ``overwrite`` together are refused.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import incentsim
from incentsim import _output
from incentsim.errors import OutDirError

__all__ = ["STORE_FORMAT", "Layout", "RunStore", "read_json", "write_json", "write_jsonl"]

#: The manifest format (and block layout) of every store; bump when either changes.
STORE_FORMAT = 2

#: What a user is told to do with a folder that cannot be used as it is.
_ADVICE = "choose another folder or overwrite it (--overwrite, or overwrite=True)"


@dataclass(frozen=True)
class Layout:
    """What a kind of store holds.

    Attributes
    ----------
    kind
        What the folder holds, a value of :data:`incentsim._output.KINDS` (whose key is the
        manifest's file name).
    noun
        What one run of it is called in messages (``"run"``, ``"experiment"``).
    parts
        ``part folder -> suffix`` of its block files (``{"replications": ".parquet"}``).
    files
        The other files and folders the owner writes, as glob patterns (``"*.png"``), removed
        with the run (folders whole).
    name_field
        The manifest field that names what ran, shown in messages (``"scenario"``).
    """

    kind: str
    noun: str
    parts: Mapping[str, str] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    name_field: str = "scenario"

    @property
    def marker(self) -> str:
        """The manifest's file name."""
        return next(name for name, kind in _output.KINDS.items() if kind == self.kind)

    def block_file(self, folder: Path, part: str, index: int) -> Path:
        """Where block ``index`` of ``part`` is stored in ``folder``."""
        return folder / part / f"block-{index:05d}{self.parts[part]}"


class RunStore:
    """One run's folder: its manifest and block files (see the module notes).

    Parameters
    ----------
    folder
        The run's folder (it need not exist).
    layout
        What this kind of store holds.
    key
        The fields that say what is run (equal keys: the same numbers).
    code
        The fields that say what writes the blocks, beyond :data:`STORE_FORMAT` and the
        incentsim version (which every store records): blocks are reused only when these
        match too.
    blocks
        How many blocks the run has.
    info
        Other fields for the manifest (what ran, times, executor...).
    parts
        The parts this run writes (default every part of the layout): a block is finished
        once each of them holds its file.
    """

    def __init__(
        self,
        folder: Path,
        layout: Layout,
        key: Mapping[str, Any],
        *,
        code: Mapping[str, Any] | None = None,
        blocks: int,
        info: Mapping[str, Any] | None = None,
        parts: Sequence[str] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.layout = layout
        self.parts = list(layout.parts) if parts is None else list(parts)
        self.key = dict(key)
        self.code = {"format": STORE_FORMAT, "incentsim_version": incentsim.__version__}
        self.code |= dict(code or {})
        #: The manifest as written (the owner may add fields before :meth:`write_manifest`).
        self.manifest: dict[str, Any] = {
            "format": STORE_FORMAT,
            "kind": layout.kind,
            "status": "running",
            **dict(info or {}),
            "key": list(self.key),
            **self.key,
            "code": list(self.code),
            **self.code,
            "blocks": blocks,
        }

    def by_key(self) -> RunStore:
        """Move this store into ``folder/<hash of its key and code>`` (a cache of runs) and
        return it: runs never share a folder, and one whose key or code changed starts a new
        one. Such a store is opened with ``resume`` and removes nothing, so several processes
        may fill a cache at once (every file is written atomically, and a manifest says the
        same run whoever writes it)."""
        text = json.dumps({**self.key, **self.code}, sort_keys=True, default=_json_default)
        self.folder = self.folder / hashlib.sha256(text.encode()).hexdigest()[:20]
        return self

    # --- where things are ----------------------------------------------------------------------

    @property
    def manifest_path(self) -> Path:
        """The manifest's file."""
        return self.folder / self.layout.marker

    def block_file(self, part: str, index: int) -> Path:
        """Where block ``index`` of ``part`` is stored."""
        return self.layout.block_file(self.folder, part, index)

    def finished_blocks(self) -> list[int]:
        """Blocks whose file of every part this run writes is there."""
        return [
            i
            for i in range(int(self.manifest["blocks"]))
            if all(self.block_file(part, i).is_file() for part in self.parts)
        ]

    def files(self) -> list[str]:
        """The run's files now in the folder (relative paths, without the manifest)."""
        found = [
            path.name
            for pattern in self.layout.files
            for path in self.folder.glob(pattern)
            if path.is_file()
        ]
        for part in self.layout.parts:
            if (self.folder / part).is_dir():
                found += [f"{part}/{p.name}" for p in (self.folder / part).glob("block-*")]
        return sorted(found)

    # --- opening -------------------------------------------------------------------------------

    def open(self, *, resume: bool = False, overwrite: bool = False) -> list[int]:
        """Make the folder ready for this run by the rule of the module notes, and write the
        manifest (status ``running``). Call it holding the folder's lock
        (:func:`incentsim._output.folder_lock`) unless, as in the candidate cache, the folder
        is named by the run's key and nothing is removed from it (``resume``).

        Returns
        -------
        list of int
            The finished blocks kept (empty without ``resume``).

        Raises
        ------
        ValueError
            ``resume`` and ``overwrite`` together.
        OutDirError
            The folder holds a different run (or a run's files without a readable manifest)
            or another kind of result and ``overwrite`` is not set, or it cannot be used.
        """
        if resume and overwrite:
            raise ValueError(
                "resume keeps what the folder holds and overwrite removes it: give one"
            )
        folder = self.folder
        if _output.check_kind(folder, self.layout.kind, overwrite):
            try:
                shutil.rmtree(folder)
            except OSError as exc:
                raise OutDirError(f"cannot remove {folder} to overwrite it: {exc}") from None
        kept: list[int] = []
        if folder.is_dir() and self._holds_run() and not overwrite:
            self._check_same_run(resume)
            if resume:
                kept = self.finished_blocks()
        try:
            if not resume:
                self.clear()
            for part in self.parts:
                (folder / part).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutDirError(f"cannot use {folder} as the run folder: {exc}") from None
        self.manifest["resumed_blocks"] = len(kept)
        self.write_manifest()
        return kept

    def previous(self) -> dict[str, Any] | None:
        """The manifest in the folder, or ``None`` when there is none.

        Raises
        ------
        OutDirError
            It cannot be read, or is not a JSON object.
        """
        path = self.manifest_path
        if not path.is_file():
            return None
        try:
            previous = read_json(path)
        except (OSError, ValueError) as exc:  # ValueError: not UTF-8 or not JSON
            raise OutDirError(f"{path} cannot be read ({exc}); {_ADVICE}") from None
        if not isinstance(previous, dict):
            raise OutDirError(f"{path} cannot be read (not a JSON object); {_ADVICE}")
        return previous

    def differences(self, previous: Mapping[str, Any], with_code: bool) -> list[str]:
        """The fields of ``previous`` (a manifest) that differ from this run's ``key`` (and
        ``code``), as ``"field old, not new"``; fields absent from older manifests read as
        ``None``."""
        mine = {**self.key, **(self.code if with_code else {})}
        names = list(mine)
        stored_names = previous.get("key")
        if isinstance(stored_names, list):
            names += [str(n) for n in stored_names if n not in mine]
        return [
            f"{name} {previous.get(name)!r}, not {mine.get(name)!r}"
            for name in names
            if previous.get(name) != mine.get(name)
        ]

    def complete(self) -> bool:
        """Whether the folder holds this run complete: its manifest says ``complete`` with
        this run's ``key`` and ``code``, and every file it lists exists."""
        try:
            previous = self.previous()
        except OutDirError:
            return False
        return (
            previous is not None
            and previous.get("status") == "complete"
            and not self.differences(previous, with_code=True)
            and all((self.folder / name).is_file() for name in previous.get("files", []))
        )

    def _check_same_run(self, resume: bool) -> None:
        layout = self.layout
        a_run = f"{_output.article(layout.noun)} {layout.noun}"
        previous = self.previous()
        if previous is None:
            raise OutDirError(
                f"{self.folder} holds files of {a_run} but no {layout.marker}; {_ADVICE}"
            )
        differs = self.differences(previous, with_code=resume)
        if differs:
            what = f"{a_run} that cannot be resumed here" if resume else None
            what = what or f"a different {layout.noun}"
            named = previous.get(layout.name_field)
            shown = ", ".join(([f"{layout.name_field} '{named}'"] if named else []) + differs)
            raise OutDirError(f"{self.folder} holds {what} ({shown}); {_ADVICE}")

    def _holds_run(self) -> bool:
        names = (self.layout.marker, *self.layout.parts)
        return any((self.folder / name).exists() for name in names) or any(
            any(self.folder.glob(pattern)) for pattern in self.layout.files
        )

    def clear(self) -> None:
        """Remove the run's files (and its part folders when they end up empty); other files
        in the folder are left alone."""
        folder = self.folder
        if not folder.is_dir():
            return
        self.manifest_path.unlink(missing_ok=True)
        for pattern in self.layout.files:
            for path in folder.glob(pattern):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
        for part in self.layout.parts:
            path = folder / part
            if not path.is_dir():
                continue
            for file in path.iterdir():
                if file.name.startswith(("block-", ".block-")):
                    file.unlink()
            if not any(path.iterdir()):
                path.rmdir()

    # --- writing -------------------------------------------------------------------------------

    def write_manifest(self, **changes: Any) -> None:
        """Record ``changes`` (``status="complete"``...) and the files now in the folder, and
        write the manifest (atomically)."""
        self.manifest.update(changes)
        self.manifest["files"] = self.files()
        write_json(self.manifest_path, self.manifest)


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (unique temporary file, then rename)."""
    _output.write_text(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def write_jsonl(path: Path, records: Sequence[Mapping[str, Any]]) -> None:
    """Write JSON lines atomically."""
    with _output.atomic_file(path) as tmp, tmp.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, default=_json_default) + "\n")


def read_json(path: Path) -> Any:
    """A JSON file's content."""
    return json.loads(path.read_text(encoding="utf-8"))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)
