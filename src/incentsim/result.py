"""The one interface every result offers: its main table, all its tables, and what produced it.

A Monte Carlo run, a comparison, a stress test and a reverse-stress search, a sensitivity
analysis, a batch experiment, an optimisation and a set of payout statements each answer:

- ``to_frame()``: the main table, tidy (one row per replication, variant x outcome, ...);
- ``tables()``: every table it has, by name (the names of the files it is written as);
- ``identity()``: what produced it (scenario and content hash, seed, replications, settings),
  as JSON-able data, so a table can always be traced back to the run that made it.

Rendering (text, plots, HTML) lives in :mod:`incentsim.report` and the CLI, not here.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import pandas as pd

__all__ = ["Result"]


@runtime_checkable
class Result(Protocol):
    """What every result type provides (see the module notes)."""

    def to_frame(self) -> pd.DataFrame: ...

    def tables(self) -> dict[str, pd.DataFrame]: ...

    def identity(self) -> dict[str, Any]: ...
