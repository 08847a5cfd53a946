"""The curators' pages: who may reach them, the queue grouped by document with its
evidence highlighted, and each decision through the web (with and without htmx)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from governance.extract.candidates import write_candidates
from governance.extract.types import CountryFound, Extraction, Mention, PersonFound, QuoteFound
from governance.models import Candidate, Decision, Document, Person, Source
from governance.roles import ADMIN_GROUP, CURATOR_GROUP
from tests import factories

pytestmark = pytest.mark.django_db

TEXT = "Chinese Premier Li Qiang said: “AI should be a common good.” Washington disagreed."


def extraction() -> Extraction:
    quote = "AI should be a common good."
    start = TEXT.index(quote)
    return Extraction(
        countries=[
            CountryFound("CN", [Mention("Chinese", 0, 7, "demonym")]),
            CountryFound("US", [Mention("Washington", 61, 71, "capital")]),
        ],
        people=[PersonFound("Li Qiang", "Premier", "China", [Mention("Li Qiang", 16, 24)])],
        quotes=[QuoteFound("Li Qiang", quote, start, start + len(quote))],
    )


@pytest.fixture
def document() -> Document:
    document = factories.DocumentFactory(text=TEXT, title="Premier on AI")
    write_candidates(document, extraction())
    return document


def user_in(group: str | None, name: str) -> User:
    user = User.objects.create_user(name, password="pw-12345678")
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def curator_client(client: Client) -> Client:
    client.force_login(user_in(CURATOR_GROUP, "cora"))
    return client


def staff_urls(candidate_id: int) -> list[tuple[str, str]]:
    """(method, url) of every staff page; POSTs change state."""
    return [
        ("get", reverse("governance:review_queue")),
        ("get", reverse("governance:review_health")),
        ("get", reverse("governance:review_edit", args=[candidate_id])),
        ("get", reverse("governance:review_link", args=[candidate_id])),
        ("post", reverse("governance:review_accept", args=[candidate_id])),
        ("post", reverse("governance:review_reject", args=[candidate_id])),
        ("post", reverse("governance:review_undo")),
        ("post", reverse("governance:review_bulk")),
        ("get", reverse("governance:review_merges")),
    ]


def test_anonymous_visitors_are_sent_to_log_in(client: Client, document: Document) -> None:
    candidate = Candidate.objects.first()
    for method, url in staff_urls(candidate.pk):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "login" in response["Location"], url
    assert Candidate.objects.filter(status="pending").count() == 4


def test_analysts_without_a_role_get_403(client: Client, document: Document) -> None:
    client.force_login(user_in(None, "ana"))
    candidate = Candidate.objects.first()
    for method, url in staff_urls(candidate.pk):
        assert getattr(client, method)(url).status_code == 403, url
    assert not Decision.objects.exists()


def test_curators_review_but_only_admins_merge(client: Client, document: Document) -> None:
    candidate = Candidate.objects.first()
    client.force_login(user_in(CURATOR_GROUP, "cora"))
    assert client.get(reverse("governance:review_queue")).status_code == 200
    assert client.get(reverse("governance:review_merges")).status_code == 403
    client.force_login(user_in(ADMIN_GROUP, "adam"))
    assert client.get(reverse("governance:review_merges")).status_code == 200
    assert client.get(reverse("governance:review_edit", args=[candidate.pk])).status_code == 200


def test_state_changes_need_post_and_csrf(document: Document) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_in(CURATOR_GROUP, "cora"))
    candidate = Candidate.objects.get(kind="person")
    url = reverse("governance:review_accept", args=[candidate.pk])
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 403  # no CSRF token
    candidate.refresh_from_db()
    assert candidate.status == "pending"


def test_queue_groups_candidates_by_document_with_spans(
    curator_client: Client, document: Document
) -> None:
    page = curator_client.get(reverse("governance:review_queue")).content.decode()
    assert "Premier on AI" in page and "4 candidates in 1 document" in page
    for candidate in Candidate.objects.all():
        assert f'id="cand-{candidate.pk}"' in page
        assert f'id="span-c{candidate.pk}"' in page  # the evidence anchor in the text
    marked = re.findall(r"<mark [^>]*>([^<]*)</mark>", page)
    assert "Li Qiang" in marked and "Washington" in marked
    partial = curator_client.get(
        reverse("governance:review_queue"),
        {"kind": "quote"},
        headers={"HX-Request": "true", "HX-Target": "queue"},
    ).content.decode()
    assert "<html" not in partial and "1 candidate in 1 document" in partial


def test_accept_with_htmx_swaps_the_row(curator_client: Client, document: Document) -> None:
    candidate = Candidate.objects.get(kind="person")
    response = curator_client.post(
        reverse("governance:review_accept", args=[candidate.pk]),
        headers={"HX-Request": "true", "HX-Target": f"cand-{candidate.pk}"},
    )
    assert response.status_code == 200
    row = response.content.decode()
    assert row.lstrip().startswith("<tr") or row.lstrip().startswith("<tr") or "<tr" in row[:200]
    assert "Accepted" in row and "<html" not in row
    candidate.refresh_from_db()
    assert candidate.status == "accepted" and Person.objects.filter(name="Li Qiang").exists()
    again = curator_client.post(
        reverse("governance:review_accept", args=[candidate.pk]),
        headers={"HX-Request": "true", "HX-Target": f"cand-{candidate.pk}"},
    )
    assert again.status_code == 409 and "cora" in again.content.decode()


def test_reject_needs_a_reason_and_undo_reopens(curator_client: Client, document: Document) -> None:
    candidate = Candidate.objects.get(kind="country", payload__code="US")
    url = reverse("governance:review_reject", args=[candidate.pk])
    response = curator_client.post(url, {"reason": "  "}, follow=True)
    candidate.refresh_from_db()
    assert candidate.status == "pending" and response.status_code == 200
    curator_client.post(url, {"reason": "Washington the state"})
    candidate.refresh_from_db()
    assert candidate.status == "rejected" and candidate.decision_note == "Washington the state"
    curator_client.post(reverse("governance:review_undo"))
    candidate.refresh_from_db()
    assert candidate.status == "pending"


def test_bulk_accept_skips_what_is_decided(curator_client: Client, document: Document) -> None:
    countries = list(Candidate.objects.filter(kind="country"))
    curator_client.post(
        reverse("governance:review_reject", args=[countries[0].pk]), {"reason": "duplicate"}
    )
    response = curator_client.post(
        reverse("governance:review_bulk"),
        {"ids": [c.pk for c in countries], "action": "accept"},
        follow=True,
    )
    page = response.content.decode()
    assert "Accepted 1." in page and "skipped" in page
    assert Candidate.objects.get(pk=countries[1].pk).status == "accepted"
    assert Candidate.objects.get(pk=countries[0].pk).status == "rejected"


def test_queue_health_counts(curator_client: Client, document: Document) -> None:
    candidate = Candidate.objects.get(kind="person")
    curator_client.post(reverse("governance:review_accept", args=[candidate.pk]))
    page = curator_client.get(reverse("governance:review_health")).content.decode()
    assert "Pending: 3" in page
    assert "cora" in page
    assert candidate.extractor in page


def test_a_curator_logs_in_without_an_admin_account(client: Client, document: Document) -> None:
    user_in(CURATOR_GROUP, "cora")
    page = client.get(reverse("governance:review_queue"), follow=True)
    assert "/accounts/login/" in page.redirect_chain[-1][0]
    response = client.post(
        "/accounts/login/?next=/review/",
        {"username": "cora", "password": "pw-12345678", "next": "/review/"},
        follow=True,
    )
    assert response.status_code == 200 and "Review queue" in response.content.decode()
    assert "Log out cora" in response.content.decode()
    bad = Client().post("/accounts/login/", {"username": "cora", "password": "nope"})
    assert "do not match" in bad.content.decode()


def test_manual_entry_adds_a_source_for_ingestion(curator_client: Client) -> None:
    url = reverse("governance:review_new_source")
    page = curator_client.post(url, {"title": "Both", "url": "https://a.example/x", "text": "t"})
    assert "either an address or the text" in page.content.decode()
    page = curator_client.post(url, {"title": "Local file", "url": "file:///etc/passwd"})
    assert "Only http:// and https://" in page.content.decode()
    assert not Source.objects.exists()
    response = curator_client.post(url, {"title": "Pasted note", "text": TEXT})
    source = Source.objects.get(name="Pasted note")
    assert source.kind == "manual" and source.manual_text == TEXT
    assert source.enqueued_at is not None  # handed to the ingestion jobs at once
    assert response["Location"].endswith(f"/review/?source={source.pk}")


def test_a_fact_added_by_hand_keeps_its_evidence(
    curator_client: Client, document: Document
) -> None:
    url = reverse("governance:review_add_fact", args=[document.pk])
    form = curator_client.get(url, {"fact_kind": "person"}).content.decode()
    assert 'name="payload-name"' in form
    person = {"fact_kind": "person", "fields_kind": "person"}
    missing = curator_client.post(url, {**person, "evidence": "Premier Xi", "payload-name": "Xi"})
    assert "not in the document" in missing.content.decode()
    assert not Person.objects.filter(name="Xi").exists()
    response = curator_client.post(
        url, {**person, "evidence": "Li Qiang", "payload-name": "Li Qiang"}
    )
    assert response.status_code == 302
    person = Person.objects.get(name="Li Qiang")
    evidence = person.evidence.get()
    assert document.text[evidence.start : evidence.end] == "Li Qiang"
    hand = Candidate.objects.get(extractor="manual-entry")
    assert hand.status == "accepted" and hand.decided_by.username == "cora"


def test_history_names_the_candidate_and_an_earlier_version_can_be_restored(
    client: Client, document: Document
) -> None:
    """Staff curators see each record's history in the admin: who, when, what changed,
    from which candidate; and can restore an earlier version."""
    curator = user_in(CURATOR_GROUP, "cora")
    curator.is_staff = True
    curator.save()
    client.force_login(curator)
    candidate = Candidate.objects.get(kind="person")
    client.post(reverse("governance:review_accept", args=[candidate.pk]))
    person = Person.objects.get(name="Li Qiang")
    person.description = "Vandalised"
    person._change_reason = "bad edit"
    person.save()
    history_url = reverse("admin:governance_person_history", args=[person.pk])
    page = client.get(history_url).content.decode()
    assert f"candidate {candidate.pk}" in page and "cora" in page and "bad edit" in page
    first = person.history.earliest()
    revert = reverse("admin:governance_person_simple_history", args=[person.pk, first.history_id])
    assert client.get(revert).status_code == 200
    client.post(
        revert,
        {
            "name": first.name,
            "slug": first.slug,
            "description": first.description,
            "aliases": ",".join(first.aliases),
            "_change_reason": "restore",
        },
    )
    person.refresh_from_db()
    assert person.description == first.description != "Vandalised"


def test_an_admin_merges_a_duplicate_person_from_the_suggestions(client: Client) -> None:
    keep = Person.objects.create(name="Kao Kim Hourn")
    duplicate = Person.objects.create(name="Dr. Kao Kim Hourn")
    factories.StatementFactory(speaker=duplicate, text="ASEAN welcomes cooperation.")
    client.force_login(user_in(ADMIN_GROUP, "adam"))
    page = client.get(reverse("governance:review_merges")).content.decode()
    assert "Dr. Kao Kim Hourn" in page and "same name after normalization" in page
    url = reverse("governance:review_merge", args=["person", keep.pk, duplicate.pk])
    confirm = client.get(url).content.decode()
    assert "statements (speaker): 1" in confirm
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == keep.get_absolute_url()
    duplicate.refresh_from_db()
    assert (
        duplicate.merged_into == keep
        and "Dr. Kao Kim Hourn" in Person.objects.get(pk=keep.pk).aliases
    )
    assert keep.statements.count() == 1
    old = client.get(f"/people/{duplicate.slug}/")
    assert old.status_code == 301 and old["Location"] == keep.get_absolute_url()


def _matched_candidates(document: Document, records: list[object]) -> None:
    """Pending candidates of `document` that match curated `records`, one each."""
    from django.contrib.contenttypes.models import ContentType

    Candidate.objects.bulk_create(
        Candidate(
            document=document,
            kind=Candidate.Kind.PERSON,
            payload={"name": str(record)},
            start=i,
            end=i + 1,
            excerpt=document.text[i : i + 1],
            confidence=0.5,
            extractor="test",
            record_type=ContentType.objects.get_for_model(record),
            record_id=str(record.pk),
        )
        for i, record in enumerate(records)
    )


def test_queue_query_count_does_not_grow_with_candidates(curator_client: Client) -> None:
    """A row shows the record its candidate matches, by name and link: a statement's
    speaker, a role's person and place, a participation's participant and subject.
    Three times the rows per document must not cost one query more."""
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from governance.models import ActionPlanItem, EventFigure, Participation, Role, Statement

    call_command("seed", verbosity=0)
    kinds = [Statement, Role, Participation, ActionPlanItem, EventFigure, Person]
    records = [r for model in kinds for r in model.objects.order_by("pk")[:3]]
    assert {type(r) for r in records} == set(kinds), {type(r) for r in records}
    documents = [factories.DocumentFactory(text=f"{i} " + "x" * 200) for i in range(3)]

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = curator_client.get(reverse("governance:review_queue"))
        assert response.status_code == 200
        return len(ctx.captured_queries)

    for document in documents:
        _matched_candidates(document, records[::3])  # one record of each kind
    curator_client.get(reverse("governance:review_queue"))  # sessions, content types
    few = queries()
    Candidate.objects.all().delete()
    for document in documents:
        _matched_candidates(document, records)
    many = queries()
    assert many == few
    # 3 of the analyst-query middleware, session, user, 2 permission sets, 2 counts, the
    # documents, the candidates, one per kind of record matched (6 here), the pending
    # counts and the source filter's menu.
    assert few <= 13 + len(kinds)
