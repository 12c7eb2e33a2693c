"""Atomic files, whole-folder replacement and the writer's lock (``incentsim._output``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

import incentsim
from incentsim import _output
from incentsim.errors import OutDirError

_HOLD = """
import sys, time
from incentsim._output import folder_lock
with folder_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(600)
"""


@pytest.fixture
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def held(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """A folder whose lock another process holds (until the test kills it)."""
    folder = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(Path(incentsim.__file__).parents[1])}
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(folder)], env=env, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "locked"
    yield folder, process
    process.kill()
    process.wait()


def test_atomic_file_uses_unique_names_and_normal_permissions(
    tmp_path: Path, usual_umask: None
) -> None:
    target = tmp_path / "sub" / "table.csv"
    with _output.atomic_file(target) as first, _output.atomic_file(target) as second:
        assert first != second
        assert first.parent == target.parent
        assert first.name.startswith(".table.")
        assert first.name.endswith(".tmp.csv")
        first.write_text("a")
        second.write_text("b")
        assert not target.exists()
    assert target.read_text() == "a"  # the writer that finished last
    assert target.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["table.csv"]


def test_a_failed_atomic_write_leaves_the_previous_file(tmp_path: Path) -> None:
    target = _output.write_text(tmp_path / "a.txt", "old")
    with pytest.raises(RuntimeError, match="stopped"):
        _fail_inside(_output.atomic_file(target), "a.txt")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_second_writer_is_refused_and_a_stale_lock_taken_over(
    held: tuple[Path, subprocess.Popen[str]],
) -> None:
    folder, process = held
    lock = _output.lock_path(folder)
    assert f"pid {process.pid} " in lock.read_text()
    with pytest.raises(OutDirError, match=rf"being written by another .*\(pid {process.pid} "):
        _enter(_output.folder_lock(folder))
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert lock.is_file()  # left behind by the killed process: stale
    with _output.folder_lock(folder), _output.folder_lock(folder):  # nested in one process
        assert f"pid {os.getpid()} " in lock.read_text()
    assert not lock.exists()


def test_the_cli_refuses_a_folder_another_process_writes(
    held: tuple[Path, subprocess.Popen[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    from incentsim.cli import main

    folder, process = held
    scenario = Path(__file__).parents[1] / "scenarios" / "small.yaml"
    code = main(["run", str(scenario), "--reps", "2", "--out", str(folder), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert (
        f"error: {folder} is being written by another incentsim process (pid {process.pid}" in err
    )
    assert "Traceback" not in err
    assert not folder.exists()


def _enter(context: AbstractContextManager[object]) -> None:
    with context:
        pass


def _fail_inside(context: AbstractContextManager[Path], name: str) -> None:
    """Write ``name`` inside ``context`` (into the path or folder it gives), then fail."""
    with context as place:
        (place / name if place.is_dir() else place).write_text("half")
        raise RuntimeError("stopped")


def _result(folder: Path, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "optimization.json").write_text(text)


def test_new_folder_replaces_whole_or_not_at_all(tmp_path: Path, usual_umask: None) -> None:
    out = tmp_path / "out"
    _result(out, "old")
    (out / "design.yaml").write_text("old design")
    with pytest.raises(RuntimeError, match="stopped"):
        _fail_inside(_output.new_folder(out, "optimisation", overwrite=True), "optimization.json")
    assert sorted(p.name for p in out.iterdir()) == ["design.yaml", "optimization.json"]
    with _output.new_folder(out, "optimisation", other_run=lambda _: None) as new:
        (new / "optimization.json").write_text("new")
    assert [p.name for p in out.iterdir()] == ["optimization.json"]  # the old design is gone
    assert (out / "optimization.json").read_text() == "new"
    assert out.stat().st_mode & 0o777 == 0o755
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_new_folder_refuses_other_results_and_foreign_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _result(out, "{}")
    with pytest.raises(OutDirError, match=r"holds an optimisation; .*--overwrite"):
        _enter(_output.new_folder(out, "optimisation"))
    with pytest.raises(OutDirError, match=r"holds an optimisation, not a set of payout"):
        _enter(_output.new_folder(out, "set of payout statements"))
    with pytest.raises(OutDirError, match=r"holds an optimisation of a.yaml; "):
        _enter(
            _output.new_folder(out, "optimisation", other_run=lambda _: "an optimisation of a.yaml")
        )
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(OutDirError, match="not incentsim results"):
        _enter(_output.new_folder(mine, "optimisation", overwrite=True))
    assert (mine / "notes.txt").read_text() == "keep me"


def test_what_a_killed_writer_left_is_cleared(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _result(out, "complete")
    (tmp_path / ".out.partial-abc").mkdir()  # killed while writing its staging folder
    parked = tmp_path / ".x.old-abc"  # killed between the two renames of a swap
    _result(parked / "previous", "previous")
    with _output.folder_lock(out), _output.folder_lock(tmp_path / "x"):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "x"]
    assert (tmp_path / "x" / "optimization.json").read_text() == "previous"


def test_check_kind_names_both_kinds(tmp_path: Path) -> None:
    (tmp_path / "experiment.json").write_text("{}")
    with pytest.raises(OutDirError, match="holds an experiment, not a Monte Carlo run"):
        _output.check_kind(tmp_path, "Monte Carlo run")
    assert _output.check_kind(tmp_path, "Monte Carlo run", overwrite=True)
    assert not _output.check_kind(tmp_path, "experiment")
    assert not _output.check_kind(tmp_path / "new", "experiment")
    with pytest.raises(OutDirError, match="is not a folder"):
        _output.check_kind(tmp_path / "experiment.json", "experiment")


def test_lock_files_stay_beside_the_folder(tmp_path: Path) -> None:
    assert _output.lock_path(tmp_path / "out") == tmp_path / ".out.lock"
    started = time.time()
    with _output.folder_lock(tmp_path / "a" / "b"):
        assert (tmp_path / "a" / ".b.lock").stat().st_mtime >= started - 1
        assert not (tmp_path / "a" / "b").exists()  # the lock does not create the folder
