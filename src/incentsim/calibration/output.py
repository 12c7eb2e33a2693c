"""Write a calibration: a calibrated scenario file, its partners, the parameter draws and the
fit, in one folder replaced whole (:func:`~incentsim._output.new_folder`).

``calibrated.yaml`` is a small ``extends:`` diff on the input scenario: the real partners
(``partners.csv``, capacity fitted), the recruitment rate and each segment's capacity
distribution fitted in the input's family (for recruits; the block says which heavy-tailed
family fits better), each segment's deal size and the market's trend and seasonality where
the history identifies them, the identified behaviour constants, and the ``calibration:``
block (:class:`~incentsim.scenario.calibration.CalibrationRecord`). ``draws.csv`` holds the
parameter draws of the estimated constants (``incentsim run --draws``), ``moments.csv`` the
fit per segment, ``constants.csv`` the constants, ``estimates.csv`` the figures per segment
and region, ``backtest.csv`` revenue and program cost per period against the simulation, and
``holdout.csv`` the hold-out check when it ran.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from incentsim._output import new_folder
from incentsim.calibration.estimate import Calibration
from incentsim.population.spec import LogNormal
from incentsim.scenario.loader import load_scenario

KIND = "calibration"


def calibration_block(
    calibration: Calibration,
    *,
    history: str,
    data_hash: str,
    holdout: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The ``calibration:`` block of the calibrated scenario, as plain data."""

    def number(value: Any) -> float | None:
        return None if value is None or not math.isfinite(float(value)) else float(value)

    return {
        "history": history,
        "data_hash": data_hash,
        "partners": len(calibration.partners),
        "periods": calibration.periods,
        "method": (
            "simulated moments under common random numbers; sandwich intervals with the "
            "moments' spread over simulated histories and the simulation's own noise "
            f"({len(calibration.draws)} parameter draws)"
        ),
        "constants": {
            c.name: {
                "prior": c.prior,
                "estimate": c.estimate,
                "low": c.low,
                "high": c.high,
                "identified": c.identified,
                "evidence": c.evidence,
                "reason": c.reason,
            }
            for c in calibration.constants
        },
        "not_identified": {
            name: f"{why} (kept at {prior:g}; range {low:g}-{high:g})"
            for name, (prior, low, high, why) in calibration.unidentified.items()
        },
        "moments": {
            str(name): {
                "observed": number(row.observed),
                "simulated": number(row.simulated),
                "matched": bool(row.matched),
            }
            for name, row in calibration.moments.iterrows()
        },
        "capacity": calibration.capacity,
        "estimates": {
            str(name): {
                "quantity": row.quantity,
                "group": row.group,
                "estimate": number(row.estimate),
                "low": number(row.low),
                "high": number(row.high),
                "prior": number(row.prior),
                "identified": bool(row.identified),
                "in_scenario": bool(row.in_scenario),
                "reason": row.reason,
            }
            for name, row in calibration.estimates.iterrows()
        },
        "backtest": {
            str(name): {k: float(v) for k, v in row.items() if k != "cost_inside"}
            for name, row in calibration.backtest.iterrows()
        },
        "draws": "draws.csv",
        "holdout": {}
        if holdout is None
        else {
            str(name): {k: float(row[k]) for k in ("actual", "predicted", "low", "high")}
            for name, row in holdout.iterrows()
        },
    }


def scenario_diff(
    calibration: Calibration, scenario_file: str | Path, out: str | Path, block: dict[str, Any]
) -> dict[str, Any]:
    """The calibrated scenario as an ``extends:`` diff on ``scenario_file``, for a file in
    ``out``."""
    parent = os.path.relpath(Path(scenario_file).resolve(), Path(out).resolve())
    segments: dict[str, Any] = {}
    for name, fit in calibration.capacity.items():
        # extends merges key by key: keep the input's family when it has one of the two
        given = calibration.scenario.population.segments[name].capacity.dist
        family = given if given in ("lognormal", "pareto") else fit["best"]
        if family == "lognormal":
            sigma = min(fit["lognormal_sigma"], 4.0)
            dist = {"dist": "lognormal", "median": fit["lognormal_median"], "sigma": sigma}
        else:
            dist = {"dist": "pareto", "scale": fit["pareto_scale"], "shape": fit["pareto_shape"]}
        segments[name] = {"capacity": dist}
    calibrated = calibration.scenario
    for name, segment in calibrated.population.segments.items():
        held = [f"deal_size:segment:{name}", f"deal_size_sigma:segment:{name}"]
        if all(_held(calibration, key) for key in held):
            deal = segment.deal_size
            assert isinstance(deal, LogNormal)  # only a lognormal deal size is held
            segments.setdefault(name, {})["deal_size"] = {
                "dist": "lognormal",
                "median": round(float(deal.median), 2),
                "sigma": round(float(deal.sigma), 4),
            }
    market: dict[str, Any] = {}
    if _held(calibration, "trend_per_year"):
        market["trend_per_year"] = round(calibrated.market.trend_per_year, 4)
    if _held(calibration, "seasonality_1"):
        market["seasonality"] = [round(v, 4) for v in calibrated.market.seasonality]
    name = calibration.scenario.name
    diff: dict[str, Any] = {
        "extends": parent,
        "name": f"{name}-calibrated",
        "description": f"{name} calibrated to {block['history']} (incentsim calibrate).",
        "population": {
            "source": "partners.csv",
            "partners": len(calibration.partners),
            "recruitment": {"per_period": round(calibration.recruitment_per_period, 3)},
            "segments": segments,
        },
        "behaviour": {c.name: c.value for c in calibration.constants if c.identified},
    }
    if market:
        diff["market"] = market
    diff["calibration"] = block
    return diff


def _held(calibration: Calibration, key: str) -> bool:
    """Whether the calibrated scenario holds the estimate ``key``."""
    table = calibration.estimates
    return key in table.index and bool(table.loc[key, "in_scenario"])


def write_calibration(
    calibration: Calibration,
    out: str | Path,
    *,
    scenario_file: str | Path,
    history: str,
    data_hash: str,
    holdout: pd.DataFrame | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write the calibration folder (replaced whole once every file is written and the
    calibrated scenario validates); the files written.

    Raises
    ------
    OutDirError
        ``out`` holds another kind of result (without ``overwrite``) or another writer holds it.
    """
    out = Path(out)
    block = calibration_block(calibration, history=history, data_hash=data_hash, holdout=holdout)
    diff = scenario_diff(calibration, scenario_file, out, block)
    names = [
        "calibrated.yaml",
        "partners.csv",
        "draws.csv",
        "moments.csv",
        "constants.csv",
        "estimates.csv",
        "backtest.csv",
    ]
    with new_folder(out, KIND, overwrite=overwrite) as staging:
        header = (
            f"# Calibrated by incentsim calibrate from {history} ({data_hash}).\n"
            "# The calibration block records the moments matched, the estimates with their 90%\n"
            "# intervals and the constants the history does not identify.\n"
        )
        text = yaml.safe_dump(diff, sort_keys=False, allow_unicode=True, width=100)
        (staging / "calibrated.yaml").write_text(header + text, encoding="utf-8")
        calibration.partners.to_csv(staging / "partners.csv", index=False, na_rep="")
        calibration.draws.to_csv(staging / "draws.csv", index=False)
        calibration.moments.rename_axis("moment").to_csv(staging / "moments.csv")
        pd.DataFrame([c.__dict__ for c in calibration.constants]).to_csv(
            staging / "constants.csv", index=False
        )
        calibration.estimates.to_csv(staging / "estimates.csv")
        calibration.backtest.to_csv(staging / "backtest.csv")
        if holdout is not None:
            holdout.rename_axis("figure").to_csv(staging / "holdout.csv")
            names.append("holdout.csv")
        load_scenario(staging / "calibrated.yaml")  # what a later run reads must validate
    return [out / name for name in names]
