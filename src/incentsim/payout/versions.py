"""The program version and contingent rules in force in each period of a payout over real
transactions.

A program with ``versions`` pays each period at the version in force then; a partner with
transactions before a version took effect is one of its incumbents, and keeps the previous
version's terms while the version grandfathers them. Contingent rules read a market indicator a
transactions file does not hold: the designer gives its value for each period
(:func:`read_indicators`, ``incentsim payout --indicators``), and the rules are applied by the
same :class:`~incentsim.program.in_force.ProgramPlan` a simulation uses. As in a simulation, the
rule in force in a period reads the indicator of the period just closed (the first period reads
its own value), one value for all partners.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pandas as pd

from incentsim.errors import DataError
from incentsim.program.compiled import CompiledProgram
from incentsim.program.in_force import ProgramPlan, indicator_period
from incentsim.program.spec import ContingentRule, Program
from incentsim.program.versions import INITIAL

#: The market indicators a contingent rule can read.
INDICATORS: tuple[str, ...] = get_args(ContingentRule.model_fields["indicator"].annotation)


def read_indicators(path: str | Path) -> dict[str, np.ndarray]:
    """A market indicator series from a CSV file: a ``period`` column (1-based, as on the
    statements) and one column per indicator (``demand``, ``price``, ``supply``,
    ``competitor_offer``; 1 = as planned, the competitor's offer as a rate).

    Returns each indicator's values by 0-based period (NaN for a period the file does not
    give). Raises :class:`~incentsim.errors.DataError` naming the file, line and column.
    """
    source = str(path)
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise DataError(source, [(None, f"cannot read the indicators: {exc}")]) from None
    problems: list[tuple[int | None, str]] = []
    if "period" not in frame.columns:
        problems.append((None, "no 'period' column (1-based periods, as on the statements)"))
    unknown = [c for c in frame.columns if c != "period" and c not in INDICATORS]
    if unknown:
        problems.append(
            (
                None,
                f"unknown column(s) {', '.join(map(str, unknown))}: indicators are "
                f"{', '.join(INDICATORS)}",
            )
        )
    if problems:
        raise DataError(source, problems)
    periods = pd.to_numeric(frame["period"], errors="coerce")
    for i, (raw, value) in enumerate(zip(frame["period"], periods, strict=True)):
        if not (np.isfinite(value) and value >= 1 and float(value).is_integer()):
            problems.append((i + 2, f"period {raw!r} is not a whole number of at least 1"))
    if periods.duplicated().any():
        twice = sorted({int(p) for p in periods[periods.duplicated()] if np.isfinite(p)})
        problems.append((None, f"period(s) {twice} given more than once"))
    names = [c for c in frame.columns if c != "period"]
    values = {name: pd.to_numeric(frame[name], errors="coerce") for name in names}
    for name in names:
        for i, (raw, value) in enumerate(zip(frame[name], values[name], strict=True)):
            if not (np.isfinite(value) and 0.0 <= value <= 10.0):
                problems.append((i + 2, f"{name} {raw!r} must be a number from 0 to 10"))
    if problems:
        raise DataError(source, problems)
    size = int(periods.max()) if len(periods) else 0
    out: dict[str, np.ndarray] = {}
    for name in names:
        series = np.full(size, np.nan)
        series[periods.astype(int).to_numpy() - 1] = values[name].to_numpy(dtype=np.float64)
        out[name] = series
    return out


@dataclass(frozen=True)
class InForce:
    """What is in force for each partner in one period of a payout.

    Attributes
    ----------
    program
        The compiled terms.
    version
        Each partner's version label.
    grandfathered_from
        The version each grandfathered partner is shielded from (``""`` for the others).
    grandfathered_until
        The last period (1-based) of that partner's grandfathering (0 for the others).
    rules
        The contingent rules in force, by name (``""``: none).
    budget_scale
        The period budget's multiplier from the rules in force (``None``: no rule scales it).
    """

    program: CompiledProgram
    version: np.ndarray
    grandfathered_from: np.ndarray
    grandfathered_until: np.ndarray
    rules: str
    budget_scale: float | None


class PeriodTerms:
    """The terms in force for each partner, period by period.

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
    indicators
        Each market indicator's value by 0-based period (:func:`read_indicators`); needed for
        the indicators the program's contingent rules read.
    indicators_source
        Where the indicators came from, for errors.
    """

    def __init__(
        self,
        program: Program,
        terms: CompiledProgram,
        partners: Any,
        metrics: Sequence[Any],
        source: str,
        indicators: Mapping[str, Sequence[float] | np.ndarray] | None = None,
        indicators_source: str = "--indicators",
    ) -> None:
        self.terms = terms
        self.n = len(partners.ids)
        self.plan = ProgramPlan.of(program, partners.segments, partners.regions)
        sold = np.array([np.asarray(m.revenue) > 0 for m in metrics]).reshape(-1, self.n)
        self.joined = np.where(sold.any(axis=0), sold.argmax(axis=0), -1)
        self._by_key: dict[bytes, CompiledProgram] = {}
        self.indicators = self._check(program, indicators or {}, len(metrics), indicators_source)

    @staticmethod
    def _check(
        program: Program,
        given: Mapping[str, Sequence[float] | np.ndarray],
        periods: int,
        source: str,
    ) -> dict[str, np.ndarray]:
        """The indicators the rules read, each with a value for every period a rule reads."""
        out: dict[str, np.ndarray] = {}
        problems: list[tuple[int | None, str]] = []
        for key, rule in program.contingent.items():
            name = rule.indicator
            if name in out:
                continue
            if name not in given:
                problems.append(
                    (
                        None,
                        f"program.contingent.{key} reads the market's {name} indicator, which a "
                        f"transactions file does not hold: give its value for each period "
                        f"(incentsim payout --indicators FILE.csv, columns period and {name})",
                    )
                )
                continue
            series = np.asarray(given[name], dtype=np.float64)
            needed = sorted({indicator_period(k) for k in range(periods)})
            missing = [k + 1 for k in needed if k >= len(series) or not np.isfinite(series[k])]
            if missing:
                problems.append(
                    (
                        None,
                        f"{name}: no value for period(s) {missing} (a rule in force in a period "
                        "reads the period just closed; the first period reads its own)",
                    )
                )
                continue
            out[name] = series
        if problems:
            raise DataError(source, problems)
        return out

    def at(self, period: int) -> InForce:
        """What is in force in ``period`` (0-based)."""
        none = np.full(self.n, "", dtype=object)
        if self.plan is None:
            labels = np.full(self.n, INITIAL, dtype=object)
            return InForce(self.terms, labels, none, np.zeros(self.n, dtype=np.int64), "", None)
        plan = self.plan
        steps = plan.partner_steps(period, self.joined)
        read = indicator_period(period)
        values = {name: np.full(self.n, series[read]) for name, series in self.indicators.items()}
        codes = plan.rules_on(values)
        key = steps.tobytes() + (b"" if codes is None else codes.tobytes())
        if key not in self._by_key:
            self._by_key[key] = plan.terms(steps, codes).program
        labels = np.array([s.label for s in plan.steps], dtype=object)[steps]
        latest = plan.steps[plan.step_at(period)]
        shielded = steps != plan.step_at(period)
        from_version = np.where(shielded, latest.label, "").astype(object)
        until = np.where(shielded, latest.effective + latest.grandfather, 0).astype(np.int64)
        on = (
            [
                name
                for name, rule in zip(plan.rule_names, plan.rules, strict=True)
                if bool(rule.in_force(np.asarray(values[rule.indicator][:1]))[0])
            ]
            if self.n
            else []
        )
        scale = (
            float(plan.budget_scale({k: np.asarray(v[0]) for k, v in values.items()}))
            if plan.scales_budget
            else None
        )
        return InForce(self._by_key[key], labels, from_version, until, ", ".join(on), scale)
