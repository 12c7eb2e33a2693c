"""No program setting is accepted and ignored: every leaf field of the program schema, at the
top level and inside a segment and a region override, moves the simulated outcomes when it is
changed, or is listed in :data:`NOT_SIMULATED` with the reason.

The walk reads the schema itself (pydantic's model fields), so a field added to the program
without a simulation that honours it, or a reason here, fails the test.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

import numpy as np
import pytest
from pydantic import BaseModel, ValidationError

from incentsim.engine.simulation import simulate_block
from incentsim.program.spec import Program
from incentsim.scenario.loader import load_scenario
from incentsim.scenario.model import Scenario

#: Program fields the simulation does not use, each with the reason (paths with ``*`` for any
#: entry of a mapping).
NOT_SIMULATED = {
    "currency": "display only: the unit every amount is shown in",
}

#: An award's ranking rules: one for all its pools, so an override may change only its prize.
AWARD_RULES = tuple(
    f"awards.*.{name}"
    for name in (
        "metric",
        "winners",
        "share",
        "within",
        "size_band",
        "cadence_periods",
        "min_revenue",
    )
)

#: Program-wide settings an override may not change (refused by the schema, tested below).
#: A bonus's window length is one for the program (its windows are one calendar).
PROGRAM_WIDE = ("budget.per_period", "budget.reserve.", "bonuses.*.horizon_weeks", *AWARD_RULES)
#: Changes over time, set on the program only (an override cannot hold them, tested below).
PROGRAM_ONLY = ("versions.", "contingent.")

SCENARIO = "scenarios/constructs.yaml"
SEGMENT, REGION = "system_integrator", "apac"
#: Fields of the program only (the overrides are walked separately).
OVERRIDES = ("segment_overrides", "region_overrides")


def _model(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def leaves(model: type[BaseModel], value: dict[str, Any], prefix: str = "") -> list[str]:
    """Every leaf field path of ``model`` (mapping entries as they appear in ``value``)."""
    out = []
    for name, info in model.model_fields.items():
        if not prefix and name in OVERRIDES:
            continue
        path = f"{prefix}{name}"
        annotation = info.annotation
        if get_origin(annotation) is dict:
            entry = _model(get_args(annotation)[1])
            if entry is not None:
                for key, item in (value.get(name) or {}).items():
                    out += leaves(entry, item, f"{path}.{key}.")
                continue
        sub = _model(annotation)
        if sub is not None and isinstance(value.get(name), dict):
            out += leaves(sub, value[name], f"{path}.")
        else:
            out.append(path)
    return out


def field_info(path: str) -> Any:
    model: type[BaseModel] = Program
    info = None
    parts = path.split(".")
    i = 0
    while i < len(parts):
        info = model.model_fields[parts[i]]
        annotation = info.annotation
        if get_origin(annotation) is dict:
            model = _model(get_args(annotation)[1])  # type: ignore[assignment]
            i += 2
            continue
        sub = _model(annotation)
        if sub is not None and i + 1 < len(parts):
            model = sub
        i += 1
    return info


def candidates(path: str, current: Any, program: dict[str, Any]) -> list[dict[str, Any]]:
    """Changes to try for the field at ``path``, each a mapping of field name to value (with
    any sibling the change needs); the first valid one that moves the outcomes wins."""
    name = path.rsplit(".", 1)[-1]
    info = field_info(path)
    annotation = info.annotation
    args = [a for a in get_args(annotation) if a is not type(None)]
    if name == "kind":  # an accelerator turned decelerator, or the other way round
        other = "decelerator" if current == "accelerator" else "accelerator"
        multiplier = get(program, path.rsplit(".", 1)[0] + ".multiplier")
        return [{"kind": other, "multiplier": 1.0 / multiplier if multiplier else 2.0}]
    if name in ("winners", "share"):  # an award names exactly one of the two
        sibling = "share" if name == "winners" else "winners"
        values = [1, 3, 10] if name == "winners" else [0.05, 0.5, 1.0]
        return [{name: v, sibling: None} for v in values]
    if name == "size_band":
        return [{name: band} for band in ([0.0, 1.0], [0.5, 1.0], [0.0, 0.25]) if band != current]
    if isinstance(current, dict):  # a version's or a rule's changes: none at all
        return [{name: {}}]
    if name in ("below", "above"):  # a contingent rule's level: exactly one of the two is set
        sibling = "above" if name == "below" else "below"
        level = 1.0 if current is None else current
        return [{name: v, sibling: None} for v in (level * 0.9, level * 1.1, 0.5, 2.0)]
    if name == "threshold" and path.startswith("bonuses."):  # a bonus's threshold stands alone
        return [{name: current * 0.5}, {name: current * 2.0}]
    if name in ("threshold", "target", "quota_fraction"):  # exactly one of the two is set
        amount = "target" if path.startswith("pacers.") else "threshold"
        sibling = "quota_fraction" if name == amount else amount
        values = [20000.0, 60000.0] if name == amount else [0.8, 1.2]
        if current is not None:
            values = [current * 0.5, current * 2.0]
        return [{name: v, sibling: None} for v in values]
    if get_origin(annotation) is list:
        options = list(get_args(get_args(annotation)[0]))
        return [{name: [o for o in options if o not in current]}, {name: options}]
    literal = next((a for a in (annotation, *args) if get_origin(a) is Literal), None)
    if literal is not None:
        return [{name: v} for v in get_args(literal) if v != current]
    if isinstance(current, bool) or annotation is bool:
        return [{name: not current}]
    if name in ("tier", "min_tier"):
        return [{name: t} for t in program["tiers"] if t != current]
    if name == "product":
        return [{name: v} for v in ("core", "security", None) if v != current]
    if current is None:
        values: list[Any] = [2000.0, 20000.0, 0.5, 1, 200000.0]
    elif isinstance(current, int):
        values = [current + 1, current - 1, current + 3, 1, 0]
    else:
        values = [
            current * 0.9,
            current * 1.1,
            current * 0.5,
            current * 2.0,
            current + 0.1,
            0.0,
            1.0,
            3.0,
            current * 10 + 50000.0,
        ]
    return [{name: v} for v in values if v != current]


def get(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def put(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node = out
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return out


#: The scenario the changes are simulated on: every construct on, a budget that runs short
#: (so shortfall policy and reserve settings bite) and two program years (so milestones can be
#: earned twice and true-ups happen), plus an annual accelerator and a quarterly pacer (as in
#: ``scenarios/pacer.yaml``) and a monthly bonus (as in ``scenarios/monthly_bonus.yaml``) for
#: the settings of components on horizons of their own, a
#: category award (set here: the bundled scenario's numbers stay as they are), a year-two cut
#: announced a quarter ahead, phased in over two quarters with incumbents grandfathered for one,
#: and a rule that lowers thresholds, raises a rate and widens the budget when demand is below
#: plan (about half the quarters). Remediation starts after one assessment below the entry
#: tier, so that every region, small as each is here, has partners in a plan.
SETTINGS = [
    "population.partners=60",
    "program.remediation.trigger_periods=1",
    "program.accelerators.annual_kicker="
    "{quota_fraction: 1.0, multiplier: 2.0, cap: 20000, horizon_periods: 4}",
    "program.pacers={on_pace: {horizon_periods: 4, quota_fraction: 1.0, reward: 1500}}",
    "program.bonuses={monthly: {horizon_weeks: 4, threshold: 12000, reward: 400, rate: 0.01}}",
    "program.awards.rising.metric=growth",
    "program.awards.rising.within=segment",
    "program.awards.rising.size_band=[0, 0.5]",
    "program.awards.rising.share=0.2",
    "program.awards.rising.prize=3000",
    "program.budget.per_period=450000",
    "program.budget.reserve.initial=0",
    "program.budget.reserve.max=200000",
    "program.budget.reserve.contribution.fixed_per_period=0",
    "program.versions={refresh: {effective_period: 4, announced_period: 3, grandfather_periods: 1,"
    " phase_in_periods: 2, changes: {tiers: {gold: {rebate_rate: 0.025}}}}}",
    "program.contingent={relief: {indicator: demand, below: 1.0, threshold_scale: 0.8,"
    " budget_scale: 1.2, changes: {partner_cap: 40000}}}",
]
#: The question is whether a change moves anything, not by how much, so the walk first tries
#: every change on a cheap version of that scenario: one replication of six-week "quarters"
#: (eight periods of 48 weeks, the two SPIFFs moved into the second and fourth of them, a
#: three-week bonus), about a third of the cost. Only the fields none of whose changes move the
#: cheap version are walked again on the full scenario (two replications of 13-week quarters),
#: where small groups such as one region's partners have the time to respond.
QUICK = [
    *SETTINGS,
    "calendar.weeks_per_period=6",
    "program.spiffs.security_launch.start_week=6",
    "program.spiffs.security_launch.end_week=12",
    "program.spiffs.new_logo_drive.start_week=18",
    "program.spiffs.new_logo_drive.end_week=24",
    "program.bonuses={monthly: {horizon_weeks: 3, threshold: 6000, reward: 400, rate: 0.01}}",
]


@dataclass(frozen=True)
class Walk:
    """A scenario the changes are simulated on, and with how many replications."""

    scenario: Scenario
    replications: int

    def outcomes(self, scenario: Scenario | None = None) -> dict[str, np.ndarray]:
        """Every outcome and trajectory of ``scenario`` (this walk's own by default)."""
        chosen = self.scenario if scenario is None else scenario
        result = simulate_block(chosen, np.random.SeedSequence(11), self.replications)
        return {**result.outcomes, **{f"t/{k}": v for k, v in result.trajectories.items()}}

    def with_program(self, program: dict[str, Any]) -> Scenario:
        """The scenario with ``program`` in place of its own (``ValidationError`` when the
        program does not fit the rest of it, e.g. a SPIFF past the calendar's end)."""
        data = self.scenario.model_dump(mode="json")
        data["program"] = program
        return Scenario.model_validate(data)

    def moves(self, reference: dict[str, np.ndarray], scenario: Scenario) -> bool:
        """Whether ``scenario``'s outcomes differ from ``reference``."""
        changed = self.outcomes(scenario)
        return any(not np.array_equal(reference[k], changed[k], equal_nan=True) for k in reference)


@pytest.fixture(scope="module")
def base() -> Scenario:
    return load_scenario(SCENARIO, SETTINGS)


@pytest.fixture(scope="module")
def walks(base: Scenario) -> list[Walk]:
    return [Walk(load_scenario(SCENARIO, QUICK), 1), Walk(base, 2)]


def schema_field(path: str) -> str:
    """The schema field a leaf path is an instance of (mapping keys replaced by ``*``)."""
    model: type[BaseModel] = Program
    out = []
    parts = path.split(".")
    i = 0
    while i < len(parts):
        annotation = model.model_fields[parts[i]].annotation
        out.append(parts[i])
        if get_origin(annotation) is dict:
            model = _model(get_args(annotation)[1])  # type: ignore[assignment]
            out.append("*")
            i += 2
            continue
        sub = _model(annotation)
        if sub is not None:
            model = sub
        i += 1
    return ".".join(out)


def ignored_fields(walks: list[Walk], prefix: str) -> list[str]:
    """Schema fields under ``prefix`` ('' for the program, or an override's) for which no valid
    change of any instance moves the outcomes of any of ``walks`` (each walked only for the
    fields the ones before it left unmoved)."""
    left: list[str] | None = None
    for walk in walks:
        left = _unmoved(walk, prefix, left)
        if not left:
            break
    return left or []


def _unmoved(walk: Walk, prefix: str, keys: list[str] | None) -> list[str]:
    """The schema fields (of ``keys``, or all) no change of which moves ``walk``."""
    program = walk.scenario.program.model_dump(mode="json")
    resolved = Program.model_validate(
        {k: v for k, v in program.items() if k not in OVERRIDES}
    ).model_dump(mode="json")
    instances: dict[str, list[str]] = {}
    for path in leaves(Program, resolved):
        instances.setdefault(schema_field(path), []).append(path)
    reference = walk.outcomes()
    ignored = []
    for key, paths in instances.items():
        if key in NOT_SIMULATED or (prefix and key.startswith(PROGRAM_WIDE + PROGRAM_ONLY)):
            continue
        if keys is not None and key not in keys:
            continue
        if not any(_moved(walk, reference, program, resolved, prefix, p) for p in paths):
            ignored.append(key)
    return ignored


def _moved(
    walk: Walk,
    reference: dict[str, np.ndarray],
    program: dict[str, Any],
    resolved: dict[str, Any],
    prefix: str,
    path: str,
) -> bool:
    parent = path.rsplit(".", 1)[0] + "." if "." in path else ""
    current = get(program, prefix + path)
    if current is None:
        current = get(resolved, path)
    for change in candidates(path, current, resolved):
        changed = program
        for name, value in change.items():
            changed = put(changed, f"{prefix}{parent}{name}", value)
        try:
            scenario = walk.with_program(changed)
        except ValidationError:
            continue
        if walk.moves(reference, scenario):
            return True
    return False


def test_the_walk_finds_every_construct(base: Scenario) -> None:
    paths = leaves(Program, base.program.model_dump(mode="json"))
    for expected in (
        "tiers.gold.benefits.sales_training.cost_per_partner",
        "remediation.win_rate_uplift",
        "guardrails.deal_registration.protection_days",
        "guardrails.co_delivery_share",
        "budget.payout.delay_weeks",
        "rebate.timing",
        "spiffs.security_launch.product",
        "accelerators.annual_kicker.horizon_periods",
        "pacers.on_pace.every_periods",
        "pacers.on_pace.target",
        "bonuses.monthly.horizon_weeks",
        "bonuses.monthly.rate",
        "awards.rising.size_band",
        "awards.rising.cadence_periods",
        "versions.refresh.grandfather_periods",
        "contingent.relief.threshold_scale",
        "contingent.relief.budget_scale",
    ):
        assert expected in paths
    assert len(paths) > 80


def test_every_program_setting_moves_the_simulation(walks: list[Walk]) -> None:
    assert ignored_fields(walks, "") == []


@pytest.mark.parametrize("prefix", [f"segment_overrides.{SEGMENT}.", f"region_overrides.{REGION}."])
def test_every_override_setting_moves_the_simulation(walks: list[Walk], prefix: str) -> None:
    assert ignored_fields(walks, prefix) == []


@pytest.mark.parametrize(
    ("override", "value"),
    [("budget.per_period", 10.0), ("budget.reserve.initial", 5.0), ("budget.reserve.max", 9.0)],
)
def test_overrides_cannot_split_the_budget_pool(
    base: Scenario, override: str, value: float
) -> None:
    program = put(
        base.program.model_dump(mode="json"), f"region_overrides.{REGION}.{override}", value
    )
    with pytest.raises(ValidationError, match="one program-wide pool"):
        Program.model_validate(program)


@pytest.mark.parametrize("rule", AWARD_RULES)
def test_overrides_cannot_change_an_awards_rules(base: Scenario, rule: str) -> None:
    name = rule.rsplit(".", 1)[-1]
    value = {"size_band": [0.0, 1.0], "metric": "revenue", "within": "program"}.get(name, 2)
    program = put(
        base.program.model_dump(mode="json"),
        f"segment_overrides.{SEGMENT}.awards.rising.{name}",
        value,
    )
    with pytest.raises(ValidationError, match=f"{name} cannot differ by segment or region"):
        Program.model_validate(program)


def test_a_segment_and_a_region_override_must_agree(base: Scenario) -> None:
    program = base.program.model_dump(mode="json")
    program = put(program, "segment_overrides.reseller.tiers.silver.requirements.new_logos", 0)
    program = put(program, "region_overrides.emea.tiers.registered.requirements.new_logos", 1)
    with pytest.raises(ValidationError, match=r"with region_overrides\.emea"):
        Program.model_validate(program)


@pytest.mark.parametrize("part", ["versions", "contingent"])
def test_overrides_cannot_hold_changes_over_time(base: Scenario, part: str) -> None:
    program = base.program.model_dump(mode="json")
    program = put(program, f"segment_overrides.{SEGMENT}.{part}", program[part])
    with pytest.raises(ValidationError, match="cannot nest"):
        Program.model_validate(program)
