"""``incentsim compare A.yaml B.yaml [C.yaml ...]``: variants over common random numbers.

Every variant runs the same replications with the same seed; each is compared with the first
(the reference) outcome by outcome: paired difference, interval, a verdict (higher or lower,
better or worse, or not distinguishable at this replication count) and the replications that
would tell them apart. Variants with different partner populations or calendars are refused
unless ``--allow-different-populations`` is given. With ``--out DIR`` each variant's run
streams into ``DIR/<variant>`` and the HTML report goes to ``DIR/report.html`` (tables in
``DIR/report_tables/``); ``--html FILE`` writes the report elsewhere.
"""

from __future__ import annotations

import argparse

from incentsim.cli._common import (
    add_excel_option,
    add_montecarlo_options,
    add_output_options,
    locked_out,
    report_path,
    run_arguments,
    write_report,
    write_workbook_file,
)


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
    add_excel_option(parser, "the differences and means")
    add_output_options(parser, runs="DIR/<variant>")
    parser.add_argument("--all", action="store_true", help="show every outcome, not the key ones")
    parser.add_argument(
        "--allow-different-populations",
        action="store_true",
        help="compare variants whose partner populations or calendars differ (refused "
        "otherwise: their differences would not be the design's alone); the report says so "
        "in its first line",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compare the variants, print the table and write the report; 0 on success."""
    # loaded when the verb runs: every verb module is imported to build the parser
    from incentsim.experiments import compare
    from incentsim.report import comparison_report

    with locked_out(args):
        comparison = compare(
            args.scenarios,
            allow_different_populations=args.allow_different_populations,
            **run_arguments(args),
        )
        print(comparison.table(all_outcomes=args.all))
        page = report_path(args)
        if page is not None:
            write_report(comparison_report, comparison, page)
        if args.excel is not None:
            # loaded when the verb runs: every verb module is imported to build the parser
            from incentsim.report.workbook import comparison_workbook

            write_workbook_file(comparison_workbook, comparison, args.excel)
    return 0
