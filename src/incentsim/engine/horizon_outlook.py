"""What partners expect of the periods to come, for what they are paid on horizons longer than
the period: horizon accelerators and pacers (:mod:`incentsim.program.horizons`) and the annual
true-up.

:func:`horizon_value` adds to what ending a period with some revenue is worth to a partner
(:func:`incentsim.engine.decisions.priced_payout`) what the later closes will pay for it, priced
by the program's own rules at the partner's pace for the periods left and weighted for being paid
later (present bias).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from incentsim.population.behaviour import Behaviour
from incentsim.program.compiled import CompiledProgram, PartnerTerms
from incentsim.program.horizons import HorizonPlan, expected_horizon_pay, plan_horizons
from incentsim.program.rules import ProgramState, anticipated_true_up

if TYPE_CHECKING:
    from incentsim.engine.decisions import Outlook

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class HorizonOutlook:
    """What a partner expects of the periods after this one, for what it is paid on horizons
    longer than the period (horizon accelerators and pacers, :mod:`incentsim.program.horizons`,
    and the annual true-up when ``true_up``): ``pace``, the revenue it expects a period, give or
    take ``noise * pace``; and how it values money paid later than this period's payout (present
    bias, from its ``myopia`` and payout delay)."""

    pace: FloatArray
    noise: float
    myopia: FloatArray
    delay_weeks: IntArray
    weeks_per_period: int
    present_bias_weeks: float
    periods_per_year: int
    true_up: bool
    _plans: dict[int, tuple[ProgramState, HorizonPlan]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def plan(self, t: PartnerTerms, pstate: ProgramState) -> HorizonPlan:
        """The :class:`~incentsim.program.horizons.HorizonPlan` of ``pstate`` at this pace,
        remembered for the last state seen (partners weigh many revenues between closes)."""
        cached = self._plans.get(0)
        if cached is not None and cached[0] is pstate:
            return cached[1]
        assert pstate.horizons is not None
        plan = plan_horizons(
            t, pstate.horizons, pstate.period, pstate.quota, self.pace, self.noise, self.worth
        )
        self._plans[0] = (pstate, plan)
        return plan

    def worth(self, periods: IntArray | int) -> FloatArray:
        """What a unit paid ``periods`` periods after this period's payout is worth against a
        unit of that payout (``periods`` ``(..., N, K)``, or a number)."""
        myopia, delay = self.myopia, self.delay_weeks
        if np.ndim(periods) > np.ndim(myopia):
            myopia, delay = myopia[..., None], delay[..., None]
        later = delay + np.asarray(periods) * self.weeks_per_period
        now = 1.0 + myopia * delay / self.present_bias_weeks
        worth: FloatArray = now / (1.0 + myopia * later / self.present_bias_weeks)
        return worth


def horizon_outlook(
    behaviour: Behaviour,
    cp: CompiledProgram,
    pstate: ProgramState,
    pace: FloatArray,
    myopia: FloatArray,
    delay_weeks: IntArray,
    weeks_per_period: int,
    periods_per_year: int,
) -> HorizonOutlook | None:
    """The partner's :class:`HorizonOutlook` (``None`` when it is paid on no horizon longer
    than the period: no horizon component and no true-up)."""
    true_up = bool(cp.true_up.any())
    if pstate.horizons is None and not true_up:
        return None
    return HorizonOutlook(
        pace=pace,
        noise=behaviour.forecast_noise,
        myopia=myopia,
        delay_weeks=delay_weeks,
        weeks_per_period=weeks_per_period,
        present_bias_weeks=behaviour.present_bias_weeks,
        periods_per_year=periods_per_year,
        true_up=true_up,
    )


def horizon_value(
    cp: CompiledProgram,
    pstate: ProgramState,
    group: IntArray,
    revenue: FloatArray,
    tier: IntArray,
    outlook: Outlook,
) -> FloatArray:
    """What ending the period with ``revenue`` at ``tier`` is worth through the components
    paid at later closes: horizon accelerators (a call on the horizon's revenue given the
    horizon's revenue so far), pacer steps (the chance of being on pace given progress so far)
    and the annual true-up, each weighted by how much later it is paid, in money of this
    period's payout."""
    hz = outlook.horizons
    assert hz is not None
    t = cp.at(group)
    value = np.zeros(np.shape(revenue))
    if pstate.horizons is not None:
        rate = np.where(tier >= 0, t.at_tier(t.rebate_rate, tier), 0.0)
        value += expected_horizon_pay(t, hz.plan(t, pstate), rate, revenue)
    if hz.true_up:
        due, left = anticipated_true_up(
            cp,
            pstate,
            group,
            revenue,
            tier,
            outlook.certified_staff,
            outlook.csat,
            hz.pace,
            hz.noise,
            hz.periods_per_year,
        )
        value += due * hz.worth(left)
    return value
