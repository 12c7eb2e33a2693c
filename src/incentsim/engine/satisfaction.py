"""Customer satisfaction: what chasing a metric does to it, and what it does to later demand.

* **Tunnel vision** (Holmstrom & Milgrom 1991, multitasking): selling and post-sale support
  compete for a partner's time, so effort above normal on the rewarded task (selling) comes out
  of the unrewarded one. Satisfaction falls by ``behaviour.tunnel_vision`` points per unit of
  the period's average effort above normal, less where a satisfaction gate or requirement makes
  support pay (:func:`satisfaction_pressure`).
* **Consequences**: dissatisfied end customers buy again and renew less, and more of them leave.
  Each partner carries the share of its normal repeat and renewal demand it keeps, 1 at
  normal satisfaction; at every period close it moves towards ``1 - satisfaction_demand_effect``
  per point of the period's satisfaction below the partner's normal level, closing the gap with
  a mean lag of ``satisfaction_lag_quarters`` (:func:`demand_kept_after`). It multiplies the
  partner's potential sales, so support starved this period costs revenue in later periods.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from incentsim.population.behaviour import Behaviour

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Share of the tunnel-vision wear left where a satisfaction gate or requirement rewards support.
GUARDED_SHARE = 0.3


def satisfaction_pressure(behaviour: Behaviour, guarded: BoolArray) -> FloatArray:
    """Points of satisfaction lost per unit of effort above normal, per partner: the behaviour's
    ``tunnel_vision``, cut to :data:`GUARDED_SHARE` of it for partners whose program guards
    satisfaction (a gate or a tier requirement)."""
    return behaviour.tunnel_vision * np.where(guarded, GUARDED_SHARE, 1.0)


def worn_satisfaction(normal: FloatArray, pressure: FloatArray, effort: FloatArray) -> FloatArray:
    """Satisfaction (0-5) of partners whose average effort is ``effort`` (1 is normal): their
    ``normal`` level less ``pressure`` per unit of effort above normal."""
    return np.clip(normal - pressure * np.maximum(effort - 1.0, 0.0), 0.0, 5.0)


def demand_step(behaviour: Behaviour, weeks_per_period: int) -> float:
    """Share of the gap between the demand a partner keeps and its target closed at one period
    close: ``1 - exp(-weeks / (13 * satisfaction_lag_quarters))``, a mean lag of
    ``satisfaction_lag_quarters`` quarters whatever the period's length."""
    return 1.0 - math.exp(-weeks_per_period / (13.0 * behaviour.satisfaction_lag_quarters))


def demand_kept_after(
    behaviour: Behaviour,
    kept: FloatArray,
    satisfaction: FloatArray,
    normal: FloatArray,
    step: float,
) -> FloatArray:
    """Share of its normal repeat and renewal demand each partner keeps after a period whose
    satisfaction was ``satisfaction`` (its ``normal`` level keeps all of it).

    The target is ``1 - satisfaction_demand_effect * (normal - satisfaction)`` (at least 0);
    ``kept`` closes ``step`` of its gap to it (:func:`demand_step`), so a fall in satisfaction
    costs demand over the following periods and a recovery wins it back as slowly.
    """
    target = np.maximum(1.0 - behaviour.satisfaction_demand_effect * (normal - satisfaction), 0.0)
    return kept + step * (target - kept)
