"""Adding a fact by hand in Debian's Chromium: switching the kind re-renders the fields
in place (htmx) keeping what was typed, and a figure is filed with its evidence; without
JavaScript, the same page works through plain form posts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import Page, expect
from pytest_django import DjangoDbBlocker

from governance.models import Candidate, Document, Event, EventFigure
from governance.roles import CURATOR_GROUP
from tests import factories
from tests.browser.conftest import Site

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PASSWORD = "hand-entry-pass-123"
EVIDENCE = "Over 800 companies showed their products."
NO_SCRIPT_EVIDENCE = "Over 800 companies"  # the same words twice as a figure are refused


@dataclass(frozen=True)
class Desk:
    document: Document
    event: Event
    username: str


@pytest.fixture(scope="module")
def desk(site: Site, django_db_blocker: DjangoDbBlocker) -> Iterator[Desk]:
    """A document about the seed's event and a curator, committed for the live server;
    what the tests file is removed afterwards, leaving the shared data as it was."""
    with django_db_blocker.unblock():
        event = Event.objects.get()
        document = factories.DocumentFactory(
            title="Exhibitors at the conference (hand entry test)",
            text=f"The {event.name} drew a crowd. {EVIDENCE} Visitors queued for hours.",
        )
        user = User.objects.create_user("handcurator", password=PASSWORD)
        user.groups.add(Group.objects.get(name=CURATOR_GROUP))
        yield Desk(document, event, user.username)
        EventFigure.objects.filter(event=event, label__startswith="exhibiting").delete()
        document.delete()
        user.delete()


def log_in(page: Page, site: Site, desk: Desk) -> None:
    page.goto(site(f"/review/documents/{desk.document.pk}/add/"))
    page.fill("#id_username", desk.username)
    page.fill("#id_password", PASSWORD)
    page.locator("form.login-form button").click()
    expect(page.locator("h1")).to_contain_text("Add a fact from")


def filed(django_db_blocker: DjangoDbBlocker, desk: Desk, label: str) -> tuple[int, str]:
    with django_db_blocker.unblock():
        figure = EventFigure.objects.get(event=desk.event, label=label)
        candidate = Candidate.objects.get(
            document=desk.document, kind="figure", record_id=str(figure.pk)
        )
        return figure.value, candidate.status


def test_switching_to_a_figure_and_adding_it(
    page: Page, site: Site, desk: Desk, django_db_blocker: DjangoDbBlocker
) -> None:
    log_in(page, site, desk)
    expect(page.locator("#id_payload-name")).to_be_visible()  # a person's fields first
    page.fill("#id_evidence", EVIDENCE)
    page.fill("#id_payload-name", "typed before switching")

    page.select_option("#id_fact_kind", "figure")
    # htmx swaps the fields in place: the evidence stays as typed, the address follows.
    expect(page.locator("#id_payload-value")).to_be_visible()
    expect(page.locator("#id_payload-name")).to_have_count(0)
    expect(page.locator("#fact-fields legend")).to_have_text("Figure")
    expect(page.locator("#id_evidence")).to_have_value(EVIDENCE)
    assert page.url.endswith("?fact_kind=figure")
    # No "Show its fields" button with JavaScript on: the select is enough.
    expect(page.get_by_role("button", name="Show its fields")).to_have_count(0)

    page.fill("#id_payload-event", desk.event.name)
    page.fill("#id_payload-label", "exhibiting companies")
    page.fill("#id_payload-value", "800")
    page.select_option("#id_payload-qualifier", "over")
    page.get_by_role("button", name="Add with this evidence").click()

    expect(page.locator(".message").first).to_contain_text("Added figure")
    assert page.url == site(desk.document.get_absolute_url())
    assert filed(django_db_blocker, desk, "exhibiting companies") == (800, "accepted")


def test_a_figure_too_large_is_refused_on_the_page(
    page: Page, site: Site, desk: Desk, django_db_blocker: DjangoDbBlocker
) -> None:
    log_in(page, site, desk)
    page.goto(site(f"/review/documents/{desk.document.pk}/add/?fact_kind=figure"))
    page.fill("#id_evidence", EVIDENCE)
    page.fill("#id_payload-event", desk.event.name)
    page.fill("#id_payload-label", "exhibiting firms")
    page.fill("#id_payload-value", str(2**63))
    page.select_option("#id_payload-qualifier", "over")
    # The browser's own check (max=) would stop the post: the server's is what is tested.
    page.locator("form.hand-fact").evaluate("form => form.noValidate = true")
    page.get_by_role("button", name="Add with this evidence").click()
    expect(page.locator(".field-error")).to_have_text(
        "Ensure this value is less than or equal to 9223372036854775807."
    )
    expect(page.locator("#id_payload-value")).to_have_value(str(2**63))
    expect(page.locator("#id_evidence")).to_have_value(EVIDENCE)
    with django_db_blocker.unblock():
        assert not EventFigure.objects.filter(label="exhibiting firms").exists()


def test_without_javascript_the_kind_is_chosen_by_a_post(
    page_without_js: Page, site: Site, desk: Desk, django_db_blocker: DjangoDbBlocker
) -> None:
    page = page_without_js
    log_in(page, site, desk)
    page.fill("#id_evidence", NO_SCRIPT_EVIDENCE)
    page.select_option("#id_fact_kind", "figure")
    page.get_by_role("button", name="Show its fields").click()
    expect(page.locator("#id_payload-value")).to_be_visible()
    expect(page.locator("#id_evidence")).to_have_value(NO_SCRIPT_EVIDENCE)
    page.fill("#id_payload-event", desk.event.name)
    page.fill("#id_payload-label", "exhibiting firms, no script")
    page.fill("#id_payload-value", "801")
    page.select_option("#id_payload-qualifier", "exact")
    page.get_by_role("button", name="Add with this evidence").click()
    expect(page.locator(".message").first).to_contain_text("Added figure")
    assert filed(django_db_blocker, desk, "exhibiting firms, no script") == (801, "accepted")
