"""Statement lines a partner can reconcile: on the demo program and sample transactions, every
period's lines add up to its payment to the cent, every cap, gate and cut appears with its
reason, and a negative balance reads as owed to the vendor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from incentsim.payout import Statements, compute_statements, read_transactions, render_text
from incentsim.quantities import to_cents
from incentsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo() -> Statements:
    scenario = load_scenario(ROOT / "scenarios" / "payout_demo.yaml")
    transactions = read_transactions(
        ROOT / "scenarios" / "sample_transactions.csv", calendar=scenario.calendar
    )
    return compute_statements(scenario.program, scenario.calendar, transactions)


def _cents(frame: pd.DataFrame, column: str) -> np.ndarray:
    return to_cents(frame[column].to_numpy(dtype=np.float64))


def test_every_partners_lines_add_up_to_its_payment_to_the_cent(demo: Statements) -> None:
    lines = demo.lines.assign(cents=_cents(demo.lines, "amount"))
    per_period = lines.groupby(["partner_id", "period"])["cents"].sum()
    partners = demo.partners.set_index(["partner_id", "period"])
    paid = pd.Series(_cents(demo.partners, "paid"), index=partners.index)
    assert per_period.reindex(paid.index, fill_value=0).equals(paid)
    # over the whole statement too: the partner's payment
    totals = demo.partner_totals().set_index("partner_id")
    by_partner = lines.groupby("partner_id")["cents"].sum()
    expected = pd.Series(to_cents(totals["paid"].to_numpy()), index=totals.index)
    assert by_partner.reindex(expected.index, fill_value=0).equals(expected)
    assert int(expected.sum()) == 10_330_000  # 103,300.00 paid over the year


def test_caps_gates_and_cuts_match_the_engine_and_carry_reasons(demo: Statements) -> None:
    lines = demo.lines.assign(cents=_cents(demo.lines, "amount"))
    assert (lines["reason"].str.len() > 10).all()
    kinds = lines.groupby(["partner_id", "period", "kind"])["cents"].sum()
    for row in demo.partners.itertuples(index=False):
        key = (row.partner_id, row.period)

        def total(*names: str, key: tuple[str, int] = key) -> int:
            return -sum(int(kinds.get((*key, name), 0)) for name in names)

        assert total("component cap", "partner cap") == round(row.capped * 100), key
        assert total("satisfaction gate") == round(row.gated * 100), key
        assert total("pro-rata cut") == round(row.cut * 100), key
        assert total("clawback") == round((row.clawback_returns + row.clawback_audit) * 100)
        earned_before = int(kinds.get((*key, "earned"), 0))
        assert earned_before - total("component cap", "partner cap", "satisfaction gate") == (
            round(row.earned * 100)
        )


def test_a_capped_spiff_stays_in_earned_with_its_cap(demo: Statements) -> None:
    p02 = demo.lines[(demo.lines["partner_id"] == "P02") & (demo.lines["period"] == 2)]
    by = {(r.kind, r.item): r for r in p02.itertuples(index=False)}
    # P02 earned 6,000 of SPIFFs and 3,600 of co-selling in Q2, all taken by caps
    assert by[("earned", "SPIFFs")].amount == 6000.0
    assert by[("component cap", "SPIFFs")].amount == -2000.0
    assert "security_launch cap 4,000.00" in by[("component cap", "SPIFFs")].reason
    assert by[("partner cap", "SPIFFs")].amount == -4000.0
    assert by[("earned", "co-selling bonus")].amount == 3600.0
    assert by[("partner cap", "co-selling bonus")].amount == -3600.0
    assert "partner cap 12,000.00" in by[("partner cap", "co-selling bonus")].reason
    # the satisfaction gate on P06's co-selling in Q4
    gate = demo.lines[demo.lines["kind"] == "satisfaction gate"]
    assert gate[["partner_id", "period", "item", "amount"]].values.tolist() == [
        ["P06", 4, "co-selling bonus", -900.0]
    ]
    assert "2.8 below the gate 3" in gate.iloc[0]["reason"]


def test_the_pro_rata_cut_is_explained(demo: Statements) -> None:
    cuts = demo.lines[demo.lines["kind"] == "pro-rata cut"]
    assert set(cuts["period"]) == {4}
    assert len(cuts) == 7  # everyone due in the fourth quarter's run but P05 (owes the vendor)
    for reason in cuts["reason"]:
        assert "had 27,350.00 (budget 26,000.00, reserve 1,350.00) for 32,150.00 due" in reason
        assert "paid 85.07%" in reason


def test_a_negative_balance_reads_as_owed_to_the_vendor(demo: Statements) -> None:
    text = render_text(demo)
    assert "owed -" not in text
    assert "owed to the vendor 2,050.00 (recovered from later payouts)" in text
    p05 = demo.lines[(demo.lines["partner_id"] == "P05") & (demo.lines["period"] == 4)]
    assert p05["kind"].tolist() == ["brought forward", "earned", "carried forward"]
    assert p05["item"].tolist()[-1] == "owed to the vendor"


def test_pay_dates_are_business_days(demo: Statements) -> None:
    dates = [*demo.partners["payment_date"], *demo.runs["payment_date"]]
    assert dates
    assert all(d.weekday() < 5 for d in dates)
