"""What the API returns. Every record has a stable id (the numeric `id`, plus `slug` for
named records; a country's id is its ISO code) and `url`, the absolute address of its page
on the site. Every fact carries its evidence: the source's URL and the exact excerpt."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Schema


def absolute(context: dict[str, Any], path: str) -> str:
    request: HttpRequest = context["request"]
    return request.build_absolute_uri(path)


class PageUrl(Schema):
    """Mixin: `url`, the record's page on the site."""

    url: str

    @staticmethod
    def resolve_url(obj: Any, context: dict[str, Any]) -> str:
        return absolute(context, obj.get_absolute_url())


class EvidenceOut(Schema):
    document_id: int
    source_url: str
    excerpt: str
    claim: str
    evidence_url: str

    @staticmethod
    def resolve_source_url(obj: Any, context: dict[str, Any]) -> str:
        # The document's own address; pasted text has none, so its page here.
        return obj.document.url or absolute(context, obj.document.get_absolute_url())

    @staticmethod
    def resolve_evidence_url(obj: Any, context: dict[str, Any]) -> str:
        """The excerpt highlighted in the document's text on the site."""
        return absolute(context, obj.get_absolute_url())


class Evidenced(Schema):
    evidence: list[EvidenceOut]

    @staticmethod
    def resolve_evidence(obj: Any) -> list[Any]:
        return list(obj.evidence.all())


# --- References from one record to another -------------------------------------------


class CountryRef(PageUrl):
    code: str
    name: str


class PersonRef(PageUrl):
    id: int
    slug: str
    name: str


class OrganizationRef(PageUrl):
    id: int
    slug: str
    name: str


class EventRef(PageUrl):
    id: int
    slug: str
    name: str


class ProposalRef(PageUrl):
    id: int
    slug: str
    title: str


# --- Records ---------------------------------------------------------------------------


class InferredDate(Schema):
    """A record's own date stays in its own field; one without it, reported at an event
    with known dates, is dated to the event (`date_basis` "event") in these fields."""

    date_basis: str
    date_inferred_start: datetime.date | None
    date_inferred_end: datetime.date | None

    @staticmethod
    def resolve_date_inferred_start(obj: Any) -> datetime.date | None:
        return obj.date_start if obj.date_basis == "event" else None

    @staticmethod
    def resolve_date_inferred_end(obj: Any) -> datetime.date | None:
        return obj.date_end if obj.date_basis == "event" else None


class ParticipationOut(Evidenced, InferredDate):
    """Who took part in a proposal or an event, and how. Exactly one of proposal/event and
    one of country/organization/person is set. A country with no row is *unknown*."""

    id: int
    role: str
    date: datetime.date | None
    note: str
    proposal: ProposalRef | None
    event: EventRef | None
    country: CountryRef | None
    organization: OrganizationRef | None
    person: PersonRef | None


class ProposerOut(Schema):
    role: str
    date: datetime.date | None
    country: CountryRef | None
    organization: OrganizationRef | None
    person: PersonRef | None


class ProposalOut(PageUrl, Evidenced):
    id: int
    slug: str
    title: str
    aliases: list[str]
    kind: str
    status: str
    announced_on: datetime.date | None
    event: EventRef | None
    summary: str
    proposed_headquarters: str
    # The statement that names the seat: who said it (its page is /statements/<id>/).
    headquarters_statement_id: int | None
    participant_count: int
    proposers: list[ProposerOut]

    @staticmethod
    def resolve_proposers(obj: Any) -> list[Any]:
        return list(obj.proposer_rows)


class ActionItemOut(Evidenced):
    position: int
    heading: str
    text: str
    themes: list[str]


class ProposalDetail(ProposalOut):
    items: list[ActionItemOut]
    participations: list[ParticipationOut]

    @staticmethod
    def resolve_items(obj: Any) -> list[Any]:
        return list(obj.items.all())

    @staticmethod
    def resolve_participations(obj: Any) -> list[Any]:
        return list(obj.participations.all())


class CountryOut(PageUrl, Evidenced):
    code: str
    alpha3: str
    name: str
    official_name: str
    region: str
    subregion: str
    proposal_count: int
    statement_count: int
    document_count: int


class RoleOut(Evidenced):
    title: str
    organization: OrganizationRef | None
    country: CountryRef | None
    start_date: datetime.date | None
    end_date: datetime.date | None
    former: bool


class PersonOut(PageUrl, Evidenced):
    id: int
    slug: str
    name: str
    aliases: list[str]
    description: str
    roles: list[RoleOut]

    @staticmethod
    def resolve_roles(obj: Any) -> list[Any]:
        return list(obj.roles.all())


class OrganizationOut(PageUrl, Evidenced):
    id: int
    slug: str
    name: str
    kind: str
    country: CountryRef | None
    parent: OrganizationRef | None
    aliases: list[str]
    description: str
    members: list[CountryRef]

    @staticmethod
    def resolve_members(obj: Any) -> list[Any]:
        return list(obj.members.all())


class StatementOut(PageUrl, Evidenced, InferredDate):
    """`text` never holds a quotation mark the source does not have; `display_text` is the
    text as shown, with marks around the quoted words only (`quoted`: a partial quote's
    quoted words, each verbatim in the evidence; a direct quote is quoted whole)."""

    id: int
    kind: str
    text: str
    quoted: list[str]
    display_text: str
    said_on: datetime.date | None
    speaker: PersonRef | None
    speaker_role: str | None
    country: CountryRef | None
    organization: OrganizationRef | None
    event: EventRef | None
    proposals: list[ProposalRef]

    @staticmethod
    def resolve_speaker_role(obj: Any) -> str | None:
        return obj.speaker_role.title if obj.speaker_role else None

    @staticmethod
    def resolve_country(obj: Any) -> Any:
        return obj.on_behalf_of_country

    @staticmethod
    def resolve_organization(obj: Any) -> Any:
        return obj.on_behalf_of_organization

    @staticmethod
    def resolve_proposals(obj: Any) -> list[Any]:
        return list(obj.proposals.all())


class StatementDetail(StatementOut):
    """Also the countries and organizations the statement is about."""

    countries_mentioned: list[CountryRef]
    organizations_mentioned: list[OrganizationRef]

    @staticmethod
    def resolve_countries_mentioned(obj: Any) -> list[Any]:
        return list(obj.countries.all())

    @staticmethod
    def resolve_organizations_mentioned(obj: Any) -> list[Any]:
        return list(obj.organizations.all())


class FigureOut(Evidenced):
    label: str
    value: int
    qualifier: str
    note: str


class EventOut(PageUrl, Evidenced):
    id: int
    slug: str
    name: str
    short_name: str
    city: str
    country: CountryRef | None
    start_date: datetime.date | None
    end_date: datetime.date | None
    theme: str
    description: str


class EventDetail(EventOut):
    figures: list[FigureOut]

    @staticmethod
    def resolve_figures(obj: Any) -> list[Any]:
        return list(obj.figures.all())


class SourceRef(Schema):
    id: int
    name: str
    kind: str


class DocumentOut(PageUrl):
    """A source document. `source_url` is where it was published (null for pasted text);
    `url` is its page here, with every evidence span highlighted."""

    id: int
    source_url: str | None
    title: str
    publisher: str
    author: str
    published_at: datetime.datetime | None
    language: str
    fetched_at: datetime.datetime
    source: SourceRef | None
    countries: list[str]

    @staticmethod
    def resolve_source_url(obj: Any) -> str | None:
        return obj.url

    @staticmethod
    def resolve_countries(obj: Any) -> list[str]:
        """ISO codes of the countries the text mentions."""
        return [m.country_id for m in obj.mentions.all()]


class SpanOut(Schema):
    """One evidence span of the document and the record it supports."""

    start: int
    end: int
    excerpt: str
    claim: str
    record_type: str
    record_id: str

    @staticmethod
    def resolve_record_type(obj: Any) -> str:
        return obj.content_type.model

    @staticmethod
    def resolve_record_id(obj: Any) -> str:
        return obj.object_id


class DocumentDetail(DocumentOut):
    text: str
    evidence: list[SpanOut]

    @staticmethod
    def resolve_evidence(obj: Any) -> list[Any]:
        return list(obj.evidence.all())
