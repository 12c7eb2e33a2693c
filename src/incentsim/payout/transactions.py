"""Read and validate a file of real partner transactions (CSV, Parquet or Excel ``.xlsx``).

One row is one event on one date for one partner: a sale (``amount``), a return, a snapshot of
the partner's certified staff or customer-satisfaction score, a marketing (MDF) claim or an
audit finding. Several kinds may share a row.

Columns (names are case-insensitive; any other column is an error, so a misspelt optional
column never passes silently; an export with other names, extra columns, currency strings or
other date formats is read through a column mapping, :mod:`incentsim.payout.intake`). Fields
are separated by ``,`` (or ``;`` when the header line has no ``,``); an ``.xlsx`` workbook is
read from its first sheet, header on the first row:

=======================  ========  ================================================================
column                   required  meaning
=======================  ========  ================================================================
``partner_id``           yes       the partner (text)
``date``                 yes       ISO date ``YYYY-MM-DD`` (a time of day is ignored)
``amount``               yes       invoiced revenue, ``>= 0``; blank means 0 on a row that records
                                   something else (a return, snapshot, claim or audit)
``segment``, ``region``  no        the partner's segment and region (free-form, one per partner;
                                   blank on some rows is fine); default ``all``
``product``              no        product line, matched against a SPIFF's ``product``
``deal_type``            no        ``new_logo``, ``renewal`` or ``other`` (blank: ``other``)
``deal_registration_id`` no        the registered deal this row belongs to (blank: unregistered)
``co_sell``              no        ``true`` when the deal was worked jointly with the vendor
``co_delivery``          no        share (0-1) of delivery the partner did itself on a co-sold deal
``returned_amount``      no        revenue returned on this date, as a positive number
``new_logo``             no        ``true`` when the sale won a new customer (blank: taken from
                                   ``deal_type == new_logo``)
``certified_staff``      no        snapshot of the partner's certified staff (latest in a period
                                   wins; carried forward to later periods)
``csat``                 no        snapshot of customer satisfaction, 0-5 (as ``certified_staff``)
``mdf_claim``            no        marketing spend claimed for MDF reimbursement on this date
``audit_flag``           no        ``true``: on this date an audit found the deal named by
                                   ``deal_registration_id`` invalid; what it earned in SPIFFs and
                                   co-selling bonus is clawed back
=======================  ========  ================================================================

Returns convention: ``amount`` is never negative; a return is a positive ``returned_amount`` on
the date it was booked (with ``amount`` 0 or blank, or on the same row as a new sale). A
negative ``amount`` is reported as an error with that hint.

Booleans accept ``true/false``, ``yes/no``, ``y/n``, ``t/f`` and ``1/0`` (blank: false).

Every row is checked and every problem is reported at once in a :class:`~incentsim.errors.DataError`
with its line number (the header is line 1; for Parquet and DataFrames, the first row is "line 2"
too, so numbers mean the same thing). No row is ever dropped.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from incentsim.calendar import Calendar
from incentsim.errors import DataError
from incentsim.payout.intake import ColumnMapping
from incentsim.quantities import MAX_AMOUNT, MAX_TOTAL

REQUIRED = ("partner_id", "date", "amount")
OPTIONAL = (
    "segment",
    "region",
    "product",
    "deal_type",
    "deal_registration_id",
    "co_sell",
    "co_delivery",
    "returned_amount",
    "new_logo",
    "certified_staff",
    "csat",
    "mdf_claim",
    "audit_flag",
)
COLUMNS = REQUIRED + OPTIONAL
DEAL_TYPES = ("new_logo", "renewal", "other")
#: Segment and region of a partner whose file gives none.
DEFAULT_GROUP = "all"

_TEXT = ("partner_id", "segment", "region", "product", "deal_type", "deal_registration_id")
_BOOL = ("co_sell", "new_logo", "audit_flag")
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
#: Numeric columns: (lowest allowed, highest allowed, value when blank).
_NUMERIC: dict[str, tuple[float, float, float]] = {
    "amount": (0.0, np.inf, 0.0),
    "returned_amount": (0.0, np.inf, 0.0),
    "mdf_claim": (0.0, np.inf, 0.0),
    "co_delivery": (0.0, 1.0, np.nan),
    "certified_staff": (0.0, np.inf, np.nan),
    "csat": (0.0, 5.0, np.nan),
}
#: ISO date, optionally followed by a valid time of day (ignored) and a UTC offset.
_DATE = (
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T ](?:[01]?\d|2[0-3]):[0-5]\d(?::(?:[0-5]\d|60)(?:\.\d+)?)?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?)?$"
)
#: Money columns, each bounded per row by MAX_AMOUNT and over the file by MAX_TOTAL.
MONEY_COLUMNS = ("amount", "returned_amount", "mdf_claim")
#: Control characters (NUL, line breaks, escapes...) refused in text columns.
_CONTROL = r"[\x00-\x1f\x7f]"

Problems = list[tuple[int | None, str]]


def read_transactions(
    path: str | Path,
    *,
    calendar: Calendar | None = None,
    segments: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
    mapping: ColumnMapping | None = None,
) -> pd.DataFrame:
    """Read a transactions file (``.csv``, ``.parquet``/``.pq`` or ``.xlsx``) and validate
    every row.

    Parameters
    ----------
    path
        The file.
    calendar
        Optional :class:`~incentsim.scenario.model.Calendar`: dates must then fall inside it.
    segments, regions
        Optional known names (a scenario's population): values outside them are errors.
    mapping
        Optional :class:`~incentsim.payout.intake.ColumnMapping` for an export with other
        column names, extra columns, currency strings, other date formats or separators.

    Returns
    -------
    pandas.DataFrame
        One row per input row, in file order, with a ``line`` column and typed columns (see
        :func:`validate_transactions`); ``attrs["notes"]`` lists what a mapping ignored or
        converted.

    Raises
    ------
    DataError
        Listing every invalid row with its line number, or a file that cannot be read.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise DataError(path, [(None, "not a file" if path.exists() else "file not found")])
    early: Problems = []
    if suffix in (".csv", ".txt"):
        raw, lines, early = _read_csv(path, mapping.separator if mapping else None)
    elif suffix in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for a damaged file
            raise DataError(path, [(None, f"cannot read Parquet file: {exc}")]) from None
        raw, lines = _as_text(frame), None
    elif suffix == ".xlsx":
        raw, lines = _read_excel(path)
    else:
        raise DataError(
            path, [(None, f"unknown file type '{suffix}'; use .csv, .parquet or .xlsx")]
        )
    notes: list[str] = []
    if mapping is not None:
        raw, notes = mapping.apply(raw, path)
    frame = _validate(raw, path, lines, calendar, segments, regions, early)
    frame.attrs["notes"] = notes
    return frame


def _read_excel(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """The first sheet of an ``.xlsx`` workbook (header on its first row) as text, and each
    row's line (its row number in the sheet); blank rows hold no data, as blank CSV lines."""
    try:
        frame = pd.read_excel(path, sheet_name=0, dtype=object, engine="openpyxl")
    except ImportError:
        raise DataError(
            path, [(None, "reading .xlsx needs openpyxl (pip install openpyxl)")]
        ) from None
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise DataError(path, [(None, f"cannot read the Excel workbook: {exc}")]) from None
    lines = np.arange(2, len(frame) + 2, dtype=np.int64)
    filled = frame.notna().any(axis=1).to_numpy()
    return _as_text(frame[filled]), lines[filled]


def validate_transactions(
    frame: pd.DataFrame,
    source: str | Path = "<transactions>",
    *,
    calendar: Calendar | None = None,
    segments: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Validate transactions given as a DataFrame (values as text or native types).

    Line numbers in errors count the first row as line 2, as if the frame had come from a CSV
    with a header. A frame returned by this function or :func:`read_transactions` is trusted:
    only its dates are checked against ``calendar`` and its names against ``segments`` and
    ``regions`` (with its own ``line`` numbers in errors).

    Returns
    -------
    pandas.DataFrame
        Columns ``line, partner_id, date`` (datetime64, midnight), ``amount, segment, region,
        product, deal_type, deal_registration_id, co_sell, co_delivery, returned_amount, new_logo,
        certified_staff, csat, mdf_claim, audit_flag``. Text columns are ``""`` when blank;
        ``co_delivery``, ``certified_staff`` and ``csat`` are NaN when not given.
    """
    if frame.attrs.get("validated") and "line" in frame.columns:
        problems = _names_and_dates(frame, calendar, segments, regions)
        if problems:
            problems.sort(key=lambda p: p[0])
            raise DataError(source, problems)
        return frame
    lines = None
    if "line" in frame.columns:
        lines = frame["line"].to_numpy(dtype=np.int64)
        frame = frame.drop(columns="line")
    return _validate(_as_text(frame), source, lines, calendar, segments, regions)


def _names_and_dates(
    frame: pd.DataFrame,
    calendar: Calendar | None,
    segments: Sequence[str] | None,
    regions: Sequence[str] | None,
) -> list[tuple[int, str]]:
    """Problems of a validated frame against a calendar and known names (with line numbers)."""
    line = frame["line"].to_numpy()
    problems: list[tuple[int, str]] = []
    for pos, _, msg in _calendar_problems(frame, calendar):
        problems.append((int(line[pos]), msg))
    for name, known in (("segment", segments), ("region", regions)):
        if known is None:
            continue
        values = frame[name].to_numpy(dtype=object)
        for pos in np.flatnonzero(~np.isin(values, [*known, DEFAULT_GROUP])).tolist():
            msg = f"unknown {name} '{values[pos]}' (known: {', '.join(known)})"
            problems.append((int(line[pos]), msg))
    return problems


# --------------------------------------------------------------------------------------------
# Reading


def _read_csv(
    path: Path, separator: str | None = None
) -> tuple[pd.DataFrame, np.ndarray, Problems]:
    """Rows as text with the line each record starts on, and the malformed rows' problems.

    ``separator`` ``None``: ``","``, or ``";"`` when the header line has ``;`` and no ``,``.
    """
    problems: Problems = []
    records: list[list[str]] = []
    starts: list[int] = []
    try:
        if separator is None:
            with path.open(encoding="utf-8-sig") as handle:
                first = handle.readline()
            separator = ";" if ";" in first and "," not in first else ","
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=separator)
            header: list[str] | None = None
            header_line = 1
            last = 0
            for row in reader:
                start, last = last + 1, reader.line_num
                if not row or not "".join(row).strip():
                    continue  # a blank line holds no data
                if header is None:
                    header = row
                    header_line = start
                    continue
                if len(row) != len(header):
                    problems.append(
                        (start, f"has {len(row)} fields but the header has {len(header)}")
                    )
                    continue
                records.append(row)
                starts.append(start)
    except UnicodeDecodeError as exc:
        raise DataError(path, [(None, f"not UTF-8 text ({exc.reason})")]) from None
    except csv.Error as exc:
        raise DataError(path, [(None, f"malformed CSV: {exc}")]) from None
    except OSError as exc:
        raise DataError(path, [(None, f"cannot read the file: {exc.strerror or exc}")]) from None
    if header is None:
        raise DataError(path, [(None, "the file is empty (no header line)")])
    if header_line != 1:
        problems.insert(0, (header_line, "the header must be the first line"))
    names = [_column_name(c) for c in header]
    frame = pd.DataFrame(records, columns=pd.Index(names, dtype=object), dtype=object)
    if not records:
        frame = pd.DataFrame({name: pd.Series([], dtype=object) for name in names})
    return frame, np.asarray(starts, dtype=np.int64), problems


def _column_name(name: Any) -> str:
    return str(name).strip().lower()


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every value as text, as a CSV would give it (blank for missing)."""
    out: dict[str, list[str]] = {}
    for name in frame.columns:
        key = _column_name(name)
        if key in out:
            key = f"{key}\x00dup{len(out)}"  # keep duplicates so they can be reported
        out[key] = _column_text(frame[name])
    result = pd.DataFrame(out, index=pd.RangeIndex(len(frame)), dtype=object)
    result.columns = pd.Index([c.split("\x00")[0] for c in result.columns], dtype=object)
    return result


def _column_text(col: pd.Series) -> list[str]:
    """A column as text, with a fast path for typed (Parquet) columns."""
    dtype = col.dtype
    if pd.api.types.is_bool_dtype(dtype) and not col.isna().any():
        return np.where(col.to_numpy(dtype=bool), "true", "false").tolist()
    if pd.api.types.is_datetime64_any_dtype(dtype):
        text = col.dt.strftime("%Y-%m-%dT%H:%M:%S")
        return text.where(col.notna(), "").tolist()
    if pd.api.types.is_integer_dtype(dtype) and not col.isna().any():
        return col.astype(np.int64).astype(str).tolist()
    if pd.api.types.is_float_dtype(dtype):
        values = col.to_numpy(dtype=np.float64)
        return [_float_text(v) for v in values]
    return [_text(v) for v in col.tolist()]


def _float_text(value: float) -> str:
    if np.isnan(value):
        return ""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _text(value: Any) -> str:
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | pd.Timestamp):
        return "" if pd.isna(value) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return "" if np.isnat(value) else pd.Timestamp(value).isoformat()
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return _float_text(float(value))
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


# --------------------------------------------------------------------------------------------
# Validation


def _check_columns(names: Sequence[str]) -> Problems:
    problems: Problems = []
    seen: set[str] = set()
    for name in names:
        if name in seen:
            problems.append((1, f"column '{name}' appears more than once"))
        seen.add(name)
        if name not in COLUMNS:
            problems.append((1, f"unknown column '{name}'; columns are: {', '.join(COLUMNS)}"))
    for name in REQUIRED:
        if name not in seen:
            problems.append((1, f"missing required column '{name}'"))
    return problems


def _validate(
    raw: pd.DataFrame,
    source: str | Path,
    lines: np.ndarray | None,
    calendar: Calendar | None,
    segments: Sequence[str] | None,
    regions: Sequence[str] | None,
    early: Problems = (),  # type: ignore[assignment]
) -> pd.DataFrame:
    names = [str(c) for c in raw.columns]
    problems = _check_columns(names)
    if problems:
        raise DataError(source, problems + list(early))
    n = len(raw)
    line = np.arange(2, n + 2, dtype=np.int64) if lines is None else np.asarray(lines)
    text = {
        name: (
            pd.Series(raw[name].to_numpy(dtype=object), dtype="str").str.strip()
            if name in raw.columns
            else pd.Series(np.full(n, "", dtype=object), dtype="str")
        )
        for name in COLUMNS
    }
    row_problems: list[tuple[int, int, str]] = []  # (row position, order, message)

    def flag(mask: np.ndarray, message: Any) -> None:
        for pos in np.flatnonzero(mask):
            msg = message(pos) if callable(message) else message
            row_problems.append((int(pos), len(row_problems), msg))

    out: dict[str, Any] = {"line": line}

    # Text columns.
    for name in _TEXT:
        out[name] = text[name].to_numpy(dtype=object)
    flag(out["partner_id"] == "", "missing partner_id")
    for name in _TEXT:
        flag(
            text[name].str.contains(_CONTROL, regex=True).to_numpy(),
            lambda p, c=text[name], nm=name: (
                f"{nm} {c.iloc[p]!r} holds a control character (such as NUL or a line break)"
            ),
        )
    deal_type = out["deal_type"].copy()
    lowered = np.array([v.lower() for v in deal_type], dtype=object)
    bad_type = (lowered != "") & ~np.isin(lowered, DEAL_TYPES)
    flag(
        bad_type,
        lambda p: f"deal_type '{deal_type[p]}' is not one of {', '.join(DEAL_TYPES)}",
    )
    out["deal_type"] = np.where(lowered == "", "other", lowered).astype(object)

    # Dates.
    date_text = text["date"]
    parts = date_text.str.extract(_DATE).astype(np.float64)
    parts.columns = pd.Index(["year", "month", "day"])
    parsed = pd.to_datetime(parts, errors="coerce")
    dates = parsed.to_numpy(dtype="datetime64[ns]")
    flag((date_text == "").to_numpy(), "missing date")
    flag(
        ((date_text != "") & parsed.isna()).to_numpy(),
        lambda p: f"date '{date_text.iloc[p]}' is not a date (use YYYY-MM-DD)",
    )
    out["date"] = dates

    # Numbers.
    for name, (low, high, blank_value) in _NUMERIC.items():
        col = text[name]
        blank = (col == "").to_numpy()
        values = pd.to_numeric(col.where(~blank), errors="coerce").to_numpy(dtype=np.float64)
        not_number = ~blank & ~np.isfinite(values)
        flag(not_number, lambda p, c=col, nm=name: _not_a_number(nm, c.iloc[p]))
        ok = ~blank & np.isfinite(values)
        if name == "amount":
            flag(
                ok & (values < 0),
                lambda p, v=values: (
                    f"amount {v[p]:g} is negative; record a return as a "
                    "positive returned_amount on the date it was booked"
                ),
            )
        else:
            flag(
                ok & (values < low),
                lambda p, v=values, nm=name: f"{nm} {v[p]:g} is negative",
            )
        if np.isfinite(high):
            flag(
                ok & (values > high),
                lambda p, v=values, nm=name, h=high: f"{nm} {v[p]:g} is above {h:g}",
            )
        if name in MONEY_COLUMNS:
            flag(
                ok & (values > MAX_AMOUNT),
                lambda p, v=values, nm=name: (
                    f"{nm} {v[p]:g} is beyond the largest amount a program can pay ({MAX_AMOUNT:g})"
                ),
            )
            flag(
                _passes(np.where(ok, values, 0.0), MAX_TOTAL),
                lambda p, nm=name: (
                    f"the file's total {nm} passes {MAX_TOTAL:g} at this row, beyond what a "
                    "program can pay"
                ),
            )
        out[name] = np.where(ok, values, blank_value)

    # Booleans.
    for name in _BOOL:
        col = text[name].str.lower()
        known = col.isin(_TRUE | _FALSE) | (col == "")
        flag(
            (~known).to_numpy(),
            lambda p, c=text[name], nm=name: f"{nm} '{c.iloc[p]}' is not true/false",
        )
        out[name] = col.isin(_TRUE).to_numpy(dtype=np.bool_)
        if name == "new_logo":
            out["new_logo_given"] = (col != "").to_numpy()
    out["new_logo"] = np.where(
        out.pop("new_logo_given"), out["new_logo"], out["deal_type"] == "new_logo"
    ).astype(np.bool_)

    # A row with a blank amount must record something else.
    records_other = (
        (text["returned_amount"] != "")
        | (text["certified_staff"] != "")
        | (text["csat"] != "")
        | (text["mdf_claim"] != "")
        | out["audit_flag"]
    ).to_numpy()
    flag(
        (text["amount"] == "").to_numpy() & ~records_other,
        "missing amount (a row with no sale must record a return, snapshot, claim or audit)",
    )

    frame = pd.DataFrame({k: out[k] for k in ("line", *COLUMNS)})
    bad_rows = {p for p, _, _ in row_problems}
    good = np.array([i not in bad_rows for i in range(n)], dtype=np.bool_)
    row_problems += _check_across_rows(frame, good, calendar, segments, regions)
    if row_problems or early:
        found = [(int(line[p]), order, msg) for p, order, msg in row_problems]
        found += [(int(ln or 0), -1, msg) for ln, msg in early]
        found.sort(key=lambda r: (r[0], r[1]))
        raise DataError(source, [(ln, msg) for ln, _, msg in found])

    frame = _fill_groups(frame, {"segment": _single(segments), "region": _single(regions)})
    frame = frame.astype({name: "object" for name in _TEXT})
    frame.attrs["source"] = str(source)
    frame.attrs["validated"] = True
    return frame


def _check_across_rows(
    frame: pd.DataFrame,
    good: np.ndarray,
    calendar: Calendar | None,
    segments: Sequence[str] | None,
    regions: Sequence[str] | None,
) -> list[tuple[int, int, str]]:
    """Checks that need more than one row: one segment/region per partner, known names,
    dates inside the calendar, audits that refer to a deal."""
    problems: list[tuple[int, int, str]] = []
    line = frame["line"].to_numpy()
    pid = frame["partner_id"].to_numpy()
    late = 10**9  # after the row's own problems

    for name, known in (("segment", segments), ("region", regions)):
        values = frame[name].to_numpy(dtype=object)
        given = (values != "") & (pid != "")
        if known is not None:
            unknown = given & ~np.isin(values, list(known))
            for pos in np.flatnonzero(unknown).tolist():
                msg = f"unknown {name} '{values[pos]}' (known: {', '.join(known)})"
                problems.append((int(pos), late, msg))
            given &= ~unknown
        rows = pd.DataFrame({"pid": pid[given], "value": values[given], "line": line[given]})
        first = rows.drop_duplicates("pid").set_index("pid")
        first_value = first["value"].reindex(rows["pid"]).to_numpy(dtype=object)
        first_line = first["line"].reindex(rows["pid"]).to_numpy()
        positions = np.flatnonzero(given)
        for k in np.flatnonzero(rows["value"].to_numpy(dtype=object) != first_value):
            pos = int(positions[k])
            problems.append(
                (
                    pos,
                    late,
                    f"partner '{pid[pos]}' is in {name} '{values[pos]}' here but in "
                    f"'{first_value[k]}' on line {first_line[k]}; a partner belongs to one {name}",
                )
            )

    problems += _calendar_problems(frame, calendar)

    # Audits name a deal of the same partner dated on or before the audit.
    audit = frame["audit_flag"].to_numpy()
    reg = frame["deal_registration_id"].to_numpy()
    dates = frame["date"].to_numpy()
    amount = frame["amount"].to_numpy()
    deals: dict[tuple[str, str], list[int]] = {}
    for pos in np.flatnonzero(~audit & (reg != "") & good).tolist():
        deals.setdefault((pid[pos], reg[pos]), []).append(pos)
    audited: dict[tuple[str, str], int] = {}
    for pos in np.flatnonzero(audit).tolist():
        if not reg[pos]:
            problems.append((int(pos), late, "audit_flag needs the deal_registration_id it audits"))
            continue
        if amount[pos] > 0:
            problems.append(
                (
                    int(pos),
                    late,
                    "an audit row records a finding, not a sale: put the sale on its own row "
                    "(amount must be 0 or blank when audit_flag is true)",
                )
            )
        key = (pid[pos], reg[pos])
        if key in audited:
            problems.append(
                (
                    int(pos),
                    late,
                    f"registration '{reg[pos]}' already audited on line {audited[key]}",
                )
            )
            continue
        audited[key] = int(line[pos])
        earlier = [p for p in deals.get(key, []) if dates[p] <= dates[pos]]
        if not good[pos] or np.isnat(dates[pos]):
            continue
        if not earlier:
            problems.append(
                (
                    int(pos),
                    late,
                    f"audit_flag on registration '{reg[pos]}' but partner '{pid[pos]}' has no "
                    "deal with that registration on or before this date",
                )
            )
    return problems


def _calendar_problems(
    frame: pd.DataFrame, calendar: Calendar | None
) -> list[tuple[int, int, str]]:
    """Rows dated before the calendar starts or after its last day."""
    problems: list[tuple[int, int, str]] = []
    late = 10**9
    if calendar is None:
        return problems
    dates = frame["date"].to_numpy(dtype="datetime64[D]")
    start = np.datetime64(calendar.start_date, "D")
    end = np.datetime64(calendar.end_date, "D") + np.timedelta64(1, "D")
    valid = ~np.isnat(dates)
    last_day = (end - np.timedelta64(1, "D")).astype(dt.date)
    for pos in np.flatnonzero(valid & (dates < start)):
        problems.append(
            (int(pos), late, f"date {dates[pos]} is before the program starts ({start})")
        )
    for pos in np.flatnonzero(valid & (dates >= end)):
        problems.append(
            (
                int(pos),
                late,
                f"date {dates[pos]} is after the program calendar ends ({last_day}, "
                f"{calendar.horizon_text})",
            )
        )
    return problems


def _passes(values: np.ndarray, bound: float) -> np.ndarray:
    """True on the row where the running sum of ``values`` (file order) first exceeds ``bound``."""
    over = np.cumsum(values) > bound
    first = np.zeros(len(values), dtype=np.bool_)
    if over.any():
        first[int(np.argmax(over))] = True
    return first


def _not_a_number(name: str, value: str) -> str:
    hint = " (no thousands separators; a dot for decimals)" if "," in value else ""
    return f"{name} '{value}' is not a number{hint}"


def _single(names: Sequence[str] | None) -> str:
    return names[0] if names is not None and len(names) == 1 else DEFAULT_GROUP


def _fill_groups(frame: pd.DataFrame, default: dict[str, str]) -> pd.DataFrame:
    """Give every row its partner's segment and region (blank rows take the partner's value;
    a partner with none takes the only known one, else ``all``)."""
    frame = frame.copy()
    for name in ("segment", "region"):
        given = frame.loc[frame[name] != "", ["partner_id", name]]
        per_partner = given.drop_duplicates("partner_id").set_index("partner_id")[name]
        filled = frame["partner_id"].map(per_partner)
        frame[name] = filled.where(filled.notna(), default[name]).astype(object)
    return frame
