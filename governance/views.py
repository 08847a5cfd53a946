"""Public pages. Typed function views; reads come from selectors.py."""

from __future__ import annotations

from django.contrib.postgres.expressions import ArraySubquery
from django.core.paginator import Paginator
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce, JSONObject
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse

from governance import exports, listings, search, selectors
from governance.alerts.views import follow_button, search_follow_button
from governance.evidence_prefetch import attach_evidence
from governance.htmx import render_page
from governance.models import (
    ActionPlanItem,
    Country,
    Document,
    Event,
    Organization,
    Participation,
    Person,
    Proposal,
    Statement,
)


def merged_redirect(record: Person | Organization | Proposal | Event) -> HttpResponse:
    """A merged duplicate's URL leads, permanently, to the record it was merged into (or
    that record's own survivor, when merges were chained)."""
    survivor = record.merged_into
    while survivor.merged_into_id:
        survivor = survivor.merged_into
    return HttpResponsePermanentRedirect(survivor.get_absolute_url())


def dashboard(request: HttpRequest) -> TemplateResponse:
    return render_page(request, "governance/dashboard.html", selectors.dashboard())


def statement_list(request: HttpRequest) -> HttpResponse:
    form = search.StatementFilterForm(request.GET)
    filters = search.StatementFilters.from_form(form)
    if exports.wanted(request):
        return exports.respond(
            request,
            exports.STATEMENTS,
            lambda base: exports.statement_rows(
                search.filtered_statements(filters), base, sort=filters.sort, q=filters.q
            ),
            form,
        )
    context = {
        "form": form,
        "filters": filters,
        "sorts": search.SORTS,
        **search.browse_statements(filters),
        "follow_search": search_follow_button(request),
    }
    return render_page(request, "governance/statement_list.html", context, partials=("browser",))


def proposal_list(request: HttpRequest) -> HttpResponse:
    form = listings.ProposalFilterForm(request.GET)
    data = listings.valid_data(form)
    if exports.wanted(request):
        return exports.respond(
            request,
            exports.PROPOSALS,
            lambda base: exports.proposal_rows(listings.proposal_list(data), base),
            form,
        )
    paginator = Paginator(listings.proposal_list(data), listings.LIST_PAGE_SIZE)
    context = {
        "form": form,
        "filters": data,
        "page": paginator.get_page(request.GET.get("page")),
        "sorts": listings.PROPOSAL_SORTS,
        **listings.proposal_facet_choices(),
    }
    return render_page(request, "governance/proposal_list.html", context, partials=("results",))


def country_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:100]
    sort = request.GET.get("sort", "activity")
    show_all = request.GET.get("all") == "1"
    if exports.wanted(request):
        return exports.respond(
            request,
            exports.COUNTRIES,
            lambda base: exports.country_rows(
                listings.country_rows(q, sort, active_only=not show_all), base
            ),
        )
    context = {
        "q": q,
        "sort": sort if sort in listings.COUNTRY_SORTS else "activity",
        "sorts": listings.COUNTRY_SORTS,
        "show_all": show_all,
        "rows": (rows := listings.country_rows(q, sort, active_only=not show_all)),
        "groups": listings.country_groups(rows),
        "taking_part": sum(r.standing == listings.TAKING_PART for r in rows),
    }
    return render_page(request, "governance/country_list.html", context, partials=("results",))


def participation_list(request: HttpRequest) -> HttpResponse:
    form = listings.ParticipationFilterForm(request.GET)
    data = listings.valid_data(form)
    participations = listings.participation_list(data)
    if exports.wanted(request):
        return exports.respond(
            request,
            exports.PARTICIPATION,
            lambda base: exports.participation_rows(participations, base),
            form,
        )
    paginator = Paginator(listings.participation_page_rows(participations), listings.LIST_PAGE_SIZE)
    context = {
        "form": form,
        "filters": data,
        "page": paginator.get_page(request.GET.get("page")),
        "roles": Participation.Role.choices,
        **listings.participation_facet_choices(),
    }
    return render_page(
        request, "governance/participation_list.html", context, partials=("results",)
    )


def document_list(request: HttpRequest) -> HttpResponse:
    form = listings.DocumentFilterForm(request.GET)
    data = listings.valid_data(form)
    documents = listings.document_list(data)
    if exports.wanted(request):
        return exports.respond(
            request,
            exports.DOCUMENTS,
            lambda base: exports.document_rows(documents, base),
            form,
        )
    paginator = Paginator(documents, listings.LIST_PAGE_SIZE)
    context = {
        "form": form,
        "filters": data,
        "page": paginator.get_page(request.GET.get("page")),
        "sorts": listings.DOCUMENT_SORTS,
        **listings.document_facet_choices(),
    }
    return render_page(request, "governance/document_list.html", context, partials=("results",))


def event_list(request: HttpRequest) -> TemplateResponse:
    # Counted by correlated subqueries: two joined Counts would multiply the rows.
    statements = Statement.objects.filter(event=OuterRef("pk")).values("event")
    participants = Participation.objects.filter(event=OuterRef("pk")).values("event")
    events = (
        Event.objects.filter(merged_into__isnull=True)
        .select_related("country")
        .annotate(
            statement_count=Coalesce(Subquery(statements.annotate(n=Count("*")).values("n")), 0),
            participant_count=Coalesce(
                Subquery(participants.annotate(n=Count("*")).values("n")), 0
            ),
        )
        .order_by(F("start_date").desc(nulls_last=True), "name")
    )
    paginator = Paginator(events, listings.LIST_PAGE_SIZE)
    context = {"page": paginator.get_page(request.GET.get("page"))}
    return render_page(request, "governance/event_list.html", context, partials=("results",))


def person_list(request: HttpRequest) -> TemplateResponse:
    q = request.GET.get("q", "").strip()[:100]
    people = Person.objects.filter(merged_into__isnull=True)
    people = people.annotate(statement_count=Count("statements")).order_by(
        "-statement_count", "name"
    )
    if q:
        people = people.filter(name__icontains=q)
    paginator = Paginator(people, listings.LIST_PAGE_SIZE)
    context = {"q": q, "page": paginator.get_page(request.GET.get("page"))}
    return render_page(request, "governance/person_list.html", context, partials=("results",))


def organization_list(request: HttpRequest) -> TemplateResponse:
    q = request.GET.get("q", "").strip()[:100]
    kind = request.GET.get("kind", "")
    organizations = (
        Organization.objects.filter(merged_into__isnull=True)
        .select_related("country")
        .order_by("name")
    )
    if q:
        organizations = organizations.filter(name__icontains=q)
    if kind in Organization.Kind.values:
        organizations = organizations.filter(kind=kind)
    paginator = Paginator(organizations, listings.LIST_PAGE_SIZE)
    context = {
        "q": q,
        "kind": kind,
        "kinds": Organization.Kind.choices,
        "page": paginator.get_page(request.GET.get("page")),
    }
    return render_page(request, "governance/organization_list.html", context, partials=("results",))


def global_search(request: HttpRequest) -> TemplateResponse:
    q = request.GET.get("q", "").strip()[:200]
    context = {"q": q, "results": listings.global_search(q) if q else None}
    return render_page(request, "governance/search.html", context, partials=("search-results",))


def compare(request: HttpRequest) -> TemplateResponse:
    codes = listings.parse_country_codes(request.GET.getlist("countries"))
    found = {c.code: c for c in Country.objects.filter(code__in=codes)}
    countries = [found[c] for c in codes if c in found]
    unknown = [c for c in codes if c not in found]
    page, rows = listings.compare(countries, request.GET.get("page")) if countries else (None, [])
    context = {
        "countries": countries,
        "unknown_codes": unknown,
        "all_countries": Country.objects.only("code", "name").order_by("name"),
        "page": page,
        "rows": rows,
        "statement_counts": listings.statement_counts(countries) if countries else [],
    }
    return render_page(request, "governance/compare.html", context, partials=("comparison",))


def _roles_by_participant(participations: list[Participation]) -> list[dict[str, object]]:
    """One entry per participant with all its roles ("China (issuer, proposer)"), in the
    order the participants first appear."""
    grouped: dict[object, list[str]] = {}
    for p in participations:
        grouped.setdefault(p.participant, []).append(p.get_role_display().lower())
    return [{"participant": who, "roles": ", ".join(roles)} for who, roles in grouped.items()]


def proposal_detail(request: HttpRequest, slug: str) -> HttpResponse:
    # The action-plan items ride along with the proposal, as a JSON array.
    items = (
        ActionPlanItem.objects.filter(proposal=OuterRef("pk"))
        .order_by("position")
        .values(row=JSONObject(id="id", position="position", heading="heading", text="text"))
    )
    proposal = get_object_or_404(
        Proposal.objects.select_related(
            "event", "headquarters_statement__speaker", "headquarters_statement__speaker_role"
        ).annotate(item_rows=ArraySubquery(items)),
        slug=slug,
    )
    if proposal.merged_into_id:
        return merged_redirect(proposal)
    participations = list(
        proposal.participations.select_related("country", "organization", "person").order_by(
            "role", "country__name", "organization__name", "person__name"
        )
    )
    item_rows = [ActionPlanItem(proposal=proposal, **row) for row in proposal.item_rows]
    headquarters = [proposal.headquarters_statement] if proposal.headquarters_statement else []
    # The sources of the proposal, its items, its rows and its seat's statement: one query.
    attach_evidence([proposal, *item_rows, *participations, *headquarters])
    statements = Statement.objects.filter(proposals=proposal)
    context = {
        "proposal": proposal,
        "items": item_rows,
        "proposers": _roles_by_participant(
            [p for p in participations if p.role in Participation.PROPOSING_ROLES]
        ),
        "announcers": [p for p in participations if p.role == Participation.Role.ANNOUNCER],
        "participations": participations,
        "world_map": selectors.participation_map(
            participations, f"Countries with a recorded role in “{proposal.title}”"
        ),
        "statements": selectors.statement_preview(statements, f"proposal={proposal.slug}"),
        "sources": selectors.sources_of(proposal, participations, statements),
        "follow_button": follow_button(request, proposal),
    }
    return render_page(request, "governance/proposal_detail.html", context)


def country_detail(request: HttpRequest, code: str) -> TemplateResponse:
    country = get_object_or_404(selectors.countries_with_standing(), code=code.upper())
    context = {
        "country": country,
        "standing": selectors.country_standing(country),
        "follow_button": follow_button(request, country),
        **selectors.country_page(country, request.GET.get("tab", "")),
    }
    return render_page(
        request, "governance/country_detail.html", context, partials=("country-tabs",)
    )


def person_detail(request: HttpRequest, slug: str) -> HttpResponse:
    person = get_object_or_404(Person, slug=slug)
    if person.merged_into_id:
        return merged_redirect(person)
    roles = list(
        person.roles.select_related("organization", "country").order_by(
            F("start_date").desc(nulls_last=True), "title"
        )
    )
    participations = list(person.participations.select_related("proposal", "event"))
    # The person's sources and each role's and row's, with their documents, in one query.
    attach_evidence([person, *roles, *participations])
    context = {
        "person": person,
        "roles": roles,
        "statements": selectors.statement_preview(
            Statement.objects.filter(speaker=person), f"speaker={person.slug}"
        ),
        "participations": participations,
        "follow_button": follow_button(request, person),
    }
    return render_page(request, "governance/person_detail.html", context)


def organization_detail(request: HttpRequest, slug: str) -> HttpResponse:
    organization = get_object_or_404(
        Organization.objects.select_related("country", "parent"), slug=slug
    )
    if organization.merged_into_id:
        return merged_redirect(organization)
    roles = list(
        organization.roles.select_related("person").order_by(
            F("start_date").desc(nulls_last=True), "title"
        )
    )
    participations = list(organization.participations.select_related("proposal", "event"))
    attach_evidence([organization, *roles, *participations])  # every source, one query
    context = {
        "organization": organization,
        "roles": roles,
        "participations": participations,
        "statements": selectors.statement_preview(
            Statement.objects.filter(organizations=organization)
        ),
        "members": organization.members.all(),
    }
    return render_page(request, "governance/organization_detail.html", context)


def event_detail(request: HttpRequest, slug: str) -> HttpResponse:
    # The proposals made there ride along with the event, as a JSON array.
    proposals = (
        Proposal.objects.filter(event=OuterRef("pk"))
        .order_by("-announced_on", "title")
        .values(row=JSONObject(slug="slug", title="title"))
    )
    event = get_object_or_404(
        Event.objects.select_related("country").annotate(proposal_rows=ArraySubquery(proposals)),
        slug=slug,
    )
    if event.merged_into_id:
        return merged_redirect(event)
    participations = list(event.participations.select_related("country", "organization", "person"))
    figures = list(event.figures.all())
    # The sources of the event, its figures and its participants, in one query.
    attach_evidence([event, *figures, *participations])
    context = {
        "event": event,
        "figures": figures,
        "participants": selectors.participation_by_role(participations),
        "statements": selectors.statement_preview(
            Statement.objects.filter(event=event), f"event={event.slug}"
        ),
        "proposals": [Proposal(**row) for row in event.proposal_rows],
    }
    return render_page(request, "governance/event_detail.html", context)


def statement_detail(request: HttpRequest, pk: int) -> TemplateResponse:
    statement = get_object_or_404(selectors.statements_with_context(), pk=pk)
    context = {"statement": statement, "countries": statement.countries.all()}
    return render_page(request, "governance/statement_detail.html", context)


def document_detail(request: HttpRequest, pk: int) -> TemplateResponse:
    document = get_object_or_404(Document.objects.select_related("source"), pk=pk)
    supported = selectors.records_supported_by(document)
    spans = [(ev.start, ev.end) for ev, _ in supported]
    context = {
        "document": document,
        "segments": selectors.highlight_evidence(document, spans),
        "span_count": len(set(spans)),
        "supported": supported,
        "runs": document.source.runs.all()[:10] if document.source else [],
    }
    return render_page(request, "governance/document_detail.html", context)
