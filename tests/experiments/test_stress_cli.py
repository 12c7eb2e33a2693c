"""``incentsim stress`` end to end on the small scenario."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from incentsim.cli import main

SMALL = Path(__file__).parents[2] / "scenarios" / "small.yaml"


def test_stress_with_a_limit_prints_and_writes_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = tmp_path / "stress.html"
    argv = ["stress", str(SMALL), "--shocks", "recession:severe,competitor", "--reps", "4"]
    argv += ["--limit", "retention<0.86", "--steps", "2", "--html", str(html), "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("Stress test of 'small': 3 cases over common random numbers, 4 ")
    assert out.index("P(over budget)") < out.index("Resilience")
    assert "Reverse stress test" in out
    assert "competitor breaks 'retention<0.86' at magnitude about" in out
    page = html.read_text()
    assert "Reverse stress test" in page
    assert page.count("data:image/png;base64,") >= 3
    points = pd.read_csv(tmp_path / "stress_tables" / "breaking_points.csv")
    assert list(points["shocks"]) == ["recession", "competitor"]
    competitor = points.set_index("shocks").loc["competitor"]
    assert competitor["status"] == "broken"
    assert 0 <= competitor["magnitude_low"] < competitor["magnitude_high"] <= 0.15


def test_stress_lists_shocks_and_rejects_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stress", "--list-shocks"]) == 0
    listing = capsys.readouterr().out
    assert "payout_outage" in listing
    assert "extreme" in listing
    assert main(["stress", str(SMALL), "--shocks", "recesion"]) == 2
    assert "did you mean 'recession'" in capsys.readouterr().err
    assert main(["stress", str(SMALL), "--limit", "retention=0.7"]) == 2
    assert "error: limit 'retention=0.7': expected OUTCOME<VALUE" in capsys.readouterr().err
    assert main(["stress"]) == 2
    assert "error: stress needs a SCENARIO file" in capsys.readouterr().err
