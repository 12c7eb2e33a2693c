"""Peak memory of Monte Carlo runs of the bundled baseline: does it grow with replications?

Each case (a number of replications on a number of process workers) runs the bundled
``scenarios/baseline.yaml`` (1,000 partners, 8 quarters) through ``run_montecarlo`` with results
streamed to disk, in its own Python process (``memory.py --child``). The parent samples the
resident set size of that process and of all its descendants (the worker processes) every
``--interval`` seconds and reports the peak of their sum: the memory the whole run holds at
once. It also reports the largest single process's own peak (``ru_maxrss``, exact, not
sampled). The target (issue 17) is a peak at 10,000 replications within 1.2x of the peak at 100,
with 1 and with 2 workers.

Cases run one after another, so each has the machine's memory to itself; CPU seconds are those
of the whole tree (parent and workers).

Run::

    .venv/bin/python benchmarks/memory.py            # 100, 1,000, 10,000 on 1 and 2 workers
    .venv/bin/python benchmarks/memory.py --quick    # 100 and 1,000 on 2 workers (~1 min)
    .venv/bin/python benchmarks/memory.py --reps 25 250 --workers 1 --set population.partners=10000

The full run simulates 22,200 replications of the baseline: about 15 minutes of CPU (over half an
hour of wall time on a busy 2-core machine).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from _common import SCENARIOS, header


def child(scenario_path: str, overrides: list[str], reps: int, workers: int) -> None:
    """Run one case and print its figures as JSON on the last line of stdout."""
    from incentsim.montecarlo import run_montecarlo
    from incentsim.scenario.loader import load_scenario

    scenario = load_scenario(scenario_path, overrides)
    with tempfile.TemporaryDirectory(prefix="incentsim-mem-") as tmp:
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
        seconds = time.perf_counter() - began
        rows = len(result.outcomes)
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "rows_read_back": rows,
                "seconds": seconds,
                "cpu_seconds": own.ru_utime
                + own.ru_stime
                + workers_usage.ru_utime
                + workers_usage.ru_stime,
                "largest_process_mb": max(own.ru_maxrss, workers_usage.ru_maxrss) / 1024.0,
            }
        )
    )


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of ``process`` and all its descendants (0 for any that just ended)."""
    total = 0
    for member in (process, *process.children(recursive=True)):
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


def run_case(
    scenario: str, overrides: list[str], reps: int, workers: int, interval: float
) -> dict[str, float]:
    """Run one case in a child process, sampling its process tree's memory."""
    command = [sys.executable, __file__, "--child", str(reps), str(workers), "--scenario", scenario]
    for override in overrides:
        command += ["--set", override]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    with subprocess.Popen(command, **pipes) as run:
        root = psutil.Process(run.pid)
        peak = 0
        while run.poll() is None:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, tree_rss(root))
            time.sleep(interval)
        out, err = run.communicate()
    if run.returncode != 0:
        sys.stderr.write(err)
        raise SystemExit(f"case {reps} x {workers} workers failed (exit {run.returncode})")
    figures = json.loads(out.strip().splitlines()[-1])
    figures["tree_peak_mb"] = peak / 2**20
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--reps", type=int, nargs="+", default=[100, 1000, 10_000], help="replications per case"
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="process workers")
    parser.add_argument("--scenario", default=str(SCENARIOS / "baseline.yaml"))
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE")
    parser.add_argument("--interval", type=float, default=0.05, help="sampling period, s")
    parser.add_argument(
        "--quick", action="store_true", help="short check: 100 and 1,000 replications, 2 workers"
    )
    parser.add_argument("--child", type=int, nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        child(args.scenario, args.set, *args.child)
        return 0
    if args.quick:
        args.reps, args.workers = [100, 1000], [2]

    header("Peak memory of Monte Carlo runs streamed to disk (process executor)")
    print(f"scenario {Path(args.scenario).name} {' '.join(args.set)}\n")
    results: dict[tuple[int, int], dict[str, float]] = {}
    for workers in args.workers:
        for reps in args.reps:
            print(f"  running {reps:,} replications on {workers} worker(s) ...", flush=True)
            results[reps, workers] = run_case(args.scenario, args.set, reps, workers, args.interval)
    print()
    print(
        f"{'workers':>7s} {'replications':>12s} {'wall s':>8s} {'cpu s':>8s} "
        f"{'tree peak MB':>13s} {'vs fewest':>10s} {'largest process MB':>19s}"
    )
    met = True
    few = min(args.reps)
    for (reps, workers), r in results.items():
        ratio = r["tree_peak_mb"] / results[few, workers]["tree_peak_mb"]
        met = met and ratio <= 1.2
        print(
            f"{workers:>7} {reps:>12,} {r['seconds']:>8.1f} {r['cpu_seconds']:>8.1f} "
            f"{r['tree_peak_mb']:>13.1f} {ratio:>9.2f}x {r['largest_process_mb']:>19.1f}"
        )
        if r["rows_read_back"] != reps:
            print(f"ERROR: read back {r['rows_read_back']} rows, expected {reps}", file=sys.stderr)
            return 1
    print(
        f"\npeak memory of the process tree within 1.2x of {few:,} replications: "
        f"{'met' if met else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
