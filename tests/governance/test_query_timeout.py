"""A slow analyst query degrades to a clear 503, not a 500, and leaves the connection usable.

governance.middleware.AnalystQueryTimeout runs each public GET in a transaction with
`statement_timeout`; these tests make a page's selector sleep in Postgres past it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from governance import listings, models, search

pytestmark = pytest.mark.django_db

# Well above what a page's real queries take on the small test data even on a loaded
# machine (at 50 ms, CI once saw one time out by itself), well below the sleeps below.
TIMEOUT_MS = 250
TOO_SLOW = "That query took too long"


def sleeper(seconds: float, then: Callable[..., Any] | None = None) -> Callable[..., Any]:
    """A stand-in selector that sleeps in the database, then (if it gets that far) does the
    real work."""

    def slow(*args: Any, **kwargs: Any) -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(%s)", [seconds])
        if then is None:
            raise AssertionError("the statement timeout should have cancelled the sleep")
        return then(*args, **kwargs)

    return slow


class SlowIterable:
    """A lazy value a template iterates: the query runs while the page renders."""

    def __iter__(self) -> Iterator[Any]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(1)")
        return iter(())


def timeout_queries(ctx: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if "statement_timeout" in q["sql"]]


@pytest.fixture
def short_timeout() -> Iterator[None]:
    with override_settings(ANALYST_QUERY_TIMEOUT_MS=TIMEOUT_MS):
        yield


def test_slow_page_gives_a_503_page_with_the_site_around_it(
    client: Client, short_timeout: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "browse_statements", sleeper(1))
    response = client.get("/statements/", {"q": "safety"})
    assert response.status_code == 503
    page = response.content.decode()
    assert TOO_SLOW in page
    assert "<html" in page and "site-header" in page
    # Starting again is a plain link to the page without its filters.
    assert '<a href="/statements/">Start again without filters</a>' in page
    assert "HX-Request" in response["Vary"]


def test_slow_htmx_request_gets_only_the_message(
    client: Client, short_timeout: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "browse_statements", sleeper(1))
    headers = {"HX-Request": "true", "HX-Target": "browser"}
    response = client.get("/statements/", {"q": "safety"}, headers=headers)
    assert response.status_code == 503
    fragment = response.content.decode()
    assert TOO_SLOW in fragment
    assert "<html" not in fragment and "site-header" not in fragment
    assert "HX-Request" in response["Vary"]


def test_slow_history_restore_gets_the_full_page(
    client: Client, short_timeout: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "browse_statements", sleeper(1))
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    response = client.get("/statements/", headers=headers)
    assert response.status_code == 503
    assert "site-header" in response.content.decode()


def test_after_a_timeout_the_next_request_works(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    models.Person.objects.create(name="Li Qiang")
    monkeypatch.setattr(search, "browse_statements", sleeper(1))
    with override_settings(ANALYST_QUERY_TIMEOUT_MS=TIMEOUT_MS):
        assert client.get("/statements/").status_code == 503
    monkeypatch.undo()
    # The pages after it run under the default limit, as a visitor's next request would.
    # Not left in an aborted transaction: the same connection answers the next page...
    response = client.get("/people/")
    assert response.status_code == 200 and "Li Qiang" in response.content.decode()
    assert client.get("/statements/").status_code == 200
    # ...and plain ORM queries outside a request. (The short timeout itself is SET LOCAL:
    # here it lasts until the test's own transaction ends; in production the request's
    # transaction is the outermost one, so it ends with the request.)
    assert models.Person.objects.count() == 1


def test_timeout_inside_the_search_transaction(
    client: Client, short_timeout: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # global_search sets the trigram threshold (SET LOCAL) inside the page's transaction;
    # a cancelled query after it must still end as the 503 page.
    monkeypatch.setattr(listings, "_search_all", sleeper(1))
    response = client.get("/search/", {"q": "Li Quang"})
    assert response.status_code == 503 and TOO_SLOW in response.content.decode()
    monkeypatch.undo()
    models.Person.objects.create(name="Li Qiang")
    response = client.get("/search/", {"q": "Li Quang"})
    assert response.status_code == 200 and "Li Qiang" in response.content.decode()


def test_timeout_in_the_global_search_selector(
    client: Client, short_timeout: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listings, "global_search", sleeper(1))
    response = client.get(
        "/search/", {"q": "x"}, headers={"HX-Request": "true", "HX-Target": "search-results"}
    )
    assert response.status_code == 503
    assert TOO_SLOW in response.content.decode() and "<html" not in response.content.decode()


def test_timeout_while_the_template_renders(
    client: Client, short_timeout: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Querysets are lazy: a slow query can run during rendering, after the view returned.
    def choices() -> dict[str, Any]:
        return {"proposers": SlowIterable(), "taking_part": [], "years": []}

    monkeypatch.setattr(listings, "proposal_facet_choices", choices)
    response = client.get("/proposals/")
    assert response.status_code == 503
    assert TOO_SLOW in response.content.decode()
    monkeypatch.undo()
    assert client.get("/proposals/").status_code == 200


def test_the_timeout_is_the_setting(client: Client, short_timeout: None) -> None:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/people/").status_code == 200
    # JIT off in the same statement: compiling the browser's facet query cost seconds.
    assert timeout_queries(ctx) == [
        f"SELECT set_config('statement_timeout', '{TIMEOUT_MS}', true), "
        "set_config('jit', 'off', true)"
    ]


def test_admin_is_not_wrapped(client: Client, short_timeout: None) -> None:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/admin/login/").status_code == 200
    assert timeout_queries(ctx) == []


def test_post_is_not_wrapped(
    client: Client, short_timeout: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Longer than the timeout, yet it completes: a POST runs without it.
    monkeypatch.setattr(search, "browse_statements", sleeper(0.5, search.browse_statements))
    with CaptureQueriesContext(connection) as ctx:
        response = client.post("/statements/", {"q": "safety"})
    assert response.status_code == 200
    assert timeout_queries(ctx) == []


def test_zero_disables_the_timeout(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "browse_statements", sleeper(0.2, search.browse_statements))
    with override_settings(ANALYST_QUERY_TIMEOUT_MS=0), CaptureQueriesContext(connection) as ctx:
        response = client.get("/statements/")
    assert response.status_code == 200
    assert timeout_queries(ctx) == []


def test_a_fast_page_is_unaffected(client: Client, short_timeout: None) -> None:
    response = client.get("/statements/", {"q": "anything"})
    assert response.status_code == 200
    assert TOO_SLOW not in response.content.decode()
