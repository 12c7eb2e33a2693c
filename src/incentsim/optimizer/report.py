"""What an optimisation writes: the chosen design and its report.

``out_dir`` receives

- ``design.yaml``: the chosen program as a self-contained scenario (``incentsim run`` runs it);
- ``report.txt``: the text report (:func:`text_report`);
- ``optimization.json``: settings, solver status and gap, the choice, the candidates' expected
  outcomes and the validation (:func:`result_dict`);
- ``candidates.csv``: one row per segment and candidate with its expected outcomes;
- ``validation.csv``: promised against realised, with intervals;
- ``stability.csv``: per segment, each candidate the bootstrap resamples picked and how often;
- ``program_wide.csv``: each option of the program-wide levers, simulated jointly;
- ``frontier.csv``: the design re-chosen at each budget or floor of the ``frontier`` sweep;
- ``refinement.csv``: the refinement rounds (objective, solver status and gap per round);
- ``coupling.csv``: the coupling loop's joint runs, promised against joint;
- ``robust.csv``: per assumption draw, the drawn values and the nominal and robust designs'
  objectives.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from incentsim._output import write_text
from incentsim.optimizer.milp import assess
from incentsim.scenario.loader import load_scenario

if TYPE_CHECKING:
    from incentsim.optimizer.api import OptimizationResult

from incentsim.optimizer.frontier import MEASURE_LABELS

__all__ = ["base_assessment", "candidate_rows", "result_dict", "text_report", "write_outputs"]


def base_assessment(result: OptimizationResult) -> dict[str, Any] | None:
    """The base design (every segment's ``base`` candidate) on the optimiser's scenarios, as
    :func:`~incentsim.optimizer.milp.assess` gives it (``None`` without the base candidate)."""
    segments = result.problem.segments
    if not all("base" in coef.candidates for coef in segments.values()):
        return None
    return assess(result.problem, {g: c.candidates.index("base") for g, c in segments.items()})


def candidate_rows(result: OptimizationResult) -> list[dict[str, Any]]:
    """Per segment and candidate: the design and its expected outcomes over the scenarios."""
    rows = []
    coefficients = result.problem.segments
    for g, candidates in result.space.candidates.items():
        coef = coefficients[g]
        for i, candidate in enumerate(candidates):
            rows.append(
                {
                    "segment": g,
                    "candidate": candidate.id,
                    "design": candidate.label(),
                    "chosen": result.solution.choice.get(g) == i,
                    "value": float(coef.value[i].mean()),
                    "incentive_cost": float(coef.cost[i].mean()),
                    "retention": float(coef.retention[i]),
                    "loyalty": float(coef.loyalty[i]),
                    "small_partner_paid": float(coef.small_paid[i]),
                    "paid": float(coef.paid[i]),
                }
            )
    return rows


def result_dict(result: OptimizationResult) -> dict[str, Any]:
    """The result as JSON-able data."""
    solution = result.solution
    sim = result.simulations
    return _clean(
        {
            "scenario": result.base.name,
            "optimisation_file": None if result.spec.file is None else str(result.spec.file),
            "settings": {
                "budget": result.settings.budget,
                "alpha": result.settings.alpha,
                "risk": result.settings.risk,
                "reserve_max": result.settings.reserve_max,
                "carrying_cost": result.spec.reserve.carrying_cost,
                "objective": result.spec.objective,
                "loyalty_value": result.spec.loyalty_value,
            },
            "simulation": {
                "replications": sim.replications,
                "seed": sim.seed,
                "tasks_simulated": sim.simulated,
                "tasks_cached": sim.cached,
                "seconds": sim.seconds,
                "candidates": {g: len(c) for g, c in sim.candidates.items()},
            },
            "solver": {
                "name": solution.solver,
                "status": solution.status,
                "raw_status": solution.raw_status,
                "gap": solution.gap,
                "bound": solution.bound,
                "build_seconds": solution.build_seconds,
                "solve_seconds": solution.solve_seconds,
                "detail": solution.detail,
            },
            "design_space": {
                "skipped": result.space.n_dropped,
                "skipped_reasons": result.space.skipped_reasons(),
                "repaired": result.space.repaired,
                "duplicates": dict(result.space.duplicates),
            },
            "diagnosis": None
            if solution.diagnosis is None
            else {
                "culprits": solution.diagnosis.culprits,
                "minimum_budget": solution.diagnosis.minimum_budget,
                "message": solution.diagnosis.message,
            },
            "choice": {
                g: {"candidate": c.id, "settings": c.settings} for g, c in result.chosen.items()
            },
            "reserve": solution.reserve,
            "promised": result.assessment,
            "validation": None if result.validation is None else result.validation.to_dict(),
            "stability": None if result.stability is None else result.stability.to_dict(),
            "program_wide": None if result.program_wide is None else result.program_wide.to_dict(),
            "frontier": None if result.frontier is None else result.frontier.to_dict(),
            "refinement": None if result.refinement is None else result.refinement.to_dict(),
            "coupling": None if result.coupling is None else result.coupling.to_dict(),
            "robustness": None if result.robustness is None else result.robustness.to_dict(),
            "tail_check": None if result.tail_check is None else result.tail_check.to_dict(),
            "base_design": base_assessment(result),
            "candidates": candidate_rows(result),
        }
    )


def text_report(result: OptimizationResult) -> str:
    """A designer's summary: settings, solver, the design per segment, promised vs realised."""
    s, solution, sim = result.settings, result.solution, result.simulations
    lines = [
        f"Optimisation of '{result.base.name}'",
        f"  budget {s.budget:,.0f} over the horizon; tail risk {s.risk} at alpha={s.alpha:g}; "
        f"reserve up to {s.reserve_max:,.0f}",
        f"  {sum(len(c) for c in sim.candidates.values())} candidates over "
        f"{len(sim.segments)} segments x {sim.replications} scenarios "
        f"({sim.simulated} tasks simulated, {sim.cached} from cache, {sim.seconds:.1f} s)",
        f"  solver {solution.describe()}; build {solution.build_seconds:.2f} s, "
        f"solve {solution.solve_seconds:.2f} s",
    ]
    space = result.space
    if space.repaired:
        lines.append(
            f"  {space.repaired} sampled design{'' if space.repaired == 1 else 's'} put in tier "
            "order (values of a field rising with the tiers)"
        )
    if space.n_dropped or any(space.duplicates.values()):
        plural = "" if space.n_dropped == 1 else "s"
        lines.append(
            f"  {space.n_dropped} candidate design{plural} skipped before simulation as invalid "
            "programs in some segment" + (", because:" if space.n_dropped else "")
        )
        reasons = space.skipped_reasons()
        lines += [f"    {reason} ({n})" for reason, n in list(reasons.items())[:5]]
        if len(reasons) > 5:
            lines.append(f"    ... and {len(reasons) - 5} more reasons (optimization.json)")
        lines.append("  per segment:")
        lines += [f"    {line}" for line in space.summary().splitlines()]
    if solution.status == "time_limit" and result.chosen:
        lines.append("  NOT PROVEN OPTIMAL: the solver stopped at its time limit with this design")
    if not result.chosen:
        lines.append(f"  no design: {solution.status}")
        if solution.diagnosis is not None:
            lines.append(f"  diagnosis: {solution.diagnosis.message}")
        return "\n".join(lines + _frontier_lines(result))
    assessment = result.assessment or {}
    lines += ["", "Chosen design"]
    for g, candidate in result.chosen.items():
        lines.append(f"  {g}: {candidate.id}: {candidate.label()}")
    lines.append(f"  reserve: {solution.reserve:,.0f}")
    if result.program_wide is not None:
        for path, value in result.program_wide.chosen.items():
            lines.append(f"  whole program: {path.removeprefix('program.')}={value}")
    lines.append(
        f"  promised on the optimiser's {sim.replications} scenarios: objective "
        f"{assessment.get('objective', math.nan):,.0f}, expected cost "
        f"{assessment.get('expected_cost', math.nan):,.0f}, P(cost > budget + reserve) "
        f"{assessment.get('overrun_probability', math.nan):.3f}"
    )
    lines += _base_lines(result)
    lines += _refinement_lines(result)
    lines += _coupling_lines(result)
    lines += _tail_check_lines(result)
    lines += _robust_lines(result)
    lines += _program_wide_lines(result)
    lines += _frontier_lines(result)
    lines += _stability_lines(result)
    validation = result.validation
    if validation is not None:
        lines += [
            "",
            f"Validation: {validation.replications} fresh replications of the whole program "
            f"(seed {validation.seed['label']})",
            f"  {'figure':<22}{'promised (95% interval)':>40}{'realised (95% interval)':>40}",
        ]
        for c in validation.comparisons:
            mark = "" if c.agree else "   <- differs beyond noise"
            lines.append(
                f"  {c.name:<22}{_shown(c.promised, c.promised_low, c.promised_high):>40}"
                f"{_shown(c.realised, c.realised_low, c.realised_high):>40}{mark}"
            )
        lines += [f"  WARNING: {w}" for w in validation.warnings]
        if not validation.warnings:
            lines.append("  promised and realised agree within sampling noise")
    return "\n".join(lines)


def _base_lines(result: OptimizationResult) -> list[str]:
    """The base design on the optimiser's scenarios, when it breaks a constraint (why the
    chosen design may give up objective against it)."""
    base = base_assessment(result)
    if base is None or base["feasible"]:
        return []
    needs = ""
    if base["reserve"] > 0:
        needs = (
            f"; it needs a reserve of {base['reserve']:,.0f} against "
            f"{result.settings.reserve_max:,.0f} allowed"
        )
    return [
        f"  the base design breaks {', '.join(base['violations'])} on these scenarios "
        f"(objective {base['objective']:,.0f}, expected cost {base['expected_cost']:,.0f}"
        f"{needs}): what the chosen design gives up against it is the price of the constraints"
    ]


def _refinement_lines(result: OptimizationResult) -> list[str]:
    """The refinement rounds (none without ``refine``)."""
    if result.refinement is None:
        return []
    lines = [
        "",
        "Refinement: new candidates around the chosen design, on the same scenarios",
        f"  {'round':>5}{'new':>6}{'candidates':>12}{'simulations':>13}{'objective':>14}"
        f"{'gain':>9}{'status':>12}{'gap':>10}  design",
    ]
    for r in result.refinement.rounds:
        gain = "" if r["improvement"] is None else f"{r['improvement']:+.3%}"
        gap = "" if r["gap"] is None else f"{r['gap']:.2e}"
        lines.append(
            f"  {r['round']:>5}{r['new_candidates']:>6}{r['candidates']:>12}"
            f"{r['simulations']:>13,}{r['objective']:>14,.0f}{gain:>9}{r['status']:>12}"
            f"{gap:>10}  {', '.join(r['design'].values())}"
        )
    lines.append(f"  stopped {result.refinement.stopped}")
    return lines


def _tail_check_lines(result: OptimizationResult) -> list[str]:
    """The fresh tail checks of the designs tried (none without ``tail_check``)."""
    check = result.tail_check
    if check is None:
        return []
    lines = ["", f"Tail check: {check.message}"]
    for t in check.tries:
        verdict = "kept" if t["kept"] else "excluded"
        lines.append(
            f"  {', '.join(t['choice'].values())}: MILP reserve {t['milp_reserve']:,.0f}, "
            f"fresh run needs {t['fresh_reserve']:,.0f} ({verdict})"
        )
    return lines


def _coupling_lines(result: OptimizationResult) -> list[str]:
    """The coupling loop's joint runs (none without ``coupling``)."""
    coupling = result.coupling
    if coupling is None:
        return []
    lines = [
        "",
        f"Coupling: the choice simulated as one program (budget and reserve on) over "
        f"{coupling.replications} replications, the coefficients corrected by what it shows",
        f"  {'run':>4}{'promised objective':>20}{'joint objective':>17}{'promised cost':>15}"
        f"{'joint cost':>12}{'a':>9}{'b':>9}{'status (gap)':>22}  design",
    ]
    for i in coupling.iterations:
        mark = "" if i["objective_agrees"] and i["cost_agrees"] else " (differs)"
        lines.append(
            f"  {i['iteration']:>4}{i['promised_objective']:>20,.0f}{i['joint_objective']:>17,.0f}"
            f"{i['promised_cost']:>15,.0f}{i['joint_cost']:>12,.0f}{i['a']:>+9.3f}{i['b']:>+9.3f}"
            f"{_status(i['status'], i['gap']):>22}  {', '.join(i['design'].values())}{mark}"
        )
    noise = max(i["noise"] for i in coupling.iterations)
    lines.append(
        f"  the joint and the segments' runs share no random numbers: differences in objective "
        f"below about {noise:,.0f} (95%) cannot be told from noise"
    )
    for i in coupling.iterations:
        if "budget_noise" in i:
            verdict = "within noise, not corrected" if i["budget_agrees"] else "corrected"
            lines.append(
                f"  run {i['iteration']}: the budget's own effect (the same program with the "
                f"budget lifted, same seed, paired): {i['budget_objective_effect']:+,.0f} "
                f"± {i['budget_noise']:,.0f} in objective, "
                f"{i['budget_incentive_cost_effect']:+,.0f} ± {i['budget_cost_noise']:,.0f} "
                f"in cost ({verdict})"
            )
    state = "consistent" if coupling.consistent else "NOT consistent"
    lines.append(f"  {state}: stopped as {coupling.stopped}")
    return lines


def _status(status: str, gap: float | None) -> str:
    """A solver status with its gap, as the solver reported them."""
    return status if gap is None else f"{status} ({gap:.1e})"


def _robust_lines(result: OptimizationResult) -> list[str]:
    """The nominal against the robust design under the draws (none without ``robust``)."""
    robust = result.robustness
    if robust is None:
        return []
    draws = len(robust.nominal["per_draw"])
    measure = {
        "cvar": f"cvar (worst {robust.alpha:.0%} of draws)",
        "worst_case": "worst case",
        "regret": "minimax regret (largest shortfall against each draw's best design, negated)",
    }
    lines = [
        "",
        f"Robust design: {draws} draws of {', '.join(robust.assumptions)} over their documented "
        f"ranges; the choice maximises the {measure.get(robust.measure, robust.measure)} of the "
        "per-draw expected objective",
        f"  {'design':<10}{'expected':>14}{'cvar':>14}{'worst case':>14}  candidates",
    ]
    for label, shown in (("nominal", robust.nominal), ("robust", robust.robust)):
        lines.append(
            f"  {label:<10}{shown['expected']:>14,.0f}{shown['cvar']:>14,.0f}"
            f"{shown['worst_case']:>14,.0f}  {', '.join(shown['design'].values())}"
        )
    if "max_regret" in robust.robust:
        lines.append(
            f"  largest regret over the draws: nominal {robust.nominal['max_regret']:,.0f}, "
            f"robust {robust.robust['max_regret']:,.0f}"
        )
    if robust.nominal["design"] == robust.robust["design"]:
        lines.append("  the nominal design is already the robust one")
    else:
        top = ", ".join(f"{n} {rho:+.2f}" for n, rho in list(robust.sensitivity.items())[:3])
        lines.append(f"  the robust design's gain over the nominal follows: {top} (rank corr.)")
    return lines


def _frontier_lines(result: OptimizationResult) -> list[str]:
    """The frontier as a table (none without ``frontier``); dominated points starred."""
    frontier = result.frontier
    if frontier is None:
        return []
    swept = "budget" if frontier.measure == "objective" else "floor"
    share = frontier.measure in ("retention", "fairness")
    label = MEASURE_LABELS[frontier.measure]
    at = "budget" if frontier.measure == "objective" else f"floor on {label}"
    lines = [
        "",
        f"Trade-off frontier: expected cost against {label}, the design re-chosen at each "
        f"{at}, on the same simulations (* dominated: another point costs no more and does "
        "no worse)",
        f"  {swept:>12}{'status':>12}{'expected cost':>15}{'objective':>14}{'reserve':>11}"
        f"{'P(overrun)':>12}{'retention':>11}{'small share':>13}{'revenue':>14}  design",
    ]
    for p in frontier.points:
        value = p[frontier.swept]
        value_text = f"{value:>12.3f}" if share else f"{value:>12,.0f}"
        if p["design"]:
            lines.append(
                f"  {value_text}{p['status']:>12}{p['expected_cost']:>15,.0f}"
                f"{p['objective']:>14,.0f}{p['reserve']:>11,.0f}"
                f"{p['overrun_probability']:>12.3f}{p['retention']:>11.3f}"
                f"{p['small_partner_share']:>13.3f}{p['revenue']:>14,.0f}  "
                + ("* " if p["dominated"] else "")
                + p["design"]
            )
        else:
            lines.append(f"  {value_text}{p['status']:>12}  no design")
    for name, figures in (("base design", frontier.base), ("chosen design", frontier.chosen)):
        if figures is None:
            lines.append(
                f"  {name}: not among the candidates of every segment (include_base: false)"
                if name == "base design"
                else f"  {name}: none"
            )
        else:
            lines.append(
                f"  {name}: expected cost {figures['expected_cost']:,.0f}, "
                f"{label} " + _frontier_value(figures[frontier.figure], frontier.measure)
            )
    return lines


def _frontier_value(value: float, measure: str) -> str:
    """A frontier measure's value in its unit (a share or an amount)."""
    return f"{value:.3f}" if measure in ("retention", "fairness") else f"{value:,.0f}"


def _program_wide_lines(result: OptimizationResult) -> list[str]:
    """The program-wide options tried (none without program-wide levers)."""
    choice = result.program_wide
    if choice is None:
        return []
    lines = [
        "",
        f"Program-wide levers: each option simulated with the chosen design as one program "
        f"(budget and reserve on) over the optimiser's {choice.replications} replications",
    ]
    labels = [
        ", ".join(f"{p.removeprefix('program.')}={v}" for p, v in o["settings"].items())
        for o in choice.options
    ]
    width = max(len(label) for label in labels) + 2
    lines.append(
        f"  {'option':<{width}}{'objective':>14}{'cost':>12}{'P(overrun)':>12}{'retention':>11}"
    )
    for label, o in zip(labels, choice.options, strict=True):
        lines.append(
            f"  {label:<{width}}{o['objective']:>14,.0f}{o['incentive_cost']:>12,.0f}"
            f"{o['overrun_probability']:>12.3f}{o['retention']:>11.3f}"
            + ("   <- chosen" if o["chosen"] else "")
        )
    return lines


def _stability_lines(result: OptimizationResult) -> list[str]:
    """The stability bootstrap in a few lines (none when it did not run)."""
    stability = result.stability
    if stability is None:
        return []
    lines = [
        "",
        f"Stability: the MILP re-solved on {stability.resamples} bootstrap resamples of the "
        f"{result.simulations.replications} scenarios",
    ]
    for g, chosen in stability.chosen.items():
        others = ", ".join(f"{c} {n}" for c, n in stability.picks[g].items() if c != chosen)
        lines.append(
            f"  {g}: {chosen} kept in {stability.share(g):.0%}"
            + (f" (also picked: {others})" if others else "")
        )
    lines.append(f"  the whole design kept in {stability.same_design_share:.0%}")
    if stability.losses:
        loss = stability.loss_summary()
        lines.append(
            f"  the designs picked on resamples, assessed on all {result.simulations.replications} "
            f"scenarios, give up a median {loss['median']:,.0f} ({loss['median_share']:.2%}) "
            f"of the objective, 90th percentile {loss['p90']:,.0f} ({loss['p90_share']:.2%}); "
            f"{stability.feasible_on_all} of {len(stability.losses)} meet every constraint there"
        )
    if stability.no_design:
        lines.append(f"  {stability.no_design} resamples found no design")
    return lines


def write_outputs(result: OptimizationResult, out_dir: Path) -> dict[str, Path]:
    """Write the design and the report files into ``out_dir``; the design is checked to load
    as a scenario. Each file is written atomically; :func:`~incentsim.optimizer.optimize`
    writes them into a staging folder that replaces the output folder whole."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    if result.design is not None:
        path = out_dir / "design.yaml"
        header = "\n".join(
            [
                f"# Chosen by incentsim optimize from '{result.base.name}'.",
                *(f"#   {g}: {c.label()}" for g, c in result.chosen.items()),
                f"#   reserve: {result.solution.reserve:,.0f}; solver: "
                f"{result.solution.describe()}",
                "",
            ]
        )
        body = yaml.safe_dump(
            result.design.model_dump(mode="json"), sort_keys=False, allow_unicode=True
        )
        write_text(path, header + body)
        load_scenario(path)  # what incentsim run will read must load
        files["design"] = path
    files["report"] = out_dir / "report.txt"
    write_text(files["report"], result.report() + "\n")
    files["json"] = out_dir / "optimization.json"
    write_text(files["json"], json.dumps(result.to_dict(), indent=2) + "\n")
    files["candidates"] = out_dir / "candidates.csv"
    _write_csv(files["candidates"], candidate_rows(result))
    if result.validation is not None:
        files["validation"] = out_dir / "validation.csv"
        _write_csv(files["validation"], result.validation.to_dict()["comparisons"])
    if result.frontier is not None:
        files["frontier"] = out_dir / "frontier.csv"
        _write_csv(files["frontier"], result.frontier.points)
    if result.program_wide is not None:
        files["program_wide"] = out_dir / "program_wide.csv"
        _write_csv(files["program_wide"], result.program_wide.rows())
    if result.stability is not None:
        files["stability"] = out_dir / "stability.csv"
        _write_csv(files["stability"], result.stability.rows())
    if result.refinement is not None:
        files["refinement"] = out_dir / "refinement.csv"
        _write_csv(files["refinement"], _flat(result.refinement.rounds))
    if result.coupling is not None:
        files["coupling"] = out_dir / "coupling.csv"
        _write_csv(files["coupling"], _flat(result.coupling.iterations))
    if result.robustness is not None:
        files["robust"] = out_dir / "robust.csv"
        _write_csv(files["robust"], result.robustness.rows())
    return files


def _flat(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with their ``design`` mapping as one ``segment=candidate`` text column."""
    return [
        {
            **row,
            "design": "; ".join(f"{g}={c}" for g, c in row["design"].items()),
        }
        for row in rows
    ]


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    text = io.StringIO()
    if rows:
        writer = csv.DictWriter(text, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    write_text(path, text.getvalue())


def _shown(mean: float, low: float, high: float) -> str:
    if abs(mean) < 10:
        return f"{mean:.3f} ({low:.3f}-{high:.3f})"
    return f"{mean:,.0f} ({low:,.0f}-{high:,.0f})"


def _clean(value: Any) -> Any:
    """NaN/inf as None and numpy scalars as Python numbers, recursively."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
