"""Batch experiment files: variants x shocks x seeds, streamed to disk, resumable.

An experiment file (YAML) declares what to run::

    name: rebate_variants
    base: ../scenarios/small.yaml          # relative to the experiment file
    set: [population.partners=100]         # overrides for the base and every variant
    variants:                              # the first is the reference of comparisons
      current: {}
      richer_gold: {set: {program.tiers.gold.rebate_rate: 0.04}}
      other_file: {file: ../scenarios/other.yaml}
    shocks:                                # library shocks; a list is a combination
      - recession:moderate
      - [recession:severe, competitor:severe]
    seeds: [20261123, 7]                   # default: the base scenario's seed
    replications: 50                       # per run; default: the base scenario's
    analyses: [simulate, compare, stress, sensitivity, optimize]
    optimize:                              # optimisation files (incentsim.optimizer.spec)
      tight:
        file: ../scenarios/optimize_demo.yaml   # relative to the experiment file
        set: {budget: 14000000, base.population.partners: 200}
    sensitivity:                           # see incentsim.experiments.sensitivity
      variant: current
      method: morris
      trajectories: 6
      reps: 4
      outcomes: [incentive_cost, loyalty_mean]
      factors:
        churn_slope: {path: behaviour.churn_slope, low: 2, high: 8}

A *run* is one variant under one shock case (the baseline, no shock, comes first) with one
seed: a Monte Carlo run (:func:`~incentsim.montecarlo.run_montecarlo`) streamed block by block
into ``OUT/runs/<variant>/<case>/seed-<seed>/``. Every variant and case with the same seed runs
over the same random numbers, so comparisons and stress changes are paired.

The output folder::

    OUT/experiment.json        the run store's manifest: the plan and its hashes (experiment
                               + every scenario), status running / complete
    OUT/runs/...               one run folder per variant x case x seed (incentsim.montecarlo.store)
    OUT/results/outcomes.*     every replication of every run (CSV, Parquet)
    OUT/results/summary.*      per run and outcome: mean, sd, percentiles, 95% CI
    OUT/results/differences.*  (compare) each variant against the reference, paired, per case
    OUT/results/risks.*, resilience.*   (stress) per variant and seed
    OUT/sensitivity/           (sensitivity) indices, noise, plots; its report (sensitivity.html)
    OUT/optimize/<name>/       (optimize) each optimisation's folder, as ``incentsim optimize``
                               writes it (design.yaml, report.txt, optimization.json, CSVs)
    OUT/results/optimizations.*  (optimize) per optimisation: solver status, gap, objective,
                               reserve, the design, and whether validation agreed
    OUT/report.html            a self-contained report of it all (written by ``incentsim
                               experiment``; from Python, ``incentsim.report.experiment_report``)

**Resuming.** The output folder is a run store (:mod:`incentsim.montecarlo.run_store`, the
rule every resumable result follows) whose key is the hash of the experiment's settings and
of its runs' scenarios, and whose blocks are the runs, each a Monte Carlo run store of its
own. A run counts as done only when its store is complete with the planned key (scenario
hash, seed, replications, block size, draws); every file is written to a temporary name and
renamed into place, so a killed process leaves either complete files or none. ``--resume``
refuses a folder holding another experiment (naming the field that differs), keeps the
finished runs, re-runs the others from the start of the run, and recomputes the tables from
the run files: the result is the same as an uninterrupted run's. The sensitivity analysis
resumes its store of sample points the same way; an optimisation whose folder is complete
(its folder is swapped into place whole) is kept, the others run again. Without
``--resume`` the same experiment is run afresh, and a folder holding another experiment is
refused unless ``overwrite`` (``--overwrite``), which removes what the experiment wrote
(files it did not write are left alone).

**Optimisations.** ``optimize`` names optimisation files, each with ``set`` overrides as
``incentsim optimize --set`` takes them (``base.`` changes the base scenario); each is checked
when the experiment is planned, exactly as ``incentsim validate`` checks it, so a bad lever or
budget is reported with the experiment file, the optimisation's name and the field, before
anything runs. The optimisations run after the runs, in the experiment's executor kind.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import pandas as pd
from pydantic import Field, ValidationError, field_validator

from incentsim._output import KINDS, folder_lock
from incentsim.engine.outcomes import describe
from incentsim.errors import IncentsimError, ScenarioError
from incentsim.experiments.compare import Comparison, format_value, text_columns, variant_folders
from incentsim.experiments.sensitivity import (
    DEFAULT_FACTORS,
    SensitivityError,
    check_factors,
    factors_from_mapping,
    sensitivity,
)
from incentsim.experiments.shocks import ShockError, parse_shock
from incentsim.experiments.stress import StressCase, StressTest
from incentsim.montecarlo import MonteCarloResult, run_montecarlo
from incentsim.montecarlo.evaluator import Evaluator, monte_carlo_store
from incentsim.montecarlo.options import RunOptions
from incentsim.montecarlo.plan import RunPlan
from incentsim.montecarlo.run_store import Layout, RunStore
from incentsim.montecarlo.store import write_table
from incentsim.montecarlo.summary import outcome_unit
from incentsim.scenario.loader import load_scenario, read_document, scenario_hash
from incentsim.strict import Strict

if TYPE_CHECKING:
    from incentsim.experiments.sensitivity import Factor, SensitivityResult
    from incentsim.montecarlo import Executor
    from incentsim.montecarlo.runner import BlockFn
    from incentsim.optimizer.spec import OptimizationSpec
    from incentsim.scenario.model import Scenario

__all__ = [
    "ANALYSES",
    "Experiment",
    "ExperimentResult",
    "ExperimentRun",
    "Plan",
    "load_experiment",
    "plan_experiment",
    "run_experiment",
]

ANALYSES = ("simulate", "compare", "stress", "sensitivity", "optimize")
MANIFEST = "experiment.json"
RUNS = "runs"
RESULTS = "results"
SENSITIVITY = "sensitivity"
OPTIMIZE = "optimize"
REPORT = "report.html"
#: An experiment's folder as a run store: its blocks are the runs, in folders of their own,
#: beside the tables, the analyses' folders and the report.
EXPERIMENT_STORE = Layout(
    kind=KINDS[MANIFEST],
    noun="experiment",
    files=(RUNS, RESULTS, SENSITIVITY, OPTIMIZE, REPORT, f"{Path(REPORT).stem}_tables"),
    name_field="experiment",
)

Overrides = list[str] | dict[str, Any]


# --- the file ----------------------------------------------------------------------------------


class VariantSpec(Strict):
    """A design variant: the base scenario, or another file, with overrides."""

    file: str | None = None
    set: Overrides = Field(default_factory=list)
    description: str = ""


class SensitivitySpec(Strict):
    """The sensitivity analysis of one variant (see :mod:`incentsim.experiments.sensitivity`)."""

    variant: str | None = None
    method: Literal["morris", "sobol"] = "morris"
    trajectories: Annotated[int, Field(ge=2, le=1_000)] | None = None
    samples: Annotated[int, Field(ge=2, le=2**16)] | None = None
    reps: Annotated[int, Field(ge=2, le=10_000)] = 8
    outcomes: list[str] = Field(
        default_factory=lambda: ["incentive_cost", "loyalty_mean", "retention", "revenue_net"]
    )
    factors: dict[str, Any] | None = None


class OptimizeSpec(Strict):
    """An optimisation of the experiment: an optimisation file and overrides to it."""

    file: str
    set: Overrides = Field(default_factory=list)
    description: str = ""


class Experiment(Strict):
    """An experiment file, validated (paths are still as written)."""

    name: str
    description: str = ""
    base: str
    set: Overrides = Field(default_factory=list)
    variants: dict[str, VariantSpec] = Field(default_factory=lambda: {"base": VariantSpec()})
    shocks: list[str | list[str]] = Field(default_factory=list, max_length=1_000)
    seeds: (
        Annotated[list[Annotated[int, Field(ge=0, le=2**63 - 1)]], Field(max_length=1_000)] | None
    ) = None
    replications: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    analyses: list[Literal["simulate", "compare", "stress", "sensitivity", "optimize"]] = Field(
        default=["simulate"]
    )
    sensitivity: SensitivitySpec | None = None
    optimize: dict[str, OptimizeSpec] | None = None

    @field_validator("variants")
    @classmethod
    def _some_variants(cls, value: dict[str, VariantSpec]) -> dict[str, VariantSpec]:
        if not value:
            raise ValueError("give at least one variant (for example 'base: {}')")
        return value

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (not value or len(set(value)) != len(value)):
            raise ValueError("give one or more distinct seeds")
        return value


@dataclass(frozen=True)
class ExperimentRun:
    """One planned run: a variant under a shock case with a seed (``scenario_hash`` is the
    scenario's :func:`~incentsim.scenario.loader.scenario_hash`, computed once)."""

    variant: str
    case: str
    seed: int
    folder: Path
    scenario: Scenario
    scenario_hash: str

    @property
    def key(self) -> str:
        return f"{self.variant} | {self.case} | seed {self.seed}"


@dataclass
class Plan:
    """An experiment file resolved: scenarios loaded, runs laid out, content hashed
    (``content_hash``: of ``key``)."""

    file: Path
    experiment: Experiment
    variants: dict[str, Scenario]
    cases: list[StressCase]
    seeds: list[int]
    replications: int
    runs: list[ExperimentRun]
    content_hash: str
    factors: list[Factor]
    #: The experiment store's key: the hash of the file's settings (with the optimisations'),
    #: and of the runs' scenarios (variants x cases x seeds and each one's content hash).
    key: dict[str, str]
    optimizations: dict[str, OptimizationSpec] = field(default_factory=dict)


def load_experiment(path: str | os.PathLike[str]) -> Experiment:
    """Read and validate an experiment file.

    Raises
    ------
    ScenarioError
        The file cannot be read, is not YAML, or a field is wrong (named by its dotted path).
    """

    file = Path(path)
    data = read_document(file)
    try:
        return Experiment.model_validate(data)
    except ValidationError as exc:
        problems = [
            (".".join(str(p) for p in error["loc"]), _message(error)) for error in exc.errors()
        ]
        raise ScenarioError(str(file), problems) from None


def _message(error: Mapping[str, Any]) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    return {"Extra inputs are not permitted": "unknown key", "Field required": "missing"}.get(
        message, message
    )


def _override_list(value: Overrides) -> list[str]:
    if isinstance(value, dict):
        return [f"{key}={json.dumps(item)}" for key, item in value.items()]
    return list(value)


def plan_experiment(path: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> Plan:
    """Validate the file, load every variant, lay out the runs and hash it all.

    Raises
    ------
    ScenarioError
        A problem in the experiment file or a scenario it names (file and field named).
    """

    file = Path(path)
    experiment = load_experiment(file)
    shown = str(file)
    folder = file.parent
    common = _override_list(experiment.set)
    variants: dict[str, Scenario] = {}
    for name, spec in experiment.variants.items():
        target = folder / (spec.file or experiment.base)
        where = f"variants.{name}" if spec.file else "base"
        if not target.is_file():
            raise ScenarioError(
                shown,
                [
                    (
                        f"{where}.file" if spec.file else where,
                        f"cannot find '{spec.file or experiment.base}' (looked for {target})",
                    )
                ],
            )
        try:
            variants[name] = load_scenario(target, [*common, *_override_list(spec.set)])
        except ScenarioError as exc:
            raise ScenarioError(shown, [(f"variants.{name}", str(exc))]) from None
    cases = [StressCase()]
    for i, entry in enumerate(experiment.shocks):
        items = [entry] if isinstance(entry, str) else entry
        try:
            case = StressCase(tuple(parse_shock(item) for item in items))
        except ShockError as exc:
            raise ScenarioError(shown, [(f"shocks.{i}", str(exc))]) from None
        if not case.shocks:
            raise ScenarioError(shown, [(f"shocks.{i}", "an empty combination")])
        if case.label in [c.label for c in cases]:
            raise ScenarioError(shown, [(f"shocks.{i}", f"'{case.label}' is listed twice")])
        cases.append(case)
    _check_analyses(experiment, shown, len(cases))
    factors = _sensitivity_factors(experiment, variants, shown)
    optimizations = _optimizations(experiment, folder, shown)
    reference = next(iter(variants.values()))
    seeds = experiment.seeds or [reference.seed]
    reps = experiment.replications or reference.replications
    variant_dirs = variant_folders(list(variants), Path(out_dir) / RUNS)
    runs = []
    for name, scenario in variants.items():
        case_dirs = variant_folders([c.label for c in cases], variant_dirs[name])
        for case in cases:
            try:
                shocked = case.scenario(scenario)
            except IncentsimError as exc:
                problem = f"'{case.label}' on '{name}': {exc}"
                raise ScenarioError(shown, [("shocks", problem)]) from None
            shocked_hash = scenario_hash(shocked)
            for seed in seeds:
                run_dir = case_dirs[case.label] / f"seed-{seed}"
                runs.append(ExperimentRun(name, case.label, seed, run_dir, shocked, shocked_hash))
    settings = {
        "experiment": experiment.model_dump(mode="json"),
        "replications": reps,
        **({"optimize": _optimization_identity(optimizations)} if optimizations else {}),
    }
    scenarios = [[r.variant, r.case, r.seed, r.scenario_hash] for r in runs]
    key = {"settings": _digest(settings), "scenarios": _digest(scenarios)}
    return Plan(
        file,
        experiment,
        variants,
        cases,
        seeds,
        reps,
        runs,
        _digest(key),
        factors,
        key,
        optimizations,
    )


def _digest(data: Any) -> str:
    """A short content hash of JSON-able ``data``."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _optimizations(experiment: Experiment, folder: Path, file: str) -> dict[str, OptimizationSpec]:
    """The optimisations, each checked as ``incentsim validate`` checks an optimisation file
    (none without the analysis)."""
    # The optimizer uses experiments.sensitivity (its robustness factors), so it is imported
    # when an optimisation runs, not when this package loads.
    from incentsim.optimizer.api import prepare
    from incentsim.optimizer.spec import load_spec

    if "optimize" not in experiment.analyses:
        return {}
    specs = {}
    for name, entry in (experiment.optimize or {}).items():
        target = folder / entry.file
        where = f"optimize.{name}"
        if not target.is_file():
            problem = f"cannot find '{entry.file}' (looked for {target})"
            raise ScenarioError(file, [(f"{where}.file", problem)])
        try:
            spec = load_spec(target, _override_list(entry.set))
            prepare(spec)
        except ScenarioError as exc:
            raise ScenarioError(file, [(where, str(exc))]) from None
        specs[name] = spec
    return specs


def _optimization_identity(specs: Mapping[str, OptimizationSpec]) -> dict[str, Any]:
    """What each optimisation is, for the experiment's content hash: the file's settings and
    its base scenario's content."""

    return {
        name: {
            "spec": spec.model_dump(mode="json", exclude={"file"}),
            "scenario_hash": scenario_hash(load_scenario(spec.scenario_path, spec.overrides)),
        }
        for name, spec in specs.items()
    }


def _sensitivity_factors(
    experiment: Experiment, variants: Mapping[str, Scenario], file: str
) -> list[Factor]:
    """The sensitivity factors, checked against the variant they apply to (none without the
    analysis)."""

    if "sensitivity" not in experiment.analyses:
        return []
    spec = experiment.sensitivity or SensitivitySpec()
    where = "sensitivity.factors"
    if spec.factors is None:
        factors = list(DEFAULT_FACTORS)
    else:
        factors = factors_from_mapping(spec.factors, file=file, where=where)
    samples = spec.samples
    if spec.method == "sobol" and samples is not None and samples & (samples - 1):
        raise ScenarioError(
            file, [("sensitivity.samples", f"must be a power of two, not {samples}")]
        )
    try:
        check_factors(variants[spec.variant or next(iter(variants))], factors)
    except SensitivityError as exc:
        raise ScenarioError(file, [(where, str(exc))]) from None
    return factors


def _check_analyses(experiment: Experiment, file: str, n_cases: int) -> None:
    analyses = experiment.analyses
    if "compare" in analyses and len(experiment.variants) < 2:
        raise ScenarioError(file, [("analyses", "compare needs at least two variants")])
    if "stress" in analyses and n_cases < 2:
        raise ScenarioError(file, [("analyses", "stress needs at least one entry in shocks")])
    if "sensitivity" in analyses:
        spec = experiment.sensitivity or SensitivitySpec()
        if spec.variant is not None and spec.variant not in experiment.variants:
            raise ScenarioError(
                file,
                [
                    (
                        "sensitivity.variant",
                        f"'{spec.variant}' is not one of the variants "
                        f"({', '.join(experiment.variants)})",
                    )
                ],
            )
        if spec.method == "morris" and spec.samples is not None:
            raise ScenarioError(
                file, [("sensitivity.samples", "is for sobol; Morris takes trajectories")]
            )
        if spec.method == "sobol" and spec.trajectories is not None:
            raise ScenarioError(
                file, [("sensitivity.trajectories", "is for morris; Sobol takes samples")]
            )
    elif experiment.sensitivity is not None:
        raise ScenarioError(file, [("sensitivity", "given, but 'sensitivity' is not in analyses")])
    if "optimize" in analyses and not experiment.optimize:
        raise ScenarioError(
            file, [("optimize", "give at least one optimisation file (name: {file: ...})")]
        )
    if "optimize" not in analyses and experiment.optimize is not None:
        raise ScenarioError(file, [("optimize", "given, but 'optimize' is not in analyses")])


# --- running -----------------------------------------------------------------------------------


def experiment_store(plan: Plan, out: Path) -> RunStore:
    """The run store of ``plan`` in ``out``: its key is :attr:`Plan.key`, its blocks are the
    runs (each a Monte Carlo run store of its own under ``runs/``)."""
    return RunStore(
        out,
        EXPERIMENT_STORE,
        plan.key,
        blocks=len(plan.runs),
        info={
            "experiment": plan.experiment.name,
            "file": str(plan.file),
            "content_hash": plan.content_hash,
            "replications": plan.replications,
            "seeds": plan.seeds,
            "analyses": plan.experiment.analyses,
            "runs": [
                [r.variant, r.case, r.seed, r.scenario_hash, str(r.folder.relative_to(out))]
                for r in plan.runs
            ],
        },
    )


def _run_store(run: ExperimentRun, reps: int, options: RunOptions) -> RunStore:
    """The run store of one run of ``reps`` replications, simulated with ``options``
    (:meth:`~incentsim.montecarlo.RunOptions.in_worker`)."""
    plan = RunPlan(reps, run.seed)
    return monte_carlo_store(run.scenario, plan, options.replace(out_dir=run.folder))


def _simulate_run(run: ExperimentRun, *, reps: int, options: RunOptions) -> str:
    """Simulate ``reps`` replications of one run into its folder from its start (runs in a
    worker, serially, with ``options``' block function and draws); returns its key."""

    run_montecarlo(
        run.scenario,
        reps,
        run.seed,
        options=options.replace(
            executor="serial", out_dir=run.folder, progress=False, overwrite=True
        ),
    )
    return run.key


def run_experiment(
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    overwrite: bool = False,
    executor: str | Executor = "serial",
    workers: int | None = None,
    block_fn: BlockFn | None = None,
    log: Any = None,
) -> ExperimentResult:
    """Run (or resume) an experiment file into ``out_dir``.

    Parameters
    ----------
    path
        The experiment file.
    out_dir
        The output folder (a run store: see the module notes).
    resume
        Keep the finished runs of an interrupted run of the same experiment.
    overwrite
        Use a folder holding another experiment (or another kind of result), removing what
        it wrote first; not with ``resume``.
    executor, workers
        Where runs (and sensitivity points) run; runs are the unit of work, each simulated
        serially in its worker, so the results do not depend on the executor.
    block_fn
        The block function (default the engine's).
    log
        A text stream for one line per finished run (default stderr; ``False`` for none).

    Raises
    ------
    ScenarioError
        A bad experiment file or scenario.
    OutDirError
        A folder holding another experiment (or another kind of result) without
        ``overwrite``; another process writing the folder.
    ValueError
        ``resume`` and ``overwrite`` together.
    """

    out = Path(out_dir)
    plan = plan_experiment(path, out)
    options = RunOptions(  # runs are logged a line each, not shown as a bar
        executor=executor,
        workers=workers,
        block_fn=block_fn,
        progress=False,
    )
    with Evaluator(options) as ev:
        for run in plan.runs:  # runs are simulated side by side, one block each at a time
            ev.check_memory(run.scenario, plan.replications, len(plan.runs))
        with folder_lock(out):
            return _run(plan, out, resume, ev, log, overwrite)


def _run(
    plan: Plan, out: Path, resume: bool, ev: Evaluator, log: Any, overwrite: bool = False
) -> ExperimentResult:
    """Run the plan into ``out`` (holding its lock): the manifest says ``complete`` last."""
    run_store = experiment_store(plan, out)
    run_store.open(resume=resume, overwrite=overwrite)
    stream = sys.stderr if log is None else log
    per_run = ev.options.in_worker()
    reps = plan.replications
    todo = [r for r in plan.runs if not (resume and _run_store(r, reps, per_run).complete())]
    done = len(plan.runs) - len(todo)
    if stream and done:
        print(f"resuming: {done} of {len(plan.runs)} runs already complete", file=stream)
    task = functools.partial(_simulate_run, reps=reps, options=per_run)
    began = time.perf_counter()
    for key in ev.map(task, todo, name=plan.experiment.name, total=len(todo), unit="run"):
        done += 1
        if stream:
            print(f"run {done}/{len(plan.runs)} complete: {key}", file=stream, flush=True)
    sensitivity = None
    if "sensitivity" in plan.experiment.analyses:
        sensitivity = _sensitivity(plan, out, ev, resume)
    executor = ev.options.executor
    kind = executor if isinstance(executor, str) else "serial"
    for name, spec in plan.optimizations.items():
        folder = out / OPTIMIZE / name
        if resume and (folder / "optimization.json").is_file():
            continue  # swapped into place whole, so complete
        if stream:
            print(f"optimisation '{name}' ...", file=stream, flush=True)
        _optimize(spec, folder, kind, ev.options.workers)
    result = ExperimentResult(plan, out, sensitivity)
    result.write()
    run_store.write_manifest(status="complete", seconds=round(time.perf_counter() - began, 3))
    return result


def _optimize(spec: OptimizationSpec, folder: Path, executor: str, workers: int | None) -> None:
    """Run one optimisation into its folder (its text report too; the HTML report is the
    presentation layer's, linked from the experiment's report)."""
    from incentsim.optimizer.api import optimize  # see _optimizations: breaks the cycle

    optimize(spec, out_dir=folder, overwrite=True, executor=executor, workers=workers,
             progress=False)  # fmt: skip


def _sensitivity(plan: Plan, out: Path, ev: Evaluator, resume: bool) -> SensitivityResult:

    spec = plan.experiment.sensitivity or SensitivitySpec()
    name = spec.variant or next(iter(plan.variants))
    return sensitivity(
        plan.variants[name],
        plan.factors,
        method=spec.method,
        size=spec.trajectories or spec.samples,
        reps=spec.reps,
        outcomes=spec.outcomes,
        seed=plan.seeds[0],
        options=ev.with_options(
            ev.options.replace(out_dir=out / SENSITIVITY, progress=True, resume=resume)
        ),
    )


#: Outcomes in the terminal overview.
_OVERVIEW = (
    "incentive_cost",
    "budget_exceeded",
    "reserve_depleted",
    "revenue_net",
    "retention",
    "loyalty_mean",
)

# --- results -----------------------------------------------------------------------------------


class ExperimentResult:
    """A finished experiment: its runs (read back from disk) and the analyses' tables.

    Attributes
    ----------
    plan
        The resolved experiment.
    out_dir
        Where it is stored.
    sensitivity
        The sensitivity analysis, when asked for.
    """

    def __init__(
        self, plan: Plan, out_dir: Path, sensitivity: SensitivityResult | None = None
    ) -> None:

        self.plan = plan
        self.out_dir = out_dir
        self.sensitivity = sensitivity
        self._comparisons: dict[tuple[str, int], Any] | None = None
        self._stress_tests: dict[tuple[str, int], Any] | None = None
        self.runs: dict[tuple[str, str, int], MonteCarloResult] = {
            (r.variant, r.case, r.seed): MonteCarloResult.open(r.folder) for r in plan.runs
        }

    @property
    def analyses(self) -> list[str]:
        return list(self.plan.experiment.analyses)

    def to_frame(self) -> pd.DataFrame:
        """Per run and outcome: mean, sd, percentiles and 95% interval (the ``summary``)."""
        return self.summary()

    def identity(self) -> dict[str, Any]:
        """What ran: the file, its content hash (experiment and every scenario), variants,
        shock cases, seeds and replications per run."""
        plan = self.plan
        return {
            "file": str(plan.file),
            "content_hash": plan.content_hash,
            "variants": list(plan.variants),
            "shock_cases": [c.label for c in plan.cases],
            "seeds": list(plan.seeds),
            "replications": plan.replications,
        }

    def __str__(self) -> str:

        plan = self.plan
        lines = [
            f"Experiment '{plan.experiment.name}': {len(plan.variants)} variants x "
            f"{len(plan.cases)} shock cases x {len(plan.seeds)} seeds = {len(plan.runs)} runs "
            f"of {plan.replications:,} replications (content hash {plan.content_hash[:12]})",
            "",
            "Means over every seed's replications (tables with intervals in results/):",
        ]
        outcomes = self.outcomes()
        shown = [n for n in _OVERVIEW if n in outcomes.columns]
        means = outcomes.groupby(["variant", "case"], sort=False)[shown].mean()
        rows = [["variant", "case", *shown]]
        for (variant, case), row in means.iterrows():
            cells = (format_value(row[n], outcome_unit(n)) for n in shown)
            rows.append([variant, case, *cells])
        lines += list(text_columns(rows))
        if "compare" in self.analyses:
            lines += ["", "Distinguishable differences against the reference (paired):"]
            found = [
                f"  {case}, seed {seed}: {d.variant} {d.outcome} {d.describe()}"
                for (case, seed), c in self.comparisons().items()
                for d in c.differences
                if d.outcome in _OVERVIEW and d.distinguishable
            ]
            lines += found or ["  none at this replication count"]
        if self.sensitivity is not None:
            lines += ["", str(self.sensitivity)]
        if self.plan.optimizations:
            lines += ["", "Optimisations (each folder under optimize/ holds its report):"]
            for row in self.optimizations().to_dict("records"):
                gap = "n/a" if pd.isna(row["gap"]) else f"{row['gap']:.2e}"
                objective = "no design" if pd.isna(row["objective"]) else f"{row['objective']:,.0f}"
                lines.append(
                    f"  {row['optimisation']}: {row['status']} (gap {gap}), objective "
                    f"{objective}; {row['design'] or '-'}"
                )
        return "\n".join(lines)

    def overview(self) -> pd.DataFrame:
        """Per variant and case, the mean of the overview outcomes over every seed's
        replications, as text in each outcome's unit, columns headed by their labels."""

        outcomes = self.outcomes()
        shown = [n for n in _OVERVIEW if n in outcomes.columns]
        means = outcomes.groupby(["variant", "case"], sort=False)[shown].mean()
        frame = pd.DataFrame(
            {
                describe(n).label: means[n].map(lambda v, n=n: format_value(v, outcome_unit(n)))
                for n in shown
            },
            index=means.index,
        )
        return frame

    def outcomes(self) -> pd.DataFrame:
        """Every replication of every run: variant, case, seed, replication, then outcomes."""
        frames = [
            result.outcomes.reset_index().assign(variant=v, case=c, seed=s)
            for (v, c, s), result in self.runs.items()
        ]
        frame = pd.concat(frames, ignore_index=True)
        front = ["variant", "case", "seed", "replication"]
        return frame[front + [c for c in frame.columns if c not in front]]

    def summary(self) -> pd.DataFrame:
        """Per run and outcome: n, mean, sd, percentiles and the 95% CI of the mean."""
        frames = [
            result.summary.to_frame().reset_index().assign(variant=v, case=c, seed=s)
            for (v, c, s), result in self.runs.items()
        ]
        frame = pd.concat(frames, ignore_index=True)
        front = ["variant", "case", "seed", "outcome"]
        return frame[front + [c for c in frame.columns if c not in front]]

    def comparisons(self) -> dict[tuple[str, int], Any]:
        """``(case, seed) -> Comparison`` of the variants (the first is the reference)."""

        if self._comparisons is None:
            self._comparisons = {
                (case.label, seed): Comparison(
                    {v: self.runs[v, case.label, seed] for v in self.plan.variants}
                )
                for case in self.plan.cases
                for seed in self.plan.seeds
            }
        return self._comparisons

    def stress_tests(self) -> dict[tuple[str, int], Any]:
        """``(variant, seed) -> StressTest`` over the shock cases."""

        if self._stress_tests is None:
            self._stress_tests = {
                (v, seed): StressTest(
                    self.plan.cases, {c.label: self.runs[v, c.label, seed] for c in self.plan.cases}
                )
                for v in self.plan.variants
                for seed in self.plan.seeds
            }
        return self._stress_tests

    def optimizations(self) -> pd.DataFrame:
        """Per optimisation (read from its folder's ``optimization.json``): its description,
        solver status and gap, objective, reserve, the design (candidate per segment) and
        whether the validation on fresh seeds agreed with the promise."""
        rows = []
        for name in self.plan.optimizations:
            folder = self.out_dir / OPTIMIZE / name
            found = json.loads((folder / "optimization.json").read_text(encoding="utf-8"))
            solver = found.get("solver", {})
            validation = found.get("validation")
            agrees = (
                None
                if not validation
                else all(c["agree"] for c in validation.get("comparisons", []))
            )
            entry = (self.plan.experiment.optimize or {})[name]
            rows.append(
                {
                    "optimisation": name,
                    "description": entry.description,
                    "status": solver.get("status"),
                    "gap": solver.get("gap"),
                    "objective": (found.get("promised") or {}).get("objective"),
                    "reserve": found.get("reserve"),
                    "design": " ".join(
                        f"{g}={c['candidate']}" for g, c in (found.get("choice") or {}).items()
                    ),
                    "validation_agrees": agrees,
                    "folder": str(folder),
                }
            )
        return pd.DataFrame(rows)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The experiment's tables: ``outcomes``, ``summary`` and, as the analyses ask,
        ``differences`` (compare), ``risks`` and ``resilience`` (stress), ``optimizations``
        (optimize)."""
        tables = {"outcomes": self.outcomes(), "summary": self.summary()}
        if self.plan.optimizations:
            tables["optimizations"] = self.optimizations()
        if "compare" in self.analyses:
            tables["differences"] = pd.concat(
                [
                    c.to_frame().assign(case=case, seed=seed)
                    for (case, seed), c in self.comparisons().items()
                ],
                ignore_index=True,
            )
        if "stress" in self.analyses:
            found = {key: test.tables() for key, test in self.stress_tests().items()}
            for name in ("risks", "resilience"):
                tables[name] = pd.concat(
                    [
                        frames[name].reset_index().assign(variant=v, seed=seed)
                        for (v, seed), frames in found.items()
                    ],
                    ignore_index=True,
                )
        return tables

    def write(self) -> list[Path]:
        """Write every table (CSV and Parquet) under ``results/``; the HTML report is
        :func:`incentsim.report.experiment_report`."""

        written = []
        for name, frame in self.tables().items():
            written += write_table(frame, self.out_dir / RESULTS / name)
        return written
