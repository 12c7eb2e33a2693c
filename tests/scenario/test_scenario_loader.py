"""The scenario loader: extends, --set overrides, readable errors, program files, hashing."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest
import yaml

from incentsim.errors import ScenarioError
from incentsim.program.spec import Program
from incentsim.scenario import (
    Scenario,
    load_program,
    load_scenario,
    scenario_from_dict,
    scenario_hash,
)
from incentsim.scenario.loader import document_kind, load_document, read_document

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SMALL = SCENARIOS / "small.yaml"

MINIMAL = """
name: minimal
population:
  partners: 10
  segments:
    reseller: {share: 1.0}
program:
  tiers:
    registered: {requirements: {revenue: 1000}, rebate_rate: 0.01}
    gold: {requirements: {revenue: 5000}, rebate_rate: 0.03}
"""


def write(folder: Path, name: str, text: str) -> Path:
    """Write a YAML file (dedented) and return its path."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(excinfo: pytest.ExceptionInfo[ScenarioError]) -> dict[str, str]:
    """The error's problems as {path: message}."""
    return dict(excinfo.value.problems)


# --- extends -------------------------------------------------------------------------------------


def test_extends_deep_merges_child_over_parent_and_replaces_lists(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", MINIMAL + "market: {seasonality: [1.0], shocks: []}\n")
    child = write(
        tmp_path,
        "child.yaml",
        """
        extends: base.yaml
        name: child
        program:
          tiers:
            gold: {rebate_rate: 0.04}
        market:
          shocks:
            - {kind: surge, start_week: 3, duration_weeks: 2, magnitude: 0.5}
        """,
    )
    scenario = load_scenario(child)
    assert scenario.name == "child"
    assert scenario.program.tiers["gold"].rebate_rate == 0.04
    assert scenario.program.tiers["gold"].requirements.revenue == 5000  # kept from the parent
    assert [s.kind for s in scenario.market.shocks] == ["surge"]


def test_extends_over_several_levels_with_paths_relative_to_each_file(tmp_path: Path) -> None:
    write(tmp_path, "base/root.yaml", MINIMAL)
    write(tmp_path, "base/mid.yaml", "extends: root.yaml\nreplications: 7\n")
    leaf = write(tmp_path, "variants/leaf.yaml", "extends: ../base/mid.yaml\nseed: 3\n")
    scenario = load_scenario(leaf)
    assert (scenario.name, scenario.replications, scenario.seed) == ("minimal", 7, 3)


def test_extends_list_is_merged_in_order(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", MINIMAL)
    write(tmp_path, "a.yaml", "replications: 5\nseed: 1\n")
    write(tmp_path, "b.yaml", "replications: 9\n")
    child = write(tmp_path, "child.yaml", "extends: [base.yaml, a.yaml, b.yaml]\n")
    scenario = load_scenario(child)
    assert (scenario.replications, scenario.seed) == (9, 1)


def test_diamond_extends_is_not_a_cycle(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", MINIMAL)
    write(tmp_path, "a.yaml", "extends: base.yaml\nseed: 1\n")
    write(tmp_path, "b.yaml", "extends: base.yaml\nreplications: 4\n")
    child = write(tmp_path, "child.yaml", "extends: [a.yaml, b.yaml]\n")
    assert (load_scenario(child).seed, load_scenario(child).replications) == (1, 4)


def test_extends_cycle_names_the_chain(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "extends: b.yaml\n")
    write(tmp_path, "b.yaml", "extends: c.yaml\n")
    write(tmp_path, "c.yaml", "extends: a.yaml\n")
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(tmp_path / "a.yaml")
    message = problems(excinfo)["extends"]
    assert message.startswith("cycle: ")
    assert [Path(p).name for p in message.removeprefix("cycle: ").split(" -> ")] == [
        "a.yaml",
        "b.yaml",
        "c.yaml",
        "a.yaml",
    ]
    assert excinfo.value.file is not None
    assert excinfo.value.file.endswith("c.yaml")


def test_extending_itself_is_a_cycle(tmp_path: Path) -> None:
    path = write(tmp_path, "self.yaml", "extends: self.yaml\n")
    with pytest.raises(ScenarioError, match=r"cycle: .*self\.yaml -> .*self\.yaml"):
        load_scenario(path)


def test_missing_extends_target_names_the_extending_file_and_the_path(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "extends: gone/parent.yaml\n")
    child = write(tmp_path, "child.yaml", "extends: base.yaml\n")
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(child)
    assert excinfo.value.file is not None
    assert excinfo.value.file.endswith("base.yaml")
    assert "cannot find 'gone/parent.yaml'" in problems(excinfo)["extends"]
    assert str(Path("gone") / "parent.yaml") in problems(excinfo)["extends"]


# --- overrides -----------------------------------------------------------------------------------


def test_overrides_set_nested_values_with_yaml_types() -> None:
    scenario = load_scenario(
        SMALL,
        [
            "program.tiers.gold.rebate_rate=0.035",
            "population.partners=200",
            "program.guardrails.clawback_on_returns=false",
            "calendar.start_date=2028-01-03",
            "name=small with overrides",
            "program.co_sell.cap=5000",  # absent from the file: created
            "program.spiffs.blitz={amount_per_deal: 100, start_week: 1, end_week: 5}",
        ],
    )
    assert scenario.program.tiers["gold"].rebate_rate == 0.035
    assert scenario.population.partners == 200
    assert scenario.program.guardrails.clawback_on_returns is False
    assert scenario.calendar.start_date == dt.date(2028, 1, 3)
    assert scenario.name == "small with overrides"
    assert scenario.program.co_sell.cap == 5000
    assert scenario.program.spiffs["blitz"].amount_per_deal == 100


def test_overrides_index_lists_and_replace_them_whole() -> None:
    shocks = SCENARIOS / "shocks.yaml"
    scenario = load_scenario(shocks, ["market.shocks.0.magnitude=0.3"])
    assert scenario.market.shocks[0].magnitude == 0.3
    assert len(scenario.market.shocks) == 3
    assert load_scenario(shocks, ["market.shocks=[]"]).market.shocks == []


def test_overrides_apply_after_extends_in_order() -> None:
    scenario = load_scenario(SMALL, ["replications=3", "replications=4"])
    assert scenario.replications == 4


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ("replications", "expected KEY.PATH=VALUE"),
        ("=3", "expected KEY.PATH=VALUE"),
        ("program..partner_cap=3", "expected KEY.PATH=VALUE"),
        ("market.seasonality.7=1.0", "'market.seasonality.7': index 7 out of range"),
        ("market.seasonality.first=1.0", "a list needs a numeric index, not 'first'"),
        ("population.partners.count=3", "'population.partners' is a single value"),
        ("name=[unclosed", "invalid YAML"),
    ],
)
def test_malformed_override_is_an_error_naming_it(override: str, reason: str) -> None:
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(SMALL, [override])
    message = str(excinfo.value)
    assert f"bad --set '{override}'" in message
    assert reason in message
    assert excinfo.value.file == str(SMALL)


def test_invalid_value_from_override_names_the_file_and_path() -> None:
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(SMALL, ["program.tiers.gold.rebate_rate=1.5"])
    assert (
        f"{SMALL}: program.tiers.gold.rebate_rate: Input should be less than or equal to 1"
        in str(excinfo.value)
    )


# --- readable errors -----------------------------------------------------------------------------


def test_invalid_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "name: x\nprogram:\n  tiers: [a, b\n")
    with pytest.raises(ScenarioError, match=r"bad\.yaml: invalid YAML at line \d+, column \d+"):
        load_scenario(path)


def test_duplicate_key_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.yaml", MINIMAL + "name: again\n")
    with pytest.raises(ScenarioError, match=r"line 11, column 1: found key 'name' twice"):
        load_scenario(path)


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "    reseller: {share: 1.0}",
        "    reseller: &seg {share: 1.0, win_rate: {dist: fixed, value: 0.3}}",
    )
    text += "market: {}\nx_anchor_user: {<<: *seg, share: 0.5}\n"
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(write(tmp_path, "merge.yaml", text))
    assert problems(excinfo) == {"x_anchor_user": "unknown key"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty"),
        ("- a\n- b\n", "the top level must be a mapping of keys, not a list"),
        ("just words\n", "the top level must be a mapping of keys, not a str"),
    ],
)
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ScenarioError, match=expected):
        load_scenario(write(tmp_path, "top.yaml", text))


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"nowhere\.yaml: cannot read the file"):
        load_scenario(tmp_path / "nowhere.yaml")
    with pytest.raises(ScenarioError, match="cannot read the file"):
        load_scenario(tmp_path)


def test_unknown_key_suggests_the_closest_field() -> None:
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(SMALL, ["program.tiers.gold.rebat_rate=0.04", "program.budgett=1"])
    assert problems(excinfo) == {
        "program.tiers.gold.rebat_rate": "unknown key (did you mean 'rebate_rate'?)",
        "program.budgett": "unknown key (did you mean 'budget'?)",
    }


def test_unknown_key_without_a_close_field_has_no_suggestion() -> None:
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(SMALL, ["program.tiers.gold.zzz=1"])
    assert problems(excinfo) == {"program.tiers.gold.zzz": "unknown key"}


def test_wrong_type_and_negative_rate_name_the_field_and_the_value() -> None:
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(SMALL, ["population.partners=many", "program.tiers.silver.rebate_rate=-0.01"])
    found = problems(excinfo)
    assert found["population.partners"].startswith("Input should be a valid integer")
    assert found["population.partners"].endswith("(got 'many')")
    assert found["program.tiers.silver.rebate_rate"] == (
        "Input should be greater than or equal to 0 (got -0.01)"
    )


def test_model_validator_messages_lose_the_value_error_prefix() -> None:
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(SMALL, ["program.tiers.gold.requirements.revenue=20000"])
    (path, message), *_ = excinfo.value.problems
    assert path == "program.tiers"
    assert message.startswith("tier 'gold' revenue threshold 20000 must be above tier 'silver'")
    assert "Value error" not in str(excinfo.value)


def test_reserve_initial_above_max() -> None:
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(SMALL, ["program.budget.reserve.initial=1000000"])
    assert problems(excinfo) == {
        "program.budget.reserve": "initial reserve 1e+06 is larger than max 900000"
    }


def test_distribution_paths_drop_the_union_tag() -> None:
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(SMALL, ["population.segments.reseller.capacity.sigma=9"])
    assert problems(excinfo) == {
        "population.segments.reseller.capacity.sigma": (
            "Input should be less than or equal to 4 (got 9)"
        )
    }


def test_distribution_without_its_kind_lists_the_kinds() -> None:
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(SMALL, ["population.segments.reseller.win_rate={mean: 0.3}"])
    message = problems(excinfo)["population.segments.reseller.win_rate"]
    assert message.startswith("missing key 'dist' (one of 'fixed', 'uniform'")


@pytest.mark.parametrize(
    ("override", "path", "message"),
    [
        (
            "program.segment_overrides={distributor: {co_sell: {rate: 0.03}}}",
            "program.segment_overrides",
            "'distributor' is not a population segment",
        ),
        (
            "program.segment_overrides={reseller: {tiers: {gold: {rebate_rate: 2}}}}",
            "program.segment_overrides.reseller.tiers.gold.rebate_rate",
            "Input should be less than or equal to 1",
        ),
        (
            "program.region_overrides={emea: {mdf: {reimbursment_rate: 0.7}}}",
            "program.region_overrides.emea.mdf.reimbursment_rate",
            "unknown key (did you mean 'reimbursement_rate'?)",
        ),
    ],
)
def test_bad_segment_and_region_overrides(override: str, path: str, message: str) -> None:
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(SMALL, [override])
    assert problems(excinfo) == {path: message}


def test_shares_not_summing_to_one() -> None:
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(SMALL, ["population.regions.apac=0.3"])
    assert problems(excinfo) == {"population": "regions shares must sum to 1 (they sum to 1.1)"}


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(SMALL, ["replications=0", "seed=-1", "calendar.weeks_per_period=0"])
    assert set(problems(excinfo)) == {"replications", "seed", "calendar.weeks_per_period"}


# --- program files -------------------------------------------------------------------------------


PROGRAM = """
tiers:
  silver: {requirements: {revenue: 1000}, rebate_rate: 0.02}
  gold: {requirements: {revenue: 4000}, rebate_rate: 0.03}
"""


def test_load_program_from_a_bare_program_file(tmp_path: Path) -> None:
    path = write(tmp_path, "program.yaml", PROGRAM)
    program = load_program(path, ["tiers.gold.rebate_rate=0.04"])
    assert program.tier_names == ["silver", "gold"]
    assert program.tiers["gold"].rebate_rate == 0.04


def test_load_program_from_a_program_key(tmp_path: Path) -> None:
    path = write(tmp_path, "wrapped.yaml", "program:\n" + textwrap.indent(PROGRAM, "  "))
    assert load_program(path).tier_names == ["silver", "gold"]
    with pytest.raises(ScenarioError) as excinfo:
        load_program(path, ["program.tiers.gold.rebate_rat=0.1"])
    assert problems(excinfo) == {
        "program.tiers.gold.rebate_rat": "unknown key (did you mean 'rebate_rate'?)"
    }


def test_load_program_from_a_scenario_file_validates_the_whole_scenario() -> None:
    assert load_program(SMALL) == load_scenario(SMALL).program
    with pytest.raises(ScenarioError, match="'nowhere' is not a population segment"):
        load_program(SMALL, ["program.segment_overrides={nowhere: {}}"])


def test_program_file_errors_use_paths_as_written(tmp_path: Path) -> None:
    path = write(tmp_path, "program.yaml", PROGRAM)
    with pytest.raises(ScenarioError) as excinfo:
        load_program(path, ["tiers.gold.rebate_rate=-1"])
    assert list(problems(excinfo)) == ["tiers.gold.rebate_rate"]


def test_program_files_can_extend_program_files(tmp_path: Path) -> None:
    write(tmp_path, "program.yaml", PROGRAM)
    child = write(tmp_path, "richer.yaml", "extends: program.yaml\npartner_cap: 9000\n")
    assert load_program(child).partner_cap == 9000


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ({"program": {}}, "program"),
        ({"tiers": {}, "budget": {}}, "program"),
        ({"name": "x", "tiers": {}}, "scenario"),
        ({"name": "x", "population": {}, "program": {}}, "scenario"),
        ({"program": {}, "population": {}}, "scenario"),
        ({"whatever": 1}, "scenario"),
    ],
)
def test_document_kind(data: dict[str, object], kind: str) -> None:
    assert document_kind(data) == kind


def test_load_document_returns_what_the_file_holds(tmp_path: Path) -> None:
    assert isinstance(load_document(SMALL), Scenario)
    assert isinstance(load_document(write(tmp_path, "p.yaml", PROGRAM)), Program)


# --- dicts and hashes ----------------------------------------------------------------------------


def test_scenario_from_dict_validates_and_names_the_file() -> None:
    data = yaml.safe_load(MINIMAL)
    assert scenario_from_dict(data).name == "minimal"
    data["replications"] = 0
    with pytest.raises(ScenarioError, match=r"^my\.yaml: replications: Input should be"):
        scenario_from_dict(data, file="my.yaml")
    with pytest.raises(ScenarioError, match=r"^<scenario>: replications"):
        scenario_from_dict(data)


def test_scenario_from_dict_resolves_extends_next_to_its_file() -> None:
    scenario = scenario_from_dict({"extends": "small.yaml", "seed": 5}, file=SCENARIOS / "x.yaml")
    assert (scenario.name, scenario.seed) == ("small", 5)


def test_scenario_hash_depends_on_content_only(tmp_path: Path) -> None:
    merged = read_document(SMALL)
    reordered = dict(reversed(list(merged.items())))
    copy = write(tmp_path, "copy.yaml", yaml.safe_dump(reordered, sort_keys=False))
    digest = scenario_hash(load_scenario(SMALL))
    assert len(digest) == 64
    assert int(digest, 16) >= 0
    assert scenario_hash(load_scenario(copy)) == digest
    assert scenario_hash(load_scenario(SMALL, ["replications=20.0"])) == digest
    assert scenario_hash(load_scenario(SMALL, ["replications=21"])) != digest
