"""The segment x region group index (incentsim.groups) is one order for every layer."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from incentsim.groups import Groups

NAMES = st.lists(st.text("abcxyz", min_size=1, max_size=3), min_size=1, max_size=4, unique=True)


@given(segments=NAMES, regions=NAMES)
def test_every_way_to_index_a_group_agrees(segments: list[str], regions: list[str]) -> None:
    groups = Groups.of(segments, regions)
    pairs = list(groups)
    assert len(pairs) == len(groups) == len(segments) * len(regions)
    assert groups.names == tuple(f"{s}/{r}" for s, r in pairs)
    assert [groups.index(s, r) for s, r in pairs] == list(range(len(groups)))
    seg = np.array([segments.index(s) for s, _ in pairs])
    reg = np.array([regions.index(r) for _, r in pairs])
    np.testing.assert_array_equal(groups.code(seg, reg), np.arange(len(groups)))
    np.testing.assert_array_equal(
        groups.code_names([s for s, _ in pairs], [r for _, r in pairs]), np.arange(len(groups))
    )


def test_groups_are_segment_major() -> None:
    groups = Groups(("reseller", "si"), ("emea", "amer"))
    assert groups.index("si", "emea") == 2
    assert groups.code(np.array([[1, 0]]), np.array([[1, 1]])).tolist() == [[3, 1]]
    assert groups.code_names([], []).shape == (0,)
