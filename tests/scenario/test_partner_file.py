"""A scenario's partner file (``population.source``): where it is read from, how it is checked."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from incentsim.cli import main
from incentsim.errors import DataError, ScenarioError
from incentsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]
PARTNERS = "partner_id,segment,region\nX,reseller,global\nY,reseller,global\nZ,reseller,global\n"


def scenario_text(**population: object) -> str:
    data = {
        "name": "real",
        "calendar": {"horizon_periods": 2},
        "population": {"segments": {"reseller": {"share": 1.0}}, **population},
        "program": {"tiers": {"gold": {"rebate_rate": 0.01}}},
    }
    return yaml.safe_dump(data)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scenario folder and a different working directory."""
    (tmp_path / "sc").mkdir()
    (tmp_path / "sc" / "data").mkdir()
    (tmp_path / "sc" / "data" / "partners.csv").write_text(PARTNERS)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    return tmp_path / "sc"


def test_source_is_read_relative_to_the_scenario_file(folder: Path) -> None:
    (folder / "real.yaml").write_text(scenario_text(source="data/partners.csv"))
    scenario = load_scenario(folder / "real.yaml")
    assert Path(scenario.population.source) == folder / "data" / "partners.csv"
    assert scenario.population.partners == 3  # taken from the file


def test_source_named_in_an_extended_file_is_relative_to_that_file(folder: Path) -> None:
    (folder / "real.yaml").write_text(scenario_text(source="data/partners.csv"))
    (folder / "data" / "child.yaml").write_text("extends: ../real.yaml\nreplications: 5\n")
    scenario = load_scenario(folder / "data" / "child.yaml")
    assert Path(scenario.population.source) == folder / "data" / "partners.csv"


def test_a_partners_count_that_disagrees_with_the_file_names_both(folder: Path) -> None:
    (folder / "real.yaml").write_text(scenario_text(source="data/partners.csv", partners=1000))
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder / "real.yaml")
    message = str(info.value)
    assert "population.partners" in message
    assert "is 1000" in message
    assert "lists 3 partners" in message
    (folder / "real.yaml").write_text(scenario_text(source="data/partners.csv", partners=3))
    assert load_scenario(folder / "real.yaml").population.partners == 3


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("missing.csv", None, "file not found"),
        ("partners.xlsx", "PK\x03\x04", "unknown file type '.xlsx'"),
        ("unknown.csv", "partner_id,segment,region,colour\nX,reseller,global,red\n", "colour"),
        ("empty.csv", "", "empty"),
    ],
)
def test_validate_checks_the_partner_file(
    folder: Path, capsys: pytest.CaptureFixture[str], name: str, content: str | None, fragment: str
) -> None:
    if content is not None:
        (folder / "data" / name).write_text(content)
    (folder / "real.yaml").write_text(scenario_text(source=f"data/{name}"))
    assert main(["validate", str(folder / "real.yaml")]) == 2
    err = capsys.readouterr().err
    assert fragment in err
    assert name in err
    assert "Traceback" not in err


def test_validate_passes_a_good_partner_file(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "real.yaml").write_text(scenario_text(source="data/partners.csv"))
    assert main(["validate", str(folder / "real.yaml")]) == 0
    assert "3 partners" in capsys.readouterr().out


def test_a_directory_is_not_a_partner_file(folder: Path) -> None:
    (folder / "real.yaml").write_text(scenario_text(source="data"))
    with pytest.raises(DataError, match="not a file"):
        load_scenario(folder / "real.yaml")
