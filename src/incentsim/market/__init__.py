"""The market around the partners: the scenario's description (:mod:`.spec`) and its paths.

:func:`market_path` draws, for a block of replications, the weekly demand multiplier, supply,
price, competitor offer and payout delays per segment × region group, with the timed shocks.
"""

from incentsim.market.spec import SHOCK_KINDS, Market, Shock

# Heavy modules (pandas, scipy) load on first use, so reading a scenario stays fast.
_LAZY = {
    name: "incentsim.market.demand" for name in ("NOISE_PERSISTENCE", "MarketPath", "market_path")
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        # the lazy loader: heavy modules load on first use
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["NOISE_PERSISTENCE", "SHOCK_KINDS", "Market", "MarketPath", "Shock", "market_path"]
