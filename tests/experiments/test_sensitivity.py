"""Sensitivity analysis: factors, sampling, replications under common random numbers, ranking."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from incentsim.errors import ScenarioError
from incentsim.experiments.sensitivity import (
    Factor,
    SensitivityError,
    SensitivityResult,
    apply_factors,
    check_factors,
    parse_factors,
    sensitivity,
)
from incentsim.montecarlo import OutDirError
from incentsim.report import sensitivity_report
from incentsim.scenario.loader import load_scenario
from incentsim.scenario.model import Scenario

SMALL = Path(__file__).parents[2] / "scenarios" / "small.yaml"
TINY = ["population.partners=40", "calendar.horizon_periods=2"]

#: A factor that truly drives cost (every tier's rebate rate, x0.5 to x2), one that barely can
#: over two quarters, and a dummy.
FACTORS = "program.tiers.*.rebate_rate=x0.5:2,behaviour.churn_slope=2:8,dummy"
REBATES = "program.tiers.*.rebate_rate"


@pytest.fixture(scope="module")
def tiny() -> Scenario:
    return load_scenario(SMALL, TINY)


def test_inline_factors() -> None:
    rebates, churn, dummy = parse_factors(FACTORS)
    assert (rebates.path, rebates.low, rebates.high, rebates.scale) == (REBATES, 0.5, 2.0, True)
    assert (churn.name, churn.scale, churn.range_text) == ("behaviour.churn_slope", False, "2 to 8")
    assert dummy.is_dummy
    with pytest.raises(SensitivityError, match="expected PATH=LOW:HIGH"):
        parse_factors("behaviour.churn_slope=2")
    with pytest.raises(SensitivityError, match="low < high"):
        parse_factors("behaviour.churn_slope=8:2")


def test_factor_file_and_its_errors(tmp_path: Path) -> None:
    good = tmp_path / "factors.yaml"
    good.write_text(
        "factors:\n"
        "  churn: {path: behaviour.churn_slope, low: 2, high: 8, description: steepness}\n"
        "  level: {path: population.segments.*.capacity.median, low: 0.8, high: 1.2, "
        "scale: true}\n"
        "  noise: {dummy: true}\n"
    )
    churn, level, noise = parse_factors(str(good))
    assert (churn.name, churn.description, level.scale, noise.is_dummy) == (
        "churn",
        "steepness",
        True,
        True,
    )
    experiment = Path(__file__).parents[2] / "experiments" / "rebate_variants.yaml"
    assert "churn_slope" in [f.name for f in parse_factors(str(experiment))]
    bad = tmp_path / "bad.yaml"
    bad.write_text("factors:\n  churn: {path: behaviour.churn_slope, low: 2}\n")
    with pytest.raises(ScenarioError, match=r"bad.yaml: factors.churn.high: missing required key"):
        parse_factors(str(bad))
    bad.write_text("factors:\n  churn: {path: behaviour.churn_slope, low: 2, high: x}\n")
    with pytest.raises(ScenarioError, match=r"bad.yaml: factors.churn: low and high must be"):
        parse_factors(str(bad))


def test_apply_factors_sets_scales_and_rounds(tiny: Scenario) -> None:
    factors = [
        Factor("rates", REBATES, 0.5, 2.0, scale=True),
        Factor("trend", "market.trend_per_year", -0.1, 0.2),
        Factor("timing", "behaviour.timing_weeks", 0, 4),
        Factor("dummy", None, 0, 1),
    ]
    out = apply_factors(tiny, factors, [2.0, 0.1, 2.6, 0.3])
    for tier, spec in tiny.program.tiers.items():
        assert out.program.tiers[tier].rebate_rate == pytest.approx(2 * spec.rebate_rate)
    assert out.market.trend_per_year == 0.1
    assert out.behaviour.timing_weeks == 3  # an integer field stays an integer
    assert tiny.market.trend_per_year != 0.1  # not modified
    with pytest.raises(SensitivityError, match=r"factor 'x': 'behaviour.churn' is not in the"):
        apply_factors(tiny, [Factor("x", "behaviour.churn", 0, 1)], [0.5])
    with pytest.raises(SensitivityError, match="holds 'small', not a number"):
        apply_factors(tiny, [Factor("x", "name", 0, 1)], [0.5])


def test_a_range_the_scenario_rejects_is_named(tiny: Scenario) -> None:
    with pytest.raises(SensitivityError, match=r"'behaviour.churn_slope' at 30 makes an invalid"):
        check_factors(tiny, parse_factors("behaviour.churn_slope=2:30"))


MORRIS = dict(method="morris", size=3, reps=2, outcomes=["incentive_cost", "loyalty_mean"])


@pytest.fixture(scope="module")
def morris_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("morris")


@pytest.fixture(scope="module")
def morris(tiny: Scenario, morris_folder: Path) -> SensitivityResult:
    return sensitivity(tiny, FACTORS, out_dir=morris_folder, **MORRIS)


def test_morris_ranks_the_rebate_rate_above_irrelevant_factors(morris: SensitivityResult) -> None:
    assert morris.ranking("incentive_cost")[0] == REBATES
    table = morris.to_frame().query("outcome == 'incentive_cost'").set_index("factor")
    rebates, churn, dummy = (table.loc[n] for n in (REBATES, "behaviour.churn_slope", "dummy"))
    # Doubling every rate from half moves a quarter's cost by hundreds of thousands.
    assert rebates["mu_star"] > 1e5
    assert rebates["mu_star"] > 20 * churn["mu_star"]
    # Under common random numbers a dummy changes nothing at all.
    assert dummy["mu_star"] == 0.0
    # The rebate effect is not replication noise: its whole replication interval is positive.
    assert rebates["mu_star_rep_low"] > 0.5 * rebates["mu_star"]
    noise = morris.noise_frame().set_index("outcome").loc["incentive_cost"]
    assert noise["replication_sd"] > 0
    assert noise["reps"] == 2
    assert "Morris sensitivity of 'small'" in str(morris)
    assert morris.values.shape == (3 * 4, 2, 2)  # trajectories x (factors + 1), reps, outcomes


def test_sobol_gives_the_rebate_rate_most_of_the_variance(tiny: Scenario) -> None:
    result = sensitivity(tiny, FACTORS, method="sobol", size=4, reps=2, outcomes=["incentive_cost"])
    table = result.to_frame().set_index("factor")
    assert result.ranking("incentive_cost")[0] == REBATES
    assert table.loc[REBATES, "ST"] > 0.5
    assert table.loc["dummy", "ST"] == 0.0
    assert table.loc["dummy", "S1"] == 0.0
    assert len(result.sample) == 4 * (3 + 2)


def test_bad_requests(tiny: Scenario) -> None:
    with pytest.raises(SensitivityError, match="power of two"):
        sensitivity(tiny, FACTORS, method="sobol", size=10, reps=2)
    with pytest.raises(SensitivityError, match="at least 2 replications"):
        sensitivity(tiny, FACTORS, reps=1)
    with pytest.raises(SensitivityError, match="unknown outcome 'cost'"):
        sensitivity(tiny, FACTORS, size=2, reps=2, outcomes=["cost"])
    with pytest.raises(SensitivityError, match="unknown method"):
        sensitivity(tiny, FACTORS, method="fast", reps=2)


def test_an_interrupted_analysis_continues_from_its_folder(
    tiny: Scenario, morris: SensitivityResult, morris_folder: Path
) -> None:
    out = morris_folder
    for name in (
        "indices.csv",
        "indices.parquet",
        "noise.csv",
        "points.csv",
        "result.json",
        "morris_incentive_cost.png",
        "morris_loyalty_mean.png",
    ):
        assert (out / name).is_file(), name
    first, second = sorted((out / "points").glob("block-*.parquet"))  # 12 points, 8 a chunk
    kept = first.stat().st_mtime_ns
    # Pretend the machine stopped while the second chunk was being written.
    second.unlink()
    again = sensitivity(tiny, FACTORS, out_dir=out, resume=True, **MORRIS)
    assert first.stat().st_mtime_ns == kept  # read back, not simulated again
    assert second.is_file()
    np.testing.assert_array_equal(morris.values, again.values)
    assert morris.to_frame().equals(again.to_frame())
    # A different analysis must not mix its points with these.
    with pytest.raises(OutDirError, match="holds a different sensitivity analysis"):
        sensitivity(tiny, FACTORS, out_dir=out, **{**MORRIS, "reps": 3})


@pytest.mark.slow
def test_results_do_not_depend_on_the_workers(tiny: Scenario) -> None:
    args = dict(method="morris", size=3, reps=2, outcomes=["incentive_cost", "retention"])
    serial = sensitivity(tiny, FACTORS, **args)
    parallel = sensitivity(tiny, FACTORS, executor="processes", workers=2, **args)
    np.testing.assert_array_equal(serial.values, parallel.values)
    assert serial.to_frame().equals(parallel.to_frame())


def test_sensitivity_shows_a_progress_bar_over_points(
    tiny: Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    sensitivity(
        tiny,
        FACTORS,
        method="sobol",
        size=2,
        reps=2,
        outcomes=["incentive_cost"],
        progress="always",
    )
    err = capsys.readouterr().err
    assert "small sensitivity" in err
    assert "point" in err
    sensitivity(tiny, FACTORS, method="sobol", size=2, reps=2, outcomes=["incentive_cost"])
    assert "sensitivity" not in capsys.readouterr().err  # not a terminal: no bar


def test_the_report_shows_each_outcome_its_plot_and_the_noise(
    morris: SensitivityResult, tmp_path: Path
) -> None:
    page = sensitivity_report(morris, tmp_path / "sensitivity.html").read_text()
    assert page.count("<img") == len(morris.outcomes)
    assert "Replication noise" in page
    assert "Morris sensitivity of" in page


def test_a_salib_problem_is_a_factor_file(tmp_path: Path) -> None:
    problem = {
        "num_vars": 3,
        "names": ["program.tiers.*.rebate_rate", "behaviour.churn_slope", "dummy"],
        "bounds": [[0.01, 0.05], [2, 8], [0, 1]],
        "dists": ["unif", "unif", "unif"],
    }
    file = tmp_path / "problem.json"
    file.write_text(json.dumps(problem))
    inline = "program.tiers.*.rebate_rate=0.01:0.05,behaviour.churn_slope=2:8,dummy"
    assert parse_factors(file) == parse_factors(inline)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"groups": ["a", "b"]}, "groups: factor groups are not supported"),
        ({"dists": ["norm", "unif"]}, "dists: only uniform ranges"),
        ({"num_vars": 3}, "num_vars: is 3 but 2 names are given"),
        ({"bounds": [[0.01, 0.05]]}, "bounds: must be a list of 2"),
        ({"outputs": ["cost"]}, "outputs: give the outcomes with --outcomes"),
        ({"bounds": [[0.01, 0.05], [8, 2]]}, "low must be below high"),
    ],
)
def test_a_salib_problem_is_refused_with_the_key_at_fault(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    problem = {"names": ["program.tiers.*.rebate_rate", "behaviour.churn_slope"]}
    problem |= {"bounds": [[0.01, 0.05], [2, 8]]} | change
    file = tmp_path / "problem.yaml"
    file.write_text(json.dumps(problem))
    with pytest.raises(ScenarioError, match=re.escape(message)):
        parse_factors(file)
