"""The number types every specification uses, so that a number always means what it says.

- Infinity and NaN (``.inf``, ``.nan``, ``1e400``) are refused by every float of a
  :class:`~incentsim.strict.Strict` model (its ``allow_inf_nan`` is off) and by
  :data:`Finite` anywhere; :data:`Rate` and :data:`Money` are built on it.
- :func:`refuse_yes_no` refuses a yes/no value where a number is meant (``rebate_rate: yes`` is
  not a 100% rebate); :class:`~incentsim.strict.Strict` applies it to every field whose
  type holds numbers, so every specification model refuses them.
- :data:`Money` is at most :data:`MAX_AMOUNT`.

Money is computed in int64 cents by the rules engine, which holds at most 9.22e16 currency
units. An amount (a budget, a cap, a reward, one transaction) is bounded by :data:`MAX_AMOUNT`
(one trillion): one partner's period, even with several components at the bound, stays far
below the int64 limit. Paying real transactions (:mod:`incentsim.payout`), the sum of what one
partner sells, returns or claims in a period is bounded by :data:`MAX_AMOUNT` too, and a file's
total of one money column by :data:`MAX_TOTAL` (a thousand trillion): incentives of up to ten
times the revenue (a 100% rate with the largest accelerator multiplier) on such totals stay more
than 9 times below the int64 limit, so no sum in cents can wrap. No real program comes near
either bound; they exist so that a typo or a hostile file cannot become a wrong number.

Money moves between currency units and cents only through :func:`to_cents` and
:func:`cents_of` (rounded half to even) and back through :func:`from_cents` and
:func:`amount_of`; :func:`round_to_cents` rounds an amount to the cent and
:func:`cents_decimal` gives an exact :class:`~decimal.Decimal` of the currency. A float holds
every whole cent exactly up to ``2**53`` cents (about 90 trillion currency units), so an amount
up to :data:`MAX_AMOUNT` makes the trip to cents and back unchanged.

>>> to_cents([1.005, 2.5, -0.125])
array([100, 250, -12])
>>> from_cents(to_cents([12.34]))
array([12.34])
>>> cents_of(0.125), amount_of(1234), cents_decimal(-5)
(12, 12.34, Decimal('-0.05'))
"""

from __future__ import annotations

import types
from decimal import Decimal
from typing import Annotated, Any, Union, get_args, get_origin

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import Field

#: The largest amount of money one field, one transaction or one partner's period may hold.
MAX_AMOUNT = 1e12
#: The largest total of one money column over a whole file of transactions.
MAX_TOTAL = 1e15

#: A finite float: no infinity or NaN.
Finite = Annotated[float, Field(allow_inf_nan=False)]
#: A share or a rate: a finite number from 0 to 1.
Rate = Annotated[Finite, Field(ge=0.0, le=1.0)]
#: An amount of money: finite, not negative, at most :data:`MAX_AMOUNT`.
Money = Annotated[Finite, Field(ge=0.0, le=MAX_AMOUNT)]


def to_cents(amount: ArrayLike) -> NDArray[np.int64]:
    """Money as whole cents (int64), rounded half to even: how the rules engine and the ledger
    hold it."""
    scaled = np.asarray(amount, dtype=np.float64) * 100.0
    if np.ndim(scaled):
        np.rint(scaled, out=scaled)  # in place: one large temporary less
        return scaled.astype(np.int64)
    return np.rint(scaled).astype(np.int64)


def cents_of(amount: float) -> int:
    """One amount as whole cents, rounded half to even as :func:`to_cents` rounds."""
    return round(float(amount) * 100.0)


def from_cents(cents: ArrayLike) -> NDArray[np.float64]:
    """Whole cents as money (float64, in currency units)."""
    return np.asarray(cents, dtype=np.float64) / 100.0


def amount_of(cents: int) -> float:
    """One amount of whole cents as money (in currency units)."""
    return int(cents) / 100.0


def round_to_cents(amount: ArrayLike) -> NDArray[np.float64]:
    """Money rounded to the cent (half to even), still in currency units."""
    return np.rint(np.asarray(amount, dtype=np.float64) * 100.0) / 100.0


def cents_decimal(cents: int) -> Decimal:
    """Whole cents as an exact :class:`~decimal.Decimal` of the currency, with two places."""
    return (Decimal(int(cents)) / 100).quantize(Decimal("0.01"))


def refuse_yes_no(annotation: Any, value: Any, where: str) -> None:
    """Refuse a yes/no value given where ``annotation`` asks for a number.

    Numbers inside mappings, lists and tuples (``regions: {emea: yes}``) are checked too. A
    field that accepts a boolean (``bool``, ``Any``) takes it as given.

    Parameters
    ----------
    annotation
        The field's type.
    value
        The value given for it, not yet validated.
    where
        The field's name (dotted below it for items), which starts the error message.

    Raises
    ------
    ValueError
        ``value`` (or one of its items) is ``True`` or ``False`` where a number is meant; the
        message starts with ``where:``.
    """
    if isinstance(value, bool):
        if _numeric(annotation) and not _takes_bool(annotation):
            raise ValueError(
                f"{where}: a number is expected, not the yes/no value {str(value).lower()}"
            )
        return
    if not isinstance(value, dict | list | tuple):
        return
    for member in _alternatives(annotation):
        origin = get_origin(member)
        if origin is dict and isinstance(value, dict):
            for key, item in value.items():
                refuse_yes_no(get_args(member)[1], item, f"{where}.{key}")
        elif origin in (list, tuple) and isinstance(value, list | tuple):
            args = [a for a in get_args(member) if a is not Ellipsis] or [Any]
            for i, item in enumerate(value):
                refuse_yes_no(args[min(i, len(args) - 1)], item, f"{where}.{i}")


def holds_numbers(annotation: Any) -> bool:
    """Whether a field of this type can hold a number, directly or in a mapping, list or tuple
    (the fields :func:`refuse_yes_no` needs to look at)."""
    for member in _alternatives(annotation):
        if member in (int, float):
            return True
        if get_origin(member) in (dict, list, tuple) and any(
            holds_numbers(arg) for arg in get_args(member) if arg is not Ellipsis
        ):
            return True
    return False


def _strip(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _alternatives(annotation: Any) -> list[Any]:
    annotation = _strip(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        return [alt for member in get_args(annotation) for alt in _alternatives(member)]
    return [annotation]


def _takes_bool(annotation: Any) -> bool:
    return any(alt is bool or alt is Any for alt in _alternatives(annotation))


def _numeric(annotation: Any) -> bool:
    return any(alt in (int, float) for alt in _alternatives(annotation))
