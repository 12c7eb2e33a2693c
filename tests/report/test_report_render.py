"""The HTML report opens in headless Chromium and shows its plots.

Chromium comes from the distribution's packages (``make setup`` installs it where apt-get is
usable); the test is skipped only when it is absent.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from incentsim.montecarlo import run_montecarlo
from incentsim.report import run_report
from incentsim.scenario.loader import load_scenario

SMALL = Path(__file__).parents[2] / "scenarios" / "small.yaml"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

#: Once the page has loaded, record every image's load state and decoded size in the DOM.
PROBE = (
    "<script>addEventListener('load', () => { document.body.dataset.images = JSON.stringify("
    "[...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight])); });"
    "</script>"
)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make setup installs it)")
def test_the_report_renders_its_images_in_headless_chromium(tmp_path: Path) -> None:
    result = run_montecarlo(load_scenario(SMALL), reps=2, seed=4, progress=False)
    page = run_report(result, tmp_path / "run.html").read_text()
    expected = page.count("<img ")
    assert expected == 6
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", f"{PROBE}</body>"))
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        probe.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    match = re.search(r'data-images="([^"]*)"', done.stdout)
    assert match, f"the page did not finish loading in Chromium: {done.stderr[-2000:]}"
    images = json.loads(html.unescape(match.group(1)))
    assert len(images) == expected
    for loaded, width, height in images:
        assert loaded
        assert width > 300
        assert height > 200
