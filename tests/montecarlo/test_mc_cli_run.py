"""``incentsim run``, with the fake engine in place of the real one."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
import yaml
from mc_fakes import fake_block, tiny_scenario

from incentsim.cli import main
from incentsim.cli._common import default_out_dir, executor_kind
from incentsim.errors import DataError
from incentsim.montecarlo import runner


@pytest.fixture
def scenario_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(runner, "default_block_fn", lambda: fake_block)
    path = tmp_path / "fake.yaml"
    path.write_text(yaml.safe_dump(tiny_scenario().model_dump(mode="json")))
    return path


def test_run_prints_the_summary_and_writes_the_folder(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["run", str(scenario_file), "--out", str(out), "--reps", "30", "--seed", "4"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == "fake: 30 replications, seed 4, block size 25"
    assert "incentive_cost (USD)" in captured.out
    assert f"run folder: {out}" in captured.err
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["status"], manifest["replications"], manifest["blocks"]) == ("complete", 30, 2)


def test_set_overrides_and_panel(scenario_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = ["run", str(scenario_file), "--out", str(out), "--set", "replications=3", "--panel"]
    assert main(argv) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["replications"] == 3
    assert (out / "panel" / "block-00000.parquet").is_file()


def test_refuses_a_folder_holding_another_run(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "out")
    assert main(["run", str(scenario_file), "--out", out, "--reps", "5"]) == 0
    assert main(["run", str(scenario_file), "--out", out, "--reps", "5"]) == 0  # same run
    capsys.readouterr()
    assert main(["run", str(scenario_file), "--out", out, "--reps", "6"]) == 2
    err = capsys.readouterr().err
    assert f"error: {out} holds a different run (scenario 'fake', replications 5, not 6)" in err
    assert "--overwrite" in err
    assert main(["run", str(scenario_file), "--out", out, "--reps", "6", "--overwrite"]) == 0


def test_refuses_a_folder_holding_another_kind_of_result(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "experiment"
    (out / "results").mkdir(parents=True)
    (out / "experiment.json").write_text("{}")
    argv = ["run", str(scenario_file), "--out", str(out), "--reps", "2"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"error: {out} holds an experiment, not a Monte Carlo run;" in err
    assert "--overwrite" in err
    assert sorted(p.name for p in out.iterdir()) == ["experiment.json", "results"]
    assert main([*argv, "--overwrite"]) == 0
    assert not (out / "experiment.json").exists()
    assert (out / "manifest.json").is_file()


def test_run_files_get_the_umasks_permissions(scenario_file: Path, tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        assert main(["run", str(scenario_file), "--out", str(tmp_path / "out"), "--reps", "2"]) == 0
    finally:
        os.umask(previous)
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert files
    assert {p.stat().st_mode & 0o777 for p in files} == {0o644}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake.yaml", "out"]  # lock removed


def test_resume_continues_a_stopped_run(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["run", str(scenario_file), "--out", str(out), "--reps", "60", "--no-progress"]
    assert main(argv) == 0
    whole = capsys.readouterr().out
    (out / "events" / "block-00002.jsonl").unlink()  # the last block never finished
    (out / "summary.json").unlink()
    assert main([*argv, "--resume"]) == 0
    captured = capsys.readouterr()
    assert captured.out == whole
    assert f"resumed: 2 of 3 blocks were already in {out}" in captured.err
    assert main([*argv, "--resume", "--overwrite"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_default_folder_under_runs(
    scenario_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(scenario_file), "--reps", "2"]) == 0
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.startswith("fake-")
    assert f"run folder: runs/{folder.name}" in capsys.readouterr().err
    when = dt.datetime(2027, 1, 4, 9, 30, 0)
    assert default_out_dir("my scenario/v2", when) == Path("runs/my-scenario-v2-20270104-093000")
    (tmp_path / "runs" / "x-20270104-093000").mkdir()
    assert default_out_dir("x", when) == Path("runs/x-20270104-093000-2")


def test_executor_choice() -> None:
    assert executor_kind(None, 1, None) == "serial"
    assert executor_kind(None, 4, None) == "processes"
    assert executor_kind("serial", 4, None) == "serial"
    assert executor_kind(None, 1, "tcp://h:8786") == "dask"


def test_usage_errors(scenario_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(scenario_file), "--workers", "0"]) == 2
    assert "must be at least 1" in capsys.readouterr().err
    assert main(["run", str(scenario_file), "--reps", "0"]) == 2
    assert "--reps: must be at least 1, not 0" in capsys.readouterr().err
    argv = ["run", str(scenario_file), "--executor", "processes", "--scheduler", "tcp://h:1"]
    assert main(argv) == 2
    assert "--scheduler needs the dask executor" in capsys.readouterr().err


def test_an_unusable_out_folder_exits_2(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["run", str(scenario_file), "--out", str(blocker / "run"), "--reps", "2"]) == 2
    err = capsys.readouterr().err
    assert f"error: cannot use {blocker / 'run'} as an output folder" in err
    assert "Traceback" not in err


def test_user_errors_inside_a_block_exit_2(
    scenario_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def bad_data(*args: object, **kwargs: object) -> None:
        raise DataError("partners.csv", [(4, "unknown segment 'x'")])

    monkeypatch.setattr(runner, "default_block_fn", lambda: bad_data)
    assert main(["run", str(scenario_file), "--out", str(tmp_path / "o"), "--reps", "2"]) == 2
    err = capsys.readouterr().err
    assert "error: block 0 (replications 0-1) failed: DataError: partners.csv:4: unknown" in err
