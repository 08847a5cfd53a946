"""Query parameters of the list endpoints and the querysets they select.

Statements and proposals take exactly the parameters of their pages and go through the
same forms and selectors (governance.search, governance.listings), so a page's query
string gives the same rows from the API; an invalid value is a 400 here, where the page
ignores it. The parameter schemas document the API and refuse malformed values (e.g. a NUL
character, which PostgreSQL cannot store) before any query runs.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from django.contrib.postgres.search import SearchQuery
from django.db.models import (
    CharField,
    Count,
    Exists,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Schema

from governance import listings, search
from governance.api.errors import form_errors
from governance.api.pagination import Keyset, Listing
from governance.models import (
    ActionPlanItem,
    Country,
    Document,
    DocumentCountry,
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

MAX_ID = 2**63 - 1  # bigint primary keys; a larger number would overflow in PostgreSQL
TEXT = r"^[^\x00]*$"
CODE = r"^([A-Za-z]{2})?$"
SLUG = r"^[-A-Za-z0-9_]*$"


def _evidence() -> Prefetch:
    return Prefetch("evidence", queryset=Evidence.objects.select_related("document"))


def _date(value: str) -> datetime.date:
    return datetime.date.fromisoformat(value)


def _datetime(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value)


def _words(q: str) -> str:
    return q.strip()[:200]


# --- Statements ------------------------------------------------------------------------

MultiCountry = list[Annotated[str, Field(pattern=r"^[A-Za-z, ]*$", max_length=500)]]
MultiSlug = list[Annotated[str, Field(pattern=r"^[-A-Za-z0-9_, ]*$", max_length=2000)]]
MultiKind = list[Annotated[str, Field(pattern=r"^[a-z_, ]*$", max_length=200)]]
MultiYear = list[Annotated[str, Field(pattern=r"^[0-9, ]*$", max_length=200)]]
DateText = Annotated[str, Field(pattern=r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$")]


class StatementQuery(Schema):
    """The /statements/ page's parameters. Repeat a parameter (`country=cn&country=us`) or
    separate values with commas for "either"; different parameters must all match."""

    q: str = Field("", max_length=200, pattern=TEXT, description="Full-text search (web syntax)")
    country: MultiCountry = Field([], description="ISO codes of the country spoken for")
    speaker: MultiSlug = Field([], description="Speaker slugs")
    proposal: MultiSlug = Field([], description="Slugs of proposals the statement is about")
    event: MultiSlug = Field([], description="Event slugs")
    kind: MultiKind = Field([], description=", ".join(Statement.Kind.values))
    year: MultiYear = Field(
        [], description="Years said, e.g. 2025 (an undated statement: its event's first day)"
    )
    date_from: DateText = Field(
        "",
        alias="from",
        description="Said on or after (YYYY-MM-DD); an undated statement made at an event "
        "with known dates counts as said during the event",
    )
    date_to: DateText = Field("", alias="to", description="Said on or before (YYYY-MM-DD)")
    dates: Literal["", "own"] = Field(
        "", description="own: only statements with their own date (none inferred from an event)"
    )
    sort: Literal["", "date", "oldest"] = Field("", description="Newest (default) or oldest first")


STATEMENTS_NEWEST = Keyset("statements", "said_on", descending=True, nullable=True, parse=_date)
STATEMENTS_OLDEST = Keyset(
    "statements-oldest", "said_on", descending=False, nullable=True, parse=_date
)


def statements_queryset(qs: QuerySet[Statement] | None = None) -> QuerySet[Statement]:
    """Statements with everything the API shows of them, in a fixed number of queries."""
    qs = Statement.objects.all() if qs is None else qs
    return qs.select_related(
        "speaker", "speaker_role", "on_behalf_of_country", "on_behalf_of_organization", "event"
    ).prefetch_related("proposals", _evidence())


def statements_detail_queryset() -> QuerySet[Statement]:
    return statements_queryset().prefetch_related("countries", "organizations")


def statements(request: HttpRequest) -> Listing:
    form = search.StatementFilterForm(request.GET)
    if not form.is_valid():
        raise form_errors(form)
    filters = search.StatementFilters.from_form(form)
    qs = statements_queryset(search.filtered_statements(filters))
    keyset = STATEMENTS_OLDEST if filters.sort == "oldest" else STATEMENTS_NEWEST
    return Listing(qs, keyset)


# --- Proposals -------------------------------------------------------------------------


class ProposalQuery(Schema):
    """The /proposals/ page's parameters."""

    q: str = Field("", max_length=200, pattern=TEXT, description="Title or summary contains")
    kind: Literal[("", *Proposal.Kind.values)] = ""  # type: ignore[valid-type]
    status: Literal[("", *Proposal.Status.values)] = ""  # type: ignore[valid-type]
    proposer: str = Field("", pattern=CODE, description="ISO code of a proposing country")
    country: str = Field("", pattern=CODE, description="ISO code of a country taking part")
    year: str = Field("", pattern=r"^([0-9]{4})?$", description="Year announced")
    sort: Literal["", "newest", "oldest", "title", "participants"] = Field(
        "", description="Newest first (default), oldest first, title, most participants"
    )


PROPOSAL_KEYSETS = {
    "newest": Keyset("proposals", "announced_on", descending=True, nullable=True, parse=_date),
    "oldest": Keyset("proposals-oldest", "announced_on", nullable=True, parse=_date),
    "title": Keyset("proposals-title", "title"),
    "participants": Keyset("proposals-participants", "participant_count", descending=True),
}


def proposals(request: HttpRequest) -> Listing:
    form = listings.ProposalFilterForm(request.GET)
    if not form.is_valid():
        raise form_errors(form)
    data = listings.valid_data(form)
    qs = listings.proposal_list(data).prefetch_related(_evidence())
    return Listing(qs, PROPOSAL_KEYSETS[data.get("sort") or "newest"])


def proposal_detail_queryset() -> QuerySet[Proposal]:
    return (
        listings.proposal_list({})
        .order_by()
        .prefetch_related(
            _evidence(),
            Prefetch("items", queryset=proposal_items()),
            Prefetch("participations", queryset=participations_queryset()),
        )
    )


def proposal_items() -> QuerySet[ActionPlanItem]:
    return ActionPlanItem.objects.order_by("position").prefetch_related(_evidence())


# --- Countries -------------------------------------------------------------------------


class CountryQuery(Schema):
    q: str = Field(
        "", max_length=100, pattern=TEXT, description="Name, alias or ISO code (as the page)"
    )


def _count(qs: QuerySet[Any], column: str) -> Coalesce:
    """A correlated count per row: separate Counts joined together would multiply."""
    counted = qs.order_by().values(column).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def countries_queryset() -> QuerySet[Country]:
    proposals = (
        Participation.objects.filter(country=OuterRef("pk"), proposal__isnull=False)
        .order_by()
        .values("country")
        .annotate(n=Count("proposal", distinct=True))
        .values("n")
    )
    return Country.objects.annotate(
        proposal_count=Coalesce(Subquery(proposals, output_field=IntegerField()), 0),
        statement_count=_count(
            Statement.objects.filter(on_behalf_of_country=OuterRef("pk")), "on_behalf_of_country"
        ),
        document_count=_count(DocumentCountry.objects.filter(country=OuterRef("pk")), "country"),
    ).prefetch_related(_evidence())


def countries(params: CountryQuery) -> Listing:
    qs = countries_queryset()
    if q := _words(params.q):
        qs = listings.countries_matching(qs, q)
    return Listing(qs, Keyset("countries", pk="code"))


# --- People and organizations ----------------------------------------------------------


class PersonQuery(Schema):
    q: str = Field("", max_length=100, pattern=TEXT, description="Name or alias contains")
    country: str = Field("", pattern=CODE, description="ISO code of a country they held a role for")


def _name_or_alias(qs: QuerySet[Any], q: str) -> QuerySet[Any]:
    # Aliases are a text array; joined with a separator no name contains, one ILIKE finds
    # a substring of any of them.
    joined = Func("aliases", Value("\x1f"), function="array_to_string", output_field=CharField())
    return qs.annotate(alias_text=joined).filter(Q(name__icontains=q) | Q(alias_text__icontains=q))


def people_queryset() -> QuerySet[Person]:
    roles = Role.objects.select_related("organization", "country").prefetch_related(_evidence())
    return Person.objects.filter(merged_into__isnull=True).prefetch_related(
        Prefetch("roles", queryset=roles), _evidence()
    )


def people(params: PersonQuery) -> Listing:
    qs = people_queryset()
    if q := _words(params.q):
        qs = _name_or_alias(qs, q)
    if params.country:
        roles = Role.objects.filter(person=OuterRef("pk"), country=params.country.upper())
        qs = qs.filter(Exists(roles))
    return Listing(qs, Keyset("people"))


class OrganizationQuery(Schema):
    q: str = Field("", max_length=100, pattern=TEXT, description="Name or alias contains")
    country: str = Field("", pattern=CODE, description="ISO code of the country it is based in")
    kind: Literal[("", *Organization.Kind.values)] = ""  # type: ignore[valid-type]


def organizations_queryset() -> QuerySet[Organization]:
    return (
        Organization.objects.filter(merged_into__isnull=True)
        .select_related("country", "parent")
        .prefetch_related("members", _evidence())
    )


def organizations(params: OrganizationQuery) -> Listing:
    qs = organizations_queryset()
    if q := _words(params.q):
        qs = _name_or_alias(qs, q)
    if params.country:
        qs = qs.filter(country=params.country.upper())
    if params.kind:
        qs = qs.filter(kind=params.kind)
    return Listing(qs, Keyset("organizations"))


# --- Participation ---------------------------------------------------------------------


class ParticipationQuery(Schema):
    proposal: str = Field("", pattern=SLUG, max_length=100, description="Proposal slug")
    event: str = Field("", pattern=SLUG, max_length=100, description="Event slug")
    country: str = Field("", pattern=CODE, description="ISO code of the participating country")
    organization: str = Field("", pattern=SLUG, max_length=100, description="Organization slug")
    person: str = Field("", pattern=SLUG, max_length=100, description="Person slug")
    role: Literal[("", *Participation.Role.values)] = ""  # type: ignore[valid-type]


def participations_queryset() -> QuerySet[Participation]:
    return Participation.objects.select_related(
        "proposal", "event", "country", "organization", "person"
    ).prefetch_related(_evidence())


def participation(params: ParticipationQuery) -> Listing:
    qs = participations_queryset()
    if params.proposal:
        qs = qs.filter(proposal__slug=params.proposal)
    if params.event:
        qs = qs.filter(event__slug=params.event)
    if params.country:
        qs = qs.filter(country=params.country.upper())
    if params.organization:
        qs = qs.filter(organization__slug=params.organization)
    if params.person:
        qs = qs.filter(person__slug=params.person)
    if params.role:
        qs = qs.filter(role=params.role)
    return Listing(qs, Keyset("participation"))


# --- Events ----------------------------------------------------------------------------


class EventQuery(Schema):
    year: int | None = Field(None, ge=1900, le=2100, description="Year it starts")
    country: str = Field("", pattern=CODE, description="ISO code of the host country")
    upcoming: bool | None = Field(
        None, description="true: not yet over (ends, or starts, today or later); false: past"
    )


def events_queryset() -> QuerySet[Event]:
    return (
        Event.objects.filter(merged_into__isnull=True)
        .select_related("country")
        .prefetch_related(_evidence())
    )


def figures_queryset() -> QuerySet[EventFigure]:
    return EventFigure.objects.order_by("id").prefetch_related(_evidence())


def events(params: EventQuery) -> Listing:
    qs = events_queryset()
    if params.year:
        qs = qs.filter(start_date__year=params.year)
    if params.country:
        qs = qs.filter(country=params.country.upper())
    if params.upcoming is not None:
        today = timezone.localdate()
        not_over = Q(end_date__gte=today) | Q(end_date__isnull=True, start_date__gte=today)
        qs = qs.filter(not_over) if params.upcoming else qs.exclude(not_over)
    keyset = Keyset("events", "start_date", descending=True, nullable=True, parse=_date)
    return Listing(qs, keyset)


# --- Documents -------------------------------------------------------------------------


class DocumentQuery(Schema):
    q: str = Field("", max_length=200, pattern=TEXT, description="Full-text search (web syntax)")
    source: int | None = Field(None, ge=1, le=MAX_ID, description="Id of the ingestion source")
    language: str = Field("", max_length=10, pattern=r"^[-A-Za-z]*$", description="e.g. en")
    country: str = Field("", pattern=CODE, description="ISO code of a country it mentions")


def documents_queryset() -> QuerySet[Document]:
    return (
        Document.objects.select_related("source")
        .defer("text")
        .prefetch_related(
            Prefetch("mentions", queryset=DocumentCountry.objects.order_by("country"))
        )
    )


def documents(params: DocumentQuery) -> Listing:
    qs = documents_queryset()
    if q := _words(params.q):
        qs = qs.filter(search_vector=SearchQuery(q, search_type="websearch", config="english"))
    if params.source:
        qs = qs.filter(source_id=params.source)
    if params.language:
        qs = qs.filter(language__iexact=params.language)
    if params.country:
        mentions = DocumentCountry.objects.filter(
            document=OuterRef("pk"), country=params.country.upper()
        )
        qs = qs.filter(Exists(mentions))
    keyset = Keyset("documents", "published_at", descending=True, nullable=True, parse=_datetime)
    return Listing(qs, keyset)
