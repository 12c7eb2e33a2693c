"""Excel workbooks (``.xlsx``, through openpyxl): one sheet per table, cells formatted.

Every verb that writes a workbook (``payout --excel``, ``run``, ``compare`` and ``stress
--excel``) writes it here, so all look alike: a bold header row that stays in view, columns
wide enough for their contents, numbers stored as numbers with a display format (money with
thousands separators, percentages, dates), never as text. The file is written under a
temporary name and renamed into place, so a workbook that exists is complete.

>>> import pandas as pd
>>> sheets = {"costs": Sheet(pd.DataFrame({"cost": [1234.5]}), {"cost": MONEY})}
>>> write_workbook(folder / "costs.xlsx", sheets)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from incentsim import _output

__all__ = [
    "COUNT",
    "DATE",
    "MONEY",
    "MONEY_CENTS",
    "NUMBER",
    "PERCENT",
    "Sheet",
    "write_workbook",
]

#: Display formats (Excel number formats) for cells.
MONEY = "#,##0"
MONEY_CENTS = "#,##0.00"
PERCENT = "0.0%"
COUNT = "#,##0"
NUMBER = "#,##0.00"
DATE = "yyyy-mm-dd"

_WIDEST = 60
_SAMPLE_ROWS = 200


@dataclass(frozen=True)
class Sheet:
    """One table of a workbook and how to show its columns.

    Parameters
    ----------
    frame
        The table; its index is written as columns when it has a name (``index`` true).
    formats
        ``column -> format`` for the whole column, or a sequence of formats, one per row (a
        summary's rows each in their outcome's unit). Columns of dates get :data:`DATE`, other
        numeric columns :data:`NUMBER`, unless listed.
    index
        Write a named index as the first columns.
    """

    frame: pd.DataFrame
    formats: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    index: bool = True


def write_workbook(path: str | os.PathLike[str], sheets: Mapping[str, Sheet]) -> Path:
    """Write ``sheets`` (name -> :class:`Sheet`, in order) as one workbook at ``path``.

    Sheet names are cut to Excel's 31 characters, without the characters it refuses.

    Raises
    ------
    OSError
        The file cannot be written (nothing is left behind).
    """
    path = Path(path)
    with _output.atomic_file(path) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        for name, sheet in sheets.items():
            frame = _flat(sheet)
            title = _sheet_title(name)
            frame.to_excel(writer, sheet_name=title, index=False)
            _format(writer.sheets[title], frame, sheet.formats)
    return path


def _flat(sheet: Sheet) -> pd.DataFrame:
    frame = sheet.frame
    named = any(n is not None for n in frame.index.names)
    frame = frame.reset_index() if sheet.index and named else frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    return frame.astype({c: object for c in frame.columns if frame[c].dtype == "string"})


def _sheet_title(name: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", "-", name)[:31] or "sheet"


def _format(ws: Any, frame: pd.DataFrame, formats: Mapping[str, str | Sequence[str]]) -> None:
    """Header bold and frozen, widths from the contents, number formats per cell of the
    openpyxl worksheet ``ws``."""
    # openpyxl loads only when a workbook is written
    from openpyxl.styles import Font

    ws.freeze_panes = "A2"
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for j, column in enumerate(frame.columns, start=1):
        values = frame[column]
        fmt = formats.get(column, _default_format(values))
        shown = [str(column), *(_shown(v) for v in values.head(_SAMPLE_ROWS))]
        letter = ws.cell(1, j).column_letter
        ws.column_dimensions[letter].width = min(max(map(len, shown)) + 2, _WIDEST)
        if fmt is None:
            continue
        per_row = [fmt] * len(values) if isinstance(fmt, str) else list(fmt)
        for row, cell_format in enumerate(per_row, start=2):
            ws.cell(row, j).number_format = cell_format


def _default_format(values: pd.Series) -> str | None:
    if pd.api.types.is_datetime64_any_dtype(values):
        return DATE
    sample = values.dropna().head(20)
    if len(sample) and all(isinstance(v, dt.date) for v in sample):
        return DATE
    if pd.api.types.is_bool_dtype(values):
        return None
    if pd.api.types.is_integer_dtype(values):
        return COUNT
    if pd.api.types.is_float_dtype(values):
        return NUMBER
    return None


def _shown(value: object) -> str:
    """Roughly how wide a value shows (for the column width)."""
    if isinstance(value, float | np.floating):
        return f"{value:,.2f}" if np.isfinite(value) else ""
    if isinstance(value, dt.datetime | dt.date):
        return "2027-01-01"
    return str(value)
