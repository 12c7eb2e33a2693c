"""Tests for the incentive rules engine (incentsim.program)."""
