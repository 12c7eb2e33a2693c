"""The period's running tally: what partners have booked so far in the period, week by week.

Plain data the simulation's week step adds to and its period close reads (and resets); see
:class:`~incentsim.engine.simulation.Simulation`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

__all__ = ["PeriodTally"]


@dataclass
class PeriodTally:
    """What each partner has booked so far in the period, ``(R, N)`` unless said.

    Attributes
    ----------
    revenue
        Revenue booked (net of deferrals, with pulled-in deals and stock loaded).
    deals
        Deals booked.
    new_logos
        New customers among them.
    co_sell_revenue
        Revenue claimed as co-sold with the vendor (registered deals, and duplicates that pass).
    spiff_revenue, spiff_deals
        Revenue and deals claimed under each SPIFF, ``(R, N, S)``.
    effort_sum
        Effort summed over the period's weeks so far.
    week_revenue
        Revenue booked by week of the period, ``(R, N, W)``, for bonuses on windows inside the
        period (``(R, N, 0)`` without them).
    """

    revenue: FloatArray
    deals: FloatArray
    new_logos: FloatArray
    co_sell_revenue: FloatArray
    spiff_revenue: FloatArray
    spiff_deals: FloatArray
    effort_sum: FloatArray
    week_revenue: FloatArray

    @classmethod
    def empty(cls, shape: tuple[int, ...], spiffs: int, weeks: int) -> PeriodTally:
        """A period with nothing booked yet: ``shape`` ``(R, N)``, ``spiffs`` SPIFFs and
        ``weeks`` weeks of revenue kept by week (0 when no bonus window needs them)."""
        return cls(
            revenue=np.zeros(shape),
            deals=np.zeros(shape),
            new_logos=np.zeros(shape),
            co_sell_revenue=np.zeros(shape),
            spiff_revenue=np.zeros((*shape, spiffs)),
            spiff_deals=np.zeros((*shape, spiffs)),
            effort_sum=np.zeros(shape),
            week_revenue=np.zeros((*shape, weeks)),
        )
