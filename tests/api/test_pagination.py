"""Cursor pagination: paging through returns every row exactly once, in order, in both
directions; rows added while paging cause no repeats or gaps among the others; a cursor
that was altered, or belongs to another list, is refused with a 400."""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.test import Client

from governance import models
from tests.api.test_endpoints import collect
from tests.governance.ui_data import UIData

pytestmark = pytest.mark.django_db

LISTS = [
    "/api/statements",
    "/api/statements?sort=oldest",
    "/api/statements?country=cn,us",
    "/api/proposals",
    "/api/proposals?sort=oldest",
    "/api/proposals?sort=title",
    "/api/proposals?sort=participants",
    "/api/countries",
    "/api/people",
    "/api/organizations",
    "/api/participation",
    "/api/events",
    "/api/documents",
]


def _key(row: dict[str, Any]) -> Any:
    return row.get("id", row.get("code"))


def _with(url: str, **params: Any) -> str:
    sep = "&" if "?" in url else "?"
    return url + sep + "&".join(f"{k}={v}" for k, v in params.items())


@pytest.mark.parametrize("url", LISTS)
def test_paging_returns_every_row_once_in_the_unpaged_order(
    api: Client, ui_data: UIData, url: str
) -> None:
    whole = api.get(_with(url, limit=200)).json()
    assert whole["next"] is None or url == "/api/countries"
    everything = [_key(r) for r in collect(api, _with(url, limit=200))]
    for limit in (2, 7):
        paged = [_key(r) for r in collect(api, _with(url, limit=limit))]
        assert paged == everything, limit


@pytest.mark.parametrize("url", ["/api/statements", "/api/documents", "/api/participation"])
def test_previous_links_walk_back_over_the_same_pages(
    api: Client, ui_data: UIData, url: str
) -> None:
    pages: list[list[Any]] = []
    body = api.get(_with(url, limit=4)).json()
    assert body["previous"] is None
    while True:
        pages.append([_key(r) for r in body["results"]])
        if not body["next"]:
            break
        body = api.get(body["next"]).json()
    # From the last page, `previous` leads back through the same pages to the first.
    for expected in reversed(pages[:-1]):
        body = api.get(body["previous"]).json()
        assert [_key(r) for r in body["results"]] == expected
    assert body["previous"] is None
    # ... and `next` from a page reached backwards goes forward again.
    assert [_key(r) for r in api.get(body["next"]).json()["results"]] == pages[1]


def _statement(said_on: datetime.date | None, n: int) -> models.Statement:
    return models.Statement.objects.create(
        kind=models.Statement.Kind.PARAPHRASE,
        text=f"Inserted while paging {n}",
        said_on=said_on,
        on_behalf_of_country_id="CN",
    )


def test_rows_added_while_paging_cause_no_repeats_or_gaps(api: Client, ui_data: UIData) -> None:
    before = {s.pk for s in ui_data.statements}
    seen: list[int] = []
    body = api.get("/api/statements?limit=5").json()
    n = 0
    while True:
        seen += [r["id"] for r in body["results"]]
        if not body["next"]:
            break
        # New rows everywhere in the order: before the current position (newest, and
        # on the boundary row's own date), after it, and among the undated.
        last = body["results"][-1]["said_on"]
        dates = [datetime.date(2030, 1, 1), datetime.date(2000, 1, 1), None]
        if last:
            dates.append(datetime.date.fromisoformat(last))
        for said_on in dates:
            _statement(said_on, n := n + 1)
        body = api.get(body["next"]).json()
    assert len(seen) == len(set(seen)), "a row came twice"
    assert before <= set(seen), "an existing row was skipped"


def test_statement_rows_on_one_date_page_by_id(api: Client, ui_data: UIData) -> None:
    """Many rows share a date: the id breaks the tie, so pages split a date cleanly."""
    day = datetime.date(2031, 5, 5)
    made = [_statement(day, n).pk for n in range(9)]
    rows = collect(api, "/api/statements?limit=2&year=2031")
    assert [r["id"] for r in rows] == sorted(made, reverse=True)


def _cursor(url: str) -> str:
    return parse_qs(urlsplit(url).query)["cursor"][0]


def test_a_tampered_cursor_is_refused(api: Client, ui_data: UIData) -> None:
    next_url = api.get("/api/statements?limit=2").json()["next"]
    cursor = _cursor(next_url)
    payload = signing.loads(cursor, salt="governance.api.cursor")
    assert api.get(f"/api/statements?limit=2&cursor={cursor}").status_code == 200
    forged = signing.dumps({**payload, "i": 1}, salt="another salt", compress=True)
    flipped = cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:]
    for bad in (forged, flipped, "not-a-cursor", cursor + "x"):
        response = api.get("/api/statements", {"limit": 2, "cursor": bad})
        assert response.status_code == 400, bad
        assert "cursor" in response.json()["detail"].lower()


def test_a_cursor_of_another_list_is_refused(api: Client, ui_data: UIData) -> None:
    cursor = _cursor(api.get("/api/people?limit=2").json()["next"])
    response = api.get("/api/organizations", {"cursor": cursor})
    assert response.status_code == 400
    assert "another list" in response.json()["detail"]
    oldest = _cursor(api.get("/api/statements?sort=oldest&limit=2").json()["next"])
    assert api.get("/api/statements", {"cursor": oldest}).status_code == 400


def test_links_are_absolute_and_keep_the_filters(api: Client, ui_data: UIData) -> None:
    body = api.get("/api/statements?country=cn&limit=2").json()
    parts = urlsplit(body["next"])
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "testserver", "/api/statements")
    query = parse_qs(parts.query)
    assert query["country"] == ["cn"] and query["limit"] == ["2"]
    assert len(api.get("/api/statements?limit=2").json()["results"]) == 2
    assert len(api.get("/api/statements").json()["results"]) == 50  # the default limit
