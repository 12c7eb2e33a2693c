"""``incentsim run SCENARIO.yaml``: simulate a scenario as Monte Carlo and print the summary.

Results stream into a run folder (``--out``; by default ``runs/<scenario>-<timestamp>``) as
blocks finish: replications, trajectories, panel (``--panel``), events, then ``summary.json``
and ``manifest.json``; then the trajectories in long format (``trajectory_bands`` per period
with quantiles, ``trajectories_long`` per replication and period, CSV and Parquet, with the
calendar's fiscal period names and dates; see :mod:`incentsim.montecarlo.tidy`). Re-open it in
Python with ``incentsim.montecarlo.MonteCarloResult.open(folder)``. A run stopped part-way
(killed, out of time) continues with ``--resume --out FOLDER``: finished blocks are kept, the
rest simulated.

The replications do not depend on ``--workers`` or ``--executor``: the same scenario and seed
give the same numbers on a laptop or a cluster.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from incentsim.cli._common import (
    EXECUTORS,
    RUNS_FOLDER,
    add_draws_option,
    add_excel_option,
    add_reuse_options,
    add_set_option,
    check_resume_has_out,
    default_out_dir,
    replications,
    run_options,
    seed_value,
    worker_count,
    write_report,
    write_workbook_file,
)
from incentsim.errors import IncentsimError
from incentsim.scenario.loader import load_scenario


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``run`` verb."""
    parser = subparsers.add_parser(
        "run",
        help="simulate a scenario (Monte Carlo) and print its summary",
        description=(
            "Simulate the scenario's replications in fixed seed blocks, stream the results into "
            "a run folder and print the summary table. Results do not depend on --workers or "
            "--executor."
        ),
    )
    parser.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    parser.add_argument(
        "--reps", type=replications, metavar="N", help="replications (default: the scenario's)"
    )
    parser.add_argument(
        "--seed", type=seed_value, metavar="S", help="root seed (default: the scenario's)"
    )
    parser.add_argument(
        "--workers", type=worker_count, default=1, metavar="W", help="worker processes (default 1)"
    )
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        help="where blocks run (default: serial with 1 worker, else processes; dask with "
        "--scheduler)",
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="a running Dask scheduler (implies --executor dask)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help=f"run folder (default: {RUNS_FOLDER}/<scenario name>-<timestamp>)",
    )
    add_reuse_options(parser, "run")
    parser.add_argument(
        "--panel",
        action="store_true",
        help="also keep rows per replication x partner x period (large)",
    )
    parser.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help="also write a self-contained HTML report (tables in <FILE stem>_tables/)",
    )
    add_excel_option(parser, "the summary, cost by component, trajectories and tier flows")
    parser.add_argument(
        "--transactions",
        type=Path,
        metavar="FILE",
        help="instead of the Monte Carlo, write replication 0's partner history (of --seed) as "
        "transactions in the payout format (.csv or .parquet): synthetic truth for calibration",
    )
    add_draws_option(parser)
    add_set_option(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the Monte Carlo and print the summary; 0 on success."""
    # loaded when the verb runs: every verb module is imported to build the parser
    from incentsim.engine.outcomes import constructs_in_use
    from incentsim.montecarlo import run_montecarlo
    from incentsim.montecarlo.summary import format_table
    from incentsim.montecarlo.tidy import write_tidy

    if args.transactions is not None:
        _check_history_options(args)
    check_resume_has_out(args, "run")
    scenario = load_scenario(args.scenario, args.overrides)
    if args.transactions is not None:
        return _write_history(scenario, args)
    out_dir = args.out if args.out is not None else default_out_dir(scenario.name)
    print(f"run folder: {out_dir}", file=sys.stderr)
    options = run_options(args).replace(out_dir=out_dir, panel=args.panel)
    result = run_montecarlo(scenario, args.reps, args.seed, options=options)
    resumed = result.manifest.get("resumed_blocks")
    if resumed:
        print(
            f"resumed: {resumed} of {result.manifest['blocks']} blocks were already in {out_dir}",
            file=sys.stderr,
        )
    print(format_table(result.summary, constructs=constructs_in_use(scenario.program)))
    write_tidy(result, out_dir)
    seconds = result.manifest.get("wall_seconds")
    print(f"results in {out_dir} ({seconds:.1f} s)", file=sys.stderr)
    if args.html is not None:
        # loaded when the verb runs: every verb module is imported to build the parser
        from incentsim.report import run_report

        write_report(run_report, result, args.html)
    if args.excel is not None:
        # loaded when the verb runs: every verb module is imported to build the parser
        from incentsim.report.workbook import run_workbook

        write_workbook_file(run_workbook, result, args.excel)
    return 0


def _check_history_options(args: argparse.Namespace) -> None:
    """Refuse the Monte Carlo's options beside ``--transactions``, which writes one history
    (of ``--seed``) instead of running replications: each would be accepted and ignored."""
    given = [
        option
        for option, used in (
            ("--reps", args.reps is not None),
            ("--workers", args.workers != 1),
            ("--executor", args.executor is not None),
            ("--scheduler", args.scheduler is not None),
            ("--out", args.out is not None),
            ("--overwrite", args.overwrite),
            ("--resume", args.resume),
            ("--panel", args.panel),
            ("--html", args.html is not None),
            ("--excel", args.excel is not None),
            ("--draws", args.draws is not None),
        )
        if used
    ]
    if given:
        raise IncentsimError(
            f"--transactions writes replication 0's history instead of running the Monte "
            f"Carlo; {', '.join(given)} {'is' if len(given) == 1 else 'are'} for the Monte "
            "Carlo: give one or the other"
        )


def _write_history(scenario: object, args: argparse.Namespace) -> int:
    """Write the simulated history of replication 0 (``--transactions``); 0 on success."""
    # loaded when the verb runs: every verb module is imported to build the parser
    from incentsim.montecarlo.history import simulate_history, write_history

    if args.transactions.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise IncentsimError(
            f"--transactions {args.transactions}: use a .csv or .parquet file name"
        )
    if not args.transactions.parent.is_dir():
        raise IncentsimError(
            f"--transactions {args.transactions}: no folder {args.transactions.parent}"
        )
    history = simulate_history(scenario, seed=args.seed).transactions  # type: ignore[arg-type]
    write_history(history, args.transactions)
    partners = history["partner_id"].nunique()
    print(
        f"history of replication 0: {len(history)} rows for {partners} partners in "
        f"{args.transactions}",
        file=sys.stderr,
    )
    return 0
