"""``incentsim stress SCENARIO.yaml``: library shocks alone and combined; reverse stress test.

::

    incentsim stress scenarios/baseline.yaml --shocks recession:severe,competitor --combine
    incentsim stress scenarios/small.yaml --shocks recession --limit 'retention<0.85'
    incentsim stress --list-shocks

Every case runs the same replications with the same seed as the unshocked baseline. The
output puts the probability of exceeding the budget and of running out of reserve first, then
the resilience table (mean per case, worst case, worst CVaR). Each ``--limit`` (the condition
that breaks it: ``retention<0.85``, ``reserve_depleted>0.1``; quote it for the shell) starts a
reverse stress test: the mildest magnitude of each shock that breaks it, found by bisection up
to the shock's extreme.
"""

from __future__ import annotations

import argparse

from incentsim.cli._common import (
    add_excel_option,
    add_montecarlo_options,
    add_output_options,
    locked_out,
    positive_int,
    report_path,
    run_arguments,
    write_report,
    write_workbook_file,
)
from incentsim.errors import IncentsimError


def bisection_steps(text: str) -> int:
    """An argparse type: bisection steps, 1 to 30 (30 halvings narrow a range a billionfold)."""
    value = positive_int(text)
    if value > 30:
        raise argparse.ArgumentTypeError(f"at most 30 steps (1/2**30 of the range), not {value}")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``stress`` verb."""
    parser = subparsers.add_parser(
        "stress",
        help="stress-test a scenario against market shocks; find the shock that breaks a limit",
        description=(
            "Apply named shocks (alone and, with --combine, together) over the same random "
            "numbers as the unshocked scenario; report budget-overrun and reserve-depletion "
            "probabilities and a resilience table; with --limit, search the mildest shock that "
            "breaks the limit."
        ),
    )
    parser.add_argument("scenario", metavar="SCENARIO", nargs="?", help="scenario YAML file")
    parser.add_argument(
        "--shocks",
        nargs="+",
        metavar="NAME[:SEVERITY]",
        help="library shocks, comma- or space-separated, each NAME, NAME:mild|moderate|severe or "
        "NAME:MAGNITUDE (default: every library shock, severe); see --list-shocks",
    )
    parser.add_argument(
        "--combine",
        action="store_true",
        help="also every pair of shocks and all together; with --limit, also search the "
        "shocks' worst combination (shocks that soften the others are left out)",
    )
    parser.add_argument(
        "--limit",
        dest="limits",
        action="append",
        default=[],
        metavar="OUTCOME<X",
        help="the condition that breaks a limit, on the mean over replications (e.g. "
        "'retention<0.85', 'reserve_depleted>0.1'); runs the reverse stress test; repeatable",
    )
    parser.add_argument(
        "--steps",
        type=bisection_steps,
        default=6,
        metavar="K",
        help="bisection steps per reverse stress search (default 6: 1/64 of the range)",
    )
    parser.add_argument(
        "--tail",
        type=float,
        default=0.10,
        metavar="Q",
        help="share of worst replications in the CVaR (default 0.10)",
    )
    add_montecarlo_options(parser, what="every case")
    add_excel_option(parser, "the risks and resilience tables")
    add_output_options(parser, runs="DIR/<case>")
    parser.add_argument(
        "--list-shocks", action="store_true", help="print the shock library and exit"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the stress test, print its tables and write the report; 0 on success."""
    if args.list_shocks:
        print(library_text())
        return 0
    if args.scenario is None:
        raise IncentsimError("stress needs a SCENARIO file (or --list-shocks)")
    # loaded when the verb runs: every verb module is imported to build the parser
    from incentsim.experiments import stress
    from incentsim.report import stress_report

    shocks = None if args.shocks is None else ",".join(args.shocks)
    with locked_out(args):
        test = stress(
            args.scenario,
            shocks,
            combine=args.combine,
            limits=args.limits,
            tail=args.tail,
            steps=args.steps,
            **run_arguments(args),
        )
        print(test.table())
        page = report_path(args)
        if page is not None:
            write_report(stress_report, test, page)
        if args.excel is not None:
            # loaded when the verb runs: every verb module is imported to build the parser
            from incentsim.report.workbook import stress_workbook

            write_workbook_file(stress_workbook, test, args.excel)
    return 0


def library_text() -> str:
    """The shock library as aligned text."""
    # loaded when the verb runs: every verb module is imported to build the parser
    from incentsim.experiments.compare import text_columns
    from incentsim.experiments.shocks import SEVERITIES, library_table

    library = library_table()
    header = ["name", *SEVERITIES, "extreme", "unit"]
    rows = [
        [f"{r[k]:g}" if isinstance(r[k], float) else str(r[k]) for k in header] for r in library
    ]
    descriptions = [f"  {r['name']}: {r['description']}" for r in library]
    return "\n".join([*text_columns([header, *rows]), "", *descriptions])
