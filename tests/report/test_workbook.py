"""``--excel FILE.xlsx`` on run, compare and stress: formatted workbooks, one sheet per table."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest

from incentsim.cli import main

SMALL = Path(__file__).parents[2] / "scenarios" / "small.yaml"
QUICK = ["--reps", "3", "--seed", "5", "--set", "population.partners=40", "--no-progress"]


def rows(sheet: openpyxl.worksheet.worksheet.Worksheet) -> list[dict[str, openpyxl.cell.Cell]]:
    """Each data row as ``heading -> cell``."""
    header = [c.value for c in sheet[1]]
    return [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]


def assert_no_numbers_as_text(book: openpyxl.Workbook) -> None:
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert all(c.font.b for c in sheet[1])
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str):
                    text = cell.value.replace(",", "").replace(".", "", 1).lstrip("-")
                    assert not (text.isdigit() and sheet.title != "about"), (sheet.title, cell)
                if isinstance(cell.value, float):
                    assert cell.number_format != "General", (sheet.title, cell.coordinate)


def test_run_excel_writes_summary_tables_and_trajectories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, book_path = tmp_path / "run", tmp_path / "run.xlsx"
    fiscal = ["--set", "calendar.fiscal_year_start=1", "--set", "calendar.period_pattern=4-4-5"]
    assert (
        main(["run", str(SMALL), *QUICK, *fiscal, "--out", str(out), "--excel", str(book_path)])
        == 0
    )
    assert f"workbook: {book_path}" in capsys.readouterr().err
    book = openpyxl.load_workbook(book_path)
    assert book.sheetnames == [
        "about",
        "summary",
        "cost by component",
        "trajectories",
        "tier flows",
        "tier flow shares",
        "tier moves",
        "replications",
    ]
    assert_no_numbers_as_text(book)
    summary = json.loads((out / "summary.json").read_text())["outcomes"]
    by_name = {r["name"].value: r for r in rows(book["summary"])}
    cost = by_name["incentive_cost"]
    assert cost["outcome"].value == "Incentive cost"
    assert cost["unit"].value == "USD"
    assert cost["mean"].value == pytest.approx(summary["incentive_cost"]["mean"])
    assert cost["mean"].number_format == "#,##0"
    assert cost["95% CI low"].value < cost["mean"].value < cost["95% CI high"].value
    assert by_name["retention"]["P50"].number_format == "0.0%"
    assert by_name["budget_exceeded"]["mean"].number_format == "0.0%"
    trajectory = rows(book["trajectories"])[0]
    assert trajectory["fiscal_period"].value == "FY27 Q1"
    assert trajectory["start"].value == dt.datetime(2027, 1, 4)
    assert trajectory["start"].number_format == "yyyy-mm-dd"
    assert rows(book["tier moves"])[0]["period"].value == "FY27 Q1"
    assert rows(book["tier flow shares"])[1]["unqualified"].number_format == "0.0%"
    about = {r["item"].value: r["value"] for r in rows(book["about"])}
    assert about["horizon"].value == "4 periods of 13 weeks (4-4-5): FY27 Q1 to FY27 Q4"
    assert about["last day"].value == dt.datetime(2028, 1, 2)  # 52 weeks


def test_compare_excel_writes_differences_and_means(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    richer = tmp_path / "richer.yaml"
    richer.write_text(
        f"extends: {SMALL}\nname: richer\nprogram:\n  tiers:\n"
        "    registered: {rebate_rate: 0.02}\n    silver: {rebate_rate: 0.04}\n"
        "    gold: {rebate_rate: 0.06}\n    platinum: {rebate_rate: 0.08}\n"
    )
    book_path = tmp_path / "compare.xlsx"
    assert main(["compare", str(SMALL), str(richer), *QUICK, "--excel", str(book_path)]) == 0
    assert f"workbook: {book_path}" in capsys.readouterr().err
    book = openpyxl.load_workbook(book_path)
    assert book.sheetnames == ["about", "differences", "means"]
    assert_no_numbers_as_text(book)
    cost = next(r for r in rows(book["differences"]) if r["name"].value == "incentive_cost")
    assert cost["variant"].value == "richer"
    assert cost["difference"].value == pytest.approx(
        cost["variant mean"].value - cost["reference mean"].value
    )
    assert cost["difference"].number_format == "#,##0"
    assert cost["verdict"].value
    means = {r["outcome"].value: r for r in rows(book["means"])}
    assert means["Retention"]["small"].number_format == "0.0%"


def test_stress_excel_writes_risks_and_resilience(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book_path = tmp_path / "stress.xlsx"
    argv = ["stress", str(SMALL), "--shocks", "recession", *QUICK, "--excel", str(book_path)]
    assert main(argv) == 0
    assert f"workbook: {book_path}" in capsys.readouterr().err
    book = openpyxl.load_workbook(book_path)
    assert book.sheetnames == ["about", "risks", "resilience"]
    assert_no_numbers_as_text(book)
    risks = rows(book["risks"])
    assert [r["case"].value for r in risks] == ["baseline", "recession:severe"]
    assert risks[0]["P(over budget)"].number_format == "0.0%"
    assert risks[0]["Lowest reserve (mean)"].number_format == "#,##0"
    revenue = [r for r in rows(book["resilience"]) if r["outcome"].value == "revenue_net"]
    assert revenue[1]["change"].value < 0
    assert revenue[1]["change"].number_format == "#,##0"
    retention = next(r for r in rows(book["resilience"]) if r["outcome"].value == "retention")
    assert retention["95% CI low"].number_format == "0.0%"


@pytest.mark.parametrize("name", ["out.csv", "missing/out.xlsx"])
def test_a_bad_workbook_name_is_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    out = tmp_path / "run"
    argv = ["run", str(SMALL), *QUICK, "--out", str(out), "--excel", str(tmp_path / name)]
    assert main(argv) == 2
    assert "--excel" in capsys.readouterr().err
    assert not out.exists()
