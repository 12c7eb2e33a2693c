"""Fiscal calendars: validation, period names and dates, and which period a date falls in."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from incentsim.calendar import Calendar


def calendar(**fields: Any) -> Calendar:
    return Calendar.model_validate(fields)


def test_the_default_calendar_keeps_its_labels_and_dates() -> None:
    cal = Calendar()
    assert [cal.period_label(p) for p in (0, 3, 4)] == ["Q1 2027", "Q4 2027", "Q1 2028"]
    assert cal.period_bounds(1) == (dt.date(2027, 4, 5), dt.date(2027, 7, 4))
    assert cal.end_date == dt.date(2028, 12, 31)
    assert cal.horizon_text == "8 periods of 13 weeks"
    monthly = calendar(weeks_per_period=4, periods_per_year=13)
    assert monthly.period_label(1) == "2027-02-01"


def test_fiscal_year_from_february_in_calendar_months() -> None:
    cal = calendar(start_date="2027-02-01", fiscal_year_start=2, period_pattern="months")
    assert [cal.period_label(p) for p in range(5)] == [
        "FY28 Q1",
        "FY28 Q2",
        "FY28 Q3",
        "FY28 Q4",
        "FY29 Q1",
    ]
    assert cal.period_bounds(0) == (dt.date(2027, 2, 1), dt.date(2027, 4, 30))
    assert cal.period_bounds(3) == (dt.date(2027, 11, 1), dt.date(2028, 1, 31))
    assert cal.end_date == dt.date(2029, 1, 31)
    assert cal.horizon_text == "8 periods of 3 months"
    dates = np.array(["2027-02-01", "2027-04-30", "2027-05-01", "2028-01-31", "2027-01-31"])
    assert cal.period_of(dates.astype("datetime64[D]")).tolist() == [0, 0, 1, 3, -1]
    named_by_start = cal.model_copy(update={"fiscal_year_named_by": "start"})
    assert named_by_start.period_label(0) == "FY27 Q1"


def test_a_start_mid_year_takes_its_quarter_and_months_are_named() -> None:
    cal = calendar(start_date="2027-08-01", fiscal_year_start=2, period_pattern="months")
    assert cal.period_label(0) == "FY28 Q3"
    months = calendar(
        start_date="2027-03-01",
        fiscal_year_start=2,
        period_pattern="months",
        periods_per_year=12,
        weeks_per_period=4,
        horizon_periods=12,
    )
    assert [months.period_label(p) for p in (0, 10, 11)] == ["FY28 M02", "FY28 M12", "FY29 M01"]
    assert months.period_bounds(0) == (dt.date(2027, 3, 1), dt.date(2027, 3, 31))


@pytest.mark.parametrize("pattern", ["4-4-5", "4-5-4", "5-4-4"])
def test_52_week_patterns_make_13_week_quarters(pattern: str) -> None:
    # the Sunday nearest 1 February 2027 opens the fiscal year
    cal = calendar(start_date="2027-01-31", fiscal_year_start=2, period_pattern=pattern)
    assert cal.period_label(0) == "FY28 Q1"
    assert cal.period_bounds(0) == (dt.date(2027, 1, 31), dt.date(2027, 5, 1))
    assert cal.horizon_text == f"8 periods of 13 weeks ({pattern})"
    january = calendar(start_date="2027-01-04", period_pattern=pattern)
    assert january.period_label(4) == "FY28 Q1"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"period_pattern": "4-4-5", "weeks_per_period": 4, "periods_per_year": 13},
            "calendar.period_pattern 4-4-5 makes 13-week quarters",
        ),
        (
            {"period_pattern": "months", "periods_per_year": 5, "weeks_per_period": 10},
            "calendar.periods_per_year 5 does not divide the year's 12 months",
        ),
        (
            {"period_pattern": "months", "start_date": "2027-01-01", "weeks_per_period": 12},
            "calendar.weeks_per_period must be 13 with period_pattern months",
        ),
        (
            {"period_pattern": "months", "start_date": "2027-01-04"},
            "calendar.start_date 2027-01-04 does not open a fiscal period",
        ),
        (
            {"period_pattern": "months", "fiscal_year_start": 2, "start_date": "2027-03-01"},
            "it must be the first of February, May, August, November",
        ),
        (
            {"period_pattern": "5-4-4", "fiscal_year_start": 2, "start_date": "2027-02-20"},
            "within 6 days of the first of February, May, August, November",
        ),
        ({"fiscal_year_start": 13}, "less than or equal to 12"),
        ({"period_pattern": "4-4-4"}, "period_pattern"),
    ],
)
def test_bad_fiscal_settings_are_refused_with_the_field(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        calendar(**fields)
    assert message in str(info.value)
