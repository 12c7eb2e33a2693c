"""Every HTML report opens in headless Chromium, shows its plots, fits the page and shows only
formatted numbers.

Chromium comes from the distribution's packages (``make setup`` installs it where apt-get is
usable); the browser checks are skipped only when it is absent. The number checks run always.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from incentsim.experiments import compare, stress
from incentsim.experiments.batch import run_experiment
from incentsim.montecarlo import run_montecarlo
from incentsim.optimizer import optimize
from incentsim.report import (
    Report,
    comparison_report,
    experiment_report,
    optimization_report,
    run_report,
    stress_report,
)
from incentsim.scenario.loader import load_scenario

SCENARIOS = Path(__file__).parents[2] / "scenarios"
SMALL = SCENARIOS / "small.yaml"
REPORTS = ["run", "compare", "stress", "optimize", "optimize_robust", "experiment"]
EXPERIMENT = f"""\
name: render
base: {SMALL}
set: {{population.partners: 40}}
variants: {{current: {{}}, richer: {{set: {{program.tiers.gold.rebate_rate: 0.04}}}}}}
shocks: [recession:moderate]
replications: 3
analyses: [simulate, compare, stress]
"""
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (make setup installs it)"
)

#: Once the page has loaded: every image's load state and size, the page's width against the
#: window's, and every table that reaches past the body's content box.
PROBE = """<script>addEventListener('load', () => {
  const body = document.body.getBoundingClientRect();
  const style = getComputedStyle(document.body);
  const right = body.right - parseFloat(style.paddingRight) + 1;
  document.body.dataset.probe = JSON.stringify({
    images: [...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight]),
    page: [document.documentElement.scrollWidth, window.innerWidth],
    wide: [...document.querySelectorAll('table')]
      .filter(t => t.getBoundingClientRect().right > right)
      .map(t => (t.caption ? t.caption.textContent : t.rows[0].textContent).slice(0, 80)),
  });
});</script>"""

#: Numbers a reader should never see: scientific notation, floats with more than 6 decimals,
#: and missing or boolean values printed as Python or pandas spell them.
UNFORMATTED = re.compile(
    r"\b\d+(?:\.\d+)?e[+-]?\d+\b|\b\d+\.\d{7,}\b|<NA>|\bnan\b|\bNaN\b|\bTrue\b|\bFalse\b"
)


class VisibleText(HTMLParser):
    """The text a reader sees: no style sheet, scripts or identity box (hashes, paths)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "dl"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "dl"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def unformatted_numbers(page: str) -> list[str]:
    """Every unformatted number (or NA, True/False) in the page's visible text."""
    parser = VisibleText()
    parser.feed(page)
    return UNFORMATTED.findall(" ".join(parser.parts))


def render(page: str, folder: Path) -> dict:
    """Open ``page`` in headless Chromium at 1280 pixels wide; what :data:`PROBE` found."""
    probe = folder / "probe.html"
    probe.write_text(page.replace("</body>", f"{PROBE}</body>"))
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,2000",
        f"--user-data-dir={folder / 'profile'}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        probe.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    match = re.search(r'data-probe="([^"]*)"', done.stdout)
    assert match, f"the page did not finish loading in Chromium: {done.stderr[-2000:]}"
    return json.loads(html.unescape(match.group(1)))


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every report: run, comparison, stress and experiment on the small scenario (3
    replications), and the bundled optimisation (10 replications a candidate), once with
    refinement and coupling and once robust."""
    folder = tmp_path_factory.mktemp("reports")
    scenario = load_scenario(SMALL)
    result = run_montecarlo(scenario, reps=3, seed=4, progress=False, panel=True)
    richer = folder / "richer.yaml"
    richer.write_text(f"extends: {SMALL}\nname: richer\nprogram:\n  partner_cap: 20000\n")
    comparison = compare([SMALL, SMALL, richer], reps=3, seed=4, progress=False)
    test = stress(scenario, ["recession:severe", "competitor"], reps=3, seed=4, progress=False)
    small = ["replications=10", "validation_replications=10", "floors.retention=0.5"]
    steps = ["refine={rounds: 1, candidates: 2}", "coupling={iterations: 1}"]
    optimised = optimize(SCENARIOS / "optimize_demo.yaml", overrides=small + steps, progress=False)
    robust = optimize(
        SCENARIOS / "optimize_demo.yaml",
        overrides=[*small, "robust={draws: 3, assumptions: [churn_slope, value_weight]}"],
        progress=False,
    )
    experiment = folder / "render.yaml"
    experiment.write_text(EXPERIMENT)
    finished = run_experiment(experiment, folder / "experiment", log=False)
    return {
        "optimize": optimization_report(optimised, folder / "optimize.html").read_text(),
        "optimize_robust": optimization_report(robust, folder / "robust.html").read_text(),
        "experiment": experiment_report(finished, folder / "experiment.html").read_text(),
        "run": run_report(result, folder / "run.html").read_text(),
        "compare": comparison_report(comparison, folder / "compare.html").read_text(),
        "stress": stress_report(test, folder / "stress.html").read_text(),
    }


@pytest.mark.parametrize("name", REPORTS)
def test_reports_show_only_formatted_numbers(pages: dict[str, str], name: str) -> None:
    assert unformatted_numbers(pages[name]) == [], name


@needs_chromium
@pytest.mark.parametrize("name", REPORTS)
def test_reports_render_their_images_and_fit_the_page(
    pages: dict[str, str], name: str, tmp_path: Path
) -> None:
    page = pages[name]
    found = render(page, tmp_path)
    assert len(found["images"]) == page.count("<img ") >= 2
    for loaded, width, height in found["images"]:
        assert loaded
        assert width > 300
        assert height > 100
    scroll, window = found["page"]
    assert scroll <= window, f"{name}: the page is {scroll} px wide in a {window} px window"
    assert found["wide"] == [], f"{name}: tables wider than the page"


def test_the_checks_catch_unformatted_numbers() -> None:
    report = Report("bad")
    report.add_text("cost 1.888e+07, share 0.123456789, value <NA>, chosen True")
    assert len(unformatted_numbers(report.to_html())) == 4


@needs_chromium
def test_the_checks_catch_an_overflowing_table(tmp_path: Path) -> None:
    import pandas as pd

    report = Report("wide")
    report.add_table(pd.DataFrame({f"column {i}": ["x" * 30] for i in range(12)}), caption="wide")
    found = render(report.to_html(), tmp_path)
    assert found["wide"] == ["wide"]
