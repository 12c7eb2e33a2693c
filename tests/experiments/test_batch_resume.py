"""Killing ``incentsim experiment`` (SIGKILL) at random points and resuming gives exactly the
results of an uninterrupted run: nothing lost, nothing counted twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from incentsim.experiments.batch import run_experiment

SCENARIOS = Path(__file__).parents[2] / "scenarios"
SRC = Path(__file__).parents[2] / "src"

#: Variants x shock cases x seeds runs of 30 replications (two blocks each), then a Morris
#: analysis in chunks of 8 points: the steps a kill can fall between (or inside).
EXPERIMENT = """\
name: killed
base: {base}
set: [population.partners=40, calendar.horizon_periods=2]
variants:
  current: {{}}
  richer: {{set: {{program.tiers.gold.rebate_rate: 0.035}}}}
shocks: {shocks}
seeds: {seeds}
replications: 30
analyses: [simulate, sensitivity]
sensitivity:
  method: morris
  trajectories: {trajectories}
  reps: 2
  outcomes: [incentive_cost, loyalty_mean]
  factors:
    rates: {{path: program.tiers.*.rebate_rate, low: 0.5, high: 2, scale: true}}
    churn: {{path: behaviour.churn_slope, low: 2, high: 8}}
"""
#: 2 x 2 x 1 = 4 runs and 6 points (one chunk): 5 steps.
SHORT = {"shocks": "[recession:severe]", "seeds": "[5]", "trajectories": 2}
#: 2 x 3 x 2 = 12 runs and 12 points (two chunks): 14 steps.
LONG = {"shocks": "[recession:severe, competitor:severe]", "seeds": "[5, 6]", "trajectories": 4}


def steps(layout: dict[str, object]) -> int:
    runs = 2 * (1 + str(layout["shocks"]).count(":")) * (1 + str(layout["seeds"]).count(","))
    points = int(layout["trajectories"]) * 3
    return runs + -(-points // 8)


#: Files whose content records when or how long, not what: left out of the comparison.
TIMED = {"manifest.json", "experiment.json", "sensitivity.json", "report.html", "sensitivity.html"}


def progress(out: Path) -> int:
    """Finished runs plus finished sensitivity chunks, as a reader of the folder sees them."""
    done = 0
    for manifest in out.glob("runs/*/*/seed-*/manifest.json"):
        try:
            done += json.loads(manifest.read_text())["status"] == "complete"
        except (OSError, ValueError):
            continue
    return done + len(list(out.glob("sensitivity/points/block-*.parquet")))


def contents(out: Path) -> dict[str, bytes]:
    """Every result file (relative path -> bytes), without timestamps' files and temporaries."""
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name not in TIMED and not p.name.startswith(".")
    }


def launch(experiment: Path, out: Path, resume: bool) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "incentsim", "experiment", str(experiment), "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen(
        [*argv, *(["--resume"] if resume else [])],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


def kill_and_resume(experiment: Path, out: Path, total: int, kills: int, seed: int) -> int:
    """Start the experiment, SIGKILL it ``kills`` times at random points after some progress,
    resuming each time, then let it finish; returns how many kills landed mid-experiment."""
    rng = np.random.default_rng(seed)
    targets = np.sort(rng.choice(np.arange(1, total), size=kills, replace=False))
    landed = 0
    for i, target in enumerate(targets):
        process = launch(experiment, out, resume=i > 0)
        deadline = time.monotonic() + 120
        while process.poll() is None and progress(out) < target:
            assert time.monotonic() < deadline, "the experiment made no progress"
            time.sleep(0.01)
        time.sleep(float(rng.uniform(0.0, 0.3)))  # into the next run, or between two
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            landed += 1
        process.wait()
        assert process.returncode in (0, -signal.SIGKILL), process.stderr.read().decode()
        process.stderr.close()
    final = launch(experiment, out, resume=True)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    return landed


def write_experiment(folder: Path, layout: dict[str, object]) -> Path:
    path = folder / "killed.yaml"
    path.write_text(EXPERIMENT.format(base=SCENARIOS / "small.yaml", **layout))
    return path


def test_killed_at_random_points_and_resumed_gives_the_uninterrupted_results(
    tmp_path: Path,
) -> None:
    experiment = write_experiment(tmp_path, SHORT)
    reference = tmp_path / "uninterrupted"
    run_experiment(experiment, reference, log=False)
    resumed = tmp_path / "resumed"
    landed = kill_and_resume(experiment, resumed, steps(SHORT), kills=2, seed=1)
    assert landed >= 1
    assert json.loads((resumed / "experiment.json").read_text())["status"] == "complete"
    expected, found = contents(reference), contents(resumed)
    assert sorted(found) == sorted(expected)
    assert len(expected) > 4 * 6  # every run's blocks, the tables and the sensitivity files
    differing = [name for name in expected if found[name] != expected[name]]
    assert differing == []


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, 3])
def test_many_kills_on_a_longer_experiment(tmp_path: Path, seed: int) -> None:
    experiment = write_experiment(tmp_path, LONG)
    reference = tmp_path / "uninterrupted"
    run_experiment(experiment, reference, log=False)
    resumed = tmp_path / "resumed"
    assert kill_and_resume(experiment, resumed, steps(LONG), kills=6, seed=seed) >= 3
    assert contents(resumed) == contents(reference)
