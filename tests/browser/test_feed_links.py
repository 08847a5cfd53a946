"""The statements page's Atom link follows the filters as htmx changes them."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import feedparser
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site
from tests.browser.test_analyst_ui import apply_country_and_kind

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_subscribe_link_carries_the_filters_after_htmx_changes(page: Page, site: Site) -> None:
    apply_country_and_kind(page, site)  # ticks United States, then Paraphrase, in place
    link = page.locator("#browser a.feed-link")
    expect(link).to_have_attribute("href", re.compile(r"^/statements/feed/\?.*kind=paraphrase"))
    href = link.get_attribute("href")
    assert urlsplit(href).path == "/statements/feed/"
    # The filters of the address htmx pushed; sort and page do not change a feed.
    pushed = [(k, v) for k, v in parse_qsl(urlsplit(page.url).query) if k not in ("sort", "page")]
    assert sorted(parse_qsl(urlsplit(href).query)) == sorted(pushed)
    assert sorted(parse_qsl(urlsplit(href).query)) == [("country", "us"), ("kind", "paraphrase")]

    feed = feedparser.parse(page.request.get(site(href)).body())
    assert not feed.bozo and feed.version == "atom10"
    assert len(feed.entries) == 4  # the 4 statements the page lists
    assert feed.feed.title == "Statements — country: United States, kind: Paraphrase"
