"""Trajectories in long format: what `incentsim run` writes for a BI tool."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from incentsim.cli import main
from incentsim.montecarlo import MonteCarloResult

SMALL = Path(__file__).resolve().parents[2] / "scenarios" / "small.yaml"


def test_run_writes_long_trajectories_with_fiscal_periods(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    fiscal = [
        "--set",
        "calendar.start_date=2027-02-01",
        "--set",
        "calendar.fiscal_year_start=2",
        "--set",
        "calendar.period_pattern=months",
    ]
    argv = ["run", str(SMALL), "--reps", "3", "--seed", "4", "--out", str(out), *fiscal]
    assert main([*argv, "--set", "population.partners=40", "--no-progress"]) == 0
    capsys.readouterr()
    result = MonteCarloResult.open(out)
    periods = result.scenario.calendar.horizon_periods

    long = pd.read_csv(out / "trajectories_long.csv")
    pd.testing.assert_frame_equal(
        long, pd.read_parquet(out / "trajectories_long.parquet").astype({"start": str, "end": str})
    )
    lengths = {n: b.n_periods for n, b in result.summary.trajectories.items()}
    assert len(long) == 3 * sum(lengths.values())
    reserve = long[long["trajectory"] == "reserve"]
    quarters = ["FY28 Q1", "FY28 Q2", "FY28 Q3", "FY28 Q4"]
    assert reserve["fiscal_period"].unique().tolist() == quarters
    ends = ["2027-04-30", "2027-07-31", "2027-10-31", "2028-01-31"]
    assert reserve["end"].unique().tolist() == ends
    assert reserve["unit"].iloc[0] == "money"
    matrix = reserve.pivot(index="replication", columns="number", values="value")
    assert np.array_equal(matrix.to_numpy(), result.trajectories("reserve").to_numpy())
    weekly = long[long["step"] == "week"]
    assert weekly["start"].iloc[1] == "2027-02-08"
    assert weekly["fiscal_period"].iloc[0] == "FY28 Q1"

    bands = pd.read_parquet(out / "trajectory_bands.parquet")
    assert len(bands) == sum(lengths.values())
    loyalty = bands[bands["trajectory"] == "loyalty_mean"]
    assert np.allclose(loyalty["p50"], result.summary.trajectories["loyalty_mean"].p50)
    assert loyalty["start"].iloc[0] == dt.date(2027, 2, 1)
    assert len(loyalty) == periods
    assert pd.read_csv(out / "trajectory_bands.csv").shape == bands.shape
