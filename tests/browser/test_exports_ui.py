"""Downloads in a real browser: the CSV link follows the filters htmx just applied, and
the new list pages and /data/ work without JavaScript with every control labelled."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from governance import models
from tests.browser.conftest import Site
from tests.browser.test_analyst_ui import UNLABELLED_CONTROLS, facet

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def download_csv(page: Page, link_name: str = "CSV") -> tuple[str, list[dict[str, str]]]:
    with page.expect_download() as info:
        page.locator(".export-links").get_by_role("link", name=link_name).click()
    download = info.value
    path = Path(download.path())
    with path.open(newline="", encoding="utf-8") as f:
        return download.suggested_filename, list(csv.DictReader(f))


def test_statements_csv_follows_the_facets_just_ticked(page: Page, site: Site) -> None:
    page.goto(site("/statements/"))
    facet(page, "country", "cn").check()
    expect(page).to_have_url(re.compile(r"country=cn"))
    heading = page.locator("#results-h")
    expect(heading).to_contain_text("statement")
    total = int(re.search(r"of (\d+) statement", heading.inner_text()).group(1))
    name, rows = download_csv(page)
    assert re.fullmatch(r"statements-\d{4}-\d{2}-\d{2}\.csv", name)
    assert len(rows) == total > 0
    assert {r["country"] for r in rows} == {"CN"}
    # Each row carries its statement's first evidence span, where it has one.
    for row in rows:
        evidence = models.Evidence.objects.filter(
            content_type__model="statement", object_id=row["id"]
        ).order_by("document_id", "start")
        first = evidence.first()
        assert row["evidence"] == (first.excerpt if first else "")
        assert bool(row["source_url"]) == bool(first)
    assert any(r["evidence"] for r in rows)


def test_participation_csv_follows_the_menus(page: Page, site: Site) -> None:
    page.goto(site("/participation/"))
    page.locator("#id_country").select_option(label="China")
    expect(page).to_have_url(re.compile(r"country=cn"))
    count = page.locator("#results .results-count")
    expect(count).to_contain_text("participation")
    shown = int(re.match(r"(\d+)", count.inner_text()).group(1))
    name, rows = download_csv(page)
    assert name.startswith("participation-") and name.endswith(".csv")
    assert len(rows) == shown > 0
    assert {r["country"] for r in rows} == {"CN"}


@pytest.mark.parametrize("path", ["/participation/", "/documents/"])
def test_new_list_controls_are_labelled(page: Page, site: Site, path: str) -> None:
    page.goto(site(path))
    assert page.evaluate(UNLABELLED_CONTROLS) == []


def test_new_pages_work_without_javascript(page_without_js: Page, site: Site) -> None:
    page = page_without_js
    for path in ("/participation/", "/documents/", "/data/"):
        response = page.goto(site(path))
        assert response is not None and response.status == 200, path
        expect(page.locator("main h1")).to_be_visible()
    page.goto(site("/documents/"))
    page.locator("#id_language").select_option("en")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"language=en"))
    expect(page.locator(".export-links a").first).to_have_attribute(
        "href", re.compile(r"language=en.*format=csv")
    )
