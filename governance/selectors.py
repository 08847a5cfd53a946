"""Page-level reads that combine models. Views call these; templates only display."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Prefetch, Q, QuerySet

from governance.models import (
    Country,
    Document,
    Event,
    Evidence,
    IngestRun,
    Participation,
    Person,
    Proposal,
    Statement,
)


def statements_with_context() -> QuerySet[Statement]:
    """Statements with everything a statement card shows, in a fixed number of queries."""
    return Statement.objects.select_related(
        "speaker", "speaker_role", "speaker_role__organization", "speaker_role__country", "event"
    ).prefetch_related(
        "proposals", Prefetch("evidence", queryset=Evidence.objects.select_related("document"))
    )


def proposals_with_participants() -> QuerySet[Proposal]:
    return Proposal.objects.select_related("event").prefetch_related(
        Prefetch(
            "participations",
            queryset=Participation.objects.select_related("country", "organization", "person"),
        )
    )


def dashboard() -> dict[str, Any]:
    countries_taking_part = (
        Country.objects.filter(participations__isnull=False)
        .annotate(role_count=Count("participations"))
        .order_by("-role_count", "name")
        .distinct()
    )
    last_run = (
        IngestRun.objects.filter(outcome__in=["new", "updated", "not_modified", "duplicate"])
        .select_related("source")
        .first()
    )
    return {
        "counts": {
            "proposals": Proposal.objects.count(),
            "countries": countries_taking_part.count(),
            "people": Person.objects.count(),
            "statements": Statement.objects.count(),
            "documents": Document.objects.count(),
        },
        "proposals": proposals_with_participants()[:10],
        "statements": statements_with_context()[:10],
        "countries": countries_taking_part[:12],
        "events": Event.objects.select_related("country").prefetch_related("figures")[:5],
        "last_run": last_run,
    }


def participation_by_role(participations: Any) -> dict[str, list[Participation]]:
    grouped: dict[str, list[Participation]] = defaultdict(list)
    for p in participations:
        grouped[p.get_role_display()].append(p)
    return dict(grouped)


def country_page(country: Country) -> dict[str, Any]:
    return {
        "participations": country.participations.select_related(
            "proposal", "event"
        ).prefetch_related(
            Prefetch("evidence", queryset=Evidence.objects.select_related("document"))
        ),
        "statements": statements_with_context()
        .filter(
            Q(on_behalf_of_country=country)
            | Q(countries=country)
            | Q(speaker_role__country=country)
        )
        .distinct(),
        "organizations": country.organizations.all(),
        "memberships": country.memberships.all(),
        "aliases": country.aliases.order_by("kind", "alias"),
    }


@dataclass
class TextSegment:
    text: str
    marked: bool = False
    anchors: list[str] = field(default_factory=list)
    claims: list[str] = field(default_factory=list)


def highlight_evidence(document: Document) -> list[TextSegment]:
    """Split a document's text into segments, marking every evidence span.

    Spans may overlap (one sentence supports several facts); each distinct span
    gets an anchor `span-<start>-<end>` where it begins, and the marked
    segments list the claims that cover them.
    """
    spans = list(document.evidence.values_list("start", "end", "claim"))
    text = document.text
    cuts = sorted({0, len(text), *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    segments = []
    for a, b in pairwise(cuts):
        covering = [(s, e, c) for s, e, c in spans if s <= a and b <= e]
        anchors = sorted({f"span-{s}-{e}" for s, e, _ in spans if s == a})
        claims = sorted({c for _, _, c in covering if c})
        segments.append(TextSegment(text[a:b], bool(covering), anchors, claims))
    return segments


def records_supported_by(document: Document) -> list[tuple[Evidence, Any]]:
    """Each evidence row of a document with the record it supports, for the side list."""
    rows = list(document.evidence.select_related("content_type").order_by("start", "end"))
    by_type: dict[int, list[str]] = defaultdict(list)
    for ev in rows:
        by_type[ev.content_type_id].append(ev.object_id)
    records: dict[tuple[int, str], Any] = {}
    for type_id, ids in by_type.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        if model is None:
            continue
        for obj in model._default_manager.filter(pk__in=ids):
            records[(type_id, str(obj.pk))] = obj
    return [(ev, records.get((ev.content_type_id, ev.object_id))) for ev in rows]
