"""The read-only endpoints: a list and a detail for each kind of record.

Lists are paged by cursor (governance.api.pagination) and never include merged duplicates.
A merged duplicate's detail answers 301 with the survivor's API address in `Location`,
like its page on the site, so a stored slug or id keeps working after a merge.
"""

# No `from __future__ import annotations` here: django-ninja builds each operation's
# parameter models from the view signatures' annotations, which must be real objects.
from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Path, Query, Router
from ninja.pagination import paginate

from governance.api import filters
from governance.api.errors import ErrorOut
from governance.api.filters import MAX_ID
from governance.api.pagination import KeysetPagination, Listing
from governance.api.schemas import (
    CountryOut,
    DocumentDetail,
    DocumentOut,
    EventDetail,
    EventOut,
    OrganizationOut,
    ParticipationOut,
    PersonOut,
    ProposalDetail,
    ProposalOut,
    StatementDetail,
    StatementOut,
)
from governance.models import Country, Document, Evidence, Statement

router = Router()

# Answers every operation may give besides its own: throttled, or the query timed out.
COMMON: dict[int, Any] = {429: ErrorOut, 503: ErrorOut}
LIST: dict[int, Any] = {400: ErrorOut, **COMMON}
DETAIL: dict[int, Any] = {301: None, 400: ErrorOut, 404: ErrorOut, **COMMON}
SLUG = Path(..., pattern=r"^[-A-Za-z0-9_]+$", max_length=100)
ID = Path(..., ge=1, le=MAX_ID)


def _slugged(request: HttpRequest, qs: Any, slug: str, url_name: str) -> Any:
    """The live record with `slug`, or a 301 to the survivor of a merged one."""
    record = qs.filter(slug=slug).first()
    if record is not None:
        return record
    merged = get_object_or_404(qs.model.objects.exclude(merged_into=None), slug=slug)
    survivor = merged.merged_into
    while survivor.merged_into_id:  # merges can chain
        survivor = survivor.merged_into
    path = reverse(f"api:{url_name}", kwargs={"slug": survivor.slug})
    return HttpResponsePermanentRedirect(request.build_absolute_uri(path))


# --- Proposals -------------------------------------------------------------------------


@router.get("/proposals", response={200: list[ProposalOut], **LIST}, tags=["proposals"])
@paginate(KeysetPagination)
def list_proposals(request: HttpRequest, params: Query[filters.ProposalQuery]) -> Listing:
    """Proposals, newest first, filtered like the /proposals/ page."""
    return filters.proposals(request)


@router.get("/proposals/{slug}", response={200: ProposalDetail, **DETAIL}, tags=["proposals"])
def get_proposal(request: HttpRequest, slug: str = SLUG) -> Any:
    """A proposal with its action-plan items, every participation and their evidence."""
    return _slugged(request, filters.proposal_detail_queryset(), slug, "get_proposal")


# --- Countries -------------------------------------------------------------------------


@router.get("/countries", response={200: list[CountryOut], **LIST}, tags=["countries"])
@paginate(KeysetPagination)
def list_countries(request: HttpRequest, params: Query[filters.CountryQuery]) -> Listing:
    """Every ISO 3166-1 country, by code, with its counts of proposals (with a recorded
    role), statements made on its behalf and documents that mention it."""
    return filters.countries(params)


@router.get("/countries/{code}", response={200: CountryOut, **DETAIL}, tags=["countries"])
def get_country(request: HttpRequest, code: str = Path(..., pattern=r"^[A-Za-z]{2}$")) -> Country:
    """A country by ISO alpha-2 code (any case). Its statements and participation are at
    /api/statements?country=… and /api/participation?country=…"""
    return get_object_or_404(filters.countries_queryset(), code=code.upper())


# --- People and organizations ----------------------------------------------------------


@router.get("/people", response={200: list[PersonOut], **LIST}, tags=["people"])
@paginate(KeysetPagination)
def list_people(request: HttpRequest, params: Query[filters.PersonQuery]) -> Listing:
    """People, by id, with the roles they held."""
    return filters.people(params)


@router.get("/people/{slug}", response={200: PersonOut, **DETAIL}, tags=["people"])
def get_person(request: HttpRequest, slug: str = SLUG) -> Any:
    """A person; their statements are at /api/statements?speaker=<slug>."""
    return _slugged(request, filters.people_queryset(), slug, "get_person")


@router.get("/organizations", response={200: list[OrganizationOut], **LIST}, tags=["organizations"])
@paginate(KeysetPagination)
def list_organizations(request: HttpRequest, params: Query[filters.OrganizationQuery]) -> Listing:
    """Organizations, by id."""
    return filters.organizations(params)


@router.get(
    "/organizations/{slug}", response={200: OrganizationOut, **DETAIL}, tags=["organizations"]
)
def get_organization(request: HttpRequest, slug: str = SLUG) -> Any:
    """An organization with its member countries."""
    return _slugged(request, filters.organizations_queryset(), slug, "get_organization")


# --- Statements ------------------------------------------------------------------------


@router.get("/statements", response={200: list[StatementOut], **LIST}, tags=["statements"])
@paginate(KeysetPagination)
def list_statements(request: HttpRequest, params: Query[filters.StatementQuery]) -> Listing:
    """Statements, newest first (undated last), with the /statements/ page's filters: the
    same query string selects the same statements."""
    return filters.statements(request)


@router.get("/statements/{id}", response={200: StatementDetail, **DETAIL}, tags=["statements"])
def get_statement(request: HttpRequest, id: int = ID) -> Statement:
    """A statement with the countries and organizations it is about."""
    qs = filters.statements_detail_queryset()
    return get_object_or_404(qs, pk=id)


# --- Participation ---------------------------------------------------------------------


@router.get(
    "/participation", response={200: list[ParticipationOut], **LIST}, tags=["participation"]
)
@paginate(KeysetPagination)
def list_participation(request: HttpRequest, params: Query[filters.ParticipationQuery]) -> Listing:
    """Who took part in which proposal or event, in what role, with the evidence. A
    country without a row for a proposal is unknown, not a "no"."""
    return filters.participation(params)


# --- Events ----------------------------------------------------------------------------


@router.get("/events", response={200: list[EventOut], **LIST}, tags=["events"])
@paginate(KeysetPagination)
def list_events(request: HttpRequest, params: Query[filters.EventQuery]) -> Listing:
    """Events, latest start first (undated last)."""
    return filters.events(params)


@router.get("/events/{slug}", response={200: EventDetail, **DETAIL}, tags=["events"])
def get_event(request: HttpRequest, slug: str = SLUG) -> Any:
    """An event with the figures reported about it; its participants are at
    /api/participation?event=<slug>."""
    qs = filters.events_queryset().prefetch_related(
        Prefetch("figures", queryset=filters.figures_queryset())
    )
    return _slugged(request, qs, slug, "get_event")


# --- Documents -------------------------------------------------------------------------


@router.get("/documents", response={200: list[DocumentOut], **LIST}, tags=["documents"])
@paginate(KeysetPagination)
def list_documents(request: HttpRequest, params: Query[filters.DocumentQuery]) -> Listing:
    """Source documents, newest published first (undated last), without their text."""
    return filters.documents(params)


@router.get("/documents/{id}", response={200: DocumentDetail, **DETAIL}, tags=["documents"])
def get_document(request: HttpRequest, id: int = ID) -> Document:
    """A document with its text and every evidence span in it (`text[start:end]` is the
    excerpt) naming the record it supports."""
    spans = Evidence.objects.select_related("content_type").order_by("start", "end")
    qs = (
        filters.documents_queryset()
        .defer(None)
        .prefetch_related(Prefetch("evidence", queryset=spans))
    )
    return get_object_or_404(qs, pk=id)
