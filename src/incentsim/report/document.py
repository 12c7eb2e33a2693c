"""A self-contained HTML report: headings, text, tables and figures in one file.

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
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Report", "write_table"]

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { border-bottom: 3px solid #1f4e79; padding-bottom: .2em; }
h2 { color: #1f4e79; margin-top: 1.8em; }
table { border-collapse: collapse; margin: .8em 0; font-size: 0.88em; }
th, td { border: 1px solid #d0d7de; padding: .25em .6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #eef3f8; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: .3em 0; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e5e5e5; }
figcaption { font-size: 0.9em; color: #555; }
dl.identity { display: grid; grid-template-columns: max-content auto; gap: .15em 1em;
              background: #f6f8fa; padding: .8em 1em; font-size: 0.9em; }
dl.identity dt { font-weight: 600; }
dl.identity dd { margin: 0; font-family: monospace; }
p.note { color: #555; font-size: 0.9em; }
"""


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
        float_format: str = "{:,.4g}",
    ) -> None:
        """A table; with ``name`` it is also written as ``<name>.csv`` and ``.parquet``.

        Parameters
        ----------
        frame
            The table; numbers are shown with ``float_format`` unless a column has its own
            entry in ``formatters`` (``column -> callable``).
        name
            File name for the underlying table (letters, digits, ``_`` and ``-``).
        caption
            Shown above the table.
        index
            Show (and write) the index.
        """
        if name is not None:
            self.attach_table(name, frame)
        shown = frame.copy()
        for column in shown.columns:
            fmt = (formatters or {}).get(column)
            if fmt is None and pd.api.types.is_float_dtype(shown[column]):
                fmt = _number_formatter(float_format)
            if fmt is not None:
                shown[column] = shown[column].map(fmt)
        table = shown.to_html(index=index, border=0, na_rep="-", escape=True)
        if caption:
            table = table.replace(">", f"><caption>{html.escape(caption)}</caption>", 1)
        self._parts.append(table)

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
        rows = "".join(
            f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(_text(v))}</dd>"
            for k, v in facts.items()
        )
        title = html.escape(self.title)
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{title}</title><style>{_STYLE}</style></head>\n<body>\n"
            f'<h1>{title}</h1>\n<dl class="identity">{rows}</dl>\n'
            + "\n".join(self._parts)
            + "\n</body></html>\n"
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


def write_table(frame: pd.DataFrame, stem: str | os.PathLike[str]) -> list[Path]:
    """Write ``frame`` as ``<stem>.csv`` and ``<stem>.parquet`` (atomically); both paths.

    A named index is written as columns; an index without a name is left out, whatever it holds.
    """
    import pyarrow as pa

    from incentsim.montecarlo.store import write_parquet

    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    keep_index = frame.index.name is not None or any(n is not None for n in frame.index.names)
    flat = frame.reset_index() if keep_index else frame.reset_index(drop=True)
    flat.columns = [str(c) for c in flat.columns]
    csv = stem.with_suffix(".csv")
    _atomic_text(csv, flat.to_csv(index=False))
    parquet = stem.with_suffix(".parquet")
    write_parquet(parquet, pa.Table.from_pandas(flat, preserve_index=False))
    return [csv, parquet]


def _atomic_text(path: Path, text: str) -> None:
    from incentsim._output import write_text

    write_text(path, text)


def _number_formatter(pattern: str) -> Any:
    def fmt(value: Any) -> str:
        if value is None or pd.isna(value):
            return "-"
        return pattern.format(value)

    return fmt


def _text(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    return str(value)
