"""The strict base model every specification is built on (scenario, program, population,
market, calendar, optimisation, experiment files).

A misspelt key is an error, never silently ignored; numbers are finite and never yes/no values
(see :mod:`incentsim.quantities`); assignments are validated too.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from incentsim.quantities import holds_numbers, refuse_yes_no

__all__ = ["Strict"]


class Strict(BaseModel):
    """Base model: unknown keys are errors, so a misspelt key never passes silently; numbers are
    finite and never yes/no values (see :mod:`incentsim.quantities`)."""

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, frozen=False, allow_inf_nan=False
    )

    @model_validator(mode="before")
    @classmethod
    def _numbers_are_numbers(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, annotation in _numeric_fields(cls).items():
                if name in data:
                    refuse_yes_no(annotation, data[name], name)
        return data


@functools.cache
def _numeric_fields(model: type[Strict]) -> dict[str, Any]:
    """The fields of ``model`` that can hold numbers, with their types (worked out once)."""
    return {
        name: field.annotation
        for name, field in model.model_fields.items()
        if holds_numbers(field.annotation)
    }
