"""Customer satisfaction at a period close follows the period's average effort (tunnel vision)."""

from __future__ import annotations

import numpy as np
from engine_scenarios import linear, run

from incentsim.population.behaviour import Behaviour


def test_satisfaction_at_the_close_is_worn_by_the_period_average_effort() -> None:
    fixed_csat = {
        "population": {"segments": {"reseller": {"csat": {"dist": "fixed", "value": 4.5}}}}
    }
    result = run(linear(0.08), fixed_csat, reps=3, panel=True)
    assert result.panel is not None
    rows = result.panel[result.panel["active"]]
    tunnel_vision = Behaviour().tunnel_vision  # no satisfaction requirement or gate guards it
    expected = np.clip(4.5 - tunnel_vision * np.maximum(rows["effort"] - 1.0, 0.0), 0.0, 5.0)
    assert (rows["effort"] > 1.1).mean() > 0.5  # the steep rebate drives effort up
    np.testing.assert_allclose(rows["csat"], expected, rtol=1e-12)
