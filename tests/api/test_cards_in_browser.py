"""The cards of three fixture patients as a clinician sees them: each card's Markdown detail rendered
(CommonMark with tables, raw HTML off, as EHRs and the CDS Hooks Sandbox render it) in a real browser
(Debian's chromium driven by Playwright). The page must show the evidence as a table, the sources as
links, the note in italics, and no Markdown left over; screenshots go to ``docs/cards-*.png`` with
``NMD_CDS_TEST_UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from service.fixtures.render import load_scenarios, render_scenario
from tests.browser import MAX_SCREENSHOT_BYTES, ROOT
from tests.conftest import TODAY

URL = "/cds-services/nmd-bone-health"
PATIENTS = ["als-weight-loss-fvc-falling", "dmd-gc-silent-vertebral-fracture", "sma-child-low-z-no-fracture"]
SCENARIOS = {s["name"]: s for s in load_scenarios() if s["name"] in PATIENTS}
COLOURS = {"info": "#2f6fb0", "warning": "#d98a00", "critical": "#c62828"}
MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")
STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 16px; width: 760px; color: #222; }
.card { border: 1px solid #ccc; border-left: 6px solid; border-radius: 4px;
        padding: 8px 12px; margin: 0 0 12px; }
.summary { font-weight: 600; font-size: 15px; }
.source { color: #666; font-size: 12px; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { border: 1px solid #ddd; padding: 2px 8px; text-align: left; }
.actions button, .actions a { margin: 4px 6px 0 0; font-size: 12px; }
"""


def card_html(card: dict[str, Any]) -> str:
    """One card as an EHR shows it: summary, source, detail from Markdown, suggestions, links."""
    buttons = "".join(f"<button>{html.escape(s['label'])}</button>" for s in card.get("suggestions", []))
    links = "".join(
        f'<a class="link" href="{html.escape(link["url"])}">{html.escape(link["label"])}</a>'
        for link in card.get("links", [])
    )
    return (
        f'<section class="card" style="border-left-color:{COLOURS[card["indicator"]]}">'
        f'<div class="summary">{html.escape(card["summary"])}</div>'
        f'<div class="source">{html.escape(card["source"]["label"])}</div>'
        f'<div class="detail">{MARKDOWN.render(card["detail"])}</div>'
        f'<div class="actions">{buttons}{links}</div></section>'
    )


def page_html(name: str, cards: list[dict[str, Any]]) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{name}</title><style>{STYLE}</style>"
        f"</head><body><h3>{html.escape(name)}</h3>{''.join(card_html(c) for c in cards)}</body></html>"
    )


def table_rows(detail: str) -> int:
    return sum(1 for line in detail.splitlines() if line.startswith("| ") and not line.startswith("| What"))


@pytest.fixture(scope="module")
def cards(kit_client) -> dict[str, list[dict[str, Any]]]:
    client = kit_client
    return {
        name: client.post(URL, json=render_scenario(SCENARIOS[name], TODAY)["request"]).get_json()["cards"]
        for name in PATIENTS
    }


@pytest.mark.parametrize("name", PATIENTS)
def test_cards_render_from_markdown_in_a_real_browser(browser, screenshots: Path, cards, name):
    shown = cards[name]
    assert shown, f"{name} gets no card"
    page = browser.new_page(viewport={"width": 800, "height": 600})
    try:
        page.set_content(page_html(name, shown))
        sections = page.locator("section.card")
        assert sections.count() == len(shown)
        for i, card in enumerate(shown):
            section = sections.nth(i)
            text = section.inner_text()
            # the evidence is a table with a row per fact, the sources are links, nothing raw is left
            assert section.locator("tbody tr").count() == table_rows(card["detail"]), card["summary"]
            sources = section.locator(".detail p:last-child a")
            assert sources.count() in (1, 2) and all(
                sources.nth(k).get_attribute("href").startswith("https://") for k in range(sources.count())
            )
            for raw in ("|---", "| What", "**", "_Note:_", "&lt;", "&gt;", "](http"):
                assert raw not in text, f"{raw!r} shows on the card {card['summary']!r}"
            rule = section.locator("a.link", has_text="Rule ")
            assert rule.count() == 1 and "/knowledge/rules/" in rule.get_attribute("href")
        shot = screenshots / f"cards-{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size < MAX_SCREENSHOT_BYTES
    finally:
        page.close()


def test_card_screenshots_are_committed():
    """docs/ shows the cards of the three patients (regenerate: NMD_CDS_TEST_UPDATE_SCREENSHOTS=1)."""
    for name in PATIENTS:
        path = ROOT / "docs" / f"cards-{name}.png"
        assert path.exists(), (
            f"docs/{path.name} is missing: run this test with NMD_CDS_TEST_UPDATE_SCREENSHOTS=1"
        )
        assert path.stat().st_size < MAX_SCREENSHOT_BYTES
