"""Reading and validating transaction files: every invalid row reported with its line number."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from incentsim.calendar import Calendar
from incentsim.errors import DataError
from incentsim.payout.transactions import read_transactions, validate_transactions

CALENDAR = Calendar(horizon_periods=4)  # 2027-01-04 .. 2028-01-02


def write(tmp_path: Path, text: str, name: str = "tx.csv") -> Path:
    path = tmp_path / name
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


def problems(path: Path, **kwargs: object) -> list[tuple[int | None, str]]:
    with pytest.raises(DataError) as info:
        read_transactions(path, **kwargs)  # type: ignore[arg-type]
    return info.value.problems


def lines_with(found: list[tuple[int | None, str]], text: str) -> list[int | None]:
    return [line for line, msg in found if text in msg]


def test_a_valid_file_is_typed_and_keeps_every_row(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
partner_id,date,amount,segment,deal_type,co_sell,returned_amount,csat,new_logo
A,2027-01-05,1000.50,reseller,new_logo,yes,,4.5,
A,2027-02-01,,reseller,,,250,,
B,2027-03-01T09:30:00,0,,Renewal,0,,,true

C,2027-03-02,7,,,,,,
""",
    )
    df = read_transactions(path, calendar=CALENDAR)
    assert list(df["line"]) == [2, 3, 4, 6]  # the blank line 5 holds no data
    assert list(df["partner_id"]) == ["A", "A", "B", "C"]
    assert df["date"].dt.date.tolist() == [
        dt.date(2027, 1, 5),
        dt.date(2027, 2, 1),
        dt.date(2027, 3, 1),
        dt.date(2027, 3, 2),
    ]
    assert df["amount"].tolist() == [1000.5, 0.0, 0.0, 7.0]
    assert df["returned_amount"].tolist() == [0.0, 250.0, 0.0, 0.0]
    assert df["co_sell"].tolist() == [True, False, False, False]
    assert df["deal_type"].tolist() == ["new_logo", "other", "renewal", "other"]
    # new_logo: given explicitly, else from the deal type
    assert df["new_logo"].tolist() == [True, False, True, False]
    # a partner's segment fills its blank rows; a partner with none is in "all"
    assert df["segment"].tolist() == ["reseller", "reseller", "all", "all"]
    assert df["region"].tolist() == ["all"] * 4
    assert np.isnan(df["csat"].iloc[1])
    assert df["csat"].iloc[0] == 4.5
    assert df.attrs["validated"] is True


def test_every_invalid_row_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
partner_id,date,amount,segment,region,deal_type,co_sell,returned_amount,csat,certified_staff,mdf_claim,deal_registration_id,audit_flag
A,2027-01-05,100,reseller,emea,,,,,,,R1,
A,2027-13-01,100,reseller,emea,,,,,,,,
A,2027-01-06,abc,reseller,emea,,,,,,,,
A,2027-01-07,-50,reseller,emea,,,,,,,,
,2027-01-08,10,reseller,emea,,,,,,,,
A,2027-01-09,10,si,emea,,,,,,,,
A,2027-01-10,10,reseller,apac,,,,,,,,
A,2027-01-11,10,reseller,emea,bogus,,,,,,,
A,2027-01-12,10,reseller,emea,,maybe,,,,,,
A,2027-01-13,10,reseller,emea,,,-5,,,,,
A,2027-01-14,10,reseller,emea,,,,6,,,,
A,2027-01-15,10,reseller,emea,,,,,-1,,,
A,2027-01-16,10,reseller,emea,,,,,,x,,
A,2026-12-31,10,reseller,emea,,,,,,,,
A,2028-01-03,10,reseller,emea,,,,,,,,
A,2027-01-17,,reseller,emea,,,,,,,,
A,2027-01-18,,reseller,emea,,,,,,,,true
A,2027-01-19,,reseller,emea,,,,,,,R9,true
A,2027-01-20,5,reseller,emea,,,,,,,R1,true
A,2027-01-21,,reseller,emea,,,,,,,R1,true
A,2027-01-22,10,reseller
A,2027-01-23,1e400,reseller,emea,,,,,,,,
A,2027-01-24,nan,reseller,emea,,,,,,,,
""",
    )
    found = problems(path, calendar=CALENDAR)
    expected = {
        3: "date '2027-13-01' is not a date",
        4: "amount 'abc' is not a number",
        5: "amount -50 is negative; record a return as a positive returned_amount",
        6: "missing partner_id",
        7: "partner 'A' is in segment 'si' here but in 'reseller' on line 2",
        8: "partner 'A' is in region 'apac' here but in 'emea' on line 2",
        9: "deal_type 'bogus' is not one of new_logo, renewal, other",
        10: "co_sell 'maybe' is not true/false",
        11: "returned_amount -5 is negative",
        12: "csat 6 is above 5",
        13: "certified_staff -1 is negative",
        14: "mdf_claim 'x' is not a number",
        15: "date 2026-12-31 is before the program starts (2027-01-04)",
        16: "date 2028-01-03 is after the program calendar ends (2028-01-02",
        17: "missing amount",
        18: "audit_flag needs the deal_registration_id it audits",
        19: "audit_flag on registration 'R9' but partner 'A' has no deal with that registration",
        20: "an audit row records a finding, not a sale",
        21: "registration 'R1' already audited on line 20",
        22: "has 4 fields but the header has 13",
        23: "amount '1e400' is not a number",
        24: "amount 'nan' is not a number",
    }
    for line, text in expected.items():
        assert lines_with(found, text) == [line], (line, text, found)
    assert {line for line, _ in found} == set(expected)  # nothing else, nothing dropped
    # lines are reported in file order
    assert [line for line, _ in found] == sorted(line for line, _ in found)


def test_the_error_message_names_file_and_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "partner_id,date,amount\nA,2027-01-05,x\nB,soon,1\n")
    with pytest.raises(DataError) as info:
        read_transactions(path)
    text = str(info.value)
    assert f"{path}:2: amount 'x' is not a number" in text
    assert f"{path}:3: date 'soon' is not a date (use YYYY-MM-DD)" in text


def test_unknown_segments_and_regions_are_errors_when_the_names_are_known(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "partner_id,date,amount,segment,region\nA,2027-01-05,1,reseller,emea\n"
        "B,2027-01-05,1,distributor,emea\nC,2027-01-05,1,reseller,mars\n",
    )
    found = problems(path, segments=["reseller", "system_integrator"], regions=["emea"])
    assert lines_with(found, "unknown segment 'distributor'") == [3]
    assert lines_with(found, "unknown region 'mars'") == [4]
    # free-form without a scenario
    assert len(read_transactions(path)) == 3


def test_a_single_known_segment_is_the_default(tmp_path: Path) -> None:
    path = write(tmp_path, "partner_id,date,amount\nA,2027-01-05,1\n")
    df = read_transactions(path, segments=["reseller"], regions=["emea", "apac"])
    assert df["segment"].tolist() == ["reseller"]
    assert df["region"].tolist() == ["all"]


def test_column_problems(tmp_path: Path) -> None:
    path = write(tmp_path, "partner,date,amount,amount,colour\nA,2027-01-05,1,1,red\n")
    found = problems(path)
    assert all(line == 1 for line, _ in found)
    messages = " | ".join(msg for _, msg in found)
    assert "unknown column 'partner'" in messages
    assert "unknown column 'colour'" in messages
    assert "column 'amount' appears more than once" in messages
    assert "missing required column 'partner_id'" in messages


def test_column_names_are_case_insensitive(tmp_path: Path) -> None:
    path = write(tmp_path, " Partner_ID ,DATE,Amount\nA,2027-01-05,1\n")
    assert read_transactions(path)["amount"].tolist() == [1.0]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", "", "the file is empty"),
        ("tx.json", "{}", "unknown file type '.json'"),
        ("bad.parquet", "not parquet", "cannot read Parquet file"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    found = problems(path)
    assert any(message in msg for _, msg in found)


def test_missing_file(tmp_path: Path) -> None:
    assert problems(tmp_path / "nope.csv") == [(None, "file not found")]
    (tmp_path / "folder.csv").mkdir()
    assert problems(tmp_path / "folder.csv") == [(None, "not a file")]


def test_a_file_that_cannot_be_opened_is_a_data_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "partner_id,date,amount\nP1,2027-01-05,1\n")

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", denied)
    assert problems(path) == [(None, "cannot read the file: Permission denied")]


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("partner_id,date,amount\nMüller,2027-01-05,1\n".encode("latin-1"))
    assert "not UTF-8" in problems(path)[0][1]


def test_parquet_with_native_types(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "partner_id": [101, 102],
            "date": pd.to_datetime(["2027-01-05", "2027-02-06"]),
            "amount": [1000.0, np.nan],
            "returned_amount": [np.nan, 20.0],
            "co_sell": [True, False],
        }
    )
    path = tmp_path / "tx.parquet"
    frame.to_parquet(path)
    df = read_transactions(path)
    assert df["partner_id"].tolist() == ["101", "102"]
    assert df["amount"].tolist() == [1000.0, 0.0]
    assert df["co_sell"].tolist() == [True, False]
    assert list(df["line"]) == [2, 3]


def test_parquet_with_wrong_columns(tmp_path: Path) -> None:
    path = tmp_path / "tx.parquet"
    pd.DataFrame({"partner": ["A"], "Date": ["2027-01-05"], "amount": [1.0]}).to_parquet(path)
    found = problems(path)
    assert (1, "missing required column 'partner_id'") in found
    assert lines_with(found, "unknown column 'partner'; columns are: partner_id, date") == [1]
    assert not lines_with(found, "'date'")  # names are case-insensitive


def test_parquet_errors_count_rows_like_csv_lines(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "partner_id": ["A", "B", "C"],
            "date": ["2027-01-05", "2027-01-05", "x"],
            "amount": [1, -2, 3],
        }
    )
    path = tmp_path / "tx.parquet"
    frame.to_parquet(path)
    found = problems(path)
    assert lines_with(found, "amount -2 is negative") == [3]
    assert lines_with(found, "date 'x' is not a date") == [4]


def test_a_dataframe_is_validated_like_a_file() -> None:
    frame = pd.DataFrame(
        {"partner_id": ["A", ""], "date": ["2027-01-05", "2027-01-05"], "amount": [1, 2]}
    )
    with pytest.raises(DataError) as info:
        validate_transactions(frame, "frame")
    assert info.value.problems == [(3, "missing partner_id")]


def test_duplicate_registrations_across_partners_are_not_errors(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "partner_id,date,amount,deal_registration_id\nA,2027-01-05,1,R1\nB,2027-01-06,1,R1\n",
    )
    assert len(read_transactions(path)) == 2


def test_more_than_fifty_problems_are_summarised(tmp_path: Path) -> None:
    rows = "".join(f"A,2027-01-05,-{i + 1}\n" for i in range(60))
    path = write(tmp_path, "partner_id,date,amount\n" + rows)
    with pytest.raises(DataError) as info:
        read_transactions(path)
    assert len(info.value.problems) == 60
    assert str(info.value).splitlines()[-1].endswith("... and 10 more problems")


def test_dates_take_the_day_of_an_iso_timestamp(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "partner_id,date,amount\nA,2027-01-05T10:00:00+02:00,1\nA,2027-1-5,1\n"
        "A,2027-01-05 23:59,1\nA,2027-01-05T10:00:00Z,1\n",
    )
    assert set(read_transactions(path)["date"].dt.date) == {dt.date(2027, 1, 5)}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("20270105", "date '20270105' is not a date (use YYYY-MM-DD)"),
        ("05/01/2027", "date '05/01/2027' is not a date"),
        ("2027-02-29", "date '2027-02-29' is not a date"),
        ("2027-01-05Tnoon", "date '2027-01-05Tnoon' is not a date"),
    ],
)
def test_bad_dates(tmp_path: Path, value: str, message: str) -> None:
    path = write(tmp_path, f"partner_id,date,amount\nA,{value},1\n")
    assert lines_with(problems(path), message) == [2]


def test_thousands_separators_get_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, 'partner_id,date,amount\nA,2027-01-05,"1,000"\n')
    assert problems(path) == [
        (2, "amount '1,000' is not a number (no thousands separators; a dot for decimals)")
    ]
