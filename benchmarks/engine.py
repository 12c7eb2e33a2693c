"""Simulation engine throughput: partner-weeks per second, against one process per partner.

Candidate: the real engine, :func:`incentsim.engine.simulation.simulate_block`, on the baseline
scenario (1,000 partners, 8 quarters of 13 weeks), for a block of 25 replications (the Monte
Carlo block size) and for a single replication.

Baseline, timed side by side in the same run: ``_process_per_partner.py``, one SimPy process per
partner with plain Python arithmetic, simulating a SIMPLIFIED version of the same weekly
behaviour (effort from the marginal tier rebate, pipeline, closings, rebates by tier at each
period close) from the same scenario parameters. It does much less than the engine (no
smoothed payout pricing through the rules engine, timing games, stuffing, duplicates, audits,
loyalty, churn, recruitment, MDF, budget...), so the ratio understates the engine's advantage.
The issue's target: engine >= 50x the baseline.

To separate the design from the amount of work, the same run also times the SAME simplified
behaviour written the engine's way (``_process_per_partner.simulate_arrays``: one SimPy calendar
process over arrays of replications x partners): arrays / process-per-partner is the
like-for-like ratio of the two designs.

Partner-weeks are counted as replications x initial partners x weeks for both (the engine also
carries recruitment slots, not counted).

Then the Monte Carlo runner (:func:`incentsim.montecarlo.run_montecarlo`) on 2 process workers,
streaming to a temporary folder: 100 replications by default, extrapolated linearly to 1,000
(which over-counts fixed costs such as starting the workers); ``--full`` runs the 1,000. Besides
wall time it reports the CPU seconds the workers used (``getrusage(RUSAGE_CHILDREN)``), and what
that CPU time means on 2 cores nobody else uses: the machine is shared, so wall time depends on
the neighbours' jobs.

Times are wall clock and process CPU seconds (``(cpu)`` columns); on a shared machine the CPU
figures are steadier. Run::

    .venv/bin/python benchmarks/engine.py --quick          # smoke run, ~30 s
    .venv/bin/python benchmarks/engine.py                  # ~1.5 min
    .venv/bin/python benchmarks/engine.py --full           # 1,000 replications measured, ~+1 min
    .venv/bin/python benchmarks/engine.py --profile        # also cProfile one engine block
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import SCENARIOS, header, interleaved, median, rate, si, spread
from _process_per_partner import simulate as process_per_partner
from _process_per_partner import simulate_arrays

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
    """One process-per-partner replication; the same sanity figures."""
    result = process_per_partner(scenario, seed, partners)
    revenue = sum(result.revenue_per_period)
    return {
        "revenue_per_period": revenue / len(result.revenue_per_period),
        "rebate_share": sum(result.rebate_per_period) / revenue,
    }


def arrays_run(scenario: Scenario, seed: int, reps: int) -> dict[str, float]:
    """The simplified behaviour over arrays; the same sanity figures, per replication."""
    result = simulate_arrays(scenario, seed, reps)
    revenue = sum(result.revenue_per_period) / reps
    return {
        "revenue_per_period": revenue / len(result.revenue_per_period),
        "rebate_share": sum(result.rebate_per_period) / reps / revenue,
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


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished child processes."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def montecarlo(
    scenario: Scenario, reps: int, workers: int
) -> tuple[float, float, dict[str, object]]:
    """Run the Monte Carlo runner on process workers, streaming to a temporary folder.

    Returns wall seconds, CPU seconds of the workers (and this process), and the manifest.
    """
    from incentsim.montecarlo import run_montecarlo

    with tempfile.TemporaryDirectory(prefix="incentsim-bench-") as tmp:
        began, began_cpu = time.perf_counter(), children_cpu() + time.process_time()
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
        cpu = children_cpu() + time.process_time() - began_cpu
        manifest = dict(result.manifest)
    return wall, cpu, manifest


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
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run (~30 s): 1 repetition, 5-replication blocks, 200 partners in the "
        "process-per-partner run, 50 Monte Carlo replications",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat, args.reps, args.mc_reps = 1, 5, 50
        args.baseline_partners = args.baseline_partners or 200

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

    # Warm-up (imports, first-call costs) and the sanity line: all simulate the same economy
    # (one replication each: replications differ, heavy-tailed capacities make them noisy).
    checks = (
        ("engine", engine_run(scenario, args.seed, 1), partners),
        ("arrays (simplified)", arrays_run(scenario, args.seed, 1), partners),
        ("process-per-partner", baseline_run(scenario, args.seed, base_partners), base_partners),
    )
    for name, check, over in checks:
        print(
            f"  {name:<20s} channel revenue per period {check['revenue_per_period'] / 1e6:8.1f} M"
            f" (over {over:,} partners), rebates {check['rebate_share']:.2%} of revenue"
        )
    print()

    engine_block = f"engine {args.reps} reps"
    arrays_block = f"arrays (simplified) {args.reps} reps"
    base_name = "process-per-partner 1 rep"
    units = {
        engine_block: args.reps * partners * weeks,
        "engine 1 rep": partners * weeks,
        arrays_block: args.reps * partners * weeks,
        base_name: base_partners * weeks,
    }
    cases = [
        (engine_block, lambda: engine_run(scenario, args.seed, args.reps)),
        ("engine 1 rep", lambda: engine_run(scenario, args.seed, 1)),
        (arrays_block, lambda: arrays_run(scenario, args.seed, args.reps)),
        (base_name, lambda: baseline_run(scenario, args.seed, base_partners)),
    ]
    times = interleaved(cases, args.repeat)
    base_rate = rate(units[base_name], times[base_name])
    base_cpu = rate(units[base_name], times.cpu[base_name])
    print()
    print(
        f"{'case':<32s} {'p-weeks':>10s} {'median s':>9s} {'range':>17s} {'p-weeks/s':>10s} "
        f"{'vs base':>8s} {'cpu s':>7s} {'p-weeks/cpu s':>14s} {'vs base':>8s}"
    )
    for name, seconds in times.items():
        per_second = rate(units[name], seconds)
        per_cpu = rate(units[name], times.cpu[name])
        print(
            f"{name:<32s} {units[name]:>10,} {median(seconds):>9.3f} {spread(seconds):>17s} "
            f"{si(per_second):>10s} {per_second / base_rate:>7.1f}x "
            f"{median(times.cpu[name]):>7.3f} {si(per_cpu):>14s} {per_cpu / base_cpu:>7.1f}x"
        )
    block_rate = rate(units[engine_block], times[engine_block])
    print()
    for name, label in (
        (engine_block, "engine, full behaviour"),
        (arrays_block, "arrays, same simplified behaviour (like for like)"),
    ):
        wall_ratio = rate(units[name], times[name]) / base_rate
        cpu_ratio = rate(units[name], times.cpu[name]) / base_cpu
        print(
            f"{label} / process-per-partner: {wall_ratio:.1f}x per partner-week by wall clock, "
            f"{cpu_ratio:.1f}x by CPU time (target >= 50x: "
            f"{'met' if min(wall_ratio, cpu_ratio) >= 50 else 'NOT met'})"
        )

    if args.profile:
        profile_block(scenario, args.reps, 20)

    if not args.no_montecarlo:
        mc_reps = 1000 if args.full else args.mc_reps
        print(
            f"\nMonte Carlo: {mc_reps:,} replications of {scenario.name} on {args.workers} "
            "process workers, streamed to disk"
        )
        wall, cpu, manifest = montecarlo(scenario, mc_reps, args.workers)
        per_rep = wall / mc_reps
        print(
            f"  {mc_reps:,} replications: {wall:.1f} s wall ({manifest.get('blocks')} blocks, "
            f"{manifest.get('workers')} workers), {si(mc_reps * partners * weeks / wall)} "
            f"partner-weeks/s; {cpu:.1f} CPU s in all processes ({cpu / mc_reps * 1000:.0f} "
            f"CPU s per 1,000 replications: {cpu / mc_reps * 1000 / args.workers:.0f} s on "
            f"{args.workers} cores nobody else uses)"
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
