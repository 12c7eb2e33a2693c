"""The design space: candidate program designs per segment, generated from the levers.

A *candidate* sets some program values (``{"program.tiers.silver.rebate_rate": 0.025, ...}``)
and is applied to a segment as that segment's ``program.segment_overrides`` entry, on top of
any override the base scenario already gives the segment. Candidates come from

* the base design itself (``include_base``, no change), a useful reference;
* the designs listed by hand under ``candidates``;
* the levers: every combination (``sampler: grid``) or a Latin hypercube sample of
  ``max_candidates`` points (``sampler: lhs``, seeded by the optimisation's seed, else the base
  scenario's). Program-wide levers (the shortfall policy, the reserve's contribution rule) are
  not part of a segment's design: :mod:`incentsim.optimizer.program_wide` chooses them.

Levers on the same field of several tiers (``program.tiers.silver.rebate_rate`` and
``program.tiers.gold.rebate_rate``, or their ``requirements``) must rise with the tiers. The
Latin hypercube respects this when it samples: a point whose values of such a field fall as
tiers rise gets them in ascending order (a *repair*), when each sorted value is still within its
lever's range or values. Then, before anything is simulated, each candidate is checked by
validating the program it makes for the segment: a design that still breaks a rule of the
program (a grid combination with gold below silver, a threshold no higher than the tier below)
is skipped, and how many were skipped and why is reported (:meth:`DesignSpace.skipped_reasons`).
Candidates that make the same program for a segment are kept once.

>>> from incentsim.optimizer.space import override_from_settings
>>> override_from_settings({"program.tiers.silver.rebate_rate": 0.025, "program.partner_cap": 5e4})
{'tiers': {'silver': {'rebate_rate': 0.025}}, 'partner_cap': 50000.0}
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import ValidationError

from incentsim._merge import deep_merge
from incentsim.optimizer.spec import CANDIDATE_KEYS, Lever, OptimizationSpec
from incentsim.program.spec import Program
from incentsim.program.versions import timeline
from incentsim.scenario.loader import set_values
from incentsim.scenario.model import Scenario
from incentsim.scenario.paths import flatten, nest

__all__ = [
    "BASE_ID",
    "Candidate",
    "DesignSpace",
    "add_to_segment",
    "canonical_json",
    "generate_candidates",
    "lever_values",
    "override_from_settings",
    "segment_program",
    "segment_values",
    "short_hash",
]

BASE_ID = "base"
#: Names of generated designs (``c001``, ``c002``, ...), reserved in hand-listed candidates.
GENERATED_ID = re.compile(r"c\d{3,}")


@dataclass(frozen=True)
class Candidate:
    """One program design for a segment.

    Attributes
    ----------
    id
        Short name: ``base``, a hand-listed design's ``name``, or ``c001``, ``c002``, ...
        The same design has the same id in every segment.
    settings
        ``{program path: value}``; empty for the base design.
    source
        ``"base"``, ``"hand"``, ``"grid"`` or ``"lhs"``.
    """

    id: str
    settings: dict[str, Any] = field(default_factory=dict)
    source: str = "base"

    @property
    def override(self) -> dict[str, Any]:
        """The candidate as a (partial) program override."""
        return override_from_settings(self.settings)

    @property
    def key(self) -> str:
        """Canonical JSON of the settings (identifies the design)."""
        return canonical_json(self.settings)

    def label(self) -> str:
        """The settings as ``path=value`` pairs (``base design`` when there are none)."""
        if not self.settings:
            return "base design"
        return ", ".join(
            f"{path.removeprefix('program.')}={_show(value)}"
            for path, value in self.settings.items()
        )


@dataclass
class DesignSpace:
    """Candidates per segment and what was dropped.

    Attributes
    ----------
    segments
        Segment names, in the scenario's order.
    candidates
        Valid candidates per segment, base first, then hand-listed, then generated.
    dropped
        Per segment, ``(candidate, reason)`` for each candidate whose program does not validate.
    duplicates
        Per segment, how many candidates made the same program as an earlier one.
    repaired
        Sampled designs whose tier values were put in ascending order (see the module notes).
    """

    segments: list[str]
    candidates: dict[str, list[Candidate]]
    dropped: dict[str, list[tuple[Candidate, str]]] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    repaired: int = 0

    @property
    def n_candidates(self) -> int:
        """Candidates over all segments."""
        return sum(len(c) for c in self.candidates.values())

    @property
    def n_dropped(self) -> int:
        """Distinct designs dropped in at least one segment."""
        return len({c.key for items in self.dropped.values() for c, _ in items})

    def skipped_reasons(self) -> dict[str, int]:
        """Why designs were skipped before simulation: reason -> distinct designs, the reason
        in the program's terms (without the segment it was found in), most frequent first."""
        designs: dict[str, set[str]] = {}
        for g, items in self.dropped.items():
            prefix = f"segment_overrides.{g}."
            for candidate, reason in items:
                reason = reason.removeprefix(prefix).replace("Value error, ", "")
                designs.setdefault(reason, set()).add(candidate.key)
        counts = {reason: len(keys) for reason, keys in designs.items()}
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def summary(self) -> str:
        """One line per segment: how many candidates, dropped and duplicate."""
        lines = []
        for g in self.segments:
            lines.append(
                f"{g}: {len(self.candidates[g])} candidates"
                f" ({len(self.dropped.get(g, []))} skipped as invalid programs,"
                f" {self.duplicates.get(g, 0)} duplicates)"
            )
        return "\n".join(lines)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces (for hashing and comparing designs)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def short_hash(value: Any, length: int = 16) -> str:
    """The first ``length`` hex digits of the SHA-256 of ``value``'s canonical JSON."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()[:length]


def override_from_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``{"program.a.b": v}`` as the nested override ``{"a": {"b": v}}``."""
    return nest({path.removeprefix("program."): value for path, value in settings.items()})


def segment_values(segment: str, override: Mapping[str, Any]) -> dict[tuple[str, ...], Any]:
    """A candidate's ``override`` as values at paths of the program (as parts, so a segment
    name may hold a dot): values of the program go to the segment's override
    (``segment_overrides.<segment>...``), values of a version's changes
    (``versions.<name>.changes...``, a refresh's rates) to that version's override for the
    segment (``versions.<name>.changes.segment_overrides.<segment>...``), so the segment's
    refresh is optimised and the other segments keep theirs."""
    override = dict(override)
    versions = override.pop("versions", None) or {}
    values = {("segment_overrides", segment, *path): v for path, v in flatten(override).items()}
    for name, version in versions.items():
        by_segment = ("versions", name, "changes", "segment_overrides", segment)
        changes = flatten(version.get("changes") or {})
        values.update({(*by_segment, *path): v for path, v in changes.items()})
    return values


def add_to_segment(program: dict[str, Any], segment: str, override: Mapping[str, Any]) -> None:
    """Add a candidate's ``override`` to ``segment``'s design in ``program`` (a program's data,
    changed in place) by the one way values are set at paths
    (:func:`~incentsim.scenario.loader.set_values` of :func:`segment_values`)."""
    set_values(program, segment_values(segment, override), document="program")


def segment_program(base: Program, segment: str, override: Mapping[str, Any]) -> dict[str, Any]:
    """The base program (as a dict) with ``override`` added to ``segment``'s design
    (:func:`add_to_segment`)."""
    data = base.model_dump(mode="json")
    add_to_segment(data, segment, override)
    return data


def lever_values(lever: Lever, base_value: Any) -> list[Any]:
    """The values a lever takes on the grid (its ``values``, or ``steps`` points on its range)."""
    if lever.values is not None:
        return list(lever.values)
    assert lever.range is not None
    assert lever.steps is not None
    low, high = lever.range
    return _dedupe([_typed(v, base_value, high - low) for v in np.linspace(low, high, lever.steps)])


def generate_candidates(spec: OptimizationSpec, base: Scenario) -> DesignSpace:
    """The valid candidates per segment for an optimisation (see the module notes).

    Raises
    ------
    OptimizationSpecError
        A lever or hand-listed path does not exist in the base program, a lever names an
        unknown segment, or the grid is larger than ``max_candidates``.
    """
    segments = list(base.population.segments)
    program_dump = base.program.model_dump(mode="json")
    base_values: dict[str, Any] = {}
    for i, lever in enumerate(spec.levers):
        base_values[lever.path] = _value_at(spec, program_dump, lever.path, f"levers.{i}.path")
        _check_lever_values(spec, program_dump, lever, f"levers.{i}")
        for g in lever.segments or []:
            if g not in segments:
                raise spec.error(f"levers.{i}.segments", f"'{g}' is not a segment of the scenario")
    hand: list[tuple[Candidate, list[str] | None]] = []
    for i, item in enumerate(spec.candidates):
        settings = {k: v for k, v in item.items() if k not in CANDIDATE_KEYS}
        for path in settings:
            _value_at(spec, program_dump, path, f"candidates.{i}")
        _refuse_invalid(spec, program_dump, settings, f"candidates.{i}")
        only = item.get("segments")
        if only is not None:
            if isinstance(only, str):
                only = [only]
            for g in only:
                if g not in segments:
                    raise spec.error(f"candidates.{i}.segments", f"'{g}' is not a segment")
        name = str(item.get("name") or f"hand{i + 1}")
        hand.append((Candidate(name, settings, "hand"), only))
    names = [c.id for c, _ in hand]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise spec.error(f"candidates.{i}.name", f"'{name}' names two candidates")
        if name == BASE_ID or GENERATED_ID.fullmatch(name):
            raise spec.error(
                f"candidates.{i}.name",
                f"'{name}' is reserved ('{BASE_ID}' is the base program, c001, c002, ... the "
                "generated designs)",
            )

    seed = base.seed if spec.seed is None else spec.seed  # as the simulations' seed
    ids: dict[str, str] = {}  # settings key -> id, so a design keeps its id across segments
    samples: dict[tuple[int, ...], list[dict[str, Any]]] = {}
    space = DesignSpace(segments, {})
    for g in segments:
        active = tuple(
            i
            for i, lever in enumerate(spec.levers)
            if not lever.program_wide and (lever.segments is None or g in lever.segments)
        )
        if active not in samples:
            levers = [spec.levers[i] for i in active]
            samples[active] = _sample(spec, levers, base_values, seed)
            if spec.sampler == "lhs":
                samples[active], repaired = _in_tier_order(
                    levers, samples[active], base_values, list(base.program.tiers)
                )
                space.repaired += repaired
        proposals: list[Candidate] = []
        if spec.include_base:
            proposals.append(Candidate(BASE_ID, {}, "base"))
        proposals += [c for c, only in hand if only is None or g in only]
        for settings in samples[active]:
            key = canonical_json(settings)
            if key not in ids:
                ids[key] = f"c{len(ids) + 1:03d}"  # matches GENERATED_ID
            proposals.append(Candidate(ids[key], settings, spec.sampler))
        space.candidates[g], space.dropped[g], space.duplicates[g] = _check(
            base.program, g, proposals
        )

    if not spec.per_segment:
        _common_candidates(space)
    for g in segments:
        if not space.candidates[g]:
            reasons = "; ".join(sorted({r for _, r in space.dropped[g]})[:3])
            raise spec.error("levers", f"no valid candidate for segment '{g}' ({reasons})")
    return space


def _check(
    program: Program, segment: str, proposals: Sequence[Candidate]
) -> tuple[list[Candidate], list[tuple[Candidate, str]], int]:
    """Valid, distinct candidates; the invalid ones with the reason; how many were duplicates."""
    valid: list[Candidate] = []
    dropped: list[tuple[Candidate, str]] = []
    seen: set[str] = set()
    duplicates = 0
    for candidate in proposals:
        try:
            made = Program.model_validate(segment_program(program, segment, candidate.override))
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            dropped.append((candidate, f"{where}: {message}" if where else message))
            continue
        # The segment's terms in every version: designs differing only in a refresh differ.
        fingerprint = canonical_json(
            [step.program.resolved(segment).model_dump(mode="json") for step in timeline(made)]
        )
        if fingerprint in seen:
            duplicates += 1
            continue
        seen.add(fingerprint)
        valid.append(candidate)
    return valid, dropped, duplicates


def _check_lever_values(
    spec: OptimizationSpec, program: Mapping[str, Any], lever: Lever, where: str
) -> None:
    """Refuse a lever value the program cannot hold whatever the other levers are (``lots`` or
    NaN for a rate, a rate of 5); values that only clash with others are dropped later."""
    if lever.values is not None:
        for j, value in enumerate(lever.values):
            _refuse_invalid(spec, program, {lever.path: value}, f"{where}.values.{j}")
    else:
        assert lever.range is not None
        for end, value in zip(("low", "high"), lever.range, strict=True):
            _refuse_invalid(spec, program, {lever.path: value}, f"{where}.range ({end} end)")


def _refuse_invalid(
    spec: OptimizationSpec, program: Mapping[str, Any], settings: Mapping[str, Any], where: str
) -> None:
    """Refuse ``settings`` when the base program with them fails at one of their own fields."""
    try:
        Program.model_validate(deep_merge(dict(program), override_from_settings(settings)))
    except ValidationError as exc:
        own = {tuple(path.removeprefix("program.").split(".")) for path in settings}
        for error in exc.errors():
            loc = tuple(str(p) for p in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            field, sep, rest = message.partition(": ")
            if sep and re.fullmatch(r"[A-Za-z_][\w.-]*", field):  # a path named in the message
                loc, message = (*loc, *field.split(".")), rest
            if any(loc[: len(path)] == path for path in own):
                shown = error.get("input")
                got = f" (got {shown!r})" if isinstance(shown, str | int | float) else ""
                raise spec.error(where, f"program.{'.'.join(loc)}: {message}{got}") from None


def _common_candidates(space: DesignSpace) -> None:
    """With one design for every segment, keep only designs valid in every segment."""
    keys = [{c.key for c in space.candidates[g]} for g in space.segments]
    common = set.intersection(*keys) if keys else set()
    first = space.candidates[space.segments[0]]
    kept = [c for c in first if c.key in common]
    for g in space.segments:
        for c in space.candidates[g]:
            if c.key not in common and not any(d.key == c.key for d, _ in space.dropped[g]):
                space.dropped[g].append((c, "invalid or duplicate in another segment"))
        space.candidates[g] = list(kept)


def _sample(
    spec: OptimizationSpec, levers: Sequence[Lever], base_values: Mapping[str, Any], seed: int
) -> list[dict[str, Any]]:
    """Lever settings from the sampler (no checks yet); ``seed`` seeds the Latin hypercube."""
    if not levers:
        return []
    if spec.sampler == "grid":
        domains = [lever_values(lever, base_values[lever.path]) for lever in levers]
        size = math.prod(len(d) for d in domains)
        if size > spec.max_candidates:
            raise spec.error(
                "max_candidates",
                f"the grid has {size} designs per segment, more than max_candidates "
                f"{spec.max_candidates}: use sampler: lhs, fewer values or steps, or "
                "raise max_candidates",
            )
        return [
            {lever.path: value for lever, value in zip(levers, combo, strict=True)}
            for combo in itertools.product(*domains)
        ]
    return _latin_hypercube(spec, levers, base_values, seed)


def _latin_hypercube(
    spec: OptimizationSpec, levers: Sequence[Lever], base_values: Mapping[str, Any], seed: int
) -> list[dict[str, Any]]:
    """``spec.max_candidates`` Latin hypercube points over ``levers``, from ``seed`` and the
    levers' paths."""
    # SciPy's stats take ~1 s CPU to load, for a Latin hypercube only; the report package
    # imports this module
    from scipy.stats import qmc

    paths = "|".join(lever.path for lever in levers)
    salt = int(hashlib.sha256(paths.encode()).hexdigest()[:8], 16)
    rng = np.random.default_rng([seed, salt])
    points = qmc.LatinHypercube(d=len(levers), rng=rng).random(spec.max_candidates)
    designs: list[dict[str, Any]] = []
    for point in points:
        settings: dict[str, Any] = {}
        for lever, u in zip(levers, point, strict=True):
            base_value = base_values[lever.path]
            if lever.values is not None or lever.steps is not None:
                domain = lever_values(lever, base_value)
                settings[lever.path] = domain[min(int(u * len(domain)), len(domain) - 1)]
            else:
                assert lever.range is not None
                low, high = lever.range
                settings[lever.path] = _typed(low + u * (high - low), base_value, high - low)
        designs.append(settings)
    unique = {canonical_json(d): d for d in designs}
    return list(unique.values())


def _in_tier_order(
    levers: Sequence[Lever],
    designs: Sequence[dict[str, Any]],
    base_values: Mapping[str, Any],
    tiers: Sequence[str],
) -> tuple[list[dict[str, Any]], int]:
    """``designs`` with the values of each field levered in several tiers in ascending tier
    order, where sorting keeps every value within its lever's domain; the designs (duplicates
    removed) and how many were changed."""
    families: dict[str, list[Lever]] = {}
    for lever in levers:
        parts = lever.path.split(".")
        ordered_field = parts[3:4] == ["rebate_rate"] or parts[3:4] == ["requirements"]
        if len(parts) > 3 and parts[1] == "tiers" and parts[2] in tiers and ordered_field:
            families.setdefault(".".join(parts[3:]), []).append(lever)
    families = {
        f: sorted(members, key=lambda lever: tiers.index(lever.path.split(".")[2]))
        for f, members in families.items()
        if len(members) > 1
    }
    repaired = 0
    out: list[dict[str, Any]] = []
    for design in designs:
        design = dict(design)
        changed = False
        for members in families.values():
            values = [design[lever.path] for lever in members]
            ordered = sorted(values)
            if ordered != values and all(
                _within(lever, v, base_values[lever.path])
                for lever, v in zip(members, ordered, strict=True)
            ):
                design.update({lever.path: v for lever, v in zip(members, ordered, strict=True)})
                changed = True
        repaired += changed
        out.append(design)
    unique = {canonical_json(d): d for d in out}
    return list(unique.values()), repaired


def _within(lever: Lever, value: Any, base_value: Any) -> bool:
    """Whether ``value`` is one the lever can take."""
    if lever.values is not None or lever.steps is not None:
        return value in lever_values(lever, base_value)
    assert lever.range is not None
    return lever.range[0] <= value <= lever.range[1]


def _typed(value: float, base_value: Any, width: float) -> Any:
    """A sampled number as the lever's type: an int for an int field, else rounded to about
    three significant digits of the range's width (so reports stay readable)."""
    if isinstance(base_value, int) and not isinstance(base_value, bool):
        return round(value)
    if width > 0:
        digits = 2 - math.floor(math.log10(width))
        return round(float(value), digits)
    return float(value)


def _value_at(spec: OptimizationSpec, program: Mapping[str, Any], path: str, where: str) -> Any:
    """The base program's value at a ``program.`` path; a spec error if there is none."""
    parts = path.removeprefix("program.").split(".")
    node: Any = program
    for depth, part in enumerate(parts):
        so_far = "program." + ".".join(parts[: depth + 1])
        if isinstance(node, list):
            raise spec.error(where, f"'{so_far}' is inside a list; a lever cannot move a list item")
        if not isinstance(node, dict) or part not in node:
            choices = sorted(node) if isinstance(node, dict) else []
            close = [c for c in choices if c.startswith(part[:3])][:3] or choices[:8]
            hint = f" (found: {', '.join(close)})" if close else ""
            raise spec.error(where, f"'{so_far}' does not exist in the base program{hint}")
        node = node[part]
        if node is None and depth < len(parts) - 1:
            raise spec.error(
                where, f"'{so_far}' is not set in the base scenario; set it there first"
            )
    return node


def _dedupe(values: Sequence[Any]) -> list[Any]:
    seen: list[Any] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
