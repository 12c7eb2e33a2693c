"""The market around the partners: the scenario's description (:mod:`.spec`) and its paths.

:func:`market_path` draws, for a block of replications, the weekly demand multiplier, supply,
price, competitor offer and payout delays per segment × region group, with the timed shocks.
"""

from incentsim.market.demand import NOISE_PERSISTENCE, MarketPath, market_path
from incentsim.market.spec import SHOCK_KINDS, Market, Shock

__all__ = ["NOISE_PERSISTENCE", "SHOCK_KINDS", "Market", "MarketPath", "Shock", "market_path"]
