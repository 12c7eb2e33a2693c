"""The engine's side of program versions and contingent rules.

At the start of each period :class:`ProgramInForce` sets the terms in force for each partner
(the version it is under, grandfathered or not, and the contingent rules its market has
triggered) and the terms partners expect next period: a version announced by now counts, so
the timing games (:func:`~incentsim.engine.decisions.timing_choice`) price revenue moved across
the change date at the next version's rates, pulling revenue ahead of a cut and holding it back
before a rise. When a version is announced, partners it cuts lose trust and loyalty, less the
more notice they get (:func:`trust_after_change`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from incentsim.engine import decisions
from incentsim.engine.partner_state import update_trust
from incentsim.market.demand import normal_demand
from incentsim.population.behaviour import Behaviour
from incentsim.program.compiled import CompiledProgram
from incentsim.program.in_force import ProgramPlan, indicator_period
from incentsim.program.rules import anticipated_payout

if TYPE_CHECKING:
    from incentsim.engine.simulation import Simulation

FloatArray = NDArray[np.float64]


def trust_after_change(
    behaviour: Behaviour, trust: FloatArray, cut_share: FloatArray, notice_weeks: FloatArray
) -> FloatArray:
    """Trust after a program change is announced that cuts ``cut_share`` (0-1) of what a
    partner expects to earn, ``notice_weeks`` before the cut reaches it."""
    notice = 0.5 ** (np.maximum(notice_weeks, 0.0) / behaviour.change_notice_weeks)
    return np.clip(trust * (1.0 - behaviour.cut_sensitivity * cut_share * notice), 0.0, 1.0)


def _over_partners(values: FloatArray, active: NDArray[np.bool_]) -> FloatArray:
    """An indicator per partner ``(reps, slots)`` averaged over each replication's active
    partners (over every slot in a replication with none active): the program-wide value a
    rule on the budget reads."""
    count = active.sum(axis=-1)
    mean_active = np.where(active, values, 0.0).sum(axis=-1) / np.maximum(count, 1)
    averaged: FloatArray = np.where(count > 0, mean_active, values.mean(axis=-1))
    return averaged


class ProgramInForce:
    """Which terms are in force for each partner, period by period, in one simulation.

    Parameters
    ----------
    plan
        The program's versions and rules compiled for the population.
    """

    def __init__(self, plan: ProgramPlan) -> None:
        self.plan = plan
        #: The period's budget multiplier per replication (``None``: no rule scales it).
        self.budget_scale: FloatArray | None = None

    def start_period(self, sim: Simulation, period: int) -> tuple[CompiledProgram, CompiledProgram]:
        """The terms in force in ``period`` and those partners expect for the next period;
        partners learn of versions announced now, and the event log marks announcements,
        versions taking effect and, per replication, the contingent rules in force."""
        plan, wpp = self.plan, sim.calendar.weeks_per_period
        indicators = self._indicators(sim, period) if plan.rules else {}
        rules = plan.rules_on(indicators) if plan.rules else None
        wide = {
            name: _over_partners(values, sim.state.active) for name, values in indicators.items()
        }
        if plan.scales_budget:
            self.budget_scale = plan.budget_scale(wide)
        for name, rule in zip(plan.rule_names, plan.rules, strict=True):
            # In force in a replication: for some active partner's terms, or for its budget.
            on = np.zeros(sim.reps, dtype=bool)
            if rule.changes_terms:
                on |= (rule.in_force(indicators[rule.indicator]) & sim.state.active).any(axis=-1)
            if rule.budget_scale != 1.0:
                on |= rule.in_force(wide[rule.indicator])
            if on.any():
                sim.recorder.event("rule", period * wpp, on, rule=name)
        now = plan.terms(plan.partner_steps(period, sim.state.join_period), rules).program
        ahead = plan.partner_steps(period + 1, sim.state.join_period, known_at=period)
        upcoming = plan.terms(ahead, rules).program
        everyone = np.ones(sim.reps, dtype=bool)
        for step in plan.steps[1:]:
            if step.announced == period and step.start == step.effective:
                self._announce(sim, period, plan.steps.index(step))
                sim.recorder.event("announcement", period * wpp, everyone, version=step.version)
            if step.start == period:
                sim.recorder.event(
                    "version", period * wpp, np.ones(sim.reps, dtype=bool), version=step.label
                )
        return now, upcoming

    def _indicators(self, sim: Simulation, period: int) -> dict[str, FloatArray]:
        """Each indicator per partner, averaged over the period just closed (the first week
        at period 0): what a rule can know at the start of ``period``. Demand is read against
        its planned level (trend and seasonality), so 1 is demand as planned."""
        wpp = sim.calendar.weeks_per_period
        read = indicator_period(period)
        weeks = slice(0, 1) if period == 0 else slice(read * wpp, (read + 1) * wpp)
        out: dict[str, FloatArray] = {}
        for name in {rule.indicator for rule in self.plan.rules}:
            values = getattr(sim.market, name)[:, weeks, :]
            if name == "demand":
                planned = normal_demand(sim.scenario.market, sim.calendar)[weeks]
                values = values / planned[None, :, None]
            out[name] = np.take(values.mean(axis=1), sim._market_index)
        return out

    def _announce(self, sim: Simulation, period: int, first: int) -> None:
        """Partners learn of the version whose first step is ``first``: those it cuts lose
        trust, and loyalty at once (:func:`trust_after_change`)."""
        plan, b, p = self.plan, sim.behaviour, sim.partners
        step = plan.steps[first]
        last = max(i for i, s in enumerate(plan.steps) if s.version == step.version)
        wpp = sim.calendar.weeks_per_period
        revenue = p.capacity * decisions.share_of_wallet(b, sim.state.loyalty) * wpp
        logos = revenue / np.maximum(p.deal_size, 1.0) * p.new_logo_share

        def pay(cp: CompiledProgram) -> FloatArray:
            value, _ = anticipated_payout(
                cp, sim.pstate, sim.group, revenue, logos, p.certified_staff, p.csat
            )
            return value

        before, after = pay(plan.compiled(step.previous)), pay(plan.compiled(last))
        cut = np.divide(
            np.maximum(before - after, 0.0),
            before,
            out=np.zeros_like(before),
            where=before > 0,
        )
        incumbent = (sim.state.join_period >= 0) & (sim.state.join_period < step.effective)
        notice = (step.effective - period + np.where(incumbent, step.grandfather, 0)) * wpp
        trust = trust_after_change(b, sim.state.trust, np.minimum(cut, 1.0), notice)
        update_trust(sim.state, b, trust, sim.state.active)
