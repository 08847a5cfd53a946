""" "Add a fact by hand" from the review pages: every kind of fact a candidate can be,
posted as a curator, files an accepted candidate, a decision and the curated record
with its evidence; bad input is refused with everything typed kept and nothing stored."""

from __future__ import annotations

import datetime
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.test import Client
from django.urls import reverse

from governance import review
from governance.models import (
    ActionPlanItem,
    Candidate,
    Country,
    Decision,
    Document,
    Event,
    EventFigure,
    Evidence,
    Organization,
    Participation,
    Person,
    Proposal,
    Role,
    Statement,
)
from governance.roles import CURATOR_GROUP
from tests import factories

pytestmark = pytest.mark.django_db

EVENT = "World Artificial Intelligence Conference"
PLAN = "Global AI Governance Action Plan"
TEXT = (
    f"The {EVENT} opened in Shanghai on 26 July 2025. "
    "Premier Li Qiang said: “AI should be a common good.” "
    "China proposed a World AI Cooperation Organization, to be based in Shanghai. "
    f"The {PLAN} lists thirteen points; the first is to seize the opportunities of AI. "
    "UNESCO sent a delegation. More than 800 companies exhibited."
)


@pytest.fixture
def document() -> Document:
    return factories.DocumentFactory(text=TEXT, title="WAIC opens")


@pytest.fixture
def curator() -> User:
    user = User.objects.create_user("cora", password="pw-12345678")
    user.groups.add(Group.objects.get(name=CURATOR_GROUP))
    return user


@pytest.fixture
def curator_client(client: Client, curator: User) -> Client:
    client.force_login(curator)
    return client


def add_url(document: Document) -> str:
    return reverse("governance:review_add_fact", args=[document.pk])


def form_data(kind: str, evidence: str, fields: dict[str, Any], **extra: str) -> dict[str, Any]:
    """What the page posts on Add: the kind, the kind its fields were shown for, the
    evidence, and the fields under their prefix."""
    data = {"fact_kind": kind, "fields_kind": kind, "evidence": evidence}
    data.update({f"payload-{key}": value for key, value in fields.items()})
    data.update(extra)
    return data


@dataclass
class Case:
    kind: str
    evidence: str
    fields: dict[str, Any]
    model: type[models.Model]
    check: Callable[[Any], None]
    setup: Callable[[], None] = field(default=lambda: None)


def event() -> None:
    Event.objects.create(name=EVENT, city="Shanghai")


def plan() -> None:
    Proposal.objects.create(title=PLAN, kind=Proposal.Kind.ACTION_PLAN)


def check_person(person: Person) -> None:
    assert person.name == "Li Qiang"
    role = Role.objects.get(person=person)
    assert (role.title, role.country.code) == ("Premier", "CN")


def check_quote(statement: Statement) -> None:
    assert statement.speaker.name == "Li Qiang"
    assert (statement.kind, statement.text) == ("direct_quote", "AI should be a common good.")
    assert statement.said_on == datetime.date(2025, 7, 26)


def check_proposal(proposal: Proposal) -> None:
    assert (proposal.title, proposal.kind, proposal.status) == (
        "World AI Cooperation Organization",
        "international_body",
        "proposed",
    )
    assert proposal.proposed_headquarters == "Shanghai"
    # The proposer is recorded as taking part, and the summary is the evidence.
    part = Participation.objects.get(proposal=proposal)
    assert (part.country.code, part.role) == ("CN", "proposer")
    assert proposal.summary.startswith("China proposed")


CASES = [
    Case(
        "country",
        "Shanghai",
        {"code": "CN"},
        Country,
        lambda country: country.code == "CN" or pytest.fail(country.code),
    ),
    Case(
        "person",
        "Premier Li Qiang",
        {"name": "Li Qiang", "role": "Premier", "affiliation": "China"},
        Person,
        check_person,
    ),
    Case(
        "organization",
        "UNESCO",
        {"name": "UNESCO", "kind": "intergovernmental"},
        Organization,
        lambda org: (org.name, org.kind) == ("UNESCO", "intergovernmental") or pytest.fail(org),
    ),
    Case(
        "quote",
        "AI should be a common good.",
        {
            "speaker": "Li Qiang",
            "text": "AI should be a common good.",
            "kind": "direct_quote",
            "said_on": "2025-07-26",
        },
        Statement,
        check_quote,
    ),
    Case(
        "proposal",
        "China proposed a World AI Cooperation Organization, to be based in Shanghai.",
        {
            "title": "World AI Cooperation Organization",
            "kind": "international_body",
            "status": "proposed",
            "proposer": "China",
            "headquarters": "Shanghai",
        },
        Proposal,
        check_proposal,
    ),
    Case(
        "action_item",
        "seize the opportunities of AI",
        {"proposal": PLAN, "heading": "Seize the opportunities of AI", "position": "1"},
        ActionPlanItem,
        lambda item: (item.proposal.title, item.position) == (PLAN, 1) or pytest.fail(item),
        plan,
    ),
    Case(
        "participation",
        "UNESCO sent a delegation.",
        {
            "participant": "UNESCO",
            "participant_type": "organization",
            "role": "delegate",
            "subject": EVENT,
            "subject_type": "event",
        },
        Participation,
        lambda part: (
            (part.organization.name, part.event.name, part.role) == ("UNESCO", EVENT, "delegate")
            or pytest.fail(part)
        ),
        event,
    ),
    Case(
        "event",
        f"{EVENT} opened in Shanghai",
        {
            "name": EVENT,
            "short_name": "WAIC",
            "city": "Shanghai",
            "country": "CN",
            "start_date": "2025-07-26",
        },
        Event,
        lambda ev: (
            (ev.short_name, ev.country.code, ev.start_date)
            == ("WAIC", "CN", datetime.date(2025, 7, 26))
            or pytest.fail(ev)
        ),
    ),
    Case(
        "figure",
        "More than 800 companies exhibited.",
        {"event": EVENT, "label": "companies", "value": "800", "qualifier": "more_than"},
        EventFigure,
        lambda fig: (
            (fig.event.name, fig.label, fig.value, fig.qualifier)
            == (EVENT, "companies", 800, "more_than")
            or pytest.fail(fig)
        ),
        event,
    ),
]


def test_every_kind_a_candidate_can_be_has_a_case() -> None:
    assert {case.kind for case in CASES} == {k for k, _ in review.HAND_KINDS}
    assert {k for k, _ in review.HAND_KINDS} == set(Candidate.Kind.values) - {"date"}


@pytest.mark.parametrize("case", CASES, ids=[case.kind for case in CASES])
def test_a_fact_of_each_kind_added_by_hand(
    curator_client: Client, curator: User, document: Document, case: Case
) -> None:
    document.published_at = datetime.datetime(2025, 7, 26, 9, tzinfo=datetime.UTC)
    document.save()
    case.setup()
    url = add_url(document)
    form = curator_client.get(url, {"fact_kind": case.kind})
    assert form.status_code == 200
    page = form.content.decode()
    for key in case.fields:  # the form asks for every field posted here
        assert f'name="payload-{key}"' in page, key
    assert page.count('name="fact_kind"') == 1  # one kind parameter, never two

    response = curator_client.post(url, form_data(case.kind, case.evidence, case.fields))
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == document.get_absolute_url()

    hand = Candidate.objects.get(document=document)
    assert (hand.kind, hand.extractor, hand.status) == (case.kind, "manual-entry", "accepted")
    assert hand.decided_by == curator and hand.confidence == 1.0
    assert hand.excerpt == case.evidence
    assert document.text[hand.start : hand.end] == case.evidence
    assert set(Candidate.REQUIRED_PAYLOAD_KEYS[case.kind]) <= set(hand.payload)
    record = hand.record
    assert isinstance(record, case.model)
    case.check(record)
    decision = Decision.objects.get(candidate=hand)
    assert (decision.action, decision.user) == ("accept", curator)
    assert decision.undone_at is None
    evidence = Evidence.objects.get(
        content_type=ContentType.objects.get_for_model(case.model),
        object_id=str(record.pk),
        document=document,
        start=hand.start,
    )
    assert (evidence.end, evidence.excerpt) == (hand.end, case.evidence)
    created = {(e["model"], e["pk"]) for e in decision.effects[1:] if e.get("created")}
    made_here = (record._meta.label_lower, str(record.pk)) in created
    # Countries are reference data: found, never created. Every other record is new here
    # and its history names the candidate and the curator.
    assert made_here == (case.kind != "country")
    if made_here and hasattr(record, "history"):
        first = record.history.earliest()
        reason = f"candidate {hand.pk}"
        assert (first.history_change_reason, first.history_user) == (reason, curator)
    # Undo (the queue's "Undo my last decision") reverses it like any decision.
    review.undo(decision.pk, user=curator)
    hand.refresh_from_db()
    assert hand.status == "pending"
    assert case.model._default_manager.filter(pk=record.pk).exists() == (not made_here)


def test_a_missing_field_is_named_and_everything_typed_is_kept(
    curator_client: Client, document: Document
) -> None:
    event()
    evidence = "More than 800 companies exhibited."
    data = form_data("figure", evidence, {"event": EVENT, "label": "firms & co", "value": ""})
    response = curator_client.post(add_url(document), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "This field is required." in page
    assert html.escape(evidence) in page and 'value="firms &amp; co"' in page
    assert f'value="{EVENT}"' in page
    assert '<option value="figure" selected>' in page
    assert not Candidate.objects.exists() and not EventFigure.objects.exists()


def test_a_figure_too_large_to_store_is_a_form_error(
    curator_client: Client, document: Document
) -> None:
    event()
    fields = {"event": EVENT, "label": "companies", "value": str(2**63), "qualifier": "over"}
    response = curator_client.post(add_url(document), form_data("figure", "800 companies", fields))
    assert response.status_code == 200
    page = response.content.decode()
    assert "less than or equal to 9223372036854775807" in page
    assert f'value="{2**63}"' in page
    assert not Candidate.objects.exists() and not EventFigure.objects.exists()
    # The largest value the column holds is accepted.
    fields["value"] = str(2**63 - 1)
    response = curator_client.post(add_url(document), form_data("figure", "800 companies", fields))
    assert response.status_code == 302
    assert EventFigure.objects.get().value == 2**63 - 1


def test_a_nul_in_the_kind_is_refused_before_the_form(
    curator_client: Client, document: Document
) -> None:
    """A NUL anywhere in a form is the site-wide 400 (governance/validation.py)."""
    data = form_data("person", "Li Qiang", {"name": "Li Qiang"}, fact_kind="figure\x00")
    response = curator_client.post(add_url(document), data)
    assert response.status_code == 400
    assert not Candidate.objects.exists() and not Person.objects.exists()


@pytest.mark.parametrize("kind", ["bogus", "date", "", "²"])
def test_an_unknown_kind_is_a_400_that_keeps_the_input(
    curator_client: Client, document: Document, kind: str
) -> None:
    data = form_data("person", "Li Qiang", {"name": "Li Qiang"}, fact_kind=kind)
    response = curator_client.post(add_url(document), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose the kind of fact" in page or "not a kind of fact" in page
    assert 'value="Li Qiang"' in page and "\nLi Qiang</textarea>" in page
    assert not Candidate.objects.exists() and not Person.objects.exists()
    if kind:
        assert curator_client.get(add_url(document), {"fact_kind": kind}).status_code == 400


def test_words_not_in_the_document_are_refused(curator_client: Client, document: Document) -> None:
    data = form_data("person", "Premier Xi", {"name": "Xi", "role": "Premier"})
    response = curator_client.post(add_url(document), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "not in the document" in page and 'value="Premier"' in page
    assert not Person.objects.filter(name="Xi").exists() and not Candidate.objects.exists()


def test_a_refused_accept_stores_nothing(curator_client: Client, document: Document) -> None:
    """The figure's event is not curated: accept refuses it, and the candidate filed for
    it in the same transaction is gone too."""
    fields = {"event": "No Such Summit", "label": "companies", "value": "800", "qualifier": "over"}
    response = curator_client.post(add_url(document), form_data("figure", "800 companies", fields))
    assert response.status_code == 200
    assert "No curated event has this name." in response.content.decode()
    assert not Candidate.objects.exists() and not Decision.objects.exists()


def test_the_same_words_twice_as_the_same_kind_are_refused(
    curator_client: Client, document: Document
) -> None:
    data = form_data("organization", "UNESCO", {"name": "UNESCO", "kind": "intergovernmental"})
    assert curator_client.post(add_url(document), data).status_code == 302
    again = curator_client.post(add_url(document), data)
    assert "already added by hand" in again.content.decode()
    assert Candidate.objects.count() == 1 and Organization.objects.count() == 1


def test_changing_the_kind_without_javascript_shows_its_fields_and_keeps_the_input(
    curator_client: Client, document: Document
) -> None:
    """The select is posted with the person's fields: the figure's fields come back, the
    evidence and the fields both kinds have are kept, and nothing is filed, whether the
    curator pressed "Show its fields" or Add."""
    typed = form_data("figure", "800 companies", {"name": "Li Qiang", "event": EVENT})
    typed["fields_kind"] = "person"
    for button in ({"choose": "1"}, {}):
        response = curator_client.post(add_url(document), {**typed, **button})
        assert response.status_code == 200
        page = response.content.decode()
        assert 'name="payload-value"' in page and 'name="payload-name"' not in page
        assert 'name="fields_kind" value="figure"' in page
        assert "\n800 companies</textarea>" in page and f'value="{EVENT}"' in page
        assert "This field is required" not in page
    assert not Candidate.objects.exists()


def test_changing_the_kind_with_htmx_swaps_only_the_fields(
    curator_client: Client, document: Document
) -> None:
    data = form_data("organization", "UNESCO", {"name": "UNESCO"})
    data["fields_kind"] = "person"
    response = curator_client.post(
        add_url(document), data, headers={"HX-Request": "true", "HX-Target": "fact-fields"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" not in page and 'name="evidence"' not in page
    assert 'name="payload-kind"' in page and 'value="UNESCO"' in page
    assert response["HX-Push-Url"] == add_url(document) + "?fact_kind=organization"
    assert "HX-Target" in response["Vary"]
    # The full page at that address shows the same kind.
    full = curator_client.get(response["HX-Push-Url"]).content.decode()
    assert '<option value="organization" selected>' in full and "<html" in full


def test_only_curators_add_facts(client: Client, document: Document) -> None:
    data = form_data("person", "Li Qiang", {"name": "Li Qiang"})
    response = client.post(add_url(document), data)
    assert response.status_code == 302 and "login" in response["Location"]
    client.force_login(User.objects.create_user("ana", password="pw-12345678"))
    assert client.post(add_url(document), data).status_code == 403
    assert not Candidate.objects.exists()


def test_edit_and_accept_refuses_a_figure_too_large(
    curator_client: Client, curator: User, document: Document
) -> None:
    """The same bound holds for an extracted figure accepted with edits, in the form and
    in review.accept itself."""
    event()
    words = "More than 800 companies"
    start = TEXT.index(words)
    candidate = Candidate.objects.create(
        document=document,
        kind="figure",
        payload={"value": 800, "qualifier": "more_than", "unit": "companies"},
        start=start,
        end=start + len(words),
        excerpt=words,
        confidence=0.8,
        extractor="figure-test",
    )
    fields = {"event": EVENT, "label": "companies", "value": str(2**63), "qualifier": "over"}
    response = curator_client.post(reverse("governance:review_edit", args=[candidate.pk]), fields)
    assert response.status_code == 200
    assert "less than or equal to 9223372036854775807" in response.content.decode()
    with pytest.raises(review.ReviewError) as caught:
        review.accept(candidate.pk, user=curator, edits={"event": EVENT, "value": 2**63})
    assert caught.value.field_errors == {"value": ["At most 9,223,372,036,854,775,807."]}
    candidate.refresh_from_db()
    assert candidate.status == "pending" and not EventFigure.objects.exists()
