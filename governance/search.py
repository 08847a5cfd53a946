"""The statements browser: full-text search, facets with counts, capped totals.

Facets are disjunctive: the counts of one facet are computed with every *other*
filter applied, so ticking "China" still shows how many statements the US has
under the same search. Values of one facet are OR-ed, facets are AND-ed.

Totals are counted up to COUNT_CAP + 1 rows only ("10,000+"), so a common term
over a million statements costs a bounded scan; every query also runs under the
statement timeout set by `governance.middleware.AnalystQueryTimeout`.

Facet counts are bounded the same way: each facet counts the FACET_SCAN most recently
added statements of its own filter set. Below that size the counts are exact; above it
the facet says its counts are over the latest FACET_SCAN matches (`Facet.sampled`). The
result is cached per filter set until curated data changes (governance/count_cache.py).
"""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass, field
from typing import Any

from django import forms
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db.models import Exists, F, IntegerField, OuterRef, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import ExtractYear
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from governance import count_cache
from governance.facet_query import FacetRow, LabelTable, facet_rows
from governance.models import (
    Country,
    Event,
    Evidence,
    Person,
    Proposal,
    Statement,
)
from governance.sql_compose import compiled
from governance.validation import IntegerField as AsciiIntegerField
from governance.validation import ascii_int

COUNT_CAP = 10_000
PAGE_SIZE = 20
FACET_SIZE = 10  # values shown per facet, besides the ones already selected
# Statements a facet counts at most: the latest added of its filter set (newest ids).
FACET_SCAN = 10_000
# ts_headline marks matches with these; the text is escaped before they become <mark>.
HL_START, HL_STOP = "\x02", "\x03"

SORTS = {"date": "Newest first", "oldest": "Oldest first", "relevance": "Best match"}
DATES = {"": "Own date or the event's", "own": "Own date only"}


class MultiValueField(forms.Field):
    """Repeated query parameters (`country=cn&country=us`), also comma-separated."""

    def to_python(self, value: Any) -> list[str]:
        if not value:
            return []
        values = value if isinstance(value, list) else [value]
        # Postgres cannot take a NUL in a string: report it like any bad value, not a 500.
        if any("\x00" in str(v) for v in values):
            raise forms.ValidationError("Null characters are not allowed.")
        out: list[str] = []
        for v in values:
            out += [part.strip() for part in str(v).split(",") if part.strip()]
        return list(dict.fromkeys(out))


class MultipleHiddenInput(forms.MultipleHiddenInput):
    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str]:
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name, [])


class StatementFilterForm(forms.Form):
    """Validates the browser's query string; a bad value is reported and ignored."""

    q = forms.CharField(required=False, max_length=200, strip=True, label="Search statements")
    country = MultiValueField(required=False, widget=MultipleHiddenInput)
    speaker = MultiValueField(required=False, widget=MultipleHiddenInput)
    proposal = MultiValueField(required=False, widget=MultipleHiddenInput)
    event = MultiValueField(required=False, widget=MultipleHiddenInput)
    kind = MultiValueField(required=False, widget=MultipleHiddenInput)
    year = MultiValueField(required=False, widget=MultipleHiddenInput)
    date_from = forms.DateField(required=False, label="From")
    date_to = forms.DateField(required=False, label="To")
    dates = forms.ChoiceField(required=False, choices=list(DATES.items()), label="Dates")
    sort = forms.ChoiceField(required=False, choices=list(SORTS.items()), label="Sort by")
    page = AsciiIntegerField(required=False, min_value=1, max_value=COUNT_CAP // PAGE_SIZE)

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        # `from` and `to` are the public parameter names; Python keeps `from` reserved.
        if data is not None:
            data = data.copy()
            for public, internal in (("from", "date_from"), ("to", "date_to")):
                if public in data and internal not in data:
                    data[internal] = data[public]
        super().__init__(data, **kwargs)

    def clean_country(self) -> list[str]:
        codes = [c.upper() for c in self.cleaned_data["country"]]
        bad = [c for c in codes if len(c) != 2 or not c.isalpha()]
        if bad:
            raise forms.ValidationError(f"Unknown country code: {', '.join(bad)}.")
        return codes

    def clean_kind(self) -> list[str]:
        kinds = self.cleaned_data["kind"]
        bad = [k for k in kinds if k not in Statement.Kind.values]
        if bad:
            raise forms.ValidationError(f"Unknown kind: {', '.join(bad)}.")
        return kinds

    def clean_year(self) -> list[int]:
        # ASCII digits only: "²" passes isdigit() but not int(), and int() reads "٣".
        years = [ascii_int(y, minimum=1900, maximum=2100) for y in self.cleaned_data["year"]]
        if None in years:
            raise forms.ValidationError("A year is four digits, e.g. 2025.")
        return years  # type: ignore[return-value]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data


@dataclass
class StatementFilters:
    q: str = ""
    country: list[str] = field(default_factory=list)
    speaker: list[str] = field(default_factory=list)
    proposal: list[str] = field(default_factory=list)
    event: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    year: list[int] = field(default_factory=list)
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    dates: str = ""  # "own": only statements with their own date
    sort: str = "date"
    page: int = 1

    @classmethod
    def from_form(cls, form: StatementFilterForm) -> StatementFilters:
        """The valid part of the form: invalid fields fall back to their defaults."""
        form.is_valid()
        data = {k: v for k, v in form.cleaned_data.items() if k not in form.errors}
        filters = cls(**{k: v for k, v in data.items() if v not in (None, "")})
        if filters.sort == "relevance" and not filters.q:
            filters.sort = "date"
        return filters

    @property
    def active(self) -> bool:
        values = (self.q, self.country, self.speaker, self.proposal, self.event, self.kind)
        return any((*values, self.year, self.date_from, self.date_to, self.dates))


FACETS = ("country", "speaker", "proposal", "event", "kind", "year")


def _search_query(q: str) -> SearchQuery:
    return SearchQuery(q, search_type="websearch", config="english")


def filtered_statements(filters: StatementFilters, *, skip: str = "") -> QuerySet[Statement]:
    """Statements matching every filter but `skip` (for that facet's own counts)."""
    qs = Statement.objects.all()
    if filters.q:
        qs = qs.filter(search_vector=_search_query(filters.q))
    if filters.country and skip != "country":
        qs = qs.filter(on_behalf_of_country__in=filters.country)
    if filters.speaker and skip != "speaker":
        qs = qs.filter(speaker__slug__in=filters.speaker)
    if filters.proposal and skip != "proposal":
        # Exists, not a join: a statement about two chosen proposals is still one row.
        through = Statement.proposals.through.objects.filter(
            statement=OuterRef("pk"), proposal__slug__in=filters.proposal
        )
        qs = qs.filter(Exists(through))
    if filters.event and skip != "event":
        qs = qs.filter(event__slug__in=filters.event)
    if filters.kind and skip != "kind":
        qs = qs.filter(kind__in=filters.kind)
    # Dates: a statement's own date, or for an undated one made at an event with known
    # dates, the event's days (date_start..date_end, kept by the database). The year is
    # that of its first day; the range matches a statement whose days overlap it.
    if filters.dates == "own":
        qs = qs.filter(said_on__isnull=False)
    if filters.year and skip != "year":
        # A range per year rather than EXTRACT(year …), so the date_start index serves it.
        years = Q()
        for year in filters.year:
            years |= Q(date_start__range=(datetime.date(year, 1, 1), datetime.date(year, 12, 31)))
        qs = qs.filter(years)
    if filters.date_from:
        qs = qs.filter(date_end__gte=filters.date_from)
    if filters.date_to:
        qs = qs.filter(date_start__lte=filters.date_to)
    return qs


def capped_count(qs: QuerySet[Any], cap: int = COUNT_CAP) -> tuple[int, bool]:
    """(count, capped): counts at most cap + 1 rows."""
    n = qs.order_by().values("pk")[: cap + 1].count()
    return min(n, cap), n > cap


def capped_count_expression(qs: QuerySet[Any], cap: int = COUNT_CAP) -> RawSQL:
    """The same count (cap + 1 rows at most) as an uncorrelated scalar subquery, to ride
    along in another query: PostgreSQL runs it once, as an InitPlan."""
    sql, params = qs.order_by().values("pk")[: cap + 1].query.sql_with_params()
    return RawSQL(f"SELECT COUNT(*) FROM ({sql}) capped", params, output_field=IntegerField())


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


@dataclass
class Facet:
    name: str
    label: str
    values: list[FacetValue]
    sampled: bool = False  # counts are over the latest FACET_SCAN matches only


# What each facet counts, carried in the scope's rows so that counting reads the scope
# alone instead of joining the statements back by id for every facet.
_FACET_KEYS = {
    "facet_country": F("on_behalf_of_country_id"),
    "facet_speaker": F("speaker_id"),
    "facet_event": F("event_id"),
    "facet_kind": F("kind"),
    "facet_year": ExtractYear("date_start"),
}


def _facet_scope(filters: StatementFilters, name: str) -> QuerySet[Any]:
    """The statements a facet counts: the FACET_SCAN + 1 latest added under every other
    filter (one more than counted, so the query can tell that the set was cut), with the
    values the facets count."""
    qs = filtered_statements(filters, skip=name).order_by("-id")
    return qs.values("pk", **_FACET_KEYS)[: FACET_SCAN + 1]


def _facet_counts(name: str, scope: str) -> tuple[str, list[Any]]:
    """SQL for the facet's values (`key`) with their counts (`n`) over its scope, read
    from `scope`, the common table expression of _facet_scope's rows (see _facets)."""
    # Cut to FACET_SCAN, the latest added: the extra row only tells that there were more.
    latest = f'(SELECT * FROM "{scope}" ORDER BY pk DESC LIMIT %s) s'
    if name == "proposal":
        through = Statement.proposals.through._meta.db_table
        rows = f'{latest} JOIN "{through}" p ON p.statement_id = s.pk'
        key = "p.proposal_id"
    else:
        rows, key = latest, f"s.facet_{name}"
    # A few more than shown, so that selected values usually come with their counts.
    sql = f"SELECT {key} AS key, COUNT(*) AS n FROM {rows} GROUP BY 1 ORDER BY 2 DESC LIMIT %s"
    return sql, [FACET_SCAN, FACET_SIZE * 5]


# Where the keys of a facet get their URL value and their label (joined in by the query).
_FACET_LABELS = {
    "country": LabelTable(Country, "code", "lower(t.code)", "name", "code"),
    "speaker": LabelTable(Person, "id", "t.slug", "name", "slug"),
    "proposal": LabelTable(Proposal, "id", "t.slug", "title", "slug"),
    "event": LabelTable(Event, "id", "t.slug", "name", "slug"),
}
_FACET_TITLES = {
    "country": "Country",
    "speaker": "Speaker",
    "proposal": "Proposal",
    "event": "Event",
    "kind": "Kind",
    "year": "Year",
}


def facets(filters: StatementFilters) -> list[Facet]:
    """Each facet's top values with counts under the other filters, plus the selected
    ones: a single query (governance/facet_query.py), cached until the data changes."""
    key = {k: v for k, v in asdict(filters).items() if k not in ("page", "sort")}
    return count_cache.cached("statement-facets", key, lambda: _facets(filters))


def _facets(filters: StatementFilters) -> list[Facet]:
    # Facets whose scopes are the same query (every one, when no facet is ticked) share
    # one common table expression: the matches are scanned once, not twice per facet.
    shared: dict[str, QuerySet[Statement]] = {}
    scope_of: dict[str, str] = {}
    by_sql: dict[str, str] = {}
    for name in FACETS:
        scope = _facet_scope(filters, name)
        sql, params = compiled(scope)
        key = repr((sql, params))
        if key not in by_sql:
            by_sql[key] = f"scope_{len(shared)}"
            shared[by_sql[key]] = scope
        scope_of[name] = by_sql[key]
    rows = facet_rows(
        {name: _facet_counts(name, scope_of[name]) for name in FACETS},
        _FACET_LABELS,
        {
            "country": filters.country,
            "speaker": filters.speaker,
            "proposal": filters.proposal,
            "event": filters.event,
        },
        scope_of,
        shared,
    )
    selected: dict[str, list[str]] = {
        "country": [code.lower() for code in filters.country],  # URLs use lower case
        "speaker": filters.speaker,
        "proposal": filters.proposal,
        "event": filters.event,
        "kind": filters.kind,
        "year": [str(y) for y in filters.year],
    }
    kinds = {value: str(label) for value, label in Statement.Kind.choices}
    counted: dict[str, list[FacetRow]] = {name: [] for name in FACETS}
    labels: dict[str, dict[str, str]] = {name: {} for name in FACETS}
    sampled: set[str] = set()
    for row in rows:
        if row.value is None:
            if (row.count or 0) > FACET_SCAN:
                sampled.add(row.facet)
            continue
        label = kinds.get(row.value, row.label) if row.facet == "kind" else row.label
        labels[row.facet][row.value] = label
        if row.count is not None:
            counted[row.facet].append(row)
    out = []
    for name, title in _FACET_TITLES.items():
        ranked = sorted(counted[name], key=lambda r: (-(r.count or 0), r.value))
        values = [
            FacetValue(r.value, labels[name][r.value], r.count or 0, r.value in selected[name])
            for r in ranked
        ]
        shown = [v for v in values if v.selected]
        shown += [v for v in values if not v.selected][: max(FACET_SIZE - len(shown), 0)]
        # A selected value with no statement left under the other filters still shows (0).
        present = {v.value for v in shown}
        for value in selected[name]:
            if value not in present:
                label = kinds.get(value, value) if name == "kind" else value
                shown.append(FacetValue(value, labels[name].get(value, label), 0, True))
        if name == "year":
            shown.sort(key=lambda v: v.value, reverse=True)
        out.append(Facet(name, title, shown, sampled=name in sampled))
    return out


@dataclass
class StatementPage:
    statements: list[Statement]
    total: int
    capped: bool
    page: int
    has_next: bool

    @property
    def first_index(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1 if self.statements else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * PAGE_SIZE + len(self.statements)


def statement_page(filters: StatementFilters) -> StatementPage:
    """One page of statements with everything a card shows and highlighted matches."""
    qs = filtered_statements(filters)
    key = {k: v for k, v in asdict(filters).items() if k not in ("page", "sort")}
    total, capped = count_cache.cached("statement-total", key, lambda: capped_count(qs))
    query = _search_query(filters.q) if filters.q else None
    if filters.sort == "relevance" and query is not None:
        qs = qs.annotate(rank=SearchRank(F("search_vector"), query)).order_by("-rank", "-id")
    elif filters.sort == "oldest":
        qs = qs.order_by(F("said_on").asc(nulls_last=True), "id")
    else:
        qs = qs.order_by(F("said_on").desc(nulls_last=True), "-id")
    if query is not None:
        qs = qs.annotate(
            headline=SearchHeadline(
                "text",
                query,
                config="english",
                start_sel=HL_START,
                stop_sel=HL_STOP,
                highlight_all=True,
            )
        )
    qs = qs.select_related(
        "speaker", "speaker_role", "speaker_role__organization", "speaker_role__country", "event"
    ).prefetch_related(
        "proposals", Prefetch("evidence", queryset=Evidence.objects.select_related("document"))
    )
    offset = (filters.page - 1) * PAGE_SIZE
    if filters.sort != "relevance":
        qs = qs.filter(pk__in=_by_date_candidates(filters, offset + PAGE_SIZE + 1))
    rows = list(qs[offset : offset + PAGE_SIZE + 1])
    statements = rows[:PAGE_SIZE]
    return StatementPage(statements, total, capped, filters.page, len(rows) > PAGE_SIZE)


def _by_date_candidates(filters: StatementFilters, n: int) -> QuerySet[Any]:
    """The ids among which the first `n` statements by date are: the first `n` dated ones
    and the first `n` undated ones (which sort after every dated one).

    Each part reads an index in page order and stops after `n` rows. Asked as one query,
    with a date range ending years before the newest statements, PostgreSQL walked the
    "newest" index from the top and dropped every statement after the range (700,000
    rows for 2020-2022 over a million). In the dated part the range also bounds `said_on`,
    which equals date_start and date_end there, so the walk starts at the range's end."""
    qs = filtered_statements(filters)
    dated = qs.filter(said_on__isnull=False)
    lowest = [d for d in (filters.date_from,) if d]
    highest = [d for d in (filters.date_to,) if d]
    if filters.year:  # the years are OR-ed: together they lie between the first and last
        lowest.append(datetime.date(min(filters.year), 1, 1))
        highest.append(datetime.date(max(filters.year), 12, 31))
    if lowest:
        dated = dated.filter(said_on__gte=max(lowest))
    if highest:
        dated = dated.filter(said_on__lte=min(highest))
    undated = qs.filter(said_on__isnull=True)
    if filters.sort == "oldest":
        # Dated rows only: NULLS FIRST changes nothing and matches a backward index scan.
        dated = dated.order_by(F("said_on").asc(nulls_first=True), "id")
        undated = undated.order_by("id")
    else:
        dated = dated.order_by(F("said_on").desc(nulls_last=True), "-id")
        undated = undated.order_by("-id")
    return dated.values("pk")[:n].union(undated.values("pk")[:n], all=True)


def highlight(marked: str) -> SafeString:
    """Escape text from ts_headline, then turn its match markers into <mark>."""
    escaped = escape(marked)
    return mark_safe(escaped.replace(HL_START, "<mark>").replace(HL_STOP, "</mark>"))


def browse_statements(filters: StatementFilters) -> dict[str, Any]:
    return {"page": statement_page(filters), "facets": facets(filters), "facet_scan": FACET_SCAN}
