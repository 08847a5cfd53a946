"""A small, deterministic dataset for the analyst-UI tests, built through the models.

Every statement, participation and figure has a Document and an exact Evidence span.
Alongside the database rows, the builder returns plain Python records (`UIData`), so
tests compute what a page should show from the dataset itself, never from the code
under test.

The vocabulary of statement texts is closed: topic words (TOPICS) never share an
English stem with any other word used, so "does the text contain the word" in Python
is the same question as Postgres's `english` full-text match.

`ui_data` is module-scoped: built once per test module inside a transaction that is
rolled back when the module ends; each test still runs in its own savepoint.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import models as dj_models
from django.db import transaction

from governance import models

TOPICS = (
    "safety",
    "cooperation",
    "innovation",
    "sovereignty",
    "openness",
    "compute",
    "talent",
    "export",
)
VERBS = ("stressed", "urged", "welcomed", "questioned", "praised")
KINDS = (
    models.Statement.Kind.DIRECT_QUOTE,
    models.Statement.Kind.PARTIAL_QUOTE,
    models.Statement.Kind.PARAPHRASE,
    models.Statement.Kind.REMARKS,
)
USED_COUNTRIES = ("CN", "US", "GB", "FR", "DE", "KR")
XSS_WORD = "quarantine"
XSS_TEXT = f"Wang Yi warned of {XSS_WORD} <script>alert(1)</script> tricks in item 60"

# (name, role title, country code or None for the United Nations envoy, speaks?)
PEOPLE: tuple[tuple[str, str, str | None, bool], ...] = (
    ("Li Qiang", "Premier", "CN", True),
    ("Wang Yi", "Foreign Minister", "CN", True),
    ("Antony Blinken", "Secretary of State", "US", True),
    ("Gina Raimondo", "Secretary of Commerce", "US", True),
    ("Rishi Sunak", "Prime Minister", "GB", True),
    ("Michelle Donelan", "Science Secretary", "GB", True),
    ("Emmanuel Macron", "President", "FR", True),
    ("Olaf Scholz", "Chancellor", "DE", True),
    ("Yoon Suk Yeol", "President", "KR", True),
    ("Amandeep Gill", "Envoy on Technology", None, True),
    ("Ursula Quietly", "Digital Minister", "DE", False),
)

ORGANIZATIONS = (
    ("United Nations", models.Organization.Kind.INTERGOVERNMENTAL, None),
    ("Ministry of Foreign Affairs of China", models.Organization.Kind.GOVERNMENT, "CN"),
    ("Organisation for Economic Co-operation and Development", "intergovernmental", None),
    ("Frontier Lab Incorporated", models.Organization.Kind.COMPANY, "US"),
    ("Institute for Trustworthy Machines", models.Organization.Kind.RESEARCH, "GB"),
)

# key: (name, short name, city, country, start, end)
EVENTS: dict[str, tuple[str, str, str, str, datetime.date, datetime.date]] = {
    "waic": (
        "World Artificial Intelligence Conference 2025",
        "WAIC 2025",
        "Shanghai",
        "CN",
        datetime.date(2025, 7, 26),
        datetime.date(2025, 7, 28),
    ),
    "bletchley": (
        "AI Safety Summit 2023",
        "Bletchley 2023",
        "Bletchley Park",
        "GB",
        datetime.date(2023, 11, 1),
        datetime.date(2023, 11, 2),
    ),
    "paris": (
        "AI Action Summit",
        "Paris 2025",
        "Paris",
        "FR",
        datetime.date(2025, 2, 10),
        datetime.date(2025, 2, 11),
    ),
}
EVENT_PARTICIPANTS = {"waic": [("CN", "host")], "bletchley": [("GB", "host"), ("US", "delegate")]}

# key: (title, kind, status, announced_on, event key)
PROPOSALS: dict[str, tuple[str, str, str, datetime.date | None, str | None]] = {
    "waico": (
        "World AI Cooperation Organization",
        "international_body",
        "proposed",
        datetime.date(2025, 7, 26),
        "waic",
    ),
    "plan": (
        "Action Plan for Global AI Governance",
        "action_plan",
        "adopted",
        datetime.date(2025, 7, 26),
        "waic",
    ),
    "bletchley": (
        "Bletchley Declaration",
        "declaration",
        "adopted",
        datetime.date(2023, 11, 1),
        "bletchley",
    ),
    "paris": (
        "Paris Statement on Inclusive AI",
        "declaration",
        "adopted",
        datetime.date(2025, 2, 11),
        "paris",
    ),
    "chips": (
        "Advanced Compute Export Rule",
        "export_control",
        "in_force",
        datetime.date(2024, 12, 2),
        None,
    ),
}

D = datetime.date
# (proposal key, participant, role, date): a participant is a country code, "org:<name>"
# or "person:<name>".
PARTICIPATIONS: tuple[tuple[str, str, str, datetime.date | None], ...] = (
    ("waico", "CN", "proposer", D(2025, 7, 26)),
    ("waico", "KR", "supporter", D(2025, 7, 28)),
    ("waico", "org:United Nations", "observer", D(2025, 7, 27)),
    ("waico", "person:Li Qiang", "announcer", D(2025, 7, 26)),
    ("plan", "CN", "issuer", D(2025, 7, 26)),
    ("plan", "FR", "supporter", D(2025, 8, 1)),
    ("bletchley", "GB", "host", D(2023, 11, 1)),
    ("bletchley", "GB", "proposer", D(2023, 10, 20)),
    ("bletchley", "US", "signatory", D(2023, 11, 1)),
    ("bletchley", "CN", "signatory", D(2023, 11, 1)),
    ("bletchley", "FR", "signatory", D(2023, 11, 1)),
    ("bletchley", "DE", "signatory", D(2023, 11, 1)),
    ("bletchley", "KR", "signatory", D(2023, 11, 2)),
    ("paris", "FR", "proposer", D(2025, 2, 10)),
    ("paris", "DE", "signatory", D(2025, 2, 11)),
    ("paris", "CN", "signatory", D(2025, 2, 11)),
    ("paris", "US", "declined", D(2025, 2, 11)),
    ("paris", "GB", "declined", D(2025, 2, 12)),
    ("chips", "US", "issuer", D(2024, 12, 2)),
    ("chips", "CN", "target", None),
)


@dataclass(frozen=True)
class StatementRow:
    pk: int
    text: str
    kind: str
    said_on: datetime.date | None
    country: str | None  # on_behalf_of_country, upper-case code
    speaker: str | None  # slug
    proposals: frozenset[str]  # slugs
    event: str | None  # slug
    document_id: int


@dataclass(frozen=True)
class ParticipationRow:
    pk: int
    proposal: str  # proposal key in PROPOSALS
    country: str | None
    role: str
    date: datetime.date | None
    evidence_url: str


@dataclass
class UIData:
    statements: list[StatementRow] = field(default_factory=list)
    participations: list[ParticipationRow] = field(default_factory=list)
    people: dict[str, models.Person] = field(default_factory=dict)
    roles: dict[str, models.Role] = field(default_factory=dict)
    organizations: dict[str, models.Organization] = field(default_factory=dict)
    events: dict[str, models.Event] = field(default_factory=dict)
    proposals: dict[str, models.Proposal] = field(default_factory=dict)
    documents: list[models.Document] = field(default_factory=list)
    # document id -> country codes it mentions (DocumentCountry rows)
    mentions: dict[int, set[str]] = field(default_factory=dict)
    source: models.Source | None = None

    def statement(self, pk: int) -> StatementRow:
        return next(s for s in self.statements if s.pk == pk)

    def proposal_slug(self, key: str) -> str:
        return self.proposals[key].slug


def words(text: str) -> list[str]:
    """Lower-case word tokens, the way the closed vocabulary is matched in tests."""
    return re.findall(r"[a-z0-9]+", text.lower())


def add_evidence(record: dj_models.Model, document: models.Document, excerpt: str) -> Any:
    start = document.text.index(excerpt)
    return models.Evidence.objects.create(
        content_type=ContentType.objects.get_for_model(record),
        object_id=str(record.pk),
        document=document,
        start=start,
        end=start + len(excerpt),
        excerpt=excerpt,
        claim="test fixture",
    )


def _document(data: UIData, title: str, text: str, published: datetime.date | None) -> Any:
    published_at = (
        datetime.datetime.combine(published, datetime.time(12), tzinfo=datetime.UTC)
        if published
        else None
    )
    document = models.Document.objects.create(
        source=data.source,
        title=title,
        text=text,
        language="en",
        published_at=published_at,
        extraction_status=models.ExtractionStatus.DONE,
    )
    data.documents.append(document)
    data.mentions[document.pk] = set()
    return document


def _mention(data: UIData, document: models.Document, code: str, name: str) -> None:
    start = document.text.index(name)
    models.DocumentCountry.objects.create(
        document=document, country_id=code, start=start, end=start + len(name)
    )
    data.mentions[document.pk].add(code)


def _add_person(data: UIData, name: str, title: str, code: str | None) -> None:
    person = models.Person.objects.create(name=name, description=f"{title} (test)")
    role = models.Role.objects.create(
        person=person,
        title=title,
        country_id=code,
        organization=None if code else data.organizations["United Nations"],
        start_date=datetime.date(2022, 1, 1),
    )
    data.people[name] = person
    data.roles[name] = role


def statement_text(i: int, surname: str) -> str:
    topic_a, topic_b = TOPICS[i % 8], TOPICS[(i // 8 + 3 * i + 2) % 8]
    extra = {11: " sovereignty sovereignty", 35: " sovereignty"}.get(i, "")
    phrase = {0: ". AI must serve the common good", 3: ". A good outcome is common ground"}.get(
        i % 6, ""
    )
    return f"{surname} {VERBS[i % 5]} {topic_a} and {topic_b}{extra} in item {i}{phrase}"


def _add_statement(
    data: UIData,
    i: int,
    *,
    speaker: str | None,
    kind: str,
    said_on: datetime.date | None,
    event: str | None,
    proposals: list[str],
    text: str,
) -> None:
    person = data.people[speaker] if speaker else None
    role = data.roles[speaker] if speaker else None
    code = role.country_id if role else None
    statement = models.Statement.objects.create(
        speaker=person,
        speaker_role=role,
        on_behalf_of_country_id=code,
        on_behalf_of_organization=None if code else data.organizations["United Nations"],
        kind=kind,
        text=text,
        said_on=said_on,
        event=data.events[event] if event else None,
    )
    statement.proposals.set([data.proposals[p] for p in proposals])
    country_name = models.Country.objects.get(code=code).name if code else None
    where = f" from {country_name}" if country_name else ""
    document = _document(
        data,
        f"Report {i}{where}",
        f"Report {i}{where}. {speaker or 'A delegate'} said: “{text}” End of report {i}.",
        said_on,
    )
    if code and country_name:
        _mention(data, document, code, country_name)
    add_evidence(statement, document, text)
    data.statements.append(
        StatementRow(
            pk=statement.pk,
            text=text,
            kind=kind,
            said_on=said_on,
            country=code,
            speaker=person.slug if person else None,
            proposals=frozenset(data.proposals[p].slug for p in proposals),
            event=data.events[event].slug if event else None,
            document_id=document.pk,
        )
    )


def _statements(data: UIData, indices: range, speakers: list[str]) -> None:
    proposal_keys = list(PROPOSALS)
    for i in indices:
        speaker = speakers[i % len(speakers)]
        said_on = (
            None
            if i % 24 == 17
            else datetime.date(2023, 1, 15) + datetime.timedelta(days=(i * 29) % 1400)
        )
        event = ("waic", "bletchley", "paris", None)[i % 4]
        proposals = {
            0: [proposal_keys[0]],
            1: [proposal_keys[1], proposal_keys[2]],
            2: [],
            3: [proposal_keys[3]],
            4: [proposal_keys[0], proposal_keys[4]],
        }[(i // 3) % 5]
        _add_statement(
            data,
            i,
            speaker=speaker,
            kind=KINDS[(i % 10 + i // 10) % 4],
            said_on=said_on,
            event=event,
            proposals=proposals,
            text=statement_text(i, speaker.split()[-1]),
        )


def build_ui_data() -> UIData:
    data = UIData()
    data.source = models.Source.objects.create(
        name="UI test reports", kind=models.Source.Kind.MANUAL
    )
    for name, kind, code in ORGANIZATIONS:
        data.organizations[name] = models.Organization.objects.create(
            name=name, kind=kind, country_id=code
        )
    for name, title, code, _ in PEOPLE:
        _add_person(data, name, title, code)
    for key, (name, short, city, code, start, end) in EVENTS.items():
        data.events[key] = models.Event.objects.create(
            name=name, short_name=short, city=city, country_id=code, start_date=start, end_date=end
        )
    for key, (title, kind, status, announced, event) in PROPOSALS.items():
        data.proposals[key] = models.Proposal.objects.create(
            title=title,
            kind=kind,
            status=status,
            announced_on=announced,
            event=data.events[event] if event else None,
            summary=f"Summary of {title}.",
        )
    _participations(data, PARTICIPATIONS)
    for key, rows in EVENT_PARTICIPANTS.items():
        for code, role in rows:
            models.Participation.objects.create(event=data.events[key], country_id=code, role=role)

    speakers = [name for name, _, _, speaks in PEOPLE if speaks]
    _statements(data, range(60), speakers)
    # Markup in a quote must reach the page escaped, highlighted or not.
    _add_statement(
        data,
        60,
        speaker="Wang Yi",
        kind=models.Statement.Kind.DIRECT_QUOTE,
        said_on=datetime.date(2024, 3, 3),
        event=None,
        proposals=[],
        text=XSS_TEXT,
    )
    _add_statement(
        data,
        61,
        speaker=None,
        kind=models.Statement.Kind.PARAPHRASE,
        said_on=datetime.date(2024, 6, 1),
        event="paris",
        proposals=["paris"],
        text="Delegates said safety and openness matter in item 61",
    )
    return data


def _participations(
    data: UIData, rows: tuple[tuple[str, str, str, datetime.date | None], ...]
) -> None:
    by_proposal: dict[str, list[tuple[str, str, datetime.date | None]]] = {}
    for key, who, role, date in rows:
        by_proposal.setdefault(key, []).append((who, role, date))
    for key, entries in by_proposal.items():
        proposal = data.proposals[key]
        sentences = [
            f"Record {n} of {proposal.title}: {who} is {role}{f' on {date}' if date else ''}."
            for n, (who, role, date) in enumerate(entries)
        ]
        document = _document(
            data, f"Participants in {proposal.title}", " ".join(sentences), proposal.announced_on
        )
        for sentence, (who, role, date) in zip(sentences, entries, strict=True):
            kwargs: dict[str, Any] = {}
            if who.startswith("org:"):
                kwargs["organization"] = data.organizations[who[4:]]
            elif who.startswith("person:"):
                kwargs["person"] = data.people[who[7:]]
            else:
                kwargs["country_id"] = who
            participation = models.Participation.objects.create(
                proposal=proposal, role=role, date=date, **kwargs
            )
            evidence = add_evidence(participation, document, sentence)
            data.participations.append(
                ParticipationRow(
                    pk=participation.pk,
                    proposal=key,
                    country=kwargs.get("country_id"),
                    role=role,
                    date=date,
                    evidence_url=evidence.get_absolute_url(),
                )
            )


def grow(data: UIData, factor: int = 3) -> None:
    """Add (factor - 1) times as much of everything: people, statements, proposals,
    participations, events, organizations, documents. For query-count tests."""
    extra_people: list[str] = []
    codes = [*USED_COUNTRIES, "IN", "JP", "BR"]
    for n in range(len(PEOPLE) * (factor - 1)):
        name = f"Extra Official{n}"
        _add_person(data, name, "Delegate", codes[n % len(codes)])
        extra_people.append(name)
    for n in range(2 * (factor - 1)):
        key = f"extra-event-{n}"
        data.events[key] = models.Event.objects.create(
            name=f"Extra Forum {n}",
            city="Geneva",
            country_id=codes[n % len(codes)],
            start_date=datetime.date(2024, 1 + n, 3),
        )
        models.Participation.objects.create(event=data.events[key], country_id="CN", role="host")
    for n in range(len(ORGANIZATIONS) * (factor - 1)):
        models.Organization.objects.create(
            name=f"Extra Institute {n}", kind="research", country_id=codes[n % len(codes)]
        )
    extra_rows: list[tuple[str, str, str, datetime.date | None]] = []
    for n in range(len(PROPOSALS) * (factor - 1)):
        key = f"extra-{n}"
        data.proposals[key] = models.Proposal.objects.create(
            title=f"Extra Accord {n}",
            kind=("declaration", "framework", "export_control")[n % 3],
            status=("adopted", "proposed")[n % 2],
            announced_on=datetime.date(2024, 1 + n % 12, 5),
            event=data.events["waic"],
        )
        for j in range(3 + n % 4):
            role = ("proposer", "signatory", "declined", "supporter")[j % 4]
            extra_rows.append((key, codes[(n + j) % len(codes)], role, datetime.date(2024, 6, 1)))
        extra_rows.append((key, f"person:{extra_people[n]}", "speaker", None))
    _participations(data, tuple(dict.fromkeys(extra_rows)))
    start = 100
    count = 60 * (factor - 1)
    speakers = [name for name, _, _, speaks in PEOPLE if speaks] + extra_people
    _statements(data, range(start, start + count), speakers)


@pytest.fixture(scope="module")
def ui_data(django_db_setup: Any, django_db_blocker: Any) -> Iterator[UIData]:
    """The dataset, built once per module and rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_ui_data()
        transaction.set_rollback(True)
