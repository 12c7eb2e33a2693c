"""``incentsim optimize`` end to end: its design runs with ``incentsim run``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from test_opt_pipeline import TINY

from incentsim.cli import main


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


def test_optimize_then_run_the_design(
    spec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "optimize",
            str(spec_file),
            "--out",
            str(out),
            "--no-progress",
            "--cache",
            str(tmp_path / "cache"),
            "--alpha",
            "0.25",
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "Chosen design" in printed.out
    assert "Validation" in printed.out
    summary = json.loads((out / "optimization.json").read_text())
    assert summary["solver"]["status"] == "optimal"
    assert summary["settings"]["alpha"] == 0.25
    assert set(summary["choice"]) == {"reseller", "system_integrator", "technology_partner"}
    page = (out / "report.html").read_text()
    assert "Promised against realised" in page
    assert "HiGHS: optimal" in page
    assert (out / "report_tables" / "candidates.csv").is_file()
    code = main(
        [
            "run",
            str(out / "design.yaml"),
            "--reps",
            "2",
            "--out",
            str(tmp_path / "run"),
            "--no-progress",
        ]
    )
    assert code == 0
    assert "incentive_cost" in capsys.readouterr().out


def test_infeasible_budget_exits_1_with_the_diagnosis(
    spec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "optimize",
            str(spec_file),
            "--budget",
            "1000",
            "--out",
            str(tmp_path / "o"),
            "--no-progress",
            "--cache",
            str(tmp_path / "cache"),
        ]
    )
    assert code == 1
    assert "smallest budget at which every other constraint can be met" in capsys.readouterr().out


def test_bad_file_exits_2_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**TINY, "risk": "var"}))
    assert main(["optimize", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: risk:" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("budget", ["inf", "-5", "lots"])
def test_a_bad_budget_option_exits_2(
    budget: str, spec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["optimize", str(spec_file), "--budget", budget, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--budget" in err
    assert "Traceback" not in err


def _optimize(spec: Path, out: Path, cache: Path, *more: str) -> int:
    argv = ["optimize", str(spec), "--out", str(out), "--no-progress", "--cache", str(cache)]
    return main([*argv, *more])


def test_an_infeasible_rerun_leaves_no_previous_design(
    spec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    previous = os.umask(0o022)
    try:
        assert _optimize(spec_file, out, cache) == 0
    finally:
        os.umask(previous)
    assert {p.stat().st_mode & 0o777 for p in out.rglob("*") if p.is_file()} == {0o644}
    assert (out / "design.yaml").is_file()
    assert _optimize(spec_file, out, cache, "--budget", "1000") == 1
    assert not (out / "design.yaml").exists()
    assert not (out / "validation.csv").exists()
    assert json.loads((out / "optimization.json").read_text())["settings"]["budget"] == 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "out", "tiny.yaml"]


def test_a_folder_of_another_file_or_kind_needs_overwrite(
    spec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    other = tmp_path / "other.yaml"
    other.write_text(spec_file.read_text())
    assert _optimize(spec_file, out, cache) == 0
    capsys.readouterr()
    assert _optimize(other, out, cache) == 2
    err = capsys.readouterr().err
    assert f"error: {out} holds an optimisation of {spec_file};" in err
    assert "--overwrite" in err
    assert _optimize(other, out, cache, "--overwrite") == 0
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text("{}")
    capsys.readouterr()
    assert _optimize(spec_file, run, cache) == 2
    assert "holds a Monte Carlo run, not an optimisation" in capsys.readouterr().err


def test_a_cache_that_is_a_file_exits_2(
    spec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    cache.write_text("not a folder")
    assert _optimize(spec_file, tmp_path / "out", cache) == 2
    err = capsys.readouterr().err
    assert f"error: the candidate cache {cache} exists and is not a folder" in err
    assert not (tmp_path / "out").exists()


def test_frontier_option_traces_the_budgets(spec_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = _optimize(spec_file, out, tmp_path / "cache", "--frontier", "200000:600000:3")
    assert code == 0
    points = json.loads((out / "optimization.json").read_text())["frontier"]["points"]
    assert [p["budget"] for p in points] == [200_000, 400_000, 600_000]
    assert (out / "frontier.csv").is_file()
    assert "Trade-off frontier" in (out / "report.html").read_text()


def test_frontier_option_with_a_measure_sweeps_its_floor(spec_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = _optimize(spec_file, out, tmp_path / "cache", "--frontier", "fairness=0:0.2:3")
    assert code == 0
    saved = json.loads((out / "optimization.json").read_text())["frontier"]
    assert saved["measure"] == "fairness"
    assert [p["fairness_floor"] for p in saved["points"]] == [0.0, 0.1, 0.2]
    assert saved["points"][0]["status"] == "optimal"  # no floor: the file's problem
    assert "Expected cost against small-partner share" in (out / "report.html").read_text()


def test_frontier_measures_are_the_spec_s() -> None:
    from typing import get_args

    from incentsim.cli.optimize import FRONTIER_MEASURES
    from incentsim.optimizer.spec import FrontierSpec

    measures = get_args(FrontierSpec.model_fields["measure"].annotation)
    assert ("objective", *FRONTIER_MEASURES) == measures


@pytest.mark.parametrize(
    "value", ["5", "9:3", "1:2:1", "1:2:x", "loyalty=0.5:0.9", "retention=a:0.9"]
)
def test_a_bad_frontier_option_exits_2(
    value: str, spec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["optimize", str(spec_file), "--frontier", value, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--frontier" in err
    assert "Traceback" not in err


def test_draws_reach_the_candidates_and_the_validation(
    spec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    draws = tmp_path / "draws.csv"
    draws.write_text("draw,churn_base\n0,0.3\n")
    cache = tmp_path / "cache"
    assert _optimize(spec_file, tmp_path / "plain", cache, "--alpha", "0.25") == 0
    code = _optimize(spec_file, tmp_path / "drawn", cache, "--alpha", "0.25", "--draws", str(draws))
    assert code in (0, 1), capsys.readouterr().err
    plain = pd.read_csv(tmp_path / "plain" / "candidates.csv")
    drawn = pd.read_csv(tmp_path / "drawn" / "candidates.csv")
    assert list(plain["candidate"]) == list(drawn["candidate"])
    # a churn base ten times the default: every candidate keeps fewer partners
    assert (drawn["retention"] < plain["retention"] - 0.05).all()
    validation = pd.read_csv(tmp_path / "drawn" / "validation.csv").set_index("name")
    assert validation.loc["retention", "realised"] < 0.9


def test_draws_beside_a_robust_design_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "robust.yaml"
    path.write_text(yaml.safe_dump({**TINY, "robust": {"draws": 2}}))
    draws = tmp_path / "draws.csv"
    draws.write_text("draw,churn_base\n0,0.02\n")
    assert _optimize(path, tmp_path / "o", tmp_path / "cache", "--draws", str(draws)) == 2
    err = capsys.readouterr().err
    assert "robust" in err
    assert "--draws" in err
    assert "Traceback" not in err
