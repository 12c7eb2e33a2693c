"""User-facing errors: each names the file and the field or line at fault.

The CLI prints an :class:`IncentsimError` as its message alone (no traceback) and exits with
code 2. Library callers catch them like any exception.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType


class IncentsimError(Exception):
    """Base of every error caused by the user's input rather than by a bug."""


class ScenarioError(IncentsimError):
    """A scenario (or program) file that cannot be read or does not validate.

    Parameters
    ----------
    file
        The file at fault (``None`` for a scenario built in Python).
    problems
        ``(field path, message)`` pairs; the path uses dots (``program.tiers.gold.rebate_rate``).
    """

    def __init__(self, file: str | Path | None, problems: Sequence[tuple[str, str]]) -> None:
        self.file = None if file is None else str(file)
        self.problems = list(problems)
        where = self.file or "<scenario>"
        lines = [f"{where}: {path}: {msg}" if path else f"{where}: {msg}" for path, msg in problems]
        super().__init__("\n".join(lines))


class DataError(IncentsimError):
    """A data file (transactions, partners) with invalid rows or columns.

    Parameters
    ----------
    file
        The file at fault.
    problems
        ``(line number or None, message)`` pairs; line numbers count the header as line 1.
    """

    def __init__(self, file: str | Path, problems: Sequence[tuple[int | None, str]]) -> None:
        self.file = str(file)
        self.problems = list(problems)
        shown = [
            f"{self.file}:{line}: {msg}" if line is not None else f"{self.file}: {msg}"
            for line, msg in self.problems[:50]
        ]
        if len(self.problems) > 50:
            shown.append(f"{self.file}: ... and {len(self.problems) - 50} more problems")
        super().__init__("\n".join(shown))


class MoneyOverflowError(IncentsimError):
    """A total of money too large to count to the cent (int64 cents hold at most 9.22e16
    currency units): the amounts a scenario or file pays are beyond any real program's."""


class OutDirError(IncentsimError):
    """An output folder that cannot be written: it holds another result this command must not
    overwrite, another process is writing it, or it cannot be created."""


class MissingExtraError(IncentsimError):
    """A feature whose optional dependencies are not installed: names the feature and the
    ``pip install`` that adds them."""


def optional_module(name: str, feature: str, extra: str) -> ModuleType:
    """Import ``name``, an optional dependency of ``feature`` installed by the package extra
    ``extra``; a :class:`MissingExtraError` saying how to install it when it is missing."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise MissingExtraError(
            f"{feature} needs {exc.name or name}, which is not installed: "
            f"pip install 'incentsim[{extra}]'"
        ) from exc
