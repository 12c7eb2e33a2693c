"""Effective-dated program versions and contingent rules: which program is in force when.

A program's ``versions`` are refreshes, each a diff on the version before in the language of
``extends`` and overrides (:func:`~incentsim._merge.deep_merge`). :func:`timeline` turns them
into :class:`Step` s: the program as launched (version ``"initial"``), then each version from
its effective period, phased in over ``phase_in_periods`` steps when it says so. A contingent
rule is a diff too (:func:`with_rule`), merged in for the partners whose market indicator is past
its level.

Everything here describes programs; :mod:`incentsim.program.in_force` compiles them for a
population's groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from incentsim._merge import deep_merge
from incentsim.program.spec import ContingentRule, Program

#: The name of the program as launched, before any version takes effect.
INITIAL = "initial"


@dataclass(frozen=True)
class Step:
    """One set of program terms and the first period they are in force.

    Attributes
    ----------
    version
        The version's name (:data:`INITIAL` for the program as launched); a phased-in
        version's steps share it.
    label
        What a statement calls the step: the version's name, with the phase when phased in.
    start
        First period in force.
    program
        The program (overrides kept, no versions or contingent rules).
    effective, announced, grandfather
        The version's effective period, announcement period and grandfathering periods.
    previous
        Index of the step in force just before the version took effect (-1 for the first).
    """

    version: str
    label: str
    start: int
    program: Program
    effective: int
    announced: int
    grandfather: int
    previous: int


def _base(program: Program) -> dict[str, Any]:
    return program.model_dump(exclude={"versions", "contingent"})


def _between(old: Any, new: Any, weight: float) -> Any:
    """``new`` reached a ``weight`` (0-1] of the way from ``old``: numbers move in proportion,
    anything else (a basis, a cap set or lifted) changes at the last step."""
    if isinstance(new, dict):
        old_map = old if isinstance(old, dict) else {}
        return {k: _between(old_map.get(k), v, weight) for k, v in new.items()}
    numbers = (int, float)
    if (
        isinstance(new, numbers)
        and isinstance(old, numbers)
        and not isinstance(new, bool)
        and not isinstance(old, bool)
    ):
        return old + weight * (new - old)
    return new if weight >= 1.0 else old


_OVERRIDES = ("segment_overrides", "region_overrides")


def _phased(data: dict[str, Any], changes: dict[str, Any], weight: float) -> dict[str, Any]:
    """``changes`` a ``weight`` of the way from ``data`` (:func:`_between`); a segment's or a
    region's override moves from the value that group had (the program's, or its override's)."""
    plain = {k: v for k, v in changes.items() if k not in _OVERRIDES}
    out: dict[str, Any] = _between(data, plain, weight)
    program = {k: v for k, v in data.items() if k not in _OVERRIDES}
    for part in _OVERRIDES:
        for key, diff in (changes.get(part) or {}).items():
            old = deep_merge(program, data[part].get(key, {}))
            out.setdefault(part, {})[key] = _between(old, diff, weight)
    return out


def _validated(data: dict[str, Any], where: str) -> Program:
    try:
        return Program.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{where}: {loc + ': ' if loc else ''}{first['msg']}") from None


def timeline(program: Program) -> tuple[Step, ...]:
    """The program's steps in the order they take effect (the first is the program as
    launched, in force from period 0)."""
    data = _base(program)
    steps = [Step(INITIAL, INITIAL, 0, _validated(data, "program"), 0, 0, 0, -1)]
    for name, version in program.versions.items():
        previous = len(steps) - 1
        target = deep_merge(data, version.changes)
        phases = version.phase_in_periods
        for j in range(phases):
            weight = (j + 1) / phases
            stepped = deep_merge(data, _phased(data, version.changes, weight))
            label = name if phases == 1 else f"{name} ({j + 1} of {phases})"
            steps.append(
                Step(
                    name,
                    label,
                    version.effective_period + j,
                    _validated(stepped, f"versions.{name}.changes"),
                    version.effective_period,
                    version.announced,
                    version.grandfather_periods,
                    previous,
                )
            )
        data = target
    return tuple(steps)


def _scaled(data: dict[str, Any], scale: float) -> dict[str, Any]:
    """``data`` (a program or an override) with every revenue threshold it sets times
    ``scale``: tier revenue requirements, accelerator and window bonus thresholds, quota
    amount and floor."""
    out = dict(data)
    tiers = data.get("tiers")
    if isinstance(tiers, dict):
        out["tiers"] = {}
        for key, tier in tiers.items():
            requirements = tier.get("requirements") if isinstance(tier, dict) else None
            if isinstance(requirements, dict) and requirements.get("revenue") is not None:
                tier = {**tier, "requirements": {**requirements}}
                tier["requirements"]["revenue"] = requirements["revenue"] * scale
            out["tiers"][key] = tier
    for part in ("accelerators", "bonuses"):
        entries = data.get(part)
        if isinstance(entries, dict):
            out[part] = {
                key: {**entry, "threshold": entry["threshold"] * scale}
                if isinstance(entry, dict) and entry.get("threshold") is not None
                else entry
                for key, entry in entries.items()
            }
    quota = data.get("quota")
    if isinstance(quota, dict):
        out["quota"] = {
            k: v * scale if k in ("amount", "floor") and v is not None else v
            for k, v in quota.items()
        }
    return out


def with_rule(
    program: Program, rule: ContingentRule, where: str = "contingent", scale: float = 1.0
) -> Program:
    """``program`` (one step of a timeline) as the contingent ``rule`` adjusts it; ``scale``
    is the threshold scale when the rule's follows the indicator."""
    data = deep_merge(_base(program), rule.changes)
    factor = scale if rule.threshold_scale == "indicator" else rule.threshold_scale
    if factor != 1.0:
        data = _scaled(data, factor)
        for part in ("segment_overrides", "region_overrides"):
            data[part] = {k: _scaled(v, factor) for k, v in data[part].items()}
    return _validated(data, where)


def _check_entries(where: str, changes: dict[str, Any], program: Program) -> None:
    """A change names existing tiers, accelerators, milestones and bonuses: it cannot add new
    ones."""
    for part in ("tiers", "accelerators", "milestones", "bonuses"):
        added = sorted(set(changes.get(part) or {}) - set(getattr(program, part)))
        if added:
            raise ValueError(
                f"{where}.{part}: {added} not in the program; a version or contingent rule "
                "changes values of existing entries and cannot add new ones"
            )


def check_timeline(program: Program) -> None:
    """Refuse versions out of order or overlapping, and versions or rules that make an invalid
    program, naming the field (raises ``ValueError``)."""
    ready, last = 1, None  # the first period the next version may take effect
    for name, version in program.versions.items():
        if version.effective_period < ready:
            raise ValueError(
                f"versions.{name}.effective_period: {version.effective_period} is before "
                f"versions.{last} has fully taken effect (period {ready}): list versions in "
                "the order they take effect, each after the previous one's grandfathering and "
                "phase-in"
            )
        ready = version.effective_period + max(
            version.grandfather_periods, version.phase_in_periods
        )
        last = name
    for name, version in program.versions.items():
        _check_entries(f"versions.{name}.changes", version.changes, program)
    for key, rule in program.contingent.items():
        _check_entries(f"contingent.{key}.changes", rule.changes, program)
    steps = timeline(program)
    for key, rule in program.contingent.items():
        for step in steps:
            with_rule(step.program, rule, f"contingent.{key} on version {step.label}")
