"""Every list page pins its query count: measured on the small dataset,
then again after adding twice as much of everything. The count must not move (no N+1)
and must stay within the bound stated here.

In tests the analyst-query middleware adds 3 queries to each page: a savepoint, the
`set_config('statement_timeout', …)` and the savepoint release.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from governance import count_cache
from tests.governance.ui_data import UIData, grow, ui_data

__all__ = ["ui_data"]  # the fixture, imported for pytest

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}

PAGES: dict[str, tuple[str, dict[str, str]]] = {
    "dashboard": ("/", {}),
    "statements": ("/statements/", {}),
    "statements, page 2": ("/statements/?page=2", {}),
    "statements, filtered": (
        "/statements/?country=cn,us&kind=direct_quote&kind=paraphrase&proposal={bletchley}",
        {},
    ),
    "statements, search": ("/statements/?q=safety", {}),
    "statements, search + filters": (
        "/statements/?q=safety+or+talent&country=cn&from=2023-01-01&to=2026-12-31&sort=relevance",
        {},
    ),
    "statements, htmx partial": (
        "/statements/?speaker={li}&year=2023&year=2024&year=2025&year=2026",
        {**HTMX, "HX-Target": "browser"},
    ),
    "proposals": ("/proposals/", {}),
    "proposals, filtered": ("/proposals/?kind=declaration&country=de&sort=participants", {}),
    "proposals, htmx partial": ("/proposals/?status=adopted", {**HTMX, "HX-Target": "results"}),
    "countries": ("/countries/", {}),
    "countries, search": ("/countries/?q=korea", {}),
    "countries, all": ("/countries/?all=1&sort=name", {**HTMX, "HX-Target": "results"}),
    "participation": ("/participation/", {}),
    "participation, filtered": ("/participation/?country=cn&role=signatory&year=2023", {}),
    "participation, htmx partial": (
        "/participation/?proposal={bletchley}",
        {**HTMX, "HX-Target": "results"},
    ),
    "documents": ("/documents/", {}),
    "documents, filtered": (
        "/documents/?q=safety&country=cn&language=en&published_from=2023-01-01&sort=fetched",
        {},
    ),
    "documents, htmx partial": ("/documents/?page=2", {**HTMX, "HX-Target": "results"}),
    "downloads": ("/data/", {}),
    "events": ("/events/", {}),
    "people": ("/people/", {}),
    "people, search": ("/people/?q=an", {**HTMX, "HX-Target": "results"}),
    "organizations": ("/organizations/", {}),
    "organizations, kind": ("/organizations/?kind=research", {}),
    "search": ("/search/?q=safety", {}),
    "search, typo": ("/search/?q=Li+Quang", {}),
    "search, htmx partial": ("/search/?q=Chna", {**HTMX, "HX-Target": "search-results"}),
    "compare": ("/compare/?countries=cn,us", {}),
    "compare, three": ("/compare/?countries=cn&countries=us&countries=gb,fr", {}),
    # Record pages analysts open most.
    "country": ("/countries/cn/", {}),
    "country, statements": ("/countries/cn/?tab=statements", {}),
    "country, organizations": ("/countries/cn/?tab=organizations", {}),
    "country, documents": ("/countries/cn/?tab=documents", {}),
    "proposal": ("/proposals/{waico}/", {}),
    "proposal, declaration": ("/proposals/{bletchley}/", {}),
    "person": ("/people/{li}/", {}),
    "organization": ("/organizations/{un}/", {}),
    "event": ("/events/{summit}/", {}),
    "statement": ("/statements/{statement}/", {}),
    "document": ("/documents/{document}/", {}),
}

# The most queries each page may run, with the middleware's 3. Where they go:
# - dashboard: one SELECT of subqueries (counts, freshness, most active and most quoted
#   countries, the map's roles) + proposals + their participants + statements + 2
#   prefetches (proposals, evidence) + events;
# - statements: capped count + the page + 2 prefetches (proposals, evidence) + all 6
#   facets with their labels in one UNION ALL (governance/facet_query.py);
# - proposals: count + page + proposer prefetch + 3 filter menus (not in the partial);
# - countries: 3 grouped counts + the countries;
# - participation: count + page + evidence prefetch + 4 filter menus (only the years in
#   the partial);
# - documents: count + page + 4 filter menus (none in the partial);
# - search: set_config of the trigram threshold (in the page's transaction) + the 5 name
#   groups in one SELECT + statements + documents;
# - downloads reads files, not the database;
# - country: the country + its role groups and event rows in one windowed query (row
#   number and total per group) + their evidence; its statements tab: 2 previews, each
#   the newest statements with their capped total riding along + 2 prefetches;
# - proposal: the proposal with its action-plan items (a JSON array) + participation rows +
#   the evidence of both (governance/evidence_prefetch.py) + the statement preview (3) +
#   sources;
# - event: the event with its proposals (a JSON array) + participants + figures + the
#   evidence of the event and its figures + the statement preview (3);
# - document: the document + its evidence rows + one query per kind of record supported
#   (with what their links read) + ingestion runs.
BOUNDS: dict[str, int] = {
    "dashboard": 10,
    "statements": 8,
    "statements, page 2": 8,
    "statements, filtered": 8,
    "statements, search": 8,
    "statements, search + filters": 8,
    "statements, htmx partial": 8,
    "proposals": 9,
    "proposals, filtered": 9,
    "proposals, htmx partial": 7,
    "countries": 7,
    "countries, search": 7,
    "countries, all": 7,
    "participation": 10,
    "participation, filtered": 10,
    "participation, htmx partial": 7,
    "documents": 9,
    "documents, filtered": 9,
    "documents, htmx partial": 5,
    "downloads": 3,
    "events": 5,
    "people": 5,
    "people, search": 5,
    "organizations": 5,
    "organizations, kind": 5,
    "search": 7,
    "search, typo": 7,
    "search, htmx partial": 7,
    "compare": 10,
    "compare, three": 10,
    "country": 6,
    "country, statements": 8,
    "country, organizations": 7,
    "country, documents": 6,
    "proposal": 10,
    "proposal, declaration": 10,
    "person": 10,
    "organization": 8,
    "event": 10,
    "statement": 7,
    "document": 7,
}


@dataclass
class Measured:
    small: list[str]
    large: list[str]


def _url(template: str, data: UIData) -> str:
    return template.format(
        bletchley=data.proposal_slug("bletchley"),
        waico=data.proposal_slug("waico"),
        li=data.people["Li Qiang"].slug,
        un=data.organizations["United Nations"].slug,
        summit=data.events["bletchley"].slug,
        statement=data.statements[0].pk,
        document=data.documents[0].pk,
    )


def _run(client: Client, url: str, headers: dict[str, str]) -> list[str]:
    # The worst case: cached counts (governance/count_cache.py) missing.
    count_cache.bump_all()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, url
    return [q["sql"] for q in ctx.captured_queries]


@pytest.fixture(scope="module")
def measured(ui_data: UIData, django_db_blocker: Any) -> Iterator[dict[str, Measured]]:
    """Queries of every page, on the small dataset and after grow() (3x the data)."""
    client = Client()
    with django_db_blocker.unblock():
        urls = {name: (_url(url, ui_data), headers) for name, (url, headers) in PAGES.items()}
        for url, headers in urls.values():  # warm caches (content types, templates)
            _run(client, url, headers)
        small = {name: _run(client, url, headers) for name, (url, headers) in urls.items()}
        grow(ui_data, factor=3)
        large = {name: _run(client, url, headers) for name, (url, headers) in urls.items()}
    yield {name: Measured(small[name], large[name]) for name in PAGES}


def _shape(sql: str) -> str:
    """A query with its literal values blanked, so repeats of one query group together."""
    return re.sub(r"\b\d+\b|'[^']*'", "?", sql)[:300]


def repeated(measured: Measured) -> list[str]:
    extra = Counter(map(_shape, measured.large)) - Counter(map(_shape, measured.small))
    return [f"{n} more × {sql}" for sql, n in extra.most_common()]


@pytest.mark.parametrize("page", list(PAGES))
def test_query_count_does_not_grow_with_data(measured: dict[str, Measured], page: str) -> None:
    m = measured[page]
    assert len(m.large) == len(m.small), repeated(m)


@pytest.mark.parametrize("page", list(PAGES))
def test_query_count_is_within_its_bound(measured: dict[str, Measured], page: str) -> None:
    bound = BOUNDS[page]
    assert len(measured[page].small) <= bound, f"{page}: {len(measured[page].small)} > {bound}"
    # The middleware's read transaction with its statement timeout.
    assert any("statement_timeout" in sql for sql in measured[page].small)
