"""Category awards over real transactions: the award is its own statement line, naming the
award, the place and the pool; it is paid through the payout runs and the lines still add up
to the payment; and the amounts are the rules engine's (the simulation's rule)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from incentsim.payout import Statements, compute_statements, read_transactions
from incentsim.quantities import to_cents
from incentsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]

#: The demo program with a quarterly award for the two partners of the program with most
#: revenue, and a half-yearly growth award for the fastest-growing of the smaller half.
AWARDS = [
    "program.awards.top_seller.metric=revenue",
    "program.awards.top_seller.within=program",
    "program.awards.top_seller.winners=2",
    "program.awards.top_seller.prize=1500",
    "program.awards.rising.metric=growth",
    "program.awards.rising.within=program",
    "program.awards.rising.size_band=[0, 0.5]",
    "program.awards.rising.winners=1",
    "program.awards.rising.prize=800",
    "program.awards.rising.cadence_periods=2",
]


def statements(sets: list[str]) -> Statements:
    scenario = load_scenario(ROOT / "scenarios" / "payout_demo.yaml", sets)
    transactions = read_transactions(
        ROOT / "scenarios" / "sample_transactions.csv", calendar=scenario.calendar
    )
    return compute_statements(scenario.program, scenario.calendar, transactions)


@pytest.fixture(scope="module")
def with_awards() -> Statements:
    return statements(AWARDS)


def test_the_award_is_its_own_line_with_its_place(with_awards: Statements) -> None:
    lines = with_awards.lines[with_awards.lines["item"] == "category awards"]
    partners = with_awards.partners
    # Two top sellers every quarter (the largest revenue of the period); one riser at the end
    # of the second half-year (growth needs a previous window: none in the first).
    per_period = lines.groupby("period")["amount"].sum()
    assert per_period.tolist() == [3000.0, 3000.0, 3000.0, 3800.0]
    assert lines["reason"].str.contains(r"rising \(1st of 4 on growth\)").sum() == 1
    assert lines["reason"].str.contains(r"top_seller \((?:1st|2nd) of 8 on revenue\)").all()
    for row in lines.itertuples(index=False):
        period = partners[(partners.partner_id == row.partner_id) & (partners.period == row.period)]
        ranked = partners[partners.period == row.period].revenue
        if "top_seller" in row.reason:
            assert float(period.revenue.iloc[0]) >= float(ranked.nlargest(2).iloc[-1])
    assert (partners["awards"] > 0).sum() == len(lines)
    assert partners.loc[partners["awards"] > 0, "awards_won"].str.len().gt(0).all()


def test_awards_are_paid_through_the_payout_runs(with_awards: Statements) -> None:
    lines = with_awards.lines.assign(cents=to_cents(with_awards.lines["amount"].to_numpy()))
    per_period = lines.groupby(["partner_id", "period"])["cents"].sum()
    paid = pd.Series(
        to_cents(with_awards.partners["paid"].to_numpy()),
        index=pd.MultiIndex.from_frame(with_awards.partners[["partner_id", "period"]]),
    )
    assert per_period.reindex(paid.index, fill_value=0).equals(paid)
    without = statements([])
    awards = with_awards.partners["awards"].sum()
    assert awards == pytest.approx(12_800.0)
    # The awards come on top of everything else the program pays (the demo's budget is cut
    # pro rata in its peak quarter, so the payments rise by at most the awards).
    rise = with_awards.partners["paid"].sum() - without.partners["paid"].sum()
    assert 0 < rise <= awards + 0.005
    assert np.array_equal(
        with_awards.partners["rebate"].to_numpy(), without.partners["rebate"].to_numpy()
    )
