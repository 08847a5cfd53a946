"""Public pages. Typed function views; reads come from selectors.py."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse

from governance import selectors
from governance.htmx import render_page
from governance.models import (
    Country,
    Document,
    Event,
    Evidence,
    Organization,
    Person,
)


def dashboard(request: HttpRequest) -> TemplateResponse:
    return render_page(request, "governance/dashboard.html", selectors.dashboard())


def proposal_detail(request: HttpRequest, slug: str) -> TemplateResponse:
    proposal = get_object_or_404(
        selectors.proposals_with_participants().prefetch_related(
            "items", Prefetch("evidence", queryset=Evidence.objects.select_related("document"))
        ),
        slug=slug,
    )
    participations = proposal.participations.select_related(
        "country", "organization", "person"
    ).prefetch_related(Prefetch("evidence", queryset=Evidence.objects.select_related("document")))
    context = {
        "proposal": proposal,
        "participations": participations,
        "statements": selectors.statements_with_context().filter(proposals=proposal),
    }
    return render_page(request, "governance/proposal_detail.html", context)


def country_detail(request: HttpRequest, code: str) -> TemplateResponse:
    country = get_object_or_404(Country, code=code.upper())
    context = {"country": country, **selectors.country_page(country)}
    return render_page(request, "governance/country_detail.html", context)


def person_detail(request: HttpRequest, slug: str) -> TemplateResponse:
    person = get_object_or_404(Person, slug=slug)
    context = {
        "person": person,
        "roles": person.roles.select_related("organization", "country"),
        "statements": selectors.statements_with_context().filter(speaker=person),
        "participations": person.participations.select_related("proposal", "event"),
    }
    return render_page(request, "governance/person_detail.html", context)


def organization_detail(request: HttpRequest, slug: str) -> TemplateResponse:
    organization = get_object_or_404(Organization.objects.select_related("country"), slug=slug)
    context = {
        "organization": organization,
        "roles": organization.roles.select_related("person"),
        "participations": organization.participations.select_related("proposal", "event"),
        "statements": selectors.statements_with_context().filter(organizations=organization),
        "members": organization.members.all(),
    }
    return render_page(request, "governance/organization_detail.html", context)


def event_detail(request: HttpRequest, slug: str) -> TemplateResponse:
    event = get_object_or_404(Event.objects.select_related("country"), slug=slug)
    participations = event.participations.select_related("country", "organization", "person")
    context = {
        "event": event,
        "figures": event.figures.prefetch_related(
            Prefetch("evidence", queryset=Evidence.objects.select_related("document"))
        ),
        "participants": selectors.participation_by_role(participations),
        "statements": selectors.statements_with_context().filter(event=event),
        "proposals": event.proposals.all(),
    }
    return render_page(request, "governance/event_detail.html", context)


def statement_detail(request: HttpRequest, pk: int) -> TemplateResponse:
    statement = get_object_or_404(selectors.statements_with_context(), pk=pk)
    context = {"statement": statement, "countries": statement.countries.all()}
    return render_page(request, "governance/statement_detail.html", context)


def document_detail(request: HttpRequest, pk: int) -> TemplateResponse:
    document = get_object_or_404(Document.objects.select_related("source"), pk=pk)
    context = {
        "document": document,
        "segments": selectors.highlight_evidence(document),
        "supported": selectors.records_supported_by(document),
        "runs": document.source.runs.all()[:10] if document.source else [],
    }
    return render_page(request, "governance/document_detail.html", context)
