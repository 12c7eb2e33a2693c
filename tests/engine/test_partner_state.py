"""The partner state's own rules: trust lost costs loyalty, leaving and joining reset a slot."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from incentsim.engine.partner_state import PartnerState, join, leave, update_trust
from incentsim.engine.simulation import draw_partners_and_market
from incentsim.population.behaviour import Behaviour
from incentsim.scenario.loader import load_scenario


def opened(partners: int = 20) -> tuple[PartnerState, np.ndarray]:
    """The opening state of two replications of the small scenario, and its initial loyalty."""
    scenario = load_scenario("scenarios/small.yaml", [f"population.partners={partners}"])
    population, market, _ = np.random.SeedSequence(4).spawn(3)
    drawn, _ = draw_partners_and_market(scenario, population, market, 2)
    return PartnerState.opening(drawn, scenario.behaviour), drawn.initial_loyalty


OPENED, _ = opened()
SHAPE = OPENED.loyalty.shape
unit = arrays(np.float64, SHAPE, elements=st.floats(0.0, 1.0))
mask = arrays(np.bool_, SHAPE)


@given(loyalty=unit, trust=unit, new=unit, who=mask, weight=st.floats(0.0, 2.0))
def test_trust_lost_costs_loyalty_and_trust_regained_never_raises_it(
    loyalty, trust, new, who, weight
) -> None:
    state = replace(OPENED, loyalty=loyalty, trust=trust)
    update_trust(state, Behaviour(procedural_weight=weight), new, who)
    assert (state.loyalty <= loyalty).all()
    assert ((state.loyalty >= 0.0) & (state.loyalty <= 1.0)).all()
    np.testing.assert_array_equal(state.loyalty[~who], loyalty[~who])
    np.testing.assert_array_equal(state.trust, np.where(who, new, trust))
    dropped = who & (new < trust)
    expected = np.clip(loyalty - weight * (trust - new), 0.0, 1.0)
    np.testing.assert_allclose(state.loyalty[dropped], expected[dropped])


def test_a_slot_left_then_joined_starts_afresh() -> None:
    state, initial_loyalty = opened()
    assert (state.pipeline[state.active] > 0).all()
    leaving = state.active.copy()
    leaving[:, 1::2] = False
    state.held = np.full(state.held.shape, 5.0)
    state.effort = np.full(state.effort.shape, 0.4)
    state.trust = np.full(state.trust.shape, 0.3)
    leave(state, leaving, 3)
    assert not state.active[leaving].any()
    assert (state.left_period[leaving] == 3).all()
    assert (state.pipeline[leaving] == 0).all()
    assert (state.held[leaving] == 0).all()
    assert (state.held[~leaving] == 5.0).all()
    join(state, leaving, 4, initial_loyalty)
    assert state.active[leaving].all()
    assert (state.join_period[leaving] == 4).all()
    np.testing.assert_array_equal(state.loyalty[leaving], initial_loyalty[leaving])
    assert (state.trust[leaving] == 1.0).all()
    assert (state.effort[leaving] == 1.0).all()
    assert (state.trust[~leaving] == 0.3).all()
    assert (state.effort[~leaving] == 0.4).all()
