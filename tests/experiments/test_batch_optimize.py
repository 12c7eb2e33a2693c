"""``optimize`` analyses inside experiment files, and ``incentsim experiment --overwrite``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from incentsim.cli import main
from incentsim.experiments.batch import plan_experiment, run_experiment

SCENARIOS = Path(__file__).parents[2] / "scenarios"

#: A tiny optimisation (the optimiser tests' TINY), as a file.
OPTIMISATION = {
    "scenario": str(SCENARIOS / "optimize_base.yaml"),
    "overrides": ["population.partners=30", "calendar.horizon_periods=2"],
    "levers": [
        {"path": "program.tiers.silver.rebate_rate", "values": [0.015, 0.03]},
        {"path": "program.partner_cap", "values": [20000, 60000]},
    ],
    "budget": 400_000,
    "alpha": 0.2,
    "risk": "cvar",
    "loyalty_value": 5000,
    "reserve": {"max": 300_000, "carrying_cost": 0.05},
    "replications": 10,
    "validation_replications": 10,
    "stability_resamples": 0,
    "seed": 5,
}

EXPERIMENT = f"""\
name: with-optimize
base: {SCENARIOS / "small.yaml"}
set: {{population.partners: 30, calendar.horizon_periods: 2}}
replications: 3
analyses: [simulate, optimize]
optimize:
  loose: {{file: opt.yaml}}
  tight: {{file: opt.yaml, set: {{budget: 280000}}, description: a tighter budget}}
  impossible: {{file: opt.yaml, set: {{budget: 150000}}}}
"""


def _files(tmp_path: Path, experiment: str = EXPERIMENT) -> Path:
    (tmp_path / "opt.yaml").write_text(yaml.safe_dump(OPTIMISATION))
    path = tmp_path / "exp.yaml"
    path.write_text(experiment)
    return path


def test_optimisations_run_with_the_experiment_and_their_settings_move_the_design(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _files(tmp_path)
    out = tmp_path / "out"
    assert main(["experiment", str(path), "--out", str(out), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "Optimisations (each folder under optimize/ holds its report):" in captured.out
    for name in ("loose", "tight"):
        folder = out / "optimize" / name
        assert (folder / "design.yaml").is_file()
        assert (folder / "report.txt").is_file()
    table = (out / "results" / "optimizations.csv").read_text()
    assert "loose" in table
    assert "tight" in table
    assert "a tighter budget" in table  # the description is shown
    loose = json.loads((out / "optimize" / "loose" / "optimization.json").read_text())
    tight = json.loads((out / "optimize" / "tight" / "optimization.json").read_text())
    assert loose["settings"]["budget"] == 400_000
    assert tight["settings"]["budget"] == 280_000  # the experiment's set: reached the file
    assert tight["promised"]["expected_cost"] < loose["promised"]["expected_cost"]
    report = (out / "report.html").read_text()
    assert "Optimisations" in report
    # An infeasible optimisation is listed as such, without a design, in words.
    assert "impossible: infeasible (gap n/a), objective no design; -" in captured.out
    assert "not validated" in report
    assert "nan" not in report.split("Optimisations")[-1]
    # Resuming keeps both (complete) optimisations and the tables come back the same.
    before = (out / "optimize" / "tight" / "optimization.json").stat().st_mtime_ns
    assert main(["experiment", str(path), "--out", str(out), "--resume", "--no-progress"]) == 0
    assert (out / "optimize" / "tight" / "optimization.json").stat().st_mtime_ns == before
    assert (out / "results" / "optimizations.csv").read_text() == table


def test_the_plan_hash_follows_the_optimisation_file(tmp_path: Path) -> None:
    path = _files(tmp_path)
    first = plan_experiment(path, tmp_path / "out").content_hash
    changed = dict(OPTIMISATION, alpha=0.25)
    (tmp_path / "opt.yaml").write_text(yaml.safe_dump(changed))
    assert plan_experiment(path, tmp_path / "out").content_hash != first


@pytest.mark.parametrize(
    ("experiment", "message"),
    [
        (
            EXPERIMENT.replace("file: opt.yaml}", "file: none.yaml}", 1),
            "exp.yaml: optimize.loose.file: cannot find 'none.yaml'",
        ),
        (
            EXPERIMENT.replace("budget: 280000", "budget: -5"),
            "exp.yaml: optimize.tight: ",
        ),
        (
            EXPERIMENT.replace("budget: 280000", "levers.0.path: program.nothing"),
            "exp.yaml: optimize.tight: ",
        ),
        (
            EXPERIMENT.replace("analyses: [simulate, optimize]", "analyses: [simulate]"),
            "exp.yaml: optimize: given, but 'optimize' is not in analyses",
        ),
        (
            EXPERIMENT.split("optimize:\n")[0],
            "exp.yaml: optimize: give at least one optimisation file",
        ),
        (
            EXPERIMENT.replace("{file: opt.yaml}", "{file: opt.yaml, budjet: 3}", 1),
            "exp.yaml: optimize.loose.budjet: unknown key",
        ),
    ],
)
def test_a_bad_optimisation_is_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], experiment: str, message: str
) -> None:
    path = _files(tmp_path, experiment)
    out = tmp_path / "out"
    assert main(["experiment", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not (out / "experiment.json").exists()


def test_overwrite_keeps_files_it_did_not_write_and_refuses_resume_with_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _files(tmp_path, EXPERIMENT.split("analyses:")[0])
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("from before")
    (out / "old").mkdir()
    assert main(["experiment", str(path), "--out", str(out), "--no-progress"]) == 0
    assert main(["experiment", str(path), "--out", str(out), "--overwrite", "--no-progress"]) == 0
    assert (out / "stale.txt").read_text() == "from before"  # not the experiment's to remove
    assert (out / "old").is_dir()
    assert json.loads((out / "experiment.json").read_text())["status"] == "complete"
    args = ["experiment", str(path), "--out", str(out), "--overwrite", "--resume"]
    assert main(args) == 2
    assert "not allowed with argument" in capsys.readouterr().err
    with pytest.raises(ValueError, match="give one"):
        run_experiment(path, out, resume=True, overwrite=True)
