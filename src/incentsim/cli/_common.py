"""Options shared by several verbs, so every verb spells them the same way."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from incentsim.errors import IncentsimError

#: Where Monte Carlo blocks can run (see :mod:`incentsim.montecarlo.executors`).
EXECUTORS = ("serial", "processes", "dask")
#: The default parent folder of run and analysis folders.
RUNS_FOLDER = Path("runs")


def add_set_option(parser: argparse.ArgumentParser) -> None:
    """Add the repeatable ``--set KEY.PATH=VALUE`` option; values land in ``args.overrides``.

    Pass ``args.overrides`` to :func:`incentsim.scenario.load_scenario` (or ``load_program``):
    each override is applied after ``extends`` is resolved, in the order given.
    """
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help=(
            "override one value after 'extends' is resolved; the value is read as YAML "
            "(e.g. --set program.tiers.gold.rebate_rate=0.04, --set market.shocks=[], "
            "--set market.shocks.0.magnitude=0.3); repeatable"
        ),
    )


def executor_kind(executor: str | None, workers: int, scheduler: str | None) -> str:
    """The executor to use: as asked, else dask with a scheduler, serial for one worker, else
    processes."""
    if scheduler is not None:
        if executor not in (None, "dask"):
            raise IncentsimError(f"--scheduler needs the dask executor, not --executor {executor}")
        return "dask"
    if executor is not None:
        return executor
    return "serial" if workers == 1 else "processes"


def default_out_dir(name: str, now: dt.datetime | None = None) -> Path:
    """``runs/<name>-<YYYYmmdd-HHMMSS>``, with a suffix if that folder exists already."""
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    stem = folder_name(name)
    candidate = RUNS_FOLDER / f"{stem}-{stamp}"
    suffix = 2
    while candidate.exists():
        candidate = RUNS_FOLDER / f"{stem}-{stamp}-{suffix}"
        suffix += 1
    return candidate


def folder_name(name: str) -> str:
    """``name`` as one folder name: runs of other characters than ``A-Za-z0-9._-`` become ``-``
    (so ``a/../b`` cannot leave the runs folder); ``run`` when nothing is left."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "run"


def write_report(build: Callable[[Any, Path], Path], result: Any, page: Path) -> None:
    """Write ``result``'s HTML report with ``build(result, page)`` and say where on stderr; a
    page that cannot be written is a user error (exit 2), not a traceback."""
    try:
        build(result, page)
    except OSError as exc:
        raise IncentsimError(f"cannot write the report {page}: {exc}") from None
    print(f"report: {page}", file=sys.stderr)


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: a whole number of at least 0."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be non-negative, not {value}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not '{text}'") from None
