"""Parameter draws for ``run --draws``: read, checked, picked from the block's seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from incentsim.calibration.draws import DrawnBehaviour, read_draws
from incentsim.errors import IncentsimError
from incentsim.montecarlo.seeding import block_seeds


def test_read_draws_and_pick_is_reproducible(tmp_path: Path) -> None:
    path = tmp_path / "draws.csv"
    path.write_text("draw,churn_base\n0,0.01\n1,0.02\n2,0.03\n")
    draws = read_draws(path)
    assert draws == ({"churn_base": 0.01}, {"churn_base": 0.02}, {"churn_base": 0.03})
    drawn = DrawnBehaviour(draws)
    seeds = [b.seed for b in block_seeds(7, 250)]
    picks = [drawn.pick(s) for s in seeds]
    assert picks == [drawn.pick(s) for s in [b.seed for b in block_seeds(7, 250)]]
    assert len(set(picks)) > 1
    # picking does not touch the stream the engine spawns from
    seed = block_seeds(7, 25)[0].seed
    drawn.pick(seed)
    assert seed.n_children_spawned == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("draw,not_a_constant\n0,1\n", "'not_a_constant' is not a behaviour constant"),
        ("draw,churn_base\n", "no draws"),
        ("draw,churn_base\n0,0.01\n1,7\n", "line 3, column 'churn_base'"),
    ],
)
def test_bad_draws_files_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "draws.csv"
    path.write_text(text)
    with pytest.raises(IncentsimError, match=message):
        read_draws(path)


def test_missing_draws_file(tmp_path: Path) -> None:
    with pytest.raises(IncentsimError, match="cannot read the draws file"):
        read_draws(tmp_path / "none.csv")


def test_draws_change_the_blocks_that_use_them() -> None:
    import incentsim
    from incentsim.montecarlo import run_montecarlo

    root = Path(__file__).resolve().parents[2] / "scenarios"
    scenario = incentsim.load_scenario(root / "small.yaml", ["population.partners=40"])
    plain = run_montecarlo(scenario, reps=25, progress=False)
    drawn = run_montecarlo(
        scenario, reps=25, progress=False, block_fn=DrawnBehaviour(({"churn_base": 0.3},))
    )
    assert not np.allclose(plain.outcomes["revenue_gross"], drawn.outcomes["revenue_gross"])
