"""Shared helpers for the rules-engine tests: a small three-tier program and period drivers.

The base program (retroactive, back-end, cadence 1, look-back 1, grace 1) has per-period
revenue thresholds and rates

    silver      1,000   2%
    gold        5,000   4%
    platinum   20,000   6%

so hand-computed expectations stay easy to read: 6,000 at gold is a 240.00 rebate (24,000 cents).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from incentsim._merge import deep_merge
from incentsim.program.compiled import CompiledProgram, compile_program
from incentsim.program.rules import (
    Assessment,
    PeriodMetrics,
    ProgramState,
    assess_period,
    initial_state,
)
from incentsim.program.spec import Program

BASE: dict[str, Any] = {
    "tiers": {
        "silver": {"requirements": {"revenue": 1000.0}, "rebate_rate": 0.02},
        "gold": {"requirements": {"revenue": 5000.0}, "rebate_rate": 0.04},
        "platinum": {"requirements": {"revenue": 20000.0}, "rebate_rate": 0.06},
    },
}


def make_program(overrides: Mapping[str, Any] | None = None, **fields: Any) -> Program:
    """The base program with ``overrides`` deep-merged in (``fields`` are top-level shortcuts)."""
    data = deep_merge(BASE, overrides or {})
    data = deep_merge(data, fields)
    return Program.model_validate(data)


def compiled(
    overrides: Mapping[str, Any] | None = None,
    segments: Sequence[str] = ("all",),
    regions: Sequence[str] = ("all",),
    **fields: Any,
) -> CompiledProgram:
    """Compile the base program with overrides."""
    return compile_program(make_program(overrides, **fields), segments, regions)


def metrics(revenue: Any, n_spiffs: int = 0, **given: Any) -> PeriodMetrics:
    """Period metrics from plain lists."""
    return PeriodMetrics.of(np.asarray(revenue, dtype=np.float64), n_spiffs=n_spiffs, **given)


def close(
    cp: CompiledProgram,
    revenue: Any,
    state: ProgramState | None = None,
    group: Any = None,
    periods_per_year: int = 4,
    **given: Any,
) -> tuple[ProgramState, Assessment]:
    """Close one period for partners with ``revenue`` (state defaults to the initial state)."""
    revenue = np.asarray(revenue, dtype=np.float64)
    group = np.zeros(revenue.shape, dtype=np.int64) if group is None else np.asarray(group)
    state = initial_state(cp, group) if state is None else state
    m = metrics(revenue, n_spiffs=len(cp.spiff_names), **given)
    return assess_period(cp, state, group, m, periods_per_year)


def run(
    cp: CompiledProgram,
    revenues: Sequence[Any],
    group: Any = None,
    periods_per_year: int = 4,
    per_period: Sequence[Mapping[str, Any]] | None = None,
    **given: Any,
) -> list[Assessment]:
    """Close consecutive periods; ``revenues[p]`` is period p's revenue per partner.

    ``given`` holds metrics constant over periods, ``per_period[p]`` metrics for period p only.
    """
    first = np.asarray(revenues[0], dtype=np.float64)
    group = np.zeros(first.shape, dtype=np.int64) if group is None else np.asarray(group)
    state = initial_state(cp, group)
    out = []
    for p, revenue in enumerate(revenues):
        extra = dict(given)
        if per_period is not None:
            extra.update(per_period[p])
        state, a = close(cp, revenue, state, group, periods_per_year, **extra)
        out.append(a)
    return out


def tiers_over(assessments: Sequence[Assessment]) -> list[list[int]]:
    """Tier per partner (rows) per period (columns)."""
    return np.stack([a.tier for a in assessments], axis=-1).tolist()


def component_over(assessments: Sequence[Assessment], name: str) -> list[list[int]]:
    """One component's cents per partner (rows) per period (columns)."""
    return np.stack([a.components[name] for a in assessments], axis=-1).tolist()


@pytest.fixture
def base_cp() -> CompiledProgram:
    """The base program compiled for a single group."""
    return compiled()
