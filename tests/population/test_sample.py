"""Tests for drawing partner populations (incentsim.population.sample)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from incentsim.errors import DataError, ScenarioError
from incentsim.population import (
    CAPACITY_SHARE_ASSUMED,
    NEVER_ACTIVE,
    PARAMETER_BOUNDS,
    Beta,
    Fixed,
    LogNormal,
    Normal,
    Pareto,
    Partners,
    Uniform,
    build_partners,
    draw,
    load_partners_csv,
    top_share,
)
from incentsim.scenario.model import Scenario

PROGRAM = {"tiers": {"registered": {"rebate_rate": 0.01}}}
SEGMENTS = {"reseller": {"share": 0.5}, "si": {"share": 0.3}, "tech": {"share": 0.2}}
REGIONS = {"emea": 0.4, "amer": 0.6}


def scenario(population: dict[str, Any] | None = None, **calendar: int) -> Scenario:
    pop = {"partners": 500, "segments": SEGMENTS, "regions": REGIONS, **(population or {})}
    return Scenario.model_validate(
        {"name": "test", "population": pop, "calendar": calendar, "program": PROGRAM}
    )


def rng(seed: int = 7) -> np.random.Generator:
    return np.random.default_rng(seed)


def drawn(s: Scenario, generator: np.random.Generator, reps: int, **kw: Any) -> Partners:
    """The partners :func:`build_partners` draws from ``s``'s population and calendar."""
    return build_partners(s.population, s.calendar, generator, reps, **kw)


# --- draw -----------------------------------------------------------------------------------

N_DRAW = 200_000


def test_draw_fixed() -> None:
    x = draw(Fixed(dist="fixed", value=3.5), rng(), (2, 3))
    assert x.shape == (2, 3)
    assert x.dtype == np.float64
    assert np.all(x == 3.5)


def test_draw_uniform() -> None:
    x = draw(Uniform(dist="uniform", low=2.0, high=8.0), rng(), N_DRAW)
    assert x.min() >= 2.0
    assert x.max() < 8.0
    assert x.mean() == pytest.approx(5.0, abs=0.02)


def test_draw_normal_clipped() -> None:
    x = draw(Normal(dist="normal", mean=4.0, sd=0.4, low=1.0, high=4.5), rng(), N_DRAW)
    assert x.min() >= 1.0
    assert x.max() == 4.5
    assert np.median(x) == pytest.approx(4.0, abs=0.01)
    unclipped = draw(Normal(dist="normal", mean=-1.0, sd=2.0), rng(), N_DRAW)
    assert unclipped.mean() == pytest.approx(-1.0, abs=0.02)
    assert unclipped.std() == pytest.approx(2.0, rel=0.01)


def test_draw_lognormal_median_and_sigma() -> None:
    x = draw(LogNormal(dist="lognormal", median=8000.0, sigma=1.1), rng(), N_DRAW)
    assert np.median(x) == pytest.approx(8000.0, rel=0.02)
    assert np.log(x).std() == pytest.approx(1.1, rel=0.01)


def test_draw_beta_mean_and_concentration() -> None:
    x = draw(Beta(dist="beta", mean=0.3, concentration=20.0), rng(), N_DRAW)
    assert x.mean() == pytest.approx(0.3, abs=0.002)
    # Var of Beta(mean m, concentration c) = m(1-m)/(c+1).
    assert x.var() == pytest.approx(0.3 * 0.7 / 21.0, rel=0.02)


def test_draw_pareto_minimum_and_median() -> None:
    x = draw(Pareto(dist="pareto", scale=1000.0, shape=1.5), rng(), N_DRAW)
    assert x.min() >= 1000.0
    assert np.median(x) == pytest.approx(1000.0 * 2 ** (1 / 1.5), rel=0.02)


# --- top_share ------------------------------------------------------------------------------


def test_top_share_simple_and_nan_ignored() -> None:
    assert top_share(np.array([1.0, 1.0, 1.0, 7.0])) == pytest.approx(0.7)
    assert top_share(np.array([1.0, 1.0, 1.0, 7.0, np.nan]), fraction=0.25) == pytest.approx(0.7)
    assert top_share(np.ones(10), fraction=0.2) == pytest.approx(0.2)
    assert top_share(np.ones(10), fraction=1.0) == pytest.approx(1.0)


def test_top_share_per_row() -> None:
    values = np.array([[1.0, 1.0, 1.0, 1.0, 6.0], [2.0, 2.0, 2.0, 2.0, 2.0]])
    np.testing.assert_allclose(top_share(values, 0.2), [0.6, 0.2])
    np.testing.assert_allclose(top_share(values.T, 0.2, axis=0), [0.6, 0.2])


def test_top_share_rejects_bad_fraction() -> None:
    with pytest.raises(ValueError, match="fraction"):
        top_share(np.ones(3), fraction=0.0)


@given(
    st.lists(st.floats(0.0, 1e6, allow_nan=False), min_size=1, max_size=40),
    st.floats(0.01, 1.0),
)
def test_top_share_bounds(values: list[float], fraction: float) -> None:
    share = top_share(np.array(values), fraction)
    if sum(values) > 0:
        # The top ceil(f * n) values hold at least their head-count share f of the total.
        assert fraction - 1e-9 <= share <= 1.0 + 1e-9
    else:
        assert math.isnan(share)


# --- build_partners: drawn population -------------------------------------------------------


def test_shapes_dtypes_and_metadata() -> None:
    p = drawn(scenario({"recruitment": {"per_period": 3.0}}), rng(), 4)
    r, n = p.segment.shape
    assert r == 4
    assert n > 500
    for f in dataclasses.fields(Partners):
        value = getattr(p, f.name)
        if f.name in PARAMETER_BOUNDS:
            assert value.shape == (r, n)
            assert value.dtype == np.float64
    for name in ("segment", "region", "group", "active_from_period"):
        assert getattr(p, name).dtype == np.int64
    assert p.product_mix.shape == (r, n, 1)
    assert p.observed_revenue is None
    assert p.partner_id.shape == (n,)
    assert p.partner_id[0] == "P0001"
    assert p.partner_id[500] == "recruit-0001"
    assert len(set(p.partner_id)) == n
    assert p.segment_names == ("reseller", "si", "tech")
    assert p.region_names == ("emea", "amer")
    assert p.n_groups == 6
    assert p.group_names[3] == "si/amer"


def test_group_index_matches_partners_groups() -> None:
    s = scenario()
    p = drawn(s, rng(), 2)
    np.testing.assert_array_equal(p.group, p.segment * 2 + p.region)
    assert p.groups == s.population.groups
    for g, label in enumerate(p.group_names):
        seg, reg = label.split("/")
        assert s.population.groups.index(seg, reg) == g


def test_arrays_are_read_only() -> None:
    p = drawn(scenario(), rng(), 2)
    with pytest.raises(ValueError, match="read-only"):
        p.capacity[0, 0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.capacity = p.capacity  # type: ignore[misc]


def test_same_seed_same_partners_other_seed_differs() -> None:
    s = scenario({"recruitment": {"per_period": 4.0}})
    a, b, c = (
        drawn(s, rng(1), 3),
        drawn(s, rng(1), 3),
        drawn(s, rng(2), 3),
    )
    for f in dataclasses.fields(Partners):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
        else:
            assert x == y
    assert not np.array_equal(a.capacity[:, :500], c.capacity[:, :500])


def test_segment_counts_exact_in_every_replication() -> None:
    s = scenario({"partners": 997})
    p = drawn(s, rng(), 5)
    # 997 * (0.5, 0.3, 0.2) = (498.5, 299.1, 199.4): largest remainder gives (499, 299, 199).
    for rep in range(5):
        np.testing.assert_array_equal(np.bincount(p.segment[rep], minlength=3), [499, 299, 199])
    # Same partner, same segment and region in every replication; order is shuffled.
    assert np.all(p.segment == p.segment[0])
    assert np.all(p.region == p.region[0])
    assert not np.all(np.diff(p.segment[0]) >= 0)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 3000),
    weights=st.lists(st.floats(0.05, 1.0), min_size=1, max_size=5),
    region_weights=st.lists(st.floats(0.05, 1.0), min_size=1, max_size=4),
)
def test_segment_and_region_counts_follow_shares(
    n: int, weights: list[float], region_weights: list[float]
) -> None:
    shares = np.array(weights) / sum(weights)
    reg_shares = np.array(region_weights) / sum(region_weights)
    segments = {f"s{i}": {"share": float(x)} for i, x in enumerate(shares)}
    regions = {f"r{i}": float(x) for i, x in enumerate(reg_shares)}
    p = drawn(scenario({"partners": n, "segments": segments, "regions": regions}), rng(), 2)
    seg_counts = np.bincount(p.segment[0], minlength=len(shares))
    assert seg_counts.sum() == n
    assert np.all(np.abs(seg_counts - n * shares) < 1.0)
    for s in range(len(shares)):
        reg_counts = np.bincount(p.region[0][p.segment[0] == s], minlength=len(reg_shares))
        assert np.all(np.abs(reg_counts - seg_counts[s] * reg_shares) < 1.0)


@pytest.mark.parametrize(("sigma", "low", "high"), [(1.1, 0.55, 0.66), (1.3, 0.60, 0.90)])
def test_capacity_heavy_tail(sigma: float, low: float, high: float) -> None:
    segments = {
        "reseller": {
            "share": 1.0,
            "capacity": {"dist": "lognormal", "median": 8000.0, "sigma": sigma},
        }
    }
    p = drawn(scenario({"partners": 2000, "segments": segments}), rng(), 20)
    shares = top_share(p.capacity, 0.2)
    # Lognormal theory: the top 20% hold 1 - Phi(z_0.8 - sigma).
    expected = 1.0 - stats.norm.cdf(stats.norm.ppf(0.8) - sigma)
    assert low <= shares.mean() <= high
    assert shares.mean() == pytest.approx(expected, abs=0.02)


def test_parameters_follow_segment_priors() -> None:
    segments = {
        "big": {
            "share": 0.5,
            "win_rate": {"dist": "fixed", "value": 0.4},
            "capacity": {"dist": "lognormal", "median": 50_000.0, "sigma": 0.3},
        },
        "small": {
            "share": 0.5,
            "win_rate": {"dist": "beta", "mean": 0.1, "concentration": 30.0},
            "capacity": {"dist": "lognormal", "median": 2_000.0, "sigma": 0.3},
        },
    }
    p = drawn(scenario({"partners": 4000, "segments": segments}), rng(), 2)
    big = p.segment == 0
    assert np.all(p.win_rate[big] == 0.4)
    assert p.win_rate[~big].mean() == pytest.approx(0.1, abs=0.005)
    assert np.median(p.capacity[big]) == pytest.approx(50_000.0, rel=0.03)
    assert np.median(p.capacity[~big]) == pytest.approx(2_000.0, rel=0.03)


def test_draws_clipped_to_parameter_bounds() -> None:
    segments = {
        "x": {
            "share": 1.0,
            "win_rate": {"dist": "normal", "mean": 0.5, "sd": 1.0},
            "capacity": {"dist": "normal", "mean": 0.0, "sd": 1000.0},
            "deal_cycle_weeks": {"dist": "uniform", "low": 0.0, "high": 2.0},
            "csat": {"dist": "normal", "mean": 5.0, "sd": 2.0},
        }
    }
    p = drawn(scenario({"partners": 2000, "segments": segments}), rng(), 2)
    for name, (low, high) in PARAMETER_BOUNDS.items():
        values = getattr(p, name)
        assert values.min() >= low, name
        assert values.max() <= high, name
    assert p.capacity.min() == 0.0
    assert p.deal_cycle_weeks.min() == 1.0


def test_product_mix_normalised_per_segment() -> None:
    segments = {
        "reseller": {"share": 0.5, "product_mix": {"core": 3.0, "cloud": 1.0}},
        "si": {"share": 0.5, "product_mix": {"services": 2.0, "core": 2.0}},
    }
    p = drawn(scenario({"partners": 10, "segments": segments}), rng(), 2)
    assert p.product_names == ("core", "cloud", "services")
    np.testing.assert_allclose(p.product_mix.sum(axis=-1), 1.0)
    np.testing.assert_allclose(p.product_mix[p.segment == 0], [[0.75, 0.25, 0.0]] * 10)
    np.testing.assert_allclose(p.product_mix[p.segment == 1], [[0.5, 0.0, 0.5]] * 10)


def test_product_mix_all_zero_is_an_error() -> None:
    segments = {"reseller": {"share": 1.0, "product_mix": {"core": 0.0}}}
    with pytest.raises(ScenarioError, match=r"segments\.reseller\.product_mix"):
        drawn(scenario({"segments": segments}), rng(), 1)


# --- recruitment ----------------------------------------------------------------------------


def test_no_recruitment_no_slots() -> None:
    p = drawn(scenario(), rng(), 3)
    assert p.segment.shape == (3, 500)
    assert np.all(p.active_from_period == 0)


def test_recruitment_slots_inactive_until_their_period() -> None:
    reps, horizon, rate = 400, 8, 6.0
    # Slots are recruiting candidates: by default twice the recruits per period.
    s = scenario({"recruitment": {"per_period": rate / 2}}, horizon_periods=horizon)
    p = drawn(s, rng(), reps)
    initial, slots = p.active_from_period[:, :500], p.active_from_period[:, 500:]
    assert np.all(initial == 0)
    used = slots != NEVER_ACTIVE
    assert np.all((slots[used] >= 1) & (slots[used] <= horizon - 1))
    # Used slots come first and join in period order; the rest stay inactive.
    assert np.all(np.diff(used.astype(int), axis=1) <= 0)
    assert np.all(np.diff(np.where(used, slots, horizon), axis=1) >= 0)
    # Slot count covers a high quantile of the total; recruits per period ~ Poisson(rate).
    assert slots.shape[1] >= stats.poisson.ppf(0.9999, rate * (horizon - 1))
    per_period = np.stack([(slots == k).sum(axis=1) for k in range(1, horizon)], axis=1)
    assert per_period.mean() == pytest.approx(rate, abs=4 * math.sqrt(rate / per_period.size))
    assert per_period.var() == pytest.approx(rate, rel=0.15)
    assert len(np.unique(used.sum(axis=1))) > 5


def test_recruits_draw_segments_by_share() -> None:
    s = scenario({"recruitment": {"per_period": 20.0}})
    p = drawn(s, rng(), 200)
    joined = p.active_from_period[:, 500:] != NEVER_ACTIVE
    seg = p.segment[:, 500:][joined]
    freq = np.bincount(seg, minlength=3) / seg.size
    np.testing.assert_allclose(freq, [0.5, 0.3, 0.2], atol=0.01)


def test_single_period_horizon_has_no_recruits() -> None:
    s = scenario({"recruitment": {"per_period": 5.0}}, horizon_periods=1)
    assert drawn(s, rng(), 2).segment.shape == (2, 500)


# --- real partners from CSV -----------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "partners.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


HAPPY = """partner_id,segment,region,revenue_p1,revenue_p2,capacity,csat
A1,reseller,emea,130000,260000,,4.5
A2,si,amer,26000,,50000,
A3,tech,emea,,,,3
"""


def test_load_partners_csv_happy_path(tmp_path: Path) -> None:
    frame = load_partners_csv(write(tmp_path, HAPPY), scenario().population)
    assert list(frame.columns) == [
        "partner_id",
        "segment",
        "region",
        "revenue_p1",
        "revenue_p2",
        "capacity",
        "csat",
    ]
    assert list(frame["partner_id"]) == ["A1", "A2", "A3"]
    assert frame["revenue_p2"].dtype == np.float64
    assert np.isnan(frame.loc[1, "revenue_p2"])
    assert frame.loc[0, "csat"] == 4.5


def test_build_partners_from_csv(tmp_path: Path) -> None:
    path = write(tmp_path, HAPPY)
    s = scenario({"recruitment": {"per_period": 2.0}})
    p = drawn(s, rng(), 3, source_path=path)
    assert list(p.partner_id[:3]) == ["A1", "A2", "A3"]
    assert str(p.partner_id[3]).startswith("recruit-")
    np.testing.assert_array_equal(p.segment[:, :3], [[0, 1, 2]] * 3)
    np.testing.assert_array_equal(p.region[:, :3], [[0, 1, 0]] * 3)
    assert np.all(p.active_from_period[:, :3] == 0)
    # A1: mean period revenue 195000 over 13-week periods, half assumed to go to the vendor.
    expected = 195_000.0 / 13 / CAPACITY_SHARE_ASSUMED
    np.testing.assert_allclose(p.capacity[:, 0], expected)
    # A2: observed capacity wins over calibration; A3: no history, capacity from the prior.
    np.testing.assert_allclose(p.capacity[:, 1], 50_000.0)
    assert len(np.unique(p.capacity[:, 2])) == 3
    np.testing.assert_allclose(p.csat[:, 0], 4.5)
    np.testing.assert_allclose(p.csat[:, 2], 3.0)
    assert len(np.unique(p.csat[:, 1])) == 3
    # Unobserved parameters are drawn per replication.
    assert len(np.unique(p.win_rate[:, 0])) == 3
    assert p.observed_revenue is not None
    assert p.observed_revenue.shape == (3, p.segment.shape[1], 2)
    np.testing.assert_array_equal(p.observed_revenue[1, 0], [130_000.0, 260_000.0])
    assert np.isnan(p.observed_revenue[:, 1, 1]).all()
    assert np.isnan(p.observed_revenue[:, 3:]).all()


def test_build_partners_reads_population_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "partner_id,segment,region\nX,si,amer\nY,tech,emea\n")
    monkeypatch.chdir(tmp_path)
    p = drawn(scenario({"source": "partners.csv"}), rng(), 2)
    assert list(p.partner_id) == ["X", "Y"]
    assert p.observed_revenue is None


def problems_of(tmp_path: Path, text: str) -> list[tuple[int | None, str]]:
    with pytest.raises(DataError) as info:
        load_partners_csv(write(tmp_path, text), scenario().population)
    assert str(tmp_path / "partners.csv") in str(info.value)
    return info.value.problems


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("partner_id,segment\nA,si\n", 1, "missing column 'region'"),
        ("partner_id,segment,region,name\nA,si,emea,x\n", 1, "unknown column 'name'"),
        ("partner_id,segment,region,revenue_p1,revenue_p3\nA,si,emea,1,2\n", 1, "without gaps"),
        ("partner_id,segment,region\nA,si,emea\nB,retail,emea\n", 3, "unknown segment 'retail'"),
        ("partner_id,segment,region\nA,si,apac\n", 2, "unknown region 'apac'"),
        ("partner_id,segment,region\n,si,emea\n", 2, "partner_id is blank"),
        ("partner_id,segment,region,revenue_p1\nA,si,emea,12k\n", 2, "'12k' is not a number"),
        ("partner_id,segment,region,revenue_p1\nA,si,emea,inf\n", 2, "'inf' is not a number"),
        ("partner_id,segment,region,revenue_p1\nA,si,emea,-5\n", 2, "must be non-negative"),
        ("partner_id,segment,region,csat\nA,si,emea,7\n", 2, "must be between 0 and 5"),
        ("partner_id,segment,region,capacity\nA,si,emea,-1\n", 2, "must be non-negative"),
        ("partner_id,segment,region,revenue_p1\nA,si,emea,1e13\n", 2, "must be at most 1e+12"),
        ("partner_id,segment,region,capacity\nA,si,emea,1e300\n", 2, "must be at most 1e+09"),
        ("partner_id,segment,region\n", None, "no partners"),
        ("", None, "empty"),
    ],
)
def test_load_partners_csv_errors(
    tmp_path: Path, text: str, line: int | None, fragment: str
) -> None:
    problems = problems_of(tmp_path, text)
    assert any(ln == line and fragment in msg for ln, msg in problems), problems


def test_duplicate_ids_and_every_problem_reported(tmp_path: Path) -> None:
    text = (
        "partner_id,segment,region,revenue_p1\n"
        "A,si,emea,10\n"
        "B,si,emea,x\n"
        "A,nope,emea,5\n"
        "C,si,mars,-1\n"
        "A,si,emea,1\n"
    )
    problems = problems_of(tmp_path, text)
    assert [line for line, _ in problems] == [3, 4, 4, 5, 5, 6]
    messages = dict.fromkeys(range(2, 7), "")
    for line, msg in problems:
        messages[line] += msg
    assert "duplicate partner_id 'A' (first on line 2)" in messages[4]
    assert "duplicate partner_id 'A' (first on line 2)" in messages[6]
    assert "unknown segment 'nope'" in messages[4]
    assert "unknown region 'mars'" in messages[5]
    assert "-1 must be non-negative" in messages[5]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        load_partners_csv(tmp_path / "absent.csv", scenario().population)


def test_real_id_clashing_with_recruit_ids(tmp_path: Path) -> None:
    path = write(tmp_path, "partner_id,segment,region\nrecruit-0001,si,emea\n")
    s = scenario({"recruitment": {"per_period": 2.0}})
    with pytest.raises(DataError, match="clashes"):
        drawn(s, rng(), 2, source_path=path)
