"""Simulation engine throughput: partner-weeks per second, against one process per partner.

Candidate: the real engine, :func:`incentsim.engine.simulation.simulate_block`, on the baseline
scenario (1,000 partners, 8 quarters of 13 weeks), for a block of 25 replications (the Monte
Carlo block size) and for a single replication.

Baseline, timed side by side in the same run: ``_process_per_partner.py``, one SimPy process per
partner with plain Python arithmetic, simulating a SIMPLIFIED version of the same weekly
behaviour (effort from the marginal tier rebate, pipeline, closings, rebates by tier at each
period close) from the same scenario parameters. It does much less than the engine, so the
ratio understates the engine's advantage. The issue's target: engine >= 50x the baseline.

Partner-weeks are counted as replications x initial partners x weeks for both (the engine also
carries recruitment slots, not counted).

Then the Monte Carlo runner (:func:`incentsim.montecarlo.run_montecarlo`) on 2 process workers,
streaming to a temporary folder: 100 replications by default, extrapolated linearly to 1,000
(which over-counts fixed costs such as starting the workers); ``--full`` runs the 1,000.

Run::

    .venv/bin/python benchmarks/engine.py                  # ~1.5 min
    .venv/bin/python benchmarks/engine.py --full           # adds several minutes
    .venv/bin/python benchmarks/engine.py --profile        # also cProfile one engine block
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import SCENARIOS, header, interleaved, median, rate, si, spread
from _process_per_partner import simulate as process_per_partner

from incentsim.engine.simulation import simulate_block
from incentsim.scenario.loader import load_scenario
from incentsim.scenario.model import Scenario


def engine_run(scenario: Scenario, seed: int, reps: int) -> dict[str, float]:
    """One block; returns channel revenue per period and rebate share, for the sanity line."""
    result = simulate_block(scenario, np.random.SeedSequence(seed), reps)
    revenue = float(result.outcomes["revenue_gross"].mean())
    return {
        "revenue_per_period": revenue / scenario.calendar.horizon_periods,
        "rebate_share": float(result.outcomes["cost_rebate"].mean()) / revenue,
    }


def baseline_run(scenario: Scenario, seed: int, partners: int | None) -> dict[str, float]:
    result = process_per_partner(scenario, seed, partners)
    revenue = sum(result.revenue_per_period)
    return {
        "revenue_per_period": revenue / len(result.revenue_per_period),
        "rebate_share": sum(result.rebate_per_period) / revenue,
    }


def profile_block(scenario: Scenario, reps: int, top: int) -> None:
    """cProfile one engine block and print the top functions by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    simulate_block(scenario, np.random.SeedSequence(1), reps)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    print(f"\ncProfile of one engine block ({reps} replications):")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip()))


def montecarlo(scenario: Scenario, reps: int, workers: int) -> tuple[float, dict[str, object]]:
    """Run the Monte Carlo runner on process workers, streaming to a temporary folder."""
    from incentsim.montecarlo import run_montecarlo

    with tempfile.TemporaryDirectory(prefix="incentsim-bench-") as tmp:
        began = time.perf_counter()
        result = run_montecarlo(
            scenario,
            reps=reps,
            seed=scenario.seed,
            executor="processes",
            workers=workers,
            out_dir=Path(tmp) / "run",
            progress=False,
        )
        wall = time.perf_counter() - began
        manifest = dict(result.manifest)
    return wall, manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default=str(SCENARIOS / "baseline.yaml"))
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repetitions")
    parser.add_argument("--reps", type=int, default=25, help="replications in the engine block")
    parser.add_argument(
        "--baseline-partners",
        type=int,
        default=None,
        help="partners in the process-per-partner run (default: the whole initial population)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mc-reps", type=int, default=100, help="Monte Carlo replications")
    parser.add_argument("--full", action="store_true", help="run 1,000 Monte Carlo replications")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-montecarlo", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile one engine block")
    args = parser.parse_args(argv)

    header("Engine throughput (partner-weeks per second), engine vs one process per partner")
    scenario = load_scenario(args.scenario)
    partners = scenario.population.partners
    weeks = scenario.calendar.horizon_weeks
    base_partners = min(args.baseline_partners or partners, partners)
    print(
        f"scenario {scenario.name}: {partners:,} partners, {weeks} weeks; engine blocks of "
        f"{args.reps} and 1 replications; process-per-partner: {base_partners:,} partners, 1 "
        "replication"
    )

    # Warm-up (imports, first-call costs) and the sanity line: both simulate the same economy.
    engine_check = engine_run(scenario, args.seed, 1)
    base_check = baseline_run(scenario, args.seed, base_partners)
    for name, check in (("engine", engine_check), ("process-per-partner", base_check)):
        print(
            f"  {name:<20s} channel revenue per period {check['revenue_per_period'] / 1e6:8.1f} M"
            f" (over {partners if name == 'engine' else base_partners:,} partners), rebates "
            f"{check['rebate_share']:.2%} of revenue"
        )
    print()

    units = {
        f"engine {args.reps} reps": args.reps * partners * weeks,
        "engine 1 rep": partners * weeks,
        "process-per-partner 1 rep": base_partners * weeks,
    }
    cases = [
        (f"engine {args.reps} reps", lambda: engine_run(scenario, args.seed, args.reps)),
        ("engine 1 rep", lambda: engine_run(scenario, args.seed, 1)),
        (
            "process-per-partner 1 rep",
            lambda: baseline_run(scenario, args.seed, base_partners),
        ),
    ]
    times = interleaved(cases, args.repeat)
    base_name = "process-per-partner 1 rep"
    base_rate = rate(units[base_name], times[base_name])
    base_cpu = rate(units[base_name], times.cpu[base_name])
    print()
    print(
        f"{'case':<28s} {'p-weeks':>11s} {'median s':>9s} {'range':>17s} {'p-weeks/s':>10s} "
        f"{'vs base':>8s} {'(cpu)':>7s}"
    )
    for name, seconds in times.items():
        per_second = rate(units[name], seconds)
        per_cpu = rate(units[name], times.cpu[name])
        print(
            f"{name:<28s} {units[name]:>11,} {median(seconds):>9.3f} {spread(seconds):>17s} "
            f"{si(per_second):>10s} {per_second / base_rate:>7.1f}x {per_cpu / base_cpu:>6.1f}x"
        )
    block_rate = rate(units[f"engine {args.reps} reps"], times[f"engine {args.reps} reps"])
    ratio = block_rate / base_rate
    print(
        f"\nengine ({args.reps}-replication block) / process-per-partner: {ratio:.1f}x per "
        f"partner-week (target >= 50x: {'met' if ratio >= 50 else 'NOT met'})"
    )

    if args.profile:
        profile_block(scenario, args.reps, 20)

    if not args.no_montecarlo:
        mc_reps = 1000 if args.full else args.mc_reps
        print(
            f"\nMonte Carlo: {mc_reps:,} replications of {scenario.name} on {args.workers} "
            "process workers, streamed to disk"
        )
        wall, manifest = montecarlo(scenario, mc_reps, args.workers)
        per_rep = wall / mc_reps
        print(
            f"  {mc_reps:,} replications: {wall:.1f} s wall ({manifest.get('blocks')} blocks, "
            f"{manifest.get('workers')} workers), {si(mc_reps * partners * weeks / wall)} "
            "partner-weeks/s"
        )
        # What 2 ideal workers would take at the single-process block rate measured above.
        ideal = 1000 * partners * weeks / block_rate / args.workers
        if mc_reps == 1000:
            print(f"  1,000 replications: {wall:.1f} s MEASURED ({wall / 60:.1f} min)")
        else:
            print(
                f"  1,000 replications: ~{per_rep * 1000:.0f} s (~{per_rep * 1000 / 60:.1f} min) "
                f"EXTRAPOLATED linearly from {mc_reps:,} (use --full to measure)"
            )
        print(
            f"  for reference, {args.workers} ideal workers at this run's single-process block "
            f"rate: {ideal:.0f} s for 1,000 (parallel efficiency "
            f"{ideal / (per_rep * 1000):.0%})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
