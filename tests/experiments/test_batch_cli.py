"""``incentsim experiment`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from incentsim.cli import main

SCENARIOS = Path(__file__).parents[2] / "scenarios"
EXPERIMENT = f"""\
name: cli
base: {SCENARIOS / "small.yaml"}
set: {{population.partners: 40, calendar.horizon_periods: 2}}
shocks: [surge:moderate]
replications: 3
"""


def test_experiment_runs_refuses_a_used_folder_and_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    experiment = tmp_path / "cli.yaml"
    experiment.write_text(EXPERIMENT)
    out = tmp_path / "out"
    assert main(["experiment", str(experiment), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "Experiment 'cli': 1 variants x 2 shock cases x 1 seeds = 2 runs" in captured.out
    assert "run 2/2 complete: base | surge:moderate | seed 20261123" in captured.err
    assert json.loads((out / "experiment.json").read_text())["status"] == "complete"
    assert (out / "results" / "summary.csv").is_file()
    assert "Experiment &#39;cli&#39;" in (out / "report.html").read_text()
    other = tmp_path / "other.yaml"
    other.write_text(EXPERIMENT.replace("name: cli", "name: other"))
    assert main(["experiment", str(other), "--out", str(out)]) == 2
    assert f"error: {out} holds a different experiment (experiment 'cli', settings" in (
        capsys.readouterr().err
    )
    assert main(["experiment", str(experiment), "--out", str(out), "--resume"]) == 0
    assert "resuming: 2 of 2 runs already complete" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            EXPERIMENT + "analyses: [simulate, sensitivty]\n",
            "cli.yaml: analyses.1: Input should be",
        ),
        (
            EXPERIMENT.replace("surge:moderate", "flood"),
            "cli.yaml: shocks.0: unknown shock 'flood'",
        ),
        (EXPERIMENT + "variants: {a: {file: nowhere.yaml}}\n", "cli.yaml: variants.a.file: cannot"),
        (EXPERIMENT.replace("name: cli\n", ""), "cli.yaml: name: missing"),
        (
            EXPERIMENT + "analyses: [sensitivity]\nsensitivity: {factors: {x: {path: a.b}}}\n",
            "cli.yaml: sensitivity.factors.x.low: missing required key",
        ),
        (EXPERIMENT + "sensitivity: {method: sobol}\n", "cli.yaml: sensitivity: given, but"),
    ],
)
def test_bad_experiment_files_exit_2_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    experiment = tmp_path / "cli.yaml"
    experiment.write_text(text)
    assert main(["experiment", str(experiment), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_the_default_folder_stays_in_the_runs_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    experiment = tmp_path / "cli.yaml"
    # a name with a path in it; the unknown shock stops the experiment before anything runs
    experiment.write_text(
        EXPERIMENT.replace("name: cli", "name: ../../escaped").replace("surge:moderate", "flood")
    )
    assert main(["experiment", str(experiment)]) == 2
    err = capsys.readouterr().err
    assert f"experiment folder: {Path('runs') / 'escaped'}" in err
    assert "unknown shock 'flood'" in err


@pytest.mark.parametrize("manifest", ["{oops", "[1]"])
def test_resuming_from_an_unreadable_manifest_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], manifest: str
) -> None:
    experiment = tmp_path / "cli.yaml"
    experiment.write_text(EXPERIMENT)
    out = tmp_path / "out"
    out.mkdir()
    (out / "experiment.json").write_text(manifest)
    assert main(["experiment", str(experiment), "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert f"error: {out / 'experiment.json'} cannot be read (" in err
    assert "Traceback" not in err
