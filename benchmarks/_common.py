"""Helpers shared by the benchmark scripts: interleaved timing, medians, printing.

The machine these run on is shared and noisy, so a benchmark never compares with a figure
measured elsewhere: the baseline and the candidate run in the same process, one repetition of
each in turn (the order rotating every repetition), and the figures reported are medians over
repetitions with the ratio of the medians.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


class Timings(dict[str, list[float]]):
    """Wall-clock seconds per run, by case (the dict), plus process CPU seconds (``cpu``).

    CPU seconds leave out the time spent waiting for a core that other jobs hold, so they are
    steadier on a shared machine; they do not count work done in child processes.
    """

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__({name: [] for name in names})
        self.cpu: dict[str, list[float]] = {name: [] for name in names}


def interleaved(
    cases: Sequence[tuple[str, Callable[[], object]]], repeat: int, verbose: bool = True
) -> Timings:
    """Time each case ``repeat`` times, alternating between cases.

    Repetition ``r`` runs the cases starting from case ``r % len(cases)``, so neither side is
    always first (warm caches) or last (a neighbour's job starting). Returns seconds per run.
    """
    times = Timings([name for name, _ in cases])
    n = len(cases)
    for r in range(repeat):
        for k in range(n):
            name, fn = cases[(r + k) % n]
            began, began_cpu = time.perf_counter(), time.process_time()
            fn()
            elapsed = time.perf_counter() - began
            times[name].append(elapsed)
            times.cpu[name].append(time.process_time() - began_cpu)
            if verbose:
                print(
                    f"  rep {r + 1}/{repeat}  {name:<40s} {elapsed:8.3f} s wall "
                    f"{times.cpu[name][-1]:8.3f} s cpu",
                    flush=True,
                )
    return times


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence."""
    return float(statistics.median(values))


def rate(units: float, seconds: Sequence[float]) -> float:
    """Units per second at the median time."""
    return units / median(seconds)


def spread(seconds: Sequence[float]) -> str:
    """``min-max`` of the timings, to show how noisy the run was."""
    return f"{min(seconds):.3f}-{max(seconds):.3f} s"


def si(value: float) -> str:
    """A rate written compactly: 1.23e6 -> '1.23 M'."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.3g}"


def header(title: str) -> None:
    """Print the benchmark's title and the conditions it ran under."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?", "?", "?")
    print(title)
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"{os.cpu_count()} cpus, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(f"command: {Path(sys.executable).name} {' '.join(sys.argv)}")
    print()


def print_table(times: Timings, units: dict[str, int], unit: str, baseline: str) -> None:
    """Print each case's median time, range, rate (``unit`` per second) and its ratio to the
    ``baseline`` case, by wall clock and by CPU time."""
    base_rate = rate(units[baseline], times[baseline])
    base_cpu = rate(units[baseline], times.cpu[baseline])
    print()
    print(
        f"{'case':<34s} {unit:>10s} {'median s':>9s} {'range':>17s} {unit + '/s':>12s} "
        f"{'vs base':>8s} {'cpu s':>7s} {unit + '/cpu s':>14s} {'vs base':>8s}"
    )
    for name, seconds in times.items():
        per_second = rate(units[name], seconds)
        per_cpu = rate(units[name], times.cpu[name])
        print(
            f"{name:<34s} {units[name]:>10,} {median(seconds):>9.3f} {spread(seconds):>17s} "
            f"{si(per_second):>12s} {per_second / base_rate:>7.1f}x "
            f"{median(times.cpu[name]):>7.3f} {si(per_cpu):>14s} {per_cpu / base_cpu:>7.1f}x"
        )
