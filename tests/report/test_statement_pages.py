"""Per-partner HTML statements: one page per partner, its lines adding up on the page, a
receivable said in words, formatted numbers only, and a page that fits in headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_report_render import needs_chromium, render, unformatted_numbers

from incentsim.payout import Statements, compute_statements, read_transactions
from incentsim.report import statement_pages
from incentsim.report.statements import statement_file_name
from incentsim.scenario.loader import load_scenario

SCENARIOS = Path(__file__).parents[2] / "scenarios"


@pytest.fixture(scope="module")
def demo() -> Statements:
    scenario = load_scenario(SCENARIOS / "payout_demo.yaml")
    transactions = read_transactions(
        SCENARIOS / "sample_transactions.csv", calendar=scenario.calendar
    )
    return compute_statements(scenario.program, scenario.calendar, transactions)


@pytest.fixture(scope="module")
def pages(demo: Statements) -> dict[str, str]:
    return statement_pages(demo)


def _amounts(cells: str) -> list[int]:
    return [int(a.replace(",", "").replace(".", "")) for a in cells]


def test_one_page_per_partner_whose_lines_add_up(demo: Statements, pages: dict[str, str]) -> None:
    ids = demo.partners["partner_id"].unique().tolist()
    assert sorted(pages) == sorted(statement_file_name(p) for p in ids)
    page = pages["statement_P02.html"]
    for body in re.findall(r"<tbody>(.*?)</tbody>", page, flags=re.S):
        cells = re.findall(r'<td class="amount">([-0-9,.]+)</td>', body)
        *lines, paid = _amounts(cells)
        assert sum(lines) == paid
    assert "security_launch cap 4,000.00" in page
    assert "every partner due was paid 85.07%" in page


def test_a_receivable_reads_as_owed_to_the_vendor(pages: dict[str, str]) -> None:
    page = pages["statement_P05.html"]
    assert "The partner owes the vendor 2,050.00 USD" in page
    assert "-2,050" not in page
    assert "owes the vendor" not in pages["statement_P01.html"]


def test_file_names_are_safe() -> None:
    assert statement_file_name("ACME/EU 01") == "statement_ACME_EU_01.html"


@pytest.mark.parametrize("partner", ["P02", "P05"])
def test_statements_show_only_formatted_numbers(pages: dict[str, str], partner: str) -> None:
    assert unformatted_numbers(pages[f"statement_{partner}.html"]) == []


@needs_chromium
@pytest.mark.parametrize("partner", ["P02", "P05"])
def test_statements_fit_the_page(pages: dict[str, str], partner: str, tmp_path: Path) -> None:
    found = render(pages[f"statement_{partner}.html"], tmp_path)
    scroll, window = found["page"]
    assert scroll <= window
    assert found["wide"] == []
