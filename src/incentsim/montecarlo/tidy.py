"""Trajectories in long ("tidy") format, for a BI tool, a spreadsheet or a data frame library.

The run folder stores each trajectory as one list per replication (compact, but awkward
outside Python). These tables have one row per observation instead, with the calendar's
period names and real dates:

- :func:`trajectory_bands`: one row per trajectory x period (or week), with the mean and
  P5/P50/P95 over replications (from the summary: no replication is read);
- :func:`trajectories_long`: one row per replication x trajectory x period (or week), the
  value of that replication; built one trajectory at a time.

Columns: ``trajectory`` (its name in results files), ``label`` and ``unit`` (from the outcome
catalogue), ``step`` (``period``, or ``week`` for weekly trajectories), ``number`` (1-based),
``fiscal_period`` (the calendar's name of the period, for a week the period it falls in),
``start`` and ``end`` (the real first and last day), then the values.

:func:`write_tidy` writes both into a run folder as CSV and Parquet (``incentsim run`` does).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from incentsim import _output
from incentsim.engine.outcomes import describe
from incentsim.montecarlo.store import write_parquet

if TYPE_CHECKING:
    from incentsim.calendar import Calendar
    from incentsim.montecarlo.results import MonteCarloResult

__all__ = ["BANDS_FILE", "LONG_FILE", "trajectories_long", "trajectory_bands", "write_tidy"]

#: File stems :func:`write_tidy` writes (``.csv`` and ``.parquet`` each).
BANDS_FILE = "trajectory_bands"
LONG_FILE = "trajectories_long"


def _steps(name: str, length: int, calendar: Calendar) -> pd.DataFrame:
    """The key columns of one trajectory's steps (periods, or weeks for weekly ones)."""
    entry = describe(name)
    if name.startswith("weekly"):
        starts = [calendar.start_date + dt.timedelta(weeks=w) for w in range(length)]
        ends = [s + dt.timedelta(days=6) for s in starts]
        periods = calendar.period_of(np.array(starts, dtype="datetime64[D]"))
        fiscal = [calendar.period_label(int(p)) for p in periods]
        step = "week"
    else:
        bounds = [calendar.period_bounds(p) for p in range(length)]
        starts, ends = [b[0] for b in bounds], [b[1] for b in bounds]
        fiscal = [calendar.period_label(p) for p in range(length)]
        step = "period"
    return pd.DataFrame(
        {
            "trajectory": name,
            "label": entry.label,
            "unit": entry.unit,
            "step": step,
            "number": np.arange(1, length + 1),
            "fiscal_period": fiscal,
            "start": starts,
            "end": ends,
        }
    )


def trajectory_bands(result: MonteCarloResult) -> pd.DataFrame:
    """One row per trajectory x period (or week): the key columns, then ``mean, p5, p50, p95``
    over the run's replications."""
    calendar = result.scenario.calendar
    frames = []
    for name, band in result.summary.trajectories.items():
        steps = _steps(name, band.n_periods, calendar)
        frames.append(steps.assign(mean=band.mean, p5=band.p5, p50=band.p50, p95=band.p95))
    return pd.concat(frames, ignore_index=True)


def _long_chunks(result: MonteCarloResult) -> Iterator[pd.DataFrame]:
    """One trajectory at a time: a row per replication x step."""
    calendar = result.scenario.calendar
    for name in result.trajectory_names:
        matrix = result.trajectories(name)
        reps, length = matrix.shape
        steps = _steps(name, length, calendar)
        chunk = steps.loc[np.tile(np.arange(length), reps)].reset_index(drop=True)
        chunk.insert(0, "replication", np.repeat(matrix.index.to_numpy(), length))
        chunk["value"] = matrix.to_numpy().ravel()
        yield chunk


def trajectories_long(result: MonteCarloResult) -> pd.DataFrame:
    """One row per replication x trajectory x period (or week): ``replication``, the key
    columns, then ``value``."""
    return pd.concat(list(_long_chunks(result)), ignore_index=True)


def write_tidy(result: MonteCarloResult, folder: str | os.PathLike[str]) -> list[Path]:
    """Write :func:`trajectory_bands` and :func:`trajectories_long` into ``folder`` as
    ``<stem>.csv`` and ``<stem>.parquet`` (each file atomically); the paths written.

    The long table is written one trajectory at a time, so it is never whole in memory.
    """
    folder = Path(folder)
    bands = trajectory_bands(result)
    written = [folder / f"{BANDS_FILE}.csv", folder / f"{BANDS_FILE}.parquet"]
    _output.write_text(written[0], bands.to_csv(index=False))
    write_parquet(written[1], pa.Table.from_pandas(bands, preserve_index=False))
    csv_path, parquet_path = folder / f"{LONG_FILE}.csv", folder / f"{LONG_FILE}.parquet"
    with (
        _output.atomic_file(csv_path) as csv_tmp,
        _output.atomic_file(parquet_path) as parquet_tmp,
        csv_tmp.open("w", newline="", encoding="utf-8") as handle,
    ):
        writer: pq.ParquetWriter | None = None
        try:
            for i, chunk in enumerate(_long_chunks(result)):
                chunk.to_csv(handle, index=False, header=i == 0, quoting=csv.QUOTE_MINIMAL)
                table = pa.Table.from_pandas(chunk, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(parquet_tmp, table.schema)
                writer.write_table(table.cast(writer.schema))
        finally:
            if writer is not None:
                writer.close()
    return [*written, csv_path, parquet_path]
