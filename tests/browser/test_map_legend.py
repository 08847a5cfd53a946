"""The dashboard's map as Chromium draws it: the legend's swatches are the colours of the
countries they count, one colour per role, and the counts are the countries drawn."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_legend_swatches_and_counts_match_the_drawn_countries(page: Page, site: Site) -> None:
    page.goto(site("/"))
    figure = page.locator("figure.world-map-figure")
    expect(figure).to_be_visible()
    entries = figure.locator("ul.world-map-legend li")
    swatch_colours = {}
    for i in range(entries.count()):
        entry = entries.nth(i)
        swatch = entry.locator(".swatch")
        key = next(c[4:] for c in swatch.get_attribute("class").split() if c.startswith("cat-"))
        count = int(entry.locator(".count").inner_text().strip("()"))
        drawn = figure.locator(f"svg .country.cat-{key}")
        assert drawn.count() == count, key
        colour = swatch.evaluate("e => getComputedStyle(e).backgroundColor")
        for j in range(drawn.count()):
            fill = drawn.nth(j).evaluate("e => getComputedStyle(e).fill")
            assert fill == colour, (key, fill, colour)
        swatch_colours[key] = colour
    # The seed: a proposer, an issuer, five delegates, one represented, each its colour.
    assert set(swatch_colours) == {"proposer", "issuer", "delegate", "represented"}
    assert len(set(swatch_colours.values())) == len(swatch_colours)
    expect(figure.locator("summary")).to_have_text("8 countries taking part on the map")
    tile = page.locator("dl.counts div", has_text="Countries taking part").locator("dd a")
    expect(tile).to_have_text("8")
