"""``incentsim optimize`` killed at random points: its folder is always one complete result.

Each kill (SIGKILL, so nothing is cleaned up) hits a re-run into the folder of the previous
result, with another budget (some infeasible). Afterwards the folder must be either the
complete previous result or the complete new one: every file present, all telling of the same
budget, a design that loads when the solver found one and no design when it did not.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from test_opt_pipeline import TINY

import incentsim
from incentsim.scenario.loader import load_scenario

#: Budgets the re-runs alternate between; 1,000 is infeasible (no design, exit 1).
BUDGETS = (400_000, 350_000, 1_000)


def _command(spec: Path, out: Path, cache: Path, budget: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "incentsim",
        "optimize",
        str(spec),
        "--out",
        str(out),
        "--cache",
        str(cache),
        "--budget",
        str(budget),
        "--no-progress",
    ]


def _env() -> dict[str, str]:
    source = str(Path(incentsim.__file__).parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}


def _complete_budget(out: Path) -> float:
    """The budget of the complete result in ``out``; fails if the folder is not one."""
    summary = json.loads((out / "optimization.json").read_text(encoding="utf-8"))
    budget = summary["settings"]["budget"]
    report = (out / "report.txt").read_text(encoding="utf-8")
    assert f"budget {budget:,.0f} over the horizon" in report
    assert "Optimisation" in (out / "report.html").read_text(encoding="utf-8")
    assert (out / "candidates.csv").is_file()
    assert (out / "report_tables" / "candidates.csv").is_file()
    if summary["choice"]:
        design = load_scenario(out / "design.yaml")
        assert design.program.budget.reserve.initial == pytest.approx(summary["reserve"])
        assert (out / "validation.csv").is_file()
    else:
        assert not (out / "design.yaml").exists(), "an infeasible result beside an old design"
        assert "no design" in report
    return budget


def _kill_repeatedly(tmp_path: Path, kills: int, seed: int) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(yaml.safe_dump(TINY))
    out, cache = tmp_path / "out", tmp_path / "cache"
    began = time.monotonic()
    first = subprocess.run(
        _command(spec, out, cache, BUDGETS[0]), env=_env(), capture_output=True, timeout=600
    )
    assert first.returncode == 0, first.stderr.decode()
    subprocess.run(  # a second complete run: the candidates now come from the cache
        _command(spec, out, cache, BUDGETS[0]), env=_env(), capture_output=True, timeout=600
    )
    duration = (time.monotonic() - began) / 2
    previous = _complete_budget(out)
    rng = random.Random(seed)
    for k in range(kills):
        budget = BUDGETS[(k + 1) % len(BUDGETS)]
        process = subprocess.Popen(
            _command(spec, out, cache, budget),
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 1.1) * duration)
        process.kill()
        process.wait()
        found = _complete_budget(out)
        assert found in (previous, budget), f"kill {k}: budget {found}, not {previous} or {budget}"
        previous = found
    last = subprocess.run(
        _command(spec, out, cache, BUDGETS[2]), env=_env(), capture_output=True, timeout=600
    )
    assert last.returncode == 1, last.stderr.decode()
    assert _complete_budget(out) == BUDGETS[2]
    # What killed writers left beside the folder (staging folders, lock files) is gone.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "out", "tiny.yaml"]


def test_a_killed_optimisation_leaves_one_complete_result(tmp_path: Path) -> None:
    _kill_repeatedly(tmp_path, kills=3, seed=1)


@pytest.mark.slow
def test_twenty_killed_optimisations_leave_one_complete_result(tmp_path: Path) -> None:
    _kill_repeatedly(tmp_path, kills=20, seed=2)
