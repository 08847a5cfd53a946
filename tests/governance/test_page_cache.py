"""Anonymous analyst pages from Redis (governance/page_cache.py): served again with a
fresh CSP nonce, never to a signed-in user, gone as soon as what they show changes."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from governance.models import Country
from tests.factories import DocumentFactory, PersonFactory, StatementFactory

pytestmark = pytest.mark.django_db


def _nonce_of(response: object) -> str:
    header = response["Content-Security-Policy"]  # type: ignore[index]
    return re.search(r"'nonce-([^']+)'", header).group(1)


def test_a_second_visit_is_served_from_the_cache_with_its_own_nonce(client: Client) -> None:
    StatementFactory(text="Cached words for the test.")
    first = client.get("/statements/")
    second = client.get("/statements/")
    assert first["X-Page-Cache"] == "miss" and second["X-Page-Cache"] == "hit"
    body1, body2 = first.content.decode(), second.content.decode()
    nonce1, nonce2 = _nonce_of(first), _nonce_of(second)
    assert nonce1 != nonce2
    assert f'nonce="{nonce2}"' in body2 and nonce1 not in body2
    assert body1.replace(nonce1, "N") == body2.replace(nonce2, "N")
    assert "Cached words for the test." in body2


def test_a_change_to_what_a_page_shows_is_seen_at_once(client: Client) -> None:
    person = PersonFactory(name="Page Person")
    statement = StatementFactory(speaker=person, text="First words.")
    url = person.get_absolute_url()
    client.get(url)
    assert client.get(url)["X-Page-Cache"] == "hit"
    statement.text = "Corrected words."
    statement.save()
    page = client.get(url)
    assert page["X-Page-Cache"] == "miss" and "Corrected words." in page.content.decode()


def test_a_new_document_refreshes_the_dashboard_but_not_the_statements(client: Client) -> None:
    StatementFactory()
    client.get("/"), client.get("/statements/")
    DocumentFactory()
    assert client.get("/")["X-Page-Cache"] == "miss"
    assert client.get("/statements/")["X-Page-Cache"] == "hit"


def test_signed_in_users_always_get_their_own_page(client: Client, admin_user: object) -> None:
    StatementFactory()
    client.get("/statements/")
    client.force_login(admin_user)
    for _ in range(2):
        response = client.get("/statements/")
        assert "X-Page-Cache" not in response
        assert "Admin" in response.content.decode() or "Log out" in response.content.decode()


def test_an_htmx_fragment_and_its_page_are_cached_apart(client: Client) -> None:
    StatementFactory(on_behalf_of_country=Country.objects.get(code="FR"))
    headers = {"HX-Request": "true", "HX-Target": "browser"}
    full = client.get("/statements/?country=fr")
    fragment = client.get("/statements/?country=fr", headers=headers)
    assert fragment["X-Page-Cache"] == "miss"
    again = client.get("/statements/?country=fr", headers=headers)
    assert again["X-Page-Cache"] == "hit" and "<html" not in again.content.decode()
    assert "<html" in client.get("/statements/?country=fr").content.decode()
    assert "<html" in full.content.decode()


def test_errors_and_unlisted_pages_are_not_stored(client: Client) -> None:
    for _ in range(2):
        assert "X-Page-Cache" not in client.get("/people/no-such-person/")
        assert "X-Page-Cache" not in client.get("/accounts/login/")
