"""The audit pool: duplicate claims paid and not yet audited, which an audit that detects them
claws back (domain notes, section 1: guardrails, audits and clawbacks on detected gaming).

Plain data the simulation's week step adds to and its period close sweeps; see
:class:`~incentsim.engine.simulation.Simulation`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

__all__ = ["AuditPool", "Detected"]


@dataclass(frozen=True)
class Detected:
    """What an audit found, per partner ``(R, N)``: the duplicate co-selling revenue, SPIFF
    revenue and deals ``(R, N, S)``, and the duplicate claims themselves."""

    co_sell: FloatArray
    spiff_revenue: FloatArray
    spiff_deals: FloatArray
    duplicates: FloatArray


@dataclass
class AuditPool:
    """Duplicate claims that got through registration and no audit has looked at yet, per
    partner ``(R, N)``: co-selling revenue, SPIFF revenue and deals ``(R, N, S)``, and the
    number of duplicate claims."""

    co_sell: FloatArray
    spiff_revenue: FloatArray
    spiff_deals: FloatArray
    duplicates: FloatArray

    @classmethod
    def empty(cls, shape: tuple[int, ...], spiffs: int) -> AuditPool:
        """A pool with nothing in it: ``shape`` ``(R, N)`` and ``spiffs`` SPIFFs."""
        return cls(
            co_sell=np.zeros(shape),
            spiff_revenue=np.zeros((*shape, spiffs)),
            spiff_deals=np.zeros((*shape, spiffs)),
            duplicates=np.zeros(shape),
        )

    def add(
        self,
        co_sell: FloatArray,
        spiff_revenue: FloatArray,
        spiff_deals: FloatArray,
        duplicates: FloatArray,
    ) -> None:
        """Put a week's duplicate claims that got through into the pool."""
        self.co_sell += co_sell
        self.spiff_revenue += spiff_revenue
        self.spiff_deals += spiff_deals
        self.duplicates += duplicates

    def sweep(self, audited: BoolArray, detected: BoolArray) -> Detected:
        """An audit of the ``audited`` partners: what it finds at those where it ``detected``
        the duplicates; every audited partner's pool is emptied (an audit that misses them
        does not look again)."""
        found = Detected(
            co_sell=np.where(detected, self.co_sell, 0.0),
            spiff_revenue=np.where(detected[..., None], self.spiff_revenue, 0.0),
            spiff_deals=np.where(detected[..., None], self.spiff_deals, 0.0),
            duplicates=np.where(detected, self.duplicates, 0.0),
        )
        self.co_sell = np.where(audited, 0.0, self.co_sell)
        self.duplicates = np.where(audited, 0.0, self.duplicates)
        self.spiff_revenue = np.where(audited[..., None], 0.0, self.spiff_revenue)
        self.spiff_deals = np.where(audited[..., None], 0.0, self.spiff_deals)
        return found
