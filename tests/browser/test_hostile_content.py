"""Hostile text rendered on every page type runs no script (issue #8, scenario 9).

Names, titles, quotes, evidence and document text are filled with script, event
handler, SVG, javascript: and data: payloads, then every page that shows them is
opened twice: once with the site's Content Security Policy enforced, and once with
it bypassed, so that a payload escaping Django's auto-escaping would run and be
counted. Each payload calls `window.__xss(tag)`, a function exposed by the test.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from django.contrib.contenttypes.models import ContentType
from playwright.sync_api import Browser, Page

from governance import models
from tests import factories
from tests.browser.conftest import Site, Watcher, open_context

pytestmark = [pytest.mark.django_db, pytest.mark.browser]


def payload_list(tag: str) -> list[str]:
    """Every injection style, each calling __xss with its own label."""
    call = f"window.__xss('{tag}')"
    return [
        f"<script>{call}</script>",
        f'<img src=x onerror="{call}">',
        f'<svg onload="{call}"><circle r=1 /></svg>',
        f'"><script>{call}</script><"',
        f"' onmouseover='{call}' autofocus onfocus='{call}' x='",
        f'<a href="javascript:{call}">link</a>',
        f"javascript:{call}",
        f"<iframe src=\"data:text/html,<script>parent.__xss('{tag}')</script>\"></iframe>",
        f'<math><mtext><table><mglyph><style><img src=x onerror="{call}">',
        "{{ 7777|add:1 }} {% widthratio 700 1 3 %}",
    ]


def payloads(tag: str, limit: int = 100_000, prefix: str = "") -> str:
    """As many payloads as fit in `limit` characters (a column's max_length), after prefix.
    Short columns rotate which payloads they get, so each style reaches some column."""
    items = payload_list(tag)
    shift = sum(map(ord, tag)) % len(items)
    out = prefix
    for item in items[shift:] + items[:shift]:
        if len(out) + len(item) + 1 <= limit:
            out = f"{out} {item}" if out else item
    return out


MARKER = "xsscanary"


@pytest.fixture(scope="module")
def hostile(site: Site, django_db_blocker: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Records whose every text field is hostile, removed again after the module."""
    with django_db_blocker.unblock():
        source = models.Source.objects.create(
            name=payloads("source", 200, MARKER), kind=models.Source.Kind.MANUAL
        )
        text = f"{MARKER} opening. {payloads('document')} said the speaker. End."
        document = models.Document.objects.create(
            source=source,
            url=f"https://example.org/{MARKER}?q=%3Cscript%3E",
            title=payloads("doc-title", 500, MARKER),
            publisher=payloads("publisher", 200),
            text=text,
            language="en",
        )
        person = factories.PersonFactory(name=payloads("person", 200, f"Xss {MARKER}"))
        organization = factories.OrganizationFactory(name=payloads("org", 200, MARKER))
        event = factories.EventFactory(
            name=payloads("event", 200, MARKER), theme=payloads("theme", 300)
        )
        proposal = factories.ProposalFactory(
            title=payloads("proposal", 300, MARKER), summary=payloads("summary")
        )
        country = models.Country.objects.get(code="CN")
        statement = factories.StatementFactory(
            speaker=person,
            text=f"{MARKER} {payloads('statement')}",
            said_on=datetime.date(2025, 7, 26),
            event=event,
            on_behalf_of_country=country,
        )
        statement.proposals.add(proposal)
        statement.countries.add(country)
        models.Participation.objects.create(
            proposal=proposal, country=country, role=models.Participation.Role.SUPPORTER
        )
        start = text.index("<script>")
        models.DocumentCountry.objects.create(document=document, country=country, start=0, end=9)
        for record in (statement, proposal, person):
            models.Evidence.objects.create(
                content_type=ContentType.objects.get_for_model(record),
                object_id=str(record.pk),
                document=document,
                start=start,
                end=start + 60,
                excerpt=text[start : start + 60],
                claim=payloads("claim", 300),
            )
        paths = {
            "dashboard": "/",
            "statements": "/statements/",
            "statements search": f"/statements/?q={MARKER}",
            "statement": f"/statements/{statement.pk}/",
            "proposals": "/proposals/",
            "proposal": f"/proposals/{proposal.slug}/",
            "person": f"/people/{person.slug}/",
            "people": f"/people/?q={MARKER}",
            "organization": f"/organizations/{organization.slug}/",
            "organizations": "/organizations/",
            "event": f"/events/{event.slug}/",
            "events": "/events/",
            "document": f"/documents/{document.pk}/",
            "country statements": "/countries/cn/?tab=statements",
            "country documents": "/countries/cn/?tab=documents",
            "search": f"/search/?q={quote(MARKER)}",
            "search with payload": f"/search/?q={quote(payloads('query'))}",
            "statements with payload": f"/statements/?q={quote(payloads('q2'))}",
        }
        try:
            yield paths
        finally:
            models.Evidence.objects.filter(document=document).delete()
            statement.delete()
            models.Participation.objects.filter(proposal=proposal).delete()
            for record in (proposal, event, organization, person, document, source):
                record.delete()


def visit_all(page: Page, site: Site, paths: dict[str, str]) -> list[str]:
    """Open every page, hover and focus what can be; return the payloads that ran."""
    ran: list[str] = []
    page.expose_function("__xss", lambda tag: ran.append(str(tag)))
    page.on("dialog", lambda dialog: (ran.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    for name, path in paths.items():
        response = page.goto(site(path))
        assert response is not None and response.status == 200, (name, path)
        page.wait_for_load_state("load")
        # The page does show the hostile text (as text), or the visit proves nothing.
        assert "__xss" in page.content(), (name, "the hostile text is not on the page")
        # What a careless template would have let through, whether or not it ran.
        injected = page.evaluate(
            """() => ({
              scripts: [...document.scripts].filter(s => s.text.includes('__xss')).length,
              handlers: [...document.querySelectorAll('*')].filter(el =>
                [...el.attributes].some(a => a.name.startsWith('on')
                  && a.value.includes('__xss'))).length,
              jsLinks: [...document.querySelectorAll('[href],[src]')].filter(el =>
                /^\\s*(javascript|data):/i.test(el.getAttribute('href')
                  || el.getAttribute('src'))).length,
              evaluated: /7778|2100/.test(document.body.innerText),
            })"""
        )
        assert injected["scripts"] == 0, (name, injected)
        assert injected["handlers"] == 0, (name, injected)
        assert injected["jsLinks"] == 0, (name, injected)
        assert not injected["evaluated"], (name, "template code in data was evaluated")
        # The links that show hostile text, found in the page in one query.
        for link in page.get_by_role("link").filter(has_text=MARKER).all()[:80]:
            link.hover()
            link.focus()
    return ran


def test_no_payload_runs_with_the_csp_enforced(page: Page, site: Site, hostile: dict) -> None:
    assert visit_all(page, site, hostile) == []


def test_no_payload_runs_even_with_the_csp_bypassed(
    browser: Browser, site: Site, hostile: dict
) -> None:
    """Escaping alone must hold: with the CSP off, a leaked payload would run."""
    watcher = Watcher()
    context = open_context(browser, watcher, bypass_csp=True)
    try:
        ran = visit_all(context.new_page(), site, hostile)
    finally:
        context.close()
    assert ran == []
    assert not watcher.problems, watcher.problems


def test_the_payloads_would_run_if_unescaped(browser: Browser, site: Site) -> None:
    """The detector works: the same payload as raw HTML does call __xss."""
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    ran: list[str] = []
    page.expose_function("__xss", lambda tag: ran.append(str(tag)))
    page.set_content(f"<body>{payloads('raw')}</body>")
    page.wait_for_timeout(300)
    context.close()
    assert "raw" in ran
