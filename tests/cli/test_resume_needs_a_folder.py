"""``--resume`` continues what a folder holds, so every verb that takes it must know the
folder: ``run`` and ``sensitivity`` (whose default folders are new each time, named by the
time) refuse it without ``--out`` before anything runs, ``experiment`` continues its default
folder (named by the experiment), and the verbs that resume nothing refuse the option."""

from __future__ import annotations

from pathlib import Path

import pytest

from incentsim.cli import main

ROOT = Path(__file__).parents[2]
SMALL = ROOT / "scenarios" / "small.yaml"
QUICK = ["--set", "population.partners=20", "--set", "calendar.horizon_periods=2"]


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in an empty folder, so a default ``runs/`` folder would show."""
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    ("verb", "what"), [("run", "run"), ("sensitivity", "sensitivity analysis")]
)
def test_resume_without_out_is_refused_before_anything_runs(
    verb: str, what: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([verb, str(SMALL), *QUICK, "--resume", "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert f"error: --resume needs --out, the folder of the {what} to continue" in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""
    assert list(tmp_path.iterdir()) == []  # no new folder under runs/


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--out", "out", "--resume"], "--out, --resume are for the Monte Carlo"),
        (["--reps", "5"], "--reps is for the Monte Carlo"),
        (["--workers", "2", "--panel"], "--workers, --panel are for the Monte Carlo"),
        (["--html", "r.html", "--excel", "r.xlsx"], "--html, --excel are for the Monte Carlo"),
    ],
)
def test_monte_carlo_options_with_transactions_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], named: str
) -> None:
    argv = ["run", str(SMALL), *options, "--transactions", "history.csv"]
    assert main(argv) == 2
    message = capsys.readouterr().err
    assert "--transactions writes replication 0's history instead" in message
    assert named in message
    assert list(tmp_path.iterdir()) == []


def test_experiment_resume_without_out_continues_its_default_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    experiment = tmp_path / "tiny.yaml"
    experiment.write_text(
        f"name: tiny\nbase: {SMALL}\nset: [population.partners=20, calendar.horizon_periods=2]\n"
        "variants: {current: {}}\nreplications: 4\nanalyses: [simulate]\n"
    )
    argv = ["experiment", str(experiment)]
    assert main([*argv, "--no-progress"]) == 0
    capsys.readouterr()
    assert main([*argv, "--resume"]) == 0  # a line per run, no bar
    err = capsys.readouterr().err
    assert f"experiment folder: {Path('runs') / 'tiny'}" in err
    assert "resuming: 1 of 1 runs already complete" in err
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["tiny"]


@pytest.mark.parametrize(
    "argv",
    [
        ["optimize", "spec.yaml"],  # continues its candidate cache without being asked
        ["compare", "a.yaml", "b.yaml"],
        ["stress", "a.yaml"],
        ["calibrate", "a.yaml", "history.csv"],
        ["payout", "a.yaml", "history.csv"],
    ],
)
def test_verbs_that_resume_nothing_refuse_the_option(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--resume"]) == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --resume" in err
    assert "Traceback" not in err
