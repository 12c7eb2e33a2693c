"""``incentsim calibrate`` end to end: a simulated history in, a calibrated scenario out."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pandas as pd
import pytest

from incentsim.cli import main
from incentsim.scenario.loader import load_scenario

SMALL = Path(__file__).resolve().parents[2] / "scenarios" / "small.yaml"
SETS = ["--set", "population.partners=60", "--set", "population.recruitment.per_period=0"]
QUICK = ["--reps", "5", "--bootstrap", "30", "--no-progress"]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("history") / "history.csv"
    assert main(["run", str(SMALL), *SETS, "--transactions", str(path), "--no-progress"]) == 0
    return path


@pytest.fixture(scope="module")
def printed() -> dict[str, str]:
    return {}


class Terminal(io.StringIO):
    """A stderr that says it is a terminal, as a console running incentsim is."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def calibrated(history: Path, printed: dict[str, str]) -> Path:
    out = history.parent / "calibration"
    # on 2 workers: the hold-out check beside the calibration (tests/calibration/test_parallel.py
    # checks 1 and 2 give the same figures)
    args = ["calibrate", str(SMALL), str(history), "--out", str(out), "--holdout", "1"]
    args += ["--workers", "2"]
    text, err = io.StringIO(), Terminal()
    with contextlib.redirect_stdout(text), contextlib.redirect_stderr(err):
        assert main([*args, *SETS, *QUICK]) == 0
    printed["out"], printed["err"] = text.getvalue(), err.getvalue()
    return out


def test_writes_a_calibrated_scenario_that_validates(
    calibrated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = {p.name for p in calibrated.iterdir()}
    assert names == {
        "calibrated.yaml",
        "partners.csv",
        "draws.csv",
        "moments.csv",
        "constants.csv",
        "estimates.csv",
        "backtest.csv",
        "holdout.csv",
    }
    scenario = load_scenario(calibrated / "calibrated.yaml")
    assert scenario.calibration is not None
    assert scenario.calibration.data_hash.startswith("sha256:")
    assert scenario.population.partners == len(pd.read_csv(calibrated / "partners.csv"))
    assert set(scenario.calibration.constants) >= {"churn_base", "timing_friction"}
    assert "effort_elasticity" in scenario.calibration.not_identified
    assert set(scenario.calibration.holdout) >= {
        "period_end_share",
        "revenue:reseller",
        "program_cost",
    }
    record = scenario.calibration
    # every figure per segment is listed, identified or not, with its reason
    win = record.estimates["win_rate:segment:reseller"]
    assert not win.identified
    assert "opportunities lost" in win.reason
    assert {"trend_per_year", "mdf_take_up", "deal_cycle_weeks:segment:reseller"} <= set(
        record.estimates
    )
    # the back-test: the old program's cost replayed by the payout rules, against simulation
    total = record.backtest["total"]
    assert total.cost > 0
    assert total.cost_low <= total.cost_predicted <= total.cost_high
    assert total.cost == pytest.approx(total.cost_predicted, rel=0.25)
    backtest = pd.read_csv(calibrated / "backtest.csv", index_col="period")
    assert backtest.loc["total", "cost"] == pytest.approx(total.cost)
    capsys.readouterr()
    assert main(["validate", str(calibrated / "calibrated.yaml")]) == 0
    assert "calibrated to" in capsys.readouterr().out


def test_prints_the_figures_for_people(calibrated: Path, printed: dict[str, str]) -> None:
    text = printed["out"]
    assert "Back-test" in text
    assert "USD " in text  # money as money
    assert "%" in text  # shares as percentages
    assert "not identified" in text
    assert "opportunities lost" in text
    assert "program_cost" in text


def test_no_progress_shows_no_bar_even_on_a_terminal(
    calibrated: Path, printed: dict[str, str]
) -> None:
    assert printed["err"] == ""


def test_a_terminal_shows_a_bar_counting_the_simulations(history: Path, tmp_path: Path) -> None:
    # the history's first two quarters: what is counted does not need four
    rows = pd.read_csv(history)
    second_end = load_scenario(SMALL).calendar.period_bounds(1)[1]
    short = tmp_path / "short.csv"
    rows[pd.to_datetime(rows["date"]) <= pd.Timestamp(second_end)].to_csv(short, index=False)
    args = ["calibrate", str(SMALL), str(short), "--out", str(tmp_path / "out"), *SETS]
    text, err = io.StringIO(), Terminal()
    with contextlib.redirect_stdout(text), contextlib.redirect_stderr(err):
        assert main([*args, "--reps", "2", "--bootstrap", "10", "--holdout", "0"]) == 0
    searched = re.search(r"(\d+) simulations\n", text.getvalue())
    shown = re.search(
        r"calibrate: (\d+)simulation \[[^,]*, [^,]*, (.*)\]$", err.getvalue().split("\r")[-1]
    )
    assert searched is not None
    assert shown is not None
    # the search's simulations, then the moments' spread and a simulated history
    assert int(shown.group(1)) == int(searched.group(1)) + 2
    assert shown.group(2).startswith("deal sizes, trend and seasonality")


def test_run_with_draws_is_reproducible_whatever_the_workers(
    calibrated: Path, tmp_path: Path
) -> None:
    from incentsim.montecarlo import MonteCarloResult

    outcomes = []
    for workers in ("1", "2"):
        out = tmp_path / f"run{workers}"
        args = ["run", str(calibrated / "calibrated.yaml"), "--reps", "50", "--out", str(out)]
        assert main([*args, "--draws", str(calibrated / "draws.csv"), "--workers", workers]) == 0
        outcomes.append(MonteCarloResult.open(out).outcomes)
    pd.testing.assert_frame_equal(outcomes[0], outcomes[1])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("partner_id,date,amount,segment,region\nP1,2027-01-05,abc,reseller,emea\n", "amount"),
        ("x,y\n1,2\n", "missing required column 'partner_id'"),
        (None, "file not found"),
    ],
)
def test_bad_history_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    history = tmp_path / "bad.csv"
    if content is not None:
        history.write_text(content)
    out = tmp_path / "out"
    assert main(["calibrate", str(SMALL), str(history), "--out", str(out), *QUICK]) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err
    assert message in err
    assert not out.exists()


def test_history_without_first_period_partners(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = tmp_path / "late.csv"
    history.write_text("partner_id,date,amount,segment,region\nP1,2027-06-01,100,reseller,emea\n")
    out = tmp_path / "out"
    assert main(["calibrate", str(SMALL), str(history), "--out", str(out), *QUICK]) == 2
    assert "first period" in capsys.readouterr().err
    assert not out.exists()


def test_compare_and_stress_take_the_draws(
    calibrated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario, draws = str(calibrated / "calibrated.yaml"), str(calibrated / "draws.csv")
    change = ["--set", "program.tiers.gold.rebate_rate=0.035"]
    args = ["compare", scenario, scenario, "--reps", "25", "--draws", draws, "--no-progress"]
    assert main([*args, *change]) == 0
    args = ["stress", scenario, "--shocks", "recession:mild", "--reps", "25", "--draws", draws]
    assert main([*args, "--no-progress"]) == 0
    capsys.readouterr()
    bad = calibrated.parent / "bad_draws.csv"
    bad.write_text("draw,colour\n0,1\n")
    assert main(["compare", scenario, scenario, "--reps", "25", "--draws", str(bad)]) == 2
    assert "'colour' is not a behaviour constant" in capsys.readouterr().err
