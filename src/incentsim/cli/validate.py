"""``incentsim validate FILE... [--set KEY.PATH=VALUE ...]``: check incentsim's YAML files.

Each file is read, its ``extends`` resolved, the overrides applied (the same ones to every
file) and the result validated. A file whose only top-level key is ``program``, or whose top
level holds program keys (``tiers``, ``rebate``, ...) and no scenario keys, is checked as a
program file (see :func:`incentsim.scenario.loader.document_kind`). A file naming a
``scenario`` with ``levers``, ``candidates`` or other optimisation keys is an optimisation file
(:mod:`incentsim.optimizer.spec`; checked with its base scenario), one with ``base``,
``variants`` or ``analyses`` an experiment file (:mod:`incentsim.experiments.batch`; checked
with every scenario it names); any other file is a scenario.

Prints ``OK  <file>  (<summary>)`` on stdout for each good file and ``FAIL  <file>`` for each bad
one, with its problems on stderr; every file is checked. Exits with 2 if any file is bad.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from incentsim.cli._common import add_set_option
from incentsim.errors import IncentsimError
from incentsim.program.spec import Program
from incentsim.scenario.loader import load_document
from incentsim.scenario.model import Scenario
from incentsim.scenario.reader import read_yaml_file


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``validate`` verb."""
    parser = subparsers.add_parser(
        "validate",
        help="check scenario, program, optimisation or experiment files without running them",
        description=(
            "Check each file (extends resolved, overrides applied to every file) and print OK or "
            "FAIL per file, with the problems on stderr. A file whose only key is 'program', or "
            "with program keys (tiers, rebate, ...) and no scenario keys at top level, is checked "
            "as a program file. Exits with 2 if any file is invalid."
        ),
    )
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="scenario, program, optimisation or experiment YAML files",
    )
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
        described = _validated(file, overrides)
    except IncentsimError as exc:
        print(f"FAIL  {file}")
        print(f"error: {exc}", file=sys.stderr)
        return False
    print(f"OK  {file}  ({described})")
    return True


def _validated(file: str, overrides: list[str]) -> str:
    """Validate a file of any kind; a one-line description of it."""
    keys = _top_level_keys(file)
    if "scenario" in keys and keys & {"levers", "candidates", "budget", "floors", "risk"}:
        # loaded when the verb runs: every verb module is imported to build the parser
        from incentsim.optimizer.api import prepare

        spec, _, _, space = prepare(file, overrides=overrides)
        return (
            f"optimisation of {spec.scenario}: {len(spec.levers)} levers, "
            f"{space.n_candidates} candidate designs, risk {spec.risk}"
        )
    if keys & {"base", "variants", "analyses"}:
        if overrides:
            raise IncentsimError(f"{file}: --set applies to scenario files, not experiment files")
        # loaded when the verb runs: every verb module is imported to build the parser
        from incentsim.experiments.batch import plan_experiment

        plan = plan_experiment(file, Path("unused"))
        optimisations = len(plan.optimizations)
        more = f", {optimisations} optimisations" if optimisations else ""
        return f"experiment {plan.experiment.name}: {len(plan.runs)} runs{more}"
    document = load_document(file, overrides)
    if isinstance(document, Scenario) and document.population.source is not None:
        # loaded when the verb runs: every verb module is imported to build the parser
        from incentsim.population.sample import load_partners_csv

        load_partners_csv(document.population.source, document.population)  # as run reads it
    return summary(document)


def _top_level_keys(file: str) -> set[str]:
    """The top-level keys of a YAML mapping; empty when the file is unreadable or not a mapping
    (the scenario loader then reports what is wrong)."""
    try:
        data: Any = read_yaml_file(Path(file))
    except IncentsimError:
        return set()
    return set(data) if isinstance(data, dict) else set()


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
        f"{calendar.horizon_text} ({calendar.period_label(0)} to "
        f"{calendar.period_label(calendar.horizon_periods - 1)}), "
        f"{len(document.market.shocks)} shocks, {document.replications} replications"
        + ("" if document.calibration is None else f"; {document.calibration.summary()}")
    )
