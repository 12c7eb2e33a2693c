"""Tests for the budget, reserve and payout ledger (incentsim.program.ledger), to the cent."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from incentsim.program.compiled import BudgetTerms, budget_terms
from incentsim.program.ledger import Ledger, PayoutRun, open_ledger, pro_rata, run_payout
from incentsim.program.spec import Budget


def budget(**fields) -> Budget:
    return Budget.model_validate(fields)


def terms(b: Budget) -> BudgetTerms:
    return budget_terms(b)


def cents(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def pay(b: Budget, ledger: Ledger, accrued, front_end=None, periods: int = 1):
    accrued = cents(accrued)
    front = np.zeros_like(accrued) if front_end is None else cents(front_end)
    return run_payout(
        terms(b), ledger, accrued, front, periods, defer=b.shortfall_policy == "defer"
    )


def assert_run_balances(ledger_before: Ledger, accrued, ledger_after: Ledger, run):
    """The two accounting identities of the ledger module, exactly (front-end rebates are part
    of ``accrued`` and of ``paid``, so they need no term of their own)."""
    accrued = cents(accrued)
    assert (ledger_before.owed + accrued == run.paid + run.cut + ledger_after.owed).all()
    lhs = run.reserve_before + run.budget + run.contribution + run.overrun
    rhs = run.paid.sum(axis=-1) + run.returned + run.reserve_after + run.carried
    assert (lhs == rhs).all()
    assert (run.reserve_after == ledger_after.reserve).all()
    assert (run.reserve_after >= 0).all()


def test_open_ledger_shapes_and_initial_reserve():
    led = open_ledger(terms(budget(reserve={"initial": 123.45})), (3, 5))
    assert led.owed.shape == (3, 5)
    assert led.owed.dtype == np.int64
    assert led.reserve.tolist() == [12345, 12345, 12345]


def test_no_budget_pays_everything():
    b = budget()
    led = open_ledger(terms(b), (3,))
    after, run = pay(b, led, [1000, 2500, 0])
    assert run.paid.tolist() == [1000, 2500, 0]
    assert run.cut.tolist() == [0, 0, 0]
    assert int(run.returned) == 0
    assert int(run.overrun) == 0
    assert after.owed.tolist() == [0, 0, 0]
    assert int(after.reserve) == 0
    assert_run_balances(led, [1000, 2500, 0], after, run)


def test_within_budget_unspent_to_reserve_by_share_then_cap():
    # Budget 100.00; reserve starts at 50.00 (max 80.00); a quarter of unspent goes to reserve.
    b = budget(
        per_period=100.0,
        reserve={"initial": 50.0, "max": 80.0, "contribution": {"unspent_share": 0.25}},
    )
    led = open_ledger(terms(b), (2,))
    after, run = pay(b, led, [3000, 1000])
    # Paid 40.00; unspent 60.00: 15.00 to the reserve, 45.00 returned.
    assert run.paid.tolist() == [3000, 1000]
    assert int(run.to_reserve) == 1500
    assert int(run.returned) == 4500
    assert int(after.reserve) == 6500
    assert_run_balances(led, [3000, 1000], after, run)
    # All unspent to the reserve, but only 30.00 of room below the max.
    b = budget(per_period=100.0, reserve={"initial": 50.0, "max": 80.0})
    led = open_ledger(terms(b), (2,))
    after, run = pay(b, led, [3000, 1000])
    assert int(run.to_reserve) == 3000
    assert int(run.returned) == 3000
    assert int(after.reserve) == 8000
    assert_run_balances(led, [3000, 1000], after, run)


def test_over_budget_draws_the_reserve():
    b = budget(per_period=100.0, reserve={"initial": 50.0})
    led = open_ledger(terms(b), (2,))
    after, run = pay(b, led, [8000, 6000])
    # Due 140.00: 100.00 of budget and 40.00 from the reserve.
    assert run.paid.tolist() == [8000, 6000]
    assert int(run.reserve_drawn) == 4000
    assert int(after.reserve) == 1000
    assert int(run.returned) == 0
    assert_run_balances(led, [8000, 6000], after, run)


def test_beyond_reserve_pro_rata_cut():
    b = budget(per_period=100.0, reserve={"initial": 20.0}, shortfall_policy="pro_rata")
    led = open_ledger(terms(b), (2,))
    after, run = pay(b, led, [9000, 6000])
    # 120.00 for 150.00 due: 80% each -> 72.00 and 48.00; 18.00 and 12.00 cut for good.
    assert run.paid.tolist() == [7200, 4800]
    assert run.cut.tolist() == [1800, 1200]
    assert run.deferred.tolist() == [0, 0]
    assert int(run.shortfall) == 3000
    assert after.owed.tolist() == [0, 0]
    assert int(after.reserve) == 0
    assert_run_balances(led, [9000, 6000], after, run)


def test_beyond_reserve_defer_pays_shortfall_next_run():
    b = budget(per_period=100.0, reserve={"initial": 20.0}, shortfall_policy="defer")
    led = open_ledger(terms(b), (2,))
    mid, run = pay(b, led, [9000, 6000])
    assert run.paid.tolist() == [7200, 4800]
    assert run.deferred.tolist() == [1800, 1200]
    assert run.cut.tolist() == [0, 0]
    assert mid.owed.tolist() == [1800, 1200]
    assert_run_balances(led, [9000, 6000], mid, run)
    after, run = pay(b, mid, [0, 0])
    # The deferred 30.00 is paid from the next budget; the unspent 70.00 goes to the reserve.
    assert run.paid.tolist() == [1800, 1200]
    assert after.owed.tolist() == [0, 0]
    assert int(after.reserve) == 7000
    assert_run_balances(mid, [0, 0], after, run)


def test_negative_balance_is_a_receivable_recovered_later():
    b = budget()
    led = open_ledger(terms(b), (2,))
    led1, run = pay(b, led, [-3000, 5000])
    assert run.paid.tolist() == [0, 5000]
    assert led1.owed.tolist() == [-3000, 0]
    assert_run_balances(led, [-3000, 5000], led1, run)
    led2, run = pay(b, led1, [2000, 0])
    assert run.paid.tolist() == [0, 0]
    assert led2.owed.tolist() == [-1000, 0]
    assert_run_balances(led1, [2000, 0], led2, run)
    led3, run = pay(b, led2, [4000, 0])
    assert run.paid.tolist() == [3000, 0]
    assert led3.owed.tolist() == [0, 0]
    assert_run_balances(led2, [4000, 0], led3, run)


def test_receivable_does_not_reduce_what_others_are_paid():
    b = budget(per_period=50.0)
    led = open_ledger(terms(b), (2,))
    after, run = pay(b, led, [-4000, 5000])
    assert run.paid.tolist() == [0, 5000]
    assert after.owed.tolist() == [-4000, 0]
    assert_run_balances(led, [-4000, 5000], after, run)


def test_front_end_is_never_cut_and_overruns_when_cash_is_short():
    b = budget(per_period=100.0)
    led = open_ledger(terms(b), (2,))
    after, run = pay(b, led, [12000, 3000], front_end=[12000, 0])
    # 120.00 was paid on invoice against 100.00 of cash: 20.00 overrun, nothing for the rest.
    assert run.paid.tolist() == [12000, 0]
    assert int(run.overrun) == 2000
    assert run.cut.tolist() == [0, 3000]
    assert int(after.reserve) == 0
    assert_run_balances(led, [12000, 3000], after, run)


def test_front_end_charged_first_rest_pro_rata():
    b = budget(per_period=100.0)
    led = open_ledger(terms(b), (3,))
    after, run = pay(b, led, [5000, 8000, 2000], front_end=[5000, 0, 0])
    # 50.00 left for 100.00 due at the back end: half each.
    assert run.paid.tolist() == [5000, 4000, 1000]
    assert run.cut.tolist() == [0, 4000, 1000]
    assert int(run.overrun) == 0
    assert_run_balances(led, [5000, 8000, 2000], after, run)


def test_front_end_with_clawback_beyond_rebate():
    # A front-end rebate of 30.00 with 50.00 clawed back: accrued -20.00, 30.00 already paid,
    # so the partner owes 50.00.
    b = budget()
    led = open_ledger(terms(b), (1,))
    after, run = pay(b, led, [-2000], front_end=[3000])
    assert run.paid.tolist() == [3000]
    assert after.owed.tolist() == [-5000]
    assert_run_balances(led, [-2000], after, run)


def test_fixed_contribution_goes_to_reserve():
    b = budget(
        per_period=50.0,
        reserve={"contribution": {"unspent_share": 0.0, "fixed_per_period": 20.0}},
    )
    led = open_ledger(terms(b), (1,))
    after, run = pay(b, led, [3000], periods=2)
    # Budget 2 * 50 = 100.00, contribution 2 * 20 = 40.00; paid 30.00; the contribution goes to
    # the reserve, the other 70.00 of unspent budget is returned.
    assert int(run.budget) == 10000
    assert int(run.contribution) == 4000
    assert int(run.to_reserve) == 4000
    assert int(run.returned) == 7000
    assert int(after.reserve) == 4000
    assert_run_balances(led, [3000], after, run)
    # When payouts use everything there is nothing left to put aside.
    after, run = pay(b, led, [14000], periods=2)
    assert int(run.to_reserve) == 0
    assert int(after.reserve) == 0
    assert run.paid.tolist() == [14000]
    assert_run_balances(led, [14000], after, run)


def test_fixed_contribution_without_budget():
    b = budget(reserve={"contribution": {"fixed_per_period": 10.0}, "max": 25.0})
    led = open_ledger(terms(b), (1,))
    for reserve_after, returned in ((1000, 0), (2000, 0), (2500, 500)):
        # The third contribution only fits 5.00 below the max; 5.00 is returned.
        after, run = pay(b, led, [500])
        assert (int(after.reserve), int(run.returned)) == (reserve_after, returned)
        assert_run_balances(led, [500], after, run)
        led = after


def test_batch_ledger_matches_rows():
    b = budget(per_period=60.0, reserve={"initial": 10.0, "max": 30.0}, shortfall_policy="defer")
    rng = np.random.default_rng(3)
    acc = rng.integers(-2000, 6000, (4, 3, 5))
    led = open_ledger(terms(b), (3, 5))
    rows = [open_ledger(terms(b), (5,)) for _ in range(3)]
    for p in range(4):
        before = led
        led, run = pay(b, led, acc[p])
        assert_run_balances(before, acc[p], led, run)
        if p == 0:
            assert run.deferred.sum() > 0  # the budget is short: the defer path is exercised
        for r in range(3):
            rows[r], rr = pay(b, rows[r], acc[p, r])
            assert run.paid[r].tolist() == rr.paid.tolist()
            assert int(run.reserve_after[r]) == int(rr.reserve_after)
            assert led.owed[r].tolist() == rows[r].owed.tolist()


# --------------------------------------------------------------------------------------------
# pro_rata


def test_pro_rata_docstring_example():
    assert pro_rata(cents([100, 200, 0]), cents(151)).tolist() == [50, 101, 0]


@pytest.mark.parametrize(
    ("due", "available", "expected"),
    [
        ([1, 1, 1], 2, [1, 1, 0]),  # ties go to the lower index
        ([3, 3, 3], 10, [3, 3, 3]),  # more than due: everyone paid in full
        ([0, 0], 5, [0, 0]),
        ([-5, 10], 4, [0, 4]),  # negative dues count as zero
        ([7, 13], 0, [0, 0]),
        # shares 0.5, 1, 1.5, 2: floors sum to 4, the last cent to the lower of the two halves
        ([1, 2, 3, 4], 5, [1, 1, 1, 2]),
    ],
)
def test_pro_rata_cases(due, available, expected):
    got = pro_rata(cents(due), cents(available))
    assert got.tolist() == expected
    assert got.dtype == np.int64


def _exact_pro_rata(due, available):
    """Largest-remainder apportionment in exact rational arithmetic."""
    due = [max(int(d), 0) for d in due]
    total = sum(due)
    available = min(int(available), total)
    if total == 0:
        return [0] * len(due)
    shares = [Fraction(d * available, total) for d in due]
    base = [s.numerator // s.denominator for s in shares]
    left = available - sum(base)
    order = sorted(range(len(due)), key=lambda i: (-(shares[i] - base[i]), i))
    for i in order[:left]:
        base[i] += 1
    return base


def test_pro_rata_large_values_do_not_overflow():
    due = cents([10**10, 3 * 10**10 + 7, 1])
    # More than due: everyone in full (the product 1e10 * 1e12 exceeds int64).
    assert pro_rata(due, cents(10**12)).tolist() == due.tolist()
    # Less than due, with products far beyond int64.
    big = cents([4 * 10**14, 3 * 10**14 + 1, 123_456_789_012])
    avail = 5 * 10**14 + 3
    got = pro_rata(big, cents(avail))
    assert got.tolist() == _exact_pro_rata(big.tolist(), avail)
    assert int(got.sum()) == avail
    assert (got <= big).all()


def test_pro_rata_batch_rows_independent():
    due = cents([[100, 200, 0], [5, 5, 5]])
    got = pro_rata(due, cents([151, 7]))
    assert got.tolist() == [[50, 101, 0], [3, 2, 2]]


def test_payout_run_is_a_dataclass_with_shortfall():
    b = budget(per_period=1.0)
    _, run = pay(b, open_ledger(terms(b), (2,)), [100, 300])
    assert isinstance(run, PayoutRun)
    assert int(run.shortfall) == 300


def test_a_run_too_large_to_count_in_cents_is_refused() -> None:
    from incentsim.errors import MoneyOverflowError

    b = budget()
    ledger = open_ledger(terms(b), (3,))
    huge = [2**61, 2**61, 2**61]  # each fits int64 cents; their sum would not be exact
    with pytest.raises(MoneyOverflowError, match="counted to the cent"):
        pay(b, ledger, huge)
    # Amounts a real program pays are summed as always.
    _, run = pay(b, ledger, [10**14, 10**14, 10**14])
    assert run.paid.sum() == 3 * 10**14


def test_a_scaled_budget_counts_each_period_in_the_run_that_settles_it() -> None:
    from incentsim.program.compiled import compile_program
    from incentsim.program.ledger import Accruals, PayoutSchedule, close_accounts
    from incentsim.program.spec import Program

    program = Program.model_validate(
        {
            "tiers": {"t": {}},
            "budget": {"per_period": 100.0, "payout": {"cadence_periods": 2}},
        }
    )
    cp = compile_program(program, ["all"])
    schedule = PayoutSchedule.of(cp, 4)
    group = np.zeros((2, 3), dtype=np.int64)
    ledger, accruals = open_ledger(cp.budget, (2, 3)), Accruals.empty((2, 3))
    due = np.full((2, 3), 10000, dtype=np.int64)
    zero = np.zeros((2, 3), dtype=np.int64)
    revenue = np.zeros((2, 3))
    budgets = []
    for period, scale in enumerate([np.array([1.0, 1.5]), np.array([1.0, 2.0])] * 2):
        ledger, accruals, settlement = close_accounts(
            schedule,
            cp.budget,
            ledger,
            accruals,
            group,
            period,
            due,
            zero,
            revenue,
            budget_scale=scale,
        )
        if settlement.run is not None:
            budgets.append(settlement.run.budget.tolist())
            run = settlement.run
            lhs = run.reserve_before + run.budget + run.contribution + run.overrun
            rhs = run.paid.sum(axis=-1) + run.returned + run.reserve_after + run.carried
            assert (lhs == rhs).all()
    # Two periods a run: 100 + 100 in the first replication, 150 + 200 in the second.
    assert budgets == [[20000, 35000], [20000, 35000]]
