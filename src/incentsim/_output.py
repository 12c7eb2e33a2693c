"""Output folders a reader can trust: atomic files, whole-folder replacement and a writer's lock.

Every verb that writes a folder uses these, so a reader never sees a mix of two results:

- :func:`atomic_file` / :func:`write_text`: one file, written under a unique temporary name in
  its own folder and renamed into place, so a file that exists is complete (for folders written
  in place and continued later: a run's blocks, an experiment's runs, a sensitivity's chunks;
  there the manifest, written last, says whether the folder is complete);
- :func:`new_folder`: a whole result written into a hidden sibling folder and swapped into
  place in one step when it is complete (payout statements, an optimisation), so the folder is
  the complete previous result until the new one is complete;
- :func:`folder_lock`: a lock file beside the folder (``.<name>.lock``) refuses a second writer
  with a clear message. It is an advisory ``flock`` that the system releases when its process
  ends, so a lock left by a killed process is stale and simply taken over;
- :func:`check_kind`: a folder holding another kind of result (an experiment, an
  optimisation...) is refused unless the user asks to overwrite it.

Files are created with the permissions the umask gives (typically 0644), folders likewise
(0755), not the 0600/0700 of Python's ``tempfile``.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import fcntl
import glob
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from incentsim.errors import OutDirError

__all__ = [
    "KINDS",
    "article",
    "atomic_file",
    "check_kind",
    "file_mode",
    "folder_kind",
    "folder_lock",
    "lock_path",
    "new_folder",
    "write_text",
]

#: The file that marks a folder as each kind of result incentsim writes.
KINDS: dict[str, str] = {
    "manifest.json": "Monte Carlo run",
    "experiment.json": "experiment",
    "sensitivity.json": "sensitivity analysis",
    "optimization.json": "optimisation",
    "program_ledger.csv": "set of payout statements",
    "calibrated.yaml": "calibration",
    "candidate.json": "candidate simulation",
}

#: Locks this process holds (folder -> depth), so a writer may nest a lock it already holds.
_HELD: dict[Path, int] = {}


def _umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The permissions a new file gets: ``0o666`` less the umask (typically 0644)."""
    return 0o666 & ~_umask()


# --- files -------------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A unique temporary path beside ``path``, renamed onto ``path`` when the block succeeds.

    The temporary file is ``.<stem>.<random>.tmp<suffix>`` in the same folder (created if
    needed), so writers never collide and tools that go by the suffix (matplotlib, numpy) keep
    working. It is removed if the block raises. The file ends with the umask's permissions.

    Examples
    --------
    >>> with atomic_file(folder / "table.parquet") as tmp:  # doctest: +SKIP
    ...     pq.write_table(table, tmp)
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, file_mode())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically; the path."""
    with atomic_file(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    return Path(path)


# --- what a folder holds -----------------------------------------------------------------------


def folder_kind(folder: Path) -> str | None:
    """What kind of incentsim result ``folder`` holds (see :data:`KINDS`), or ``None``."""
    return next((kind for marker, kind in KINDS.items() if (folder / marker).is_file()), None)


def _holds_files(folder: Path) -> bool:
    return folder.is_dir() and any(
        not (p.name.startswith(".") and ".tmp" in p.name) for p in folder.iterdir()
    )


def check_kind(folder: Path, kind: str | None, overwrite: bool = False) -> bool:
    """Refuse ``folder`` when it holds a result of another kind than ``kind``.

    Parameters
    ----------
    folder
        The output folder (it need not exist).
    kind
        The kind this writer makes (a value of :data:`KINDS`), or ``None`` for a writer whose
        folders have no marker of their own (a comparison's runs and report).
    overwrite
        Accept a folder of another kind anyway.

    Returns
    -------
    bool
        Whether the folder holds another kind of result (and ``overwrite`` was given): the
        writer must then remove it before writing.

    Raises
    ------
    OutDirError
        ``folder`` is a file, or holds another kind of result and ``overwrite`` is not set.
    """
    if folder.exists() and not folder.is_dir():
        raise OutDirError(f"{folder} exists and is not a folder")
    found = folder_kind(folder) if folder.is_dir() else None
    if found is None or found == kind:
        return False
    if not overwrite:
        raise OutDirError(
            f"{folder} holds {article(found)} {found}, not {article(kind)} "
            f"{kind or 'result of this command'}; choose another folder or replace it "
            "(--overwrite, or overwrite=True)"
        )
    return True


def article(word: str | None) -> str:
    """``"an"`` before a word that starts with a vowel, else ``"a"``."""
    return "an" if (word or "r")[0] in "aeiou" else "a"


# --- whole folders -----------------------------------------------------------------------------


@contextlib.contextmanager
def new_folder(
    folder: str | os.PathLike[str],
    kind: str,
    *,
    overwrite: bool = False,
    other_run: Callable[[Path], str | None] | None = None,
) -> Iterator[Path]:
    """Lock ``folder``, check it may be replaced, and yield an empty staging folder beside it
    that takes its place, whole, when the block succeeds.

    Until then ``folder`` keeps its previous content, complete; if the block raises (or the
    process is killed) the staging folder is discarded (a killed writer's is removed by the
    next one) and ``folder`` is unchanged. The lock is held from the start, so a second writer
    is refused before it does any work.

    Parameters
    ----------
    folder
        The result's folder.
    kind
        What this writer makes (a value of :data:`KINDS`).
    overwrite
        Replace a folder of another kind, or of the same kind but another run.
    other_run
        ``other_run(folder)`` describes how a folder of the same kind holds another run
        (``"an optimisation of other.yaml"``) or returns ``None`` when it is the same run
        done again (replaced without ``overwrite``). Without it, every existing result of the
        kind needs ``overwrite``.

    Raises
    ------
    OutDirError
        Another process writes ``folder``; ``folder`` holds another kind of result or another
        run and ``overwrite`` is not set; or it holds files incentsim did not write (never
        replaced, so ``--overwrite`` cannot remove a user's own folder).
    """
    target = Path(folder)
    with folder_lock(target):
        check_kind(target, kind, overwrite)
        found = folder_kind(target) if target.is_dir() else None
        if found is None and _holds_files(target):
            raise OutDirError(
                f"{target} holds files that are not incentsim results; choose another folder"
            )
        if found == kind and not overwrite:
            other = f"{article(kind)} {kind}" if other_run is None else other_run(target)
            if other is not None:
                raise OutDirError(
                    f"{target} holds {other}; choose another folder or replace it "
                    "(--overwrite, or overwrite=True)"
                )
        try:
            staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
        except OSError as exc:
            raise OutDirError(
                f"cannot write beside {target} ({exc}): the folder is replaced whole, so the "
                "folder it is in must be writable"
            ) from None
        try:
            yield staging
            os.chmod(staging, 0o777 & ~_umask())
            _swap(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # after the swap: the previous content


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _swap(staging: Path, target: Path) -> None:
    """Put ``staging`` at ``target``; ``target``'s previous content ends up at ``staging``.

    One atomic exchange on Linux (``renameat2(RENAME_EXCHANGE)``); elsewhere two renames,
    with the previous content parked at ``.<name>.old-*`` for the moment between them (put
    back by :func:`_clear_leftovers` if the process dies there).
    """
    if not target.exists():
        os.rename(staging, target)
        return
    if _exchange(staging, target):
        return
    parked = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rename(target, parked / "previous")
    os.rename(staging, target)
    os.rename(parked, staging)


def _exchange(a: Path, b: Path) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    done = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return done == 0


def _clear_leftovers(target: Path) -> None:
    """Remove what killed writers of ``target`` left beside it (called holding its lock)."""
    parent, stem = target.parent, glob.escape(f".{target.name}")
    for parked in sorted(parent.glob(f"{stem}.old-*")):
        previous = parked / "previous"
        if previous.is_dir() and not target.exists():
            os.rename(previous, target)  # killed between the two renames of _swap
        shutil.rmtree(parked, ignore_errors=True)
    for staging in parent.glob(f"{stem}.partial-*"):
        shutil.rmtree(staging, ignore_errors=True)


# --- the writer's lock -------------------------------------------------------------------------


def lock_path(folder: Path) -> Path:
    """The lock file of ``folder``: ``.<name>.lock`` beside it (so the folder in which the
    output folder is must be writable)."""
    folder = Path(os.path.abspath(folder))
    return folder.with_name(f".{folder.name}.lock")


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the writer's lock of ``folder`` for the duration of the block.

    The lock is an exclusive ``flock`` on :func:`lock_path` (beside the folder), which records
    who holds it. The system releases it when the process ends however it ends, so a lock file
    left by a killed process is stale and taken over. A process may nest the lock of a folder
    it already holds. Taking the lock also removes what killed writers left beside the folder.

    Raises
    ------
    OutDirError
        Another process holds the lock, or the lock file cannot be created.
    """
    key = Path(os.path.abspath(folder))
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    path = lock_path(key)
    fd = _acquire(key, path)
    _HELD[key] = 1
    try:
        _clear_leftovers(key)
        yield
    finally:
        del _HELD[key]
        path.unlink(missing_ok=True)
        os.close(fd)


def _acquire(folder: Path, path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutDirError(f"cannot use {folder} as an output folder: {exc}") from None
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise OutDirError(f"cannot lock {folder} (lock file {path}): {exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            raise OutDirError(
                f"{folder} is being written by another incentsim process ({holder}); wait for "
                f"it to finish or choose another folder (lock file {path})"
            ) from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # its holder removed the file between our open and lock: try again
    os.ftruncate(fd, 0)
    since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    os.write(fd, f"pid {os.getpid()} on {socket.gethostname()} since {since}\n".encode())
    return fd
