"""``incentsim payout``: end to end on the bundled sample, and a bad file writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from incentsim.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "payout_demo.yaml"
SAMPLE = ROOT / "scenarios" / "sample_transactions.csv"
OUTPUTS = sorted(
    [
        "findings.csv",
        "program_ledger.csv",
        "statement_lines.csv",
        "statements.csv",
        "statements.txt",
        *(f"statement_P0{i}.html" for i in range(1, 9)),
    ]
)


def incentsim(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "incentsim", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def money(values: pd.Series) -> Decimal:
    return sum((Decimal(v) for v in values), Decimal("0.00"))


def test_sample_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "statements"
    done = incentsim("payout", str(SCENARIO), str(SAMPLE), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS
    lines = done.stdout.splitlines()
    assert lines[0].startswith(
        "Payout statements: 8 partners, 4 periods (2027-01-04 .. 2028-01-02)"
    )
    assert any(line.split() == ["accrued", "106,050.00"] for line in lines)
    assert any(line.split() == ["cut", "4,800.00"] for line in lines)
    assert lines[-1].startswith("Wrote ")

    # money is read back as exact decimals: totals reconcile to the cent per partner
    df = pd.read_csv(out / "statements.csv", dtype=str)
    assert len(df) == 8 * 4
    for pid, rows in df.groupby("partner_id"):
        accrued, paid, cut = (money(rows[c]) for c in ("accrued", "paid", "cut"))
        owed = Decimal(rows["owed_after"].iloc[-1])
        assert accrued == paid + cut + owed, pid
    assert all(len(v.split(".")[1]) == 2 for v in df["accrued"])
    ledger = pd.read_csv(out / "program_ledger.csv", dtype=str)
    assert money(ledger["paid"]) == money(df["paid"])
    assert money(ledger["cut"]) == money(df["cut"])
    findings = pd.read_csv(out / "findings.csv")
    assert "duplicate_registration" in set(findings["kind"])
    assert "Partner P08" in (out / "statements.txt").read_text()


def test_program_file_with_calendar_options(tmp_path: Path) -> None:
    program = tmp_path / "program.yaml"
    program.write_text("tiers:\n  member:\n    rebate_rate: 0.01\n")
    tx = tmp_path / "tx.csv"
    tx.write_text("partner_id,date,amount\nA,2030-01-08,1000\nA,2030-02-20,500\n")
    out = tmp_path / "out"
    args = ["payout", str(program), str(tx), "--out", str(out), "--start-date", "2030-01-07"]
    assert main([*args, "--weeks-per-period", "4", "--set", "tiers.member.rebate_rate=0.02"]) == 0
    df = pd.read_csv(out / "statements.csv")
    assert df["period"].tolist() == [1, 2]
    assert df["rebate"].tolist() == [20.0, 10.0]


def test_a_bonus_window_too_long_for_the_calendar_option_exits_2(tmp_path: Path) -> None:
    program = tmp_path / "program.yaml"
    program.write_text(
        "tiers:\n  member:\n    rebate_rate: 0.01\n"
        "bonuses:\n  monthly: {horizon_weeks: 4, threshold: 3000, reward: 100}\n"
    )
    tx = tmp_path / "tx.csv"
    tx.write_text("partner_id,date,amount\nA,2027-01-08,1000\n")
    out = tmp_path / "out"
    done = incentsim(
        "payout", str(program), str(tx), "--out", str(out), "--weeks-per-period", "6", cwd=tmp_path
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "program.bonuses.monthly.horizon_weeks 4: a window must fit" in done.stderr
    assert "(--weeks-per-period)" in done.stderr
    assert not out.exists()


def test_bad_file_exits_2_with_line_numbers_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "partner_id,date,amount,segment\n"
        "P01,2027-01-15,100,reseller\n"
        "P02,2027-02-30,100,reseller\n"
        ",2027-03-01,-5,reseller\n"
        "P03,2027-03-01,12,martian\n"
    )
    out = tmp_path / "out"
    done = incentsim("payout", str(SCENARIO), str(bad), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert f"{bad}:3: date '2027-02-30' is not a date" in done.stderr
    assert f"{bad}:4: missing partner_id" in done.stderr
    assert f"{bad}:4: amount -5 is negative" in done.stderr
    assert f"{bad}:5: unknown segment 'martian'" in done.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.yaml", str(SAMPLE)], "cannot read the file"),
        ([str(SCENARIO), "missing.csv"], "missing.csv: file not found"),
        ([str(SCENARIO), str(SAMPLE), "--set", "program.budget.per_period=-1"], "per_period"),
    ],
)
def test_user_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["payout", *args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert message in err
    assert not (tmp_path / "out").exists()


def test_dates_outside_a_shorter_calendar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["payout", str(SCENARIO), str(SAMPLE), "--periods", "2", "--out", str(tmp_path)]) == 2
    )
    err = capsys.readouterr().err
    assert "is after the program calendar ends (2027-07-04, 2 periods of 13 weeks)" in err


def test_an_existing_folder_of_statements_needs_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "statements"
    argv = ["payout", str(SCENARIO), str(SAMPLE), "--out", str(out)]
    previous = os.umask(0o022)
    try:
        assert main(argv) == 0
        before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"error: {out} holds a set of payout statements;" in err
        assert "--overwrite" in err
        assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
        assert main([*argv, "--overwrite"]) == 0
    finally:
        os.umask(previous)
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS
    assert {(out / name).stat().st_mode & 0o777 for name in OUTPUTS} == {0o644}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["statements"]


def test_fiscal_calendar_assigns_transactions_to_fiscal_quarters(tmp_path: Path) -> None:
    """A fiscal year from April in calendar months: statements name the fiscal quarters, date
    them by month ends, and each quarter's revenue is that of the rows dated inside it."""
    out = tmp_path / "statements"
    done = incentsim(
        "payout",
        str(SCENARIO),
        str(SAMPLE),
        "--set",
        "calendar.start_date=2027-01-01",
        "--set",
        "calendar.period_pattern=months",
        "--set",
        "calendar.fiscal_year_start=4",
        "--out",
        str(out),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "4 periods (2027-01-01 .. 2027-12-31)" in done.stdout
    rows = pd.read_csv(out / "statements.csv", dtype={"revenue": str})
    assert rows["fiscal_period"].unique().tolist() == ["FY27 Q4", "FY28 Q1", "FY28 Q2", "FY28 Q3"]
    assert rows["period_end"].unique().tolist() == [
        "2027-03-31",
        "2027-06-30",
        "2027-09-30",
        "2027-12-31",
    ]
    sample = pd.read_csv(SAMPLE, parse_dates=["date"])
    expected = sample.groupby(["partner_id", sample["date"].dt.quarter])["amount"].sum()
    got = rows.set_index(["partner_id", "period"])["revenue"].map(Decimal)
    for (pid, quarter), amount in expected.items():
        assert got[(pid, quarter)] == Decimal(str(amount)), (pid, quarter)
    text = (out / "statements.txt").read_text()
    assert "Period 2 (FY28 Q1)  2027-04-01 .. 2027-06-30" in text
    ledger = pd.read_csv(out / "program_ledger.csv", parse_dates=["payment_date"])
    assert (ledger["payment_date"].dt.day_of_week < 5).all()


def test_bad_fiscal_calendar_is_refused(tmp_path: Path) -> None:
    done = incentsim(
        "payout",
        str(SCENARIO),
        str(SAMPLE),
        "--set",
        "calendar.period_pattern=months",
        "--out",
        str(tmp_path / "s"),
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "calendar.start_date 2027-01-04 does not open a fiscal period" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "s").exists()


def test_contingent_rules_over_transactions_end_to_end(tmp_path: Path) -> None:
    """A recession clause widening the budget, paid over the sample with the bundled demand
    series: demand of quarter 2 is 0.82, so the rule is in force in quarter 3, whose budget
    (1.5 times) pays what the plain program cut there."""
    rule = "program.contingent.relief={below: 0.9, threshold_scale: indicator, budget_scale: 1.5}"
    indicators = ROOT / "scenarios" / "sample_indicators.csv"
    out = tmp_path / "statements"
    args = ["payout", str(SCENARIO), str(SAMPLE), "--set", rule, "--out", str(out)]
    done = incentsim(*args, "--indicators", str(indicators), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert any(line.split() == ["cut", "0.00"] for line in done.stdout.splitlines())
    frame = pd.read_csv(out / "statements.csv", keep_default_na=False)
    in_force = frame.groupby("period")["contingent_rules"].agg(set).to_dict()
    assert in_force == {1: {""}, 2: {""}, 3: {"relief"}, 4: {""}}
    ledger = pd.read_csv(out / "program_ledger.csv")
    plain = incentsim(
        "payout", str(SCENARIO), str(SAMPLE), "--out", str(tmp_path / "p"), cwd=tmp_path
    )
    assert plain.returncode == 0, plain.stderr
    plain_ledger = pd.read_csv(tmp_path / "p" / "program_ledger.csv")
    widened = ledger["budget"] / plain_ledger["budget"]
    assert widened.round(6).tolist() == [1.0, 1.0, 1.5, 1.0]
    assert "contingent rule relief in force" in (out / "statements.txt").read_text()

    missing = incentsim(*args[:-1], str(tmp_path / "other"), cwd=tmp_path)
    assert missing.returncode == 2
    assert "program.contingent.relief reads the market's demand indicator" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert not (tmp_path / "other").exists()
