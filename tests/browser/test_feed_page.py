"""An Atom feed opened in Chromium is a readable page (its XSLT stylesheet applied under
the site's CSP), with every entry of the feed a reader gets.

Chromium 155+ marks XSLT as deprecated and, on every transformed page, injects a warning
banner of its own whose inline style and event handler the site's CSP (rightly) blocks,
which the watcher would report as violations of this page. The banner is the browser's,
not the feed's: these tests turn it off (the GenerateXSLTWarningBanner feature) so that
any violation left is one the page itself causes.
"""

from __future__ import annotations

from collections.abc import Iterator

import feedparser
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, Site, Watcher, open_context

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


@pytest.fixture(scope="module")
def xslt_browser(playwright: Playwright, site: Site) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"The browser tests need Debian's Chromium at {CHROMIUM}.", pytrace=False)
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=[*CHROMIUM_ARGS, "--disable-features=GenerateXSLTWarningBanner"],
    )
    yield browser
    browser.close()


@pytest.fixture
def feed_page(xslt_browser: Browser, watcher: Watcher) -> Iterator[Page]:
    context = open_context(xslt_browser, watcher)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize(
    "path", ["/countries/cn/feed/", "/statements/feed/?country=us", "/statements/feed/"]
)
def test_a_feed_opened_in_the_browser_is_a_page_of_its_entries(
    feed_page: Page, site: Site, path: str
) -> None:
    # What a feed reader gets (no Accept header asking for HTML): Atom.
    reader = feed_page.request.get(site(path))
    assert reader.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(reader.body())
    assert not feed.bozo and feed.version == "atom10" and feed.entries

    response = feed_page.goto(site(path))
    assert response is not None and response.ok
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    assert "style-src 'self'" in response.headers["content-security-policy"]
    # The same XML as the reader's, only its type differs (the response's body is the
    # transformed page by now: ask again with the browser's own Accept header).
    accept = response.request.all_headers()["accept"]
    assert accept.startswith("text/html")
    assert feed_page.request.get(site(path), headers={"Accept": accept}).body() == reader.body()

    # The stylesheet turned it into an HTML page, styled by the site's stylesheet.
    expect(feed_page).to_have_title(f"{feed.feed.title} (Atom feed)")
    expect(feed_page.locator("h1")).to_have_text(feed.feed.title)
    expect(feed_page.locator("code.feed-url")).to_have_text(site(path))
    header = feed_page.locator("header.site-header")
    expect(header).to_be_visible()
    assert header.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(19, 41, 75)"

    items = feed_page.locator("ol.feed-entries > li")
    expect(items).to_have_count(len(feed.entries))
    for i, entry in enumerate(feed.entries):
        link = items.nth(i).locator("h2 a")
        expect(link).to_have_text(entry.title)
        expect(link).to_have_attribute("href", entry.link)
    first = items.first
    first.scroll_into_view_if_needed()
    expect(first).to_be_in_viewport()

    # A title is a link to the record, in the tracker.
    items.first.locator("h2 a").click()
    expect(feed_page).to_have_url(feed.entries[0].link)
    # The watcher fixture fails the test on any console error or CSP violation.
