"""The benchmark's Datasette peer (bench/perf/datasette_peer.py): the SQLite export of a
few statements, its FTS index and indexes, and the equivalent pages checked with
Datasette's in-process client (no server started)."""

from __future__ import annotations

import asyncio
import datetime
import sqlite3
from pathlib import Path

import pytest
from datasette.app import Datasette
from django.db import connection
from django.http import QueryDict

from bench.perf import datasette_peer as peer
from governance import search
from governance.models import Country, Evidence, Role, Statement
from tests.factories import (
    DocumentFactory,
    EventFactory,
    PersonFactory,
    ProposalFactory,
    StatementFactory,
)

pytestmark = pytest.mark.django_db


def _evidence(statement: Statement, document, excerpt: str) -> None:
    start = document.text.index(excerpt)
    Evidence.objects.create(
        record=statement, document=document, start=start, end=start + len(excerpt), excerpt=excerpt
    )


@pytest.fixture
def statements() -> dict[str, Statement]:
    cn, us = Country.objects.get(code="CN"), Country.objects.get(code="US")
    minister = PersonFactory(name="Wei Minister")
    role = Role.objects.create(person=minister, title="Minister", country=cn)
    event = EventFactory(name="Helsinki AI Forum")
    accord, pact = ProposalFactory(title="Zeta Accord"), ProposalFactory(title="Alpha Pact")
    first = StatementFactory(
        speaker=minister,
        speaker_role=role,
        on_behalf_of_country=cn,
        kind=Statement.Kind.DIRECT_QUOTE,
        text="AI safety is a common good, we said in Helsinki.",
        said_on=datetime.date(2025, 3, 1),
        event=event,
    )
    first.proposals.set([accord, pact])
    first.countries.set([cn, us])
    first_doc = DocumentFactory(title="First document")
    second_doc = DocumentFactory(title="Second document")
    # The card links the first evidence in (document, start) order, not the oldest one.
    _evidence(first, second_doc, "Li Qiang")
    _evidence(first, first_doc, "AI")
    second = StatementFactory(
        on_behalf_of_country=us,
        kind=Statement.Kind.PARAPHRASE,
        text="Standards for safety testing are coming.",
        said_on=datetime.date(2024, 5, 2),
    )
    second.proposals.set([accord])
    undated = StatementFactory(
        speaker=None, on_behalf_of_country=us, kind=Statement.Kind.DIRECT_QUOTE, text="Talks go on."
    )
    stemmed = StatementFactory(
        on_behalf_of_country=cn,
        kind=Statement.Kind.DIRECT_QUOTE,
        text="The safeties of frontier models matter.",
        said_on=datetime.date(2026, 1, 1),
    )
    return {"first": first, "second": second, "undated": undated, "stemmed": stemmed}


@pytest.fixture
def exported(statements: dict[str, Statement], tmp_path: Path) -> peer.ExportSummary:
    connection.ensure_connection()
    # Django's own connection, so the export sees the test's uncommitted rows.
    return peer.export_from_connection(connection.connection, tmp_path / "statements.db")


def _rows(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def test_constants_are_the_browsers() -> None:
    assert (peer.PAGE_SIZE, peer.FACET_SIZE) == (search.PAGE_SIZE, search.FACET_SIZE)


def test_export_denormalizes_what_the_card_and_facets_show(
    statements: dict[str, Statement], exported: peer.ExportSummary
) -> None:
    path = exported.path
    assert exported.rows["statements"] == Statement.objects.count() == 4
    assert exported.rows["statement_proposals"] == 3
    assert exported.rows["statement_countries"] == 2
    assert exported.bytes == path.stat().st_size > 0
    assert not path.with_name(path.name + ".partial").exists()

    first = statements["first"]
    columns = [c[1] for c in _rows(path, "PRAGMA table_info(statements)")]
    (values,) = _rows(path, "SELECT * FROM statements WHERE id = ?", (first.pk,))
    row = dict(zip(columns, values, strict=True))
    assert row == {
        "id": first.pk,
        "kind": "direct_quote",
        "text": first.text,
        "said_on": "2025-03-01",
        "year": 2025,
        "speaker": first.speaker_id,
        "speaker_role": "Minister",
        "speaker_role_of": "China",
        "country": "CN",
        "event": first.event_id,
        "proposals": '["alpha-pact", "zeta-accord"]',
        "source_title": "First document",
        "source_url": None,
    }
    undated = _rows(
        path,
        "SELECT said_on, year, speaker, proposals, source_title FROM statements WHERE id = ?",
        (statements["undated"].pk,),
    )
    assert undated == [(None, None, None, "[]", None)]
    # Labels for the foreign keys, as Datasette shows them in facets and cards.
    assert _rows(path, "SELECT name FROM people WHERE id = ?", (first.speaker_id,)) == [
        ("Wei Minister",)
    ]
    assert _rows(path, "SELECT name FROM countries WHERE code = 'CN'") == [("China",)]


def test_fts_index_matches_stemmed_words(
    statements: dict[str, Statement], exported: peer.ExportSummary
) -> None:
    def match(term: str) -> set[int]:
        sql = "SELECT rowid FROM statements_fts WHERE statements_fts MATCH ?"
        return {r[0] for r in _rows(exported.path, sql, (term,))}

    ids = {name: s.pk for name, s in statements.items()}
    assert match("safety") == {ids["first"], ids["second"], ids["stemmed"]}
    assert match("helsinki") == {ids["first"]}
    assert match("talk") == {ids["undated"]}  # "Talks", stemmed
    # External content: Datasette finds the FTS table from its content="statements".
    (sql,) = _rows(exported.path, "SELECT sql FROM sqlite_master WHERE name = 'statements_fts'")[0]
    assert 'content="statements"' in sql


def test_the_postgresql_indexes_are_mirrored_and_analyzed(exported: peer.ExportSummary) -> None:
    def columns(index: str) -> list[str]:
        return [r[2] for r in _rows(exported.path, f"PRAGMA index_info({index})")]

    expected = {
        "statement_speaker_date": ["speaker", "said_on"],
        "statement_said_on": ["said_on"],
        "statement_newest": ["said_on", "id"],
        "statement_country_date": ["country", "said_on"],
        "statement_kind_date": ["kind", "said_on"],
        "statement_speaker": ["speaker"],
        "statement_country": ["country"],
        "statement_event": ["event"],
        "statement_proposals_uniq": ["statement_id", "proposal_id"],
        "statement_proposals_statement": ["statement_id"],
        "statement_proposals_proposal": ["proposal_id"],
        "statement_countries_uniq": ["statement_id", "country_code"],
        "statement_countries_statement": ["statement_id"],
        "statement_countries_country": ["country_code"],
    }
    assert {name: columns(name) for name in expected} == expected
    newest = _rows(exported.path, "PRAGMA index_xinfo(statement_newest)")
    assert [r[3] for r in newest if r[5]] == [1, 1]  # both keys descending
    assert _rows(exported.path, "SELECT count(*) FROM sqlite_stat1")[0][0] > 0


def test_datasette_pages_match_postgresql(
    statements: dict[str, Statement], exported: peer.ExportSummary
) -> None:
    pairs = peer.peer_urls(country="cn", kind="direct_quote", selective="helsinki", common="safety")
    assert [p.tracker for p in pairs] == [
        "/statements/?country=cn&kind=direct_quote",
        "/statements/?q=helsinki",
        "/statements/?q=safety",
    ]
    assert all(f"_size={search.PAGE_SIZE}" in p.peer for p in pairs)

    ds = Datasette(
        immutables=[str(exported.path)],
        metadata=peer.metadata(),
        settings={"sql_time_limit_ms": peer.SQL_TIME_LIMIT_MS},
    )

    async def fetch_all() -> dict[str, dict]:
        await ds.invoke_startup()
        out = {}
        for pair in pairs:
            response = await ds.client.get(pair.peer_json)
            assert response.status_code == 200, response.text
            out[pair.peer_json] = response.json()
            html = await ds.client.get(pair.peer)
            assert html.status_code == 200
        return out

    pages = asyncio.run(fetch_all())
    results = peer.compare(connection.connection, pages.__getitem__, pairs)
    assert [(r.tracker_rows, r.peer_rows) for r in results] == [(2, 2), (1, 1), (3, 3)]
    assert all(r.ok for r in results), [r.describe() for r in results]
    # The SQL the check counts with is our page's filter for the tracker URL.
    for pair in pairs:
        form = search.StatementFilterForm(QueryDict(pair.tracker.partition("?")[2]))
        filters = search.StatementFilters.from_form(form)
        with connection.cursor() as cursor:
            sql = f"SELECT s.id FROM governance_statement s WHERE {pair.where}"
            cursor.execute(sql, pair.params)
            ids = {row[0] for row in cursor.fetchall()}
        assert set(search.filtered_statements(filters).values_list("pk", flat=True)) == ids

    # The facets our page shows, with labels for the foreign keys, and the proposals
    # counted through the JSON array.
    safety = pages[pairs[2].peer_json]["facet_results"]
    assert set(safety) == {"country", "speaker", "proposals", "event", "kind", "year"}
    counts = {r["value"]: r["count"] for r in safety["proposals"]["results"]}
    assert counts == {"zeta-accord": 2, "alpha-pact": 1}
    assert {r["label"]: r["count"] for r in safety["country"]["results"]} == {
        "China": 2,
        "United States": 1,
    }
    assert {r["value"]: r["count"] for r in safety["year"]["results"]} == {
        2024: 1,
        2025: 1,
        2026: 1,
    }
