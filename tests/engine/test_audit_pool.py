"""The audit pool's accounting: every duplicate claim added is found by an audit that detects
it, or stays in the pool until an audit looks; an audit that looks empties the pool."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from incentsim.engine.audit_pool import AuditPool
from incentsim.engine.tally import PeriodTally


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), weeks=st.integers(1, 6), audit_rate=st.floats(0, 1))
def test_claims_are_found_or_kept_never_lost(seed: int, weeks: int, audit_rate: float) -> None:
    rng = np.random.default_rng(seed)
    shape, spiffs = (2, 5), 3
    pool = AuditPool.empty(shape, spiffs)
    since_audit = np.zeros(shape)  # duplicate claims added since each partner's last audit
    for _ in range(weeks):
        claims = (
            rng.random(shape),
            rng.random((*shape, spiffs)),
            rng.random((*shape, spiffs)),
            rng.random(shape),
        )
        pool.add(*claims)
        since_audit += claims[3]
        spiff_before = pool.spiff_revenue.copy()
        audited = rng.random(shape) < audit_rate
        detected = audited & (rng.random(shape) < 0.5)
        found = pool.sweep(audited, detected)
        assert np.allclose(found.duplicates, np.where(detected, since_audit, 0.0))
        assert np.array_equal(found.spiff_revenue, np.where(detected[..., None], spiff_before, 0))
        since_audit = np.where(audited, 0.0, since_audit)
        assert np.allclose(pool.duplicates, since_audit)
        assert not pool.spiff_revenue[audited].any()


def test_an_empty_tally_has_the_shapes_the_period_needs() -> None:
    tally = PeriodTally.empty((2, 4), spiffs=3, weeks=13)
    assert tally.revenue.shape == (2, 4)
    assert tally.spiff_revenue.shape == tally.spiff_deals.shape == (2, 4, 3)
    assert tally.week_revenue.shape == (2, 4, 13)
    assert not tally.revenue.any()
    assert PeriodTally.empty((2, 4), spiffs=0, weeks=0).week_revenue.shape == (2, 4, 0)
