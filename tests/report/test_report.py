"""Self-contained HTML reports: the general Report API and the run report."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

from incentsim.cli import main
from incentsim.report import Report, write_table

SMALL = Path(__file__).parents[2] / "scenarios" / "small.yaml"
PNG = b"\x89PNG\r\n\x1a\n"


class Links(HTMLParser):
    """Every ``src`` and ``href`` in a page, and the tags that load things."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.links: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name == "src":
                self.sources.append(value or "")
            if name == "href":
                self.links.append(value or "")


def assert_self_contained(page: str) -> list[bytes]:
    """No external ``src``/``href``/``url(...)``; returns the embedded images' bytes."""
    parser = Links()
    parser.feed(page)
    assert parser.links == []
    assert not {"link", "script", "iframe", "object"} & set(parser.tags)
    assert "url(" not in page
    assert "@import" not in page
    prefix = "data:image/png;base64,"
    assert all(s.startswith(prefix) for s in parser.sources), parser.sources
    return [base64.b64decode(s.removeprefix(prefix)) for s in parser.sources]


def test_report_api_escapes_text_embeds_figures_and_writes_tables(tmp_path: Path) -> None:
    report = Report("Costs <draft>", identity={"scenario": "demo", "seed": 7})
    report.add_heading("Why & how")
    report.add_text("First <b>paragraph</b>.\n\nSecond one.", note=True)
    frame = pd.DataFrame({"cost": [1234.5678, float("nan")], "tier": ["gold", "silver"]})
    report.add_table(frame.set_index("tier"), name="costs", caption="Cost by tier")
    fig = Figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    report.add_figure(fig, caption="A line")
    page_path = report.write(tmp_path / "r.html")
    page = page_path.read_text()
    assert "<title>Costs &lt;draft&gt;</title>" in page
    assert "<h2>Why &amp; how</h2>" in page
    assert page.count('<p class="note">') == 2
    assert "&lt;b&gt;paragraph" in page
    assert "<caption>Cost by tier</caption>" in page
    assert "1,235" in page
    assert re.search(r"<dt>seed</dt><dd>7</dd>", page)
    (image,) = assert_self_contained(page)
    assert image.startswith(PNG)
    tables = tmp_path / "r_tables"
    assert pd.read_csv(tables / "costs.csv")["tier"].tolist() == ["gold", "silver"]
    assert pd.read_parquet(tables / "costs.parquet")["cost"].iloc[0] == 1234.5678
    with pytest.raises(ValueError, match="must be new"):
        report.add_table(frame, name="costs")


def test_write_table_keeps_a_named_index(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]}, index=pd.Index(["a", "b"], name="case"))
    csv, parquet = write_table(frame, tmp_path / "t")
    assert pd.read_csv(csv).columns.tolist() == ["case", "x"]
    assert pd.read_parquet(parquet)["case"].tolist() == ["a", "b"]


def test_run_html_writes_the_run_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, html = tmp_path / "run", tmp_path / "run.html"
    argv = ["run", str(SMALL), "--reps", "3", "--seed", "9", "--out", str(out), "--html", str(html)]
    assert main([*argv, "--no-progress"]) == 0
    assert f"report: {html}" in capsys.readouterr().err
    page = html.read_text()
    images = assert_self_contained(page)
    # cost by component, cost distribution, tier migration, tier flows and moves, loyalty,
    # retention (active share) and reserve bands
    assert len(images) == 8
    assert all(i.startswith(PNG) for i in images)
    assert json.loads((out / "manifest.json").read_text())["scenario_hash"] in page
    assert "<dt>seed</dt><dd>9</dd>" in page
    assert "3 (blocks of 25)" in page
    summary = pd.read_csv(tmp_path / "run_tables" / "summary.csv").set_index("outcome")
    assert summary.loc["incentive_cost", "n"] == 3
    body = page[page.index("<body>") :]
    assert body.index("Executive summary") < body.index('<dl class="identity">')
    assert "P(over budget)" in body
    assert "Cost by component" in body
    assert "4 periods (Q1 2027 to Q4 2027, 2027-01-04 to 2028-01-02)" in body
    assert "Where partners went from one close to the next" in body
    flows = pd.read_csv(tmp_path / "run_tables" / "tier_flows.csv").set_index("from")
    assert flows.loc["out", "out"] == 0
    moves = pd.read_csv(tmp_path / "run_tables" / "tier_moves.csv")
    assert moves["period"].tolist() == ["Q1 2027", "Q2 2027", "Q3 2027", "Q4 2027"]
