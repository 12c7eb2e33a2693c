"""A calibration and its hold-out check side by side: ``incentsim calibrate --workers 2``.

The hold-out check (:func:`~incentsim.calibration.holdout.holdout_check`) is a second
calibration, on the history without its last periods, and a prediction of them; it uses
nothing of the first. :func:`calibrate_and_check` runs the two one after the other in this
process on one worker, or as two tasks of a :class:`~incentsim.montecarlo.executors.
ProcessExecutor` on two, so the wall time is the longer of the two rather than their sum. Each
draws only from its own seeds (:func:`~incentsim.montecarlo.seeding.fresh_seed` streams of the
scenario's), so the results are the same whatever the workers. A worker's progress messages
reach the caller's :data:`~incentsim.calibration.estimate.Progress` through a queue, those of
the hold-out check prefixed :data:`HOLDOUT_PREFIX` on any number of workers.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from typing import TYPE_CHECKING, Any

from incentsim.calibration.estimate import Calibration, Progress, calibrate
from incentsim.calibration.holdout import holdout_check
from incentsim.montecarlo.executors import ProcessExecutor

if TYPE_CHECKING:
    import pandas as pd

    from incentsim.program.spec import Program
    from incentsim.scenario.model import Scenario

#: Put before the hold-out check's progress messages.
HOLDOUT_PREFIX: str = "hold-out: "


class _Relay:
    """A progress callback a worker process can call: it puts each call, with the job's prefix,
    on a queue the caller's process drains (a manager's queue, which pickles)."""

    def __init__(self, calls: Any, prefix: str) -> None:
        self.calls = calls
        self.prefix = prefix

    def __call__(self, message: str, simulations: int) -> None:
        self.calls.put((self.prefix + message, simulations))


def _prefixed(progress: Progress | None, prefix: str) -> Progress | None:
    """``progress`` with ``prefix`` before each message."""
    if progress is None:
        return None
    return lambda message, simulations: progress(prefix + message, simulations)


def _job(task: tuple[str, Scenario, pd.DataFrame, int, dict[str, Any], Progress | None]) -> Any:
    """One side of :func:`calibrate_and_check` (a module function, so a worker can run it)."""
    kind, scenario, transactions, periods, options, progress = task
    if kind == "calibration":
        return kind, calibrate(scenario, transactions, progress=progress, **options)
    return kind, holdout_check(scenario, transactions, periods, progress=progress, **options)


def calibrate_and_check(
    scenario: Scenario,
    transactions: pd.DataFrame,
    holdout: int,
    *,
    program: Program | None = None,
    reps: int | None = None,
    bootstrap: int | None = None,
    passes: int | None = None,
    variance_reps: int | None = None,
    backtest_histories: int | None = None,
    workers: int = 1,
    progress: Progress | None = None,
) -> tuple[Calibration, pd.DataFrame | None]:
    """:func:`~incentsim.calibration.estimate.calibrate` and, with ``holdout`` periods,
    :func:`~incentsim.calibration.holdout.holdout_check`, on ``workers`` processes.

    Parameters
    ----------
    scenario, transactions, program, reps, bootstrap, passes, variance_reps
        Those of :func:`~incentsim.calibration.estimate.calibrate` (``None``: its defaults),
        for both.
    backtest_histories
        The calibration's (the hold-out check's calibration has no back-test).
    holdout
        Periods held out (0: no check).
    workers
        1: both in this process, one after the other; 2 or more: each in a worker process
        at the same time (with ``holdout`` 0 the calibration runs here).
    progress
        Told each stage and simulation of both (:data:`~incentsim.calibration.estimate.
        Progress`), the hold-out check's messages prefixed :data:`HOLDOUT_PREFIX`.

    Returns
    -------
    (Calibration, pandas.DataFrame or None)
        The calibration and the hold-out table (``None`` without a hold-out).
    """
    options: dict[str, Any] = {
        k: v
        for k, v in {
            "program": program,
            "reps": reps,
            "bootstrap": bootstrap,
            "passes": passes,
            "variance_reps": variance_reps,
        }.items()
        if v is not None
    }
    own: dict[str, Any] = (
        {} if backtest_histories is None else {"backtest_histories": backtest_histories}
    )
    if workers < 2 or not holdout:
        calibration = calibrate(scenario, transactions, progress=progress, **options, **own)
        table = (
            holdout_check(
                scenario,
                transactions,
                holdout,
                progress=_prefixed(progress, HOLDOUT_PREFIX),
                **options,
            )
            if holdout
            else None
        )
        return calibration, table
    with multiprocessing.get_context("spawn").Manager() as manager, ProcessExecutor(2) as pool:
        calls = manager.Queue() if progress else None
        tasks = [
            (
                kind,
                scenario,
                transactions,
                holdout,
                chosen,
                None if calls is None else _Relay(calls, prefix),
            )
            for kind, prefix, chosen in (
                ("calibration", "", {**options, **own}),
                ("holdout", HOLDOUT_PREFIX, options),
            )
        ]
        results: dict[str, Any] = {}
        failure: list[BaseException] = []

        def collect() -> None:
            try:
                results.update(pool.map_unordered(_job, tasks))
            except BaseException as exc:  # re-raised in the caller's thread
                failure.append(exc)

        worker = threading.Thread(target=collect, name="incentsim-calibrate", daemon=True)
        worker.start()
        while (
            calls is not None and progress is not None and (worker.is_alive() or not calls.empty())
        ):
            try:
                message, simulations = calls.get(timeout=0.2)
            except queue.Empty:
                continue
            progress(message, simulations)
        worker.join()
        if failure:
            raise failure[0]
    return results["calibration"], results["holdout"]
