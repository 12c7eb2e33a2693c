"""Capacity of real partners found by simulation from their own history."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from incentsim.engine.simulation import simulate_block
from incentsim.montecarlo.capacity import calibrate_capacity
from incentsim.montecarlo.history import partner_table, simulate_history
from incentsim.montecarlo.seeding import block_seeds
from incentsim.scenario.loader import load_scenario

SMALL = Path(__file__).resolve().parents[2] / "scenarios" / "small.yaml"
SETS = ["population.recruitment.per_period=0"]


def _resimulated(path: Path, n: int) -> pd.Series:
    scenario = load_scenario(
        SMALL, [*SETS, f"population.source={path}", f"population.partners={n}"]
    )
    panel = simulate_block(scenario, block_seeds(99, 25)[0].seed, 25, panel=True).panel
    assert panel is not None
    return panel.groupby("partner_id")["revenue"].sum() / 25


def test_a_population_resimulated_from_its_own_history_reproduces_it(tmp_path: Path) -> None:
    drawn = load_scenario(SMALL, SETS)
    history = simulate_history(drawn, seed=4)
    table = partner_table(history.transactions, drawn.calendar)
    table.to_csv(tmp_path / "partners.csv", index=False)
    booked = history.revenue.sum(axis=1)
    booked = booked[booked > 0]

    def median_error(path: Path) -> float:
        resim = _resimulated(path, len(table)).reindex(booked.index)
        return float((resim / booked - 1.0).median())

    assert median_error(tmp_path / "partners.csv") > 0.08  # mean / 13 / 0.5 over-predicts
    real = load_scenario(
        SMALL, [*SETS, f"population.source={tmp_path / 'partners.csv'}", "population.partners=150"]
    )
    fitted = calibrate_capacity(real)
    assert fitted["capacity"].notna().all()
    assert (fitted.drop(columns="capacity").fillna(-1) == table.fillna(-1)).all().all()
    fitted.to_csv(tmp_path / "fitted.csv", index=False)
    assert abs(median_error(tmp_path / "fitted.csv")) < 0.05


def test_a_capacity_the_file_gives_is_kept(tmp_path: Path) -> None:
    drawn = load_scenario(SMALL, SETS)
    table = partner_table(simulate_history(drawn, seed=4).transactions, drawn.calendar)
    table["capacity"] = np.where(np.arange(len(table)) % 2 == 0, 1234.0, np.nan)
    table.to_csv(tmp_path / "partners.csv", index=False)
    real = load_scenario(
        SMALL, [*SETS, f"population.source={tmp_path / 'partners.csv'}", "population.partners=150"]
    )
    fitted = calibrate_capacity(real, rounds=1)
    assert (fitted["capacity"].to_numpy()[::2] == 1234.0).all()
    assert not (fitted["capacity"].to_numpy()[1::2] == 1234.0).any()


def test_needs_a_partner_file_with_revenue() -> None:
    with pytest.raises(ValueError, match=r"population\.source"):
        calibrate_capacity(load_scenario(SMALL))
