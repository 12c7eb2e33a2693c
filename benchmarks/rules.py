"""Rules engine throughput: partner-periods assessed and paid per second.

Candidate: the vectorised rules engine on the baseline program, one period close
(:func:`~incentsim.program.rules.assess_period`, every payout component) followed by a payout
run (:func:`~incentsim.program.ledger.run_payout`) over random metrics shaped
``(replications, partners)``: ``(100, P/100)`` and ``(1000, P/1000)`` for ``P`` partner-periods.

Baseline, timed side by side: a straightforward per-partner pure-Python loop implementing the
part of the rules that sets the rebate (multi-metric tier qualification, retroactive tier rebate
in cents, the per-partner cap) over a subsample of the same partners. The baseline does strictly
less work than the candidate (no accelerators, MDF, true-up, clawbacks or ledger), so the ratio
understates the engine's advantage. Before timing, the engine's rebate for the subsampled
partners is checked to equal the loop's to the cent, so both sides compute the same thing.

Run::

    .venv/bin/python benchmarks/rules.py                      # 10^6 partner-periods, 5 reps
    .venv/bin/python benchmarks/rules.py --quick              # 10^5 partner-periods, 2 reps
    .venv/bin/python benchmarks/rules.py --partner-periods 200000 --repeat 3
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import numpy as np
from _common import SCENARIOS, header, interleaved, print_table

from incentsim.program.compiled import CompiledProgram, compile_program
from incentsim.program.ledger import Ledger, open_ledger, run_payout
from incentsim.program.rules import (
    PeriodMetrics,
    ProgramState,
    assess_period,
    initial_state,
    qualified_tier,
    rebate_on,
)
from incentsim.quantities import to_cents
from incentsim.scenario.loader import load_scenario
from incentsim.scenario.model import Scenario


@dataclass
class Case:
    """One batch of random partner-periods and what the engine needs to close it."""

    shape: tuple[int, int]
    group: np.ndarray
    metrics: PeriodMetrics
    state: ProgramState | None = None
    ledger: Ledger | None = None


def make_case(cp: CompiledProgram, shape: tuple[int, int], rng: np.random.Generator) -> Case:
    """Random metrics around the baseline program's thresholds (typical quarter ~47,000)."""
    group = rng.integers(0, cp.n_groups, size=shape)
    metrics = PeriodMetrics.of(
        rng.lognormal(np.log(47_000.0), 1.4, size=shape),
        new_logos=rng.poisson(1.5, size=shape).astype(np.float64),
        certified_staff=rng.integers(0, 8, size=shape).astype(np.float64),
        csat=rng.uniform(3.0, 5.0, size=shape),
        mdf_claims=rng.uniform(0.0, 500.0, size=shape),
    )
    return Case(shape, group, metrics)


def engine_close(scenario: Scenario, cp: CompiledProgram, case: Case, cold: bool) -> np.ndarray:
    """One period close and payout run with the vectorised engine; returns the rebate (cents).

    ``cold``: the program's terms are gathered per partner again (a fresh ``group`` array) and
    the state and ledger are opened inside the timing, as for the first period of a new block.
    Otherwise ``cp`` must be dedicated to this case, so its gather cache stays warm, as in the
    later periods of a simulation.
    """
    group = case.group.copy() if cold else case.group
    if cold or case.state is None:
        case.state = initial_state(cp, group)
        case.ledger = open_ledger(cp.budget, case.shape)
    _, assessment = assess_period(
        cp, case.state, group, case.metrics, scenario.calendar.periods_per_year
    )
    run_payout(cp.budget, case.ledger, assessment.accrued, assessment.front_end)
    return assessment.components["rebate"]


def engine_rebate_only(cp: CompiledProgram, case: Case) -> np.ndarray:
    """The baseline's rule with the engine's vectorised pieces: tier qualification
    (:func:`qualified_tier`), retroactive rebate (:func:`rebate_on`), cents, partner cap."""
    m, group = case.metrics, case.group
    tier = qualified_tier(cp, group, m.revenue, m.new_logos, m.certified_staff, m.csat)
    cap = to_cents(np.minimum(cp.at(group).partner_cap, 1e15))
    return np.minimum(to_cents(rebate_on(cp, group, tier, m.revenue)), cap)


# --- the baseline: a per-partner loop --------------------------------------------------------


def loop_terms(cp: CompiledProgram) -> tuple[list[list[tuple[float, ...]]], list[int]]:
    """Per group: each tier's (revenue, new logos, certified staff, csat, rate), lowest first;
    and the partner cap in cents."""
    tiers = [
        list(
            zip(
                cp.req_revenue[g].tolist(),
                cp.req_new_logos[g].tolist(),
                cp.req_certified_staff[g].tolist(),
                cp.req_csat[g].tolist(),
                cp.rebate_rate[g].tolist(),
                strict=True,
            )
        )
        for g in range(cp.n_groups)
    ]
    caps = [round(min(float(c), 1e15) * 100) for c in cp.partner_cap]
    return tiers, caps


def loop_partners(case: Case, n: int) -> list[tuple[int, float, float, float, float]]:
    """The first ``n`` partner-periods of a case as plain Python rows."""
    m = case.metrics
    cols = [a.reshape(-1)[:n].tolist() for a in (case.group, m.revenue, m.new_logos)]
    cols += [a.reshape(-1)[:n].tolist() for a in (m.certified_staff, m.csat)]
    return list(zip(*cols, strict=True))


def loop_rebates(
    tiers: list[list[tuple[float, ...]]],
    caps: list[int],
    partners: list[tuple[int, float, float, float, float]],
) -> list[int]:
    """Rebate in cents per partner: the highest tier whose every requirement is met (tiers are
    nested), its rate on all revenue (retroactive), rounded to the cent, capped per partner."""
    eps = 1e-9
    out = []
    for group, revenue, logos, staff, csat in partners:
        rebate_rate = 0.0
        for req_revenue, req_logos, req_staff, req_csat, tier_rate in tiers[group]:
            if (
                revenue >= req_revenue - eps
                and logos >= req_logos - eps
                and staff >= req_staff - eps
                and csat >= req_csat - eps
            ):
                rebate_rate = tier_rate
            else:
                break
        out.append(min(round(rebate_rate * revenue * 100.0), caps[group]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partner-periods", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="interleaved repetitions")
    parser.add_argument(
        "--loop-sample", type=int, default=20_000, help="partner-periods the loop baseline runs"
    )
    parser.add_argument("--scenario", default=str(SCENARIOS / "baseline.yaml"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run (~10 s): 10^5 partner-periods, 2 repetitions, 5,000 in the loop",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.partner_periods, args.repeat, args.loop_sample = 100_000, 2, 5_000

    header("Rules engine throughput (partner-periods per second), engine vs per-partner loop")
    scenario = load_scenario(args.scenario)
    segments, regions = list(scenario.population.segments), list(scenario.population.regions)
    cp_cold = compile_program(scenario.program, segments, regions)
    rng = np.random.default_rng(args.seed)
    pp = args.partner_periods
    shapes = [(100, max(pp // 100, 1)), (1000, max(pp // 1000, 1))]
    cases = [make_case(cp_cold, shape, rng) for shape in shapes]
    # One compiled program per case for the warm runs, so each keeps its own gather cache.
    cp_warm = [compile_program(scenario.program, segments, regions) for _ in cases]
    n_loop = min(args.loop_sample, cases[0].group.size)
    tiers, caps = loop_terms(cp_cold)
    rows = loop_partners(cases[0], n_loop)

    # Same computation: the engine's rebate for the subsample equals the loop's, to the cent.
    loop_rebate = np.asarray(loop_rebates(tiers, caps, rows), dtype=np.int64)
    checks = {
        "assess_period": engine_close(scenario, cp_cold, cases[0], cold=True),
        "qualified_tier+rebate_on": engine_rebate_only(cp_warm[0], cases[0]),
    }
    qualified = int((loop_rebate > 0).sum())
    capped = int(sum(r == caps[row[0]] for r, row in zip(loop_rebate.tolist(), rows, strict=True)))
    print(
        f"check on {n_loop:,} partner-periods: {qualified:,} earn a rebate, {capped} at the "
        f"partner cap, total rebate {loop_rebate.sum() / 100:,.2f}"
    )
    failed = False
    for name, rebate in checks.items():
        mismatches = int((rebate.reshape(-1)[:n_loop] != loop_rebate).sum())
        print(f"  engine {name} rebate == loop rebate: {mismatches} mismatches")
        failed |= mismatches > 0
    if failed:
        print("ERROR: the baseline does not compute what the engine computes", file=sys.stderr)
        return 1
    for case, cp in zip(cases, cp_warm, strict=True):  # warm-up (and fill the gather caches)
        engine_close(scenario, cp, case, cold=False)
    print()

    units: dict[str, int] = {}
    timed = []
    for case, cp in zip(cases, cp_warm, strict=True):
        shape = f"{case.shape[0]}x{case.shape[1]}"
        for name, fn in (
            (f"close+payout cold {shape}", lambda c=case: engine_close(scenario, cp_cold, c, True)),
            (
                f"close+payout warm {shape}",
                lambda c=case, p=cp: engine_close(scenario, p, c, False),
            ),
            (f"rebate rule vectorised {shape}", lambda c=case, p=cp: engine_rebate_only(p, c)),
        ):
            timed.append((name, fn))
            units[name] = case.group.size
    loop_name = f"loop {n_loop:,}"
    units[loop_name] = n_loop
    timed.append((loop_name, lambda: loop_rebates(tiers, caps, rows)))
    times = interleaved(timed, args.repeat)

    print_table(times, units, "p-periods", loop_name)
    print(
        "\nvs base: partner-periods per second relative to the per-partner loop (median over\n"
        "interleaved repetitions), by wall clock and by process CPU time.\n"
        "The loop and 'rebate rule vectorised' price only the tier rebate and the partner cap;\n"
        "'close+payout' is a full period close (every component, MDF, true-up, clawbacks,\n"
        "gates) and a payout run. 'cold' includes gathering the program's terms per partner\n"
        "and opening the state and ledger (first period of a block); 'warm' reuses them."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
