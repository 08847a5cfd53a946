"""Security headers on every kind of response (issue #8, scenario 12): pages, htmx
partials, the admin, errors, the API, feeds, calendars and exports all carry the
Content Security Policy and the hardening headers."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Target": "browser"}


@pytest.fixture
def clients() -> dict[str, Client]:
    analyst, staff = Client(), Client()
    analyst.force_login(User.objects.create_user("ana", password="pw-123456789"))
    staff.force_login(User.objects.create_superuser("root", "r@example.org", "pw-123456789"))
    return {"anonymous": Client(), "analyst": analyst, "staff": staff}


RESPONSES: list[tuple[str, str, dict[str, Any], int]] = [
    ("anonymous", "/", {}, 200),
    ("anonymous", "/statements/?country=cn", HTMX, 200),
    ("anonymous", "/statements/?country=cn&format=csv", {}, 200),
    ("anonymous", "/statements/feed/", {}, 200),
    ("anonymous", "/events/calendar.ics?all=1", {}, 200),
    ("anonymous", "/api/statements", {}, 200),
    ("anonymous", "/api/docs", {}, 200),
    ("anonymous", "/api/no-such-thing", {}, 404),
    ("anonymous", "/no-such-page/", {}, 404),
    ("anonymous", "/accounts/login/", {}, 200),
    ("anonymous", "/admin/login/", {}, 200),
    ("analyst", "/review/", {}, 403),
    ("analyst", "/accounts/logout/", {}, 405),
    ("staff", "/admin/", {}, 200),
    ("staff", "/admin/governance/proposal/", {}, 200),
]


@pytest.mark.parametrize(("who", "url", "headers", "status"), RESPONSES)
def test_every_kind_of_response_carries_the_policy(
    clients: dict[str, Client], who: str, url: str, headers: dict[str, Any], status: int
) -> None:
    response = clients[who].get(url, headers=headers)
    assert response.status_code == status
    policy = response.get("Content-Security-Policy", "")
    assert "default-src 'self'" in policy and "object-src 'none'" in policy, policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_csrf_failure_page_carries_the_policy_and_no_inline_style() -> None:
    """Django's built-in CSRF failure page has an inline <style> the policy blocks; the
    project's 403_csrf.html replaces it (the browser crawl found it)."""
    response = Client(enforce_csrf_checks=True).post("/accounts/logout/")
    assert response.status_code == 403
    assert "default-src 'self'" in response["Content-Security-Policy"]
    body = response.content.decode()
    assert "Form not accepted" in body
    assert "<style" not in body and " style=" not in body


def test_admin_history_page_has_no_inline_style(clients: dict[str, Client]) -> None:
    """django-simple-history's list template styled its paginator inline; the project's
    copy does not (the browser crawl found it on every history page)."""
    from tests.factories import ProposalFactory

    proposal = ProposalFactory()
    response = clients["staff"].get(f"/admin/governance/proposal/{proposal.pk}/history/")
    assert response.status_code == 200
    assert 'id="change-history"' in response.content.decode()
    assert " style=" not in response.content.decode()
