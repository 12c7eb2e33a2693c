"""The compiled terms in force each period, for a program with versions or contingent rules.

:class:`ProgramPlan` compiles each step of a program's :func:`~incentsim.program.versions.timeline`
(and each step as its contingent rules adjust it) for a population's groups, once, and gives
the terms in force in a period as one :class:`~incentsim.program.compiled.CompiledProgram`.
When partners of one group are under different terms (grandfathered partners on the previous
version, or partners whose market has triggered a rule), the terms are a
:class:`StackedProgram`: the variants' group tables one after the other, read at
``group + n_groups * variant`` for each partner, so the rules engine, the partners'
anticipation and the ledger read it as they read any compiled program. Versions and rules
change only values the engine reads at each use (:data:`~incentsim.program.spec.CHANGEABLE`),
so terms read once at the start (payout schedule, guardrails, windows) are the same in every
variant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from incentsim.program.compiled import (
    CompiledProgram,
    GroupTerms,
    IntArray,
    PartnerTerms,
    _Seen,
    compile_program,
)
from incentsim.program.spec import SCALE_STEP, Program
from incentsim.program.versions import Step, timeline, with_rule


def indicator_period(period: int) -> int:
    """The period whose market indicator a contingent rule in force in ``period`` reads: the
    one just closed, what a rule can know at the start of ``period`` (the first period reads
    its own; a simulation reads that period's first week)."""
    return max(period - 1, 0)


@dataclass(frozen=True)
class StackedProgram(CompiledProgram):
    """Several compiled variants of a program stacked on the group axis; each partner reads
    its ``variant`` (an array shaped like the partners' groups)."""

    variant: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    base_groups: int = 1
    _effective: list[tuple[_Seen, IntArray]] = field(default_factory=list, repr=False)

    def at(self, group: IntArray) -> PartnerTerms:
        """The terms at each partner's group in its variant (see :meth:`CompiledProgram.at`)."""
        if not (self._effective and self._effective[0][0].holds(group)):
            effective = np.asarray(group, dtype=np.int64) + self.base_groups * self.variant
            effective.setflags(write=False)
            self._effective[:] = [(_Seen(group), effective)]
        return super().at(self._effective[0][1])


def stack(variants: Sequence[CompiledProgram], variant: IntArray) -> StackedProgram:
    """``variants`` (compiled for the same groups) stacked, read at ``variant`` per partner."""
    first = variants[0]
    tables: dict[str, Any] = {
        f.name: np.concatenate([getattr(v, f.name) for v in variants], axis=0)
        for f in fields(GroupTerms)
    }
    frozen_variant = np.array(variant, dtype=np.int64)
    frozen_variant.setflags(write=False)
    return StackedProgram(
        **tables,
        group_names=tuple(n for v in variants for n in v.group_names),
        tier_names=first.tier_names,
        accelerator_names=first.accelerator_names,
        horizon_accelerator_names=first.horizon_accelerator_names,
        pacer_names=first.pacer_names,
        bonus_names=first.bonus_names,
        bonus_weeks=first.bonus_weeks,
        spiff_names=first.spiff_names,
        milestone_names=first.milestone_names,
        spiff_product=tuple(p for v in variants for p in v.spiff_product),
        currency=first.currency,
        budget=first.budget,
        awards=first.awards,  # awards cannot change by version or rule: read at the base groups
        variant=frozen_variant,
        base_groups=first.n_groups,
    )


@dataclass(frozen=True)
class TermsInForce:
    """The terms in force for each partner in a period.

    Attributes
    ----------
    program
        The compiled terms (a :class:`StackedProgram` when partners are under several).
    step
        Each partner's timeline step, an array shaped like the groups.
    """

    program: CompiledProgram
    step: IntArray


class ProgramPlan:
    """A program's versions and contingent rules compiled for a population's groups.

    Parameters
    ----------
    program
        The validated program.
    segments, regions
        The population's segment and region names, in order.
    """

    def __init__(self, program: Program, segments: Sequence[str], regions: Sequence[str]) -> None:
        self.steps: tuple[Step, ...] = timeline(program)
        self.rules = tuple(program.contingent.values())
        self.rule_names = tuple(program.contingent)
        self.segments, self.regions = tuple(segments), tuple(regions)
        self._compiled: dict[tuple[int, ...], CompiledProgram] = {}

    @classmethod
    def of(
        cls, program: Program, segments: Sequence[str], regions: Sequence[str]
    ) -> ProgramPlan | None:
        """The plan of ``program``, or ``None`` when it has no versions and no rules."""
        if not (program.versions or program.contingent):
            return None
        return cls(program, segments, regions)

    def compiled(self, step: int, rules: Sequence[int] = ()) -> CompiledProgram:
        """Step ``step`` compiled, with the rules in force applied: ``rules`` holds a code per
        rule (:meth:`rules_on`), none for no rule in force."""
        key = (step, *rules)
        if key not in self._compiled:
            program = self.steps[step].program
            for rule, code in zip(self.rules, rules, strict=False):
                if code:
                    program = with_rule(program, rule, scale=code * SCALE_STEP)
            self._compiled[key] = compile_program(program, self.segments, self.regions)
        return self._compiled[key]

    def step_at(self, period: int) -> int:
        """The latest step in force at ``period`` for partners not grandfathered."""
        return max(i for i, s in enumerate(self.steps) if s.start <= period)

    def partner_steps(
        self, period: int, join_period: IntArray, known_at: int | None = None
    ) -> IntArray:
        """Each partner's step at ``period``: the latest in force, or for partners who joined
        before its version took effect and are still grandfathered, the step before it.

        With ``known_at``, only versions announced by that period count (what partners know
        then of ``period``'s terms).
        """
        step = self.step_at(period)
        if known_at is not None:
            while step > 0 and self.steps[step].announced > known_at:
                step = self.steps[step].previous
        current = self.steps[step]
        steps = np.full(np.shape(join_period), step, dtype=np.int64)
        if current.grandfather and period < current.effective + current.grandfather:
            incumbent = (join_period >= 0) & (join_period < current.effective)
            steps[incumbent] = current.previous
        return steps

    def terms(self, steps: IntArray, rules: IntArray | None = None) -> TermsInForce:
        """The compiled terms for each partner's step and rule codes (``(..., n_rules)`` from
        :meth:`rules_on`; ``None``: no rule in force)."""
        columns = [steps[..., None]] if rules is None else [steps[..., None], rules]
        stacked = np.concatenate(columns, axis=-1)
        codes = stacked.reshape(-1, stacked.shape[-1])
        keys, variant = np.unique(codes, axis=0, return_inverse=True)
        variants = [self.compiled(int(k[0]), [int(c) for c in k[1:]]) for k in keys]
        program = (
            variants[0] if len(variants) == 1 else stack(variants, variant.reshape(steps.shape))
        )
        return TermsInForce(program, steps)

    def rules_on(self, indicators: dict[str, NDArray[np.float64]]) -> IntArray | None:
        """Per partner and rule, the rule's code given each indicator's value (arrays shaped
        like the groups): 0 when it is not in force, else 1, or for a rule whose thresholds
        follow the indicator, the scale in steps of :data:`SCALE_STEP` (rounded down, at least
        one); ``None`` without rules."""
        if not self.rules:
            return None
        codes = []
        for rule in self.rules:
            value = indicators[rule.indicator]
            on = rule.in_force(value) & rule.changes_terms
            code = np.ones(value.shape, dtype=np.int64)
            if rule.threshold_scale == "indicator":
                steps = np.floor(np.minimum(value, 10.0) / SCALE_STEP + 1e-9)
                code = np.maximum(steps, 1).astype(np.int64)
            codes.append(np.where(on, code, 0))
        return np.stack(codes, axis=-1)

    @property
    def scales_budget(self) -> bool:
        """Whether a rule scales the budget."""
        return any(rule.budget_scale != 1.0 for rule in self.rules)

    def budget_scale(self, indicators: dict[str, NDArray[np.float64]]) -> NDArray[np.float64]:
        """The budget's multiplier for a period: the product of ``budget_scale`` over the rules
        in force, given each indicator's program-wide value (arrays of any one shape, e.g. per
        replication); 1 where none is."""
        shape = np.shape(next(iter(indicators.values()))) if indicators else ()
        scale = np.ones(shape)
        for rule in self.rules:
            if rule.budget_scale != 1.0:
                on = rule.in_force(indicators[rule.indicator])
                scale = np.where(on, scale * rule.budget_scale, scale)
        return scale

    def indicators_used(self) -> tuple[str, ...]:
        """The market indicators the rules read, in the order first used."""
        return tuple(dict.fromkeys(rule.indicator for rule in self.rules))


__all__ = ["ProgramPlan", "StackedProgram", "TermsInForce", "indicator_period", "stack"]
