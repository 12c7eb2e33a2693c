"""The design optimiser: MILP against random search, differential evolution and Optuna's TPE;
MILP size; the optimiser's optional steps.

Part 1, on the bundled optimisation (``scenarios/optimize_demo.yaml``), at equal simulation
budget counted in partner-replications (one partner simulated over the horizon once):

- **MILP**: every candidate of every segment simulated alone over ``S`` scenarios (common
  random numbers), then the MILP picks one per segment and the reserve;
- **random search**: ``K`` random combinations of the same candidates, each simulated as a
  whole program over the same ``S`` scenarios, ``K`` chosen so the partner-replications match;
- **differential evolution** (scipy, integer candidate indices per segment, constraint
  violations as penalties): at most ``K`` distinct designs simulated the same way;
- **Optuna TPE** (Optuna's tree-structured Parzen estimator, a categorical choice of candidate
  per segment, seeded; infeasible designs reported to it through Optuna's constraints
  function, so it learns to avoid them): ``K`` trials of distinct designs, the same way
  (a repeated suggestion is answered from the designs already simulated, and does not count).
  Optuna is a benchmark-only dependency (``pip install -e .[benchmarks]``); without it the row
  is skipped with a note.

Each method picks its best design that meets the constraints on its own scenarios (reserve:
the smallest that meets the risk limit, at most the file's maximum); a method none of whose
designs meets them picks the best of all and is labelled "none feasible". All designs are then
re-simulated on the same fresh seed, and the table shows the objective reached (95% interval)
and the constraints broken: ``in-sample`` (no feasible design found), ``reserve max`` (the
design needs a larger reserve than the file allows), ``CVaR`` (on the fresh replications, the
bootstrap 95% lower bound of the reserve the CVaR limit needs is above the design's reserve),
``overrun`` (chance risk: overrun probability above alpha beyond noise), ``retention`` (below
the floor) and ``budget`` (expected cost above it), and the wall time. The fresh replications
are common to the designs, so each is also compared with the MILP's design replication by
replication (paired). ``--budgets`` repeats the comparison at several simulation budgets, as
multiples of the file's replications per evaluation (every method simulates at that precision;
the baselines' design count stays the one that matches the MILP's partner-replications).

Part 2: candidate simulation time on the bundled optimisation, serial, by CPU time:
``simulate_candidates`` (a task stacks several seed blocks of a candidate, paying the engine's
fixed cost per block once) against the same (segment, candidate, block) simulations run one
block at a time with ``simulate_block`` (as before issue 17), interleaved; the two must agree
bit for bit before anything is timed. Target (issue 17): halved.

Part 3: build and solve times of the CVaR MILP for 8 segments x 64 candidates x 1,000
scenarios with synthetic coefficients (the generator of the optimiser's tests); target under
20 s to proven optimality. ``--part chance``: the exact chance-constrained MILP on the same
coefficients at 8 x 32 x 500 and 8 x 64 x 1,000 with a 120 s limit: status, gap, bound and the
strengthened model's rows (target, issue 14: optimal or a gap under 0.5%; last run, on 2
shared cores, 0.38% at 8 x 32 x 500 and 3.11% at 8 x 64 x 1,000).

Part 4 (issue 14), on the bundled optimisation: the optimiser's optional steps side by side:
the base design (under the file's budget, with the largest reserve allowed), the one-shot MILP,
with refinement rounds, with the coupling loop, with both, and a robust design over draws of
the behaviour constants. Per variant: CPU time of the whole optimisation (serial, no cache,
no validation or bootstrap; CPU time because the machine is shared), the last MILP's solve
time, status and gap, the candidate simulations (candidates x scenarios, plus joint
replications), and the validated objective: every design re-simulated as one program on the
same fresh seed, with its paired difference against the base design (95% interval), its
share of replications overrunning budget + reserve and its CVaR at ``alpha`` less that limit
(positive: the CVaR limit is broken). A last variant solves with ``risk: chance`` to show
what the CVaR limit costs.

Run::

    .venv/bin/python benchmarks/optimizer.py                  # all four parts
    .venv/bin/python benchmarks/optimizer.py --part methods --budgets 0.5,1,2
    .venv/bin/python benchmarks/optimizer.py --part methods --spec scenarios/optimize_levers.yaml
    .venv/bin/python benchmarks/optimizer.py --part candidates --repeat 5
    .venv/bin/python benchmarks/optimizer.py --part size --repeat 3
    .venv/bin/python benchmarks/optimizer.py --part chance
    .venv/bin/python benchmarks/optimizer.py --part steps --validation-reps 400
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from _common import ROOT, SCENARIOS, header, interleaved, median

from incentsim.engine.simulation import simulate_block
from incentsim.montecarlo.evaluator import run_montecarlo
from incentsim.montecarlo.seeding import BLOCK_SIZE, block_seeds, fresh_seed
from incentsim.montecarlo.summary import mean_interval, wilson_interval
from incentsim.optimizer import optimize
from incentsim.optimizer.coefficients import ProblemSettings, resolve_settings
from incentsim.optimizer.evaluate import (
    OUTCOMES,
    segment_counts,
    segment_scenario,
    simulate_candidates,
)
from incentsim.optimizer.milp import DesignProblem, cvar, solve
from incentsim.optimizer.space import generate_candidates
from incentsim.optimizer.spec import OptimizationSpec, load_spec, spec_from_dict
from incentsim.optimizer.validate import design_scenario
from incentsim.scenario.loader import load_scenario
from incentsim.scenario.model import Scenario

sys.path.insert(0, str(ROOT / "tests" / "optimizer"))
from opt_synthetic import synthetic_segments  # the optimiser tests' generator


@dataclass
class Picked:
    """A method's chosen design and what it cost to find."""

    method: str
    choice: dict[str, int]
    reserve: float
    in_sample: float
    evaluations: int
    seconds: float
    feasible: bool = True


class JointEvaluator:
    """Simulates whole-program designs (one candidate index per segment) on the optimiser's
    seed, at most ``limit`` distinct ones; scores them as the MILP would."""

    def __init__(
        self,
        spec: OptimizationSpec,
        base: Scenario,
        candidates: dict[str, list[Any]],
        settings: ProblemSettings,
        limit: int,
    ) -> None:
        self.spec, self.base, self.candidates, self.settings = spec, base, candidates, settings
        self.limit = limit
        self.seen: dict[tuple[int, ...], tuple[float, bool, float]] = {}

    def __call__(self, indices: tuple[int, ...]) -> tuple[float, bool, float] | None:
        """(objective, feasible, reserve) of a design; ``None`` once the budget is spent."""
        if indices in self.seen:
            return self.seen[indices]
        if len(self.seen) >= self.limit:
            return None
        s = self.settings
        outcomes = simulate_design(self, indices, s.reserve_max, self.spec.seed or 0, None)
        cost = outcomes["incentive_cost"]
        reserve = required_reserve(cost, s)
        value = objective_values(self.spec, self.base, outcomes, reserve)
        floor = self.spec.floors.retention
        feasible = (
            cost.mean() <= s.budget
            and reserve <= s.reserve_max
            and (not isinstance(floor, float) or outcomes["retention"].mean() >= floor)
        )
        self.seen[indices] = (float(value.mean()), bool(feasible), reserve)
        return self.seen[indices]

    def best(self, method: str, seconds: float) -> Picked:
        """The best design that met the constraints on the optimiser's seed; when none did,
        the best of all, marked infeasible (its row then shows what it breaks)."""
        feasible = {k: v for k, v in self.seen.items() if v[1]}
        pool = feasible or self.seen
        indices = max(pool, key=lambda k: pool[k][0])
        choice = dict(zip(self.candidates, indices, strict=True))
        value, _, reserve = pool[indices]
        label = method if feasible else f"{method} (none feasible)"
        return Picked(label, choice, reserve, value, len(self.seen), seconds, bool(feasible))


def required_reserve(cost: np.ndarray, settings: ProblemSettings) -> float:
    """The smallest reserve that meets the risk limit on these costs, as the MILP sizes it."""
    if settings.risk == "cvar":
        return max(0.0, cvar(cost, settings.alpha) - settings.budget)
    if settings.risk == "chance":
        return max(0.0, float(np.quantile(cost, 1.0 - settings.alpha)) - settings.budget)
    return 0.0


def tail_excess_interval(
    cost: np.ndarray, settings: ProblemSettings, reserve: float, resamples: int = 2000
) -> tuple[float, float]:
    """95% bootstrap interval of the reserve the risk limit needs on ``cost`` beyond
    ``reserve`` (positive: the limit is broken)."""
    rng = np.random.default_rng(2024)
    draws = rng.integers(len(cost), size=(resamples, len(cost)))
    excess = [required_reserve(cost[row], settings) - reserve for row in draws]
    low, high = np.quantile(excess, [0.025, 0.975])
    return float(low), float(high)


def simulate_design(
    evaluator: JointEvaluator,
    indices: tuple[int, ...],
    reserve: float,
    seed: Any,
    reps: int | None,
) -> dict[str, np.ndarray]:
    """The whole program with the candidates at ``indices``, simulated on ``seed``."""
    chosen = {
        g: evaluator.candidates[g][i] for g, i in zip(evaluator.candidates, indices, strict=True)
    }
    design = design_scenario(evaluator.base, chosen, evaluator.settings, reserve, "benchmark")
    reps = reps or evaluator.spec.replications
    frame = run_montecarlo(design, reps=reps, seed=seed, progress=False).outcomes
    return {name: frame[name].to_numpy(dtype=float) for name in frame.columns}


def objective_values(
    spec: OptimizationSpec, base: Scenario, outcomes: dict[str, np.ndarray], reserve: float
) -> np.ndarray:
    """The optimiser's objective per replication of a whole-program simulation."""
    partners = base.population.partners
    return (
        outcomes[spec.objective]
        + spec.loyalty_value * partners * outcomes["retention"]
        - spec.reserve.carrying_cost * reserve
    )


def part_methods(spec_path: str, validation_reps: int, scales: list[float]) -> None:
    """Part 1 at each simulation budget: ``scale`` times the file's replications for every
    method (so the baselines' designs are simulated as precisely as the MILP's candidates)."""
    spec = load_spec(spec_path)
    for scale in scales:
        document = spec.model_dump(mode="json", exclude={"file"})
        document["replications"] = max(10, round(spec.replications * scale))
        compare_methods(spec_from_dict(document, spec.file), spec_path, validation_reps)


def compare_methods(spec: OptimizationSpec, spec_path: str, validation_reps: int) -> None:
    """The MILP (one-shot and with coupling) against the baselines at equal simulation budget,
    every design then validated on the same fresh replications."""
    header(
        f"MILP vs random search, differential evolution and Optuna TPE on {spec_path}, "
        f"{spec.replications} replications per evaluation"
    )
    base = load_scenario(spec.scenario_path, spec.overrides)
    settings = resolve_settings(spec, base)
    space = generate_candidates(spec, base)
    counts = segment_counts(base)
    budget_units = sum(len(space.candidates[g]) * counts[g] for g in space.segments)
    picks: list[Picked] = []

    # incentsim one-shot, then with its coupling loop; each with the file's tail check if it
    # has one. Their joint runs (coupling, tail check) count against the simulation budget.
    joint_reps = joint_runs = 0
    for label, coupling in (("MILP", None), ("MILP + coupling", {"iterations": 3})):
        document = spec.model_dump(mode="json", exclude={"file"})
        document.update(stability_resamples=0, validation_replications=0, coupling=coupling)
        began = time.perf_counter()
        result = optimize(spec_from_dict(document, spec.file), progress=False)
        runs = reps = 0
        if result.coupling is not None:  # each iteration runs jointly, and again budget lifted
            runs = sum(2 if "budget_noise" in i else 1 for i in result.coupling.iterations)
            reps = result.coupling.replications * runs
        if result.tail_check is not None:
            label += f" + tail check ({'passed' if result.tail_check.passed else 'FAILED'})"
            runs += len(result.tail_check.tries)
            reps += result.tail_check.replications * len(result.tail_check.tries)
        picks.append(
            Picked(
                f"{label} ({result.solution.status})",
                result.solution.choice,
                float(result.solution.reserve or 0.0),
                float(result.solution.objective or np.nan),
                space.n_candidates + runs,
                time.perf_counter() - began,
            )
        )
        if reps > joint_reps:  # the budget is the dearer run's
            joint_reps, joint_runs = reps, runs
    budget_units += joint_reps * base.population.partners // spec.replications
    limit = budget_units // base.population.partners
    print(
        f"  simulation budget: {budget_units * spec.replications:,} partner-replications "
        f"= {limit} whole-program designs x {spec.replications} replications (incentsim's "
        f"dearer run, with its {joint_runs} joint runs)"
    )

    sizes = [len(space.candidates[g]) for g in space.segments]
    rng = np.random.default_rng(12345)
    evaluator = JointEvaluator(spec, base, space.candidates, settings, limit)
    began = time.perf_counter()
    while len(evaluator.seen) < limit:
        evaluator(tuple(int(rng.integers(n)) for n in sizes))
    picks.append(evaluator.best("random search", time.perf_counter() - began))

    from scipy.optimize import differential_evolution

    evaluator = JointEvaluator(spec, base, space.candidates, settings, limit)
    penalty = 1e12

    def loss(x: np.ndarray) -> float:
        found = evaluator(tuple(round(float(v)) for v in x))
        if found is None:
            return penalty * 2  # budget spent: nothing more is simulated
        value, feasible, _ = found
        return -value + (0.0 if feasible else penalty)

    began = time.perf_counter()
    differential_evolution(
        loss,
        [(0, n - 1) for n in sizes],
        integrality=[True] * len(sizes),
        popsize=2,
        maxiter=max(1, limit // (2 * len(sizes))),
        polish=False,
        seed=12345,
        init="latinhypercube",
    )
    picks.append(evaluator.best("differential evolution", time.perf_counter() - began))

    try:
        import optuna
    except ImportError:
        print("  Optuna TPE: skipped (Optuna is not installed: pip install -e .[benchmarks])")
    else:
        evaluator = JointEvaluator(spec, base, space.candidates, settings, limit)
        began = time.perf_counter()
        picks.append(optuna_tpe(optuna, evaluator, sizes, limit, began))

    header(f"out of sample: {validation_reps} fresh replications per design (same fresh seed)")
    seed = fresh_seed(spec.seed or 0, 7)
    floor = spec.floors.retention if isinstance(spec.floors.retention, float) else None
    print(
        f"  {'method':<50}{'designs':>8}{'in-sample obj':>15}{'realised objective (95% CI)':>38}"
        f"{'vs MILP, paired (95% CI)':>32}{'P(overrun) (95% CI)':>22}{'violations':>26}"
        f"{'wall s':>8}"
    )
    reference = None
    for pick in picks:
        indices = tuple(pick.choice[g] for g in space.segments)
        outcomes = simulate_design(evaluator, indices, pick.reserve, seed, validation_reps)
        value = objective_values(spec, base, outcomes, pick.reserve)
        reference = value if reference is None else reference
        low, high = mean_interval(value)
        d_low, d_high = mean_interval(value - reference)
        overruns = int(np.sum(outcomes["incentive_cost"] > settings.budget + pick.reserve))
        p_low, p_high = wilson_interval(overruns, validation_reps)
        violations = [] if pick.feasible else ["in-sample"]
        if pick.reserve > settings.reserve_max * (1 + 1e-9):
            violations.append("reserve max")
        if settings.risk == "chance" and p_low > settings.alpha:
            violations.append("overrun")
        if (
            settings.risk == "cvar"
            and tail_excess_interval(outcomes["incentive_cost"], settings, pick.reserve)[0] > 0
        ):
            violations.append("CVaR")
        if floor is not None and mean_interval(outcomes["retention"])[1] < floor:
            violations.append("retention")
        if mean_interval(outcomes["incentive_cost"])[0] > settings.budget:
            violations.append("budget")
        paired = (
            "-"
            if value is reference
            else (f"{(value - reference).mean():+,.0f} ({d_low:+,.0f} to {d_high:+,.0f})")
        )
        print(
            f"  {pick.method:<50}{pick.evaluations:>8}{pick.in_sample:>15,.0f}"
            f"{f'{value.mean():,.0f} ({low:,.0f}-{high:,.0f})':>38}{paired:>32}"
            f"{f'{overruns / validation_reps:.3f} ({p_low:.3f}-{p_high:.3f})':>22}"
            f"{(', '.join(violations) or 'none'):>26}{pick.seconds:>8.1f}"
        )


def optuna_tpe(
    optuna: Any, evaluator: JointEvaluator, sizes: list[int], limit: int, began: float
) -> Picked:
    """Optuna's TPE sampler over one categorical candidate index per segment, until ``limit``
    distinct designs are simulated; infeasible designs are reported as constraint violations
    (``Trial.set_constraint``: positive means violated)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=12345)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    names = list(evaluator.candidates)

    def objective(trial: Any) -> float:
        indices = tuple(
            int(trial.suggest_categorical(g, list(range(n))))
            for g, n in zip(names, sizes, strict=True)
        )
        found = evaluator(indices)
        assert found is not None  # the loop below stops before the budget is spent
        value, feasible, _ = found
        trial.set_constraint("design", 0.0 if feasible else 1.0)
        return value

    trials = 0
    while len(evaluator.seen) < limit and trials < 50 * limit:  # repeats cost nothing
        study.optimize(objective, n_trials=1)
        trials += 1
    return evaluator.best("Optuna TPE", time.perf_counter() - began)


def part_chance() -> None:
    from incentsim.optimizer.milp import _offsets, chance_rows

    header("exact chance-constrained MILP (synthetic coefficients, 120 s limit)")
    for g, c, s in ((8, 32, 500), (8, 64, 1000)):
        problem = DesignProblem(
            synthetic_segments(g, c, s, seed=1),
            budget=800.0,
            alpha=0.05,
            risk="chance",
            reserve_max=100.0,
            carrying_cost=0.5,
            retention_floor={"segment0": 0.85},
            small_partner_share=0.1,
        )
        cost = np.concatenate([coef.cost for coef in problem.segments.values()])
        rows = chance_rows(cost, _offsets(problem), problem.budget, problem.allowed_overruns)
        began = time.process_time()
        solution = solve(problem, time_limit=120.0)
        cpu = time.process_time() - began
        gap = "n/a" if solution.gap is None else f"{solution.gap:.2%}"
        print(
            f"  {g} x {c} x {s}: {solution.status}, gap {gap}, objective "
            f"{solution.objective or np.nan:,.1f}, bound {solution.bound or np.nan:,.1f}"
            f"; {len(rows.soft)} scenarios with a binary, {len(rows.hard)} hard, "
            f"{rows.dropped} without a row, {len(rows.dominance)} dominance rows; build "
            f"{solution.build_seconds:.1f} s, solve {solution.solve_seconds:.1f} s wall, "
            f"{cpu:.1f} s CPU ({solution.detail})",
            flush=True,
        )


def candidates_block_by_block(
    base: Scenario, space: Any, replications: int, seed: int
) -> dict[str, dict[str, np.ndarray]]:
    """Every (segment, candidate, block) simulated alone with ``simulate_block``: the outcomes
    ``(n_candidates, replications)`` per segment, as ``simulate_candidates`` arranges them."""
    blocks = block_seeds(seed, replications, BLOCK_SIZE)
    data = {}
    for g in space.segments:
        data[g] = {name: np.empty((len(space.candidates[g]), replications)) for name in OUTCOMES}
        for row, candidate in enumerate(space.candidates[g]):
            scenario = segment_scenario(base, g, candidate.override)
            for block in blocks:
                seed_copy = np.random.SeedSequence(
                    block.seed.entropy, spawn_key=block.seed.spawn_key
                )
                outcomes = simulate_block(scenario, seed_copy, block.reps).outcomes
                start = block.index * BLOCK_SIZE
                for name in OUTCOMES:
                    data[g][name][row, start : start + block.reps] = outcomes[name]
    return data


def part_candidates(spec_path: str, repeat: int) -> None:
    header(f"Candidate simulation on {spec_path}: stacked blocks vs block by block (serial)")
    spec = load_spec(spec_path)
    base = load_scenario(spec.scenario_path, spec.overrides)
    space = generate_candidates(spec, base)
    seed = spec.seed or 0
    reps = spec.replications
    blocks = len(block_seeds(seed, reps, BLOCK_SIZE))
    print(
        f"  {space.n_candidates} candidates x {reps} replications ({blocks} blocks each), "
        f"segments of {segment_counts(base)} partners"
    )
    alone = candidates_block_by_block(base, space, reps, seed)
    stacked = simulate_candidates(base, space, reps, seed, progress=False).data
    mismatches = sum(
        alone[g][name].tobytes() != stacked[g][name].tobytes()
        for g in space.segments
        for name in OUTCOMES
    )
    print(f"check: stacked vs block by block, {mismatches} outcome arrays differ (bit for bit)")
    if mismatches:
        raise SystemExit("stacked candidate blocks do not reproduce the block-by-block numbers")
    times = interleaved(
        [
            ("block by block", lambda: candidates_block_by_block(base, space, reps, seed)),
            ("stacked", lambda: simulate_candidates(base, space, reps, seed, progress=False)),
        ],
        repeat,
    )
    before, after = median(times.cpu["block by block"]), median(times.cpu["stacked"])
    verdict = "met" if before / after >= 2 else "NOT met"
    print(
        f"\n  median CPU s: block by block {before:.2f}, stacked {after:.2f}: "
        f"{before / after:.2f}x faster (target >= 2: {verdict}); "
        f"wall {median(times['block by block']):.2f} s vs {median(times['stacked']):.2f} s"
    )


def part_size(repeat: int) -> None:
    header("CVaR MILP: 8 segments x 64 candidates x 1,000 scenarios (synthetic coefficients)")
    builds, solves = [], []
    for r in range(repeat):
        problem = DesignProblem(
            synthetic_segments(8, 64, 1000, seed=r + 1),
            budget=800.0,
            alpha=0.05,
            risk="cvar",
            reserve_max=100.0,
            carrying_cost=0.5,
            retention_floor={"segment0": 0.85},
            small_partner_share=0.1,
        )
        solution = solve(problem, time_limit=120.0)
        builds.append(solution.build_seconds)
        solves.append(solution.solve_seconds)
        total = solution.build_seconds + solution.solve_seconds
        gap = "n/a" if solution.gap is None else f"{solution.gap:.1e}"
        print(
            f"  rep {r + 1}/{repeat}: {solution.solver} {solution.status}, gap {gap}, "
            f"build {solution.build_seconds:.2f} s + solve {solution.solve_seconds:.2f} s "
            f"= {total:.2f} s ({solution.detail})",
            flush=True,
        )
    print(
        f"  median: build {statistics.median(builds):.2f} s, "
        f"solve {statistics.median(solves):.2f} s "
        "(target: under 20 s in total to proven optimality)"
    )


#: Part 4's variants: a name and the optimisation file's keys it changes.
STEP_VARIANTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("one-shot MILP", {}),
    ("+ refine", {"refine": {"rounds": 3, "candidates": 6}}),
    ("+ coupling", {"coupling": {"iterations": 3}}),
    ("+ refine + coupling", {"refine": {"rounds": 3, "candidates": 6}, "coupling": {}}),
    ("robust (6 draws x 50)", {"robust": {"draws": 6, "replications": 50}}),
    ("one-shot, risk chance", {"risk": "chance"}),
)


def part_steps(spec_path: str, validation_reps: int) -> None:

    header(f"optimiser steps on {spec_path} (CPU time, serial, no cache)")
    spec = load_spec(spec_path)
    document = spec.model_dump(mode="json", exclude={"file"})
    document.update(stability_resamples=0, validation_replications=0)
    base = load_scenario(spec.scenario_path, spec.overrides)
    settings = resolve_settings(spec, base)
    rows: list[tuple[str, Any, dict[str, Any] | None]] = []
    for name, changes in STEP_VARIANTS:
        variant = spec_from_dict({**document, **changes}, spec.file)
        began = time.process_time()
        result = optimize(variant, progress=False)
        cpu = time.process_time() - began
        sims = sum(len(c) for c in result.simulations.candidates.values())
        sims *= result.simulations.replications
        if result.coupling is not None:
            sims += result.coupling.replications * len(result.coupling.iterations)
        rows.append((name, result, {"cpu": cpu, "simulations": sims}))
    seed = fresh_seed(spec.seed or 0, 8)
    base_design = design_scenario(base, {}, settings, settings.reserve_max, "base design")
    reference, cost = _validated(spec, base_design, settings.reserve_max, seed, validation_reps)
    limit = settings.budget + settings.reserve_max
    print(
        f"  {'variant':<24}{'CPU s':>7}{'solve s':>9}{'status (gap)':>20}{'simulations':>13}"
        f"{'validated objective (95% CI)':>40}{'vs base, paired (95% CI)':>34}"
        f"{'P(overrun)':>12}{'CVaR - limit':>14}  design"
    )
    low, high = mean_interval(reference)
    print(
        f"  {'base design':<24}{'':>7}{'':>9}{'':>20}{'':>13}"
        f"{f'{reference.mean():,.0f} ({low:,.0f}-{high:,.0f})':>40}{'-':>34}"
        f"{np.mean(cost > limit):>12.3f}{cvar(cost, settings.alpha) - limit:>+14,.0f}  base"
    )
    for name, result, figures in rows:
        assert figures is not None
        solution = result.solution
        status = f"{solution.status} ({solution.gap or 0.0:.1e})"
        reserve = float(solution.reserve or 0.0)
        value, cost = _validated(spec, result.design, reserve, seed, validation_reps)
        limit = settings.budget + reserve
        low, high = mean_interval(value)
        d_low, d_high = mean_interval(value - reference)
        paired = f"{(value - reference).mean():+,.0f} ({d_low:+,.0f} to {d_high:+,.0f})"
        design = ", ".join(c.id for c in result.chosen.values())
        print(
            f"  {name:<24}{figures['cpu']:>7.1f}{solution.solve_seconds:>9.2f}{status:>20}"
            f"{figures['simulations']:>13,}{f'{value.mean():,.0f} ({low:,.0f}-{high:,.0f})':>40}"
            f"{paired:>34}{np.mean(cost > limit):>12.3f}"
            f"{cvar(cost, settings.alpha) - limit:>+14,.0f}  {design}",
            flush=True,
        )


def _validated(
    spec: OptimizationSpec, design: Scenario, reserve: float, seed: Any, reps: int
) -> tuple[np.ndarray, np.ndarray]:
    """The optimiser's objective and the incentive cost per fresh replication of ``design`` as
    one program."""
    frame = run_montecarlo(design, reps=reps, seed=seed, progress=False).outcomes
    outcomes = {name: frame[name].to_numpy(dtype=float) for name in frame.columns}
    return objective_values(spec, design, outcomes, reserve), outcomes["incentive_cost"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--part",
        choices=("methods", "candidates", "size", "chance", "steps", "all"),
        default="all",
    )
    parser.add_argument("--spec", default=str(SCENARIOS / "optimize_demo.yaml"))
    parser.add_argument("--validation-reps", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--budgets",
        default="0.5,1,2",
        help="part 1's simulation budgets, as multiples of the file's replications",
    )
    args = parser.parse_args(argv)
    if args.part in ("methods", "all"):
        scales = [float(x) for x in args.budgets.split(",")]
        part_methods(args.spec, args.validation_reps, scales)
    if args.part in ("candidates", "all"):
        part_candidates(args.spec, args.repeat)
    if args.part in ("size", "all"):
        part_size(args.repeat)
    if args.part in ("chance", "all"):
        part_chance()
    if args.part in ("steps", "all"):
        part_steps(args.spec, args.validation_reps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
