"""Simulation engine throughput: partner-weeks per second, against one process per partner.

Candidate: the real engine, :func:`incentsim.engine.simulation.simulate_block`, on the baseline
scenario without its co-sell bonus (1,000 partners, 8 quarters of 13 weeks), for a block of 25
replications (the Monte Carlo block size) and for a single replication.

Baseline, timed side by side in the same run: ``_process_per_partner.py``, one SimPy process per
partner holding its state in Python floats and deciding week by week with the engine's decision
rules written per partner (payout pricing through the program's rules with the same smoothing,
effort, timing games, stuffing, closings, MDF, loyalty after payout runs, churn, recruits), with
one program process assessing each period with the rules engine and settling payout runs. The
issues' target (11, 12, 17): engine >= 100x the baseline by CPU time. Two checks come first, so
the ratio compares the same behaviour: the baseline's scalar payout pricing must agree with the
rules engine's ``anticipated_payout`` on thousands of random cases, and the two implementations,
run from the same seeds (same population, market, churn and recruitment draws, their own
closing draws), must produce the same revenue, rebates and payouts, retention, recruits
(selection), loyalty, satisfaction (tunnel vision), timing games, quick deals and last-day and
last-week shares within noise (paired differences over ``--agree`` seeds, with 95% Student's t
intervals). Timing games are concentrated on a few large partners (deferral mostly on those at
a cap), so their totals are noisy: over 6 seeds a difference of +-30% is noise; given the same
closings (at their mean) the two agree to the cent (``tests/test_benchmark_baseline.py``).

Partner-weeks are counted as replications x initial partners x weeks for both (both also carry
recruits, not counted).

Then the Monte Carlo runner (:func:`incentsim.montecarlo.run_montecarlo`) on 2 process workers,
streaming to a temporary folder: 100 replications by default, extrapolated linearly to 1,000
(which over-counts fixed costs such as starting the workers); ``--full`` runs the 1,000. Besides
wall time it reports the CPU seconds the workers used (``getrusage(RUSAGE_CHILDREN)``), and what
that CPU time means on 2 cores nobody else uses: the machine is shared, so wall time depends on
the neighbours' jobs.

Last, the same Monte Carlo run on the process executor and on the Dask executor (a local cluster
of as many workers), interleaved ``--dask-repeat`` times, by CPU seconds of all processes
including starting and stopping the workers (a Dask worker's start costs more, which weighs on
the ratio at 100 or 200 replications; ``--full`` compares 1,000): the issue's target is Dask
within 1.2x of the process executor.

Times are wall clock and process CPU seconds (``(cpu)`` columns); on a shared machine the CPU
figures are steadier. Run::

    .venv/bin/python benchmarks/engine.py --quick          # smoke run, ~15 s
    .venv/bin/python benchmarks/engine.py                  # ~1 min (checks ~40 s, timing ~20 s)
    .venv/bin/python benchmarks/engine.py --full           # 1,000 replications measured, ~+30 s
    .venv/bin/python benchmarks/engine.py --profile        # also cProfile one engine block
    .venv/bin/python benchmarks/engine.py --large --no-montecarlo   # large populations, ~15 min

``--large`` adds the large-population figures of issue 17: partner-weeks per CPU second of one
engine block of ``--reps`` replications at ``--large-partners`` (100,000) against the same at
the scenario's 1,000 partners (interleaved: 1,000, large, 1,000, ...; the target is at least
90%), and a Monte Carlo run of ``--million-reps`` (25) replications of 1,000,000 partners over
``--million-periods`` (4) quarters on ``--workers`` process workers, in blocks of the size
:func:`incentsim.montecarlo.resources.block_size_for` gives, with its wall time, CPU seconds and
the peak resident memory of its largest worker (``ru_maxrss`` of the finished workers).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import SCENARIOS, Timings, header, interleaved, median, print_table, rate, si
from _process_per_partner import ProcessPerPartner, pricing_mismatches
from _process_per_partner import simulate as process_per_partner
from scipy import stats

from incentsim.engine.simulation import simulate_block
from incentsim.scenario.loader import load_scenario
from incentsim.scenario.model import Scenario

#: Figures both implementations report per replication, compared before anything is timed.
AGREEMENT = (
    "revenue",
    "rebate",
    "paid",
    "retention",
    "loyalty_mean",
    "recruited",
    "csat_mean",
    "pulled_forward",
    "deferred",
    "stuffed",
    "quick_deals",
    "last_day_share",
    "last_week_share",
)
#: Engine outcomes under another name in the agreement check.
ENGINE_NAMES = {"revenue": "revenue_gross", "rebate": "cost_rebate", "paid": "incentive_paid"}


def engine_run(scenario: Scenario, seed: int, reps: int) -> dict[str, float]:
    """One engine block; the agreement figures of its first replication."""
    outcomes = simulate_block(scenario, np.random.SeedSequence(seed), reps).outcomes
    return {key: float(outcomes[ENGINE_NAMES.get(key, key)][0]) for key in AGREEMENT}


def baseline_run(scenario: Scenario, seed: int, partners: int | None) -> dict[str, float]:
    """One process-per-partner replication; the same figures."""
    result = process_per_partner(scenario, seed, partners)
    revenue = sum(result.revenue_per_period)
    figures = {"revenue": revenue, "rebate": sum(result.rebate_per_period)}
    shares_of = ("last_day_share", "last_week_share")
    figures |= {
        key: float(getattr(result, key)) for key in AGREEMENT if key not in (*figures, *shares_of)
    }
    shares = {"last_day_share": result.last_day, "last_week_share": result.last_week}
    return figures | {key: value / revenue for key, value in shares.items()}


def check_pricing(scenario: Scenario, seed: int, partners: int | None) -> None:
    """Print how often the baseline's scalar payout pricing disagrees with the rules engine's,
    at the start of the program and in the state its last close leaves (tiers held, grace)."""
    model = ProcessPerPartner(scenario, seed, partners)
    before = pricing_mismatches(model, 5, seed)
    model.run()
    after = pricing_mismatches(model, 5, seed + 1)
    print(
        f"check: baseline payout pricing vs rules.anticipated_payout: {before[0] + after[0]} "
        f"mismatches in {before[1] + after[1]:,} random cases (program start and end)"
    )
    if before[0] + after[0]:
        raise SystemExit("the baseline does not price the program as the rules engine does")


def check_agreement(scenario: Scenario, seeds: range, partners: int | None) -> None:
    """Print the paired differences baseline - engine over one replication per seed."""
    pairs = [(baseline_run(scenario, s, partners), engine_run(scenario, s, 1)) for s in seeds]
    print(
        f"check: same behaviour, baseline vs engine, {len(seeds)} seeds paired (same population, "
        "market, churn and recruitment draws; own closing draws); 95% interval of the mean "
        "difference (Student's t):"
    )
    for key in AGREEMENT:
        base = np.array([b[key] for b, _ in pairs])
        engine = np.array([e[key] for _, e in pairs])
        diff = base - engine
        interval = ""
        if len(diff) > 1:
            quantile = stats.t.ppf(0.975, len(diff) - 1)  # Student's t: a handful of seeds
            half = quantile * diff.std(ddof=1) / np.sqrt(len(diff))
            interval = f" +- {half / engine.mean():.1%}"
        print(
            f"  {key:<15s} baseline {base.mean():>12.4g}  engine {engine.mean():>12.4g}  "
            f"difference {diff.mean() / engine.mean():+7.1%}{interval}"
        )


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


def large_populations(path: str, partners: int, reps: int, repeat: int) -> None:
    """Partner-weeks per CPU second of one engine block at the scenario's population and at
    ``partners``, interleaved; the ratio of the two."""
    small = load_scenario(path)
    large = load_scenario(path, [f"population.partners={partners}"])
    weeks = small.calendar.horizon_weeks
    n_small = small.population.partners
    names = (f"engine {n_small:,} partners", f"engine {partners:,} partners")
    units = {names[0]: reps * n_small * weeks, names[1]: reps * partners * weeks}
    print(
        f"\nLarge populations: one block of {reps} replications, {weeks} weeks, at {n_small:,} "
        f"and {partners:,} partners (the small one {repeat + 1} times around the large one)"
    )
    times = Timings(list(names))
    for r in range(repeat + 1):
        for name, scenario in ((names[0], small), (names[1], large)):
            if name == names[1] and r == repeat:
                continue
            began, began_cpu = time.perf_counter(), time.process_time()
            simulate_block(scenario, np.random.SeedSequence(1), reps)
            times[name].append(time.perf_counter() - began)
            times.cpu[name].append(time.process_time() - began_cpu)
            print(f"  {name:<28s} {times[name][-1]:8.2f} s wall {times.cpu[name][-1]:8.2f} s cpu")
    per_cpu = {name: rate(units[name], times.cpu[name]) for name in names}
    ratio = per_cpu[names[1]] / per_cpu[names[0]]
    for name in names:
        print(f"  {name:<28s} {si(per_cpu[name])} partner-weeks per CPU second")
    print(
        f"  {partners:,} / {n_small:,} partners: {ratio:.0%} of the partner-weeks per CPU second "
        f"(target >= 90%: {'met' if ratio >= 0.9 else 'NOT met'})"
    )


def million(path: str, partners: int, periods: int, reps: int, workers: int) -> None:
    """A Monte Carlo run of ``partners`` over ``periods`` periods, in blocks sized to fit:
    wall time, CPU seconds and the largest worker's peak memory."""
    from incentsim.montecarlo.resources import block_memory, block_size_for

    scenario = load_scenario(
        path, [f"population.partners={partners}", f"calendar.horizon_periods={periods}"]
    )
    block = block_size_for(scenario)
    print(
        f"\n{partners:,} partners, {periods} periods, {reps} replications on {workers} process "
        f"workers: blocks of {min(block, reps)} (estimated "
        f"{block_memory(scenario, min(block, reps)) / 1e9:.1f} GB each)"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    wall, cpu, manifest = montecarlo(scenario, reps, workers, "processes")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    weeks = reps * partners * scenario.calendar.horizon_weeks
    print(
        f"  {wall:.0f} s wall, {cpu:.0f} CPU s ({si(weeks / cpu)} partner-weeks per CPU second), "
        f"{manifest.get('blocks')} blocks; peak resident memory of the largest worker "
        f"{peak / 1e9:.1f} GB"
        + ("" if before * 1024 < peak else " (an earlier child process peaked higher)")
    )


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished child processes."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def montecarlo(
    scenario: Scenario, reps: int, workers: int, executor: str
) -> tuple[float, float, dict[str, object]]:
    """Run the Monte Carlo runner on ``executor`` workers, streaming to a temporary folder.

    Returns wall seconds, CPU seconds of all processes (this one, with a local Dask cluster's
    scheduler, and the workers, counted once they have exited), and the manifest. Both include
    starting and stopping the workers.
    """
    from incentsim.montecarlo import run_montecarlo

    with tempfile.TemporaryDirectory(prefix="incentsim-bench-") as tmp:
        began, began_cpu = time.perf_counter(), children_cpu() + time.process_time()
        result = run_montecarlo(
            scenario,
            reps=reps,
            seed=scenario.seed,
            executor=executor,
            workers=workers,
            out_dir=Path(tmp) / "run",
            progress=False,
        )
        wall = time.perf_counter() - began
        reap_children()
        cpu = children_cpu() + time.process_time() - began_cpu
        manifest = dict(result.manifest)
    return wall, cpu, manifest


def reap_children(timeout: float = 30.0) -> None:
    """Wait for this process's worker processes to exit and be reaped, so that their CPU time
    counts in this run's figure: a local Dask cluster's workers outlive its close by a few
    seconds, and would otherwise be reaped, and counted, during the next run."""
    deadline = time.monotonic() + timeout
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.1)


def compare_executors(scenario: Scenario, reps: int, workers: int, repeat: int) -> None:
    """The process and Dask executors on the same run, interleaved; medians and CPU ratio."""
    kinds = ("processes", "dask")
    wall: dict[str, list[float]] = {kind: [] for kind in kinds}
    cpu: dict[str, list[float]] = {kind: [] for kind in kinds}
    for r in range(repeat):
        for k in range(len(kinds)):
            kind = kinds[(r + k) % len(kinds)]
            seconds, cpu_seconds, _ = montecarlo(scenario, reps, workers, kind)
            wall[kind].append(seconds)
            cpu[kind].append(cpu_seconds)
            print(
                f"  rep {r + 1}/{repeat}  {kind:<10s} {seconds:8.1f} s wall "
                f"{cpu_seconds:8.1f} s cpu"
            )
    print(f"  {'executor':<10s} {'median wall s':>14s} {'median cpu s':>13s} {'vs processes':>13s}")
    for kind in kinds:
        ratio = median(cpu[kind]) / median(cpu["processes"])
        print(
            f"  {kind:<10s} {median(wall[kind]):>14.1f} {median(cpu[kind]):>13.1f} {ratio:>12.2f}x"
        )
    ratio = median(cpu["dask"]) / median(cpu["processes"])
    print(
        f"  Dask / process executor CPU time: {ratio:.2f}x (target <= 1.2: "
        f"{'met' if ratio <= 1.2 else 'NOT met'})"
    )


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
    parser.add_argument(
        "--agree", type=int, default=6, help="seeds in the baseline-engine agreement check"
    )
    parser.add_argument("--mc-reps", type=int, default=100, help="Monte Carlo replications")
    parser.add_argument("--full", action="store_true", help="run 1,000 Monte Carlo replications")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-montecarlo", action="store_true")
    parser.add_argument(
        "--no-dask", action="store_true", help="skip the Dask executor's comparison"
    )
    parser.add_argument(
        "--dask-repeat", type=int, default=2, help="interleaved runs of each executor"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile one engine block")
    parser.add_argument(
        "--large", action="store_true", help="also the large-population figures (~15 min)"
    )
    parser.add_argument("--large-partners", type=int, default=100_000)
    parser.add_argument("--large-repeat", type=int, default=2, help="large blocks timed")
    parser.add_argument("--million-partners", type=int, default=1_000_000)
    parser.add_argument("--million-periods", type=int, default=4)
    parser.add_argument("--million-reps", type=int, default=25)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run (~15 s): 1 repetition, 5-replication blocks, 200 partners in the "
        "timed process-per-partner run, 1 agreement seed, 50 Monte Carlo replications, one "
        "run of each executor",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat, args.reps, args.mc_reps, args.agree, args.dask_repeat = 1, 5, 50, 1, 1
        args.baseline_partners = args.baseline_partners or 200

    header("Engine throughput (partner-weeks per second), engine vs one process per partner")
    # The process-per-partner baseline leaves co-selling out (check_supported): both sides run
    # the scenario without its co-sell bonus, so the ratio compares the same behaviour.
    scenario = load_scenario(args.scenario, ["program.co_sell.rate=0"])
    partners = scenario.population.partners
    weeks = scenario.calendar.horizon_weeks
    base_partners = min(args.baseline_partners or partners, partners)
    print(
        f"scenario {scenario.name}: {partners:,} partners, {weeks} weeks; engine blocks of "
        f"{args.reps} and 1 replications; process-per-partner: {base_partners:,} partners, 1 "
        "replication"
    )

    check_pricing(scenario, args.seed, base_partners)
    check_agreement(scenario, range(args.seed, args.seed + args.agree), None)
    print()

    engine_block = f"engine {args.reps} reps"
    base_name = "process-per-partner 1 rep"
    units = {
        engine_block: args.reps * partners * weeks,
        "engine 1 rep": partners * weeks,
        base_name: base_partners * weeks,
    }
    cases = [
        (engine_block, lambda: engine_run(scenario, args.seed, args.reps)),
        ("engine 1 rep", lambda: engine_run(scenario, args.seed, 1)),
        (base_name, lambda: baseline_run(scenario, args.seed, base_partners)),
    ]
    times = interleaved(cases, args.repeat)
    print_table(times, units, "p-weeks", base_name)
    block_rate = rate(units[engine_block], times[engine_block])
    wall_ratio = block_rate / rate(units[base_name], times[base_name])
    cpu_ratio = rate(units[engine_block], times.cpu[engine_block]) / rate(
        units[base_name], times.cpu[base_name]
    )
    print(
        f"\nengine ({args.reps}-replication block) / process-per-partner: {wall_ratio:.1f}x per "
        f"partner-week by wall clock, {cpu_ratio:.1f}x by CPU time (target >= 100x: "
        f"{'met' if cpu_ratio >= 100 else 'NOT met'}, by CPU time)"
    )

    if args.profile:
        profile_block(scenario, args.reps, 20)

    if args.large:
        large_populations(args.scenario, args.large_partners, args.reps, args.large_repeat)
        million(
            args.scenario,
            args.million_partners,
            args.million_periods,
            args.million_reps,
            args.workers,
        )

    if not args.no_montecarlo:
        mc_reps = 1000 if args.full else args.mc_reps
        print(
            f"\nMonte Carlo: {mc_reps:,} replications of {scenario.name} on {args.workers} "
            "process workers, streamed to disk"
        )
        wall, cpu, manifest = montecarlo(scenario, mc_reps, args.workers, "processes")
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
        if not args.no_dask:
            print(
                f"\nProcess vs Dask executor (a local cluster of {args.workers} workers): "
                f"{mc_reps:,} replications, interleaved"
            )
            compare_executors(scenario, mc_reps, args.workers, args.dask_repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
