"""The analyst UI in a real browser: htmx search and facets, history, evidence, compare, map.

Each test drives Debian's Chromium through Playwright against the live server (see
conftest.py); the `watcher` fails any test whose pages logged a JavaScript error or a
Content Security Policy violation, or tried to leave 127.0.0.1.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, Request, expect

from tests.browser.conftest import Site

# django_db: the test database must exist for the package's `site` data, which the live
# server commits once; each test itself only reads, in its own rolled-back transaction.
pytestmark = [pytest.mark.browser, pytest.mark.django_db]

RESULTS_HEADING = "#results-h"
RESULT_CARDS = "#browser article.statement"


def count_heading(total: int) -> re.Pattern[str]:
    """The statements browser's heading for `total` results, e.g. "1-8 of 8 statements"."""
    return re.compile(rf"\bof {total} statements?\b")


def card_texts(page: Page) -> list[str]:
    return page.locator(RESULT_CARDS).all_inner_texts()


def checked_facets(page: Page) -> list[str]:
    return page.locator("#browser input.filter-control[type=checkbox]:checked").evaluate_all(
        "boxes => boxes.map(box => `${box.name}=${box.value}`)"
    )


def facet(page: Page, name: str, value: str) -> Locator:
    return page.locator(f"#browser input[name={name}][value={value}]")


def mark_document(page: Page) -> None:
    """A flag that only survives if the browser never loads a whole new page."""
    page.evaluate("window.stillTheSamePage = true")


def assert_same_document(page: Page) -> None:
    assert page.evaluate("window.stillTheSamePage === true"), "the page was reloaded"


# --- Statements browser ---------------------------------------------------------------


def test_search_as_you_type_updates_results_in_place(page: Page, site: Site) -> None:
    page.goto(site("/statements/"))
    expect(page.locator(RESULTS_HEADING)).to_contain_text(count_heading(site.statements))
    before = card_texts(page)
    mark_document(page)
    htmx_requests: list[Request] = []
    page.on("request", lambda r: htmx_requests.append(r) if r.headers.get("hx-request") else None)

    search = page.locator("#id_q")
    search.press_sequentially("sovereignty", delay=40)

    expect(page).to_have_url(re.compile(r"/statements/\?(.*&)?q=sovereignty\b"))
    heading = page.locator(RESULTS_HEADING)
    expect(heading).to_contain_text(count_heading(site.sovereignty_statements))
    after = card_texts(page)
    assert after != before and len(after) == site.sovereignty_statements
    assert all("sovereignty" in text.lower() for text in after)
    # The matched word is highlighted in each result.
    expect(page.locator(f"{RESULT_CARDS} mark").first).to_have_text(re.compile("sovereignty", re.I))
    assert_same_document(page)
    # Typing stays in the box (it is outside the swapped region), and the 300 ms
    # debounce sends one request for the whole word, not one per key.
    expect(search).to_be_focused()
    expect(search).to_have_value("sovereignty")
    assert len(htmx_requests) < len("sovereignty"), [r.url for r in htmx_requests]


def apply_country_and_kind(page: Page, site: Site) -> tuple[list[str], list[str]]:
    """From the full list, tick United States then Paraphrase; return the cards at each step."""
    page.goto(site("/statements/"))
    heading = page.locator(RESULTS_HEADING)
    expect(heading).to_contain_text(count_heading(site.statements))
    mark_document(page)
    facet(page, "country", "us").check()
    expect(page).to_have_url(re.compile(r"country=us"))
    expect(heading).to_contain_text(count_heading(8))
    us_only = card_texts(page)
    facet(page, "kind", "paraphrase").check()
    expect(page).to_have_url(re.compile(r"country=us.*kind=paraphrase|kind=paraphrase.*country=us"))
    expect(heading).to_contain_text(count_heading(4))
    assert_same_document(page)
    both = card_texts(page)
    assert all("Dana Whitfield" in text for text in both)
    return us_only, both


def test_two_facets_survive_a_reload(page: Page, site: Site) -> None:
    _, results = apply_country_and_kind(page, site)
    url, checked = page.url, checked_facets(page)
    assert sorted(checked) == ["country=us", "kind=paraphrase"]

    page.reload()

    assert page.url == url
    assert checked_facets(page) == checked
    assert card_texts(page) == results


def test_back_button_restores_the_previous_state(page: Page, site: Site) -> None:
    us_only, _ = apply_country_and_kind(page, site)
    heading = page.locator(RESULTS_HEADING)

    page.go_back()
    expect(page).to_have_url(re.compile(r"[?&]country=us(&|$)"))
    assert "kind=" not in page.url
    expect(heading).to_contain_text(count_heading(8))
    assert card_texts(page) == us_only
    assert checked_facets(page) == ["country=us"]

    page.go_back()
    expect(page).to_have_url(site("/statements/"))
    expect(heading).to_contain_text(count_heading(site.statements))
    assert checked_facets(page) == []


def test_back_button_restores_the_search_box(page: Page, site: Site) -> None:
    page.goto(site("/statements/"))
    search = page.locator("#id_q")
    search.fill("sovereignty")
    expect(page).to_have_url(re.compile(r"q=sovereignty"))
    expect(page.locator(RESULTS_HEADING)).to_contain_text(
        count_heading(site.sovereignty_statements)
    )
    search.fill("export")
    expect(page).to_have_url(re.compile(r"q=export"))

    page.go_back()
    expect(page).to_have_url(re.compile(r"q=sovereignty"))
    expect(page.locator(RESULTS_HEADING)).to_contain_text(
        count_heading(site.sovereignty_statements)
    )
    # The box must show the query whose results are listed.
    expect(search).to_have_value("sovereignty")


# --- Evidence ---------------------------------------------------------------------------


def test_source_link_scrolls_to_the_highlighted_evidence(page: Page, site: Site) -> None:
    evidence = site.quote.evidence.get(excerpt__startswith="AI should")
    anchor = f"span-{evidence.start}-{evidence.end}"
    page.goto(site(site.quote.get_absolute_url()))

    page.locator("article.statement .source a").first.click()

    expect(page).to_have_url(re.compile(rf"/documents/{evidence.document_id}/#{anchor}$"))
    first_mark = page.locator(".doc-text .ev.is-target").first
    expect(first_mark).to_be_visible()
    expect(first_mark).to_be_in_viewport()
    # The span is below the fold of the document, so landing on it means the page scrolled.
    assert page.evaluate("window.scrollY") > 0
    # Overlapping evidence splits a span into several pieces: all of its text is marked.
    assert page.evaluate(SPAN_TEXT_MARKED, [anchor, len(evidence.excerpt)]) == evidence.excerpt
    # The targeted span stands out from the other evidence, which is plain until asked for.
    target_colour = first_mark.evaluate("m => getComputedStyle(m).backgroundColor")
    other_mark = page.locator("article.doc-text .ev:not(.is-target)").first
    assert other_mark.evaluate("m => getComputedStyle(m).backgroundColor") != target_colour


# The first `length` characters of the document text after the anchor, keeping only the
# highlighted characters: equal to the excerpt only if every character is highlighted.
SPAN_TEXT_MARKED = """([anchor, length]) => {
  const text = document.querySelector("article.doc-text");
  const walker = document.createTreeWalker(text, NodeFilter.SHOW_TEXT);
  walker.currentNode = document.getElementById(anchor);
  let seen = 0, marked = "";
  while (seen < length && walker.nextNode()) {
    const chunk = walker.currentNode.data.slice(0, length - seen);
    seen += chunk.length;
    if (walker.currentNode.parentElement.closest(".is-target")) marked += chunk;
  }
  return marked;
}"""


# --- Compare and map -------------------------------------------------------------------


def compare_table(page: Page) -> list[list[str]]:
    return page.locator("#comparison table tr").evaluate_all(
        "rows => rows.map(row => [...row.cells].map(cell => cell.innerText.trim()))"
    )


EXPORT_CONTROL_ROW = re.compile(r"United States export restrictions")


def test_compare_countries_picked_in_the_form(page: Page, site: Site) -> None:
    page.goto(site("/compare/"))
    picker = page.locator("#id_add")
    picker.select_option(label="China")
    expect(page).to_have_url(re.compile(r"countries=cn"))
    picker.select_option(label="United States")
    expect(page).to_have_url(re.compile(r"countries=cn.*countries=us|countries=us.*countries=cn"))

    table = page.locator("#comparison table")
    expect(table.locator("thead")).to_contain_text("China")
    expect(table.locator("thead")).to_contain_text("United States")
    row = table.locator("tbody tr", has_text=EXPORT_CONTROL_ROW)
    expect(row.locator("td").nth(0)).to_contain_text("Target")
    expect(row.locator("td").nth(1)).to_contain_text("Issuer")
    shown = compare_table(page)

    page.reload()
    assert compare_table(page) == shown


def test_shared_compare_url_shows_the_same_table(page: Page, site: Site) -> None:
    page.goto(site("/compare/?countries=cn,us"))
    row = page.locator("#comparison tbody tr", has_text=EXPORT_CONTROL_ROW)
    expect(row.locator("td").nth(0)).to_contain_text("Target")
    expect(row.locator("td").nth(1)).to_contain_text("Issuer")
    # A country without a recorded role is "unknown", never a blank that reads as "no".
    action_plan = page.locator("#comparison tbody tr", has_text="Action Plan")
    expect(action_plan.locator("td").nth(0)).to_contain_text("Proposer")
    expect(action_plan.locator("td").nth(1)).to_contain_text("unknown")
    shown = compare_table(page)

    # Picking one more country keeps the two from the shared link.
    page.locator("#id_add").select_option(label="France")
    expect(page).to_have_url(re.compile(r"countries=fr"))
    expect(page.locator("#comparison thead")).to_contain_text("France")
    expect(page.locator("#comparison thead")).to_contain_text("United States")

    page.goto(site("/compare/?countries=cn,us"))
    assert compare_table(page) == shown


def test_coloured_map_country_links_to_its_country_page(page: Page, site: Site) -> None:
    page.goto(site(site.action_plan.get_absolute_url()))
    world_map = page.locator("svg.world-map")
    expect(world_map).to_be_visible()
    china = world_map.locator("a", has=page.locator("path[data-code=cn]"))
    expect(china.locator("path")).to_have_class(re.compile(r"\bcat-proposer\b"))
    # Coloured by its role, unlike a country without one (which is not a link).
    fill = china.locator("path").evaluate("p => getComputedStyle(p).fill")
    grey = world_map.locator("path[data-code=br]").evaluate("p => getComputedStyle(p).fill")
    assert fill != grey
    expect(world_map.locator("a", has=page.locator("path[data-code=br]"))).to_have_count(0)

    china.click()

    expect(page).to_have_url(site("/countries/cn/"))
    expect(page.locator("h1")).to_contain_text("China")


# --- Keyboard ---------------------------------------------------------------------------


def focused(page: Page) -> str:
    """A short description of the focused element: tag#id.class[name=value]."""
    return page.evaluate(
        """() => { const e = document.activeElement;
        const tag = `${e.tagName.toLowerCase()}#${e.id}.${e.className}`;
        return `${tag}[${e.name || ""}=${e.value || ""}]`; }"""
    )


def tab_until(page: Page, selector: str, limit: int = 80) -> int:
    """Press Tab until an element matching `selector` has the focus; return the presses."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return presses
    raise AssertionError(f"{selector} not reached in {limit} Tabs; focus on {focused(page)}")


def test_keyboard_reaches_skip_link_search_and_facets(page: Page, site: Site) -> None:
    page.goto(site("/statements/"))

    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # off-screen until focused
    tab_until(page, "#id_q")

    tab_until(page, "#browser input[name=country]")
    value = page.evaluate("document.activeElement.value")
    page.keyboard.press("Space")
    expect(page).to_have_url(re.compile(rf"country={value}"))
    expect(facet(page, "country", value)).to_be_checked()


def test_focus_stays_on_a_facet_toggled_with_space(page: Page, site: Site) -> None:
    page.goto(site("/statements/"))
    tab_until(page, "#browser input[name=kind]")
    value = page.evaluate("document.activeElement.value")

    page.keyboard.press("Space")
    expect(page).to_have_url(re.compile(rf"kind={value}"))
    expect(facet(page, "kind", value)).to_be_checked()
    # The region was swapped; a keyboard user must not be thrown back to the top.
    expect(facet(page, "kind", value)).to_be_focused()
    page.keyboard.press("Space")
    expect(page).not_to_have_url(re.compile(rf"kind={value}"))
    expect(facet(page, "kind", value)).not_to_be_checked()


UNLABELLED_CONTROLS = """() => [...document.querySelectorAll("input, select, textarea")]
  .filter(e => e.type !== "hidden" && e.type !== "submit")
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute("aria-label")
               && !e.getAttribute("aria-labelledby"))
  .map(e => e.outerHTML.slice(0, 120))"""


@pytest.mark.parametrize("path", ["/statements/", "/search/?q=china", "/compare/?countries=cn"])
def test_every_form_control_has_a_label(page: Page, site: Site, path: str) -> None:
    page.goto(site(path))
    assert page.evaluate(UNLABELLED_CONTROLS) == []


# --- Global search ----------------------------------------------------------------------


def test_global_search_tolerates_a_typo_in_a_name(page: Page, site: Site) -> None:
    page.goto(site("/search/"))
    mark_document(page)
    page.locator("#id_q").press_sequentially("Li Quang", delay=20)

    expect(page).to_have_url(re.compile(r"q=Li(\+|%20)Quang"))
    people = page.locator("#search-results section", has_text="People")
    link = people.get_by_role("link", name="Li Qiang")
    expect(link).to_be_visible()
    assert_same_document(page)
    link.click()
    expect(page).to_have_url(site("/people/li-qiang/"))


# --- Without JavaScript -----------------------------------------------------------------


def test_statement_filters_work_without_javascript(page_without_js: Page, site: Site) -> None:
    page = page_without_js
    page.goto(site("/statements/"))
    facet(page, "country", "us").check()
    facet(page, "kind", "paraphrase").check()
    page.get_by_role("button", name="Apply filters").click()

    expect(page).to_have_url(re.compile(r"country=us"))
    expect(page).to_have_url(re.compile(r"kind=paraphrase"))
    expect(page.locator(RESULTS_HEADING)).to_contain_text(count_heading(4))
    assert sorted(checked_facets(page)) == ["country=us", "kind=paraphrase"]


def test_compare_form_works_without_javascript(page_without_js: Page, site: Site) -> None:
    page = page_without_js
    page.goto(site("/compare/?countries=cn"))
    page.locator("#id_add").select_option(label="United States")
    page.get_by_role("button", name="Compare").click()

    row = page.locator("#comparison tbody tr", has_text=EXPORT_CONTROL_ROW)
    expect(row.locator("td").nth(0)).to_contain_text("Target")
    expect(row.locator("td").nth(1)).to_contain_text("Issuer")


def test_every_page_renders_without_javascript(page_without_js: Page, site: Site) -> None:
    page = page_without_js
    evidence = site.quote.evidence.first()
    paths = [
        "/",
        "/statements/?q=common+good",
        "/search/?q=Li+Quang",
        "/compare/?countries=cn,us",
        "/proposals/",
        "/countries/",
        "/events/",
        "/people/",
        "/organizations/",
        site.action_plan.get_absolute_url(),
        site.quote.get_absolute_url(),
        evidence.get_absolute_url(),
        "/countries/cn/",
        "/people/li-qiang/",
    ]
    for path in paths:
        response = page.goto(site(path))
        assert response is not None and response.status == 200, path
        expect(page.locator("main h1")).to_be_visible()
