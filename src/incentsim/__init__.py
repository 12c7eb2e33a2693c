"""incentsim: design channel-partner incentive programs before they go live."""

__version__ = "0.1.0"

__all__ = ["__version__"]
