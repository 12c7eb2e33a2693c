"""The allocator thresholds the engine raises so large temporaries are reused."""

from __future__ import annotations

import sys

import pytest

from incentsim.engine import allocator


def test_thresholds_are_left_to_an_environment_that_sets_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert allocator._set_thresholds() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_thresholds_are_set_once_on_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    assert allocator._set_thresholds() is True
    first = allocator.keep_freed_memory()
    assert allocator.keep_freed_memory() is first
