"""Imports sit at the top of modules; one inside a function says why it is deferred (an optional
or slow dependency, a verb's work, a cycle) in a comment just above it or on its line
(``docs/architecture.md``, conventions)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).parents[1] / "src" / "incentsim"


def deferred_import_groups(tree: ast.AST) -> Iterator[list[ast.Import | ast.ImportFrom]]:
    """Runs of consecutive import statements in the bodies of functions."""
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            for field in ("body", "orelse", "finalbody", "handlers"):
                statements = getattr(node, field, None)
                if not isinstance(statements, list):
                    continue
                group: list[ast.Import | ast.ImportFrom] = []
                for statement in [*statements, None]:
                    if isinstance(statement, ast.Import | ast.ImportFrom):
                        group.append(statement)
                        continue
                    if group:
                        yield group
                    group = []


def explained(group: list[ast.Import | ast.ImportFrom], lines: list[str]) -> bool:
    """Whether a comment sits on the line above the group (blank lines skipped) or on one of
    its statements' lines."""
    if any("#" in lines[i - 1] for s in group for i in range(s.lineno, (s.end_lineno or 0) + 1)):
        return True
    above = group[0].lineno - 2
    while above >= 0 and not lines[above].strip():
        above -= 1
    return above >= 0 and lines[above].strip().startswith("#")


def test_every_function_level_import_says_why_it_is_deferred() -> None:
    unexplained = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for group in deferred_import_groups(ast.parse(text)):
            if not explained(group, lines):
                where = f"{path.relative_to(SRC.parent)}:{group[0].lineno}"
                unexplained.append(f"{where}: {lines[group[0].lineno - 1].strip()}")
    assert not unexplained, "function-level imports without a reason:\n" + "\n".join(unexplained)
