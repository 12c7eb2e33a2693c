"""TierFlows counts partners moving between states from one close to the next."""

from __future__ import annotations

import numpy as np

from incentsim.engine.tier_flow import TierFlows


def test_moves_are_counted_from_the_start_and_then_close_to_close() -> None:
    # two replications of three partners; partner 2 of replication 0 joins in period 1
    joined = np.array([[True, True, False], [True, True, True]])
    flows = TierFlows(joined, n_tiers=2, periods=2)
    start = np.array([[-1, 0, -1], [-1, -1, -1]])  # partner 1 of replication 0 starts in tier 0
    active = np.array([[True, True, False], [True, True, True]])
    flows.record(0, active, np.array([[0, 1, -1], [-1, 0, 1]]), start)
    active = np.array([[True, False, True], [True, True, True]])
    flows.record(1, active, np.array([[0, -1, -1], [0, 0, 0]]), start)
    t = flows.trajectories(["silver", "gold"])
    assert "tier_flow/out->out" not in t
    assert t["tier_flow/unqualified->silver"][0].tolist() == [1, 0]
    assert t["tier_flow/silver->gold"][0].tolist() == [1, 0]
    assert t["tier_flow/silver->silver"][0].tolist() == [0, 1]
    assert t["tier_flow/gold->out"][0].tolist() == [0, 1]
    assert t["tier_flow/out->unqualified"][0].tolist() == [0, 1]
    assert t["tier_flow/unqualified->gold"][1].tolist() == [1, 0]
    assert t["tier_flow/gold->silver"][1].tolist() == [0, 1]
    total = sum(v for v in t.values())
    assert total.tolist() == [[2, 3], [3, 3]]
