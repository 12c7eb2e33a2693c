"""``incentsim sensitivity SCENARIO.yaml``: which uncertain assumptions move the outcomes most.

Morris screening or Sobol indices (SALib) over factors given in a YAML file or inline, each
sample point simulated with ``--reps`` replications under common random numbers. Prints the
ranked table per outcome and writes the tables (CSV, Parquet) and plots (PNG) into ``--out``.
See :mod:`incentsim.experiments.sensitivity`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from incentsim.cli._common import (
    RUNS_FOLDER,
    add_draws_option,
    add_reuse_options,
    add_set_option,
    check_resume_has_out,
    default_out_dir,
    positive_int,
    run_options,
    seed_value,
    worker_count,
)
from incentsim.errors import IncentsimError
from incentsim.scenario.loader import load_scenario

METHODS = ("morris", "sobol")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``sensitivity`` verb."""
    parser = subparsers.add_parser(
        "sensitivity",
        help="rank uncertain assumptions by how much they move cost, loyalty and other outcomes",
        description=(
            "Morris screening or Sobol indices over uncertain assumptions (factors: dotted paths "
            "into the scenario with ranges). Every sample point is simulated with --reps "
            "replications under common random numbers; replication noise is reported."
        ),
    )
    parser.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    parser.add_argument(
        "--factors",
        metavar="FILE_OR_LIST",
        help="a YAML file with a 'factors:' mapping (or an experiment file's "
        "sensitivity.factors), or inline PATH=LOW:HIGH (set), "
        "PATH=xLOW:HIGH (scale) and 'dummy', comma-separated (default: the behaviour and "
        "demand assumptions of incentsim.experiments.sensitivity.DEFAULT_FACTORS)",
    )
    parser.add_argument("--method", choices=METHODS, default="morris", help="default morris")
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--trajectories", type=positive_int, metavar="N", help="Morris trajectories (default 10)"
    )
    size.add_argument(
        "--samples",
        type=positive_int,
        metavar="N",
        help="Sobol base samples, a power of two (default 64)",
    )
    parser.add_argument(
        "--reps",
        type=positive_int,
        default=8,
        metavar="R",
        help="replications per sample point (default 8)",
    )
    parser.add_argument(
        "--outcomes",
        default="incentive_cost,loyalty_mean,retention,revenue_net",
        metavar="A,B",
        help="outcomes to analyse, comma-separated (default %(default)s)",
    )
    parser.add_argument(
        "--seed", type=seed_value, metavar="S", help="root seed (default: scenario's)"
    )
    parser.add_argument(
        "--workers", type=worker_count, default=1, metavar="W", help="worker processes (default 1)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help=f"folder for tables and plots (default {RUNS_FOLDER}/<scenario>-sensitivity-<time>)",
    )
    add_reuse_options(parser, "sensitivity analysis")
    add_draws_option(parser)
    add_set_option(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the analysis, print the ranked table; 0 on success."""
    # loaded when the verb runs: every verb module is imported to build the parser
    from incentsim.experiments.sensitivity import sensitivity
    from incentsim.report import sensitivity_report

    check_resume_has_out(args, "sensitivity analysis")
    scenario = load_scenario(args.scenario, args.overrides)
    if args.method == "morris" and args.samples is not None:
        raise IncentsimError("--samples is for --method sobol; Morris takes --trajectories")
    if args.method == "sobol" and args.trajectories is not None:
        raise IncentsimError("--trajectories is for --method morris; Sobol takes --samples")
    out_dir = args.out or default_out_dir(f"{scenario.name}-sensitivity")
    print(f"sensitivity folder: {out_dir}", file=sys.stderr)
    result = sensitivity(
        scenario,
        args.factors,
        method=args.method,
        size=args.trajectories or args.samples,
        reps=args.reps,
        outcomes=[o.strip() for o in args.outcomes.split(",") if o.strip()],
        seed=args.seed,
        options=run_options(args).replace(out_dir=out_dir),
    )
    page = sensitivity_report(result, Path(out_dir) / "sensitivity.html")
    print(result)
    print(f"tables and plots in {out_dir}, report {page}", file=sys.stderr)
    return 0
