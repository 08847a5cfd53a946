"""Page-level reads that combine models. Views call these; templates only display."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.aggregates import ArrayAgg
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Cast, Coalesce, RowNumber
from django.urls import reverse
from django.utils import timezone

from governance import count_cache
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
from governance.search import COUNT_CAP, capped_count_expression
from governance.spans import split_at_spans
from governance.sql_compose import Rows, count_of, select_scalars
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
    newest = (F("said_on").desc(nulls_last=True), "-id")
    items = list(
        statements_with_context()
        .filter(pk__in=qs.order_by(*newest).values("pk")[:PREVIEW_SIZE])
        # The capped total rides along (no row: no statement, total 0).
        .annotate(preview_total=capped_count_expression(qs))
        .order_by(*newest)
    )
    total = items[0].preview_total if items else 0
    url = reverse("governance:statement_list") + (f"?{browse_query}" if browse_query else "")
    return StatementPreview(items, min(total, COUNT_CAP), total > COUNT_CAP, url)


def participation_map(participations: Iterable[Participation], title: str) -> WorldMap | None:
    """A world map of the countries among `participations`, by their strongest role."""
    roles: dict[str, list[str]] = defaultdict(list)
    for p in participations:
        if p.country_id:
            roles[p.country_id].append(p.role)
    if not roles:
        return None
    return render_world_map({code: strongest_role(r) for code, r in roles.items()}, title=title)


@dataclass
class LastRun:
    """The newest successful ingestion run, as the dashboard shows it."""

    started_at: datetime
    source: str | None  # the source's name


def _dashboard_figures() -> dict[str, Any]:
    """The dashboard's counts, freshness, country lists and map roles: one SELECT of
    uncorrelated subqueries, each with the plan it had as a query of its own.

    The curated figures (over a million statements, the slow part) come from the count
    cache while the data has not changed (governance/count_cache.py); the documents and
    the last run change with every fetch and are always read."""
    runs = IngestRun.objects.filter(
        outcome__in=["new", "updated", "not_modified", "duplicate"]
    ).order_by("-started_at")
    week_ago = timezone.now() - timedelta(days=7)
    live: dict[str, QuerySet[Any] | Rows] = {
        "documents": count_of(Document.objects.all()),
        "documents_this_week": count_of(Document.objects.filter(fetched_at__gte=week_ago)),
        "last_run_at": runs.values("started_at")[:1],
        "last_run_source": runs.values("source__name")[:1],
    }
    curated = count_cache.peek("dashboard-figures", None)
    if curated is not None:
        return curated | select_scalars(live)
    figures = select_scalars(_curated_figure_columns() | live)
    count_cache.store("dashboard-figures", None, {k: figures[k] for k in figures if k not in live})
    return figures


def _curated_figure_columns() -> dict[str, QuerySet[Any] | Rows]:
    columns: dict[str, QuerySet[Any] | Rows] = {
        f"status_{value}": count_of(Proposal.objects.filter(status=value))
        for value in Proposal.Status.values
    }
    columns |= {
        "countries": count_of(Country.objects.taking_part()),
        "countries_apart": count_of(Country.objects.shown_apart()),
        "people": count_of(Person.objects.filter(merged_into__isnull=True)),
        "statements": count_of(Statement.objects.all()),
        "most_active": Rows(
            Country.objects.filter(participations__isnull=False)
            .annotate(role_count=Count("participations"))
            .order_by("-role_count", "name")
            .values("code", "name", "role_count")[:10]
        ),
        "most_quoted": Rows(
            Country.objects.filter(statements__isnull=False)
            .annotate(statement_count=Count("statements"))
            .order_by("-statement_count", "name")
            .values("code", "name", "statement_count")[:8]
        ),
        # A country's distinct roles in proposals and events; the map colours it by the
        # strongest, which is a role taking part whenever it has one (ROLE_PRECEDENCE).
        "map_roles": Rows(
            Participation.objects.filter(country__isnull=False)
            .order_by()
            .values("country_id")
            .annotate(roles=ArrayAgg("role", distinct=True))
        ),
    }
    return columns


def _countries(rows: list[dict[str, Any]], count: str) -> list[Country]:
    """Country instances (for their URLs) from JSON rows, biggest `count` first."""
    countries = []
    for row in sorted(rows, key=lambda r: (-r[count], r["name"])):
        country = Country(code=row["code"], name=row["name"])
        setattr(country, count, row[count])
        countries.append(country)
    return countries


def dashboard() -> dict[str, Any]:
    figures = _dashboard_figures()
    by_status = {value: figures[f"status_{value}"] for value in Proposal.Status.values}
    map_roles = {row["country_id"]: strongest_role(row["roles"]) for row in figures["map_roles"]}
    return {
        "counts": {
            "proposals": sum(by_status.values()),
            "countries": figures["countries"],
            "countries_apart": figures["countries_apart"],
            "people": figures["people"],
            "statements": figures["statements"],
            "documents": figures["documents"],
        },
        "proposals_by_status": [
            (value, label, by_status[value])
            for value, label in Proposal.Status.choices
            if by_status[value]
        ],
        "proposals": proposals_with_participants().order_by(
            F("announced_on").desc(nulls_last=True), "title"
        )[:8],
        "statements": statements_with_context().order_by(F("said_on").desc(nulls_last=True), "-id")[
            :6
        ],
        "countries": _countries(figures["most_active"], "role_count"),
        "most_quoted": _countries(figures["most_quoted"], "statement_count"),
        "events": Event.objects.select_related("country").order_by(
            F("start_date").desc(nulls_last=True), "name"
        )[:6],
        "last_run": LastRun(figures["last_run_at"], figures["last_run_source"])
        if figures["last_run_at"]
        else None,
        "documents_this_week": figures["documents_this_week"],
        "world_map": render_world_map(
            map_roles,
            title="Countries with a role in a proposal or an event, by their strongest role",
        )
        if map_roles
        else None,
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


@dataclass
class CountryStanding:
    """Whether a country takes part (Country.objects.taking_part(), the dashboard's and
    /countries/'s definition) and in what; its roles that are no part, shown apart."""

    proposals: int  # proposals it takes part in
    events: int  # events it takes part in
    apart: list[tuple[str, int]]  # (role label, rows) of its not-taking-part roles

    @property
    def taking_part(self) -> bool:
        return bool(self.proposals or self.events)


def countries_with_standing() -> QuerySet[Country]:
    """Countries with what country_standing() reads, in the country's own query (a
    country page's other queries are its tab's)."""
    taking = Participation.objects.taking_part().filter(country=OuterRef("pk")).order_by()

    def distinct(field: str) -> Coalesce:
        counted = taking.values("country").annotate(n=Count(field, distinct=True)).values("n")
        return Coalesce(Subquery(counted, output_field=IntegerField()), 0)

    apart = Participation.objects.not_taking_part().filter(country=OuterRef("pk")).order_by()
    return Country.objects.annotate(
        taking_part_proposals=distinct("proposal"),
        taking_part_events=distinct("event"),
        apart_roles=ArraySubquery(apart.values("role")),
    )


def country_standing(country: Country) -> CountryStanding:
    """From a country of countries_with_standing()."""
    labels = dict(Participation.Role.choices)
    apart = sorted(Counter(country.apart_roles).items())
    return CountryStanding(
        country.taking_part_proposals,
        country.taking_part_events,
        [(str(labels.get(role, role)), n) for role, n in apart],
    )


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
    """Documents whose country mentions name it: extraction's for ingested documents,
    `manage.py seed`'s (by the same finder) for the seed article. The one source of every
    document count per country (/countries/, the country page, its feed, the API)."""
    mentioned = DocumentCountry.objects.filter(country=country).values("document_id")
    return Document.objects.filter(pk__in=mentioned)


EVENT_GROUP = -1  # the window partition of a country's event participations


def _country_roles(country: Country) -> dict[str, Any]:
    """Each role group's newest ROLE_GROUP_SIZE rows with the group's total, and the newest
    event participations: one windowed query (row number and count per group) + evidence."""
    evidence = Prefetch("evidence", queryset=Evidence.objects.select_related("document"))
    newest = (F("date").desc(nulls_last=True), F("id").desc())
    group = Case(
        When(proposal__isnull=True, event__isnull=False, then=Value(EVENT_GROUP)),
        *(
            When(proposal__isnull=False, role__in=roles, then=Value(i))
            for i, (_, roles) in enumerate(COUNTRY_ROLE_GROUPS)
        ),
        output_field=IntegerField(),
    )
    rows = (
        country.participations.annotate(group=group)
        .filter(group__isnull=False)
        .annotate(
            position=Window(RowNumber(), partition_by=[F("group")], order_by=newest),
            group_total=Window(Count("*"), partition_by=[F("group")]),
        )
        .filter(position__lte=ROLE_GROUP_SIZE)
        .select_related("proposal", "event")
        .prefetch_related(evidence)
        .order_by("group", "position")
    )
    by_group: dict[int, list[Participation]] = defaultdict(list)
    for row in rows:
        by_group[row.group].append(row)
    return {
        "proposal_groups": [
            (label, by_group[i], by_group[i][0].group_total)
            for i, (label, _) in enumerate(COUNTRY_ROLE_GROUPS)
            if by_group.get(i)
        ],
        "event_participations": by_group.get(EVENT_GROUP, []),
    }


@dataclass
class TextSegment:
    """A piece of a document's text and the evidence spans (`<start>-<end>` keys) covering
    it; `anchors` are the ids (`span-<start>-<end>`) of the spans beginning here."""

    text: str
    spans: list[str] = field(default_factory=list)
    anchors: list[str] = field(default_factory=list)

    @property
    def span_keys(self) -> str:
        return " ".join(self.spans)


def highlight_evidence(
    document: Document, spans: list[tuple[int, int]] | None = None
) -> list[TextSegment]:
    """A document's text cut at every evidence boundary (nested, overlapping and adjacent
    spans alike), each piece naming the spans that cover it, so that the page can mark any
    one span over its whole length. Each distinct span gets one anchor, where it begins;
    several facts supported by the same characters share it. `spans` (start, end), when
    the caller has already read the document's evidence.
    """
    if spans is None:
        spans = list(document.evidence.values_list("start", "end"))
    distinct = sorted(set(spans))
    keys = [f"{start}-{end}" for start, end in distinct]
    return [
        TextSegment(
            piece.text,
            [keys[i] for i in piece.covered_by],
            [f"span-{keys[i]}" for i in piece.starts],
        )
        for piece in split_at_spans(document.text, distinct)
    ]


# What a supported record's link and name read, loaded with it (not one query per row).
_SUPPORTED_RELATED: dict[str, tuple[str, ...]] = {
    "participation": ("proposal", "event", "country", "organization", "person"),
    "statement": ("speaker",),
    "eventfigure": ("event",),
    "actionplanitem": ("proposal",),
    "role": ("person", "organization", "country"),
}


def records_supported_by(document: Document) -> list[tuple[Evidence, Any]]:
    """Each evidence row of a document with the record it supports, for the side list:
    one query for the rows, then one per kind of record."""
    rows = list(document.evidence.select_related("content_type").order_by("start", "end"))
    by_type: dict[int, list[str]] = defaultdict(list)
    for ev in rows:
        by_type[ev.content_type_id].append(ev.object_id)
    records: dict[tuple[int, str], Any] = {}
    for type_id, ids in by_type.items():
        content_type = ContentType.objects.get_for_id(type_id)
        model = content_type.model_class()
        if model is None:
            continue
        found = model._default_manager.filter(pk__in=ids)
        if related := _SUPPORTED_RELATED.get(content_type.model):
            found = found.select_related(*related)
        for obj in found:
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
    # The newest 500, as a subquery rather than a list fetched first: one round trip.
    newest = statements.order_by(F("said_on").desc(nulls_last=True), "-id")
    statement_keys = newest.annotate(key=Cast("pk", output_field=CharField())).values("key")
    keys |= Q(content_type=types[Statement], object_id__in=statement_keys[:500])
    document_ids = Evidence.objects.filter(keys).values("document_id")
    return list(
        Document.objects.filter(pk__in=document_ids)
        .only("id", "title", "publisher", "published_at", "url")
        .order_by(F("published_at").desc(nulls_last=True), "-id")[:20]
    )
