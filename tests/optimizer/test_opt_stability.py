"""The stability bootstrap: resampled scenarios, the MILP re-solved, choices counted."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
from opt_synthetic import synthetic_segments
from test_opt_pipeline import _tiny

from incentsim.optimizer import optimize
from incentsim.optimizer.milp import DesignProblem, SegmentCoefficients, solve
from incentsim.optimizer.stability import bootstrap_stability


def _resampled(segments: dict[str, SegmentCoefficients], columns: np.ndarray) -> DesignProblem:
    picked = {
        g: SegmentCoefficients(
            c.candidates,
            c.value[:, columns],
            c.cost[:, columns],
            c.retention,
            c.loyalty,
            c.small_paid,
            c.paid,
        )
        for g, c in segments.items()
    }
    return DesignProblem(picked, budget=1e9, risk="none")


def _stability(segments: dict[str, SegmentCoefficients], resamples: int = 12, seed: int = 3):
    problem_for = functools.partial(_resampled, segments)
    n = next(iter(segments.values())).cost.shape[1]
    chosen = solve(problem_for(np.arange(n))).choice
    return bootstrap_stability(problem_for, n, chosen, resamples, seed, solve)


def test_a_clear_winner_is_kept_in_every_resample() -> None:
    segments = synthetic_segments(2, 4, 30, seed=1)
    for coef in segments.values():
        coef.value[2] += 1e6  # candidate c2 wins in every scenario, whatever the sample
    stability = _stability(segments)
    assert stability.chosen == {"segment0": "c2", "segment1": "c2"}
    assert stability.picks == {"segment0": {"c2": 12}, "segment1": {"c2": 12}}
    assert stability.same_design_share == 1.0
    assert stability.no_design == 0
    assert stability.losses == [0.0] * 12


def test_indistinguishable_candidates_flip_and_counts_add_up() -> None:
    segments = synthetic_segments(1, 3, 40, seed=2)
    coef = segments["segment0"]
    rng = np.random.default_rng(0)
    coef.value[:] = rng.normal(0.0, 1.0, coef.value.shape)  # no candidate is better
    stability = _stability(segments, resamples=30)
    counts = stability.picks["segment0"]
    assert sum(counts.values()) == 30
    assert len(counts) > 1
    assert stability.share("segment0") < 1.0
    assert list(counts.values()) == sorted(counts.values(), reverse=True)
    again = _stability(segments, resamples=30)
    assert again.picks == stability.picks  # reproducible from the seed
    rows = stability.rows()
    assert sum(r["picks"] for r in rows) == 30
    assert sum(r["chosen"] for r in rows) <= 1
    # what the flips cost, on all scenarios: nothing is better than the chosen optimum there
    assert len(stability.losses) == 30
    assert min(stability.losses) >= -1e-9
    assert stability.feasible_on_all == 30
    assert max(stability.losses) > 0
    summary = stability.loss_summary()
    assert summary["median"] <= summary["p90"] <= max(stability.losses)


def test_optimize_reports_stability(tmp_path: Path) -> None:
    result = optimize(
        _tiny(stability_resamples=5, validation_replications=0),
        out_dir=tmp_path / "out",
        cache_dir=tmp_path / "cache",
        progress=False,
    )
    stability = result.stability
    assert stability is not None
    assert stability.resamples == 5
    assert stability.chosen == {g: c.id for g, c in result.chosen.items()}
    saved = json.loads(result.files["json"].read_text())["stability"]
    assert saved["resamples"] == 5
    assert set(saved["kept_share"]) == set(result.chosen)
    assert "Stability: the MILP re-solved on 5 bootstrap resamples" in result.report()
    assert result.files["stability"].read_text().startswith("segment,candidate,chosen,picks,share")
