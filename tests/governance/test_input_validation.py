"""No 500 for any input (issue #25): each input an outside test found to break a page,
pinned. A bad value answers a clear 400 or is ignored, and nothing is stored for it.
tests/test_fuzz_urls.py fuzzes every URL for the cases nobody has thought of yet."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from governance.alerts.models import Follow
from governance.models import Candidate, Decision, Document, EventFigure
from governance.roles import CURATOR_GROUP
from governance.validation import MAX_BIGINT, ascii_int
from tests import factories

pytestmark = pytest.mark.django_db

NUL = "\x00"
SUPERSCRIPT_TWO = "²"  # str.isdigit() says yes, int() says no
ARABIC_THREE = "٣"  # int() reads it as 3


def test_ascii_int_reads_only_ascii_digits_within_bounds() -> None:
    assert ascii_int("42") == 42
    assert ascii_int(" 7 ") == 7
    for bad in (SUPERSCRIPT_TWO, ARABIC_THREE, "", "4\x002", "1_000", "+1", "-1", "0x10", "1.0"):
        assert ascii_int(bad) is None, bad
    assert ascii_int(str(MAX_BIGINT)) == MAX_BIGINT
    assert ascii_int(str(MAX_BIGINT + 1)) is None
    assert ascii_int("9" * 5000) is None  # refused before int() is asked to read it
    assert ascii_int("5", maximum=4) is None


@pytest.mark.parametrize(
    "url",
    [
        "/statements/?year=²",
        "/statements/?year=٣",
        "/statements/feed/?year=²",
    ],
)
def test_a_year_in_other_digits_is_ignored(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, url


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_export_says_why_it_refuses_such_a_year(client: Client, fmt: str) -> None:
    # An export refuses a filter it cannot read rather than widen to every row.
    response = client.get("/statements/", {"year": SUPERSCRIPT_TWO, "format": fmt})
    assert response.status_code == 400
    assert b"year: A year is four digits" in response.content


@pytest.mark.parametrize(
    "path", ["/countries/", "/people/", "/organizations/", "/search/", "/compare/", "/statements/"]
)
def test_a_nul_in_the_query_string_is_a_clear_400(client: Client, path: str) -> None:
    for params in ({"q": f"a{NUL}b"}, {"countries": f"c{NUL}n"}, {f"q{NUL}": "x"}):
        response = client.get(path, params)
        assert response.status_code == 400, (path, params)
        assert b"NUL" in response.content


def test_a_nul_in_the_path_is_a_clear_400(client: Client) -> None:
    response = client.get("/people/li%00qiang/")
    assert response.status_code == 400
    assert b"NUL" in response.content


def test_the_400_for_a_nul_is_not_a_debug_page(client: Client, settings: object) -> None:
    settings.DEBUG = True  # type: ignore[attr-defined]
    response = client.get("/countries/", {"q": NUL})
    assert response.status_code == 400
    assert b"Traceback" not in response.content and b"technical" not in response.content


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_an_overlong_login_username_is_refused_as_a_wrong_login(client: Client, url: str) -> None:
    response = client.post(url, {"username": "u" * 300, "password": "whatever-123"})
    assert response.status_code == 200  # the form again, with its error
    assert b"do not match an account" in response.content or b"correct username" in response.content


@pytest.fixture
def analyst() -> User:
    return User.objects.create_user("ana", "ana@example.org", "pw-123456789")


@pytest.fixture
def curator_client() -> Client:
    user = User.objects.create_user("cora", "cora@example.org", "pw-123456789")
    user.groups.add(Group.objects.get(name=CURATOR_GROUP))
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "data",
    [
        {"proposal": f"a{NUL}"},
        {"person": SUPERSCRIPT_TWO},
        {"country": SUPERSCRIPT_TWO},
        {"search": f"year={SUPERSCRIPT_TWO}"},
        {"search": "year=٣"},
        {"search": f"q={NUL}"},
        {"follow": SUPERSCRIPT_TWO},
        {"follow": ARABIC_THREE},
        {"follow": str(2**70)},
    ],
)
@pytest.mark.parametrize("action", ["follow", "unfollow"])
def test_follow_and_unfollow_refuse_bad_values(
    client: Client, analyst: User, data: dict[str, str], action: str
) -> None:
    client.force_login(analyst)
    response = client.post(reverse(f"governance:{action}"), data)
    assert response.status_code in (400, 404), (action, data)
    assert not Follow.objects.exists()


def test_bulk_with_other_digits_selects_nothing(curator_client: Client) -> None:
    for ids in (SUPERSCRIPT_TWO, ARABIC_THREE, str(2**70)):
        response = curator_client.post(
            reverse("governance:review_bulk"), {"ids": ids, "action": "accept"}
        )
        assert response.status_code == 302
    assert not Decision.objects.exists()


def candidate(kind: str = "person", payload: dict[str, object] | None = None) -> Candidate:
    document = factories.DocumentFactory(text="The Summit drew 300 companies. Li Qiang spoke.")
    return Candidate.objects.create(
        document=document,
        kind=kind,
        payload=payload or {"name": "Li Qiang"},
        start=0,
        end=10,
        excerpt=document.text[:10],
        confidence=0.5,
        extractor="test",
    )


@pytest.mark.parametrize("record", ["²:1", "٣:1", "1:²", f"{2**70}:1", "1:" + "9" * 30, f"1:{NUL}"])
def test_link_to_a_malformed_record_asks_again(curator_client: Client, record: str) -> None:
    pending = candidate()
    response = curator_client.post(
        reverse("governance:review_link", args=[pending.pk]), {"record": record}
    )
    assert response.status_code in (200, 400)
    pending.refresh_from_db()
    assert pending.status == Candidate.Status.PENDING


def test_a_reject_reason_with_a_nul_is_refused(curator_client: Client) -> None:
    pending = candidate()
    response = curator_client.post(
        reverse("governance:review_reject", args=[pending.pk]), {"reason": f"dup{NUL}licate"}
    )
    assert response.status_code == 400
    pending.refresh_from_db()
    assert pending.status == Candidate.Status.PENDING


@pytest.mark.parametrize(
    ("kind", "payload", "field", "value"),
    [
        ("figure", {"event": "Summit", "label": "companies", "value": 300}, "value", 2**63),
        ("figure", {"event": "Summit", "label": "companies", "value": 300}, "value", 10**40),
        ("action_item", {"proposal": "Plan", "heading": "H", "position": 1}, "position", 40000),
    ],
)
def test_edit_and_accept_refuses_a_number_out_of_range(
    curator_client: Client, kind: str, payload: dict[str, object], field: str, value: int
) -> None:
    pending = candidate(kind, payload)
    factories.EventFactory(name="Summit")
    data = {**payload, field: str(value), "qualifier": "exact"}
    response = curator_client.post(reverse("governance:review_edit", args=[pending.pk]), data)
    assert response.status_code == 200  # the form again, with the field's error
    assert b"Ensure this value is less than or equal to" in response.content
    pending.refresh_from_db()
    assert pending.status == Candidate.Status.PENDING
    assert not EventFigure.objects.exists()


def test_a_document_of_a_huge_id_is_a_404(client: Client) -> None:
    assert client.get(f"/documents/{2**70}/").status_code == 404
    assert Document.objects.count() == 0


@pytest.mark.parametrize("back", ["²", "-1", "review_queue", "x" * 300])
def test_a_next_that_is_no_address_returns_to_the_queue(curator_client: Client, back: str) -> None:
    # redirect() took a bare word for a view's name: NoReverseMatch, a 500 (found by the fuzz).
    response = curator_client.post(reverse("governance:review_undo"), {"next": back})
    assert response.status_code == 302
    assert response["Location"] == reverse("governance:review_queue")


def test_merging_a_record_with_itself_says_why(client: Client) -> None:
    from governance.roles import ADMIN_GROUP

    admin = User.objects.create_user("ada", "ada@example.org", "pw-123456789")
    admin.groups.add(Group.objects.get(name=ADMIN_GROUP))
    client.force_login(admin)
    person = factories.PersonFactory(name="Ann Lee")
    url = reverse("governance:review_merge", args=["person", person.pk, person.pk])
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code == 400
        assert "cannot be merged into itself" in response.content.decode()


def test_an_empty_to_field_in_the_admin_is_a_400(client: Client) -> None:
    # Django's change and delete views looked up a field named "" (found by the fuzz).
    admin = User.objects.create_superuser("root", "root@example.org", "pw-123456789")
    client.force_login(admin)
    person = factories.PersonFactory()
    for action in ("change", "delete"):
        url = f"/admin/governance/person/{person.pk}/{action}/"
        assert client.get(url, {"_to_field": ""}).status_code == 400
        assert client.post(url, {"_to_field": ""}).status_code == 400
        assert client.get(url).status_code == 200


def test_a_control_character_in_a_feed_search_is_left_out(client: Client) -> None:
    # XML 1.0 cannot carry it: the feed could not be written (found by the fuzz).
    response = client.get("/statements/feed/", {"q": "safety\x01\x1f"})
    assert response.status_code == 200
    assert b"safety" in response.content and b"\x01" not in response.content


def test_an_admin_add_form_ignores_an_initial_value_that_names_no_record(client: Client) -> None:
    # The autocomplete widget looked "²:1" up as a primary key (found by the fuzz).
    admin = User.objects.create_superuser("root", "root@example.org", "pw-123456789")
    client.force_login(admin)
    for value in ("²:1", "9" * 5000, "1e309"):
        response = client.get("/admin/governance/participation/add/", {"proposal": value})
        assert response.status_code == 200
    assert client.get("/admin/governance/participation/add/", {"country": "CN"}).status_code == 200
