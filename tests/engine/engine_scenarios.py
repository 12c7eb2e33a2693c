"""Small, self-contained scenarios and statistics for the engine's tests.

The scenarios do not extend the bundled files, so the tests keep their meaning when the
baseline is recalibrated. One segment of resellers with a moderately spread capacity (median
quarterly revenue around 50,000) puts many partner-periods near the thresholds used below.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from incentsim._merge import deep_merge
from incentsim.engine.simulation import BlockResult, simulate_block
from incentsim.scenario.loader import scenario_from_dict
from incentsim.scenario.model import Scenario

#: The revenue threshold (per quarter) of the notch and accelerator tests.
THRESHOLD = 40_000.0

BASE: dict[str, Any] = {
    "name": "engine-test",
    "calendar": {"weeks_per_period": 13, "periods_per_year": 4, "horizon_periods": 4},
    "population": {
        "partners": 400,
        "segments": {
            "reseller": {
                "share": 1.0,
                "capacity": {"dist": "lognormal", "median": 6000, "sigma": 0.8},
                "deal_size": {"dist": "lognormal", "median": 4000, "sigma": 0.5},
                "deal_cycle_weeks": {"dist": "uniform", "low": 2, "high": 8},
                "certified_staff": {"dist": "fixed", "value": 5},
            }
        },
    },
    "market": {
        "demand_noise": 0.03,
        "seasonality": [1.0],
        "trend_per_year": 0.0,
        "competitor_offer": 0.02,
    },
    "program": {
        # A retroactive notch: the whole quarter at 4% once revenue reaches the threshold.
        "tiers": {
            "base": {"rebate_rate": 0.02},
            "top": {"requirements": {"revenue": THRESHOLD}, "rebate_rate": 0.04},
        },
        "evaluation": {"grace_periods": 0},
        "rebate": {"basis": "retroactive"},
        "mdf": {"accrual_rate": 0.0},
        "budget": {"payout": {"delay_weeks": 4}},
    },
}

#: The same threshold as a pure accelerator: 2% on everything, 4% at the margin above it.
ACCELERATOR: dict[str, Any] = {
    "program": {
        "tiers": {"base": {"rebate_rate": 0.02}},
        "accelerators": {"kick": {"threshold": THRESHOLD, "multiplier": 2.0}},
    }
}

#: A stair of five retroactive tiers covering most partners' quarterly revenue.
STAIRS: dict[str, Any] = {
    "program": {
        "tiers": {
            "t1": {"rebate_rate": 0.01},
            "t2": {"requirements": {"revenue": 25_000}, "rebate_rate": 0.02},
            "t3": {"requirements": {"revenue": 40_000}, "rebate_rate": 0.03},
            "t4": {"requirements": {"revenue": 65_000}, "rebate_rate": 0.04},
            "t5": {"requirements": {"revenue": 100_000}, "rebate_rate": 0.05},
        }
    }
}


#: A per-partner cap of 3,000 a quarter: at 4% it binds from 75,000 of revenue.
PARTNER_CAP: dict[str, Any] = {"program": {"partner_cap": 3_000}}

#: Two years (200 partners, to stay quick): retention has time to respond to loyalty.
TWO_YEARS: dict[str, Any] = {"calendar": {"horizon_periods": 8}, "population": {"partners": 200}}

#: A competitor program offering 3% more of revenue for the whole first year.
COMPETITOR: dict[str, Any] = {
    "market": {
        "shocks": [{"kind": "competitor", "start_week": 0, "duration_weeks": 52, "magnitude": 0.03}]
    }
}

#: A co-selling bonus: a per-deal bonus worth registering duplicate deals for.
CO_SELL: dict[str, Any] = {"program": {"co_sell": {"rate": 0.02}}}


#: A floor: the only tier pays 4% of the quarter once revenue reaches the threshold, nothing below.
FLOOR: dict[str, Any] = {
    "program": {"tiers": {"top": {"requirements": {"revenue": THRESHOLD}, "rebate_rate": 0.04}}}
}

#: A strongly accelerating quarterly plan: 1% on everything, ten times that above 60,000.
STEEP_ACCELERATOR: dict[str, Any] = {
    "program": {
        "tiers": {"base": {"rebate_rate": 0.01}},
        "accelerators": {"steep": {"threshold": 60_000, "multiplier": 10.0}},
    }
}

#: Healy's (1985) bonus: 4% of revenue above a floor (the threshold), nothing below it, at
#: most 1,400 a quarter (reached at 75,000 of revenue).
HEALY_FLOOR: dict[str, Any] = {
    "program": {
        "tiers": {"base": {"rebate_rate": 0.04}},
        "accelerators": {
            "floor": {"kind": "decelerator", "threshold": THRESHOLD, "multiplier": 0.0}
        },
    }
}
HEALY_CAP: dict[str, Any] = {"program": {"partner_cap": 1_400}}

#: Revenue at which :data:`HEALY_CAP` binds under :data:`HEALY_FLOOR`.
HEALY_CAP_REVENUE = 75_000.0

#: Returns of stuffed inventory are not clawed back.
NO_CLAWBACK: dict[str, Any] = {"program": {"guardrails": {"clawback_on_returns": False}}}

#: A customer-satisfaction gate: below 3.8 the quarter's rebate is not paid.
CSAT_GATE: dict[str, Any] = {
    "program": {"guardrails": {"csat_gate": {"min_score": 3.8, "applies_to": ["rebate"]}}}
}

#: Two years: milestone streaks run their course twice.
EIGHT_QUARTERS: dict[str, Any] = {"calendar": {"horizon_periods": 8}}

#: 2% on everything, twice that on revenue above the partner's quota.
QUOTA_ACCELERATOR: dict[str, Any] = {
    "program": {
        "tiers": {"base": {"rebate_rate": 0.02}},
        "accelerators": {"over_quota": {"quota_fraction": 1.0, "multiplier": 2.0}},
    }
}

#: A ratchet: next quarter's quota is this quarter's revenue plus 10% (at least 20,000).
PRIOR_QUOTA: dict[str, Any] = {
    "program": {"quota": {"basis": "prior", "growth": 0.1, "floor": 20_000}}
}

#: The same accelerator with a fixed quota of 45,000 a quarter for everyone.
FIXED_QUOTA: dict[str, Any] = {"program": {"quota": {"basis": "fixed", "amount": 45_000}}}


def milestone(periods: int, reward: float) -> dict[str, Any]:
    """A repeatable loyalty reward for ``periods`` consecutive quarters at the top tier."""
    loyal = {"tier": "top", "consecutive_periods": periods, "reward": reward}
    return {"program": {"milestones": {"loyal": loyal}}}


def payout_delay(weeks: int) -> dict[str, Any]:
    """Payouts ``weeks`` after each period close."""
    return {"program": {"budget": {"payout": {"delay_weeks": weeks}}}}


def audits(rate: float) -> dict[str, Any]:
    """A share ``rate`` of partners audited at each period close."""
    return {"program": {"guardrails": {"audit": {"rate": rate}}}}


def linear(rate: float) -> dict[str, Any]:
    """A single tier with a flat rate on all revenue: a linear schedule."""
    return {"program": {"tiers": {"base": {"rebate_rate": rate}}}}


def scenario(*overrides: dict[str, Any]) -> Scenario:
    """:data:`BASE` with ``overrides`` merged in order; a ``tiers`` mapping replaces the base's."""
    data = copy.deepcopy(BASE)
    for override in overrides:
        tiers = override.get("program", {}).get("tiers")
        data = deep_merge(data, override)
        if tiers is not None:
            data["program"]["tiers"] = copy.deepcopy(tiers)
    return scenario_from_dict(data)


def run(
    *overrides: dict[str, Any], seed: int = 2027, reps: int = 20, panel: bool = False
) -> BlockResult:
    """One block of :func:`scenario` (the same ``seed`` gives common random numbers)."""
    return simulate_block(scenario(*overrides), np.random.SeedSequence(seed), reps, panel=panel)


@dataclass(frozen=True)
class Effect:
    """A mean across replications with its standard error and 95% interval."""

    mean: float
    se: float

    @property
    def low(self) -> float:
        """Lower end of the 95% interval on the mean."""
        return self.mean - 1.96 * self.se

    @property
    def high(self) -> float:
        """Upper end of the 95% interval on the mean."""
        return self.mean + 1.96 * self.se

    @property
    def z(self) -> float:
        """How many standard errors the mean lies from zero."""
        if self.se > 0:
            return self.mean / self.se
        return 0.0 if self.mean == 0 else float(np.copysign(np.inf, self.mean))

    def __str__(self) -> str:
        return f"{self.mean:.4g} [95% CI {self.low:.4g}, {self.high:.4g}; z {self.z:.1f}]"


def effect(values: np.ndarray) -> Effect:
    """The mean of per-replication ``values`` (a paired difference, or one arm) as an Effect."""
    return Effect(*mean_se(values))


def mean_se(values: np.ndarray) -> tuple[float, float]:
    """Mean and its standard error across replications."""
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))
