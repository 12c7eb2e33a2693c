"""Write a calibration: a calibrated scenario file, its partners, the parameter draws and the
fit, in one folder replaced whole (:func:`~incentsim._output.new_folder`).

``calibrated.yaml`` is a small ``extends:`` diff on the input scenario: the real partners
(``partners.csv``, capacity fitted), the recruitment rate and each segment's capacity
distribution fitted in the input's family (for recruits; the block says which heavy-tailed
family fits better), the identified behaviour constants, and the ``calibration:`` block
(:class:`~incentsim.scenario.calibration.CalibrationRecord`). ``draws.csv`` holds the bootstrap
draws of the estimated constants (``incentsim run --draws``), ``moments.csv`` the fit per
segment, ``constants.csv`` the estimates, and ``holdout.csv`` the hold-out check when it ran.
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
            "simulated moments under common random numbers; partner bootstrap "
            f"({len(calibration.draws)} draws)"
        ),
        "constants": {
            c.name: {
                "prior": c.prior,
                "estimate": c.estimate,
                "low": c.low,
                "high": c.high,
                "identified": c.identified,
                "evidence": c.evidence,
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
    name = calibration.scenario.name
    return {
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
        "calibration": block,
    }


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
    names = ["calibrated.yaml", "partners.csv", "draws.csv", "moments.csv", "constants.csv"]
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
        if holdout is not None:
            holdout.rename_axis("figure").to_csv(staging / "holdout.csv")
            names.append("holdout.csv")
        load_scenario(staging / "calibrated.yaml")  # what a later run reads must validate
    return [out / name for name in names]
