"""``incentsim calibrate SCENARIO.yaml HISTORY [--program PROGRAM.yaml] [--out DIR]``.

Calibrates the scenario to a transactions history (the ``payout`` format: CSV, Parquet or
Excel) under the program that was in force (default: the scenario's): each partner's capacity,
each segment's capacity family, and the behaviour constants the history identifies, by the
method of simulated moments with sandwich intervals (:mod:`incentsim.calibration.estimate`);
per segment and region the trend, seasonality, deal size and MDF take-up, saying why win rate
and deal cycle stay at their priors (:mod:`incentsim.calibration.segments`); and a back-test
of revenue and program cost per period, the cost replayed by the payout rules
(:mod:`incentsim.calibration.backtest`). With ``--holdout N`` (default 2; 0 skips it) it also
calibrates without the last N periods and predicts them; ``--workers 2`` runs that check beside
the calibration (:mod:`incentsim.calibration.parallel`), with the same results.

Writes ``calibrated.yaml`` (an ``extends:`` diff on SCENARIO with a ``calibration:`` block),
``partners.csv``, ``draws.csv`` (for ``incentsim run --draws``), ``moments.csv``,
``constants.csv``, ``estimates.csv``, ``backtest.csv`` and ``holdout.csv`` to ``--out``, a
folder replaced whole once every file is written. A bad history is reported with its file,
line and column; nothing is written.
"""

from __future__ import annotations

import argparse
from typing import Any

from incentsim.cli._common import add_history_arguments, positive_int, worker_count
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
        "--bootstrap",
        type=positive_int,
        default=200,
        metavar="B",
        help="partner resamples and parameter draws",
    )
    parser.add_argument(
        "--holdout",
        type=int,
        default=2,
        metavar="N",
        help="also calibrate without the last N periods and predict them (0: skip)",
    )
    parser.add_argument(
        "--workers",
        type=worker_count,
        default=1,
        metavar="W",
        help="worker processes: 2 runs the hold-out check beside the calibration (default 1; "
        "the results do not depend on it)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Calibrate, write the folder, print the estimates and the fit; 0 on success."""
    # loaded when the verb runs: every verb module is imported to build the parser
    from incentsim.calibration import calibrate_and_check, write_calibration
    from incentsim.calibration.estimate import history_hash
    from incentsim.montecarlo.runner import progress_bar
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

    options = {"program": program, "reps": args.reps, "bootstrap": args.bootstrap}
    # the bar of incentsim run, counting simulations (the search stops when it converges)
    with progress_bar(None, "calibrate", not args.no_progress, unit="simulation") as bar:

        def say(message: str, simulations: int) -> None:
            bar.set_postfix_str(message, refresh=False)
            bar.update(simulations)

        try:
            calibration, holdout = calibrate_and_check(
                scenario, transactions, args.holdout, workers=args.workers, progress=say, **options
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
    print(_report(calibration, holdout, args, scenario.program.currency))
    print(f"Wrote {', '.join(str(p) for p in written)}")
    return 0


def _report(calibration: Any, holdout: Any, args: argparse.Namespace, currency: str) -> str:
    """The estimates, the fit, the back-test and the hold-out check in words."""
    # loaded when the verb runs: every verb module is imported to build the parser
    from incentsim.calibration.constants import ESTIMATED

    lines = [
        f"Calibrated {calibration.scenario.name.removesuffix('-calibrated')} to {args.history}: "
        f"{len(calibration.partners)} partners, {calibration.periods} periods, "
        f"{calibration.evaluations} simulations",
        "Behaviour constants (estimate [90% interval], prior):",
    ]
    percent = {e.name: e.percent for e in ESTIMATED}
    for c in calibration.constants:

        def fig(v: float, name: str = c.name) -> str:
            return f"{v:.2%}" if percent.get(name) else f"{v:.3g}"

        verdict = "identified" if c.identified else f"NOT identified, kept at prior: {c.reason}"
        lines.append(
            f"  {c.name:<22}{fig(c.estimate):>9} [{fig(c.low)}, {fig(c.high)}]  "
            f"prior {fig(c.prior)}  {verdict}"
        )
    used = [c.name for c in calibration.constants if c.identified]
    held = [c.name for c in calibration.constants if not c.identified]
    lines.append(
        f"  the calibrated scenario uses the estimates of {', '.join(used) or 'none'}; "
        f"keeps at their priors {', '.join(held) or 'none'} (reasons above)"
    )
    lines.append(
        f"  not identified by the history (kept at priors): {len(calibration.unidentified)}"
    )
    lines.append("Per segment and region (estimate [90% interval]; * held by the scenario):")
    for key, row in calibration.estimates.iterrows():
        if row.identified:
            text = f"{_figure(row.quantity, row.estimate, currency)} [" + (
                f"{_figure(row.quantity, row.low, currency)}, "
                f"{_figure(row.quantity, row.high, currency)}]"
            )
            mark = "*" if row.in_scenario else " "
            note = f"  {row.reason}" if row.reason and not row.in_scenario else ""
            lines.append(f"  {mark}{key:<44}{text}{note}")
        else:
            prior = (
                ""
                if row.prior != row.prior
                else (f" (kept at {_figure(row.quantity, row.prior, currency)})")
            )
            lines.append(f"   {key:<44}not identified{prior}: {row.reason}")
    lines.append(f"Fit (observed / simulated; revenue in {currency}):")
    fit = calibration.moments
    names = ("revenue", "period_end_share", "returns_share", "mdf_claims_share", "churn")
    for name in (*names, "bunching"):
        for key in [name] + [f"{name}:{s}" for s in calibration.scenario.population.segments]:
            if key in fit.index:
                row = fit.loc[key]
                observed, simulated = _shown(key, row.observed), _shown(key, row.simulated)
                lines.append(f"  {key:<34}{observed:>16} {simulated:>16}")
    lines.append(
        "Back-test (history: revenue booked, program cost replayed by the payout rules; "
        "simulated: median [5-95%]):"
    )
    for period, row in calibration.backtest.iterrows():
        label = "total" if period == "total" else f"period {period}"
        lines.append(
            f"  {label:<10} revenue {_money(row.revenue, currency)} against "
            f"{_money(row.revenue_predicted, currency)} [{_money(row.revenue_low, currency)}, "
            f"{_money(row.revenue_high, currency)}]; cost {_money(row.cost, currency)} against "
            f"{_money(row.cost_predicted, currency)} [{_money(row.cost_low, currency)}, "
            f"{_money(row.cost_high, currency)}]" + ("" if row.cost_inside else "  outside")
        )
    if holdout is not None:
        lines.append(
            f"Hold-out (last {args.holdout} periods: actual, predicted [5-95%]; revenue and "
            f"cost in {currency}):"
        )
        for key, row in holdout.iterrows():
            mark = "" if row.inside else "  outside"
            lines.append(
                f"  {key:<34}{_shown(key, row.actual):>16} {_shown(key, row.predicted):>16} "
                f"[{_shown(key, row.low)}, {_shown(key, row.high)}]{mark}"
            )
    return "\n".join(lines)


def _money(value: float, currency: str) -> str:
    # loaded when the verb runs: every verb module is imported to build the parser
    from incentsim.report.words import amount

    return amount(value, currency)


def _figure(quantity: str, value: float, currency: str) -> str:
    """An estimate for people: trend and take-up as percentages, deal sizes as money,
    seasonality and ratios as multipliers."""
    if value != value:
        return "-"
    if quantity == "trend_per_year":
        return f"{value:+.1%} a year"
    if quantity == "mdf_take_up":
        return f"{value:.1%}"
    if quantity == "deal_size":
        return _money(value, currency)
    if quantity in ("win_rate",):
        return f"{value:.0%}"
    if quantity == "deal_cycle_weeks":
        return f"{value:.1f} weeks"
    if quantity == "deal_size_sigma":
        return f"{value:.2f}"
    return f"x{value:.3f}"


def _shown(key: str, value: float) -> str:
    """A fitted figure for people: revenue as money with separators, shares and churn as
    percentages, other figures (bunching ratios) to three significant digits."""
    name = key.split(":", 1)[0]
    if name in ("revenue", "program_cost"):
        return f"{value:,.0f}"
    if name.endswith("share") or name == "churn":
        return f"{value:.2%}"
    return f"{value:.3g}"
