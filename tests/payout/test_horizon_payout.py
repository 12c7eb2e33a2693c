"""Horizon components paid over real transactions are the simulation's own rule: statements over
a simulated history of ``scenarios/pacer.yaml`` pay each partner, in each period, the pacer
bonus and annual accelerator the simulation's rules engine paid it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from recorded_history import recorded_history

from incentsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]
PACER = ROOT / "scenarios" / "pacer.yaml"


def test_statements_over_a_history_pay_the_simulated_horizon_components(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = load_scenario(PACER, ["population.partners=120"])
    recorded = recorded_history(scenario, tmp_path, monkeypatch)
    periods = scenario.calendar.horizon_periods
    # Replication 0 of the block; partners by id, in the simulation's slot order.
    ids, slots, closes, statements = (
        recorded.ids,
        recorded.slots,
        recorded.closes,
        recorded.statements,
    )
    names = np.array([*scenario.program.tier_names, "unqualified"], dtype=object)
    compared = 0
    paid = {"pacers": 0, "accelerators": 0}
    for k, assessment in enumerate(closes):
        rows = statements[statements["period"] == k + 1].set_index("partner_id").loc[ids]
        at = [slots[pid] for pid in ids]
        tier = np.asarray(assessment.tier)[0, at]
        active = recorded.revenue[k + 1].to_numpy() > 0
        # Tiers also rest on new logos, which a history matches only in expectation: compare
        # where the payout run reached the simulated tier and nothing was capped differently.
        same = active & (rows["tier"].to_numpy() == names[tier])
        for name in ("pacers", "accelerators"):
            simulated = np.asarray(assessment.components[name])[0, at] / 100.0
            got = rows[name].to_numpy(dtype=float)
            np.testing.assert_allclose(got[same], simulated[same], rtol=0, atol=0.011)
            paid[name] += int((got[same] > 0).sum())
        compared += int(same.sum())
    # Most partner-periods are compared, and many earn each component.
    assert compared > 0.6 * len(ids) * periods
    assert paid["pacers"] > 300
    assert paid["accelerators"] > 20
