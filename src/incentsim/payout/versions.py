"""The program version in force in each period of a payout over real transactions.

A program with ``versions`` pays each period at the version in force then; a partner with
transactions before a version took effect is one of its incumbents, and keeps the previous
version's terms while the version grandfathers them. Contingent rules read a market indicator a
transactions file does not hold, so a program with them is refused with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from incentsim.errors import DataError
from incentsim.program.compiled import CompiledProgram
from incentsim.program.in_force import ProgramPlan
from incentsim.program.spec import Program
from incentsim.program.versions import INITIAL


class PeriodTerms:
    """The compiled terms and the version's name for each partner, period by period.

    Parameters
    ----------
    program
        The validated program.
    terms
        The program compiled for the partners' groups (used whenever it has no versions).
    partners
        The partners (``segments``, ``regions``, ``ids``).
    metrics
        Per-period metrics; a partner's first period with revenue is when it joined.
    source
        The transactions' name, for errors.
    """

    def __init__(
        self,
        program: Program,
        terms: CompiledProgram,
        partners: Any,
        metrics: Sequence[Any],
        source: str,
    ) -> None:
        if program.contingent:
            raise DataError(
                source,
                [
                    (
                        None,
                        "program.contingent: contingent rules read a market indicator that a "
                        "transactions file "
                        "does not hold; pay with the rule's changes written into the program "
                        "(or a version) instead",
                    )
                ],
            )
        self.terms = terms
        self.n = len(partners.ids)
        self.plan = ProgramPlan.of(program, partners.segments, partners.regions)
        sold = np.array([np.asarray(m.revenue) > 0 for m in metrics]).reshape(-1, self.n)
        self.joined = np.where(sold.any(axis=0), sold.argmax(axis=0), -1)
        self._by_steps: dict[bytes, CompiledProgram] = {}

    def at(self, period: int) -> tuple[CompiledProgram, np.ndarray]:
        """The terms of ``period`` and each partner's version label."""
        if self.plan is None:
            return self.terms, np.full(self.n, INITIAL, dtype=object)
        steps = self.plan.partner_steps(period, self.joined)
        key = steps.tobytes()
        if key not in self._by_steps:
            self._by_steps[key] = self.plan.terms(steps).program
        labels = np.array([s.label for s in self.plan.steps], dtype=object)[steps]
        return self._by_steps[key], labels
