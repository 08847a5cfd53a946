"""The API's interactive docs in a real browser: Swagger UI from the site's own static files
runs under the site's Content Security Policy (the `watcher` fails the test on any CSP
violation, JavaScript error or request off 127.0.0.1), lists every endpoint, and can call
one."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

ENDPOINTS = [
    "/api/proposals",
    "/api/proposals/{slug}",
    "/api/countries",
    "/api/countries/{code}",
    "/api/people",
    "/api/people/{slug}",
    "/api/organizations",
    "/api/organizations/{slug}",
    "/api/statements",
    "/api/statements/{id}",
    "/api/participation",
    "/api/events",
    "/api/events/{slug}",
    "/api/documents",
    "/api/documents/{id}",
]


def test_docs_list_every_endpoint_and_try_one(page: Page, site: Site) -> None:
    page.goto(site("/api/docs"))
    expect(page.locator(".opblock")).to_have_count(len(ENDPOINTS))
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert [p.replace("\u200b", "").strip() for p in paths] == ENDPOINTS
    # Try it out: a country by code, answered by the API from the browser.
    operation = page.locator("#operations-countries-governance_api_endpoints_get_country")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.locator("input[placeholder=code]").fill("cn")
    operation.get_by_role("button", name="Execute").click()
    body = operation.locator(".responses-wrapper .live-responses-table .microlight").first
    expect(body).to_contain_text('"name": "China"')
