"""``incentsim validate FILE... [--set KEY.PATH=VALUE ...]``: check scenario and program files.

Each file is read, its ``extends`` resolved, the overrides applied (the same ones to every
file) and the result validated. A file whose only top-level key is ``program``, or whose top
level holds program keys (``tiers``, ``rebate``, ...) and no scenario keys, is checked as a
program file; any other file as a scenario (see
:func:`incentsim.scenario.loader.document_kind`).

Prints ``OK  <file>  (<summary>)`` on stdout for each good file and ``FAIL  <file>`` for each bad
one, with its problems on stderr; every file is checked. Exits with 2 if any file is bad.
"""

from __future__ import annotations

import argparse
import sys

from incentsim.cli._common import add_set_option
from incentsim.errors import IncentsimError
from incentsim.program.spec import Program
from incentsim.scenario.loader import load_document
from incentsim.scenario.model import Scenario


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``validate`` verb."""
    parser = subparsers.add_parser(
        "validate",
        help="check scenario or program files without running them",
        description=(
            "Check each file (extends resolved, overrides applied to every file) and print OK or "
            "FAIL per file, with the problems on stderr. A file whose only key is 'program', or "
            "with program keys (tiers, rebate, ...) and no scenario keys at top level, is checked "
            "as a program file. Exits with 2 if any file is invalid."
        ),
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="scenario or program YAML files")
    add_set_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate every file; 0 when all are good, 2 otherwise."""
    failed = [file for file in args.files if not _check(file, args.overrides)]
    if failed and len(args.files) > 1:
        print(f"{len(failed)} of {len(args.files)} files are invalid", file=sys.stderr)
    return 2 if failed else 0


def _check(file: str, overrides: list[str]) -> bool:
    """Validate one file and report it; True when it is good."""
    try:
        document = load_document(file, overrides)
    except IncentsimError as exc:
        print(f"FAIL  {file}")
        print(f"error: {exc}", file=sys.stderr)
        return False
    print(f"OK  {file}  ({summary(document)})")
    return True


def summary(document: Scenario | Program) -> str:
    """A one-line description of a validated scenario or program."""
    program = document.program if isinstance(document, Scenario) else document
    tiers = f"{len(program.tiers)} tiers ({'/'.join(program.tier_names)})"
    if isinstance(document, Program):
        return f"program: {tiers}, {program.currency}"
    population, calendar = document.population, document.calendar
    return (
        f"{document.name}: {population.partners} partners in {len(population.segments)} "
        f"segments and {len(population.regions)} regions, {tiers}, "
        f"{calendar.horizon_periods} periods of {calendar.weeks_per_period} weeks, "
        f"{len(document.market.shocks)} shocks, {document.replications} replications"
    )
