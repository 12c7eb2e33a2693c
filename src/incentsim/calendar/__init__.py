"""The program calendar (:class:`Calendar`) and its fiscal dating and naming
(:mod:`incentsim.calendar.fiscal`): at the bottom of the layers, so every layer that dates or
names a period (population, market, engine, payout, reports) reads the same calendar."""

from incentsim.calendar.model import Calendar

__all__ = ["Calendar"]
