"""``incentsim schema [--out FILE]``: the JSON Schema of a scenario file, for editors.

With the schema saved (``incentsim schema --out scenario.schema.json``), a first line
``# yaml-language-server: $schema=scenario.schema.json`` in a scenario file gives completion,
hover documentation and checks in editors that use yaml-language-server (VS Code's YAML
extension, for instance).

The schema is the :class:`~incentsim.scenario.Scenario` model's, plus the ``extends`` key the
loader consumes. A file with ``extends`` need not repeat any key its parents give, so no key is
required in it; cross-checks between sections (segment names in overrides, shares summing to 1,
tiers rising) are the loader's: run ``incentsim validate`` for those.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from incentsim.errors import IncentsimError
from incentsim.scenario.loader import EXTENDS
from incentsim.scenario.model import Scenario

_DEFS = "#/$defs/"
_PARTIAL = "Partial"
_EXTENDS_SCHEMA = {
    "description": (
        "Scenario file(s) this one builds on, relative to this file; merged in order, "
        "this file's keys win."
    ),
    "anyOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string", "minLength": 1}},
    ],
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``schema`` verb."""
    parser = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of scenario files (for editors)",
        description=(
            "Print the JSON Schema of scenario files. Save it with --out and put "
            "'# yaml-language-server: $schema=<file>' at the top of a scenario for editor "
            "completion and checks."
        ),
    )
    parser.add_argument("--out", type=Path, metavar="FILE", help="write the schema to FILE")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print or write the schema."""
    text = json.dumps(scenario_json_schema(), indent=2) + "\n"
    if args.out is None:
        print(text, end="")
        return 0
    try:
        args.out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise IncentsimError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    print(f"schema written to {args.out}")
    return 0


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a scenario file as the loader reads it.

    A file without ``extends`` must be a whole scenario. A file with ``extends`` is checked
    against a partial copy of the schema with no required keys at any depth, since its parents
    may supply them; unknown keys, types and bounds are still checked.
    """
    scenario = Scenario.model_json_schema()
    defs = scenario.pop("$defs")
    scenario["properties"] = {EXTENDS: _EXTENDS_SCHEMA, **scenario["properties"]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "incentsim scenario",
        "type": "object",
        "$defs": {**defs, **{name + _PARTIAL: _partial(d) for name, d in defs.items()}},
        "if": {"required": [EXTENDS]},
        "then": _partial(scenario),
        "else": scenario,
    }


def _partial(node: Any) -> Any:
    """A copy of a schema with every ``required`` list dropped and references sent to the
    partial definitions; ``oneOf`` becomes ``anyOf`` since a partial object may fit several."""
    if isinstance(node, list):
        return [_partial(item) for item in node]
    if isinstance(node, str) and node.startswith(_DEFS):
        return node + _PARTIAL
    if not isinstance(node, dict):
        return node
    return {
        ("anyOf" if key == "oneOf" else key): _partial(value)
        for key, value in node.items()
        if not (key == "required" and isinstance(value, list))
    }
