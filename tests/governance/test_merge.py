"""Merges move every relation and Evidence to the survivor, delete nothing, keep the loser's
names as aliases and redirect its URL; suggestions find likely duplicates."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from governance import models
from governance.merge import (
    MergeError,
    duplicate_suggestions,
    merge,
    merge_preview,
    normalize_name,
)
from tests import factories

pytestmark = pytest.mark.django_db

DAY = datetime.date(2025, 7, 26)


@pytest.fixture
def user() -> object:
    return get_user_model().objects.create_user("curator")


@pytest.fixture
def document() -> models.Document:
    return factories.DocumentFactory(text="Kao Kim Hourn spoke. Li Qiang spoke. UN met.")


def evidence(record: object, document: models.Document, start: int, end: int) -> models.Evidence:
    return models.Evidence.objects.create(
        record=record, document=document, start=start, end=end, excerpt=document.text[start:end]
    )


def evidence_of(record: object) -> set[int]:
    ct = ContentType.objects.get_for_model(record)
    return set(
        models.Evidence.objects.filter(content_type=ct, object_id=str(record.pk)).values_list(
            "pk", flat=True
        )
    )


def candidate(record: object, document: models.Document, start: int) -> models.Candidate:
    return models.Candidate.objects.create(
        document=document,
        kind="person",
        payload={"name": "x"},
        start=start,
        end=start + 3,
        excerpt=document.text[start : start + 3],
        confidence=0.9,
        extractor=f"rule-{start}",
        record_type=ContentType.objects.get_for_model(record),
        record_id=str(record.pk),
    )


def test_normalize_name() -> None:
    assert normalize_name("Dr. Kao Kim Hourn") == "kao kim hourn"
    assert normalize_name("  H.E.  Lí  Qiáng ") == "li qiang"
    assert normalize_name("Mr Kao Kim-Hourn") == "kao kim hourn"
    assert normalize_name("He Lifeng") == "he lifeng"  # a surname, not "H.E."


def test_merge_people_moves_everything(client: Client, user: object, document) -> None:
    survivor = factories.PersonFactory(name="Kao Kim Hourn", aliases=["KKH"])
    loser = factories.PersonFactory(name="Dr. Kao Kim Hourn", aliases=["Kao Kim Hourn", "Dr Kao"])
    org = factories.OrganizationFactory(name="ASEAN")
    proposal = factories.ProposalFactory()
    # A role both have (natural-key collision) and one only the loser has.
    shared_s = models.Role.objects.create(
        person=survivor, title="Secretary-General", organization=org
    )
    shared_l = models.Role.objects.create(person=loser, title="Secretary-General", organization=org)
    own_role = models.Role.objects.create(person=loser, title="Minister", start_date=DAY)
    part_s = models.Participation.objects.create(proposal=proposal, person=survivor, role="speaker")
    part_l = models.Participation.objects.create(proposal=proposal, person=loser, role="speaker")
    part_own = models.Participation.objects.create(proposal=proposal, person=loser, role="delegate")
    statements = factories.StatementFactory.create_batch(2, speaker=loser, speaker_role=shared_l)
    survivor_statement = factories.StatementFactory(speaker=survivor, text="Same words.")
    twin_statement = factories.StatementFactory(speaker=loser, text="Same words.")
    twin_statement.proposals.add(proposal)
    person_evidence = evidence(loser, document, 0, 13)
    role_evidence = evidence(shared_l, document, 14, 20)
    part_evidence = evidence(part_l, document, 21, 29)
    candidates = [candidate(loser, document, 0), candidate(shared_l, document, 5)]
    role_count = models.Role.objects.count()
    statement_count = models.Statement.objects.count()

    preview = merge_preview(survivor, loser)
    assert preview["statements (speaker)"] == 3
    assert preview["roles (person)"] == 2
    assert preview["evidence"] == 1 and preview["candidates"] == 1

    record = merge(survivor, loser, user=user)

    loser.refresh_from_db()
    survivor.refresh_from_db()
    assert loser.merged_into == survivor  # kept, not deleted
    assert models.Role.objects.count() == role_count
    assert models.Statement.objects.count() == statement_count
    # Every relation now points at the survivor, each row once.
    assert set(survivor.roles.all()) == {shared_s, own_role}
    assert set(survivor.participations.all()) == {part_s, part_own}
    assert set(survivor.statements.all()) == {*statements, survivor_statement}
    for statement in statements:
        statement.refresh_from_db()
        assert statement.speaker_role == shared_s  # the colliding role's statements follow
        assert statement.fingerprint == models.Statement.make_fingerprint(
            survivor.pk, statement.said_on, statement.kind, statement.text
        )
    # Colliding rows stay on the loser; their evidence and links move to the twins.
    assert set(loser.roles.all()) == {shared_l}
    assert set(loser.participations.all()) == {part_l}
    assert set(loser.statements.all()) == {twin_statement}
    assert person_evidence.pk in evidence_of(survivor)
    assert role_evidence.pk in evidence_of(shared_s)
    assert part_evidence.pk in evidence_of(part_s)
    assert set(survivor_statement.proposals.all()) == {proposal}
    for c in candidates:
        c.refresh_from_db()
    assert candidates[0].record == survivor and candidates[1].record == shared_s
    # Names kept as aliases, without duplicates or the survivor's own name.
    assert survivor.aliases == ["KKH", "Dr. Kao Kim Hourn", "Dr Kao"]
    assert record.moved["aliases"] == ["Dr. Kao Kim Hourn", "Dr Kao"]
    assert sorted(record.moved["governance.statement.speaker"]) == sorted(s.pk for s in statements)
    assert record.moved["kept"]["governance.role.person"] == [[shared_l.pk, shared_s.pk]]
    assert (record.survivor_id, record.loser_id, record.user) == (
        str(survivor.pk),
        str(loser.pk),
        user,
    )
    # History with the reason and the user.
    reason = f"merge into {survivor.pk}"
    for instance in (survivor, loser, own_role, part_own, statements[0]):
        latest = instance.history.latest()
        assert (latest.history_change_reason, latest.history_user) == (reason, user)
    # The old URL redirects; lists and search no longer show the loser.
    response = client.get(f"/people/{loser.slug}/")
    assert response.status_code == 301
    assert response["Location"] == survivor.get_absolute_url()
    people = client.get("/people/").content.decode()
    assert f"/people/{loser.slug}/" not in people and f"/people/{survivor.slug}/" in people
    found = client.get("/search/", {"q": "Kao Kim Hourn"}).content.decode()
    assert f"/people/{loser.slug}/" not in found and f"/people/{survivor.slug}/" in found


def test_merge_organizations(user: object) -> None:
    cn, us = (models.Country.objects.get(code=c) for c in ("CN", "US"))
    survivor = factories.OrganizationFactory(name="United Nations")
    loser = factories.OrganizationFactory(name="U.N.", aliases=["UN"])
    survivor.members.add(cn)
    loser.members.add(cn, us)
    child = factories.OrganizationFactory(parent=loser)
    loser.parent = factories.OrganizationFactory()
    loser.save()
    on_behalf = factories.StatementFactory(on_behalf_of_organization=loser)
    about = factories.StatementFactory()
    about.organizations.add(loser, survivor)
    about_loser = factories.StatementFactory()
    about_loser.organizations.add(loser)
    role = models.Role.objects.create(
        person=factories.PersonFactory(), title="Envoy", organization=loser
    )

    record = merge(survivor, loser, user=user)

    survivor.refresh_from_db()
    assert set(survivor.members.all()) == {cn, us}
    assert set(loser.members.all()) == {cn}  # the link the survivor had stays, not deleted
    child.refresh_from_db()
    on_behalf.refresh_from_db()
    role.refresh_from_db()
    assert child.parent == survivor
    assert on_behalf.on_behalf_of_organization == survivor
    assert role.organization == survivor
    assert set(about.organizations.all()) == {loser, survivor}
    assert survivor in about_loser.organizations.all()
    assert survivor.aliases == ["U.N.", "UN"]
    assert record.moved["governance.organization.members"] == ["US"]
    assert about_loser.history.latest().history_change_reason == f"merge into {survivor.pk}"
    assert models.Organization.objects.filter(pk=loser.pk, merged_into=survivor).exists()


def test_merge_proposals(client: Client, user: object) -> None:
    survivor = factories.ProposalFactory(title="World AI Cooperation Organization")
    loser = factories.ProposalFactory(title="World AI Co-operation Organisation")
    cn = models.Country.objects.get(code="CN")
    models.ActionPlanItem.objects.create(proposal=survivor, position=1, heading="Seize")
    same = models.ActionPlanItem.objects.create(proposal=loser, position=1, heading="seize")
    other = models.ActionPlanItem.objects.create(proposal=loser, position=2, heading="Govern")
    clash = models.ActionPlanItem.objects.create(proposal=survivor, position=2, heading="Build")
    models.Participation.objects.create(proposal=survivor, country=cn, role="proposer")
    twin = models.Participation.objects.create(proposal=loser, country=cn, role="proposer")
    moved = models.Participation.objects.create(proposal=loser, country=cn, role="host")
    statement = factories.StatementFactory()
    statement.proposals.add(loser)

    merge(survivor, loser, user=user)

    other.refresh_from_db()
    assert (other.proposal, other.position) == (survivor, 3)  # renumbered after the clash
    assert same.proposal_id == loser.pk and clash.position == 2
    assert set(survivor.items.values_list("heading", flat=True)) == {"Seize", "Build", "Govern"}
    assert set(survivor.participations.all()) - {moved} and moved in survivor.participations.all()
    assert twin in loser.participations.all()
    assert list(statement.proposals.all()) == [survivor]
    response = client.get(loser.get_absolute_url())
    assert (response.status_code, response["Location"]) == (301, survivor.get_absolute_url())


def test_merge_moves_follows_to_the_survivor(user: object) -> None:
    from governance.alerts.models import Follow

    users = get_user_model().objects
    only_loser, both = users.create_user("ana"), users.create_user("bo")
    survivor = factories.PersonFactory(name="Li Qiang")
    loser = factories.PersonFactory(name="Premier Li Qiang")
    moved = Follow.objects.create(user=only_loser, person=loser)
    kept = Follow.objects.create(user=both, person=survivor)
    twin = Follow.objects.create(user=both, person=loser)

    merge(survivor, loser, user=user)

    moved.refresh_from_db()
    twin.refresh_from_db()
    assert moved.person == survivor  # their digest goes on, about the record kept
    # One follow per user and record: the survivor's stays, the twin keeps the loser.
    assert twin.person == loser and Follow.objects.filter(user=both, person=survivor).get() == kept


def test_refusals(user: object) -> None:
    a, b, c = factories.PersonFactory.create_batch(3)
    with pytest.raises(MergeError):
        merge(a, factories.OrganizationFactory(), user=user)
    with pytest.raises(MergeError):
        merge(a, a, user=user)
    with pytest.raises(MergeError):
        merge(factories.EventFactory(), factories.EventFactory(), user=user)
    merge(a, b, user=user)
    with pytest.raises(MergeError, match="already merged"):
        merge(c, b, user=user)
    with pytest.raises(MergeError, match=f"merge into “{a}” instead"):
        merge(b, c, user=user)
    assert models.Merge.objects.count() == 1


def test_suggestions(user: object) -> None:
    kao = factories.PersonFactory(name="Kao Kim Hourn")
    dr_kao = factories.PersonFactory(name="Dr. Kao Kim Hourn")
    li = factories.PersonFactory(name="Li Qiang")
    typo = factories.PersonFactory(name="Li Quiang")
    guterres = factories.PersonFactory(name="António Guterres", aliases=["UN chief"])
    chief = factories.PersonFactory(name="Secretary-General Guterres", aliases=["UN Chief"])
    factories.PersonFactory(name="Emmanuel Macron")

    pairs = {frozenset((p.a, p.b)): p for p in duplicate_suggestions(models.Person)}
    assert pairs[frozenset((kao, dr_kao))].reason == "same name after normalization"
    assert pairs[frozenset((li, typo))].reason.startswith("similar names (0.")
    assert pairs[frozenset((guterres, chief))].reason == "shared alias 'UN chief'"
    assert len(pairs) == 3
    scores = [p.score for p in duplicate_suggestions(models.Person)]
    assert scores == sorted(scores, reverse=True)

    merge(kao, dr_kao, user=user)
    pairs = {frozenset((p.a, p.b)) for p in duplicate_suggestions(models.Person)}
    assert frozenset((kao, dr_kao)) not in pairs
    assert all(dr_kao not in pair for pair in pairs)

    un = factories.OrganizationFactory(name="United Nations", aliases=["UN"])
    short = factories.OrganizationFactory(name="UN")
    (pair,) = duplicate_suggestions(models.Organization)
    assert {pair.a, pair.b} == {un, short} and pair.reason == "shared alias 'UN'"
