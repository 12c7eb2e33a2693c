"""The optimisation file: which scenario to start from, which levers to move, what to respect.

An optimisation file is YAML naming a base scenario (``scenario:``, relative to the file) and
describing the design space and the problem::

    scenario: small.yaml            # the program to improve, as `incentsim run` reads it
    overrides: []                   # optional KEY.PATH=VALUE changes to the base scenario
    levers:                         # what the optimiser may move (paths into the scenario)
      - path: program.tiers.registered.requirements.revenue
        values: [10000, 15000, 25000]
      - path: program.partner_cap
        range: [40000, 90000]
        steps: 3
      - path: program.budget.payout.delay_weeks   # payout schedule and true-up, per segment
        values: [2, 6]
      - path: program.budget.shortfall_policy     # shortfall policy and reserve contribution
        values: [pro_rata, defer]                 # rule: one choice for the whole program
    per_segment: true               # a design per segment (false: one design for everyone)
    sampler: lhs                    # grid (every combination) or lhs (Latin hypercube)
    max_candidates: 12
    candidates:                     # designs listed by hand, as {path: value}
      - {name: generous, program.tiers.silver.rebate_rate: 0.025}
    budget: 4500000                 # incentive money over the whole horizon
    loyalty_value: 20000            # value of each partner still active at the horizon
    alpha: 0.1                      # tail-risk level
    risk: cvar                      # cvar, chance or none
    reserve: {max: 900000, carrying_cost: 0.05}
    floors:
      retention: {reseller: 0.7}    # or one number for every segment
      loyalty: 0.4
      small_partner_share: 0.02
    replications: 100               # optimiser's scenarios (per candidate and segment)
    validation_replications: 200    # fresh scenarios to check the chosen design on
    stability_resamples: 20         # bootstrap samples of the scenarios to re-solve (0: none)
    frontier: {range: [3.0e6, 6.0e6], points: 7}   # re-solve at these budgets (or budgets: [...])
    # or: frontier: {measure: retention, range: [0.8, 0.95], points: 4}  (fairness, revenue)
    refine: {rounds: 3, candidates: 8}   # new candidates around the chosen design, re-solved
    coupling: {iterations: 3}       # the choice simulated jointly, coefficients corrected
    tail_check: {attempts: 5}       # the choice's tail checked on fresh joint runs
    robust: {draws: 10, measure: cvar, alpha: 0.2}   # over draws of the behaviour constants
    seed: 7

Every key is checked: an unknown key, a lever that does not exist in the base program or a
floor naming an unknown segment is a :class:`OptimizationSpecError` naming the file and field.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from incentsim.errors import ScenarioError
from incentsim.quantities import MAX_TOTAL, Money
from incentsim.scenario.loader import apply_override
from incentsim.scenario.reader import read_yaml_file
from incentsim.strict import Strict

__all__ = [
    "Floors",
    "FrontierSpec",
    "Lever",
    "OptimizationSpec",
    "OptimizationSpecError",
    "ReserveSpec",
    "load_spec",
    "spec_from_dict",
]

#: Program parts a lever cannot move (a candidate is itself an override; the currency is not a
#: design).
FORBIDDEN_LEVER_ROOTS = ("segment_overrides", "currency")

#: Budget parts a lever may move: the payout schedule and the annual true-up, per segment (the
#: simulation pays each segment on its own cadence and delay).
BUDGET_LEVERS = ("budget.payout.", "budget.true_up.")

#: Budget parts a lever may move for the whole program: they only act when payouts are cut
#: against the one program-wide budget, so they are chosen by simulating the chosen segment
#: designs jointly under each value (:mod:`incentsim.optimizer.program_wide`).
PROGRAM_WIDE_LEVERS = ("budget.shortfall_policy", "budget.reserve.contribution.")

#: Why each other budget part cannot be a lever (longest matching prefix wins).
BUDGET_REFUSALS = {
    "budget.per_period": (
        "the optimiser sizes the budget itself: give `budget:` (over the whole horizon) in the "
        "optimisation file or `--budget` on the command line"
    ),
    "budget.reserve": (
        "the optimiser sizes the reserve itself: give `reserve: {max: ..., carrying_cost: ...}`"
    ),
}

#: Keys of a hand-listed candidate that are not lever paths.
CANDIDATE_KEYS = ("name", "segments")

#: Prefix of ``--set`` keys that change the base scenario rather than the optimisation file.
BASE_PREFIX = "base."

Floor = float | dict[str, float]


class OptimizationSpecError(ScenarioError):
    """An optimisation file that cannot be read or does not validate (names file and field)."""

    def __init__(self, file: str | Path | None, problems: Sequence[tuple[str, str]]) -> None:
        super().__init__(file if file is not None else "<optimisation>", problems)


class Lever(Strict):
    """One thing the designer lets the optimiser choose, and the values it may take.

    Give ``values`` (a list) or ``range: [low, high]``. With the grid sampler a range needs
    ``steps`` (evenly spaced values, ends included); with the Latin hypercube a range without
    ``steps`` is sampled continuously. ``segments`` limits the lever to some segments (the others
    keep the base value); it needs ``per_segment: true``.
    """

    path: str
    values: list[Any] | None = None
    range: tuple[float, float] | None = None
    steps: Annotated[int, Field(ge=2, le=1000)] | None = None
    segments: list[str] | None = None

    @field_validator("path")
    @classmethod
    def _program_path(cls, path: str) -> str:
        parts = path.split(".")
        if parts[0] != "program" or len(parts) < 2 or not all(parts):
            raise ValueError(
                f"'{path}' is not a program path: levers move the program "
                "(e.g. program.tiers.silver.rebate_rate)"
            )
        if parts[1] == "region_overrides":
            raise ValueError(
                f"'{path}' cannot be a lever: a candidate is one segment's design and is simulated "
                "with that segment alone, while a region's override applies to every segment's "
                "partners in the region, so its value would have to be tied across the segments' "
                "choices, which the optimiser does not do yet; move the value per segment instead "
                "(a lever on program.<path> with `segments:`), or set the region's value in the "
                "base scenario"
            )
        if parts[1] in FORBIDDEN_LEVER_ROOTS:
            raise ValueError(
                f"'{path}': program.{parts[1]} cannot be a lever (a candidate is itself a segment "
                "override; levers move values of the program)"
            )
        if parts[1] == "versions" and (len(parts) < 5 or parts[3] != "changes"):
            raise ValueError(
                f"'{path}' cannot be a lever: a lever moves a value a version changes "
                "(program.versions.<name>.changes.<field>, e.g. a refresh's rate), which each "
                "segment's design then sets for that segment; a version's dates are the same "
                "for every segment"
            )
        if parts[1] == "versions" and parts[4] in ("segment_overrides", "region_overrides"):
            raise ValueError(
                f"'{path}': a lever on a version moves its changes for each segment itself "
                "(program.versions.<name>.changes.<field>); it cannot name an override"
            )
        if parts[1] == "contingent":
            raise ValueError(
                f"'{path}' cannot be a lever: a contingent rule is one program-wide clause "
                "(compare it with and without in a stress test)"
            )
        key = ".".join(parts[1:])
        if parts[1] == "budget" and not key.startswith((*BUDGET_LEVERS, *PROGRAM_WIDE_LEVERS)):
            reason = next(
                (
                    BUDGET_REFUSALS[prefix]
                    for prefix in sorted(BUDGET_REFUSALS, key=len, reverse=True)
                    if f"{key}.".startswith(f"{prefix}.")
                ),
                "levers on the budget move, per segment, its payout schedule "
                "(budget.payout.cadence_periods, budget.payout.delay_weeks) or true-up "
                "(budget.true_up.enabled), or, for the whole program, its shortfall_policy or "
                "the reserve's contribution rule (budget.reserve.contribution.*)",
            )
            raise ValueError(f"'{path}' cannot be a lever: {reason}")
        return path

    @model_validator(mode="after")
    def _one_domain(self) -> Lever:
        if (self.values is None) == (self.range is None):
            raise ValueError("give exactly one of 'values' or 'range'")
        if self.values is not None and not self.values:
            raise ValueError("'values' is empty")
        if self.values is not None and self.steps is not None:
            raise ValueError("'steps' goes with 'range', not with 'values'")
        if self.range is not None and self.range[1] < self.range[0]:
            raise ValueError("range: the high end is below the low end")
        return self

    @property
    def key(self) -> str:
        """The path inside the program (without the leading ``program.``)."""
        return self.path.removeprefix("program.")

    @property
    def program_wide(self) -> bool:
        """Whether the lever is one choice for the whole program (see
        :data:`PROGRAM_WIDE_LEVERS`) rather than a value per segment."""
        return self.key.startswith(PROGRAM_WIDE_LEVERS)

    @property
    def numeric(self) -> bool:
        """Whether the lever takes numbers in a segment's design (a range, or numbers as
        values), so that refinement can sample between them."""
        if self.program_wide:
            return False
        if self.range is not None:
            return True
        values = self.values or []
        return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


class ReserveSpec(Strict):
    """The reserve fund the optimiser sizes: at most ``max``, costing ``carrying_cost`` per unit
    held over the horizon (0.05: holding 1,000 costs 50). ``max`` defaults to the base
    program's reserve maximum (0 when it has none)."""

    max: Money | None = None
    carrying_cost: Annotated[float, Field(ge=0.0, le=10.0)] = 0.0


class Floors(Strict):
    """Lower limits the chosen design must respect (in expectation over the scenarios).

    ``retention`` and ``loyalty`` are per segment: one number for every segment or a mapping
    ``{segment: value}``. ``small_partner_share`` is the share of incentive payouts reaching the
    smaller half of partners (by revenue) within their segment, summed over segments.
    """

    retention: Floor | None = None
    loyalty: Floor | None = None
    small_partner_share: Annotated[float, Field(ge=0.0, le=1.0)] | None = None

    @field_validator("retention", "loyalty")
    @classmethod
    def _in_unit_interval(cls, value: Floor | None) -> Floor | None:
        values = value.values() if isinstance(value, dict) else [] if value is None else [value]
        for v in values:
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"a floor is a share between 0 and 1, not {v:g}")
        return value

    def per_segment(
        self, name: Literal["retention", "loyalty"], segments: Sequence[str]
    ) -> dict[str, float]:
        """The floor of each segment that has one."""
        value = getattr(self, name)
        if value is None:
            return {}
        if isinstance(value, dict):
            return {g: float(v) for g, v in value.items() if g in segments}
        return {g: float(value) for g in segments}


class FrontierSpec(Strict):
    """The trade-off frontier (:mod:`incentsim.optimizer.frontier`): the MILP re-solved over a
    sweep of one constraint, reusing every simulation.

    ``measure`` is what is traded against the expected incentive cost, and so what is swept:

    - ``objective`` (the default): the budget; give ``budgets`` (a list) or ``range``;
    - ``retention``: a floor on the program's expected retention (the segments' weighted by
      their partners), a share within 0 and 1;
    - ``fairness``: the floor on the share of payouts reaching the smaller half of partners
      (``floors.small_partner_share``, which the sweep replaces), a share within 0 and 1;
    - ``revenue``: a floor on the program's expected net revenue, an amount.

    A floor measure takes ``floors`` (a list) or ``range``. ``range: [low, high]`` gives
    ``points`` evenly spaced values, ends included. At every floor the MILP keeps its
    objective, budget and other constraints.
    """

    measure: Literal["objective", "retention", "fairness", "revenue"] = "objective"
    budgets: list[Annotated[float, Field(gt=0.0, le=MAX_TOTAL)]] | None = None
    floors: list[Annotated[float, Field(ge=0.0, le=MAX_TOTAL)]] | None = None
    range: tuple[float, float] | None = None
    points: Annotated[int, Field(ge=2, le=100)] = 5

    @model_validator(mode="after")
    def _one_way(self) -> FrontierSpec:
        listed, name = (
            (self.budgets, "budgets") if self.measure == "objective" else (self.floors, "floors")
        )
        other = "floors" if self.measure == "objective" else "budgets"
        if getattr(self, other) is not None:
            sweeps = "budgets" if self.measure == "objective" else f"{self.measure} floors"
            raise ValueError(
                f"'{other}' does not go with measure: {self.measure} (it sweeps {sweeps}): "
                f"give '{name}' or 'range'"
            )
        if (listed is None) == (self.range is None):
            raise ValueError(f"give exactly one of '{name}' or 'range'")
        if listed is not None and not listed:
            raise ValueError(f"'{name}' is empty")
        if listed is not None and "points" in self.model_fields_set:
            raise ValueError(f"'points' goes with 'range', not with '{name}'")
        amounts = self.measure in ("objective", "revenue")
        if self.range is not None and not (
            (self.range[0] > 0.0 if amounts else self.range[0] >= 0.0)
            and self.range[0] < self.range[1] <= (MAX_TOTAL if amounts else 1.0)
        ):
            bounds = "0 < low < high" if amounts else "0 <= low < high <= 1"
            what = "" if amounts else f" ({self.measure} floors are shares)"
            raise ValueError(f"range: give {bounds}{what}")
        for value in listed or []:
            if not amounts and not 0.0 <= value <= 1.0:
                raise ValueError(f"a {self.measure} floor is a share within 0 and 1, not {value:g}")
        return self

    def values(self) -> list[float]:
        """The swept values (budgets or floors), ascending."""
        listed = self.budgets if self.measure == "objective" else self.floors
        if listed is not None:
            return sorted(set(listed))
        assert self.range is not None
        low, high = self.range
        return [low + (high - low) * i / (self.points - 1) for i in range(self.points)]


class RefineSpec(Strict):
    """Adaptive refinement (:mod:`incentsim.optimizer.refine`): after the first solve, up to
    ``rounds`` rounds of ``candidates`` new designs per segment, sampled by Latin hypercube in a
    box around the chosen design's lever values (half-width ``shrink`` to the power of the
    round, times half the lever's range), simulated on the same seeds and re-solved; it stops
    once a round raises the objective by less than ``tolerance`` (relative)."""

    rounds: Annotated[int, Field(ge=1, le=20)] = 3
    candidates: Annotated[int, Field(ge=1, le=1_000)] = 8
    shrink: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.5
    tolerance: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.001


class CouplingSpec(Strict):
    """Budget coupling in the loop (:mod:`incentsim.optimizer.coupling`): the chosen design is
    simulated as one program (budget and reserve on) over ``replications`` (default: the
    optimiser's), and again with the budget lifted on the same seed to measure the budget's own
    effect precisely; each segment's coefficients are corrected by what the joint runs show and
    the problem re-solved, at most ``iterations`` times, until the choice repeats."""

    iterations: Annotated[int, Field(ge=1, le=20)] = 3
    replications: Annotated[int, Field(ge=1, le=100_000)] | None = None


class TailCheckSpec(Strict):
    """The fresh tail check (:mod:`incentsim.optimizer.tail_check`): the chosen design is
    simulated as one program over ``replications`` fresh replications (default: the
    optimiser's, but at least 20 / ``alpha``, so the tail holds 20 scenarios); if its tail
    limit needs more reserve there than the maximum allows, the design is excluded, the
    others held to the optimism seen, and the problem re-solved, at most ``attempts`` designs
    in all."""

    attempts: Annotated[int, Field(ge=1, le=50)] = 5
    replications: Annotated[int, Field(ge=1, le=100_000)] | None = None


class RobustSpec(Strict):
    """Robust design (:mod:`incentsim.optimizer.robust`): every candidate is simulated under
    ``draws`` Latin hypercube draws of the uncertain behaviour constants ``assumptions`` (names
    of :data:`~incentsim.optimizer.robust.ASSUMPTIONS`, each over its documented range; all of
    them by default), ``replications`` each (default: the optimiser's), and the design chosen
    maximises ``measure`` of the per-draw expected objective: ``expected`` (the mean over
    draws), ``worst_case`` (the worst draw), ``cvar`` (the mean of the worst ``alpha`` share
    of draws) or ``regret`` (minimax regret: the smallest largest shortfall against the best
    design of each draw)."""

    draws: Annotated[int, Field(ge=2, le=200)] = 10
    assumptions: list[str] | None = None
    measure: Literal["expected", "worst_case", "cvar", "regret"] = "cvar"
    alpha: Annotated[float, Field(gt=0.0, le=1.0)] = 0.2
    replications: Annotated[int, Field(ge=1, le=100_000)] | None = None

    @field_validator("assumptions")
    @classmethod
    def _known(cls, names: list[str] | None) -> list[str] | None:
        # circular: optimizer.robust imports this module
        from incentsim.optimizer.robust import ASSUMPTIONS

        if names is None:
            return None
        if not names:
            raise ValueError("'assumptions' is empty (leave it out to draw all of them)")
        for name in names:
            if name not in ASSUMPTIONS:
                close = difflib.get_close_matches(name, list(ASSUMPTIONS), n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ValueError(
                    f"'{name}' is not an uncertain assumption{hint}; known: "
                    + ", ".join(ASSUMPTIONS)
                )
        if len(set(names)) != len(names):
            raise ValueError("an assumption is listed twice")
        return names


class OptimizationSpec(Strict):
    """A validated optimisation file (see the module notes for an example).

    ``objective`` is the simulated outcome maximised (``net_contribution``: margin on net
    revenue less incentives paid or owed; ``npv``: discounted, with the value of the
    partnerships at the horizon), plus ``loyalty_value`` per initial partner still active at
    the horizon. ``budget`` defaults to the base program's budget per period times the horizon;
    ``time_limit`` (seconds) and ``mip_gap`` go to the solver.
    """

    scenario: str
    name: str | None = None
    description: str = ""
    overrides: list[str] = Field(default_factory=list)
    levers: list[Lever] = Field(default_factory=list)
    per_segment: bool = True
    sampler: Literal["grid", "lhs"] = "grid"
    max_candidates: Annotated[int, Field(ge=1, le=10_000)] = 64
    include_base: bool = True
    candidates: list[dict[str, Any]] = Field(default_factory=list)
    objective: Literal["net_contribution", "npv"] = "net_contribution"
    loyalty_value: Money = 0.0
    budget: Annotated[float, Field(gt=0.0, le=MAX_TOTAL)] | None = None
    alpha: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.1
    risk: Literal["cvar", "chance", "none"] = "cvar"
    reserve: ReserveSpec = Field(default_factory=ReserveSpec)
    floors: Floors = Field(default_factory=Floors)
    replications: Annotated[int, Field(ge=1, le=100_000)] = 100
    validation_replications: Annotated[int, Field(ge=0, le=100_000)] = 200
    stability_resamples: Annotated[int, Field(ge=0, le=1_000)] = 20
    frontier: FrontierSpec | None = None
    refine: RefineSpec | None = None
    coupling: CouplingSpec | None = None
    robust: RobustSpec | None = None
    tail_check: TailCheckSpec | None = None
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None
    time_limit: Annotated[float, Field(gt=0.0, le=86_400.0)] = 60.0
    mip_gap: Annotated[float, Field(ge=0.0, lt=1.0)] = 1e-6

    #: The optimisation file (base scenario paths are relative to its folder); not a key.
    file: Path | None = Field(default=None, exclude=True)

    @field_validator("candidates")
    @classmethod
    def _candidate_keys(cls, candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, candidate in enumerate(candidates):
            only = candidate.get("segments")
            if only is not None and not (
                isinstance(only, str)
                or (isinstance(only, list) and all(isinstance(g, str) for g in only))
            ):
                raise ValueError(f"{i}: 'segments' must be a segment name or a list of them")
            for key in candidate:
                if key in CANDIDATE_KEYS:
                    continue
                if not isinstance(key, str) or not key.startswith("program."):
                    raise ValueError(
                        f"{i}: '{key}' is not a program path (a hand-listed candidate maps paths "
                        "such as program.tiers.silver.rebate_rate to values; 'name' and "
                        "'segments' are also allowed)"
                    )
                Lever._program_path(key)
                if key.removeprefix("program.").startswith(PROGRAM_WIDE_LEVERS):
                    raise ValueError(
                        f"{i}: '{key}' is one choice for the whole program, not part of a "
                        "segment's design: give it as a lever (it is chosen after the segments' "
                        "designs, by simulating them together under each value)"
                    )
        return candidates

    @model_validator(mode="after")
    def _consistent(self) -> OptimizationSpec:
        if not self.per_segment:
            for i, lever in enumerate(self.levers):
                if lever.segments is not None:
                    raise ValueError(
                        f"levers.{i}.segments: a lever limited to some segments needs "
                        "per_segment: true"
                    )
            for i, candidate in enumerate(self.candidates):
                if "segments" in candidate:
                    raise ValueError(f"candidates.{i}.segments: needs per_segment: true")
        if self.sampler == "grid":
            for i, lever in enumerate(self.levers):
                if lever.range is not None and lever.steps is None:
                    raise ValueError(
                        f"levers.{i}: the grid sampler needs 'steps' with a range "
                        "(or use sampler: lhs)"
                    )
        for i, lever in enumerate(self.levers):
            if lever.program_wide and lever.segments is not None:
                raise ValueError(
                    f"levers.{i}.segments: {lever.path} is one choice for the whole program "
                    "(the budget is one pool), so it cannot be limited to some segments"
                )
            if lever.program_wide and lever.range is not None and lever.steps is None:
                raise ValueError(
                    f"levers.{i}: {lever.path} is one choice for the whole program, tried value "
                    "by value: give 'values', or 'steps' with the range"
                )
        paths = [lever.path for lever in self.levers]
        for path in paths:
            if paths.count(path) > 1 and not self.per_segment:
                raise ValueError(f"levers: '{path}' is listed twice")
        if self.refine is not None and not any(lever.numeric for lever in self.levers):
            raise ValueError(
                "refine: refinement samples new values of the numeric levers around the chosen "
                "design, and no lever is numeric (a range, or numbers as values, per segment)"
            )
        if self.tail_check is not None and self.robust is not None:
            raise ValueError(
                "tail_check: the fresh joint runs use the base scenario's assumptions, while "
                "robust coefficients average over assumption draws; use one of tail_check or robust"
            )
        if self.tail_check is not None and self.risk == "none":
            raise ValueError("tail_check: there is no tail limit to check with risk: none")
        if self.coupling is not None and self.robust is not None:
            raise ValueError(
                "coupling: the joint runs use the base scenario's assumptions, while robust "
                "coefficients average over assumption draws; use one of coupling or robust"
            )
        if not self.levers and not self.candidates and not self.include_base:
            raise ValueError("nothing to choose from: give levers, candidates or include_base")
        return self

    @property
    def folder(self) -> Path:
        """The folder relative paths are read from (the file's, else the working directory)."""
        return Path.cwd() if self.file is None else self.file.parent

    @property
    def scenario_path(self) -> Path:
        """The base scenario file."""
        path = Path(self.scenario)
        return path if path.is_absolute() else self.folder / path

    def error(self, field: str, message: str) -> OptimizationSpecError:
        """An error about one field of this file."""
        return OptimizationSpecError(self.file, [(field, message)])


def load_spec(path: str | Path, overrides: Sequence[str] = ()) -> OptimizationSpec:
    """Read and validate an optimisation file.

    Parameters
    ----------
    path
        The optimisation YAML file.
    overrides
        ``KEY.PATH=VALUE`` strings applied to the file's keys before validation (as ``--set``
        does); a key starting with ``base.`` is added to ``overrides`` instead, changing the
        base scenario (``base.market.demand_noise=0.1``).

    Raises
    ------
    OptimizationSpecError
        The file cannot be read or does not validate.
    """
    path = Path(path)
    data = read_yaml_file(path, OptimizationSpecError)
    if not isinstance(data, dict):
        raise OptimizationSpecError(
            path, [("", "the top level must be a mapping of keys (scenario, levers, budget, ...)")]
        )
    return spec_from_dict(data, path, overrides)


def spec_from_dict(
    data: Mapping[str, Any], file: str | Path | None = None, overrides: Sequence[str] = ()
) -> OptimizationSpec:
    """Validate an optimisation given as a mapping (as if read from ``file``).

    A relative ``scenario`` path is taken relative to ``file``'s folder (the working directory
    when ``file`` is ``None``).
    """
    document = copy.deepcopy(dict(data))
    for override in overrides:
        if override.startswith(BASE_PREFIX):
            existing = document.get("overrides") or []
            if not isinstance(existing, list):
                existing = [existing]
            document["overrides"] = [*existing, override.removeprefix(BASE_PREFIX)]
        else:
            apply_override(document, override, file=file)
    if "file" in document:
        raise OptimizationSpecError(file, [("file", "unknown key")])
    resolved = None if file is None else Path(file).resolve()
    try:
        return OptimizationSpec.model_validate({**document, "file": resolved})
    except ValidationError as exc:
        raise OptimizationSpecError(file, [_problem(error) for error in exc.errors()]) from None


def _problem(error: Mapping[str, Any]) -> tuple[str, str]:
    """One pydantic error as (dotted path, message), in the file's terms."""
    loc = [str(part) for part in error["loc"]]
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        fields = _fields_at(loc[:-1])
        close = difflib.get_close_matches(loc[-1], fields, n=1, cutoff=0.6)
        message = "unknown key" + (f" (did you mean '{close[0]}'?)" if close else "")
    elif error["type"] == "missing":
        message = "missing required key"
    elif (
        isinstance(error.get("input"), str | int | float | bool) and error["type"] != "value_error"
    ):
        message = f"{message} (got {error['input']!r})"
    # Drop pydantic's union labels ("float", "dict[str,float]") from the path.
    loc = [part for part in loc if not any(c in part for c in "[]") and part != "float"]
    if message.split(":", 1)[0].isdigit() and loc and loc[-1] == "candidates":
        index, message = message.split(":", 1)
        loc.append(index)
        message = message.strip()
    return ".".join(loc), message


def _fields_at(loc: Sequence[str]) -> list[str]:
    """Field names of the model reached by ``loc`` (for "did you mean")."""
    model: Any = OptimizationSpec
    for part in loc:
        if part.isdigit():
            continue
        is_model = isinstance(model, type) and issubclass(model, BaseModel)
        field = model.model_fields.get(part) if is_model else None
        if field is None:
            return []
        annotation = field.annotation
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            inner = getattr(candidate, "__args__", (candidate,))
            found = [t for t in (candidate, *inner) if isinstance(t, type)]
            models = [t for t in found if issubclass(t, BaseModel)]
            if models:
                model = models[0]
                break
        else:
            return []
    return [name for name in model.model_fields if name != "file"]
