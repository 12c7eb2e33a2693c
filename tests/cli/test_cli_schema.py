"""``incentsim schema``: a JSON Schema that accepts the bundled scenarios and rejects mistakes."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from incentsim.cli import main
from incentsim.cli.schema import scenario_json_schema

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


def bundled_scenarios() -> list[Path]:
    """The scenario files in scenarios/ (an optimisation file, with ``levers``, is not one)."""
    files = sorted(SCENARIOS.glob("*.yaml"))
    return [p for p in files if "levers" not in yaml.safe_load(p.read_text(encoding="utf-8"))]


def raw(path: Path) -> Any:
    """A YAML file as JSON would carry it (dates as strings), ``extends`` kept."""
    return json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))


@pytest.fixture(scope="module")
def validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    schema = scenario_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", bundled_scenarios(), ids=lambda p: p.name)
def test_schema_accepts_the_bundled_scenarios(validator: Any, path: Path) -> None:
    assert [error.message for error in validator.iter_errors(raw(path))] == []


def test_schema_rejects_unknown_keys_and_bad_values(validator: Any) -> None:
    baseline = raw(SCENARIOS / "baseline.yaml")
    misspelt = copy.deepcopy(baseline)
    misspelt["program"]["tiers"]["gold"]["rebat_rate"] = 0.03
    negative = copy.deepcopy(baseline)
    negative["program"]["tiers"]["gold"]["rebate_rate"] = -0.03
    for broken in (misspelt, negative):
        assert not validator.is_valid(broken)
        assert not validator.is_valid({"extends": "baseline.yaml", **broken})


def test_only_files_without_extends_must_be_whole(validator: Any) -> None:
    partial = {"program": {"tiers": {"gold": {"rebate_rate": 0.03}}}}
    assert not validator.is_valid(partial)
    assert validator.is_valid({"extends": "baseline.yaml", **partial})
    assert validator.is_valid({"extends": ["a.yaml", "b.yaml"], **partial})
    assert not validator.is_valid({"extends": 3, **partial})


def test_schema_verb_prints_and_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == scenario_json_schema()
    out = tmp_path / "scenario.schema.json"
    assert main(["schema", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == printed


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "incentsim", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_end_to_end_schema(tmp_path: Path) -> None:
    good = run_cli("schema")
    assert good.returncode == 0, good.stderr
    assert "extends" in json.loads(good.stdout)["then"]["properties"]

    bad = run_cli("schema", "--out", str(tmp_path / "no" / "such" / "dir" / "s.json"))
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: cannot write ")
    assert "Traceback" not in bad.stderr
