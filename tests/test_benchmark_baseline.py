"""The per-partner SimPy baseline of ``benchmarks/engine.py`` behaves as the engine does.

The benchmark compares the two on figures that are noisy (each draws its own closings); here
both close every week's pipeline at its mean, and churn and recruitment draw the same uniforms
(the baseline reads the engine's streams), so on a small case they must agree to the cent: every
timing game (deals deferred, pulled forward, stuffed), revenue, the last week's share of it,
and payouts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from incentsim.engine.simulation import Simulation, draw_partners_and_market
from incentsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _process_per_partner import ProcessPerPartner  # noqa: E402


class MeanClosings:
    """Stands in for both implementations' closing draws: every gamma draw at its mean."""

    @staticmethod
    def gammavariate(shape: float, scale: float) -> float:
        """Python's ``random.gammavariate`` (the baseline's), at its mean."""
        return shape * scale

    @staticmethod
    def standard_gamma(shape: np.ndarray) -> np.ndarray:
        """NumPy's ``Generator.standard_gamma`` (the engine's), at its mean."""
        return np.array(shape, dtype=np.float64)


@pytest.fixture(scope="module")
def both() -> tuple[ProcessPerPartner, dict[str, np.ndarray]]:
    """60 partners over 3 quarters, with recruits joining at random and partners churning (the
    baseline program without its co-sell bonus)."""
    scenario = load_scenario(
        ROOT / "scenarios" / "baseline.yaml",
        [
            "population.partners=60",
            "calendar.horizon_periods=3",
            "population.recruitment.per_period=3",
            "program.co_sell.rate=0",  # the per-partner baseline leaves co-selling out
        ],
    )
    seed = 4
    baseline = ProcessPerPartner(scenario, seed)
    baseline.closings_rng = MeanClosings()
    baseline.run()
    population_seed, market_seed, partner_seed = np.random.SeedSequence(seed).spawn(3)
    partners, market = draw_partners_and_market(scenario, population_seed, market_seed, 1)
    engine = Simulation(scenario, partners, market, np.random.default_rng(partner_seed))
    engine.closings_rng = MeanClosings()  # type: ignore[assignment]
    return baseline, engine.run().outcomes


def test_the_case_plays_every_timing_game_and_churns(
    both: tuple[ProcessPerPartner, dict[str, np.ndarray]],
) -> None:
    baseline, outcomes = both
    for key in ("deferred", "pulled_forward", "stuffed"):
        assert baseline.totals[key] > 1_000.0
    assert 0.0 < outcomes["retention"][0] < 1.0
    assert sum(baseline.joined) > sum(start == 0 for start in baseline.active_from)


def test_timing_games_revenue_and_payouts_agree_to_the_cent(
    both: tuple[ProcessPerPartner, dict[str, np.ndarray]],
) -> None:
    baseline, outcomes = both
    pairs = {
        "deferred": "deferred",
        "pulled_forward": "pulled_forward",
        "stuffed": "stuffed",
        "quick_deals": "quick_deals",
        "paid": "incentive_paid",
    }
    for key, engine_key in pairs.items():
        assert baseline.totals[key] == pytest.approx(outcomes[engine_key][0], rel=1e-9, abs=0.01)
    revenue = sum(baseline.revenue_per_period)
    assert revenue == pytest.approx(outcomes["revenue_gross"][0], rel=1e-9)
    # Deals moved in the period's earlier weeks count in its last week, as in the engine.
    last_week = baseline.totals["last_week"] / revenue
    assert last_week == pytest.approx(outcomes["last_week_share"][0], rel=1e-9)
    retained = sum(baseline.active[i] for i, start in enumerate(baseline.active_from) if start == 0)
    initial = sum(start == 0 for start in baseline.active_from)
    assert retained / initial == pytest.approx(outcomes["retention"][0], abs=1e-12)
