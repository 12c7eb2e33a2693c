"""``incentsim sensitivity`` end to end."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from incentsim.cli import main

SMALL = Path(__file__).parents[2] / "scenarios" / "small.yaml"
TINY = ["--set", "population.partners=40", "--set", "calendar.horizon_periods=2"]


def test_morris_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sens"
    factors = "program.tiers.*.rebate_rate=x0.5:2,market.trend_per_year=0:0.1,dummy"
    argv = [
        "sensitivity",
        str(SMALL),
        *TINY,
        "--factors",
        factors,
        "--trajectories",
        "2",
        "--reps",
        "2",
        "--outcomes",
        "incentive_cost",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "Morris sensitivity of 'small': 8 points x 2 replications" in printed
    indices = pd.read_csv(out / "indices.csv")
    top = indices.sort_values("rank").iloc[0]
    assert top["factor"] == "program.tiers.*.rebate_rate"
    assert top["mu_star"] > 0
    assert json.loads((out / "result.json").read_text())["reps"] == 2
    assert (out / "morris_incentive_cost.png").stat().st_size > 1000
    assert "<img" in (out / "sensitivity.html").read_text()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--factors", "behaviour.churn=1:2"],
            "error: factor 'behaviour.churn': 'behaviour.churn'",
        ),
        (["--factors", "behaviour.churn_slope=1:30"], "at 30 makes an invalid scenario"),
        (["--factors", "nope.yaml"], "nope.yaml: cannot read the file"),
        (["--method", "sobol", "--trajectories", "4"], "--trajectories is for --method morris"),
        (["--outcomes", "cost"], "unknown outcome 'cost'"),
        (["--seed", "-1"], "argument --seed: must be non-negative, not -1"),
        (["--out", str(SMALL)], f"error: {SMALL} exists and is not a folder"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    argv = ["sensitivity", str(SMALL), *TINY, "--reps", "2", "--out", str(tmp_path / "o"), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def _sensitivity(out: Path, factors: str, *more: str) -> int:
    argv = ["sensitivity", str(SMALL), *TINY, "--factors", factors, "--trajectories", "2"]
    argv += ["--reps", "2", "--outcomes", "retention", "--out", str(out), "--no-progress"]
    return main([*argv, *more])


def test_draws_carry_the_calibration_into_every_point(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    draws = tmp_path / "draws.csv"
    draws.write_text("draw,churn_base\n0,0.3\n")
    factors = "program.tiers.*.rebate_rate=x0.5:2,dummy"
    assert _sensitivity(tmp_path / "plain", factors) == 0
    assert _sensitivity(tmp_path / "drawn", factors, "--draws", str(draws)) == 0
    assert "drawn per block from a calibration" in capsys.readouterr().out
    plain = pd.read_csv(tmp_path / "plain" / "points.csv")
    drawn = pd.read_csv(tmp_path / "drawn" / "points.csv")
    # the same sample points, and a churn base ten times the default lowers retention at each
    assert plain["dummy"].equals(drawn["dummy"])
    assert (drawn["retention"] < plain["retention"] - 0.05).all()
    identity = json.loads((tmp_path / "drawn" / "result.json").read_text())
    assert identity["draws"]
    assert "draws" not in json.loads((tmp_path / "plain" / "result.json").read_text())
    # a folder analysed under other draws is not continued with these
    assert _sensitivity(tmp_path / "drawn", factors) == 2
    assert "holds a different sensitivity analysis" in capsys.readouterr().err


def test_a_factor_the_draws_set_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    draws = tmp_path / "draws.csv"
    draws.write_text("draw,churn_base\n0,0.02\n")
    code = _sensitivity(tmp_path / "s", "behaviour.churn_base=0.01:0.03", "--draws", str(draws))
    assert code == 2
    err = capsys.readouterr().err
    assert "factor 'behaviour.churn_base' varies a behaviour constant the calibration" in err
    assert "Traceback" not in err


def test_without_salib_the_message_says_what_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in sys.modules if n.split(".")[0] == "SALib"] + ["SALib"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if the extra were not installed
    out = tmp_path / "sens"
    argv = ["sensitivity", str(SMALL), *TINY, "--trajectories", "2", "--out", str(out)]
    assert main(argv) == 2
    message = capsys.readouterr().err
    assert "sensitivity analysis needs SALib" in message
    assert "pip install 'incentsim[sensitivity]'" in message
    assert "Traceback" not in message
    assert not out.exists() or not any(out.iterdir())
