"""Page-level reads that combine models. Views call these; templates only display."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import pairwise
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone

from governance.models import (
    Country,
    Document,
    DocumentCountry,
    Event,
    Evidence,
    IngestRun,
    Participation,
    Person,
    Proposal,
    Statement,
)
from governance.search import capped_count
from governance.worldmap import WorldMap, render_world_map, strongest_role


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


@dataclass
class StatementPreview:
    """The newest statements of a record, with the total and a link to all of them in
    the statements browser (a record page never lists thousands)."""

    items: list[Statement]
    total: int
    capped: bool
    browse_url: str


PREVIEW_SIZE = 10


def statement_preview(qs: QuerySet[Statement], browse_query: str = "") -> StatementPreview:
    total, capped = capped_count(qs)
    items = list(
        statements_with_context()
        .filter(
            pk__in=qs.order_by(F("said_on").desc(nulls_last=True), "-id").values("pk")[
                :PREVIEW_SIZE
            ]
        )
        .order_by(F("said_on").desc(nulls_last=True), "-id")
    )
    url = reverse("governance:statement_list") + (f"?{browse_query}" if browse_query else "")
    return StatementPreview(items, total, capped, url)


def participation_map(participations: Iterable[Participation], title: str) -> WorldMap | None:
    """A world map of the countries among `participations`, by their strongest role."""
    roles: dict[str, list[str]] = defaultdict(list)
    for p in participations:
        if p.country_id:
            roles[p.country_id].append(p.role)
    if not roles:
        return None
    return render_world_map({code: strongest_role(r) for code, r in roles.items()}, title=title)


def dashboard() -> dict[str, Any]:
    countries_taking_part = (
        Country.objects.filter(participations__isnull=False)
        .annotate(role_count=Count("participations"))
        .order_by("-role_count", "name")
    )
    most_quoted = (
        Country.objects.filter(statements__isnull=False)
        .annotate(statement_count=Count("statements"))
        .order_by("-statement_count", "name")[:8]
    )
    last_run = (
        IngestRun.objects.filter(outcome__in=["new", "updated", "not_modified", "duplicate"])
        .select_related("source")
        .first()
    )
    by_status = dict(Proposal.objects.values_list("status").annotate(n=Count("*")).order_by())
    week_ago = timezone.now() - timedelta(days=7)
    proposal_roles = Participation.objects.filter(
        proposal__isnull=False, country__isnull=False
    ).only("country_id", "role")
    return {
        "counts": {
            "proposals": sum(by_status.values()),
            "countries": countries_taking_part.count(),
            "people": Person.objects.filter(merged_into__isnull=True).count(),
            "statements": Statement.objects.count(),
            "documents": Document.objects.count(),
        },
        "proposals_by_status": [
            (value, label, by_status.get(value, 0))
            for value, label in Proposal.Status.choices
            if by_status.get(value)
        ],
        "proposals": proposals_with_participants().order_by(
            F("announced_on").desc(nulls_last=True), "title"
        )[:8],
        "statements": statements_with_context().order_by(F("said_on").desc(nulls_last=True), "-id")[
            :6
        ],
        "countries": countries_taking_part[:10],
        "most_quoted": most_quoted,
        "events": Event.objects.select_related("country").order_by(
            F("start_date").desc(nulls_last=True), "name"
        )[:6],
        "last_run": last_run,
        "documents_this_week": Document.objects.filter(fetched_at__gte=week_ago).count(),
        "world_map": participation_map(
            proposal_roles, "Countries with a role in a proposal, by their strongest role"
        ),
    }


def participation_by_role(participations: Any) -> dict[str, list[Participation]]:
    grouped: dict[str, list[Participation]] = defaultdict(list)
    for p in participations:
        grouped[p.get_role_display()].append(p)
    return dict(grouped)


# How a country's proposal roles are grouped on its page.
COUNTRY_ROLE_GROUPS = [
    ("Proposed or issued", {"proposer", "announcer", "issuer"}),
    ("Joined, signed or supported", {"signatory", "supporter", "host", "delegate", "represented"}),
    ("Declined or opposed", {"declined", "opponent"}),
    ("Targeted by", {"target"}),
    ("Other roles", {"speaker", "exhibitor", "observer", "absent"}),
]


ROLE_GROUP_SIZE = 25  # rows per role group on a country page; the rest via /proposals/


COUNTRY_TABS = {
    "proposals": "Proposals and events",
    "statements": "Statements",
    "organizations": "Organizations and names",
    "documents": "Documents",
}


def country_page(country: Country, tab: str = "proposals") -> dict[str, Any]:
    """The country page's selected tab: only that tab's queries run."""
    tab = tab if tab in COUNTRY_TABS else "proposals"
    context: dict[str, Any] = {"tab": tab, "tabs": COUNTRY_TABS}
    if tab == "proposals":
        context.update(_country_roles(country))
    elif tab == "statements":
        context["statements"] = statement_preview(
            Statement.objects.filter(on_behalf_of_country=country),
            f"country={country.code.lower()}",
        )
        context["statements_about"] = statement_preview(
            Statement.objects.filter(countries=country).exclude(on_behalf_of_country=country)
        )
    elif tab == "organizations":
        context["organizations"] = country.organizations.all()[:100]
        context["memberships"] = country.memberships.all()
        context["aliases"] = country.aliases.order_by("kind", "alias")
    else:
        documents = documents_mentioning(country).order_by(
            F("published_at").desc(nulls_last=True), "-id"
        )
        context["documents"] = documents.only("id", "title", "publisher", "published_at")[:20]
        context["document_count"] = documents.count()
    return context


def ids_as_text(qs: QuerySet[Any]) -> QuerySet[Any]:
    """Primary keys as text, for `object_id__in` against Evidence (a generic relation,
    whose object_id is a CharField)."""
    return qs.order_by().annotate(key=Cast("pk", output_field=CharField())).values("key")


def statements_about_country(country_id: str) -> QuerySet[Statement]:
    """Statements made on the country's behalf or about it (feeds and digests)."""
    about = Statement.countries.through.objects.filter(
        statement=OuterRef("pk"), country_id=country_id
    )
    return Statement.objects.filter(Q(on_behalf_of_country_id=country_id) | Exists(about))


def documents_mentioning(country: Country) -> QuerySet[Document]:
    """Documents whose country mentions name it (published by extraction), or whose
    sentences are the evidence of its curated roles (the seed article, hand entries)."""
    participations = ids_as_text(Participation.objects.filter(country=country))
    evidenced = Evidence.objects.filter(
        content_type=ContentType.objects.get_for_model(Participation),
        object_id__in=participations,
    ).values("document_id")
    mentioned = DocumentCountry.objects.filter(country=country).values("document_id")
    return Document.objects.filter(Q(pk__in=mentioned) | Q(pk__in=evidenced))


def _country_roles(country: Country) -> dict[str, Any]:
    evidence = Prefetch("evidence", queryset=Evidence.objects.select_related("document"))
    newest = (F("date").desc(nulls_last=True), "-id")
    proposal_rows = country.participations.filter(proposal__isnull=False).select_related("proposal")
    by_role = dict(proposal_rows.values_list("role").annotate(n=Count("*")).order_by())
    proposal_groups = []
    for label, roles in COUNTRY_ROLE_GROUPS:
        if total := sum(by_role.get(role, 0) for role in roles):
            rows = proposal_rows.filter(role__in=roles).prefetch_related(evidence)
            shown = list(rows.order_by(*newest)[:ROLE_GROUP_SIZE])
            proposal_groups.append((label, shown, total))
    return {
        "proposal_groups": proposal_groups,
        "event_participations": list(
            country.participations.filter(event__isnull=False)
            .select_related("event")
            .prefetch_related(evidence)
            .order_by(*newest)[:ROLE_GROUP_SIZE]
        ),
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


def sources_of(
    proposal: Proposal, participations: list[Participation], statements: QuerySet[Statement]
) -> list[Document]:
    """The documents whose sentences support the proposal, its participation rows or the
    statements about it, newest first."""
    types = ContentType.objects.get_for_models(Proposal, Participation, Statement)
    keys = Q(content_type=types[Proposal], object_id=str(proposal.pk))
    if participations:
        keys |= Q(
            content_type=types[Participation], object_id__in=[str(p.pk) for p in participations]
        )
    statement_ids = [str(pk) for pk in statements.values_list("pk", flat=True)[:500]]
    if statement_ids:
        keys |= Q(content_type=types[Statement], object_id__in=statement_ids)
    document_ids = Evidence.objects.filter(keys).values("document_id")
    return list(
        Document.objects.filter(pk__in=document_ids)
        .only("id", "title", "publisher", "published_at", "url")
        .order_by(F("published_at").desc(nulls_last=True), "-id")[:20]
    )
