"""Curation (governance/review.py): candidates from the real extraction of the seed
article become curated records with exact evidence, and every decision can be undone."""

from __future__ import annotations

import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Model

from governance import review
from governance.extract.candidates import write_candidates
from governance.extract.pipeline import extract
from governance.extract.types import Extraction
from governance.models import (
    ActionPlanItem,
    Candidate,
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
from governance.roles import ADMIN_GROUP
from governance.seed import DEFAULT_SEED_FILE, load_seed
from tests import factories

pytestmark = pytest.mark.django_db

ARTICLE = (Path(DEFAULT_SEED_FILE).parent / "waic-2025-article.txt").read_text(encoding="utf-8")
PUBLISHED = datetime.fromisoformat("2025-07-27T08:00:00+00:00")
COUNTED = (
    Person,
    Role,
    Organization,
    Event,
    EventFigure,
    Proposal,
    ActionPlanItem,
    Participation,
    Statement,
    Evidence,
)


@pytest.fixture(scope="module")
def extraction() -> Extraction:
    # The rules are pure (no database): run them once for the module.
    return extract(ARTICLE)


@pytest.fixture
def document(extraction: Extraction) -> Document:
    """The article as a fresh document, nothing curated yet."""
    document = factories.DocumentFactory(text=ARTICLE, published_at=PUBLISHED)
    write_candidates(document, extraction)
    return document


@pytest.fixture
def seeded(extraction: Extraction) -> Document:
    """The seed's document and records, with the extraction's candidates on it."""
    load_seed()
    document = Document.objects.get()
    write_candidates(document, extraction)
    return document


@pytest.fixture
def curator(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("ada", password="x")


@pytest.fixture
def other(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("grace", password="x")


def candidate(kind: str, **payload: Any) -> Candidate:
    return Candidate.objects.get(
        kind=kind, **{f"payload__{key}": value for key, value in payload.items()}
    )


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def evidence_of(record: Model) -> list[Evidence]:
    return list(record.evidence.order_by("start"))


def assert_history(record: Model, candidate: Candidate, user: Any) -> None:
    latest = record.history.order_by("-history_id").first()
    assert latest.history_change_reason == f"candidate {candidate.pk}"
    assert latest.history_user_id == user.pk


def assert_span(evidence: Evidence, document: Document) -> None:
    assert evidence.document_id == document.pk
    assert document.text[evidence.start : evidence.end] == evidence.excerpt


# --- accept, kind by kind -----------------------------------------------------------


def test_accept_person_creates_person_role_and_exact_evidence(
    document: Document, curator: Any
) -> None:
    li = candidate("person", name="Li Qiang")
    before = counts()
    decision = review.accept(li.pk, user=curator)
    after = counts()
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {
        "Person": 1,
        "Role": 1,
        "Evidence": 2,
    }
    person = Person.objects.get(name="Li Qiang")
    role = Role.objects.get(person=person)
    assert (role.title, role.country_id, role.organization_id) == ("Premier", "CN", None)
    (person_evidence,) = evidence_of(person)
    assert (person_evidence.start, person_evidence.end) == (li.start, li.end)
    assert person_evidence.excerpt == "Li Qiang" and person_evidence.claim == "Person: Li Qiang"
    (role_evidence,) = evidence_of(role)
    assert_span(role_evidence, document)
    assert "Chinese Premier Li Qiang" in role_evidence.excerpt
    li.refresh_from_db()
    assert li.status == "accepted" and li.decided_by == curator and li.decided_at
    assert li.record == person
    assert decision.action == "accept" and decision.user == curator
    created = [(e["model"], e["pk"]) for e in decision.effects if e.get("created")]
    assert created == [
        ("governance.person", str(person.pk)),
        ("governance.evidence", str(person_evidence.pk)),
        ("governance.role", str(role.pk)),
        ("governance.evidence", str(role_evidence.pk)),
    ]
    for record in (person, role, person_evidence, role_evidence):
        assert_history(record, li, curator)


def test_accept_reuses_curated_records_by_natural_key(seeded: Document, curator: Any) -> None:
    li = candidate("person", name="Li Qiang")
    ministry = candidate("organization", name="Ministry of Foreign Affairs of China")
    before = counts()
    review.accept(li.pk, user=curator)
    review.accept(ministry.pk, user=curator)
    after = counts()
    # The seed already has both, and Li Qiang's Premier role: only new evidence spans.
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {"Evidence": 2}
    assert Person.objects.filter(name="Li Qiang").count() == 1
    li.refresh_from_db()
    assert li.record == Person.objects.get(name="Li Qiang")


def test_accept_country_adds_evidence_only(document: Document, curator: Any) -> None:
    russia = candidate("country", code="RU")
    decision = review.accept(russia.pk, user=curator)
    (evidence,) = Evidence.objects.all()
    assert evidence.record.code == "RU" and evidence.excerpt == "Russia"
    assert_span(evidence, document)
    assert [e["model"] for e in decision.effects if "model" in e] == ["governance.evidence"]


def test_accept_quote_with_speaker_role_and_date_then_same_quote_reuses_it(
    document: Document, curator: Any
) -> None:
    review.accept(candidate("person", name="Li Qiang").pk, user=curator)
    quote = Candidate.objects.get(kind="quote", extractor="quote-rules-v1")
    review.accept(quote.pk, user=curator)
    statement = Statement.objects.get()
    assert statement.kind == "direct_quote" and statement.text == quote.payload["text"]
    assert statement.speaker.name == "Li Qiang" and statement.speaker_role.title == "Premier"
    assert statement.on_behalf_of_country_id == "CN"
    assert statement.said_on == date(2025, 7, 27)  # the document's publication date
    (evidence,) = evidence_of(statement)
    assert (evidence.start, evidence.end) == (quote.start, quote.end)
    assert_history(statement, quote, curator)

    # The same words in another article: the fingerprint finds the statement.
    text = f"Li Qiang said: “{quote.payload['text']}.”"
    other_document = factories.DocumentFactory(text=text, published_at=PUBLISHED)
    start = text.index(quote.payload["text"])
    again = Candidate.objects.create(
        document=other_document,
        kind="quote",
        payload={**quote.payload, "speaker_id": None},
        start=start,
        end=start + len(quote.payload["text"]),
        excerpt=quote.payload["text"],
        confidence=0.75,
        extractor="quote-rules-v1",
    )
    review.accept(again.pk, user=curator)
    assert Statement.objects.get() == statement
    assert {e.document_id for e in evidence_of(statement)} == {document.pk, other_document.pk}


def test_a_quote_is_filed_under_the_proposals_its_paragraph_names(curator: Any) -> None:
    plan = factories.ProposalFactory(
        title="Action Plan for Global AI Governance", aliases=["the Shanghai plan"]
    )
    other = factories.ProposalFactory(title="Hiroshima AI Process")
    words = "We welcome the Action Plan for Global AI Governance and will help carry it out"
    text = f"Brazil backs the plan.\n“{words},” Foreign Minister Mauro Vieira said.\nEnd."
    document = factories.DocumentFactory(text=text, published_at=PUBLISHED)
    start = text.index(words)
    quote = Candidate.objects.create(
        document=document,
        kind="quote",
        payload={"speaker": "Mauro Vieira", "text": words, "kind": "direct"},
        start=start,
        end=start + len(words),
        excerpt=words,
        confidence=0.75,
        extractor="quote-rules-v1",
    )

    decision = review.accept(quote.pk, user=curator)

    statement = Statement.objects.get(text=words)
    assert list(statement.proposals.all()) == [plan]
    assert other not in statement.proposals.all()
    review.undo(decision.pk, user=curator)
    assert not Statement.objects.filter(text=words).exists()
    assert not plan.statements.exists()


def test_accept_proposal_then_its_items_in_order(seeded: Document, curator: Any) -> None:
    plan = Candidate.objects.get(kind="proposal", payload__verb="released")
    item = candidate("action_item", heading="open-source collaboration")
    title = "Action Plan for Global AI Governance"
    assert review.edit_initial(plan)["title"] == title
    review.accept(plan.pk, user=curator)
    plan.refresh_from_db()
    proposal = Proposal.objects.get(title=title)
    assert plan.record == proposal  # the seed's, not a duplicate
    # The seed lists the ministry as issuer already; the proposer resolves by alias.
    issuers = Participation.objects.filter(proposal=proposal, role="issuer")
    assert {p.participant.name for p in issuers if p.organization_id} == {
        "Ministry of Foreign Affairs of China"
    }
    items_before = proposal.items.count()
    review.accept(item.pk, user=curator)
    created = ActionPlanItem.objects.get(proposal=proposal, heading__iexact=item.payload["heading"])
    assert proposal.items.count() in (items_before, items_before + 1)
    assert any(e.excerpt == "open-source collaboration" for e in evidence_of(created))


def test_accept_new_proposal_with_proposer_participation(document: Document, curator: Any) -> None:
    body = Candidate.objects.get(kind="proposal", payload__verb="proposed")
    decision = review.accept(body.pk, user=curator)
    proposal = Proposal.objects.get()
    assert proposal.kind == "international_body" and proposal.status == "proposed"
    assert proposal.proposed_headquarters == "Shanghai"
    assert proposal.announced_on == date(2025, 7, 27)
    part = Participation.objects.get()
    assert (part.proposal, part.country_id, part.role) == (proposal, "CN", "proposer")
    assert {e.record for e in Evidence.objects.all()} == {proposal, part}
    for evidence in Evidence.objects.all():
        assert (evidence.start, evidence.end) == (body.start, body.end)
    assert decision.note == ""


def test_action_item_before_its_proposal_asks_to_accept_the_proposal_first(
    document: Document, curator: Any
) -> None:
    item = candidate("action_item", heading="cross-border exchanges")
    with pytest.raises(review.ReviewError, match="accept the proposal first") as caught:
        review.accept(item.pk, user=curator)
    assert "proposal" in caught.value.field_errors
    review.accept(Candidate.objects.get(kind="proposal", payload__verb="released").pk, user=curator)
    review.accept(item.pk, user=curator)
    (created,) = ActionPlanItem.objects.all()
    assert (created.position, created.heading, created.proposal.title) == (
        2,
        "cross-border exchanges",
        "Action Plan for Global AI Governance",
    )


def test_accept_event_participation_and_figure(document: Document, curator: Any) -> None:
    event_candidate = Candidate.objects.get(kind="event")
    delegate = candidate("participation", participant="RU", role="delegate")
    figure = candidate("figure", unit="companies")
    with pytest.raises(review.ReviewError, match="accept it first"):
        review.accept(delegate.pk, user=curator)
    review.accept(event_candidate.pk, user=curator)
    event = Event.objects.get()
    assert (event.name, event.short_name, event.city, event.country_id) == (
        "World Artificial Intelligence Conference 2025",
        "WAIC",
        "Shanghai",
        "CN",
    )
    assert (event.start_date, event.end_date) == (date(2025, 7, 26), date(2025, 7, 28))
    review.accept(delegate.pk, user=curator)
    part = Participation.objects.get()
    assert (part.event, part.country_id, part.role) == (event, "RU", "delegate")
    (evidence,) = evidence_of(part)
    assert evidence.excerpt == delegate.payload["evidence"]  # the sentence that says so
    assert_span(evidence, document)
    review.accept(figure.pk, user=curator)
    made = EventFigure.objects.get()
    assert (made.event, made.label, made.value, made.qualifier) == (
        event,
        "companies",
        800,
        "over",
    )
    assert evidence_of(made)[0].excerpt == "over 800 companies"


def test_accept_date_records_nothing(document: Document, curator: Any) -> None:
    day = candidate("date", text="July 26, 2025")
    before = counts()
    decision = review.accept(day.pk, user=curator)
    assert counts() == before
    assert decision.note == "dates inform other facts"
    assert [e for e in decision.effects if "model" in e] == []
    day.refresh_from_db()
    assert day.status == "accepted"


# --- edits ---------------------------------------------------------------------------


def test_accept_with_edits_validates_and_notes_the_edited_keys(
    document: Document, curator: Any
) -> None:
    body = Candidate.objects.get(kind="proposal", payload__verb="proposed")
    assert {f.key for f in review.editable_fields("proposal")} >= {"title", "kind", "status"}
    before = counts()
    with pytest.raises(review.ReviewError) as caught:
        review.accept(
            body.pk,
            user=curator,
            edits={"announced_on": "26/07/2025", "title": " ", "kind": "nonsense"},
        )
    assert set(caught.value.field_errors) == {"announced_on", "title", "kind"}
    assert counts() == before and not Decision.objects.exists()
    body.refresh_from_db()
    assert body.status == "pending"

    edits = {**review.edit_initial(body), "title": "World AI Cooperation Organization"}
    edits["announced_on"] = "2025-07-26"
    decision = review.accept(body.pk, user=curator, edits=edits)
    assert decision.action == "accept_edited"
    assert decision.note.startswith("Edited: title, announced_on.")
    proposal = Proposal.objects.get()
    assert proposal.title == "World AI Cooperation Organization"
    assert proposal.announced_on == date(2025, 7, 26)


def test_unchanged_edit_form_is_a_plain_accept(document: Document, curator: Any) -> None:
    org = candidate("organization", name="Nvidia")
    decision = review.accept(org.pk, user=curator, edits=review.edit_initial(org))
    assert decision.action == "accept"
    assert Organization.objects.get().kind == "company"


# --- deciding once ----------------------------------------------------------------


def test_accept_twice_and_link_twice_are_already_decided(
    document: Document, curator: Any, other: Any
) -> None:
    org = candidate("organization", name="Huawei")
    review.accept(org.pk, user=curator)
    with pytest.raises(review.AlreadyDecided, match="Already accepted by ada at"):
        review.accept(org.pk, user=other)
    with pytest.raises(review.AlreadyDecided):
        review.link(org.pk, user=other, record=Organization.objects.get())
    assert Decision.objects.count() == 1 and Organization.objects.count() == 1


def test_reject_needs_a_reason_and_writes_nothing_else(document: Document, curator: Any) -> None:
    org = candidate("organization", name="WAIC")
    for reason in ("", "   "):
        with pytest.raises(review.ReviewError) as caught:
            review.reject(org.pk, user=curator, reason=reason)
        assert "reason" in caught.value.field_errors
    before = counts()
    decision = review.reject(org.pk, user=curator, reason="  The conference, not a body. ")
    assert counts() == before
    assert (decision.action, decision.note) == ("reject", "The conference, not a body.")
    org.refresh_from_db()
    assert org.status == "rejected" and org.decision_note == "The conference, not a body."
    with pytest.raises(review.AlreadyDecided, match="Already rejected by ada"):
        review.reject(org.pk, user=curator, reason="again")


# --- link ----------------------------------------------------------------------------


def test_link_attaches_evidence_to_an_existing_record(seeded: Document, curator: Any) -> None:
    li = Person.objects.get(name="Li Qiang")
    paraphrase = Candidate.objects.get(
        kind="quote", payload__speaker="Li Qiang", extractor__startswith="paraphrase"
    )
    assert review.link_choices(paraphrase)[0] == paraphrase.record
    statement = paraphrase.record
    decision = review.link(paraphrase.pk, user=curator, record=statement)
    assert decision.action == "link"
    assert any(
        (e.start, e.end) == (paraphrase.start, paraphrase.end) for e in evidence_of(statement)
    )
    paraphrase.refresh_from_db()
    assert paraphrase.record == statement and paraphrase.status == "accepted"

    delegate = candidate("participation", participant="QA", role="delegate")
    with pytest.raises(review.ReviewError, match="cannot be linked to a person"):
        review.link(delegate.pk, user=curator, record=li)
    delegate.refresh_from_db()
    assert delegate.status == "pending"


def test_link_a_quote_to_its_speaker_records_the_statement(
    document: Document, curator: Any
) -> None:
    ma = factories.PersonFactory(name="Ma Zhaoxu")
    para = Candidate.objects.get(kind="quote", payload__speaker="Ma Zhaoxu")
    assert ma in review.link_choices(para)
    review.link(para.pk, user=curator, record=ma)
    statement = Statement.objects.get()
    assert (statement.speaker, statement.kind) == (ma, "paraphrase")
    para.refresh_from_db()
    assert para.record == statement


# --- undo ----------------------------------------------------------------------------


def test_undo_restores_exactly_and_reopens(document: Document, curator: Any) -> None:
    li = candidate("person", name="Li Qiang")
    before = counts()
    decision = review.accept(li.pk, user=curator)
    review.undo(decision.pk, user=curator)
    assert counts() == before
    li.refresh_from_db()
    assert (li.status, li.decided_by, li.decided_at, li.record_id) == ("pending", None, None, "")
    decision.refresh_from_db()
    assert decision.undone_at and decision.undone_by == curator
    deleted = Person.history.filter(history_type="-").get()
    assert deleted.history_change_reason == f"undo of decision {decision.pk} (candidate {li.pk})"
    with pytest.raises(review.ReviewError, match="already undone"):
        review.undo(decision.pk, user=curator)
    # Reopened: it can be decided again.
    assert review.accept(li.pk, user=curator).action == "accept"


def test_undo_restores_an_updated_record_and_keeps_extractions_link(
    document: Document, curator: Any
) -> None:
    event = factories.EventFactory(name="World Artificial Intelligence Conference 2025")
    event_candidate = Candidate.objects.get(kind="event")
    event_candidate.record = event  # as extraction sets it for a curated event
    event_candidate.save()
    decision = review.accept(event_candidate.pk, user=curator)
    event.refresh_from_db()
    assert (event.city, event.country_id, event.theme) == (
        "Shanghai",
        "CN",
        "Global Solidarity in the AI Era",
    )
    assert_history(event, event_candidate, curator)
    (updated,) = [e for e in decision.effects if e.get("created") is False]
    assert updated["history_id"] and updated["fields"]["city"] == ""
    review.undo(decision.pk, user=curator)
    event.refresh_from_db()
    assert (event.city, event.country_id, event.theme, event.start_date) == ("", None, "", None)
    assert not Evidence.objects.exists()
    event_candidate.refresh_from_db()
    assert event_candidate.status == "pending" and event_candidate.record == event


def test_undo_is_refused_while_something_depends_on_what_it_created(
    document: Document, curator: Any
) -> None:
    first = review.accept(candidate("person", name="Li Qiang").pk, user=curator)
    quote = Candidate.objects.get(kind="quote", extractor="quote-rules-v1")
    second = review.accept(quote.pk, user=curator)
    with pytest.raises(review.ReviewError, match="now used by"):
        review.undo(first.pk, user=curator)
    assert Person.objects.filter(name="Li Qiang").exists()
    review.undo(second.pk, user=curator)
    review.undo(first.pk, user=curator)
    assert not Person.objects.exists() and not Statement.objects.exists()


def test_undo_by_another_curator_is_refused_and_by_an_admin_allowed(
    document: Document, curator: Any, other: Any, django_user_model: Any
) -> None:
    org = candidate("organization", name="Tesla")
    decision = review.reject(org.pk, user=curator, reason="Not relevant")
    with pytest.raises(review.ReviewError, match="Only ada or an administrator"):
        review.undo(decision.pk, user=other)
    admin = django_user_model.objects.create_user("root", password="x")
    admin.groups.add(Group.objects.get_or_create(name=ADMIN_GROUP)[0])
    review.undo(decision.pk, user=admin)
    org.refresh_from_db()
    assert org.status == "pending" and org.decision_note == ""
    decision.refresh_from_db()
    assert decision.undone_by == admin


def test_undo_last_picks_the_users_latest_live_decision(
    document: Document, curator: Any, other: Any
) -> None:
    a = review.accept(candidate("organization", name="Tesla").pk, user=curator)
    b = review.reject(candidate("organization", name="Amazon").pk, user=curator, reason="No")
    review.reject(candidate("organization", name="Google").pk, user=other, reason="No")
    assert review.undo_last(user=curator) == b
    assert review.undo_last(user=curator) == a
    assert review.undo_last(user=curator) is None
    assert Candidate.objects.get(kind="organization", payload__name="Google").status == "rejected"


# --- bulk ----------------------------------------------------------------------------


def test_bulk_accept_skips_decided_and_orders_by_dependency(
    document: Document, curator: Any, other: Any
) -> None:
    tesla = candidate("organization", name="Tesla")
    review.reject(tesla.pk, user=other, reason="Not relevant")
    event_candidate = Candidate.objects.get(kind="event")
    delegates = list(Candidate.objects.filter(kind="participation", payload__role="delegate"))
    ids = [d.pk for d in delegates] + [tesla.pk, event_candidate.pk]
    result = review.bulk_accept(ids, user=curator)
    assert [(pk, why.split(" at ")[0]) for pk, why in result.skipped] == [
        (tesla.pk, "Already rejected by grace")
    ]
    assert [d.candidate_id for d in result.decided] == [event_candidate.pk] + [
        d.pk for d in delegates
    ]
    assert Participation.objects.filter(role="delegate").count() == 5

    rejected = review.bulk_reject(
        [tesla.pk, *[d.pk for d in delegates[:1]]], user=curator, reason="x"
    )
    assert rejected.decided == [] and len(rejected.skipped) == 2


# --- concurrency ---------------------------------------------------------------------


# Transactional (two real connections); the countries and groups the flush empties are
# restored by tests/conftest.py. No serialized_rollback: after another transactional
# test's flush it would re-insert content types that flush already recreated.
@pytest.mark.django_db(transaction=True)
def test_two_curators_accepting_at_once_make_one_decision(django_user_model: Any) -> None:
    ada = django_user_model.objects.create_user("ada2", password="x")
    grace = django_user_model.objects.create_user("grace2", password="x")
    text = "Chinese tech giants such as Huawei featured prominently."
    document = factories.DocumentFactory(text=text)
    org = Candidate.objects.create(
        document=document,
        kind="organization",
        payload={"name": "Huawei", "kind": "company"},
        start=text.index("Huawei"),
        end=text.index("Huawei") + 6,
        excerpt="Huawei",
        confidence=0.7,
        extractor="organization-rules-v1",
    )
    barrier = threading.Barrier(2)
    outcomes: dict[str, Any] = {}

    def decide(user: Any) -> None:
        from django.db import connection as own  # each thread has its own connection

        try:
            barrier.wait(timeout=10)
            outcomes[user.username] = review.accept(org.pk, user=user)
        except Exception as exc:
            outcomes[user.username] = exc
        finally:
            own.close()

    threads = [threading.Thread(target=decide, args=(u,)) for u in (ada, grace)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    try:
        decisions = [o for o in outcomes.values() if isinstance(o, Decision)]
        refused = [o for o in outcomes.values() if isinstance(o, review.AlreadyDecided)]
        assert len(decisions) == 1 and len(refused) == 1, outcomes
        assert Decision.objects.filter(candidate=org).count() == 1
        assert Organization.objects.filter(name="Huawei").count() == 1
        winner = decisions[0].user.username
        assert f"Already accepted by {winner}" in str(refused[0])
    finally:
        connection.close()
