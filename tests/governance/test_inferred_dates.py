"""Issue 24, dates inherited honestly: a statement or participation row reported at an
event with known dates and no date of its own is shown, exported and filtered with the
event's dates, marked as inferred from the event; its own date field stays empty."""

from __future__ import annotations

import csv
import datetime
import io
import json
import random
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from governance import models, search
from governance.seed import load_seed
from tests import factories

pytestmark = pytest.mark.django_db

WAIC = "World Artificial Intelligence Conference 2025"
INFERRED = "26–28 Jul 2025, from the event"


def streamed(client: Client, path: str, params: dict[str, str]) -> str:
    response = client.get(path, params)
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_undated_statements_and_delegates_show_the_events_dates(client: Client) -> None:
    load_seed()
    ma = models.Statement.objects.get(speaker__slug="ma-zhaoxu")
    assert ma.said_on is None and ma.date_basis == "event"
    assert (ma.date_start, ma.date_end) == (datetime.date(2025, 7, 26), datetime.date(2025, 7, 28))
    for url in (ma.get_absolute_url(), ma.event.get_absolute_url(), "/statements/"):
        page = client.get(url).content.decode()
        assert INFERRED in text_of(page), url
        assert '<time datetime="2025-07-26/2025-07-28" class="inferred">' in page
    # A statement with its own date shows it, unmarked.
    li = models.Statement.objects.get(kind="direct_quote")
    page = text_of(client.get(li.get_absolute_url()).content.decode())
    assert "26 July 2025" in page and "from the event" not in page

    delegates = models.Participation.objects.filter(event__name=WAIC, role="delegate")
    assert delegates.count() >= 5 and all(p.date is None for p in delegates)
    page = client.get("/participation/", {"role": "delegate"}).content.decode()
    rows = [text_of(r) for r in re.findall(r"<tr\b[^>]*>(.*?)</tr>", page, re.S)[1:]]
    assert len(rows) == delegates.count()
    assert all(INFERRED in row for row in rows), rows
    # Nothing says "Undated" for them any more.
    assert "Undated" not in text_of(client.get(ma.event.get_absolute_url()).content.decode())


def test_exports_and_api_give_the_inferred_dates_beside_the_own_date(client: Client) -> None:
    load_seed()
    ma = models.Statement.objects.get(speaker__slug="ma-zhaoxu")
    rows = {r["id"]: r for r in json.loads(streamed(client, "/statements/", {"format": "json"}))}
    assert rows[ma.pk]["said_on"] == ""
    assert rows[ma.pk]["date_basis"] == "event"
    assert (rows[ma.pk]["date_inferred_start"], rows[ma.pk]["date_inferred_end"]) == (
        "2025-07-26",
        "2025-07-28",
    )
    li = models.Statement.objects.get(kind="direct_quote")
    assert rows[li.pk]["said_on"] == "2025-07-26"
    assert (rows[li.pk]["date_basis"], rows[li.pk]["date_inferred_start"]) == ("own", "")

    table = csv.DictReader(
        io.StringIO(streamed(client, "/participation/", {"format": "csv", "role": "delegate"}))
    )
    delegates = list(table)
    assert delegates and all(
        (r["date"], r["date_basis"], r["date_inferred_start"], r["date_inferred_end"])
        == ("", "event", "2025-07-26", "2025-07-28")
        for r in delegates
    )

    detail = client.get(f"/api/statements/{ma.pk}").json()
    assert detail["said_on"] is None
    assert (detail["date_basis"], detail["date_inferred_start"], detail["date_inferred_end"]) == (
        "event",
        "2025-07-26",
        "2025-07-28",
    )
    listed = client.get("/api/participation", {"role": "delegate"}).json()["results"]
    assert listed and all(r["date_basis"] == "event" for r in listed)


def test_the_database_keeps_the_dates_when_the_event_or_the_row_changes() -> None:
    event = factories.EventFactory(
        start_date=datetime.date(2025, 2, 10), end_date=datetime.date(2025, 2, 11)
    )
    speaker = factories.PersonFactory()
    # bulk_create skips save(): the trigger fills the dates all the same.
    (statement,) = models.Statement.objects.bulk_create(
        [
            models.Statement(
                speaker=speaker, kind="paraphrase", text="Undated.", event=event, fingerprint="x"
            )
        ]
    )
    row = models.Participation.objects.create(
        event=event, country_id="FR", role=models.Participation.Role.DELEGATE
    )

    def dates(record: Any) -> tuple[Any, Any]:
        record.refresh_from_db()
        return record.date_start, record.date_end

    assert dates(statement) == (datetime.date(2025, 2, 10), datetime.date(2025, 2, 11))
    assert dates(row) == (datetime.date(2025, 2, 10), datetime.date(2025, 2, 11))
    # The event moves (a queryset update, no save()): its undated rows follow.
    models.Event.objects.filter(pk=event.pk).update(
        start_date=datetime.date(2025, 3, 1), end_date=None
    )
    assert dates(statement) == (datetime.date(2025, 3, 1), datetime.date(2025, 3, 1))
    assert dates(row) == (datetime.date(2025, 3, 1), datetime.date(2025, 3, 1))
    # An own date wins, and the event no longer moves it.
    models.Statement.objects.filter(pk=statement.pk).update(said_on=datetime.date(2025, 1, 5))
    models.Event.objects.filter(pk=event.pk).update(start_date=datetime.date(2025, 4, 1))
    assert dates(statement) == (datetime.date(2025, 1, 5), datetime.date(2025, 1, 5))
    assert dates(row) == (datetime.date(2025, 4, 1), datetime.date(2025, 4, 1))
    # The event gone: the row it left is undated again.
    models.Statement.objects.filter(pk=statement.pk).update(said_on=None)
    statement.refresh_from_db()
    event.delete()  # row's participation cascades; the statement's event is set null
    assert dates(statement) == (None, None)
    assert statement.date_basis == ""


def test_date_filters_match_a_naive_computation() -> None:
    """The browser's year, from/to and own-dates filters (SQL over the stored columns)
    against the same rules computed here, in Python, from the statements and events."""
    rng = random.Random(24)
    day = lambda: datetime.date(2023, 1, 1) + datetime.timedelta(days=rng.randint(0, 1000))  # noqa: E731
    events = []
    for _ in range(6):
        start = day()
        end = rng.choice([None, start, start + datetime.timedelta(days=rng.randint(1, 40))])
        events.append(factories.EventFactory(start_date=start, end_date=end))
    events.append(factories.EventFactory(start_date=None, end_date=None))
    speaker = factories.PersonFactory()
    for i in range(120):
        factories.StatementFactory(
            speaker=speaker,
            text=f"Statement {i}.",
            said_on=day() if rng.random() < 0.5 else None,
            event=rng.choice([*events, None]),
        )
    # An event that moves after its statements were written.
    moved = events[0]
    moved.start_date, moved.end_date = datetime.date(2024, 12, 30), datetime.date(2025, 1, 2)
    moved.save()

    def naive(s: models.Statement) -> tuple[Any, Any]:
        if s.said_on:
            return s.said_on, s.said_on
        event = models.Event.objects.get(pk=s.event_id) if s.event_id else None
        if event and event.start_date:
            return event.start_date, event.end_date or event.start_date
        return None, None

    every = list(models.Statement.objects.all())
    spans = {s.pk: naive(s) for s in every}
    assert any(s.said_on is None and spans[s.pk][0] for s in every)  # the case that matters
    for _ in range(60):
        filters = search.StatementFilters()
        if rng.random() < 0.5:
            filters.year = rng.sample([2023, 2024, 2025, 2026], rng.randint(1, 2))
        if rng.random() < 0.6:
            filters.date_from = day()
        if rng.random() < 0.6:
            filters.date_to = (filters.date_from or day()) + datetime.timedelta(
                days=rng.randint(0, 200)
            )
        filters.dates = rng.choice(["", "own"])
        expected = set()
        for s in every:
            first, last = spans[s.pk]
            if filters.dates == "own" and s.said_on is None:
                continue
            if filters.year and (first is None or first.year not in filters.year):
                continue
            if filters.date_from and (last is None or last < filters.date_from):
                continue
            if filters.date_to and (first is None or first > filters.date_to):
                continue
            expected.add(s.pk)
        got = set(search.filtered_statements(filters).values_list("pk", flat=True))
        assert got == expected, filters


def test_the_date_filters_use_the_indexes() -> None:
    """At a million statements the range must come off an index, not a scan: the plan
    for from/to (and a year) over the stored columns names their indexes."""
    filters = search.StatementFilters(
        date_from=datetime.date(2025, 7, 1), date_to=datetime.date(2025, 7, 31), year=[2025]
    )
    sql, params = search.filtered_statements(filters).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "statement_date_start" in plan or "statement_date_end" in plan, plan
