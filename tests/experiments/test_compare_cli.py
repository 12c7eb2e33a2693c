"""``incentsim compare`` end to end on the small scenario."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_compare import SMALL, richer_rebates

from incentsim.cli import main


def test_compare_prints_verdicts_and_writes_runs_report_and_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["compare", str(SMALL), str(richer_rebates(tmp_path)), "--reps", "6", "--seed", "2"]
    assert main([*argv, "--out", str(out), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "Comparison of 2 variants over common random numbers: 6 replications, seed 2" in (
        captured.out
    )
    cost = next(line for line in captured.out.splitlines() if line.startswith("incentive_cost"))
    assert "higher (worse)" in cost
    assert f"report: {out / 'report.html'}" in captured.err
    assert (out / "small" / "manifest.json").is_file()
    assert (out / "richer" / "manifest.json").is_file()
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 4
    differences = pd.read_parquet(out / "report_tables" / "differences.parquet")
    row = differences.query("variant == 'richer' and outcome == 'incentive_cost'").iloc[0]
    assert row["ci_low"] > 0
    assert (out / "report_tables" / "means.csv").is_file()
    (out / "report_tables" / "stale.csv").write_text("from an earlier report")
    assert (
        main([*argv, "--out", str(out), "--no-progress", "--html", str(tmp_path / "r.html")]) == 0
    )
    assert not (out / "report.html").exists()  # the earlier report no longer sits beside the runs
    assert not (out / "report_tables").exists()
    assert (tmp_path / "r.html").is_file()


def test_compare_errors_exit_with_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(SMALL), "--reps", "2", "--no-progress"]) == 2
    assert "error: compare needs at least two scenarios" in capsys.readouterr().err
    assert main(["compare", str(SMALL), str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml" in capsys.readouterr().err
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    tiny = ["--set", "population.partners=40", "--set", "calendar.horizon_periods=2"]
    argv = ["compare", str(SMALL), str(SMALL), *tiny, "--reps", "2", "--no-progress"]
    assert main([*argv, "--html", str(blocker / "report.html")]) == 2
    err = capsys.readouterr().err
    assert f"error: cannot write the report {blocker / 'report.html'}" in err
    assert "Traceback" not in err


def test_compare_refuses_a_folder_of_another_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "optimised"
    out.mkdir()
    (out / "optimization.json").write_text("{}")
    argv = ["compare", str(SMALL), str(richer_rebates(tmp_path)), "--reps", "2", "--out", str(out)]
    assert main([*argv, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"error: {out} holds an optimisation, not a result of this command;" in err
    assert [p.name for p in out.iterdir()] == ["optimization.json"]


def test_variants_with_other_populations_or_calendars_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    richer = Path(__file__).parents[2] / "scenarios" / "variant_richer_rebates.yaml"
    assert main(["compare", str(SMALL), str(richer), "--reps", "2", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "must share the partner population and calendar" in err
    assert "calendar.horizon_periods 8 vs 4" in err
    assert "population.partners 1,000 vs 150" in err
    assert "--allow-different-populations" in err
    assert "Traceback" not in err


def test_allowed_different_populations_are_flagged_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bigger = tmp_path / "bigger.yaml"
    bigger.write_text(f"extends: {SMALL}\nname: bigger\npopulation:\n  partners: 160\n")
    out = tmp_path / "out"
    argv = ["compare", str(SMALL), str(bigger), "--reps", "2", "--no-progress", "--out", str(out)]
    assert main([*argv, "--allow-different-populations"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("Warning: the variants simulate different partner populations")
    assert "population.partners 160 vs 150" in first
    page = (out / "report.html").read_text()
    body = page[page.index("<body>") :]
    assert body.index("Warning: the variants simulate") < body.index("<h2")
