"""Carry a calibration's parameter uncertainty into a Monte Carlo run.

``incentsim run --draws draws.csv`` simulates each block of replications with one row of the
draws file (behaviour constants, as ``incentsim calibrate`` writes them), so the run's spread
includes what the history leaves uncertain. The row is chosen from the block's own seed (a
stream no simulation draws from), so the run is reproducible from its seed whatever the number
of workers or the executor. A block's replications share its row: the constants vary between
blocks (of :data:`~incentsim.montecarlo.seeding.BLOCK_SIZE` replications), which needs runs of
several blocks to show. Picking and applying a row is the Monte Carlo layer's
(:mod:`incentsim.montecarlo.draws`, ``RunOptions(draws=...)``); this module reads the file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from incentsim.errors import IncentsimError
from incentsim.montecarlo.draws import DRAW_STREAM, BehaviourDraws, DrawnBehaviour
from incentsim.population.behaviour import Behaviour

__all__ = ["DRAW_STREAM", "BehaviourDraws", "DrawnBehaviour", "read_draws"]


def read_draws(path: str | Path) -> tuple[dict[str, float], ...]:
    """The rows of a draws file: behaviour constants by name (the ``draw`` column dropped).

    Raises
    ------
    IncentsimError
        The file is missing or unreadable, has no rows, a column that is not a behaviour
        constant, or a value the behaviour schema refuses (naming the row and column).
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise IncentsimError(f"{path}: cannot read the draws file: {exc}") from None
    frame = frame.drop(columns=[c for c in ("draw",) if c in frame])
    unknown = [c for c in frame.columns if c not in Behaviour.model_fields]
    if unknown:
        raise IncentsimError(f"{path}: column '{unknown[0]}' is not a behaviour constant")
    if frame.empty:
        raise IncentsimError(f"{path}: no draws")
    rows = tuple(
        {str(k): float(v) for k, v in row.items()} for row in frame.to_dict(orient="records")
    )
    for line, row in enumerate(rows, start=2):
        try:
            Behaviour.model_validate(row)
        except ValidationError as exc:
            error = exc.errors()[0]
            column = ".".join(str(p) for p in error["loc"])
            message = f"{path}: line {line}, column '{column}': {error['msg']}"
            raise IncentsimError(message) from None
    return rows
