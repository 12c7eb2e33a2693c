"""Fast deterministic stand-ins for the engine's ``simulate_block``, importable by workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from incentsim.scenario.model import Scenario

TIERS = ("unqualified", "silver", "gold")
PARTNERS = 3


@dataclass(frozen=True)
class FakeBlockResult:
    outcomes: dict[str, np.ndarray]
    trajectories: dict[str, np.ndarray]
    panel: pd.DataFrame | None = None
    events: list[dict[str, Any]] = field(default_factory=list)


def tiny_scenario(name: str = "fake", **changes: Any) -> Scenario:
    """A valid scenario with a budget; the fakes only read its calendar."""
    data: dict[str, Any] = {
        "name": name,
        "seed": 12345,
        "replications": 23,
        "calendar": {"horizon_periods": 4},
        "population": {"segments": {"a": {"share": 1.0}}},
        "program": {
            "tiers": {"silver": {}},
            "budget": {"per_period": 250_000.0, "reserve": {"initial": 50_000.0}},
        },
    }
    data.update(changes)
    return Scenario.model_validate(data)


def fake_block(
    scenario: Scenario, seed: np.random.SeedSequence, reps: int, panel: bool = False
) -> FakeBlockResult:
    """Outcomes, trajectories, panel and events drawn from the block's seed only."""
    rng = np.random.default_rng(seed)
    periods = scenario.calendar.horizon_periods
    cost = rng.normal(1_000_000.0, 80_000.0, reps)
    revenue = rng.normal(20_000_000.0, 1_500_000.0, reps)
    raw = rng.dirichlet(np.ones(len(TIERS)), size=(reps, periods))
    trajectories = {
        "reserve": 50_000.0 + rng.normal(0.0, 10_000.0, (reps, periods)).cumsum(axis=1),
        "loyalty_mean": rng.uniform(0.3, 0.7, (reps, periods)),
        **{f"tier_share/{tier}": raw[:, :, t] for t, tier in enumerate(TIERS)},
        "weekly_revenue": rng.gamma(2.0, 1000.0, (reps, periods * 13)),
    }
    outcomes = {
        "revenue_gross": revenue,
        "incentive_cost": cost,
        "cost_to_revenue": cost / revenue,
        "budget_exceeded": (cost > 1_000_000.0).astype(np.float64),
        "retention": rng.uniform(0.8, 1.0, reps),
    }
    frame = None
    if panel:
        rep, partner, period = np.meshgrid(
            np.arange(reps), np.arange(PARTNERS), np.arange(periods), indexing="ij"
        )
        frame = pd.DataFrame(
            {
                "rep": rep.ravel(),
                "partner_id": partner.ravel(),
                "period": period.ravel(),
                "revenue": rng.gamma(2.0, 500.0, rep.size),
            }
        )
    events = [
        {"event": "payout_run", "period": p, "reps": list(range(reps))} for p in range(periods)
    ]
    events.append({"event": "shock_start", "week": 3.0, "rep": reps - 1})
    return FakeBlockResult(outcomes, trajectories, frame, events)


def failing_block(
    scenario: Scenario, seed: np.random.SeedSequence, reps: int, panel: bool = False
) -> FakeBlockResult:
    """Fails in the block whose spawn key ends with 1."""
    if seed.spawn_key[-1] == 1:
        raise ValueError("demand curve went negative in the fake")
    return fake_block(scenario, seed, reps, panel)


def spawning_block(
    scenario: Scenario, seed: np.random.SeedSequence, reps: int, panel: bool = False
) -> FakeBlockResult:
    """Spawns from its seed, as the engine does (which counts children on the object)."""
    return fake_block(scenario, seed.spawn(1)[0], reps, panel)


def checking_block(
    scenario: Scenario,
    seed: np.random.SeedSequence,
    reps: int,
    panel: bool = False,
    *,
    out_dir: Path,
    seen: list[list[str]],
) -> FakeBlockResult:
    """Records which block files are on disk when each block starts (serial runs only)."""
    seen.append(sorted(p.name for p in (out_dir / "replications").glob("block-*.parquet")))
    return fake_block(scenario, seed, reps, panel)
