"""Imports run one way: no module imports one from a higher layer (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import incentsim

PACKAGE = Path(incentsim.__file__).parent

#: The layer of each top-level package or module, lowest first (docs/architecture.md).
LAYERS = {
    **dict.fromkeys(
        ["errors", "quantities", "strict", "calendar", "groups", "risk", "result", "_merge"], 0
    ),
    "_output": 0,
    "_workbook": 0,
    **dict.fromkeys(["program", "population", "market", "scenario"], 1),
    **dict.fromkeys(["engine", "payout"], 2),
    "montecarlo": 3,
    **dict.fromkeys(["optimizer", "experiments", "calibration"], 4),
    "report": 5,
    **dict.fromkeys(["cli", "_api", "__init__", "__main__"], 6),
}


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every ``incentsim.*`` module ``path`` imports, at any depth (functions too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [(node.lineno, n) for n in names if n.startswith("incentsim.")]
    return found


def _layer(parts: tuple[str, ...]) -> int:
    top = parts[0].removesuffix(".py")
    assert top in LAYERS, f"{top} has no layer: add it to LAYERS and docs/architecture.md"
    return LAYERS[top]


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer(path: Path) -> None:
    own = _layer(path.relative_to(PACKAGE).parts)
    upward = [
        f"line {line}: {name}"
        for line, name in _imports(path)
        if _layer(tuple(name.split(".")[1:2])) > own
    ]
    assert not upward, f"{path.relative_to(PACKAGE)} imports a higher layer: {upward}"


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from incentsim.report.document import Report\n")
    assert _imports(module) == [(2, "incentsim.report.document")]
    assert _layer(("report",)) > _layer(("experiments",))
