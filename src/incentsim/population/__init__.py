"""The partner population: segment priors (:mod:`.spec`) and the arrays drawn from them.

:func:`build_partners` draws every partner of a block of replications as arrays shaped
``(replications, partner slots)``, from the segment priors or from a CSV of real partners
(:func:`load_partners_csv`). :func:`top_share` measures how concentrated sizes or revenue are.
"""

from incentsim.population.spec import (
    Beta,
    Distribution,
    Fixed,
    LogNormal,
    Normal,
    Pareto,
    Population,
    Recruitment,
    Segment,
    Uniform,
)

# Heavy modules (pandas, scipy) load on first use, so reading a scenario stays fast.
_LAZY = {
    name: "incentsim.population.sample"
    for name in (
        "CAPACITY_SHARE_ASSUMED",
        "NEVER_ACTIVE",
        "PARAMETER_BOUNDS",
        "Partners",
        "build_partners",
        "draw",
        "load_partners_csv",
        "top_share",
    )
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        # the lazy loader: heavy modules load on first use
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CAPACITY_SHARE_ASSUMED",
    "NEVER_ACTIVE",
    "PARAMETER_BOUNDS",
    "Beta",
    "Distribution",
    "Fixed",
    "LogNormal",
    "Normal",
    "Pareto",
    "Partners",
    "Population",
    "Recruitment",
    "Segment",
    "Uniform",
    "build_partners",
    "draw",
    "load_partners_csv",
    "top_share",
]
