"""The one path language: --set, sensitivity factors and optimizer levers walk paths alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incentsim._merge import deep_merge
from incentsim.errors import ScenarioError
from incentsim.scenario.loader import load_scenario, set_values, with_values
from incentsim.scenario.paths import PathError, flatten, locate, nest, set_path

SMALL = Path(__file__).parents[2] / "scenarios" / "small.yaml"
KEYS = st.text(alphabet="abcxyz_", min_size=1, max_size=6)


@given(st.lists(KEYS, min_size=1, max_size=5), st.integers())
def test_a_value_set_at_a_path_is_found_there(parts: list[str], value: int) -> None:
    data: dict[str, Any] = {}
    path = ".".join(parts)
    set_path(data, path, value)
    assert [(container[key], where) for container, key, where in locate(data, path)] == [
        (value, path)
    ]


def test_a_wildcard_reaches_every_key_and_set_moves_them_all() -> None:
    data = {"tiers": {"gold": {"rate": 0.03}, "silver": {"rate": 0.02}}}
    set_path(data, "tiers.*.rate", 0.05)
    assert data == {"tiers": {"gold": {"rate": 0.05}, "silver": {"rate": 0.05}}}
    with pytest.raises(PathError, match=r"'tiers.\*' matches nothing: 'tiers' is empty"):
        set_path({"tiers": {}}, "tiers.*.rate", 1)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("a.b.c", "'a.b' is a single value, not a mapping or list"),
        ("list.x", "'list.x': a list needs a numeric index, not 'x'"),
        ("list.4", "'list.4': index 4 out of range (the list has 2)"),
        ("missing.y", "'missing' is not in the scenario (known: a, list)"),
        ("a..b", "every part must be non-empty"),
    ],
)
def test_a_path_that_does_not_fit_says_where(path: str, message: str) -> None:
    data = {"a": {"b": 1}, "list": [1, 2]}
    with pytest.raises(PathError) as caught:
        list(locate(data, path))
    assert message in str(caught.value)


def test_nest_builds_an_override_and_refuses_wildcards() -> None:
    assert nest({"rebate.cap": 1, "rebate.basis": "marginal", "quota.amount": 2}) == {
        "rebate": {"cap": 1, "basis": "marginal"},
        "quota": {"amount": 2},
    }
    with pytest.raises(PathError, match="wildcard"):
        nest({"tiers.*.rate": 1})


#: Nested mappings, none empty (an empty one sets nothing), whose keys (some holding a dot)
#: always name a mapping, and leaves by others.
LEAVES = st.dictionaries(
    st.sampled_from(["a", "b", "c"]), st.integers() | st.lists(st.integers()), min_size=1
)
NESTED = st.recursive(
    LEAVES,
    lambda inner: st.dictionaries(st.sampled_from(["x", "y", "x.y"]), inner, min_size=1),
    max_leaves=8,
)


@given(st.just({}) | NESTED, NESTED)
def test_setting_the_flattened_paths_merges_as_deep_merge(
    base: dict[str, Any], override: dict[str, Any]
) -> None:
    data = {"doc": base}
    set_values(data, {("doc", *path): value for path, value in flatten(override).items()})
    expected = deep_merge(base, override)
    assert flatten(data["doc"]) == flatten(expected)
    assert list(data["doc"]) == list(expected)  # keys in the same order


def test_flatten_undoes_nest_and_a_path_given_as_parts_may_hold_a_dot() -> None:
    nested = {"rebate": {"cap": 1, "basis": "marginal"}, "tiers": {}, "mdf": [1, 2]}
    assert flatten(nested) == {
        ("rebate", "cap"): 1,
        ("rebate", "basis"): "marginal",
        ("mdf",): [1, 2],
    }
    settings = {".".join(path): value for path, value in flatten(nested).items()}
    assert nest(settings) == {"rebate": {"cap": 1, "basis": "marginal"}, "mdf": [1, 2]}
    data: dict[str, Any] = {"segment_overrides": {}}
    set_path(data, ("segment_overrides", "north.america", "partner_cap"), 5)
    assert data == {"segment_overrides": {"north.america": {"partner_cap": 5}}}
    with pytest.raises(PathError, match=r"'segment_overrides\.x\.y': a list needs a numeric"):
        set_path({"segment_overrides": {"x": [1]}}, ("segment_overrides", "x", "y"), 1)
    with pytest.raises(PathError, match="every part must be non-empty"):
        set_path(data, (), 1)


def test_set_on_the_command_line_takes_a_wildcard() -> None:
    scenario = load_scenario(SMALL, ["program.tiers.*.rebate_rate=0.031"])
    assert {t.rebate_rate for t in scenario.program.tiers.values()} == {0.031}


def test_a_scenario_with_values_changes_those_places_only() -> None:
    base = load_scenario(SMALL)
    changed = with_values(
        base, {"name": "changed", "program.tiers.*.rebate_rate": 0.031, "market.shocks": []}
    )
    assert changed.name == "changed"
    assert changed.market.shocks == []
    assert {t.rebate_rate for t in changed.program.tiers.values()} == {0.031}
    assert changed.population == base.population
    assert base.name != "changed"
    assert with_values(base, {}) == base
    with pytest.raises(PathError, match=r"'calendar\.horizon_periods' is a single value"):
        with_values(base, {"calendar.horizon_periods.weeks": 1})
    with pytest.raises(ScenarioError, match=r"program\.budget\.per_period"):
        with_values(base, {"program.budget.per_period": -1.0})
