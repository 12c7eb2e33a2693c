"""Transactions as other systems export them: a CRM-style export through a column mapping and
an Excel workbook give the same payouts as the canonical CSV."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from incentsim.errors import DataError
from incentsim.payout import (
    ColumnMapping,
    Statements,
    compute_statements,
    read_transactions,
    write_excel,
)
from incentsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "scenarios" / "sample_transactions.csv"
SCENARIO = load_scenario(ROOT / "scenarios" / "payout_demo.yaml")
#: CRM names for the canonical columns.
RENAMES = {
    "partner_id": "Account ID",
    "date": "Close Date",
    "amount": "Amount",
    "segment": "Partner Type",
    "region": "Territory",
    "deal_registration_id": "Opportunity",
    "returned_amount": "Credit Memo",
    "mdf_claim": "MDF Request",
}


def statements(path: Path, mapping: ColumnMapping | None = None) -> Statements:
    tx = read_transactions(path, calendar=SCENARIO.calendar, mapping=mapping)
    return compute_statements(SCENARIO.program, SCENARIO.calendar, tx)


def paid(result: Statements) -> pd.DataFrame:
    return result.partners[["partner_id", "period", "accrued", "paid", "cut", "owed_after"]]


@pytest.fixture(scope="module")
def canonical() -> Statements:
    return statements(SAMPLE)


def crm_export(folder: Path) -> Path:
    """The sample as a CRM would export it: renamed and extra columns, US dates, "$" amounts
    with thousands separators, ";" between fields."""
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    dates = pd.to_datetime(frame["date"])
    frame["date"] = dates.dt.strftime("%m/%d/%Y")
    for name in ("amount", "returned_amount", "mdf_claim"):
        frame[name] = [f"${float(v):,.2f}" if v else "" for v in frame[name]]
    frame = frame.rename(columns=RENAMES)
    frame.insert(2, "Owner", "j.smith")
    frame["Stage"] = "Closed Won"
    path = folder / "crm_export.csv"
    frame.to_csv(path, index=False, sep=";")
    return path


def test_a_crm_export_through_a_mapping_pays_the_same(
    canonical: Statements, tmp_path: Path
) -> None:
    mapping_file = tmp_path / "crm.yaml"
    lines = "\n".join(f"  {k}: {v}" for k, v in RENAMES.items())
    mapping_file.write_text(f"columns:\n{lines}\nseparator: ';'\n")
    export = crm_export(tmp_path)
    assert "$40,000.00" in export.read_text()
    tx = read_transactions(
        export, calendar=SCENARIO.calendar, mapping=ColumnMapping.load(mapping_file)
    )
    assert tx.attrs["notes"] == [
        "ignored 2 column(s) not in the mapping: owner, stage",
        "dates read as %m/%d/%Y",
    ]
    result = compute_statements(SCENARIO.program, SCENARIO.calendar, tx)
    pd.testing.assert_frame_equal(paid(result), paid(canonical))
    pd.testing.assert_frame_equal(result.lines, canonical.lines)


def test_an_excel_workbook_pays_the_same(canonical: Statements, tmp_path: Path) -> None:
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    typed = frame.replace("", None)
    typed["date"] = pd.to_datetime(typed["date"])  # Excel date cells
    typed["amount"] = pd.to_numeric(typed["amount"])
    path = tmp_path / "tx.xlsx"
    typed.to_excel(path, index=False)
    pd.testing.assert_frame_equal(paid(statements(path)), paid(canonical))


def test_the_statements_export_to_excel(canonical: Statements, tmp_path: Path) -> None:
    path = write_excel(canonical, tmp_path / "statements.xlsx")
    sheets = pd.read_excel(path, sheet_name=None)
    assert list(sheets) == ["summary", "statements", "statement lines", "payout runs", "findings"]
    assert sheets["statement lines"]["amount"].sum() == pytest.approx(103_300.0)
    assert len(sheets["statements"]) == len(canonical.partners)


def test_a_mapping_naming_a_missing_column_is_refused(tmp_path: Path) -> None:
    export = crm_export(tmp_path)
    mapping = ColumnMapping.of({"columns": {"partner_id": "Partner"}, "separator": ";"})
    with pytest.raises(DataError, match="the file has no column 'Partner'"):
        read_transactions(export, mapping=mapping)
    with pytest.raises(DataError, match="'partner' is not a column"):
        ColumnMapping.of({"columns": {"partner": "Account ID"}})


def test_day_first_dates_need_their_format(tmp_path: Path) -> None:
    path = tmp_path / "eu.csv"
    path.write_text('partner_id,date,amount\nA,31/01/2027,"EUR 1,250.50"\n')
    plain = ColumnMapping()
    with pytest.raises(DataError, match="is not a date"):
        read_transactions(path, mapping=plain)
    tx = read_transactions(path, mapping=ColumnMapping(date_format="%d/%m/%Y"))
    assert tx["date"].iloc[0].date() == dt.date(2027, 1, 31)
    assert tx["amount"].iloc[0] == 1250.5
