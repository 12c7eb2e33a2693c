"""A self-contained HTML report: headings, text, tables and figures in one file.

The page is rendered from a Jinja2 template (``templates/page.html.j2``): warnings first, the
title, an executive summary, what produced the results, then the sections in the order added.
Figures are embedded as base64 PNG images and the style sheet is inline, so the page has no
external ``src`` or ``href``: it opens anywhere, can be mailed to finance and archived. Tables
added with a ``name`` are also written as CSV and Parquet next to the page, for a spreadsheet
or a notebook.

>>> report = Report("Baseline vs richer rebates")
>>> report.add_heading("Cost")
>>> report.add_text("Paired over common random numbers.")
>>> "<h2>Cost</h2>" in report.to_html()
True

Any analysis can build one (optimizer, sensitivity...)::

    report = Report("Sensitivity of cost", identity={"scenario": "baseline", "seed": 7})
    report.add_table(indices, name="sobol", caption="Sobol indices")
    report.add_figure(fig, caption="Total-order indices")
    report.write("out/sensitivity.html")     # + out/sensitivity_tables/sobol.csv and .parquet
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import markupsafe
import numpy as np
import pandas as pd

from incentsim._output import write_text
from incentsim.montecarlo.store import write_table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["ExecutiveSummary", "KeyFigure", "Report", "format_cell", "format_number"]

_TEMPLATE = "page.html.j2"


@dataclass(frozen=True)
class KeyFigure:
    """One figure of an executive summary: what it is, the number, and its interval or context."""

    label: str
    value: str
    detail: str = ""


@dataclass
class ExecutiveSummary:
    """What a reader needs first: a few sentences and the key figures."""

    paragraphs: list[str] = field(default_factory=list)
    figures: list[KeyFigure] = field(default_factory=list)


@dataclass
class Report:
    """An HTML report assembled piece by piece and written as one self-contained file.

    Parameters
    ----------
    title
        The page title and top heading.
    identity
        What produced the results (scenario names and content hashes, seed, replications,
        package version...); shown in a box under the title.
    """

    title: str
    identity: Mapping[str, Any] = field(default_factory=dict)
    _parts: list[str] = field(default_factory=list, init=False, repr=False)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict, init=False, repr=False)
    warnings: list[str] = field(default_factory=list, init=False, repr=False)
    summary: ExecutiveSummary | None = field(default=None, init=False, repr=False)

    def add_warning(self, text: str) -> None:
        """A warning shown first on the page, above the title."""
        self.warnings.append(text)

    def set_summary(self, summary: ExecutiveSummary) -> None:
        """The executive summary, shown right under the title."""
        self.summary = summary

    def add_heading(self, text: str, level: int = 2) -> None:
        """A section heading (``level`` 2 to 4; the title is level 1)."""
        level = min(4, max(2, level))
        self._parts.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def add_text(self, text: str, note: bool = False) -> None:
        """A paragraph (escaped; blank lines start new paragraphs). ``note`` sets it smaller."""
        css = ' class="note"' if note else ""
        for paragraph in re.split(r"\n\s*\n", text.strip()):
            self._parts.append(f"<p{css}>{html.escape(paragraph)}</p>")

    def add_table(
        self,
        frame: pd.DataFrame,
        *,
        name: str | None = None,
        caption: str | None = None,
        index: bool = True,
        formatters: Mapping[str, Any] | None = None,
        headings: Mapping[str, str] | None = None,
    ) -> None:
        """A table; with ``name`` it is also written as ``<name>.csv`` and ``.parquet``.

        Parameters
        ----------
        frame
            The table; numbers are shown by :func:`format_number` (thousands separators, never
            scientific notation, rounding noise shown as 0), missing values as ``-`` and
            booleans as ``yes``/``no``, unless a column has its own entry in ``formatters``
            (``column -> callable``).
        name
            File name for the underlying table (letters, digits, ``_`` and ``-``).
        caption
            Shown above the table.
        index
            Show (and write) the index.
        headings
            Column headings to show instead of some column names (``column -> heading``); the
            written table keeps the names.
        """
        if name is not None:
            self.attach_table(name, frame)
        shown = frame.copy()
        if index and any(name is not None for name in shown.index.names):
            shown = shown.reset_index()  # the index's name heads its column: one header row
            index = False
        for column in shown.columns:
            fmt = (formatters or {}).get(column, format_cell)
            shown[column] = shown[column].map(fmt).astype(object)
        if index:
            shown.index = shown.index.map(format_cell)
        shown.columns = [(headings or {}).get(c, format_cell(c)) for c in shown.columns]
        table = shown.to_html(index=index, border=0, na_rep="-", escape=True)
        if caption:
            table = table.replace(">", f"><caption>{html.escape(caption)}</caption>", 1)
        self._parts.append(f'<div class="table-wrap">{table}</div>')

    def attach_table(self, name: str, frame: pd.DataFrame) -> None:
        """Write ``frame`` as ``<name>.csv`` and ``.parquet`` with the page, without showing it."""
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name) or name in self.tables:
            raise ValueError(f"table name '{name}' must be new and use [A-Za-z0-9_-] only")
        self.tables[name] = frame

    def add_figure(self, figure: Figure, caption: str | None = None, dpi: int = 110) -> None:
        """A matplotlib figure, embedded as a base64 PNG image."""
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        alt = html.escape(caption or "figure", quote=True)
        part = f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">'
        if caption:
            part += f"<figcaption>{html.escape(caption)}</figcaption>"
        self._parts.append(part + "</figure>")

    def to_html(self) -> str:
        """The whole page."""
        created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        facts = {**self.identity, "report created": created}
        return (
            templates()
            .get_template(_TEMPLATE)
            .render(
                title=self.title,
                warnings=self.warnings,
                summary=self.summary,
                summary_title="Executive summary",
                identity=[(str(k), _text(v)) for k, v in facts.items()],
                parts=[markupsafe.Markup(part) for part in self._parts],
            )
        )

    def write(
        self, path: str | os.PathLike[str], tables_dir: str | os.PathLike[str] | None = None
    ) -> Path:
        """Write the page (atomically) and its named tables; the page's path.

        Named tables go to ``tables_dir`` (default: ``<page stem>_tables`` next to the page)
        as ``<name>.csv`` and ``<name>.parquet``.
        """
        page = Path(path)
        page.parent.mkdir(parents=True, exist_ok=True)
        _atomic_text(page, self.to_html())
        if self.tables:
            folder = Path(tables_dir) if tables_dir else page.with_name(f"{page.stem}_tables")
            for name, frame in self.tables.items():
                write_table(frame, folder / name)
        return page


def templates() -> Any:
    """The Jinja2 environment of the report templates (``templates/``), autoescaping HTML."""
    # Jinja loads only when a page is rendered
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("incentsim.report", "templates"),
        autoescape=True,
        keep_trailing_newline=True,
    )


def _atomic_text(path: Path, text: str) -> None:
    write_text(path, text)


def format_number(value: float) -> str:
    """A number for a table: thousands separators, at most 4 significant decimals, never
    scientific notation; anything within ``1e-9`` of 0 (rounding noise) is ``0``.

    >>> [format_number(v) for v in (1.888e7, 6.939e-18, 0.04567, 12.5, -3.0)]
    ['18,880,000', '0', '0.04567', '12.5', '-3']
    """
    if not math.isfinite(value):
        return "-"
    if abs(value) < 1e-9:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    decimals = max(0, 3 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}".rstrip("0").rstrip(".")


def format_cell(value: Any) -> str:
    """Any table cell as text: floats by :func:`format_number`, booleans as yes/no, missing
    values (None, NaN, ``pd.NA``) as ``-``, whole numbers as they are (seeds, years)."""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if value is None or (not isinstance(value, str | list | tuple | dict) and pd.isna(value)):
        return "-"
    if isinstance(value, float | np.floating):
        return format_number(float(value))
    return str(value)


def _text(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    return format_cell(value)
