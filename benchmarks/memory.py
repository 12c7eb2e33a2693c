"""Peak memory of a Monte Carlo run streamed to disk: 10,000 against 1,000 replications.

Each case runs in its own Python process (``memory.py --child``) so that its peak resident set
size (``getrusage(RUSAGE_SELF).ru_maxrss`` at the end of the child) is its own. The child first
runs one block (25 replications) to a scratch folder, so imports and first-call allocations are
in the "after warm-up" figure, then the measured run. Reported per case: peak RSS of the whole
process, and its growth over the warm-up peak; the target (from the issue) is
``peak(10,000) / peak(1,000) <= 1.5``, i.e. memory does not grow with the number of
replications when results are streamed to disk.

The scenario is ``scenarios/small.yaml`` shrunk further (20 partners, 2 periods of 4 weeks, the
serial executor) so that 10,000 replications take a minute or two; change it with ``--set``.

Run::

    .venv/bin/python benchmarks/memory.py                    # 1,000 and 10,000, ~2 min
    .venv/bin/python benchmarks/memory.py --quick            # 200 and 2,000, ~30 s
    .venv/bin/python benchmarks/memory.py --reps 500 5000 --set population.partners=50
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import SCENARIOS, header

SMALL = [
    "population.partners=20",
    "population.recruitment.per_period=1",
    "calendar.horizon_periods=2",
    "calendar.weeks_per_period=4",
]


def peak_mb() -> float:
    """Peak resident set size of this process so far, MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child(scenario_path: str, overrides: list[str], reps: int) -> None:
    """Run one case and print its figures as JSON on the last line of stdout."""
    from incentsim.montecarlo import run_montecarlo
    from incentsim.scenario.loader import load_scenario

    scenario = load_scenario(scenario_path, overrides)
    started = peak_mb()
    with tempfile.TemporaryDirectory(prefix="incentsim-mem-") as tmp:
        run_montecarlo(
            scenario, reps=25, seed=1, executor="serial", out_dir=Path(tmp) / "w", progress=False
        )
        warm = peak_mb()
        began = time.perf_counter()
        result = run_montecarlo(
            scenario,
            reps=reps,
            seed=scenario.seed,
            executor="serial",
            out_dir=Path(tmp) / "run",
            progress=False,
        )
        seconds = time.perf_counter() - began
        files = [p for p in (Path(tmp) / "run").rglob("*") if p.is_file()]
        disk = sum(p.stat().st_size for p in files)
        rows = len(result.outcomes)
    print(
        json.dumps(
            {
                "reps": reps,
                "rows_read_back": rows,
                "seconds": seconds,
                "peak_mb": peak_mb(),
                "after_imports_mb": started,
                "after_warmup_mb": warm,
                "disk_mb": disk / 1e6,
                "files": len(files),
            }
        )
    )


def run_case(scenario: str, overrides: list[str], reps: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", str(reps), "--scenario", scenario]
    for override in overrides:
        command += ["--set", override]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"case with {reps} replications failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--reps", type=int, nargs=2, default=[1000, 10_000], metavar=("FEW", "MANY")
    )
    parser.add_argument("--scenario", default=str(SCENARIOS / "small.yaml"))
    parser.add_argument(
        "--set",
        action="append",
        default=None,
        metavar="PATH=VALUE",
        help=f"scenario overrides (default: {' '.join(SMALL)})",
    )
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--quick", action="store_true", help="smoke run (~30 s): 200 and 2,000 replications"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.reps = [200, 2000]
    overrides = SMALL if args.set is None else args.set
    if args.child is not None:
        child(args.scenario, overrides, args.child)
        return 0

    header("Peak memory of a Monte Carlo run streamed to disk (serial executor)")
    print(f"scenario {Path(args.scenario).name} with {' '.join(overrides)}\n")
    few, many = args.reps
    results = {}
    for reps in (few, many):
        print(f"  running {reps:,} replications in a subprocess ...", flush=True)
        results[reps] = run_case(args.scenario, overrides, reps)
    print()
    print(
        f"{'replications':>12s} {'seconds':>8s} {'peak RSS MB':>12s} {'after warm-up':>14s} "
        f"{'growth MB':>10s} {'on disk MB':>11s} {'files':>6s}"
    )
    for reps, r in results.items():
        growth = r["peak_mb"] - r["after_warmup_mb"]
        print(
            f"{reps:>12,} {r['seconds']:>8.1f} {r['peak_mb']:>12.1f} {r['after_warmup_mb']:>14.1f} "
            f"{growth:>10.1f} {r['disk_mb']:>11.2f} {r['files']:>6}"
        )
        if r["rows_read_back"] != reps:
            print(f"ERROR: read back {r['rows_read_back']} rows, expected {reps}", file=sys.stderr)
            return 1
    ratio = results[many]["peak_mb"] / results[few]["peak_mb"]
    growth_few = results[few]["peak_mb"] - results[few]["after_warmup_mb"]
    growth_many = results[many]["peak_mb"] - results[many]["after_warmup_mb"]
    print(
        f"\npeak RSS {many:,} / {few:,} replications: {ratio:.2f}x "
        f"(target <= 1.5: {'met' if ratio <= 1.5 else 'NOT met'})"
    )
    print(
        f"growth over warm-up: {growth_few:.1f} MB for {few:,}, {growth_many:.1f} MB for "
        f"{many:,} (+{(growth_many - growth_few) * 1024 / max(many - few, 1):.1f} KiB per extra "
        "replication)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
