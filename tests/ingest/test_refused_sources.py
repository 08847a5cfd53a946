"""Refused before storing: an out-of-range interval, a URL the fetcher would refuse, and an
over-size pasted text are each refused with a clear message, and no Source row is made
(model and database, the Source form and the admin, `manage.py ingest`, the curators'
"Add a source" page)."""

from __future__ import annotations

import re
import socket
from datetime import timedelta
from html import unescape
from io import StringIO
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from governance.forms import SourceForm
from governance.models import Source
from governance.roles import CURATOR_GROUP
from tests.ingest.feeds import rss
from tests.ingest.payload_server import PayloadServer

pytestmark = pytest.mark.django_db

HUGE_DAYS = 999_999_999  # the largest a timedelta holds
HUGE = f"{HUGE_DAYS} 00:00:00"
# A long non-ASCII paste: 3 bytes a character in UTF-8, 9 once percent-encoded.
SENTENCE = "中国总理李强在世界人工智能大会上提议成立全球人工智能合作组织。"


def form(**data: object) -> SourceForm:
    base = {"name": "A source", "kind": "feed", "enabled": True, "interval": "01:00:00"}
    return SourceForm(data={**base, **data})


# --- Interval: a minute to a year -------------------------------------------------------


def test_the_database_refuses_an_interval_over_a_year() -> None:
    forever = timedelta(days=HUGE_DAYS)
    with (
        pytest.raises(IntegrityError, match="source_interval_at_most_a_year"),
        transaction.atomic(),
    ):
        Source.objects.create(name="F", kind="feed", url="https://a.example/f", interval=forever)
    assert not Source.objects.exists()
    Source.objects.create(
        name="Yearly", kind="feed", url="https://a.example/y", interval=timedelta(days=365)
    )


def test_the_model_says_why() -> None:
    source = Source(name="Forever", kind="feed", url="https://a.example/f")
    source.interval = timedelta(days=HUGE_DAYS)
    with pytest.raises(ValidationError) as info:
        source.full_clean()
    assert "between a minute (00:01:00) and a year (365 00:00:00)" in str(info.value)


@pytest.mark.parametrize("interval", [HUGE, "366 00:00:00", "00:00:30"])
def test_the_source_form_refuses_an_interval_out_of_range(interval: str) -> None:
    f = form(url="https://news.example.org/feed.xml", interval=interval)
    assert not f.is_valid()
    assert "between a minute (00:01:00) and a year" in f.errors["interval"][0]
    assert form(url="https://news.example.org/feed.xml", interval="365 00:00:00").is_valid()


def test_the_admin_refuses_an_interval_out_of_range(admin_client: Client) -> None:
    data = {
        "name": "Forever",
        "kind": "feed",
        "url": "https://news.example.org/feed.xml",
        "enabled": "on",
        "interval": HUGE,
        "manual_text": "",
    }
    response = admin_client.post(reverse("admin:governance_source_add"), data)
    assert response.status_code == 200
    page = unescape(response.content.decode())
    assert "between a minute (00:01:00) and a year (365 00:00:00)" in page
    assert HUGE in page  # what was typed is still in the field
    assert not Source.objects.exists()


def test_ingest_refuses_an_interval_out_of_range() -> None:
    for value, message in [
        (HUGE, "between a minute"),
        ("99999999999 00:00:00", "between a minute"),
        ("00:00:10", "between a minute"),
        ("soon", "not a duration"),
    ]:
        with pytest.raises(CommandError, match=message):
            call_command(
                "ingest", "https://news.example.org/feed.xml", "--kind", "feed",
                "--interval", value, stdout=StringIO(),
            )  # fmt: skip
    assert not Source.objects.exists()


def test_ingest_registers_with_the_interval_given(
    payload_server: PayloadServer, allow_loopback: None
) -> None:
    payload_server.add("/feed.xml", body=rss([]))
    out = StringIO()
    call_command("ingest", payload_server.url("/feed.xml"), "--interval", "PT6H", stdout=out)
    assert Source.objects.get().interval == timedelta(hours=6)


# --- URLs the fetcher would refuse --------------------------------------------------------


@pytest.fixture
def private_name(monkeypatch: pytest.MonkeyPatch) -> str:
    """intranet.example resolves to a private address (the resolver is patched: nothing
    is looked up or dialled)."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "intranet.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port or 0))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return "http://intranet.example/feed.xml"


REFUSED = [
    ("file:///etc/passwd", "only http and https"),
    ("gopher://example.org:70/1", "only http and https"),
    ("ftp://example.org/feed.xml", "only http and https"),
    ("http://user:secret@example.org/feed", "credentials"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://127.0.0.1:8000/admin/", "loopback"),
    ("http://[::ffff:10.0.0.1]/", "private"),
    ("http://2130706433/", "loopback"),  # 127.0.0.1 spelled as one number
]


@pytest.mark.parametrize("kind", [None, "feed", "page"])
def test_ingest_refuses_urls_the_fetcher_would_refuse_and_stores_nothing(
    kind: str | None, private_name: str
) -> None:
    for url, why in [*REFUSED, (private_name, "resolves to 10.1.2.3, a private")]:
        out = StringIO()
        args = [url] + (["--kind", kind] if kind else [])
        with pytest.raises(CommandError, match="1 source"):
            call_command("ingest", *args, stdout=out)
        assert f"{url}: not registered: " in out.getvalue(), out.getvalue()
        assert why in out.getvalue(), out.getvalue()
    assert not Source.objects.exists()


def test_the_source_form_refuses_urls_the_fetcher_would_refuse(private_name: str) -> None:
    for url, _ in REFUSED:
        f = form(url=url)
        assert not f.is_valid() and f.errors["url"], url
    for url, why in [
        (private_name, "resolves to 10.1.2.3, a private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://user:secret@example.org/feed", "credentials"),
    ]:
        f = form(url=url)
        assert not f.is_valid()
        assert "This address cannot be fetched" in f.errors["url"][0] and why in f.errors["url"][0]
    assert not Source.objects.exists()


def test_curators_new_source_refuses_a_blocked_address(curator_client: Client) -> None:
    url = reverse("governance:review_new_source")
    page = curator_client.post(url, {"title": "Metadata", "url": "http://169.254.169.254/"})
    assert "This address cannot be fetched" in unescape(page.content.decode())
    assert not Source.objects.exists()


# --- Over-size pasted text ----------------------------------------------------------------


@pytest.fixture
def curator_client(client: Client) -> Client:
    user = User.objects.create_user("cora", password="pw-12345678")
    user.groups.add(Group.objects.get(name=CURATOR_GROUP))
    client.force_login(user)
    return client


def textarea(html: str) -> str:
    match = re.search(r"<textarea[^>]*>\n?(.*?)</textarea>", html, re.S)
    assert match, "no textarea"
    return unescape(match.group(1))


@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
def test_an_over_size_paste_is_refused_with_the_limit_and_kept(
    curator_client: Client, encoding: str
) -> None:
    text = SENTENCE * (2 * 1024 * 1024 // len(SENTENCE.encode()) + 1)  # just over 2 MB
    assert len(text.encode()) > 2 * 1024 * 1024 and len(text) < 750_000
    url = reverse("governance:review_new_source")
    data = {"title": "Premier's speech", "text": text}
    if encoding == "multipart":
        response = curator_client.post(url, data)
    else:
        # What a browser sends without the form's enctype: over 6 MB on the wire, more
        # than Django's default 2.5 MB limit for a whole form.
        body = urlencode(data)
        assert len(body) > 6 * 1024 * 1024
        response = curator_client.post(url, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    page = response.content.decode()
    assert "the limit is 2 MB of UTF-8 text" in unescape(page)
    assert textarea(page) == text  # nothing the curator pasted is lost
    assert not Source.objects.exists()


def test_a_paste_within_the_limit_is_stored(curator_client: Client) -> None:
    text = SENTENCE * (1024 * 1024 // len(SENTENCE.encode()))  # about 1 MB
    url = reverse("governance:review_new_source")
    body = urlencode({"title": "Premier's speech", "text": text})
    response = curator_client.post(url, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 302
    assert Source.objects.get().manual_text == text


def test_a_form_beyond_the_request_limit_gets_a_page_naming_it(curator_client: Client) -> None:
    text = SENTENCE * (11 * 1024 * 1024 // len(SENTENCE.encode()))  # 11 MB
    response = curator_client.post(
        reverse("governance:review_new_source"), {"title": "A book", "text": text}
    )
    assert response.status_code == 413
    page = unescape(response.content.decode())
    assert "larger than 10 MB" in page and "at most 2 MB" in page
    assert not Source.objects.exists()


def test_the_admin_refuses_an_over_size_manual_text(admin_client: Client) -> None:
    text = SENTENCE * (2 * 1024 * 1024 // len(SENTENCE.encode()) + 1)
    data = {
        "name": "Speech",
        "kind": "manual",
        "url": "",
        "enabled": "on",
        "interval": "01:00:00",
        "manual_text": text,
    }
    response = admin_client.post(reverse("admin:governance_source_add"), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "the limit is 2 MB of UTF-8 text" in unescape(page)
    assert textarea(page) == text
    assert not Source.objects.exists()
