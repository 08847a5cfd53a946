"""Authorization crawl (issue #8, scenario 14): every URL name, as every kind of visitor.

Every named URL of the site (the admin's aside: Django's own permission checks) is
classified below by who may read it and whether it changes state. A URL added without
a class fails `test_every_url_name_is_classified`, so nothing new escapes the crawl.
Each is then requested as anonymous, an analyst (a plain account), a curator and an
administrator; state-changing URLs are also POSTed without a CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from governance.accounts import make_token as make_signup_token
from governance.alerts.models import Follow
from governance.alerts.tokens import make_token
from governance.models import Candidate, Decision, Document, Person, Proposal, Statement
from governance.roles import ADMIN_GROUP, CURATOR_GROUP
from governance.seed import load_seed
from tests import factories
from tests.api.conftest import clear_throttle

pytestmark = pytest.mark.django_db

PUBLIC = "public"  # anyone reads it
SIGNED_IN = "signed in"  # any account; anonymous is sent to log in
CURATOR = "curator"  # curators and administrators; analysts get 403
ADMIN = "admin"  # administrators only
POST_ONLY = "post only"  # changes state: GET changes nothing, POST needs CSRF

ROLES = ("anonymous", "analyst", "curator", "admin")

# URL name -> its class. Reading rules come from the views; see governance/roles.py.
CLASSES: dict[str, str] = {
    **dict.fromkeys(
        [
            "login",
            "password_reset",
            "password_reset_done",
            "password_reset_confirm",
            "password_reset_complete",
            "signup",
            "signup_confirm",
            "api_index",
            "api:openapi-json",
            "api:openapi-view",
            "api:api-root",
            *(
                f"api:{name}"
                for name in [
                    "list_proposals",
                    "get_proposal",
                    "list_countries",
                    "get_country",
                    "list_people",
                    "get_person",
                    "list_organizations",
                    "get_organization",
                    "list_statements",
                    "get_statement",
                    "list_participation",
                    "list_events",
                    "get_event",
                    "list_documents",
                    "get_document",
                ]
            ),
            *(
                f"governance:{name}"
                for name in [
                    "dashboard",
                    "search",
                    "compare",
                    "statement_list",
                    "statement_feed",
                    "proposal_list",
                    "country_list",
                    "participation_list",
                    "document_list",
                    "event_list",
                    "event_calendar",
                    "downloads",
                    "dump_download",
                    "person_list",
                    "organization_list",
                    "proposal_detail",
                    "proposal_feed",
                    "country_detail",
                    "country_feed",
                    "person_detail",
                    "person_feed",
                    "organization_detail",
                    "event_detail",
                    "event_ics",
                    "statement_detail",
                    "document_detail",
                    "unsubscribe",
                ]
            ),
        ],
        PUBLIC,
    ),
    **dict.fromkeys(
        ["password_change", "password_change_done", "account_home", "governance:following"],
        SIGNED_IN,
    ),
    **dict.fromkeys(
        [
            "governance:review_queue",
            "governance:review_health",
            "governance:review_new_source",
            "governance:review_add_fact",
            "governance:review_edit",
            "governance:review_link",
        ],
        CURATOR,
    ),
    **dict.fromkeys(["governance:review_merges", "governance:review_merge"], ADMIN),
    **dict.fromkeys(
        [
            "logout",
            "governance:follow",
            "governance:unfollow",
            "governance:follow_frequency",
            "governance:review_undo",
            "governance:review_bulk",
            "governance:review_accept",
            "governance:review_reject",
        ],
        POST_ONLY,
    ),
}
# Where a public URL answers something other than 200 on purpose.
PUBLIC_STATUS = {
    "governance:dump_download": 404,  # no dump of that name exists
    "api:api-root": 200,
}


def url_names() -> set[str]:
    """Every named URL outside the admin, with its namespace."""
    names: set[str] = set()

    def walk(patterns: list[Any], namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    continue
                inner = pattern.namespace or ""
                walk(
                    pattern.url_patterns, f"{namespace}:{inner}".strip(":") if inner else namespace
                )
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)

    walk(get_resolver().url_patterns, "")
    return names


def user(name: str, group: str | None = None) -> User:
    account = User.objects.create_user(name, f"{name}@example.org", "pw-123456789")
    if group:
        account.groups.add(Group.objects.get(name=group))
    return account


@pytest.fixture
def site(settings: Any) -> Iterator[dict[str, Any]]:
    """The seed, one pending candidate, a follow and two people to merge; the clients.
    The API's rate limit is lifted: the crawl is about who may read, not how often."""
    settings.API_RATE_LIMIT = "100000/min"
    clear_throttle()
    load_seed()
    analyst, curator, admin = user("ana"), user("cora", CURATOR_GROUP), user("ada", ADMIN_GROUP)
    proposal = Proposal.objects.first()
    document = Document.objects.first()
    candidate = Candidate.objects.filter(status=Candidate.Status.PENDING).first()
    if candidate is None:
        candidate = Candidate.objects.create(
            document=document,
            kind="person",
            payload={"name": "Li Qiang"},
            start=0,
            end=5,
            excerpt=document.text[:5],
            confidence=0.5,
            extractor="crawl",
        )
    follow = Follow.objects.create(user=analyst, proposal=proposal)
    survivor, loser = (
        factories.PersonFactory(name="Ann Lee"),
        factories.PersonFactory(name="Anne Lee"),
    )
    clients = {"anonymous": Client()}
    for role, account in (("analyst", analyst), ("curator", curator), ("admin", admin)):
        clients[role] = Client()
        clients[role].force_login(account)
    kwargs = {
        "proposal": {"slug": proposal.slug},
        "person": {"slug": Person.objects.filter(merged_into__isnull=True).first().slug},
        "statement": {"pk": Statement.objects.first().pk},
        "document": {"pk": document.pk},
        "candidate": {"pk": candidate.pk},
        "follow": {"pk": follow.pk},
    }
    yield {"clients": clients, "kwargs": kwargs, "token": make_token(analyst.pk, follow.pk),
            "merge": {"model": "person", "survivor": survivor.pk, "loser": loser.pk},
            "candidate": candidate, "follow": follow}  # fmt: skip
    clear_throttle()


def url_of(name: str, site: dict[str, Any]) -> str:
    """The URL of `name` with real arguments from the site's data."""
    from governance.models import Event, Organization

    short = name.split(":")[-1]
    k = site["kwargs"]
    args: dict[str, Callable[[], dict[str, Any]]] = {
        "password_reset_confirm": lambda: {"uidb64": "MQ", "token": "set-password"},
        "signup_confirm": lambda: {"token": make_signup_token("newcomer@example.org")},
        "get_proposal": lambda: {"slug": k["proposal"]["slug"]},
        "get_country": lambda: {"code": "CN"},
        "get_person": lambda: k["person"],
        "get_organization": lambda: {"slug": Organization.objects.first().slug},
        "get_statement": lambda: {"id": k["statement"]["pk"]},
        "get_event": lambda: {"slug": Event.objects.first().slug},
        "get_document": lambda: {"id": k["document"]["pk"]},
        "dump_download": lambda: {"name": "waic-dataset-20260101T000000Z.zip"},
        "proposal_detail": lambda: k["proposal"],
        "proposal_feed": lambda: k["proposal"],
        "country_detail": lambda: {"code": "cn"},
        "country_feed": lambda: {"code": "cn"},
        "person_detail": lambda: k["person"],
        "person_feed": lambda: k["person"],
        "organization_detail": lambda: {"slug": Organization.objects.first().slug},
        "event_detail": lambda: {"slug": Event.objects.first().slug},
        "event_ics": lambda: {"slug": Event.objects.first().slug},
        "statement_detail": lambda: k["statement"],
        "document_detail": lambda: k["document"],
        "unsubscribe": lambda: {"token": site["token"]},
        "follow_frequency": lambda: k["follow"],
        "review_accept": lambda: k["candidate"],
        "review_reject": lambda: k["candidate"],
        "review_edit": lambda: k["candidate"],
        "review_link": lambda: k["candidate"],
        "review_add_fact": lambda: k["document"],
        "review_merge": lambda: site["merge"],
    }
    return reverse(name, kwargs=args[short]() if short in args else None)


def test_every_url_name_is_classified() -> None:
    assert url_names() - set(CLASSES) == set(), "classify these URLs in CLASSES"
    assert set(CLASSES) - url_names() == set(), "these URLs no longer exist"


def expected(kind: str, role: str, name: str) -> set[int]:
    """The statuses a GET may answer for this class and role."""
    if name in ("signup", "signup_confirm") and role != "anonymous":
        return {302}  # an account holder is sent on, not offered a second account
    if kind == PUBLIC:
        return {PUBLIC_STATUS.get(name, 200)}
    if kind == POST_ONLY:
        # Never 200: anonymous is sent to log in (logout refuses GET outright); a role
        # without the permission gets 403 before the method is even looked at.
        return {302, 405} if role == "anonymous" else {403, 405}
    if role == "anonymous":
        return {302}  # to the login page
    if kind == SIGNED_IN:
        return {200, 302}  # account_home sends each role on to its page
    if kind == CURATOR:
        return {403} if role == "analyst" else {200}
    if kind == ADMIN:
        return {200} if role == "admin" else {403}
    raise AssertionError(kind)


@pytest.mark.parametrize("role", ROLES)
def test_every_url_answers_each_role_as_its_class_says(site: dict[str, Any], role: str) -> None:
    client = site["clients"][role]
    wrong = []
    for name, kind in sorted(CLASSES.items()):
        url = url_of(name, site)
        response = client.get(url)
        if response.status_code not in expected(kind, role, name):
            wrong.append(
                f"{name} {url}: {response.status_code}, expected {expected(kind, role, name)}"
            )
        if response.status_code == 302 and role == "anonymous" and kind != PUBLIC:
            assert response["Location"].startswith(reverse("login")), (name, response["Location"])
    assert not wrong, "\n".join(wrong)
    # A GET changed nothing.
    site["candidate"].refresh_from_db()
    assert site["candidate"].status == Candidate.Status.PENDING
    assert Follow.objects.filter(pk=site["follow"].pk).exists()
    assert not Decision.objects.exists()


def test_no_state_change_without_a_csrf_token(site: dict[str, Any]) -> None:
    """Every state-changing URL refuses a POST without the token, even from an admin."""
    admin = Client(enforce_csrf_checks=True)
    admin.force_login(User.objects.get(username="ada"))
    changing = [n for n, kind in CLASSES.items() if kind == POST_ONLY]
    changing += ["governance:review_new_source", "governance:review_add_fact",
                 "governance:review_edit", "governance:review_link", "governance:review_merge",
                 "signup", "signup_confirm", "login", "password_change"]  # fmt: skip
    for name in changing:
        response = admin.post(url_of(name, site), {"follow": site["follow"].pk})
        assert response.status_code == 403, (name, response.status_code)
    site["candidate"].refresh_from_db()
    assert site["candidate"].status == Candidate.Status.PENDING
    assert Follow.objects.filter(pk=site["follow"].pk).exists()
    assert Person.objects.filter(name="Anne Lee", merged_into__isnull=True).exists()


def test_the_admin_is_closed_to_everyone_but_staff(site: dict[str, Any]) -> None:
    """The admin's own checks: every admin URL sends a non-staff account to log in."""
    from django.contrib import admin

    urls = [reverse("admin:index")] + [
        reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist")
        for m in admin.site._registry
    ]
    for role in ("anonymous", "analyst", "curator"):
        for url in urls:
            response = site["clients"][role].get(url)
            assert response.status_code == 302, (role, url, response.status_code)
            assert response["Location"].startswith(reverse("admin:login")), (role, url)
    staff = User.objects.create_superuser("root", "root@example.org", "pw-123456789")
    client = Client()
    client.force_login(staff)
    assert all(client.get(url).status_code == 200 for url in urls)
