"""Sign-up: the same answer whether or not the address (or the username) has an account,
a notice to an existing account's owner instead of a second account, the emailed link
to finish, and a limit per client address."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.cache import cache
from django.test import Client, override_settings

from governance import accounts

pytestmark = pytest.mark.django_db

PASSWORD = "quiet harbour lanterns 42"


@pytest.fixture(autouse=True)
def mailbox(settings: Any) -> None:
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


@pytest.fixture(autouse=True)
def fresh_limit() -> Iterator[None]:
    """Each test starts with no sign-ups counted for the test client's address."""

    def clear() -> None:
        cache.delete(accounts.throttle.cache_format % {"scope": "signup", "ident": "127.0.0.1"})

    clear()
    yield
    clear()


@pytest.fixture
def analyst() -> User:
    return User.objects.create_user("ana", "ana@example.org", "a long pass phrase 1")


def start(client: Client, email: str, **extra: str) -> Any:
    page = client.get("/accounts/signup/")
    data = {"email": email, "csrfmiddlewaretoken": page.cookies["csrftoken"].value, **extra}
    return client.post("/accounts/signup/", data)


def visible(response: Any) -> str:
    """The page as a person sees it: the CSRF token differs on every page, so left out."""
    html = response.content.decode()
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def link_in(message: mail.EmailMessage) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/signup/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(
    analyst: User,
) -> None:
    new = start(Client(enforce_csrf_checks=True), "new@example.org")
    known = start(Client(enforce_csrf_checks=True), "ANA@example.org")
    assert new.status_code == known.status_code == 200
    assert "Check your email" in new.content.decode()
    # Word for word, but for the address each was told its message went to.
    assert visible(new).replace("new@example.org", "X") == visible(known).replace(
        "ANA@example.org", "X"
    )
    assert set(new.headers) == set(known.headers)
    # Nothing was created by either: an account needs the emailed link.
    assert list(User.objects.values_list("username", flat=True)) == ["ana"]


def test_the_existing_owner_gets_a_notice_and_a_new_address_gets_a_link(analyst: User) -> None:
    start(Client(), "ANA@example.org")
    [notice] = mail.outbox
    assert notice.to == ["ana@example.org"]
    assert "already has an account (username: ana)" in notice.body
    assert "/accounts/password_reset/" in notice.body and "/accounts/signup/" not in notice.body
    start(Client(), "new@example.org")
    [_, invitation] = mail.outbox
    assert invitation.to == ["new@example.org"]
    assert "/accounts/signup/" in invitation.body and "already" not in invitation.body


def test_the_link_finishes_signing_up_and_logs_in() -> None:
    client = Client(enforce_csrf_checks=True)
    start(client, "new@example.org", next="/countries/cn/")
    link = link_in(mail.outbox[0])
    page = client.get(link)
    assert page.status_code == 200 and "new@example.org" in page.content.decode()
    data = {
        "username": "newanalyst",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "csrfmiddlewaretoken": page.cookies["csrftoken"].value,
    }
    response = client.post(link, data)
    assert response.status_code == 302 and response["Location"] == "/countries/cn/"
    user = User.objects.get(username="newanalyst")
    assert user.email == "new@example.org" and not user.is_staff
    assert "Following" in client.get("/countries/cn/").content.decode()
    # Used: the same link now says so (to whoever reads that mailbox) and makes nothing.
    again = Client().post(link, {**data, "username": "second"})
    assert "already has an account" in again.content.decode()
    assert User.objects.filter(email="new@example.org").count() == 1


@pytest.mark.parametrize(
    "change, error",
    [
        ({"password1": "password", "password2": "password"}, "too common"),
        ({"password2": "something else 99"}, "didn’t match"),
        ({"username": "ana"}, "already exists"),
        ({"username": ""}, "This field is required"),
    ],
)
def test_the_link_page_refuses_bad_input(analyst: User, change: dict[str, str], error: str) -> None:
    link = "/accounts/signup/" + accounts.make_token("new@example.org") + "/"
    data = {"username": "newanalyst", "password1": PASSWORD, "password2": PASSWORD, **change}
    response = Client().post(link, data)
    assert response.status_code == 200 and error in response.content.decode()
    assert not User.objects.filter(email="new@example.org").exists()


def test_a_bad_or_expired_link_makes_nothing() -> None:
    token = accounts.make_token("new@example.org")
    data = {"username": "newanalyst", "password1": PASSWORD, "password2": PASSWORD}
    for link in (f"/accounts/signup/{token[:-2]}xx/", "/accounts/signup/not-a-token/"):
        response = Client().post(link, data)
        assert (
            response.status_code == 400 and "not valid or has expired" in response.content.decode()
        )
    with override_settings(SIGNUP_LINK_MAX_AGE=-1):
        response = Client().post(f"/accounts/signup/{token}/", data)
    assert response.status_code == 400
    assert not User.objects.exists()


def test_step_one_checks_only_the_address() -> None:
    response = Client().post("/accounts/signup/", {"email": "not an address"})
    assert response.status_code == 200 and "valid email address" in response.content.decode()
    assert mail.outbox == []


@override_settings(SIGNUP_RATE_LIMIT="3/hour")
def test_sign_up_is_throttled_per_client(analyst: User) -> None:
    client = Client()
    for n in range(3):
        assert start(client, f"person{n}@example.org").status_code == 200
    refused = start(client, "ANA@example.org")
    assert refused.status_code == 429 and "Too many sign-up attempts" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0
    assert len(mail.outbox) == 3  # the refused one sent nothing
    # Another client address is counted apart (REMOTE_ADDR; no proxy is trusted by default).
    other = Client(REMOTE_ADDR="192.0.2.7").post("/accounts/signup/", {"email": "x@example.org"})
    assert other.status_code == 200
    cache.delete(accounts.throttle.cache_format % {"scope": "signup", "ident": "192.0.2.7"})
    # The link's form counts too: no guessing usernames by the thousand from one address.
    link = "/accounts/signup/" + accounts.make_token("new@example.org") + "/"
    assert client.post(link, {"username": "ana"}).status_code == 429
