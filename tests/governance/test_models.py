"""Constraints carry the rules: natural keys, spans, one subject and one participant."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from governance import models
from tests import factories

pytestmark = pytest.mark.django_db


def integrity_error(fn) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_countries_loaded_with_aliases() -> None:
    assert models.Country.objects.count() == 249
    china = models.Country.objects.get(code="CN")
    assert (china.alpha3, china.name, china.subregion) == ("CHN", "China", "Eastern Asia")
    assert models.Country.objects.get(code="RU").name == "Russia"
    assert models.Country.objects.get(code="KR").name == "South Korea"

    def resolves(alias: str, kind: str) -> set[str]:
        """The countries an alias names on its own, without context."""
        return set(
            models.CountryAlias.objects.filter(alias=alias, kind=kind, ambiguous=False).values_list(
                "country_id", flat=True
            )
        )

    assert resolves("Washington D.C.", "capital") == {"US"}
    assert models.CountryAlias.objects.get(alias="Washington").country_id == "US"
    assert resolves("Beijing", "capital") == {"CN"}
    # Hong Kong and Macao share the demonym; only China's entry stands alone.
    assert resolves("Chinese", "demonym") == {"CN"}
    assert resolves("UAE", "name") == {"AE"}
    # countryinfo's two-letter spellings are not aliases: "AI" is not Anguilla in news text.
    assert not models.CountryAlias.objects.filter(alias="AI").exists()
    assert models.CountryAlias.objects.get(alias="American", country="US").ambiguous
    assert models.CountryAlias.objects.get(alias="Georgia", country="GE").ambiguous


def test_natural_keys_are_unique() -> None:
    org = factories.OrganizationFactory(name="ASEAN")
    integrity_error(lambda: models.Organization.objects.create(name="ASEAN", kind="other"))
    event = factories.EventFactory()
    models.EventFigure.objects.create(event=event, label="companies", value=800)
    integrity_error(
        lambda: models.EventFigure.objects.create(event=event, label="companies", value=1)
    )
    person = factories.PersonFactory()
    models.Role.objects.create(person=person, title="Secretary-General", organization=org)
    # NULLS NOT DISTINCT: the same role without dates is still one row.
    integrity_error(
        lambda: models.Role.objects.create(
            person=person, title="Secretary-General", organization=org
        )
    )


def test_a_documents_candidates_are_found_through_the_natural_key() -> None:
    """The document column has no index of its own (migration 0015): the natural key, which
    opens with it, serves the lookup by document that the review page and cascades make."""
    document = factories.DocumentFactory()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # an empty table is scanned otherwise
    plan = models.Candidate.objects.filter(document=document).explain()
    assert "candidate_natural_key" in plan, plan


def test_slugs_are_made_unique() -> None:
    a = factories.PersonFactory(name="Li Qiang")
    b = factories.PersonFactory(name="Li Qiang")
    assert (a.slug, b.slug) == ("li-qiang", "li-qiang-2")
    assert a.get_absolute_url() == "/people/li-qiang/"


def test_participation_needs_one_subject_and_one_participant() -> None:
    proposal = factories.ProposalFactory()
    event = factories.EventFactory()
    china = models.Country.objects.get(code="CN")
    person = factories.PersonFactory()
    models.Participation.objects.create(proposal=proposal, country=china, role="proposer")
    integrity_error(
        lambda: models.Participation.objects.create(
            proposal=proposal, country=china, role="proposer"
        )
    )
    integrity_error(
        lambda: models.Participation.objects.create(
            proposal=proposal, event=event, country=china, role="host"
        )
    )
    integrity_error(lambda: models.Participation.objects.create(country=china, role="host"))
    integrity_error(
        lambda: models.Participation.objects.create(
            event=event, country=china, person=person, role="delegate"
        )
    )


def test_statement_fingerprint_dedupes_whitespace_and_case() -> None:
    person = factories.PersonFactory()
    models.Statement.objects.create(speaker=person, kind="direct_quote", text="AI for all.")
    integrity_error(
        lambda: models.Statement.objects.create(
            speaker=person, kind="direct_quote", text="  ai   FOR all. "
        )
    )
    # Another speaker may say the same words.
    models.Statement.objects.create(
        speaker=factories.PersonFactory(), kind="direct_quote", text="AI for all."
    )


def test_document_dedupes_on_normalized_text() -> None:
    doc = factories.DocumentFactory(text="China proposed  an organization.\n")
    assert doc.content_sha256 == models.Document.hash_text("China proposed an organization.")
    integrity_error(lambda: factories.DocumentFactory(text="China proposed an organization."))


def test_document_search_vector_is_generated() -> None:
    doc = factories.DocumentFactory(title="Export controls", text="Washington restricted chips.")
    found = models.Document.objects.filter(search_vector="chip")
    assert list(found) == [doc]


def test_evidence_span_must_match_excerpt() -> None:
    doc = factories.DocumentFactory(text="Li Qiang spoke in Shanghai.")
    person = factories.PersonFactory(name="Li Qiang")
    models.Evidence.objects.create(record=person, document=doc, start=0, end=8, excerpt="Li Qiang")
    with pytest.raises(ValueError, match="does not match"):
        models.Evidence.objects.create(
            record=person, document=doc, start=1, end=8, excerpt="Li Qiang"
        )
    integrity_error(
        lambda: models.Evidence.objects.create(
            record=person, document=doc, start=0, end=8, excerpt="Li Qiang"
        )
    )
    assert person.evidence.count() == 1


def test_candidate_constraints_and_payload_validation() -> None:
    from django.core.exceptions import ValidationError

    doc = factories.DocumentFactory(text="Li Qiang said AI is a common good.")
    base = {"document": doc, "start": 0, "end": 8, "excerpt": "Li Qiang", "extractor": "ner"}
    candidate = models.Candidate(
        kind="person", payload={"title": "Premier"}, confidence=0.9, **base
    )
    with pytest.raises(ValidationError, match="needs: name"):
        candidate.full_clean()
    candidate.payload = {"name": "Li Qiang"}
    candidate.full_clean()
    candidate.save()
    integrity_error(
        lambda: models.Candidate.objects.create(
            kind="person", payload={"name": "x"}, confidence=1.5, **{**base, "extractor": "b"}
        )
    )
    # A decision needs its time.
    integrity_error(
        lambda: models.Candidate.objects.filter(pk=candidate.pk).update(status="accepted")
    )


def test_curated_records_keep_history() -> None:
    proposal = factories.ProposalFactory(status="proposed")
    proposal.status = "adopted"
    proposal.save()
    assert [h.status for h in proposal.history.order_by("history_date")] == ["proposed", "adopted"]
