"""The segment x region groups of a population, in the one order every layer indexes them by.

A program's terms (:func:`~incentsim.program.compiled.compile_program`), the partners drawn for
a simulation (:attr:`~incentsim.population.sample.Partners.group`), the market's group axis
(:class:`~incentsim.market.demand.MarketPath`) and the partners of a transactions file
(:mod:`incentsim.payout.aggregate`) all number groups segment-major::

    group = segment_index * len(regions) + region_index

>>> groups = Groups(("reseller", "si"), ("emea", "amer"))
>>> groups.names
('reseller/emea', 'reseller/amer', 'si/emea', 'si/amer')
>>> groups.index("si", "emea"), len(groups)
(2, 4)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Groups"]


@dataclass(frozen=True)
class Groups:
    """A population's segments and regions, and the index of each (segment, region) group.

    Attributes
    ----------
    segments, regions
        The names, in the population's order.
    """

    segments: tuple[str, ...]
    regions: tuple[str, ...]

    @classmethod
    def of(cls, segments: Iterable[str], regions: Iterable[str]) -> Groups:
        """The groups of these segment and region names (any iterables, a mapping's keys)."""
        return cls(tuple(segments), tuple(regions))

    def __len__(self) -> int:
        return len(self.segments) * len(self.regions)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        """Each group's ``(segment, region)``, in index order."""
        return ((s, r) for s in self.segments for r in self.regions)

    @property
    def names(self) -> tuple[str, ...]:
        """``"segment/region"`` labels, in index order."""
        return tuple(f"{s}/{r}" for s, r in self)

    def index(self, segment: str, region: str) -> int:
        """The index of the group of ``segment`` and ``region`` (``ValueError`` for a name
        that is not the population's)."""
        return int(self.code(self.segments.index(segment), self.regions.index(region)))

    def code(self, segment: Any, region: Any) -> NDArray[np.int64]:
        """The group index of segment and region indices (integers, or arrays of matching
        shapes)."""
        regions = len(self.regions)
        return np.asarray(segment, dtype=np.int64) * regions + np.asarray(region, dtype=np.int64)

    def code_names(self, segment: Iterable[str], region: Iterable[str]) -> NDArray[np.int64]:
        """The group index of parallel sequences of segment and region names."""
        seg_i = {s: i for i, s in enumerate(self.segments)}
        reg_i = {r: i for i, r in enumerate(self.regions)}
        pairs = list(zip(segment, region, strict=True))
        return self.code(
            np.array([seg_i[s] for s, _ in pairs], dtype=np.int64),
            np.array([reg_i[r] for _, r in pairs], dtype=np.int64),
        )
