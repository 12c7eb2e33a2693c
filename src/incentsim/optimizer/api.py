"""``incentsim.optimizer``: from an optimisation file to a validated design.

::

    from incentsim.optimizer import optimize
    result = optimize("scenarios/optimize_demo.yaml", out_dir="runs/opt")
    print(result.report())             # design per segment, solver status, promised vs realised
    result.design                      # the chosen program as a Scenario (also design.yaml)

Steps: generate candidates per segment (:mod:`~incentsim.optimizer.space`), simulate them over
common random numbers (:mod:`~incentsim.optimizer.evaluate`; under assumption draws for a
robust design, :mod:`~incentsim.optimizer.robust`), choose one per segment and the reserve
(:mod:`~incentsim.optimizer.milp`), optionally refine the candidates around the choice
(:mod:`~incentsim.optimizer.refine`) and correct the coefficients by joint runs of the choice
(:mod:`~incentsim.optimizer.coupling`), re-solve over a range of budgets or of floors on
retention, fairness or revenue (:mod:`~incentsim.optimizer.frontier`), re-solve on bootstrap
resamples of the scenarios (:mod:`~incentsim.optimizer.stability`), choose the program-wide
levers on joint runs of the chosen design (:mod:`~incentsim.optimizer.program_wide`),
re-simulate the chosen design jointly on fresh seeds (:mod:`~incentsim.optimizer.validate`)
and write it
(:mod:`~incentsim.optimizer.report`).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from incentsim import _output
from incentsim.experiments.sensitivity import Factor
from incentsim.montecarlo.evaluator import Evaluator
from incentsim.montecarlo.executors import Executor
from incentsim.montecarlo.options import RunOptions
from incentsim.montecarlo.seeding import fresh_seed
from incentsim.optimizer.coefficients import ProblemSettings, design_problem, resolve_settings
from incentsim.optimizer.coupling import Coupling, couple
from incentsim.optimizer.evaluate import SimulatedCandidates, lifted_budget, simulate_candidates
from incentsim.optimizer.frontier import Frontier, trace_frontier
from incentsim.optimizer.milp import DesignProblem, Risk, Solution, assess, solve
from incentsim.optimizer.program_wide import (
    ProgramWideChoice,
    choose_program_wide,
    program_wide_options,
    with_settings,
)
from incentsim.optimizer.refine import Refinement, refine
from incentsim.optimizer.report import candidate_rows, result_dict, text_report, write_outputs
from incentsim.optimizer.robust import (
    Robustness,
    assumption_draws,
    compare_designs,
    stack_draws,
    with_draw_best,
)
from incentsim.optimizer.space import Candidate, DesignSpace, generate_candidates
from incentsim.optimizer.spec import OptimizationSpec, load_spec
from incentsim.optimizer.stability import Stability, bootstrap_stability
from incentsim.optimizer.tail_check import (
    TAIL_CHECK_STREAM,
    TailCheck,
    check_tail,
    tail_check_replications,
)
from incentsim.optimizer.validate import (
    Validation,
    design_scenario,
    joint_outcomes,
    promised_outcomes,
    validate_design,
)
from incentsim.scenario.loader import load_scenario, scenario_hash, with_values
from incentsim.scenario.model import Scenario

__all__ = ["OptimizationResult", "optimize", "prepare"]

#: The most replications an optimisation may simulate (candidates of every segment together).
MAX_SIMULATIONS = 10_000_000

#: What an optimisation's folder is (its marker is ``optimization.json``).
KIND = _output.KINDS["optimization.json"]

#: Fresh-seed stream used for validation (the main run's streams are never reused).
VALIDATION_STREAM = 1

#: Fresh-seed stream the stability bootstrap draws its resamples from.
STABILITY_STREAM = 2

#: Fresh-seed stream the robust design's assumption draws come from.
ROBUST_STREAM = 3

# Stream 4 is the tail check's (:data:`~incentsim.optimizer.tail_check.TAIL_CHECK_STREAM`).


@dataclass
class OptimizationResult:
    """Everything an optimisation produced.

    Attributes
    ----------
    spec, base, settings
        The optimisation file, its base scenario, and the budget/alpha/risk/reserve used.
    space, simulations, problem, solution
        Candidates, their simulated outcomes, the MILP's input and the solver's answer.
    chosen
        The chosen candidate per segment (empty when there is no design).
    assessment
        The chosen design on the optimiser's scenarios (:func:`~incentsim.optimizer.milp.assess`).
    design
        The chosen program as a scenario that ``incentsim run`` accepts.
    validation
        Promised against realised on fresh seeds (``None`` with no design or no validation
        replications).
    stability
        How often each segment's choice comes back on bootstrap resamples of the scenarios
        (``None`` with no design or ``stability_resamples: 0``).
    program_wide
        The program-wide levers' options simulated jointly with the chosen design, and the one
        chosen (``None`` without such levers or with no design).
    frontier
        The design problem re-solved over the file's ``frontier`` sweep (budgets, or floors on
        its ``measure``), with the base and chosen designs' figures (``None`` without
        ``frontier``).
    refinement
        The refinement rounds (``None`` without ``refine``); ``space``, ``simulations``,
        ``problem`` and ``solution`` are then the last round's.
    coupling
        The joint runs of the coupling loop (``None`` without ``coupling``); ``problem`` is
        then the corrected problem the choice was made on.
    robustness
        The nominal and the robust design under every assumption draw (``None`` without
        ``robust``); the ``simulations`` are then draws x replications.
    tail_check
        The chosen designs' tails checked on fresh joint runs (``None`` without
        ``tail_check``); ``problem`` then excludes the designs that failed.
    files
        What was written to ``out_dir`` (name -> path).
    """

    spec: OptimizationSpec
    base: Scenario
    settings: ProblemSettings
    space: DesignSpace
    simulations: SimulatedCandidates
    problem: DesignProblem
    solution: Solution
    chosen: dict[str, Candidate]
    assessment: dict[str, Any] | None
    design: Scenario | None
    validation: Validation | None
    files: dict[str, Path]
    stability: Stability | None = None
    program_wide: ProgramWideChoice | None = None
    frontier: Frontier | None = None
    refinement: Refinement | None = None
    coupling: Coupling | None = None
    robustness: Robustness | None = None
    tail_check: TailCheck | None = None

    @property
    def feasible(self) -> bool:
        """Whether a design was found (optimal, or an incumbent at the time limit)."""
        return self.solution.has_design

    def report(self) -> str:
        """The text report (also written as ``report.txt``)."""
        return text_report(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (also written as ``optimization.json``)."""
        return result_dict(self)

    def to_frame(self) -> pd.DataFrame:
        """One row per segment and candidate with its expected outcomes (``candidates.csv``)."""
        return pd.DataFrame(candidate_rows(self))

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table: ``candidates``, and ``validation``, ``frontier``, ``program_wide`` and
        ``stability`` when the optimisation produced them (the CSV files it writes)."""
        tables = {"candidates": self.to_frame()}
        if self.validation is not None:
            tables["validation"] = pd.DataFrame(self.validation.to_dict()["comparisons"])
        if self.frontier is not None:
            tables["frontier"] = pd.DataFrame(self.frontier.points)
        if self.program_wide is not None:
            tables["program_wide"] = pd.DataFrame(self.program_wide.rows())
        if self.stability is not None:
            tables["stability"] = pd.DataFrame(self.stability.rows())
        return tables

    def identity(self) -> dict[str, Any]:
        """What ran: the optimisation file, its base scenario and content hash, seed,
        replications, budget, risk settings, and the solver's real status and gap."""
        return {
            "optimisation_file": None if self.spec.file is None else str(self.spec.file),
            "scenario": self.base.name,
            "scenario_hash": scenario_hash(self.base),
            "seed": self.base.seed if self.spec.seed is None else self.spec.seed,
            "replications": self.spec.replications,
            "validation_replications": self.spec.validation_replications,
            "budget": self.settings.budget,
            "alpha": self.settings.alpha,
            "risk": self.settings.risk,
            "solver_status": self.solution.status,
            "gap": self.solution.gap,
        }


def optimize(
    spec: OptimizationSpec | str | os.PathLike[str],
    *,
    budget: float | None = None,
    alpha: float | None = None,
    risk: Risk | None = None,
    overrides: Sequence[str] = (),
    out_dir: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    also_write: Sequence[Callable[[OptimizationResult, Path], dict[str, Path]]] = (),
    cache_dir: str | os.PathLike[str] | None = None,
    solver: Literal["highs", "cbc"] = "highs",
    options: RunOptions | None = None,
    executor: str | Executor | None = None,
    workers: int | None = None,
    progress: bool | Literal["always"] | None = None,
) -> OptimizationResult:
    """Choose the best design per segment and the reserve, and prove it on fresh simulations.

    Parameters
    ----------
    spec
        An optimisation file (see :mod:`incentsim.optimizer.spec`) or a validated spec.
    budget, alpha, risk
        Override the file's budget (over the whole horizon), tail-risk level and risk measure
        (``"cvar"``, ``"chance"`` or ``"none"``).
    overrides
        ``KEY.PATH=VALUE`` changes to the file (``base.`` prefix: to the base scenario).
    out_dir
        Where to write ``design.yaml``, ``report.txt``, ``optimization.json`` and the CSVs
        (nothing is written when ``None``). The folder is locked from the start and replaced
        whole when everything is written, so it always holds one complete result: the
        previous one until the new one is complete (a failure or a kill leaves it as it was),
        and never a previous ``design.yaml`` beside an infeasible run's report.
    overwrite
        Replace an ``out_dir`` holding another kind of result, or an optimisation of another
        file (the same file optimised again is replaced without it).
    also_write
        More files to write with the outputs: each ``write(result, folder)`` writes into
        ``folder`` and returns ``name -> path`` (``incentsim optimize`` adds its HTML report).
    cache_dir
        Cache of simulated candidates; a rerun simulates only what is new.
    solver
        ``"highs"`` (CBC is the fallback) or ``"cbc"``.
    options
        How simulations run (:class:`~incentsim.montecarlo.RunOptions`): ``executor``,
        ``workers``, ``address``, ``progress``, and ``draws`` (behaviour constants drawn per
        block from a calibration, for the candidates, the joint runs and the validation
        alike). Replications and seeds are the optimisation file's; one executor serves every
        simulation of the optimisation.
    executor, workers, progress
        Those run options one by one, replacing the ``options``' values.

    Raises
    ------
    OptimizationSpecError, ScenarioError
        The file, its base scenario or an override is invalid.
    OutDirError
        ``out_dir`` is being written by another process, or holds another result and
        ``overwrite`` is not set.
    """
    spec, base, settings, space = prepare(
        spec, budget=budget, alpha=alpha, risk=risk, overrides=overrides
    )
    chosen = RunOptions.merged(options, executor=executor, workers=workers, progress=progress)
    _check_run_options(spec, chosen)
    evaluator = Evaluator(chosen)
    evaluator.check_memory(base, spec.replications, chosen.local_workers())
    run = functools.partial(
        _optimize, spec, base, settings, space, cache_dir=cache_dir, evaluator=evaluator,
        solver=solver,
    )  # fmt: skip
    if out_dir is None:
        return run()

    folder = Path(out_dir)
    other = _other_optimisation(spec)
    with _output.new_folder(folder, KIND, overwrite=overwrite, other_run=other) as staging:
        result = run()
        files = write_outputs(result, staging)
        for write in also_write:
            files.update(write(result, staging))
    result.files = {name: folder / path.relative_to(staging) for name, path in files.items()}
    return result


def _check_run_options(spec: OptimizationSpec, options: RunOptions) -> None:
    """Refuse run options an optimisation does not take from its caller (its output folder is
    ``out_dir``; it continues through its candidate cache), and calibration draws beside a
    robust design (both would set the behaviour constants)."""
    for name, default in (("out_dir", None), ("resume", False)):
        if getattr(options, name) != default:
            raise ValueError(
                f"run option '{name}' is not used by an optimisation: give its output folder "
                "with out_dir= (a rerun continues through its candidate cache)"
            )
    if options.block_fn is not None or options.panel:
        raise ValueError("an optimisation simulates with the engine, without a panel")
    if options.draws is not None and spec.robust is not None:
        raise spec.error(
            "robust",
            "a robust design draws the behaviour constants itself: leave out the calibration "
            "draws (--draws), or the robust block",
        )


def _optimize(
    spec: OptimizationSpec,
    base: Scenario,
    settings: ProblemSettings,
    space: DesignSpace,
    *,
    cache_dir: str | os.PathLike[str] | None,
    evaluator: Evaluator,
    solver: Literal["highs", "cbc"],
) -> OptimizationResult:
    """The optimisation itself (see :func:`optimize`) once its inputs are checked, writing
    nothing; every simulation runs on ``evaluator``."""
    with evaluator as ev:
        return _optimize_on(spec, base, settings, space, cache_dir, ev, solver)


def _optimize_on(
    spec: OptimizationSpec,
    base: Scenario,
    settings: ProblemSettings,
    space: DesignSpace,
    cache_dir: str | os.PathLike[str] | None,
    ev: Evaluator,
    solver: Literal["highs", "cbc"],
) -> OptimizationResult:
    """:func:`_optimize` on the open evaluator ``ev``."""
    seed = base.seed if spec.seed is None else spec.seed
    run_options: dict[str, Any] = {"options": ev}

    def simulate(scenario: Scenario, candidates: DesignSpace, reps: int) -> SimulatedCandidates:
        return simulate_candidates(
            scenario, candidates, reps, seed, cache_dir=cache_dir, **run_options
        )

    sim = simulate(base, space, spec.replications)
    quiet_solve = functools.partial(
        solve,
        time_limit=spec.time_limit,
        mip_gap=spec.mip_gap,
        solver=solver,
        diagnose_infeasible=False,
    )
    factors: list[Factor] = []
    draws: np.ndarray | None = None
    nominal_ids: dict[str, str] = {}
    nominal_refinement = None
    if spec.robust is not None:
        factors, draws = assumption_draws(spec, fresh_seed(seed, ROBUST_STREAM))
        nominal = quiet_solve(design_problem(spec, sim, settings))
        if spec.refine is not None and nominal.has_design:
            # The nominal design is refined as the robust one will be, so the two are compared
            # on equal terms; its candidates join the robust optimisation's.
            space, _, _, nominal, nominal_refinement = refine(
                spec, base, space, sim, nominal,
                lambda new: simulate(base, new, spec.replications),
                lambda simulated: design_problem(spec, simulated, settings),
                quiet_solve,
            )  # fmt: skip
        nominal_ids = {g: space.candidates[g][c].id for g, c in nominal.choice.items()}

    def simulate_space(new: DesignSpace) -> SimulatedCandidates:
        """New candidates on the optimiser's scenarios (every assumption draw, if robust)."""
        if spec.robust is None or draws is None:
            return simulate(base, new, spec.replications)
        reps = spec.robust.replications or spec.replications
        return stack_draws(lambda s: simulate(s, new, reps), base, factors, draws)

    if spec.robust is not None:
        sim = simulate_space(space)

    def problem_for(simulated: SimulatedCandidates, columns: Any = None) -> DesignProblem:
        """The design problem (with each draw's best objective for minimax regret)."""
        return with_draw_best(design_problem(spec, simulated, settings, columns), quiet_solve)

    problem = problem_for(sim)
    solution = solve(problem, time_limit=spec.time_limit, mip_gap=spec.mip_gap, solver=solver)
    refinement = coupling = robustness = None
    if spec.refine is not None and solution.has_design:
        space, sim, problem, solution, refinement = refine(
            spec, base, space, sim, solution, simulate_space,
            problem_for, quiet_solve,
        )  # fmt: skip
    name = spec.name or f"{base.name}-optimised"
    if spec.coupling is not None and solution.has_design:
        joint_reps = spec.coupling.replications or spec.replications

        def joint(
            choice: Mapping[str, int], reserve: float, at: Any, lift: bool = False
        ) -> dict[str, np.ndarray]:
            picked = {g: space.candidates[g][c] for g, c in choice.items()}
            program = design_scenario(base, picked, settings, reserve, name)
            if lift:
                dumped = program.program.model_dump(mode="json")
                program = with_values(program, lifted_budget(dumped))
            return joint_outcomes(spec, program, settings, reserve, at, joint_reps, **run_options)

        def lifted(choice: Mapping[str, int], reserve: float, at: Any) -> dict[str, np.ndarray]:
            return joint(choice, reserve, at, lift=True)

        ids = {g: [c.id for c in space.candidates[g]] for g in space.segments}
        problem, solution, coupling = couple(
            problem, solution, joint, ids, spec.coupling.iterations, joint_reps, seed, quiet_solve,
            sim.partners, lifted,
        )  # fmt: skip
    tail_check = None
    if spec.tail_check is not None and solution.has_design:
        if settings.risk == "none":
            raise spec.error("tail_check", "there is no tail limit to check with risk: none")
        check_reps = spec.tail_check.replications or tail_check_replications(
            spec.replications, settings.alpha
        )
        check_seed = fresh_seed(seed, TAIL_CHECK_STREAM)

        def fresh_cost(choice: Mapping[str, int], reserve: float) -> np.ndarray:
            picked = {g: space.candidates[g][c] for g, c in choice.items()}
            program = design_scenario(base, picked, settings, reserve, name)
            outcomes = joint_outcomes(
                spec, program, settings, reserve, check_seed, check_reps, **run_options
            )
            return outcomes["incentive_cost"]

        ids = {g: [c.id for c in space.candidates[g]] for g in space.segments}
        problem, solution, tail_check = check_tail(
            problem, solution, fresh_cost, ids, spec.tail_check.attempts, check_reps, quiet_solve
        )
    if spec.robust is not None and solution.has_design and nominal_ids:
        assert draws is not None  # drawn above for a robust optimisation
        ids = {g: [c.id for c in space.candidates[g]] for g in space.segments}
        nominal_choice = {g: ids[g].index(c) for g, c in nominal_ids.items()}
        robustness = compare_designs(problem, nominal_choice, solution.choice, ids, factors, draws)
        robustness.nominal_refinement = nominal_refinement
    frontier = None
    if spec.frontier is not None:
        frontier = trace_frontier(
            problem,
            spec.frontier.measure,
            spec.frontier.values(),
            quiet_solve,
            chosen=solution.choice if solution.has_design else None,
        )
    chosen: dict[str, Candidate] = {}
    assessment = design = validation = stability = program_wide = None
    if solution.has_design:
        chosen = {g: space.candidates[g][c] for g, c in solution.choice.items()}
        assessment = assess(problem, solution.choice)
        if spec.stability_resamples > 0:
            resampled = functools.partial(problem_for, sim)
            stability = bootstrap_stability(
                resampled if coupling is None else lambda c: coupling.corrected(resampled(c)),
                problem.n_scenarios,
                solution.choice,
                spec.stability_resamples,
                fresh_seed(seed, STABILITY_STREAM),
                quiet_solve,
            )
        reserve = float(solution.reserve or 0.0)
        design = design_scenario(base, chosen, settings, reserve, name, _describe(chosen))
        options = program_wide_options(spec, base)
        if options:
            program_wide = choose_program_wide(
                spec, design, options, settings, reserve, seed, **run_options
            )
            design = with_settings(design, program_wide.chosen)
            design = design.model_copy(
                update={"description": _describe(chosen, program_wide.chosen)}
            )
        if spec.validation_replications > 0:
            if spec.robust is not None:  # the validation runs the base's assumptions
                alone = DesignSpace(list(space.segments), {g: [c] for g, c in chosen.items()})
                promised_sim = simulate(base, alone, spec.replications)
                promised_choice = dict.fromkeys(chosen, 0)
            else:
                promised_sim, promised_choice = sim, solution.choice
            promised = promised_outcomes(spec, promised_sim, promised_choice, settings, reserve)
            if coupling is not None:
                promised = coupling.corrected_promise(promised, settings.budget, reserve)
            validation = validate_design(
                spec,
                design,
                promised,
                settings,
                reserve,
                fresh_seed(seed, VALIDATION_STREAM),
                **run_options,
            )
    return OptimizationResult(
        spec, base, settings, space, sim, problem, solution, chosen, assessment, design,
        validation, {}, stability, program_wide, frontier, refinement, coupling, robustness,
        tail_check,
    )  # fmt: skip


def _other_optimisation(spec: OptimizationSpec) -> Callable[[Path], str | None]:
    """How a folder's optimisation differs from one of ``spec`` (``None``: the same file)."""

    def other(folder: Path) -> str | None:
        try:
            found = json.loads((folder / "optimization.json").read_text(encoding="utf-8"))
            previous = found.get("optimisation_file")
        except (OSError, ValueError, AttributeError):
            return "an optimisation whose optimization.json cannot be read"
        mine = None if spec.file is None else os.path.abspath(spec.file)
        if (previous and os.path.abspath(previous)) == mine:
            return None
        return f"an optimisation of {previous or 'a specification built in Python'}"

    return other


def prepare(
    spec: OptimizationSpec | str | os.PathLike[str],
    *,
    budget: float | None = None,
    alpha: float | None = None,
    risk: Risk | None = None,
    overrides: Sequence[str] = (),
) -> tuple[OptimizationSpec, Scenario, ProblemSettings, DesignSpace]:
    """Every check :func:`optimize` makes before it simulates, and what they give: the spec, its
    base scenario, the settings and the candidates. ``incentsim validate`` runs exactly this.

    Raises
    ------
    OptimizationSpecError, ScenarioError
        The file, its base scenario or an override is invalid.
    """
    if not isinstance(spec, OptimizationSpec):
        spec = load_spec(Path(spec), overrides)
    elif overrides:
        raise TypeError("overrides apply to an optimisation file; pass a path, not a spec")
    base = load_scenario(spec.scenario_path, spec.overrides)
    settings = resolve_settings(spec, base, budget, alpha, risk)
    space = generate_candidates(spec, base)
    simulations = space.n_candidates * spec.replications
    if simulations > MAX_SIMULATIONS:
        raise spec.error(
            "replications",
            f"{space.n_candidates:,} candidate designs x {spec.replications:,} replications is "
            f"{simulations:,} simulations, more than {MAX_SIMULATIONS:,}: use fewer levers, "
            "values, max_candidates or replications",
        )
    return spec, base, settings, space


def _describe(chosen: dict[str, Candidate], program_wide: dict[str, Any] | None = None) -> str:
    parts = [f"{g}: {c.id} ({c.label()})" for g, c in chosen.items()]
    parts += [f"{path.removeprefix('program.')}={v}" for path, v in (program_wide or {}).items()]
    return "Design chosen by incentsim optimize. " + "; ".join(parts)
