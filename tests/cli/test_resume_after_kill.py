"""Every verb that writes a run store, killed (SIGKILL) part-way and run again into the same
folder, gives exactly the numbers of a run never stopped: ``incentsim run``, ``sensitivity``
and ``experiment`` with ``--resume``, ``optimize`` through its candidate cache (the analyses
that take longest are marked slow)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml

from incentsim.cli import main
from incentsim.montecarlo import MonteCarloResult

ROOT = Path(__file__).parents[2]
SMALL = ROOT / "scenarios" / "small.yaml"
QUICK = ["--set", "population.partners=40", "--set", "calendar.horizon_periods=2"]


def killed_part_way(argv: list[str], started: Callable[[], bool]) -> None:
    """Run ``incentsim argv`` in a process of its own and SIGKILL it as soon as
    ``started()`` (some blocks are written); the kill must land before it finishes."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "incentsim", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    deadline = time.monotonic() + 120
    while process.poll() is None and not started():
        assert time.monotonic() < deadline, "no block was written"
        time.sleep(0.005)
    assert process.poll() is None, "finished before it could be killed: give it more work"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.stderr is not None
    process.stderr.close()


def count(folder: Path, pattern: str) -> int:
    return len(list(folder.glob(pattern)))


def test_a_killed_run_resumes_to_the_same_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", str(SMALL), *QUICK, "--reps", "150", "--no-progress"]
    assert main([*argv, "--out", str(tmp_path / "whole")]) == 0
    whole = capsys.readouterr().out
    out = tmp_path / "killed"
    killed_part_way(
        [*argv, "--out", str(out)], lambda: count(out, "replications/block-*.parquet") >= 2
    )
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"
    assert main([*argv, "--out", str(out), "--resume"]) == 0
    captured = capsys.readouterr()
    assert captured.out == whole
    assert "resumed: " in captured.err
    pd.testing.assert_frame_equal(
        MonteCarloResult.open(out).outcomes, MonteCarloResult.open(tmp_path / "whole").outcomes
    )


@pytest.mark.slow
def test_a_killed_sensitivity_analysis_resumes_to_the_same_numbers(tmp_path: Path) -> None:
    argv = [
        "sensitivity",
        str(SMALL),
        *QUICK,
        "--factors",
        "behaviour.churn_slope=2:8,market.trend_per_year=-0.05:0.15",
        "--trajectories",
        "6",
        "--reps",
        "2",
        "--outcomes",
        "incentive_cost,retention",
        "--no-progress",
    ]
    assert main([*argv, "--out", str(tmp_path / "whole")]) == 0
    out = tmp_path / "killed"
    killed_part_way([*argv, "--out", str(out)], lambda: count(out, "points/block-*.parquet") >= 1)
    assert main([*argv, "--out", str(out), "--resume"]) == 0
    for name in ("indices.csv", "points.csv", "noise.csv"):
        assert (out / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


EXPERIMENT = f"""\
name: killed
base: {SMALL}
set: [population.partners=40, calendar.horizon_periods=2]
variants:
  current: {{}}
  richer: {{set: {{program.tiers.gold.rebate_rate: 0.035}}}}
shocks: [recession:severe]
seeds: [5]
replications: 30
analyses: [simulate, compare]
"""


@pytest.mark.slow
def test_a_killed_experiment_resumes_to_the_same_numbers(tmp_path: Path) -> None:
    experiment = tmp_path / "killed.yaml"
    experiment.write_text(EXPERIMENT)
    argv = ["experiment", str(experiment), "--no-progress"]
    assert main([*argv, "--out", str(tmp_path / "whole")]) == 0
    out = tmp_path / "killed"
    killed_part_way(
        [*argv, "--out", str(out)], lambda: count(out, "runs/*/*/*/replications/block-*") >= 1
    )
    assert main([*argv, "--out", str(out), "--resume"]) == 0
    for name in ("outcomes.parquet", "summary.csv", "differences.csv"):
        found = (out / "results" / name).read_bytes()
        assert found == (tmp_path / "whole" / "results" / name).read_bytes(), name


#: Three segments x two designs, 50 replications (two blocks) each.
OPTIMISATION = {
    "scenario": str(ROOT / "scenarios" / "optimize_base.yaml"),
    "overrides": ["population.partners=30", "calendar.horizon_periods=2"],
    "levers": [{"path": "program.tiers.silver.rebate_rate", "values": [0.015, 0.03]}],
    "budget": 400_000,
    "replications": 50,
    "validation_replications": 4,
    "seed": 5,
}


def test_a_killed_optimisation_reuses_its_cache_to_the_same_numbers(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(yaml.safe_dump(OPTIMISATION))
    argv = ["optimize", str(spec), "--no-progress"]
    whole = tmp_path / "whole"
    assert main([*argv, "--out", str(whole), "--no-cache"]) == 0
    out, cache = tmp_path / "killed", tmp_path / "cache"
    killed_part_way(
        [*argv, "--out", str(out), "--cache", str(cache)],
        lambda: count(cache, "*/outcomes/block-*.parquet") >= 2,
    )
    kept = count(cache, "*/outcomes/block-*.parquet")
    assert main([*argv, "--out", str(out), "--cache", str(cache)]) == 0
    assert (out / "design.yaml").read_bytes() == (whole / "design.yaml").read_bytes()
    found, expected = (json.loads((f / "optimization.json").read_text()) for f in (out, whole))
    assert found["choice"] == expected["choice"]
    assert found["promised"] == expected["promised"]
    assert found["simulation"]["tasks_cached"] >= kept
