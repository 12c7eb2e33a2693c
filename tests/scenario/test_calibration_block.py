"""The ``calibration:`` block: accepted, checked, and not changing other scenarios' hashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from incentsim.errors import ScenarioError
from incentsim.scenario.loader import load_scenario, scenario_hash

ROOT = Path(__file__).resolve().parents[2] / "scenarios"

BLOCK = """
calibration:
  history: hist.csv
  data_hash: sha256:abc
  partners: 10
  periods: 4
  constants:
    churn_base: {prior: 0.02, estimate: 0.03, low: 0.025, high: 0.035, identified: true}
  not_identified: {effort_elasticity: needs a change in rewards}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "calibrated.yaml"
    path.write_text(f"extends: {ROOT / 'small.yaml'}\n{text}")
    return path


def test_block_is_accepted_and_summarised(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, BLOCK))
    assert scenario.calibration is not None
    summary = scenario.calibration.summary()
    assert "hist.csv" in summary
    assert "churn_base 0.03 [0.025, 0.035]" in summary
    assert scenario_hash(scenario) != scenario_hash(load_scenario(ROOT / "small.yaml"))


def test_unknown_key_in_block_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"calibration\.colour"):
        load_scenario(_write(tmp_path, BLOCK + "  colour: red\n"))


def test_hash_without_block_is_unchanged() -> None:
    # the hash of the small scenario before the block existed (commit 2f36338)
    scenario = load_scenario(ROOT / "small.yaml")
    assert "calibration" not in scenario.model_dump(exclude_none=True)
    data = scenario.model_dump(mode="json")
    assert data.pop("calibration") is None
    import hashlib
    import json

    canonical = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    assert scenario_hash(scenario) == hashlib.sha256(canonical.encode()).hexdigest()
