"""The API over HTTP: CORS for any origin on /api/ only, the per-client rate limit (429 with
Retry-After, counted in Redis), and the statement timeout giving a JSON 503."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from governance.api import filters
from tests.api.conftest import clear_throttle
from tests.governance.test_query_timeout import TIMEOUT_MS, sleeper, timeout_queries
from tests.governance.ui_data import UIData

pytestmark = pytest.mark.django_db

ORIGIN = "https://analyst.example"


# --- CORS ------------------------------------------------------------------------------


def test_a_get_from_another_origin_is_allowed(api: Client, ui_data: UIData) -> None:
    response = api.get("/api/statements?country=cn&limit=1", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response


def test_preflight_allows_get_only(api: Client) -> None:
    response = api.options(
        "/api/proposals",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    methods = {m.strip() for m in response["Access-Control-Allow-Methods"].split(",")}
    assert methods == {"GET", "OPTIONS"}


def test_pages_outside_the_api_get_no_cors_headers(api: Client, ui_data: UIData) -> None:
    for url in ("/statements/?country=cn", "/", "/proposals/"):
        response = api.get(url, headers={"Origin": ORIGIN})
        assert response.status_code == 200
        assert "Access-Control-Allow-Origin" not in response, url
    preflight = api.options(
        "/statements/", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
    )
    assert "Access-Control-Allow-Origin" not in preflight


# --- Rate limit ------------------------------------------------------------------------


@pytest.fixture
def three_per_minute() -> Iterator[None]:
    clear_throttle()
    clear_throttle("10.0.0.2")
    with override_settings(API_RATE_LIMIT="3/min"):
        yield
    clear_throttle()
    clear_throttle("10.0.0.2")


def test_a_client_past_the_limit_gets_429_with_retry_after(
    api: Client, ui_data: UIData, three_per_minute: None
) -> None:
    urls = ["/api/people", "/api/countries/cn", "/api/statements?limit=1"]
    assert [api.get(url).status_code for url in urls] == [200, 200, 200]
    response = api.get("/api/events")
    assert response.status_code == 429
    assert response.json()["detail"]
    assert 1 <= int(response["Retry-After"]) <= 60
    # Another client address has its own allowance.
    assert api.get("/api/events", REMOTE_ADDR="10.0.0.2").status_code == 200
    # The site's pages are not counted.
    assert api.get("/people/").status_code == 200


def test_the_limit_comes_from_settings(api: Client, ui_data: UIData) -> None:
    clear_throttle()
    try:
        with override_settings(API_RATE_LIMIT="5/hour"):
            codes = [api.get("/api/people").status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
    finally:
        clear_throttle()
    assert settings.API_RATE_LIMIT != "5/hour"


def test_forwarded_for_does_not_dodge_the_limit(
    api: Client, ui_data: UIData, three_per_minute: None
) -> None:
    """No proxy sits in front of the app (docker-compose serves gunicorn directly), so a
    client-sent X-Forwarded-For must not give it a fresh allowance."""
    codes = [
        api.get("/api/people", headers={"X-Forwarded-For": f"192.0.2.{n}"}).status_code
        for n in range(4)
    ]
    assert codes == [200, 200, 200, 429]


# --- Statement timeout -----------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
def test_a_cancelled_query_is_a_json_503(
    api: Client, ui_data: UIData, monkeypatch: pytest.MonkeyPatch, debug: bool
) -> None:
    monkeypatch.setattr(filters, "statements", sleeper(1))
    with override_settings(ANALYST_QUERY_TIMEOUT_MS=TIMEOUT_MS, DEBUG=debug):
        response = api.get("/api/statements?country=cn")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert "too long" in response.json()["detail"]
    monkeypatch.undo()
    # The aborted transaction was rolled back: the next call works.
    assert api.get("/api/statements?country=cn&limit=1").status_code == 200


def test_api_queries_run_under_the_statement_timeout(api: Client, ui_data: UIData) -> None:
    with CaptureQueriesContext(connection) as ctx:
        assert api.get("/api/people?limit=1").status_code == 200
    assert timeout_queries(ctx)


def test_the_api_root_lists_docs_schema_and_resources(api: Client) -> None:
    body = api.get("/api/").json()
    assert body["docs"].endswith("/api/docs") and body["schema"].endswith("/api/schema")
    assert set(body["resources"]) == {
        "proposals", "countries", "people", "organizations",
        "statements", "participation", "events", "documents",
    }  # fmt: skip
    for url in body["resources"].values():
        assert api.get(url).status_code == 200


def test_unknown_api_paths_answer_json_404(api: Client) -> None:
    for path in ("/api/nothing-here", "/api/proposals/x/y/z", "/api/v2/statements"):
        response = api.get(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert "/api/docs" in response.json()["detail"]
