"""Issue 25: the statements browser's queries that timed out on a million statements
(a common term with a date range, with a facet) were reshaped; these pin that the shapes
return what the plain queries return, and that the plans keep the shape that made them
fast (bench/analyst-queries.md has the figures on the 1M database)."""

from __future__ import annotations

import datetime
import random
from collections import Counter
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from governance import models, search
from tests import factories

pytestmark = pytest.mark.django_db

WORDS = ["safety", "governance", "cooperation", "compute", "standards", "talent"]
CODES = ["US", "CN", "FR"]


def _day(rng: random.Random) -> datetime.date:
    return datetime.date(2019, 1, 1) + datetime.timedelta(days=rng.randint(0, 2500))


@pytest.fixture
def mixed() -> list[models.Statement]:
    """Dated and undated statements (some at dated events, so their range comes from the
    event), several sharing a day, over countries, kinds, proposals and events."""
    rng = random.Random(25)
    events = []
    for _ in range(5):
        start = _day(rng)
        end = rng.choice([None, start, start + datetime.timedelta(days=rng.randint(1, 30))])
        events.append(factories.EventFactory(start_date=start, end_date=end))
    events.append(factories.EventFactory(start_date=None, end_date=None))
    people = [factories.PersonFactory() for _ in range(4)]
    proposals = [factories.ProposalFactory() for _ in range(3)]
    countries = list(models.Country.objects.filter(code__in=CODES))
    days = [_day(rng) for _ in range(40)]  # few days, so that ties on said_on are common
    out = []
    for i in range(150):
        statement = factories.StatementFactory(
            speaker=rng.choice(people),
            text=" ".join(rng.sample(WORDS, rng.randint(1, 4))) + f" ({i}).",
            said_on=rng.choice(days) if rng.random() < 0.4 else None,
            event=rng.choice([*events, None]),
            on_behalf_of_country=rng.choice([*countries, None]),
            kind=rng.choice(models.Statement.Kind.values),
        )
        statement.proposals.set(rng.sample(proposals, rng.randint(0, 2)))
        out.append(statement)
    return out


def _random_filters(rng: random.Random) -> search.StatementFilters:
    filters = search.StatementFilters()
    if rng.random() < 0.6:
        filters.q = rng.choice(WORDS)
    if rng.random() < 0.3:
        filters.year = rng.sample(range(2019, 2026), rng.randint(1, 2))
    if rng.random() < 0.6:
        filters.date_from = _day(rng)
    if rng.random() < 0.6:
        filters.date_to = (filters.date_from or _day(rng)) + datetime.timedelta(
            days=rng.randint(0, 1500)
        )
    if rng.random() < 0.3:
        filters.country = rng.sample(CODES, rng.randint(1, 2))
    if rng.random() < 0.2:
        filters.kind = [rng.choice(models.Statement.Kind.values)]
    if rng.random() < 0.2:
        slugs = models.Proposal.objects.values_list("slug", flat=True)
        filters.proposal = [rng.choice(list(slugs))]
    filters.dates = rng.choice(["", "", "own"])
    filters.sort = rng.choice(["date", "oldest"])
    return filters


def _by_date(pks: set[int], statements: list[models.Statement], sort: str) -> list[int]:
    """The browser's order, computed here: by own date (undated last), then by id."""
    rows = [s for s in statements if s.pk in pks]
    if sort == "oldest":
        key: Any = lambda s: (s.said_on is None, s.said_on or datetime.date.max, s.pk)  # noqa: E731
    else:
        key = lambda s: (s.said_on is None, -(s.said_on or datetime.date.min).toordinal(), -s.pk)  # noqa: E731
    return [s.pk for s in sorted(rows, key=key)]


def test_pages_by_date_are_the_plain_querys_pages(
    mixed: list[models.Statement], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every page, for random filter sets, is the slice of all matches in date order: the
    split into a dated and an undated part changes no row and no position, also on the
    page where the dated rows end and the undated ones begin. Pages of 4, so that each
    part has more matches than a page asks of it."""
    monkeypatch.setattr(search, "PAGE_SIZE", 4)
    rng = random.Random(2025)
    crossed = 0
    for _ in range(30):
        filters = _random_filters(rng)
        matching = set(search.filtered_statements(filters).values_list("pk", flat=True))
        expected = _by_date(matching, mixed, filters.sort)
        pages = len(expected) // search.PAGE_SIZE + 1
        for page in range(1, pages + 1):
            filters.page = page
            got = search.statement_page(filters)
            start = (page - 1) * search.PAGE_SIZE
            want = expected[start : start + search.PAGE_SIZE]
            assert [s.pk for s in got.statements] == want, (filters, page)
            assert got.has_next == (len(expected) > start + search.PAGE_SIZE)
            dated = {s.said_on is not None for s in got.statements}
            crossed += dated == {True, False}
    assert crossed >= 3  # pages holding both parts were among those compared


def _facet_key(name: str, s: models.Statement) -> list[str]:
    if name == "proposal":
        return list(s.proposals.values_list("slug", flat=True))
    value = {
        "country": s.on_behalf_of_country_id and s.on_behalf_of_country_id.lower(),
        "speaker": s.speaker.slug if s.speaker else None,
        "event": s.event.slug if s.event else None,
        "kind": s.kind,
        "year": s.date_start and str(s.date_start.year),
    }[name]
    return [value] if value else []


@pytest.mark.parametrize(
    "ticked",
    [{}, {"country": ["US"]}, {"country": ["US", "CN"], "kind": ["paraphrase"]}, {"year": [2022]}],
)
def test_facets_sharing_a_scope_count_what_each_counted_alone(
    mixed: list[models.Statement], monkeypatch: pytest.MonkeyPatch, ticked: dict[str, Any]
) -> None:
    """With a scope smaller than the matches (so the cut to the latest rows matters), each
    facet counts the latest FACET_SCAN statements under the other filters, as before its
    scope became a shared table expression."""
    monkeypatch.setattr(search, "FACET_SCAN", 12)
    by_pk = {s.pk: s for s in models.Statement.objects.select_related("speaker", "event")}
    filters = search.StatementFilters(date_from=datetime.date(2019, 6, 1), **ticked)
    facets = {f.name: f for f in search._facets(filters)}
    for name in search.FACETS:
        scope = sorted(search.filtered_statements(filters, skip=name).values_list("pk", flat=True))
        counted = Counter(v for pk in scope[::-1][:12] for v in _facet_key(name, by_pk[pk]))
        facet = facets[name]
        assert facet.sampled == (len(scope) > 12), name
        for value in facet.values:
            assert value.count == counted.get(value.value, 0), (name, value)
        selected = [v for v in facet.values if v.selected]
        ranked = sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))
        top = [v for v, _ in ranked if v not in {s.value for s in selected}]
        shown = {v.value for v in facet.values if not v.selected}
        assert shown == set(top[: search.FACET_SIZE - len(selected)]), name


@pytest.mark.parametrize(
    ("ticked", "scans"),
    [({}, 1), ({"country": ["US"]}, 2), ({"country": ["US"], "kind": ["paraphrase"]}, 3)],
)
def test_facets_with_the_same_scope_scan_it_once(
    mixed: list[models.Statement], ticked: dict[str, Any], scans: int
) -> None:
    """One materialized scope per distinct filter set: with nothing ticked every facet
    counts the same matches (it was 12 scans of them: a size and a count per facet)."""
    filters = search.StatementFilters(q="safety", date_from=datetime.date(2020, 1, 1), **ticked)
    with CaptureQueriesContext(connection) as ctx:
        search._facets(filters)
    (sql,) = [q["sql"] for q in ctx.captured_queries]
    assert sql.count("AS MATERIALIZED (") == scans
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert plan.count("CTE scope_") == scans


def test_a_date_range_bounds_the_walk_of_the_newest_index(mixed: list[models.Statement]) -> None:
    """The page's dated part carries the range on said_on as an index condition, so that
    at a million statements the walk starts at the range's end instead of reading every
    newer statement (708,888 of them for 2020-2022 before the change)."""
    filters = search.StatementFilters(
        q="safety", date_from=datetime.date(2020, 1, 1), date_to=datetime.date(2022, 12, 31)
    )
    with CaptureQueriesContext(connection) as ctx:
        search.statement_page(filters)
    (sql,) = [q["sql"] for q in ctx.captured_queries if "UNION ALL" in q["sql"]]
    with connection.cursor() as cursor:
        # Small data: make the planner take the indexes it would take at scale.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Scan using statement_newest" in plan, plan
    assert "said_on <= '2022-12-31'::date" in plan and "Index Cond" in plan, plan
