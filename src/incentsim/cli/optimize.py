"""``incentsim optimize OPTIMISATION.yaml``: choose the design per segment and the reserve.

The file names a base scenario, the levers and the constraints (see
:mod:`incentsim.optimizer.spec`). Candidates are simulated over common random numbers (cached,
so a rerun with a wider design space simulates only what is new), a MILP chooses one per
segment and the reserve, and the chosen design is re-simulated as a whole program on fresh
seeds. The output folder receives ``design.yaml`` (run it with ``incentsim run``),
``report.txt``, ``report.html`` (with its tables as CSV and Parquet), ``optimization.json``,
``candidates.csv`` and ``validation.csv``. The folder is replaced whole once all of them are
written, so it holds either the previous complete result or the new one, never a mix; another
file's optimisation (or another kind of result) there is refused unless ``--overwrite``.

Exit codes: 0 with a design proven optimal, 1 when the problem is infeasible or the solver
stopped without a proof (time limit: the design is still written, marked as not proven), 2 on
bad input.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from incentsim.cli._common import (
    RUNS_FOLDER,
    add_draws_option,
    add_set_option,
    default_out_dir,
    run_options,
    worker_count,
)

if TYPE_CHECKING:
    from incentsim.optimizer import OptimizationResult

#: Default cache of simulated candidates, shared by successive optimisations.
CACHE_FOLDER = RUNS_FOLDER / ".optimize-cache"

#: What ``--frontier MEASURE=...`` may sweep a floor on: ``FrontierSpec.measure``'s choices
#: other than ``objective`` (kept here so building the parser imports no optimiser code).
FRONTIER_MEASURES = ("retention", "fairness", "revenue")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``optimize`` verb."""
    parser = subparsers.add_parser(
        "optimize",
        help="choose tier thresholds, rates, caps per segment and the reserve (MILP)",
        description=(
            "Simulate candidate designs per segment over common random numbers, choose one "
            "per segment and the reserve fund with a MILP under budget, tail-risk and floor "
            "constraints, and check the chosen design on fresh simulations."
        ),
        epilog=(
            "--set changes the optimisation file's keys (--set replications=200); prefix "
            "base. to change the base scenario (--set base.population.partners=300)."
        ),
    )
    parser.add_argument("spec", metavar="SCENARIO", help="optimisation YAML file")
    parser.add_argument(
        "--budget", type=_money, metavar="AMOUNT", help="budget over the whole horizon"
    )
    parser.add_argument(
        "--frontier",
        type=_frontier,
        metavar="[MEASURE=]LOW:HIGH[:POINTS]",
        help="also re-solve at POINTS budgets from LOW to HIGH (default 5), reusing every "
        "simulation: the trade-off of cost against the objective (frontier.csv); with "
        "MEASURE (retention, fairness or revenue), at POINTS floors on it instead, e.g. "
        "retention=0.85:0.95; replaces the file's frontier",
    )
    parser.add_argument("--alpha", type=_share, metavar="A", help="tail-risk level, e.g. 0.05")
    parser.add_argument("--risk", choices=("cvar", "chance", "none"), help="tail-risk measure")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help=f"output folder (default: {RUNS_FOLDER}/<name>-<timestamp>); replaced whole when "
        "the new result is complete",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a --out folder holding another optimisation file's result or another "
        "kind of result",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=CACHE_FOLDER,
        metavar="DIR",
        help=f"cache of simulated candidates (default: {CACHE_FOLDER})",
    )
    parser.add_argument("--no-cache", action="store_true", help="simulate everything afresh")
    parser.add_argument(
        "--workers", type=worker_count, default=1, metavar="W", help="worker processes (default 1)"
    )
    parser.add_argument("--solver", choices=("highs", "cbc"), default="highs", help="MILP solver")
    add_draws_option(parser)
    add_set_option(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Optimise, write the design and the report, print the report."""
    # loaded when the verb runs: every verb module is imported to build the parser
    from incentsim.optimizer import optimize
    from incentsim.optimizer.spec import load_spec

    overrides = list(args.overrides or [])
    if args.frontier is not None:
        overrides.append(args.frontier)
    spec = load_spec(args.spec, overrides)
    out_dir = (
        args.out if args.out is not None else default_out_dir(spec.name or Path(args.spec).stem)
    )
    result = optimize(
        spec,
        budget=args.budget,
        alpha=args.alpha,
        risk=args.risk,
        out_dir=out_dir,
        overwrite=args.overwrite,
        also_write=[lambda result, folder: {"html": html_report(result, folder / "report.html")}],
        cache_dir=None if args.no_cache else args.cache,
        solver=args.solver,
        options=run_options(args).replace(out_dir=None, overwrite=False),
    )
    print(result.report())
    for name, path in result.files.items():
        print(f"{name}: {path}", file=sys.stderr)
    return 0 if result.solution.status == "optimal" else 1


def html_report(result: OptimizationResult, path: Path) -> Path:
    """The optimisation as a self-contained HTML page
    (:func:`incentsim.report.optimization_report`)."""
    # loaded when the verb runs: every verb module is imported to build the parser
    from incentsim.report import optimization_report

    return optimization_report(result, path)


def _money(text: str) -> float:
    try:
        value = float(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an amount, not '{text}'") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a positive, finite amount, not {text}")
    return value


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not '{text}'") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), not {text}")
    return value


def _frontier(text: str) -> str:
    """``[MEASURE=]LOW:HIGH[:POINTS]`` as the override of the file's ``frontier``: budgets, or
    with a measure (retention, fairness, revenue) floors on it."""
    measure, _, sweep = text.rpartition("=")
    if measure and measure not in FRONTIER_MEASURES:
        raise argparse.ArgumentTypeError(
            f"the measure is one of {', '.join(FRONTIER_MEASURES)}, not '{measure}'"
        )
    parts = sweep.split(":")
    if len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError(
            f"expected [MEASURE=]LOW:HIGH or [MEASURE=]LOW:HIGH:POINTS, not '{text}'"
        )
    amount = _money if measure in ("", "revenue") else _number  # budgets and revenue: money
    low, high = (amount(part) for part in parts[:2])
    if not low < high:
        raise argparse.ArgumentTypeError(f"LOW must be below HIGH, not '{text}'")
    try:
        points = int(parts[2]) if len(parts) == 3 else 5
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"POINTS must be a whole number, not '{parts[2]}'"
        ) from None
    if not 2 <= points <= 100:
        raise argparse.ArgumentTypeError(f"POINTS must be between 2 and 100, not {points}")
    if measure:
        return f"frontier={{measure: {measure}, range: [{low!r}, {high!r}], points: {points}}}"
    return f"frontier={{range: [{low!r}, {high!r}], points: {points}}}"


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not '{text}'") from None
