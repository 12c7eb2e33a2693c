"""``incentsim calibrate SCENARIO.yaml HISTORY [--program PROGRAM.yaml] [--out DIR]``.

Calibrates the scenario to a transactions history (the ``payout`` format: CSV, Parquet or
Excel) under the program that was in force (default: the scenario's): each partner's capacity,
each segment's capacity family, and the behaviour constants the history identifies, by the
method of simulated moments with partner-bootstrap intervals
(:mod:`incentsim.calibration.estimate`). With ``--holdout N`` (default 2; 0 skips it) it also
calibrates without the last N periods and predicts them.

Writes ``calibrated.yaml`` (an ``extends:`` diff on SCENARIO with a ``calibration:`` block),
``partners.csv``, ``draws.csv`` (for ``incentsim run --draws``), ``moments.csv``,
``constants.csv`` and ``holdout.csv`` to ``--out``, a folder replaced whole once every file is
written. A bad history is reported with its file, line and column; nothing is written.
"""

from __future__ import annotations

import argparse
import sys

from incentsim.cli._common import add_history_arguments, positive_int
from incentsim.errors import IncentsimError
from incentsim.scenario.loader import load_program, load_scenario


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``calibrate`` verb."""
    parser = subparsers.add_parser(
        "calibrate",
        help="calibrate a scenario to last year's transactions history",
        description=(
            "Estimate partner capacity and the behaviour constants a transactions history "
            "identifies (simulated moments, bootstrap intervals), back-test the fit and write a "
            "calibrated scenario with its parameter draws."
        ),
    )
    add_history_arguments(
        parser,
        document="scenario",
        document_help="scenario file to calibrate",
        history="history",
        history_help="transactions history",
        out="calibration",
        written="a calibration",
    )
    parser.add_argument(
        "--program",
        metavar="PROGRAM.yaml",
        help="the program in force over the history (default: the scenario's)",
    )
    parser.add_argument(
        "--reps", type=positive_int, default=25, metavar="N", help="replications per simulation"
    )
    parser.add_argument(
        "--bootstrap", type=positive_int, default=200, metavar="B", help="partner resamples"
    )
    parser.add_argument(
        "--holdout",
        type=int,
        default=2,
        metavar="N",
        help="also calibrate without the last N periods and predict them (0: skip)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress messages")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Calibrate, write the folder, print the estimates and the fit; 0 on success."""
    # loaded when the verb runs: every verb module is imported to build the parser
    from incentsim.calibration import calibrate, holdout_check, write_calibration
    from incentsim.calibration.estimate import history_hash
    from incentsim.payout import read_transactions

    scenario = load_scenario(args.scenario, args.overrides)
    program = load_program(args.program) if args.program else None
    if args.holdout < 0:
        raise IncentsimError(f"--holdout {args.holdout}: give 0 or more periods")
    reading = scenario.calendar.model_copy(update={"horizon_periods": 80})
    population = scenario.population
    transactions = read_transactions(
        args.history,
        calendar=reading,
        segments=list(population.segments),
        regions=list(population.regions),
    )
    if transactions.empty:
        raise IncentsimError(f"{args.history}: no transactions")

    def say(message: str) -> None:
        if not args.no_progress:
            print(f"calibrate: {message}", file=sys.stderr, flush=True)

    options = {"program": program, "reps": args.reps, "bootstrap": args.bootstrap}
    try:
        calibration = calibrate(scenario, transactions, progress=say, **options)
        holdout = (
            holdout_check(scenario, transactions, args.holdout, progress=say, **options)
            if args.holdout
            else None
        )
    except ValueError as exc:
        raise IncentsimError(f"{args.history}: {exc}") from None
    try:
        written = write_calibration(
            calibration,
            args.out,
            scenario_file=args.scenario,
            history=str(args.history),
            data_hash=history_hash(args.history),
            holdout=holdout,
            overwrite=args.overwrite,
        )
    except OSError as exc:
        raise IncentsimError(f"cannot write the calibration: {exc}") from None
    print(
        f"Calibrated {scenario.name} to {args.history}: {len(calibration.partners)} partners, "
        f"{calibration.periods} periods, {calibration.evaluations} simulations"
    )
    print("Behaviour constants (estimate [90% interval], prior):")
    for c in calibration.constants:
        verdict = "identified" if c.identified else "NOT identified: kept at prior"
        print(
            f"  {c.name:<22}{c.estimate:>9.4g} [{c.low:.4g}, {c.high:.4g}]  prior {c.prior:.4g}  "
            f"{verdict}"
        )
    print(f"  not identified by the history (kept at priors): {len(calibration.unidentified)}")
    print(f"Fit (observed / simulated; revenue in {scenario.program.currency}):")
    fit = calibration.moments
    for name in ("revenue", "period_end_share", "returns_share", "churn", "bunching"):
        for key in [name] + [f"{name}:{s}" for s in population.segments]:
            if key in fit.index:
                row = fit.loc[key]
                observed, simulated = _shown(key, row.observed), _shown(key, row.simulated)
                print(f"  {key:<34}{observed:>16} {simulated:>16}")
    if holdout is not None:
        print(
            f"Hold-out (last {args.holdout} periods: actual, predicted [5-95%]; revenue in "
            f"{scenario.program.currency}):"
        )
        for key, row in holdout.iterrows():
            mark = "" if row.inside else "  outside"
            print(
                f"  {key:<34}{_shown(key, row.actual):>16} {_shown(key, row.predicted):>16} "
                f"[{_shown(key, row.low)}, {_shown(key, row.high)}]{mark}"
            )
    print(f"Wrote {', '.join(str(p) for p in written)}")
    return 0


def _shown(key: str, value: float) -> str:
    """A fitted figure for people: revenue as money with separators, shares and churn as
    percentages, other figures (bunching ratios) to three significant digits."""
    name = key.split(":", 1)[0]
    if name == "revenue":
        return f"{value:,.0f}"
    if name.endswith("share") or name == "churn":
        return f"{value:.2%}"
    return f"{value:.3g}"
