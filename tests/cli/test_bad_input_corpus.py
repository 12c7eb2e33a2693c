"""Hostile and extreme input over every verb: exit 2, a message naming the field or file, no
traceback, and nothing written (not the --out folder, nothing in the working directory).

The files are in ``bad_inputs/`` (scenario files are in ``tests/scenario/malformed/``); cases
that need no file (command-line values, names too long, folders given as files) are built here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from incentsim.cli import main
from incentsim.montecarlo import resources

ROOT = Path(__file__).resolve().parents[2]
BAD = Path(__file__).resolve().parent / "bad_inputs"
SMALL = str(ROOT / "scenarios" / "small.yaml")
PAYOUT = str(ROOT / "scenarios" / "payout_demo.yaml")
AWARDS = str(ROOT / "scenarios" / "awards.yaml")
TRANSACTIONS = str(ROOT / "scenarios" / "sample_transactions.csv")


def _bomb_value(levels: int = 8) -> str:
    """A one-line YAML alias bomb: ``10 ** levels`` values once expanded."""
    parts = ["&a0 [x, x, x, x, x, x, x, x, x, x]"]
    parts += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels + 1)]
    return "[" + ", ".join(parts) + "]"


def bad(name: str) -> str:
    return str(BAD / name)


#: (case id, arguments with OUT for the output folder, expected part of the message).
CASES: list[tuple[str, list[str], str]] = [
    # --set values: the same rules as the files.
    ("set-yes-as-rate", ["run", SMALL, "--set", "program.tiers.platinum.rebate_rate=yes"],
     "program.tiers.platinum.rebate_rate: a number is expected, not the yes/no value true"),
    ("set-infinite-budget", ["run", SMALL, "--set", "program.budget.per_period=.inf"],
     "program.budget.per_period: Input should be a finite number"),
    ("set-nan-prior", ["run", SMALL, "--set",
                       "population.segments.reseller.csat={dist: normal, mean: 4, low: .nan}"],
     "population.segments.reseller.csat.low: Input should be a finite number"),
    ("set-reserve-1e40", ["run", SMALL, "--set", "program.budget.reserve.max=1e40"],
     "program.budget.reserve.max: Input should be less than or equal to 1000000000000"),
    ("set-impossible-date", ["run", SMALL, "--set", "calendar.start_date=2027-02-30"],
     "'2027-02-30' is not a valid timestamp"),
    ("set-alias-bomb", ["run", SMALL, "--set", f"sources={_bomb_value()}"],
     "values once its aliases are expanded"),
    ("set-bad-tag", ["run", SMALL, "--set", "seed=!!int abc"], "'abc' is not a valid int"),
    ("set-award-winners-and-share",
     ["run", AWARDS, "--set", "program.awards.rising_partner.winners=3"],
     "program.awards.rising_partner: give exactly one of 'winners' or 'share'"),
    ("set-award-band-reversed",
     ["run", AWARDS, "--set", "program.awards.top_revenue.size_band=[0.6, 0.2]"],
     "program.awards.top_revenue: size_band [0.6, 0.2]: the low quantile must be below"),
    ("set-award-rule-per-segment",
     ["compare", AWARDS, AWARDS, "--set",
      "program.segment_overrides.reseller.awards.top_revenue.metric=growth"],
     "segment_overrides.reseller.awards.top_revenue: metric cannot differ by segment or region"),
    # Program versions and contingent rules.
    ("set-version-changes-guardrails",
     ["run", SMALL, "--set", "program.versions.v2={effective_period: 2, changes: {guardrails: "
      "{audit: {rate: 0.2}}}}"],
     "program.versions.v2.changes.guardrails: a version or contingent rule cannot change this"),
    ("set-version-past-horizon",
     ["run", SMALL, "--set", "program.versions.v2={effective_period: 9}"],
     "program.versions.v2.effective_period 9 is at or after the end of the horizon"),
    ("set-version-announced-late",
     ["compare", SMALL, SMALL, "--set",
      "program.versions.v2={effective_period: 2, announced_period: 3}"],
     "announced_period 3 is after effective_period 2"),
    ("set-version-override-unknown-segment",
     ["run", SMALL, "--set", "program.versions.v2={effective_period: 2, changes: "
      "{segment_overrides: {distributor: {partner_cap: 5000}}}}"],
     "program.versions.v2.changes.segment_overrides: 'distributor' is not a population segment"),
    ("set-rule-two-levels",
     ["stress", SMALL, "--set", "program.contingent.r={below: 0.9, above: 1.1}"],
     "program.contingent.r: give exactly one of 'below' or 'above'"),
    ("set-rule-budget-without-budget",
     ["run", SMALL, "--set", "program.budget.per_period=null", "--set",
      "program.contingent.r={below: 0.9, budget_scale: 1.2}"],
     "program.contingent.r.budget_scale: the program has no budget per period to scale"),
    ("set-rule-budget-scale-zero",
     ["stress", SMALL, "--set", "program.contingent.r={below: 0.9, budget_scale: 0}"],
     "program.contingent.r.budget_scale: Input should be greater than 0"),
    ("payout-contingent-without-indicators",
     ["payout", PAYOUT, TRANSACTIONS, "--set", "program.contingent.r={below: 0.9}"],
     "program.contingent.r reads the market's demand indicator, which a transactions file"),
    ("payout-indicators-short",
     ["payout", PAYOUT, TRANSACTIONS, "--set", "program.contingent.r={below: 0.9}",
      "--indicators", bad("indicators_short.csv")],
     "indicators_short.csv: demand: no value for period(s) [3]"),
    ("payout-indicators-not-a-number",
     ["payout", PAYOUT, TRANSACTIONS, "--set", "program.contingent.r={below: 0.9}",
      "--indicators", bad("indicators_not_a_number.csv")],
     "indicators_not_a_number.csv:3: demand 'low' must be a number from 0 to 10"),
    ("partner-csv-refused-before-the-run",
     ["run", SMALL, "--set", f"population.source={bad('partners_revenue_beyond_bound.csv')}"],
     "partners_revenue_beyond_bound.csv:2: revenue_p1 1e13 must be at most 1e+12"),
    ("validate-reads-the-partner-csv",
     ["validate", SMALL, "--set", f"population.source={bad('partners_revenue_beyond_bound.csv')}"],
     "revenue_p1 1e13 must be at most 1e+12"),
    # Resource limits.
    ("reps-too-many", ["run", SMALL, "--reps", "100000000"], "at most 1,000,000 replications"),
    ("workers-absurd", ["run", SMALL, "--workers", "100000"], "workers"),
    ("seed-beyond-int64", ["run", SMALL, "--seed", str(2**70)], "at most"),
    # 1,000,000 partners run in smaller blocks (resources.block_size_for); with panel rows over
    # 40 periods even a block of 2 replications needs ~36 GB.
    ("partners-beyond-memory",
     ["run", SMALL, "--set", "population.partners=1000000", "--set",
      "calendar.horizon_periods=40", "--panel"],
     "GB of memory"),
    ("exp-partners-beyond-memory", ["experiment", bad("exp_memory_partners.yaml")],
     "GB of memory"),
    ("sensitivity-partners-beyond-memory",
     ["sensitivity", SMALL, "--set", "population.partners=1000000", "--set",
      "population.recruitment.per_period=1000000", "--set", "calendar.horizon_periods=40",
      "--trajectories", "2", "--reps", "25"], "GB of memory"),
    ("sensitivity-trajectories", ["sensitivity", SMALL, "--trajectories", "100000"],
     "Morris needs 2 to 1,000 trajectories"),
    ("sensitivity-reps", ["sensitivity", SMALL, "--reps", "100000", "--trajectories", "2"],
     "at most 10,000"),
    ("stress-steps", ["stress", SMALL, "--steps", "1000", "--limit", "retention<0.9"],
     "at most 30 steps"),
    ("stress-nan-shock", ["stress", SMALL, "--shocks", "recession:nan"], "finite"),
    # Files that are not files.
    ("folder-as-scenario", ["run", str(BAD)], "cannot read the file: Is a directory"),
    ("name-too-long", ["run", "s" * 300 + ".yaml"], "File name too long"),
    ("validate-folder", ["validate", str(BAD)], "Is a directory"),
    # Optimisation files: validate refuses what optimize refuses.
    ("opt-lever-lots", ["optimize", bad("opt_lever_lots.yaml")],
     "levers.0.values.1: program.tiers.silver.rebate_rate: Input should be a valid number"),
    ("opt-lever-nan", ["optimize", bad("opt_lever_nan.yaml")],
     "levers.0.values.0: program.tiers.silver.rebate_rate: Input should be a finite number"),
    ("opt-candidate-rate-5", ["optimize", bad("opt_candidate_rate_5.yaml")],
     "candidates.0: program.tiers.gold.rebate_rate: Input should be less than or equal to 1"),
    ("opt-floor-unknown-segment", ["optimize", bad("opt_floor_unknown_segment.yaml")],
     "floors.retention.distributors: 'distributors' is not a segment"),
    ("opt-robust-unknown-assumption", ["optimize", bad("opt_robust_unknown_assumption.yaml")],
     "robust.assumptions: 'churn_slop' is not an uncertain assumption (did you mean 'churn_slope"),
    ("opt-refine-no-numeric-lever", ["optimize", bad("opt_refine_no_numeric_lever.yaml")],
     "refine: refinement samples new values of the numeric levers"),
    ("opt-duplicate-key", ["optimize", bad("opt_duplicate_key.yaml")], "found key 'budget' twice"),
    ("opt-budget-infinite", ["optimize", bad("opt_budget_infinite.yaml")],
     "budget: Input should be a finite number"),
    ("opt-alias-bomb", ["optimize", bad("opt_alias_bomb.yaml")],
     "values once its aliases are expanded"),
    ("opt-too-many-simulations", ["optimize", bad("opt_too_many_simulations.yaml")],
     "simulations, more than 10,000,000"),
    # Experiment and factor files.
    ("exp-alias-bomb", ["experiment", bad("exp_alias_bomb_set.yaml")],
     "values once its aliases are expanded"),
    ("exp-duplicate-key", ["experiment", bad("exp_duplicate_key.yaml")],
     "found key 'richer' twice"),
    ("exp-yes-as-rate", ["experiment", bad("exp_yes_as_rate.yaml")],
     "program.tiers.gold.rebate_rate: a number is expected"),
    ("exp-impossible-date", ["experiment", bad("exp_impossible_date.yaml")],
     "'2027-02-30' is not a valid timestamp"),
    ("factors-duplicate-key",
     ["sensitivity", SMALL, "--factors", bad("factors_duplicate_key.yaml")],
     "found key 'high' twice"),
    ("factors-infinite", ["sensitivity", SMALL, "--factors", bad("factors_infinite.yaml")],
     "factors.churn: low and high must be finite numbers"),
    ("factors-inline-too-long", ["sensitivity", SMALL, "--factors", "x" * 300], "bad factor"),
    # Payout rows.
    ("payout-time-25-99", ["payout", PAYOUT, bad("payout_time_25_99.csv")],
     "payout_time_25_99.csv:2: date '2027-01-15T25:99' is not a date"),
    ("payout-nul-partner", ["payout", PAYOUT, bad("payout_nul_partner.csv")],
     "payout_nul_partner.csv:2: partner_id 'P\\x0001' holds a control character"),
    ("payout-amount-beyond-bound", ["payout", PAYOUT, bad("payout_amount_beyond_bound.csv")],
     "payout_amount_beyond_bound.csv:2: amount 9.99e+12 is beyond the largest amount"),
    ("payout-period-sum-beyond-bound",
     ["payout", PAYOUT, bad("payout_period_sum_beyond_bound.csv")],
     "payout_period_sum_beyond_bound.csv:3: partner 'P01' total amount in period 1 passes 1e+12"),
    ("payout-periods-option", ["payout", PAYOUT, TRANSACTIONS, "--periods", "100000"],
     "--periods: Input should be less than or equal to 80"),
]  # fmt: skip

#: Verbs that take --out (and so could leave a folder behind).
WRITES = {"run", "optimize", "experiment", "sensitivity", "stress", "payout"}


def _run(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> tuple[int, str, Path]:
    """Run ``argv`` in an empty working directory; the exit code, all output and ``--out``."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    # The memory a run may use, fixed so the memory case does not depend on this machine.
    monkeypatch.setattr(resources, "available_memory", lambda: 16 * 10**9)
    out = tmp_path / "out"
    if argv[0] in WRITES:
        argv = [*argv, "--out", str(out)]
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err, out


@pytest.mark.parametrize(("argv", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_cleanly(
    argv: list[str],
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, output, out = _run(argv, tmp_path, monkeypatch, capsys)
    assert code == 2, output
    assert expected in output
    assert "Traceback" not in output
    assert not out.exists()
    assert not any((tmp_path / "work").iterdir())


@pytest.mark.parametrize(
    "name",
    # Memory depends on the machine and the workers: the verb checks it, validate does not.
    sorted(
        p.name
        for p in BAD.glob("*.yaml")
        if not p.name.startswith("factors_") and "memory" not in p.name
    ),
)
def test_validate_refuses_what_the_verb_refuses(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    verb = "optimize" if name.startswith("opt_") else "experiment"
    expected = next(c[2] for c in CASES if c[1][:2] == [verb, bad(name)])
    code, output, _ = _run(["validate", bad(name)], tmp_path, monkeypatch, capsys)
    assert code == 2
    assert f"FAIL  {bad(name)}" in output
    assert expected in output
    assert "Traceback" not in output


def test_optimize_cache_that_is_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    cache.write_text("not a folder")
    demo = str(ROOT / "scenarios" / "optimize_demo.yaml")
    code, output, out = _run(
        ["optimize", demo, "--cache", str(cache)], tmp_path, monkeypatch, capsys
    )
    assert code == 2
    assert f"the candidate cache {cache} exists and is not a folder" in output
    assert "Traceback" not in output
    assert not out.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = tmp_path / "locked.yaml"
    locked.write_text(Path(SMALL).read_text())
    locked.chmod(0)
    code, output, _ = _run(["validate", str(locked)], tmp_path, monkeypatch, capsys)
    assert code == 2
    assert "cannot read the file: Permission denied" in output
