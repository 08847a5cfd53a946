"""Every evidence link lands on its span, highlighted exactly, in view and announced.

The seed article's spans nest, overlap and touch (one sentence supports several facts), and
a document made here has every such case on purpose. For each link the test reads which
characters of the page's text are highlighted and compares them with text[start:end].
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from playwright.sync_api import Page, expect
from pytest_django import DjangoDbBlocker

from governance import models
from tests import factories
from tests.browser.conftest import Site

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

# The highlighted characters as [start, end) runs of the article's text, and that text.
HIGHLIGHTED = """() => {
  const article = document.querySelector("article.doc-text");
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  let offset = 0;
  const runs = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement.closest(".is-target")) {
      const last = runs[runs.length - 1];
      if (last && last[1] === offset) last[1] += node.data.length;
      else runs.push([offset, offset + node.data.length]);
    }
    offset += node.data.length;
  }
  return { text: article.textContent, runs };
}"""

# Whether any line of the highlight is inside the window.
IN_VIEW = """() => [...document.querySelectorAll(".doc-text .is-target")].some(piece =>
  [...piece.getClientRects()].some(r => r.bottom > 0 && r.top < window.innerHeight
    && r.right > 0 && r.left < window.innerWidth))"""

BACKGROUNDS = """selector => [...document.querySelectorAll(selector)].map(
  element => getComputedStyle(element).backgroundColor)"""
TRANSPARENT = "rgba(0, 0, 0, 0)"


def assert_exactly_highlighted(page: Page, text: str, start: int, end: int) -> None:
    found = page.evaluate(HIGHLIGHTED)
    assert found["text"] == text, "the page's text is not the document's"
    assert found["runs"] == [[start, end]], (
        f"span-{start}-{end}: highlighted {found['runs']}, not {text[start:end]!r}"
    )
    assert page.evaluate(IN_VIEW), f"span-{start}-{end} is not in view"
    # Strongly: one colour over its whole length, and the rest of the text plain.
    target = set(page.evaluate(BACKGROUNDS, ".doc-text .ev.is-target"))
    assert len(target) == 1 and TRANSPARENT not in target
    assert set(page.evaluate(BACKGROUNDS, ".doc-text .ev:not(.is-target)")) <= {TRANSPARENT}
    # Announced: the status region quotes the span's beginning.
    beginning = " ".join(text[start:end].split())[:40]
    expect(page.locator("#evidence-status")).to_contain_text(beginning)


def test_every_evidence_link_of_the_seed_article_highlights_its_span(
    page: Page, site: Site
) -> None:
    document = site.quote.evidence.first().document
    links = sorted({(ev.start, ev.end, ev.get_absolute_url()) for ev in document.evidence.all()})
    assert len(links) >= 50  # the seed's spans, many of them overlapping
    for start, end, url in links:
        # A fresh load each time: the link as a reader follows it from a record page.
        page.goto("about:blank")
        page.goto(site(url))
        assert_exactly_highlighted(page, document.text, start, end)


def test_seed_quote_is_highlighted_and_in_view_on_a_phone(page: Page, site: Site) -> None:
    evidence = site.quote.evidence.get(excerpt__startswith="AI should")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(site(evidence.get_absolute_url()))
    assert_exactly_highlighted(page, evidence.document.text, evidence.start, evidence.end)
    assert page.evaluate("window.scrollY") > 0  # below the fold: the page scrolled to it


# --- A document whose spans nest, overlap and touch ----------------------------------

TEXT = (
    "Premier Li Qiang said on Saturday: “AI should be a common good for all of humanity.” "
    "Delegates from over 30 countries attended the roundtable. The plan was released online."
)


@dataclass(frozen=True)
class Tangled:
    document: models.Document
    spans: list[tuple[int, int]]
    facts: dict[tuple[int, int], set[str]]  # the record links each span supports


def span(phrase: str) -> tuple[int, int]:
    start = TEXT.index(phrase)
    return start, start + len(phrase)


@pytest.fixture(scope="module")
def tangled(site: Site, django_db_blocker: DjangoDbBlocker) -> Iterator[Tangled]:
    """Committed (the live server reads it), supporting the seed's own records, and removed
    afterwards so that the other modules' counts hold."""
    quote = span("“AI should be a common good for all of humanity.”")
    sentence = (span("Premier Li Qiang")[0], quote[1])
    layout: list[tuple[tuple[int, int], Any]] = [
        (sentence, site.quote),  # the whole sentence
        (span("Li Qiang"), models.Person.objects.get(slug="li-qiang")),  # nested in it
        (quote, site.quote),  # nested, and ending where the sentence ends
        (quote, site.action_plan),  # the same characters supporting a second fact
        (span("Saturday: “AI should be"), models.Event.objects.get()),  # overlapping two
        (span(" Delegates from over 30 countries attended the roundtable."), site.action_plan),
        (span("Delegates from over 30 countries"), models.Event.objects.get()),  # adjacent…
        (span(" attended the roundtable."), models.Event.objects.get()),  # …to this one
        (span("The plan was released online."), site.action_plan),  # adjacent, at the end
    ]
    with django_db_blocker.unblock():
        document = factories.DocumentFactory(text=TEXT, title="A tangle of evidence")
        facts: dict[tuple[int, int], set[str]] = {}
        for (start, end), record in layout:
            models.Evidence.objects.create(
                content_type=ContentType.objects.get_for_model(record),
                object_id=str(record.pk),
                document=document,
                start=start,
                end=end,
                excerpt=TEXT[start:end],
                claim=f"{record._meta.verbose_name}: {record}",
            )
            facts.setdefault((start, end), set()).add(record.get_absolute_url())
    try:
        yield Tangled(document, sorted(facts), facts)
    finally:
        with django_db_blocker.unblock():
            source = document.source
            document.evidence.all().delete()
            document.delete()
            if source is not None:
                source.delete()


def test_every_link_of_nested_overlapping_and_adjacent_spans_is_exact(
    page: Page, site: Site, tangled: Tangled
) -> None:
    # Each fresh, as a link from elsewhere lands …
    for start, end in tangled.spans:
        page.goto("about:blank")
        page.goto(site(f"{tangled.document.get_absolute_url()}#span-{start}-{end}"))
        assert_exactly_highlighted(page, TEXT, start, end)
    # … and each from the page's own list of facts, without reloading (hashchange).
    page.evaluate("window.stillTheSamePage = true")
    for start, end in reversed(tangled.spans):
        page.locator(f".doc-facts a[href='#span-{start}-{end}']").first.click()
        expect(page).to_have_url(re.compile(rf"#span-{start}-{end}$"))
        assert_exactly_highlighted(page, TEXT, start, end)
    assert page.evaluate("window.stillTheSamePage === true")


def test_clicking_the_highlight_lists_the_facts_it_supports(
    page: Page, site: Site, tangled: Tangled
) -> None:
    quote = span("“AI should be a common good for all of humanity.”")
    page.goto(site(f"{tangled.document.get_absolute_url()}#span-{quote[0]}-{quote[1]}"))
    page.locator(".doc-text .ev.is-target").last.click()
    facts = page.get_by_role("dialog", name=re.compile("This passage supports 2 facts"))
    expect(facts).to_be_visible()
    links = facts.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert set(links) == tangled.facts[quote] and len(links) == 2
    page.keyboard.press("Escape")
    expect(facts).to_have_count(0)
    # With every span shown, clicking another one targets the innermost span there.
    page.get_by_label("Show all evidence").check()
    assert TRANSPARENT not in page.evaluate(BACKGROUNDS, ".doc-text .ev:not(.is-target)")
    name = span("Li Qiang")
    page.locator(".doc-text .ev", has_text=re.compile("^Li Qiang$")).click()
    expect(page).to_have_url(re.compile(rf"#span-{name[0]}-{name[1]}$"))
    assert_exactly_highlighted_ignoring_plain(page, *name)
    expect(page.get_by_role("dialog")).to_contain_text("This passage supports 1 fact")


def assert_exactly_highlighted_ignoring_plain(page: Page, start: int, end: int) -> None:
    """With "show all" on, the other spans are faintly marked: only the runs are checked."""
    assert page.evaluate(HIGHLIGHTED)["runs"] == [[start, end]]


def test_without_javascript_the_link_lands_on_the_span_start_and_the_toggle_works(
    page_without_js: Page, site: Site, tangled: Tangled
) -> None:
    page = page_without_js
    start, end = span(" attended the roundtable.")
    page.goto(site(f"{tangled.document.get_absolute_url()}#span-{start}-{end}"))
    assert page.evaluate("document.querySelector(':target').id") == f"span-{start}-{end}"
    assert set(page.evaluate(BACKGROUNDS, ".doc-text .ev")) == {TRANSPARENT}
    page.get_by_label("Show all evidence").check()
    assert TRANSPARENT not in page.evaluate(BACKGROUNDS, ".doc-text .ev")
