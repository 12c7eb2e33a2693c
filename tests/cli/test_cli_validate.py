"""``incentsim validate``: every file checked, OK/FAIL lines, problems on stderr, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from incentsim.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
SMALL = SCENARIOS / "small.yaml"
MISSPELT = ROOT / "tests" / "scenario" / "malformed" / "misspelt_key.yaml"


def test_good_files_print_ok_with_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(SMALL), str(SCENARIOS / "shocks.yaml")]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0].startswith(f"OK  {SMALL}  (small: 150 partners in 3 segments")
    assert "4 tiers (registered/silver/gold/platinum)" in lines[0]
    assert "3 shocks" in lines[1]


def test_every_file_is_checked_after_a_bad_one(capsys: pytest.CaptureFixture[str]) -> None:
    missing = SCENARIOS / "missing.yaml"
    assert main(["validate", str(MISSPELT), str(missing), str(SMALL)]) == 2
    out, err = capsys.readouterr()
    failed, missed, good = out.splitlines()
    assert (failed, missed) == (f"FAIL  {MISSPELT}", f"FAIL  {missing}")
    assert good.startswith(f"OK  {SMALL}")
    assert "did you mean 'rebate_rate'?" in err
    assert "missing.yaml: cannot read the file" in err
    assert err.splitlines()[-1] == "2 of 3 files are invalid"


def test_overrides_apply_to_every_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(SMALL), "--set", "population.partners=40"]) == 0
    assert "40 partners" in capsys.readouterr().out
    assert main(["validate", str(SMALL), "--set", "program.tiers.gold.rebate_rate=7"]) == 2
    err = capsys.readouterr().err
    assert f"{SMALL}: program.tiers.gold.rebate_rate: Input should be less than or equal" in err


def test_program_files_are_recognised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bare = tmp_path / "bare.yaml"
    bare.write_text("tiers:\n  gold: {rebate_rate: 0.03, requirements: {revenue: 10}}\n")
    wrapped = tmp_path / "wrapped.yaml"
    wrapped.write_text("program:\n  currency: EUR\n  tiers:\n    gold: {rebate_rate: 0.03}\n")
    assert main(["validate", str(bare), str(wrapped)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"OK  {bare}  (program: 1 tiers (gold), USD)",
        f"OK  {wrapped}  (program: 1 tiers (gold), EUR)",
    ]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "incentsim", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_end_to_end_on_a_bundled_and_a_bad_scenario() -> None:
    good = run_cli("validate", "scenarios/baseline.yaml", "--set", "replications=10")
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("OK  scenarios/baseline.yaml  (baseline: 1000 partners")
    assert "10 replications" in good.stdout

    bad = run_cli("validate", "tests/scenario/malformed/misspelt_key.yaml")
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: tests/scenario/malformed/misspelt_key.yaml: ")
    assert "program.tiers.gold.rebat_rate: unknown key (did you mean 'rebate_rate'?)" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_every_bundled_yaml_file_validates(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(SCENARIOS.glob("*.yaml")) + sorted((ROOT / "experiments").glob("*.yaml"))
    assert main(["validate", *map(str, files)]) == 0
    out, _ = capsys.readouterr()
    assert "optimisation of optimize_base.yaml: 3 levers" in out
    assert "experiment rebate_variants:" in out


def test_optimisation_and_experiment_files_are_checked_deeply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    optimisation = tmp_path / "opt.yaml"
    optimisation.write_text(
        f"scenario: {SMALL}\nlevers:\n  - path: program.tiers.nosuch.rebate_rate\n"
        "    values: [0.1]\n",
        encoding="utf-8",
    )
    experiment = tmp_path / "exp.yaml"
    experiment.write_text(
        f"name: e\nbase: {SMALL}\nvariants: {{a: {{}}}}\nshocks: [recesion]\n", encoding="utf-8"
    )
    assert main(["validate", str(optimisation), str(experiment)]) == 2
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"FAIL  {optimisation}", f"FAIL  {experiment}"]
    assert "levers.0.path: 'program.tiers.nosuch' does not exist in the base program" in err
    assert "shocks.0" in err
    assert "recesion" in err
