"""Atom feeds name an XSLT stylesheet, so that a browser opening one shows a page, while
feed readers get the same Atom document.

The stylesheet is run here with lxml's libxslt (the XSLT 1.0 engine Chromium embeds too;
tests/browser/test_feed_page.py opens a feed in Chromium itself).
"""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import feedparser
import pytest
from django.conf import settings
from django.templatetags.static import static
from django.test import Client
from lxml import etree
from lxml import html as lxml_html

from tests.governance.ui_data import XSS_TEXT, UIData, ui_data

__all__ = ["ui_data"]  # the fixture, imported for pytest

pytestmark = pytest.mark.django_db

ATOM = "application/atom+xml; charset=utf-8"
XSL = Path(settings.BASE_DIR) / "static" / "feeds" / "atom.xsl"
# What Chromium sends when a person opens an address.
BROWSER_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)
# What feed readers send (feedparser's default, and a typical reader's).
READER_ACCEPTS = [
    None,
    "application/atom+xml,application/rdf+xml,application/rss+xml,application/x-netcdf,"
    "application/xml;q=0.9,text/xml;q=0.2,*/*;q=0.1",
    "*/*",
]


def feed_urls(ui_data: UIData) -> list[str]:
    return [
        "/statements/feed/",
        "/statements/feed/?country=cn",
        f"/proposals/{ui_data.proposal_slug('bletchley')}/feed/",
        "/countries/cn/feed/",
        f"/people/{ui_data.people['Li Qiang'].slug}/feed/",
    ]


def get(client: Client, url: str, accept: str | None) -> bytes:
    headers = {"Accept": accept} if accept else {}
    response = client.get(url, headers=headers)
    assert response.status_code == 200, url
    assert "Accept" in response.get("Vary", ""), "caches must keep the two types apart"
    return response


def test_every_feed_names_the_stylesheet_before_its_root(client: Client, ui_data: UIData) -> None:
    for url in feed_urls(ui_data):
        body = get(client, url, None).content.decode()
        prolog = body[: body.index("<feed")]
        instructions = re.findall(r"<\?xml-stylesheet ([^?]*)\?>", prolog)
        assert len(instructions) == 1, url
        assert f'href="{static("feeds/atom.xsl")}"' in instructions[0]
        assert static("feeds/atom.xsl") == "/static/feeds/atom.xsl"
        assert 'type="text/xsl"' in instructions[0]


def test_readers_get_atom_and_browsers_the_same_bytes_as_xml(
    client: Client, ui_data: UIData
) -> None:
    for url in feed_urls(ui_data):
        for accept in READER_ACCEPTS:
            response = get(client, url, accept)
            assert response["Content-Type"] == ATOM, (url, accept)
        reader = get(client, url, None)
        browser = get(client, url, BROWSER_ACCEPT)
        assert browser["Content-Type"] == "application/xml; charset=utf-8"
        assert browser.content == reader.content
        parsed = feedparser.parse(browser.content)
        assert not parsed.bozo and parsed.version == "atom10"
        assert [e.id for e in parsed.entries] == [
            e.id for e in feedparser.parse(reader.content).entries
        ]


def transform(body: bytes) -> lxml_html.HtmlElement:
    stylesheet = etree.XSLT(etree.parse(str(XSL)))
    result = stylesheet(etree.fromstring(body))
    return lxml_html.fromstring(str(result))


def test_the_stylesheet_renders_every_entry_with_its_link(client: Client, ui_data: UIData) -> None:
    for url in feed_urls(ui_data):
        feed = feedparser.parse(get(client, url, None).content)
        page = transform(get(client, url, None).content)
        assert page.findtext(".//title") == f"{feed.feed.title} (Atom feed)"
        assert page.findtext(".//h1") == feed.feed.title
        items = page.xpath("//ol[@class='feed-entries']/li")
        assert len(items) == len(feed.entries), url
        for item, entry in zip(items, feed.entries, strict=True):
            (link,) = item.xpath(".//h2/a")
            assert link.get("href") == entry.link
            assert link.text_content() == entry.title
        # The page links back to the record and shows the address to subscribe to.
        (address,) = page.xpath("//code[@class='feed-url']")
        assert address.text_content() == f"http://testserver{url}"
        # Nothing the CSP would block: no script, no inline style, only our stylesheets.
        assert not page.xpath("//script | //style | //*[@style] | //*[@onload]")
        for sheet in page.xpath("//link[@rel='stylesheet']"):
            assert sheet.get("href").startswith("/static/")


def test_summaries_are_shown_as_text_never_as_markup(client: Client, ui_data: UIData) -> None:
    """A summary is HTML escaped in the XML: the page shows its words, tags dropped, and
    a statement quoting markup stays text (no element comes out of it)."""
    body = get(client, "/statements/feed/", None).content
    feed = feedparser.parse(body)
    page = transform(body)
    summaries = [p.text_content() for p in page.xpath("//p[@class='feed-summary']")]
    assert len(summaries) == len(feed.entries)
    for summary, entry in zip(summaries, feed.entries, strict=True):
        # Each tag stands for a space (between paragraphs), entities for their character.
        words = " ".join(htmllib.unescape(re.sub(r"<[^>]*>", " ", entry.summary)).split())
        assert " ".join(summary.split()) == words
        assert "<blockquote>" not in summary and "&amp;" not in summary
    hostile = [s for s in summaries if "<script>" in s or XSS_TEXT in s]
    assert hostile, "the dataset's statement quoting markup is in the feed"
    assert not page.xpath("//blockquote | //img | //script | //iframe")
