"""Segment and region overrides reach partner behaviour, not only the payout rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from incentsim.engine.simulation import simulate_block
from incentsim.scenario import load_scenario

SMALL = Path(__file__).resolve().parents[2] / "scenarios" / "small.yaml"
CO_SELL = ["program.co_sell.rate=0.02", "population.partners=120", "calendar.horizon_periods=2"]


def _duplicates(extra: list[str]) -> np.ndarray:
    scenario = load_scenario(SMALL, [*CO_SELL, *extra])
    return simulate_block(scenario, np.random.SeedSequence(11), 4).outcomes["duplicates_submitted"]


def test_an_audit_override_for_one_segment_deters_its_duplicates() -> None:
    base = _duplicates([])
    audited = _duplicates(
        ["program.segment_overrides={reseller: {guardrails: {audit: {rate: 0.5}}}}"]
    )
    everyone = _duplicates(["program.guardrails.audit.rate=0.5"])
    assert np.all(base > 0)
    # Resellers alone audited: fewer duplicates than none, more than everyone audited.
    assert np.all(audited < 0.9 * base)
    assert np.all(everyone < audited)
