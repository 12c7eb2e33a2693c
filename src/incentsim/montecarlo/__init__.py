"""Monte Carlo: replications in fixed seed blocks, run on an executor, streamed to disk.

::

    from incentsim.montecarlo import Evaluator, MonteCarloResult, RunPlan, run_montecarlo
    result = run_montecarlo(scenario, executor="processes", workers=4, out_dir="runs/base")
    # or, the same run options for several runs and analyses:
    with Evaluator(executor="processes", workers=4) as ev:
        result = ev.run(scenario, RunPlan(reps=200))
    print(result.summary)               # the table: mean, sd, P5/P50/P95, 95% CI of the mean
    MonteCarloResult.open("runs/base").plot_cost_distribution()

Results do not depend on the executor or the number of workers: see
:mod:`incentsim.montecarlo.seeding`. The run folder's layout is described in
:mod:`incentsim.montecarlo.store`.
"""

from incentsim.errors import OutDirError
from incentsim.montecarlo.capacity import calibrate_capacity
from incentsim.montecarlo.draws import BehaviourDraws, DrawnBehaviour
from incentsim.montecarlo.evaluator import Evaluator, run_montecarlo
from incentsim.montecarlo.executors import (
    DaskExecutor,
    Executor,
    ProcessExecutor,
    SerialExecutor,
    make_executor,
)
from incentsim.montecarlo.history import (
    SimulatedHistory,
    partner_table,
    simulate_history,
    write_history,
)
from incentsim.montecarlo.options import RunOptions
from incentsim.montecarlo.plan import RunPlan
from incentsim.montecarlo.results import MonteCarloResult
from incentsim.montecarlo.runner import BlockError
from incentsim.montecarlo.seeding import BLOCK_SIZE, Block, block_seeds, fresh_seed
from incentsim.montecarlo.summary import (
    OutcomeStats,
    Summary,
    TrajectoryBand,
    format_table,
    wilson_interval,
)

__all__ = [
    "BLOCK_SIZE",
    "BehaviourDraws",
    "Block",
    "BlockError",
    "DaskExecutor",
    "DrawnBehaviour",
    "Evaluator",
    "Executor",
    "MonteCarloResult",
    "OutDirError",
    "OutcomeStats",
    "ProcessExecutor",
    "RunOptions",
    "RunPlan",
    "SerialExecutor",
    "SimulatedHistory",
    "Summary",
    "TrajectoryBand",
    "block_seeds",
    "calibrate_capacity",
    "format_table",
    "fresh_seed",
    "make_executor",
    "partner_table",
    "run_montecarlo",
    "simulate_history",
    "wilson_interval",
    "write_history",
]
