"""Scenarios: the validated model and the loader that reads, merges and overrides YAML files."""

from incentsim.calendar import Calendar
from incentsim.scenario.loader import (
    load_program,
    load_scenario,
    scenario_from_dict,
    scenario_hash,
)
from incentsim.scenario.model import Scenario

__all__ = [
    "Calendar",
    "Scenario",
    "load_program",
    "load_scenario",
    "scenario_from_dict",
    "scenario_hash",
]
