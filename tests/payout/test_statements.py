"""Statements over real transactions: each construct against hand-computed amounts, and the
ledger reconciling to the cent.

Every test writes a tiny transactions CSV, reads it back and runs a tiny program whose payout is
easy to compute by hand. The calendar is quarters from Monday 2027-01-04:
P1 2027-01-04..04-04, P2 04-05..07-04, P3 07-05..10-03, P4 10-04..2028-01-02; week ``w``
starts on 2027-01-04 + 7w days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from incentsim._merge import deep_merge
from incentsim._output import file_mode
from incentsim.calendar import Calendar
from incentsim.errors import DataError, OutDirError
from incentsim.payout import (
    Statements,
    compute_statements,
    period_metrics,
    read_transactions,
    render_text,
    write_statements,
)
from incentsim.program.spec import Program
from incentsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]
CALENDAR = Calendar(horizon_periods=4)
START = dt.date(2027, 1, 4)
FLAT: dict[str, Any] = {"tiers": {"member": {"rebate_rate": 0.0}}}


def week(w: int, day: int = 1) -> str:
    """A date inside week ``w`` of the program."""
    return (START + dt.timedelta(days=7 * w + day)).isoformat()


def quarter(q: int, day: int = 10) -> str:
    """A date inside quarter ``q`` (1-based)."""
    return (START + dt.timedelta(days=91 * (q - 1) + day)).isoformat()


def program(extra: Mapping[str, Any] | None = None, base: Mapping[str, Any] = FLAT) -> Program:
    return Program.model_validate(deep_merge(base, extra or {}))


def statements(
    tmp_path: Path,
    prog: Program,
    rows: Sequence[Mapping[str, Any]],
    calendar: Calendar = CALENDAR,
    **kwargs: Any,
) -> Statements:
    frame = pd.DataFrame(list(rows))
    path = tmp_path / "tx.csv"
    frame.to_csv(path, index=False)
    return compute_statements(prog, calendar, read_transactions(path, calendar=calendar), **kwargs)


def cell(result: Statements, partner: str, period: int, column: str) -> Any:
    df = result.partners
    row = df[(df["partner_id"] == partner) & (df["period"] == period)]
    assert len(row) == 1, (partner, period)
    return row.iloc[0][column]


def column(result: Statements, partner: str, name: str) -> list[Any]:
    df = result.partners
    return df.loc[df["partner_id"] == partner, name].tolist()


def assert_reconciles(result: Statements) -> None:
    """accrued = paid + cut + owed per partner (in cents), and the ledger identities."""
    df = result.partners
    cents = {c: result.cents(c) for c in ("accrued", "paid", "cut", "owed_after")}
    for pid in df["partner_id"].unique():
        mask = (df["partner_id"] == pid).to_numpy()
        owed_end = cents["owed_after"][mask][-1]
        assert cents["accrued"][mask].sum() == (
            cents["paid"][mask].sum() + cents["cut"][mask].sum() + owed_end
        ), pid
        owed_before = np.concatenate([[0], cents["owed_after"][mask][:-1]])
        assert np.array_equal(
            owed_before + cents["accrued"][mask],
            cents["paid"][mask] + cents["cut"][mask] + cents["owed_after"][mask],
        )
    earned = sum(result.cents(c) for c in ("rebate", "accelerators", "spiffs", "co_sell"))
    earned = earned + sum(result.cents(c) for c in ("milestones", "pacers", "true_up", "mdf"))
    assert np.array_equal(earned, result.cents("earned"))
    claw = result.cents("clawback_returns") + result.cents("clawback_audit")
    assert np.array_equal(result.cents("earned") - claw, result.cents("accrued"))
    runs = result.runs
    if len(runs):
        r = {c: result.cents(c, "runs") for c in runs.columns if c not in _RUN_INFO}
        assert np.array_equal(
            r["reserve_before"] + r["budget"] + r["contribution"] + r["overrun"],
            r["paid"] + r["returned"] + r["reserve_after"],
        )
        assert np.array_equal(r["reserve_before"][1:], r["reserve_after"][:-1])
        paid_by_run = [
            result.cents("paid")[(df["period"] > f - 1) & (df["period"] <= t)].sum()
            for f, t in zip(runs["first_period"], runs["last_period"], strict=True)
        ]
        assert paid_by_run == r["paid"].tolist()


_RUN_INFO = ("run", "first_period", "last_period", "periods", "payment_date")


# --------------------------------------------------------------------------------------------
# Tiers and rebates

TIERS: dict[str, Any] = {
    "tiers": {
        "silver": {"requirements": {"revenue": 10000}, "rebate_rate": 0.01},
        "gold": {
            "requirements": {"revenue": 50000, "certified_staff": 2},
            "rebate_rate": 0.03,
        },
        "platinum": {
            "requirements": {"revenue": 200000, "certified_staff": 2},
            "rebate_rate": 0.05,
        },
    }
}


def test_notch_pays_the_whole_period_at_the_tier_reached(tmp_path: Path) -> None:
    rows = [
        {"partner_id": "A", "date": quarter(1), "amount": 30000, "certified_staff": 3},
        {"partner_id": "A", "date": quarter(1, 40), "amount": 30000},
        {"partner_id": "B", "date": quarter(1), "amount": 49999.99, "certified_staff": 3},
        {"partner_id": "C", "date": quarter(1), "amount": 60000},  # no certified staff
        {"partner_id": "D", "date": quarter(1), "amount": 9999},
    ]
    result = statements(tmp_path, program(base=TIERS), rows)
    assert cell(result, "A", 1, "tier") == "gold"
    assert cell(result, "A", 1, "rebate") == 1800.00  # 60,000 x 3%, all of it
    assert cell(result, "B", 1, "tier") == "silver"
    assert cell(result, "B", 1, "rebate") == 500.00  # 49,999.99 x 1% = 499.9999
    assert cell(result, "C", 1, "tier") == "silver"
    assert cell(result, "D", 1, "tier") == "unqualified"
    assert cell(result, "D", 1, "rebate") == 0.0
    assert cell(result, "A", 1, "tier_reason") == (
        "gold: revenue 60,000 >= 50,000 and certified staff 3 >= 2; "
        "platinum needs revenue 200,000 (has 60,000)"
    )
    assert cell(result, "C", 1, "tier_reason") == (
        "silver: revenue 60,000 >= 10,000; gold needs certified staff 2 (has 0)"
    )
    assert cell(result, "D", 1, "tier_reason") == (
        "unqualified: silver needs revenue 10,000 (has 9,999)"
    )
    assert_reconciles(result)


def test_brackets_pay_each_slice_at_its_own_rate(tmp_path: Path) -> None:
    prog = program({"rebate": {"basis": "marginal"}}, base=TIERS)
    rows = [{"partner_id": "A", "date": quarter(1), "amount": 60000, "certified_staff": 2}]
    result = statements(tmp_path, prog, rows)
    # 10,000-50,000 at 1% (400) + 50,000-60,000 at 3% (300); nothing below the entry tier
    assert cell(result, "A", 1, "rebate") == 700.00


def test_grace_then_demotion_and_the_reasons(tmp_path: Path) -> None:
    rows = [
        {"partner_id": "A", "date": quarter(1), "amount": 60000, "certified_staff": 2},
        {"partner_id": "A", "date": quarter(2), "amount": 20000},
        {"partner_id": "A", "date": quarter(3), "amount": 20000},
    ]
    result = statements(tmp_path, program(base=TIERS), rows)
    assert column(result, "A", "tier") == ["gold", "gold", "silver"]
    assert column(result, "A", "in_grace") == [False, True, False]
    assert column(result, "A", "rebate") == [1800.0, 600.0, 200.0]
    assert cell(result, "A", 2, "tier_reason") == (
        "gold kept in grace (1 of 1 periods below): keeping gold needs revenue 50,000 (has 20,000)"
    )
    assert cell(result, "A", 3, "tier_reason").startswith(
        "silver (down from gold after the grace period): revenue 20,000 >= 10,000"
    )


def test_remediation_keeps_the_tier(tmp_path: Path) -> None:
    prog = program(
        {
            "evaluation": {"grace_periods": 0},
            "remediation": {"enabled": True, "trigger_periods": 1, "duration_periods": 2},
        },
        base=TIERS,
    )
    rows = [
        {"partner_id": "A", "date": quarter(1), "amount": 20000},
        {"partner_id": "A", "date": quarter(2), "amount": 5000},
    ]
    result = statements(tmp_path, prog, rows)
    assert column(result, "A", "tier") == ["silver", "silver"]
    assert column(result, "A", "in_remediation") == [False, True]
    assert cell(result, "A", 2, "tier_reason").startswith("silver kept under a remediation plan")


def test_lookback_window_uses_the_run_rate_while_history_is_short(tmp_path: Path) -> None:
    prog = program(
        {"evaluation": {"lookback_periods": 2}},
        base={"tiers": {"silver": {"requirements": {"revenue": 30000}, "rebate_rate": 0.01}}},
    )
    rows = [{"partner_id": "A", "date": quarter(1), "amount": 16000}]
    result = statements(tmp_path, prog, rows)
    # one period of history, scaled to two: 32,000 >= 30,000
    assert cell(result, "A", 1, "tier") == "silver"
    assert cell(result, "A", 1, "tier_reason") == (
        "silver: revenue over 2 periods (run rate of 1) 32,000 >= 30,000"
    )


# --------------------------------------------------------------------------------------------
# Accelerators, caps


def test_accelerator_and_its_cap(tmp_path: Path) -> None:
    prog = program(
        {
            "tiers": {"member": {"rebate_rate": 0.02}},
            "accelerators": {"kicker": {"threshold": 100000, "multiplier": 1.5, "cap": 600}},
        }
    )
    rows = [
        {"partner_id": "A", "date": quarter(1), "amount": 150000},
        {"partner_id": "B", "date": quarter(1), "amount": 200000},
        {"partner_id": "C", "date": quarter(1), "amount": 90000},
    ]
    result = statements(tmp_path, prog, rows)
    # A: 0.5 x 2% x 50,000 = 500; B: 0.5 x 2% x 100,000 = 1,000 capped at 600; C: below
    assert cell(result, "A", 1, "accelerators") == 500.0
    assert cell(result, "A", 1, "rebate") == 3000.0
    assert cell(result, "B", 1, "accelerators") == 600.0
    assert cell(result, "B", 1, "capped") == 400.0
    assert cell(result, "C", 1, "accelerators") == 0.0
    assert cell(result, "B", 1, "notes") == "capped 400.00"


def test_decelerator_reduces_the_rate_below_the_threshold(tmp_path: Path) -> None:
    prog = program(
        {
            "tiers": {"member": {"rebate_rate": 0.02}},
            "accelerators": {
                "slow": {"kind": "decelerator", "threshold": 50000, "multiplier": 0.5}
            },
        }
    )
    rows = [{"partner_id": "A", "date": quarter(1), "amount": 40000}]
    result = statements(tmp_path, prog, rows)
    assert cell(result, "A", 1, "accelerators") == -400.0  # -0.5 x 2% x 40,000
    assert cell(result, "A", 1, "accrued") == 400.0


def test_partner_cap_takes_the_excess(tmp_path: Path) -> None:
    prog = program({"tiers": {"member": {"rebate_rate": 0.05}}, "partner_cap": 1000})
    rows = [
        {"partner_id": "A", "date": quarter(1), "amount": 30000},
        {"partner_id": "B", "date": quarter(1), "amount": 10000},
    ]
    result = statements(tmp_path, prog, rows)
    assert cell(result, "A", 1, "rebate") == 1000.0
    assert cell(result, "A", 1, "capped") == 500.0
    assert cell(result, "B", 1, "rebate") == 500.0
    assert cell(result, "B", 1, "capped") == 0.0


# --------------------------------------------------------------------------------------------
# Horizons: an annual accelerator and a quarterly pacer inside one program

HORIZONS: dict[str, Any] = {
    "tiers": {"member": {"rebate_rate": 0.02}},
    "quota": {"amount": 50000},
    "accelerators": {
        "annual": {"quota_fraction": 1.0, "multiplier": 2.0, "cap": 1000, "horizon_periods": 4}
    },
    "pacers": {"pace": {"horizon_periods": 4, "quota_fraction": 1.0, "reward": 500}},
}


def test_annual_accelerator_and_quarterly_pacer(tmp_path: Path) -> None:
    """A on pace every quarter (60,000 a quarter against a 50,000 quota); B behind in Q1 and
    Q3, back on pace by Q2 and Q4; C never on pace. The annual accelerator pays at Q4 on the
    year's revenue above four quotas (200,000), within its cap for the year."""
    sales = {"A": [60000] * 4, "B": [40000, 70000, 30000, 70000], "C": [10000] * 4}
    rows = [
        {"partner_id": pid, "date": quarter(q + 1), "amount": amount}
        for pid, amounts in sales.items()
        for q, amount in enumerate(amounts)
    ]
    result = statements(tmp_path, program(HORIZONS), rows)
    assert column(result, "A", "pacers") == [500.0] * 4
    assert column(result, "B", "pacers") == [0.0, 500.0, 0.0, 500.0]
    assert column(result, "C", "pacers") == [0.0] * 4
    # A: 2% x (240,000 - 200,000) = 800 at Q4; B: 2% x (210,000 - 200,000) = 200.
    assert column(result, "A", "accelerators") == [0.0, 0.0, 0.0, 800.0]
    assert column(result, "B", "accelerators") == [0.0, 0.0, 0.0, 200.0]
    assert column(result, "C", "accelerators") == [0.0] * 4
    assert_reconciles(result)
    lines = result.lines
    pacer_lines = lines[(lines["partner_id"] == "A") & (lines["item"] == "pacer bonuses")]
    assert len(pacer_lines) == 4
    assert "pace" in pacer_lines["reason"].iloc[0]


def test_annual_accelerator_cap_is_for_the_year(tmp_path: Path) -> None:
    rows = [{"partner_id": "A", "date": quarter(q), "amount": 150000} for q in (1, 2, 3, 4)]
    result = statements(tmp_path, program(HORIZONS), rows)
    # 2% x (600,000 - 200,000) = 8,000, capped at 1,000 for the year.
    assert column(result, "A", "accelerators") == [0.0, 0.0, 0.0, 1000.0]
    assert cell(result, "A", 4, "capped") == 7000.0
    cap_lines = result.lines[result.lines["kind"] == "component cap"]
    assert "annual cap 1,000.00 over 4 periods" in cap_lines["reason"].iloc[0]


def test_returns_count_against_a_horizon(tmp_path: Path) -> None:
    rows = [
        {"partner_id": "A", "date": quarter(1), "amount": 60000},
        {"partner_id": "A", "date": quarter(2), "amount": 45000},
        {"partner_id": "A", "date": quarter(2, 20), "returned_amount": 10000},
    ]
    result = statements(tmp_path, program(HORIZONS), rows)
    # Q2: 60,000 + 45,000 - 10,000 = 95,000 < 100,000: behind pace.
    assert column(result, "A", "pacers")[:2] == [500.0, 0.0]


# --------------------------------------------------------------------------------------------
# SPIFFs and co-selling


def test_spiff_product_window_registration_and_deals(tmp_path: Path) -> None:
    prog = program(
        {
            "spiffs": {
                "launch": {
                    "product": "security",
                    "amount_per_deal": 200,
                    "uplift_rate": 0.02,
                    "start_week": 2,
                    "end_week": 4,
                }
            }
        }
    )
    base = {"partner_id": "A", "product": "security"}
    rows = [
        {**base, "date": week(1), "amount": 9000, "deal_registration_id": "D0"},  # before
        {**base, "date": week(2), "amount": 10000, "deal_registration_id": "D1"},  # yes
        {**base, "date": week(3), "amount": 5000, "deal_registration_id": "D1"},  # same deal
        {**base, "date": week(3), "amount": 7000, "product": "core", "deal_registration_id": "D2"},
        {**base, "date": week(3), "amount": 4000},  # unregistered
        {**base, "date": week(4, 0), "amount": 8000, "deal_registration_id": "D3"},  # after
    ]
    result = statements(tmp_path, prog, rows)
    # one deal (200) + 2% of 15,000 (300)
    assert cell(result, "A", 1, "spiffs") == 500.0
    metrics = period_metrics(read_transactions(tmp_path / "tx.csv"), prog, CALENDAR)
    assert metrics[0].spiff_deals.tolist() == [[1.0]]
    assert metrics[0].spiff_revenue.tolist() == [[15000.0]]


def test_spiff_deal_type_without_registration(tmp_path: Path) -> None:
    prog = program(
        {
            "spiffs": {
                "logos": {
                    "deal_type": "new_logo",
                    "amount_per_deal": 100,
                    "requires_registration": False,
                    "cap": 250,
                }
            }
        }
    )
    rows = [
        {"partner_id": "A", "date": quarter(1), "amount": 1000, "deal_type": "new_logo"},
        {"partner_id": "A", "date": quarter(1), "amount": 1000, "deal_type": "new_logo"},
        {"partner_id": "A", "date": quarter(1), "amount": 1000, "deal_type": "renewal"},
        {"partner_id": "B", "date": quarter(1), "amount": 1000, "deal_type": "new_logo"},
        {"partner_id": "B", "date": quarter(1, 20), "amount": 1000, "deal_type": "new_logo"},
        {"partner_id": "B", "date": quarter(1, 30), "amount": 1000, "deal_type": "new_logo"},
    ]
    result = statements(tmp_path, prog, rows)
    assert cell(result, "A", 1, "spiffs") == 200.0
    assert cell(result, "B", 1, "spiffs") == 250.0  # 300 capped
    assert cell(result, "B", 1, "capped") == 50.0


def test_co_sell_needs_registration_and_the_minimum_tier(tmp_path: Path) -> None:
    prog = program({"co_sell": {"rate": 0.02, "min_tier": "gold"}}, base=TIERS)
    rows = [
        {"partner_id": "A", "date": quarter(1), "amount": 40000, "co_sell": "true"}
        | {"deal_registration_id": "R1", "certified_staff": 2},
        {"partner_id": "A", "date": quarter(1), "amount": 20000, "co_sell": "true"},  # unreg.
        {"partner_id": "B", "date": quarter(1), "amount": 40000, "co_sell": "true"}
        | {"deal_registration_id": "R2"},  # silver: below the minimum tier
    ]
    result = statements(tmp_path, prog, rows)
    assert cell(result, "A", 1, "co_sell") == 800.0
    assert cell(result, "B", 1, "co_sell") == 0.0


def test_co_delivery_rule(tmp_path: Path) -> None:
    prog = program({"co_sell": {"rate": 0.1}, "guardrails": {"co_delivery_share": 0.5}})
    rows = [
        {"partner_id": "A", "date": quarter(1), "amount": 1000, "co_sell": "true"}
        | {"deal_registration_id": "R1", "co_delivery": 0.6},
        {"partner_id": "B", "date": quarter(1), "amount": 1000, "co_sell": "true"}
        | {"deal_registration_id": "R2", "co_delivery": 0.2},
    ]
    result = statements(tmp_path, prog, rows)
    assert cell(result, "A", 1, "co_sell") == 100.0
    assert cell(result, "B", 1, "co_sell") == 0.0


def test_duplicate_registration_is_rejected_and_reported(tmp_path: Path) -> None:
    prog = program(
        {
            "co_sell": {"rate": 0.02},
            "spiffs": {"deal": {"amount_per_deal": 100}},
            "guardrails": {"deal_registration": {"protection_days": 60}},
        }
    )
    rows = [
        {"partner_id": "A", "date": "2027-01-10", "amount": 10000, "co_sell": "true"}
        | {"deal_registration_id": "R1"},
        {"partner_id": "B", "date": "2027-01-20", "amount": 10000, "co_sell": "true"}
        | {"deal_registration_id": "R1"},
        {"partner_id": "C", "date": "2027-03-20", "amount": 10000, "co_sell": "true"}
        | {"deal_registration_id": "R1"},  # 69 days after A: protection lapsed
    ]
    result = statements(tmp_path, prog, rows)
    assert cell(result, "A", 1, "co_sell") == 200.0
    assert cell(result, "A", 1, "spiffs") == 100.0
    assert cell(result, "B", 1, "co_sell") == 0.0
    assert cell(result, "B", 1, "spiffs") == 0.0
    assert cell(result, "B", 1, "revenue") == 10000.0  # still revenue
    assert cell(result, "C", 1, "co_sell") == 200.0
    dupes = result.findings[result.findings["kind"] == "duplicate_registration"]
    assert dupes["partner_id"].tolist() == ["B", "C"]
    assert dupes["line"].tolist() == [3, 4]
    assert "rejected by the duplicate check" in dupes["message"].iloc[0]
    assert "accepted" in dupes["message"].iloc[1]

    off = program(
        {
            "co_sell": {"rate": 0.02},
            "guardrails": {"deal_registration": {"duplicate_check": False}},
        }
    )
    result = statements(tmp_path, off, rows)
    assert cell(result, "B", 1, "co_sell") == 200.0
    assert len(result.findings[result.findings["kind"] == "duplicate_registration"]) == 2


def test_segment_overrides_apply_to_their_partners(tmp_path: Path) -> None:
    prog = program(
        {
            "tiers": {"member": {"rebate_rate": 0.01}},
            "segment_overrides": {"si": {"tiers": {"member": {"rebate_rate": 0.03}}}},
            "region_overrides": {"apac": {"co_sell": {"rate": 0.05}}},
        }
    )
    rows = [
        {"partner_id": "A", "date": quarter(1), "amount": 10000, "segment": "si"}
        | {"region": "emea"},
        {"partner_id": "B", "date": quarter(1), "amount": 10000, "segment": "reseller"}
        | {"region": "apac", "co_sell": "true", "deal_registration_id": "R1"},
    ]
    result = statements(tmp_path, prog, rows)
    assert cell(result, "A", 1, "rebate") == 300.0
    assert cell(result, "B", 1, "rebate") == 100.0
    assert cell(result, "B", 1, "co_sell") == 500.0


def test_csat_gate_scales_the_gated_components(tmp_path: Path) -> None:
    prog = program(
        {
            "tiers": {"member": {"rebate_rate": 0.01}},
            "co_sell": {"rate": 0.05},
            "guardrails": {
                "csat_gate": {"min_score": 3.5, "applies_to": ["co_sell"], "payout_fraction": 0.5}
            },
        }
    )
    rows = [
        {"partner_id": "A", "date": quarter(1), "amount": 10000, "csat": 3.0}
        | {"co_sell": "true", "deal_registration_id": "R1"},
        {"partner_id": "A", "date": quarter(1, 50), "csat": 4.0},  # latest snapshot wins
        {"partner_id": "A", "date": quarter(2), "amount": 10000, "csat": 3.0}
        | {"co_sell": "true", "deal_registration_id": "R2"},
    ]
    result = statements(tmp_path, prog, rows)
    assert column(result, "A", "csat") == [4.0, 3.0]
    assert column(result, "A", "co_sell") == [500.0, 250.0]
    assert column(result, "A", "gated") == [0.0, 250.0]
    assert column(result, "A", "rebate") == [100.0, 100.0]
    assert "csat 3 below the gate 3.5: co_sell paid at 50%" in cell(result, "A", 2, "notes")


# --------------------------------------------------------------------------------------------
# MDF


def mdf_program(expiry: int) -> Program:
    return program(
        {
            "mdf": {
                "accrual_rate": 0.1,
                "reimbursement_rate": 0.5,
                "approval_lag_weeks": 4,
                "expiry_periods": expiry,
            }
        }
    )


def test_mdf_claim_counts_in_the_period_of_its_approval(tmp_path: Path) -> None:
    rows = [
        {"partner_id": "A", "date": "2027-01-10", "amount": 10000},
        {"partner_id": "A", "date": "2027-03-01", "mdf_claim": 600},  # approved 03-29: P1
        {"partner_id": "A", "date": "2027-03-20", "mdf_claim": 1000},  # approved 04-17: P2
    ]
    result = statements(tmp_path, mdf_program(expiry=2), rows)
    assert column(result, "A", "mdf_accrued") == [1000.0, 0.0]
    assert column(result, "A", "mdf_claims") == [600.0, 1000.0]
    assert column(result, "A", "mdf") == [300.0, 500.0]
    assert column(result, "A", "mdf_balance") == [700.0, 200.0]
    assert column(result, "A", "accrued") == [300.0, 500.0]


def test_mdf_expires_before_a_late_claim(tmp_path: Path) -> None:
    rows = [
        {"partner_id": "A", "date": "2027-01-10", "amount": 10000},
        {"partner_id": "A", "date": "2027-03-01", "mdf_claim": 600},
        {"partner_id": "A", "date": "2027-03-20", "mdf_claim": 1000},
    ]
    result = statements(tmp_path, mdf_program(expiry=1), rows)
    assert column(result, "A", "mdf") == [300.0, 0.0]
    assert column(result, "A", "mdf_expired") == [0.0, 700.0]
    short = result.findings[result.findings["kind"] == "mdf_claim_short"]
    assert short["period"].tolist() == [2]
    assert "reimbursable 500.00, reimbursed 0.00" in short["message"].iloc[0]


def test_mdf_claim_approved_after_the_calendar_is_a_finding(tmp_path: Path) -> None:
    rows = [
        {"partner_id": "A", "date": "2027-01-10", "amount": 10000},
        {"partner_id": "A", "date": "2027-12-20", "mdf_claim": 100},  # approved 2028-01-17
    ]
    result = statements(tmp_path, mdf_program(expiry=2), rows)
    assert result.summary()["periods"] == 4
    late = result.findings[result.findings["kind"] == "mdf_claim_not_approved"]
    assert late["line"].tolist() == [3]
    assert "approved on 2028-01-17" in late["message"].iloc[0]


# --------------------------------------------------------------------------------------------
# Clawbacks


def test_returns_are_clawed_back_at_the_last_rate(tmp_path: Path) -> None:
    prog = program({"tiers": {"member": {"rebate_rate": 0.02}}})
    rows = [
        {"partner_id": "A", "date": quarter(1), "amount": 50000},
        {"partner_id": "A", "date": quarter(2), "amount": 10000, "returned_amount": 5000},
    ]
    result = statements(tmp_path, prog, rows)
    assert column(result, "A", "returns") == [0.0, 5000.0]
    assert column(result, "A", "clawback_returns") == [0.0, 100.0]
    assert column(result, "A", "accrued") == [1000.0, 100.0]
    assert "returns 5,000 clawed back at the last rebate rate 2.00%: 100.00" in cell(
        result, "A", 2, "notes"
    )
    off = program({"tiers": {"member": {"rebate_rate": 0.02}}, "guardrails": {}})
    off = program(
        {"tiers": {"member": {"rebate_rate": 0.02}}, "guardrails": {"clawback_on_returns": False}}
    )
    assert column(statements(tmp_path, off, rows), "A", "clawback_returns") == [0.0, 0.0]


def test_audit_claws_back_spiff_and_co_sell_with_the_penalty(tmp_path: Path) -> None:
    prog = program(
        {
            "spiffs": {"deal": {"amount_per_deal": 300}},
            "co_sell": {"rate": 0.05},
            "guardrails": {"audit": {"penalty_multiplier": 0.5}},
        }
    )
    rows = [
        {"partner_id": "A", "date": quarter(1), "amount": 10000, "co_sell": "true"}
        | {"deal_registration_id": "D1"},
        {"partner_id": "A", "date": quarter(2), "deal_registration_id": "D1"}
        | {"audit_flag": "true"},
        {"partner_id": "A", "date": quarter(2, 30), "amount": 1000, "co_sell": "true"}
        | {"deal_registration_id": "D1"},  # after the audit: earns no bonus
    ]
    result = statements(tmp_path, prog, rows)
    assert column(result, "A", "spiffs") == [300.0, 0.0]
    assert column(result, "A", "co_sell") == [500.0, 0.0]
    assert column(result, "A", "clawback_audit") == [0.0, 1200.0]  # (300 + 500) x 1.5
    assert column(result, "A", "accrued") == [800.0, -1200.0]
    assert column(result, "A", "owed_after") == [0.0, -1200.0]
    kinds = result.findings["kind"].tolist()
    assert "audited_deal_later_sale" in kinds
    assert "receivable" in kinds
    assert_reconciles(result)


# --------------------------------------------------------------------------------------------
# Milestones and true-up


def test_milestone_after_consecutive_periods(tmp_path: Path) -> None:
    prog = program(
        {
            "evaluation": {"grace_periods": 0},
            "milestones": {"streak": {"tier": "gold", "consecutive_periods": 3, "reward": 1000}},
        },
        base={"tiers": {"gold": {"requirements": {"revenue": 10000}, "rebate_rate": 0.0}}},
    )
    rows = [{"partner_id": "A", "date": quarter(q), "amount": 12000} for q in (1, 2, 3, 4)]
    rows += [
        {"partner_id": "B", "date": quarter(q), "amount": a}
        for q, a in ((1, 12000), (2, 5000), (3, 12000), (4, 12000))
    ]
    result = statements(tmp_path, prog, rows)
    assert column(result, "A", "milestones") == [0.0, 0.0, 1000.0, 0.0]
    assert column(result, "A", "milestones_earned") == ["", "", "streak", ""]
    assert column(result, "B", "milestones") == [0.0, 0.0, 0.0, 0.0]


def true_up_program(enabled: bool) -> Program:
    return program(
        {"budget": {"true_up": {"enabled": enabled}}},
        base={
            "tiers": {
                "silver": {"requirements": {"revenue": 10000}, "rebate_rate": 0.01},
                "gold": {"requirements": {"revenue": 30000}, "rebate_rate": 0.03},
            }
        },
    )


def test_annual_true_up(tmp_path: Path) -> None:
    rows = [
        {"partner_id": "A", "date": quarter(q), "amount": a}
        for q, a in ((1, 20000), (2, 20000), (3, 20000), (4, 60000))
    ]
    result = statements(tmp_path, true_up_program(True), rows)
    # quarters pay 200 + 200 + 200 + 1,800; the year (120,000 >= 4 x 30,000) earns gold:
    # 3% x 120,000 = 3,600, so the true-up is 1,200
    assert column(result, "A", "rebate") == [200.0, 200.0, 200.0, 1800.0]
    assert column(result, "A", "true_up") == [0.0, 0.0, 0.0, 1200.0]
    assert "annual true-up 1,200.00" in cell(result, "A", 4, "notes")
    off = statements(tmp_path, true_up_program(False), rows)
    assert column(off, "A", "true_up") == [0.0] * 4


# --------------------------------------------------------------------------------------------
# Budget, reserve, payout runs


def budget_program(policy: str, reserve: float = 0.0) -> Program:
    return program(
        {
            "tiers": {"member": {"rebate_rate": 0.1}},
            "budget": {
                "per_period": 1000,
                "shortfall_policy": policy,
                "reserve": {"initial": reserve, "contribution": {"unspent_share": 0.0}},
            },
        }
    )


BUDGET_ROWS = [
    {"partner_id": "A", "date": quarter(1), "amount": 15000},
    {"partner_id": "B", "date": quarter(1), "amount": 5000},
    {"partner_id": "B", "date": quarter(2), "amount": 0},
]


def test_budget_shortfall_cut_pro_rata(tmp_path: Path) -> None:
    result = statements(tmp_path, budget_program("pro_rata"), BUDGET_ROWS)
    assert column(result, "A", "accrued") == [1500.0, 0.0]
    assert column(result, "A", "paid") == [750.0, 0.0]
    assert column(result, "A", "cut") == [750.0, 0.0]
    assert column(result, "B", "paid") == [250.0, 0.0]
    assert column(result, "B", "cut") == [250.0, 0.0]
    assert result.runs["cut"].tolist() == [1000.0, 0.0]
    assert result.runs["returned"].tolist() == [0.0, 1000.0]
    assert_reconciles(result)


def test_reserve_absorbs_part_of_the_shortfall(tmp_path: Path) -> None:
    result = statements(tmp_path, budget_program("pro_rata", reserve=500), BUDGET_ROWS)
    assert column(result, "A", "paid") == [1125.0, 0.0]  # 1,500 of 2,000 available
    assert column(result, "B", "paid") == [375.0, 0.0]
    run = result.runs.iloc[0]
    assert (run.reserve_before, run.reserve_drawn, run.reserve_after) == (500.0, 500.0, 0.0)
    assert_reconciles(result)


def lines_of(result: Statements, partner: str, period: int) -> list[tuple[str, str, float]]:
    df = result.lines
    rows = df[(df["partner_id"] == partner) & (df["period"] == period)]
    return list(zip(rows["kind"], rows["item"], rows["amount"], strict=True))


def test_budget_shortfall_deferred_to_the_next_run(tmp_path: Path) -> None:
    result = statements(tmp_path, budget_program("defer"), BUDGET_ROWS)
    # the statement carries the deferred part forward and brings it back in the next run
    assert lines_of(result, "A", 1)[-1] == ("carried forward", "deferred", -750.0)
    assert lines_of(result, "A", 2) == [("brought forward", "owed from earlier periods", 750.0)]
    carried = result.lines[(result.lines["item"] == "deferred") & (result.lines["period"] == 1)]
    assert carried["partner_id"].tolist() == ["A", "B"]
    assert all("deferred to the next payout run" in r for r in carried["reason"])
    assert column(result, "A", "paid") == [750.0, 750.0]
    assert column(result, "A", "deferred") == [750.0, 0.0]
    assert column(result, "A", "cut") == [0.0, 0.0]
    assert column(result, "A", "owed_after") == [750.0, 0.0]
    assert column(result, "B", "paid") == [250.0, 250.0]
    assert result.runs["due"].tolist() == [2000.0, 1000.0]
    assert_reconciles(result)


def test_cadence_pending_periods_front_end_and_payment_dates(tmp_path: Path) -> None:
    prog = program(
        {
            "tiers": {"member": {"rebate_rate": 0.01}},
            "rebate": {"timing": "front_end"},
            "spiffs": {"deal": {"amount_per_deal": 50, "requires_registration": False}},
            "budget": {"payout": {"cadence_periods": 2, "delay_weeks": 2}},
        }
    )
    rows = [{"partner_id": "A", "date": quarter(q), "amount": 10000} for q in (1, 2, 3)]
    result = statements(tmp_path, prog, rows)
    assert column(result, "A", "paid_on_invoice") == [100.0, 100.0, 100.0]
    # front-end rebates are paid in their own period; the SPIFFs at the run
    assert column(result, "A", "paid") == [100.0, 200.0, 100.0]
    assert column(result, "A", "owed_after") == [50.0, 0.0, 50.0]
    assert column(result, "A", "status") == ["settled", "settled", "pending"]
    # run 1 closes with period 2 (ends Sunday 2027-07-04) and pays two weeks later, a Sunday
    # rolled to the next business day
    assert column(result, "A", "payment_date") == [
        dt.date(2027, 7, 19),
        dt.date(2027, 7, 19),
        dt.date(2028, 1, 17),
    ]
    assert result.pending_periods == (3,)
    # period 1's SPIFF waits for the run at period 2's close; period 3's for the next run
    assert lines_of(result, "A", 1)[-1] == ("carried forward", "pending", -50.0)
    assert lines_of(result, "A", 2)[0] == ("brought forward", "owed from earlier periods", 50.0)
    assert lines_of(result, "A", 3)[-1] == ("carried forward", "pending", -50.0)
    # Front-end rebates are paid at every close (a run of their own when nothing else is due,
    # charged to that period's budget); the SPIFFs wait for the cadence's run.
    assert len(result.runs) == 3
    runs = result.runs
    assert runs["first_period"].tolist() == [1, 2, 3]
    assert runs["paid"].tolist() == [100.0, 200.0, 100.0]
    assert runs["paid_on_invoice"].tolist() == [100.0, 100.0, 100.0]
    assert_reconciles(result)
    assert "1 period(s) pending the next run" in render_text(result)


# --------------------------------------------------------------------------------------------
# Inputs, outputs


def test_dates_outside_the_calendar_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    path.write_text("partner_id,date,amount\nA,2027-01-05,1\nA,2029-01-05,1\n")
    frame = read_transactions(path)  # no calendar yet
    with pytest.raises(DataError) as info:
        compute_statements(program(), CALENDAR, frame)
    assert info.value.problems[0][0] == 3
    assert "after the program calendar ends" in info.value.problems[0][1]


def test_unvalidated_frames_are_validated() -> None:
    frame = pd.DataFrame({"partner_id": ["A"], "date": ["2027-01-05"], "amount": ["100"]})
    result = compute_statements(
        program({"tiers": {"member": {"rebate_rate": 0.1}}}), CALENDAR, frame
    )
    assert cell(result, "A", 1, "rebate") == 10.0


def test_cents_reconcile_with_awkward_amounts(tmp_path: Path) -> None:
    prog = program(
        {
            "tiers": {"member": {"rebate_rate": 0.0333}},
            "budget": {"per_period": 1234.57, "reserve": {"initial": 99.99}},
        }
    )
    rng = np.random.default_rng(5)
    rows = [
        {"partner_id": f"P{i % 7}", "date": quarter(1 + i % 4, int(rng.integers(0, 90)))}
        | {"amount": round(float(rng.uniform(0, 20000)), 2)}
        for i in range(60)
    ]
    result = statements(tmp_path, prog, rows)
    assert_reconciles(result)
    assert result.cents("cut").sum() > 0
    s = result.summary()
    assert s["accrued"] == s["paid"] + s["cut"] + s["owed"]


@pytest.fixture(scope="module")
def sample() -> Statements:
    scenario = load_scenario(ROOT / "scenarios" / "payout_demo.yaml")
    transactions = read_transactions(
        ROOT / "scenarios" / "sample_transactions.csv",
        calendar=scenario.calendar,
        segments=list(scenario.population.segments),
        regions=list(scenario.population.regions),
    )
    return compute_statements(scenario.program, scenario.calendar, transactions)


def test_sample_exercises_every_construct(sample: Statements) -> None:
    assert_reconciles(sample)
    df = sample.partners
    assert sample.summary()["partners"] == 8
    assert sample.summary()["periods"] == 4
    for name in ("rebate", "spiffs", "co_sell", "milestones", "true_up", "mdf"):
        assert (df[name] > 0).any(), name
    for name in ("capped", "gated", "clawback_returns", "clawback_audit", "cut", "mdf_expired"):
        assert (df[name] > 0).any(), name
    assert df["in_grace"].any()
    assert df["in_remediation"].any()
    assert set(sample.findings["kind"]) >= {
        "duplicate_registration",
        "mdf_claim_not_approved",
        "mdf_claim_short",
        "receivable",
    }
    # a partner crossing a tier threshold
    assert column(sample, "P01", "tier") == ["silver", "silver", "gold", "gold"]


def test_sample_headline_numbers(sample: Statements) -> None:
    s = sample.summary()
    assert str(s["revenue"]) == "3770000.00"
    assert str(s["accrued"]) == "106050.00"
    assert str(s["paid"]) == "103300.00"
    assert str(s["cut"]) == "4800.00"
    assert str(s["owed"]) == "-2050.00"
    assert str(s["reserve_end"]) == "0.00"


def test_write_statements_is_complete_and_readable(sample: Statements, tmp_path: Path) -> None:
    out = tmp_path / "out"
    written = write_statements(sample, out)
    assert sorted(p.name for p in written) == [
        "findings.csv",
        "program_ledger.csv",
        "statement_lines.csv",
        "statements.csv",
        "statements.txt",
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written)  # no temps
    csv_text = (out / "statements.csv").read_text()
    header = csv_text.splitlines()[0].split(",")
    first = next(iter(csv_text.splitlines()[1:]))
    assert header[:4] == ["partner_id", "segment", "region", "period"]
    assert ",70000.00," in first  # money with exactly two decimals
    back = pd.read_csv(out / "statements.csv")
    assert len(back) == len(sample.partners)
    text = (out / "statements.txt").read_text()
    assert "Partner P01  (segment reseller, region emea)" in text
    assert "tier gold (was silver). gold: revenue 160,000 >= 150,000" in text
    ledger = pd.read_csv(out / "program_ledger.csv")
    assert ledger["cut"].sum() == pytest.approx(4800.0)


def test_a_failed_write_leaves_nothing_behind(
    sample: Statements, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import incentsim._output as output

    out = tmp_path / "out"
    calls = {"n": 0}
    real = output.os.replace

    def failing(src: Any, dst: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        real(src, dst)

    monkeypatch.setattr(output.os, "replace", failing)
    with pytest.raises(OSError, match="disk full"):
        write_statements(sample, out)
    assert list(tmp_path.iterdir()) == []  # no folder, no staging folder, no lock file


def test_statements_are_not_overwritten_silently(sample: Statements, tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_statements(sample, out)
    before = (out / "statements.csv").stat().st_mtime_ns
    with pytest.raises(OutDirError, match=r"holds a set of payout statements.*--overwrite"):
        write_statements(sample, out)
    assert (out / "statements.csv").stat().st_mtime_ns == before
    write_statements(sample, out, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (out / "statements.csv").stat().st_mode & 0o777 == file_mode()


def test_no_transactions_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    path.write_text("partner_id,date,amount\n")
    with pytest.raises(DataError, match="no transactions"):
        compute_statements(program(), CALENDAR, read_transactions(path))


def test_missing_satisfaction_data_is_a_finding_when_the_program_uses_it(tmp_path: Path) -> None:
    gated = program({"guardrails": {"csat_gate": {"min_score": 3.0}}})
    rows = [
        {"partner_id": "A", "date": quarter(1), "amount": 100},
        {"partner_id": "A", "date": quarter(2), "amount": 100, "csat": 4.0},
        {"partner_id": "B", "date": quarter(2), "amount": 100, "csat": 4.0},
    ]
    result = statements(tmp_path, gated, rows)
    missing = result.findings[result.findings["kind"] == "csat_missing"]
    assert missing["partner_id"].tolist() == ["A", "B"]
    assert missing["period"].tolist() == [1, 1]
    assert column(result, "A", "csat") == [5.0, 4.0]
    assert statements(tmp_path, program(), rows).findings.empty


def test_a_rejected_registration_is_an_unregistered_sale(tmp_path: Path) -> None:
    prog = program(
        {
            "spiffs": {
                "open": {"amount_per_deal": 10, "requires_registration": False},
                "registered": {"amount_per_deal": 100},
            }
        }
    )
    rows = [
        {"partner_id": "A", "date": "2027-01-10", "amount": 100, "deal_registration_id": "R1"},
        {"partner_id": "B", "date": "2027-01-11", "amount": 100, "deal_registration_id": "R1"},
        {"partner_id": "B", "date": "2027-01-12", "amount": 100, "deal_registration_id": "R1"},
    ]
    result = statements(tmp_path, prog, rows)
    assert cell(result, "A", 1, "spiffs") == 110.0
    assert cell(result, "B", 1, "spiffs") == 10.0  # one deal, open SPIFF only


def test_period_metrics_follow_the_partners_index(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    path.write_text("partner_id,date,amount\nB,2027-01-05,2\nA,2027-04-06,1\n")
    metrics = period_metrics(read_transactions(path), program(), CALENDAR, ["C", "A", "B"])
    assert len(metrics) == 2
    assert metrics[0].revenue.tolist() == [0.0, 0.0, 2.0]
    assert metrics[1].revenue.tolist() == [0.0, 1.0, 0.0]
    assert metrics[0].csat.tolist() == [5.0, 5.0, 5.0]


def test_new_logos_count_deals_not_rows(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    path.write_text(
        "partner_id,date,amount,deal_type,deal_registration_id,new_logo,csat\n"
        "A,2027-01-05,100,new_logo,R1,,\n"
        "A,2027-01-06,100,new_logo,R1,,\n"  # second invoice of the same deal
        "A,2027-01-07,100,other,,true,\n"  # flagged explicitly
        "A,2027-01-08,100,new_logo,,false,\n"  # flag wins over the deal type
        "A,2027-01-09,,new_logo,,,4\n"  # a snapshot row is no sale
    )
    metrics = period_metrics(read_transactions(path), program(), CALENDAR)
    assert metrics[0].new_logos.tolist() == [2.0]
