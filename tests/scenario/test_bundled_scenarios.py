"""The bundled scenarios load, and the baseline's figures match what its comments claim."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import yaml

from incentsim.population.spec import LogNormal
from incentsim.scenario import Scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SHARE_OF_WALLET = 0.5  # the share of capacity a typical partner gives the vendor (baseline notes)


def bundled_scenarios() -> list[Path]:
    """The scenario files in scenarios/ (an optimisation file, with ``levers``, is not one)."""
    files = sorted(SCENARIOS.glob("*.yaml"))
    return [p for p in files if "levers" not in yaml.safe_load(p.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("path", bundled_scenarios(), ids=lambda p: p.name)
def test_every_bundled_scenario_loads(path: Path) -> None:
    assert load_scenario(path).sources, "each scenario names the sources of its figures"


@pytest.fixture(scope="module")
def baseline() -> Scenario:
    return load_scenario(SCENARIOS / "baseline.yaml")


@pytest.fixture(scope="module")
def quarterly_revenue(baseline: Scenario) -> np.ndarray:
    """Quarterly revenue of a large sample of baseline partners at the typical share of wallet."""
    rng = np.random.default_rng(11)
    weeks = baseline.calendar.weeks_per_period
    draws = []
    for segment in baseline.population.segments.values():
        capacity = segment.capacity
        assert isinstance(capacity, LogNormal)
        n = round(200_000 * segment.share)
        draws.append(rng.lognormal(np.log(capacity.median), capacity.sigma, n))
    return np.concatenate(draws) * weeks * SHARE_OF_WALLET


def test_baseline_shape(baseline: Scenario) -> None:
    assert baseline.population.partners == 1000
    assert baseline.calendar.horizon_periods == 8
    assert baseline.calendar.weeks_per_period == 13
    assert baseline.replications == 200
    assert list(baseline.population.segments) == [
        "reseller",
        "system_integrator",
        "technology_partner",
    ]
    assert len(baseline.population.regions) == 3
    assert baseline.program.tier_names == ["registered", "silver", "gold", "platinum"]
    assert baseline.program.rebate.basis == "retroactive"
    assert baseline.program.budget.payout.delay_weeks == 6


def test_baseline_top_fifth_of_partners_bring_three_quarters_of_revenue(
    quarterly_revenue: np.ndarray,
) -> None:
    ranked = np.sort(quarterly_revenue)[::-1]
    top_share = ranked[: ranked.size // 5].sum() / ranked.sum()
    assert 0.75 <= top_share <= 0.80


def test_baseline_tiers_follow_the_practitioner_heuristic(
    baseline: Scenario, quarterly_revenue: np.ndarray
) -> None:
    typical = np.median(quarterly_revenue)
    tiers = list(baseline.program.tiers.values())
    thresholds = [tier.requirements.revenue for tier in tiers]
    assert 0.25 <= thresholds[0] / typical <= 0.40
    assert all(1.5 <= hi / lo <= 2.5 for lo, hi in itertools.pairwise(thresholds))
    assert 0.6 <= np.mean(quarterly_revenue >= thresholds[0]) <= 0.9
    assert all(0.01 <= tier.rebate_rate <= 0.05 for tier in tiers)
    assert all(len(tier.requirements.model_fields_set) >= 2 for tier in tiers)


def test_baseline_budget_is_a_few_percent_of_channel_revenue(
    baseline: Scenario, quarterly_revenue: np.ndarray
) -> None:
    channel_revenue = quarterly_revenue.mean() * baseline.population.partners
    budget = baseline.program.budget
    assert budget.per_period is not None
    assert 0.03 <= budget.per_period / channel_revenue <= 0.06
    assert budget.reserve.initial > 0
    assert budget.reserve.max is not None
    mdf = baseline.program.mdf
    assert mdf.accrual_rate == pytest.approx(0.02)
    assert 0.5 <= mdf.reimbursement_rate <= 0.8
    assert baseline.program.co_sell.rate == pytest.approx(0.03)


def test_small_scales_the_budget_with_the_partners(baseline: Scenario) -> None:
    small = load_scenario(SCENARIOS / "small.yaml")
    ratio = small.population.partners / baseline.population.partners
    assert (small.population.partners, small.calendar.horizon_periods) == (150, 4)
    assert small.replications == 20
    assert small.program.budget.per_period == pytest.approx(
        baseline.program.budget.per_period * ratio
    )


def test_constructs_turns_every_construct_on() -> None:
    program = load_scenario(SCENARIOS / "constructs.yaml").program
    assert program.accelerators
    assert program.spiffs
    assert program.milestones
    assert {a.kind for a in program.accelerators.values()} == {"accelerator", "decelerator"}
    assert program.co_sell.rate > 0
    assert program.guardrails.csat_gate is not None
    assert program.quota.basis == "prior"
    assert program.budget.true_up.enabled
    assert program.budget.shortfall_policy == "defer"
    assert program.remediation.enabled
    assert program.segment_overrides
    assert program.region_overrides
    assert any(tier.benefits for tier in program.tiers.values())
    assert program.resolved("system_integrator", "apac").tiers["registered"].requirements.revenue
    assert program.rebate.basis == "retroactive"


def test_shocks_has_the_three_shocks() -> None:
    shocks = load_scenario(SCENARIOS / "shocks.yaml").market.shocks
    assert [s.kind for s in shocks] == ["recession", "competitor", "payout_outage"]
    recession = shocks[0]
    assert (recession.start_week, recession.duration_weeks) == (30, 13)
