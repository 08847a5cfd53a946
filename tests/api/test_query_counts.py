"""Every API list (and detail) pins its query count, as the list pages do
(tests/governance/test_query_counts.py): measured on the UI dataset and again after
grow() has added twice as much of everything, the count must not move (no N+1) and must
stay within the bound stated here.

Each request also runs the analyst-query middleware's 3 queries: a savepoint, the
`set_config('statement_timeout', …)` and the savepoint release.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.governance.test_query_counts import Measured, repeated
from tests.governance.ui_data import UIData, grow

pytestmark = pytest.mark.django_db

# url -> the most queries it may run, the middleware's 3 included. Where they go:
# statements = page + proposals + evidence (with documents, one join);
# proposals = page + proposers + evidence; countries = page (counts are subqueries) +
# evidence; people = page + roles + the roles' evidence + evidence; organizations = page +
# members + evidence; participation, events = page + evidence; documents = page +
# mentions. A page whose rows straddle the undated ones reads one index run more.
BOUNDS: dict[str, int] = {
    "/api/statements?limit=200": 7,
    "/api/statements?country=cn,us&year=2024,2025&q=safety": 6,
    "/api/statements?sort=oldest&limit=10&kind=paraphrase": 6,
    "/api/proposals?limit=200": 6,
    "/api/proposals?country=de&sort=participants": 6,
    "/api/countries?limit=200": 5,
    "/api/countries?q=korea": 5,
    "/api/people?limit=200": 7,
    "/api/people?q=wang&country=cn": 7,
    "/api/organizations?limit=200": 6,
    "/api/participation?limit=200": 5,
    "/api/participation?country=cn&role=signatory": 5,
    "/api/events?limit=200": 5,
    "/api/documents?limit=200": 6,
    "/api/documents?q=safety&country=cn": 5,
    "/api/proposals/{bletchley}": 10,
    "/api/statements/{statement}": 8,
    "/api/people/{li}": 7,
    "/api/events/{waic}": 7,
    "/api/documents/{document}": 6,
}


def _url(template: str, data: UIData) -> str:
    return template.format(
        bletchley=data.proposal_slug("bletchley"),
        statement=data.statements[0].pk,
        li=data.people["Li Qiang"].slug,
        waic=data.events["waic"].slug,
        document=data.statements[0].document_id,
    )


def _run(client: Client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    return [q["sql"] for q in ctx.captured_queries]


@pytest.fixture(scope="module")
def measured(ui_data: UIData, django_db_blocker: Any) -> Iterator[dict[str, Measured]]:
    client = Client()
    with django_db_blocker.unblock():
        urls = {name: _url(name, ui_data) for name in BOUNDS}
        for url in urls.values():  # warm caches (content types)
            _run(client, url)
        small = {name: _run(client, url) for name, url in urls.items()}
        grow(ui_data, factor=3)
        large = {name: _run(client, url) for name, url in urls.items()}
    yield {name: Measured(small[name], large[name]) for name in BOUNDS}


@pytest.mark.parametrize("url", list(BOUNDS))
def test_query_count_does_not_grow_with_data(measured: dict[str, Measured], url: str) -> None:
    m = measured[url]
    assert len(m.large) == len(m.small), repeated(m)


@pytest.mark.parametrize("url", list(BOUNDS))
def test_query_count_is_within_its_bound(measured: dict[str, Measured], url: str) -> None:
    n = len(measured[url].small)
    assert n <= BOUNDS[url], f"{url}: {n} > {BOUNDS[url]}\n" + "\n".join(measured[url].small)
    assert any("statement_timeout" in sql for sql in measured[url].small)
