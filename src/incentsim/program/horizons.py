"""Program components assessed on horizons of their own, longer than the program's period.

The period (a quarter by default) sets when tiers, rebates and most components are assessed.
Two kinds of component run on a longer horizon, counted in periods from the program's start:

* a **horizon accelerator** (``accelerators.*.horizon_periods`` above 1, e.g. 4 quarters: an
  annual accelerator) pays ``rebate_rate * (multiplier - 1)`` on the horizon's revenue above
  its threshold (an amount over the horizon, or ``quota_fraction`` of the partner's quotas summed
  over the horizon's periods), within its cap over the horizon, at the horizon's last close and
  at the rate of the tier then held;
* a **pacer** (``pacers``, Chung, Steenburgh & Sudhir 2014: quarterly bonuses inside an annual
  plan) pays ``reward`` at the close of every ``every_periods`` periods of its horizon where the
  revenue since the horizon began reaches the target's share for the periods gone
  (``target * periods gone / horizon_periods``, or ``quota_fraction`` of the quotas of the
  periods gone).

Revenue counts net of returns, as for the annual true-up, so stuffed inventory that comes back
does not stay in a horizon's revenue. A horizon that the calendar (or the data) ends before its
last close pays nothing for it.

:func:`assess_horizons` is what the rules engine pays at a close (:func:`~incentsim.program.
rules.assess_period`, over simulated partners and real transactions alike);
:func:`expected_horizon_pay` is what a partner expects them to pay given the revenue it ends
the period with and its pace for the periods left (:func:`plan_horizons`, derived once a
period), priced by the same thresholds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

if TYPE_CHECKING:
    from incentsim.program.compiled import CompiledProgram, PartnerTerms
    from incentsim.program.spec import Program

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Tolerance on a pacer's target: revenue within it of the target reaches it.
TARGET_TOLERANCE = 1e-9


def period_accelerators(program: Program) -> list[str]:
    """Names of the accelerators assessed every period (``horizon_periods`` 1)."""
    return [k for k, a in program.accelerators.items() if a.horizon_periods == 1]


def horizon_accelerators(program: Program) -> list[str]:
    """Names of the accelerators assessed on a horizon longer than the period."""
    return [k for k, a in program.accelerators.items() if a.horizon_periods > 1]


def _cap(value: float | None) -> float:
    return np.inf if value is None else float(value)


class HorizonArrays(TypedDict):
    """The horizon components' fields of :class:`~incentsim.program.compiled.GroupTerms`."""

    hacc_horizon: NDArray[Any]
    hacc_threshold: NDArray[Any]
    hacc_quota_fraction: NDArray[Any]
    hacc_multiplier: NDArray[Any]
    hacc_cap: NDArray[Any]
    pacer_horizon: NDArray[Any]
    pacer_every: NDArray[Any]
    pacer_target: NDArray[Any]
    pacer_quota_fraction: NDArray[Any]
    pacer_reward: NDArray[Any]


def horizon_terms(program: Program, resolved: Sequence[Program]) -> HorizonArrays:
    """The per-group arrays of the horizon components, ``(G, H)`` per horizon accelerator and
    ``(G, P)`` per pacer, for :class:`~incentsim.program.compiled.GroupTerms`."""
    accs = horizon_accelerators(program)
    pacers = list(program.pacers)

    def table(keys: list[str], get: Callable[[Program, str], Any], dtype: Any) -> NDArray[Any]:
        return np.array([[get(p, k) for k in keys] for p in resolved], dtype=dtype).reshape(
            len(resolved), len(keys)
        )

    def acc(p: Program, k: str) -> Any:
        return p.accelerators[k]

    def pacer(p: Program, k: str) -> Any:
        return p.pacers[k]

    return {
        "hacc_horizon": table(accs, lambda p, k: acc(p, k).horizon_periods, np.int64),
        "hacc_threshold": table(accs, lambda p, k: acc(p, k).threshold or 0.0, np.float64),
        "hacc_quota_fraction": table(
            accs, lambda p, k: acc(p, k).quota_fraction or 0.0, np.float64
        ),
        "hacc_multiplier": table(accs, lambda p, k: acc(p, k).multiplier, np.float64),
        "hacc_cap": table(accs, lambda p, k: _cap(acc(p, k).cap), np.float64),
        "pacer_horizon": table(pacers, lambda p, k: pacer(p, k).horizon_periods, np.int64),
        "pacer_every": table(pacers, lambda p, k: pacer(p, k).every_periods, np.int64),
        "pacer_target": table(pacers, lambda p, k: pacer(p, k).target or 0.0, np.float64),
        "pacer_quota_fraction": table(
            pacers, lambda p, k: pacer(p, k).quota_fraction or 0.0, np.float64
        ),
        "pacer_reward": table(pacers, lambda p, k: pacer(p, k).reward, np.float64),
    }


@dataclass(frozen=True)
class HorizonState:
    """Each partner's progress on every horizon component (arrays ``(..., N, H)`` for the
    horizon accelerators and ``(..., N, P)`` for the pacers): revenue net of returns since the
    component's horizon began, and the partner's quotas summed over the horizon's periods so far.
    """

    acc_revenue: FloatArray
    acc_quota: FloatArray
    pacer_revenue: FloatArray
    pacer_quota: FloatArray


def uses_horizons(cp: CompiledProgram) -> bool:
    """True when the program has a horizon accelerator or a pacer."""
    return bool(cp.hacc_horizon.size or cp.pacer_horizon.size)


def initial_horizons(cp: CompiledProgram, shape: tuple[int, ...]) -> HorizonState | None:
    """Nothing accrued on any horizon (``None`` when the program has no horizon component)."""
    if not uses_horizons(cp):
        return None
    n_acc, n_pacers = cp.hacc_horizon.shape[-1], cp.pacer_horizon.shape[-1]
    return HorizonState(
        acc_revenue=np.zeros((*shape, n_acc)),
        acc_quota=np.zeros((*shape, n_acc)),
        pacer_revenue=np.zeros((*shape, n_pacers)),
        pacer_quota=np.zeros((*shape, n_pacers)),
    )


@dataclass(frozen=True)
class HorizonPay:
    """What the horizon components pay at one close (``(..., N)``, currency units):
    ``accelerators`` after their caps, ``capped`` what the caps withheld, ``pacers``; and the
    state after the close."""

    accelerators: FloatArray
    capped: FloatArray
    pacers: FloatArray
    state: HorizonState


def _accelerator_pay(
    t: PartnerTerms, rate: FloatArray, revenue: FloatArray, quota: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Each horizon accelerator's pay before and after its cap, ``(..., N, H)``, on horizon
    ``revenue`` and summed ``quota``, at the held tier's ``rate``."""
    threshold = np.where(t.hacc_quota_fraction > 0, t.hacc_quota_fraction * quota, t.hacc_threshold)
    raw = rate[..., None] * (t.hacc_multiplier - 1.0) * np.maximum(revenue - threshold, 0.0)
    return raw, np.minimum(raw, t.hacc_cap)


def _pacer_target(
    t: PartnerTerms, periods_gone: IntArray | FloatArray, quota: FloatArray
) -> FloatArray:
    """Each pacer's target after ``periods_gone`` periods of its horizon with ``quota`` summed
    over them, ``(..., N, P)``."""
    even = t.pacer_target * periods_gone / t.pacer_horizon
    return np.where(t.pacer_quota_fraction > 0, t.pacer_quota_fraction * quota, even)


def assess_horizons(
    t: PartnerTerms,
    hz: HorizonState,
    period: int,
    rate: FloatArray,
    net_revenue: FloatArray,
    quota: FloatArray,
) -> HorizonPay:
    """Close period ``period`` (0-based) on every horizon component.

    Parameters
    ----------
    t
        The program's terms at each partner's group.
    hz
        Progress before this period.
    period
        The period closing.
    rate
        The rebate rate of the tier each partner holds after this close (0 without a tier).
    net_revenue
        The period's revenue net of returns, ``(..., N)``.
    quota
        Each partner's quota for the period.
    """
    acc_revenue = hz.acc_revenue + net_revenue[..., None]
    acc_quota = hz.acc_quota + quota[..., None]
    acc_end = (period + 1) % t.hacc_horizon == 0
    raw, capped = _accelerator_pay(t, rate, acc_revenue, acc_quota)
    raw, capped = np.where(acc_end, raw, 0.0), np.where(acc_end, capped, 0.0)

    pacer_revenue = hz.pacer_revenue + net_revenue[..., None]
    pacer_quota = hz.pacer_quota + quota[..., None]
    gone = period % t.pacer_horizon + 1
    step_end = gone % t.pacer_every == 0
    reached = pacer_revenue >= _pacer_target(t, gone, pacer_quota) - TARGET_TOLERANCE
    pacers = np.where(step_end & reached, t.pacer_reward, 0.0)
    pacer_end = gone == t.pacer_horizon

    state = HorizonState(
        acc_revenue=np.where(acc_end, 0.0, acc_revenue),
        acc_quota=np.where(acc_end, 0.0, acc_quota),
        pacer_revenue=np.where(pacer_end, 0.0, pacer_revenue),
        pacer_quota=np.where(pacer_end, 0.0, pacer_quota),
    )
    return HorizonPay(
        accelerators=capped.sum(axis=-1),
        capped=(raw - capped).sum(axis=-1),
        pacers=pacers.sum(axis=-1),
        state=state,
    )


def _expected_excess(mean: FloatArray, sd: FloatArray | None, level: FloatArray) -> FloatArray:
    """``E[max(Y - level, 0)]`` for a normal ``Y`` (exactly ``max(mean - level, 0)`` where
    ``sd`` is 0, and everywhere when it is ``None``)."""
    gap = mean - level
    if sd is None:
        return np.maximum(gap, 0.0)
    uncertain = sd > 0
    safe = np.where(uncertain, sd, 1.0)
    z = np.where(uncertain, gap / safe, 0.0)
    smooth = gap * ndtr(z) + safe * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    return np.where(uncertain, smooth, np.maximum(gap, 0.0))


def _chance(gap: FloatArray, sd: FloatArray | None) -> FloatArray:
    """``P(Y >= level)`` for a normal ``Y`` with ``gap = mean - level`` (a step where ``sd`` is
    0, everywhere when it is ``None``)."""
    if sd is None:
        return (gap >= 0).astype(np.float64)
    uncertain = sd > 0
    return np.where(uncertain, ndtr(gap / np.where(uncertain, sd, 1.0)), gap >= 0)


def _spread(noise: float, pace: FloatArray, periods: NDArray[Any]) -> FloatArray | None:
    """The sd of the revenue of ``periods`` periods at ``pace`` (``None`` where it is 0 for
    every partner: the horizon ends at this close)."""
    if not np.any(periods):
        return None
    sd: FloatArray = noise * pace[..., None] * np.sqrt(periods)
    return sd


@dataclass(frozen=True)
class _PacerStep:
    """One pacer close still to come in its horizon, ``(..., N, P)``: the horizon's revenue by
    then less this period's (so far plus the pace of the periods between), its sd, the target
    and what reaching it is worth (0 where the close is no pacer step)."""

    base: FloatArray
    sd: FloatArray | None
    target: FloatArray
    prize: FloatArray


@dataclass(frozen=True)
class HorizonPlan:
    """What :func:`expected_horizon_pay` takes from a partner's progress, its pace and the
    period alone, derived once a period (arrays ``(..., N, H)``; see :func:`plan_horizons`)."""

    acc_base: FloatArray
    acc_sd: FloatArray | None
    acc_threshold: FloatArray
    acc_worth: FloatArray
    acc_capped: bool
    pacer_steps: tuple[_PacerStep, ...]


def plan_horizons(
    t: PartnerTerms,
    hz: HorizonState,
    period: int,
    quota: FloatArray,
    pace: FloatArray,
    noise: float,
    worth: Callable[[IntArray], FloatArray],
) -> HorizonPlan:
    """The :class:`HorizonPlan` of partners at period ``period`` (0-based) with progress ``hz``
    and ``quota``, selling ``pace`` a period (give or take ``noise * pace`` each, independently)
    until their horizons end; ``worth(periods)`` is what a unit paid ``periods`` periods after
    this period's payout is worth against a unit of it. Quotas to come are taken as this
    period's."""
    done = period % t.hacc_horizon  # periods of the horizon before this one
    left = t.hacc_horizon - done - 1  # periods after this one
    summed_quota = hz.acc_quota + quota[..., None] * (left + 1)
    steps = []
    pacer_done = period % t.pacer_horizon
    for ahead in range(int(t.pacer_horizon.max(initial=0))):
        gone = pacer_done + 1 + ahead  # periods of the horizon gone at that close
        counts = (gone <= t.pacer_horizon) & (gone % t.pacer_every == 0)
        if not counts.any():
            continue
        later = np.full(np.shape(gone), ahead)
        steps.append(
            _PacerStep(
                base=hz.pacer_revenue + pace[..., None] * ahead,
                sd=_spread(noise, pace, later),
                target=_pacer_target(t, gone, hz.pacer_quota + quota[..., None] * (ahead + 1)),
                prize=np.where(counts, t.pacer_reward * worth(later), 0.0),
            )
        )
    return HorizonPlan(
        acc_base=hz.acc_revenue + pace[..., None] * left,
        acc_sd=_spread(noise, pace, left),
        acc_threshold=np.where(
            t.hacc_quota_fraction > 0, t.hacc_quota_fraction * summed_quota, t.hacc_threshold
        ),
        acc_worth=worth(left),
        acc_capped=bool(np.isfinite(t.hacc_cap).any()),
        pacer_steps=tuple(steps),
    )


def expected_horizon_pay(
    t: PartnerTerms, plan: HorizonPlan, rate: FloatArray, revenue: FloatArray
) -> FloatArray:
    """What the horizon components are expected to pay a partner that ends this period with
    ``revenue`` and the rest of their horizons as ``plan`` (:func:`plan_horizons`) expects,
    weighted for when each is paid, ``(..., N)``.

    Horizon accelerators are priced at the held tier's ``rate`` (the tier this revenue earns)
    as a call on the horizon's revenue above the threshold, within the cap (the call above the
    threshold less the call above where the cap binds); each pacer step still to come is worth
    its reward times the chance of being on pace at its close.
    """
    total = np.zeros(np.shape(revenue))
    if t.hacc_horizon.shape[-1]:
        mean = plan.acc_base + revenue[..., None]
        per_unit = rate[..., None] * (t.hacc_multiplier - 1.0)
        call = _expected_excess(mean, plan.acc_sd, plan.acc_threshold)
        if plan.acc_capped:
            binds = np.isfinite(t.hacc_cap) & (per_unit > 0)
            ceiling = plan.acc_threshold + np.where(
                binds, t.hacc_cap / np.where(binds, per_unit, 1.0), 0.0
            )
            call = np.where(binds, call - _expected_excess(mean, plan.acc_sd, ceiling), call)
        total += (per_unit * call * plan.acc_worth).sum(axis=-1)
    for step in plan.pacer_steps:
        gap = step.base + revenue[..., None] - step.target + TARGET_TOLERANCE
        total += (step.prize * _chance(gap, step.sd)).sum(axis=-1)
    return total
