"""Login throttling (django-axes) on every login form: issue #8, scenario 13."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

LOGIN_FORMS = ["/accounts/login/", "/admin/login/"]
PASSWORD = "correct horse battery staple"


@pytest.fixture
def curator() -> User:
    return User.objects.create_user("curator", password=PASSWORD, is_staff=True)


def attempt(client: Client, url: str, password: str, ip: str = "198.51.100.7") -> int:
    response = client.post(
        url, {"username": "curator", "password": password}, REMOTE_ADDR=ip, follow=False
    )
    return response.status_code


@pytest.mark.parametrize("url", LOGIN_FORMS)
def test_the_sixth_wrong_attempt_is_locked_out(client: Client, curator: User, url: str) -> None:
    # Five wrong passwords get the form back with its error...
    assert [attempt(client, url, "wrong") for _ in range(5)] == [200] * 5
    # ...the sixth is locked out, and so is the next attempt, even with the right password.
    assert attempt(client, url, "wrong") == 429
    response = client.post(
        url, {"username": "curator", "password": PASSWORD}, REMOTE_ADDR="198.51.100.7"
    )
    assert response.status_code == 429
    assert b"Too many failed log-ins" in response.content
    assert b"axes_reset_username" in response.content
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username_and_address(client: Client, curator: User) -> None:
    for _ in range(6):
        attempt(client, "/accounts/login/", "wrong", ip="198.51.100.7")
    assert attempt(client, "/accounts/login/", PASSWORD, ip="198.51.100.7") == 429
    # The curator can still log in from another address: a stranger cannot lock them out.
    assert attempt(Client(), "/accounts/login/", PASSWORD, ip="203.0.113.9") == 302


def test_a_successful_login_resets_the_count(client: Client, curator: User) -> None:
    for _ in range(5):
        attempt(client, "/accounts/login/", "wrong")
    assert attempt(client, "/accounts/login/", PASSWORD) == 302
    client.logout()
    assert [attempt(client, "/accounts/login/", "wrong") for _ in range(5)] == [200] * 5
    assert attempt(client, "/accounts/login/", PASSWORD) == 302


def test_the_documented_reset_lifts_the_lock(client: Client, curator: User) -> None:
    for _ in range(6):
        attempt(client, "/accounts/login/", "wrong")
    assert attempt(client, "/accounts/login/", PASSWORD) == 429
    call_command("axes_reset_username", "curator")
    assert attempt(client, "/accounts/login/", PASSWORD) == 302
