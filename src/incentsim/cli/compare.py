"""``incentsim compare A.yaml B.yaml [C.yaml ...]``: variants over common random numbers.

Every variant runs the same replications with the same seed; each is compared with the first
(the reference) outcome by outcome: paired difference, interval, a verdict (higher or lower,
better or worse, or not distinguishable at this replication count) and the replications that
would tell them apart. With ``--out DIR`` each variant's run streams into ``DIR/<variant>`` and
the HTML report goes to ``DIR/report.html`` (tables in ``DIR/report_tables/``); ``--html FILE``
writes the report elsewhere.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from incentsim.cli._common import (
    EXECUTORS,
    add_set_option,
    executor_kind,
    non_negative_int,
    positive_int,
    write_report,
)

REPORT_NAME = "report.html"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``compare`` verb."""
    parser = subparsers.add_parser(
        "compare",
        help="compare design variants over common random numbers",
        description=(
            "Simulate every variant with the same replications and seed, and compare each with "
            "the first: paired differences with intervals, a verdict per outcome and the "
            "replications that would be needed to tell the variants apart."
        ),
    )
    parser.add_argument(
        "scenarios",
        metavar="SCENARIO",
        nargs="+",
        help="two or more scenario YAML files; the first is the reference",
    )
    add_montecarlo_options(parser, what="every variant")
    add_output_options(parser, runs="DIR/<variant>")
    parser.add_argument("--all", action="store_true", help="show every outcome, not the key ones")
    parser.set_defaults(func=run)


def add_montecarlo_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--reps``, ``--seed``, ``--workers``, ``--executor``, ``--scheduler``, ``--set`` and
    ``--no-progress``, spelled as ``incentsim run`` spells them."""
    parser.add_argument(
        "--reps",
        type=positive_int,
        metavar="N",
        help=f"replications for {what} (default: the first scenario's)",
    )
    parser.add_argument(
        "--seed",
        type=non_negative_int,
        metavar="S",
        help="root seed (default: the first scenario's)",
    )
    parser.add_argument(
        "--workers", type=positive_int, default=1, metavar="W", help="worker processes (default 1)"
    )
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        help="where blocks run (default: serial with 1 worker, else processes)",
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="a running Dask scheduler (implies --executor dask)"
    )
    add_set_option(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_output_options(parser: argparse.ArgumentParser, runs: str) -> None:
    """``--out``, ``--overwrite`` and ``--html``."""
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help=f"stream runs into {runs} and write {REPORT_NAME} and its tables there "
        "(default: keep runs in memory)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="reuse --out folders that hold different runs"
    )
    parser.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help=f"write the HTML report here, tables in <FILE stem>_tables/ (default with --out: "
        f"DIR/{REPORT_NAME})",
    )


def run_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """What :func:`add_montecarlo_options` and :func:`add_output_options` collected, as the
    keyword arguments of :func:`~incentsim.experiments.compare` and
    :func:`~incentsim.experiments.stress`."""
    return {
        "reps": args.reps,
        "seed": args.seed,
        "executor": executor_kind(args.executor, args.workers, args.scheduler),
        "workers": args.workers,
        "address": args.scheduler,
        "out_dir": args.out,
        "overwrite": args.overwrite,
        "progress": not args.no_progress,
        "overrides": args.overrides,
    }


def report_path(args: argparse.Namespace) -> Path | None:
    """Where the report goes: ``--html``, else ``--out``/report.html, else nowhere."""
    if args.html is not None:
        return Path(args.html)
    return None if args.out is None else Path(args.out) / REPORT_NAME


def run(args: argparse.Namespace) -> int:
    """Compare the variants, print the table and write the report; 0 on success."""
    from incentsim.experiments import compare
    from incentsim.report import comparison_report

    comparison = compare(args.scenarios, **run_arguments(args))
    print(comparison.table(all_outcomes=args.all))
    page = report_path(args)
    if page is not None:
        write_report(comparison_report, comparison, page)
    return 0
