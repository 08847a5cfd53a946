"""Storing a feed's entries: the plainly new ones go in together, and every entry ends
as storing it alone would have ended it (new, updated, duplicate or failed)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.ingest import store
from governance.ingest.parse import ParsedDocument
from governance.ingest.store import StoreResult, store_document, store_documents
from governance.models import Document, Source
from tests.ingest.feeds import PARAGRAPHS

pytestmark = pytest.mark.django_db


class _Undo(Exception):
    pass


def entry(n: int, *, url: int | None = None, text: int | None = None) -> ParsedDocument:
    """Entry n, its URL and text those of entries `url` and `text` if given."""
    url_n = n if url is None else url
    text_n = n if text is None else text
    return ParsedDocument(
        url=f"http://wire.test/story-{url_n}" if url_n >= 0 else None,
        title=f"Story {n}",
        text=f"{PARAGRAPHS[text_n % 3]}\n\nStory number {text_n}.",
    )


def sources() -> tuple[Source, Source]:
    return (
        Source.objects.create(name="Wire", kind="feed", url="http://wire.test/feed"),
        Source.objects.create(name="Other", kind="feed", url="http://other.test/feed"),
    )


def stored() -> list[tuple[Any, ...]]:
    rows = Document.objects.values_list("url", "content_sha256", "source__name", "title", "text")
    return sorted(rows, key=str)


def summary(result: StoreResult) -> dict[str, Any]:
    """What a run records, with documents named by URL (ids differ between runs)."""
    urls = dict(Document.objects.values_list("pk", "url"))
    return {
        "new": sorted(str(urls[pk]) for pk in result.new),
        "updated": sorted(str(urls[u["document"]]) for u in result.updated),
        "duplicate": result.duplicate,
        "failed": result.failed,
        "warnings": Counter(result.warnings),
    }


def outcome(store_them: Any, before: list[tuple[ParsedDocument, int]], feed: list[ParsedDocument]):
    """(summary, the table after) of `store_them(feed, source)` on a table holding
    `before` (entries stored one at a time by the source of that index), undone after."""
    try:
        with transaction.atomic():
            both = sources()
            for parsed, which in before:
                store_document(parsed, both[which], StoreResult())
            result = store_them(feed, both[0])
            seen = (summary(result), stored())
            raise _Undo
    except _Undo:
        return seen


def one_at_a_time(feed: list[ParsedDocument], source: Source) -> StoreResult:
    result = StoreResult()
    for parsed in feed:
        store_document(parsed, source, result)
    return result


def test_new_entries_go_in_one_insert_in_the_feeds_order() -> None:
    source, _ = sources()
    feed = [entry(n) for n in range(25)]
    with CaptureQueriesContext(connection) as queries:
        result = store_documents(feed, source)
    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "governance_document"')]
    assert len(inserts) == 1 and len(queries) <= 4  # tell, savepoint, insert, release
    assert result.new == sorted(result.new) and len(result.new) == 25
    documents = Document.objects.in_bulk(result.new)
    assert [documents[pk].url for pk in result.new] == [p.url for p in feed]
    for pk in result.new:  # what Document.save() would have set
        assert documents[pk].content_sha256 == Document.hash_text(documents[pk].text)
    assert (result.duplicate, result.failed, result.updated) == (0, 0, [])


def test_stored_entries_do_not_hold_up_the_new_ones() -> None:
    """A stored URL with a new text, and a stored text under a new URL, are told apart
    before the INSERT: it does not fail on them and leave every entry to go alone."""
    source, _ = sources()
    store_documents([entry(0), entry(1)], source)
    feed = [entry(5, url=0), entry(6, text=1), *(entry(n) for n in range(10, 20))]
    with CaptureQueriesContext(connection) as queries:
        result = store_documents(feed, source)
    assert not [q for q in queries if q["sql"].startswith("ROLLBACK")]
    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "governance_document"')]
    assert len(inserts) == 1
    assert (len(result.new), len(result.updated), result.duplicate) == (10, 1, 1)


@pytest.mark.parametrize(
    ("before", "feed"),
    [
        pytest.param([], [entry(0), entry(1, url=0), entry(2)], id="one URL twice, new text"),
        pytest.param([], [entry(0), entry(1, text=0), entry(2)], id="one text under two URLs"),
        pytest.param([], [entry(0), entry(0), entry(1)], id="one entry twice"),
        pytest.param([(entry(0), 0)], [entry(0), entry(1)], id="stored already"),
        pytest.param([(entry(0), 0)], [entry(5, url=0), entry(1)], id="stored URL, new text"),
        pytest.param([(entry(0), 1)], [entry(5, url=0)], id="another source's, longer"),
        pytest.param([(entry(3), 0)], [entry(1, text=3)], id="stored text, new URL"),
        pytest.param([], [entry(0, url=-1), entry(1, url=-1)], id="no URLs"),
        pytest.param(
            [],
            [entry(0), ParsedDocument(url="http://wire.test/e", title="E", text=" \x00 ")],
            id="an empty entry",
        ),
    ],
)
def test_each_entry_ends_as_it_would_alone(
    before: list[tuple[ParsedDocument, int]], feed: list[ParsedDocument]
) -> None:
    assert outcome(store_documents, before, feed) == outcome(one_at_a_time, before, feed)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    before=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.sampled_from([0, 1]))),
    feed=st.lists(st.tuples(st.integers(-1, 5), st.integers(0, 5)), max_size=12),
)
def test_any_feed_on_any_table_ends_as_one_at_a_time(
    before: list[tuple[int, int, int]], feed: list[tuple[int, int]]
) -> None:
    """Entries drawn from six URLs (or none) and six texts, on a table already holding
    some of them from this source or another."""
    stored_before = [(entry(n, url=u, text=t), s) for n, (u, t, s) in enumerate(before)]
    entries = [entry(10 + n, url=u, text=t) for n, (u, t) in enumerate(feed)]
    expected = outcome(one_at_a_time, stored_before, entries)
    assert outcome(store_documents, stored_before, entries) == expected


def test_an_entry_stored_by_another_worker_meanwhile_is_a_duplicate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another worker commits entry 1 after this one saw the table without it: the
    INSERT of all three fails on the unique URL, and one at a time they end as new,
    duplicate, new."""
    source, _ = sources()
    Document.objects.create(source=source, url=entry(1).url, title="Theirs", text=entry(1).text)
    monkeypatch.setattr(store, "_plainly_new", lambda entries: (entries, []))
    result = store_documents([entry(0), entry(1), entry(2)], source)
    assert (len(result.new), result.duplicate, result.failed) == (2, 1, 0)
    assert Document.objects.get(url=entry(1).url).title == "Theirs"
    assert Document.objects.count() == 3


def test_a_failed_insert_stores_each_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    source, _ = sources()

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise DataError("value too long for type character varying(500)")

    monkeypatch.setattr(Document.objects, "bulk_create", refuse)
    result = store_documents([entry(0), entry(1)], source)
    assert (len(result.new), result.failed) == (2, 0)
    assert Document.objects.count() == 2


def test_new_documents_move_the_ingested_revision() -> None:
    from governance import count_cache

    source, _ = sources()
    before = count_cache.revision(count_cache.INGESTED)
    store_documents([entry(0), entry(1)], source)
    assert count_cache.revision(count_cache.INGESTED) != before
