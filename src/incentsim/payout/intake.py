"""Transactions as other systems export them: a column mapping for CRM exports.

A CRM or ERP export rarely uses incentsim's column names, spelling or formats. A mapping file
(YAML) says which export column holds each canonical column, and how the file is written::

    # crm_mapping.yaml
    columns:                      # canonical name: the export's column (case-insensitive)
      partner_id: Account ID
      date: Close Date
      amount: Amount
      deal_registration_id: Opportunity
    separator: ";"                # optional; default: "," (or ";" when the header has no ",")
    date_format: "%m/%d/%Y"       # optional; default: ISO, then the formats in DATE_FORMATS

With a mapping, :func:`~incentsim.payout.transactions.read_transactions`

* renames the mapped columns (a canonical name the export already uses needs no entry);
* ignores every other column, and says so in a note (``frame.attrs["notes"]``);
* reads money columns written as currency strings: ``$40,000``, ``40,000.00 USD``, ``EUR 1,250``;
* reads dates in ISO form or in the first of :data:`DATE_FORMATS` that parses every date of the
  column (US month/day/year before day-month names; a European ``31/12/2027`` needs
  ``date_format: "%d/%m/%Y"``), or in ``date_format`` when given.

Without a mapping the file must use the canonical columns and formats, and any other column is
an error, so a misspelt optional column never passes silently.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from incentsim.errors import DataError

#: Date formats tried, in order, when a mapping gives no ``date_format`` and a column is not ISO.
DATE_FORMATS = (
    "%m/%d/%Y",
    "%m/%d/%y",
    "%m-%d-%Y",
    "%d %b %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d %B %Y",
    "%Y/%m/%d",
    "%Y%m%d",
)
_ISO = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:[T ].*)?$")
#: A currency amount: an optional currency code or symbol before or after, thousands commas.
_CURRENCY = re.compile(
    r"^(?:[A-Za-z]{3}\s*)?[$€£¥]?\s*(?P<number>-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?)"
    r"\s*(?:[A-Za-z]{3})?$"
)
_KEYS = {"columns", "separator", "date_format"}


@dataclass(frozen=True)
class ColumnMapping:
    """How an export's columns and formats map onto the canonical transactions columns.

    Attributes
    ----------
    columns
        Canonical name -> the export's column name.
    separator
        The CSV field separator (``None``: ``","``, or ``";"`` when the header has no comma).
    date_format
        A :func:`datetime.datetime.strptime` format for the ``date`` column (``None``: ISO or
        the first of :data:`DATE_FORMATS` that fits every date).
    source
        Where the mapping came from (for messages).
    """

    columns: dict[str, str] = field(default_factory=dict)
    separator: str | None = None
    date_format: str | None = None
    source: str = "<mapping>"

    @classmethod
    def load(cls, path: str | Path) -> ColumnMapping:
        """Read a mapping file (YAML, see the module's docstring)."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise DataError(path, [(None, f"cannot read the column mapping: {exc}")]) from None
        return cls.of(data, str(path))

    @classmethod
    def of(cls, data: Any, source: str = "<mapping>") -> ColumnMapping:
        """A mapping from its parsed YAML content, checked against the canonical columns."""
        # circular: payout.transactions imports this module
        from incentsim.payout.transactions import COLUMNS

        problems: list[tuple[int | None, str]] = []
        if not isinstance(data, dict):
            raise DataError(source, [(None, "a column mapping is a mapping with 'columns'")])
        for key in sorted(set(data) - _KEYS):
            problems.append((None, f"unknown key '{key}'; keys are: {', '.join(sorted(_KEYS))}"))
        columns = data.get("columns") or {}
        if not isinstance(columns, dict):
            problems.append((None, "columns: give 'canonical name: export column' pairs"))
            columns = {}
        for name, column in columns.items():
            if str(name).lower() not in COLUMNS:
                problems.append(
                    (None, f"columns: '{name}' is not a column; columns are: {', '.join(COLUMNS)}")
                )
            if not isinstance(column, str) or not column.strip():
                problems.append((None, f"columns.{name}: give the export's column name as text"))
        separator = data.get("separator")
        if separator is not None and (not isinstance(separator, str) or len(separator) != 1):
            problems.append((None, f"separator {separator!r} must be one character"))
        date_format = data.get("date_format")
        if date_format is not None and (not isinstance(date_format, str) or "%" not in date_format):
            problems.append((None, f"date_format {date_format!r} is not a strptime format"))
        if problems:
            raise DataError(source, problems)
        return cls(
            columns={str(k).lower(): str(v).strip() for k, v in columns.items()},
            separator=separator,
            date_format=date_format,
            source=source,
        )

    def apply(self, raw: pd.DataFrame, path: str | Path) -> tuple[pd.DataFrame, list[str]]:
        """The export's rows (as text, lower-cased headers) with canonical columns and formats,
        and notes on what was ignored or converted."""
        # circular: payout.transactions imports this module
        from incentsim.payout.transactions import COLUMNS, MONEY_COLUMNS

        headers = {str(c).strip().lower(): c for c in raw.columns}
        renames: dict[Any, str] = {}
        missing = []
        for name, column in self.columns.items():
            if column.lower() in headers:
                renames[headers[column.lower()]] = name
            else:
                missing.append(f"columns.{name}: the file has no column '{column}'")
        if missing:
            raise DataError(path, [(1, m) for m in missing])
        mapped = set(renames.values())
        for key, original in headers.items():
            if key in COLUMNS and key not in mapped and original not in renames:
                renames[original] = key
        ignored = [str(c) for c in raw.columns if c not in renames]
        frame = raw[list(renames)].rename(columns=renames)
        notes = []
        if ignored:
            notes.append(
                f"ignored {len(ignored)} column(s) not in the mapping: {', '.join(ignored)}"
            )
        for name in MONEY_COLUMNS:
            if name in frame.columns:
                frame[name] = frame[name].map(_plain_amount)
        if "date" in frame.columns:
            frame["date"], used = _iso_dates(frame["date"], self.date_format)
            if used:
                notes.append(f"dates read as {used}")
        return frame, notes


def _plain_amount(text: Any) -> Any:
    """``$40,000.00`` -> ``40000.00``; anything else unchanged (the validator reports it)."""
    if not isinstance(text, str):
        return text
    match = _CURRENCY.match(text.strip())
    return match.group("number").replace(",", "") if match else text


def _iso_dates(column: pd.Series, date_format: str | None) -> tuple[pd.Series, str]:
    """The column's dates as ISO text, and the format used ("" when already ISO).

    A value no format reads is left as it is, for the validator to report with its line.
    """
    values = column.astype(str).str.strip()
    given = values[values != ""]
    if date_format is None and given.map(lambda v: bool(_ISO.match(v))).all():
        return values, ""
    for fmt in (date_format,) if date_format else DATE_FORMATS:
        parsed = given.map(lambda v, f=fmt: _parse(v, f))
        if date_format or parsed.notna().all():
            out = values.copy()
            ok = parsed.notna()
            out.loc[ok[ok].index] = parsed[ok].map(dt.date.isoformat)
            return out, fmt
    return values, ""


def _parse(value: str, fmt: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(value, fmt).date()
    except ValueError:
        return None
