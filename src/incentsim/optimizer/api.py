"""``incentsim.optimizer``: from an optimisation file to a validated design.

::

    from incentsim.optimizer import optimize
    result = optimize("scenarios/optimize_demo.yaml", out_dir="runs/opt")
    print(result.report())             # design per segment, solver status, promised vs realised
    result.design                      # the chosen program as a Scenario (also design.yaml)

Steps: generate candidates per segment (:mod:`~incentsim.optimizer.space`), simulate them over
common random numbers (:mod:`~incentsim.optimizer.evaluate`), choose one per segment and the
reserve (:mod:`~incentsim.optimizer.milp`), re-simulate the chosen design jointly on fresh seeds
(:mod:`~incentsim.optimizer.validate`) and write it (:mod:`~incentsim.optimizer.report`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from incentsim.errors import IncentsimError
from incentsim.montecarlo.resources import check_block_memory
from incentsim.montecarlo.seeding import BLOCK_SIZE, fresh_seed
from incentsim.optimizer.coefficients import ProblemSettings, design_problem, resolve_settings
from incentsim.optimizer.evaluate import SimulatedCandidates, simulate_candidates
from incentsim.optimizer.milp import DesignProblem, Risk, Solution, assess, solve
from incentsim.optimizer.space import Candidate, DesignSpace, generate_candidates
from incentsim.optimizer.spec import OptimizationSpec, load_spec
from incentsim.optimizer.validate import (
    Validation,
    design_scenario,
    promised_outcomes,
    validate_design,
)
from incentsim.scenario.loader import load_scenario
from incentsim.scenario.model import Scenario

__all__ = ["OptimizationResult", "optimize", "prepare"]

#: The most replications an optimisation may simulate (candidates of every segment together).
MAX_SIMULATIONS = 10_000_000

#: Fresh-seed stream used for validation (the main run's streams are never reused).
VALIDATION_STREAM = 1


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

    @property
    def feasible(self) -> bool:
        """Whether a design was found (optimal, or an incumbent at the time limit)."""
        return self.solution.has_design

    def report(self) -> str:
        """The text report (also written as ``report.txt``)."""
        from incentsim.optimizer.report import text_report

        return text_report(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (also written as ``optimization.json``)."""
        from incentsim.optimizer.report import result_dict

        return result_dict(self)


def optimize(
    spec: OptimizationSpec | str | os.PathLike[str],
    *,
    budget: float | None = None,
    alpha: float | None = None,
    risk: Risk | None = None,
    overrides: Sequence[str] = (),
    out_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    executor: str = "serial",
    workers: int | None = None,
    solver: Literal["highs", "cbc"] = "highs",
    progress: bool | Literal["always"] = True,
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
        (nothing is written when ``None``).
    cache_dir
        Cache of simulated candidates; a rerun simulates only what is new.
    executor, workers
        Where simulations run (``"serial"``, ``"processes"``, ``"dask"``).
    solver
        ``"highs"`` (CBC is the fallback) or ``"cbc"``.
    progress
        A progress bar while candidates simulate.

    Raises
    ------
    OptimizationSpecError, ScenarioError
        The file, its base scenario or an override is invalid.
    """
    spec, base, settings, space = prepare(
        spec, budget=budget, alpha=alpha, risk=risk, overrides=overrides
    )
    seed = base.seed if spec.seed is None else spec.seed
    local = 1 if executor == "serial" else workers or os.cpu_count() or 1
    check_block_memory(base, min(BLOCK_SIZE, spec.replications), local)
    if cache_dir is not None:
        _open_cache(Path(cache_dir))
    sim = simulate_candidates(
        base,
        space,
        spec.replications,
        seed,
        executor=executor,
        workers=workers,
        cache_dir=cache_dir,
        progress=progress,
    )
    problem = design_problem(spec, sim, settings)
    solution = solve(problem, time_limit=spec.time_limit, mip_gap=spec.mip_gap, solver=solver)
    chosen: dict[str, Candidate] = {}
    assessment = design = validation = None
    if solution.has_design:
        chosen = {g: space.candidates[g][c] for g, c in solution.choice.items()}
        assessment = assess(problem, solution.choice)
        reserve = float(solution.reserve or 0.0)
        name = spec.name or f"{base.name}-optimised"
        design = design_scenario(base, chosen, settings, reserve, name, _describe(chosen))
        if spec.validation_replications > 0:
            promised = promised_outcomes(spec, sim, solution.choice, settings, reserve)
            validation = validate_design(
                spec,
                design,
                promised,
                settings,
                reserve,
                fresh_seed(seed, VALIDATION_STREAM),
                executor=executor,
                workers=workers,
                progress=progress,
            )
    result = OptimizationResult(
        spec, base, settings, space, sim, problem, solution, chosen, assessment, design,
        validation, {},
    )  # fmt: skip
    if out_dir is not None:
        from incentsim.optimizer.report import write_outputs

        result.files = write_outputs(result, Path(out_dir))
    return result


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
        spec = load_spec(spec, overrides)
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


def _open_cache(folder: Path) -> None:
    """Create the cache folder, or say why it cannot be one (a file of that name, no right)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise IncentsimError(f"cache {folder}: a file of that name exists; give a folder") from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise IncentsimError(f"cache {folder}: cannot create the folder: {reason}") from None


def _describe(chosen: dict[str, Candidate]) -> str:
    parts = [f"{g}: {c.id} ({c.label()})" for g, c in chosen.items()]
    return "Design chosen by incentsim optimize. " + "; ".join(parts)
