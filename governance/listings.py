"""Reads for the list pages (proposals, countries, participation, documents, events,
people, organizations), the compare view and the global search. Each returns plain
values for one template in a fixed number of queries, whatever the size of the database."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib.postgres.search import (
    SearchQuery,
)
from django.core.paginator import Page, Paginator
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import ExtractYear

from governance import global_search as global_search_module
from governance.models import (
    Country,
    CountryAlias,
    Document,
    DocumentCountry,
    Event,
    Evidence,
    Participation,
    ParticipationQuerySet,
    Proposal,
    Source,
    Statement,
)
from governance.validation import IntegerField

LIST_PAGE_SIZE = 50
SEARCH_GROUP_SIZE = global_search_module.SEARCH_GROUP_SIZE
NAME_SIMILARITY = global_search_module.NAME_SIMILARITY


# --- Proposals --------------------------------------------------------------

PROPOSAL_SORTS = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "title": "Title A–Z",
    "participants": "Most participants",
}


class ProposalFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, strip=True, label="Title contains")
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *Proposal.Kind.choices])
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *Proposal.Status.choices]
    )
    proposer = forms.CharField(required=False, max_length=2, label="Proposed by (country)")
    country = forms.CharField(required=False, max_length=2, label="Country taking part")
    year = IntegerField(required=False, min_value=1900, max_value=2100)
    sort = forms.ChoiceField(required=False, choices=list(PROPOSAL_SORTS.items()))

    def clean_proposer(self) -> str:
        return self.cleaned_data["proposer"].upper()

    def clean_country(self) -> str:
        return self.cleaned_data["country"].upper()


def valid_data(form: forms.Form) -> dict[str, Any]:
    """The fields that validated; a bad one is reported by the page and ignored."""
    form.is_valid()
    return {k: v for k, v in form.cleaned_data.items() if k not in form.errors and v}


def proposal_list(data: dict[str, Any]) -> QuerySet[Proposal]:
    qs = (
        Proposal.objects.filter(merged_into__isnull=True)
        .select_related("event")
        .annotate(participant_count=Count("participations", distinct=True))
    )
    if q := data.get("q"):
        qs = qs.filter(Q(title__icontains=q) | Q(summary__icontains=q))
    if kind := data.get("kind"):
        qs = qs.filter(kind=kind)
    if status := data.get("status"):
        qs = qs.filter(status=status)
    if proposer := data.get("proposer"):
        qs = qs.filter(
            Exists(
                Participation.objects.filter(
                    proposal=OuterRef("pk"),
                    country=proposer,
                    role__in=Participation.PROPOSING_ROLES,
                )
            )
        )
    if country := data.get("country"):
        qs = qs.filter(
            # Taking part: declining, opposing or being targeted does not count.
            Exists(
                Participation.objects.taking_part().filter(proposal=OuterRef("pk"), country=country)
            )
        )
    if year := data.get("year"):
        qs = qs.filter(announced_on__year=year)
    order = {
        "oldest": [F("announced_on").asc(nulls_last=True), "title"],
        "title": ["title"],
        "participants": ["-participant_count", "title"],
    }.get(data.get("sort", ""), [F("announced_on").desc(nulls_last=True), "title"])
    return qs.order_by(*order).prefetch_related(
        Prefetch(
            "participations",
            queryset=Participation.objects.filter(
                role__in=Participation.PROPOSING_ROLES
            ).select_related("country", "organization", "person"),
            to_attr="proposer_rows",
        )
    )


def proposal_facet_choices() -> dict[str, Any]:
    """Countries that propose, and countries that take part, for the filter menus."""
    proposers = Country.objects.filter(
        participations__proposal__isnull=False,
        participations__role__in=Participation.PROPOSING_ROLES,
    ).distinct()
    taking_part = Country.objects.filter(
        Exists(
            Participation.objects.taking_part().filter(
                country=OuterRef("pk"), proposal__isnull=False
            )
        )
    )
    years = (
        Proposal.objects.filter(announced_on__isnull=False)
        .annotate(y=ExtractYear("announced_on"))
        .values_list("y", flat=True)
        .distinct()
        .order_by("-y")
    )
    return {"proposers": proposers, "taking_part": taking_part, "years": list(years)}


# --- Countries --------------------------------------------------------------

COUNTRY_SORTS = {"activity": "Most active", "name": "Name A–Z"}


# How /countries/ groups its rows: a country takes part (Country.objects.taking_part()),
# is shown apart (its only roles are no part in the thing), or has no role at all (listed
# only when searching or asked for every country).
TAKING_PART, SHOWN_APART, NO_ROLE = "taking part", "shown apart", "no role"
COUNTRY_GROUPS = {
    TAKING_PART: "Taking part",
    SHOWN_APART: "Shown apart: named only as declined, opponent, target or noted absent",
    NO_ROLE: "No role recorded (mentioned or quoted only, or nothing yet)",
}


@dataclass
class CountryRow:
    country: Country
    proposals: int = 0
    statements: int = 0
    documents: int = 0
    events: int = 0
    standing: str = NO_ROLE

    @property
    def activity(self) -> int:
        return self.proposals + self.events + self.statements + self.documents


def countries_matching(countries: QuerySet[Country], q: str) -> QuerySet[Country]:
    """Countries whose name or an alias contains `q`, or whose ISO code is `q`."""
    aliases = CountryAlias.objects.filter(alias__icontains=q).values("country")
    return countries.filter(
        Q(name__icontains=q) | Q(code__iexact=q) | Q(alpha3__iexact=q) | Q(code__in=aliases)
    )


def country_rows(q: str = "", sort: str = "activity", active_only: bool = True) -> list[CountryRow]:
    """Countries with their counts, grouped taking part, shown apart, no role (in that
    order, each sorted by `sort`): by default the countries taking part and those shown
    apart; with `q`, every country matching it; with active_only=False, every country.
    Four queries (three grouped counts), 249 rows at most."""
    countries = Country.objects.all()
    if q:
        countries = countries_matching(countries, q)
    # A country's proposals and events, and how many of its rows take part: a country
    # with rows, none of them taking part, is shown apart (Country.objects.shown_apart()).
    participation = {
        row["country"]: row
        for row in Participation.objects.filter(country__isnull=False)
        .order_by()
        .values("country")
        .annotate(
            proposals=Count("proposal", distinct=True),
            events=Count("event", distinct=True),
            taking=Count("pk", filter=ParticipationQuerySet.taking_part_q()),
        )
    }
    statements = dict(
        Statement.objects.filter(on_behalf_of_country__isnull=False)
        .values_list("on_behalf_of_country")
        .annotate(n=Count("*"))
        .order_by()
    )
    documents = dict(
        DocumentCountry.objects.values_list("country").annotate(n=Count("*")).order_by()
    )
    none = {"proposals": 0, "events": 0, "taking": 0}
    rows = []
    for c in countries:
        roles = participation.get(c.code)
        standing = NO_ROLE if roles is None else TAKING_PART if roles["taking"] else SHOWN_APART
        roles = roles or none
        rows.append(
            CountryRow(
                c,
                roles["proposals"],
                statements.get(c.code, 0),
                documents.get(c.code, 0),
                roles["events"],
                standing,
            )
        )
    if active_only and not q:
        rows = [r for r in rows if r.standing != NO_ROLE]
    order = list(COUNTRY_GROUPS)
    if sort == "name":
        rows.sort(key=lambda r: (order.index(r.standing), r.country.name))
    else:
        rows.sort(key=lambda r: (order.index(r.standing), -r.activity, r.country.name))
    return rows


def country_groups(rows: list[CountryRow]) -> list[tuple[str, str, list[CountryRow]]]:
    """(key, heading, rows) for each group with rows, in COUNTRY_GROUPS order (the order
    country_rows sorted them in, which the export keeps)."""
    return [
        (key, label, [r for r in rows if r.standing == key])
        for key, label in COUNTRY_GROUPS.items()
        if any(r.standing == key for r in rows)
    ]


# --- Participation ----------------------------------------------------------


def _country_code(value: str) -> str:
    code = value.upper()
    if code and (len(code) != 2 or not code.isalpha()):
        raise forms.ValidationError(f"Unknown country code: {value}.")
    return code


class ParticipationFilterForm(forms.Form):
    proposal = forms.SlugField(required=False, max_length=100)
    event = forms.SlugField(required=False, max_length=100)
    country = forms.CharField(required=False, max_length=2, label="Country")
    role = forms.ChoiceField(
        required=False, choices=[("", "Any role"), *Participation.Role.choices]
    )
    year = IntegerField(required=False, min_value=1900, max_value=2100)

    def clean_country(self) -> str:
        return _country_code(self.cleaned_data["country"])


def participation_list(data: dict[str, Any]) -> QuerySet[Participation]:
    """Who takes part in what, newest first: each row with its subject, participant and
    evidence (one prefetch)."""
    qs = Participation.objects.all()
    if proposal := data.get("proposal"):
        qs = qs.filter(proposal__slug=proposal)
    if event := data.get("event"):
        qs = qs.filter(event__slug=event)
    if country := data.get("country"):
        qs = qs.filter(country=country)
    if role := data.get("role"):
        qs = qs.filter(role=role)
    if year := data.get("year"):
        # Its own date's year, or for an undated row at a dated event, the event's.
        qs = qs.filter(date_start__year=year)
    return qs.order_by(F("date").desc(nulls_last=True), "-id")


def participation_page_rows(qs: QuerySet[Participation]) -> QuerySet[Participation]:
    return qs.select_related(
        "proposal", "event", "country", "organization", "person"
    ).prefetch_related(Prefetch("evidence", queryset=Evidence.objects.select_related("document")))


def participation_facet_choices() -> dict[str, Any]:
    """The filter menus: only values that have a participation."""
    has_rows = Participation.objects.filter
    return {
        "proposals": Proposal.objects.filter(Exists(has_rows(proposal=OuterRef("pk"))))
        .only("slug", "title")
        .order_by("title"),
        "events": Event.objects.filter(Exists(has_rows(event=OuterRef("pk"))))
        .only("slug", "name")
        .order_by("name"),
        "countries": Country.objects.filter(Exists(has_rows(country=OuterRef("pk"))))
        .only("code", "name")
        .order_by("name"),
        "years": list(
            Participation.objects.filter(date_start__isnull=False)
            .annotate(y=ExtractYear("date_start"))
            .values_list("y", flat=True)
            .distinct()
            .order_by("-y")
        ),
    }


# --- Documents --------------------------------------------------------------

DOCUMENT_SORTS = {"published": "Newest published", "fetched": "Most recently fetched"}


class DocumentFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, strip=True, label="Text contains")
    source = IntegerField(required=False, min_value=1)
    publisher = forms.CharField(required=False, max_length=200)
    language = forms.CharField(required=False, max_length=10)
    country = forms.CharField(required=False, max_length=2, label="Mentions country")
    published_from = forms.DateField(required=False, label="Published from")
    published_to = forms.DateField(required=False, label="Published to")
    fetched_from = forms.DateField(required=False, label="Fetched from")
    fetched_to = forms.DateField(required=False, label="Fetched to")
    sort = forms.ChoiceField(required=False, choices=list(DOCUMENT_SORTS.items()))

    def clean_country(self) -> str:
        return _country_code(self.cleaned_data["country"])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for start, end in (("published_from", "published_to"), ("fetched_from", "fetched_to")):
            if data.get(start) and data.get(end) and data[start] > data[end]:
                self.add_error(end, "The end date is before the start date.")
        return data


def document_list(data: dict[str, Any]) -> QuerySet[Document]:
    """Ingested documents matching the filters, without their (large) text."""
    qs = Document.objects.select_related("source").defer("text", "search_vector")
    if q := data.get("q"):
        qs = qs.filter(search_vector=SearchQuery(q, search_type="websearch", config="english"))
    if source := data.get("source"):
        qs = qs.filter(source=source)
    if publisher := data.get("publisher"):
        qs = qs.filter(publisher=publisher)
    if language := data.get("language"):
        qs = qs.filter(language=language)
    if country := data.get("country"):
        qs = qs.filter(
            Exists(DocumentCountry.objects.filter(document=OuterRef("pk"), country=country))
        )
    # Dates are calendar days in the site's time zone, both ends included.
    if start := data.get("published_from"):
        qs = qs.filter(published_at__date__gte=start)
    if end := data.get("published_to"):
        qs = qs.filter(published_at__date__lte=end)
    if start := data.get("fetched_from"):
        qs = qs.filter(fetched_at__date__gte=start)
    if end := data.get("fetched_to"):
        qs = qs.filter(fetched_at__date__lte=end)
    if data.get("sort") == "fetched":
        return qs.order_by("-fetched_at", "-id")
    return qs.order_by(F("published_at").desc(nulls_last=True), "-id")


def document_facet_choices() -> dict[str, Any]:
    """The filter menus: sources, publishers and languages in use, countries mentioned."""
    return {
        "sources": Source.objects.filter(Exists(Document.objects.filter(source=OuterRef("pk"))))
        .only("pk", "name")
        .order_by("name"),
        "publishers": Document.objects.exclude(publisher="")
        .values_list("publisher", flat=True)
        .distinct()
        .order_by("publisher"),
        "languages": Document.objects.exclude(language="")
        .values_list("language", flat=True)
        .distinct()
        .order_by("language"),
        "countries": Country.objects.filter(
            Exists(DocumentCountry.objects.filter(country=OuterRef("pk")))
        )
        .only("code", "name")
        .order_by("name"),
    }


# --- Compare ----------------------------------------------------------------


@dataclass
class CompareCell:
    participations: list[Participation] = field(default_factory=list)

    @property
    def known(self) -> bool:
        return bool(self.participations)


@dataclass
class CompareRow:
    proposal: Proposal
    cells: list[CompareCell]


def parse_country_codes(raw: list[str]) -> list[str]:
    codes: list[str] = []
    for value in raw:
        codes += [c.strip().upper() for c in value.split(",") if c.strip()]
    return list(dict.fromkeys(codes))


COMPARE_PAGE_SIZE = 50


def compare(countries: list[Country], page_number: Any = 1) -> tuple[Page, list[CompareRow]]:
    """Proposals any of `countries` takes part in, newest first and paged, one cell per
    country: its roles with their date and evidence, or no row at all ("unknown",
    distinct from "declined")."""
    codes = [c.code for c in countries]
    proposals = Proposal.objects.filter(
        Exists(Participation.objects.filter(proposal=OuterRef("pk"), country__in=codes))
    ).order_by(F("announced_on").desc(nulls_last=True), "title")
    page = Paginator(proposals, COMPARE_PAGE_SIZE).get_page(page_number)
    cells: dict[int, dict[str, list[Participation]]] = defaultdict(lambda: defaultdict(list))
    participations = (
        Participation.objects.filter(country__in=codes, proposal__in=[p.pk for p in page])
        .prefetch_related(
            Prefetch("evidence", queryset=Evidence.objects.select_related("document"))
        )
        .order_by("role", "date")
    )
    for p in participations:
        cells[p.proposal_id][p.country_id].append(p)
    rows = [CompareRow(p, [CompareCell(cells[p.pk].get(code, [])) for code in codes]) for p in page]
    return page, rows


def statement_counts(countries: list[Country]) -> list[int]:
    counts = dict(
        Statement.objects.filter(on_behalf_of_country__in=[c.code for c in countries])
        .values_list("on_behalf_of_country")
        .annotate(n=Count("*"))
        .order_by()
    )
    return [counts.get(c.code, 0) for c in countries]


# --- Global search ----------------------------------------------------------
# The record groups run as one SELECT (governance/global_search.py: names, aliases,
# descriptions, evidence sentences and related facts, each result with why it matched);
# statements and documents, full-text matches, are two more queries.


@dataclass
class SearchResults:
    q: str
    groups: list[global_search_module.SearchGroup]
    statements: list[Statement]
    documents: list[Document]

    @property
    def empty(self) -> bool:
        return not (self.groups or self.statements or self.documents)

    @property
    def ordered(self) -> list[global_search_module.SearchGroup]:
        """Every group with results, best match first: an exact name or acronym (tier 0)
        before names containing the query, words of texts (statements and documents rank
        with descriptions and evidence) and, last, close spellings."""
        texts = [
            global_search_module.SearchGroup(key, heading, global_search_module.IN_FACTS)
            for key, heading, rows in (
                ("statements", "Statements", self.statements),
                ("documents", "Source documents", self.documents),
            )
            if rows
        ]
        return sorted([*self.groups, *texts], key=lambda g: g.tier)  # stable: ties keep order


def global_search(q: str) -> SearchResults:
    """One query string across every kind of record, grouped."""
    # Inside the page's transaction when there is one (no savepoint of its own):
    # `%>` (trigram_word_similar) matches at this threshold, and SET LOCAL ends with the
    # transaction.
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)",
                [str(NAME_SIMILARITY)],
            )
        return _search_all(q)


def _search_all(q: str) -> SearchResults:
    query = SearchQuery(q, search_type="websearch", config="english")
    groups = global_search_module.record_groups(q)
    statements = list(
        Statement.objects.filter(search_vector=query)
        .select_related("speaker")
        .order_by(F("said_on").desc(nulls_last=True), "-id")[:SEARCH_GROUP_SIZE]
    )
    documents = list(
        Document.objects.filter(search_vector=query)
        .only("id", "title", "publisher", "published_at", "fetched_at")
        .order_by(F("published_at").desc(nulls_last=True), "-id")[:SEARCH_GROUP_SIZE]
    )
    return SearchResults(q, groups, statements, documents)
