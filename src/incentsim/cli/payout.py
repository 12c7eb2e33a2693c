"""``incentsim payout PROGRAM.yaml TRANSACTIONS.csv [--out DIR] [--set KEY.PATH=VALUE ...]``.

Runs an incentive program over a file of real transactions with the same rules a simulation
uses, and writes partner statements (``statements.csv``, ``statements.txt``, the reconcilable
lines in ``statement_lines.csv`` and one ``statement_<partner>.html`` per partner), the program
ledger (``program_ledger.csv``) and the findings (``findings.csv``) to ``--out``, a folder
replaced whole once every file is written; one that already holds statements needs
``--overwrite``.

``PROGRAM.yaml`` is a scenario file (its program and calendar are used, and the transactions'
segments and regions must be the population's) or a program file (the calendar defaults to
13-week quarters from 2027-01-04 over 8 periods). ``--start-date``, ``--periods``,
``--weeks-per-period`` and ``--periods-per-year`` change the calendar in either case.
A program with contingent rules needs ``--indicators`` (the market indicators they read, by
period).

Nothing is written unless every row of the transactions is valid; the problems are listed
with their line numbers and the command exits with 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from pydantic import ValidationError

from incentsim.calendar import Calendar
from incentsim.cli._common import add_excel_option, add_history_arguments, positive_int
from incentsim.errors import IncentsimError
from incentsim.scenario.loader import load_document
from incentsim.scenario.model import Scenario


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``payout`` verb."""
    parser = subparsers.add_parser(
        "payout",
        help="compute partner statements from real transactions",
        description=(
            "Run a program over real transactions (CSV, Parquet or Excel) with the same rules the "
            "simulation uses, and write partner statements, the program ledger and findings. "
            "PROGRAM is a scenario file (its program and calendar) or a program file."
        ),
    )
    add_history_arguments(
        parser,
        document="program",
        document_help="scenario or program file",
        history="transactions",
        history_help="transactions file",
        out="statements",
        written="statements",
    )
    parser.add_argument(
        "--columns",
        metavar="MAPPING.yaml",
        help="column mapping for an export with other column names, extra columns, currency "
        "strings, other date formats or a ';' separator (see incentsim.payout.intake)",
    )
    parser.add_argument(
        "--indicators",
        metavar="INDICATORS.csv",
        help="market indicators by period for the program's contingent rules: a 'period' "
        "column (1-based) and one column per indicator the rules read (demand, price, supply, "
        "competitor_offer; 1 = as planned); a rule in force in a period reads the period just "
        "closed",
    )
    add_excel_option(parser, "the statements")
    parser.add_argument(
        "--start-date",
        type=_date,
        metavar="YYYY-MM-DD",
        help="first day of the program calendar (default: the scenario's, else 2027-01-04)",
    )
    parser.add_argument(
        "--periods", type=positive_int, metavar="N", help="periods in the program calendar"
    )
    parser.add_argument("--weeks-per-period", type=positive_int, metavar="N", help="weeks a period")
    parser.add_argument(
        "--periods-per-year", type=positive_int, metavar="N", help="periods a program year"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compute and write the statements; print a summary."""
    # loaded when the verb runs: every verb module is imported to build the parser
    from incentsim.payout import (
        ColumnMapping,
        compute_statements,
        read_transactions,
        write_excel,
        write_statements,
    )
    from incentsim.payout.versions import read_indicators
    from incentsim.program.windows import window_problems
    from incentsim.report.statements import statement_pages

    document = load_document(args.program, args.overrides)
    if isinstance(document, Scenario):
        program, calendar = document.program, document.calendar
        segments = list(document.population.segments)
        regions = list(document.population.regions)
    else:
        program, calendar, segments, regions = document, Calendar(), None, None
    options = {
        "start_date": ("--start-date", args.start_date),
        "horizon_periods": ("--periods", args.periods),
        "weeks_per_period": ("--weeks-per-period", args.weeks_per_period),
        "periods_per_year": ("--periods-per-year", args.periods_per_year),
    }
    changes = {field: value for field, (_, value) in options.items() if value is not None}
    if changes:
        try:
            calendar = Calendar.model_validate({**calendar.model_dump(), **changes})
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                field = str(error["loc"][0]) if error["loc"] else ""
                option = options[field][0] if field in options else "calendar"
                problems.append(f"{option}: {str(error['msg']).removeprefix('Value error, ')}")
            raise IncentsimError("invalid calendar option: " + "; ".join(problems)) from None

    problems = window_problems(program, calendar.weeks_per_period)
    if problems:
        given = " (--weeks-per-period)" if args.weeks_per_period is not None else ""
        raise IncentsimError(f"{args.program}: {problems[0]}{given}")

    mapping = ColumnMapping.load(args.columns) if args.columns else None
    transactions = read_transactions(
        args.transactions, calendar=calendar, segments=segments, regions=regions, mapping=mapping
    )
    indicators = read_indicators(args.indicators) if args.indicators else None
    result = compute_statements(
        program,
        calendar,
        transactions,
        indicators=indicators,
        indicators_source=args.indicators or "--indicators",
    )
    out = Path(args.out)
    try:
        written = write_statements(
            result, out, overwrite=args.overwrite, pages=statement_pages(result)
        )
        if args.excel:
            written.append(write_excel(result, args.excel))
    except OSError as exc:
        raise IncentsimError(f"cannot write the statements: {exc}") from None

    s = result.summary()
    first = calendar.start_date
    last = calendar.period_bounds(s["periods"] - 1)[1]
    cur = program.currency
    for note in transactions.attrs.get("notes", []):
        print(f"Note: {note}")
    print(
        f"Payout statements: {s['partners']} partners, {s['periods']} periods "
        f"({first} .. {last}), {s['runs']} payout runs, {cur}"
    )
    rows = [
        ("revenue", s["revenue"]),
        ("accrued", s["accrued"]),
        ("paid", s["paid"]),
        ("cut", s["cut"]),
        ("owed to partners", s["owed_to_partners"]),
        ("owed to vendor", s["owed_to_vendor"]),
        ("reserve at end", s["reserve_end"]),
    ]
    width = max(len(f"{v:,.2f}") for _, v in rows)
    for label, value in rows:
        print(f"  {label:<18}{value:>{width},.2f}")
    if s["pending_periods"]:
        print(f"  {s['pending_periods']} period(s) accrued and pending the next payout run")
    if s["findings"]:
        kinds = result.findings["kind"].value_counts()
        listed = ", ".join(f"{k} {n}" for k, n in kinds.items())
        print(f"  {'findings':<18}{s['findings']} ({listed})")
    pages = [p for p in written if p.suffix == ".html"]
    files = [str(p) for p in written if p.suffix != ".html"]
    print(f"Wrote {', '.join(files)} and {len(pages)} partner statements ({out}/statement_*.html)")
    return 0


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (use YYYY-MM-DD)") from None
