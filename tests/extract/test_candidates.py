"""Candidates from an Extraction: pending replaced, decided kept, countries published."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from governance.extract.candidates import (
    PARAPHRASE_OVERLAP,
    Curated,
    _event_names,
    _first_named,
    _named,
    _paraphrase_statement,
    _quoted_statement,
    _says_the_same,
    write_candidates,
)
from governance.extract.types import (
    CountryFound,
    EventFound,
    Extraction,
    Mention,
    ParaphraseFound,
    PersonFound,
    QuoteFound,
)
from governance.models import Candidate, Document, DocumentCountry, Organization, Person
from governance.seed import load_seed
from governance.tasks import extract_document
from tests import factories

pytestmark = pytest.mark.django_db

TEXT = "Chinese Premier Li Qiang said: “AI should be a common good.” Washington disagreed."


def extraction(quote_text: str = "AI should be a common good.") -> Extraction:
    start = TEXT.index(quote_text)
    return Extraction(
        countries=[
            CountryFound("CN", [Mention("Chinese", 0, 7, "demonym")]),
            CountryFound("US", [Mention("Washington", 61, 71, "capital")]),
        ],
        people=[PersonFound("Li Qiang", "Premier", "China", [Mention("Li Qiang", 16, 24)])],
        quotes=[QuoteFound("Li Qiang", quote_text, start, start + len(quote_text))],
    )


@pytest.fixture
def document() -> Document:
    load_seed()  # Li Qiang and China exist as curated records
    return factories.DocumentFactory(text=TEXT)


def test_candidates_link_to_existing_records_and_spans_are_exact(document: Document) -> None:
    counts = write_candidates(document, extraction())
    assert counts["candidates"] == 4
    person = Candidate.objects.get(kind="person")
    assert person.record.name == "Li Qiang" and person.excerpt == "Li Qiang"
    china = Candidate.objects.get(kind="country", payload__code="CN")
    assert china.record.code == "CN"
    quote = Candidate.objects.get(kind="quote")
    assert quote.payload["speaker_id"] == person.record.pk
    for candidate in Candidate.objects.all():
        assert document.text[candidate.start : candidate.end] == candidate.excerpt
    document.refresh_from_db()
    assert document.extraction_status == "done" and document.extracted_at
    mentions = {m.country_id: m for m in DocumentCountry.objects.filter(document=document)}
    assert set(mentions) == {"CN", "US"}
    assert mentions["US"].mention_types == ["capital"]


def test_rerun_replaces_pending_and_never_touches_decided(document: Document) -> None:
    write_candidates(document, extraction())
    decided = Candidate.objects.get(kind="person")
    decided.status = Candidate.Status.ACCEPTED
    decided.decided_at = timezone.now()
    decided.save()
    pending_before = set(Candidate.objects.filter(status="pending").values_list("pk", flat=True))
    write_candidates(document, extraction())
    assert Candidate.objects.filter(kind="person").count() == 1  # not duplicated
    assert Candidate.objects.get(kind="person").status == "accepted"
    pending_after = set(Candidate.objects.filter(status="pending").values_list("pk", flat=True))
    assert pending_after and not (pending_after & pending_before)  # replaced, not kept
    assert Candidate.objects.count() == 4
    assert DocumentCountry.objects.filter(document=document).count() == 2


def test_unsupported_language_gets_no_candidates(document: Document) -> None:
    write_candidates(document, Extraction(language="fr", supported=False))
    document.refresh_from_db()
    assert document.extraction_status == "unsupported"
    assert "not supported" in document.extraction_error
    assert not Candidate.objects.exists()


def test_task_marks_non_english_documents_unsupported() -> None:
    document = factories.DocumentFactory(
        language="fr", text="La Chine a proposé une organisation mondiale de coopération."
    )
    result = extract_document.run(document_id=document.pk)
    assert result["status"] == "done"
    document.refresh_from_db()
    assert document.extraction_status == "unsupported"


def test_task_records_a_failure_and_keeps_the_document(
    document: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> Extraction:
        raise RuntimeError("rule bug")

    monkeypatch.setattr("governance.extract.pipeline.extract", broken)
    assert extract_document.run(document_id=document.pk)["status"] == "failed"
    document.refresh_from_db()
    assert document.extraction_status == "failed" and "rule bug" in document.extraction_error
    assert extract_document.run(document_id=10**9)["status"] == "gone"


def test_admin_shows_candidates_with_highlighted_evidence(
    document: Document, admin_client: object
) -> None:
    from django.urls import reverse

    write_candidates(document, extraction())
    page = admin_client.get(reverse("admin:governance_document_change", args=[document.pk]))
    html = page.content.decode()
    assert "<mark>Li Qiang</mark>" in html and "<mark>Washington</mark>" in html
    quote = Candidate.objects.get(kind="quote")
    detail = admin_client.get(reverse("admin:governance_candidate_change", args=[quote.pk]))
    assert "<mark>AI should be a common good.</mark>" in detail.content.decode()


@pytest.mark.parametrize("model", [Person, Organization])
def test_a_name_finds_the_record_the_orm_finds(model: type[Person] | type[Organization]) -> None:
    """_first_named's one query agrees with `filter(_named(name)).first()` for each name:
    case, aliases, two records with one name (the first by the model's ordering)."""
    make = factories.PersonFactory if model is Person else factories.OrganizationFactory
    make(name="Zhang Wei", aliases=["Wei Zhang"])
    make(name="Alpha Zhang", aliases=["Zhang Wei"])  # an alias sorting before the name
    make(name="ÉLYSÉE Palace")
    make(name="Li Qiang", aliases=["Premier Li", "李强"])
    make(name="li qiang")  # same name, other case: two records
    names = [
        "zhang wei",
        "Zhang Wei",
        "Wei Zhang",
        "élysée palace",
        "Premier Li",
        "李强",
        "LI QIANG",
        "premier li",
        "Nobody",
        "Zhang",
    ]
    found = _first_named(model, names)
    expected = {n: model.objects.filter(_named(n)).first() for n in names}
    assert found == {n: record for n, record in expected.items() if record is not None}
    assert {"zhang wei", "Wei Zhang", "李强", "LI QIANG"} <= set(found)
    assert not {"premier li", "Nobody", "Zhang"} & set(found)  # aliases match as written
    assert _first_named(model, []) == {}


def test_a_found_event_is_the_curated_event_the_orm_finds() -> None:
    """Curated.event, from one query for a batch, agrees with the query each found event
    made before: any of its names, case-insensitive, as name or short name; the first by
    Event's ordering (newest start first) when several match."""
    from datetime import date

    from django.db.models import Q

    from governance.models import Event

    factories.EventFactory(
        name="World AI Conference 2024", short_name="WAIC", start_date=date(2024, 7, 4)
    )
    factories.EventFactory(
        name="World AI Conference 2025", short_name="WAIC", start_date=date(2025, 7, 26)
    )
    factories.EventFactory(name="AI Action Summit", short_name="", start_date=date(2025, 2, 10))
    factories.EventFactory(name="ai seoul summit")
    found = [
        EventFound("World AI Conference", short_name="WAIC", year="2025"),
        EventFound("World AI Conference", short_name="waic"),
        EventFound("AI ACTION SUMMIT"),
        EventFound("AI Seoul Summit", year="2024"),
        EventFound("Paris Peace Forum"),
    ]
    curated = Curated.named_in([Extraction(events=found)])

    def one_query(event: EventFound) -> Event | None:
        query = Q()
        for name in _event_names(event):
            query |= Q(name__iexact=name) | Q(short_name__iexact=name)
        return Event.objects.filter(query).first()

    expected = [one_query(event) for event in found]
    assert [curated.event(event) for event in found] == expected
    assert [e.name if e else None for e in expected] == [
        "World AI Conference 2025",
        "World AI Conference 2025",
        "AI Action Summit",
        "ai seoul summit",  # its name without the year, in another case
        None,
    ]


def test_a_batch_lookup_files_the_same_candidates_as_one_document_alone() -> None:
    """write_candidates with the records looked up for a batch (as extract_documents
    does) files exactly what it files looking them up for the one document."""
    load_seed()
    alone = factories.DocumentFactory(text=TEXT)
    batched = factories.DocumentFactory(text=TEXT + " More.")  # the same spans, another text
    other = Extraction(
        people=[PersonFound("Nobody Known", "", "", [Mention("Nobody Known", 0, 12)])]
    )
    write_candidates(alone, extraction())
    write_candidates(batched, extraction(), Curated.named_in([other, extraction()]))

    def filed(document: Document) -> list[tuple]:
        return list(
            Candidate.objects.filter(document=document)
            .order_by("kind", "start", "end", "extractor")
            .values_list("kind", "start", "end", "extractor", "record_type", "record_id", "payload")
        )

    assert filed(batched) == filed(alone)
    assert any(record_id for *_, record_id, _ in filed(alone))  # records were linked
    assert set(batched.mentions.values_list("country_id", flat=True)) == {"CN", "US"}


def test_a_paraphrase_links_to_the_statement_a_scan_of_them_all_finds() -> None:
    """_paraphrase_statement lets PostgreSQL narrow the speaker's paraphrases before it
    compares them; it finds what comparing every one of them finds: containment either
    way (case, final period), a shared run of PARAPHRASE_OVERLAP characters wherever it
    falls, none for one character less, the first in Statement's order."""
    import random

    from governance.models import Statement

    rng = random.Random(9)
    words = [
        "ai",
        "safety",
        "shared",
        "governance",
        "open",
        "models",
        "compute",
        "export",
        "rules",
        "global",
        "south",
    ]

    def sentence(n: int) -> str:
        return " ".join(rng.choice(words) for _ in range(n))

    speaker, other = factories.PersonFactory(), factories.PersonFactory()
    base = "china will share its ai development experience and technologies with other countries"
    texts = [
        base.upper() + ".",  # contains it, another case
        "Will share its AI development experience.",  # inside it, final period
        sentence(6) + " " + base[17 : 17 + PARAPHRASE_OVERLAP] + " " + sentence(6),
        sentence(5) + " " + base[40 : 40 + PARAPHRASE_OVERLAP - 1] + " " + sentence(5),
        *[sentence(rng.randint(3, 25)) for _ in range(60)],
        *[sentence(4) + " " + base[i : i + PARAPHRASE_OVERLAP] for i in range(0, 50, 7)],
    ]
    for i, text in enumerate(texts):
        factories.StatementFactory(
            speaker=speaker,
            kind=Statement.Kind.PARAPHRASE,
            text=text,
            said_on=date(2025, 1, 1 + i % 28),
        )
    # Shorter than an overlap, inside what is asked, and the newest: found first.
    factories.StatementFactory(
        speaker=speaker,
        kind=Statement.Kind.PARAPHRASE,
        text="Share its AI.",
        said_on=date(2026, 1, 1),
    )
    # A partial quote is reported speech too (its quoted words are part of its text).
    factories.StatementFactory(
        speaker=speaker,
        kind=Statement.Kind.PARTIAL_QUOTE,
        text="It said china would share its ai development experience freely.",
        quoted=["share its ai development experience"],
        said_on=date(2024, 6, 1),
    )
    factories.StatementFactory(speaker=other, kind=Statement.Kind.PARAPHRASE, text=base)
    factories.StatementFactory(speaker=speaker, kind=Statement.Kind.DIRECT_QUOTE, text=base)

    def scan(found: ParaphraseFound) -> Statement | None:  # every paraphrase compared
        mine = found.text.lower()
        every = Statement.objects.filter(speaker=speaker, kind__in=["paraphrase", "partial_quote"])
        return next((st for st in every if _says_the_same(mine, st.text.lower())), None)

    asked = [base, base[:20], base[30:], "nothing like it at all, not one word of it"]
    asked += [sentence(rng.randint(2, 30)) for _ in range(80)]
    asked += [base[i : i + PARAPHRASE_OVERLAP + rng.randint(-1, 3)] for i in range(0, 55, 3)]
    linked = 0
    for text in asked:
        found = ParaphraseFound(speaker.name, text, 0, len(text))
        expected = scan(found)
        assert _paraphrase_statement(speaker, found) == expected, text
        linked += expected is not None
    assert 20 < linked < len(asked)  # both outcomes were tried, many times


def test_a_quote_links_to_the_statement_the_orm_finds() -> None:
    """_quoted_statement asks PostgreSQL in SQL what Statement.objects.filter(speaker=...,
    text__icontains=...).first() asks: the same statement for quotes in another case,
    with LIKE's own characters (%, _, backslash), none, or several (the first in
    Statement's order: the newest, undated last, then the highest id)."""
    from governance.models import Statement

    speaker, other = factories.PersonFactory(), factories.PersonFactory()
    texts = [
        "AI should be a global public good.",
        "ai SHOULD be a global public good, shared by all.",
        "Compute grew 50% in a year_on_year count.",
        "A path like C:\\models\\open is not a policy.",
        "We will share open models with the Global South.",
    ]
    days = [date(2025, 7, 26), None, date(2025, 7, 26), date(2024, 1, 1), None]
    again = [f"{text} Again." for text in texts]
    for text, day in zip(texts + again, days + days[::-1], strict=True):
        factories.StatementFactory(speaker=speaker, text=text, said_on=day)
    factories.StatementFactory(speaker=other, text="AI should be a global public good.")
    asked = [
        "should be a global public good",
        "AI SHOULD BE",
        "50% in a year_on_year",
        "50_ in a year%on",
        "C:\\models\\open",
        "with the global south",
        "not said by anyone",
        "good.",
    ]
    linked = 0
    for quoted in asked:
        expected = Statement.objects.filter(speaker=speaker, text__icontains=quoted).first()
        found = _quoted_statement(speaker, quoted)
        assert found == expected, quoted
        assert found is None or (found.text, found.said_on) == (expected.text, expected.said_on)
        linked += found is not None
    assert 3 < linked < len(asked)
