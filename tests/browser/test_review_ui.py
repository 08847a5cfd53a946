"""The curator's keyboard flow in the review queue, in Debian's Chromium: log in, move
with j/k, accept with one key, reject with r + reason + Enter, undo with u."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import Page, expect
from pytest_django import DjangoDbBlocker

from governance.extract.candidates import write_candidates
from governance.extract.types import CountryFound, Extraction, Mention, PersonFound, QuoteFound
from governance.models import Candidate, Document
from governance.roles import CURATOR_GROUP
from tests import factories
from tests.browser.conftest import Site

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

TEXT = "Chinese Premier Li Qiang said: “AI should be a common good.” Washington disagreed."
PASSWORD = "kb-flow-pass-123"


@pytest.fixture(scope="module")
def queued(site: Site, django_db_blocker: DjangoDbBlocker) -> Iterator[Document]:
    """A document with four pending candidates and a curator, committed so that the live
    server's thread sees them (the site fixture flushes everything at the end)."""
    with django_db_blocker.unblock():
        document = factories.DocumentFactory(text=TEXT, title="Premier on AI (review test)")
        quote = "AI should be a common good."
        start = TEXT.index(quote)
        write_candidates(
            document,
            Extraction(
                countries=[
                    CountryFound("CN", [Mention("Chinese", 0, 7, "demonym")]),
                    CountryFound("US", [Mention("Washington", 61, 71, "capital")]),
                ],
                people=[PersonFound("Li Qiang", "Premier", "China", [Mention("Li Qiang", 16, 24)])],
                quotes=[QuoteFound("Li Qiang", quote, start, start + len(quote))],
            ),
        )
        user = User.objects.create_user("kbcurator", password=PASSWORD)
        user.groups.add(Group.objects.get(name=CURATOR_GROUP))
        yield document


def pending_rows(page: Page) -> int:
    return page.locator("tr.cand-row[data-pending='1']").count()


def test_keyboard_flow_accept_reject_undo(
    page: Page, site: Site, queued: Document, django_db_blocker: DjangoDbBlocker
) -> None:
    page.goto(site(f"/review/?document={queued.pk}"))
    page.fill("#id_username", "kbcurator")
    page.fill("#id_password", PASSWORD)
    page.locator("form.login-form button").click()
    expect(page.locator("h1")).to_have_text("Review queue")
    # The shortcuts script is deferred: wait until it listens before pressing keys.
    expect(page.locator("html[data-review-keys=on]")).to_have_count(1)
    rows = page.locator("tr.cand-row[data-pending='1']")
    expect(rows).to_have_count(4)

    page.keyboard.press("j")  # focus the first pending candidate
    first = rows.first.get_attribute("id")
    expect(page.locator(f"#{first}")).to_be_focused()
    expect(page.locator(".review-text mark.current").first).to_be_visible()

    page.keyboard.press("a")  # one key: accept, and focus moves to the next
    expect(rows).to_have_count(3)
    expect(page.locator(f"#{first} .status-badge")).to_have_text("Accepted")
    second = rows.first.get_attribute("id")
    expect(page.locator(f"#{second}")).to_be_focused()

    page.keyboard.press("r")
    page.keyboard.type("not what the text says")
    page.keyboard.press("Enter")
    expect(rows).to_have_count(2)
    expect(page.locator(f"#{second} .status-badge")).to_have_text("Rejected")

    page.keyboard.press("Escape")
    page.keyboard.press("u")  # undo the rejection: the page reloads with it pending again
    expect(page.locator(".message")).to_contain_text("pending again")
    expect(page.locator("html[data-review-keys=on]")).to_have_count(1)
    expect(rows).to_have_count(3)

    with django_db_blocker.unblock():
        statuses = sorted(
            Candidate.objects.filter(document=queued).values_list("status", flat=True)
        )
    assert statuses == ["accepted", "pending", "pending", "pending"]
