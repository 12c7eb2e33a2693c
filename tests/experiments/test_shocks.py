"""The shock library: names, severities, magnitudes and timing that fits any horizon."""

from __future__ import annotations

from pathlib import Path

import pytest

from incentsim.experiments.shocks import (
    SEVERITIES,
    SHOCK_LIBRARY,
    ShockChoice,
    ShockError,
    parse_shock,
    parse_shocks,
    with_shocks,
)
from incentsim.market.spec import SHOCK_KINDS
from incentsim.scenario.loader import load_scenario
from incentsim.scenario.model import Scenario

SCENARIOS = Path(__file__).parents[2] / "scenarios"


@pytest.fixture(scope="module", params=["small.yaml", "baseline.yaml"])
def scenario(request: pytest.FixtureRequest) -> Scenario:
    return load_scenario(SCENARIOS / request.param)


def test_the_library_covers_every_kind_with_growing_severities() -> None:
    assert {t.kind for t in SHOCK_LIBRARY.values()} == set(SHOCK_KINDS)
    for t in SHOCK_LIBRARY.values():
        sizes = [t.severities[s] for s in SEVERITIES]
        assert sizes == sorted(sizes)
        assert sizes[0] > 0
        assert t.extreme > sizes[-1]


def test_parse_severities_and_magnitudes() -> None:
    assert parse_shock("recession:mild") == ShockChoice("recession", 0.10, "mild")
    assert parse_shock("competitor") == ShockChoice("competitor", 0.04, "severe")
    assert parse_shock(" surge : 0.5 ").label == "surge:0.5"
    assert [c.label for c in parse_shocks("recession,recession:severe,price_war:0.1")] == [
        "recession:severe",
        "price_war:0.1",
    ]
    assert len(parse_shocks(None)) == len(SHOCK_LIBRARY)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("recesion", "did you mean 'recession'"),
        ("recession:awful", "unknown severity 'awful'"),
        ("surge:-1", "cannot be negative"),
        ("surge:nan", "must be a finite number"),
    ],
)
def test_bad_shocks_are_named(text: str, message: str) -> None:
    with pytest.raises(ShockError, match=message):
        parse_shock(text)


def test_every_shock_fits_the_horizon_up_to_its_extreme(scenario: Scenario) -> None:
    weeks = scenario.calendar.horizon_weeks
    for name, t in SHOCK_LIBRARY.items():
        shocked = with_shocks(scenario, [ShockChoice(name, t.extreme)])  # validates
        shock = shocked.market.shocks[-1]
        assert shock.kind == t.kind
        assert shock.magnitude == t.extreme
        assert 0 < shock.start_week < weeks
        assert shock.start_week + shock.duration_weeks <= weeks


def test_a_payout_outage_covers_one_payout_close(scenario: Scenario) -> None:
    cal = scenario.calendar
    timing = SHOCK_LIBRARY["payout_outage"].timing(scenario)
    closes = [(p + 1) * cal.weeks_per_period for p in range(cal.horizon_periods)]
    covered = [
        c
        for c in closes
        if timing["start_week"] <= c < timing["start_week"] + timing["duration_weeks"]
    ]
    assert len(covered) == 1


def test_shocks_are_appended_after_the_scenarios_own() -> None:
    base = load_scenario(SCENARIOS / "shocks.yaml")
    shocked = with_shocks(base, [parse_shock("surge:moderate")], name="shocks + surge")
    assert shocked.name == "shocks + surge"
    assert shocked.market.shocks[: len(base.market.shocks)] == base.market.shocks
    assert shocked.market.shocks[-1].kind == "surge"
    assert base.market.shocks[-1].kind != "surge"  # the original is untouched
