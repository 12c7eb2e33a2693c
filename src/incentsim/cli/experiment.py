"""``incentsim experiment FILE``: run a batch experiment file, resumably.

The file declares a base scenario, variants, shocks, seeds, replications and the analyses to
run (see :mod:`incentsim.experiments.batch`). Every finished run is on disk at once; after an
interruption, ``--resume`` continues into the same folder and ends with the results an
uninterrupted run gives.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from incentsim.cli._common import (
    RUNS_FOLDER,
    add_reuse_options,
    executor_kind,
    folder_name,
    worker_count,
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``experiment`` verb."""
    parser = subparsers.add_parser(
        "experiment",
        help="run a batch experiment file (variants x shocks x seeds, analyses), resumably",
        description=(
            "Simulate every variant under every shock case with every seed, streaming each "
            "finished run to disk, then run the analyses the file asks for (compare, stress, "
            "sensitivity, optimize) and write tables and an HTML report. An interrupted "
            "experiment continues with --resume; --overwrite replaces another experiment."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="experiment YAML file")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help=f"output folder (default {RUNS_FOLDER}/<experiment name>)",
    )
    add_reuse_options(parser, "experiment")
    parser.add_argument(
        "--workers", type=worker_count, default=1, metavar="W", help="worker processes (default 1)"
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no line per finished run, no progress bar"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the experiment; 0 on success."""
    # loaded when the verb runs: every verb module is imported to build the parser
    from incentsim.experiments.batch import (
        REPORT,
        RESULTS,
        SENSITIVITY,
        load_experiment,
        run_experiment,
    )
    from incentsim.report import experiment_report, sensitivity_report

    out_dir = args.out or RUNS_FOLDER / folder_name(load_experiment(args.file).name)
    print(f"experiment folder: {out_dir}", file=sys.stderr)
    result = run_experiment(
        args.file,
        out_dir,
        resume=args.resume,
        overwrite=args.overwrite,
        executor=executor_kind(None, args.workers, None),
        workers=args.workers,
        log=False if args.no_progress else None,
    )
    experiment_report(result, out_dir / REPORT)
    if result.sensitivity is not None:
        sensitivity_report(result.sensitivity, out_dir / SENSITIVITY / "sensitivity.html")
    print(result)
    print(f"tables in {out_dir / RESULTS}, report {out_dir / REPORT}", file=sys.stderr)
    return 0
