"""Program-wide levers: each option simulated jointly with the chosen design, one chosen."""

from __future__ import annotations

import json
from pathlib import Path

from test_opt_pipeline import TINY, _tiny

from incentsim.optimizer import optimize
from incentsim.scenario.loader import load_scenario


def test_shortfall_policy_and_reserve_rule_are_chosen_on_joint_runs(tmp_path: Path) -> None:
    levers = [
        *TINY["levers"],
        {"path": "program.budget.shortfall_policy", "values": ["pro_rata", "defer"]},
        {"path": "program.budget.reserve.contribution.unspent_share", "values": [1.0, 0.5]},
    ]
    result = optimize(
        _tiny(levers=levers, budget=250_000, validation_replications=0, stability_resamples=0),
        out_dir=tmp_path / "out",
        cache_dir=tmp_path / "cache",
        progress=False,
    )
    assert result.feasible
    choice = result.program_wide
    assert choice is not None
    assert choice.replications == TINY["replications"]
    assert len(choice.options) == 4
    # The base program's values come first (pro_rata, and its unspent share of 0.5).
    assert choice.options[0]["settings"] == {
        "program.budget.shortfall_policy": "pro_rata",
        "program.budget.reserve.contribution.unspent_share": 0.5,
    }
    assert sum(o["chosen"] for o in choice.options) == 1
    within = [o for o in choice.options if o["overrun_probability"] <= result.settings.alpha]
    pool = within or choice.options
    chosen = next(o for o in choice.options if o["chosen"])
    if within:
        assert chosen["objective"] == max(o["objective"] for o in pool)
    design = load_scenario(result.files["design"])
    budget = design.program.budget
    assert budget.shortfall_policy == choice.chosen["program.budget.shortfall_policy"]
    assert (
        budget.reserve.contribution.unspent_share
        == choice.chosen["program.budget.reserve.contribution.unspent_share"]
    )
    for candidates in result.space.candidates.values():  # not part of any segment's design
        assert all("program.budget.shortfall_policy" not in c.settings for c in candidates)
    saved = json.loads(result.files["json"].read_text())["program_wide"]
    assert saved["chosen"] == choice.chosen
    assert "Program-wide levers" in result.report()
    assert result.files["program_wide"].read_text().startswith("budget.shortfall_policy,")
