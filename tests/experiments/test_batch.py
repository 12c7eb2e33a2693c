"""Batch experiment files: planning, the files a run writes, resuming, clear errors."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from incentsim.errors import ScenarioError
from incentsim.experiments.batch import plan_experiment, run_experiment
from incentsim.montecarlo import OutDirError
from incentsim.report import experiment_report

SCENARIOS = Path(__file__).parents[2] / "scenarios"

#: Two variants, the baseline and one shock, two seeds, three replications: 8 short runs.
EXPERIMENT = f"""\
name: tiny
base: {SCENARIOS / "small.yaml"}
set: [population.partners=40, calendar.horizon_periods=2]
variants:
  current: {{}}
  richer:
    set: {{program.tiers.gold.rebate_rate: 0.05, program.tiers.platinum.rebate_rate: 0.07}}
shocks: [recession:severe]
seeds: [11, 12]
replications: 3
analyses: [simulate, compare, stress]
"""


def write(tmp_path: Path, text: str, name: str = "experiment.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    folder = tmp_path_factory.mktemp("batch")
    out = folder / "out"
    return out, run_experiment(write(folder, EXPERIMENT), out, log=False)


def test_plan_lays_out_variants_x_cases_x_seeds(tmp_path: Path) -> None:
    plan = plan_experiment(write(tmp_path, EXPERIMENT), tmp_path / "out")
    keys = [(r.variant, r.case, r.seed) for r in plan.runs]
    assert keys == [
        (v, c, s)
        for v in ("current", "richer")
        for c in ("baseline", "recession:severe")
        for s in (11, 12)
    ]
    shocked = next(r for r in plan.runs if r.case == "recession:severe")
    assert [s.kind for s in shocked.scenario.market.shocks] == ["recession"]
    richer = next(r for r in plan.runs if r.variant == "richer")
    assert richer.scenario.program.tiers["gold"].rebate_rate == 0.05
    assert richer.folder == tmp_path / "out" / "runs" / "richer" / "baseline" / "seed-11"
    # The content hash follows the scenarios: a changed variant changes it.
    other = write(tmp_path, EXPERIMENT.replace("0.05", "0.06"), "other.yaml")
    assert plan_experiment(other, tmp_path / "out").content_hash != plan.content_hash


def test_a_run_writes_the_runs_tables_and_report(finished: tuple[Path, object]) -> None:
    out, result = finished
    manifest = json.loads((out / "experiment.json").read_text())
    assert manifest["status"] == "complete"
    assert len(manifest["runs"]) == 8
    for run in manifest["runs"]:
        run_manifest = json.loads((out / run[4] / "manifest.json").read_text())
        assert run_manifest["status"] == "complete"
        assert run_manifest["replications"] == 3
    outcomes = pd.read_parquet(out / "results" / "outcomes.parquet")
    assert len(outcomes) == 8 * 3
    assert list(outcomes.columns[:4]) == ["variant", "case", "seed", "replication"]
    # Paired comparison: richer rebates cost more, under the baseline and in a recession.
    differences = pd.read_csv(out / "results" / "differences.csv")
    cost = differences[differences["outcome"] == "incentive_cost"]
    assert len(cost) == 2 * 2  # per case and seed
    assert (cost["mean"] > 0).all()
    assert set(cost["variant"]) == {"richer"}
    # Stress: a severe recession lowers revenue for both variants (paired, same seeds).
    resilience = pd.read_csv(out / "results" / "resilience.csv")
    assert set(resilience["variant"]) == {"current", "richer"}
    risks = pd.read_csv(out / "results" / "risks.csv")
    assert set(risks["case"]) == {"baseline", "recession:severe"}
    means = outcomes.groupby(["variant", "case"])["revenue_net"].mean().unstack()
    assert list(means.index) == ["current", "richer"]
    assert (means["recession:severe"] < 0.95 * means["baseline"]).all()
    page = experiment_report(result, out / "report.html")
    assert page.read_text().count("<img") >= 4
    assert "Experiment 'tiny': 2 variants x 2 shock cases x 2 seeds = 8 runs" in str(result)


def test_resume_keeps_finished_runs_and_redoes_broken_ones(
    finished: tuple[Path, object], tmp_path: Path
) -> None:
    import shutil

    source, _ = finished
    out = tmp_path / "copy"
    shutil.copytree(source, out)
    experiment = Path(json.loads((out / "experiment.json").read_text())["file"])
    runs = sorted((out / "runs").glob("*/*/seed-*"))
    # One run lost its manifest mid-write, another a block file; the rest are untouched.
    (runs[0] / "manifest.json").unlink()
    (runs[1] / "replications" / "block-00000.parquet").unlink()
    untouched = runs[2] / "replications" / "block-00000.parquet"
    stamp = untouched.stat().st_mtime_ns
    for table in (out / "results").iterdir():
        table.unlink()
    run_experiment(experiment, out, resume=True, log=False)
    assert untouched.stat().st_mtime_ns == stamp
    for name in ("outcomes.parquet", "differences.csv", "resilience.parquet", "summary.csv"):
        assert (out / "results" / name).read_bytes() == (source / "results" / name).read_bytes()


def test_a_folder_holding_another_experiment_is_refused(
    finished: tuple[Path, object], tmp_path: Path
) -> None:
    out, _ = finished
    changed = write(tmp_path, EXPERIMENT.replace("replications: 3", "replications: 4"), "b.yaml")
    with pytest.raises(OutDirError, match=r"holds a different experiment \(experiment 'tiny', set"):
        run_experiment(changed, out, log=False)
    with pytest.raises(OutDirError, match=r"holds an experiment that cannot be resumed here"):
        run_experiment(changed, out, resume=True, log=False)
    other = write(tmp_path, EXPERIMENT.replace("0.05", "0.06"), "c.yaml")
    with pytest.raises(OutDirError, match=r"scenarios '\w+', not '\w+'\); choose another"):
        run_experiment(other, out, resume=True, log=False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("replications: 3", "replication: 3"), "replication: unknown key"),
        (("recession:severe", "recesion:severe"), "shocks.0: unknown shock 'recesion'"),
        (("recession:severe", "recession:awful"), "shocks.0: unknown severity 'awful'"),
        (("seeds: [11, 12]", "seeds: [11, 11]"), "seeds: give one or more distinct seeds"),
        (("analyses: [simulate, compare, stress]", "analyses: [simulate, plot]"), "analyses.1"),
        (("base: ", "base: missing-"), "base: cannot find"),
        (("rebate_rate: 0.05", "rebate_rate: 2"), "variants.richer:"),
        (("  current: {}\n", ""), "analyses: compare needs at least two variants"),
        (("shocks: [recession:severe]", "shocks: []"), "stress needs at least one entry"),
        (
            (
                "analyses: [simulate, compare, stress]",
                "analyses: [sensitivity]\nsensitivity:\n"
                "  factors: {c: {path: behaviour.churn_slope, low: 1, high: 50}}",
            ),
            "sensitivity.factors: factor 'c' at 50 makes an invalid scenario",
        ),
        (
            ("analyses: [simulate, compare, stress]", "analyses: [simulate]\nsensitivity: {}"),
            "sensitivity: given, but 'sensitivity' is not in analyses",
        ),
    ],
)
def test_bad_experiment_files_name_the_file_and_field(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = write(tmp_path, EXPERIMENT.replace(*change), "bad.yaml")
    with pytest.raises(ScenarioError) as caught:
        plan_experiment(path, tmp_path / "out")
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


@pytest.mark.slow
def test_results_do_not_depend_on_the_workers(
    finished: tuple[Path, object], tmp_path: Path
) -> None:
    source, _ = finished
    experiment = Path(json.loads((source / "experiment.json").read_text())["file"])
    out = tmp_path / "parallel"
    run_experiment(experiment, out, executor="processes", workers=2, log=False)
    for name in ("outcomes.parquet", "differences.parquet", "resilience.parquet"):
        assert (out / "results" / name).read_bytes() == (source / "results" / name).read_bytes()


@pytest.mark.parametrize(("name", "runs"), [("rebate_variants", 12), ("shock_library", 7)])
def test_the_shipped_experiment_files_plan(tmp_path: Path, name: str, runs: int) -> None:
    path = SCENARIOS.parent / "experiments" / f"{name}.yaml"
    plan = plan_experiment(path, tmp_path / "out")
    assert plan.experiment.name == name
    assert len(plan.runs) == runs
